// tb_fpga_class: HDL-only testbench of the narrow-I/O FPGA wrapper fpga_cnn_<net>[_m<M>]
// (int8cnn/fpga.py), for the RTL or for the gate-level netlist of `make fpga` with the wrapper
// (`make fpga-check`, int8cnn/fpga_flow.py).
//
// The wrapper's module name is the macro FPGA_DUT (e.g. -DFPGA_DUT=fpga_cnn_default_m6); the DUT is
// instantiated without parameters (its WEIGHTS_DIR default is weights/<net>, relative to the
// repository root; a synthesised netlist has the weights built in).
// Streams N_IMAGES images from INPUT_MEM ($readmemh, one pixel per line) into the DUT at full rate
// (tvalid always high, class stream always ready), repeating the set REPEAT times, and compares
// each class beat with PRED_MEM (one hex digit per line, golden/<net>/predicted.mem). Prints
//   tb_fpga_class: <n> images, <e> class errors, II <c> cycles/image
// (II = cycles between the first and the last result / (results - 1)).
`timescale 1ns / 1ps
`default_nettype none

`ifndef FPGA_DUT
`define FPGA_DUT fpga_cnn_default
`endif

module tb_fpga_class #(
    // pixels, one per line, N_IMAGES*28*28 lines
    parameter INPUT_MEM = "golden/default/input.mem",
    // golden classes, one hex digit per line, N_IMAGES lines
    parameter PRED_MEM = "golden/default/predicted.mem",
    // images in INPUT_MEM / PRED_MEM
    parameter integer N_IMAGES = 20,
    // times the image set is streamed
    parameter integer REPEAT = 1,
    // class bits of the wrapper (int8cnn.fpga.class_bits)
    parameter integer CLASS_W = 4
);
    localparam integer PIX = 28 * 28;
    localparam integer TOTAL = N_IMAGES * REPEAT;

    reg clk;
    reg rst;
    always #5 clk = ~clk;

    reg [7:0]         pixels [0:N_IMAGES*PIX-1];
    reg [CLASS_W-1:0] pred [0:N_IMAGES-1];
    initial begin
        $readmemh(INPUT_MEM, pixels);
        $readmemh(PRED_MEM, pred);
    end

    integer pix_idx;     // pixels sent
    integer n_out;       // results received
    integer errors;
    integer cycle;
    integer first_out;

    wire               in_ready;
    wire [CLASS_W-1:0] class_tdata;
    wire               class_tvalid;
    wire               in_valid = (pix_idx < TOTAL * PIX);
    wire [7:0]         in_data = pixels[pix_idx % (N_IMAGES * PIX)];
    wire               in_last = (pix_idx % PIX) == PIX - 1;
    wire               miss = class_tdata != pred[n_out % N_IMAGES];

    `FPGA_DUT dut (
        .clk(clk), .rst(rst),
        .s_axis_pixel_tdata(in_data), .s_axis_pixel_tvalid(in_valid),
        .s_axis_pixel_tready(in_ready), .s_axis_pixel_tlast(in_last),
        .m_axis_class_tdata(class_tdata), .m_axis_class_tvalid(class_tvalid),
        .m_axis_class_tready(1'b1)
    );

    always @(posedge clk) begin
        cycle <= cycle + 1;
        if (!rst) begin
            if (in_valid && in_ready) pix_idx <= pix_idx + 1;
            if (class_tvalid) begin
                if (miss) begin
                    errors <= errors + 1;
                    $display("tb_fpga_class: image %0d: class %0d, golden %0d", n_out,
                             class_tdata, pred[n_out % N_IMAGES]);
                end
                if (n_out == 0) first_out <= cycle;
                n_out <= n_out + 1;
                if (n_out == TOTAL - 1) begin
                    $display("tb_fpga_class: %0d images, %0d class errors, II %0d cycles/image",
                             TOTAL, errors + miss, (TOTAL > 1) ? (cycle - first_out) / (TOTAL - 1) : 0);
                    $finish;
                end
            end
        end
    end

    initial begin
        clk = 1'b0;
        rst = 1'b1;
        pix_idx = 0;
        n_out = 0;
        errors = 0;
        cycle = 0;
        first_out = 0;
        repeat (4) @(posedge clk);
        @(negedge clk) rst = 1'b0;
    end
endmodule

`default_nettype wire
