// avgpool2d: K x K average pooling per channel, window sums only (no padding, floor mode), stride
// STRIDE = K (non-overlapping windows). The division by K*K is the requantization that follows
// (rtl/requant.v with one multiplier M and shift S for all channels, M / 2^S ~= s_in/(s_out*K*K);
// docs/quantization.md "Average pooling"), as conv2d emits accumulators for a requant stage.
//
// Parameters: C channels, DATA_W bits per input value (signed when IN_SIGNED = 1, else unsigned),
// image IMG_W x IMG_H, window K x K, stride STRIDE (must equal K), SUM_W bits per output sum
// (signed two's complement; must hold +-K*K*max|x|). A global average pool is K = IMG_W = IMG_H.
//
// Function: out[c][oy][ox] = sum_{ky,kx} in[c][oy*K+ky][ox*K+kx] = golden.avgpool2d_acc.
//
// Stream order: s_axis = [C,IMG_H,IMG_W] raster order, one pixel per beat, channel c at
// s_axis_tdata[c*DATA_W +: DATA_W]. m_axis = [C,OH,OW] raster order, OH = (IMG_H-K)/K+1,
// OW = (IMG_W-K)/K+1, channel c at m_axis_tdata[c*SUM_W +: SUM_W]; m_axis_tlast on the last beat of
// an image. Columns x >= OW*K and rows y >= OH*K (floor mode) are accepted and ignored. Images stream
// back to back; s_axis_tlast is ignored (position counters define the image).
//
// Latency: 1 cycle: the sum of the window whose bottom-right pixel is (y, x) is valid on m_axis the
// cycle after that pixel is accepted (registered output). Throughput: one input pixel per clock when
// not stalled (one output beat per K input pixels at most). Stage enable = !m_axis_tvalid ||
// m_axis_tready, so s_axis_tready is a combinational function of m_axis_tready.
//
// Storage (no K x K window registers): per channel one running sum of the current window's pixels in
// the current row (acc), plus a row buffer of OW words of C*SUM_W bits (word ox = sum of the rows
// above in window column ox; asynchronous read, K > 1 only), plus the C*SUM_W-bit output register.

