#!/bin/sh
# The memory benchmark (run by tests/bench/run.sh): peak RSS of a whole
# `postbote send` of 10,000 and of 1,000,000 recipients over 500 domains
# to Postfix's smtp-sink, unsigned, shaping off. Memory must not grow
# with the list (DESIGN.md invariant 2): the two should be within 20 %,
# and the big one under 64 MB. Also the time from `send` to the first
# message on the wire at 1,000,000 recipients, audience resolution
# included (a draft campaign over the whole list): first_sink.py serves
# SMTP itself, starts the send, notes when the first message's final "."
# arrives (one process, one monotonic clock), then stops the send with
# SIGTERM. Each list is generated and imported once; every send is a new
# campaign over it. RUNS (3) rounds interleaved - small, big, first
# message - and medians; BENCH_MEMORY_BIG scales the big list down for
# quick tries. Writes build/bench/memory.json.
# usage: tests/bench/memory.sh BUILD/postbote
set -eu
PB=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
top=$(cd "$(dirname "$0")/../.." && pwd)
out="$top/build/bench"
PY=/usr/bin/python3
M="$PY $top/tests/bench/measure.py"
d="$out/memory"
rm -rf "$d"
mkdir -p "$d"
SMALL=10000
BIG=${BENCH_MEMORY_BIG:-1000000}
RUNS=${BENCH_RUNS:-3}

port=$($PY "$top/tests/tools/free_port.py")
# -u: smtp-sink drops root for this user; 1024: the listen backlog.
smtp-sink -u nobody 127.0.0.1:"$port" 1024 &
sink=$!
trap 'kill $sink 2>/dev/null || true' EXIT
$PY - "$port" <<'PY'
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit("smtp-sink does not answer")
PY

# config PORT: routes every recipient domain to 127.0.0.1:PORT, no limits.
config() {
	cat <<JSON
{ "hostname": "bench.example",
  "delivery": { "routes": { "*.example": { "host": "127.0.0.1", "port": $1, "tls": "none" } } },
  "shaping": { "default": { "rate": "unlimited", "connections": 20 } } }
JSON
}
config "$port" > "$d/postbote.json"
export POSTBOTE_CONFIG="$d/postbote.json"
# The unsubscribe link keeps `send`'s content checks (lint) quiet.
printf '<p>Hello {{ first_name }} from {{ city }}</p>\n<p><a href="https://example.com/unsubscribe">Unsubscribe</a></p>\n' > "$d/t.html"
field() { $PY -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

# prepare N: a database of its own with a list l of N recipients and
# the template t.
prepare() {
	db="$d/m$1.db"
	awk -v n="$1" 'BEGIN { print "email,first_name,city";
		for (i = 1; i <= n; i++)
			printf "u%d@d%d.example,N%d,C%d\n", i, i % 500, i, i % 97 }' \
	    > "$d/l$1.csv"
	"$PB" --db "$db" init >/dev/null
	"$PB" --db "$db" list import l "$d/l$1.csv" >/dev/null
	"$PB" --db "$db" template add t --subject 'Hi {{ first_name }}' \
	    --html "$d/t.html" >/dev/null
}

# send_once N R: "wall rss_kib" of a send of a new campaign cR over the
# list of N, which must deliver every one.
send_once() {
	db="$d/m$1.db"
	"$PB" --db "$db" campaign create "c$2" --list l --template t \
	    --from 'N <n@bench.example>' >/dev/null
	r=$($M "$PB" --db "$db" send "c$2" --quiet --no-dkim)
	ok=$(sqlite3 "$db" "SELECT count(*) FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id WHERE c.name = 'c$2' AND d.status = 'delivered'")
	[ "$ok" = "$1" ] || { echo "memory: c$2 of $1: only $ok delivered" >&2; exit 1; }
	echo "$(echo "$r" | field wall) $(echo "$r" | field rss_kib)"
}

# first_once R: the first message of a new draft campaign fR over the big
# list, on a fresh copy of its database as imported (so every run starts
# from the same store), routed to first_sink.py on a port of its own.
# Appends first_sink.py's JSON to first.jsonl and prints the seconds.
first_once() {
	rm -f "$d/first.db" "$d/first.db-wal" "$d/first.db-shm"
	cp "$d/big.db" "$d/first.db"
	[ ! -e "$d/big.db-wal" ] || cp "$d/big.db-wal" "$d/first.db-wal"
	fport=$($PY "$top/tests/tools/free_port.py")
	config "$fport" > "$d/first.json"
	"$PB" --db "$d/first.db" campaign create "f$1" --list l --template t \
	    --from 'N <n@bench.example>' >/dev/null
	POSTBOTE_CONFIG="$d/first.json" $PY "$top/tests/bench/first_sink.py" \
	    "$fport" -- "$PB" --db "$d/first.db" send "f$1" --quiet --no-dkim \
	    > "$d/first-$1.json" 2> "$d/first-$1.err" || {
		echo "memory: first message, run $1, failed:" >&2
		cat "$d/first-$1.json" "$d/first-$1.err" >&2
		exit 1
	}
	cat "$d/first-$1.json" >> "$d/first.jsonl"
	field first_message_s < "$d/first-$1.json"
}

