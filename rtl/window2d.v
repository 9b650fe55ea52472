// window2d: sliding KxK window generator (line buffers + window shift register), stride STRIDE,
// no padding.
//
// Parameters: C channels per pixel, DATA_W bits per channel value, image IMG_W x IMG_H, window
// K x K, stride STRIDE (see the parameter comments below).
//
// Stream order: s_axis carries a [C,IMG_H,IMG_W] image in raster order (y outer, x inner), one
// pixel per beat, channel c at s_axis_tdata[c*DATA_W +: DATA_W]. m_axis carries one beat per valid
// window position (OH = (IMG_H-K)/STRIDE+1 rows, OW = (IMG_W-K)/STRIDE+1 columns) in raster order;
// lane (ky*K+kx)*C+c = in[c][oy*STRIDE+ky][ox*STRIDE+kx]. m_axis_tlast marks the last window of an
// image. Images stream back to back without a gap or a reset: the position counters wrap at the end
// of each image; s_axis_tlast is ignored.
//
// Latency: 1 cycle (the window that completes with input pixel (y, x) is valid on m_axis the cycle
// after that pixel is accepted). Throughput: one input pixel per clock when not stalled; output is
// registered. When the output holds a beat that is not taken, the input is stalled
// (s_axis_tready = !m_axis_tvalid || m_axis_tready, a combinational path from m_axis_tready).
//
// Storage: one line-buffer memory of IMG_W words of (K-1)*C*DATA_W bits (word x holds the K-1
// previous rows at column x, asynchronous read) and K*K*C*DATA_W bits of window registers, which
// drive m_axis_tdata directly.

