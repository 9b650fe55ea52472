"""pad2d: cocotb tests and the pytest function that builds each parametrization.

Streams several images back to back under every stall configuration and compares every beat with
the input padded by numpy (np.pad with zeros) exactly; without stalls the input must stall exactly
once per padding beat (see axis_tb.stream_images).
"""
from __future__ import annotations

import numpy as np
import pytest

from axis_tb import make_images, pixel_beats, run_case, stall_test, start, stream_images

LATENCY = 1  # registered output (rtl/pad2d.v)


# ----------------------------------------------------------------------------- cocotb side

@stall_test
async def run_pad2d(dut, stall):
    cfg, rng, tb = await start(dut, stall)
    bits, p = cfg["DATA_W"], cfg["PAD"]
    images = make_images(rng, cfg["n_images"], (cfg["C"], cfg["IMG_H"], cfg["IMG_W"]), 1,
                         (1 << bits) - 1)  # never 0, so a misplaced padding beat shows
    padded = [np.pad(img, ((0, 0), (p, p), (p, p))) for img in images]
    await stream_images(tb, stall, images, bits, [pixel_beats(o, bits) for o in padded], cfg,
                        LATENCY)


# ----------------------------------------------------------------------------- pytest side

CASES = {
    # id: HDL parameters and the number of images streamed per stall configuration
    "small16-conv1": (dict(C=1, DATA_W=8, IMG_W=28, IMG_H=28, PAD=1), 2),
    "c3-5x4-pad2": (dict(C=3, DATA_W=8, IMG_W=5, IMG_H=4, PAD=2), 4),
    "c2-1x1-pad1-w5": (dict(C=2, DATA_W=5, IMG_W=1, IMG_H=1, PAD=1), 4),
}


@pytest.mark.parametrize("case", list(CASES))
def test_pad2d(sim, case):
    params, n_images = CASES[case]
    run_case(sim, "pad2d", case, params, dict(params, seed=99, n_images=n_images))
