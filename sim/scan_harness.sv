// Test harness (simulation only): window_unit feeding Pco mask_scanners, as in the sparse core.
// Scanner d's list is <ListPrefix>_d<d>_list.hex with EntriesOf[d*16 +: 16] entries (its masks
// read from <ListPrefix>_d<d>_mask.hex in block RAM where ListBlockOf[d], its other fields
// from <ListPrefix>_d<d>_fields.hex in block RAM where FieldBlockOf[d]; the ring copies in
// block RAM with RingBlock); its queue fields are flattened, detector d at [d*<field width> +: <field width>].
`default_nettype none

module scan_harness #(
  parameter int unsigned L          = 4,
  parameter int unsigned Ci         = 8,
  parameter int unsigned H          = 8,
  parameter int unsigned W          = 8,
  parameter int unsigned KH         = 3,
  parameter int unsigned KW         = 3,
  parameter int unsigned Pad        = 1,
  parameter int unsigned Hold       = 8,
  parameter int unsigned NumWin     = 4,
  parameter int unsigned Pco        = 2,
  parameter int unsigned Pci        = 8,
  parameter int unsigned Spw        = 1,
  parameter int unsigned WtDepth    = 16,
  parameter int unsigned TagW       = 1,
  parameter int unsigned FifoDepth  = 16,
  parameter logic [Pco*16-1:0] EntriesOf = '0,
  parameter string       ListPrefix = "",
  parameter logic [Pco-1:0] ListBlockOf = '0,
  parameter logic [Pco-1:0] FieldBlockOf = '0,
  parameter bit          RingBlock  = 1'b0,
  // derived (not overridable)
  localparam int unsigned PixW      = L * Ci,
  localparam int unsigned WordW     = Spw * Pci,
  localparam int unsigned AddrW     = (WtDepth > 1) ? unsigned'($clog2(WtDepth)) : 1,
  localparam int unsigned CntW      = unsigned'($clog2(WordW + 1))
) (
  input  logic                   clk_i,
  input  logic                   srst_ni,
  input  logic                   in_valid_i,
  output logic                   in_ready_o,
  input  logic [PixW-1:0]        in_data_i,
  input  logic                   gate_i,
  output logic [Pco-1:0]         out_valid_o,
  input  logic [Pco-1:0]         out_ready_i,
  output logic [Pco*WordW-1:0]   out_bits_o,
  output logic [Pco*L*WordW-1:0] out_planes_o,
  output logic [Pco*WordW-1:0]   out_mask_o,
  output logic [Pco*AddrW-1:0]   out_ptr_o,
  output logic [Pco*CntW-1:0]    out_count_o,
  output logic [Pco-1:0]         out_le1_o,
  output logic [Pco-1:0]         out_open_o,
  output logic [Pco-1:0]         out_close_o,
  output logic [Pco*TagW-1:0]    out_tag_o
);

  localparam int unsigned KK    = KH * KW;
  localparam int unsigned Span  = (KH - 1) * W + KW;
  localparam int unsigned Depth = (Span + Hold < H * W) ? Span + Hold : H * W;
  localparam int unsigned AW    = (Depth > 1) ? unsigned'($clog2(Depth)) : 1;
  localparam int unsigned QSlotW = (FifoDepth > 1) ? unsigned'($clog2(FifoDepth)) : 1;
  localparam int unsigned FreeLat = 3;

  logic              wr_en;
  logic [AW-1:0]     wr_addr;
  logic [PixW-1:0]   wr_data;
  logic [Pco-1:0]    desc_valid, take, fin;
  logic [Pco*AW-1:0] desc_base;
  logic [Pco*KK-1:0] desc_img;
  /* verilator lint_off UNUSEDSIGNAL */
  logic              gather, last;
  /* verilator lint_on UNUSEDSIGNAL */

  window_unit #(
    .L(L), .Ci(Ci), .H(H), .W(W), .KH(KH), .KW(KW), .Pad(Pad), .Hold(Hold), .NumWin(NumWin),
    .Pco(Pco)
  ) u_win (
    .clk_i       (clk_i),
    .srst_ni     (srst_ni),
    .in_valid_i  (in_valid_i),
    .in_ready_o  (in_ready_o),
    .in_data_i   (in_data_i),
    .wr_en_o     (wr_en),
    .wr_addr_o   (wr_addr),
    .wr_data_o   (wr_data),
    .gate_i      (gate_i),
    .gather_o    (gather),
    .last_o      (last),
    .desc_valid_o(desc_valid),
    .desc_base_o (desc_base),
    .desc_img_o  (desc_img),
    .desc_take_i (take),
    .desc_fin_i  (fin)
  );

  for (genvar d = 0; d < Pco; d++) begin : g_det
    /* verilator lint_off UNUSEDSIGNAL */
    logic scan, waiting;
    /* verilator lint_on UNUSEDSIGNAL */
    // the scanner shows the planes and mask of the word popped last (from the next cycle on:
    // the testbench reads them then); a popped word frees its slot FreeLat cycles later (the
    // peeler's word time), so the credits run short sooner
    /* verilator lint_off UNUSEDSIGNAL */
    logic [QSlotW-1:0]  slot, shown;
    /* verilator lint_on UNUSEDSIGNAL */
    logic [FreeLat-1:0] popped_q;
    always_ff @(posedge clk_i) begin
      if (!srst_ni) popped_q <= '0;
      else popped_q <= {popped_q[FreeLat-2:0], out_valid_o[d] && out_ready_i[d]};
    end
    mask_scanner #(
      .L(L), .Ci(Ci), .W(W), .KH(KH), .KW(KW), .Pci(Pci), .Spw(Spw), .Depth(Depth),
      .Entries(32'(EntriesOf[d*16 +: 16])), .WtDepth(WtDepth), .TagW(TagW),
      .FifoDepth(FifoDepth), .ListFile($sformatf("%s_d%0d_list.hex", ListPrefix, d)),
      .ListBlock(ListBlockOf[d]), .MaskFile($sformatf("%s_d%0d_mask.hex", ListPrefix, d)),
      .FieldBlock(FieldBlockOf[d]),
      .FieldFile($sformatf("%s_d%0d_fields.hex", ListPrefix, d)),
      .RingBlock(RingBlock)
    ) u_scan (
      .clk_i       (clk_i),
      .srst_ni     (srst_ni),
      .wr_en_i     (wr_en),
      .wr_addr_i   (wr_addr),
      .wr_data_i   (wr_data),
      .desc_valid_i(desc_valid[d]),
      .desc_base_i (desc_base[d*AW +: AW]),
      .desc_img_i  (desc_img[d*KK +: KK]),
      .desc_take_o (take[d]),
      .desc_fin_o  (fin[d]),
      .out_valid_o (out_valid_o[d]),
      .out_ready_i (out_ready_i[d]),
      .out_bits_o  (out_bits_o[d*WordW +: WordW]),
      .out_slot_o  (slot),
      .body_slot_o (shown),
      .body_planes_o(out_planes_o[d*L*WordW +: L*WordW]),
      .body_mask_o (out_mask_o[d*WordW +: WordW]),
      .free_i      (popped_q[FreeLat-1]),
      .out_ptr_o   (out_ptr_o[d*AddrW +: AddrW]),
      .out_count_o (out_count_o[d*CntW +: CntW]),
      .out_le1_o   (out_le1_o[d]),
      .out_open_o  (out_open_o[d]),
      .out_close_o (out_close_o[d]),
      .out_tag_o   (out_tag_o[d*TagW +: TagW]),
      .scan_o      (scan),
      .wait_o      (waiting)
    );
  end

endmodule

`default_nettype wire
