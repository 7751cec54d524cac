"""Attention and feed-forward blocks shared by the text encoder and the transformer.

Written with plain matrix products (no nn.MultiheadAttention: its eval fast path fails under CPU
bfloat16 autocast in torch 1.13, and plain ops export to ONNX as they are).
"""
import torch.nn as nn
import torch.nn.functional as F


class Attention(nn.Module):
    """x [B, N, d] attends to ctx [B, M, c] → [B, N, d]."""

    def __init__(self, dim, ctx_dim, heads):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(ctx_dim, dim)
        self.v = nn.Linear(ctx_dim, dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x, ctx):
        B, N, d = x.shape
        M = ctx.shape[1]
        h = self.heads
        q = self.q(x).reshape(B, N, h, d // h).transpose(1, 2)             # [B, h, N, d/h]
        k = self.k(ctx).reshape(B, M, h, d // h).transpose(1, 2)           # [B, h, M, d/h]
        v = self.v(ctx).reshape(B, M, h, d // h).transpose(1, 2)
        w = (q @ k.transpose(-1, -2)) * (d // h) ** -0.5                   # [B, h, N, M]
        o = w.softmax(-1) @ v                                              # [B, h, N, d/h]
        return self.out(o.transpose(1, 2).reshape(B, N, d))


class FeedForward(nn.Module):
    def __init__(self, dim, mult=4):
        super().__init__()
        self.fc1 = nn.Linear(dim, mult * dim)
        self.fc2 = nn.Linear(mult * dim, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))
