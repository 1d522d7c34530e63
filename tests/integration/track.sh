#!/bin/bash
# track.sh - `postbote track serve` end to end: a campaign really sent
# (postbote send --no-dkim to tests/tools/smtpd.py), the pixel, link and
# unsubscribe URLs taken from the saved messages (Python's email
# package) and fetched with curl and Python's http.client; read back from
# the events and suppressions tables.
#
#   opens      GIF bytes and no-cache headers; human, and machine by
#              User-Agent (Apple MPP, Google's proxy, none) and by timing
#              (a second server with machine_seconds 3600)
#   clicks     302 to exactly the template's href, whatever the query
#              says; altered tokens and tokens of another kind: 404, no
#              event
#   unsubscribe  the page in English and German (Accept-Language with
#              q-values) and its headers; GET changes nothing; RFC 8058
#              one-click POST: 200, one suppression, one event, twice
#              idempotent; the next campaign to the list skips the address
#   HTTP       HEAD records nothing, PUT 405 with Allow, 413 for a large
#              body, a slow client cut off after the timeout, /healthz,
#              IPv6, the request log (tokens cut to 8 characters), SIGTERM
#   flood      10,000 invalid tokens: all 404, no write (PRAGMA
#              data_version of a connection held open, the dump's sum)
#   concurrent opens recorded while a send runs in another process
# Runs alone too: bash tests/integration/track.sh (POSTBOTE names the
# binary; build/postbote by default).
: "${TESTS:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${POSTBOTE:=${PB:-$TESTS/../build/postbote}}"
export TESTS POSTBOTE
. "$TESTS/lib.sh"

PY=/usr/bin/python3
SMTPD="$TESTS/tools/smtpd.py"
need curl sqlite3

. "$TESTS/smtpd_lib.sh"

# serve NAME CONFIG [ARGS...]: a tracking server on a free port, its
# stderr in NAME.err; its address in $addr, its process in ${spid[NAME]}.
declare -A spid saddr
serve() {
	_sv=$1; _c=$2; shift 2
	"$PB" --config "$_c" track serve --log "$@" 2>"$_sv.err" &
	spid[$_sv]=$!
	pids="$pids $!"
	for _ in $(seq 100); do
		grep -q "^listening on " "$_sv.err" 2>/dev/null && break
		sleep 0.05
	done
	saddr[$_sv]=$(sed -n "s/^listening on //p" "$_sv.err")
	[ -n "${saddr[$_sv]}" ] && return 0
	sed 's/^/#   /' "$_sv.err" | head -5
	return 1
}

# cfg FILE SMTP_PORT BASE MACHINE_SECONDS
cfg() {
	cat >"$1" <<EOF
{"hostname": "mail.example.com",
 "tracking": {"base_url": "$3", "machine_seconds": $4, "threads": 4},
 "delivery": {"mode": "mx", "tls": "none",
  "timeouts": {"connect": 10, "greeting": 10, "mail": 10, "rcpt": 10,
   "data_init": 10, "data_block": 10, "data_end": 10, "idle": 5},
  "routes": {"*.test": {"host": "127.0.0.1", "port": $2, "tls": "none"}}}}
EOF
}

# camp NAME LIST ADDRESS...: a list (made or added to) and a campaign.
camp() {
	_c=$1; _l=$2; shift 2
	printf 'email,name\n' >"$_c.csv"
	for a in "$@"; do printf '%s,%s\n' "$a" "${a%%@*}"; done >>"$_c.csv"
	"$PB" list import "$_l" "$_c.csv" >/dev/null &&
	"$PB" campaign create "$_c" --list "$_l" --template t \
	    --from 'Acme <news@example.com>' >/dev/null
}

sent() { sql "SELECT count(*) FROM events WHERE type = '$1'"; }
events_all() { sql "SELECT count(*) FROM events"; }
supps() { sql "SELECT count(*) FROM suppressions"; }

# code URL [CURL ARGS...]: the HTTP status.
code() { _u=$1; shift; curl -s -o /dev/null -w '%{http_code}' "$@" "$_u"; }

# on SERVER URL: the URL with its scheme and authority made the server's.
on() { echo "http://${saddr[$1]}/${2#http://*/}"; }

