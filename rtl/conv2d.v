// conv2d: 2-D convolution accumulators (zero padding PAD), full or depthwise; all N products of a
// window (N = C_OUT*C_IN*K*K, depthwise N = C*K*K) in parallel (MULTS = 0), or folded onto MULTS
// multipliers over ceil(N / MULTS) cycles.
//
// Parameters: C_IN input channels, C_OUT output channels, K x K kernel, image IMG_W x IMG_H,
// zero padding PAD on every side (a pad2d stage in front of the window), stride STRIDE, input
// values IN_W bits (uint8 when IN_SIGNED = 0, int8 when 1), weights W_W bits signed,
// accumulators ACC_W bits signed; weights and BIAS_W-bit biases (16 or 32) from $readmemh files
// (see below); MULTS multipliers (0 = fully parallel, N; 0 < MULTS < N = folded);
// DEPTHWISE = 1: depthwise convolution, C = C_IN = C_OUT (PyTorch groups = C_IN).
//
// Function: m_axis lane oc = bias[oc] + sum_{ic,ky,kx} w[oc][ic][ky][kx] * xp[ic][oy*S+ky][ox*S+kx],
// xp = x padded with PAD zeros on every side,
// exactly golden.conv2d_acc (the sum is exact when it fits in ACC_W bits signed, which
// docs/quantization.md `acc_bits` guarantees; wider internal sums are reduced modulo 2^ACC_W).
// DEPTHWISE = 1: m_axis lane c = bias[c] + sum_{ky,kx} w[c][ky][kx] * xp[c][oy*S+ky][ox*S+kx]
// (each output channel sees only its own input channel, weight shape [C,1,K,K]), exactly
// golden.conv2d_acc(..., groups=C).
//
// Stream order: s_axis = [C_IN,IMG_H,IMG_W] raster order, one pixel per beat, channel ic at
// s_axis_tdata[ic*IN_W +: IN_W]. m_axis = [C_OUT,OH,OW] raster order, OH = (IMG_H-K)/STRIDE+1,
// OW = (IMG_W-K)/STRIDE+1, one beat per output pixel, channel oc at
// m_axis_tdata[oc*ACC_W +: ACC_W]; m_axis_tlast on the last beat of an image. Images stream back
// to back; s_axis_tlast is ignored.
//
// Fully parallel (MULTS = 0):
// Latency: 4 cycles (window2d 1, products 1, row sums 1, final sum + bias 1), 5 with PAD > 0
// (pad2d 1): the output pixel whose window completes with a (padded) input pixel is valid 4 (5)
// cycles after that pixel enters the window. Throughput: one window pixel per clock when not
// stalled, so an image takes (IMG_W+2*PAD)*(IMG_H+2*PAD) cycles; the input stalls while pad2d
// emits padding. The pipeline advances as one
// (stage enable = !m_axis_tvalid || m_axis_tready, a valid bit per stage), so s_axis_tready is a
// combinational function of m_axis_tready.
//
// Folded (0 < MULTS < N): T = ceil(N / MULTS) cycles per window. Product n = L*C_OUT + oc
// (L = window lane (ky*K+kx)*C_IN+ic, output channel innermost; DEPTHWISE = 1: product n = L, the
// window lane itself, times w[c][ky][kx] for output channel c = n % C, N = C*K*K) is formed in
// chunk t = n / MULTS by multiplier m = n % MULTS (chunk T-1 is padded with zero products) in
// mac_fold (one operand set per window); each multiplier's input is a T-way mux over the window
// lanes indexed by the chunk counter, and its weight comes from the chunk-ordered ROM FOLD_FILE
// (one MULTS-weight word per chunk, read synchronously: a block RAM where the target has one).
// Pipeline: chunk t's MULTS products are registered (stage 1), then added to the C_OUT
// accumulators (stage 2: channel oc takes the products m = (oc - t*MULTS) mod C_OUT + r*C_OUT,
// r = 0..ceil(MULTS/C_OUT)-1, a C_OUT-way mux per slot; the first chunk adds to the bias). The
// accumulators are the output register. The window stays in window2d's output register for its
// T chunks and is taken in the cycle of the last one (no second window register: folding is for
// area), so window2d takes the next pixel in that cycle.
// Throughput: one window per T cycles while consecutive windows complete on consecutive input
// pixels; a window whose completing (padded) pixel comes g > 1 pixels after the previous window's
// (g = STRIDE along a row; more at row and image ends) costs T + g - 1 cycles. Per image with
// the input never starving: OH*OW*(T-1) + (IMG_H+2*PAD)*(IMG_W+2*PAD) cycles (the datapath is idle
// while window2d takes the pixels that complete no window; int8cnn.hardware.expected_ii).
// Latency: T + 2 cycles (window2d 1, T chunks, accumulate 1) from window2d taking the (padded)
// pixel that completes a window to its output beat; that pixel waits upstream (in pad2d's
// register with PAD > 0, at least 1 cycle) while the previous window is processed. Backpressure:
// the whole datapath advances with !m_axis_tvalid || m_axis_tready (as above); the chunk counter
// advances only then.
//
// Files: WEIGHT_FILE (fully parallel) one int8 per line (2 hex digits, two's complement), order
// [oc][ic][ky][kx] (C_OUT*C_IN*K*K lines; DEPTHWISE = 1: order [c][ky][kx], C*K*K lines), read at
// constant addresses; FOLD_FILE (folded) the same weights in chunk order, T lines of MULTS words
// (mac_fold WEIGHT_FILE with N_SETS = 1; written by int8cnn.export.fold_words, so it depends on
// MULTS); BIAS_FILE one BIAS_W-bit two's-complement bias per line (BIAS_W/4 hex digits: 8 for
// int32, 4 for int16; sign-extended into the accumulator), C_OUT lines. An empty file name leaves
// the values zero.

