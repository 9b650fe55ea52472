"""The per-image driver's Python pieces, without a simulator: capture-file decoding (tb/harness.py),
the pixel file, the stall vocabulary's model (tb/stalls.py), the generated harness text, and the
report's shard check (int8cnn.report.index_check)."""
from __future__ import annotations

import sys
from itertools import groupby, islice

import numpy as np
import pytest

from flowtools import ROOT, WEIGHTS

sys.path.insert(0, str(ROOT / "tb"))

from harness import (CaptureError, CaptureFile, harness_text, pixels_hex, split_images,  # noqa: E402
                     streams, vlt_text)
from stalls import STALLS, Gen, check_stall, pause_generators, pauses  # noqa: E402


def capture_line(cycle: int, last: int, lanes, bits: int) -> bytes:
    """One record as tb_capture's $fwrite("%h %h %h\\n") prints it (lane 0 least significant)."""
    word = 0
    for i, v in enumerate(lanes):
        word |= (int(v) & ((1 << bits) - 1)) << (i * bits)
    digits = len(lanes) * bits // 4
    return f"{cycle:08x} {last:x} {word:0{digits}x}\n".encode()


def test_capture_decodes_signed_lanes_and_waits_for_whole_records(tmp_path):
    rng = np.random.default_rng(0)
    lanes = rng.integers(-2 ** 31, 2 ** 31, size=(5, 11))
    text = b"".join(capture_line(100 + k, int(k == 4), lanes[k], 32) for k in range(5))
    f = tmp_path / "result.cap"
    f.write_bytes(text[:-7])                      # the last record is not complete yet
    cap = CaptureFile(f, 11 * 32, 11, 32, signed=True)
    cyc, last, got = cap.read()
    assert cyc.tolist() == [100, 101, 102, 103] and not last.any()
    assert np.array_equal(got, lanes[:4])
    f.write_bytes(text)
    cyc, last, got = cap.read()
    assert cyc.tolist() == [104] and last.tolist() == [True] and np.array_equal(got, lanes[4:])
    assert cap.read()[0].size == 0


def test_capture_unsigned_bytes(tmp_path):
    lanes = np.array([[0, 255, 128], [1, 2, 3]])
    f = tmp_path / "conv1.cap"
    f.write_bytes(b"".join(capture_line(7, 0, r, 8) for r in lanes))
    _, _, got = CaptureFile(f, 24, 3, 8, signed=False).read()
    assert np.array_equal(got, lanes)
    _, _, got = CaptureFile(f, 24, 3, 8, signed=True).read()
    assert got[0].tolist() == [0, -1, -128]


def test_capture_x_names_file_and_cycle(tmp_path):
    f = tmp_path / "pool1.cap"
    f.write_bytes(capture_line(3, 0, [1, 2], 8) + b"0000002a 0 0x01\n")
    with pytest.raises(CaptureError, match=r"pool1.cap: X or Z on a valid beat at cycle 42"):
        CaptureFile(f, 16, 2, 8, signed=False).read()


def test_capture_rejects_lanes_that_do_not_fill_tdata(tmp_path):
    with pytest.raises(ValueError, match="lanes"):
        CaptureFile(tmp_path / "x.cap", 30, 3, 10, signed=False)


def test_split_images():
    last = np.array([0, 0, 1, 0, 1, 0], dtype=bool)
    assert split_images(last) == [(0, 3), (3, 5)]
    assert split_images(np.zeros(3, dtype=bool)) == []


def test_pixels_hex_reads_back_and_pads():
    img = np.arange(2 * 784, dtype=np.int64).reshape(2, 28, 28) % 256
    text = pixels_hex(img, pad_to=3).decode().split()
    assert len(text) == 3 * 784
    assert [int(t, 16) for t in text[:2 * 784]] == img.reshape(-1).tolist()
    assert set(text[2 * 784:]) == {"00"}


