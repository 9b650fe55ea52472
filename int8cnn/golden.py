"""Integer-only golden model (numpy), one function per layer type.

Every function is vectorized over a batch (axis 0) and works on exact integers (int64), following
docs/quantization.md. The RTL is checked against these functions bit for bit:

    golden function      RTL module            unit test
    conv2d_acc           rtl/conv2d.v          tb/test_conv2d.py
    requant              rtl/requant.v         tb/test_requant.py
      (with M = 1)       rtl/round_shift_clamp.v  tb/test_round_shift_clamp.py
    maxpool2d            rtl/maxpool2d.v       tb/test_maxpool2d.py
    avgpool2d_acc        rtl/avgpool2d.v       tb/test_avgpool2d.py
    dense_acc            rtl/dense.v           tb/test_dense.py
    argmax               rtl/argmax.v          tb/test_argmax.py
    eltwise_add          rtl/eltwise_add.v     tb/test_eltwise_add.py
    act_lut              rtl/act_lut.v         tb/test_act_lut.py
"""
from __future__ import annotations

import numpy as np


def _i64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.int64)


def conv2d_acc(x, w, b, stride: int = 1, padding: int = 0, groups: int = 1) -> np.ndarray:
    """Convolution accumulators. x [N,C,H,W], w [OC,C,K,K], b [OC] -> int64 [N,OC,OH,OW].

    groups = 1: full convolution. groups = C = OC: depthwise, w [C,1,K,K], output channel c
    sees only input channel c (PyTorch conv2d groups = C; rtl/conv2d.v DEPTHWISE = 1)."""
    x, w, b = _i64(x), _i64(w), _i64(b)
    n, c, h, wd = x.shape
    oc, ic, k, k2 = w.shape
    if groups == 1:
        assert ic == c and k == k2, (x.shape, w.shape)
    elif groups == c == oc:
        assert ic == 1 and k == k2, (x.shape, w.shape, groups)
    else:
        raise ValueError(f"groups={groups} unsupported (1, or C={c} = OC={oc} for depthwise)")
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
        h, wd = h + 2 * padding, wd + 2 * padding
    oh, ow = (h - k) // stride + 1, (wd - k) // stride + 1
    # windows [N, C, OH, OW, K, K] as a strided view, then one tensordot over (C, K, K)
    s = x.strides
    win = np.lib.stride_tricks.as_strided(
        x, shape=(n, c, oh, ow, k, k),
        strides=(s[0], s[1], s[2] * stride, s[3] * stride, s[2], s[3]), writeable=False)
    if groups == 1:
        acc = np.einsum("nchwij,ocij->nohw", win, w, optimize=True)
    else:
        acc = np.einsum("nchwij,cij->nchw", win, w[:, 0], optimize=True)
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


def _window_taps(x: np.ndarray, kernel: int, stride: int):
    """For each window position (i, j): the [N,C,OH,OW] view of x at that tap (floor mode)."""
    h, w = x.shape[2:]
    oh, ow = (h - kernel) // stride + 1, (w - kernel) // stride + 1
    assert oh >= 1 and ow >= 1, (x.shape, kernel, stride)
    for i in range(kernel):
        for j in range(kernel):
            yield x[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]


def maxpool2d(x, kernel: int = 2, stride: int | None = None) -> np.ndarray:
    """Max pooling of integer activations. x [N,C,H,W] -> [N,C,OH,OW] (floor mode, no padding)."""
    out = None
    for v in _window_taps(_i64(x), kernel, stride or kernel):
        out = v if out is None else np.maximum(out, v)
    return out


def dense_acc(x, w, b) -> np.ndarray:
    """Fully connected accumulators. x [N,IN] (channel-major flattened), w [OUT,IN], b [OUT]."""
    return _i64(x) @ _i64(w).T + _i64(b)[None, :]


def argmax(logits) -> np.ndarray:
    """Index of the first maximum along axis 1 (ties go to the lowest index)."""
    return np.argmax(_i64(logits), axis=1)


def act_lut(x, table, in_signed: bool = True) -> np.ndarray:
    """Activation by lookup table (int8cnn.activations.lut_table): y = table[x & 0xFF].

    x holds int8 values (in_signed) or uint8 values; the address is the raw input byte, so a
    signed input q < 0 reads entry q + 256. table [256] -> int64, same shape as x.
    """
    x, table = _i64(x), _i64(table)
    if table.shape != (256,):
        raise ValueError(f"act_lut: table must have 256 entries, got shape {table.shape}")
    lo, hi = (-128, 127) if in_signed else (0, 255)
    if x.size and (x.min() < lo or x.max() > hi):
        raise ValueError(f"act_lut: input outside [{lo}, {hi}] "
                         f"({'signed' if in_signed else 'unsigned'} 8-bit)")
    return table[x & 0xFF]


def eltwise_add(a, b, ma: int, mb: int, shift: int, lo: int, hi: int,
                zp_out: int = 0) -> np.ndarray:
    """Residual add of two integer tensors of one shape, each rescaled to the output scale:
    clamp(((a*MA + b*MB + R) >> S) + zp_out, lo, hi), R = 1<<(S-1) or 0 (S = 0).

    MA, MB and S are scalars (one per layer, int8cnn.residual.add_multipliers); rounding is half
    up exactly like `requant` (arithmetic shift floors). 0 <= S <= 62.
    """
    a, b = _i64(a), _i64(b)
    if a.shape != b.shape:
        raise ValueError(f"eltwise_add: shapes differ {a.shape} vs {b.shape}")
    ma, mb, shift = int(ma), int(mb), int(shift)
    if not 0 <= shift <= 62:
        raise ValueError(f"eltwise_add: shift must be 0..62, got {shift}")
    amax = int(np.abs(a).max(initial=0))
    bmax = int(np.abs(b).max(initial=0))
    if amax * abs(ma) + bmax * abs(mb) + (1 << max(shift - 1, 0)) >= (1 << 62):
        raise OverflowError("eltwise_add sum exceeds int64")
    # the rescaled sum is an accumulator requantized with M = 1: same rounding and clamp
    return requant(a * ma + b * mb, [1], [shift], lo, hi, zp_out, axis=-1)


def avgpool2d_acc(x, kernel: int, stride: int | None = None) -> np.ndarray:
    """Average-pool window sums. x [N,C,H,W] -> int64 [N,C,OH,OW] (floor mode, no padding).

    The division by K*K is the requantization that follows (`requant` with one M, S for all
    channels, M/2^S ~= s_in/(s_out*K*K)); global average pooling is kernel = H = W -> [N,C,1,1].
    """
    x = _i64(x)
    taps = list(_window_taps(x, kernel, stride or kernel))
    assert taps[0].size or not x.size, (x.shape, kernel, stride)
    return np.sum(taps, axis=0, dtype=np.int64)


# bounds no int64 value of a layer reaches: a requantizer "clamped" to them is not clamped
UNCLAMPED = (-(1 << 62), 1 << 62)
