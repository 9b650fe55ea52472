// maxpool2d: K x K max pooling per channel (no padding, floor mode), stride STRIDE.
//
// Parameters: C channels, DATA_W bits per value (signed when IN_SIGNED = 1, else unsigned), image
// IMG_W x IMG_H, window K x K, stride STRIDE.
//
// Function: out[c][oy][ox] = max_{ky,kx} in[c][oy*STRIDE+ky][ox*STRIDE+kx] = golden.maxpool2d.
//
// Stream order: s_axis = [C,IMG_H,IMG_W] raster order, one pixel per beat, channel c at
// s_axis_tdata[c*DATA_W +: DATA_W]. m_axis = [C,OH,OW] raster order, OH = (IMG_H-K)/STRIDE+1,
// OW = (IMG_W-K)/STRIDE+1, same lane layout; m_axis_tlast on the last beat of an image. Images
// stream back to back; s_axis_tlast is ignored.
//
// Latency: 2 cycles (window2d 1, max tree 1: a balanced tree of compares, ceil(log2(K*K)) deep): the output pixel whose window completes with input
// pixel (y, x) is valid 2 cycles after that pixel is accepted. Throughput: one pixel per clock in
// and out when not stalled. Stage enable = !m_axis_tvalid || m_axis_tready, so s_axis_tready is a
// combinational function of m_axis_tready.

`default_nettype none

module maxpool2d #
(
    // channels per pixel, >= 1
    parameter C = 3,
    // bits per value, >= 1
    parameter DATA_W = 8,
    // 0 = unsigned compare (uint8), 1 = signed compare (int8)
    parameter IN_SIGNED = 0,
    // input image width in pixels
    parameter IMG_W = 22,
    // input image height in pixels
    parameter IMG_H = 22,
    // pooling window size (K x K), 1 <= K <= min(IMG_W, IMG_H)
    parameter K = 2,
    // stride in x and y, >= 1
    parameter STRIDE = 2
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
    input  wire                     s_axis_tlast,  // ignored: position counters define the image

    /*
     * Pooled output (raster order, C lanes of DATA_W bits)
     */
    output wire [C*DATA_W-1:0]      m_axis_tdata,
    output wire                     m_axis_tvalid,
    input  wire                     m_axis_tready,
    output wire                     m_axis_tlast
);

// values per window per channel
localparam N_WIN = K*K;
// levels of the max tree over the window
localparam TREE_LV = (N_WIN > 1) ? $clog2(N_WIN) : 0;
// window bus width
localparam WIN_W = N_WIN*C*DATA_W;

initial begin
    if (C < 1 || DATA_W < 1) begin
        $error("Error: maxpool2d C (%0d) and DATA_W (%0d) must be >= 1 (instance %m)", C, DATA_W);
        $finish;
    end
    if (K < 1 || K > IMG_W || K > IMG_H) begin
        $error("Error: maxpool2d K (%0d) must be in 1..min(IMG_W %0d, IMG_H %0d) (instance %m)",
               K, IMG_W, IMG_H);
        $finish;
    end
    if (STRIDE < 1) begin
        $error("Error: maxpool2d STRIDE (%0d) must be >= 1 (instance %m)", STRIDE);
        $finish;
    end
    if (IN_SIGNED != 0 && IN_SIGNED != 1) begin
        $error("Error: maxpool2d IN_SIGNED (%0d) must be 0 or 1 (instance %m)", IN_SIGNED);
        $finish;
    end
end

/*
 * Sliding window
 */
wire [WIN_W-1:0] win_tdata;
wire             win_tvalid;
wire             win_tlast;

// stage enable: the output register is free or being taken
wire adv;

window2d #(
    .C(C),
    .DATA_W(DATA_W),
    .IMG_W(IMG_W),
    .IMG_H(IMG_H),
    .K(K),
    .STRIDE(STRIDE)
)
window_inst (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(s_axis_tdata),
    .s_axis_tvalid(s_axis_tvalid),
    .s_axis_tready(s_axis_tready),
    .s_axis_tlast(s_axis_tlast),
    .m_axis_tdata(win_tdata),
    .m_axis_tvalid(win_tvalid),
    .m_axis_tready(adv),
    .m_axis_tlast(win_tlast)
);

/*
 * Max over the K*K window values of each channel (window lane (ky*K+kx)*C+c)
 */
reg [C*DATA_W-1:0] out_reg;
reg                out_valid_reg, out_last_reg;

reg [C*DATA_W-1:0] out_next;
reg [DATA_W-1:0]   max_val, cand;
reg                greater;
// the channel's K*K values, reduced in place by a balanced tree: at level lv, node n = the larger of
// nodes 2n and 2n+1 of level lv-1 (node 2n alone when it has no pair), ceil(log2(K*K)) compares deep
reg [N_WIN*DATA_W-1:0] tree;

integer c, n, lv;

always @* begin
    out_next = {C*DATA_W{1'b0}};
    for (c = 0; c < C; c = c + 1) begin
        for (n = 0; n < N_WIN; n = n + 1) begin
            tree[n*DATA_W +: DATA_W] = win_tdata[(n*C + c)*DATA_W +: DATA_W];
        end
        for (lv = 0; lv < TREE_LV; lv = lv + 1) begin
            // level lv holds ceil(N_WIN / 2^lv) nodes; node n of the next level (n < that count /
            // 2, rounded up) reads nodes 2n, 2n+1, which no earlier n of this level has written
            for (n = 0; 2*n < ((N_WIN + (1 << lv) - 1) >> lv); n = n + 1) begin
                max_val = tree[(2*n)*DATA_W +: DATA_W];
                if (2*n + 1 < ((N_WIN + (1 << lv) - 1) >> lv)) begin
                    cand = tree[(2*n + 1)*DATA_W +: DATA_W];
                    if (IN_SIGNED) begin
                        greater = $signed(cand) > $signed(max_val);
                    end else begin
                        greater = cand > max_val;
                    end
                    // a ternary, not an if: an unknown compare gives an unknown maximum in
                    // simulation (an if would keep max_val and hide it)
                    max_val = greater ? cand : max_val;
                end
                tree[n*DATA_W +: DATA_W] = max_val;
            end
        end
        out_next[c*DATA_W +: DATA_W] = tree[DATA_W-1:0];
    end
end

always @(posedge clk) begin
    if (adv) begin
        out_reg <= out_next;
        out_valid_reg <= win_tvalid;
        out_last_reg <= win_tlast;
    end

    if (rst) begin
        out_valid_reg <= 1'b0;
        out_last_reg <= 1'b0;
    end
end

`ifdef INT8CNN_FAULT_DROP_BEAT
// injected fault for the checker self-test (tb/run_top.py STREAM_FAULT): output beat 300 after
// reset is taken from the output register without being shown on m_axis (a lost beat)
reg [31:0] fault_beats;
wire fault_drop = out_valid_reg && fault_beats == 32'd300;
always @(posedge clk) begin
    if (rst) fault_beats <= 32'd0;
    else if (out_valid_reg && (m_axis_tready || fault_drop)) fault_beats <= fault_beats + 32'd1;
end
assign adv = !out_valid_reg || m_axis_tready || fault_drop;
assign m_axis_tvalid = out_valid_reg && !fault_drop;
`else
assign adv = !out_valid_reg || m_axis_tready;
assign m_axis_tvalid = out_valid_reg;
`endif
assign m_axis_tdata = out_reg;
assign m_axis_tlast = out_last_reg;

endmodule

`default_nettype wire
