#!/bin/sh
# Live-capture tests for netmoon-csv, in two network namespaces joined by a
# veth pair.
#
#   sh tests/check-live.sh [BUILD_DIR]        (BUILD_DIR defaults to build)
#
# Traffic that the harness knows exactly is sent from namespace B to A while
# tcpdump (the reference) and `netmoon-csv -i vethA` capture in A.  The rows
# of the live capture must equal, flow by flow, the rows `netmoon-csv -r`
# makes from tcpdump's file (the file path is corpus-tested), and both must
# show the numbers the traffic generator is known to produce.
#
# Exit status: 0 all checks passed, 1 some failed, 77 skipped (not root, no
# network namespaces, no tcpdump, no netmoon-csv, no C compiler, or a
# netmoon-csv without live capture: then the checks that need no `-i` still
# run and a failure among them still gives 1).
#
# Nothing is left behind: an EXIT/INT/TERM trap kills every process started
# here and deletes both namespaces (and with them the veth pair).
# Set CHECK_LIVE_KEEP=1 to keep the temporary directory for inspection.

set -u

BUILD=${1:-build}
SRCDIR=$(cd "$(dirname "$0")" && pwd)

skip() {
	echo "check-live: skipped: $*"
	exit 77
}

[ "$(id -u)" = 0 ] || skip "not root"
command -v tcpdump >/dev/null 2>&1 || skip "tcpdump is missing"
[ -x "$BUILD/bin/netmoon-csv" ] || skip "$BUILD/bin/netmoon-csv does not exist"
NETMOON_CSV=$(cd "$BUILD/bin" && pwd)/netmoon-csv
command -v ip >/dev/null 2>&1 || skip "ip (iproute2) is missing"
CC=${CC:-cc}
set -- $CC
command -v "$1" >/dev/null 2>&1 || skip "no C compiler ($CC)"

NSA=netmoon-live-a-$$
NSB=netmoon-live-b-$$
made_a=0
made_b=0
pids=""
T=""

