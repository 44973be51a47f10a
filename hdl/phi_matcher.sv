// Phi Level 1, shared by a core's detectors: matches every segment vector of a window (plane
// l, segment s: Pci spike bits) to the best of the Q patterns of its segment index.
//
// Distance (mask-aware, see docs/phi.md): the Hamming distance weighted per bit by the number
// of the layer's channels whose weight there is non-zero (colw), i.e. the residual pairs of
// the vector summed over the channels; the lowest distance wins, the lowest index on ties;
// patterns marked invalid never win; a segment index without valid patterns yields the
// pattern 0 (no pattern: every detector falls back to plain zero-skipping there).
//
// MatchSegs segment indices of all L planes are matched per cycle (L * MatchSegs * Q weighted
// distances: adder trees, then an argmin tree); a window costs Chunks + 1 cycles, Chunks =
// ceil(Nseg / MatchSegs). The pattern ROM word c holds, for segment slot m of chunk c
// (segment c * MatchSegs + m), at [m * SegRomW +: SegRomW]: pattern j at [j * Pci +: Pci],
// valid bit j at Q * Pci + j, colw of bit b at Q * Pci + Q + b * ColwW.
//
// Stream: windows in, (window, pattern window, pattern indices) out, valid/ready. The pattern
// window uses the window's layout (bit (l * Nseg + s) * Pci + b), the index of (l, s) is at
// [(l * Nseg + s) * QW +: QW].
module phi_matcher #(
  parameter int unsigned L         = 4,
  parameter int unsigned Nseg      = 9,
  parameter int unsigned Pci       = 16,
  parameter int unsigned Q         = 16,     // patterns per segment index, a power of two
  parameter int unsigned MatchSegs = 1,
  parameter int unsigned ColwW     = 4,
  parameter string       PatFile   = "",
  // derived
  parameter int unsigned QW        = (Q > 1) ? $clog2(Q) : 1,
  parameter int unsigned VecW      = L * Nseg * Pci,
  parameter int unsigned JW        = L * Nseg * QW
) (
  input  logic            clk_i,
  input  logic            rst_ni,
  input  logic            in_valid_i,
  output logic            in_ready_o,
  input  logic [VecW-1:0] in_win_i,
  output logic            out_valid_o,
  input  logic            out_ready_i,
  output logic [VecW-1:0] out_win_o,
  output logic [VecW-1:0] out_pat_o,
  output logic [JW-1:0]   out_j_o
);

  localparam int unsigned Chunks  = (Nseg + MatchSegs - 1) / MatchSegs;
  localparam int unsigned CntW    = (Chunks > 1) ? $clog2(Chunks) : 1;
  localparam int unsigned SegRomW = Q * Pci + Q + Pci * ColwW;
  localparam int unsigned RomW    = MatchSegs * SegRomW;
  localparam int unsigned ChunkW  = MatchSegs * Pci;
  localparam int unsigned ShW     = Chunks * ChunkW;
  localparam int unsigned ChunkJW = MatchSegs * QW;
  localparam int unsigned JShW    = Chunks * ChunkJW;
  localparam int unsigned DistW   = $clog2(Pci * ((1 << ColwW) - 1) + 1);
  localparam int unsigned ValW    = DistW + 2;

  if (Q < 2 || Q != (1 << QW)) begin : g_bad_q
    $error("phi_matcher: Q must be a power of two >= 2");
  end

  // ------------------------------------------------------------------ control
  logic            have_q, comp_q, done_q, accept, last;
  logic [CntW-1:0] cnt_q, rd;
  assign in_ready_o  = !have_q || (done_q && out_ready_i);
  assign accept      = in_valid_i && in_ready_o;
  assign last        = comp_q && (cnt_q == CntW'(Chunks - 1));
  assign rd          = (accept || last || !comp_q) ? '0 : cnt_q + CntW'(1);
  assign out_valid_o = done_q;

  logic [RomW-1:0] rom;
  sync_rom #(.Width(RomW), .Depth(Chunks), .InitFile(PatFile), .AddrWidth(CntW)) u_pat (
    .clk_i (clk_i),
    .en_i  (1'b1),
    .addr_i(rd),
    .data_o(rom)
  );

  // ------------------------------------------------------------------ per plane
  // a_sh: the window's segments of plane l, the chunk being matched in the low bits;
  // p_sh / j_sh: the results, shifted in from the top chunk by chunk.
  logic [VecW-1:0] win_q;
  logic [ShW-1:0]  a_sh [L];
  logic [ShW-1:0]  p_sh [L];
  logic [JShW-1:0] j_sh [L];
  logic [ChunkW-1:0]  new_p [L];
  logic [ChunkJW-1:0] new_j [L];

  for (genvar l = 0; l < L; l++) begin : g_plane
    for (genvar m = 0; m < MatchSegs; m++) begin : g_seg
      logic [Pci-1:0]      a;
      logic [Q*ValW-1:0]   vals;
      logic [Q-1:0]        valid;
      logic [QW-1:0]       best;
      /* verilator lint_off UNUSEDSIGNAL */
      logic [ValW-1:0]     best_val;
      /* verilator lint_on UNUSEDSIGNAL */
      assign a     = a_sh[l][m*Pci +: Pci];
      assign valid = rom[m*SegRomW + Q*Pci +: Q];
      for (genvar j = 0; j < Q; j++) begin : g_pat
        logic [Pci*ColwW-1:0] terms;
        logic [DistW-1:0]     distance;
        logic [Pci-1:0]       diff;
        assign diff = a ^ rom[m*SegRomW + j*Pci +: Pci];
        for (genvar b = 0; b < Pci; b++) begin : g_bit
          assign terms[b*ColwW +: ColwW] =
              diff[b] ? rom[m*SegRomW + Q*Pci + Q + b*ColwW +: ColwW] : '0;
        end
        adder_tree #(.N(Pci), .InW(ColwW), .SumW(DistW)) u_dist (
          .values_i(terms),
          .sum_o   (distance)
        );
        // argmax of -distance; an invalid pattern is below every valid one
        assign vals[j*ValW +: ValW] = valid[j] ? ValW'(0) - ValW'(distance)
                                               : {2'b11, DistW'(0)};  // -2^DistW
      end
      argmax_tree #(.N(Q), .ValW(ValW), .IdxW(QW)) u_min (
        .values_i(vals),
        .idx_o   (best),
        .max_o   (best_val)
      );
      always_comb begin
        new_p[l][m*Pci +: Pci] = '0;
        for (int unsigned j = 0; j < Q; j++) begin
          if (valid[best] && best == QW'(j)) new_p[l][m*Pci +: Pci] = rom[m*SegRomW + j*Pci +: Pci];
        end
      end
      assign new_j[l][m*QW +: QW] = valid[best] ? best : '0;
    end

    logic [ShW-1:0] a_in;  // plane l of the window, zero-padded to whole chunks
    if (ShW == Nseg * Pci) begin : g_whole
      assign a_in = in_win_i[l*Nseg*Pci +: Nseg*Pci];
    end else begin : g_padded
      assign a_in = {(ShW - Nseg*Pci)'(0), in_win_i[l*Nseg*Pci +: Nseg*Pci]};
    end
    always_ff @(posedge clk_i) begin
      if (accept) begin
        a_sh[l] <= a_in;
      end else if (comp_q) begin
        a_sh[l] <= a_sh[l] >> ChunkW;
        p_sh[l] <= (p_sh[l] >> ChunkW) | (ShW'(new_p[l]) << ((Chunks - 1) * ChunkW));
        j_sh[l] <= (j_sh[l] >> ChunkJW) | (JShW'(new_j[l]) << ((Chunks - 1) * ChunkJW));
      end
    end

    for (genvar s = 0; s < Nseg; s++) begin : g_out
      assign out_pat_o[(l*Nseg + s)*Pci +: Pci] = p_sh[l][s*Pci +: Pci];
      assign out_j_o[(l*Nseg + s)*QW +: QW]     = j_sh[l][s*QW +: QW];
    end
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      have_q <= 1'b0;
      comp_q <= 1'b0;
      done_q <= 1'b0;
      cnt_q  <= '0;
    end else if (accept) begin
      have_q <= 1'b1;
      comp_q <= 1'b1;
      done_q <= 1'b0;
      cnt_q  <= '0;
    end else begin
      if (done_q && out_ready_i) begin
        have_q <= 1'b0;
        done_q <= 1'b0;
      end
      if (comp_q) begin
        if (last) begin
          comp_q <= 1'b0;
          done_q <= 1'b1;
        end else begin
          cnt_q <= cnt_q + CntW'(1);
        end
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (accept) win_q <= in_win_i;
  end
  assign out_win_o = win_q;

endmodule
