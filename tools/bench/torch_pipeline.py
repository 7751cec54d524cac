"""PyTorch baseline for `npm run bench:pipeline`: the Fashion-MNIST model's trained weights
(models/fashion-mnist-eval/pytorch-weights.pt, written by tools/train/export.py) run with diffusers'
VQDiffusionPipeline loop, as a PyTorch user would: torch.inference_mode(), the guided batch in one
forward pass, diffusers' truncation (sort, cumsum, gather) and the reference scheduler step
(tools/bench/torch_step.py's posterior and Gumbel-max draw), then the VQ-VAE decoder.

    /usr/bin/python3 tools/bench/torch_pipeline.py --images 16 [--steps 100] [--guidance 5] [--threads 2] [--json]

Prints images per second and milliseconds per step split into text encoding, transformer,
guidance/truncation, scheduler and decode, and the process's peak resident memory.
"""
import argparse
import json
import os
import resource
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "train"))
from text_encoder import TextEncoder, encode  # noqa: E402
from transformer import Transformer  # noqa: E402
from vqvae import VQVAE  # noqa: E402
import torch_step  # noqa: E402  (the reference step, shared with npm run bench)


def truncate(log_p_x_0, truncation_rate):
    """diffusers' VQDiffusionPipeline.truncate."""
    sorted_log_p_x_0, indices = torch.sort(log_p_x_0, 1, descending=True)
    keep_mask = torch.exp(sorted_log_p_x_0).cumsum(dim=1) < truncation_rate
    keep_mask = torch.cat((torch.ones_like(keep_mask[:, 0:1, :]), keep_mask), dim=1)[:, :-1, :]
    keep_mask = keep_mask.gather(1, indices.argsort(1))
    rv = log_p_x_0.clone()
    rv[~keep_mask] = -torch.inf
    return rv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", default=os.path.join(HERE, "..", "..", "models", "fashion-mnist-eval", "pytorch-weights.pt"))
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
    ck = torch.load(o.weights)
    a = ck["args"]
    K, L, D = a["codes"] + 1, a["length"], a["text_dim"]
    vocab = ck["vocab"]
    text = TextEncoder(len(vocab), L, dim=D)
    text.load_state_dict(ck["text_encoder"])
    vqvae = VQVAE(num_codes=a["codes"], embed_dim=a["code_dim"], ch=a["vq_ch"])
    vqvae.load_state_dict(ck["vqvae"])
    N = vqvae.grid * vqvae.grid
    model = Transformer(K, N, D, dim=a["dim"], heads=a["heads"], layers=a["layers"])
    model.load_state_dict(ck["transformer"])
    for m in (text, vqvae, model):
        m.eval()
    tables = torch_step.tables(K, 100)
    B = o.images
    times = {"text_encoder": 0.0, "transformer": 0.0, "guidance": 0.0, "scheduler": 0.0, "decode": 0.0}
    generator = torch.Generator().manual_seed(o.seed)
    with torch.inference_mode():
        start = time.perf_counter()
        ids = torch.tensor([encode(o.prompt, vocab, L)])
        e = text(ids)
        e = e / e.norm(dim=-1, keepdim=True)
        e = e.repeat_interleave(B, dim=0)
        guided = o.guidance > 1
        ctx = torch.cat([ck["null_embeddings"][None].repeat(B, 1, 1), e]) if guided else e
        x = torch.full((B, N), K - 1)
        times["text_encoder"] = time.perf_counter() - start
        for t in range(o.steps - 1, -1, -1):
            t0 = time.perf_counter()
            out = model(torch.cat([x, x]) if guided else x, ctx, torch.tensor(t))
            t1 = time.perf_counter()
            if guided:
                u, c = out.chunk(2)
                out = u + o.guidance * (c - u)
                out = out - torch.logsumexp(out, dim=1, keepdim=True)
            out = truncate(out, o.truncation).clamp(-70)
            t2 = time.perf_counter()
            x = torch_step.step(tables, K, out, t, x, generator)
            t3 = time.perf_counter()
            times["transformer"] += t1 - t0
            times["guidance"] += t2 - t1
            times["scheduler"] += t3 - t2
        t0 = time.perf_counter()
        images = (vqvae.decode_codes(x) / 2 + 0.5).clamp(0, 1)
        times["decode"] = time.perf_counter() - t0
        total = time.perf_counter() - start
    res = {
        "images": B, "steps": o.steps, "guidance": o.guidance, "threads": torch.get_num_threads(), "torch": torch.__version__,
        "total_ms": total * 1000, "images_per_second": B / total,
        "ms_per_step": {k: v * 1000 / o.steps for k, v in times.items() if k in ("transformer", "guidance", "scheduler")},
        "text_encoder_ms": times["text_encoder"] * 1000, "decode_ms": times["decode"] * 1000,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "image_mean": float(images.mean()),
    }
    print(json.dumps(res) if o.json else json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
