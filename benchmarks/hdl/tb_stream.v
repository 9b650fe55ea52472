// tb_stream: HDL-only testbench for the simulation-speed benchmark (no cocotb).
// Streams N_IMAGES images from INPUT_MEM ($readmemh, one pixel per line) into cnn_default at full
// rate (tvalid always high, result always ready), repeating the set REPEAT times, and compares each
// result's class with PRED_MEM (one hex digit per line). Prints cycles per image and the error count.
// Another generated top: define TB_TOP (its module name; 10 classes) and, for a folded top,
// TB_FOLDED with the parameter FOLD_DIR (benchmarks/sim_speed.py --net). The taps are left open.
// A synthesized netlist of a top (the gate-level check, `int8cnn fpga check`): define TB_TOP and
// TB_GATE_LEVEL; the netlist has no parameters (the weights are inside it).
`timescale 1ns / 1ps
`default_nettype none

module tb_stream #(
    parameter WEIGHTS_DIR = "weights/default",
    parameter INPUT_MEM = "golden/default/input.mem",
    parameter PRED_MEM = "golden/default/predicted.mem",
    parameter FOLD_DIR = "",
    parameter integer N_IMAGES = 20,
    parameter integer REPEAT = 10
);
    localparam integer PIX = 28 * 28;
    localparam integer TOTAL = N_IMAGES * REPEAT;

    reg clk = 1'b0;
    reg rst = 1'b1;
    always #5 clk = ~clk;

    reg [7:0] pixels [0:N_IMAGES*PIX-1];
    reg [3:0] pred [0:N_IMAGES-1];
    initial begin
        $readmemh(INPUT_MEM, pixels);
        $readmemh(PRED_MEM, pred);
    end

    integer pix_idx = 0;     // pixels sent
    integer n_out = 0;       // results received
    integer errors = 0;
    integer cycle = 0;
    integer first_out = 0;

    wire        in_ready;
    wire [351:0] res_tdata;
    wire        res_tvalid, res_tlast;
    wire        in_valid = (pix_idx < TOTAL * PIX);
    wire [7:0]  in_data = pixels[pix_idx % (N_IMAGES * PIX)];
    wire        in_last = (pix_idx % PIX) == PIX - 1;

    /* verilator lint_off PINMISSING */
`ifdef TB_TOP
`ifdef TB_GATE_LEVEL
    `TB_TOP dut (
`elsif TB_FOLDED
    `TB_TOP #(.WEIGHTS_DIR(WEIGHTS_DIR), .FOLD_DIR(FOLD_DIR)) dut (
`else
    `TB_TOP #(.WEIGHTS_DIR(WEIGHTS_DIR)) dut (
`endif
`else
    cnn_default #(.WEIGHTS_DIR(WEIGHTS_DIR)) dut (
`endif
        .clk(clk), .rst(rst),
        .s_axis_pixel_tdata(in_data), .s_axis_pixel_tvalid(in_valid),
        .s_axis_pixel_tready(in_ready), .s_axis_pixel_tlast(in_last),
        .m_axis_result_tdata(res_tdata), .m_axis_result_tvalid(res_tvalid),
        .m_axis_result_tready(1'b1), .m_axis_result_tlast(res_tlast)
    );
    /* verilator lint_on PINMISSING */

    always @(posedge clk) begin
        cycle <= cycle + 1;
        if (!rst) begin
            if (in_valid && in_ready) pix_idx <= pix_idx + 1;
            if (res_tvalid) begin
                if (res_tdata[3:0] != pred[n_out % N_IMAGES]) errors <= errors + 1;
                if (n_out == 0) first_out <= cycle;
                n_out <= n_out + 1;
                if (n_out == TOTAL - 1) begin
                    $display("tb_stream: %0d images, %0d class errors, II %0d cycles/image",
                             TOTAL, errors + (res_tdata[3:0] != pred[n_out % N_IMAGES]),
                             (cycle - first_out) / (TOTAL - 1));
                    $finish;
                end
            end
        end
    end

    initial begin
        repeat (4) @(posedge clk);
        rst <= 1'b0;
    end
endmodule

`default_nettype wire
