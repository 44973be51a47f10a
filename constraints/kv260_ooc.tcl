# Sourced by the Vivado project that `fusesoc run --target=kv260` creates: synthesize the
# accelerator out of context (its ports are internal to a KV260 block design, not pins).
set_property -name {STEPS.SYNTH_DESIGN.ARGS.MORE OPTIONS} -value {-mode out_of_context} \
    -objects [get_runs synth_1]
