#!/bin/bash
# report.sh - `postbote report` over a fixture database whose every
# figure is known in advance: every number of the JSON model checked
# against values worked out by hand (written out literally below, never
# recomputed from the same data), then the text, CSV and --compare
# renderings, the exits, and a report taken while another process sends.
#
#   fixture   a real set-up through the CLI (init, list import of 21
#             recipients over a.test 10, b.test 6, c.test 5, a template
#             with two tracked links, campaign create and start), then
#             the outcome of every delivery and every event set with SQL:
#             the report is under test here, not the send
#   json      counts (bounce classes, opens and clicks six ways, human
#             and machine apart), rates as fractions (null when the
#             denominator is 0: c2 delivered nothing), times (ISO,
#             duration, throughput, median and 95th percentile time to
#             delivery), links, domains with provider (a relay matching
#             the built-in google rule), throttling (a 421, a built-in
#             pattern, a deferral that is neither) and top replies,
#             providers, bounce reasons (<address> normalised), series
#             (bucket size, lengths, sums, bucket values); every key of
#             every object, no more and no fewer
#   text      the key lines: delivered with its rate, bounced by class,
#             opens and clicks, the domain, provider, link and reason rows
#   csv       the header, specific rows, nothing a spreadsheet would run
#             as a formula (a hostile reply starting with "=")
#   compare   text (a column a campaign) and json (an array of two)
#   exits     unknown campaign 66, --compare with one 64, bad --format 64,
#             --output somewhere unwritable 73
#   concurrent  a report while `postbote send` delivers a third campaign
#             to a tarpit in another process: it succeeds quickly and
#             the send goes on
# Runs alone too: bash tests/integration/report.sh (POSTBOTE names the
# binary; build/postbote by default).
: "${TESTS:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${POSTBOTE:=${PB:-$TESTS/../build/postbote}}"
export TESTS POSTBOTE
. "$TESTS/lib.sh"

PY=/usr/bin/python3
SMTPD="$TESTS/tools/smtpd.py"
need sqlite3
. "$TESTS/smtpd_lib.sh"
PB="$POSTBOTE"

# ================================================================ fixture
# tracking.base_url: the template's links become tracked links, and
# campaign start records them in campaign_links.
cat >pb.json <<'EOF'
{"hostname": "mail.example.com",
 "tracking": {"base_url": "https://t.example.com"},
 "delivery": {"mode": "mx", "tls": "none"}}
EOF
export POSTBOTE_CONFIG=$PWD/pb.json

{
	echo "email,name"
	for i in $(seq 10); do echo "a$i@a.test,A$i"; done
	for i in $(seq 6); do echo "b$i@b.test,B$i"; done
	for i in $(seq 5); do echo "c$i@c.test,C$i"; done
} >list.csv
printf '<p>Hello {{ name }}, <a href="https://example.com/one">one</a> and <a href="https://example.com/two">two</a>.</p>\n' >t.html
expect 0 "init" "$PB" init
expect 0 "a list of 21" "$PB" list import news list.csv
expect 0 "a template with two links" "$PB" template add t --subject "Hi" \
	--html t.html
for c in c1 c2; do
	expect 0 "campaign $c created" "$PB" campaign create "$c" --list news \
		--template t --from news@example.com
	expect 0 "campaign $c started" "$PB" campaign start "$c"
done
eq "c1: 21 pending deliveries" "$(sql "SELECT count(*) FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id WHERE c.name = 'c1' AND d.status = 'pending'")" 21
eq "c1: the two links in campaign_links" "$(sql "SELECT group_concat(l.idx || ' ' || l.url, ', ') FROM campaign_links l JOIN campaigns c ON c.id = l.campaign_id WHERE c.name = 'c1'")" \
	"0 https://example.com/one, 1 https://example.com/two"

# Everything below is set with SQL: the report is under test, not the
# send. Times are milliseconds after @s0 (c1's start, 2027-01-15
# 08:00:00.250 UTC) or @s2 (c2's, a day later).
#
# c1 (running, not finished): 21 recipients
#   a.test (relay aspmx.l.google.com: provider google)
#     a1..a6 delivered after 5, 10, 20, 30, 40, 900 s
#     a7, a8 bounced hard, the same reply but for the <address>
#     a9 deferred (last: a 421), a10 sending
#   b.test (relay mx.b.test: no provider)
#     b1..b3 delivered after 50, 60, 70 s; b4 soft, b5 policy; b6 failed
#   c.test (relay mx.c.test)
#     c1 delivered after 90 s; c2 bounced, no class (a late DSN with a
#     hostile reply); c3 suppressed; c4 deferred (no throttling);
#     c5 pending
#   reclaimed: a1 (1), b2 (2), a10 (1)
# c2 (cancelled, finished after 30 min): nothing delivered: a.test
#   failed, b.test suppressed, c.test deferred (five 421 deferrals)
cat >fixture.sql <<'EOF'
.parameter init
.parameter set @s0 1800000000250
.parameter set @s2 1800086400250
BEGIN;
CREATE TEMP TABLE o(camp, addr, status, first_ms, done_ms, class, dsn,
    reply, reclaimed);
