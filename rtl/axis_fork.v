// axis_fork: AXI-Stream broadcast of one input stream to two consumers (residual branches).
//
// Parameters
//   DATA_W  width of tdata in bits (>= 1); tlast travels with the data.
//
// Function
//   Every input beat is delivered exactly once to m_axis_a and exactly once to m_axis_b, in input
//   order, unchanged (tdata and tlast). The two outputs may accept a beat in different cycles: a
//   per-output "taken" flag remembers that an output already accepted the current input beat, and
//   that output shows tvalid low until the input beat is consumed.
//
// Ready/valid rules
//   m_axis_a_tvalid = s_axis_tvalid && !taken_a      (same for b)
//   s_axis_tready   = (m_axis_a_tready || taken_a) && (m_axis_b_tready || taken_b)
//   An output's tvalid depends only on s_axis_tvalid and registered state, never on any tready,
//   so a consumer whose tready waits for (or is computed from) its tvalid cannot form a
//   combinational loop with the other consumer. s_axis_tready depends combinationally on both
//   m_axis_*_tready (as AXI-Stream allows). The input beat completes (s_axis handshake) in the
//   cycle the last of the two outputs accepts it; both taken flags clear then.
//
// Latency and throughput
//   0 cycles (tdata, tlast and tvalid pass through combinationally, no data registers); one beat
//   per clock when both consumers are ready. When one consumer stalls, the other takes at most the
//   current beat and then waits (the outputs are never more than one beat apart).
//
// Stream order
//   Beats leave on both outputs in the order they arrive.
`default_nettype none

module axis_fork #(
    // width of tdata in bits
    parameter integer DATA_W = 8
) (
    input  wire              clk,
    input  wire              rst,

    // AXI-Stream input
    input  wire [DATA_W-1:0] s_axis_tdata,
    input  wire              s_axis_tvalid,
    output wire              s_axis_tready,
    input  wire              s_axis_tlast,

    // AXI-Stream output a
    output wire [DATA_W-1:0] m_axis_a_tdata,
    output wire              m_axis_a_tvalid,
    input  wire              m_axis_a_tready,
    output wire              m_axis_a_tlast,

    // AXI-Stream output b
    output wire [DATA_W-1:0] m_axis_b_tdata,
    output wire              m_axis_b_tvalid,
    input  wire              m_axis_b_tready,
    output wire              m_axis_b_tlast
);

initial begin
    if (DATA_W < 1) $error("axis_fork: DATA_W must be >= 1, got %0d", DATA_W);
end

// the output already accepted the current input beat
reg taken_a_reg;
reg taken_a_next;
reg taken_b_reg;
reg taken_b_next;

// an output is done with the current beat when it takes it now or took it earlier
wire done_a = m_axis_a_tready || taken_a_reg;
wire done_b = m_axis_b_tready || taken_b_reg;

assign s_axis_tready = done_a && done_b;

assign m_axis_a_tdata  = s_axis_tdata;
assign m_axis_a_tlast  = s_axis_tlast;
assign m_axis_a_tvalid = s_axis_tvalid && !taken_a_reg;

assign m_axis_b_tdata  = s_axis_tdata;
assign m_axis_b_tlast  = s_axis_tlast;
assign m_axis_b_tvalid = s_axis_tvalid && !taken_b_reg;

always @* begin
    taken_a_next = taken_a_reg;
    taken_b_next = taken_b_reg;
    if (s_axis_tvalid && s_axis_tready) begin
        // input beat consumed: both outputs start fresh on the next beat
        taken_a_next = 1'b0;
        taken_b_next = 1'b0;
    end else begin
        if (m_axis_a_tvalid && m_axis_a_tready) begin
            taken_a_next = 1'b1;
        end
        if (m_axis_b_tvalid && m_axis_b_tready) begin
            taken_b_next = 1'b1;
        end
    end
end

always @(posedge clk) begin
    if (rst) begin
        taken_a_reg <= 1'b0;
        taken_b_reg <= 1'b0;
    end else begin
        taken_a_reg <= taken_a_next;
        taken_b_reg <= taken_b_next;
    end
end

`ifdef FORMAL
// formal properties (SymbiYosys, `make formal`): formal/axis_fork.sv
axis_fork_props #(.DATA_W(DATA_W)) u_props (.*);
`endif

endmodule

`default_nettype wire
