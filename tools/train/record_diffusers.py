"""Records what diffusers' own VQDiffusionPipeline gives on the checkpoint: test/fixtures/fashion-mnist-diffusers.json.

    tools/python/.venv/bin/python tools/train/record_diffusers.py [--checkpoint models/fashion-mnist-diffusers]

The pipeline comes from `VQDiffusionPipeline.from_pretrained(checkpoint)`, the line a diffusers user
writes. At this diffusers commit that call fails on the `learned_classifier_free_sampling_embeddings`
component, even when the component is passed in: the loader looks the class up in the top-level `diffusers`
module, which stopped exporting it when the pipeline moved to `pipelines/deprecated`. Registering the class
there first (one line, `load_pipeline`) is the whole workaround; README.md shows it. Each case runs
diffusers' unmodified `__call__` with `torch.Generator().manual_seed(seed)` (CPU, one thread) and
records the prompt ids, the tokens after every step (callback_steps=1) and the images as uint8
(`round(255·x)`, diffusers' `numpy_to_pil`); and, under "tokenizer", the checkpoint's CLIPTokenizer ids for
TOKENIZER_PROMPTS, which the tokenizer tests compare with. test/fashionMnist.diffusers.test.ts replays every case
through the TypeScript pipeline on the export (models/fashion-mnist).
"""
import argparse
import json
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
OUT = os.path.join(ROOT, "test", "fixtures", "fashion-mnist-diffusers.json")

CASES = [
    # name, prompt, seed, images per prompt, steps, guidance, truncation
    ("ankle_boot_g5", "ankle boot", 0, 1, 100, 5.0, 1.0),
    ("two_prompts_unguided", ["sneaker", "bag"], 1, 2, 25, 1.0, 1.0),
    ("t_shirt_g3_trunc09", "t-shirt", 2, 1, 10, 3.0, 0.9),
    ("unknown_words", "a red SNEAKER", 3, 1, 50, 5.0, 1.0),
]

# Prompts whose ids the TypeScript tokenizer tests compare with: class names, words outside the vocabulary
# (byte-level pieces), case, punctuation, and prompts over L (diffusers' cut text).
TOKENIZER_PROMPTS = [
    "ankle boot", "sneaker", "bag", "t-shirt", "a red SNEAKER", "Sneakers", "[UNK] bag", "red car",
    "a red sneaker with laces", "red sneaker, size 42", "one two three", "one two three four five six seven eight nine",
]


def record_tokenizer(tok):
    """What diffusers' `_encode_prompt` does with each prompt: the ids padded to L without truncation, the
    first L of them (what the text encoder sees), and, over L, the cut text as `batch_decode` gives it."""
    L = tok.model_max_length
    out = []
    for prompt in TOKENIZER_PROMPTS:
        full = tok(prompt, padding="max_length", max_length=L).input_ids
        out.append({"prompt": prompt, "tokens": len(full), "input_ids": full[:L],
                    "removed_text": tok.batch_decode([full[L:]])[0] if len(full) > L else None})
    return {"model_max_length": L, "bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id,
            "pad_token_id": tok.pad_token_id, "prompts": out}


def load_pipeline(checkpoint):
    """diffusers' VQDiffusionPipeline.from_pretrained on the checkpoint (the class registered first, above)."""
    import diffusers
    from diffusers.pipelines.deprecated.vq_diffusion.pipeline_vq_diffusion import LearnedClassifierFreeSamplingEmbeddings
    diffusers.LearnedClassifierFreeSamplingEmbeddings = LearnedClassifierFreeSamplingEmbeddings
    return diffusers.VQDiffusionPipeline.from_pretrained(checkpoint)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=os.path.join(ROOT, "models", "fashion-mnist-diffusers"))
    p.add_argument("--out", default=OUT)
    args = p.parse_args()
    torch.set_num_threads(1)
    pipe = load_pipeline(args.checkpoint)
    pipe.set_progress_bar_config(disable=True)
    L = pipe.tokenizer.model_max_length
    cases = []
    for name, prompt, seed, per_prompt, steps, guidance, truncation in CASES:
        after = []
        ids = pipe.tokenizer(prompt, padding="max_length", max_length=L, return_tensors="pt").input_ids[:, :L]
        out = pipe(prompt, num_inference_steps=steps, guidance_scale=guidance, truncation_rate=truncation,
                   num_images_per_prompt=per_prompt, generator=torch.Generator().manual_seed(seed), output_type="np",
                   callback=lambda i, t, sample: after.append(sample.tolist()), callback_steps=1)
        images = np.round(out.images * 255).astype(np.uint8)             # [B, 28, 28, 1]
        cases.append({"name": name, "prompt": prompt, "seed": seed, "num_images_per_prompt": per_prompt,
                      "num_inference_steps": steps, "guidance_scale": guidance, "truncation_rate": truncation,
                      "input_ids": ids.tolist(), "timesteps": pipe.scheduler.timesteps.tolist(),
                      "tokens": after[-1], "tokens_after_each_step": after,
                      "images_uint8": images[..., 0].tolist()})
        print(f"{name}: ids {ids.tolist()}, tokens[0][:8] {after[-1][0][:8]}")
    import diffusers
    import transformers
    with open(args.out, "w") as f:
        json.dump({
            "about": "diffusers' VQDiffusionPipeline.__call__, unmodified, on models/fashion-mnist-diffusers (tools/train/record_diffusers.py)",
            "versions": {"diffusers": diffusers.__version__, "transformers": transformers.__version__, "torch": torch.__version__},
            "generator": "torch.Generator() (CPU, mt19937), manual_seed(seed), passed as generator= to the pipeline",
            "layout": {"input_ids": "[P, L] int64", "tokens": "[B, N] final latents, B = P · num_images_per_prompt, prompt-major",
                       "tokens_after_each_step": "[steps][B][N]", "images_uint8": "[B, 28, 28] grey, round(255 · x)"},
            "cases": cases, "tokenizer": record_tokenizer(pipe.tokenizer)}, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
