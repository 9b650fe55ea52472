"""A second, independent integer implementation of the quantized network, in PyTorch tensor ops.

It shares nothing with golden.py but the QNet tensors: convolution and dense layers run as float64
tensor ops (exact: every product and partial sum is an integer below 2^53), requantization uses
torch floor division instead of shifts, clamping uses torch.clamp, pooling uses F.max_pool2d / F.avg_pool2d, lookup tables a gather.
Used by tests/test_golden.py to cross-check golden.py bit for bit.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def _requant(acc: torch.Tensor, layer) -> torch.Tensor:
    m = torch.tensor(np.asarray(layer.mult), dtype=torch.int64).view(1, -1, 1, 1)
    s = torch.tensor(np.asarray(layer.shift), dtype=torch.int64).view(1, -1, 1, 1)
    div = torch.pow(torch.full_like(s, 2), s)
    half = torch.div(div, 2, rounding_mode="floor")           # 2^(S-1), 0 when S == 0
    y = torch.div(acc * m + half, div, rounding_mode="floor") + int(layer.zero_point_out)
    return torch.clamp(y, int(layer.clamp[0]), int(layer.clamp[1]))


@torch.no_grad()
def run_network_torch(qnet, images) -> tuple[dict, np.ndarray]:
    x = torch.as_tensor(np.asarray(images), dtype=torch.int64)
    if x.dim() == 3:
        x = x.unsqueeze(1)
    outs = {"input": x}
    for layer in qnet.layers:
        x, *rest = (outs[s] for s in qnet.sources(layer))
        if layer.type == "add":  # each branch times its multiplier, floor division for the shift
            ma, mb = (int(v) for v in layer.mult)
            div = 2 ** int(layer.shift[0])
            y = torch.div(x * ma + rest[0] * mb + div // 2, div, rounding_mode="floor")
            x = torch.clamp(y + int(layer.zero_point_out), int(layer.clamp[0]), int(layer.clamp[1]))
        elif layer.type == "maxpool2d":
            x = F.max_pool2d(x.double(), layer.kernel, layer.stride).round().long()
        elif layer.type == "act_lut":  # table lookup by the input byte, as a gather
            table = torch.as_tensor(np.asarray(layer.table), dtype=torch.int64)
            x = table[torch.remainder(x, 256)]
        elif layer.type == "avgpool2d":  # the window mean times K*K is the exact window sum
            area = layer.kernel * layer.kernel
            acc = (F.avg_pool2d(x.double(), layer.kernel, layer.stride) * area).round().long()
            x = _requant(acc, layer)
        else:
            w = torch.as_tensor(np.asarray(layer.weight), dtype=torch.float64)
            b = torch.as_tensor(np.asarray(layer.bias), dtype=torch.float64)
            if layer.type == "conv2d":
                acc = F.conv2d(x.double(), w, b, layer.stride, layer.padding, groups=layer.groups)
            else:
                acc = F.linear(torch.flatten(x, 1).double(), w, b)[:, :, None, None]
            assert acc.abs().max() < 2 ** 52
            acc = acc.round().long()
            x = acc if layer.mult is None else _requant(acc, layer)
        outs[layer.name] = x
    del outs["input"]
    outs = {k: v.numpy() for k, v in outs.items()}
    logits = x.flatten(1)
    best = logits.max(dim=1, keepdim=True).values
    idx = torch.arange(logits.shape[1]).expand_as(logits)
    pred = torch.where(logits == best, idx, logits.shape[1]).min(dim=1).values
    return outs, pred.numpy()
