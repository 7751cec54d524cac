"""A check of vqd_export.onnx_graph.rewrite on what torch's exporter writes for big models: tensors in
external files, initializers AND Constant nodes' values (ITHQ's AdaLayerNorm scales and biases), the
Constant inside a subgraph too. The model is rewritten into another folder, the source folder is
deleted, and onnxruntime must then run it and give the same output; no tensor may still name a file
other than the one data file beside the rewritten model.

    tools/export/.venv/bin/python tools/export/tests/rewrite_constants.py   # prints a JSON summary; exit 1 on failure
"""
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper, TensorProto

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from vqd_export.onnx_graph import rewrite  # noqa: E402


def build() -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    w = rng.standard_normal((8, 512)).astype(np.float32)
    scale = rng.standard_normal(512).astype(np.float32)
    bias = rng.standard_normal(512).astype(np.float32)
    sub_value = rng.standard_normal(512).astype(np.float32)
    then_graph = helper.make_graph(
        [helper.make_node("Constant", [], ["sub_c"], value=numpy_helper.from_array(sub_value, "sub_c_value")),
         helper.make_node("Add", ["y1", "sub_c"], ["branch"])],
        "then", [], [helper.make_tensor_value_info("branch", TensorProto.FLOAT, [1, 512])])
    else_graph = helper.make_graph(
        [helper.make_node("Identity", ["y1"], ["branch2"])],
        "else", [], [helper.make_tensor_value_info("branch2", TensorProto.FLOAT, [1, 512])])
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["y0"]),
        helper.make_node("Constant", [], ["scale"], value=numpy_helper.from_array(scale, "scale_value")),
        helper.make_node("Constant", [], ["bias"], value=numpy_helper.from_array(bias, "bias_value")),
        helper.make_node("Mul", ["y0", "scale"], ["y0s"]),
        helper.make_node("Add", ["y0s", "bias"], ["y1"]),
        helper.make_node("If", ["cond"], ["y"], then_branch=then_graph, else_branch=else_graph),
    ]
    graph = helper.make_graph(nodes, "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8]),
                               helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 512])],
                              initializer=[numpy_helper.from_array(w, "w")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def run(path: str, x: np.ndarray) -> np.ndarray:
    return ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(
        None, {"x": x, "cond": np.array(True)})[0]


def main() -> int:
    work = tempfile.mkdtemp(prefix="vqd-rewrite-")
    try:
        src_dir, dst_dir = os.path.join(work, "torch-out"), os.path.join(work, "out")
        os.makedirs(src_dir)
        os.makedirs(dst_dir)
        src = os.path.join(src_dir, "model.onnx")
        # As torch does past 2 GB: one external file per tensor, Constant values included.
        model = build()
        onnx.external_data_helper.convert_model_to_external_data(
            model, all_tensors_to_one_file=False, size_threshold=0, convert_attribute=True)
        onnx.save_model(model, src)
        externals = sorted(f for f in os.listdir(src_dir) if f != "model.onnx")
        x = np.random.default_rng(1).standard_normal((1, 8)).astype(np.float32)
        expected = run(src, x)
        summary = {}
        for mode in ("always", "never"):
            dst = os.path.join(dst_dir, mode, "model.onnx")
            os.makedirs(os.path.dirname(dst))
            rewrite(src, dst, external=mode)
            summary[mode] = sorted(os.listdir(os.path.dirname(dst)))
        shutil.rmtree(src_dir)                                  # the scratch folder is gone, as in export_component
        for mode in ("always", "never"):
            dst = os.path.join(dst_dir, mode, "model.onnx")
            locations = set()
            m = onnx.load(dst, load_external_data=False)
            for t in onnx.external_data_helper._get_all_tensors(m):
                if t.data_location == TensorProto.EXTERNAL:
                    locations.add({e.key: e.value for e in t.external_data}["location"])
            got = run(dst, x)
            summary[mode + "_locations"] = sorted(locations)
            summary[mode + "_max_abs_diff"] = float(np.max(np.abs(got - expected)))
        summary["source_external_files"] = len(externals)
        print(json.dumps(summary))
        ok = (summary["always_locations"] == ["model.onnx.data"] and summary["never_locations"] == []
              and summary["always_max_abs_diff"] == 0 and summary["never_max_abs_diff"] == 0)
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
