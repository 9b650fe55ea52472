// mac_fold: folded multiply-accumulate; the N = N_OUT*N_LANES products of an operand set formed on
// MULTS multipliers over T = ceil(N / MULTS) chunks (cycles) and added to N_OUT accumulators.
//
// Function: for every operand set (x_data, w_data), acc[o] += sum_l w[o][l] * x[l] (modulo
// 2^ACC_W), o = 0..N_OUT-1, l = 0..N_LANES-1; a set with x_first = 1 starts from bias[o] instead of
// acc[o]. The folded datapath of conv2d (one set per window, x_first = x_last = 1) and dense (one
// set per input beat, x_first / x_last on the first / last beat of a vector).
// DEPTHWISE = 1 (depthwise conv2d): every lane has its own weight and feeds one accumulator,
// acc[o] += sum_j w[j*N_OUT+o] * x[j*N_OUT+o], j = 0..N_LANES/N_OUT-1: N = N_LANES products.
//
// Parameters: N_LANES input lanes of IN_W bits (unsigned when IN_SIGNED = 0, signed when 1),
// N_OUT accumulators of ACC_W bits (signed), weights W_W bits signed, MULTS multipliers
// (1 <= MULTS <= N; MULTS = N is a single chunk), DEPTHWISE 0 (N = N_OUT*N_LANES products) or 1
// (N = N_LANES products, N_LANES a multiple of N_OUT), W_GROUPED 0 or 1 (weight order in w_data).
//
// Folding: product n = l*N_OUT + o (output innermost; DEPTHWISE = 1: product n = lane n, weight
// word n, o = n % N_OUT) is formed in chunk t = n / MULTS by
// multiplier m = n % MULTS (chunk T-1 is padded with zero products); each multiplier's operands are
// T-way one-hot AND-OR muxes over its tables of lanes of x_data and words of w_data (those of its
// T_m products n = t*MULTS + m < N, T_m = T or T-1), selected by the chunk counter (no index
// arithmetic, so the only $mul cells are the MULTS multipliers; a constant w_data folds to a
// T-word constant table per multiplier). The tables are wiring kept as bit planes (bit b of all
// entries side by side, so operand bit b is one AND-OR) and each is filled by one process, as are
// the accumulator sums: an event-driven simulator (Icarus) then updates a table once per change of
// x_data / w_data, where a wide bus of per-word continuous assigns is re-evaluated in full for each
// word (O(N^2) at time 0 for a constant w_data, and per chunk for the accumulator muxes).
// W_GROUPED = 1 hands each multiplier its weights as one slice of w_data (see Stream order), read
// once per multiplier instead of N words (conv2d: constant tables copied from its weight ROM);
// W_GROUPED = 0 gathers them here from the [o][l] order (dense: a ROM row register).
//   stage 1 (prod_en): the chunk's MULTS products (ACC_W bits, modulo 2^ACC_W), its rotation
//            (t*MULTS) mod N_OUT one-hot, p_valid = x_valid, p_first = x_first on the first chunk,
//            p_last = x_last on the last chunk;
//   stage 2 (acc_en && p_valid): accumulator o adds the products m = (o - rot) mod N_OUT + r*N_OUT,
//            r = 0..ceil(MULTS/N_OUT)-1 (an N_OUT-way mux per slot), to bias[o] when p_first, else
//            to acc[o]. acc_next is the sum being written, acc the accumulator register.
//
// Latency: a chunk's products reach acc 2 cycles (prod_en, then acc_en) after the chunk is
// current, so acc holds the result of a set 2 cycles after its last chunk when never stalled.
// Throughput: one chunk per prod_en cycle; the set in x_data must be held for its T chunks: the
// chunk counter advances on prod_en && x_valid and chunk_last marks the set's last chunk (the set
// is consumed when prod_en && x_valid && chunk_last).
//
// Stream order: lane l at x_data[l*IN_W +: IN_W]; weight w[o][l] at w_data[(o*N_LANES + l)*W_W
// +: W_W] (DEPTHWISE = 1: the weight of lane l at w_data[l*W_W +: W_W], N_LANES words);
// W_GROUPED = 1: the weight of product n = t*MULTS + m at word m*T - max(0, m - R) + t, R =
// N - (T-1)*MULTS (multipliers m < R have T products, the others T-1: N words, multiplier m's
// contiguous); bias[o] / acc[o] at [o*ACC_W +: ACC_W].

