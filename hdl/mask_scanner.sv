// Scanner of the sparse core: walks one detector's compile-time list of (group, word) pairs
// whose weight mask is non-zero, reads each word of the window straight from its own copy of
// the input ring (LUT-RAM, or block RAM with RingBlock: one copy per read port either way),
// ANDs it with the mask, and queues the words with a position for the peeler (the exact
// dual-side test, one list entry per cycle).
//
// Words: a window is KH * KW kernel positions x Spp = ceil(Ci / Pci) segments of Pci channel
// lanes (lanes past Ci read 0), segment s = k * Spp + j; word w covers segments
// [w * Spw, (w + 1) * Spw), WordW = Spw * Pci bits per plane, bit (s - w * Spw) * Pci + b.
// Spw is a multiple of Spp (a word is Kpw = Spw / Spp whole pixels, one ring read port each)
// or divides Spp (a word is part of one pixel).
// List entry e (ListFile, LSB first): word w, mask (WordW), ptr (weight address of the mask's
// lowest bit), tag (the entry's group), first (the group's first entry). Entries are in group
// order; the last one ends the pixel and is queued even without a position (close).
// A queued word opens its group when it is the group's first word with a position.
//
// Dense (the dense baseline): a word's positions are every bit of its mask inside the image,
// spike or not (the masks then hold every weight); nothing else changes.
//
// Pipeline: S0 issue (a credit per entry: the queue never overflows) + list ROM read (all
// but the mask; with FieldBlock the registered output of a block RAM read two entries ahead,
// FieldFile) | S1 ring addresses (with ListBlock the mask's block-RAM read, MaskFile: one
// mask per line; with RingBlock the ring copies' block-RAM reads) | S2 ring reads (last read
// of the window: desc_fin_o; a block RAM's output), registered; mask ROM
// read (LUTs), or the block RAM's output registered in the fabric | S3 AND mask, union, the
// OR of each piece (a quarter or less) of it; planes and mask written to the slot the word
// gets if it is queued | S4 non-empty test and push decision, queue head write, part counts
// | S5 count (a dropped word's credit back) |
// S6 count and "count <= 1" -> queue (the entry becomes visible).
// The queue (FifoDepth words, LUT-RAM) is read first-word-fall-through by the peeler: the
// head (bits, count, flags, pointer, tag, slot) at the read pointer; a loaded word's planes
// and mask stay in its slot and are read there while it is peeled (body_slot_o), so the
// peeler keeps no copy. A slot (and its credit) comes back with free_i, when the peeler is
// done with the word.
//
// Phi (docs/phi.md "Phi in hardware"; words of whole pixels, Pci = Ci): the ring
// holds pattern_matcher's output per pixel, {index (Nb*QW), lanes (Nb*L), pattern (Ci), residual
// planes (L*Ci)}. A word's positions are the residual union & mask; above them come
// NTok = Kpw * Nb PWP tokens, token i = (port i / Nb, block i % Nb): set when the block is
// used at that pixel (a lane is set), the pixel is in the image and the entry's token mask
// (a list field: its mask has a weight in that block) says so; they count in the word's
// count. The body adds the pattern bits of the word's positions (body_sign_o) and each
// token's lanes and index; the head the entry's PWP row base (out_pbase_o, a list field:
// (group * KK + first kernel position of the word) * Nb).
`default_nettype none

module mask_scanner #(
  parameter int unsigned L         = 4,
  parameter int unsigned Ci        = 8,
  parameter int unsigned W         = 8,
  parameter int unsigned KH        = 3,
  parameter int unsigned KW        = 3,
  parameter int unsigned Pci       = 8,
  parameter int unsigned Spw       = 1,
  parameter int unsigned Depth     = 32,  // ring pixels (window_unit's Depth)
  parameter int unsigned Entries   = 1,
  parameter int unsigned WtDepth   = 16,
  parameter int unsigned TagW      = 1,
  parameter int unsigned FifoDepth = 16,  // a power of two
  parameter string       ListFile  = "",
  parameter bit          ListBlock = 1'b0,  // the masks in block RAM (MaskFile)
  parameter string       MaskFile  = "",
  // the entries' other fields in block RAM (FieldFile: each entry less its mask, the word
  // index in the low bits and ptr, tag, first (and the Phi fields) above), read two entries
  // ahead: a long list's LUT ROM maps several LUTs deep
  parameter bit          FieldBlock = 1'b0,
  parameter string       FieldFile  = "",
  parameter bit          Phi       = 1'b0,
  parameter int unsigned Nb        = 1,   // Phi: pattern blocks per pixel
  parameter int unsigned IdxW      = 1,   // Phi: bits of a pattern index
  parameter int unsigned PRowW     = 1,   // Phi: bits of a PWP row (the peeler's)
  parameter bit          Dense     = 1'b0,  // every mask position in the image, spike or not
  parameter bit          RingBlock = 1'b0,  // the ring copies in block RAM (else LUT-RAM)
  // derived (not overridable)
  localparam int unsigned NTok      = Phi ? (Spw * Pci / Ci) * Nb : 1,
  localparam int unsigned PixW      = Phi ? L * Ci + Ci + Nb * (L + IdxW) : L * Ci,
  localparam int unsigned KK        = KH * KW,
  localparam int unsigned AW        = (Depth > 1) ? unsigned'($clog2(Depth)) : 1,
  localparam int unsigned WordW     = Spw * Pci,
  localparam int unsigned XW        = Phi ? WordW + NTok : WordW,  // positions + tokens
  localparam int unsigned AddrW     = (WtDepth > 1) ? unsigned'($clog2(WtDepth)) : 1,
  localparam int unsigned CntW      = unsigned'($clog2(XW + 1)),
  localparam int unsigned SlotW     = (FifoDepth > 1) ? unsigned'($clog2(FifoDepth)) : 1
) (
  input  logic               clk_i,
  input  logic               srst_ni,
  input  logic               wr_en_i,      // ring write (window_unit), registered here twice
  input  logic [AW-1:0]      wr_addr_i,
  input  logic [PixW-1:0]    wr_data_i,    // wr_en_i's pixel, a cycle later (registered there)
  input  logic               desc_valid_i, // the next window (window_unit)
  input  logic [AW-1:0]      desc_base_i,
  input  logic [KK-1:0]      desc_img_i,
  output logic               desc_take_o,
  output logic               desc_fin_o,   // the oldest window taken is read for good
  output logic               out_valid_o,  // queued words, to spike_peeler
  input  logic               out_ready_i,
  output logic [XW-1:0]      out_bits_o,
  output logic [SlotW-1:0]   out_slot_o,   // the head's queue slot
  output logic [SlotW-1:0]   body_slot_o,  // the slot of the word popped last (the body's)
  output logic [L*WordW-1:0] body_planes_o,
  output logic [WordW-1:0]   body_mask_o,
  output logic [WordW-1:0]   body_sign_o,   // Phi: the pattern bits (0 without Phi)
  output logic [NTok*L-1:0]  body_tlanes_o, // Phi: token i's lanes at [i*L +: L]
  output logic [NTok*IdxW-1:0] body_tidx_o,   // Phi: token i's pattern index
  output logic [PRowW-1:0]   out_pbase_o,   // Phi: the head's PWP row base
  input  logic               free_i,       // the peeler is done with a loaded word
  output logic [AddrW-1:0]   out_ptr_o,
  output logic [CntW-1:0]    out_count_o,
  output logic               out_le1_o,    // count <= 1
  output logic               out_open_o,
  output logic               out_close_o,
  output logic [TagW-1:0]    out_tag_o,
  output logic               scan_o,       // a list entry is issued this cycle
  output logic               wait_o        // a window is held but no credit is left
);

  localparam int unsigned Spp    = (Ci + Pci - 1) / Pci;
  localparam int unsigned Nseg   = KK * Spp;
  localparam int unsigned Nw     = (Nseg + Spw - 1) / Spw;
  localparam bit          Whole  = (Spw % Spp == 0);        // words of whole pixels
  localparam int unsigned Kpw    = Whole ? Spw / Spp : 1;   // ring read ports
  localparam int unsigned SegPP  = Whole ? Spp : Spw;       // segments per read port
  localparam int unsigned WIdxW  = (Nw > 1) ? unsigned'($clog2(Nw)) : 1;
  localparam int unsigned EW     = (Entries > 1) ? unsigned'($clog2(Entries)) : 1;
  localparam int unsigned EntB   = WIdxW + WordW + AddrW + TagW + 1;  // the plain fields
  localparam int unsigned EntW   = Phi ? EntB + NTok + PRowW : EntB;    // + token mask, row
  localparam int unsigned FldW   = EntW - WordW;                        // less the mask
  localparam int unsigned QW     = SlotW;
  localparam int unsigned CrW    = QW + 1;
  localparam int unsigned Span   = 16;                      // bits per part count
  localparam int unsigned NPart  = (XW + Span - 1) / Span;
  localparam int unsigned PartW  = 5;
  localparam int unsigned HeadW  = XW + AddrW + TagW + 2 + (Phi ? PRowW : 0);
  // planes, mask (+ Phi: pattern bits, token lanes and indices)
  localparam int unsigned BodyW  = WordW * (L + 1) + (Phi ? WordW + NTok * (L + IdxW) : 0);
  localparam int unsigned BGrpW  = 64;                      // body bits per write-address copy
  localparam int unsigned NBGrp  = (BodyW + BGrpW - 1) / BGrpW;
  localparam int unsigned BGrpSz = (BodyW + NBGrp - 1) / NBGrp;  // balanced groups

  // a scan-list entry (fireflys.compiler.scanlist writes the image, LSB first); Phi entries
  // add the token mask and the PWP row base above these fields
  typedef struct packed {
    logic             first;  // the group's first entry
    logic [TagW-1:0]  tag;    // the group
    logic [AddrW-1:0] ptr;    // weight address of the mask's lowest bit
    logic [WordW-1:0] mask;
    logic [WIdxW-1:0] w;      // the word of the window
  } entry_t;
  typedef struct packed {
    logic [PRowW-1:0] pbase;  // PWP row base of token 0
    logic [NTok-1:0]  tmask;  // token i has a weight in the entry's mask
  } phi_entry_t;

  if (!(Spw % Spp == 0 || Spp % Spw == 0)) begin : g_bad_spw
    $error("mask_scanner: Spw must be a multiple or a divisor of ceil(Ci / Pci)");
  end
  if (FifoDepth < 2 || FifoDepth != (1 << QW)) begin : g_bad_fifo
    $error("mask_scanner: FifoDepth must be a power of two >= 2");
  end
  if (WordW > 8 * Span) begin : g_bad_width
    $error("mask_scanner: words must be at most 128 bits");
  end
  if (Phi && (Pci != Ci || !(Spw % Spp == 0))) begin : g_bad_phi
    $error("mask_scanner: the Phi mode needs words of whole pixels (Pci = Ci)");
  end
  if (Phi && Dense) begin : g_bad_dense
    $error("mask_scanner: the dense baseline has no Phi mode");
  end

  localparam int unsigned NwP   = 1 << WIdxW;               // table entries (word indices)
  localparam int unsigned KPosW = (KK > 1) ? unsigned'($clog2(KK)) : 1;
  localparam int unsigned NSel  = Whole ? 1 : Spp / Spw;    // words per pixel (part pixels)
  localparam int unsigned SelW  = (NSel > 1) ? unsigned'($clog2(NSel)) : 1;

  // kernel position and channel segment of read port i in word w (compile time)
  function automatic int unsigned kpos(input int unsigned w, input int unsigned i);
    return Whole ? w * Kpw + i : (w * Spw) / Spp;
  endfunction
  // the ring offset of read port i in word w, and that offset minus Depth (AW + 1 bits)
  function automatic logic [NwP*AW-1:0] off_tab(input int unsigned i);
    logic [NwP*AW-1:0] t = '0;
    for (int unsigned w = 0; w < Nw; w++) begin
      if (kpos(w, i) < KK) t[w*AW +: AW] = AW'((kpos(w, i) / KW) * W + kpos(w, i) % KW);
    end
    return t;
  endfunction
  function automatic logic [NwP*(AW+1)-1:0] offm_tab(input int unsigned i);
    logic [NwP*AW-1:0]     o = off_tab(i);
    logic [NwP*(AW+1)-1:0] t = '0;
    for (int unsigned w = 0; w < Nw; w++) begin
      t[w*(AW+1) +: AW+1] = {1'b0, o[w*AW +: AW]} - (AW + 1)'(Depth);
    end
    return t;
  endfunction
  function automatic logic [NwP*(KPosW+1)-1:0] pos_tab(input int unsigned i);
    logic [NwP*(KPosW+1)-1:0] t = '0;
    for (int unsigned w = 0; w < Nw; w++) begin
      if (kpos(w, i) < KK) t[w*(KPosW+1) +: KPosW+1] = {1'b1, KPosW'(kpos(w, i))};
    end
    return t;
  endfunction
  function automatic logic [NwP*SelW-1:0] sel_tab();  // word w's place in its pixel
    logic [NwP*SelW-1:0] t = '0;
    for (int unsigned w = 0; w < Nw; w++) t[w*SelW +: SelW] = SelW'(w % NSel);
    return t;
  endfunction
  localparam logic [NwP*SelW-1:0] SelTab = sel_tab();

  // ------------------------------------------------------------------ S0: issue
  logic              hold_q;   // a window is held
  logic [AW-1:0]     base_q;
  logic [KK-1:0]     img_q;
  logic [EW-1:0]     e_q, e_nx_q;  // the entry issued next, and the one after it
  logic              elast_q;       // e_q is the last entry
  logic [CrW-1:0]    credit_q;
  // crok_q: a credit is left (credit_q != 0), a flip-flop from the credits' next value: the
  // issue and take tests start at flip-flops (on ECP5 the zero test, take and the descriptor
  // registers' enable were 4 LUTs and a 2.7 ns route)
  logic              crok_q;
  logic              issue, elast, take;
  logic              primed;  // the list read is ready (FieldBlock: two cycles after reset)
  assign elast  = elast_q;
  assign issue  = hold_q && crok_q && primed;
  assign take   = desc_valid_i && (!hold_q || (issue && elast));
  assign desc_take_o = take;
  assign scan_o = issue;
  assign wait_o = hold_q && !crok_q;

  // all but the mask is read here; the mask is read for S3 below (its only use), from this list
  // two stages later (registers less than carrying it through S1, S2) or from its own block RAM
  /* verilator lint_off UNUSEDSIGNAL */  // each read uses part of the entry
  logic [EntW-1:0] ent;
  /* verilator lint_on UNUSEDSIGNAL */
  if (FieldBlock) begin : g_field_block
    // The list is read in a known order (0 .. Entries - 1, again and again), so the block RAM
    // reads two entries ahead of e_q and its pipeline moves with each issue: before an issue,
    // rd_q holds entry e_q and rd entry e_q + 1 (mod Entries) while pf_q addresses e_q + 2.
    // After reset two reads fill it (primed); the first window comes later than that.
    logic [FldW-1:0] rd, rd_q, fld_q;
    logic [EW-1:0]   pf_q;
    logic [1:0]      fill_q;  // reads done after reset, up to two
    logic            adv;
    assign primed = fill_q[1];
    assign adv    = issue || !primed;
    sync_rom #(.Width(FldW), .Depth(Entries), .InitFile(FieldFile), .AddrWidth(EW)) u_fields (
      .clk_i (clk_i),
      .en_i  (adv),
      .addr_i(pf_q),
      .data_o(rd)
    );
    always_ff @(posedge clk_i) begin
      if (adv)   rd_q  <= rd;  // the block RAM's output, registered
      if (issue) fld_q <= rd_q;
    end
    always_ff @(posedge clk_i) begin
      if (!srst_ni) begin
        pf_q   <= '0;
        fill_q <= '0;
      end else if (adv) begin
        pf_q <= (pf_q == EW'(Entries - 1)) ? '0 : pf_q + EW'(1);
        if (!primed) fill_q <= fill_q + 2'd1;
      end
    end
    assign ent = {fld_q[FldW-1:WIdxW], WordW'(0), fld_q[WIdxW-1:0]};
    // checks (simulation too): the read runs two entries ahead of the issue
    always_ff @(posedge clk_i) begin
      if (srst_ni && primed) begin
        assert (32'(pf_q) == (32'(e_q) + 32'd2) % Entries)
          else $error("mask_scanner: list fields read at %0d, entry %0d issued next", pf_q, e_q);
      end
    end
  end else begin : g_field_lut
    assign primed = 1'b1;
    lut_rom #(.Width(EntW), .Depth(Entries), .InitFile(ListFile), .AddrWidth(EW)) u_list (
      .clk_i (clk_i),
      .en_i  (issue),
      .addr_i(e_q),
      .data_o(ent)
    );
  end

  // ------------------------------------------------------------------ S1: ring addresses
  logic          s1_valid, s1_last;
  logic [AW-1:0] s1_base;
  logic [KK-1:0] s1_img;

  /* verilator lint_off UNUSEDSIGNAL */  // the mask is read for S3 (below)
  entry_t           e_ent;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [WIdxW-1:0] e_w;
  logic [AddrW-1:0] e_ptr;
  logic [TagW-1:0]  e_tag;
  logic             e_first;
  assign e_ent   = entry_t'(ent[EntB-1:0]);
  assign e_w     = e_ent.w;
  assign e_ptr   = e_ent.ptr;
  assign e_tag   = e_ent.tag;
  assign e_first = e_ent.first;
  logic [NTok-1:0]  e_tmask;  // Phi: token i has a weight in the entry's mask
  logic [PRowW-1:0] e_pbase;  // Phi: the PWP row of token 0
  if (Phi) begin : g_ent_phi
    phi_entry_t e_phi;
    assign e_phi   = phi_entry_t'(ent[EntW-1:EntB]);
    assign e_tmask = e_phi.tmask;
    assign e_pbase = e_phi.pbase;
  end else begin : g_ent_plain
    assign e_tmask = '0;
    assign e_pbase = '0;
  end

  logic [Kpw-1:0][AW-1:0] addr;
  logic [Kpw-1:0]         ok;
  // read port i of word w: the ring offset of its kernel position and the position, from
  // compile-time tables read at the word index (a mux; a chain of compares over the words
  // is as deep as there are words, and exhausts Yosys' slang front end on long windows)
  for (genvar i = 0; i < Kpw; i++) begin : g_addr
    localparam logic [NwP*AW-1:0]     OffTab  = off_tab(i);
    localparam logic [NwP*(AW+1)-1:0] OffTabM = offm_tab(i);
    localparam logic [NwP*(KPosW+1)-1:0] PosTab = pos_tab(i);
    logic [AW-1:0]    off;
    logic [AW:0]      offm;
    logic [KPosW:0]   pos;  // {in the window, kernel position}
    logic [AW-1:0]    sum;
    logic [AW:0]      wrap;
    assign off   = OffTab[e_w*AW +: AW];
    assign offm  = OffTabM[e_w*(AW+1) +: AW+1];
    assign pos   = PosTab[e_w*(KPosW+1) +: KPosW+1];
    assign ok[i] = pos[KPosW] && s1_img[pos[KPosW-1:0]];
    // base + off and base + off - Depth side by side (two short adders, not one after the
    // other); the second is negative when the first is below Depth
    assign sum     = s1_base + off;
    assign wrap    = {1'b0, s1_base} + offm;
    assign addr[i] = wrap[AW] ? sum[AW-1:0] : wrap[AW-1:0];  // (base + off) mod Depth
  end

  always_ff @(posedge clk_i) begin
    if (!srst_ni) begin
      s1_valid <= 1'b0;
      s1_last  <= 1'b0;
      s1_base  <= '0;
      s1_img   <= '0;
    end else begin
      s1_valid <= issue;
      s1_last  <= issue && elast;
      if (issue) begin
        s1_base <= base_q;
        s1_img  <= img_q;
      end
    end
  end

  // ------------------------------------------------------------------ S2: ring reads
  logic                   s2_valid, s2_last, s2_first;
  logic [Kpw-1:0]         s2_ok;
  logic [SelW-1:0]        s2_sel;
  logic [AddrW-1:0]       s2_ptr;
  logic [TagW-1:0]        s2_tag;
  logic [NTok-1:0]        s2_tmask;
  logic [PRowW-1:0]       s2_pbase;

  always_ff @(posedge clk_i) begin
    if (!srst_ni) begin
      s2_tmask <= '0;
      s2_pbase <= '0;
      s2_valid <= 1'b0;
      s2_last  <= 1'b0;
      s2_first <= 1'b0;
      s2_ok    <= '0;
      s2_sel   <= '0;
      s2_ptr   <= '0;
      s2_tag   <= '0;
    end else begin
      s2_valid <= s1_valid;
      s2_last  <= s1_last;
      s2_first <= e_first;
      s2_ok    <= ok;
      s2_sel   <= SelTab[e_w*SelW +: SelW];
      s2_ptr   <= e_ptr;
      s2_tag   <= e_tag;
      s2_tmask <= e_tmask;
      s2_pbase <= e_pbase;
    end
  end
  assign desc_fin_o = s2_last;  // the window's last ring read happens this cycle

  // the mask reaches S3 either way: a LUT ROM read at S2's index (its output register is
  // S3's), or, for long lists (a LUT ROM deeper than 64 words maps several LUTs deep), a block
  // RAM read at S1's index whose output is registered in the fabric
  logic [EW-1:0]    s1_e;
  logic [WordW-1:0] s3_mask;
  always_ff @(posedge clk_i) begin
    if (!srst_ni)    s1_e <= '0;
    else if (issue) s1_e <= e_q;
  end
  if (ListBlock) begin : g_mask_block
    logic [WordW-1:0] rd, rd_q;
    sync_rom #(.Width(WordW), .Depth(Entries), .InitFile(MaskFile), .AddrWidth(EW)) u_mask (
      .clk_i (clk_i),
      .en_i  (s1_valid),
      .addr_i(s1_e),
      .data_o(rd)
    );
    always_ff @(posedge clk_i) rd_q <= rd;
    assign s3_mask = rd_q;
  end else begin : g_mask_lut
    logic [EW-1:0] s2_e;
    /* verilator lint_off UNUSEDSIGNAL */  // the mask is the part used
    logic [EntW-1:0] ent_m;
    /* verilator lint_on UNUSEDSIGNAL */
    always_ff @(posedge clk_i) begin
      if (!srst_ni)       s2_e <= '0;
      else if (s1_valid) s2_e <= s1_e;
    end
    lut_rom #(.Width(EntW), .Depth(Entries), .InitFile(ListFile), .AddrWidth(EW)) u_mask (
      .clk_i (clk_i),
      .en_i  (s2_valid),
      .addr_i(s2_e),
      .data_o(ent_m)
    );
    /* verilator lint_off UNUSEDSIGNAL */  // the mask is the field used
    entry_t ent_f;
    /* verilator lint_on UNUSEDSIGNAL */
    assign ent_f   = entry_t'(ent_m[EntB-1:0]);
    assign s3_mask = ent_f.mask;
  end


  // The ring write reaches this detector through its own register stage (kept: synthesis
  // would merge the stages of all detectors back into one net). The window unit feeds every
  // detector of its core, whose ring copies sit across the device: on ECP5 one net from the
  // window unit's handshake logic to the block-RAM rings of 31 detectors was 6 ns of routing.
  // The ring copies are written two cycles after the write's handshake; the first read of
  // the pixel comes at least five cycles after it (at least three after the gather it
  // enables, which is at least two after the write), and the last read of the pixel it
  // overwrites came before the handshake: the stage changes no read.
  logic                wr_en_p;
  logic [AW-1:0]       wr_addr_p;
  logic [PixW-1:0]     wr_data_p;
  (* keep *) always_ff @(posedge clk_i) begin
    if (!srst_ni) wr_en_p <= 1'b0;
    else         wr_en_p <= wr_en_i;
  end
  (* keep *) always_ff @(posedge clk_i) begin
    wr_addr_p <= wr_addr_i;
    wr_data_p <= wr_data_i;
  end

  logic [Kpw-1:0][PixW-1:0] px_rd;  // port i's pixel
  if (RingBlock) begin : g_ring_block
    // one block-RAM copy of the ring per read port, read at S1's address: the block RAM
    // registers the address (where the LUT-RAM copies have a_q) and its output, read in S2,
    // is registered in S3 like theirs: the same cycles. A pixel is written a few cycles before
    // the first window that reads it can be at S1 (window_unit) and overwritten only after the
    // last one's last read (desc_fin_o), so no read meets a write of its address (checked
    // below) and no_rw_check spares the bypass logic that would return the old data
    for (genvar i = 0; i < Kpw; i++) begin : g_port
      (* ram_style = "block", no_rw_check *) logic [PixW-1:0] ring [Depth];
      logic          wr_en_q;
      logic [AW-1:0] wr_addr_q;
      (* keep *) always_ff @(posedge clk_i) begin
        if (!srst_ni) wr_en_q <= 1'b0;
        else         wr_en_q <= wr_en_p;
      end
      (* keep *) always_ff @(posedge clk_i) begin
        wr_addr_q <= wr_addr_p;
      end
      always_ff @(posedge clk_i) begin
        if (wr_en_q) ring[wr_addr_q] <= wr_data_p;
      end
      always_ff @(posedge clk_i) begin
        px_rd[i] <= ring[addr[i]];
      end
      always_ff @(posedge clk_i) begin
        if (srst_ni && s1_valid && ok[i]) begin
          assert (!wr_en_q || wr_addr_q != addr[i])
            else $error("mask_scanner: ring address %0d read while it is written", addr[i]);
        end
      end
    end
  end else begin : g_ring_lut
    // the ring copy, in groups of up to RGrpW bits per read port. Each group registers its own
    // copy of the ring write's enable and address and reads at its own copy of each port's
    // address (kept: synthesis would merge the copies). One register for a whole ring placed a
    // bank's write-enable decode 9 ns of routing away from some of its LUT-RAM slices on ECP5,
    // one read-address net reaching every slice of a wide ring was 6 ns. The write data reaches
    // one LUT-RAM input per bit, from the detector's stage
    localparam int unsigned RGrpW = 32;
    localparam int unsigned NRGrp = (PixW + RGrpW - 1) / RGrpW;
    for (genvar g = 0; g < NRGrp; g++) begin : g_ring
      localparam int unsigned Lo = g * RGrpW;
      localparam int unsigned N  = (PixW - Lo < RGrpW) ? PixW - Lo : RGrpW;
      (* ram_style = "distributed" *) logic [N-1:0] ring [Depth];
      logic          wr_en_q;
      logic [AW-1:0] wr_addr_q;
      (* keep *) always_ff @(posedge clk_i) begin
        if (!srst_ni) wr_en_q <= 1'b0;
        else         wr_en_q <= wr_en_p;
      end
      (* keep *) always_ff @(posedge clk_i) begin
        wr_addr_q <= wr_addr_p;
      end
      always_ff @(posedge clk_i) begin
        if (wr_en_q) ring[wr_addr_q] <= wr_data_p[Lo +: N];
      end
      for (genvar i = 0; i < Kpw; i++) begin : g_port
        logic [AW-1:0] a_q;  // S2: the port's ring address
        (* keep *) always_ff @(posedge clk_i) begin
          if (!srst_ni) a_q <= '0;
          else         a_q <= addr[i];
        end
        assign px_rd[i][Lo +: N] = ring[a_q];
      end
    end
  end

  // the word's planes: port i, segment jj, lane b <- pixel bit l * Ci + (j0 + jj) * Pci + b
  logic [L*WordW-1:0] raw;
  for (genvar i = 0; i < Kpw; i++) begin : g_read
    logic [PixW-1:0] px;
    assign px = px_rd[i];
    always_comb begin
      for (int unsigned l = 0; l < L; l++) begin
        for (int unsigned jj = 0; jj < SegPP; jj++) begin
          for (int unsigned b = 0; b < Pci; b++) begin
            // whole pixels: segment jj of the port's pixel; part of a pixel: segment
            // s2_sel * Spw + jj of the pixel (the word's place in it, from S1)
            raw[l*WordW + (i*SegPP + jj)*Pci + b] = 1'b0;
            for (int unsigned r = 0; r < NSel; r++) begin
              if ((Whole || s2_sel == SelW'(r)) && (r * SegPP + jj) * Pci + b < Ci) begin
                raw[l*WordW + (i*SegPP + jj)*Pci + b] = px[l*Ci + (r*SegPP + jj)*Pci + b];
              end
            end
          end
        end
      end
    end
  end

  // Phi: the word's pattern bits, its tokens' lanes and indices (port p, block b: token
  // p * Nb + b), from above the pixels' residual planes
  logic [WordW-1:0]   raw_sign;
  logic [NTok*L-1:0]  raw_tl;
  logic [NTok*IdxW-1:0] raw_ti;
  if (Phi) begin : g_read_phi
    // a Phi pixel in the ring is {phi_fields_t, residual planes} (the matcher's outputs as
    // layer_core concatenates them); the planes are read above
    typedef struct packed {
      logic [Nb-1:0][IdxW-1:0] idx;    // block b's pattern index (its PWP address)
      logic [Nb-1:0][L-1:0]    lanes;  // block b's token lanes (the steps that add its PWP)
      logic [Ci-1:0]           pat;    // the used blocks' pattern bits
    } phi_fields_t;
    for (genvar i = 0; i < Kpw; i++) begin : g_port
      phi_fields_t px;
      assign px = phi_fields_t'(px_rd[i][PixW-1:L*Ci]);
      assign raw_sign[i*Ci +: Ci] = px.pat;
      for (genvar b = 0; b < Nb; b++) begin : g_blk
        assign raw_tl[(i*Nb + b)*L +: L]       = px.lanes[b];
        assign raw_ti[(i*Nb + b)*IdxW +: IdxW] = px.idx[b];
      end
    end
  end else begin : g_read_plain
    assign raw_sign = '0;
    assign raw_tl   = '0;
    assign raw_ti   = '0;
  end

  // ------------------------------------------------------------------ S3: union, body write
  // the ring read is registered: on ECP5 the read address reaches every LUT-RAM slice of the
  // ring and the read data the LUTs that merge its banks, which leaves no time for the union
  logic                   s3_valid, s3_last, s3_first;
  logic [L*WordW-1:0]     s3_raw;
  logic [Kpw-1:0]         s3_ok;
  logic [AddrW-1:0]       s3_ptr;
  logic [TagW-1:0]        s3_tag;
  logic [NTok-1:0]        s3_tmask;
  logic [PRowW-1:0]       s3_pbase;
  logic [WordW-1:0]       s3_sign;
  logic [NTok*L-1:0]      s3_tl;
  logic [NTok*IdxW-1:0]     s3_ti;
  always_ff @(posedge clk_i) begin
    if (!srst_ni) begin
      s3_tmask <= '0;
      s3_pbase <= '0;
      s3_valid <= 1'b0;
      s3_last  <= 1'b0;
      s3_first <= 1'b0;
      s3_ok    <= '0;
      s3_ptr   <= '0;
      s3_tag   <= '0;
    end else begin
      s3_valid <= s2_valid;
      s3_last  <= s2_last;
      s3_first <= s2_first;
      s3_ok    <= s2_valid ? s2_ok : '0;  // no valid word: an empty union (push below)
      s3_ptr   <= s2_ptr;
      s3_tag   <= s2_tag;
      s3_tmask <= s2_tmask;
      s3_pbase <= s2_pbase;
    end
  end
  always_ff @(posedge clk_i) begin  // data: no reset
    s3_raw  <= raw;
    s3_sign <= raw_sign;
    s3_tl   <= raw_tl;
    s3_ti   <= raw_ti;
  end

  // the planes are queued as read: the peeler only looks at positions of the union, which
  // lie in the mask and in read ports inside the image
  logic [WordW-1:0]   any, port_ok, uni;
  always_comb begin
    any = '0;
    for (int unsigned l = 0; l < L; l++) any = any | s3_raw[l*WordW +: WordW];
    for (int unsigned i = 0; i < Kpw; i++) begin
      port_ok[i*SegPP*Pci +: SegPP*Pci] = {(SegPP * Pci){s3_ok[i]}};
    end
    uni = (Dense ? s3_mask : any & s3_mask) & port_ok;
  end
  // Phi: the tokens above the positions (a used block: a lane is set)
  logic [XW-1:0] unx;
  if (Phi) begin : g_tok
    logic [NTok-1:0] tok;
    for (genvar i = 0; i < NTok; i++) begin : g_t
      assign tok[i] = (|s3_tl[i*L +: L]) && s3_tmask[i] && s3_ok[i / Nb];
    end
    assign unx = {tok, uni};
  end else begin : g_notok
    assign unx = uni;
  end
  // the non-empty test in two halves: S3 ORs each piece of the union (registered, one copy
  // per body group and one for the rest), S4 ORs the pieces with valid/last, next to each
  // user. One stage for the whole test (AND, OR over up to 128 bits, valid/last: 6 LUT4
  // levels) was 8.4 ns on ECP5; one push net reaching every body group was 7 ns of routing.
  // Pieces: quarters, or smaller (at most ~40 inputs, L + 1 per bit: 3 LUT4 levels) while
  // there are at most 6 of them (an L3 quarter of 12 bits was 4 levels, 6.8 ns on ECP5)
  localparam int unsigned QMax = 40 / (L + 1);
  localparam int unsigned QSz  = ((XW + 3) / 4 < QMax) ? (XW + 3) / 4
                               : (QMax > (XW + 5) / 6) ? QMax : (XW + 5) / 6;
  localparam int unsigned NQ   = (XW + QSz - 1) / QSz;
  logic [NQ-1:0] q3;
  for (genvar k = 0; k < NQ; k++) begin : g_q
    localparam int unsigned Lo = k * QSz;
    localparam int unsigned N  = (XW - Lo < QSz) ? XW - Lo : QSz;
    assign q3[k] = |unx[Lo +: N];
  end

  // ------------------------------------------------------------------ S4: test, queue write
  logic               s4_valid, s4_last, s4_first;
  logic [XW-1:0]      s4_bits;
  logic [PRowW-1:0]   s4_pbase;
  logic [NQ-1:0]      s4_q;
  logic [AddrW-1:0]   s4_ptr;
  logic [TagW-1:0]    s4_tag;

  // keep: the body groups' copies of the push flags (below) would be merged into these
  (* keep *) always_ff @(posedge clk_i) begin
    if (!srst_ni) begin
      s4_valid  <= 1'b0;
      s4_last   <= 1'b0;
      s4_first  <= 1'b0;
      s4_bits   <= '0;
      s4_q      <= '0;
      s4_ptr    <= '0;
      s4_tag    <= '0;
      s4_pbase  <= '0;
    end else begin
      s4_valid  <= s3_valid;
      s4_last   <= s3_last;
      s4_first  <= s3_first;
      s4_bits   <= unx;
      s4_pbase  <= s3_pbase;
      s4_q      <= q3;
      s4_ptr    <= s3_ptr;
      s4_tag    <= s3_tag;
    end
  end

  logic nonempty, push, opens, pushed_q;  // pushed_q: the group has a queued word
  assign nonempty = |s4_q;
  assign push     = s4_valid && (nonempty || s4_last);
  assign opens    = nonempty && (s4_first || !pushed_q);

  logic [NPart*PartW-1:0] part;
  for (genvar k = 0; k < NPart; k++) begin : g_part
    localparam int unsigned Lo = k * Span;
    localparam int unsigned N  = (XW - Lo < Span) ? XW - Lo : Span;
    popcount #(.Width(N), .CntW(PartW)) u_cnt (
      .bits_i (s4_bits[Lo +: N]),
      .count_o(part[k*PartW +: PartW])
    );
  end

  (* ram_style = "distributed" *) logic [HeadW-1:0]  qhead [FifoDepth];
  logic [BodyW-1:0] body_rd;  // the body (planes, mask) of the word in body_slot_o
  logic pop;                  // the head goes to the peeler (queue read, below)
  (* ram_style = "distributed" *) logic [CntW:0]     qcount [FifoDepth];  // {count <= 1, count}
  logic [QW-1:0] wr_q, wr1_q, rd_q;  // wr1_q = wr_q + 1, kept in a register
  logic [QW-1:0] ld_q;               // the slot of the word popped last (the peeler's)
  logic [CrW-1:0] occ_q;

  logic [HeadW-1:0] head_wd, head_rd;
  if (Phi) begin : g_head_phi
    assign head_wd = {s4_pbase, s4_tag, s4_last, opens, s4_ptr, s4_bits};
    assign {out_pbase_o, out_tag_o, out_close_o, out_open_o, out_ptr_o, out_bits_o} = head_rd;
  end else begin : g_head_plain
    assign head_wd = {s4_tag, s4_last, opens, s4_ptr, s4_bits};
    assign {out_tag_o, out_close_o, out_open_o, out_ptr_o, out_bits_o} = head_rd;
    assign out_pbase_o = '0;
    /* verilator lint_off UNUSEDSIGNAL */
    logic [PRowW-1:0] unused_pbase;
    /* verilator lint_on UNUSEDSIGNAL */
    assign unused_pbase = s4_pbase;
  end
  always_ff @(posedge clk_i) begin
    if (push) begin
      qhead[wr_q] <= head_wd;
    end
  end

  // the planes and the mask are written in S3, straight from the ring read's register and the
  // mask ROM, to the slot the word will have if S4 queues it: wr_q after S4's push. Both words
  // hold a credit, so with the queued and loaded words that slot is free; a word S4 drops
  // leaves its slot to the next one.
`ifdef FORMAL
  logic [QW-1:0] body_wa;  // the slot S3 writes: every group's write address (proved below)
  assign body_wa = push ? wr1_q : wr_q;
