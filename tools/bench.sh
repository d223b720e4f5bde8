#!/bin/sh
# make bench: throughput and memory of libnetmoon against two baselines, on one
# synthetic capture.
#   tools/bench.sh BUILD_DIR
#
# Generates (once; cached under BUILD_DIR/bench/) a capture with netmoon-gen,
# puts it in the page cache, runs every tool NETMOON_BENCH_RUNS times, and
# prints one table (median run) that is also written to
# BUILD_DIR/bench/results.txt.  Each tool's own output is kept in
# BUILD_DIR/bench/logs/.
#
# Environment (all optional):
#   NETMOON_BENCH_PACKETS    packets in the capture (default 5000000)
#   NETMOON_BENCH_FLOWS      concurrent flows (default 150000)
#   NETMOON_BENCH_SEED       generator seed (default 1)
#   NETMOON_BENCH_RUNS       runs per tool, the median is reported (default 3)
#   NETMOON_BENCH_MAX_CONNS  connection table cap for libnetmoon (default 524288)
#   NETMOON_BENCH_FILE       benchmark this capture instead of a generated one
set -eu

build=${1:-build}
packets=${NETMOON_BENCH_PACKETS:-5000000}
flows=${NETMOON_BENCH_FLOWS:-150000}
seed=${NETMOON_BENCH_SEED:-1}
runs=${NETMOON_BENCH_RUNS:-3}
max_conns=${NETMOON_BENCH_MAX_CONNS:-524288}
dir=$build/bench
logs=$dir/logs
results=$dir/results.txt
gen=$build/bin/netmoon-gen

die() { echo "bench: $*" >&2; exit 1; }
. "$(dirname "$0")/bench-lib.sh"

