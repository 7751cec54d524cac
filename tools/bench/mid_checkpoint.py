"""A mid-size random VQ-Diffusion checkpoint for bench/transformerGraph.mjs: ITHQ's transformer
options (ada-norm over 100 timesteps, geglu-approximate, attention bias, K = 4097, a 32 × 32 grid,
prompts of 77 × 512) at 8 layers of width 512 (8 heads × 64) instead of 36 of 1408, with
tiny-learnable's text encoder, tokenizer and VQ-VAE (tools/fixtures/vqd_fixtures/presets.py). Built and saved by
vqd_fixtures/random_model.py, as random_checkpoint.py does for a preset.

    tools/python/.venv/bin/python tools/bench/mid_checkpoint.py OUT

Then, for a baseline to compare with, its conversion by vq-diffusion (`node dist/cli/bin.js convert
--model OUT --out OUT-onnx`), passed as `--baseline OUT-onnx`.
"""
import copy
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))

from vqd_fixtures.presets import PRESETS  # noqa: E402
from vqd_fixtures.random_model import build, save  # noqa: E402

MID_TRANSFORMER = {"num_attention_heads": 8, "attention_head_dim": 64, "num_layers": 8, "cross_attention_dim": 512,
                   "num_vector_embeds": 4097, "sample_size": 32, "num_embeds_ada_norm": 100}


def mid_preset() -> dict:
    """tiny-learnable with the mid-size transformer (and a text encoder of width 512, L = 77 to match it)."""
    p = copy.deepcopy(PRESETS["tiny-learnable"])
    p["transformer"].update(MID_TRANSFORMER)
    p["tokenizer"]["model_max_length"] = 77
    p["text_encoder"].update(hidden_size=512, intermediate_size=512, num_attention_heads=8,
                             max_position_embeddings=77, projection_dim=512)
    p["vqvae"]["num_vq_embeddings"] = 4096
    p["scheduler"] = {"num_vec_classes": 4097, "num_train_timesteps": 100}
    return p


if __name__ == "__main__":
    out = sys.argv[1]
    torch.set_grad_enabled(False)
    with tempfile.TemporaryDirectory() as vocab_dir:
        components = build(mid_preset(), 0, vocab_dir)
        save(components, out, "safetensors", True, vocab_dir)
    print("wrote", out, "transformer parameters:", sum(p.numel() for p in components["transformer"].parameters()))
