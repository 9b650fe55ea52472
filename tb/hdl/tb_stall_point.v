// tb_stall_point: a random stall point on one internal stream of a generated top (testbench code,
// tb/hdl/; not part of the accelerator). A generated top instantiates one on every internal stream
// when built with `define INT8CNN_STALL_POINTS (int8cnn.generate; `make` never defines it for
// synthesis); without the define the top connects producer and consumer directly.
//
// Between producer (s_axis) and consumer (m_axis) it holds up to two beats and, from a xorshift32
// LFSR seeded with SEED (0 becomes 1) that steps every cycle:
//   idle          withholds a held beat from the consumer: m_axis_tvalid stays low with
//                 probability IDLE_P/256 in a cycle, unless the beat was already shown (tvalid is
//                 never withdrawn, tdata/tlast are stable while shown)
//   backpressure  refuses the producer: s_axis_tready low with probability BP_P/256 in a cycle,
//                 and in bursts of 0..31 cycles that start with probability 1/64 in a cycle
//   frame start   the first beat of every frame is withheld for at least one cycle, so that a
//                 stream of one beat per image (the logits, the result) is stalled too
// Without a pause it passes one beat per clock (two registers; one cycle of latency). Values,
// order and tlast are unchanged: a network with stall points computes what it computes without.
// Counters: `beats` (beats passed on) and `stalled` (cycles in which a pause held the stream: the
// producer offered a beat the buffer had room for, or a held beat was hidden). After every beat
// with tlast, "<beats> <stalled>" is appended to the file <NAME>.stall (the top-level tests read
// the last line: every internal stream must have been stalled in >= 10% of its cycles).
`default_nettype none

module tb_stall_point #(
    parameter integer DATA_W = 8,
    parameter [31:0]  SEED = 32'd1,
    parameter integer IDLE_P = 64,
    parameter integer BP_P = 64,
    parameter         NAME = "stream"
) (
    input  wire              clk,
    input  wire              rst,

    input  wire [DATA_W-1:0] s_axis_tdata,
    input  wire              s_axis_tvalid,
    output wire              s_axis_tready,
    input  wire              s_axis_tlast,

    output wire [DATA_W-1:0] m_axis_tdata,
    output wire              m_axis_tvalid,
    input  wire              m_axis_tready,
    output wire              m_axis_tlast
);

    initial begin
        if (DATA_W < 1) $error("tb_stall_point: DATA_W %0d must be >= 1", DATA_W);
        if (IDLE_P < 0 || IDLE_P > 255) $error("tb_stall_point: IDLE_P %0d must be 0..255", IDLE_P);
        if (BP_P < 0 || BP_P > 255) $error("tb_stall_point: BP_P %0d must be 0..255", BP_P);
    end

    localparam [7:0] IDLE_T = IDLE_P[7:0];
    localparam [7:0] BP_T = BP_P[7:0];

`include "xorshift32.vh"

    reg [DATA_W:0] head_reg, tail_reg;   // {tlast, tdata}; head_reg is shown to the consumer
    reg [1:0]      count_reg;
    reg            shown_reg;            // the head was shown and not taken: keep it shown
    reg [31:0]     s_reg;
    reg [4:0]      burst_reg;
    reg            frame_start_reg;      // the head is the first beat of a frame
    reg            waited_reg;           // the head has been held for a cycle
    reg [31:0]     beats, stalled;

    wire idle = s_reg[7:0] < IDLE_T;
    wire bp = (s_reg[15:8] < BP_T) || (burst_reg != 5'd0);

    assign s_axis_tready = (count_reg != 2'd2) && !bp;
    assign m_axis_tvalid = (count_reg != 2'd0)
                        && (shown_reg || (!idle && !(frame_start_reg && !waited_reg)));
    assign {m_axis_tlast, m_axis_tdata} = head_reg;

    wire s_fire = s_axis_tvalid && s_axis_tready;
    wire m_fire = m_axis_tvalid && m_axis_tready;
    wire held = (s_axis_tvalid && (count_reg != 2'd2) && bp)
             || ((count_reg != 2'd0) && !m_axis_tvalid);
    wire [DATA_W:0] in_word = {s_axis_tlast, s_axis_tdata};

    integer fd;
    initial fd = $fopen({NAME, ".stall"}, "w");

    always @(posedge clk) begin
        if (rst) begin
            count_reg <= 2'd0;
            shown_reg <= 1'b0;
            s_reg <= (SEED == 32'd0) ? 32'd1 : SEED;
            burst_reg <= 5'd0;
            frame_start_reg <= 1'b1;
            waited_reg <= 1'b0;
            beats <= 32'd0;
            stalled <= 32'd0;
        end else begin
            s_reg <= xorshift32(s_reg);
            burst_reg <= (burst_reg != 5'd0) ? burst_reg - 5'd1
                       : (s_reg[29:24] == 6'd0) ? s_reg[20:16] : 5'd0;
            shown_reg <= m_axis_tvalid && !m_axis_tready;
            if (m_fire) begin
                frame_start_reg <= m_axis_tlast;
                waited_reg <= 1'b0;
            end else if (count_reg != 2'd0) begin
                waited_reg <= 1'b1;
            end
            if (held) stalled <= stalled + 32'd1;
            if (m_fire) begin
                beats <= beats + 32'd1;
                if (m_axis_tlast) begin
                    $fwrite(fd, "%0d %0d\n", beats + 32'd1, stalled + {31'd0, held});
                    $fflush(fd);
                end
            end
            case ({s_fire, m_fire})
                2'b10: begin
                    if (count_reg == 2'd0) head_reg <= in_word;
                    else tail_reg <= in_word;
                    count_reg <= count_reg + 2'd1;
                end
                2'b01: begin
                    head_reg <= tail_reg;
                    count_reg <= count_reg - 2'd1;
                end
                2'b11: begin
                    if (count_reg == 2'd1) begin
                        head_reg <= in_word;
                    end else begin
                        head_reg <= tail_reg;
                        tail_reg <= in_word;
                    end
                end
                default: ;
            endcase
        end
    end

endmodule

`default_nettype wire
