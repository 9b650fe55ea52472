// requant: per-channel requantization of signed accumulators to int8/uint8 (= golden.requant).
//
//   y[c] = clamp(((acc[c] * M[c] + R[c]) >>> S[c]) + ZP_OUT, LO, HI),  R[c] = 1 << (S[c]-1), 0 if S[c]==0
//
// POW2 = 1 (per-layer power-of-two requantization, `--requant pow2`): M[c] = 1 for every channel, so
// no multiplier is built and MULT_FILE is not read (it may be ""):
//   y[c] = clamp(((acc[c] + R[c]) >>> S[c]) + ZP_OUT, LO, HI)  (= golden.requant with M = 1)
// Latency, throughput and handshake are the same as with POW2 = 0, so a generated top can choose
// the option per layer.
//
// SERIAL = 1: one multiplier shared by the C channels (for an FPGA with few DSPs, behind a folded
// layer that delivers a beat at most every C+1 cycles): a beat is taken into a register, its lanes
// are multiplied one per cycle over the next C cycles, then stage 2 as with SERIAL = 0.
// SERIAL = 2 (POW2 = 0): the same with one 16 x MULT_W multiplier (one DSP) in two passes per lane,
// acc = hi * 2^15 + lo (lo = acc[14:0] >= 0, hi = acc >>> 15): acc*M = lo*M + (hi*M << 15), exact;
// 2C cycles per beat. With POW2 = 1 or ACC_W <= 16, SERIAL = 2 acts as 1 (nothing to split).
//
// Parameters
//   C           channels per beat (lanes), >= 1
//   ACC_W       accumulator width (signed lanes of s_axis_tdata), >= 2
//   POW2        0 = multiply by M[c] (MULT_FILE), 1 = M[c] = 1: shift only, no multiplier
//   MULT_W      multiplier width; M[c] is stored positive, M[c] < 2^(MULT_W-1) (unused when POW2 = 1)
//   SHIFT_W     shift width; S[c] <= 62
//   OUT_W       output lane width (two's complement; LO >= 0 gives unsigned lanes)
//   LO, HI      clamp bounds (LO < 0 -> signed output); must fit OUT_W
//   ZP_OUT      output zero point added after the shift
//   MULT_FILE   $readmemh file, C lines of MULT_W/4 hex digits (M[c], line c); not read when POW2 = 1
//   SHIFT_FILE  $readmemh file, C lines of 2 hex digits (S[c], line c)
//   SERIAL      0 = C multipliers, one beat per clock; 1 = one multiplier, one beat per C+1 clocks;
//               2 = one 16 x MULT_W multiplier in two passes, one beat per 2C+1 clocks (ACC_W <= 30,
//               MULT_W <= 16; ACC_W <= 16 needs one pass: as 1)
//
// Latency and throughput
//   2 cycles (stage 1: multiply, or with POW2 = 1 register the accumulator; stage 2: round, shift,
//   add zero point, clamp in rtl/round_shift_clamp.v; registered output);
//   one beat per clock when not stalled. Stage-enable backpressure: the output stage advances when
//   it is empty or m_axis_tready is high; stage 1 also advances when it holds no beat (bubbles are
//   squeezed out). s_axis_tready depends combinationally on m_axis_tready.
//
//   SERIAL = 1: C+2 cycles (the beat register, C cycles of products, the output register) and one
//   beat per C+1 clocks: s_axis_tready is high when no beat is being multiplied and stage 1 is
//   empty or moving on; the output side is the same stage-enable as above. SERIAL = 2: 2C+2
//   cycles, one beat per 2C+1 clocks.
//
// Stream order
//   One beat in, one beat out, in order; lane c = channel c at [c*ACC_W +: ACC_W] in and
//   [c*OUT_W +: OUT_W] out; tlast passes through with its beat.
`default_nettype none

module requant #(
    // channels (lanes) per beat
    parameter integer C = 3,
    // signed accumulator width of an input lane
    parameter integer ACC_W = 21,
    // 0 = per-channel multiplier M[c]; 1 = power-of-two scale (M = 1): no multiplier, no MULT_FILE
    parameter integer POW2 = 0,
    // multiplier width (M stored positive, below 2^(MULT_W-1))
    parameter integer MULT_W = 16,
    // shift width (S <= 62)
    parameter integer SHIFT_W = 6,
    // output lane width
    parameter integer OUT_W = 8,
    // lower clamp bound (LO < 0: signed output)
    parameter integer LO = 0,
    // upper clamp bound
    parameter integer HI = 255,
    // output zero point
    parameter integer ZP_OUT = 0,
    // per-channel multipliers, one per line (MULT_W/4 hex digits)
    parameter MULT_FILE = "weights/default/conv1_mult.mem",
    // per-channel shifts, one per line (2 hex digits)
    parameter SHIFT_FILE = "weights/default/conv1_shift.mem",
    // 1: one multiplier for all channels, one beat per C+1 clocks; 2: one 16-bit multiplier, two
    // passes per channel, one beat per 2C+1 clocks
    parameter integer SERIAL = 0
) (
    input  wire                 clk,
    input  wire                 rst,

    // AXI-Stream input: C signed accumulators
    input  wire [C*ACC_W-1:0]   s_axis_tdata,
    input  wire                 s_axis_tvalid,
    output wire                 s_axis_tready,
    input  wire                 s_axis_tlast,

    // AXI-Stream output: C requantized values
    output wire [C*OUT_W-1:0]   m_axis_tdata,
    output wire                 m_axis_tvalid,
    input  wire                 m_axis_tready,
    output wire                 m_axis_tlast
);

// product acc * M: ACC_W x MULT_W signed (M is positive as a signed MULT_W value); with POW2 = 1
// the "product" is acc itself, one bit wider so that the rounding add cannot overflow
localparam integer PROD_W = (POW2 != 0) ? ACC_W + 1 : ACC_W + MULT_W;
// -2^(PROD_W-2) <= acc*M < 2^(PROD_W-2) (POW2 = 1: acc itself), the input range round_shift_clamp
// needs: the rounding add stays inside PROD_W bits and any shift >= PROD_W-1 acts as PROD_W-1

reg [SHIFT_W-1:0] shift_mem [0:C-1];
integer           chk;

initial begin
    if (C < 1) $error("requant: C must be >= 1, got %0d", C);
    if (ACC_W < 2) $error("requant: ACC_W must be >= 2, got %0d", ACC_W);
    if (POW2 != 0 && POW2 != 1) $error("requant: POW2 must be 0 or 1, got %0d", POW2);
    if (MULT_W < 2) $error("requant: MULT_W must be >= 2, got %0d", MULT_W);
    if (SHIFT_W < 1 || SHIFT_W > 30) $error("requant: SHIFT_W must be 1..30, got %0d", SHIFT_W);
    if (SERIAL < 0 || SERIAL > 2) $error("requant: SERIAL must be 0, 1 or 2, got %0d", SERIAL);
    if (SERIAL == 2 && POW2 == 0 && (ACC_W > 30 || MULT_W > 16))
        $error("requant: SERIAL = 2 needs ACC_W <= 30 and MULT_W <= 16, got %0d, %0d", ACC_W, MULT_W);
    // OUT_W, LO, HI: checked by round_shift_clamp
    $readmemh(SHIFT_FILE, shift_mem);
`ifndef SYNTHESIS
    // the constants must match the assumptions of the datapath (mirrors the Python export)
    for (chk = 0; chk < C; chk = chk + 1) begin
        if (shift_mem[chk] > 62) $error("requant: S[%0d]=%0d > 62", chk, shift_mem[chk]);
    end
