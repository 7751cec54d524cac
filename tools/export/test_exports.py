"""Makes the model folders that the TypeScript parity tests load (test/realGolden.test.ts), in one process:

    ROOT/D-fp32, ROOT/D-fp16              test/fixtures/real-golden/D/diffusers exported (pickled .bin, CLIP's slow files)
    ROOT/tiny-learnable/fp32, fp16        test/fixtures/checkpoints/tiny-learnable/diffusers exported (safetensors +
                                          tokenizer.json; committed with what diffusers gives on it, cases.json, by
                                          tools/fixtures/record.py)
    ROOT/tiny-learnable/fp32-external     the same with --external-data always (model.onnx + model.onnx.data)

    tools/export/.venv/bin/python tools/export/test_exports.py ROOT

`npm test` runs it through scripts/export-fixtures.mjs, only when its inputs changed.
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import vqd_export  # noqa: E402,F401  (puts tools/fixtures on the path)
from vqd_fixtures.quiet import quiet  # noqa: E402

D = os.path.join(REPO, "test", "fixtures", "real-golden", "D", "diffusers")
TINY = os.path.join(REPO, "test", "fixtures", "checkpoints", "tiny-learnable", "diffusers")


def main(root: str) -> None:
    import json

    import torch

    from vqd_export.pipeline_export import export_checkpoint

    quiet()
    torch.set_grad_enabled(False)
    t0 = time.time()
    summaries = {}
    for dtype in ("fp32", "fp16"):
        summaries[f"D-{dtype}"] = export_checkpoint(D, os.path.join(root, f"D-{dtype}"), dtype=dtype)
    tiny = os.path.join(root, "tiny-learnable")
    for name, dtype, external in (("fp32", "fp32", "auto"), ("fp16", "fp16", "auto"), ("fp32-external", "fp32", "always")):
        summaries[f"tiny-learnable/{name}"] = export_checkpoint(TINY, os.path.join(tiny, name), dtype=dtype, external=external)
    with open(os.path.join(root, "summary.json"), "w") as f:
        json.dump(summaries, f, indent=1)
    print(f"test exports written to {root} in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: test_exports.py ROOT")
    main(sys.argv[1])
