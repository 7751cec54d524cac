"""Exports the trained Fashion-MNIST model again from its PyTorch weights, without training: the model
folder, the evaluation files and the recorded checks, as train.py's last stage writes them. The
first recipe's model is no longer the bundled one (it is the diffusers recipe's warm start), so this
writes only into folders you name.

    tools/export/.venv/bin/python tools/train/reexport.py OUT EVAL_OUT CHECKS.json

Reads models/fashion-mnist-eval/pytorch-weights.pt (the weights and the training options, through
warm_start.Shipped) and the Fashion-MNIST test set, whose codes it takes from that model's own VQ-VAE.
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import export  # noqa: E402
import warm_start  # noqa: E402

EVAL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models", "fashion-mnist-eval")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out")
    p.add_argument("eval_out")
    p.add_argument("checks")
    cli = p.parse_args()
    t0 = time.time()
    shipped = warm_start.Shipped(os.path.join(EVAL, "pytorch-weights.pt"))
    args = argparse.Namespace(**{**shipped.args, "out": cli.out, "eval_out": cli.eval_out})
    # The test set's codes by this model's own VQ-VAE: EVAL/test-tokens.bin is the bundled model's now.
    test_u8, _ = data.load("test")
    test_codes = shipped.codes(torch.from_numpy(test_u8).float().div(255).unsqueeze(1))
    export.export_all(args, vocab=shipped.vocab, vqvae=shipped.vqvae, text=shipped.text, transformer=shipped.transformer,
                      null=shipped.null, classifier=shipped.classifier, test_codes=test_codes, log=lambda m: print(f"[{time.time() - t0:6.1f} s] {m}"),
                      checks=cli.checks)


if __name__ == "__main__":
    main()
