// int8cnn_top: the default network (seed-001 topology) as one streaming pipeline.
//
//   s_axis_pixel -> skid -> conv2d(conv1) -> requant(conv1) -> maxpool2d(pool1) -> dense(fc1)
//                -> argmax -> skid -> m_axis_result
//
// Parameters
//   WEIGHTS_DIR  directory holding the exported network (conv1_weight.mem, ... , network.vh);
//                every width and shape comes from network.vh (generated from manifest.json),
//                which is found through the include path (-I weights/<net>).
// Streams (docs/quantization.md)
//   s_axis_pixel   8-bit pixels, raster order, tlast on the image's last pixel (28x28 per image).
//   m_axis_result  one beat per image: tdata[31:0] = class, tdata[32*(i+1) +: 32] = logit i.
//   tap_<layer>_*  copies of each layer's output stream (conv1 after requantization, pool1, fc1),
//                  raster order, all channels of a pixel in one beat; a beat is transferred when
//                  tap_<layer>_tvalid && tap_<layer>_tready. Taps only observe: they never stall.
// Throughput: one pixel per clock (II = 784 cycles per image when the input never idles and the
//   result is always accepted); images stream back to back with no gap and no reset.
// Latency: first pixel in to result out is 784 cycles plus the pipeline depth (see README).
`default_nettype none

module int8cnn_top #(
    // directory of the exported network's .mem files (no trailing slash)
    parameter WEIGHTS_DIR = "weights/default"
) (
    input  wire        clk,
    input  wire        rst,

    // pixel input
    input  wire [7:0]  s_axis_pixel_tdata,
    input  wire        s_axis_pixel_tvalid,
    output wire        s_axis_pixel_tready,
    input  wire        s_axis_pixel_tlast,

    // result output
    output wire [(FC1_C_OUT+1)*32-1:0] m_axis_result_tdata,
    output wire        m_axis_result_tvalid,
    input  wire        m_axis_result_tready,
    output wire        m_axis_result_tlast,

    // layer taps (observe only)
    output wire [CONV1_C_OUT*8-1:0] tap_conv1_tdata,
    output wire        tap_conv1_tvalid,
    output wire        tap_conv1_tready,
    output wire        tap_conv1_tlast,
    output wire [POOL1_C_OUT*8-1:0] tap_pool1_tdata,
    output wire        tap_pool1_tvalid,
    output wire        tap_pool1_tready,
    output wire        tap_pool1_tlast,
    output wire [FC1_C_OUT*32-1:0] tap_fc1_tdata,
    output wire        tap_fc1_tvalid,
    output wire        tap_fc1_tready,
    output wire        tap_fc1_tlast
);

`include "network.vh"

    initial begin
        if (CONV1_PAD != 0)
            $error("int8cnn_top: conv1 padding %0d not supported by this top", CONV1_PAD);
        if (CONV1_C_IN != 1 || CONV1_IMG_W != 28 || CONV1_IMG_H != 28)
            $error("int8cnn_top: expects a 1x28x28 input, network.vh says %0dx%0dx%0d",
                   CONV1_C_IN, CONV1_IMG_H, CONV1_IMG_W);
        if (POOL1_PAD != 0)
            $error("int8cnn_top: pool1 padding %0d not supported", POOL1_PAD);
        if (FC1_N_BEATS != FC1_IMG_H * FC1_IMG_W)
            $error("int8cnn_top: fc1 N_BEATS %0d != %0d x %0d", FC1_N_BEATS, FC1_IMG_H, FC1_IMG_W);
        if (POOL1_C_IN != CONV1_C_OUT || FC1_C_IN != POOL1_C_OUT)
            $error("int8cnn_top: channel counts of conv1/pool1/fc1 do not chain");
    end

    // ------------------------------------------------------------------ input register slice
    wire [7:0] in_tdata;
    wire       in_tvalid, in_tready, in_tlast;

    axis_skid #(.DATA_W(8)) u_in_skid (
        .clk(clk), .rst(rst),
        .s_axis_tdata(s_axis_pixel_tdata), .s_axis_tvalid(s_axis_pixel_tvalid),
        .s_axis_tready(s_axis_pixel_tready), .s_axis_tlast(s_axis_pixel_tlast),
        .m_axis_tdata(in_tdata), .m_axis_tvalid(in_tvalid),
        .m_axis_tready(in_tready), .m_axis_tlast(in_tlast)
    );

    // ------------------------------------------------------------------ conv1 accumulators
    wire [CONV1_C_OUT*CONV1_ACC_W-1:0] acc1_tdata;
    wire acc1_tvalid, acc1_tready, acc1_tlast;

    conv2d #(
        .C_IN(CONV1_C_IN), .C_OUT(CONV1_C_OUT), .K(CONV1_K),
        .IMG_W(CONV1_IMG_W), .IMG_H(CONV1_IMG_H), .STRIDE(CONV1_STRIDE),
        .IN_SIGNED(CONV1_IN_SIGNED), .IN_W(8), .W_W(8), .ACC_W(CONV1_ACC_W),
        .WEIGHT_FILE({WEIGHTS_DIR, "/conv1_weight.mem"}),
        .BIAS_FILE({WEIGHTS_DIR, "/conv1_bias.mem"})
    ) u_conv1 (
        .clk(clk), .rst(rst),
        .s_axis_tdata(in_tdata), .s_axis_tvalid(in_tvalid),
        .s_axis_tready(in_tready), .s_axis_tlast(in_tlast),
        .m_axis_tdata(acc1_tdata), .m_axis_tvalid(acc1_tvalid),
        .m_axis_tready(acc1_tready), .m_axis_tlast(acc1_tlast)
    );

    // ------------------------------------------------------------------ conv1 requantization
    wire [CONV1_C_OUT*8-1:0] c1_tdata;
    wire c1_tvalid, c1_tready, c1_tlast;

    requant #(
        .C(CONV1_C_OUT), .ACC_W(CONV1_ACC_W), .MULT_W(CONV1_MULT_W), .SHIFT_W(CONV1_SHIFT_W),
        .OUT_W(8), .LO(CONV1_LO), .HI(CONV1_HI), .ZP_OUT(CONV1_ZP_OUT),
        .MULT_FILE({WEIGHTS_DIR, "/conv1_mult.mem"}),
        .SHIFT_FILE({WEIGHTS_DIR, "/conv1_shift.mem"})
    ) u_conv1_rq (
        .clk(clk), .rst(rst),
        .s_axis_tdata(acc1_tdata), .s_axis_tvalid(acc1_tvalid),
        .s_axis_tready(acc1_tready), .s_axis_tlast(acc1_tlast),
        .m_axis_tdata(c1_tdata), .m_axis_tvalid(c1_tvalid),
        .m_axis_tready(c1_tready), .m_axis_tlast(c1_tlast)
    );

    // ------------------------------------------------------------------ pool1
    wire [POOL1_C_OUT*8-1:0] p1_tdata;
    wire p1_tvalid, p1_tready, p1_tlast;

    maxpool2d #(
        .C(POOL1_C_IN), .DATA_W(8), .IN_SIGNED(POOL1_IN_SIGNED),
        .IMG_W(POOL1_IMG_W), .IMG_H(POOL1_IMG_H), .K(POOL1_K), .STRIDE(POOL1_STRIDE)
    ) u_pool1 (
        .clk(clk), .rst(rst),
        .s_axis_tdata(c1_tdata), .s_axis_tvalid(c1_tvalid),
        .s_axis_tready(c1_tready), .s_axis_tlast(c1_tlast),
        .m_axis_tdata(p1_tdata), .m_axis_tvalid(p1_tvalid),
        .m_axis_tready(p1_tready), .m_axis_tlast(p1_tlast)
    );

    // ------------------------------------------------------------------ fc1 (logits)
    wire [FC1_C_OUT*32-1:0] f1_tdata;
    wire f1_tvalid, f1_tready, f1_tlast;

    dense #(
        .C(FC1_C_IN), .N_BEATS(FC1_N_BEATS), .OUT(FC1_C_OUT), .IN_SIGNED(FC1_IN_SIGNED),
        .IN_W(8), .W_W(8), .ACC_W(FC1_ACC_W), .OUT_W(32),
        .WEIGHT_FILE({WEIGHTS_DIR, "/fc1_weight.mem"}),
        .BIAS_FILE({WEIGHTS_DIR, "/fc1_bias.mem"})
    ) u_fc1 (
        .clk(clk), .rst(rst),
        .s_axis_tdata(p1_tdata), .s_axis_tvalid(p1_tvalid),
        .s_axis_tready(p1_tready), .s_axis_tlast(p1_tlast),
        .m_axis_tdata(f1_tdata), .m_axis_tvalid(f1_tvalid),
        .m_axis_tready(f1_tready), .m_axis_tlast(f1_tlast)
    );

    // ------------------------------------------------------------------ argmax + output slice
    wire [(FC1_C_OUT+1)*32-1:0] am_tdata;
    wire am_tvalid, am_tready, am_tlast;

    argmax #(.N(FC1_C_OUT), .DATA_W(32)) u_argmax (
        .clk(clk), .rst(rst),
        .s_axis_tdata(f1_tdata), .s_axis_tvalid(f1_tvalid),
        .s_axis_tready(f1_tready), .s_axis_tlast(f1_tlast),
        .m_axis_tdata(am_tdata), .m_axis_tvalid(am_tvalid),
        .m_axis_tready(am_tready), .m_axis_tlast(am_tlast)
    );

    axis_skid #(.DATA_W((FC1_C_OUT+1)*32)) u_out_skid (
        .clk(clk), .rst(rst),
        .s_axis_tdata(am_tdata), .s_axis_tvalid(am_tvalid),
        .s_axis_tready(am_tready), .s_axis_tlast(am_tlast),
        .m_axis_tdata(m_axis_result_tdata), .m_axis_tvalid(m_axis_result_tvalid),
        .m_axis_tready(m_axis_result_tready), .m_axis_tlast(m_axis_result_tlast)
    );

    // ------------------------------------------------------------------ taps
    assign tap_conv1_tdata  = c1_tdata;
    assign tap_conv1_tvalid = c1_tvalid;
    assign tap_conv1_tready = c1_tready;
    assign tap_conv1_tlast  = c1_tlast;
    assign tap_pool1_tdata  = p1_tdata;
    assign tap_pool1_tvalid = p1_tvalid;
    assign tap_pool1_tready = p1_tready;
    assign tap_pool1_tlast  = p1_tlast;
    assign tap_fc1_tdata    = f1_tdata;
    assign tap_fc1_tvalid   = f1_tvalid;
    assign tap_fc1_tready   = f1_tready;
    assign tap_fc1_tlast    = f1_tlast;

endmodule

`default_nettype wire
