"""The golden set, chosen for coverage and not by class only (docs/quantization.md, "Golden set").

A network's committed golden images, in this order:

  crafted     first_conv_max / first_conv_min: every output channel of the first convolution at
              its largest / smallest accumulator (a patch of 255s where the channel's weights are
              positive / negative, one patch per channel, aligned to a window); all_255; a 1-pixel
              checkerboard; quadrants (vertical and horizontal edges of 255); the first test
              image inside a 255 frame (non-zero borders); tie: an image whose two largest logits
              are equal (a seeded search from the test image whose top two logits are closest);
              and, for a saturation bin no test image hits but one comes within CLIMB_GAP of, the
              image a greedy one-pixel search (`climb`) reaches it with
  saturation  a greedy set cover, by test images, of the requantizer saturation bins (layer,
              channel, low/high) that the crafted and class images leave open
  class       per digit: the first test image the network predicts correctly, and the first it
              mispredicts

`choose` returns the images with a reason for each, and the bins no image hits, each with why:
unreachable by interval bounds over every possible input image (a proof), or not hit by any test
image or crafted image (a bound that is not tight; the closest value found is given).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .golden import UNCLAMPED, requant
from .inference import run_layer
from .ops import op_for

KINDS = ("low", "high")
TIE_SEED = 2026
TIE_BATCH = 64
TIE_STEPS = 300
CLIMB_GAP = 16      # search for a saturation bin only when a test image comes this close to it
CLIMB_STEPS = 40
CLIMB_TRIES = 64


@dataclass
class Choice:
    images: np.ndarray                 # uint8 [N,28,28]
    labels: np.ndarray                 # [N]; a crafted image: the golden model's prediction
    indices: list                      # test split index, or -1 for a crafted image
    why: list                          # one reason per image
    unhit: dict = field(default_factory=dict)   # "layer:channel:kind" or "label:d:..." -> reason


def saturation_bins(qnet) -> list:
    """(layer, channel, kind) for every channel of every requantizing layer (conv, dense, avgpool,
    add), kind 'low' (a value below the clamp's lower bound) or 'high' (above its upper)."""
    return [(l.name, c, k) for l in qnet.layers if l.mult is not None
            for c in range(l.out_shape[0]) for k in KINDS]


def bin_name(b) -> str:
    return f"{b[0]}:{b[1]}:{b[2]}"


def evaluate(qnet, images, chunk: int = 500, upto: str | None = None):
    """(margins int64 [N, bins], logits int64 [N, classes]) of uint8 images [N,28,28]: per
    saturation bin (saturation_bins order), how far the image's values before the clamp go past
    the bound (max over positions of y - hi for 'high', lo - y for 'low'; > 0: the bin is hit),
    and the last layer's output. upto: stop after that layer (logits None)."""
    images = np.asarray(images)
    margins, logits = [], []
    for i in range(0, len(images), chunk):
        cur = {"input": images[i:i + chunk, None].astype(np.int64)}
        row = []
        for layer in qnet.layers:
            src = [cur[s] for s in qnet.sources(layer)]
            if layer.mult is None:
                cur[layer.name] = run_layer(layer, *src)
            else:
                y = run_layer(layer, *src, clamp=False)
                lo, hi = layer.clamp
                low, high = lo - y.min(axis=(2, 3)), y.max(axis=(2, 3)) - hi
                row.append(np.stack([low, high], axis=2).reshape(len(y), -1))  # channel-major
                cur[layer.name] = np.clip(y, lo, hi)
            if layer.name == upto:
                break
        n = len(cur["input"])
        margins.append(np.concatenate(row, axis=1) if row else np.zeros((n, 0), np.int64))
        if upto is None:
            logits.append(cur[qnet.layers[-1].name].reshape(n, -1))
    return np.concatenate(margins), (np.concatenate(logits) if upto is None else None)


def climb(qnet, b: int, start: np.ndarray, steps: int = CLIMB_STEPS, tries: int = CLIMB_TRIES):
    """Search for an image that hits saturation bin number b: from `start`, repeatedly make the
    best of `tries` seeded random one-pixel changes (a pixel set to 0 or to 255, among the pixels
    that move the bin's margin at all) while it raises the margin. (image, margin): margin > 0
    when the bin is hit."""
    layer = saturation_bins(qnet)[b][0]
    rng = np.random.default_rng(TIE_SEED + b)

    def margins(cands):
        return evaluate(qnet, cands, chunk=256, upto=layer)[0][:, b]

    def flipped(x, flips):
        cand = np.repeat(x[None], len(flips), axis=0).reshape(len(flips), -1)
        cand[np.arange(len(flips)), flips[:, 0]] = flips[:, 1]
        return cand.reshape(-1, 28, 28)

    x = start.copy()
    m = int(margins(x[None])[0])
    flips = np.array([(p, v) for v in (0, 255) for p in range(784)])
    flips = flips[margins(flipped(x, flips)) != m]   # the pixels this bin's margin sees
    for _ in range(steps):
        if m > 0 or not len(flips):
            break
        try_ = flips[rng.choice(len(flips), min(tries, len(flips)), replace=False)]
        g = margins(flipped(x, try_))
        best = int(np.argmax(g))
        if g[best] > m:
            x, m = flipped(x, try_[best:best + 1])[0], int(g[best])
    return x, m


# ----------------------------------------------------------------------------- interval bounds

def bounds(qnet) -> dict:
    """{layer: (lo [C], hi [C], pre_lo [C], pre_hi [C])}: per output channel, the range of the
    output and (requantizing layers) of the value before the clamp, over every possible image
    (interval arithmetic: exact for the first convolution, an over-approximation after it)."""
    out = {"input": (np.zeros(1, np.int64), np.full(1, 255, np.int64))}
    res = {}
    for l in qnet.layers:
        op = op_for(l)
        alo, ahi = op.bounds(l, [out[s] for s in qnet.sources(l)])
        if l.mult is None:
            out[l.name] = (alo, ahi)
            continue
        m, s = op.requant_terms(l)
        ends = [requant(a[None], m, s, *UNCLAMPED, l.zero_point_out)[0] for a in (alo, ahi)]
        pre_lo, pre_hi = np.minimum(*ends), np.maximum(*ends)
        out[l.name] = (np.clip(pre_lo, *l.clamp), np.clip(pre_hi, *l.clamp))
        res[l.name] = (*out[l.name], pre_lo, pre_hi)
    return res


def unreachable(qnet) -> dict:
    """{bin name: reason} for the saturation bins no image can hit (interval bounds)."""
    bnd, why = bounds(qnet), {}
    for name, c, kind in saturation_bins(qnet):
        _, _, pre_lo, pre_hi = bnd[name]
        lo, hi = qnet.layer(name).clamp
        if kind == "low" and pre_lo[c] >= lo:
            why[bin_name((name, c, kind))] = (f"unreachable: at least {pre_lo[c]} before the clamp "
                                              f"for any image (interval bound), lower bound {lo}")
        if kind == "high" and pre_hi[c] <= hi:
            why[bin_name((name, c, kind))] = (f"unreachable: at most {pre_hi[c]} before the clamp "
                                              f"for any image (interval bound), upper bound {hi}")
    return why


# ----------------------------------------------------------------------------- crafted images

def first_conv_extremes(qnet) -> dict:
    """{'first_conv_max': img, 'first_conv_min': img}: each output channel of the first layer (a
    convolution of the image) at its largest / smallest accumulator, one patch per channel on a
    window the convolution computes (int8cnn.ops.conv2d.Conv2d.extremes). {} when the first layer
    is not a convolution or the patches do not fit."""
    l = qnet.layers[0]
    return op_for(l).extremes(l) if qnet.sources(l) == ["input"] else {}


def patterns(first: np.ndarray) -> dict:
    """all_255, checkerboard, quadrants, and `first` (a test image) inside a 255 frame."""
    yy, xx = np.mgrid[0:28, 0:28]
    frame = first.copy()
    frame[[0, -1], :] = 255
    frame[:, [0, -1]] = 255
    return {"all_255": np.full((28, 28), 255, np.uint8),
            "checkerboard": (((yy + xx) % 2) * 255).astype(np.uint8),
            "quadrants": (((yy < 14) == (xx < 14)) * 255).astype(np.uint8),
            "frame": frame}


def top2_gap(logits) -> np.ndarray:
    s = np.sort(np.asarray(logits, np.int64), axis=1)
    return s[:, -1] - s[:, -2]


def find_tie(qnet, start: np.ndarray, seed: int = TIE_SEED, batch: int = TIE_BATCH,
             steps: int = TIE_STEPS):
    """An image whose two largest logits are equal: a seeded random walk from `start` that sets
    1-3 pixels at a time to random values, keeping the candidate with the smallest gap between
    the two largest logits (equal gaps accepted, to cross plateaus). (image, steps) or (None, best
    gap) when `steps` batches find none."""
    rng = np.random.default_rng(seed)
    x = start.copy()
    gap = int(top2_gap(evaluate(qnet, x[None])[1])[0])
    for step in range(steps):
        if gap == 0:
            return x, step
        cand = np.repeat(x[None], batch, axis=0)
        for n in range(batch):
            m = rng.integers(1, 4)
            cand[n].flat[rng.integers(0, 784, m)] = rng.integers(0, 256, m)
        g = top2_gap(evaluate(qnet, cand, chunk=batch)[1])
        best = int(np.argmin(g))
        if g[best] <= gap:
            x, gap = cand[best], int(g[best])
    return (x, steps) if gap == 0 else (None, gap)


# ----------------------------------------------------------------------------- the choice

def choose(qnet, x: np.ndarray, y: np.ndarray) -> Choice:
    """The golden set of `qnet` from the test split (x uint8 [N,28,28], y [N])."""
    margins, logits = evaluate(qnet, x)
    unhit = {}
    crafted = {f"crafted: {k}": v for k, v in {**first_conv_extremes(qnet), **patterns(x[0])}.items()}
    ties = _tie(qnet, x, logits, crafted, unhit)
    cls = _class_images(y, np.argmax(logits, axis=1), unhit)
    cm = evaluate(qnet, np.stack(list(crafted.values())))[0]
    covered = (cm > 0).any(axis=0) | (margins[[i for i, _ in ties + cls]] > 0).any(axis=0)
    dead = unreachable(qnet)
    sat = _saturation_cover(qnet, x, margins, covered, dead, crafted, unhit)
    cpred = np.argmax(evaluate(qnet, np.stack(list(crafted.values())))[1], axis=1)
    entries = [(img, int(cpred[n]), -1, reason) for n, (reason, img) in enumerate(crafted.items())]
    entries += [(x[i], int(y[i]), int(i), reason) for i, reason in ties + sat + cls]
    imgs, labels, idx, why = zip(*entries)
    unhit.update(dead)
    return Choice(np.stack(imgs).astype(np.uint8), np.array(labels), list(idx), list(why), unhit)


def _tie(qnet, x, logits, crafted: dict, unhit: dict) -> list:
    """[(test image, reason)] when a test image's two largest logits tie; else the seeded search
    from the closest one adds its image to `crafted` (or says in `unhit` why there is none)."""
    gap = top2_gap(logits)
    start = int(np.argmin(gap))
    if gap[start] == 0:
        return [(start, f"tie: test image {start}'s two largest logits are equal")]
    tie, steps = find_tie(qnet, x[start])
    if tie is None:
        unhit["logits:tie"] = f"no tie found: smallest gap {steps} from test image {start}"
    else:
        crafted[f"tie: two largest logits equal (seeded search, seed {TIE_SEED}, from test "
                f"image {start}, {steps} steps)"] = tie
    return []


def _class_images(y, pred, unhit: dict) -> list:
    """[(test image, reason)]: the first correct and the first mispredicted image of each digit."""
    cls = []
    for d in range(10):
        for ok, what in ((True, "predicted correctly"), (False, "mispredicted")):
            i = np.flatnonzero((y == d) & ((pred == y) == ok))
            if len(i):
                cls.append((int(i[0]), f"class: first test image of digit {d} {what}"))
            else:
                unhit[f"label:{d}:{'correct' if ok else 'wrong'}"] = \
                    f"no test image of digit {d} is {what}"
    return cls


def _saturation_cover(qnet, x, margins, covered, dead: dict, crafted: dict, unhit: dict) -> list:
    """[(test image, reason)]: a greedy set cover of the saturation bins still open (the image
    that hits the most, ties to the lowest index); then a search (`climb`, added to `crafted`) for
    those no test image hits but one comes within CLIMB_GAP of; the rest go to `unhit`."""
    names = [bin_name(bn) for bn in saturation_bins(qnet)]
    can = np.array([n not in dead for n in names])
    sat = []
    while True:
        gain = ((margins > 0) & ~covered & can).sum(axis=1)
        i = int(np.argmax(gain))
        if gain[i] == 0:
            break
        new = [names[b] for b in np.flatnonzero((margins[i] > 0) & ~covered & can)]
        sat.append((i, f"saturation: test image hitting the most open bins, {len(new)}: "
                       + ", ".join(new[:6]) + (", ..." if len(new) > 6 else "")))
        covered |= margins[i] > 0
    for b in np.flatnonzero(~covered & can):
        near = int(np.argmax(margins[:, b]))
        if covered[b] or margins[near, b] < -CLIMB_GAP:
            continue
        img, m = climb(qnet, b, x[near])
        if m > 0:
            crafted[f"saturation: {names[b]}, searched from test image {near}"] = img
            covered |= evaluate(qnet, img[None])[0][0] > 0
    for b in np.flatnonzero(~covered & can):
        unhit[names[b]] = (f"not hit by any test or crafted image: the closest test image is "
                           f"{-int(margins[:, b].max())} short of the bound (the interval bound "
                           f"allows it)")
    return sat