mkdir -p "$logs"
rm -f "$logs"/*.log
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# --- the capture -------------------------------------------------------------

if [ -n "${NETMOON_BENCH_FILE:-}" ]; then
	capture=$NETMOON_BENCH_FILE
	[ -r "$capture" ] || die "NETMOON_BENCH_FILE=$capture is not readable"
	summary=
else
	[ -x "$gen" ] || die "$gen not built (run make bench, not this script alone)"
	capture=$dir/synthetic-n$packets-f$flows-s$seed.pcap
	summary=$capture.summary
	# Regenerate when missing or when the generator changed (new output).
	if [ ! -s "$capture" ] || [ ! -s "$summary" ] ||
		[ -n "$(find "$gen" -newer "$capture" 2>/dev/null)" ]; then
		rm -f "$capture" "$summary"
		need_kb=$((packets / 1000 * 1000 / 1024 + 1024))
		free_kb=$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')
		[ "${free_kb:-0}" -gt "$need_kb" ] ||
			die "about $((need_kb / 1024)) MiB needed in $dir for the capture, $((free_kb / 1024)) MiB free (set NETMOON_BENCH_PACKETS lower)"
		echo "bench: generating $capture ($packets packets, $flows concurrent flows, seed $seed)"
		"$gen" -n "$packets" -f "$flows" --seed "$seed" -o "$capture.tmp" --summary \
			2>"$summary.tmp" || die "netmoon-gen failed: $(cat "$summary.tmp")"
		mv "$summary.tmp" "$summary"
		mv "$capture.tmp" "$capture"
	fi
fi

# The same traffic with a SYN flood mixed in (about a quarter of the packets,
# each from a new source), unless NETMOON_BENCH_FLOOD=0 or a file was given.
flood=
if [ "${NETMOON_BENCH_FLOOD:-1}" = 1 ] && [ -n "$summary" ]; then
	flood=$dir/synthetic-n$packets-f$flows-s$seed-flood50.pcap
	if [ ! -s "$flood" ] || [ -n "$(find "$gen" -newer "$flood" 2>/dev/null)" ]; then
		rm -f "$flood"
		need_kb=$((packets / 1000 * 1000 / 1024 + 1024))
		free_kb=$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')
		[ "${free_kb:-0}" -gt "$need_kb" ] ||
			die "about $((need_kb / 1024)) MiB needed in $dir for the flood capture, $((free_kb / 1024)) MiB free (set NETMOON_BENCH_FLOOD=0 or NETMOON_BENCH_PACKETS lower)"
		echo "bench: generating $flood (the same with --flood-share 50)"
		"$gen" -n "$packets" -f "$flows" --seed "$seed" --flood-share 50 -o "$flood.tmp" \
			--summary 2>"$flood.summary" || die "netmoon-gen failed: $(cat "$flood.summary")"
		mv "$flood.tmp" "$flood"
	fi
	page_cache_load "$flood"
fi

file_bytes=$(wc -c <"$capture" | tr -d ' ')
mem_kb=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo 2>/dev/null || echo 0)
if [ "$((file_bytes / 1024))" -gt "${mem_kb:-0}" ]; then
	echo "bench: warning: the capture is larger than the available memory; results include disk reads" >&2
fi
# Every tool then reads from the page cache, never from the disk (and always
# from the same state: see page_cache_load in tools/bench-lib.sh).
page_cache_load "$capture"

# --- measuring ---------------------------------------------------------------

measure_with "$dir/rusage-run"

# Packets in the capture, for tools that do not count them (netmoon-csv).
if [ -n "$summary" ]; then
	file_packets=$(kv packets "$summary")
else
	file_packets=
fi

rows=$tmp/rows   # name|Mpps|ns/pkt|RSS MB|pps|best Mpps, or name|-|-|-|note
: >"$rows"
base_pps=

# run_once NAME TIMING RUN COMMAND...: one run; TIMING is "self" (the tool
# prints packets= and seconds=) or "wall" (whole process, file_packets packets).
run_once() {
	name=$1 timing=$2 run=$3
	shift 3
	[ ! -e "$tmp/$name.failed" ] || return 0
	log=$logs/$name.$run.log
	: >"$tmp/ru"
	if ! measure "$tmp/ru" "$@" >"$log" 2>&1; then
		cat "$tmp/ru" >>"$log"
		echo "failed: see $log" >"$tmp/$name.failed"
		echo "bench: $name failed (run $run): $(tail -n 3 "$log")" >&2
		return 0
	fi
	cat "$tmp/ru" >>"$log"
	if [ "$timing" = self ]; then
		p=$(kv packets "$log")
		s=$(kv seconds "$log")
	else
		p=$file_packets
		s=$(kv seconds "$tmp/ru")
	fi
	[ -n "$file_packets" ] || file_packets=$p
	echo "$p $s" | awk '$2 > 0 { printf "%.0f\n", $1 / $2 }' >>"$tmp/$name.pps"
	kv maxrss_kb "$tmp/ru" >>"$tmp/$name.rss"
}

# summarize NAME: the median run into the rows of the table.
summarize() {
	name=$1
	if [ -e "$tmp/$name.failed" ]; then
		echo "$name|-|-|-|$(cat "$tmp/$name.failed")" >>"$rows"
		return 0
	fi
	pps=$(median <"$tmp/$name.pps")
	rss=$(median <"$tmp/$name.rss")
	best=$(sort -g "$tmp/$name.pps" | tail -n 1 | awk '{ printf "%.2f", $1 / 1e6 }')
	if [ -z "$pps" ]; then
		echo "$name|-|-|-|no packet count: see $logs/$name.1.log" >>"$rows"
		return 0
	fi
	echo "$name|$(echo "$pps" | awk '{ printf "%.2f", $1 / 1e6 }')|$(echo "$pps" | awk '{ printf "%.1f", 1e9 / $1 }')|$(echo "$rss" | awk '$1 ~ /^[0-9]+$/ { printf "%.1f", $1 / 1024; next } { print "n/a" }')|$pps|$best" >>"$rows"
	[ "$name" != pcap-empty-loop ] || base_pps=$pps
}

have_pcap=0
[ -x "$dir/pcap-empty-loop" ] && have_pcap=1
have_csv=0
[ -x "$build/bin/netmoon-csv" ] && have_csv=1
tools="minimal-tracker bench-core-read bench-core-read-walker bench-core-file bench-core-file-burst"
tools="$tools bench-core-file-walker bench-core-mem bench-core-burst"
[ "$have_pcap" = 0 ] || tools="pcap-empty-loop pcap-empty-loop-1M $tools"
[ "$have_csv" = 0 ] || tools="$tools netmoon-csv-1thread netmoon-csv"
[ -z "$flood" ] || tools="$tools bench-core-file-flood"
[ -z "$flood" ] || [ "$have_csv" = 0 ] || tools="$tools netmoon-csv-flood"

# Round robin: a burst of load from elsewhere on the machine then costs one
# run of several tools rather than every run of one.
i=1
while [ "$i" -le "$runs" ]; do
	echo "bench: round $i of $runs"
	if [ "$have_pcap" = 1 ]; then
		run_once pcap-empty-loop self "$i" "$dir/pcap-empty-loop" "$capture"
		run_once pcap-empty-loop-1M self "$i" "$dir/pcap-empty-loop" -b 1048576 "$capture"
	fi
	run_once minimal-tracker self "$i" "$dir/minimal-tracker" "$capture"
	run_once bench-core-read self "$i" "$dir/bench-core" --mode read "$capture"
	run_once bench-core-read-walker self "$i" "$dir/bench-core" --mode read --mmap --read-thread \
		"$capture"
	run_once bench-core-file self "$i" "$dir/bench-core" --mode file --max-conns "$max_conns" "$capture"
	run_once bench-core-file-burst self "$i" "$dir/bench-core" --mode file-burst --burst 256 \
		--max-conns "$max_conns" "$capture"
	run_once bench-core-file-walker self "$i" "$dir/bench-core" --mode file-burst --burst 256 \
		--mmap --read-thread --max-conns "$max_conns" "$capture"
	run_once bench-core-mem self "$i" "$dir/bench-core" --mode mem --max-conns "$max_conns" "$capture"
	run_once bench-core-burst self "$i" "$dir/bench-core" --mode burst --burst 256 \
		--max-conns "$max_conns" "$capture"
	if [ "$have_csv" = 1 ]; then
		run_once netmoon-csv-1thread wall "$i" "$build/bin/netmoon-csv" --threads 1 \
			-r "$capture" -o /dev/null --max-conns "$max_conns"
		run_once netmoon-csv wall "$i" "$build/bin/netmoon-csv" -r "$capture" -o /dev/null \
			--max-conns "$max_conns"
	fi
	if [ -n "$flood" ]; then
		# A table of a quarter of the flows: the flood forces evictions.
		run_once bench-core-file-flood self "$i" "$dir/bench-core" --mode file \
			--max-conns $((max_conns / 4)) "$flood"
		[ "$have_csv" = 0 ] ||
			run_once netmoon-csv-flood wall "$i" "$build/bin/netmoon-csv" -r "$flood" \
				-o /dev/null --max-conns $((max_conns / 4))
	fi
	i=$((i + 1))
done

if [ "$have_pcap" = 0 ]; then
	echo "pcap-empty-loop|-|-|-|skipped: libpcap-dev not installed (apt-get install libpcap-dev, then make bench)" >>"$rows"
	echo "bench: skipped the libpcap baseline: install libpcap-dev (apt-get install libpcap-dev) and run make bench again" >&2
fi
for t in $tools; do
	summarize "$t"
done
[ "$have_csv" = 1 ] || echo "netmoon-csv|-|-|-|skipped: $build/bin/netmoon-csv not built" >>"$rows"

# --- the table ---------------------------------------------------------------

{
	echo "libnetmoon benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "machine: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) CPUs, Linux $(uname -r)"
	echo "compiler: $(${CC:-cc} --version 2>/dev/null | head -n 1)"
	printf 'capture: %s\n' "$capture"
	if [ -n "$summary" ]; then
		echo "  $(kv packets "$summary") packets, $(kv mean_frame "$summary") B mean frame, $(kv flows "$summary") flows ($(kv concurrent_flows "$summary") concurrent), $(kv tcp_flows "$summary") TCP / $(kv udp_flows "$summary") UDP, $((file_bytes / 1048576)) MiB"
	else
		echo "  $file_packets packets, $((file_bytes / 1048576)) MiB"
	fi
	echo "runs: $runs per tool, round robin; median shown (best run last); file in the page cache"
	echo
	printf '%-18s %12s %10s %12s %11s %12s\n' tool "M packets/s" ns/packet "peak RSS MB" "vs libpcap" "best M pkt/s"
	printf '%-18s %12s %10s %12s %11s %12s\n' ------------------ ------------ ---------- ------------ ----------- ------------
	while IFS='|' read -r name mpps ns rss extra best; do
		case "$extra" in
		[0-9]*)
			if [ -n "$base_pps" ]; then
				ratio=$(echo "$extra $base_pps" | awk '{ printf "%.2fx", $1 / $2 }')
			else
				ratio=-
			fi
			printf '%-18s %12s %10s %12s %11s %12s\n' "$name" "$mpps" "$ns" "$rss" "$ratio" "$best"
			;;
		*)
			printf '%-18s %s\n' "$name" "$extra"
			;;
		esac
	done <"$rows"
	# Issue 2: netmoon-csv at least as fast as the minimal tracker; issue 7:
	# one thread at 1.3 times it; issue 6: under a flood, at least half
	# the normal rate.
	echo
	for pair in "netmoon-csv minimal-tracker" "netmoon-csv-1thread minimal-tracker" \
		"netmoon-csv pcap-empty-loop" "netmoon-csv-flood netmoon-csv" \
		"bench-core-file-flood bench-core-file"; do
		set -- $pair
		a=$(awk -F'|' -v n="$1" '$1 == n { print $5 }' "$rows")
		b=$(awk -F'|' -v n="$2" '$1 == n { print $5 }' "$rows")
		case "$a.$b" in
		[0-9]*.[0-9]*)
			case $1 in *-flood) note=", flood table at a quarter of the cap" ;; *) note= ;; esac
			echo "$1 / $2 (median packets/s$note): $(echo "$a $b" | awk '{ printf "%.2f", $1 / $2 }')"
			;;
		esac
	done
	# The table's counters are the same in every run: show the last one's.
	last=$logs/bench-core-file.$runs.log
	if [ -f "$last" ] && grep -q 'entry_bytes=' "$last"; then
		echo
		echo "conntable (bench-core-file): entry_bytes=$(kv entry_bytes "$last") memory_bytes=$(kv memory_bytes "$last")" \
			"max_conns=$(kv max_conns "$last") peak=$(kv peak "$last") active=$(kv active "$last")" \
			"created=$(kv created "$last") evicted=$(kv evicted "$last") refused=$(kv refused "$last")" \
			"rss_anon_kb=$(kv rss_anon_kb "$last")"
	fi
} >"$tmp/table"

echo
cat "$tmp/table"
cp "$tmp/table" "$results"
echo
echo "bench: written to $results"
