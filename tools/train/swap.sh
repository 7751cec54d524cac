#!/usr/bin/env bash
# Makes a diffusers checkpoint from train_diffusers.py the bundled model, and regenerates everything
# derived from it, so that the tests read the new weights:
#
#   bash tools/train/swap.sh CHECKPOINT_DIR [--browser]
#
#   1. CHECKPOINT_DIR (save_pretrained's folder, with training-log.txt and data.sha256) replaces
#      models/fashion-mnist-diffusers/ (committed, not in the npm package);
#   2. export_checkpoint.py → models/fashion-mnist/ (ONNX, configs, tokenizer, null embeddings, log,
#      data.sha256; the model card README.md is kept), models/fashion-mnist-eval/test-tokens.bin and
#      meta.json, test/fixtures/fashion-mnist-export.json;
#   3. record_diffusers.py → test/fixtures/fashion-mnist-diffusers.json (diffusers' own tokens);
#   4. npm run build, then the README's main job → docs/fashion-ankle-boot.png (scripts/pack-smoke.sh
#      compares the packed CLI's PNG with it byte for byte);
#   5. with --browser: npm run test:browser (Chromium; minutes), and its screenshot of the
#      text-to-image page → docs/web-text-to-image.png.
# Then it lists what changed. Needs tools/export/.venv (bash tools/export/setup.sh) and npm ci.
# The checkpoint must have the bundled model's architecture for the tests' size facts to hold
# (K = 257, 7×7, L = 8, D = 64; the ONNX files 7.2 MB).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
python="$repo/tools/export/.venv/bin/python"
fail() { echo "swap.sh: $*" >&2; exit 1; }
# Library chatter the Python steps print (deprecations, accelerate, NNPACK, progress bars).
noise='Warning\|warn(\|deprecat\|accelerate\|^```\|^\.$\|NNPACK\|Loading\|mask_class'

[ $# -ge 1 ] || fail "expected CHECKPOINT_DIR [--browser], got no arguments"
src="$1"
browser=0
for arg in "${@:2}"; do
  case "$arg" in
    --browser) browser=1 ;;
    *) fail "expected --browser after CHECKPOINT_DIR, got $arg" ;;
  esac
done
[ -x "$python" ] || fail "$python: expected the repo's Python environment (bash tools/export/setup.sh), got nothing"
for f in model_index.json training-log.txt data.sha256 tokenizer/tokenizer.json text_encoder/config.json transformer/config.json \
         vqvae/config.json learned_classifier_free_sampling_embeddings/config.json scheduler/scheduler_config.json; do
  [ -f "$src/$f" ] || fail "$src/$f: expected a checkpoint saved by tools/train/train_diffusers.py, got no such file"
done
src="$(cd "$src" && pwd)"
dest="$repo/models/fashion-mnist-diffusers"
[ "$src" != "$dest" ] || fail "CHECKPOINT_DIR: expected a folder other than $dest, got that folder"

cd "$repo"
echo "swap.sh: 1/5 $src → models/fashion-mnist-diffusers"
rm -rf "$dest"
mkdir -p "$dest"
cp -r "$src/." "$dest/"

echo "swap.sh: 2/5 export_checkpoint.py"
# (pipefail: a failing script fails the swap; the filter only drops library warnings)
"$python" tools/train/export_checkpoint.py 2>&1 | { grep -v "$noise" || true; }
[ -f models/fashion-mnist/transformer/model.onnx ] || fail "export_checkpoint.py: expected models/fashion-mnist/transformer/model.onnx, got nothing"

echo "swap.sh: 3/5 record_diffusers.py"
"$python" tools/train/record_diffusers.py 2>&1 | { grep -v "$noise" || true; }

echo "swap.sh: 4/5 npm run build; the main job → docs/fashion-ankle-boot.png"
npm run build --silent
node dist/cli/bin.js generate --prompt "ankle boot" --seed 0 --out docs/fashion-ankle-boot.png

if [ "$browser" = 1 ]; then
  echo "swap.sh: 5/5 npm run test:browser; its text-to-image screenshot → docs/web-text-to-image.png"
  npm run test:browser
  cp test-results/web-text-to-image.png docs/web-text-to-image.png
else
  echo "swap.sh: 5/5 skipped (--browser regenerates docs/web-text-to-image.png)"
fi

echo "swap.sh: changed (commit them together):"
git status --short -- models test/fixtures docs
echo "swap.sh: next: npx vitest run test/fashionMnist.model.test.ts test/fashionMnist.diffusers.test.ts, then npm test and scripts/pack-smoke.sh"
