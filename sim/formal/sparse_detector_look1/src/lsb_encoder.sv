// Lowest-set-bit encoder as a log-depth binary tree.
// valid_o = |bits_i; idx_o = index of the lowest set bit (0 when none).
module lsb_encoder #(
  parameter int unsigned Width = 8,
  parameter int unsigned IdxW  = (Width > 1) ? $clog2(Width) : 1
) (
  input  logic [Width-1:0] bits_i,
  output logic             valid_o,
  output logic [IdxW-1:0]  idx_o
);

  localparam int unsigned Levels = IdxW;
  localparam int unsigned Pad    = 1 << Levels;

  for (genvar l = 0; l <= Levels; l++) begin : g_lvl
    localparam int unsigned N = Pad >> l;
    logic [N-1:0]           v;
    logic [N-1:0][IdxW-1:0] ix;
    if (l == 0) begin : g_in
      always_comb begin
        v = '0;
        v[Width-1:0] = bits_i;
      end
      assign ix = '0;
    end else begin : g_node
      for (genvar j = 0; j < N; j++) begin : g_j
        assign v[j]  = g_lvl[l-1].v[2*j] | g_lvl[l-1].v[2*j+1];
        assign ix[j] = g_lvl[l-1].v[2*j] ? g_lvl[l-1].ix[2*j]
                                          : (g_lvl[l-1].ix[2*j+1] | IdxW'(1 << (l - 1)));
      end
    end
  end

  assign valid_o = g_lvl[Levels].v[0];
  assign idx_o   = g_lvl[Levels].ix[0];

endmodule
