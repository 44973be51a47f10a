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
  reg [0:0] PI_in_valid_i;
  reg [0:0] PI_clk_i;
  reg [0:0] PI_out_ready_i;
  reg [3:0] PI_in_data_i;
  reg [0:0] PI_rst_ni;
  stream_fifo UUT (
    .in_valid_i(PI_in_valid_i),
    .clk_i(PI_clk_i),
    .out_ready_i(PI_out_ready_i),
    .in_data_i(PI_in_data_i),
    .rst_ni(PI_rst_ni)
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
    UUT.cnt_q = 2'b00;
    UUT.f_data_q = 4'b0000;
    UUT.f_in_seq_q = 4'b1000;
    UUT.f_init = 1'b0;
    UUT.f_out_seq_q = 4'b1000;
    UUT.f_stall_q = 1'b0;
    UUT.rd_q = 1'b0;
    UUT.wr_q = 1'b0;
    UUT.mem[1'b0] = 4'b1000;
    UUT.mem[1'b1] = 4'b1001;

    // state 0
    PI_in_valid_i = 1'b0;
    PI_clk_i = 1'b0;
    PI_out_ready_i = 1'b0;
    PI_in_data_i = 4'b0000;
    PI_rst_ni = 1'b1;
  end
  always @(posedge clock) begin
    // state 1
    if (cycle == 0) begin
      PI_in_valid_i <= 1'b0;
      PI_clk_i <= 1'b0;
      PI_out_ready_i <= 1'b0;
      PI_in_data_i <= 4'b0000;
      PI_rst_ni <= 1'b1;
    end

    // state 2
    if (cycle == 1) begin
      PI_in_valid_i <= 1'b0;
      PI_clk_i <= 1'b0;
      PI_out_ready_i <= 1'b0;
      PI_in_data_i <= 4'b0000;
      PI_rst_ni <= 1'b1;
    end

    // state 3
    if (cycle == 2) begin
      PI_in_valid_i <= 1'b0;
      PI_clk_i <= 1'b0;
      PI_out_ready_i <= 1'b0;
      PI_in_data_i <= 4'b0000;
      PI_rst_ni <= 1'b1;
    end

    // state 4
    if (cycle == 3) begin
      PI_in_valid_i <= 1'b0;
      PI_clk_i <= 1'b0;
      PI_out_ready_i <= 1'b0;
      PI_in_data_i <= 4'b0000;
      PI_rst_ni <= 1'b1;
    end

    // state 5
    if (cycle == 4) begin
      PI_in_valid_i <= 1'b1;
      PI_clk_i <= 1'b0;
      PI_out_ready_i <= 1'b0;
      PI_in_data_i <= 4'b1000;
      PI_rst_ni <= 1'b1;
    end

    // state 6
    if (cycle == 5) begin
      PI_in_valid_i <= 1'b1;
      PI_clk_i <= 1'b0;
      PI_out_ready_i <= 1'b0;
      PI_in_data_i <= 4'b1001;
      PI_rst_ni <= 1'b1;
    end

    // state 7
    if (cycle == 6) begin
      PI_in_valid_i <= 1'b1;
      PI_clk_i <= 1'b0;
      PI_out_ready_i <= 1'b0;
      PI_in_data_i <= 4'b1010;
      PI_rst_ni <= 1'b1;
    end

    // state 8
    if (cycle == 7) begin
      PI_in_valid_i <= 1'b0;
      PI_clk_i <= 1'b0;
      PI_out_ready_i <= 1'b0;
      PI_in_data_i <= 4'b0000;
      PI_rst_ni <= 1'b1;
    end

    genclock <= cycle < 8;
    cycle <= cycle + 1;
  end
endmodule
