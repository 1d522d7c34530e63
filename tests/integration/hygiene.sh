#!/bin/bash
# hygiene.sh - `postbote hygiene` on a crafted list with every category,
# its domains answered by a dnsmasq of our own on a free loopback port
# (--local makes unknown names under .test, .com and .dee NXDOMAIN;
# fail.test is forwarded to a Python server that answers SERVFAIL):
#
#   mx.test       MX to mx1.mx.test (127.0.0.1): deliverable
#   aonly.test    an A record only: the implicit MX, deliverable
#   nullmx.test   MX 0 "." (RFC 7505): null_mx
#   gone.test     NXDOMAIN: no_mx; likewise gmial.com and gmx.dee (typos)
#   fail.test     SERVFAIL: dns_failure, never applied
#   gmail.com, googlemail.com, mailinator.com: MX to mx1.mx.test
#
# How each history is made:
#   hard@         a real send (tests/tools/smtpd.py answers 550 5.1.1):
#                 the delivery's bounce_class and the bounce suppression
#                 are the send's own
#   soft@, compl@, unsub@, opens, clicks, deliveries of six campaigns:
#                 inserted with sqlite3 into events (and one unsubscribe
#                 suppression), since the test is about how hygiene reads
#                 them; bounce.sh and track.sh test how they are recorded
#   bad..dots@    inserted with sqlite3: import refuses it, as it should
#
# Checked: every count in text (scripts' tab-separated form) and JSON,
# the flagged recipients' reasons, suggestions and kept addresses in
# JSON and CSV, the config's thresholds, --apply with --dry-run (nothing
# written) and without (suppressions added; again: already suppressed),
# --apply dns_failure refused, the HTML page parsed by Python's
# html.parser with everything escaped, --list, and the exit codes.
# Runs alone too: bash tests/integration/hygiene.sh.
: "${TESTS:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${POSTBOTE:=${PB:-$TESTS/../build/postbote}}"
export TESTS POSTBOTE
. "$TESTS/lib.sh"

PY=/usr/bin/python3
SMTPD="$TESTS/tools/smtpd.py"
. "$TESTS/smtpd_lib.sh"
. "$TESTS/dns_lib.sh"
PB="$POSTBOTE"

need dnsmasq

# ================================================================== DNS
udp_server servfail servfail.port
SERVFAIL=$(cat servfail.port)

dns_start aonly.test --conf-file=/dev/null \
	--local=/test/ --local=/com/ --local=/dee/ \
	--mx-host=mx.test,mx1.mx.test,10 \
	--host-record=mx1.mx.test,127.0.0.1 \
	--host-record=aonly.test,127.0.0.2 \
	--mx-host=nullmx.test,.,0 \
	--mx-host=gmail.com,mx1.mx.test,10 \
	--mx-host=googlemail.com,mx1.mx.test,10 \
	--mx-host=mailinator.com,mx1.mx.test,10 \
	--server="/fail.test/127.0.0.1#$SERVFAIL"

start sink --rcpt-rule '^hard@=550 5.1.1 No such user'

cat >pb.json <<EOF
{"hostname": "mail.example.com",
 "delivery": {"mode": "mx", "tls": "none",
  "dns_servers": ["127.0.0.1:$DNSPORT"],
  "routes": {"*.test": {"host": "127.0.0.1", "port": ${port[sink]},
   "tls": "none"}}},
 "hygiene": {"inactive_campaigns": 5, "inactive_days": 180,
  "soft_bounce_campaigns": 3, "dns_concurrency": 4, "dns_timeout": "2s"}}
EOF
export POSTBOTE_CONFIG=$PWD/pb.json

