"""The top-level checker must be able to fail: feed it the golden streams with one value changed and
check it reports exactly that image, layer, channel, row, column, expected and got."""

import numpy as np
import pytest

from int8cnn.paths import ROOT

from scoreboard import Scoreboard, expected_lanes

from int8cnn.export import load_network
from int8cnn.inference import run_network
from int8cnn.vectors import read_input_images, stream_words

GOLDEN = ROOT / "golden" / "default"


@pytest.fixture(scope="module")
def setup():
    q = load_network(ROOT / "weights" / "default")
    images = read_input_images(GOLDEN)[:3]
    outs, pred = run_network(q, images)
    return q, images, outs, pred


def feed(sb, q, outs, n, tamper=None):
    for i in range(n):
        for l in q.layers:
            words = stream_words(outs[l.name][i], l.lane_bits)
            if tamper and tamper[0] == (i, l.name):
                words = tamper[1](words)
            sb.check_layer(l.name, i, words, 0, 1)
        logits = outs[q.layers[-1].name][i].reshape(-1)
        word = int(np.argmax(logits))
        for o, v in enumerate(logits):
            word |= (int(v) & 0xFFFFFFFF) << (32 * (o + 1))
        sb.check_result(i, word, 2)


def test_clean_streams_pass(setup):
    q, images, outs, _ = setup
    sb = Scoreboard(q, expected_lanes(outs, q))
    feed(sb, q, outs, len(images))
    assert sb.n_mismatches == 0 and sb.images_checked == 3
    assert sb.values == 3 * (3 * 484 + 3 * 121 + 10 + 11)


def test_one_flipped_bit_is_located(setup):
    q, images, outs, _ = setup
    sb = Scoreboard(q, expected_lanes(outs, q))
    beat, ch = 5 * 11 + 7, 2  # pool1 row 5, col 7, channel 2

    def flip(words):
        words = list(words)
        words[beat] ^= 1 << (8 * ch + 3)
        return words
    feed(sb, q, outs, len(images), tamper=((1, "pool1"), flip))
    assert sb.n_mismatches == 1 and sb.first_layer_failing() == "pool1"
    m = sb.mismatches[0]
    assert (m.image, m.layer, m.channel, m.row, m.col) == (1, "pool1", 2, 5, 7)
    assert m.expected == outs["pool1"][1, 2, 5, 7] and m.got == m.expected ^ 8


def test_missing_beat_and_wrong_class_are_reported(setup):
    q, images, outs, _ = setup
    sb = Scoreboard(q, expected_lanes(outs, q))
    feed(sb, q, outs, 1, tamper=((0, "conv1"), lambda w: w[:-1]))
    assert sb.by_layer == {"conv1": 1}
    sb.check_result(1, 0xF, 3)  # class 15, all logits 0
    assert "result.class" in sb.by_layer and "result.logits" in sb.by_layer
    assert any(str(m).startswith("image 1 layer result.class") for m in sb.mismatches)
    assert sb.report(limit=3).count("\n") == 3


