"""Per-layer scoreboard for the network top: every beat of every layer tap, then logits and class.

Expected values are the golden model's (int8cnn.golden) for the images the driver sent; the
scoreboard compares integers exactly and records each mismatch with image, layer, channel, row,
column, expected, got and the simulation time window of that image's stream on that tap.
"""
from __future__ import annotations

import threading
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
        self.predicted: list[int] = []      # the RTL's class of every image checked
        self.golden_predicted: list[int] = []   # the golden model's class of the same images
        self.n_mismatches = 0               # all of them; the list keeps the first KEEP
        self.by_layer: dict = {}
        self.wrong_lengths: list[tuple[int, str, int, int]] = []  # (image, layer, beats, expected)

    KEEP = 1000

    def _add(self, m: Mismatch, count: int = 1):
        self.n_mismatches += count
        self.by_layer[m.layer] = self.by_layer.get(m.layer, 0) + count
        if len(self.mismatches) < self.KEEP:
            self.mismatches.append(m)

    def _label(self, i):
        if self.image_ids is None:
            return i
        i_ds = self.image_ids[i]
        return f"{i} (crafted)" if i_ds < 0 else f"{i} (dataset index {i_ds})"

    def check_layer(self, layer_name: str, image: int, words, t0=None, t1=None) -> int:
        """One image's stream on one layer tap, as bus words."""
        layer = self.qnet.layer(layer_name)
        got = words_to_lanes(words, layer.out_shape[0], layer.lane_bits,
                             layer.out_signed or layer.emits_logits)
        return self.check_layer_lanes(layer_name, image, got, t0, t1)

    def check_layer_lanes(self, layer_name: str, image: int, got: np.ndarray, t0=None, t1=None) -> int:
        """One image's stream on one layer tap, decoded: int [beats, C]."""
        layer = self.qnet.layer(layer_name)
        w = layer.out_shape[2]
        exp = self.expected[layer_name][image]
        when = f"{t0}..{t1} ns" if t0 is not None else "?"
        self.layers_checked.add(layer_name)
        if got.shape != exp.shape:
            self._add(Mismatch(self._label(image), layer_name, -1, -1, -1,
                               f"{exp.shape[0]} beats", f"{got.shape[0]} beats", when))
            self.wrong_lengths.append((image, layer_name, got.shape[0], exp.shape[0]))
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

    def check_layer_block(self, layer_name: str, first: int, got: np.ndarray, t0s, t1s) -> int:
        """Images first.. first+M-1 of one layer tap at once, decoded: int [M, beats, C] (the
        per-image driver's bulk path; a mismatching image is reported as check_layer_lanes does)."""
        m = got.shape[0]
        exp = self.expected[layer_name][first:first + m]
        if got.shape != exp.shape:  # a wrong beat count: image by image
            return sum(self.check_layer_lanes(layer_name, first + i, got[i], t0s[i], t1s[i])
                       for i in range(m))
        self.layers_checked.add(layer_name)
        bad_images = np.flatnonzero((got != exp).reshape(m, -1).any(axis=1))
        self.values += exp[0].size * (m - len(bad_images))
        return sum(self.check_layer_lanes(layer_name, first + int(i), got[i], t0s[i], t1s[i])
                   for i in bad_images)

    def check_result(self, image: int, word: int, t=None) -> int:
        """Result beat: lane 0 = class, lanes 1.. = logits (must equal the last layer's)."""
        n = self.qnet.layers[-1].out_shape[0]
        return self.check_result_lanes(image, words_to_lanes([word], n + 1, 32, True)[0], t)

    def check_result_lanes(self, image: int, lanes, t=None) -> int:
        """Result beat decoded into n+1 signed 32-bit lanes: class, then the logits."""
        last = self.qnet.layers[-1]
        n = last.out_shape[0]
        cls, logits = int(lanes[0]), np.asarray(lanes[1:n + 1])
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
        self.golden_predicted.append(exp_cls)
        self.images_checked += 1
        return errors

    def stuck_report(self, progress: dict, sent: int, n: int, cycles: int) -> str:
        """Why a run with images outstanding produced no result for `cycles` cycles. progress:
        {stream: (whole images, beats of the next image)} for the layer taps and "result", in any
        order. The first line names the first wrong stream: the earliest image whose stream on a
        layer ended with a wrong number of beats (graph order breaks ties), else the first layer
        in graph order that has not finished the oldest image without a result."""
        order = [l.name for l in self.qnet.layers] + ["result"]
        per_image = {l.name: l.out_shape[1] * l.out_shape[2] for l in self.qnet.layers}
        per_image["result"] = 1
        oldest = progress.get("result", (0, 0))[0]
        lines = [f"stuck: no result for {cycles} cycles with images outstanding ({sent} of {n} "
                 f"images sent, {oldest} results)"]
        if self.wrong_lengths:
            img, layer, got, exp = min(self.wrong_lengths, key=lambda w: (w[0], order.index(w[1])))
            kind = "short" if got < exp else "long"
            lines.append(f"first {kind} stream: image {self._label(img)} layer {layer}: {got} of "
                         f"{exp} beats")
        behind = [s for s in order if s in progress and progress[s][0] <= oldest]
        if behind:
            s = behind[0]
            lines.append(f"{'then ' if self.wrong_lengths else ''}first stream stuck: image "
                         f"{self._label(oldest) if oldest < n else oldest} layer {s}: "
                         f"{progress[s][1]} of {per_image[s]} beats")
        lines.append("per stream (whole images, beats of the next): " + ", ".join(
            f"{s} {progress[s][0]} + {progress[s][1]}/{per_image[s]}" for s in order if s in progress))
        return "\n".join(lines)

    def first_layer_failing(self) -> str | None:
        order = [l.name for l in self.qnet.layers] + ["result.logits", "result.class"]
        bad = set(self.by_layer)
        return next((name for name in order if name in bad), None)

    def accuracy(self) -> float | None:
        """Over the dataset images checked so far (a crafted image, id < 0, has no label)."""
        if self.labels is None or not self.predicted:
            return None
        n = len(self.predicted)
        real = np.ones(n, bool) if self.image_ids is None else np.asarray(self.image_ids)[:n] >= 0
        if not real.any():
            return None
        right = np.array(self.predicted) == np.asarray(self.labels)[:n]
        return float(np.mean(right[real]))

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


