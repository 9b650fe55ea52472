"""window2d: cocotb tests and the pytest function that builds each parametrization.

The cocotb side streams several images back to back through the DUT under every stall
configuration and compares every output beat and every tlast position with a numpy model exactly.
With no stalls it also checks the latency of every output beat and that the input is never stalled
(one beat per clock). The image-stream stimulus and checks are shared with test_conv2d.py and
test_maxpool2d.py (axis_tb.stream_images).
"""
from __future__ import annotations

import numpy as np
import pytest

from axis_tb import make_images, run_case, stall_test, start, stream_images
from memgen import lanes_to_int

LATENCY = 1  # cycles from the pixel that completes a window to its output beat (rtl/window2d.v)


# ----------------------------------------------------------------------------- cocotb side

def window_model(img: np.ndarray, k: int, stride: int, bits: int) -> list[int]:
    """Output beats of one [C,H,W] image: window (oy, ox) in raster order, lane (ky*K+kx)*C+c."""
    c, h, w = img.shape
    oh, ow = (h - k) // stride + 1, (w - k) // stride + 1
    beats = []
    for oy in range(oh):
        for ox in range(ow):
            win = img[:, oy * stride:oy * stride + k, ox * stride:ox * stride + k]  # [C,K,K]
            beats.append(lanes_to_int(win.transpose(1, 2, 0), bits))  # lane (ky*K+kx)*C+c
    return beats


@stall_test
async def run_window2d(dut, stall):
    cfg, rng, tb = await start(dut, stall)
    bits = cfg["DATA_W"]
    images = make_images(rng, cfg["n_images"], (cfg["C"], cfg["IMG_H"], cfg["IMG_W"]), 0,
                         (1 << bits) - 1)
    expected = [window_model(img, cfg["K"], cfg["STRIDE"], bits) for img in images]
    await stream_images(tb, stall, images, bits, expected, cfg, LATENCY)


# ----------------------------------------------------------------------------- pytest side

CASES = {
    # id: C, DATA_W, IMG_W, IMG_H, K, STRIDE. The default network's geometries (K=7 S=1 on 28x28,
    # K=2 S=2 on 22x22) run through window2d in test_conv2d.py / test_maxpool2d.py; these cover
    # a non-byte width, stride > 1 with leftover rows/columns, K = IMG_W and K = 1, and a stride
    # whose phase at row/column 0 is not 0 ((K-1) % STRIDE != 0: a phase counter stepping down
    # instead of up is only caught there; found by tb/mutate.py).
    "c1w5-11x9-k4-s3": dict(C=1, DATA_W=5, IMG_W=11, IMG_H=9, K=4, STRIDE=3),
    "c1-10x8-k3-s3": dict(C=1, DATA_W=8, IMG_W=10, IMG_H=8, K=3, STRIDE=3),
    "c2-3x4-k3-s2": dict(C=2, DATA_W=8, IMG_W=3, IMG_H=4, K=3, STRIDE=2),
    "c2-4x3-k1-s1": dict(C=2, DATA_W=8, IMG_W=4, IMG_H=3, K=1, STRIDE=1),
}


@pytest.mark.parametrize("case", list(CASES))
def test_window2d(sim, case):
    params = CASES[case]
    run_case(sim, "window2d", case, params, dict(params, seed=1234, n_images=4))
