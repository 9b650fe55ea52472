"""What every layer type answers: its golden execution (integer numpy, int8cnn.golden) and an
independent PyTorch one (tests/test_golden.py compares them), its hardware model (products, fold,
cycles per image, which input beat each output beat waits for), its RTL checks and its instance
text. One subclass per
layer type in int8cnn/ops/<type>.py; int8cnn.ops.op_for(layer) picks it."""
from __future__ import annotations

import numpy as np

from .. import golden
from .verilog import Site, inst, vh, wires


class UnsupportedLayer(ValueError):
    """A layer the RTL library cannot build; the message names the layer and why."""


def fold_cycles(products: int, mults: int | None) -> int:
    """Cycles per conv2d window / dense input beat with MULTS = mults: ceil(products / mults),
    1 when fully parallel (mults 0 / None or >= products); rtl/conv2d.v and rtl/dense.v."""
    if not mults or mults >= products:
        return 1
    return -(-products // mults)


class Op:
    """A layer type without multipliers that moves one input beat per clock."""
    type = ""
    inputs = 1           # input streams (add: 2, a join)
    per = ""             # multipliers: what one fold step covers ("window", "input beat")
    accumulates = False  # its RTL module emits accumulators of ACC_W (<= 32) bits

    # ------------------------------------------------------------------ execution
    def execute(self, layer, x: np.ndarray, b: np.ndarray | None, lo: int, hi: int) -> np.ndarray:
        """The golden model of the layer on a batch [N,C,H,W] (b: an add's second input); a
        requantizing layer clamps to [lo, hi] (int8cnn.inference.run_layer)."""
        raise NotImplementedError

    def reference(self, layer, x, b):
        """The same in PyTorch tensor ops, sharing nothing with golden.py (int8cnn.torch_ref)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ hardware model
    def products(self, layer) -> int:
        """Multiplications per conv2d window or dense input beat."""
        raise ValueError(f"layer {layer.name} ({layer.type}) has no multipliers")

    def mults(self, layer, mults: int | None) -> int:
        """The MULTS parameter: 0 (fully parallel) when not folding, else min(mults, products)
        (equal to the products means fully parallel too)."""
        if mults is None:
            return 0
        if mults < 1:
            raise ValueError(f"mults must be >= 1, got {mults}")
        return min(mults, self.products(layer))

    def folded(self, layer, mults: int | None) -> bool:
        """Folded by `mults` (0 < MULTS < products): reads a chunk-ordered weight ROM (FOLD_FILE)."""
        return False

    def cycles(self, layer, mults: int | None) -> int:
        """Cycles one image keeps the layer busy when its input never starves: one input beat per
        clock."""
        _, h, w = layer.in_shape
        return h * w

    def needs(self, layer) -> np.ndarray:
        """For each output beat (raster order), the last input beat it waits for (before the
        running maximum int8cnn.hardware takes): here its own position."""
        _, h, w = layer.in_shape
        return np.arange(h * w)

    # ------------------------------------------------------------------ RTL
    def check(self, layer, last: bool, where: str) -> None:
        """Raise UnsupportedLayer when the RTL module cannot build `layer` (`where` names it)."""
        if self.accumulates and layer.acc_bits > 32:
            raise UnsupportedLayer(f"{where}: accumulator of {layer.acc_bits} bits exceeds 32")

    def instance(self, layer, site: Site) -> list[str]:
        """The instance lines of the layer in the top: its output stream wires `layer.name`_*."""
        raise NotImplementedError


class WindowOp(Op):
    """K x K windows (conv2d, maxpool2d, avgpool2d): an output beat waits for its window's
    bottom-right input pixel (clipped to the image: padding is generated, not received)."""

    def needs(self, layer) -> np.ndarray:
        _, h, w = layer.in_shape
        _, oh, ow = layer.out_shape
        k, st, p = layer.kernel, layer.stride, layer.padding
        r = np.minimum(h - 1, np.arange(oh) * st - p + k - 1)
        c = np.minimum(w - 1, np.arange(ow) * st - p + k - 1)
        return (r[:, None] * w + c[None, :]).reshape(-1)


class AccumulatingOp(Op):
    """A module that emits accumulators (conv2d, dense, avgpool2d) followed by requant, or, the last
    layer, the int32 logits."""
    accumulates = True

    def accumulate(self, layer, x: np.ndarray) -> np.ndarray:
        """The golden accumulators [N,C_OUT,OH,OW] before requantization."""
        raise NotImplementedError

    def accumulate_reference(self, layer, x):
        """The accumulators in PyTorch (int64 tensor)."""
        raise NotImplementedError

    def execute(self, layer, x, b, lo, hi):
        acc = self.accumulate(layer, x)
        if layer.mult is None:
            return acc
        return golden.requant(acc, layer.mult, layer.shift, lo, hi, layer.zero_point_out)

    def reference(self, layer, x, b):
        from .. import torch_ref
        acc = self.accumulate_reference(layer, x)
        return acc if layer.mult is None else torch_ref.requant(acc, layer)

    def params(self, layer, site: Site, acc_lane: str) -> list:
        """The module's parameters (name, value expression)."""
        raise NotImplementedError

    def fifo_depth(self, layer, mults: int | None) -> int:
        """Depth of an axis_fifo in front of the module when it does not read the image (0: none)."""
        return 0

    def instance(self, layer, site: Site) -> list[str]:
        l, src = layer, site.ins[0]
        acc = f"{l.name}_acc"
        acc_lane = "32" if l.emits_logits else vh(l, "ACC_W")
        body = wires(l.name if l.emits_logits else acc, f"{vh(l, 'C_OUT')}*{acc_lane}")
        depth = self.fifo_depth(l, site.mults) if site.sources[0] != "input" else 0
        if depth:
            body += wires(f"{l.name}_in", f"{vh(l, 'C_IN')}*8")
            body += inst("axis_fifo", [("DATA_W", f"{vh(l, 'C_IN')}*8"), ("DEPTH", str(depth))],
                         f"u_{l.name}_fifo", src, f"{l.name}_in")
            src = f"{l.name}_in"
        body += inst(self.type, self.params(l, site, acc_lane), f"u_{l.name}", src,
                     l.name if l.emits_logits else acc)
        if not l.emits_logits:
            body += wires(l.name, f"{vh(l, 'C_OUT')}*8")
            body += inst("requant", [("C", vh(l, "C_OUT")), ("ACC_W", vh(l, "ACC_W")),
                                     ("MULT_W", vh(l, "MULT_W")), ("SHIFT_W", vh(l, "SHIFT_W")),
                                     ("OUT_W", "8"), ("LO", vh(l, "LO")), ("HI", vh(l, "HI")),
                                     ("ZP_OUT", vh(l, "ZP_OUT")), ("POW2", vh(l, "POW2")),
                                     ("MULT_FILE", site.file("mult")),
                                     ("SHIFT_FILE", site.file("shift"))],
                         f"u_{l.name}_rq", acc, l.name)
        return body


class MacOp(AccumulatingOp):
    """conv2d and dense: multipliers, foldable onto MULTS of them (mac_fold)."""

    def folded(self, layer, mults: int | None) -> bool:
        return 0 < self.mults(layer, mults) < self.products(layer)

    def step_cycles(self, layer, mults: int | None) -> int:
        """Cycles per window / input beat: fold_cycles of the layer's products."""
        return fold_cycles(self.products(layer), self.mults(layer, mults))

    def check(self, layer, last: bool, where: str) -> None:
        if layer.mult is None and not last:
            raise UnsupportedLayer(f"{where}: only the last layer may emit raw accumulators")
        super().check(layer, last, where)

    def mac_params(self, layer, site: Site) -> tuple[list, list]:
        """(WEIGHT_FILE unless folded, MULTS and FOLD_FILE when the top folds)."""
        folded = self.folded(layer, site.mults)
        weight_file = [] if folded else [("WEIGHT_FILE", site.file("weight"))]
        fold = []
        if site.mults is not None:
            fold.append(("MULTS", str(self.mults(layer, site.mults))))
        if folded:
            fold.append(("FOLD_FILE", f'{{FOLD_DIR, "/{layer.name}_weight.mem"}}'))
        return weight_file, fold
