  stream_fifo #(.Width({{ width }}), .Depth({{ depth }})) u_fifo{{ i }} (
    .clk_i      (clk_i),
    .srst_ni    (rst_q[{{ rst }}]),
    .in_valid_i (core{{ i }}_valid),
    .in_ready_o (core{{ i }}_ready),
    .in_data_i  (core{{ i }}_data),
    .out_valid_o(core{{ next }}_in_valid),
    .out_ready_i(core{{ next }}_in_ready),
    .out_data_o (core{{ next }}_in_data)
  );

