#!/bin/bash
# follow_ups.sh - `campaign create --follow-up-of`: a parent sent for real
# through tests/tools/smtpd.py, a fixture of human and machine opens and
# clicks written into its events, then one follow-up per audience. The
# clock is the parent's finished_at, moved back in the database: before
# the delay nothing is due, after it `send --due` sends each follow-up to
# exactly the recipients its audience names.
#
#   recipients of the parent    what they did
#   r1, r2                      opened (a person)
#   r3                          opened by a machine (a proxy) only
#   r4                          clicked, no open recorded
#   r5                          clicked by a machine (a scanner) only
#   r6                          nothing
#   r7                          bounced (550): never followed up
#   r8                          opened, then suppressed: never followed up
# Runs alone too: bash tests/integration/follow_ups.sh
: "${TESTS:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${POSTBOTE:=$TESTS/../build/postbote}"
export TESTS POSTBOTE
. "$TESTS/lib.sh"

PY=/usr/bin/python3
SMTPD="$TESTS/tools/smtpd.py"
need sqlite3
. "$TESTS/smtpd_lib.sh"

mx_setup --rcpt-rule '^r7@=550 5.1.1 No such user'

printf '<p>Hello {{ name }}</p>%s\n' "$FOOTER" >news.html
printf '<p>Did you see it, {{ name }}? <a href="https://example.com/sale">The sale</a></p>%s\n' \
    "$FOOTER" >again.html
printf 'email,name\n' >people.csv
for i in 1 2 3 4 5 6 7 8; do echo "r$i@f.test,R$i"; done >>people.csv
"$PB" list import people people.csv >/dev/null &&
"$PB" template add news --subject 'News' --html news.html >/dev/null &&
"$PB" template add again --subject 'Did you see it?' --html again.html \
    >/dev/null &&
"$PB" campaign create nov --list people --template news \
    --from 'Acme <news@example.com>' --reply-to 'help@example.com' \
    >/dev/null || notok "the parent made"

# ------------------------------------------------------------ refusals
expect 64 "--audience without --follow-up-of is refused" \
    "$PB" campaign create x --list people --template news \
    --from a@example.com --audience opened
expect 64 "a follow-up without --after is refused" \
    "$PB" campaign create x --follow-up-of nov --audience opened
expect 64 "a follow-up with --schedule is refused" \
    "$PB" campaign create x --follow-up-of nov --audience opened \
    --after 1d --schedule +1h
expect 64 "an unknown audience is refused" \
    "$PB" campaign create x --follow-up-of nov --audience bought --after 1d
check "... naming the four" has err "opened, not-opened, clicked or not-clicked"
expect 64 "a bad --after is refused" \
    "$PB" campaign create x --follow-up-of nov --audience opened --after 3x
expect 66 "an unknown parent is refused" \
    "$PB" campaign create x --follow-up-of dec --audience opened --after 1d
eq "... and nothing was made" "$(sql "SELECT count(*) FROM campaigns")" 1

# ------------------------------------------------------- the follow-ups
expect 0 "a follow-up of a draft is made" \
    "$PB" campaign create nov-no --follow-up-of nov --audience not-opened \
    --after 3d --template again
check "... reaching nobody yet" has out "eligible=0"
for a in opened clicked not-clicked; do
	"$PB" campaign create "nov-$a" --follow-up-of nov --audience "$a" \
	    --after 3d >/dev/null || notok "follow-up nov-$a made"
done
eq "... inheriting list, template, From and Reply-To" \
    "$(sql "SELECT c.name, l.name, t.name, c.from_name, c.from_addr,
        c.reply_to, c.status, ifnull(c.scheduled_at, '-') FROM campaigns c
        JOIN lists l ON l.id = c.list_id JOIN template_versions v ON
        v.id = c.template_version_id JOIN templates t ON t.id = v.template_id
        WHERE c.name IN ('nov-no', 'nov-clicked') ORDER BY c.name")" \
    "nov-clicked|people|news|Acme|news@example.com|help@example.com|scheduled|-
nov-no|people|again|Acme|news@example.com|help@example.com|scheduled|-"
expect 65 "sending a follow-up before its parent has finished is refused" \
    "$PB" send nov-no --no-dkim
check "... naming the parent" has err 'follows up "nov", which is draft'
eq "... and leaves nothing behind (no link rows)" \
    "$(sql "SELECT count(*) FROM campaign_links l JOIN campaigns c ON
        c.id = l.campaign_id WHERE c.name = 'nov-no'")" 0
expect 65 "campaign start likewise" "$PB" campaign start nov-no
expect 65 "a follow-up takes no schedule" "$PB" campaign schedule nov-no +1h
expect 0 "send --due sends nothing while the parent is a draft" \
    "$PB" send --due --no-dkim
eq "... the follow-ups wait" \
    "$(sql "SELECT group_concat(status) FROM campaigns WHERE follow_up_of
        IS NOT NULL")" "scheduled,scheduled,scheduled,scheduled"

# A cancelled campaign never finishes: nothing can follow it up.
"$PB" campaign create gone --list people --template news \
    --from 'Acme <news@example.com>' >/dev/null &&
