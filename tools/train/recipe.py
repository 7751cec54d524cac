"""The one recipe: Fashion-MNIST → the diffusers checkpoint → the ONNX model folder (tools/train/README.md).

    tools/python/.venv/bin/python tools/train/recipe.py --out DIR [--stage-minutes M] [--device cpu|cuda]

Stages, in order, each checkpointed under DIR/state/ and resumed by the next run of the same command:
  1. vqvae        VQModel (encoder, decoder, EMA codebook with restarts of unused codes)
  2. codes        the VQModel's tokens of the training and test images
  3. transformer  CLIPTextModel + Transformer2DModel + learned null embeddings: the VQ-Diffusion objective,
                  classifier-free training, prompts drawn from prompts.py's variants of each class
  4. export       save_pretrained → DIR/checkpoint (with prompts.json, data.sha256, the log); the ONNX
                  folder → DIR/model (vq-diffusion's TypeScript converter: node dist/cli/bin.js convert,
                  after npm run build); DIR/eval/test-tokens.bin and
                  DIR/eval/fashion-mnist-export.json (checks.py); with --install, all of it into models/
A run stops after --stage-minutes (saving where it is) and exits with code 3: run the same command again
to go on. It exits 0 when the model folder is written. Every draw comes from a generator seeded per
stage and saved with the stage, and step counts are fixed by the options (never by time), so a run cut
into pieces gives the weights of an uninterrupted one (on a CPU; cuBLAS is not bitwise repeatable).
The options that shape the model are stored in DIR/recipe.json at the first run; a later run with other
values is refused. The log is DIR/training-log.jsonl (JSON lines; the data files' SHA-256 first).
"""
import argparse
import contextlib
import datetime
import json
import math
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import components  # noqa: E402
import data  # noqa: E402
import diffusion  # noqa: E402
import prompts  # noqa: E402
from schedule import Schedule  # noqa: E402

STAGES = ["vqvae", "codes", "transformer", "export"]
UNFINISHED = 3  # exit code: stopped at --stage-minutes, run again
# Options that do not shape the result (may change between runs of one DIR).
RUN_OPTIONS = {"out", "stage_minutes", "device", "threads", "save_minutes", "install"}


class Stop(Exception):
    """--stage-minutes ran out; the stage saved its state."""


