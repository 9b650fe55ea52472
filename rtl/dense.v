// dense: streaming fully connected layer; OUT*C multiply-accumulates per input beat (= golden.dense_acc),
// all in parallel (MULTS = 0) or folded onto MULTS multipliers over ceil(OUT*C / MULTS) cycles.
//
//   On input beat p (p = 0..N_BEATS-1): acc[o] += sum_c W[p][o][c] * x[c], for all o;
//   acc[o] starts at bias[o]. After beat N_BEATS-1 one output beat carries acc[0..OUT-1].
//
// Parameters
//   C            lanes per input beat (channels), >= 1
//   N_BEATS      input beats per vector (pixels of the input map), >= 1
//   OUT          outputs (neurons), >= 1
//   IN_SIGNED    1: input lanes are int IN_W; 0: uint IN_W
//   IN_W         input lane width
//   W_W          weight width (signed)
//   ACC_W        accumulator width (signed); IN_W+1+W_W <= ACC_W <= min(OUT_W, 32)
//   OUT_W        output lane width; accumulators are sign-extended to it
//   WEIGHT_FILE  (fully parallel) $readmemh file, N_BEATS lines (line p = input beat p) of OUT*C
//                weights, lane o*C+c = weight[o][c*N_BEATS + p] (first lane in the LSBs, 2*OUT*C
//                hex digits)
//   FOLD_FILE    (folded) the same weights in chunk order: N_BEATS*T lines of MULTS weights, line
//                p*T + t = chunk t of beat p, lane m = product t*MULTS + m (mac_fold WEIGHT_FILE
//                with N_SETS = N_BEATS; int8cnn.export.fold_words)
//   BIAS_FILE    $readmemh file, OUT lines of BIAS_W-bit two's complement (BIAS_W/4 hex digits:
//                8 for int32, 4 for int16), sign-extended into the accumulator
//   BIAS_W       bias width (signed), 16 or 32
//   MULTS        multipliers: 0 (or OUT*C) = OUT*C in parallel; 1 .. OUT*C-1 = folded
//
// Latency and throughput, MULTS = 0 (fully parallel)
//   The output beat is valid 2 cycles after the last input beat of a vector is accepted
//   (stage 0: input + weight-ROM row register, stage 1: multiply-accumulate into acc / output
//   register). One input beat per clock when not stalled; vectors stream back to back: the next
//   vector is accepted while the previous result waits in the output register. The input stalls
//   only when a last beat must write the output register while it is still full.
//
// Folded (0 < MULTS < OUT*C): T = ceil(OUT*C / MULTS) cycles per input beat
//   Product n = c*OUT + o (output innermost) of a beat is formed in chunk t = n / MULTS by
//   multiplier m = n % MULTS (chunk T-1 is padded with zero products) in mac_fold (one operand set
//   per input beat); each multiplier's input is a T-way mux over the held input lanes, indexed by
//   the chunk counter, and its weight comes from the chunk-ordered ROM FOLD_FILE (one word per
//   chunk, read synchronously inside mac_fold).
//   Stage 0 (the input beat) holds a beat for its T chunks and takes the next beat in the cycle
//   of the last one; stage 1 registers the chunk's MULTS products; stage 2 adds them to
//   the OUT accumulators (output o takes the products m = (o - t*MULTS) mod OUT + r*OUT,
//   r = 0..ceil(MULTS/OUT)-1, an OUT-way mux per slot) and writes the output register after the
//   last chunk of the last beat. Throughput: one input beat per T cycles when not stalled, so a
//   vector takes N_BEATS*T cycles; vectors stream back to back (no overhead). Latency: the output
//   beat is valid T+2 cycles after the last input beat of a vector is accepted. Only stage 2 of
//   a last chunk waits for a full output register.
//
// Stream order
//   Input: N_BEATS beats per vector, lane c of beat p at [c*IN_W +: IN_W] is x_flat[c*N_BEATS + p]
//   (channel-major flattening of a raster-order [C, H, W] map). Input tlast is ignored (the beat
//   counter defines the vector). Output: one beat per vector, lane o at [o*OUT_W +: OUT_W], tlast=1.
`default_nettype none

module dense #(
    // lanes (channels) per input beat
    parameter integer C = 3,
    // input beats per vector
    parameter integer N_BEATS = 121,
    // number of outputs
    parameter integer OUT = 10,
    // 1: signed input lanes, 0: unsigned input lanes
    parameter integer IN_SIGNED = 0,
    // input lane width
    parameter integer IN_W = 8,
    // weight width (signed)
    parameter integer W_W = 8,
    // accumulator width (signed)
    parameter integer ACC_W = 24,
    // output lane width (sign-extended accumulators)
    parameter integer OUT_W = 32,
    // weights, one line per input beat, OUT*C lanes
    parameter WEIGHT_FILE = "weights/default/fc1_weight.mem",
    // biases, one BIAS_W-bit word per line
    parameter BIAS_FILE = "weights/default/fc1_bias.mem",
    // bias width (signed, sign-extended into the accumulator): 16 or 32
    parameter integer BIAS_W = 32,
    // multipliers: 0 = OUT*C in parallel; 1 .. OUT*C-1 = folded over ceil(OUT*C / MULTS) cycles
    // per input beat; OUT*C = parallel
    parameter integer MULTS = 0,
    // folded (0 < MULTS < OUT*C): weights in chunk order (mac_fold WEIGHT_FILE, one set per
    // input beat; int8cnn.export.fold_words); WEIGHT_FILE is then not read
    parameter FOLD_FILE = ""
) (
    input  wire                 clk,
    input  wire                 rst,

    // AXI-Stream input: one beat of C lanes per input position
    input  wire [C*IN_W-1:0]    s_axis_tdata,
    input  wire                 s_axis_tvalid,
    output wire                 s_axis_tready,
    input  wire                 s_axis_tlast,

    // AXI-Stream output: one beat of OUT accumulators per vector
    output wire [OUT*OUT_W-1:0] m_axis_tdata,
    output wire                 m_axis_tvalid,
    input  wire                 m_axis_tready,
    output wire                 m_axis_tlast
);

// one weight-ROM row: every weight needed by one input beat
localparam integer ROW_W  = OUT * C * W_W;
// input lane extended by one bit so that both uint and int inputs are signed operands
localparam integer XE_W   = IN_W + 1;
localparam integer PROD_W = XE_W + W_W;
localparam integer CNT_W  = (N_BEATS > 1) ? $clog2(N_BEATS) : 1;
localparam integer LAST_BEAT = N_BEATS - 1;
localparam [CNT_W-1:0] CNT_LAST = LAST_BEAT[CNT_W-1:0];
// folding (mac_fold) when 0 < MULTS < OUT*C
localparam integer N_P  = OUT * C;
localparam integer FOLD = (MULTS > 0 && MULTS < N_P) ? 1 : 0;

reg [BIAS_W-1:0] bias_mem  [0:OUT-1];
integer         chk;

initial begin
    if (C < 1) $error("dense: C must be >= 1, got %0d", C);
    if (N_BEATS < 1) $error("dense: N_BEATS must be >= 1, got %0d", N_BEATS);
    if (OUT < 1) $error("dense: OUT must be >= 1, got %0d", OUT);
    if (IN_W < 2 || W_W < 2) $error("dense: IN_W (%0d) and W_W (%0d) must be >= 2", IN_W, W_W);
    if (ACC_W < PROD_W) $error("dense: ACC_W=%0d must hold one product (IN_W+1+W_W=%0d)", ACC_W, PROD_W);
    if (ACC_W > 32) $error("dense: ACC_W=%0d must be <= 32 (int32 bias and logits)", ACC_W);
    if (BIAS_W != 16 && BIAS_W != 32) $error("dense: BIAS_W=%0d must be 16 or 32", BIAS_W);
    if (ACC_W > OUT_W) $error("dense: ACC_W=%0d must be <= OUT_W=%0d", ACC_W, OUT_W);
    if (MULTS < 0 || MULTS > N_P) $error("dense: MULTS=%0d must be in 0..OUT*C (%0d)", MULTS, N_P);
    $readmemh(BIAS_FILE, bias_mem);
`ifndef SYNTHESIS
    // each bias must fit the accumulator (the Python export sizes ACC_W from the worst case)
    for (chk = 0; chk < OUT; chk = chk + 1) begin
        if (($signed(bias_mem[chk]) >>> (ACC_W - 1)) != 0 && ($signed(bias_mem[chk]) >>> (ACC_W - 1)) != -1)
            $error("dense: bias[%0d]=%0d does not fit ACC_W=%0d", chk, $signed(bias_mem[chk]), ACC_W);
    end
