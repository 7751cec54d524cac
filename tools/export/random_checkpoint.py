"""Builds a random-weight VQ-Diffusion checkpoint with diffusers' and transformers' own classes.

    tools/export/.venv/bin/python tools/export/random_checkpoint.py --preset tiny-learnable OUT
    tools/export/.venv/bin/python tools/export/random_checkpoint.py --preset ithq --format bin OUT

Presets (tools/fixtures/vqd_fixtures/presets.py): `ithq` (microsoft/vq-diffusion-ithq's shapes: 1.36 billion
transformer parameters, 5.4 GB of fp32 weights), `tiny-learnable`, `tiny`. The folder is written in
diffusers' layout, as the Hub's ITHQ is: model_index.json, one folder per component, weights as
safetensors (default) or pickled `.bin` (--format bin), the tokenizer as CLIP's vocab.json +
merges.txt (+ tokenizer.json with --tokenizer-json), and with --variant fp16 (or bf16) the weights
cast to that dtype beside them, as diffusers' `variant="fp16"` files. Nothing is left in OUT unless the whole
checkpoint was written.
"""
import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vqd_export.files import OutputFolderError, check_output_folder, staged_folder  # noqa: E402
from vqd_fixtures.presets import PRESETS, preset  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", help="the checkpoint folder to write (new or empty, unless --overwrite)")
    p.add_argument("--preset", required=True, choices=sorted(PRESETS))
    p.add_argument("--seed", type=int, default=0, help="seeds the vocabulary's random merges and every weight (default 0)")
    p.add_argument("--format", default="safetensors", choices=["safetensors", "bin"], help="weight files (default safetensors)")
    p.add_argument("--tokenizer-json", action="store_true", help="also write tokenizer/tokenizer.json")
    p.add_argument("--variant", choices=["fp16", "bf16"],
                   help="also write the weights in this dtype as diffusers' variant files (e.g. diffusion_pytorch_model.fp16.safetensors), as the Hub's ITHQ holds its fp16 variant")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty OUT")
    args = p.parse_args(argv)
    try:  # before torch is imported, so that a taken OUT is refused in a moment
        check_output_folder(args.out, args.overwrite, option="OUT")
    except OutputFolderError as e:
        print(f"random_checkpoint.py: {e}", file=sys.stderr)
        return 2

    import torch

    from vqd_fixtures.quiet import quiet
    from vqd_fixtures.random_model import build, save

    quiet()

    t0 = time.time()
    torch.set_grad_enabled(False)
    try:
        with staged_folder(args.out, args.overwrite, option="OUT") as stage, tempfile.TemporaryDirectory() as vocab_dir:
            components = build(preset(args.preset), args.seed, vocab_dir)
            save(components, stage, args.format, args.tokenizer_json, vocab_dir, args.variant)
            counts = {k: sum(p.numel() for p in v.parameters()) for k, v in components.items() if isinstance(v, torch.nn.Module)}
    except OutputFolderError as e:
        print(f"random_checkpoint.py: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} (preset {args.preset}, seed {args.seed}, {args.format}{' + ' + args.variant if args.variant else ''}) in {time.time() - t0:.1f} s; parameters: "
          + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
