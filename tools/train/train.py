"""Trains the Fashion-MNIST text-to-image model from scratch and exports it (tools/train/README.md).

    /usr/bin/python3 tools/train/train.py --out models/fashion-mnist --eval-out models/fashion-mnist-eval

Stages: VQ-VAE → tokens of every image → evaluation classifier → text encoder + transformer (the
VQ-Diffusion objective, classifier-free training) → export (export.py). Every seed is fixed; on a
CPU with AMX, matrix products run under bfloat16 autocast (--no-bf16 turns it off).
"""
import argparse
import contextlib
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import diffusion  # noqa: E402
import export  # noqa: E402
from classifier import Classifier  # noqa: E402
from schedule import Schedule  # noqa: E402
from text_encoder import TextEncoder, encode, vocabulary  # noqa: E402
from transformer import Transformer  # noqa: E402
from vqvae import VQVAE  # noqa: E402

T0 = time.time()


def log(msg):
    print(f"[{time.time() - T0:7.1f} s] {msg}", flush=True)


def autocast(enabled):
    if enabled:
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def to_unit(images_u8):
    return torch.from_numpy(images_u8).float().div(255).unsqueeze(1)       # [n, 1, 28, 28] in [0, 1]


def cosine_lr(step, total, base, warmup):
    if step < warmup:
        return base * (step + 1) / warmup
    return base * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def train_vqvae(args, train_x, test_x, gen):
    model = VQVAE(num_codes=args.codes, embed_dim=args.code_dim, ch=args.vq_ch)
    opt = torch.optim.Adam(list(model.encoder.parameters()) + list(model.decoder.parameters()), lr=1e-3)
    n = train_x.shape[0]
    with torch.no_grad(), autocast(args.bf16):  # codebook starts at encoder outputs
        first = train_x[torch.randint(0, n, (1024,), generator=gen)] * 2 - 1
        _, z = model.encode(first)
        flat = z.reshape(-1, z.shape[-1])
        pick = torch.randint(0, flat.shape[0], (args.codes,), generator=gen)
        model.codebook.embed.copy_(flat[pick]); model.codebook.embed_sum.copy_(flat[pick])
        model.codebook.cluster_size.fill_(1.0)
    for step in range(args.vq_steps):
        for g in opt.param_groups:
            g["lr"] = cosine_lr(step, args.vq_steps, 1e-3, 100)
        x = train_x[torch.randint(0, n, (args.vq_batch,), generator=gen)] * 2 - 1
        with autocast(args.bf16):
            z = model.encoder(x)
        z = z.float().permute(0, 2, 3, 1)                                  # [B, 7, 7, E]
        flat = z.reshape(-1, z.shape[-1])
        idx = model.codebook.nearest(flat.detach())
        zq = model.codebook.embed[idx].view_as(z)
        commit = F.mse_loss(z, zq)
        zst = (z + (zq - z).detach()).permute(0, 3, 1, 2)
        with autocast(args.bf16):
            recon = model.decoder(zst)
        rec = F.mse_loss(recon.float(), x)
        loss = rec + 0.25 * commit
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        model.codebook.update(flat.detach(), idx, gen)
        if step % 500 == 0 or step == args.vq_steps - 1:
            used = int((model.codebook.cluster_size > 1e-2).sum())
            log(f"vqvae step {step:5d}  recon mse {rec.item():.5f} ([-1,1] scale)  commit {commit.item():.5f}  codes in use {used}")
    return model


@torch.no_grad()
def tokenize_images(model, images, args):
    codes, mses = [], []
    for i in range(0, images.shape[0], 1000):
        x = images[i:i + 1000] * 2 - 1
        with autocast(args.bf16):
            c, _ = model.encode(x)
            r = model.decode_codes(c).float()
        codes.append(c)
        mses.append(((r.clamp(-1, 1) / 2 + 0.5) - (x / 2 + 0.5)).pow(2).mean((1, 2, 3)))
    return torch.cat(codes), torch.cat(mses).mean().item()


def train_classifier(args, train_x, train_y, test_x, test_y, gen):
    model = Classifier()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    n = train_x.shape[0]
    for step in range(args.cls_steps):
        for g in opt.param_groups:
            g["lr"] = cosine_lr(step, args.cls_steps, 2e-3, 100)
        pick = torch.randint(0, n, (128,), generator=gen)
        x = train_x[pick]
        flip = torch.rand(128, generator=gen) < 0.5                        # horizontal flips
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        with autocast(args.bf16):
            logits, _ = model(x)
        loss = F.cross_entropy(logits.float(), train_y[pick])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 1000 == 0:
            log(f"classifier step {step:5d}  loss {loss.item():.4f}")
    model.eval()
    with torch.no_grad():
        correct = 0
        for i in range(0, test_x.shape[0], 1000):
            logits, _ = model(test_x[i:i + 1000])
            correct += int((logits.argmax(1) == test_y[i:i + 1000]).sum())
    log(f"classifier test accuracy {correct / test_x.shape[0]:.4f}")
    return model


