#!/bin/bash
# lint.sh - `postbote lint` as a user runs it: one template that trips
# nothing, then templates (and configs) that trip each rule, each checked
# for exactly the rules it should trip and the exit (1 with a fail, 0 with
# warnings only); a campaign against a template of the same name, --json
# read by python3, --attrs, --no-dkim, usage and unknown names. Then
# `send` with lint in front, against tests/tools/smtpd.py: a failing
# campaign refused (exit 65, nothing sent, a log line), shown by
# --dry-run, sent by --force; a clean one sent as before; `campaign start`
# no way around it; `send --due` refusing one campaign and sending the
# next; from-no-dkim left to send's own check (exit 78).
# Runs alone too: bash tests/integration/lint.sh (PB or POSTBOTE names the
# binary; build/postbote by default).
: "${TESTS:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${POSTBOTE:=${PB:-$TESTS/../build/postbote}}"
export TESTS POSTBOTE
. "$TESTS/lib.sh"

PY=/usr/bin/python3
SMTPD="$TESTS/tools/smtpd.py"
. "$TESTS/smtpd_lib.sh"
need sqlite3

"$PB" init >/dev/null || notok "init"
printf 'email,first_name\nann@shop.test,Ann\nbob@shop.test,Bob\n' >l.csv
"$PB" list import l l.csv >/dev/null || notok "import"
"$PB" dkim keygen --domain acme.test --selector s1 --output s1.pem \
    >/dev/null 2>&1 || notok "keygen"
start smtp
cfg() {	# cfg FILE TRACKING: a config with the route, a key, TRACKING
	cat >"$1" <<EOF
{"hostname": "mail.acme.test",
 "delivery": {"routes": {"*.test": {"host": "127.0.0.1",
   "port": ${port[smtp]}, "tls": "none"}}},
 "dkim": [{"domain": "acme.test", "selector": "s1",
   "algorithm": "rsa-sha256", "key_file": "$T/s1.pem"}]
 $2}
EOF
}
cfg good.json ', "tracking": {"base_url": "https://t.acme.test"}'
cfg notrack.json ''
cfg http.json ', "tracking": {"base_url": "http://t.acme.test"}'
export POSTBOTE_CONFIG=good.json

# ------------------------------------------------------------- templates

WORDS="Here is what happened this month in and around our shop, and what comes next."
LONG="<p>$WORDS $WORDS $WORDS $WORDS $WORDS $WORDS $WORDS</p>"
FOOT='<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
printf 'Hello {{ first_name }},\n%s\nUnsubscribe: {{ unsubscribe_url }}\n' \
    "$WORDS" >text.txt

printf 'Hello {{ first_name }},\n%s\n' "$WORDS" >plain.txt

# tpl NAME SUBJECT BODY [--no-text | TEXTFILE]: a template whose HTML is
# BODY in a page, its text part text.txt (with the unsubscribe URL).
tpl() {
	printf '<!DOCTYPE html><html><head><title>x</title></head><body>\n%s\n</body></html>\n' \
	    "$3" >"$1.html"
	if [ "${4:-}" = --no-text ]; then
		"$PB" template add "$1" --subject "$2" --html "$1.html" >/dev/null
	else
		"$PB" template add "$1" --subject "$2" --html "$1.html" \
		    --text "${4:-text.txt}" >/dev/null
	fi || notok "template $1 added"
}

# rules: the rule ids of the last lint (its TSV lines), comma-separated.
rules() { grep -P '^(fail|warn)\t' out | cut -f2 | paste -sd, -; }

# trips DESC EXIT RULES ARGS...: postbote lint ARGS exits EXIT and finds
# exactly RULES.
trips() {
	_d=$1 _w=$2 _r=$3; shift 3
	"$PB" lint "$@" >out 2>err
	_rc=$?
	eq "$_d" "$_rc $(rules)" "$_w $_r"
	[ "$_rc $(rules)" = "$_w $_r" ] && return
	sed 's/^/#   /' out err | head -8
}

tpl clean 'Your November update from Acme' "$LONG
<p><img src=\"https://cdn.acme.test/logo.png\" alt=\"Acme\"></p>
<p><a href=\"https://www.acme.test/news\">Read the story</a> or visit
<a href=\"https://www.acme.test/\">www.acme.test</a>.</p>
<p><a href=\"{{ link }}\">www.acme.test/offers</a></p>
$FOOT"
trips "clean: every check passes, exit 0" 0 "" clean
has out "template=clean fails=0 warnings=0" || notok "clean: the summary"

