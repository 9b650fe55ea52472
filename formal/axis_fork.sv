// Formal properties of axis_fork (SymbiYosys, `make formal`; see docs/formal.md).
// The source is assumed to follow AXI-Stream (tvalid held and tdata/tlast stable until accepted);
// the consumers' tready are free. Asserted, for each output:
//   handshake   tvalid held and tdata/tlast stable while tvalid && !tready
//   reset       the cycle after reset both outputs show the input's tvalid (no beat taken)
//   order       an output takes only the current input beat and at most once: its beat count is
//               the input's or one more (it took the current beat), so its n-th beat is the
//               input's n-th (tdata and tlast pass through); the outputs are never more than
//               one beat apart
//   throughput  with both consumers ready, a valid input beat is accepted in the same cycle
// Proven for all time (k-induction; the invariant at the end ties the counters to the taken flags).
// Instantiated inside axis_fork under `ifdef FORMAL (`.*`: it sees the ports and the registers).
`default_nettype none

module axis_fork_props #(
    parameter integer DATA_W = 8
) (
    input wire              clk,
    input wire              rst,
    input wire [DATA_W-1:0] s_axis_tdata,
    input wire              s_axis_tvalid,
    input wire              s_axis_tready,
    input wire              s_axis_tlast,
    input wire [DATA_W-1:0] m_axis_a_tdata,
    input wire              m_axis_a_tvalid,
    input wire              m_axis_a_tready,
    input wire              m_axis_a_tlast,
    input wire [DATA_W-1:0] m_axis_b_tdata,
    input wire              m_axis_b_tvalid,
    input wire              m_axis_b_tready,
    input wire              m_axis_b_tlast,
    // registers of axis_fork
    input wire              taken_a_reg,
    input wire              taken_b_reg
);
    wire [DATA_W-1:0] a_tdata = m_axis_a_tdata, b_tdata = m_axis_b_tdata;
    wire a_tvalid = m_axis_a_tvalid, a_tlast = m_axis_a_tlast;
    wire b_tvalid = m_axis_b_tvalid, b_tlast = m_axis_b_tlast;

    wire in_hs = s_axis_tvalid && s_axis_tready;
    wire a_hs = a_tvalid && m_axis_a_tready;
    wire b_hs = b_tvalid && m_axis_b_tready;

    wire f_past_valid;
    formal_start u_start (.clk(clk), .rst(rst), .f_past_valid(f_past_valid));

    // the input follows AXI-Stream (assumed), both outputs do (asserted; right after reset an
    // output shows the input's tvalid, asserted below)
    axis_source_rules #(.DATA_W(DATA_W)) u_in (
        .clk(clk), .rst(rst), .tdata(s_axis_tdata), .tvalid(s_axis_tvalid), .tready(s_axis_tready),
        .tlast(s_axis_tlast), .f_past_valid(f_past_valid));
    axis_sink_rules #(.DATA_W(DATA_W), .AFTER_RESET(0)) u_out_a (
        .clk(clk), .rst(rst), .tdata(a_tdata), .tvalid(a_tvalid), .tready(m_axis_a_tready),
        .tlast(a_tlast), .f_past_valid(f_past_valid));
    axis_sink_rules #(.DATA_W(DATA_W), .AFTER_RESET(0)) u_out_b (
        .clk(clk), .rst(rst), .tdata(b_tdata), .tvalid(b_tvalid), .tready(m_axis_b_tready),
        .tlast(b_tlast), .f_past_valid(f_past_valid));

    reg [5:0] f_in = 6'd0, f_a = 6'd0, f_b = 6'd0;
    always @(posedge clk)
        if (rst) begin
            f_in <= 6'd0;
            f_a <= 6'd0;
            f_b <= 6'd0;
        end else begin
            f_in <= f_in + {5'd0, in_hs};
            f_a <= f_a + {5'd0, a_hs};
            f_b <= f_b + {5'd0, b_hs};
        end

    always @(*) if (f_past_valid && !rst) begin
        assert(f_a == f_in || f_a == f_in + 6'd1);
        assert(f_b == f_in || f_b == f_in + 6'd1);
        if (a_hs) assert(f_a == f_in && a_tdata == s_axis_tdata && a_tlast == s_axis_tlast);
        if (b_hs) assert(f_b == f_in && b_tdata == s_axis_tdata && b_tlast == s_axis_tlast);
        if (in_hs) assert((a_hs || f_a == f_in + 6'd1) && (b_hs || f_b == f_in + 6'd1));
        if (s_axis_tvalid && m_axis_a_tready && m_axis_b_tready) assert(s_axis_tready);
    end
    always @(posedge clk)
        if (f_past_valid && $past(rst)) assert(a_tvalid == s_axis_tvalid && b_tvalid == s_axis_tvalid);

    // inductive invariant: an output is one beat ahead of the input exactly when it took the
    // current beat
    always @(*) if (f_past_valid && !rst) begin
        assert(f_a == f_in + {5'd0, taken_a_reg});
        assert(f_b == f_in + {5'd0, taken_b_reg});
    end

    always @(*) if (f_past_valid && !rst) begin
        cover(f_a == f_in + 6'd1 && f_b == f_in && !m_axis_b_tready);
        cover(f_in == 6'd4 && f_a == 6'd4 && f_b == 6'd4);
    end
endmodule

`default_nettype wire
