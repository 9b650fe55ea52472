"""tb_capture (tb/hdl/tb_capture.v, the per-image harness's stream recorder): what it writes is what
was accepted, as tb/harness.py's CaptureFile decodes it (every beat's value, tlast and cycle, under
random backpressure, lanes that cross 32-bit words), and each handshake violation is counted:
tdata changed while stalled, tvalid dropped while stalled, tlast on the wrong beat, and (Icarus,
4-state) X on an accepted beat."""
from __future__ import annotations

import os
import random
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from harness import HDL, CaptureFile
from int8cnn.sim import SIM_BUILD, run_cocotb

LANES, LANE_BITS, BEATS = 3, 12, 4          # 36-bit tdata: two words, a lane across the boundary


class Driver:
    def __init__(self, dut):
        self.dut = dut
        self.cycle = 0
        Clock(dut.clk, 10, unit="ns").start()

    async def step(self, valid: int, data, last: int, ready: int) -> bool:
        """Drive one cycle; True when the beat was accepted."""
        d = self.dut
        d.tvalid.value, d.tready.value, d.tlast.value, d.cycle.value = valid, ready, last, self.cycle
        d.tdata.value = data
        await RisingEdge(d.clk)
        await FallingEdge(d.clk)
        self.cycle += 1
        return bool(valid and ready)


def pack(lanes) -> int:
    return sum((int(v) & ((1 << LANE_BITS) - 1)) << (i * LANE_BITS) for i, v in enumerate(lanes))


async def reset(dut, drv: Driver):
    dut.rst.value = 1
    await drv.step(0, 0, 0, 0)
    dut.rst.value = 0


@cocotb.test()
async def records_what_was_accepted(dut):
    """Three images under random backpressure: the file decodes to exactly the accepted beats."""
    rng = random.Random(int(os.environ.get("TB_SEED", "1")))
    drv = Driver(dut)
    await reset(dut, drv)
    cap = CaptureFile(Path("capture.cap"), LANES * LANE_BITS, LANES, LANE_BITS, signed=True)
    cap.skip_to_end()
    sent, cycles, lasts = [], [], []
    for image in range(3):
        for beat in range(BEATS):
            lanes = [rng.randrange(-2 ** (LANE_BITS - 1), 2 ** (LANE_BITS - 1)) for _ in range(LANES)]
            while True:
                ready = int(rng.random() < 0.6)
                c = drv.cycle
                if await drv.step(1, pack(lanes), int(beat == BEATS - 1), ready):
                    break
            sent.append(lanes)
            cycles.append(c)
            lasts.append(beat == BEATS - 1)
    await drv.step(0, 0, 0, 0)
    await ReadOnly()
    cyc, last, got = cap.read()
    assert np.array_equal(got, np.array(sent)), f"decoded {got.tolist()} sent {sent}"
    assert cyc.tolist() == cycles and last.tolist() == lasts
    assert int(dut.images.value) == 3 and int(dut.errors.value) == 0


@cocotb.test()
async def counts_each_violation(dut):
    drv = Driver(dut)
    await reset(dut, drv)
    errors = lambda: int(dut.errors.value)  # noqa: E731
    base = errors()
    await drv.step(1, 5, 0, 0)                    # stalled
    await drv.step(1, 6, 0, 1)                    # tdata changed while stalled: 1
    assert errors() == base + 1
    await drv.step(1, 7, 0, 0)                    # stalled
    await drv.step(0, 7, 0, 0)                    # tvalid dropped while stalled: 2
    assert errors() == base + 2
    await drv.step(1, 1, 0, 1)                    # beat 1 of the image (beat 0 was 6)
    await drv.step(1, 2, 1, 1)                    # tlast on beat 2 of 4: 3
    assert errors() == base + 3
    await drv.step(1, 3, 0, 1)                    # beat 0 of the next image: fine
    assert errors() == base + 3
    if cocotb.SIM_NAME.lower().startswith("icarus"):
        dut.tvalid.value, dut.tready.value, dut.tlast.value = 1, 1, 0
        dut.tdata.value = "x" * (LANES * LANE_BITS)
        await RisingEdge(dut.clk)
        await FallingEdge(dut.clk)
        assert errors() == base + 4, "X on an accepted beat not counted"


def test_tb_capture(sim):
    build = f"tb_capture-{sim}"
    run_cocotb(sim, "tb_capture", [HDL / "tb_capture.v"], test_module="test_tb_capture",
               build_name=build, parameters={"DATA_W": LANES * LANE_BITS, "BEATS": BEATS},
               run_dir=SIM_BUILD / build / "run")