tpl caps 'BIG AUTUMN SALE now' "$LONG$FOOT"
trips "subject-caps: a warning, exit 0" 0 subject-caps caps
tpl bang 'Hello! Our autumn sale!' "$LONG$FOOT"
trips "subject-exclaim" 0 subject-exclaim bang
tpl words_en 'Act now: the autumn collection' "$LONG$FOOT"
trips "subject-trigger-words: English" 0 subject-trigger-words words_en
has out '"act now"' || notok "subject-trigger-words: names the phrase"
tpl words_de 'SCHNÄPPCHEN für alle, die früh kommen' "$LONG$FOOT"
trips "subject-trigger-words: German, upper case with umlaut" 0 \
    subject-trigger-words words_de
has out '"schnäppchen"' || notok "subject-trigger-words: names the word"
tpl notext 'Your November update' "$LONG$FOOT" --no-text
trips "no-text-part: the derived one goes out" 0 no-text-part notext
tpl imgonly 'Your November update' '<img src="https://cdn.acme.test/sale.png" alt="Sale">'"$FOOT"
trips "image-only" 0 image-only imgonly
tpl lowtext 'Your November update' "<p>$WORDS $WORDS</p><img src=\"https://cdn.acme.test/a.png\" alt=\"A\">$FOOT"
trips "low-text-ratio" 0 low-text-ratio lowtext
tpl noalt 'Your November update' "$LONG<img src=\"https://cdn.acme.test/a.png\">$FOOT"
trips "img-no-alt" 0 img-no-alt noalt
tpl http 'Your November update' "$LONG<a href=\"http://www.acme.test/\">Shop</a>$FOOT"
trips "plain-http-link: a link" 0 plain-http-link http
POSTBOTE_CONFIG=http.json trips \
    "plain-http-link: the tracking server over http" 0 plain-http-link clean
has out "tracking.base_url is http://t.acme.test" || notok "names base_url"
tpl short 'Your November update' "$LONG<a href=\"https://bit.ly/3xyz\">Deal</a>$FOOT"
trips "url-shortener" 0 url-shortener short
tpl mismatch 'Your November update' "$LONG<a href=\"https://login.evil.test/\">www.acme.test</a>$FOOT"
trips "link-text-mismatch: a fail, exit 1" 1 link-text-mismatch mismatch
has out "shows www.acme.test, but the link goes to login.evil.test" ||
    notok "link-text-mismatch: names both"
trips "link-text-mismatch: a variable href, from --attrs" 1 \
    link-text-mismatch clean --attrs '{"link": "https://evil.test/"}'
trips "link-text-mismatch: a variable href to the shown domain" 0 "" \
    clean --attrs '{"link": "https://www.acme.test/offers"}'
{ for i in $(seq 330); do echo "<p>$WORDS $WORDS $WORDS $WORDS</p>"; done
  echo "$FOOT"; } >big.body
tpl big 'Your November update' "$(cat big.body)"
trips "html-size: over 102 KB, a fail" 1 html-size big
tpl nolink 'Your November update' "$LONG" plain.txt
trips "no-unsubscribe-link: the header only" 0 no-unsubscribe-link nolink
POSTBOTE_CONFIG=notrack.json trips \
    "no-unsubscribe: no tracking server, no link" 1 no-unsubscribe nolink
POSTBOTE_CONFIG=notrack.json trips \
    "no-unsubscribe: {{ unsubscribe_url }} without base_url" 1 \
    no-unsubscribe clean
has out "renders empty" || notok "no-unsubscribe: says why"
tpl ownpage 'Your November update' "$LONG<a href=\"https://www.acme.test/newsletter/abmelden\">Newsletter abbestellen</a>" plain.txt
POSTBOTE_CONFIG=notrack.json trips \
    "no-unsubscribe-header: a link to our own page, no header" 0 \
    no-unsubscribe-header ownpage

# ------------------------------------------------------------- campaigns

"$PB" campaign create clean --list l --template clean \
    --from 'Acme <news@acme.test>' >/dev/null || notok "campaign clean"
"$PB" campaign create other --list l --template clean \
    --from 'Acme <news@other.test>' >/dev/null || notok "campaign other"
