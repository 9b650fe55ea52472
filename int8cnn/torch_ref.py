"""A second, independent integer implementation of the quantized network, in PyTorch tensor ops.

It shares nothing with golden.py but the QNet tensors: convolution and dense layers run as float64
tensor ops (exact: every product and partial sum is an integer below 2^53), requantization uses
torch floor division instead of shifts, clamping uses torch.clamp, pooling uses F.max_pool2d / F.avg_pool2d, lookup tables a gather.
Each layer type's tensor ops are in its op (int8cnn.ops, `reference`), built from the helpers
here; int8cnn.inference.run_network_torch runs a network with them. Used by tests/test_golden.py to
cross-check golden.py bit for bit.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def tensor(a) -> torch.Tensor:
    """An integer array as a float64 tensor (exact below 2^53)."""
    return torch.as_tensor(np.asarray(a), dtype=torch.float64)


def exact(acc: torch.Tensor) -> torch.Tensor:
    """float64 accumulators back to int64; every one must be an exact integer below 2^52."""
    assert acc.abs().max() < 2 ** 52
    return acc.round().long()


def requant(acc: torch.Tensor, layer) -> torch.Tensor:
    """Requantization by floor division instead of shifts, and torch.clamp."""
    m = torch.tensor(np.asarray(layer.mult), dtype=torch.int64).view(1, -1, 1, 1)
    s = torch.tensor(np.asarray(layer.shift), dtype=torch.int64).view(1, -1, 1, 1)
    div = torch.pow(torch.full_like(s, 2), s)
    half = torch.div(div, 2, rounding_mode="floor")           # 2^(S-1), 0 when S == 0
    y = torch.div(acc * m + half, div, rounding_mode="floor") + int(layer.zero_point_out)
    return torch.clamp(y, int(layer.clamp[0]), int(layer.clamp[1]))


def argmax(logits: torch.Tensor) -> np.ndarray:
    """The first index of the largest logit of each row."""
    logits = logits.flatten(1)
    best = logits.max(dim=1, keepdim=True).values
    idx = torch.arange(logits.shape[1]).expand_as(logits)
    return torch.where(logits == best, idx, logits.shape[1]).min(dim=1).values.numpy()


__all__ = ["F", "argmax", "exact", "requant", "tensor", "torch"]
