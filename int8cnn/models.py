"""PyTorch model zoo. Every network here is expressible in the layer set of docs/quantization.md.

  default : Conv2d(1->3, k7) -> MaxPool2d(2) -> ReLU -> Flatten -> Linear(363->10)  (seed 001)
  small16 : Conv2d(1->8, k3, pad1) -> ReLU -> MaxPool2d(2) -> Conv2d(8->16, k3, pad1) -> ReLU
            -> MaxPool2d(2) -> Flatten -> Linear(784->10)
"""
from __future__ import annotations

import torch
from torch import nn


class DefaultNet(nn.Module):
    """The seed-001 topology."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 3, kernel_size=7)
        self.pool1 = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(3 * 11 * 11, 10)

    def forward(self, x):
        x = torch.relu(self.pool1(self.conv1(x)))
        return self.fc1(torch.flatten(x, 1))


class Small16Net(nn.Module):
    """A stronger small network (conv3x3x8 pad1 -> pool -> conv3x3x16 pad1 -> pool -> FC)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, kernel_size=3, padding=1)
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, kernel_size=3, padding=1)
        self.pool2 = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(16 * 7 * 7, 10)

    def forward(self, x):
        x = self.pool1(torch.relu(self.conv1(x)))
        x = self.pool2(torch.relu(self.conv2(x)))
        return self.fc1(torch.flatten(x, 1))


MODELS = {"default": DefaultNet, "small16": Small16Net}


def build(name: str) -> nn.Module:
    if name not in MODELS:
        raise KeyError(f"unknown network {name!r}; known: {', '.join(MODELS)}")
    return MODELS[name]()


def layer_plan(model: nn.Module):
    """The model as a flat list of (kind, module, relu_after) in execution order, where kind is
    conv2d, maxpool2d or dense. ReLU is attached to the preceding conv/dense (for conv -> pool ->
    relu it is moved before the pool: max-pooling commutes with ReLU)."""
    if isinstance(model, DefaultNet):
        return [("conv2d", model.conv1, True), ("maxpool2d", model.pool1, False),
                ("dense", model.fc1, False)]
    if isinstance(model, Small16Net):
        return [("conv2d", model.conv1, True), ("maxpool2d", model.pool1, False),
                ("conv2d", model.conv2, True), ("maxpool2d", model.pool2, False),
                ("dense", model.fc1, False)]
    raise TypeError(f"no layer plan for {type(model).__name__}")
