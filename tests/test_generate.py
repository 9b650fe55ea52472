"""Network generator: committed tops are what the generator writes (drift), and unsupported
networks fail with a message naming the layer and the reason."""
import copy

import numpy as np
import pytest

from int8cnn.export import load_network
from int8cnn.export import fold_words
from int8cnn.networks import NETWORKS
from int8cnn.generate import GEN_DIR, fold_roms, generate_top
from int8cnn.hardware import (UnsupportedLayer, default_mults, expected_ii, fifo_depth, fold_cycles,
                              layer_cycles, layer_mults, layer_products, top_name)

from int8cnn.paths import ROOT
NETS = sorted(p.name for p in (ROOT / "weights").iterdir() if (p / "manifest.json").exists())
# committed folded tops besides the default ones: (network, mults) -> rtl/generated/cnn_<net>_m<mults>.v
FOLDED = [(n, m) for n in NETS for m in NETWORKS[n].extra_folds]


def test_every_exported_network_has_a_generated_top():
    assert "default" in NETS
    for net in NETS:  # fully parallel, or folded to the network's default (seed000)
        name = top_name(net, default_mults(net))
        assert (GEN_DIR / f"{name}.v").exists(), f"no generated top {name} for {net}"


@pytest.mark.parametrize("net", NETS)
def test_committed_top_matches_generator(net):
    q = load_network(ROOT / "weights" / net)
    m = default_mults(net)
    committed = (GEN_DIR / f"{top_name(net, m)}.v").read_text()
    assert generate_top(q, m) == committed, (
        f"rtl/generated/{top_name(net, m)}.v drifted: run `int8cnn generate --net {net}`"
        + (f" --mults {m}" if m else ""))


@pytest.mark.parametrize("net, mults", FOLDED)
def test_committed_folded_top_matches_generator(net, mults):
    q = load_network(ROOT / "weights" / net)
    name = top_name(net, mults)
    committed = (GEN_DIR / f"{name}.v").read_text()
    assert generate_top(q, mults) == committed, (
        f"rtl/generated/{name}.v drifted: run `int8cnn generate --net {net} --mults {mults}`")


FOLDED_TOPS = sorted({(n, default_mults(n)) for n in NETS if default_mults(n)} | set(FOLDED))


@pytest.mark.parametrize("net, mults", FOLDED_TOPS)
def test_committed_weight_roms_match_generator(net, mults):
    """rtl/generated/<top>/ holds exactly the folded layers' chunk-ordered ROMs write_top writes."""
    q = load_network(ROOT / "weights" / net)
    rom_dir = GEN_DIR / top_name(net, mults)
    want = fold_roms(q, mults)
    assert want, f"{net} at {mults} multipliers folds no layer"
    got = {p.name: p.read_text() for p in rom_dir.iterdir()}
    assert sorted(got) == sorted(want), f"{rom_dir}: files differ"
    differ = [f for f in want if got[f] != want[f]]
    assert not differ, (f"{rom_dir}: {differ} drifted: run `int8cnn generate --net {net} "
                        f"--mults {mults}`")
    assert f'parameter FOLD_DIR = "rtl/generated/{top_name(net, mults)}"' in generate_top(q, mults)


def test_every_rom_directory_belongs_to_a_top():
    for d in GEN_DIR.iterdir():
        if d.is_dir():
            assert (GEN_DIR / f"{d.name}.v").exists(), f"{d}: no generated top {d.name}.v"


