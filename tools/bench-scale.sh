#!/bin/sh
# make bench-scale: how throughput and memory change as the number of
# concurrent flows grows (1 k to 4 M) and as the capture grows (1 M to 50 M
# packets).
#   tools/bench-scale.sh BUILD_DIR
#
# For every point it generates a capture with netmoon-gen (-s 128: at most
# 128 bytes of each frame are kept, the wire length is, as a live capture
# with snaplen 128 records them; that keeps even the 50 M-packet file, about
# 6 GiB, in the page cache), reads it once into the page cache, runs every
# tool NETMOON_SCALE_RUNS times round robin, keeps the median, and deletes
# the file.  Results:
#   OUT/scale-flows.tsv     one row per (flow count, tool)
#   OUT/scale-packets.tsv   one row per (packet count, tool)
#   OUT/scale-results.txt   the tables printed on standard output
#   OUT/scale.png           the plot (needs gnuplot: apt-get install gnuplot-nox)
#   OUT/scale/logs/         every run's output
# OUT is NETMOON_SCALE_OUT, by default BUILD_DIR/bench.
#
# Flow axis: a capture of max(MIN_PACKETS, 8 x flows) packets (at most
# MAX_PACKETS).  netmoon-gen keeps -f slots each holding an open flow and
# picks one at random per step; with 8 packets per slot every slot has been
# picked (with 4, about 5 % of 1 M slots never are), so the table really
# holds about that many connections at once.  Below 512 k flows the capture
# has MIN_PACKETS packets, so those points differ only by their flow count.
#
# Environment (all optional):
#   NETMOON_SCALE_FLOWS        flow counts (default "1k 4k 16k 64k 256k 1M 4M";
#                              k = 1000, M = 1000000; spaces or commas)
#   NETMOON_SCALE_PACKETS      packet counts (default "1M 2M 5M 10M 20M 50M")
#   NETMOON_SCALE_PACKET_FLOWS concurrent flows on the packet axis (default 100k)
#   NETMOON_SCALE_MIN_PACKETS  packets of a flow-axis capture, at least (default 4M)
#   NETMOON_SCALE_MAX_PACKETS  packets of a flow-axis capture, at most (default 40M)
#   NETMOON_SCALE_RUNS         runs per tool and point, median reported (default 3)
#   NETMOON_SCALE_SEED         generator seed (default 1)
#   NETMOON_SCALE_SNAPLEN      capture length of the generated frames (default 128)
#   NETMOON_SCALE_KEEP=1       keep the captures in OUT/scale/ (and reuse them)
#   NETMOON_SCALE_OUT          where results go (default BUILD_DIR/bench)
#   NETMOON_SCALE_QUICK=1      a tiny run to test the script: flows 1k 16k,
#                              packets 1M 2M, 1 M packets per flow point, 1 run
#
# Tools, each run the same way on every point (M: the table cap, the power of
# two at least 2 x flows and at least 524288):
#   netmoon-csv-1thread  netmoon-csv --threads 1 -r FILE -o /dev/null --max-conns M
#                     (wall clock; without --threads when netmoon-csv lacks it)
#   netmoon-csv       the same with --threads 2 (the default on 2 CPUs or more),
#                     when netmoon-csv has that option
#   bench-core-file   bench-core --mode file --max-conns M (open to last packet)
#   bench-core-burst  bench-core --mode burst --burst 256 --max-conns M (parse +
#                     track_burst over frame heads already in memory)
#   minimal-tracker   the baseline flow tracker (grows its table as needed)
#   pcap-empty-loop   libpcap reading the file, when built (libpcap-dev)
set -eu

build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
gp_script=$here/../bench/scale.gp
out=${NETMOON_SCALE_OUT:-$build/bench}
sdir=$out/scale
logs=$sdir/logs
gen=$build/bin/netmoon-gen
csv=$build/bin/netmoon-csv
bdir=$build/bench
flows_tsv=$out/scale-flows.tsv
packets_tsv=$out/scale-packets.tsv
results=$out/scale-results.txt
png=$out/scale.png

