"""The network registry: everything the project knows about a network, in one entry.

Adding a network is one `Network(...)` line below plus its model class in int8cnn.models (with a
`plan()` method, see int8cnn.models.layer_plan). Everything else (training, export, the golden
set, the generated top, the tests) reads the entry. docs/extending.md walks through it.

Fields:
  model, model_args  the int8cnn.models class that builds the float model, and its arguments
  dataset            what it is trained, calibrated and evaluated on: "mnist" or "fashion"
  train              int8cnn.train.train keywords: epochs, peak learning rate of the one-cycle
                     schedule, the random affine augmentation (rotation +-rot degrees, scale
                     1+-scale, shift +-shift px, default 2), AdamW weight decay
  qat                int8cnn.qat.qat keywords of the quantization-aware fine-tuning after training
                     (`int8cnn qat`); None: exported from the float weights
  export             int8cnn.quantize.quantize options it is committed with: requant ("fixed":
                     16-bit multiplier + shift; "pow2_exact": shift only) and bias_bits (32 or 16)
  mults              the fold of its committed generated top (None: fully parallel)
  extra_folds        further folds whose generated tops are committed (rtl/generated/
                     cnn_<net>_m<mults>.v; tests/test_generate.py checks them for drift)
  icarus_stress      tb/test_int8cnn_top.py runs its stall patterns on Icarus too (a residual
                     network with a small II)
  stall_points       `make test` runs it with a stall point on every internal stream (the nightly
                     regression runs every network)
  fpga               per iCE40 device, the configuration `int8cnn fpga build` (`make fpga`) uses
                     when none is given: mults, wrap (the narrow-I/O wrapper), dsp (0, 1, requant)

This module imports nothing at load time (no torch), so the hardware side can ask it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

MNIST_AUG = dict(rot=10.0, scale=0.1)


@dataclass(frozen=True)
class Network:
    name: str
    model: str
    model_args: tuple = ()
    dataset: str = "mnist"
    train: dict = field(default_factory=dict)
    qat: dict | None = None
    export: dict = field(default_factory=lambda: dict(requant="fixed", bias_bits=32))
    mults: int | None = None
    extra_folds: tuple = ()
    icarus_stress: bool = False
    stall_points: bool = False
    fpga: dict | None = None

    def build(self):
        """A fresh float model (torch)."""
        from . import models
        return getattr(models, self.model)(*self.model_args)


# Folded tops: a fully parallel top is impractical for these. seed000's conv2 alone has 18,432
# products per window; seed002's 5,832 parallel multipliers make an 83 MB Verilator C++ model that
# takes longer to compile than the whole regression runs. seed004 is exported as seed-004-style
# parameters for hardware that loads a memory image: int16 biases and shift-only requantization
# whose power-of-two exponents are exact (every <layer>_mult.mem entry is 1). default_fashion: no
# QAT epoch of 6 beat its float checkpoint's int8 validation accuracy. `make test` runs the stall
# points on one network of each structure: unfolded; act_lut + average pool; residual adds;
# depthwise + stride 2. Only seed004 of the residual networks is stressed on Icarus (the smallest
# II; seed003's stall patterns would take over half an hour of Icarus time). The default network's
# FPGA presets are the builds that fit (docs/performance.md): the UP5K folded to 6 multipliers for
# conv1 and 1 for fc1 (3,630 MACs: it keeps up with conv1's II on one), every multiplier on a
# combinational SB_MAC16 (its 8 DSPs: 6 + 1 MACs and the two-pass serial requant on 1), the HX8K
# (no DSPs) conv1 on 9 and fc1 on 1 multipliers.
NETWORKS = {n.name: n for n in (
    Network("default", "DefaultNet", train=dict(epochs=60, lr=1e-2, **MNIST_AUG),
            qat=dict(epochs=3, lr=2e-4), extra_folds=(8,), stall_points=True,
            fpga=dict(up5k=dict(mults=6, wrap=True, dsp="comb", layer_mults={"fc1": 1}),
                      hx8k=dict(mults=9, wrap=True, dsp="0", layer_mults={"fc1": 1}))),
    Network("small16", "TwoConvNet", (8, 16), train=dict(epochs=30, lr=5e-3, **MNIST_AUG)),
    Network("seed000", "TwoConvNet", (32, 64), train=dict(epochs=20, lr=3e-3, **MNIST_AUG),
            mults=64),
    Network("seed002", "Seed002Net", train=dict(epochs=40, lr=5e-3, **MNIST_AUG),
            qat=dict(epochs=6, lr=2e-4), mults=64, stall_points=True),
    Network("seed003", "ResNetSmall", train=dict(epochs=30, lr=5e-3, **MNIST_AUG), mults=64,
            stall_points=True),
    Network("seed004", "MobileNetSmall", train=dict(epochs=40, lr=5e-3, **MNIST_AUG),
            qat=dict(epochs=8, lr=3e-4), export=dict(requant="pow2_exact", bias_bits=16),
            mults=64, icarus_stress=True, stall_points=True),
    # garments are upright: no rotation
    Network("default_fashion", "DefaultNet", dataset="fashion",
            train=dict(epochs=100, lr=1e-2, shift=1, weight_decay=0.05)),
    Network("seed003_fashion", "ResNetSmall", dataset="fashion",
            train=dict(epochs=80, lr=5e-3, rot=0.0, scale=0.05), qat=dict(epochs=4, lr=2e-4),
            mults=64),
)}


def get(name: str) -> Network:
    """The registry entry of `name`; a KeyError naming the known networks if there is none."""
    if name not in NETWORKS:
        raise KeyError(f"unknown network {name!r}; known: {', '.join(NETWORKS)}")
    return NETWORKS[name]


def entry(name: str) -> Network:
    """The registry entry of `name`, or for a network outside the registry (a user's own export)
    an entry with the defaults: MNIST, fixed multipliers and int32 biases, fully parallel."""
    return NETWORKS.get(name) or Network(name, model="")


def names() -> list[str]:
    return list(NETWORKS)


def main(argv=None) -> int:
    """`python -m int8cnn.networks <net> <field>`: print one field of a network's entry (for the
    Makefile: `mults` prints 0 for a fully parallel top)."""
    import argparse
    ap = argparse.ArgumentParser(prog="python -m int8cnn.networks", description=main.__doc__)
    ap.add_argument("net", choices=names())
    ap.add_argument("field", choices=[f for f in Network.__dataclass_fields__ if f != "name"])
    a = ap.parse_args(argv)
    value = getattr(NETWORKS[a.net], a.field)
    print(0 if a.field == "mults" and value is None else value)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
