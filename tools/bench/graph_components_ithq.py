"""PyTorch's side of bench/graphComponents.mjs: microsoft/vq-diffusion-ithq's text encoder and VQ-VAE
at their exact config (tools/export's `ithq` preset) with random weights, saved as a diffusers
checkpoint's components are, exported to ONNX by tools/export's own code (the component classes and
`export_component` that `export.py --model DIR --out OUT` runs), and PyTorch's outputs on fixed
inputs, so that the TypeScript-built graphs can be checked and timed against both.

    tools/export/.venv/bin/python tools/bench/graph_components_ithq.py OUT

Writes
  OUT/checkpoint/text_encoder/{config.json, model.safetensors}   (CLIPTextModel, 63 M parameters)
  OUT/checkpoint/vqvae/{config.json, diffusion_pytorch_model.safetensors}   (decode path only)
  OUT/python/text_encoder/model.onnx, OUT/python/vqvae_decoder/model.onnx   (+ .data where large)
  OUT/reference.safetensors   input_ids [1, 77], last_hidden_state, indices [1, 1024], sample
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tools", "export"))


def main(out: str) -> None:
    from diffusers import VQModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from vqd_export import DEFAULT_OPSET
    from vqd_export.onnx_graph import export_component
    from vqd_export.presets import preset
    from vqd_export.text_encoder import text_encoder_component
    from vqd_export.vqvae_decoder import vqvae_decoder_component

    p = preset("ithq")
    torch.manual_seed(0)
    text = CLIPTextModel(CLIPTextConfig(**p["text_encoder"])).eval()
    vqvae = VQModel(**p["vqvae"]).eval()
    grid = p["transformer"]["sample_size"]

    te_dir = os.path.join(out, "checkpoint", "text_encoder")
    vq_dir = os.path.join(out, "checkpoint", "vqvae")
    os.makedirs(te_dir, exist_ok=True)
    os.makedirs(vq_dir, exist_ok=True)
    text.config.to_json_file(os.path.join(te_dir, "config.json"))
    save_file({k: v.contiguous() for k, v in text.state_dict().items()}, os.path.join(te_dir, "model.safetensors"))
    with open(os.path.join(vq_dir, "config.json"), "w") as f:
        json.dump({k: v for k, v in dict(vqvae.config).items() if not k.startswith("_")}, f, indent=2)
    save_file({k: v.contiguous() for k, v in vqvae.state_dict().items() if not k.startswith(("encoder.", "quant_conv."))},
              os.path.join(vq_dir, "diffusion_pytorch_model.safetensors"))

    vocab = p["text_encoder"]["vocab_size"]
    components = [
        text_encoder_component(text, p["text_encoder"]["max_position_embeddings"], vocab - 2, vocab - 1, vocab - 1),
        vqvae_decoder_component(vqvae, grid, grid),
    ]
    reference = {}
    with torch.no_grad():
        for c in components:
            path = os.path.join(out, "python", c.folder, "model.onnx")
            example = c.random_inputs(2, torch.Generator().manual_seed(1))
            export_component(c.module, example, path, c.input_names, [c.output_name], c.dynamic_axes, DEFAULT_OPSET)
            inputs = c.random_inputs(1, torch.Generator().manual_seed(2))
            reference[c.input_names[0]] = inputs[0]
            reference[c.output_name] = c.module(*inputs)
            print(path, file=sys.stderr)
    save_file({k: v.contiguous() for k, v in reference.items()}, os.path.join(out, "reference.safetensors"))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: graph_components_ithq.py OUT")
    main(sys.argv[1])
