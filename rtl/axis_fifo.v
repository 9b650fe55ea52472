// axis_fifo: synchronous AXI-Stream FIFO (one clock) with a registered output.
//
// Parameters
//   DATA_W  width of tdata in bits (>= 1); tlast is stored with each beat.
//   DEPTH   number of RAM entries, a power of two >= 2. The registered output stage holds one more
//           beat, so up to DEPTH+1 beats can be in flight.
//
// Latency and throughput
//   2 cycles from an accepted input beat to m_axis_tvalid (RAM write, then synchronous RAM read into
//   the output register); one beat per clock in and out when not stalled (full throughput).
//   s_axis_tready = not full (registered pointers, no path from m_axis_tready).
//
// Stream order
//   First in, first out; tdata and tlast unchanged.
`default_nettype none

module axis_fifo #(
    // width of tdata in bits
    parameter integer DATA_W = 8,
    // RAM depth in beats, power of two >= 2
    parameter integer DEPTH = 16
) (
    input  wire              clk,
    input  wire              rst,

    // AXI-Stream input
    input  wire [DATA_W-1:0] s_axis_tdata,
    input  wire              s_axis_tvalid,
    output wire              s_axis_tready,
    input  wire              s_axis_tlast,

    // AXI-Stream output
    output wire [DATA_W-1:0] m_axis_tdata,
    output wire              m_axis_tvalid,
    input  wire              m_axis_tready,
    output wire              m_axis_tlast
);

localparam integer ADDR_W = (DEPTH > 1) ? $clog2(DEPTH) : 1;
localparam integer WORD_W = DATA_W + 1;  // tlast in the MSB

initial begin
    if (DATA_W < 1) $error("axis_fifo: DATA_W must be >= 1, got %0d", DATA_W);
    if (DEPTH < 2 || (DEPTH & (DEPTH - 1)) != 0)
        $error("axis_fifo: DEPTH must be a power of two >= 2, got %0d", DEPTH);
end

reg [WORD_W-1:0] mem [0:DEPTH-1];

// pointers carry one extra wrap bit to tell full from empty
reg [ADDR_W:0] wr_ptr_reg;
reg [ADDR_W:0] rd_ptr_reg;

reg [WORD_W-1:0] m_word_reg;
reg              m_valid_reg;

wire full  = (wr_ptr_reg == {~rd_ptr_reg[ADDR_W], rd_ptr_reg[ADDR_W-1:0]});
wire empty = (wr_ptr_reg == rd_ptr_reg);

wire do_write = s_axis_tvalid && !full;
// refill the output register whenever it is empty or being emptied this cycle
wire do_read  = !empty && (!m_valid_reg || m_axis_tready);

assign s_axis_tready = !full;
assign m_axis_tdata  = m_word_reg[DATA_W-1:0];
assign m_axis_tlast  = m_word_reg[DATA_W];
assign m_axis_tvalid = m_valid_reg;

// RAM write port and synchronous read port (no reset)
always @(posedge clk) begin
    if (do_write) begin
        mem[wr_ptr_reg[ADDR_W-1:0]] <= {s_axis_tlast, s_axis_tdata};
    end
    if (do_read) begin
        m_word_reg <= mem[rd_ptr_reg[ADDR_W-1:0]];
    end
end

// control registers
always @(posedge clk) begin
    if (rst) begin
        wr_ptr_reg  <= {(ADDR_W+1){1'b0}};
        rd_ptr_reg  <= {(ADDR_W+1){1'b0}};
        m_valid_reg <= 1'b0;
    end else begin
        if (do_write) begin
            wr_ptr_reg <= wr_ptr_reg + 1'b1;
        end
        if (do_read) begin
            rd_ptr_reg  <= rd_ptr_reg + 1'b1;
            m_valid_reg <= 1'b1;
        end else if (m_axis_tready) begin
            m_valid_reg <= 1'b0;
        end
    end
end

`ifdef FORMAL
// formal properties (SymbiYosys, `make formal`): formal/axis_fifo.sv; it reads one RAM word
wire [ADDR_W-1:0] f_addr;
wire [WORD_W-1:0] f_mem_word = mem[f_addr];
axis_fifo_props #(.DATA_W(DATA_W), .DEPTH(DEPTH), .ADDR_W(ADDR_W), .WORD_W(WORD_W)) u_props (.*);
`endif

endmodule

`default_nettype wire
