"""pytest glue for the cocotb tests in tb/.

`sim` fixture: every cocotb test runs once per simulator. On a user's machine a missing simulator is
a skip with the reason; with INT8CNN_REQUIRE_SIMS=1 (set by CI) it is a failure, so CI cannot pass
by skipping. SIM=icarus or SIM=verilator restricts the run to one simulator.
"""
from __future__ import annotations

import os

import pytest

from int8cnn.sim import SIMULATORS, check_simulator, selected_simulators


def pytest_configure(config):
    """An unknown $SIM is a usage error before collection, not a run of skips that exits 0."""
    only = os.environ.get("SIM")
    if only and only not in SIMULATORS:
        raise pytest.UsageError(f"SIM={only!r} is not a supported simulator; "
                                f"use one of: {', '.join(SIMULATORS)} (or leave SIM unset for both)")


@pytest.fixture(params=selected_simulators())
def sim(request):
    name = request.param
    reason = check_simulator(name)
    if reason:
        if os.environ.get("INT8CNN_REQUIRE_SIMS") == "1":
            pytest.fail(f"{name}: {reason} (INT8CNN_REQUIRE_SIMS=1)")
        pytest.skip(reason)
    return name
