#!/bin/bash
# webhooks.sh - `postbote webhooks flush | ls` against HTTP receivers of
# our own (tests/tools/webhook_receiver.py, one per webhook, each saving
# every request it gets), read back from the outbox and the receivers'
# logs; signatures checked in Python with hmac.
#
#   send      a real `postbote send` to tests/tools/smtpd.py (two
#             delivered, one 550): a webhook for "delivered" and one for
#             "*" get one call per event each; every call's headers,
#             signature and body fields checked; a flush with nothing due
#   retry     a receiver answering 500 once: scheduled again after the
#             backoff (retry_base 1s), sent by a later flush, attempts 2,
#             the same X-Postbote-Id twice; a port nobody listens on with
#             max_attempts 2: dead-lettered; a receiver slower than the
#             timeout; a redirect, never followed
#   secrets   a secret file mode 0644 and an unset secret_env: exit 78,
#             nothing changed
#   removed   a webhook taken out of the config: its pending calls dead,
#             "webhook removed from the config"; the others still sent
#   ls        counts per webhook, as text and --json
#
# Events after the first section are recorded with sqlite3 (the trigger
# fills the outbox as it does for the send's), so each flush's summary is
# known in advance. Nothing waits on a fixed sleep for a result: polling
# loops with generous limits, for a shared, noisy machine.
# Runs alone too: bash tests/integration/webhooks.sh (POSTBOTE names the
# binary; build/postbote by default).
: "${TESTS:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${POSTBOTE:=${PB:-$TESTS/../build/postbote}}"
export TESTS POSTBOTE
. "$TESTS/lib.sh"

PY=/usr/bin/python3
SMTPD="$TESTS/tools/smtpd.py"
RECV="$TESTS/tools/webhook_receiver.py"
need sqlite3
# libcurl would take a proxy from the environment, even for 127.0.0.1.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy

. "$TESTS/smtpd_lib.sh"

# receiver NAME ARGS...: a webhook receiver saving into NAME.jsonl, its
# port in ${port[NAME]}.
receiver() {
	_name=$1; shift
	"$PY" "$RECV" --port-file "$_name.port" --requests "$_name.jsonl" \
	    "$@" 2>"$_name.err" &
	pids="$pids $!"
	pid[$_name]=$!
	for _ in $(seq 200); do
		[ -s "$_name.port" ] && break
		sleep 0.05
	done
	port[$_name]=$(cat "$_name.port" 2>/dev/null)
	touch "$_name.jsonl"
	[ -n "${port[$_name]}" ] || notok "receiver $_name wrote its port"
}

# got NAME: how many requests the receiver NAME has seen.
got() { wc -l <"$1.jsonl" | tr -d ' '; }

# flush CONFIG [ARGS]: postbote webhooks flush, stdout in ./out, stderr
# (the call lines) in ./err and all.err; the exit in $rc.
flush() {
	_cfg=$1; shift
	"$PB" --config "$_cfg" webhooks flush "$@" >out 2>err
	rc=$?
	{ echo "== flush $_cfg $*"; cat err; } >>all.err
	return 0
}

# calls WEBHOOK: status attempts, one outbox row a line, by id.
calls() {
	sql "SELECT status || ' ' || attempts FROM webhook_outbox
	    WHERE webhook = '$1' ORDER BY id"
}

# pending: outbox rows still pending, of any webhook.
pending() { sql "SELECT count(*) FROM webhook_outbox WHERE status = 'pending'"; }

# until_quiet CONFIG: flushes until no call is pending (at most ~60 s),
# adding up the summaries into $total (sent retried dead).
until_quiet() {
	_s=0; _r=0; _d=0
	for _ in $(seq 120); do
		flush "$1" --quiet
		eval "$(sed -n 's/^sent=\([0-9]*\) retried=\([0-9]*\) dead=\([0-9]*\)$/_s=$((_s+\1)); _r=$((_r+\2)); _d=$((_d+\3))/p' out)"
		[ "$(pending)" = 0 ] && break
		sleep 0.5
	done
	total="$_s $_r $_d"
}

