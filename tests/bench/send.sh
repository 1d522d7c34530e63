#!/bin/sh
# The send benchmark (run by tests/bench/run.sh): N recipients (100,000)
# over 500 domains, all routed to Postfix's smtp-sink on loopback, sent
# with a 10 KB personalised template and tracking on, signed with
# rsa-sha256, with ed25519-sha256, and unsigned; interleaved RUNS times,
# medians printed beside the machine's limits measured in the same run:
# smtp-source's raw rate into the same sink (20 sessions, 10 KB) and
# `openssl speed` signing on all cores (both in every round, so that the
# ratios compare figures of the same moments). The sink is ours, so
# shaping is off (no rate limit, 20 connections a domain, 200 in all by
# default). Writes build/bench/send.json.
set -eu
PB=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
top=$(cd "$(dirname "$0")/../.." && pwd)
out="$top/build/bench"
N=${BENCH_SEND_RECIPIENTS:-100000}
RUNS=${BENCH_RUNS:-3}
M="/usr/bin/python3 $top/tests/bench/measure.py"
d="$out/send"
rm -rf "$d"
mkdir -p "$d"
cores=$(nproc)

port=$(/usr/bin/python3 "$top/tests/tools/free_port.py")
# -u: smtp-sink drops root for this user; 1024: the listen backlog.
smtp-sink -u nobody 127.0.0.1:"$port" 1024 &
sink=$!
trap 'kill $sink 2>/dev/null || true' EXIT
sleep 0.5

echo "generating $N recipients over 500 domains"
awk -v n="$N" 'BEGIN {
	split("free pro team", plans, " ");
	print "email,first_name,city,plan,seats";
	for (i = 1; i <= n; i++)
		printf "user%d@d%d.example,Name%d,City%d,%s,%d\n", i, i % 500,
		    i, i % 97, plans[1 + i % 3], 1 + i % 40;
}' > "$d/list.csv"

# About 10 KB of HTML: personalised lines around 12 tracked links.
{
	echo '<html><body><h1>Hello {{ first_name }}</h1>'
	i=1
	while [ $i -le 12 ]; do
		echo "<p>Dear {{ first_name }} from {{ city }}, item $i of the"
		echo "autumn catalogue is waiting for you on the {{ plan }} plan with"
		echo "{{ seats }} seats. Lorem ipsum dolor sit amet, consectetur"
		echo "adipiscing elit, sed do eiusmod tempor incididunt ut labore et"
		echo "dolore magna aliqua. Ut enim ad minim veniam, quis nostrud.</p>"
		echo "<p><a href=\"https://shop.example.com/item/$i\">See item $i</a></p>"
		i=$((i + 1))
	done
	echo '{% if plan == "team" %}<p>Your team of {{ seats }} gets 10 % off.</p>{% endif %}'
	echo '</body></html>'
} > "$d/t.html"

"$PB" dkim keygen --domain rsa.example --selector s1 --algorithm rsa \
	--output "$d/rsa.pem" >/dev/null
"$PB" dkim keygen --domain ed.example --selector e1 --algorithm ed25519 \
	--output "$d/ed.pem" >/dev/null
cat > "$d/postbote.json" <<JSON
{ "hostname": "bench.example",
  "tracking": { "base_url": "https://t.example.com" },
  "bounces": { "return_path_domain": "bounce.example.com" },
  "delivery": { "routes": { "*.example": { "host": "127.0.0.1", "port": $port, "tls": "none" } } },
  "shaping": { "default": { "rate": "unlimited", "connections": 20 } },
  "dkim": [ { "domain": "rsa.example", "selector": "s1", "algorithm": "rsa-sha256", "key_file": "$d/rsa.pem" },
            { "domain": "ed.example", "selector": "e1", "algorithm": "ed25519-sha256", "key_file": "$d/ed.pem" } ] }
JSON
export POSTBOTE_CONFIG="$d/postbote.json" POSTBOTE_DB="$d/bench.db"
"$PB" init >/dev/null
"$PB" list import bench "$d/list.csv" >/dev/null
"$PB" template add t --subject 'News for {{ first_name }}' --html "$d/t.html" >/dev/null

