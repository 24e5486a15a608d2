#!/usr/bin/env bash
# Sets evalkit up on a fresh machine: a virtual environment in .venv with evalkit, its
# dependencies, the test tools and the documentation tools (the docs extra: CI builds the site),
# and the system libraries it needs (EGL for headless MuJoCo, Debian's Chromium for the
# labelling app's browser test). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet -e '.[dev,hf,ray,metaworld,docs]'
bash scripts/install-system-deps.sh
.venv/bin/evalkit --help > /dev/null
echo "evalkit is installed in .venv (activate it with: source .venv/bin/activate)"
