"""The exporter's modules (tools/export/README.md): a diffusers VQ-Diffusion checkpoint → the ONNX
model folder of vq-diffusion's pipeline.

What is not about ONNX lives in tools/fixtures/vqd_fixtures (the fixtures' recorder needs it without
the exporter): reading a checkpoint, the three components as PyTorch modules with their inputs and
tolerances, the presets and builder of random checkpoints. This package puts that folder on the path."""
import os
import sys

_FIXTURES = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures"))
if _FIXTURES not in sys.path:
    sys.path.insert(0, _FIXTURES)

# The ONNX opset of every export unless --opset says otherwise (onnxruntime 1.30 and onnxruntime-web run it).
DEFAULT_OPSET = 17
