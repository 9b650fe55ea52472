"""$readmemh text files: one fixed-width two's-complement hex word per line, strictly validated.

Every error is one MemFileError naming the file, the line and what was expected. Writes go to a
temporary file in the same directory and are renamed, so a file is never half-written.
"""
from __future__ import annotations

import os
import shutil
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np


class MemFileError(ValueError):
    pass


_HEX_WORD = re.compile(r"[0-9a-fA-F]+")


def pack_lanes(values, bits: int) -> int:
    """Concatenate lane values (first value in the least significant bits), two's complement."""
    word, mask = 0, (1 << bits) - 1
    for i, v in enumerate(np.asarray(values).reshape(-1).tolist()):
        word |= (int(v) & mask) << (i * bits)
    return word


def unpack_lanes(word: int, n: int, bits: int, signed: bool) -> list[int]:
    out, mask = [], (1 << bits) - 1
    for i in range(n):
        v = (word >> (i * bits)) & mask
        if signed and v >> (bits - 1):
            v -= 1 << bits
        out.append(v)
    return out


def atomic_write_text(path: Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_dir(outdir: Path):
    """Yield a temporary directory beside `outdir`; when the block succeeds, it replaces `outdir`
    (the previous contents are restored if the final rename fails). On any error nothing changes
    and no temporary directory is left."""
    outdir = Path(outdir)
    outdir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=outdir.parent, prefix=f".{outdir.name}."))
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        old = None
        if outdir.exists():
            old = outdir.with_name(f".{outdir.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(outdir, old)
        try:
            os.replace(tmp, outdir)
        except BaseException:
            if old and not outdir.exists():
                os.replace(old, outdir)  # put the previous contents back
            raise
        if old:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def format_words(words, hex_digits: int) -> str:
    limit = 1 << (4 * hex_digits)
    lines = []
    for w in words:
        w = int(w)
        if not 0 <= w < limit:
            raise MemFileError(f"word {w:#x} does not fit {hex_digits} hex digits")
        lines.append(f"{w:0{hex_digits}x}\n")
    return "".join(lines)


def write_mem(path: Path, words, hex_digits: int) -> None:
    atomic_write_text(path, format_words(words, hex_digits))


def read_words(path: Path, hex_digits: int, lines: int | None = None) -> list[int]:
    """Read a .mem file of `hex_digits`-wide words; check the line count when given."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise MemFileError(f"{path}: cannot read ({e.strerror})") from e
    rows = text.split("\n")
    if rows and rows[-1] == "":
        rows.pop()
    words = []
    for n, row in enumerate(rows, 1):
        s = row.strip()
        if len(s) != hex_digits:
            raise MemFileError(f"{path}:{n}: expected {hex_digits} hex digits, got {row!r}")
        if not _HEX_WORD.fullmatch(s):  # int(s, 16) alone would accept '+f', '-1', '0_ff'
            raise MemFileError(f"{path}:{n}: not hexadecimal: {row!r}")
        words.append(int(s, 16))
    if lines is not None and len(words) != lines:
        raise MemFileError(f"{path}: expected {lines} lines, found {len(words)}")
    return words


def read_values(path: Path, bits: int, lines: int, signed: bool, lo: int | None = None,
                hi: int | None = None) -> np.ndarray:
    """Read one value per line of `bits` bits, range-checked against [lo, hi]."""
    words = read_words(path, (bits + 3) // 4, lines)
    vals = []
    for n, w in enumerate(words, 1):
        if w >> bits:
            raise MemFileError(f"{path}:{n}: {w:#x} exceeds {bits} bits")
        v = w - (1 << bits) if signed and w >> (bits - 1) else w
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise MemFileError(f"{path}:{n}: value {v} outside [{lo}, {hi}]")
        vals.append(v)
    return np.array(vals, dtype=np.int64)
