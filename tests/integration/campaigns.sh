#!/bin/bash
# campaigns.sh - templates, campaign creation, the campaign life cycle,
# suppressions keeping recipients out of deliveries, and list removal.
. "$TESTS/lib.sh"

status() { sql "SELECT status FROM campaigns WHERE name = '$1'"; }
deliveries() {
	sql "SELECT count(*) FROM deliveries d JOIN campaigns c ON
	    c.id = d.campaign_id WHERE c.name = '$1'"
}
# delivered_to CAMPAIGN: the address keys with a delivery, sorted.
delivered_to() {
	sql "SELECT group_concat(k, ' ') FROM (SELECT r.address_key AS k
	    FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id
	    JOIN recipients r ON r.id = d.recipient_id WHERE c.name = '$1'
	    ORDER BY k)"
}

"$PB" init >/dev/null || exit 1

# -------------------------------------------------------------- templates
printf '<html><body><p>Hello {{ name }}, größte Grüße</p></body></html>\n' > v1.html
printf '<p>version two</p>\n' > v2.html
printf 'Hello {{ name }}\n' > v1.txt
expect 0 "template add" "$PB" template add news --subject "News" \
	--html v1.html --text v1.txt
eq "... version 1" "$(cat out)" "template=news version=1"
expect 0 "template add on the same name" "$PB" template add news \
	--subject "News 2" --html v2.html
eq "... adds version 2" "$(cat out)" "template=news version=2"
eq "... both versions stored" "$(sql "SELECT count(*) FROM template_versions")" 2
expect 0 "template show --part html prints the newest html" \
	"$PB" template show news --part html
check "... byte for byte" cmp -s out v2.html
expect 0 "template show --version 1 --part html" \
	"$PB" template show news --version 1 --part html
check "... prints the first file byte for byte" cmp -s out v1.html
expect 0 "template show --version 1 --part text" \
	"$PB" template show news --version 1 --part text
check "... prints the text file" cmp -s out v1.txt
expect 0 "template show --part subject" "$PB" template show news --part subject
eq "... prints the subject" "$(cat out)" "News 2"
expect 66 "template show of a missing version exits 66" \
	"$PB" template show news --version 3
check "... naming the version" has err "has no version 3"
expect 66 "template show of a missing template exits 66" "$PB" template show nope
expect 64 "template show --part with a bad part exits 64" \
	"$PB" template show news --part body
expect 0 "template ls" "$PB" template ls
eq "... shows the newest version" "$(cut -f1-3 out)" "$(printf 'news\t2\tNews 2')"

s0=$(store_sum)
printf '<p>caf\351</p>\n<p>second line</p>\n' > latin1.html
expect 65 "a non-UTF-8 HTML file exits 65" \
	"$PB" template add bad --subject x --html latin1.html
check "... naming the file and line" has err "latin1.html:1: not valid UTF-8"
printf '<p>fine</p>\n<p>caf\351</p>\n' > latin1b.html
expect 65 "a non-UTF-8 byte on line 2" \
	"$PB" template add bad --subject x --html latin1b.html
check "... names line 2" has err "latin1b.html:2: not valid UTF-8"
expect 65 "a non-UTF-8 text part exits 65" \
	"$PB" template add bad --subject x --html v1.html --text latin1.html
check "... naming the file" has err "latin1.html"
expect 66 "a missing HTML file exits 66" \
	"$PB" template add bad --subject x --html nosuch.html
check "... naming the file" has err "nosuch.html"
expect 64 "template add without --html exits 64" \
	"$PB" template add bad --subject x
expect 64 "a two-line subject exits 64" \
	"$PB" template add bad --subject "$(printf 'a\nb')" --html v1.html
eq "the refused templates changed nothing" "$(store_sum)" "$s0"

# ---------------------------------------------------------------- a list
cat > people.csv <<'EOF'
email,name,plan
ann@example.com,Ann,pro
bob@example.com,Bob,free
cat@example.org,Cat,pro
dan@other.example,Dan,pro
eve@other.example,Eve,free
fay@example.net,Fay,pro
EOF
"$PB" list import people people.csv >/dev/null || exit 1
"$PB" list import others people.csv >/dev/null || exit 1

# ------------------------------------------------------- create: refusals
s0=$(store_sum)
expect 64 "campaign create without --from exits 64" \
	"$PB" campaign create c --list people --template news
