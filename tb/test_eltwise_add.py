"""eltwise_add: cocotb tests (run inside the simulator) and the pytest function that builds each
case.

Two sources (input a idles with the stall's pattern, input b with
the third of axis_tb.pause_generators) and a sink with the stall's backpressure. The model is
golden.eltwise_add on the beats sent; every output beat and tlast (from input a) is compared
exactly. The join is checked on every clock: input a and
input b complete their handshakes in exactly the same cycles. Without stalls: one beat per clock,
latency 2.
"""
from __future__ import annotations


import numpy as np
import pytest
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from axis_tb import (STALLS, BusMonitor, frame_lengths, pause_generators, run_case,
                     split, stall_test, tb_cfg)
from int8cnn import golden
from int8cnn.residual import add_multipliers
from memgen import int_to_lanes, lanes_to_int

LATENCY = 2  # cycles from an accepted input beat pair to its output beat (rtl/eltwise_add.v)
INPUTS = ("s_axis_a", "s_axis_b")


# ----------------------------------------------------------------------------- cocotb side

def make_lanes(rng: np.random.Generator, n: int, c: int, signed: bool) -> np.ndarray:
    """[n, C] 8-bit lane values: full range, and the extremes of the type (and 0, +-1)."""
    lo, hi = (-128, 127) if signed else (0, 255)
    out = rng.integers(lo, hi + 1, size=(n, c))
    extreme = rng.random((n, c)) < 0.3
    picks = rng.choice([lo, hi, lo + 1, hi - 1, 0, 1, -1 if signed else 2], size=(n, c))
    out[extreme] = picks[extreme]
    out[:4] = [[lo], [hi], [0], [hi]][:n]  # first beats: all min, all max, zero, max
    return out.astype(np.int64)


async def drain(dut, src: dict, sink, n: int) -> None:
    """After the expected frames: both sources done, no extra beats, tvalid low."""
    for s in src.values():
        await with_timeout(s.wait(), 20_000 * n, "ns")
    await ClockCycles(dut.clk, LATENCY + 4)
    assert sink.empty(), "extra output beats after the last expected frame"
    assert str(dut.m_axis_tvalid.value) == "0", "m_axis_tvalid still high after the last frame"


@stall_test
async def run_stream(dut, stall):
    cfg = tb_cfg()
    seed = cfg["seed"] + STALLS.index(stall)
    rng = np.random.default_rng(seed)
    C, OUT_W, n = cfg["C"], cfg["OUT_W"], cfg["beats"]

    Clock(dut.clk, 10, unit="ns").start()
    src = {p: AxiStreamSource(AxiStreamBus.from_prefix(dut, p), dut.clk, dut.rst,
                              byte_size=len(dut.s_axis_a_tdata)) for p in INPUTS}
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst,
                         byte_size=len(dut.m_axis_tdata))
    idle, bp, idle_b = pause_generators(stall, seed)
    for gen, port in ((idle, src["s_axis_a"]), (idle_b, src["s_axis_b"]), (bp, sink)):
        if gen:
            port.set_pause_generator(gen)
    mon = BusMonitor(dut, INPUTS + ("m_axis",))
    await mon.reset(["m_axis"])

    a = make_lanes(rng, n, C, bool(cfg["A_SIGNED"]))
    b = make_lanes(rng, n, C, bool(cfg["B_SIGNED"]))
    y = golden.eltwise_add(a, b, cfg["MA"], cfg["MB"], cfg["S"], cfg["LO"], cfg["HI"],
                           cfg["ZP_OUT"])
    lengths = frame_lengths(rng, n)
    frames_a = split([lanes_to_int(r, 8) for r in a], lengths)
    # input b has no tlast: send it cut differently, tlast must follow input a only
    frames_b = split([lanes_to_int(r, 8) for r in b], frame_lengths(rng, n))
    expected = split([lanes_to_int(r, OUT_W) for r in y], lengths)
    for f in frames_a:
        await src["s_axis_a"].send(AxiStreamFrame(f))
    for f in frames_b:
        await src["s_axis_b"].send(AxiStreamFrame(f))

    def decode(w):
        return int_to_lanes(w, C, OUT_W, signed=cfg["LO"] < 0)

    for i, exp in enumerate(expected):
        rx = await with_timeout(sink.recv(), 20_000 * n, "ns")
        got = [int(v) for v in rx.tdata]
        assert len(got) == len(exp), f"frame {i}: tlast after {len(got)} beats, expected {len(exp)}"
        for j, (g, e) in enumerate(zip(got, exp)):
            assert g == e, f"frame {i} beat {j}: got {decode(g)} expected {decode(e)}"

    await drain(dut, src, sink, n)
    ca, cb, co = (mon.cycles[p] for p in INPUTS + ("m_axis",))
    assert len(ca) == n and len(cb) == n, f"accepted {len(ca)} a / {len(cb)} b beats of {n}"
    bad = next((k for k, (x, z) in enumerate(zip(ca, cb)) if x != z), None)
    assert bad is None, f"join broken: beat {bad} taken from a at cycle {ca[bad]}, b at {cb[bad]}"
    early = [k for k, (i, o) in enumerate(zip(ca, co)) if o - i < LATENCY]
    assert not early, (f"output beat {early[0]} left {co[early[0]] - ca[early[0]]} cycles "
                       f"after its input")
    dut._log.info("%d beats; stalls: %s", n, mon.stalls)
    if stall == "none":
        assert ca[-1] - ca[0] == n - 1 and mon.stalls["s_axis_a"] == mon.stalls["s_axis_b"] == 0, (
            "inputs stalled without backpressure")
        assert co[-1] - co[0] == n - 1, "output has bubbles without stalls"
        assert all(o - i == LATENCY for i, o in zip(ca, co)), f"latency is not {LATENCY}"
    else:
        # the two sources' idle patterns really disagreed: some input waited for the other
        assert mon.stalls["s_axis_a"] + mon.stalls["s_axis_b"] > 0, "the join never waited"


