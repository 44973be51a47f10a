// The sparse core: one layer = one core, time-parallel and pipelined. Conv and FC share it
// (FC: KH = H, KW = W, Pad 0).
//
// window_unit keeps the input ring and the windows in flight (no window copies); per detector
// d: a mask_scanner walks its scan list (the (group, word) pairs with a non-zero weight mask,
// <MemPrefix>_d<d>_list.hex; the masks alone in <MemPrefix>_d<d>_mask.hex, read from block
// RAM where ListBlockOf[d]; the other fields alone in <MemPrefix>_d<d>_fields.hex, read from
// block RAM two entries ahead where FieldBlockOf[d]), reads the words from its ring copy (one per read port: LUT-RAM,
// or block RAM with RingBlock) and queues those with a position; a spike_peeler peels them,
// one position per cycle for all time steps, weights in <MemPrefix>_d<d>_wt.hex; a lif_neuron
// turns each group's sums into spikes (or a score) with the group's bias and threshold
// (<MemPrefix>_d<d>_{bias,theta}.hex). Channel c sits in slot SlotOf[c] = g * Pco + d (group
// g of detector d).
// Output pixels are assembled in NumBuf buffers (a LUT-RAM of NumBuf words per channel),
// allocated in pixel order when a window is gathered; a channel's bits are written once (with
// a written flag in a register, no preset): channels
// without a result read the compiler's empty-channel output (<MemPrefix>_empty.hex) when the
// buffer is handed to the output register, oldest first, once every detector has closed it.
// Peeler modes: lanes (spike input), direct (pixel values, Direct), popcount (integrate
// readout of spike input: one accumulator of the sum over the steps).
// Output word: spikes, bit t * Co + c (Score = 0), or scores at [c * ScoreW +: ScoreW].
// Dense (the dense baseline): the scan lists hold every word of every group, the masks every
// weight, zero or not, and the scanners queue every mask position inside the image whether it
// spikes or not: the same datapath and the same outputs with nothing skipped.
//
// Phi (docs/phi.md "Phi in hardware"; spike input, words of whole pixels, Pci = Ci): a
// pattern_matcher (patterns <MemPrefix>_pat.hex) matches each input pixel before it enters the
// ring, which then holds the residual planes, the pattern bits and per block the PWP lanes
// and index; the scan lists carry each entry's token mask and PWP row base; each peeler adds
// the signed residual and the PWPs of its detector's <MemPrefix>_d<d>_pwp.hex (rows
// (group * KK + kernel position) * Nb + block, PhiQ words each). The sums are the golden
// model's (Phi is lossless); partial sums may wrap in AccW bits, the final sum fits.
`default_nettype none

module layer_core #(
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
  parameter int unsigned Spw       = 1,      // segments per scanner word
  parameter int unsigned WtDepth   = 16,     // depth of every detector's weight ROM
  parameter bit          WtBlock   = 1'b0,   // weights in block RAM (else LUTs)
  parameter int unsigned AccW      = 16,     // one step's accumulator
  parameter int unsigned BiasW     = 8,
  parameter int unsigned ThetaW    = 8,
  parameter int unsigned VW        = 16,
  parameter int unsigned ScoreW    = 16,
  parameter int unsigned K         = 1,
  parameter bit          ResetSub  = 1'b0,
  parameter bit          Direct    = 1'b0,
  parameter bit          Score     = 1'b0,
  parameter int unsigned Pool      = 1,
  parameter int unsigned Hold      = 8,      // ring slack in pixels
  parameter int unsigned NumWin    = 2,      // windows in flight
  parameter int unsigned FifoDepth = 16,     // scanner queue depth
  parameter int unsigned NumBuf    = 4,      // output pixel buffers (a power of two >= 2)
  parameter logic [Pco*16-1:0] EntriesOf = '0,  // scan-list length of detector d at [d*16]
  parameter logic [Pco-1:0] ListBlockOf = '0,   // bit d: detector d's masks in block RAM
  parameter logic [Pco-1:0] FieldBlockOf = '0,  // bit d: its other list fields in block RAM
  parameter bit          RingBlock = 1'b0,   // the scanners' ring copies in block RAM
  parameter int unsigned SlotW     = 16,
  parameter logic [Co*SlotW-1:0] SlotOf = '0,  // slot of channel c; all zero: slot c
  parameter string       MemPrefix = "",
  parameter bit          Phi       = 1'b0,
  parameter int unsigned PhiK      = 16,     // Phi: channels per pattern block
  parameter int unsigned PhiQ      = 16,     // Phi: pattern slots per block (a power of two)
  parameter int unsigned PhiM      = 1,      // Phi: patterns compared per cycle
  parameter int unsigned PwpW      = 8,      // Phi: bits of a PWP (signed)
  parameter bit          Dense     = 1'b0,   // dense baseline: every mask position peeled
  // derived (not overridable)
  localparam int unsigned InW       = L * Ci,
  localparam int unsigned OutW      = Score ? Co * ScoreW : T * Co
) (
  input  logic            clk_i,
  input  logic            srst_ni,
  input  logic            in_valid_i,
  output logic            in_ready_o,
  input  logic [InW-1:0]  in_data_i,
  output logic            out_valid_o,
  input  logic            out_ready_i,
  output logic [OutW-1:0] out_data_o,
  output logic [31:0]     cnt_busy_o,    // cycles with a detector scanning or peeling
  output logic [31:0]     cnt_pairs_o,   // (weight, spike) pairs, one per step (non-zero
                                         // weights only, but with Dense)
  output logic [31:0]     cnt_pixels_o,  // output pixels (before pooling) produced
  output logic [Pco*32-1:0] cnt_occ_o    // per detector: cycles scanning or peeling
);

  localparam int unsigned Groups = (Co + Pco - 1) / Pco;
  localparam int unsigned TagW   = (Groups > 1) ? unsigned'($clog2(Groups)) : 1;
  localparam int unsigned KK     = KH * KW;
  localparam int unsigned Span   = (KH - 1) * W + KW;
  localparam int unsigned Depth  = (Span + Hold < H * W) ? Span + Hold : H * W;
  localparam int unsigned AW     = (Depth > 1) ? unsigned'($clog2(Depth)) : 1;
  localparam int unsigned WordW  = Spw * Pci;
  localparam int unsigned QSlotW = (FifoDepth > 1) ? unsigned'($clog2(FifoDepth)) : 1;
  localparam int unsigned PAddrW = (WtDepth > 1) ? unsigned'($clog2(WtDepth)) : 1;
  localparam int unsigned Mode   = Direct ? 1 : (Score ? 2 : 0);
  localparam int unsigned NumAcc = (Mode == 0) ? L : 1;
  localparam int unsigned PAccW  = (Mode == 2) ? AccW + unsigned'($clog2(T + 1)) : AccW;
  localparam int unsigned PixW   = Score ? Co * ScoreW : T * Co;
  localparam int unsigned Ho     = H + 2 * Pad - KH + 1;
  localparam int unsigned Wo     = W + 2 * Pad - KW + 1;
  localparam int unsigned BufW   = unsigned'($clog2(NumBuf));
  // Phi: blocks per pixel, index bits, PWP rows per detector, tokens per word, ring pixel
  localparam int unsigned Nb     = (Ci + PhiK - 1) / PhiK;
  localparam int unsigned IdxW   = (PhiQ > 1) ? unsigned'($clog2(PhiQ)) : 1;
  localparam int unsigned PRows  = Groups * KK * Nb;
  localparam int unsigned PRowW  = (PRows > 1) ? unsigned'($clog2(PRows)) : 1;
  localparam int unsigned NTok   = Phi ? (Spw * Pci / Ci) * Nb : 1;
  localparam int unsigned RingW  = Phi ? L * Ci + Ci + Nb * (L + IdxW) : L * Ci;
  localparam int unsigned XW     = Phi ? WordW + NTok : WordW;
  localparam int unsigned CntW   = unsigned'($clog2(XW + 1));

  localparam bit PlainSlots = (SlotOf == '0);
  function automatic int unsigned slot(input int unsigned c);
    return PlainSlots ? c : 32'(SlotOf[c*SlotW +: SlotW]);
  endfunction
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
    $error("layer_core: SlotOf must give every channel its own slot < Groups * Pco");
  end
  if (NumBuf < 2 || NumBuf != (1 << BufW)) begin : g_bad_bufs
    $error("layer_core: NumBuf must be a power of two >= 2");
  end
  if (Phi && (Direct || Pci != Ci)) begin : g_bad_phi
    $error("layer_core: the Phi mode needs spike input and words of whole pixels (Pci = Ci)");
  end
  if (Direct && Score) begin : g_bad_mode
    $error("layer_core: a direct-input core with an integrate readout is not supported");
  end

  function automatic int unsigned entries(input int unsigned d);
    return (EntriesOf[d*16 +: 16] == '0) ? 1 : 32'(EntriesOf[d*16 +: 16]);
  endfunction

  localparam bit Init = (MemPrefix != "");  // no images: ROMs stay uninitialised

  // ------------------------------------------------------------------ reset tree
  // srst_ni is registered once per block, active high (the reset input of an ECP5 flip-flop
  // is active high: an active-low net needs a LUT), each copy kept apart (synthesis would
  // merge them): every reset net is a register-to-register path inside one block with no
  // LUT on it (one reset net across a whole core was a LUT and a 7.2 ns route on ECP5). The
  // core leaves reset as a whole, one cycle after srst_ni rises. Assertions check while both
  // srst_ni and their block's copy are out of reset (the copies start unknown).
  localparam int unsigned RstCnt   = 0;  // the counters
  localparam int unsigned RstBuf   = 1;  // the pixel buffers' bookkeeping
  localparam int unsigned RstOut   = 2;  // the output register
  localparam int unsigned RstWin   = 3;  // the window unit
  localparam int unsigned RstPool  = 4;  // the pool (Pool == 2)
  localparam int unsigned RstMatch = RstPool + ((Pool == 2) ? 1 : 0);  // the matcher (Phi)
  localparam int unsigned RstDet   = RstMatch + (Phi ? 1 : 0);
  // detector d: RstDet + 3 d its scanner, + 1 its peeler, + 2 its neuron and written flags
  localparam int unsigned NRst     = RstDet + 3 * Pco;
  logic [NRst-1:0] rst_q;
  for (genvar r = 0; r < NRst; r++) begin : g_rst
    (* keep *) always_ff @(posedge clk_i) rst_q[r] <= !srst_ni;
  end

  // ------------------------------------------------------------------ window source
  logic              wr_en, gather, win_last;
  logic [AW-1:0]     wr_addr;
  logic [RingW-1:0]  wr_data;
  logic              win_valid, win_ready;  // the window source's input (the matcher's output)
  logic [RingW-1:0]  win_data;
  logic [Pco-1:0]    desc_valid, desc_take, desc_fin;
  logic [Pco*AW-1:0] desc_base;
  logic [Pco*KK-1:0] desc_img;
  logic              gate;

  window_unit #(
    .L(L), .Ci(Ci), .H(H), .W(W), .KH(KH), .KW(KW), .Pad(Pad), .Hold(Hold), .NumWin(NumWin),
    .Pco(Pco), .PixW(RingW)
  ) u_win (
    .clk_i       (clk_i),
    .srst_ni     (!rst_q[RstWin]),
    .in_valid_i  (win_valid),
    .in_ready_o  (win_ready),
    .in_data_i   (win_data),
    .wr_en_o     (wr_en),
    .wr_addr_o   (wr_addr),
    .wr_data_o   (wr_data),
    .gate_i      (gate),
    .gather_o    (gather),
    .last_o      (win_last),
    .desc_valid_o(desc_valid),
    .desc_base_o (desc_base),
    .desc_img_o  (desc_img),
    .desc_take_i (desc_take),
    .desc_fin_i  (desc_fin)
  );

  if (Phi) begin : g_match
    logic [InW-1:0]     m_planes;
    logic [Ci-1:0]      m_pat;
    logic [Nb*L-1:0]    m_lanes;
    logic [Nb*IdxW-1:0] m_idx;
    pattern_matcher #(
      .L(L), .Ci(Ci), .K(PhiK), .Q(PhiQ), .M(PhiM),
      .PatFile(Init ? {MemPrefix, "_pat.hex"} : "")
    ) u_match (
      .clk_i       (clk_i),
      .srst_ni     (!rst_q[RstMatch]),
      .in_valid_i  (in_valid_i),
      .in_ready_o  (in_ready_o),
      .in_pixel_i  (in_data_i),
      .out_valid_o (win_valid),
      .out_ready_i (win_ready),
      .out_planes_o(m_planes),
      .out_pat_o   (m_pat),
      .out_lanes_o (m_lanes),
      .out_idx_o   (m_idx)
    );
    assign win_data = {m_idx, m_lanes, m_pat, m_planes};
  end else begin : g_direct_in
    assign win_valid  = in_valid_i;
    assign in_ready_o = win_ready;
    assign win_data   = in_data_i;
  end

  // ------------------------------------------------------------------ detectors
  logic [Pco-1:0]    n_valid, n_done, scan, peel_busy;
  logic [TagW-1:0]   n_tag [Pco];
  logic [L-1:0]      lanes [Pco];
  /* verilator lint_off UNUSEDSIGNAL */  // one of the two, depending on Score
  logic [T-1:0]      n_spikes [Pco];
  logic [ScoreW-1:0] n_score [Pco];
  /* verilator lint_on UNUSEDSIGNAL */

  for (genvar d = 0; d < Pco; d++) begin : g_det
    localparam string Pre = $sformatf("%s_d%0d_", MemPrefix, d);
    logic                   q_valid, q_ready, q_open, q_close, q_le1;
    logic [XW-1:0]          q_bits;
    logic [WordW-1:0]       b_mask, b_sign;
    logic [NTok*L-1:0]      b_tlanes;
    logic [NTok*IdxW-1:0]   b_tidx;
    logic [PRowW-1:0]       q_pbase;
    logic [L*WordW-1:0]     b_planes;
    logic [QSlotW-1:0]      q_slot, b_slot, s_slot;
    logic                   q_free;
    logic [PAddrW-1:0]      q_ptr;
    logic [CntW-1:0]        q_count;
    logic [TagW-1:0]        q_tag, r_tag;
    logic                   r_valid, r_done;
    logic [NumAcc*PAccW-1:0] r_acc;
    /* verilator lint_off UNUSEDSIGNAL */
    logic                   waiting, pair;
    /* verilator lint_on UNUSEDSIGNAL */

    mask_scanner #(
      .L(L), .Ci(Ci), .W(W), .KH(KH), .KW(KW), .Pci(Pci), .Spw(Spw), .Depth(Depth),
      .Entries(entries(d)), .WtDepth(WtDepth), .TagW(TagW),
      .FifoDepth(FifoDepth), .ListFile(Init ? {Pre, "list.hex"} : ""),
      .ListBlock(ListBlockOf[d]), .MaskFile(Init ? {Pre, "mask.hex"} : ""),
      .FieldBlock(FieldBlockOf[d]), .FieldFile(Init ? {Pre, "fields.hex"} : ""),
      .Phi(Phi), .Nb(Nb), .IdxW(IdxW), .PRowW(PRowW), .Dense(Dense), .RingBlock(RingBlock)
    ) u_scan (
      .clk_i       (clk_i),
      .srst_ni     (!rst_q[RstDet + 3 * d]),
      .wr_en_i     (wr_en),
      .wr_addr_i   (wr_addr),
      .wr_data_i   (wr_data),
      .desc_valid_i(desc_valid[d]),
      .desc_base_i (desc_base[d*AW +: AW]),
      .desc_img_i  (desc_img[d*KK +: KK]),
      .desc_take_o (desc_take[d]),
      .desc_fin_o  (desc_fin[d]),
      .out_valid_o (q_valid),
      .out_ready_i (q_ready),
      .out_bits_o  (q_bits),
      .out_slot_o  (q_slot),
      .body_slot_o (s_slot),
      .body_planes_o(b_planes),
      .body_mask_o (b_mask),
      .body_sign_o (b_sign),
      .body_tlanes_o(b_tlanes),
      .body_tidx_o (b_tidx),
      .out_pbase_o (q_pbase),
      .free_i      (q_free),
      .out_ptr_o   (q_ptr),
      .out_count_o (q_count),
      .out_le1_o   (q_le1),
      .out_open_o  (q_open),
      .out_close_o (q_close),
      .out_tag_o   (q_tag),
      .scan_o      (scan[d]),
      .wait_o      (waiting)
    );

    spike_peeler #(
      .WordW(WordW), .L(L), .Mode(Mode), .WtDepth(WtDepth), .AccW(PAccW), .TagW(TagW),
      .WtBlock(WtBlock), .WtFile(Init ? {Pre, "wt.hex"} : ""), .SlotW(QSlotW),
      .Phi(Phi), .NTok(NTok), .QW(IdxW), .PwpDepth(PRows << IdxW), .PwpW(PwpW),
      .PwpFile(Init && Phi ? {Pre, "pwp.hex"} : "")
    ) u_peel (
      .clk_i      (clk_i),
      .srst_ni    (!rst_q[RstDet + 3 * d + 1]),
      .in_valid_i (q_valid),
      .in_ready_o (q_ready),
      .in_bits_i  (q_bits),
      .in_slot_i  (q_slot),
      .body_slot_o(b_slot),
      .body_planes_i(b_planes),
      .body_mask_i(b_mask),
      .body_sign_i(b_sign),
      .body_tlanes_i(b_tlanes),
      .body_tidx_i(b_tidx),
      .in_pbase_i (q_pbase),
      .free_o     (q_free),
      .in_ptr_i   (q_ptr),
      .in_count_i (q_count),
      .in_le1_i   (q_le1),
      .in_open_i  (q_open),
      .in_close_i (q_close),
      .in_tag_i   (q_tag),
      .res_valid_o(r_valid),
      .res_acc_o  (r_acc),
      .res_tag_o  (r_tag),
      .done_o     (r_done),
      .busy_o     (peel_busy[d]),
      .pair_o     (pair),
      .lanes_o    (lanes[d])
    );

    logic              o_valid, o_done;  // the neuron's result
    logic [TagW-1:0]   o_tag;
    logic [T-1:0]      o_spikes;
    logic [ScoreW-1:0] o_score;
    lif_neuron #(
      .T(T), .NumAcc(NumAcc), .SumIn(Mode == 2), .AccW(PAccW), .BiasW(BiasW),
      .ThetaW(ThetaW), .VW(VW), .ScoreW(ScoreW), .K(K), .ResetSub(ResetSub), .Score(Score),
      .Groups(Groups), .TagW(TagW), .BiasFile(Init ? {Pre, "bias.hex"} : ""),
      .ThetaFile(Init && !Score ? {Pre, "theta.hex"} : "")
    ) u_neuron (
      .clk_i       (clk_i),
      .srst_ni     (!rst_q[RstDet + 3 * d + 2]),
      .in_valid_i  (r_valid),
      .in_acc_i    (r_acc),
      .in_tag_i    (r_tag),
      .in_done_i   (r_done),
      .out_valid_o (o_valid),
      .out_done_o  (o_done),
      .out_tag_o   (o_tag),
      .out_spikes_o(o_spikes),
      .out_score_o (o_score)
    );

    // the neuron's result registered once more before the output buffers: the neuron sits
    // with its detector, the buffers with the output register (one ECP5 placement put them
    // 5 ns of routing apart)
    always_ff @(posedge clk_i) begin
      if (rst_q[RstDet + 3 * d + 2]) begin
        n_valid[d] <= 1'b0;
        n_done[d]  <= 1'b0;
      end else begin
        n_valid[d] <= o_valid;
        n_done[d]  <= o_done;
      end
      n_tag[d]    <= o_tag;
      n_spikes[d] <= o_spikes;
      n_score[d]  <= o_score;
    end

    // the scanner shows the body of the word it handed over last: the one being peeled
    always_ff @(posedge clk_i) begin
      if (srst_ni && !rst_q[RstDet + 3 * d + 1]) begin
        assert (!peel_busy[d] || b_slot == s_slot)
          else $error("layer_core: detector %0d peels slot %0d, its scanner shows slot %0d", d,
                      b_slot, s_slot);
      end
    end
  end

  // ------------------------------------------------------------------ pixel buffers
  logic [NumBuf-1:0] used_q;
  logic [BufW-1:0]   det_buf_q [Pco];
  logic [BufW-1:0]   alloc_q, out_q, clr_buf_q;
  logic              clr_q;  // buffer clr_buf_q was handed off last cycle
  logic              oq_valid, oq_ready, handoff;

  // a buffer's written flags (per channel: written, else the empty-channel output) are
  // cleared two cycles after its hand-off, from each detector's copy of the registered
  // hand-off (not at the gather that allocates the buffer, nor at the hand-off: either
  // decision would reach every flag of the core through one route, 6.7 ns on ECP5); no
  // channel writes a buffer that soon after its hand-off
  // Each detector's channels also read the output buffer at their own copy of its index
  // (one index net reaching every channel's LUT-RAM was 4.4 ns of routing).
  logic [Pco-1:0]    clr_d_q;
  logic [BufW-1:0]   clr_buf_d_q [Pco];
  logic [BufW-1:0]   out_d_q [Pco];
  for (genvar d = 0; d < Pco; d++) begin : g_copy
    (* keep *) always_ff @(posedge clk_i) begin
      if (rst_q[RstDet + 3 * d + 2]) begin
        clr_d_q[d]     <= 1'b0;
        clr_buf_d_q[d] <= '0;
        out_d_q[d]     <= '0;
      end else begin
        clr_d_q[d]     <= clr_q;
        clr_buf_d_q[d] <= clr_buf_q;
        if (handoff) out_d_q[d] <= out_q + BufW'(1);
      end
    end
  end
  logic [PixW-1:0]   empty_out;

  lut_rom #(.Width(PixW), .Depth(1), .InitFile(Init ? {MemPrefix, "_empty.hex"} : ""),
            .AddrWidth(1)) u_empty (
    .clk_i (clk_i),
    .en_i  (1'b1),
    .addr_i(1'b0),
    .data_o(empty_out)
  );

  // the window gate, buffer alloc_q is free: a flip-flop computed from the flags' next values
  // (allocation and hand-off of this cycle), so the gather test starts at flip-flops (on ECP5
  // alloc_q -> used_q mux -> gather -> its fan-out was 7.7 ns)
  // The gate decides on its own (kept) copies of cmpl_q and oq_valid: the shared hand-off net
  // reaches every detector's lead count and the buffer flags, and through it the gate was
  // 7.8 ns on ECP5 (4.7 of them one route)
  logic gate_q, cmpl_g_q, valid_g_q, handoff_g;
  function automatic logic free_next(input logic [BufW-1:0] b);
    return !used_q[b] || (handoff_g && out_q == b);
  endfunction
  assign gate = gate_q;
  assign handoff_g = cmpl_g_q && !valid_g_q;

  // buffer out_q is complete (every detector done with it), registered: computed for the next
  // cycle's out_q from per-detector counts of the buffers each has finished and that are not
  // handed off yet (lead; the detectors finish buffers in allocation order, so the oldest
  // buffer is complete when every lead is >= 1). Flags lead >= 1 and lead >= 2 are kept in
  // registers, so the next completeness is one LUT per detector (its flags, its neuron's done,
  // the hand-off) and an AND over the detectors (a buffer index compared per detector and a
  // flag multiplexer per buffer was 7 LUT levels on xcup with 8 detectors or 16 buffers). The
  // hand-off test then starts at flip-flops (on ECP5, FIFO ready -> pool ready -> buffer flags
  // mux -> hand-off -> flag clears was 8.1 ns).
  localparam int unsigned LeadW = BufW + 1;
  logic             cmpl_q;
  logic [Pco-1:0]   one_q, two_q, fin_nx;  // lead >= 1, lead >= 2; lead >= 1 next cycle
  logic [LeadW-1:0] lead_q [Pco];
  logic [PixW-1:0] oq_data;
  logic            cmpl_nx, oq_valid_nx;  // next values of cmpl_q and oq_valid
  // a hand-off goes into an empty output register only (not into one emptied this cycle):
  // the hand-off then starts at flip-flops of this core, and the downstream ready enters only
  // the output register's valid flag (on ECP5, the next FIFO's ready -> pool ready -> hand-off
  // -> completeness of the next buffer was 7.2 ns, 5.6 of it routing). Hand-offs are then at
  // least two cycles apart, which costs cycles only where pixels complete in a burst (after
  // the output was held back): the shipped scnn5's frame period grew by one cycle.
  assign handoff     = cmpl_q && !oq_valid;
  assign cmpl_nx     = &fin_nx;
  assign oq_valid_nx = oq_valid ? !oq_ready : handoff;
  (* keep *) always_ff @(posedge clk_i) begin
    if (rst_q[RstBuf]) begin
      cmpl_g_q  <= 1'b0;
      valid_g_q <= 1'b0;
    end else begin
      cmpl_g_q  <= cmpl_nx;
      valid_g_q <= oq_valid_nx;
    end
  end
  always_ff @(posedge clk_i) begin
    if (srst_ni && !rst_q[RstBuf]) begin
      assert (!cmpl_q || used_q[out_q])
        else $error("layer_core: buffer %0d complete but not allocated", out_q);
      assert (gate_q == !used_q[alloc_q])
        else $error("layer_core: registered gate of buffer %0d is stale", alloc_q);
      assert (cmpl_g_q == cmpl_q && valid_g_q == oq_valid)
        else $error("layer_core: the gate's copies of the completeness and valid flags differ");
      for (int unsigned d = 0; d < Pco; d++) begin
        assert (!n_done[d] || used_q[det_buf_q[d]])
          else $error("layer_core: detector %0d done with buffer %0d, which is not allocated", d,
                      det_buf_q[d]);
        assert (det_buf_q[d] == out_q + BufW'(lead_q[d]) && 32'(lead_q[d]) <= NumBuf
                && one_q[d] == (lead_q[d] != '0) && two_q[d] == (lead_q[d] > LeadW'(1)))
          else $error("layer_core: detector %0d's count of finished buffers (%0d) is stale", d,
                      lead_q[d]);
      end
    end
  end

  for (genvar d = 0; d < Pco; d++) begin : g_lead
    logic [LeadW-1:0] lead_nx;
    assign lead_nx   = lead_q[d] + LeadW'(n_done[d]) - LeadW'(handoff);
    assign fin_nx[d] = two_q[d] || (one_q[d] && (n_done[d] || !handoff))
                       || (n_done[d] && !handoff);
    always_ff @(posedge clk_i) begin
      if (rst_q[RstBuf]) begin
        lead_q[d] <= '0;
        one_q[d]  <= 1'b0;
        two_q[d]  <= 1'b0;
      end else begin
        lead_q[d] <= lead_nx;
        one_q[d]  <= fin_nx[d];
        two_q[d]  <= lead_nx > LeadW'(1);
      end
    end
  end

  // the output register loads on a hand-off only, in groups of whole channels (up to OGrpW
  // bits), each from its own copies of cmpl_q and oq_valid (kept: synthesis would merge
  // them): each group's enable is one LUT next to its flip-flops (one hand-off net to every
  // flip-flop of the register was two LUTs and a 4.1 ns route on ECP5). Each channel loads
  // its own bits (below, in g_wr) under its group's enable, so the simulator reads a channel's
  // value only on a hand-off (a pixel assembled every cycle for the groups to pick from was
  // ~9 % of the soak's time in Verilator)
  localparam int unsigned ChW   = Score ? ScoreW : T;  // output bits per channel
  localparam int unsigned OGrpW = 64;
  localparam int unsigned ChPG  = (OGrpW / ChW > 0) ? OGrpW / ChW : 1;  // channels per group
  localparam int unsigned NOGrp = (Co + ChPG - 1) / ChPG;
  logic [NOGrp-1:0] oq_ld;  // group g loads (= handoff)
  for (genvar g = 0; g < NOGrp; g++) begin : g_oq
    logic cmpl_c, valid_c;
    (* keep *) always_ff @(posedge clk_i) begin
      if (rst_q[RstOut]) begin
        cmpl_c  <= 1'b0;
        valid_c <= 1'b0;
      end else begin
        cmpl_c  <= cmpl_nx;
        valid_c <= oq_valid_nx;
      end
    end
    assign oq_ld[g] = cmpl_c && !valid_c;
    always_ff @(posedge clk_i) begin
      if (srst_ni && !rst_q[RstOut]) begin
        assert (cmpl_c == cmpl_q && valid_c == oq_valid)
          else $error("layer_core: output register group %0d's enable copies are stale", g);
      end
    end
  end

  // the written flags, per detector: a row of its slots per buffer (one process per detector,
  // the same flip-flops as one flag per channel)
  logic [Groups-1:0] wrote_d [Pco];  // at the output buffer (the detector's copy of its index)
  for (genvar d = 0; d < Pco; d++) begin : g_flags
    logic [NumBuf-1:0][Groups-1:0] wrote_q;
    logic                          n_in;  // the neuron's slot is one of the detector's
    assign n_in = (32'(n_tag[d]) < Groups);
    always_ff @(posedge clk_i) begin
      if (rst_q[RstDet + 3 * d + 2]) begin
        wrote_q <= '0;
      end else begin
        if (clr_d_q[d])         wrote_q[clr_buf_d_q[d]]         <= '0;
        if (n_valid[d] && n_in) wrote_q[det_buf_q[d]][n_tag[d]] <= 1'b1;
      end
    end
    assign wrote_d[d] = wrote_q[out_d_q[d]];
    // a gathered window gets a buffer with the detector's channels not written, or one being
    // cleared; no write meets the clear of its buffer (simulation too)
    always_ff @(posedge clk_i) begin
      if (srst_ni && !rst_q[RstDet + 3 * d + 2]) begin
        assert (!gather || wrote_q[alloc_q] == '0 || (clr_q && clr_buf_q == alloc_q)
                || (clr_d_q[d] && clr_buf_d_q[d] == alloc_q))
          else $error("layer_core: buffer %0d allocated with detector %0d's channels written",
                      alloc_q, d);
        assert (!(clr_d_q[d] && n_valid[d] && det_buf_q[d] == clr_buf_d_q[d]))
          else $error("layer_core: detector %0d writes buffer %0d while it is cleared", d,
                      det_buf_q[d]);
        assert (!n_valid[d] || n_in)
          else $error("layer_core: detector %0d's neuron tags slot %0d of %0d", d, n_tag[d],
                      Groups);
      end
    end
  end

  for (genvar c = 0; c < Co; c++) begin : g_wr
    localparam int unsigned S = slot(c);
    localparam int unsigned D = S % Pco;
    localparam int unsigned G = S / Pco;
    logic we, wrote;  // this channel's result arrives (from its detector's neuron)
    logic [ChW-1:0] value, stored;
    logic          ld;  // the output register loads (this channel's group's copy)
    assign ld = oq_ld[c / ChPG];
    assign we    = n_valid[D] && (n_tag[D] == TagW'(G));
    assign wrote = wrote_d[D][G];
    // the channel's value in each buffer: a small LUT-RAM per channel (each channel has its
    // own write moment), written at its detector's buffer, read at the output buffer
    (* ram_style = "distributed" *) logic [ChW-1:0] vbuf [NumBuf];
    always_ff @(posedge clk_i) begin
      if (we) vbuf[det_buf_q[D]] <= value;
    end
    assign stored = vbuf[out_d_q[D]];
    // the output pixel: channel c's value, or the empty pixel's where nothing was written
    if (Score) begin : g_score
      assign value = n_score[D];
      always_ff @(posedge clk_i) begin
        if (rst_q[RstOut]) oq_data[c*ScoreW +: ScoreW] <= '0;
        else if (ld) oq_data[c*ScoreW +: ScoreW] <= wrote ? stored
                                                           : empty_out[c*ScoreW +: ScoreW];
      end
    end else begin : g_spikes
      assign value = n_spikes[D];
      always_ff @(posedge clk_i) begin
        if (rst_q[RstOut]) begin
          for (int unsigned t = 0; t < T; t++) oq_data[t*Co + c] <= 1'b0;
        end else if (ld) begin
          for (int unsigned t = 0; t < T; t++) begin
            oq_data[t*Co + c] <= wrote ? stored[t] : empty_out[t*Co + c];
          end
        end
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (rst_q[RstBuf]) begin
      used_q    <= '0;
      alloc_q   <= '0;
      out_q     <= '0;
      oq_valid  <= 1'b0;
      clr_q     <= 1'b0;
      clr_buf_q <= '0;
      cmpl_q    <= 1'b0;
      gate_q    <= 1'b1;
      for (int unsigned d = 0; d < Pco; d++) det_buf_q[d] <= '0;
    end else begin
      if (gather) begin
        used_q[alloc_q] <= 1'b1;
        alloc_q         <= alloc_q + BufW'(1);
      end
      clr_q     <= handoff;
      clr_buf_q <= out_q;
      cmpl_q    <= cmpl_nx;
      gate_q    <= gather ? free_next(alloc_q + BufW'(1)) : free_next(alloc_q);
      for (int unsigned d = 0; d < Pco; d++) begin
        if (n_done[d]) begin
          det_buf_q[d] <= det_buf_q[d] + BufW'(1);
        end
      end
      oq_valid <= oq_valid_nx;
      if (handoff) begin
        used_q[out_q] <= 1'b0;
        out_q         <= out_q + BufW'(1);
      end
    end
  end

  // ------------------------------------------------------------------ output (+ pool)
  if (Pool == 2) begin : g_pool
    spike_pool #(.PixW(PixW), .H(Ho), .W(Wo)) u_pool (
      .clk_i      (clk_i),
      .srst_ni    (!rst_q[RstPool]),
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
  // each counter adds a condition registered the cycle before (exact counts, one cycle late):
  // the conditions come from the detectors' handshakes across the core, the counters' enables
  // then start at a flip-flop (on ECP5 a scanner's issue test reached the 32 enables of the
  // busy counter through one 6.9 ns route). The pairs are counted from the detectors' lanes
  // registered here (the peelers are spread over the core: 3 ns of routing before the
  // popcount), so that count is two cycles late.
  localparam int unsigned PairW = unsigned'($clog2(Pco * L + 1));
  logic [Pco*L-1:0] lanes_q;
  logic [PairW-1:0] pairs_now, pairs_q;
  popcount #(.Width(Pco * L), .CntW(PairW)) u_pairs (
    .bits_i (lanes_q),
    .count_o(pairs_now)
  );

  logic           busy_q, pixel_q;
  logic [Pco-1:0] occ_q;
  always_ff @(posedge clk_i) begin
    if (rst_q[RstCnt]) begin
      busy_q       <= 1'b0;
      pixel_q      <= 1'b0;
      occ_q        <= '0;
      lanes_q      <= '0;
      pairs_q      <= '0;
      cnt_busy_o   <= '0;
      cnt_pairs_o  <= '0;
      cnt_pixels_o <= '0;
      cnt_occ_o    <= '0;
    end else begin
      busy_q  <= |(scan | peel_busy);
      pixel_q <= handoff;
      occ_q   <= scan | peel_busy;
      for (int unsigned d = 0; d < Pco; d++) lanes_q[d*L +: L] <= lanes[d];
      pairs_q <= pairs_now;
      if (busy_q) cnt_busy_o <= cnt_busy_o + 32'd1;
      cnt_pairs_o <= cnt_pairs_o + 32'(pairs_q);
      if (pixel_q) cnt_pixels_o <= cnt_pixels_o + 32'd1;
      for (int unsigned d = 0; d < Pco; d++) begin
        if (occ_q[d]) cnt_occ_o[d*32 +: 32] <= cnt_occ_o[d*32 +: 32] + 32'd1;
      end
    end
  end

  /* verilator lint_off UNUSEDSIGNAL */
  logic unused_last;
  /* verilator lint_on UNUSEDSIGNAL */
  assign unused_last = win_last;

endmodule

`default_nettype wire
