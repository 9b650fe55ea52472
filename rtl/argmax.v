// argmax: index of the first maximum of N signed lanes, forwarded with the lanes (= golden.argmax).
//
// Parameters
//   N       number of input lanes, >= 1
//   DATA_W  signed input lane width, 2..32
//
// Function
//   Index of the first maximum (= golden.argmax: ties go to the lowest index), found by a balanced
//   binary comparison tree ceil(log2(N)) levels deep instead of a chain of N-1 comparators.
//   Level 0 holds the lanes; node j of level L covers lanes [j*2^L, (j+1)*2^L) and keeps its left
//   (lower-index) child unless the right child is strictly greater, so the first maximum wins.
//   A node without a right child (N not a power of two) passes its left child through.
//
// Latency and throughput
//   1 cycle (combinational comparison tree, registered output); one beat per clock when not stalled.
//   The output register advances when it is empty or m_axis_tready is high (s_axis_tready depends
//   combinationally on m_axis_tready).
//
// Stream order
//   One beat in, one beat out. Input lane i at [i*DATA_W +: DATA_W]. Output lanes of 32 bits:
//   lane 0 = index of the first maximum (ties go to the lowest index, zero-extended),
//   lane 1+i = input lane i sign-extended to 32 bits. tlast passes through with its beat.
`default_nettype none

module argmax #(
    // number of input lanes
    parameter integer N = 10,
    // signed input lane width
    parameter integer DATA_W = 32
) (
    input  wire                clk,
    input  wire                rst,

    // AXI-Stream input: N signed values
    input  wire [N*DATA_W-1:0] s_axis_tdata,
    input  wire                s_axis_tvalid,
    output wire                s_axis_tready,
    input  wire                s_axis_tlast,

    // AXI-Stream output: index, then the N values
    output wire [(N+1)*32-1:0] m_axis_tdata,
    output wire                m_axis_tvalid,
    input  wire                m_axis_tready,
    output wire                m_axis_tlast
);

localparam integer IDX_W  = (N > 1) ? $clog2(N) : 1;
// tree depth: levels 1..LEVELS hold comparators, level LEVELS is the root
localparam integer LEVELS = (N > 1) ? $clog2(N) : 0;

// number of tree nodes in levels 0..lv-1 (level l has ceil(N / 2^l) nodes)
function integer nodes_below;
    input integer lv;
    integer l;
    begin
        nodes_below = 0;
        for (l = 0; l < lv; l = l + 1) begin
            nodes_below = nodes_below + ((N + (1 << l) - 1) >> l);
        end
    end
endfunction

initial begin
    if (N < 1) $error("argmax: N must be >= 1, got %0d", N);
    if (DATA_W < 2 || DATA_W > 32) $error("argmax: DATA_W must be 2..32, got %0d", DATA_W);
end

reg [IDX_W-1:0]        idx_reg;
reg [N*32-1:0]         lanes_reg;
reg                    m_valid_reg;
reg                    m_last_reg;

wire out_en = !m_valid_reg || m_axis_tready;

assign s_axis_tready = out_en;
assign m_axis_tdata  = {lanes_reg, {(32-IDX_W){1'b0}}, idx_reg};
assign m_axis_tvalid = m_valid_reg;
assign m_axis_tlast  = m_last_reg;

// first maximum: balanced comparison tree, the right child wins only if strictly greater
wire [IDX_W-1:0] best_idx;

genvar gl, gn;
generate
    if (N == 1) begin : g_single
        assign best_idx = {IDX_W{1'b0}};
    end else begin : g_tree
        // node values of levels 0..LEVELS-1 (the root's value is not needed) and node indexes of
        // levels 0..LEVELS, flattened level after level; node j of level l at nodes_below(l) + j
        wire [nodes_below(LEVELS)*DATA_W-1:0]  node_val;
        wire [nodes_below(LEVELS+1)*IDX_W-1:0] node_idx;

        assign node_val[N*DATA_W-1:0] = s_axis_tdata;
        assign best_idx = node_idx[nodes_below(LEVELS)*IDX_W +: IDX_W];

        for (gn = 0; gn < N; gn = gn + 1) begin : g_leaf
            localparam [IDX_W-1:0] LEAF_IDX = gn;
            assign node_idx[gn*IDX_W +: IDX_W] = LEAF_IDX;
        end

        for (gl = 1; gl <= LEVELS; gl = gl + 1) begin : g_level
            // children at level gl-1, this level's nodes
            localparam integer CBASE  = nodes_below(gl - 1);
            localparam integer CNODES = nodes_below(gl) - CBASE;
            localparam integer BASE   = nodes_below(gl);
            localparam integer NODES  = nodes_below(gl + 1) - BASE;

            for (gn = 0; gn < NODES; gn = gn + 1) begin : g_node
                wire signed [DATA_W-1:0] left_val = node_val[(CBASE+2*gn)*DATA_W +: DATA_W];
                wire        [IDX_W-1:0]  left_idx = node_idx[(CBASE+2*gn)*IDX_W +: IDX_W];
                wire signed [DATA_W-1:0] right_val;
                wire        [IDX_W-1:0]  right_idx;
                wire                     take_right;

                if (2*gn + 1 < CNODES) begin : g_pair
                    assign right_val  = node_val[(CBASE+2*gn+1)*DATA_W +: DATA_W];
                    assign right_idx  = node_idx[(CBASE+2*gn+1)*IDX_W +: IDX_W];
                    assign take_right = (right_val > left_val);
                end else begin : g_pass
                    assign right_val  = left_val;
                    assign right_idx  = left_idx;
                    assign take_right = 1'b0;
                end

                assign node_idx[(BASE+gn)*IDX_W +: IDX_W] = take_right ? right_idx : left_idx;
                if (gl < LEVELS) begin : g_keep
                    assign node_val[(BASE+gn)*DATA_W +: DATA_W] = take_right ? right_val : left_val;
                end
            end
        end
    end
endgenerate

genvar gi;
generate
    for (gi = 0; gi < N; gi = gi + 1) begin : g_lane
        wire [DATA_W-1:0] v = s_axis_tdata[gi*DATA_W +: DATA_W];
        always @(posedge clk) begin
            if (out_en) begin
                lanes_reg[gi*32 +: 32] <= {{(32-DATA_W+1){v[DATA_W-1]}}, v[DATA_W-2:0]};
            end
        end
    end
endgenerate

always @(posedge clk) begin
    if (out_en) begin
        idx_reg    <= best_idx;
        m_last_reg <= s_axis_tlast;
    end
end

always @(posedge clk) begin
    if (rst) begin
        m_valid_reg <= 1'b0;
    end else if (out_en) begin
        m_valid_reg <= s_axis_tvalid;
    end
end

endmodule

`default_nettype wire
