// Time-parallel peeler of the sparse core: one (position, weight) pair per cycle for all time
// steps at once.
//
// A word (from the scanner's FIFO) holds the positions to peel, bits = OR_t(spikes) & mask,
// the address of the weight of the mask's lowest bit (ptr) and count = popcount(bits),
// computed by the scanner: the end of a word comes from a down-counter, never from a wide
// zero test. Its planes (every plane's spikes as read: only positions in bits are looked at)
// and weight mask stay in the scanner's queue slot (in_slot_i): the peeler reads them there
// (body_slot_o) while it peels the word and frees the slot on the word's last cycle (free_o).
// Each cycle the lowest set bit y of the remaining bits is peeled: one subtractor x - 1 gives
// y = x & ~(x-1), the rest x & (x-1) and the bits below y, ~x & (x-1); the weight sits at
// ptr + popcount(mask & below). It is read once and added to the accumulator of every plane
// whose spike is 1 at y:
//   Mode 0 (lanes):    acc[l] += planes[l][y] ? w : 0          (spike input, one acc per step)
//   Mode 1 (direct):   acc += w * sum_l planes[l][y] << l      (pixel value times weight)
//   Mode 2 (popcount): acc += w * sum_l planes[l][y]           (FC integrate readout)
// The products are shift-add trees (no DSP), one registered adder level per stage.
//
// Groups and pixels: the scanner cannot know a group's last non-empty word without looking
// ahead, so a group is closed by what follows it:
//   open  - the word starts a group (in_tag_i): the sums of the group still open, if any,
//           come out first (res_valid_o, with that group's tag), then the sums restart;
//   close - the pixel ends after this word: the open group's sums come out (if a group is
//           open) and done_o pulses. The scanner sends every pixel's last list entry, even
//           when it has no position (count 0).
// A word costs max(1, count) cycles in the peel stage, one more when it opens and closes a
// group with at most one position while another group is open (two results, two cycles).
// Words follow each other without a bubble.
//
// Phi (Mode 0 only; docs/phi.md "Phi in hardware"): the planes are the residual
// planes of the matched pixels, and a word carries NTok PWP tokens above its WordW positions
// (in_bits_i[WordW + i]: token i, the PWP of block i of the word's pixels). A residual
// position subtracts its weight where body_sign_i is 1 (pattern 1, spike 0) and adds it
// elsewhere; a token adds PWP ROM word {in_pbase_i + i, body_tidx_i[i]} (PwpFile, Q = 2^QW
// slots per row) to the planes of body_tlanes_i[i*L +: L]. Tokens come after the positions
// (they are the high bits) and count in in_count_i.
//
// Pipeline: A peel | B lane parts, chunk popcounts | C lanes, 16-bit part counts |
// D address | E weight read (LUT-RAM, or block RAM with its output registered: WtBlock) |
// F products (Mode 1/2: log2(L) levels) | G accumulate -> result. No stage stalls: the
// result consumer always takes a result. Words up to 64 bits stay within two adder levels
// (or one 16-bit OR) per stage.
`default_nettype none

module spike_peeler #(
  parameter int unsigned WordW   = 16,
  parameter int unsigned L       = 4,
  parameter int unsigned Mode    = 0,
  parameter int unsigned WtDepth = 16,
  parameter int unsigned AccW    = 16,
  parameter int unsigned TagW    = 1,
  parameter bit          WtBlock = 1'b0,
  parameter string       WtFile  = "",
  parameter bit          Phi     = 1'b0,
  parameter int unsigned NTok    = 1,      // Phi: PWP tokens per word
  parameter int unsigned QW      = 1,      // Phi: bits of a pattern index
  parameter int unsigned PwpDepth = 2,     // Phi: PWP ROM words (rows x 2^QW)
  parameter int unsigned PwpW    = 4,      // Phi: bits of a PWP (signed)
  parameter string       PwpFile = "",
  parameter int unsigned SlotW   = 4,
  // derived (not overridable)
  localparam int unsigned XW      = Phi ? WordW + NTok : WordW,  // positions + tokens
  localparam int unsigned PRowW   = (PwpDepth >> QW > 1) ? unsigned'($clog2(PwpDepth >> QW)) : 1,
  localparam int unsigned AddrW   = (WtDepth > 1) ? unsigned'($clog2(WtDepth)) : 1,
  localparam int unsigned CntW    = unsigned'($clog2(XW + 1)),
  localparam int unsigned NumAcc  = (Mode == 0) ? L : 1
) (
  input  logic                   clk_i,
  input  logic                   srst_ni,
  input  logic                   in_valid_i,
  output logic                   in_ready_o,
  input  logic [XW-1:0]          in_bits_i,    // positions to peel (OR over planes & mask)
  input  logic [SlotW-1:0]       in_slot_i,    // the word's queue slot
  output logic [SlotW-1:0]       body_slot_o,  // the slot of the word being peeled
  input  logic [L*WordW-1:0]     body_planes_i,  // its planes: plane l at [l*WordW +: WordW]
  input  logic [WordW-1:0]       body_mask_i,    // its weight mask
  input  logic [WordW-1:0]       body_sign_i,    // Phi: subtract at these positions
  input  logic [NTok*L-1:0]      body_tlanes_i,  // Phi: token i's planes at [i*L +: L]
  input  logic [NTok*QW-1:0]     body_tidx_i,    // Phi: token i's pattern index
  input  logic [PRowW-1:0]       in_pbase_i,     // Phi: the PWP row of the word's token 0
  output logic                   free_o,       // the word's last cycle: its slot is free
  input  logic [AddrW-1:0]       in_ptr_i,     // weight address of the mask's lowest bit
  input  logic [CntW-1:0]        in_count_i,   // popcount(in_bits_i)
  input  logic                   in_le1_i,     // in_count_i <= 1 (from the scanner's queue)
  input  logic                   in_open_i,    // the word starts group in_tag_i
  input  logic                   in_close_i,   // the pixel ends with this word
  input  logic [TagW-1:0]        in_tag_i,     // the word's group (read when it opens)
  output logic                   res_valid_o,  // a group's sums
  output logic [NumAcc*AccW-1:0] res_acc_o,    // sum of plane l at [l*AccW +: AccW] (Mode 0)
  output logic [TagW-1:0]        res_tag_o,
  output logic                   done_o,       // a pixel ends (with its last result, if any)
  output logic                   busy_o,       // a word is in the peel stage
  output logic                   pair_o,       // a position was peeled (two cycles ago)
  output logic [L-1:0]           lanes_o       // its planes with a spike (time-serial pairs)
);

  localparam int unsigned Chunk   = 4;                         // popcount chunk (one LUT4)
  localparam int unsigned NChunk  = (WordW + Chunk - 1) / Chunk;   // rank chunks
  localparam int unsigned NChunkX = (XW + Chunk - 1) / Chunk;      // lane groups
  localparam int unsigned LP      = Phi ? L + 1 : L;               // lanes (+ the sign)
  // the weight or PWP, one bit wider with Phi: its negation must fit (-(-8) = 8)
  localparam int unsigned WW      = !Phi ? 4 : ((PwpW > 4) ? PwpW : 4) + 1;
  localparam int unsigned TIW     = unsigned'($clog2(NTok + 1));
  localparam int unsigned ChW     = 3;                         // bits of a chunk's count
  localparam int unsigned Span    = 16;                        // bits of a lane / count part
  localparam int unsigned NPart   = (WordW + Span - 1) / Span;
  localparam int unsigned PerPart = Span / Chunk;              // chunks per part
  localparam int unsigned PartW   = 5;                         // bits of a part's count
  localparam int unsigned VW      = (Mode == 1) ? L : unsigned'($clog2(L + 1));  // multiplier
  localparam int unsigned PLev    = (Mode == 0 || VW <= 1) ? 0 : unsigned'($clog2(VW));
  localparam int unsigned PW      = 4 + VW + 1;                // product width (signed)

  if (Mode > 2) begin : g_bad_mode
    $error("spike_peeler: Mode must be 0 (lanes), 1 (direct) or 2 (popcount)");
  end
  if (WordW > 8 * Span) begin : g_bad_width
    $error("spike_peeler: WordW must be at most 128");
  end
  if (Phi && Mode != 0) begin : g_bad_phi
    $error("spike_peeler: the Phi mode needs Mode 0 (spike input, one accumulator per step)");
  end

  // ------------------------------------------------------------------ A: peel
  // grp_q: a group is open after the words loaded so far. Per word: a group is open while it
  // is peeled (opened_q); its first cycle flushes the group open before it (flush_q).
  logic               act_q, first_q, last_q, close_q, opened_q, flush_q, grp_q;
  logic [XW-1:0]      x_q;
  logic [PRowW-1:0]   pbase_q;
  logic [SlotW-1:0]   slot_q;
  logic [AddrW-1:0]   ptr_q;
  logic [CntW-1:0]    rem_q;          // positions left
  logic [CntW:0]      cyc_q;          // cycles left (the extra cycle needs one more bit)
  logic [TagW-1:0]    tag_q, ftag_q;  // the open group's tag, the flushed group's tag

  logic [XW-1:0] xm1, below;
  logic             load, peel, conflict;
  assign xm1        = x_q - XW'(1);
  assign below      = ~x_q & xm1;
  assign peel       = act_q && (rem_q != '0);
  assign in_ready_o = !act_q || last_q;  // last_q registered: ready straight from flip-flops
  assign load       = in_valid_i && in_ready_o;
  // cycles of a word: max(1, count), 2 on a conflict (count <= 1 then); no adder, no wide
  // compare on the load path (the queue provides count <= 1)
  assign conflict   = in_open_i && in_close_i && grp_q && in_le1_i;

  // the planes at the peeled position, OR-ed per Chunk-bit group (the groups are OR-ed in C).
  // Group k holds the position when no bit of x_q below it is set (low_k: the subtractor's
  // borrow into the group, x_q[Lo] ^ xm1[Lo]), and it is then the group's own lowest set bit:
  // one LUT after the carry chain instead of y = x & ~(x - 1) and the lane LUTs behind it (on
  // ECP5 x_q -> chain -> y -> lanes was 7.8 ns, mostly routing). A lane's bit is picked from
  // the group's planes by two muxes on x_q's bits (pairs, then the pair holding the lowest
  // bit), gated by low_k: written for two LUT levels after the planes, which come late from
  // the scanner's LUT-RAM (as an OR of plane and lowest bit it mapped to three levels, 7.4 ns
  // on ECP5 from a body read address copy; the mux form still mapped to a LUT, a wide mux and
  // a LUT in one later run). The peel gates the lanes in C (its net reaching every lane LUT
  // was a 3 ns route on ECP5)
  function automatic logic pick(input logic [Chunk-1:0] x, input logic [Chunk-1:0] p);
    logic a, b;
    a = x[0] ? p[0] : (x[1] && p[1]);
    b = x[2] ? p[2] : (x[3] && p[3]);
    return (x[0] || x[1]) ? a : b;
  endfunction
  if (Chunk != 4) begin : g_bad_chunk
    $error("spike_peeler: pick() is written for 4-bit groups");
  end
  // plane l's bits over the positions and tokens; lane L (Phi): the sign
  logic [XW-1:0] pext [LP];
  for (genvar l = 0; l < LP; l++) begin : g_pext
    if (!Phi) begin : g_plain
      assign pext[l] = body_planes_i[l*WordW +: WordW];
    end else if (l < L) begin : g_plane
      logic [NTok-1:0] tl;
      for (genvar i = 0; i < NTok; i++) begin : g_tok
        assign tl[i] = body_tlanes_i[i*L + l];
      end
      assign pext[l] = {tl, body_planes_i[l*WordW +: WordW]};
    end else begin : g_sign
      assign pext[l] = {NTok'(0), body_sign_i};
    end
  end
  logic [NChunkX-1:0]   low;    // no bit of x_q below group k
  logic [LP*NChunkX-1:0] lpart;  // lane l, group k at [l*NChunkX + k]
  for (genvar k = 0; k < NChunkX; k++) begin : g_grp
    localparam int unsigned Lo = k * Chunk;
    localparam int unsigned N  = (XW - Lo < Chunk) ? XW - Lo : Chunk;
    logic [Chunk-1:0] xg;  // the group's bits of x_q, zero above the word
    logic             gate;
    if (k == 0) begin : g_first
      assign low[k] = 1'b1;
    end else begin : g_rest
      assign low[k] = x_q[Lo] ^ xm1[Lo];  // x_q - 1 borrows into bit Lo: x_q[Lo-1:0] == 0
    end
    always_comb begin
      xg        = '0;
      xg[N-1:0] = x_q[Lo +: N];
    end
    assign gate = low[k];  // the peel gates the lanes in C (b_peel)
    for (genvar l = 0; l < LP; l++) begin : g_lane
      logic [Chunk-1:0] pg;  // the group's bits of plane l, zero above the word
      always_comb begin
        pg        = '0;
        pg[N-1:0] = pext[l][Lo +: N];
      end
      assign lpart[l*NChunkX + k] = gate && pick(xg, pg);
    end
  end

  always_ff @(posedge clk_i) begin
    if (!srst_ni) begin
      act_q    <= 1'b0;
      first_q  <= 1'b0;
      last_q   <= 1'b0;
      close_q  <= 1'b0;
      opened_q <= 1'b0;
      flush_q  <= 1'b0;
      grp_q    <= 1'b0;
      x_q      <= '0;
      pbase_q  <= '0;
      slot_q   <= '0;
      ptr_q    <= '0;
      rem_q    <= '0;
      cyc_q    <= '0;
      tag_q    <= '0;
      ftag_q   <= '0;
    end else if (load) begin
      act_q    <= 1'b1;
      first_q  <= 1'b1;
      last_q   <= in_le1_i && !conflict;
      close_q  <= in_close_i;
      opened_q <= in_open_i || grp_q;
      flush_q  <= in_open_i && grp_q;
      grp_q    <= !in_close_i && (in_open_i || grp_q);
      x_q      <= in_bits_i;
      pbase_q  <= in_pbase_i;
      slot_q   <= in_slot_i;
      ptr_q    <= in_ptr_i;
      rem_q    <= in_count_i;
      if (conflict)      cyc_q <= (CntW + 1)'(2);
      else if (in_le1_i) cyc_q <= (CntW + 1)'(1);
      else               cyc_q <= (CntW + 1)'(in_count_i);
      if (in_open_i) begin
        tag_q  <= in_tag_i;
        ftag_q <= tag_q;
      end
    end else if (act_q) begin
      if (last_q) begin
        act_q <= 1'b0;
      end
      first_q <= 1'b0;
      x_q     <= x_q & xm1;
      if (peel) rem_q <= rem_q - CntW'(1);
      cyc_q   <= cyc_q - (CntW + 1)'(1);
      last_q  <= (cyc_q == (CntW + 1)'(2));
    end
  end
  assign busy_o      = act_q;
  assign body_slot_o = slot_q;
  assign free_o      = act_q && last_q;

  // ------------------------------------------------------------------ B: chunk popcounts
  // events per cycle, ev = {close with a result, close, flush}: flush on the first cycle of a
  // word that opens a group while another is open, close on the last cycle of a closing word
  logic               b_valid, b_peel;
  logic [2:0]         b_ev;
  logic [LP*NChunkX-1:0] b_lpart;
  logic [WordW-1:0]   b_rmask;
  logic [AddrW-1:0]   b_ptr;
  logic [TagW-1:0]    b_tag;

  always_ff @(posedge clk_i) begin
    if (!srst_ni) begin
      b_valid <= 1'b0;
      b_peel  <= 1'b0;
      b_ev    <= '0;
      b_lpart <= '0;
      b_rmask <= '0;
      b_ptr   <= '0;
      b_tag   <= '0;
    end else begin
      b_valid <= act_q;
      b_peel  <= peel;
      b_ev    <= {act_q && last_q && close_q && opened_q, act_q && last_q && close_q,
                  act_q && first_q && flush_q};
      b_lpart <= lpart;
      b_rmask <= body_mask_i & below[WordW-1:0];
      b_ptr   <= ptr_q;
      b_tag   <= (first_q && flush_q) ? ftag_q : tag_q;
    end
  end

  logic [NChunk*ChW-1:0] chunk;  // chunk k at [k*ChW +: ChW]
  for (genvar k = 0; k < NChunk; k++) begin : g_chunk
    localparam int unsigned Lo = k * Chunk;
    localparam int unsigned N  = (WordW - Lo < Chunk) ? WordW - Lo : Chunk;
    popcount #(.Width(N), .CntW(ChW)) u_cnt (
      .bits_i (b_rmask[Lo +: N]),
      .count_o(chunk[k*ChW +: ChW])
    );
  end

  // ------------------------------------------------------------------ C: lanes, part counts
  logic                  c_valid, c_peel;
  logic [2:0]            c_ev;
  logic [LP-1:0]         c_lanes;
  logic [NChunk*ChW-1:0] c_chunk;
  logic [AddrW-1:0]      c_ptr;
  logic [TagW-1:0]       c_tag;

  always_ff @(posedge clk_i) begin
    if (!srst_ni) begin
      c_valid <= 1'b0;
      c_peel  <= 1'b0;
      c_ev    <= '0;
      c_lanes <= '0;
      c_chunk <= '0;
      c_ptr   <= '0;
      c_tag   <= '0;
    end else begin
      c_valid <= b_valid;
      c_peel  <= b_peel;
      c_ev    <= b_ev;
      for (int unsigned l = 0; l < LP; l++) begin
        c_lanes[l] <= b_peel && (|b_lpart[l*NChunkX +: NChunkX]);
      end
      c_chunk <= chunk;
      c_ptr   <= b_ptr;
      c_tag   <= b_tag;
    end
  end
  assign pair_o  = c_peel;
  assign lanes_o = c_lanes[L-1:0];

  // rank = popcount(mask & below): the chunk counts of each Span-bit part summed here, the
  // parts and the pointer in stage D
  logic [NPart*PartW-1:0] part;  // part k at [k*PartW +: PartW]
  for (genvar k = 0; k < NPart; k++) begin : g_cpart
    localparam int unsigned N = (NChunk - k * PerPart < PerPart) ? NChunk - k * PerPart
                                                                 : PerPart;
    adder_tree #(.N(N), .InW(ChW), .SumW(PartW)) u_part (
      .values_i(c_chunk[k*PerPart*ChW +: N*ChW]),
      .sum_o   (part[k*PartW +: PartW])
    );
  end

  logic                   p_valid;
  logic [2:0]             p_ev;
  logic [LP-1:0]          p_lanes;
  logic [NPart*PartW-1:0] p_part;
  logic [AddrW-1:0]       p_ptr;
  logic [TagW-1:0]        p_tag;

  always_ff @(posedge clk_i) begin
    if (!srst_ni) begin
      p_valid <= 1'b0;
      p_ev    <= '0;
      p_lanes <= '0;
      p_part  <= '0;
      p_ptr   <= '0;
      p_tag   <= '0;
    end else begin
      p_valid <= c_valid;
      p_ev    <= c_ev;
      p_lanes <= c_lanes;
      p_part  <= part;
      p_ptr   <= c_ptr;
      p_tag   <= c_tag;
    end
  end

  // ------------------------------------------------------------------ D: address
  localparam int unsigned TermW = (PartW > AddrW) ? PartW : AddrW;
  localparam int unsigned SumW  = TermW + unsigned'($clog2(NPart + 1));
  logic [(NPart+1)*TermW-1:0] terms;
  always_comb begin
    terms = '0;
    for (int unsigned k = 0; k < NPart; k++) begin
      terms[k*TermW +: PartW] = p_part[k*PartW +: PartW];
    end
    terms[NPart*TermW +: AddrW] = p_ptr;
  end
  /* verilator lint_off UNUSEDSIGNAL */  // ptr + rank < WtDepth: the address fits AddrW
  logic [SumW-1:0] addr_sum;
  /* verilator lint_on UNUSEDSIGNAL */
  adder_tree #(.N(NPart + 1), .InW(TermW), .SumW(SumW)) u_addr (
    .values_i(terms),
    .sum_o   (addr_sum)
  );

  logic             d_valid;
  logic [2:0]       d_ev;
  logic [LP-1:0]    d_lanes;
  logic [AddrW-1:0] d_addr;
  logic [TagW-1:0]  d_tag;

  always_ff @(posedge clk_i) begin
    if (!srst_ni) begin
      d_valid <= 1'b0;
      d_ev    <= '0;
      d_lanes <= '0;
      d_addr  <= '0;
      d_tag   <= '0;
    end else begin
      d_valid <= p_valid;
      d_ev    <= p_ev;
      d_lanes <= p_lanes;
      d_addr  <= addr_sum[AddrW-1:0];
      d_tag   <= p_tag;
    end
  end

  // ------------------------------------------------------------------ Phi: the token path
  // B: a token is peeled when no position is left below it (below[WordW-1]); C: its index,
  // the tokens below it; P: PWP row and pattern index; D: the PWP address
  logic             d_tok;
  /* verilator lint_off UNUSEDSIGNAL */  // no PWP ROM reads it without Phi
  logic [PRowW+QW-1:0] d_paddr;
  /* verilator lint_on UNUSEDSIGNAL */
  if (Phi) begin : g_tok
    logic               b_tok, c_tok, p_tok;
    logic [NTok-1:0]    b_btok;
    logic [NTok*QW-1:0] b_tidx, c_tidx;
    logic [PRowW-1:0]   b_pbase, c_pbase, p_row;
    logic [TIW-1:0]     ti, c_ti;
    logic [QW-1:0]      p_j;
    popcount #(.Width(NTok), .CntW(TIW)) u_ti (
      .bits_i (b_btok),
      .count_o(ti)
    );
    always_ff @(posedge clk_i) begin
      if (!srst_ni) begin
        b_tok <= 1'b0;
        c_tok <= 1'b0;
        p_tok <= 1'b0;
        d_tok <= 1'b0;
      end else begin
        b_tok <= peel && below[WordW-1];
        c_tok <= b_tok;
        p_tok <= c_tok;
        d_tok <= p_tok;
      end
    end
    always_ff @(posedge clk_i) begin
      b_btok  <= below[WordW +: NTok];
      b_tidx  <= body_tidx_i;
      b_pbase <= pbase_q;
      c_ti    <= ti;
      c_tidx  <= b_tidx;
      c_pbase <= b_pbase;
      p_row   <= c_pbase + PRowW'(c_ti);
      p_j     <= c_tidx[c_ti*QW +: QW];
      d_paddr <= {p_row, p_j};
    end
  end else begin : g_no_tok
    assign d_tok   = 1'b0;
    assign d_paddr = '0;
    /* verilator lint_off UNUSEDSIGNAL */
    logic unused_tok;
    /* verilator lint_on UNUSEDSIGNAL */
    assign unused_tok = ^{body_sign_i, body_tlanes_i, body_tidx_i, pbase_q};
  end

  // ------------------------------------------------------------------ E: weight read
  logic              e_valid;
  logic [2:0]        e_ev;  // flush, close, close with a result
  logic [LP-1:0]     e_lanes;
  logic [TagW-1:0]   e_tag;
  logic signed [WW-1:0] e_w;

  if (WtBlock) begin : g_bram
    // block RAM: the read registers the address, a fabric register takes the data out
    logic [3:0]        rom_q;
    logic              r_valid;
    logic [2:0]        r_ev;
    logic [LP-1:0]     r_lanes;
    logic [TagW-1:0]   r_tag;
    sync_rom #(.Width(4), .Depth(WtDepth), .InitFile(WtFile), .AddrWidth(AddrW)) u_wt (
      .clk_i (clk_i),
      .en_i  (1'b1),
      .addr_i(d_addr),
      .data_o(rom_q)
    );
    logic            r_tok;
    logic signed [WW-1:0] w_x, pwp_x;  // the weight and the PWP, sign-extended to WW
    if (WW > 4) begin : g_wx
      assign w_x = WW'($signed(rom_q));
    end else begin : g_w4
      assign w_x = $signed(rom_q);
    end
    if (Phi) begin : g_pwp
      logic [PwpW-1:0] pwp_q;
      sync_rom #(.Width(PwpW), .Depth(PwpDepth), .InitFile(PwpFile),
                 .AddrWidth(PRowW + QW)) u_pwp (
        .clk_i (clk_i),
        .en_i  (1'b1),
        .addr_i(d_paddr),
        .data_o(pwp_q)
      );
      assign pwp_x = WW'($signed(pwp_q));  // WW > PwpW with Phi
    end else begin : g_no_pwp
      assign pwp_x = '0;
    end
    always_ff @(posedge clk_i) begin
      if (!srst_ni) r_tok <= 1'b0;
      else         r_tok <= d_tok;
    end
    always_ff @(posedge clk_i) begin
      if (!srst_ni) begin
        r_valid <= 1'b0;
        r_ev    <= '0;
        r_lanes <= '0;
        r_tag   <= '0;
        e_valid <= 1'b0;
        e_ev    <= '0;
        e_lanes <= '0;
        e_tag   <= '0;
        e_w     <= '0;
      end else begin
        r_valid <= d_valid;
        r_ev    <= d_ev;
        r_lanes <= d_lanes;
        r_tag   <= d_tag;
        e_valid <= r_valid;
        e_ev    <= r_ev;
        e_lanes <= r_lanes;
        e_tag   <= r_tag;
        e_w     <= r_tok ? pwp_x : w_x;
      end
    end
  end else begin : g_lutram
    logic [3:0] mem [WtDepth];  // small: LUTs (a ROM has no LUT-RAM write port)
    initial begin
      if (WtFile != "") begin
        $readmemh(WtFile, mem);
      end
    end
    // a deep ROM reads each output bit (or pair) from its own copy of the address (kept:
    // synthesis would merge them): each low address bit of the 338-word L4 ROM reached ~128
    // LUTs, 3.0 ns of routing on ECP5 before four LUTs and two wide muxes
    localparam int unsigned NCp = ((WtDepth + 255) / 256 < 4) ? (WtDepth + 255) / 256 : 4;
    logic [AddrW-1:0] a_c [NCp];
    assign a_c[0] = d_addr;
    for (genvar c = 1; c < NCp; c++) begin : g_acp
      logic [AddrW-1:0] a_q;
      (* keep *) always_ff @(posedge clk_i) begin
        if (!srst_ni) a_q <= '0;
        else         a_q <= addr_sum[AddrW-1:0];
      end
      assign a_c[c] = a_q;
      always_ff @(posedge clk_i) begin
        if (srst_ni) begin
          assert (a_q == d_addr) else $error("spike_peeler: weight address copy %0d is stale", c);
        end
      end
    end
    logic signed [WW-1:0] pwp_x;  // the PWP, sign-extended to WW
    if (Phi) begin : g_pwp
      logic [PwpW-1:0] pwp_rd;
      logic [PwpW-1:0] pmem [PwpDepth];
      initial begin
        if (PwpFile != "") begin
          $readmemh(PwpFile, pmem);
        end
      end
      assign pwp_rd = pmem[d_paddr];
      assign pwp_x  = WW'($signed(pwp_rd));  // WW > PwpW with Phi
    end else begin : g_no_pwp
      assign pwp_x = '0;
    end
    logic [3:0] w_rd;
    for (genvar b = 0; b < 4; b++) begin : g_wbit
      assign w_rd[b] = mem[a_c[b * NCp / 4]][b];
    end
    logic signed [WW-1:0] w_x;  // the weight, sign-extended to WW
    if (WW > 4) begin : g_wx
      assign w_x = WW'($signed(w_rd));
    end else begin : g_w4
      assign w_x = $signed(w_rd);
    end
    always_ff @(posedge clk_i) begin
      if (!srst_ni) begin
        e_valid <= 1'b0;
        e_ev    <= '0;
        e_lanes <= '0;
        e_tag   <= '0;
        e_w     <= '0;
      end else begin
        e_valid <= d_valid;
        e_ev    <= d_ev;
        e_lanes <= d_lanes;
        e_tag   <= d_tag;
        e_w     <= d_tok ? pwp_x : w_x;
      end
    end
  end

  // ------------------------------------------------------------------ F: products
  logic                          f_valid;
  logic [2:0]                    f_ev;
  logic [TagW-1:0]               f_tag;
  logic [NumAcc*AccW-1:0]       f_contrib;  // plane l at [l*AccW +: AccW]

  if (Mode == 0) begin : g_lanes
    // the weight and the lanes are registered, the gating and sign extension sit in front
    // of each accumulator's adder (one LUT per bit with the carry chain)
    logic signed [WW-1:0] f_w, f_wn;  // the weight (or PWP) and its negation
    logic [LP-1:0]     f_lanes;
    always_ff @(posedge clk_i) begin
      if (!srst_ni) begin
        f_valid <= 1'b0;
        f_ev    <= '0;
        f_tag   <= '0;
        f_w     <= '0;
        f_wn    <= '0;
        f_lanes <= '0;
      end else begin
        f_valid <= e_valid;
        f_ev    <= e_ev;
        f_tag   <= e_tag;
        f_w     <= e_w;
        f_wn    <= -e_w;
        f_lanes <= e_lanes;
      end
    end
    logic neg;  // Phi: the position's pattern bit is 1 (subtract)
    if (Phi) begin : g_neg
      assign neg = f_lanes[L];
    end else begin : g_pos
      assign neg = 1'b0;
    end
    for (genvar l = 0; l < L; l++) begin : g_gate
      assign f_contrib[l*AccW +: AccW] = !f_lanes[l] ? '0
                                       : $unsigned(AccW'(neg ? f_wn : f_w));
    end
  end else begin : g_product
    // multiplier v: the pixel value (direct) or the number of steps with a spike (popcount)
    logic [VW-1:0] v;
    if (Mode == 1) begin : g_direct
      assign v = e_lanes;
    end else begin : g_popcount
      popcount #(.Width(L), .CntW(VW)) u_pc (
        .bits_i (e_lanes),
        .count_o(v)
      );
    end
    // shift-add tree: level 0 holds w << b where v[b], each later level adds pairs
    localparam int unsigned N0 = 1 << PLev;
    for (genvar lv = 0; lv <= PLev; lv++) begin : g_lvl
      localparam int unsigned N = N0 >> lv;
      logic [N-1:0][PW-1:0]        term;  // two's complement
      logic                        valid;
      logic [2:0]                  ev;
      logic [TagW-1:0]             tag;
      if (lv == 0) begin : g_leaf
        always_ff @(posedge clk_i) begin
          if (!srst_ni) begin
            term  <= '0;
            valid <= 1'b0;
            ev    <= '0;
            tag   <= '0;
          end else begin
            valid <= e_valid;
            ev    <= e_ev;
            tag   <= e_tag;
            for (int unsigned b = 0; b < N; b++) begin
              term[b] <= (b < VW && v[b]) ? $unsigned(PW'(e_w) <<< b) : '0;
            end
          end
        end
      end else begin : g_add
        always_ff @(posedge clk_i) begin
          if (!srst_ni) begin
            term  <= '0;
            valid <= 1'b0;
            ev    <= '0;
            tag   <= '0;
          end else begin
            valid <= g_lvl[lv-1].valid;
            ev    <= g_lvl[lv-1].ev;
            tag   <= g_lvl[lv-1].tag;
            for (int unsigned j = 0; j < N; j++) begin
              term[j] <= $unsigned($signed(g_lvl[lv-1].term[2*j])
                                   + $signed(g_lvl[lv-1].term[2*j+1]));
            end
          end
        end
      end
    end
    assign f_valid      = g_lvl[PLev].valid;
    assign f_ev         = g_lvl[PLev].ev;
    assign f_tag        = g_lvl[PLev].tag;
    if (PW == AccW) begin : g_same_w
      assign f_contrib = g_lvl[PLev].term[0];
    end else begin : g_ext_w  // sign-extended (or cut) to the accumulator
      assign f_contrib = $unsigned(AccW'($signed(g_lvl[PLev].term[0])));
    end
  end

  // ------------------------------------------------------------------ G: accumulate
  // flush: the open group's sums (before this cycle's product) come out, the new group starts
  // with the product; close: the sums including the product come out (if a group was open)
  logic [NumAcc*AccW-1:0] acc_q, sum;
  for (genvar a = 0; a < NumAcc; a++) begin : g_acc
    assign sum[a*AccW +: AccW] = acc_q[a*AccW +: AccW] + f_contrib[a*AccW +: AccW];
  end

  always_ff @(posedge clk_i) begin
    if (!srst_ni) begin
      acc_q       <= '0;
      res_valid_o <= 1'b0;
      res_acc_o   <= '0;
      res_tag_o   <= '0;
      done_o      <= 1'b0;
    end else begin
      res_valid_o <= f_valid && (f_ev[0] || f_ev[2]);
      done_o      <= f_valid && f_ev[1];
      if (f_valid) begin
        if (f_ev[0]) begin
          acc_q     <= f_contrib;
          res_acc_o <= acc_q;
          res_tag_o <= f_tag;
        end else if (f_ev[1]) begin
          acc_q     <= '0;
          res_acc_o <= sum;
          res_tag_o <= f_tag;
        end else begin
          acc_q <= sum;
        end
      end
    end
  end

`ifdef FORMAL
  // Proved by sim/formal/spike_peeler.sby (k-induction; words, bodies and handshakes free within
  // the scanner's contract: count = popcount(bits), bits inside the mask, the slot's body
  // unchanged while the word is loaded): every position of a word is peeled once, in
  // ascending order, before the word's last cycle; the pair leaving stage D carries the weight
  // address ptr + popcount(mask below the position) and exactly the planes with a spike there
  // (no lanes on a cycle without a position).
  logic f_init = 1'b1;
  logic [WordW-1:0]   f_bits, f_mask;
  logic [L*WordW-1:0] f_planes;
  function automatic int unsigned f_pop(input logic [WordW-1:0] v);
    int unsigned n;
    n = 0;
    for (int unsigned i = 0; i < WordW; i++) n += int'(v[i]);
    return n;
  endfunction
  // stage A's pair as a reference, carried along B, C, P, D next to the pipeline
  localparam int unsigned FAW = AddrW + CntW + 1;
  logic [FAW-1:0]   f_addr;
  logic [L-1:0]     f_lanes;
  logic [WordW-1:0] y;  // the peeled position, from the subtractor
  assign y = x_q & ~xm1;
  always_comb begin
    f_addr = FAW'(ptr_q) + FAW'(f_pop(body_mask_i & below));
    for (int unsigned l = 0; l < L; l++) f_lanes[l] = |(body_planes_i[l*WordW +: WordW] & y);
  end
  logic [3:0]          f_peel_q;
  logic [3:0][FAW-1:0] f_addr_q;
  logic [3:0][L-1:0]   f_lanes_q;
  always_ff @(posedge clk_i) begin
    f_init <= 1'b0;
    if (load) f_bits <= in_bits_i;
    if (act_q && first_q) begin
      f_mask   <= body_mask_i;
      f_planes <= body_planes_i;
    end
    if (!srst_ni) begin
      f_peel_q <= '0;
    end else begin
      f_peel_q <= {f_peel_q[2:0], peel};
    end
    f_addr_q  <= {f_addr_q[2:0], f_addr};
    f_lanes_q <= {f_lanes_q[2:0], f_lanes};
  end
  always_comb begin
    if (f_init) assume (!srst_ni);
    if (in_valid_i) begin
      assume (32'(in_count_i) == f_pop(in_bits_i));
      assume (in_le1_i == (in_count_i <= CntW'(1)));
    end
    if (act_q && first_q) assume ((x_q & ~body_mask_i) == '0);
    if (act_q && !first_q) assume (body_mask_i == f_mask && body_planes_i == f_planes);
    if (!f_init && srst_ni) begin
      if (act_q) begin
        assert ((x_q & ~f_bits) == '0);
        assert (32'(rem_q) == f_pop(x_q));
        // what is gone from the word lies below what is left: ascending, each once
        assert (((f_bits & ~x_q) & ~below) == '0);
        if (first_q) assert (x_q == f_bits);
        if (last_q) assert (rem_q <= CntW'(1));
        // the cycle count: the last cycle is flagged, never fewer cycles than positions
        assert (last_q == (cyc_q == (CntW + 1)'(1)));
        assert ((CntW + 1)'(rem_q) <= cyc_q);
        if (rem_q > CntW'(1)) assert ((CntW + 1)'(rem_q) == cyc_q);
      end
      if (f_peel_q[3]) begin
        assert (d_addr == AddrW'(f_addr_q[3]));
        assert (d_lanes == f_lanes_q[3]);
      end else begin
        assert (d_lanes == '0);
      end
    end
  end
`endif

endmodule

`default_nettype wire
