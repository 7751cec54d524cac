"""`--quantize int8`: onnxruntime's dynamic int8 quantization of an exported component's MatMul/Gemm
weights (the transformer and the text encoder), one weight at a time.

The graph is the one onnxruntime's own `quantize_dynamic` writes for a MatMul with a constant weight
(`op_types_to_quantize=["MatMul", "Gemm"]`, `weight_type=QInt8`, `MatMulConstBOnly`), which
onnxruntime fuses at load into `DynamicQuantizeMatMul` (u8 × s8 GEMM: VNNI's `vpdpbusd` on CPUs that
have it):

    A [.., k] float32 ─ DynamicQuantizeLinear ─► A_q uint8, a_scale, a_zero_point     (per call)
    MatMulInteger(A_q, W_q int8 [k, n], a_zero_point, 0) ─► int32 ─ Cast ─► float32
    × (a_scale · w_scale)                                                             [.., n]

Weights are quantized symmetrically per output column (per channel):
    w_scale[j] = max_i |W[i, j]| / 127 (1 where the column is all zeros),
    W_q[i, j] = clip(rint(W[i, j] / w_scale[j]), −127, 127)
(ONNX's QuantizeLinear rounding, half to even). A Gemm with a constant B (alpha = 1, transA = 0)
becomes the same MatMul plus its bias. Everything else is left as exported: the embeddings, LayerNorm,
attention's activation × activation MatMuls, and the transformer's float64 log_softmax.

Why dynamic: on this CPU (AMD EPYC, AVX512-VNNI, 2 threads, a loaded machine), one of ITHQ's
feed-forward MatMuls ([2, 1024, 1408] × [1408, 5632], the guided batch) took 471 ms as dynamic int8,
1059 / 854 ms as weight-only 8-bit (MatMulNBits, accuracy level 4, blocks of 32 / 128) and 1304 ms in
float32 (best of 15, interleaved): 2.8× against 1.2–1.5×. Per-channel scales give the same graph and
numbers as `quantize_dynamic(per_channel=True)` (checked on two ITHQ-width layers: largest
log-probability difference to float32 0.0375, 97.5 % of argmax classes equal; per-tensor: 0.0384,
97.2 %) at the same speed.

Why our own loop rather than `quantize_dynamic` itself: that one loads every weight of the model
into memory and writes a shape-inferred copy first; at ITHQ's size (5.4 GB of float32 weights) that
is more memory than a generation needs. Here the float weights are read one at a time.

    tools/export/.venv/bin/python tools/export/export.py --model CHECKPOINT --out OUT --quantize int8
    cd tools/export && .venv/bin/python -m vqd_export.quantize EXPORTED_FOLDER OUT   (an existing export)
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .files import staged_folder
from .onnx_graph import attribute_tensors

# the components whose MatMul/Gemm weights are quantized (the VQ-VAE decoder is convolutions)
COMPONENTS = ("transformer", "text_encoder")
# protobuf refuses messages of 2 GiB; keep room for the graph itself
PROTOBUF_LIMIT = 2**31 - 64 * 2**20


def quantize_weight(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-column int8: W [k, n] float32 → (W_q int8 [k, n], w_scale float32 [n])."""
    if w.ndim != 2 or w.dtype != np.float32:
        raise ValueError(f"expected a float32 [k, n] weight, got {w.dtype} {list(w.shape)}")
    scale = (np.abs(w).max(axis=0) / np.float32(127)).astype(np.float32)
    scale[scale == 0] = 1
    q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
    return q, scale


def _consumers(graph: onnx.GraphProto) -> dict[str, list[onnx.NodeProto]]:
    uses: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            uses.setdefault(name, []).append(node)
    return uses


