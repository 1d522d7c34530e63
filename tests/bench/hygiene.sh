#!/bin/sh
# The hygiene benchmark: `postbote hygiene` over BENCH_HYGIENE_N
# recipients (default 1,000,000) on BENCH_HYGIENE_DOMAINS domains
# (default 50,000), every domain answered by a dnsmasq of our own on a
# free loopback port (--address: an A record and no MX, so each domain
# costs an MX, an A and an AAAA query, as an implicit MX does). Measured
# as whole commands with tests/bench/measure.py: with DNS, and with
# --no-dns (the store's part alone). Prints recipients/s and domains/s
# and writes build/bench/hygiene.json (run by tests/bench/run.sh).
# BENCH_HYGIENE_CONCURRENCY (default 64): look-ups in flight. One
# dnsmasq on loopback answers slower than c-ares asks; at 256 its socket
# buffer overflows (RcvbufErrors in /proc/net/snmp), the lost queries
# wait for their timeout and a few end as dns_failure, while 64 is as
# fast and loses none. A real recursive resolver takes the default 256.
# usage: tests/bench/hygiene.sh BUILD/postbote
set -eu
PB=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
top=$(cd "$(dirname "$0")/../.." && pwd)
out="$top/build/bench"
d="$out/hygiene"
rm -rf "$d"
mkdir -p "$d"
N=${BENCH_HYGIENE_N:-1000000}
D=${BENCH_HYGIENE_DOMAINS:-50000}
C=${BENCH_HYGIENE_CONCURRENCY:-64}
PY=/usr/bin/python3
export POSTBOTE_DB="$d/h.db"
export POSTBOTE_CONFIG="$d/postbote.json"

# free for UDP and TCP both, below the ephemeral range
port=$($PY "$top/tests/tools/free_port.py")
dnsmasq --no-resolv --no-hosts --port="$port" --listen-address=127.0.0.1 \
	--bind-interfaces --keep-in-foreground --conf-file=/dev/null \
	--cache-size=10000 --dns-forward-max=1000 \
	--local=/bench/ --address=/bench/127.0.0.1 2>"$d/dnsmasq.err" &
dm=$!
trap 'kill $dm 2>/dev/null || true' EXIT
sleep 0.5
cat >"$POSTBOTE_CONFIG" <<JSON
{ "delivery": { "dns_servers": ["127.0.0.1:$port"] },
  "hygiene": { "dns_concurrency": $C, "dns_timeout": "2s" } }
JSON
awk -v n="$N" -v d="$D" 'BEGIN { print "email";
	for (i = 1; i <= n; i++) printf "u%d@d%d.bench\n", i, i % d }' \
    >"$d/l.csv"
"$PB" init >/dev/null
"$PB" list import l "$d/l.csv" >/dev/null

dns=$($PY "$top/tests/bench/measure.py" "$PB" hygiene)
nodns=$($PY "$top/tests/bench/measure.py" "$PB" hygiene --no-dns)
"$PB" hygiene >"$d/report.txt"
$PY - "$N" "$D" "$dns" "$nodns" "$out/hygiene.json" "$d/report.txt" <<'PY'
import json, sys
n, d = int(sys.argv[1]), int(sys.argv[2])
dns, nodns = json.loads(sys.argv[3]), json.loads(sys.argv[4])
fails = [l for l in open(sys.argv[6]) if l.startswith(("dns_failure", "no_mx"))]
res = {"recipients": n, "domains": d,
       "wall_s": dns["wall"], "rss_kib": dns["rss_kib"],
       "recipients_per_s": round(n / dns["wall"]),
       "domains_per_s": round(d / dns["wall"]),
       "no_dns_wall_s": nodns["wall"], "no_dns_rss_kib": nodns["rss_kib"],
       "no_dns_recipients_per_s": round(n / nodns["wall"]),
       "dns_rows": [l.strip() for l in fails]}
json.dump(res, open(sys.argv[5], "w"), indent=2)
print("hygiene, %d recipients over %d domains: %.2f s (%d recipients/s, "
      "%d domains/s), peak RSS %.1f MiB" % (n, d, dns["wall"],
      res["recipients_per_s"], res["domains_per_s"], dns["rss_kib"] / 1024))
print("  without DNS: %.2f s (%d recipients/s), peak RSS %.1f MiB" % (
      nodns["wall"], res["no_dns_recipients_per_s"], nodns["rss_kib"] / 1024))
print("  " + "; ".join(res["dns_rows"]))
PY