`endif
end

// input tlast is not needed: the beat counter defines the vector
wire unused_s_tlast = s_axis_tlast;

// biases sign-extended (or reduced, they fit) to ACC_W bits, output o at [o*ACC_W +: ACC_W]
wire [OUT*ACC_W-1:0] bias_ext;

genvar gb;
generate
    for (gb = 0; gb < OUT; gb = gb + 1) begin : g_bias
        if (ACC_W > BIAS_W) begin : g_ext
            assign bias_ext[gb*ACC_W +: ACC_W] =
                {{(ACC_W-BIAS_W){bias_mem[gb][BIAS_W-1]}}, bias_mem[gb]};
        end else begin : g_cut
            assign bias_ext[gb*ACC_W +: ACC_W] = bias_mem[gb][ACC_W-1:0];
        end
    end
endgenerate

// stage 0: input beat and its weight row
reg [CNT_W-1:0]      cnt_reg;
reg [C*IN_W-1:0]     x_reg;
reg                  x_valid_reg;
reg                  x_first_reg;
reg                  x_last_reg;

// output register
reg [OUT*OUT_W-1:0]  m_data_reg;
reg                  m_valid_reg;

// stage 0 takes a beat (x_en) / the output register is written (out_load): per datapath below
wire x_en;
wire out_load;
wire s_hs = s_axis_tvalid && x_en;

assign s_axis_tready = x_en;
assign m_axis_tdata  = m_data_reg;
assign m_axis_tvalid = m_valid_reg;
assign m_axis_tlast  = 1'b1;

// stage 0 data (fully parallel: and the beat's weight row, below)
always @(posedge clk) begin
    if (s_hs) begin
        x_reg       <= s_axis_tdata;
        x_first_reg <= (cnt_reg == {CNT_W{1'b0}});
        x_last_reg  <= (cnt_reg == CNT_LAST);
    end
end

genvar go;
generate
if (FOLD == 0) begin : g_par
    // the MAC stage runs whenever it holds a beat, except a last beat while the output is still full
    wire mac_en = x_valid_reg && (!x_last_reg || !m_valid_reg || m_axis_tready);

    assign x_en = !x_valid_reg || mac_en;
    assign out_load = mac_en && x_last_reg;

    // weight ROM, row p = input beat p; stage 0 reads the row of the beat it takes (synchronous
    // read with read enable: block-RAM friendly)
    reg [ROW_W-1:0] weight_rom [0:N_BEATS-1];
    reg [ROW_W-1:0] w_row_reg;

    initial begin
        $readmemh(WEIGHT_FILE, weight_rom);
    end

    always @(posedge clk) begin
        if (s_hs) begin
            w_row_reg <= weight_rom[cnt_reg];
        end
    end

    // stage 1: OUT parallel dot products of C lanes, accumulated over the beats in acc_reg
    reg [OUT*ACC_W-1:0] acc_reg;

    for (go = 0; go < OUT; go = go + 1) begin : g_out
`ifdef INT8CNN_FAULT_FC_BIAS
        // injected fault for the checker self-test (tb/run_top.py FAULTS): output 3 loses its bias
        wire signed [ACC_W-1:0] bias_c = (go == 3) ? {ACC_W{1'b0}} : bias_ext[go*ACC_W +: ACC_W];
`else
        wire signed [ACC_W-1:0] bias_c = bias_ext[go*ACC_W +: ACC_W];
`endif
        wire signed [ACC_W-1:0] acc_c  = acc_reg[go*ACC_W +: ACC_W];

        integer                 c;
        reg signed [XE_W-1:0]   xe;
        reg signed [W_W-1:0]    w;
        reg signed [PROD_W-1:0] prod;
        reg signed [ACC_W-1:0]  acc_new;

        always @* begin
            acc_new = x_first_reg ? bias_c : acc_c;
            for (c = 0; c < C; c = c + 1) begin
                xe      = {(IN_SIGNED != 0) && x_reg[c*IN_W + IN_W - 1], x_reg[c*IN_W +: IN_W]};
                w       = w_row_reg[(go*C + c)*W_W +: W_W];
                prod    = xe * w;
                acc_new = acc_new + {{(ACC_W-PROD_W+1){prod[PROD_W-1]}}, prod[PROD_W-2:0]};
            end
        end

        always @(posedge clk) begin
            if (mac_en) begin
                acc_reg[go*ACC_W +: ACC_W] <= acc_new;
                if (x_last_reg) begin
                    m_data_reg[go*OUT_W +: OUT_W] <=
                        {{(OUT_W-ACC_W+1){acc_new[ACC_W-1]}}, acc_new[ACC_W-2:0]};
                end
            end
        end
    end
end else begin : g_fold
    // mac_fold: chunk t of the beat in stage 0 (stage 1: the chunk's products; stage 2: the OUT
    // accumulators, from the bias on the first chunk of a vector)
    wire chunk_last, p_valid, p_last;
    wire [OUT*ACC_W-1:0] bias_acc, acc_sum;

    // stage 2 (accumulate) waits only when a last chunk meets a full output register
    wire a_en = p_valid && (!p_last || !m_valid_reg || m_axis_tready);
    wire p_en = !p_valid || a_en;

    assign x_en = !x_valid_reg || (p_en && chunk_last);
    assign out_load = a_en && p_last;

    /* verilator lint_off PINCONNECTEMPTY */
    mac_fold #(
        .N_LANES(C),
        .N_OUT(OUT),
        .IN_SIGNED(IN_SIGNED),
        .IN_W(IN_W),
        .W_W(W_W),
        .ACC_W(ACC_W),
        .MULTS(MULTS),
        .N_SETS(N_BEATS),
        .WEIGHT_FILE(FOLD_FILE)
    )
    mac_inst (
        .clk(clk),
        .rst(rst),
        .x_data(x_reg),
        .x_valid(x_valid_reg),
        .x_first(x_first_reg),
        .x_last(x_last_reg),
        .chunk_last(chunk_last),
        .bias(bias_acc),
        .prod_en(p_en),
        .acc_en(a_en),
        .p_valid(p_valid),
        .p_last(p_last),
        .acc_next(acc_sum),
        .acc()
    );
    /* verilator lint_on PINCONNECTEMPTY */

    for (go = 0; go < OUT; go = go + 1) begin : g_out
`ifdef INT8CNN_FAULT_FC_BIAS
        // injected fault for the checker self-test (tb/run_top.py FAULTS): output 3 loses its bias
        assign bias_acc[go*ACC_W +: ACC_W] = (go == 3) ? {ACC_W{1'b0}} : bias_ext[go*ACC_W +: ACC_W];
`else
        assign bias_acc[go*ACC_W +: ACC_W] = bias_ext[go*ACC_W +: ACC_W];
`endif

        always @(posedge clk) begin
            if (a_en && p_last) begin
                m_data_reg[go*OUT_W +: OUT_W] <=
                    {{(OUT_W-ACC_W+1){acc_sum[go*ACC_W + ACC_W-1]}}, acc_sum[go*ACC_W +: ACC_W-1]};
            end
        end
    end
end
endgenerate

// control registers
always @(posedge clk) begin
    if (rst) begin
        cnt_reg     <= {CNT_W{1'b0}};
        x_valid_reg <= 1'b0;
        m_valid_reg <= 1'b0;
    end else begin
        if (s_hs) begin
            cnt_reg <= (cnt_reg == CNT_LAST) ? {CNT_W{1'b0}} : cnt_reg + 1'b1;
        end
        if (x_en) begin
            x_valid_reg <= s_axis_tvalid;
        end
        if (out_load) begin
            m_valid_reg <= 1'b1;
        end else if (m_axis_tready) begin
            m_valid_reg <= 1'b0;
        end
    end
end

endmodule

`default_nettype wire
