"""Post-training quantization of a float model to a QNet (docs/quantization.md).

Calibration runs the float model on training images and takes each activation's maximum.
Layer kinds (int8cnn.models.layer_plan): conv2d / dense (int8 weights, int32 bias, per-channel
requantization), maxpool2d, avgpool2d (window sum + one multiplier s_in/(s_out*K*K), s_out calibrated)
and act (an activation through a 256-entry lookup table, int8cnn.activations.lut_table).
"""
from __future__ import annotations

import numpy as np
import torch

from .models import layer_plan
from .qnet import (QLayer, QNet, acc_bits_for, fixed_multiplier, pow2_multiplier,
                   sum_bits_for)
from .train import to_float


def _round_int(a: np.ndarray) -> np.ndarray:
    return np.round(a).astype(np.int64)  # half to even, float side only


@torch.no_grad()
def quantize(model, calib_images: np.ndarray, name: str, requant: str = "fixed",
             pow2_layers=(), bias_bits: int = 32) -> QNet:
    """Quantize `model` (a layer_plan network). requant "fixed": every requantization uses a
    16-bit multiplier and a shift; "pow2": shift only (M = 1) everywhere. `pow2_layers` names
    layers that use shift-only requantization in "fixed" mode (rtl/requant.v POW2 = 1).
    bias_bits 16 stores biases as int16, saturated to [-32768, 32767] (the number saturated per
    layer is in QNet.meta["bias_saturated"]); 32 (default) raises if a bias does not fit int32."""
    if bias_bits not in (16, 32):
        raise ValueError(f"bias_bits must be 16 or 32, not {bias_bits!r}")
    saturated = {}
    if requant not in ("fixed", "pow2"):
        raise ValueError(f"requant must be 'fixed' or 'pow2', not {requant!r}")
    pow2_layers = set(pow2_layers)

    def multiplier(lname: str, m: float) -> tuple[int, int]:
        return (pow2_multiplier(m) if requant == "pow2" or lname in pow2_layers
                else fixed_multiplier(m))

    model.eval()
    plan = layer_plan(model)
    x = to_float(calib_images).double()
    shape = [1, 28, 28]
    s_in, in_signed = 1.0 / 255.0, False
    layers = []
    conv_i = pool_i = fc_i = act_i = 0
    clamp_of = lambda signed: [-128, 127] if signed else [0, 255]  # noqa: E731
    for i, (kind, mod, relu) in enumerate(plan):
        last = i == len(plan) - 1
        if kind == "act":
            from .activations import ACTIVATIONS, lut_table
            act_i += 1
            x = torch.from_numpy(ACTIVATIONS[mod](x.numpy()))
            signed = bool(x.min() < 0)
            s_out = max(float(x.abs().max()), 1e-12) / (127.0 if signed else 255.0)
            lo, hi = clamp_of(signed)
            table = lut_table(mod, s_in, s_out, in_signed=in_signed, out_lo=lo, out_hi=hi)
            layers.append(QLayer(name=f"act{act_i}", type="act_lut", in_shape=shape,
                                 out_shape=list(shape), in_signed=in_signed, out_signed=signed,
                                 activation=mod, table=np.asarray(table, dtype=np.int64),
                                 clamp=[lo, hi], scale_in=s_in, scale_out=s_out))
            s_in, in_signed = s_out, signed
            continue
        if kind == "avgpool2d":
            pool_i += 1
            k = int(mod.kernel_size if isinstance(mod.kernel_size, int) else mod.kernel_size[0])
            st = int(mod.stride if isinstance(mod.stride, int) else mod.stride[0])
            if st != k or getattr(mod, "padding", 0):
                raise ValueError(f"pool{pool_i}: average pooling needs stride == kernel, no padding")
            x = torch.nn.functional.avg_pool2d(x, k, st)
            out_shape = [shape[0], (shape[1] - k) // st + 1, (shape[2] - k) // st + 1]
            # a mean is smaller than the maxima it is taken over: calibrate its own scale
            s_out = max(float(x.abs().max()), 1e-12) / (127.0 if in_signed else 255.0)
            m, sh = multiplier(f"pool{pool_i}", s_in / (s_out * k * k))
            layers.append(QLayer(name=f"pool{pool_i}", type="avgpool2d", in_shape=shape,
                                 requant=_mode(requant, f"pool{pool_i}", pow2_layers),
                                 out_shape=out_shape, in_signed=in_signed, out_signed=in_signed,
                                 kernel=k, stride=st, scale_in=s_in, scale_out=s_out,
                                 mult=np.full(shape[0], m, dtype=np.int64),
                                 shift=np.full(shape[0], sh, dtype=np.int64),
                                 clamp=clamp_of(in_signed), acc_bits=sum_bits_for(k, in_signed)))
            s_in = s_out
            shape = out_shape
            continue
        if kind == "maxpool2d":
            pool_i += 1
            x = torch.nn.functional.max_pool2d(x, mod.kernel_size, mod.stride)
            k = int(mod.kernel_size if isinstance(mod.kernel_size, int) else mod.kernel_size[0])
            st = int(mod.stride if isinstance(mod.stride, int) else mod.stride[0])
            out_shape = [shape[0], (shape[1] - k) // st + 1, (shape[2] - k) // st + 1]
            layers.append(QLayer(name=f"pool{pool_i}", type="maxpool2d", in_shape=shape,
                                 out_shape=out_shape, in_signed=in_signed, out_signed=in_signed,
                                 kernel=k, stride=st, scale_in=s_in, scale_out=s_in))
            shape = out_shape
            continue
        w = mod.weight.detach().double().numpy()
        b = mod.bias.detach().double().numpy()
        if kind == "conv2d":
            conv_i += 1
            lname = f"conv{conv_i}"
            k, st, pad = mod.kernel_size[0], mod.stride[0], mod.padding[0]
            x = torch.nn.functional.conv2d(x, mod.weight.double(), mod.bias.double(), st, pad)
            out_shape = [w.shape[0], (shape[1] + 2 * pad - k) // st + 1,
                         (shape[2] + 2 * pad - k) // st + 1]
        else:
            fc_i += 1
            lname = f"fc{fc_i}"
            k, st, pad = 1, 1, 0
            x = torch.nn.functional.linear(torch.flatten(x, 1), mod.weight.double(), mod.bias.double())
            out_shape = [w.shape[0], 1, 1]
        oc = w.shape[0]
        wmax = np.abs(w.reshape(oc, -1)).max(axis=1)
        if last:  # one scale for all logits, so integer argmax == real argmax
            wmax = np.full(oc, wmax.max())
        s_w = np.maximum(wmax, 1e-12) / 127.0
        wq = np.clip(_round_int(w / s_w.reshape((-1,) + (1,) * (w.ndim - 1))), -127, 127)
        bq = _round_int(b / (s_in * s_w))
        if np.abs(bq).max() >= 2 ** 31:
            raise OverflowError(f"{lname}: bias does not fit int32")
        if bias_bits == 16:
            saturated[lname] = int(((bq < -(1 << 15)) | (bq >= 1 << 15)).sum())
            bq = np.clip(bq, -(1 << 15), (1 << 15) - 1)
        layer = QLayer(name=lname, type=kind, in_shape=shape, out_shape=out_shape,
                       in_signed=in_signed, out_signed=True, kernel=k, stride=st, padding=pad,
                       weight=wq, bias=bq, scale_in=s_in, scale_w=[float(v) for v in s_w],
                       bias_bits=bias_bits)
        layer.acc_bits = acc_bits_for(wq, bq, in_signed)
        if last:
            layer.out_signed = True
            layer.scale_out = float(s_in * s_w[0])
            if layer.acc_bits > 32:
                raise OverflowError(f"{lname}: logits need {layer.acc_bits} bits > 32")
        else:
            if relu:
                x = torch.relu(x)
            amax = float(x.abs().max())
            s_out = max(amax, 1e-12) / (255.0 if relu else 127.0)
            mults = [multiplier(lname, s_in * sw / s_out) for sw in s_w]
            layer.requant = _mode(requant, lname, pow2_layers)
            layer.mult = np.array([m for m, _ in mults], dtype=np.int64)
            layer.shift = np.array([s for _, s in mults], dtype=np.int64)
            layer.clamp = clamp_of(not relu)
            layer.out_signed = not relu
            layer.relu = relu
            layer.scale_out = s_out
            s_in, in_signed = s_out, not relu
        layers.append(layer)
        shape = out_shape
    unknown = pow2_layers - {l.name for l in layers if l.mult is not None}
    if unknown:
        raise ValueError(f"pow2_layers {sorted(unknown)} are not requantized layers of {name}")
    meta = {"bias_saturated": saturated} if bias_bits == 16 else {}
    return QNet(name=name, input_shape=[1, 28, 28], layers=layers, requant_mode=requant, meta=meta)


def _mode(requant: str, lname: str, pow2_layers: set) -> str:
    return "pow2" if requant == "pow2" or lname in pow2_layers else "fixed"
