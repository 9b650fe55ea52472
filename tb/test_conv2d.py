"""conv2d: cocotb tests and the pytest function that builds each parametrization.

The pytest side writes random weights / biases (with one all +127 and one all -128 output channel,
so the all-max / all-min test images reach the accumulator bound) as .mem files under
sim_build/<build>/ and sizes ACC_W from the worst-case bound like docs/quantization.md `acc_bits`.
The cocotb side reads the same files back, streams several images back to back under every stall
configuration and compares every beat with golden.conv2d_acc exactly (see axis_tb.stream_images).
Folded cases (MULTS > 0) also check, without stalls, the exact cycles between output beats
(T + g - 1, T = ceil(N / MULTS), N = int8cnn.hardware.layer_products: C_OUT*C_IN*K*K, or C*K*K
for a depthwise layer) and the latency T + 2; the folded DUT reads only its chunk-ordered weight
ROM (FOLD_FILE, written by int8cnn.export.fold_words), the golden model the flat file. Depthwise cases (DEPTHWISE = 1) write the weights
as [C,1,K,K] in [c][ky][kx] order and compare with golden.conv2d_acc(groups=C); BIAS_W = 16 cases
write 4-hex-digit biases including -32768 and 32767.
"""
from __future__ import annotations

import cocotb
import numpy as np
import pytest

from axis_tb import (build_dir, make_images, pixel_beats, run_case, stall_test, start,
                     stream_images, use_fold_rom, vstr)
from int8cnn import golden
from int8cnn.qnet import QLayer, acc_bits_for
from int8cnn.hardware import fold_cycles, layer_products
from memgen import pack_words, read_mem, write_mem

LATENCY = 4  # cycles from the pixel that completes a window to its output beat (rtl/conv2d.v);
#             pad2d adds one when PAD > 0
FOLDED_LATENCY = 2  # folded (MULTS > 0): T + 2 cycles (window2d 1, T chunks, accumulate 1)


# ----------------------------------------------------------------------------- cocotb side

def groups(cfg: dict) -> int:
    """PyTorch conv2d groups of the case: C_IN when DEPTHWISE = 1, else 1."""
    return cfg["C_IN"] if cfg.get("DEPTHWISE", 0) else 1


