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
// (N = N_LANES products, N_LANES a multiple of N_OUT).
//
// Folding: product n = l*N_OUT + o (output innermost; DEPTHWISE = 1: product n = lane n, weight
// word n, o = n % N_OUT) is formed in chunk t = n / MULTS by
// multiplier m = n % MULTS (chunk T-1 is padded with zero products); each multiplier's operands are
// T-way one-hot AND-OR muxes over the lanes of x_data and the words of w_data, selected by the
// chunk counter (no index arithmetic, so the only $mul cells are the MULTS multipliers; a
// constant w_data folds to a T-word constant table per multiplier).
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
// bias[o] / acc[o] at [o*ACC_W +: ACC_W].

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
    parameter DEPTHWISE = 0
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
    if (MULTS < 1 || MULTS > N_P) begin
        $error("Error: mac_fold MULTS (%0d) must be in 1..N (%0d products) (instance %m)",
               MULTS, N_P);
        $finish;
    end
end

genvar gm, gt, gr, gq, go;

/*
 * Chunk counter
 */
reg  [CH_W-1:0] chunk_reg;
wire            chunk_first = (chunk_reg == {CH_W{1'b0}});

// chunk_reg one-hot, and the rotation (t*MULTS) mod N_OUT of chunk t one-hot in rot_tab
wire [T_CH-1:0]       chunk_hot;
wire [T_CH*N_OUT-1:0] rot_tab;

generate
    for (gt = 0; gt < T_CH; gt = gt + 1) begin : g_chunk
        // (gt < T_CH <= 2^CH_W)
        /* verilator lint_off WIDTHTRUNC */
        localparam [CH_W-1:0] TC = gt;
        /* verilator lint_on WIDTHTRUNC */
        assign chunk_hot[gt] = (chunk_reg == TC);
        for (gq = 0; gq < N_OUT; gq = gq + 1) begin : g_rot
            assign rot_tab[gt*N_OUT + gq] = (gq == (gt*MULTS) % N_OUT) ? 1'b1 : 1'b0;
        end
    end
endgenerate

assign chunk_last = chunk_hot[T_CH-1];

/*
 * Multipliers: the chunk's products, multiplier m at [m*ACC_W +: ACC_W]
 */
wire [MULTS*ACC_W-1:0] prod_next;

generate
    for (gm = 0; gm < MULTS; gm = gm + 1) begin : g_mul
        // operand tables: entry t = lane and weight of product t*MULTS + m (zero past N_P)
        wire [T_CH*IN_W-1:0] x_tab;
        wire [T_CH*W_W-1:0]  w_tab;

        for (gt = 0; gt < T_CH; gt = gt + 1) begin : g_t
            localparam NP = gt*MULTS + gm;
            if (NP < N_P) begin : g_used
                // lane L, accumulator O, weight word WI
                localparam L = DEPTHWISE ? NP : NP / N_OUT;
                localparam O = NP % N_OUT;
                localparam WI = DEPTHWISE ? NP : O*N_LANES + L;
                assign x_tab[gt*IN_W +: IN_W] = x_data[L*IN_W +: IN_W];
                assign w_tab[gt*W_W +: W_W] = w_data[WI*W_W +: W_W];
            end else begin : g_zero
                assign x_tab[gt*IN_W +: IN_W] = {IN_W{1'b0}};
                assign w_tab[gt*W_W +: W_W] = {W_W{1'b0}};
            end
        end

        // operands of the current chunk (one-hot AND-OR mux)
        reg [IN_W-1:0] x;
        reg [W_W-1:0]  w;
        integer        j;

        always @* begin
            x = {IN_W{1'b0}};
            w = {W_W{1'b0}};
            for (j = 0; j < T_CH; j = j + 1) begin
                x = x | (x_tab[j*IN_W +: IN_W] & {IN_W{chunk_hot[j]}});
                w = w | (w_tab[j*W_W +: W_W] & {W_W{chunk_hot[j]}});
            end
        end

        wire signed [XS_W-1:0]   x_s;
        wire signed [W_W-1:0]    w_s = w;
        wire signed [PROD_W-1:0] prod = x_s * w_s;

        if (IN_SIGNED) begin : g_sx
            assign x_s = x;
        end else begin : g_zx
            assign x_s = {1'b0, x};
        end

        // the product sign-extended to SUM_W bits; its low ACC_W bits are accumulated
        /* verilator lint_off UNUSEDSIGNAL */
        wire [SUM_W-1:0] prod_ext = {{(SUM_W-PROD_W+1){prod[PROD_W-1]}}, prod[PROD_W-2:0]};
        /* verilator lint_on UNUSEDSIGNAL */

        assign prod_next[gm*ACC_W +: ACC_W] = prod_ext[ACC_W-1:0];
    end
endgenerate

// rotation of the current chunk, one-hot
reg     [N_OUT-1:0] rot_next;
integer             jr;

always @* begin
    rot_next = {N_OUT{1'b0}};
    for (jr = 0; jr < T_CH; jr = jr + 1) begin
        rot_next = rot_next | (rot_tab[jr*N_OUT +: N_OUT] & {N_OUT{chunk_hot[jr]}});
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
reg [N_OUT*ACC_W-1:0] acc_reg;

generate
    for (go = 0; go < N_OUT; go = go + 1) begin : g_acc
        // slot r, candidate q: product m = (o - q) mod N_OUT + r*N_OUT of the chunk, taken when
        // the chunk's rotation is q (none when m >= MULTS)
        wire [N_SL*N_OUT*ACC_W-1:0] cand;

        for (gr = 0; gr < N_SL; gr = gr + 1) begin : g_slot
            for (gq = 0; gq < N_OUT; gq = gq + 1) begin : g_q
                localparam MI = (go - gq + N_OUT) % N_OUT + gr*N_OUT;
                if (MI < MULTS) begin : g_prod
                    assign cand[(gr*N_OUT + gq)*ACC_W +: ACC_W] = prod_reg[MI*ACC_W +: ACC_W];
                end else begin : g_none
                    assign cand[(gr*N_OUT + gq)*ACC_W +: ACC_W] = {ACC_W{1'b0}};
                end
            end
        end

        reg [ACC_W-1:0] acc_sum, addend;
        integer         s, q;

        always @* begin
            acc_sum = p_first_reg ? bias[go*ACC_W +: ACC_W] : acc_reg[go*ACC_W +: ACC_W];
            for (s = 0; s < N_SL; s = s + 1) begin
                addend = {ACC_W{1'b0}};
                for (q = 0; q < N_OUT; q = q + 1) begin
                    addend = addend | (cand[(s*N_OUT + q)*ACC_W +: ACC_W] & {ACC_W{rot_reg[q]}});
                end
                acc_sum = acc_sum + addend;
            end
        end

        assign acc_next[go*ACC_W +: ACC_W] = acc_sum;

        always @(posedge clk) begin
            if (acc_en && p_valid_reg) begin
                acc_reg[go*ACC_W +: ACC_W] <= acc_sum;
            end
        end
    end
endgenerate

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
