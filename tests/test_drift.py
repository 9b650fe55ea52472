"""Generated files must be reproducible: every committed weights/<net>/ and golden/<net>/ is what the
flow regenerates today, byte for byte."""
from __future__ import annotations

import argparse
import json
import os

import numpy as np
import pytest

from int8cnn.cli import quantized
from int8cnn.data import dataset_of
from int8cnn.export import export, load_network
from int8cnn.vectors import read_input_images, read_labels, select_images, write_vectors

from flowtools import GOLDEN, WEIGHTS, dir_files, mnist_unavailable

NETS = sorted(p.name for p in WEIGHTS.iterdir() if (p / "manifest.json").exists())


def test_every_network_has_golden_vectors():
    assert "default" in NETS
    assert NETS == sorted(p.name for p in GOLDEN.iterdir() if (p / "vectors.json").exists())


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
    differ = [f for f in want if got[f] != want[f]]
    assert not differ, f"regenerated files differ from weights/{net}/: {differ}"
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
    write_vectors(q, images, labels, info["indices"], out, source=info["source"])
    got, want = dir_files(out), dir_files(gdir)
    assert sorted(got) == sorted(want)
    differ = [f for f in want if got[f] != want[f]]
    assert not differ, f"regenerated vectors differ from golden/{net}/: {differ}"
    # every layer of the network has a vector file with N*H*W lines
    for l in q.layers:
        lines = (gdir / f"{l.name}.mem").read_text().count("\n")
        assert lines == info["images"] * l.out_shape[1] * l.out_shape[2], l.name


@pytest.mark.parametrize("net", NETS)
def test_golden_inputs_are_the_dataset_images(request, net):
    """input.mem holds the test images of the network's dataset (MNIST, or Fashion-MNIST for a
    <net>_fashion network) at vectors.json's indices, chosen by select_images."""
    if dataset_of(net) == "fashion":
        from int8cnn.data import DatasetError, load_mnist
        try:
            x, y = load_mnist("test", dataset="fashion")
        except DatasetError as e:  # Debian package dataset-fashion-mnist (make setup installs it)
            pytest.fail(str(e)) if os.environ.get("INT8CNN_REQUIRE_MNIST") == "1" else pytest.skip(str(e))
    else:
        x, y = request.getfixturevalue("mnist_test")
    gdir = GOLDEN / net
    info = json.loads((gdir / "vectors.json").read_text())
    idx = np.array(info["indices"])
    assert info["images"] % 10 == 0
    per_class = info["images"] // 10
    assert np.array_equal(select_images(y, per_class), idx)
    assert np.array_equal(read_input_images(gdir), x[idx])
    assert np.array_equal(read_labels(gdir), y[idx])
    # and the rule means what it says: the first per_class images of every digit
    for d in range(10):
        assert idx[y[idx] == d].tolist() == np.flatnonzero(y == d)[:per_class].tolist()