`endif
end

// stage 1 input: acc * M[c] of every lane, or with SERIAL > 0 of lane k of the held beat on the one
// multiplier (POW2 = 1: acc sign-extended, M = 1); stage 1 register c loads multiplier c's product
// (SERIAL > 0: the one multiplier's)
localparam integer N_MUL = (SERIAL != 0) ? 1 : C;
localparam integer K_W = (C > 1) ? $clog2(C) : 1;
localparam integer C_LAST = C - 1;
localparam [K_W-1:0] K_LAST = C_LAST[K_W-1:0];
// multiplier passes per lane: 2 with SERIAL = 2 (POW2 = 0), else 1
// (ACC_W <= 16: acc * M already fits one 16 x 16 multiplier)
localparam integer PASSES = (SERIAL == 2 && POW2 == 0 && ACC_W > 16) ? 2 : 1;

wire [N_MUL*PROD_W-1:0] mul_prod;
wire [C*ACC_W-1:0]      x_held;    // SERIAL > 0: the beat being multiplied; else the input beat
wire [K_W-1:0]          lane_k;    // SERIAL > 0: its lane in the multiplier this cycle
/* verilator lint_off UNUSEDSIGNAL */
wire                    pass_hi;   // SERIAL = 2: the second pass (hi * M) of that lane (else unused)
/* verilator lint_on UNUSEDSIGNAL */
wire                    busy;      // SERIAL > 0: a beat is being multiplied

// stage 1: products
reg [C*PROD_W-1:0] p_data_reg;
reg                p_valid_reg;
reg                p_last_reg;

genvar gm;
generate
    for (gm = 0; gm < N_MUL; gm = gm + 1) begin : g_mul
        localparam [K_W-1:0] CH = gm;
        wire [K_W-1:0]          ch  = (SERIAL != 0) ? lane_k : CH;
        wire signed [ACC_W-1:0] acc = x_held[ch*ACC_W +: ACC_W];

        if (POW2 != 0) begin : g_pow2
            assign mul_prod[gm*PROD_W +: PROD_W] = {{(PROD_W-ACC_W){acc[ACC_W-1]}}, acc};
        end else begin : g_mult
            reg [MULT_W-1:0] mult_mem [0:C-1];
            integer          chk_m;

            initial begin
                $readmemh(MULT_FILE, mult_mem);
`ifndef SYNTHESIS
                for (chk_m = 0; chk_m < C; chk_m = chk_m + 1) begin
                    if (mult_mem[chk_m][MULT_W-1])
                        $error("requant: M[%0d]=%0d does not fit MULT_W=%0d as a positive value",
                               chk_m, mult_mem[chk_m], MULT_W);
                end
