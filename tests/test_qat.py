"""Quantization-aware fine-tuning (int8cnn.qat): its fake-quantized forward pass must model the
integer network the export writes, and BatchNorm folding must not change the float model.
No dataset needed: calibration and test images are the committed golden inputs, augmented."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from int8cnn.cli import export_options
from int8cnn.inference import run_network
from int8cnn.models import ConvBN
from int8cnn.networks import get as network
from int8cnn.qat import fake_quant_forward, fake_quant_layer, fold_batchnorm, live_plan
from int8cnn.quantize import quantize
from int8cnn.train import load_checkpoint, random_affine, to_float
from int8cnn.vectors import read_input_images

from flowtools import GOLDEN, WEIGHTS

# one network per plan kind: conv/maxpool/dense, act tables + average pool, residual adds,
# BatchNorm-folded depthwise convs with power-of-two-exact shifts and int16 biases
NETS = ["default", "seed002", "seed003", "seed004"]


def _images(net: str, n: int = 160) -> np.ndarray:
    base = read_input_images(GOLDEN / net).reshape(-1, 28, 28)
    x = to_float(np.resize(base, (n, 28, 28)))
    x = random_affine(x, 2.0, 10.0, 0.1, torch.Generator().manual_seed(1))
    return np.round(x.squeeze(1).numpy() * 255).astype(np.uint8)


@pytest.mark.parametrize("net", NETS)
def test_fake_quant_layers_model_the_integer_layers(net):
    """Each plan entry, fed the integer golden model's inputs (times their scales), gives outputs
    on the integer grid of its calibrated scale, equal to the golden layer's but for rare
    rounding differences (the 16-bit multipliers, per-branch rounding in adds); the logits, in
    units of their scale, equal the golden logits to float rounding."""
    model, _ = load_checkpoint(WEIGHTS / f"{net}.pt", net)
    x = _images(net)
    opts = export_options(net)
    q = quantize(model, x[:80], net, **opts)
    want, _ = run_network(q, x)
    want["input"] = x[:, None].astype(np.int64)
    fold_batchnorm(model)
    model.double()
    plan = live_plan(model)
    scale = {"input": 1 / 255.0, **{l.name: l.scale_out for l in q.layers}}
    for i, (entry, layer) in enumerate(zip(plan, q.layers)):
        srcs = q.sources(layer)
        ins = [torch.from_numpy(want[s] * scale[s]).double() for s in srcs]
        last = i == len(plan) - 1
        with torch.no_grad():
            y = fake_quant_layer(entry, layer, ins, last, opts["requant"], opts["bias_bits"])
        v = y.numpy().reshape(want[layer.name].shape) / layer.scale_out
        if last:
            assert np.abs(v - want[layer.name]).max() < 1e-6 * np.abs(want[layer.name]).max()
            continue
        assert np.abs(v - np.round(v)).max() < 1e-6, f"{layer.name}: off the integer grid"
        diff = np.abs(np.round(v).astype(np.int64) - want[layer.name])
        assert diff.max() <= 1 and (diff == 0).mean() >= 0.99, \
            (layer.name, diff.max(), (diff == 0).mean())


def test_fake_quant_forward_agrees_with_the_integer_network():
    model, _ = load_checkpoint(WEIGHTS / "seed003.pt", "seed003")
    x = _images("seed003")
    q = quantize(model, x[:80], "seed003")
    _, classes = run_network(q, x)
    with torch.no_grad():
        logits = fake_quant_forward(live_plan(model), q.layers, to_float(x), "fixed", 32)
    assert (logits.argmax(1).numpy() == classes).mean() >= 0.97


@pytest.mark.parametrize("net", ["seed004"])
def test_fold_batchnorm_keeps_the_float_model(net):
    model = network(net).build()
    model.load_state_dict(load_checkpoint(WEIGHTS / f"{net}.pt", net)[0].state_dict())
    model.eval()
    x = to_float(_images(net, 16))
    with torch.no_grad():
        before = model(x)
        n = fold_batchnorm(model)
        after = model(x)
    assert n == sum(isinstance(m, ConvBN) for m in model.modules()) == 7
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-4)
    plan = live_plan(model)
    convs = [m[0] for m in model.modules() if isinstance(m, ConvBN)]
    assert [e[1] for e in plan if e[0] == "conv2d"] == convs  # the trainable modules themselves


def test_int16_biases_saturate_as_the_export_does():
    """bias_bits 16: a bias beyond int16 at the accumulator scale is saturated, as quantize()
    saturates it (QNet.meta["bias_saturated"])."""
    fc = torch.nn.Linear(2, 2)
    with torch.no_grad():
        fc.weight.copy_(torch.tensor([[127.0, 0.0], [0.0, -127.0]]))
        fc.bias.copy_(torch.tensor([40000.0, -100.0]))
    q = SimpleNamespace(scale_in=1.0, scale_out=1.0, clamp=[-128, 127])
    x = torch.tensor([[1.0, 1.0]])
    with torch.no_grad():
        y16 = fake_quant_layer(("dense", fc, False), q, [x], True, "fixed", 16)
        y32 = fake_quant_layer(("dense", fc, False), q, [x], True, "fixed", 32)
    assert y16.tolist() == [[127.0 + 32767.0, -127.0 - 100.0]]
    assert y32.tolist() == [[127.0 + 40000.0, -127.0 - 100.0]]


def test_committed_checkpoints_record_their_qat_recipe():
    """A checkpoint was fine-tuned exactly when its network has a qat recipe in int8cnn.networks,
    with those epochs and that learning rate (so `int8cnn train --net N` reproduces the committed
    recipe)."""
    from int8cnn.networks import NETWORKS
    for pt in sorted(WEIGHTS.glob("*.pt")):
        meta = torch.load(pt, map_location="cpu", weights_only=True)["meta"]
        want = NETWORKS[pt.stem].qat
        got = meta.get("qat")
        assert (got is None) == (want is None), pt.name
        if want:
            assert {k: got[k] for k in want} == want, pt.name
            assert got["best_epoch"] >= 1 and got["int8_val_after"] > got["int8_val_before"]