# event TYPE ADDRESS: an event for c1's delivery to ADDRESS, as the send
# or the feedback would record it; the trigger adds its calls.
event() {
	sql "INSERT INTO events(campaign_id, recipient_id, type, at, detail)
	    SELECT d.campaign_id, d.recipient_id, '$1',
	    CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER),
	    json_object('dsn', '5.1.1', 'reply', 'test')
	    FROM deliveries d JOIN recipients r ON r.id = d.recipient_id
	    WHERE r.address = '$2'"
}

# The checker: every request a receiver saved against the outbox and the
# events table. Argument: receiver log, secret, webhook name, database.
cat >check.py <<'EOF'
import hashlib, hmac, json, re, sqlite3, sys, time
log, secret, hook, db = sys.argv[1:5]
reqs = [json.loads(l) for l in open(log)]
con = sqlite3.connect(db)
n = 0
def ok(c, d):
    global n
    n += 1
    print(("ok" if c else "not ok") + " %s: %s" % (hook, d))
bad = []
for r in reqs:
    h, body = r["headers"], r["body"]
    m = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", h.get("x-postbote-signature", ""))
    if not m:
        bad.append("signature header %r" % h.get("x-postbote-signature")); continue
    want = hmac.new(secret.encode(), (m.group(1) + "." + body).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, m.group(2)):
        bad.append("signature of call %s" % h.get("x-postbote-id"))
    if abs(int(m.group(1)) - r["at"]) > 300:
        bad.append("t=%s far from the time it came" % m.group(1))
    b = json.loads(body)
    row = con.execute("""SELECT o.webhook, o.event_id, e.type, e.at, e.machine,
        e.detail, c.name, rc.address FROM webhook_outbox o
        JOIN events e ON e.id = o.event_id
        LEFT JOIN campaigns c ON c.id = e.campaign_id
        LEFT JOIN recipients rc ON rc.id = e.recipient_id
        WHERE o.id = ?""", (b["id"],)).fetchone()
    if row is None:
        bad.append("no outbox row %s" % b["id"]); continue
    at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(row[3] // 1000)) + ".%03dZ" % (row[3] % 1000)
    want = {"id": b["id"], "event_id": row[1], "type": row[2], "at": at,
            "campaign": row[6], "recipient": row[7], "machine": bool(row[4]),
            "detail": json.loads(row[5])}
    checks = [(list(b), ["id", "event_id", "type", "at", "campaign", "recipient", "machine", "detail"], "keys"),
              (b, want, "body"), (row[0], hook, "webhook"),
              (h.get("x-postbote-id"), str(b["id"]), "X-Postbote-Id"),
              (h.get("x-postbote-event"), b["type"], "X-Postbote-Event"),
              (h.get("content-type"), "application/json", "Content-Type"),
              (h.get("user-agent"), "postbote/0.1", "User-Agent"),
              (r["method"], "POST", "method"), ("expect" in h, False, "no Expect")]
    for got, exp, what in checks:
        if got != exp:
            bad.append("call %s %s: got %r, wanted %r" % (b["id"], what, got, exp))
ok(len(reqs) > 0 and not bad, "%d calls: valid signatures, headers and bodies" % len(reqs))
for x in bad[:5]:
    print("#   " + x)
EOF
# checks NAME SECRET WEBHOOK: check.py over a receiver's log, on the TAP.
checks() {
	"$PY" check.py "$1.jsonl" "$2" "$3" "$POSTBOTE_DB" >check.out 2>&1
	relay_tap check.out $?
}

# ------------------------------------------------------------------ setup

"$PB" init >/dev/null || { notok "postbote init"; done_testing; exit 1; }
# The unsubscribe link keeps `send`'s content checks (lint) quiet.
printf '<p>Hello {{ name }}</p>\n<p><a href="https://example.com/unsubscribe">Unsubscribe</a></p>\n' >t.html
"$PB" template add t --subject 'Hi {{ name }}' --html t.html >/dev/null ||
    notok "template add"
printf 'email,name\nann@one.test,Ann\nbob@one.test,Bob\nbounce@one.test,B\n' \
    >c1.csv
"$PB" list import c1 c1.csv >/dev/null &&
"$PB" campaign create c1 --list c1 --template t \
    --from 'News <news@example.com>' >/dev/null || notok "campaign c1 made"

start mx --rcpt-rule '^bounce@=550 5.1.1 No such user'
receiver A
receiver B
receiver R --fail-first 1
receiver S --sleep 10
receiver X --status 302
DEAD=$(free_port)	# nobody listens there

umask 077
printf 'secret-a\n' >a.secret
printf 'secret-r' >r.secret
umask 022
export WH_SECRET_B=secret-b

# cfg FILE WEBHOOK...: the route to the smtpd and these webhooks (JSON
# objects, comma-separated by the caller).
cfg() {
	_f=$1; shift
	cat >"$_f" <<EOF
{"hostname": "mail.example.com",
 "delivery": {"mode": "mx", "tls": "none",
  "routes": {"*.test": {"host": "127.0.0.1", "port": ${port[mx]},
   "tls": "none"}}},
 "webhooks": [$*]}
EOF
}
W_A='{"name": "good", "url": "http://127.0.0.1:'${port[A]}'/hooks/a",
  "events": ["delivered"], "secret_file": "a.secret"}'
