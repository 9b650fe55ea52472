"""Residual add: golden.eltwise_add (integer) and residual.add_multipliers (float -> integer).

1. eltwise_add on hand-worked rounding / saturation cases and against an independent
   Fraction-based round-half-up on random inputs.
2. add_multipliers: the larger multiplier lands in [2^14, 2^15), both share S, and the integer add
   is within 1 LSB of round((a*s_a + b*s_b) / s_out) wherever no clamping happens; non-positive
   scales raise ValueError.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from int8cnn import golden
from int8cnn.residual import add_multipliers

# ---------------------------------------------------------------------------------------------
# eltwise_add: clamp(((a*MA + b*MB + R) >> S) + zp, lo, hi), R = 1 << (S-1), round half up

# (a, b, MA, MB, S, expected) worked out by hand as round-half-up of (a*MA + b*MB) / 2^S
ADD_CASES = [
    (1, 2, 1, 1, 1, 2),        # 1.5 -> 2
    (2, 3, 1, 1, 1, 3),        # 2.5 -> 3 (half up, not half even)
    (-1, -2, 1, 1, 1, -1),     # -1.5 -> -1 (half up is toward +inf)
    (-3, -2, 1, 1, 1, -2),     # -2.5 -> -2
    (-1, 0, 1, 1, 1, 0),       # -0.5 -> 0
    (3, -1, 1, 1, 2, 1),       # 0.5 -> 1
    (-5, -1, 1, 1, 2, -1),     # -1.5 -> -1
    (10, 4, 3, 5, 3, 6),       # 50/8 = 6.25 -> 6
    (10, 4, 3, 6, 3, 7),       # 54/8 = 6.75 -> 7
    (7, -9, 2, 1, 0, 5),       # S = 0: no rounding term
]


@pytest.mark.parametrize("a,b,ma,mb,s,exp", ADD_CASES)
def test_eltwise_add_rounding(a, b, ma, mb, s, exp):
    assert golden.eltwise_add([a], [b], ma, mb, s, -1000, 1000)[0] == exp


def test_eltwise_add_zero_point_and_clamp():
    a = np.array([[127, -128, 0, 100]])
    b = np.array([[127, -128, 0, -100]])
    # S = 0, MA = MB = 1: plain sum, saturating both ends of int8
    np.testing.assert_array_equal(golden.eltwise_add(a, b, 1, 1, 0, -128, 127), [[127, -128, 0, 0]])
    # zero point after the shift, before the clamp (uint8 output)
    np.testing.assert_array_equal(golden.eltwise_add(a, b, 1, 1, 1, 0, 255, zp_out=128),
                                  [[255, 0, 128, 128]])


def test_eltwise_add_matches_fraction_model():
    rng = np.random.default_rng(7)
    for _ in range(50):
        ma, mb = (int(v) for v in rng.integers(-(1 << 15), 1 << 15, size=2))
        s = int(rng.integers(0, 24))
        zp = int(rng.integers(-20, 21))
        a = rng.integers(-128, 128, size=40)
        b = rng.integers(0, 256, size=40)
        got = golden.eltwise_add(a, b, ma, mb, s, -128, 127, zp)
        for ai, bi, g in zip(a, b, got):
            exact = Fraction(int(ai) * ma + int(bi) * mb, 1 << s)
            want = min(127, max(-128, math.floor(exact + Fraction(1, 2)) + zp))
            assert g == want, (ai, bi, ma, mb, s, zp)


def test_eltwise_add_errors():
    with pytest.raises(ValueError):
        golden.eltwise_add([1, 2], [1], 1, 1, 0, -128, 127)
    with pytest.raises(ValueError):
        golden.eltwise_add([1], [1], 1, 1, 63, -128, 127)
    with pytest.raises(ValueError):
        golden.eltwise_add([1], [1], 1, 1, -1, -128, 127)
    with pytest.raises(OverflowError):
        golden.eltwise_add([1 << 40], [1], 1 << 30, 1, 0, -128, 127)


# ---------------------------------------------------------------------------------------------
# add_multipliers

def _scales(rng, n):
    """n random (s_a, s_b, s_out) with s_a/s_out and s_b/s_out log-uniform in [1/32, 4]."""
    out = []
    for _ in range(n):
        s_out = float(10 ** rng.uniform(-3, 0))
        ra, rb = (2.0 ** rng.uniform(-5, 2) for _ in range(2))
        out.append((ra * s_out, rb * s_out, s_out))
    return out


def test_add_multipliers_range_and_shared_shift():
    rng = np.random.default_rng(1)
    for s_a, s_b, s_out in _scales(rng, 200) + [(0.5, 0.5, 1.0), (1.0, 0.25, 1.0)]:
        ma, mb, s = add_multipliers(s_a, s_b, s_out)
        assert 0 <= s <= 62
        assert (1 << 14) <= max(ma, mb) < (1 << 15), (s_a, s_b, s_out, ma, mb, s)
        assert 0 < min(ma, mb) <= max(ma, mb)
        assert (ma >= mb) if s_a >= s_b else (mb >= ma)
        # both multipliers are the real ratios at the one shared shift, to half an LSB of M
        assert abs(ma - s_a / s_out * 2 ** s) <= 0.5 + 1e-9
        assert abs(mb - s_b / s_out * 2 ** s) <= 0.5 + 1e-9
    assert add_multipliers(1.0, 1.0, 1.0) == (1 << 14, 1 << 14, 14)
    assert add_multipliers(0.5, 2.0, 1.0, mult_bits=12) == (1 << 8, 1 << 10, 9)


@pytest.mark.parametrize("a_signed,b_signed", [(True, True), (False, True), (False, False)])
def test_add_multipliers_within_one_lsb(a_signed, b_signed):
    rng = np.random.default_rng(2 + 2 * a_signed + b_signed)
    lo, hi = -128, 127
    checked = 0
    for s_a, s_b, s_out in _scales(rng, 100):
        ma, mb, s = add_multipliers(s_a, s_b, s_out)
        a = rng.integers(-128, 128, size=500) if a_signed else rng.integers(0, 256, size=500)
        b = rng.integers(-128, 128, size=500) if b_signed else rng.integers(0, 256, size=500)
        y = golden.eltwise_add(a, b, ma, mb, s, lo, hi)
        ideal = np.round((a * s_a + b * s_b) / s_out)
        free = (ideal > lo) & (ideal < hi)  # no clamping on either side
        assert np.abs(y[free] - ideal[free]).max(initial=0) <= 1, (s_a, s_b, s_out)
        checked += int(free.sum())
    assert checked > 10_000


@pytest.mark.parametrize("bad", [(0.0, 1.0, 1.0), (1.0, -0.1, 1.0), (1.0, 1.0, 0.0),
                                 (1.0, 1.0, -2.0), (float("nan"), 1.0, 1.0)])
def test_add_multipliers_rejects_non_positive_scales(bad):
    with pytest.raises(ValueError):
        add_multipliers(*bad)