def conv_layer(cfg: dict, weight=None) -> QLayer:
    """The case as a flow layer (int8cnn.qnet.QLayer: its op gives the products and the fold ROM)."""
    k, s, p = cfg["K"], cfg["STRIDE"], cfg.get("PAD", 0)
    oh, ow = ((n + 2 * p - k) // s + 1 for n in (cfg["IMG_H"], cfg["IMG_W"]))
    return QLayer(name="dut", type="conv2d", in_shape=[cfg["C_IN"], cfg["IMG_H"], cfg["IMG_W"]],
                  out_shape=[cfg["C_OUT"], oh, ow], in_signed=bool(cfg["IN_SIGNED"]), out_signed=True,
                  kernel=k, stride=s, padding=p, groups=groups(cfg), weight=weight)


def window_products(cfg: dict) -> int:
    """Products per window of the case, from the flow's cycle formula (hardware.layer_products)."""
    return layer_products(conv_layer(cfg))


def stimulus(cfg: dict, rng: np.random.Generator):
    """(images, expected beats per image, latency, cycles per window T) of the case."""
    c_in, c_out, k = cfg["C_IN"], cfg["C_OUT"], cfg["K"]
    g = groups(cfg)
    w = np.array(read_mem(cfg["weight_file"], 8), dtype=np.int64).reshape(c_out, c_in // g, k, k)
    b = np.array(read_mem(cfg["bias_file"], cfg.get("BIAS_W", 32)), dtype=np.int64)
    assert len(b) == c_out
    lo, hi = (-128, 127) if cfg["IN_SIGNED"] else (0, 255)
    images = make_images(rng, cfg["n_images"], (c_in, cfg["IMG_H"], cfg["IMG_W"]), lo, hi)
    acc = golden.conv2d_acc(np.stack(images), w, b, stride=cfg["STRIDE"],
                            padding=cfg.get("PAD", 0), groups=g)  # [N,OC,OH,OW]
    lim = 1 << (cfg["ACC_W"] - 1)
    assert -lim <= acc.min() and acc.max() < lim, "test data overflow ACC_W"
    t = fold_cycles(window_products(cfg), cfg.get("MULTS", 0))
    latency = (LATENCY if t == 1 else t + FOLDED_LATENCY) + (1 if cfg.get("PAD", 0) else 0)
    return images, [pixel_beats(a, cfg["ACC_W"]) for a in acc], latency, t


@stall_test
async def run_conv2d(dut, stall):
    cfg, rng, tb = await start(dut, stall)
    images, expected, latency, t = stimulus(cfg, rng)
    await stream_images(tb, stall, images, 8, expected, cfg, latency, window_cycles=t)


@cocotb.test()
async def reset_mid_stream(dut):
    """A one-clock reset with every stage full behind a stopped sink, then the images again."""
    cfg, rng, tb = await start(dut, "none")
    images, expected, latency, t = stimulus(cfg, rng)
    frames_in = [pixel_beats(img, 8) for img in images]
    await tb.reset_when_blocked(frames_in, expected, latency,
                                timeout_ns=200 * (sum(map(len, frames_in)) + 100) * t)


# ----------------------------------------------------------------------------- pytest side

CASES = {
    # id: HDL parameters (IN_W = W_W = 8) and the number of images streamed per stall configuration
    "default-net": (dict(C_IN=1, C_OUT=3, K=7, IMG_W=28, IMG_H=28, STRIDE=1, IN_SIGNED=0), 3),
    "ci2-co3-k3-7x5-signed": (dict(C_IN=2, C_OUT=3, K=3, IMG_W=7, IMG_H=5, STRIDE=1,
                                   IN_SIGNED=1), 4),
    "ci3-co2-k3-10x7-s2": (dict(C_IN=3, C_OUT=2, K=3, IMG_W=10, IMG_H=7, STRIDE=2,
                                IN_SIGNED=0), 4),
    # zero padding (pad2d in front of the window), as in the small16 network, and pad 2 stride 2
    "ci2-co4-k3-9x6-pad1-signed": (dict(C_IN=2, C_OUT=4, K=3, IMG_W=9, IMG_H=6, STRIDE=1, PAD=1,
                                        IN_SIGNED=1), 4),
    "ci1-co2-k5-8x7-pad2-s2": (dict(C_IN=1, C_OUT=2, K=5, IMG_W=8, IMG_H=7, STRIDE=2, PAD=2,
                                    IN_SIGNED=0), 3),
    # 1x1 pointwise convolution (MobileNet-style channel mixing)
    "ci5-co4-k1-6x5-pointwise": (dict(C_IN=5, C_OUT=4, K=1, IMG_W=6, IMG_H=5, STRIDE=1,
                                      IN_SIGNED=1), 4),
    # folded onto MULTS multipliers: the default network on the UP5K's 8 DSPs (147 products in 19
    # cycles), a last chunk with one zero product (54 in 11), one multiplier, padding with
    # MULTS not a multiple of C_OUT, and MULTS > C_IN*K*K (a chunk spans both output channels)
    "default-net-m8": (dict(C_IN=1, C_OUT=3, K=7, IMG_W=28, IMG_H=28, STRIDE=1, IN_SIGNED=0,
                            MULTS=8), 2),
    "ci2-co3-k3-7x5-signed-m5": (dict(C_IN=2, C_OUT=3, K=3, IMG_W=7, IMG_H=5, STRIDE=1,
                                      IN_SIGNED=1, MULTS=5), 4),
    "ci3-co2-k3-10x7-s2-m1": (dict(C_IN=3, C_OUT=2, K=3, IMG_W=10, IMG_H=7, STRIDE=2,
                                   IN_SIGNED=0, MULTS=1), 3),
    "ci2-co4-k3-9x6-pad1-signed-m7": (dict(C_IN=2, C_OUT=4, K=3, IMG_W=9, IMG_H=6, STRIDE=1,
                                           PAD=1, IN_SIGNED=1, MULTS=7), 3),
    "ci1-co2-k5-8x7-pad2-s2-m30": (dict(C_IN=1, C_OUT=2, K=5, IMG_W=8, IMG_H=7, STRIDE=2, PAD=2,
                                        IN_SIGNED=0, MULTS=30), 3),
    # depthwise (groups = C): stride 1 and 2 with padding, folded with MULTS > C (two product
    # slots per channel, 36 products in 8 chunks, the last one with 4 zero products) and with
    # MULTS < C, no padding (the latency is checked too; 27 products in 14 chunks)
    "dw-c4-k3-9x7-pad1": (dict(C_IN=4, C_OUT=4, K=3, IMG_W=9, IMG_H=7, STRIDE=1, PAD=1,
                               IN_SIGNED=1, DEPTHWISE=1), 4),
    "dw-c3-k3-10x9-pad1-s2": (dict(C_IN=3, C_OUT=3, K=3, IMG_W=10, IMG_H=9, STRIDE=2, PAD=1,
                                   IN_SIGNED=0, DEPTHWISE=1), 4),
    "dw-c4-k3-9x7-pad1-m5": (dict(C_IN=4, C_OUT=4, K=3, IMG_W=9, IMG_H=7, STRIDE=1, PAD=1,
                                  IN_SIGNED=1, DEPTHWISE=1, MULTS=5), 3),
    "dw-c3-k3-10x9-s2-m2": (dict(C_IN=3, C_OUT=3, K=3, IMG_W=10, IMG_H=9, STRIDE=2,
                                 IN_SIGNED=0, DEPTHWISE=1, MULTS=2), 3),
    # int16 biases (BIAS_W = 16, 4 hex digits) reaching -32768 and 32767, parallel and folded
    "ci2-co3-k3-7x5-signed-b16": (dict(C_IN=2, C_OUT=3, K=3, IMG_W=7, IMG_H=5, STRIDE=1,
                                       IN_SIGNED=1, BIAS_W=16), 4),
    "ci2-co3-k3-7x5-signed-m5-b16": (dict(C_IN=2, C_OUT=3, K=3, IMG_W=7, IMG_H=5, STRIDE=1,
                                          IN_SIGNED=1, MULTS=5, BIAS_W=16), 3),
}


@pytest.mark.parametrize("case", list(CASES))
def test_conv2d(sim, case):
    params, n_images = CASES[case]
    rng = np.random.default_rng(sum(map(ord, case)))
    c_in, c_out, k = params["C_IN"], params["C_OUT"], params["K"]
    # depthwise: [C,1,K,K], file order [c][ky][kx]
    w = rng.integers(-128, 128, size=(c_out, c_in // groups(params), k, k))
    w[0] = 127
    if c_out > 1:
        w[1] = -128
    bias_w = params.get("BIAS_W", 32)
    if bias_w == 16:
        # the int16 extremes, with the weights that push each the same way (all-max images)
        b = rng.integers(-(1 << 15), 1 << 15, size=c_out)
        b[0], b[1] = (1 << 15) - 1, -(1 << 15)
    else:
        b = rng.integers(-100000, 100001, size=c_out)
    acc_w = acc_bits_for(w, b, bool(params["IN_SIGNED"]))  # docs/quantization.md acc_bits
    weight_file = write_mem(build_dir("conv2d", sim, case) / "weight.mem", pack_words(w, 8), 2)
    bias_file = write_mem(build_dir("conv2d", sim, case) / "bias.mem", pack_words(b, bias_w),
                          bias_w // 4)
    hdl = dict(params, ACC_W=acc_w, WEIGHT_FILE=vstr(weight_file), BIAS_FILE=vstr(bias_file))
    use_fold_rom(hdl, conv_layer(params, w), params.get("MULTS"),
                 build_dir("conv2d", sim, case) / "weight_fold.mem")
    cfg = dict(params, ACC_W=acc_w, weight_file=str(weight_file), bias_file=str(bias_file),
               seed=4321, n_images=n_images)
    run_case(sim, "conv2d", case, hdl, cfg)
