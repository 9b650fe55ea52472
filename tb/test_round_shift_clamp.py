"""round_shift_clamp: cocotb test (run inside the simulator) and the pytest function that builds
each case.

The module is the combinational tail requant and eltwise_add share (round half up, arithmetic
shift, zero point, clamp), so it has no stream and no stall matrix: the test sets x and shift and
reads y. Every shift the port can carry is crossed with the input extremes, the values on each
side of a rounding tie and of both clamp bounds, and random values; the smallest case is
exhaustive. The model is golden.requant with M = 1 (it does not cap the shift, so the cap at IN_W-1
is checked too); every output is compared exactly.
"""
from __future__ import annotations

import cocotb
import numpy as np
import pytest
from cocotb.triggers import Timer

from axis_tb import run_case, tb_cfg
from int8cnn import golden


# ----------------------------------------------------------------------------- cocotb side

def inputs(rng: np.random.Generator, cfg: dict, s: int) -> np.ndarray:
    """x values for shift s inside the range the module accepts, -2^(IN_W-2) <= x < 2^(IN_W-2)."""
    xmin, xmax = -(1 << (cfg["IN_W"] - 2)), (1 << (cfg["IN_W"] - 2)) - 1
    if xmax - xmin < 256:
        return np.arange(xmin, xmax + 1)
    lo, hi, zp = cfg["LO"], cfg["HI"], cfg["ZP_OUT"]
    half = (1 << (s - 1)) if s > 0 else 0
    edges = [xmin, xmin + 1, -1, 0, 1, xmax - 1, xmax]
    for y in (lo - zp, hi - zp, lo - zp - 1, hi - zp + 1, 0, 3, -3):
        base = y << s
        edges += [base + d for d in (-half - 1, -half, -half + 1, -1, 0, 1, half - 1, half, half + 1)]
    x = edges + rng.integers(xmin, xmax + 1, size=24).tolist()
    return np.unique(np.array([min(max(v, xmin), xmax) for v in x], dtype=np.int64))


@cocotb.test()
async def every_shift(dut):
    cfg = tb_cfg()
    rng = np.random.default_rng(cfg["seed"])
    in_w, out_w, signed = cfg["IN_W"], cfg["OUT_W"], cfg["LO"] < 0
    checked = 0
    for s in range(1 << cfg["SHIFT_W"]):
        x = inputs(rng, cfg, s)
        want = golden.requant(x[:, None], [1], [s], cfg["LO"], cfg["HI"], cfg["ZP_OUT"])[:, 0]
        dut.shift.value = s
        for xi, wi in zip(x.tolist(), want.tolist()):
            dut.x.value = xi & ((1 << in_w) - 1)
            await Timer(1, "ns")
            got = dut.y.value.to_signed() if signed else dut.y.value.to_unsigned()
            assert got == wi, (f"x={xi} shift={s}: y={got}, expected {wi} "
                               f"(IN_W={in_w} OUT_W={out_w} clamp [{cfg['LO']}, {cfg['HI']}] "
                               f"ZP_OUT={cfg['ZP_OUT']})")
            checked += 1
    dut._log.info(f"{checked} values checked")


# ----------------------------------------------------------------------------- pytest side

CASES = {
    # requant of the default network's conv1: ACC_W 21 + MULT_W 16, uint8 output
    "q15-u8": dict(IN_W=37, SHIFT_W=6, OUT_W=8, LO=0, HI=255, ZP_OUT=0),
    # int8 output with a negative zero point; shifts past the cap (IN_W-1 = 24) up to 31
    "s8-zp": dict(IN_W=25, SHIFT_W=5, OUT_W=8, LO=-128, HI=127, ZP_OUT=-7),
    # exhaustive: every 5-bit x and every 3-bit shift (cap 4), a 3-bit signed clamp
    "tiny": dict(IN_W=5, SHIFT_W=3, OUT_W=3, LO=-4, HI=3, ZP_OUT=1),
    # an inner clamp [3, 200] on an unsigned output, positive zero point
    "u8-inner": dict(IN_W=12, SHIFT_W=4, OUT_W=8, LO=3, HI=200, ZP_OUT=5),
}


@pytest.mark.parametrize("case", list(CASES))
def test_round_shift_clamp(sim, case):
    params = CASES[case]
    run_case(sim, "round_shift_clamp", case, params,
             dict(params, seed=3100 + list(CASES).index(case)))