# What the messages in a maildir link to, one line a message:
# To, pixel URL, List-Unsubscribe URL, tracked link URLs (space-separated).
cat >urls.py <<'EOF'
import email, email.policy, os, re, sys
d = sys.argv[1]
for n in sorted(os.listdir(d)):
    if not n.endswith(".eml"):
        continue
    m = email.message_from_bytes(open(os.path.join(d, n), "rb").read(),
                                 policy=email.policy.default)
    html = m.get_body(("html",)).get_content()
    pixel = re.search(r'<img src="([^"]*/o/[^"]*)"', html).group(1)
    links = re.findall(r'<a href="([^"]*/c/[^"]*)"', html)
    lu = re.search(r"<(http[^>]*)>", str(m["List-Unsubscribe"])).group(1)
    print("\t".join([m["To"].addresses[0].addr_spec, pixel, lu,
                     " ".join(links)]))
EOF

# ------------------------------------------------------------------ setup

"$PB" init >/dev/null || { notok "postbote init"; done_testing; exit 1; }
cat >t.html <<'EOF'
<p>Hello {{ name }}</p>
<p><a href="https://shop.example.com/offer?a=1&amp;b=%C3%A4#top">Offer</a></p>
<p><a href="https://example.org/second">Second</a></p>
EOF
"$PB" template add t --subject 'Hi {{ name }}' --html t.html >/dev/null ||
    notok "template add"
HREF0='https://shop.example.com/offer?a=1&b=%C3%A4#top'
HREF1='https://example.org/second'

# The server takes a port of its own first and the campaign's URLs name
# it: a port chosen beforehand could be taken by then.
start mx
cfg human.json "${port[mx]}" "http://127.0.0.1:1" 0
check "track serve starts and says where it listens" serve h human.json \
    --listen 127.0.0.1:0
H=http://${saddr[h]}
TP=${saddr[h]##*:}
cfg human.json "${port[mx]}" "$H" 0
camp c1 l1 ann@a.test bob@b.test cid@c.test dan@d.test eve@e.test \
    fay@f.test
"$PB" --config human.json send c1 --no-dkim >send1.out 2>send1.err
eq "the campaign is sent" "$(sed 's/ seconds=[0-9.]*//; s/ connections=[0-9]*//' send1.out)" \
    "delivered=6 deferred=0 bounced=0 failed=0 suppressed=0 unsent=0 left=0 status=done"
"$PY" urls.py mx >urls.tsv
eq "six messages with a pixel, two links and List-Unsubscribe" \
    "$(awk -F'\t' '$2 != "" && $3 != "" && split($4, a, " ") == 2' urls.tsv | wc -l)" 6
# url ADDRESS FIELD: 2 pixel, 3 unsubscribe, 4 the links
url() { awk -F'\t' -v a="$1" -v f="$2" '$1 == a { print $f }' urls.tsv; }
link() { url "$1" 4 | cut -d' ' -f$(($2 + 1)); }

eq "... on the --listen address, its port chosen by the system" \
    "$(grep -c "^listening on 127\.0\.0\.1:[1-9][0-9]*\$" h.err)" 1

# ------------------------------------------------------------------ health
curl -s -D hz.h -o hz.b "$H/healthz"
eq "/healthz: 200 ok" "$(head -1 hz.h | tr -d '\r') $(cat hz.b)" "HTTP/1.1 200 OK ok"
eq "an unknown path: 404" "$(code "$H/nothing/here")" 404

# ------------------------------------------------------------------ opens
BROWSER='Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.0'
P=$(url ann@a.test 2)
curl -s -A "$BROWSER" -D o.h -o o.gif "$P"
"$PY" -c 'import base64, sys
want = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
sys.exit(open(sys.argv[1], "rb").read() != want)' o.gif
check "open: the 43-byte transparent 1x1 GIF" test $? -eq 0
check "... 200, image/gif" grep -qi '^content-type: image/gif' o.h
check "... Cache-Control no-store, no-cache" grep -qi '^cache-control: no-store, no-cache' o.h
check "... Expires in the past, Pragma no-cache" eval \
    "grep -qi '^expires: Thu, 01 Jan 1970' o.h && grep -qi '^pragma: no-cache' o.h"
eq "... one 'opened' event, human, the User-Agent kept" \
    "$(sql "SELECT r.address, e.machine, json_extract(e.detail, '\$.user_agent'), coalesce(json_extract(e.detail, '\$.machine_reason'), '-') FROM events e JOIN recipients r ON r.id = e.recipient_id WHERE e.type = 'opened'")" \
    "ann@a.test|0|$BROWSER|-"

# machine ADDRESS DESC REASON CURL-ARGS...: an open by a machine.
machine() {
	_a=$1; _d=$2; _w=$3; shift 3
	_s=$(code "$(url "$_a" 2)" "$@")
	eq "machine open, $_d: 200, machine=1, reason $_w" \
	    "$_s $(sql "SELECT e.machine, json_extract(e.detail, '\$.machine_reason') FROM events e JOIN recipients r ON r.id = e.recipient_id WHERE e.type = 'opened' AND r.address = '$_a' ORDER BY e.id DESC LIMIT 1")" \
	    "200 1|$_w"
}
machine bob@b.test "Apple MPP's bare User-Agent" apple_mpp -A 'Mozilla/5.0'
machine cid@c.test "Google's image proxy" google_image_proxy \
    -A 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)'
