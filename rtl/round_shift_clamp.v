// round_shift_clamp: the requantization tail that requant and eltwise_add share (the last step of
// golden.requant and golden.eltwise_add): round half up, arithmetic right shift, output zero
// point, clamp. Combinational; the module that instantiates it registers the result.
//
//   y = clamp(((x + R) >>> s) + ZP_OUT, LO, HI),  s = min(shift, IN_W-1),  R = 1 << (s-1), 0 if s == 0
//
// Parameters
//   IN_W        signed input width, >= 2. The caller keeps -2^(IN_W-2) <= x < 2^(IN_W-2), so x + R
//               cannot overflow IN_W bits and every shift >= IN_W-1 gives the result of IN_W-1
//   SHIFT_W     shift width, 1..30 (the shift is unsigned)
//   OUT_W       output width (two's complement; LO >= 0 gives an unsigned value), 2..31
//   LO, HI      clamp bounds (LO < 0 -> signed output); must fit OUT_W
//   ZP_OUT      output zero point added after the shift
//
// Latency: 0 cycles (combinational). No stream: one value in, one value out.
`default_nettype none

module round_shift_clamp #(
    // signed input width
    parameter integer IN_W = 37,
    // shift width (unsigned)
    parameter integer SHIFT_W = 6,
    // output width
    parameter integer OUT_W = 8,
    // lower clamp bound (LO < 0: signed output)
    parameter integer LO = 0,
    // upper clamp bound
    parameter integer HI = 255,
    // output zero point
    parameter integer ZP_OUT = 0
) (
    input  wire signed [IN_W-1:0]  x,
    input  wire [SHIFT_W-1:0]      shift,
    output reg  [OUT_W-1:0]        y
);

// every shift >= S_CAP gives the same result as S_CAP (|x| < 2^(IN_W-2) shifts to 0 or -1 before
// rounding), and capping keeps the rounding term R inside IN_W bits
localparam integer S_CAP = IN_W - 1;
// width of the shifted value plus zero point, and of the clamp comparison (at least 33 bits so the
// 32-bit integer parameters sign-extend into it)
localparam integer Y_W = ((IN_W > 32) ? IN_W : 32) + 1;
localparam signed [Y_W-1:0] LO_Y = {{(Y_W-31){LO[31]}}, LO[30:0]};
localparam signed [Y_W-1:0] HI_Y = {{(Y_W-31){HI[31]}}, HI[30:0]};
localparam signed [Y_W-1:0] ZP_Y = {{(Y_W-31){ZP_OUT[31]}}, ZP_OUT[30:0]};

initial begin
    if (IN_W < 2) $error("%m: IN_W must be >= 2, got %0d", IN_W);
    if (SHIFT_W < 1 || SHIFT_W > 30)
        $error("%m: SHIFT_W must be 1..30, got %0d", SHIFT_W);
    if (OUT_W < 2 || OUT_W > 31) $error("%m: OUT_W must be 2..31, got %0d", OUT_W);
    if (LO > HI) $error("%m: LO (%0d) > HI (%0d)", LO, HI);
    if (LO < 0 && (LO < -(2 ** (OUT_W - 1)) || HI > 2 ** (OUT_W - 1) - 1))
        $error("%m: signed clamp [%0d, %0d] does not fit OUT_W=%0d", LO, HI, OUT_W);
    if (LO >= 0 && HI > 2 ** OUT_W - 1)
        $error("%m: unsigned clamp [%0d, %0d] does not fit OUT_W=%0d", LO, HI, OUT_W);
end

integer                 s;
reg signed [IN_W-1:0]   rnd;
reg signed [IN_W-1:0]   sum;
reg signed [IN_W-1:0]   shifted;
reg signed [Y_W-1:0]    y_full;

always @* begin
    s = {{(32-SHIFT_W){1'b0}}, shift};
    if (s > S_CAP) s = S_CAP;
    rnd = {IN_W{1'b0}};
    if (s > 0) rnd[s-1] = 1'b1;
    sum     = x + rnd;
    shifted = sum >>> s;
    y_full  = {{(Y_W-IN_W){shifted[IN_W-1]}}, shifted} + ZP_Y;
    y       = y_full[OUT_W-1:0];
    if (y_full < LO_Y) y = LO_Y[OUT_W-1:0];
    if (y_full > HI_Y) y = HI_Y[OUT_W-1:0];
end

endmodule

`default_nettype wire
