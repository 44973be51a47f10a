// One layer = one core: line buffer (orchestrator), Pco sparsity detectors, neuron units,
// output assembly and optional 2x2 OR-pool. Conv and FC share it (FC: KH = H, KW = W, Pad 0).
//
// Loop order: output pixel -> channel group (co = g * Pco + d on detector d) -> t -> window.
// Each detector walks its groups independently; detectors meet only at pixel boundaries.
// Output pixels are assembled in two ping-pong buffers, so a new pixel starts while the
// previous one's last results drain. Output word: spikes, bit t * Co + c (Score = 0), or the
// integrate-readout scores, score c at [c * ScoreW +: ScoreW] (Score = 1).
module sparse_core #(
  parameter int unsigned L         = 4,      // window planes: T, or IN_BITS for direct input
  parameter int unsigned T         = 4,
  parameter int unsigned Ci        = 8,
  parameter int unsigned H         = 8,
  parameter int unsigned W         = 8,
  parameter int unsigned KH        = 3,
  parameter int unsigned KW        = 3,
  parameter int unsigned Pad       = 1,
  parameter int unsigned Co        = 8,
  parameter int unsigned Pco       = 4,
  parameter int unsigned Pci       = 8,
  parameter int unsigned WtDepth   = 1,      // depth of every detector's weight ROM
  parameter int unsigned AccW      = 16,
  parameter int unsigned BiasW     = 8,
  parameter int unsigned ThetaW    = 8,
  parameter int unsigned VW        = 16,
  parameter int unsigned ScoreW    = 16,
  parameter int unsigned K         = 1,
  parameter bit          ResetSub  = 1'b0,
  parameter bit          Direct    = 1'b0,
  parameter bit          Score     = 1'b0,
  parameter bit          Skip      = 1'b1,
  parameter int unsigned Pool      = 1,
  parameter int unsigned Hold      = 1,
  parameter string       MemPrefix = "",     // <MemPrefix>_d<d>_{mask,ptr,wt,bias,theta}.hex
  // derived
  parameter int unsigned InW       = L * Ci,
  parameter int unsigned OutW      = Score ? Co * ScoreW : T * Co
) (
  input  logic            clk_i,
  input  logic            rst_ni,
  input  logic            in_valid_i,
  output logic            in_ready_o,
  input  logic [InW-1:0]  in_data_i,
  output logic            out_valid_o,
  input  logic            out_ready_i,
  output logic [OutW-1:0] out_data_o,
  output logic [31:0]     cnt_busy_o,    // cycles with a detector working
  output logic [31:0]     cnt_pairs_o,   // (non-zero weight, spike) pairs accumulated
  output logic [31:0]     cnt_pixels_o   // output pixels (before pooling) produced
);

  localparam int unsigned Groups = (Co + Pco - 1) / Pco;
  localparam int unsigned GroupW = (Groups > 1) ? unsigned'($clog2(Groups)) : 1;
  localparam int unsigned Spp    = (Ci + Pci - 1) / Pci;
  localparam int unsigned Nseg   = KH * KW * Spp;
  localparam int unsigned VecW   = L * Nseg * Pci;
  localparam int unsigned NumAcc = Direct ? 1 : L;
  localparam int unsigned Ho     = H + 2 * Pad - KH + 1;
  localparam int unsigned Wo     = W + 2 * Pad - KW + 1;
  localparam int unsigned PixW   = Score ? Co * ScoreW : T * Co;

  // ------------------------------------------------------------------ orchestrator
  logic            win_valid, win_ready;
  logic [VecW-1:0] win_data, win_q;

  line_buffer #(
    .L(L), .Ci(Ci), .H(H), .W(W), .KH(KH), .KW(KW), .Pad(Pad), .Pci(Pci), .Hold(Hold)
  ) u_lb (
    .clk_i      (clk_i),
    .rst_ni     (rst_ni),
    .in_valid_i (in_valid_i),
    .in_ready_o (in_ready_o),
    .in_data_i  (in_data_i),
    .win_valid_o(win_valid),
    .win_ready_i(win_ready),
    .win_data_o (win_data)
  );

  // ------------------------------------------------------------------ detectors
  logic [Pco-1:0]              det_idle, res_valid, pair;
  logic [GroupW-1:0]           res_group [Pco];
  logic [NumAcc*AccW-1:0]      res_acc [Pco];
  logic [BiasW-1:0]            res_bias [Pco];
  logic [ThetaW-1:0]           res_theta [Pco];
  /* verilator lint_off UNUSEDSIGNAL */  // one of the two, depending on Score
  logic [T-1:0]                spikes [Pco];
  logic [ScoreW-1:0]           score [Pco];
  /* verilator lint_on UNUSEDSIGNAL */

  logic starting;
  logic [VecW-1:0] det_window;
  assign det_window = starting ? win_data : win_q;

  for (genvar d = 0; d < Pco; d++) begin : g_det
    localparam bit    Init = (MemPrefix != "");  // no images: ROMs stay uninitialised
    localparam string Pre  = $sformatf("%s_d%0d_", MemPrefix, d);
    sparse_detector #(
      .L(L), .Nseg(Nseg), .Pci(Pci), .Groups(Groups), .WtDepth(WtDepth), .AccW(AccW),
      .BiasW(BiasW), .ThetaW(ThetaW), .Direct(Direct), .Skip(Skip), .HasTheta(!Score),
      .MaskFile(Init ? {Pre, "mask.hex"} : ""), .PtrFile(Init ? {Pre, "ptr.hex"} : ""),
      .WtFile(Init ? {Pre, "wt.hex"} : ""), .BiasFile(Init ? {Pre, "bias.hex"} : ""),
      .ThetaFile(Init ? {Pre, "theta.hex"} : "")
    ) u_det (
      .clk_i      (clk_i),
      .rst_ni     (rst_ni),
      .start_i    (starting),
      .window_i   (det_window),
      .idle_o     (det_idle[d]),
      .res_valid_o(res_valid[d]),
      .res_group_o(res_group[d]),
      .res_acc_o  (res_acc[d]),
      .res_bias_o (res_bias[d]),
      .res_theta_o(res_theta[d]),
      .pair_o     (pair[d])
    );

    lif_neuron #(
      .T(T), .NumAcc(NumAcc), .AccW(AccW), .BiasW(BiasW), .ThetaW(ThetaW), .VW(VW),
      .ScoreW(ScoreW), .K(K), .ResetSub(ResetSub), .Score(Score)
    ) u_neuron (
      .acc_i   (res_acc[d]),
      .bias_i  (res_bias[d]),
      .theta_i (res_theta[d]),
      .spikes_o(spikes[d]),
      .score_o (score[d])
    );
  end

  // ------------------------------------------------------------------ pixel scheduling
  // Two output buffers; buffer b is 'used' from the start of its pixel until it is handed to
  // the output register. det_par[d]: buffer detector d is currently writing.
  logic [PixW-1:0] buf_q [2];
  logic [1:0]      used_q;
  logic [Pco-1:0]  done_q [2];
  logic [Pco-1:0]  det_par_q;
  logic            start_par_q, out_par_q;

  logic [Pco-1:0] finish;  // detector writes its last group this cycle
  for (genvar d = 0; d < Pco; d++) begin : g_fin
    assign finish[d] = res_valid[d] && (res_group[d] == GroupW'(Groups - 1));
  end

  assign starting  = win_valid && (&det_idle) && !used_q[start_par_q];
  assign win_ready = starting;

  logic oq_valid, oq_ready, handoff;
  logic [PixW-1:0] oq_data;
  assign handoff = used_q[out_par_q] && (&done_q[out_par_q]) && (!oq_valid || oq_ready);

  // result writes, one static slot per channel
  for (genvar c = 0; c < Co; c++) begin : g_wr
    localparam int unsigned D = c % Pco;
    localparam int unsigned G = c / Pco;
    logic we;
    assign we = res_valid[D] && (res_group[D] == GroupW'(G));
    if (Score) begin : g_score
      always_ff @(posedge clk_i) begin
        if (we) buf_q[det_par_q[D]][c*ScoreW +: ScoreW] <= score[D];
      end
    end else begin : g_spikes
      always_ff @(posedge clk_i) begin
        if (we) begin
          for (int unsigned t = 0; t < T; t++) buf_q[det_par_q[D]][t*Co + c] <= spikes[D][t];
        end
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      used_q      <= '0;
      done_q[0]   <= '0;
      done_q[1]   <= '0;
      det_par_q   <= '0;
      start_par_q <= 1'b0;
      out_par_q   <= 1'b0;
      win_q       <= '0;
      oq_valid    <= 1'b0;
      oq_data     <= '0;
    end else begin
      if (starting) begin
        win_q               <= win_data;
        used_q[start_par_q] <= 1'b1;
        start_par_q         <= !start_par_q;
      end
      for (int unsigned d = 0; d < Pco; d++) begin
        if (finish[d]) begin
          done_q[det_par_q[d]][d] <= 1'b1;
          det_par_q[d]            <= !det_par_q[d];
        end
      end
      if (oq_ready) oq_valid <= 1'b0;
      if (handoff) begin
        oq_valid          <= 1'b1;
        oq_data           <= buf_q[out_par_q];
        used_q[out_par_q] <= 1'b0;
        done_q[out_par_q] <= '0;
        out_par_q         <= !out_par_q;
      end
    end
  end

  // ------------------------------------------------------------------ output (+ pool)
  if (Pool == 2) begin : g_pool
    spike_pool #(.PixW(PixW), .H(Ho), .W(Wo)) u_pool (
      .clk_i      (clk_i),
      .rst_ni     (rst_ni),
      .in_valid_i (oq_valid),
      .in_ready_o (oq_ready),
      .in_data_i  (oq_data),
      .out_valid_o(out_valid_o),
      .out_ready_i(out_ready_i),
      .out_data_o (out_data_o)
    );
  end else begin : g_no_pool
    assign out_valid_o = oq_valid;
    assign oq_ready    = out_ready_i;
    assign out_data_o  = oq_data;
  end

  // ------------------------------------------------------------------ counters
  logic [31:0] pairs_now;
  always_comb begin
    pairs_now = '0;
    for (int unsigned d = 0; d < Pco; d++) pairs_now = pairs_now + 32'(pair[d]);
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      cnt_busy_o   <= '0;
      cnt_pairs_o  <= '0;
      cnt_pixels_o <= '0;
    end else begin
      if (!(&det_idle)) cnt_busy_o <= cnt_busy_o + 32'd1;
      cnt_pairs_o <= cnt_pairs_o + pairs_now;
      if (handoff) cnt_pixels_o <= cnt_pixels_o + 32'd1;
    end
  end

endmodule
