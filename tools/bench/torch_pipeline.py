"""PyTorch baseline for `npm run bench:pipeline`: diffusers' own VQDiffusionPipeline, unmodified, on
the very checkpoint the bundled model was exported from (models/fashion-mnist-diffusers), as a
PyTorch user runs it: `VQDiffusionPipeline.from_pretrained` (tools/train/record_diffusers.py's
load_pipeline, with the one-line class registration diffusers 0.40 needs), float32, CPU,
torch.inference_mode(), the given thread count. One warm-up call of 1 step, then the measured call
(as bench/pipeline.mjs does for ours).

    tools/python/.venv/bin/python tools/bench/torch_pipeline.py --images 16 [--steps 100] [--guidance 5] [--threads 2] [--json]

Prints images per second and milliseconds per step split into transformer, guidance/truncation and
scheduler (tools/bench/diffusers_timing.py: timing wrappers around the pipeline's own calls), text
encoding and decode, and the process's peak resident memory.
"""
import argparse
import json
import os
import resource
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
from record_diffusers import load_pipeline  # noqa: E402
from diffusers_timing import timed_call  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", default=os.path.join(ROOT, "models", "fashion-mnist-diffusers"))
    ap.add_argument("--prompt", default="ankle boot")
    ap.add_argument("--images", type=int, default=1)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--guidance", type=float, default=5.0)
    ap.add_argument("--truncation", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    o = ap.parse_args()
    torch.set_num_threads(o.threads)
    torch.set_num_interop_threads(1)
    t0 = time.perf_counter()
    pipe = load_pipeline(o.checkpoint)
    pipe.set_progress_bar_config(disable=True)
    load_s = time.perf_counter() - t0

    def call(steps, seed):
        return timed_call(pipe, o.prompt, steps, o.guidance, o.truncation, torch.Generator().manual_seed(seed), o.images)

    call(1, o.seed + 1)
    r = call(o.steps, o.seed)
    import diffusers
    res = {
        "implementation": f"diffusers {diffusers.__version__}", "torch": torch.__version__,
        "images": o.images, "steps": o.steps, "guidance": o.guidance, "threads": torch.get_num_threads(),
        "load_ms": load_s * 1000, "total_ms": r["total_ms"], "images_per_second": o.images / (r["total_ms"] / 1000),
        "ms_per_step": r["ms_per_step"], "text_encoder_ms": r["text_encoder_ms"], "decode_ms": r["decode_ms"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "image_mean": float(r["images"].mean()),
    }
    print(json.dumps(res) if o.json else json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
