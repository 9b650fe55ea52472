// xorshift32 (x ^= x << 13; x ^= x >> 17; x ^= x << 5): the LFSR step of the testbench's stall
// generators (tb_stall.v, tb_stall_point.v; tb/stalls.py models it). Included inside a module.
    function [31:0] xorshift32(input [31:0] x);
        reg [31:0] y;
        begin
            y = x ^ (x << 13);
            y = y ^ (y >> 17);
            xorshift32 = y ^ (y << 5);
        end
    endfunction
