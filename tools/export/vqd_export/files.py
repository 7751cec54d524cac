"""Writing an output folder: JSON, safetensors, and the all-or-nothing rename of a staged folder."""
import contextlib
import json
import os
import shutil
import struct
import tempfile

import numpy as np


def write_json(path: str, obj) -> None:
    """`obj` as indented JSON with a final newline; makes the parent folder."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def write_safetensors(path: str, tensors: dict) -> None:
    """The safetensors format, float32 only: u64 little-endian header length, a JSON header (padded
    with spaces to 8 bytes, as the format allows), raw little-endian data in header order."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        arr = np.ascontiguousarray(t.detach().cpu().numpy().astype("<f4"))
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + arr.nbytes]}
        blobs.append(arr.tobytes())
        offset += arr.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


class OutputFolderError(Exception):
    """An output folder that may not be written (exists and is not empty, without overwrite)."""


def check_output_folder(out: str, overwrite: bool, option: str = "--out") -> None:
    """Raises OutputFolderError unless `out` is absent, an empty folder, or (with `overwrite`) a folder."""
    out = os.path.abspath(out)
    if os.path.exists(out):
        if not os.path.isdir(out):
            raise OutputFolderError(f"{option}: expected a folder to write, got a file: {out}")
        entries = os.listdir(out)
        if entries and not overwrite:
            raise OutputFolderError(f"{option}: expected a new or empty folder, got {out} holding {len(entries)} entries (pass --overwrite to replace it)")


@contextlib.contextmanager
def staged_folder(out: str, overwrite: bool, option: str = "--out"):
    """Yields a fresh temporary folder beside `out`; on success it replaces `out` in one rename, on
    any error it is deleted and `out` is left as it was. `out` may not exist, or be empty, or (with
    `overwrite`) hold anything: it is replaced whole."""
    check_output_folder(out, overwrite, option)
    out = os.path.abspath(out)
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    stage = tempfile.mkdtemp(prefix=f".{os.path.basename(out)}.partial-", dir=parent)
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    old = None
    if os.path.exists(out):
        old = tempfile.mkdtemp(prefix=f".{os.path.basename(out)}.old-", dir=parent)
        os.rmdir(old)
        os.rename(out, old)
    os.rename(stage, out)
    os.chmod(out, 0o755)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
