"""What classifier-free guidance does to a checkpoint's x_0 prediction, measured without sampling.

    python tools/train/guidance_check.py --checkpoint CKPT [--checkpoint CKPT2 ...] [--images 1000]
                                         [--timesteps 10,30,50,70,90] [--guidance 5]

For each checkpoint: the test images' codes under the checkpoint's own VQModel (checks.test_tokens), a
fixed random subset of --images of them, noised to x_t ~ q(x_t | x_0) at each t (diffusion.q_sample,
fixed seeds, so every checkpoint of the same codes sees the same x_t), and the mean cross-entropy
-log p(x_0 | x_t) over the 49 positions of three predictions of the transformer:

- cond:   the class name's prompt, encoded and normalised as the pipeline does;
- uncond: the learned null embeddings;
- guided: diffusers' VQDiffusionPipeline guidance, uncond + s · (cond − uncond), renormalised with
  logsumexp over the codes (s = --guidance).

A model whose two branches agree up to the class's information has guided ≈ cond or below at small t.
Guided far above both means the difference cond − uncond is mostly noise, which guidance multiplies
by s: samples at that scale come out as fragments (docs/quality.md, the 12 000-step CPU run).
"""
import argparse
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import checks  # noqa: E402
import components  # noqa: E402
import data  # noqa: E402
import diffusion  # noqa: E402
from record_diffusers import load_pipeline  # noqa: E402
from schedule import Schedule  # noqa: E402


def cross_entropy(log_x0, x0):
    """Mean of -log p(x_0) over images and positions. log_x0: float32 [B, K1, N]; x0: long [B, N]."""
    return (-log_x0.gather(1, x0[:, None, :]).squeeze(1)).mean().item()


@torch.no_grad()
def check(checkpoint, images, timesteps, scale):
    pipe = load_pipeline(checkpoint)
    tok, text, transformer = pipe.tokenizer, pipe.text_encoder, pipe.transformer
    null = pipe.learned_classifier_free_sampling_embeddings.embeddings            # [L, D]
    codes = checks.test_tokens(pipe.vqvae.eval()).long()                            # [10000, N]
    _, labels = data.load("test")
    pick = torch.randperm(codes.shape[0], generator=torch.Generator().manual_seed(0))[:images]
    x0, y = codes[pick], torch.from_numpy(labels)[pick]
    e = components.normalise(text(components.prompt_ids(tok, data.CLASS_NAMES)).last_hidden_state)   # [10, L, D]
    sched = Schedule(transformer.config.num_vector_embeds, transformer.config.num_embeds_ada_norm)
    rows = []
    for t in timesteps:
        xt = diffusion.q_sample(x0, torch.full((images,), t), sched, torch.Generator().manual_seed(t))
        step = torch.tensor(t)
        cond = transformer(xt, encoder_hidden_states=e[y], timestep=step).sample       # [B, K1, N]
        uncond = transformer(xt, encoder_hidden_states=null[None].expand(images, -1, -1), timestep=step).sample
        guided = uncond + scale * (cond - uncond)
        guided = guided - torch.logsumexp(guided, dim=1, keepdim=True)
        rows.append((t, cross_entropy(cond, x0), cross_entropy(uncond, x0), cross_entropy(guided, x0)))
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", action="append", required=True, help="a diffusers checkpoint folder; repeat to compare")
    p.add_argument("--images", type=int, default=1000)
    p.add_argument("--timesteps", default="10,30,50,70,90")
    p.add_argument("--guidance", type=float, default=5.0)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    timesteps = [int(t) for t in args.timesteps.split(",")]
    if not 1 <= args.images <= 10000:
        raise SystemExit(f"--images: expected 1 to 10000 test images, got {args.images}")
    torch.set_num_threads(args.threads)
    print(f"x_0 cross-entropy on {args.images} test images: cond / uncond / guided (s = {args.guidance:g})")
    print("| checkpoint | " + " | ".join(f"t = {t}" for t in timesteps) + " |")
    print("| --- |" + " --- |" * len(timesteps))
    for checkpoint in args.checkpoint:
        rows = check(checkpoint, args.images, timesteps, args.guidance)
        print(f"| {checkpoint} | " + " | ".join(f"{c:.3f} / {u:.3f} / {g:.3f}" for _, c, u, g in rows) + " |", flush=True)


if __name__ == "__main__":
    main()
