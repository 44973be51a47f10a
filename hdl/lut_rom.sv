// Small read-only memory in LUT logic, initialised from a $readmemh image (one word
// per line, ceil(Width/4) hex digits). One cycle read latency: the output is registered.
module lut_rom #(
  parameter int unsigned Width     = 8,
  parameter int unsigned Depth     = 16,
  parameter string       InitFile  = "",
  parameter int unsigned AddrWidth = (Depth > 1) ? unsigned'($clog2(Depth)) : 1
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

  always_ff @(posedge clk_i) begin
    if (en_i) begin
      data_o <= mem[addr_i];
    end
  end

endmodule
