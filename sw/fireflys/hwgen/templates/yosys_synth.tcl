# Yosys script of the generated core's {{ target }} target (Edalize's Yosys tool), rendered by
# fireflys.hwgen.corefile from fireflys.hwgen.flowcmds: the same synthesis commands as
# `fireflys build`. Run by a Tcl-enabled Yosys or by the yosys shim (fireflys.eda.yosys_shim,
# installed by `make setup`), which records the Yosys commands and runs them with YoWASP: Tcl
# only for paths and control flow, never for results of Yosys commands.
# Writes <name>.stat.json (stat -json) and <name>.json (the netlist).
yosys -import
source edalize_yosys_procs.tcl

# Edalize renders the file list as `read_verilog -sv {file}` lines; collect the paths.
# YoWASP's sandbox rejects `..` in paths, so they are made absolute.
set ::fireflys_srcs {}
proc read_verilog {args} { lappend ::fireflys_srcs [file normalize [lindex $args end]] }
read_files

set here [pwd]
read_slang -j 1 --top $top {*}$::fireflys_srcs
{{ commands }}
tee -q -o $here/$name.stat.json stat -json
write_json $here/$name.json