INSERT INTO o VALUES
 ('c1', 'a1@a.test',  'delivered', 1000, 5000,   NULL, '2.0.0', '250 2.0.0 Ok', 1),
 ('c1', 'a2@a.test',  'delivered', 2000, 10000,  NULL, '2.0.0', '250 2.0.0 Ok', 0),
 ('c1', 'a3@a.test',  'delivered', 3000, 20000,  NULL, '2.0.0', '250 2.0.0 Ok', 0),
 ('c1', 'a4@a.test',  'delivered', 2000, 30000,  NULL, '2.0.0', '250 2.0.0 Ok', 0),
 ('c1', 'a5@a.test',  'delivered', 2000, 40000,  NULL, '2.0.0', '250 2.0.0 Ok', 0),
 ('c1', 'a6@a.test',  'delivered', 2000, 900000, NULL, '2.0.0', '250 2.0.0 Ok', 0),
 ('c1', 'a7@a.test',  'bounced',   2000, 15000,  'hard', '5.1.1',
  '550 5.1.1 <a7@a.test>: Recipient address rejected: User unknown in virtual mailbox table', 0),
 ('c1', 'a8@a.test',  'bounced',   2000, 25000,  'hard', '5.1.1',
  '550 5.1.1 <a8@a.test>: Recipient address rejected: User unknown in virtual mailbox table', 0),
 ('c1', 'a9@a.test',  'deferred',  2000, NULL,   NULL, '4.7.28',
  '421 4.7.28 Unusual rate of unsolicited mail from your IP', 0),
 ('c1', 'a10@a.test', 'sending',   2000, NULL,   NULL, NULL, NULL, 1),
 ('c1', 'b1@b.test',  'delivered', 2000, 50000,  NULL, '2.0.0', '250 2.0.0 Ok', 0),
 ('c1', 'b2@b.test',  'delivered', 2000, 60000,  NULL, '2.0.0', '250 2.0.0 Ok', 2),
 ('c1', 'b3@b.test',  'delivered', 2000, 70000,  NULL, '2.0.0', '250 2.0.0 Ok', 0),
 ('c1', 'b4@b.test',  'bounced',   2000, 35000,  'soft', '5.2.2',
  '552 5.2.2 Mailbox full', 0),
 ('c1', 'b5@b.test',  'bounced',   2000, 45000,  'policy', '5.7.1',
  '554 5.7.1 Message rejected as spam by Content Filtering', 0),
 ('c1', 'b6@b.test',  'failed',    2000, 600000, NULL, NULL,
  'the message could not be rendered', 0),
 ('c1', 'c1@c.test',  'delivered', 2000, 90000,  NULL, '2.0.0', '250 2.0.0 Ok', 0),
 ('c1', 'c2@c.test',  'bounced',   2000, 1000000, NULL, NULL,
  '=HYPERLINK("http://evil.example/","550 mailbox unavailable")', 0),
 ('c1', 'c3@c.test',  'suppressed', NULL, NULL,  NULL, NULL, NULL, 0),
 ('c1', 'c4@c.test',  'deferred',  2000, NULL,   NULL, '4.2.0',
  '450 4.2.0 Mailbox temporarily unavailable', 0),
 ('c1', 'c5@c.test',  'pending',   NULL, NULL,   NULL, NULL, NULL, 0);
INSERT INTO o SELECT 'c2', address, 'failed', 2000, 60000, NULL, NULL,
    'connection refused', 0 FROM recipients WHERE domain = 'a.test';
INSERT INTO o SELECT 'c2', address, 'suppressed', NULL, NULL, NULL, NULL,
    NULL, 0 FROM recipients WHERE domain = 'b.test';
INSERT INTO o SELECT 'c2', address, 'deferred', 3000, NULL, NULL, '4.7.0',
    '421 4.7.0 Too many connections', 0 FROM recipients
    WHERE domain = 'c.test';

UPDATE deliveries SET status = o.status,
    attempts = (o.first_ms IS NOT NULL),
    first_attempt_at = (CASE o.camp WHEN 'c1' THEN @s0 ELSE @s2 END) + o.first_ms,
    done_at = (CASE o.camp WHEN 'c1' THEN @s0 ELSE @s2 END) + o.done_ms,
    bounce_class = o.class, last_dsn = o.dsn, last_reply = o.reply,
    reclaimed = o.reclaimed
  FROM o JOIN recipients r ON r.address = o.addr
    JOIN campaigns c ON c.name = o.camp
  WHERE deliveries.campaign_id = c.id AND deliveries.recipient_id = r.id;

UPDATE campaigns SET status = 'running', created_at = @s0 - 3600000,
    started_at = @s0, finished_at = NULL WHERE name = 'c1';
UPDATE campaigns SET status = 'cancelled', created_at = @s2 - 600000,
    started_at = @s2, finished_at = @s2 + 1800000 WHERE name = 'c2';

-- Events: (campaign, address, type, ms after the start, machine, detail).
CREATE TEMP TABLE relay(domain, relay);
INSERT INTO relay VALUES ('a.test', 'aspmx.l.google.com[142.250.102.26]:25'),
    ('b.test', 'mx.b.test[192.0.2.11]:25'), ('c.test', 'mx.c.test[192.0.2.12]:25');
CREATE TEMP TABLE ev(camp, addr, type, ms, machine, detail);
-- One delivered or bounced event per delivery, at its done_at, with the
-- delivery's code, reply and the domain's relay; c2@c.test's bounce came
-- as a DSN: no relay.
INSERT INTO ev SELECT o.camp, o.addr, o.status, o.done_ms, 0,
    json_object('dsn', o.dsn, 'reply', o.reply, 'relay', relay.relay)
  FROM o JOIN recipients r ON r.address = o.addr
    JOIN relay ON relay.domain = r.domain
  WHERE o.camp = 'c1' AND o.status IN ('delivered', 'bounced')
    AND o.addr <> 'c2@c.test';
INSERT INTO ev VALUES ('c1', 'c2@c.test', 'bounced', 1000000, 0,
    json_object('reply', '=HYPERLINK("http://evil.example/","550 mailbox unavailable")'));
-- Deferrals: a built-in throttle pattern (in capitals), a 421, a 421,
-- and one that is no throttling.
INSERT INTO ev VALUES
 ('c1', 'a3@a.test', 'deferred', 8000, 0, json_object('dsn', '4.7.1',
  'reply', '452 4.7.1 Too Many Connections from your host',
  'relay', 'aspmx.l.google.com[142.250.102.26]:25')),
 ('c1', 'b2@b.test', 'deferred', 20000, 0, json_object('dsn', '4.3.2',
  'reply', '421 4.3.2 System not accepting network messages',
  'relay', 'mx.b.test[192.0.2.11]:25')),
 ('c1', 'a9@a.test', 'deferred', 400000, 0, json_object('dsn', '4.7.28',
  'reply', '421 4.7.28 Unusual rate of unsolicited mail from your IP',
  'relay', 'aspmx.l.google.com[142.250.102.26]:25')),
 ('c1', 'c4@c.test', 'deferred', 700000, 0, json_object('dsn', '4.2.0',
  'reply', '450 4.2.0 Mailbox temporarily unavailable',
  'relay', 'mx.c.test[192.0.2.12]:25'));
