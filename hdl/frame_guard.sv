// Input framing guard: passes a stream of frames of exactly Pixels beats, whatever tlast says.
// A frame whose tlast comes early (short) is completed with zero beats; the beats of a frame
// that goes on past Pixels beats (long, tlast late or missing) are dropped up to and including
// its tlast. Either way err_o pulses for one cycle and the next frame starts aligned, so the
// cores downstream (which count pixels themselves) stay in step and the next frame is correct.
// In the normal case the guard is a wire (ready passes through, no added latency).
`default_nettype none

module frame_guard #(
  parameter int unsigned Width  = 8,
  parameter int unsigned Pixels = 16,
  parameter int unsigned PixW   = (Pixels > 1) ? unsigned'($clog2(Pixels)) : 1
) (
  input  logic             clk_i,
  input  logic             srst_ni,
  input  logic             in_valid_i,
  output logic             in_ready_o,
  input  logic [Width-1:0] in_data_i,
  input  logic             in_last_i,
  output logic             out_valid_o,
  input  logic             out_ready_i,
  output logic [Width-1:0] out_data_o,
  output logic             err_o       // one cycle per malformed frame
);

  typedef enum logic [1:0] {
    Pass = 2'd0,  // forwarding the frame
    Pad  = 2'd1,  // tlast came early: zero beats up to Pixels
    Drop = 2'd2   // Pixels beats forwarded without tlast: drop up to tlast
  } mode_e;

  mode_e          mode_q;
  logic [PixW-1:0] pix_q;  // beats of this frame forwarded
  logic            last_pix, out_fire, in_fire;

  assign last_pix    = (pix_q == PixW'(Pixels - 1));
  assign out_valid_o = (mode_q == Pass) ? in_valid_i : (mode_q == Pad);
  assign out_data_o  = (mode_q == Pass) ? in_data_i : '0;
  assign in_ready_o  = (mode_q == Pass) ? out_ready_i : (mode_q == Drop);
  assign out_fire    = out_valid_o && out_ready_i;
  assign in_fire     = in_valid_i && in_ready_o;

  always_ff @(posedge clk_i) begin
    if (!srst_ni) begin
      mode_q <= Pass;
      pix_q  <= '0;
      err_o  <= 1'b0;
    end else begin
      err_o <= 1'b0;
      case (mode_q)
        Pass: begin
          if (out_fire) begin
            pix_q <= last_pix ? '0 : pix_q + PixW'(1);
            if (last_pix && !in_last_i) begin
              mode_q <= Drop;
              err_o  <= 1'b1;
            end else if (!last_pix && in_last_i) begin
              mode_q <= Pad;
              err_o  <= 1'b1;
            end
          end
        end
        Pad: begin
          if (out_fire) begin
            pix_q <= last_pix ? '0 : pix_q + PixW'(1);
            if (last_pix) mode_q <= Pass;
          end
        end
        default: begin  // Drop
          if (in_fire && in_last_i) mode_q <= Pass;
        end
      endcase
    end
  end

`ifdef FORMAL
  // Proved by sim/formal/frame_guard.sby (k-induction): whatever tlast does, every input frame
  // (ended by its tlast) gives exactly one output frame of Pixels beats, in step (frame counts
  // of both sides differ by at most the frame in flight); while passing, beats go through
  // unchanged; a stalled output beat stays offered unchanged (given an AXI-stable input).
  logic f_init = 1'b1;
  logic f_stall_q, f_in_stall_q, f_in_last_q;
  logic [Width-1:0] f_data_q, f_in_data_q;
  logic [3:0] f_in_frames_q, f_out_frames_q;
  always_ff @(posedge clk_i) begin
    f_init       <= 1'b0;
    f_stall_q    <= srst_ni && out_valid_o && !out_ready_i;
    f_data_q     <= out_data_o;
    f_in_stall_q <= srst_ni && in_valid_i && !in_ready_o;
    f_in_data_q  <= in_data_i;
    f_in_last_q  <= in_last_i;
    if (!srst_ni) begin
      f_in_frames_q  <= '0;
      f_out_frames_q <= '0;
    end else begin
      if (in_fire && in_last_i) f_in_frames_q <= f_in_frames_q + 4'd1;
      if (out_fire && last_pix) f_out_frames_q <= f_out_frames_q + 4'd1;
    end
  end
  always_comb begin
    if (f_init) assume (!srst_ni);
    if (!f_init && f_in_stall_q) begin
      assume (in_valid_i && in_data_i == f_in_data_q && in_last_i == f_in_last_q);
    end
    if (!f_init && srst_ni) begin
      assert (32'(pix_q) < Pixels);
      assert (mode_q == Pass || mode_q == Pad || mode_q == Drop);
      if (mode_q == Pass) begin
        assert (f_in_frames_q == f_out_frames_q);
        assert (out_valid_o == in_valid_i && out_data_o == in_data_i);
      end
      if (mode_q == Pad) assert (f_in_frames_q == f_out_frames_q + 4'd1 && pix_q != '0);
      if (mode_q == Drop) assert (f_out_frames_q == f_in_frames_q + 4'd1 && pix_q == '0);
      if (f_stall_q) assert (out_valid_o && out_data_o == f_data_q);
    end
  end
`endif

endmodule

`default_nettype wire
