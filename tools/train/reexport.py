"""Exports the trained Fashion-MNIST model again from its PyTorch weights, without training: the model
folder, the evaluation files and the recorded checks, as train.py's last stage writes them. For
checking an exporter change against the committed model (test/fashionMnist.model.test.ts).

    tools/export/.venv/bin/python tools/train/reexport.py OUT EVAL_OUT CHECKS.json

Reads models/fashion-mnist-eval/pytorch-weights.pt (the weights and the training options) and
test-tokens.bin beside it.
"""
import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export  # noqa: E402
from classifier import Classifier  # noqa: E402
from text_encoder import TextEncoder  # noqa: E402
from transformer import Transformer  # noqa: E402
from vqvae import VQVAE  # noqa: E402

EVAL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models", "fashion-mnist-eval")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out")
    p.add_argument("eval_out")
    p.add_argument("checks")
    cli = p.parse_args()
    t0 = time.time()
    saved = torch.load(os.path.join(EVAL, "pytorch-weights.pt"), weights_only=False)
    args = argparse.Namespace(**{**saved["args"], "out": cli.out, "eval_out": cli.eval_out})
    vqvae = VQVAE(num_codes=args.codes, embed_dim=args.code_dim, ch=args.vq_ch)
    vqvae.load_state_dict(saved["vqvae"])
    text = TextEncoder(len(saved["vocab"]), args.length, dim=args.text_dim)
    text.load_state_dict(saved["text_encoder"])
    K, N = args.codes + 1, 49
    transformer = Transformer(K, N, args.text_dim, dim=args.dim, heads=args.heads, layers=args.layers)
    transformer.load_state_dict(saved["transformer"])
    classifier = Classifier()
    classifier.load_state_dict(saved["classifier"])
    for m in (vqvae, text, transformer, classifier):
        m.eval()
    with open(os.path.join(EVAL, "test-tokens.bin"), "rb") as f:
        test_codes = torch.from_numpy(np.frombuffer(f.read(), dtype=np.uint8).astype(np.int64).reshape(-1, N))
    export.export_all(args, vocab=saved["vocab"], vqvae=vqvae, text=text, transformer=transformer, null=saved["null_embeddings"],
                      classifier=classifier, test_codes=test_codes, log=lambda m: print(f"[{time.time() - t0:6.1f} s] {m}"),
                      checks=cli.checks)


if __name__ == "__main__":
    main()
