  logic core{{ i }}_in_valid, core{{ i }}_in_ready, core{{ i }}_valid, core{{ i }}_ready;
  logic [{{ in_msb }}:0] core{{ i }}_in_data;
  logic [{{ out_msb }}:0] core{{ i }}_data;
  logic [31:0] core{{ i }}_busy, core{{ i }}_pairs, core{{ i }}_pixels;
  logic [{{ occ_msb }}:0] core{{ i }}_occ;
