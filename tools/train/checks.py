"""The diffusers checkpoint → the bundled model folder, the evaluation files and the recorded checks.

    tools/export/.venv/bin/python tools/train/export_checkpoint.py --checkpoint models/fashion-mnist-diffusers \
        --out models/fashion-mnist --eval-out models/fashion-mnist-eval

1. tools/export/export.py writes the ONNX layout of docs/model-folder.md (the one exporter of the repo).
2. data.sha256 and the training log go beside it.
3. The test set's tokens under the checkpoint's VQModel (float32, CPU, diffusers' own quantizer) →
   models/fashion-mnist-eval/test-tokens.bin (the quality table's reconstruction row).
4. Inputs and the checkpoint's PyTorch outputs → test/fixtures/fashion-mnist-export.json, which
   test/fashionMnist.model.test.ts replays through the pipeline's own loading code. The evaluation
   classifier's entry is kept as it is (the classifier is not retrained).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, HERE)
import data  # noqa: E402

CHECKS = os.path.join(ROOT, "test", "fixtures", "fashion-mnist-export.json")


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def tensor_json(t):
    t = t.detach().cpu()
    flat = t.reshape(-1)
    values = [int(v) for v in flat.tolist()] if not t.is_floating_point() else [float(v) for v in flat.float().tolist()]
    return {"dims": list(t.shape), "data": values}


def load(checkpoint):
    """The checkpoint's components, loaded one by one with diffusers' and transformers' classes."""
    from diffusers import Transformer2DModel, VQModel
    from transformers import CLIPTextModel, CLIPTokenizer
    tok = CLIPTokenizer.from_pretrained(os.path.join(checkpoint, "tokenizer"))
    text = CLIPTextModel.from_pretrained(os.path.join(checkpoint, "text_encoder")).eval()
    transformer = Transformer2DModel.from_pretrained(checkpoint, subfolder="transformer").eval()
    vq = VQModel.from_pretrained(checkpoint, subfolder="vqvae").eval()
    return tok, text, transformer, vq


@torch.no_grad()
def decode_codes(vq, codes, grid):
    """codes long [B, N] → images [B, 1, 28, 28] about [-1, 1], as VQDiffusionPipeline decodes."""
    shape = (codes.shape[0], grid, grid, vq.config.vq_embed_dim)
    return vq.decode(vq.quantize.get_codebook_entry(codes, shape=shape), force_not_quantize=True).sample


@torch.no_grad()
def test_tokens(vq):
    """The test images' codes under the VQModel: uint8 [10000, N]."""
    images, _ = data.load("test")
    x = torch.from_numpy(images).float().div(255).unsqueeze(1) * 2 - 1
    out = []
    for i in range(0, x.shape[0], 500):
        h = vq.encode(x[i:i + 500]).latents
        _, _, (_, _, idx) = vq.quantize(h)
        out.append(idx.view(h.shape[0], -1))
    return torch.cat(out)


@torch.no_grad()
def record_checks(tok, text, transformer, vq, codes):
    prompts = ["sneaker", "ankle boot"]
    L = tok.model_max_length
    ids = tok(prompts, padding="max_length", max_length=L, truncation=True, return_tensors="pt").input_ids
    hidden = text(ids).last_hidden_state
    ctx = hidden / hidden.norm(dim=-1, keepdim=True)
    K, N = transformer.num_vector_embeds, transformer.num_latent_pixels
    gen = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, K, (2, N), generator=gen)
    tokens[0, : N // 2] = K - 1
    log_x0 = transformer(tokens, encoder_hidden_states=ctx, timestep=torch.tensor(37)).sample
    decoded = decode_codes(vq, codes[:2].long(), transformer.height)
    old = json.load(open(CHECKS)) if os.path.exists(CHECKS) else {}
    write_json(CHECKS, {
        "about": "inputs and PyTorch outputs of the diffusers checkpoint models/fashion-mnist-diffusers (tools/train/export_checkpoint.py); "
                 "the classifier's entry is the evaluation classifier's, recorded when it was trained",
        "text_encoder": {"prompts": prompts, "input_ids": tensor_json(ids), "last_hidden_state": tensor_json(hidden)},
        "transformer": {"hidden_states": tensor_json(tokens), "encoder_hidden_states": tensor_json(ctx),
                        "timestep": 37, "sample": tensor_json(log_x0)},
        "vqvae_decoder": {"indices": tensor_json(codes[:2].long()), "sample": tensor_json(decoded)},
        "classifier": old.get("classifier")})


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=os.path.join(ROOT, "models", "fashion-mnist-diffusers"))
    p.add_argument("--out", default=os.path.join(ROOT, "models", "fashion-mnist"))
    p.add_argument("--eval-out", default=os.path.join(ROOT, "models", "fashion-mnist-eval"))
    p.add_argument("--training-log", default=None, help="copied to OUT/training-log.txt (default: the checkpoint's)")
    args = p.parse_args()
    torch.set_num_threads(2)

    keep = {}
    for name in ("README.md",):  # the model card stays
        path = os.path.join(args.out, name)
        if os.path.exists(path):
            keep[name] = open(path).read()
    if os.path.isdir(args.out):
        shutil.rmtree(args.out)
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "export", "export.py"), "--model", args.checkpoint,
                    "--out", args.out], check=True)
    for name, text in keep.items():
        with open(os.path.join(args.out, name), "w") as f:
            f.write(text)
    shutil.copy(os.path.join(args.checkpoint, "data.sha256"), os.path.join(args.out, "data.sha256"))
    log_path = args.training_log or os.path.join(args.checkpoint, "training-log.txt")
    shutil.copy(log_path, os.path.join(args.out, "training-log.txt"))

    tok, text, transformer, vq = load(args.checkpoint)
    codes = test_tokens(vq)
    assert int(codes.max()) < 256, "test-tokens.bin stores uint8 codes"
    os.makedirs(args.eval_out, exist_ok=True)
    with open(os.path.join(args.eval_out, "test-tokens.bin"), "wb") as f:
        f.write(codes.to(torch.uint8).numpy().tobytes())
    meta_path = os.path.join(args.eval_out, "meta.json")
    meta = json.load(open(meta_path))
    meta["test_tokens"] = {"file": "test-tokens.bin", "dtype": "uint8", "dims": list(codes.shape),
                           "made_by": "tools/train/export_checkpoint.py from the checkpoint's VQModel"}
    write_json(meta_path, meta)
    record_checks(tok, text, transformer, vq, codes)
    sizes = {os.path.relpath(os.path.join(r, n), args.out): os.path.getsize(os.path.join(r, n))
             for r, _, files in os.walk(args.out) for n in files}
    print("exported " + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in sorted(sizes.items()) if v > 100000)
          + f"; total {sum(sizes.values()) / 1e6:.2f} MB; test tokens {np.unique(codes.numpy()).size} codes in use")


if __name__ == "__main__":
    main()
