"""`make mutate`: a mutation campaign over rtl/, to measure how much the tests can catch.

    python tb/mutate.py [--modules axis_skid,requant] [--max N] [--jobs 2] [--timeout 600]

Each mutant is one small source change to one line of one RTL module (OPERATORS below: operators,
constants, negations, handshake terms; comments, the `initial` parameter checks, the `ifdef FORMAL`
hooks and the injected faults under `ifdef INT8CNN_FAULT_* are left alone). For each mutant the
module's unit tests (UNIT_TESTS: its tb/test_<module>.py, then those of the modules that
instantiate it, on Icarus, stopping at the first failure; --suite top:<net>: that network's top-level suite instead, test_commands) run against the
mutated file (INT8CNN_RTL_OVERRIDE) in a build root of its own (INT8CNN_SIM_BUILD), so mutants run
in parallel.
Outcomes:
  killed     a test failed (the first failing test is recorded)
  timeout    the tests did not finish within --timeout seconds (a hang: counted as killed)
  survived   every test passed: a gap in the tests, or an equivalent mutant (EQUIVALENT below
             lists those with the reason they cannot change behaviour; they leave the score)
  invalid    the mutant does not compile (iverilog), not counted
Score = (killed + timeout) / (killed + timeout + survived - equivalent). Report:
sim_build/mutate/report.md and report.json; a line per module and per surviving mutant.
`--max N` takes N mutants per module spread evenly over the module (deterministic), for a quick
sample; the nightly workflow runs them all. The throughput-only mutants the simulation tests
cannot see are the job of `make formal` (formal/run.py --mutants).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from int8cnn.sim import RTL, RTL_DEPS, SIM_BUILD  # noqa: E402

WORK = SIM_BUILD / "mutate"

# name, pattern (on the code part of a line), replacement, what it models
OPERATORS = [
    ("eq-ne", r"==", "!=", "comparison negated"),
    ("ne-eq", r"!=", "==", "comparison negated"),
    ("and-or", r"&&", "||", "condition term joined wrongly"),
    ("or-and", r"\|\|", "&&", "condition term joined wrongly"),
    ("ge-gt", r">=", ">", "boundary off by one"),
    ("gt-ge", r"(?<![>=-])>(?![>=])", ">=", "boundary off by one"),
    ("lt-le", r"(?<![<])<(?![<=])", "<=", "boundary off by one"),
    ("not-drop", r"!(?!=)", "", "negation dropped"),
    ("one-zero", r"1'b1", "1'b0", "constant flipped"),
    ("zero-one", r"1'b0", "1'b1", "constant flipped"),
    ("plus-minus", r"(?<![+])\+(?![+:])", "-", "arithmetic operator swapped"),
    ("minus-plus", r"(?<![-:])-(?![-:>])", "+", "arithmetic operator swapped"),
    ("ashr-shr", r">>>", ">>", "arithmetic shift made logical"),
    ("inc-twice", r"\+ 1'b1", "+ 2'd2", "counter steps by two"),
]


def unit_tests(module: str) -> list[str]:
    """The unit tests that exercise `module`: its own tb/test_<module>.py (mac_fold has none), then
    those of the modules that instantiate it (int8cnn.sim.RTL_DEPS; mac_fold is the folded
    datapath of conv2d and dense, round_shift_clamp the tail of requant and eltwise_add)."""
    own = [f"tb/test_{module}.py"] if (ROOT / "tb" / f"test_{module}.py").exists() else []
    return own + [f"tb/test_{m}.py" for m in sorted(RTL_DEPS) if module in RTL_DEPS[m]]


# module -> the unit tests that exercise it
UNIT_TESTS = {p.stem: unit_tests(p.stem) for p in sorted(RTL.glob("*.v"))}

def widened(what: str, target: str) -> str:
    """The reason a `-` -> `+` mutant of a slice bound or a replication count is equivalent."""
    return (f"a wider {what}: {target} keeps its low bits, which are unchanged (the assignment "
            "truncates the extra bits)")


def unread_in_parallel(signal: str, why: str) -> str:
    """The reason a constant of requant's g_parallel branch is equivalent."""
    return f"g_parallel is built for SERIAL == 0, where {why}: nothing reads {signal}'s constant"


def last_reset(reg: str) -> str:
    """The reason a tlast register reset to 1 is equivalent."""
    return (f"{reg} moves with its stage's valid bit on the same enable, and reset clears the "
            "valid bits: a last bit in an empty stage reaches m_axis_tlast only while tvalid is "
            "low, which is no transfer (AXI-Stream)")


