#!/bin/sh
# make bench-live: live capture under a packet blast, between two network
# namespaces joined by a veth pair, nothing else on the wire.
#   tools/bench-live.sh BUILD_DIR
#
# netsniff-ng's trafgen (two processes) sends 64-byte UDP frames with random
# source ports from namespace B; in namespace A one capturing tool at a time
# listens on the veth: libnetmoon's monitor with one thread and with two
# (bench-live, parse + track every packet), two one-thread workers in a
# PACKET_FANOUT hash group (each its own ring and table), and `tcpdump -s 128 -w
# /dev/null` for comparison.  For each: frames sent, frames seen, kernel
# drops, and the capturing process's CPU time per frame (user + system, all
# threads).  Median of NETMOON_BENCH_LIVE_RUNS runs (default 3); the table is
# also written to BUILD_DIR/bench/live-results.txt.
#
# Environment: NETMOON_BENCH_LIVE_PACKETS frames per trafgen process (default
# 2000000), NETMOON_BENCH_LIVE_RUNS (default 3).
set -eu

build=${1:-build}
per=${NETMOON_BENCH_LIVE_PACKETS:-2000000}
runs=${NETMOON_BENCH_LIVE_RUNS:-3}
dir=$build/bench
tool=$dir/bench-live
ru=$dir/rusage-run

die() { echo "bench-live: $*" >&2; exit 1; }
. "$(dirname "$0")/bench-lib.sh"

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, raw sockets)"
command -v trafgen >/dev/null 2>&1 || die "trafgen not found: apt-get install netsniff-ng"
command -v tcpdump >/dev/null 2>&1 || die "tcpdump not found: apt-get install tcpdump"
[ -x "$tool" ] && [ -x "$ru" ] || die "$tool not built (run make bench-live)"

