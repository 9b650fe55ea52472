"""What every layer type answers: its files, manifest fields and network.vh localparams and how
they are validated when loaded back (int8cnn.export), its golden execution (integer numpy, int8cnn.golden) and an
independent PyTorch one (tests/test_golden.py compares them), its hardware model (products, fold,
cycles per image, which input beat each output beat waits for), its RTL checks and its instance
text. One subclass per
layer type in int8cnn/ops/<type>.py; int8cnn.ops.op_for(layer) picks it."""
from __future__ import annotations

import numpy as np

from .. import golden, memfile
from ..memfile import read_values
from ..qnet import SHIFT_MAX, acc_bits_for
from .verilog import Site, inst, layer_wires, vh, wires


class UnsupportedLayer(ValueError):
    """A layer the RTL library cannot build; the message names the layer and why."""


def fold_cycles(products: int, mults: int | None) -> int:
    """Cycles per conv2d window / dense input beat with MULTS = mults: ceil(products / mults),
    1 when fully parallel (mults 0 / None or >= products); rtl/conv2d.v and rtl/dense.v."""
    if not mults or mults >= products:
        return 1
    return -(-products // mults)


def mac_bounds(w, b, lo_in, hi_in):
    """Bounds of b + sum(w * x) over x in [lo_in, hi_in] (elementwise, broadcast like w)."""
    w = w.astype(np.int64)
    a, c = w * lo_in, w * hi_in
    axes = tuple(range(1, w.ndim))
    return b + np.minimum(a, c).sum(axis=axes), b + np.maximum(a, c).sum(axis=axes)


class Op:
    """A layer type without multipliers that moves one input beat per clock."""
    type = ""
    inputs = 1           # input streams (add: 2, a join)
    per = ""             # multipliers: what one fold step covers ("window", "input beat")
    channel_requant = False  # followed by requant (per-channel M, S; "fixed" or "pow2")

    # ------------------------------------------------------------------ export and load
    def files(self, layer) -> dict:
        """kind -> file name of the .mem files the layer exports (weights/<net>/)."""
        return {}

    def manifest_fields(self, layer) -> dict:
        """The layer's own manifest fields, after the common ones (int8cnn.export.layer_manifest)."""
        return {}

    def vh_params(self, layer, qnet) -> list:
        """(key, value) of its network.vh localparams after C_IN, IMG_H, IMG_W, C_OUT, IN_SIGNED."""
        return []

    def write(self, layer, out_dir, files: dict) -> None:
        """Write the layer's .mem files (files(): kind -> name) into out_dir."""

    def product_weights(self, layer) -> np.ndarray:
        """[sets, N] weights in rtl/mac_fold.v product order (int8cnn.export.product_weights)."""
        raise ValueError(f"layer {layer.name} ({layer.type}) has no weights")

    def groups_ok(self, groups: int, in_shape, out_shape) -> bool:
        """Whether the manifest's `groups` is valid for the layer type."""
        return groups == 1

    def expected_out_shape(self, d: dict, shape, rd) -> list:
        """The output shape the manifest entry `d` must state for input `shape`."""
        return list(shape)

    def load(self, layer, d: dict, files: dict, rd) -> None:
        """Fill `layer` from its manifest entry `d` and its files, validating each (rd.need(cond,
        msg) raises the ManifestError naming the manifest and the layer; rd.wdir: the directory)."""
        self.load_fields(layer, d, files, rd)
        self.load_requant(layer, d, files, rd)

    def load_fields(self, layer, d: dict, files: dict, rd) -> None:
        """The type's own fields and files."""

    def load_requant(self, layer, d: dict, files: dict, rd) -> None:
        """Per-channel requantization (mult, shift, clamp, mult_bits, requant), when present."""
        if not ("mult" in files or "mult" in d):
            return
        oc = layer.out_shape[0]
        for key in ("mult", "shift", "clamp", "mult_bits"):
            rd.need(key in d, f"missing field {key!r}")
            if key in ("mult", "shift"):
                rd.need(key in files, f"files: missing {key!r}")
                rd.need(len(d[key]) == oc, f"{key} has {len(d[key])} entries, expected {oc} (one per channel)")
        mb = d["mult_bits"]
        layer.mult_bits = mb
        layer.requant = d.get("requant", "fixed")
        rd.need(layer.requant in ("fixed", "pow2"), f"requant {layer.requant!r} must be 'fixed' or 'pow2'")
        layer.mult = read_values(rd.wdir / files["mult"], 16, oc, False, 1, (1 << (mb - 1)) - 1)
        layer.shift = read_values(rd.wdir / files["shift"], 8, oc, False, 0, SHIFT_MAX)
        rd.need(layer.mult.tolist() == list(d["mult"]), f"mult {d['mult']} differs from {files['mult']}")
        rd.need(layer.shift.tolist() == list(d["shift"]), f"shift {d['shift']} differs from {files['shift']}")
        rd.need(layer.requant == "fixed" or set(layer.mult.tolist()) == {1},
                f"requant 'pow2' needs every mult = 1, got {d['mult']}")
        lo, hi = d["clamp"]
        rd.need(-128 <= lo < hi <= 255, f"clamp {d['clamp']} not within int8/uint8")
        layer.clamp = [lo, hi]

    # ------------------------------------------------------------------ execution
    def bounds(self, layer, srcs: list) -> tuple:
        """Per output channel (lo, hi) of the values before requantization (a requantizing layer)
        or of the output (the others), over inputs in the per-channel ranges `srcs` (one (lo, hi)
        per input; interval arithmetic, int8cnn.coverset.bounds). Here: the input's range."""
        return srcs[0]

    def requant_terms(self, layer) -> tuple:
        """(mult, shift) golden.requant applies to the bounds() of a requantizing layer."""
        return layer.mult, layer.shift

    def extremes(self, layer) -> dict:
        """Crafted images {name: [28, 28] uint8} at the layer's accumulator extremes when it reads
        the image ({}: none; int8cnn.coverset's golden set)."""
        return {}

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
        """The MULTS parameter: 0 (fully parallel) when not folding, else min(mults, products,
        layer.max_mults) (equal to the products means fully parallel too)."""
        if mults is None:
            return 0
        if mults < 1:
            raise ValueError(f"mults must be >= 1, got {mults}")
        return min(mults, self.products(layer), layer.max_mults or mults)

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

    def fifo_depth(self, layer, mults: int | None) -> int:
        """Depth of an axis_fifo in front of the module when it does not read the image (0: none)."""
        return 0

    def serial_requant_ok(self, layer, mults: int | None, passes: int = 1) -> bool:
        """Whether the layer's requant (if any) may be SERIAL (`passes` multiplier cycles per
        channel) without slowing it (no requant: yes)."""
        return True

    # ------------------------------------------------------------------ RTL
    def check(self, layer, last: bool, where: str) -> None:
        """Raise UnsupportedLayer when the RTL module cannot build `layer` (`where` names it)."""

    def instance(self, layer, site: Site) -> list[str]:
        """The instance lines of the layer in the top: its output stream wires `layer.name`_*."""
        raise NotImplementedError


class WindowOp(Op):
    """K x K windows (conv2d, maxpool2d, avgpool2d): an output beat waits for its window's
    bottom-right input pixel (clipped to the image: padding is generated, not received)."""

    def window_vh(self, layer) -> list:
        return [("K", layer.kernel), ("STRIDE", layer.stride), ("PAD", layer.padding)]

    def vh_params(self, layer, qnet) -> list:
        return self.window_vh(layer)

    def out_channels(self, d: dict, c: int) -> int:
        """Output channels: the input's (pooling), or the manifest's (conv2d)."""
        return c

    def expected_out_shape(self, d, shape, rd) -> list:
        c, h, w = shape
        k, s, pad = d["kernel"], d["stride"], d["padding"]
        rd.need(k >= 1 and s >= 1 and pad >= 0 and k <= h + 2 * pad and k <= w + 2 * pad,
                f"kernel {k} / stride {s} / padding {pad} invalid for {shape}")
        return [self.out_channels(d, c), (h + 2 * pad - k) // s + 1, (w + 2 * pad - k) // s + 1]

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
    channel_requant = True

    def check(self, layer, last: bool, where: str) -> None:
        """Accumulators of at most 32 bits."""
        if layer.acc_bits > 32:
            raise UnsupportedLayer(f"{where}: accumulator of {layer.acc_bits} bits exceeds 32")
        super().check(layer, last, where)

    def files(self, layer) -> dict:
        if layer.mult is None:
            return {}
        return {"mult": f"{layer.name}_mult.mem", "shift": f"{layer.name}_shift.mem"}

    def requant_fields(self, layer) -> dict:
        """The requantization's manifest fields (none for raw accumulators)."""
        if layer.mult is None:
            return {}
        return dict(requant=layer.requant, mult_bits=int(layer.mult_bits),
                    mult=[int(m) for m in layer.mult], shift=[int(s) for s in layer.shift],
                    clamp=[int(v) for v in layer.clamp])

    def requant_vh(self, layer) -> list:
        """requant's localparams (none for raw accumulators)."""
        if layer.mult is None:
            return []
        return [("POW2", layer.requant == "pow2"), ("MULT_W", layer.mult_bits), ("SHIFT_W", 6),
                ("LO", layer.clamp[0]), ("HI", layer.clamp[1]), ("ZP_OUT", layer.zero_point_out)]

    def write(self, layer, out_dir, files: dict) -> None:
        if "mult" in files:
            memfile.write_mem(out_dir / files["mult"], [int(v) for v in layer.mult], 4)
            memfile.write_mem(out_dir / files["shift"], [int(v) for v in layer.shift], 2)

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

    def beat_interval(self, layer, mults: int | None) -> int:
        """The fewest cycles between two accumulator beats the layer emits (1: back to back)."""
        return 1

    def serial_requant_ok(self, layer, mults: int | None, passes: int = 1) -> bool:
        """Whether its requant may be SERIAL (rtl/requant.v: one beat per passes*C+1 clocks) without
        slowing the layer: no requant, or accumulator beats at least passes*C+1 cycles apart."""
        return (layer.mult is None
                or self.beat_interval(layer, mults) >= passes * layer.out_shape[0] + 1)

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
            body += layer_wires(l)
            body += inst("requant", [("C", vh(l, "C_OUT")), ("ACC_W", vh(l, "ACC_W")),
                                     ("MULT_W", vh(l, "MULT_W")), ("SHIFT_W", vh(l, "SHIFT_W")),
                                     ("OUT_W", "8"), ("LO", vh(l, "LO")), ("HI", vh(l, "HI")),
                                     ("ZP_OUT", vh(l, "ZP_OUT")), ("POW2", vh(l, "POW2")),
                                     ("MULT_FILE", site.file("mult")),
                                     ("SHIFT_FILE", site.file("shift")),
                                     ("SERIAL", "REQUANT_SERIAL")],
                         f"u_{l.name}_rq", acc, l.name)
        return body


class MacOp(AccumulatingOp):
    """conv2d and dense: weights, biases and multipliers, foldable onto MULTS of them (mac_fold)."""

    def files(self, layer) -> dict:
        return {"weight": f"{layer.name}_weight.mem", "bias": f"{layer.name}_bias.mem",
                **super().files(layer)}

    def manifest_fields(self, layer) -> dict:
        d = dict(acc_bits=int(layer.acc_bits), scale_w=[float(s) for s in layer.scale_w],
                 relu=bool(layer.relu))
        if layer.bias_bits != 32:
            d.update(bias_bits=int(layer.bias_bits))
        return {**d, **self.requant_fields(layer)}

    def mac_vh(self, layer) -> list:
        return [("ACC_W", layer.acc_bits), ("BIAS_W", layer.bias_bits)]

    def write_weights(self, layer, path) -> None:
        raise NotImplementedError

    def write(self, layer, out_dir, files: dict) -> None:
        self.write_weights(layer, out_dir / files["weight"])
        mask = (1 << layer.bias_bits) - 1
        memfile.write_mem(out_dir / files["bias"], [int(v) & mask for v in layer.bias], layer.bias_bits // 4)
        super().write(layer, out_dir, files)

    def read_weights(self, layer, path) -> np.ndarray:
        raise NotImplementedError

    def load(self, layer, d, files, rd) -> None:
        super().load(layer, d, files, rd)
        need = acc_bits_for(layer.weight, layer.bias, layer.in_signed)
        rd.need(layer.acc_bits >= need, f"acc_bits {layer.acc_bits} too small: worst case needs {need}")

    def load_fields(self, layer, d, files, rd) -> None:
        for key in ("acc_bits", "scale_w"):
            rd.need(key in d, f"missing field {key!r}")
        for key in ("weight", "bias"):
            rd.need(key in files, f"files: missing {key!r}")
        layer.acc_bits, layer.scale_w, layer.relu = d["acc_bits"], d["scale_w"], d.get("relu", False)
        layer.weight = self.read_weights(layer, rd.wdir / files["weight"])
        layer.bias_bits = d.get("bias_bits", 32)
        rd.need(layer.bias_bits in (16, 32), f"bias_bits must be 16 or 32, got {layer.bias_bits!r}")
        layer.bias = read_values(rd.wdir / files["bias"], layer.bias_bits, layer.out_shape[0], True)

    def folded(self, layer, mults: int | None) -> bool:
        return 0 < self.mults(layer, mults) < self.products(layer)

    def step_cycles(self, layer, mults: int | None) -> int:
        """Cycles per window / input beat: fold_cycles of the layer's products."""
        return fold_cycles(self.products(layer), self.mults(layer, mults))

    def beat_interval(self, layer, mults: int | None) -> int:
        """A window takes step_cycles, so an output beat comes at most every step_cycles (dense
        overrides: one per vector)."""
        return self.step_cycles(layer, mults)

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
