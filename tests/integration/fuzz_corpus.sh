#!/bin/bash
# fuzz_corpus.sh - every fuzz target's seed corpus (tests/fuzz/corpus/NAME),
# regress-* reproducers included, replayed without libFuzzer: `make test`
# builds each tests/fuzz/fuzz_NAME.c with tests/fuzz/replay.c into
# BUILD/fuzz/fuzz_NAME, with the normal compiler and flags, so under
# SAN=1 a seed that reads out of bounds or overflows fails here.
#
#   one line per target: it is built, it has seeds, and it ran all of
#   them with exit 0 (no crash, no abort, no sanitizer report)
#   corpora           every corpus directory belongs to a target
# Runs alone too: bash tests/integration/fuzz_corpus.sh.
: "${TESTS:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${POSTBOTE:=$TESTS/../build/postbote}"
export TESTS POSTBOTE
. "$TESTS/lib.sh"

FZ=$(dirname "$POSTBOTE")/fuzz
CORPUS=$TESTS/fuzz/corpus
# A sanitizer report ends the run with a failing status, leaks included.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

for src in "$TESTS"/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	corpus=$CORPUS/${name#fuzz_}
	bin=$FZ/$name
	if [ ! -x "$bin" ]; then
		notok "$name: $bin is not built (make test builds it)"
		continue
	fi
	seeds=()
	for f in "$corpus"/*; do
		[ -f "$f" ] && seeds+=("$f")
	done
	if [ "${#seeds[@]}" -eq 0 ]; then
		notok "$name: no seeds in $corpus"
		continue
	fi
	regress=0
	for f in "${seeds[@]}"; do
		case $(basename "$f") in regress-*) regress=$((regress + 1)) ;; esac
	done
	"$bin" "${seeds[@]}" >"out.$name" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ]; then
		ok "$name: ${#seeds[@]} seeds ($regress regress-*) replayed"
	else
		notok "$name: exit $rc replaying $corpus"
		# The last input named is the one that failed.
		grep '^replay: ' "out.$name" | tail -1 | sed 's/^/#   /'
		grep -v '^replay: ' "out.$name" | head -30 | sed 's/^/#   /'
	fi
done

orphans=""
for d in "$CORPUS"/*/; do
	d=$(basename "$d")
	[ -f "$TESTS/fuzz/fuzz_$d.c" ] || orphans="$orphans $d"
done
eq "every corpus directory has its target" "$orphans" ""
