"""avgpool2d: cocotb tests and the pytest function that builds each parametrization.

Streams several images back to back (random, all-max, random extremes, all-min, random) under every
stall configuration and compares every beat (the window sums, SUM_W-bit two's-complement lanes) with
golden.avgpool2d_acc exactly (see axis_tb.stream_images). The SUM_W of each case is the smallest the
RTL accepts, so the all-max / all-min images reach the ends of the sum range. A second pytest
function checks that the RTL rejects a too-narrow SUM_W and STRIDE != K at elaboration.
"""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from axis_tb import build_dir, make_images, pixel_beats, run_case, stall_test, start, stream_images
from int8cnn import golden
from int8cnn.sim import rtl_sources

LATENCY = 1  # cycles from the pixel that completes a window to its output beat (rtl/avgpool2d.v)


def sum_bits(k: int, data_w: int, signed: int) -> int:
    """Smallest two's-complement width holding +-K*K*max|x| (the RTL's SUM_W_MIN)."""
    mag = (1 << (data_w - 1)) if signed else (1 << data_w) - 1
    return (k * k * mag).bit_length() + 1


# ----------------------------------------------------------------------------- cocotb side

@stall_test
async def run_avgpool2d(dut, stall):
    cfg, rng, tb = await start(dut, stall)
    bits = cfg["DATA_W"]
    lo = -(1 << (bits - 1)) if cfg["IN_SIGNED"] else 0
    hi = lo + (1 << bits) - 1
    images = make_images(rng, cfg["n_images"], (cfg["C"], cfg["IMG_H"], cfg["IMG_W"]), lo, hi)
    out = golden.avgpool2d_acc(np.stack(images), kernel=cfg["K"], stride=cfg["STRIDE"])
    # the extreme images reach the sum range the RTL was built for (both ends when signed)
    kk = cfg["K"] ** 2
    assert out.max() == kk * hi and out.min() == kk * lo, (out.min(), out.max())
    assert kk * max(abs(lo), hi) < 1 << (cfg["SUM_W"] - 1)
    await stream_images(tb, stall, images, bits, [pixel_beats(o, cfg["SUM_W"]) for o in out], cfg,
                        LATENCY)


# ----------------------------------------------------------------------------- pytest side

def _case(c, signed, w, h, k, n_images):
    p = dict(C=c, DATA_W=8, IN_SIGNED=signed, IMG_W=w, IMG_H=h, K=k, STRIDE=k,
             SUM_W=sum_bits(k, 8, signed))
    return p, n_images


CASES = {
    # id: HDL parameters and the number of images streamed per stall configuration
    "2x2-c3-22x22": _case(3, 0, 22, 22, 2, 5),
    "global-c32-14x14": _case(32, 0, 14, 14, 14, 5),
    # floor mode: column 10 and rows 6, 7 are consumed and ignored
    "k3-c2-11x8-signed": _case(2, 1, 11, 8, 3, 5),
    "global-c4-7x7-signed": _case(4, 1, 7, 7, 7, 6),
    # K = 1 (no row buffer): the sums are the pixels
    "k1-c2-5x3-signed": _case(2, 1, 5, 3, 1, 4),
}


@pytest.mark.parametrize("case", list(CASES))
def test_avgpool2d(sim, case):
    params, n_images = CASES[case]
    run_case(sim, "avgpool2d", case, params, dict(params, seed=4242, n_images=n_images))


# parameter sets the RTL must refuse at elaboration, and the message it must print
BAD_PARAMS = {
    "sum-w-too-narrow": (dict(C=2, IN_SIGNED=1, IMG_W=8, IMG_H=8, K=2, STRIDE=2,
                              SUM_W=sum_bits(2, 8, 1) - 1), "SUM_W"),
    "stride-ne-k": (dict(C=2, IN_SIGNED=0, IMG_W=8, IMG_H=8, K=3, STRIDE=2,
                         SUM_W=sum_bits(3, 8, 0)), "STRIDE"),
}


@pytest.mark.parametrize("bad", list(BAD_PARAMS))
def test_avgpool2d_rejects(bad):
    """The initial-block checks stop an illegal parametrization (Icarus, -g2005), and the same
    check passes with the smallest legal SUM_W."""
    if not (shutil.which("iverilog") and shutil.which("vvp")):
        pytest.skip("Icarus Verilog not found")
    params, word = BAD_PARAMS[bad]
    out_dir = build_dir("avgpool2d", "icarus", f"reject-{bad}")
    out_dir.mkdir(parents=True, exist_ok=True)
    src = str(rtl_sources("avgpool2d")[0])

    def run(p: dict) -> str:
        vvp = out_dir / "sim.vvp"
        defs = [f"-Pavgpool2d.{k}={v}" for k, v in p.items()]
        subprocess.run(["iverilog", "-g2005", "-s", "avgpool2d", "-o", str(vvp), *defs, src],
                       check=True, capture_output=True, text=True)
        r = subprocess.run(["vvp", "-n", str(vvp)], capture_output=True, text=True, timeout=60)
        return r.stdout + r.stderr

    log = run(params)
    assert "Error: avgpool2d" in log and word in log, log
    good = dict(params, STRIDE=params["K"], SUM_W=sum_bits(params["K"], 8, params["IN_SIGNED"]))
    log = run(good)
    assert "Error" not in log, log
