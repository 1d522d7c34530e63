#!/bin/bash
# unsubscribe_browser.sh - the unsubscribe page in a real browser:
# headless Chromium driven over its DevTools pipe (tests/tools/cdp.py)
# loads the page of a message really sent, finds the button in the
# accessibility tree, clicks it with mouse events and reads the page
# that follows; the store then holds the suppression. In English and,
# by Accept-Language, in German. The page's CSP must let its inline
# style through and block nothing.
# Runs alone too: bash tests/integration/unsubscribe_browser.sh.
: "${TESTS:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${POSTBOTE:=${PB:-$TESTS/../build/postbote}}"
export TESTS POSTBOTE
. "$TESTS/lib.sh"

PY=/usr/bin/python3
SMTPD="$TESTS/tools/smtpd.py"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
	ok "# skip no Chromium at $CHROMIUM (make deps installs it)"
	done_testing
	exit 0
fi

. "$TESTS/smtpd_lib.sh"

"$PB" init >/dev/null || { notok "postbote init"; done_testing; exit 1; }
printf '<p>Hello {{ name }}</p>\n' >t.html
"$PB" template add t --subject 'Hi' --html t.html >/dev/null
printf 'email,name\nann@a.test,Ann\nbob@b.test,Bob\n' >l.csv
"$PB" list import news l.csv >/dev/null
"$PB" campaign create c1 --list news --template t \
    --from 'Acme <news@example.com>' >/dev/null

# The server takes a port of its own first and the campaign's URLs name
# it: a port chosen beforehand could be taken by then.
start mx
# pbcfg BASE_URL: the config, tracking under BASE_URL.
pbcfg() {
	cat >pb.json <<JSON
{"hostname": "mail.example.com",
 "tracking": {"base_url": "$1"},
 "delivery": {"mode": "mx", "tls": "none",
  "routes": {"*.test": {"host": "127.0.0.1", "port": ${port[mx]},
   "tls": "none"}}}}
JSON
}
pbcfg http://127.0.0.1:1
"$PB" --config pb.json track serve --listen 127.0.0.1:0 2>srv.err &
pids="$pids $!"
for _ in $(seq 100); do
	grep -q '^listening on ' srv.err && break
	sleep 0.05
done
check "track serve listens" grep -q "^listening on 127.0.0.1:[1-9]" srv.err ||
    sed 's/^/#   /' srv.err | head -5
TP=$(sed -n 's/^listening on 127\.0\.0\.1://p' srv.err)
pbcfg "http://127.0.0.1:$TP"
"$PB" --config pb.json send c1 --no-dkim >send.out 2>send.err
eq "two messages sent" "$(saved mx)" 2

# unsub ADDRESS: its List-Unsubscribe URL.
cat >unsub.py <<'PYEOF'
import email, email.policy, os, re, sys
d, who = sys.argv[1], sys.argv[2]
for n in sorted(os.listdir(d)):
    if n.endswith(".eml"):
        m = email.message_from_bytes(open(os.path.join(d, n), "rb").read(),
                                     policy=email.policy.default)
        if m["To"].addresses[0].addr_spec == who:
            print(re.search(r"<(http[^>]*)>",
                            str(m["List-Unsubscribe"])).group(1))
PYEOF
unsub() { "$PY" unsub.py mx "$1"; }

# field FILE KEY: one member of cdp.py's JSON answer.
field() {
	"$PY" -c 'import json, sys
v = json.load(open(sys.argv[1])).get(sys.argv[2])
print(json.dumps(v) if isinstance(v, (list, dict)) else v)' "$1" "$2"
}

# browse NAME URL ACCEPT-LANGUAGE: cdp.py's answer in NAME.json.
browse() {
	"$PY" "$TESTS/tools/cdp.py" --chromium "$CHROMIUM" \
	    --accept-language "$3" click "$2" 'button[type=submit]' \
	    >"$1.json" 2>"$1.err"
}

supp() { sql "SELECT count(*) FROM suppressions WHERE value = '$1'"; }

while IFS='|' read -r who lang al button done; do
	eq "$lang: not suppressed before" "$(supp "$who")" 0
	browse "$lang" "$(unsub "$who")" "$al"
	check "$lang: Chromium loaded the page and clicked (cdp.py)" \
	    test -s "$lang.json"
	[ -s "$lang.json" ] || sed 's/^/#   /' "$lang.err" | head -5
	eq "$lang: 200, lang=\"$lang\"" \
	    "$(field "$lang.json" status) $(field "$lang.json" lang)" "200 $lang"
	eq "$lang: a button named \"$button\" for assistive technology" \
	    "$(field "$lang.json" button_role) $(field "$lang.json" button_name)" \
	    "button $button"
	eq "$lang: in a form that POSTs" "$(field "$lang.json" form_method)" post
	eq "$lang: the inline style applies under the CSP" \
	    "$(field "$lang.json" styled)" True
	eq "$lang: nothing blocked, nothing failed on the console" \
	    "$(field "$lang.json" blocked)" "[]"
	eq "$lang: the click POSTed and got 200" \
	    "$(field "$lang.json" after_method) $(field "$lang.json" after_status)" \
	    "POST 200"
	check "$lang: the confirmation says \"$done\"" \
	    grep -q "$done" "$lang.json"
	eq "$lang: the address is suppressed for the list" \
	    "$(sql "SELECT s.reason, l.name FROM suppressions s JOIN lists l ON l.id = s.list_id WHERE s.value = '$who'")" \
	    "unsubscribed|news"
done <<'RUNS'
ann@a.test|en|en-US,en;q=0.9|Unsubscribe|You have been unsubscribed
bob@b.test|de|de-DE,de;q=0.9,en;q=0.5|Abmelden|Sie wurden abgemeldet
RUNS
eq "two 'unsubscribed' events" \
    "$(sql "SELECT count(*) FROM events WHERE type = 'unsubscribed'")" 2
stop mx
done_testing
