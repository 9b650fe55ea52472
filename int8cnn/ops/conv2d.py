"""conv2d (depthwise for groups = C): rtl/conv2d.v (PAD, STRIDE, DEPTHWISE, MULTS) + requant."""
from __future__ import annotations

from .. import golden
from .base import MacOp, UnsupportedLayer, WindowOp
from .verilog import Site, vh


class Conv2d(MacOp, WindowOp):
    type = "conv2d"
    per = "window"

    def accumulate(self, layer, x):
        return golden.conv2d_acc(x, layer.weight, layer.bias, layer.stride, layer.padding, layer.groups)

    def accumulate_reference(self, layer, x):
        from ..torch_ref import exact, F, tensor
        return exact(F.conv2d(x.double(), tensor(layer.weight), tensor(layer.bias), layer.stride,
                              layer.padding, groups=layer.groups))

    def products(self, layer) -> int:
        """C_OUT*C_IN*K*K per window (depthwise, groups = C: C*K*K)."""
        return layer.out_shape[0] * (layer.in_shape[0] // layer.groups) * layer.kernel * layer.kernel

    def cycles(self, layer, mults: int | None) -> int:
        """OH*OW*(T-1) + (H+2P)*(W+2P): one (padded) input pixel per clock, plus T-1 more per window
        for its T = fold_cycles chunks (the window waits in window2d meanwhile)."""
        _, h, w = layer.in_shape
        p = layer.padding
        return (layer.out_shape[1] * layer.out_shape[2] * (self.step_cycles(layer, mults) - 1)
                + (h + 2 * p) * (w + 2 * p))

    def fifo_depth(self, layer, mults: int | None) -> int:
        """Depth of the axis_fifo in front of a conv2d that does not read the image (0: none).

        Padded: pad2d stalls its input for the bottom and top padding rows of consecutive images
        (2*PAD*(W+2*PAD+1) beats); a FIFO of at least that many (a power of two) absorbs what the
        previous layer produces meanwhile, so the layers upstream never stall and the II stays at
        its formula. Unpadded but folded (T > 1 cycles per window), a power of two >= W + 4
        beats: a folded conv is busy on every beat, so it must never wait for its input. Upstream,
        a padded window layer emits its last output row (W beats) at the end of an image without
        new input and its first row of the next image only after about a row of new input: the
        FIFO holds that row (with 4 FIFOs, seed004's 1x1 convs measured II 1601 instead of 1568)."""
        p, w = layer.padding, layer.in_shape[2]
        if not p:
            if self.step_cycles(layer, mults) == 1:
                return 0
            need = w + 4
        else:
            need = 2 * p * (w + 2 * p + 1)
        depth = 4
        while depth < need:
            depth *= 2
        return depth

    def check(self, layer, last: bool, where: str) -> None:
        super().check(layer, last, where)
        if layer.groups != 1 and not layer.groups == layer.in_shape[0] == layer.out_shape[0]:
            raise UnsupportedLayer(f"{where}: groups {layer.groups}: only depthwise (groups = C_IN = "
                                   "C_OUT) grouped convolutions have an RTL module")

    def params(self, layer, site: Site, acc_lane: str) -> list:
        l = layer
        weight_file, fold = self.mac_params(l, site)
        params = [("C_IN", vh(l, "C_IN")), ("C_OUT", vh(l, "C_OUT")), ("K", vh(l, "K")),
                  ("IMG_W", vh(l, "IMG_W")), ("IMG_H", vh(l, "IMG_H")),
                  ("STRIDE", vh(l, "STRIDE")), ("PAD", vh(l, "PAD")),
                  ("IN_SIGNED", vh(l, "IN_SIGNED")), ("IN_W", "8"), ("W_W", "8"),
                  ("ACC_W", vh(l, "ACC_W")), ("BIAS_W", vh(l, "BIAS_W")),
                  *weight_file, ("BIAS_FILE", site.file("bias"))]
        if l.groups != 1:
            params.append(("DEPTHWISE", vh(l, "DEPTHWISE")))
        return params + fold
