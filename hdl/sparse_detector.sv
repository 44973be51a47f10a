// Dual-side sparsity detector: one per parallel output channel of a core.
//
// For each group g (output channel co = g * Pco + d of this detector d) the window, L planes of
// Nseg segments of Pci bits, is ANDed with the channel's weight mask. The detector then peels
// the lowest set bit every cycle with a three-level log-depth encoder (plane, segment, bit), so
// empty segments and planes cost nothing (look-ahead over the whole window). The packed
// non-zero weight of a pair sits at ptr[s] + popcount(mask[s] & below(b)), where ptr[s] is the
// address of segment s's first non-zero weight (a compiler table, no runtime prefix sums).
// A group without any pair costs one cycle. Results (one per group, in order) carry the
// accumulated sums; the bias and threshold of the group arrive with them.
//
// Direct = 1: the planes are input bit-planes; a pair of plane l adds w << l to one sum.
// Skip   = 0: dense baseline of the same datapath: every window position costs a cycle and
//             only (mask & spike) positions accumulate.
module sparse_detector #(
  parameter int unsigned L         = 4,
  parameter int unsigned Nseg      = 9,
  parameter int unsigned Pci       = 16,
  parameter int unsigned Groups    = 1,
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
  // derived
  parameter int unsigned SegW      = Nseg * Pci,
  parameter int unsigned VecW      = L * SegW,
  parameter int unsigned AddrW     = (WtDepth > 1) ? $clog2(WtDepth) : 1,
  parameter int unsigned GroupW    = (Groups > 1) ? $clog2(Groups) : 1,
  parameter int unsigned NumAcc    = Direct ? 1 : L
) (
  input  logic                     clk_i,
  input  logic                     rst_ni,
  input  logic                     start_i,      // begin a window; window_i stable until idle
  input  logic [VecW-1:0]          window_i,     // bit (l * Nseg + s) * Pci + b
  output logic                     idle_o,
  output logic                     res_valid_o,  // one result per group, groups in order
  output logic [GroupW-1:0]        res_group_o,
  output logic [NumAcc*AccW-1:0]   res_acc_o,    // sum of plane l at [l*AccW +: AccW]
  output logic [BiasW-1:0]         res_bias_o,
  output logic [ThetaW-1:0]        res_theta_o,
  output logic                     pair_o        // a non-zero (weight, spike) pair accumulated
);

  localparam int unsigned LW   = (L > 1) ? $clog2(L) : 1;
  localparam int unsigned SW   = (Nseg > 1) ? $clog2(Nseg) : 1;
  localparam int unsigned BW   = (Pci > 1) ? $clog2(Pci) : 1;
  localparam int unsigned CntW = $clog2(Pci + 1);
  localparam int unsigned PtrWordW = Nseg * AddrW;

  // ------------------------------------------------------------------ per-group ROMs
  logic [GroupW-1:0]   grp_rd;
  logic [SegW-1:0]     mask_rom;
  logic [PtrWordW-1:0] ptr_rom;

  sync_rom #(.Width(SegW), .Depth(Groups), .InitFile(MaskFile), .AddrWidth(GroupW)) u_mask (
    .clk_i (clk_i),
    .en_i  (1'b1),
    .addr_i(grp_rd),
    .data_o(mask_rom)
  );
  sync_rom #(.Width(PtrWordW), .Depth(Groups), .InitFile(PtrFile), .AddrWidth(GroupW)) u_ptr (
    .clk_i (clk_i),
    .en_i  (1'b1),
    .addr_i(grp_rd),
    .data_o(ptr_rom)
  );

  // ------------------------------------------------------------------ peel state
  logic                active_q;
  logic [GroupW-1:0]   grp_q;
  logic [VecW-1:0]     vec_q;     // positions still to visit
  logic [SegW-1:0]     mask_q;
  logic [PtrWordW-1:0] ptr_q;
  logic [VecW-1:0]     load_hits;  // window & mask of the group being loaded
  logic                last_pos, load_next, starting;

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
        ptr_seg  = ptr_q[s*AddrW +: AddrW];
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

  // the true address is < WtDepth, so truncating the count to AddrW bits is exact
  /* verilator lint_off UNUSEDSIGNAL */
  logic [CntW-1:0] below_cnt_all;
  /* verilator lint_on UNUSEDSIGNAL */
  assign below_cnt_all = below_cnt;
  logic [AddrW-1:0] wt_addr;
  assign wt_addr = ptr_seg + AddrW'(below_cnt_all);

  // one-hot of the peeled position, to clear it
  logic [L-1:0]    oh_l;
  logic [Nseg-1:0] oh_s;
  logic [Pci-1:0]  oh_b;
  logic [VecW-1:0] vec_rest;
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

  // is the peeled position a real pair? (always, when skipping; else window & mask there)
  logic hit;
  if (Skip) begin : g_hit_skip
    assign hit = 1'b1;
  end else begin : g_hit_dense
    logic [VecW-1:0] hit_q;  // window & mask of the group
    logic [VecW-1:0] hit_sel;
    always_ff @(posedge clk_i) begin
      if (!rst_ni) hit_q <= '0;
      else if (starting || load_next) hit_q <= load_hits;
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

  // the vector of a group: window AND mask (skipping) or every position (dense)
  function automatic logic [VecW-1:0] group_vec(input logic [VecW-1:0] win,
                                                input logic [SegW-1:0] mask);
    logic [VecW-1:0] v;
    for (int unsigned l = 0; l < L; l++) v[l*SegW +: SegW] = win[l*SegW +: SegW] & mask;
    return v;
  endfunction

  assign load_hits = group_vec(window_i, mask_rom);

  // group finishes when its last position is peeled (or it had none)
  assign last_pos  = active_q && (vec_rest == '0);
  assign starting  = !active_q && start_i;
  assign load_next = last_pos && (grp_q != GroupW'(Groups - 1));

  // ROM read address: the group that will be loaded next
  always_comb begin
    if (starting) begin
      grp_rd = (Groups > 1) ? GroupW'(1) : '0;
    end else if (!active_q) begin
      grp_rd = '0;
    end else if (load_next) begin
      grp_rd = (32'(grp_q) + 2 < Groups) ? grp_q + GroupW'(2) : grp_q + GroupW'(1);
    end else if (last_pos) begin
      grp_rd = '0;  // last group: present group 0 for the next window
    end else begin
      grp_rd = (32'(grp_q) + 1 < Groups) ? grp_q + GroupW'(1) : grp_q;
    end
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      active_q <= 1'b0;
      grp_q    <= '0;
      vec_q    <= '0;
      mask_q   <= '0;
      ptr_q    <= '0;
    end else if (starting || load_next) begin
      active_q <= 1'b1;
      grp_q    <= starting ? '0 : grp_q + GroupW'(1);
      vec_q    <= Skip ? load_hits : '1;
      mask_q   <= mask_rom;
      ptr_q    <= ptr_rom;
    end else if (active_q) begin
      vec_q <= vec_rest;
      if (last_pos) active_q <= 1'b0;
    end
  end

  assign idle_o = !active_q;

  // ------------------------------------------------------------------ token -> weight ROM
  logic              tok_valid_q, tok_pair_q, tok_last_q;
  logic [LW-1:0]     tok_l_q;
  logic [GroupW-1:0] tok_grp_q;
  logic [3:0]        wt_rom;

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
      tok_l_q     <= '0;
      tok_grp_q   <= '0;
    end else begin
      tok_valid_q <= active_q;
      tok_pair_q  <= active_q && any && hit;
      tok_last_q  <= last_pos;
      tok_l_q     <= l_idx;
      tok_grp_q   <= grp_q;
    end
  end

  // ------------------------------------------------------------------ accumulate
  logic signed [AccW-1:0] acc_q [NumAcc];
  logic signed [AccW-1:0] acc_next [NumAcc];
  logic signed [AccW-1:0] w_ext;
  assign w_ext = AccW'($signed(wt_rom));

  always_comb begin
    for (int unsigned a = 0; a < NumAcc; a++) begin
      acc_next[a] = acc_q[a];
      if (tok_pair_q) begin
        if (Direct) begin
          acc_next[a] = acc_q[a] + (w_ext <<< tok_l_q);
        end else if (LW'(a) == tok_l_q) begin
          acc_next[a] = acc_q[a] + w_ext;
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

endmodule