if [ "${NETMOON_SCALE_QUICK:-0}" = 1 ]; then
	d_flows="1k 16k" d_packets="1M 2M" d_min=1M d_runs=1
else
	d_flows="1k 4k 16k 64k 256k 1M 4M" d_packets="1M 2M 5M 10M 20M 50M" d_min=4M d_runs=3
fi
flow_list=${NETMOON_SCALE_FLOWS:-$d_flows}
packet_list=${NETMOON_SCALE_PACKETS:-$d_packets}
runs=${NETMOON_SCALE_RUNS:-$d_runs}
seed=${NETMOON_SCALE_SEED:-1}
snaplen=${NETMOON_SCALE_SNAPLEN:-128}
keep=${NETMOON_SCALE_KEEP:-0}

die() { echo "bench-scale: $*" >&2; exit 1; }
. "$(dirname "$0")/bench-lib.sh"
say() { echo "bench-scale: $*"; }

# to_num 4M -> 4000000 (k = 1000, M = 1000000, G = 1e9); fails on anything else.
to_num() {
	echo "$1" | awk '/^[0-9]+(\.[0-9]+)?[kKmMgG]?$/ {
		m = 1; s = substr($0, length($0))
		if (s ~ /[kK]/) m = 1e3; else if (s ~ /[mM]/) m = 1e6; else if (s ~ /[gG]/) m = 1e9
		printf "%.0f\n", ($0 + 0) * m; ok = 1 }
		END { exit !ok }'
}

# human 4000000 -> 4M, 100000 -> 100k, 1500 -> 1.5k
human() {
	echo "$1" | awk '{ v = $1 + 0
		if (v >= 1e9) { s = "G"; v /= 1e9 } else if (v >= 1e6) { s = "M"; v /= 1e6 } else if (v >= 1e3) { s = "k"; v /= 1e3 } else s = ""
		t = sprintf("%.1f", v); sub(/\.0$/, "", t); print t s }'
}

# num_list NAME "1k, 4k ..." -> "1000 4000 ..." (dies on a bad word)
num_list() {
	nl_out=
	for nl_w in $(echo "$2" | tr ',' ' '); do
		nl_v=$(to_num "$nl_w") || die "$1: '$nl_w' is not a count (use e.g. 1000, 16k or 4M)"
		[ "$nl_v" -gt 0 ] || die "$1: '$nl_w' must be above 0"
		nl_out="$nl_out $nl_v"
	done
	[ -n "$nl_out" ] || die "$1 is empty"
	echo "${nl_out# }"
}

flow_points=$(num_list NETMOON_SCALE_FLOWS "$flow_list")
packet_points=$(num_list NETMOON_SCALE_PACKETS "$packet_list")
packet_flows=$(num_list NETMOON_SCALE_PACKET_FLOWS "${NETMOON_SCALE_PACKET_FLOWS:-100k}")
min_packets=$(num_list NETMOON_SCALE_MIN_PACKETS "${NETMOON_SCALE_MIN_PACKETS:-$d_min}")
max_packets=$(num_list NETMOON_SCALE_MAX_PACKETS "${NETMOON_SCALE_MAX_PACKETS:-40M}")
case "$runs" in '' | *[!0-9]* | 0) die "NETMOON_SCALE_RUNS must be a positive number" ;; esac
case "$snaplen" in '' | *[!0-9]* | 0) die "NETMOON_SCALE_SNAPLEN must be a positive number" ;; esac

[ -x "$gen" ] || die "$gen not built (run make bench-scale, not this script alone)"
[ -x "$bdir/bench-core" ] || die "$bdir/bench-core not built (run make bench-scale)"

