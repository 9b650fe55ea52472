// pad2d: zero padding of a streamed image (inserts PAD rows/columns of zeros on every side).
//
// Parameters
//   C        channels per beat (>= 1)
//   DATA_W   bits per channel (>= 1)
//   IMG_W    input image width in pixels (>= 1)
//   IMG_H    input image height in pixels (>= 1)
//   PAD      zeros added on each side (>= 1)
//
// Latency and throughput
//   1 cycle (registered output). One output beat per clock when not stalled; an image takes
//   (IMG_W+2*PAD)*(IMG_H+2*PAD) output beats, during the padding beats the input is stalled.
//   An image starts only when its first input beat is valid, so no padding is emitted ahead of
//   data.
//
// Stream order
//   Input: [C, IMG_H, IMG_W] raster order, one pixel (all C channels) per beat.
//   Output: [C, IMG_H+2*PAD, IMG_W+2*PAD] raster order, same lane layout; padding beats are 0.
//   m_axis_tlast is high on the last beat of each padded image (input tlast is not needed).
`default_nettype none

module pad2d #(
    // channels per beat
    parameter integer C = 1,
    // bits per channel
    parameter integer DATA_W = 8,
    // input image width
    parameter integer IMG_W = 28,
    // input image height
    parameter integer IMG_H = 28,
    // zeros on each side
    parameter integer PAD = 1
) (
    input  wire                  clk,
    input  wire                  rst,

    // AXI-Stream input (raster order)
    input  wire [C*DATA_W-1:0]   s_axis_tdata,
    input  wire                  s_axis_tvalid,
    output wire                  s_axis_tready,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire                  s_axis_tlast,  // ignored: position counters define the image
    /* verilator lint_on UNUSEDSIGNAL */

    // AXI-Stream output (padded raster order)
    output wire [C*DATA_W-1:0]   m_axis_tdata,
    output wire                  m_axis_tvalid,
    input  wire                  m_axis_tready,
    output wire                  m_axis_tlast
);

localparam integer OUT_W = IMG_W + 2 * PAD;
localparam integer OUT_H = IMG_H + 2 * PAD;
localparam integer X_W = $clog2(OUT_W + 1);
localparam integer Y_W = $clog2(OUT_H + 1);
// sized counter constants (every value is below OUT_W / OUT_H, which the widths hold)
/* verilator lint_off WIDTHTRUNC */
localparam [X_W-1:0] X_MAX = OUT_W - 1;
localparam [Y_W-1:0] Y_MAX = OUT_H - 1;
localparam [X_W-1:0] X_LO = PAD;
localparam [X_W-1:0] X_HI = PAD + IMG_W;   // first padding column on the right
localparam [Y_W-1:0] Y_LO = PAD;
localparam [Y_W-1:0] Y_HI = PAD + IMG_H;
/* verilator lint_on WIDTHTRUNC */

initial begin
    if (C < 1 || DATA_W < 1 || IMG_W < 1 || IMG_H < 1)
        $error("pad2d: C %0d, DATA_W %0d, IMG_W %0d, IMG_H %0d must be >= 1", C, DATA_W, IMG_W, IMG_H);
    if (PAD < 1)
        $error("pad2d: PAD must be >= 1, got %0d (use no pad2d for PAD = 0)", PAD);
end

// position of the next output beat in the padded image
reg [X_W-1:0]      x_reg;
reg [Y_W-1:0]      y_reg;
reg [C*DATA_W-1:0] m_data_reg;
reg                m_valid_reg;
reg                m_last_reg;

wire in_img = (x_reg >= X_LO) && (x_reg < X_HI) && (y_reg >= Y_LO) && (y_reg < Y_HI);
wire at_start = (x_reg == {X_W{1'b0}}) && (y_reg == {Y_W{1'b0}});
wire out_free = !m_valid_reg || m_axis_tready;
// an image begins only once its first pixel is offered; in_img beats need an input beat
wire load = out_free && ((in_img || at_start) ? s_axis_tvalid : 1'b1);

assign s_axis_tready = out_free && in_img;
assign m_axis_tdata  = m_data_reg;
assign m_axis_tvalid = m_valid_reg;
assign m_axis_tlast  = m_last_reg;

always @(posedge clk) begin
    if (load) begin
        m_data_reg <= in_img ? s_axis_tdata : {C*DATA_W{1'b0}};
        m_last_reg <= (x_reg == X_MAX) && (y_reg == Y_MAX);
        if (x_reg == X_MAX) begin
            x_reg <= {X_W{1'b0}};
            y_reg <= (y_reg == Y_MAX) ? {Y_W{1'b0}} : y_reg + 1'b1;
        end else begin
            x_reg <= x_reg + 1'b1;
        end
    end
    if (load) begin
        m_valid_reg <= 1'b1;
    end else if (m_axis_tready) begin
        m_valid_reg <= 1'b0;
    end

    if (rst) begin
        x_reg <= {X_W{1'b0}};
        y_reg <= {Y_W{1'b0}};
        m_valid_reg <= 1'b0;
        m_last_reg <= 1'b0;
    end
end

`ifdef FORMAL
// formal properties (SymbiYosys, `make formal`): formal/pad2d.sv
pad2d_props #(.C(C), .DATA_W(DATA_W), .IMG_W(IMG_W), .IMG_H(IMG_H), .PAD(PAD), .X_W(X_W), .Y_W(Y_W))
    u_props (.*);
`endif

endmodule

`default_nettype wire
