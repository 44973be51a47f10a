// Index of the largest of N signed values, lowest index on ties; log-depth compare tree.
module argmax_tree #(
  parameter int unsigned N    = 10,
  parameter int unsigned ValW = 16,
  parameter int unsigned IdxW = (N > 1) ? $clog2(N) : 1
) (
  input  logic [N*ValW-1:0] values_i,   // value n at [n*ValW +: ValW]
  output logic [IdxW-1:0]   idx_o,
  output logic [ValW-1:0]   max_o
);

  localparam int unsigned Levels = IdxW;
  localparam int unsigned Pad    = 1 << Levels;

  for (genvar l = 0; l <= Levels; l++) begin : g_lvl
    localparam int unsigned M = Pad >> l;
    logic [M-1:0]                  ok;   // node holds a real value
    logic signed [M-1:0][ValW-1:0] val;
    logic [M-1:0][IdxW-1:0]        ix;
    if (l == 0) begin : g_in
      for (genvar j = 0; j < M; j++) begin : g_j
        if (j < N) begin : g_real
          assign ok[j]  = 1'b1;
          assign val[j] = values_i[j*ValW +: ValW];
        end else begin : g_pad
          assign ok[j]  = 1'b0;
          assign val[j] = '0;
        end
        assign ix[j] = IdxW'(j);
      end
    end else begin : g_node
      for (genvar j = 0; j < M; j++) begin : g_j
        logic take_right;
        // right wins only if it is real and strictly larger (ties keep the lower index)
        assign take_right = g_lvl[l-1].ok[2*j+1] && (!g_lvl[l-1].ok[2*j]
                         || ($signed(g_lvl[l-1].val[2*j+1]) > $signed(g_lvl[l-1].val[2*j])));
        assign ok[j]  = g_lvl[l-1].ok[2*j] | g_lvl[l-1].ok[2*j+1];
        assign val[j] = take_right ? g_lvl[l-1].val[2*j+1] : g_lvl[l-1].val[2*j];
        assign ix[j]  = take_right ? g_lvl[l-1].ix[2*j+1] : g_lvl[l-1].ix[2*j];
      end
    end
  end

  assign idx_o = g_lvl[Levels].ix[0];
  assign max_o = g_lvl[Levels].val[0];

  /* verilator lint_off UNUSEDSIGNAL */
  logic root_ok;  // always 1 for N >= 1
  /* verilator lint_on UNUSEDSIGNAL */
  assign root_ok = g_lvl[Levels].ok[0];

endmodule
