// One layer = one core: line buffer (orchestrator), Pco sparsity detectors, neuron units,
// output assembly and optional 2x2 OR-pool. Conv and FC share it (FC: KH = H, KW = W, Pad 0).
//
// Loop order: output pixel -> channel group -> t -> window. Channel c sits in slot
// SlotOf[c] = g * Pco + d: group g of detector d (the compiler balances the non-zero weights
// over the detectors). Each detector walks its groups on its own, skipping groups without
// pairs, and may run one pixel ahead of the slowest (window stage + per-detector window copy).
// Output pixels are assembled in NumBuf buffers preset to the empty-channel outputs.
// Phi = 1 (spike input only): a phi_matcher between the line buffer and the window stage
// matches every segment vector to a pattern; the window travels with its pattern window and
// indices to the detectors, which add precomputed pattern-weight products (PWPs) and peel
// the residual (see sparse_detector). Pattern ROM <MemPrefix>_pat.hex, PWPs
// <MemPrefix>_d<d>_pwp.hex.
// Output word: spikes, bit t * Co + c (Score = 0), or the integrate-readout scores, score c
// at [c * ScoreW +: ScoreW] (Score = 1).
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
  parameter int unsigned Look      = 1,      // groups per detector mask word, divides Groups
  parameter int unsigned SlotW     = 16,
  parameter bit          Phi       = 1'b0,   // pattern mode (Phi)
  parameter int unsigned Q         = 1,      // Phi: patterns per segment index, power of two
  parameter int unsigned MatchSegs = 1,      // Phi: segment indices matched per cycle
  parameter int unsigned ColwW     = 1,      // Phi: bits of a pattern-distance bit weight
  parameter int unsigned PwpW      = 2,      // Phi: signed PWP width
  parameter logic [Co*SlotW-1:0] SlotOf = '0,  // slot of channel c at [c*SlotW +: SlotW];
                                               // all zero: plain order, slot c
  parameter string       MemPrefix = "",     // <MemPrefix>_d<d>_{mask,ptr,wt,bias,theta}.hex,
                                             // <MemPrefix>_empty.hex
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
  output logic [31:0]     cnt_busy_o,    // cycles with a detector working on a pixel
  output logic [31:0]     cnt_pairs_o,   // (non-zero weight, spike) pairs accumulated
  output logic [31:0]     cnt_pixels_o,  // output pixels (before pooling) produced
  output logic [Pco*32-1:0] cnt_occ_o    // per detector: cycles working on a pixel
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

  localparam bit PlainSlots = (SlotOf == '0);
  localparam int unsigned QW = (Q > 1) ? unsigned'($clog2(Q)) : 1;
  localparam int unsigned IdxW = L * Nseg * QW;

  function automatic int unsigned slot(input int unsigned c);
    return PlainSlots ? c : 32'(SlotOf[c*SlotW +: SlotW]);
  endfunction

  // every channel in its own slot < Groups * Pco
  function automatic bit slots_ok();
    for (int unsigned c = 0; c < Co; c++) begin
      if (slot(c) >= Groups * Pco) return 1'b0;
      for (int unsigned e = 0; e < c; e++) begin
        if (slot(c) == slot(e)) return 1'b0;
      end
    end
    return 1'b1;
  endfunction
  if (!slots_ok()) begin : g_bad_slots
    $error("sparse_core: SlotOf must give every channel its own slot < Groups * Pco");
  end
  if (Groups % Look != 0) begin : g_bad_look
    $error("sparse_core: Look must divide the number of groups");
  end

  // ------------------------------------------------------------------ orchestrator
  logic            win_valid, win_ready;
  logic [VecW-1:0] win_data;

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

  localparam bit Init = (MemPrefix != "");  // no images: ROMs stay uninitialised

  // ------------------------------------------------------------------ Phi matcher
  logic            mwin_valid, mwin_ready;
  logic [VecW-1:0] mwin_data, mwin_pat;
  logic [IdxW-1:0]   mwin_j;
  if (Phi) begin : g_phi
    phi_matcher #(
      .L(L), .Nseg(Nseg), .Pci(Pci), .Q(Q), .MatchSegs(MatchSegs), .ColwW(ColwW),
      .PatFile(Init ? {MemPrefix, "_pat.hex"} : "")
    ) u_match (
      .clk_i      (clk_i),
      .rst_ni     (rst_ni),
      .in_valid_i (win_valid),
      .in_ready_o (win_ready),
      .in_win_i   (win_data),
      .out_valid_o(mwin_valid),
      .out_ready_i(mwin_ready),
      .out_win_o  (mwin_data),
      .out_pat_o  (mwin_pat),
      .out_j_o    (mwin_j)
    );
  end else begin : g_no_phi
    assign mwin_valid = win_valid;
    assign win_ready  = mwin_ready;
    assign mwin_data  = win_data;
    assign mwin_pat   = '0;
    assign mwin_j     = '0;
  end

  // ------------------------------------------------------------------ window stage
  // One window waits here until every detector has taken it; each detector keeps its own
  // copy, so a detector may run one pixel ahead of the slowest.
  logic            stage_valid_q, stage_load, all_taken;
  logic [VecW-1:0] stage_q, stage_pat_q;
  logic [IdxW-1:0]   stage_j_q;
  logic [Pco-1:0]  taken_q, take;

  // ------------------------------------------------------------------ detectors
  logic [Pco-1:0]              det_busy, res_valid, det_done, pair;
  logic [GroupW-1:0]           res_group [Pco];
  logic [NumAcc*AccW-1:0]      res_acc [Pco];
  logic [BiasW-1:0]            res_bias [Pco];
  logic [ThetaW-1:0]           res_theta [Pco];
  /* verilator lint_off UNUSEDSIGNAL */  // one of the two, depending on Score
  logic [T-1:0]                spikes [Pco];
  logic [ScoreW-1:0]           score [Pco];
  /* verilator lint_on UNUSEDSIGNAL */

  for (genvar d = 0; d < Pco; d++) begin : g_det
    localparam string Pre = $sformatf("%s_d%0d_", MemPrefix, d);
    sparse_detector #(
      .L(L), .Nseg(Nseg), .Pci(Pci), .Groups(Groups), .Look(Look), .WtDepth(WtDepth),
      .AccW(AccW), .BiasW(BiasW), .ThetaW(ThetaW), .Direct(Direct), .Skip(Skip),
      .HasTheta(!Score), .MaskFile(Init ? {Pre, "mask.hex"} : ""),
      .PtrFile(Init ? {Pre, "ptr.hex"} : ""), .WtFile(Init ? {Pre, "wt.hex"} : ""),
      .BiasFile(Init ? {Pre, "bias.hex"} : ""), .ThetaFile(Init ? {Pre, "theta.hex"} : ""),
      .Phi(Phi), .Q(Q), .PwpW(PwpW), .PwpFile(Init && Phi ? {Pre, "pwp.hex"} : "")
    ) u_det (
      .clk_i      (clk_i),
      .rst_ni     (rst_ni),
      .win_valid_i(stage_valid_q && !taken_q[d]),
      .window_i   (stage_q),
      .pat_i      (stage_pat_q),
      .j_i        (stage_j_q),
      .win_take_o (take[d]),
      .busy_o     (det_busy[d]),
      .res_valid_o(res_valid[d]),
      .res_group_o(res_group[d]),
      .res_acc_o  (res_acc[d]),
      .res_bias_o (res_bias[d]),
      .res_theta_o(res_theta[d]),
      .done_o     (det_done[d]),
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

  // ------------------------------------------------------------------ pixel buffers
  // NumBuf output-pixel buffers, allocated in pixel order when a window enters the stage and
  // preset to the outputs of channels without pairs (the compiler's empty-output image);
  // each detector writes its results into the buffer of the pixel it is finishing
  // (det_buf_q) and moves on at done; a buffer complete for every detector is handed to the
  // output register, oldest first.
  localparam int unsigned NumBuf = 4;
  localparam int unsigned BufW   = 2;

  logic [PixW-1:0]    buf_q [NumBuf];
  logic [NumBuf-1:0]  used_q;
  logic [Pco-1:0]     done_q [NumBuf];
  logic [BufW-1:0]    det_buf_q [Pco];
  logic [BufW-1:0]    alloc_q, out_q;
  logic [PixW-1:0]    empty_out;

  sync_rom #(.Width(PixW), .Depth(1), .InitFile(Init ? {MemPrefix, "_empty.hex"} : ""),
             .AddrWidth(1)) u_empty (
    .clk_i (clk_i),
    .en_i  (1'b1),
    .addr_i(1'b0),
    .data_o(empty_out)
  );

  assign all_taken  = &(taken_q | take);
  assign stage_load = mwin_valid && (!stage_valid_q || all_taken) && !used_q[alloc_q];
  assign mwin_ready = stage_load;

  logic oq_valid, oq_ready, handoff;
  logic [PixW-1:0] oq_data;
  assign handoff = used_q[out_q] && (&done_q[out_q]) && (!oq_valid || oq_ready);

  // per channel: preset at allocation, result of its (detector, group) slot otherwise
  for (genvar c = 0; c < Co; c++) begin : g_wr
    localparam int unsigned S = slot(c);
    localparam int unsigned D = S % Pco;
    localparam int unsigned G = S / Pco;
    logic we;
    assign we = res_valid[D] && (res_group[D] == GroupW'(G));
    for (genvar b = 0; b < NumBuf; b++) begin : g_buf
      logic preset, write;
      assign preset = stage_load && (alloc_q == BufW'(b));
      assign write  = we && (det_buf_q[D] == BufW'(b));
      if (Score) begin : g_score
        always_ff @(posedge clk_i) begin
          if (preset)     buf_q[b][c*ScoreW +: ScoreW] <= empty_out[c*ScoreW +: ScoreW];
          else if (write) buf_q[b][c*ScoreW +: ScoreW] <= score[D];
        end
      end else begin : g_spikes
        always_ff @(posedge clk_i) begin
          for (int unsigned t = 0; t < T; t++) begin
            if (preset)     buf_q[b][t*Co + c] <= empty_out[t*Co + c];
            else if (write) buf_q[b][t*Co + c] <= spikes[D][t];
          end
        end
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      stage_valid_q <= 1'b0;
      stage_q       <= '0;
      stage_pat_q   <= '0;
      stage_j_q     <= '0;
      taken_q       <= '0;
      used_q        <= '0;
      for (int unsigned b = 0; b < NumBuf; b++) done_q[b] <= '0;
      for (int unsigned d = 0; d < Pco; d++) det_buf_q[d] <= '0;
      alloc_q  <= '0;
      out_q    <= '0;
      oq_valid <= 1'b0;
      oq_data  <= '0;
    end else begin
      if (stage_load) begin
        stage_valid_q   <= 1'b1;
        stage_q         <= mwin_data;
        stage_pat_q     <= mwin_pat;
        stage_j_q       <= mwin_j;
        taken_q         <= '0;
        used_q[alloc_q] <= 1'b1;
        alloc_q         <= alloc_q + BufW'(1);
      end else if (all_taken) begin
        stage_valid_q <= 1'b0;
        taken_q       <= '0;
      end else begin
        taken_q <= taken_q | take;
      end
      for (int unsigned d = 0; d < Pco; d++) begin
        if (det_done[d]) begin
          done_q[det_buf_q[d]][d] <= 1'b1;
          det_buf_q[d]            <= det_buf_q[d] + BufW'(1);
        end
      end
      if (oq_ready) oq_valid <= 1'b0;
      if (handoff) begin
        oq_valid      <= 1'b1;
        oq_data       <= buf_q[out_q];
        used_q[out_q] <= 1'b0;
        done_q[out_q] <= '0;
        out_q         <= out_q + BufW'(1);
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
      cnt_occ_o    <= '0;
    end else begin
      if (|det_busy) cnt_busy_o <= cnt_busy_o + 32'd1;
      cnt_pairs_o <= cnt_pairs_o + pairs_now;
      if (handoff) cnt_pixels_o <= cnt_pixels_o + 32'd1;
      for (int unsigned d = 0; d < Pco; d++) begin
        if (det_busy[d]) cnt_occ_o[d*32 +: 32] <= cnt_occ_o[d*32 +: 32] + 32'd1;
      end
    end
  end

endmodule
