"""tb_stall_point (tb/hdl/tb_stall_point.v, the random stall point a generated top gets on every
internal stream with `define INT8CNN_STALL_POINTS): the beats, their order and tlast pass unchanged
under every stall configuration of the sink and the source, its own output keeps the AXI-Stream
rules (tvalid held until taken, tdata/tlast stable meanwhile), it stalls the stream in at least 10%
of its cycles (what test_internal_stall_points asks of every internal stream), and the counts it
writes to <NAME>.stall are the beats that passed."""
from __future__ import annotations

import json
from pathlib import Path

import cocotb
import numpy as np
import pytest
from cocotb.triggers import RisingEdge

from axis_tb import (STALLS, TB, build_dir, frame_lengths, passthrough_words, split, stall_test,
                     tb_cfg)
from harness import HDL, stall_point_counts
from int8cnn.sim import run_cocotb
from stalls import STALL_POINT_MIN


async def output_rules(dut, errors: list):
    """Record every cycle in which m_axis breaks the AXI-Stream source rules."""
    prev = None  # (tdata, tlast) shown and not taken in the previous cycle
    cycle = 0
    while True:
        await RisingEdge(dut.clk)
        cycle += 1
        v, r = int(dut.m_axis_tvalid.value), int(dut.m_axis_tready.value)
        now = (int(dut.m_axis_tdata.value), int(dut.m_axis_tlast.value)) if v else None
        if prev is not None and now != prev:
            errors.append(f"cycle {cycle}: {'tvalid withdrawn' if now is None else 'tdata/tlast changed'}")
        prev = now if v and not r else None


@stall_test
async def passes_everything(dut, stall):
    cfg = tb_cfg()
    seed = cfg["seed"] + STALLS.index(stall)
    rng = np.random.default_rng(seed)
    tb = TB(dut, stall)
    await tb.reset()
    errors: list = []
    cocotb.start_soon(output_rules(dut, errors))
    n = cfg["beats"]
    frames = split(passthrough_words(rng, n, cfg["DATA_W"]), frame_lengths(rng, n))
    await tb.send(frames)
    await tb.expect(frames, timeout_ns=100_000 * len(frames))
    await tb.drain(4)
    assert not errors, f"{len(errors)} AXI-Stream rule violations on m_axis: {errors[:5]}"
    beats, stalled = stall_point_counts(Path(f"{cfg['NAME']}.stall"))
    assert beats == cfg["beats"], f"{beats} beats counted, {cfg['beats']} passed"
    assert stalled / (stalled + beats) >= STALL_POINT_MIN, (
        f"stalled in {stalled} cycles for {beats} beats")
    dut._log.info(f"[{stall}] stalled {stalled} cycles for {beats} beats")


@pytest.mark.parametrize("width", [8, 37])
def test_tb_stall_point(sim, width):
    params = {"DATA_W": width, "SEED": 12345 + width, "NAME": '"sp"'}
    cfg = {"DATA_W": width, "seed": 700 + width, "beats": 600, "NAME": "sp"}
    run_cocotb(sim, "tb_stall_point", [HDL / "tb_stall_point.v"], includes=[HDL],
               test_module="test_tb_stall_point", parameters=params,
               build_name=build_dir("tb_stall_point", sim, f"w{width}").name,
               extra_env={"TB_CFG": json.dumps(cfg)})
