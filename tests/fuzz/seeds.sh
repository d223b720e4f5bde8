#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Build the fuzz targets' seed corpora under BUILD/fuzz/corpus-NAME/:
#
#   tests/fuzz/seeds.sh [BUILD]          (BUILD defaults to "build")
#
# Sources: the captures we ship (tests/fixtures/*.pcap), a few small files
# from netmoon-gen (pcap in microseconds, nanoseconds and big-endian, with
# IPv6, VLAN and QinQ flows, resets and refusals, and a SYN flood), and, when
# it exists, the shared corpus in ../shared/corpus (NETMOON_SHARED_CORPUS
# names another directory).
#
#   corpus-fuzz-capture    whole capture files
#   corpus-fuzz-frame      single frames, a selector byte and the bytes
#   corpus-fuzz-conntable  windows of 48 packets as fuzz-conntable.c records
#   corpus-fuzz-writer     windows of 48 packets as fuzz-writer.c records
#
# The frame, conntable and writer seeds are cut by extract-frames, built
# from tests/fuzz/extract-frames.c against the library (BUILD/fuzz/extract-frames,
# or $EXTRACT_FRAMES).  netmoon-gen is BUILD/bin/netmoon-gen (or
# $NETMOON_GEN).  A missing tool or source is reported and skipped; the
# script fails only when it can write no seeds at all.  Existing corpus
# files are kept: the corpora only grow, as libFuzzer's do.
set -eu
cd "$(dirname "$0")/../.."

BUILD=${1:-build}
SHARED=${NETMOON_SHARED_CORPUS:-../shared/corpus}
EXTRACT=${EXTRACT_FRAMES:-$BUILD/fuzz/extract-frames}
GEN=${NETMOON_GEN:-$BUILD/bin/netmoon-gen}
FUZZ=$BUILD/fuzz
PER_FILE=${SEEDS_PER_FILE:-32}

mkdir -p "$FUZZ"
work=$(mktemp -d "${TMPDIR:-/tmp}/netmoon-seeds.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

# --- the captures --------------------------------------------------------
mkdir -p "$work/caps"
for f in tests/fixtures/*.pcap tests/fixtures/*.pcapng; do
	[ -f "$f" ] && cp "$f" "$work/caps/fixture-$(basename "$f")"
done

if [ -x "$GEN" ]; then
	"$GEN" -n 300 -f 20 -o "$work/caps/gen-us.pcap"
	"$GEN" -n 300 -f 20 --ns --seed 2 --ipv6-share 50 --vlan-share 40 \
		-o "$work/caps/gen-ns-v6-vlan.pcap"
	"$GEN" -n 300 -f 10 --big-endian --seed 3 --udp-share 50 --rst-share 30 \
		--refused-share 20 -o "$work/caps/gen-be-udp-rst.pcap"
	"$GEN" -n 300 -f 10 --seed 4 --flood-share 60 -s 96 -o "$work/caps/gen-flood.pcap"
else
	echo "seeds.sh: $GEN not built: no netmoon-gen seeds (make programs)" >&2
fi

if [ -d "$SHARED" ]; then
	for f in "$SHARED"/*.pcap "$SHARED"/*.pcapng; do
		[ -f "$f" ] && cp "$f" "$work/caps/shared-$(basename "$f")"
	done
else
	echo "seeds.sh: $SHARED not found: seeds from our own captures only" >&2
fi

ncaps=$(find "$work/caps" -type f | wc -l)
if [ "$ncaps" -eq 0 ]; then
	echo "seeds.sh: no capture files to seed from" >&2
	exit 1
fi

# --- whole files: the reader ----------------------------------------------
mkdir -p "$FUZZ/corpus-fuzz-capture"
cp "$work/caps/"* "$FUZZ/corpus-fuzz-capture/"
echo "seeds.sh: corpus-fuzz-capture: $ncaps capture file(s)"

# --- filter expressions (a link-type byte, then the text) -----------------
dir=$FUZZ/corpus-fuzz-filter
mkdir -p "$dir"
n=0
while IFS= read -r e; do
	n=$((n + 1))
	printf '\001%s' "$e" >"$dir/e$n"
done <tests/filter-exprs.txt
echo "seeds.sh: corpus-fuzz-filter: $n input(s)"

# --- frames and packet sequences ------------------------------------------
if [ ! -x "$EXTRACT" ]; then
	echo "seeds.sh: $EXTRACT not built: only corpus-fuzz-capture was made" >&2
	exit 0
fi
for mode in frame conntable writer; do
	dir=$FUZZ/corpus-fuzz-$mode
	mkdir -p "$dir"
	# One capture at a time: a file the reader rejects only loses its own seeds.
	for f in "$work/caps/"*; do
		"$EXTRACT" "$mode" "$dir" -m "$PER_FILE" "$f" >/dev/null 2>&1 || true
	done
	echo "seeds.sh: corpus-fuzz-$mode: $(find "$dir" -type f | wc -l) input(s)"
done