W_B='{"name": "all", "url": "http://127.0.0.1:'${port[B]}'/b",
  "events": ["*"], "secret_env": "WH_SECRET_B"}'
W_R='{"name": "flaky", "url": "http://127.0.0.1:'${port[R]}'/",
  "events": ["delivered"], "secret_file": "r.secret",
  "retry_base": "1s", "max_attempts": 5}'
W_G='{"name": "gone", "url": "http://127.0.0.1:'$DEAD'/",
  "events": ["bounced"], "secret_file": "a.secret",
  "retry_base": "1s", "max_attempts": 2}'
W_S='{"name": "slow", "url": "http://127.0.0.1:'${port[S]}'/",
  "events": ["complained"], "secret_file": "a.secret", "timeout": "1s",
  "max_attempts": 1}'
W_X='{"name": "moved", "url": "http://127.0.0.1:'${port[X]}'/",
  "events": ["complained"], "secret_file": "a.secret", "max_attempts": 1}'
cfg one.json "$W_A, $W_B"
cfg two.json "$W_A, $W_B, $W_R, $W_G, $W_S, $W_X"
cfg three.json "$W_A, $W_B, $W_G, $W_S, $W_X"
cfg none.json

# ========================================================== 1. send
flush one.json
eq "send: a first flush syncs the webhooks, nothing is due" "$rc $(cat out)" \
    "0 sent=0 retried=0 dead=0"
eq "send: the webhooks table holds the config's" \
    "$(sql "SELECT name, url, events FROM webhooks ORDER BY name")" \
"all|http://127.0.0.1:${port[B]}/b|[\"*\"]
good|http://127.0.0.1:${port[A]}/hooks/a|[\"delivered\"]"

"$PB" --config one.json send c1 --no-dkim --quiet >send.out 2>send.err
eq "send: exits 0" "$?" 0
eq "send: two delivered, one bounced" \
    "$(sed 's/ seconds=.*//' send.out)" \
    "delivered=2 deferred=0 bounced=1 failed=0 suppressed=0 unsent=0 left=0 status=done"
eq "send: the trigger wrote one call per event and webhook" \
    "$(sql "SELECT o.webhook, e.type, count(*) FROM webhook_outbox o
    JOIN events e ON e.id = o.event_id GROUP BY 1, 2 ORDER BY 1, 2")" \
"all|bounced|1
all|delivered|2
good|delivered|2"
eq "send: its own flusher made the calls as it ran, no flush needed" \
    "$(got A) $(got B)" "2 3"

until_quiet one.json
eq "send: every call sent once, first time" \
    "$(calls good | sort | uniq -c | tr -s ' ')$(calls all | sort | uniq -c | tr -s ' ')" \
    " 2 sent 1 3 sent 1"
