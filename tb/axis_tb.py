"""Shared cocotb harness for the per-module AXI-Stream tests in tb/test_<module>.py.

Every per-module test file keeps only its own model, stimulus and parameters; the pieces here are
the same for all of them:

- stalls:   STALLS, the stall patterns every cocotb stream test is crossed with (@stall_test), and
            their cocotbext-axi pause generators (source idle, sink backpressure, a second
            source or sink): tb/stalls.py UNIT_STALLS, the vocabulary the top-level tests share.
- driver:   TB, clock + reset + AxiStreamSource/AxiStreamSink (byte_size = tdata width); while
            s_axis_tvalid is low (and through reset) tdata is random and tlast is 1, the values
            AXI4-Stream leaves undefined, so a DUT that reads them without tvalid is caught.
- monitor:  HandshakeMonitor, the cycle of every accepted input and output beat, input stall cycles,
            and m_axis_tvalid never X/Z after reset.
- checker:  TB.expect (every beat and every tlast position, exactly), TB.drain (no extra beats,
            tvalid low, every sent beat accepted), TB.check_* (one beat per clock and latency when
            nothing stalls).
- streams shared by several modules: one beat out per beat in in random-length frames (requant,
            argmax, axis_skid, axis_fifo), pass-through buffers (axis_skid, axis_fifo), image
            streams (window2d, conv2d, maxpool2d).
- pytest side: tb_cfg / run_case (the per-case config travels as JSON in $TB_CFG), vstr.

Integer packing and $readmemh files are in memgen.py.
"""
from __future__ import annotations

import itertools
import json
import os
import random
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, First, RisingEdge, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from int8cnn.sim import SIM_BUILD, module_sources, run_cocotb
from stalls import UNIT_STALLS
from stalls import pause_generators as stall_pauses
from int8cnn.vectors import stream_words

# stall patterns crossed with every cocotb stream test (tb/stalls.py UNIT_STALLS); "none" first
# (seed offset 0)
STALLS = list(UNIT_STALLS)


# ----------------------------------------------------------------------------- stalls

def pause_generators(stall: str, seed: int):
    """(source idle, sink backpressure, a second source or sink) pause generators of a unit stall
    pattern (None: never; tb/stalls.py, the same generators as tb/hdl/tb_stall.v); the third is
    for modules with two inputs or two outputs (axis_fork, eltwise_add)."""
    return stall_pauses(stall, seed, UNIT_STALLS)


# ----------------------------------------------------------------------------- reset

async def reset_dut(dut, cycles: int = 4, outputs=("m_axis",)):
    """The tests' one synchronous reset: rst high for `cycles` clocks, then low for one; the tvalid
    of each output prefix must then be exactly 0 (no X/Z). The top-level per-beat driver uses it
    too; the per-image harness holds rst itself until its run starts (tb/harness.py)."""
    dut.rst.value = 1
    await ClockCycles(dut.clk, cycles)
    dut.rst.value = 0
    await RisingEdge(dut.clk)
    for p in outputs:
        v = getattr(dut, f"{p}_tvalid").value
        assert str(v) == "0", f"{p}_tvalid is {v} after reset (expected 0, no X/Z)"


# ----------------------------------------------------------------------------- monitor

