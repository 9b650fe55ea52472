"""argmax: cocotb tests (run inside the simulator) and the pytest function that builds each case.

Random vectors with many ties and extremes; the model is golden.argmax (first maximum) and every
output beat (index lane, sign-extended lanes) and tlast is compared exactly.
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
from cocotb.triggers import RisingEdge, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from int8cnn import golden
from memgen import int_to_lanes, lanes_to_int

LATENCY = 1  # cycles from an accepted input beat to its output beat (rtl/argmax.v)
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


def make_vectors(rng: np.random.Generator, n: int, lanes: int, data_w: int) -> np.ndarray:
    """[n, lanes]: full range, narrow range (ties), all equal, extremes, duplicated maxima."""
    lo, hi = -(1 << (data_w - 1)), (1 << (data_w - 1)) - 1
    x = np.zeros((n, lanes), dtype=np.int64)
    for i in range(n):
        r = rng.random()
        if r < 0.3:
            v = rng.integers(lo, hi + 1, size=lanes)
        elif r < 0.6:
            v = rng.integers(max(lo, -3), min(hi, 3) + 1, size=lanes)
        elif r < 0.7:
            v = np.full(lanes, rng.choice([lo, hi, 0, -1]))
        elif r < 0.85:
            v = rng.choice([lo, hi, lo + 1, hi - 1, 0], size=lanes)
        else:
            v = rng.integers(lo, hi + 1, size=lanes)
            j, k = rng.integers(0, lanes, size=2)
            v[j] = v[k] = hi if rng.random() < 0.5 else v.max()
        x[i] = v
    return x


@cocotb.test()
@cocotb.parametrize(stall=STALLS)
async def run_stream(dut, stall):
    cfg = json.loads(os.environ["TB_CFG"])
    seed = cfg["seed"] + STALLS.index(stall)
    rng, prng = np.random.default_rng(seed), random.Random(seed)
    N, DATA_W, n = cfg["N"], cfg["DATA_W"], cfg["beats"]
    x = make_vectors(rng, n, N, DATA_W)
    idx = golden.argmax(x)
    words_in = [lanes_to_int(row, DATA_W) for row in x]
    words_out = [lanes_to_int([int(k)] + list(row), 32) for k, row in zip(idx, x)]
    frames_in, frames_out, i = [], [], 0
    while i < n:
        k = min(n - i, int(rng.integers(1, 9)))
        frames_in.append(words_in[i:i + k])
        frames_out.append(words_out[i:i + k])
        i += k

    tb = TB(dut)
    tb.set_stall(stall, prng)
    await tb.reset()
    await tb.run(frames_in, frames_out, lambda w: int_to_lanes(w, N + 1, 32, signed=True),
                 timeout_us=20 * n)
    if stall == "none":
        tb.check_full_throughput(n, n, LATENCY)


# ----------------------------------------------------------------------------- pytest side

CASES = {
    "default": dict(N=10, DATA_W=32),  # default network: 10 int32 logits
    "odd": dict(N=5, DATA_W=3),        # narrow lanes: ties everywhere
}


@pytest.mark.parametrize("case", list(CASES))
def test_argmax(sim, case):
    from int8cnn.sim import rtl_sources, run_cocotb
    params = CASES[case]
    seed = 3000 + list(CASES).index(case)
    cfg = dict(params, seed=seed, beats=1000)
    run_cocotb(sim, "argmax", rtl_sources("argmax"), test_module="test_argmax",
               build_name=f"argmax-{sim}-{case}", parameters=params,
               extra_env={"TB_CFG": json.dumps(cfg)})
