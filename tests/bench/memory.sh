#!/bin/sh
# The memory benchmark (run by tests/bench/run.sh): peak RSS of a whole
# `postbote send` of 10,000 and of 1,000,000 recipients over 500 domains
# to Postfix's smtp-sink, unsigned, shaping off. Memory must not grow
# with the list (DESIGN.md invariant 2): the two should be within 20 %.
# Writes build/bench/memory.json.
set -eu
PB=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
top=$(cd "$(dirname "$0")/../.." && pwd)
out="$top/build/bench"
M="/usr/bin/python3 $top/tests/bench/measure.py"
d="$out/memory"
rm -rf "$d"
mkdir -p "$d"
BIG=${BENCH_MEMORY_BIG:-1000000}

port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
smtp-sink -u nobody 127.0.0.1:"$port" 1024 &
sink=$!
trap 'kill $sink 2>/dev/null' EXIT
sleep 0.5
cat > "$d/postbote.json" <<JSON
{ "hostname": "bench.example",
  "delivery": { "routes": { "*.example": { "host": "127.0.0.1", "port": $port, "tls": "none" } } },
  "shaping": { "default": { "rate": "unlimited", "connections": 20 } } }
JSON
export POSTBOTE_CONFIG="$d/postbote.json"
printf '<p>Hello {{ first_name }} from {{ city }}</p>\n' > "$d/t.html"
field() { /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

# run N: "wall rss_kib" of a send of N recipients
run() {
	export POSTBOTE_DB="$d/m$1.db"
	awk -v n="$1" 'BEGIN { print "email,first_name,city";
		for (i = 1; i <= n; i++)
			printf "u%d@d%d.example,N%d,C%d\n", i, i % 500, i, i % 97 }' \
	    > "$d/l$1.csv"
	"$PB" init >/dev/null
	"$PB" list import l "$d/l$1.csv" >/dev/null
	"$PB" template add t --subject 'Hi {{ first_name }}' --html "$d/t.html" >/dev/null
	"$PB" campaign create c --list l --template t --from 'N <n@bench.example>' >/dev/null
	r=$($M "$PB" send c --quiet --no-dkim)
	echo "$(echo "$r" | field wall) $(echo "$r" | field rss_kib)"
}

small=$(run 10000)
big=$(run "$BIG")
echo "10,000: $small; $BIG: $big (wall s, RSS KiB)"
/usr/bin/python3 - "$BIG" $small $big > "$out/memory.json" <<'PY'
import json, sys
n, sw, sr, bw, br = int(sys.argv[1]), *map(float, sys.argv[2:6])
print(json.dumps({"small": 10000, "small_seconds": sw, "small_rss_kib": int(sr),
    "big": n, "big_seconds": bw, "big_rss_kib": int(br),
    "big_per_s": round(n / bw), "rss_ratio": round(br / sr, 3)}, indent=2))
PY
cat "$out/memory.json"
