"""The per-image (transaction-level) top-level driver: an HDL harness around a generated top.

Python wakes once per chunk of images, not once per clock. The harness (written by `harness_text`
into the build directory, from the network's manifest; its pieces are tb/hdl/tb_stall.v and
tb/hdl/tb_capture.v) does every per-cycle job in HDL:
  clock        `always #5`, 10 ns (Verilator builds with --timing)
  pixels       a buffer of BUF_IMAGES images in two halves; Python fills a half in bulk
               ($readmemh of pixels.hex) while the other half streams, so images go back to back
  stalls       tb_stall generators on the input (idle) and the result (backpressure), mode, seed
               and probability set by Python (tb/stalls.py: the same vocabulary as the per-beat
               driver)
  capture      tb_capture on every layer tap and on the result: value, tlast and cycle of every
               accepted beat into <stream>.cap, flushed per image; handshake checks in HDL
  first pixel  the cycle of every image's first accepted pixel into first_pixel.cap
  watchdog     `stuck` rises when no result beat has left for stuck_limit cycles while images are
               outstanding (Python sets the limit: tb/stalls.py watchdog_cycles) and wakes Python
               for the stuck report
Python (tb/test_top_image.py) chooses images, seeds and stall patterns, computes the expected
values with int8cnn.golden and compares with numpy through tb/scoreboard.py.

Only the harness's own signals are public in the Verilator build (a control file, no
--public-flat-rw). This module needs no simulator: the text generators and the capture decoder are
tested in tests/test_harness.py.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

HDL = Path(__file__).resolve().parent / "hdl"
HDL_SOURCES = (HDL / "tb_stall.v", HDL / "tb_capture.v")
PIXELS = 28 * 28
CLK_NS = 10
BUF_IMAGES = 64          # pixel buffer: two halves of 32 images
# the harness up to the network instance (clock, control and status registers, pixel stream, stall
# generators); @TOKEN@s are filled in by harness_text
HEAD_TEMPLATE = Path(__file__).resolve().parent / "hdl" / "tb_harness_head.vt"


def harness_name(top: str) -> str:
    return f"tb_{top}"


def streams(qnet) -> list[tuple[str, str, int, int]]:
    """(name, port prefix, tdata width, beats per image) of every captured stream: each layer's tap
    and the result."""
    out = [(l.name, f"tap_{l.name}", l.out_shape[0] * l.lane_bits, l.out_shape[1] * l.out_shape[2])
           for l in qnet.layers]
    n = qnet.layers[-1].out_shape[0]
    return out + [("result", "m_axis_result", (n + 1) * 32, 1)]


def harness_text(qnet, top: str, folded: bool) -> str:
    """Verilog of tb_<top>: the generated top with stimulus buffer, stall generators and captures."""
    name = harness_name(top)
    fold_param = '    parameter FOLD_DIR = "",\n' if folded else ""
    fold_conn = ", .FOLD_DIR(FOLD_DIR)" if folded else ""
    ss = streams(qnet)
    head = HEAD_TEMPLATE.read_text()
    for token, value in (("@NAME@", name), ("@TOP@", top), ("@NET@", qnet.name),
                         ("@FOLD_PARAM@", fold_param), ("@BUF_IMAGES@", str(BUF_IMAGES)),
                         ("@PIXELS@", str(PIXELS)), ("@HALF_PERIOD@", str(CLK_NS // 2))):
        head = head.replace(token, value)
    lines = [head]
    for s, prefix, w, _ in ss:
        lines.append(f"    wire [{w - 1}:0] {s}_tdata;\n    wire {s}_tvalid, {s}_tready, {s}_tlast;\n")
    ports = [".clk(clk), .rst(rst)",
             ".s_axis_pixel_tdata(pixels[ptr]), .s_axis_pixel_tvalid(in_valid), "
             ".s_axis_pixel_tready(in_ready), .s_axis_pixel_tlast(pix == PIX - 1)",
             ".m_axis_result_tdata(result_tdata), .m_axis_result_tvalid(result_tvalid), "
             ".m_axis_result_tready(res_ready), .m_axis_result_tlast(result_tlast)"]
    for s, prefix, _, _ in ss[:-1]:
        ports.append(f".{prefix}_tdata({s}_tdata), .{prefix}_tvalid({s}_tvalid), "
                     f".{prefix}_tready({s}_tready), .{prefix}_tlast({s}_tlast)")
    lines.append(f"    assign result_tready = res_ready;\n\n"
                 f"    {top} #(.WEIGHTS_DIR(WEIGHTS_DIR){fold_conn}) u_dut (\n        "
                 + ",\n        ".join(ports) + "\n    );\n\n")
    lines.append("    // ------------------------------------------------------------ captures\n")
    for i, (s, _, w, beats) in enumerate(ss):
        lines.append(f"    wire [31:0] {s}_errors, {s}_images;\n"
                     f"    tb_capture #(.DATA_W({w}), .BEATS({beats}), .FILE(\"{s}.cap\"), .NAME(\"{s}\")) "
                     f"u_cap_{s} (\n        .clk(clk), .rst(rst), .cycle(cycle), .tdata({s}_tdata), "
                     f".tvalid({s}_tvalid), .tready({s}_tready),\n        .tlast({s}_tlast), "
                     f".errors({s}_errors), .images({s}_images)\n    );\n")
    lines.append("    assign done = result_images;\n\n"
                 "    // watchdog: counts while images are outstanding and no result beat leaves\n"
                 "    always @(posedge clk) begin\n"
                 "        if (rst || !run || (result_tvalid && res_ready)) since_result <= 32'd0;\n"
                 "        else if (!stuck) since_result <= since_result + 32'd1;\n"
                 "    end\n")
    lines.append("    assign protocol_errors = " + " + ".join(f"{s}_errors" for s, *_ in ss) + ";\n")
    lines.append("\nendmodule\n/* verilator lint_on UNUSEDSIGNAL */\n/* verilator lint_on PROCASSINIT */\n"
                 "\n`default_nettype wire\n")
    return "".join(lines)


def vlt_text(top: str) -> str:
    """Verilator control file: the harness's own signals are public (cocotb touches only those);
    the network's internals stay private, so Verilator optimizes them as in an HDL-only build."""
    return f"`verilator_config\npublic_flat_rw -module \"{harness_name(top)}\" -var \"*\"\n"