-- Opens: a1 human twice and machine once, a2 machine, a3 human, b1 human
-- and machine, b2 human, c1 machine.
INSERT INTO ev VALUES
 ('c1', 'a1@a.test', 'opened', 6000, 1, '{}'),
 ('c1', 'a1@a.test', 'opened', 600000, 0, '{}'),
 ('c1', 'a1@a.test', 'opened', 1800000, 0, '{}'),
 ('c1', 'a2@a.test', 'opened', 11000, 1, '{}'),
 ('c1', 'a3@a.test', 'opened', 3600000, 0, '{}'),
 ('c1', 'b1@b.test', 'opened', 51000, 1, '{}'),
 ('c1', 'b1@b.test', 'opened', 900000, 0, '{}'),
 ('c1', 'b2@b.test', 'opened', 1200000, 0, '{}'),
 ('c1', 'c1@c.test', 'opened', 91000, 1, '{}');
-- Clicks: a1 human on 0, 1, 0; a3 machine on 0, human on 1; b1 machine on
-- 0 and 1; b3 human on 0 (the last event, 2 h after the first attempt);
-- c1 machine on 1.
INSERT INTO ev VALUES
 ('c1', 'a1@a.test', 'clicked', 610000, 0, '{"link": 0}'),
 ('c1', 'a1@a.test', 'clicked', 620000, 0, '{"link": 1}'),
 ('c1', 'a1@a.test', 'clicked', 1810000, 0, '{"link": 0}'),
 ('c1', 'a3@a.test', 'clicked', 21000, 1, '{"link": 0}'),
 ('c1', 'a3@a.test', 'clicked', 3610000, 0, '{"link": 1}'),
 ('c1', 'b1@b.test', 'clicked', 52000, 1, '{"link": 0}'),
 ('c1', 'b1@b.test', 'clicked', 52500, 1, '{"link": 1}'),
 ('c1', 'b3@b.test', 'clicked', 7201000, 0, '{"link": 0}'),
 ('c1', 'c1@c.test', 'clicked', 92000, 1, '{"link": 1}');
-- Unsubscribes (b2 twice), a complaint, two replies, an auto-reply.
INSERT INTO ev VALUES
 ('c1', 'a2@a.test', 'unsubscribed', 1300000, 0, '{}'),
 ('c1', 'b2@b.test', 'unsubscribed', 1400000, 0, '{}'),
 ('c1', 'b2@b.test', 'unsubscribed', 1400500, 0, '{}'),
 ('c1', 'c1@c.test', 'complained', 2000000, 0, '{}'),
 ('c1', 'a4@a.test', 'replied', 2500000, 0, '{}'),
 ('c1', 'b1@b.test', 'replied', 2600000, 0, '{}'),
 ('c1', 'a5@a.test', 'auto_replied', 120000, 0, '{}');
-- c2: five 421 deferrals at c.test, 2 s apart.
INSERT INTO ev SELECT 'c2', address, 'deferred',
    3000 + 2000 * (CAST(substr(address, 2, 1) AS INTEGER) - 1), 0,
    json_object('dsn', '4.7.0', 'reply', '421 4.7.0 Too many connections',
    'relay', 'mx.c.test[192.0.2.12]:25')
  FROM recipients WHERE domain = 'c.test';

INSERT INTO events(campaign_id, recipient_id, type, at, detail, machine)
  SELECT c.id, r.id, ev.type,
    (CASE ev.camp WHEN 'c1' THEN @s0 ELSE @s2 END) + ev.ms, ev.detail,
    ev.machine
  FROM ev JOIN recipients r ON r.address = ev.addr
    JOIN campaigns c ON c.name = ev.camp ORDER BY 4;
-- An unsubscribe from a list page belongs to no campaign: not c1's.
INSERT INTO events(campaign_id, recipient_id, type, at)
  SELECT NULL, id, 'unsubscribed', @s0 + 1500000 FROM recipients
  WHERE address = 'a3@a.test';
COMMIT;
EOF
sqlite3 -bail "$POSTBOTE_DB" <fixture.sql >fixture.out 2>&1
eq "the fixture loads" "$?" 0
sed 's/^/#   /' fixture.out | head -5
eq "... every delivery has its outcome" "$(sql "SELECT count(*) FROM deliveries WHERE status = 'pending'")" 1
eq "... the events" "$(sql "SELECT count(*) FROM events")" 50

# ================================================================== json
# Run from here on: reports for c1 and c2.
expect 0 "report c1 --format json" "$PB" report c1 --format json
cp out c1.json
expect 0 "report c2 --format json" "$PB" report c2 --format json
cp out c2.json

cat >check_json.py <<'PYEOF'
import json, math, re, sys

n = 0
def ok(good, desc, why=""):
    global n
    print(("ok " if good else "not ok ") + desc)
    if not good and why:
        print("#   " + why)

class Re:
    def __init__(self, pat):
        self.pat = pat
MISSING = object()

def cmp(name, path, got, want):
    desc = "%s %s" % (name, path)
    if isinstance(want, dict):
        if not isinstance(got, dict):
            ok(False, desc + " is an object", "got %r" % (got,))
            return
        ok(set(got) == set(want), desc + " has exactly its keys",
           "missing %s, extra %s" % (sorted(set(want) - set(got)),
                                     sorted(set(got) - set(want))))
        for k in want:
            cmp(name, path + "." + k if path else k, got.get(k, MISSING),
                want[k])
    elif isinstance(want, list) and want and isinstance(want[0], dict):
        if not isinstance(got, list):
            ok(False, desc + " is an array", "got %r" % (got,))
            return
        ok(len(got) == len(want), "%s has %d entries" % (desc, len(want)),
           "got %d: %s" % (len(got), json.dumps(got)[:300]))
        for i, w in enumerate(want):
            cmp(name, "%s[%d]" % (path, i), got[i] if i < len(got)
                else MISSING, w)
    elif isinstance(want, float):
        good = (isinstance(got, (int, float)) and not isinstance(got, bool)
                and abs(got - want) <= 1e-9)
        ok(good, "%s = %.12g" % (desc, want), "got %r" % (got,))
    elif isinstance(want, Re):
        ok(isinstance(got, str) and re.fullmatch(want.pat, got) is not None,
           "%s matches %s" % (desc, want.pat), "got %r" % (got,))
    else:
        good = (type(got) is type(want) and got == want)
        ok(good, "%s = %s" % (desc, json.dumps(want)),
           "got %s" % ("nothing" if got is MISSING else json.dumps(got)))

