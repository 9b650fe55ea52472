// tb_stall: seeded stall generator of the per-image top-level harness (testbench code, tb/hdl/;
// not part of the accelerator). `pause` = 1 holds the stream in that cycle: the input's tvalid or
// the result's tready is low. tb/stalls.py holds the stall vocabulary and a Python model of this
// generator (the per-beat driver uses it, so both drivers see the same patterns).
//
// Runtime configuration (set by Python while run is low; the state restarts whenever run is low):
//   mode 0  never pause
//   mode 1  periodic: a period of A cycles, paused in the first B cycles of each period
//   mode 2  random: paused when the low 16 bits of the LFSR are below A (probability A / 65536)
//   mode 3  bursts: a pause run of (S mod (A+1)) cycles, then a ready run of 1 + ((S >> 16) mod B)
//           cycles, S the LFSR state when the pair is drawn
// LFSR: xorshift32 (x ^= x << 13; x ^= x >> 17; x ^= x << 5) seeded with SEED (0 becomes 1);
// it steps every cycle in mode 2, once per drawn pair in mode 3. Simulation only.
`default_nettype none
// simulation only: registers start from their declared values, no reset needed before `run`
/* verilator lint_off PROCASSINIT */

module tb_stall (
    input  wire        clk,
    input  wire        run,
    input  wire [1:0]  mode,
    input  wire [31:0] a,
    input  wire [31:0] b,
    input  wire [31:0] seed,
    output wire        pause
);

    reg [31:0] s_reg = 32'd1;
    reg [31:0] count_reg = 32'd0;    // mode 1: position in the period
    reg [31:0] pause_left_reg = 32'd0;
    reg [31:0] ready_left_reg = 32'd0;

`include "xorshift32.vh"

    wire        draw = (pause_left_reg == 32'd0) && (ready_left_reg == 32'd0);
    wire [31:0] pause_now = draw ? s_reg % (a + 32'd1) : pause_left_reg;
    wire [31:0] ready_now = draw ? 32'd1 + (s_reg >> 16) % b : ready_left_reg;

    assign pause = !run ? 1'b0 :
                   (mode == 2'd1) ? (count_reg < b) :
                   (mode == 2'd2) ? (s_reg[15:0] < a[15:0] || a > 32'hFFFF) :
                   (mode == 2'd3) ? (pause_now != 32'd0) : 1'b0;

    always @(posedge clk) begin
        if (!run) begin
            s_reg <= (seed == 32'd0) ? 32'd1 : seed;
            count_reg <= 32'd0;
            pause_left_reg <= 32'd0;
            ready_left_reg <= 32'd0;
        end else begin
            case (mode)
                2'd1: count_reg <= (count_reg + 32'd1 >= a) ? 32'd0 : count_reg + 32'd1;
                2'd2: s_reg <= xorshift32(s_reg);
                2'd3: begin
                    if (draw) s_reg <= xorshift32(s_reg);
                    if (pause_now != 32'd0) begin
                        pause_left_reg <= pause_now - 32'd1;
                        ready_left_reg <= ready_now;
                    end else begin
                        pause_left_reg <= 32'd0;
                        ready_left_reg <= ready_now - 32'd1;
                    end
                end
                default: ;
            endcase
        end
    end

endmodule
/* verilator lint_on PROCASSINIT */

`default_nettype wire