def write_harness(qnet, top: str, folded: bool, build_dir: Path) -> list[Path]:
    """Write tb_<top>.v and tb_<top>.vlt into build_dir (only when changed: no needless rebuild)."""
    build_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for path, text in ((build_dir / f"{harness_name(top)}.v", harness_text(qnet, top, folded)),
                       (build_dir / f"{harness_name(top)}.vlt", vlt_text(top))):
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        out.append(path)
    return out


# ----------------------------------------------------------------------------- files <-> numpy

def stall_point_counts(path: Path) -> tuple[int, int]:
    """(beats, stalled cycles) of a tb_stall_point (tb/hdl/tb_stall_point.v) from the last line of
    its <NAME>.stall file."""
    words = Path(path).read_text().split()
    if len(words) < 2:
        raise AssertionError(f"{path}: no image has passed this stall point")
    return int(words[-2]), int(words[-1])


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def pixels_hex(images: np.ndarray, pad_to: int = 0) -> bytes:
    """$readmemh text of uint8 pixels (one per line, two hex digits), zero-padded to pad_to images."""
    flat = np.asarray(images, dtype=np.uint8).reshape(-1)
    if pad_to * PIXELS > flat.size:
        flat = np.concatenate([flat, np.zeros(pad_to * PIXELS - flat.size, dtype=np.uint8)])
    rows = np.empty((flat.size, 3), dtype=np.uint8)
    rows[:, 0] = _HEX[flat >> 4]
    rows[:, 1] = _HEX[flat & 15]
    rows[:, 2] = ord("\n")
    return rows.tobytes()


class CaptureError(RuntimeError):
    pass


