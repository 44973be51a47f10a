// Dual-side sparsity detector: one per parallel output channel of a core.
//
// For each group g (output channel of slot g * Pco + d, assigned by the compiler) the window,
// L planes of Nseg segments of Pci bits, is ANDed with the channel's weight mask. The detector
// peels the lowest set bit every cycle with a three-level log-depth encoder (plane, segment,
// bit), so empty segments and planes cost nothing (look-ahead over the whole window). The
// packed non-zero weight of a pair sits at ptr[s] + popcount(mask[s] & below(b)), where ptr[s]
// is the address of segment s's first non-zero weight (a compiler table, no prefix sums).
//
// Group look-ahead: one mask ROM word holds the masks of Look consecutive groups; the groups
// of a word with no pair are skipped at no cost (their outputs are the core's preset values),
// an entirely empty word costs one cycle. So a pixel costs, per word, the pairs of its groups,
// or 1 when it has none (Look = 1: max(1, pairs) per group).
//
// Decoupling: the detector keeps its own copy of the window, takes the next window from the
// core the cycle its last group finishes (win_take_o), and reports the end of each pixel
// (done_o, with the pixel's last result). busy_o: a pixel is open (occupied cycles).
//
// Direct = 1: the planes are input bit-planes; a pair of plane l adds w << l to one sum.
// Skip   = 0: dense baseline of the same datapath: every group, every window position costs a
//             cycle and only (mask & spike) positions accumulate.
// Phi    = 1: pattern mode (needs Skip = 1, Direct = 0). With the window come the core's
//             matched pattern window (pat_i, same layout) and pattern indices (j_i). For each
//             vector (plane l, segment s) of a group: a = spikes & mask, d = (spikes ^ pattern)
//             & mask; when popcount(d) + 1 < popcount(a) the group adds the precomputed
//             PWP[group][s][j] (one cycle), then peels d, adding the weight where the spike is
//             1 and subtracting it where the pattern is 1 (the residual in {-1, +1});
//             otherwise it peels a as without Phi. PWP tokens are peeled first, then positions.
module sparse_detector #(
  parameter int unsigned L         = 4,
  parameter int unsigned Nseg      = 9,
  parameter int unsigned Pci       = 16,
  parameter int unsigned Groups    = 1,
  parameter int unsigned Look      = 1,     // groups per mask word, divides Groups
  parameter int unsigned WtDepth   = 1,
  parameter int unsigned AccW      = 16,
  parameter int unsigned BiasW     = 8,
  parameter int unsigned ThetaW    = 8,
  parameter bit          Direct    = 1'b0,
  parameter bit          Skip      = 1'b1,
  parameter string       MaskFile  = "",
  parameter string       PtrFile   = "",
  parameter string       WtFile    = "",
  parameter string       BiasFile  = "",
  parameter string       ThetaFile = "",
  parameter bit          HasTheta  = 1'b1,
  parameter bit          Phi       = 1'b0,
  parameter int unsigned Q         = 1,     // patterns per segment index (Phi), power of two
  parameter int unsigned PwpW      = 2,     // signed PWP width (Phi)
  parameter string       PwpFile   = "",    // word (group * Nseg + s) * Q + j (Phi)
  // derived
  parameter int unsigned SegW      = Nseg * Pci,
  parameter int unsigned VecW      = L * SegW,
  parameter int unsigned AddrW     = (WtDepth > 1) ? $clog2(WtDepth) : 1,
  parameter int unsigned GroupW    = (Groups > 1) ? $clog2(Groups) : 1,
  parameter int unsigned NumAcc    = Direct ? 1 : L,
  parameter int unsigned QW        = (Q > 1) ? $clog2(Q) : 1,
  parameter int unsigned IdxW      = L * Nseg * QW
) (
  input  logic                     clk_i,
  input  logic                     rst_ni,
  input  logic                     win_valid_i,  // a window this detector has not taken yet
  input  logic [VecW-1:0]          window_i,     // bit (l * Nseg + s) * Pci + b
  /* verilator lint_off UNUSEDSIGNAL */  // Phi only
  input  logic [VecW-1:0]          pat_i,        // the window's matched patterns (Phi)
  input  logic [IdxW-1:0]          j_i,          // their indices, (l, s) at [(l*Nseg+s)*QW]
  /* verilator lint_on UNUSEDSIGNAL */
  output logic                     win_take_o,   // the window is taken this cycle
  output logic                     busy_o,       // a pixel is open
  output logic                     res_valid_o,  // one result per loaded group, in order
  output logic [GroupW-1:0]        res_group_o,
  output logic [NumAcc*AccW-1:0]   res_acc_o,    // sum of plane l at [l*AccW +: AccW]
  output logic [BiasW-1:0]         res_bias_o,
  output logic [ThetaW-1:0]        res_theta_o,
  output logic                     done_o,       // the pixel ends (with its last result)
  output logic                     pair_o        // a non-zero (weight, spike) pair accumulated
`ifdef FORMAL
  ,  // the ROM contents, free inputs of the proof (see the FORMAL block below)
  input  logic [Groups/Look*Look*Nseg*Pci-1:0] f_masks,
  input  logic [Groups*AddrW-1:0]              f_base
`endif
);

  localparam int unsigned Words    = Groups / Look;
  localparam int unsigned WordW    = Look * SegW;
  localparam int unsigned WIdxW    = (Words > 1) ? $clog2(Words) : 1;
  localparam int unsigned JW       = (Look > 1) ? $clog2(Look) : 1;
  localparam int unsigned LW       = (L > 1) ? $clog2(L) : 1;
  localparam int unsigned SW       = (Nseg > 1) ? $clog2(Nseg) : 1;
  localparam int unsigned BW       = (Pci > 1) ? $clog2(Pci) : 1;
  localparam int unsigned CntW     = $clog2(Pci + 1);
  localparam int unsigned PtrWordW = Nseg * AddrW;
  localparam int unsigned NV       = L * Nseg;  // vectors per window
  localparam int unsigned PwpDepth = Groups * Nseg * Q;
  localparam int unsigned RowW     = (Groups * Nseg > 1) ? $clog2(Groups * Nseg) : 1;
  localparam int unsigned PwpAW    = RowW + QW;

  if (Phi && (Direct || !Skip)) begin : g_bad_phi
    $error("sparse_detector: Phi needs Skip = 1 and Direct = 0");
  end
  if (Phi && (Q < 2 || Q != (1 << QW))) begin : g_bad_q
    $error("sparse_detector: Q must be a power of two >= 2");
  end

  // ------------------------------------------------------------------ ROMs
  logic [WIdxW-1:0]    word_rd;
  logic [GroupW-1:0]   ptr_rd;
  logic [WordW-1:0]    mask_rom;  // masks of the word after the current one
  logic [PtrWordW-1:0] ptr_rom;   // segment pointers of the group being peeled

