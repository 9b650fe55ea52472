"""requant: cocotb tests (run inside the simulator) and the pytest function that builds each case.

The pytest function writes random MULT_FILE / SHIFT_FILE under sim_build/<build>/ and runs the cocotb
tests below in one simulator build; each cocotb test is one stall configuration. The model is
golden.requant, fed with the beats the source sent; every output beat and tlast is compared exactly
(harness: axis_tb.py).
"""
from __future__ import annotations

import numpy as np
import pytest

from axis_tb import build_dir, frame_lengths, run_case, split, stall_test, start, stream_beats, vstr
from int8cnn import golden
from memgen import int_to_lanes, lanes_to_int, read_mem, write_mem

LATENCY = 2  # cycles from an accepted input beat to its output beat (documented in rtl/requant.v)


def serial_steps(cfg: dict) -> int:
    """Multiplier cycles per beat of rtl/requant.v: 0 (SERIAL = 0), C (SERIAL = 1, or 2 when POW2
    = 1 or ACC_W <= 16), 2C (SERIAL = 2: two passes per lane)."""
    if not cfg.get("SERIAL"):
        return 0
    two = cfg["SERIAL"] == 2 and not cfg.get("POW2") and cfg["ACC_W"] > 16
    return cfg["C"] * (2 if two else 1)


def latency(cfg: dict) -> int:
    """rtl/requant.v: 2 cycles; SERIAL > 0: the beat register, its multiplier cycles, the output."""
    return LATENCY + serial_steps(cfg)


# ----------------------------------------------------------------------------- cocotb side