mkdir -p "$logs"
rm -f "$logs"/*.log
tmp=$(mktemp -d)
cur_file=
cleanup() {
	rm -rf "$tmp"
	# A capture being written or measured when interrupted is not kept.
	[ -z "$cur_file" ] || [ "$keep" = 1 ] || rm -f "$cur_file" "$cur_file.tmp" "$cur_file.summary"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- measuring (the same as tools/bench.sh) ------------------------------------

measure_with "$bdir/rusage-run"

# --- the tools -------------------------------------------------------------------

have_pcap=0
[ -x "$bdir/pcap-empty-loop" ] && have_pcap=1
have_csv=0
[ -x "$csv" ] && have_csv=1
# netmoon-csv --threads is new: use it only when this build has it.
# With it, two threads are its default on a machine of two CPUs or more: the
# netmoon-csv-1thread row then asks for one (--threads 1), netmoon-csv for two.
have_csv_threads=0
csv_one_thread=
if [ "$have_csv" = 1 ] && "$csv" --help 2>&1 | grep -q -e '--threads'; then
	have_csv_threads=1
	csv_one_thread="--threads 1"
fi
have_gnuplot=0
command -v gnuplot >/dev/null 2>&1 && have_gnuplot=1

tools=
[ "$have_csv" = 0 ] || tools="$tools netmoon-csv-1thread"
[ "$have_csv_threads" = 0 ] || tools="$tools netmoon-csv"
tools="$tools bench-core-file bench-core-burst"
[ ! -x "$bdir/minimal-tracker" ] || tools="$tools minimal-tracker"
[ "$have_pcap" = 0 ] || tools="$tools pcap-empty-loop"

# max_conns_for FLOWS: the power of two at least 2 x FLOWS, at least 524288.
max_conns_for() {
	mc=524288
	while [ "$mc" -lt $((2 * $1)) ]; do
		mc=$((mc * 2))
	done
	echo "$mc"
}

# run_once NAME TIMING RUN COMMAND...: one run of one tool on the current
# point.  TIMING: "self" (the tool prints packets= and seconds=) or "wall"
# (the whole process; the capture's packet count from the generator).
run_once() {
	ro_name=$1 ro_timing=$2 ro_run=$3
	shift 3
	[ ! -e "$ptmp/$ro_name.failed" ] || return 0
	ro_log=$logs/$point_id.$ro_name.$ro_run.log
	: >"$ptmp/ru"
	if ! measure "$ptmp/ru" "$@" >"$ro_log" 2>&1; then
		cat "$ptmp/ru" >>"$ro_log"
		echo "failed: see $ro_log" >"$ptmp/$ro_name.failed"
		echo "bench-scale: $ro_name failed ($point_id, run $ro_run): $(tail -n 3 "$ro_log")" >&2
		return 0
	fi
	cat "$ptmp/ru" >>"$ro_log"
	if [ "$ro_timing" = self ]; then
		ro_p=$(kv packets "$ro_log")
		ro_s=$(kv seconds "$ro_log")
	else
		ro_p=$cap_packets
		ro_s=$(kv seconds "$ptmp/ru")
	fi
	if [ -z "$ro_p" ] || [ -z "$ro_s" ]; then
		echo "failed: no packets= or seconds= in $ro_log" >"$ptmp/$ro_name.failed"
		return 0
	fi
	echo "$ro_p" >"$ptmp/$ro_name.packets"
	echo "$ro_p $ro_s" | awk '$2 > 0 { printf "%.0f\n", $1 / $2 }' >>"$ptmp/$ro_name.pps"
	kv maxrss_kb "$ptmp/ru" >>"$ptmp/$ro_name.rss"
	ro_anon=$(kv rss_anon_kb "$ro_log")
	[ -z "$ro_anon" ] || echo "$ro_anon" >>"$ptmp/$ro_name.anon"
	cp "$ro_log" "$ptmp/$ro_name.last"
}

tsv_header() {
	printf 'flows\tpackets\tfile_mb\tmax_conns\ttool\truns\tmpps\tns_per_packet\tpeak_rss_mb\tbest_mpps\tconns_peak\tconns_created\tevicted\trefused\tentry_bytes\ttable_mb\trss_anon_mb\tanon_bytes_per_conn\tnote\n'
}

# row TSV NAME: the median of NAME's runs on the current point, one TSV row.
row() {
	rw_tsv=$1 rw_name=$2
	rw_pre=$(printf '%s\t%s\t%s\t%s\t%s' "$pt_flows" "$pt_packets" "$file_mb" "$pt_max" "$rw_name")
	if [ -e "$ptmp/$rw_name.failed" ] || [ ! -s "$ptmp/$rw_name.pps" ]; then
		rw_note=$(cat "$ptmp/$rw_name.failed" 2>/dev/null || echo "no result")
		printf '%s\t0\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t%s\n' "$rw_pre" "$rw_note" >>"$rw_tsv"
		return 0
	fi
	rw_runs=$(wc -l <"$ptmp/$rw_name.pps" | tr -d ' ')
	rw_pps=$(median <"$ptmp/$rw_name.pps")
	rw_best=$(sort -g "$ptmp/$rw_name.pps" | tail -n 1)
	rw_rss=$(median <"$ptmp/$rw_name.rss")
	rw_note=-
	rw_got=$(cat "$ptmp/$rw_name.packets")
	[ "$rw_got" = "$cap_packets" ] || rw_note="read $rw_got of $cap_packets packets"
	rw_last=$ptmp/$rw_name.last
	if grep -q 'entry_bytes=' "$rw_last"; then
		# The table's counters are the same in every run; RssAnon is a median.
		rw_anon=$(median <"$ptmp/$rw_name.anon")
		rw_tab=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s' "$(kv peak "$rw_last")" \
			"$(kv created "$rw_last")" "$(kv evicted "$rw_last")" "$(kv refused "$rw_last")" \
			"$(kv entry_bytes "$rw_last")" "$(kv memory_bytes "$rw_last")" "$rw_anon")
		rw_tab=$(echo "$rw_tab" | awk -F'\t' -v OFS='\t' '{
			$6 = sprintf("%.1f", $6 / 1048576)
			per = $1 > 0 ? sprintf("%.0f", $7 * 1024 / $1) : "-"
			$7 = sprintf("%.1f", $7 / 1024)
			print $0, per }')
	else
		rw_tab=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' - - - - - - - -)
	fi
	echo "$rw_pps $rw_best $rw_rss" | awk -v pre="$rw_pre" -v runs="$rw_runs" -v tab="$rw_tab" \
		-v note="$rw_note" -v OFS='\t' '{
		rss = $3 ~ /^[0-9]+$/ ? sprintf("%.1f", $3 / 1024) : "-"
		print pre, runs, sprintf("%.3f", $1 / 1e6), sprintf("%.1f", 1e9 / $1), rss,
			sprintf("%.3f", $2 / 1e6), tab, note }' >>"$rw_tsv"
}

# skip_row TSV REASON: the point could not be measured.
skip_row() {
	printf '%s\t%s\t-\t%s\t-\t0\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t%s\n' "$pt_flows" "$pt_packets" \
		"$pt_max" "$2" >>"$1"
}

# point TSV AXIS FLOWS PACKETS: generate, measure, summarize, delete.
point() {
	pt_tsv=$1 pt_axis=$2 pt_flows=$3 pt_packets=$4
	pt_max=$(max_conns_for "$pt_flows")
	point_id=$pt_axis-f$pt_flows-n$pt_packets
	ptmp=$tmp/$point_id
	mkdir -p "$ptmp"
	file=$sdir/scale-n$pt_packets-f$pt_flows-s$seed-c$snaplen.pcap
	summary=$file.summary
	say "$pt_axis axis: $(human "$pt_flows") flows, $(human "$pt_packets") packets (table cap $pt_max)"

	# Room: the file on disk and in the page cache, the table (about 200
	# bytes per slot at the cap), 256 MiB to spare; and for bench-core-burst
	# its copy of the packets (the index, 24 bytes a packet, doubling, and
	# up to 128 bytes of each frame): without that, only its row is skipped.
	pt_rec=$((snaplen < 1518 ? snaplen + 16 : 1534))
	pt_file_kb=$((pt_packets * pt_rec / 1024 + 1024))
	pt_need_kb=$((pt_file_kb + pt_max * 200 / 1024 + 262144))
	pt_memmode_kb=$((pt_packets * 176 / 1024))
	pt_mem_kb=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo 2>/dev/null || echo 0)
	if [ "${pt_mem_kb:-0}" -lt "$pt_need_kb" ]; then
		pt_why="skipped: needs about $((pt_need_kb / 1024)) MiB of memory (capture in the page cache + table), $((pt_mem_kb / 1024)) MiB available"
		echo "bench-scale: $point_id $pt_why" >&2
		skip_row "$pt_tsv" "$pt_why"
		return 0
	fi
	if [ "$pt_mem_kb" -lt $((pt_need_kb + pt_memmode_kb)) ]; then
		pt_why="skipped: needs about $(((pt_need_kb + pt_memmode_kb) / 1024)) MiB of memory, $((pt_mem_kb / 1024)) MiB available"
		echo "bench-scale: $point_id: bench-core-burst $pt_why" >&2
		echo "$pt_why" >"$ptmp/bench-core-burst.failed"
	fi

	cur_file=$file
	if [ "$keep" = 1 ] && [ -s "$file" ] && [ -s "$summary" ] &&
		[ -z "$(find "$gen" -newer "$file" 2>/dev/null)" ]; then
		say "  reusing $file"
	else
		rm -f "$file" "$summary"
		pt_disk_kb=$(df -Pk "$sdir" | awk 'NR == 2 { print $4 }')
		if [ "${pt_disk_kb:-0}" -lt $((pt_file_kb + 262144)) ]; then
			pt_why="skipped: needs about $((pt_file_kb / 1024 + 256)) MiB free in $sdir, $((pt_disk_kb / 1024)) MiB free"
			echo "bench-scale: $point_id $pt_why" >&2
			skip_row "$pt_tsv" "$pt_why"
			cur_file=
			return 0
		fi
		"$gen" -n "$pt_packets" -f "$pt_flows" --seed "$seed" -s "$snaplen" -o "$file.tmp" \
			--summary 2>"$summary.tmp" || die "netmoon-gen failed: $(cat "$summary.tmp")"
		mv "$summary.tmp" "$summary"
		mv "$file.tmp" "$file"
	fi
	cap_packets=$(kv packets "$summary")
	file_mb=$(($(wc -c <"$file" | tr -d ' ') / 1048576))
	# Every tool then reads from the page cache, never from the disk; read
	# in one pass after dropping it, as tools/bench.sh does (how the cache
	# holds the file changes how fast a mapping of it reads).
	page_cache_load "$file"

	pt_i=1
	while [ "$pt_i" -le "$runs" ]; do
		# Round robin: a burst of load from elsewhere costs one run of
		# several tools rather than every run of one.
		if [ "$have_csv" = 1 ]; then
			# shellcheck disable=SC2086 # csv_one_thread: no word or two
			run_once netmoon-csv-1thread wall "$pt_i" "$csv" -r "$file" -o /dev/null --max-conns "$pt_max" \
				$csv_one_thread
		fi
		if [ "$have_csv_threads" = 1 ]; then
			run_once netmoon-csv wall "$pt_i" "$csv" -r "$file" -o /dev/null \
				--max-conns "$pt_max" --threads 2
		fi
		run_once bench-core-file self "$pt_i" "$bdir/bench-core" --mode file --max-conns "$pt_max" "$file"
		run_once bench-core-burst self "$pt_i" "$bdir/bench-core" --mode burst --burst 256 \
			--max-conns "$pt_max" "$file"
		[ ! -x "$bdir/minimal-tracker" ] ||
			run_once minimal-tracker self "$pt_i" "$bdir/minimal-tracker" "$file"
		[ "$have_pcap" = 0 ] ||
			run_once pcap-empty-loop self "$pt_i" "$bdir/pcap-empty-loop" "$file"
		pt_i=$((pt_i + 1))
	done
	for pt_t in $tools; do
		row "$pt_tsv" "$pt_t"
	done

	if [ "$keep" != 1 ]; then
		rm -f "$file" "$summary"
	fi
	cur_file=
	rm -rf "$ptmp"
}

# --- the runs --------------------------------------------------------------------

t_start=$(date +%s)
say "captures of netmoon-gen -s $snaplen: at most $snaplen bytes of each frame kept (wire length kept), as a live capture with snaplen $snaplen; so the largest stays in the page cache"
say "tools:$tools ($runs run(s) each per point, round robin, median)"
[ "$have_pcap" = 1 ] || say "no pcap-empty-loop: install libpcap-dev (apt-get install libpcap-dev) and run make bench-scale again"
[ "$have_csv_threads" = 1 ] || say "netmoon-csv has no --threads option: no netmoon-csv-1thread/netmoon-csv split"

tsv_header >"$tmp/flows.tsv"
for f in $flow_points; do
	n=$((8 * f))
	[ "$n" -ge "$min_packets" ] || n=$min_packets
	if [ "$n" -gt "$max_packets" ]; then
		n=$max_packets
		say "note: $(human "$f") flows get $(human "$n") packets (NETMOON_SCALE_MAX_PACKETS), fewer than 8 per flow: some flows may never start"
	fi
	point "$tmp/flows.tsv" flows "$f" "$n"
done
cp "$tmp/flows.tsv" "$flows_tsv"

tsv_header >"$tmp/packets.tsv"
for n in $packet_points; do
	point "$tmp/packets.tsv" packets "$packet_flows" "$n"
done
cp "$tmp/packets.tsv" "$packets_tsv"
[ "$keep" = 1 ] || rmdir "$sdir" 2>/dev/null || true
t_secs=$(($(date +%s) - t_start))

# --- the tables ------------------------------------------------------------------

# table TSV KEY: Mpps, peak RSS and the connection table per point; KEY is
# the column that changes along this axis (1: flows, 2: packets).
table() {
	awk -F'\t' -v key="$2" '
	function h(v,   s, t) {
		if (v == "-") return v
		if (v >= 1e9) { s = "G"; v /= 1e9 } else if (v >= 1e6) { s = "M"; v /= 1e6 } else if (v >= 1e3) { s = "k"; v /= 1e3 } else s = ""
		t = sprintf("%.1f", v); sub(/\.0$/, "", t); return t s
	}
	NR == 1 { next }
	{
		pt = $1 " " $2
		if (!(pt in seen)) { seen[pt] = 1; pts[++np] = pt; fl[np] = $1; pk[np] = $2; mb[np] = $3; cap[np] = $4 }
		if ($5 == "-") { skipped[pt] = $19; next }
		if (!($5 in seent)) { seent[$5] = 1; tl[++nt] = $5 }
		if ($7 == "-") {
			w = $19 ~ /^skipped/ ? "skipped" : "failed"
			cell[pt, $5] = w; rss[pt, $5] = w; note[pt, $5] = $19
		}
		else {
			cell[pt, $5] = sprintf("%.2f (%.0f)", $7, $8)
			rss[pt, $5] = $9
			if ($19 != "-") note[pt, $5] = $19
		}
		if ($5 == "bench-core-file" && $7 != "-")
			ct[pt] = sprintf("%10s %10s %9s %9s %8s %9s %9s %10s", h($11), h($12), $13, $14, $15, $16, $17, $18)
	}
	function head(title,   i) {
		printf "\n%s\n%-8s %-8s %8s", title, "flows", "packets", "file MB"
		for (i = 1; i <= nt; i++) printf " %16s", tl[i]
		printf "\n"
	}
	END {
		head("M packets/s (ns/packet), median")
		for (p = 1; p <= np; p++) {
			printf "%-8s %-8s %8s", h(fl[p]), h(pk[p]), mb[p]
			if (pts[p] in skipped) { printf " %s\n", skipped[pts[p]]; continue }
			for (i = 1; i <= nt; i++) printf " %16s", ((pts[p], tl[i]) in cell) ? cell[pts[p], tl[i]] : "-"
			printf "\n"
		}
		head("peak RSS MB (netmoon-csv: includes the mapped capture; bench-core-burst: a 128-byte copy of every frame)")
		for (p = 1; p <= np; p++) {
			printf "%-8s %-8s %8s", h(fl[p]), h(pk[p]), mb[p]
			if (pts[p] in skipped) { printf " skipped\n"; continue }
			for (i = 1; i <= nt; i++) printf " %16s", ((pts[p], tl[i]) in rss) ? rss[pts[p], tl[i]] : "-"
			printf "\n"
		}
		printf "\nconnection table (bench-core-file)\n%-8s %-8s %8s %10s %10s %9s %9s %8s %9s %9s %10s\n",
			"flows", "packets", "cap", "peak", "created", "evicted", "refused", "B/entry", "table MB", "anon MB", "anon B/conn"
		for (p = 1; p <= np; p++)
			if (pts[p] in ct) printf "%-8s %-8s %8s %s\n", h(fl[p]), h(pk[p]), cap[p], ct[pts[p]]
		for (p = 1; p <= np; p++)
			for (i = 1; i <= nt; i++)
				if ((pts[p], tl[i]) in note)
					printf "note: %s flows, %s packets, %s: %s\n", h(fl[p]), h(pk[p]), tl[i], note[pts[p], tl[i]]
	}' "$1"
}

{
	echo "libnetmoon scaling benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "machine: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) CPUs, $(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)"
	echo "captures: netmoon-gen --seed $seed -s $snaplen (caplen at most $snaplen bytes, wire length kept, as a live capture with snaplen $snaplen), in the page cache"
	echo "tools:$tools; $runs run(s) per tool and point, round robin, median shown"
	echo "table cap (--max-conns): the power of two at least 2 x flows, at least 524288"
	[ "$have_csv_threads" = 0 ] ||
		echo "netmoon-csv-1thread: --threads 1 (read(2) inline); netmoon-csv: --threads 2 (mapped file, records walked in a second thread)"
	echo
	echo "== throughput and memory as the concurrent flows grow (packets: max($(human "$min_packets"), 8 x flows), at most $(human "$max_packets"))"
	table "$flows_tsv" 1
	echo
	echo "== throughput and memory as the capture grows ($(human "$packet_flows") concurrent flows)"
	table "$packets_tsv" 2
	echo
	echo "run time: $((t_secs / 60)) min $((t_secs % 60)) s"
} >"$tmp/table"

echo
cat "$tmp/table"
cp "$tmp/table" "$results"
echo
say "written: $flows_tsv, $packets_tsv, $results"

# --- the plot --------------------------------------------------------------------

if [ "$have_gnuplot" = 0 ]; then
	say "gnuplot is not installed: no plot written; install it (apt-get install gnuplot-nox) and run make bench-scale again"
elif [ ! -r "$gp_script" ]; then
	say "$gp_script missing: no plot written"
else
	plot_tools=$(awk -F'\t' 'FNR > 1 && $5 != "-" && !seen[$5]++ { printf "%s ", $5 }' "$flows_tsv" "$packets_tsv")
	subtitle="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1 | tr -d "'\""), $(nproc) CPUs; captures with caplen $snaplen in the page cache; median of $runs run(s)"
	if gnuplot -e "flows_tsv='$flows_tsv'; packets_tsv='$packets_tsv'; out_png='$png'; tools='$plot_tools'; flow_points='$flow_points'; packet_points='$packet_points'; packet_flows='$(human "$packet_flows")'; subtitle='$subtitle'" \
		"$gp_script" 2>"$tmp/gnuplot.err"; then
		say "plot: $png"
	else
		echo "bench-scale: gnuplot failed: $(cat "$tmp/gnuplot.err")" >&2
	fi
fi
