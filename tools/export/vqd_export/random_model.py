"""A random-weight VQ-Diffusion checkpoint built with diffusers' and transformers' own classes.

`build(config, seed)` makes the components of a preset (presets.py) and fills every parameter from
one seeded generator, in the order of `named_parameters()`:

    weight of ≥ 2 dims   N(0, 1/fan_in)  (fan_in = numel / shape[0]; embedding tables N(0, 1))
    1-dim weight (norms) 1 + N(0, 0.1²)
    bias                 N(0, 0.1²)
    null embeddings      N(0, 1/D)  (the size of a normalised prompt vector's entries)

then sets three scales so that a generation is not degenerate (the same ones as the real-golden
fixture's checkpoint): the cross-attention values × 2, so that the prompt matters; the transformer's
output layer so that the centred logits have a std of 1.5; the decoder's last convolution so that
decoded images have a std of 0.5. `save(...)` writes the checkpoint in diffusers' folder layout.
"""
import json
import os

import torch

from .clip_vocab import make_vocab, write_vocab_files

LOGIT_STD = 1.5
DECODED_STD = 0.5
CROSS_ATTENTION_GAIN = 2.0


def _redraw(module: torch.nn.Module, gen: torch.Generator) -> None:
    embeddings = {f"{name}.weight" for name, m in module.named_modules() if isinstance(m, torch.nn.Embedding)}
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.numel() == 0:
                continue
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            if name in embeddings:
                p.copy_(noise)
            elif p.dim() >= 2:
                p.copy_(noise / (p.numel() / p.shape[0]) ** 0.5)
            elif name.endswith("bias"):
                p.copy_(0.1 * noise)
            else:
                p.copy_(1 + 0.1 * noise)


def _random_context(batch: int, length: int, dim: int, gen: torch.Generator) -> torch.Tensor:
    """Prompt embeddings as the pipeline passes them: unit vectors, [B, L, D]."""
    e = torch.randn(batch, length, dim, generator=gen)
    return e / e.norm(dim=-1, keepdim=True)