def make_accs(rng: np.random.Generator, n: int, cfg: dict, mult, shift) -> np.ndarray:
    """[n, C] accumulators: full range, values around the output range, extremes, rounding ties."""
    acc_w, lo, hi, zp = cfg["ACC_W"], cfg["LO"], cfg["HI"], cfg["ZP_OUT"]
    amin, amax = -(1 << (acc_w - 1)), (1 << (acc_w - 1)) - 1
    out = np.zeros((n, len(mult)), dtype=np.int64)
    for c, (m, s) in enumerate(zip(mult, shift)):
        # accumulators that land near [lo, hi] after requantization
        a0 = max(amin, min(amax, ((lo - zp - 8) << s) // m))
        a1 = max(amin, min(amax, ((hi - zp + 8) << s) // m + 1))
        ties = []
        t = (m & -m).bit_length() - 1  # trailing zeros of M
        if s >= 1 and s - 1 >= t:
            mod = 1 << (s - t)
            base = ((1 << (s - 1 - t)) * pow(m >> t, -1, mod)) % mod
            k0, k1 = -((base - amin) // mod), (amax - base) // mod
            if k0 <= k1:
                ties = [base + int(k) * mod for k in rng.integers(k0, k1 + 1, size=8)]
        for i in range(n):
            r = rng.random()
            if r < 0.3:
                v = int(rng.integers(amin, amax + 1))
            elif r < 0.75:
                v = int(rng.integers(a0, a1 + 1))
            elif r < 0.85:
                v = int(rng.choice([amin, amax, amin + 1, amax - 1, 0, 1, -1]))
            elif ties:
                v = int(rng.choice(ties))
            else:
                v = int(rng.integers(amin, amax + 1))
            out[i, c] = v
    return out


@stall_test
async def run_stream(dut, stall):
    cfg, rng, tb = await start(dut, stall)
    C, ACC_W, OUT_W = cfg["C"], cfg["ACC_W"], cfg["OUT_W"]
    # POW2 = 1: no multiplier file, the golden model uses M = 1
    mult = [1] * C if cfg["POW2"] else read_mem(cfg["MULT_FILE"])
    shift = read_mem(cfg["SHIFT_FILE"])
    assert len(mult) == C and len(shift) == C

    n = cfg["beats"]
    acc = make_accs(rng, n, cfg, mult, shift)
    y = golden.requant(acc, mult, shift, cfg["LO"], cfg["HI"], cfg["ZP_OUT"], axis=1)
    words_in, words_out = [lanes_to_int(row, ACC_W) for row in acc], [lanes_to_int(row, OUT_W) for row in y]
    decode = lambda w: int_to_lanes(w, C, OUT_W, signed=cfg["LO"] < 0)  # noqa: E731
    if not cfg.get("SERIAL"):
        await stream_beats(tb, stall, rng, words_in, words_out, LATENCY, decode=decode)
        return
    # SERIAL > 0: one beat per steps+1 clocks; the output is still work-conserving (due = accepted
    # + latency), the input stalls by design
    steps = serial_steps(cfg)
    lat, lengths = latency(cfg), frame_lengths(rng, n)
    await tb.run(split(words_in, lengths), split(words_out, lengths), lat, decode,
                 timeout_ns=20_000 * n * (steps + 1))
    # the input waits only while a beat is multiplied (the steps clocks after one is taken) or
    # under backpressure
    tb.check_work_conserving([c + lat for c in tb.in_cycles], why=f" [{stall}]", busy=steps)
    if stall == "none":
        tb.check_input_period(n, steps + 1)
        oc = tb.out_cycles
        assert sorted(set(np.diff(oc).tolist())) == [steps + 1], f"output not one beat per {steps + 1} clocks"
        assert oc[0] - tb.in_cycles[0] == lat, f"latency {oc[0] - tb.in_cycles[0]}, expected {lat}"


# ----------------------------------------------------------------------------- pytest side

CASES = {
    # default network conv1 requant: uint8 with ReLU folded, Q15 multipliers
    "default": dict(C=3, ACC_W=21, LO=0, HI=255, ZP_OUT=0, mode="q15"),
    # odd sizes, int8 output with a zero point, shifts 0 and 62, M = 1 and M = 2^15-1
    "odd": dict(C=5, ACC_W=19, LO=-128, HI=127, ZP_OUT=-3, mode="edge"),
    # pow2 mode: M = 1, shift only (POW2 = 0: the multiplier datapath with M = 1 files)
    "pow2": dict(C=3, ACC_W=21, LO=0, HI=255, ZP_OUT=5, mode="pow2"),
    # pow2 mode in the POW2 = 1 datapath (no multiplier, MULT_FILE ""): int8 output, a zero point,
    # shifts 0 and ACC_W (= the shift cap, every result 0 + ZP_OUT) beside random ones
    "pow2-rtl": dict(C=4, ACC_W=13, LO=-128, HI=127, ZP_OUT=-2, mode="pow2", POW2=1),
    # one multiplier for all channels (the FPGA builds' requant behind a folded layer)
    "serial": dict(C=3, ACC_W=21, LO=0, HI=255, ZP_OUT=0, mode="q15", SERIAL=1),
    "serial-odd": dict(C=5, ACC_W=19, LO=-128, HI=127, ZP_OUT=-3, mode="edge", SERIAL=1),
    "serial-pow2": dict(C=2, ACC_W=13, LO=-128, HI=127, ZP_OUT=-2, mode="pow2", POW2=1, SERIAL=1),
    # one 16-bit multiplier, two passes per lane (the UP5K build: one SB_MAC16 for the requant)
    "serial2": dict(C=3, ACC_W=21, LO=0, HI=255, ZP_OUT=0, mode="q15", SERIAL=2),
    "serial2-odd": dict(C=5, ACC_W=19, LO=-128, HI=127, ZP_OUT=-3, mode="edge", SERIAL=2),
}


def make_constants(case: dict, rng: np.random.Generator):
    c, acc_w = case["C"], case["ACC_W"]
    if case["mode"] == "pow2":
        mult = [1] * c
        shift = [0] + [int(s) for s in rng.integers(1, acc_w - 4, size=c - 1)]
        if case.get("POW2"):
            shift[-1] = acc_w
    else:
        mult = [int(m) for m in rng.integers(1 << 14, 1 << 15, size=c)]
        # m * 2^S in [2^14, 2^15) with m = s_out-ish: pick S so that outputs span beyond [lo, hi]
        shift = [int(s) for s in rng.integers(acc_w + 15 - 12, acc_w + 15 - 6, size=c)]
        if case["mode"] == "edge":
            mult[0], shift[0] = 1, 0
            mult[1], shift[1] = (1 << 15) - 1, 62
            mult[2] = (1 << 15) - 1
            mult[3] = 1 << 14  # even M: ties need the trailing-zero case
    return mult, shift


@pytest.mark.parametrize("case", list(CASES))
def test_requant(sim, case):
    p = CASES[case]
    seed = 1000 + list(CASES).index(case)
    mult, shift = make_constants(p, np.random.default_rng(seed))
    pow2 = p.get("POW2", 0)
    shift_file = write_mem(build_dir("requant", sim, case) / "shift.mem", shift, 2)
    params = dict(C=p["C"], ACC_W=p["ACC_W"], POW2=pow2, MULT_W=16, SHIFT_W=6, OUT_W=8, LO=p["LO"],
                  HI=p["HI"], ZP_OUT=p["ZP_OUT"], SERIAL=p.get("SERIAL", 0))
    if pow2:
        # POW2 = 1 reads no multiplier file (make_constants gave M = 1, as the model uses)
        assert mult == [1] * p["C"]
        cfg = dict(params, MULT_FILE="", SHIFT_FILE=str(shift_file), seed=seed, beats=1000)
        hdl_mult = vstr("")
    else:
        mult_file = write_mem(build_dir("requant", sim, case) / "mult.mem", mult, 4)
        cfg = dict(params, MULT_FILE=str(mult_file), SHIFT_FILE=str(shift_file), seed=seed,
                   beats=1000)
        hdl_mult = vstr(mult_file)
    run_case(sim, "requant", case, dict(params, MULT_FILE=hdl_mult, SHIFT_FILE=vstr(shift_file)),
             cfg)
