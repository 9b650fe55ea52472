"""dense: rtl/dense.v (MULTS) + requant, or, the last layer, the int32 logits."""
from __future__ import annotations

import numpy as np

from .. import golden
from .base import MacOp
from .verilog import Site, vh


class Dense(MacOp):
    type = "dense"
    per = "input beat"

    def accumulate(self, layer, x):
        return golden.dense_acc(x.reshape(x.shape[0], -1), layer.weight, layer.bias)[:, :, None, None]

    def accumulate_reference(self, layer, x):
        from ..torch_ref import exact, F, tensor, torch
        acc = F.linear(torch.flatten(x, 1).double(), tensor(layer.weight), tensor(layer.bias))
        return exact(acc)[:, :, None, None]

    def products(self, layer) -> int:
        """OUT*C per input beat."""
        return layer.out_shape[0] * layer.in_shape[0]

    def cycles(self, layer, mults: int | None) -> int:
        """N_BEATS*T: T cycles per input beat."""
        _, h, w = layer.in_shape
        return h * w * self.step_cycles(layer, mults)

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
