// tb_capture: records every accepted beat of one AXI-Stream (a layer tap or the result) and checks
// its handshake, for the per-image top-level harness (testbench code, tb/hdl/).
//
// Parameters
//   DATA_W  tdata width in bits
//   BEATS   beats per image: tlast must be high on the last beat of an image and only there
//   FILE    capture file, written in the simulator's working directory
//   NAME    stream name in protocol messages
// Capture file: one line per accepted beat (tvalid && tready), fixed width:
//   "<cycle, 8 hex digits> <tlast, 1 digit> <tdata, DATA_W/4 rounded up hex digits>\n"
// flushed at every tlast, so a reader sees whole images. tb/harness.py decodes it with numpy.
// Protocol checks (each violation prints one line and increments `errors`):
//   while tvalid && !tready, tvalid stays high and tdata / tlast stay unchanged the next cycle;
//   tlast is high exactly on beat BEATS-1 of an image (the count restarts after every tlast).
// `images` counts tlast beats since reset; `errors` counts violations since time 0.
`default_nettype none
// simulation only: registers start from their declared values, no reset needed before `run`
/* verilator lint_off PROCASSINIT */

module tb_capture #(
    parameter integer DATA_W = 8,
    parameter integer BEATS = 1,
    parameter FILE = "capture.hex",
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

    integer fd;
    reg [DATA_W-1:0] data_q = {DATA_W{1'b0}};
    reg last_q = 1'b0;
    reg stalled_q = 1'b0;
    reg [31:0] beat_reg = 32'd0;

    initial begin
        if (DATA_W < 1 || BEATS < 1) $error("tb_capture %0s: DATA_W %0d and BEATS %0d must be >= 1",
                                            NAME, DATA_W, BEATS);
        fd = $fopen(FILE, "w");
        if (fd == 0) $error("tb_capture %0s: cannot open %0s", NAME, FILE);
    end

    always @(posedge clk) begin
        if (rst) begin
            stalled_q <= 1'b0;
            beat_reg <= 32'd0;
            images <= 32'd0;
        end else begin
            if (stalled_q && (!tvalid || tdata !== data_q || tlast !== last_q)) begin
                $display("tb_capture %0s: cycle %0d: tvalid/tdata/tlast changed while stalled (valid && !ready)",
                         NAME, cycle);
                errors <= errors + 32'd1;
            end
            stalled_q <= tvalid && !tready;
            data_q <= tdata;
            last_q <= tlast;
            if (tvalid && tready) begin
                $fwrite(fd, "%h %h %h\n", cycle, tlast, tdata);
                if (tlast !== (beat_reg == BEATS - 1)) begin
                    $display("tb_capture %0s: cycle %0d: tlast %b on beat %0d of an image of %0d beats",
                             NAME, cycle, tlast, beat_reg, BEATS);
                    errors <= errors + 32'd1;
                end
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
