"""Helpers shared by the Python-flow tests (tests/). A module of its own, not conftest.py: tb/ has a
conftest.py too, and `from conftest import ...` would pick whichever was imported first."""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from int8cnn.paths import ROOT
WEIGHTS = ROOT / "weights"
GOLDEN = ROOT / "golden"


def mnist_unavailable(what: str, split: str = "test"):
    """Skip (or fail when INT8CNN_REQUIRE_MNIST=1) because an MNIST split (test, or the full
    60,000-image training split) is missing."""
    files = ("t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]" if split == "test" else
             "train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz]")
    msg = f"{what} needs the MNIST {split} split: set MNIST_DIR to a directory holding {files}"
    if os.environ.get("INT8CNN_REQUIRE_MNIST") == "1":
        pytest.fail(msg + " (INT8CNN_REQUIRE_MNIST=1 forbids skipping)", pytrace=False)
    pytest.skip(msg)


def dir_files(d: Path) -> dict:
    """{relative path: bytes} of every file under d."""
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(Path(d).rglob("*")) if p.is_file()}


# IDX type codes from the format's specification (not from the code under test)
IDX_TYPES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D,
             np.float64: 0x0E}


def write_idx(path, arr, gz=False):
    """An IDX file of arr (big-endian, the dtype's type code), gzip-compressed when gz."""
    arr = np.asarray(arr)
    head = bytes([0, 0, IDX_TYPES[arr.dtype.type], arr.ndim])
    head += b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    raw = head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path
