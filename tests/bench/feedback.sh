#!/bin/sh
# The feedback benchmark (run by tests/bench/run.sh): how fast the
# tracking server records opens and turns away forged tokens, and how
# fast `bounce ingest` reads DSNs, over a started campaign of N
# recipients (BENCH_FEEDBACK_N, default 20,000). The client is curl
# --parallel (8 connections, keep-alive) on the same two cores, so the
# HTTP figures are a floor for the server. Writes build/bench/feedback.json.
set -eu
PB=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
top=$(cd "$(dirname "$0")/../.." && pwd)
out="$top/build/bench"
d="$out/feedback"
rm -rf "$d"
mkdir -p "$d"
N=${BENCH_FEEDBACK_N:-20000}
export POSTBOTE_DB="$d/f.db"
export POSTBOTE_CONFIG="$d/postbote.json"
port=$(/usr/bin/python3 "$top/tests/tools/free_port.py")
cat > "$POSTBOTE_CONFIG" <<JSON
{ "tracking": { "base_url": "http://127.0.0.1:$port", "machine_seconds": 0 },
  "bounces": { "return_path_domain": "bounce.bench.example" } }
JSON
awk -v n="$N" 'BEGIN { print "email,first_name";
	for (i = 1; i <= n; i++) printf "u%d@d%d.example,N%d\n", i, i % 500, i }' \
    > "$d/l.csv"
printf '<p>Hello {{ first_name }}</p>\n' > "$d/t.html"
"$PB" init >/dev/null
"$PB" list import l "$d/l.csv" >/dev/null
"$PB" template add t --subject 'Hi' --html "$d/t.html" >/dev/null
"$PB" campaign create c --list l --template t --from 'N <n@bench.example>' >/dev/null
"$PB" campaign start c >/dev/null
sqlite3 "$POSTBOTE_DB" "UPDATE deliveries SET status = 'delivered'"

# The tokens the messages would carry (track.h: kind, LEB128 campaign,
# recipient and link, 12 bytes of HMAC-SHA256, base64url), made here from
# the database's secret so that no N messages need sending first.
/usr/bin/python3 - "$POSTBOTE_DB" "$port" "$d" "$top" <<'PY'
import base64, hashlib, hmac, sqlite3, sys
db, port, d, top = sys.argv[1:]
con = sqlite3.connect(db)
key = bytes.fromhex(con.execute("SELECT value FROM settings WHERE key = 'tracking_secret'").fetchone()[0])
rows = con.execute("SELECT campaign_id, recipient_id, r.address FROM deliveries JOIN recipients r ON r.id = recipient_id").fetchall()
def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7f
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)
def token(kind, c, r, link=0):
    raw = kind.encode() + varint(c) + varint(r) + varint(link)
    mac = hmac.new(key, raw, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(raw + mac).rstrip(b"=").decode()
with open(f"{d}/opens.curl", "w") as f:
    for c, r, _ in rows:
        f.write(f'url = "http://127.0.0.1:{port}/o/{token("o", c, r)}.gif"\noutput = /dev/null\n')
with open(f"{d}/forged.curl", "w") as f:
    for c, r, _ in rows:
        t = token("o", c, r)
        bad = "AA" if t[-2:] != "AA" else "BB"    # never the token itself
        f.write(f'url = "http://127.0.0.1:{port}/o/{t[:-2]}{bad}.gif"\noutput = /dev/null\n')
sample = open(f"{top}/tests/fixtures/inbound/postfix_hard_5.1.1.eml").read()
with open(f"{d}/dsn.mbox", "w") as f:
    for c, r, addr in rows[: len(rows) // 4]:
        msg = (sample.replace("{{RETURN_PATH}}", f"bounces+{token('b', c, r)}@bounce.bench.example")
               .replace("{{MESSAGE_ID}}", f"{token('m', c, r)}@bench.example")
               .replace("{{RCPT}}", addr))
        f.write("From MAILER-DAEMON Mon Nov 23 10:00:00 2026\n" + msg.replace("\nFrom ", "\n>From ") + "\n")
PY

"$PB" track serve --listen "127.0.0.1:$port" 2>"$d/track.err" &
track=$!
trap 'kill $track 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q '^listening on' "$d/track.err" && break; sleep 0.1; done

now() { /usr/bin/python3 -c 'import time; print(time.monotonic())'; }
rate() { /usr/bin/python3 -c "print(round($1 / ($3 - $2)))"; }
t0=$(now)
curl -s --parallel --parallel-max 8 -K "$d/opens.curl" 2>/dev/null
t1=$(now)
curl -s --parallel --parallel-max 8 -K "$d/forged.curl" 2>/dev/null
t2=$(now)
kill $track; wait $track 2>/dev/null || true
ndsn=$(grep -c '^From MAILER-DAEMON' "$d/dsn.mbox")
t3=$(now)
"$PB" bounce ingest --mbox "$d/dsn.mbox" >/dev/null
t4=$(now)
opened=$(sqlite3 "$POSTBOTE_DB" "SELECT count(*) FROM events WHERE type = 'opened'")
bounced=$(sqlite3 "$POSTBOTE_DB" "SELECT count(*) FROM events WHERE type = 'bounced'")
o=$(rate "$N" "$t0" "$t1")
f=$(rate "$N" "$t1" "$t2")
b=$(rate "$ndsn" "$t3" "$t4")
echo "track serve: $o opens/s recorded ($opened of $N), $f forged tokens/s refused"
echo "bounce ingest: $b DSNs/s from an mbox ($bounced of $ndsn recorded, each a transaction)"
printf '{"recipients": %s, "opens_per_s": %s, "opens_recorded": %s, "forged_per_s": %s, "dsn_per_s": %s, "dsn_recorded": %s}\n' \
    "$N" "$o" "$opened" "$f" "$b" "$bounced" > "$out/feedback.json"