def train_transformer(args, train_codes, train_y, gen):
    K = args.codes + 1
    N = train_codes.shape[1]
    vocab = vocabulary()
    sched = Schedule(K, 100)
    text = TextEncoder(len(vocab), args.length, dim=args.text_dim)
    model = Transformer(K, N, args.text_dim, dim=args.dim, heads=args.heads, layers=args.layers)
    null = torch.nn.Parameter(torch.randn(args.length, args.text_dim, generator=gen) / math.sqrt(args.text_dim))
    params = list(text.parameters()) + list(model.parameters()) + [null]
    log(f"transformer parameters {sum(p.numel() for p in model.parameters())}, "
        f"text encoder {sum(p.numel() for p in text.parameters())}")
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    ema = [p.detach().clone() for p in params]
    prompt_ids = torch.tensor([encode(name, vocab, args.length) for name in data.CLASS_NAMES])
    n = train_codes.shape[0]
    running = None
    for step in range(args.steps):
        for g in opt.param_groups:
            g["lr"] = cosine_lr(step, args.steps, args.lr, 500)
        pick = torch.randint(0, n, (args.batch,), generator=gen)
        x0, y = train_codes[pick], train_y[pick]
        t = torch.randint(0, 100, (args.batch,), generator=gen)
        xt = diffusion.q_sample(x0, t, sched, gen)
        drop = torch.rand(args.batch, generator=gen) < args.null_prob
        with autocast(args.bf16):
            e = text(prompt_ids)                                           # [10, L, D]
        e = e.float()
        e = e / e.norm(dim=-1, keepdim=True)                               # the pipeline's normalisation
        ctx = torch.where(drop[:, None, None], null[None], e[y])
        with autocast(args.bf16):
            logits = model.logits(xt, ctx, t)
        log_x0 = F.log_softmax(logits.float(), dim=-1).permute(0, 2, 1)   # [B, K-1, N]
        vlb, ce = diffusion.losses(log_x0, x0, xt, t, sched)
        loss = vlb.mean() + args.aux_weight * ce.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        with torch.no_grad():
            for e_p, p in zip(ema, params):
                e_p.mul_(args.ema).add_(p.detach(), alpha=1 - args.ema)
        cur = torch.stack([loss.detach(), vlb.mean().detach(), ce.mean().detach()])
        running = cur if running is None else 0.98 * running + 0.02 * cur
        if step % 250 == 0 or step == args.steps - 1:
            log(f"transformer step {step:6d}  loss {running[0]:.4f}  vlb {running[1]:.4f}  x0 ce {running[2]:.4f}")
    with torch.no_grad():
        for e_p, p in zip(ema, params):
            p.copy_(e_p)
    return text, model, null.detach(), vocab


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="models/fashion-mnist")
    p.add_argument("--eval-out", default="models/fashion-mnist-eval")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-bf16", dest="bf16", action="store_false")
    p.add_argument("--codes", type=int, default=256)
    p.add_argument("--code-dim", type=int, default=32)
    p.add_argument("--vq-ch", type=int, default=32)
    p.add_argument("--vq-steps", type=int, default=3000)
    p.add_argument("--vq-batch", type=int, default=128)
    p.add_argument("--cls-steps", type=int, default=1500)
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--text-dim", type=int, default=64)
    p.add_argument("--length", type=int, default=8)
    p.add_argument("--null-prob", type=float, default=0.1)
    p.add_argument("--aux-weight", type=float, default=1.0)
    p.add_argument("--ema", type=float, default=0.999)
    args = p.parse_args()

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)
    log(f"torch {torch.__version__}, threads {args.threads}, bf16 autocast {args.bf16}")
    log("args " + " ".join(f"{k}={v}" for k, v in sorted(vars(args).items())))
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "data.sha256"), "w") as f:
        for line in data.sha256_lines():
            log(f"sha256 {line}")
            f.write(line + "\n")

    train_u8, train_y = data.load("train")
    test_u8, test_y = data.load("test")
    train_y, test_y = torch.from_numpy(train_y), torch.from_numpy(test_y)
    train_x, test_x = to_unit(train_u8), to_unit(test_u8)

    vqvae = train_vqvae(args, train_x, test_x, gen)
    vqvae.eval()
    train_codes, train_mse = tokenize_images(vqvae, train_x, args)
    test_codes, test_mse = tokenize_images(vqvae, test_x, args)
    log(f"vqvae reconstruction mse (pixels in [0,1]): train {train_mse:.5f}, test {test_mse:.5f}; "
        f"codes used by the training set {int(train_codes.unique().numel())}")

    classifier = train_classifier(args, train_x, train_y, test_x, test_y, gen)

    text, transformer, null, vocab = train_transformer(args, train_codes, train_y, gen)
    text.eval(); transformer.eval()

    export.export_all(args, vocab=vocab, vqvae=vqvae, text=text, transformer=transformer, null=null,
                      classifier=classifier, test_codes=test_codes, log=log)
    log("done")


if __name__ == "__main__":
    main()
