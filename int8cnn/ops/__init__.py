"""One op per layer type (FINN's custom ops, hls4ml's layer classes, in this project's plain
style): each owns its hardware model (products, fold, cycles per image, what each output beat
waits for), the checks of what its RTL module can build, and its instance text in the generated
top. int8cnn.hardware asks them for the network's numbers, int8cnn.generate for the Verilog.

    conv2d.py   conv2d (depthwise for groups = C) + requant
    dense.py    dense + requant, or the last layer's int32 logits
    pool.py     maxpool2d; avgpool2d + requant
    act_lut.py  act_lut (256-entry table)
    add.py      eltwise_add (residual blocks)

Adding a layer type: a subclass of base.Op (or WindowOp / AccumulatingOp / MacOp) in a module
here, listed in OPS (docs/extending.md)."""
from __future__ import annotations

from .act_lut import ActLut
from .add import Add
from .base import Op, UnsupportedLayer, fold_cycles
from .conv2d import Conv2d
from .dense import Dense
from .pool import AvgPool2d, MaxPool2d

OPS: dict[str, Op] = {op.type: op for op in (Conv2d(), MaxPool2d(), AvgPool2d(), ActLut(), Add(), Dense())}

__all__ = ["OPS", "Op", "UnsupportedLayer", "fold_cycles", "op_for"]


def op_for(layer) -> Op:
    """The op of `layer.type`; UnsupportedLayer naming the layer when no RTL module builds it."""
    try:
        return OPS[layer.type]
    except KeyError:
        raise UnsupportedLayer(f"layer {layer.name} ({layer.type}): no RTL module for layer type "
                               f"{layer.type!r}") from None