trips "campaign: clean, From with a key" 0 "" clean
has out "campaign=clean fails=0" || notok "campaign: named a campaign first"
trips "campaign: --template picks the template of the same name" 0 "" \
    clean --template
has out "template=clean" || notok "campaign: --template"
trips "from-no-dkim: no key for the From domain" 1 from-no-dkim other
trips "from-no-dkim: not with --no-dkim" 0 "" other --no-dkim
trips "from-no-dkim: a template alone has no From" 0 "" --template clean

"$PB" campaign create bad --list l --template mismatch \
    --from 'Acme <news@acme.test>' >/dev/null || notok "campaign bad"
"$PB" lint bad --json >out 2>err
eq "json: exit 1 with a fail" "$?" 1
"$PY" - out >py.out 2>&1 <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print("ok json: names the campaign" if d.get("campaign") == "bad" else
      "not ok json: names the campaign: %r" % d)
f = d["findings"]
print("ok json: counts" if (d["fails"], d["warnings"], len(f)) == (1, 0, 1)
      else "not ok json: counts %r" % d)
x = f[0]
print("ok json: rule, severity, message, fix" if x["rule"] ==
      "link-text-mismatch" and x["severity"] == "fail" and
      "login.evil.test" in x["message"] and x["fix"] else
      "not ok json: finding %r" % x)
EOF
relay_tap py.out $?

expect 64 "usage: no NAME" "$PB" lint
expect 64 "usage: --campaign and --template" "$PB" lint clean --campaign \
    --template
expect 66 "unknown name: exit 66" "$PB" lint nosuch
has err 'no campaign or template named "nosuch"' || notok "unknown: says so"
expect 66 "--campaign with a template's name: exit 66" "$PB" lint caps \
    --campaign
expect 0 "help" "$PB" help lint
has out "--no-dkim" || notok "help: the options"

# ------------------------------------------------------------------ send

cstatus() { sql "SELECT status FROM campaigns WHERE name = '$1'"; }
before=$(saved smtp)
expect 65 "send: a failing campaign is refused (65)" "$PB" send bad \
    --log bad.log
has err "fail link-text-mismatch" || notok "send: prints the fail"
has err "or send with --force" || notok "send: says how to go on"
eq "send: the campaign is still a draft" "$(cstatus bad)" draft
eq "send: nothing sent" "$(saved smtp)" "$before"
has bad.log "campaign=bad lint=refused fails=1 rules=link-text-mismatch" ||
    notok "send: a log line"
expect 0 "send --dry-run: exit 0" "$PB" send bad --dry-run
has out "lint=fail rule=link-text-mismatch" || notok "dry-run: the finding"
has out "lint_fails=1 lint_warnings=0" || notok "dry-run: the counts"
expect 0 "send --force: goes" "$PB" send bad --force --log bad.log
has out "delivered=2" || notok "send --force: both delivered"
has err "sending anyway (--force)" || notok "send --force: says so"
has bad.log "campaign=bad lint=forced" || notok "send --force: a log line"

expect 0 "send: a clean campaign goes without --force" "$PB" send clean \
    --log clean.log
has out "delivered=2" || notok "send clean: both delivered"
eq "send clean: no lint line" "$(grep -c lint= clean.log)" 0

"$PB" campaign create started --list l --template mismatch \
    --from 'Acme <news@acme.test>' >/dev/null &&
    "$PB" campaign start started >/dev/null || notok "campaign started"
expect 65 "send: campaign start is no way around it" "$PB" send started

expect 78 "send: from-no-dkim stays send's own refusal (78)" \
    "$PB" send other
has err "no DKIM key covers the From domain" || notok "send: the DKIM error"

"$PB" campaign create due_bad --list l --template mismatch \
    --from 'Acme <news@acme.test>' --schedule now >/dev/null &&
"$PB" campaign create due_good --list l --template clean \
    --from 'Acme <news@acme.test>' --schedule now >/dev/null ||
    notok "campaigns due"
"$PB" campaign cancel started >/dev/null
expect 65 "send --due: exit 65 when one is refused" "$PB" send --due \
    --log due.log
has out "campaign=due_bad refused=lint" || notok "send --due: the refusal"
has out "campaign=due_good delivered=2" || notok "send --due: goes on"
eq "send --due: the refused one waits" "$(cstatus due_bad)" scheduled
eq "send --due: the next one is done" "$(cstatus due_good)" done
has due.log "campaign=due_bad lint=refused" || notok "send --due: logged"

done_testing