# (module, line text after stripping, operator[, column when the operator has several places on the
# line and only one is equivalent]) -> why the mutant cannot change behaviour
EQUIVALENT: dict[tuple, str] = {
    ("axis_skid", "s_ready_reg    <= 1'b0;", "zero-one"):
        "s_axis_tready high during reset: AXI-Stream sources hold tvalid low in reset, and in the "
        "first cycle after it the skid is empty, so accepting a beat then is what s_ready_early "
        "gives one cycle later anyway (stream content and order unchanged; one cycle earlier)",
    ("conv2d", "if (ACC_W > B_W) begin : g_ext", "gt-ge"):
        "with ACC_W == B_W the sign extension adds no bits: both branches assign bias_word unchanged",
    ("conv2d", "if (SUM_W > B_W) begin : g_ext", "gt-ge"):
        "with SUM_W == B_W the sign extension adds no bits: both branches give bias_word unchanged",
    ("dense", "if (ACC_W > BIAS_W) begin : g_ext", "gt-ge"):
        "with ACC_W == BIAS_W the sign extension adds no bits: both branches assign the bias unchanged",
    ("maxpool2d", "greater = cand > max_val;", "gt-ge"):
        "on a tie the candidate equals the maximum: taking it leaves the same value",
    ("maxpool2d", "greater = $signed(cand) > $signed(max_val);", "gt-ge"):
        "on a tie the candidate equals the maximum: taking it leaves the same value (signed lanes)",
    ("maxpool2d", "out_next[c*DATA_W +: DATA_W] = tree[DATA_W-1:0];", "minus-plus"):
        widened("slice of the tree's root", "out_next[c*DATA_W +: DATA_W]"),
    ("maxpool2d", "out_last_reg <= 1'b0;", "zero-one"):
        last_reset("out_last_reg"),
    ("maxpool2d", "out_next = {C*DATA_W{1'b0}};", "zero-one"):
        "a default the loop below overwrites in every lane (c = 0..C-1 assign all C*DATA_W bits)",
    ("mac_fold", "prod_ext = {{(SUM_W-PROD_W+1){prod[PROD_W-1]}}, prod[PROD_W-2:0]};", "minus-plus",
     31):
        widened("sign extension of the same product", "prod_ext"),
    ("mac_fold", "base_reg + BASE_STEP_L + {{(LN_W-1){1'b0}}, DEPTHWISE == 0 && rot_sum >= N_OUT_R};",
     "minus-plus", 59):
        widened("zero extension of the same carry bit", "base_adv"),
    ("mac_fold", "assign prod_pad = {{((N_SL*N_OUT - MULTS)*ACC_W){1'b0}}, prod_reg};", "minus-plus"):
        widened("zero padding of the same products", "prod_pad"),
    ("mac_fold", "if (N_PADL > N_LANES) begin : g_fill", "gt-ge"):
        "N_PADL >= N_LANES always; at N_PADL == N_LANES g_fill pads with a zero-width replication, "
        "which a concatenation drops: x_pad = x_data, as in g_full",
    ("mac_fold", "assign x_pad = {{((N_PADL-N_LANES)*LP_W){1'b0}}, x_data};", "minus-plus"):
        widened("zero padding of the same lanes", "x_pad"),
    ("mac_fold", "wire [IN_W-1:0] x_adv = (lane_adv < N_LANES_L) ? x_pad[{lane_i, {LP_S{1'b0}}} +: IN_W]",
     "lt-le"):
        "lane >= N_LANES only for the padded products of the last chunk (product n = lane * N_OUT "
        "+ o, n >= N), whose weights are zero in the ROM (export.fold_words, rtl/mac_fold.v "
        "header): the product is zero whatever lane N_LANES reads",
    ("argmax", "assign lvl_idx[N*IDX_W-1:0]   = node_idx[N*IDX_W-1:0];", "minus-plus", 56):
        widened("slice of the same leaf indices", "lvl_idx[N*IDX_W-1:0]"),
    ("argmax", "assign take_right = 1'b0;", "zero-one"):
        "in a node without a pair (g_pass) right_val and right_idx are left_val and left_idx: "
        "taking the right child takes the same value and index",
    ("argmax", "if (gl < LEVELS) begin : g_keep", "lt-le"):
        "the root (gl == LEVELS) then also assigns its value to node_val[nodes_below(LEVELS)*DATA_W "
        "+: DATA_W], wholly past the end of node_val (nodes_below(LEVELS) nodes wide): the write is "
        "dropped, and the root's value is never read (best_idx takes its index)",
    ("argmax", "wire        [IDX_W-1:0]  right_idx;", "minus-plus"):
        widened("declaration of the same index", "node_idx"),
    ("argmax", "if (2*gn + 1 < CNODES) begin : g_pair", "plus-minus"):
        "the last node of a level with an odd number of children then compares its one child with "
        "node 0 of its own level (the larger of children 0 and 1, with the lower index) and takes "
        "it only when strictly larger: the tree still returns the first maximum; the top level "
        "always has two children, so no node reads itself or an undriven value",
    ("avgpool2d", "if (K > 1) begin : g_row_buf", "gt-ge"):
        "with K = 1 every window row is both its first and its last: the row buffer is never "
        "written (!last_row) and never read (first_row selects 0)",
    ("axis_fifo", "assign m_axis_tdata  = m_word_reg[DATA_W-1:0];", "minus-plus"):
        widened("slice of the same word", "m_axis_tdata"),
    ("requant", "assign mul_prod[gm*PROD_W +: PROD_W] = {{(PROD_W-ACC_W){acc[ACC_W-1]}}, acc};",
     "minus-plus", 60):
        widened("sign extension of the same accumulator", "the PROD_W-bit slice"),
    ("dense", "{{(OUT_W-ACC_W+1){acc_new[ACC_W-1]}}, acc_new[ACC_W-2:0]};", "minus-plus", 32):
        widened("sign extension of the same accumulator", "the OUT_W-bit lane"),
    ("round_shift_clamp", "s = {{(32-SHIFT_W){1'b0}}, shift};", "minus-plus"):
        widened("zero extension of the same shift", "the 32-bit integer s"),
    ("round_shift_clamp", "y       = y_full[OUT_W-1:0];", "minus-plus"):
        widened("slice of the same value", "y"),
    ("conv2d", "{{(SUM_W-PROD_W+1){prod[PROD_W-1]}}, prod[PROD_W-2:0]};", "minus-plus", 32):
        widened("sign extension of the same product", "the SUM_W-bit slice"),
    ("conv2d", "row_last_reg <= 1'b0;", "zero-one"):
        last_reset("row_last_reg"),
    ("conv2d", "prod_last_reg <= 1'b0;", "zero-one"):
        last_reset("prod_last_reg"),
    ("conv2d", "assign bias_ext = bias_word[SUM_W-1:0];", "minus-plus"):
        widened("slice of the same bias word", "bias_ext"),
    ("conv2d", "assign bias_acc[goc*ACC_W +: ACC_W] = bias_word[ACC_W-1:0];", "minus-plus", 65):
        widened("slice of the same bias word", "bias_acc"),
    ("requant", "assign lane_k  = {K_W{1'b0}};", "zero-one"):
        unread_in_parallel("lane_k", "its two readers (ch and p_we) are the SERIAL != 0 arms of "
                           "their ternaries"),
    ("requant", "assign pass_hi = 1'b0;", "zero-one"):
        unread_in_parallel("pass_hi", "PASSES = 1, so g_two_pass, its only reader, is not built"),
    ("round_shift_clamp", "if (y_full < LO_Y) y = LO_Y[OUT_W-1:0];", "minus-plus"):
        widened("slice of the constant LO_Y", "y"),
    ("round_shift_clamp", "if (y_full > HI_Y) y = HI_Y[OUT_W-1:0];", "minus-plus"):
        widened("slice of the constant HI_Y", "y"),
    ("round_shift_clamp", "if (s > 0) rnd[s-1] = 1'b1;", "gt-ge"):
        "at shift 0 the mutant writes rnd[-1]: the index is outside the vector and Verilog ignores "
        "the write, so rnd stays 0 as without the mutant",
    ("round_shift_clamp", "if (y_full < LO_Y) y = LO_Y[OUT_W-1:0];", "lt-le"):
        "at y_full == LO_Y the clamp writes the value y already has (y_full[OUT_W-1:0] == LO_Y)",
    ("round_shift_clamp", "if (y_full > HI_Y) y = HI_Y[OUT_W-1:0];", "gt-ge"):
        "at y_full == HI_Y the clamp writes the value y already has (y_full[OUT_W-1:0] == HI_Y)",
    ("round_shift_clamp", "if (s > S_CAP) s = S_CAP;", "gt-ge"):
        "at s == S_CAP the assignment writes the value s already has",
    ("round_shift_clamp", "y_full  = {{(Y_W-IN_W){shifted[IN_W-1]}}, shifted} + ZP_Y;",
     "minus-plus", 20):
        widened("sign extension of the same value", "y_full"),
}


