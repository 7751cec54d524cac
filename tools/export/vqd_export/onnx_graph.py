"""torch module → one `model.onnx` (+ one external data file when the weights are too big for protobuf).

`export_onnx` traces with torch's TorchScript exporter (`dynamo=False`: the exporter the repo's
fixtures were measured with; it keeps diffusers' float64 log_softmax as Cast/LogSoftmax nodes) into a
scratch folder, then `rewrite` streams every initializer once into the final file(s):

- weights over the protobuf limit: `model.onnx` + ONE data file `model.onnx.data` beside it
  (torch writes one file per weight; ONNX external data records each tensor's offset and length);
- `fp16`: float32 weights that float16 represents exactly stored as float16, each followed by a Cast
  back to float32, so the inputs, outputs and arithmetic stay float32 (and the float64 log_softmax
  stays float64). onnxruntime folds those Casts when it loads the model: the file is half the size,
  the weights in memory are float32 as before.
"""
import os
import tempfile

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper

# protobuf refuses messages of 2 GiB; keep room for the graph itself
PROTOBUF_LIMIT = 2**31 - 64 * 2**20
# offsets in the data file are aligned to pages, so a runtime may map each tensor
ALIGN = 4096


def export_onnx(module: torch.nn.Module, args: tuple, path: str, input_names: list[str], output_names: list[str],
                dynamic_axes: dict, opset: int) -> None:
    """Traces `module(*args)` into `path` (a single file, or with torch's own external data files)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(module, args, path, input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic_axes, opset_version=opset, do_constant_folding=True, dynamo=False)


def _tensor_array(t: onnx.TensorProto, base: str) -> np.ndarray:
    """An initializer's values, from the proto or from its external file under `base`."""
    if t.data_location == onnx.TensorProto.EXTERNAL:
        info = {e.key: e.value for e in t.external_data}
        location = os.path.normpath(os.path.join(base, info["location"]))
        if os.path.dirname(location) != os.path.normpath(base):
            raise ValueError(f"{t.name}: external data outside {base}: {info['location']}")
        dtype = helper.tensor_dtype_to_np_dtype(t.data_type)
        count = int(np.prod(t.dims)) if len(t.dims) else 1
        with open(location, "rb") as f:
            f.seek(int(info.get("offset", 0)))
            raw = f.read(int(info.get("length", count * dtype.itemsize)))
        return np.frombuffer(raw, dtype=dtype).reshape(tuple(t.dims))
    return numpy_helper.to_array(t)


def _fp16_ok(a: np.ndarray) -> bool:
    """Whether a float32 tensor is stored as float16: when it holds 2 values or more (a scalar is not a
    weight) and float16 represents every one exactly. The module's weights are rounded to float16
    before the trace (pipeline_export.py), so they all pass, and so do tensors folded from them that
    stay exact (a transpose); anything else (a mask of −3.4e38, a product of rounded weights) stays
    float32, and the graph computes what the rounded module computes."""
    return a.dtype == np.float32 and a.size >= 2 and np.array_equal(a.astype(np.float16).astype(np.float32), a)


def _nbytes(t: onnx.TensorProto) -> int:
    count = int(np.prod(t.dims)) if len(t.dims) else 1
    return count * helper.tensor_dtype_to_np_dtype(t.data_type).itemsize


def attribute_tensors(graph: onnx.GraphProto):
    """Every tensor a node attribute holds (a Constant's `value`, and those of subgraphs, recursively).
    torch's exporter stores these as external files too when they are large (ITHQ's AdaLayerNorm
    LayerNorms: 144 Constant tensors of [1408]), so `rewrite` (and quantize.py) must carry them like the
    initializers."""
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
            if attr.HasField("g"):
                yield from attribute_tensors(attr.g)
                yield from attr.g.initializer
            for g in attr.graphs:
                yield from attribute_tensors(g)
                yield from g.initializer


def rewrite(src: str, dst: str, *, fp16: bool = False, external: str = "auto") -> dict:
    """Writes the model at `src` (and its external files) as `dst`, one initializer at a time (the
    weights are never all in memory), converting weights to float16 when `fp16`. `external`: "auto"
    (a data file only past protobuf's limit), "always", "never". Returns {"external": bool,
    "weights_bytes": int (as written), "fp16_tensors": int}."""
    if external not in ("auto", "always", "never"):
        raise ValueError(f"--external-data: expected auto, always or never, got {external!r}")
    model = onnx.load(src, load_external_data=False)
    base = os.path.dirname(os.path.abspath(src))
    others = list(attribute_tensors(model.graph))                     # stored as given (no fp16 cast)
    bound = sum(_nbytes(t) for t in model.graph.initializer) + sum(_nbytes(t) for t in others)  # fp32 size: an upper bound for fp16
    use_external = external == "always" or (external == "auto" and bound > PROTOBUF_LIMIT)
    data_name = os.path.basename(dst) + ".data"
    data_path = os.path.join(os.path.dirname(os.path.abspath(dst)), data_name)
    out = open(data_path, "wb") if use_external else None
    casts, total = [], 0
    others_set = {id(t) for t in others}
    try:
        for t in [*model.graph.initializer, *others]:
            initializer = id(t) not in others_set
            a = _tensor_array(t, base)
            if fp16 and initializer and _fp16_ok(a):
                a = a.astype(np.float16)
                casts.append(helper.make_node("Cast", [t.name + "__fp16"], [t.name], to=onnx.TensorProto.FLOAT,
                                              name=t.name + "__cast"))
                t.name, t.data_type = t.name + "__fp16", onnx.TensorProto.FLOAT16
            a = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))
            total += a.nbytes
            del t.external_data[:]
            t.ClearField("raw_data")
            t.data_location = onnx.TensorProto.DEFAULT
            if out is not None and a.nbytes >= 1024:
                out.write(b"\0" * ((-out.tell()) % ALIGN))
                offset = out.tell()
                out.write(a.data)                                             # no copy of the tensor
                t.data_location = onnx.TensorProto.EXTERNAL
                for key, value in (("location", data_name), ("offset", str(offset)), ("length", str(a.nbytes))):
                    entry = t.external_data.add()
                    entry.key, entry.value = key, value
            else:
                t.raw_data = a.tobytes()
            del a
    finally:
        if out is not None:
            out.close()
    if not use_external and total > PROTOBUF_LIMIT:
        raise ValueError(f"{dst}: {total} bytes of weights do not fit in one protobuf file; use external data")
    for i, node in enumerate(casts):
        model.graph.node.insert(i, node)
    onnx.save_model(model, dst)
    return {"external": use_external, "weights_bytes": total, "fp16_tensors": len(casts)}


def export_component(module: torch.nn.Module, args: tuple, path: str, input_names: list[str], output_names: list[str],
                     dynamic_axes: dict, opset: int, *, fp16: bool = False, external: str = "auto") -> dict:
    """`export_onnx` into a scratch folder beside `path`, then `rewrite` into `path`; see `rewrite`."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".torch-onnx-", dir=folder) as scratch:
        raw = os.path.join(scratch, "model.onnx")
        export_onnx(module, args, raw, input_names, output_names, dynamic_axes, opset)
        return rewrite(raw, path, fp16=fp16, external=external)
