"""What the recipe's export stage (recipe.py) derives from a diffusers checkpoint besides the ONNX folder:

- `test_tokens`: the test set's tokens under the checkpoint's VQModel (float32, CPU, diffusers' own
  quantizer) → test-tokens.bin (models/fashion-mnist-eval/: the quality table's reconstruction row);
- `record_checks`: inputs and the checkpoint's PyTorch outputs → fashion-mnist-export.json
  (test/fixtures/: test/fashionMnist.model.test.ts replays them through the pipeline's own loading
  code). The evaluation classifier's entry is kept from the existing file (the classifier is not retrained).
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, HERE)
import components  # noqa: E402
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
def record_checks(tok, text, transformer, vq, codes, out=CHECKS, classifier_from=CHECKS):
    prompts = ["sneaker", "ankle boot"]
    ids = components.prompt_ids(tok, prompts)
    hidden = text(ids).last_hidden_state
    ctx = components.normalise(hidden)
    K, N = transformer.num_vector_embeds, transformer.num_latent_pixels
    gen = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, K, (2, N), generator=gen)
    tokens[0, : N // 2] = K - 1
    log_x0 = transformer(tokens, encoder_hidden_states=ctx, timestep=torch.tensor(37)).sample
    decoded = decode_codes(vq, codes[:2].long(), transformer.height)
    old = json.load(open(classifier_from)) if os.path.exists(classifier_from) else {}
    write_json(out, {
        "about": "inputs and PyTorch outputs of the diffusers checkpoint models/fashion-mnist-diffusers (tools/train/recipe.py, checks.py); "
                 "the classifier's entry is the evaluation classifier's, recorded when it was trained",
        "text_encoder": {"prompts": prompts, "input_ids": tensor_json(ids), "last_hidden_state": tensor_json(hidden)},
        "transformer": {"hidden_states": tensor_json(tokens), "encoder_hidden_states": tensor_json(ctx),
                        "timestep": 37, "sample": tensor_json(log_x0)},
        "vqvae_decoder": {"indices": tensor_json(codes[:2].long()), "sample": tensor_json(decoded)},
        "classifier": old.get("classifier")})