def zeros(n, **at):
    a = [0] * n
    for k, v in at.items():
        a[int(k[1:])] = v
    return a

ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"

# ------------------------------------------------------------------ c1
# Worked out by hand from the fixture (see report.sh):
#   delivered: a1..a6, b1..b3, c1 = 10; bounced a7 a8 (hard) b4 (soft)
#   b5 (policy) c2 (none) = 5; sent 15; deferred a9 c4; pending c5 and
#   a10 (sending); failed b6; suppressed c3; reclaimed a1 b2 a10
#   opens: a1 H H M, a2 M, a3 H, b1 H M, b2 H, c1 M: 9 total, 6 unique,
#     human 5 total over a1 a3 b1 b2 (4), machine 4 total over a1 a2 b1
#     c1 (4: a1 and b1 count in both)
#   clicks: a1 H0 H1 H0, a3 M0 H1, b1 M0 M1, b3 H0, c1 M1: 9 total, 5
#     unique, human 5 total over a1 a3 b3 (3), machine 4 total over a3
#     b1 c1 (3: a3 in both)
#   link 0: a1 a1 a3 b1 b3: 4 unique, 5 total, human a1 b3 (2)
#   link 1: a1 a3 b1 c1: 4 unique, 4 total, human a1 a3 (2)
#   time to delivery (s), sorted: 5 10 20 30 40 50 60 70 90 900;
#     median: the 4th (0-based) = 40; p95: the ceil(9.5)-1 = 9th = 900
#   last done: c2's bounce at 1000 s; first attempt: a1 at 1 s;
#     throughput 15 / 999 s; duration (not finished) 1000 s
#   series: from the first attempt (08:00:01.250) to the last event
#     (b3's click, 7200 s later): 7200/48 = 150 s -> 300 s buckets, 25
#   throttled: a.test 2 (the 452 "too many connections", a9's 421),
#     b.test 1 (b2's 421), c.test 0 (a 450 that is no throttling)
c1 = {
 "campaign": "c1", "list": "news", "segment": None, "template": "t",
 "template_version": 1, "from": "news@example.com", "status": "running",
 "paused_reason": None, "generated_at": Re(ISO),
 "times": {
  "created": "2027-01-15T07:00:00.250Z",
  "started": "2027-01-15T08:00:00.250Z",
  "finished": None,
  "first_attempt": "2027-01-15T08:00:01.250Z",
  "last_done": "2027-01-15T08:16:40.250Z",
  "duration_s": 1000.0,
  "throughput_per_s": 15 / 999,
  "time_to_delivery_s": {"median": 40.0, "p95": 900.0}},
 "counts": {
  "recipients": 21, "sent": 15, "delivered": 10, "deferred_now": 2,
  "pending_now": 2, "failed": 1, "suppressed": 1,
  "bounced": {"total": 5, "hard": 2, "soft": 1, "policy": 1, "unknown": 1},
  "opens": {"unique": 6, "total": 9, "unique_human": 4, "total_human": 5,
            "unique_machine": 4, "total_machine": 4},
  "clicks": {"unique": 5, "total": 9, "unique_human": 3, "total_human": 5,
             "unique_machine": 3, "total_machine": 4},
  "unsubscribes": 2, "complaints": 1, "replies": 2, "auto_replies": 1,
  "possibly_duplicated": 3},
 "rates": {
  "delivery": 10 / 15, "bounce": 5 / 15, "hard_bounce": 2 / 15,
  "open": 4 / 10, "click": 3 / 10, "click_to_open": 3 / 4,
  "unsubscribe": 2 / 10, "complaint": 1 / 10, "reply": 2 / 10},
 "links": [
  {"index": 0, "url": "https://example.com/one", "clicks_unique": 4,
   "clicks_total": 5, "clicks_unique_human": 2},
  {"index": 1, "url": "https://example.com/two", "clicks_unique": 4,
   "clicks_total": 4, "clicks_unique_human": 2}],
 "domains": [
  {"domain": "a.test", "provider": "google", "recipients": 10,
   "delivered": 6, "deferred": 1, "bounced": 2, "throttled": 2,
   # The two user-unknown bounces are one reply once the address is
   # set aside, as in bounce_reasons.
   "top_replies": [
    {"reply": "550 5.1.1 <address>: Recipient address rejected: User "
              "unknown in virtual mailbox table", "count": 2},
    {"reply": "421 4.7.28 Unusual rate of unsolicited mail from your IP",
     "count": 1}]},
  {"domain": "b.test", "provider": None, "recipients": 6, "delivered": 3,
   "deferred": 0, "bounced": 2, "throttled": 1,
   "top_replies": [
    {"reply": "552 5.2.2 Mailbox full", "count": 1},
    {"reply": "554 5.7.1 Message rejected as spam by Content Filtering",
     "count": 1}]},
  {"domain": "c.test", "provider": None, "recipients": 5, "delivered": 1,
   "deferred": 1, "bounced": 1, "throttled": 0,
   "top_replies": [
    {"reply": "450 4.2.0 Mailbox temporarily unavailable", "count": 1},
    {"reply": '=HYPERLINK("http://evil.example/","550 mailbox '
              'unavailable")', "count": 1}]}],
 "providers": [
  {"provider": "google", "domains": 1, "recipients": 10, "delivered": 6,
   "deferred": 1, "bounced": 2, "throttled": 2},
  {"provider": "other", "domains": 2, "recipients": 11, "delivered": 4,
   "deferred": 1, "bounced": 3, "throttled": 1}],
 "bounce_reasons": [
  {"class": "hard", "dsn": "5.1.1", "reply": "550 5.1.1 <address>: "
   "Recipient address rejected: User unknown in virtual mailbox table",
   "count": 2},
  {"class": "soft", "dsn": "5.2.2", "reply": "552 5.2.2 Mailbox full",
   "count": 1},
  {"class": "policy", "dsn": "5.7.1",
   "reply": "554 5.7.1 Message rejected as spam by Content Filtering",
   "count": 1},
  {"class": "unknown", "dsn": None,
   "reply": '=HYPERLINK("http://evil.example/","550 mailbox unavailable")',
   "count": 1}],
 "series": {
  "start": "2027-01-15T08:00:01.250Z", "bucket_s": 300,
  # offsets from the start: delivered at 4..89 s and 899 s; bounced at
  # 14..44 s and 999 s; deferred at 7, 19, 399, 699 s; human opens at
  # 599, 899, 1199, 1799, 3599 s; human clicks at 609, 619, 1809, 3609,
  # 7200 s
  "delivered": zeros(25, b0=9, b2=1),
  "bounced": zeros(25, b0=4, b3=1),
  "deferred": zeros(25, b0=2, b1=1, b2=1),
  "opens": zeros(25, b1=1, b2=1, b3=1, b5=1, b11=1),
  "clicks": zeros(25, b2=2, b6=1, b12=1, b24=1)},
 "ab_test": None, "variants": []}

