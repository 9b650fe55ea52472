"""act_lut: cocotb tests (run inside the simulator) and the pytest function that builds each case.

The pytest function writes TABLE_FILE under sim_build/<build>/ (a random table, or
int8cnn.activations.lut_table for one activation) and runs the cocotb tests below in one simulator
build; each cocotb test is one stall configuration. The stimulus gives every lane every input byte
several times in a random order; the model is golden.act_lut with the table read back from
TABLE_FILE, fed with the beats the source sent; every output beat and tlast is compared exactly
(harness: axis_tb.py).
"""
from __future__ import annotations

import numpy as np
import pytest

from axis_tb import build_dir, run_case, stall_test, start, stream_beats, vstr
from int8cnn import golden
from int8cnn.activations import lut_table
from memgen import int_to_lanes, lanes_to_int, pack_words, read_mem, write_mem

LATENCY = 1  # cycles from an accepted input beat to its output beat (documented in rtl/act_lut.v)


# ----------------------------------------------------------------------------- cocotb side

def make_inputs(rng: np.random.Generator, n: int, c: int, in_signed: bool) -> np.ndarray:
    """[n, C] input values: lane by lane, every byte 0..255 equally often (n // 256 times), in an
    independent random order per lane, then random bytes up to n; as int8 values when signed."""
    reps = n // 256
    out = np.empty((n, c), dtype=np.int64)
    for lane in range(c):
        col = np.concatenate([np.tile(np.arange(256), reps),
                              rng.integers(0, 256, size=n - 256 * reps)])
        out[:, lane] = rng.permutation(col) if reps else col
    if in_signed:
        out = np.where(out >= 128, out - 256, out)
    return out


@stall_test
async def run_stream(dut, stall):
    cfg, rng, tb = await start(dut, stall)
    C, OUT_W, in_signed, out_signed = cfg["C"], cfg["OUT_W"], bool(cfg["IN_SIGNED"]), cfg["out_signed"]
    table = read_mem(cfg["TABLE_FILE"], OUT_W if out_signed else None)
    assert len(table) == 256

    n = cfg["beats"]
    x = make_inputs(rng, n, C, in_signed)
    for lane in range(C):  # the stimulus really covers the whole table on every lane
        assert len(np.unique(x[:, lane] & 0xFF)) == 256
    y = golden.act_lut(x, table, in_signed)
    await stream_beats(tb, stall, rng, [lanes_to_int(row, 8) for row in x],
                       [lanes_to_int(row, OUT_W) for row in y], LATENCY,
                       decode=lambda w: int_to_lanes(w, C, OUT_W, signed=out_signed))


# ----------------------------------------------------------------------------- pytest side

CASES = {
    # random int8 table, odd lane count
    "random": dict(C=5, IN_SIGNED=1, OUT_W=8, table="random", out=(-128, 127)),
    # random 12-bit table (3 hex digits per line), uint8 input, one lane
    "random-w12": dict(C=1, IN_SIGNED=0, OUT_W=12, table="random", out=(-2048, 2047)),
    # int8 -> int8 activations; selu and relu6/hardswish saturate at the table's ends
    "selu": dict(C=16, IN_SIGNED=1, OUT_W=8, table="selu", s_in=0.05, s_out=0.04, out=(-128, 127)),
    "gelu": dict(C=32, IN_SIGNED=1, OUT_W=8, table="gelu", s_in=0.04, s_out=0.03, out=(-128, 127)),
    "hardswish": dict(C=8, IN_SIGNED=1, OUT_W=8, table="hardswish", s_in=0.05, s_out=0.05,
                      out=(-128, 127)),
    # uint8 -> uint8 (input 0..7.65, clipped at 6 by relu6)
    "relu6": dict(C=4, IN_SIGNED=0, OUT_W=8, table="relu6", s_in=0.03, s_out=6 / 255, out=(0, 255)),
}


def make_table(case: dict, rng: np.random.Generator) -> np.ndarray:
    lo, hi = case["out"]
    if case["table"] == "random":
        return rng.integers(lo, hi + 1, size=256)
    return lut_table(case["table"], case["s_in"], case["s_out"], bool(case["IN_SIGNED"]), lo, hi)


@pytest.mark.parametrize("case", list(CASES))
def test_act_lut(sim, case):
    p = CASES[case]
    seed = 2000 + list(CASES).index(case)
    table = make_table(p, np.random.default_rng(seed))
    assert table.shape == (256,) and table.min() >= p["out"][0] and table.max() <= p["out"][1]
    if p["table"] != "random":  # a real activation table is not constant (the test could not fail)
        assert len(np.unique(table)) > 32, np.unique(table)
    out_signed = p["out"][0] < 0
    table_file = write_mem(build_dir("act_lut", sim, case) / "table.mem",
                           pack_words(table, p["OUT_W"]), (p["OUT_W"] + 3) // 4)
    read_back = read_mem(table_file, p["OUT_W"] if out_signed else None)
    assert read_back == table.tolist()
    params = dict(C=p["C"], IN_SIGNED=p["IN_SIGNED"], OUT_W=p["OUT_W"])
    cfg = dict(params, TABLE_FILE=str(table_file), out_signed=out_signed, seed=seed, beats=1024)
    run_case(sim, "act_lut", case, dict(params, TABLE_FILE=vstr(table_file)), cfg)
