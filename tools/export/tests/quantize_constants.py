"""A check of vqd_export.quantize.quantize_model on an export whose tensors are in external data, as an
ITHQ-size export is (issue 31, item 0): the MatMul weight AND the Constant nodes' values (ITHQ's 144
AdaLayerNorm tables) and a subgraph's Constant all in `model.onnx.data`. At a small size nothing is
externalised, so this test forces it (onnx_graph.rewrite with external="always", what export.py writes
past 2 GB). The model is quantized into another folder, the source folder is deleted, and onnxruntime
must then load and run the result; no tensor may name a file other than the data file beside it. Both
ways quantize_model saves are run: one file (the quantized weights fit in protobuf) and, with the limit
forced to 0, one external data file.

    tools/export/.venv/bin/python tools/export/tests/quantize_constants.py   # prints a JSON summary; exit 1 on failure
"""
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
from rewrite_constants import build, run  # noqa: E402
from vqd_export import quantize  # noqa: E402
from vqd_export.onnx_graph import rewrite  # noqa: E402


def locations(path: str) -> list[str]:
    m = onnx.load(path, load_external_data=False)
    found = set()
    for t in onnx.external_data_helper._get_all_tensors(m):
        if t.data_location == TensorProto.EXTERNAL:
            found.add({e.key: e.value for e in t.external_data}["location"])
    return sorted(found)


def main() -> int:
    work = tempfile.mkdtemp(prefix="vqd-quantize-")
    try:
        src_dir = os.path.join(work, "fp32")
        os.makedirs(src_dir)
        raw = os.path.join(work, "raw.onnx")
        onnx.save_model(build(), raw)
        src = os.path.join(src_dir, "model.onnx")
        rewrite(raw, src, external="always")                     # weights and Constant values in model.onnx.data
        x = np.random.default_rng(1).standard_normal((1, 8)).astype(np.float32)
        expected = run(src, x)
        summary = {"source_locations": locations(src)}
        limit = quantize.PROTOBUF_LIMIT
        for mode in ("one_file", "external"):
            dst = os.path.join(work, mode, "model.onnx")
            os.makedirs(os.path.dirname(dst))
            quantize.PROTOBUF_LIMIT = limit if mode == "one_file" else 0
            try:
                result = quantize.quantize_model(src, dst)
            finally:
                quantize.PROTOBUF_LIMIT = limit
            summary[mode] = {"quantized": result["quantized"], "external": result["external"],
                             "files": sorted(os.listdir(os.path.dirname(dst)))}
        shutil.rmtree(src_dir)                                   # the float32 export is gone, as export_int8's scratch folder
        ok = True
        for mode in ("one_file", "external"):
            dst = os.path.join(work, mode, "model.onnx")
            summary[mode]["locations"] = locations(dst)
            try:
                got = run(dst, x)
            except Exception as e:  # noqa: BLE001  (onnxruntime's load error is the failure this test is about)
                summary[mode]["error"] = str(e).strip().splitlines()[0][:300]
                ok = False
                continue
            # int8 weights, per-column scales: the output stays within a few percent of float32's scale
            summary[mode]["max_abs_diff_within_0.05_of_max"] = bool(np.max(np.abs(got - expected)) <= 0.05 * np.max(np.abs(expected)))
        print(json.dumps(summary))
        ok = ok and summary["source_locations"] == ["model.onnx.data"] \
            and summary["one_file"]["locations"] == [] and summary["external"]["locations"] == ["model.onnx.data"] \
            and all(summary[m]["max_abs_diff_within_0.05_of_max"] for m in ("one_file", "external"))
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
