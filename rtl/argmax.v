// argmax: index of the first maximum of N signed lanes, forwarded with the lanes (= golden.argmax).
//
// Parameters
//   N       number of input lanes, >= 1
//   DATA_W  signed input lane width, 2..32
//   PIPE    0: the comparison tree in one cycle; 1: a register after every level of the tree
//           (for a fast clock: one DATA_W-bit comparison and mux per cycle)
//
// Function
//   Index of the first maximum (= golden.argmax: ties go to the lowest index), found by a balanced
//   binary comparison tree ceil(log2(N)) levels deep instead of a chain of N-1 comparators.
//   Level 0 holds the lanes; node j of level L covers lanes [j*2^L, (j+1)*2^L) and keeps its left
//   (lower-index) child unless the right child is strictly greater, so the first maximum wins.
//   A node without a right child (N not a power of two) passes its left child through.
//
// Latency and throughput
//   PIPE = 0 (or N <= 2): 1 cycle (combinational comparison tree, registered output). PIPE = 1:
//   ceil(log2(N)) cycles, levels 1..ceil(log2(N))-1 in stage registers (with the lanes and tlast),
//   the root in the output register. One beat per clock when not stalled; every stage loads when
//   it is empty or the stage after it loads, so bubbles are squeezed out under backpressure
//   (s_axis_tready depends combinationally on m_axis_tready through the stages).
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
    parameter integer DATA_W = 32,
    // 1: a register after every comparison level (latency ceil(log2(N)))
    parameter integer PIPE = 0
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
// register stages from input to output; the last one is the output register
localparam integer STAGES = (PIPE != 0 && LEVELS > 1) ? LEVELS : 1;

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
    if (PIPE != 0 && PIPE != 1) $error("argmax: PIPE must be 0 or 1, got %0d", PIPE);
end

reg [IDX_W-1:0]        idx_reg;
reg [N*32-1:0]         lanes_reg;
reg                    m_valid_reg;
reg                    m_last_reg;

// stage k = 1..STAGES loads on st_en[k] (stage STAGES = the output register); for k < STAGES,
// st_valid[k] is its valid and its lanes and tlast are st_lanes[k*N*DATA_W +: N*DATA_W] and
// st_last[k]; stage 0 is the input
wire [STAGES:1]              st_en;
wire [STAGES-1:0]            st_valid;
wire [STAGES*N*DATA_W-1:0]   st_lanes;
wire [STAGES-1:0]            st_last;

wire out_en = st_en[STAGES];
assign st_en[STAGES]    = !m_valid_reg || m_axis_tready;
assign st_valid[0]      = s_axis_tvalid;
assign st_lanes[N*DATA_W-1:0] = s_axis_tdata;
assign st_last[0]       = s_axis_tlast;

assign s_axis_tready = st_en[1];
assign m_axis_tdata  = {lanes_reg, {(32-IDX_W){1'b0}}, idx_reg};
assign m_axis_tvalid = m_valid_reg;
assign m_axis_tlast  = m_last_reg;

genvar gk;
generate
    for (gk = 1; gk < STAGES; gk = gk + 1) begin : g_stage
        reg                v_reg;
        reg                last_reg;
        reg [N*DATA_W-1:0] lanes_q;

        assign st_en[gk]    = !v_reg || st_en[gk+1];
        assign st_valid[gk] = v_reg;
        assign st_last[gk]  = last_reg;
        assign st_lanes[gk*N*DATA_W +: N*DATA_W] = lanes_q;

        always @(posedge clk) begin
            if (st_en[gk]) begin
                lanes_q  <= st_lanes[(gk-1)*N*DATA_W +: N*DATA_W];
                last_reg <= st_last[gk-1];
            end
        end

        always @(posedge clk) begin
            if (rst) begin
                v_reg <= 1'b0;
            end else if (st_en[gk]) begin
                v_reg <= st_valid[gk-1];
            end
        end
    end
endgenerate

// first maximum: balanced comparison tree, the right child wins only if strictly greater
wire [IDX_W-1:0] best_idx;

genvar gl, gn;
generate
    if (N == 1) begin : g_single
        assign best_idx = {IDX_W{1'b0}};
    end else begin : g_tree
        // comparator outputs of levels 1..LEVELS (node_val: levels up to LEVELS-1; the root's value
        // is not needed) and what the next level reads as level l (lvl_*: level 0 = the lanes;
        // level l >= 1 = node_* of level l, through stage register l when PIPE), flattened level
        // after level: node j of level l at nodes_below(l) + j
        wire [nodes_below(LEVELS)*DATA_W-1:0]  node_val, lvl_val;
        wire [nodes_below(LEVELS+1)*IDX_W-1:0] node_idx;
        wire [nodes_below(LEVELS)*IDX_W-1:0]   lvl_idx;

        assign node_val[N*DATA_W-1:0] = s_axis_tdata;
        assign lvl_val[N*DATA_W-1:0]  = node_val[N*DATA_W-1:0];
        assign lvl_idx[N*IDX_W-1:0]   = node_idx[N*IDX_W-1:0];
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
                wire signed [DATA_W-1:0] left_val = lvl_val[(CBASE+2*gn)*DATA_W +: DATA_W];
                wire        [IDX_W-1:0]  left_idx = lvl_idx[(CBASE+2*gn)*IDX_W +: IDX_W];
                wire signed [DATA_W-1:0] right_val;
                wire        [IDX_W-1:0]  right_idx;
                wire                     take_right;

                if (2*gn + 1 < CNODES) begin : g_pair
                    assign right_val  = lvl_val[(CBASE+2*gn+1)*DATA_W +: DATA_W];
                    assign right_idx  = lvl_idx[(CBASE+2*gn+1)*IDX_W +: IDX_W];
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

            if (gl < LEVELS && STAGES > 1) begin : g_reg
                // stage register gl holds this level's nodes
                reg [NODES*DATA_W-1:0] val_q;
                reg [NODES*IDX_W-1:0]  idx_q;
                always @(posedge clk) begin
                    if (st_en[gl]) begin
                        val_q <= node_val[BASE*DATA_W +: NODES*DATA_W];
                        idx_q <= node_idx[BASE*IDX_W +: NODES*IDX_W];
                    end
                end
                assign lvl_val[BASE*DATA_W +: NODES*DATA_W] = val_q;
                assign lvl_idx[BASE*IDX_W +: NODES*IDX_W]   = idx_q;
            end else if (gl < LEVELS) begin : g_comb
                assign lvl_val[BASE*DATA_W +: NODES*DATA_W] = node_val[BASE*DATA_W +: NODES*DATA_W];
                assign lvl_idx[BASE*IDX_W +: NODES*IDX_W]   = node_idx[BASE*IDX_W +: NODES*IDX_W];
            end
        end
    end
endgenerate

genvar gi;
generate
    for (gi = 0; gi < N; gi = gi + 1) begin : g_lane
        wire [DATA_W-1:0] v = st_lanes[((STAGES-1)*N+gi)*DATA_W +: DATA_W];
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
        m_last_reg <= st_last[STAGES-1];
    end
end

always @(posedge clk) begin
    if (rst) begin
        m_valid_reg <= 1'b0;
    end else if (out_en) begin
        m_valid_reg <= st_valid[STAGES-1];
    end
end

endmodule

`default_nettype wire