# ================================================================ the list
cat >news.csv <<'EOF'
email,name
ok@mx.test,clean
a@aonly.test,clean: implicit MX
b@nullmx.test,null MX
c@gone.test,NXDOMAIN
d@fail.test,SERVFAIL
info@mx.test,role
no-reply@mx.test,role
x@mailinator.com,disposable
bob@gmial.com,typo and NXDOMAIN
z@gmx.dee,typo and NXDOMAIN
j.doe@gmail.com,kept
jdoe+news@googlemail.com,duplicate
jd.oe@gmail.com,duplicate
hard@mx.test,hard bounce by a real send
soft@mx.test,soft bounces in 3 campaigns
soft2@mx.test,soft bounces in 2 campaigns
compl@mx.test,complained
unsub@mx.test,unsubscribed event
unsub2@mx.test,unsubscribe suppression
inactive@mx.test,5 campaigns with only a machine open
active@mx.test,5 campaigns and a human open
old@mx.test,6 campaigns with a click in the oldest
days@mx.test,mail for 200 days and nothing
new@mx.test,one mail 10 days ago
"""<i>x</i>&amp;""@gone.test",escaped in HTML
EOF
# The unsubscribe link keeps `send`'s content checks (lint) quiet.
printf '<p>Hello {{ name }}</p>\n<p><a href="https://example.com/unsubscribe">Unsubscribe</a></p>\n' >t.html
expect 0 "init" "$PB" init
expect 0 "import the crafted list" "$PB" list import news news.csv
eq "... 25 recipients" "$(sql 'SELECT count(*) FROM recipients')" 25
sql "INSERT INTO recipients(address, address_key, domain, created_at, updated_at)
	VALUES('bad..dots@mx.test', 'bad..dots@mx.test', 'mx.test', 0, 0);
	INSERT INTO list_members SELECT l.id, r.id, 0 FROM lists l, recipients r
	WHERE l.name = 'news' AND r.address = 'bad..dots@mx.test'"
printf 'email\nhard@mx.test\nok@mx.test\n' >send.csv
expect 0 "a second list to send to" "$PB" list import sendlist send.csv
expect 0 "a template" "$PB" template add t --subject Hi --html t.html
expect 0 "campaign c1" "$PB" campaign create c1 --list sendlist --template t \
	--from news@example.com
expect 0 "c1 sent" "$PB" send c1 --no-dkim --quiet
eq "... hard@ bounced hard" "$(sql "SELECT d.status || ' ' || d.bounce_class
	FROM deliveries d JOIN recipients r ON r.id = d.recipient_id
	WHERE r.address = 'hard@mx.test'")" "bounced hard"
for n in 2 3 4 5 6 7; do
	"$PB" campaign create "c$n" --list news --template t \
		--from news@example.com >/dev/null 2>&1 || notok "campaign c$n"
done
cid() { sql "SELECT id FROM campaigns WHERE name = 'c$1'"; }
rid() { sql "SELECT id FROM recipients WHERE address = '$1'"; }
NOW=$(($(date +%s) * 1000))
DAY=86400000
# ev ADDRESS CAMPAIGN TYPE DAYS-AGO [MACHINE] [DETAIL]
ev() {
	sql "INSERT INTO events(campaign_id, recipient_id, type, at, machine,
		detail) VALUES($(cid "$2"), $(rid "$1"), '$3',
		$((NOW - $4 * DAY - 1000)), ${5:-0}, '${6:-{\}}')"
}
for n in 2 3 4; do ev soft@mx.test "$n" bounced $((10 - n)) 0 '{"class": "soft"}'; done
for n in 2 3; do ev soft2@mx.test "$n" bounced $((10 - n)) 0 '{"class": "soft"}'; done
ev compl@mx.test 2 complained 5
ev unsub@mx.test 2 unsubscribed 5
sql "INSERT INTO suppressions(kind, value, list_id, reason, source, created_at)
	SELECT 'address', 'unsub2@mx.test', id, 'unsubscribed', 'unsubscribe', 0
	FROM lists WHERE name = 'news'"
for n in 2 3 4 5 6; do
	ev inactive@mx.test "$n" delivered $((10 - n))
	ev active@mx.test "$n" delivered $((10 - n))
done
ev inactive@mx.test 6 opened 3 1	# a machine's open: does not count
ev active@mx.test 6 opened 3 0
for n in 2 3 4 5 6 7; do ev old@mx.test "$n" delivered $((10 - n)); done
ev old@mx.test 2 clicked 7 0		# the oldest of six: not the last five
ev days@mx.test 2 delivered 200
ev days@mx.test 3 delivered 10
ev new@mx.test 2 delivered 10

# ================================================================ the report
# Counts per category, as the scripts' form says them.
want="invalid_syntax 1
no_mx 4
null_mx 1
dns_failure 1
role 2
disposable 1
typo 2
duplicate 2
hard_bounced 1
soft_bounced 1
complained 1
unsubscribed 2
inactive 3"
expect 0 "hygiene (text for scripts)" "$PB" hygiene
eq "text: one row per category, with its count" \
	"$(grep -v = out | cut -f1,2 | tr '\t' ' ')" "$want"
eq "text: the summary line" "$(grep = out)" \
	"recipients=26 flagged=20 domains=10 resolved=10"
eq "text: shares in percent of recipients" \
	"$(awk -F'\t' '$1 == "no_mx" { print $3 }' out)" "15.4"
eq "text: examples" "$(awk -F'\t' '$1 == "role" { print $4 }' out)" \
	"info@mx.test,no-reply@mx.test"

expect 0 "hygiene --json" "$PB" hygiene --json
cp out report.json
cat >check_json.py <<'EOF'
import json, sys
want = dict(l.split() for l in sys.argv[2].splitlines())
d = json.load(open(sys.argv[1]))
n = 0
def check(desc, got, exp):
    global n
    n += 1
    if got == exp:
        print("ok %d - json: %s" % (n, desc))
    else:
        print("not ok %d - json: %s: got %r, wanted %r" % (n, desc, got, exp))
s = d["summary"]
for c, k in want.items():
    check("%s count" % c, s["categories"][c]["count"], int(k))
check("recipients, flagged, domains", (s["recipients"], s["flagged"],
      s["domains"], s["resolved"]), (26, 20, 10, 10))
by = {r["address"]: r for r in d["flagged"]}
check("one entry per flagged recipient", len(d["flagged"]), 20)
reasons = {a: r["reasons"] for a, r in by.items()}
exp = {
    "b@nullmx.test": ["null_mx"], "c@gone.test": ["no_mx"],
    "d@fail.test": ["dns_failure"], "info@mx.test": ["role"],
    "no-reply@mx.test": ["role"], "x@mailinator.com": ["disposable"],
    "bob@gmial.com": ["no_mx", "typo"], "z@gmx.dee": ["no_mx", "typo"],
    "jdoe+news@googlemail.com": ["duplicate"],
    "jd.oe@gmail.com": ["duplicate"], "hard@mx.test": ["hard_bounced"],
    "soft@mx.test": ["soft_bounced"], "compl@mx.test": ["complained"],
    "unsub@mx.test": ["unsubscribed"], "unsub2@mx.test": ["unsubscribed"],
    "inactive@mx.test": ["inactive"], "old@mx.test": ["inactive"],
    "days@mx.test": ["inactive"], "bad..dots@mx.test": ["invalid_syntax"],
    '"<i>x</i>&amp;"@gone.test': ["no_mx"],
}
for a, r in exp.items():
    check("%s: %s" % (a, ",".join(r)), reasons.get(a), r)
for a in ("ok@mx.test", "a@aonly.test", "j.doe@gmail.com", "soft2@mx.test",
          "active@mx.test", "new@mx.test"):
    check("%s not flagged" % a, a in by, False)
check("typo suggestion gmail.com", by["bob@gmial.com"].get("suggestion"),
      "gmail.com")
check("typo suggestion gmx.de", by["z@gmx.dee"].get("suggestion"), "gmx.de")
check("duplicate names the address kept",
      by["jd.oe@gmail.com"].get("duplicate_of"), "j.doe@gmail.com")
check("duplicate across googlemail.com",
      by["jdoe+news@googlemail.com"].get("duplicate_of"), "j.doe@gmail.com")
check("null MX: the resolver's reason", "null MX" in
      by["b@nullmx.test"].get("dns", ""), True)
check("NXDOMAIN: the resolver's reason", "NXDOMAIN" in
      by["c@gone.test"].get("dns", ""), True)
check("lists named", by["hard@mx.test"]["lists"], ["news", "sendlist"])
EOF
"$PY" check_json.py report.json "$want" >json.tap 2>&1
relay_tap json.tap $?

expect 0 "--list sendlist" "$PB" hygiene --list sendlist
eq "... two recipients, one hard bounce" \
	"$(grep = out) $(awk -F'\t' '$1 == "hard_bounced" { print $2 }' out)" \
	"recipients=2 flagged=1 domains=1 resolved=1 1"

# The config's threshold: two campaigns with soft bounces are enough.
sed 's/"soft_bounce_campaigns": 3/"soft_bounce_campaigns": 2/' pb.json >pb2.json
"$PB" --config pb2.json hygiene --no-dns >out 2>err
eq "hygiene.soft_bounce_campaigns 2: soft2@ too" \
	"$(awk -F'\t' '$1 == "soft_bounced" { print $2 }' out)" 2
eq "--no-dns: no DNS category, nothing looked up" \
	"$(awk -F'\t' '$1 ~ /mx|dns/ { s += $2 } END { print s }' out) $(grep -o 'resolved=[0-9]*' out)" \
	"0 resolved=0"
sed 's/"inactive_campaigns": 5/"inactive_campaigns": 7/; s/"inactive_days": 180/"inactive_days": 365/' \
	pb.json >pb3.json
"$PB" --config pb3.json hygiene --no-dns >out 2>err
eq "inactive_campaigns 7, inactive_days 365: nobody inactive" \
	"$(awk -F'\t' '$1 == "inactive" { print $2 }' out)" 0

# ================================================================ CSV
expect 0 "--format csv --output" "$PB" hygiene --format csv --output flagged.csv
cat >check_csv.py <<'EOF'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
n = 0
def check(desc, got, exp):
    global n
    n += 1
    print(("ok %d - csv: %s" if got == exp else
           "not ok %d - csv: %s: got %r, wanted %r") % ((n, desc) +
           (() if got == exp else (got, exp))))
check("header", rows[0], ["address", "lists", "reasons", "suggestion",
                          "duplicate_of"])
by = {r[0]: r for r in rows[1:]}
check("one row per flagged recipient", len(rows) - 1, 20)
check("typo row", by["bob@gmial.com"][1:4], ["news", "no_mx;typo", "gmail.com"])
check("duplicate row", by["jd.oe@gmail.com"][2:], ["duplicate", "",
                                                   "j.doe@gmail.com"])
check("two lists", by["hard@mx.test"][1].split(";"), ["news", "sendlist"])
check("every row has reasons", all(r[2] for r in rows[1:]), True)
EOF
"$PY" check_csv.py flagged.csv >csv.tap 2>&1
relay_tap csv.tap $?

# ================================================================ HTML
expect 0 "--format html --output" "$PB" hygiene --format html --output report.html
cat >check_html.py <<'EOF'
import html.parser, sys
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.cells, self.cur, self.bad = [], [], None, []
    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag in ("script", "link", "iframe", "img", "object"):
            self.bad.append(tag)
        for k, v in attrs:
            if k in ("src", "href") or k.startswith("on"):
                self.bad.append(k)
        if tag == "td":
            self.cur = ""
    def handle_endtag(self, tag):
        if tag == "td":
            self.cells.append(self.cur)
            self.cur = None
    def handle_data(self, data):
        if self.cur is not None:
            self.cur += data
src = open(sys.argv[1], encoding="utf-8").read()
p = P()
p.feed(src)
p.close()
n = 0
def check(desc, ok):
    global n
    n += 1
    print("%s %d - html: %s" % ("ok" if ok else "not ok", n, desc))
check("a complete page", src.startswith("<!DOCTYPE html>") and
      src.rstrip().endswith("</html>"))
check("no script, no external resource", p.bad == [])
check("inline CSS", "style" in p.tags)
for c in ("invalid_syntax", "no_mx", "null_mx", "dns_failure", "role",
          "disposable", "typo", "duplicate", "hard_bounced", "soft_bounced",
          "complained", "unsubscribed", "inactive"):
    check("category %s in the summary" % c, c in p.cells)
check("flagged recipients listed", "bob@gmial.com" in p.cells)
check("an address with markup comes out as text",
      '"<i>x</i>&amp;"@gone.test' in p.cells and "<i>x" not in src)
EOF
"$PY" check_html.py report.html >html.tap 2>&1
relay_tap html.tap $?

# ================================================================ --apply
before=$(store_sum)
expect 0 "--apply no_mx,null_mx,role --dry-run" "$PB" hygiene \
	--apply no_mx,null_mx,role --dry-run
eq "dry run: per category" "$(grep '^apply=' out)" \
"apply=no_mx suppressed=4 already=0 dry_run=1
apply=null_mx suppressed=1 already=0 dry_run=1
apply=role suppressed=2 already=0 dry_run=1"
eq "dry run: in all" "$(tail -1 out)" "suppressed=7 already=0 dry_run=1"
eq "dry run: nothing written" "$(store_sum)" "$before"

expect 0 "--apply no_mx,null_mx,role" "$PB" hygiene --apply no_mx,null_mx,role
eq "applied: in all" "$(tail -1 out)" "suppressed=7 already=0 dry_run=0"
eq "seven hygiene suppressions, global, naming the category" \
	"$(sql "SELECT count(*), count(list_id) FROM suppressions WHERE
	    source = 'hygiene' AND kind = 'address'") $(sql "SELECT reason FROM
	    suppressions WHERE value = 'b@nullmx.test'")" "7|0 hygiene: null_mx"
eq "the typo's no_mx suppresses the address, not the domain" \
	"$(sql "SELECT count(*) FROM suppressions WHERE kind = 'domain'")" 0
expect 0 "applied again" "$PB" hygiene --apply no_mx,null_mx,role
eq "... everything already suppressed" "$(tail -1 out)" \
	"suppressed=0 already=7 dry_run=0"
expect 0 "--apply hard_bounced --dry-run --json" "$PB" hygiene \
	--apply hard_bounced --dry-run --json
eq "... the send's bounce suppression is already there" \
	"$("$PY" -c 'import json, sys; a = json.load(open(sys.argv[1]))["apply"]
print(a["dry_run"], a["categories"]["hard_bounced"]["suppressed"], a["categories"]["hard_bounced"]["already"])' out)" \
	"True 0 1"
expect 0 "--apply all --dry-run --json" "$PB" hygiene --apply all --dry-run --json
eq "... all but dns_failure, unsubscribed, and duplicate without --list" "$("$PY" -c 'import json, sys
print(sorted(json.load(open(sys.argv[1]))["apply"]["categories"]) == sorted(
    json.load(open(sys.argv[1]))["summary"]["categories"].keys() -
    {"dns_failure", "unsubscribed", "duplicate"}))' out)" \
	True
expect 64 "--apply unsubscribed is refused (they are suppressed where they asked)" \
	"$PB" hygiene --apply unsubscribed --dry-run
expect 64 "--apply duplicate without --list is refused" \
	"$PB" hygiene --apply duplicate --dry-run

before=$(store_sum)
expect 64 "--apply dns_failure is refused" "$PB" hygiene --apply dns_failure
check "... saying why" has err "dns_failure is never applied"
expect 64 "--apply no_mx,dns_failure is refused" "$PB" hygiene \
	--apply no_mx,dns_failure
expect 64 "--apply with an unknown category" "$PB" hygiene --apply no_such
check "... named" has err '"no_such"'
expect 64 "--dry-run without --apply" "$PB" hygiene --dry-run
expect 64 "--format xml" "$PB" hygiene --format xml
expect 64 "a stray argument" "$PB" hygiene news
expect 66 "--list of no list" "$PB" hygiene --list nope
expect 66 "--disposable of no file" "$PB" hygiene --disposable nope.txt
eq "refusals wrote nothing" "$(store_sum)" "$before"
expect 0 "--help" "$PB" hygiene --help
check "... lists the categories" has out "soft_bounced"

done_testing
