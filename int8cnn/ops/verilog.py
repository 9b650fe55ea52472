"""Verilog text pieces the ops and the top emitter share (int8cnn.generate): module instances, the
AXI-Stream port connections, and the wires of an internal stream with its verification-only stall
point."""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Callable

STALL_POINTS_DEFINE = "INT8CNN_STALL_POINTS"


def vh(layer, key: str) -> str:
    """The network.vh localparam of `layer`'s `key` (int8cnn.export.network_vh), e.g. CONV1_C_OUT."""
    return f"{layer.name.upper()}_{key}"


@dataclass
class Site:
    """Where an op's instance goes in the top (int8cnn.generate.generate_top fills it in).

    ins      the wires of its input streams (one per source, in order)
    sources  the names of those streams ("input" or a layer name)
    mults    the top's fold (None: fully parallel)
    file     kind -> the $readmemh path expression of the layer's <layer>_<kind>.mem
    skip_depths  add only: the FIFO depths in front of inputs a and b (skip_fifo_depths)"""
    ins: list
    sources: list
    mults: int | None
    file: Callable[[str], str]
    skip_depths: tuple = (0, 0)


def instance(module: str, params: list, name: str, ports: list) -> list[str]:
    """A module instance: `#(params)`, clk/rst, then the port connection lines `ports`."""
    lines = [f"    {module} #("]
    lines += [f"        .{k}({v})" + ("," if i < len(params) - 1 else "") for i, (k, v) in enumerate(params)]
    return lines + [f"    ) {name} (", "        .clk(clk), .rst(rst),", *ports, "    );"]


def stream(port: str, wire: str, tlast: bool = True, last: bool = False) -> list[str]:
    """Connection lines of AXI-Stream port prefix `port` to the wires `wire`_*; an input port
    (s_axis*) of an internal stream reads the consumer side of its stall point, `wire`_sp_*."""
    if port.startswith("s_axis") and wire != "s_axis_pixel":
        wire = f"{wire}_sp"
    return [f"        .{port}_tdata({wire}_tdata), .{port}_tvalid({wire}_tvalid),",
            f"        .{port}_tready({wire}_tready)"
            + (f", .{port}_tlast({wire}_tlast)" if tlast else "") + ("" if last else ",")]


def inst(module: str, params: list, name: str, src: str, dst: str) -> list[str]:
    """An instance with one input stream `src` and one output stream `dst`, and a blank line."""
    return instance(module, params, name, stream("s_axis", src) + stream("m_axis", dst, last=True)) + [""]


def fork_inst(name: str, width: str, src: str) -> list[str]:
    """An axis_fork of stream `src` into `src`_f0 and `src`_f1."""
    return instance("axis_fork", [("DATA_W", width)], name,
                    stream("s_axis", src) + stream("m_axis_a", f"{src}_f0")
                    + stream("m_axis_b", f"{src}_f1", last=True)) + [""]


def wires(name: str, width: str, slice_: bool = False) -> list[str]:
    """The wires of internal stream `name` (its producer drives name_*, its one consumer reads
    name_sp_*) and, for verification only (`define INT8CNN_STALL_POINTS), a random stall point
    between them (tb/hdl/tb_stall_point.v, seeded from the stream's name); else a direct link or,
    with `slice_` when the top's parameter REG_SLICES is 1, an axis_skid register slice (it breaks
    the combinational tready chain through the layers, for a faster clock)."""
    seed = zlib.crc32(name.encode()) or 1
    # the in-between module's ports: name_* in, name_sp_* out
    ports = [f".s_axis_tdata({name}_tdata), .s_axis_tvalid({name}_tvalid),",
             f".s_axis_tready({name}_tready), .s_axis_tlast({name}_tlast),",
             f".m_axis_tdata({name}_sp_tdata), .m_axis_tvalid({name}_sp_tvalid),",
             f".m_axis_tready({name}_sp_tready), .m_axis_tlast({name}_sp_tlast)"]
    link = [f"    assign {name}_sp_tdata = {name}_tdata;",
            f"    assign {name}_sp_tvalid = {name}_tvalid;",
            f"    assign {name}_tready = {name}_sp_tready;",
            f"    assign {name}_sp_tlast = {name}_tlast;"]
    if slice_:
        link = ["    generate",
                f"        if (REG_SLICES != 0) begin : g_{name}_slice",
                f"            axis_skid #(.DATA_W({width})) u_{name}_slice (",
                "                .clk(clk), .rst(rst),",
                *("                " + p for p in ports),
                "            );",
                f"        end else begin : g_{name}_link",
                *("        " + line for line in link),
                "        end",
                "    endgenerate"]
    return [f"    wire [{width}-1:0] {name}_tdata, {name}_sp_tdata;",
            f"    wire {name}_tvalid, {name}_tready, {name}_tlast;",
            f"    wire {name}_sp_tvalid, {name}_sp_tready, {name}_sp_tlast;",
            f"`ifdef {STALL_POINTS_DEFINE}",
            f'    tb_stall_point #(.DATA_W({width}), .SEED(32\'h{seed:08x}), .NAME("{name}")) u_{name}_sp (',
            "        .clk(clk), .rst(rst),",
            *("        " + p for p in ports),
            "    );",
            "`else",
            *link,
            "`endif", ""]


def layer_wires(layer) -> list[str]:
    """wires() of a layer's 8-bit activation output stream, with its optional register slice."""
    return wires(layer.name, f"{vh(layer, 'C_OUT')}*8", slice_=True)
