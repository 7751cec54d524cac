"""The VQ-Diffusion transformer: tokens x_t, prompt embeddings, timestep → log p(x_0 | x_t).

As diffusers' Transformer2DModel with discrete input (docs/model-folder.md): token + position embeddings;
blocks of self-attention and cross-attention, each after an adaptive layer norm of the timestep, and
a feed-forward; a final norm and a linear map to the K-1 codes; log_softmax over the class axis.

hidden_states long [B, N] in [0, K); encoder_hidden_states float32 [B, L, D]; timestep long, a
scalar (the pipeline's) or [B] (training) → float32 [B, K-1, N].
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from layers import Attention, FeedForward


class AdaLayerNorm(nn.Module):
    """LayerNorm whose scale and shift come from the timestep: norm(h)·(1 + s) + b."""

    def __init__(self, dim, num_timesteps):
        super().__init__()
        self.emb = nn.Embedding(num_timesteps, dim)
        self.linear = nn.Linear(dim, 2 * dim)
        self.norm = nn.LayerNorm(dim)  # affine: opset 17 exports LayerNormalization without a scale badly

    def forward(self, h, t):
        e = self.linear(F.silu(self.emb(t)))                               # [B, 2d] or [2d]
        if e.dim() == 1:
            e = e[None]
        scale, shift = e.chunk(2, dim=-1)
        return self.norm(h) * (1 + scale[:, None]) + shift[:, None]


class Block(nn.Module):
    def __init__(self, dim, ctx_dim, heads, num_timesteps):
        super().__init__()
        self.norm1 = AdaLayerNorm(dim, num_timesteps)
        self.self_attn = Attention(dim, dim, heads)
        self.norm2 = AdaLayerNorm(dim, num_timesteps)
        self.cross_attn = Attention(dim, ctx_dim, heads)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim)

    def forward(self, h, ctx, t):
        x = self.norm1(h, t)
        h = h + self.self_attn(x, x)
        h = h + self.cross_attn(self.norm2(h, t), ctx)
        return h + self.ff(self.norm3(h))


class Transformer(nn.Module):
    def __init__(self, num_classes, num_pixels, ctx_dim, dim=192, heads=6, layers=4, num_timesteps=100):
        super().__init__()
        self.tok = nn.Embedding(num_classes, dim)
        self.pos = nn.Parameter(torch.randn(num_pixels, dim) * 0.02)
        self.blocks = nn.ModuleList([Block(dim, ctx_dim, heads, num_timesteps) for _ in range(layers)])
        self.norm_out = nn.LayerNorm(dim)
        self.out = nn.Linear(dim, num_classes - 1)

    def logits(self, hidden_states, encoder_hidden_states, timestep):
        h = self.tok(hidden_states) + self.pos
        for block in self.blocks:
            h = block(h, encoder_hidden_states, timestep)
        return self.out(self.norm_out(h))                                  # [B, N, K-1]

    def forward(self, hidden_states, encoder_hidden_states, timestep):
        logits = self.logits(hidden_states, encoder_hidden_states, timestep).float()
        return F.log_softmax(logits, dim=-1).permute(0, 2, 1)              # [B, K-1, N]
