"""Post-training quantization of a float model to a QNet (docs/quantization.md).

Calibration runs the float model on training images and takes each activation's maximum.
"""
from __future__ import annotations

import numpy as np
import torch

from .models import layer_plan
from .qnet import QLayer, QNet, acc_bits_for, fixed_multiplier, pow2_multiplier
from .train import to_float


def _round_int(a: np.ndarray) -> np.ndarray:
    return np.round(a).astype(np.int64)  # half to even, float side only


@torch.no_grad()
def quantize(model, calib_images: np.ndarray, name: str, requant: str = "fixed") -> QNet:
    if requant not in ("fixed", "pow2"):
        raise ValueError(f"requant must be 'fixed' or 'pow2', not {requant!r}")
    model.eval()
    plan = layer_plan(model)
    x = to_float(calib_images).double()
    shape = [1, 28, 28]
    s_in, in_signed = 1.0 / 255.0, False
    layers = []
    conv_i = pool_i = fc_i = 0
    for i, (kind, mod, relu) in enumerate(plan):
        last = i == len(plan) - 1
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
        layer = QLayer(name=lname, type=kind, in_shape=shape, out_shape=out_shape,
                       in_signed=in_signed, out_signed=True, kernel=k, stride=st, padding=pad,
                       weight=wq, bias=bq, scale_in=s_in, scale_w=[float(v) for v in s_w])
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
            mults = [fixed_multiplier(s_in * sw / s_out) if requant == "fixed"
                     else pow2_multiplier(s_in * sw / s_out) for sw in s_w]
            layer.mult = np.array([m for m, _ in mults], dtype=np.int64)
            layer.shift = np.array([s for _, s in mults], dtype=np.int64)
            layer.clamp = [0, 255] if relu else [-128, 127]
            layer.out_signed = not relu
            layer.relu = relu
            layer.scale_out = s_out
            s_in, in_signed = s_out, not relu
        layers.append(layer)
        shape = out_shape
    return QNet(name=name, input_shape=[1, 28, 28], layers=layers, requant_mode=requant)
