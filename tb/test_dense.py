"""dense: cocotb tests (run inside the simulator) and the pytest function that builds each case.

The pytest function writes random WEIGHT_FILE / BIAS_FILE under sim_build/<build>/ (weights in RTL
address order: line p = input beat p, lane o*C+c = W[o][c*N_BEATS+p]); the cocotb side rebuilds the
[OUT, C*N_BEATS] matrix from that file, streams random vectors (plus extreme ones that reach the
accumulator bound) and compares every output beat with golden.dense_acc exactly.
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

LATENCY = 2  # cycles from the accepted last beat of a vector to its output beat (rtl/dense.v)
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


def to_signed(v: int, bits: int) -> int:
    return v - (1 << bits) if v >> (bits - 1) else v


def load_weights(path, c: int, n_beats: int, out: int, w_w: int) -> np.ndarray:
    """[OUT, C*N_BEATS] weight matrix from the per-beat file (line p, lane o*C+c)."""
    lines = read_mem(path)
    assert len(lines) == n_beats
    w = np.zeros((out, c * n_beats), dtype=np.int64)
    for p, word in enumerate(lines):
        lanes = int_to_lanes(word, out * c, w_w, signed=True)
        for o in range(out):
            for ch in range(c):
                w[o, ch * n_beats + p] = lanes[o * c + ch]
    return w


def make_inputs(rng: np.random.Generator, n: int, w: np.ndarray, in_signed: int, in_w: int):
    """[n, IN] vectors: random, all-min, all-max, and per output the vectors reaching +-bound."""
    xmin, xmax = (-(1 << (in_w - 1)), (1 << (in_w - 1)) - 1) if in_signed else (0, (1 << in_w) - 1)
    rows = [np.full(w.shape[1], xmin), np.full(w.shape[1], xmax)]
    for o in range(w.shape[0]):
        # largest accumulator: x = xmax where w > 0, xmin where w < 0 (and the opposite)
        rows.append(np.where(w[o] > 0, xmax, xmin))
        rows.append(np.where(w[o] > 0, xmin, xmax))
        # largest magnitude for signed inputs: xmin against negative weights
        rows.append(np.where(w[o] < 0, xmin, xmax if in_signed == 0 else 0))
    rows = rows[:n]
    while len(rows) < n:
        rows.append(rng.integers(xmin, xmax + 1, size=w.shape[1]))
    x = np.stack(rows).astype(np.int64)
    return x[rng.permutation(n)]


@cocotb.test()
@cocotb.parametrize(stall=STALLS)
async def run_stream(dut, stall):
    cfg = json.loads(os.environ["TB_CFG"])
    seed = cfg["seed"] + STALLS.index(stall)
    rng, prng = np.random.default_rng(seed), random.Random(seed)
    C, NB, OUT = cfg["C"], cfg["N_BEATS"], cfg["OUT"]
    IN_W, ACC_W, OUT_W = cfg["IN_W"], cfg["ACC_W"], cfg["OUT_W"]
    w = load_weights(cfg["WEIGHT_FILE"], C, NB, OUT, cfg["W_W"])
    b = np.array([to_signed(v, 32) for v in read_mem(cfg["BIAS_FILE"])], dtype=np.int64)
    assert len(b) == OUT

    n = cfg["vectors"]
    x = make_inputs(rng, n, w, cfg["IN_SIGNED"], IN_W)
    acc = golden.dense_acc(x, w, b)
    assert np.abs(acc).max() < (1 << (ACC_W - 1)), "test data exceeds ACC_W"
    frames_in = [[lanes_to_int(x[v].reshape(C, NB)[:, p], IN_W) for p in range(NB)] for v in range(n)]
    frames_out = [[lanes_to_int(acc[v], OUT_W)] for v in range(n)]

    tb = TB(dut)
    tb.set_stall(stall, prng)
    await tb.reset()
    await tb.run(frames_in, frames_out, lambda word: int_to_lanes(word, OUT, OUT_W, signed=True),
                 timeout_us=10 * n * NB + 10)
    ic, oc = tb.in_cycles, tb.out_cycles
    if stall == "none":
        assert len(ic) == n * NB and ic[-1] - ic[0] == n * NB - 1, "input stalled without backpressure"
        last = [ic[v * NB + NB - 1] for v in range(n)]
        assert [o - l for o, l in zip(oc, last)] == [LATENCY] * n, "output latency"
    if stall == "bp" and NB >= 4:
        # the sink waits at most 3 cycles, a vector takes NB >= 4: the input never stalls
        assert ic[-1] - ic[0] == n * NB - 1, "input stalled although the output register was free"


# ----------------------------------------------------------------------------- pytest side

CASES = {
    # default network fc1: 3x11x11 uint8 -> 10 logits
    "default": dict(C=3, N_BEATS=121, OUT=10, IN_SIGNED=0, ACC_W=24, OUT_W=32, vectors=8, wmax=127),
    # odd sizes, signed input, ACC_W = exact bound of the data
    "odd": dict(C=2, N_BEATS=7, OUT=3, IN_SIGNED=1, ACC_W=None, OUT_W=32, vectors=80, wmax=128),
    # one beat per vector (first and last beat at once), ACC_W = OUT_W = product width
    "tiny": dict(C=1, N_BEATS=1, OUT=1, IN_SIGNED=1, ACC_W=17, OUT_W=17, vectors=200, wmax=128),
}


def acc_bits(bound: int) -> int:
    """Smallest two's-complement width holding +-bound."""
    return bound.bit_length() + 1


