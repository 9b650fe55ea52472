"""The repository root (the package lives there: weights/, golden/, rtl/, tb/, sim_build/ are beside
it). One definition for the package, the testbench, the tests, the benchmarks and formal/."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