check "... naming what is required" has err "--from are required"
expect 64 "campaign create without --list exits 64" \
	"$PB" campaign create c --template news --from a@example.com
expect 64 "campaign create without --template exits 64" \
	"$PB" campaign create c --list people --from a@example.com
expect 64 "campaign create without a name exits 64" \
	"$PB" campaign create --list people --template news --from a@example.com
expect 65 "a bad --from address exits 65" \
	"$PB" campaign create c --list people --template news --from "not an address"
check "... naming --from" has err "postbote: --from: "
expect 65 "a --from with a bad domain exits 65" \
	"$PB" campaign create c --list people --template news --from "News <a@localhost>"
check "... naming --from" has err "postbote: --from: "
expect 65 "a bad --reply-to exits 65" \
	"$PB" campaign create c --list people --template news \
	--from a@example.com --reply-to "nope"
check "... naming --reply-to" has err "postbote: --reply-to: "
expect 66 "an unknown list exits 66" \
	"$PB" campaign create c --list nolist --template news --from a@example.com
check "... naming the list" has err 'no list named "nolist"'
expect 66 "an unknown template exits 66" \
	"$PB" campaign create c --list people --template notpl --from a@example.com
check "... naming the template" has err 'no template named "notpl"'
expect 64 "a bad --schedule time exits 64" \
	"$PB" campaign create c --list people --template news \
	--from a@example.com --schedule tomorrowish
check "... naming --schedule" has err "--schedule"
eq "the refused creates changed nothing" "$(store_sum)" "$s0"

expect 0 "campaign create" "$PB" campaign create spring --list people \
	--template news --from 'Postbote News <news@example.com>' \
	--reply-to help@example.com
eq "... reports the audience" "$(cat out)" \
	"members=6 matching=6 suppressed=0 eligible=6"
eq "... a draft" "$(status spring)" draft
eq "... pins the newest template version" \
	"$(sql "SELECT v.version FROM campaigns c JOIN template_versions v ON
	    v.id = c.template_version_id WHERE c.name = 'spring'")" 2
eq "... with the sender split into name and address" \
	"$(sql "SELECT from_name || '|' || from_addr || '|' || reply_to
	    FROM campaigns WHERE name = 'spring'")" \
	"Postbote News|news@example.com|help@example.com"
s0=$(store_sum)
expect 65 "a duplicate campaign name exits 65" "$PB" campaign create spring \
	--list people --template news --from news@example.com
check "... naming the campaign" has err 'campaign "spring" already exists'
eq "... and changes nothing" "$(store_sum)" "$s0"

# ---------------------------------------------------------------- lifecycle
created=$(sql "SELECT created_at FROM campaigns WHERE name = 'spring'")
expect 0 "schedule --at +1h" "$PB" campaign schedule spring --at +1h
eq "... prints the status" "$(cat out)" "status=scheduled"
eq "... scheduled" "$(status spring)" scheduled
eq "... about an hour from now" \
	"$(sql "SELECT scheduled_at - $created BETWEEN 3590000 AND 3660000
	    FROM campaigns WHERE name = 'spring'")" 1
expect 0 "pause a scheduled campaign" "$PB" campaign pause spring
eq "... paused" "$(status spring)" paused
expect 65 "start a paused campaign exits 65" "$PB" campaign start spring
expect 0 "resume it" "$PB" campaign resume spring
eq "... back to scheduled (it never started)" "$(status spring)" scheduled
eq "... with no deliveries yet" "$(deliveries spring)" 0
expect 0 "start" "$PB" campaign start spring
eq "... prints the deliveries" "$(cat out)" "status=running deliveries=6"
eq "... running" "$(status spring)" running
eq "... one delivery per eligible recipient" "$(deliveries spring)" 6
eq "... all pending" \
	"$(sql "SELECT count(*) FROM deliveries WHERE status = 'pending'")" 6
eq "... with the recipient's domain copied" \
	"$(sql "SELECT count(*) FROM deliveries d JOIN recipients r ON
	    r.id = d.recipient_id WHERE d.domain = r.domain")" 6
eq "... started_at set" \
	"$(sql "SELECT started_at IS NOT NULL FROM campaigns WHERE name = 'spring'")" 1
