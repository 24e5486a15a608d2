#!/usr/bin/env bash
# Sets evalkit up on a fresh machine: a virtual environment in .venv with evalkit, its
# dependencies and the test tools, and (for the browser test of the labelling app) Debian's
# Chromium. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
if [ -f scripts/install-browser.sh ]; then
  bash scripts/install-browser.sh
fi
.venv/bin/evalkit --help > /dev/null
echo "evalkit is installed in .venv (activate it with: source .venv/bin/activate)"
