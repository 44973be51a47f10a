`ifndef VERILATOR
module testbench;
  reg [4095:0] vcdfile;
  reg clock;
`else
module testbench(input clock, output reg genclock);
  initial genclock = 1;
`endif
  reg genclock = 1;
  reg [31:0] cycle = 0;
  reg [15:0] PI_f_masks;
  reg [0:0] PI_win_valid_i;
  reg [0:0] PI_rst_ni;
  reg [7:0] PI_window_i;
  reg [0:0] PI_clk_i;
  reg [15:0] PI_f_base;
  sparse_detector UUT (
    .f_masks(PI_f_masks),
    .win_valid_i(PI_win_valid_i),
    .rst_ni(PI_rst_ni),
    .window_i(PI_window_i),
    .clk_i(PI_clk_i),
    .f_base(PI_f_base)
  );
`ifndef VERILATOR
  initial begin
    if ($value$plusargs("vcd=%s", vcdfile)) begin
      $dumpfile(vcdfile);
      $dumpvars(0, testbench);
    end
    #5 clock = 0;
    while (genclock) begin
      #5 clock = 0;
      #5 clock = 1;
    end
  end
`endif
  initial begin
`ifndef VERILATOR
    #1;
`endif
    UUT.active_q = 1'b0;
    UUT.base_q = 2'b00;
    UUT.done_d1_q = 1'b0;
    UUT.done_o = 1'b0;
    UUT.f_base_q = 16'b0000000000000000;
    UUT.f_init = 1'b1;
    UUT.f_loaded_q = 4'b0101;
    UUT.f_masks_q = 16'b0010010000001000;
    UUT.f_win_q = 8'b10000000;
    UUT.f_word_rd_q = 1'b0;
    UUT.g_theta.u_th.data_o = 8'b00000000;
    UUT.grp_q = 2'b01;
    UUT.mask_q = 4'b0100;
    UUT.mask_rom = 8'b00000000;
    UUT.open_q = 1'b1;
    UUT.pend_q = 2'b01;
    UUT.ptr_rom = 8'b00001100;
    UUT.res_acc_o = 32'b00000000000000000000000000000000;
    UUT.res_group_o = 2'b00;
    UUT.res_valid_o = 1'b0;
    UUT.tok_grp_q = 2'b10;
    UUT.tok_l_q = 1'b0;
    UUT.tok_last_q = 1'b0;
    UUT.tok_pair_q = 1'b0;
    UUT.tok_valid_q = 1'b0;
    UUT.u_bias.data_o = 8'b00010000;
    UUT.u_wt.data_o = 4'b0000;
    UUT.vec_q = 8'b11001101;
    UUT.win_q = 8'b00000000;
    UUT.wmask_q = 8'b00100100;
    UUT.word_q = 1'b0;
    UUT.acc_q[1'b0] = 16'b0000000000000000;
    UUT.acc_q[1'b1] = 16'b0000000000000000;
    UUT.g_theta.u_th.mem[2'b10] = 8'b00001000;
    UUT.g_theta.u_th.mem[2'b00] = 8'b00001000;
    UUT.u_bias.mem[2'b10] = 8'b00000001;
    UUT.u_bias.mem[2'b00] = 8'b00000000;
    UUT.u_wt.mem[4'b1100] = 4'b0000;
    UUT.u_wt.mem[4'b0000] = 4'b0000;
    UUT.u_wt.mem[4'b0001] = 4'b0000;

    // state 0
    PI_f_masks = 16'b0010010000001000;
    PI_win_valid_i = 1'b1;
    PI_rst_ni = 1'b0;
    PI_window_i = 8'b00010000;
    PI_clk_i = 1'b0;
    PI_f_base = 16'b0000000000000000;
  end
  always @(posedge clock) begin
    // state 1
    if (cycle == 0) begin
      PI_f_masks <= 16'b0010010000001000;
      PI_win_valid_i <= 1'b1;
      PI_rst_ni <= 1'b1;
      PI_window_i <= 8'b00101110;
      PI_clk_i <= 1'b0;
      PI_f_base <= 16'b0000000000000000;
    end

    // state 2
    if (cycle == 1) begin
      PI_f_masks <= 16'b0010010000001000;
      PI_win_valid_i <= 1'b0;
      PI_rst_ni <= 1'b1;
      PI_window_i <= 8'b00000000;
      PI_clk_i <= 1'b0;
      PI_f_base <= 16'b0000000000000000;
    end

    // state 3
    if (cycle == 2) begin
      PI_f_masks <= 16'b0010010000001000;
      PI_win_valid_i <= 1'b0;
      PI_rst_ni <= 1'b1;
      PI_window_i <= 8'b00000000;
      PI_clk_i <= 1'b0;
      PI_f_base <= 16'b0000000000000000;
    end

    // state 4
    if (cycle == 3) begin
      PI_f_masks <= 16'b0010010000001000;
      PI_win_valid_i <= 1'b0;
      PI_rst_ni <= 1'b1;
      PI_window_i <= 8'b10000000;
      PI_clk_i <= 1'b0;
      PI_f_base <= 16'b0000000000000000;
    end

    genclock <= cycle < 4;
    cycle <= cycle + 1;
  end
endmodule
