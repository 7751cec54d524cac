"""transformer/model.onnx: hidden_states int64 [B, N], encoder_hidden_states float32 [B, L, D],
timestep int64 [] → sample float32 [B, K−1, N] = log p(x_0 | x_t).

diffusers' Transformer2DModel (vector input) computes its log_softmax in float64
(`F.log_softmax(logits.double(), dim=1).float()`); the graph keeps those Cast/LogSoftmax nodes as
they are traced."""
import torch

from .component import Component, Tolerance

TOLERANCE = Tolerance(atol=1e-3, rtol=1e-4)


class TransformerForOnnx(torch.nn.Module):
    def __init__(self, transformer):
        super().__init__()
        self.transformer = transformer

    def forward(self, hidden_states, encoder_hidden_states, timestep):
        return self.transformer(hidden_states, encoder_hidden_states=encoder_hidden_states, timestep=timestep,
                                return_dict=False)[0]


def transformer_component(transformer, length: int) -> Component:
    """Random inputs: tokens in [0, K) with about a third masked (K − 1), unit-norm prompt vectors,
    a random t in [0, T)."""
    cfg = transformer.config
    K, N, D, T = cfg.num_vector_embeds, cfg.sample_size * cfg.sample_size, cfg.cross_attention_dim, cfg.num_embeds_ada_norm

    def random_inputs(batch: int, gen: torch.Generator):
        tokens = torch.randint(0, K - 1, (batch, N), generator=gen)
        tokens[torch.rand(batch, N, generator=gen) < 1 / 3] = K - 1
        context = torch.randn(batch, length, D, generator=gen)
        context = context / context.norm(dim=-1, keepdim=True)
        return tokens, context, torch.randint(0, T, (), generator=gen)

    return Component("transformer", TransformerForOnnx(transformer).eval(),
                     ["hidden_states", "encoder_hidden_states", "timestep"], "sample", random_inputs, TOLERANCE,
                     also_compare=torch.exp, also_name="p(x_0 | x_t)")
