#!/bin/bash
# ab.sh - A/B tests end to end: three variants (the campaign's template A,
# a subject B, a second template C with its own link), sent for real
# through tests/tools/smtpd.py to 40 recipients with a 30 % test share
# (4 each), a fixture of human and machine clicks, the wait done by moving
# the test's delivery times back (the clock), the winner picked by human
# clicks per delivered message and sent to the 28 held, and every format
# of the report showing every variant. A click in a C message, through
# `track serve`, redirects to C's link: the variants' links share the
# campaign's link table without colliding.
# Runs alone too: bash tests/integration/ab.sh
: "${TESTS:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${POSTBOTE:=$TESTS/../build/postbote}"
export TESTS POSTBOTE
. "$TESTS/lib.sh"

PY=/usr/bin/python3
SMTPD="$TESTS/tools/smtpd.py"
need sqlite3 curl
. "$TESTS/smtpd_lib.sh"

mx_setup

printf '<p>Hi {{ name }}, <a href="https://a.example.com/sale">the sale</a></p>%s\n' \
    "$FOOTER" >a.html
printf '<p>Hi {{ name }}, <a href="https://c.example.com/offer">our offer</a></p>%s\n' \
    "$FOOTER" >c.html
printf 'email,name\n' >people.csv
for i in $(seq 40); do echo "p$i@ab.test,P$i"; done >>people.csv
"$PB" list import people people.csv >/dev/null &&
"$PB" template add a --subject 'Hello A' --html a.html >/dev/null &&
"$PB" template add c --subject 'Hello C, {{ name }}' --html c.html \
    >/dev/null || notok "list and templates"

# mk NAME ARGS...: campaign create NAME on the list with template a.
mk() {
	_name=$1; shift
	"$PB" campaign create "$_name" --list people --template a \
	    --from 'Acme <news@example.com>' "$@"
}

# ------------------------------------------------------------ refusals
expect 64 "--test-share without a variant is refused" mk x --test-share 10
expect 64 "five variants are refused" mk x --variant-subject 1 \
    --variant-subject 2 --variant-subject 3 --variant-subject 4
check "... naming the most" has err "at most 4 variants"
expect 64 "--winner other than opens or clicks is refused" \
    mk x --variant-subject B --winner replies
expect 64 "--test-share 95 is refused" mk x --variant-subject B \
    --test-share 95
expect 65 "a variant subject that does not compile is refused" \
    mk x --variant-subject 'Hi {{ name'
check "... naming the variant" has err "variant B"
expect 66 "an unknown variant template is refused" \
    mk x --variant-template nosuch
eq "... and nothing was made" "$(sql "SELECT count(*) FROM campaigns")" 0

expect 0 "an A/B campaign with a subject and a template variant" \
    mk ab --variant-subject 'Hello B' --variant-template c \
    --test-share 30 --test-wait 1h --winner clicks
eq "... its variants stored in order" \
    "$(sql "SELECT group_concat(cv.variant || ':' || t.name || ':' ||
        ifnull(cv.subject, '-'), ' ') FROM campaign_variants cv JOIN
        template_versions v ON v.id = cv.template_version_id JOIN templates t
        ON t.id = v.template_id")" "0:a:- 1:a:Hello B 2:c:-"

# ------------------------------------------------------------- the test
"$PB" send ab --no-dkim --log ab.log >ab.out 2>&1
eq "send: the test share goes (12 of 40), the rest is held" \
    "$(sed 's/ seconds=[0-9.]*//; s/ connections=[0-9]*//' ab.out)" \
    "delivered=12 deferred=0 bounced=0 failed=0 suppressed=0 unsent=0 left=28 status=running"
eq "... four a variant, 28 held" \
    "$(sql "SELECT group_concat(n, ' ') FROM (SELECT variant || '=' ||
        count(*) n FROM deliveries GROUP BY variant ORDER BY variant)")" \
    "-1=28 0=4 1=4 2=4"
eq "... each variant's subject on the wire" \
    "$(grep -h '^Subject:' mx/*.eml | tr -d '\r' | sed 's/, P[0-9]*$//' | sort | uniq -c |
        awk '{ $1 = $1; print }' | paste -sd,)" \
    "4 Subject: Hello A,4 Subject: Hello B,4 Subject: Hello C"
eq "... the links of A, B and C in one table, one after another (the odd ones: their unsubscribe links, never redirected)" \
    "$(sql "SELECT group_concat(idx || '=' || ifnull(url, '-'), ' ') FROM
        (SELECT * FROM campaign_links ORDER BY idx)")" \
    "0=https://a.example.com/sale 2=https://a.example.com/sale 4=https://c.example.com/offer"

