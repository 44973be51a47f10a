// Neuron unit: bias add, then T steps of V = leak(V) + I; s = V > theta; reset, starting
// from V = 0 (frame-local state; the T steps of one channel are evaluated together because
// the loop order puts t inside the channel group). leak(V) = V - (V >>> K), or V when K = 0.
// Integrate readout (Score = 1): score = sum over t of I[t] (no spikes).
// Widths come from the compiler's worst-case bounds, so nothing below can overflow.
module lif_neuron #(
  parameter int unsigned T        = 4,
  parameter int unsigned NumAcc   = 4,   // T (one sum per step) or 1 (direct input: same I)
  parameter int unsigned AccW     = 16,
  parameter int unsigned BiasW    = 8,
  parameter int unsigned ThetaW   = 8,
  parameter int unsigned VW       = 16,
  parameter int unsigned ScoreW   = 16,
  parameter int unsigned K        = 1,
  parameter bit          ResetSub = 1'b0,
  parameter bit          Score    = 1'b0,
  parameter int unsigned CmpW     = ((VW > ThetaW) ? VW : ThetaW) + 1
) (
  input  logic [NumAcc*AccW-1:0] acc_i,
  input  logic [BiasW-1:0]       bias_i,
  input  logic [ThetaW-1:0]      theta_i,
  output logic [T-1:0]           spikes_o,
  output logic [ScoreW-1:0]      score_o
);

  logic signed [AccW-1:0] cur [T];
  always_comb begin
    for (int unsigned t = 0; t < T; t++) begin
      cur[t] = $signed(acc_i[(NumAcc == 1 ? 0 : t)*AccW +: AccW]) + AccW'($signed(bias_i));
    end
  end

  if (Score) begin : g_score
    // summed wider than both operands, then the low ScoreW bits (the compiler's bound keeps
    // the true score inside ScoreW bits)
    localparam int unsigned SumW = ((ScoreW > AccW) ? ScoreW : AccW) + 1;
    /* verilator lint_off UNUSEDSIGNAL */
    logic signed [SumW-1:0] sum;
    /* verilator lint_on UNUSEDSIGNAL */
    always_comb begin
      sum = '0;
      for (int unsigned t = 0; t < T; t++) sum = sum + SumW'(cur[t]);
    end
    assign score_o = sum[ScoreW-1:0];
    assign spikes_o = '0;
    /* verilator lint_off UNUSEDSIGNAL */
    logic [ThetaW-1:0] unused_theta;
    /* verilator lint_on UNUSEDSIGNAL */
    assign unused_theta = theta_i;
  end else begin : g_lif
    // membrane arithmetic in NW > VW, AccW, ThetaW bits: the compiler's bounds keep every
    // value inside VW bits, the extra width only avoids narrowing casts
    localparam int unsigned NW = ((VW > CmpW) ? VW : CmpW) + ((AccW > VW) ? AccW - VW : 0);
    logic signed [NW-1:0] v [T+1];
    logic signed [NW-1:0] pre [T];
    logic signed [NW-1:0] th;
    assign th = NW'($signed(theta_i));
    always_comb begin
      v[0] = '0;
      for (int unsigned t = 0; t < T; t++) begin
        pre[t] = ((K == 0) ? v[t] : v[t] - (v[t] >>> K)) + NW'(cur[t]);
        spikes_o[t] = pre[t] > th;
        if (!spikes_o[t]) v[t+1] = pre[t];
        else if (ResetSub) v[t+1] = pre[t] - th;
        else v[t+1] = '0;
      end
    end
    assign score_o = '0;
  end

endmodule