def _every(types: tuple, cond):
    """A NET_EQUIVALENT predicate: `cond` holds for every layer of the network of one of `types`."""
    return lambda q: all(cond(l) for l in q.layers if l.type in types)


_all_strides_at_most_2 = _every(("conv2d", "maxpool2d"), lambda l: l.stride <= 2)


def _all_requants_pow2(q) -> bool:
    from int8cnn.ops import op_for
    return all(l.requant == "pow2" for l in q.layers
               if op_for(l).channel_requant and l.mult is not None)


_all_avgpool_kernels_at_most_2 = _every(("avgpool2d",), lambda l: l.kernel <= 2)


AVG_STEP = ("every avgpool2d of the network has K <= 2: the window row / column counter is one bit "
            "wide (K_W = 1) and counts 0..K-1, and modulo 2 counting down visits the same values "
            "as counting up (seed002's K = 14 pool and the unit tests kill the mutant)")


_all_maxpool_kernels_2 = _every(("maxpool2d",), lambda l: l.kernel == 2)


MAXPOOL_TREE_K2 = ("every maxpool2d of the network has K = 2: the tree of 4 values pairs entries (0, 1) "
                   "and (2, 3) at level 0, then (0, 1) at level 1; the mutant's extra pairs write "
                   "entry 2 at level 0 and entry 1 after level 1 has formed the root (entry 0), so "
                   "the root is the true maximum (the unit tests' K = 3 case kills the mutant: an "
                   "unknown value reaches the output)")


