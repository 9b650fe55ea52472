"""Network generator: a quantized network's manifest -> the top-level Verilog of its stream graph.

The top chains one parameterized RTL module per layer (conv2d [+ requant], maxpool2d,
dense [+ requant]), exposes every layer's output stream on a tap port, and ends with argmax and a
register slice. Every number comes from weights/<net>/network.vh (generated from manifest.json by
`int8cnn export`); the generated file only wires. Output is deterministic: the same manifest gives
the same bytes (tests/test_generate.py checks the committed tops for drift).

    int8cnn generate --net default              # -> rtl/generated/cnn_default.v
    int8cnn generate --net default --mults 8    # -> rtl/generated/cnn_default_m8.v (folded)

Supported layers and how they map:
    conv2d    -> conv2d (PAD, STRIDE; DEPTHWISE = 1 for groups = C) + requant; a padded conv
                 after the first layer, and a folded one, gets an axis_fifo in front (fifo_depth)
    maxpool2d -> maxpool2d
    avgpool2d -> avgpool2d (window sums) + requant (global average pooling: K = the image)
    act_lut   -> act_lut (256-entry table ROM)
    dense     -> dense + requant (hidden) | dense (the last layer: int32 logits)
    add       -> eltwise_add of its two inputs (a residual block); the stream both branches start
                 from is split by an axis_fork, and the branch that runs ahead waits in an
                 axis_fifo sized by skip_fifo_depths so the fork never deadlocks
A requantization with manifest "requant": "pow2" gets requant POW2 = 1 (no multiplier).

Folding (`mults`): every conv2d and dense instance gets MULTS = min(mults, its products per
window / input beat) (layer_mults), so no layer uses more than `mults` multipliers; the top is
then module cnn_<net>_m<mults>. This module owns the cycle numbers: fold_cycles (per conv window
or dense input beat), layer_cycles (per image, per layer) and expected_ii (per image, the network).
"""
from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from .export import fold_text
from .memfile import atomic_dir, atomic_write_text
from .networks import entry
from .qnet import QNet

ROOT = Path(__file__).resolve().parent.parent
GEN_DIR = ROOT / "rtl" / "generated"


class UnsupportedLayer(ValueError):
    pass


def default_mults(net: str) -> int | None:
    """The fold a network's committed top uses, when no --mults / MULTS is given (int8cnn.networks;
    None: fully parallel, also for a network not in the registry)."""
    return entry(net).mults


def top_name(net: str, mults: int | None = None) -> str:
    """Module (and file) name of the generated top: cnn_<net>, folded cnn_<net>_m<mults>."""
    return f"cnn_{net}" if mults is None else f"cnn_{net}_m{mults}"


# ----------------------------------------------------------------------------- folding and cycles

