#!/bin/sh
# make bench: every benchmark in turn, then the summary of every target
# (summary.py: one table, build/bench/summary.json). Figures go to
# build/bench/*.json and into the README by hand; nothing here is a
# pass/fail test, but a benchmark that fails is named at the end and
# makes the exit status 1 (the others still run, and the summary marks
# what that run did not write anew as stale).
# usage: tests/bench/run.sh BUILD/postbote
set -u
here=$(cd "$(dirname "$0")" && pwd)
pb=$1
since=$(date +%s)
failed=
step() {
	name=$1
	shift
	"$@" || failed="$failed $name"
}
step foundation sh "$here/foundation.sh" "$pb"
step render sh "$here/render.sh" "$(basename "$(dirname "$pb")")"
step send sh "$here/send.sh" "$pb"
step memory sh "$here/memory.sh" "$pb"
step feedback sh "$here/feedback.sh" "$pb"
step hygiene sh "$here/hygiene.sh" "$pb"
/usr/bin/python3 "$here/summary.py" --since "$since" || failed="$failed summary"
if [ -n "$failed" ]; then
	echo "make bench: failed:$failed" >&2
	exit 1
fi