def _unfold(words, mults, sets, n):
    """Inverse of fold_words: [sets, n] product weights from the chunk-ordered words."""
    from int8cnn.memfile import unpack_lanes
    t = -(-n // mults)
    assert len(words) == sets * t
    lanes = np.array([unpack_lanes(w, mults, 8, signed=True) for w in words]).reshape(sets, t * mults)
    assert not lanes[:, n:].any(), "padding products must have zero weights"
    return lanes[:, :n]


@pytest.mark.parametrize("mults", [1, 5, 8, 64, 147])
def test_fold_words_follow_the_rtl_product_order(mults):
    """Product n of a conv window is (lane L = n // C_OUT, channel oc = n % C_OUT), L = (ky*K+kx)*C_IN
    + ic (rtl/conv2d.v); of a depthwise window lane n, channel n % C; of a dense beat p (lane
    c = n // OUT, output o = n % OUT), weight W[o][c*H*W + p] (rtl/dense.v). Rebuilt here with
    explicit loops and compared with the unpacked ROM."""
    from int8cnn.qnet import QLayer

    def layer(kind, name, weight, in_shape, groups=1):
        return QLayer(name=name, type=kind, in_shape=in_shape, out_shape=[len(weight), 1, 1],
                      in_signed=True, out_signed=True, groups=groups, weight=weight)
    rng = np.random.default_rng(mults)
    ci, co, k = 3, 7, 3
    w = rng.integers(-128, 128, size=(co, ci, k, k))
    conv = layer("conv2d", "c", w, [ci, k, k])
    want = [w[n % co, (n // co) % ci, (n // co) // ci // k, (n // co) // ci % k]
            for n in range(co * ci * k * k)]
    if mults <= len(want):
        assert _unfold(fold_words(conv, mults), mults, 1, len(want)).tolist() == [want]
    wd = rng.integers(-128, 128, size=(5, 1, k, k))
    dw = layer("conv2d", "d", wd, [5, k, k], groups=5)
    want = [wd[n % 5, 0, (n // 5) // k, (n // 5) % k] for n in range(5 * k * k)]
    if mults <= len(want):
        assert _unfold(fold_words(dw, mults), mults, 1, len(want)).tolist() == [want]
    c, h, wi, out = 4, 2, 3, 10
    W = rng.integers(-128, 128, size=(out, c * h * wi))
    dense = layer("dense", "f", W, [c, h, wi])
    want = [[W[n % out, (n // out) * h * wi + p] for n in range(c * out)] for p in range(h * wi)]
    if mults <= c * out:
        assert _unfold(fold_words(dense, mults), mults, h * wi, c * out).tolist() == want
    with pytest.raises(ValueError, match="mults"):
        fold_words(dense, c * out + 1)


def test_write_top_writes_the_roms_beside_the_top(tmp_path):
    from int8cnn.generate import write_top
    q = load_network(ROOT / "weights" / "default")
    path = write_top(q, tmp_path, 8)
    assert path == tmp_path / "cnn_default_m8.v"
    assert sorted(p.name for p in (tmp_path / "cnn_default_m8").iterdir()) == ["conv1_weight.mem",
                                                                               "fc1_weight.mem"]
    # outside the repository the top names its ROM directory by absolute path
    assert f'parameter FOLD_DIR = "{(tmp_path / "cnn_default_m8").resolve().as_posix()}"' in path.read_text()
    # unfolded: no ROM directory, no FOLD_DIR
    assert "FOLD_DIR" not in write_top(q, tmp_path).read_text()
    assert not (tmp_path / "cnn_default").exists()


def test_folded_top_sets_mults_per_layer():
    q = load_network(ROOT / "weights" / "default")
    text = generate_top(q, 8)
    assert "module cnn_default_m8 #(" in text and text.count(".MULTS(8)") == 2  # conv1, fc1
    assert generate_top(q, 1).count(".MULTS(1)") == 2
    # MULTS = min(mults, products): fc1 has 30 products per beat, conv1 147 per window
    assert ".MULTS(30)" in generate_top(q, 100) and ".MULTS(100)" in generate_top(q, 100)
    assert ".MULTS(" not in generate_top(q)
    with pytest.raises(ValueError):
        generate_top(q, 0)


def test_expected_ii_formula():
    q = load_network(ROOT / "weights" / "default")
    conv1, pool1, fc1 = q.layers
    assert expected_ii(q) == 784  # unfolded: one input pixel per clock
    assert [layer_mults(l, 8) for l in (conv1, fc1)] == [8, 8]
    assert fold_cycles(147, 8) == 19 and fold_cycles(30, 8) == 4 and fold_cycles(30, 30) == 1
    assert fold_cycles(30, 0) == 1 and fold_cycles(30, None) == 1
    # conv1: 22*22 windows of 19 cycles, plus one cycle for each of the 784-484 pixels that
    # complete no window; fc1: 121 beats of 4 cycles
    assert layer_cycles(conv1, 8) == 22 * 22 * 18 + 28 * 28 == 9496
    assert layer_cycles(fc1, 8) == 121 * 4
    assert layer_cycles(pool1, 8) == 22 * 22
    assert expected_ii(q, 8) == 9496
    assert expected_ii(q, 147) == 784 and expected_ii(q, 1000) == 784
    for net in NETS:  # unfolded: the largest (padded) conv input or the 28x28 input
        qn = load_network(ROOT / "weights" / net)
        assert expected_ii(qn) == max(28 * 28, *[(l.in_shape[1] + 2 * l.padding) * (l.in_shape[2] + 2 * l.padding)
                                                  for l in qn.layers if l.type == "conv2d"])


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
    (lambda q: setattr(q.layers[1], "type", "upsample2d"), ["pool1", "upsample2d"]),
    (lambda q: (setattr(q.layers[1], "type", "avgpool2d"), setattr(q.layers[1], "stride", 1)),
     ["pool1", "stride == kernel"]),
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


def test_pow2_layer_builds_shift_only_requant():
    """A layer with requant 'pow2' gets POW2 = 1 from network.vh on its requant instance."""
    from int8cnn.export import network_vh
    q = _qnet_with(lambda q: (setattr(q.layers[0], "requant", "pow2"),
                              setattr(q.layers[0], "mult", np.ones(3, dtype=np.int64))))
    vh = network_vh(q)
    assert "localparam integer CONV1_POW2 = 1;" in vh
    assert "localparam integer CONV1_POW2 = 0;" in network_vh(load_network(ROOT / "weights" / "default"))
    assert ".POW2(CONV1_POW2)" in generate_top(q)


def test_avgpool_and_act_lut_map_to_their_modules():
    q = load_network(ROOT / "weights" / "seed002")
    text = generate_top(q)
    assert text.count("    act_lut #(") == 2 and text.count("    avgpool2d #(") == 1
    assert "u_pool2_rq" in text and '"/act1_table.mem"' in text


# ----------------------------------------------------------------------------- residual graphs

def _residual_net(skip_first: bool, width: int = 14):
    """pool1 -> {conv2 (3x3 pad 1) -> conv3 (3x3 pad 1), identity} -> add1 -> fc1, with the add's
    inputs in either order."""
    from int8cnn.qnet import QLayer, QNet
    c = 4
    shp = [c, width, width]
    conv = lambda n, src=None: QLayer(name=n, type="conv2d", in_shape=shp, out_shape=shp,  # noqa: E731
                                      in_signed=False, out_signed=False, kernel=3, padding=1,
                                      inputs=src, mult=np.ones(c), shift=np.zeros(c),
                                      clamp=[0, 255])
    layers = [QLayer(name="pool1", type="maxpool2d", in_shape=[c, 2 * width, 2 * width],
                     out_shape=shp, in_signed=False, out_signed=False, kernel=2, stride=2),
              conv("conv2"), conv("conv3"),
              QLayer(name="add1", type="add", in_shape=shp, out_shape=shp, in_signed=False,
                     out_signed=False, mult=np.array([1, 1]), shift=np.array([0]), clamp=[0, 255],
                     inputs=["pool1", "conv3"] if skip_first else ["conv3", "pool1"]),
              QLayer(name="fc1", type="dense", in_shape=shp, out_shape=[10, 1, 1],
                     in_signed=False, out_signed=True)]
    return QNet("res", [1, 28, 28], layers)


@pytest.mark.parametrize("skip_first", [False, True])
@pytest.mark.parametrize("width", [7, 14])
def test_skip_fifo_depth_from_branch_latency(skip_first, width):
    """Two padded 3x3 convs emit the add's beat (r, c) only after the fork delivered beat
    (r+2, c+2): the identity branch has meanwhile run 2*W + 3 beats ahead. Its FIFO holds that
    plus SKIP_FIFO_SLACK, rounded up to a power of two, whichever port it is on; the conv branch
    gets none."""
    from int8cnn.hardware import SKIP_FIFO_SLACK, branches, skip_fifo_depths
    q = _residual_net(skip_first, width)
    add = q.layer("add1")
    fork, la, lb = branches(q, add)
    assert fork == "pool1"
    ahead = 2 * width + 3
    want = 2
    while want < ahead + SKIP_FIFO_SLACK:
        want *= 2
    depths = skip_fifo_depths(q, add)
    assert depths == ((want, 0) if skip_first else (0, want))
    assert [l.name for l in (lb if skip_first else la)] == ["conv2", "conv3"]


def test_committed_residual_top_forks_and_buffers_the_skip():
    q = load_network(ROOT / "weights" / "seed003")
    text = generate_top(q, default_mults("seed003"))
    assert text.count("    axis_fork #(") == 2 and text.count("    eltwise_add #(") == 2
    # block 1: the identity skip waits in a FIFO; block 2: the 1x1 conv skip does too
    assert "u_add1_b_fifo" in text and "u_add2_b_fifo" in text and "u_add1_a_fifo" not in text
    assert ".s_axis_tdata(pool1_tdata)" in text  # the fork reads pool1, the tap sees it unforked


def test_three_consumers_rejected():
    q = _residual_net(False)
    q.layers.insert(4, copy.deepcopy(q.layer("conv2")))
    q.layers[4].name, q.layers[4].inputs = "conv9", ["pool1"]
    with pytest.raises(UnsupportedLayer, match="pool1 has 3 consumers"):
        generate_top(q)


def test_folded_unpadded_conv_gets_a_decoupling_fifo():
    """A folded 1x1 conv (seed004 conv5 on 14x14) gets a FIFO of a row + 4 beats (a power of two)
    in front; the same conv unfolded, or reading the image, gets none."""
    q = load_network(ROOT / "weights" / "seed004")
    conv5 = q.layer("conv5")
    assert conv5.kernel == 1 and conv5.padding == 0 and conv5.in_shape[2] == 14
    assert fifo_depth(conv5, 64) == 32 and fifo_depth(conv5, None) == 0
    assert fifo_depth(q.layer("conv7"), 64) == 16                  # 7 wide: 7 + 4 -> 16
    assert fifo_depth(conv5, layer_products(conv5)) == 0          # fully parallel: T = 1
    text = generate_top(q, 64)
    assert "u_conv5_fifo" in text and "u_conv1_fifo" not in text   # conv1 reads the image
