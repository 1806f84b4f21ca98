#!/usr/bin/env bash
# One device call: time CLIP training epochs of ResNet-50 + DistilBERT (architecture from its config,
# random init: the pretrained weights cannot be fetched there) on 6,000 stand-in images at 224 px,
# batch 32, fp32 (no autocast), the Flickr8K-sized goal of issue #4. Results under $OUT.
# Carried: .whl (platformdirs wheel), .devdata (the four FashionMNIST idx .gz files).
set -uo pipefail
export PYTHONUNBUFFERED=1 DLCOURSE_DATA=/tmp/dlc-data DLCOURSE_RUNS=/tmp/dlc-runs
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH="/tmp/site:$PWD"
raw=$DLCOURSE_DATA/FashionMNIST/raw
mkdir -p "$raw" && for f in .devdata/*.gz; do gunzip -c "$f" > "$raw/$(basename "$f" .gz)"; done
{
  nvidia-smi --query-gpu=name --format=csv,noheader
  t0=$(date +%s); python3 -m dlcourse.cli data fetch standin --quiet; echo "stand-in: $(( $(date +%s) - t0 )) s"
  t0=$(date +%s)
  timeout 200 python3 -m dlcourse.cli clip train --vision resnet50 --text distilbert-base-uncased --random-text-init \
    --data standin --image-size 224 --epochs 3 --batch-size 32 --train-images 6000 --test-images 200 \
    --vision-weights none --device cuda --out /tmp/dlc-runs/clip-r50-distil-bench
  echo "train exit $? after $(( $(date +%s) - t0 )) s"
  cp /tmp/dlc-runs/clip-r50-distil-bench/metrics.json "$OUT/clip_bench_metrics.json" 2>/dev/null
} 2>&1 | tee "$OUT/clip_log.txt"