# ------------------------------------------------------------------ c2
#   nothing sent: every rate null, no delivery time; duration from the
#   start to finished_at (30 min); throughput 0 over the 58 s from the
#   first attempt (2 s) to the last done (60 s): 58000/48 ms -> 2 s
#   buckets, 30; deferrals at 3, 5, 7, 9, 11 s (buckets 0..4)
c2 = {
 "campaign": "c2", "list": "news", "segment": None, "template": "t",
 "template_version": 1, "from": "news@example.com", "status": "cancelled",
 "paused_reason": None, "generated_at": Re(ISO),
 "times": {
  "created": "2027-01-16T07:50:00.250Z",
  "started": "2027-01-16T08:00:00.250Z",
  "finished": "2027-01-16T08:30:00.250Z",
  "first_attempt": "2027-01-16T08:00:02.250Z",
  "last_done": "2027-01-16T08:01:00.250Z",
  "duration_s": 1800.0, "throughput_per_s": 0.0,
  "time_to_delivery_s": {"median": None, "p95": None}},
 "counts": {
  "recipients": 21, "sent": 0, "delivered": 0, "deferred_now": 5,
  "pending_now": 0, "failed": 10, "suppressed": 6,
  "bounced": {"total": 0, "hard": 0, "soft": 0, "policy": 0, "unknown": 0},
  "opens": {"unique": 0, "total": 0, "unique_human": 0, "total_human": 0,
            "unique_machine": 0, "total_machine": 0},
  "clicks": {"unique": 0, "total": 0, "unique_human": 0, "total_human": 0,
             "unique_machine": 0, "total_machine": 0},
  "unsubscribes": 0, "complaints": 0, "replies": 0, "auto_replies": 0,
  "possibly_duplicated": 0},
 "rates": {k: None for k in ("delivery", "bounce", "hard_bounce", "open",
           "click", "click_to_open", "unsubscribe", "complaint", "reply")},
 "links": [
  {"index": 0, "url": "https://example.com/one", "clicks_unique": 0,
   "clicks_total": 0, "clicks_unique_human": 0},
  {"index": 1, "url": "https://example.com/two", "clicks_unique": 0,
   "clicks_total": 0, "clicks_unique_human": 0}],
 "domains": [
  {"domain": "a.test", "provider": None, "recipients": 10, "delivered": 0,
   "deferred": 0, "bounced": 0, "throttled": 0, "top_replies": []},
  {"domain": "b.test", "provider": None, "recipients": 6, "delivered": 0,
   "deferred": 0, "bounced": 0, "throttled": 0, "top_replies": []},
  {"domain": "c.test", "provider": None, "recipients": 5, "delivered": 0,
   "deferred": 5, "bounced": 0, "throttled": 5,
   "top_replies": [{"reply": "421 4.7.0 Too many connections",
                    "count": 5}]}],
 "providers": [
  {"provider": "other", "domains": 3, "recipients": 21, "delivered": 0,
   "deferred": 5, "bounced": 0, "throttled": 5}],
 "bounce_reasons": [],
 "series": {
  "start": "2027-01-16T08:00:02.250Z", "bucket_s": 2,
  "delivered": zeros(30), "bounced": zeros(30),
  "deferred": zeros(30, b0=1, b1=1, b2=1, b3=1, b4=1),
  "opens": zeros(30), "clicks": zeros(30)},
 "ab_test": None, "variants": []}

for name, want in (("c1", c1), ("c2", c2)):
    got = json.load(open(name + ".json"))
    # The providers in any order.
    got["providers"] = sorted(got.get("providers", []),
                              key=lambda p: p.get("provider", ""))
    cmp(name, "", got, want)
    s = got["series"]
    for key in ("delivered", "bounced", "deferred", "opens", "clicks"):
        ok(len(s[key]) == len(want["series"][key]),
           "%s series.%s has %d buckets" % (name, key,
                                            len(want["series"][key])),
           "got %d" % len(s[key]))
    # Each series sums to its events: delivered and bounced events, all
    # deferrals (not what is deferred now), human opens and clicks.
    events = {"c1": (10, 5, 4, 5, 5), "c2": (0, 0, 5, 0, 0)}[name]
    for key, e in zip(("delivered", "bounced", "deferred", "opens",
                       "clicks"), events):
        ok(sum(s[key]) == e, "%s series.%s sums to its %d events"
           % (name, key, e), "got %d" % sum(s[key]))
    ok(sum(s["opens"]) == got["counts"]["opens"]["total_human"],
       name + " series.opens sums to counts.opens.total_human")
    ok(sum(s["clicks"]) == got["counts"]["clicks"]["total_human"],
       name + " series.clicks sums to counts.clicks.total_human")
    ok(sum(l["clicks_total"] for l in got["links"]) ==
       got["counts"]["clicks"]["total"],
       name + " the links' clicks_total add up to counts.clicks.total")
PYEOF
"$PY" check_json.py >json.tap 2>&1
relay_tap json.tap $?

