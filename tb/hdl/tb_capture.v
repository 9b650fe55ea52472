// tb_capture: records every accepted beat of one AXI-Stream (a layer tap or the result) and checks
// its handshake, for the per-image top-level harness (testbench code, tb/hdl/).
//
// Parameters
//   DATA_W  tdata width in bits
//   BEATS   beats per image: tlast must be high on the last beat of an image and only there
//   FILE    capture file, written in the simulator's working directory
//   NAME    stream name in protocol messages
// Capture file: one binary record per accepted beat (tvalid && tready), $fwrite "%u" of
//   {tdata zero-extended to WORDS*32 bits, 31'b0, tlast, cycle}: 32-bit words, least significant
//   first, each little-endian (Icarus and Verilator agree on this only for widths that are whole
//   words, hence the padding), so 8 + 4*WORDS bytes a beat:
//     word 0 cycle, word 1 tlast (0 or 1), words 2.. tdata from its least significant word;
// flushed at every tlast, so a reader sees whole images. tb/harness.py decodes it with numpy
// (a text $fwrite "%h" per beat cost ~2x the simulator time of "%u" and ~10x its decoding).
// Protocol checks (each violation prints one line and increments `errors`):
//   while tvalid && !tready, tvalid stays high and tdata / tlast stay unchanged the next cycle;
//   tlast is high exactly on beat BEATS-1 of an image (the count restarts after every tlast);
//   tdata and tlast carry no X or Z on an accepted beat ("%u" would write them as 0s; a 4-state
//   simulator, Icarus, can have them; Verilator is 2-state).
// `images` counts tlast beats since reset; `errors` counts violations since time 0.
`default_nettype none
// simulation only: registers start from their declared values, no reset needed before `run`
/* verilator lint_off PROCASSINIT */

module tb_capture #(
    parameter integer DATA_W = 8,
    parameter integer BEATS = 1,
    parameter FILE = "capture.cap",
    parameter NAME = "stream"
) (
    input  wire              clk,
    input  wire              rst,
    input  wire [31:0]       cycle,
    input  wire [DATA_W-1:0] tdata,
    input  wire              tvalid,
    input  wire              tready,
    input  wire              tlast,
    output reg  [31:0]       errors = 32'd0,
    output reg  [31:0]       images = 32'd0
);

    localparam integer WORDS = (DATA_W + 31) / 32;

    integer fd;
    wire [32*WORDS-1:0] data_words;
    generate
        if (32 * WORDS > DATA_W) begin : g_pad
            assign data_words = {{(32 * WORDS - DATA_W){1'b0}}, tdata};
        end else begin : g_whole
            assign data_words = tdata;
        end
    endgenerate
    reg [DATA_W-1:0] data_q = {DATA_W{1'b0}};
    reg last_q = 1'b0;
    reg stalled_q = 1'b0;
    reg [31:0] beat_reg = 32'd0;

    initial begin
        if (DATA_W < 1 || BEATS < 1) $error("tb_capture %0s: DATA_W %0d and BEATS %0d must be >= 1",
                                            NAME, DATA_W, BEATS);
        fd = $fopen(FILE, "wb");
        if (fd == 0) $error("tb_capture %0s: cannot open %0s", NAME, FILE);
    end

    // this cycle's violations (each counts one)
    wire accepted = tvalid && tready;
    wire v_stalled = stalled_q && (!tvalid || tdata !== data_q || tlast !== last_q);
    wire v_x = accepted && ((^{tdata, tlast}) === 1'bx);
    wire v_last = accepted && (tlast !== (beat_reg == BEATS - 1));

    always @(posedge clk) begin
        if (rst) begin
            stalled_q <= 1'b0;
            beat_reg <= 32'd0;
            images <= 32'd0;
        end else begin
            if (v_stalled)
                $display("tb_capture %0s: cycle %0d: tvalid/tdata/tlast changed while stalled (valid && !ready)",
                         NAME, cycle);
            if (v_x)
                $display("tb_capture %0s: cycle %0d: X or Z on an accepted beat: tlast %b tdata %h",
                         NAME, cycle, tlast, tdata);
            if (v_last)
                $display("tb_capture %0s: cycle %0d: tlast %b on beat %0d of an image of %0d beats",
                         NAME, cycle, tlast, beat_reg, BEATS);
            errors <= errors + {31'd0, v_stalled} + {31'd0, v_x} + {31'd0, v_last};
            stalled_q <= tvalid && !tready;
            data_q <= tdata;
            last_q <= tlast;
            if (accepted) begin
                $fwrite(fd, "%u", {data_words, 31'd0, tlast, cycle});
                if (tlast) begin
                    beat_reg <= 32'd0;
                    images <= images + 32'd1;
                    $fflush(fd);
                end else begin
                    beat_reg <= beat_reg + 32'd1;
                end
            end
        end
    end

endmodule
/* verilator lint_on PROCASSINIT */

`default_nettype wire
