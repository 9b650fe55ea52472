// Formal properties of window2d's framing and handshakes (SymbiYosys, `make formal`; see
// docs/formal.md). The window contents (the line buffers) are checked bit-exact by simulation
// (tb/test_window2d.py, every stall pattern); here the source is assumed to follow AXI-Stream and
// asserted, from the image geometry alone (not from the module's counters):
//   handshake   m_axis tvalid held and tdata/tlast stable while tvalid && !tready; no output beat
//               in the cycle after reset
//   windows     one output beat for exactly the input pixels that complete a window (x, y >= K-1
//               and on the stride grid), in order; the window index within the image of every
//               completed window is its raster index; tlast exactly on each image's last window
//   occupancy   at most one window in flight (the output register)
//   throughput  s_axis_tready = !m_axis_tvalid || m_axis_tready (one pixel per clock unless the
//               output holds an untaken window)
// Proven for all time (k-induction; the invariants tie the position counters to the module's).
// Instantiated inside window2d under `ifdef FORMAL (`.*`).
`default_nettype none

module window2d_props #(
    parameter integer C = 1,
    parameter integer DATA_W = 8,
    parameter integer IMG_W = 28,
    parameter integer IMG_H = 28,
    parameter integer K = 7,
    parameter integer STRIDE = 1,
    parameter integer X_W = 5,
    parameter integer Y_W = 5,
    parameter integer PH_W = 1
) (
    input wire                      clk,
    input wire                      rst,
    input wire [C*DATA_W-1:0]       s_axis_tdata,
    input wire                      s_axis_tvalid,
    input wire                      s_axis_tready,
    input wire                      s_axis_tlast,
    input wire [K*K*C*DATA_W-1:0]   m_axis_tdata,
    input wire                      m_axis_tvalid,
    input wire                      m_axis_tready,
    input wire                      m_axis_tlast,
    // registers of window2d
    input wire [X_W-1:0]            x_reg,
    input wire [Y_W-1:0]            y_reg,
    input wire [PH_W-1:0]           xph_reg,
    input wire [PH_W-1:0]           yph_reg,
    input wire                      out_valid_reg,
    input wire                      out_last_reg
);
    localparam integer OW = (IMG_W - K) / STRIDE + 1;
    localparam integer OH = (IMG_H - K) / STRIDE + 1;
    localparam integer NW = OW * OH;

    wire in_hs = s_axis_tvalid && s_axis_tready;
    wire out_hs = m_axis_tvalid && m_axis_tready;

    wire f_past_valid;
    formal_start u_start (.clk(clk), .rst(rst), .f_past_valid(f_past_valid));

    axis_source_rules #(.DATA_W(C * DATA_W)) u_in (
        .clk(clk), .rst(rst), .tdata(s_axis_tdata), .tvalid(s_axis_tvalid), .tready(s_axis_tready),
        .tlast(s_axis_tlast), .f_past_valid(f_past_valid));
    axis_sink_rules #(.DATA_W(K * K * C * DATA_W)) u_out (
        .clk(clk), .rst(rst), .tdata(m_axis_tdata), .tvalid(m_axis_tvalid), .tready(m_axis_tready),
        .tlast(m_axis_tlast), .f_past_valid(f_past_valid));

    // position of the next input pixel; does it complete a window, and which (raster index)?
    reg [7:0] ix = 8'd0, iy = 8'd0;
    always @(posedge clk)
        if (rst) begin
            ix <= 8'd0;
            iy <= 8'd0;
        end else if (in_hs) begin
            ix <= (ix == IMG_W - 1) ? 8'd0 : ix + 8'd1;
            iy <= (ix != IMG_W - 1) ? iy : (iy == IMG_H - 1) ? 8'd0 : iy + 8'd1;
        end
    wire completes = ix >= K - 1 && iy >= K - 1 && (ix - (K - 1)) % STRIDE == 0
                     && (iy - (K - 1)) % STRIDE == 0;
    wire [7:0] windex = ((iy - (K - 1)) / STRIDE) * OW + (ix - (K - 1)) / STRIDE;
    // windows of this image completed before the pixel (ix, iy): whole window rows completed in
    // earlier rows, then those of this row left of ix (when this row completes windows)
    wire [7:0] rows_before = (iy > K - 1) ? (iy - K) / STRIDE + 1 : 0;
    wire [7:0] cols_before = (ix > K - 1) ? (ix - K) / STRIDE + 1 : 0;
    wire row_completes = iy >= K - 1 && (iy - (K - 1)) % STRIDE == 0;
    wire [7:0] before = rows_before * OW + (row_completes ? cols_before : 8'd0);

    // windows completed and delivered since reset (within the image: mod NW)
    reg [7:0] f_done = 8'd0, f_w = 8'd0;
    reg f_occ = 1'b0;
    always @(posedge clk)
        if (rst) begin
            f_done <= 8'd0;
            f_w <= 8'd0;
            f_occ <= 1'b0;
        end else begin
            if (in_hs && completes) f_done <= (f_done == NW - 1) ? 8'd0 : f_done + 8'd1;
            if (out_hs) f_w <= (f_w == NW - 1) ? 8'd0 : f_w + 8'd1;
            if (in_hs && completes) f_occ <= 1'b1;
            else if (out_hs) f_occ <= 1'b0;
        end

    always @(*) if (f_past_valid && !rst) begin
        assert(s_axis_tready == (!m_axis_tvalid || m_axis_tready));
        assert(m_axis_tvalid == f_occ);
        if (in_hs && completes) assert(windex == f_done);
        if (m_axis_tvalid) assert(m_axis_tlast == (f_w == NW - 1));
    end

    // inductive invariants: the module's counters are the pixel position and its stride phases
    always @(*) if (f_past_valid && !rst) begin
        assert(ix < IMG_W && iy < IMG_H && f_done < NW && f_w < NW);
        assert({{(8-X_W){1'b0}}, x_reg} == ix && {{(8-Y_W){1'b0}}, y_reg} == iy);
        assert(xph_reg == (ix + STRIDE * 8 - (K - 1)) % STRIDE);
        assert(yph_reg == (iy + STRIDE * 8 - (K - 1)) % STRIDE);
        assert(f_done == (f_occ ? ((f_w == NW - 1) ? 8'd0 : f_w + 8'd1) : f_w));
        assert(f_done == ((before == NW) ? 8'd0 : before));
        if (out_valid_reg) assert(out_last_reg == (f_w == NW - 1));
    end

    // not vacuous: two whole images get through, the output stalled on the way
    reg [1:0] f_images = 2'd0;
    always @(posedge clk)
        if (rst) f_images <= 2'd0;
        else if (out_hs && m_axis_tlast && f_images != 2'd3) f_images <= f_images + 2'd1;
    always @(posedge clk) if (f_past_valid && !rst)
        cover(f_images == 2'd2 && $past(m_axis_tvalid && !m_axis_tready));
endmodule

`default_nettype wire