def _any_network(q) -> bool:
    return True


PAD2D_TLAST = ("pad2d's m_axis_tlast feeds only window2d inside conv2d (pad2d's one parent), which "
               "ignores s_axis_tlast (position counters define the image): no port or tap of a "
               "network shows it (pad2d's unit test checks it)")
SERIAL_ARM = ("the arm for SERIAL != 0: the tops the top-level suite builds have REQUANT_SERIAL = 0 "
              "(only the iCE40 wrapper sets it), so the ternary takes the other arm (requant's unit "
              "tests with SERIAL = 1 and 2 check it)")


# Equivalent for a network's top-level suite (--suite top:<net>) only, when the predicate holds
# for that network: (module, line text, operator[, column]) -> (predicate(qnet), reason)
NET_EQUIVALENT: dict[tuple, tuple] = {
    ("window2d", "yph_next = (yph_reg == PH_MAX_C) ? {PH_W{1'b0}} : yph_reg + 1'b1;", "plus-minus", 74):
        (_all_strides_at_most_2,
         "every window2d of the network (its conv2d and maxpool2d layers) has STRIDE <= 2: the "
         "row phase counts 0..STRIDE-1, and modulo 1 or 2 counting down visits the same phases as "
         "counting up (the unit tests' stride-3 case kills the mutant)"),
    ("pad2d", "m_last_reg <= (x_reg == X_MAX) && (y_reg == Y_MAX);", "eq-ne"):
        (_any_network, PAD2D_TLAST),
    ("pad2d", "m_last_reg <= (x_reg == X_MAX) && (y_reg == Y_MAX);", "and-or"):
        (_any_network, PAD2D_TLAST),
    ("pad2d", "m_last_reg <= 1'b0;", "zero-one"):
        (_any_network, PAD2D_TLAST),
    ("requant", "wire                     p_we = (SERIAL != 0) ? busy && (lane_k == CH) : p_en;",
     "eq-ne", 72):
        (_any_network, SERIAL_ARM),
    ("requant", "wire                     p_we = (SERIAL != 0) ? busy && (lane_k == CH) : p_en;",
     "and-or", 61):
        (_any_network, SERIAL_ARM),
    ("avgpool2d", "ky_next = last_row ? {K_W{1'b0}} : ky_reg + 1'b1;", "plus-minus"):
        (_all_avgpool_kernels_at_most_2, AVG_STEP),
    ("avgpool2d", "kx_next = last_col ? {K_W{1'b0}} : kx_reg + 1'b1;", "plus-minus"):
        (_all_avgpool_kernels_at_most_2, AVG_STEP),
    ("maxpool2d", "if (2*n + 1 < ((N_WIN + (1 << lv) - 1) >> lv)) begin", "lt-le"):
        (_all_maxpool_kernels_2, MAXPOOL_TREE_K2),
    ("maxpool2d", "if (2*n + 1 < ((N_WIN + (1 << lv) - 1) >> lv)) begin", "minus-plus"):
        (_all_maxpool_kernels_2, MAXPOOL_TREE_K2),
    ("requant", "if (POW2 != 0) begin : g_pow2", "ne-eq"):
        (_all_requants_pow2,
         "every requant of the network is pow2 (POW2 = 1, every <layer>_mult.mem entry 1): the "
         "swapped branch multiplies the accumulator by M = 1 from that file, the same product "
         "(the unit tests' pow2-rtl and default cases kill the mutant)"),
}


