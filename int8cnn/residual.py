"""Residual (element-wise) add: the float -> integer parameter choice.

A residual add y = a_real + b_real of two quantized branches (int8 or uint8, zero point 0, scales
s_a and s_b) into an output of scale s_out is computed in integers as

    y = clamp(((a*MA + b*MB + R) >>> S) + zp_out, lo, hi),   R = 1 << (S-1)  (0 when S = 0)

(golden.eltwise_add, rtl/eltwise_add.v) with MA / 2^S ~= s_a / s_out and MB / 2^S ~= s_b / s_out.
One MA, MB and S per layer (scalars), shared by every channel. See docs/quantization.md,
"Residual add".
"""
from __future__ import annotations

from int8cnn.qnet import MULT_BITS, fixed_multiplier


def add_multipliers(s_a: float, s_b: float, s_out: float,
                    mult_bits: int = MULT_BITS) -> tuple[int, int, int]:
    """(MA, MB, S) for a residual add of branches with scales s_a, s_b into scale s_out.

    S is chosen for the larger of the two real multipliers s_a/s_out, s_b/s_out exactly like
    qnet.fixed_multiplier (its integer multiplier lands in [2^(mult_bits-2), 2^(mult_bits-1)));
    the other branch uses the same S: M = round(m * 2^S), which is <= the larger one.
    Raises ValueError on a non-positive scale or a ratio too large for mult_bits.
    """
    for name, s in (("s_a", s_a), ("s_b", s_b), ("s_out", s_out)):
        if not s > 0:
            raise ValueError(f"add_multipliers: {name} must be positive, got {s}")
    m_a, m_b = s_a / s_out, s_b / s_out
    m_big, m_small = (m_a, m_b) if m_a >= m_b else (m_b, m_a)
    big, shift = fixed_multiplier(m_big, mult_bits)
    small = int(round(m_small * 2.0 ** shift))
    return (big, small, shift) if m_a >= m_b else (small, big, shift)
