// Formal properties of eltwise_add's join and pipeline (SymbiYosys, `make formal`; docs/formal.md).
// The values (the rescaled add) are checked bit-exact by simulation (tb/test_eltwise_add.py); here:
// both sources are assumed to follow AXI-Stream; asserted:
//   join        a beat is taken from both inputs in the same cycle, never from one alone
//   handshake   m_axis tvalid held and tdata/tlast stable while tvalid && !tready; no output beat
//               in the cycle after reset
//   order       the n-th output beat carries the n-th input beat's tlast, for any n (a tracked
//               beat): no beat lost, duplicated or reordered
//   occupancy   beats in flight <= 2 (the two pipeline stages)
//   throughput  with both inputs valid, the inputs are accepted in that cycle when the output
//               stage is free (empty or being taken) or a stage is empty (bubbles squeezed out);
//               a beat in flight not taken in a cycle is on the output the next (latency 2)
// Proven for all time (k-induction; the invariants tie the counters and the tracked beat to the
// stage registers). Instantiated inside eltwise_add under `ifdef FORMAL (`.*`).
`default_nettype none

module eltwise_add_props #(
    parameter integer C = 4,
    parameter integer OUT_W = 8
) (
    input wire               clk,
    input wire               rst,
    input wire [C*8-1:0]     s_axis_a_tdata,
    input wire               s_axis_a_tvalid,
    input wire               s_axis_a_tready,
    input wire               s_axis_a_tlast,
    input wire [C*8-1:0]     s_axis_b_tdata,
    input wire               s_axis_b_tvalid,
    input wire               s_axis_b_tready,
    input wire [C*OUT_W-1:0] m_axis_tdata,
    input wire               m_axis_tvalid,
    input wire               m_axis_tready,
    input wire               m_axis_tlast,
    // registers of eltwise_add
    input wire               p_valid_reg,
    input wire               p_last_reg,
    input wire               m_valid_reg,
    input wire               m_last_reg
);
    wire a_hs = s_axis_a_tvalid && s_axis_a_tready;
    wire b_hs = s_axis_b_tvalid && s_axis_b_tready;
    wire out_hs = m_axis_tvalid && m_axis_tready;

    wire f_past_valid;
    formal_start u_start (.clk(clk), .rst(rst), .f_past_valid(f_past_valid));

    axis_source_rules #(.DATA_W(C * 8)) u_in_a (
        .clk(clk), .rst(rst), .tdata(s_axis_a_tdata), .tvalid(s_axis_a_tvalid),
        .tready(s_axis_a_tready), .tlast(s_axis_a_tlast), .f_past_valid(f_past_valid));
    axis_source_rules #(.DATA_W(C * 8)) u_in_b (
        .clk(clk), .rst(rst), .tdata(s_axis_b_tdata), .tvalid(s_axis_b_tvalid),
        .tready(s_axis_b_tready), .tlast(1'b0), .f_past_valid(f_past_valid));
    axis_sink_rules #(.DATA_W(C * OUT_W)) u_out (
        .clk(clk), .rst(rst), .tdata(m_axis_tdata), .tvalid(m_axis_tvalid), .tready(m_axis_tready),
        .tlast(m_axis_tlast), .f_past_valid(f_past_valid));

    // beat counts and the tracked beat: its tlast (the data is transformed, see above)
    wire [5:0] f_in, f_out, f_occ, f_pos;
    wire [1:0] f_word;
    wire f_seen;
    axis_beat_tracker #(.DATA_W(1), .CW(6)) u_track (
        .clk(clk), .rst(rst), .s_tdata(1'b0), .s_tlast(s_axis_a_tlast), .in_hs(a_hs),
        .m_tdata(1'b0), .m_tlast(m_axis_tlast), .out_hs(out_hs), .f_in(f_in), .f_out(f_out),
        .f_occ(f_occ), .f_pos(f_pos), .f_word(f_word), .f_seen(f_seen));

    always @(*) if (f_past_valid && !rst) begin
        assert(a_hs == b_hs);
        assert(f_occ <= 6'd2);
        if (f_occ == 6'd0) assert(!m_axis_tvalid);
        if (s_axis_a_tvalid && s_axis_b_tvalid && (!m_axis_tvalid || m_axis_tready)) assert(a_hs);
        if (s_axis_a_tvalid && s_axis_b_tvalid && f_occ < 6'd2) assert(a_hs);
    end
    always @(posedge clk)
        if (f_past_valid && !$past(rst) && $past(f_occ) != 6'd0 && !$past(out_hs))
            assert(m_axis_tvalid);

    // inductive invariants: beats in flight are the valid stages; the tracked beat, in flight, is
    // the output stage's (first in line when it is full) or stage 1's
    always @(*) if (f_past_valid && !rst) begin
        assert(f_occ == {5'd0, p_valid_reg} + {5'd0, m_valid_reg});
        if (f_pos < f_occ) begin
            assert(f_seen);
            if (m_valid_reg && f_pos == 6'd0) assert(f_word == {m_last_reg, 1'b0});
            else assert(f_word == {p_last_reg, 1'b0});
        end
    end

    always @(*) if (f_past_valid && !rst) begin
        cover(f_occ == 6'd2 && !m_axis_tready);
        cover(out_hs && f_pos == 6'd0 && f_out == 6'd3 && m_axis_tlast);
    end
endmodule

`default_nettype wire