# ---------------------------------------------------------------- cleanup
alive() {
	[ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

cleanup() {
	trap - EXIT INT TERM
	for p in $pids; do
		kill "$p" 2>/dev/null
	done
	# everything still running inside our namespaces was started here
	for ns in $NSA $NSB; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill "$p" 2>/dev/null
		done
	done
	for p in $pids; do
		i=0
		while alive "$p" && [ $i -lt 20 ]; do
			nap
			i=$((i + 1))
		done
		alive "$p" && kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	[ $made_a = 1 ] && ip netns del "$NSA" 2>/dev/null
	[ $made_b = 1 ] && ip netns del "$NSB" 2>/dev/null
	if [ -n "$T" ]; then
		if [ "${CHECK_LIVE_KEEP:-0}" = 1 ]; then
			echo "check-live: files kept in $T"
		else
			rm -rf "$T"
		fi
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- results
npass=0
nfail=0
ok() {
	npass=$((npass + 1))
	echo "ok - $*"
}
notok() {
	nfail=$((nfail + 1))
	echo "not ok - $*"
}
# check DESCRIPTION COMMAND...: ok when COMMAND succeeds
check() {
	_d=$1
	shift
	if "$@"; then ok "$_d"; else notok "$_d"; fi
}
summary() {
	echo "check-live: $npass passed, $nfail failed"
}
fatal() {
	notok "$*"
	summary
	exit 1
}
# show FILE: a file's content as diagnostics
show() {
	[ -s "$1" ] && sed 's/^/#   /' "$1" | head -n 40
	return 0
}

# ---------------------------------------------------------------- helpers
nap() {
	sleep 0.1 2>/dev/null || sleep 1
}
# wait_grep FILE PATTERN TENTHS [PID]: wait until FILE contains PATTERN
# (giving up early when process PID has ended)
wait_grep() {
	_i=0
	while [ $_i -lt "$3" ]; do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		[ $# -ge 4 ] && ! alive "$4" && return 1
		nap
		_i=$((_i + 1))
	done
	return 1
}
# wait_exit PID TENTHS: wait for a background job; its status goes to $rc
# (124 when it had to be killed).
wait_exit() {
	_i=0
	while alive "$1"; do
		if [ $_i -ge "$2" ]; then
			kill -KILL "$1" 2>/dev/null
			wait "$1" 2>/dev/null
			rc=124
			return 1
		fi
		nap
		_i=$((_i + 1))
	done
	wait "$1"
	rc=$?
	return 0
}
inA() { ip netns exec "$NSA" "$@"; }
inB() { ip netns exec "$NSB" "$@"; }
# promiscuity NS IFACE: the kernel's promiscuity counter of an interface
promiscuity() {
	ip -d -n "$1" link show dev "$2" | sed -n 's/.* promiscuity \([0-9]*\).*/\1/p'
}
no_promisc_flag() {
	! ip -n "$1" link show dev "$2" | grep -q 'PROMISC'
}
mac_of() {
	ip -n "$1" -o link show dev "$2" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'
}

# ---------------------------------------------------------------- setup
T=$(mktemp -d "${TMPDIR:-/tmp}/check-live.XXXXXX") || fatal "mktemp"
chmod 755 "$T"

ip netns add "$NSA" 2>"$T/netns.err" || skip "ip netns add failed: $(head -n 1 "$T/netns.err")"
made_a=1
ip netns add "$NSB" 2>"$T/netns.err" || fatal "ip netns add $NSB: $(head -n 1 "$T/netns.err")"
made_b=1

setup() {
	ip -n "$NSA" link add vethA type veth peer name vethB netns "$NSB" || return 1
	# Quiet links: no DAD, no router solicitations, MLD reports only right
	# at link-up, static neighbours (no ARP/ND); the captures then see only
	# the traffic sent below.
	for _ns in "$NSA:vethA" "$NSB:vethB"; do
		_n=${_ns%%:*}
		_if=${_ns#*:}
		ip netns exec "$_n" sh -c "
			c=/proc/sys/net/ipv6/conf/$_if
			echo 0 > \$c/accept_dad
			echo 0 > \$c/dad_transmits
			echo 0 > \$c/router_solicitations
			echo 1 > \$c/mldv1_unsolicited_report_interval
			echo 1 > \$c/mldv2_unsolicited_report_interval
		" 2>/dev/null
	done
	ip -n "$NSA" addr add 10.77.0.1/24 dev vethA &&
	ip -n "$NSA" addr add fd77::1/64 dev vethA nodad &&
	ip -n "$NSB" addr add 10.77.0.2/24 dev vethB &&
	ip -n "$NSB" addr add fd77::2/64 dev vethB nodad &&
	ip -n "$NSA" link set lo up &&
	ip -n "$NSB" link set lo up &&
	ip -n "$NSA" link set vethA up &&
	ip -n "$NSB" link set vethB up || return 1
	_maca=$(mac_of "$NSA" vethA)
	_macb=$(mac_of "$NSB" vethB)
	[ -n "$_maca" ] && [ -n "$_macb" ] || return 1
	ip -n "$NSA" neigh replace 10.77.0.2 lladdr "$_macb" dev vethA nud permanent &&
	ip -n "$NSA" neigh replace fd77::2 lladdr "$_macb" dev vethA nud permanent &&
	ip -n "$NSB" neigh replace 10.77.0.1 lladdr "$_maca" dev vethB nud permanent &&
	ip -n "$NSB" neigh replace fd77::1 lladdr "$_maca" dev vethB nud permanent
}
setup >"$T/setup.log" 2>&1 || { show "$T/setup.log"; fatal "namespaces, veth pair and addresses"; }
ok "namespaces $NSA and $NSB, veth pair, addresses"

TRAFFIC=$T/traffic
# shellcheck disable=SC2086
$CC -O2 -o "$TRAFFIC" "$SRCDIR/live/traffic.c" >"$T/cc.log" 2>&1 ||
	{ show "$T/cc.log"; fatal "build tests/live/traffic.c with $CC"; }
ok "build tests/live/traffic.c"

# ---------------------------------------------------------------- awk
# lib.awk: column lookup by name from the header line.
cat >"$T/lib.awk" <<'EOF'
function f(name) {
	if (!(name in col)) {
		print "# no column " name " in " FILENAME > "/dev/stderr"
		bad = 1
		exit 3
	}
	return $col[name]
}
FNR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
EOF
# flows.awk: one line per 4-tuple (proto, ip version, vlan, addresses,
# ports): rows, then packets and wire bytes in both directions, summed.
cat >"$T/flows.awk" <<'EOF'
{
	k = f("proto") " v" f("ip_version") " vlan=" f("vlan") " " f("orig_addr") "." f("orig_port") " > " f("resp_addr") "." f("resp_port")
	rows[k]++
	op[k] += f("orig_pkts"); ob[k] += f("orig_bytes")
	rp[k] += f("resp_pkts"); rb[k] += f("resp_bytes")
}
END {
	if (bad) exit 3
	for (k in rows)
		printf "%s rows=%d orig_pkts=%d orig_bytes=%d resp_pkts=%d resp_bytes=%d\n", k, rows[k], op[k], ob[k], rp[k], rb[k]
}
EOF
# rows.awk: one line per row with every column but the timestamps and RTTs.
cat >"$T/rows.awk" <<'EOF'
{
	printf "%s v%s vlan=%s %s.%s > %s.%s guessed=%s %s %s %s", f("proto"), f("ip_version"), f("vlan"), f("orig_addr"), f("orig_port"), f("resp_addr"), f("resp_port"), f("dir_guessed"), f("state"), f("conn_state"), f("history")
	printf " orig=%s/%s/%s/%s resp=%s/%s/%s/%s\n", f("orig_pkts"), f("orig_bytes"), f("orig_ip_bytes"), f("orig_payload_bytes"), f("resp_pkts"), f("resp_bytes"), f("resp_ip_bytes"), f("resp_payload_bytes")
}
END { if (bad) exit 3 }
EOF
# count.awk: how many rows match the condition given in -v cond=NAME
# (conditions below); prints the count.
cat >"$T/count.awk" <<'EOF'
function match_row() {
	if (cond == "tcp4_big")	# the 1,000,000-byte transfer over IPv4
		return f("proto") == "tcp" && f("ip_version") == 4 && f("vlan") == "" && f("orig_addr") == "10.77.0.2" && f("resp_addr") == "10.77.0.1" && f("resp_port") == 5001 && f("dir_guessed") == 0 && f("orig_payload_bytes") == 1000000 && f("resp_payload_bytes") == 0
	if (cond == "tcp4_short")	# one of the 20 connections of 100 bytes
		return f("proto") == "tcp" && f("ip_version") == 4 && f("vlan") == "" && f("orig_addr") == "10.77.0.2" && f("resp_addr") == "10.77.0.1" && f("resp_port") == 5001 && f("dir_guessed") == 0 && f("orig_payload_bytes") == 100 && f("resp_payload_bytes") == 0
	if (cond == "tcp4_port")	# any row to the IPv4 sink port
		return f("proto") == "tcp" && (f("resp_port") == 5001 || f("orig_port") == 5001)
	if (cond == "udp")		# 50 datagrams of 200 bytes: 242-byte frames
		return f("proto") == "udp" && f("ip_version") == 4 && f("vlan") == "" && f("orig_addr") == "10.77.0.2" && f("resp_addr") == "10.77.0.1" && f("resp_port") == 5002 && f("orig_pkts") == 50 && f("orig_payload_bytes") == 10000 && f("orig_ip_bytes") == 11400 && f("orig_bytes") == 12100 && f("resp_pkts") == 0
	if (cond == "udp_port")
		return f("proto") == "udp" && (f("resp_port") == 5002 || f("orig_port") == 5002)
	if (cond == "icmp")		# 5 echoes of 56 data bytes: 98-byte frames
		return f("proto") == "icmp" && f("ip_version") == 4 && f("vlan") == "" && f("orig_addr") == "10.77.0.2" && f("resp_addr") == "10.77.0.1" && f("orig_pkts") == 5 && f("resp_pkts") == 5 && f("orig_bytes") == 490 && f("resp_bytes") == 490
	if (cond == "icmp_any")
		return f("proto") == "icmp"
	if (cond == "icmp_n")		# n echoes and n replies (-v want=N)
		return f("proto") == "icmp" && f("orig_addr") == "10.77.0.2" && f("resp_addr") == "10.77.0.1" && f("orig_pkts") == want && f("resp_pkts") == want
	if (cond == "tcp6_big")	# the 1,000,000-byte transfer over IPv6
		return f("proto") == "tcp" && f("ip_version") == 6 && f("vlan") == "" && f("orig_addr") == "fd77::2" && f("resp_addr") == "fd77::1" && f("resp_port") == 5003 && f("dir_guessed") == 0 && f("orig_payload_bytes") == 1000000 && f("resp_payload_bytes") == 0
	if (cond == "tcp6_port")
		return f("proto") == "tcp" && (f("resp_port") == 5003 || f("orig_port") == 5003)
	if (cond == "vlan42")		# 10 tagged frames of 110 bytes (tag included)
		return f("vlan") == "42" && f("proto") == "udp" && f("ip_version") == 4 && f("orig_addr") == "10.77.5.1" && f("orig_port") == 40000 && f("resp_addr") == "10.77.5.2" && f("resp_port") == 40001 && f("orig_pkts") == 10 && f("orig_bytes") == 1100 && f("orig_ip_bytes") == 920 && f("orig_payload_bytes") == 640 && f("resp_pkts") == 0
	if (cond == "vlan_any")
		return f("vlan") != ""
	if (cond == "any")
		return 1
	print "# unknown condition " cond > "/dev/stderr"
	bad = 1
	exit 3
}
{ if (match_row()) n++ }
END { if (bad) exit 3; print n + 0 }
EOF

# count FILE COND [N]: number of rows of FILE matching COND
count() {
	awk -F, -v cond="$2" -v want="${3:-0}" -f "$T/lib.awk" -f "$T/count.awk" "$1"
}
# expect_count LABEL FILE COND[:N] COUNT DESCRIPTION
expect_count() {
	_n=$(count "$2" "${3%%:*}" "$(echo "$3" | sed -n 's/.*://p')")
	if [ "$_n" = "$4" ]; then
		ok "$1: $5"
	else
		notok "$1: $5 (found ${_n:-error} matching rows, expected $4)"
	fi
}
# known LABEL FILE: the numbers the traffic generator is known to produce
known() {
	if ! [ -s "$2" ] || ! head -n 1 "$2" | grep -q '^ts_first,'; then
		notok "$1: $2 is a CSV with a header"
		return
	fi
	expect_count "$1" "$2" tcp4_big 1 "one IPv4 TCP flow 10.77.0.2 -> 10.77.0.1:5001 with orig_payload_bytes 1000000"
	expect_count "$1" "$2" tcp4_short 20 "20 short IPv4 TCP flows to port 5001 with orig_payload_bytes 100"
	expect_count "$1" "$2" tcp4_port 21 "21 TCP rows in all for port 5001"
	expect_count "$1" "$2" udp 1 "one UDP flow to port 5002: 50 packets, 12100 wire / 11400 IP / 10000 payload bytes"
	expect_count "$1" "$2" udp_port 1 "one UDP row in all for port 5002"
	expect_count "$1" "$2" icmp 1 "one ICMP flow: 5 echoes and 5 replies of 98 bytes"
	expect_count "$1" "$2" icmp_any 1 "one ICMP row in all"
	expect_count "$1" "$2" tcp6_big 1 "one IPv6 TCP flow fd77::2 -> fd77::1:5003 with orig_payload_bytes 1000000"
	expect_count "$1" "$2" tcp6_port 1 "one TCP row in all for port 5003"
	expect_count "$1" "$2" vlan42 1 "vlan 42: one UDP flow 10.77.5.1:40000 -> 10.77.5.2:40001, 10 packets, 1100 wire bytes"
	expect_count "$1" "$2" vlan_any 1 "no other tagged rows"
}
# same_flows LABEL REF.csv OTHER.csv: per 4-tuple packets and wire bytes equal
same_flows() {
	if ! [ -s "$3" ]; then
		notok "$1: per-flow comparison ($3 is missing or empty)"
		return
	fi
	awk -F, -f "$T/lib.awk" -f "$T/flows.awk" "$2" | sort >"$T/a.flows" &&
	awk -F, -f "$T/lib.awk" -f "$T/flows.awk" "$3" | sort >"$T/b.flows" || {
		notok "$1: per-flow packets and wire bytes (cannot read the CSVs)"
		return
	}
	if ! [ -s "$T/a.flows" ]; then
		notok "$1: per-flow packets and wire bytes ($2 has no rows)"
	elif cmp -s "$T/a.flows" "$T/b.flows"; then
		ok "$1: per-flow packets and wire bytes, both directions ($(wc -l <"$T/a.flows") flows)"
	else
		notok "$1: per-flow packets and wire bytes, both directions"
		diff "$T/a.flows" "$T/b.flows" | grep '^[<>]' | sed 's/^/#   /' | head -n 40
	fi
	awk -F, -f "$T/lib.awk" -f "$T/rows.awk" "$2" | sort >"$T/a.rows"
	awk -F, -f "$T/lib.awk" -f "$T/rows.awk" "$3" | sort >"$T/b.rows"
	if cmp -s "$T/a.rows" "$T/b.rows"; then
		ok "$1: every row's counters, state, conn_state and history"
	else
		notok "$1: every row's counters, state, conn_state and history"
		diff "$T/a.rows" "$T/b.rows" | grep '^[<>]' | sed 's/^/#   /' | head -n 40
	fi
}

# ---------------------------------------------------------------- live probe
# Does this netmoon-csv capture live at all?  (-i lo -c 1 with a ping on lo)
ip netns exec "$NSA" "$TRAFFIC" sigdfl "$NETMOON_CSV" -i lo -c 1 -o "$T/probe.csv" \
	>/dev/null 2>"$T/probe.err" &
probe=$!
pids="$pids $probe"
wait_grep "$T/probe.err" 'listening on' 30 "$probe" || true
inA "$TRAFFIC" icmp-echo 127.0.0.1 2 >/dev/null 2>&1
wait_exit "$probe" 30
if grep -qi 'not supported' "$T/probe.err"; then
	live=0
elif [ $rc = 0 ]; then
	live=1
	ok "probe: netmoon-csv -i lo -c 1 captures a packet and exits 0"
else
	live=1
	notok "probe: netmoon-csv -i lo -c 1 captures a packet and exits 0 (status $rc)"
	show "$T/probe.err"
fi

# ---------------------------------------------------------------- captures
start_sink() {	# NAME ARGS...: a sink in A, waited for until "ready"
	_name=$1
	shift
	ip netns exec "$NSA" "$TRAFFIC" "$@" >"$T/$_name.out" 2>"$T/$_name.err" &
	pids="$pids $!"
	wait_grep "$T/$_name.out" '^ready' 50 || { show "$T/$_name.err"; fatal "sink $* ready"; }
}
start_sink tcp-sink tcp-sink 5001
start_sink tcp6-sink tcp-sink 5003 --v6
start_sink udp-sink udp-sink 5002
ok "sinks listening in $NSA (tcp 5001, tcp6 5003, udp 5002)"

# Let the link-up noise (MLD reports) pass before anything captures.
sleep 1

# The reference capture.  -p: the promiscuity counter then shows
# netmoon-csv's membership alone.  -B 65536 (KiB): veth hands over GSO
# frames of up to 64 KiB, and tcpdump's default 2 MiB buffer drops some of
# them during the 1,000,000-byte bursts.
ip netns exec "$NSA" "$TRAFFIC" sigdfl tcpdump -i vethA -p -U -n --immediate-mode -B 65536 \
	-w "$T/ref.pcap" >"$T/tcpdump.out" 2>"$T/tcpdump.err" &
tcpdump_pid=$!
pids="$pids $tcpdump_pid"
if wait_grep "$T/tcpdump.err" 'listening on' 50; then
	ok "tcpdump listening on vethA"
else
	show "$T/tcpdump.err"
	fatal "tcpdump listening on vethA"
fi

# start_live ARGS...: netmoon-csv -i vethA -o live.csv ARGS in the background,
# waited for until it says it is listening
start_live() {
	ip netns exec "$NSA" "$TRAFFIC" sigdfl "$NETMOON_CSV" -i vethA -o "$T/live.csv" "$@" \
		>"$T/live.out" 2>"$T/live.err" &
	live_pid=$!
	pids="$pids $live_pid"
	wait_grep "$T/live.err" '^netmoon-csv: listening on vethA' 50 "$live_pid"
}
saving=0
if [ $live = 1 ]; then
	saving=1
	if start_live -w "$T/live.pcap"; then
		ok "netmoon-csv -i vethA -w FILE says it is listening"
	elif ! alive "$live_pid" && grep -q 'not supported' "$T/live.err"; then
		# -w not there yet: say so, and check the rest without it
		notok "netmoon-csv -i vethA -w FILE: $(head -n 1 "$T/live.err")"
		saving=0
		wait "$live_pid"
		if start_live; then
			ok "netmoon-csv -i vethA (without -w) says it is listening"
		else
			notok "netmoon-csv -i vethA (without -w) says it is listening"
			show "$T/live.err"
		fi
	else
		notok "netmoon-csv -i vethA -w FILE says it is listening"
		show "$T/live.err"
	fi
	_p=$(promiscuity "$NSA" vethA)
	check "netmoon-csv -i vethA puts vethA in promiscuous mode (promiscuity ${_p:-?}, expected 1)" \
		test "${_p:-x}" = 1
fi

# ---------------------------------------------------------------- traffic
send() {	# DESCRIPTION traffic-ARGS...: from namespace B
	_d=$1
	shift
	if inB "$TRAFFIC" "$@" >"$T/send.err" 2>&1; then
		ok "traffic: $_d"
	else
		notok "traffic: $_d"
		show "$T/send.err"
	fi
}
send "1,000,000 bytes over TCP to 10.77.0.1:5001" tcp-send 10.77.0.1 5001 1000000
send "20 short TCP connections to 10.77.0.1:5001" tcp-many 10.77.0.1 5001 20
send "50 UDP datagrams of 200 bytes to 10.77.0.1:5002" udp-send 10.77.0.1 5002 50 200
send "5 ICMP echoes to 10.77.0.1" icmp-echo 10.77.0.1 5
send "1,000,000 bytes over TCP to [fd77::1]:5003" tcp-send fd77::1 5003 1000000
send "10 frames tagged VLAN 42 injected on vethB" vlan-send vethB 42 10

# Everything has been answered; give the capture ring time to hand the
# last block over, then stop both captures at the same moment.
sleep 1
if [ $live = 1 ]; then
	kill -INT "$tcpdump_pid" "$live_pid" 2>/dev/null
else
	kill -INT "$tcpdump_pid" 2>/dev/null
fi
wait_exit "$tcpdump_pid" 50
check "tcpdump exits after SIGINT (status $rc)" test $rc = 0
_d=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel.*/\1/p' "$T/tcpdump.err")
check "tcpdump dropped nothing (${_d:-?} dropped)" test "${_d:-x}" = 0

if [ $live = 1 ]; then
	wait_exit "$live_pid" 50
	check "netmoon-csv -i exits 0 after SIGINT (status $rc)" test $rc = 0
	[ $rc = 0 ] || show "$T/live.err"
	_s=$(grep 'kernel: [0-9]* received, [0-9]* dropped' "$T/live.err" | tail -n 1)
	_d=$(echo "$_s" | sed -n 's/.*kernel: [0-9]* received, \([0-9]*\) dropped.*/\1/p')
	check "netmoon-csv summary reports 0 dropped (${_s:-no summary line})" test "${_d:-x}" = 0
	_p=$(promiscuity "$NSA" vethA)
	check "vethA is not promiscuous after exit (promiscuity ${_p:-?})" test "${_p:-x}" = 0
	check "ip link show vethA has no PROMISC flag after exit" no_promisc_flag "$NSA" vethA
fi

# ---------------------------------------------------------------- results
if "$NETMOON_CSV" -r "$T/ref.pcap" -o "$T/ref.csv" 2>"$T/ref.err"; then
	ok "netmoon-csv -r on tcpdump's file"
else
	notok "netmoon-csv -r on tcpdump's file"
	show "$T/ref.err"
fi
known "tcpdump file" "$T/ref.csv"

if [ $live = 1 ]; then
	known "live" "$T/live.csv"
	same_flows "live vs tcpdump" "$T/ref.csv" "$T/live.csv"
fi
if [ $saving = 1 ]; then
	if "$NETMOON_CSV" -r "$T/live.pcap" -o "$T/saved.csv" 2>"$T/saved.err"; then
		ok "netmoon-csv -r on the file saved with -w"
	else
		notok "netmoon-csv -r on the file saved with -w"
		show "$T/saved.err"
	fi
	same_flows "saved file vs tcpdump" "$T/ref.csv" "$T/saved.csv"
	# The saved packets themselves, as tcpdump decodes them: one line per
	# packet, sorted, since two sockets may see concurrent packets (one in
	# each direction) in a different order.
	packets() {
		tcpdump -r "$1" -nn -e -t -v 2>/dev/null | awk '
			/^[ \t]/ { sub(/^[ \t]+/, " "); l = l $0; next }
			{ if (l != "") print l; l = $0 }
			END { if (l != "") print l }' | sort
	}
	packets "$T/ref.pcap" >"$T/ref.txt"
	packets "$T/live.pcap" >"$T/saved.txt"
	if [ -s "$T/ref.txt" ] && cmp -s "$T/ref.txt" "$T/saved.txt"; then
		ok "saved file: the same packets as tcpdump's ($(wc -l <"$T/ref.txt") packets, tcpdump -e -v)"
	else
		notok "saved file: the same packets as tcpdump's (tcpdump -nn -e -t -v, sorted)"
		diff "$T/ref.txt" "$T/saved.txt" | grep '^[<>]' | sed 's/^/#   /' | head -n 20
	fi
fi
if [ $live = 1 ]; then
	# a second, short capture without promiscuous mode
	ip netns exec "$NSA" "$TRAFFIC" sigdfl "$NETMOON_CSV" -i vethA -p -c 6 -o "$T/p.csv" \
		>"$T/p.out" 2>"$T/p.err" &
	p_pid=$!
	pids="$pids $p_pid"
	if wait_grep "$T/p.err" '^netmoon-csv: listening on vethA' 50; then
		_p=$(promiscuity "$NSA" vethA)
		check "netmoon-csv -p leaves vethA non-promiscuous (promiscuity ${_p:-?})" test "${_p:-x}" = 0
	else
		notok "netmoon-csv -i vethA -p says it is listening"
		show "$T/p.err"
	fi
	send "3 ICMP echoes to 10.77.0.1 (-p capture)" icmp-echo 10.77.0.1 3
	wait_exit "$p_pid" 50
	check "netmoon-csv -i vethA -p -c 6 exits 0 by itself (status $rc)" test $rc = 0
	[ $rc = 0 ] || show "$T/p.err"
	expect_count "-p capture" "$T/p.csv" icmp_n:3 1 "one ICMP flow with 3 echoes and 3 replies"
	expect_count "-p capture" "$T/p.csv" any 1 "nothing else"

	# SIGTERM flushes the rows too; -w NAME.pcapng saves pcapng
	ip netns exec "$NSA" "$TRAFFIC" sigdfl "$NETMOON_CSV" -i vethA -o "$T/term.csv" \
		-w "$T/term.pcapng" >"$T/term.out" 2>"$T/term.err" &
	t_pid=$!
	pids="$pids $t_pid"
	wait_grep "$T/term.err" '^netmoon-csv: listening on vethA' 50 "$t_pid" ||
		{ notok "netmoon-csv -i vethA (SIGTERM run) says it is listening"; show "$T/term.err"; }
	send "2 ICMP echoes to 10.77.0.1 (SIGTERM capture)" icmp-echo 10.77.0.1 2
	sleep 1
	kill -TERM "$t_pid" 2>/dev/null
	wait_exit "$t_pid" 50
	check "netmoon-csv -i exits 0 after SIGTERM (status $rc)" test $rc = 0
	[ $rc = 0 ] || show "$T/term.err"
	expect_count "SIGTERM capture" "$T/term.csv" icmp_n:2 1 "one ICMP flow with 2 echoes and 2 replies"
	expect_count "SIGTERM capture" "$T/term.csv" any 1 "nothing else"
	_m=$(od -An -tx1 -N4 "$T/term.pcapng" 2>/dev/null | tr -d ' ')
	check "-w term.pcapng writes pcapng (first bytes ${_m:-none}, expected 0a0d0d0a)" \
		test "$_m" = 0a0d0d0a
	if "$NETMOON_CSV" -r "$T/term.pcapng" -o "$T/term2.csv" 2>"$T/term2.err"; then
		expect_count "SIGTERM capture, saved pcapng" "$T/term2.csv" icmp_n:2 1 \
			"one ICMP flow with 2 echoes and 2 replies"
		expect_count "SIGTERM capture, saved pcapng" "$T/term2.csv" any 1 "nothing else"
	else
		notok "netmoon-csv -r on the pcapng file saved with -w"
		show "$T/term2.err"
	fi

	# Filters on a live socket (issue 5): netmoon-csv -i with the program
	# in the kernel saves exactly the packets tcpdump -i saves with the same
	# expression, on mixed traffic including VLAN-tagged frames.
	for expr in "udp" "tcp port 5001" "icmp or udp port 5002" "not tcp" "ip6" \
		"vlan 42" "vlan and udp" "host 10.77.0.2 and (tcp[tcpflags] & tcp-syn) != 0" \
		"greater 500" "ip[8] < 65"; do
		ip netns exec "$NSA" "$TRAFFIC" sigdfl tcpdump -i vethA -p -U -n --immediate-mode \
			-B 65536 -w "$T/fref.pcap" -- "$expr" >/dev/null 2>"$T/ftcpdump.err" &
		f_tcpdump=$!
		ip netns exec "$NSA" "$TRAFFIC" sigdfl "$NETMOON_CSV" -i vethA -p -o /dev/null \
			-w "$T/flive.pcap" -- "$expr" >/dev/null 2>"$T/flive.err" &
		f_live=$!
		pids="$pids $f_tcpdump $f_live"
		if ! wait_grep "$T/ftcpdump.err" 'listening on' 50 "$f_tcpdump" ||
			! wait_grep "$T/flive.err" '^netmoon-csv: listening on' 50 "$f_live"; then
			notok "live filter '$expr': both captures start"
			show "$T/ftcpdump.err"
			show "$T/flive.err"
			kill -INT "$f_tcpdump" "$f_live" 2>/dev/null
			continue
		fi
		inB "$TRAFFIC" tcp-many 10.77.0.1 5001 3 >/dev/null 2>&1
		inB "$TRAFFIC" udp-send 10.77.0.1 5002 5 700 >/dev/null 2>&1
		inB "$TRAFFIC" icmp-echo 10.77.0.1 2 >/dev/null 2>&1
		inB "$TRAFFIC" tcp-send fd77::1 5003 3000 >/dev/null 2>&1
		inB "$TRAFFIC" vlan-send vethB 42 3 >/dev/null 2>&1
		sleep 1
		kill -INT "$f_tcpdump" "$f_live" 2>/dev/null
		wait_exit "$f_tcpdump" 50
		wait_exit "$f_live" 50
		check "live filter '$expr': netmoon-csv exits 0 (status $rc)" test $rc = 0
		packets "$T/fref.pcap" >"$T/fref.txt"
		packets "$T/flive.pcap" >"$T/flive.txt"
		if cmp -s "$T/fref.txt" "$T/flive.txt"; then
			ok "live filter '$expr': the same $(wc -l <"$T/fref.txt") packets as tcpdump -i ($(sed -n 's/^netmoon-csv: filter: [0-9]* instructions, //p' "$T/flive.err" | cut -c1-18))"
		else
			notok "live filter '$expr': the same packets as tcpdump -i"
			diff "$T/fref.txt" "$T/flive.txt" | grep '^[<>]' | sed 's/^/#   /' | head -n 10
		fi
	done

	# -Z: the capture opened as root, then run as nobody (uid 65534)
	ip netns exec "$NSA" "$TRAFFIC" sigdfl "$NETMOON_CSV" -i vethA -p -c 4 -Z nobody \
		-o "$T/z.csv" >"$T/z.out" 2>"$T/z.err" &
	z_pid=$!
	pids="$pids $z_pid"
	if wait_grep "$T/z.err" '^netmoon-csv: listening on vethA' 50 "$z_pid"; then
		nap
		_u=$(awk '/^Uid:/ { print $2 "/" $3 "/" $4 }' "/proc/$z_pid/status" 2>/dev/null)
		check "netmoon-csv -Z nobody runs as uid 65534 while capturing (real/effective/saved ${_u:-?})" \
			test "$_u" = 65534/65534/65534
	else
		notok "netmoon-csv -i vethA -Z nobody says it is listening"
		show "$T/z.err"
	fi
	send "2 ICMP echoes to 10.77.0.1 (-Z capture)" icmp-echo 10.77.0.1 2
	wait_exit "$z_pid" 50
	check "netmoon-csv -Z nobody -c 4 exits 0 (status $rc)" test $rc = 0
	[ $rc = 0 ] || show "$T/z.err"
	expect_count "-Z capture" "$T/z.csv" icmp_n:2 1 "one ICMP flow with 2 echoes and 2 replies"

	# without privileges: exit status 2 and a message naming CAP_NET_RAW
	if command -v setpriv >/dev/null 2>&1; then
		set -- setpriv --reuid=65534 --regid=65534 --clear-groups
	elif command -v runuser >/dev/null 2>&1; then
		set -- runuser -u nobody --
	else
		set --
	fi
	if [ $# -gt 0 ] && ! "$@" test -x "$NETMOON_CSV" 2>/dev/null; then
		ok "unprivileged run # SKIP $NETMOON_CSV is not executable by an unprivileged user"
	elif [ $# -gt 0 ]; then
		ip netns exec "$NSA" "$@" "$NETMOON_CSV" -i vethA -c 1 \
			>"$T/unpriv.out" 2>"$T/unpriv.err" &
		u_pid=$!
		pids="$pids $u_pid"
		wait_exit "$u_pid" 50
		check "unprivileged netmoon-csv -i exits with status 2 (status $rc)" test $rc = 2
		check "unprivileged netmoon-csv -i names CAP_NET_RAW" grep -q CAP_NET_RAW "$T/unpriv.err"
		[ $rc = 2 ] && grep -q CAP_NET_RAW "$T/unpriv.err" || show "$T/unpriv.err"
		_l=$(wc -l <"$T/unpriv.err")
		check "unprivileged netmoon-csv -i: a one-line message ($_l lines)" test "$_l" = 1
	else
		ok "unprivileged run # SKIP neither setpriv nor runuser"
	fi
fi

summary
if [ $live = 0 ]; then
	echo "check-live: skipped: netmoon-csv has no live capture yet"
	[ $nfail = 0 ] && exit 77
fi
[ $nfail = 0 ] && exit 0
exit 1
