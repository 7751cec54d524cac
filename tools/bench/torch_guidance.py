"""PyTorch side of bench/guidance.mjs: diffusers' guidance, renormalisation, truncation and clamp
(VQDiffusionPipeline.__call__'s lines and its own .truncate, as tools/bench/torch_pipeline.py runs them) on the
denoiser outputs the bench captured, one thread; prints the median CPU milliseconds per step.

    tools/export/.venv/bin/python tools/bench/torch_guidance.py OUTPUTS.bin B C N [--rate 1] [--runs 15]
"""
import argparse
import json
import time

import numpy as np
import torch

from diffusers.pipelines.deprecated.vq_diffusion.pipeline_vq_diffusion import VQDiffusionPipeline


def truncate(log_p_x_0, truncation_rate):
    """diffusers' VQDiffusionPipeline.truncate (it reads nothing of the pipeline)."""
    return VQDiffusionPipeline.truncate(None, log_p_x_0, truncation_rate)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outputs")
    ap.add_argument("B", type=int)
    ap.add_argument("C", type=int)
    ap.add_argument("N", type=int)
    ap.add_argument("--guidance", type=float, default=5.0)
    ap.add_argument("--rate", type=float, default=1.0)
    ap.add_argument("--runs", type=int, default=15)
    o = ap.parse_args()
    torch.set_num_threads(1)
    flat = torch.from_numpy(np.fromfile(o.outputs, dtype=np.float32))
    outs = flat.reshape(-1, 2 * o.B, o.C, o.N)

    def once(out):
        u, c = out.chunk(2)
        out = u + o.guidance * (c - u)
        out = out - torch.logsumexp(out, dim=1, keepdim=True)
        return truncate(out, o.rate).clamp(-70)

    times = []
    with torch.inference_mode():
        for out in outs:
            once(out)
        for _ in range(o.runs):
            t0 = time.process_time()
            for out in outs:
                once(out)
            times.append((time.process_time() - t0) * 1000 / len(outs))
    times.sort()
    print(json.dumps({"median_cpu_ms": times[len(times) // 2], "torch": torch.__version__}))


if __name__ == "__main__":
    main()
