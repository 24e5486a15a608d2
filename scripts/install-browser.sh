#!/usr/bin/env bash
# Install the headless browser that evalkit's labelling-app tests drive: Debian's chromium and
# chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver). Idempotent and non-interactive:
# does nothing when both are already installed. Needs root (or sudo) for apt-get.
#
#   bash scripts/install-browser.sh
#
# No browser is ever downloaded by a test tool (Playwright is pointed at /usr/bin/chromium).
set -euo pipefail

have() { [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; }

if have; then
  echo "install-browser: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) already installed."
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo -n"
  else
    echo "install-browser: need root or sudo to apt-get install chromium chromium-driver." >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-browser: apt-get not found; install Chromium so that /usr/bin/chromium exists." >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-browser: installing chromium and chromium-driver with apt-get..."
$SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q --no-install-recommends chromium chromium-driver fonts-dejavu-core >/dev/null

if ! have; then
  echo "install-browser: apt-get finished but /usr/bin/chromium or /usr/bin/chromedriver is missing." >&2
  exit 1
fi
echo "install-browser: $(/usr/bin/chromium --version 2>/dev/null) installed."