@pytest.mark.parametrize("case", list(CASES))
def test_dense(sim, case):
    from conftest import vstr
    from int8cnn.sim import SIM_BUILD, rtl_sources, run_cocotb
    p = dict(CASES[case])
    build_name = f"dense-{sim}-{case}"
    build_dir = SIM_BUILD / build_name
    seed = 2000 + list(CASES).index(case)
    rng = np.random.default_rng(seed)
    c, nb, out, in_w, w_w = p["C"], p["N_BEATS"], p["OUT"], 8, 8
    w = rng.integers(-p["wmax"], 128, size=(out, c * nb))
    xabs = (1 << (in_w - 1)) if p["IN_SIGNED"] else (1 << in_w) - 1
    wsum = int(np.abs(w).sum(axis=1).max()) * xabs
    if p["ACC_W"] is None:
        b = rng.integers(-50000, 50001, size=out)
        p["ACC_W"] = acc_bits(wsum + int(np.abs(b).max()))
    else:
        room = (1 << (p["ACC_W"] - 1)) - 1 - wsum
        assert room >= 0, f"{case}: weights need more than ACC_W={p['ACC_W']}"
        b = rng.integers(-room, room + 1, size=out)
        b[0] = room  # one output can reach the top of the accumulator range
    lines = [lanes_to_int([w[o, ch * nb + q] for o in range(out) for ch in range(c)], w_w)
             for q in range(nb)]
    weight_file = write_mem(build_dir / "weight.mem", lines, 2 * out * c)
    bias_file = write_mem(build_dir / "bias.mem", [int(v) & 0xFFFFFFFF for v in b], 8)
    params = dict(C=c, N_BEATS=nb, OUT=out, IN_SIGNED=p["IN_SIGNED"], IN_W=in_w, W_W=w_w,
                  ACC_W=p["ACC_W"], OUT_W=p["OUT_W"])
    cfg = dict(params, WEIGHT_FILE=str(weight_file), BIAS_FILE=str(bias_file), seed=seed,
               vectors=p["vectors"])
    run_cocotb(sim, "dense", rtl_sources("dense"), test_module="test_dense", build_name=build_name,
               parameters=dict(params, WEIGHT_FILE=vstr(weight_file), BIAS_FILE=vstr(bias_file)),
               extra_env={"TB_CFG": json.dumps(cfg)})
