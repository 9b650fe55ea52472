"""PyTorch model zoo. Every network here is expressible in the layer set of docs/quantization.md.

  default : Conv2d(1->3, k7) -> MaxPool2d(2) -> ReLU -> Flatten -> Linear(363->10)  (seed 001)
  small16 : Conv2d(1->8, k3, pad1) -> ReLU -> MaxPool2d(2) -> Conv2d(8->16, k3, pad1) -> ReLU
            -> MaxPool2d(2) -> Flatten -> Linear(784->10)
  seed000 : Conv2d(1->32, k3, pad1) -> ReLU -> MaxPool2d(2) -> Conv2d(32->64, k3, pad1) -> ReLU
            -> MaxPool2d(2) -> Flatten -> Linear(3136->10)                            (seed 000)
  default_fashion : the default topology trained on Fashion-MNIST
  seed002 : Conv2d(1->8, k3, pad1) -> ReLU -> Conv2d(8->16, k3, pad1) -> SELU -> MaxPool2d(2)
            -> Conv2d(16->32, k3, pad1) -> GELU -> global average pool -> Linear(32->10)  (seed 002)

layer_plan() flattens a model into the quantizer's layer kinds: conv2d, dense, maxpool2d,
avgpool2d (global average pooling is avgpool2d with the kernel = the image) and act (an
activation other than ReLU, run through a lookup table; the plan entry's module is its name).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
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


class TwoConvNet(nn.Module):
    """Two padded 3x3 conv layers (c1 and c2 channels), each with ReLU and 2x2 max-pooling, then
    one linear layer: small16 (8, 16) and the seed-000 topology (32, 64)."""

    def __init__(self, c1: int, c2: int):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, kernel_size=3, padding=1)
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(c1, c2, kernel_size=3, padding=1)
        self.pool2 = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(c2 * 7 * 7, 10)

    def forward(self, x):
        x = self.pool1(torch.relu(self.conv1(x)))
        x = self.pool2(torch.relu(self.conv2(x)))
        return self.fc1(torch.flatten(x, 1))


class Seed002Net(nn.Module):
    """The seed-002 topology: ReLU, SELU and GELU activations and a global average pool."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, kernel_size=3, padding=1)
        self.pool1 = nn.MaxPool2d(2)
        self.conv3 = nn.Conv2d(16, 32, kernel_size=3, padding=1)
        self.gap = nn.AvgPool2d(14)
        self.fc1 = nn.Linear(32, 10)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = self.pool1(F.selu(self.conv2(x)))
        x = self.gap(F.gelu(self.conv3(x)))
        return self.fc1(torch.flatten(x, 1))


MODELS = {"default": DefaultNet, "small16": lambda: TwoConvNet(8, 16),
          "seed000": lambda: TwoConvNet(32, 64), "seed002": Seed002Net,
          "default_fashion": DefaultNet}
# (the dataset each network is trained on: int8cnn.data.NET_DATASETS)


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
    if isinstance(model, TwoConvNet):
        return [("conv2d", model.conv1, True), ("maxpool2d", model.pool1, False),
                ("conv2d", model.conv2, True), ("maxpool2d", model.pool2, False),
                ("dense", model.fc1, False)]
    if isinstance(model, Seed002Net):
        return [("conv2d", model.conv1, True), ("conv2d", model.conv2, False), ("act", "selu", False),
                ("maxpool2d", model.pool1, False), ("conv2d", model.conv3, False),
                ("act", "gelu", False), ("avgpool2d", model.gap, False), ("dense", model.fc1, False)]
    raise TypeError(f"no layer plan for {type(model).__name__}")
