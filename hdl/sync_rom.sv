// Synchronous read-only memory initialised from a $readmemh image (one word per line,
// ceil(Width/4) hex digits; see docs/format.md "Memory images"). One cycle read latency.
`default_nettype none

module sync_rom #(
  parameter int unsigned Width     = 8,
  parameter int unsigned Depth     = 16,
  parameter string       InitFile  = "",
  parameter int unsigned AddrWidth = (Depth > 1) ? $clog2(Depth) : 1
) (
  input  logic                 clk_i,
  input  logic                 en_i,
  input  logic [AddrWidth-1:0] addr_i,
  output logic [Width-1:0]     data_o
);

  (* rom_style = "block" *) logic [Width-1:0] mem [Depth];

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

`default_nettype wire
