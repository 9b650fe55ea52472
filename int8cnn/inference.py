"""Run a quantized network (int8cnn.qnet.QNet) layer by layer, each layer by its op
(int8cnn.ops): the golden model (run_layer, run_network: integer numpy, int8cnn.golden) and the
independent PyTorch implementation (run_network_torch: int8cnn.torch_ref, tests/test_golden.py
compares the two bit for bit)."""
from __future__ import annotations

import numpy as np

from .golden import UNCLAMPED, argmax
from .ops import op_for


def run_layer(layer, x: np.ndarray, b: np.ndarray | None = None,
              clamp: bool = True) -> np.ndarray:
    """One quantized layer (int8cnn.qnet.QLayer) on a batch [N,C,H,W] -> [N,C',H',W'];
    an add layer also takes its second input `b`. clamp=False: a requantizing layer's values
    before its clamp (the output is np.clip of them to layer.clamp; saturation coverage)."""
    lo, hi = layer.clamp if clamp and layer.mult is not None else UNCLAMPED
    return op_for(layer).execute(layer, x, b, lo, hi)


def run_network(qnet, images, chunk: int = 2000) -> tuple[dict, np.ndarray]:
    """Run every layer on uint8 images [N,28,28] (or [N,1,28,28]), in layer order, each on the
    outputs of its sources (QNet.sources: the previous layer, or named layers in a graph).

    Returns ({layer name: int64 output [N,C,H,W]}, predicted classes [N])."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[:, None]
    outs: dict = {l.name: [] for l in qnet.layers}
    for i in range(0, len(images), chunk):
        cur = {"input": images[i:i + chunk].astype(np.int64)}
        for layer in qnet.layers:
            cur[layer.name] = run_layer(layer, *(cur[s] for s in qnet.sources(layer)))
            outs[layer.name].append(cur[layer.name])
    outs = {k: np.concatenate(v) for k, v in outs.items()}
    logits = outs[qnet.layers[-1].name].reshape(len(images), -1)
    return outs, argmax(logits)


def run_network_torch(qnet, images) -> tuple[dict, np.ndarray]:
    """run_network in PyTorch tensor ops (each op's `reference`): ({layer: output}, classes)."""
    from . import torch_ref
    torch = torch_ref.torch
    with torch.no_grad():
        x = torch.as_tensor(np.asarray(images), dtype=torch.int64)
        if x.dim() == 3:
            x = x.unsqueeze(1)
        outs = {"input": x}
        for layer in qnet.layers:
            x, *rest = (outs[s] for s in qnet.sources(layer))
            outs[layer.name] = x = op_for(layer).reference(layer, x, rest[0] if rest else None)
        del outs["input"]
        return {k: v.numpy() for k, v in outs.items()}, torch_ref.argmax(x)