eq "send: receiver A got the 2 delivered events, B all 3" "$(got A) $(got B)" "2 3"
eq "send: each call once (distinct X-Postbote-Id)" \
    "$(cat A.jsonl B.jsonl | "$PY" -c 'import json, sys
ids = [json.loads(l)["headers"]["x-postbote-id"] for l in sys.stdin]
print(len(ids), len(set(ids)))')" "5 5"
checks A secret-a good
checks B secret-b all
eq "send: the path of the URL kept" \
    "$("$PY" -c 'import json, sys
print(" ".join(sorted({json.loads(l)["path"] for l in open(sys.argv[1])})))' A.jsonl)" \
    "/hooks/a"
eq "send: the bounced event's body: detail as recorded" \
    "$("$PY" -c 'import json, sys
for l in open(sys.argv[1]):
    b = json.loads(json.loads(l)["body"])
    if b["type"] == "bounced":
        print(b["recipient"], b["campaign"], b["machine"], b["detail"]["dsn"], b["detail"]["reply"])' B.jsonl)" \
    "bounce@one.test c1 False 5.1.1 550 No such user"
flush one.json
eq "send: a flush with nothing due" "$rc $(cat out)" "0 sent=0 retried=0 dead=0"
eq "send: sent calls have done_at, no error" \
    "$(sql "SELECT count(*) FROM webhook_outbox WHERE status = 'sent'
    AND done_at IS NOT NULL AND last_error IS NULL")" 5

# ========================================================= 2. retries
flush two.json
eq "retry: the new webhooks synced (nothing due)" "$rc $(cat out)" \
    "0 sent=0 retried=0 dead=0"
event delivered ann@one.test
event bounced bounce@one.test
# good: 1, all: 2, flaky: 1 (500), gone: 1 (refused)
before=$("$PY" -c 'import time; print(int(time.time() * 1000))')
flush two.json
after=$("$PY" -c 'import time; print(int(time.time() * 1000))')
eq "retry: the flush: 3 sent, 2 failed" "$rc $(cat out)" \
    "0 sent=3 retried=2 dead=0"
eq "retry: the 500 and the refused call pending, attempts 1" \
    "$(calls flaky) / $(calls gone)" "pending 1 / pending 1"
eq "retry: the 500's error recorded" \
    "$(sql "SELECT last_error FROM webhook_outbox WHERE webhook = 'flaky'")" \
    "HTTP 500: oops"
check "retry: the refused call's error recorded" \
    has <(sql "SELECT last_error FROM webhook_outbox WHERE webhook = 'gone'") \
    "onnect"
check "retry: next attempt retry_base (1 s) after the failure" \
    test "$(sql "SELECT next_attempt_at >= $before + 1000 AND
    next_attempt_at <= $after + 1000 FROM webhook_outbox
    WHERE webhook IN ('flaky', 'gone') GROUP BY 1")" = 1
check "retry: one call line per call, on stderr" \
    sh -c "grep -c ' webhook=' err | grep -qx 5"
check "retry: the call line of the 500" grep -Eq \
    '^[0-9T:.-]+Z webhook=flaky id=[0-9]+ event=delivered event_id=[0-9]+ attempt=1 delay=[0-9.]+ status=retry next=[0-9T:.-]+Z \(HTTP 500: oops\)$' err

until_quiet two.json
eq "retry: later flushes: the retry sent, the dead port dead-lettered" \
    "$total" "1 0 1"
eq "retry: flaky sent at the second attempt, gone dead after 2" \
    "$(calls flaky) / $(calls gone)" "sent 2 / dead 2"
eq "retry: the sent call keeps the 500 it met" \
    "$(sql "SELECT last_error FROM webhook_outbox WHERE webhook = 'flaky'")" \
    "HTTP 500: oops"
eq "retry: the receiver got the same call twice: 500, then 200" \
    "$("$PY" -c 'import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
print(len(r), len({x["headers"]["x-postbote-id"] for x in r}),
      [x["status"] for x in r], r[-1]["at"] - r[0]["at"] >= 0.9)' R.jsonl)" \
    "2 1 [500, 200] True"
checks R secret-r flaky

