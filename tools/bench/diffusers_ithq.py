"""diffusers' side of `npm run bench:ithq`: diffusers' own VQDiffusionPipeline, unmodified, on a
checkpoint folder in diffusers' format (e.g. one made by `tools/fixtures/random_checkpoint.py --preset
ithq`), a guided generation of a few steps, as a PyTorch user runs it: torch 2.x, float32,
torch.inference_mode(), the given thread count.

    tools/python/.venv/bin/python tools/bench/diffusers_ithq.py --model CHECKPOINT [--steps 2] [--threads 2] [--json]

The pipeline is built from its components, each loaded with its own class (tools/fixtures/vqd_fixtures/checkpoint.py:
`VQDiffusionPipeline.from_pretrained` fails on a folder diffusers saved). Per-part times come from
timing wrappers around the pipeline's own calls, without changing what they compute
(tools/bench/diffusers_timing.py: text encoding, transformer, scheduler, guidance + truncation as the
rest of each step, decode).
Prints them as JSON (ms; per step for the loop's parts), with load time and the process's peak RSS,
and with `--tokens` the final tokens (B = 1: N of them), for bench:ithq's agreement column.
"""
import argparse
import json
import os
import resource
import time

import torch

from diffusers_timing import timed_call


def load_pipeline(model):
    """diffusers' VQDiffusionPipeline from a checkpoint folder, one component at a time."""
    from diffusers import Transformer2DModel, VQDiffusionScheduler, VQModel
    from diffusers.pipelines.deprecated.vq_diffusion.pipeline_vq_diffusion import (
        LearnedClassifierFreeSamplingEmbeddings,
        VQDiffusionPipeline,
    )
    from transformers import CLIPTextModel, CLIPTokenizer

    def sub(name):
        return os.path.join(model, name)

    return VQDiffusionPipeline(
        vqvae=VQModel.from_pretrained(sub("vqvae")),
        text_encoder=CLIPTextModel.from_pretrained(sub("text_encoder")),
        tokenizer=CLIPTokenizer.from_pretrained(sub("tokenizer")),
        transformer=Transformer2DModel.from_pretrained(sub("transformer")),
        learned_classifier_free_sampling_embeddings=LearnedClassifierFreeSamplingEmbeddings.from_pretrained(
            sub("learned_classifier_free_sampling_embeddings")
        ),
        scheduler=VQDiffusionScheduler.from_pretrained(sub("scheduler")),
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="a VQ-Diffusion checkpoint folder in diffusers' format")
    ap.add_argument("--prompt", default="a photo of a red fox in the snow")
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--guidance", type=float, default=5.0)
    ap.add_argument("--truncation", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--tokens", action="store_true", help="also print the final tokens (the last step's sample)")
    o = ap.parse_args()
    torch.set_num_threads(o.threads)
    torch.set_num_interop_threads(1)

    t0 = time.perf_counter()
    pipe = load_pipeline(o.model)
    load_s = time.perf_counter() - t0

    r = timed_call(pipe, o.prompt, o.steps, o.guidance, o.truncation, torch.Generator().manual_seed(o.seed))
    res = {
        "implementation": f"diffusers {__import__('diffusers').__version__} (PyTorch {torch.__version__})",
        "steps": o.steps, "guidance": o.guidance, "threads": torch.get_num_threads(),
        "load_ms": load_s * 1000, "total_ms": r["total_ms"], "ms_per_step": r["ms_per_step"],
        "text_encoder_ms": r["text_encoder_ms"], "decode_ms": r["decode_ms"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "image_mean": float(r["images"].mean()),
    }
    if o.tokens:
        res["tokens"] = r["tokens"].reshape(-1).tolist()
    print(json.dumps(res) if o.json else json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