`ifdef FORMAL
  // Formal: the mask and pointer ROMs hold arbitrary constant contents (free nets, assumed
  // stable), the pointers consistent with the masks as the compiler writes them: segment s of
  // group g starts at base[g] + the number of mask bits of g in the segments before s.
  function automatic logic [SegW-1:0] f_mask_of(input logic [GroupW-1:0] g);
    return f_masks[32'(g) * SegW +: SegW];
  endfunction
  function automatic logic [WordW-1:0] f_word_of(input logic [WIdxW-1:0] w);
    return f_masks[32'(w) * WordW +: WordW];
  endfunction
  function automatic logic [PtrWordW-1:0] f_ptr_of(input logic [GroupW-1:0] g);
    logic [PtrWordW-1:0] p;
    logic [SegW-1:0] m;
    logic [AddrW-1:0] a;
    m = f_mask_of(g);
    a = f_base[32'(g) * AddrW +: AddrW];
    for (int unsigned s = 0; s < Nseg; s++) begin
      p[s*AddrW +: AddrW] = a;
      for (int unsigned b = 0; b < Pci; b++) a = a + AddrW'(m[s*Pci + b]);
    end
    return p;
  endfunction
  always_ff @(posedge clk_i) begin
    mask_rom <= f_word_of(word_rd);
    ptr_rom  <= f_ptr_of(ptr_rd);
  end
`else
  sync_rom #(.Width(WordW), .Depth(Words), .InitFile(MaskFile), .AddrWidth(WIdxW)) u_mask (
    .clk_i (clk_i),
    .en_i  (1'b1),
    .addr_i(word_rd),
    .data_o(mask_rom)
  );
  sync_rom #(.Width(PtrWordW), .Depth(Groups), .InitFile(PtrFile), .AddrWidth(GroupW)) u_ptr (
    .clk_i (clk_i),
    .en_i  (1'b1),
    .addr_i(ptr_rd),
    .data_o(ptr_rom)
  );