# Mutants that change no value and no order, only when a module takes or gives a beat: the unit
# tests' throughput checks (tb/axis_tb.py, check_work_conserving) kill them, but at the top level
# they show only where that module is a network's bottleneck. A top-level campaign (--suite
# top:<net>) reports a functional score without them (the measure for the top-level suite
# alone: its kill rate of the functional mutants); (module, line text, operator[, column]) -> why
THROUGHPUT: dict[tuple, str] = {
    ("axis_fork", "wire done_a = m_axis_a_tready || taken_a_reg;", "or-and"):
        "a beat output A takes now no longer counts as done until the next cycle, when A's tvalid "
        "is already low (taken_a_reg): every forked beat takes two cycles, A still gets it once "
        "(every sink in the tops keeps tready independent of tvalid, so nothing waits for ever)",
    ("dense", "wire a_en = p_valid && (!p_last || !m_valid_reg || m_axis_tready);", "not-drop", 28):
        "a non-last chunk waits while the output register is full, a last chunk no longer does; "
        "the register fills only at a last chunk and the chunks before the next last chunk wait "
        "for it to drain, so a last chunk never meets a full register when a vector has several "
        "chunks: the layer only stops accumulating under a full output register (a one-chunk "
        "vector would be overwritten: the unit tests' one-chunk cases and throughput checks kill it)",
    ("requant", "if (SERIAL != 0) begin : g_serial", "ne-eq"):
        "the tops' requantizers (SERIAL = 0) get the one-multiplier datapath, which gives the same "
        "values in C cycles per beat and holds s_axis_tready low meanwhile (the unit tests' "
        "throughput checks of the SERIAL = 0 cases kill it)",
}


@lru_cache(maxsize=None)
def _network(net: str):
    from int8cnn.export import load_network
    return load_network(ROOT / "weights" / net)


@dataclass
class Mutant:
    module: str
    line: int          # 1-based
    col: int           # 0-based, in the line
    op: str
    before: str        # the line's code
    after: str
    outcome: str = ""
    test: str = ""     # the first failing test (killed)
    seconds: float = 0.0
    net: str = ""      # --suite top:<net>: the network whose top-level suite ran

    @property
    def id(self) -> str:
        return f"{self.module}-L{self.line}-c{self.col}-{self.op}"

    def _entry(self, table: dict, missing=""):
        """This mutant's entry in EQUIVALENT, NET_EQUIVALENT or THROUGHPUT: keyed by (module, line
        text, operator), with the column where the key gives one."""
        key = (self.module, self.before.strip(), self.op)
        return table.get(key + (self.col,)) or table.get(key, missing)

    @property
    def equivalent(self) -> str:
        """Why the mutant cannot change behaviour, when EQUIVALENT says so ('' otherwise)."""
        found = self._entry(EQUIVALENT)
        if found or not self.net:
            return found
        pred, why = self._entry(NET_EQUIVALENT, (None, ""))
        return f"for {self.net}: {why}" if pred and pred(_network(self.net)) else ""

    @property
    def throughput_only(self) -> str:
        """Why the mutant only changes cycle timing, when THROUGHPUT says so and a network's
        top-level suite ran it ('' otherwise: the unit tests check throughput)."""
        return self._entry(THROUGHPUT) if self.net else ""


def code_lines(text: str):
    """(line number, code part) of the lines a mutant may touch."""
    skip_depth = 0        # inside `ifdef FORMAL or an injected fault's `ifdef INT8CNN_FAULT_*
    in_initial = False
    depth = 0
    for k, raw in enumerate(text.splitlines(), 1):
        code = raw.split("//")[0]
        s = code.strip()
        if s.startswith(("`ifdef FORMAL", "`ifdef INT8CNN_FAULT_")):
            skip_depth = 1
            continue
        if skip_depth:
            if s.startswith(("`endif", "`else")):  # the `else branch is the real design
                skip_depth = 0
            continue
        if s.startswith("initial"):
            in_initial, depth = True, 0
        if in_initial:
            depth += len(re.findall(r"\bbegin\b", code)) - len(re.findall(r"\bend\b", code))
            if depth <= 0 and not s.startswith("initial begin"):
                in_initial = False
            continue
        if not s or s.startswith(("`", "/*", "*", "module", "parameter", "localparam", "input",
                                  "output", "reg ", "wire [", "integer", "genvar", ")", "(")):
            if not (s.startswith("wire ") and "=" in s):
                continue
        yield k, code


