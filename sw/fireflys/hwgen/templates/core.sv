  {{ module }} #(
    {{ params }}
  ) u_core{{ i }} (
    .clk_i       (clk_i),
    .srst_ni     (rst_q[{{ rst }}]),
    .in_valid_i  (core{{ i }}_in_valid),
    .in_ready_o  (core{{ i }}_in_ready),
    .in_data_i   (core{{ i }}_in_data),
    .out_valid_o (core{{ i }}_valid),
    .out_ready_i (core{{ i }}_ready),
    .out_data_o  (core{{ i }}_data),
    .cnt_busy_o  (core{{ i }}_busy),
    .cnt_pairs_o (core{{ i }}_pairs),
    .cnt_pixels_o(core{{ i }}_pixels),
    .cnt_occ_o   (core{{ i }}_occ)
  );
  assign tap_fire_o[{{ i }}] = core{{ i }}_valid && core{{ i }}_ready;

