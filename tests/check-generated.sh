#!/bin/sh
# netmoon-csv against the generator's ground truth: netmoon-gen writes a
# synthetic capture (TCP lifecycles, UDP, IPv6, VLAN and QinQ, both pcap byte
# orders and time resolutions) and, separately, the exact counters of every
# flow it generated.  Every flow must come out of netmoon-csv with the same
# endpoints, initiator, VLANs and all eight per-direction counters.
set -eu
build=${1:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

run_case() {
	# $2: digits of the time stamps to compare (6 for microsecond files: the
	# truth keeps the generator's nanoseconds, the file cannot).
	name=$1; digits=$2; shift 2
	"$build/bin/netmoon-gen" "$@" -o "$tmp/$name.pcap" --truth "$tmp/$name.truth"
	"$build/bin/netmoon-csv" -r "$tmp/$name.pcap" -o "$tmp/$name.csv"
	# Key: proto,vlan,orig,oport,resp,rport -> the 8 counters, first and last time stamps.
	awk -F, -v d="$digits" 'function t(x) { return substr(x, 1, index(x, ".") + d) }
		NR > 1 { print $2","$4","$5","$6","$7","$8" "$10","$11","$12","$13","$14","$15","$16","$17" "t($18)" "t($19) }' \
		"$tmp/$name.truth" | sort > "$tmp/$name.want"
	awk -F, -v d="$digits" 'function t(x) { return substr(x, 1, index(x, ".") + d) }
		NR > 1 { print $3","$5","$6","$7","$8","$9" "$14","$15","$16","$17","$18","$19","$20","$21" "t($1)" "t($2) }' \
		"$tmp/$name.csv" | sort > "$tmp/$name.got"

	flows=$(wc -l < "$tmp/$name.want")
	if [ "$flows" -lt 50 ]; then
		echo "$name: generator wrote only $flows flows"; fail=1; return
	fi
	if ! cmp -s "$tmp/$name.want" "$tmp/$name.got"; then
		echo "$name: netmoon-csv disagrees with the generator's truth ($flows flows):"
		diff "$tmp/$name.want" "$tmp/$name.got" | head -20
		fail=1
		return
	fi
	echo "$name: $flows flows, all counters equal"
}

run_case small-us 6 -n 20000 -f 300 --seed 7
run_case ns-bigendian 9 -n 20000 -f 300 --seed 11 --ns --big-endian
run_case many-flows 6 -n 100000 -f 5000 --seed 3 --vlan-share 30 --ipv6-share 40
# JSON: the same rows, one object per line with the same field names.
"$build/bin/netmoon-csv" -r "$tmp/small-us.pcap" --format json -o "$tmp/small.json"
rows=$(($(wc -l < "$tmp/small-us.csv") - 1))
good=$(grep -c '^{"ts_first":[0-9.]*,"ts_last":[0-9.]*,"proto":"[a-z0-9]*",.*,"handshake_rtt_us":\(null\|[0-9.]*\)}$' "$tmp/small.json" || true)
keys=$(head -n 1 "$tmp/small.json" | grep -o '"[a-z_]*":' | tr -d '":' | paste -sd,)
if [ "$good" -ne "$rows" ] || [ "$keys" != "$(head -n 1 "$tmp/small-us.csv")" ]; then
	echo "json: $good of $rows lines well-formed; keys $keys"; fail=1
else
	echo "json: $rows objects, keys equal the CSV header"
fi

# A table far smaller than the concurrency: connections are evicted (and
# reported) early, but every packet and byte still lands in some row.
"$build/bin/netmoon-gen" -n 50000 -f 2000 --seed 5 -o "$tmp/cap.pcap" --summary 2> "$tmp/cap.sum"
"$build/bin/netmoon-csv" -r "$tmp/cap.pcap" --max-conns 100 -v -o "$tmp/cap.csv" 2> "$tmp/cap.err"
want=$(sed -n 's/^packets=//p' "$tmp/cap.sum")" "$(sed -n 's/^bytes=//p' "$tmp/cap.sum")
got=$(awk -F, 'NR > 1 { p += $14 + $18; b += $15 + $19 } END { print p" "b }' "$tmp/cap.csv")
evicted=$(sed -n 's/.* \([0-9]*\) evicted.*/\1/p' "$tmp/cap.err")
if [ "$want" != "$got" ] || [ "${evicted:-0}" -eq 0 ]; then
	echo "max-conns 100: packets/bytes $got, want $want; evicted ${evicted:-?}"
	cat "$tmp/cap.err"
	fail=1
else
	echo "max-conns 100: $evicted evictions, packets and bytes all accounted ($want)"
fi
exit $fail