# =================================================================== text
expect 0 "report c1 (text, the default)" "$PB" report c1
cp out c1.txt
expect 0 "report c1 --format text" "$PB" report c1 --format text
eq "... the same as the default" "$(cat out)" "$(cat c1.txt)"
expect 0 "report c2 --format text" "$PB" report c2 --format text
cp out c2.txt

cat >check_text.py <<'PYEOF'
import re, sys

def ok(good, desc, why=""):
    print(("ok " if good else "not ok ") + desc)
    if not good and why:
        print("#   " + why)

def line(name, text, pat, desc):
    """One line of the report matches pat (a regex, whitespace flexible
    where the pattern says \\s+)."""
    lines = text.splitlines()
    hit = [l for l in lines if re.fullmatch(pat, l)]
    near = [l for l in lines if l.strip().startswith(
        desc.split()[0])][:3]
    ok(len(hit) == 1, "%s text: %s" % (name, desc),
       "no line matches %r; near: %r" % (pat, near))

c1 = open("c1.txt").read()
c2 = open("c2.txt").read()
R = r"\s+"
for pat, desc in (
    (r"Campaign c1 \(running\)", "Campaign c1 (running)"),
    (r"List news, template t version 1, from news@example\.com",
     "List, template and from"),
    (r"Started 2027-01-15T08:00:00\.250Z, finished -, duration 16\.7 min, "
     r"0\.0 messages/s", "Started ..., duration 16.7 min"),
    (r"Time to delivery: median 40\.0 s, 95th percentile 15\.0 min",
     "Time to delivery: median 40.0 s, p95 15.0 min"),
    (r"  recipients\s+21\s*", "recipients 21"),
    (r"  sent\s+15\s*", "sent 15"),
    (r"  delivered\s+10\s+66\.67 %  of sent", "delivered 10 66.67 % of sent"),
    (r"  bounced\s+5\s+33\.33 %  hard 2, soft 1, policy 1, unknown 1",
     "bounced 5 33.33 % hard 2, soft 1, policy 1, unknown 1"),
    (r"  deferred now\s+2\s*", "deferred now 2"),
    (r"  pending now\s+2\s*", "pending now 2"),
    (r"  failed\s+1\s*", "failed 1"),
    (r"  suppressed\s+1\s*", "suppressed 1"),
    (r"  opens \(human, unique\)\s+4\s+40\.00 %  total 5; machines: "
     r"4 unique, 4 total", "opens (human, unique) 4 40.00 % total 5; "
     "machines: 4 unique, 4 total"),
    (r"  clicks \(human, unique\)\s+3\s+30\.00 %  total 5; machines: "
     r"3 unique; click-to-open 75\.00 %", "clicks (human, unique) 3 "
     "30.00 % total 5; machines: 3 unique; click-to-open 75.00 %"),
    (r"  unsubscribes\s+2\s+20\.00 %\s*", "unsubscribes 2 20.00 %"),
    (r"  complaints\s+1\s+10\.00 %\s*", "complaints 1 10.00 %"),
    (r"  replies\s+2\s+20\.00 %  auto-replies 1",
     "replies 2 20.00 % auto-replies 1"),
    (r"  possibly duplicated\s+3\s.*", "possibly duplicated 3"),
    (r"\s+0\s+4\s+5\s+2  https://example\.com/one",
     "link 0: 4 unique, 5 total, 2 human"),
    (r"\s+1\s+4\s+4\s+2  https://example\.com/two",
     "link 1: 4 unique, 4 total, 2 human"),
    (r"  a\.test\s+google\s+10\s+6\s+1\s+2\s+2  550 5\.1\.1 <address>: "
     r"Recipient address rejected: User unknown.*",
     "a.test google 10 6 1 2 2, top reply the user-unknown one"),
    (r"  b\.test\s+-\s+6\s+3\s+0\s+2\s+1  552 5\.2\.2 Mailbox full",
     "b.test - 6 3 0 2 1 552 5.2.2 Mailbox full"),
    (r"  c\.test\s+-\s+5\s+1\s+1\s+1\s+0  450 4\.2\.0 Mailbox "
     r"temporarily unavailable", "c.test - 5 1 1 1 0 450 4.2.0 ..."),
    (r"  google\s+1\s+10\s+6\s+1\s+2\s+2", "provider google 1 10 6 1 2 2"),
    (r"  other\s+2\s+11\s+4\s+1\s+3\s+1", "provider other 2 11 4 1 3 1"),
    (r"\s+2  hard\s+5\.1\.1\s+550 5\.1\.1 <address>: Recipient address "
     r"rejected: User unknown.*", "reason 2 hard 5.1.1 <address>"),
    (r"\s+1  soft\s+5\.2\.2\s+552 5\.2\.2 Mailbox full",
     "reason 1 soft 5.2.2"),
    (r"\s+1  policy\s+5\.7\.1\s+554 5\.7\.1 Message rejected as spam by "
     r"Content Filtering", "reason 1 policy 5.7.1"),
    (r"\s+1  unknown\s+-\s+=HYPERLINK.*", "reason 1 unknown - (no code)")):
    line("c1", c1, pat, desc)
ok(c1.index("  a.test ") < c1.index("  b.test ") < c1.index("  c.test "),
   "c1 text: the domains by recipients")
ok(c1.index("     2  hard") < c1.index("     1  soft") <
   c1.index("     1  policy") < c1.index("     1  unknown"),
   "c1 text: the reasons most frequent first, then by reply")
for pat, desc in (
    (r"Campaign c2 \(cancelled\)", "Campaign c2 (cancelled)"),
    (r"Started 2027-01-16T08:00:00\.250Z, finished "
     r"2027-01-16T08:30:00\.250Z, duration 30\.0 min, 0\.0 messages/s",
     "Started, finished, duration 30.0 min"),
    (r"Time to delivery: median -, 95th percentile -",
     "Time to delivery: median -, 95th percentile -"),
    (r"  delivered\s+0\s+-  of sent", "delivered 0 - (no rate)"),
    (r"  opens \(human, unique\)\s+0\s+-  total 0; machines: 0 unique, "
     r"0 total", "opens 0 -"),
    (r"  clicks \(human, unique\)\s+0\s+-  total 0; machines: 0 unique; "
     r"click-to-open -", "clicks 0 - click-to-open -"),
    (r"  c\.test\s+-\s+5\s+0\s+5\s+0\s+5  421 4\.7\.0 Too many connections",
     "c.test - 5 0 5 0 5 421 4.7.0 Too many connections")):
    line("c2", c2, pat, desc)