class HandshakeMonitor:
    """Cycle numbers of accepted input / output beats and input stall cycles (valid, not ready);
    m_axis_tvalid must be 0 or 1 on every clock after reset."""

    def __init__(self, dut):
        self.dut = dut
        self.in_cycles: list[int] = []
        self.out_cycles: list[int] = []
        self.input_stalls = 0
        self.in_stall_cycles: list[int] = []    # s_axis_tvalid high, s_axis_tready low
        self.out_stall_cycles: list[int] = []   # m_axis_tvalid high, m_axis_tready low
        self.out_idle_cycles: list[int] = []    # m_axis_tready high, m_axis_tvalid low

    def clear(self):
        """Forget everything recorded so far (the monitor keeps running)."""
        self.__init__(self.dut)

    def start(self):
        cocotb.start_soon(self._run())

    async def _run(self):
        dut, cycle = self.dut, 0
        while True:
            await RisingEdge(dut.clk)
            cycle += 1
            mv = dut.m_axis_tvalid.value
            assert mv.is_resolvable, f"m_axis_tvalid is {mv} at cycle {cycle} after reset"
            if int(dut.s_axis_tvalid.value):
                if int(dut.s_axis_tready.value):
                    self.in_cycles.append(cycle)
                else:
                    self.input_stalls += 1
                    self.in_stall_cycles.append(cycle)
            mr = int(dut.m_axis_tready.value)
            if int(mv):
                (self.out_cycles if mr else self.out_stall_cycles).append(cycle)
            elif mr:
                self.out_idle_cycles.append(cycle)


class BusMonitor:
    """HandshakeMonitor for modules with several input or output buses: per bus prefix, the cycle
    numbers of its handshakes (tvalid and tready high) and its stall count (tvalid without
    tready); every bus's tvalid must be 0 or 1 on every clock after start()."""

    def __init__(self, dut, prefixes):
        self.dut = dut
        self.cycles: dict[str, list[int]] = {p: [] for p in prefixes}
        self.stalls: dict[str, int] = {p: 0 for p in prefixes}

    def start(self):
        cocotb.start_soon(self._run())

    async def reset(self, outputs):
        """reset_dut, checking the tvalid of each output prefix; then start monitoring."""
        await reset_dut(self.dut, outputs=outputs)
        self.start()

    async def _run(self):
        dut, cycle = self.dut, 0
        while True:
            await RisingEdge(dut.clk)
            cycle += 1
            for p in self.cycles:
                v = getattr(dut, f"{p}_tvalid").value
                assert v.is_resolvable, f"{p}_tvalid is {v} at cycle {cycle} after reset"
                if int(v):
                    if int(getattr(dut, f"{p}_tready").value):
                        self.cycles[p].append(cycle)
                    else:
                        self.stalls[p] += 1


# ----------------------------------------------------------------------------- driver + checker

