// Formal properties of axis_fifo (SymbiYosys, `make formal`; see docs/formal.md).
// The source is assumed to follow AXI-Stream (tvalid held and tdata/tlast stable until accepted);
// everything about the output is asserted:
//   handshake   m_axis tvalid held and tdata/tlast stable while tvalid && !tready
//   reset       no output beat in the cycle after reset
//   order       the n-th output beat is the n-th input beat (tdata and tlast), for any n: no beat
//               lost, duplicated, reordered or changed (a tracked beat, f_n chosen by the solver)
//   occupancy   beats in flight (accepted, not yet delivered) <= DEPTH + 1 (RAM + output register)
//   throughput  s_axis_tready is high while fewer than DEPTH beats are in flight; a beat in flight
//               that was not taken in a cycle is on the output the next (latency <= 2); with two
//               or more in flight, the output refills in the cycle it is taken (no bubble)
// Proven for all time (k-induction): the invariants at the end tie the counters and the tracked
// beat to the pointers, the RAM and the output register. Instantiated inside axis_fifo under
// `ifdef FORMAL (`.*`: it sees the ports and the registers by name).
`default_nettype none

module axis_fifo_props #(
    parameter integer DATA_W = 8,
    parameter integer DEPTH = 16,
    parameter integer ADDR_W = 4,
    parameter integer WORD_W = 9
) (
    input wire              clk,
    input wire              rst,
    input wire [DATA_W-1:0] s_axis_tdata,
    input wire              s_axis_tvalid,
    input wire              s_axis_tready,
    input wire              s_axis_tlast,
    input wire [DATA_W-1:0] m_axis_tdata,
    input wire              m_axis_tvalid,
    input wire              m_axis_tready,
    input wire              m_axis_tlast,
    // registers of axis_fifo
    input wire [ADDR_W:0]   wr_ptr_reg,
    input wire [ADDR_W:0]   rd_ptr_reg,
    input wire [WORD_W-1:0] m_word_reg,
    input wire              m_valid_reg,
    // a RAM word: f_mem_word = mem[f_addr] (axis_fifo reads it for these properties)
    output wire [ADDR_W-1:0] f_addr,
    input wire [WORD_W-1:0] f_mem_word
);
    wire in_hs = s_axis_tvalid && s_axis_tready;
    wire out_hs = m_axis_tvalid && m_axis_tready;

    wire f_past_valid;
    formal_start u_start (.clk(clk), .rst(rst), .f_past_valid(f_past_valid));

    axis_source_rules #(.DATA_W(DATA_W)) u_in (
        .clk(clk), .rst(rst), .tdata(s_axis_tdata), .tvalid(s_axis_tvalid), .tready(s_axis_tready),
        .tlast(s_axis_tlast), .f_past_valid(f_past_valid));
    axis_sink_rules #(.DATA_W(DATA_W)) u_out (
        .clk(clk), .rst(rst), .tdata(m_axis_tdata), .tvalid(m_axis_tvalid), .tready(m_axis_tready),
        .tlast(m_axis_tlast), .f_past_valid(f_past_valid));

    // beat counts, beats in flight and the tracked beat (its order asserted there)
    localparam integer CW = ADDR_W + 3;
    wire [CW-1:0] f_in, f_out, f_occ, f_pos;
    wire [WORD_W-1:0] f_word;
    wire f_seen;
    axis_beat_tracker #(.DATA_W(DATA_W), .CW(CW)) u_track (
        .clk(clk), .rst(rst), .s_tdata(s_axis_tdata), .s_tlast(s_axis_tlast), .in_hs(in_hs),
        .m_tdata(m_axis_tdata), .m_tlast(m_axis_tlast), .out_hs(out_hs), .f_in(f_in), .f_out(f_out),
        .f_occ(f_occ), .f_pos(f_pos), .f_word(f_word), .f_seen(f_seen));

    always @(posedge clk) if (f_past_valid && !$past(rst)) begin
        if ($past(f_occ) != 0 && !$past(out_hs))
            assert(m_axis_tvalid);
        if ($past(f_occ) >= 2 && $past(out_hs))
            assert(m_axis_tvalid);
    end
    always @(*) if (f_past_valid && !rst) begin
        assert(f_occ <= DEPTH + 1);
        if (f_occ == 0) assert(!m_axis_tvalid);
        if (f_occ < DEPTH) assert(s_axis_tready);
    end

    // inductive invariants: beats in flight = beats in the RAM (pointer difference, <= DEPTH) + the
    // output register; the tracked beat, while in flight, is the output register (first in line)
    // or the RAM word at its place behind the read pointer
    wire [ADDR_W:0] f_ram = wr_ptr_reg - rd_ptr_reg;
    wire [ADDR_W:0] f_place = rd_ptr_reg + f_pos[ADDR_W:0] - {{ADDR_W{1'b0}}, m_valid_reg};
    assign f_addr = f_place[ADDR_W-1:0];
    always @(*) if (f_past_valid && !rst) begin
        assert(f_ram <= DEPTH);
        assert(f_occ == {{(CW-ADDR_W-1){1'b0}}, f_ram} + {{(CW-1){1'b0}}, m_valid_reg});
        if (f_pos < f_occ) begin
            assert(f_seen);
            if (m_valid_reg && f_pos == 0) assert(m_word_reg == f_word);
            else assert(f_mem_word == f_word);
        end
    end

    // the checks are not vacuous: the FIFO fills, and the tracked beat gets through
    always @(*) if (f_past_valid && !rst) begin
        cover(f_occ == DEPTH + 1);
        cover(out_hs && f_pos == 0 && f_out == DEPTH + 2 && m_axis_tlast);
    end
endmodule

`default_nettype wire