def layer_products(layer) -> int:
    """Multiplications per conv2d window (C_OUT*C_IN*K*K; depthwise, groups = C: C*K*K) or per
    dense input beat (OUT*C)."""
    if layer.type == "conv2d":
        return layer.out_shape[0] * (layer.in_shape[0] // layer.groups) * layer.kernel * layer.kernel
    if layer.type == "dense":
        return layer.out_shape[0] * layer.in_shape[0]
    raise ValueError(f"layer {layer.name} ({layer.type}) has no multipliers")


def layer_mults(layer, mults: int | None) -> int:
    """The MULTS parameter of a conv2d / dense instance: 0 (fully parallel) when not folding,
    else min(mults, layer_products) (equal to the products means fully parallel too)."""
    if mults is None:
        return 0
    if mults < 1:
        raise ValueError(f"mults must be >= 1, got {mults}")
    return min(mults, layer_products(layer))


def is_folded(layer, mults: int | None) -> bool:
    """A conv2d / dense instance folded by `mults` (0 < MULTS < products): it reads its weights from
    a chunk-ordered ROM file (FOLD_FILE, int8cnn.export.fold_words) instead of WEIGHT_FILE."""
    return layer.type in ("conv2d", "dense") and 0 < layer_mults(layer, mults) < layer_products(layer)


def fold_cycles(products: int, mults: int | None) -> int:
    """Cycles per conv2d window / dense input beat with MULTS = mults: ceil(products / mults),
    1 when fully parallel (mults 0 / None or >= products); rtl/conv2d.v and rtl/dense.v."""
    if not mults or mults >= products:
        return 1
    return -(-products // mults)


def layer_cycles(layer, mults: int | None = None) -> int:
    """Cycles one image keeps `layer` busy when its input never starves (rtl/<module>.v headers):
    conv2d  OH*OW*(T-1) + (H+2P)*(W+2P): one (padded) input pixel per clock, plus T-1 more per
            window for its T = fold_cycles chunks (the window waits in window2d meanwhile);
    dense   N_BEATS*T: T cycles per input beat;
    maxpool2d one input beat per clock."""
    _, h, w = layer.in_shape
    if layer.type == "conv2d":
        t = fold_cycles(layer_products(layer), layer_mults(layer, mults))
        p = layer.padding
        return layer.out_shape[1] * layer.out_shape[2] * (t - 1) + (h + 2 * p) * (w + 2 * p)
    if layer.type == "dense":
        return h * w * fold_cycles(layer_products(layer), layer_mults(layer, mults))
    return h * w


def expected_ii(qnet: QNet, mults: int | None = None) -> int:
    """Cycles per image of the generated top (cnn_<net>, or cnn_<net>_m<mults>) streaming images
    back to back without stalls: every stage moves at most one beat per clock, so the busiest of
    the input stream and the layers (layer_cycles) sets the pace."""
    _, h, w = qnet.input_shape
    return max(h * w, *(layer_cycles(l, mults) for l in qnet.layers))


def check_supported(qnet: QNet) -> None:
    """Raise UnsupportedLayer naming the first layer the RTL library cannot build, and why."""
    if qnet.input_shape != [1, 28, 28]:
        raise UnsupportedLayer(f"network {qnet.name}: input {qnet.input_shape} is not [1, 28, 28]")
    for i, l in enumerate(qnet.layers):
        last = i == len(qnet.layers) - 1
        where = f"layer {l.name} ({l.type})"
        if l.type not in ("conv2d", "maxpool2d", "avgpool2d", "act_lut", "add", "dense"):
            raise UnsupportedLayer(f"{where}: no RTL module for layer type {l.type!r}")
        if l.type in ("maxpool2d", "avgpool2d") and l.padding:
            raise UnsupportedLayer(f"{where}: padded pooling is not supported")
        if l.type == "avgpool2d" and l.stride != l.kernel:
            raise UnsupportedLayer(f"{where}: average pooling needs stride == kernel "
                                   f"(non-overlapping windows), got {l.stride} / {l.kernel}")
        if l.type in ("conv2d", "dense") and l.mult is None and not last:
            raise UnsupportedLayer(f"{where}: only the last layer may emit raw accumulators")
        if last and not (l.type == "dense" and l.mult is None):
            raise UnsupportedLayer(f"{where}: the last layer must be a dense layer emitting logits")
        if l.type in ("conv2d", "dense", "avgpool2d") and l.acc_bits > 32:
            raise UnsupportedLayer(f"{where}: accumulator of {l.acc_bits} bits exceeds 32")
        if l.zero_point_in != 0:
            raise UnsupportedLayer(f"{where}: input zero point {l.zero_point_in} != 0 unsupported")
        if l.type == "conv2d" and l.groups != 1 and not l.groups == l.in_shape[0] == l.out_shape[0]:
            raise UnsupportedLayer(f"{where}: groups {l.groups}: only depthwise (groups = C_IN = "
                                   "C_OUT) grouped convolutions have an RTL module")
    for name in ["input"] + [l.name for l in qnet.layers]:
        n = len(qnet.consumers(name))
        if n > 2:
            raise UnsupportedLayer(f"stream {name} has {n} consumers; a fork feeds at most 2")
    for l in qnet.layers:
        if l.type == "add":
            branches(qnet, l)  # raises when the two inputs do not meet at one fork


# ----------------------------------------------------------------------------- residual branches

def branches(qnet: QNet, add) -> tuple[str, list, list]:
    """(fork stream, layers of branch a, layers of branch b) of an add layer: each branch is the
    chain of layers from the fork (exclusive) to the add's input (inclusive), in stream order.
    The fork is the nearest stream both inputs descend from (following first inputs)."""
    def path(name):
        out = [name]
        while name != "input":
            name = qnet.sources(qnet.layer(name))[0]
            out.append(name)
        return out
    pa, pb = (path(s) for s in qnet.sources(add))
    fork = next(n for n in pa if n in pb)
    chain = lambda p: [qnet.layer(n) for n in reversed(p[:p.index(fork)])]  # noqa: E731
    return fork, chain(pa), chain(pb)


def _need(layer):
    """For each output beat of `layer` (raster order): the last input beat it waits for, as a
    running maximum (outputs leave in order). A window layer needs its window's bottom-right
    input pixel (clipped to the image: padding is generated, not received), dense the whole image."""
    _, h, w = layer.in_shape
    _, oh, ow = layer.out_shape
    if layer.type in ("conv2d", "maxpool2d", "avgpool2d"):
        k, st, p = layer.kernel, layer.stride, layer.padding
        r = np.minimum(h - 1, np.arange(oh) * st - p + k - 1)
        c = np.minimum(w - 1, np.arange(ow) * st - p + k - 1)
        need = (r[:, None] * w + c[None, :]).reshape(-1)
    elif layer.type == "dense":
        need = np.array([h * w - 1])
    else:
        need = np.arange(h * w)
    return np.maximum.accumulate(need)


SKIP_FIFO_SLACK = 2  # beats beyond the dependency bound: the fork's one-beat skew, the add's join


def skip_fifo_depths(qnet: QNet, add) -> tuple[int, int]:
    """Depths of the FIFOs in front of an add's inputs a and b (0: none), from the branches'
    dependencies, so that the fork never waits on a full branch while the other branch still needs
    input before it can emit the add's next beat (the deadlock a residual block can have).

    When branch a can emit the add's beat p only after the fork has delivered fork beat n_a(p),
    branch b has meanwhile produced count_b(n_a(p)) beats of which the add consumed p: b's FIFO
    must hold max_p count_b(n_a(p)) - p beats (and the same with a and b swapped). The depth is
    that plus SKIP_FIFO_SLACK, rounded up to a power of two (rtl/axis_fifo.v); registers inside
    the branch only add room, and a branch with layers needs no FIFO for one beat (its last
    layer's output register holds it)."""
    _, la, lb = branches(qnet, add)
    beats = add.out_shape[1] * add.out_shape[2]

    def need(branch):
        n = np.arange(beats)
        for l in reversed(branch):
            n = _need(l)[n]
        return n
    na, nb = need(la), need(lb)
    p = np.arange(beats)

    def depth(n_other, n_self, branch_len):
        occ = int((np.searchsorted(n_self, n_other, side="right") - p).max())
        if occ <= (1 if branch_len else 0):  # a branch's registered output holds one beat
            return 0
        d = 2
        while d < occ + SKIP_FIFO_SLACK:
            d *= 2
        return d
    return depth(nb, na, len(la)), depth(na, nb, len(lb))


# Fault injection for the deadlock test (tb/test_int8cnn_top.py, like the INT8CNN_FAULT_* defines in
# rtl/): skip FIFOs a quarter of skip_fifo_depths must make the graph hang.
SKIP_FIFO_FAULT_DEFINE = "INT8CNN_FAULT_SKIP_FIFO"
SKIP_FIFO_FAULT = [
    f"`ifdef {SKIP_FIFO_FAULT_DEFINE}",
    "    localparam integer SKIP_FIFO_DIV = 4;  // injected fault: skip FIFOs too small, must hang",
    "`else",
    "    localparam integer SKIP_FIFO_DIV = 1;",
    "`endif", ""]


def fifo_depth(layer, mults: int | None = None) -> int:
    """Depth of the axis_fifo in front of a conv2d that does not read the image (0: none).

    Padded: pad2d stalls its input for the bottom and top padding rows of consecutive images
    (2*PAD*(W+2*PAD+1) beats); a FIFO of at least that many (a power of two) absorbs what the
    previous layer produces meanwhile, so the layers upstream never stall and the II stays at its
    formula. Unpadded but folded (T > 1 cycles per window), a power of two >= W + 4 beats: a
    folded conv is busy on every beat, so it must never wait for its input. Upstream, a padded
    window layer emits its last output row (W beats) at the end of an image without new input and
    its first row of the next image only after about a row of new input: the FIFO holds that row
    (with 4 FIFOs, seed004's 1x1 convs measured II 1601 instead of 1568)."""
    p, w = layer.padding, layer.in_shape[2]
    if not p:
        if fold_cycles(layer_products(layer), layer_mults(layer, mults)) == 1:
            return 0
        need = w + 4
    else:
        need = 2 * p * (w + 2 * p + 1)
    depth = 4
    while depth < need:
        depth *= 2
    return depth


def _instance(module: str, params: list, name: str, ports: list) -> list[str]:
    """A module instance: `#(params)`, clk/rst, then the port connection lines `ports`."""
    lines = [f"    {module} #("]
    lines += [f"        .{k}({v})" + ("," if i < len(params) - 1 else "") for i, (k, v) in enumerate(params)]
    return lines + [f"    ) {name} (", "        .clk(clk), .rst(rst),", *ports, "    );"]


def _stream(port: str, wire: str, tlast: bool = True, last: bool = False) -> list[str]:
    """Connection lines of AXI-Stream port prefix `port` to the wires `wire`_*; an input port
    (s_axis*) of an internal stream reads the consumer side of its stall point, `wire`_sp_*."""
    if port.startswith("s_axis") and wire != "s_axis_pixel":
        wire = f"{wire}_sp"
    return [f"        .{port}_tdata({wire}_tdata), .{port}_tvalid({wire}_tvalid),",
            f"        .{port}_tready({wire}_tready)"
            + (f", .{port}_tlast({wire}_tlast)" if tlast else "") + ("" if last else ",")]


def _inst(module: str, params: list, name: str, src: str, dst: str) -> list[str]:
    return _instance(module, params, name,
                     _stream("s_axis", src) + _stream("m_axis", dst, last=True)) + [""]


def _fork_inst(name: str, width: str, src: str) -> list[str]:
    return _instance("axis_fork", [("DATA_W", width)], name,
                     _stream("s_axis", src) + _stream("m_axis_a", f"{src}_f0")
                     + _stream("m_axis_b", f"{src}_f1", last=True)) + [""]


def _add_inst(l, P, ports: list) -> list[str]:
    """eltwise_add of input a (carries tlast) and b; b's tlast is left unconnected (the same
    frames as a's)."""
    a, b = ports
    params = [("C", P(l, "C_IN")), ("A_SIGNED", P(l, "IN_SIGNED")), ("B_SIGNED", P(l, "B_SIGNED")),
              ("MULT_W", P(l, "MULT_W")), ("MA", P(l, "MA")), ("MB", P(l, "MB")), ("S", P(l, "S")),
              ("ZP_OUT", P(l, "ZP_OUT")), ("LO", P(l, "LO")), ("HI", P(l, "HI")), ("OUT_W", "8")]
    ports = (_stream("s_axis_a", a) + _stream("s_axis_b", b, tlast=False)
             + _stream("m_axis", l.name, last=True))
    return _instance("eltwise_add", params, f"u_{l.name}", ports) + [
        "    /* verilator lint_off UNUSEDSIGNAL */",
        f"    wire {l.name}_b_tlast_unused = {b}_sp_tlast;  // b's frames are a's",
        "    /* verilator lint_on UNUSEDSIGNAL */", ""]


STALL_POINTS_DEFINE = "INT8CNN_STALL_POINTS"


def _wires(name: str, width: str) -> list[str]:
    """The wires of internal stream `name` (its producer drives name_*, its one consumer reads
    name_sp_*) and, for verification only (`define INT8CNN_STALL_POINTS), a random stall point
    between them (tb/hdl/tb_stall_point.v, seeded from the stream's name); else a direct link."""
    seed = zlib.crc32(name.encode()) or 1
    return [f"    wire [{width}-1:0] {name}_tdata, {name}_sp_tdata;",
            f"    wire {name}_tvalid, {name}_tready, {name}_tlast;",
            f"    wire {name}_sp_tvalid, {name}_sp_tready, {name}_sp_tlast;",
            f"`ifdef {STALL_POINTS_DEFINE}",
            f'    tb_stall_point #(.DATA_W({width}), .SEED(32\'h{seed:08x}), .NAME("{name}")) u_{name}_sp (',
            "        .clk(clk), .rst(rst),",
            f"        .s_axis_tdata({name}_tdata), .s_axis_tvalid({name}_tvalid),",
            f"        .s_axis_tready({name}_tready), .s_axis_tlast({name}_tlast),",
            f"        .m_axis_tdata({name}_sp_tdata), .m_axis_tvalid({name}_sp_tvalid),",
            f"        .m_axis_tready({name}_sp_tready), .m_axis_tlast({name}_sp_tlast)",
            "    );",
            "`else",
            f"    assign {name}_sp_tdata = {name}_tdata;",
            f"    assign {name}_sp_tvalid = {name}_tvalid;",
            f"    assign {name}_tready = {name}_sp_tready;",
            f"    assign {name}_sp_tlast = {name}_tlast;",
            "`endif", ""]


def generate_top(qnet: QNet, mults: int | None = None, fold_dir: str | None = None) -> str:
    """The top of `qnet` as Verilog text; with `mults`, every conv2d / dense instance is folded
    to MULTS = layer_mults(layer, mults) multipliers and the module is cnn_<net>_m<mults>; the
    folded layers read their chunk-ordered weight ROMs from parameter FOLD_DIR (default
    `fold_dir`, else rtl/generated/<top>: where write_top puts them)."""
    check_supported(qnet)
    if mults is not None and (not isinstance(mults, int) or mults < 1):
        raise ValueError(f"mults must be a positive integer, got {mults!r}")
    top = top_name(qnet.name, mults)
    folded = [l for l in qnet.layers if is_folded(l, mults)]
    if fold_dir is None:
        fold_dir = f"rtl/generated/{top}"
    last = qnet.layers[-1]
    P = lambda l, k: f"{l.name.upper()}_{k}"  # noqa: E731  network.vh localparam name
    n_out = P(last, "C_OUT")
    ports, body, taps = [], [], []
    for l in qnet.layers:
        lane = "32" if l.emits_logits else "8"
        ports += [f"    output wire [{P(l, 'C_OUT')}*{lane}-1:0] tap_{l.name}_tdata,",
                  f"    output wire tap_{l.name}_tvalid,",
                  f"    output wire tap_{l.name}_tready,",
                  f"    output wire tap_{l.name}_tlast,"]
    ports[-1] = ports[-1].rstrip(",")

    body += ["    // ------------------------------------------------------------ input register slice"]
    body += _wires("in", "8")
    body += _inst("axis_skid", [("DATA_W", "8")], "u_in_skid", "s_axis_pixel", "in")
    read: dict = {}  # (stream, consumer layer) -> the wires the consumer reads

    def fork(stream: str, wire: str, width: str) -> None:
        """Route stream to its consumers: directly, or through an axis_fork to two."""
        cons = [c.name for c in qnet.consumers(stream)]
        if len(cons) == 2:
            body.append(f"    // fork: {wire} -> {cons[0]}, {cons[1]}")
            body.extend(_wires(f"{wire}_f0", width) + _wires(f"{wire}_f1", width))
            body.extend(_fork_inst(f"u_{wire}_fork", width, wire))
        for i, c in enumerate(cons):
            read[(stream, c)] = wire if len(cons) == 1 else f"{wire}_f{i}"

    fork("input", "in", "8")
    for l in qnet.layers:
        f = lambda kind: f'{{WEIGHTS_DIR, "/{l.name}_{kind}.mem"}}'  # noqa: E731
        srcs = qnet.sources(l)
        src = read[(srcs[0], l.name)]
        body.append(f"    // ------------------------------------------------------------ {l.name}: "
                    f"{l.type} {l.in_shape} -> {l.out_shape}"
                    + (f" from {', '.join(srcs)}" if l.inputs is not None else ""))
        if l.type == "add":
            width = f"{P(l, 'C_IN')}*8"
            ins = []
            for port, name, depth in zip("ab", srcs, skip_fifo_depths(qnet, l)):
                wire = read[(name, l.name)]
                if depth:
                    body.append(f"    // {name} waits here for the other branch (skip_fifo_depths: {depth})")
                    body += _wires(f"{l.name}_{port}", width)
                    body += _inst("axis_fifo", [("DATA_W", width), ("DEPTH", f"{depth} / SKIP_FIFO_DIV")],
                                  f"u_{l.name}_{port}_fifo", wire, f"{l.name}_{port}")
                    wire = f"{l.name}_{port}"
                ins.append(wire)
            body += _wires(l.name, f"{P(l, 'C_OUT')}*8")
            body += _add_inst(l, P, ins)
        elif l.type == "maxpool2d":
            body += _wires(l.name, f"{P(l, 'C_OUT')}*8")
            body += _inst("maxpool2d", [("C", P(l, "C_IN")), ("DATA_W", "8"),
                                        ("IN_SIGNED", P(l, "IN_SIGNED")), ("IMG_W", P(l, "IMG_W")),
                                        ("IMG_H", P(l, "IMG_H")), ("K", P(l, "K")),
                                        ("STRIDE", P(l, "STRIDE"))], f"u_{l.name}", src, l.name)
        elif l.type == "act_lut":
            body += _wires(l.name, f"{P(l, 'C_OUT')}*8")
            body += _inst("act_lut", [("C", P(l, "C_IN")), ("IN_SIGNED", P(l, "IN_SIGNED")),
                                      ("OUT_W", "8"), ("TABLE_FILE", f("table"))],
                          f"u_{l.name}", src, l.name)
        else:
            acc = f"{l.name}_acc"
            acc_lane = "32" if l.emits_logits else P(l, "ACC_W")
            body += _wires(l.name if l.emits_logits else acc, f"{P(l, 'C_OUT')}*{acc_lane}")
            depth = fifo_depth(l, mults) if l.type == "conv2d" and srcs[0] != "input" else 0
            if depth:
                body += _wires(f"{l.name}_in", f"{P(l, 'C_IN')}*8")
                body += _inst("axis_fifo", [("DATA_W", f"{P(l, 'C_IN')}*8"), ("DEPTH", str(depth))],
                              f"u_{l.name}_fifo", src, f"{l.name}_in")
                src = f"{l.name}_in"
            # a folded layer reads the chunk-ordered ROM (FOLD_FILE, below) instead
            weight_file = [] if is_folded(l, mults) else [("WEIGHT_FILE", f("weight"))]
            if l.type == "avgpool2d":
                params = [("C", P(l, "C_IN")), ("DATA_W", "8"), ("IN_SIGNED", P(l, "IN_SIGNED")),
                          ("IMG_W", P(l, "IMG_W")), ("IMG_H", P(l, "IMG_H")), ("K", P(l, "K")),
                          ("STRIDE", P(l, "STRIDE")), ("SUM_W", P(l, "ACC_W"))]
            elif l.type == "conv2d":
                params = [("C_IN", P(l, "C_IN")), ("C_OUT", P(l, "C_OUT")), ("K", P(l, "K")),
                          ("IMG_W", P(l, "IMG_W")), ("IMG_H", P(l, "IMG_H")),
                          ("STRIDE", P(l, "STRIDE")), ("PAD", P(l, "PAD")),
                          ("IN_SIGNED", P(l, "IN_SIGNED")), ("IN_W", "8"), ("W_W", "8"),
                          ("ACC_W", P(l, "ACC_W")), ("BIAS_W", P(l, "BIAS_W")),
                          *weight_file, ("BIAS_FILE", f("bias"))]
                if l.groups != 1:
                    params.append(("DEPTHWISE", P(l, "DEPTHWISE")))
            else:
                params = [("C", P(l, "C_IN")), ("N_BEATS", P(l, "N_BEATS")), ("OUT", P(l, "C_OUT")),
                          ("IN_SIGNED", P(l, "IN_SIGNED")), ("IN_W", "8"), ("W_W", "8"),
                          ("ACC_W", P(l, "ACC_W")), ("BIAS_W", P(l, "BIAS_W")), ("OUT_W", acc_lane),
                          *weight_file, ("BIAS_FILE", f("bias"))]
            if mults is not None and l.type in ("conv2d", "dense"):
                params.append(("MULTS", str(layer_mults(l, mults))))
            if is_folded(l, mults):
                params.append(("FOLD_FILE", f'{{FOLD_DIR, "/{l.name}_weight.mem"}}'))
            body += _inst(l.type, params, f"u_{l.name}", src, l.name if l.emits_logits else acc)
            if not l.emits_logits:
                body += _wires(l.name, f"{P(l, 'C_OUT')}*8")
                body += _inst("requant", [("C", P(l, "C_OUT")), ("ACC_W", P(l, "ACC_W")),
                                          ("MULT_W", P(l, "MULT_W")), ("SHIFT_W", P(l, "SHIFT_W")),
                                          ("OUT_W", "8"), ("LO", P(l, "LO")), ("HI", P(l, "HI")),
                                          ("ZP_OUT", P(l, "ZP_OUT")), ("POW2", P(l, "POW2")),
                                          ("MULT_FILE", f("mult")),
                                          ("SHIFT_FILE", f("shift"))],
                              f"u_{l.name}_rq", acc, l.name)
        taps += [f"    assign tap_{l.name}_tdata  = {l.name}_tdata;",
                 f"    assign tap_{l.name}_tvalid = {l.name}_tvalid;",
                 f"    assign tap_{l.name}_tready = {l.name}_tready;",
                 f"    assign tap_{l.name}_tlast  = {l.name}_tlast;"]
        fork(l.name, l.name, f"{P(l, 'C_OUT')}*8")
    src = qnet.layers[-1].name
    body.append("    // ------------------------------------------------------------ argmax + output slice")
    body += _wires("am", f"({n_out}+1)*32")
    body += _inst("argmax", [("N", n_out), ("DATA_W", "32")], "u_argmax", src, "am")
    body += _inst("axis_skid", [("DATA_W", f"({n_out}+1)*32")], "u_out_skid", "am", "m_axis_result")

    chain = " -> ".join(["pixels"] + [f"{l.name}({l.type})" for l in qnet.layers] + ["argmax"])
    pad = next((l.padding for l in qnet.layers if l.type == "conv2d"), 0)
    first = qnet.layers[0]
    ii = (first.in_shape[1] + 2 * first.padding) * (first.in_shape[2] + 2 * first.padding)
    if mults is None:
        title = [f"// {top}: network '{qnet.name}' as one streaming pipeline. GENERATED by `int8cnn generate`"]
        throughput = [f"// Throughput: one input-side beat per clock: II = {ii} cycles per image"
                      + (f" (first conv padded by {pad})." if first.padding else ".")]
    else:
        title = [f"// {top}: network '{qnet.name}' as one streaming pipeline, folded to at most {mults}",
                 f"// multipliers per layer. GENERATED by `int8cnn generate --mults {mults}`"]
        throughput = ["// Folding (MULTS per layer; int8cnn.generate.layer_cycles, rtl/conv2d.v, rtl/dense.v):"]
        for l in qnet.layers:
            if l.type in ("conv2d", "dense"):
                m, n = layer_mults(l, mults), layer_products(l)
                per = "window" if l.type == "conv2d" else "input beat"
                throughput.append(f"//   {l.name}: MULTS {m} of {n} products, {fold_cycles(n, m)} cycles per "
                                  f"{per}, {layer_cycles(l, mults)} cycles per image")
        throughput.append(f"// Throughput: II = {expected_ii(qnet, mults)} cycles per image (the busiest layer; "
                          "int8cnn.generate.expected_ii).")
    text = [
        *title,
        "// from weights/<net>/manifest.json: do not edit (tests/test_generate.py checks for drift).",
        "//",
        f"//   {chain}",
        "//",
        "// Parameters",
        "//   WEIGHTS_DIR  directory of the exported network (*.mem); network.vh from the same",
        "//                directory must be on the include path (-I weights/<net>).",
        *(["//   FOLD_DIR     directory of the folded layers' chunk-ordered weight ROMs",
           "//                (<layer>_weight.mem, int8cnn.export.fold_words; written with this top)."]
          if folded else []),
        "// Streams (docs/quantization.md)",
        "//   s_axis_pixel   8-bit pixels, raster order, one image = 28x28 beats.",
        "//   m_axis_result  one beat per image: tdata[31:0] = class, tdata[32*(i+1) +: 32] = logit i.",
        "//   tap_<layer>_*  each layer's output stream (after requantization), raster order, all",
        "//                  channels of a pixel in one beat; observe only.",
        *throughput,
        "`default_nettype none", "",
        f"module {top} #(",
        "    // directory of the exported network's .mem files (no trailing slash)",
        f'    parameter WEIGHTS_DIR = "weights/{qnet.name}"' + ("," if folded else ""),
        *(["    // directory of the folded layers' weight ROMs (no trailing slash)",
           f'    parameter FOLD_DIR = "{fold_dir}"'] if folded else []),
        ") (",
        "    input  wire clk,",
        "    input  wire rst,", "",
        "    input  wire [7:0] s_axis_pixel_tdata,",
        "    input  wire s_axis_pixel_tvalid,",
        "    output wire s_axis_pixel_tready,",
        "    input  wire s_axis_pixel_tlast,", "",
        f"    output wire [({n_out}+1)*32-1:0] m_axis_result_tdata,",
        "    output wire m_axis_result_tvalid,",
        "    input  wire m_axis_result_tready,",
        "    output wire m_axis_result_tlast,", "",
        *ports,
        ");", "",
        "    /* verilator lint_off UNUSEDPARAM */  // network.vh lists every manifest number; a top uses a subset",
        '`include "network.vh"',
        "    /* verilator lint_on UNUSEDPARAM */", "",
        *(SKIP_FIFO_FAULT if any(l.type == "add" for l in qnet.layers) else []),
        *body,
        "    // ------------------------------------------------------------ taps",
        *taps, "",
        "endmodule", "",
        "`default_nettype wire", "",
    ]
    return "\n".join(text)


def fold_roms(qnet: QNet, mults: int | None) -> dict:
    """{file name: text} of the chunk-ordered weight ROMs of the layers `mults` folds
    (<layer>_weight.mem, int8cnn.export.fold_words; empty when nothing is folded)."""
    return {f"{l.name}_weight.mem": fold_text(l, layer_mults(l, mults))
            for l in qnet.layers if is_folded(l, mults)}


def write_top(qnet: QNet, out_dir: Path = GEN_DIR, mults: int | None = None) -> Path:
    """Write <out_dir>/<top>.v (top = top_name(net, mults); out_dir defaults to rtl/generated) and,
    when layers are folded, their weight ROMs (fold_roms) into <out_dir>/<top>/, the top's
    FOLD_DIR default (relative to the repository root when out_dir is inside it). The ROM
    directory is written whole or not at all."""
    out_dir = Path(out_dir).resolve()
    top = top_name(qnet.name, mults)
    roms = fold_roms(qnet, mults)
    fold_dir = out_dir / top
    try:
        fold_ref = fold_dir.relative_to(ROOT).as_posix()
    except ValueError:
        fold_ref = fold_dir.as_posix()
    text = generate_top(qnet, mults, fold_ref)
    if roms:
        with atomic_dir(fold_dir) as tmp:
            for name, body in roms.items():
                atomic_write_text(tmp / name, body)
    path = out_dir / f"{top}.v"
    atomic_write_text(path, text)
    return path
