"""The top-level test configuration travels once, with one set of defaults (tb/topcfg.py), and the
unit and top-level stall patterns share one vocabulary and one generator factory (tb/stalls.py)."""
from __future__ import annotations

import itertools

import pytest

import stalls
from topcfg import ENV, TopConfig


def test_config_round_trip_and_defaults(monkeypatch):
    c = TopConfig(images=12, stall="idle", mults=64, fault="INT8CNN_FAULT_FC_BIAS", stall_points=9)
    monkeypatch.setenv(ENV, c.to_env()[ENV])
    assert TopConfig.from_env() == c
    monkeypatch.delenv(ENV)
    d = TopConfig.from_env()
    assert (d.dataset, d.images, d.stall, d.check_layers, d.mults) == ("golden", 0, "none", True, None)


def test_config_unknown_field_is_an_error(monkeypatch):
    monkeypatch.setenv(ENV, '{"imagez": 3}')
    with pytest.raises(TypeError, match="imagez"):
        TopConfig.from_env()


def test_unit_patterns_are_the_old_matrix():
    """idle / backpressure / burst are the periodic patterns the unit tests always ran; the second
    generator of a two-input module differs from both; an unknown name is one clear error."""
    def first(gen, n):
        return list(itertools.islice(gen, n))
    idle, bp, second = stalls.pause_generators("idle", 3, stalls.UNIT_STALLS)
    assert first(idle, 8) == [1, 1, 1, 0] * 2 and bp is None and first(second, 6) == [1, 0, 0] * 2
    _, bp, _ = stalls.pause_generators("backpressure", 3, stalls.UNIT_STALLS)
    assert first(bp, 8) == [1, 1, 1, 0] * 2
    _, bp, second = stalls.pause_generators("burst", 3, stalls.UNIT_STALLS)
    assert first(bp, 32) == [1] * 24 + [0] * 8 and first(second, 20) == [1] * 10 + [0] * 10
    idle, bp, second = stalls.pause_generators("random", 3, stalls.UNIT_STALLS)
    for gen, p in ((idle, 0.3), (bp, 0.5), (second, 0.4)):
        share = sum(first(gen, 20000)) / 20000
        assert abs(share - p) < 0.02, (p, share)
    assert stalls.pause_generators("none", 3, stalls.UNIT_STALLS) == (None, None, None)
    with pytest.raises(ValueError, match="unknown stall pattern 'bp'"):
        stalls.pause_generators("bp", 3, stalls.UNIT_STALLS)
    # the top-level table keeps its two generators
    assert len(stalls.pause_generators("random", 3)) == 2
