"""The top-level test configuration, serialized once: tb/run_top.py fills a TopConfig, it travels to
the simulator's Python as JSON in $TB_TOP_CFG (to_env), and the cocotb tests of both drivers
(tb/test_top_image.py, tb/test_int8cnn_top.py) read it back (from_env). The defaults are here and
nowhere else; an unknown field is an error."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

from int8cnn.paths import ROOT
ENV = "TB_TOP_CFG"


@dataclass
class TopConfig:
    weights: str = str(ROOT / "weights" / "default")   # weights/<net>/
    golden: str = str(ROOT / "golden" / "default")     # golden/<net>/ (the committed golden set)
    dataset: str = "golden"           # golden, mnist, fashion, or a directory of IDX files
    images: int = 0                   # 0: the whole golden set
    start: int = 0                    # first dataset image
    seed: int = 1
    stall: str = "none"               # tb/stalls.py STALLS
    report: str | None = None         # report.json to write (make regress)
    progress: bool = False            # progress bar
    check_layers: bool = True         # False: the result stream only
    mults: int | None = None          # the top's fold (None: fully parallel)
    stress_images: int = 6            # images per stall pattern in the stress tests
    record: str | None = None         # where to save the per-image cycle record
    fault: str | None = None          # the injected fault's define (run_top.FAULTS)
    fault_layer: str | None = None    # the layer the scoreboard must see it in first
    stall_points: int = 0             # stall points built into the top (0: none)

    def to_env(self) -> dict:
        """{ENV: JSON}: the environment a cocotb run gets."""
        return {ENV: json.dumps(asdict(self))}

    @classmethod
    def from_env(cls) -> "TopConfig":
        """The configuration run_top passed (all defaults outside a run_top build)."""
        return cls(**json.loads(os.environ.get(ENV, "{}")))
