#!/bin/sh
# make fuzz: builds every tests/fuzz/fuzz_*.c with clang's libFuzzer, ASan
# and UBSan, and runs each for SECONDS (default 60) on its seed corpus in
# tests/fuzz/corpus/NAME. New inputs go to build-fuzz/corpus/NAME so the
# checked-in seeds stay small. A crash stops with the reproducer's path.
set -eu
SECONDS_EACH=${1:-60}
top=$(cd "$(dirname "$0")/../.." && pwd)
B="$top/build-fuzz"
cd "$top"
make -s B="$B" CC=clang CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" "$B/libpostbote.a"
LIBS="$(pkg-config --libs sqlite3 jansson libidn2 libcrypto libssl gumbo libcares libmicrohttpd gmime-3.0 libcurl) -lcsv -lunistring -lm -lpthread"
CFLAGS="-std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -O1 -g -iquote engine $(pkg-config --cflags jansson)"
status=0
for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	corpus=${name#fuzz_}
	bin="$B/$name"
	clang $CFLAGS -fsanitize=fuzzer,address,undefined -o "$bin" "$src" \
	    "$B/libpostbote.a" $LIBS
	mkdir -p "$B/corpus/$corpus" "tests/fuzz/corpus/$corpus"
	echo "== $name for ${SECONDS_EACH}s"
	if ! "$bin" -max_total_time="$SECONDS_EACH" -max_len=65536 \
	    -artifact_prefix="$B/$name-" -print_final_stats=0 \
	    "$B/corpus/$corpus" "tests/fuzz/corpus/$corpus" 2>"$B/$name.log"; then
		tail -30 "$B/$name.log"
		echo "fuzz: $name found a crash (reproducer in $B/$name-*)"
		status=1
	else
		grep -E '^#[0-9]+.*DONE' "$B/$name.log" | tail -1 || true
	fi
done
exit $status
