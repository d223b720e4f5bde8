#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Run every built fuzz target for SECONDS each on its seed corpus:
#
#   tools/fuzz-long.sh SECONDS [BUILD] [NAME...]
#
# BUILD defaults to "build"; the targets are the executables BUILD/fuzz/fuzz-*
# (make fuzz), or only the NAMEs given (such as fuzz-frame).  Each runs with
# -max_total_time=SECONDS on BUILD/fuzz/corpus-NAME (tests/fuzz/seeds.sh
# fills it; new inputs the fuzzer finds are added to it), one after the
# other.  A line per target gives its executions, its final coverage
# (libFuzzer's cov:) and whether it crashed.
#
# A crash, sanitizer report, leak, timeout or out-of-memory input is copied
# to tests/fuzz-regressions/NAME/ with a line in NOTES.md there on how to
# replay it; minimise it (see tests/fuzz-regressions/README.md) before it
# is committed.  Exit status: 0 when no target crashed, 1 when one did,
# 2 for a usage error or when no target is built.
#
# Environment: FUZZ_MAX_LEN (default 65536), FUZZ_RSS_MB (default 2048),
# FUZZ_TIMEOUT (seconds one input may take; default 25), FUZZ_ARGS (more
# libFuzzer options).
set -u
cd "$(dirname "$0")/.." || exit 2

usage() {
	echo "usage: tools/fuzz-long.sh SECONDS [BUILD] [NAME...]" >&2
	exit 2
}

[ $# -ge 1 ] || usage
SECONDS_EACH=$1
shift
case $SECONDS_EACH in
'' | *[!0-9]*) usage ;;
esac
BUILD=build
if [ $# -ge 1 ] && [ -d "$1" ]; then
	BUILD=$1
	shift
fi
FUZZ=$BUILD/fuzz
REG=tests/fuzz-regressions

if [ $# -ge 1 ]; then
	targets=
	for n in "$@"; do
		targets="$targets $FUZZ/$n"
	done
else
	targets=$(find "$FUZZ" -maxdepth 1 -type f -name 'fuzz-*' -perm -u+x 2>/dev/null | sort)
fi
[ -n "$targets" ] || { echo "fuzz-long: no fuzz targets in $FUZZ (make fuzz)" >&2; exit 2; }

status=0
total_execs=0
for t in $targets; do
	name=$(basename "$t")
	if [ ! -x "$t" ]; then
		echo "fuzz-long: $t is not built" >&2
		status=1
		continue
	fi
	corpus=$FUZZ/corpus-$name
	art=$FUZZ/artifacts-$name
	log=$FUZZ/$name.log
	mkdir -p "$corpus" "$art"
	# shellcheck disable=SC2086 # FUZZ_ARGS is a list of options
	"$t" -max_total_time="$SECONDS_EACH" -max_len="${FUZZ_MAX_LEN:-65536}" \
		-rss_limit_mb="${FUZZ_RSS_MB:-2048}" -timeout="${FUZZ_TIMEOUT:-25}" \
		-print_final_stats=1 -artifact_prefix="$art/" ${FUZZ_ARGS:-} "$corpus" \
		>"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | sed 's/cov: //')
	execs=${execs:-0}
	total_execs=$((total_execs + execs))
	# Saved artifacts are moved out below, so what is here is new.
	found=$(find "$art" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
		-o -name 'oom-*' \) 2>/dev/null | sort)
	if [ $rc -eq 0 ] && [ -z "$found" ]; then
		printf '%-20s %12s executions  cov: %-6s ok\n' "$name" "$execs" "${cov:-?}"
		continue
	fi
	status=1
	printf '%-20s %12s executions  cov: %-6s CRASH (exit %d, log %s)\n' "$name" "$execs" \
		"${cov:-?}" "$rc" "$log"
	grep -m 3 -E 'ERROR:|runtime error:|invariant broken|mismatch at' "$log" | sed 's/^/    /'
	mkdir -p "$REG/$name"
	for f in $found; do
		cp "$f" "$REG/$name/"
		{
			echo "- \`$(basename "$f")\`: found by tools/fuzz-long.sh on $(date -u +%Y-%m-%d);"
			echo "  replay: \`$BUILD/fuzz/$name $REG/$name/$(basename "$f")\` (libFuzzer build) or"
			echo "  \`$BUILD/fuzz/replay/$name $REG/$name/$(basename "$f")\` (gcc replay driver);"
			echo "  minimise: \`$BUILD/fuzz/$name -minimize_crash=1 -max_total_time=60 FILE\`."
		} >>"$REG/$name/NOTES.md"
		echo "    saved $REG/$name/$(basename "$f")"
		rm -f "$f"
	done
done
echo "fuzz-long: $total_execs executions in all, $SECONDS_EACH s per target"
exit $status
