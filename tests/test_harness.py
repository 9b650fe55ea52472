"""The per-image driver's Python pieces, without a simulator: capture-file decoding (tb/harness.py),
the pixel file, the stall vocabulary's model (tb/stalls.py), the generated harness text, and the
report (int8cnn.report: the shard check, golden classes carried from the run)."""
from __future__ import annotations

import sys
from itertools import groupby, islice

import numpy as np
import pytest

from flowtools import ROOT, WEIGHTS, write_idx


from harness import (CaptureError, CaptureFile, capture_record, harness_text,
                     pixels_hex, split_images, streams, vlt_text)
from stalls import (STALLS, WATCHDOG_IMAGES, Gen, beat_cycles, check_stall, image_cycles,
                    max_wait, pause_generators, pauses, seeds, stall_gens, watchdog_cycles)


def test_capture_decodes_signed_lanes_and_waits_for_whole_records(tmp_path):
    rng = np.random.default_rng(0)
    lanes = rng.integers(-2 ** 31, 2 ** 31, size=(5, 11))
    data = b"".join(capture_record(100 + k, int(k == 4), lanes[k], 32) for k in range(5))
    assert len(data) == 5 * (8 + 11 * 4)
    f = tmp_path / "result.cap"
    f.write_bytes(data[:-7])                      # the last record is not complete yet
    cap = CaptureFile(f, 11 * 32, 11, 32, signed=True)
    cyc, last, got = cap.read()
    assert cyc.tolist() == [100, 101, 102, 103] and not last.any()
    assert np.array_equal(got, lanes[:4])
    f.write_bytes(data)
    cyc, last, got = cap.read()
    assert cyc.tolist() == [104] and last.tolist() == [True] and np.array_equal(got, lanes[4:])
    assert cap.read()[0].size == 0


def test_capture_record_layout_is_tb_captures():
    """{tdata zero-extended to whole words, 31'b0, tlast, cycle} as "%u" writes it: 32-bit words,
    least significant first, little-endian (the layout both simulators were measured to agree on)."""
    rec = capture_record(0x11223344, 1, [0xef, 0xcd, 0xab], 8)
    assert rec == bytes([0x44, 0x33, 0x22, 0x11, 1, 0, 0, 0, 0xef, 0xcd, 0xab, 0])


@pytest.mark.parametrize("bits", [4, 8, 12, 16, 20, 32])
def test_capture_lane_widths(tmp_path, bits):
    """Every lane width a layer can have (whole hex digits), signed and unsigned, across word
    boundaries (e.g. 3 lanes of 12 bits span two words)."""
    rng = np.random.default_rng(bits)
    n_lanes = 3
    lanes = rng.integers(-2 ** (bits - 1), 2 ** (bits - 1), size=(40, n_lanes))
    f = tmp_path / "l.cap"
    f.write_bytes(b"".join(capture_record(k, 0, lanes[k], bits) for k in range(40)))
    _, _, got = CaptureFile(f, n_lanes * bits, n_lanes, bits, signed=True).read()
    assert np.array_equal(got, lanes)
    _, _, got = CaptureFile(f, n_lanes * bits, n_lanes, bits, signed=False).read()
    assert np.array_equal(got, lanes % (1 << bits))


def test_capture_unsigned_bytes(tmp_path):
    lanes = np.array([[0, 255, 128], [1, 2, 3]])
    f = tmp_path / "conv1.cap"
    f.write_bytes(b"".join(capture_record(7, 0, r, 8) for r in lanes))
    _, _, got = CaptureFile(f, 24, 3, 8, signed=False).read()
    assert np.array_equal(got, lanes)
    _, _, got = CaptureFile(f, 24, 3, 8, signed=True).read()
    assert got[0].tolist() == [0, -1, -128]


def test_capture_malformed_record_names_file(tmp_path):
    """A tlast word other than 0 or 1 means the file is not what the reader expects (e.g. a
    record size that disagrees with the harness)."""
    f = tmp_path / "pool1.cap"
    f.write_bytes(capture_record(3, 0, [1, 2], 8) + capture_record(42, 7, [1, 2], 8))
    with pytest.raises(CaptureError, match=r"pool1.cap: malformed record 1 .*tlast word 0x7"):
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


@pytest.mark.parametrize("stall", list(STALLS))
def test_watchdog_bounds_cover_the_stall_model(stall):
    """image_cycles (what the stuck watchdog scales with) bounds what the stall model produces:
    784 input beats never take longer than 784 * beat_cycles, one result beat never waits longer
    than max_wait, over 50 images of each pattern from several seeds."""
    g_in, g_out = stall_gens(stall, 784)
    for seed in (1, 7, 12345):
        s_in, s_out = seeds(seed)
        it = pauses(g_in, s_in)
        for _ in range(50):
            cycles = beats = 0
            while beats < 784:
                cycles += 1
                beats += 1 - next(it)
            assert cycles <= 784 * beat_cycles(g_in), (stall, seed, cycles)
        runs = [len(list(g)) for v, g in groupby(islice(pauses(g_out, s_out), 200000)) if v == 1]
        assert max(runs, default=0) <= max_wait(g_out), (stall, seed, max(runs))
    assert watchdog_cycles(stall, 784) == WATCHDOG_IMAGES * image_cycles(stall, 784) >= 4 * 784


