"""int8cnn.sim.RTL_DEPS, the one table of which RTL files a module needs, says what rtl/ instantiates,
and module_sources resolves it dependencies first."""
import re
from pathlib import Path

from int8cnn.sim import RTL_DEPS, module_sources

RTL = Path(__file__).resolve().parent.parent / "rtl"
LIBRARY = sorted(p.stem for p in RTL.glob("*.v"))
INSTANCE = re.compile(r"^\s*([a-z_0-9]+)\s*#\s*\(", re.M)


def instances(module: str) -> set[str]:
    """The library modules rtl/<module>.v instantiates (not the FORMAL property checkers)."""
    text = (RTL / f"{module}.v").read_text()
    text = re.sub(r"`ifdef FORMAL.*?`endif", "", text, flags=re.S)
    return {m for m in INSTANCE.findall(text) if m in LIBRARY and m != module}


def test_rtl_deps_are_the_instances_in_rtl():
    found = {m: instances(m) for m in LIBRARY}
    assert {m: set(d) for m, d in RTL_DEPS.items()} == {m: d for m, d in found.items() if d}


def test_module_sources_puts_dependencies_first_and_once():
    names = [p.stem for p in module_sources("conv2d", "dense", "requant", "eltwise_add")]
    assert names == ["pad2d", "window2d", "mac_fold", "conv2d", "dense", "round_shift_clamp",
                     "requant", "eltwise_add"]
