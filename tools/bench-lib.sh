# SPDX-License-Identifier: BSD-3-Clause
# Helpers shared by tools/bench.sh, tools/bench-scale.sh and
# tools/bench-live.sh (sourced, POSIX sh).  sh functions share the caller's
# variables: every variable here has a bl_ prefix.

kv() { # KEY FILE: the value of the first KEY=VALUE word in FILE
	awk -v k="$1=" '{ for (i = 1; i <= NF; i++) if (index($i, k) == 1) { print substr($i, length(k) + 1); exit } }' "$2"
}

median() { # one number per line on stdin -> the median (lower middle)
	sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "" }'
}

# page_cache_load FILE: drop FILE from the page cache, then read it in one
# pass, so that every tool reads it from memory and always from the same
# state: how the cache holds a file (large folios after one sequential read,
# small pages after pieces of it were evicted and read back) changes how
# fast a mapping of it reads, by up to twice here.
page_cache_load() {
	dd if="$1" iflag=nocache count=0 status=none 2>/dev/null || :
	cat "$1" >/dev/null
}

# measure_with RUSAGE_RUN: define measure OUT COMMAND... which runs COMMAND
# and appends "rusage: seconds=S maxrss_kb=K" to OUT, with bench/rusage-run
# when built, /usr/bin/time otherwise, or the wall clock alone.
measure_with() {
	bl_rusage_run=$1
	if [ -x "$bl_rusage_run" ]; then
		measure() { bl_out=$1; shift; "$bl_rusage_run" -o "$bl_out" "$@"; }
	elif [ -x /usr/bin/time ]; then
		measure() { bl_out=$1; shift; /usr/bin/time -a -o "$bl_out" -f 'rusage: seconds=%e maxrss_kb=%M status=%x' "$@"; }
	else
		measure() {
			bl_out=$1; shift
			bl_t0=$(date +%s.%N)
			"$@" || return
			echo "rusage: seconds=$(echo "$(date +%s.%N) $bl_t0" | awk '{ print $1 - $2 }') maxrss_kb=n/a" >>"$bl_out"
		}
	fi
}
