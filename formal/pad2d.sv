// Formal properties of pad2d (SymbiYosys, `make formal`; see docs/formal.md).
// The source is assumed to follow AXI-Stream; asserted:
//   handshake   m_axis tvalid held and tdata/tlast stable while tvalid && !tready; no output beat
//               in the cycle after reset
//   framing     tlast exactly on the last beat of every padded image ((IMG_W+2*PAD) x
//               (IMG_H+2*PAD) beats, counted by these properties from reset)
//   padding     every beat outside the image is 0
//   order       the n-th beat inside the image is the n-th input beat, for any n (a tracked beat);
//               input is taken only for beats inside the image
//   throughput  when the output register is free: a padding beat is loaded without waiting for
//               input (except an image's first beat, which waits for its first pixel), and an
//               offered input beat inside the image is taken
// Proven for all time (k-induction; the invariants tie the position counters and the tracked beat
// to x_reg, y_reg and the output register). Instantiated inside pad2d under `ifdef FORMAL (`.*`).
`default_nettype none

module pad2d_props #(
    parameter integer C = 1,
    parameter integer DATA_W = 8,
    parameter integer IMG_W = 28,
    parameter integer IMG_H = 28,
    parameter integer PAD = 1,
    parameter integer X_W = 5,
    parameter integer Y_W = 5
) (
    input wire                clk,
    input wire                rst,
    input wire [C*DATA_W-1:0] s_axis_tdata,
    input wire                s_axis_tvalid,
    input wire                s_axis_tready,
    input wire                s_axis_tlast,
    input wire [C*DATA_W-1:0] m_axis_tdata,
    input wire                m_axis_tvalid,
    input wire                m_axis_tready,
    input wire                m_axis_tlast,
    // registers of pad2d
    input wire [X_W-1:0]      x_reg,
    input wire [Y_W-1:0]      y_reg,
    input wire [C*DATA_W-1:0] m_data_reg,
    input wire                m_valid_reg,
    input wire                m_last_reg
);
    localparam integer PW = IMG_W + 2 * PAD;
    localparam integer PH = IMG_H + 2 * PAD;
    localparam integer D = C * DATA_W;

    wire in_hs = s_axis_tvalid && s_axis_tready;
    wire out_hs = m_axis_tvalid && m_axis_tready;

    wire f_past_valid;
    formal_start u_start (.clk(clk), .rst(rst), .f_past_valid(f_past_valid));

    axis_source_rules #(.DATA_W(D)) u_in (
        .clk(clk), .rst(rst), .tdata(s_axis_tdata), .tvalid(s_axis_tvalid), .tready(s_axis_tready),
        .tlast(s_axis_tlast), .f_past_valid(f_past_valid));
    axis_sink_rules #(.DATA_W(D)) u_out (
        .clk(clk), .rst(rst), .tdata(m_axis_tdata), .tvalid(m_axis_tvalid), .tready(m_axis_tready),
        .tlast(m_axis_tlast), .f_past_valid(f_past_valid));

    // the padded-raster position of the next beat to deliver (ox, oy) and of the next beat to
    // load into the output register (nx, ny: one further while the register holds a beat)
    reg [7:0] ox = 8'd0, oy = 8'd0;
    always @(posedge clk)
        if (rst) begin
            ox <= 8'd0;
            oy <= 8'd0;
        end else if (out_hs) begin
            ox <= (ox == PW - 1) ? 8'd0 : ox + 8'd1;
            oy <= (ox != PW - 1) ? oy : (oy == PH - 1) ? 8'd0 : oy + 8'd1;
        end
    wire [7:0] nx = !m_axis_tvalid ? ox : (ox == PW - 1) ? 8'd0 : ox + 8'd1;
    wire [7:0] ny = (!m_axis_tvalid || ox != PW - 1) ? oy : (oy == PH - 1) ? 8'd0 : oy + 8'd1;
    wire o_inside = ox >= PAD && ox < PAD + IMG_W && oy >= PAD && oy < PAD + IMG_H;
    wire n_inside = nx >= PAD && nx < PAD + IMG_W && ny >= PAD && ny < PAD + IMG_H;
    wire out_free = !m_axis_tvalid || m_axis_tready;

    // the beats inside the image: input beat n is output beat n of those (tdata only)
    wire [5:0] f_in, f_out, f_occ, f_pos;
    wire [D:0] f_word;
    wire f_seen;
    axis_beat_tracker #(.DATA_W(D), .CW(6)) u_track (
        .clk(clk), .rst(rst), .s_tdata(s_axis_tdata), .s_tlast(1'b0), .in_hs(in_hs),
        .m_tdata(m_axis_tdata), .m_tlast(1'b0), .out_hs(out_hs && o_inside), .f_in(f_in),
        .f_out(f_out), .f_occ(f_occ), .f_pos(f_pos), .f_word(f_word), .f_seen(f_seen));

    always @(*) if (f_past_valid && !rst) begin
        if (m_axis_tvalid) begin
            assert(m_axis_tlast == (ox == PW - 1 && oy == PH - 1));
            if (!o_inside) assert(m_axis_tdata == {D{1'b0}});
        end
        assert(s_axis_tready == (out_free && n_inside));
    end
    always @(posedge clk) if (f_past_valid && !$past(rst) && $past(out_free)) begin
        if (!$past(n_inside) && ($past(nx) != 0 || $past(ny) != 0)) assert(m_axis_tvalid);
        if ($past(s_axis_tvalid)) assert(m_axis_tvalid);
    end

    // inductive invariants: x_reg/y_reg are the next position to load; an inside beat is in flight
    // exactly while the output register holds one, and it is the tracked beat's place then
    always @(*) if (f_past_valid && !rst) begin
        assert(ox < PW && oy < PH);
        assert({{(8-X_W){1'b0}}, x_reg} == nx && {{(8-Y_W){1'b0}}, y_reg} == ny);
        assert(f_occ == {5'd0, m_valid_reg && o_inside});
        if (m_valid_reg) assert(m_last_reg == (ox == PW - 1 && oy == PH - 1));
        if (f_pos < f_occ) assert(f_seen && f_word == {1'b0, m_data_reg});
    end

    always @(*) if (f_past_valid && !rst) begin
        cover(out_hs && m_axis_tlast && f_out == IMG_W * IMG_H);
    end
    always @(posedge clk) if (f_past_valid && !rst)
        cover(out_hs && o_inside && m_axis_tdata != {D{1'b0}} && !$past(m_axis_tready));
endmodule

`default_nettype wire
