// eltwise_add: residual add of two 8-bit streams, each rescaled to the output scale
// (= golden.eltwise_add, parameters from int8cnn.residual.add_multipliers).
//
//   y[c] = clamp(((a[c]*MA + b[c]*MB + R) >>> S) + ZP_OUT, LO, HI),  R = 1 << (S-1), 0 if S == 0
//
// Parameters
//   C           channels per beat (lanes), >= 1
//   A_SIGNED    1: a lanes are int8, 0: uint8 (e.g. after ReLU)
//   B_SIGNED    1: b lanes are int8, 0: uint8
//   MULT_W      multiplier width, 2..31; MA and MB are two's-complement MULT_W-bit values
//   MA, MB      integer multipliers of branch a and b (one per layer, all lanes)
//   S           shared right shift, 0..62 (shifts >= MULT_W+9 give the same result as MULT_W+9)
//   ZP_OUT      output zero point added after the shift
//   LO, HI      clamp bounds (LO < 0 -> signed output); must fit OUT_W
//   OUT_W       output lane width (two's complement; LO >= 0 gives unsigned lanes), 2..31
//
// Join
//   One beat is consumed from both inputs in the same cycle:
//     s_axis_a_tready = s_axis_b_tvalid && (stage 1 can advance)
//     s_axis_b_tready = s_axis_a_tvalid && (stage 1 can advance)
//   A beat waiting on one input is not accepted until the other input has a beat too. tlast comes
//   from input a (input b has no tlast: its frames are a's frames).
//
// Latency and throughput
//   2 cycles (stage 1: both multiplies, stage 2: add, then round, shift, zero point, clamp in
//   rtl/round_shift_clamp.v; registered output); one beat per clock when both inputs are valid and the output is not stalled.
//   Stage-enable backpressure: the output stage advances when it is empty or m_axis_tready is
//   high; stage 1 also advances when it holds no beat (bubbles are squeezed out). The input treadys
//   depend combinationally on m_axis_tready and on the other input's tvalid, never on their own
//   tvalid.
//
// Stream order
//   One beat in (from each input), one beat out, in order; lane c = channel c at [c*8 +: 8] in and
//   [c*OUT_W +: OUT_W] out.
`default_nettype none

module eltwise_add #(
    // channels (lanes) per beat
    parameter integer C = 4,
    // input a lanes signed (1: int8) or unsigned (0: uint8)
    parameter integer A_SIGNED = 1,
    // input b lanes signed (1: int8) or unsigned (0: uint8)
    parameter integer B_SIGNED = 1,
    // multiplier width (MA, MB two's complement in MULT_W bits)
    parameter integer MULT_W = 16,
    // multiplier of branch a
    parameter integer MA = 16384,
    // multiplier of branch b
    parameter integer MB = 16384,
    // shared right shift (0..62)
    parameter integer S = 15,
    // output zero point
    parameter integer ZP_OUT = 0,
    // lower clamp bound (LO < 0: signed output)
    parameter integer LO = -128,
    // upper clamp bound
    parameter integer HI = 127,
    // output lane width
    parameter integer OUT_W = 8
) (
    input  wire                 clk,
    input  wire                 rst,

    // AXI-Stream input a: C lanes of 8 bits (carries tlast)
    input  wire [C*8-1:0]       s_axis_a_tdata,
    input  wire                 s_axis_a_tvalid,
    output wire                 s_axis_a_tready,
    input  wire                 s_axis_a_tlast,

    // AXI-Stream input b: C lanes of 8 bits
    input  wire [C*8-1:0]       s_axis_b_tdata,
    input  wire                 s_axis_b_tvalid,
    output wire                 s_axis_b_tready,

    // AXI-Stream output: C lanes of OUT_W bits
    output wire [C*OUT_W-1:0]   m_axis_tdata,
    output wire                 m_axis_tvalid,
    input  wire                 m_axis_tready,
    output wire                 m_axis_tlast
);

// product of a 9-bit signed (sign- or zero-extended 8-bit) lane and a MULT_W-bit multiplier
localparam integer PROD_W = MULT_W + 9;
// |a*MA + b*MB| <= 2 * 255 * 2^(MULT_W-1) < 2^(MULT_W+8) = 2^(X_W-2): the range round_shift_clamp
// needs (the rounding add stays inside X_W bits, every shift >= X_W-1 acts as X_W-1)
localparam integer X_W = MULT_W + 10;
localparam signed [MULT_W-1:0] MA_S = MA[MULT_W-1:0];
localparam signed [MULT_W-1:0] MB_S = MB[MULT_W-1:0];
// the shift as a 6-bit port value (S <= 62)
localparam [5:0] S_6 = S[5:0];

initial begin
    if (C < 1) $error("eltwise_add: C must be >= 1, got %0d", C);
    if (A_SIGNED != 0 && A_SIGNED != 1)
        $error("eltwise_add: A_SIGNED must be 0 or 1, got %0d", A_SIGNED);
    if (B_SIGNED != 0 && B_SIGNED != 1)
        $error("eltwise_add: B_SIGNED must be 0 or 1, got %0d", B_SIGNED);
    if (MULT_W < 2 || MULT_W > 31) $error("eltwise_add: MULT_W must be 2..31, got %0d", MULT_W);
    if (MA < -(2 ** (MULT_W - 1)) || MA > 2 ** (MULT_W - 1) - 1)
        $error("eltwise_add: MA=%0d does not fit MULT_W=%0d (two's complement)", MA, MULT_W);
    if (MB < -(2 ** (MULT_W - 1)) || MB > 2 ** (MULT_W - 1) - 1)
        $error("eltwise_add: MB=%0d does not fit MULT_W=%0d (two's complement)", MB, MULT_W);
    if (S < 0 || S > 62) $error("eltwise_add: S must be 0..62, got %0d", S);
    // OUT_W, LO, HI: checked by round_shift_clamp
end

// stage 1: products
reg [C*PROD_W-1:0] pa_data_reg;
reg [C*PROD_W-1:0] pb_data_reg;
reg                p_valid_reg;
reg                p_last_reg;

// stage 2: output register
reg [C*OUT_W-1:0]  m_data_reg;
reg                m_valid_reg;
reg                m_last_reg;

// pipeline control: the output stage advances when empty or drained; stage 1 also when empty;
// a beat enters stage 1 only when both inputs have one (join)
wire out_en = !m_valid_reg || m_axis_tready;
wire p_en   = out_en || !p_valid_reg;
wire join_valid = s_axis_a_tvalid && s_axis_b_tvalid;

assign s_axis_a_tready = p_en && s_axis_b_tvalid;
assign s_axis_b_tready = p_en && s_axis_a_tvalid;

assign m_axis_tdata  = m_data_reg;
assign m_axis_tvalid = m_valid_reg;
assign m_axis_tlast  = m_last_reg;

genvar gc;
generate
    for (gc = 0; gc < C; gc = gc + 1) begin : g_ch
        wire [7:0]               a_raw = s_axis_a_tdata[gc*8 +: 8];
        wire [7:0]               b_raw = s_axis_b_tdata[gc*8 +: 8];
        // 9-bit signed lanes: sign-extended int8 or zero-extended uint8
        wire signed [8:0]        a_x = {((A_SIGNED != 0) ? a_raw[7] : 1'b0), a_raw};
        wire signed [8:0]        b_x = {((B_SIGNED != 0) ? b_raw[7] : 1'b0), b_raw};
        wire signed [PROD_W-1:0] pa = a_x * MA_S;
        wire signed [PROD_W-1:0] pb = b_x * MB_S;

        always @(posedge clk) begin
            if (p_en) begin
                pa_data_reg[gc*PROD_W +: PROD_W] <= pa;
                pb_data_reg[gc*PROD_W +: PROD_W] <= pb;
            end
        end

        // stage 2: add, then round half up, arithmetic shift, zero point, clamp
        wire signed [PROD_W-1:0] pa_q = pa_data_reg[gc*PROD_W +: PROD_W];
        wire signed [PROD_W-1:0] pb_q = pb_data_reg[gc*PROD_W +: PROD_W];
        wire signed [X_W-1:0]    sum  = {{(X_W-PROD_W){pa_q[PROD_W-1]}}, pa_q}
                                        + {{(X_W-PROD_W){pb_q[PROD_W-1]}}, pb_q};
        wire [OUT_W-1:0]         y_out;

        round_shift_clamp #(
            .IN_W(X_W), .SHIFT_W(6), .OUT_W(OUT_W), .LO(LO), .HI(HI), .ZP_OUT(ZP_OUT)
        ) u_round (
            .x(sum), .shift(S_6), .y(y_out)
        );

        always @(posedge clk) begin
            if (out_en) begin
                m_data_reg[gc*OUT_W +: OUT_W] <= y_out;
            end
        end
    end
endgenerate

always @(posedge clk) begin
    if (p_en) begin
        p_last_reg <= s_axis_a_tlast;
    end
    if (out_en) begin
        m_last_reg <= p_last_reg;
    end
end

always @(posedge clk) begin
    if (rst) begin
        p_valid_reg <= 1'b0;
        m_valid_reg <= 1'b0;
    end else begin
        if (p_en) begin
            p_valid_reg <= join_valid;
        end
        if (out_en) begin
            m_valid_reg <= p_valid_reg;
        end
    end
end

`ifdef FORMAL
// formal properties of the join and the pipeline (SymbiYosys, `make formal`): formal/eltwise_add.sv
eltwise_add_props #(.C(C), .OUT_W(OUT_W)) u_props (.*);
`endif

endmodule

`default_nettype wire