def test_slow_consumer_is_slower_than_the_network():
    """slow_consumer takes a result once in 2 II + 1 cycles (at least 1,501): every network's
    results back up; the other patterns do not depend on the II."""
    assert stall_gens("slow_consumer", 0) == STALLS["slow_consumer"] == (Gen(0), Gen(1, 1501, 1500))
    assert stall_gens("slow_consumer", 784) == (Gen(0), Gen(1, 1569, 1568))
    assert stall_gens("slow_consumer", 56508) == (Gen(0), Gen(1, 113017, 113016))
    for ii in (0, 784, 56508):
        _, g_out = stall_gens("slow_consumer", ii)
        assert beat_cycles(g_out) > ii and image_cycles("slow_consumer", ii) == max(ii, 784) + g_out.b
        for stall in set(STALLS) - {"slow_consumer"}:
            assert stall_gens(stall, ii) == STALLS[stall]
    _, bp = pause_generators("slow_consumer", 3, ii=56508)
    assert list(islice(bp, 113017 * 2)) == ([1] * 113016 + [0]) * 2
    with pytest.raises(ValueError, match="unknown stall pattern 'bogus'"):
        stall_gens("bogus", 784)


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
                               "tests: regression, stress, short_stream_detected, fault_detected"),
    (["--tests", "x(", "--driver", "beat"], "--tests 'x(': not a regular expression"),
    (["--tests", "reset", "--driver", "image"], "its tests: regression, stress, short_stream_detected, fault_detected"),
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


def test_report_golden_classes_from_the_run_equal_a_golden_rerun(tmp_path):
    """report.json carries the golden classes the scoreboard used (golden_predicted); the report
    takes them instead of re-running the golden model, and reaches the same figures as the re-run
    (older report.json without them). A golden class that differs from the RTL's is reported."""
    import json
    from int8cnn.export import load_network
    from int8cnn.inference import run_network
    from int8cnn.report import build
    rng = np.random.default_rng(5)
    x = (rng.random((12, 28, 28)) < 0.3).astype(np.uint8) * 255
    _, gpred = run_network(load_network(WEIGHTS / "default"), x)
    y = np.where(np.arange(12) % 3 == 0, (gpred + 1) % 10, gpred)   # a third of the labels wrong
    data = tmp_path / "data"
    data.mkdir()
    write_idx(data / "t10k-images-idx3-ubyte", x.astype(np.uint8))
    write_idx(data / "t10k-labels-idx1-ubyte", y.astype(np.uint8))
    run = {"predicted": gpred.tolist(), "labels": y.tolist(), "indices": list(range(12)),
           "ii_cycles": 784.0, "latency_cycles": 796.0, "wall_s": 1.0, "images_per_s": 12.0}
    reports = {}
    for name, extra in (("rerun", {}), ("carried", {"golden_predicted": gpred.tolist()})):
        p = tmp_path / name / "report.json"
        p.parent.mkdir()
        p.write_text(json.dumps(dict(run, **extra)))
        reports[name] = build([p], tmp_path / f"out-{name}", "default", data=data, expect_images=12)
    for r in reports.values():
        assert r["golden_accuracy"] == r["rtl_accuracy"] == float((gpred == y).mean())
        assert r["rtl_equals_golden"] is True
    wrong = gpred.copy()
    wrong[4] = (wrong[4] + 1) % 10
    p = tmp_path / "differs" / "report.json"
    p.parent.mkdir()
    p.write_text(json.dumps(dict(run, golden_predicted=wrong.tolist())))
    r = build([p], tmp_path / "out-differs", "default", data=data)
    assert r["rtl_equals_golden"] is False


def test_capture_dump_prints_every_beat(tmp_path, capsys):
    """`python tb/harness.py --net default --dump <stream>.cap`: the capture file as text, one beat a
    line (cycle, tlast, lanes), with the stream's lane layout taken from the network."""
    from harness import main
    f = tmp_path / "pool1.cap"
    f.write_bytes(capture_record(9, 0, [1, 254, 3], 8) + capture_record(11, 1, [128, 127, 0], 8))
    assert main(["--net", "default", "--dump", str(f)]) == 0   # pool1: unsigned (after a ReLU)
    assert capsys.readouterr().out.splitlines() == ["9 0 1 254 3", "11 1 128 127 0"]
    with pytest.raises(SystemExit, match="not a stream of network default .*conv1, pool1, fc1, result"):
        main(["--net", "default", "--dump", str(f.rename(tmp_path / "pool9.cap"))])
