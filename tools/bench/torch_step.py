#!/usr/bin/env python3
"""PyTorch baseline for the VQ-Diffusion reverse step, for side-by-side timing.

It performs the same sequence of tensor operations as the Python reference scheduler
(one-hot in log space, cumulative and one-step transition rows, log-sum-exp posterior,
Gumbel noise from torch.rand, argmax), so its time is what a PyTorch user pays per step
on this machine. `npm run bench` runs it with the repo's Python environment (torch 2.x:
bash tools/python/setup.sh); any Python with torch runs it (Debian's python3-torch is 1.13).

usage: tools/python/.venv/bin/python tools/bench/torch_step.py [--classes 4097] [--pixels 1024] [--batch 1] [--t 50]
                                      [--tokens random|masked|mixed|unmasked] [--threads 2] [--runs 7] [--json]
--tokens: x_t random over all K classes (default), all masked (a chain's start), one pixel in three
unmasked (token (7i) mod (K-1)) and the rest masked, or all unmasked (token (2654435761 i) mod (K-1)).
Prints the median and minimum wall time of one step in milliseconds.
"""
import argparse, json, time
import numpy as np
import torch
import torch.nn.functional as F


def tables(K, T, a0=0.99999, a1=0.000009, g0=0.000009, g1=0.99999):
    att = np.concatenate(([1], np.arange(T) / (T - 1) * (a1 - a0) + a0))
    at = att[1:] / att[:-1]
    att = np.concatenate((att[1:], [1]))
    ctt = np.concatenate(([0], np.arange(T) / (T - 1) * (g1 - g0) + g0))
    ct = 1 - (1 - ctt[1:]) / (1 - ctt[:-1])
    ctt = np.concatenate((ctt[1:], [0]))
    bt, btt = (1 - at - ct) / (K - 1), (1 - att - ctt) / (K - 1)
    lg = lambda v: torch.log(torch.tensor(v.astype("float64"))).float()
    return {"a": lg(at), "b": lg(bt), "c": lg(ct), "ca": lg(att), "cb": lg(btt), "cc": lg(ctt)}


def transition_rows(tb, K, t, x, log_onehot, cumulative):
    a, b, c = (tb["ca"][t], tb["cb"][t], tb["cc"][t]) if cumulative else (tb["a"][t], tb["b"][t], tb["c"][t])
    from_mask = log_onehot[:, -1:, :]
    rows = (log_onehot[:, :-1, :] + a).logaddexp(b)
    rows[(x == K - 1).unsqueeze(1).expand(-1, K - 1, -1)] = c
    return rows if cumulative else torch.cat((rows, from_mask), dim=1)


def posterior(tb, K, log_p_x_0, x, t):
    log_onehot = torch.log(F.one_hot(x, K).permute(0, 2, 1).float().clamp(min=1e-30))
    q = log_p_x_0 - transition_rows(tb, K, t, x, log_onehot, True)
    lse = torch.logsumexp(q, dim=1, keepdim=True)
    q = ((q - lse) + tb["ca"][t - 1]).logaddexp(tb["cb"][t - 1])
    q = torch.cat((q, tb["cc"][t - 1].expand(q.shape[0], 1, q.shape[2])), dim=1)
    return q + transition_rows(tb, K, t, x, log_onehot, False) + lse


def step(tb, K, model_output, t, x, generator):
    logits = model_output if t == 0 else posterior(tb, K, model_output, x, t)
    u = torch.rand(logits.shape, generator=generator)
    return (logits - torch.log(-torch.log(u + 1e-30) + 1e-30)).argmax(dim=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--classes", type=int, default=4097)
    ap.add_argument("--pixels", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--t", type=int, default=50)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--tokens", default="random", choices=["random", "masked", "mixed", "unmasked"])
    ap.add_argument("--json", action="store_true")
    o = ap.parse_args()
    torch.set_num_threads(o.threads)
    K, N, B = o.classes, o.pixels, o.batch
    tb = tables(K, o.steps)
    g = torch.Generator().manual_seed(0)
    mo = F.log_softmax(torch.rand((B, K - 1, N), generator=g).double() * 8.0, dim=1).float()
    x = torch.randint(0, K, (B, N), generator=g)
    i = torch.arange(B * N, dtype=torch.int64)
    if o.tokens == "masked":
        x = torch.full((B, N), K - 1)
    elif o.tokens == "mixed":
        x = torch.where(i % 3 == 0, (i * 7) % (K - 1), torch.full_like(i, K - 1)).reshape(B, N)
    elif o.tokens == "unmasked":
        x = ((i * 2654435761) % (K - 1)).reshape(B, N)
    step(tb, K, mo, o.t, x, g)
    times = []
    for _ in range(o.runs):
        t0 = time.perf_counter()
        step(tb, K, mo, o.t, x, g)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    res = {"median_ms": times[len(times) // 2], "min_ms": times[0], "classes": K, "pixels": N, "batch": B, "t": o.t, "tokens": o.tokens,
           "threads": torch.get_num_threads(), "torch": torch.__version__}
    print(json.dumps(res) if o.json else f"torch step K={K} N={N} B={B} t={o.t}: median {res['median_ms']:.1f} ms, min {res['min_ms']:.1f} ms ({res['threads']} threads, torch {res['torch']})")


if __name__ == "__main__":
    main()
