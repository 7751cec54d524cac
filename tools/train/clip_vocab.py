"""A CLIP byte-level BPE vocabulary made for the ten class names (CLIPTokenizer's vocab.json + merges.txt).

CLIP's vocabulary is built in this order: the 256 byte characters (bytes_to_unicode), the same with
the end-of-word marker "</w>", one token per merge, then <|startoftext|> and <|endoftext|>. Here the
merges are only those that build each word of the class names left to right ("s n", "sn e", ...,
"sneake r</w>"), so every class word is one token and any other word falls apart into byte tokens
(CLIP's behaviour: no unknown words). Sizes: 512 byte tokens + one per merge + 2 special tokens.
"""
import json
import os

from data import CLASS_NAMES

BOS, EOS = "<|startoftext|>", "<|endoftext|>"


def bytes_to_unicode():
    """CLIP's (and GPT-2's) reversible map of the 256 bytes to printable characters, in CLIP's order."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def class_words():
    """The words CLIP's pre-tokenizer makes of the class names (letters runs; "t-shirt" → t, -, shirt)."""
    words = []
    for name in CLASS_NAMES:
        for part in name.replace("-", " - ").split():
            if part not in words:
                words.append(part)
    return words


def merges_for(word):
    """The left-to-right merges that make `word` one token: [(left, right), ...]."""
    symbols = list(word[:-1]) + [word[-1] + "</w>"]
    out = []
    while len(symbols) > 1:
        out.append((symbols[0], symbols[1]))
        symbols = [symbols[0] + symbols[1]] + symbols[2:]
    return out


def build():
    """Returns (vocab dict token → id, merges list of (left, right)) in CLIP's order."""
    chars = list(bytes_to_unicode().values())
    tokens = chars + [c + "</w>" for c in chars]
    merges = []
    for w in class_words():
        for m in merges_for(w):
            if m not in merges:
                merges.append(m)
    for left, right in merges:
        if left + right not in tokens:
            tokens.append(left + right)
    tokens += [BOS, EOS]
    return {t: i for i, t in enumerate(tokens)}, merges


def write(folder):
    """Writes vocab.json and merges.txt (CLIP's file formats) into `folder`; returns their paths."""
    vocab, merges = build()
    os.makedirs(folder, exist_ok=True)
    vocab_path, merges_path = os.path.join(folder, "vocab.json"), os.path.join(folder, "merges.txt")
    with open(vocab_path, "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(merges_path, "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for left, right in merges:
            f.write(f"{left} {right}\n")
    return vocab_path, merges_path