# ----------------------------------------------------------------------------- pytest side

def _from_scales(s_a: float, s_b: float, s_out: float) -> dict:
    ma, mb, s = add_multipliers(s_a, s_b, s_out)
    return dict(MULT_W=16, MA=ma, MB=mb, S=s)


CASES = {
    # int8 + int8 -> int8, multipliers from real scales (S = 15)
    "c4_ss": dict(C=4, A_SIGNED=1, B_SIGNED=1, LO=-128, HI=127, ZP_OUT=0, OUT_W=8,
                  **_from_scales(0.021, 0.034, 0.05)),
    # uint8 (after ReLU) + int8 -> uint8 output with a zero point
    "c8_us_zp": dict(C=8, A_SIGNED=0, B_SIGNED=1, LO=0, HI=255, ZP_OUT=60, OUT_W=8,
                     **_from_scales(0.012, 0.031, 0.03)),
    # S = 0, MA = MB = 1: plain a + b, saturating at both ends; narrow multipliers
    "sat_s0": dict(C=3, A_SIGNED=1, B_SIGNED=1, LO=-128, HI=127, ZP_OUT=0, OUT_W=8,
                   MULT_W=4, MA=1, MB=1, S=0),
    # extreme multipliers (+max, -min of 16 bits) on uint8 inputs, saturating at both ends of a
    # 9-bit output with a zero point
    "sat_max": dict(C=2, A_SIGNED=0, B_SIGNED=0, LO=-100, HI=100, ZP_OUT=3, OUT_W=9,
                    MULT_W=16, MA=32767, MB=-32768, S=15),
    # S = 1: half the sums are ties (round half up, also for negatives)
    "ties_s1": dict(C=4, A_SIGNED=1, B_SIGNED=0, LO=-128, HI=127, ZP_OUT=-2, OUT_W=8,
                    MULT_W=8, MA=1, MB=-1, S=1),
    # S = 62: beyond the datapath's shift cap, every output is the zero point
    "s_cap": dict(C=1, A_SIGNED=1, B_SIGNED=1, LO=-20, HI=20, ZP_OUT=7, OUT_W=6,
                  MULT_W=16, MA=-32768, MB=32767, S=62),
}


@pytest.mark.parametrize("case", list(CASES))
def test_eltwise_add(sim, case):
    params = CASES[case]
    seed = 7000 + list(CASES).index(case)
    run_case(sim, "eltwise_add", case, params, dict(params, seed=seed, beats=1000))
