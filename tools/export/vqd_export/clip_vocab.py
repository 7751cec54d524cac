"""A CLIP-format BPE vocabulary made up from a seed: what `CLIPTokenizer` reads as `vocab.json` + `merges.txt`.

The layout is CLIP's own (openai/clip-vit-base-patch32):

    ids 0 … 255          the 256 byte symbols, in the byte-to-unicode order of GPT-2/CLIP
    ids 256 … 511        the same symbols with the end-of-word suffix "</w>"
    ids 512 … 511 + M    one token per merge, in merge order (the merge's rank)
    id  512 + M          "<|startoftext|>"
    id  513 + M          "<|endoftext|>"

so the vocabulary holds 514 + M tokens (CLIP: M = 48 894, 49 408 tokens). The first merges are
learned greedily from a small built-in list of English words (most frequent adjacent pair first), so
that ordinary prompts split into a few tokens per word as with CLIP; the rest are drawn at random
from the seed (a left token that does not end a word, any right token, a string not yet in the
vocabulary).
"""
import random

from transformers.convert_slow_tokenizer import bytes_to_unicode

END_OF_WORD = "</w>"
BOS = "<|startoftext|>"
EOS = "<|endoftext|>"

# Words of everyday prompts; the greedy merges come from their pair frequencies.
WORDS = (
    "a an the of in on at with and to by for from near under over next while photo painting picture "
    "drawing oil water sky sea beach city night day morning sun moon tree trees flower flowers vase "
    "window house street road car bus train boat dog dogs cat cats horse bird bear teddy man woman "
    "child people person playing running sleeping riding sitting standing eating pool field forest "
    "mountain snow rain red green blue yellow white black small large big old new bowl soup bread "
    "table bed chair room kitchen food plate cup coffee shines walking flying grass garden park"
).split()


def _symbols() -> list[str]:
    return list(bytes_to_unicode().values())


def _greedy_merges(words: list[str], budget: int) -> list[tuple[str, str]]:
    """Merges learned from `words`: the most frequent adjacent pair first (ties: the smaller pair)."""
    byte_symbol = bytes_to_unicode()
    split = [[byte_symbol[b] for b in w.encode()] for w in words]
    for s in split:
        s[-1] += END_OF_WORD
    merges: list[tuple[str, str]] = []
    while len(merges) < budget:
        counts: dict[tuple[str, str], int] = {}
        for s in split:
            for pair in zip(s, s[1:]):
                counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            break
        pair = min(counts, key=lambda p: (-counts[p], p))
        if counts[pair] < 2:
            break
        merges.append(pair)
        for i, s in enumerate(split):
            out, j = [], 0
            while j < len(s):
                if j + 1 < len(s) and (s[j], s[j + 1]) == pair:
                    out.append(s[j] + s[j + 1])
                    j += 2
                else:
                    out.append(s[j])
                    j += 1
            split[i] = out
    return merges


def make_vocab(num_merges: int, seed: int) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """The vocabulary (token → id, 514 + num_merges entries) and the merges in rank order."""
    if num_merges < 0:
        raise ValueError(f"num_merges: expected a count >= 0, got {num_merges}")
    base = _symbols()
    tokens = base + [s + END_OF_WORD for s in base]
    known = set(tokens)
    merges = []
    for left, right in _greedy_merges(WORDS, num_merges):
        if left + right not in known:
            merges.append((left, right))
            known.add(left + right)
            tokens.append(left + right)
    rng = random.Random(seed)
    while len(merges) < num_merges:
        left = tokens[rng.randrange(len(tokens))]
        right = tokens[rng.randrange(len(tokens))]
        if left.endswith(END_OF_WORD) or left + right in known:
            continue
        merges.append((left, right))
        known.add(left + right)
        tokens.append(left + right)
    tokens += [BOS, EOS]
    return {t: i for i, t in enumerate(tokens)}, merges


def write_vocab_files(folder: str, vocab: dict[str, int], merges: list[tuple[str, str]]) -> tuple[str, str]:
    """Writes `vocab.json` and `merges.txt` (CLIP's slow-tokenizer files) into `folder`; returns their paths."""
    import json
    import os

    os.makedirs(folder, exist_ok=True)
    vocab_path, merges_path = os.path.join(folder, "vocab.json"), os.path.join(folder, "merges.txt")
    with open(vocab_path, "w", encoding="utf-8") as f:
        json.dump(dict(sorted(vocab.items())), f, ensure_ascii=False)
        f.write("\n")
    with open(merges_path, "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for left, right in merges:
            f.write(f"{left} {right}\n")
    return vocab_path, merges_path
