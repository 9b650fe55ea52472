"""Top-level verification through the per-image driver: the HDL harness of tb/harness.py does the
per-cycle work (clock, pixel buffer, stall generators, capture of every tap and the result,
handshake checks); Python wakes once per half buffer of images (or at the end), reads the captures
in bulk and compares every layer of every image with int8cnn.golden through tb/scoreboard.py, with
the same mismatch report as the per-beat driver (tb/test_int8cnn_top.py).

Configuration: tb/topcfg.py TopConfig ($TB_TOP_CFG), written by tb/run_top.py (`run_top(..., driver="image")`).
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, FallingEdge, First, RisingEdge


from harness import BUF_IMAGES, CLK_NS, capture_of, pixels_hex, split_images, streams  # noqa: E402
from scoreboard import Scoreboard  # noqa: E402
from stalls import STALLS, seeds, stall_gens, watchdog_cycles  # noqa: E402
from test_int8cnn_top import (assert_clean, cfg, check_fault_found,  # noqa: E402
                              check_golden_coverage, check_ii, check_idle_ii, check_stall_points, expect_lost_beat_report,
                              ii_formula, load_stimulus, log_figures, record_coverage,
                              save_record, write_report)


class ImageTB:
    """The Python side of the harness: configure, fill the pixel buffer, collect the captures."""

    def __init__(self, dut, qnet, check_layers: bool = True, mults=None, record: bool = False):
        self.dut, self.qnet, self.mults = dut, qnet, mults
        self.half = BUF_IMAGES // 2
        self.files = {name: capture_of(qnet, Path(f"{name}.cap")) for name, *_ in streams(qnet)
                      if check_layers or name == "result"}
        self.first_pixel = Path("first_pixel.cap")
        self.record = {} if record else None   # stream -> list of per-image lanes (cross-check)
        self.stall = "none"
        self.stall_points = bool(cfg().stall_points)

    # ---------------------------------------------------------------- configuration
    async def reset(self, cycles: int = 4):
        d = self.dut
        d.run.value = 0
        d.rst.value = 1
        await ClockCycles(d.clk, cycles)
        await FallingEdge(d.clk)

    def set_stall(self, stall: str, seed: int):
        self.stall = stall
        g_in, g_out = stall_gens(stall, ii_formula(self.qnet, self.mults))
        s_in, s_out = seeds(seed)
        d = self.dut
        for prefix, g, s in (("in", g_in, s_in), ("out", g_out, s_out)):
            getattr(d, f"{prefix}_mode").value = g.mode
            getattr(d, f"{prefix}_a").value = g.a
            getattr(d, f"{prefix}_b").value = g.b
            getattr(d, f"{prefix}_seed").value = s

    async def load(self, half: int, images) -> None:
        """Write one chunk of images to pixels.hex; the harness reads it into `half` at the next
        clock edge (awaited, so the file may be rewritten afterwards)."""
        Path("pixels.hex").write_bytes(pixels_hex(images, pad_to=self.half))
        d = self.dut
        d.load_half.value = half
        d.load_toggle.value = 1 - int(d.load_toggle.value)
        await RisingEdge(d.clk)
        await FallingEdge(d.clk)

    # ---------------------------------------------------------------- run
    async def run(self, images, sb: Scoreboard, progress: bool = False) -> dict:
        """Stream `images` back to back, check every captured stream; return timing figures."""
        d, n = self.dut, len(images)
        for f in [*self.files.values()]:
            f.skip_to_end()
        first_off = self.first_pixel.stat().st_size if self.first_pixel.exists() else 0
        self.pending = {s: None for s in self.files}
        self.checked = {s: 0 for s in self.files}
        self.t_result: list[int] = []
        chunks = [images[i:i + self.half] for i in range(0, n, self.half)]
        for k in range(min(2, len(chunks))):
            await self.load(k, chunks[k])
        nxt = 2
        d.n_images.value = n
        d.rst.value = 0
        d.run.value = 1
        t_wall = time.perf_counter()
        self.python_s = 0.0   # wall time spent reading captures and checking (golden included)
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=n, desc="images", unit="img", mininterval=2.0)
        limit = watchdog_cycles(self.stall, ii_formula(self.qnet, self.mults), self.stall_points)
        d.stuck_limit.value = limit
        while True:
            if int(d.finished.value):
                break
            stuck = RisingEdge(d.stuck)
            fired = await First(d.free_toggle.value_change, RisingEdge(d.finished), stuck)
            if fired is stuck:
                self.collect(sb)
                raise AssertionError(self.stuck_report(sb, n, limit))
            if nxt < len(chunks) and int(d.free_half.value) == nxt % 2 \
                    and int(d.sent.value) >= (nxt - 1) * self.half:
                await self.load(nxt % 2, chunks[nxt])
                nxt += 1
            before = self.checked["result"]
            t_py = time.perf_counter()
            self.collect(sb)
            self.python_s += time.perf_counter() - t_py
            if bar:
                bar.update(self.checked["result"] - before)
        t_py = time.perf_counter()
        self.collect(sb)
        self.python_s += time.perf_counter() - t_py
        wall = time.perf_counter() - t_wall
        if bar:
            bar.close()
        d.run.value = 0
        first = self.check_complete(n, first_off)
        t0 = self.t0 = first[0]
        tr = np.array(self.t_result)
        return {"images": n, "latency_cycles": float(tr[0] - t0),
                "ii_cycles": float(np.diff(tr).mean()) if n > 1 else float("nan"),
                "result_cycles": (tr - t0).tolist(), "first_pixel_cycles": [c - t0 for c in first],
                "wall_s": wall, "images_per_s": n / wall, "python_s": self.python_s}

    def check_complete(self, n: int, first_off: int) -> list[int]:
        """After a run of n images: every stream captured n images and no beat more, no handshake
        violation; returns the cycle of each image's first pixel (from the first_pixel capture
        at byte first_off)."""
        for s, k in self.checked.items():
            assert k == n, f"{s}: {k} images captured, {n} sent"
            extra = 0 if self.pending[s] is None else len(self.pending[s][0])
            assert extra == 0, f"long stream: layer {s} has {extra} beats after image {n - 1}"
        errs = int(self.dut.protocol_errors.value)
        assert errs == 0, f"{errs} handshake-protocol violations (tb_capture lines in the simulator log)"
        with open(self.first_pixel, "rb") as f:
            f.seek(first_off)
            first = [int(x, 16) for x in f.read().split()]
        assert len(first) == n, f"first pixels of {len(first)} images recorded, {n} sent"
        return first

    def collect(self, sb: Scoreboard) -> None:
        """Read every capture file and check each whole image that arrived since the last call."""
        for s, f in self.files.items():
            cyc, last, lanes = f.read()
            if self.pending[s] is not None:
                pc, pl, pv = self.pending[s]
                cyc, last, lanes = np.concatenate([pc, cyc]), np.concatenate([pl, last]), np.concatenate([pv, lanes])
            spans = split_images(last)
            end = spans[-1][1] if spans else 0
            self.pending[s] = (cyc[end:], last[end:], lanes[end:])
            if not spans:
                continue
            first = self.checked[s]
            t0s = [int(cyc[a]) * CLK_NS for a, _ in spans]
            t1s = [int(cyc[b - 1]) * CLK_NS for _, b in spans]
            if s == "result":
                for i, (a, b) in enumerate(spans):
                    if b - a != 1:
                        sb.check_layer_lanes(self.qnet.layers[-1].name, first + i, lanes[a:b, 1:], t0s[i], t1s[i])
                    sb.check_result_lanes(first + i, lanes[a], t1s[i])
                self.t_result += [int(cyc[b - 1]) for _, b in spans]
            else:
                l = self.qnet.layer(s)
                beats = l.out_shape[1] * l.out_shape[2]
                if all(b - a == beats for a, b in spans):
                    block = lanes[:end].reshape(len(spans), beats, l.out_shape[0])
                    sb.check_layer_block(s, first, block, t0s, t1s)
                else:
                    for i, (a, b) in enumerate(spans):
                        sb.check_layer_lanes(s, first + i, lanes[a:b], t0s[i], t1s[i])
            if self.record is not None:
                self.record.setdefault(s, []).extend(lanes[a:b] for a, b in spans)  # result: [1, n+1]
                self.record.setdefault(f"{s}.cycles", []).extend(np.array([cyc[a], cyc[b - 1]]) for a, b in spans)
            self.checked[s] += len(spans)

    def stuck_report(self, sb: Scoreboard, n: int, cycles: int) -> str:
        progress = {st: (self.checked[st], 0 if self.pending[st] is None else len(self.pending[st][0]))
                    for st in self.files}
        return sb.stuck_report(progress, int(self.dut.sent.value), n, cycles)


# ----------------------------------------------------------------------------- tests

@cocotb.test()
async def regression(dut):
    """The configured image set (default: the committed golden set), every layer checked."""
    c = cfg()
    qnet, images, labels, ids, expected = load_stimulus(c, lazy=True)
    tb = ImageTB(dut, qnet, check_layers=c.check_layers, mults=c.mults,
                 record=bool(c.record))
    await tb.reset()
    tb.set_stall(c.stall, c.seed)
    sb = Scoreboard(qnet, expected, labels, ids)
    fig = await tb.run(images, sb, progress=c.progress)
    log_figures(dut, fig, sb, c.stall)
    if c.record:
        save_record(tb.record, c.record, tb.t0)
    if c.report:
        write_report(c.report, fig, sb, labels, ids, driver="image")
    record_coverage(dut, c, qnet, images, sb, c.stall)
    check_golden_coverage(c)
    assert_clean(sb)
    if c.stall == "none":
        check_ii(fig, qnet, c.mults)


@cocotb.test()
@cocotb.parametrize(stall=[cocotb.Param(value=s, name=s) for s in STALLS if s != "none"])
async def stress(dut, stall):
    """Every stall pattern (idle input, backpressure, slow consumer, random bursts) on
    stress_images golden images: every layer bit-exact, nothing lost, handshakes clean."""
    c = cfg()
    qnet, images, labels, ids, expected = load_stimulus(replace(c, dataset="golden"),
                                                        c.stress_images)
    tb = ImageTB(dut, qnet, mults=c.mults)
    await tb.reset()
    tb.set_stall(stall, c.seed * 7 + list(STALLS).index(stall))
    sb = Scoreboard(qnet, expected, labels, ids)
    fig = await tb.run(images, sb)
    log_figures(dut, fig, sb, stall)
    record_coverage(dut, c, qnet, images, sb, stall)
    assert_clean(sb)
    check_idle_ii(fig, qnet, stall, c.mults, c.stall_points)
    if c.stall_points:
        check_stall_points(dut, c.stall_points)


@cocotb.test()
async def short_stream_detected(dut):
    """Run only on a build with run_top.STREAM_FAULT (a maxpool2d output beat lost): the harness's
    watchdog ends the run within a few image-times with a report naming the image, the layer and
    its beat count (tb/test_int8cnn_top.py checks the report)."""
    c = cfg()
    qnet, images, labels, ids, expected = load_stimulus(replace(c, dataset="golden"), 4)
    tb = ImageTB(dut, qnet, mults=c.mults)
    await tb.reset()
    tb.set_stall(c.stall, c.seed)
    sb = Scoreboard(qnet, expected, labels, ids)
    await expect_lost_beat_report(dut, tb, qnet, sb, c, images)


@cocotb.test()
async def fault_detected(dut):
    """Run only on a build with an injected fault: the scoreboard must flag the right layer."""
    c = cfg()
    qnet, images, labels, ids, expected = load_stimulus(replace(c, dataset="golden"), 4)
    tb = ImageTB(dut, qnet, mults=c.mults)
    await tb.reset()
    tb.set_stall("none", c.seed)
    sb = Scoreboard(qnet, expected, labels, ids)
    await tb.run(images, sb)
    check_fault_found(dut, c, qnet, sb)