`default_nettype none

module avgpool2d #
(
    // channels per pixel, >= 1
    parameter C = 3,
    // bits per input value, >= 1; DATA_W + clog2(K*K) <= 30 (the SUM_W check uses 32-bit integers)
    parameter DATA_W = 8,
    // 0 = unsigned inputs (uint8), 1 = signed inputs (int8)
    parameter IN_SIGNED = 0,
    // input image width in pixels
    parameter IMG_W = 22,
    // input image height in pixels
    parameter IMG_H = 22,
    // pooling window size (K x K), 1 <= K <= min(IMG_W, IMG_H)
    parameter K = 2,
    // stride in x and y; only STRIDE == K (non-overlapping windows) is supported
    parameter STRIDE = 2,
    // bits per output sum (signed two's complement), >= clog2(K*K*max|x| + 1) + 1
    parameter SUM_W = 11
)
(
    input  wire                     clk,
    input  wire                     rst,

    /*
     * Pixel input (raster order, C lanes of DATA_W bits)
     */
    input  wire [C*DATA_W-1:0]      s_axis_tdata,
    input  wire                     s_axis_tvalid,
    output wire                     s_axis_tready,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire                     s_axis_tlast,  // ignored: position counters define the image
    /* verilator lint_on UNUSEDSIGNAL */

    /*
     * Window sums (raster order, C lanes of SUM_W bits, signed)
     */
    output wire [C*SUM_W-1:0]       m_axis_tdata,
    output wire                     m_axis_tvalid,
    input  wire                     m_axis_tready,
    output wire                     m_axis_tlast
);

// output geometry (floor mode)
localparam OW = (IMG_W - K) / K + 1;
localparam OH = (IMG_H - K) / K + 1;
// input position of the pixel that completes the last window of a row / of an image
localparam X_LAST = OW * K - 1;
localparam Y_LAST = OH * K - 1;
// largest |input| and the smallest sum width that holds +-K*K*max|x|
localparam integer X_MAG = (IN_SIGNED != 0) ? (1 << (DATA_W - 1)) : ((1 << DATA_W) - 1);
localparam integer SUM_BOUND = K * K * X_MAG;
localparam integer SUM_W_MIN = $clog2(SUM_BOUND + 1) + 1;
// sign-extension bits from DATA_W to SUM_W (at least 1, so that illegal SUM_W still elaborates)
localparam EXT_W = (SUM_W > DATA_W) ? SUM_W - DATA_W : 1;
// bits per beat
localparam SW = C * SUM_W;
// counter widths
localparam X_W = (IMG_W > 1) ? $clog2(IMG_W) : 1;
localparam Y_W = (IMG_H > 1) ? $clog2(IMG_H) : 1;
localparam K_W = (K > 1) ? $clog2(K) : 1;
localparam OX_W = (OW > 1) ? $clog2(OW) : 1;

// sized constants for the counters (all values fit: checked below)
/* verilator lint_off WIDTHTRUNC */
localparam [X_W-1:0] X_MAX_C = IMG_W - 1;
localparam [Y_W-1:0] Y_MAX_C = IMG_H - 1;
localparam [X_W-1:0] X_LAST_C = X_LAST;
localparam [Y_W-1:0] Y_LAST_C = Y_LAST;
localparam [K_W-1:0] K_MAX_C = K - 1;
/* verilator lint_on WIDTHTRUNC */

initial begin
    if (C < 1 || DATA_W < 1) begin
        $error("Error: avgpool2d C (%0d) and DATA_W (%0d) must be >= 1 (instance %m)", C, DATA_W);
        $finish;
    end
    if (K < 1 || K > IMG_W || K > IMG_H) begin
        $error("Error: avgpool2d K (%0d) must be in 1..min(IMG_W %0d, IMG_H %0d) (instance %m)",
               K, IMG_W, IMG_H);
        $finish;
    end
    if (STRIDE != K) begin
        $error("Error: avgpool2d STRIDE (%0d) must equal K (%0d): only non-overlapping windows (instance %m)",
               STRIDE, K);
        $finish;
    end
    if (IN_SIGNED != 0 && IN_SIGNED != 1) begin
        $error("Error: avgpool2d IN_SIGNED (%0d) must be 0 or 1 (instance %m)", IN_SIGNED);
        $finish;
    end
    if (DATA_W + $clog2(K * K) > 30) begin
        $error("Error: avgpool2d DATA_W (%0d) + clog2(K*K) (%0d) must be <= 30 (instance %m)",
               DATA_W, $clog2(K * K));
        $finish;
    end
    if (SUM_W < SUM_W_MIN) begin
        $error("Error: avgpool2d SUM_W (%0d) must be >= %0d to hold +-K*K*max|x| = +-%0d (instance %m)",
               SUM_W, SUM_W_MIN, SUM_BOUND);
        $finish;
    end
end

// position of the next input pixel, its place in the window (kx, ky) and its window column ox
reg [X_W-1:0]  x_reg, x_next;
reg [Y_W-1:0]  y_reg, y_next;
reg [K_W-1:0]  kx_reg, kx_next;
reg [K_W-1:0]  ky_reg, ky_next;
reg [OX_W-1:0] ox_reg, ox_next;
// the pixel lies in a full window column / row (cleared past X_LAST / Y_LAST: floor mode)
reg            col_ok_reg, col_ok_next;
reg            row_ok_reg, row_ok_next;

// running sums of the current window row segment, one lane per channel
reg [SW-1:0]   acc_reg;

reg [SW-1:0]   out_reg;
reg            out_valid_reg, out_valid_next;
reg            out_last_reg, out_last_next;

// stage enable: the output register is free or being taken
wire adv = !out_valid_reg || m_axis_tready;
wire accept = s_axis_tvalid && adv;

assign s_axis_tready = adv;

wire in_win = col_ok_reg && row_ok_reg;
wire last_col = (kx_reg == K_MAX_C);
wire last_row = (ky_reg == K_MAX_C);
wire first_col = (kx_reg == {K_W{1'b0}});
wire first_row = (ky_reg == {K_W{1'b0}});
wire emit = in_win && last_col && last_row;

// partial sums of the rows above (row buffer word ox_reg)
wire [SW-1:0] rb_rd;
// acc + pixel (this row's part of the window) and the window sum so far (+ rows above)
wire [SW-1:0] row_sum;
wire [SW-1:0] total;

genvar c;
generate
    for (c = 0; c < C; c = c + 1) begin : g_lane
        wire [DATA_W-1:0]       px = s_axis_tdata[c*DATA_W +: DATA_W];
        wire                    sbit = (IN_SIGNED != 0) && px[DATA_W-1];
        wire [EXT_W+DATA_W-1:0] px_full = {{EXT_W{sbit}}, px};
        wire [SUM_W-1:0]        px_ext = px_full[SUM_W-1:0];

        assign row_sum[c*SUM_W +: SUM_W] =
            (first_col ? {SUM_W{1'b0}} : acc_reg[c*SUM_W +: SUM_W]) + px_ext;
        assign total[c*SUM_W +: SUM_W] =
            row_sum[c*SUM_W +: SUM_W] + (first_row ? {SUM_W{1'b0}} : rb_rd[c*SUM_W +: SUM_W]);
    end
endgenerate

generate
    if (K > 1) begin : g_row_buf
        // word ox: per channel, the sum of window column ox over the rows above in this window row
        reg [SW-1:0] row_mem [0:OW-1];

        assign rb_rd = row_mem[ox_reg];

        always @(posedge clk) begin
            if (accept && in_win && last_col && !last_row) begin
                row_mem[ox_reg] <= total;
            end
        end
    end else begin : g_no_row_buf
        assign rb_rd = {SW{1'b0}};
    end
endgenerate

always @* begin
    x_next = x_reg;
    y_next = y_reg;
    kx_next = kx_reg;
    ky_next = ky_reg;
    ox_next = ox_reg;
    col_ok_next = col_ok_reg;
    row_ok_next = row_ok_reg;
    out_valid_next = out_valid_reg;
    out_last_next = out_last_reg;

    if (adv) begin
        out_valid_next = accept && emit;
        out_last_next = accept && emit && (x_reg == X_LAST_C) && (y_reg == Y_LAST_C);
    end

    if (accept) begin
        if (x_reg == X_MAX_C) begin
            // end of a row: next row starts at column 0 of window column 0
            x_next = {X_W{1'b0}};
            kx_next = {K_W{1'b0}};
            ox_next = {OX_W{1'b0}};
            col_ok_next = 1'b1;
            ky_next = last_row ? {K_W{1'b0}} : ky_reg + 1'b1;
            if (y_reg == Y_LAST_C) begin
                row_ok_next = 1'b0;
            end
            if (y_reg == Y_MAX_C) begin
                // end of the image
                y_next = {Y_W{1'b0}};
                ky_next = {K_W{1'b0}};
                row_ok_next = 1'b1;
            end else begin
                y_next = y_reg + 1'b1;
            end
        end else begin
            x_next = x_reg + 1'b1;
            kx_next = last_col ? {K_W{1'b0}} : kx_reg + 1'b1;
            if (last_col && col_ok_reg && x_reg != X_LAST_C) begin
                ox_next = ox_reg + 1'b1;
            end
            if (x_reg == X_LAST_C) begin
                col_ok_next = 1'b0;
            end
        end
    end
end

always @(posedge clk) begin
    x_reg <= x_next;
    y_reg <= y_next;
    kx_reg <= kx_next;
    ky_reg <= ky_next;
    ox_reg <= ox_next;
    col_ok_reg <= col_ok_next;
    row_ok_reg <= row_ok_next;
    out_valid_reg <= out_valid_next;
    out_last_reg <= out_last_next;

    if (accept && in_win) begin
        acc_reg <= row_sum;
    end
    if (accept && emit) begin
        out_reg <= total;
    end

    if (rst) begin
        x_reg <= {X_W{1'b0}};
        y_reg <= {Y_W{1'b0}};
        kx_reg <= {K_W{1'b0}};
        ky_reg <= {K_W{1'b0}};
        ox_reg <= {OX_W{1'b0}};
        col_ok_reg <= 1'b1;
        row_ok_reg <= 1'b1;
        out_valid_reg <= 1'b0;
        out_last_reg <= 1'b0;
    end
end

assign m_axis_tdata = out_reg;
assign m_axis_tvalid = out_valid_reg;
assign m_axis_tlast = out_last_reg;

endmodule

`default_nettype wire
