"""tb/funcov.py's saturation cover points: the cheap sampler (pre-clamp values only for channels
whose output reaches a bound not yet covered) hits exactly the bins of the exhaustive definition
(every pre-clamp value of every channel), on networks with residual adds, average pools and
depthwise convolutions, over several batches."""
from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from int8cnn import coverset as cs
from int8cnn.coverset import unreachable
from int8cnn.export import load_network
from int8cnn.golden import avgpool2d_acc, conv2d_acc, dense_acc, eltwise_add, requant
from int8cnn.inference import run_layer, run_network
from int8cnn.vectors import read_input_images, read_labels

from int8cnn.paths import ROOT


def _tb_coverage():
    spec = importlib.util.spec_from_file_location("funcov", ROOT / "tb" / "funcov.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def exhaustive_hits(qnet, batches) -> set:
    hits = set()
    for images in batches:
        cur = {"input": images.astype(np.int64)[:, None]}
        for layer in qnet.layers:
            x, *rest = (cur[s] for s in qnet.sources(layer))
            if layer.mult is not None:
                lo, hi = -(1 << 62), 1 << 62
                if layer.type == "add":
                    y = eltwise_add(x, rest[0], layer.mult[0], layer.mult[1], layer.shift[0], lo,
                                    hi, layer.zero_point_out)
                else:
                    if layer.type == "conv2d":
                        acc = conv2d_acc(x, layer.weight, layer.bias, layer.stride,
                                         layer.padding, layer.groups)
                    elif layer.type == "avgpool2d":
                        acc = avgpool2d_acc(x, layer.kernel, layer.stride)
                    else:
                        acc = dense_acc(x.reshape(len(x), -1), layer.weight,
                                        layer.bias)[:, :, None, None]
                    y = requant(acc, layer.mult, layer.shift, lo, hi, layer.zero_point_out)
                for c in range(y.shape[1]):
                    if (y[:, c] < layer.clamp[0]).any():
                        hits.add((layer.name, c, "low"))
                    if (y[:, c] > layer.clamp[1]).any():
                        hits.add((layer.name, c, "high"))
            cur[layer.name] = run_layer(layer, x, *rest)
    return hits


@pytest.mark.parametrize("net", ["seed003", "seed004", "seed002"])
def test_cheap_saturation_sampling_hits_the_exhaustive_bins(net):
    cov = _tb_coverage()
    qnet = load_network(ROOT / "weights" / net)
    gold = read_input_images(ROOT / "golden" / net).reshape(-1, 28, 28)
    rng = np.random.default_rng(0)
    # random 4x4 blocks of black and white drive some requantizers above their range
    blocks = (np.kron(rng.integers(0, 2, (8, 7, 7)), np.ones((4, 4))) * 255).astype(np.uint8)
    batches = [gold[:10], blocks[:4], gold[10:], blocks[4:]]
    for b in batches:
        cov.sample_saturation(qnet, b)
    want = exhaustive_hits(qnet, batches)
    assert any(k == "high" for _, _, k in want) and any(k == "low" for _, _, k in want)
    assert cov._sat_seen == want


@pytest.mark.parametrize("net", ["seed003", "seed004", "seed002"])
def test_coverset_margins_hit_the_exhaustive_bins(net):
    """int8cnn.coverset.evaluate (how the golden set is chosen) agrees with the exhaustive
    definition above: a margin > 0 exactly for the bins hit."""
    qnet = load_network(ROOT / "weights" / net)
    gold = read_input_images(ROOT / "golden" / net)
    margins, _ = cs.evaluate(qnet, gold)
    got = {b for b, h in zip(cs.saturation_bins(qnet), (margins > 0).any(axis=0)) if h}
    assert got == exhaustive_hits(qnet, [gold])


def test_missing_bins_shrink_to_what_the_golden_set_names():
    """Sampling only the default network's class images leaves saturation bins that its crafted
    images hit; after the whole golden set, what is missing is what vectors.json's `unhit` names
    (label bins: the crafted images' results are not sampled, as in the top-level test)."""
    cov = _tb_coverage()
    qnet = load_network(ROOT / "weights" / "default")
    gdir = ROOT / "golden" / "default"
    info = json.loads((gdir / "vectors.json").read_text())
    gold, labels = read_input_images(gdir), read_labels(gdir)
    real = np.array(info["indices"]) >= 0
    _, pred = run_network(qnet, gold)
    cov.sample_saturation(qnet, gold[real])
    cov.sample_results(labels[real], pred[real])
    first = cov.missing_bins(qnet)
    cov.sample_saturation(qnet, gold)
    after = cov.missing_bins(qnet)
    assert after == set(info["unhit"]) - set(unreachable(qnet))
    assert first > after
    assert not after & set(unreachable(qnet))

