"""A word-level tokenizer (Hugging Face `tokenizers` JSON) and a small text encoder.

Vocabulary: [PAD] = 0, [UNK] = 1, then the words of the class names. Text is lower-cased and split
on whitespace; a word outside the vocabulary becomes [UNK]; sequences are padded with [PAD] (and
truncated) to L tokens. The encoder: token + position embeddings, pre-norm transformer layers,
final layer norm → last_hidden_state [B, L, D].
"""
import json

import torch
import torch.nn as nn

from data import CLASS_NAMES
from layers import Attention, FeedForward

PAD, UNK = "[PAD]", "[UNK]"


def vocabulary():
    words = []
    for name in CLASS_NAMES:
        for w in name.split():
            if w not in words:
                words.append(w)
    return {PAD: 0, UNK: 1, **{w: i + 2 for i, w in enumerate(words)}}


def encode(text, vocab, length):
    ids = [vocab.get(w, vocab[UNK]) for w in text.lower().split()][:length]
    return ids + [vocab[PAD]] * (length - len(ids))


def tokenizer_json(vocab, length):
    """tokenizer.json in the format of Hugging Face tokenizers (WordLevel model)."""
    return {
        "version": "1.0",
        "truncation": {"direction": "Right", "max_length": length, "strategy": "LongestFirst", "stride": 0},
        "padding": {"strategy": {"Fixed": length}, "direction": "Right", "pad_to_multiple_of": None,
                    "pad_id": vocab[PAD], "pad_type_id": 0, "pad_token": PAD},
        "added_tokens": [
            {"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True} for t in (PAD, UNK)],
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "WhitespaceSplit"},
        "post_processor": None,
        "decoder": None,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": UNK},
    }


def tokenizer_config(length):
    return {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": length,
            "pad_token": PAD, "unk_token": UNK, "padding_side": "right", "do_lower_case": True}


class TextEncoderLayer(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, dim, heads)
        self.ff = FeedForward(dim)

    def forward(self, h):
        x = self.norm1(h)
        h = h + self.attn(x, x)
        return h + self.ff(self.norm2(h))


class TextEncoder(nn.Module):
    """input_ids long [B, L] → last_hidden_state float32 [B, L, D]."""

    def __init__(self, vocab_size, length, dim=64, heads=4, layers=2):
        super().__init__()
        self.tok = nn.Embedding(vocab_size, dim)
        self.pos = nn.Parameter(torch.randn(length, dim) * 0.02)
        self.layers = nn.ModuleList([TextEncoderLayer(dim, heads) for _ in range(layers)])
        self.norm = nn.LayerNorm(dim)

    def forward(self, input_ids):
        h = self.tok(input_ids) + self.pos
        for layer in self.layers:
            h = layer(h)
        return self.norm(h).float()