expect 0 "campaign show after start" "$PB" campaign show spring
check "... counts the pending deliveries" has out "deliveries.pending=6"
expect 65 "start twice exits 65" "$PB" campaign start spring
check "... saying why" has err "cannot start a campaign that is running"
eq "... no second set of deliveries" "$(deliveries spring)" 6
expect 65 "schedule a running campaign exits 65" \
	"$PB" campaign schedule spring +2h
eq "... still running" "$(status spring)" running
expect 0 "pause the running campaign" "$PB" campaign pause spring
eq "... paused" "$(status spring)" paused
expect 65 "schedule a paused campaign that has started exits 65" \
	"$PB" campaign schedule spring +2h
check "... saying to use resume" has err "use resume"
expect 0 "resume it" "$PB" campaign resume spring
eq "... running again (it had started)" "$(status spring)" running
eq "... deliveries unchanged" "$(deliveries spring)" 6
expect 0 "cancel" "$PB" campaign cancel spring
eq "... cancelled" "$(status spring)" cancelled
eq "... finished_at set" \
	"$(sql "SELECT finished_at IS NOT NULL FROM campaigns WHERE name = 'spring'")" 1
expect 65 "cancel twice exits 65" "$PB" campaign cancel spring
expect 65 "resume a cancelled campaign exits 65" "$PB" campaign resume spring
expect 65 "start a cancelled campaign exits 65" "$PB" campaign start spring

expect 0 "another draft" "$PB" campaign create draft1 --list people \
	--template news --from news@example.com
s0=$(store_sum)
expect 65 "resume a draft exits 65" "$PB" campaign resume draft1
check "... saying why" has err "cannot resume a campaign that is draft"
expect 65 "pause a draft exits 65" "$PB" campaign pause draft1
eq "... and nothing changed" "$(store_sum)" "$s0"
expect 66 "an unknown campaign exits 66" "$PB" campaign start nosuch
check "... naming it" has err 'no campaign named "nosuch"'
expect 64 "schedule without a time exits 64" "$PB" campaign schedule draft1
expect 64 "schedule --at without a time exits 64" "$PB" campaign schedule \
	draft1 --at
expect 64 "schedule with both a TIME and --at exits 64" "$PB" campaign \
	schedule draft1 +1h --at +2h
expect 64 "schedule with a bad time exits 64" "$PB" campaign schedule draft1 soon
expect 0 "schedule with an ISO time" \
	"$PB" campaign schedule draft1 2030-01-02T03:04:05Z
eq "... stored in UTC ms" \
	"$(sql "SELECT scheduled_at FROM campaigns WHERE name = 'draft1'")" \
	1893553445000
expect 0 "create --schedule +30m makes a scheduled campaign" \
	"$PB" campaign create sched --list people --template news \
	--from news@example.com --schedule +30m
eq "... scheduled" "$(status sched)" scheduled
expect 0 "starting a scheduled campaign directly" "$PB" campaign start sched
eq "... gives all six deliveries" "$(deliveries sched)" 6

# ------------------------------------------------------------ suppressions
expect 0 "suppress an address" "$PB" suppress add Ann@Example.COM
eq "... added=1" "$(cat out)" "added=1"
expect 0 "suppress it again" "$PB" suppress add ann@example.com
eq "... added=0" "$(cat out)" "added=0"
expect 0 "suppress a domain" "$PB" suppress add @other.example --reason bounced
expect 0 "suppress an address for one list" \
	"$PB" suppress add bob@example.com --list people
expect 0 "suppress a domain for the other list" \
	"$PB" suppress add @example.net --list others
expect 66 "suppress for an unknown list exits 66" \
	"$PB" suppress add x@example.com --list nolist
expect 65 "suppress a bad target exits 65" "$PB" suppress add "a b@example.com"
check "... naming the argument" has err 'argument 1 ("a b@example.com")'
expect 0 "suppress an address its domain already covers" \
	"$PB" suppress add dan@other.example
eq "five suppressions stored" "$(sql "SELECT count(*) FROM suppressions")" 5

expect 0 "create on people" "$PB" campaign create supp1 --list people \
	--template news --from news@example.com
eq "... counts the suppressed, dan once" "$(cat out)" \
	"members=6 matching=6 suppressed=4 eligible=2"
expect 0 "start on people" "$PB" campaign start supp1
eq "... queues only the eligible" "$(cat out)" "status=running deliveries=2"
eq "... address, domain and per-list suppressions stay out" \
	"$(delivered_to supp1)" "cat@example.org fay@example.net"
