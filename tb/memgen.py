"""$readmemh files and lane packing for the unit tests (two's complement): write_mem / read_mem,
pack_words, lanes_to_int / int_to_lanes."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from int8cnn import memfile


def pack_words(values, bits: int) -> list[int]:
    """Two's-complement encode each value to `bits` bits."""
    mask = (1 << bits) - 1
    return [int(v) & mask for v in np.asarray(values).reshape(-1)]


def write_mem(path: Path, words, hex_digits: int) -> Path:
    """int8cnn.memfile.write_mem (atomic, width-checked), returning the path."""
    memfile.write_mem(Path(path), words, hex_digits)
    return Path(path)


# lane packing is the flow's own: first value in the least significant bits
lanes_to_int = memfile.pack_lanes
int_to_lanes = memfile.unpack_lanes


def read_mem(path: Path, bits: int | None = None) -> list[int]:
    """Words of a $readmemh file (one per line); with `bits`, decoded as two's complement."""
    words = [int(tok, 16) for tok in Path(path).read_text().split()]
    if bits is None:
        return words
    return [w - (1 << bits) if w >> (bits - 1) else w for w in words]
