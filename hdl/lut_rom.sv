// Small read-only memory in LUT logic, initialised from a $readmemh image (one word
// per line, ceil(Width/4) hex digits). Registered (default): one cycle read latency, the
// output is registered; else the read is combinational (one LUT level for up to 64 words).
`default_nettype none

module lut_rom #(
  parameter int unsigned Width      = 8,
  parameter int unsigned Depth      = 16,
  parameter string       InitFile   = "",
  parameter bit          Registered = 1'b1,
  parameter int unsigned AddrWidth  = (Depth > 1) ? unsigned'($clog2(Depth)) : 1
) (
  input  logic                 clk_i,
  input  logic                 en_i,
  input  logic [AddrWidth-1:0] addr_i,
  output logic [Width-1:0]     data_o
);

  (* rom_style = "logic" *) logic [Width-1:0] mem [Depth];  // LUTs: a ROM has no LUT-RAM write port

  initial begin
    if (InitFile != "") begin
      $readmemh(InitFile, mem);
    end
  end

  if (Registered) begin : g_reg
    always_ff @(posedge clk_i) begin
      if (en_i) begin
        data_o <= mem[addr_i];
      end
    end
  end else begin : g_comb
    assign data_o = mem[addr_i];
    /* verilator lint_off UNUSEDSIGNAL */
    logic unused;
    /* verilator lint_on UNUSEDSIGNAL */
    assign unused = clk_i ^ en_i;
  end

endmodule

`default_nettype wire
