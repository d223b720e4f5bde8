#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Replay every input saved in tests/fuzz-regressions/NAME/ through the plain
# (gcc) replay driver of fuzz target NAME: none may crash, abort or hang.
#
#   tests/check-fuzz-regressions.sh [BUILD]      (BUILD defaults to "build")
#
# The drivers are BUILD/fuzz/replay/NAME (make fuzz-replay): the target's
# LLVMFuzzerTestOneInput() with tests/fuzz/replay.c's main(), so this runs
# without clang or libFuzzer, and under valgrind or ASan when the build is.
# Notes (*.md, *.txt) next to the inputs are not replayed.
#
# Exit status: 0 when every input passes (or there are none yet: "no
# regressions yet"); 1 when one crashes; 77 (skipped) when a driver that is
# needed is not built.
set -u
cd "$(dirname "$0")/.." || exit 1

BUILD=${1:-build}
REG=tests/fuzz-regressions
REPLAY=$BUILD/fuzz/replay
TIMEOUT=${FUZZ_REPLAY_TIMEOUT:-120}

inputs() {
	find "$1" -maxdepth 1 -type f ! -name '*.md' ! -name '*.txt' ! -name '.*' | sort
}

total=0
for d in "$REG"/*/; do
	[ -d "$d" ] || continue
	n=$(inputs "$d" | wc -l)
	total=$((total + n))
done
if [ "$total" -eq 0 ]; then
	echo "check-fuzz-regressions: no regressions yet"
	exit 0
fi

# Every target with inputs needs its driver.
for d in "$REG"/*/; do
	name=$(basename "$d")
	[ -n "$(inputs "$d")" ] || continue
	if [ ! -x "$REPLAY/$name" ]; then
		echo "check-fuzz-regressions: SKIP: $REPLAY/$name not built (make fuzz-replay)"
		exit 77
	fi
done

fail=0
pass=0
for d in "$REG"/*/; do
	name=$(basename "$d")
	for f in $(inputs "$d"); do
		if out=$(timeout "$TIMEOUT" "$REPLAY/$name" "$f" 2>&1); then
			pass=$((pass + 1))
		else
			rc=$?
			fail=$((fail + 1))
			echo "FAIL: $name $f (exit $rc)"
			printf '%s\n' "$out" | grep -m 5 -E 'invariant|mismatch|ERROR|runtime error|#[0-9]+ ' |
				sed 's/^/    /'
		fi
	done
done
echo "check-fuzz-regressions: $pass passed, $fail failed, of $total input(s)"
[ "$fail" -eq 0 ]
