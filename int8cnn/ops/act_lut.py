"""act_lut: a 256-entry table ROM per activation (rtl/act_lut.v)."""
from __future__ import annotations

import numpy as np

from .. import golden
from ..activations import ACTIVATIONS
from .. import memfile
from ..memfile import read_values
from .base import Op
from .verilog import Site, inst, layer_wires, vh


class ActLut(Op):
    type = "act_lut"

    def files(self, layer) -> dict:
        return {"table": f"{layer.name}_table.mem"}

    def manifest_fields(self, layer) -> dict:
        return dict(activation=layer.activation, clamp=[int(v) for v in layer.clamp])

    def write(self, layer, out_dir, files: dict) -> None:
        memfile.write_mem(out_dir / files["table"], [int(v) & 0xFF for v in layer.table], 2)

    def load_fields(self, layer, d, files, rd) -> None:
        rd.need("table" in files, "files: missing 'table'")
        rd.need(d.get("activation") in ACTIVATIONS,
                f"activation {d.get('activation')!r} not one of {sorted(ACTIVATIONS)}")
        rd.need(d.get("clamp") in ([-128, 127], [0, 255]),
                f"clamp {d.get('clamp')} must be [-128, 127] or [0, 255]")
        layer.activation, layer.clamp = d["activation"], list(d["clamp"])
        lo, hi = layer.clamp
        layer.table = read_values(rd.wdir / files["table"], 8, 256, lo < 0, lo, hi)

    def bounds(self, layer, srcs):
        """The table's range over the input range of each channel."""
        idx = [np.arange(a, b_ + 1) & 0xFF for a, b_ in zip(*srcs[0])]
        return (np.array([layer.table[i].min() for i in idx]),
                np.array([layer.table[i].max() for i in idx]))

    def execute(self, layer, x, b, lo, hi):
        return golden.act_lut(x, layer.table, layer.in_signed)

    def reference(self, layer, x, b):
        """Table lookup by the input byte, as a gather."""
        from ..torch_ref import torch
        table = torch.as_tensor(np.asarray(layer.table), dtype=torch.int64)
        return table[torch.remainder(x, 256)]

    def instance(self, layer, site: Site) -> list[str]:
        return (layer_wires(layer)
                + inst("act_lut", [("C", vh(layer, "C_IN")), ("IN_SIGNED", vh(layer, "IN_SIGNED")),
                                   ("OUT_W", "8"), ("TABLE_FILE", site.file("table"))],
                       f"u_{layer.name}", site.ins[0], layer.name))
