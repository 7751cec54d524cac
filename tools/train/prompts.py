"""The prompts the recipe trains on, and the held-out ones (the model folder's prompts.json, docs/model-folder.md).

Each class has names: singular forms (the class name first, synonyms: "sweater", "jumper" for pullover) and
plural forms ("dresses", "pants"). Training prompts are those names in a few templates ("{s}", "a {s}",
"the {s}", "{p}", "some {p}", "a photo of a {s}", "a picture of {p}"). HELD_OUT names 3 prompts per class
(30 in all) that are never trained on: unseen combinations of words the model does know (a template the
class was not trained in, with one of its names), so the quality table's held-out row measures whether
the text encoder generalises across phrasings, not whether it guesses a word it never saw (a text
encoder trained from scratch cannot).

Every word here is one token of the CLIP vocabulary (clip_vocab.py builds merges for them), and every
prompt fits L = 8 tokens with the start and end tokens (MAX_WORDS; checked by `check`).
"""
import json
import os

from data import CLASS_NAMES

# label order = CLASS_NAMES; (singular names, plural names); the first singular is the class name.
NAMES = [
    (["t-shirt", "t shirt", "tshirt", "tee", "tee shirt"], ["t-shirts", "t shirts", "tees"]),
    (["trouser", "pair of trousers", "pair of pants"], ["trousers", "pants", "jeans", "slacks"]),
    (["pullover", "sweater", "jumper"], ["pullovers", "sweaters", "jumpers"]),
    (["dress", "gown", "frock"], ["dresses", "gowns"]),
    (["coat", "jacket", "overcoat"], ["coats", "jackets", "overcoats"]),
    (["sandal", "flip flop"], ["sandals", "flip flops"]),
    (["shirt", "blouse", "button shirt"], ["shirts", "blouses", "button shirts"]),
    (["sneaker", "trainer", "running shoe"], ["sneakers", "trainers", "running shoes"]),
    (["bag", "handbag", "purse"], ["bags", "handbags", "purses"]),
    (["ankle boot", "boot"], ["ankle boots", "boots"]),
]
assert [n[0][0] for n in NAMES] == CLASS_NAMES

# L = 8 ids: the start and end tokens and at most 6 words (a longer templated prompt is left out).
MAX_WORDS = 6
SINGULAR_TEMPLATES = ["{}", "a {}", "the {}", "a photo of a {}"]
PLURAL_TEMPLATES = ["{}", "some {}", "a picture of {}"]

# Per class: prompts never trained on (3 a class, 30 in all).
HELD_OUT = [
    ["the tee", "a photo of a t shirt", "some t-shirts"],
    ["the pair of pants", "some jeans", "a picture of slacks"],
    ["the jumper", "a photo of a sweater", "some pullovers"],
    ["the gown", "a photo of a dress", "some dresses"],
    ["the jacket", "a photo of an overcoat", "some coats"],
    ["the flip flop", "a photo of a sandal", "some sandals"],
    ["the blouse", "a photo of a shirt", "some button shirts"],
    ["the trainer", "a photo of a running shoe", "some sneakers"],
    ["the purse", "a photo of a handbag", "some bags"],
    ["the boot", "a photo of an ankle boot", "some ankle boots"],
]


def article(word):
    return "an" if word[0] in "aeiou" else "a"


def fill(template, name):
    """A template with a name; "a" becomes "an" before a vowel ("an ankle boot")."""
    text = template.format(name)
    return text.replace("a " + name, f"{article(name)} {name}") if "a {}" in template else text


def classes():
    """[{name, phrases, prompts, held_out}] in label order (the shape of prompts.json's "classes")."""
    out = []
    for label, (singular, plural) in enumerate(NAMES):
        held = HELD_OUT[label]
        prompts = []
        for templates, names in ((SINGULAR_TEMPLATES, singular), (PLURAL_TEMPLATES, plural)):
            for t in templates:
                for n in names:
                    p = fill(t, n)
                    if p not in held and p not in prompts and len(split(p)) <= MAX_WORDS:
                        prompts.append(p)
        out.append({"name": CLASS_NAMES[label], "phrases": singular + plural, "prompts": prompts, "held_out": held})
    return out


def split(prompt):
    """A prompt's words as CLIP's pre-tokenizer splits them ("t-shirt" → t, -, shirt)."""
    return prompt.replace("-", " - ").split()


def words():
    """Every word of every prompt, as CLIP's pre-tokenizer splits it ("t-shirt" → t, -, shirt), in first-seen order."""
    seen = []
    for c in classes():
        for p in c["prompts"] + c["held_out"]:
            for w in split(p):
                if w not in seen:
                    seen.append(w)
    return seen


def check(tokenizer, length):
    """Every trained and held-out prompt must be one token a word and fit `length` ids; returns the longest."""
    longest = 0
    for c in classes():
        for p in c["prompts"] + c["held_out"]:
            ids = tokenizer(p).input_ids
            n_words = len(split(p))
            if len(ids) != n_words + 2 or len(ids) > length:
                raise ValueError(f"prompt {p!r}: expected {n_words} word tokens within L = {length} ids, got {len(ids)} ids {ids}")
            longest = max(longest, len(ids))
    for c in classes():  # a held-out prompt must not be trained in any class
        for p in c["held_out"]:
            if any(p in o["prompts"] for o in classes()):
                raise ValueError(f"held-out prompt {p!r} is also a training prompt")
    return longest


def write(folder, note):
    """Writes folder/prompts.json (docs/model-folder.md, "prompts.json")."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "prompts.json"), "w", encoding="utf-8") as f:
        json.dump({"about": note, "classes": classes()}, f, indent=2, ensure_ascii=False)
        f.write("\n")
