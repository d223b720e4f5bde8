#!/bin/sh
# A full disk never gives a silent, truncated file: netmoon-csv writing its
# rows (-o) or its packets (-w) onto a 64 KiB tmpfs must say so and exit 2.
#   tests/check-full-disk.sh BUILD_DIR
# Needs root (mount); exits 77 (skipped) otherwise.
set -u
build=${1:-build}
csv=$build/bin/netmoon-csv
gen=$build/bin/netmoon-gen
[ -x "$csv" ] && [ -x "$gen" ] || { echo "check-full-disk: skipped: $csv or $gen not built"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "check-full-disk: skipped: mounting a tmpfs needs root"; exit 77; }
tmp=$(mktemp -d)
mnt=$tmp/tiny
mkdir "$mnt"
trap 'umount "$mnt" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
if ! mount -t tmpfs -o size=64k tmpfs "$mnt" 2>"$tmp/mount.err"; then
	echo "check-full-disk: skipped: cannot mount a tmpfs: $(cat "$tmp/mount.err")"
	exit 77
fi
pass=0 fail=0
check() { # DESCRIPTION COMMAND...
	d=$1
	shift
	if "$@"; then echo "ok - $d"; pass=$((pass + 1)); else echo "not ok - $d"; fail=$((fail + 1)); fi
}
# 20,000 packets of 3,000 flows: about 600 KB of rows, 9 MB of packets.
"$gen" -n 20000 -f 3000 -o "$tmp/in.pcap" || { echo "check-full-disk: netmoon-gen failed"; exit 1; }

"$csv" -r "$tmp/in.pcap" -o "$mnt/rows.csv" 2>"$tmp/o.err"
rc=$?
check "-o on a full disk exits 2 (status $rc)" test $rc = 2
check "-o on a full disk says why: $(head -n 1 "$tmp/o.err")" grep -q "No space left on device" "$tmp/o.err"
rm -f "$mnt/rows.csv"

"$csv" -r "$tmp/in.pcap" -o /dev/null -w "$mnt/pkts.pcap" 2>"$tmp/w.err"
rc=$?
check "-w on a full disk exits 2 (status $rc)" test $rc = 2
check "-w on a full disk says why: $(head -n 1 "$tmp/w.err")" grep -q "No space left on device" "$tmp/w.err"
rm -f "$mnt/pkts.pcap"

# Room enough: the same run writes every row, and exits 0.
"$csv" -r "$tmp/in.pcap" -c 200 -o "$mnt/small.csv" 2>"$tmp/s.err"
rc=$?
check "a run that fits exits 0 (status $rc)" test $rc = 0
n=$("$csv" -r "$tmp/in.pcap" -c 200 | wc -l)
check "... with all its rows ($(wc -l <"$mnt/small.csv") of $n lines)" \
	test "$(wc -l <"$mnt/small.csv")" = "$n"

echo "check-full-disk: $pass passed, $fail failed"
[ $fail = 0 ]
