"""The hardware model of a network's generated top, without the Verilog emitter: its name, fold,
multipliers, cycles per image (expected II), FIFO depths and what the RTL library can build. The
per-layer numbers come from the layer's op (int8cnn.ops); this module combines them over the
stream graph. The testbench, the FPGA flow and int8cnn.generate ask it.

Folding (`mults`): every conv2d and dense instance gets MULTS = min(mults, its products per
window / input beat, its QLayer.max_mults cap if set) (layer_mults), so no layer uses more than
`mults` multipliers; the top is then module cnn_<net>_m<mults>, with _<layer>m<cap> per cap."""
from __future__ import annotations

import numpy as np

from .networks import entry
from .ops import UnsupportedLayer, fold_cycles, op_for
from .qnet import QNet

__all__ = ["UnsupportedLayer", "branches", "check_supported", "default_mults", "expected_ii",
           "fifo_depth", "fold_cycles", "is_folded", "layer_cycles", "layer_mults", "layer_products",
           "layer_caps", "requant_serial_ok", "skip_fifo_depths", "top_name", "with_caps"]


def default_mults(net: str) -> int | None:
    """The fold a network's committed top uses, when no --mults / MULTS is given (int8cnn.networks;
    None: fully parallel, also for a network not in the registry)."""
    return entry(net).mults


def top_name(net: str, mults: int | None = None, caps: dict | None = None) -> str:
    """Module (and file) name of the generated top: cnn_<net>, folded cnn_<net>_m<mults>, with
    per-layer caps (QLayer.max_mults) _<layer>m<cap> for each."""
    if mults is None:
        return f"cnn_{net}"
    return f"cnn_{net}_m{mults}" + "".join(f"_{k}m{v}" for k, v in sorted((caps or {}).items()))


def layer_caps(qnet) -> dict:
    """The per-layer multiplier caps set on a network (QLayer.max_mults), by layer name."""
    return {l.name: l.max_mults for l in qnet.layers if l.max_mults}


def with_caps(qnet, caps: dict | None):
    """`qnet` with QLayer.max_mults set from `caps` (layer name -> multipliers); an unknown layer or a
    cap below 1 is an error."""
    names = {l.name for l in qnet.layers}
    for name, cap in (caps or {}).items():
        if name not in names or int(cap) < 1:
            raise ValueError(f"layer_mults {name}={cap}: expected a layer of {qnet.name} "
                             f"({', '.join(sorted(names))}) and a cap >= 1")
    for l in qnet.layers:
        l.max_mults = int(caps[l.name]) if caps and l.name in caps else None
    return qnet


# ----------------------------------------------------------------------------- per layer (its op)

def layer_products(layer) -> int:
    """Multiplications per conv2d window (C_OUT*C_IN*K*K; depthwise, groups = C: C*K*K) or per
    dense input beat (OUT*C); ValueError for a layer without multipliers."""
    return op_for(layer).products(layer)


def layer_mults(layer, mults: int | None) -> int:
    """The MULTS parameter of a conv2d / dense instance: 0 (fully parallel) when not folding,
    else min(mults, layer_products) (equal to the products means fully parallel too)."""
    return op_for(layer).mults(layer, mults)


def is_folded(layer, mults: int | None) -> bool:
    """A conv2d / dense instance folded by `mults` (0 < MULTS < products): it reads its weights from
    a chunk-ordered ROM file (FOLD_FILE, int8cnn.export.fold_words) instead of WEIGHT_FILE."""
    return op_for(layer).folded(layer, mults)


def requant_serial_ok(qnet, mults: int | None, serial: int = 1) -> bool:
    """Whether every requant of the top may be SERIAL = `serial` (the top's REQUANT_SERIAL: one
    multiplier, one beat per C+1 clocks; 2: one 16-bit multiplier, one beat per 2C+1 clocks)
    without changing the II: each layer's accumulator beats come at least that far apart (a
    folded conv2d / dense)."""
    return all(op_for(l).serial_requant_ok(l, mults, serial) for l in qnet.layers)


def layer_cycles(layer, mults: int | None = None) -> int:
    """Cycles one image keeps `layer` busy when its input never starves (rtl/<module>.v headers;
    int8cnn.ops: conv2d OH*OW*(T-1) + (H+2P)*(W+2P), dense N_BEATS*T, the others H*W)."""
    return op_for(layer).cycles(layer, mults)


def fifo_depth(layer, mults: int | None = None) -> int:
    """Depth of the axis_fifo in front of a conv2d that does not read the image (0: none;
    int8cnn.ops.conv2d.Conv2d.fifo_depth)."""
    return op_for(layer).fifo_depth(layer, mults)


# ----------------------------------------------------------------------------- the network

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
        op_for(l).check(l, last, where)
        if last and not l.emits_logits:
            raise UnsupportedLayer(f"{where}: the last layer must be a dense layer emitting logits")
        if l.zero_point_in != 0:
            raise UnsupportedLayer(f"{where}: input zero point {l.zero_point_in} != 0 unsupported")
    for name in ["input"] + [l.name for l in qnet.layers]:
        n = len(qnet.consumers(name))
        if n > 2:
            raise UnsupportedLayer(f"stream {name} has {n} consumers; a fork feeds at most 2")
    for l in qnet.layers:
        if op_for(l).inputs == 2:
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


def _need(layer) -> np.ndarray:
    """For each output beat of `layer` (raster order): the last input beat it waits for, as a
    running maximum (outputs leave in order; the op's needs())."""
    return np.maximum.accumulate(op_for(layer).needs(layer))


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
