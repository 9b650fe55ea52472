"""RTL efficiency of a network's streaming pipeline: MACs per image / (II x multipliers).

    .venv/bin/python benchmarks/efficiency.py [--net default] [--measure] [--synth]

MACs per image come from weights/<net>/manifest.json: conv2d OC*IC*K*K*OH*OW, dense IN*OUT; the
requantization multiplies (one per conv output value) are counted separately. Multipliers are those
of the fully parallel RTL (rtl/conv2d.v: one per weight, OC*IC*K*K; rtl/dense.v: OUT*C per input
beat; rtl/requant.v: one per channel), cross-checked against the $mul cells yosys finds in the top
(sim_build/synth/cnn_default.coarse.stat from `make synth`; --synth runs it; default network only).
II (cycles per image) is read from the newest sim_build/{regress,top}-<net>-*/report.json (a
cocotb top-level run); --measure (or no report) runs a short Verilator regression on the committed
golden images first:  tb/run_top.py --sim verilator --net <net> --tests regression
--build-name efficiency-<net>-verilator.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
import time
from pathlib import Path

from int8cnn.paths import ROOT
from int8cnn.synth import stat_table


def layer_figures(manifest: dict) -> list[dict]:
    out = []
    for l in manifest["layers"]:
        t, ins, outs = l["type"], l["in_shape"], l["out_shape"]
        if t == "conv2d":
            oc, oh, ow = outs
            ic, k = ins[0], l["kernel"]
            out.append({"name": l["name"], "type": t, "macs": oc * ic * k * k * oh * ow,
                        "muls": oc * ic * k * k, "requant_muls": oc * oh * ow,
                        "requant_units": oc if "mult" in l.get("files", {}) else 0,
                        "formula": f"{oc}*{ic}*{k}*{k}*{oh}*{ow}",
                        "mul_formula": f"C_OUT*C_IN*K*K = {oc}*{ic}*{k}*{k}"})
        elif t == "dense":
            n_in, n_out = math.prod(ins), math.prod(outs)
            c = ins[0]  # lanes per beat: channels of the input map
            out.append({"name": l["name"], "type": t, "macs": n_in * n_out, "muls": n_out * c,
                        "requant_muls": 0, "requant_units": 0,
                        "formula": f"{n_in}*{n_out}", "mul_formula": f"OUT*C = {n_out}*{c}"})
        else:
            out.append({"name": l["name"], "type": t, "macs": 0, "muls": 0, "requant_muls": 0,
                        "requant_units": 0, "formula": "-", "mul_formula": "-"})
    return out


def yosys_muls(stat: Path) -> dict[int, int]:
    """$mul cells by output width in a yosys `stat -width` file (either Yosys layout:
    int8cnn.synth.stat_table)."""
    counts: dict[int, int] = {}
    for name, n in stat_table(stat.read_text()).items():
        m = re.fullmatch(r"\$mul_(\d+)", name)
        if m:
            counts[int(m.group(1))] = counts.get(int(m.group(1)), 0) + n
    return counts


def find_report(net: str) -> Path | None:
    reps = [p for pat in (f"regress-{net}-*", f"top-{net}-*", f"efficiency-{net}-*")
            for p in (ROOT / "sim_build").glob(f"{pat}/report.json")]
    good = []
    for p in reps:
        try:
            r = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
        if r.get("n_mismatches") == 0 and r.get("images", 0) > 1 and r.get("ii_cycles") == r.get("ii_cycles"):
            good.append(p)
    return max(good, key=lambda p: p.stat().st_mtime) if good else None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.splitlines()[1:]))
    ap.add_argument("--net", default="default")
    ap.add_argument("--measure", action="store_true",
                    help="run a short Verilator regression for II even if a report exists")
    ap.add_argument("--synth", action="store_true", help="run `make synth` for the $mul cross-check")
    a = ap.parse_args(argv)

    manifest = json.loads((ROOT / "weights" / a.net / "manifest.json").read_text())
    layers = layer_figures(manifest)
    macs = sum(l["macs"] for l in layers)
    rq = sum(l["requant_muls"] for l in layers)
    mac_muls = sum(l["muls"] for l in layers)
    rq_units = sum(l["requant_units"] for l in layers)

    # II
    rep = None if a.measure else find_report(a.net)
    if rep is None:
        name = f"efficiency-{a.net}-verilator"
        cmd = [sys.executable, "tb/run_top.py", "--sim", "verilator", "--net", a.net, "--tests",
               "regression", "--build-name", name]
        print("efficiency: measuring II:", " ".join(cmd), flush=True)
        res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        rep = ROOT / "sim_build" / name / "report.json"
        if res.returncode or not rep.exists():
            sys.stderr.write(res.stdout[-2000:] + res.stderr[-2000:])
            print("efficiency: error: the Verilator regression failed", file=sys.stderr)
            return 1
    r = json.loads(rep.read_text())
    ii, lat = r["ii_cycles"], r["latency_cycles"]
    rep_when = time.strftime("%Y-%m-%d %H:%M", time.localtime(rep.stat().st_mtime))

    # yosys cross-check (default network: the top is rtl/generated/cnn_default.v)
    stat = ROOT / "sim_build" / "synth" / "cnn_default.coarse.stat"
    ys = None
    if a.net == "default":
        if a.synth:
            subprocess.run(["make", "synth"], cwd=ROOT, check=True)
        if stat.exists():
            ys = yosys_muls(stat)

    print(f"network {a.net}: " + " -> ".join(f"{l['name']}({l['type']})" for l in layers))
    print()
    hdr = f"{'layer':<8} {'MACs/image':>11}  {'formula':<22} {'multipliers':>11}  {'RTL formula':<26} {'util':>6}"
    print(hdr)
    print("-" * len(hdr))
    for l in layers:
        if not l["macs"]:
            continue
        util = l["macs"] / (ii * l["muls"])
        print(f"{l['name']:<8} {l['macs']:>11,}  {l['formula']:<22} {l['muls']:>11}  "
              f"{l['mul_formula']:<26} {util:>6.1%}")
        if l["requant_muls"]:
            u = l["requant_muls"] / (ii * l["requant_units"]) if l["requant_units"] else float("nan")
            print(f"{l['name'] + '_rq':<8} {l['requant_muls']:>11,}  {'(requant multiplies)':<22} "
                  f"{l['requant_units']:>11}  {'C (requant.v)':<26} {u:>6.1%}")
    print("-" * len(hdr))
    print(f"{'MACs':<8} {macs:>11,}  {'':<22} {mac_muls:>11}  {'MAC multipliers':<26} "
          f"{macs / (ii * mac_muls):>6.1%}")
    all_muls = mac_muls + rq_units
    print(f"{'all':<8} {macs + rq:>11,}  {'MACs + requant mults':<22} {all_muls:>11}  "
          f"{'all multipliers':<26} {(macs + rq) / (ii * all_muls):>6.1%}")
    print()
    print(f"II {ii:.0f} cycles/image, latency {lat:.0f} cycles (report {rep.relative_to(ROOT)}, "
          f"{r['images']} images, {rep_when})")
    print(f"MACs per image {macs:,} (+ {rq:,} requant multiplies); {macs / ii:.1f} MACs/cycle")
    print(f"efficiency = MACs / (II x multipliers) = {macs:,} / ({ii:.0f} x {mac_muls}) = "
          f"{macs / (ii * mac_muls):.1%} (MAC multipliers only); "
          f"{macs:,} / ({ii:.0f} x {all_muls}) = {macs / (ii * all_muls):.1%} counting the "
          f"{rq_units} requant multipliers as idle capacity; (MACs + requant) / (II x {all_muls}) "
          f"= {(macs + rq) / (ii * all_muls):.1%}")
    for f in (12, 50, 100):
        print(f"  at {f} MHz: {f * 1e6 / ii:,.0f} images/s, {2 * macs * f * 1e6 / ii / 1e9:.2f} GOPS "
              f"(2 ops per MAC)")
    if ys is not None:
        total = sum(ys.values())
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(stat.stat().st_mtime))
        detail = ", ".join(f"{n} x $mul_{w}" for w, n in sorted(ys.items()))
        ok = total == all_muls
        print(f"yosys cross-check ({stat.relative_to(ROOT)}, {when}): {total} $mul cells ({detail}) "
              f"{'==' if ok else '!='} {mac_muls} MAC + {rq_units} requant multipliers from the RTL "
              f"parameters: {'OK' if ok else 'MISMATCH'}")
        if not ok:
            return 1
    elif a.net == "default":
        print("yosys cross-check skipped: no sim_build/synth/cnn_default.coarse.stat (run `make synth` "
              "or pass --synth)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