class TB:
    """Clock, reset, AXI-Stream source/sink with the pause generators of `stall`, and a monitor."""

    def __init__(self, dut, stall: str = "none", seed: int = 0):
        self.dut = dut
        Clock(dut.clk, 10, unit="ns").start()
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst,
                                      byte_size=len(dut.s_axis_tdata))
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst,
                                  byte_size=len(dut.m_axis_tdata))
        self.monitor = HandshakeMonitor(dut)
        self.sent_beats = 0
        idle, bp, _ = pause_generators(stall, seed)
        if idle:
            self.source.set_pause_generator(idle)
        if bp:
            self.sink.set_pause_generator(bp)
        cocotb.start_soon(self._idle_noise(random.Random(7)))

    async def _idle_noise(self, rng: random.Random):
        """Whenever s_axis_tvalid is low: tdata random, tlast 1 (AXI4-Stream leaves both undefined
        then), written on the falling edge after tvalid or rst changes (the source clears the bus
        when reset rises) and held; the source writes its beats on rising edges, so a beat it
        presents is never touched. Woken only by those changes, not every clock."""
        dut = self.dut
        width = len(dut.s_axis_tdata)
        while True:
            await FallingEdge(dut.clk)
            if str(dut.s_axis_tvalid.value) != "1":
                dut.s_axis_tdata.value = rng.getrandbits(width)
                dut.s_axis_tlast.value = 1
            await First(dut.s_axis_tvalid.value_change, dut.rst.value_change)

    @property
    def in_cycles(self) -> list[int]:
        return self.monitor.in_cycles

    @property
    def out_cycles(self) -> list[int]:
        return self.monitor.out_cycles

    async def reset(self):
        """reset_dut (m_axis_tvalid exactly 0 afterwards); then start monitoring."""
        await reset_dut(self.dut)
        self.monitor.start()

    async def send(self, frames):
        """Queue `frames` (lists of tdata words; tlast on the last word of each) on the source."""
        for f in frames:
            await self.source.send(AxiStreamFrame(list(f)))
            self.sent_beats += len(f)

    async def expect(self, frames, decode=hex, timeout_ns: int = 1_000_000):
        """Receive one frame per entry of `frames` (each within timeout_ns) and compare every beat
        and the tlast position exactly; `decode` only formats the failure message."""
        for i, exp in enumerate(frames):
            rx = await with_timeout(self.sink.recv(), timeout_ns, "ns")
            got = [int(v) for v in rx.tdata]
            assert len(got) == len(exp), (f"frame {i}: tlast after {len(got)} beats, "
                                          f"expected {len(exp)}")
            for j, (g, e) in enumerate(zip(got, exp)):
                assert g == e, f"frame {i} beat {j}: got {decode(g)} expected {decode(e)}"

    async def drain(self, latency: int):
        """After the expected frames: no extra output beat, m_axis_tvalid low, every sent beat
        accepted by the DUT."""
        dut = self.dut
        await self.source.wait()
        await ClockCycles(dut.clk, latency + 4)
        assert self.sink.empty(), "extra output beats after the last expected frame"
        assert str(dut.m_axis_tvalid.value) == "0", "m_axis_tvalid still high after the last frame"
        assert len(self.in_cycles) == self.sent_beats, (
            f"DUT accepted {len(self.in_cycles)} of {self.sent_beats} input beats")
        dut._log.info("%d input beats, %d output beats, %d input stall cycles",
                      len(self.in_cycles), len(self.out_cycles), self.monitor.input_stalls)

    async def run(self, frames_in, frames_expected, latency: int, decode=hex,
                  timeout_ns: int = 1_000_000):
        """send + expect + drain."""
        await self.send(frames_in)
        await self.expect(frames_expected, decode, timeout_ns)
        await self.drain(latency)

    async def reset_when_blocked(self, frames_in, frames_out, latency: int, decode=hex,
                                 timeout_ns: int = 1_000_000):
        """Reset in the middle of a stream: with the sink stopped, `frames_in` are sent until the
        DUT has held s_axis_tready low for `latency` + 4 clocks in a row (every stage full), then
        rst is high for ONE clock. Afterwards no beat of the aborted frames may come out
        (m_axis_tvalid stays low for `latency` + 8 clocks with the sink ready), and the same
        frames sent again give exactly `frames_out`. Catches state that only a longer reset, or
        none, would clear (e.g. a valid flag reset high behind a stage that keeps its last flag)."""
        dut = self.dut
        self.sink.pause = True
        await self.send(frames_in)
        blocked, cycles = 0, 0
        while blocked < latency + 4:
            await RisingEdge(dut.clk)
            cycles += 1
            assert cycles < 100_000, "the DUT never blocked behind the stopped sink"
            stalled = str(dut.s_axis_tvalid.value) == "1" and str(dut.s_axis_tready.value) == "0"
            blocked = blocked + 1 if stalled else 0
        self.source.clear()  # the queued frames; the reset flushes the one in flight
        await reset_dut(dut, cycles=1)
        self.sink.clear()
        self.sink.pause = False
        for cycle in range(latency + 8):
            await RisingEdge(dut.clk)
            mv = str(dut.m_axis_tvalid.value)
            assert mv == "0", f"m_axis_tvalid is {mv} {cycle + 2} clocks after a one-clock reset"
        assert self.sink.empty(), "an output beat of an aborted frame after a one-clock reset"
        self.monitor.clear()
        self.sent_beats = 0
        await self.run(frames_in, frames_out, latency, decode, timeout_ns)

    # checks for the "none" stall configuration (and a free output)

    def check_input_unstalled(self, n_in: int, why: str = "without backpressure"):
        """All n_in input beats accepted on consecutive clocks, never valid without ready."""
        ic = self.in_cycles
        assert len(ic) == n_in, f"{len(ic)} input beats accepted, expected {n_in}"
        assert ic[-1] - ic[0] == n_in - 1, f"input stalled {why}"
        assert self.monitor.input_stalls == 0, (
            f"input stalled {self.monitor.input_stalls} cycles {why}")

    def check_input_period(self, n_in: int, period: int, why: str = "without backpressure"):
        """All n_in input beats accepted exactly `period` clocks apart (a folded datapath takes
        `period` cycles per beat); period 1 is check_input_unstalled."""
        if period == 1:
            return self.check_input_unstalled(n_in, why)
        ic = self.in_cycles
        assert len(ic) == n_in, f"{len(ic)} input beats accepted, expected {n_in}"
        gaps = sorted(set(np.diff(ic).tolist()))
        assert gaps == [period], f"input beats {gaps} cycles apart {why}, expected {period}"

    def check_full_throughput(self, n_in: int, n_out: int, latency: int):
        """One beat per clock in and out, and the documented latency."""
        self.check_input_unstalled(n_in)
        ic, oc = self.in_cycles, self.out_cycles
        assert len(oc) == n_out, f"{len(oc)} output beats, expected {n_out}"
        assert oc[-1] - oc[0] == n_out - 1, "output has bubbles without stalls"
        assert oc[0] - ic[0] == latency, f"latency {oc[0] - ic[0]}, expected {latency}"

    def check_work_conserving(self, due: list[int], input_rule: bool = True, why: str = "",
                              busy: int = 0):
        """Throughput under any stall pattern, not only without stalls (what the RTL headers
        promise: no bubble the module could avoid). Output: output beat j is due at cycle due[j]
        (the cycle its last input beat was accepted plus the latency); in every cycle in which the
        sink is ready, the output must be valid while a due beat has not left. Input (input_rule):
        the input stalls only under backpressure, in a cycle in which, or just after one in which,
        the output was valid and not taken, or (a serial datapath) in the `busy` cycles after a
        beat was taken."""
        due = np.asarray(due)
        out = np.asarray(self.out_cycles)
        m = self.monitor
        idle = np.asarray(m.out_idle_cycles, dtype=np.int64)
        owed = np.searchsorted(due, idle, side="right") - np.searchsorted(out, idle, side="left")
        bad = idle[owed > 0]
        assert bad.size == 0, (
            f"output idle with the sink ready while {int(owed[owed > 0][0])} beat(s) were due, "
            f"first at cycle {int(bad[0])} ({bad.size} such cycles){why}")
        if input_rule:
            stalled, taken = set(m.out_stall_cycles), set(self.in_cycles)
            unexplained = [t for t in m.in_stall_cycles if t not in stalled and t - 1 not in stalled
                           and not any(t - d in taken for d in range(1, busy + 1))]
            assert not unexplained, (
                f"input stalled without backpressure at cycles {unexplained[:5]} "
                f"({len(unexplained)} such cycles){why}")

    def due_with_stage_enable(self, accepted: list[int], latency: int) -> list[int]:
        """When each beat is due at the output of a pipeline of `latency` stages with one stage
        enable (!m_axis_tvalid || m_axis_tready, the RTL headers' "stage enable"), whose input beats
        were accepted in the cycles `accepted`: the cycle after the latency-th enabled cycle from
        its acceptance on (a bubble inside such a pipeline waits for enables; without stalls, the
        acceptance cycle + latency)."""
        last = max(self.out_cycles[-1] if self.out_cycles else 0, max(accepted, default=0)) + latency + 2
        frozen = np.zeros(last + 1, dtype=bool)
        frozen[np.asarray(self.monitor.out_stall_cycles, dtype=np.int64)] = True
        enabled = np.flatnonzero(~frozen)
        k = np.searchsorted(enabled, np.asarray(accepted)) + latency - 1
        return (enabled[k] + 1).tolist()

    def check_latency(self, triggers: list[int], beats_in: int, n_frames: int, latency: int):
        """Output beat i of frame n appears `latency` clocks after input beat triggers[i] of frame n
        (beats_in input beats per frame)."""
        ic, oc = self.in_cycles, self.out_cycles
        assert len(oc) == n_frames * len(triggers), (len(oc), n_frames * len(triggers))
        for n in range(n_frames):
            for i, t in enumerate(triggers):
                got = oc[n * len(triggers) + i] - ic[n * beats_in + t]
                assert got == latency, f"frame {n} beat {i}: latency {got}, expected {latency}"


