"""Warm start of the diffusers recipe from the model `train.py` made (`--init-from`).

`train.py`'s model (models/fashion-mnist-eval/pytorch-weights.pt: our own PyTorch modules, 6000
transformer steps) is better than what `train_diffusers.py` reaches from scratch in one session on a
2-core CPU. Its parts map onto diffusers' and transformers' classes as follows:

- transformer → `Transformer2DModel` (vector input, ada-norm): the same blocks, copied. Two
  differences, both handled here:
  - train.py's `AdaLayerNorm` has an affine LayerNorm, diffusers' has none. The affine part folds
    into the timestep's linear map exactly: with u = silu(emb(t)), scale = A_s u + a_s and
    shift = A_b u + a_b, (norm(h)·γ + β)(1 + scale) + shift = norm(h)(1 + scale') + shift' with
      scale' = γ∘(1 + scale) − 1 = diag(γ) A_s u + (γ∘(1 + a_s) − 1),
      shift' = β∘(1 + scale) + shift = (diag(β) A_s + A_b) u + (β∘(1 + a_s) + a_b).
  - train.py's position embedding is a free table P [N, d]; diffusers' `ImagePositionalEmbeddings`
    is H[i] + W[j] (row i, column j of the 7×7 grid). The copy takes the least-squares fit
    (row means + column means − the grand mean); the residual is logged and fine-tuning absorbs it.
- learned null embeddings [L, D] → `LearnedClassifierFreeSamplingEmbeddings`, copied.
- text encoder → `CLIPTextModel`: not copyable (CLIP's attention is causal and its tokenizer splits
  words differently), so the CLIP encoder is fitted to train.py's L2-normalised embeddings of the ten
  prompts. The transformer's cross-attention is a function of the set of the L context vectors (no
  position enters it), so CLIP position k ≥ 1 is fitted to train.py's position k − 1 and CLIP's
  <|startoftext|> (the same for every prompt) to train.py's last.
- VQ-VAE → `VQModel`: not copyable (other layers), so `train_diffusers.distill_vqvae` distils it:
  the codebook is train.py's, frozen; the encoder (with `quant_conv`) regresses train.py's encoder
  outputs, and the decoder (with `post_quant_conv`) reconstructs the images from train.py's codes.
  The tokens keep their meaning, which is what lets the transformer's weights carry over.

Then `train_diffusers.py` fine-tunes text encoder, transformer and null embeddings together with its
usual objective.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
from classifier import Classifier  # noqa: E402
from text_encoder import TextEncoder, encode  # noqa: E402
from transformer import Transformer  # noqa: E402
from vqvae import VQVAE  # noqa: E402


class Shipped:
    """train.py's model from its pytorch-weights.pt: .vqvae, .text, .transformer, .classifier (eval
    mode, CPU), .null float32 [L, D], .vocab {word: id}, .args (train.py's options as run)."""

    def __init__(self, path):
        saved = torch.load(path, weights_only=False, map_location="cpu")
        a = saved["args"]
        self.args, self.vocab = a, saved["vocab"]
        self.vqvae = VQVAE(num_codes=a["codes"], embed_dim=a["code_dim"], ch=a["vq_ch"])
        self.vqvae.load_state_dict(saved["vqvae"])
        self.text = TextEncoder(len(self.vocab), a["length"], dim=a["text_dim"])
        self.text.load_state_dict(saved["text_encoder"])
        self.transformer = Transformer(a["codes"] + 1, 49, a["text_dim"], dim=a["dim"], heads=a["heads"], layers=a["layers"])
        self.transformer.load_state_dict(saved["transformer"])
        self.null = torch.as_tensor(saved["null_embeddings"]).float()
        self.classifier = Classifier()
        self.classifier.load_state_dict(saved["classifier"])
        for m in (self.vqvae, self.text, self.transformer, self.classifier):
            m.eval()

    def check_sizes(self, args):
        """Errors unless train_diffusers.py's options give the shapes these weights have."""
        a = self.args
        want = {"codes": a["codes"], "code_dim": a["code_dim"], "dim": a["dim"], "heads": a["heads"],
                "layers": a["layers"], "text_dim": a["text_dim"], "length": a["length"], "grid": 7}
        wrong = {k: (getattr(args, k), v) for k, v in want.items() if getattr(args, k) != v}
        if wrong:
            raise ValueError("--init-from: these options must match the weights' shapes: "
                             + ", ".join(f"--{k.replace('_', '-')} is {got}, the weights have {v}" for k, (got, v) in wrong.items()))

    @torch.no_grad()
    def codes(self, images):
        """Its VQ-VAE's codes of images float [n, 1, 28, 28] in [0, 1]: long [n, 49]."""
        vq = self.vqvae.to(images.device)
        return torch.cat([vq.encode(images[i:i + 1000] * 2 - 1)[0] for i in range(0, images.shape[0], 1000)])

    @torch.no_grad()
    def prompt_embeddings(self):
        """train.py's normalised context of the ten class prompts: float32 [10, L, D]."""
        ids = torch.tensor([encode(name, self.vocab, self.args["length"]) for name in data.CLASS_NAMES])
        e = self.text(ids)
        return e / e.norm(dim=-1, keepdim=True)


@torch.no_grad()
def load_transformer(model, shipped):
    """Copies train.py's transformer into diffusers' Transformer2DModel `model` (module doc: exact
    but for the position embedding). Returns the position fit's relative residual ‖P − fit‖ / ‖P‖."""
    src = shipped.transformer.state_dict()
    dst = {}
    P = src["pos"].view(7, 7, -1)                                           # [H, W, d]
    grand = P.mean((0, 1))
    dst["latent_image_embedding.emb.weight"] = src["tok.weight"]
    dst["latent_image_embedding.height_emb.weight"] = P.mean(1) - grand / 2
    dst["latent_image_embedding.width_emb.weight"] = P.mean(0) - grand / 2
    fit = dst["latent_image_embedding.height_emb.weight"][:, None] + dst["latent_image_embedding.width_emb.weight"][None]
    residual = ((P - fit).norm() / P.norm()).item()
    d = src["tok.weight"].shape[1]
    for i in range(len(shipped.transformer.blocks)):
        s, o = f"blocks.{i}.", f"transformer_blocks.{i}."
        for norm in ("norm1", "norm2"):
            A, a = src[s + norm + ".linear.weight"], src[s + norm + ".linear.bias"]      # [2d, d], [2d]
            g, b = src[s + norm + ".norm.weight"], src[s + norm + ".norm.bias"]          # [d]
            A_s, A_b, a_s, a_b = A[:d], A[d:], a[:d], a[d:]
            dst[o + norm + ".emb.weight"] = src[s + norm + ".emb.weight"]
            dst[o + norm + ".linear.weight"] = torch.cat([g[:, None] * A_s, b[:, None] * A_s + A_b])
            dst[o + norm + ".linear.bias"] = torch.cat([g * (1 + a_s) - 1, b * (1 + a_s) + a_b])
        for mine, theirs in (("self_attn", "attn1"), ("cross_attn", "attn2")):
            for x, y in (("q", "to_q"), ("k", "to_k"), ("v", "to_v"), ("out", "to_out.0")):
                for w in ("weight", "bias"):
                    dst[f"{o}{theirs}.{y}.{w}"] = src[f"{s}{mine}.{x}.{w}"]
        for w in ("weight", "bias"):
            dst[f"{o}norm3.{w}"] = src[f"{s}norm3.{w}"]
            dst[f"{o}ff.net.0.proj.{w}"] = src[f"{s}ff.fc1.{w}"]
            dst[f"{o}ff.net.2.{w}"] = src[f"{s}ff.fc2.{w}"]
    for w in ("weight", "bias"):
        dst[f"norm_out.{w}"] = src[f"norm_out.{w}"]
        dst[f"out.{w}"] = src[f"out.{w}"]
    model.load_state_dict(dst, strict=True)
    return residual


@torch.no_grad()
def transformer_agreement(model, shipped, gen):
    """max |Δ log p(x_0 | x_t)| between `model` and train.py's transformer with its position table
    replaced by the separable fit (so it checks every other copied weight), on random inputs."""
    a = shipped.args
    ref = Transformer(a["codes"] + 1, 49, a["text_dim"], dim=a["dim"], heads=a["heads"], layers=a["layers"])
    ref.load_state_dict(shipped.transformer.state_dict())
    emb = model.latent_image_embedding
    ref.pos.copy_((emb.height_emb.weight[:, None] + emb.width_emb.weight[None]).reshape(49, -1))
    ref.eval()
    x = torch.randint(0, a["codes"] + 1, (4, 49), generator=gen)
    ctx = torch.randn(4, a["length"], a["text_dim"], generator=gen)
    worst = 0.0
    for t in (0, 37, 99):
        tt = torch.tensor(t)
        mine = model(x, encoder_hidden_states=ctx, timestep=tt).sample
        worst = max(worst, (mine - ref(x, ctx, tt)).abs().max().item())
    return worst


def fit_text_encoder(text, tok, shipped, steps, log):
    """Fits CLIPTextModel `text` so that its normalised context of each class prompt is train.py's
    (module doc: CLIP position k ≥ 1 ↔ train.py's k − 1, position 0 ↔ train.py's last)."""
    L = shipped.args["length"]
    target = shipped.prompt_embeddings()                                    # [10, L, D]
    target = torch.cat([target[:, L - 1:], target[:, :L - 1]], dim=1)      # CLIP's order
    ids = tok(data.CLASS_NAMES, padding="max_length", max_length=L, truncation=True, return_tensors="pt").input_ids
    opt = torch.optim.Adam(text.parameters(), lr=3e-3)
    for step in range(steps):
        e = text(ids.to(next(text.parameters()).device)).last_hidden_state.float()
        e = e / e.norm(dim=-1, keepdim=True)
        loss = (e - target.to(e.device)).pow(2).sum(-1).mean()             # 2 − 2·cos, mean over vectors
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == steps - 1:
            log(f"text encoder fit step {step:4d}  mean squared distance of unit vectors {loss.item():.5f} "
                f"(CLIP's <|startoftext|> is one vector for every prompt, so this cannot reach 0)")
    return text