`endif
  // the body is written in equal groups of up to BGrpW bits, each from its own copy of the two
  // pointers and of S4's piece flags, valid and last (kept: synthesis would merge them):
  // each group decides the push and its address next to its LUT-RAMs, instead of one push net
  // and one address net reaching all of them (on ECP5 ~85 LUT-RAM slices per scanner: 10 ns
  // of routing for the address, 7 ns for the push)
  logic [BodyW-1:0] body_wd;
  if (Phi) begin : g_bwd_phi
    assign body_wd = {s3_ti, s3_tl, s3_sign, s3_mask, s3_raw};
    assign {body_tidx_o, body_tlanes_o, body_sign_o, body_mask_o, body_planes_o} = body_rd;
  end else begin : g_bwd_plain
    assign body_wd = {s3_mask, s3_raw};
    assign {body_mask_o, body_planes_o} = body_rd;
    assign body_sign_o   = '0;
    assign body_tlanes_o = '0;
    assign body_tidx_o   = '0;
    /* verilator lint_off UNUSEDSIGNAL */
    logic [WordW+NTok*(L+IdxW)+NTok-1:0] unused_phi;
    /* verilator lint_on UNUSEDSIGNAL */
    assign unused_phi = {s3_ti, s3_tl, s3_sign, s3_tmask};
  end
  for (genvar g = 0; g < NBGrp; g++) begin : g_body
    localparam int unsigned Lo = g * BGrpSz;
    localparam int unsigned N  = (BodyW - Lo < BGrpSz) ? BodyW - Lo : BGrpSz;
    (* keep *) logic [QW-1:0] wr_c_q, wr1_c_q;
    logic [NQ-1:0] q_c;  // S4's flags, this group's copies
    logic          vl_c, push_c;  // vl_c: S4 holds a valid last word
    // keep (on the process: its flip-flops, not only their nets, must stay apart)
    (* keep *) always_ff @(posedge clk_i) begin
      if (!srst_ni) begin
        q_c  <= '0;
        vl_c <= 1'b0;
      end else begin
        q_c  <= q3;
        vl_c <= s3_valid && s3_last;
      end
    end
    // = push: the pieces are empty without a valid word (s3_ok), so valid is not needed here;
    // the push and the address mux fit two LUT levels (three were 2.4-3.6 ns short of routing
    // the address to the group's LUT-RAMs on ECP5)
    assign push_c = (|q_c) || vl_c;
    always_ff @(posedge clk_i) begin
      if (!srst_ni) begin
        wr_c_q  <= '0;
        wr1_c_q <= QW'(1);
      end else if (push_c) begin  // loaded from the pointers' own next values (shared logic)
        wr_c_q  <= wr1_q;
        wr1_c_q <= wr1_q + QW'(1);
      end
    end
    logic [QW-1:0] wa;
    assign wa = push_c ? wr1_c_q : wr_c_q;  // no adder between the push test and the address
    (* ram_style = "distributed" *) logic [N-1:0] mem [FifoDepth];
    always_ff @(posedge clk_i) begin
      if (s3_valid) mem[wa] <= body_wd[Lo +: N];
    end
    // the read address: this group's copy of the popped word's slot (one address net for
    // every LUT-RAM of the body was 5 ns of routing on ECP5)
    logic [QW-1:0] rd_c_q;
    (* keep *) always_ff @(posedge clk_i) begin
      if (!srst_ni)  rd_c_q <= '0;
      else if (pop) rd_c_q <= rd_q;
    end
    assign body_rd[Lo +: N] = mem[rd_c_q];
`ifdef FORMAL
    logic f_ginit = 1'b1;  // the copies agree with the pointers (part of the proof)
    always_ff @(posedge clk_i) f_ginit <= 1'b0;
    always_comb begin
      if (!f_ginit && srst_ni) begin
        assert (wr_c_q == wr_q && wr1_c_q == wr1_q);
        assert (push_c == push && rd_c_q == ld_q);
        assert (!s3_valid || wa == body_wa);
      end
    end
