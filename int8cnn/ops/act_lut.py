"""act_lut: a 256-entry table ROM per activation (rtl/act_lut.v)."""
from __future__ import annotations

import numpy as np

from .. import golden
from .base import Op
from .verilog import Site, inst, vh, wires


class ActLut(Op):
    type = "act_lut"

    def execute(self, layer, x, b, lo, hi):
        return golden.act_lut(x, layer.table, layer.in_signed)

    def reference(self, layer, x, b):
        """Table lookup by the input byte, as a gather."""
        from ..torch_ref import torch
        table = torch.as_tensor(np.asarray(layer.table), dtype=torch.int64)
        return table[torch.remainder(x, 256)]

    def instance(self, layer, site: Site) -> list[str]:
        return (wires(layer.name, f"{vh(layer, 'C_OUT')}*8")
                + inst("act_lut", [("C", vh(layer, "C_IN")), ("IN_SIGNED", vh(layer, "IN_SIGNED")),
                                   ("OUT_W", "8"), ("TABLE_FILE", site.file("table"))],
                       f"u_{layer.name}", site.ins[0], layer.name))