`endif
            end

            wire signed [MULT_W-1:0] mult = mult_mem[ch];

            if (PASSES == 2) begin : g_two_pass
                // lo = acc[14:0] (non-negative), hi = acc >>> 15; the first pass writes lo*M, the
                // second adds hi*M << 15 to it
                wire signed [15:0]           part = pass_hi ? {{(31-ACC_W){acc[ACC_W-1]}}, acc[ACC_W-1:15]}
                                                            : {1'b0, acc[14:0]};
                wire signed [15+MULT_W:0]    pp = part * mult;
                wire signed [PROD_W-1:0]     pp_ext = {{(PROD_W-16-MULT_W){pp[15+MULT_W]}}, pp};
                wire        [PROD_W-1:0]     p_lane = p_data_reg[ch*PROD_W +: PROD_W];
                assign mul_prod[gm*PROD_W +: PROD_W] = pass_hi ? p_lane + {pp_ext[PROD_W-16:0], 15'd0}
                                                               : pp_ext;
            end else begin : g_one_pass
                wire signed [PROD_W-1:0] prod = acc * mult;
                assign mul_prod[gm*PROD_W +: PROD_W] = prod;
            end
        end
    end
endgenerate

// stage 2: output register
reg [C*OUT_W-1:0]  m_data_reg;
reg                m_valid_reg;
reg                m_last_reg;

// pipeline control: the output stage advances when empty or drained; stage 1 also when empty
wire out_en = !m_valid_reg || m_axis_tready;
wire p_en   = out_en || !p_valid_reg;

assign s_axis_tready = p_en && !busy;

assign m_axis_tdata  = m_data_reg;
assign m_axis_tvalid = m_valid_reg;
assign m_axis_tlast  = m_last_reg;

genvar gc;
generate
    for (gc = 0; gc < C; gc = gc + 1) begin : g_ch
        localparam [K_W-1:0]     CH = gc;
        wire [SHIFT_W-1:0]       shift_c = shift_mem[gc];
        wire [OUT_W-1:0]         y_out;
        // stage 1 register gc loads: with every beat, or (SERIAL > 0) when its lane is multiplied
        localparam integer       MUL = (SERIAL != 0) ? 0 : gc;
        wire                     p_we = (SERIAL != 0) ? busy && (lane_k == CH) : p_en;

        always @(posedge clk) begin
            if (p_we) begin
                p_data_reg[gc*PROD_W +: PROD_W] <= mul_prod[MUL*PROD_W +: PROD_W];
            end
        end

        // stage 2: round half up, arithmetic shift, zero point, clamp
        round_shift_clamp #(
            .IN_W(PROD_W), .SHIFT_W(SHIFT_W), .OUT_W(OUT_W), .LO(LO), .HI(HI), .ZP_OUT(ZP_OUT)
        ) u_round (
            .x(p_data_reg[gc*PROD_W +: PROD_W]), .shift(shift_c), .y(y_out)
        );

        always @(posedge clk) begin
            if (out_en) begin
                m_data_reg[gc*OUT_W +: OUT_W] <= y_out;
            end
        end
    end

    if (SERIAL != 0) begin : g_serial
        // take a beat when stage 1 is free; multiply lane k_reg = 0..C-1 (PASSES cycles each) over
        // the next PASSES*C cycles; stage 1 is valid after the last lane and empties when stage 2
        // takes it
        reg [C*ACC_W-1:0] x_reg;
        reg               x_last_reg;
        reg [K_W-1:0]     k_reg;
        reg               hi_reg;    // PASSES = 2: the lane's second pass
        reg               busy_reg;
        wire              take = s_axis_tvalid && s_axis_tready;
        wire              lane_done = (PASSES == 1) || hi_reg;
        wire              p_done = busy_reg && (k_reg == K_LAST) && lane_done;  // the last lane's last pass

        assign x_held  = x_reg;
        assign lane_k  = k_reg;
        assign pass_hi = hi_reg;
        assign busy    = busy_reg;

        always @(posedge clk) begin
            if (take) begin
                x_reg      <= s_axis_tdata;
                x_last_reg <= s_axis_tlast;
            end
            if (p_done) begin
                p_last_reg <= x_last_reg;
            end
            if (take || p_done) begin
                k_reg  <= {K_W{1'b0}};
                hi_reg <= 1'b0;
            end else if (busy_reg) begin
                k_reg  <= lane_done ? k_reg + 1'b1 : k_reg;
                hi_reg <= (PASSES == 2) && !hi_reg;
            end
        end

        always @(posedge clk) begin
            if (rst) begin
                busy_reg    <= 1'b0;
                p_valid_reg <= 1'b0;
            end else begin
                busy_reg <= take || (busy_reg && !p_done);
                if (p_done) begin
                    p_valid_reg <= 1'b1;
                end else if (out_en) begin
                    p_valid_reg <= 1'b0;
                end
            end
        end
    end else begin : g_parallel
        assign x_held  = s_axis_tdata;
        assign lane_k  = {K_W{1'b0}};
        assign pass_hi = 1'b0;
        assign busy    = 1'b0;

        always @(posedge clk) begin
            if (p_en) begin
                p_last_reg <= s_axis_tlast;
            end
        end

        always @(posedge clk) begin
            if (rst) begin
                p_valid_reg <= 1'b0;
            end else if (p_en) begin
                p_valid_reg <= s_axis_tvalid;
            end
        end
    end
endgenerate

always @(posedge clk) begin
    if (out_en) begin
        m_last_reg <= p_last_reg;
    end
end

always @(posedge clk) begin
    if (rst) begin
        m_valid_reg <= 1'b0;
    end else if (out_en) begin
        m_valid_reg <= p_valid_reg;
    end
end

endmodule

`default_nettype wire
