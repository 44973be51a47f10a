// Dataflow orchestrator: spike line buffer + implicit im2col with zero padding.
//
// Input: one pixel per beat in raster order, L planes x Ci channels (bit l * Ci + c; planes are
// time steps, or bit-planes for direct input). The buffer is a ring of
// Depth = (KH-1)*W + KW + Hold pixels, addressed by counters (base + constant offsets, no
// multipliers). Output: one window per output pixel in raster order, in the detectors' layout:
// bit (l * Nseg + s) * Pci + b with s = (ky*KW + kx) * Spp + j and channel ci = j * Pci + b
// (channels padded up to Spp * Pci, padding lanes and out-of-image positions are 0).
// A window is gathered in one cycle once its last input pixel has arrived; the producer is
// stalled only when a write would overwrite a pixel a pending window still needs.
// An FC layer is the case KH = H, KW = W, Pad = 0 (one window: the whole input).
module line_buffer #(
  parameter int unsigned L     = 4,
  parameter int unsigned Ci    = 8,
  parameter int unsigned H     = 8,
  parameter int unsigned W     = 8,
  parameter int unsigned KH    = 3,
  parameter int unsigned KW    = 3,
  parameter int unsigned Pad   = 1,
  parameter int unsigned Pci   = 8,
  parameter int unsigned Hold  = 1,
  // derived
  parameter int unsigned PixW  = L * Ci,
  parameter int unsigned Spp   = (Ci + Pci - 1) / Pci,
  parameter int unsigned Nseg  = KH * KW * Spp,
  parameter int unsigned VecW  = L * Nseg * Pci
) (
  input  logic            clk_i,
  input  logic            rst_ni,
  input  logic            in_valid_i,
  output logic            in_ready_o,
  input  logic [PixW-1:0] in_data_i,
  output logic            win_valid_o,
  input  logic            win_ready_i,
  output logic [VecW-1:0] win_data_o
);

  localparam int unsigned Ho    = H + 2 * Pad - KH + 1;
  localparam int unsigned Wo    = W + 2 * Pad - KW + 1;
  localparam int unsigned Depth = (KH - 1) * W + KW + Hold;
  localparam int unsigned AW    = (Depth > 1) ? $clog2(Depth) : 1;
  localparam int unsigned NW    = $clog2(H * W + 1) + 1;
  localparam int unsigned YW    = (Ho > 1) ? $clog2(Ho) : 1;
  localparam int unsigned XW    = (Wo > 1) ? $clog2(Wo) : 1;
  localparam int unsigned IW    = $clog2((H + 2 * Pad + KH) * (W + 2 * Pad + KW) + Depth) + 2;
  localparam int          Init0 = -int'(Pad * W + Pad);
  localparam int          InitB = ((Init0 % int'(Depth)) + int'(Depth)) % int'(Depth);
  localparam int          RowDelta = int'(W) - int'(Wo) + 1;  // base step at a row change

  (* ram_style = "distributed" *) logic [PixW-1:0] mem [Depth];

  logic [NW-1:0]        n_in_q;      // pixels of this frame written
  logic [AW-1:0]        wptr_q;
  logic [YW-1:0]        oy_q;
  logic [XW-1:0]        ox_q;
  logic signed [IW-1:0] row_base_q;  // (oy - Pad) * W
  logic [AW-1:0]        wbase_q;     // ((oy - Pad) * W + ox - Pad) mod Depth

  // linear index of the newest input pixel the next window reads, and of the oldest pixel
  // that this or any later window of the frame reads (while the window's top rows are
  // padding, the next row's first window can reach further back than this one)
  logic signed [IW-1:0] col_lo, col_hi, row_lo, row_hi, next_row, first_needed, last_needed;
  always_comb begin
    col_lo = $signed(IW'(ox_q)) - $signed(IW'(Pad));
    col_hi = col_lo + $signed(IW'(KW - 1));
    if (col_lo < 0) col_lo = '0;
    if (col_hi > IW'(W - 1)) col_hi = IW'(W - 1);
    row_lo = row_base_q;
    if (row_lo < 0) row_lo = '0;
    row_hi = row_base_q + $signed(IW'((KH - 1) * W));
    if (row_hi > IW'((H - 1) * W)) row_hi = IW'((H - 1) * W);
    next_row = row_base_q + $signed(IW'(W));
    if (next_row < 0) next_row = '0;
    first_needed = row_lo + col_lo;
    if (row_base_q < 0 && next_row < first_needed) first_needed = next_row;
    last_needed  = row_hi + col_hi;
  end

  logic frame_full, can_write, can_gather, gather, last_win;
  assign frame_full = (n_in_q == NW'(H * W));
  logic signed [IW-1:0] n_in_s;
  assign n_in_s     = $signed(IW'(n_in_q));
  assign can_write  = !frame_full && (n_in_s < first_needed + $signed(IW'(Depth)));
  assign can_gather = n_in_s > last_needed;
  assign gather     = can_gather && (!win_valid_o || win_ready_i);
  assign last_win   = (oy_q == YW'(Ho - 1)) && (ox_q == XW'(Wo - 1));
  assign in_ready_o = can_write;

  // window assembly
  logic [VecW-1:0] win;
  for (genvar ky = 0; ky < KH; ky++) begin : g_ky
    for (genvar kx = 0; kx < KW; kx++) begin : g_kx
      localparam int unsigned Off = ky * W + kx;
      logic [AW:0]     addr_sum;
      logic [AW-1:0]   addr;
      logic            in_image;
      logic [PixW-1:0] px;
      assign addr_sum = {1'b0, wbase_q} + (AW + 1)'(Off);
      assign addr     = (addr_sum >= (AW + 1)'(Depth)) ? AW'(addr_sum - (AW + 1)'(Depth))
                                                        : AW'(addr_sum);
      // zero padding: only kernel rows/cols that can leave the image need a check
      logic row_ok_lo, row_ok_hi, col_ok_lo, col_ok_hi;
      if (ky < Pad) begin : g_rlo
        assign row_ok_lo = oy_q >= YW'(Pad - ky);
      end else begin : g_rlo_n
        assign row_ok_lo = 1'b1;
      end
      if (ky + Pad >= KH) begin : g_rhi
        assign row_ok_hi = 32'(oy_q) < H + Pad - ky;
      end else begin : g_rhi_n
        assign row_ok_hi = 1'b1;
      end
      if (kx < Pad) begin : g_clo
        assign col_ok_lo = ox_q >= XW'(Pad - kx);
      end else begin : g_clo_n
        assign col_ok_lo = 1'b1;
      end
      if (kx + Pad >= KW) begin : g_chi
        assign col_ok_hi = 32'(ox_q) < W + Pad - kx;
      end else begin : g_chi_n
        assign col_ok_hi = 1'b1;
      end
      assign in_image = row_ok_lo && row_ok_hi && col_ok_lo && col_ok_hi;
      assign px       = in_image ? mem[addr] : '0;
      for (genvar l = 0; l < L; l++) begin : g_l
        for (genvar j = 0; j < Spp; j++) begin : g_j
          localparam int unsigned Seg = (ky * KW + kx) * Spp + j;
          localparam int unsigned Nb  = (Ci - j * Pci < Pci) ? Ci - j * Pci : Pci;
          if (Nb == Pci) begin : g_full
            assign win[(l * Nseg + Seg) * Pci +: Pci] = px[l * Ci + j * Pci +: Pci];
          end else begin : g_part  // last segment: channels padded with zeros
            assign win[(l * Nseg + Seg) * Pci +: Pci] = Pci'(px[l * Ci + j * Pci +: Nb]);
          end
        end
      end
    end
  end

  // next window base (mod Depth)
  logic signed [IW-1:0] wb_step;
  logic [AW-1:0]        wbase_next;
  always_comb begin
    wb_step = $signed(IW'(wbase_q)) + ((ox_q == XW'(Wo - 1)) ? IW'(RowDelta) : IW'(1));
    if (wb_step < 0) wb_step = wb_step + $signed(IW'(Depth));
    else if (wb_step >= $signed(IW'(Depth))) wb_step = wb_step - $signed(IW'(Depth));
    wbase_next = AW'($unsigned(wb_step));
  end

  always_ff @(posedge clk_i) begin
    if (in_valid_i && can_write) mem[wptr_q] <= in_data_i;
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      n_in_q      <= '0;
      wptr_q      <= '0;
      oy_q        <= '0;
      ox_q        <= '0;
      row_base_q  <= -$signed(IW'(Pad * W));
      wbase_q     <= AW'(InitB);
      win_valid_o <= 1'b0;
      win_data_o  <= '0;
    end else begin
      if (win_ready_i) win_valid_o <= 1'b0;
      if (gather) begin
        win_valid_o <= 1'b1;
        win_data_o  <= win;
      end
      if (gather && last_win) begin
        // frame complete: every window gathered, start the next frame
        n_in_q     <= '0;
        wptr_q     <= '0;
        oy_q       <= '0;
        ox_q       <= '0;
        row_base_q <= -$signed(IW'(Pad * W));
        wbase_q    <= AW'(InitB);
      end else begin
        if (in_valid_i && can_write) begin
          n_in_q <= n_in_q + NW'(1);
          wptr_q <= (wptr_q == AW'(Depth - 1)) ? '0 : wptr_q + AW'(1);
        end
        if (gather) begin
          wbase_q <= wbase_next;
          if (ox_q == XW'(Wo - 1)) begin
            ox_q       <= '0;
            oy_q       <= oy_q + YW'(1);
            row_base_q <= row_base_q + $signed(IW'(W));
          end else begin
            ox_q <= ox_q + XW'(1);
          end
        end
      end
    end
  end

endmodule
