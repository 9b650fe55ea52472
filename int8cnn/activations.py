"""Float activation functions and their 256-entry int8 lookup tables (rtl/act_lut.v).

The reference functions are float64 numpy/math, written in the same operation order as PyTorch's
CPU kernels (torch.nn.functional.selu, gelu (exact erf form, approximate="none"), relu6,
hardswish), so a table built here equals one built from torch outputs:

    selu(x)      = x * SCALE                       if x > 0
                   (exp(x) - 1) * (ALPHA * SCALE)  otherwise
    gelu(x)      = (x * 0.5) * (1 + erf(x * 1/sqrt(2)))
    relu6(x)     = min(max(x, 0), 6)
    hardswish(x) = x * min(max(x + 3, 0), 6) / 6

lut_table builds the table once, on the float side (the golden model and the RTL only look it up):

    table[a] = clamp(round_half_even(f(q * s_in) / s_out), out_lo, out_hi),   a = 0..255
    q = a (unsigned input),  q = a - 256 if a >= 128 else a (signed input)

The address a is the raw input byte. Ties round half to even (np.round), like every other float->int
rounding at quantization time (docs/quantization.md); it is table construction, not integer
datapath arithmetic.
"""
from __future__ import annotations

import math

import numpy as np

# torch.nn.SELU constants (Klambauer et al. 2017), as in ATen's selu
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def selu(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.where(x > 0, x * SELU_SCALE, (np.exp(np.minimum(x, 0.0)) - 1.0) * (SELU_ALPHA * SELU_SCALE))


def gelu(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    erf = np.vectorize(math.erf, otypes=[np.float64])
    return (x * 0.5) * (1.0 + erf(x * (1.0 / math.sqrt(2.0))))


def relu6(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.minimum(np.maximum(x, 0.0), 6.0)


def hardswish(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x * np.minimum(np.maximum(x + 3.0, 0.0), 6.0) / 6.0


ACTIVATIONS = {"selu": selu, "gelu": gelu, "relu6": relu6, "hardswish": hardswish}


def lut_table(name: str, s_in: float, s_out: float, in_signed: bool = True, out_lo: int = -128,
              out_hi: int = 127) -> np.ndarray:
    """int64 [256] lookup table of activation `name`: entry a = output for input byte a (see the
    module docstring). s_in, s_out are the real scales of the input and output (zero point 0)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; known: {', '.join(sorted(ACTIVATIONS))}")
    for label, s in (("s_in", s_in), ("s_out", s_out)):
        if not (isinstance(s, (int, float, np.floating, np.integer)) and math.isfinite(s) and s > 0):
            raise ValueError(f"{label} must be a positive finite scale, got {s!r}")
    if out_lo > out_hi:
        raise ValueError(f"out_lo ({out_lo}) > out_hi ({out_hi})")
    q = np.arange(256, dtype=np.int64)
    if in_signed:
        q = np.where(q >= 128, q - 256, q)
    y = ACTIVATIONS[name](q.astype(np.float64) * float(s_in)) / float(s_out)
    return np.clip(np.round(y), out_lo, out_hi).astype(np.int64)