class Run:
    """One invocation: the log, the clock, the stage files."""

    def __init__(self, args):
        self.args = args
        self.out = args.out
        self.started = time.time()
        self.deadline = None if args.stage_minutes is None else self.started + 60 * args.stage_minutes
        self.log_path = os.path.join(self.out, "training-log.jsonl")
        self.run_index = 0
        if os.path.exists(self.log_path):
            with open(self.log_path) as f:
                self.run_index = sum(1 for line in f if '"event": "run"' in line)

    def log(self, stage, event, **fields):
        record = {"time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                  "run": self.run_index, "seconds": round(time.time() - self.started, 1), "stage": stage, "event": event, **fields}
        with open(self.log_path, "a") as f:
            f.write(json.dumps(record) + "\n")
        shown = " ".join(f"{k} {v:.5g}" if isinstance(v, float) else f"{k} {v}" for k, v in fields.items())
        print(f"[{record['seconds']:8.1f} s] {stage}: {event} {shown}", flush=True)

    def out_of_time(self):
        return self.deadline is not None and time.time() > self.deadline

    def path(self, name):
        return os.path.join(self.out, "state", name)

    def load(self, name):
        p = self.path(name)
        return torch.load(p, map_location=self.args.device, weights_only=False) if os.path.exists(p) else None

    def save(self, name, obj):
        """Atomic: a run killed while saving leaves the previous file."""
        os.makedirs(os.path.dirname(self.path(name)), exist_ok=True)
        tmp = self.path(name) + ".tmp"
        torch.save(obj, tmp)
        os.replace(tmp, self.path(name))


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            return set(f.read().split())
    except OSError:
        return set()


def autocast(args, stage):
    """bfloat16 autocast: the VQ-VAE on a GPU or a CPU with avx512_bf16/amx_bf16; the transformer on a GPU or
    with AMX (on avx512_bf16 without AMX a transformer step measured 28 % slower in bf16 than in float32)."""
    flags = cpu_flags() if args.device.type == "cpu" else set()
    on = {"on": True, "off": False}.get(args.bf16)
    if on is None:
        on = args.device.type == "cuda" or (not flags.isdisjoint({"avx512_bf16", "amx_bf16"}) and
                                            (stage == "vqvae" or "amx_bf16" in flags))
    return torch.autocast(args.device.type, dtype=torch.bfloat16) if on else contextlib.nullcontext()


def cosine_lr(step, total, base, warmup):
    if step < warmup:
        return base * (step + 1) / warmup
    return base * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def generator(args, stage):
    return torch.Generator(device=args.device).manual_seed(args.seed * 1000 + STAGES.index(stage))


class Loop:
    """A training loop's checkpointing: saves every --save-minutes and when time runs out (then raises Stop)."""

    def __init__(self, run, stage, total):
        self.run, self.stage, self.total = run, stage, total
        self.last_save = time.time()
        self.t0, self.s0 = time.time(), None

    def after(self, step, snapshot):
        """Call after step `step` finished; `snapshot()` gives the state to save (step + 1 is done)."""
        if self.s0 is None:
            self.s0 = step
        done = step + 1 == self.total
        if done:
            return
        if self.run.out_of_time() or time.time() - self.last_save > 60 * self.run.args.save_minutes:
            self.run.save(f"{self.stage}.pt", snapshot())
            self.last_save = time.time()
            rate = (step + 1 - self.s0) / max(1e-9, time.time() - self.t0)
            self.run.log(self.stage, "saved", step=step + 1, of=self.total, steps_per_second=rate)
            if self.run.out_of_time():
                raise Stop()


# ---------------------------------------------------------------- stage 1: VQ-VAE

@torch.no_grad()
def ema_codebook_update(codebook, state, flat, idx, gen, decay=0.99):
    """EMA codebook update with restarts of unused codes (van den Oord et al., arXiv 1711.00937, appendix A.1).
    codebook: [C, E] (VQModel.quantize.embedding.weight); flat [M, E] encoder outputs; idx long [M]."""
    C = codebook.shape[0]
    onehot = F.one_hot(idx, C).float()
    state["size"].mul_(decay).add_(onehot.sum(0), alpha=1 - decay)
    state["sum"].mul_(decay).add_(onehot.t() @ flat, alpha=1 - decay)
    n = state["size"].sum()
    size = (state["size"] + 1e-5) / (n + C * 1e-5) * n
    codebook.copy_(state["sum"] / size[:, None])
    dead = state["size"] < 1e-2
    if dead.any():
        pick = torch.randint(0, flat.shape[0], (int(dead.sum()),), generator=gen, device=flat.device)
        codebook[dead] = flat[pick]
        state["sum"][dead] = flat[pick]
        state["size"][dead] = 1.0


def quantize(vq, x):
    """x [B, 1, 28, 28] in [-1, 1] → (z [B, E, h, w] float32, codes long [B, h·w])."""
    z = vq.encode(x).latents.float()
    flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
    emb = vq.quantize.embedding.weight
    d = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ emb.t() + emb.pow(2).sum(1)[None]
    return z, d.argmin(1).view(x.shape[0], -1)


def decode(vq, zq):
    return vq.decoder(vq.post_quant_conv(zq))


def stage_vqvae(run, args, train_x):
    vq = components.vqvae(args).to(args.device)
    codebook = vq.quantize.embedding.weight
    codebook.requires_grad_(False)
    params = [p for p in vq.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=args.vq_lr)
    gen = generator(args, "vqvae")
    n = train_x.shape[0]
    saved = run.load("vqvae.pt")
    if saved is None:
        with torch.no_grad(), autocast(args, "vqvae"):  # the codebook starts at encoder outputs
            z, _ = quantize(vq, train_x[torch.randint(0, n, (1024,), generator=gen, device=args.device)] * 2 - 1)
            flat = z.float().permute(0, 2, 3, 1).reshape(-1, z.shape[1])
            codebook.copy_(flat[torch.randint(0, flat.shape[0], (args.codes,), generator=gen, device=args.device)])
        state = {"size": torch.ones(args.codes, device=args.device), "sum": codebook.detach().clone()}
        step = 0
        run.log("vqvae", "start", parameters=sum(p.numel() for p in vq.parameters()),
                decoder_parameters=sum(p.numel() for p in vq.decoder.parameters()), steps=args.vq_steps)
    else:
        vq.load_state_dict(saved["model"])
        opt.load_state_dict(saved["opt"])
        gen.set_state(saved["gen"].to(gen.get_state().device))
        state, step = saved["ema"], saved["step"]
        run.log("vqvae", "resume", step=step, of=args.vq_steps)

    def snapshot():
        return {"model": vq.state_dict(), "opt": opt.state_dict(), "gen": gen.get_state(), "ema": state, "step": step + 1}

    loop = Loop(run, "vqvae", args.vq_steps)
    while step < args.vq_steps:
        for g in opt.param_groups:
            g["lr"] = cosine_lr(step, args.vq_steps, args.vq_lr, 100)
        x = train_x[torch.randint(0, n, (args.vq_batch,), generator=gen, device=args.device)] * 2 - 1
        with autocast(args, "vqvae"):
            z, idx = quantize(vq, x)
        zq = codebook[idx].view(z.shape[0], z.shape[2], z.shape[3], -1).permute(0, 3, 1, 2)
        commit = F.mse_loss(z, zq)
        with autocast(args, "vqvae"):
            recon = decode(vq, z + (zq - z).detach()).float()
        rec = F.mse_loss(recon, x)
        loss = rec + 0.25 * commit
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        ema_codebook_update(codebook, state, z.detach().permute(0, 2, 3, 1).reshape(-1, z.shape[1]), idx.reshape(-1), gen)
        if step % args.log_every == 0 or step == args.vq_steps - 1:
            run.log("vqvae", "step", step=step, recon_mse=rec.item(), commit=commit.item(),
                    codes_in_use=int((state["size"] > 1e-2).sum()))
        loop.after(step, snapshot)
        step += 1
    run.save("vqvae.pt", {"model": vq.state_dict(), "step": step, "done": True})
    run.log("vqvae", "done", steps=step)


def load_vqvae(run, args):
    vq = components.vqvae(args).to(args.device)
    vq.load_state_dict(run.load("vqvae.pt")["model"])
    return vq.eval()


# ---------------------------------------------------------------- stage 2: codes

@torch.no_grad()
def tokenize_images(vq, images, reconstruct):
    """images float [n, 1, 28, 28] in [0, 1] → (codes long [n, h·w], reconstruction MSE in [0, 1] units or None).
    In float32, without autocast: the codes are then those of diffusers' own quantizer on the saved VQModel
    (checks.test_tokens), not bfloat16's near ties."""
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


def stage_codes(run, args, train_x, test_x):
    vq = load_vqvae(run, args)
    train_codes, _ = tokenize_images(vq, train_x, False)   # decoding is half the cost; the test set's MSE says it
    test_codes, test_mse = tokenize_images(vq, test_x, True)
    run.save("codes.pt", {"train": train_codes.cpu(), "test": test_codes.cpu(), "done": True})
    run.log("codes", "done", test_recon_mse=test_mse,
            codes_used_by_train=int(train_codes.unique().numel()))


# ---------------------------------------------------------------- stage 3: text encoder + transformer

def prompt_table(tok, args):
    """The trained prompts as ids [P, L], each prompt's class [P], and per class its first row and count."""
    rows, labels = [], []
    for label, c in enumerate(prompts.classes()):
        for p in c["prompts"]:
            rows.append(p)
            labels.append(label)
    ids = components.prompt_ids(tok, rows)                                   # [P, L], L = --length
    labels = torch.tensor(labels)
    first = torch.tensor([labels.tolist().index(k) for k in range(10)])
    count = torch.bincount(labels, minlength=10)
    return rows, ids.to(args.device), first.to(args.device), count.to(args.device)


def stage_transformer(run, args, tok, train_y):
    codes = run.load("codes.pt")["train"].to(args.device)
    K = args.codes + 1
    sched = Schedule(K, components.NUM_TRAIN_TIMESTEPS, device=args.device)
    text = components.text_encoder(tok, args).to(args.device)
    model = components.transformer(args).to(args.device)
    null = components.null_embeddings(args, torch.Generator().manual_seed(args.seed + 1)).to(args.device)
    components.allow_per_image_timesteps()
    params = [p for m in (text, model, null) for p in m.parameters()]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    ema = [p.detach().clone() for p in params]
    gen = generator(args, "transformer")
    rows, ids, first, count = prompt_table(tok, args)
    saved = run.load("transformer.pt")
    if saved is None:
        step, running = 0, None
        run.log("transformer", "start", transformer_parameters=sum(p.numel() for p in model.parameters()),
                text_encoder_parameters=sum(p.numel() for p in text.parameters()), prompts=len(rows), steps=args.steps,
                longest_prompt_ids=prompts.check(tok, args.length),
                class_name_ids={name: ids[first[k]].tolist() for k, name in enumerate(data.CLASS_NAMES)})
    else:
        for m, name in ((text, "text"), (model, "model"), (null, "null")):
            m.load_state_dict(saved[name])
        opt.load_state_dict(saved["opt"])
        for e, s in zip(ema, saved["ema"]):
            e.copy_(s)
        gen.set_state(saved["gen"].to(gen.get_state().device))
        step, running = saved["step"], saved["running"]
        run.log("transformer", "resume", step=step, of=args.steps)

    def snapshot():
        return {"text": text.state_dict(), "model": model.state_dict(), "null": null.state_dict(), "opt": opt.state_dict(),
                "ema": ema, "gen": gen.get_state(), "step": step + 1, "running": running}

    n = codes.shape[0]
    loop = Loop(run, "transformer", args.steps)
    while step < args.steps:
        for g in opt.param_groups:
            g["lr"] = cosine_lr(step, args.steps, args.lr, args.warmup)
        pick = torch.randint(0, n, (args.batch,), generator=gen, device=args.device)
        x0, y = codes[pick], train_y[pick]
        t = torch.randint(0, components.NUM_TRAIN_TIMESTEPS, (args.batch,), generator=gen, device=args.device)
        xt = diffusion.q_sample(x0, t, sched, gen)
        drop = torch.rand(args.batch, generator=gen, device=args.device) < args.null_prob
        # The prompt: the class name with probability --name-prob, else any of the class's trained prompts.
        u = torch.rand(args.batch, generator=gen, device=args.device)
        any_row = first[y] + (torch.rand(args.batch, generator=gen, device=args.device) * count[y]).long().clamp(max=count[y] - 1)
        row = torch.where(u < args.name_prob, first[y], any_row)
        with autocast(args, "transformer"):
            e = text(ids).last_hidden_state                                   # [P, L, D]
        e = e.float()
        e = components.normalise(e)                                           # the pipeline's normalisation
        ctx = torch.where(drop[:, None, None], null.embeddings[None], e[row])
        with autocast(args, "transformer"):
            log_x0 = model(xt, encoder_hidden_states=ctx, timestep=t).sample   # [B, K-1, N]
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
        if step % args.log_every == 0 or step == args.steps - 1:
            r = running.tolist()
            run.log("transformer", "step", step=step, loss=r[0], vlb=r[1], x0_ce=r[2], lr=opt.param_groups[0]["lr"])
        loop.after(step, snapshot)
        step += 1
    with torch.no_grad():
        for e_p, p in zip(ema, params):
            p.copy_(e_p)
    run.save("transformer.pt", {"text": text.state_dict(), "model": model.state_dict(), "null": null.state_dict(),
                                "step": step, "done": True})
    run.log("transformer", "done", steps=step)


# ---------------------------------------------------------------- stage 4: export

def stage_export(run, args, tok, sha):
    from diffusers import VQDiffusionPipeline
    import checks
    args_cpu = argparse.Namespace(**{**vars(args), "device": torch.device("cpu")})
    vq = components.vqvae(args_cpu)
    vq.load_state_dict({k: v.cpu() for k, v in run.load("vqvae.pt")["model"].items()})
    saved = run.load("transformer.pt")
    text, model = components.text_encoder(tok, args_cpu), components.transformer(args_cpu)
    null = components.null_embeddings(args_cpu, torch.Generator().manual_seed(0))
    for m, name in ((text, "text"), (model, "model"), (null, "null")):
        m.load_state_dict({k: v.cpu() for k, v in saved[name].items()})
    checkpoint, folder, evaluation = (os.path.join(args.out, d) for d in ("checkpoint", "model", "eval"))
    for d in (checkpoint, folder):
        if os.path.isdir(d):
            shutil.rmtree(d)
    pipe = VQDiffusionPipeline(vqvae=vq.eval(), text_encoder=text.eval(), tokenizer=tok, transformer=model.eval(),
                               scheduler=components.scheduler(args), learned_classifier_free_sampling_embeddings=null.eval())
    pipe.save_pretrained(checkpoint, safe_serialization=True)
    note = ("The classes this model was trained on, with the phrases that name each (a prompt containing none of them gets a "
            "warning) and the prompts it was trained on; held_out: prompts kept out of training for the quality table "
            "(tools/train/prompts.py, docs/model-folder.md).")
    run.log("export", "checkpoint", folder=checkpoint)
    # The ONNX folder: the checkpoint converted by vq-diffusion's TypeScript converter (the one the users'
    # `vq-diffusion convert` and fromPretrained run), from the built package.
    cli = os.path.join(ROOT, "dist", "cli", "bin.js")
    if not os.path.isfile(cli):
        raise SystemExit(f"export: expected the built package's CLI {cli} (run npm run build first), got no such file")
    subprocess.run(["node", cli, "convert", "--model", checkpoint, "--out", folder], check=True)
    for d in (checkpoint, folder):
        prompts.write(d, note)
        with open(os.path.join(d, "data.sha256"), "w") as f:
            f.write("".join(line + "\n" for line in sha))
    run.log("export", "model folder", folder=folder)
    codes = checks.test_tokens(vq.eval())
    os.makedirs(evaluation, exist_ok=True)
    with open(os.path.join(evaluation, "test-tokens.bin"), "wb") as f:
        f.write(codes.to(torch.uint8).numpy().tobytes())
    checks.record_checks(tok, text.eval(), model.eval(), vq.eval(), codes, out=os.path.join(evaluation, "fashion-mnist-export.json"))
    sizes = {os.path.relpath(os.path.join(r, n), folder): os.path.getsize(os.path.join(r, n))
             for r, _, files in os.walk(folder) for n in files}
    run.log("export", "done", onnx_mb=round(sum(v for k, v in sizes.items() if k.endswith((".onnx", ".onnx.data"))) / 1e6, 2),
            test_codes_in_use=int(codes.unique().numel()))
    for d in (checkpoint, folder):  # the whole log, this run's last line included
        shutil.copy(run.log_path, os.path.join(d, "training-log.jsonl"))


def install(run, args):
    """--install: the new model becomes the bundled one (its model card README.md kept), then diffusers' record."""
    pairs = [(os.path.join(args.out, "checkpoint"), os.path.join(ROOT, "models", "fashion-mnist-diffusers")),
             (os.path.join(args.out, "model"), os.path.join(ROOT, "models", "fashion-mnist"))]
    for src, dest in pairs:
        card = os.path.join(dest, "README.md")
        kept = open(card).read() if os.path.exists(card) else None
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(src, dest)
        if kept is not None:
            with open(card, "w") as f:
                f.write(kept)
    shutil.copy(os.path.join(args.out, "eval", "test-tokens.bin"), os.path.join(ROOT, "models", "fashion-mnist-eval", "test-tokens.bin"))
    shutil.copy(os.path.join(args.out, "eval", "fashion-mnist-export.json"), os.path.join(ROOT, "test", "fixtures", "fashion-mnist-export.json"))
    subprocess.run([sys.executable, os.path.join(HERE, "record_diffusers.py")], check=True)
    run.log("install", "done", into="models/fashion-mnist, models/fashion-mnist-diffusers, models/fashion-mnist-eval/test-tokens.bin, "
            "test/fixtures/fashion-mnist-export.json, test/fixtures/fashion-mnist-diffusers.json")


# ---------------------------------------------------------------- the command

def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="the run's folder: state/, the log, checkpoint/, model/, eval/")
    p.add_argument("--stage-minutes", type=float, default=None, help="stop (saving) after this many minutes; exit code 3")
    p.add_argument("--save-minutes", type=float, default=5, help="save the running stage this often")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=None, help="torch's CPU threads (default: torch's choice)")
    p.add_argument("--install", action="store_true", help="after the export: make it the bundled model (models/, test/fixtures/)")
    p.add_argument("--bf16", choices=["auto", "on", "off"], default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--subset", type=int, default=None, help="the first N images of each split (smoke runs)")
    p.add_argument("--log-every", type=int, default=250)
    g = p.add_argument_group("VQ-VAE")
    g.add_argument("--codes", type=int, default=256)
    g.add_argument("--code-dim", type=int, default=32)
    g.add_argument("--grid", type=int, default=7)
    g.add_argument("--vq-channels", default="32,64,64")
    g.add_argument("--vq-layers", type=int, default=1)
    g.add_argument("--vq-groups", type=int, default=32)
    g.add_argument("--vq-steps", type=int, default=8000)
    g.add_argument("--vq-batch", type=int, default=256)
    g.add_argument("--vq-lr", type=float, default=1e-3)
    g = p.add_argument_group("text encoder and transformer")
    g.add_argument("--steps", type=int, default=20000)
    g.add_argument("--batch", type=int, default=1024)
    g.add_argument("--lr", type=float, default=1.5e-3)
    g.add_argument("--warmup", type=int, default=500)
    g.add_argument("--dim", type=int, default=128)
    g.add_argument("--heads", type=int, default=4)
    g.add_argument("--layers", type=int, default=4)
    g.add_argument("--text-dim", type=int, default=64)
    g.add_argument("--text-layers", type=int, default=2)
    g.add_argument("--length", type=int, default=8)
    g.add_argument("--null-prob", type=float, default=0.1)
    g.add_argument("--name-prob", type=float, default=0.25, help="share of images whose prompt is the bare class name")
    g.add_argument("--aux-weight", type=float, default=1.0)
    g.add_argument("--ema", type=float, default=0.999)
    args = p.parse_args(argv)
    args.out = os.path.abspath(args.out)
    return args


def recipe_options(args):
    return {k: v for k, v in sorted(vars(args).items()) if k not in RUN_OPTIONS}


def main(argv=None):
    args = parse(argv)
    os.makedirs(args.out, exist_ok=True)
    run = Run(args)
    options = recipe_options(args)
    sha = data.sha256_lines()
    recipe_file = os.path.join(args.out, "recipe.json")
    if os.path.exists(recipe_file):
        stored = json.load(open(recipe_file))
        changed = {k: (stored["options"].get(k), v) for k, v in options.items() if stored["options"].get(k) != v}
        if changed:
            sys.exit(f"recipe.py: {recipe_file}: expected the options of the run that started this folder, got other values for "
                     + ", ".join(f"--{k.replace('_', '-')} ({a} → {b})" for k, (a, b) in changed.items()))
        if stored["data_sha256"] != sha:
            sys.exit(f"recipe.py: {data.DATA_DIR}: expected the data files of the run that started {args.out}, got other SHA-256")
    else:
        with open(recipe_file, "w") as f:
            json.dump({"options": options, "data_sha256": sha}, f, indent=2)
    args.device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    if args.device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    import diffusers
    import transformers
    run.log("recipe", "run", torch=torch.__version__, diffusers=diffusers.__version__, transformers=transformers.__version__,
            device=torch.cuda.get_device_name() if args.device.type == "cuda" else "cpu", threads=torch.get_num_threads(),
            stage_minutes=args.stage_minutes, options=options)
    for line in sha:
        run.log("recipe", "data", sha256=line.split()[0], file=line.split()[1])

    train_u8, train_y = data.load("train")
    test_u8, _ = data.load("test")
    if args.subset:
        train_u8, train_y, test_u8 = train_u8[:args.subset], train_y[:args.subset], test_u8[:args.subset]
    unit = lambda u8: torch.from_numpy(u8).to(args.device).float().div(255).unsqueeze(1)  # noqa: E731  [n, 1, 28, 28]
    train_x, test_x = unit(train_u8), unit(test_u8)
    train_y = torch.from_numpy(train_y).to(args.device)
    tok = components.tokenizer(os.path.join(args.out, "tokenizer-files"), args.length, prompts.words())

    def done(name):
        s = run.load(f"{name}.pt")
        return s is not None and s.get("done", False)

    try:
        if not done("vqvae"):
            stage_vqvae(run, args, train_x)
        if not done("codes"):
            stage_codes(run, args, train_x, test_x)
        if not done("transformer"):
            stage_transformer(run, args, tok, train_y)
        if run.out_of_time():
            raise Stop()
        stage_export(run, args, tok, sha)
    except Stop:
        run.log("recipe", "stopped", reason=f"--stage-minutes {args.stage_minutes}", next="run the same command again")
        return UNFINISHED
    if args.install:
        install(run, args)
    run.log("recipe", "finished", model=os.path.join(args.out, "model"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