# ----------------------------------------------------------------------------- cocotb test setup

def stall_test(func):
    """`@cocotb.test()` crossed with every stall configuration: func(dut, stall) runs once per entry
    of STALLS (cocotb test names <func>/stall=<name>)."""
    return cocotb.test()(cocotb.parametrize(stall=STALLS)(func))


def tb_cfg() -> dict:
    """The per-case config the pytest side passed in $TB_CFG (HDL parameters, seed, sizes)."""
    return json.loads(os.environ["TB_CFG"])


async def start(dut, stall: str):
    """(cfg, numpy rng for the stimulus, reset TB) for one stall configuration; the seed is
    cfg["seed"] + the stall's index, for both the stimulus and the pause generators."""
    cfg = tb_cfg()
    seed = cfg["seed"] + STALLS.index(stall)
    tb = TB(dut, stall, seed)
    await tb.reset()
    return cfg, np.random.default_rng(seed), tb


def frame_lengths(rng: np.random.Generator, n: int, longest: int = 8) -> list[int]:
    """Random frame lengths 1..longest summing to n, so that tlast is checked on every beat."""
    out = []
    while n > 0:
        out.append(min(n, int(rng.integers(1, longest + 1))))
        n -= out[-1]
    return out


def split(words: list, lengths: list[int]) -> list[list]:
    """`words` cut into consecutive frames of the given lengths."""
    starts = itertools.accumulate([0] + lengths[:-1])
    return [list(words[s:s + k]) for s, k in zip(starts, lengths)]