expect 0 "create on others" "$PB" campaign create supp2 --list others \
	--template news --from news@example.com
eq "... people's suppression of bob does not apply" "$(cat out)" \
	"members=6 matching=6 suppressed=4 eligible=2"
expect 0 "start on others" "$PB" campaign start supp2
eq "... bob is in, fay (example.net for others) is out" \
	"$(delivered_to supp2)" "bob@example.com cat@example.org"
expect 0 "create with a segment and suppressions" "$PB" campaign create supp3 \
	--list people --template news --from news@example.com \
	--segment "plan = 'pro'"
eq "... counts both" "$(cat out)" "members=6 matching=4 suppressed=2 eligible=2"
expect 0 "start it" "$PB" campaign start supp3
eq "... deliveries equal the eligible count" "$(deliveries supp3)" 2
expect 0 "list show" "$PB" list show people
eq "... counts the suppressed members" "$(cat out)" \
	"name=people members=6 suppressed=4 domains=4"

expect 0 "suppress rm" "$PB" suppress rm @other.example dan@other.example
eq "... removed=2" "$(cat out)" "removed=2"
expect 0 "suppress rm of an absent one" "$PB" suppress rm @other.example
eq "... removed=0" "$(cat out)" "removed=0"
expect 0 "the domain suppression for others only is not global" \
	"$PB" suppress rm @example.net
eq "... removed=0" "$(cat out)" "removed=0"

# suppress import
cat > supp.txt <<'EOF'
email
# bounced last month
cat@example.org

@Bounce.Example
not an address at all
fay@example.net
two@@example.com
EOF
expect 0 "suppress import" "$PB" suppress import supp.txt --reason import
eq "... counts entries, added and rejected" "$(cat out)" \
	"lines=5 added=3 existing=0 rejected=2"
check "... reports the bad line 6" has err "supp.txt:6: rejected: "
check "... and the bad line 8" has err "supp.txt:8: rejected: "
eq "... exactly two rejects" "$(grep -c rejected: err)" 2
eq "... the domain stored lower-case" \
	"$(sql "SELECT count(*) FROM suppressions WHERE kind = 'domain' AND
	    value = 'bounce.example' AND source = 'import'")" 1
s0=$(store_sum)
printf 'zed@example.com\nbad line\n' > strict.txt
expect 65 "suppress import --strict with a bad line exits 65" \
	"$PB" suppress import strict.txt --strict
check "... reports the line" has err "strict.txt:2: rejected: "
eq "... and imports nothing" "$(store_sum)" "$s0"
expect 66 "suppress import of a missing file exits 66" \
	"$PB" suppress import nosuch.txt

expect 0 "suppress ls --json" "$PB" suppress ls --json
check "... parses" sh -c "/usr/bin/python3 -m json.tool out >/dev/null"
eq "... every suppression with kind, value, list and reason" \
	"$(/usr/bin/python3 -c 'import json
for s in json.load(open("out")):
    print(s["kind"], s["value"], s["list"], s["reason"] or "-", s["source"])')" \
	"$(printf '%s\n' \
	    "address ann@example.com None - manual" \
	    "address bob@example.com people - manual" \
	    "address cat@example.org None import import" \
	    "address fay@example.net None import import" \
	    "domain bounce.example None import import" \
	    "domain example.net others - manual")"
expect 0 "suppress ls --list people --json" "$PB" suppress ls --list people --json
eq "... global ones and people's own, not others'" \
	"$(/usr/bin/python3 -c 'import json
print(" ".join(s["value"] for s in json.load(open("out"))))')" \
	"ann@example.com bob@example.com cat@example.org fay@example.net bounce.example"

# --------------------------------------------------------------- list rm
s0=$(store_sum)
expect 65 "list rm while a campaign uses the list exits 65" "$PB" list rm people
check "... saying why" has err 'list "people" is used by'
eq "... and removes nothing" "$(store_sum)" "$s0"
expect 0 "list rm of an unused list" "$PB" list create spare
expect 0 "... is allowed" "$PB" list rm spare
eq "... the list is gone" "$(sql "SELECT count(*) FROM lists WHERE name = 'spare'")" 0
expect 66 "list rm of an unknown list exits 66" "$PB" list rm nosuch

done_testing