# A click in a C message, through the tracking server.
"$PB" track serve --listen 127.0.0.1:0 --log 2>serve.err &
pids="$pids $!"
for _ in $(seq 100); do
	grep -q "^listening on " serve.err 2>/dev/null && break
	sleep 0.05
done
addr=$(sed -n "s/^listening on //p" serve.err)
cmsg=$(grep -l '^Subject: Hello C' mx/*.eml | head -1)
path=$("$PY" - "$cmsg" <<'EOF'
import email, re, sys
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.default)
html = m.get_body(("html",)).get_content()
print(re.search(r'href="https://t\.example\.com(/c/[^"]+)"', html).group(1))
EOF
)
eq "a click in a C message redirects to C's link" \
    "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://$addr$path")" \
    "302 https://c.example.com/offer"

expect 0 "send --due right after the test: the wait is not over" \
    "$PB" send --due --no-dkim --log due1.log
eq "... nothing more sent, no winner" \
    "$(saved mx) $(sql "SELECT ifnull(ab_winner, '-') FROM campaigns")" "12 -"
"$PB" campaign show ab >show.out
check "campaign show: the test's settings, no winner yet" \
    has show.out "ab_share=30 ab_metric=clicks ab_wait=3600 ab_winner=-"

# The fixture: human clicks A 1, B 2, C 0 (and C's machine clicks, which
# count for nothing), replacing the one click made above.
sql "DELETE FROM events WHERE type IN ('opened', 'clicked')"
sql "INSERT INTO events(campaign_id, recipient_id, type, at, machine)
    SELECT d.campaign_id, d.recipient_id, 'clicked', d.done_at + 60000,
        d.variant = 2
    FROM deliveries d WHERE d.recipient_id IN (SELECT recipient_id FROM
        deliveries WHERE variant = 0 ORDER BY recipient_id LIMIT 1)
    OR d.recipient_id IN (SELECT recipient_id FROM deliveries WHERE
        variant = 1 ORDER BY recipient_id LIMIT 2)
    OR d.recipient_id IN (SELECT recipient_id FROM deliveries WHERE
        variant = 2 ORDER BY recipient_id LIMIT 3)" || notok "the fixture"

# An hour later: the test's deliveries are moved back past the wait.
sql "UPDATE deliveries SET done_at = done_at - 3600001 WHERE variant >= 0"
expect 0 "send --due an hour later picks the winner and sends the rest" \
    "$PB" send --due --no-dkim --log due2.log
check "... B by human clicks per delivery (C's machine clicks not counted)" \
    has due2.log "ab campaign=ab winner=B by=clicks held=28 A=1/4 B=2/4 C=0/4"
eq "... the campaign done, 40 delivered" \
    "$(sql "SELECT status || ' ' || (SELECT count(*) FROM deliveries WHERE
        status = 'delivered') FROM campaigns")" "done 40"
eq "... the 28 got B" \
    "$(grep -h '^Subject:' mx/*.eml | tr -d '\r' | sed 's/, P[0-9]*$//' | sort | uniq -c |
        awk '{ $1 = $1; print }' | paste -sd,)" \
    "4 Subject: Hello A,32 Subject: Hello B,4 Subject: Hello C"
eq "... each recipient once" \
    "$(grep -h '^To:' mx/*.eml | sort -u | wc -l) $(saved mx)" "40 40"

# ------------------------------------------------------------ the report
"$PB" report ab --format json >r.json
check "report --json: the test, its winner and every variant" "$PY" -c '
import json, sys
r = json.load(open("r.json"))
ab, v = r["ab_test"], r["variants"]
ok = (ab["winner"] == "B" and ab["metric"] == "clicks" and ab["share"] == 30
  and [x["variant"] for x in v] == ["A", "B", "C"]
  and [x["sent"] for x in v] == [4, 4, 4]
  and [x["clicks_unique_human"] for x in v] == [1, 2, 0]
  and [x["winner"] for x in v] == [False, True, False]
  and v[1]["subject"] == "Hello B" and v[2]["template"] == "c"
  and abs(v[1]["click_rate"] - 0.5) < 1e-9)
sys.exit(not ok)'
"$PB" report ab >r.txt
check "report: the variants table, the winner starred" \
    grep -qE '^  B\* +4 +4 ' r.txt
check "... under its heading" has r.txt "A/B test (30% of the audience, winner by clicks: B"
"$PB" report ab --format csv >r.csv
eq "report --format csv: a row a variant figure" \
    "$(grep -c '^"ab","variant","[ABC]","clicks_unique_human",' r.csv)" 3
"$PB" report ab --format html >r.html
check "report --format html: the A/B section" has r.html "<h2>A/B test</h2>"

done_testing