`endif

  // ------------------------------------------------------------------ scan state
  logic              open_q;   // a pixel is in progress
  logic [VecW-1:0]   win_q;    // its window
  logic [WIdxW-1:0]  word_q;   // current word (Words - 1 while no pixel is open)
  logic [GroupW-1:0] base_q;   // its first group (counter, no multiplier)
  logic [WordW-1:0]  wmask_q;  // its masks
  logic [Look-1:0]   pend_q;   // its groups with pairs not yet loaded

  // ------------------------------------------------------------------ peel state
  logic                active_q;
  logic [GroupW-1:0]   grp_q;
  logic [VecW-1:0]     vec_q;     // positions still to visit
  logic [SegW-1:0]     mask_q;
  logic [VecW-1:0]     vec_rest;
  logic                last_pos;
  // Phi: PWP tokens still to add (one per vector), residual positions to subtract
  /* verilator lint_off UNUSEDSIGNAL */  // without Phi
  logic [NV-1:0]       pwp_q, pwp_rest;
  logic [VecW-1:0]     neg_q;
  /* verilator lint_on UNUSEDSIGNAL */
  logic                pwp_tok;   // this cycle peels a PWP token, not a position

  // the vector of a group: window AND mask
  function automatic logic [VecW-1:0] group_vec(input logic [VecW-1:0] win,
                                                input logic [SegW-1:0] mask);
    logic [VecW-1:0] v;
    for (int unsigned l = 0; l < L; l++) v[l*SegW +: SegW] = win[l*SegW +: SegW] & mask;
    return v;
  endfunction

  // what happens this cycle: the peeler is free when idle or on its group's last position
  logic free, last_word, take, advance, from_pend, done_now;
  assign free      = !active_q || last_pos;
  assign last_word = (word_q == WIdxW'(Words - 1));
  assign from_pend = free && open_q && (pend_q != '0);
  assign advance   = free && open_q && (pend_q == '0) && !last_word;
  assign done_now  = free && open_q && (pend_q == '0) && last_word;
  assign take      = free && (!open_q || done_now) && win_valid_i;
  assign win_take_o = take;

  // groups of the new word (taken window or next word) that have pairs
  logic [VecW-1:0]  src_win;
  logic [Look-1:0]  nonempty, cand;
  assign src_win = take ? window_i : win_q;
  for (genvar j = 0; j < Look; j++) begin : g_nonempty
    if (Skip) begin : g_skip
      assign nonempty[j] = |group_vec(src_win, mask_rom[j*SegW +: SegW]);
    end else begin : g_dense
      assign nonempty[j] = 1'b1;  // dense baseline: every group is visited
    end
  end
  assign cand = from_pend ? pend_q : nonempty;

  logic          sel_any;
  logic [JW-1:0] sel;
  lsb_encoder #(.Width(Look), .IdxW(JW)) u_enc_group (
    .bits_i (cand),
    .valid_o(sel_any),
    .idx_o  (sel)
  );

  logic [Look-1:0]   sel_oh;
  logic [WordW-1:0]  src_word;
  logic [SegW-1:0]   load_mask;
  logic [GroupW-1:0] base_next, load_grp;
  logic              load;
  always_comb begin
    for (int unsigned j = 0; j < Look; j++) sel_oh[j] = (JW'(j) == sel);
  end
  assign src_word = from_pend ? wmask_q : mask_rom;
  always_comb begin
    load_mask = '0;
    for (int unsigned j = 0; j < Look; j++) begin
      if (sel_oh[j]) load_mask = src_word[j*SegW +: SegW];
    end
  end
  assign base_next = take ? '0 : (advance ? base_q + GroupW'(Look) : base_q);
  assign load_grp  = base_next + GroupW'(32'(sel));
  assign load      = (take || advance || from_pend) && sel_any;

  // ROM addresses: the word after the next current word, the group being peeled
  logic [WIdxW-1:0] word_next;
  assign word_next = take ? '0 : (advance ? word_q + WIdxW'(1) : word_q);
  // (in reset: word 0, so a window taken in the first cycle after reset finds its masks)
  assign word_rd   = (!rst_ni || word_next == WIdxW'(Words - 1)) ? '0 : word_next + WIdxW'(1);
  assign ptr_rd    = load ? load_grp : grp_q;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      open_q  <= 1'b0;
      win_q   <= '0;
      word_q  <= WIdxW'(Words - 1);
      base_q  <= '0;
      wmask_q <= '0;
      pend_q  <= '0;
    end else if (take || advance) begin
      open_q  <= 1'b1;
      word_q  <= word_next;
      base_q  <= base_next;
      wmask_q <= mask_rom;
      pend_q  <= nonempty & ~sel_oh;
      if (take) win_q <= window_i;
    end else if (from_pend) begin
      pend_q <= pend_q & ~sel_oh;
    end else if (done_now) begin
      open_q <= 1'b0;
    end
  end

  assign busy_o = open_q;

  // ------------------------------------------------------------------ peeler
  // lowest position: plane, then segment, then bit
  logic [L-1:0]    plane_any;
  logic            any;
  logic [LW-1:0]   l_idx;
  logic [SegW-1:0] plane_bits;
  logic [Nseg-1:0] seg_any;
  logic [SW-1:0]   s_idx;
  logic [Pci-1:0]  seg_bits;
  logic [BW-1:0]   b_idx;

  for (genvar l = 0; l < L; l++) begin : g_plane_any
    assign plane_any[l] = |vec_q[l*SegW +: SegW];
  end
  lsb_encoder #(.Width(L), .IdxW(LW)) u_enc_plane (
    .bits_i (plane_any),
    .valid_o(any),
    .idx_o  (l_idx)
  );

  always_comb begin
    plane_bits = '0;
    for (int unsigned l = 0; l < L; l++) begin
      if (LW'(l) == l_idx) plane_bits = vec_q[l*SegW +: SegW];
    end
  end

  for (genvar s = 0; s < Nseg; s++) begin : g_seg_any
    assign seg_any[s] = |plane_bits[s*Pci +: Pci];
  end
  /* verilator lint_off PINCONNECTEMPTY */
  lsb_encoder #(.Width(Nseg), .IdxW(SW)) u_enc_seg (
    .bits_i (seg_any),
    .valid_o(),
    .idx_o  (s_idx)
  );
  /* verilator lint_on PINCONNECTEMPTY */

  logic [Pci-1:0]   mask_seg;
  logic [AddrW-1:0] ptr_seg;
  always_comb begin
    seg_bits = '0;
    mask_seg = '0;
    ptr_seg  = '0;
    for (int unsigned s = 0; s < Nseg; s++) begin
      if (SW'(s) == s_idx) begin
        seg_bits = plane_bits[s*Pci +: Pci];
        mask_seg = mask_q[s*Pci +: Pci];
        ptr_seg  = ptr_rom[s*AddrW +: AddrW];
      end
    end
  end

  /* verilator lint_off PINCONNECTEMPTY */
  lsb_encoder #(.Width(Pci), .IdxW(BW)) u_enc_bit (
    .bits_i (seg_bits),
    .valid_o(),
    .idx_o  (b_idx)
  );
  /* verilator lint_on PINCONNECTEMPTY */

  // weight address: segment pointer + mask bits below the peeled bit
  logic [Pci-1:0]  below;
  logic [CntW-1:0] below_cnt;
  always_comb begin
    for (int unsigned b = 0; b < Pci; b++) below[b] = (BW'(b) < b_idx);
  end
  popcount #(.Width(Pci), .CntW(CntW)) u_cnt (.bits_i(mask_seg & below), .count_o(below_cnt));

  // the true address is < WtDepth, so keeping the low AddrW bits of the sum is exact
  localparam int unsigned SumW = ((AddrW > CntW) ? AddrW : CntW) + 1;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [SumW-1:0] addr_sum;
  /* verilator lint_on UNUSEDSIGNAL */
  assign addr_sum = SumW'(ptr_seg) + SumW'(below_cnt);
  logic [AddrW-1:0] wt_addr;
  assign wt_addr = addr_sum[AddrW-1:0];

  // one-hot of the peeled position, to clear it
  logic [L-1:0]    oh_l;
  logic [Nseg-1:0] oh_s;
  logic [Pci-1:0]  oh_b;
  always_comb begin
    for (int unsigned l = 0; l < L; l++) oh_l[l] = (LW'(l) == l_idx);
    for (int unsigned s = 0; s < Nseg; s++) oh_s[s] = (SW'(s) == s_idx);
    for (int unsigned b = 0; b < Pci; b++) oh_b[b] = (BW'(b) == b_idx);
  end
  always_comb begin
    for (int unsigned l = 0; l < L; l++) begin
      for (int unsigned s = 0; s < Nseg; s++) begin
        vec_rest[(l * Nseg + s) * Pci +: Pci] = vec_q[(l * Nseg + s) * Pci +: Pci]
                                              & ~((oh_l[l] && oh_s[s]) ? oh_b : '0);
      end
    end
  end

  // the hits of the group being loaded
  /* verilator lint_off UNUSEDSIGNAL */  // with Phi
  logic [VecW-1:0] load_hits;
  /* verilator lint_on UNUSEDSIGNAL */
  assign load_hits = group_vec(src_win, load_mask);

  // what the peeler gets: the hits, or with Phi per vector the residual and its PWP token
  logic [VecW-1:0] load_vec, load_neg;
  logic [NV-1:0]   load_use;
  /* verilator lint_off UNUSEDSIGNAL */  // without Phi
  logic [IdxW-1:0] j_q;   // the open pixel's pattern indices (Phi)
  /* verilator lint_on UNUSEDSIGNAL */
  if (Phi) begin : g_phi_load
    logic [VecW-1:0] pat_q, src_pat;
    always_ff @(posedge clk_i) begin
      if (take) begin
        pat_q <= pat_i;
        j_q   <= j_i;
      end
    end
    assign src_pat = take ? pat_i : pat_q;
    for (genvar v = 0; v < NV; v++) begin : g_vec
      localparam int unsigned S = v % Nseg;
      logic [Pci-1:0]  a, p, m, am, dm;
      logic [CntW-1:0] za, zd;
      assign a  = src_win[v*Pci +: Pci];
      assign p  = src_pat[v*Pci +: Pci];
      assign m  = load_mask[S*Pci +: Pci];
      assign am = a & m;
      assign dm = (a ^ p) & m;
      popcount #(.Width(Pci), .CntW(CntW)) u_za (.bits_i(am), .count_o(za));
      popcount #(.Width(Pci), .CntW(CntW)) u_zd (.bits_i(dm), .count_o(zd));
      assign load_use[v] = ({1'b0, zd} + (CntW + 1)'(1)) < {1'b0, za};
      assign load_vec[v*Pci +: Pci] = load_use[v] ? dm : am;
      assign load_neg[v*Pci +: Pci] = load_use[v] ? (p & ~a & m) : '0;
    end
  end else begin : g_no_phi_load
    assign load_vec = load_hits;
    assign load_neg = '0;
    assign load_use = '0;
    assign j_q      = '0;
  end

  // is the peeled position a real pair? (always, when skipping; else window & mask there)
  logic hit;
  if (Skip) begin : g_hit_skip
    assign hit = 1'b1;
  end else begin : g_hit_dense
    logic [VecW-1:0] hit_q;  // window & mask of the group
    logic [VecW-1:0] hit_sel;
    always_ff @(posedge clk_i) begin
      if (!rst_ni) hit_q <= '0;
      else if (load) hit_q <= load_hits;
    end
    always_comb begin
      for (int unsigned l = 0; l < L; l++) begin
        for (int unsigned s = 0; s < Nseg; s++) begin
          hit_sel[(l * Nseg + s) * Pci +: Pci] = hit_q[(l * Nseg + s) * Pci +: Pci]
                                               & ((oh_l[l] && oh_s[s]) ? oh_b : '0);
        end
      end
    end
    assign hit = |hit_sel;
  end

  // Phi: the lowest PWP token (plane, then segment) goes before any position
  logic [LW-1:0]      lp_idx;
  logic [VecW-1:0]    vec_after;
  logic               neg_bit;
  /* verilator lint_off UNUSEDSIGNAL */  // without Phi
  logic [SW-1:0]      sp_idx;
  logic [PwpAW-1:0]   pwp_addr;
  /* verilator lint_on UNUSEDSIGNAL */
  if (Phi) begin : g_phi_peel
    logic [L-1:0]    pl_any;
    logic [Nseg-1:0] pl_bits;
    for (genvar l = 0; l < L; l++) begin : g_pl
      assign pl_any[l] = |pwp_q[l*Nseg +: Nseg];
    end
    lsb_encoder #(.Width(L), .IdxW(LW)) u_enc_pl (
      .bits_i (pl_any),
      .valid_o(pwp_tok),
      .idx_o  (lp_idx)
    );
    always_comb begin
      pl_bits = '0;
      for (int unsigned l = 0; l < L; l++) begin
        if (LW'(l) == lp_idx) pl_bits = pwp_q[l*Nseg +: Nseg];
      end
    end
    /* verilator lint_off PINCONNECTEMPTY */
    lsb_encoder #(.Width(Nseg), .IdxW(SW)) u_enc_ps (
      .bits_i (pl_bits),
      .valid_o(),
      .idx_o  (sp_idx)
    );
    /* verilator lint_on PINCONNECTEMPTY */
    always_comb begin
      for (int unsigned l = 0; l < L; l++) begin
        for (int unsigned s = 0; s < Nseg; s++) begin
          pwp_rest[l*Nseg + s] = pwp_q[l*Nseg + s] && !(pwp_tok && LW'(l) == lp_idx
                                                        && SW'(s) == sp_idx);
        end
      end
    end
    // PWP word (group * Nseg + s) * Q + j; group * Nseg kept from the load
    logic [RowW-1:0]     row_q;
    logic [QW-1:0]       j_sel;
    always_ff @(posedge clk_i) begin
      if (load) row_q <= RowW'(32'(load_grp) * Nseg);
    end
    always_comb begin
      j_sel = '0;
      for (int unsigned l = 0; l < L; l++) begin
        for (int unsigned s = 0; s < Nseg; s++) begin
          if (LW'(l) == lp_idx && SW'(s) == sp_idx) j_sel = j_q[(l*Nseg + s)*QW +: QW];
        end
      end
    end
    assign pwp_addr  = {row_q + RowW'(sp_idx), j_sel};
    assign vec_after = pwp_tok ? vec_q : vec_rest;
    assign neg_bit   = |(neg_q & vec_q & ~vec_rest);
  end else begin : g_no_phi_peel
    assign pwp_tok   = 1'b0;
    assign lp_idx    = '0;
    assign sp_idx    = '0;
    assign pwp_rest  = '0;
    assign pwp_addr  = '0;
    assign vec_after = vec_rest;
    assign neg_bit   = 1'b0;
  end

  // a group finishes when its last token is peeled
  assign last_pos = active_q && (vec_after == '0) && (pwp_rest == '0);

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      active_q <= 1'b0;
      grp_q    <= '0;
      vec_q    <= '0;
      mask_q   <= '0;
      pwp_q    <= '0;
      neg_q    <= '0;
    end else if (load) begin
      active_q <= 1'b1;
      grp_q    <= load_grp;
      vec_q    <= Skip ? load_vec : '1;
      mask_q   <= load_mask;
      pwp_q    <= load_use;
      neg_q    <= load_neg;
    end else if (active_q) begin
      vec_q <= vec_after;
      pwp_q <= pwp_rest;
      if (last_pos) active_q <= 1'b0;
    end
  end

  // the end of a pixel travels with the token and result stages
  logic done_d1_q;
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      done_d1_q <= 1'b0;
      done_o    <= 1'b0;
    end else begin
      done_d1_q <= done_now;
      done_o    <= done_d1_q;
    end
  end

  // ------------------------------------------------------------------ token -> weight ROM
  logic              tok_valid_q, tok_pair_q, tok_last_q;
  /* verilator lint_off UNUSEDSIGNAL */  // without Phi
  logic              tok_pwp_q, tok_neg_q;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [LW-1:0]     tok_l_q;
  logic [GroupW-1:0] tok_grp_q;
  // (AccW < 4 when every weight of the layer fits in fewer bits: the high bits go unused)
  /* verilator lint_off UNUSEDSIGNAL */
  logic [3:0]        wt_rom;
  /* verilator lint_on UNUSEDSIGNAL */

  sync_rom #(.Width(4), .Depth(WtDepth), .InitFile(WtFile), .AddrWidth(AddrW)) u_wt (
    .clk_i (clk_i),
    .en_i  (1'b1),
    .addr_i(wt_addr),
    .data_o(wt_rom)
  );

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      tok_valid_q <= 1'b0;
      tok_pair_q  <= 1'b0;
      tok_last_q  <= 1'b0;
      tok_pwp_q   <= 1'b0;
      tok_neg_q   <= 1'b0;
      tok_l_q     <= '0;
      tok_grp_q   <= '0;
    end else begin
      tok_valid_q <= active_q;
      tok_pair_q  <= active_q && (pwp_tok || (any && hit));
      tok_last_q  <= last_pos;
      tok_pwp_q   <= pwp_tok;
      tok_neg_q   <= neg_bit;
      tok_l_q     <= pwp_tok ? lp_idx : l_idx;
      tok_grp_q   <= grp_q;
    end
  end

  // ------------------------------------------------------------------ accumulate
  logic signed [AccW-1:0] acc_q [NumAcc];
  logic signed [AccW-1:0] acc_next [NumAcc];
  logic signed [AccW-1:0] w_ext, add;
  assign w_ext = AccW'($signed(wt_rom));
  if (Phi) begin : g_phi_add
    logic [PwpW-1:0] pwp_rom;
    sync_rom #(.Width(PwpW), .Depth(PwpDepth), .InitFile(PwpFile), .AddrWidth(PwpAW)) u_pwp (
      .clk_i (clk_i),
      .en_i  (1'b1),
      .addr_i(pwp_addr),
      .data_o(pwp_rom)
    );
    assign add = tok_pwp_q ? AccW'($signed(pwp_rom)) : (tok_neg_q ? -w_ext : w_ext);
  end else begin : g_plain_add
    assign add = w_ext;
  end

  always_comb begin
    for (int unsigned a = 0; a < NumAcc; a++) begin
      acc_next[a] = acc_q[a];
      if (tok_pair_q) begin
        if (Direct) begin
          acc_next[a] = acc_q[a] + (w_ext <<< tok_l_q);
        end else if (LW'(a) == tok_l_q) begin
          acc_next[a] = acc_q[a] + add;
        end
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      for (int unsigned a = 0; a < NumAcc; a++) acc_q[a] <= '0;
      res_valid_o <= 1'b0;
      res_group_o <= '0;
      res_acc_o   <= '0;
    end else begin
      res_valid_o <= tok_valid_q && tok_last_q;
      if (tok_valid_q && tok_last_q) begin
        res_group_o <= tok_grp_q;
        for (int unsigned a = 0; a < NumAcc; a++) begin
          res_acc_o[a*AccW +: AccW] <= $unsigned(acc_next[a]);
          acc_q[a] <= '0;
        end
      end else begin
        for (int unsigned a = 0; a < NumAcc; a++) acc_q[a] <= acc_next[a];
      end
    end
  end

  assign pair_o = tok_pair_q;

  // bias / threshold of the group leaving the token stage arrive with its result
  sync_rom #(.Width(BiasW), .Depth(Groups), .InitFile(BiasFile), .AddrWidth(GroupW)) u_bias (
    .clk_i (clk_i),
    .en_i  (tok_valid_q && tok_last_q),
    .addr_i(tok_grp_q),
    .data_o(res_bias_o)
  );
  if (HasTheta) begin : g_theta
    sync_rom #(.Width(ThetaW), .Depth(Groups), .InitFile(ThetaFile), .AddrWidth(GroupW)) u_th (
      .clk_i (clk_i),
      .en_i  (tok_valid_q && tok_last_q),
      .addr_i(tok_grp_q),
      .data_o(res_theta_o)
    );
  end else begin : g_no_theta
    assign res_theta_o = '0;
  end

`ifdef FORMAL
  // Proved by sim/formal/sparse_detector.sby (k-induction, small parameters): for every
  // window, the groups with pairs are loaded once each, in ascending order, groups without
  // pairs never; each loaded group peels exactly the set bits of window & mask, one per cycle,
  // each once, in ascending order; each pair's weight address is the group's base plus the
  // rank of the position among the group's mask bits. The rest are inductive invariants.
  logic f_init = 1'b1;
  logic [Words*WordW-1:0] f_masks_q;
  logic [Groups*AddrW-1:0] f_base_q;
  logic [VecW-1:0] f_win_q;           // the window of the open pixel
  logic [Groups-1:0] f_loaded_q;      // its groups loaded so far
  logic [WIdxW-1:0] f_word_rd_q;      // the mask ROM address of the last cycle

  function automatic logic f_nonempty(input logic [VecW-1:0] win, input logic [GroupW-1:0] g);
    return group_vec(win, f_mask_of(g)) != '0;
  endfunction

  logic [VecW-1:0] f_pos, f_lw;
  logic [SegW-1:0] f_plane_pos;
  logic [AddrW-1:0] f_rank;
  logic [Groups-1:0] f_before;
  always_comb begin
    f_pos = vec_q & ~vec_rest;
    f_plane_pos = '0;
    for (int unsigned l = 0; l < L; l++) f_plane_pos = f_plane_pos | f_pos[l*SegW +: SegW];
    f_rank = '0;  // mask bits strictly below the position
    for (int unsigned i = 0; i < SegW; i++) begin
      if (mask_q[i] && (f_plane_pos & ~((SegW'(2) << i) - SegW'(1))) != '0) begin
        f_rank = f_rank + AddrW'(1);
      end
    end
    f_lw = take ? window_i : f_win_q;
    f_before = take ? '0 : f_loaded_q;
  end

  always_ff @(posedge clk_i) begin
    f_init <= 1'b0;
    f_masks_q <= f_masks;
    f_base_q <= f_base;
    f_word_rd_q <= word_rd;
    if (!rst_ni) begin
      f_loaded_q <= '0;
    end else begin
      if (take) begin
        f_win_q <= window_i;
        f_loaded_q <= '0;
      end
      if (load) f_loaded_q[load_grp] <= 1'b1;
      if (take && load) f_loaded_q <= Groups'(1) << load_grp;
    end
  end

  always_comb begin
    if (f_init) assume (!rst_ni);
    if (!f_init) begin
      assume (f_masks == f_masks_q);
      assume (f_base == f_base_q);
    end
    if (!f_init && rst_ni && Skip && !Phi) begin
      // ---- peeling: one position per cycle, the lowest left, a pair of the group
      if (active_q) begin
        assert (vec_q != '0);
        assert (f_pos != '0 && (f_pos & (f_pos - VecW'(1))) == '0);
        assert ((vec_q & (f_pos - VecW'(1))) == '0);
        assert ((vec_q & ~group_vec(f_win_q, f_mask_of(grp_q))) == '0);
        assert (mask_q == f_mask_of(grp_q));
        assert (f_loaded_q[grp_q]);
        // ---- weight address = base + rank of the position among the group's mask bits
        assert (ptr_rom == f_ptr_of(grp_q));
        assert (wt_addr == f_base[32'(grp_q) * AddrW +: AddrW] + f_rank);
      end
      // ---- loading: every group with pairs once, ascending, none without pairs
      if (load) begin
        assert (load_hits == group_vec(f_lw, f_mask_of(load_grp)));
        assert (load_hits != '0);
        for (int unsigned g = 0; g < Groups; g++) begin
          if (g < 32'(load_grp)) assert (f_before[g] == f_nonempty(f_lw, GroupW'(g)));
          else assert (!f_before[g]);
        end
      end
      // ---- the pixel ends after all its groups with pairs
      if (done_now) begin
        for (int unsigned g = 0; g < Groups; g++) begin
          assert (f_loaded_q[g] == f_nonempty(f_win_q, GroupW'(g)));
        end
      end
      // ---- progress: no idle cycle while a pixel is open (peel, load, next word or end)
      if (open_q) assert (active_q || load || advance || done_now);
      // ---- invariants
      assert (mask_rom == f_word_of(f_word_rd_q));
      if (!open_q) begin
        assert (!active_q && pend_q == '0 && word_q == WIdxW'(Words - 1));
      end else begin
        assert (win_q == f_win_q);
        assert (32'(base_q) == 32'(word_q) * Look);
        assert (wmask_q == f_word_of(word_q));
        assert (f_word_rd_q == ((word_q == WIdxW'(Words - 1)) ? '0 : word_q + WIdxW'(1)));
        for (int unsigned g = 0; g < Groups; g++) begin
          if (g < 32'(base_q)) begin
            assert (f_loaded_q[g] == f_nonempty(f_win_q, GroupW'(g)));
          end else if (g < 32'(base_q) + Look) begin
            assert ((f_loaded_q[g] || pend_q[g - 32'(base_q)])
                    == f_nonempty(f_win_q, GroupW'(g)));
            assert (!(f_loaded_q[g] && pend_q[g - 32'(base_q)]));
            if (active_q && pend_q[g - 32'(base_q)]) assert (g > 32'(grp_q));
          end else begin
            assert (!f_loaded_q[g]);
          end
        end
        if (active_q) assert (32'(grp_q) >= 32'(base_q) && 32'(grp_q) < 32'(base_q) + Look);
        for (int unsigned g = 0; g < Groups; g++) begin
          if (active_q && g > 32'(grp_q)) assert (!f_loaded_q[g]);
        end
      end
    end
  end
`endif

endmodule
