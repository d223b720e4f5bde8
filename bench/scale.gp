# The plot of make bench-scale (tools/bench-scale.sh), four panels:
# throughput and peak memory as the concurrent flows grow, then as the
# capture grows.  One line per tool.
#
#   gnuplot -e "flows_tsv='build/bench/scale-flows.tsv'; \
#               packets_tsv='build/bench/scale-packets.tsv'; \
#               out_png='build/bench/scale.png'; tools='netmoon-csv-1thread bench-core-file'" \
#           bench/scale.gp
#
# Optional: flow_points, packet_points (the x values, for the tics),
# packet_flows (the flow count of the packet axis, for a title), subtitle.
# The TSVs are tools/bench-scale.sh's: a header line, then one row per point
# and tool; "-" marks a value that does not apply or a failed run.

if (!exists("flows_tsv")) flows_tsv = "build/bench/scale-flows.tsv"
if (!exists("packets_tsv")) packets_tsv = "build/bench/scale-packets.tsv"
if (!exists("out_png")) out_png = "build/bench/scale.png"
if (!exists("tools")) tools = "netmoon-csv-1thread netmoon-csv bench-core-file bench-core-burst minimal-tracker pcap-empty-loop"
if (!exists("flow_points")) flow_points = ""
if (!exists("packet_points")) packet_points = ""
if (!exists("packet_flows")) packet_flows = "100k"
if (!exists("subtitle")) subtitle = ""

# Columns of the TSVs.
C_FLOWS = 1; C_PACKETS = 2; C_TOOL = 5; C_MPPS = 7; C_RSS = 9
C_TABLE_MB = 16; C_ANON_MB = 17

set terminal pngcairo size 1800,1250 font "sans,11" noenhanced
set output out_png
set datafile separator "\t"
# Rows of other tools and "-" become NaN: treated as missing, so each tool's
# line joins its own points.
set datafile missing NaN

val(c) = (strcol(c) eq "-" || strcol(c) eq "") ? NaN : column(c)
is(t) = strcol(C_TOOL) eq t
x_of(t, c) = is(t) ? val(c) : NaN
# 1000 -> "1k", 4000000 -> "4M"
lbl(v) = v >= 1e6 ? gprintf("%g", v / 1e6) . "M" : (v >= 1e3 ? gprintf("%g", v / 1e3) . "k" : gprintf("%g", v))

# A fixed look per tool, whichever are present.
all_tools = "netmoon-csv-1thread netmoon-csv bench-core-file bench-core-burst minimal-tracker pcap-empty-loop"
colors = "#d62728 #ff7f0e #1f77b4 #17becf #2ca02c #7f7f7f"
tool_idx(t) = sum [k = 1:words(all_tools)] (word(all_tools, k) eq t ? k : 0)
color(t) = tool_idx(t) > 0 ? word(colors, tool_idx(t)) : "#000000"
ptype(t) = tool_idx(t) > 0 ? tool_idx(t) + 3 : 1

set multiplot layout 2,2 title "libnetmoon: scaling with concurrent flows and capture size\n" . subtitle font "sans,13"

set grid xtics ytics mytics lc rgb "#dddddd"
set logscale x 10
# Tools: peak RSS; the table lines: bench-core-file's connection table.
# Legends right of each panel: inside, they would hide points.
set key outside right top vertical Left reverse font "sans,10" samplen 2.5 spacing 1.2
set format x "%g"

# -- flows axis -------------------------------------------------------------

set xtics ()
if (strlen(flow_points) > 0) {
	unset xtics
	set xtics nomirror
	do for [p in flow_points] { set xtics add (lbl(p + 0) p + 0) }
} else {
	set format x "%.0s%c"
}
if (strlen(flow_points) > 0) {
	fmin = word(flow_points, 1) + 0; fmax = word(flow_points, words(flow_points)) + 0
	set xrange [fmin / 1.5 : fmax * 1.5]
} else {
	set autoscale x
}

set title "Throughput vs concurrent flows"
set xlabel "concurrent flows (log scale)"
set ylabel "M packets/s (median)"
unset logscale y
set yrange [0:*]
set format y "%g"
plot for [t in tools] flows_tsv using (x_of(t, C_FLOWS)):(val(C_MPPS)) \
	with linespoints lw 2 pt ptype(t) ps 1.2 lc rgb color(t) title t

set title "Memory vs concurrent flows\n(peak RSS counts the pages of a mapped capture)"
set ylabel "MB (log scale)"
set logscale y 10
set yrange [*:*]
plot for [t in tools] flows_tsv using (x_of(t, C_FLOWS)):(val(C_RSS)) \
	with linespoints lw 2 pt ptype(t) ps 1.2 lc rgb color(t) title t, \
	flows_tsv using (x_of("bench-core-file", C_FLOWS)):(val(C_TABLE_MB)) \
	with linespoints lw 1.5 dt 2 pt 6 lc rgb "#9467bd" title "table at the cap (reserved)", \
	flows_tsv using (x_of("bench-core-file", C_FLOWS)):(val(C_ANON_MB)) \
	with linespoints lw 1.5 dt 3 pt 8 lc rgb "#8c564b" title "heap + table (RssAnon)"

# -- packets axis -----------------------------------------------------------

set format x "%g"
if (strlen(packet_points) > 0) {
	unset xtics
	set xtics nomirror
	do for [p in packet_points] { set xtics add (lbl(p + 0) p + 0) }
	pmin = word(packet_points, 1) + 0; pmax = word(packet_points, words(packet_points)) + 0
	set xrange [pmin / 1.3 : pmax * 1.3]
} else {
	set xtics
	set format x "%.0s%c"
	set autoscale x
}

set title "Throughput vs packets in the capture (" . packet_flows . " concurrent flows)"
set xlabel "packets in the capture (log scale)"
set ylabel "M packets/s (median)"
unset logscale y
set yrange [0:*]
plot for [t in tools] packets_tsv using (x_of(t, C_PACKETS)):(val(C_MPPS)) \
	with linespoints lw 2 pt ptype(t) ps 1.2 lc rgb color(t) title t

set title "Memory vs packets in the capture (" . packet_flows . " concurrent flows)\n(peak RSS counts the pages of a mapped capture)"
set ylabel "MB (log scale)"
set logscale y 10
set yrange [*:*]
plot for [t in tools] packets_tsv using (x_of(t, C_PACKETS)):(val(C_RSS)) \
	with linespoints lw 2 pt ptype(t) ps 1.2 lc rgb color(t) title t, \
	packets_tsv using (x_of("bench-core-file", C_PACKETS)):(val(C_ANON_MB)) \
	with linespoints lw 1.5 dt 3 pt 8 lc rgb "#8c564b" title "heap + table (RssAnon)"

unset multiplot
