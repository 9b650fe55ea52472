"""add: eltwise_add of two streams (a residual block, rtl/eltwise_add.v). The stream both branches
start from is split by an axis_fork (int8cnn.generate), and the branch that runs ahead waits in an
axis_fifo sized by int8cnn.hardware.skip_fifo_depths so the fork never deadlocks."""
from __future__ import annotations

from .. import golden
from .base import Op
from .verilog import Site, inst, instance, stream, vh, wires


class Add(Op):
    type = "add"
    inputs = 2

    def execute(self, layer, x, b, lo, hi):
        return golden.eltwise_add(x, b, layer.mult[0], layer.mult[1], layer.shift[0], lo, hi,
                                  layer.zero_point_out)

    def reference(self, layer, x, b):
        """Each branch times its multiplier, floor division for the shift."""
        from ..torch_ref import torch
        ma, mb = (int(v) for v in layer.mult)
        div = 2 ** int(layer.shift[0])
        y = torch.div(x * ma + b * mb + div // 2, div, rounding_mode="floor")
        return torch.clamp(y + int(layer.zero_point_out), int(layer.clamp[0]), int(layer.clamp[1]))

    def instance(self, layer, site: Site) -> list[str]:
        l = layer
        width = f"{vh(l, 'C_IN')}*8"
        body, ins = [], []
        for port, name, wire, depth in zip("ab", site.sources, site.ins, site.skip_depths):
            if depth:
                body.append(f"    // {name} waits here for the other branch (skip_fifo_depths: {depth})")
                body += wires(f"{l.name}_{port}", width)
                body += inst("axis_fifo", [("DATA_W", width), ("DEPTH", f"{depth} / SKIP_FIFO_DIV")],
                             f"u_{l.name}_{port}_fifo", wire, f"{l.name}_{port}")
                wire = f"{l.name}_{port}"
            ins.append(wire)
        body += wires(l.name, f"{vh(l, 'C_OUT')}*8")
        return body + self._add(l, ins)

    @staticmethod
    def _add(l, ports: list) -> list[str]:
        """eltwise_add of input a (carries tlast) and b; b's tlast is left unconnected (the same
        frames as a's)."""
        a, b = ports
        params = [("C", vh(l, "C_IN")), ("A_SIGNED", vh(l, "IN_SIGNED")), ("B_SIGNED", vh(l, "B_SIGNED")),
                  ("MULT_W", vh(l, "MULT_W")), ("MA", vh(l, "MA")), ("MB", vh(l, "MB")), ("S", vh(l, "S")),
                  ("ZP_OUT", vh(l, "ZP_OUT")), ("LO", vh(l, "LO")), ("HI", vh(l, "HI")), ("OUT_W", "8")]
        ports = (stream("s_axis_a", a) + stream("s_axis_b", b, tlast=False)
                 + stream("m_axis", l.name, last=True))
        return instance("eltwise_add", params, f"u_{l.name}", ports) + [
            "    /* verilator lint_off UNUSEDSIGNAL */",
            f"    wire {l.name}_b_tlast_unused = {b}_sp_tlast;  // b's frames are a's",
            "    /* verilator lint_on UNUSEDSIGNAL */", ""]