def mutants_of(module: str) -> list[Mutant]:
    """Every (line, place, operator). Generate-loop headers and the ranges of declarations are
    left alone (their mutants are out-of-range lanes or zero-extended widths: equivalent or
    elaboration errors, not behaviour)."""
    path = RTL / f"{module}.v"
    out = []
    for k, code in code_lines(path.read_text()):
        s = code.strip()
        if s.startswith("for ") or s.startswith("for("):
            continue
        start = code.index("=") if s.startswith(("wire ", "reg ")) and "=" in code else 0
        for op, pat, rep, _ in OPERATORS:
            for m in re.finditer(pat, code):
                if m.start() < start:
                    continue
                after = code[:m.start()] + rep + code[m.end():]
                out.append(Mutant(module, k, m.start(), op, code.rstrip(), after.rstrip()))
    return out


def sample(ms: list[Mutant], n: int | None) -> list[Mutant]:
    if not n or len(ms) <= n:
        return ms
    step = len(ms) / n
    return [ms[int(i * step)] for i in range(n)]


def apply(m: Mutant) -> str:
    lines = (RTL / f"{m.module}.v").read_text().splitlines(keepends=True)
    raw = lines[m.line - 1]
    lines[m.line - 1] = m.after + raw[len(m.before):] if raw.startswith(m.before) else \
        raw.replace(m.before, m.after, 1)
    return "".join(lines)


def compiles(src: Path) -> bool:
    """The mutated module elaborates with the rest of the library (it may instantiate others)."""
    lib = [str(p) for p in sorted(RTL.glob("*.v")) if p.name != src.name]
    r = subprocess.run(["iverilog", "-g2012", "-o", os.devnull, "-s", src.stem, str(src), *lib],
                       capture_output=True)
    return r.returncode == 0


