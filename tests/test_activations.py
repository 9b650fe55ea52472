"""Activation lookup tables (int8cnn/activations.py) and golden.act_lut.

1. lut_table against PyTorch (torch.nn.functional selu / gelu / relu6 / hardswish on float64),
   rounded half to even and clamped, for signed and unsigned input bytes and several scales.
2. Hand-checkable tables (relu6 at unit scales, the address -> input value mapping).
3. Argument validation: unknown names, non-positive or non-finite scales, bad clamp bounds.
4. golden.act_lut: y = table[x & 0xFF] for int8 and uint8 inputs, range checks.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from int8cnn import golden
from int8cnn.activations import ACTIVATIONS, lut_table

TORCH = {
    "selu": F.selu,
    "gelu": F.gelu,  # approximate="none": the exact erf form, torch.nn.GELU's default
    "relu6": F.relu6,
    "hardswish": F.hardswish,
}


def torch_table(name, s_in, s_out, in_signed, lo, hi):
    """The table built independently with torch: (table, real value f(q*s_in)/s_out per entry)."""
    a = torch.arange(256, dtype=torch.int64)
    q = torch.where(a >= 128, a - 256, a) if in_signed else a
    y = TORCH[name](q.to(torch.float64) * s_in) / s_out
    return torch.clamp(torch.round(y), lo, hi).to(torch.int64).numpy(), y.numpy()


def test_activations_are_the_torch_set():
    assert sorted(ACTIVATIONS) == sorted(TORCH)


@pytest.mark.parametrize("name", sorted(TORCH))
@pytest.mark.parametrize("in_signed", [True, False])
@pytest.mark.parametrize("s_in,s_out,lo,hi", [
    (0.05, 0.04, -128, 127),
    (0.03, 6 / 255, 0, 255),
    (0.1, 0.1, -128, 127),         # scales equal: q*1.0, exact ties of the float values
    (1 / 32, 1 / 64, -128, 127),   # power-of-two scales: many exact .5 ties
    (0.02, 0.5, -8, 7),            # narrow output range
])
def test_lut_table_matches_torch(name, in_signed, s_in, s_out, lo, hi):
    got = lut_table(name, s_in, s_out, in_signed, lo, hi)
    assert got.dtype == np.int64 and got.shape == (256,)
    want, real = torch_table(name, s_in, s_out, in_signed, lo, hi)
    # a float value within 1e-9 of a .5 tie may round either way when the two libraries' float
    # results differ in the last ulp; everywhere else the tables must agree exactly
    near_tie = np.abs(real - np.floor(real) - 0.5) < 1e-9
    bad = np.nonzero((got != want) & ~near_tie)[0]
    assert bad.size == 0, [(int(a), int(got[a]), int(want[a]), float(real[a])) for a in bad[:8]]
    assert np.all(np.abs(got - want) <= 1)
    assert got.min() >= lo and got.max() <= hi


def test_lut_table_address_is_the_input_byte():
    # relu6 at unit scales: table[a] = clamp(q, 0, 6) with q the byte's value, hand-checkable
    a = np.arange(256)
    signed = lut_table("relu6", 1.0, 1.0, in_signed=True)
    assert signed.tolist() == np.clip(np.where(a >= 128, a - 256, a), 0, 6).tolist()
    assert signed[255] == 0 and signed[128] == 0 and signed[5] == 5 and signed[127] == 6
    unsigned = lut_table("relu6", 1.0, 1.0, in_signed=False, out_lo=0, out_hi=255)
    assert unsigned.tolist() == np.clip(a, 0, 6).tolist()
    assert unsigned[255] == 6


def test_lut_table_rounds_half_to_even_and_clamps():
    # relu6 with s_in = 0.5, s_out = 1: q = 1, 3, 5 give 0.5, 1.5, 2.5 -> 0, 2, 2 (half to even)
    t = lut_table("relu6", 0.5, 1.0)
    assert [int(t[q]) for q in (1, 3, 5, 7)] == [0, 2, 2, 4]
    # output clamp: relu6 up to 6/0.01 = 600 -> 127; selu of -6.4 -> about -1.76/0.01 -> -128
    assert lut_table("relu6", 0.05, 0.01)[127] == 127
    assert lut_table("selu", 0.05, 0.01)[128] == -128
    # the reference functions at a few points (definitions, not torch)
    assert ACTIVATIONS["hardswish"](np.array([-3.0, 0.0, 1.0, 3.0])).tolist() == [0.0, 0.0, 4 / 6, 3.0]
    assert ACTIVATIONS["gelu"](np.array([1.0]))[0] == pytest.approx(0.5 * (1 + math.erf(2 ** -0.5)))
    assert ACTIVATIONS["selu"](np.array([2.0]))[0] == pytest.approx(2 * 1.0507009873554805)


@pytest.mark.parametrize("name", ["sigmoid", "RELU6", "", "gelu_tanh"])
def test_lut_table_unknown_name(name):
    with pytest.raises(ValueError, match="known: gelu, hardswish, relu6, selu"):
        lut_table(name, 0.05, 0.05)


@pytest.mark.parametrize("s_in,s_out", [(0.0, 0.1), (-0.1, 0.1), (0.1, 0.0), (0.1, -1e-3),
                                        (float("nan"), 0.1), (0.1, float("inf"))])
def test_lut_table_bad_scales(s_in, s_out):
    with pytest.raises(ValueError, match="positive finite scale"):
        lut_table("gelu", s_in, s_out)


def test_lut_table_bad_clamp():
    with pytest.raises(ValueError, match="out_lo"):
        lut_table("gelu", 0.1, 0.1, out_lo=5, out_hi=4)


def test_act_lut_golden():
    rng = np.random.default_rng(7)
    table = rng.integers(-128, 128, size=256)
    x = rng.integers(-128, 128, size=(3, 4, 5))
    y = golden.act_lut(x, table, in_signed=True)
    assert y.dtype == np.int64 and y.shape == x.shape
    assert all(y[i] == table[v + 256 if v < 0 else v] for i, v in np.ndenumerate(x))
    assert golden.act_lut(np.array([-1, -128, 0, 127]), table).tolist() == \
        [table[255], table[128], table[0], table[127]]
    xu = rng.integers(0, 256, size=(2, 50))
    assert golden.act_lut(xu, table, in_signed=False).tolist() == table[xu].tolist()


def test_act_lut_golden_checks_range():
    table = np.arange(256)
    with pytest.raises(ValueError, match="outside"):
        golden.act_lut(np.array([128]), table, in_signed=True)
    with pytest.raises(ValueError, match="outside"):
        golden.act_lut(np.array([-1]), table, in_signed=False)
    with pytest.raises(ValueError, match="256 entries"):
        golden.act_lut(np.array([0]), np.arange(255))
