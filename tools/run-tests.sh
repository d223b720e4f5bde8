#!/bin/sh
# Run every test suite against the build in $1 and print one closing line:
#   check: N passed, N failed
# cmocka suites report their own counts; each script check counts as one test.
# NETMOON_VALGRIND=1 runs the cmocka suites under memcheck (errors and leaks fail).
# NETMOON_ASAN=1 marks an ASan/UBSan build (the ABI and downstream checks are skipped:
# they are about the normal build).
set -u
build=${1:-build}
export NETMOON_BUILD="$build"
passed=0
failed=0
failed_names=""
log=$(mktemp)
trap 'rm -f "$log"' EXIT

count_cmocka() {
	# $1 = log file; adds cmocka's "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)."
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' "$1" | awk '{s+=$1} END {print s+0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:/\1/p' "$1" | awk '{s+=$1} END {print s+0}')
	passed=$((passed + p))
	failed=$((failed + f))
}

for t in "$build"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	if [ "${NETMOON_VALGRIND:-0}" = 1 ]; then
		valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=all \
			--show-leak-kinds=all --trace-children=yes \
			--trace-children-skip='*/tshark,*/tcpdump,*/sh,*/bash' "$t" >"$log" 2>&1
	else
		"$t" >"$log" 2>&1
	fi
	rc=$?
	cat "$log"
	count_cmocka "$log"
	if [ $rc -ne 0 ]; then
		if ! grep -q '^\[  FAILED  \]' "$log"; then
			failed=$((failed + 1)) # crashed, or valgrind found errors
		fi
		failed_names="$failed_names $name"
	fi
done

if [ "${NETMOON_ASAN:-0}" != 1 ]; then
	for s in tests/check-*.sh; do
		[ -x "$s" ] || continue
		name=$(basename "$s" .sh)
		echo "[ RUN      ] $name"
		# 77: skipped (no root, no namespaces, a tool missing); the
		# script has said why.
		src=0
		"$s" "$build" || src=$?
		if [ "$src" -eq 0 ]; then
			echo "[       OK ] $name"
			passed=$((passed + 1))
		elif [ "$src" -eq 77 ]; then
			echo "[  SKIPPED ] $name"
		else
			echo "[  FAILED  ] $name"
			failed=$((failed + 1))
			failed_names="$failed_names $name"
		fi
	done
fi

[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ -z "$failed_names" ]