machine dan@d.test "Yahoo's proxy" yahoo_mail_proxy \
    -A 'YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html'
machine eve@e.test "no User-Agent at all" no_user_agent -H 'User-Agent:'
eq "a long User-Agent is cut to 200 characters" \
    "$(code "$(url fay@f.test 2)" -A "$(printf 'x%.0s' $(seq 300))") $(sql "SELECT length(json_extract(detail, '\$.user_agent')) FROM events ORDER BY id DESC LIMIT 1")" \
    "200 200"

cfg soon.json "${port[mx]}" "http://127.0.0.1:$TP" 3600
check "a second server with machine_seconds 3600" serve s soon.json \
    --listen 127.0.0.1:0
eq "an open too soon after delivery (machine_seconds 3600): machine, too_soon" \
    "$(code "$(on s "$(url ann@a.test 2)")" -A "$BROWSER") $(sql "SELECT machine, json_extract(detail, '\$.machine_reason') FROM events WHERE type = 'opened' ORDER BY id DESC LIMIT 1")" \
    "200 1|too_soon"
eq "... a click too" \
    "$(code "$(on s "$(link fay@f.test 1)")" -A "$BROWSER") $(sql "SELECT machine, json_extract(detail, '\$.machine_reason') FROM events WHERE type = 'clicked' ORDER BY id DESC LIMIT 1")" \
    "302 1|too_soon"
eq "no event holds a client address" \
    "$(sql "SELECT count(*) FROM events WHERE type IN ('opened', 'clicked') AND detail LIKE '%127.0.0.1%'")" 0

# ------------------------------------------------------------------ clicks
n0=$(events_all)
curl -s -A "$BROWSER" -D c.h -o /dev/null "$(link ann@a.test 0)"
eq "click: 302" "$(head -1 c.h | tr -d '\r')" "HTTP/1.1 302 Found"
eq "... Location exactly the template's href" \
    "$(sed -n 's/^[Ll]ocation: //p' c.h | tr -d '\r')" "$HREF0"
check "... Cache-Control no-store" grep -qi '^cache-control: no-store' c.h
eq "... one 'clicked' event, link 0, human" \
    "$(sql "SELECT json_extract(detail, '\$.link'), machine FROM events WHERE type = 'clicked' ORDER BY id DESC LIMIT 1")" "0|0"
eq "the second link goes to the second href" \
    "$(curl -s -A "$BROWSER" -o /dev/null -w '%{redirect_url}' "$(link ann@a.test 1)")" "$HREF1"
eq "... recorded as link 1" \
    "$(sql "SELECT json_extract(detail, '\$.link') FROM events WHERE type = 'clicked' ORDER BY id DESC LIMIT 1")" 1
eq "a query cannot choose the target" \
    "$(curl -s -A "$BROWSER" -o /dev/null -w '%{redirect_url}' "$(link bob@b.test 0)?url=https://evil.test/&to=https://evil.test/")" \
    "$HREF0"
