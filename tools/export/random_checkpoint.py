"""Builds a random-weight VQ-Diffusion checkpoint with diffusers' and transformers' own classes.

    tools/export/.venv/bin/python tools/export/random_checkpoint.py --preset tiny-learnable OUT
    tools/export/.venv/bin/python tools/export/random_checkpoint.py --preset ithq --format bin OUT

Presets (vqd_export/presets.py): `ithq` (microsoft/vq-diffusion-ithq's shapes: 1.36 billion
transformer parameters, 5.4 GB of fp32 weights), `tiny-learnable`, `tiny`. The folder is written in
diffusers' layout, as the Hub's ITHQ is: model_index.json, one folder per component, weights as
safetensors (default) or pickled `.bin` (--format bin), the tokenizer as CLIP's vocab.json +
merges.txt (+ tokenizer.json with --tokenizer-json). Nothing is left in OUT unless the whole
checkpoint was written.
"""
import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vqd_export.files import OutputFolderError, staged_folder  # noqa: E402
from vqd_export.presets import PRESETS, preset  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", help="the checkpoint folder to write (new or empty, unless --overwrite)")
    p.add_argument("--preset", required=True, choices=sorted(PRESETS))
    p.add_argument("--seed", type=int, default=0, help="seeds the vocabulary's random merges and every weight (default 0)")
    p.add_argument("--format", default="safetensors", choices=["safetensors", "bin"], help="weight files (default safetensors)")
    p.add_argument("--tokenizer-json", action="store_true", help="also write tokenizer/tokenizer.json")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty OUT")
    args = p.parse_args(argv)

    import torch

    from vqd_export.quiet import quiet
    from vqd_export.random_model import build, save

    quiet()

    t0 = time.time()
    torch.set_grad_enabled(False)
    try:
        with staged_folder(args.out, args.overwrite, option="OUT") as stage, tempfile.TemporaryDirectory() as vocab_dir:
            components = build(preset(args.preset), args.seed, vocab_dir)
            save(components, stage, args.format, args.tokenizer_json, vocab_dir)
            counts = {k: sum(p.numel() for p in v.parameters()) for k, v in components.items() if isinstance(v, torch.nn.Module)}
    except OutputFolderError as e:
        print(f"random_checkpoint.py: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} (preset {args.preset}, seed {args.seed}, {args.format}) in {time.time() - t0:.1f} s; parameters: "
          + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