async def stream_beats(tb: TB, stall: str, rng: np.random.Generator, words_in: list[int],
                       words_out: list[int], latency: int, decode=hex):
    """One output beat per input beat (requant, argmax, pass-through buffers): the words go in
    random-length frames, so tlast is checked on every position; without stalls one beat per clock
    in and out, `latency` clocks apart."""
    n = len(words_in)
    lengths = frame_lengths(rng, n)
    await tb.run(split(words_in, lengths), split(words_out, lengths), latency, decode,
                 timeout_ns=20_000 * n)
    tb.check_work_conserving([c + latency for c in tb.in_cycles], why=f" [{stall}]")
    if stall == "none":
        tb.check_full_throughput(n, len(words_out), latency)


# ----------------------------------------------------------------------------- pass-through buffers

def passthrough_words(rng: np.random.Generator, n: int, data_w: int) -> list[int]:
    """n random DATA_W-bit words, the first four 0, all ones, 1, MSB only."""
    words = [int(v) for v in rng.integers(0, 1 << min(data_w, 62), size=n)]
    if data_w > 62:
        words = [w | (int(rng.integers(0, 1 << (data_w - 62))) << 62) for w in words]
    words[:4] = [0, (1 << data_w) - 1, 1, 1 << (data_w - 1)][:len(words)]
    return words


async def passthrough_stream(dut, stall: str, latency: int):
    """Random words in random-length frames come out unchanged."""
    cfg, rng, tb = await start(dut, stall)
    words = passthrough_words(rng, cfg["beats"], cfg["DATA_W"])
    await stream_beats(tb, stall, rng, words, words, latency)