n1=$(events_all)
eq "three clicks, three events" "$((n1 - n0))" 3

# tamper TOKEN-URL: every position's character replaced, one at a time
# (a few of them), and the token cut or lengthened.
C=$(link cid@c.test 0)
bad=0
for i in 5 10 20 30; do
	tok=${C##*/}
	ch=${tok:$i:1}
	[ "$ch" = A ] && r=B || r=A
	u="${C%/*}/${tok:0:$i}$r${tok:$((i + 1))}"
	[ "$(code "$u" -A "$BROWSER")" = 404 ] || bad=$((bad + 1))
done
[ "$(code "${C}A" -A "$BROWSER")" = 404 ] || bad=$((bad + 1))
[ "$(code "${C%?}" -A "$BROWSER")" = 404 ] || bad=$((bad + 1))
eq "altered click tokens: 404 every time" "$bad" 0
check "... no Location on a 404" eval \
    "! curl -s -D - -o /dev/null '${C%?}' | grep -qi '^location:'"
tokO=$(url cid@c.test 2); tokO=${tokO##*/}; tokO=${tokO%.gif}
tokC=${C##*/}
eq "a click token as the pixel, an open token as a link: 404" \
    "$(code "$H/o/$tokC.gif") $(code "$H/c/$tokO") $(code "$H/u/$tokC")" \
    "404 404 404"
eq "... and no event for any of them" "$(events_all)" "$n1"

# ------------------------------------------------------------ unsubscribe
U=$(url dan@d.test 3)
curl -s -D u.h -o u.html -H 'Accept-Language: en-GB,en;q=0.9' "$U"
eq "unsubscribe page: 200" "$(head -1 u.h | tr -d '\r')" "HTTP/1.1 200 OK"
check "... HTML5 in English" eval "head -2 u.html | grep -q '^<html lang=\"en\">' && head -1 u.html | grep -q '^<!DOCTYPE html>'"
check "... a form that POSTs, with a real button" eval \
    "grep -q '<form method=\"post\">' u.html && grep -q '<button type=\"submit\" name=\"List-Unsubscribe\" value=\"One-Click\">Unsubscribe</button>' u.html"
check "... names the list and the address (partly)" eval \
    "grep -q '<strong>l1</strong>' u.html && grep -q 'da\*\*\*@d.test' u.html"
check "... no script, no external resource" eval \
    "! grep -Eqi '<script|src=|<link|https?://' u.html"
check "... Content-Security-Policy default-src 'none'" \
    grep -qi "^content-security-policy: default-src 'none'; style-src 'unsafe-inline'" u.h
check "... nosniff, no-referrer, no-store" eval \
    "grep -qi '^x-content-type-options: nosniff' u.h && grep -qi '^referrer-policy: no-referrer' u.h && grep -qi '^cache-control: no-store' u.h"
curl -s -o u.de -H 'Accept-Language: fr-CH, fr;q=0.9, de;q=0.8, en;q=0.7, *;q=0.5' "$U"
check "... in German when Accept-Language prefers it (q-values)" eval \
    "grep -q '<html lang=\"de\">' u.de && grep -q '>Abmelden</button>' u.de"
curl -s -o u.q0 -H 'Accept-Language: de;q=0, en' "$U"
check "... q=0 rules German out" grep -q '<html lang="en">' u.q0
eq "GET unsubscribes nobody" "$(supps) $(sent unsubscribed)" "0 0"

n2=$(events_all)
eq "HEAD: pixel 200, link 302, page 200" \
    "$(code "$(url eve@e.test 2)" -I -A "$BROWSER") $(code "$(link eve@e.test 0)" -I -A "$BROWSER") $(code "$(url eve@e.test 3)" -I)" \
    "200 302 200"
eq "... and records nothing" "$(events_all) $(supps)" "$n2 0"

curl -s -D p.h -o p.html -H 'Accept-Language: de' \
    -d 'List-Unsubscribe=One-Click' "$U"
eq "one-click POST: 200" "$(head -1 p.h | tr -d '\r')" "HTTP/1.1 200 OK"
check "... the confirmation (German)" grep -q 'Sie wurden abgemeldet' p.html
eq "... a suppression of the address for the list" \
    "$(sql "SELECT s.kind, s.value, l.name, s.reason FROM suppressions s LEFT JOIN lists l ON l.id = s.list_id")" \
    "address|dan@d.test|l1|unsubscribed"
eq "... an 'unsubscribed' event" "$(sent unsubscribed)" 1
curl -s -o p2.html -d 'List-Unsubscribe=One-Click' "$U"
check "the second POST: 200, You have been unsubscribed" \
    grep -q 'You have been unsubscribed' p2.html
eq "... still one suppression and one event" "$(supps) $(sent unsubscribed)" "1 1"
eq "an altered unsubscribe token: 404 page, nothing recorded" \
    "$(code "${U%?}" -d 'List-Unsubscribe=One-Click') $(supps) $(sent unsubscribed)" \
    "404 1 1"

start mx2
cfg next.json "${port[mx2]}" "http://127.0.0.1:$TP" 0
camp c2 l1
"$PB" --config next.json send c2 --no-dkim >send2.out 2>send2.err
eq "the next campaign to the list reaches the other five" "$(saved mx2)" 5
eq "... not the one who unsubscribed" \
    "$("$PY" urls.py mx2 | cut -f1 | grep -c dan@d.test)" 0

# ------------------------------------------------------------ HTTP rules
curl -s -X PUT -D put.h -o /dev/null "$U"
eq "PUT: 405" "$(head -1 put.h | tr -d '\r')" "HTTP/1.1 405 Method Not Allowed"
check "... Allow: GET, HEAD, POST on the page" grep -qi '^allow: GET, HEAD, POST' put.h
curl -s -X POST -D put2.h -o /dev/null "$P"
check "POST to the pixel: 405, Allow: GET, HEAD" eval \
    "grep -q ' 405 ' put2.h && grep -qi '^allow: GET, HEAD' put2.h"
head -c 5000 /dev/zero | tr '\0' x >big
eq "a POST body over 4096 bytes: 413, nothing recorded" \
    "$(code "$(url ann@a.test 3)" --data-binary @big) $(supps)" "413 1"
head -c 4096 /dev/zero | tr '\0' x >edge
eq "... 4096 bytes are fine" "$(code "$(url ann@a.test 3)" -H 'Accept-Language: en' --data-binary @edge) $(supps)" "200 2"
eq "(re-subscribing ann for what follows)" \
    "$("$PB" suppress rm ann@a.test --list l1 >/dev/null 2>&1; supps)" 1

# A client that sends half a request and waits: cut off after
# LIMIT_HTTP_TIMEOUT_S (10 s), not kept.
"$PY" - "${saddr[h]}" >slow.out 2>&1 <<'EOF' &
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)))
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
t0 = time.monotonic()
s.settimeout(30)
try:
    data = s.recv(100)
