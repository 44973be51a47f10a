  // core L{{ i }} output stream
  logic [{{ out_msb }}:0] tap{{ i }}_mem [{{ depth }}];
  initial $readmemh({Dir, "/tap{{ i }}.hex"}, tap{{ i }}_mem);
  logic [31:0] tap{{ i }}_idx, mm{{ i }}_index;
  logic mm{{ i }}_valid;
  logic [{{ out_msb }}:0] mm{{ i }}_got, mm{{ i }}_want;
  always_ff @(posedge clk_i) begin
    if (!srst_ni) begin
      tap{{ i }}_idx <= '0; mm{{ i }}_valid <= 1'b0; mm{{ i }}_index <= '0;
      mm{{ i }}_got <= '0; mm{{ i }}_want <= '0;
    end else if (tap_fire[{{ i }}]) begin
      tap{{ i }}_idx <= tap{{ i }}_idx + 1;
      if (!mm{{ i }}_valid && (tap{{ i }}_idx >= {{ depth }} ||
          u_dut.core{{ i }}_data != tap{{ i }}_mem[tap{{ i }}_idx < {{ depth }} ? tap{{ i }}_idx : 0])) begin
        mm{{ i }}_valid <= 1'b1; mm{{ i }}_index <= tap{{ i }}_idx;
        mm{{ i }}_got <= u_dut.core{{ i }}_data;
        mm{{ i }}_want <= tap{{ i }}_mem[tap{{ i }}_idx < {{ depth }} ? tap{{ i }}_idx : 0];
      end
    end
  end