"$PB" campaign create gone-no --follow-up-of gone --audience opened \
    --after 1d >/dev/null && "$PB" campaign cancel gone >/dev/null ||
    notok "a parent made and cancelled"
expect 65 "a follow-up of a cancelled campaign is refused" \
    "$PB" campaign create gone-2 --follow-up-of gone --audience opened \
    --after 1d
check "... saying why" has err 'campaign "gone" was cancelled'
expect 65 "one made before the parent was cancelled will not start" \
    "$PB" send gone-no --no-dkim
check "... saying so" has err 'follows up "gone", which was cancelled'
"$PB" campaign cancel gone-no >/dev/null || notok "gone-no cancelled"

# ----------------------------------------------------------- the parent
"$PB" send nov --no-dkim --log nov.log >nov.out 2>&1
eq "the parent is sent: seven delivered, r7 bounced" \
    "$(sed 's/ seconds=[0-9.]*//; s/ connections=[0-9]*//' nov.out)" \
    "delivered=7 deferred=0 bounced=1 failed=0 suppressed=0 unsent=0 left=0 status=done"
# The fixture: what the tracking server would have recorded.
sql "INSERT INTO events(campaign_id, recipient_id, type, at, machine)
    SELECT c.id, r.id, x.type, c.finished_at + 60000, x.machine
    FROM (SELECT 'r1@f.test' a, 'opened' type, 0 machine
      UNION ALL SELECT 'r2@f.test', 'opened', 0
      UNION ALL SELECT 'r2@f.test', 'opened', 0
      UNION ALL SELECT 'r3@f.test', 'opened', 1
      UNION ALL SELECT 'r4@f.test', 'clicked', 0
      UNION ALL SELECT 'r5@f.test', 'clicked', 1
      UNION ALL SELECT 'r8@f.test', 'opened', 0) x
    JOIN recipients r ON r.address = x.a JOIN campaigns c ON c.name = 'nov'" ||
    notok "the fixture written"
"$PB" suppress add r8@f.test >/dev/null || notok "r8 suppressed"

expect 0 "send --due right after the parent: nothing is due" \
    "$PB" send --due --no-dkim --log due1.log
eq "... no follow-up started, nothing more sent" \
    "$(sql "SELECT count(*) FROM campaigns WHERE status = 'scheduled'") $(saved mx)" \
    "4 7"
"$PB" campaign show nov-no >show.out 2>&1
check "campaign show names the parent and the due time" \
    grep -qE '^follow_up_of=nov audience=not-opened after=259200 due=[0-9]{10}$' show.out
check "... and who it would reach now (r3, r5, r6)" has show.out "eligible=3"
"$PB" campaign show nov-no --json >show.json
check "... in JSON too" /usr/bin/python3 -c '
import json, sys
f = json.load(open("show.json"))["follow_up"]
sys.exit(not (f["of"] == "nov" and f["audience"] == "not-opened" and
    f["after_seconds"] == 259200 and f["due"].endswith("Z")))'
expect 75 "send names a follow-up not due yet: refused for now" \
    "$PB" send nov-no --no-dkim

# Three days and a second pass: the parent finished that long ago.
sql "UPDATE campaigns SET finished_at = finished_at - 259201000
    WHERE name = 'nov'"
expect 0 "send --due three days later sends the follow-ups" \
    "$PB" send --due --no-dkim --log due2.log
eq "... all four done" \
    "$(sql "SELECT group_concat(name || ':' || status, ' ') FROM (SELECT
        name, status FROM campaigns WHERE follow_up_of IS NOT NULL AND
        name LIKE 'nov-%' ORDER BY name)")" \
    "nov-clicked:done nov-no:done nov-not-clicked:done nov-opened:done"

# who CAMPAIGN: the addresses it delivered to, in order.
who() {
	sql "SELECT group_concat(a, ' ') FROM (SELECT r.address a FROM
	    deliveries d JOIN recipients r ON r.id = d.recipient_id JOIN
	    campaigns c ON c.id = d.campaign_id WHERE c.name = '$1' AND
	    d.status = 'delivered' ORDER BY r.address)"
}
eq "not-opened: a machine's open or click is no open (r3 r5 r6)" \
    "$(who nov-no)" "r3@f.test r5@f.test r6@f.test"
eq "opened: a click counts as an open (r1 r2 r4)" \
    "$(who nov-opened)" "r1@f.test r2@f.test r4@f.test"
eq "clicked: a person's click only (r4)" "$(who nov-clicked)" "r4@f.test"
eq "not-clicked: (r1 r2 r3 r5 r6)" "$(who nov-not-clicked)" \
    "r1@f.test r2@f.test r3@f.test r5@f.test r6@f.test"
eq "... the bounced and the suppressed in none" \
    "$(sql "SELECT count(*) FROM deliveries d JOIN recipients r ON
        r.id = d.recipient_id JOIN campaigns c ON c.id = d.campaign_id
        WHERE c.follow_up_of IS NOT NULL AND r.address IN ('r7@f.test',
        'r8@f.test')")" 0
eq "... the messages on the wire: 7 + 3 + 3 + 1 + 5" "$(saved mx)" 19
eq "... the not-opened three with their own template" \
    "$(grep -l 'Subject: Did you see it?' mx/*.eml | wc -l)" 3

done_testing
