"""axis_fifo: cocotb tests (run inside the simulator) and the pytest function that builds each case.

Random beats in random-length frames pass through unchanged under every stall configuration; with the
sink stopped the FIFO must accept exactly DEPTH+1 beats (RAM + output register) and then drain in
order. The pass-through stimulus and checks are shared with axis_skid (axis_tb.passthrough_*).
"""
from __future__ import annotations

import cocotb
import pytest

from axis_tb import passthrough_capacity, passthrough_stream, run_case, stall_test, tb_cfg

LATENCY = 2  # cycles from an accepted input beat to the output when empty (rtl/axis_fifo.v)


# ----------------------------------------------------------------------------- cocotb side

@stall_test
async def run_stream(dut, stall):
    await passthrough_stream(dut, stall, LATENCY)


@cocotb.test()
async def capacity(dut):
    """Sink stopped: exactly DEPTH+1 beats (RAM + output register) are accepted, then all drain."""
    await passthrough_capacity(dut, tb_cfg()["DEPTH"] + 1, LATENCY)


# ----------------------------------------------------------------------------- pytest side

CASES = {
    "w8d16": dict(DATA_W=8, DEPTH=16),  # default
    "w5d2": dict(DATA_W=5, DEPTH=2),    # smallest depth, odd width
}


@pytest.mark.parametrize("case", list(CASES))
def test_axis_fifo(sim, case):
    params = CASES[case]
    seed = 5000 + list(CASES).index(case)
    run_case(sim, "axis_fifo", case, params, dict(params, seed=seed, beats=1000))