@pytest.mark.parametrize("prefetch", [False, True])
def test_lazy_expected_equals_the_eager_golden_and_observes_each_chunk_once(prefetch):
    """LazyExpected (chunked golden, a few chunks cached; prefetch: computed ahead in a thread)
    gives the eager arrays for single images and slices across chunk borders; `observe` sees
    every chunk's golden outputs exactly once, even when an evicted chunk is computed again."""
    from scoreboard import LazyExpected
    q = load_network(ROOT / "weights" / "default")
    images = read_input_images(GOLDEN)
    want = expected_lanes(run_network(q, images)[0], q)
    seen = []
    lazy = LazyExpected(q, images, chunk=3, keep=3, observe=lambda cur: seen.append(cur),
                        prefetch=prefetch)
    for name in want:
        np.testing.assert_array_equal(lazy[name][2:11], want[name][2:11])
        for i in range(len(images)):  # chunk 0 evicted by now: computed again
            np.testing.assert_array_equal(lazy[name][i], want[name][i])
    assert len(seen) == -(-len(images) // 3)  # chunks of 3
    got = np.concatenate([s["input"] for s in seen])
    np.testing.assert_array_equal(np.sort(got.reshape(len(got), -1), axis=0),
                                  np.sort(images.reshape(len(images), -1).astype(np.int64), axis=0))
    assert all(set(s) == {"input", *want} for s in seen)


def test_lazy_expected_prefetch_error_reaches_the_reader():
    """An exception in the prefetch thread (here from observe) is raised by the next access;
    it does not hang the scoreboard."""
    from scoreboard import LazyExpected
    q = load_network(ROOT / "weights" / "default")

    def broken(cur):
        raise ValueError("observer failed")

    lazy = LazyExpected(q, read_input_images(GOLDEN), chunk=4, observe=broken, prefetch=True)
    # raised by the thread (RuntimeError naming it) or, if the reader got to chunk 0 first, directly
    with pytest.raises((RuntimeError, ValueError), match="observer failed"):
        for i in range(20):
            lazy["fc1"][i]


def test_stuck_report_names_the_first_short_stream(setup):
    """A beat lost on pool1 of image 1: the report names that image and layer with its beat count
    first, then the stream that is stuck on the oldest image without a result."""
    q, images, outs, _ = setup
    sb = Scoreboard(q, expected_lanes(outs, q))
    feed(sb, q, outs, 1)
    for l in q.layers:  # image 1: conv1 whole, pool1 one beat short, fc1 never finishes
        words = stream_words(outs[l.name][1], l.lane_bits)
        if l.name == "pool1":
            sb.check_layer(l.name, 1, words[:-1], 0, 1)
        elif l.name == "conv1":
            sb.check_layer(l.name, 1, words, 0, 1)
    per = {l.name: l.out_shape[1] * l.out_shape[2] for l in q.layers}
    progress = {"conv1": (3, 0), "pool1": (2, 57), "fc1": (1, 0), "result": (1, 0)}
    text = sb.stuck_report(progress, sent=3, n=3, cycles=4000)
    lines = text.splitlines()
    assert lines[0] == "stuck: no result for 4000 cycles with images outstanding (3 of 3 images sent, 1 results)"
    assert lines[1] == f"first short stream: image 1 layer pool1: {per['pool1'] - 1} of {per['pool1']} beats"
    assert lines[2] == "then first stream stuck: image 1 layer fc1: 0 of 1 beats"
    assert f"pool1 2 + 57/{per['pool1']}" in lines[3]


def test_stuck_report_without_a_wrong_length_names_the_stuck_layer(setup):
    q, images, outs, _ = setup
    sb = Scoreboard(q, expected_lanes(outs, q))
    per = {l.name: l.out_shape[1] * l.out_shape[2] for l in q.layers}
    progress = {"conv1": (1, 17), "pool1": (0, 120), "fc1": (0, 0), "result": (0, 0)}
    lines = sb.stuck_report(progress, sent=2, n=5, cycles=100).splitlines()
    assert lines[1] == f"first stream stuck: image 0 layer pool1: 120 of {per['pool1']} beats"


def test_accuracy_counts_dataset_images_only(setup):
    """A crafted golden image (id -1) has no real label: accuracy_vs_labels leaves it out, and a
    mismatch on it is reported as crafted."""
    q, images, outs, pred = setup
    labels = np.array(pred)
    labels[1] = (labels[1] + 1) % 10        # the one dataset image the model gets wrong
    labels[0] = (labels[0] + 1) % 10        # ignored: image 0 is crafted
    sb = Scoreboard(q, expected_lanes(outs, q), labels, image_ids=np.array([-1, 7, 9]))
    feed(sb, q, outs, 3, tamper=((0, "fc1"), lambda w: [w[0] ^ 1] + w[1:]))
    assert sb.accuracy() == 0.5
    assert "accuracy_vs_labels=50.00%" in sb.summary()
    assert "image 0 (crafted)" in sb.report()