def test_stall_model_patterns():
    assert list(islice(pauses(Gen(1, 4, 3), 1), 8)) == [1, 1, 1, 0, 1, 1, 1, 0]
    assert set(islice(pauses(Gen(0), 1), 100)) == {0}
    r = list(islice(pauses(STALLS["random"][0], 12345), 20000))
    assert 0.27 < np.mean(r) < 0.33                        # 30% idle
    b = list(islice(pauses(STALLS["random"][1], 12345), 60000))
    runs = [(v, len(list(g))) for v, g in groupby(b)]
    assert max(n for v, n in runs if v == 0) <= 8          # ready runs of 1..4 (two, if a pause is 0)
    assert max(n for v, n in runs if v == 1) <= 3000       # not-ready runs of 0..3000
    assert 0.9 < np.mean(b) < 1.0
    idle, bp = pause_generators("none", 1)
    assert idle is None and bp is None


def test_unknown_stall_lists_the_allowed():
    with pytest.raises(ValueError, match="unknown stall pattern 'bogus'; expected one of none, idle"):
        check_stall("bogus")


def test_harness_captures_every_tap_and_the_result():
    from int8cnn.export import load_network
    q = load_network(WEIGHTS / "seed003")
    text = harness_text(q, "cnn_seed003_m64", folded=True)
    names = [s for s, *_ in streams(q)]
    assert names[-1] == "result" and names[:-1] == [l.name for l in q.layers]
    for s, prefix, w, beats in streams(q):
        assert f'tb_capture #(.DATA_W({w}), .BEATS({beats}), .FILE("{s}.cap")' in text
        if s != "result":
            assert f".{prefix}_tdata({s}_tdata)" in text
    assert ".FOLD_DIR(FOLD_DIR)" in text
    assert "public-flat-rw" not in vlt_text("cnn_seed003_m64")
    assert 'public_flat_rw -module "tb_cnn_seed003_m64"' in vlt_text("cnn_seed003_m64")


def test_report_index_check():
    from int8cnn.report import index_check
    assert index_check(range(10), 10) == ""
    assert "1 dataset indices missing (first [3])" in index_check([0, 1, 2, 4, 5], 6)
    assert "reported more than once (first [2])" in index_check([0, 1, 2, 2, 3], 4)
    assert "outside 0..3" in index_check([0, 1, 2, 3, 9], 4)


@pytest.mark.parametrize("args, message", [
    (["--stall", "bogus"], "unknown stall pattern 'bogus'; expected one of none, idle, backpressure"),
    (["--net", "nonet"], "unknown network 'nonet' (no weights/nonet/manifest.json); expected one of"),
    (["--dataset", "{empty}"], "test split not found"),
    (["--dataset", "{short}"], "IDX size mismatch"),
    (["--tests", "regresion"], "--tests 'regresion' selects no test of tb/test_top_image.py; its "
                               "tests: regression, stress, fault_detected"),
    (["--tests", "x(", "--driver", "beat"], "--tests 'x(': not a regular expression"),
    (["--tests", "reset", "--driver", "image"], "its tests: regression, stress, fault_detected"),
])
def test_bad_top_level_options_fail_before_any_build(tmp_path, args, message):
    """tb/run_top.py (make sim / make regress): one line naming the bad value and what is allowed,
    exit 2, and no build directory."""
    import subprocess
    empty = tmp_path / "empty"
    empty.mkdir()
    short = tmp_path / "short"
    short.mkdir()
    (short / "t10k-images-idx3-ubyte").write_bytes(bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28])
                                                   + bytes(784))  # says 2 images, holds 1
    (short / "t10k-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 2, 7, 2]))
    args = [a.format(empty=empty, short=short) for a in args]
    build = f"badopt-{tmp_path.name}"
    res = subprocess.run([sys.executable, str(ROOT / "tb" / "run_top.py"), "--sim", "verilator",
                          "--build-name", build, *args], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, res.stdout + res.stderr
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and message in err[0], res.stderr
    assert not (ROOT / "sim_build" / build).exists()
