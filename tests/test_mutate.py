"""tb/mutate.py's mutant generator (no simulator): every module has mutants, each changes exactly
one line and compiles to something different, comments / parameter checks / FORMAL hooks are
never touched, and every operator finds work somewhere in rtl/."""
from __future__ import annotations


from flowtools import ROOT


from mutate import OPERATORS, RTL, UNIT_TESTS, apply, mutants_of


def test_every_module_has_mutants_and_unit_tests():
    modules = {p.stem for p in RTL.glob("*.v")}
    assert modules == set(UNIT_TESTS), modules ^ set(UNIT_TESTS)
    for m in modules:
        assert len(mutants_of(m)) >= 3, m
        for t in UNIT_TESTS[m]:
            assert (ROOT / t).exists(), t


def test_a_mutant_changes_exactly_its_line():
    for module in ("axis_skid", "requant", "window2d"):
        src = (RTL / f"{module}.v").read_text().splitlines()
        for m in mutants_of(module)[:40]:
            out = apply(m).splitlines()
            diff = [k for k, (a, b) in enumerate(zip(src, out)) if a != b]
            assert len(out) == len(src) and diff == [m.line - 1], (m.id, diff)
            assert m.after.strip() in out[m.line - 1]


def test_comments_parameter_checks_and_formal_hooks_are_left_alone():
    for module in UNIT_TESTS:
        lines = (RTL / f"{module}.v").read_text().splitlines()
        for m in mutants_of(module):
            text = lines[m.line - 1]
            assert "$error" not in text and "u_props" not in text and "_props" not in text, m.id
            assert m.col < len(text.split("//")[0]), m.id


def test_every_operator_is_used():
    used = {m.op for module in UNIT_TESTS for m in mutants_of(module)}
    assert used == {op for op, *_ in OPERATORS}, {op for op, *_ in OPERATORS} - used


def test_injected_faults_are_left_alone_but_their_else_branch_is_mutated():
    """The `ifdef INT8CNN_FAULT_* code is only built by the checker self-tests: a mutant there
    would survive every unit test without being a gap. The `else branch is the real design."""
    text = (RTL / "maxpool2d.v").read_text().splitlines()
    start = next(k for k, t in enumerate(text, 1) if t.startswith("`ifdef INT8CNN_FAULT_"))
    els = next(k for k, t in enumerate(text, 1) if k > start and t.startswith("`else"))
    end = next(k for k, t in enumerate(text, 1) if k > els and t.startswith("`endif"))
    lines = {m.line for m in mutants_of("maxpool2d")}
    assert not lines & set(range(start, els + 1)), sorted(lines & set(range(start, els + 1)))
    assert lines & set(range(els + 1, end)), "the real branch has no mutants"


def test_top_suite_mutates_only_the_modules_a_network_elaborates():
    """--suite top:<net> mutates the modules of the network's elaborated top: the default network
    is unfolded and unpadded, so conv2d's folded datapath (mac_fold) and padding (pad2d) are not
    in it; a residual network has the fork, the skip FIFOs and the add."""
    from mutate import modules_used, test_commands
    used = modules_used("default")
    assert {"conv2d", "window2d", "requant", "round_shift_clamp", "maxpool2d", "dense", "argmax",
            "axis_skid"} == set(used)
    assert {"axis_fork", "eltwise_add", "axis_fifo", "mac_fold"} <= set(modules_used("seed003"))
    m = mutants_of("requant")[0]
    cmds, sim = test_commands(m, "top:default")
    assert sim == "verilator" and cmds[0][1:] == ["tb/run_top.py", "--sim", "verilator", "--net", "default"]
    assert cmds[1][-3:] == ["--stall-points", "--tests", "stress"]
    assert test_commands(m, "unit")[1] == "icarus"


def test_every_equivalence_names_an_existing_mutant():
    """An EQUIVALENT, NET_EQUIVALENT or THROUGHPUT entry whose line changed would silently stop applying: each
    key must match a mutant of today's RTL (with its column when it gives one)."""
    from mutate import EQUIVALENT, NET_EQUIVALENT, THROUGHPUT
    for key in [*EQUIVALENT, *NET_EQUIVALENT, *THROUGHPUT]:
        module, text, op = key[:3]
        hits = [m for m in mutants_of(module) if m.before.strip() == text and m.op == op
                and (len(key) == 3 or m.col == key[3])]
        assert hits, key


