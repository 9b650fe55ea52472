"""axis_skid: cocotb tests (run inside the simulator) and the pytest function that builds each case.

Random beats in random-length frames pass through unchanged under every stall configuration; with the
sink stopped the slice must accept exactly 2 beats (output register + skid register). The
pass-through stimulus and checks are shared with axis_fifo (axis_tb.passthrough_*).
"""
from __future__ import annotations

import cocotb
import pytest

from axis_tb import passthrough_capacity, passthrough_stream, run_case, stall_test

LATENCY = 1  # cycles from an accepted input beat to the output (rtl/axis_skid.v)
CAPACITY = 2  # beats accepted with the sink stopped


# ----------------------------------------------------------------------------- cocotb side

@stall_test
async def run_stream(dut, stall):
    await passthrough_stream(dut, stall, LATENCY)


@cocotb.test()
async def capacity(dut):
    """Sink stopped: exactly CAPACITY beats are accepted, then all drain in order."""
    await passthrough_capacity(dut, CAPACITY, LATENCY)


# ----------------------------------------------------------------------------- pytest side

CASES = {
    "w8": dict(DATA_W=8),    # byte lanes
    "w37": dict(DATA_W=37),  # odd width
}


@pytest.mark.parametrize("case", list(CASES))
def test_axis_skid(sim, case):
    params = CASES[case]
    seed = 4000 + list(CASES).index(case)
    run_case(sim, "axis_skid", case, params, dict(params, seed=seed, beats=1000))


def test_user_coverage(sim):
    """COCOTB_USER_COVERAGE=1 (cocotb measures the testbench's own Python line coverage with
    coverage.py) works: no tb/ module shadows the coverage package, the tests pass and the data
    file records this test module."""
    import coverage

    from axis_tb import build_dir
    data = build_dir("axis_skid", sim, "usercov") / "coverage.dat"
    data.unlink(missing_ok=True)
    run_case(sim, "axis_skid", "usercov", CASES["w8"], dict(CASES["w8"], seed=1, beats=100),
             env={"COCOTB_USER_COVERAGE": "1", "COVERAGE_FILE": str(data)}, testcase="capacity")
    cov = coverage.Coverage(data_file=str(data))
    cov.load()
    assert any(f.endswith("test_axis_skid.py") for f in cov.get_data().measured_files())
