"""The exporter's modules (tools/export/README.md): a diffusers VQ-Diffusion checkpoint → the ONNX
model folder of vq-diffusion's pipeline, and the random checkpoints of the tests and benches."""

# The ONNX opset of every export unless --opset says otherwise (onnxruntime 1.30 and onnxruntime-web run it).
DEFAULT_OPSET = 17