`default_nettype none

module mac_fold #
(
    // input lanes per operand set, >= 1
    parameter N_LANES = 1,
    // accumulators (outputs), >= 1
    parameter N_OUT = 1,
    // input lanes: 0 = unsigned, 1 = signed two's complement
    parameter IN_SIGNED = 0,
    // bits per input lane, >= 2
    parameter IN_W = 8,
    // bits per weight (signed), >= 2
    parameter W_W = 8,
    // bits per accumulator (signed), >= 2; sums are exact modulo 2^ACC_W
    parameter ACC_W = 24,
    // multipliers, 1 .. N (N = N_OUT*N_LANES, or N_LANES when DEPTHWISE = 1)
    parameter MULTS = 1,
    // 0 = every lane feeds every accumulator; 1 = lane l feeds only accumulator l % N_OUT, with its
    // own weight (depthwise conv2d; N_LANES a multiple of N_OUT)
    parameter DEPTHWISE = 0,
    // order of the weights in w_data: 0 = by product (w[o][l], see Stream order), gathered into
    // each multiplier's table here (dense: a ROM row register that changes every input beat);
    // 1 = grouped per multiplier (see Stream order), one slice per multiplier (conv2d: constant
    // tables from its weight ROM)
    parameter W_GROUPED = 0
)
(
    input  wire                         clk,
    input  wire                         rst,

    /*
     * Operand set (held for its chunks) and biases
     */
    input  wire [N_LANES*IN_W-1:0]      x_data,
    input  wire [(DEPTHWISE ? 1 : N_OUT)*N_LANES*W_W-1:0] w_data,
    input  wire                         x_valid,
    input  wire                         x_first,
    input  wire                         x_last,
    output wire                         chunk_last,
    input  wire [N_OUT*ACC_W-1:0]       bias,

    /*
     * Stage enables, stage 1 status, accumulators
     */
    input  wire                         prod_en,
    input  wire                         acc_en,
    output wire                         p_valid,
    output wire                         p_last,
    output wire [N_OUT*ACC_W-1:0]       acc_next,
    output wire [N_OUT*ACC_W-1:0]       acc
);

// products per operand set
localparam N_P = DEPTHWISE ? N_LANES : N_OUT*N_LANES;
// product width: (IN_W+1)-bit signed x W_W-bit signed for unsigned input, IN_W x W_W for signed
localparam XS_W = IN_SIGNED ? IN_W : IN_W + 1;
localparam PROD_W = XS_W + W_W;
// width of the sign-extended product (>= ACC_W and >= PROD_W; its low ACC_W bits are added)
localparam SUM_W = (ACC_W > PROD_W) ? ACC_W : PROD_W;
// T_CH chunks per operand set, counter width
localparam NM = (MULTS > 0) ? MULTS : 1;
localparam T_CH = (N_P + NM - 1) / NM;
localparam CH_W = (T_CH > 1) ? $clog2(T_CH) : 1;
// product slots per accumulator per chunk
localparam N_SL = (NM + N_OUT - 1) / N_OUT;
// multipliers with a product in the last chunk (the others have T_CH - 1 products per set)
localparam R_CH = N_P - (T_CH - 1)*NM;

initial begin
    if (N_LANES < 1 || N_OUT < 1) begin
        $error("Error: mac_fold N_LANES (%0d) and N_OUT (%0d) must be >= 1 (instance %m)",
               N_LANES, N_OUT);
        $finish;
    end
    if (IN_SIGNED != 0 && IN_SIGNED != 1) begin
        $error("Error: mac_fold IN_SIGNED (%0d) must be 0 or 1 (instance %m)", IN_SIGNED);
        $finish;
    end
    if (IN_W < 2 || W_W < 2 || ACC_W < 2) begin
        $error("Error: mac_fold IN_W (%0d), W_W (%0d), ACC_W (%0d) must be >= 2 (instance %m)",
               IN_W, W_W, ACC_W);
        $finish;
    end
    if (DEPTHWISE != 0 && DEPTHWISE != 1) begin
        $error("Error: mac_fold DEPTHWISE (%0d) must be 0 or 1 (instance %m)", DEPTHWISE);
        $finish;
    end
    if (DEPTHWISE == 1 && N_LANES % N_OUT != 0) begin
        $error("Error: mac_fold DEPTHWISE needs N_LANES (%0d) a multiple of N_OUT (%0d) (instance %m)",
               N_LANES, N_OUT);
        $finish;
    end
    if (W_GROUPED != 0 && W_GROUPED != 1) begin
        $error("Error: mac_fold W_GROUPED (%0d) must be 0 or 1 (instance %m)", W_GROUPED);
        $finish;
    end
    if (MULTS < 1 || MULTS > N_P) begin
        $error("Error: mac_fold MULTS (%0d) must be in 1..N (%0d products) (instance %m)",
               MULTS, N_P);
        $finish;
    end
end

genvar gm;

/*
 * Chunk counter
 */
reg  [CH_W-1:0] chunk_reg;
wire            chunk_first = (chunk_reg == {CH_W{1'b0}});

// chunk_reg one-hot
reg     [T_CH-1:0] chunk_hot;
integer            jc;

always @* begin
    for (jc = 0; jc < T_CH; jc = jc + 1) begin
        // (jc < T_CH <= 2^CH_W)
        chunk_hot[jc] = (chunk_reg == jc[CH_W-1:0]);
    end
end

assign chunk_last = chunk_hot[T_CH-1];

/*
 * Multipliers: the chunk's products, multiplier m at [m*ACC_W +: ACC_W]
 */
reg [MULTS*ACC_W-1:0] prod_next;

generate
    for (gm = 0; gm < MULTS; gm = gm + 1) begin : g_mul
        // this multiplier forms products t*MULTS + gm, t = 0..T_M-1 (T_M = T_CH, or T_CH - 1
        // when the last chunk has no product for it: its operands are then zero)
        localparam T_M = (gm < R_CH) ? T_CH : T_CH - 1;
        // first word of its weight table in w_data when W_GROUPED = 1
        localparam W_OFF = gm*T_CH - ((gm > R_CH) ? gm - R_CH : 0);

        // the w_data words this multiplier reads: its own table (W_GROUPED = 1) or all of w_data
        localparam W_N = W_GROUPED ? T_M : N_P;
        localparam W_BASE = W_GROUPED ? W_OFF : 0;

        wire [W_N*W_W-1:0] w_words = w_data[W_BASE*W_W +: W_N*W_W];

        // operand tables in bit planes: bit b of entry t (the lane / weight of product
        // t*MULTS + gm) at [b*T_M + t], so that operand bit b is one AND-OR over a T_M-bit plane.
        // Pure wiring, filled by one process per table (a table assembled from T_M continuous
        // part assigns would cost an event simulator the whole table per entry update).
        reg [IN_W*T_M-1:0] x_tab;
        reg [W_W*T_M-1:0]  w_tab;
        reg [IN_W-1:0]     x_lane;
        reg [W_W-1:0]      w_word;
        integer            tx, bx, tw, bw;

        always @* begin
            for (tx = 0; tx < T_M; tx = tx + 1) begin
                // lane (tx*MULTS + gm) / N_OUT (depthwise: tx*MULTS + gm)
                x_lane = x_data[(DEPTHWISE ? tx*MULTS + gm : (tx*MULTS + gm) / N_OUT)*IN_W
                                +: IN_W];
                for (bx = 0; bx < IN_W; bx = bx + 1) begin
                    x_tab[bx*T_M + tx] = x_lane[bx];
                end
            end
        end

        always @* begin
            for (tw = 0; tw < T_M; tw = tw + 1) begin
                // grouped: word tw of the table; else word o*N_LANES + l of product
                // n = tw*MULTS + gm, o = n % N_OUT, l = n / N_OUT (depthwise: word n)
                w_word = w_words[(W_GROUPED ? tw : DEPTHWISE ? tw*MULTS + gm :
                                  ((tw*MULTS + gm) % N_OUT)*N_LANES + (tw*MULTS + gm) / N_OUT)*W_W
                                 +: W_W];
                for (bw = 0; bw < W_W; bw = bw + 1) begin
                    w_tab[bw*T_M + tw] = w_word[bw];
                end
            end
        end

        // operands of the current chunk: bit b = OR of plane b AND chunk_hot (one-hot AND-OR
        // mux), formed in x_sel / w_sel and then written once
        reg [IN_W-1:0] x, x_sel;
        reg [W_W-1:0]  w, w_sel;
        integer        bs;

        always @* begin
            for (bs = 0; bs < IN_W; bs = bs + 1) begin
                x_sel[bs] = |(x_tab[bs*T_M +: T_M] & chunk_hot[T_M-1:0]);
            end
            for (bs = 0; bs < W_W; bs = bs + 1) begin
                w_sel[bs] = |(w_tab[bs*T_M +: T_M] & chunk_hot[T_M-1:0]);
            end
            x = x_sel;
            w = w_sel;
        end

        wire signed [XS_W-1:0] x_s;
        wire signed [W_W-1:0]  w_s = w;

        if (IN_SIGNED) begin : g_sx
            assign x_s = x;
        end else begin : g_zx
            assign x_s = {1'b0, x};
        end

        // the product, sign-extended to SUM_W bits; its low ACC_W bits are accumulated (one
        // process: formed once per chunk, after all operand bits are in)
        reg signed [PROD_W-1:0] prod;
        /* verilator lint_off UNUSEDSIGNAL */
        reg        [SUM_W-1:0]  prod_ext;
        /* verilator lint_on UNUSEDSIGNAL */

        always @* begin
            prod = x_s * w_s;
            prod_ext = {{(SUM_W-PROD_W+1){prod[PROD_W-1]}}, prod[PROD_W-2:0]};
            prod_next[gm*ACC_W +: ACC_W] = prod_ext[ACC_W-1:0];
        end
    end
endgenerate

// rotation of the current chunk, one-hot: chunk t's rotation is (t*MULTS) mod N_OUT
reg     [N_OUT-1:0] rot_next;
integer             jr;

always @* begin
    rot_next = {N_OUT{1'b0}};
    for (jr = 0; jr < T_CH; jr = jr + 1) begin
        rot_next[(jr*MULTS) % N_OUT] = rot_next[(jr*MULTS) % N_OUT] | chunk_hot[jr];
    end
end

/*
 * Stage 1: products, rotation, first / last flags
 */
reg [MULTS*ACC_W-1:0] prod_reg;
reg [N_OUT-1:0]       rot_reg;
reg                   p_valid_reg, p_first_reg, p_last_reg;

always @(posedge clk) begin
    if (prod_en) begin
        prod_reg <= prod_next;
        rot_reg <= rot_next;
        p_first_reg <= x_first && chunk_first;
        p_last_reg <= x_last && chunk_last;
    end
end

assign p_valid = p_valid_reg;
assign p_last = p_last_reg;

/*
 * Stage 2: accumulators, each adding its N_SL product slots of the chunk
 */
// the chunk's products zero-padded to N_SL*N_OUT slots (slot m >= MULTS is zero)
wire [N_SL*N_OUT*ACC_W-1:0] prod_pad;

generate
    if (N_SL*N_OUT > MULTS) begin : g_pad
        assign prod_pad = {{((N_SL*N_OUT - MULTS)*ACC_W){1'b0}}, prod_reg};
    end else begin : g_no_pad
        assign prod_pad = prod_reg;
    end
endgenerate

// accumulator o, slot r: the product m = (o - q) mod N_OUT + r*N_OUT of the chunk, q = the
// chunk's rotation (an N_OUT-way one-hot AND-OR mux over q); all accumulators in one process
reg     [N_OUT*ACC_W-1:0] acc_reg;
reg     [N_OUT*ACC_W-1:0] sum_next;
reg     [ACC_W-1:0]       acc_sum, addend;
integer                   o, s, q;

always @* begin
    for (o = 0; o < N_OUT; o = o + 1) begin
        acc_sum = p_first_reg ? bias[o*ACC_W +: ACC_W] : acc_reg[o*ACC_W +: ACC_W];
        for (s = 0; s < N_SL; s = s + 1) begin
            addend = {ACC_W{1'b0}};
            for (q = 0; q < N_OUT; q = q + 1) begin
                addend = addend | (prod_pad[((o - q + N_OUT) % N_OUT + s*N_OUT)*ACC_W +: ACC_W]
                                   & {ACC_W{rot_reg[q]}});
            end
            acc_sum = acc_sum + addend;
        end
        sum_next[o*ACC_W +: ACC_W] = acc_sum;
    end
end

assign acc_next = sum_next;

always @(posedge clk) begin
    if (acc_en && p_valid_reg) begin
        acc_reg <= sum_next;
    end
end

assign acc = acc_reg;

/*
 * Control: chunk counter and stage 1 valid
 */
always @(posedge clk) begin
    if (prod_en && x_valid) begin
        chunk_reg <= chunk_last ? {CH_W{1'b0}} : chunk_reg + 1'b1;
    end
    if (prod_en) begin
        p_valid_reg <= x_valid;
    end

    if (rst) begin
        chunk_reg <= {CH_W{1'b0}};
        p_valid_reg <= 1'b0;
    end
end

endmodule

`default_nettype wire
