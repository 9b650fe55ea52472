"""axis_skid: cocotb tests (run inside the simulator) and the pytest function that builds each case.

Random beats in random-length frames pass through unchanged under every stall configuration; with the
sink stopped the slice must accept exactly 2 beats (output register + skid register).
"""
from __future__ import annotations

import itertools
import json
import os
import random

import cocotb
import numpy as np
import pytest
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

LATENCY = 1  # cycles from an accepted input beat to the output (rtl/axis_skid.v)
STALLS = ["none", "idle", "bp", "burst", "random"]


# ----------------------------------------------------------------------------- cocotb side

def pause_generators(stall: str, rng: random.Random):
    """(source idle, sink backpressure) pause generators for one stall configuration; 1 = pause."""
    def rand(p):
        while True:
            yield int(rng.random() < p)
    return {
        "none": (None, None),
        "idle": (itertools.cycle([1, 1, 1, 0]), None),
        "bp": (None, itertools.cycle([1, 1, 1, 0])),
        "burst": (None, itertools.cycle([1] * 24 + [0] * 8)),
        "random": (rand(0.3), rand(0.5)),
    }[stall]


class TB:
    """Clock, reset, AXI-Stream source/sink and a handshake monitor around the DUT."""

    def __init__(self, dut):
        self.dut = dut
        Clock(dut.clk, 10, unit="ns").start()
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst,
                                      byte_size=len(dut.s_axis_tdata))
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst,
                                  byte_size=len(dut.m_axis_tdata))
        self.in_cycles: list[int] = []
        self.out_cycles: list[int] = []

    def set_stall(self, stall: str, rng: random.Random):
        idle, bp = pause_generators(stall, rng)
        if idle:
            self.source.set_pause_generator(idle)
        if bp:
            self.sink.set_pause_generator(bp)

    async def reset(self):
        self.dut.rst.value = 1
        for _ in range(3):
            await RisingEdge(self.dut.clk)
        self.dut.rst.value = 0
        await RisingEdge(self.dut.clk)
        cocotb.start_soon(self._monitor())

    async def _monitor(self):
        """Record handshake cycles; m_axis_tvalid must never be X/Z after reset."""
        dut, cycle = self.dut, 0
        while True:
            await RisingEdge(dut.clk)
            cycle += 1
            mv = dut.m_axis_tvalid.value
            assert mv.is_resolvable, f"m_axis_tvalid is {mv} at cycle {cycle} after reset"
            if int(dut.s_axis_tvalid.value) and int(dut.s_axis_tready.value):
                self.in_cycles.append(cycle)
            if int(mv) and int(dut.m_axis_tready.value):
                self.out_cycles.append(cycle)

    async def run(self, frames_in, frames_expected, decode, timeout_us):
        for f in frames_in:
            await self.source.send(AxiStreamFrame(f))
        for i, exp in enumerate(frames_expected):
            rx = await with_timeout(self.sink.recv(), timeout_us, "us")
            got = list(rx.tdata)
            assert len(got) == len(exp), (f"frame {i}: tlast after {len(got)} beats, "
                                          f"expected {len(exp)}")
            for j, (g, e) in enumerate(zip(got, exp)):
                assert g == e, f"frame {i} beat {j}: got {decode(g)} expected {decode(e)}"
        assert self.sink.empty()

    def check_full_throughput(self, n_in, n_out, latency):
        """Without stalls: one beat per clock in and out, and the documented latency."""
        ic, oc = self.in_cycles, self.out_cycles
        assert len(ic) == n_in and len(oc) == n_out
        assert ic[-1] - ic[0] == n_in - 1, "input stalled without backpressure"
        assert oc[-1] - oc[0] == n_out - 1, "output has bubbles without stalls"
        assert oc[0] - ic[0] == latency, f"latency {oc[0] - ic[0]}, expected {latency}"
def make_frames(rng: np.random.Generator, n: int, data_w: int) -> list[list[int]]:
    words = [int(v) for v in rng.integers(0, 1 << min(data_w, 62), size=n)]
    if data_w > 62:
        words = [w | (int(rng.integers(0, 1 << (data_w - 62))) << 62) for w in words]
    words[:4] = [0, (1 << data_w) - 1, 1, 1 << (data_w - 1)][:len(words)]
    frames, i = [], 0
    while i < n:
        k = min(n - i, int(rng.integers(1, 9)))
        frames.append(words[i:i + k])
        i += k
    return frames


@cocotb.test()
@cocotb.parametrize(stall=STALLS)
async def run_stream(dut, stall):
    cfg = json.loads(os.environ["TB_CFG"])
    seed = cfg["seed"] + STALLS.index(stall)
    rng, prng = np.random.default_rng(seed), random.Random(seed)
    n = cfg["beats"]
    frames = make_frames(rng, n, cfg["DATA_W"])

    tb = TB(dut)
    tb.set_stall(stall, prng)
    await tb.reset()
    await tb.run(frames, frames, hex, timeout_us=20 * n)
    if stall == "none":
        tb.check_full_throughput(n, n, LATENCY)


@cocotb.test()
async def capacity(dut):
    """Sink stopped: exactly the documented number of beats is accepted, then all drain in order."""
    cfg = json.loads(os.environ["TB_CFG"])
    cap = 2
    frames = make_frames(np.random.default_rng(cfg["seed"]), cap + 5, cfg["DATA_W"])
    tb = TB(dut)
    tb.sink.pause = True
    await tb.reset()
    for f in frames:
        await tb.source.send(AxiStreamFrame(f))
    await ClockCycles(dut.clk, cap + 20)
    assert len(tb.in_cycles) == cap, f"accepted {len(tb.in_cycles)} beats, capacity is {cap}"
    assert int(dut.s_axis_tready.value) == 0
    tb.sink.pause = False
    await tb.run([], frames, hex, timeout_us=10)


# ----------------------------------------------------------------------------- pytest side

CASES = {
    "w8": dict(DATA_W=8),    # byte lanes
    "w37": dict(DATA_W=37),  # odd width
}


@pytest.mark.parametrize("case", list(CASES))
def test_axis_skid(sim, case):
    from int8cnn.sim import rtl_sources, run_cocotb
    params = CASES[case]
    seed = 4000 + list(CASES).index(case)
    cfg = dict(params, seed=seed, beats=1000)
    run_cocotb(sim, "axis_skid", rtl_sources("axis_skid"), test_module="test_axis_skid",
               build_name=f"axis_skid-{sim}-{case}", parameters=params,
               extra_env={"TB_CFG": json.dumps(cfg)})
