// Window source of the sparse core: the input ring and the windows in flight, without any copy
// of a window.
//
// Input: one pixel per beat in raster order, L planes x Ci channels (bit l * Ci + c). Pixels
// go round a ring of Depth = min((KH-1)*W + KW + Hold, H*W) pixels, continuously over frames;
// the write port is broadcast (wr_*_o) to every detector's scanner, which keeps its own
// LUT-RAM copy of the ring and reads its words from it.
// A window (output pixel, raster order) is described by a descriptor: the ring address of its
// top-left input pixel (oy - Pad, ox - Pad), modulo Depth, and one in-image flag per kernel
// position (k = ky * KW + kx; positions outside the image read as 0). Up to NumWin windows are
// in flight. Each detector takes the windows in order (desc_take_i, the descriptor is the one
// at its take pointer) and finishes them in order (desc_fin_i, after its last ring read of the
// window); a window retires when every detector has finished it. The producer writes a pixel
// only when no window in flight, nor any later one, still needs the pixel it overwrites
// (computed from the oldest window in flight), and a window is gathered once its last input
// pixel has arrived, a descriptor is free and gate_i (the core has a free output buffer).
// An FC layer is the case KH = H, KW = W, Pad = 0 (one window per frame).
`default_nettype none

module window_unit #(
  parameter int unsigned L      = 4,
  parameter int unsigned Ci     = 8,
  parameter int unsigned H      = 8,
  parameter int unsigned W      = 8,
  parameter int unsigned KH     = 3,
  parameter int unsigned KW     = 3,
  parameter int unsigned Pad    = 1,
  parameter int unsigned Hold   = 8,   // pixels of slack beyond one window's span
  parameter int unsigned NumWin = 4,   // windows in flight, a power of two >= 2
  parameter int unsigned Pco    = 2,   // detectors
  parameter int unsigned PixW   = L * Ci,
  // derived (not overridable)
  localparam int unsigned KK     = KH * KW,
  localparam int unsigned Span   = (KH - 1) * W + KW,
  localparam int unsigned Depth  = (Span + Hold < H * W) ? Span + Hold : H * W,
  localparam int unsigned AW     = (Depth > 1) ? unsigned'($clog2(Depth)) : 1
) (
  input  logic              clk_i,
  input  logic              srst_ni,
  input  logic              in_valid_i,
  output logic              in_ready_o,
  input  logic [PixW-1:0]   in_data_i,
  output logic              wr_en_o,      // ring write, to every scanner (registered there)
  output logic [AW-1:0]     wr_addr_o,
  output logic [PixW-1:0]   wr_data_o,    // registered: wr_en_o's pixel, a cycle later
  input  logic              gate_i,       // a new window may start (output buffer free)
  output logic              gather_o,     // a window starts this cycle
  output logic              last_o,       // ... and it is the frame's last
  output logic [Pco-1:0]    desc_valid_o, // detector d: a window at its take pointer
  output logic [Pco*AW-1:0] desc_base_o,  // its ring base, detector d at [d*AW +: AW]
  output logic [Pco*KK-1:0] desc_img_o,   // its in-image flags, at [d*KK +: KK]
  input  logic [Pco-1:0]    desc_take_i,  // detector d takes its window
  input  logic [Pco-1:0]    desc_fin_i    // detector d has read its oldest window for good
);

  localparam int unsigned HW    = H * W;
  localparam int unsigned Ho    = H + 2 * Pad - KH + 1;
  localparam int unsigned Wo    = W + 2 * Pad - KW + 1;
  localparam int unsigned NW    = unsigned'($clog2(HW + 1));
  localparam int unsigned YW    = (Ho > 1) ? unsigned'($clog2(Ho)) : 1;
  localparam int unsigned XW    = (Wo > 1) ? unsigned'($clog2(Wo)) : 1;
  localparam int unsigned IW    = unsigned'($clog2(2 * HW + (H + 2 * Pad + KH) * W + Depth)) + 2;
  localparam int unsigned QW    = (NumWin > 1) ? unsigned'($clog2(NumWin)) : 1;
  localparam int unsigned PW    = QW + 1;  // queue pointers with a wrap bit

  // ring steps of the window base (mod Depth): next column, next row, next frame
  function automatic int unsigned mod_depth(input int v);
    return unsigned'(((v % int'(Depth)) + int'(Depth)) % int'(Depth));
  endfunction
  localparam int unsigned StepCol   = mod_depth(1);
  localparam int unsigned StepRow   = mod_depth(int'(W) - int'(Wo) + 1);
  localparam int unsigned StepFrame = mod_depth(int'(HW) - int'((Ho - 1) * W) - int'(Wo - 1));
  localparam int unsigned Base0     = mod_depth(-int'(Pad * W + Pad));

  if (NumWin < 2 || NumWin != (1 << QW)) begin : g_bad_numwin
    $error("window_unit: NumWin must be a power of two >= 2");
  end
  if (Span > HW) begin : g_bad_span
    $error("window_unit: the kernel's span exceeds the frame (KH <= H, KW <= W)");
  end

  // ------------------------------------------------------------------ window positions
  // gather (next window to describe) and retire (oldest window in flight) walk the same
  // raster order; frame bits tell their frame apart from the producer's
  logic [YW-1:0]        g_oy_q, r_oy_q;
  logic [XW-1:0]        g_ox_q, r_ox_q;
  logic signed [IW-1:0] g_row_q, r_row_q;  // (oy - Pad) * W
  logic                 g_frame_q, r_frame_q, p_frame_q;
  logic [AW-1:0]        g_base_q, wptr_q;
  logic [NW-1:0]        n_in_q;            // pixels of the producer's frame written

  // The producer's limit comes from a registered pipeline over the retire position (a few
  // adders, kept out of the handshake paths). Within a frame the limit only grows as windows
  // retire, so a limit a few retires old is a safe one: writes go on while it is recomputed and
  // see each retire RAge + 1 cycles after it. A retire that ends a frame moves the limit and the
  // producer's count to the next frame together: writes wait RAge cycles after it, until the
  // limit is recomputed and compared. The gather's newest input pixel is kept with the gather
  // position (updated in the gather's cycle, from the next row's value registered ahead); its
  // test against the producer's count is registered, so the next gather waits GAge cycles.
  localparam int unsigned RAge = 5;
  localparam logic signed [IW-1:0] Zero = '0;
  localparam int unsigned GAge = 1;

  // oldest input pixel this or any later window of the frame reads (while the window's top
  // rows are padding, the next row's first window can reach further back), plus Depth
  logic signed [IW-1:0] f1_col, f1_row, f1_next, f2_sum, f2_next, f3_first, limit_q, lim1_q;
  logic                 f2_neg;
  always_ff @(posedge clk_i) begin
    if (!srst_ni) begin
      f1_col   <= '0;
      f1_row   <= '0;
      f1_next  <= '0;
      f2_sum   <= '0;
      f2_next  <= '0;
      f2_neg   <= 1'b0;
      f3_first <= '0;
      limit_q  <= '0;
      lim1_q   <= '0;
    end else begin
      f1_col   <= $signed(IW'(r_ox_q)) - $signed(IW'(Pad));
      f1_row   <= r_row_q;
      f1_next  <= r_row_q + $signed(IW'(W));
      f2_sum   <= (f1_row[IW-1] ? Zero : f1_row) + (f1_col[IW-1] ? Zero : f1_col);
      f2_next  <= f1_next[IW-1] ? Zero : f1_next;
      f2_neg   <= f1_row[IW-1];
      f3_first <= (f2_neg && f2_next < f2_sum) ? f2_next : f2_sum;
      limit_q  <= f3_first + $signed(IW'(Depth));
      lim1_q   <= f3_first + $signed(IW'(Depth - 1));
    end
  end

  // newest input pixel a window reads: its row's, min((oy - Pad + KH - 1) * W, (H - 1) * W),
  // plus its column's, min(ox + KW - 1 - Pad, W - 1). last_q is the gather window's: the
  // column part grows by one per window while it is below W - 1; a new row starts at
  // row_nx_q (the next row's first window, registered from the gather position every cycle:
  // a gather is at least GAge + 1 cycles after the one before); a new frame at Last0
  localparam logic signed [IW-1:0] RowMax  = $signed(IW'((H - 1) * W));
  localparam int                   ColLast0 = (int'(KW) - 1 - int'(Pad) < int'(W) - 1)
                                              ? int'(KW) - 1 - int'(Pad) : int'(W) - 1;
  localparam int                   RowTop   = int'((KH - 1) * W) - int'(Pad * W);
  localparam int                   RowLast0 = (RowTop < int'((H - 1) * W)) ? RowTop
                                                                           : int'((H - 1) * W);
  localparam logic signed [IW-1:0] Last0   = $signed(IW'(RowLast0 + ColLast0));
  // min(g_row + KH * W, RowMax) + ColLast0 as one constant add and one constant compare side
  // by side, then a mux (the add, the compare of its sum and the second add in series were
  // three carry chains, 7.8 ns on ECP5)
  localparam logic signed [IW-1:0] RowStep = $signed(IW'(KH * W + ColLast0));
  localparam logic signed [IW-1:0] RowCap  = RowMax - $signed(IW'(KH * W));
  localparam logic signed [IW-1:0] RowLast = RowMax + $signed(IW'(ColLast0));
  logic signed [IW-1:0] last_q, row_nx_q;
  logic                 col_grows;  // the next window of the row reads one more column
  assign col_grows = 32'(g_ox_q) + KW < W + Pad;
  always_ff @(posedge clk_i) begin
    if (!srst_ni) row_nx_q <= '0;
    else row_nx_q <= (g_row_q > RowCap) ? RowLast : g_row_q + RowStep;
  end

  // index of the producer's next pixel counted from the start of the retire / gather frame
  // (Depth <= H * W: the producer is at most one frame ahead of the oldest window; a window
  // side one frame ahead of the producer has seen its whole frame, n_in = H * W); n_in + H*W
  // and the full flag are kept in registers next to n_in
  logic [NW:0]          n_hw_q;
  logic                 full_q;
  logic signed [IW-1:0] n_r, n_g;
  always_comb begin
    n_r = $signed(IW'(n_in_q));
    if (p_frame_q != r_frame_q) n_r = full_q ? Zero : $signed(IW'(n_hw_q));
    n_g = $signed(IW'(n_in_q));
    if (p_frame_q != g_frame_q) n_g = full_q ? Zero : $signed(IW'(n_hw_q));
  end

  logic [2:0] r_age_q, g_age_q;  // cycles since a frame's last retire / since the last gather

  // the producer's test n_r < limit, registered (no compare between the state and the
  // handshake): for the cycle after a write it is taken with n_r after the write (its value
  // as the registers will hold it, compared with limit - 1 where it adds one), otherwise with
  // n_r as it is. Within a frame of the retire position the limit only grows, so the test is
  // safe one cycle old; a retire that ends the frame starts RAge cycles without a write, until
  // the limit of the next frame is recomputed and this register has seen it
  logic room_q, lt_stay, lt_adv;
  assign lt_stay = (n_r < limit_q);
  always_comb begin
    if (full_q) begin  // the write starts the next frame: n_in = 1, n_hw = HW + 1
      if (p_frame_q == r_frame_q) lt_adv = (HW == 1) ? (Zero < limit_q)
                                                     : ($signed(IW'(HW + 1)) < limit_q);
      else                        lt_adv = ($signed(IW'(1)) < limit_q);
    end else if (p_frame_q != r_frame_q) begin
      lt_adv = (n_in_q == NW'(HW - 1)) ? (Zero < limit_q) : ($signed(IW'(n_hw_q)) < lim1_q);
    end else begin
      lt_adv = ($signed(IW'(n_in_q)) < lim1_q);
    end
  end

  // the gather's input test, registered: within one gather frame n_g never decreases, so a
  // result one cycle old is safe; after a gather it is fresh once g_age_q reaches GAge
  // (last_q moves with the gather position, this register one cycle later)
  logic g_ok_q;
  always_ff @(posedge clk_i) begin
    if (!srst_ni) g_ok_q <= 1'b0;
    else         g_ok_q <= (n_g > last_q);
  end

  // ------------------------------------------------------------------ descriptor queue
  logic [AW-1:0]  q_base_q [NumWin];
  logic [KK-1:0]  q_img_q [NumWin];
  logic [PW-1:0]  head_q, tail_q;
  logic [PW-1:0]  take_q [Pco];
  logic [PW-1:0]  fin_q [Pco];

  logic write, gather, retire, g_last, r_last, slot_free;
  assign write     = in_valid_i && in_ready_o;
  assign in_ready_o = (r_age_q >= 3'(RAge)) && room_q;
  assign slot_free = (head_q - tail_q) != PW'(NumWin);
  assign gather    = gate_i && slot_free && (g_age_q >= 3'(GAge)) && g_ok_q;
  assign g_last    = (g_oy_q == YW'(Ho - 1)) && (g_ox_q == XW'(Wo - 1));
  assign r_last    = (r_oy_q == YW'(Ho - 1)) && (r_ox_q == XW'(Wo - 1));
  assign gather_o  = gather;
  assign last_o    = g_last;

  always_comb begin
    retire = (tail_q != head_q);
    for (int unsigned d = 0; d < Pco; d++) begin
      if (fin_q[d] == tail_q) retire = 1'b0;
    end
  end

  for (genvar d = 0; d < Pco; d++) begin : g_det
    assign desc_valid_o[d]          = (take_q[d] != head_q);
    assign desc_base_o[d*AW +: AW]  = q_base_q[take_q[d][QW-1:0]];
    assign desc_img_o[d*KK +: KK]   = q_img_q[take_q[d][QW-1:0]];
  end

  // in-image flags of the window to gather
  logic [KK-1:0] img;
  for (genvar ky = 0; ky < KH; ky++) begin : g_ky
    for (genvar kx = 0; kx < KW; kx++) begin : g_kx
      logic row_ok_lo, row_ok_hi, col_ok_lo, col_ok_hi;
      if (ky < Pad) begin : g_rlo
        assign row_ok_lo = g_oy_q >= YW'(Pad - ky);
      end else begin : g_rlo_n
        assign row_ok_lo = 1'b1;
      end
      if (ky + Pad >= KH) begin : g_rhi
        assign row_ok_hi = 32'(g_oy_q) < H + Pad - ky;
      end else begin : g_rhi_n
        assign row_ok_hi = 1'b1;
      end
      if (kx < Pad) begin : g_clo
        assign col_ok_lo = g_ox_q >= XW'(Pad - kx);
      end else begin : g_clo_n
        assign col_ok_lo = 1'b1;
      end
      if (kx + Pad >= KW) begin : g_chi
        assign col_ok_hi = 32'(g_ox_q) < W + Pad - kx;
      end else begin : g_chi_n
        assign col_ok_hi = 1'b1;
      end
      assign img[ky * KW + kx] = row_ok_lo && row_ok_hi && col_ok_lo && col_ok_hi;
    end
  end

  // ring base of the next window
  function automatic logic [AW-1:0] add_mod(input logic [AW-1:0] a, input logic [AW-1:0] step);
    logic [AW:0] s;
    s = {1'b0, a} + {1'b0, step};
    return (s >= (AW + 1)'(Depth)) ? AW'(s - (AW + 1)'(Depth)) : AW'(s);
  endfunction

  // each scanner registers the write twice before its ring copies, the data once here and
  // once there (a pixel is read at least three cycles after the gather it enables, which is
  // at least two cycles after its write)
  assign wr_en_o   = write;
  assign wr_addr_o = wptr_q;
  always_ff @(posedge clk_i) wr_data_o <= in_data_i;

  always_ff @(posedge clk_i) begin
    if (gather) begin
      q_base_q[head_q[QW-1:0]] <= g_base_q;
      q_img_q[head_q[QW-1:0]]  <= img;
    end
  end

  always_ff @(posedge clk_i) begin
    if (!srst_ni) begin
      n_in_q    <= '0;
      room_q    <= 1'b0;
      n_hw_q    <= (NW + 1)'(HW);
      full_q    <= 1'b0;
      r_age_q   <= '0;
      g_age_q   <= '0;
      wptr_q    <= '0;
      p_frame_q <= 1'b0;
      g_oy_q    <= '0;
      g_ox_q    <= '0;
      g_row_q   <= -$signed(IW'(Pad * W));
      g_base_q  <= AW'(Base0);
      g_frame_q <= 1'b0;
      last_q    <= Last0;
      r_oy_q    <= '0;
      r_ox_q    <= '0;
      r_row_q   <= -$signed(IW'(Pad * W));
      r_frame_q <= 1'b0;
      head_q    <= '0;
      tail_q    <= '0;
      for (int unsigned d = 0; d < Pco; d++) begin
        take_q[d] <= '0;
        fin_q[d]  <= '0;
      end
    end else begin
      room_q <= write ? lt_adv : lt_stay;
      if (write) begin
        wptr_q <= (wptr_q == AW'(Depth - 1)) ? '0 : wptr_q + AW'(1);
        if (full_q) begin  // the first pixel of the next frame
          n_in_q    <= NW'(1);
          n_hw_q    <= (NW + 1)'(HW + 1);
          full_q    <= (HW == 1);
          p_frame_q <= !p_frame_q;
        end else begin
          n_in_q <= n_in_q + NW'(1);
          n_hw_q <= n_hw_q + (NW + 1)'(1);
          full_q <= (n_in_q == NW'(HW - 1));
        end
      end
      r_age_q <= (retire && r_last) ? '0 : ((r_age_q == 3'(RAge)) ? r_age_q
                                                                    : r_age_q + 3'd1);
      g_age_q <= gather ? '0 : ((g_age_q == 3'(GAge)) ? g_age_q : g_age_q + 3'd1);
      if (gather) begin
        head_q <= head_q + PW'(1);
        if (g_last) begin
          g_oy_q    <= '0;
          g_ox_q    <= '0;
          g_row_q   <= -$signed(IW'(Pad * W));
          g_base_q  <= add_mod(g_base_q, AW'(StepFrame));
          g_frame_q <= !g_frame_q;
          last_q    <= Last0;
        end else if (g_ox_q == XW'(Wo - 1)) begin
          g_ox_q   <= '0;
          g_oy_q   <= g_oy_q + YW'(1);
          g_row_q  <= g_row_q + $signed(IW'(W));
          g_base_q <= add_mod(g_base_q, AW'(StepRow));
          last_q   <= row_nx_q;
        end else begin
          g_ox_q   <= g_ox_q + XW'(1);
          g_base_q <= add_mod(g_base_q, AW'(StepCol));
          if (col_grows) last_q <= last_q + $signed(IW'(1));
        end
      end
      if (retire) begin
        tail_q <= tail_q + PW'(1);
        if (r_last) begin
          r_oy_q    <= '0;
          r_ox_q    <= '0;
          r_row_q   <= -$signed(IW'(Pad * W));
          r_frame_q <= !r_frame_q;
        end else if (r_ox_q == XW'(Wo - 1)) begin
          r_ox_q  <= '0;
          r_oy_q  <= r_oy_q + YW'(1);
          r_row_q <= r_row_q + $signed(IW'(W));
        end else begin
          r_ox_q <= r_ox_q + XW'(1);
        end
      end
      for (int unsigned d = 0; d < Pco; d++) begin
        if (desc_take_i[d] && desc_valid_o[d]) take_q[d] <= take_q[d] + PW'(1);
        if (desc_fin_i[d] && fin_q[d] != take_q[d]) fin_q[d] <= fin_q[d] + PW'(1);
      end
    end
  end

  // ------------------------------------------------------------------ checks (simulation too)
  // a detector finishes only windows it has taken, takes only windows that are there
  always_ff @(posedge clk_i) begin
    if (srst_ni) begin
      for (int unsigned d = 0; d < Pco; d++) begin
        assert (!desc_take_i[d] || desc_valid_o[d])
          else $error("window_unit: detector %0d takes a window that is not there", d);
        assert (!desc_fin_i[d] || fin_q[d] != take_q[d])
          else $error("window_unit: detector %0d finishes a window it has not taken", d);
      end
    end
  end

`ifdef FORMAL
  // Proved by sim/formal/window_unit.sby (k-induction): a write is accepted only when the
  // pixel it overwrites is older than the oldest pixel the oldest window in flight (or any
  // later one) reads, computed directly from the retire position; a window is gathered only
  // when the newest pixel it reads has been written, computed directly from the gather
  // position. Invariants of the proof: within a frame of the retire position each stage of the
  // limit pipeline holds a value no larger than the stage before it (an older retire
  // position: the oldest pixel read only grows along the frame), the first stage no larger than
  // the direct value; the gather's newest pixel equals its direct value; the producer's count
  // registers agree with each other.
  logic f_init = 1'b1;
  always_ff @(posedge clk_i) f_init <= 1'b0;

  logic signed [IW-1:0] d_col, d_row, d_next, d_sum, d_nxt, d_first, d_limit;
  logic signed [IW-1:0] d_lcol, d_lrow, d_lcol2, d_lrow2, d_last, d_rownx;
  logic signed [IW-1:0] s1_sum, s1_nxt, s1_first, s2_first;  // what stages 1 and 2 will give
  always_comb begin
    d_col   = $signed(IW'(r_ox_q)) - $signed(IW'(Pad));
    d_row   = r_row_q;
    d_next  = r_row_q + $signed(IW'(W));
    d_sum   = (d_row[IW-1] ? Zero : d_row) + (d_col[IW-1] ? Zero : d_col);
    d_nxt   = d_next[IW-1] ? Zero : d_next;
    d_first = (d_row[IW-1] && d_nxt < d_sum) ? d_nxt : d_sum;
    d_limit = d_first + $signed(IW'(Depth));
    s1_sum   = (f1_row[IW-1] ? Zero : f1_row) + (f1_col[IW-1] ? Zero : f1_col);
    s1_nxt   = f1_next[IW-1] ? Zero : f1_next;
    s1_first = (f1_row[IW-1] && s1_nxt < s1_sum) ? s1_nxt : s1_sum;
    s2_first = (f2_neg && f2_next < f2_sum) ? f2_next : f2_sum;
    d_lcol  = $signed(IW'(g_ox_q)) + $signed(IW'(KW - 1)) - $signed(IW'(Pad));
    d_lrow  = g_row_q + $signed(IW'((KH - 1) * W));
    d_lcol2 = (d_lcol > $signed(IW'(W - 1))) ? $signed(IW'(W - 1)) : d_lcol;
    d_lrow2 = (d_lrow > RowMax) ? RowMax : d_lrow;
    d_last  = d_lrow2 + d_lcol2;
    d_rownx = ((g_row_q + $signed(IW'(KH * W)) > RowMax) ? RowMax
                                                         : g_row_q + $signed(IW'(KH * W)))
              + $signed(IW'(ColLast0));
  end

  int unsigned f_ig, f_ir;  // raster index of the gather and retire positions
  assign f_ig = 32'(g_oy_q) * Wo + 32'(g_ox_q);
  assign f_ir = 32'(r_oy_q) * Wo + 32'(r_ox_q);
  // the gather test's register compares the previous cycle's count and newest pixel
  logic signed [IW-1:0] f_ng_q, f_last_q;
  logic                 f_run_q;  // out of reset the cycle before
  always_ff @(posedge clk_i) begin
    f_ng_q   <= n_g;
    f_last_q <= last_q;
    f_run_q  <= srst_ni && !f_init;
  end

  always_comb begin
    if (f_init) assume (!srst_ni);
    for (int unsigned d = 0; d < Pco; d++) begin  // the detectors keep the protocol
      assume (!desc_take_i[d] || desc_valid_o[d]);
      assume (!desc_fin_i[d] || fin_q[d] != take_q[d]);
    end
    if (!f_init && srst_ni) begin
      // the properties
      if (in_ready_o) assert (n_r < d_limit);
      assert (n_r <= d_limit);
      if (gather) assert (n_g > d_last);
      // the positions: the windows in flight are those from the retire position to the
      // gather position (the gather at most one frame ahead); a side one frame ahead of the
      // producer (which has written its whole frame) has no window of that frame
      assert (32'(PW'(head_q - tail_q)) == ((g_frame_q == r_frame_q) ? f_ig - f_ir
                                                                     : f_ig + Ho * Wo - f_ir));
      if (p_frame_q != g_frame_q && full_q) assert (f_ig == 0);
      if (g_frame_q != r_frame_q && p_frame_q == r_frame_q) assert (full_q);
      if (p_frame_q != r_frame_q && full_q) assert (f_ir == 0 && g_frame_q == r_frame_q);
      // the descriptor queue: tail <= fin <= take <= head, at most NumWin in flight
      assert (PW'(head_q - tail_q) <= PW'(NumWin));
      for (int unsigned d = 0; d < Pco; d++) begin
        assert (PW'(take_q[d] - tail_q) <= PW'(head_q - tail_q));
        assert (PW'(fin_q[d] - tail_q) <= PW'(take_q[d] - tail_q));
      end
      assert (32'(g_oy_q) < Ho && 32'(g_ox_q) < Wo && 32'(r_oy_q) < Ho && 32'(r_ox_q) < Wo);
      assert (g_row_q == $signed(IW'(32'(g_oy_q) * W)) - $signed(IW'(Pad * W)));
      assert (r_row_q == $signed(IW'(32'(r_oy_q) * W)) - $signed(IW'(Pad * W)));
      // the producer's count registers
      assert (32'(n_in_q) <= HW);
      assert (32'(n_hw_q) == 32'(n_in_q) + HW);
      assert (full_q == (32'(n_in_q) == HW));
      assert (r_age_q <= 3'(RAge) && g_age_q <= 3'(GAge));
      // the limit pipeline within a frame of the retire position (r_age_q counts the cycles
      // since a frame's last window retired): each stage no larger than the one before
      if (r_age_q >= 3'd1) assert (s1_first <= d_first);
      if (r_age_q >= 3'd2) assert (s2_first <= s1_first);
      if (r_age_q >= 3'd3) assert (f3_first <= s2_first);
      if (r_age_q >= 3'd4) begin
        assert (limit_q <= f3_first + $signed(IW'(Depth)));
        assert (lim1_q == limit_q - $signed(IW'(1)));
      end
      if (r_age_q >= 3'(RAge) && room_q) assert (n_r < limit_q);
      // the gather's newest pixel
      assert (last_q == d_last);
      if (g_age_q >= 3'd1) assert (row_nx_q == d_rownx);
      if (g_age_q >= 3'd1) assert (f_last_q == d_last);
      if (g_age_q >= 3'd1) assert (n_g >= f_ng_q);  // the count only grows in a gather frame
    end
    if (!f_init && srst_ni && f_run_q) begin
      assert (g_ok_q == (f_ng_q > f_last_q));
    end
  end
`endif

endmodule

`default_nettype wire
