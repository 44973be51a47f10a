// Readout of the last core: class scores (integrated currents, or spike counts over T) and
// the predicted class = argmax, lowest index on ties. One output beat per frame:
// data = {pred, score[Co-1], ..., score[0]}, score c at [c * ScoreW +: ScoreW].
module class_readout #(
  parameter int unsigned Co         = 10,
  parameter int unsigned T          = 4,
  parameter int unsigned ScoreW     = 16,
  parameter bit          FromSpikes = 1'b0,
  // derived
  parameter int unsigned ClsW       = (Co > 1) ? unsigned'($clog2(Co)) : 1,
  parameter int unsigned InW        = FromSpikes ? T * Co : Co * ScoreW,
  parameter int unsigned OutW       = ClsW + Co * ScoreW
) (
  input  logic            clk_i,
  input  logic            rst_ni,
  input  logic            in_valid_i,
  output logic            in_ready_o,
  input  logic [InW-1:0]  in_data_i,
  output logic            out_valid_o,
  input  logic            out_ready_i,
  output logic [OutW-1:0] out_data_o
);

  logic [Co*ScoreW-1:0] scores;
  if (FromSpikes) begin : g_count
    localparam int unsigned CntW = $clog2(T + 1);
    for (genvar c = 0; c < Co; c++) begin : g_c
      logic [T-1:0]    s;
      logic [CntW-1:0] n;
      for (genvar t = 0; t < T; t++) begin : g_t
        assign s[t] = in_data_i[t*Co + c];
      end
      popcount #(.Width(T), .CntW(CntW)) u_cnt (.bits_i(s), .count_o(n));
      assign scores[c*ScoreW +: ScoreW] = ScoreW'(n);
    end
  end else begin : g_scores
    assign scores = in_data_i;
  end

  logic [ClsW-1:0]   pred;
  /* verilator lint_off PINCONNECTEMPTY */
  argmax_tree #(.N(Co), .ValW(ScoreW), .IdxW(ClsW)) u_argmax (
    .values_i(scores),
    .idx_o   (pred),
    .max_o   ()
  );
  /* verilator lint_on PINCONNECTEMPTY */

  assign in_ready_o = !out_valid_o || out_ready_i;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      out_valid_o <= 1'b0;
      out_data_o  <= '0;
    end else begin
      if (out_ready_i) out_valid_o <= 1'b0;
      if (in_valid_i && in_ready_o) begin
        out_valid_o <= 1'b1;
        out_data_o  <= {pred, scores};
      end
    end
  end

endmodule
