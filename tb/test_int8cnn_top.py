"""Top-level verification of int8cnn_top: MNIST pixels in, every layer tap checked bit for bit.

Pieces (each small, each separate):
  driver      cocotbext-axi AxiStreamSource on s_axis_pixel (with an idle pause generator)
  monitors    cocotbext-axi AxiStreamMonitor on every tap_<layer> stream, AxiStreamSink on the
              result (with a backpressure pause generator)
  model       int8cnn.golden run on the same images (or the committed golden/<net>/ vectors)
  checker     tb/scoreboard.py: value by value, then logits and class
The cocotb tests below only make stimulus. Configuration comes from tb/topcfg.py TopConfig ($TB_TOP_CFG), written by
the pytest function at the bottom or by tb/run_top.py (`make SIM=...`).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from pathlib import Path

import cocotb
import numpy as np
import pytest
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge, SimTimeoutError, with_timeout
from cocotb.utils import get_sim_time
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamMonitor, AxiStreamSink, AxiStreamSource

from run_top import FAULTS, SKIP_FIFO_FAULT, STREAM_FAULT, STREAM_FAULT_BEAT, run_top

from int8cnn.paths import ROOT
import funcov as cov  # noqa: E402  (tb/funcov.py: functional coverage)
from topcfg import TopConfig  # noqa: E402
from axis_tb import reset_dut  # noqa: E402
from stalls import (STALL_POINT_MIN, STALLS as STALL_PATTERNS, WATCHDOG_IMAGES,  # noqa: E402
                    image_cycles, pause_generators, watchdog_cycles)
from harness import stall_point_counts  # noqa: E402
from scoreboard import LazyExpected, Scoreboard, expected_lanes, words_to_lanes  # noqa: E402

CLK_NS = 10
PIXELS = 28 * 28
LATENCY_LIMIT = 900            # issue 3 (default network): first pixel in -> class out


def ii_formula(qnet, mults: int | None = None) -> int:
    """Cycles per image without stalls: the busiest stream bounds the II (int8cnn.generate owns
    the formula): unfolded the input (28x28) or a padded conv input ((H+2p) x (W+2p)); folded
    (mults) the conv / dense layer with the most cycles per image."""
    from int8cnn.hardware import expected_ii
    return expected_ii(qnet, mults)
STALLS = tuple(STALL_PATTERNS)


def cfg() -> TopConfig:
    """The configuration tb/run_top.py passed (tb/topcfg.py)."""
    return TopConfig.from_env()


# ----------------------------------------------------------------------------- stimulus + model

def load_stimulus(c: TopConfig, n: int | None = None, lazy: bool = False):
    """(qnet, images [N,28,28], labels, dataset indices, expected {layer: [N, H*W, C]}).
    lazy: for a dataset run, expected is a scoreboard.LazyExpected (golden chunk by chunk)."""
    from int8cnn.export import load_network
    from int8cnn.inference import run_network
    from int8cnn.memfile import read_words
    from int8cnn.vectors import read_input_images, read_labels

    qnet = load_network(Path(c.weights))
    n = n or c.images or None
    if c.dataset == "golden":
        gdir = Path(c.golden)
        info = json.loads((gdir / "vectors.json").read_text())
        images, labels = read_input_images(gdir), read_labels(gdir)
        ids = np.array(info["indices"])
        expected = {}
        for l in qnet.layers:
            ch, h, w = l.out_shape
            words = read_words(gdir / f"{l.name}.mem", ch * l.lane_bits // 4, len(images) * h * w)
            lanes = words_to_lanes(words, ch, l.lane_bits, l.out_signed or l.emits_logits)
            expected[l.name] = lanes.reshape(len(images), h * w, ch)
        if n or c.start:  # from image `start`, cycling through the committed set
            sel = (c.start + np.arange(n or len(images))) % len(images)
            images, labels, ids = images[sel], labels[sel], ids[sel]
            expected = {k: v[sel] for k, v in expected.items()}
        return qnet, images, labels, ids, expected
    from int8cnn.data import load_mnist
    name = c.dataset
    if name in ("mnist", "fashion"):
        x, y = load_mnist("test", dataset=name)
    else:
        x, y = load_mnist("test", path=name)
    start = c.start
    stop = min(len(y), start + (n or 100))
    images, labels, ids = x[start:stop], y[start:stop], np.arange(start, stop)
    if lazy:
        # saturation coverage from the chunks the scoreboard computes (record_coverage); the
        # golden chunks are computed ahead in a thread while the simulator runs
        return qnet, images, labels, ids, LazyExpected(
            qnet, images, observe=lambda cur: cov.sample_saturation_outs(qnet, cur), prefetch=True)
    outs, _ = run_network(qnet, images)
    return qnet, images, labels, ids, expected_lanes(outs, qnet)


# ----------------------------------------------------------------------------- driver / monitors

class BeatCounter:
    """Whole images (tlast) and beats of the next image on each stream, counted on every clock, for
    the stuck report and the long-stream check (the cocotbext-axi monitors keep a partial frame to
    themselves)."""

    def __init__(self, dut, prefixes: dict):
        self.clk = dut.clk
        self.sigs = {n: (getattr(dut, f"{p}_tvalid"), getattr(dut, f"{p}_tready"),
                         getattr(dut, f"{p}_tlast")) for n, p in prefixes.items()}
        self.progress = {n: [0, 0] for n in prefixes}

    async def run(self):
        edge = RisingEdge(self.clk)
        while True:
            await edge
            for n, (v, r, last) in self.sigs.items():
                if v.value and r.value:
                    p = self.progress[n]
                    if last.value:
                        p[0], p[1] = p[0] + 1, 0
                    else:
                        p[1] += 1


class TopTB:
    def __init__(self, dut, qnet, check_layers: bool = True, record: bool = False):
        self.dut, self.qnet = dut, qnet
        c = cfg()
        self.mults = c.mults             # the fold and the stall points: what the
        self.stall_points = bool(c.stall_points)  # watchdog's image-time scales with
        self.record = {} if record else None   # stream -> per-image lanes and cycles (cross-check)
        Clock(dut.clk, CLK_NS, unit="ns").start()
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_pixel"), dut.clk, dut.rst)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis_result"), dut.clk, dut.rst,
                                  byte_size=len(dut.m_axis_result_tdata))
        self.taps = {}
        for l in (qnet.layers if check_layers else []):  # off: only the result is checked
            sig = getattr(dut, f"tap_{l.name}_tdata")
            self.taps[l.name] = AxiStreamMonitor(AxiStreamBus.from_prefix(dut, f"tap_{l.name}"),
                                                 dut.clk, dut.rst, byte_size=len(sig))
        self.stall = "none"
        self.counter = BeatCounter(dut, {"input": "s_axis_pixel", "result": "m_axis_result",
                                         **{name: f"tap_{name}" for name in self.taps}})
        for x in [self.sink, *self.taps.values()]:
            x.log.setLevel("WARNING")
        self.source.log.setLevel("ERROR")  # it warns with the whole frame when reset flushes it

    def set_stall(self, stall: str, seed: int):
        """The stall pattern `stall` of tb/stalls.py from `seed` (the per-image harness's too)."""
        self.stall = stall
        idle, bp = pause_generators(stall, seed, ii=ii_formula(self.qnet, self.mults))
        self.source.clear_pause_generator()
        self.sink.clear_pause_generator()
        if idle:
            self.source.set_pause_generator(idle)
        if bp:
            self.sink.set_pause_generator(bp)

    async def reset(self, cycles: int = 4):
        await reset_dut(self.dut, cycles, outputs=())

    def flush(self):
        self.source.clear()
        while not self.sink.empty():
            self.sink.recv_nowait()
        for m in self.taps.values():
            while not m.empty():
                m.recv_nowait()

    async def first_accept_time(self) -> float:
        d = self.dut
        while True:
            await RisingEdge(d.clk)
            if int(d.s_axis_pixel_tvalid.value) and int(d.s_axis_pixel_tready.value):
                return round(get_sim_time("ns"))

    async def _check_tap(self, name: str, sb: Scoreboard, n: int, first: int):
        """Consume one tap's streams as they arrive (memory stays flat for 10k images)."""
        mon = self.taps[name]
        for i in range(n):
            f = await mon.recv()
            sb.check_layer(name, first + i, list(f.tdata), round(f.sim_time_start / 1000),
                           round(f.sim_time_end / 1000))
            if self.record is not None:
                l = self.qnet.layer(name)
                self.record.setdefault(name, []).append(words_to_lanes(
                    list(f.tdata), l.out_shape[0], l.lane_bits, l.out_signed or l.emits_logits))
                self.record.setdefault(f"{name}.cycles", []).append(np.array(
                    [round(f.sim_time_start / 1000) // CLK_NS, round(f.sim_time_end / 1000) // CLK_NS]))

    async def run(self, images, sb: Scoreboard, first: int = 0, progress: bool = False) -> dict:
        """Send images back to back, check every tap and the result; return timing figures."""
        t_wall = time.perf_counter()
        self.counter.progress = {k: [0, 0] for k in self.counter.progress}
        counting = cocotb.start_soon(self.counter.run())
        limit = watchdog_cycles(self.stall, ii_formula(self.qnet, self.mults), self.stall_points)
        t_first = cocotb.start_soon(self.first_accept_time())
        checkers = [cocotb.start_soon(self._check_tap(name, sb, len(images), first))
                    for name in self.taps]
        for img in images:
            await self.source.send(AxiStreamFrame(bytes(np.asarray(img, dtype=np.uint8).reshape(-1))))
        t_out = []
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=len(images), desc="images", unit="img", mininterval=2.0)
        for i in range(len(images)):
            try:
                rx = await with_timeout(self.sink.recv(), limit * CLK_NS, "ns")
            except SimTimeoutError:
                prog = self.counter.progress
                raise AssertionError(sb.stuck_report(
                    {k: tuple(v) for k, v in prog.items() if k != "input"}, prog["input"][0],
                    len(images), limit)) from None
            assert len(rx.tdata) == 1, f"image {first + i}: result frame of {len(rx.tdata)} beats"
            t_out.append(round(rx.sim_time_end / 1000))  # ps -> ns
            sb.check_result(first + i, int(rx.tdata[0]), t_out[-1])
            if self.record is not None:
                n_out = self.qnet.layers[-1].out_shape[0]
                self.record.setdefault("result", []).append(words_to_lanes([int(rx.tdata[0])], n_out + 1, 32, True))
                self.record.setdefault("result.cycles", []).append(np.array([t_out[-1] // CLK_NS] * 2))
            if bar:
                bar.update(1)
        if bar:
            bar.close()
        for name, task in zip(self.taps, checkers):
            await with_timeout(task, 10 * PIXELS * CLK_NS, "ns")
            assert self.taps[name].empty(), f"tap {name}: more streams than images"
        counting.cancel()
        for name, (_, extra) in self.counter.progress.items():
            assert extra == 0, (
                f"long stream: {name} has {extra} beats after image {first + len(images) - 1}")
        wall = time.perf_counter() - t_wall
        t0 = await t_first
        ii = (t_out[-1] - t_out[0]) / CLK_NS / (len(t_out) - 1) if len(t_out) > 1 else float("nan")
        self.t0_cycle = t0 // CLK_NS
        return {"images": len(images), "latency_cycles": (t_out[0] - t0) / CLK_NS, "ii_cycles": ii,
                "result_cycles": [(t - t0) // CLK_NS for t in t_out], "wall_s": wall,
                "images_per_s": len(images) / wall}


def log_figures(dut, fig: dict, sb: Scoreboard, stall: str):
    dut._log.info(f"[{stall}] cycles per image (II) {fig['ii_cycles']:.1f}, latency "
                  f"{fig['latency_cycles']:.0f} cycles, {fig['images_per_s']:.1f} simulated images/s "
                  f"({fig['wall_s']:.2f} s wall"
                  + (f", {fig['python_s']:.2f} s of it in Python checks" if "python_s" in fig else "")
                  + ")")
    dut._log.info(sb.summary())


def record_coverage(dut, c: TopConfig, qnet, images, sb: Scoreboard, stall: str | None):
    """Sample the functional coverage of one run and save the run's database so far."""
    if sb.labels is not None:  # a crafted image (id -1) has no label: its result is not sampled
        real = [i for i in range(len(sb.predicted)) if sb.image_ids is None or sb.image_ids[i] >= 0]
        cov.sample_results(np.asarray(sb.labels)[real], np.asarray(sb.predicted)[real])
    if not getattr(sb.expected, "observe", None):  # else sampled per chunk by LazyExpected
        for i in range(0, len(images), 256):  # chunks: a 10k run of a large network stays small
            cov.sample_saturation(qnet, images[i:i + 256])
    if stall:
        cov.sample_stall(stall)
    out = Path(c.report).parent if c.report else Path.cwd()
    cov.save(out, dut._log)


def check_golden_coverage(c: TopConfig):
    """After a regression on the whole committed golden set: every saturation and result bin is
    hit except those vectors.json names as not coverable (int8cnn.coverset: unreachable by
    interval bounds, or hit by no test image)."""
    if c.dataset != "golden" or c.images:
        return
    from int8cnn.export import load_network
    info = json.loads((Path(c.golden) / "vectors.json").read_text())
    missing = sorted(cov.missing_bins(load_network(Path(c.weights)))
                     - set(info.get("unhit", {})))
    assert not missing, (f"the golden set of {info['network']} leaves {len(missing)} coverage "
                         f"bins unhit: {missing[:12]}")


def write_report(path: str, fig: dict, sb: Scoreboard, labels, ids, **extra):
    """report.json of a regression run (int8cnn.report reads it): figures, scoreboard, classes."""
    Path(path).write_text(json.dumps(dict(fig, **extra, summary=sb.summary(),
                                     n_mismatches=sb.n_mismatches, values=sb.values,
                                     first_failing_layer=sb.first_layer_failing(),
                                     mismatches_by_layer=sb.by_layer,
                                     mismatches=[str(m) for m in sb.mismatches[:100]],
                                     predicted=sb.predicted, golden_predicted=sb.golden_predicted,
                                     labels=[int(v) for v in labels],
                                     indices=[int(v) for v in ids]), indent=1))


def save_record(record: dict, path: str, first_pixel_cycle: int) -> None:
    """The captured streams of a run, for test_drivers_agree: per stream the lanes of every image,
    per `<stream>.cycles` the first and last beat's cycle counted from the first accepted pixel."""
    np.savez(path, **{k: np.stack(v) - (first_pixel_cycle if k.endswith(".cycles") else 0)
                      for k, v in record.items()})


def assert_clean(sb: Scoreboard):
    assert sb.n_mismatches == 0, "scoreboard:\n" + sb.report()


def check_fault_found(dut, c: TopConfig, qnet, sb: Scoreboard):
    """An injected fault (run_top.FAULTS) is flagged first at its layer and at no layer before."""
    dut._log.info("fault run:\n" + sb.report())
    assert sb.n_mismatches > 0, f"injected fault {c.fault} was not detected"
    assert sb.first_layer_failing() == c.fault_layer, (
        f"fault {c.fault} expected at {c.fault_layer}, first failing {sb.first_layer_failing()}")
    names = [l.name for l in qnet.layers]
    for layer in names[:names.index(c.fault_layer)]:
        assert layer not in sb.by_layer, f"{layer} should be clean: {sb.report()}"


async def expect_lost_beat_report(dut, tb, qnet, sb: Scoreboard, c: TopConfig, images):
    """Run `images` through either driver's `tb` on a build with run_top.STREAM_FAULT: the run must
    fail with the stuck report that check_short_stream_report expects."""
    t0 = get_sim_time("ns")
    try:
        await tb.run(images, sb)
    except AssertionError as e:
        dut._log.info(f"stuck report:\n{e}")
        check_short_stream_report(str(e), qnet, sb, c.stall, c.mults, len(images),
                                  get_sim_time("ns") - t0)
    else:
        raise AssertionError(f"a lost beat went unnoticed: {sb.report()}")


def check_short_stream_report(report: str, qnet, sb: Scoreboard, stall: str, mults, images: int,
                              run_ns: float):
    """The lost beat of run_top.STREAM_FAULT: the run stopped within the watchdog (the images'
    image-times plus WATCHDOG_IMAGES + 1 more), and the report's first line after the headline names
    the image and the maxpool2d layer that lost it, with its beat count."""
    pool = next(l for l in qnet.layers if l.type == "maxpool2d")
    per = pool.out_shape[1] * pool.out_shape[2]
    image = STREAM_FAULT_BEAT // per
    want = f"first short stream: image {sb._label(image)} layer {pool.name}: {per - 1} of {per} beats"
    lines = report.splitlines()
    assert lines[0].startswith("stuck: no result for") and len(lines) > 1 and lines[1] == want, (
        f"expected {want!r} after the headline, got:\n{report}")
    bound = (images + WATCHDOG_IMAGES + 1) * image_cycles(stall, ii_formula(qnet, mults))
    assert run_ns / CLK_NS <= bound, f"the stuck run took {run_ns / CLK_NS:.0f} cycles > {bound}"


def check_stall_points(dut, n_points: int) -> dict:
    """A top built with stall points (run_top stall_points): one <stream>.stall file per internal
    stream in the run directory, each stream stalled (tb_stall_point's `stalled` cycles over those
    plus its beats) in at least STALL_POINT_MIN of its cycles so far. Returns {stream: ratio}."""
    files = sorted(Path(".").glob("*.stall"))
    assert len(files) == n_points, (
        f"{len(files)} stall point files ({', '.join(f.stem for f in files)}), {n_points} in the top")
    ratios = {}
    for f in files:
        beats, stalled = stall_point_counts(f)
        ratios[f.stem] = stalled / (stalled + beats)
    dut._log.info("stall points, stalled cycles / (stalled + beats): " + ", ".join(
        f"{k} {100 * r:.0f}%" for k, r in ratios.items()))
    low = {k: round(r, 3) for k, r in ratios.items() if r < STALL_POINT_MIN}
    assert not low, f"streams stalled in under {100 * STALL_POINT_MIN:.0f}% of their cycles: {low}"
    return ratios


def check_idle_ii(fig: dict, qnet, stall: str, mults: int | None = None, stall_points=False):
    """Under a periodic idle input pattern (tb/stalls.py, the result always ready) an unfolded,
    unpadded network keeps up with its input: every image leaves exactly PIXELS * beat_cycles (4 x
    784 = 3,136 for `idle`) cycles after the previous one. Other tops: no exact figure (a fold's
    or a padding's cycles interleave with the input's gaps), nothing checked."""
    g_in, g_out = STALL_PATTERNS[stall]
    if (g_in.mode != 1 or g_out.mode != 0 or mults is not None or stall_points
            or qnet.layers[0].padding or len(fig["result_cycles"]) < 2):
        return
    want = image_cycles(stall, ii_formula(qnet))  # exact here: a periodic input, no result wait
    gaps = np.diff(fig["result_cycles"])
    assert (gaps == want).all(), f"[{stall}] II not {want} cycles: gaps {sorted(set(gaps.tolist()))}"


def check_ii(fig: dict, qnet, mults: int | None = None):
    """Without stalls every image leaves exactly ii_formula cycles after the previous one."""
    ii = ii_formula(qnet, mults)
    gaps = np.diff(fig["result_cycles"])
    assert (gaps == ii).all(), f"II not {ii} cycles: gaps {sorted(set(gaps))}"
    if qnet.name == "default" and mults is None:  # the latency limit is the unfolded network's
        assert fig["latency_cycles"] <= LATENCY_LIMIT, f"latency {fig['latency_cycles']} > {LATENCY_LIMIT}"


# ----------------------------------------------------------------------------- tests

@cocotb.test()
async def regression(dut):
    """The configured image set (default: the committed golden set), every layer checked."""
    c = cfg()
    qnet, images, labels, ids, expected = load_stimulus(c)
    tb = TopTB(dut, qnet, check_layers=c.check_layers, record=bool(c.record))
    tb.set_stall(c.stall, c.seed)
    await tb.reset()
    sb = Scoreboard(qnet, expected, labels, ids)
    fig = await tb.run(images, sb, progress=c.progress)
    log_figures(dut, fig, sb, c.stall)
    record_coverage(dut, c, qnet, images, sb, c.stall)
    check_golden_coverage(c)
    if c.record:
        save_record(tb.record, c.record, tb.t0_cycle)
    if c.report:
        write_report(c.report, fig, sb, labels, ids)
    assert_clean(sb)
    if c.stall == "none":
        check_ii(fig, qnet, c.mults)


@cocotb.test()
@cocotb.parametrize(stall=[cocotb.Param(value=s, name=s) for s in STALLS if s != "none"])
async def stress(dut, stall):
    """Random idle input cycles and output backpressure patterns; nothing lost or duplicated
    (run_top stress_images golden images per pattern, default 6)."""
    c = cfg()
    qnet, images, labels, ids, expected = load_stimulus(replace(c, dataset="golden"),
                                                        c.stress_images)
    tb = TopTB(dut, qnet)
    tb.set_stall(stall, c.seed * 7 + STALLS.index(stall))
    await tb.reset()
    sb = Scoreboard(qnet, expected, labels, ids)
    fig = await tb.run(images, sb)
    log_figures(dut, fig, sb, stall)
    record_coverage(dut, c, qnet, images, sb, stall)
    assert_clean(sb)
    check_idle_ii(fig, qnet, stall, c.mults, c.stall_points)
    if c.stall_points:
        check_stall_points(dut, c.stall_points)


@cocotb.test()
async def back_to_back_50(dut):
    """50 images with no gap and no reset: bit-exact, and exactly one image per ii_formula cycles
    (784 for the default network)."""
    c = cfg()
    qnet, images, labels, ids, expected = load_stimulus(replace(c, dataset="golden"), 50)
    tb = TopTB(dut, qnet)
    await tb.reset()
    sb = Scoreboard(qnet, expected, labels, ids)
    fig = await tb.run(images, sb)
    log_figures(dut, fig, sb, "back_to_back")
    record_coverage(dut, c, qnet, images, sb, "none")
    assert_clean(sb)
    check_ii(fig, qnet, c.mults)


@cocotb.test()
@cocotb.parametrize(reset_at=[100, 500, PIXELS + 5])
async def reset_mid_image(dut, reset_at):
    """Reset while an image is in flight (line buffers filling, conv+pool busy, fc/argmax busy),
    then the next images must come out correct."""
    c = cfg()
    qnet, images, labels, ids, expected = load_stimulus(replace(c, dataset="golden"), 4)
    tb = TopTB(dut, qnet)
    await tb.reset()
    # an image and a half, then reset after `reset_at` accepted pixels of the second image
    await tb.source.send(AxiStreamFrame(bytes(images[1].reshape(-1))))
    await tb.source.send(AxiStreamFrame(bytes(images[2].reshape(-1)[:600])))
    accepted = 0
    target = PIXELS + reset_at if reset_at < PIXELS else reset_at
    while accepted < target:
        await RisingEdge(dut.clk)
        if int(dut.s_axis_pixel_tvalid.value) and int(dut.s_axis_pixel_tready.value):
            accepted += 1
    await tb.reset(3)
    conv = qnet.layers[0]
    fill = (conv.kernel - 1) * conv.in_shape[2]  # pixels before the first window is complete
    cov.sample_reset_phase("line_buffer_fill" if reset_at < fill else
                           "conv_pool_busy" if reset_at < PIXELS else "fc_argmax_busy")
    tb.flush()
    for _ in range(5):
        await RisingEdge(dut.clk)
    tb.flush()
    sb = Scoreboard(qnet, expected, labels, ids)
    fig = await tb.run(images, sb)
    log_figures(dut, fig, sb, f"after reset at pixel {reset_at}")
    record_coverage(dut, c, qnet, images, sb, None)
    assert_clean(sb)
    check_ii(fig, qnet, c.mults)


@cocotb.test()
async def no_x_after_reset(dut):
    """After reset no output control signal is X or Z, and tdata is known whenever tvalid is."""
    c = cfg()
    qnet, images, labels, ids, expected = load_stimulus(replace(c, dataset="golden"), 2)
    tb = TopTB(dut, qnet)
    tb.set_stall("random", c.seed)
    await tb.reset()
    buses = [("m_axis_result", True)] + [(f"tap_{l.name}", True) for l in qnet.layers]
    for img in images:
        await tb.source.send(AxiStreamFrame(bytes(img.reshape(-1))))
    for cycle in range(3 * PIXELS):
        await RisingEdge(dut.clk)
        await ReadOnly()
        assert dut.s_axis_pixel_tready.value.is_resolvable, f"s_axis_pixel_tready X at cycle {cycle}"
        for prefix, _ in buses:
            v = getattr(dut, f"{prefix}_tvalid").value
            assert v.is_resolvable, f"{prefix}_tvalid is {v} at cycle {cycle}"
            if int(v):
                for s in ("tdata", "tlast"):
                    sv = getattr(dut, f"{prefix}_{s}").value
                    assert sv.is_resolvable, f"{prefix}_{s} is {sv} at cycle {cycle} while valid"


@cocotb.test()
async def fault_detected(dut):
    """Run only on a build with an injected fault: the scoreboard must flag the right layer."""
    c = cfg()
    qnet, images, labels, ids, expected = load_stimulus(replace(c, dataset="golden"), 4)
    tb = TopTB(dut, qnet)
    await tb.reset()
    sb = Scoreboard(qnet, expected, labels, ids)
    await tb.run(images, sb)
    check_fault_found(dut, c, qnet, sb)


@cocotb.test()
async def short_stream_detected(dut):
    """Run only on a build with run_top.STREAM_FAULT (a maxpool2d output beat lost): the run ends
    within a few image-times with a report naming the image, the layer and its beat count."""
    c = cfg()
    qnet, images, labels, ids, expected = load_stimulus(replace(c, dataset="golden"), 4)
    tb = TopTB(dut, qnet)
    tb.set_stall(c.stall, c.seed)
    await tb.reset()
    sb = Scoreboard(qnet, expected, labels, ids)
    await expect_lost_beat_report(dut, tb, qnet, sb, c, images)


@cocotb.test()
async def deadlock_detected(dut):
    """Run only on a residual network built with INT8CNN_FAULT_SKIP_FIFO (skip FIFOs a quarter of
    int8cnn.hardware.skip_fifo_depths): the graph must hang. Two images go in; for 4 II no result
    leaves and the input stops accepting pixels (a frame is still queued at the source). The same
    stimulus on the unfaulted build completes bit-exact (test_generated_network)."""
    from cocotb.triggers import SimTimeoutError, Timer
    c = cfg()
    qnet, images, *_ = load_stimulus(replace(c, dataset="golden"), 2)
    tb = TopTB(dut, qnet, check_layers=False)
    await tb.reset()
    for img in images:
        await tb.source.send(AxiStreamFrame(bytes(img.reshape(-1))))
    budget = 4 * ii_formula(qnet, c.mults) * CLK_NS
    try:
        rx = await with_timeout(tb.sink.recv(), budget, "ns")
        raise AssertionError(f"skip FIFO fault: a result left at {rx.sim_time_end} ps, no deadlock")
    except SimTimeoutError:
        pass
    queued = tb.source.count()
    await Timer(ii_formula(qnet, c.mults) * CLK_NS, "ns")
    assert tb.source.count() == queued > 0, (
        f"the input still moves ({queued} -> {tb.source.count()} frames queued): slow, not hung")
    assert int(dut.s_axis_pixel_tready.value) == 0


# ----------------------------------------------------------------------------- pytest side

def test_top(sim):
    """The per-beat (cocotbext-axi) driver, the reference: every top-level cocotb test above except
    the fault runs (regression, stress, back_to_back_50, reset_mid_image, no_x_after_reset) on the
    committed golden set."""
    run_top(sim, driver="beat")


def test_top_image(sim):
    """The per-image driver (tb/test_top_image.py): regression on the committed golden set (II and
    latency checked) and every stall pattern."""
    run_top(sim)


AGREE_STALLS = ("none", "random", "slow_consumer")


def test_drivers_agree(sim, tmp_path):
    """The per-beat and the per-image driver send the same golden images with the same stall
    pattern and seed (tb/stalls.py), for each of AGREE_STALLS: identical tap streams on every
    layer and identical results; without stalls also the same cycle of every beat of every stream,
    counted from the first accepted pixel (first and last beat of every image on every stream)."""
    for stall in AGREE_STALLS:
        recs = {}
        for driver in ("beat", "image"):
            recs[driver] = tmp_path / f"{driver}-{stall}.npz"
            run_top(sim, driver=driver, tests="regression", stall=stall, seed=5,
                    record=str(recs[driver]), build_name=f"agree-{sim}-{driver}")
        beat, image = np.load(recs["beat"]), np.load(recs["image"])
        assert sorted(beat.files) == sorted(image.files)
        for k in beat.files:
            if k.endswith(".cycles") and stall != "none":
                continue  # the pause patterns start at different cycles relative to reset
            assert beat[k].shape == image[k].shape, (stall, k, beat[k].shape, image[k].shape)
            diff = np.argwhere(beat[k] != image[k])
            assert diff.size == 0, (f"[{stall}] {k}: drivers differ first at {diff[0].tolist()} "
                                    f"(beat {beat[k][tuple(diff[0])]}, image {image[k][tuple(diff[0])]})")


def _other_networks():
    from int8cnn.generate import GEN_DIR
    from int8cnn.hardware import default_mults, top_name
    nets = sorted(p.name for p in (ROOT / "weights").iterdir() if (p / "manifest.json").exists())
    return [n for n in nets if n != "default"
            and (GEN_DIR / f"{top_name(n, default_mults(n))}.v").exists()]


# Verilator runs every folded top on its whole golden set (seed000, the slowest, 20 images of
# 56,508 cycles in about 100 s with the build). Icarus runs folded tops at a few thousand cycles
# per second and checks the first ICARUS_FOLDED_IMAGES golden images (every layer bit-exact, one
# II measured), seed000 (1.1 M cycles for the set) only ICARUS_FOLDED_CYCLES worth, at least one.
# The whole set: `tb/run_top.py --sim icarus --net <net>`.
ICARUS_FOLDED_IMAGES = 2
ICARUS_FOLDED_CYCLES = 60_000


def folded_images(sim: str, net: str) -> int:
    """Golden images test_generated_network runs (0: all) for `net` on `sim`."""
    from int8cnn.export import load_network
    from int8cnn.hardware import default_mults, expected_ii
    m = default_mults(net)
    if m is None or sim != "icarus":
        return 0
    fit = ICARUS_FOLDED_CYCLES // expected_ii(load_network(ROOT / "weights" / net), m)
    return max(1, min(ICARUS_FOLDED_IMAGES, fit))


def _network_cases():
    from int8cnn.sim import selected_simulators
    return [(sim, net) for net in _other_networks() for sim in selected_simulators()]


def _residual_networks():
    from int8cnn.export import load_network
    return [n for n in _other_networks() if any(l.type == "add" for l in load_network(ROOT / "weights" / n).layers)]


@pytest.mark.parametrize("sim, net", _network_cases(), indirect=["sim"])
def test_generated_network(sim, net):
    """Every other committed network: its generated top (folded to int8cnn.hardware.default_mults
    where the network has one) on its committed golden set (a folded top: the first
    folded_images), every layer checked bit for bit and the II equal to expected_ii.
    A residual graph (fork, skip FIFO, add; not its _fashion twin) also runs `stress`: every stall
    pattern (idle input, output backpressure, slow consumer, random bursts), 3 images each (two
    image boundaries under stalls; 2 on Icarus), every layer bit-exact, nothing lost, no deadlock;
    on Icarus only the networks marked icarus_stress in int8cnn.networks."""
    from int8cnn.networks import NETWORKS
    images = folded_images(sim, net)
    stress = (net in _residual_networks() and not net.endswith("_fashion")
              and (sim == "verilator" or NETWORKS[net].icarus_stress))
    run_top(sim, net=net, tests="regression|stress" if stress else "regression", images=images,
            stress_images=3 if sim == "verilator" else 2)


def _stall_point_networks():
    """make test: the networks marked stall_points in int8cnn.networks (one of each structure:
    unfolded; act_lut + average pool; residual adds; depthwise + stride 2); the nightly workflow
    (INT8CNN_NIGHTLY=1): every network."""
    from int8cnn.networks import NETWORKS
    nets = ["default", *_other_networks()]
    if os.environ.get("INT8CNN_NIGHTLY") == "1":
        return nets
    return [n for n in nets if NETWORKS[n].stall_points]


@pytest.mark.parametrize("net", _stall_point_networks())
def test_internal_stall_points(net):
    """A network's top built with a random stall point on every internal stream
    (tb/hdl/tb_stall_point.v: idle and backpressure from a seeded LFSR between every producer and
    its consumer, so every inner handshake is stressed, not only the result stream): every stall
    pattern on 2 golden images each, every layer bit-exact, nothing lost, and every internal
    stream stalled in at least STALL_POINT_MIN of its cycles in every pattern. Verilator when
    selected (seed000 folded is 56,508 cycles per image before the stalls)."""
    from int8cnn.sim import selected_simulators
    sims = selected_simulators()
    run_top("verilator" if "verilator" in sims else sims[0], net=net, tests="stress",
            stress_images=2, stall_points=True)


def test_folded_default(sim):
    """The default network folded to 8 multipliers per layer (the iCE40 UP5K's 8 DSPs,
    rtl/generated/cnn_default_m8.v): the regression on the committed golden set with every layer
    checked bit for bit and the II equal to int8cnn.hardware.expected_ii (9496 cycles per image;
    about 70 s on Icarus, 30 s on Verilator including the build)."""
    run_top(sim, mults=8, tests="regression")


@pytest.mark.parametrize("net", _residual_networks())
def test_skip_fifo_too_small_deadlocks(net):
    """The skip FIFO depth is needed: with a quarter of it the residual graph hangs
    (deadlock_detected). Icarus when selected (its build is quick; the run is 4 II), else Verilator."""
    from int8cnn.sim import selected_simulators
    sims = selected_simulators()
    run_top("icarus" if "icarus" in sims else sims[0], net=net, fault=SKIP_FIFO_FAULT,
            tests="deadlock_detected", driver="beat")


@pytest.mark.parametrize("driver", ["image", "beat"])
def test_lost_beat_is_diagnosed(sim, driver):
    """A beat lost inside the network (run_top.STREAM_FAULT) ends the run within a few image-times
    with a report naming the image, the layer and its beat count, through either driver, under
    random stalls."""
    run_top(sim, fault=STREAM_FAULT, driver=driver, stall="random")


@pytest.mark.parametrize("driver", ["image", "beat"])
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_checker_catches_injected_fault(sim, fault, driver):
    """The RTL built with an injected fault must make the scoreboard fail at the right layer,
    through either driver."""
    run_top(sim, fault=fault, driver=driver)