event complained ann@one.test
t0=$(date +%s)
flush two.json
t1=$(date +%s)
eq "retry: a receiver slower than the timeout, a redirect: both dead" \
    "$rc $(cat out)" "0 sent=1 retried=0 dead=2"
check "retry: the timeout (1 s) ended the slow call, not its 10 s" \
    test $((t1 - t0)) -lt 8
check "retry: the timeout's error" \
    has <(sql "SELECT last_error FROM webhook_outbox WHERE webhook = 'slow'") \
    "imeout"
eq "retry: the redirect not followed" \
    "$(sql "SELECT last_error FROM webhook_outbox WHERE webhook = 'moved'")
$(got X)" "HTTP 302: ok
1"

# ========================================================= 3. secrets
chmod 644 a.secret
event delivered bob@one.test
sum=$(store_sum)
flush two.json
eq "secrets: a 0644 secret file: exit 78" "$rc" 78
check "secrets: ... saying why" has err "a.secret: group or others may read"
eq "secrets: ... nothing changed, nothing sent" "$(store_sum) $(got A)" \
    "$sum 3"
chmod 600 a.secret
(unset WH_SECRET_B; "$PB" --config two.json webhooks flush >out 2>err)
eq "secrets: an unset secret_env: exit 78" "$?" 78
check "secrets: ... naming it" has err 'WH_SECRET_B'
eq "secrets: ... nothing changed" "$(store_sum)" "$sum"

# ========================================================= 4. removed
# bob's delivered event has calls for good, all and flaky; flaky goes.
flush three.json
eq "removed: the others' calls sent" "$rc $(cat out)" \
    "0 sent=2 retried=0 dead=0"
eq "removed: the removed webhook's pending call dead, and why" \
    "$(sql "SELECT status, attempts, last_error FROM webhook_outbox
    WHERE webhook = 'flaky' ORDER BY id")" \
"sent|2|HTTP 500: oops
dead|0|webhook removed from the config"
eq "removed: its receiver got nothing more" "$(got R)" 2
eq "removed: the table without it" \
    "$(sql "SELECT group_concat(name, ' ') FROM
    (SELECT name FROM webhooks ORDER BY name)")" "all gone good moved slow"

# ================================================================ 5. ls
event bounced bounce@one.test	# one pending for all and gone
"$PB" --config three.json webhooks ls >out 2>err
eq "ls: exits 0" "$?" 0
eq "ls: a row per webhook, the config's first, then the removed one" \
    "$(cut -f1-7 out)" \
"good	http://127.0.0.1:${port[A]}/hooks/a	delivered	0	0	4	0
all	http://127.0.0.1:${port[B]}/b	*	1	0	7	0
gone	http://127.0.0.1:$DEAD/	bounced	1	0	0	1
slow	http://127.0.0.1:${port[S]}/	complained	0	0	0	1
moved	http://127.0.0.1:${port[X]}/	complained	0	0	0	1
flaky	(not in the config)	-	0	0	1	1"
"$PB" --config three.json webhooks ls --json >out 2>err
eq "ls --json: the same, and flaky not configured" \
    "$("$PY" -c 'import json, sys
for w in json.load(open(sys.argv[1])):
    print(w["name"], w["configured"], ",".join(w["events"] or "-"), w["pending"], w["sent"], w["dead"], w["next_attempt"] is not None)' out)" \
"good True delivered 0 4 0 False
all True * 1 7 0 True
gone True bounced 1 0 1 True
slow True complained 0 0 1 False
moved True complained 0 0 1 False
flaky False - 0 1 1 False"

# ============================================================ 6. none
flush none.json
eq "none: no webhooks in the config: nothing sent" "$rc $(cat out)" \
    "0 sent=0 retried=0 dead=0"
eq "none: ... and every pending call dead" \
    "$(pending) $(sql "SELECT count(*) FROM webhooks")" "0 0"
"$PB" --config none.json webhooks ls >out 2>err
eq "none: ls still lists what the outbox holds" "$(cut -f1 out | sort |
    tr '\n' ' ')" "all flaky gone good moved slow "

stop mx
done_testing
