// Population count as a log-depth adder tree.
`default_nettype none

module popcount #(
  parameter int unsigned Width = 8,
  parameter int unsigned CntW  = $clog2(Width + 1)
) (
  input  logic [Width-1:0] bits_i,
  output logic [CntW-1:0]  count_o
);

  localparam int unsigned Levels = (Width > 1) ? $clog2(Width) : 1;
  localparam int unsigned Pad    = 1 << Levels;

  for (genvar l = 0; l <= Levels; l++) begin : g_lvl
    localparam int unsigned N = Pad >> l;
    logic [N-1:0][CntW-1:0] c;
    if (l == 0) begin : g_in
      logic [Pad-1:0] padded;
      always_comb begin
        padded = '0;
        padded[Width-1:0] = bits_i;
      end
      for (genvar j = 0; j < N; j++) begin : g_j
        if (CntW == 1) begin : g_bit
          assign c[j] = padded[j];
        end else begin : g_ext
          assign c[j] = CntW'(padded[j]);
        end
      end
    end else begin : g_node
      for (genvar j = 0; j < N; j++) begin : g_j
        assign c[j] = g_lvl[l-1].c[2*j] + g_lvl[l-1].c[2*j+1];
      end
    end
  end

  assign count_o = g_lvl[Levels].c[0];

endmodule

`default_nettype wire
