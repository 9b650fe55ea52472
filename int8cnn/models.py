"""PyTorch model zoo (which network uses which class: int8cnn.networks). Every network here is
expressible in the layer set of docs/quantization.md.

  default : Conv2d(1->3, k7) -> MaxPool2d(2) -> ReLU -> Flatten -> Linear(363->10)  (seed 001)
  small16 : Conv2d(1->8, k3, pad1) -> ReLU -> MaxPool2d(2) -> Conv2d(8->16, k3, pad1) -> ReLU
            -> MaxPool2d(2) -> Flatten -> Linear(784->10)
  seed000 : Conv2d(1->32, k3, pad1) -> ReLU -> MaxPool2d(2) -> Conv2d(32->64, k3, pad1) -> ReLU
            -> MaxPool2d(2) -> Flatten -> Linear(3136->10)                            (seed 000)
  default_fashion : the default topology trained on Fashion-MNIST
  seed003_fashion : the seed003 (ResNet-style) topology trained on Fashion-MNIST
  seed002 : Conv2d(1->8, k3, pad1) -> ReLU -> Conv2d(8->16, k3, pad1) -> SELU -> MaxPool2d(2)
            -> Conv2d(16->32, k3, pad1) -> GELU -> global average pool -> Linear(32->10)  (seed 002)
  seed003 : ResNet-style (seed 003): stem Conv2d(1->8, k3, pad1) -> ReLU -> MaxPool2d(2), then two
            BasicBlocks relu(conv3x3 -> ReLU -> conv3x3 + skip) (8->8 identity skip; 8->16 with a
            1x1 conv on the skip), AvgPool2d(2), Linear(784->32) -> ReLU -> Linear(32->10)
  seed004 : MobileNetV2-style (seed 004), BatchNorm after every conv (folded into the conv for
            quantization): stem Conv2d(1->16, k3, stride 2, pad1) -> ReLU6, two
            inverted-residual blocks (1x1 expand -> ReLU6 -> depthwise 3x3 -> ReLU6 -> 1x1 project;
            16->16 stride 1 with the residual add, 16->24 stride 2 without), global average pool,
            Linear(24->10)

Each network class's plan() (called by layer_plan()) flattens the model into the quantizer's layer kinds: conv2d, dense, maxpool2d,
avgpool2d (global average pooling is avgpool2d with the kernel = the image), act (an
activation other than ReLU, run through a lookup table; the plan entry's module is its name) and
add (a residual add, module None). A plan entry may carry a 4th element: the plan indices of its
inputs (-1: the image); without it an entry reads the entry before it.
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

    def plan(self):
        return [("conv2d", self.conv1, True), ("maxpool2d", self.pool1, False),
                ("dense", self.fc1, False)]


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

    def plan(self):
        return [("conv2d", self.conv1, True), ("maxpool2d", self.pool1, False),
                ("conv2d", self.conv2, True), ("maxpool2d", self.pool2, False),
                ("dense", self.fc1, False)]


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

    def plan(self):
        return [("conv2d", self.conv1, True), ("conv2d", self.conv2, False), ("act", "selu", False),
                ("maxpool2d", self.pool1, False), ("conv2d", self.conv3, False),
                ("act", "gelu", False), ("avgpool2d", self.gap, False), ("dense", self.fc1, False)]


class BasicBlock(nn.Module):
    """relu(conv3x3 -> ReLU -> conv3x3 + skip); skip = x, or a 1x1 conv when channels change."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(c_out, c_out, kernel_size=3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, kernel_size=1) if c_in != c_out else None

    def forward(self, x):
        y = self.conv2(torch.relu(self.conv1(x)))
        return torch.relu(y + (x if self.skip is None else self.skip(x)))

    def plan(self, x_index: int, first: int):
        """Plan entries of this block, the block input being plan entry x_index and this block's
        first entry landing at plan index `first`."""
        p = [("conv2d", self.conv1, True, (x_index,)), ("conv2d", self.conv2, False)]
        main = first + 1
        skip = x_index
        if self.skip is not None:
            p.append(("conv2d", self.skip, False, (x_index,)))
            skip = first + 2
        p.append(("add", None, True, (main, skip)))
        return p


