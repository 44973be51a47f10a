// Phi Level 1 of the sparse core: matches each input pixel once, before it enters the input
// ring, so that every window reading the pixel finds its residual planes there (docs/phi.md,
// "Phi in hardware"; the software model is fireflys.phi.tables).
//
// A pixel's Ci channels are cut into Nb blocks of K bits (the last one zero-padded). Per block
// the matcher picks, for all L time steps at once, the pattern j of the smallest distance
// sum_{l: a_l != 0} popcount(a_l ^ p_j) (the lowest index on ties; invalid slots never win),
// and the block *uses* it when 1 + popcount(OR_l r_l) < popcount(OR_l a_l), where the
// residual r_l = a_l ^ p on the steps with a spike and r_l = a_l = 0 on the others. Out:
//   out_planes_o  the residual planes (plane l at [l*Ci +: Ci]; the spikes where unused),
//   out_pat_o     the pattern bits of the used blocks (0 elsewhere): a residual position
//                 subtracts its weight where this bit is 1 and adds it where it is 0,
//   out_lanes_o   block b, step l at [b*L + l]: the steps that add the block's PWP
//                 (used and a spike on that step),
//   out_idx_o     block b's pattern index at [b*QW +: QW] (its PWP address; 0 if unused).
//
// Patterns are compared M per cycle (Chunks = Q / M cycles per pixel). The ROM (PatFile,
// LUTs, registered) word c holds pattern j = c*M + m of block b at [(m*Nb + b)*(K+1) +: K+1]:
// K pattern bits, then its valid bit.
//
// Pipeline: R pattern ROM read | D1 per step and 8-bit chunk: popcount of a ^ p, gated by
// a != 0 | D2 sums of up to four chunks | C sum over the steps and chunk groups; argmin over
// the chunk's M patterns (lowest index on ties) and the running minimum (strictly lower wins,
// so the lowest index stays) | then, one pixel at a time, F1 residual planes and 8-bit chunk
// counts of their union | F2 the union's count and the use test: the output registers
// (valid/ready).
// A pixel is taken when the previous one has left the match stages (F1 takes it).
`default_nettype none

module pattern_matcher #(
  parameter int unsigned L       = 4,
  parameter int unsigned Ci      = 16,
  parameter int unsigned K       = 16,
  parameter int unsigned Q       = 16,     // pattern slots per block, a power of two >= 2
  parameter int unsigned M       = 1,      // patterns compared per cycle, divides Q
  parameter string       PatFile = "",
  // derived (not overridable)
  localparam int unsigned Nb      = (Ci + K - 1) / K,
  localparam int unsigned QW      = (Q > 1) ? unsigned'($clog2(Q)) : 1,
  localparam int unsigned PixW    = L * Ci
) (
  input  logic               clk_i,
  input  logic               srst_ni,
  input  logic               in_valid_i,
  output logic               in_ready_o,
  input  logic [PixW-1:0]    in_pixel_i,   // plane l at [l*Ci +: Ci]
  output logic               out_valid_o,
  input  logic               out_ready_i,
  output logic [PixW-1:0]    out_planes_o,
  output logic [Ci-1:0]      out_pat_o,
  output logic [Nb*L-1:0]    out_lanes_o,
  output logic [Nb*QW-1:0]   out_idx_o
);

  localparam int unsigned Chunks = Q / M;
  localparam int unsigned CW     = (Chunks > 1) ? unsigned'($clog2(Chunks)) : 1;
  localparam int unsigned SlotW  = K + 1;
  localparam int unsigned RomW   = M * Nb * SlotW;
  localparam int unsigned KP     = Nb * K;                 // padded pixel width
  localparam int unsigned C8     = (K + 7) / 8;            // 8-bit chunks per block
  localparam int unsigned G4     = (C8 + 3) / 4;           // groups of four chunks
  localparam int unsigned DW     = unsigned'($clog2(L * K + 1));
  localparam int unsigned KW     = unsigned'($clog2(K + 1));
  localparam int unsigned UW     = (KW + 1 > 4) ? KW + 1 : 4;  // a block's union counts
  localparam int unsigned SW     = ((DW > 6) ? DW : 6) + 1;    // distance sum, wider

  if (Q < 2 || Q != (1 << QW)) begin : g_bad_q
    $error("pattern_matcher: Q must be a power of two >= 2");
  end
  if (M < 1 || Q % M != 0) begin : g_bad_m
    $error("pattern_matcher: M must divide Q");
  end
  if (K < 1 || K > 64) begin : g_bad_k
    $error("pattern_matcher: K must be in 1..64");
  end

  // 8-bit chunk c of a K-bit block (zero above K)
  function automatic logic [7:0] chunk8(input logic [K-1:0] v, input int unsigned c);
    logic [7:0] r;
    for (int unsigned i = 0; i < 8; i++) begin
      r[i] = (c * 8 + i < K) ? v[c * 8 + i] : 1'b0;
    end
    return r;
  endfunction

  function automatic logic [UW-1:0] pop8u(input logic [7:0] v);  // the same, UW bits
    logic [UW-1:0] n;
    n = '0;
    for (int unsigned i = 0; i < 8; i++) begin
      n = n + UW'(v[i]);
    end
    return n;
  endfunction

  function automatic logic [3:0] pop8(input logic [7:0] v);
    logic [3:0] n;
    n = '0;
    for (int unsigned i = 0; i < 8; i++) begin
      n = n + 4'(v[i]);
    end
    return n;
  endfunction

  // ------------------------------------------------------------------ the pixel in matching
  logic [PixW-1:0] px_q;        // the pixel being matched
  logic            busy_q;      // px_q holds a pixel (matching or waiting for F1)
  logic            iss_q;       // chunk addresses being issued
  logic [CW-1:0]   cnt_q;       // the chunk issued this cycle
  logic            done_q;      // the last chunk went through C
  logic            take, xfer, en;

  assign in_ready_o = srst_ni && (!busy_q || xfer);  // no pixel taken in reset
  assign take       = in_valid_i && in_ready_o;

  // the pixel's blocks, zero-padded: block b of plane l
  logic [KP-1:0] apad [L];
  logic [L-1:0]  nz   [Nb];     // a_l != 0 per block
  for (genvar l = 0; l < L; l++) begin : g_pad
    always_comb begin
      apad[l] = '0;
      apad[l][Ci-1:0] = px_q[l*Ci +: Ci];
    end
    for (genvar b = 0; b < Nb; b++) begin : g_nz
      assign nz[b][l] = |apad[l][b*K +: K];
    end
  end

  // ------------------------------------------------------------------ R: pattern ROM
  logic [RomW-1:0] rom;
  logic            r_v, r_last;
  lut_rom #(.Width(RomW), .Depth(Chunks), .InitFile(PatFile), .AddrWidth(CW)) u_pat (
    .clk_i (clk_i),
    .en_i  (1'b1),
    .addr_i(cnt_q),
    .data_o(rom)
  );

  // ------------------------------------------------------------------ D1, D2, C per block
  logic          d1_v, d2_v, d1_last, d2_last;
  logic [Nb-1:0] best_v_q;
  logic [K-1:0]  best_p_q [Nb];
  logic [QW-1:0] best_j_q [Nb];
  logic [CW-1:0] r_cnt, d1_cnt, d2_cnt;

  for (genvar b = 0; b < Nb; b++) begin : g_blk
    logic [3:0]    d1_q [M][L][C8];
    logic [5:0]    d2_q [M][L][G4];
    logic [K-1:0]  d1_p [M];
    logic [K-1:0]  d2_p [M];
    logic [M-1:0]  d1_ok, d2_ok;
    logic [DW-1:0] dsum [M];

    for (genvar m = 0; m < M; m++) begin : g_m
      logic [K-1:0] p;
      assign p = rom[(m*Nb + b)*SlotW +: K];
      always_ff @(posedge clk_i) begin
        for (int unsigned l = 0; l < L; l++) begin
          for (int unsigned c = 0; c < C8; c++) begin
            d1_q[m][l][c] <= nz[b][l] ? pop8(chunk8(apad[l][b*K +: K] ^ p, c)) : 4'd0;
          end
        end
        d1_p[m]  <= p;
        d1_ok[m] <= rom[(m*Nb + b)*SlotW + K];
        for (int unsigned l = 0; l < L; l++) begin
          for (int unsigned g = 0; g < G4; g++) begin
            logic [5:0] s;
            s = '0;
            for (int unsigned c = g * 4; c < g * 4 + 4 && c < C8; c++) begin
              s = s + 6'(d1_q[m][l][c]);
            end
            d2_q[m][l][g] <= s;
          end
        end
        d2_p[m]  <= d1_p[m];
        d2_ok[m] <= d1_ok[m];
      end
      // summed one bit wider than both the group counts and DW: both casts change the width
      // (a same-width cast is a warning)
      always_comb begin
        logic [SW-1:0] acc;
        acc = '0;
        for (int unsigned l = 0; l < L; l++) begin
          for (int unsigned g = 0; g < G4; g++) begin
            acc = acc + SW'(d2_q[m][l][g]);
          end
        end
        dsum[m] = DW'(acc);
      end
    end

    // argmin over the chunk (lowest m on ties), then against the running minimum
    logic [DW-1:0] best_d_q, cd;
    logic [K-1:0]  cp;
    logic [QW-1:0] cj;
    logic          cok;
    always_comb begin
      cok = 1'b0;
      cd  = '0;
      cp  = '0;
      cj  = '0;
      for (int unsigned m = 0; m < M; m++) begin
        if (d2_ok[m] && (!cok || dsum[m] < cd)) begin
          cok = 1'b1;
          cd  = dsum[m];
          cp  = d2_p[m];
          cj  = QW'(32'(d2_cnt) * M + m);
        end
      end
    end
    always_ff @(posedge clk_i) begin
      if (take) begin
        best_v_q[b] <= 1'b0;
      end else if (d2_v && cok && (!best_v_q[b] || cd < best_d_q)) begin
        best_v_q[b] <= 1'b1;
        best_d_q    <= cd;
        best_p_q[b] <= cp;
        best_j_q[b] <= cj;
      end
    end
  end

  always_ff @(posedge clk_i) begin
    r_cnt  <= cnt_q;
    d1_cnt <= r_cnt;
    d2_cnt <= d1_cnt;
  end

  always_ff @(posedge clk_i) begin
    if (!srst_ni) begin
      busy_q  <= 1'b0;
      iss_q   <= 1'b0;
      cnt_q   <= '0;
      done_q  <= 1'b0;
      r_v     <= 1'b0;
      d1_v    <= 1'b0;
      d2_v    <= 1'b0;
      r_last  <= 1'b0;
      d1_last <= 1'b0;
      d2_last <= 1'b0;
    end else begin
      r_v     <= iss_q;
      r_last  <= iss_q && cnt_q == CW'(Chunks - 1);
      d1_v    <= r_v;
      d1_last <= r_last;
      d2_v    <= d1_v;
      d2_last <= d1_last;
      if (take) begin
        busy_q <= 1'b1;
        iss_q  <= 1'b1;
        cnt_q  <= '0;
        done_q <= 1'b0;
      end else begin
        if (xfer) begin
          busy_q <= 1'b0;
          done_q <= 1'b0;
        end
        if (iss_q) begin
          if (cnt_q == CW'(Chunks - 1)) begin
            iss_q <= 1'b0;
          end else begin
            cnt_q <= cnt_q + CW'(1);
          end
        end
        if (d2_v && d2_last) begin
          done_q <= 1'b1;
        end
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (take) px_q <= in_pixel_i;
  end

  // ------------------------------------------------------------------ F1, F2, out
  // en: the finish stages move (F2, the output, is free or being read)
  logic            f1_v, f2_v;
  logic [KP-1:0]   f1_r [L];
  logic [KP-1:0]   f1_p;
  logic [Nb*L-1:0] f1_lanes;
  logic [Nb*QW-1:0] f1_idx;
  logic [Nb-1:0]   f1_ok;
  logic [UW-1:0]   f1_rc [Nb][C8];   // chunk counts of the residual union
  logic [UW-1:0]   f1_ac [Nb][C8];   // and of the spike union
  logic [PixW-1:0] f2_planes;
  logic [Ci-1:0]   f2_pat;
  logic [Nb*L-1:0] f2_lanes;
  logic [Nb*QW-1:0] f2_idx;
  logic [Nb-1:0]   f2_use;

  // the use test of each block from F1's chunk counts: 1 + |OR r| < |OR a|
  logic [Nb-1:0] f1_use;
  always_comb begin
    for (int unsigned b = 0; b < Nb; b++) begin
      logic [UW-1:0] rn, an;
      rn = '0;
      an = '0;
      for (int unsigned c = 0; c < C8; c++) begin
        rn = rn + f1_rc[b][c];
        an = an + f1_ac[b][c];
      end
      f1_use[b] = f1_ok[b] && (rn + UW'(1) < an);
    end
  end

  assign en   = !f2_v || out_ready_i;
  assign xfer = done_q && en;

  always_ff @(posedge clk_i) begin
    if (en) begin
      for (int unsigned b = 0; b < Nb; b++) begin
        logic [K-1:0] ru, au;
        ru = '0;
        au = '0;
        for (int unsigned l = 0; l < L; l++) begin
          logic [K-1:0] a, r;
          a = apad[l][b*K +: K];
          r = (best_v_q[b] && nz[b][l]) ? a ^ best_p_q[b] : a;
          f1_r[l][b*K +: K] <= r;
          ru = ru | r;
          au = au | a;
          f1_lanes[b*L + l] <= best_v_q[b] && nz[b][l];
        end
        f1_p[b*K +: K]     <= best_p_q[b];
        f1_idx[b*QW +: QW] <= best_j_q[b];
        f1_ok[b]           <= best_v_q[b];
        for (int unsigned c = 0; c < C8; c++) begin
          f1_rc[b][c] <= pop8u(chunk8(ru, c));
          f1_ac[b][c] <= pop8u(chunk8(au, c));
        end
      end
      for (int unsigned b = 0; b < Nb; b++) begin
        f2_use[b]          <= f1_use[b];
        f2_idx[b*QW +: QW] <= f1_use[b] ? f1_idx[b*QW +: QW] : '0;
        for (int unsigned l = 0; l < L; l++) begin
          f2_lanes[b*L + l] <= f1_use[b] && f1_lanes[b*L + l];
        end
      end
      for (int unsigned l = 0; l < L; l++) begin
        for (int unsigned i = 0; i < Ci; i++) begin
          // F1 formed a ^ p on every step with a spike of a block with a pattern; where the
          // block does not use it, XOR-ing p back gives the spikes
          f2_planes[l*Ci + i] <= f1_r[l][i] ^ (!f1_use[i / K] && f1_lanes[(i / K)*L + l]
                                                && f1_p[i]);
        end
      end
      for (int unsigned i = 0; i < Ci; i++) begin
        f2_pat[i] <= f1_use[i / K] && f1_p[i];
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (!srst_ni) begin
      f1_v <= 1'b0;
      f2_v <= 1'b0;
    end else if (en) begin
      f1_v <= xfer;
      f2_v <= f1_v;
    end
  end

  assign out_valid_o  = f2_v;
  assign out_planes_o = f2_planes;
  assign out_pat_o    = f2_pat;
  assign out_lanes_o  = f2_lanes;
  assign out_idx_o    = f2_idx;

  /* verilator lint_off UNUSEDSIGNAL */
  logic unused_f2;
  /* verilator lint_on UNUSEDSIGNAL */
  assign unused_f2 = ^f2_use;

endmodule

`default_nettype wire
