"""make lint / make synth without the tools: which runs lint makes, what counts as a warning, and
how the synthesis stat is read (the tools themselves run in CI: `make lint`, `make synth`)."""
from __future__ import annotations


from int8cnn import lint, synth

from int8cnn.paths import ROOT


def test_lint_covers_every_module_top_and_testbench_module():
    runs = lint.checks("default")
    labels = [label for label, _, _ in runs]
    for p in (ROOT / "rtl").glob("*.v"):
        assert f"{p.stem} (verilator)" in labels and f"{p.stem} (iverilog)" in labels
    for p in (ROOT / "rtl" / "generated").glob("*.v"):
        assert {f"{p.stem} (verilator)", f"{p.stem} (iverilog)",
                f"{p.stem} with stall points (verilator)",
                f"{p.stem} as the FPGA builds use it (verilator)"} <= set(labels)
    for p in (ROOT / "tb" / "hdl").glob("*.v"):
        assert f"{p.stem} (verilator)" in labels
    assert "tb_cnn_default (verilator)" in labels
    # a generated top is linted against its own network's include directory
    cmd = next(c for label, c, _ in runs if label == "cnn_seed004_m64 (iverilog)")
    assert "-Iweights/seed004" in cmd and "rtl/generated/cnn_seed004_m64.v" in cmd


def test_lint_warning_lines():
    text = ("%Warning-UNUSEDSIGNAL: rtl/x.v:3:9: Signal is not used: 'a'\n"
            "      : ... note\n- V e r i l a t i o n   R e p o r t: Verilator 5.048\n")
    assert lint.WARNING.findall(text) == ["Warning"]
    assert not lint.WARNING.search("- V e r i l a t i o n   R e p o r t: Verilator 5.048\n")


def test_synth_counts_and_script():
    stat = """=== cnn_default ===
   Number of cells:              12
     $_DFF_P_                       3
     $_SDFFE_PP0P_                  2
     $_AND_                         7
"""
    coarse = """=== cnn_default ===
   Number of cells:               9
     $mul_8                         2
     $mul_16                        1
     $add                           6
"""
    assert synth.counts(stat, coarse) == (12, 5, 3)
    s = synth.script("requant", ["rtl/a.v"], "default", "-set C 3")
    assert "chparam -set C 3 requant" in s and "select -assert-none t:$dlatch" in s
    assert "chparam" not in synth.script("requant", ["rtl/a.v"], "default")
