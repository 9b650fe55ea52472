"""tb_stall (tb/hdl/tb_stall.v, the per-image harness's stall generator): its pause sequence equals
tb/stalls.py's Python model cycle for cycle, for every generator of the stall vocabulary and a
few seeds, so both top-level drivers run the same patterns."""
from __future__ import annotations

import json
import os
from itertools import islice

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, RisingEdge

from harness import HDL
from int8cnn.sim import run_cocotb
from stalls import STALLS, Gen, pauses

CYCLES = 12_000


@cocotb.test()
async def sequence_matches_model(dut):
    c = json.loads(os.environ["TB_CFG"])
    Clock(dut.clk, 10, unit="ns").start()
    for mode, a, b, seed in c["gens"]:
        dut.run.value = 0
        dut.mode.value, dut.a.value, dut.b.value, dut.seed.value = mode, a, b, seed
        await ClockCycles(dut.clk, 2)
        await FallingEdge(dut.clk)
        dut.run.value = 1
        got = []
        for _ in range(CYCLES):
            await ReadOnly()
            got.append(int(dut.pause.value))
            await RisingEdge(dut.clk)
        want = list(islice(pauses(Gen(mode, a, b), seed), CYCLES))
        first = next((k for k in range(CYCLES) if got[k] != want[k]), None)
        assert first is None, (f"mode {mode} a {a} b {b} seed {seed}: HDL and model differ first at "
                               f"cycle {first}: HDL {got[first:first + 8]} model {want[first:first + 8]}")
        assert 0 < sum(got) < CYCLES or mode == 0, f"mode {mode}: pause never changes"
        await FallingEdge(dut.clk)


@cocotb.test()
async def deliberately_fails(dut):
    """Run only by test_a_failing_cocotb_test_fails_pytest (the other run filters it out)."""
    await ClockCycles(dut.clk, 1)
    assert False, "deliberate failure"


# every generator of the vocabulary (tb/stalls.py), two seeds each, and "off"
GENS = sorted({g for pair in STALLS.values() for g in pair if g.mode})
SEEDS = (1, 0x9E3779B9)


def test_tb_stall(sim):
    gens = [[g.mode, g.a, g.b, s] for g in GENS for s in SEEDS] + [[0, 0, 0, 1]]
    run_cocotb(sim, "tb_stall", [HDL / "tb_stall.v"], includes=[HDL],
               test_module="test_tb_stall",
               build_name=f"tb_stall-{sim}", extra_env={"TB_CFG": json.dumps({"gens": gens})},
               testcase="sequence_matches_model")


def test_a_failing_cocotb_test_fails_pytest(sim):
    """A failing cocotb test reaches pytest as a failure naming the build and the results file
    (through cocotb-test), and the results file records it."""
    import pytest
    with pytest.raises(AssertionError, match=r"tb_stall-fail-\w+: FAILED 1 tests.*results.xml") as e:
        run_cocotb(sim, "tb_stall", [HDL / "tb_stall.v"], includes=[HDL], test_module="test_tb_stall",
                   build_name=f"tb_stall-fail-{sim}", testcase="deliberately_fails",
                   extra_env={"TB_CFG": "{}"})
    results = str(e.value).split("see ")[1].split(" and")[0]
    text = open(results).read()
    assert 'name="deliberately_fails"' in text and "<failure" in text
    assert "sequence_matches_model" not in text
