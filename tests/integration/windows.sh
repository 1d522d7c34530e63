#!/bin/bash
# windows.sh - `campaign create --send-window`: recipients in several time
# zones, sent for real through tests/tools/smtpd.py. The window is set
# around the current UTC hour h, [h-1:00, h+2:00) in the campaign's zone
# (UTC), so that at least an hour separates every check from an edge:
#
#   u1  timezone UTC            local h      open
#   u2  no timezone             campaign's   open
#   u3  timezone Etc/GMT-3      local h+3    closed, then open in pass 2
#   u4  timezone Etc/GMT+5      local h-5    closed
#   u5  timezone Not/AZone      campaign's   open (unknown name)
#   u6  timezone Asia/Kolkata   local h+5:30 closed
#
# The closed ones stay pending, untried; a second pass with the window
# moved to [h+2:00, h+5:00) sends u3 alone.
# Runs alone too: bash tests/integration/windows.sh
: "${TESTS:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${POSTBOTE:=$TESTS/../build/postbote}"
export TESTS POSTBOTE
. "$TESTS/lib.sh"

PY=/usr/bin/python3
SMTPD="$TESTS/tools/smtpd.py"
need sqlite3
. "$TESTS/smtpd_lib.sh"

mx_setup

# hh N: "HH:00" for the UTC hour now plus N, around the clock.
h=$(date -u +%H)
hh() { printf '%02d:00' $(( (10#$h + $1 + 48) % 24 )); }

printf '<p>Hello {{ name }}</p>%s\n' "$FOOTER" >t.html
cat >people.jsonl <<'EOF'
{"email": "u1@w.test", "name": "U1", "timezone": "UTC"}
{"email": "u2@w.test", "name": "U2"}
{"email": "u3@w.test", "name": "U3", "timezone": "Etc/GMT-3"}
{"email": "u4@w.test", "name": "U4", "timezone": "Etc/GMT+5"}
{"email": "u5@w.test", "name": "U5", "timezone": "Not/AZone"}
{"email": "u6@w.test", "name": "U6", "timezone": "Asia/Kolkata"}
EOF
"$PB" list import people people.jsonl >/dev/null &&
"$PB" template add t --subject 'Hi' --html t.html >/dev/null ||
    notok "list and template"

expect 64 "a bad --send-window is refused" "$PB" campaign create x \
    --list people --template t --from a@example.com --send-window 8-20
check "... saying what it wants" has err "HH:MM-HH:MM"
expect 64 "an unknown --timezone is refused" "$PB" campaign create x \
    --list people --template t --from a@example.com \
    --send-window 08:00-20:00 --timezone Mars/Olympus
expect 64 "--timezone alone is refused" "$PB" campaign create x \
    --list people --template t --from a@example.com --timezone UTC
expect 0 "a campaign with a window [$(hh -1), $(hh 2)) UTC is made" \
    "$PB" campaign create win --list people --template t \
    --from 'Acme <news@example.com>' --send-window "$(hh -1)-$(hh 2)" \
    --timezone UTC
eq "... stored in its options" \
    "$(sql "SELECT json_extract(options, '$.window.hours') || ' ' ||
        json_extract(options, '$.window.timezone') FROM campaigns")" \
    "$(hh -1)-$(hh 2) UTC"

"$PB" send win --no-dkim --log win.log >win.out 2>&1
eq "send: the three in an open window delivered, three wait" \
    "$(sed 's/ seconds=[0-9.]*//; s/ connections=[0-9]*//' win.out)" \
    "delivered=3 deferred=0 bounced=0 failed=0 suppressed=0 unsent=0 left=3 status=running"
check "... the log names the window and its zones" \
    has win.log "window campaign=win hours=$(hh -1)-$(hh 2) timezone=UTC zones=4 unknown_zones=1"

# rows: address|status|attempts|first attempt set, for the campaign.
rows() {
	sql "SELECT r.address || '|' || d.status || '|' || d.attempts || '|' ||
	    (d.first_attempt_at IS NOT NULL) FROM deliveries d JOIN
	    recipients r ON r.id = d.recipient_id ORDER BY r.address"
}
eq "... u1, u2 and u5 (unknown zone: the campaign's) delivered; the others pending, untried" \
    "$(rows | paste -sd' ')" \
    "u1@w.test|delivered|1|1 u2@w.test|delivered|1|1 u3@w.test|pending|0|0 u4@w.test|pending|0|0 u5@w.test|delivered|1|1 u6@w.test|pending|0|0"
eq "... the server has those three" \
    "$(grep -h '^To:' mx/*.eml | sed 's/.*<//; s/>.*//' | sort | paste -sd' ')" \
    "u1@w.test u2@w.test u5@w.test"

expect 0 "a second send while their windows are closed" \
    "$PB" send win --no-dkim --log win2.log
eq "... sends nothing" "$(saved mx)" 3

sql "UPDATE campaigns SET options = json_set(options, '$.window.hours',
    '$(hh 2)-$(hh 5)')"
"$PB" send win --no-dkim --log win3.log >win3.out 2>&1
eq "the window moved to [$(hh 2), $(hh 5)): u3 (UTC+3) goes" \
    "$(sed 's/ seconds=[0-9.]*//; s/ connections=[0-9]*//' win3.out)" \
    "delivered=1 deferred=0 bounced=0 failed=0 suppressed=0 unsent=0 left=2 status=running"
eq "... u3 delivered once, u4 and u6 still wait" \
    "$(rows | paste -sd' ')" \
    "u1@w.test|delivered|1|1 u2@w.test|delivered|1|1 u3@w.test|delivered|1|1 u4@w.test|pending|0|0 u5@w.test|delivered|1|1 u6@w.test|pending|0|0"
eq "... four messages on the server, each once" \
    "$(grep -h '^To:' mx/*.eml | sort -u | wc -l) $(saved mx)" "4 4"

done_testing