ok("Top bounce reasons" not in c2, "c2 text: no bounce reasons heading")
PYEOF
"$PY" check_text.py >text.tap 2>&1
relay_tap text.tap $?

# ==================================================================== csv
expect 0 "report c1 --format csv" "$PB" report c1 --format csv
cp out c1.csv
cat >check_csv.py <<'PYEOF'
import csv, io

def ok(good, desc, why=""):
    print(("ok " if good else "not ok ") + desc)
    if not good and why:
        print("#   " + why)

raw = open("c1.csv", newline="").read()
rows = list(csv.reader(io.StringIO(raw, newline="")))
ok(rows[0] == ["campaign", "section", "item", "metric", "value"],
   "csv: the header", "got %r" % rows[0])
ok(all(len(r) == 5 for r in rows), "csv: five fields in every row",
   "%r" % [r for r in rows if len(r) != 5][:3])
ok(raw.endswith("\r\n") and raw.count("\r\n") == raw.count("\n"),
   "csv: CRLF line ends")
idx = {}
for r in rows[1:]:
    idx.setdefault(tuple(r[:4]), []).append(r[4])

def row(section, item, metric, want):
    got = idx.get(("c1", section, item, metric))
    ok(got == [want], "csv: c1,%s,%s,%s = %s" % (section, item, metric,
                                                 want), "got %r" % (got,))

row("campaign", "", "counts.delivered", "10")
row("campaign", "", "counts.sent", "15")
row("campaign", "", "counts.bounced.hard", "2")
row("campaign", "", "counts.opens.unique_human", "4")
row("campaign", "", "counts.opens.unique_machine", "4")
row("campaign", "", "rates.delivery", "0.666667")
row("campaign", "", "rates.click_to_open", "0.75")
row("campaign", "", "times.time_to_delivery_s.median", "40")
row("campaign", "", "times.started", "2027-01-15T08:00:00.250Z")
row("campaign", "", "times.finished", "")
row("campaign", "", "segment", "")
row("link", "0", "clicks_total", "5")
row("link", "1", "clicks_unique_human", "2")
row("link", "1", "url", "https://example.com/two")
row("domain", "b.test", "bounced", "2")
row("domain", "a.test", "throttled", "2")
row("domain", "a.test", "provider", "google")
row("provider", "other", "recipients", "11")
row("series", "24", "clicks", "1")
row("series", "2", "delivered", "1")
ok(len([r for r in rows if r[1] == "series"]) == 5 * 25,
   "csv: 5 series of 25 buckets")
ok(len([r for r in rows if r[1] == "bounce_reason" and r[3] == "count"])
   == 4, "csv: 4 bounce reasons")
bad = [c for r in rows for c in r if c[:1] in ("=", "+", "-", "@")]
ok(not bad, "csv: no cell starts with = + - @", "got %r" % bad[:3])
hostile = [r for r in rows if r[1] == "bounce_reason" and r[3] == "reply"
           and "HYPERLINK" in r[4]]
ok(len(hostile) == 1 and hostile[0][4].startswith("'="),
   "csv: the hostile reply is quoted with a leading '",
   "got %r" % hostile)
PYEOF
"$PY" check_csv.py >csv.tap 2>&1
relay_tap csv.tap $?

# ================================================================ compare
expect 0 "report --compare c1 c2" "$PB" report --compare c1 c2
cp out cmp.txt
cat >check_cmp.py <<'PYEOF'
import json, re

def ok(good, desc, why=""):
    print(("ok " if good else "not ok ") + desc)
    if not good and why:
        print("#   " + why)

text = open("cmp.txt").read().splitlines()
ok(re.fullmatch(r"\s+c1\s+c2", text[0]) is not None,
   "compare: the header names c1 and c2", "got %r" % text[0])
for label, a, b in (("recipients", "21", "21"), ("sent", "15", "0"),
                    ("delivered", "10", "0"),
                    ("delivery rate", "66.67 %", "-"),
                    ("bounced", "5", "0"), ("  hard", "2", "0"),
                    ("  soft", "1", "0"), ("  policy", "1", "0"),
                    ("open rate (human)", "40.00 %", "-"),
                    ("click rate (human)", "30.00 %", "-"),
                    ("click-to-open", "75.00 %", "-"),
                    ("unsubscribe rate", "20.00 %", "-"),
                    ("complaint rate", "10.00 %", "-"),
                    ("reply rate", "20.00 %", "-"),
                    ("possibly duplicated", "3", "0"),
                    ("median to delivery", "40.0 s", "-")):
    pat = r"%s\s+%s\s+%s" % (re.escape(label), re.escape(a), re.escape(b))
    hit = [l for l in text[:20] if re.fullmatch(pat, l)]
    ok(len(hit) == 1, "compare: %s | %s | %s" % (label.strip(), a, b),
       "no line like %r in %r" % (pat, [l for l in text[:20]
                                        if l.startswith(label)]))
ok(sum(1 for l in text if l.startswith("Campaign ")) == 2,
   "compare: both full reports follow the table")
arr = json.load(open("cmp.json"))
ok(isinstance(arr, list) and len(arr) == 2, "compare json: an array of two")
ok([r["campaign"] for r in arr] == ["c1", "c2"], "compare json: c1, c2")
ok([r["counts"]["delivered"] for r in arr] == [10, 0],
   "compare json: delivered 10 and 0")
ok(arr[1]["rates"]["delivery"] is None and
   abs(arr[0]["rates"]["delivery"] - 10 / 15) < 1e-9,
   "compare json: delivery rate 2/3 and null")
PYEOF
expect 0 "report --compare c1 c2 --format json" "$PB" report --compare c1 c2 \
	--format json
cp out cmp.json
"$PY" check_cmp.py >cmp.tap 2>&1
relay_tap cmp.tap $?

