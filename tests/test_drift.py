"""Generated files must be reproducible: every committed weights/<net>/ and golden/<net>/ is what the
flow regenerates today, byte for byte (a manifest's float scales to their last digits: see
SCALE_RTOL)."""
from __future__ import annotations

import argparse
import json
import math
import os
import re

import numpy as np
import pytest

from int8cnn import coverset as cs
from int8cnn.cli import quantized
from int8cnn.data import dataset_of
from int8cnn.export import export, load_network
from int8cnn.vectors import read_input_images, read_labels, write_vectors

from flowtools import GOLDEN, WEIGHTS, dir_files, mnist_unavailable

NETS = sorted(p.name for p in WEIGHTS.iterdir() if (p / "manifest.json").exists())


def test_every_network_has_golden_vectors():
    assert "default" in NETS
    assert NETS == sorted(p.name for p in GOLDEN.iterdir() if (p / "vectors.json").exists())


# The float scales a manifest records (scale_in, scale_out, informational: the RTL and the golden model
# use only the integers) come from a float64 calibration convolution whose last bit depends on the
# machine's BLAS code path (seen 2026-12-02: 4 of the 8 manifests differed in the 17th digit of a
# scale on an AVX-512/AMX machine, every integer and every .mem file equal). They are compared to
# this relative tolerance; every other manifest value and every other file byte for byte.
SCALE_RTOL = 1e-12


def manifest_differences(want, got, path: str = "") -> list[str]:
    """Where two parsed manifests differ: floats beyond SCALE_RTOL, anything else at all."""
    if isinstance(want, dict) and isinstance(got, dict):
        if sorted(want) != sorted(got):
            return [f"{path}: keys {sorted(set(want) ^ set(got))}"]
        return [d for k in want for d in manifest_differences(want[k], got[k], f"{path}.{k}")]
    if isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            return [f"{path}: {len(want)} entries, regenerated {len(got)}"]
        return [d for i, (a, b) in enumerate(zip(want, got))
                for d in manifest_differences(a, b, f"{path}[{i}]")]
    if type(want) is float and type(got) is float:
        return [] if math.isclose(want, got, rel_tol=SCALE_RTOL) else [f"{path}: {want} != {got}"]
    return [] if (type(want), want) == (type(got), got) else [f"{path}: {want!r} != {got!r}"]


def test_manifest_comparison_can_fail():
    """The comparison above tolerates only a float's last digits: an integer, a string, a key, a
    list length or a float beyond SCALE_RTOL is a difference."""
    m = json.loads((WEIGHTS / "default" / "manifest.json").read_text())
    assert manifest_differences(m, json.loads(json.dumps(m))) == []
    s = m["layers"][0]["scale_out"]
    for change, expect in ((lambda c: c["layers"][0].update(scale_out=s * (1 + 1e-15)), False),
                           (lambda c: c["layers"][0].update(scale_out=s * (1 + 1e-9)), True),
                           (lambda c: c["layers"][0].update(scale_out=float(round(s * 1e3))), True),
                           (lambda c: c["layers"][0].update(zero_point_out=1), True),
                           (lambda c: c["layers"][0].update(name="convX"), True),
                           (lambda c: c["layers"][0].pop("name"), True),
                           (lambda c: c["layers"].pop(), True)):
        c = json.loads(json.dumps(m))
        change(c)
        assert bool(manifest_differences(m, c)) == expect


@pytest.mark.parametrize("net", NETS)
def test_weights_regenerate_byte_for_byte(tmp_path, net):
    """Re-quantize the committed checkpoint exactly as `int8cnn export` does; every file matches.
    Calibration reads the first 1000 images of the network's full training split ($MNIST_DIR for
    MNIST; without it the test skips naming the missing file, and fails under
    INT8CNN_REQUIRE_MNIST=1 as in CI)."""
    if dataset_of(net) == "mnist" and not os.environ.get("MNIST_DIR"):
        mnist_unavailable(f"test_weights_regenerate_byte_for_byte[{net}] (calibration)", "train")
    args = argparse.Namespace(net=net, weights=None, checkpoint=str(WEIGHTS / f"{net}.pt"),
                              requant=None, data=None, dataset=dataset_of(net))
    _, q = quantized(args)
    out = export(q, tmp_path / net)
    got, want = dir_files(out), dir_files(WEIGHTS / net)
    assert sorted(got) == sorted(want)
    differ = [f for f in want if got[f] != want[f] and f != "manifest.json"]
    assert not differ, f"regenerated files differ from weights/{net}/: {differ}"
    off = manifest_differences(json.loads(want["manifest.json"]), json.loads(got["manifest.json"]))
    assert not off, f"regenerated weights/{net}/manifest.json differs: {off[:5]}"
    # the manifest records no machine-specific path
    meta = json.loads(want["manifest.json"])["meta"]
    assert "/" not in meta["checkpoint"]


