"""axis_fork: cocotb tests (run inside the simulator) and the pytest function that builds each case.

Random beats in random-length frames must reach both outputs exactly once each, in order, with
tlast, while the source idles with the stall's pattern and the two outputs are backpressured
independently (output a: the stall's sink pattern, output b: the third of axis_tb.pause_generators).
Without stalls: one beat per clock, latency 0 on both outputs. Further tests: one output stopped
(the other takes exactly one beat, then the input waits), and consumers whose tready is computed
combinationally from their own tvalid (must not deadlock).
"""
from __future__ import annotations

import itertools

import cocotb
import numpy as np
import pytest
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, Edge, First, RisingEdge, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from axis_tb import (STALLS, BusMonitor, frame_lengths, passthrough_words, pause_generators,
                     run_case, split, stall_test, tb_cfg)

LATENCY = 0  # cycles from the input beat to its output beats (rtl/axis_fork.v)
OUTPUTS = ("m_axis_a", "m_axis_b")


# ----------------------------------------------------------------------------- cocotb side

class ForkTB:
    """Clock, source on s_axis, one AxiStreamSink per output (or none: `sinks=False`), and a
    BusMonitor on all three buses."""

    def __init__(self, dut, sinks: bool = True):
        self.dut = dut
        Clock(dut.clk, 10, unit="ns").start()
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst,
                                      byte_size=len(dut.s_axis_tdata))
        self.sinks = {}
        if sinks:
            self.sinks = {p: AxiStreamSink(AxiStreamBus.from_prefix(dut, p), dut.clk, dut.rst,
                                           byte_size=len(dut.s_axis_tdata)) for p in OUTPUTS}
        self.monitor = BusMonitor(dut, ("s_axis",) + OUTPUTS)
        self.sent_beats = 0

    async def send(self, frames):
        for f in frames:
            await self.source.send(AxiStreamFrame(list(f)))
            self.sent_beats += len(f)

    async def expect(self, frames, timeout_ns: int):
        """Every frame, beat and tlast position on both outputs, exactly."""
        for p, sink in self.sinks.items():
            for i, exp in enumerate(frames):
                rx = await with_timeout(sink.recv(), timeout_ns, "ns")
                got = [int(v) for v in rx.tdata]
                assert got == list(exp), (f"{p} frame {i}: got {[hex(g) for g in got]} "
                                          f"expected {[hex(e) for e in exp]}")

    async def drain(self):
        """No extra beats, both output tvalids low, every sent beat accepted, and the handshake
        order of a latency-0 broadcast: output beat k is taken no later than input beat k
        completes, and output beat k+1 only after it."""
        dut = self.dut
        await with_timeout(self.source.wait(), 10_000 * (self.sent_beats + 10), "ns")
        await ClockCycles(dut.clk, LATENCY + 4)
        ic = self.monitor.cycles["s_axis"]
        assert len(ic) == self.sent_beats, f"DUT accepted {len(ic)} of {self.sent_beats} beats"
        for p in OUTPUTS:
            if self.sinks:
                assert self.sinks[p].empty(), f"{p}: extra output beats after the last frame"
            assert str(getattr(dut, f"{p}_tvalid").value) == "0", f"{p}_tvalid still high"
            oc = self.monitor.cycles[p]
            assert len(oc) == len(ic), f"{p}: {len(oc)} output beats for {len(ic)} input beats"
            for k, (o, i) in enumerate(zip(oc, ic)):
                assert o <= i, f"{p} beat {k}: taken at cycle {o}, after the input completed ({i})"
                if k + 1 < len(oc):
                    assert oc[k + 1] > i, f"{p} beat {k + 1}: taken before input beat {k} completed"
        dut._log.info("%d beats; stalls: %s", len(ic), self.monitor.stalls)


def make_frames(cfg: dict, rng: np.random.Generator, n: int):
    return split(passthrough_words(rng, n, cfg["DATA_W"]), frame_lengths(rng, n))


@stall_test
async def run_stream(dut, stall):
    """Source idles with the stall's pattern, output a with the stall's sink pattern, output b
    with a different one; without stalls one beat per clock on all three buses, latency 0."""
    cfg = tb_cfg()
    seed = cfg["seed"] + STALLS.index(stall)
    tb = ForkTB(dut)
    idle, bp, bp_b = pause_generators(stall, seed)
    if idle:
        tb.source.set_pause_generator(idle)
    if bp:
        tb.sinks["m_axis_a"].set_pause_generator(bp)
    if bp_b:
        tb.sinks["m_axis_b"].set_pause_generator(bp_b)
    await tb.monitor.reset(OUTPUTS)

    n = cfg["beats"]
    frames = make_frames(cfg, np.random.default_rng(seed), n)
    await tb.send(frames)
    await tb.expect(frames, timeout_ns=20_000 * n)
    await tb.drain()
    if stall == "none":
        ic = tb.monitor.cycles["s_axis"]
        assert ic[-1] - ic[0] == n - 1 and tb.monitor.stalls["s_axis"] == 0, "input stalled"
        for p in OUTPUTS:
            assert tb.monitor.cycles[p] == ic, f"{p}: not one beat per clock at latency {LATENCY}"
            assert tb.monitor.stalls[p] == 0
    else:
        # the patterns must really have stalled the outputs (b always, a with a sink pattern)
        assert tb.monitor.stalls["m_axis_b"] > 0, "output b never stalled"
        assert bp is None or tb.monitor.stalls["m_axis_a"] > 0, "output a never stalled"