# ================================================================ output
expect 0 "report c1 --format json --output r.json" "$PB" report c1 \
	--format json --output r.json
eq "... nothing on stdout" "$(wc -c <out)" 0
eq "... the file is the report (generated_at aside)" \
	"$("$PY" -c 'import json,sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
a.pop("generated_at"); b.pop("generated_at"); print(a == b)' r.json c1.json)" True

# ================================================================== exits
expect 66 "an unknown campaign: exit 66" "$PB" report nosuch
check "... says which" has err nosuch
expect 66 "... in --compare too" "$PB" report --compare c1 nosuch
expect 64 "--compare with one campaign: exit 64" "$PB" report --compare c1
expect 64 "--format pdf: exit 64" "$PB" report c1 --format pdf
expect 64 "no campaign: exit 64" "$PB" report
expect 73 "--output in a directory that is not there: exit 73" \
	"$PB" report c1 --output "$T/no/such/dir/r.txt"
check "... names the file" has err "$T/no/such/dir/r.txt"

# ========================================================== draft, wide
# A draft: no deliveries yet, nothing known, empty series.
"$PB" campaign create c4 --list news --template t --from news@example.com \
	>/dev/null
expect 0 "report of a draft" "$PB" report c4 --format json
eq "... no deliveries, every rate and time null, no links or domains, empty series" \
	"$("$PY" -c 'import json,sys; r = json.load(open(sys.argv[1]))
t, s = r["times"], r["series"]
print(r["status"], r["counts"]["recipients"], r["counts"]["sent"],
    set(r["rates"].values()), t["started"], t["duration_s"],
    t["throughput_per_s"], t["time_to_delivery_s"], len(r["links"]),
    len(r["domains"]), len(r["providers"]), s["start"],
    [len(s[k]) for k in ("delivered", "bounced", "deferred", "opens", "clicks")])' out)" \
	"draft 0 0 {None} None None None {'median': None, 'p95': None} 0 0 0 None [0, 0, 0, 0, 0]"

# 21 domains: the 20 largest in the table (w01 with 3, then the ties by
# name: w02..w20), every one in the provider totals.
{
	echo "email,name"
	echo "x1@w01.test,X"; echo "x2@w01.test,X"; echo "x3@w01.test,X"
	for i in $(seq -w 2 21); do echo "y@w$i.test,Y"; done
} >wide.csv
"$PB" list import wide wide.csv >/dev/null
"$PB" campaign create c5 --list wide --template t --from news@example.com \
	>/dev/null
"$PB" campaign start c5 >/dev/null
expect 0 "report of a campaign over 21 domains" "$PB" report c5 --format json
eq "... 20 domains: w01 (3) first, w02..w20, not w21; one provider of 21 domains, 23 recipients" \
	"$("$PY" -c 'import json,sys; r = json.load(open(sys.argv[1]))
d = r["domains"]
print(len(d), d[0]["domain"], d[0]["recipients"],
    " ".join(x["domain"][1:3] for x in d[1:]),
    [(p["provider"], p["domains"], p["recipients"]) for p in r["providers"]],
    r["counts"]["pending_now"])' out)" \
	"20 w01.test 3 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 [('other', 21, 23)] 23"

# ============================================================= concurrent
# c3: 40 recipients at d.test, sent by another process to a server that
# waits 300 ms before every reply; reports are taken meanwhile.
start tarpit --tarpit-ms 300
cat >send.json <<EOF
{"hostname": "mail.example.com",
 "tracking": {"base_url": "https://t.example.com"},
 "delivery": {"mode": "mx", "tls": "none",
  "routes": {"*.test": {"host": "127.0.0.1", "port": ${port[tarpit]},
   "tls": "none"}}}}
EOF
{
	echo "email,name"
	for i in $(seq 40); do echo "s$i@d.test,S$i"; done
} >slow.csv
"$PB" list import slow slow.csv >/dev/null
"$PB" campaign create c3 --list slow --template t --from news@example.com \
	>/dev/null
c3() { sql "SELECT count(*) FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id WHERE c.name = 'c3' AND d.status = '$1'"; }
"$PB" --config send.json send c3 --no-dkim --quiet >send.out 2>send.err &
spid=$!
pids="$pids $spid"
for _ in $(seq 200); do
	[ "$(c3 delivered 2>/dev/null)" -gt 0 ] 2>/dev/null && break
	sleep 0.1
done
check "concurrent: the send has delivered some" test "$(c3 delivered)" -gt 0
t0=$(date +%s%N)
"$PB" report c3 --format json >c3.json 2>c3.err
rc3=$?
"$PB" report c1 --format json >c1b.json 2>c1b.err
rc1=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
d0=$(c3 delivered)
eq "concurrent: report c3 during the send: exit 0" "$rc3" 0
sed 's/^/#   /' c3.err | head -3
eq "concurrent: report c1 during the send: exit 0" "$rc1" 0
check "concurrent: both quickly (${ms} ms)" test "$ms" -lt 3000
eq "concurrent: c3's report counts its 40 recipients" \
	"$("$PY" -c 'import json,sys; r = json.load(open(sys.argv[1])); c = r["counts"]
print(c["recipients"], c["delivered"] + c["pending_now"] + c["deferred_now"] + c["bounced"]["total"] + c["failed"])' c3.json)" "40 40"
eq "concurrent: c1's report unchanged (delivered, sent, opens)" \
	"$("$PY" -c 'import json,sys; c = json.load(open(sys.argv[1]))["counts"]
print(c["delivered"], c["sent"], c["opens"]["total"])' c1b.json)" "10 15 9"
check "concurrent: the send is still running after the reports" \
	kill -0 "$spid"
for _ in $(seq 300); do
	[ "$(c3 delivered)" -gt "$d0" ] && break
	sleep 0.1
done
check "concurrent: the send went on (delivered $d0, then $(c3 delivered))" \
	test "$(c3 delivered)" -gt "$d0"
kill -TERM "$spid" 2>/dev/null
wait "$spid"
eq "concurrent: the send exits 0 (SIGTERM)" "$?" 0
sed 's/^/#   /' send.err | head -3
stop tarpit
done_testing
