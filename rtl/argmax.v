// argmax: index of the first maximum of N signed lanes, forwarded with the lanes (= golden.argmax).
//
// Parameters
//   N       number of input lanes, >= 1
//   DATA_W  signed input lane width, 2..32
//
// Latency and throughput
//   1 cycle (comparison chain, registered output); one beat per clock when not stalled.
//   The output register advances when it is empty or m_axis_tready is high (s_axis_tready depends
//   combinationally on m_axis_tready).
//
// Stream order
//   One beat in, one beat out. Input lane i at [i*DATA_W +: DATA_W]. Output lanes of 32 bits:
//   lane 0 = index of the first maximum (ties go to the lowest index, zero-extended),
//   lane 1+i = input lane i sign-extended to 32 bits. tlast passes through with its beat.
`default_nettype none

module argmax #(
    // number of input lanes
    parameter integer N = 10,
    // signed input lane width
    parameter integer DATA_W = 32
) (
    input  wire                clk,
    input  wire                rst,

    // AXI-Stream input: N signed values
    input  wire [N*DATA_W-1:0] s_axis_tdata,
    input  wire                s_axis_tvalid,
    output wire                s_axis_tready,
    input  wire                s_axis_tlast,

    // AXI-Stream output: index, then the N values
    output wire [(N+1)*32-1:0] m_axis_tdata,
    output wire                m_axis_tvalid,
    input  wire                m_axis_tready,
    output wire                m_axis_tlast
);

localparam integer IDX_W = (N > 1) ? $clog2(N) : 1;

initial begin
    if (N < 1) $error("argmax: N must be >= 1, got %0d", N);
    if (DATA_W < 2 || DATA_W > 32) $error("argmax: DATA_W must be 2..32, got %0d", DATA_W);
end

reg [IDX_W-1:0]        idx_reg;
reg [N*32-1:0]         lanes_reg;
reg                    m_valid_reg;
reg                    m_last_reg;

wire out_en = !m_valid_reg || m_axis_tready;

assign s_axis_tready = out_en;
assign m_axis_tdata  = {lanes_reg, {(32-IDX_W){1'b0}}, idx_reg};
assign m_axis_tvalid = m_valid_reg;
assign m_axis_tlast  = m_last_reg;

// first maximum: a later lane wins only if strictly greater
integer                    i;
reg signed [DATA_W-1:0]    best;
reg signed [DATA_W-1:0]    lane;
reg [IDX_W-1:0]            best_idx;

always @* begin
    best     = s_axis_tdata[DATA_W-1:0];
    best_idx = {IDX_W{1'b0}};
    for (i = 1; i < N; i = i + 1) begin
        lane = s_axis_tdata[i*DATA_W +: DATA_W];
        if (lane > best) begin
            best     = lane;
            best_idx = i[IDX_W-1:0];
        end
    end
end

genvar gi;
generate
    for (gi = 0; gi < N; gi = gi + 1) begin : g_lane
        wire [DATA_W-1:0] v = s_axis_tdata[gi*DATA_W +: DATA_W];
        always @(posedge clk) begin
            if (out_en) begin
                lanes_reg[gi*32 +: 32] <= {{(32-DATA_W+1){v[DATA_W-1]}}, v[DATA_W-2:0]};
            end
        end
    end
endgenerate

always @(posedge clk) begin
    if (out_en) begin
        idx_reg    <= best_idx;
        m_last_reg <= s_axis_tlast;
    end
end

always @(posedge clk) begin
    if (rst) begin
        m_valid_reg <= 1'b0;
    end else if (out_en) begin
        m_valid_reg <= s_axis_tvalid;
    end
end

endmodule

`default_nettype wire
