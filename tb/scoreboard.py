"""Per-layer scoreboard for the network top: every beat of every layer tap, then logits and class.

Expected values are the golden model's (int8cnn.golden) for the images the driver sent; the
scoreboard compares integers exactly and records each mismatch with image, layer, channel, row,
column, expected, got and the simulation time window of that image's stream on that tap.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from int8cnn.memfile import unpack_lanes


def words_to_lanes(words, lanes: int, bits: int, signed: bool) -> np.ndarray:
    """Bus words -> int64 [len(words), lanes] (lane i at bits [i*bits +: bits])."""
    mask = (1 << bits) - 1
    if lanes * bits <= 63:
        w = np.asarray(words, dtype=np.int64)[:, None]
        v = (w >> (np.arange(lanes, dtype=np.int64) * bits)) & mask
    else:
        v = np.array([unpack_lanes(int(x), lanes, bits, False) for x in words],
                     dtype=np.int64).reshape(len(words), lanes)
    if signed:
        v = np.where(v >> (bits - 1), v - (1 << bits), v)
    return v


def expected_lanes(outs: dict, qnet) -> dict:
    """Golden outputs {layer: [N,C,H,W]} -> {layer: [N, H*W, C]} in stream order."""
    res = {}
    for l in qnet.layers:
        t = outs[l.name]
        n, c, h, w = t.shape
        res[l.name] = np.ascontiguousarray(t.transpose(0, 2, 3, 1).reshape(n, h * w, c))
    return res


@dataclass
class Mismatch:
    image: int
    layer: str
    channel: int
    row: int
    col: int
    expected: object
    got: object
    time: str

    def __str__(self):
        return (f"image {self.image} layer {self.layer} channel {self.channel} row {self.row} "
                f"col {self.col}: expected {self.expected} got {self.got} (sim time {self.time})")


class Scoreboard:
    def __init__(self, qnet, expected: dict, labels=None, image_ids=None):
        self.qnet = qnet
        self.expected = expected            # {layer: [N, H*W, C]}
        self.labels = labels
        self.image_ids = image_ids          # dataset indices, for the report
        self.mismatches: list[Mismatch] = []
        self.values = 0
        self.layers_checked: set = set()
        self.images_checked = 0
        self.predicted: list[int] = []
        self.n_mismatches = 0               # all of them; the list keeps the first KEEP
        self.by_layer: dict = {}

    KEEP = 1000

    def _add(self, m: Mismatch, count: int = 1):
        self.n_mismatches += count
        self.by_layer[m.layer] = self.by_layer.get(m.layer, 0) + count
        if len(self.mismatches) < self.KEEP:
            self.mismatches.append(m)

    def _label(self, i):
        return i if self.image_ids is None else f"{i} (dataset index {self.image_ids[i]})"

    def check_layer(self, layer_name: str, image: int, words, t0=None, t1=None) -> int:
        layer = self.qnet.layer(layer_name)
        c, h, w = layer.out_shape
        exp = self.expected[layer_name][image]
        got = words_to_lanes(words, c, layer.lane_bits, layer.out_signed or layer.emits_logits)
        when = f"{t0}..{t1} ns" if t0 is not None else "?"
        self.layers_checked.add(layer_name)
        if got.shape != exp.shape:
            self._add(Mismatch(self._label(image), layer_name, -1, -1, -1,
                               f"{exp.shape[0]} beats", f"{got.shape[0]} beats", when))
            return 1
        self.values += exp.size
        bad = np.argwhere(got != exp)
        for k, (beat, ch) in enumerate(bad):
            if k == 20:  # count the rest of this image's stream without listing them
                self.n_mismatches += len(bad) - k
                self.by_layer[layer_name] += len(bad) - k
                break
            self._add(Mismatch(self._label(image), layer_name, int(ch), int(beat // w),
                               int(beat % w), int(exp[beat, ch]), int(got[beat, ch]), when))
        return len(bad)

    def check_result(self, image: int, word: int, t=None) -> int:
        """Result beat: lane 0 = class, lanes 1.. = logits (must equal the last layer's)."""
        last = self.qnet.layers[-1]
        n = last.out_shape[0]
        lanes = words_to_lanes([word], n + 1, 32, True)[0]
        cls, logits = int(lanes[0]), lanes[1:]
        exp_logits = self.expected[last.name][image][0]
        exp_cls = int(np.argmax(exp_logits))
        errors = 0
        self.values += n + 1
        for o in np.flatnonzero(logits != exp_logits):
            self._add(Mismatch(self._label(image), "result.logits", int(o), 0, 0,
                               int(exp_logits[o]), int(logits[o]), f"{t} ns"))
            errors += 1
        if cls != exp_cls:
            self._add(Mismatch(self._label(image), "result.class", 0, 0, 0, exp_cls, cls, f"{t} ns"))
            errors += 1
        self.predicted.append(cls)
        self.images_checked += 1
        return errors

    def first_layer_failing(self) -> str | None:
        order = [l.name for l in self.qnet.layers] + ["result.logits", "result.class"]
        bad = set(self.by_layer)
        return next((name for name in order if name in bad), None)

    def accuracy(self) -> float | None:
        if self.labels is None or not self.predicted:
            return None
        return float(np.mean(np.array(self.predicted) == np.asarray(self.labels)[:len(self.predicted)]))

    def report(self, limit: int = 10) -> str:
        lines = [f"{self.n_mismatches} mismatches (by layer: {self.by_layer}); first failing layer: "
                 f"{self.first_layer_failing()}; the first {min(limit, len(self.mismatches))}:"]
        lines += [f"  {m}" for m in self.mismatches[:limit]]
        return "\n".join(lines)

    def summary(self) -> str:
        acc = self.accuracy()
        acc_s = f"{100 * acc:.2f}%" if acc is not None else "n/a"
        return (f"SUMMARY images={self.images_checked} layers_checked={len(self.layers_checked)}+result "
                f"values_compared={self.values} mismatches={self.n_mismatches} "
                f"accuracy_vs_labels={acc_s}")
