#!/usr/bin/env bash
# One device call (GPU machine, see DEVELOPERS.md `device`): the real 50-epoch DCGAN run of the
# homework (batch 64, seed 0), its judge-classifier metrics, the export of the committed artifacts,
# and the GPU step benchmark. Everything it produces is written under $OUT.
# Carried: .whl (platformdirs wheel), .devdata (the four FashionMNIST idx .gz files).
# Usage there: DLCOURSE_COMMIT=<sha> bash benchmarks/device_gan_full.sh
set -uo pipefail
export PYTHONUNBUFFERED=1 DLCOURSE_DATA=/tmp/dlc-data
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH="/tmp/site:$PWD"
raw=$DLCOURSE_DATA/FashionMNIST/raw
mkdir -p "$raw" && for f in .devdata/*.gz; do gunzip -c "$f" > "$raw/$(basename "$f" .gz)"; done
dl() { python3 -m dlcourse.cli "$@"; }
run=/tmp/runs/gan-full-bs64
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"
  dl data status | head -6
  echo "== train (50 epochs, batch 64, seed 0)"; t0=$(date +%s)
  timeout 330 python3 -m dlcourse.cli gan train --epochs 50 --batch-size 64 --seed 0 --out "$run" --resume
  echo "train exit $? after $(( $(date +%s) - t0 )) s"
  echo "== evaluate (judge-classifier metrics; Inception FID skipped: its weights do not fit the transfer)"
  timeout 100 python3 -m dlcourse.cli gan evaluate "$run" --samples 0 --classifier-samples 10000
  echo "evaluate exit $?"
  echo "== export"; dl gan export "$run" --out "$OUT/gan-full-bs64"; echo "export exit $?"
  cp "$run/losses.csv" "$OUT/losses.csv" 2>/dev/null
  echo "== GPU step benchmark"
  timeout 70 python3 benchmarks/gan_step.py --device cuda --cuda-graph --steps 300 --json "$OUT/bench_gan_gpu.json"
  echo "bench exit $?"
} 2>&1 | tee "$OUT/log.txt"
