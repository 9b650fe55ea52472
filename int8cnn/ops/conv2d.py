"""conv2d (depthwise for groups = C): rtl/conv2d.v (PAD, STRIDE, DEPTHWISE, MULTS) + requant."""
from __future__ import annotations

import numpy as np

from .. import golden, memfile
from ..memfile import read_values
from .base import MacOp, UnsupportedLayer, WindowOp, mac_bounds
from .verilog import Site, vh


class Conv2d(MacOp, WindowOp):
    type = "conv2d"
    per = "window"

    # ------------------------------------------------------------------ export and load
    def product_weights(self, layer) -> np.ndarray:
        """One set (every window), product n = L*C_OUT + oc, L = (ky*K+kx)*C_IN + ic (output channel
        innermost), weight w[oc][ic][ky][kx]; depthwise (groups = C): n = L, weight w[L % C][0][ky][kx]."""
        w = np.asarray(layer.weight)
        if layer.groups != 1:                               # [C,1,K,K] -> [ky][kx][c]
            return w[:, 0].transpose(1, 2, 0).reshape(1, -1)
        return w.transpose(2, 3, 1, 0).reshape(1, -1)       # [ky][kx][ic][oc]

    def vh_params(self, layer, qnet) -> list:
        return (self.window_vh(layer) + self.mac_vh(layer)
                + ([("DEPTHWISE", 1)] if layer.groups != 1 else []) + self.requant_vh(layer))

    def write_weights(self, layer, path) -> None:
        memfile.write_mem(path, [int(v) & 0xFF for v in layer.weight.reshape(-1)], 2)

    def read_weights(self, layer, path) -> np.ndarray:
        oc, cg, k = layer.out_shape[0], layer.in_shape[0] // layer.groups, layer.kernel
        return read_values(path, 8, oc * cg * k * k, True, -128, 127).reshape(oc, cg, k, k)

    def groups_ok(self, groups, in_shape, out_shape) -> bool:
        """1, or depthwise: C_IN = C_OUT groups."""
        return groups == 1 or groups == in_shape[0] == out_shape[0]

    def out_channels(self, d, c) -> int:
        return d["out_shape"][0]

    # ------------------------------------------------------------------ execution
    def bounds(self, layer, srcs):
        lo, hi = srcs[0]
        if layer.padding:
            lo, hi = np.minimum(lo, 0), np.maximum(hi, 0)
        if layer.groups > 1:   # depthwise: output channel c reads input channel c only
            lo_in, hi_in = lo[:, None, None, None], hi[:, None, None, None]
        else:
            lo_in, hi_in = lo[None, :, None, None], hi[None, :, None, None]
        return mac_bounds(layer.weight, layer.bias, lo_in, hi_in)

    def extremes(self, layer) -> dict:
        """first_conv_max / first_conv_min: each output channel at its largest / smallest
        accumulator, a patch of 255s where the channel's weights are positive / negative, one
        patch per channel on a window the convolution computes ({} when they do not fit)."""
        k, s, p = layer.kernel, layer.stride, layer.padding
        starts, nxt = [], 0       # window origins in the image, no padding, not overlapping
        for o in range(layer.out_shape[1]):
            t = o * s - p
            if t >= nxt and t + k <= 28:
                starts.append(t)
                nxt = t + k
        slots = [(r, c) for r in starts for c in starts]
        w = layer.weight[:, 0]
        if len(slots) < len(w):
            return {}
        res = {}
        for name, sign in (("first_conv_max", 1), ("first_conv_min", -1)):
            img = np.zeros((28, 28), np.uint8)
            for ch, (r, c) in enumerate(slots[:len(w)]):
                img[r:r + k, c:c + k] = np.where(sign * w[ch] > 0, 255, 0)
            res[name] = img
        return res

    def accumulate(self, layer, x):
        return golden.conv2d_acc(x, layer.weight, layer.bias, layer.stride, layer.padding, layer.groups)

    def accumulate_reference(self, layer, x):
        from ..torch_ref import exact, F, tensor
        return exact(F.conv2d(x.double(), tensor(layer.weight), tensor(layer.bias), layer.stride,
                              layer.padding, groups=layer.groups))

    # ------------------------------------------------------------------ hardware model
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
