// The AXI-Stream handshake rules for the formal property modules (formal/<module>.sv):
//   axis_source_rules  assumes a source follows them (an input stream of the module under proof)
//   axis_sink_rules    asserts that the module follows them on one of its output streams
// Rules: while tvalid && !tready, tvalid stays high and tdata / tlast stay unchanged the next
// cycle; after reset, no beat is offered until a cycle has passed (axis_sink_rules, when AFTER_RESET
// is 1). The first cycle comes from formal_start (one per property module).
`default_nettype none

// The first cycle: f_past_valid is low there only, and reset is assumed then (the registers start
// unknown). Each property module has one and hands f_past_valid to the rules it instantiates.
module formal_start (
    input wire clk,
    input wire rst,
    output reg f_past_valid
);
    initial f_past_valid = 1'b0;
    always @(posedge clk) f_past_valid <= 1'b1;
    always @(*) if (!f_past_valid) assume(rst);
endmodule

module axis_source_rules #(
    parameter integer DATA_W = 8
) (
    input wire              clk,
    input wire              rst,
    input wire [DATA_W-1:0] tdata,
    input wire              tvalid,
    input wire              tready,
    input wire              tlast,
    input wire              f_past_valid   // formal_start: low in the first cycle only
);
    always @(posedge clk)
        if (f_past_valid && !$past(rst) && $past(tvalid && !tready))
            assume(tvalid && tdata == $past(tdata) && tlast == $past(tlast));
endmodule

module axis_sink_rules #(
    parameter integer DATA_W = 8,
    parameter integer AFTER_RESET = 1
) (
    input wire              clk,
    input wire              rst,
    input wire [DATA_W-1:0] tdata,
    input wire              tvalid,
    input wire              tready,
    input wire              tlast,
    input wire              f_past_valid   // formal_start: low in the first cycle only
);
    always @(posedge clk) if (f_past_valid) begin
        if (!$past(rst) && $past(tvalid && !tready))
            assert(tvalid && tdata == $past(tdata) && tlast == $past(tlast));
        if (AFTER_RESET != 0 && $past(rst))
            assert(!tvalid);
    end
endmodule

`default_nettype wire

// Beat accounting and order of a one-input, one-output stream module (a FIFO-like one):
//   f_in, f_out  beats accepted / delivered since reset (CW-bit counters that wrap; differences
//                count), f_occ = beats in flight
//   f_n          a beat number the solver chooses (anyconst); f_word is that input beat's
//                {tlast, tdata}, f_seen says it has arrived
// Asserted: the output beat number f_n is that input beat (so no beat is lost, duplicated,
// reordered or changed, whichever f_n). f_pos = f_n - f_out: the tracked beat's place in the line
// (in flight while f_pos < f_occ), for the module's inductive invariants.
`default_nettype none

module axis_beat_tracker #(
    parameter integer DATA_W = 8,
    parameter integer CW = 6
) (
    input wire              clk,
    input wire              rst,
    input wire [DATA_W-1:0] s_tdata,
    input wire              s_tlast,
    input wire              in_hs,
    input wire [DATA_W-1:0] m_tdata,
    input wire              m_tlast,
    input wire              out_hs,
    output reg [CW-1:0]     f_in = {CW{1'b0}},
    output reg [CW-1:0]     f_out = {CW{1'b0}},
    output wire [CW-1:0]    f_occ,
    output wire [CW-1:0]    f_pos,
    output reg [DATA_W:0]   f_word,
    output reg              f_seen = 1'b0
);
    (* anyconst *) reg [CW-1:0] f_n;
    assign f_occ = f_in - f_out;
    assign f_pos = f_n - f_out;

    always @(posedge clk)
        if (rst) begin
            f_in <= {CW{1'b0}};
            f_out <= {CW{1'b0}};
            f_seen <= 1'b0;
        end else begin
            f_in <= f_in + {{(CW-1){1'b0}}, in_hs};
            f_out <= f_out + {{(CW-1){1'b0}}, out_hs};
            if (in_hs && f_in == f_n) begin
                f_seen <= 1'b1;
                f_word <= {s_tlast, s_tdata};
            end
        end

    always @(*) if (!rst && out_hs && f_out == f_n) begin
        assert(f_seen);
        assert({m_tlast, m_tdata} == f_word);
    end
endmodule

`default_nettype wire
