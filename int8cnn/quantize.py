"""Post-training quantization of a float model to a QNet (docs/quantization.md).

Calibration runs the float model on training images and takes each activation's maximum.
Layer kinds (int8cnn.models.layer_plan): conv2d / dense (int8 weights, int32 bias, per-channel
requantization), maxpool2d, avgpool2d (window sum + one multiplier s_in/(s_out*K*K), s_out calibrated)
act (an activation through a 256-entry lookup table, int8cnn.activations.lut_table) and add
(a residual add of two branches, each rescaled to the calibrated output scale by
int8cnn.residual.add_multipliers; ReLU after it is its [0, 255] clamp). Plan entries that read
anything but the entry before them keep their sources as QLayer.inputs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .models import layer_plan
from .ops import op_for
from .residual import add_multipliers
from .qnet import (SHIFT_MAX, QLayer, QNet, acc_bits_for, fixed_multiplier, pow2_multiplier,
                   sum_bits_for)

REQUANT_MODES = ("fixed", "pow2", "pow2_exact")
from .train import to_float


def _round_int(a: np.ndarray) -> np.ndarray:
    return np.round(a).astype(np.int64)  # half to even, float side only


@torch.no_grad()
def quantize(model, calib_images: np.ndarray, name: str, requant: str = "fixed",
             pow2_layers=(), bias_bits: int = 32) -> QNet:
    """Quantize `model` (a layer_plan network). requant "fixed": every requantization uses a
    16-bit multiplier and a shift; "pow2": shift only (M = 1) everywhere, S[c] = round(-log2 m[c]);
    "pow2_exact": shift only with exact power-of-two exponents: each output channel's weight
    scale is chosen as 2^-S[c] * s_out / s_in (S[c] the largest keeping its weights within +-127,
    at least 0; an average pool's output scale likewise), so the shift is the exact
    requantization and no rounding of m is lost (the seed-004 style; residual adds keep MA, MB).
    `pow2_layers` names
    layers that use shift-only requantization in "fixed" mode (rtl/requant.v POW2 = 1).
    bias_bits 16 stores biases as int16, saturated to [-32768, 32767] (the number saturated per
    layer is in QNet.meta["bias_saturated"]); 32 (default) raises if a bias does not fit int32."""
    if bias_bits not in (16, 32):
        raise ValueError(f"bias_bits must be 16 or 32, not {bias_bits!r}")
    if requant not in REQUANT_MODES:
        raise ValueError(f"requant must be one of {', '.join(REQUANT_MODES)}, not {requant!r}")
    ctx = _Ctx(requant, set(pow2_layers), bias_bits)
    model.eval()
    plan = layer_plan(model)
    # per plan entry: (float activation, scale, signed, [C, H, W], layer name); -1 is the image
    state = {-1: (to_float(calib_images).double(), 1.0 / 255.0, False, [1, 28, 28], "input")}
    layers = []
    for i, (kind, mod, relu, *inp) in enumerate(plan):
        srcs = list(inp[0]) if inp else [i - 1]
        # a layer reading anything but the entry before it names its sources in the manifest
        inputs = None if srcs == [i - 1] else [state[j][4] for j in srcs]
        step = _STEPS.get(kind, _quantize_mac)
        layer, x = step(ctx, _Entry(i, kind, mod, relu, [state[j] for j in srcs], inputs,
                                    i == len(plan) - 1))
        layers.append(layer)
        state[i] = (x, layer.scale_out, layer.out_signed, list(layer.out_shape), layer.name)
    unknown = ctx.pow2_layers - {l.name for l in layers if l.mult is not None and op_for(l).channel_requant}
    if unknown:
        raise ValueError(f"pow2_layers {sorted(unknown)} are not requantized layers of {name}")
    meta = {"bias_saturated": ctx.saturated} if bias_bits == 16 else {}
    return QNet(name=name, input_shape=[1, 28, 28], layers=layers, requant_mode=requant, meta=meta)


@dataclass
class _Ctx:
    """What every layer's quantization shares: the mode, the layer names so far, saturated biases."""
    requant: str
    pow2_layers: set
    bias_bits: int
    saturated: dict = field(default_factory=dict)
    count: dict = field(default_factory=dict)

    def new_name(self, prefix: str) -> str:
        self.count[prefix] = self.count.get(prefix, 0) + 1
        return f"{prefix}{self.count[prefix]}"

    def mode(self, lname: str) -> str:
        return _mode(self.requant, lname, self.pow2_layers)

    def multiplier(self, lname: str, m: float) -> tuple[int, int]:
        return pow2_multiplier(m) if self.mode(lname) == "pow2" else fixed_multiplier(m)


@dataclass
class _Entry:
    """One layer_plan entry: its sources' (float activation, scale, signed, shape, name)."""
    index: int
    kind: str
    mod: object
    relu: object
    srcs: list
    inputs: list | None
    last: bool


def _clamp_of(signed: bool) -> list:
    return [-128, 127] if signed else [0, 255]


def _quantize_add(ctx: _Ctx, e: _Entry):
    (x, s_in, in_signed, shape, _), (xb, s_b, _, shape_b, _) = e.srcs
    if shape_b != shape:
        raise ValueError(f"plan entry {e.index}: add of shapes {shape} and {shape_b}")
    x = x + xb
    if e.relu:
        x = torch.relu(x)
    s_out = max(float(x.abs().max()), 1e-12) / (255.0 if e.relu else 127.0)
    ma, mb, sh = add_multipliers(s_in, s_b, s_out)
    return QLayer(name=ctx.new_name("add"), type="add", in_shape=shape, out_shape=list(shape),
                  in_signed=in_signed, out_signed=not e.relu, relu=e.relu,
                  mult=np.array([ma, mb], dtype=np.int64), shift=np.array([sh], dtype=np.int64),
                  clamp=_clamp_of(not e.relu), scale_in=s_in, scale_out=s_out, inputs=e.inputs), x


def _quantize_act(ctx: _Ctx, e: _Entry):
    from .activations import ACTIVATIONS, lut_table
    x, s_in, in_signed, shape, _ = e.srcs[0]
    x = torch.from_numpy(ACTIVATIONS[e.mod](x.numpy()))
    signed = bool(x.min() < 0)
    s_out = max(float(x.abs().max()), 1e-12) / (127.0 if signed else 255.0)
    lo, hi = _clamp_of(signed)
    table = lut_table(e.mod, s_in, s_out, in_signed=in_signed, out_lo=lo, out_hi=hi)
    return QLayer(name=ctx.new_name("act"), type="act_lut", in_shape=shape, out_shape=list(shape),
                  in_signed=in_signed, out_signed=signed, activation=e.mod,
                  table=np.asarray(table, dtype=np.int64), clamp=[lo, hi], scale_in=s_in,
                  scale_out=s_out, inputs=e.inputs), x


def _quantize_pool(ctx: _Ctx, e: _Entry):
    x, s_in, in_signed, shape, _ = e.srcs[0]
    mod, lname = e.mod, ctx.new_name("pool")
    k = int(mod.kernel_size if isinstance(mod.kernel_size, int) else mod.kernel_size[0])
    st = int(mod.stride if isinstance(mod.stride, int) else mod.stride[0])
    out_shape = [shape[0], (shape[1] - k) // st + 1, (shape[2] - k) // st + 1]
    if e.kind == "maxpool2d":
        return QLayer(name=lname, type="maxpool2d", in_shape=shape, out_shape=out_shape,
                      in_signed=in_signed, out_signed=in_signed, kernel=k, stride=st,
                      scale_in=s_in, scale_out=s_in, inputs=e.inputs), \
            torch.nn.functional.max_pool2d(x, k, st)
    if st != k or getattr(mod, "padding", 0):
        raise ValueError(f"{lname}: average pooling needs stride == kernel, no padding")
    x = torch.nn.functional.avg_pool2d(x, k, st)
    # a mean is smaller than the maxima it is taken over: calibrate its own scale
    s_out = max(float(x.abs().max()), 1e-12) / (127.0 if in_signed else 255.0)
    if ctx.requant == "pow2_exact":  # the smallest s_out = s_in * 2^S / (K*K) >= the calibrated
        sh = _exponent(lname, np.ceil(np.log2(s_out * k * k / s_in)))
        s_out = s_in * 2.0 ** sh / (k * k)
    m, sh = ctx.multiplier(lname, s_in / (s_out * k * k))
    return QLayer(name=lname, type="avgpool2d", in_shape=shape, requant=ctx.mode(lname),
                  out_shape=out_shape, in_signed=in_signed, out_signed=in_signed,
                  kernel=k, stride=st, scale_in=s_in, scale_out=s_out,
                  mult=np.full(shape[0], m, dtype=np.int64), shift=np.full(shape[0], sh, dtype=np.int64),
                  clamp=_clamp_of(in_signed), acc_bits=sum_bits_for(k, in_signed), inputs=e.inputs), x


def _quantize_mac(ctx: _Ctx, e: _Entry):
    """conv2d / dense: int8 weights, int32 (or saturated int16) biases, then the requantization
    (the logits layer: raw accumulators)."""
    x, s_in, in_signed, shape, _ = e.srcs[0]
    mod, relu = e.mod, e.relu
    w = mod.weight.detach().double().numpy()
    b = mod.bias.detach().double().numpy()
    if e.kind == "conv2d":
        lname = ctx.new_name("conv")
        k, st, pad, groups = mod.kernel_size[0], mod.stride[0], mod.padding[0], mod.groups
        x = torch.nn.functional.conv2d(x, mod.weight.double(), mod.bias.double(), st, pad, groups=groups)
        out_shape = [w.shape[0], (shape[1] + 2 * pad - k) // st + 1, (shape[2] + 2 * pad - k) // st + 1]
    else:
        lname = ctx.new_name("fc")
        k, st, pad, groups = 1, 1, 0, 1
        x = torch.nn.functional.linear(torch.flatten(x, 1), mod.weight.double(), mod.bias.double())
        out_shape = [w.shape[0], 1, 1]
    if relu:  # ReLU6: the same [0, 255] clamp, the scale calibrated on the clipped range
        x = torch.clamp(x, 0.0, 6.0) if relu == "relu6" else torch.relu(x)
    s_out = max(float(x.abs().max()), 1e-12) / (255.0 if relu else 127.0)
    s_w = weight_scale(w, s_in, s_out, e.last, ctx.requant)
    wq = np.clip(_round_int(w / s_w.reshape((-1,) + (1,) * (w.ndim - 1))), -127, 127)
    bq = _round_int(b / (s_in * s_w))
    if np.abs(bq).max() >= 2 ** 31:
        raise OverflowError(f"{lname}: bias does not fit int32")
    if ctx.bias_bits == 16:
        ctx.saturated[lname] = int(((bq < -(1 << 15)) | (bq >= 1 << 15)).sum())
        bq = np.clip(bq, -(1 << 15), (1 << 15) - 1)
    layer = QLayer(name=lname, type=e.kind, in_shape=shape, out_shape=out_shape,
                   in_signed=in_signed, out_signed=True, kernel=k, stride=st, padding=pad,
                   weight=wq, bias=bq, scale_in=s_in, scale_w=[float(v) for v in s_w],
                   bias_bits=ctx.bias_bits, inputs=e.inputs, groups=groups)
    layer.acc_bits = acc_bits_for(wq, bq, in_signed)
    if e.last:
        layer.scale_out = float(s_in * s_w[0])
        if layer.acc_bits > 32:
            raise OverflowError(f"{lname}: logits need {layer.acc_bits} bits > 32")
        return layer, x
    mults = [ctx.multiplier(lname, s_in * sw / s_out) for sw in s_w]
    layer.requant = ctx.mode(lname)
    layer.mult = np.array([m for m, _ in mults], dtype=np.int64)
    layer.shift = np.array([s for _, s in mults], dtype=np.int64)
    layer.clamp = _clamp_of(not relu)
    layer.out_signed = not relu
    layer.relu = bool(relu)
    layer.scale_out = s_out
    return layer, x


# layer_plan kind -> its quantization (conv2d and dense: _quantize_mac)
_STEPS = {"add": _quantize_add, "act": _quantize_act, "avgpool2d": _quantize_pool,
          "maxpool2d": _quantize_pool}


def weight_scale(w: np.ndarray, s_in: float, s_out: float, last: bool, requant: str) -> np.ndarray:
    """Per-output-channel weight scales of a conv2d / dense layer with weights w [OC, ...]:
    max|w[c]| / 127; the logits layer (last) one scale for all outputs, so integer argmax ==
    real argmax; pow2_exact (not last): 2^-S[c] * s_out / s_in with S[c] the largest exponent
    keeping the channel's weights within +-127 (at least 0), so s_in * s_w[c] / s_out = 2^-S[c]
    exactly. Also the scale int8cnn.qat fake-quantizes with."""
    oc = w.shape[0]
    wmax = np.abs(w.reshape(oc, -1)).max(axis=1)
    if last:
        wmax = np.full(oc, wmax.max())
    if requant == "pow2_exact" and not last:
        sh = np.floor(np.log2(127.0 * s_out / (s_in * np.maximum(wmax, 1e-12))))
        sh = np.clip(sh, 0, SHIFT_MAX)  # S < 0 (m > 1): the weights saturate at +-127
        return 2.0 ** -sh * s_out / s_in
    return np.maximum(wmax, 1e-12) / 127.0


def _mode(requant: str, lname: str, pow2_layers: set) -> str:
    """The layer's requantization in the manifest / RTL: "pow2" (POW2 = 1) or "fixed"."""
    return "pow2" if requant in ("pow2", "pow2_exact") or lname in pow2_layers else "fixed"


def _exponent(lname: str, e: float) -> int:
    """A pow2_layer shift exponent, checked against the requantizer's 0..SHIFT_MAX."""
    if not 0 <= e <= SHIFT_MAX:
        raise ValueError(f"{lname}: power-of-two shift {e:.0f} outside 0..{SHIFT_MAX}")
    return int(e)
