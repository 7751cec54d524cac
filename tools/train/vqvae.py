"""A small VQ-VAE: 28×28 grey images in [-1, 1] → a 7×7 grid of codes → images.

Encoder: [B, 1, 28, 28] → [B, E, 7, 7] (two stride-2 convolutions); codebook: C codes of E dims,
updated by exponential moving averages with restarts of unused codes; decoder: codes [B, 49] →
[B, 1, 28, 28] by nearest-neighbour upsampling and convolutions (ConvTranspose2d's backward is slow
on CPU in torch 1.13).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class ResBlock(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 1)

    def forward(self, x):
        return x + self.conv2(F.silu(self.conv1(F.silu(x))))


class Encoder(nn.Module):
    def __init__(self, ch=64, embed_dim=32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, ch, 3, padding=1), nn.SiLU(),
            nn.Conv2d(ch, 2 * ch, 4, stride=2, padding=1), nn.SiLU(),      # 14×14
            nn.Conv2d(2 * ch, 2 * ch, 4, stride=2, padding=1),             # 7×7
            ResBlock(2 * ch), ResBlock(2 * ch), nn.SiLU(),
            nn.Conv2d(2 * ch, embed_dim, 1))

    def forward(self, x):
        return self.net(x)


class Decoder(nn.Module):
    def __init__(self, ch=64, embed_dim=32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(embed_dim, 2 * ch, 3, padding=1),
            ResBlock(2 * ch), ResBlock(2 * ch), nn.SiLU(),
            nn.Upsample(scale_factor=2, mode="nearest"),                   # 14×14
            nn.Conv2d(2 * ch, ch, 3, padding=1), nn.SiLU(),
            nn.Upsample(scale_factor=2, mode="nearest"),                   # 28×28
            nn.Conv2d(ch, ch, 3, padding=1), nn.SiLU(),
            nn.Conv2d(ch, 1, 3, padding=1))

    def forward(self, z):
        return self.net(z)


class Codebook(nn.Module):
    def __init__(self, num_codes=256, embed_dim=32, decay=0.99):
        super().__init__()
        self.decay = decay
        self.register_buffer("embed", torch.randn(num_codes, embed_dim))
        self.register_buffer("cluster_size", torch.zeros(num_codes))
        self.register_buffer("embed_sum", self.embed.clone())

    def nearest(self, flat):
        """flat: [M, E] → code indices long [M]."""
        d = (flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.embed.t()
             + self.embed.pow(2).sum(1)[None])
        return d.argmin(1)

    @torch.no_grad()
    def update(self, flat, idx, generator):
        onehot = F.one_hot(idx, self.embed.shape[0]).float()
        self.cluster_size.mul_(self.decay).add_(onehot.sum(0), alpha=1 - self.decay)
        self.embed_sum.mul_(self.decay).add_(onehot.t() @ flat, alpha=1 - self.decay)
        n = self.cluster_size.sum()
        size = (self.cluster_size + 1e-5) / (n + self.embed.shape[0] * 1e-5) * n
        self.embed.copy_(self.embed_sum / size[:, None])
        dead = self.cluster_size < 1e-2
        if dead.any():  # restart unused codes on encoder outputs of this batch
            pick = torch.randint(0, flat.shape[0], (int(dead.sum()),), generator=generator)
            self.embed[dead] = flat[pick]
            self.embed_sum[dead] = flat[pick]
            self.cluster_size[dead] = 1.0


class VQVAE(nn.Module):
    def __init__(self, num_codes=256, embed_dim=32, ch=64):
        super().__init__()
        self.encoder = Encoder(ch, embed_dim)
        self.decoder = Decoder(ch, embed_dim)
        self.codebook = Codebook(num_codes, embed_dim)
        self.grid = 7

    def encode(self, x):
        """x: [B, 1, 28, 28] in [-1, 1] → (codes long [B, 49], z float32 [B, 49, E])."""
        z = self.encoder(x).float().permute(0, 2, 3, 1).reshape(x.shape[0], -1, self.codebook.embed.shape[1])
        idx = self.codebook.nearest(z.reshape(-1, z.shape[-1]))
        return idx.view(x.shape[0], -1), z

    def decode_codes(self, codes):
        """codes: long [B, 49] → images [B, 1, 28, 28], about [-1, 1]."""
        B = codes.shape[0]
        z = self.codebook.embed[codes]                                     # [B, 49, E]
        z = z.reshape(B, self.grid, self.grid, -1).permute(0, 3, 1, 2)
        return self.decoder(z)


class DecoderExport(nn.Module):
    """vqvae_decoder/model.onnx: indices int64 [B, N] → sample float32 [B, 1, 28, 28]."""

    def __init__(self, vqvae):
        super().__init__()
        self.vqvae = vqvae

    def forward(self, indices):
        return self.vqvae.decode_codes(indices)
