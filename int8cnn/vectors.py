"""Golden vectors: the fixed image set and every layer's expected output stream, as .mem files.

Layout and stream order: docs/quantization.md ("Golden vectors"). Each layer file holds one bus beat
per line, exactly as the RTL puts it on that layer's output stream.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .inference import run_network
from .memfile import MemFileError, atomic_dir, format_words, pack_lanes, read_words


def stream_words(t: np.ndarray, bits: int) -> list[int]:
    """[C,H,W] tensor -> bus words in raster order, channel c at bits [c*bits +: bits]."""
    c, h, w = t.shape
    mask = (1 << bits) - 1
    flat = (np.asarray(t, dtype=np.int64) & mask).transpose(1, 2, 0).reshape(h * w, c)
    if c * bits <= 63:
        shifts = np.arange(c, dtype=np.int64) * bits
        return [int(v) for v in (flat << shifts).sum(axis=1)]
    return [pack_lanes(row, bits) for row in flat]


def write_vectors(qnet, images: np.ndarray, labels: np.ndarray, indices, outdir: Path,
                  source: str, why: list | None = None, unhit: dict | None = None) -> dict:
    """Write golden/<net>/ atomically for `images` (uint8 [N,28,28]). indices: each image's index
    in the dataset, -1 for a crafted one; why / unhit: int8cnn.coverset.Choice's reasons, kept in
    vectors.json (the coverage report reads `unhit`)."""
    outs, pred = run_network(qnet, images)
    outdir = Path(outdir)
    with atomic_dir(outdir) as tmp:
        (tmp / "input.mem").write_text(format_words(np.asarray(images).reshape(-1).tolist(), 2))
        for l in qnet.layers:
            bits = l.lane_bits
            words = [w for n in range(len(images)) for w in stream_words(outs[l.name][n], bits)]
            (tmp / f"{l.name}.mem").write_text(format_words(words, l.out_shape[0] * bits // 4))
        (tmp / "labels.mem").write_text(format_words(labels, 1))
        (tmp / "predicted.mem").write_text(format_words(pred, 1))
        info = {"network": qnet.name, "images": int(len(images)), "source": source,
                "indices": [int(i) for i in indices], "layers": [l.name for l in qnet.layers],
                "why": list(why or []), "unhit": dict(unhit or {})}
        (tmp / "vectors.json").write_text(json.dumps(info, indent=1) + "\n")
    return info


def golden_images(gdir: Path) -> int:
    """Images in a golden set (its vectors.json "images")."""
    return json.loads((Path(gdir) / "vectors.json").read_text())["images"]


def read_input_images(gdir: Path) -> np.ndarray:
    info = json.loads((Path(gdir) / "vectors.json").read_text())
    n = info["images"]
    words = read_words(Path(gdir) / "input.mem", 2, n * 784)
    return np.array(words, dtype=np.uint8).reshape(n, 28, 28)


def read_labels(gdir: Path) -> np.ndarray:
    info = json.loads((Path(gdir) / "vectors.json").read_text())
    words = read_words(Path(gdir) / "labels.mem", 1, info["images"])
    if max(words, default=0) > 9:
        raise MemFileError(f"{Path(gdir) / 'labels.mem'}: labels must be 0..9")
    return np.array(words, dtype=np.int64)
