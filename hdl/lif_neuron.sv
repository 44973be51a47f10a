// Pipelined neuron of the sparse core: one group result per cycle, the T steps of the LIF
// neuron one after the other down the pipeline (two stages per step), same arithmetic as
// lif_neuron: cur[t] = acc[t] + bias (AccW bits); V = leak(V) + cur[t], spike when V > theta,
// then reset (to 0, or V - theta with ResetSub); V starts at 0; leak(V) = V - (V >>> K).
// Integrate readout (Score = 1): score = sum over t of cur[t]: with SumIn the accumulator
// already holds the sum over the steps (spike_peeler Mode 2), score = acc + T * bias; without,
// one accumulator serves every step (NumAcc = 1), score = T * cur.
// The bias and threshold of the result's group come from LUT ROMs (BiasFile, ThetaFile,
// one word per group), read combinationally with the result's tag. in_done_i travels down
// the pipeline next to the results (with or without a result in the same cycle) and comes
// out as out_done_o in the result's cycle.
//
// Pipeline: P currents | C step 0's cur - theta, cur - theta - 1 | per step t: A leak and
// this step's cur - theta, cur - theta - 1 (t > 0), B add, spike = !sign(V + cur - theta - 1),
// reset. Only the currents and theta travel down; registers of currents a later
// step no longer reads have no load (synthesis drops them). No stage stalls.
`default_nettype none

module lif_neuron #(
  parameter int unsigned T         = 4,
  parameter int unsigned NumAcc    = 4,   // T (one sum per step) or 1 (the same every step)
  parameter bit          SumIn     = 1'b0,
  parameter int unsigned AccW      = 16,
  parameter int unsigned BiasW     = 8,
  parameter int unsigned ThetaW    = 8,
  parameter int unsigned VW        = 16,
  parameter int unsigned ScoreW    = 16,
  parameter int unsigned K         = 1,
  parameter bit          ResetSub  = 1'b0,
  parameter bit          Score     = 1'b0,
  parameter int unsigned Groups    = 1,
  parameter int unsigned TagW      = 1,
  parameter string       BiasFile  = "",
  parameter string       ThetaFile = ""
) (
  input  logic                   clk_i,
  input  logic                   srst_ni,
  input  logic                   in_valid_i,
  input  logic [NumAcc*AccW-1:0] in_acc_i,
  input  logic [TagW-1:0]        in_tag_i,
  input  logic                   in_done_i,    // side band, delayed like a result
  output logic                   out_valid_o,
  output logic                   out_done_o,
  output logic [TagW-1:0]        out_tag_o,
  output logic [T-1:0]           out_spikes_o,
  output logic [ScoreW-1:0]      out_score_o
);

  localparam int unsigned CmpW = ((VW > ThetaW) ? VW : ThetaW) + 1;
  localparam int unsigned NW   = ((VW > CmpW) ? VW : CmpW) + ((AccW > VW) ? AccW - VW : 0);
  localparam int unsigned TW   = unsigned'($clog2(T + 1));
  localparam int unsigned SW   = ((ScoreW > AccW + TW) ? ScoreW : AccW + TW) + 1;

  if (Score && !SumIn && NumAcc != 1) begin : g_bad_score
    $error("lif_neuron: a score readout needs SumIn or a single accumulator");
  end

  // ------------------------------------------------------------------ tables
  // read combinationally with the result's tag (one LUT level in front of P's adders)
  logic [BiasW-1:0] bias;
  lut_rom #(.Width(BiasW), .Depth(Groups), .InitFile(BiasFile), .Registered(1'b0),
            .AddrWidth(TagW)) u_bias (
    .clk_i (clk_i),
    .en_i  (1'b1),
    .addr_i(in_tag_i),
    .data_o(bias)
  );

  // T * x by shift-add (T is a constant: no multiplier)
  function automatic logic signed [SW-1:0] times_t(input logic signed [SW-1:0] x);
    logic signed [SW-1:0] r;
    r = '0;
    for (int unsigned b = 0; b < TW; b++) begin
      if (T[b]) r = r + (x <<< b);
    end
    return r;
  endfunction

  if (Score) begin : g_score
    // ---------------------------------------------------------------- P: score
    /* verilator lint_off UNUSEDSIGNAL */  // the compiler's bound keeps the score in ScoreW
    logic signed [SW-1:0] sum;
    /* verilator lint_on UNUSEDSIGNAL */
    if (SumIn) begin : g_sum_in
      assign sum = SW'($signed(in_acc_i[AccW-1:0])) + times_t(SW'($signed(bias)));
    end else begin : g_same
      assign sum = times_t(SW'($signed(AccW'(in_acc_i[AccW-1:0] + AccW'($signed(bias))))));
    end
    always_ff @(posedge clk_i) begin
      if (!srst_ni) begin
        out_valid_o <= 1'b0;
        out_done_o  <= 1'b0;
        out_tag_o   <= '0;
        out_score_o <= '0;
      end else begin
        out_valid_o <= in_valid_i;
        out_done_o  <= in_done_i;
        out_tag_o   <= in_tag_i;
        out_score_o <= sum[ScoreW-1:0];
      end
    end
    assign out_spikes_o = '0;
    /* verilator lint_off UNUSEDSIGNAL */
    logic unused_theta;
    /* verilator lint_on UNUSEDSIGNAL */
    assign unused_theta = ^ThetaFile.len();
  end else begin : g_lif
    logic [ThetaW-1:0] theta;
    lut_rom #(.Width(ThetaW), .Depth(Groups), .InitFile(ThetaFile), .Registered(1'b0),
              .AddrWidth(TagW)) u_theta (
      .clk_i (clk_i),
      .en_i  (1'b1),
      .addr_i(in_tag_i),
      .data_o(theta)
    );

    // ---------------------------------------------------------------- P: currents
    // cur = acc + bias in AccW bits (wrapping as lif_neuron), one per accumulator
    localparam int unsigned NC = NumAcc;
    logic                 p_valid, p_done;
    logic [TagW-1:0]      p_tag;
    logic [ThetaW-1:0]    p_theta;
    logic [AccW-1:0]      p_cur [NC];
    always_ff @(posedge clk_i) begin
      if (!srst_ni) begin
        p_valid <= 1'b0;
        p_done  <= 1'b0;
        p_tag   <= '0;
        p_theta <= '0;
        for (int unsigned a = 0; a < NC; a++) p_cur[a] <= '0;
      end else begin
        p_valid <= in_valid_i;
        p_done  <= in_done_i;
        p_tag   <= in_tag_i;
        p_theta <= theta;
        for (int unsigned a = 0; a < NC; a++) begin
          p_cur[a] <= in_acc_i[a*AccW +: AccW] + $unsigned(AccW'($signed(bias)));
        end
      end
    end

    // ---------------------------------------------------------------- C: against theta
    // every step's cur as an NW-bit value; step 0's cur - theta and cur - theta - 1 =
    // cur + ~theta (a later step forms its own in its leak stage: only the currents and the
    // threshold travel down the pipeline)
    logic                 c_valid, c_done;
    logic [TagW-1:0]      c_tag;
    logic [ThetaW-1:0]    c_theta;
    logic signed [NW-1:0] c_cur [NC];
    logic signed [NW-1:0] c_th, c_th1;
    always_ff @(posedge clk_i) begin
      if (!srst_ni) begin
        c_valid <= 1'b0;
        c_done  <= 1'b0;
        c_tag   <= '0;
        c_theta <= '0;
        c_th    <= '0;
        c_th1   <= '0;
        for (int unsigned a = 0; a < NC; a++) c_cur[a] <= '0;
      end else begin
        c_valid <= p_valid;
        c_done  <= p_done;
        c_tag   <= p_tag;
        c_theta <= p_theta;
        c_th    <= NW'($signed(p_cur[0])) - NW'($signed(p_theta));
        c_th1   <= NW'($signed(p_cur[0])) + ~NW'($signed(p_theta));
        for (int unsigned a = 0; a < NC; a++) c_cur[a] <= NW'($signed(p_cur[a]));
      end
    end

    // ---------------------------------------------------------------- steps
    // stage t holds after step t: v, the spikes so far, the currents of the steps to come
    for (genvar t = 0; t < T; t++) begin : g_step
      logic                 valid, a_valid, done, a_done;
      logic [TagW-1:0]      tag, a_tag;
      logic [T-1:0]         spk, a_spk;
      logic signed [NW-1:0] lv, a_th, a_th1;
      /* verilator lint_off UNUSEDSIGNAL */  // the last step's V, currents no step reads
      logic [ThetaW-1:0]    theta_s, a_theta;
      logic signed [NW-1:0] v;
      logic signed [NW-1:0] cur [NC];
      logic signed [NW-1:0] a_cur [NC];
      /* verilator lint_on UNUSEDSIGNAL */
      localparam int unsigned Idx = (NC == 1) ? 0 : t;

      // A: leak of the previous step's V (step 0 starts from 0: no stage), this step's
      // cur - theta and cur - theta - 1
      if (t == 0) begin : g_first
        assign a_valid = c_valid;
        assign a_done  = c_done;
        assign a_tag   = c_tag;
        assign a_spk   = '0;
        assign lv      = '0;
        assign a_cur   = c_cur;
        assign a_theta = c_theta;
        assign a_th    = c_th;
        assign a_th1   = c_th1;
      end else begin : g_leak
        always_ff @(posedge clk_i) begin
          if (!srst_ni) begin
            a_valid <= 1'b0;
            a_done  <= 1'b0;
            a_tag   <= '0;
            a_spk   <= '0;
            a_theta <= '0;
            a_th    <= '0;
            a_th1   <= '0;
            lv      <= '0;
            for (int unsigned a = 0; a < NC; a++) a_cur[a] <= '0;
          end else begin
            a_valid <= g_step[t-1].valid;
            a_done  <= g_step[t-1].done;
            a_tag   <= g_step[t-1].tag;
            a_spk   <= g_step[t-1].spk;
            a_theta <= g_step[t-1].theta_s;
            a_th    <= g_step[t-1].cur[Idx] - NW'($signed(g_step[t-1].theta_s));
            a_th1   <= g_step[t-1].cur[Idx] + ~NW'($signed(g_step[t-1].theta_s));
            lv      <= (K == 0) ? g_step[t-1].v : g_step[t-1].v - (g_step[t-1].v >>> K);
            a_cur   <= g_step[t-1].cur;
          end
        end
      end

      // B: V + cur, the spike test and the reset
      logic signed [NW-1:0] pre, over, test;
      logic                 fire;
      assign pre  = lv + a_cur[Idx];
      assign over = lv + a_th;   // V - theta
      assign test = lv + a_th1;  // V - theta - 1 >= 0: V > theta
      assign fire = !test[NW-1];
      logic [T-1:0] fire_at;  // this step's spike at bit t
      always_comb begin
        fire_at    = '0;
        fire_at[t] = fire;
      end
      always_ff @(posedge clk_i) begin
        if (!srst_ni) begin
          valid   <= 1'b0;
          done    <= 1'b0;
          tag     <= '0;
          spk     <= '0;
          v       <= '0;
          theta_s <= '0;
          for (int unsigned a = 0; a < NC; a++) cur[a] <= '0;
        end else begin
          valid   <= a_valid;
          done    <= a_done;
          tag     <= a_tag;
          spk     <= a_spk | fire_at;
          if (!fire)        v <= pre;
          else if (ResetSub) v <= over;
          else              v <= '0;
          cur     <= a_cur;
          theta_s <= a_theta;
        end
      end
    end

    assign out_valid_o  = g_step[T-1].valid;
    assign out_done_o   = g_step[T-1].done;
    assign out_tag_o    = g_step[T-1].tag;
    assign out_spikes_o = g_step[T-1].spk;
    assign out_score_o  = '0;
  end

endmodule

`default_nettype wire