`default_nettype none

module window2d #
(
    // channels per pixel (one beat carries all C channels), >= 1
    parameter C = 1,
    // bits per channel value, >= 1 (the module does not interpret the values)
    parameter DATA_W = 8,
    // image width in pixels, >= K
    parameter IMG_W = 28,
    // image height in pixels, >= K
    parameter IMG_H = 28,
    // window size (K x K), >= 1
    parameter K = 7,
    // window step in x and y, >= 1
    parameter STRIDE = 1
)
(
    input  wire                     clk,
    input  wire                     rst,

    /*
     * Pixel input (raster order)
     */
    input  wire [C*DATA_W-1:0]      s_axis_tdata,
    input  wire                     s_axis_tvalid,
    output wire                     s_axis_tready,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire                     s_axis_tlast,  // ignored: position counters define the image
    /* verilator lint_on UNUSEDSIGNAL */

    /*
     * Window output (one beat per window position, raster order)
     */
    output wire [K*K*C*DATA_W-1:0]  m_axis_tdata,
    output wire                     m_axis_tvalid,
    input  wire                     m_axis_tready,
    output wire                     m_axis_tlast
);

// bits per pixel (all channels)
localparam PW = C*DATA_W;
// output window geometry
localparam OW = (IMG_W - K) / STRIDE + 1;
localparam OH = (IMG_H - K) / STRIDE + 1;
// input position of the pixel that completes the last window of an image
localparam X_LAST = (OW - 1) * STRIDE + K - 1;
localparam Y_LAST = (OH - 1) * STRIDE + K - 1;
// counter widths
localparam X_W = (IMG_W > 1) ? $clog2(IMG_W) : 1;
localparam Y_W = (IMG_H > 1) ? $clog2(IMG_H) : 1;
localparam PH_W = (STRIDE > 1) ? $clog2(STRIDE) : 1;
// stride phase of column 0 / row 0: (0 - (K-1)) mod STRIDE; a window starts where the phase is 0
localparam PH0 = (STRIDE - ((K - 1) % STRIDE)) % STRIDE;

// sized constants for the counters (all values fit: checked below)
/* verilator lint_off WIDTHTRUNC */
localparam [X_W-1:0] X_MAX_C = IMG_W - 1;
localparam [Y_W-1:0] Y_MAX_C = IMG_H - 1;
localparam [X_W-1:0] X_FIRST_C = K - 1;
localparam [Y_W-1:0] Y_FIRST_C = K - 1;
localparam [X_W-1:0] X_LAST_C = X_LAST;
localparam [Y_W-1:0] Y_LAST_C = Y_LAST;
localparam [PH_W-1:0] PH_MAX_C = STRIDE - 1;
localparam [PH_W-1:0] PH0_C = PH0;
/* verilator lint_on WIDTHTRUNC */

initial begin
    if (C < 1 || DATA_W < 1) begin
        $error("Error: window2d C (%0d) and DATA_W (%0d) must be >= 1 (instance %m)", C, DATA_W);
        $finish;
    end
    if (K < 1 || STRIDE < 1) begin
        $error("Error: window2d K (%0d) and STRIDE (%0d) must be >= 1 (instance %m)", K, STRIDE);
        $finish;
    end
    if (K > IMG_W || K > IMG_H) begin
        $error("Error: window2d K (%0d) exceeds the image %0dx%0d (instance %m)", K, IMG_W, IMG_H);
        $finish;
    end
end

// position of the next input pixel and its stride phases
reg [X_W-1:0]  x_reg, x_next;
reg [Y_W-1:0]  y_reg, y_next;
reg [PH_W-1:0] xph_reg, xph_next;
reg [PH_W-1:0] yph_reg, yph_next;

reg out_valid_reg, out_valid_next;
reg out_last_reg, out_last_next;

// window registers: pixel slot ky*K+kx at [(ky*K+kx)*PW +: PW]
reg [K*K*PW-1:0] win_reg;

// column entering the window: slot ky = row y-(K-1)+ky at column x (slot K-1 = the new pixel)
wire [K*PW-1:0] col;

wire accept = s_axis_tvalid && s_axis_tready;

assign s_axis_tready = !out_valid_reg || m_axis_tready;

assign m_axis_tdata = win_reg;
assign m_axis_tvalid = out_valid_reg;
assign m_axis_tlast = out_last_reg;

generate
    if (K > 1) begin : g_line_buf
        // word x: slot j = row y-(K-1)+j at column x, j = 0..K-2
        reg [(K-1)*PW-1:0] line_mem [0:IMG_W-1];

        assign col = {s_axis_tdata, line_mem[x_reg]};

        always @(posedge clk) begin
            if (accept) begin
                line_mem[x_reg] <= col[K*PW-1:PW];
            end
        end
    end else begin : g_no_line_buf
        assign col = s_axis_tdata;
    end
endgenerate

// window after a shift: each row moves one slot left and takes its column pixel in slot K-1
wire [K*K*PW-1:0] win_next;

genvar ky;
generate
    for (ky = 0; ky < K; ky = ky + 1) begin : g_row
        if (K > 1) begin : g_shift
            assign win_next[ky*K*PW +: K*PW] = {col[ky*PW +: PW], win_reg[ky*K*PW+PW +: (K-1)*PW]};
        end else begin : g_load
            assign win_next[ky*K*PW +: K*PW] = col[ky*PW +: PW];
        end
    end
endgenerate

always @(posedge clk) begin
    if (accept) begin
        win_reg <= win_next;
    end
end

always @* begin
    x_next = x_reg;
    y_next = y_reg;
    xph_next = xph_reg;
    yph_next = yph_reg;
    out_valid_next = out_valid_reg;
    out_last_next = out_last_reg;

    if (m_axis_tready) begin
        out_valid_next = 1'b0;
    end

    if (accept) begin
        // (constant when K = 1)
        /* verilator lint_off UNSIGNED */
        out_valid_next = (x_reg >= X_FIRST_C) && (y_reg >= Y_FIRST_C) &&
                         (xph_reg == {PH_W{1'b0}}) && (yph_reg == {PH_W{1'b0}});
        /* verilator lint_on UNSIGNED */
        out_last_next = (x_reg == X_LAST_C) && (y_reg == Y_LAST_C);

        if (x_reg == X_MAX_C) begin
            x_next = {X_W{1'b0}};
            xph_next = PH0_C;
            if (y_reg == Y_MAX_C) begin
                y_next = {Y_W{1'b0}};
                yph_next = PH0_C;
            end else begin
                y_next = y_reg + 1'b1;
                yph_next = (yph_reg == PH_MAX_C) ? {PH_W{1'b0}} : yph_reg + 1'b1;
            end
        end else begin
            x_next = x_reg + 1'b1;
            xph_next = (xph_reg == PH_MAX_C) ? {PH_W{1'b0}} : xph_reg + 1'b1;
        end
    end
end

always @(posedge clk) begin
    x_reg <= x_next;
    y_reg <= y_next;
    xph_reg <= xph_next;
    yph_reg <= yph_next;
    out_valid_reg <= out_valid_next;
    out_last_reg <= out_last_next;

    if (rst) begin
        x_reg <= {X_W{1'b0}};
        y_reg <= {Y_W{1'b0}};
        xph_reg <= PH0_C;
        yph_reg <= PH0_C;
        out_valid_reg <= 1'b0;
        out_last_reg <= 1'b0;
    end
end

`ifdef FORMAL
// formal properties of the framing and handshakes (SymbiYosys, `make formal`): formal/window2d.sv
window2d_props #(.C(C), .DATA_W(DATA_W), .IMG_W(IMG_W), .IMG_H(IMG_H), .K(K), .STRIDE(STRIDE),
                 .X_W(X_W), .Y_W(Y_W), .PH_W(PH_W)) u_props (.*);
`endif

endmodule

`default_nettype wire
