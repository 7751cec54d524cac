"""--check: every exported component run in onnxruntime against PyTorch on random inputs.

Each component is run at two batch sizes (1 and 2: the graph was traced at 2, so 1 shows the
batch is dynamic) on inputs drawn from a fixed seed, and must agree elementwise within its
tolerance (component.py; text encoder 1e-4 + 1e-4·|x|, transformer log p 1e-3 + 1e-4·|x|, decoder
1e-3 + 1e-4·|x|). For an fp16 export the reference is the PyTorch module with its weights rounded
to float16 (what the file holds: the weights are rounded before the trace); the difference from
the float32 module is printed beside it.
"""
import onnx
import torch

from vqd_fixtures.component import BATCHES, Component

class CheckError(Exception):
    """An exported component that disagrees with PyTorch past its tolerance."""


def round_weights_to_fp16(module: torch.nn.Module) -> None:
    """Rounds every float32 parameter and buffer of `module` to the nearest float16, in place."""
    with torch.no_grad():
        for t in list(module.parameters()) + list(module.buffers()):
            if t.dtype == torch.float32:
                t.copy_(t.half().float())


def float64_log_softmax(path: str) -> bool:
    """Whether the graph's LogSoftmax runs on a Cast to float64, as diffusers computes it."""
    graph = onnx.load(path, load_external_data=False).graph
    producers = {out: node for node in graph.node for out in node.output}
    for node in graph.node:
        if node.op_type == "LogSoftmax":
            src = producers.get(node.input[0])
            if src is None or src.op_type != "Cast" or onnx.helper.get_attribute_value(src.attribute[0]) != onnx.TensorProto.DOUBLE:
                return False
            return True
    return False


def _session(path: str):
    import onnxruntime as ort

    return ort.InferenceSession(path, providers=["CPUExecutionProvider"])


def check_component(component: Component, path: str, inputs: list[tuple], reference: list[torch.Tensor],
                    fp32: list[torch.Tensor] | None = None) -> dict:
    """Runs `path` in onnxruntime on `inputs` against PyTorch's `reference` outputs. `fp32`: for an
    fp16 export, the outputs of the module before its weights were rounded (reported only).
    Returns {"max_abs_diff", "max_abs_diff_also" (or None), "max_abs_diff_fp32" (or None), "batches",
    "tolerance"}. Raises CheckError past the tolerance or on a non-finite output."""
    session = _session(path)
    worst = worst_also = worst_fp32 = 0.0
    tol = component.tolerance
    for i, (b, x, ref) in enumerate(zip(BATCHES, inputs, reference)):
        feeds = {name: v.numpy() for name, v in zip(component.input_names, x)}
        got = torch.from_numpy(session.run([component.output_name], feeds)[0])
        if got.shape != ref.shape:
            raise CheckError(f"{component.folder}/model.onnx: expected output {component.output_name} of shape {list(ref.shape)} at B = {b}, got {list(got.shape)}")
        diff = (got - ref).abs()
        worst = max(worst, diff.max().item())
        over = diff > tol.atol + tol.rtol * ref.abs()
        if over.any() or not torch.isfinite(got).all():
            k = int(over.flatten().nonzero()[0]) if over.any() else 0
            raise CheckError(f"{component.folder}/model.onnx: expected onnxruntime within {tol} of PyTorch, got "
                             f"{int(over.sum())} values past it at B = {b} (first: {got.flatten()[k].item():.6g} vs {ref.flatten()[k].item():.6g})")
        if component.also_compare is not None:
            worst_also = max(worst_also, (component.also_compare(got) - component.also_compare(ref)).abs().max().item())
        if fp32 is not None:
            worst_fp32 = max(worst_fp32, (got - fp32[i]).abs().max().item())
    return {"max_abs_diff": worst, "max_abs_diff_also": worst_also if component.also_compare is not None else None,
            "max_abs_diff_fp32": worst_fp32 if fp32 is not None else None, "batches": list(BATCHES), "tolerance": str(tol)}


def describe(component: Component, result: dict) -> str:
    """One line for the export's log."""
    s = f"{component.folder}: max |onnx − torch| {result['max_abs_diff']:.3g} (B = {', '.join(map(str, result['batches']))}; tolerance {result['tolerance']})"
    if result["max_abs_diff_also"] is not None:
        s += f"; as {component.also_name}: {result['max_abs_diff_also']:.3g}"
    if result["max_abs_diff_fp32"] is not None:
        s += f"; against the float32 weights: {result['max_abs_diff_fp32']:.3g}"
    return s