`default_nettype none

module conv2d #
(
    // input channels, >= 1
    parameter C_IN = 1,
    // output channels, >= 1
    parameter C_OUT = 3,
    // kernel size (K x K), 1 <= K <= min(IMG_W, IMG_H)
    parameter K = 7,
    // input image width in pixels
    parameter IMG_W = 28,
    // input image height in pixels
    parameter IMG_H = 28,
    // stride in x and y, >= 1
    parameter STRIDE = 1,
    // zero padding on every side, >= 0
    parameter PAD = 0,
    // input lanes: 0 = unsigned (uint8), 1 = signed two's complement (int8)
    parameter IN_SIGNED = 0,
    // bits per input value
    parameter IN_W = 8,
    // bits per weight (signed)
    parameter W_W = 8,
    // bits per output accumulator (signed), >= 2; the manifest's acc_bits
    parameter ACC_W = 22,
    // $readmemh file of the weights, [oc][ic][ky][kx] ([c][ky][kx] when DEPTHWISE = 1), one
    // W_W-bit word per line ("" = zeros)
    parameter WEIGHT_FILE = "",
    // $readmemh file of the biases, one BIAS_W-bit word per line ("" = zeros)
    parameter BIAS_FILE = "",
    // bits per bias (signed, sign-extended into the accumulator): 16 or 32
    parameter BIAS_W = 32,
    // folded (0 < MULTS < N): $readmemh file of the weights in chunk order (mac_fold
    // WEIGHT_FILE, int8cnn.export.fold_words; "" = zeros); WEIGHT_FILE is then not read
    parameter FOLD_FILE = "",
    // multipliers: 0 = fully parallel (N = C_OUT*C_IN*K*K products, C*K*K when DEPTHWISE = 1);
    // 1 .. N-1 = folded over ceil(N / MULTS) cycles per window; N = fully parallel
    parameter MULTS = 0,
    // 0 = full convolution; 1 = depthwise (C_OUT == C_IN, output channel c sees input channel c)
    parameter DEPTHWISE = 0
)
(
    input  wire                     clk,
    input  wire                     rst,

    /*
     * Pixel input (raster order, C_IN lanes of IN_W bits)
     */
    input  wire [C_IN*IN_W-1:0]     s_axis_tdata,
    input  wire                     s_axis_tvalid,
    output wire                     s_axis_tready,
    input  wire                     s_axis_tlast,  // ignored: position counters define the image

    /*
     * Accumulator output (raster order, C_OUT lanes of ACC_W bits, signed)
     */
    output wire [C_OUT*ACC_W-1:0]   m_axis_tdata,
    output wire                     m_axis_tvalid,
    input  wire                     m_axis_tready,
    output wire                     m_axis_tlast
);

// input channels per output channel (depthwise: 1), number of weights / products
localparam CI_N = DEPTHWISE ? 1 : C_IN;
localparam N_W = C_OUT*CI_N*K*K;
// window bus width
localparam WIN_W = K*K*C_IN*IN_W;
// product width: (IN_W+1)-bit signed x W_W-bit signed for unsigned input, IN_W x W_W for signed
localparam XS_W = IN_SIGNED ? IN_W : IN_W + 1;
localparam PROD_W = XS_W + W_W;
// width of the internal sums (>= ACC_W and >= PROD_W; reduced modulo 2^ACC_W at the output)
localparam SUM_W = (ACC_W > PROD_W) ? ACC_W : PROD_W;
// bias word width in BIAS_FILE
localparam B_W = BIAS_W;
// folding (mac_fold) when 0 < MULTS < N_W
localparam FOLD = (MULTS > 0 && MULTS < N_W) ? 1 : 0;

initial begin
    if (C_IN < 1 || C_OUT < 1) begin
        $error("Error: conv2d C_IN (%0d) and C_OUT (%0d) must be >= 1 (instance %m)", C_IN, C_OUT);
        $finish;
    end
    if (K < 1 || K > IMG_W + 2*PAD || K > IMG_H + 2*PAD || PAD < 0) begin
        $error("Error: conv2d K (%0d) must be in 1..min(IMG_W %0d, IMG_H %0d) + 2*PAD (%0d) (instance %m)",
               K, IMG_W, IMG_H, PAD);
        $finish;
    end
    if (STRIDE < 1) begin
        $error("Error: conv2d STRIDE (%0d) must be >= 1 (instance %m)", STRIDE);
        $finish;
    end
    if (IN_SIGNED != 0 && IN_SIGNED != 1) begin
        $error("Error: conv2d IN_SIGNED (%0d) must be 0 or 1 (instance %m)", IN_SIGNED);
        $finish;
    end
    if (IN_W < 2 || W_W < 2 || ACC_W < 2) begin
        $error("Error: conv2d IN_W (%0d), W_W (%0d), ACC_W (%0d) must be >= 2 (instance %m)",
               IN_W, W_W, ACC_W);
        $finish;
    end
    if (DEPTHWISE != 0 && DEPTHWISE != 1) begin
        $error("Error: conv2d DEPTHWISE (%0d) must be 0 or 1 (instance %m)", DEPTHWISE);
        $finish;
    end
    if (DEPTHWISE == 1 && C_OUT != C_IN) begin
        $error("Error: conv2d DEPTHWISE needs C_OUT (%0d) == C_IN (%0d) (instance %m)", C_OUT, C_IN);
        $finish;
    end
    if (BIAS_W != 16 && BIAS_W != 32) begin
        $error("Error: conv2d BIAS_W (%0d) must be 16 or 32 (instance %m)", BIAS_W);
        $finish;
    end
    if (MULTS < 0 || MULTS > N_W) begin
        $error("Error: conv2d MULTS (%0d) must be in 0..N (%0d products per window) (instance %m)",
               MULTS, N_W);
        $finish;
    end
end

/*
 * Bias ROM (the weight ROM is the datapath's: flat in g_par, chunk-ordered in mac_fold)
 */
reg [B_W-1:0] bias_rom [0:C_OUT-1];

integer i;

initial begin
    if (BIAS_FILE != "") begin
        $readmemh(BIAS_FILE, bias_rom);
    end else begin
        for (i = 0; i < C_OUT; i = i + 1) begin
            bias_rom[i] = {B_W{1'b0}};
        end
    end
end

/*
 * Sliding window
 */
wire [WIN_W-1:0] win_tdata;
wire             win_tvalid;
wire             win_tlast;

// pipeline stage enable: the whole pipeline moves when the output register is free or taken
wire adv = !m_axis_tvalid || m_axis_tready;
// window taken from window2d: every cycle the pipeline moves (parallel), the last chunk (folded)
wire win_tready;

// datapath outputs
wire [C_OUT*ACC_W-1:0] out_tdata;
wire                   out_tvalid, out_tlast;

// optional zero padding in front of the window
wire [C_IN*IN_W-1:0] pad_tdata;
wire                 pad_tvalid, pad_tready, pad_tlast;

generate
    if (PAD > 0) begin : g_pad
        pad2d #(
            .C(C_IN),
            .DATA_W(IN_W),
            .IMG_W(IMG_W),
            .IMG_H(IMG_H),
            .PAD(PAD)
        )
        pad_inst (
            .clk(clk),
            .rst(rst),
            .s_axis_tdata(s_axis_tdata),
            .s_axis_tvalid(s_axis_tvalid),
            .s_axis_tready(s_axis_tready),
            .s_axis_tlast(s_axis_tlast),
            .m_axis_tdata(pad_tdata),
            .m_axis_tvalid(pad_tvalid),
            .m_axis_tready(pad_tready),
            .m_axis_tlast(pad_tlast)
        );
    end else begin : g_no_pad
        assign pad_tdata = s_axis_tdata;
        assign pad_tvalid = s_axis_tvalid;
        assign s_axis_tready = pad_tready;
        assign pad_tlast = s_axis_tlast;
    end
endgenerate

window2d #(
    .C(C_IN),
    .DATA_W(IN_W),
    .IMG_W(IMG_W + 2*PAD),
    .IMG_H(IMG_H + 2*PAD),
    .K(K),
    .STRIDE(STRIDE)
)
window_inst (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(pad_tdata),
    .s_axis_tvalid(pad_tvalid),
    .s_axis_tready(pad_tready),
    .s_axis_tlast(pad_tlast),
    .m_axis_tdata(win_tdata),
    .m_axis_tvalid(win_tvalid),
    .m_axis_tready(win_tready),
    .m_axis_tlast(win_tlast)
);

genvar oc, ic, ky, kx, goc;
generate
if (FOLD == 0) begin : g_par
    /*
     * Fully parallel. Per output channel oc (block g_par.g_oc[oc]):
     *   stage 1: products w[oc][ic][ky][kx] * x[ic][ky][kx], registered in prod_reg of block
     *            g_oc[oc].g_ic[ic].g_ky[ky] (slot kx); DEPTHWISE = 1: only g_ic[0], products
     *            w[oc][ky][kx] * x[oc][ky][kx];
     *   stage 2: row sums over kx, registered in rows_reg (slot ic*K+ky);
     *   stage 3: bias + sum of the row sums -> out_next lane oc (registered in out_reg).
     * Small per-block vectors and one always @* loop per sum (rather than one wide bus and chains
     * of continuous assigns, which cascade events) keep event-driven simulation (Icarus) fast.
     */
    wire [C_OUT*ACC_W-1:0] out_next;

    // weight ROM, file order [oc][ic][ky][kx] ([c][ky][kx] when DEPTHWISE = 1), read at constant
    // addresses
    reg [W_W-1:0] weight_rom [0:N_W-1];
    integer       iw;

    initial begin
        if (WEIGHT_FILE != "") begin
            $readmemh(WEIGHT_FILE, weight_rom);
        end else begin
            for (iw = 0; iw < N_W; iw = iw + 1) begin
                weight_rom[iw] = {W_W{1'b0}};
            end
        end
    end

    assign win_tready = adv;

    for (oc = 0; oc < C_OUT; oc = oc + 1) begin : g_oc
        // stage 2 registers: row sum (ic, ky) at [(ic*K+ky)*SUM_W +: SUM_W]
        wire [CI_N*K*SUM_W-1:0] rows_next;
        reg  [CI_N*K*SUM_W-1:0] rows_reg;

        for (ic = 0; ic < CI_N; ic = ic + 1) begin : g_ic
            for (ky = 0; ky < K; ky = ky + 1) begin : g_ky
                // stage 1 registers: product kx at [kx*SUM_W +: SUM_W]
                wire [K*SUM_W-1:0] prod_next;
                reg  [K*SUM_W-1:0] prod_reg;
                reg  [SUM_W-1:0]   row_sum;
                integer            j;

                for (kx = 0; kx < K; kx = kx + 1) begin : g_kx
                    // weight index (file order) and window lane (depthwise: input channel oc)
                    localparam P = ((oc*CI_N + ic)*K + ky)*K + kx;
                    localparam L = (ky*K + kx)*C_IN + (DEPTHWISE ? oc : ic);

                    wire [IN_W-1:0]          x = win_tdata[L*IN_W +: IN_W];
                    wire signed [XS_W-1:0]   x_s;
                    wire signed [W_W-1:0]    w_s = weight_rom[P];
                    wire signed [PROD_W-1:0] prod = x_s * w_s;

                    if (IN_SIGNED) begin : g_sx
                        assign x_s = x;
                    end else begin : g_zx
                        assign x_s = {1'b0, x};
                    end

                    // sign-extend the product to SUM_W bits
                    assign prod_next[kx*SUM_W +: SUM_W] =
                        {{(SUM_W-PROD_W+1){prod[PROD_W-1]}}, prod[PROD_W-2:0]};
                end

                // stage 2 input: sum over kx
                always @* begin
                    row_sum = {SUM_W{1'b0}};
                    for (j = 0; j < K; j = j + 1) begin
                        row_sum = row_sum + prod_reg[j*SUM_W +: SUM_W];
                    end
                end

                assign rows_next[(ic*K + ky)*SUM_W +: SUM_W] = row_sum;

                always @(posedge clk) begin
                    if (adv) begin
                        prod_reg <= prod_next;
                    end
                end
            end
        end

        always @(posedge clk) begin
            if (adv) begin
                rows_reg <= rows_next;
            end
        end

        // stage 3: bias extended or reduced to SUM_W bits (only the low SUM_W bits matter)
        /* verilator lint_off UNUSEDSIGNAL */
        wire [B_W-1:0]   bias_word = bias_rom[oc];
        /* verilator lint_on UNUSEDSIGNAL */
        wire [SUM_W-1:0] bias_ext;

        if (SUM_W > B_W) begin : g_ext
            assign bias_ext = {{(SUM_W-B_W){bias_word[B_W-1]}}, bias_word};
        end else begin : g_cut
            assign bias_ext = bias_word[SUM_W-1:0];
        end

        // sum over (ic, ky) starting from the bias; bits above ACC_W are dropped
        /* verilator lint_off UNUSEDSIGNAL */
        reg [SUM_W-1:0] out_sum;
        /* verilator lint_on UNUSEDSIGNAL */
        integer         t;

        always @* begin
            out_sum = bias_ext;
            for (t = 0; t < CI_N*K; t = t + 1) begin
                out_sum = out_sum + rows_reg[t*SUM_W +: SUM_W];
            end
        end

        assign out_next[oc*ACC_W +: ACC_W] = out_sum[ACC_W-1:0];
    end

    reg [C_OUT*ACC_W-1:0] out_reg;

    always @(posedge clk) begin
        if (adv) begin
            out_reg <= out_next;
        end
    end

    /*
     * Pipeline control: a valid (and last) bit per stage
     */
    reg prod_valid_reg, prod_last_reg;
    reg row_valid_reg, row_last_reg;
    reg out_valid_reg, out_last_reg;

    always @(posedge clk) begin
        if (adv) begin
            prod_valid_reg <= win_tvalid;
            prod_last_reg <= win_tlast;
            row_valid_reg <= prod_valid_reg;
            row_last_reg <= prod_last_reg;
            out_valid_reg <= row_valid_reg;
            out_last_reg <= row_last_reg;
        end

        if (rst) begin
            prod_valid_reg <= 1'b0;
            prod_last_reg <= 1'b0;
            row_valid_reg <= 1'b0;
            row_last_reg <= 1'b0;
            out_valid_reg <= 1'b0;
            out_last_reg <= 1'b0;
        end
    end

    assign out_tdata = out_reg;
    assign out_tvalid = out_valid_reg;
    assign out_tlast = out_last_reg;
end else begin : g_fold
    /*
     * Folded onto MULTS multipliers (mac_fold, one operand set per window): chunk t of the window
     * held in window2d forms products t*MULTS .. t*MULTS+MULTS-1 (stage 1), which are added to the
     * C_OUT accumulators (stage 2); the first chunk starts from the bias. The accumulators are the
     * output register: valid after the last chunk.
     */
    // biases extended or reduced to ACC_W bits (the sums are exact modulo 2^ACC_W)
    wire [C_OUT*ACC_W-1:0] bias_acc;

    for (goc = 0; goc < C_OUT; goc = goc + 1) begin : g_oc
        /* verilator lint_off UNUSEDSIGNAL */
        wire [B_W-1:0] bias_word = bias_rom[goc];
        /* verilator lint_on UNUSEDSIGNAL */

        if (ACC_W > B_W) begin : g_ext
            assign bias_acc[goc*ACC_W +: ACC_W] = {{(ACC_W-B_W){bias_word[B_W-1]}}, bias_word};
        end else begin : g_cut
            assign bias_acc[goc*ACC_W +: ACC_W] = bias_word[ACC_W-1:0];
        end
    end

    wire chunk_last, p_valid, p_last;

    // the window is taken with its last chunk
    assign win_tready = adv && chunk_last;

    /* verilator lint_off PINCONNECTEMPTY */
    mac_fold #(
        .N_LANES(K*K*C_IN),
        .N_OUT(C_OUT),
        .IN_SIGNED(IN_SIGNED),
        .IN_W(IN_W),
        .W_W(W_W),
        .ACC_W(ACC_W),
        .MULTS(MULTS),
        .DEPTHWISE(DEPTHWISE),
        .N_SETS(1),
        .WEIGHT_FILE(FOLD_FILE)
    )
    mac_inst (
        .clk(clk),
        .rst(rst),
        .x_data(win_tdata),
        .x_valid(win_tvalid),
        .x_first(1'b1),
        .x_last(1'b1),
        .chunk_last(chunk_last),
        .bias(bias_acc),
        .prod_en(adv),
        .acc_en(adv),
        .p_valid(p_valid),
        .p_last(p_last),
        .acc_next(),
        .acc(out_tdata)
    );
    /* verilator lint_on PINCONNECTEMPTY */

    // control: window tlast beside stage 1, a valid (and last) bit for the output
    reg p_tlast_reg;
    reg out_valid_reg, out_last_reg;

    always @(posedge clk) begin
        if (adv) begin
            p_tlast_reg <= win_tlast;
            out_valid_reg <= p_valid && p_last;
            out_last_reg <= p_tlast_reg;
        end

        if (rst) begin
            out_valid_reg <= 1'b0;
            out_last_reg <= 1'b0;
        end
    end

    assign out_tvalid = out_valid_reg;
    assign out_tlast = out_last_reg;
end
endgenerate

`ifdef INT8CNN_FAULT_CONV_ACC_BIT
// injected fault for the checker self-test (tb/run_top.py FAULTS): bit ACC_W-4 of channel 0 flips
assign m_axis_tdata = out_tdata ^ ({{(C_OUT*ACC_W-1){1'b0}}, 1'b1} << (ACC_W - 4));
`else
assign m_axis_tdata = out_tdata;
`endif
assign m_axis_tvalid = out_tvalid;
assign m_axis_tlast = out_tlast;

endmodule

`default_nettype wire
