"""The shapes of the random checkpoints that `random_checkpoint.py` builds (one dict per preset).

Each preset gives the keyword arguments of diffusers' and transformers' own classes:

    tokenizer      num_merges (M: 514 + M tokens, clip_vocab.py), model_max_length (L), pad_token
    text_encoder   transformers.CLIPTextConfig
    transformer    diffusers.Transformer2DModel (vector input: num_vector_embeds = K, sample_size² = N)
    vqvae          diffusers.VQModel
    scheduler      diffusers.VQDiffusionScheduler
    learnable      LearnedClassifierFreeSamplingEmbeddings(learnable, hidden_size = D, length = L)

`ithq` is microsoft/vq-diffusion-ithq's architecture as diffusers' conversion script builds it from
VQ-Diffusion's configs (configs/ithq.yaml, OUTPUT/pretrained_model/taming_dvae/config.yaml):
CLIP ViT-B/32's text model; a 36-layer transformer of 16 heads × 88 over 32 × 32 latents, K = 4097,
ada-norm over 100 timesteps; a VQ-VAE of 4096 codes (ch 64, ch_mult 1-2-4-8, attention at 32 × 32,
z 256, embeddings 128) for 256 × 256 images; learned null embeddings [77, 512]; pad token "!".
"""

_TEXT_COMMON = {"hidden_act": "quick_gelu", "layer_norm_eps": 1e-5, "attention_dropout": 0.0}
_TRANSFORMER_COMMON = {
    "attention_bias": True,
    "activation_fn": "geglu-approximate",
    "norm_num_groups": 32,
    "dropout": 0.0,
}

PRESETS = {
    "ithq": {
        "tokenizer": {"num_merges": 48894, "model_max_length": 77, "pad_token": "!"},
        "text_encoder": {**_TEXT_COMMON, "vocab_size": 49408, "hidden_size": 512, "intermediate_size": 2048,
                         "num_hidden_layers": 12, "num_attention_heads": 8, "max_position_embeddings": 77,
                         "projection_dim": 512},
        "transformer": {**_TRANSFORMER_COMMON, "num_attention_heads": 16, "attention_head_dim": 88, "num_layers": 36,
                        "cross_attention_dim": 512, "num_vector_embeds": 4097, "sample_size": 32,
                        "num_embeds_ada_norm": 100},
        "vqvae": {"in_channels": 3, "out_channels": 3,
                  "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "AttnDownEncoderBlock2D"],
                  "up_block_types": ["AttnUpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"],
                  "block_out_channels": [64, 128, 256, 512], "layers_per_block": 2, "latent_channels": 256,
                  "num_vq_embeddings": 4096, "vq_embed_dim": 128, "norm_num_groups": 32, "sample_size": 256},
        "scheduler": {"num_vec_classes": 4097, "num_train_timesteps": 100},
        "learnable": True,
    },
    # Other sizes than the real-golden checkpoint D, learnable null embeddings, ITHQ's pad token "!",
    # a non-default schedule, three VQ-VAE levels (20 × 20 images from 5 × 5 latents).
    "tiny-learnable": {
        "tokenizer": {"num_merges": 300, "model_max_length": 16, "pad_token": "!"},
        "text_encoder": {**_TEXT_COMMON, "vocab_size": 814, "hidden_size": 20, "intermediate_size": 40,
                         "num_hidden_layers": 2, "num_attention_heads": 4, "max_position_embeddings": 16,
                         "projection_dim": 20},
        "transformer": {**_TRANSFORMER_COMMON, "num_attention_heads": 2, "attention_head_dim": 6, "num_layers": 2,
                        "cross_attention_dim": 20, "num_vector_embeds": 33, "sample_size": 5,
                        "num_embeds_ada_norm": 24},
        "vqvae": {"in_channels": 3, "out_channels": 3,
                  "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "AttnDownEncoderBlock2D"],
                  "up_block_types": ["AttnUpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"],
                  "block_out_channels": [8, 12, 16], "layers_per_block": 1, "latent_channels": 6,
                  "num_vq_embeddings": 32, "vq_embed_dim": 5, "norm_num_groups": 4, "sample_size": 20},
        "scheduler": {"num_vec_classes": 33, "num_train_timesteps": 24, "alpha_cum_start": 0.9995,
                      "alpha_cum_end": 1e-4, "gamma_cum_start": 1e-5, "gamma_cum_end": 0.9995},
        "learnable": True,
    },
    # D's sizes with non-learnable null embeddings and CLIP's default pad token (the end token).
    "tiny": {
        "tokenizer": {"num_merges": 200, "model_max_length": 12, "pad_token": "<|endoftext|>"},
        "text_encoder": {**_TEXT_COMMON, "vocab_size": 714, "hidden_size": 24, "intermediate_size": 56,
                         "num_hidden_layers": 2, "num_attention_heads": 3, "max_position_embeddings": 12,
                         "projection_dim": 24},
        "transformer": {**_TRANSFORMER_COMMON, "num_attention_heads": 3, "attention_head_dim": 8, "num_layers": 1,
                        "cross_attention_dim": 24, "num_vector_embeds": 25, "sample_size": 4,
                        "num_embeds_ada_norm": 30},
        "vqvae": {"in_channels": 3, "out_channels": 3,
                  "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "AttnDownEncoderBlock2D"],
                  "up_block_types": ["AttnUpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"],
                  "block_out_channels": [8, 8, 16, 16], "layers_per_block": 2, "latent_channels": 4,
                  "num_vq_embeddings": 24, "vq_embed_dim": 3, "norm_num_groups": 4, "sample_size": 32},
        "scheduler": {"num_vec_classes": 25, "num_train_timesteps": 30},
        "learnable": False,
    },
}


def preset(name: str) -> dict:
    """The preset's configuration; a clear error for an unknown name."""
    if name not in PRESETS:
        raise ValueError(f"--preset: expected one of {', '.join(sorted(PRESETS))}, got {name!r}")
    return PRESETS[name]