echo "memory: generating and importing $SMALL and $BIG recipients"
prepare "$SMALL"
prepare "$BIG"
# The big list as imported, before any campaign, for first_once.
cp "$d/m$BIG.db" "$d/big.db"
[ ! -e "$d/m$BIG.db-wal" ] || cp "$d/m$BIG.db-wal" "$d/big.db-wal"

: > "$d/runs.txt"
: > "$d/first.jsonl"
r=1
while [ "$r" -le "$RUNS" ]; do
	small=$(send_once "$SMALL" "$r")
	big=$(send_once "$BIG" "$r")
	first=$(first_once "$r")
	echo "$small $big $first" >> "$d/runs.txt"
	echo "run $r: $SMALL: $small, $BIG: $big (wall s, RSS KiB); first message at $BIG: $first s"
	r=$((r + 1))
done

# The copies are only for first_once (the send databases stay, to look at).
rm -f "$d/big.db" "$d/big.db-wal" "$d/first.db" "$d/first.db-wal" "$d/first.db-shm"

$PY - "$SMALL" "$BIG" "$d/runs.txt" "$d/first.jsonl" > "$out/memory.json" <<'PY'
import json, statistics, sys
small, big = int(sys.argv[1]), int(sys.argv[2])
runs = [list(map(float, l.split())) for l in open(sys.argv[3]) if l.strip()]
first = [json.loads(l) for l in open(sys.argv[4]) if l.strip()]
col = lambda k: [r[k] for r in runs]
med = statistics.median
sw, sr, bw, br, fm = (med(col(k)) for k in range(5))
fdet = lambda k: med(f[k] for f in first) if all(k in f for f in first) else None
print(json.dumps({
    "runs": len(runs),
    "small": small, "small_seconds": sw, "small_rss_kib": int(sr),
    "big": big, "big_seconds": bw, "big_rss_kib": int(br),
    "big_rss_bytes": int(br) * 1024,
    "big_per_s": round(big / bw),
    "rss_ratio": round(br / sr, 3),
    "small_seconds_runs": col(0), "small_rss_kib_runs": [int(x) for x in col(1)],
    "big_seconds_runs": col(2), "big_rss_kib_runs": [int(x) for x in col(3)],
    "rss_ratio_runs": [round(r[3] / r[1], 3) for r in runs],
    "first_message_recipients": big,
    "first_message_s": fm,
    "first_message_s_runs": col(4),
    "first_connect_s": fdet("first_connect_s"),
    "first_message_stop_s": fdet("stop_s"),
    "first_message_details": first,
    "targets": {"big_rss_bytes": 64 * 10**6, "rss_ratio": 1.2,
                "first_message_s": 3},
}, indent=2))
PY
$PY - "$out/memory.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
mb = lambda kib: kib * 1024 / 1e6
print()
print("Memory benchmark, whole `postbote send`, unsigned, 500 domains, "
      "median of %d interleaved runs" % j["runs"])
print("  %-46s %12s %12s" % ("what", "figure", "target"))
print("  %-46s %9.1f MB %12s" % ("peak RSS, %s recipients" % format(j["small"], ","),
      mb(j["small_rss_kib"]), ""))
print("  %-46s %9.1f MB %12s" % ("peak RSS, %s recipients" % format(j["big"], ","),
      mb(j["big_rss_kib"]), "<= 64 MB"))
print("  %-46s %11.3fx %12s" % ("  big / small", j["rss_ratio"], "<= 1.2x"))
print("  %-46s %10.2f s %12s" % ("  send of %s (%s/s)" % (format(j["big"], ","),
      format(j["big_per_s"], ",")), j["big_seconds"], ""))
print("  %-46s %10.3f s %12s" % ("send to first message, %s" %
      format(j["first_message_recipients"], ","), j["first_message_s"], "<= 3 s"))
print("  %-46s %10.3f s" % ("  send to first connection", j["first_connect_s"]))
print("  runs: RSS %s / %s KiB; first message %s s" % (j["small_rss_kib_runs"],
      j["big_rss_kib_runs"], j["first_message_s_runs"]))
print("  MB = 10^6 bytes; figures: %s" % sys.argv[1])
PY
