"""Quality of a checkpoint under diffusers' own VQDiffusionPipeline, scored by the evaluation classifier.

    python tools/train/evaluate.py --checkpoint CKPT [--per-prompt 100] [--guidance 1,5] [--steps 100]

The same measure as bench/qualityFashion.mjs (which runs the TypeScript pipeline on the export): per
cell, --per-prompt samples of each of the ten prompts; the Fréchet distance between the classifier's
128 penultimate features (models/fashion-mnist-eval/classifier.onnx, run by onnxruntime) of the
samples and of the 10 000 test images, and the fraction classified as the prompt. diffusers' spacing
is the reference one (the first n of the T = 100 timesteps), so at 100 steps it is every timestep.
Where the checkpoint's prompts.json lists held-out prompts (recipe.py writes 30, never trained on),
one more row per guidance at the first --steps value: about as many samples, the fraction classified
as each prompt's class. This is what a training run can measure on its own machine (GPU); the table
in the README comes from the TypeScript bench.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import data  # noqa: E402
from record_diffusers import load_pipeline  # noqa: E402


def frechet(a, b):
    """Fréchet distance between Gaussians fitted to feature rows a [n, F] and b [m, F] (float64):
    |μ1 − μ2|² + tr(S1 + S2 − 2 (S1 S2)^½), the trace of the root as Σ √λ(S1^½ S2 S1^½)."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(s1)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    lam = np.linalg.eigvalsh(root1 @ s2 @ root1)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.clip(lam, 0, None)).sum())


class Classifier:
    def __init__(self, path):
        import onnxruntime as ort
        self.session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])

    def __call__(self, images):
        """images float32 [n, 1, 28, 28] in [0, 1] → (labels [n], features [n, 128] float64)."""
        labels, feats = [], []
        for i in range(0, images.shape[0], 1000):
            logits, f = self.session.run(None, {"images": np.ascontiguousarray(images[i:i + 1000], dtype=np.float32)})
            labels.append(logits.argmax(1))
            feats.append(f.astype(np.float64))
        return np.concatenate(labels), np.concatenate(feats)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--classifier", default=os.path.join(HERE, "..", "..", "models", "fashion-mnist-eval", "classifier.onnx"))
    p.add_argument("--per-prompt", type=int, default=100)
    p.add_argument("--guidance", default="1,5")
    p.add_argument("--steps", default="100")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args()
    t0 = time.time()
    pipe = load_pipeline(args.checkpoint).to(args.device)
    pipe.set_progress_bar_config(disable=True)
    classify = Classifier(args.classifier)
    test_u8, test_y = data.load("test")
    test_labels, test_feats = classify(test_u8[:, None].astype(np.float32) / 255)
    print(f"classifier accuracy on the test images {np.mean(test_labels == test_y):.4f}", flush=True)
    n = 10 * args.per_prompt
    train_u8, _ = data.load("train")
    _, train_feats = classify(train_u8[:n, None].astype(np.float32) / 255)
    print(f"FD of {n} training images {frechet(train_feats, test_feats):.2f}", flush=True)
    vq = pipe.vqvae
    with torch.no_grad():
        x = torch.from_numpy(test_u8).float().div(255).unsqueeze(1).to(args.device) * 2 - 1
        recon = torch.cat([vq.decode(vq.encode(x[i:i + 1000]).latents).sample for i in range(0, x.shape[0], 1000)])
    recon = (recon / 2 + 0.5).clamp(0, 1).cpu().numpy()
    rl, rf = classify(recon)
    print(f"VQ-VAE reconstructions of the test images: FD {frechet(rf, test_feats):.2f}, accuracy {np.mean(rl == test_y):.4f}", flush=True)
    for g in [float(v) for v in args.guidance.split(",")]:
        for steps in [int(v) for v in args.steps.split(",")]:
            started = time.time()
            gen = torch.Generator(device=args.device).manual_seed(int(1000 * g + steps))
            with torch.no_grad():
                out = pipe(data.CLASS_NAMES, num_inference_steps=steps, guidance_scale=g, num_images_per_prompt=args.per_prompt,
                           generator=gen, output_type="np")
            images = out.images.transpose(0, 3, 1, 2).astype(np.float32)   # [n, 1, 28, 28]
            labels, feats = classify(images)
            want = np.repeat(np.arange(10), args.per_prompt)
            print(f"guidance {g:g}, {steps} steps (diffusers, reference spacing): FD {frechet(feats, test_feats):.2f}, "
                  f"accuracy {np.mean(labels == want):.3f}, {n} samples ({time.time() - started:.0f} s)", flush=True)
    held_path = os.path.join(args.checkpoint, "prompts.json")
    held = []
    if os.path.exists(held_path):
        for c in json.load(open(held_path))["classes"]:
            held += [(p, data.CLASS_NAMES.index(c["name"])) for p in c.get("held_out", [])]
    if held:
        each = max(1, round(10 * args.per_prompt / len(held)))
        steps = int(args.steps.split(",")[0])
        for g in [float(v) for v in args.guidance.split(",")]:
            started = time.time()
            gen = torch.Generator(device=args.device).manual_seed(int(1000 * g + steps + 7))
            with torch.no_grad():
                out = pipe([p for p, _ in held], num_inference_steps=steps, guidance_scale=g, num_images_per_prompt=each,
                           generator=gen, output_type="np")
            labels, feats = classify(out.images.transpose(0, 3, 1, 2).astype(np.float32))
            want = np.repeat([label for _, label in held], each)
            print(f"guidance {g:g}, {steps} steps, {len(held)} held-out prompts (diffusers, reference spacing): FD {frechet(feats, test_feats):.2f}, "
                  f"accuracy {np.mean(labels == want):.3f}, {len(want)} samples ({time.time() - started:.0f} s)", flush=True)
    print(f"evaluation {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