def elaboration(net: str) -> tuple[set, dict]:
    """What the generated top of `net` (its default fold) elaborates to, read from Icarus' .vvp:
    (the rtl/ modules it contains, {rtl file name: labels of its elaborated generate blocks}). A
    module only an unused generate branch instantiates is not in it."""
    import tempfile
    from int8cnn.generate import GEN_DIR
    from int8cnn.hardware import default_mults, top_name
    top = top_name(net, default_mults(net))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "top.vvp"
        r = subprocess.run(["iverilog", "-g2012", "-s", top, "-I", str(ROOT / "weights" / net),
                            "-o", str(out), *map(str, sorted(RTL.glob("*.v"))), str(GEN_DIR / f"{top}.v")],
                           capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError(f"iverilog could not elaborate {top}: {r.stderr.strip()}")
        vvp = out.read_text()
    names = re.findall(r'^\s+"([^"]*)";$', vvp.split(":file_names", 1)[1], re.M)
    modules = {t for t in re.findall(r'\.scope module, "[^"]*" "([^"]*)"', vvp) if (RTL / f"{t}.v").exists()}
    labels: dict = {}
    for label, f in re.findall(r'\.scope generate, "([^"\[]*)(?:\[\d+\])?" "[^"]*" (\d+) \d+,', vvp):
        labels.setdefault(Path(names[int(f)]).name, set()).add(label)
    return modules, labels


def modules_used(net: str) -> list[str]:
    """The rtl/ modules in the elaborated generated top of `net`."""
    return sorted(elaboration(net)[0])


def generate_blocks(text: str) -> list[tuple[str, int, int]]:
    """(label, first line, last line) of every labeled begin ... end block (in rtl/ only generate
    blocks carry labels)."""
    spans, stack = [], []
    for k, raw in enumerate(text.splitlines(), 1):
        for tok in re.finditer(r"\bbegin\b(?:\s*:\s*(\w+))?|\bend\b", raw.split("//")[0]):
            if tok.group(0).startswith("begin"):
                stack.append((k, tok.group(1)))
            elif stack:
                start, label = stack.pop()
                if label:
                    spans.append((label, start, k))
    return spans


def reachable(ms: list[Mutant], net: str) -> list[Mutant]:
    """The mutants of `ms` that lie in what `net`'s top elaborates: in a module it contains and not
    inside a generate block that none of that module's instances elaborates (by label: a label
    used in a live and a dead branch counts as live)."""
    modules, labels = elaboration(net)
    dead: dict = {}
    for mod in {m.module for m in ms} & modules:
        seen = labels.get(f"{mod}.v", set())
        dead[mod] = [(a, b) for label, a, b in generate_blocks((RTL / f"{mod}.v").read_text())
                     if label not in seen]
    return [m for m in ms if m.module in modules
            and not any(a < m.line <= b for a, b in dead[m.module])]  # a: the condition, live


def test_commands(m: Mutant, suite: str) -> tuple[list[list[str]], str]:
    """(commands run in turn until one fails, simulator) for a mutant: `unit` its module's unit
    tests on Icarus; `top:<net>` that network's top-level suite alone on Verilator (tb/run_top.py:
    regression and every stall pattern on the committed golden set, the per-image driver), then,
    if it passed, every stall pattern again with a stall point on every internal stream."""
    if suite == "unit":
        return [[sys.executable, "-m", "pytest", *UNIT_TESTS[m.module], "-x", "-q", "-p", "no:xdist",
                 "-p", "no:cacheprovider"]], "icarus"
    top = [sys.executable, "tb/run_top.py", "--sim", "verilator", "--net", suite.split(":", 1)[1]]
    return [top, top + ["--stall-points", "--tests", "stress"]], "verilator"


def run_one(m: Mutant, timeout: float, suite: str = "unit") -> Mutant:
    d = WORK / m.id
    shutil.rmtree(d, ignore_errors=True)
    (d / "rtl").mkdir(parents=True)
    src = d / "rtl" / f"{m.module}.v"
    src.write_text(apply(m))
    if not compiles(src):
        m.outcome = "invalid"
        return m
    cmds, sim = test_commands(m, suite)
    env = dict(os.environ, SIM=sim, INT8CNN_RTL_OVERRIDE=str(d / "rtl"),
               INT8CNN_SIM_BUILD=str(d / "build"), PYTHONDONTWRITEBYTECODE="1")
    t0 = time.perf_counter()
    m.outcome = "survived"
    try:
        for cmd in cmds:
            r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                               timeout=max(1.0, timeout - (time.perf_counter() - t0)))
            if r.returncode != 0:
                m.outcome = "killed"
                hit = re.search(r"^FAILED (\S+)", r.stdout, re.M) or re.search(
                    r"^\s*\*\* (\S+)\s+FAIL", r.stdout, re.M)
                m.test = (hit.group(1) if hit else f"exit {r.returncode}") + (
                    " (stall points)" if "--stall-points" in cmd else "")
                break
    except subprocess.TimeoutExpired:
        m.outcome = "timeout"
    m.seconds = time.perf_counter() - t0
    shutil.rmtree(d / "build", ignore_errors=True)
    return m


def pct(hit: int, of: int) -> str:
    return f"{100 * hit / of:.1f}%" if of else "-"


def report(ms: list[Mutant], wall: float | None) -> str:
    rows = ["| module | mutants | killed | timeout | survived | equivalent | invalid | score |",
            "|---|---|---|---|---|---|---|---|"]
    tot = {"k": 0, "t": 0, "s": 0, "e": 0}
    for mod in sorted({m.module for m in ms}):
        mm = [m for m in ms if m.module == mod]
        k = sum(m.outcome == "killed" for m in mm)
        t = sum(m.outcome == "timeout" for m in mm)
        e = sum(m.outcome == "survived" and bool(m.equivalent) for m in mm)
        s = sum(m.outcome == "survived" for m in mm)
        inv = sum(m.outcome == "invalid" for m in mm)
        den = k + t + s - e
        rows.append(f"| {mod} | {len(mm)} | {k} | {t} | {s - e} | {e} | {inv} | {pct(k + t, den)} |")
        for key, v in (("k", k), ("t", t), ("s", s - e), ("e", e)):
            tot[key] += v
    den = tot["k"] + tot["t"] + tot["s"]
    lines = ["# Mutation campaign (`make mutate`)", "",
             f"{len(ms)} mutants, score {pct(tot['k'] + tot['t'], den)} (killed + timeout over "
             f"non-equivalent, valid mutants)" + (f", {wall:.0f} s wall." if wall is not None else ".")]
    tp = [m for m in ms if m.throughput_only and m.outcome in ("killed", "timeout", "survived")]
    if any(m.net for m in ms):
        hit = sum(m.outcome in ("killed", "timeout") for m in tp)
        lines += ["", f"Functional score {pct(tot['k'] + tot['t'] - hit, den - len(tp))}: the same "
                      f"without the {len(tp)} throughput-only mutants (THROUGHPUT: values and order "
                      f"unchanged, cycles only; {hit} of them killed)."]
    lines += [""] + rows + ["", "## Survivors", ""]
    for m in ms:
        if m.outcome == "survived":
            why = (f" (equivalent: {m.equivalent})" if m.equivalent else
                   f" (throughput only: {m.throughput_only})" if m.throughput_only else "")
            lines.append(f"- `{m.id}`{why}: `{m.before.strip()}` -> `{m.after.strip()}`")
    return "\n".join(lines) + "\n"


