#!/usr/bin/env bash
# Download, on a machine with PyPI, the wheels that a bare GPU machine's Python lacks for
# scripts/gpu-check.sh (its image has torch, numpy, pandas, pyarrow, matplotlib, typer, rich,
# tqdm, jinja2, imageio, safetensors, timm, huggingface-hub...; not these). They go into .whl/
# (ignored by git), for a tool that carries the folder over. Versions are those evalkit's own
# virtual environment resolved, so the GPU run uses what the tests ran with.
#   usage: scripts/gpu-wheels.sh [PYTHON_VERSION]      (default 3.12)
set -euo pipefail
cd "$(dirname "$0")/.."
PYVER=${1:-3.12}
VENV=.venv/bin/pip
NAMES=(open_clip_torch ftfy wcwidth gymnasium farama-notifications mujoco mujoco-core mujoco-studio glfw
       pyopengl stable-baselines3)
pins=()
for name in "${NAMES[@]}"; do
  v=$("$VENV" show "$name" 2>/dev/null | sed -n 's/^Version: //p')
  pins+=("$name${v:+==$v}")
done
mkdir -p .whl
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64; do
  platforms+=(--platform "$p")
done
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version "$PYVER" --implementation cp \
  "${platforms[@]}" -d .whl "${pins[@]}"
du -sh .whl