async def one_output_stopped(dut, stopped: str):
    """Output `stopped` paused: the other output takes exactly the first beat, then shows tvalid
    low while the input waits; after the release both outputs get every frame."""
    cfg = tb_cfg()
    free = [p for p in OUTPUTS if p != stopped][0]
    tb = ForkTB(dut)
    tb.sinks[stopped].pause = True
    await tb.monitor.reset(OUTPUTS)
    frames = make_frames(cfg, np.random.default_rng(cfg["seed"]), 12)
    await tb.send(frames)
    await ClockCycles(dut.clk, 20)
    assert len(tb.monitor.cycles[free]) == 1, f"{free} took {len(tb.monitor.cycles[free])} beats"
    assert len(tb.monitor.cycles[stopped]) == 0
    assert len(tb.monitor.cycles["s_axis"]) == 0, "input beat completed without the stopped output"
    assert int(getattr(dut, f"{free}_tvalid").value) == 0, f"{free} offered the taken beat again"
    assert int(getattr(dut, f"{stopped}_tvalid").value) == 1
    assert int(dut.s_axis_tready.value) == 0
    tb.sinks[stopped].pause = False
    await tb.expect(frames, timeout_ns=10_000)
    await tb.drain()


@cocotb.test()
async def a_stopped(dut):
    await one_output_stopped(dut, "m_axis_a")


@cocotb.test()
async def b_stopped(dut):
    await one_output_stopped(dut, "m_axis_b")


async def ready_follows_valid(dut, prefix: str, allow, got: list):
    """A consumer whose tready = tvalid & allow (combinational on its own tvalid; `allow` changes
    once per clock); accepted (tdata, tlast) pairs go to `got`."""
    valid, ready = getattr(dut, f"{prefix}_tvalid"), getattr(dut, f"{prefix}_tready")
    data, last = getattr(dut, f"{prefix}_tdata"), getattr(dut, f"{prefix}_tlast")
    ok = next(allow)
    ready.value = 0
    while True:
        edge = await First(RisingEdge(dut.clk), Edge(valid))
        if isinstance(edge, RisingEdge):
            if int(valid.value) and int(ready.value):
                got.append((int(data.value), int(last.value)))
            ok = next(allow)
        ready.value = int(valid.value == 1) & ok


@cocotb.test()
async def ready_from_valid(dut):
    """Both consumers raise tready only while their own tvalid is high (a legal AXI consumer):
    every beat still reaches both, in order (a fork whose tvalid waited for the other output's
    tready would deadlock here)."""
    cfg = tb_cfg()
    rng = np.random.default_rng(cfg["seed"] + 99)
    tb = ForkTB(dut, sinks=False)
    await tb.monitor.reset(OUTPUTS)
    got = {p: [] for p in OUTPUTS}
    patterns = {"m_axis_a": itertools.cycle([1, 1, 0]), "m_axis_b": itertools.cycle([0, 1])}
    for p in OUTPUTS:
        cocotb.start_soon(ready_follows_valid(dut, p, patterns[p], got[p]))
    n = 200
    frames = make_frames(cfg, rng, n)
    await tb.send(frames)
    want = [(w, int(j == len(f) - 1)) for f in frames for j, w in enumerate(f)]
    for _ in range(50 * n):
        await RisingEdge(dut.clk)
        if all(len(got[p]) >= n for p in OUTPUTS):
            break
    for p in OUTPUTS:
        assert len(got[p]) >= n, f"{p}: {len(got[p])} of {n} beats in {50 * n} cycles (deadlock)"
    await tb.drain()
    for p in OUTPUTS:
        assert got[p] == want, f"{p}: {len(got[p])} beats, first mismatch at " + str(
            next((k for k, (g, w) in enumerate(zip(got[p], want)) if g != w), len(got[p])))


# ----------------------------------------------------------------------------- pytest side

CASES = {
    "w8": dict(DATA_W=8),    # one byte (a uint8/int8 channel)
    "w37": dict(DATA_W=37),  # odd width
}


@pytest.mark.parametrize("case", list(CASES))
def test_axis_fork(sim, case):
    params = CASES[case]
    seed = 6000 + list(CASES).index(case)
    run_case(sim, "axis_fork", case, params, dict(params, seed=seed, beats=1000))
