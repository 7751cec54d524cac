#!/usr/bin/env bash
# One GPU run of the diffusers recipe: a 20-step smoke run first (fails fast), then the timed run,
# the checkpoint as a tar, then diffusers' quality measure on the same machine (tools/train/README.md).
#   FASHION_MNIST_DIR=... bash tools/train/train-gpu.sh OUT_DIR [VQ_SECONDS] [SECONDS]
# Needs python3 with torch (CUDA), transformers, diffusers, onnxruntime. Writes OUT_DIR/smoke.txt,
# console.txt (the training log), checkpoint.tar (folder "checkpoint"), eval.txt.
set -u
out=${1:?usage: train-gpu.sh OUT_DIR [VQ_SECONDS] [SECONDS]}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
export PYTHONUNBUFFERED=1
python3 "$here/train_diffusers.py" --checkpoint "$tmp/smoke" --subset 2000 --vq-steps 20 --steps 20 --warmup 5 --threads 8 \
  > "$out/smoke.txt" 2>&1 || { tail -30 "$out/smoke.txt"; exit 2; }
python3 "$here/train_diffusers.py" --checkpoint "$tmp/checkpoint" --vq-seconds "${2:-60}" --seconds "${3:-230}" --threads 8 \
  > "$out/console.txt" 2>&1
rc=$?
tar -C "$tmp" -cf "$out/checkpoint.tar" checkpoint
grep -v Warn "$out/console.txt" | tail -25
[ $rc = 0 ] || exit 3
python3 "$here/evaluate.py" --checkpoint "$tmp/checkpoint" --per-prompt 100 --steps 100,25 > "$out/eval.txt" 2>&1
grep -E "^(classifier|FD|VQ-VAE|guidance|evaluation)" "$out/eval.txt"
