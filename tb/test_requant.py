"""requant: cocotb tests (run inside the simulator) and the pytest function that builds each case.

The pytest function writes random MULT_FILE / SHIFT_FILE under sim_build/<build>/ and runs the cocotb
tests below in one simulator build; each cocotb test is one stall configuration. The model is
golden.requant, fed with the beats the source sent; every output beat and tlast is compared exactly.
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
from memgen import int_to_lanes, lanes_to_int, write_mem

LATENCY = 2  # cycles from an accepted input beat to its output beat (documented in rtl/requant.v)
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


def read_mem(path) -> list[int]:
    return [int(line, 16) for line in open(path).read().split()]


def make_accs(rng: np.random.Generator, n: int, cfg: dict, mult, shift) -> np.ndarray:
    """[n, C] accumulators: full range, values around the output range, extremes, rounding ties."""
    acc_w, lo, hi, zp = cfg["ACC_W"], cfg["LO"], cfg["HI"], cfg["ZP_OUT"]
    amin, amax = -(1 << (acc_w - 1)), (1 << (acc_w - 1)) - 1
    out = np.zeros((n, len(mult)), dtype=np.int64)
    for c, (m, s) in enumerate(zip(mult, shift)):
        # accumulators that land near [lo, hi] after requantization
        a0 = max(amin, min(amax, ((lo - zp - 8) << s) // m))
        a1 = max(amin, min(amax, ((hi - zp + 8) << s) // m + 1))
        ties = []
        t = (m & -m).bit_length() - 1  # trailing zeros of M
        if s >= 1 and s - 1 >= t:
            mod = 1 << (s - t)
            base = ((1 << (s - 1 - t)) * pow(m >> t, -1, mod)) % mod
            k0, k1 = -((base - amin) // mod), (amax - base) // mod
            if k0 <= k1:
                ties = [base + int(k) * mod for k in rng.integers(k0, k1 + 1, size=8)]
        for i in range(n):
            r = rng.random()
            if r < 0.3:
                v = int(rng.integers(amin, amax + 1))
            elif r < 0.75:
                v = int(rng.integers(a0, a1 + 1))
            elif r < 0.85:
                v = int(rng.choice([amin, amax, amin + 1, amax - 1, 0, 1, -1]))
            elif ties:
                v = int(rng.choice(ties))
            else:
                v = int(rng.integers(amin, amax + 1))
            out[i, c] = v
    return out


@cocotb.test()
@cocotb.parametrize(stall=STALLS)
async def run_stream(dut, stall):
    cfg = json.loads(os.environ["TB_CFG"])
    seed = cfg["seed"] + STALLS.index(stall)
    rng, prng = np.random.default_rng(seed), random.Random(seed)
    C, ACC_W, OUT_W = cfg["C"], cfg["ACC_W"], cfg["OUT_W"]
    mult, shift = read_mem(cfg["MULT_FILE"]), read_mem(cfg["SHIFT_FILE"])
    assert len(mult) == C and len(shift) == C

    n = cfg["beats"]
    acc = make_accs(rng, n, cfg, mult, shift)
    y = golden.requant(acc, mult, shift, cfg["LO"], cfg["HI"], cfg["ZP_OUT"], axis=1)
    words_in = [lanes_to_int(row, ACC_W) for row in acc]
    words_out = [lanes_to_int(row, OUT_W) for row in y]
    # random frame lengths so that tlast is checked on every beat
    frames_in, frames_out, i = [], [], 0
    while i < n:
        k = min(n - i, int(rng.integers(1, 9)))
        frames_in.append(words_in[i:i + k])
        frames_out.append(words_out[i:i + k])
        i += k

    tb = TB(dut)
    tb.set_stall(stall, prng)
    await tb.reset()

    def decode(w):
        return int_to_lanes(w, C, OUT_W, signed=cfg["LO"] < 0)
    await tb.run(frames_in, frames_out, decode, timeout_us=20 * n)
    if stall == "none":
        tb.check_full_throughput(n, n, LATENCY)


# ----------------------------------------------------------------------------- pytest side

CASES = {
    # default network conv1 requant: uint8 with ReLU folded, Q15 multipliers
    "default": dict(C=3, ACC_W=21, LO=0, HI=255, ZP_OUT=0, mode="q15"),
    # odd sizes, int8 output with a zero point, shifts 0 and 62, M = 1 and M = 2^15-1
    "odd": dict(C=5, ACC_W=19, LO=-128, HI=127, ZP_OUT=-3, mode="edge"),
    # pow2 mode: M = 1, shift only
    "pow2": dict(C=3, ACC_W=21, LO=0, HI=255, ZP_OUT=5, mode="pow2"),
}


def make_constants(case: dict, rng: np.random.Generator):
    c, acc_w = case["C"], case["ACC_W"]
    if case["mode"] == "pow2":
        mult = [1] * c
        shift = [0] + [int(s) for s in rng.integers(1, acc_w - 4, size=c - 1)]
    else:
        mult = [int(m) for m in rng.integers(1 << 14, 1 << 15, size=c)]
        # m * 2^S in [2^14, 2^15) with m = s_out-ish: pick S so that outputs span beyond [lo, hi]
        shift = [int(s) for s in rng.integers(acc_w + 15 - 12, acc_w + 15 - 6, size=c)]
        if case["mode"] == "edge":
            mult[0], shift[0] = 1, 0
            mult[1], shift[1] = (1 << 15) - 1, 62
            mult[2] = (1 << 15) - 1
            mult[3] = 1 << 14  # even M: ties need the trailing-zero case
    return mult, shift


@pytest.mark.parametrize("case", list(CASES))
def test_requant(sim, case):
    from int8cnn.sim import SIM_BUILD, rtl_sources, run_cocotb
    p = CASES[case]
    build_name = f"requant-{sim}-{case}"
    build_dir = SIM_BUILD / build_name
    seed = 1000 + list(CASES).index(case)
    mult, shift = make_constants(p, np.random.default_rng(seed))
    mult_file = write_mem(build_dir / "mult.mem", mult, 4)
    shift_file = write_mem(build_dir / "shift.mem", shift, 2)
    params = dict(C=p["C"], ACC_W=p["ACC_W"], MULT_W=16, SHIFT_W=6, OUT_W=8, LO=p["LO"], HI=p["HI"],
                  ZP_OUT=p["ZP_OUT"])
    cfg = dict(params, MULT_FILE=str(mult_file), SHIFT_FILE=str(shift_file), seed=seed, beats=1000)
    from conftest import vstr
    run_cocotb(sim, "requant", rtl_sources("requant"), test_module="test_requant",
               build_name=build_name,
               parameters=dict(params, MULT_FILE=vstr(mult_file), SHIFT_FILE=vstr(shift_file)),
               extra_env={"TB_CFG": json.dumps(cfg)})
