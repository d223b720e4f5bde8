#!/bin/sh
# Install into a temporary DESTDIR, then build and run a small program the way
# a user would: with pkg-config --cflags --libs libnetmoon.  The expected
# counts are tshark's for the sample capture: 75 frames; 4 TCP and 2 UDP
# conversations, 1 ICMP echo exchange, and 9 distinct ICMPv6
# (src, dst, type, code) tuples of neighbour discovery and MLD = 16 flows.
set -eu
build=${1:-build}
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
make -s --no-print-directory BUILD="$build" install DESTDIR="$dest" PREFIX=/opt/netmoon >/dev/null
export PKG_CONFIG_PATH="$dest/opt/netmoon/lib/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$dest"
pkg-config --exists libnetmoon
ver=$(sed -n 's/^#define NETMOON_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\).*/\2/p' \
	include/netmoon/version.h | paste -sd.)
[ "$(pkg-config --modversion libnetmoon)" = "$ver" ] ||
	{ echo "pkg-config says $(pkg-config --modversion libnetmoon), the header $ver"; exit 1; }
${CC:-cc} -std=c11 -Wall -Werror -o "$dest/hello" tests/downstream/hello.c \
	$(pkg-config --cflags --libs libnetmoon)
out=$(LD_LIBRARY_PATH="$dest/opt/netmoon/lib" "$dest/hello" tests/fixtures/sample.pcap)
echo "$out"
echo "$out" | grep -q "75 packets, 16 connections"
# The installed program runs too.
LD_LIBRARY_PATH="$dest/opt/netmoon/lib" "$dest/opt/netmoon/bin/netmoon-csv" -r tests/fixtures/sample.pcap | grep -q '^ts_first,'