except OSError as e:
    data = b"error " + str(e).encode()
print("closed after %.1f s: %r" % (time.monotonic() - t0, data))
EOF
slowpid=$!

# --------------------------------------------------------------- flood
# 10,000 invalid tokens over keep-alive connections: each 404, and not
# one write (a connection held open sees the same data_version).
cat >flood.py <<'EOF'
import http.client, random, sqlite3, string, sys, threading
addr, db, good = sys.argv[1], sys.argv[2], sys.argv[3:]
host, port = addr.rsplit(":", 1)
con = sqlite3.connect(db)
v0 = con.execute("PRAGMA data_version").fetchone()[0]
alpha = string.ascii_letters + string.digits + "-_"
rnd = random.Random(8058)
reqs = []
for i in range(10000):
    k = i % 5
    if k == 4:      # a real token with one character changed
        g = rnd.choice(good)
        p = rnd.randrange(3, len(g) - 5)
        c = "A" if g[p] != "A" else "B"
        path = g[:p] + c + g[p + 1:]
        reqs.append(("GET", path))
        continue
    tok = "".join(rnd.choice(alpha) for _ in range(rnd.randrange(20, 40)))
    reqs.append([("GET", "/o/%s.gif" % tok), ("GET", "/c/" + tok),
                 ("GET", "/u/" + tok), ("POST", "/u/" + tok)][k])
