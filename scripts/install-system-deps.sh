#!/usr/bin/env bash
# Install the system libraries evalkit needs beyond Python packages, with Debian's apt-get:
#   - libegl1, libegl-mesa0, libgl1-mesa-dri: headless OpenGL through EGL, for MuJoCo rendering
#     (MUJOCO_GL=egl; software rendering when there is no GPU);
#   - chromium, chromium-driver: the headless browser the labelling app's tests drive
#     (/usr/bin/chromium; no test tool ever downloads a browser).
# Idempotent and non-interactive: installs only what is missing. Needs root (or sudo).
set -euo pipefail

PACKAGES=(libegl1 libegl-mesa0 libgl1-mesa-dri chromium chromium-driver fonts-dejavu-core)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-system-deps: everything is installed ($(/usr/bin/chromium --version 2>/dev/null || echo chromium))."
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo -n"
  else
    echo "install-system-deps: need root or sudo to apt-get install ${missing[*]}." >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-system-deps: apt-get not found; install the equivalents of: ${missing[*]}." >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-system-deps: installing ${missing[*]} with apt-get..."
$SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  echo "install-system-deps: apt-get finished but /usr/bin/chromium or /usr/bin/chromedriver is missing." >&2
  exit 1
fi
echo "install-system-deps: done ($(/usr/bin/chromium --version 2>/dev/null))."
