// Readout of the last core: class scores (integrated currents, or spike counts over T) and
// the predicted class = argmax, lowest index on ties (found in Co cycles). One output
// beat per frame:
// data = {pred, score[Co-1], ..., score[0]}, score c at [c * ScoreW +: ScoreW], signed
// (spike counts too: ScoreW >= $clog2(T + 1) + 1).
`default_nettype none

module class_readout #(
  parameter int unsigned Co         = 10,
  parameter int unsigned T          = 4,
  parameter int unsigned ScoreW     = 16,
  parameter bit          FromSpikes = 1'b0,
  // derived (not overridable)
  localparam int unsigned ClsW       = (Co > 1) ? unsigned'($clog2(Co)) : 1,
  localparam int unsigned InW        = FromSpikes ? T * Co : Co * ScoreW,
  localparam int unsigned OutW       = ClsW + Co * ScoreW
) (
  input  logic            clk_i,
  input  logic            srst_ni,
  input  logic            in_valid_i,
  output logic            in_ready_o,
  input  logic [InW-1:0]  in_data_i,
  output logic            out_valid_o,
  input  logic            out_ready_i,
  output logic [OutW-1:0] out_data_o
);

  if (FromSpikes && ScoreW < unsigned'($clog2(T + 1)) + 1) begin : g_bad_width
    $error("class_readout: ScoreW must hold the spike count T and a sign bit");
  end

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

  // Sequential argmax (one frame is thousands of cycles): the scores are registered, then
  // rotated by one score per cycle for Co cycles (back in their order at the end) while the
  // head is compared with the best so far: one comparator, no compare tree between registers.
  logic                        busy_q;
  logic [ClsW-1:0]             c_q;     // index of the score at the head
  logic [Co*ScoreW-1:0]        sc_q;    // score (c_q + k) mod Co at [k*ScoreW +: ScoreW]
  logic signed [ScoreW-1:0]    best_q, head;
  logic [ClsW-1:0]             pred_q;
  logic                        better;
  logic [Co*ScoreW-1:0]        rot;     // sc_q rotated by one score

  assign head       = $signed(sc_q[ScoreW-1:0]);
  // the first score, then only a strictly larger one (ties keep the lower index)
  assign better     = (c_q == '0) || (head > best_q);
  if (Co > 1) begin : g_rot
    assign rot = {sc_q[ScoreW-1:0], sc_q[Co*ScoreW-1:ScoreW]};
  end else begin : g_one
    assign rot = sc_q;
  end
  assign in_ready_o = !busy_q && !out_valid_o;
  assign out_data_o = {pred_q, sc_q};

  always_ff @(posedge clk_i) begin
    if (!srst_ni) begin
      busy_q      <= 1'b0;
      c_q         <= '0;
      sc_q        <= '0;
      best_q      <= '0;
      pred_q      <= '0;
      out_valid_o <= 1'b0;
    end else begin
      if (out_valid_o && out_ready_i) out_valid_o <= 1'b0;
      if (in_valid_i && in_ready_o) begin
        busy_q <= 1'b1;
        c_q    <= '0;
        sc_q   <= scores;
      end else if (busy_q) begin
        if (better) begin
          best_q <= head;
          pred_q <= c_q;
        end
        sc_q <= rot;
        if (c_q == ClsW'(Co - 1)) begin
          busy_q      <= 1'b0;
          out_valid_o <= 1'b1;
        end else begin
          c_q <= c_q + ClsW'(1);
        end
      end
    end
  end

endmodule

`default_nettype wire
