#!/bin/bash
# shaping.sh - throttling, retries and crash-safe resume of `postbote send`,
# end to end against tests/tools/smtpd.py, measured on the server side
# (the mail_at and received_at time stamps in each message's .json, the
# session numbers, the transcript) and in the store.
#
#   rate       shaping.domains slow.test 5/s, burst 1, 2 connections, the
#              default unlimited, one route for both: slow.test's 20
#              messages span >= 3 s, no second holds more than 6, never
#              more than 2 sessions carry it at once; fast.test's 100
#              finish well before
#   perconn    421 after 3 messages a session: all delivered, each once,
#              without a stall
#   greylist   451 4.7.1 for each address's first RCPT, retry.schedule
#              ["1s"]: the first send defers all (due again in about 1 s),
#              the second, 1.5 s later, delivers all, attempts = 2
#   maxage     452 until retry.max_age "2s": deferred twice, then bounced
#              "gave up after", the campaign done
#   perm       a 550 is never tried again (the transcript)
#   throttled  421 4.7.0 "rate limited" to the first MAIL: deferred, not
#              bounced; the domain backs off (no more MAIL while it is
#              suspended, `postbote status` says so); the next send
#              delivers everything
#   crash      3,000 recipients over 30 domains, SIGKILLed 4 times at random
#              moments, then run to the end: everybody received, nothing
#              left sending or pending, duplicates no more than the
#              reclaimed count and each copy the same Message-ID and Date
#   overlap    a second send while one runs: exit 75 "another send", and
#              nobody received twice
#   pause      `campaign pause` stops a running send within 2 s (exit 0),
#              the rest pending; resume, send: done
#   suppress   `suppress add` during a send: that recipient ends
#              'suppressed', never received
# Runs alone too: bash tests/integration/shaping.sh (PB or POSTBOTE names
# the binary; build/postbote by default). About 50 s.
: "${TESTS:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${POSTBOTE:=${PB:-$TESTS/../build/postbote}}"
export TESTS POSTBOTE
. "$TESTS/lib.sh"

PY=/usr/bin/python3
SMTPD="$TESTS/tools/smtpd.py"
need sqlite3
STOP_SIGNAL=KILL

# ---------------------------------------------------------------- helpers

now_ms() { date +%s%3N; }
# section NAME: a comment line with the time since the start.
section() { echo "# $1 ($(( $(now_ms) - t_all )) ms in)"; }
t_all=$(now_ms)

# start, stop, saved: tests/smtpd_lib.sh.
. "$TESTS/smtpd_lib.sh"

# camp NAME FROM EMAIL,NAME...: a list NAME of those recipients and a draft
# campaign NAME of template t from FROM.
camp() {
	_c=$1; _from=$2; shift 2
	printf 'email,name\n' >"$_c.csv"
	printf '%s\n' "$@" >>"$_c.csv"
	camp_csv "$_c" "$_from"
}
# camp_csv NAME FROM: the same from ./NAME.csv.
camp_csv() {
	"$PB" list import "$1" "$1.csv" >/dev/null &&
	"$PB" campaign create "$1" --list "$1" --template t \
	    --from "$2" >/dev/null
}
FROM='Acme News <news@example.com>'

# send CONFIG CAMPAIGN ARGS...: postbote send with the log in CAMPAIGN.log,
# stdout in ./out, stderr in ./err (kept in all.err); the exit in $rc.
# A send still running after $LIMIT seconds (default 10) gets SIGTERM
# (exit 124): a stall costs seconds, not the suspension's minutes.
send() {
	_cfg=$1; _c=$2; shift 2
	timeout -k 12 "${LIMIT:-10}" "$PB" --config "$_cfg" send "$_c" \
	    --no-dkim --log "$_c.log" "$@" >out 2>err
	rc=$?
	[ "$rc" -ne 124 ] || echo "# send $_c: stopped after ${LIMIT:-10} s"
	{ echo "== send $_c $*"; cat err; } >>all.err
	return 0
}

# bg_send CONFIG CAMPAIGN TAG: the same in the background, stdout in
# TAG.out, stderr in TAG.err; its process in $bg.
bg_send() {
	"$PB" --config "$1" send "$2" --no-dkim --log "$2.log" >"$3.out" \
	    2>"$3.err" &
	bg=$!
	pids="$pids $bg"
}

