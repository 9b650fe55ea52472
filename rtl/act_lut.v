// act_lut: per-lane activation through a 256-entry lookup-table ROM (= golden.act_lut).
//
//   y[c] = TABLE[x[c]]     the address is the raw input byte of lane c
//
// Parameters
//   C           lanes (channels) per beat, >= 1
//   IN_SIGNED   1 = int8 input lanes, 0 = uint8 (documentation and check only: the address is the
//               raw 8-bit lane, so a signed value q < 0 reads entry q + 256 either way)
//   OUT_W       output lane width, 1..16 (8 for the int8/uint8 tables of int8cnn.activations)
//   TABLE_FILE  $readmemh file, 256 lines of ceil(OUT_W/4) hex digits (2 for OUT_W = 8), two's
//               complement; line a = output for input byte a (int8cnn.activations.lut_table)
//
// Latency and throughput
//   1 cycle (table read into the registered output); one beat per clock when not stalled.
//   Stage-enable backpressure: the output register advances when it is empty or m_axis_tready is
//   high; s_axis_tready = !m_axis_tvalid || m_axis_tready (combinational in m_axis_tready).
//
// Stream order
//   One beat in, one beat out, in order; lane c at [c*8 +: 8] in and [c*OUT_W +: OUT_W] out;
//   tlast passes through with its beat.
`default_nettype none

module act_lut #(
    // lanes (channels) per beat
    parameter integer C = 3,
    // 1 = signed (int8) input lanes, 0 = unsigned (uint8); the table address is the raw byte
    parameter integer IN_SIGNED = 1,
    // output lane width (table word width)
    parameter integer OUT_W = 8,
    // lookup table, 256 lines (line a = output for input byte a), two's complement hex
    parameter TABLE_FILE = "act_table.mem"
) (
    input  wire                 clk,
    input  wire                 rst,

    // AXI-Stream input: C bytes (table addresses)
    input  wire [C*8-1:0]       s_axis_tdata,
    input  wire                 s_axis_tvalid,
    output wire                 s_axis_tready,
    input  wire                 s_axis_tlast,

    // AXI-Stream output: C table values
    output wire [C*OUT_W-1:0]   m_axis_tdata,
    output wire                 m_axis_tvalid,
    input  wire                 m_axis_tready,
    output wire                 m_axis_tlast
);

// input lane width = table address width
localparam integer IN_W = 8;
// table entries
localparam integer DEPTH = 1 << IN_W;

reg [OUT_W-1:0] table_mem [0:DEPTH-1];

initial begin
    if (C < 1) $error("act_lut: C must be >= 1, got %0d", C);
    if (IN_SIGNED != 0 && IN_SIGNED != 1) $error("act_lut: IN_SIGNED must be 0 or 1, got %0d", IN_SIGNED);
    if (OUT_W < 1 || OUT_W > 16) $error("act_lut: OUT_W must be 1..16, got %0d", OUT_W);
    $readmemh(TABLE_FILE, table_mem);
end

// output register
reg [C*OUT_W-1:0] m_data_reg;
reg               m_valid_reg;
reg               m_last_reg;

// pipeline control: the output stage advances when empty or drained
wire out_en = !m_valid_reg || m_axis_tready;

assign s_axis_tready = out_en;

assign m_axis_tdata  = m_data_reg;
assign m_axis_tvalid = m_valid_reg;
assign m_axis_tlast  = m_last_reg;

genvar gc;
generate
    for (gc = 0; gc < C; gc = gc + 1) begin : g_lane
        wire [IN_W-1:0] addr = s_axis_tdata[gc*IN_W +: IN_W];

        always @(posedge clk) begin
            if (out_en) begin
                m_data_reg[gc*OUT_W +: OUT_W] <= table_mem[addr];
            end
        end
    end
endgenerate

always @(posedge clk) begin
    if (out_en) begin
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
