// Synchronous FIFO with valid/ready on both sides (first-word fall-through).
// Never drops, duplicates or reorders: a word leaves only on out_valid_o && out_ready_i.
module stream_fifo #(
  parameter int unsigned Width = 8,
  parameter int unsigned Depth = 2
) (
  input  logic             clk_i,
  input  logic             rst_ni,
  input  logic             in_valid_i,
  output logic             in_ready_o,
  input  logic [Width-1:0] in_data_i,
  output logic             out_valid_o,
  input  logic             out_ready_i,
  output logic [Width-1:0] out_data_o
);

  localparam int unsigned AW = (Depth > 1) ? unsigned'($clog2(Depth)) : 1;
  localparam int unsigned CW = unsigned'($clog2(Depth + 1));

  (* ram_style = "distributed" *) logic [Width-1:0] mem [Depth];
  logic [AW-1:0] rd_q, wr_q;
  logic [CW-1:0] cnt_q;

  logic push, pop;
  assign in_ready_o  = (cnt_q != CW'(Depth));
  assign out_valid_o = (cnt_q != '0);
  assign out_data_o  = mem[rd_q];
  assign push = in_valid_i && in_ready_o;
  assign pop  = out_valid_o && out_ready_i;

  always_ff @(posedge clk_i) begin
    if (push) mem[wr_q] <= in_data_i;
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      rd_q  <= '0;
      wr_q  <= '0;
      cnt_q <= '0;
    end else begin
      if (push) wr_q <= (wr_q == AW'(Depth - 1)) ? '0 : wr_q + AW'(1);
      if (pop) rd_q <= (rd_q == AW'(Depth - 1)) ? '0 : rd_q + AW'(1);
      cnt_q <= cnt_q + CW'(push) - CW'(pop);
    end
  end

endmodule