async def passthrough_capacity(dut, cap: int, latency: int):
    """Sink stopped: exactly `cap` beats are accepted, then all drain in order."""
    cfg = tb_cfg()
    rng = np.random.default_rng(cfg["seed"])
    frames = split(passthrough_words(rng, cap + 5, cfg["DATA_W"]), frame_lengths(rng, cap + 5))
    tb = TB(dut)
    tb.sink.pause = True
    await tb.reset()
    await tb.send(frames)
    await ClockCycles(dut.clk, cap + 20)
    assert len(tb.in_cycles) == cap, f"accepted {len(tb.in_cycles)} beats, capacity is {cap}"
    assert int(dut.s_axis_tready.value) == 0
    tb.sink.pause = False
    await tb.expect(frames, timeout_ns=10_000)
    await tb.drain(latency)


# ----------------------------------------------------------------------------- image streams

def make_images(rng: np.random.Generator, n: int, shape, lo: int, hi: int) -> list[np.ndarray]:
    """n images [C,H,W]: random, all hi, random extremes {lo, hi}, all lo, then random."""
    out = []
    for i in range(n):
        kind = i if i < 4 else 0
        if kind == 0:
            img = rng.integers(lo, hi + 1, size=shape)
        elif kind == 1:
            img = np.full(shape, hi)
        elif kind == 2:
            img = rng.choice([lo, hi], size=shape)
        else:
            img = np.full(shape, lo)
        out.append(img.astype(np.int64))
    return out


def pixel_beats(img: np.ndarray, bits: int) -> list[int]:
    """[C,H,W] image or feature map -> raster beats, channel c in lane c (the golden vectors'
    stream order, int8cnn.vectors.stream_words)."""
    return stream_words(img, bits)


def window_triggers(img_h: int, img_w: int, k: int, stride: int) -> list[int]:
    """Per output position (raster), the input pixel index that completes its window."""
    oh, ow = (img_h - k) // stride + 1, (img_w - k) // stride + 1
    return [(oy * stride + k - 1) * img_w + ox * stride + k - 1
            for oy in range(oh) for ox in range(ow)]


def folded_window_gaps(cfg: dict, window_cycles: int, n_images: int) -> list[int]:
    """Cycles between consecutive output beats of a folded window datapath (rtl/conv2d.v, MULTS >
    0) streaming n_images back to back without stalls: T + g - 1 per window, T = window_cycles,
    g = (padded) input pixels from the pixel completing the previous window to the one completing
    this window (across the image boundary for an image's first window)."""
    pad = cfg.get("PAD", 0)
    ph, pw = cfg["IMG_H"] + 2 * pad, cfg["IMG_W"] + 2 * pad
    trig = window_triggers(ph, pw, cfg["K"], cfg["STRIDE"])
    pos = [n * ph * pw + t for n in range(n_images) for t in trig]
    return [window_cycles + g - 1 for g in np.diff(pos).tolist()]