`endif
  end

  // ------------------------------------------------------------------ S5: count
  logic                   s5_push, s5_drop;  // s5_drop: S4 dropped a word (a credit back)
  logic [QW-1:0]          s5_addr;
  logic [NPart*PartW-1:0] s5_part;
  always_ff @(posedge clk_i) begin
    if (!srst_ni) begin
      s5_push <= 1'b0;
      s5_drop <= 1'b0;
      s5_addr <= '0;
      s5_part <= '0;
    end else begin
      s5_push <= push;
      s5_drop <= s4_valid && !push;
      s5_addr <= wr_q;
      s5_part <= part;
    end
  end

  localparam int unsigned SumW = PartW + ((NPart > 1) ? unsigned'($clog2(NPart)) : 0);
  /* verilator lint_off UNUSEDSIGNAL */  // the count fits CntW
  logic [SumW-1:0] count;
  /* verilator lint_on UNUSEDSIGNAL */
  if (NPart > 1) begin : g_sum
    adder_tree #(.N(NPart), .InW(PartW), .SumW(SumW)) u_sum (
      .values_i(s5_part),
      .sum_o   (count)
    );
  end else begin : g_one
    assign count = s5_part;
  end

  logic [CntW-1:0] count_c;  // the count in CntW bits (a same-width cast is a warning)
  if (SumW > CntW) begin : g_cnt_cut
    assign count_c = CntW'(count);
  end else begin : g_cnt_same
    assign count_c = count;
  end

  // S6: the count and its "at most one" flag go into the queue (the entry becomes visible)
  logic            s6_push;
  logic [QW-1:0]   s6_addr;
  logic [CntW-1:0] s6_count;
  always_ff @(posedge clk_i) begin
    if (!srst_ni) begin
      s6_push  <= 1'b0;
      s6_addr  <= '0;
      s6_count <= '0;
    end else begin
      s6_push  <= s5_push;
      s6_addr  <= s5_addr;
      s6_count <= count_c;
    end
  end
  logic s6_le1;  // count <= 1 (always, for one-bit words)
  if (CntW > 1) begin : g_le1
    assign s6_le1 = s6_count <= CntW'(1);
  end else begin : g_le1_const
    assign s6_le1 = 1'b1;
  end
  always_ff @(posedge clk_i) begin
    if (s6_push) qcount[s6_addr] <= {s6_le1, s6_count};
  end

  // ------------------------------------------------------------------ queue read, credits
  // the queue is non-empty: a flip-flop (the peeler's load, valid and ready, reaches each of its
  // registers; behind the occupancy's zero test it was 5 ns of routing on ECP5)
  logic nonempty_q;
  assign out_valid_o = nonempty_q;
  assign pop = nonempty_q && out_ready_i;
  assign head_rd = qhead[rd_q];
  assign out_slot_o  = rd_q;
  assign body_slot_o = ld_q;
  assign {out_le1_o, out_count_o} = qcount[rd_q];

  always_ff @(posedge clk_i) begin
    if (!srst_ni) begin
      hold_q   <= 1'b0;
      base_q   <= '0;
      img_q    <= '0;
      e_q      <= '0;
      e_nx_q   <= EW'(1);
      elast_q  <= (Entries == 1);
      credit_q <= CrW'(FifoDepth);
      crok_q   <= 1'b1;
      pushed_q <= 1'b0;
      wr_q     <= '0;
      wr1_q    <= QW'(1);
      rd_q     <= '0;
      ld_q     <= '0;
      occ_q    <= '0;
      nonempty_q <= 1'b0;
    end else begin
      if (take) begin
        hold_q <= 1'b1;
        base_q <= desc_base_i;
        img_q  <= desc_img_i;
      end else if (issue && elast) begin
        hold_q <= 1'b0;
      end
      // the next index is kept ready (no adder between the issue test and the list ROM)
      if (issue) begin
        e_q     <= elast_q ? '0 : e_nx_q;
        e_nx_q  <= elast_q ? EW'(1) : e_nx_q + EW'(1);
        elast_q <= elast_q ? (Entries == 1) : (e_nx_q == EW'(Entries - 1));
      end
      // a credit per issued entry, back when its word is dropped or the peeler frees it
      credit_q <= credit_q - CrW'(issue) + CrW'(s5_drop) + CrW'(free_i);
      crok_q   <= s5_drop || free_i || (credit_q > CrW'(issue));
      if (s4_valid) pushed_q <= s4_last ? 1'b0 : (s4_first ? nonempty : pushed_q || nonempty);
      if (push) begin
        wr_q  <= wr1_q;
        wr1_q <= wr1_q + QW'(1);
      end
      if (pop) begin
        rd_q <= rd_q + QW'(1);
        ld_q <= rd_q;
      end
      occ_q <= occ_q + CrW'(s6_push) - CrW'(pop);
      nonempty_q <= s6_push || (occ_q > CrW'(1)) || (occ_q == CrW'(1) && !pop);
    end
  end


  // ------------------------------------------------------------------ checks (simulation too)
  logic [CrW-1:0] held_q;  // words loaded and not yet freed (checks only)
  always_ff @(posedge clk_i) begin
    if (!srst_ni) held_q <= '0;
    else         held_q <= held_q + CrW'(pop) - CrW'(free_i);
  end
  always_ff @(posedge clk_i) begin
    if (srst_ni) begin
      assert (occ_q <= CrW'(FifoDepth) && credit_q <= CrW'(FifoDepth))
        else $error("mask_scanner: queue occupancy %0d or credits %0d past the depth",
                    occ_q, credit_q);
      assert (!free_i || held_q != '0)
        else $error("mask_scanner: a slot freed that no loaded word holds");
      assert (crok_q == (credit_q != '0))
        else $error("mask_scanner: the credit flag %0d with %0d credits", crok_q, credit_q);
      assert (nonempty_q == (occ_q != '0))
        else $error("mask_scanner: the non-empty flag %0d with %0d words queued", nonempty_q,
                    occ_q);
      assert (s4_valid || s4_q == '0)  // the body groups' push leaves valid out
        else $error("mask_scanner: non-empty pieces %b without a valid word", s4_q);
    end
  end

`ifdef FORMAL
  // Proved by sim/formal/mask_scanner.sby (k-induction; the window, ring data and the peeler's
  // timing are free): every issued entry holds one credit until S4 drops its word or the
  // peeler frees it, so credits, words in the pipeline, queued and loaded words always add up
  // to FifoDepth; the queue's pointers agree with its occupancy; no slot is written while a
  // queued or loaded word still needs it; and the words leave the queue in the order they were
  // queued, each once (a ghost number per push, checked at each pop).
  logic f_init = 1'b1;
  localparam int unsigned FW = CrW + 4;
  logic [FW-1:0] f_push_n, f_pop_n;
  logic [FW-1:0] f_seq [FifoDepth];
  always_ff @(posedge clk_i) begin
    f_init <= 1'b0;
    if (!srst_ni) begin
      f_push_n <= '0;
      f_pop_n  <= '0;
    end else begin
      if (push) begin
        f_seq[wr_q] <= f_push_n;
        f_push_n    <= f_push_n + FW'(1);
      end
      if (pop) f_pop_n <= f_pop_n + FW'(1);
    end
  end
  logic [FW-1:0] f_queued, f_used;  // pushed and not popped; + loaded and not freed
  assign f_queued = FW'(occ_q) + FW'(s5_push) + FW'(s6_push);
  assign f_used   = f_queued + FW'(held_q);
  always_comb begin
    if (f_init) assume (!srst_ni);
    assume (!free_i || held_q != '0);  // the peeler frees only words it has loaded
    if (!f_init && srst_ni) begin
      assert (FW'(credit_q) + FW'(s1_valid) + FW'(s2_valid) + FW'(s3_valid) + FW'(s4_valid)
              + FW'(s5_drop) + f_used == FW'(FifoDepth));
      assert (f_push_n - f_pop_n == f_queued);
      assert (wr_q - rd_q == QW'(f_queued));
      assert (wr1_q == wr_q + QW'(1));
      // the list index, the next one and the last flag agree (the list fields' read ahead)
      assert (32'(e_q) < Entries && e_nx_q == e_q + EW'(1)
              && elast_q == (32'(e_q) == Entries - 1));
      assert (!s5_push || s5_addr == wr_q - QW'(1));
      assert (!s6_push || s6_addr == wr_q - QW'(1) - QW'(s5_push));
      // the slot written now is not one a queued or loaded word uses
      if (push) assert (f_used < FW'(FifoDepth));
      // S3 writes its planes and mask right after the used slots (and the one S4 fills now)
      if (s3_valid) begin
        assert (f_used + FW'(push) < FW'(FifoDepth));
        assert (FW'(QW'(body_wa - rd_q + QW'(held_q))) == f_used + FW'(push));
      end
      // the words inside are the next ones to leave, in order
      for (int unsigned i = 0; i < FifoDepth; i++) begin
        if (FW'(i) < f_queued) assert (f_seq[QW'(rd_q + QW'(i))] == f_pop_n + FW'(i));
      end
      if (pop) assert (f_seq[rd_q] == f_pop_n);
    end
  end
`endif

endmodule

`default_nettype wire
