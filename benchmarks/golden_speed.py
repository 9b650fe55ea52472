"""Throughput of the integer golden model (int8cnn/golden.py) and of the PyTorch cross-check
(int8cnn/torch_ref.py) over the 10,000-image MNIST test split, all layers.

    MNIST_DIR=/path/to/mnist .venv/bin/python benchmarks/golden_speed.py [--net default]
        [--weights weights/default] [--limit N] [--repeat 1]

Needs the MNIST test split in $MNIST_DIR (or --data); it never downloads.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from int8cnn.paths import ROOT


def best_of(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--net", default="default")
    ap.add_argument("--weights", help="weights directory (default weights/<net>)")
    ap.add_argument("--data", default=os.environ.get("MNIST_DIR"),
                    help="MNIST directory with the t10k IDX files (default $MNIST_DIR)")
    ap.add_argument("--limit", type=int, default=0, help="first N images only (default all)")
    ap.add_argument("--repeat", type=int, default=1, help="report the best of N runs")
    args = ap.parse_args(argv)
    if not args.data:
        print("golden_speed: error: the MNIST test split is needed: set MNIST_DIR (or --data) to a "
              "directory holding t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]",
              file=sys.stderr)
        return 2

    import numpy as np
    import torch
    from int8cnn.data import DatasetError, load_mnist
    from int8cnn.export import load_network
    from int8cnn.inference import run_network
    from int8cnn.inference import run_network_torch

    try:
        x, y = load_mnist("test", args.data, download=False)
        q = load_network(Path(args.weights or ROOT / "weights" / args.net))
    except (DatasetError, ValueError) as e:
        print(f"golden_speed: error: {e}", file=sys.stderr)
        return 2
    if args.limit:
        x, y = x[:args.limit], y[:args.limit]
    n, layers = len(x), ", ".join(l.name for l in q.layers)
    print(f"network {q.name} ({layers}); {n} images; torch threads {torch.get_num_threads()}")

    dt, (outs, pred) = best_of(lambda: run_network(q, x), args.repeat)
    print(f"golden model: {n} images, all layers, {dt:.2f} s ({n / dt:.0f} images/s), "
          f"accuracy {100 * float((pred == y).mean()):.2f}%")
    dt_t, (outs_t, pred_t) = best_of(lambda: run_network_torch(q, x), args.repeat)
    print(f"torch_ref:    {n} images, all layers, {dt_t:.2f} s ({n / dt_t:.0f} images/s)")
    same = np.array_equal(pred, pred_t) and all(np.array_equal(outs[k], outs_t[k]) for k in outs)
    print(f"bit-exact: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