def write_report(ms: list[Mutant], wall: float | None) -> str:
    """report.md and report.json (every mutant, with its equivalence reason) under WORK."""
    text = report(ms, wall)
    (WORK / "report.md").write_text(text)
    (WORK / "report.json").write_text(
        json.dumps([dict(asdict(m), equivalent=m.equivalent, throughput_only=m.throughput_only)
                    for m in ms], indent=1) + "\n")
    return text


def main(argv=None) -> int:
    global WORK  # the report's directory: one per suite
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--modules", default=",".join(sorted(UNIT_TESTS)))
    ap.add_argument("--max", type=int, default=None, help="mutants per module (an even sample)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per mutant (a hang)")
    ap.add_argument("--suite", default="unit",
                    help="unit: each module's unit tests on Icarus (default); top:<net>: only the "
                         "top-level suite of network <net> on Verilator, over the modules it uses")
    ap.add_argument("--list", action="store_true", help="print the mutants, run nothing")
    ap.add_argument("--rescore", action="store_true",
                    help="rewrite the report of the last run (report.json) with today's EQUIVALENT "
                         "and NET_EQUIVALENT")
    a = ap.parse_args(argv)
    WORK = SIM_BUILD / ("mutate" if a.suite == "unit" else f"mutate-{a.suite.replace(':', '-')}")
    suite_net = a.suite.split(":", 1)[1] if a.suite.startswith("top:") else ""
    if a.rescore:
        names = {f.name for f in fields(Mutant)}
        done = [Mutant(**{**{k: v for k, v in d.items() if k in names}, "net": suite_net})
                for d in json.loads((WORK / "report.json").read_text())]
        print(write_report(done, None))
        return 0
    mods = [m.strip() for m in a.modules.split(",") if m.strip()]
    unknown = [m for m in mods if m not in UNIT_TESTS]
    if unknown:
        ap.error(f"unknown module(s) {', '.join(unknown)}; expected some of {', '.join(sorted(UNIT_TESTS))}")
    pool = {mod: mutants_of(mod) for mod in mods}
    if a.suite != "unit":
        net = a.suite.split(":", 1)[1] if a.suite.startswith("top:") else ""
        if not (ROOT / "weights" / net / "manifest.json").is_file():
            ap.error(f"--suite {a.suite!r}: expected unit or top:<net> with weights/<net>/manifest.json")
        every = [m for ms_mod in pool.values() for m in ms_mod]
        live = {m.id for m in reachable(every, net)}
        pool = {mod: [m for m in ms_mod if m.id in live] for mod, ms_mod in pool.items()}
        pool = {mod: ms_mod for mod, ms_mod in pool.items() if ms_mod}
        print(f"mutate: {len(live)} of the {len(every)} mutants asked for are in what {net}'s top "
              f"elaborates ({', '.join(pool)}; the rest: modules or generate branches it does not use)")
    ms = [m for ms_mod in pool.values() for m in sample(ms_mod, a.max)]
    for m in ms:
        m.net = suite_net
    if a.list:
        for m in ms:
            print(f"{m.id}: {m.before.strip()}  ->  {m.after.strip()}")
        print(f"{len(ms)} mutants")
        return 0
    WORK.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    done = []
    with ThreadPoolExecutor(a.jobs) as pool:
        for fut in as_completed([pool.submit(run_one, m, a.timeout, a.suite) for m in ms]):
            m = fut.result()
            done.append(m)
            print(f"mutate: {len(done):4d}/{len(ms)} {m.outcome:8s} {m.id}"
                  f"{'  ' + m.test if m.test else ''} ({m.seconds:.0f} s)", flush=True)
            # the report so far, after every mutant (a long campaign can be read while it runs)
            done.sort(key=lambda x: (x.module, x.line, x.col, x.op))
            text = write_report(done, time.perf_counter() - t0)
    print(text)
    print(f"mutate: report in {WORK / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