@pytest.mark.parametrize("net", NETS)
def test_golden_vectors_regenerate_byte_for_byte(tmp_path, net):
    gdir = GOLDEN / net
    info = json.loads((gdir / "vectors.json").read_text())
    images, labels = read_input_images(gdir), read_labels(gdir)
    assert len(images) == info["images"] == len(info["indices"])
    q = load_network(WEIGHTS / net)
    out = tmp_path / net
    write_vectors(q, images, labels, info["indices"], out, info["source"], info["why"],
                  info["unhit"])
    got, want = dir_files(out), dir_files(gdir)
    assert sorted(got) == sorted(want)
    differ = [f for f in want if got[f] != want[f]]
    assert not differ, f"regenerated vectors differ from golden/{net}/: {differ}"
    # every layer of the network has a vector file with N*H*W lines
    for l in q.layers:
        lines = (gdir / f"{l.name}.mem").read_text().count("\n")
        assert lines == info["images"] * l.out_shape[1] * l.out_shape[2], l.name


def _test_split(request, net):
    """The network's test split (MNIST via $MNIST_DIR, or Fashion-MNIST), or skip/fail."""
    if dataset_of(net) != "fashion":
        return request.getfixturevalue("mnist_test")
    from int8cnn.data import DatasetError, load_mnist
    try:
        return load_mnist("test", dataset="fashion")
    except DatasetError as e:  # Debian package dataset-fashion-mnist (make setup installs it)
        pytest.fail(str(e)) if os.environ.get("INT8CNN_REQUIRE_MNIST") == "1" else pytest.skip(str(e))


@pytest.mark.parametrize("net", NETS)
def test_golden_set_holds_what_it_claims(request, net):
    """golden/<net>/ is int8cnn.coverset's choice, checked claim by claim on every network (the
    whole choice is rerun for the default network below; for all, nightly): the test images are
    the dataset's at vectors.json's indices; each crafted image is its recipe, with the golden
    prediction as label; the tie image ties; each saturation image hits its bin; each class image
    is the first of its digit predicted correctly / mispredicted; every saturation bin not listed
    in `unhit` is hit by some golden image, none listed is; the unreachable ones are exactly those
    the interval bounds exclude."""
    x, y = _test_split(request, net)
    gdir = GOLDEN / net
    info = json.loads((gdir / "vectors.json").read_text())
    q = load_network(WEIGHTS / net)
    imgs, labels = read_input_images(gdir), read_labels(gdir)
    idx, why = np.array(info["indices"]), info["why"]
    assert len(imgs) == len(labels) == len(idx) == len(why) == info["images"]
    real = idx >= 0
    assert np.array_equal(imgs[real], x[idx[real]]) and np.array_equal(labels[real], y[idx[real]])
    margins, logits = cs.evaluate(q, imgs)
    pred = np.argmax(logits, axis=1)
    assert np.array_equal(labels[~real], pred[~real])
    bins = [cs.bin_name(b) for b in cs.saturation_bins(q)]
    recipes = {**cs.first_conv_extremes(q), **cs.patterns(x[0])}
    for n, w in enumerate(why):
        kind, _, rest = w.partition(": ")
        if kind == "crafted":
            assert np.array_equal(imgs[n], recipes[rest]), w
        elif kind == "tie":
            assert cs.top2_gap(logits[n:n + 1])[0] == 0, w
        elif kind == "saturation":
            named = re.findall(r"\b\w+:\d+:(?:low|high)\b", rest)
            assert named and all(margins[n, bins.index(b)] > 0 for b in named), w
        else:
            assert kind == "class", w
            d, ok = int(rest.split()[5]), rest.endswith("predicted correctly")
            assert real[n] and y[idx[n]] == d and (pred[n] == d) == ok, w
            before = np.flatnonzero(y[:idx[n]] == d)
            if len(before):
                right = np.argmax(cs.evaluate(q, x[before])[1], axis=1) == d
                assert (right != ok).all(), f"{w}: an earlier test image of {d} is {rest[27:]} too"
    hit = dict(zip(bins, (margins > 0).any(axis=0)))
    unhit = info["unhit"]
    assert sorted(b for b in bins if not hit[b]) == sorted(b for b in unhit if b in hit)
    assert {b: r for b, r in unhit.items() if r.startswith("unreachable")} == cs.unreachable(q)


def test_default_golden_set_is_rechosen_identically(mnist_test):
    """The default network's golden set is exactly what `int8cnn golden` chooses today (images,
    order, indices, reasons, unhit bins): the whole search reruns (about 10 s)."""
    q = load_network(WEIGHTS / "default")
    c = cs.choose(q, *mnist_test)
    info = json.loads((GOLDEN / "default" / "vectors.json").read_text())
    assert c.indices == info["indices"] and c.why == info["why"] and c.unhit == info["unhit"]
    assert np.array_equal(c.images, read_input_images(GOLDEN / "default"))
    assert np.array_equal(c.labels, read_labels(GOLDEN / "default"))