class ConvBN(nn.Sequential):
    """Conv2d followed by BatchNorm2d (trained together; folded into one conv for quantization)."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1):
        super().__init__(nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, groups=groups),
                         nn.BatchNorm2d(c_out))

    def folded(self) -> nn.Conv2d:
        """The eval-mode conv+BN as one Conv2d: w' = w*g/sqrt(var+eps), b' = (b-mean)*g/sqrt(var+eps)+beta."""
        conv, bn = self[0], self[1]
        out = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                        conv.padding, groups=conv.groups)
        with torch.no_grad():
            g = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            out.weight.copy_(conv.weight * g.view(-1, 1, 1, 1))
            out.bias.copy_((conv.bias - bn.running_mean) * g + bn.bias)
        return out


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand -> ReLU6 -> depthwise 3x3 (stride) -> ReLU6 -> 1x1 project
    (each conv with BatchNorm), plus the input when the shapes match (stride 1, c_in == c_out)."""

    def __init__(self, c_in: int, c_out: int, expand: int, stride: int):
        super().__init__()
        hidden = c_in * expand
        self.expand = ConvBN(c_in, hidden, 1)
        self.dw = ConvBN(hidden, hidden, 3, stride=stride, groups=hidden)
        self.project = ConvBN(hidden, c_out, 1)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x):
        y = self.project(F.relu6(self.dw(F.relu6(self.expand(x)))))
        return x + y if self.residual else y

    def plan(self, x_index: int, first: int):
        p = [("conv2d", self.expand.folded(), "relu6", (x_index,)),
             ("conv2d", self.dw.folded(), "relu6"), ("conv2d", self.project.folded(), False)]
        if self.residual:
            p.append(("add", None, False, (first + 2, x_index)))
        return p


class MobileNetSmall(nn.Module):
    """The seed-004 topology: stem conv, two inverted-residual blocks, global average pool, FC."""

    def __init__(self):
        super().__init__()
        self.stem = ConvBN(1, 16, 3, stride=2)
        self.block1 = InvertedResidual(16, 16, expand=2, stride=1)
        self.block2 = InvertedResidual(16, 24, expand=2, stride=2)
        self.gap = nn.AvgPool2d(7)
        self.fc1 = nn.Linear(24, 10)

    def forward(self, x):
        x = self.block2(self.block1(F.relu6(self.stem(x))))
        return self.fc1(torch.flatten(self.gap(x), 1))

    def plan(self):
        plan = [("conv2d", self.stem.folded(), "relu6")]  # BatchNorm folded (eval mode)
        for block in (self.block1, self.block2):
            plan += block.plan(len(plan) - 1, len(plan))
        return plan + [("avgpool2d", self.gap, False), ("dense", self.fc1, False)]


class ResNetSmall(nn.Module):
    """The seed-003 topology: stem conv + max-pool, two BasicBlocks, average pool, 2-layer MLP."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 8, kernel_size=3, padding=1)
        self.pool1 = nn.MaxPool2d(2)
        self.block1 = BasicBlock(8, 8)
        self.block2 = BasicBlock(8, 16)
        self.pool2 = nn.AvgPool2d(2)
        self.fc1 = nn.Linear(16 * 7 * 7, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = self.pool1(torch.relu(self.stem(x)))
        x = self.pool2(self.block2(self.block1(x)))
        return self.fc2(torch.relu(self.fc1(torch.flatten(x, 1))))

    def plan(self):
        plan = [("conv2d", self.stem, True), ("maxpool2d", self.pool1, False)]
        for block in (self.block1, self.block2):
            plan += block.plan(len(plan) - 1, len(plan))
        return plan + [("avgpool2d", self.pool2, False), ("dense", self.fc1, True),
                       ("dense", self.fc2, False)]


def layer_plan(model: nn.Module):
    """The model as a flat list of (kind, module, relu_after[, inputs]) in execution order (kinds:
    the module docstring; relu_after is False, True or "relu6"): the model's own plan(). ReLU is
    attached to the preceding conv/dense (for conv -> pool -> relu it is moved before the pool:
    max-pooling commutes with ReLU)."""
    if not hasattr(model, "plan"):
        raise TypeError(f"no layer plan for {type(model).__name__}: a network's model class "
                        "needs a plan() method (int8cnn.models)")
    return model.plan()