def _attr(node: onnx.NodeProto, name: str, default):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def _weight_of(node, inits, uses, graph_outputs):
    """(initializer name, transpose) of a node's constant weight when it can be quantized, else None."""
    if node.op_type == "MatMul":
        name, transpose = node.input[1], False
    elif node.op_type == "Gemm" and _attr(node, "alpha", 1.0) == 1.0 and _attr(node, "transA", 0) == 0 \
            and (len(node.input) < 3 or _attr(node, "beta", 1.0) == 1.0):
        name, transpose = node.input[1], bool(_attr(node, "transB", 0))
    else:
        return None
    t = inits.get(name)
    if t is None or t.data_type != TensorProto.FLOAT or len(t.dims) != 2 or name in graph_outputs:
        return None
    if any(u.op_type not in ("MatMul", "Gemm") for u in uses[name]):
        return None  # shared with another kind of node: leave it float
    return name, transpose


def quantize_model(src: str, dst: str) -> dict:
    """Writes `src` (an ONNX model, external data beside it allowed) with int8 MatMul/Gemm weights as
    `dst` (one file, or `dst` + `dst.data` past protobuf's limit). Every tensor `dst` holds is inside it or
    in `dst.data`: initializers, Constant nodes' values and subgraphs' tensors alike. Returns {"quantized": count of
    weights, "float_bytes": their float32 size, "int8_bytes": their int8 size, "external": bool}."""
    model = onnx.load(src, load_external_data=False)
    base = os.path.dirname(os.path.abspath(src))
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    uses = _consumers(graph)
    graph_outputs = {o.name for o in graph.output}

    # one quantized weight per initializer (a weight used by several MatMuls is quantized once)
    quantized: dict[str, tuple[str, str, str]] = {}
    new_nodes: list[onnx.NodeProto] = []
    float_bytes = int8_bytes = 0
    for node in graph.node:
        found = _weight_of(node, inits, uses, graph_outputs)
        if found is None:
            new_nodes.append(node)
            continue
        name, transpose = found
        key = name + ("__T" if transpose else "")
        if key not in quantized:
            w = numpy_helper.to_array(inits[name], base)
            if transpose:
                w = w.T
            q, scale = quantize_weight(np.ascontiguousarray(w))
            float_bytes += w.nbytes
            int8_bytes += q.nbytes
            del w
            names = (key + "_quantized", key + "_scale", key + "_zero_point")
            graph.initializer.extend([
                numpy_helper.from_array(q, names[0]),
                numpy_helper.from_array(scale, names[1]),
                numpy_helper.from_array(np.zeros(scale.shape, np.int8), names[2]),
            ])
            del q
            quantized[key] = names
        q_name, scale_name, zp_name = quantized[key]
        a, out = node.input[0], node.output[0]
        tag = node.name or out
        y = f"{tag}__q"
        new_nodes += [
            helper.make_node("DynamicQuantizeLinear", [a], [f"{y}_a", f"{y}_a_scale", f"{y}_a_zero_point"], name=f"{tag}_quantize"),
            helper.make_node("MatMulInteger", [f"{y}_a", q_name, f"{y}_a_zero_point", zp_name], [f"{y}_int32"], name=f"{tag}_MatMulInteger"),
            helper.make_node("Cast", [f"{y}_int32"], [f"{y}_float"], to=TensorProto.FLOAT, name=f"{tag}_cast"),
            helper.make_node("Mul", [f"{y}_a_scale", scale_name], [f"{y}_scale"], name=f"{tag}_scales"),
        ]
        if node.op_type == "Gemm" and len(node.input) > 2 and node.input[2]:
            new_nodes += [
                helper.make_node("Mul", [f"{y}_float", f"{y}_scale"], [f"{y}_out"], name=f"{tag}_rescale"),
                helper.make_node("Add", [f"{y}_out", node.input[2]], [out], name=f"{tag}_bias"),
            ]
        else:
            new_nodes.append(helper.make_node("Mul", [f"{y}_float", f"{y}_scale"], [out], name=f"{tag}_rescale"))

    # float weights now unused are dropped; the rest are read in (they stay as exported)
    used = {name for node in new_nodes for name in node.input} | graph_outputs
    kept = []
    for t in graph.initializer:
        if t.name not in used:
            continue
        if t.data_location == TensorProto.EXTERNAL:
            kept.append(numpy_helper.from_array(numpy_helper.to_array(t, base), t.name))
        else:
            kept.append(t)
    del graph.initializer[:]
    graph.initializer.extend(kept)
    del graph.node[:]
    graph.node.extend(new_nodes)
    # Constant nodes' values and subgraphs' tensors are read in too: an ITHQ-size export keeps its 144
    # AdaLayerNorm tables there, in the source's data file, which is not copied (issue 31, item 0)
    for t in attribute_tensors(graph):
        if t.data_location == TensorProto.EXTERNAL:
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t, base), t.name))
    if not any(o.domain in ("", "ai.onnx") and o.version >= 10 for o in model.opset_import):
        raise ValueError(f"{src}: expected an ONNX opset ≥ 10 (MatMulInteger, DynamicQuantizeLinear)")

    total = sum(len(t.raw_data) for t in graph.initializer) + sum(len(t.raw_data) for t in attribute_tensors(graph))
    external = total > PROTOBUF_LIMIT
    if external:
        onnx.save_model(model, dst, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=os.path.basename(dst) + ".data", size_threshold=1024, convert_attribute=True)
    else:
        onnx.save_model(model, dst)
    return {"quantized": len(quantized), "float_bytes": float_bytes, "int8_bytes": int8_bytes, "external": external}


