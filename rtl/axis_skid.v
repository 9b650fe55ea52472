// axis_skid: AXI-Stream register slice (skid buffer) that breaks the tvalid/tdata and tready paths.
//
// Parameters
//   DATA_W  width of tdata in bits (>= 1); tlast travels with the data.
//
// Latency and throughput
//   1 cycle from s_axis to m_axis; one beat per clock when not stalled (full throughput).
//   s_axis_tready is a register (no combinational path from m_axis_tready to s_axis_tready);
//   a second (skid) register catches the beat accepted in the cycle m_axis_tready drops.
//
// Stream order
//   Beats leave in the order they arrive, unchanged (tdata and tlast).
`default_nettype none

module axis_skid #(
    // width of tdata in bits
    parameter integer DATA_W = 8
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

initial begin
    if (DATA_W < 1) $error("axis_skid: DATA_W must be >= 1, got %0d", DATA_W);
end

// output register and skid (temporary) register
reg [DATA_W-1:0] m_data_reg;
reg              m_last_reg;
reg              m_valid_reg;
reg              m_valid_next;
reg [DATA_W-1:0] temp_data_reg;
reg              temp_last_reg;
reg              temp_valid_reg;
reg              temp_valid_next;
reg              s_ready_reg;

reg store_input_to_output;
reg store_input_to_temp;
reg store_temp_to_output;

// ready next cycle if the output will be free, or the skid register is empty and will stay so
wire s_ready_early = m_axis_tready || (!temp_valid_reg && (!m_valid_reg || !s_axis_tvalid));

assign s_axis_tready = s_ready_reg;
assign m_axis_tdata  = m_data_reg;
assign m_axis_tvalid = m_valid_reg;
assign m_axis_tlast  = m_last_reg;

always @* begin
    m_valid_next          = m_valid_reg;
    temp_valid_next       = temp_valid_reg;
    store_input_to_output = 1'b0;
    store_input_to_temp   = 1'b0;
    store_temp_to_output  = 1'b0;

    if (s_ready_reg) begin
        // input side is open: the beat goes to the output or, if that is blocked, to the skid register
        if (m_axis_tready || !m_valid_reg) begin
            m_valid_next          = s_axis_tvalid;
            store_input_to_output = 1'b1;
        end else begin
            temp_valid_next       = s_axis_tvalid;
            store_input_to_temp   = 1'b1;
        end
    end else if (m_axis_tready) begin
        // input side is closed: drain the skid register into the output
        m_valid_next         = temp_valid_reg;
        temp_valid_next      = 1'b0;
        store_temp_to_output = 1'b1;
    end
end

// control registers (reset)
always @(posedge clk) begin
    if (rst) begin
        m_valid_reg    <= 1'b0;
        temp_valid_reg <= 1'b0;
        s_ready_reg    <= 1'b0;
    end else begin
        m_valid_reg    <= m_valid_next;
        temp_valid_reg <= temp_valid_next;
        s_ready_reg    <= s_ready_early;
    end
end

// data registers (no reset)
always @(posedge clk) begin
    if (store_input_to_output) begin
        m_data_reg <= s_axis_tdata;
        m_last_reg <= s_axis_tlast;
    end else if (store_temp_to_output) begin
        m_data_reg <= temp_data_reg;
        m_last_reg <= temp_last_reg;
    end
    if (store_input_to_temp) begin
        temp_data_reg <= s_axis_tdata;
        temp_last_reg <= s_axis_tlast;
    end
end

`ifdef FORMAL
// formal properties (SymbiYosys, `make formal`): formal/axis_skid.sv
axis_skid_props #(.DATA_W(DATA_W)) u_props (.*);
`endif

endmodule

`default_nettype wire
