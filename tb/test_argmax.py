"""argmax: cocotb tests (run inside the simulator) and the pytest function that builds each case.

Directed ties first (the maximum at exactly lanes j and k for every pair j < k, so across every
boundary of the comparison tree, e.g. lanes 3 and 8 of 10; all-equal beats), then random vectors
with many ties and extremes. The model is golden.argmax (first maximum) and every output beat
(index lane, sign-extended lanes) and tlast is compared exactly (harness: axis_tb.py).
"""
from __future__ import annotations

import numpy as np
import pytest

from axis_tb import run_case, stall_test, start, stream_beats
from int8cnn import golden
from memgen import int_to_lanes, lanes_to_int



def latency(n: int, pipe: int) -> int:
    """Cycles from an accepted input beat to its output beat (rtl/argmax.v): 1, or with PIPE = 1
    one per level of the comparison tree."""
    return max(1, (n - 1).bit_length()) if pipe else 1


# ----------------------------------------------------------------------------- cocotb side

def make_vectors(rng: np.random.Generator, n: int, lanes: int, data_w: int) -> np.ndarray:
    """[n, lanes]: full range, narrow range (ties), all equal, extremes, duplicated maxima."""
    lo, hi = -(1 << (data_w - 1)), (1 << (data_w - 1)) - 1
    x = np.zeros((n, lanes), dtype=np.int64)
    d = directed_vectors(rng, lanes, data_w)[:n]
    x[:len(d)] = d
    for i in range(len(d), n):
        r = rng.random()
        if r < 0.3:
            v = rng.integers(lo, hi + 1, size=lanes)
        elif r < 0.6:
            v = rng.integers(max(lo, -3), min(hi, 3) + 1, size=lanes)
        elif r < 0.7:
            v = np.full(lanes, rng.choice([lo, hi, 0, -1]))
        elif r < 0.85:
            v = rng.choice([lo, hi, lo + 1, hi - 1, 0], size=lanes)
        else:
            v = rng.integers(lo, hi + 1, size=lanes)
            j, k = rng.integers(0, lanes, size=2)
            v[j] = v[k] = hi if rng.random() < 0.5 else v.max()
        x[i] = v
    return x


def directed_vectors(rng: np.random.Generator, lanes: int, data_w: int) -> np.ndarray:
    """Ties across every comparison-tree boundary: for each lane pair j < k one beat whose maximum
    sits at exactly j and k (the other lanes lower), then all-equal beats; expected index is j / 0."""
    lo, hi = -(1 << (data_w - 1)), (1 << (data_w - 1)) - 1
    rows = []
    for j in range(lanes):
        for k in range(j + 1, lanes):
            m = int(rng.integers(lo + 1, hi + 1))
            v = rng.integers(lo, m, size=lanes)
            v[j] = v[k] = m
            rows.append(v)
    rows += [np.full(lanes, c) for c in (lo, -1, 0, 1, hi)]
    return np.array(rows, dtype=np.int64).reshape(-1, lanes)


@stall_test
async def run_stream(dut, stall):
    cfg, rng, tb = await start(dut, stall)
    N, DATA_W, n = cfg["N"], cfg["DATA_W"], cfg["beats"]
    lat = latency(N, cfg.get("PIPE", 0))
    x = make_vectors(rng, n, N, DATA_W)
    idx = golden.argmax(x)
    await stream_beats(tb, stall, rng, [lanes_to_int(row, DATA_W) for row in x],
                       [lanes_to_int([int(k)] + list(row), 32) for k, row in zip(idx, x)], lat,
                       decode=lambda w: int_to_lanes(w, N + 1, 32, signed=True))


# ----------------------------------------------------------------------------- pytest side

CASES = {
    "default": dict(N=10, DATA_W=32),  # default network: 10 int32 logits
    "odd": dict(N=5, DATA_W=3),        # narrow lanes: ties everywhere
    "pipe": dict(N=10, DATA_W=32, PIPE=1),  # a register after every level: latency 4
    "pipe-odd": dict(N=5, DATA_W=3, PIPE=1),  # 3 levels, the last node of two levels a pass-through
    "single": dict(N=1, DATA_W=8),     # one lane (no tree): the index is always 0
}


@pytest.mark.parametrize("case", list(CASES))
def test_argmax(sim, case):
    params = CASES[case]
    seed = 3000 + list(CASES).index(case)
    run_case(sim, "argmax", case, params, dict(params, seed=seed, beats=1000))
