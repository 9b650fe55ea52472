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
window / input beat, its QLayer.max_mults cap), so no layer uses more than `mults` multipliers;
the top is then module cnn_<net>_m<mults> (with _<layer>m<cap> per cap: int8cnn.hardware). The
numbers (products, cycles, expected II, FIFO depths) are the hardware model's (int8cnn.hardware, from each layer's op in int8cnn.ops); this module walks the stream
graph, asks each layer's op for its instance text, and writes the top.
"""
from __future__ import annotations

from pathlib import Path

from .export import fold_text
from .hardware import (SKIP_FIFO_FAULT, check_supported, expected_ii, is_folded, layer_cycles,
                       layer_caps, layer_mults, layer_products, skip_fifo_depths, top_name)
from .memfile import atomic_dir, atomic_write_text
from .ops import fold_cycles, op_for
from .ops.verilog import Site, fork_inst, inst, vh, wires
from .qnet import QNet

from .paths import ROOT
GEN_DIR = ROOT / "rtl" / "generated"

__all__ = ["GEN_DIR", "fold_roms", "generate_top", "write_top"]


def generate_top(qnet: QNet, mults: int | None = None, fold_dir: str | None = None) -> str:
    """The top of `qnet` as Verilog text; with `mults`, every conv2d / dense instance is folded
    to MULTS = layer_mults(layer, mults) multipliers and the module is cnn_<net>_m<mults>; the
    folded layers read their chunk-ordered weight ROMs from parameter FOLD_DIR (default
    `fold_dir`, else rtl/generated/<top>: where write_top puts them)."""
    check_supported(qnet)
    if mults is not None and (not isinstance(mults, int) or mults < 1):
        raise ValueError(f"mults must be a positive integer, got {mults!r}")
    top = top_name(qnet.name, mults, layer_caps(qnet))
    folded = any(is_folded(l, mults) for l in qnet.layers)
    text = [
        *_header(qnet, mults, top, folded),
        "`default_nettype none", "",
        *_module_ports(qnet, top, folded, fold_dir or f"rtl/generated/{top}"),
        "    /* verilator lint_off UNUSEDPARAM */  // network.vh lists every manifest number; a top uses a subset",
        '`include "network.vh"',
        "    /* verilator lint_on UNUSEDPARAM */", "",
        *(SKIP_FIFO_FAULT if any(op_for(l).inputs == 2 for l in qnet.layers) else []),
        *_body(qnet, mults),
        "    // ------------------------------------------------------------ taps",
        *(f"    assign tap_{l.name}_{sig:<6} = {l.name}_{sig};" for l in qnet.layers
          for sig in ("tdata", "tvalid", "tready", "tlast")), "",
        "endmodule", "",
        "`default_nettype wire", "",
    ]
    return "\n".join(text)


def _body(qnet: QNet, mults: int | None) -> list[str]:
    """The instances: the input slice, each layer's op (its input streams forked where a stream
    has two consumers), argmax and the output slice."""
    body = ["    // ------------------------------------------------------------ input register slice"]
    body += wires("in", "8")
    body += inst("axis_skid", [("DATA_W", "8")], "u_in_skid", "s_axis_pixel", "in")
    read: dict = {}  # (stream, consumer layer) -> the wires the consumer reads

    def fork(stream: str, wire: str, width: str) -> None:
        """Route stream to its consumers: directly, or through an axis_fork to two."""
        cons = [c.name for c in qnet.consumers(stream)]
        if len(cons) == 2:
            body.append(f"    // fork: {wire} -> {cons[0]}, {cons[1]}")
            body.extend(wires(f"{wire}_f0", width) + wires(f"{wire}_f1", width))
            body.extend(fork_inst(f"u_{wire}_fork", width, wire))
        for i, c in enumerate(cons):
            read[(stream, c)] = wire if len(cons) == 1 else f"{wire}_f{i}"

    fork("input", "in", "8")
    for l in qnet.layers:
        op, srcs = op_for(l), qnet.sources(l)
        body.append(f"    // ------------------------------------------------------------ {l.name}: "
                    f"{l.type} {l.in_shape} -> {l.out_shape}"
                    + (f" from {', '.join(srcs)}" if l.inputs is not None else ""))
        site = Site(ins=[read[(s, l.name)] for s in srcs], sources=srcs, mults=mults,
                    file=lambda kind, l=l: f'{{WEIGHTS_DIR, "/{l.name}_{kind}.mem"}}',
                    skip_depths=skip_fifo_depths(qnet, l) if op.inputs == 2 else (0, 0))
        body += op.instance(l, site)
        fork(l.name, l.name, f"{vh(l, 'C_OUT')}*8")
    n_out = vh(qnet.layers[-1], "C_OUT")
    body.append("    // ------------------------------------------------------------ argmax + output slice")
    body += wires("am", f"({n_out}+1)*32")
    body += inst("argmax", [("N", n_out), ("DATA_W", "32"), ("PIPE", "ARGMAX_PIPE")], "u_argmax",
                 qnet.layers[-1].name, "am")
    body += inst("axis_skid", [("DATA_W", f"({n_out}+1)*32")], "u_out_skid", "am", "m_axis_result")
    return body


def _header(qnet: QNet, mults: int | None, top: str, folded: bool) -> list[str]:
    """The comment block: what the top is, its parameters and streams, its throughput."""
    chain = " -> ".join(["pixels"] + [f"{l.name}({l.type})" for l in qnet.layers] + ["argmax"])
    first = qnet.layers[0]
    ii = (first.in_shape[1] + 2 * first.padding) * (first.in_shape[2] + 2 * first.padding)
    if mults is None:
        title = [f"// {top}: network '{qnet.name}' as one streaming pipeline. GENERATED by `int8cnn generate`"]
        throughput = [f"// Throughput: one input-side beat per clock: II = {ii} cycles per image"
                      + (f" (first conv padded by {first.padding})." if first.padding else ".")]
    else:
        title = [f"// {top}: network '{qnet.name}' as one streaming pipeline, folded to at most {mults}",
                 f"// multipliers per layer. GENERATED by `int8cnn generate --mults {mults}`"]
        throughput = ["// Folding (MULTS per layer; int8cnn.hardware.layer_cycles, rtl/conv2d.v, rtl/dense.v):"]
        for l in qnet.layers:
            if op_for(l).per:
                m, n = layer_mults(l, mults), layer_products(l)
                throughput.append(f"//   {l.name}: MULTS {m} of {n} products, {fold_cycles(n, m)} cycles per "
                                  f"{op_for(l).per}, {layer_cycles(l, mults)} cycles per image")
        throughput.append(f"// Throughput: II = {expected_ii(qnet, mults)} cycles per image (the busiest layer; "
                          "int8cnn.hardware.expected_ii).")
    return [
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
        "//   ARGMAX_PIPE  0: argmax's comparison tree in one cycle; 1: one tree level per cycle (a",
        "//                faster clock, latency + ceil(log2(classes)) - 1 cycles, the same II).",
        "//   REG_SLICES   1: an axis_skid register slice on each layer's activation output (tready no",
        "//                longer combinational through every layer; 1 cycle more latency per slice,",
        "//                the same II).",
        "//   REQUANT_SERIAL  1 (2): each requant shares one (16-bit, two-pass) multiplier among its",
        "//                channels (rtl/requant.v SERIAL): the same II only where",
        "//                int8cnn.hardware.requant_serial_ok.",
        "// Streams (docs/quantization.md)",
        "//   s_axis_pixel   8-bit pixels, raster order, one image = 28x28 beats.",
        "//   m_axis_result  one beat per image: tdata[31:0] = class, tdata[32*(i+1) +: 32] = logit i.",
        "//   tap_<layer>_*  each layer's output stream (after requantization), raster order, all",
        "//                  channels of a pixel in one beat; observe only.",
        *throughput,
    ]


def _module_ports(qnet: QNet, top: str, folded: bool, fold_dir: str) -> list[str]:
    """`module <top> #(...) (...);`: clk, rst, the pixel and result streams, a tap per layer."""
    n_out = vh(qnet.layers[-1], "C_OUT")
    taps = []
    for l in qnet.layers:
        lane = "32" if l.emits_logits else "8"
        taps += [f"    output wire [{vh(l, 'C_OUT')}*{lane}-1:0] tap_{l.name}_tdata,",
                 f"    output wire tap_{l.name}_tvalid,",
                 f"    output wire tap_{l.name}_tready,",
                 f"    output wire tap_{l.name}_tlast,"]
    taps[-1] = taps[-1].rstrip(",")
    return [
        f"module {top} #(",
        "    // directory of the exported network's .mem files (no trailing slash)",
        f'    parameter WEIGHTS_DIR = "weights/{qnet.name}",',
        *(["    // directory of the folded layers' weight ROMs (no trailing slash)",
           f'    parameter FOLD_DIR = "{fold_dir}",'] if folded else []),
        "    // 1: a register after every level of argmax's comparison tree (rtl/argmax.v PIPE)",
        "    parameter ARGMAX_PIPE = 0,",
        "    /* verilator lint_off UNUSEDPARAM */",
        "    // 1: an axis_skid register slice on every layer's 8-bit activation output stream (not",
        "    // used with `INT8CNN_STALL_POINTS: the stall points take the slices' place)",
        "    parameter REG_SLICES = 0,",
        "    // 1: every requant with one multiplier, one beat per C+1 clocks; 2: one 16-bit multiplier,",
        "    // 2C+1 clocks (only behind folded layers: int8cnn.hardware.requant_serial_ok)",
        "    parameter REQUANT_SERIAL = 0",
        "    /* verilator lint_on UNUSEDPARAM */",
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
        *taps,
        ");", "",
    ]


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
    top = top_name(qnet.name, mults, layer_caps(qnet))
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
