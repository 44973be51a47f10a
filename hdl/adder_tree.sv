// Sum of N unsigned values as a log-depth adder tree.
`default_nettype none

module adder_tree #(
  parameter int unsigned N    = 8,
  parameter int unsigned InW  = 4,
  parameter int unsigned SumW = InW + ((N > 1) ? $clog2(N) : 0)
) (
  input  logic [N*InW-1:0] values_i,  // value n at [n*InW +: InW]
  output logic [SumW-1:0]  sum_o
);

  localparam int unsigned Levels = (N > 1) ? $clog2(N) : 0;
  localparam int unsigned Pad    = 1 << Levels;

  for (genvar l = 0; l <= Levels; l++) begin : g_lvl
    localparam int unsigned M = Pad >> l;
    logic [M-1:0][SumW-1:0] s;
    if (l == 0) begin : g_in
      for (genvar j = 0; j < M; j++) begin : g_j
        if (j < N) begin : g_real
          assign s[j] = SumW'(values_i[j*InW +: InW]);
        end else begin : g_pad
          assign s[j] = '0;
        end
      end
    end else begin : g_node
      for (genvar j = 0; j < M; j++) begin : g_j
        assign s[j] = g_lvl[l-1].s[2*j] + g_lvl[l-1].s[2*j+1];
      end
    end
  end

  assign sum_o = g_lvl[Levels].s[0];

endmodule

`default_nettype wire
