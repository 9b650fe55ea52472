"""maxpool2d: cocotb tests and the pytest function that builds each parametrization.

Streams several images back to back under every stall configuration and compares every beat with
golden.maxpool2d exactly (see axis_tb.stream_images).
"""
from __future__ import annotations

import numpy as np
import pytest

from axis_tb import make_images, pixel_beats, run_case, stall_test, start, stream_images
from int8cnn import golden

LATENCY = 2  # cycles from the pixel that completes a window to its output beat (rtl/maxpool2d.v)


# ----------------------------------------------------------------------------- cocotb side

@stall_test
async def run_maxpool2d(dut, stall):
    cfg, rng, tb = await start(dut, stall)
    bits = cfg["DATA_W"]
    lo = -(1 << (bits - 1)) if cfg["IN_SIGNED"] else 0
    hi = lo + (1 << bits) - 1
    images = make_images(rng, cfg["n_images"], (cfg["C"], cfg["IMG_H"], cfg["IMG_W"]), lo, hi)
    out = golden.maxpool2d(np.stack(images), kernel=cfg["K"], stride=cfg["STRIDE"])  # [N,C,OH,OW]
    await stream_images(tb, stall, images, bits, [pixel_beats(o, bits) for o in out], cfg, LATENCY)


# ----------------------------------------------------------------------------- pytest side

CASES = {
    # id: HDL parameters and the number of images streamed per stall configuration
    "default-net": (dict(C=3, DATA_W=8, IN_SIGNED=0, IMG_W=22, IMG_H=22, K=2, STRIDE=2), 3),
    "c2-9x7-k3-s2-signed": (dict(C=2, DATA_W=8, IN_SIGNED=1, IMG_W=9, IMG_H=7, K=3, STRIDE=2), 4),
}


@pytest.mark.parametrize("case", list(CASES))
def test_maxpool2d(sim, case):
    params, n_images = CASES[case]
    run_case(sim, "maxpool2d", case, params, dict(params, seed=777, n_images=n_images))
