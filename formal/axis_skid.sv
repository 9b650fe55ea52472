// Formal properties of axis_skid (SymbiYosys, `make formal`; see docs/formal.md).
// The source is assumed to follow AXI-Stream (tvalid held and tdata/tlast stable until accepted);
// everything about the output is asserted:
//   handshake   m_axis tvalid held and tdata/tlast stable while tvalid && !tready
//   reset       no output beat in the cycle after reset
//   order       the n-th output beat is the n-th input beat (tdata and tlast), for any n: no beat
//               lost, duplicated, reordered or changed (a tracked beat, f_n chosen by the solver)
//   occupancy   beats in flight (accepted, not yet delivered) <= 2 (output + skid register)
//   throughput  a beat in flight is always on the output (latency 1, no bubble); s_axis_tready is
//               high in the cycle after m_axis_tready was (the registered ready follows it)
// Proven for all time (k-induction): the invariants at the end tie the counters and the tracked
// beat to the module's registers. This module is instantiated inside axis_skid under `ifdef FORMAL
// (`.*`: it sees the ports and the registers by name); formal/axis_skid.sby reads both.
`default_nettype none

module axis_skid_props #(
    parameter integer DATA_W = 8
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
    // registers of axis_skid
    input wire              m_valid_reg,
    input wire              temp_valid_reg,
    input wire              s_ready_reg,
    input wire [DATA_W-1:0] m_data_reg,
    input wire              m_last_reg,
    input wire [DATA_W-1:0] temp_data_reg,
    input wire              temp_last_reg
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
    wire [5:0] f_in, f_out, f_occ, f_pos;
    wire [DATA_W:0] f_word;
    wire f_seen;
    axis_beat_tracker #(.DATA_W(DATA_W), .CW(6)) u_track (
        .clk(clk), .rst(rst), .s_tdata(s_axis_tdata), .s_tlast(s_axis_tlast), .in_hs(in_hs),
        .m_tdata(m_axis_tdata), .m_tlast(m_axis_tlast), .out_hs(out_hs), .f_in(f_in), .f_out(f_out),
        .f_occ(f_occ), .f_pos(f_pos), .f_word(f_word), .f_seen(f_seen));

    always @(posedge clk) if (f_past_valid && !$past(rst)) begin
        if ($past(m_axis_tready))
            assert(s_axis_tready);
    end
    always @(*) if (f_past_valid && !rst) begin
        assert(f_occ <= 6'd2);
        assert(m_axis_tvalid == (f_occ != 6'd0));
    end

    // inductive invariants: beats in flight are the valid registers; the skid register only holds a
    // beat behind a full output register, and then the input is closed; the tracked beat, while in
    // flight, sits in the output register (first in line) or the skid register (second)
    always @(*) if (f_past_valid && !rst) begin
        assert(f_occ == {5'd0, temp_valid_reg} + {5'd0, m_valid_reg});
        if (temp_valid_reg) assert(m_valid_reg && !s_ready_reg);
        if (f_pos < f_occ) begin
            assert(f_seen);
            if (f_pos == 6'd0) assert({m_last_reg, m_data_reg} == f_word);
            else assert({temp_last_reg, temp_data_reg} == f_word);
        end
    end

    // the checks are not vacuous: both registers fill, and the tracked beat gets through a stall
    always @(*) if (f_past_valid && !rst) begin
        cover(f_occ == 6'd2);
        cover(out_hs && f_pos == 6'd0 && f_out == 6'd3 && m_axis_tlast);
    end
endmodule

`default_nettype wire