class CaptureFile:
    """Incremental reader of one tb_capture file (binary records, see tb/hdl/tb_capture.v): decodes
    whole records into (cycle, tlast, lanes)."""

    def __init__(self, path: Path, data_w: int, lanes: int, lane_bits: int, signed: bool):
        if lane_bits % 4 or lane_bits > 60 or lanes * lane_bits != data_w:
            raise ValueError(f"{path.name}: {lanes} lanes of {lane_bits} bits in {data_w}-bit tdata "
                             "(lanes must be whole hex digits, at most 60 bits, filling tdata)")
        self.path, self.lanes, self.lane_bits, self.signed = path, lanes, lane_bits, signed
        self.words = 2 + -(-data_w // 32)
        self.record = 4 * self.words
        self.offset = 0

    def skip_to_end(self) -> None:
        """Forget what is in the file now (a new run in the same simulation)."""
        self.offset = self.path.stat().st_size if self.path.exists() else 0
        self.offset -= self.offset % self.record

    def read(self):
        """New whole records: cycles int64 [N], tlast bool [N], lanes int64 [N, lanes]."""
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            raw = f.read()
        n = len(raw) // self.record
        self.offset += n * self.record
        rec = np.frombuffer(raw, dtype="<u4", count=n * self.words).reshape(n, self.words)
        if n and (rec[:, 1] > 1).any():
            bad = int(np.flatnonzero(rec[:, 1] > 1)[0])
            raise CaptureError(f"{self.path}: malformed record {bad} of this read (tlast word "
                               f"{int(rec[bad, 1]):#x}, expected 0 or 1): not a tb_capture file of "
                               f"{self.record}-byte records?")
        data = np.ascontiguousarray(rec[:, 2:])       # lane 0 in the least significant bits
        if self.lane_bits in (8, 16, 32):             # whole little-endian integers
            dt = f"<{'i' if self.signed else 'u'}{self.lane_bits // 8}"
            val = data.view(dt)[:, :self.lanes].astype(np.int64)
        else:                                         # nibbles, least significant first
            b = data.view(np.uint8)
            nib = np.empty((n, 2 * b.shape[1]), dtype=np.int64)
            nib[:, 0::2], nib[:, 1::2] = b & 15, b >> 4
            k = self.lane_bits // 4
            per_lane = nib[:, :self.lanes * k].reshape(n, self.lanes, k)
            val = (per_lane << (4 * np.arange(k, dtype=np.int64))).sum(axis=-1)
            if self.signed:
                val = np.where(val >> (self.lane_bits - 1), val - (1 << self.lane_bits), val)
        return rec[:, 0].astype(np.int64), rec[:, 1].astype(bool), val


def capture_record(cycle: int, last: int, lanes, lane_bits: int) -> bytes:
    """One record as tb_capture writes it (lane 0 least significant): the inverse of CaptureFile,
    for tests and tools."""
    word = 0
    for i, v in enumerate(lanes):
        word |= (int(v) & ((1 << lane_bits) - 1)) << (i * lane_bits)
    words = -(-len(lanes) * lane_bits // 32)
    return (cycle.to_bytes(4, "little") + last.to_bytes(4, "little")
            + word.to_bytes(4 * words, "little"))


def split_images(last: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each whole image (ended by tlast) in a run of beats."""
    ends = np.flatnonzero(last) + 1
    starts = np.concatenate([[0], ends[:-1]])
    return list(zip(starts.tolist(), ends.tolist()))


def capture_of(qnet, path: Path) -> CaptureFile:
    """The reader of a network's capture file <stream>.cap (stream: a layer or `result`)."""
    for name, _, w, _ in streams(qnet):
        if name == path.stem:
            if name == "result":
                return CaptureFile(path, w, qnet.layers[-1].out_shape[0] + 1, 32, True)
            l = qnet.layer(name)
            return CaptureFile(path, w, l.out_shape[0], l.lane_bits, l.out_signed or l.emits_logits)
    raise SystemExit(f"{path}: not a stream of network {qnet.name} "
                     f"(streams: {', '.join(s for s, *_ in streams(qnet))})")


def main(argv=None) -> int:
    """Write the harness of a network's default top (for `make lint`), or print a capture file."""
    import argparse
    import sys
    root = HDL.parent.parent
    sys.path.insert(0, str(root))
    from int8cnn.export import load_network
    from int8cnn.hardware import default_mults, top_name
    ap = argparse.ArgumentParser(description="write tb_<top>.v and .vlt of a network's top, or "
                                             "print a capture file (--dump) as text")
    ap.add_argument("--net", default="default")
    ap.add_argument("--out", help="directory for the harness")
    ap.add_argument("--dump", type=Path, metavar="FILE.cap",
                    help="print every beat of a capture file: cycle, tlast, lanes (lane 0 first)")
    a = ap.parse_args(argv)
    if not (a.out or a.dump):
        ap.error("give --out DIR (write the harness) or --dump FILE.cap")
    qnet = load_network(root / "weights" / a.net)
    if a.dump:
        if not a.dump.is_file():
            ap.error(f"--dump {a.dump}: no such file")
        cyc, last, lanes = capture_of(qnet, a.dump).read()
        try:
            for c, t, v in zip(cyc.tolist(), last.astype(int).tolist(), lanes.tolist()):
                print(c, t, *v)
        except BrokenPipeError:  # e.g. | head
            sys.stderr.close()
        return 0
    m = default_mults(a.net)
    top = top_name(a.net, m)
    folded = (root / "rtl" / "generated" / top).is_dir()
    for p in write_harness(qnet, top, folded, Path(a.out)):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
