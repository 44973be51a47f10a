// Synchronous FIFO with valid/ready on both sides (first-word fall-through).
// Never drops, duplicates or reorders: a word leaves only on out_valid_o && out_ready_i.
// The storage is split in groups of up to GrpW bits, each addressed by its own (kept) copy
// of the read and write pointers: one pointer net reaching every LUT-RAM slice of a wide
// FIFO (256 bits between two cores) was 8.3 ns of routing on ECP5.
`default_nettype none

module stream_fifo #(
  parameter int unsigned Width = 8,
  parameter int unsigned Depth = 2,
  parameter int unsigned GrpW  = 32
) (
  input  logic             clk_i,
  input  logic             srst_ni,
  input  logic             in_valid_i,
  output logic             in_ready_o,
  input  logic [Width-1:0] in_data_i,
  output logic             out_valid_o,
  input  logic             out_ready_i,
  output logic [Width-1:0] out_data_o
);

  localparam int unsigned AW   = (Depth > 1) ? unsigned'($clog2(Depth)) : 1;
  localparam int unsigned NGrp = (Width + GrpW - 1) / GrpW;

  // the fill level as a thermometer code, occ_q[i] = (words inside > i): each bit's next
  // value is one LUT of the handshake and its neighbours (a count's add/subtract carry chain
  // and compare after the consumer's ready, which comes from another core, was 7.0 ns on
  // ECP5, 142.6 MHz)
  logic [Depth-1:0] occ_q, occ_nx;
  logic             ready_q, valid_q;  // !occ_q[Depth-1], occ_q[0]: words inside != Depth, != 0

  logic push, pop;
  // the handshake flags come straight from flip-flops (on ECP5 the count compare, the next
  // stage's ready and the producer's hand-off test in one cycle was 8.4 ns)
  assign in_ready_o  = ready_q;
  assign out_valid_o = valid_q;
  assign push = in_valid_i && in_ready_o;
  assign pop  = out_valid_o && out_ready_i;

  function automatic logic [AW-1:0] next(input logic [AW-1:0] a);
    return (a == AW'(Depth - 1)) ? '0 : a + AW'(1);
  endfunction

  for (genvar g = 0; g < NGrp; g++) begin : g_grp
    localparam int unsigned Lo = g * GrpW;
    localparam int unsigned N  = (Width - Lo < GrpW) ? Width - Lo : GrpW;
    (* ram_style = "distributed" *) logic [N-1:0] mem [Depth];
    logic [AW-1:0] rd_c_q, wr_c_q;  // this group's copies of rd_q and wr_q
    (* keep *) always_ff @(posedge clk_i) begin
      if (!srst_ni) begin
        rd_c_q <= '0;
        wr_c_q <= '0;
      end else begin
        if (push) wr_c_q <= next(wr_c_q);
        if (pop) rd_c_q <= next(rd_c_q);
      end
    end
    always_ff @(posedge clk_i) begin
      if (push) mem[wr_c_q] <= in_data_i[Lo +: N];
    end
    assign out_data_o[Lo +: N] = mem[rd_c_q];
  end

  // one word in and none out: the level rises by one; out and none in: it falls by one
  logic up, down;
  assign up   = push && !pop;
  assign down = pop && !push;
  assign occ_nx = up ? ((occ_q << 1) | Depth'(1)) : down ? (occ_q >> 1) : occ_q;
  always_ff @(posedge clk_i) begin
    if (!srst_ni) begin
      occ_q   <= '0;
      ready_q <= 1'b1;
      valid_q <= 1'b0;
    end else begin
      occ_q   <= occ_nx;
      ready_q <= !occ_nx[Depth-1];
      valid_q <= occ_nx[0];
    end
  end

`ifdef FORMAL
  // Proved by sim/formal/stream_fifo.sby (data independence: the FIFO never looks at the data,
  // so numbering the words pushed 0, 1, 2, ... and checking that they leave as 0, 1, 2, ...
  // proves no word is dropped, duplicated or reordered; Width >= log2(Depth) + 2 bits keep
  // the numbers of the words inside distinct).
  logic f_init = 1'b1;
  logic [31:0] cnt_q;  // the number of words inside: the thermometer's ones
  always_comb begin
    cnt_q = '0;
    for (int unsigned i = 0; i < Depth; i++) cnt_q += 32'(occ_q[i]);
  end
  logic [AW-1:0] rd_q, wr_q;  // the pointers: group 0's (every group's copies equal them)
  assign rd_q = g_grp[0].rd_c_q;
  assign wr_q = g_grp[0].wr_c_q;
  logic [Width-1:0] f_in_seq_q, f_out_seq_q;
  logic f_stall_q;
  logic [Width-1:0] f_data_q;
  always_ff @(posedge clk_i) begin
    f_init    <= 1'b0;
    f_stall_q <= srst_ni && out_valid_o && !out_ready_i;
    f_data_q  <= out_data_o;
    if (!srst_ni) begin
      f_in_seq_q  <= '0;
      f_out_seq_q <= '0;
    end else begin
      if (push) f_in_seq_q <= f_in_seq_q + Width'(1);
      if (pop) f_out_seq_q <= f_out_seq_q + Width'(1);
    end
  end
  always_comb begin
    if (f_init) assume (!srst_ni);
    if (in_valid_i) assume (in_data_i == f_in_seq_q);
    if (!f_init && srst_ni) begin
      for (int unsigned i = 1; i < Depth; i++) begin
        if (occ_q[i]) assert (occ_q[i-1]);  // a thermometer: ones below every one
      end
      assert (ready_q == (cnt_q != Depth) && valid_q == (cnt_q != 0));
      assert (f_in_seq_q - f_out_seq_q == Width'(cnt_q));
      assert (32'(rd_q) < Depth && 32'(wr_q) < Depth);
      assert ((32'(wr_q) + Depth - 32'(rd_q)) % Depth == cnt_q % Depth);
      if (out_valid_o) assert (out_data_o == f_out_seq_q);
      // a word offered and not taken stays offered, unchanged
      if (f_stall_q) assert (out_valid_o && out_data_o == f_data_q);
    end
  end
  // the words inside are the next ones expected, in order (each group its bits)
  for (genvar g = 0; g < NGrp; g++) begin : g_f_grp
    localparam int unsigned Lo = g * GrpW;
    localparam int unsigned N  = (Width - Lo < GrpW) ? Width - Lo : GrpW;
    always_comb begin
      if (!f_init && srst_ni) begin
        assert (g_grp[g].rd_c_q == rd_q && g_grp[g].wr_c_q == wr_q);
        for (int unsigned i = 0; i < Depth; i++) begin
          if (i < cnt_q) begin
            assert (g_grp[g].mem[(32'(rd_q) + i) % Depth]
                    == N'((f_out_seq_q + Width'(i)) >> Lo));
          end
        end
      end
    end
  end
`endif

endmodule

`default_nettype wire