field() { /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# speed ALG PATTERN: signs per second of `openssl speed` on every core,
# from the line matching PATTERN; nothing when there is none.
speed() {
	openssl speed -multi "$cores" -seconds 3 "$1" 2>/dev/null |
	    awk -v k="$2" '$0 ~ k { print $(NF - 1); exit }'
}

# One send of the whole list: "wall rss" of the command.
send_once() {
	name="$1-$2"
	"$PB" campaign create "$name" --list bench --template t \
		--from "News <news@$3>" >/dev/null
	shift 3
	r=$($M "$PB" send "$name" --quiet "$@")
	left=$(sqlite3 "$POSTBOTE_DB" "SELECT count(*) FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id WHERE c.name = '$name' AND d.status <> 'delivered'")
	[ "$left" = 0 ] || { echo "$name: $left not delivered" >&2; exit 1; }
	echo "$(echo "$r" | field wall) $(echo "$r" | field rss_kib)"
}

: > "$d/runs.txt"
r=1
while [ "$r" -le "$RUNS" ]; do
	src=$($M smtp-source -s 20 -l 10240 -m "$N" -f a@bench.example \
	    -t b@sink.example 127.0.0.1:"$port" | field wall)
	rsa=$(send_once rsa "$r" rsa.example)
	ed=$(send_once ed "$r" ed.example)
	none=$(send_once none "$r" none.example --no-dkim)
	rsa_speed=$(speed rsa2048 '^rsa 2048')
	ed_speed=$(speed ed25519 '^ 253 bits EdDSA')
	echo "$src $rsa $ed $none ${rsa_speed:--} ${ed_speed:--}" >> "$d/runs.txt"
	echo "run $r: smtp-source ${src}s, rsa $rsa, ed25519 $ed, unsigned $none (wall s, RSS KiB); openssl speed signs/s: rsa2048 ${rsa_speed:-?}, ed25519 ${ed_speed:-?}"
	r=$((r + 1))
done

/usr/bin/python3 - "$N" "$RUNS" "$cores" "$d/runs.txt" > "$out/send.json" <<'PY'
import json, statistics, sys
a = sys.argv[1:]
n, runs, cores = int(a[0]), int(a[1]), int(a[2])
def num(s):
    try:
        return float(s)
    except ValueError:
        return None
rows = [[num(x) for x in l.split()] for l in open(a[3]) if l.strip()]
def med(k):
    v = [r[k] for r in rows if r[k] is not None]
    return statistics.median(v) if v else None
src, rsa, rsa_rss, ed, ed_rss, none, none_rss = (med(k) for k in range(7))
rsa_sign, ed_sign = med(7), med(8)
r = {
    "recipients": n, "domains": 500, "runs": runs, "cores": cores,
    "smtp_source_per_s": round(n / src),
    "rsa_per_s": round(n / rsa), "rsa_rss_kib": int(rsa_rss),
    "ed25519_per_s": round(n / ed), "ed25519_rss_kib": int(ed_rss),
    "unsigned_per_s": round(n / none), "unsigned_rss_kib": int(none_rss),
    "openssl_rsa2048_sign_per_s": rsa_sign,
    "openssl_ed25519_sign_per_s": ed_sign,
}
if rsa_sign:
    r["rsa_vs_openssl_sign"] = round(r["rsa_per_s"] / rsa_sign, 3)
r["ed25519_vs_smtp_source"] = round(r["ed25519_per_s"] / r["smtp_source_per_s"], 3)
r["unsigned_vs_smtp_source"] = round(r["unsigned_per_s"] / r["smtp_source_per_s"], 3)
# Every round's figures, and its ratios, to see the spread.
r["per_run"] = [{
    "smtp_source_per_s": round(n / x[0]), "rsa_per_s": round(n / x[1]),
    "ed25519_per_s": round(n / x[3]), "unsigned_per_s": round(n / x[5]),
    "openssl_rsa2048_sign_per_s": x[7], "openssl_ed25519_sign_per_s": x[8],
    "rsa_vs_openssl_sign": round(n / x[1] / x[7], 3) if x[7] else None,
    "ed25519_vs_smtp_source": round(x[0] / x[3], 3),
} for x in rows]
print(json.dumps(r, indent=2))
PY
cat "$out/send.json"
