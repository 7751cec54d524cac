"""The model's components, all diffusers' and transformers' own classes, built from recipe.py's options.

- tokenizer: CLIPTokenizer over clip_vocab's vocabulary of the prompts' words, L = --length, padded with <|endoftext|>
- text_encoder: CLIPTextModel (D = --text-dim)                       input_ids [B, L] → [B, L, D]
- transformer: Transformer2DModel, vector input, ada-norm          x_t long [B, N], [B, L, D], t → [B, K-1, N]
- vqvae: VQModel, 28×28 grey ↔ 7×7 codes of a --codes codebook
- learned_classifier_free_sampling_embeddings: learnable [L, D]
- scheduler: VQDiffusionScheduler, K = --codes + 1, T = 100
"""
import math

import torch
from diffusers import Transformer2DModel, VQDiffusionScheduler, VQModel
from diffusers.models.normalization import AdaLayerNorm
from diffusers.pipelines.deprecated.vq_diffusion.pipeline_vq_diffusion import LearnedClassifierFreeSamplingEmbeddings
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

import clip_vocab

NUM_TRAIN_TIMESTEPS = 100


def tokenizer(folder, length, words):
    """CLIPTokenizer whose vocabulary makes each of `words` one token (files written into `folder`)."""
    vocab_path, merges_path = clip_vocab.write(folder, words)
    return CLIPTokenizer(vocab_path, merges_path, model_max_length=length, pad_token=clip_vocab.EOS,
                         bos_token=clip_vocab.BOS, eos_token=clip_vocab.EOS, unk_token=clip_vocab.EOS)


def prompt_ids(tok, prompts):
    """input_ids long [P, L] of `prompts` (P strings), padded to L = tok.model_max_length with the end token.

    Equal to VQDiffusionPipeline._encode_prompt's ids for a prompt that fits L ids (prompts.check makes sure
    every trained and held-out prompt does). Past L they differ: the pipeline keeps the first L ids, where
    truncation here keeps the end token last."""
    return tok(list(prompts), padding="max_length", max_length=tok.model_max_length, truncation=True,
               return_tensors="pt").input_ids


def normalise(hidden):
    """The pipeline's normalisation of the text encoder's last_hidden_state [B, L, D]: each of the L vectors
    divided by its L2 norm over D (VQDiffusionPipeline._encode_prompt). Same shape and dtype."""
    return hidden / hidden.norm(dim=-1, keepdim=True)


def text_encoder(tok, args):
    config = CLIPTextConfig(vocab_size=len(tok), hidden_size=args.text_dim, intermediate_size=4 * args.text_dim,
                            num_hidden_layers=args.text_layers, num_attention_heads=args.heads,
                            max_position_embeddings=args.length, hidden_act="quick_gelu",
                            projection_dim=args.text_dim, bos_token_id=tok.bos_token_id,
                            eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    return CLIPTextModel(config)


def transformer(args):
    return Transformer2DModel(num_attention_heads=args.heads, attention_head_dim=args.dim // args.heads,
                              num_layers=args.layers, cross_attention_dim=args.text_dim, sample_size=args.grid,
                              num_vector_embeds=args.codes + 1, num_embeds_ada_norm=NUM_TRAIN_TIMESTEPS,
                              norm_type="ada_norm", activation_fn="gelu", attention_bias=True)


def vqvae(args):
    channels = tuple(int(c) for c in args.vq_channels.split(","))
    return VQModel(in_channels=1, out_channels=1, sample_size=28,
                   down_block_types=("DownEncoderBlock2D",) * len(channels),
                   up_block_types=("UpDecoderBlock2D",) * len(channels),
                   block_out_channels=channels, layers_per_block=args.vq_layers, latent_channels=args.code_dim,
                   vq_embed_dim=args.code_dim, num_vq_embeddings=args.codes, norm_num_groups=args.vq_groups)


def null_embeddings(args, generator):
    """LearnedClassifierFreeSamplingEmbeddings, learnable, started at N(0, 1/D) (diffusers starts at zeros)."""
    module = LearnedClassifierFreeSamplingEmbeddings(learnable=True, hidden_size=args.text_dim, length=args.length)
    with torch.no_grad():
        module.embeddings.copy_(torch.randn(args.length, args.text_dim, generator=generator) / math.sqrt(args.text_dim))
    return module


def scheduler(args):
    return VQDiffusionScheduler(num_vec_classes=args.codes + 1, num_train_timesteps=NUM_TRAIN_TIMESTEPS)


_ada_forward = AdaLayerNorm.forward


def _ada_forward_batched(self, x, timestep=None, temb=None):
    """AdaLayerNorm with one timestep per image (training draws t per image).

    diffusers' forward takes one timestep for the batch (its chunk over axis 0 splits [2d] into scale
    and shift); for t long [B] this takes the same scale and shift per image: norm(x)·(1 + s_b) + b_b.
    With a scalar t it is diffusers' own forward, so inference is unchanged.
    """
    if self.emb is None or timestep is None or timestep.dim() == 0 or self.chunk_dim != 0:
        return _ada_forward(self, x, timestep, temb)
    scale, shift = self.linear(self.silu(self.emb(timestep))).chunk(2, dim=-1)  # [B, d] each
    return self.norm(x) * (1 + scale[:, None]) + shift[:, None]


def allow_per_image_timesteps():
    """Installs _ada_forward_batched for training; the saved weights are the plain module's."""
    AdaLayerNorm.forward = _ada_forward_batched