class LazyExpected:
    """{layer: [N, H*W, C]} computed chunk by chunk with int8cnn.golden, so a 10k-image run of a
    large network never holds every layer of every image: expected[layer][i] and
    expected[layer][a:b] work as for the arrays of expected_lanes. `observe`, when given, is
    called once per chunk with its golden outputs ({"input": [n,1,28,28], layer: output}), so
    other checks (functional coverage) reuse them instead of running the golden model again.

    prefetch=True computes the chunks in order in a background thread, up to `keep` - 2 chunks
    ahead of the furthest one asked for, while the simulator runs (cocotb releases the GIL whenever
    control is back in the simulator, and numpy's matrix products release it too): the golden
    model then mostly costs no simulation wall time. An error in the thread is raised by the next
    access."""

    def __init__(self, qnet, images, chunk: int = 256, keep: int = 4, observe=None,
                 prefetch: bool = False):
        self.qnet, self.images, self.chunk, self.keep = qnet, images, chunk, keep
        self.observe = observe
        self._cache: dict = {}
        self._observed: set = set()
        self._cond = threading.Condition()
        self._pos = 0            # the furthest chunk asked for so far
        self._busy: set = set()  # chunks being computed
        self._error: BaseException | None = None
        self._observe_lock = threading.Lock()  # observe() runs for one chunk at a time
        if prefetch:
            threading.Thread(target=self._prefetch, name="golden-prefetch", daemon=True).start()

    def _compute(self, c: int) -> dict:
        from int8cnn.inference import run_network
        part = self.images[c * self.chunk:(c + 1) * self.chunk]
        outs, _ = run_network(self.qnet, part)
        if self.observe:
            with self._observe_lock:
                if c not in self._observed:
                    self._observed.add(c)
                    self.observe({"input": np.asarray(part, dtype=np.int64)[:, None], **outs})
        return expected_lanes(outs, self.qnet)

    def _store(self, c: int, lanes: dict):
        self._cache[c] = lanes
        while len(self._cache) > self.keep:  # the oldest first, never the one asked for
            old = min(k for k in self._cache if k != c)
            del self._cache[old]

    def _prefetch(self):
        n = -(-len(self.images) // self.chunk)
        try:
            for c in range(n):
                with self._cond:
                    while c >= self._pos + self.keep - 1:
                        self._cond.wait()
                    if c in self._cache or c in self._busy or c < self._pos:
                        continue
                    self._busy.add(c)
                lanes = self._compute(c)
                with self._cond:
                    self._busy.discard(c)
                    self._store(c, lanes)
                    self._cond.notify_all()
        except BaseException as e:  # noqa: BLE001 - handed to the reader
            with self._cond:
                self._error = e
                self._busy.clear()
                self._cond.notify_all()

    def _chunk(self, c: int) -> dict:
        with self._cond:
            if c > self._pos:
                self._pos = c
                self._cond.notify_all()
            while c in self._busy and self._error is None:
                self._cond.wait()
            if self._error is not None:
                raise RuntimeError(f"golden prefetch failed: {self._error!r}") from self._error
            if c in self._cache:
                return self._cache[c]
            self._busy.add(c)
        try:
            lanes = self._compute(c)
        finally:
            with self._cond:
                self._busy.discard(c)
        with self._cond:
            self._store(c, lanes)
            self._cond.notify_all()
        return lanes

    def __getitem__(self, layer: str):
        return _LazyLayer(self, layer)


class _LazyLayer:
    def __init__(self, parent: LazyExpected, layer: str):
        self.p, self.layer = parent, layer

    def __getitem__(self, key):
        ch, n = self.p.chunk, len(self.p.images)
        if isinstance(key, slice):
            a, b = key.start or 0, min(n, n if key.stop is None else key.stop)
            parts = [self.p._chunk(c)[self.layer][max(a, c * ch) - c * ch:min(b, (c + 1) * ch) - c * ch]
                     for c in range(a // ch, (b - 1) // ch + 1)] if b > a else []
            return np.concatenate(parts)
        if not 0 <= key < n:
            raise IndexError(f"image {key} of {n}")
        return self.p._chunk(key // ch)[self.layer][key % ch]