async def stream_images(tb: TB, stall: str, images, in_bits: int, expected, cfg: dict,
                        latency: int, window_cycles: int = 1):
    """Stream `images` ([C,H,W], one frame each) back to back and compare with `expected` (output
    beats per image). Without stalls: the input never stalls, and each output beat appears
    `latency` clocks after the pixel that completes its window (cfg IMG_H, IMG_W, K, STRIDE);
    with cfg PAD > 0 the input stalls exactly once per padding beat instead. A folded datapath
    (window_cycles = T > 1 cycles per window) stalls its input by design; without stalls its
    output beats are exactly folded_window_gaps apart, and (PAD = 0) `latency` clocks after the
    pixel that completes their window. Unfolded and unpadded, under every stall pattern: no
    avoidable bubble (check_work_conserving; each window due `latency` enabled cycles after its
    pixel, due_with_stage_enable)."""
    frames_in = [pixel_beats(img, in_bits) for img in images]
    n_in = sum(len(f) for f in frames_in)
    await tb.run(frames_in, expected, latency, timeout_ns=200 * (n_in + 100) * window_cycles)
    pad = cfg.get("PAD", 0)
    if window_cycles == 1 and not pad:  # under every stall: each window due `latency` enabled
        triggers = window_triggers(cfg["IMG_H"], cfg["IMG_W"], cfg["K"], cfg["STRIDE"])
        beats_in = len(frames_in[0])  # cycles after its pixel
        tb.check_work_conserving(tb.due_with_stage_enable(
            [tb.in_cycles[n * beats_in + t] for n in range(len(images)) for t in triggers], latency),
            why=f" [{stall}]")
    if stall == "none" and window_cycles > 1:
        want = folded_window_gaps(cfg, window_cycles, len(images))
        got = np.diff(tb.out_cycles).tolist()
        bad = [(i + 1, g, w) for i, (g, w) in enumerate(zip(got, want)) if g != w]
        assert len(got) == len(want) and not bad, (
            f"folded output spacing: (beat, cycles, formula) {bad[:5]}, {len(got) + 1} beats")
        if not pad:
            triggers = window_triggers(cfg["IMG_H"], cfg["IMG_W"], cfg["K"], cfg["STRIDE"])
            tb.check_latency(triggers, len(frames_in[0]), len(expected), latency)
    elif stall == "none" and pad:
        # the input stalls exactly once per padding beat emitted while a pixel waits: every
        # padding beat of every image but the last image's right and bottom border
        pw, ph = cfg["IMG_W"] + 2 * pad, cfg["IMG_H"] + 2 * pad
        per_image = pw * ph - cfg["IMG_W"] * cfg["IMG_H"]
        want = len(images) * per_image - (pad * pw + pad)
        assert tb.monitor.input_stalls == want, (
            f"input stalled {tb.monitor.input_stalls} cycles, padding formula says {want}")
    elif stall == "none":
        tb.check_input_unstalled(n_in)
        triggers = window_triggers(cfg["IMG_H"], cfg["IMG_W"], cfg["K"], cfg["STRIDE"])
        tb.check_latency(triggers, len(frames_in[0]), len(expected), latency)


# ----------------------------------------------------------------------------- pytest side

def vstr(value) -> str:
    """A Verilog string parameter value (both simulators want the quotes)."""
    return f'"{value}"'


def build_dir(toplevel: str, sim: str, case: str) -> Path:
    """sim_build/<toplevel>-<sim>-<case>: the build of one case, and where its .mem files go."""
    return SIM_BUILD / f"{toplevel}-{sim}-{case}"


def use_fold_rom(parameters: dict, layer, mults: int | None, path: Path) -> None:
    """When `mults` folds `layer` (int8cnn.hardware.is_folded), the DUT reads only the layer's
    chunk-ordered weight ROM: write it to `path` (int8cnn.export.fold_text) and replace WEIGHT_FILE
    by FOLD_FILE in the HDL `parameters`. The golden model keeps reading the flat weight file."""
    from int8cnn.export import fold_text
    from int8cnn.hardware import is_folded
    from int8cnn.memfile import atomic_write_text
    if is_folded(layer, mults):
        atomic_write_text(path, fold_text(layer, mults))
        del parameters["WEIGHT_FILE"]
        parameters["FOLD_FILE"] = vstr(path)


def run_case(sim: str, toplevel: str, case: str, parameters: dict, cfg: dict, sources=None,
             env: dict | None = None, **kw):
    """Build `toplevel` (from rtl/<sources>.v, default rtl/<toplevel>.v, with the modules they
    instantiate: int8cnn.sim.module_sources) with `parameters` in
    build_dir(toplevel, sim, case) and run the cocotb tests of tb/test_<toplevel>.py with
    $TB_CFG = json(cfg) and `env`; `kw` go to int8cnn.sim.run_cocotb (e.g. testcase)."""
    run_cocotb(sim, toplevel, module_sources(*(sources or [toplevel])),
               test_module=f"test_{toplevel}", build_name=build_dir(toplevel, sim, case).name,
               parameters=parameters, extra_env={"TB_CFG": json.dumps(cfg), **(env or {})}, **kw)