def quantize_into(folder: str, stage: str) -> dict:
    """Writes the exported model folder `folder` (docs/model-folder.md layout) into the empty folder `stage`,
    with int8 transformer and text encoder; every other file is copied. Returns the per-component
    results of `quantize_model`."""
    if not os.path.isfile(os.path.join(folder, "model_index.json")):
        raise ValueError(f"{folder}: expected an exported model folder holding model_index.json")
    results = {}
    for entry in sorted(os.listdir(folder)):
        src = os.path.join(folder, entry)
        if entry in COMPONENTS and os.path.isfile(os.path.join(src, "model.onnx")):
            os.makedirs(os.path.join(stage, entry))
            for f in os.listdir(src):  # configs beside the graph; the graph and its data are rewritten
                if f != "model.onnx" and not f.startswith("model.onnx."):
                    shutil.copy2(os.path.join(src, f), os.path.join(stage, entry, f))
            results[entry] = quantize_model(os.path.join(src, "model.onnx"), os.path.join(stage, entry, "model.onnx"))
        elif os.path.isdir(src):
            shutil.copytree(src, os.path.join(stage, entry))
        else:
            shutil.copy2(src, os.path.join(stage, entry))
    return results


def quantize_folder(folder: str, out: str, overwrite: bool = False) -> dict:
    """`quantize_into` a new (or empty, or with `overwrite` any) folder `out`, all or nothing."""
    with staged_folder(out, overwrite, option="out") as stage:
        return quantize_into(folder, stage)


def export_int8(export_fp32, out: str, overwrite: bool = False, log=print) -> dict:
    """`export.py --quantize int8`: `export_fp32(path)` writes the float32 export into a scratch folder
    beside `out` (deleted afterwards), which is then quantized into `out`, all or nothing."""
    with staged_folder(out, overwrite) as stage:
        with tempfile.TemporaryDirectory(prefix=f".{os.path.basename(os.path.abspath(out))}.fp32-",
                                         dir=os.path.dirname(os.path.abspath(out))) as scratch:
            fp32 = os.path.join(scratch, "fp32")
            export_fp32(fp32)
            t0 = time.time()
            results = quantize_into(fp32, stage)
    for name, r in results.items():
        log(describe(name, r))
    log(f"quantized in {time.time() - t0:.1f} s")
    return results


def describe(name: str, r: dict) -> str:
    """One line per component for the log."""
    return (f"{name}/model.onnx: {r['quantized']} MatMul/Gemm weights to int8, {r['float_bytes'] / 1e6:.1f} MB → "
            f"{r['int8_bytes'] / 1e6:.1f} MB{' (in model.onnx.data)' if r['external'] else ''}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", help="an exported model folder (tools/export/export.py --out)")
    ap.add_argument("out", help="the int8 folder to write (new or empty, unless --overwrite)")
    ap.add_argument("--overwrite", action="store_true", help="replace a non-empty OUT")
    o = ap.parse_args(argv)
    for name, r in quantize_folder(o.folder, o.out, o.overwrite).items():
        print(describe(name, r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
