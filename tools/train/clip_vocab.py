"""A CLIP byte-level BPE vocabulary made for the model's prompts (CLIPTokenizer's vocab.json + merges.txt).

CLIP's vocabulary is built in this order: the 256 byte characters (bytes_to_unicode), the same with
the end-of-word marker "</w>", one token per merge, then <|startoftext|> and <|endoftext|>. Here the
merges are only those that build each of the given words (prompts.words(): the words of every prompt in
prompts.py) under CLIP's BPE ("s n", "sn e", ..., "sneake r</w>"), so every such word is one token and any other word falls apart into byte tokens
(CLIP's behaviour: no unknown words). Sizes: 512 byte tokens + one per merge + 2 special tokens.
"""
import json
import os

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


def bpe(symbols, ranks):
    """CLIP's BPE of one word: merge the adjacent pair of lowest rank, every occurrence, until none is ranked."""
    while len(symbols) > 1:
        pairs = [(ranks.get((a, b), float("inf")), (a, b)) for a, b in zip(symbols, symbols[1:])]
        rank, (a, b) = min(pairs)
        if rank == float("inf"):
            break
        out, i = [], 0
        while i < len(symbols):
            if i + 1 < len(symbols) and symbols[i] == a and symbols[i + 1] == b:
                out.append(a + b)
                i += 2
            else:
                out.append(symbols[i])
                i += 1
        symbols = out
    return symbols


def add_merges_for(word, merges, ranks):
    """Appends the merges that make `word` one token under the merges already there: BPE with the current
    ranks, then the first adjacent pair of what is left gets the next (lowest) rank, until one token is left.
    Words made one token before stay so: none of their pairs remain for a later merge to apply to."""
    symbols = list(word[:-1]) + [word[-1] + "</w>"]
    while True:
        symbols = bpe(symbols, ranks)
        if len(symbols) == 1:
            return
        pair = (symbols[0], symbols[1])
        ranks[pair] = len(merges)
        merges.append(pair)


def build(words):
    """words: the words to make single tokens, in order. Returns (vocab dict token → id, merges list of (left, right)) in CLIP's order."""
    chars = list(bytes_to_unicode().values())
    tokens = chars + [c + "</w>" for c in chars]
    merges, ranks = [], {}
    for w in words:
        add_merges_for(w, merges, ranks)
    for left, right in merges:
        if left + right not in tokens:
            tokens.append(left + right)
    tokens += [BOS, EOS]
    return {t: i for i, t in enumerate(tokens)}, merges


def write(folder, words):
    """Writes vocab.json and merges.txt (CLIP's file formats) for `words` into `folder`; returns their paths."""
    vocab, merges = build(words)
    os.makedirs(folder, exist_ok=True)
    vocab_path, merges_path = os.path.join(folder, "vocab.json"), os.path.join(folder, "merges.txt")
    with open(vocab_path, "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(merges_path, "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for left, right in merges:
            f.write(f"{left} {right}\n")
    return vocab_path, merges_path
