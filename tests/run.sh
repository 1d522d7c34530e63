#!/bin/sh
# Runs every test: the cmocka unit binaries in BUILD/tests and the TAP
# scripts in tests/integration, then prints one closing line:
#   N passed, N failed
# A test program that dies without reporting counts as one failure.
set -u
B=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
export POSTBOTE="$top/$B/postbote"
export TESTS="$top/tests"
pass=0
fail=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

tally() {		# name exit-status
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $1 exited with status $2 without reporting a failure"
	fi
	grep '^not ok ' "$log"
	pass=$((pass + p))
	fail=$((fail + f))
	printf '%-40s %4d passed, %d failed\n' "$1" "$p" "$f"
}

for t in "$top/$B"/tests/test_*; do
	[ -x "$t" ] || continue
	CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$log" 2>&1
	rc=$?
	tally "unit/$(basename "$t")" "$rc"
done
for t in "$top"/tests/integration/*.sh; do
	[ -f "$t" ] || continue
	bash "$t" >"$log" 2>&1
	rc=$?
	tally "integration/$(basename "$t" .sh)" "$rc"
	if [ -n "${VERBOSE:-}" ] || grep -q '^not ok' "$log"; then
		grep '^#' "$log" | head -40
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
