"""Trains the Fashion-MNIST text-to-image model from scratch as a diffusers checkpoint (tools/train/README.md).

    tools/export/.venv/bin/python tools/train/train_diffusers.py --checkpoint tools/train/checkpoint

Stages: VQModel → tokens of every image → CLIPTextModel + Transformer2DModel + learned null embeddings
(the VQ-Diffusion objective, classifier-free training) → `VQDiffusionPipeline.save_pretrained`. Every
seed is fixed. bfloat16 autocast on a GPU, and on a CPU whose flags include amx_bf16 or avx512_bf16
(--no-bf16 turns it off). --vq-seconds / --seconds cap a stage by time: the step count is fixed after
60 steps from their measured rate (logged; passing it as --vq-steps / --steps repeats the run).
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
import components  # noqa: E402
import data  # noqa: E402
import diffusion  # noqa: E402
import warm_start  # noqa: E402
from schedule import Schedule  # noqa: E402

T0 = time.time()
LOG_FILE = []  # the checkpoint's training-log.txt, once open


def log(msg):
    line = f"[{time.time() - T0:7.1f} s] {msg}"
    print(line, flush=True)
    for f in LOG_FILE:
        f.write(line + "\n")
        f.flush()


def cpu_flags():
    """The flags /proc/cpuinfo lists (empty where it cannot be read)."""
    try:
        with open("/proc/cpuinfo") as f:
            return set(f.read().split())
    except OSError:
        return set()


def cpu_has_bf16():
    return not cpu_flags().isdisjoint({"amx_bf16", "avx512_bf16"})


def cpu_has_amx():
    return "amx_bf16" in cpu_flags()


def autocast(args, stage="vqvae"):
    """bfloat16 autocast where --bf16 allows it; the transformer stage only with --bf16-transformer (on
    CPUs with avx512_bf16 but no AMX its matrix products measured 15 % slower in bf16 than in fp32)."""
    if args.bf16 and (stage != "transformer" or args.bf16_transformer):
        return torch.autocast(args.device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def cosine_lr(step, total, base, warmup):
    if step < warmup:
        return base * (step + 1) / warmup
    return base * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


class StepBudget:
    """The step count of a stage: `steps`, or fewer if `seconds` would run out (fixed at step 60)."""

    def __init__(self, name, steps, seconds, device):
        self.name, self.total, self.seconds, self.device = name, steps, seconds, device
        self.started = None

    def check(self, step):
        if self.seconds is None:
            return
        if step == 10:
            self._sync()
            self.started = time.time()
        elif step == 60:
            self._sync()
            rate = 50 / (time.time() - self.started)
            fit = int(rate * (self.seconds - (time.time() - T0 - self.t_begin)) + 60)
            if fit < self.total:
                self.total = max(61, fit)
            log(f"{self.name}: {rate:.1f} steps/s, {self.total} steps")

    def begin(self):
        self.t_begin = time.time() - T0

    def _sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize()


@torch.no_grad()
def ema_codebook_update(codebook, state, flat, idx, gen, decay=0.99):
    """Exponential-moving-average codebook update with restarts of unused codes (van den Oord et al.,
    arXiv 1711.00937, appendix A.1). codebook: [C, E] (VQModel.quantize.embedding.weight)."""
    C = codebook.shape[0]
    onehot = F.one_hot(idx, C).float()
    state["size"].mul_(decay).add_(onehot.sum(0), alpha=1 - decay)
    state["sum"].mul_(decay).add_(onehot.t() @ flat, alpha=1 - decay)
    n = state["size"].sum()
    size = (state["size"] + 1e-5) / (n + C * 1e-5) * n
    codebook.copy_(state["sum"] / size[:, None])
    dead = state["size"] < 1e-2
    if dead.any():  # restart unused codes on encoder outputs of this batch
        pick = torch.randint(0, flat.shape[0], (int(dead.sum()),), generator=gen, device=flat.device)
        codebook[dead] = flat[pick]
        state["sum"][dead] = flat[pick]
        state["size"][dead] = 1.0


def quantize(vq, x):
    """x [B, 1, 28, 28] in [-1, 1] → (z [B, E, 7, 7] float32, codes long [B, 49])."""
    z = vq.encode(x).latents.float()
    flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
    emb = vq.quantize.embedding.weight
    d = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ emb.t() + emb.pow(2).sum(1)[None]
    return z, d.argmin(1).view(x.shape[0], -1)


def decode(vq, zq):
    """The decoder path of VQModel.decode after quantization: post_quant_conv, decoder."""
    return vq.decoder(vq.post_quant_conv(zq))


def train_vqvae(args, train_x, gen):
    vq = components.vqvae(args).to(args.device)
    codebook = vq.quantize.embedding.weight
    codebook.requires_grad_(False)
    params = [p for p in vq.parameters() if p.requires_grad]
    log(f"vqvae parameters {sum(p.numel() for p in vq.parameters())} (decoder {sum(p.numel() for p in vq.decoder.parameters())})")
    opt = torch.optim.Adam(params, lr=args.vq_lr)
    n = train_x.shape[0]
    with torch.no_grad(), autocast(args):  # the codebook starts at encoder outputs
        z, _ = quantize(vq, train_x[torch.randint(0, n, (1024,), generator=gen, device=args.device)] * 2 - 1)
        flat = z.float().permute(0, 2, 3, 1).reshape(-1, z.shape[1])
        codebook.copy_(flat[torch.randint(0, flat.shape[0], (args.codes,), generator=gen, device=args.device)])
    state = {"size": torch.ones(args.codes, device=args.device), "sum": codebook.detach().clone()}
    budget = StepBudget("vqvae", args.vq_steps, args.vq_seconds, args.device)
    budget.begin()
    step = 0
    while step < budget.total:
        for g in opt.param_groups:
            g["lr"] = cosine_lr(step, budget.total, args.vq_lr, 100)
        x = train_x[torch.randint(0, n, (args.vq_batch,), generator=gen, device=args.device)] * 2 - 1
        with autocast(args):
            z, idx = quantize(vq, x)
        zq = codebook[idx].view(z.shape[0], z.shape[2], z.shape[3], -1).permute(0, 3, 1, 2)
        commit = F.mse_loss(z, zq)
        with autocast(args):
            recon = decode(vq, z + (zq - z).detach()).float()
        rec = F.mse_loss(recon, x)
        loss = rec + 0.25 * commit
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        ema_codebook_update(codebook, state, z.detach().permute(0, 2, 3, 1).reshape(-1, z.shape[1]), idx.reshape(-1), gen)
        budget.check(step)
        if step % 500 == 0 or step == budget.total - 1:
            used = int((state["size"] > 1e-2).sum())
            log(f"vqvae step {step:6d}  recon mse {rec.item():.5f} ([-1,1] scale)  commit {commit.item():.5f}  codes in use {used}")
        step += 1
    args.vq_steps = budget.total
    return vq.eval()


def distill_vqvae(args, shipped, train_x, test_x, gen):
    """VQModel distilled from the warm-start VQ-VAE (warm_start.py's doc): codebook copied and frozen,
    encoder + quant_conv regress its encoder outputs, post_quant_conv + decoder reconstruct the images
    from its codes. train_x, test_x float [n, 1, 28, 28] in [0, 1]."""
    teacher = shipped.vqvae.to(args.device)
    vq = components.vqvae(args).to(args.device)
    codebook = vq.quantize.embedding.weight
    codebook.requires_grad_(False)
    with torch.no_grad():
        codebook.copy_(teacher.codebook.embed)
    params = [p for p in vq.parameters() if p.requires_grad]
    log(f"vqvae parameters {sum(p.numel() for p in vq.parameters())} (decoder {sum(p.numel() for p in vq.decoder.parameters())}); "
        "distilled from the warm-start VQ-VAE, its codebook copied and frozen")
    opt = torch.optim.Adam(params, lr=args.vq_lr)
    n = train_x.shape[0]
    budget = StepBudget("vqvae", args.vq_steps, args.vq_seconds, args.device)
    budget.begin()
    step = 0
    while step < budget.total:
        for g in opt.param_groups:
            g["lr"] = cosine_lr(step, budget.total, args.vq_lr, 100)
        x = train_x[torch.randint(0, n, (args.vq_batch,), generator=gen, device=args.device)] * 2 - 1
        with torch.no_grad():
            codes, z_t = teacher.encode(x)                                  # [B, 49], [B, 49, E]
            z_t = z_t.view(x.shape[0], args.grid, args.grid, -1).permute(0, 3, 1, 2)   # [B, E, 7, 7]
            zq = codebook[codes].view(z_t.shape[0], args.grid, args.grid, -1).permute(0, 3, 1, 2)
        with autocast(args):
            z = vq.encode(x).latents
            recon = decode(vq, zq)
        enc = F.mse_loss(z.float(), z_t)
        rec = F.mse_loss(recon.float(), x)
        loss = rec + enc
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        budget.check(step)
        if step % 250 == 0 or step == budget.total - 1:
            log(f"vqvae distillation step {step:6d}  recon mse {rec.item():.5f} ([-1,1] scale)  encoder mse {enc.item():.5f}")
        step += 1
    args.vq_steps = budget.total
    vq.eval()
    agree, mse = 0, []
    with torch.no_grad(), autocast(args):
        for i in range(0, test_x.shape[0], 1000):
            x = test_x[i:i + 1000] * 2 - 1
            codes = teacher.encode(x.float())[0]
            agree += int((quantize(vq, x)[1] == codes).sum())
            zq = codebook[codes].view(x.shape[0], args.grid, args.grid, -1).permute(0, 3, 1, 2)
            mse.append(((decode(vq, zq).float().clamp(-1, 1) - x) / 2).pow(2).mean((1, 2, 3)))
    total = test_x.shape[0] * args.grid * args.grid
    log(f"vqvae: its encoder gives the warm-start VQ-VAE's code at {agree}/{total} test pixels ({agree / total:.4f}); "
        f"its decoder on the warm-start codes of the test set: mse {torch.cat(mse).mean().item():.5f} (pixels in [0,1])")
    return vq


@torch.no_grad()
def tokenize_images(vq, images, args, reconstruct=True):
    """images float [n, 1, 28, 28] in [0, 1] → (codes long [n, 49], reconstruction MSE in [0, 1] units,
    or None without `reconstruct`: decoding is half the cost and the training set's MSE is only logged)."""
    codes, mse = [], []
    for i in range(0, images.shape[0], 1000):
        x = images[i:i + 1000] * 2 - 1
        z, c = quantize(vq, x)
        codes.append(c)
        if reconstruct:
            zq = vq.quantize.embedding.weight[c].view(z.shape[0], z.shape[2], z.shape[3], -1).permute(0, 3, 1, 2)
            r = decode(vq, zq).float()
            mse.append(((r.clamp(-1, 1) - x) / 2).pow(2).mean((1, 2, 3)))
    return torch.cat(codes), (torch.cat(mse).mean().item() if reconstruct else None)


def train_transformer(args, tok, train_codes, train_y, gen, shipped=None):
    K = args.codes + 1
    sched = Schedule(K, components.NUM_TRAIN_TIMESTEPS, device=args.device)
    text = components.text_encoder(tok, args).to(args.device)
    model = components.transformer(args).to(args.device)
    null = components.null_embeddings(args, torch.Generator().manual_seed(args.seed + 1)).to(args.device)
    if shipped is not None:
        residual = warm_start.load_transformer(model, shipped)
        log(f"transformer copied from the warm-start weights; position table fitted as H[i] + W[j], "
            f"relative residual {residual:.4f}; max |Δ log p| against them with that table "
            f"{warm_start.transformer_agreement(model.cpu(), shipped, torch.Generator().manual_seed(args.seed)):.2e}")
        model.to(args.device)
        with torch.no_grad():
            null.embeddings.copy_(shipped.null)
        warm_start.fit_text_encoder(text, tok, shipped, args.text_fit_steps, log)
    components.allow_per_image_timesteps()
    modules = [text, model, null]
    params = [p for m in modules for p in m.parameters()]
    log(f"transformer parameters {sum(p.numel() for p in model.parameters())}, "
        f"text encoder {sum(p.numel() for p in text.parameters())}")
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    ema = [p.detach().clone() for p in params]
    prompt_ids = tok(data.CLASS_NAMES, padding="max_length", max_length=args.length, truncation=True,
                     return_tensors="pt").input_ids.to(args.device)                      # [10, L]
    log("prompt ids " + "; ".join(f"{name}: {ids}" for name, ids in zip(data.CLASS_NAMES, prompt_ids.tolist())))
    n = train_codes.shape[0]
    running = None
    budget = StepBudget("transformer", args.steps, args.seconds, args.device)
    budget.begin()
    step = 0
    while step < budget.total:
        for g in opt.param_groups:
            g["lr"] = cosine_lr(step, budget.total, args.lr, args.warmup)
        pick = torch.randint(0, n, (args.batch,), generator=gen, device=args.device)
        x0, y = train_codes[pick], train_y[pick]
        t = torch.randint(0, components.NUM_TRAIN_TIMESTEPS, (args.batch,), generator=gen, device=args.device)
        xt = diffusion.q_sample(x0, t, sched, gen)
        drop = torch.rand(args.batch, generator=gen, device=args.device) < args.null_prob
        with autocast(args, "transformer"):
            e = text(prompt_ids).last_hidden_state                          # [10, L, D]
        e = e.float()
        e = e / e.norm(dim=-1, keepdim=True)                               # the pipeline's normalisation
        ctx = torch.where(drop[:, None, None], null.embeddings[None], e[y])
        with autocast(args, "transformer"):
            log_x0 = model(xt, encoder_hidden_states=ctx, timestep=t).sample  # [B, K-1, N], diffusers' log_softmax
        vlb, ce = diffusion.losses(log_x0.float(), x0, xt, t, sched)
        loss = vlb.mean() + args.aux_weight * ce.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        with torch.no_grad():
            torch._foreach_lerp_(ema, [p.detach() for p in params], 1 - args.ema)
        cur = torch.stack([loss.detach(), vlb.mean().detach(), ce.mean().detach()])
        running = cur if running is None else 0.98 * running + 0.02 * cur
        budget.check(step)
        if step % 500 == 0 or step == budget.total - 1:
            r = running.tolist()
            log(f"transformer step {step:6d}  loss {r[0]:.4f}  vlb {r[1]:.4f}  x0 ce {r[2]:.4f}")
        step += 1
    args.steps = budget.total
    with torch.no_grad():
        for e_p, p in zip(ema, params):
            p.copy_(e_p)
    return text.eval(), model.eval(), null.eval()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default="tools/train/checkpoint", help="the diffusers checkpoint folder written")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-bf16", dest="bf16", action="store_false")
    p.add_argument("--bf16-transformer", action=argparse.BooleanOptionalAction, default=None,
                   help="bf16 autocast in the transformer stage too (default: on a GPU or a CPU with amx_bf16)")
    p.add_argument("--codes", type=int, default=256)
    p.add_argument("--code-dim", type=int, default=32)
    p.add_argument("--grid", type=int, default=7)
    p.add_argument("--vq-channels", default="32,64,64")
    p.add_argument("--vq-layers", type=int, default=1)
    p.add_argument("--vq-groups", type=int, default=32)
    p.add_argument("--vq-steps", type=int, default=8000)
    p.add_argument("--vq-seconds", type=float, default=None)
    p.add_argument("--vq-batch", type=int, default=256)
    p.add_argument("--vq-lr", type=float, default=1e-3)
    p.add_argument("--steps", type=int, default=20000)
    p.add_argument("--seconds", type=float, default=None, help="cap on the transformer stage's time")
    p.add_argument("--batch", type=int, default=1024)
    p.add_argument("--lr", type=float, default=1.5e-3)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--text-dim", type=int, default=64)
    p.add_argument("--text-layers", type=int, default=2)
    p.add_argument("--length", type=int, default=8)
    p.add_argument("--null-prob", type=float, default=0.1)
    p.add_argument("--aux-weight", type=float, default=1.0)
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--init-from", default=None,
                   help="warm start from train.py's weights (models/fashion-mnist-eval/pytorch-weights.pt): "
                        "VQModel distilled from its VQ-VAE, transformer and null embeddings copied, CLIP text encoder "
                        "fitted to its prompt embeddings, then the usual training (warm_start.py)")
    p.add_argument("--text-fit-steps", type=int, default=400, help="with --init-from: steps of the text encoder's fit")
    p.add_argument("--subset", type=int, default=None, help="use the first N images of each split (for trying the script out)")
    args = p.parse_args()
    args.device = torch.device(args.device)
    if args.bf16 and args.device.type == "cpu" and not cpu_has_bf16():
        args.bf16 = False
    if args.bf16_transformer is None:
        args.bf16_transformer = args.device.type != "cpu" or cpu_has_amx()

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    if args.device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    gen = torch.Generator(device=args.device).manual_seed(args.seed)
    import diffusers
    import transformers
    os.makedirs(args.checkpoint, exist_ok=True)
    LOG_FILE.append(open(os.path.join(args.checkpoint, "training-log.txt"), "w"))
    log(f"torch {torch.__version__}, diffusers {diffusers.__version__}, transformers {transformers.__version__}, "
        f"device {torch.cuda.get_device_name() if args.device.type == 'cuda' else 'cpu'}, threads {args.threads}, bf16 autocast {args.bf16}")
    log("args " + " ".join(f"{k}={v}" for k, v in sorted(vars(args).items())))
    sha = data.sha256_lines()
    for line in sha:
        log(f"sha256 {line}")

    train_u8, train_y = data.load("train")
    test_u8, _ = data.load("test")
    if args.subset:
        train_u8, train_y, test_u8 = train_u8[:args.subset], train_y[:args.subset], test_u8[:args.subset]
    train_y = torch.from_numpy(train_y).to(args.device)
    unit = lambda u8: torch.from_numpy(u8).to(args.device).float().div(255).unsqueeze(1)  # noqa: E731  [n, 1, 28, 28]
    train_x, test_x = unit(train_u8), unit(test_u8)

    shipped = None
    if args.init_from:
        shipped = warm_start.Shipped(args.init_from)
        shipped.check_sizes(args)
        log(f"warm start from {args.init_from} (train.py's options as run: "
            + " ".join(f"{k}={v}" for k, v in sorted(shipped.args.items())) + ")")
        vq = distill_vqvae(args, shipped, train_x, test_x, gen)
    else:
        vq = train_vqvae(args, train_x, gen)
    with autocast(args):
        if shipped is None:
            train_codes, _ = tokenize_images(vq, train_x, args, reconstruct=False)
        test_codes, test_mse = tokenize_images(vq, test_x, args)
    if shipped is not None:  # the transformer learns the token space it was trained in (warm_start.py)
        train_codes = shipped.codes(train_x)
        log("the transformer's training tokens are the warm-start VQ-VAE's codes (the distilled encoder's agreement is above)")
    log(f"vqvae reconstruction mse (pixels in [0,1]): test {test_mse:.5f}; "
        f"codes used by the training set {int(train_codes.unique().numel())}")

    tok_dir = os.path.join(args.checkpoint, "tokenizer")
    tok = components.tokenizer(tok_dir, args.length)
    text, transformer, null = train_transformer(args, tok, train_codes, train_y, gen, shipped)

    from diffusers import VQDiffusionPipeline
    pipe = VQDiffusionPipeline(vqvae=vq.cpu(), text_encoder=text.cpu(), tokenizer=tok, transformer=transformer.cpu(),
                               scheduler=components.scheduler(args),
                               learned_classifier_free_sampling_embeddings=null.cpu())
    pipe.save_pretrained(args.checkpoint, safe_serialization=True)
    with open(os.path.join(args.checkpoint, "data.sha256"), "w") as f:
        f.write("".join(line + "\n" for line in sha))
    log("args as run (the step counts a repeat passes) " + " ".join(f"{k}={v}" for k, v in sorted(vars(args).items())))
    log(f"saved {args.checkpoint}")


if __name__ == "__main__":
    main()