# reap PID TAG MS: waits up to MS milliseconds for PID; then SIGTERM (and
# SIGKILL 12 s later). Its exit in $rc; returns 1 when it had to be
# stopped. TAG.err goes to all.err.
reap() {
	_end=$(( $(now_ms) + $3 ))
	_late=0
	while kill -0 "$1" 2>/dev/null && [ "$(now_ms)" -lt "$_end" ]; do
		sleep 0.05
	done
	if kill -0 "$1" 2>/dev/null; then
		_late=1
		kill -TERM "$1"
		_end=$(( $(now_ms) + 12000 ))
		while kill -0 "$1" 2>/dev/null && [ "$(now_ms)" -lt "$_end" ]; do
			sleep 0.05
		done
		kill -KILL "$1" 2>/dev/null
	fi
	wait "$1"
	rc=$?
	{ echo "== background send ($2)"; cat "$2.err"; } >>all.err
	return $_late
}

# wait_saved DIR N SECONDS: until the server saved N messages.
wait_saved() {
	for _ in $(seq $(( $3 * 20 ))); do
		[ "$(saved "$1")" -ge "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

# The summary without its timings.
summary() { sed 's/ seconds=[0-9.]*//; s/ connections=[0-9]*//' "${1:-out}"; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p; s/^$1=\([^ ]*\).*/\1/p" "${2:-out}" | head -1; }
cstatus() { sql "SELECT status FROM campaigns WHERE name = '$1'"; }

# count CAMPAIGN STATUS: its deliveries in that status.
count() {
	sql "SELECT count(*) FROM deliveries d JOIN campaigns c ON
	    c.id = d.campaign_id WHERE c.name = '$1' AND d.status = '$2'"
}

# rows CAMPAIGN: address|status|attempts|dsn|reply, by address.
rows() {
	sql "SELECT r.address, d.status, d.attempts, coalesce(d.last_dsn, '-'),
	    coalesce(d.last_reply, '-') FROM deliveries d
	    JOIN campaigns c ON c.id = d.campaign_id
	    JOIN recipients r ON r.id = d.recipient_id
	    WHERE c.name = '$1' ORDER BY r.address" |
	    sed 's/queued as [0-9]*/queued as N/'
}
# states CAMPAIGN: "status count" lines.
states() {
	sql "SELECT d.status || ' ' || count(*) FROM deliveries d JOIN campaigns
	    c ON c.id = d.campaign_id WHERE c.name = '$1' GROUP BY d.status
	    ORDER BY d.status" | paste -sd' '
}

# tos DIR...: the RCPT TO of every saved message, one a line, repeats kept.
tos() {
	"$PY" -c 'import json, os, sys
for d in sys.argv[1:]:
    for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        if n.endswith(".json"):
            print("\n".join(json.load(open(os.path.join(d, n)))["rcpt_to"]))
' "$@"
}
# dups DIR...: the recipients received more than once.
dups() { tos "$@" | sort | uniq -d | paste -sd' '; }

# rcpts LOG ADDRESS: how often ADDRESS was given in RCPT in a transcript.
rcpts() { grep -ci "C: RCPT TO:<$2>" "$1"; }

# cfg FILE PORT [EXTRA]: every *.test domain to 127.0.0.1:PORT in
# plaintext; EXTRA is more top-level members (with a leading comma).
cfg() {
	cat >"$1" <<EOF
{"hostname": "mail.example.com",
 "delivery": {"mode": "mx", "tls": "none",
  "timeouts": {"connect": 10, "greeting": 10, "mail": 10, "rcpt": 10,
   "data_init": 10, "data_block": 10, "data_end": 10, "idle": 5},
  "routes": {"*.test": {"host": "127.0.0.1", "port": $2, "tls": "none"}}}
 ${3:-}}
EOF
}

# The Python checks print TAP lines to a file relay_tap renumbers.
cat >tap.py <<'EOF'
import json, os

def t(cond, desc, got=None):
    print(("ok " if cond else "not ok ") + desc)
    if not cond and got is not None:
        print("#   got %r" % (got,))
    return cond

def envelopes(d):
    out = []
    for n in sorted(os.listdir(d)):
        if n.endswith(".json"):
            with open(os.path.join(d, n)) as fp:
                e = json.load(fp)
            e["file"] = n
            out.append(e)
    return out

def domain(e):
    return e["rcpt_to"][0].rsplit("@", 1)[1].lower()

def most_in_window(times, width):
    """The most time stamps in any window [x, x + width)."""
    times, best, j = sorted(times), 0, 0
    for i in range(len(times)):
        while times[i] - times[j] >= width:
            j += 1
        best = max(best, i - j + 1)
    return best

def most_overlapping(spans):
    """The most [a, b] intervals open at one moment."""
    ev = sorted([(a, 1) for a, b in spans] + [(b, -1) for a, b in spans],
                key=lambda x: (x[0], x[1]))
    cur = best = 0
    for _, d in ev:
        cur += d
        best = max(best, cur)
    return best
EOF

# ------------------------------------------------------------------ setup

"$PB" init >/dev/null || { notok "postbote init"; done_testing; exit 1; }
# The unsubscribe link keeps `send`'s content checks (lint) quiet.
printf '<p>Hello {{ name }}</p>\n<p><a href="https://example.com/unsubscribe">Unsubscribe</a></p>\n' >t.html
printf 'Hello {{ name }}\n' >t.txt
"$PB" template add t --subject 'Hi {{ name }}' --html t.html \
    --text t.txt >/dev/null || notok "template add"

# ================================================================ 1. rate
section rate
# Every reply 100 ms late: a message takes about 0.4 s on the wire, so
# slow.test's 5/s needs 2 sessions at once, its cap; fast.test (unlimited,
# 40 connections) is done in about 2 s.
start rate --tarpit-ms 100
cfg rate.json "${port[rate]}" ', "shaping": {
  "default": {"rate": "unlimited", "connections": 40},
  "domains": {"slow.test": {"rate": "5/s", "burst": 1, "connections": 2}}}'
"$PY" -c 'print("email,name")
for i in range(100):
    print("f%03d@fast.test,F%d" % (i, i))
    if i < 20:
        print("s%03d@slow.test,S%d" % (i, i))' >c1.csv
camp_csv c1 "$FROM" || notok "campaign c1 made"
# The plan first: nothing sent, the slow domain's rate sets the time.
"$PB" --config rate.json send c1 --dry-run >plan.out 2>&1
eq "rate: --dry-run exits 0, sends nothing, the campaign still a draft" \
    "$? $(saved rate) $(sql "SELECT status FROM campaigns WHERE name = 'c1'")" \
    "0 0 draft"
check "rate: ... slow.test: 20 at 5/s over the route, 4 s" has plan.out \
    "domain=slow.test recipients=20 via=route 127.0.0.1 provider=- rate=5.000 connections=2 seconds=4"
check "rate: ... the whole plan at least 4 s" has plan.out \
    "total=120 domains=2 draft=1 seconds=4"
t0=$(now_ms)
send rate.json c1
echo "# rate: $(cat out) ($(( $(now_ms) - t0 )) ms)"
eq "rate: all 120 delivered, the campaign done" "$rc $(summary)" \
    "0 delivered=120 deferred=0 bounced=0 failed=0 suppressed=0 unsent=0 left=0 status=done"
stop rate
"$PY" - rate >py.out 2>&1 <<'EOF'
import sys
from tap import *
env = envelopes(sys.argv[1])
slow = sorted((e for e in env if domain(e) == "slow.test"),
              key=lambda e: e["received_at"])
fast = [e for e in env if domain(e) == "fast.test"]
t(len(slow) == 20 and len({e["rcpt_to"][0] for e in slow}) == 20 and
  len(fast) == 100 and len({e["rcpt_to"][0] for e in fast}) == 100,
  "rate: the server got 20 slow.test and 100 fast.test messages, each once",
  (len(slow), len(fast)))
if slow:
    rec = [e["received_at"] for e in slow]
    span = rec[-1] - rec[0]
    t(span >= 3.0, "rate: slow.test's 20 arrived over %.2f s (>= 3.0 s at "
      "5/s, burst 1)" % span, rec)
    w = most_in_window(rec, 1.0)
    t(w <= 6, "rate: at most 6 slow.test messages arrived in any second "
      "(%d)" % w, [round(x - rec[0], 3) for x in rec])
    w = most_in_window([e["mail_at"] for e in slow], 1.0)
    t(w <= 6, "rate: ... and at most 6 MAIL commands for it (%d)" % w)
    # A session carries slow.test from the MAIL of the first of a run of
    # its slow.test messages to the dot of the last (the scheduler charges
    # a connection to one domain until another takes it over).
    spans, by = [], {}
    for e in env:
        by.setdefault(e["session"], []).append(e)
    for sid, ms in by.items():
        ms.sort(key=lambda e: e["seq_in_session"])
        cur = None
        for e in ms:
            if domain(e) == "slow.test":
                cur = [e["mail_at"], e["received_at"]] if cur is None \
                    else [cur[0], e["received_at"]]
            elif cur is not None:
                spans.append(cur)
                cur = None
        if cur is not None:
            spans.append(cur)
    sessions = len({e["session"] for e in slow})
    most = most_overlapping(spans)
    t(most <= 2, "rate: never more than 2 sessions carrying slow.test at "
      "once (%d; %d sessions carried it in all)" % (most, sessions), spans)
if slow and fast:
    lf, ls = max(e["received_at"] for e in fast), slow[-1]["received_at"]
    first = min(e["mail_at"] for e in env)
    t(lf <= ls - 1.0, "rate: fast.test done %.2f s in, well before "
      "slow.test (%.2f s)" % (lf - first, ls - first))
EOF
relay_tap py.out $?

# ============================================================= 2. perconn
section perconn
# Two connections at most, so that sessions do reach their limit.
start perconn --max-messages-per-session 3
cfg perconn.json "${port[perconn]}" ', "shaping": {
  "domains": {"perconn.test": {"connections": 2}}}'
set --
for i in $(seq -w 20); do set -- "$@" "m$i@perconn.test,M$i"; done
camp c2 "$FROM" "$@" || notok "campaign c2 made"
t0=$(now_ms)
LIMIT=5 send perconn.json c2
ms=$(( $(now_ms) - t0 ))
eq "perconn: 421 after 3 messages a session: all 20 delivered" \
    "$rc $(summary)" \
    "0 delivered=20 deferred=0 bounced=0 failed=0 suppressed=0 unsent=0 left=0 status=done"
check "perconn: ... at once, no suspension waited out (${ms} ms)" \
    test "$ms" -lt 3000
eq "perconn: ... no 421 recorded as a deferral" \
    "$(grep -c 'status=deferred' c2.log)" 0
eq "perconn: ... each received once" \
    "$(tos perconn | sort -u | wc -l) $(saved perconn) $(dups perconn)" "20 20 "
n421=$(grep -c ' S: 421 ' perconn.log)
check "perconn: ... the limit learnt: 421 once or twice, not per session ($n421)" \
    test "$n421" -ge 1 -a "$n421" -le 2

# ============================================================ 3. greylist
section greylist
start grey --greylist
cfg grey.json "${port[grey]}" ', "retry": {"schedule": ["1s"]}'
camp c3 "$FROM" g1@grey.test,G1 g2@grey.test,G2 g3@grey.test,G3 \
    g4@grey.test,G4 g5@grey.test,G5 || notok "campaign c3 made"
t0=$(now_ms)
LIMIT=5 send grey.json c3
ms=$(( $(now_ms) - t0 ))
check "greylist: the first send ends by itself (${ms} ms; SIGTERMed at 5 s)" \
    test "$rc" -ne 124
eq "greylist: ... all 5 deferred, the campaign running" \
    "$(summary)" \
    "delivered=0 deferred=5 bounced=0 failed=0 suppressed=0 unsent=0 left=5 status=running"
eq "greylist: ... deferred with the 451 4.7.1" \
    "$(rows c3 | cut -d'|' -f2,3,4 | sort | uniq -c | sed 's/^ *//')" \
    "5 deferred|1|4.7.1"
eq "greylist: ... each due again about 1 s after its attempt" \
    "$(sql "SELECT count(*) FROM deliveries d JOIN campaigns c ON
        c.id = d.campaign_id WHERE c.name = 'c3' AND d.status = 'deferred'
        AND d.next_attempt_at - d.updated_at BETWEEN 800 AND 1500")" 5
sleep 1.5
LIMIT=5 send grey.json c3
eq "greylist: the second send, 1.5 s later, delivers all" "$rc $(summary)" \
    "0 delivered=5 deferred=0 bounced=0 failed=0 suppressed=0 unsent=0 left=0 status=done"
eq "greylist: ... with 2 attempts each" \
    "$(rows c3 | cut -d'|' -f2,3 | sort | uniq -c | sed 's/^ *//')" \
    "5 delivered|2"
eq "greylist: ... each received exactly once" \
    "$(tos grey | sort | paste -sd' ')" \
    "g1@grey.test g2@grey.test g3@grey.test g4@grey.test g5@grey.test"

# ============================================================== 4. maxage
section maxage
start full --rcpt-rule '^full@=452 4.2.2 Mailbox full'
cfg full.json "${port[full]}" ', "retry": {"schedule": ["1s"], "max_age": "2s"}'
camp c4 "$FROM" full@full.test,Full || notok "campaign c4 made"
send full.json c4
t_first=$(sql "SELECT first_attempt_at FROM deliveries d JOIN campaigns c ON
    c.id = d.campaign_id WHERE c.name = 'c4'")
eq "maxage: 452: deferred" "$rc $(summary)" \
    "0 delivered=0 deferred=1 bounced=0 failed=0 suppressed=0 unsent=0 left=1 status=running"
sleep 1.2
send full.json c4
eq "maxage: 1.2 s later: deferred again" "$rc $(summary)" \
    "0 delivered=0 deferred=1 bounced=0 failed=0 suppressed=0 unsent=0 left=1 status=running"
eq "maxage: ... 2 attempts" "$(rows c4 | cut -d'|' -f2,3,4)" "deferred|2|4.2.2"
# Past 2 s from the first attempt and due again (1 s after the second).
while [ "$(now_ms)" -lt $(( t_first + 2300 )) ]; do sleep 0.05; done
send full.json c4
eq "maxage: past max_age: exit 0, nothing left, the campaign done" \
    "$rc $(field left) $(field status)" "0 0 done"
eq "maxage: ... bounced after a third attempt" "$(rows c4 | cut -d'|' -f2,3)" \
    "bounced|3"
eq "maxage: ... and the summary counts it bounced" "$(summary)" \
    "delivered=0 deferred=0 bounced=1 failed=0 suppressed=0 unsent=0 left=0 status=done"
check "maxage: ... last_reply says it gave up, with the reply" eval \
    "rows c4 | cut -d'|' -f5 | grep 'gave up after 3 attempts' |
    grep '452' | grep -q 'Mailbox full'"
rows c4 | cut -d'|' -f5 | sed 's/^/#   /'
check "maxage: ... and so does its log line" \
    grep -q 'dsn=4.2.2 status=bounced (.*gave up after 3 attempts' c4.log
eq "maxage: ... the campaign is done" "$(cstatus c4)" "done"
eq "maxage: ... the server was asked 3 times" "$(rcpts full.log full@full.test)" 3

# ================================================================ 5. perm
section perm
start perm --rcpt-rule '^gone@=550 5.1.1 No such user' \
    --rcpt-rule '^later@=452 4.2.2 Mailbox full'
cfg perm.json "${port[perm]}" ', "retry": {"schedule": ["1s"]}'
camp c5 "$FROM" gone@perm.test,Gone later@perm.test,Later ok@perm.test,Ok ||
    notok "campaign c5 made"
send perm.json c5
eq "perm: 550 bounced, 452 deferred, one delivered" "$rc $(summary)" \
    "0 delivered=1 deferred=1 bounced=1 failed=0 suppressed=0 unsent=0 left=1 status=running"
sleep 1.1
send perm.json c5
eq "perm: the second send tries the 452 again" "$rc $(summary)" \
    "0 delivered=0 deferred=1 bounced=0 failed=0 suppressed=0 unsent=0 left=1 status=running"
eq "perm: ... the server saw later@ twice, gone@ once" \
    "$(rcpts perm.log later@perm.test) $(rcpts perm.log gone@perm.test)" "2 1"
eq "perm: ... gone@ still bounced after 1 attempt" \
    "$(rows c5 | grep '^gone@' | cut -d'|' -f2,3,4)" "bounced|1|5.1.1"

# =========================================================== 6. throttled
section throttled
# The first MAIL gets 421 4.7.0 "rate limited" and the session ends: a
# throttling signal, so the domain is suspended for a while. The send is
# stopped (SIGTERM) after 3 s.
start thr --throttle-first 1
cfg thr.json "${port[thr]}" ', "retry": {"schedule": ["1s"]}'
set --
for i in $(seq -w 10); do set -- "$@" "t$i@thr.test,T$i"; done
camp c6 "$FROM" "$@" || notok "campaign c6 made"
bg_send thr.json c6 c6a
sleep 2.6
if "$PB" help status >/dev/null 2>&1; then
	"$PB" status c6 --json >c6.status 2>&1
	"$PY" - c6.status >py.out 2>&1 <<'EOF'
import json, sys
from tap import t
try:
    st = json.load(open(sys.argv[1]))
except ValueError as e:
    st = {"error": str(e)}
def find(o, key):
    """Every value of key anywhere in o."""
    if isinstance(o, dict):
        for k, v in o.items():
            if k == key:
                yield v
            yield from find(v, key)
    elif isinstance(o, list):
        for v in o:
            yield from find(v, key)
doms = [d for ds in find(st, "domains") if isinstance(ds, list) for d in ds
        if isinstance(d, dict) and d.get("domain") == "thr.test"]
t(doms and doms[0].get("state") == "suspended" and
  doms[0].get("signals", 0) >= 1,
  "throttled: `postbote status` shows thr.test suspended with a "
  "throttling signal", st)
t(any(v >= 1 for v in find(st, "throttle_signals") if isinstance(v, int)),
  "throttled: ... and the run's throttle_signals", st)
EOF
	relay_tap py.out $?
else
	ok "throttled: \`postbote status\` # SKIP no status command"
fi
reap "$bg" c6a 400
eq "throttled: the first send (SIGTERMed while suspended): exit 0, nothing delivered or bounced, 10 left" \
    "$rc $(field delivered c6a.out) $(field bounced c6a.out) $(field left c6a.out) $(field status c6a.out)" \
    "0 0 0 10 running"
echo "# $(cat c6a.out)"
eq "throttled: ... the 421 deferred, not bounced" \
    "$(rows c6 | grep -v '|pending|' | cut -d'|' -f2,3,4,5)" \
    "deferred|1|4.7.0|421 mx.test Error: rate limited, slow down"
check "throttled: ... its log line says deferred" \
    grep -q 'dsn=4.7.0 status=deferred (421 ' c6.log
eq "throttled: ... no other MAIL while suspended (2.6 s)" \
    "$(grep -c ' C: MAIL ' thr.log)" 1
eq "throttled: ... nothing else left 'sending'" "$(count c6 sending)" 0
sleep 0.5
send thr.json c6
eq "throttled: the next send delivers all 10" "$rc $(summary)" \
    "0 delivered=10 deferred=0 bounced=0 failed=0 suppressed=0 unsent=0 left=0 status=done"
eq "throttled: ... and meets no 421 (one in all)" "$(grep -c ' S: 421 ' thr.log)" 1
eq "throttled: ... each received once" \
    "$(tos thr | sort -u | wc -l) $(saved thr)" "10 10"

# =============================================================== 7. crash
section crash
# 3,000 recipients over 30 domains at about 400 messages a second; the
# send is SIGKILLed 4 times at a random moment from 0.3 to 1.5 s. A killed
# run's lease names this host and a dead process: the next send takes it
# over at once instead of waiting for it to lapse.
start crash --tarpit-ms 2
cfg crash.json "${port[crash]}" ', "shaping": {"global": {"rate": "400/s", "burst": 20}}'
"$PY" -c 'print("email,name")
for i in range(3000):
    print("k%04d@d%02d.test,K%d" % (i, i % 30, i))' >c7.csv
camp_csv c7 "$FROM" || notok "campaign c7 made"
kills=0
for round in 1 2 3 4; do
	bg_send crash.json c7 "c7k$round"
	ms=$(( 300 + RANDOM % 1201 ))
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	if kill -KILL "$bg" 2>/dev/null; then kills=$((kills + 1)); fi
	{ wait "$bg"; } 2>/dev/null	# no "Killed" from the shell
	{ echo "== send c7 (killed, round $round)"; cat "c7k$round.err"; } >>all.err
	echo "# crash: killed in round $round: $(states c7), $(saved crash) received"
	if [ "$round" -eq 1 ]; then
		eq "crash: the dead run's lease is still recorded" \
		    "$(sql "SELECT send_lease_until > 0 FROM campaigns WHERE name = 'c7'")" 1
	fi
done
eq "crash: every run was still sending when killed" "$kills" 4
t0=$(now_ms)
send crash.json c7 --quiet
echo "# crash: $(cat out) ($(( $(now_ms) - t0 )) ms)"
eq "crash: the last send exits 0, the campaign done" \
    "$rc $(field left) $(field status) $(cstatus c7)" "0 0 done done"
eq "crash: everything delivered, nothing 'sending' or 'pending'" \
    "$(states c7)" "delivered 3000"
stop crash
sql "SELECT r.address, d.reclaimed FROM deliveries d JOIN campaigns c ON
    c.id = d.campaign_id JOIN recipients r ON r.id = d.recipient_id
    WHERE c.name = 'c7'" >c7.reclaimed
"$PY" - crash c7.reclaimed >py.out 2>&1 <<'EOF'
import collections, email.parser, email.policy, os, sys
from tap import t
d = sys.argv[1]
reclaimed = {}
for ln in open(sys.argv[2]):
    a, n = ln.rstrip("\n").split("|")
    reclaimed[a] = int(n)
parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
copies = collections.defaultdict(list)
for n in sorted(os.listdir(d)):
    if n.endswith(".eml"):
        with open(os.path.join(d, n), "rb") as fp:
            h = parser.parse(fp)
        copies[h["To"].split("<")[-1].rstrip(">").strip()].append(
            (h["Message-ID"], h["Date"]))
missing = sorted(set(reclaimed) - set(copies))
t(not missing and len(reclaimed) == 3000,
  "crash: all 3,000 recipients received (%d missing)" % len(missing),
  missing[:5])
twice = {a: c for a, c in copies.items() if len(c) > 1}
total = sum(reclaimed.values())
print("# crash: %d received more than once, %d reclaimed in all"
      % (len(twice), total))
t(len(twice) <= total, "crash: received more than once (%d) <= the "
  "reclaimed count (%d)" % (len(twice), total))
bad = [a for a, c in twice.items() if len(c) - 1 > reclaimed.get(a, 0)]
t(not bad, "crash: ... each extra copy is one of that delivery's reclaims",
  [(a, len(twice[a]), reclaimed.get(a)) for a in bad[:5]])
bad = [a for a, c in twice.items() if len(set(c)) != 1]
t(not bad, "crash: ... and every copy has the same Message-ID and Date",
  [(a, twice[a]) for a in bad[:3]])
EOF
relay_tap py.out $?

# ============================================================= 8. overlap
section overlap
start slowsrv --tarpit-ms 100
cfg overlap.json "${port[slowsrv]}"
set --
for i in $(seq -w 60); do set -- "$@" "o$i@o$((10#$i % 3)).test,O$i"; done
camp c8 "$FROM" "$@" || notok "campaign c8 made"
bg_send overlap.json c8 c8a
first=$bg
wait_saved slowsrv 1 10 || notok "overlap: the first send got going"
t0=$(now_ms)
send overlap.json c8
ms=$(( $(now_ms) - t0 ))
eq "overlap: a second send meanwhile exits 75" "$rc" 75
check "overlap: ... at once (${ms} ms)" test "$ms" -lt 2000
check "overlap: ... naming another send" has err "another send"
check "overlap: the first send is still running" kill -0 "$first"
reap "$first" c8a 15000
eq "overlap: the first send finishes it all" "$rc $(summary c8a.out)" \
    "0 delivered=60 deferred=0 bounced=0 failed=0 suppressed=0 unsent=0 left=0 status=done"
eq "overlap: nobody received twice" "$(dups slowsrv)" ""
eq "overlap: everybody received" "$(tos slowsrv | sort -u | wc -l)" 60

# =============================================================== 9. pause
section pause
set --
for i in $(seq -w 100); do set -- "$@" "p$i@pause.test,P$i"; done
camp c9 "$FROM" "$@" || notok "campaign c9 made"
bg_send overlap.json c9 c9a
wait_saved slowsrv 61 10 || notok "pause: the send got going"
t0=$(now_ms)
"$PB" campaign pause c9 >out 2>err
eq "pause: campaign pause while it sends: exit 0" "$?" 0
reap "$bg" c9a 5000
ms=$(( $(now_ms) - t0 ))
check "pause: the send exits within about 2 s (${ms} ms)" test "$ms" -le 2500
eq "pause: ... exit 0, status=paused" "$rc $(field status c9a.out)" "0 paused"
eq "pause: the campaign is paused" "$(cstatus c9)" paused
d=$(count c9 delivered); p=$(count c9 pending)
eq "pause: delivered + pending = 100 ($d + $p), nothing else" "$(states c9)" \
    "delivered $d pending $p"
check "pause: ... some left pending" test "$p" -gt 0
eq "pause: ... what was delivered was received" \
    "$(tos slowsrv | grep -c '@pause.test')" "$d"
"$PB" campaign resume c9 >/dev/null 2>&1
eq "pause: resumed: running" "$(cstatus c9)" running
start after
cfg after.json "${port[after]}"
send after.json c9
eq "pause: the next send finishes it" "$rc $(summary)" \
    "0 delivered=$p deferred=0 bounced=0 failed=0 suppressed=0 unsent=0 left=0 status=done"
eq "pause: ... all 100 received, nobody twice" \
    "$(tos slowsrv after | grep -c '@pause.test') $(dups slowsrv after)" "100 "

# ============================================================ 10. suppress
section suppress
# 200 recipients of one domain, claimed 64 at a time in key order; the
# last one is suppressed once the send is under way.
stop slowsrv
start supp --tarpit-ms 30
cfg supp.json "${port[supp]}"
set --
for i in $(seq -w 200); do set -- "$@" "u$i@supp.test,U$i"; done
camp c10 "$FROM" "$@" || notok "campaign c10 made"
last=$(sql "SELECT address FROM recipients WHERE address LIKE '%@supp.test'
    ORDER BY id DESC LIMIT 1")
bg_send supp.json c10 c10a
wait_saved supp 1 10 || notok "suppress: the send got going"
"$PB" suppress add "$last" >out 2>err
eq "suppress: suppress add $last while it sends: exit 0" "$?" 0
n=$(saved supp)
reap "$bg" c10a 20000
echo "# suppress: suppressed after $n of 200 were received"
eq "suppress: the send ends: 199 delivered, 1 suppressed" \
    "$rc $(summary c10a.out)" \
    "0 delivered=199 deferred=0 bounced=0 failed=0 suppressed=1 unsent=0 left=0 status=done"
eq "suppress: ... $last is 'suppressed'" \
    "$(rows c10 | grep "^$last|" | cut -d'|' -f2)" suppressed
eq "suppress: ... and was not received" \
    "$(tos supp | grep -cx "$last")" 0
eq "suppress: ... the others each once" \
    "$(tos supp | sort -u | wc -l) $(saved supp)" "199 199"

# ============================================================== 11. warmup
section warmup
# A provider matched on the route's host, warming up from today at 5 a
# day: the first send hands it 5 and leaves the rest pending; a second
# send the same day hands it none.
start warm
cfg warm.json "${port[warm]}" ", \"shaping\": {\"providers\": {\"acme\": {
  \"mx\": [\"127.0.0.1\"], \"warmup\": {\"start\": 5, \"factor\": 2,
  \"every\": \"1d\", \"from\": \"$(date -u +%F)\"}}}}"
set --
for i in $(seq -w 12); do set -- "$@" "w$i@w$((10#$i % 3)).test,W$i"; done
camp c11 "$FROM" "$@" || notok "campaign c11 made"
send warm.json c11
eq "warmup: the first send hands the provider its 5 for today" \
    "$rc $(field delivered) $(field unsent) $(states c11)" \
    "0 5 7 delivered 5 pending 7"
send warm.json c11
eq "warmup: a second send the same day hands it none" \
    "$rc $(field delivered) $(saved warm)" "0 0 5"
eq "warmup: today's volume recorded for the provider" \
    "$(sql "SELECT sent FROM provider_volume WHERE provider = 'acme'")" 5

# ============================================================== 12. locked
section locked
# Another process holds the database locked for 12 s (past the 10 s busy
# timeout) while a send runs: the send pauses, says so once, goes on, and
# ends with everything delivered and nothing marked failed.
start lock --tarpit-ms 20
cfg lock.json "${port[lock]}"
set --
for i in $(seq -w 60); do set -- "$@" "l$i@l$((10#$i % 3)).test,L$i"; done
camp c12 "$FROM" "$@" || notok "campaign c12 made"
bg_send lock.json c12 c12a
wait_saved lock 1 10 || notok "locked: the send got going"
"$PY" -c 'import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
c.execute("BEGIN EXCLUSIVE"); time.sleep(12); c.execute("COMMIT")' \
    "$POSTBOTE_DB"
reap "$bg" c12a 30000
eq "locked: the send ends by itself, all 60 delivered" \
    "$rc $(summary c12a.out)" \
    "0 delivered=60 deferred=0 bounced=0 failed=0 suppressed=0 unsent=0 left=0 status=done"
check "locked: ... it said the store was locked, and that it went on" eval \
    "grep -q 'database is locked; holding' c12a.err && grep -q 'answers again' c12a.err"
eq "locked: ... each received once" \
    "$(tos lock | sort -u | wc -l) $(saved lock)" "60 60"

# ============================================================ the servers
section servers
for m in rate perconn grey full perm thr crash slowsrv after supp warm lock; do
	stop "$m"
	check "smtpd $m: nothing on stderr" eval "! [ -s $m.err ]"
	[ -s "$m.err" ] && sed 's/^/#   /' "$m.err" | head -5
done
check "no sanitizer report from any send" eval \
    "! grep -qE 'Sanitizer|runtime error:' all.err"
grep -E -A5 'Sanitizer|runtime error:' all.err | head -20 | sed 's/^/#   /'
echo "# shaping.sh: $(( ($(now_ms) - t_all) / 1000 )) s"

done_testing