bad = []
def run(part):
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    for m, path in part:
        body = "List-Unsubscribe=One-Click" if m == "POST" else None
        hdr = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
        c.request(m, path, body=body, headers=hdr)
        r = c.getresponse()
        r.read()
        if r.status != 404:
            bad.append((m, path, r.status))
ts = [threading.Thread(target=run, args=(reqs[i::4],)) for i in range(4)]
for t in ts: t.start()
for t in ts: t.join()
v1 = con.execute("PRAGMA data_version").fetchone()[0]
print("ok 10,000 invalid tokens: all 404" if not bad else
      "not ok 10,000 invalid tokens: %d not 404, e.g. %r" % (len(bad), bad[:3]))
print("ok ... data_version unchanged" if v0 == v1 else
      "not ok ... data_version %d -> %d" % (v0, v1))
EOF
goods=$(cut -f2,3,4 urls.tsv | tr '\t ' '\n\n' | sed 's#^http://[^/]*##; s#\.gif$##' | sort -u)
sum0=$(store_sum); ev0=$(events_all); su0=$(supps)
# shellcheck disable=SC2086
"$PY" flood.py "${saddr[h]}" "$POSTBOTE_DB" $goods >flood.out 2>&1
relay_tap flood.out $?
eq "... events and suppressions unchanged" "$(events_all) $(supps)" "$ev0 $su0"
eq "... the whole store unchanged" "$(store_sum)" "$sum0"

# ------------------------------------------------ while a send runs
start tarpit --tarpit-ms 200
cfg tarpit.json "${port[tarpit]}" "http://127.0.0.1:$TP" 0
set --
for i in $(seq -w 40); do set -- "$@" "t$i@t$((10#$i % 4)).test"; done
camp c3 l3 "$@" || notok "campaign c3 made"
"$PB" --config tarpit.json send c3 --no-dkim >c3.out 2>c3.err &
sendpid=$!
sleep 1
o0=$(sent opened)
fails=0
for r in 1 2 3 4 5; do
	while IFS=$'\t' read -r _ p _; do
		[ "$(code "$p" -A "$BROWSER")" = 200 ] || fails=$((fails + 1))
	done <urls.tsv
done
running=$(kill -0 "$sendpid" 2>/dev/null && echo yes)
kill -TERM "$sendpid" 2>/dev/null
wait "$sendpid"
src=$?
eq "30 opens while a send runs in another process: all 200" "$fails" 0
eq "... all 30 recorded" "$(( $(sent opened) - o0 ))" 30
eq "... the send was running meanwhile, and ends well" "$running $src" "yes 0"
check "... no store error on the server" eval "! grep -q 'postbote: track' h.err"

# ------------------------------------------------------------ the rest
wait "$slowpid"
check "a slow client is cut off after the timeout ($(cat slow.out))" \
    grep -Eq "closed after (9|1[0-9])\.[0-9] s: b''" slow.out

if "$PY" -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
	check "IPv6: listens on [::1]" serve v6 human.json --listen '[::1]:0'
	eq "... /healthz over IPv6" "$(code "http://${saddr[v6]}/healthz" -g)" 200
	kill -TERM "${spid[v6]}"; wait "${spid[v6]}"
else
	ok "# skip no IPv6 loopback"
	ok "# skip no IPv6 loopback"
fi
expect 64 "a listen address that is no IP literal: usage error" \
    "$PB" --config human.json track serve --listen localhost:8080
check "... says what it wants" has err "want an IP address and a port"

check "the request log: one line per request, method, path, status" \
    grep -q '^track: method=GET path=/healthz status=200$' h.err
tok=$(link ann@a.test 0); tok=${tok##*/}
check "... tokens cut to 8 characters" \
    grep -q "^track: method=GET path=/c/${tok:0:8}\.\.\. status=302$" h.err
eq "... no whole token in the log" "$(grep -c "$tok" h.err)" 0

t0=$(date +%s%N)
kill -TERM "${spid[h]}"
wait "${spid[h]}"
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
eq "SIGTERM: exits 0" "$rc" 0
check "... promptly (${ms} ms)" test "$ms" -lt 3000
kill -TERM "${spid[s]}"; wait "${spid[s]}"
stop mx; stop mx2; stop tarpit

done_testing
