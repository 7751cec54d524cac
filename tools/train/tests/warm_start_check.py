"""A check of tools/train/warm_start.py on the committed first-recipe weights
(models/fashion-mnist-eval/pytorch-weights.pt): prints a JSON summary that test/trainWarmStart.test.ts
compares.

- transformer_max_abs_diff: diffusers' Transformer2DModel after `load_transformer` against train.py's
  transformer with its position table replaced by the same separable fit, max |Δ log p(x_0 | x_t)| over
  random tokens, contexts and t in {0, 37, 99}. Every copied weight and the folded affine ada-norm
  enter it; a wrong fold moves it by orders of magnitude.
- position_residual: ‖P − (H[i] + W[j])‖ / ‖P‖ of the least-squares fit (what fine-tuning absorbs).
- text_fit: the CLIP text encoder's mean squared distance to train.py's unit prompt vectors before and
  after 60 fitting steps.
- size_error: the message for options that do not match the weights' shapes.

    tools/export/.venv/bin/python tools/train/tests/warm_start_check.py
"""
import argparse
import json
import os
import sys
import tempfile
import warnings

import torch

warnings.filterwarnings("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import components  # noqa: E402
import warm_start  # noqa: E402

WEIGHTS = os.path.join(HERE, "..", "..", "..", "models", "fashion-mnist-eval", "pytorch-weights.pt")


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    shipped = warm_start.Shipped(WEIGHTS)
    args = argparse.Namespace(codes=256, code_dim=32, dim=128, heads=4, layers=4, text_dim=64, text_layers=2,
                              length=8, grid=7)
    shipped.check_sizes(args)
    model = components.transformer(args).eval()
    residual = warm_start.load_transformer(model, shipped)
    diff = warm_start.transformer_agreement(model, shipped, torch.Generator().manual_seed(0))

    losses = []
    with tempfile.TemporaryDirectory() as folder:
        tok = components.tokenizer(folder, args.length)
        text = components.text_encoder(tok, args)
        warm_start.fit_text_encoder(text, tok, shipped, 60, lambda m: losses.append(float(m.split("vectors ")[1].split()[0])))

    try:
        shipped.check_sizes(argparse.Namespace(**{**vars(args), "dim": 96, "length": 16}))
        size_error = None
    except ValueError as e:
        size_error = str(e)
    print(json.dumps({"transformer_max_abs_diff": diff, "position_residual": round(residual, 4),
                      "text_fit": [losses[0], losses[-1]], "size_error": size_error}))


if __name__ == "__main__":
    main()
