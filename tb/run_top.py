"""Build and run the top-level regression (used by `make SIM=...`, `make regress` and the tests).

Two drivers: `--driver image` (default) runs the per-image HDL harness of tb/harness.py with the
cocotb tests of tb/test_top_image.py; `--driver beat` the per-beat cocotbext-axi driver of
tb/test_int8cnn_top.py (the reference; Python on every clock edge).

Options come from the command line (the Makefile passes IMAGES, DATASET, SEED, WAVES, NET).
`--mults M` runs the folded top cnn_<net>_m<M> (`int8cnn generate --net <net> --mults M`); without
it, the network's default (int8cnn.hardware.default_mults: fully parallel; seed000, seed002 folded to 64).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _p in (str(ROOT), str(ROOT / "tb")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from int8cnn.sim import SIM_BUILD, build_name_of, module_sources, run_cocotb, waves_on  # noqa: E402
from stalls import STALLS, check_stall  # noqa: E402
from topcfg import TopConfig  # noqa: E402

LIBRARY = ("axis_skid", "axis_fifo", "pad2d", "window2d", "mac_fold", "conv2d", "requant",
           "maxpool2d", "avgpool2d", "act_lut", "axis_fork", "eltwise_add", "dense", "argmax")


def top_sources(net: str, mults: int | None = None) -> list:
    """The layer library plus the generated top of `net` (rtl/generated/cnn_<net>.v, or the
    folded rtl/generated/cnn_<net>_m<mults>.v)."""
    from int8cnn.generate import GEN_DIR
    from int8cnn.hardware import top_name
    top = GEN_DIR / f"{top_name(net, mults)}.v"
    if not top.exists():
        raise FileNotFoundError(f"{top}: no generated top for network {net!r}; run "
                                f"`int8cnn generate --net {net}"
                                + (f" --mults {mults}`" if mults is not None else "`"))
    return module_sources(*LIBRARY) + [top]
FAULTS = {  # define -> the layer where the scoreboard must first see it
    "INT8CNN_FAULT_CONV_ACC_BIT": "conv1",
    "INT8CNN_FAULT_FC_BIAS": "fc1",
}
# define of a lost beat (rtl/maxpool2d.v: its output beat 300 after reset vanishes): the run must
# stop within the watchdog with a report naming the image, the layer and its beat count
# (short_stream_detected; the network needs a maxpool2d layer)
STREAM_FAULT = "INT8CNN_FAULT_DROP_BEAT"
STREAM_FAULT_BEAT = 300
# define of a residual top (int8cnn.hardware.SKIP_FIFO_FAULT): skip FIFOs too small, must hang
from int8cnn.hardware import SKIP_FIFO_FAULT_DEFINE as SKIP_FIFO_FAULT  # noqa: E402


def run_top(sim: str, net: str = "default", images: int = 0, dataset: str = "golden",
            seed: int = 1, waves: bool | None = None, tests: str | None = None, stall: str = "none",
            fault: str | None = None, build_name: str | None = None, start: int = 0,
            progress: bool = False, check_layers: bool = True, mults: int | None = None,
            stress_images: int = 6, driver: str = "image", record: str | None = None,
            fast_model: bool = False, stall_points: bool = False) -> Path:
    """Build the network's top (per-image harness or per-beat) and run the cocotb tests `tests`.
    fast_model: compile the Verilator model at -O3 (a slower build, a faster run: for thousands of
    images; the build directory gets an -O3 suffix). stall_points: build the top with a random
    stall point on every internal stream (`define INT8CNN_STALL_POINTS, tb/hdl/tb_stall_point.v;
    the build directory gets an -sp suffix); only the stall-pattern tests make sense then (the II
    is no longer the network's)."""
    from int8cnn.hardware import default_mults, top_name
    check_options(net, stall, driver, tests, dataset)  # bad options fail before any build
    if mults is None:  # a network too big for a fully parallel top has a default fold
        mults = default_mults(net)
    top = f"{net}-m{mults}" if mults is not None else net
    base = build_name or (f"top-{top}-{sim}" + ("-image" if driver == "image" else "")
                          + (f"-{fault.lower()}" if fault else "")
                          + ("-O3" if fast_model and sim == "verilator" else "")
                          + ("-sp" if stall_points else ""))
    # the directory run_cocotb builds in (a traced build has its own)
    waves = waves_on(waves)
    name = build_name_of(base, waves)
    wdir = ROOT / "weights" / net
    c = TopConfig(weights=str(wdir), golden=str(ROOT / "golden" / net), dataset=dataset,
                  images=images, start=start, seed=seed, stall=stall,
                  report=str(SIM_BUILD / name / "report.json"), progress=progress,
                  check_layers=check_layers, mults=mults, stress_images=stress_images,
                  record=record, fault=fault, fault_layer=FAULTS.get(fault) if fault else None)
    defines = {fault: 1} if fault else {}
    tests = default_tests(fault) if tests is None else tests
    sources = top_sources(net, mults)
    if stall_points:
        from int8cnn.ops.verilog import STALL_POINTS_DEFINE
        defines[STALL_POINTS_DEFINE] = 1
        c.stall_points = sources[-1].read_text().count("tb_stall_point #(")
        sources = sources[:-1] + [ROOT / "tb" / "hdl" / "tb_stall_point.v", sources[-1]]
    params = top_params(sources[-1], wdir, net, mults)
    if driver == "beat":
        return run_cocotb(sim, top_name(net, mults), sources, "test_int8cnn_top", base,
                          parameters=params, defines=defines, includes=[wdir, ROOT / "tb" / "hdl"],
                          test_dir=ROOT / "tb", extra_env=c.to_env(),
                          waves=waves, test_filter=tests, seed=seed,
                          verilator_opt="-O3" if fast_model else None)
    from int8cnn.export import load_network
    from harness import HDL_SOURCES, harness_name, write_harness
    top = top_name(net, mults)
    hfiles = write_harness(load_network(wdir), top, "FOLD_DIR" in params, SIM_BUILD / name)
    vlt = [hfiles[1]] if sim == "verilator" else []
    return run_cocotb(sim, harness_name(top), vlt + sources + list(HDL_SOURCES) + [hfiles[0]],
                      "test_top_image", base, parameters=params, defines=defines,
                      includes=[wdir, ROOT / "tb" / "hdl"],
                      test_dir=ROOT / "tb", extra_env=c.to_env(),
                      waves=waves, test_filter=tests, seed=seed, public_flat_rw=False,
                      build_args=["--timing"] if sim == "verilator" else [],
                      run_dir=SIM_BUILD / name / "run",
                      verilator_opt="-O3" if fast_model else None)


DRIVERS = ("image", "beat")


def default_tests(fault: str | None) -> str:
    """The cocotb test filter when none is given: the fault tests need a faulted build, so they
    run only with one (and then only theirs)."""
    if fault:
        return "short_stream_detected" if fault == STREAM_FAULT else "fault_detected"
    return "^(?!.*(fault_detected|deadlock_detected|short_stream_detected))"


def check_options(net: str, stall: str, driver: str, tests: str | None, dataset: str) -> None:
    """One clear error for an unknown stall pattern, driver, network, test name or a missing
    dataset, before any build."""
    check_stall(stall)
    if driver not in DRIVERS:
        raise ValueError(f"unknown driver {driver!r}; expected one of {', '.join(DRIVERS)}")
    if not (ROOT / "weights" / net / "manifest.json").exists():
        known = sorted(p.name for p in (ROOT / "weights").iterdir() if (p / "manifest.json").exists())
        raise ValueError(f"unknown network {net!r} (no weights/{net}/manifest.json); "
                         f"expected one of {', '.join(known)}")
    if tests is not None:
        check_tests(tests, "test_top_image" if driver == "image" else "test_int8cnn_top")
    if dataset != "golden":
        from int8cnn.data import load_mnist
        if dataset in ("mnist", "fashion"):
            load_mnist("test", dataset=dataset)
        else:
            load_mnist("test", path=dataset)


def top_params(top_file: Path, wdir: Path, net: str, mults: int | None) -> dict:
    """The generated top's parameters: WEIGHTS_DIR, and FOLD_DIR (the folded layers' weight ROMs,
    written beside the top by `int8cnn generate`) when it has one."""
    params = {"WEIGHTS_DIR": f'"{wdir}"'}
    fold_dir = top_file.with_suffix("")
    if "parameter FOLD_DIR" in top_file.read_text():
        if not fold_dir.is_dir():
            raise FileNotFoundError(f"{fold_dir}: no weight ROMs for the folded top; run "
                                    f"`int8cnn generate --net {net} --mults {mults}`")
        params["FOLD_DIR"] = f'"{fold_dir}"'
    return params


def cocotb_tests(module: str) -> list:
    """Names of the @cocotb.test functions of tb/<module>.py (read, not imported)."""
    text = (ROOT / "tb" / f"{module}.py").read_text()
    return re.findall(r"^@cocotb\.test\(.*\n(?:@.*\n)*async def (\w+)", text, re.M)


def check_tests(tests: str, module: str):
    """--tests (cocotb's test filter: a regex searched in '<module>.<test>') must be a valid regex
    that selects at least one test; a parametrized test's variants (a '/' in the regex) are only
    known inside the simulator and are not checked here."""
    try:
        rx = re.compile(tests)
    except re.error as e:
        raise ValueError(f"--tests {tests!r}: not a regular expression ({e})") from e
    names = cocotb_tests(module)
    if "/" not in tests and not any(rx.search(f"{module}.{n}") for n in names):
        raise ValueError(f"--tests {tests!r} selects no test of tb/{module}.py; its tests: "
                         f"{', '.join(names)}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sim", default="icarus", choices=["icarus", "verilator"])
    ap.add_argument("--net", default="default")
    ap.add_argument("--images", type=int, default=0, help="0: the whole committed golden set")
    ap.add_argument("--dataset", default="golden",
                    help="golden (committed vectors), mnist, fashion, or a directory of IDX files")
    ap.add_argument("--start", type=int, default=0, help="first dataset image")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--stall", default="none", help=f"one of {', '.join(STALLS)}")
    ap.add_argument("--driver", default="image", choices=DRIVERS,
                    help="image: the per-image HDL harness (default); beat: the per-beat "
                         "cocotbext-axi driver")
    ap.add_argument("--waves", action="store_true", default=None, help="trace (default: $WAVES)")
    ap.add_argument("--tests", default=None,
                    help="regex of cocotb tests (default: all but the fault runs fault_detected, "
                         "deadlock_detected, short_stream_detected)")
    ap.add_argument("--shard", default=None,
                    help="i/N: run the i-th of N equal slices of [start, start+images)")
    ap.add_argument("--progress", action="store_true", help="progress bar")
    ap.add_argument("--no-layer-check", action="store_true",
                    help="check only the result stream (to measure the monitors' cost)")
    ap.add_argument("--mults", type=int, default=None,
                    help="run the folded top cnn_<net>_m<MULTS> (at most MULTS multipliers per layer)")
    ap.add_argument("--build-name", default=None)
    ap.add_argument("--fast-model", action="store_true",
                    help="Verilator: compile the model at -O3 (slower build, faster run; make regress)")
    ap.add_argument("--stall-points", action="store_true",
                    help="a random stall point on every internal stream (verification only; run "
                         "with --tests stress)")
    ap.add_argument("--report-out", default=None,
                    help="with --build-name: build the regression report there from the run's "
                         "report.json (also after mismatches; the run then still fails; make regress)")
    ap.add_argument("--expect-images", type=int, default=None,
                    help="with --report-out: the report checks that exactly these indices appear")
    a = ap.parse_args(argv)
    if a.report_out and not a.build_name:
        ap.error("--report-out needs --build-name (the build whose report.json it reads)")
    rc = _run(ap, a)
    if a.report_out:
        rc = _report(a, rc)
    return rc


def _report(a, rc: int) -> int:
    """Build the regression report (int8cnn.report) from the run's report.json when there is one;
    the exit code is the run's, or 1 when only the report fails."""
    rep = SIM_BUILD / a.build_name / "report.json"
    if not rep.exists():
        return rc
    from int8cnn.report import main as report_main
    dataset = "fashion" if a.dataset == "fashion" else "mnist"
    args = ["build", str(rep), "--net", a.net, "--dataset", dataset, "--out", a.report_out]
    if a.expect_images is not None:
        args += ["--expect-images", str(a.expect_images)]
    return rc or (1 if report_main(args) else 0)


def _run(ap, a) -> int:
    """Run the top-level tests the options name; 0 when they pass."""
    if a.build_name:  # a stale report must not stand for this run
        (SIM_BUILD / a.build_name / "report.json").unlink(missing_ok=True)
    start, images = a.start, a.images
    if a.shard:
        i, n = (int(v) for v in a.shard.split("/"))
        if not 0 <= i < n:
            ap.error(f"--shard {a.shard}: expected i/N with 0 <= i < N")
        per = -(-images // n)
        start, images = start + i * per, max(0, min(per, images - i * per))
        if images == 0:
            ap.error(f"--shard {a.shard} of --images {a.images}: this shard has no images")
    try:
        res = run_top(a.sim, a.net, images, a.dataset, a.seed, a.waves, a.tests, a.stall,
                      start=start, progress=a.progress, build_name=a.build_name,
                      check_layers=not a.no_layer_check, mults=a.mults, driver=a.driver,
                      fast_model=a.fast_model, stall_points=a.stall_points)
    except AssertionError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    except (OSError, ValueError, RuntimeError) as e:  # missing dataset or simulator, bad weights
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"results: {res}")
    rep = res.parent / "report.json"
    if rep.exists():
        r = json.loads(rep.read_text())
        print(r["summary"])
        print(f"II {r['ii_cycles']:.1f} cycles/image, latency {r['latency_cycles']:.0f} cycles, "
              f"{r['images_per_s']:.1f} simulated images/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
