"""maxpool2d (rtl/maxpool2d.v) and avgpool2d (rtl/avgpool2d.v window sums + requant; global average
pooling: K = the image). Unpadded windows only; average pooling non-overlapping."""
from __future__ import annotations

from .. import golden
from ..qnet import sum_bits_for
from .base import AccumulatingOp, UnsupportedLayer, WindowOp
from .verilog import Site, inst, layer_wires, vh


def _unpadded(layer, where: str) -> None:
    if layer.padding:
        raise UnsupportedLayer(f"{where}: padded pooling is not supported")


def _pool_params(layer) -> list:
    return [("C", vh(layer, "C_IN")), ("DATA_W", "8"), ("IN_SIGNED", vh(layer, "IN_SIGNED")),
            ("IMG_W", vh(layer, "IMG_W")), ("IMG_H", vh(layer, "IMG_H")), ("K", vh(layer, "K")),
            ("STRIDE", vh(layer, "STRIDE"))]


class MaxPool2d(WindowOp):
    type = "maxpool2d"

    def execute(self, layer, x, b, lo, hi):
        return golden.maxpool2d(x, layer.kernel, layer.stride)

    def reference(self, layer, x, b):
        from ..torch_ref import F
        return F.max_pool2d(x.double(), layer.kernel, layer.stride).round().long()

    def check(self, layer, last: bool, where: str) -> None:
        _unpadded(layer, where)
        super().check(layer, last, where)

    def instance(self, layer, site: Site) -> list[str]:
        return (layer_wires(layer)
                + inst("maxpool2d", _pool_params(layer), f"u_{layer.name}", site.ins[0], layer.name))


class AvgPool2d(AccumulatingOp, WindowOp):
    type = "avgpool2d"

    def manifest_fields(self, layer) -> dict:
        return {"acc_bits": int(layer.acc_bits), **self.requant_fields(layer)}

    def vh_params(self, layer, qnet) -> list:
        return self.window_vh(layer) + [("ACC_W", layer.acc_bits)] + self.requant_vh(layer)

    def load_fields(self, layer, d, files, rd) -> None:
        k, s = layer.kernel, layer.stride
        rd.need(s == k, f"average pooling needs stride == kernel, got {s} / {k}")
        rd.need(layer.padding == 0, f"average pooling has no padding, got {layer.padding}")
        rd.need("mult" in d, "missing field 'mult' (average pooling requantizes)")
        rd.need(type(d.get("acc_bits")) is int, "acc_bits must be an integer")
        layer.acc_bits = d["acc_bits"]
        need = sum_bits_for(k, layer.in_signed)
        rd.need(layer.acc_bits >= need, f"acc_bits {layer.acc_bits} too small: a {k}x{k} window sum needs {need}")

    def bounds(self, layer, srcs):
        lo, hi = srcs[0]
        return lo * layer.kernel ** 2, hi * layer.kernel ** 2

    def accumulate(self, layer, x):
        return golden.avgpool2d_acc(x, layer.kernel, layer.stride)

    def accumulate_reference(self, layer, x):
        """The window mean times K*K is the exact window sum."""
        from ..torch_ref import F
        area = layer.kernel * layer.kernel
        return (F.avg_pool2d(x.double(), layer.kernel, layer.stride) * area).round().long()

    def check(self, layer, last: bool, where: str) -> None:
        _unpadded(layer, where)
        if layer.stride != layer.kernel:
            raise UnsupportedLayer(f"{where}: average pooling needs stride == kernel "
                                   f"(non-overlapping windows), got {layer.stride} / {layer.kernel}")
        super().check(layer, last, where)

    def params(self, layer, site: Site, acc_lane: str) -> list:
        return _pool_params(layer) + [("SUM_W", vh(layer, "ACC_W"))]
