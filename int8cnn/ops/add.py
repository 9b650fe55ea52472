"""add: eltwise_add of two streams (a residual block, rtl/eltwise_add.v). The stream both branches
start from is split by an axis_fork (int8cnn.generate), and the branch that runs ahead waits in an
axis_fifo sized by int8cnn.hardware.skip_fifo_depths so the fork never deadlocks."""
from __future__ import annotations

import numpy as np

from .. import golden
from ..qnet import SHIFT_MAX
from .base import Op
from .verilog import Site, inst, instance, layer_wires, stream, vh, wires


class Add(Op):
    type = "add"
    inputs = 2

    # ------------------------------------------------------------------ export and load
    def manifest_fields(self, layer) -> dict:
        """MA, MB and S are module parameters (network.vh): no files."""
        return dict(relu=bool(layer.relu), mult_bits=int(layer.mult_bits),
                    mult=[int(m) for m in layer.mult], shift=[int(s) for s in layer.shift],
                    clamp=[int(v) for v in layer.clamp])

    def vh_params(self, layer, qnet) -> list:
        return [("B_SIGNED", qnet.layer(qnet.sources(layer)[1]).out_signed),
                ("MA", layer.mult[0]), ("MB", layer.mult[1]), ("S", layer.shift[0]),
                ("MULT_W", layer.mult_bits), ("LO", layer.clamp[0]), ("HI", layer.clamp[1]),
                ("ZP_OUT", layer.zero_point_out)]

    def load_requant(self, layer, d, files, rd) -> None:
        for key in ("mult", "shift", "clamp", "mult_bits"):
            rd.need(key in d, f"missing field {key!r}")
        mb = d["mult_bits"]
        rd.need(type(mb) is int and 2 <= mb <= 31, f"mult_bits {mb!r} not in 2..31")
        rd.need(isinstance(d["mult"], list) and len(d["mult"]) == 2
                and all(type(v) is int and -(1 << (mb - 1)) <= v < 1 << (mb - 1) for v in d["mult"]),
                f"mult {d['mult']!r} must be [MA, MB], {mb}-bit integers")
        rd.need(isinstance(d["shift"], list) and len(d["shift"]) == 1 and type(d["shift"][0]) is int
                and 0 <= d["shift"][0] <= SHIFT_MAX, f"shift {d['shift']!r} must be [S] with 0 <= S <= {SHIFT_MAX}")
        rd.need(d["clamp"] in ([-128, 127], [0, 255]), f"clamp {d['clamp']} must be [-128, 127] or [0, 255]")
        layer.mult_bits, layer.relu = mb, bool(d.get("relu", False))
        layer.mult = np.array(d["mult"], dtype=np.int64)
        layer.shift = np.array(d["shift"], dtype=np.int64)
        layer.clamp = list(d["clamp"])

    # ------------------------------------------------------------------ execution
    def bounds(self, layer, srcs):
        """MA*a + MB*b before the shift, over both inputs' ranges."""
        (lo, hi), (blo, bhi) = srcs
        ma, mb = layer.mult[:2]
        ends = [x * ma + y * mb for x in (lo, hi) for y in (blo, bhi)]
        return np.minimum.reduce(ends), np.maximum.reduce(ends)

    def requant_terms(self, layer) -> tuple:
        """The shift only: MA and MB are in bounds() already."""
        return np.ones(1, np.int64), layer.shift[:1]


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
        body += layer_wires(l)
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
