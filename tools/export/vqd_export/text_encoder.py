"""text_encoder/model.onnx: input_ids int64 [B, L] → last_hidden_state float32 [B, L, D]
(transformers' CLIPTextModel, `last_hidden_state` only: the pipeline normalises it itself)."""
import torch

from .component import Component, Tolerance

TOLERANCE = Tolerance(atol=1e-4, rtol=1e-4)


class TextEncoderForOnnx(torch.nn.Module):
    def __init__(self, text_encoder):
        super().__init__()
        self.text_encoder = text_encoder

    def forward(self, input_ids):
        return self.text_encoder(input_ids=input_ids).last_hidden_state


def text_encoder_component(text_encoder, length: int, bos_id: int, eos_id: int, pad_id: int) -> Component:
    """Random inputs: rows as a tokenizer gives them, [bos, random ids…, eos, pad…], of random lengths."""
    vocab = text_encoder.config.vocab_size

    def random_inputs(batch: int, gen: torch.Generator):
        ids = torch.full((batch, length), pad_id, dtype=torch.int64)
        for b in range(batch):
            n = int(torch.randint(0, length - 1, (), generator=gen))
            ids[b, 0] = bos_id
            ids[b, 1:1 + n] = torch.randint(0, vocab, (n,), generator=gen)
            ids[b, 1 + n] = eos_id
        return (ids,)

    return Component("text_encoder", TextEncoderForOnnx(text_encoder).eval(), ["input_ids"], "last_hidden_state",
                     random_inputs, TOLERANCE)
