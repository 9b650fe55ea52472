"""int8cnn.coverset: the margins agree with the golden functions, the interval bounds hold for every
image tried, the first convolution's bounds are reached exactly by the crafted extremes, and the
searches do what they say. On the committed networks; no simulator."""
from __future__ import annotations

import numpy as np
import pytest

from int8cnn import coverset as cs
from int8cnn.export import load_network
from int8cnn.golden import UNCLAMPED, conv2d_acc, requant
from int8cnn.inference import run_network

from flowtools import WEIGHTS

NETS = ["default", "small16", "seed003", "seed004"]   # conv, pools, residual adds, depthwise, act


@pytest.fixture(scope="module")
def images(real_images):
    """Real images, their negatives, random pixels, and the crafted patterns."""
    rng = np.random.default_rng(5)
    real = np.asarray(real_images[0][:150], np.uint8)
    return np.concatenate([real, 255 - real[:50], rng.integers(0, 256, (50, 28, 28), np.uint8),
                           np.stack(list(cs.patterns(real[0]).values()))])


def test_margins_and_logits_agree_with_the_golden_model(images):
    q = load_network(WEIGHTS / "default")
    margins, logits = cs.evaluate(q, images, chunk=97)
    conv1 = q.layers[0]
    y = requant(conv2d_acc(images[:, None], conv1.weight, conv1.bias), conv1.mult, conv1.shift,
                *UNCLAMPED, conv1.zero_point_out)
    lo, hi = conv1.clamp
    want = np.stack([lo - y.min(axis=(2, 3)), y.max(axis=(2, 3)) - hi], axis=2).reshape(len(y), -1)
    assert np.array_equal(margins[:, :want.shape[1]], want)
    outs, _ = run_network(q, images)
    assert np.array_equal(logits, outs[q.layers[-1].name].reshape(len(images), -1))
    assert (margins > 0).any() and (margins <= 0).any()


@pytest.mark.parametrize("net", NETS)
def test_interval_bounds_hold_and_unreachable_bins_are_never_hit(net, images):
    q = load_network(WEIGHTS / net)
    crafted = np.stack(list(cs.first_conv_extremes(q).values()))
    margins, _ = cs.evaluate(q, np.concatenate([images, crafted]))
    bnd = cs.bounds(q)
    for b, (name, c, kind) in enumerate(cs.saturation_bins(q)):
        lo, hi = q.layer(name).clamp
        _, _, pre_lo, pre_hi = bnd[name]
        limit = lo - pre_lo[c] if kind == "low" else pre_hi[c] - hi
        assert margins[:, b].max() <= limit, (name, c, kind)
    dead = cs.unreachable(q)
    hit = {cs.bin_name(b) for b, h in zip(cs.saturation_bins(q), (margins > 0).any(axis=0)) if h}
    assert not hit & set(dead)


@pytest.mark.parametrize("net", NETS)
def test_first_conv_extremes_reach_its_exact_bounds(net):
    """The crafted images put every channel of the first convolution at its accumulator's largest
    and smallest value over all images (computed here from the weights)."""
    q = load_network(WEIGHTS / net)
    l = q.layers[0]
    ext = cs.first_conv_extremes(q)
    w = l.weight[:, 0].astype(np.int64)
    most = l.bias + 255 * np.where(w > 0, w, 0).sum(axis=(1, 2))
    least = l.bias + 255 * np.where(w < 0, w, 0).sum(axis=(1, 2))
    for name, want, red in (("first_conv_max", most, np.max), ("first_conv_min", least, np.min)):
        acc = conv2d_acc(ext[name][None, None], l.weight, l.bias, l.stride, l.padding, l.groups)
        assert np.array_equal(red(acc[0], axis=(1, 2)), want), name
        assert set(np.unique(ext[name])) <= {0, 255}


def test_tie_search_finds_equal_top_logits():
    q = load_network(WEIGHTS / "default")
    x = cs.patterns(np.zeros((28, 28), np.uint8))["quadrants"]
    img, steps = cs.find_tie(q, x, steps=500)
    assert img is not None and steps > 0
    _, pred = run_network(q, img[None])
    logits = run_network(q, img[None])[0][q.layers[-1].name].reshape(-1)
    top = np.sort(logits)[-2:]
    assert top[0] == top[1] and logits[pred[0]] == top[1]


def test_climb_never_lowers_the_margin(real_images):
    q = load_network(WEIGHTS / "small16")
    bins = cs.saturation_bins(q)
    b = bins.index(("conv2", 0, "high"))
    start = np.asarray(real_images[0][0], np.uint8)
    m0 = cs.evaluate(q, start[None])[0][0, b]
    img, m = cs.climb(q, b, start, steps=5)
    assert m > m0
    assert cs.evaluate(q, img[None])[0][0, b] == m
