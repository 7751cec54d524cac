#!/usr/bin/env bash
# The package as a user gets it: `npm pack` (of the dist/ that `npm run build` made), the tarball
# installed in a scratch project outside the repository,
# then the README's examples run there as written:
#   1. the tarball alone: no ONNX runtime is installed (nothing native for a browser app), the
#      pixel-art demo runs, and `generate` says which package is missing and how to install it;
#   2. the README's onnxruntime-node install line, as written;
#   3. the README's Node.js pipeline example (the ```ts block with VQDiffusionPipeline.fromPretrained("fashion-mnist")),
#      and its CLI main job, whose PNG must be the README's picture byte for byte.
# Before installing: every image a packed Markdown file shows by a relative link (README.md's
# docs/*.png) is in the tarball, so the packed README's pictures show wherever the package's own
# files are read (npmjs.com itself resolves relative links against package.json's "repository" only).
# About 30 s (most of it copying onnxruntime-node out of the npm cache). Run after `npm run build`.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
readme="$repo/README.md"
work="$(mktemp -d "${TMPDIR:-/tmp}/vqd-pack-smoke-XXXXXX")"
trap 'rm -rf "$work"' EXIT
export npm_config_prefer_offline=true npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
fail() { echo "pack-smoke: $*" >&2; exit 1; }

[ -f "$repo/dist/node.js" ] || fail "dist/node.js: expected the built package (npm run build), got nothing"
(cd "$repo" && npm pack --ignore-scripts --silent --pack-destination "$work" > /dev/null)
tarball="$(ls "$work"/vq-diffusion-*.tgz)"

# 0. Every image a packed Markdown file shows by a relative path is packed too.
mkdir "$work/unpacked" && tar -xzf "$tarball" -C "$work/unpacked"
node "$repo/scripts/packed-images.mjs" "$work/unpacked/package"
node "$repo/scripts/packed-files.mjs" "$work/unpacked/package"
mkdir "$work/app" && cd "$work/app"
echo '{ "name": "app", "version": "1.0.0", "private": true, "type": "module" }' > package.json

# 1. The tarball alone.
npm install --silent "$tarball"
for pkg in onnxruntime-node onnxruntime-web; do
  [ ! -e "node_modules/$pkg" ] || fail "node_modules/$pkg: expected no ONNX runtime from the tarball alone (optional peer dependency), got one"
done
npx vq-diffusion sample --seed 7 --out demo.png > /dev/null
cmp -s demo.png "$repo/docs/demo-seed7.png" || fail "vq-diffusion sample --seed 7: expected the README's docs/demo-seed7.png, got other bytes"
set +e
npx vq-diffusion generate --prompt "ankle boot" --out missing.png 2> missing.txt
code=$?
set -e
[ "$code" = 1 ] || fail "generate without onnxruntime-node: expected exit code 1, got $code"
grep -q "^vq-diffusion: generate: expected onnxruntime-node installed beside vq-diffusion (it runs the model), got none (.*). Install it where vq-diffusion is installed: ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0" missing.txt ||
  fail "generate without onnxruntime-node: expected the message naming the package and its install command, got: $(cat missing.txt)"

# 1b. require() from a CommonJS project (Node.js >= 20.19 loads ES modules with require; exports' "default").
mkdir "$work/cjs" && (cd "$work/cjs" && echo '{ "name": "cjs", "version": "1.0.0", "private": true }' > package.json &&
  npm install --silent "$tarball" &&
  node -e 'const { VQDiffusionScheduler } = require("vq-diffusion"); const s = new VQDiffusionScheduler({ numVecClasses: 5 }); if (s.maskClass !== 4) process.exit(1); require("vq-diffusion/node");' 2> require.txt) ||
  fail "require(\"vq-diffusion\") from a CommonJS project: expected it to load, got: $(cat "$work/cjs/require.txt")"

# 2. The README's install line for Node.js, as written.
install_line="$(grep -m1 '^ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@' "$readme" | sed 's/ *#.*//')"
[ -n "$install_line" ] || fail "README.md: expected the onnxruntime-node install line, got none"
echo "\$ $install_line"
bash -c "$install_line --silent"

# 3. The README's Node.js pipeline example and the CLI's main job, as written.
node -e '
  const readme = require("fs").readFileSync(process.argv[1], "utf8");
  const block = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b.includes("from \"vq-diffusion/node\"") && b.includes("VQDiffusionPipeline.fromPretrained(\"fashion-mnist\")"));
  if (!block) { console.error("README.md: expected a ts block loading VQDiffusionPipeline.fromPretrained(\"fashion-mnist\") from vq-diffusion/node"); process.exit(1); }
  require("fs").writeFileSync("example.mjs", block + "\nconsole.log(JSON.stringify({ images: images.length, width: images[0].width, dims: tokens.dims }));\n");
' "$readme"
out="$(node example.mjs)"
[ "$out" = '{"images":4,"width":28,"dims":[4,49]}' ] || fail "README's Node.js example: expected 4 images of 28 pixels and tokens [4, 49], got $out"
echo "README Node.js example: $out"
main_job="$(grep -m1 '^npx vq-diffusion generate --prompt "ankle boot" --seed 0 --out x.png' "$readme" | sed 's/ *#.*//')"
[ -n "$main_job" ] || fail "README.md: expected the quick start's main job line, got none"
echo "\$ $main_job"
bash -c "$main_job"
cmp -s x.png "$repo/docs/fashion-ankle-boot.png" || fail "$main_job: expected the README's docs/fashion-ankle-boot.png, got other bytes"
echo "pack-smoke: $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KB) installs in a scratch project; the README's examples run as written"
