// 2x2 max-pool on spikes = OR of the four pixels, per channel and time step, stride 2.
// Input and output are raster pixel streams (valid/ready); odd trailing rows/columns are
// dropped (floor), as in the golden model. One row buffer of W/2 pixels.
`default_nettype none

module spike_pool #(
  parameter int unsigned PixW = 8,   // T x C bits, OR-ed bitwise
  parameter int unsigned H    = 4,   // input height
  parameter int unsigned W    = 4    // input width
) (
  input  logic            clk_i,
  input  logic            srst_ni,
  input  logic            in_valid_i,
  output logic            in_ready_o,
  input  logic [PixW-1:0] in_data_i,
  output logic            out_valid_o,
  input  logic            out_ready_i,
  output logic [PixW-1:0] out_data_o
);

  localparam int unsigned Wp = W / 2;
  localparam int unsigned YW = (H > 1) ? $clog2(H) : 1;
  localparam int unsigned XW = (W > 1) ? $clog2(W) : 1;
  localparam int unsigned PW = (Wp > 1) ? $clog2(Wp) : 1;

  (* ram_style = "distributed" *) logic [PixW-1:0] row_q [Wp];
  logic [PixW-1:0] hor_q;
  logic [YW-1:0]   y_q;
  logic [XW-1:0]   x_q;
  logic [PW-1:0]   xp_q;

  logic take, used, x_odd, y_odd;
  assign in_ready_o = !out_valid_o || out_ready_i;
  assign take  = in_valid_i && in_ready_o;
  assign used  = (32'(x_q) < 2 * Wp) && (32'(y_q) < 2 * (H / 2));
  assign x_odd = x_q[0];
  assign y_odd = y_q[0];

  logic [PixW-1:0] pair;
  assign pair = hor_q | in_data_i;

  // the row buffer and the held pixel are written at their position whether or not a pixel
  // arrives (the position moves only with an accepted pixel, whose write is the last one
  // there): their enables come from the position registers alone, not from the handshake
  // (on ECP5 the handshake reaching every LUT-RAM slice of a wide row was 4.6 ns of routing)
  always_ff @(posedge clk_i) begin
    if (used && x_odd && !y_odd) row_q[xp_q] <= pair;
  end

  always_ff @(posedge clk_i) begin
    if (!srst_ni) begin
      hor_q       <= '0;
      y_q         <= '0;
      x_q         <= '0;
      xp_q        <= '0;
      out_valid_o <= 1'b0;
      out_data_o  <= '0;
    end else begin
      // the held pixel loads at every even column, used or not (a trailing odd column or row
      // makes no output; the next even column loads it again): its enable is one flip-flop
      // (on ECP5 the position test reaching all of a wide register was 3.5 ns of routing)
      if (!x_odd) hor_q <= in_data_i;
      // the output register loads whenever it may (its enable does not wait for the input's
      // handshake and position, which would reach its every bit); valid after a pooled pair
      if (in_ready_o) begin
        out_valid_o <= take && used && x_odd && y_odd;
        out_data_o  <= row_q[xp_q] | pair;
      end
      if (take) begin
        if (used && x_odd) xp_q <= (32'(xp_q) == Wp - 1) ? '0 : xp_q + PW'(1);
        if (x_q == XW'(W - 1)) begin
          x_q  <= '0;
          xp_q <= '0;
          y_q  <= (y_q == YW'(H - 1)) ? '0 : y_q + YW'(1);
        end else begin
          x_q <= x_q + XW'(1);
        end
      end
    end
  end

endmodule

`default_nettype wire
