#!/bin/sh
# make fuzz: builds every tests/fuzz/fuzz_*.c with clang's libFuzzer, ASan
# and UBSan, and runs each for SECONDS (default 60) on its seed corpus in
# tests/fuzz/corpus/NAME. New inputs go to $FUZZ_BUILD/corpus/NAME so the
# checked-in seeds stay small. A crash stops with the reproducer's path.
#
#   FUZZ_BUILD=DIR       the build directory (default build-fuzz)
#   FUZZ_TARGETS="a b"   only these targets (fuzz_a.c, fuzz_b.c)
#
# tests/fuzz/NAME.dict, when there is one, is the target's libFuzzer
# dictionary (the words of its language).
#
# Every crash found becomes a regression seed: fix the bug, then copy the
# reproducer ($FUZZ_BUILD/fuzz_NAME-crash-...) to
# tests/fuzz/corpus/NAME/regress-SHORTDESC (what it broke, in a few
# words). `make test` replays every seed, regress-* ones included, with
# tests/fuzz/replay.c in place of libFuzzer and the normal compiler
# (tests/integration/fuzz_corpus.sh), so the bug stays fixed under
# gcc and under SAN=1 without clang. replay.c is never linked here:
# libFuzzer brings its own main().
set -eu
SECONDS_EACH=${1:-60}
top=$(cd "$(dirname "$0")/../.." && pwd)
B=${FUZZ_BUILD:-build-fuzz}
case $B in /*) ;; *) B="$top/$B" ;; esac
cd "$top"
make -s B="$B" CC=clang CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" "$B/libpostbote.a"
LIBS="$(pkg-config --libs sqlite3 jansson libidn2 libcrypto libssl gumbo libcares libmicrohttpd gmime-3.0 libcurl icu-i18n) -lcsv -lunistring -lm -lpthread"
CFLAGS="-std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -O1 -g -iquote engine $(pkg-config --cflags jansson)"
status=0
if [ -n "${FUZZ_TARGETS:-}" ]; then
	srcs=$(for t in $FUZZ_TARGETS; do echo "tests/fuzz/fuzz_${t#fuzz_}.c"; done)
else
	srcs=$(ls tests/fuzz/fuzz_*.c)
fi
for src in $srcs; do
	name=$(basename "$src" .c)
	corpus=${name#fuzz_}
	bin="$B/$name"
	clang $CFLAGS -fsanitize=fuzzer,address,undefined -o "$bin" "$src" \
	    "$B/libpostbote.a" $LIBS
	mkdir -p "$B/corpus/$corpus" "tests/fuzz/corpus/$corpus"
	dict=""
	[ -f "tests/fuzz/$corpus.dict" ] && dict="-dict=tests/fuzz/$corpus.dict"
	echo "== $name for ${SECONDS_EACH}s"
	# shellcheck disable=SC2086 # $dict is one word or none
	if ! "$bin" $dict -max_total_time="$SECONDS_EACH" -max_len=65536 \
	    -artifact_prefix="$B/$name-" -print_final_stats=1 \
	    "$B/corpus/$corpus" "tests/fuzz/corpus/$corpus" 2>"$B/$name.log"; then
		tail -30 "$B/$name.log"
		echo "fuzz: $name found a crash (reproducer in $B/$name-*)"
		status=1
	else
		grep -E '^#[0-9]+.*DONE' "$B/$name.log" | tail -1 || true
		grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' \
		    "$B/$name.log" | tr '\n' ' ' || true
		echo
	fi
done
exit $status
