#!/bin/sh
# Drive netmoon-top inside tmux and read its screen.
#
#   sh tests/check-top.sh [BUILD_DIR]        (BUILD_DIR defaults to build)
#
# (a) Replay of tests/fixtures/sample.pcap at full speed: the rows of the
#     connections netmoon-csv finds in the same file appear with their
#     endpoints and states; `s` and `S` change the order; `/` filters; `q`
#     exits 0 and leaves the alternate screen.
# (b) Live, as root in a new network namespace: UDP and TCP on 127.0.0.1
#     (bash's /dev/udp and /dev/tcp) show up as rows; `q` exits 0.
# (c) SIGTERM restores the terminal and exits 0.
#
# Exit status: 0 all passed, 1 some failed, 77 skipped (no tmux, no binaries).
# A private tmux server (-L) is used and killed at the end; the namespace is
# always deleted.

set -u

BUILD=${1:-build}
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
SAMPLE=$SRCDIR/tests/fixtures/sample.pcap

skip() {
	echo "check-top: skipped: $*"
	exit 77
}

command -v tmux >/dev/null 2>&1 || skip "tmux is missing"
[ -x "$BUILD/bin/netmoon-top" ] || skip "$BUILD/bin/netmoon-top does not exist"
[ -x "$BUILD/bin/netmoon-csv" ] || skip "$BUILD/bin/netmoon-csv does not exist"
TOP=$(cd "$BUILD/bin" && pwd)/netmoon-top
CSV=$(cd "$BUILD/bin" && pwd)/netmoon-csv

T=$(mktemp -d "${TMPDIR:-/tmp}/check-top.XXXXXX") || exit 1
SOCK=netmoon-check-top-$$
NS=""
passed=0
failed=0

tm() {
	tmux -L "$SOCK" "$@"
}

