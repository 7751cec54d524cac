"""Fashion-MNIST from Debian's `dataset-fashion-mnist` (IDX files, gzip), and their SHA-256.

images: uint8 [n, 28, 28]; labels: int64 [n] in 0..9, in the order of CLASS_NAMES.
"""
import gzip
import hashlib
import os

import numpy as np

DATA_DIR = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
# The prompts the model knows: Fashion-MNIST's class names, index = label.
CLASS_NAMES = ["t-shirt", "trouser", "pullover", "dress", "coat",
               "sandal", "shirt", "sneaker", "bag", "ankle boot"]


def _read_idx(path, header_ints):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    header = np.frombuffer(raw[: 4 * header_ints], dtype=">u4")
    return header, np.frombuffer(raw[4 * header_ints:], dtype=np.uint8)


def load(split):
    """Returns (images uint8 [n, 28, 28], labels int64 [n])."""
    image_file, label_file = FILES[split]
    header, pixels = _read_idx(os.path.join(DATA_DIR, image_file), 4)
    n, h, w = int(header[1]), int(header[2]), int(header[3])
    images = pixels.reshape(n, h, w)
    header, labels = _read_idx(os.path.join(DATA_DIR, label_file), 2)
    assert int(header[1]) == n, "image and label counts differ"
    return images.copy(), labels.astype(np.int64)


def sha256_lines():
    """`sha256sum`-style lines for the four data files."""
    lines = []
    for split in ("train", "test"):
        for name in FILES[split]:
            with open(os.path.join(DATA_DIR, name), "rb") as f:
                lines.append(f"{hashlib.sha256(f.read()).hexdigest()}  {name}")
    return lines
