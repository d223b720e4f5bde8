#!/bin/sh
# Equivalence of netmoon's filter with libpcap's, libpcap (tcpdump) being the oracle:
# for every expression of tests/filter-exprs.txt and every capture below, the packets
# netmoon's compiled program accepts (tests/filter-match, interpreted) are exactly the
# packets "tcpdump -r FILE -w OUT EXPR" writes, compared packet for packet by length
# and content; an expression tcpdump refuses for a link type must be refused too.
#   tests/check-filter.sh BUILD_DIR
# NETMOON_CORPUS overrides ../shared/corpus; a missing corpus leaves only the fixture.
set -u
build=${1:-build}
drv="$build/tests/filter-match"
exprs=tests/filter-exprs.txt
corpus=${NETMOON_CORPUS:-../shared/corpus}

if ! command -v tcpdump >/dev/null 2>&1; then
	echo "check-filter: tcpdump not installed, skipped"
	exit 0
fi
if [ ! -x "$drv" ]; then
	echo "check-filter: $drv missing (make tests builds it)"
	exit 1
fi

files="tests/fixtures/sample.pcap"
# IPv4/IPv6 over Ethernet, VLAN and QinQ, SLL and SLL2, raw IP links, fragments,
# ICMP/ICMPv6, ARP, truncated and odd headers.
corpus_files="zeek__http__methods.pcap ndpi__android.pcap ndpi__http_ipv6.pcap
zeek__ftp__ipv6.pcap ndpi__mongodb.pcap zeek__http-qinq-0.pcap tcpdump__802.1ad_QinQ.pcap
zeek__vlan-pcp-dei.pcapng ndpi__KakaoTalk_chat.pcap tcpdump__resp_1_benchmark.pcap
zeek__linux_dlt_sll2.pcap ndpi__ocs.pcap zeek__tcp__timeout-with-pings.pcap
tcpdump__LINKTYPE_IPV6.pcap tcpdump__LINKTYPE_RAW_ipv6.pcap zeek__ipv4__fragmented-4.pcap
ndpi__ip_fragmented_garbage.pcap zeek__ipv6-fragmented-dns.pcap zeek__dns-edns-ecs.pcap
zeek__communityid__icmp.pcap zeek__communityid__icmp6.pcap tcpdump__tcp_eight_lowest_weight_flags_set.pcap
tcpdump__heapoverflow-tcp_print.pcap tcpdump__udp-length-heapoverflow.pcap
tcpdump__ipv4_invalid_hdr_length.pcap tcpdump__ip6_frag_asan.pcap tcpdump__icmp-cksum-oobr-1.pcap
tcpdump__LINKTYPE_IPV4_invalid.pcap tcpdump__heap-overflow-1.pcap ndpi__synscan.pcap
ndpi__teams.pcap ndpi__fuzz-2006-09-29-28586.pcap tcpdump__pptp.pcap"
if [ -d "$corpus" ]; then
	for f in $corpus_files; do
		[ -f "$corpus/$f" ] && files="$files $corpus/$f"
	done
else
	echo "check-filter: corpus $corpus missing: only the project's fixture is used"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pairs=0
agree=0
fail=0
nexpr=0
while IFS= read -r e; do
	case "$e" in ''|'#'*) continue ;; esac
	nexpr=$((nexpr + 1))
done <"$exprs"

for f in $files; do
	while IFS= read -r e; do
		case "$e" in ''|'#'*) continue ;; esac
		pairs=$((pairs + 1))
		rm -f "$tmp/out.pcap"
		tcpdump -r "$f" -w "$tmp/out.pcap" -- "$e" >/dev/null 2>"$tmp/tcpdump.err"
		"$drv" -H "$f" "$e" >"$tmp/mine" 2>"$tmp/mine.err"
		mrc=$?
		if [ ! -f "$tmp/out.pcap" ]; then
			# tcpdump refused the expression for this link type
			if [ $mrc -eq 2 ]; then
				agree=$((agree + 1))
			else
				fail=$((fail + 1))
				echo "DIFF $f: '$e': tcpdump refuses ($(head -1 "$tmp/tcpdump.err")), netmoon accepts"
			fi
			continue
		fi
		if [ $mrc -eq 2 ]; then
			fail=$((fail + 1))
			echo "DIFF $f: '$e': netmoon refuses ($(cat "$tmp/mine.err")), tcpdump accepts"
			continue
		fi
		"$drv" -H "$tmp/out.pcap" "" >"$tmp/theirs" 2>/dev/null
		if cmp -s "$tmp/mine" "$tmp/theirs"; then
			agree=$((agree + 1))
		else
			fail=$((fail + 1))
			echo "DIFF $f: '$e': netmoon $(wc -l <"$tmp/mine") packets, tcpdump $(wc -l <"$tmp/theirs")"
		fi
	done <"$exprs"
done
echo "check-filter: $nexpr expressions x $(echo $files | wc -w) captures: $agree of $pairs pairs agree with tcpdump"
[ $fail -eq 0 ]