cleanup() {
	trap - EXIT INT TERM
	tm kill-server >/dev/null 2>&1
	if [ -n "$NS" ]; then
		for p in $(ip netns pids "$NS" 2>/dev/null); do
			kill "$p" 2>/dev/null
		done
		ip netns del "$NS" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'cleanup; exit 1' INT TERM

ok() {
	echo "ok - $*"
	passed=$((passed + 1))
}

not_ok() {
	echo "not ok - $*"
	failed=$((failed + 1))
	if [ -f "$T/screen" ]; then
		sed 's/^/# /' "$T/screen"
	fi
}

check() { # check DESCRIPTION COMMAND...
	d=$1
	shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}

# The wrapper runs the program in the pane, records its pid and exit status,
# then keeps the pane open so that its screen can be read after the exit.
cat >"$T/run.sh" <<'EOF'
#!/bin/sh
rcfile=$1
shift
sh -c 'echo $$ > "$0.pid"; exec "$@"' "$rcfile" "$@"
echo $? > "$rcfile"
echo "netmoon-top has exited"
exec sleep 600
EOF

# A UTF-8 locale when there is one: the arrows and bars are then exercised.
LOC=C
if locale -a 2>/dev/null | grep -qi '^c\.utf-\{0,1\}8$'; then
	LOC=C.UTF-8
fi

screen() { # screen SESSION: the pane's text in $T/screen
	tm capture-pane -p -t "$1" >"$T/screen" 2>/dev/null
}

wait_for() { # wait_for SESSION FIXED-STRING [tenths of seconds]
	i=0
	while [ $i -lt "${3:-100}" ]; do
		screen "$1"
		grep -qF -- "$2" "$T/screen" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

wait_row() { # wait_row SESSION has_row-ARGS...: up to 5 s
	s=$1
	shift
	i=0
	while [ $i -lt 50 ]; do
		screen "$s"
		has_row "$@" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

wait_file() { # wait_file FILE [tenths]
	i=0
	while [ $i -lt "${2:-100}" ]; do
		[ -s "$1" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

start() { # start SESSION RCFILE COMMAND...: a 120x40 pane running COMMAND
	s=$1
	rcf=$2
	shift 2
	rm -f "$rcf" "$rcf.pid"
	tm new-session -d -s "$s" -x 120 -y 40 \
		"env LANG=$LOC LC_ALL=$LOC TERM=screen sh $T/run.sh $rcf $*"
}

# Data rows: the lines between the column titles and the key line.
rows() {
	sed -n '4,$p' "$T/screen" | grep -v '^q quit' | grep -v '^[[:space:]]*$'
}

# Does some row show an endpoint starting with ORIG, then RESP, then WORDS?
# (Endpoints hold no blanks: they are the 1st and 3rd fields, the arrow
# the 2nd.)
has_row() { # has_row ORIG-PREFIX RESP WORDS
	rows | awk -v a="$1" -v b="$2" -v w="$3" '
		index($1, a) == 1 && $3 == b && index($0, " " w " ") > index($0, b) { found = 1 }
		END { exit !found }'
}

alt_off() { # alt_off SESSION: the pane left the alternate screen
	[ "$(tm display-message -p -t "$1" '#{alternate_on}')" = 0 ]
}

# ------------------------------------------------------------ (a) replay
# The expected rows come from netmoon-csv on the same file.
"$CSV" -r "$SAMPLE" >"$T/csv" || { echo "check-top: netmoon-csv failed"; exit 1; }
awk -F, 'NR > 1 {
	st = tolower($11); gsub("_", " ", st)
	if ($3 == "tcp" || $3 == "udp") {
		if ($4 == 6) { o = "[" $6 "]:" $7; r = "[" $8 "]:" $9 }
		else { o = $6 ":" $7; r = $8 ":" $9 }
	} else { o = $6; r = $8 }
	print o "," r "," st "," $15 + $19 }' "$T/csv" >"$T/expect"
nexp=$(wc -l <"$T/expect")

start a "$T/rc-a" "$TOP" -r "$SAMPLE" --speed 0
if wait_for a "end of file" 100; then
	ok "replay: the end of the file is reached and stays on screen"
else
	not_ok "replay: the end of the file is reached and stays on screen"
fi
missing=0
while IFS=, read -r o r st b; do
	if ! has_row "$o" "$r" "$st"; then
		echo "# no row for $o -> $r ($st)"
		missing=$((missing + 1))
	fi
done <"$T/expect"
nrows=$(rows | wc -l)
check "replay: all $nexp connections of netmoon-csv show with endpoints and state" \
	sh -c '[ "$1" = 0 ] && [ "$2" = "$3" ]' sh "$missing" "$nrows" "$nexp"

# Sort by bytes, descending: the busiest connection by netmoon-csv's count
# first; S reverses: it comes last.
big=$(sort -t, -k4,4nr "$T/expect" | head -n 1)
big_o=$(echo "$big" | cut -d, -f1)
big_r=$(echo "$big" | cut -d, -f2)
first_row() { rows | head -n 1; }
last_row() { rows | tail -n 1; }
i=0
while [ $i -lt 5 ] && ! grep -q 'sort: bytes' "$T/screen"; do
	tm send-keys -t a s
	sleep 0.3
	screen a
	i=$((i + 1))
done
before=$(rows | cut -c1-60)
check "replay: s cycles the sort to bytes" grep -q 'sort: bytes' "$T/screen"
check "replay: sorted by bytes, the busiest connection ($big_o) is first" \
	sh -c 'printf "%s\n" "$1" | grep -qF -- "$2" && printf "%s\n" "$1" | grep -qF -- "$3"' \
	sh "$(first_row)" "$big_o" "$big_r"
tm send-keys -t a S
sleep 0.4
screen a
after=$(rows | cut -c1-60)
check "replay: S reverses the order (the busiest is last)" \
	sh -c 'printf "%s\n" "$1" | grep -qF -- "$2" && [ "$3" != "$4" ]' \
	sh "$(last_row)" "$big_o" "$before" "$after"
tm send-keys -t a s
sleep 0.4
screen a
check "replay: s changes the sort column again" sh -c '! grep -q "sort: bytes" "$1"' sh "$T/screen"

# Filter: port 5353 keeps exactly the rows netmoon-csv has on that port.
n5353=$(grep -c ':5353,' "$T/expect")
tm send-keys -t a / 5 3 5 3 Enter
sleep 0.5
screen a
check "replay: / 5353 Enter keeps the $n5353 rows on port 5353" \
	sh -c '[ "$1" = "$2" ] && [ "$3" = "$2" ]' sh "$(rows | wc -l)" "$n5353" \
	"$(rows | grep -c ':5353')"
tm send-keys -t a / Escape
sleep 0.5
screen a
check "replay: / Esc clears the filter" [ "$(rows | wc -l)" = "$nexp" ]

tm send-keys -t a q
wait_file "$T/rc-a" 50
check "replay: q exits with status 0" [ "$(cat "$T/rc-a" 2>/dev/null)" = 0 ]
wait_for a "netmoon-top has exited" 30 >/dev/null
check "replay: q leaves the alternate screen" alt_off a
check "replay: the shell's output is on screen again" grep -q "netmoon-top has exited" "$T/screen"

# ------------------------------------------------------------ (c) SIGTERM
start c "$T/rc-c" "$TOP" -r "$SAMPLE" --speed 0
wait_for c "end of file" 100 >/dev/null
wait_file "$T/rc-c.pid" 20
kill -TERM "$(cat "$T/rc-c.pid" 2>/dev/null)" 2>/dev/null
wait_file "$T/rc-c" 50
check "SIGTERM: exits with status 0" [ "$(cat "$T/rc-c" 2>/dev/null)" = 0 ]
wait_for c "netmoon-top has exited" 30 >/dev/null
check "SIGTERM: the alternate screen is left" alt_off c

# ------------------------------------------------------------ usage
"$TOP" >/dev/null 2>&1
check "usage: no source is exit status 1" [ $? = 1 ]
"$TOP" -r "$SAMPLE" --speed fast >/dev/null 2>&1
check "usage: a bad --speed is exit status 1" [ $? = 1 ]

# ------------------------------------------------------------ (b) live
live_skip=""
if [ "$(id -u)" != 0 ]; then
	live_skip="not root"
elif ! command -v ip >/dev/null 2>&1; then
	live_skip="ip (iproute2) is missing"
elif ! command -v bash >/dev/null 2>&1; then
	live_skip="bash is missing (for /dev/udp and /dev/tcp)"
else
	NS=netmoon-top-$$
	if ! ip netns add "$NS" 2>/dev/null; then
		NS=""
		live_skip="cannot create a network namespace"
	elif ! ip -n "$NS" link set lo up; then
		live_skip="cannot bring lo up in the namespace"
	fi
fi
if [ -n "$live_skip" ]; then
	echo "ok - live: skipped: $live_skip"
else
	start b "$T/rc-b" ip netns exec "$NS" "$TOP" -i lo
	if wait_for b "lo" 50 >/dev/null; then :; fi
	# UDP datagrams to 127.0.0.1:9999 and a TCP connection to a closed
	# port (SYN, then RST): no listener needed.
	ip netns exec "$NS" bash -c '
		for i in 1 2 3 4 5 6 7 8 9 10; do
			echo "netmoon-top check $i" > /dev/udp/127.0.0.1/9999
			sleep 0.1
		done
		(exec 3<>/dev/tcp/127.0.0.1/9) 2>/dev/null
		true' 2>/dev/null
	check "live: the UDP flow to 127.0.0.1:9999 shows as active" \
		wait_row b "127.0.0.1:" "127.0.0.1:9999" "active"
	check "live: the refused TCP connection to port 9 shows as reset" \
		wait_row b "127.0.0.1:" "127.0.0.1:9" "reset"
	check "live: the header names the interface" \
		sh -c 'head -n 1 "$1" | grep -q " lo "' sh "$T/screen"
	tm send-keys -t b q
	wait_file "$T/rc-b" 50
	check "live: q exits with status 0" [ "$(cat "$T/rc-b" 2>/dev/null)" = 0 ]
	wait_for b "netmoon-top has exited" 30 >/dev/null
	check "live: q leaves the alternate screen" alt_off b
fi

echo "check-top: $passed passed, $failed failed"
[ "$failed" = 0 ]
