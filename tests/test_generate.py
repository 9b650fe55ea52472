"""Network generator: committed tops are what the generator writes (drift), and unsupported
networks fail with a message naming the layer and the reason."""
import copy
from pathlib import Path

import numpy as np
import pytest

from int8cnn.export import load_network
from int8cnn.generate import GEN_DIR, UnsupportedLayer, fifo_depth, generate_top, top_name

ROOT = Path(__file__).resolve().parent.parent
NETS = sorted(p.name for p in (ROOT / "weights").iterdir() if (p / "manifest.json").exists())


def test_every_exported_network_has_a_generated_top():
    assert "default" in NETS
    for net in NETS:
        assert (GEN_DIR / f"{top_name(net)}.v").exists(), f"no generated top for {net}"


@pytest.mark.parametrize("net", NETS)
def test_committed_top_matches_generator(net):
    q = load_network(ROOT / "weights" / net)
    committed = (GEN_DIR / f"{top_name(net)}.v").read_text()
    assert generate_top(q) == committed, f"rtl/generated/{top_name(net)}.v drifted: run `int8cnn generate --net {net}`"


def test_generator_is_deterministic_and_wires_every_layer():
    q = load_network(ROOT / "weights" / "default")
    a, b = generate_top(q), generate_top(copy.deepcopy(q))
    assert a == b
    for l in q.layers:
        assert f"tap_{l.name}_tdata" in a and f"u_{l.name}" in a
    assert "u_conv1_rq" in a and "u_fc1_rq" not in a  # logits layer has no requant


def _qnet_with(mutate):
    q = copy.deepcopy(load_network(ROOT / "weights" / "default"))
    mutate(q)
    return q


@pytest.mark.parametrize("mutate, words", [
    (lambda q: setattr(q.layers[1], "type", "avgpool2d"), ["pool1", "avgpool2d"]),
    (lambda q: setattr(q.layers[2], "acc_bits", 40), ["fc1", "40 bits"]),
    (lambda q: setattr(q.layers[2], "mult", np.ones(10, dtype=np.int64)), ["fc1", "logits"]),
    (lambda q: setattr(q.layers[0], "mult", None), ["conv1", "raw accumulators"]),
    (lambda q: setattr(q.layers[0], "zero_point_in", 3), ["conv1", "zero point"]),
])
def test_unsupported_layer_is_named(mutate, words):
    with pytest.raises(UnsupportedLayer) as e:
        generate_top(_qnet_with(mutate))
    for w in words:
        assert w in str(e.value)


def test_fifo_depth_covers_padding_burst():
    q = load_network(ROOT / "weights" / "default")
    conv = copy.deepcopy(q.layers[0])
    conv.padding, conv.in_shape = 1, [8, 14, 14]
    assert fifo_depth(conv) >= 2 * 1 * (14 + 2 + 1) and fifo_depth(conv) & (fifo_depth(conv) - 1) == 0
