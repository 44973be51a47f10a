# Kria KV260 (K26 SOM, xczu5ev-sfvc784-2-i): timing constraints for the generated
# accelerator top `fireflys_top`, synthesized out of context (see kv260_ooc.tcl).
#
# The accelerator is a PL block: in a board design its AXI-Stream ports connect to an AXI
# DMA and its clock comes from the PS (pl_clk0), so no package pins are assigned here.
# Target clock: 333 MHz, the frequency FireFly-S reports on the same device.
create_clock -period 3.000 -name clk [get_ports clk_i]

# Out-of-context I/O: the ports are driven and captured by registers of the surrounding
# design (DMA / interconnect), budgeted at a third of the period each way.
set_input_delay  -clock clk 1.000 [get_ports -filter {DIRECTION == IN && NAME != clk_i}]
set_output_delay -clock clk 1.000 [get_ports -filter {DIRECTION == OUT}]
