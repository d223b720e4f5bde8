#!/bin/sh
# ABI checks on the shared library in $1/lib:
#  - every exported symbol starts with netmoon_ and is in the version script,
#    and every symbol of the version script is exported;
#  - every exported symbol is declared in a public header right after a
#    Doxygen comment;
#  - every public header compiles on its own, as C and as C++;
#  - abidiff against the committed baseline tests/abi/libnetmoon.abi finds no change
#    (after an intended change: make abi-baseline, and say why in CHANGELOG.md).
set -eu
build=${1:-build}
# The library the SONAME link points to (older builds may sit beside it).
so=$(readlink -f "$build/lib/libnetmoon.so.0")
map=libnetmoon/libnetmoon.map
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

nm -D --defined-only "$so" | awk '$2 ~ /^[TDBR]$/ {print $3}' | sed 's/@.*//' | sort -u > "$tmp/exported"
sed -n 's/^[[:space:]]*\(netmoon_[a-z0-9_]*\);.*/\1/p' "$map" | sort -u > "$tmp/mapped"

bad=$(grep -v '^netmoon_' "$tmp/exported" || true)
[ -z "$bad" ] || { echo "exported symbols without the netmoon_ prefix: $bad"; fail=1; }
bad=$(grep '^netmoon__' "$tmp/exported" || true)
[ -z "$bad" ] || { echo "internal netmoon__ symbols exported: $bad"; fail=1; }
bad=$(comm -23 "$tmp/exported" "$tmp/mapped")
[ -z "$bad" ] || { echo "exported but not in $map: $bad"; fail=1; }
bad=$(comm -13 "$tmp/exported" "$tmp/mapped")
[ -z "$bad" ] || { echo "in $map but not exported: $bad"; fail=1; }
# Symbols must carry the version node.
if nm -D --defined-only "$so" | grep ' netmoon_' | grep -vq '@@NETMOON_'; then
	echo "exported symbols without a NETMOON_ version node"; fail=1
fi

# Documented: the declaration's first line is preceded by the end of a /** */ block.
while read -r sym; do
	ok=$(awk -v s="$sym" '
		/\/\*\*/ { indoc = 1; hasbrief = 0 }
		indoc && /@brief|[A-Za-z]/ { hasbrief = 1 }
		indoc && /\*\// { indoc = 0; lastdoc = NR; next }
		!indoc && $0 ~ ("[ *]" s "\\(") {
			# allow the declaration to span lines after NETMOON_API
			if (lastdoc >= NR - 2 && hasbrief) { print "yes"; exit }
		}
		!indoc && NF == 0 { lastdoc = 0 }
	' include/netmoon/*.h)
	[ "$ok" = yes ] || { echo "exported symbol $sym has no Doxygen comment in include/netmoon/"; fail=1; }
done < "$tmp/exported"

for h in include/netmoon/*.h; do
	n=$(basename "$h")
	printf '#include <netmoon/%s>\nint netmoon_check_dummy(void);\n' "$n" > "$tmp/h.c"
	${CC:-cc} -std=c11 -Wall -Wextra -Werror -Iinclude -c -o "$tmp/h.o" "$tmp/h.c" ||
		{ echo "$h does not compile on its own as C11"; fail=1; }
	if command -v c++ >/dev/null 2>&1; then
		c++ -x c++ -std=c++11 -Wall -Werror -Iinclude -c -o "$tmp/h.o" "$tmp/h.c" ||
			{ echo "$h does not compile as C++"; fail=1; }
	fi
done

if [ -f tests/abi/libnetmoon.abi ]; then
	abidw --no-corpus-path --headers-dir include/netmoon "$so" > "$tmp/now.abi"
	set +e
	abidiff --headers-dir2 include/netmoon tests/abi/libnetmoon.abi "$tmp/now.abi" > "$tmp/diff"
	rc=$?
	set -e
	if [ $rc -ne 0 ]; then
		cat "$tmp/diff"
		if [ $((rc & 8)) -ne 0 ]; then
			echo "abidiff: INCOMPATIBLE ABI change against tests/abi/libnetmoon.abi"
		else
			echo "abidiff: ABI changed (rc $rc); if intended: make abi-baseline, commit it, and note it in CHANGELOG.md"
		fi
		fail=1
	fi
else
	echo "tests/abi/libnetmoon.abi missing: run make abi-baseline"; fail=1
fi
exit $fail