nsa=nmbench-a-$$
nsb=nmbench-b-$$
tmp=$(mktemp -d)
cleanup() {
	for p in $(jobs -p); do kill "$p" 2>/dev/null || :; done
	ip netns del "$nsa" 2>/dev/null || :
	ip netns del "$nsb" 2>/dev/null || :
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$nsa" || die "cannot create network namespaces"
ip netns add "$nsb"
ip link add vbA netns "$nsa" type veth peer name vbB netns "$nsb"
ip -n "$nsa" link set vbA up
ip -n "$nsb" link set vbB up
mac=$(ip -n "$nsa" link show vbA | awk '/link\/ether/ { print $2 }')
cat >"$tmp/udp.cfg" <<EOF
{
  eth(da=$mac, sa=02:00:00:00:00:02),
  ipv4(saddr=10.88.0.2, daddr=10.88.0.1, proto=17),
  udp(sp=drnd(), dp=9),
  fill(0x41, 18)
}
EOF

wait_for() { # FILE TEXT: wait up to 5 s for TEXT in FILE
	_w=0 # not i: sh functions share the caller's variables
	while ! grep -q "$2" "$1" 2>/dev/null; do
		_w=$((_w + 1))
		[ "$_w" -le 100 ] || return 1
		sleep 0.05
	done
}

# blast: two trafgen processes; prints the rate in M frames/s
blast() {
	t0=$(date +%s.%N)
	ip netns exec "$nsb" trafgen --dev vbB --conf "$tmp/udp.cfg" -n "$per" -q --cpus 1 >/dev/null 2>&1 &
	p1=$!
	ip netns exec "$nsb" trafgen --dev vbB --conf "$tmp/udp.cfg" -n "$per" -q --cpus 1 >/dev/null 2>&1 &
	p2=$!
	wait "$p1" "$p2"
	t1=$(date +%s.%N)
	echo "$t0 $t1" | awk -v n="$((per * 2))" '{ printf "%.2f", n / ($2 - $1) / 1e6 }'
}

rx_packets() { ip -n "$nsa" -s link show vbA | awk '/RX:/ { getline; print $2; exit }'; }

# one_run NAME: one capture under one blast; appends "name|sent|seen|drops|cpu_ns|mpps"
one_run() {
	name=$1
	log=$tmp/$name.log
	rx0=$(rx_packets)
	case "$name" in
	netmoon-1thread | netmoon-2threads | netmoon-fanout2)
		case $name in
		netmoon-1thread) bl_args="--threads 1" ;;
		netmoon-2threads) bl_args="--threads 2" ;;
		*) bl_args="--workers 2" ;;
		esac
		# shellcheck disable=SC2086 # two words on purpose
		ip netns exec "$nsa" "$tool" $bl_args vbA >"$log.out" 2>"$log" &
		pid=$!
		wait_for "$log" ready || die "$name did not start: $(cat "$log")"
		;;
	tcpdump)
		ip netns exec "$nsa" "$ru" -o "$log.ru" tcpdump -i vbA -p -s 128 -n -w /dev/null \
			>"$log.out" 2>"$log" &
		pid=$!
		wait_for "$log" "listening on" || die "tcpdump did not start: $(cat "$log")"
		;;
	esac
	mpps=$(blast)
	sleep 0.5
	rx1=$(rx_packets)
	if [ "$name" = tcpdump ]; then
		pkill -INT -f "tcpdump -i vbA -p -s 128" || :
	else
		kill -INT "$pid"
	fi
	wait "$pid" || :
	sent=$((rx1 - rx0))
	case "$name" in
	tcpdump)
		seen=$(awk '/packets captured/ { print $1 }' "$log")
		drops=$(awk '/dropped by kernel/ { print $1 }' "$log")
		cpu=$(awk '{ for (i = 1; i <= NF; i++) { if ($i ~ /^user=/) u = substr($i, 6); if ($i ~ /^sys=/) s = substr($i, 5) } } END { print u + s }' "$log.ru")
		;;
	*)
		seen=$(kv packets "$log.out")
		drops=$(kv kernel_dropped "$log.out")
		cpu=$(kv cpu_seconds "$log.out")
		;;
	esac
	ns=$(echo "$cpu ${seen:-0}" | awk '$2 > 0 { printf "%.1f", $1 * 1e9 / $2; exit } { print "-" }')
	echo "$name|$sent|${seen:--}|${drops:--}|$ns|$mpps" >>"$tmp/rows"
}

: >"$tmp/rows"
i=1
while [ "$i" -le "$runs" ]; do
	echo "bench-live: round $i of $runs" >&2
	for t in netmoon-1thread netmoon-2threads netmoon-fanout2 tcpdump; do
		one_run "$t"
	done
	i=$((i + 1))
done

{
	echo "libnetmoon live benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "machine: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) CPUs, Linux $(uname -r)"
	echo "traffic: 2 trafgen processes x $per 64-byte UDP frames, random source ports, over a veth pair"
	echo "runs: $runs per tool, round robin; median by CPU ns/frame"
	echo
	printf '%-18s %10s %10s %10s %14s %12s\n' tool "frames in" captured "kernel drop" "CPU ns/frame" "blast Mpps"
	printf '%-18s %10s %10s %10s %14s %12s\n' ------------------ ---------- ---------- ---------- -------------- ------------
	for t in netmoon-1thread netmoon-2threads netmoon-fanout2 tcpdump; do
		grep "^$t|" "$tmp/rows" | sort -t'|' -k5 -g | awk -F'|' -v n="$runs" '
			{ row[NR] = $0 }
			END { split(row[int((NR + 1) / 2)], f, "|")
			      printf "%-18s %10s %10s %10s %14s %12s\n", f[1], f[2], f[3], f[4], f[5], f[6] }'
	done
	echo
	echo "all runs (tool|frames in|captured|kernel drop|CPU ns/frame|blast Mpps):"
	cat "$tmp/rows"
} >"$tmp/table"
mkdir -p "$dir"
cp "$tmp/table" "$dir/live-results.txt"
cat "$tmp/table"
echo "bench-live: written to $dir/live-results.txt"