@torch.no_grad()
def _calibrate_transformer(transformer, length: int, gen: torch.Generator) -> None:
    for block in transformer.transformer_blocks:
        if block.attn2 is not None:
            for p in block.attn2.to_v.parameters():
                p.mul_(CROSS_ATTENTION_GAIN)
    cfg = transformer.config
    K, N = cfg.num_vector_embeds, cfg.sample_size * cfg.sample_size
    tokens = torch.randint(0, K, (2, N), generator=gen)
    context = _random_context(2, length, cfg.cross_attention_dim, gen)
    seen = {}
    handle = transformer.out.register_forward_hook(lambda _m, _i, out: seen.setdefault("logits", out))
    transformer(tokens, encoder_hidden_states=context, timestep=torch.tensor(cfg.num_embeds_ada_norm // 2))
    handle.remove()
    logits = seen["logits"]                                                  # [B, N, K-1]
    std = (logits - logits.mean(dim=-1, keepdim=True)).std().item()
    transformer.out.weight.mul_(LOGIT_STD / std)
    transformer.out.bias.mul_(LOGIT_STD / std)


@torch.no_grad()
def _calibrate_decoder(vqvae, latent_size: int, gen: torch.Generator) -> None:
    codes = torch.randint(0, vqvae.config.num_vq_embeddings, (2, latent_size * latent_size), generator=gen)
    z = vqvae.quantize.get_codebook_entry(codes, (2, latent_size, latent_size, vqvae.config.vq_embed_dim))
    std = vqvae.decode(z, force_not_quantize=True).sample.std().item()
    vqvae.decoder.conv_out.weight.mul_(DECODED_STD / std)
    vqvae.decoder.conv_out.bias.mul_(DECODED_STD / std)


def build(config: dict, seed: int, workdir: str) -> dict:
    """The components of a checkpoint: tokenizer, text_encoder, transformer, vqvae, scheduler,
    learned_classifier_free_sampling_embeddings. `workdir` receives the tokenizer's vocabulary files."""
    from diffusers import Transformer2DModel, VQDiffusionScheduler, VQModel
    from diffusers.pipelines.deprecated.vq_diffusion import LearnedClassifierFreeSamplingEmbeddings
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    tok = config["tokenizer"]
    vocab, merges = make_vocab(tok["num_merges"], seed)
    text_cfg = config["text_encoder"]
    if text_cfg["vocab_size"] != len(vocab):
        raise ValueError(f"preset: text_encoder.vocab_size {text_cfg['vocab_size']} != the tokenizer's {len(vocab)} tokens")
    write_vocab_files(workdir, vocab, merges)
    L = tok["model_max_length"]
    tokenizer = CLIPTokenizer.from_pretrained(workdir, pad_token=tok["pad_token"], model_max_length=L)

    gen = torch.Generator().manual_seed(seed)
    text_encoder = CLIPTextModel(CLIPTextConfig(**text_cfg, bos_token_id=vocab["<|startoftext|>"],
                                                eos_token_id=vocab["<|endoftext|>"], pad_token_id=tokenizer.pad_token_id)).eval()
    _redraw(text_encoder, gen)
    transformer = Transformer2DModel(**config["transformer"]).eval()
    _redraw(transformer, gen)
    _calibrate_transformer(transformer, L, gen)
    vqvae = VQModel(**config["vqvae"]).eval()
    _redraw(vqvae, gen)
    _calibrate_decoder(vqvae, config["transformer"]["sample_size"], gen)
    D = text_cfg["hidden_size"]
    null = LearnedClassifierFreeSamplingEmbeddings(learnable=config["learnable"], hidden_size=D, length=L)
    if config["learnable"]:
        with torch.no_grad():
            null.embeddings.copy_(torch.randn(L, D, generator=gen) / D ** 0.5)
    return {
        "tokenizer": tokenizer,
        "text_encoder": text_encoder,
        "transformer": transformer,
        "vqvae": vqvae,
        "scheduler": VQDiffusionScheduler(**config["scheduler"]),
        "learned_classifier_free_sampling_embeddings": null,
    }


MODEL_INDEX = {
    "learned_classifier_free_sampling_embeddings": ["vq_diffusion", "LearnedClassifierFreeSamplingEmbeddings"],
    "scheduler": ["diffusers", "VQDiffusionScheduler"],
    "text_encoder": ["transformers", "CLIPTextModel"],
    "tokenizer": ["transformers", "CLIPTokenizer"],
    "transformer": ["diffusers", "Transformer2DModel"],
    "vqvae": ["diffusers", "VQModel"],
}


def save(components: dict, out: str, fmt: str, tokenizer_json: bool, vocab_dir: str) -> None:
    """Writes the checkpoint into `out` (diffusers' layout, as the Hub's ITHQ: model_index.json,
    one folder per component). `fmt`: "safetensors" or "bin" (pickled state dicts, as ITHQ's).
    The tokenizer is CLIP's slow files (vocab.json, merges.txt) + tokenizer_config.json, and
    tokenizer.json too when `tokenizer_json`."""
    import shutil

    import diffusers

    if fmt not in ("safetensors", "bin"):
        raise ValueError(f"--format: expected safetensors or bin, got {fmt!r}")
    safe = fmt == "safetensors"
    for name in ("transformer", "vqvae", "learned_classifier_free_sampling_embeddings"):
        components[name].save_pretrained(os.path.join(out, name), safe_serialization=safe)
    components["scheduler"].save_config(os.path.join(out, "scheduler"))
    text_dir = os.path.join(out, "text_encoder")
    if safe:
        components["text_encoder"].save_pretrained(text_dir)
    else:  # transformers 5 writes only safetensors; a .bin is the pickled state dict, as transformers 4 wrote it
        components["text_encoder"].config.save_pretrained(text_dir)
        torch.save(components["text_encoder"].state_dict(), os.path.join(text_dir, "pytorch_model.bin"))
    tok_dir = os.path.join(out, "tokenizer")
    components["tokenizer"].save_pretrained(tok_dir)
    for name in ("vocab.json", "merges.txt"):
        shutil.copyfile(os.path.join(vocab_dir, name), os.path.join(tok_dir, name))
    if not tokenizer_json:
        os.remove(os.path.join(tok_dir, "tokenizer.json"))
    index = {"_class_name": "VQDiffusionPipeline", "_diffusers_version": diffusers.__version__, **MODEL_INDEX}
    with open(os.path.join(out, "model_index.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")
