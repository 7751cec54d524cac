"""Makes the model folders that the TypeScript parity tests load (test/realGolden.test.ts), in one process:

    ROOT/D-fp32, ROOT/D-fp16              test/fixtures/real-golden/D/diffusers exported (pickled .bin, CLIP's slow files)
    ROOT/tiny-learnable/diffusers         random_checkpoint.py --preset tiny-learnable (safetensors + tokenizer.json)
    ROOT/tiny-learnable/cases.json        what diffusers' own pipeline gives on it (tools/fixtures/record_pipeline_cases.py)
    ROOT/tiny-learnable/fp32, fp16        its exports
    ROOT/tiny-learnable/fp32-external     the same with --external-data always (model.onnx + model.onnx.data)

    tools/export/.venv/bin/python tools/export/test_exports.py ROOT

`npm test` runs it through scripts/export-fixtures.mjs, only when its inputs changed.
"""
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tools", "fixtures"))
from vqd_export.quiet import quiet  # noqa: E402

D = os.path.join(REPO, "test", "fixtures", "real-golden", "D", "diffusers")


def main(root: str) -> None:
    import json

    import torch

    from record_pipeline_cases import record
    from vqd_export.files import write_json
    from vqd_export.pipeline_export import export_checkpoint
    from vqd_export.presets import preset
    from vqd_export.random_model import build, save

    quiet()
    torch.set_grad_enabled(False)
    t0 = time.time()
    summaries = {}
    for dtype in ("fp32", "fp16"):
        summaries[f"D-{dtype}"] = export_checkpoint(D, os.path.join(root, f"D-{dtype}"), dtype=dtype)
    tiny = os.path.join(root, "tiny-learnable")
    with tempfile.TemporaryDirectory() as vocab_dir:
        save(build(preset("tiny-learnable"), 0, vocab_dir), os.path.join(tiny, "diffusers"), "safetensors", True, vocab_dir)
    write_json(os.path.join(tiny, "cases.json"), record(os.path.join(tiny, "diffusers")))
    for name, dtype, external in (("fp32", "fp32", "auto"), ("fp16", "fp16", "auto"), ("fp32-external", "fp32", "always")):
        summaries[f"tiny-learnable/{name}"] = export_checkpoint(os.path.join(tiny, "diffusers"), os.path.join(tiny, name),
                                                                 dtype=dtype, external=external)
    with open(os.path.join(root, "summary.json"), "w") as f:
        json.dump(summaries, f, indent=1)
    print(f"test exports written to {root} in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: test_exports.py ROOT")
    main(sys.argv[1])