def test_top_suite_leaves_out_generate_branches_the_network_does_not_elaborate():
    """The default network's conv2d is unfolded and unpadded: mutants inside its g_fold branch
    cannot change it and are left out, while the condition that selects a branch (`if (PAD > 0)`)
    and the unfolded datapath stay in."""
    from mutate import generate_blocks, reachable
    text = (RTL / "conv2d.v").read_text()
    fold = next((a, b) for label, a, b in generate_blocks(text) if label == "g_fold")
    ms = mutants_of("conv2d")
    live = {m.id for m in reachable(ms, "default")}
    inside = [m for m in ms if fold[0] < m.line <= fold[1]]
    assert inside and not any(m.id in live for m in inside)
    lines = text.splitlines()
    cond = [m for m in ms if lines[m.line - 1].strip().startswith("if (PAD > 0) begin : g_pad")]
    assert cond and all(m.id in live for m in cond)
    assert len(live) > len(ms) // 2


def test_network_equivalence_holds_only_where_its_predicate_does():
    """window2d's phase counter stepping down is equivalent for a network whose window2d strides
    are all <= 2 (seed004: strides 1 and 2) and not in the unit suite; requant's swapped POW2
    branches only where every requant is pow2 (seed004), not for the default network (Q15 M)."""
    from mutate import Mutant
    yph = next(m for m in mutants_of("window2d") if m.op == "plus-minus" and "yph_reg + 1'b1" in m.before
               and m.col == 74)
    pow2 = next(m for m in mutants_of("requant") if m.op == "ne-eq" and "g_pow2" in m.before)
    for m in (yph, pow2):
        assert Mutant(**{**m.__dict__, "net": "seed004"}).equivalent.startswith("for seed004: ")
        assert Mutant(**{**m.__dict__, "net": ""}).equivalent == ""
    assert Mutant(**{**pow2.__dict__, "net": "default"}).equivalent == ""
    assert Mutant(**{**yph.__dict__, "net": "default"}).equivalent.startswith("for default: ")
    # pad2d's tlast (window2d ignores it) and requant's SERIAL arm (the tops have SERIAL = 0): dead
    # in every network's top, live in the unit tests
    dead = [m for m in mutants_of("pad2d") if "m_last_reg <=" in m.before]
    dead += [m for m in mutants_of("requant") if "p_we = (SERIAL != 0)" in m.before and m.col in (61, 72)]
    assert len(dead) == 6
    for m in dead:
        assert Mutant(**{**m.__dict__, "net": "seed002"}).equivalent.startswith("for seed002: ")
        assert Mutant(**{**m.__dict__, "net": ""}).equivalent == ""
    cond = next(m for m in mutants_of("requant") if "p_we = (SERIAL != 0)" in m.before and m.col == 48)
    assert Mutant(**{**cond.__dict__, "net": "seed002"}).equivalent == ""
    # avgpool2d's window counters stepping down: one bit wide at K = 2 (seed003), not at K = 14
    # (seed002) or K = 7 (seed004)
    ky = next(m for m in mutants_of("avgpool2d") if m.op == "plus-minus" and "ky_reg + 1'b1" in m.before)
    assert Mutant(**{**ky.__dict__, "net": "seed003_fashion"}).equivalent.startswith("for seed003_fashion: ")
    for net in ("seed002", "seed004", ""):
        assert Mutant(**{**ky.__dict__, "net": net}).equivalent == ""
    # maxpool2d's tree pair test widened: harmless in a 2x2 tree (every network), not in the unit suite
    tree = [m for m in mutants_of("maxpool2d") if m.before.strip().startswith("if (2*n + 1 <")
            and m.op in ("lt-le", "minus-plus")]
    assert len(tree) == 2
    for m in tree:
        assert Mutant(**{**m.__dict__, "net": "default"}).equivalent.startswith("for default: ")
        assert Mutant(**{**m.__dict__, "net": ""}).equivalent == ""


def test_throughput_only_mutants_leave_only_the_top_level_functional_score():
    """A THROUGHPUT mutant counts as a survivor in the unit campaign (the unit tests check
    throughput) and in a top-level campaign's score; only the functional score of a top-level
    campaign leaves it out, whether it was killed or not."""
    from dataclasses import replace
    from mutate import report
    fork = next(m for m in mutants_of("axis_fork") if m.op == "or-and" and "done_a" in m.before)
    other = [m for m in mutants_of("axis_skid")[:3]]
    assert not fork.throughput_only and not fork.equivalent
    ms = [replace(fork, outcome="survived")] + [replace(m, outcome="killed") for m in other]
    unit = report(ms, None)
    assert "score 75.0%" in unit and "Functional score" not in unit
    top = report([replace(m, net="seed004") for m in ms], None)
    assert "score 75.0%" in top and "Functional score 100.0%" in top
    assert f"`{fork.id}` (throughput only: " in top
    top = report([replace(m, net="seed004", outcome="killed") for m in ms], None)
    assert "score 100.0%" in top and "Functional score 100.0%" in top and "1 of them killed" in top
    ms[1] = replace(ms[1], outcome="survived")
    top = report([replace(m, net="seed004") for m in ms], None)
    assert "score 50.0%" in top and "Functional score 66.7%" in top
