#!/bin/sh
# A capture file truncated by another process while netmoon-csv reads it:
# with two threads the file is mapped, and the pages past the new end are
# gone (SIGBUS, or an I/O error from the next prefault).  Either way the run
# must end with a message and exit status 2, never a crash or a silent,
# short result.  With one thread (read(2)) the cut record is reported.
#   tests/check-shrinking-input.sh BUILD_DIR
set -u
build=${1:-build}
csv=$build/bin/netmoon-csv
gen=$build/bin/netmoon-gen
[ -x "$csv" ] && [ -x "$gen" ] || { echo "check-shrinking-input: skipped: $csv or $gen not built"; exit 77; }
tmp=$(mktemp -d)
pid=
trap 'rm -rf "$tmp"' EXIT
trap '[ -z "$pid" ] || kill "$pid" 2>/dev/null; exit 130' INT TERM
pass=0 fail=0
check() { # DESCRIPTION COMMAND...
	d=$1
	shift
	if "$@"; then echo "ok - $d"; pass=$((pass + 1)); else echo "not ok - $d"; fail=$((fail + 1)); fi
}
limit=
command -v timeout >/dev/null 2>&1 && limit="timeout 120"

# 400,000 packets at 1 M packets/s of capture time (about 85 MB with a
# 200-byte snaplen): far more than either thread reads ahead.  Interval rows
# every millisecond of capture time (2,000 flows: several MB of rows) fill
# the output pipe, whose reader holds still once the first byte arrived:
# netmoon-csv is stopped mid-file while the file is cut to 1 MB under it.
# The generator's output is fixed by its options and seed; with it the one
# thread's 4 MiB read chunk ends inside a record (at offset 4194240).
"$gen" -n 400000 -f 2000 -s 200 --pps 1000000 --seed 1 -o "$tmp/in.pcap" ||
	{ echo "check-shrinking-input: netmoon-gen failed"; exit 1; }

for threads in 2 1; do
	cp "$tmp/in.pcap" "$tmp/cut.pcap"
	rm -f "$tmp/rc" "$tmp/go" "$tmp/started"
	mkfifo "$tmp/go"
	{
		# shellcheck disable=SC2086 # "timeout 120" is two words
		$limit "$csv" --threads "$threads" -r "$tmp/cut.pcap" --interval 0.001 2>"$tmp/err.$threads"
		echo $? >"$tmp/rc"
	} | {
		head -c 1 >/dev/null
		: >"$tmp/started"
		read -r _ <"$tmp/go" # wait until the file was cut
		cat >/dev/null
	} &
	pid=$!
	i=0
	while [ ! -e "$tmp/started" ] && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	check "--threads $threads: rows started before the cut" test -e "$tmp/started"
	sleep 0.5 # the output pipe fills; netmoon-csv waits on it, mid-file
	truncate -s 1000000 "$tmp/cut.pcap"
	echo go >"$tmp/go"
	wait "$pid"
	pid=
	rc=$(cat "$tmp/rc" 2>/dev/null || echo none)
	msg=$(head -n 1 "$tmp/err.$threads")
	check "--threads $threads, file cut while read: exit 2 (status $rc)" test "$rc" = 2
	case $threads in
	2) pat='shrank while it was read|read error' ;;
	1) pat='truncated record' ;;
	esac
	check "--threads $threads: says why: $msg" grep -Eq "$pat" "$tmp/err.$threads"
	rm -f "$tmp/go"
done

echo "check-shrinking-input: $pass passed, $fail failed"
[ $fail = 0 ]
