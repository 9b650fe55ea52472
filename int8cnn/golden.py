"""Integer-only golden model (numpy), one function per layer type.

Every function is vectorized over a batch (axis 0) and works on exact integers (int64), following
docs/quantization.md. The RTL is checked against these functions bit for bit:

    golden function      RTL module            unit test
    conv2d_acc           rtl/conv2d.v          tb/test_conv2d.py
    requant              rtl/requant.v         tb/test_requant.py
    maxpool2d            rtl/maxpool2d.v       tb/test_maxpool2d.py
    dense_acc            rtl/dense.v           tb/test_dense.py
    argmax               rtl/argmax.v          tb/test_argmax.py
"""
from __future__ import annotations

import numpy as np


def _i64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.int64)


def conv2d_acc(x, w, b, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Convolution accumulators. x [N,C,H,W], w [OC,C,K,K], b [OC] -> int64 [N,OC,OH,OW]."""
    x, w, b = _i64(x), _i64(w), _i64(b)
    n, c, h, wd = x.shape
    oc, ic, k, k2 = w.shape
    assert ic == c and k == k2, (x.shape, w.shape)
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
        h, wd = h + 2 * padding, wd + 2 * padding
    oh, ow = (h - k) // stride + 1, (wd - k) // stride + 1
    # windows [N, C, OH, OW, K, K] as a strided view, then one tensordot over (C, K, K)
    s = x.strides
    win = np.lib.stride_tricks.as_strided(
        x, shape=(n, c, oh, ow, k, k),
        strides=(s[0], s[1], s[2] * stride, s[3] * stride, s[2], s[3]), writeable=False)
    acc = np.einsum("nchwij,ocij->nohw", win, w, optimize=True)
    return acc + b[None, :, None, None]


def requant(acc, mult, shift, lo: int, hi: int, zp_out: int = 0, axis: int = 1) -> np.ndarray:
    """Per-channel requantization: clamp(((acc*M + R) >> S) + zp, lo, hi), R = 1<<(S-1) or 0.

    Rounding is half up (arithmetic shift floors). `axis` is the channel axis of acc.
    """
    acc = _i64(acc)
    shape = [1] * acc.ndim
    shape[axis] = -1
    m = _i64(mult).reshape(shape)
    s = _i64(shift).reshape(shape)
    r = np.where(s > 0, np.left_shift(np.int64(1), np.maximum(s - 1, 0)), 0)
    prod = acc * m + r
    if np.abs(acc).max(initial=0) * np.abs(m).max(initial=0) >= (1 << 62):
        raise OverflowError("requant product exceeds int64")
    y = np.right_shift(prod, s) + zp_out
    return np.clip(y, lo, hi)


def maxpool2d(x, kernel: int = 2, stride: int | None = None) -> np.ndarray:
    """Max pooling of integer activations. x [N,C,H,W] -> [N,C,OH,OW] (floor mode, no padding)."""
    x = _i64(x)
    stride = stride or kernel
    n, c, h, w = x.shape
    oh, ow = (h - kernel) // stride + 1, (w - kernel) // stride + 1
    out = None
    for i in range(kernel):
        for j in range(kernel):
            v = x[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
            out = v if out is None else np.maximum(out, v)
    return out


def dense_acc(x, w, b) -> np.ndarray:
    """Fully connected accumulators. x [N,IN] (channel-major flattened), w [OUT,IN], b [OUT]."""
    return _i64(x) @ _i64(w).T + _i64(b)[None, :]


def argmax(logits) -> np.ndarray:
    """Index of the first maximum along axis 1 (ties go to the lowest index)."""
    return np.argmax(_i64(logits), axis=1)


def run_layer(layer, x: np.ndarray) -> np.ndarray:
    """One quantized layer (int8cnn.qnet.QLayer) on a batch [N,C,H,W] -> [N,C',H',W']."""
    if layer.type == "maxpool2d":
        return maxpool2d(x, layer.kernel, layer.stride)
    if layer.type == "conv2d":
        acc = conv2d_acc(x, layer.weight, layer.bias, layer.stride, layer.padding)
    elif layer.type == "dense":
        acc = dense_acc(x.reshape(x.shape[0], -1), layer.weight, layer.bias)[:, :, None, None]
    else:
        raise ValueError(f"layer {layer.name}: unsupported type {layer.type!r}")
    if layer.mult is None:
        return acc
    return requant(acc, layer.mult, layer.shift, layer.clamp[0], layer.clamp[1],
                   layer.zero_point_out)


def run_network(qnet, images, chunk: int = 2000) -> tuple[dict, np.ndarray]:
    """Run every layer on uint8 images [N,28,28] (or [N,1,28,28]).

    Returns ({layer name: int64 output [N,C,H,W]}, predicted classes [N])."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[:, None]
    outs: dict = {l.name: [] for l in qnet.layers}
    for i in range(0, len(images), chunk):
        x = images[i:i + chunk].astype(np.int64)
        for layer in qnet.layers:
            x = run_layer(layer, x)
            outs[layer.name].append(x)
    outs = {k: np.concatenate(v) for k, v in outs.items()}
    logits = outs[qnet.layers[-1].name].reshape(len(images), -1)
    return outs, argmax(logits)
