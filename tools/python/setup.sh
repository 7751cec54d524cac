#!/usr/bin/env bash
# Makes tools/python/.venv: the one Python environment of this repo's tools (the fixtures' recorder,
# training, the PyTorch side of the benches; never npm test), from tools/python/requirements.txt.
# Idempotent: a venv whose requirements are already installed is left as it is (seconds).
#
#   bash tools/python/setup.sh            # then: tools/python/.venv/bin/python tools/fixtures/record.py --check
#
# Every package but one comes from PyPI; diffusers 0.40.0.dev0 is on no index, so:
# - tools/python/wheels holds its wheel (built from its source; see the README there), passed to pip
#   as --find-links ($VQD_WHEELS names another folder; without the wheel, pip fails and this says so);
# - where pip's configuration names local mirrors (extra-index-url) and the default index cannot be
#   reached, the first mirror becomes the index and retries are off, so a missing package fails at
#   once instead of waiting.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
req="$here/requirements.txt"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
stamp="$venv/.requirements.sha256"
want="$(cat "$req" "$here/constraints.txt" | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "tools/python/.venv is up to date"
  exit 0
fi

args=()
wheels="${VQD_WHEELS:-$here/wheels}"
if [ -d "$wheels" ]; then args+=(--find-links "$wheels"); fi
extra="$("$venv/bin/python" -m pip config get global.extra-index-url 2>/dev/null || true)"
if [ -n "$extra" ] && [ -z "${PIP_INDEX_URL:-}" ]; then
  export PIP_INDEX_URL="${extra%% *}" PIP_RETRIES=0
fi
if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${args[@]}" -r "$req" -c "$here/constraints.txt" 2>&1 | { grep -v "^WARNING: Location" || true; }; then
  # The usual cause: diffusers 0.40.0.dev0 is on no index (PyPI has releases only).
  if [ -d "$wheels" ]; then found="the folder $wheels, passed as --find-links"; else found="no folder $wheels"; fi
  echo "tools/python/setup.sh: pip could not install $req (above). diffusers==0.40.0.dev0 is not on PyPI:" \
    "set VQD_WHEELS to a folder holding its wheel, built from diffusers' source at the commit the fixtures were made with" \
    "(pip wheel --no-deps -w WHEELS git+https://github.com/huggingface/diffusers@58eb52c0803ea9af3abec60841c2a093bdf1f951); got $found" >&2
  exit 1
fi
echo "$want" > "$stamp"
echo "tools/python/.venv ready: $("$venv/bin/python" -c 'import torch, transformers, diffusers, onnxruntime; print("torch", torch.__version__, "transformers", transformers.__version__, "diffusers", diffusers.__version__, "onnxruntime", onnxruntime.__version__)')"
