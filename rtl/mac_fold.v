// mac_fold: folded multiply-accumulate; the N products of an operand set formed on MULTS
// multipliers over T = ceil(N / MULTS) chunks (cycles), weights read from a chunk-ordered ROM.
//
// Function: for every operand set s (x_data held for its T chunks), acc[o] += sum_l w_s[o][l] *
// x[l] (modulo 2^ACC_W), o = 0..N_OUT-1, l = 0..N_LANES-1, N = N_OUT*N_LANES products; a set with
// x_first = 1 starts from bias[o] instead of acc[o]. DEPTHWISE = 1 (depthwise conv2d): every lane
// has its own weight and feeds one accumulator, acc[o] += sum_j w_s[j*N_OUT+o] * x[j*N_OUT+o]:
// N = N_LANES products. The weights of set s are those of ROM set s mod N_SETS: consecutive sets
// use ROM sets 0, 1, .., N_SETS-1, 0, ... (conv2d: N_SETS = 1, the same weights for every window;
// dense: N_SETS = N_BEATS, one set per input beat of a vector).
//
// Parameters: N_LANES input lanes of IN_W bits (unsigned when IN_SIGNED = 0, signed when 1),
// N_OUT accumulators of ACC_W bits (signed), weights W_W bits signed, MULTS multipliers
// (1 <= MULTS <= N), DEPTHWISE 0 or 1 (N_LANES a multiple of N_OUT), N_SETS weight sets in
// WEIGHT_FILE.
//
// Folding: product n = l*N_OUT + o (output innermost; DEPTHWISE = 1: product n = lane n, o =
// n % N_OUT) is formed in chunk t = n / MULTS by multiplier m = n % MULTS (products n >= N of the
// last chunk are zero). Multiplier m's input operand is lane (t*MULTS + m) div N_OUT (depthwise:
// t*MULTS + m) of x_data, from a shared base counter (t*MULTS) div N_OUT, the constant m div N_OUT
// and a carry from the rotation (an N_LANES-way mux per multiplier, O(1) work per cycle in a
// simulator); its weight is lane m of the ROM word of the chunk. Chunk 0 reads a constant lane;
// the operand of chunk t >= 1 is selected (from the same held x_data) when chunk t-1 advances and
// registered, so no lane mux lies between a register and a multiplier.
//   stage 0 (ROM): w_rom_reg = WEIGHT_FILE word a, a = set*T + t the current chunk, read
//            synchronously at the address of the next cycle (a block-RAM read port);
//   stage 1 (prod_en): the chunk's MULTS products (ACC_W bits, modulo 2^ACC_W), its rotation
//            q = (t*MULTS) mod N_OUT, p_valid = x_valid, p_first = x_first on the first chunk,
//            p_last = x_last on the last chunk;
//   stage 2 (acc_en && p_valid): accumulator o adds the products m = (o - q) mod N_OUT + r*N_OUT
//            < MULTS, r = 0..ceil(MULTS/N_OUT)-1 (each group of N_OUT products rotated by q in a
//            barrel rotator), to bias[o] when p_first, else to acc[o]. acc_next is the sum being
//            written, acc the register.
//
// Latency: a chunk's products reach acc 2 cycles (prod_en, then acc_en) after the chunk is
// current, so acc holds the result of a set 2 cycles after its last chunk when never stalled.
// Throughput: one chunk per prod_en cycle; the set in x_data must be held for its T chunks: the
// chunk counter advances on prod_en && x_valid and chunk_last marks the set's last chunk (the set
// is consumed when prod_en && x_valid && chunk_last).
//
// Stream order: lane l at x_data[l*IN_W +: IN_W]; bias[o] / acc[o] at [o*ACC_W +: ACC_W].
// WEIGHT_FILE ($readmemh, int8cnn.export.fold_words): N_SETS*T lines of MULTS*W_W bits
// (MULTS*W_W/4 hex digits), line s*T + t = chunk t of set s, multiplier m's weight (that of
// product t*MULTS + m, 0 beyond the last product) at [m*W_W +: W_W]. "" leaves the weights zero.

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
    // weight sets in WEIGHT_FILE, used in turn by consecutive operand sets, >= 1
    parameter N_SETS = 1,
    // $readmemh file of the chunk-ordered weights (see Stream order; "" = zeros)
    parameter WEIGHT_FILE = ""
)
(
    input  wire                         clk,
    input  wire                         rst,

    /*
     * Operand set (held for its chunks) and biases
     */
    input  wire [N_LANES*IN_W-1:0]      x_data,
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
// ROM words (N_SETS sets of T_CH chunks), address width, last address
localparam N_WORDS = N_SETS*T_CH;
localparam AD_W = (N_WORDS > 1) ? $clog2(N_WORDS) : 1;
// product slots per accumulator per chunk; rotation width; rotation step per chunk
localparam N_SL = (NM + N_OUT - 1) / N_OUT;
localparam RT_W = (N_OUT > 1) ? $clog2(N_OUT) : 1;
localparam ROT_STEP = NM % N_OUT;

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
    if (N_SETS < 1) begin
        $error("Error: mac_fold N_SETS (%0d) must be >= 1 (instance %m)", N_SETS);
        $finish;
    end
end

/*
 * Chunk counter, ROM address and rotation of the current chunk; their next values
 */
localparam integer    LAST_CHUNK = T_CH - 1;
localparam integer    LAST_WORD = N_WORDS - 1;
localparam [CH_W-1:0] CHUNK_MAX = LAST_CHUNK[CH_W-1:0];
localparam [AD_W-1:0] ADDR_MAX = LAST_WORD[AD_W-1:0];
localparam [RT_W:0]   ROT_STEP_R = ROT_STEP[RT_W:0];
localparam [RT_W:0]   N_OUT_R = N_OUT[RT_W:0];
// lane of each multiplier's product: base (t*MULTS div N_OUT; depthwise t*MULTS) plus a constant
// and a carry; its width holds every lane of the padded last chunk. Lanes are addressed at a
// power-of-two pitch of LP_W >= IN_W bits (x_pad), so a lane's bit offset is the lane number
// followed by zeros: no multiplier in the indexing, and a lane-wide (not bit-wide) mux.
localparam integer    BASE_STEP = DEPTHWISE ? NM : NM / N_OUT;
localparam integer    LN_W = $clog2(N_LANES + NM + 1);
localparam [LN_W-1:0] BASE_STEP_L = BASE_STEP[LN_W-1:0];
localparam [LN_W-1:0] N_LANES_L = N_LANES[LN_W-1:0];
localparam integer    LP_S = $clog2(IN_W);
localparam integer    LP_W = 1 << LP_S;
localparam integer    LI_W = (N_LANES > 1) ? $clog2(N_LANES) : 1;

reg  [CH_W-1:0] chunk_reg, chunk_next;
reg  [AD_W-1:0] addr_reg, addr_next;
reg  [RT_W-1:0] rot_cur_reg, rot_next;
reg  [LN_W-1:0] base_reg, base_next;
reg             chunk_first_reg;  // chunk_reg == 0, kept as a flag (no comparator on the operand mux)
wire            chunk_adv = prod_en && x_valid;
wire            chunk_first = chunk_first_reg;

assign chunk_last = (chunk_reg == CHUNK_MAX);

// (t*MULTS) mod N_OUT of the next chunk: the current one plus MULTS mod N_OUT, wrapped
// (rot_wrap < N_OUT <= 2^RT_W: its top bit is always zero)
wire [RT_W:0] rot_sum = {1'b0, rot_cur_reg} + ROT_STEP_R;
/* verilator lint_off UNUSEDSIGNAL */
wire [RT_W:0] rot_wrap = (rot_sum >= N_OUT_R) ? rot_sum - N_OUT_R : rot_sum;
/* verilator lint_on UNUSEDSIGNAL */

// rotation and base of the chunk after this one (what they become when the chunk advances)
wire [RT_W-1:0] rot_adv = (chunk_last || ROT_STEP == 0) ? {RT_W{1'b0}} : rot_wrap[RT_W-1:0];
// (t*MULTS) div N_OUT: MULTS div N_OUT more, plus one when the rotation wraps (depthwise: t*MULTS)
wire [LN_W-1:0] base_adv = chunk_last ? {LN_W{1'b0}} :
                           base_reg + BASE_STEP_L + {{(LN_W-1){1'b0}}, DEPTHWISE == 0 && rot_sum >= N_OUT_R};

always @* begin
    chunk_next = chunk_reg;
    addr_next = addr_reg;
    rot_next = rot_cur_reg;
    base_next = base_reg;
    if (chunk_adv) begin
        chunk_next = chunk_last ? {CH_W{1'b0}} : chunk_reg + 1'b1;
        addr_next = (addr_reg == ADDR_MAX) ? {AD_W{1'b0}} : addr_reg + 1'b1;
        rot_next = rot_adv;
        base_next = base_adv;
    end
    if (rst) begin
        chunk_next = {CH_W{1'b0}};
        addr_next = {AD_W{1'b0}};
        rot_next = {RT_W{1'b0}};
        base_next = {LN_W{1'b0}};
    end
end

always @(posedge clk) begin
    chunk_first_reg <= rst || (chunk_adv ? chunk_last : chunk_first_reg);
    chunk_reg <= chunk_next;
    addr_reg <= addr_next;
    rot_cur_reg <= rot_next;
    base_reg <= base_next;
end

/*
 * Stage 0: weight ROM, word addr_reg in w_rom_reg (read at addr_next one cycle ahead)
 */
reg [MULTS*W_W-1:0] w_rom [0:N_WORDS-1];
reg [MULTS*W_W-1:0] w_rom_reg;

integer i;

initial begin
    if (WEIGHT_FILE != "") begin
        $readmemh(WEIGHT_FILE, w_rom);
    end else begin
        for (i = 0; i < N_WORDS; i = i + 1) begin
            w_rom[i] = {(MULTS*W_W){1'b0}};
        end
    end
end

always @(posedge clk) begin
    w_rom_reg <= w_rom[addr_next];
end

/*
 * Multipliers: the chunk's products, multiplier m at [m*ACC_W +: ACC_W]
 */
// (a variable written by one process per multiplier: a wide net assembled from MULTS continuous
// part assigns is re-resolved in full for each part by an event-driven simulator such as Icarus)
reg [MULTS*ACC_W-1:0] prod_next;

// x_data at a lane pitch of LP_W bits, zero-padded to 2^LI_W lanes (the index range)
localparam integer N_PADL = 1 << LI_W;

wire [N_PADL*LP_W-1:0] x_pad;

genvar gm, gp;
generate
    if (LP_W == IN_W) begin : g_pitch
        if (N_PADL > N_LANES) begin : g_fill
            assign x_pad = {{((N_PADL-N_LANES)*LP_W){1'b0}}, x_data};
        end else begin : g_full
            assign x_pad = x_data;
        end
    end else begin : g_repitch
        for (gp = 0; gp < N_PADL; gp = gp + 1) begin : g_lane
            if (gp < N_LANES) begin : g_in
                assign x_pad[gp*LP_W +: LP_W] = {{(LP_W-IN_W){1'b0}}, x_data[gp*IN_W +: IN_W]};
            end else begin : g_zero
                assign x_pad[gp*LP_W +: LP_W] = {LP_W{1'b0}};
            end
        end
    end

    for (gm = 0; gm < MULTS; gm = gm + 1) begin : g_mul
        // input operand: lane (t*MULTS + gm) div N_OUT of the current chunk t = base_reg +
        // gm div N_OUT, plus one when (t*MULTS) mod N_OUT + gm mod N_OUT >= N_OUT (depthwise: lane
        // t*MULTS + gm); zero beyond the last lane (padded products of the last chunk). Chunk 0
        // reads the constant lane gm div N_OUT (depthwise: gm) of x_data; every later chunk's
        // operand was selected from the same (held) x_data when the chunk before it advanced and
        // kept in x_next_reg, so the lane mux is not on the path into the multiplier.
        localparam integer    M_DIV = DEPTHWISE ? gm : gm / N_OUT;
        localparam integer    M_WRAP = DEPTHWISE ? N_OUT : N_OUT - gm % N_OUT;
        localparam [LN_W-1:0] M_DIV_L = M_DIV[LN_W-1:0];
        localparam [RT_W:0]   M_WRAP_L = M_WRAP[RT_W:0];

        wire [LN_W-1:0] lane_adv = base_adv + M_DIV_L
                                   + {{(LN_W-1){1'b0}}, {1'b0, rot_adv} >= M_WRAP_L};
        wire [LI_W-1:0] lane_i = lane_adv[LI_W-1:0];
        wire [IN_W-1:0] x_adv = (lane_adv < N_LANES_L) ? x_pad[{lane_i, {LP_S{1'b0}}} +: IN_W]
                                                       : {IN_W{1'b0}};
        // (M_DIV <= (MULTS-1) div N_OUT < N_LANES, depthwise M_DIV < MULTS <= N_LANES: a real lane)
        wire [IN_W-1:0] x_chunk0 = x_data[M_DIV*IN_W +: IN_W];
        reg  [IN_W-1:0] x_next_reg;

        always @(posedge clk) begin
            if (chunk_adv) begin
                x_next_reg <= x_adv;
            end
        end

        wire [IN_W-1:0] x = chunk_first ? x_chunk0 : x_next_reg;
        wire signed [XS_W-1:0] x_s;
        wire signed [W_W-1:0]  w_s = w_rom_reg[gm*W_W +: W_W];

        if (IN_SIGNED) begin : g_sx
            assign x_s = x;
        end else begin : g_zx
            assign x_s = {1'b0, x};
        end

        // the product, sign-extended to SUM_W bits; its low ACC_W bits are accumulated
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

/*
 * Stage 1: products, rotation, first / last flags
 */
reg [MULTS*ACC_W-1:0] prod_reg;
reg [RT_W-1:0]        rot_reg;
reg                   p_valid_reg, p_first_reg, p_last_reg;

always @(posedge clk) begin
    if (prod_en) begin
        prod_reg <= prod_next;
        rot_reg <= rot_cur_reg;
        p_first_reg <= x_first && chunk_first;
        p_last_reg <= x_last && chunk_last;
        p_valid_reg <= x_valid;
    end
    if (rst) begin
        p_valid_reg <= 1'b0;
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

// each slot group r of the chunk's products rotated by rot_reg (a barrel rotator: stage b rotates by
// 2^b mod N_OUT entries when bit b of rot_reg is set): accumulator o's product of group r, product
// (o - rot_reg) mod N_OUT + r*N_OUT, at [(r*N_OUT + o)*ACC_W +: ACC_W]. One process; the loops
// unroll to constant slices.
localparam GRP_W = N_OUT*ACC_W;

reg     [N_SL*GRP_W-1:0] prod_rot;
reg     [GRP_W-1:0]      rot_v;
reg     [2*GRP_W-1:0]    rot_dbl;
integer                  r, b, k;

always @* begin
    prod_rot = {(N_SL*GRP_W){1'b0}};
    rot_dbl = {(2*GRP_W){1'b0}};
    k = 0;
    for (r = 0; r < N_SL; r = r + 1) begin
        rot_v = prod_pad[r*GRP_W +: GRP_W];
        for (b = 0; b < RT_W; b = b + 1) begin
            // new entry o = old entry (o - k) mod N_OUT
            k = (1 << b) % N_OUT;
            if (rot_reg[b] && k != 0) begin
                rot_dbl = {rot_v, rot_v};
                rot_v = rot_dbl[(N_OUT - k)*ACC_W +: GRP_W];
            end
        end
        prod_rot[r*GRP_W +: GRP_W] = rot_v;
    end
end

// accumulator o: its N_SL rotated products added to the bias (first chunk of a set) or to acc[o];
// one process per accumulator, each writing its own slice
reg [N_OUT*ACC_W-1:0] acc_reg;
reg [N_OUT*ACC_W-1:0] sum_next;

genvar go, gs;
generate
    for (go = 0; go < N_OUT; go = go + 1) begin : g_acc
        // the operands as wires (constant slices), the sum in one process: an event-driven
        // simulator then never copies the wide buses inside a process
        wire [ACC_W-1:0]      base = p_first_reg ? bias[go*ACC_W +: ACC_W] : acc_reg[go*ACC_W +: ACC_W];
        wire [N_SL*ACC_W-1:0] adds;

        for (gs = 0; gs < N_SL; gs = gs + 1) begin : g_slot
            assign adds[gs*ACC_W +: ACC_W] = prod_rot[(gs*N_OUT + go)*ACC_W +: ACC_W];
        end

        reg [ACC_W-1:0] sum;
        integer         ra;

        always @* begin
            sum = base;
            for (ra = 0; ra < N_SL; ra = ra + 1) begin
                sum = sum + adds[ra*ACC_W +: ACC_W];
            end
            sum_next[go*ACC_W +: ACC_W] = sum;
        end
    end
endgenerate

assign acc_next = sum_next;

always @(posedge clk) begin
    if (acc_en && p_valid_reg) begin
        acc_reg <= sum_next;
    end
end

assign acc = acc_reg;

endmodule

`default_nettype wire
