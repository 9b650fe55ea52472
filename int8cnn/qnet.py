"""The quantized network: integer tensors plus the per-layer numbers of docs/quantization.md.

`QLayer.to_manifest()` / `QLayer.from_manifest()` are the only translation between this in-memory
form and weights/<net>/manifest.json.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MULT_BITS = 16
SHIFT_MAX = 62


@dataclass
class QLayer:
    name: str
    type: str
    in_shape: list            # [C, H, W]
    out_shape: list           # [C, H, W]
    in_signed: bool
    out_signed: bool
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    groups: int = 1                    # conv2d: 1, or C (depthwise, rtl conv2d DEPTHWISE = 1)
    weight: np.ndarray | None = None   # conv [OC,IC,K,K], dense [OUT,IN] (int8)
    bias: np.ndarray | None = None     # int32 [OC]
    mult: np.ndarray | None = None     # [OC] (None: raw accumulators out, the logits)
    shift: np.ndarray | None = None    # [OC]
    clamp: list | None = None          # [lo, hi] of the output
    zero_point_in: int = 0
    zero_point_out: int = 0
    acc_bits: int = 0
    mult_bits: int = MULT_BITS
    scale_in: float = 1.0
    scale_w: list = field(default_factory=list)
    scale_out: float = 1.0
    relu: bool = False
    requant: str = "fixed"             # "pow2": shift-only requantization (M = 1, no multiplier)
    bias_bits: int = 32                # 16: int16 biases (saturated), rtl BIAS_W = 16
    activation: str | None = None      # act_lut: the float function the table was built from
    table: np.ndarray | None = None    # act_lut: int64 [256], output for input byte a
    # the layers this one reads, by name ("input": the image); None: the previous layer (the image
    # for the first). add: [a, b], with mult = [MA, MB] and shift = [S] (golden.eltwise_add)
    inputs: list | None = None
    # hardware only, not in the manifest: at most this many multipliers when folded (an FPGA
    # preset's per-layer fold, int8cnn.networks `fpga` layer_mults); None: the top's mults
    max_mults: int | None = None

    @property
    def emits_logits(self) -> bool:
        """The last layer's raw int32 accumulators (a dense layer without requantization)."""
        return self.type == "dense" and self.mult is None

    @property
    def lane_bits(self) -> int:
        """Bits per channel on this layer's output stream."""
        return 32 if self.emits_logits else 8


@dataclass
class QNet:
    name: str
    input_shape: list
    layers: list
    requant_mode: str = "fixed"
    meta: dict = field(default_factory=dict)

    def sources(self, layer: QLayer) -> list:
        """Names of the streams `layer` reads ("input" is the image), in port order."""
        if layer.inputs is not None:
            return list(layer.inputs)
        i = next(k for k, l in enumerate(self.layers) if l is layer)
        return [self.layers[i - 1].name if i else "input"]

    def consumers(self, name: str) -> list:
        """The layers reading stream `name` ("input": the image), in layer order."""
        return [l for l in self.layers if name in self.sources(l)]

    def layer(self, name: str) -> QLayer:
        for l in self.layers:
            if l.name == name:
                return l
        raise KeyError(name)


def acc_bits_for(weight: np.ndarray, bias: np.ndarray, in_signed: bool) -> int:
    """Smallest two's-complement width holding +-max_c(|b[c]| + sum|w[c]| * max|x|)."""
    xmax = 128 if in_signed else 255
    w = np.abs(weight.reshape(weight.shape[0], -1).astype(np.int64))
    bound = int((w.sum(axis=1) * xmax + np.abs(bias.astype(np.int64))).max())
    return bound.bit_length() + 1


def sum_bits_for(kernel: int, in_signed: bool) -> int:
    """Two's-complement width of a K x K window sum of int8 (uint8) values (avgpool2d)."""
    return (kernel * kernel * (128 if in_signed else 255)).bit_length() + 1


def fixed_multiplier(m: float, mult_bits: int = MULT_BITS) -> tuple[int, int]:
    """(M, S) with 2^(mult_bits-2) <= M < 2^(mult_bits-1) and M / 2^S ~= m."""
    if not m > 0:
        raise ValueError(f"requantization multiplier must be positive, got {m}")
    top = mult_bits - 2
    e = int(np.floor(np.log2(m)))
    s = top - e
    if s > SHIFT_MAX:
        s = SHIFT_MAX
    if s < 0:
        raise ValueError(f"requantization multiplier {m} too large for {mult_bits}-bit M")
    mq = int(round(m * 2.0 ** s))
    if mq >= 1 << (mult_bits - 1):
        mq //= 2
        s -= 1
    return mq, s


def pow2_multiplier(m: float) -> tuple[int, int]:
    """(1, S) with 2^-S ~= m (shift only)."""
    s = int(np.clip(round(-np.log2(m)), 0, SHIFT_MAX))
    return 1, s
