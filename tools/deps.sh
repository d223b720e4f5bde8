#!/bin/sh
# Make sure what a make target needs is installed.  As root on Debian it
# installs what is missing with apt-get; otherwise it names the packages to
# install and fails.
#   tools/deps.sh build|check|docs|bench|bench-live|all
set -eu
mode=${1:-check}

case "$mode" in
build) pkgs="gcc make pkg-config libncurses-dev" ;;
check) pkgs="gcc make pkg-config libncurses-dev libcmocka-dev abigail-tools valgrind tcpdump tshark iproute2 util-linux tmux" ;;
docs) pkgs="doxygen" ;;
bench) pkgs="gcc make libpcap-dev gnuplot-nox" ;;
bench-live) pkgs="gcc make netsniff-ng tcpdump iproute2" ;;
all) pkgs="gcc clang make pkg-config libncurses-dev libcmocka-dev abigail-tools valgrind doxygen libpcap-dev gnuplot-nox tshark tcpdump iproute2 util-linux tmux netsniff-ng" ;;
*) echo "usage: $0 build|check|docs|bench|bench-live|all" >&2; exit 1 ;;
esac

missing=""
if command -v dpkg-query >/dev/null 2>&1; then
	for p in $pkgs; do
		st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
		case "$st" in *"install ok installed"*) ;; *) missing="$missing $p" ;; esac
	done
else
	# Not Debian: check the things themselves.
	command -v cc >/dev/null 2>&1 || missing="$missing a-C-compiler"
	case " $pkgs " in *" libcmocka-dev "*)
		printf '#include <stdarg.h>\n#include <stddef.h>\n#include <setjmp.h>\n#include <stdint.h>\n#include <cmocka.h>\n' |
			cc -E -x c - >/dev/null 2>&1 || missing="$missing cmocka(development-files)" ;;
	esac
	[ -z "$missing" ] && exit 0
	echo "error: missing:$missing; install them with your package manager" >&2
	exit 1
fi

[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "deps: installing$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 ||
		{ apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends $missing >/dev/null; } || {
		echo "error: could not install$missing; run: apt-get install$missing" >&2
		exit 1
	}
	exit 0
fi
echo "error: missing packages:$missing" >&2
echo "       install them with: sudo apt-get install$missing" >&2
exit 1
