#!/usr/bin/env bash
# The GPU checks of evalkit, as one short run on a lent GPU machine (about 5 minutes on one
# H200): ViT-H-14 embedding in bf16 against the naive reference in fp16 autocast (the GPU
# targets), ViT-B-32 fp32 parity on the GPU, the reward sweep, and MuJoCo rendering through EGL
# on the GPU. Each step's output goes to $OUT/<step>.txt (default /tmp/evalkit-gpu).
#   here:   scripts/gpu-wheels.sh              (wheels the GPU machine's Python lacks, into .whl/)
#   there:  bash scripts/gpu-check.sh          (carry .whl; runs with the machine's python3)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/evalkit-gpu}
mkdir -p "$OUT"
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 MUJOCO_GL=egl
PY=${PYTHON:-python3}
step() {  # step NAME SECONDS COMMAND...
  local name=$1 limit=$2
  shift 2
  echo "== $name: $*" | tee "$OUT/$name.txt"
  timeout "$limit" "$@" 2>&1 | tee -a "$OUT/$name.txt"
  echo "== $name: exit ${PIPESTATUS[0]}" | tee -a "$OUT/$name.txt"
}
step gpu 30 bash -c "nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv; $PY -c 'import torch; print(torch.__version__, torch.cuda.get_device_name(0))'"
step embed-vith14-bf16 240 "$PY" -m evalkit bench embed --model ViT-H-14 --pretrained none --devices cuda:0 \
  --precision bf16 --reference-precision fp16 --batch-size 256 --n 4096
step embed-vitb32-fp32 120 "$PY" -m evalkit bench embed --model ViT-B-32 --pretrained none --devices cuda:0 --n 2048 --sweep-n 1000
step render-egl 120 "$PY" -m evalkit bench render --frames 300 --workers 1,4
