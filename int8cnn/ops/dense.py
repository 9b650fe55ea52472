"""dense: rtl/dense.v (MULTS) + requant, or, the last layer, the int32 logits."""
from __future__ import annotations

import numpy as np

from .. import golden, memfile
from ..memfile import pack_lanes, read_words
from .base import MacOp, mac_bounds
from .verilog import Site, vh


def dense_words(weight: np.ndarray, in_shape) -> list[int]:
    """Dense weights in RTL address order: word p holds lane o*C+c = weight[o][c*H*W + p]."""
    c, h, w = in_shape
    out = weight.shape[0]
    wr = weight.reshape(out, c, h * w)                 # [o][c][p]
    return [pack_lanes(wr[:, :, p].reshape(-1), 8) for p in range(h * w)]


class Dense(MacOp):
    type = "dense"
    per = "input beat"

    # ------------------------------------------------------------------ export and load
    def product_weights(self, layer) -> np.ndarray:
        """Set p = input beat p, product n = c*OUT + o, weight W[o][c*H*W + p]."""
        w = np.asarray(layer.weight)
        c, h, wd = layer.in_shape
        return w.reshape(w.shape[0], c, h * wd).transpose(2, 1, 0).reshape(h * wd, -1)  # [p][c][o]

    def requant_fields(self, layer) -> dict:
        """The last layer's int32 logits say so; a hidden dense layer requantizes."""
        if layer.mult is None:
            return dict(output="logits", out_lane_bits=32)
        return super().requant_fields(layer)

    def vh_params(self, layer, qnet) -> list:
        _, h, w = layer.in_shape
        return [("N_BEATS", h * w)] + self.mac_vh(layer) + self.requant_vh(layer)

    def write_weights(self, layer, path) -> None:
        memfile.write_mem(path, dense_words(layer.weight, layer.in_shape), 2 * layer.out_shape[0] * layer.in_shape[0])

    def read_weights(self, layer, path) -> np.ndarray:
        oc, (c, h, w) = layer.out_shape[0], layer.in_shape
        words = read_words(path, 2 * oc * c, h * w)
        wt = np.zeros((oc, c, h * w), dtype=np.int64)
        for p, word in enumerate(words):
            v = np.array([(word >> (8 * j)) & 0xFF for j in range(oc * c)], dtype=np.int64)
            wt[:, :, p] = np.where(v > 127, v - 256, v).reshape(oc, c)
        return wt.reshape(oc, c * h * w)

    def expected_out_shape(self, d, shape, rd) -> list:
        return [d["out_shape"][0], 1, 1]

    # ------------------------------------------------------------------ execution
    def bounds(self, layer, srcs):
        lo, hi = srcs[0]
        per = int(np.prod(layer.in_shape[1:]))
        return mac_bounds(layer.weight, layer.bias, np.repeat(lo, per)[None], np.repeat(hi, per)[None])

    def accumulate(self, layer, x):
        return golden.dense_acc(x.reshape(x.shape[0], -1), layer.weight, layer.bias)[:, :, None, None]

    def accumulate_reference(self, layer, x):
        from ..torch_ref import exact, F, tensor, torch
        acc = F.linear(torch.flatten(x, 1).double(), tensor(layer.weight), tensor(layer.bias))
        return exact(acc)[:, :, None, None]

    # ------------------------------------------------------------------ hardware model
    def products(self, layer) -> int:
        """OUT*C per input beat."""
        return layer.out_shape[0] * layer.in_shape[0]

    def cycles(self, layer, mults: int | None) -> int:
        """N_BEATS*T: T cycles per input beat."""
        _, h, w = layer.in_shape
        return h * w * self.step_cycles(layer, mults)

    def beat_interval(self, layer, mults: int | None) -> int:
        """One output beat per vector: its cycles (N_BEATS*T)."""
        return self.cycles(layer, mults)

    def needs(self, layer):
        """Its one output beat waits for the whole image."""
        _, h, w = layer.in_shape
        return np.array([h * w - 1])

    def params(self, layer, site: Site, acc_lane: str) -> list:
        l = layer
        weight_file, fold = self.mac_params(l, site)
        return [("C", vh(l, "C_IN")), ("N_BEATS", vh(l, "N_BEATS")), ("OUT", vh(l, "C_OUT")),
                ("IN_SIGNED", vh(l, "IN_SIGNED")), ("IN_W", "8"), ("W_W", "8"),
                ("ACC_W", vh(l, "ACC_W")), ("BIAS_W", vh(l, "BIAS_W")), ("OUT_W", acc_lane),
                *weight_file, ("BIAS_FILE", site.file("bias")), *fold]
