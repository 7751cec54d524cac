"""vqvae_decoder/model.onnx: indices int64 [B, N] → sample float32 [B, C, H, W], about [-1, 1]:
`vqvae.decode(vqvae.quantize.get_codebook_entry(indices, (B, h, w, vq_embed_dim)),
force_not_quantize=True).sample`, as diffusers' VQDiffusionPipeline decodes (h = w = the
transformer's sample_size)."""
import torch

from .component import Component, Tolerance

TOLERANCE = Tolerance(atol=1e-3, rtol=1e-4)


class VQVAEDecoderForOnnx(torch.nn.Module):
    def __init__(self, vqvae, height: int, width: int):
        super().__init__()
        self.vqvae, self.height, self.width = vqvae, height, width

    def forward(self, indices):
        shape = (indices.shape[0], self.height, self.width, self.vqvae.config.vq_embed_dim)
        latents = self.vqvae.quantize.get_codebook_entry(indices, shape)
        return self.vqvae.decode(latents, force_not_quantize=True).sample


def vqvae_decoder_component(vqvae, height: int, width: int) -> Component:
    """Random inputs: codes uniform in [0, num_vq_embeddings)."""
    codes = vqvae.config.num_vq_embeddings

    def random_inputs(batch: int, gen: torch.Generator):
        return (torch.randint(0, codes, (batch, height * width), generator=gen),)

    return Component("vqvae_decoder", VQVAEDecoderForOnnx(vqvae, height, width).eval(), ["indices"], "sample",
                     random_inputs, TOLERANCE)
