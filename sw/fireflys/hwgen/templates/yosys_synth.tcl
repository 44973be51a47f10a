# Synthesis template for Edalize's Yosys tool (FuseSoC targets synth and pnr_ecp5).
# Run by a Tcl-enabled Yosys or by the repo's yosys shim (fireflys.yosys_shim, installed by
# `make setup`), which records the Yosys commands and runs them with YoWASP: use Tcl only for
# paths and control flow, never for results of Yosys commands.
#
# Reads every SystemVerilog file with yosys-slang (the classic frontend miscompiles parts of
# SystemVerilog), keeps the hierarchy so resources can be reported per core, runs
# synth_<arch> with the target's options, then writes statistics and netlists:
#   <name>.stat.json  stat -json per module   <name>.json    netlist (nextpnr input)
#   <name>.stat.txt   the same as text        <name>_syn.v   netlist as Verilog (gate-level sim)
yosys -import
source edalize_yosys_procs.tcl

# Edalize renders the file list as `read_verilog -sv {file}` lines; collect the paths.
# YoWASP's sandbox rejects `..` in paths, so they are made absolute.
set ::fireflys_srcs {}
proc read_verilog {args} { lappend ::fireflys_srcs [file normalize [lindex $args end]] }
read_files

set here [pwd]
read_slang -j 1 --keep-hierarchy --top $top {*}$::fireflys_srcs
hierarchy -check -top $top
synth $top
tee -q -o $here/$name.stat.json stat -json
tee -q -o $here/$name.stat.txt stat
write_json $here/$name.json
write_verilog -noattr $here/${name}_syn.v
