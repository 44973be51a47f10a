// Time-parallel peeler of sparse core v2: one (position, weight) pair per cycle for all time
// steps at once.
//
// A word (from the scanner's FIFO) holds the positions to peel, bits = OR_t(spikes) & mask,
// with its planes (spikes & mask of every plane), the word's weight mask, the address of the
// weight of the mask's lowest bit (ptr) and count = popcount(bits), computed by the scanner:
// the end of a word comes from a down-counter, never from a wide zero test. Each cycle the
// lowest set bit y of the remaining bits is peeled: one subtractor x - 1 gives y = x & ~(x-1),
// the rest x & (x-1) and the bits below y, ~x & (x-1); the weight sits at
// ptr + popcount(mask & below). It is read once and added to the accumulator of every plane
// whose spike is 1 at y:
//   Mode 0 (lanes):    acc[l] += planes[l][y] ? w : 0          (spike input, one acc per step)
//   Mode 1 (direct):   acc += w * sum_l planes[l][y] << l      (pixel value times weight)
//   Mode 2 (popcount): acc += w * sum_l planes[l][y]           (FC integrate readout)
// The products are shift-add trees (no DSP), one registered adder level per stage.
// A word with count 0 costs one cycle and only carries its emit flag and tag. A word with emit
// ends its group: the group's sums come out (res_valid_o, with the word's tag) and the
// accumulators restart from 0. Words follow each other without a bubble.
//
// Pipeline: A peel | B chunk popcounts | C rank | D address | E weight read (LUT-RAM, or block
// RAM with its output registered: WtBlock; else LUT logic) | F products (Mode 1/2: log2(L) levels) |
// G accumulate -> result. No stage stalls: the result consumer always takes a result.
module tp_peeler #(
  parameter int unsigned WordW   = 16,
  parameter int unsigned L       = 4,
  parameter int unsigned Mode    = 0,
  parameter int unsigned WtDepth = 16,
  parameter int unsigned AccW    = 16,
  parameter int unsigned TagW    = 1,
  parameter bit          WtBlock = 1'b0,
  parameter string       WtFile  = "",
  // derived
  parameter int unsigned AddrW   = (WtDepth > 1) ? unsigned'($clog2(WtDepth)) : 1,
  parameter int unsigned CntW    = unsigned'($clog2(WordW + 1)),
  parameter int unsigned NumAcc  = (Mode == 0) ? L : 1
) (
  input  logic                   clk_i,
  input  logic                   rst_ni,
  input  logic                   in_valid_i,
  output logic                   in_ready_o,
  input  logic [WordW-1:0]       in_bits_i,    // positions to peel (OR over planes & mask)
  input  logic [L*WordW-1:0]     in_planes_i,  // plane l at [l*WordW +: WordW]
  input  logic [WordW-1:0]       in_mask_i,    // the word's weight mask
  input  logic [AddrW-1:0]       in_ptr_i,     // weight address of the mask's lowest bit
  input  logic [CntW-1:0]        in_count_i,   // popcount(in_bits_i)
  input  logic                   in_emit_i,    // the group ends with this word
  input  logic [TagW-1:0]        in_tag_i,     // returned with the group's result
  output logic                   res_valid_o,
  output logic [NumAcc*AccW-1:0] res_acc_o,    // sum of plane l at [l*AccW +: AccW] (Mode 0)
  output logic [TagW-1:0]        res_tag_o,
  output logic                   busy_o,       // a word is in the peel stage
  output logic                   pair_o,       // a position was peeled this cycle
  output logic [L-1:0]           lanes_o       // its planes with a spike (time-serial pairs)
);

  localparam int unsigned Chunk  = 4;                          // popcount chunk (one LUT4)
  localparam int unsigned NChunk = (WordW + Chunk - 1) / Chunk;
  localparam int unsigned ChW    = 3;                          // bits of a chunk's count
  localparam int unsigned VW     = (Mode == 1) ? L : unsigned'($clog2(L + 1));  // multiplier bits
  localparam int unsigned PLev   = (Mode == 0 || VW <= 1) ? 0 : unsigned'($clog2(VW));
  localparam int unsigned PW     = 4 + VW + 1;                 // product width (signed)

  if (Mode > 2) begin : g_bad_mode
    $error("tp_peeler: Mode must be 0 (lanes), 1 (direct) or 2 (popcount)");
  end

  // ------------------------------------------------------------------ A: peel
  logic               act_q, emit_q, last_q;  // last_q: this cycle peels the word's last
  logic [WordW-1:0]   x_q, mask_q;
  logic [L*WordW-1:0] planes_q;
  logic [AddrW-1:0]   ptr_q;
  logic [CntW-1:0]    rem_q;
  logic [TagW-1:0]    tag_q;

  logic [WordW-1:0] xm1, y, below;
  logic             last, load;
  assign xm1   = x_q - WordW'(1);
  assign y     = x_q & ~xm1;
  assign below = ~x_q & xm1;
  assign last  = last_q;  // registered (rem_q <= 1): in_ready_o comes straight from flip-flops
  assign in_ready_o = !act_q || last;
  assign load  = in_valid_i && in_ready_o;

  logic [L-1:0] lanes;
  for (genvar l = 0; l < L; l++) begin : g_lane
    assign lanes[l] = |(planes_q[l*WordW +: WordW] & y);
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      act_q    <= 1'b0;
      emit_q   <= 1'b0;
      last_q   <= 1'b0;
      x_q      <= '0;
      mask_q   <= '0;
      planes_q <= '0;
      ptr_q    <= '0;
      rem_q    <= '0;
      tag_q    <= '0;
    end else if (load) begin
      act_q    <= 1'b1;
      emit_q   <= in_emit_i;
      x_q      <= in_bits_i;
      mask_q   <= in_mask_i;
      planes_q <= in_planes_i;
      ptr_q    <= in_ptr_i;
      rem_q    <= in_count_i;
      last_q   <= (in_count_i <= CntW'(1));
      tag_q    <= in_tag_i;
    end else if (act_q) begin
      if (last) begin
        act_q <= 1'b0;
      end
      x_q    <= x_q & xm1;
      rem_q  <= rem_q - CntW'(1);
      last_q <= (rem_q == CntW'(2));
    end
  end

  // ------------------------------------------------------------------ B: chunk popcounts
  logic              b_valid, b_peel, b_emit;
  logic [L-1:0]      b_lanes;
  logic [WordW-1:0]  b_rmask;
  logic [AddrW-1:0]  b_ptr;
  logic [TagW-1:0]   b_tag;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      b_valid <= 1'b0;
      b_peel  <= 1'b0;
      b_emit  <= 1'b0;
      b_lanes <= '0;
      b_rmask <= '0;
      b_ptr   <= '0;
      b_tag   <= '0;
    end else begin
      b_valid <= act_q;
      b_peel  <= act_q && (rem_q != '0);
      b_emit  <= act_q && last && emit_q;
      b_lanes <= (act_q && rem_q != '0) ? lanes : '0;
      b_rmask <= mask_q & below;
      b_ptr   <= ptr_q;
      b_tag   <= tag_q;
    end
  end
  assign busy_o  = act_q;
  assign pair_o  = b_peel;
  assign lanes_o = b_lanes;

  logic [NChunk*ChW-1:0] chunk;  // chunk k at [k*ChW +: ChW]
  for (genvar k = 0; k < NChunk; k++) begin : g_chunk
    localparam int unsigned Lo = k * Chunk;
    localparam int unsigned N  = (WordW - Lo < Chunk) ? WordW - Lo : Chunk;
    popcount #(.Width(N), .CntW(ChW)) u_cnt (
      .bits_i (b_rmask[Lo +: N]),
      .count_o(chunk[k*ChW +: ChW])
    );
  end

  // ------------------------------------------------------------------ C: rank, D: address
  logic                       c_valid, c_emit, d_valid, d_emit;
  logic [L-1:0]               c_lanes, d_lanes;
  logic [NChunk*ChW-1:0]      c_chunk;
  logic [AddrW-1:0]           c_ptr, d_addr;
  logic [TagW-1:0]            c_tag, d_tag;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      c_valid <= 1'b0;
      c_emit  <= 1'b0;
      c_lanes <= '0;
      c_chunk <= '0;
      c_ptr   <= '0;
      c_tag   <= '0;
    end else begin
      c_valid <= b_valid;
      c_emit  <= b_emit;
      c_lanes <= b_lanes;
      c_chunk <= chunk;
      c_ptr   <= b_ptr;
      c_tag   <= b_tag;
    end
  end

  localparam int unsigned RankW = ChW + ((NChunk > 1) ? unsigned'($clog2(NChunk)) : 0);
  localparam int unsigned SumW  = (RankW > AddrW) ? RankW : AddrW;
  /* verilator lint_off UNUSEDSIGNAL */  // ptr + rank < WtDepth: the address fits AddrW
  logic [SumW-1:0] rank;
  /* verilator lint_on UNUSEDSIGNAL */
  adder_tree #(.N(NChunk), .InW(ChW), .SumW(SumW)) u_rank (
    .values_i(c_chunk),
    .sum_o   (rank)
  );

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      d_valid <= 1'b0;
      d_emit  <= 1'b0;
      d_lanes <= '0;
      d_addr  <= '0;
      d_tag   <= '0;
    end else begin
      d_valid <= c_valid;
      d_emit  <= c_emit;
      d_lanes <= c_lanes;
      d_addr  <= c_ptr + rank[AddrW-1:0];
      d_tag   <= c_tag;
    end
  end

  // ------------------------------------------------------------------ E: weight read
  logic              e_valid, e_emit;
  logic [L-1:0]      e_lanes;
  logic [TagW-1:0]   e_tag;
  logic signed [3:0] e_w;

  if (WtBlock) begin : g_bram
    // block RAM: the read registers the address, a fabric register takes the data out
    logic [3:0]        rom_q;
    logic              r_valid, r_emit;
    logic [L-1:0]      r_lanes;
    logic [TagW-1:0]   r_tag;
    sync_rom #(.Width(4), .Depth(WtDepth), .InitFile(WtFile), .AddrWidth(AddrW)) u_wt (
      .clk_i (clk_i),
      .en_i  (1'b1),
      .addr_i(d_addr),
      .data_o(rom_q)
    );
    always_ff @(posedge clk_i) begin
      if (!rst_ni) begin
        r_valid <= 1'b0;
        r_emit  <= 1'b0;
        r_lanes <= '0;
        r_tag   <= '0;
        e_valid <= 1'b0;
        e_emit  <= 1'b0;
        e_lanes <= '0;
        e_tag   <= '0;
        e_w     <= '0;
      end else begin
        r_valid <= d_valid;
        r_emit  <= d_emit;
        r_lanes <= d_lanes;
        r_tag   <= d_tag;
        e_valid <= r_valid;
        e_emit  <= r_emit;
        e_lanes <= r_lanes;
        e_tag   <= r_tag;
        e_w     <= $signed(rom_q);
      end
    end
  end else begin : g_lutram
    logic [3:0] mem [WtDepth];  // small: LUTs (a ROM has no LUT-RAM write port)
    initial begin
      if (WtFile != "") begin
        $readmemh(WtFile, mem);
      end
    end
    always_ff @(posedge clk_i) begin
      if (!rst_ni) begin
        e_valid <= 1'b0;
        e_emit  <= 1'b0;
        e_lanes <= '0;
        e_tag   <= '0;
        e_w     <= '0;
      end else begin
        e_valid <= d_valid;
        e_emit  <= d_emit;
        e_lanes <= d_lanes;
        e_tag   <= d_tag;
        e_w     <= $signed(mem[d_addr]);
      end
    end
  end

  // ------------------------------------------------------------------ F: products
  logic                          f_valid, f_emit;
  logic [TagW-1:0]               f_tag;
  logic [NumAcc*AccW-1:0]       f_contrib;  // plane l at [l*AccW +: AccW]

  if (Mode == 0) begin : g_lanes
    always_ff @(posedge clk_i) begin
      if (!rst_ni) begin
        f_valid   <= 1'b0;
        f_emit    <= 1'b0;
        f_tag     <= '0;
        f_contrib <= '0;
      end else begin
        f_valid <= e_valid;
        f_emit  <= e_emit;
        f_tag   <= e_tag;
        for (int unsigned l = 0; l < L; l++) begin
          f_contrib[l*AccW +: AccW] <= e_lanes[l] ? $unsigned(AccW'(e_w)) : '0;
        end
      end
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
      logic                        valid, emit;
      logic [TagW-1:0]             tag;
      if (lv == 0) begin : g_leaf
        always_ff @(posedge clk_i) begin
          if (!rst_ni) begin
            term  <= '0;
            valid <= 1'b0;
            emit  <= 1'b0;
            tag   <= '0;
          end else begin
            valid <= e_valid;
            emit  <= e_emit;
            tag   <= e_tag;
            for (int unsigned b = 0; b < N; b++) begin
              term[b] <= (b < VW && v[b]) ? $unsigned(PW'(e_w) <<< b) : '0;
            end
          end
        end
      end else begin : g_add
        always_ff @(posedge clk_i) begin
          if (!rst_ni) begin
            term  <= '0;
            valid <= 1'b0;
            emit  <= 1'b0;
            tag   <= '0;
          end else begin
            valid <= g_lvl[lv-1].valid;
            emit  <= g_lvl[lv-1].emit;
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
    assign f_emit       = g_lvl[PLev].emit;
    assign f_tag        = g_lvl[PLev].tag;
    assign f_contrib = $unsigned(AccW'($signed(g_lvl[PLev].term[0])));
  end

  // ------------------------------------------------------------------ G: accumulate
  logic [NumAcc*AccW-1:0] acc_q, sum;
  for (genvar a = 0; a < NumAcc; a++) begin : g_acc
    assign sum[a*AccW +: AccW] = acc_q[a*AccW +: AccW] + f_contrib[a*AccW +: AccW];
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      acc_q       <= '0;
      res_valid_o <= 1'b0;
      res_acc_o   <= '0;
      res_tag_o   <= '0;
    end else begin
      res_valid_o <= f_valid && f_emit;
      if (f_valid) begin
        acc_q <= f_emit ? '0 : sum;
        if (f_emit) begin
          res_acc_o <= sum;
          res_tag_o <= f_tag;
        end
      end
    end
  end

endmodule
