"""Export a QNet to weights/<net>/ ($readmemh .mem files, manifest.json, network.vh) and load it back.

Files and element orders are specified in docs/quantization.md. The export is written to a temporary
directory and renamed into place, so a weights directory is never half-written. `load_network`
validates everything and raises one ManifestError / MemFileError naming the file (and line).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .memfile import (MemFileError, atomic_dir, format_words, pack_lanes, read_values,
                      read_words, write_mem)
from .activations import ACTIVATIONS
from .qnet import (LAYER_TYPES, MAC_TYPES, SHIFT_MAX, QLayer, QNet, acc_bits_for,
                   sum_bits_for)

MANIFEST_VERSION = 1
HEX = {"weight": 2, "bias": 8, "mult": 4, "shift": 2}


class ManifestError(ValueError):
    pass


def dense_words(weight: np.ndarray, in_shape) -> list[int]:
    """Dense weights in RTL address order: word p holds lane o*C+c = weight[o][c*H*W + p]."""
    c, h, w = in_shape
    out = weight.shape[0]
    wr = weight.reshape(out, c, h * w)                 # [o][c][p]
    return [pack_lanes(wr[:, :, p].reshape(-1), 8) for p in range(h * w)]


def product_weights(layer) -> np.ndarray:
    """[sets, N] weights of a conv2d / dense layer in rtl/mac_fold.v product order: row s = the
    weights of operand set s (conv2d: 1 set, every window; dense: input beat p), column n = the
    weight of product n. conv2d: n = L*C_OUT + oc, L = (ky*K+kx)*C_IN + ic (output channel
    innermost), weight w[oc][ic][ky][kx]; depthwise (groups = C): n = L, weight w[L % C][0][ky][kx];
    dense: n = c*OUT + o, weight W[o][c*H*W + p]."""
    w = np.asarray(layer.weight)
    if layer.type == "conv2d":
        if layer.groups != 1:                               # [C,1,K,K] -> [ky][kx][c]
            return w[:, 0].transpose(1, 2, 0).reshape(1, -1)
        return w.transpose(2, 3, 1, 0).reshape(1, -1)       # [ky][kx][ic][oc]
    if layer.type == "dense":
        c, h, wd = layer.in_shape
        return w.reshape(w.shape[0], c, h * wd).transpose(2, 1, 0).reshape(h * wd, -1)  # [p][c][o]
    raise ValueError(f"layer {layer.name} ({layer.type}) has no weights")


def fold_words(layer, mults: int, bits: int = 8) -> list[int]:
    """The chunk-ordered weight ROM of a conv2d / dense layer folded onto `mults` multipliers
    (rtl/mac_fold.v WEIGHT_FILE; conv2d / dense FOLD_FILE): for every set s (product_weights) its
    T = ceil(N / mults) chunks, word s*T + t holding lane m = the weight of product t*mults + m
    (zero beyond N), first lane in the least significant bits. Hex digits per word: mults*bits/4."""
    pw = product_weights(layer)
    sets, n = pw.shape
    if not 1 <= mults <= n:
        raise ValueError(f"layer {layer.name}: mults {mults} must be in 1..{n} (products per set)")
    t = -(-n // mults)
    padded = np.zeros((sets, t * mults), dtype=np.int64)
    padded[:, :n] = pw
    return [pack_lanes(row, bits) for row in padded.reshape(sets * t, mults)]


def fold_text(layer, mults: int) -> str:
    """fold_words of `layer` as $readmemh text: one int8 x mults word (2*mults hex digits) per line."""
    return format_words(fold_words(layer, mults), 2 * mults)


def layer_files(layer: QLayer) -> dict:
    if layer.type in ("maxpool2d", "add"):  # add: MA, MB, S are module parameters (network.vh)
        return {}
    if layer.type == "act_lut":
        return {"table": f"{layer.name}_table.mem"}
    files = {}
    if layer.has_weights:
        files = {"weight": f"{layer.name}_weight.mem", "bias": f"{layer.name}_bias.mem"}
    if layer.mult is not None:
        files.update(mult=f"{layer.name}_mult.mem", shift=f"{layer.name}_shift.mem")
    return files


def layer_manifest(layer: QLayer) -> dict:
    d = {
        "name": layer.name, "type": layer.type,
        "in_shape": list(map(int, layer.in_shape)), "out_shape": list(map(int, layer.out_shape)),
        "kernel": int(layer.kernel), "stride": int(layer.stride), "padding": int(layer.padding),
        "in_signed": bool(layer.in_signed), "out_signed": bool(layer.out_signed),
        "zero_point_in": int(layer.zero_point_in), "zero_point_out": int(layer.zero_point_out),
        "scale_in": float(layer.scale_in), "scale_out": float(layer.scale_out),
        "files": layer_files(layer),
    }
    if layer.inputs is not None:
        d.update(inputs=list(layer.inputs))
    if layer.groups != 1:
        d.update(groups=int(layer.groups))
    if layer.has_weights:
        d.update(acc_bits=int(layer.acc_bits), scale_w=[float(s) for s in layer.scale_w],
                 relu=bool(layer.relu))
        if layer.bias_bits != 32:
            d.update(bias_bits=int(layer.bias_bits))
    if layer.type == "avgpool2d":
        d.update(acc_bits=int(layer.acc_bits))
    if layer.type == "act_lut":
        d.update(activation=layer.activation, clamp=[int(v) for v in layer.clamp])
    if layer.type == "add":
        d.update(relu=bool(layer.relu), mult_bits=int(layer.mult_bits),
                 mult=[int(m) for m in layer.mult], shift=[int(s) for s in layer.shift],
                 clamp=[int(v) for v in layer.clamp])
    elif layer.mult is not None:
        d.update(requant=layer.requant, mult_bits=int(layer.mult_bits),
                 mult=[int(m) for m in layer.mult], shift=[int(s) for s in layer.shift],
                 clamp=[int(v) for v in layer.clamp])
    elif layer.type == "dense":
        d.update(output="logits", out_lane_bits=32)
    return d


def network_vh(qnet: QNet) -> str:
    """Verilog localparams of every number the top needs, derived from the manifest."""
    lines = [f"// network.vh for network '{qnet.name}': generated by `int8cnn export` from",
             "// manifest.json (docs/quantization.md). Do not edit.", ""]

    def p(layer, key, val):
        lines.append(f"localparam integer {layer.name.upper()}_{key} = {int(val)};")

    for l in qnet.layers:
        c, h, w = l.in_shape
        p(l, "C_IN", c)
        p(l, "IMG_H", h)
        p(l, "IMG_W", w)
        p(l, "C_OUT", l.out_shape[0])
        p(l, "IN_SIGNED", l.in_signed)
        if l.type in ("conv2d", "maxpool2d", "avgpool2d"):
            p(l, "K", l.kernel)
            p(l, "STRIDE", l.stride)
            p(l, "PAD", l.padding)
        if l.type == "dense":
            p(l, "N_BEATS", h * w)
        if l.type in ("conv2d", "dense", "avgpool2d"):
            p(l, "ACC_W", l.acc_bits)
        if l.type in ("conv2d", "dense"):
            p(l, "BIAS_W", l.bias_bits)
        if l.groups != 1:
            p(l, "DEPTHWISE", 1)
        if l.type == "add":
            p(l, "B_SIGNED", qnet.layer(qnet.sources(l)[1]).out_signed)
            p(l, "MA", l.mult[0])
            p(l, "MB", l.mult[1])
            p(l, "S", l.shift[0])
        if l.mult is not None:
            if l.type != "add":
                p(l, "POW2", l.requant == "pow2")
            p(l, "MULT_W", l.mult_bits)
            if l.type != "add":
                p(l, "SHIFT_W", 6)  # shifts are 0..62
            p(l, "LO", l.clamp[0])
            p(l, "HI", l.clamp[1])
            p(l, "ZP_OUT", l.zero_point_out)
        lines.append("")
    return "\n".join(lines)


def export(qnet: QNet, outdir: Path, extra_meta: dict | None = None) -> Path:
    """Write weights/<net>/ atomically. Returns the directory."""
    outdir = Path(outdir)
    with atomic_dir(outdir) as tmp:
        for l in qnet.layers:
            f = layer_files(l)
            if not f:
                continue
            if "table" in f:
                write_mem(tmp / f["table"], [int(v) & 0xFF for v in l.table], 2)
                continue
            if l.type == "conv2d":
                write_mem(tmp / f["weight"], [int(v) & 0xFF for v in l.weight.reshape(-1)], 2)
            elif l.type == "dense":
                c = l.in_shape[0]
                write_mem(tmp / f["weight"], dense_words(l.weight, l.in_shape), 2 * l.out_shape[0] * c)
            if "bias" in f:
                mask = (1 << l.bias_bits) - 1
                write_mem(tmp / f["bias"], [int(v) & mask for v in l.bias], l.bias_bits // 4)
            if "mult" in f:
                write_mem(tmp / f["mult"], [int(v) for v in l.mult], 4)
                write_mem(tmp / f["shift"], [int(v) for v in l.shift], 2)
        manifest = {
            "version": MANIFEST_VERSION, "network": qnet.name, "requant_mode": qnet.requant_mode,
            "input": {"shape": list(qnet.input_shape), "dtype": "uint8", "scale": 1 / 255,
                      "zero_point": 0},
            "stream_order": "raster (y, x), one beat per pixel, channel c at tdata[c*B +: B]",
            "layers": [layer_manifest(l) for l in qnet.layers],
            "meta": dict(qnet.meta, **(extra_meta or {})),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        (tmp / "network.vh").write_text(network_vh(qnet))
    return outdir


# ---------------------------------------------------------------------------------------------
# loading and validation

_REQUIRED = ("name", "type", "in_shape", "out_shape", "kernel", "stride", "padding", "in_signed",
             "out_signed", "files", "zero_point_in", "zero_point_out")


def _need(cond, path, where, msg):
    if not cond:
        raise ManifestError(f"{path}: {where}: {msg}")


def load_network(wdir: Path) -> QNet:
    """Load weights/<net>/ back into a QNet, validating the manifest and every .mem file."""
    wdir = Path(wdir)
    mpath = wdir / "manifest.json"
    try:
        m = json.loads(mpath.read_text())
    except OSError as e:
        raise ManifestError(f"{mpath}: cannot read ({e.strerror})") from e
    except json.JSONDecodeError as e:
        raise ManifestError(f"{mpath}:{e.lineno}: invalid JSON ({e.msg})") from e
    _need(isinstance(m, dict), mpath, "top level", f"expected a JSON object, got {type(m).__name__}")
    for key in ("network", "input", "layers"):
        _need(key in m, mpath, "top level", f"missing field {key!r}")
    _need(isinstance(m["layers"], list) and m["layers"], mpath, "layers", "expected a non-empty list")
    _need(isinstance(m["input"], dict), mpath, "input", "expected an object with a 'shape' field")
    shape = m["input"].get("shape", [])
    _need(shape == [1, 28, 28], mpath, "input.shape", f"expected [1, 28, 28], got {shape}")
    layers = []
    shapes = {"input": shape}  # output shape of every stream so far
    for i, d in enumerate(m["layers"]):
        where = f"layers[{i}]" + (f" ({d.get('name')})" if isinstance(d, dict) else "")
        _need(isinstance(d, dict), mpath, where, "expected an object")
        for key in _REQUIRED:
            _need(key in d, mpath, where, f"missing field {key!r}")
        for key in ("kernel", "stride", "padding", "zero_point_in", "zero_point_out"):
            _need(type(d[key]) is int, mpath, where, f"{key} must be an integer, got {d[key]!r}")
        for key in ("in_shape", "out_shape"):
            _need(isinstance(d[key], list) and len(d[key]) == 3
                  and all(type(v) is int and v >= 1 for v in d[key]), mpath, where,
                  f"{key} must be [C, H, W] positive integers, got {d[key]!r}")
        t = d["type"]
        _need(t in LAYER_TYPES, mpath, where, f"type {t!r} not one of {LAYER_TYPES}")
        inputs = d.get("inputs")
        srcs = [layers[-1].name if layers else "input"] if inputs is None else inputs
        _need(isinstance(srcs, list) and len(srcs) == (2 if t == "add" else 1)
              and all(isinstance(n, str) and n in shapes for n in srcs), mpath, where,
              f"inputs {inputs!r} must name {2 if t == 'add' else 1} earlier layer(s) or 'input'")
        shape = shapes[srcs[0]]
        _need(list(d["in_shape"]) == shape, mpath, where,
              f"in_shape {d['in_shape']} does not match its input {srcs[0]}'s output {shape}")
        if t == "add":
            _need(shapes[srcs[1]] == shape, mpath, where,
                  f"add of {srcs[0]} {shape} and {srcs[1]} {shapes[srcs[1]]}: shapes differ")
        groups = d.get("groups", 1)
        _need(groups == 1 or (t == "conv2d" and groups == shape[0] == d["out_shape"][0]), mpath,
              where, f"groups {groups!r} must be 1 or C_IN = C_OUT = {shape[0]} (depthwise conv2d)")
        c, h, w = shape
        k, s, pad = d["kernel"], d["stride"], d["padding"]
        if t == "dense":
            expect_out = [d["out_shape"][0], 1, 1]
        elif t == "add":
            expect_out = list(shape)
        else:
            _need(k >= 1 and s >= 1 and pad >= 0 and k <= h + 2 * pad and k <= w + 2 * pad,
                  mpath, where, f"kernel {k} / stride {s} / padding {pad} invalid for {shape}")
            oc = d["out_shape"][0] if t == "conv2d" else c
            expect_out = [oc, (h + 2 * pad - k) // s + 1, (w + 2 * pad - k) // s + 1]
        _need(list(d["out_shape"]) == expect_out, mpath, where,
              f"out_shape {d['out_shape']} inconsistent with in_shape {shape}, expected {expect_out}")
        _need(d["name"] not in shapes, mpath, where, f"layer name {d['name']!r} used twice")
        layer = QLayer(name=d["name"], type=t, in_shape=shape, out_shape=list(d["out_shape"]),
                       in_signed=bool(d["in_signed"]), out_signed=bool(d["out_signed"]),
                       kernel=k, stride=s, padding=pad, zero_point_in=d["zero_point_in"],
                       zero_point_out=d["zero_point_out"], scale_in=d.get("scale_in", 1.0),
                       scale_out=d.get("scale_out", 1.0), groups=groups, inputs=inputs)
        files = d["files"]
        _need(isinstance(files, dict), mpath, where, "files must be an object")
        oc = expect_out[0]
        if t in MAC_TYPES:
            for key in ("acc_bits", "scale_w"):
                _need(key in d, mpath, where, f"missing field {key!r}")
            for key in ("weight", "bias"):
                _need(key in files, mpath, where, f"files: missing {key!r}")
            layer.acc_bits, layer.scale_w, layer.relu = d["acc_bits"], d["scale_w"], d.get("relu", False)
            if t == "conv2d":
                cg = c // groups
                layer.weight = read_values(wdir / files["weight"], 8, oc * cg * k * k, True,
                                           -128, 127).reshape(oc, cg, k, k)
            else:
                words = read_words(wdir / files["weight"], 2 * oc * c, h * w)
                wt = np.zeros((oc, c, h * w), dtype=np.int64)
                for p, word in enumerate(words):
                    v = np.array([(word >> (8 * j)) & 0xFF for j in range(oc * c)], dtype=np.int64)
                    wt[:, :, p] = np.where(v > 127, v - 256, v).reshape(oc, c)
                layer.weight = wt.reshape(oc, c * h * w)
            layer.bias_bits = d.get("bias_bits", 32)
            _need(layer.bias_bits in (16, 32), mpath, where,
                  f"bias_bits must be 16 or 32, got {layer.bias_bits!r}")
            layer.bias = read_values(wdir / files["bias"], layer.bias_bits, oc, True)
        if t == "avgpool2d":
            _need(s == k, mpath, where, f"average pooling needs stride == kernel, got {s} / {k}")
            _need(pad == 0, mpath, where, f"average pooling has no padding, got {pad}")
            _need("mult" in d, mpath, where, "missing field 'mult' (average pooling requantizes)")
            _need(type(d.get("acc_bits")) is int, mpath, where, "acc_bits must be an integer")
            layer.acc_bits = d["acc_bits"]
            need = sum_bits_for(k, layer.in_signed)
            _need(layer.acc_bits >= need, mpath, where,
                  f"acc_bits {layer.acc_bits} too small: a {k}x{k} window sum needs {need}")
        if t == "act_lut":
            _need("table" in files, mpath, where, "files: missing 'table'")
            _need(d.get("activation") in ACTIVATIONS, mpath, where,
                  f"activation {d.get('activation')!r} not one of {sorted(ACTIVATIONS)}")
            _need(d.get("clamp") in ([-128, 127], [0, 255]), mpath, where,
                  f"clamp {d.get('clamp')} must be [-128, 127] or [0, 255]")
            layer.activation, layer.clamp = d["activation"], list(d["clamp"])
            lo, hi = layer.clamp
            layer.table = read_values(wdir / files["table"], 8, 256, lo < 0, lo, hi)
        if t == "add":
            for key in ("mult", "shift", "clamp", "mult_bits"):
                _need(key in d, mpath, where, f"missing field {key!r}")
            mb = d["mult_bits"]
            _need(type(mb) is int and 2 <= mb <= 31, mpath, where, f"mult_bits {mb!r} not in 2..31")
            _need(isinstance(d["mult"], list) and len(d["mult"]) == 2
                  and all(type(v) is int and -(1 << (mb - 1)) <= v < 1 << (mb - 1) for v in d["mult"]),
                  mpath, where, f"mult {d['mult']!r} must be [MA, MB], {mb}-bit integers")
            _need(isinstance(d["shift"], list) and len(d["shift"]) == 1 and type(d["shift"][0]) is int
                  and 0 <= d["shift"][0] <= SHIFT_MAX, mpath, where,
                  f"shift {d['shift']!r} must be [S] with 0 <= S <= {SHIFT_MAX}")
            _need(d["clamp"] in ([-128, 127], [0, 255]), mpath, where,
                  f"clamp {d['clamp']} must be [-128, 127] or [0, 255]")
            layer.mult_bits, layer.relu = mb, bool(d.get("relu", False))
            layer.mult = np.array(d["mult"], dtype=np.int64)
            layer.shift = np.array(d["shift"], dtype=np.int64)
            layer.clamp = list(d["clamp"])
        elif "mult" in files or "mult" in d:
            for key in ("mult", "shift", "clamp", "mult_bits"):
                _need(key in d, mpath, where, f"missing field {key!r}")
                if key in ("mult", "shift"):
                    _need(key in files, mpath, where, f"files: missing {key!r}")
                    _need(len(d[key]) == oc, mpath, where,
                          f"{key} has {len(d[key])} entries, expected {oc} (one per channel)")
            mb = d["mult_bits"]
            layer.mult_bits = mb
            layer.requant = d.get("requant", "fixed")
            _need(layer.requant in ("fixed", "pow2"), mpath, where,
                  f"requant {layer.requant!r} must be 'fixed' or 'pow2'")
            layer.mult = read_values(wdir / files["mult"], 16, oc, False, 1, (1 << (mb - 1)) - 1)
            layer.shift = read_values(wdir / files["shift"], 8, oc, False, 0, SHIFT_MAX)
            _need(layer.mult.tolist() == list(d["mult"]), mpath, where,
                  f"mult {d['mult']} differs from {files['mult']}")
            _need(layer.shift.tolist() == list(d["shift"]), mpath, where,
                  f"shift {d['shift']} differs from {files['shift']}")
            _need(layer.requant == "fixed" or set(layer.mult.tolist()) == {1}, mpath, where,
                  f"requant 'pow2' needs every mult = 1, got {d['mult']}")
            lo, hi = d["clamp"]
            _need(-128 <= lo < hi <= 255, mpath, where, f"clamp {d['clamp']} not within int8/uint8")
            layer.clamp = [lo, hi]
        if t in MAC_TYPES:
            need = acc_bits_for(layer.weight, layer.bias, layer.in_signed)
            _need(layer.acc_bits >= need, mpath, where,
                  f"acc_bits {layer.acc_bits} too small: worst case needs {need}")
        layers.append(layer)
        shapes[layer.name] = list(d["out_shape"])
    _need(layers[-1].type == "dense" and layers[-1].mult is None, mpath, "layers[-1]",
          "the last layer must be a dense layer emitting logits (no mult/shift)")
    return QNet(name=m["network"], input_shape=[1, 28, 28], layers=layers,
                requant_mode=m.get("requant_mode", "fixed"), meta=m.get("meta", {}))


__all__ = ["export", "load_network", "ManifestError", "MemFileError", "dense_words", "network_vh"]
