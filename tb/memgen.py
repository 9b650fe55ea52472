"""$readmemh files and lane packing for the unit tests (two's complement): write_mem / read_mem,
pack_words, lanes_to_int / int_to_lanes."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def pack_words(values, bits: int) -> list[int]:
    """Two's-complement encode each value to `bits` bits."""
    mask = (1 << bits) - 1
    return [int(v) & mask for v in np.asarray(values).reshape(-1)]


def write_mem(path: Path, words, hex_digits: int) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{w:0{hex_digits}x}\n" for w in words))
    return path


def lanes_to_int(values, bits: int) -> int:
    """Concatenate lane values, first value in the least significant bits."""
    word = 0
    for i, v in enumerate(np.asarray(values).reshape(-1)):
        word |= (int(v) & ((1 << bits) - 1)) << (i * bits)
    return word


def int_to_lanes(word: int, n: int, bits: int, signed: bool) -> list[int]:
    out = []
    for i in range(n):
        v = (word >> (i * bits)) & ((1 << bits) - 1)
        if signed and v >> (bits - 1):
            v -= 1 << bits
        out.append(v)
    return out


def read_mem(path: Path, bits: int | None = None) -> list[int]:
    """Words of a $readmemh file (one per line); with `bits`, decoded as two's complement."""
    words = [int(tok, 16) for tok in Path(path).read_text().split()]
    if bits is None:
        return words
    return [w - (1 << bits) if w >> (bits - 1) else w for w in words]
