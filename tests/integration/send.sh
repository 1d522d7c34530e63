#!/bin/bash
# send.sh - `postbote send` end to end: the real binary delivering to
# tests/tools/smtpd.py (fault-injecting, one maildir per server) through
# routes, the relay and MX look-ups answered by a dnsmasq of our own, read
# back from the deliveries and events tables, the per-delivery log lines,
# the summary line, and what each server saved (Python's email package;
# DKIM signatures verified by python3-dkim).
#
#   plain     route delivery: 250, 550 5.1.1, 452 4.2.2 at RCPT, 554 after
#             the dot; personalised To/Subject; MAIL FROM the From address,
#             or a VERP address with bounces.return_path_domain; a second
#             send resends nothing
#   dkim      rsa-sha256 and ed25519-sha256 keys from `dkim keygen`, both
#             signatures verified; no key for the From domain (exit 78,
#             still a draft) and --no-dkim; a key file mode 0644 refused
#   tls       STARTTLS verified against our own CA, AUTH from a password
#             file; a 0644 password file, an unset password_env; STARTTLS
#             refused (required: deferred, nothing in plaintext;
#             opportunistic: delivered without TLS); implicit TLS; the
#             route host by name (SNI, verified), and a certificate for
#             another name
#   mx        dnsmasq: MX, implicit MX, null MX, NXDOMAIN, a first MX
#             refusing connections, SERVFAIL for the MX (no A fallback);
#             a first MX whose connect() fails at once while the look-up
#             ends, behind a slow DNS proxy: the second MX's socket takes
#             the number c-ares just closed and must still be watched
#   relay     everything to the relay with AUTH over plaintext when
#             auth_plaintext allows it, and not otherwise
#   faults    421 after 3 messages, a drop after a dot, a 554 greeting, a
#             port nobody listens on
#   sigterm   SIGTERM against a tarpit: a quick stop, nothing left
#             'sending', the rest sent by the next run, nobody twice;
#             slow start opened more than one connection meanwhile
#   bulk      2,000 recipients over 20 domains: connections within the
#             default shaping (10 a domain), each message once
# Runs alone too: bash tests/integration/send.sh (PB or POSTBOTE names the
# binary; build/postbote by default).
: "${TESTS:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${POSTBOTE:=${PB:-$TESTS/../build/postbote}}"
export TESTS POSTBOTE
. "$TESTS/lib.sh"

PY=/usr/bin/python3
SMTPD="$TESTS/tools/smtpd.py"
need dnsmasq openssl sqlite3

# ---------------------------------------------------------------- helpers

# start, stop, saved: tests/smtpd_lib.sh.
. "$TESTS/smtpd_lib.sh"
. "$TESTS/dns_lib.sh"

# camp NAME FROM EMAIL,NAME...: a list NAME of those recipients and a draft
# campaign NAME of template t from FROM.
camp() {
	_c=$1; _from=$2; shift 2
	printf 'email,name\n' >"$_c.csv"
	printf '%s\n' "$@" >>"$_c.csv"
	"$PB" list import "$_c" "$_c.csv" >/dev/null &&
	"$PB" campaign create "$_c" --list "$_c" --template t \
	    --from "$_from" >/dev/null
}

# send CONFIG CAMPAIGN ARGS...: postbote send with the log in CAMPAIGN.log,
# stdout in ./out, stderr in ./err (kept in all.err); the exit in $rc.
send() {
	_cfg=$1; _c=$2; shift 2
	"$PB" --config "$_cfg" send "$_c" --log "$_c.log" "$@" >out 2>err
	rc=$?
	{ echo "== send $_c $*"; cat err; } >>all.err
	return 0
}

# outcome DESC CAMPAIGN WANT: "EXIT SUMMARY" of the last send is WANT; if
# not, the campaign's log lines follow on the TAP stream.
outcome() {
	_got="$rc $(summary)"
	eq "$1" "$_got" "$3"
	[ "$_got" = "$3" ] || { grep -v ' status=delivered ' "$2.log"
	    grep ' status=delivered ' "$2.log"; } 2>/dev/null |
	    head -3 | sed 's/^/#   /'
}

# The summary without its timings: seconds= and connections= go.
summary() { sed 's/ seconds=[0-9.]*//; s/ connections=[0-9]*//' out; }
connections() { sed -n 's/.*connections=\([0-9]*\).*/\1/p' out; }

cstatus() { sql "SELECT status FROM campaigns WHERE name = '$1'"; }

# rows CAMPAIGN: address status attempts dsn reply, one delivery a line,
# "queued as N" made "queued as N" literally.
rows() {
	sql "SELECT r.address, d.status, d.attempts, coalesce(d.last_dsn, '-'),
	    coalesce(d.last_reply, '-') FROM deliveries d
	    JOIN campaigns c ON c.id = d.campaign_id
	    JOIN recipients r ON r.id = d.recipient_id
	    WHERE c.name = '$1' ORDER BY r.address" |
	    sed 's/queued as [0-9]*/queued as N/'
}

# count CAMPAIGN STATUS: its deliveries in that status.
count() {
	sql "SELECT count(*) FROM deliveries d JOIN campaigns c ON
	    c.id = d.campaign_id WHERE c.name = '$1' AND d.status = '$2'"
}

# events CAMPAIGN: address type dsn reply relay, one event a line.
events() {
	sql "SELECT r.address, e.type, json_extract(e.detail, '\$.dsn'),
	    json_extract(e.detail, '\$.reply'),
	    json_extract(e.detail, '\$.relay') FROM events e
	    JOIN campaigns c ON c.id = e.campaign_id
	    JOIN recipients r ON r.id = e.recipient_id
	    WHERE c.name = '$1' ORDER BY r.address, e.id" |
	    sed 's/queued as [0-9]*/queued as N/'
}

# logl CAMPAIGN: its log lines without time stamp and delay, sorted.
logl() {
	sed -E 's/^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z //; s/ delay=[0-9]+\.[0-9]{2}//; s/queued as [0-9]+/queued as N/' \
	    "$1.log" | sort
}

# What one server saved: one line a message, sorted: To, Subject,
# MAIL FROM, RCPT TOs, plain|tls, auth user, crlf|bare, DKIM-Signature
# fields, parser defects.
cat >mdsum.py <<'EOF'
import email, email.policy, json, os, re, sys
d, rows = sys.argv[1], []
for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:
    if not n.endswith(".eml"):
        continue
    raw = open(os.path.join(d, n), "rb").read()
    env = json.load(open(os.path.join(d, n[:-4] + ".json")))
    m = email.message_from_bytes(raw, policy=email.policy.default)
    to = m["To"].addresses[0].addr_spec if m["To"] is not None else "-"
    rest = raw.replace(b"\r\n", b"")
    crlf = "crlf" if (b"\r" not in rest and b"\n" not in rest and
                      raw.endswith(b"\r\n")) else "bare"
    ndkim = len(re.findall(rb"^DKIM-Signature:", raw, re.M | re.I))
    defects = sum(len(p.defects) for p in m.walk())
    rows.append("\t".join([to, str(m["Subject"]), env["mail_from"],
                           ",".join(env["rcpt_to"]),
                           "tls" if env["tls"] else "plain",
                           env["auth_user"] or "-", crlf, str(ndkim),
                           str(defects)]))
for r in sorted(rows):
    print(r)
EOF
mdsum() { "$PY" mdsum.py "$1"; }
# tos DIR: the To of every saved message, sorted (repeats kept).
tos() { mdsum "$1" | cut -f1; }

# ------------------------------------------------------------------ setup

"$PB" init >/dev/null || { notok "postbote init"; done_testing; exit 1; }
# The unsubscribe link keeps `send`'s content checks (lint) quiet.
printf '<p>Hello {{ name }}</p>\n<p><a href="https://example.com/unsubscribe">Unsubscribe</a></p>\n' >t.html
printf 'Hello {{ name }}\n' >t.txt
"$PB" template add t --subject 'Hi {{ name }}' --html t.html \
    --text t.txt >/dev/null || notok "template add"

# A UDP server answering SERVFAIL to everything, for tempmx.test's MX.
udp_server servfail servfail.port
SERVFAIL=$(cat servfail.port)

# dnsmasq: --local=/test/ answers NXDOMAIN for what it does not know.
#   good.test    MX 10 mx.good.test (127.0.0.1)
#   aonly.test   an A record only: the implicit MX
#   nullmx.test  MX 0 "."
#   backup.test  MX 10 mx1.backup.test (127.0.0.2, nobody listens),
#                MX 20 mx2.backup.test (127.0.0.1)
#   tempmx.test  an A record (127.0.0.1); the MX query forwarded to the
#                SERVFAIL server
#   smtp.secure.test, wrong.secure.test  127.0.0.1, route host names
#   sync.test    MX 10 mx1.sync.test (224.0.0.1: connect() fails at once,
#                ENETUNREACH), MX 20 mx2.sync.test (127.0.0.1)
dns_start aonly.test --conf-file=/dev/null --local=/test/ \
	--mx-host=good.test,mx.good.test,10 \
	--host-record=mx.good.test,127.0.0.1 \
	--host-record=aonly.test,127.0.0.1 \
	--mx-host=nullmx.test,.,0 \
	--mx-host=backup.test,mx1.backup.test,10 \
	--mx-host=backup.test,mx2.backup.test,20 \
	--host-record=mx1.backup.test,127.0.0.2 \
	--host-record=mx2.backup.test,127.0.0.1 \
	--host-record=tempmx.test,127.0.0.1 \
	--server="/tempmx.test/127.0.0.1#$SERVFAIL" \
	--host-record=smtp.secure.test,127.0.0.1 \
	--host-record=wrong.secure.test,127.0.0.1 \
	--mx-host=sync.test,mx1.sync.test,10 \
	--mx-host=sync.test,mx2.sync.test,20 \
	--host-record=mx1.sync.test,224.0.0.1 \
	--host-record=mx2.sync.test,127.0.0.1

# route_cfg FILE PORT [EXTRA]: every *.test domain to 127.0.0.1:PORT in
# plaintext; EXTRA is more top-level members (with a leading comma).
route_cfg() {
	cat >"$1" <<EOF
{"hostname": "mail.example.com",
 "delivery": {"mode": "mx", "tls": "none",
  "dns_servers": ["127.0.0.1:$DNSPORT"],
  "timeouts": {"connect": 10, "greeting": 10, "mail": 10, "rcpt": 10,
   "data_init": 10, "data_block": 10, "data_end": 10, "idle": 5},
  "routes": {"*.test": {"host": "127.0.0.1", "port": $2, "tls": "none"}}}
 ${3:-}}
EOF
}

# ========================================================= 1. plain route
start plain --rcpt-rule '^bounce@=550 5.1.1 No such user' \
    --rcpt-rule '^later@=452 4.2.2 Mailbox full' \
    --data-rule '^spam@=554 5.7.1 Looks like spam'
P=${port[plain]}
route_cfg plain.json "$P"
camp c1 'Acme News <news@example.com>' ann@one.test,Ann bob@one.test,Bob \
    cat@one.test,Cat dan@one.test,Dan bounce@two.test,Bounce \
    later@two.test,Later eve@two.test,Eve fay@two.test,Fay \
    spam@three.test,Spam gus@three.test,Gus || notok "campaign c1 made"

send plain.json c1 --no-dkim
eq "plain: send exits 0" "$rc" 0
[ "$rc" -eq 0 ] || sed 's/^/#   /' err | head -5
eq "plain: the summary line" "$(summary)" \
    "delivered=7 deferred=1 bounced=2 failed=0 suppressed=0 unsent=0 left=1 status=running"
check "plain: the summary has seconds= and connections=" \
    grep -Eq ' seconds=[0-9]+\.[0-9]{3} connections=[1-9][0-9]*$' out
eq "plain: every deliveries row (status, attempts, dsn, reply)" "$(rows c1)" \
"ann@one.test|delivered|1|2.0.0|250 Ok: queued as N
bob@one.test|delivered|1|2.0.0|250 Ok: queued as N
bounce@two.test|bounced|1|5.1.1|550 No such user
cat@one.test|delivered|1|2.0.0|250 Ok: queued as N
dan@one.test|delivered|1|2.0.0|250 Ok: queued as N
eve@two.test|delivered|1|2.0.0|250 Ok: queued as N
fay@two.test|delivered|1|2.0.0|250 Ok: queued as N
gus@three.test|delivered|1|2.0.0|250 Ok: queued as N
later@two.test|deferred|1|4.2.2|452 Mailbox full
spam@three.test|bounced|1|5.7.1|554 Looks like spam"
R="127.0.0.1[127.0.0.1]:$P"
eq "plain: one event per outcome, with dsn, reply and relay" "$(events c1)" \
"ann@one.test|delivered|2.0.0|250 Ok: queued as N|$R
bob@one.test|delivered|2.0.0|250 Ok: queued as N|$R
bounce@two.test|bounced|5.1.1|550 No such user|$R
cat@one.test|delivered|2.0.0|250 Ok: queued as N|$R
dan@one.test|delivered|2.0.0|250 Ok: queued as N|$R
eve@two.test|delivered|2.0.0|250 Ok: queued as N|$R
fay@two.test|delivered|2.0.0|250 Ok: queued as N|$R
gus@three.test|delivered|2.0.0|250 Ok: queued as N|$R
later@two.test|deferred|4.2.2|452 Mailbox full|$R
spam@three.test|bounced|5.7.1|554 Looks like spam|$R"
eq "plain: done_at set on the final ones only" \
    "$(sql "SELECT group_concat(status || '=' || done_at, ' ')
    FROM (SELECT DISTINCT d.status, d.done_at IS NOT NULL AS done_at
    FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id
    WHERE c.name = 'c1' ORDER BY 1)")" "bounced=1 deferred=0 delivered=1"
check "plain: every log line has a time stamp and a delay" sh -c \
    "grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z campaign=c1 to=<[^>]+> relay=[^ ]+ delay=[0-9]+\.[0-9]{2} tls=[^ ]+ dsn=[^ ]+ status=[a-z]+ \(.*\)$' c1.log | grep -qx 10"
eq "plain: the log lines" "$(logl c1)" \
"campaign=c1 to=<ann@one.test> relay=$R tls=none dsn=2.0.0 status=delivered (250 Ok: queued as N)
campaign=c1 to=<bob@one.test> relay=$R tls=none dsn=2.0.0 status=delivered (250 Ok: queued as N)
campaign=c1 to=<bounce@two.test> relay=$R tls=none dsn=5.1.1 status=bounced (550 No such user)
campaign=c1 to=<cat@one.test> relay=$R tls=none dsn=2.0.0 status=delivered (250 Ok: queued as N)
campaign=c1 to=<dan@one.test> relay=$R tls=none dsn=2.0.0 status=delivered (250 Ok: queued as N)
campaign=c1 to=<eve@two.test> relay=$R tls=none dsn=2.0.0 status=delivered (250 Ok: queued as N)
campaign=c1 to=<fay@two.test> relay=$R tls=none dsn=2.0.0 status=delivered (250 Ok: queued as N)
campaign=c1 to=<gus@three.test> relay=$R tls=none dsn=2.0.0 status=delivered (250 Ok: queued as N)
campaign=c1 to=<later@two.test> relay=$R tls=none dsn=4.2.2 status=deferred (452 Mailbox full)
campaign=c1 to=<spam@three.test> relay=$R tls=none dsn=5.7.1 status=bounced (554 Looks like spam)"
eq "plain: nothing on stderr with --log" "$(cat err)" ""
# To, Subject, MAIL FROM, RCPT TO, TLS, AUTH, line ends, DKIM, defects.
row() { printf '%s\tHi %s\tnews@example.com\t%s\tplain\t-\tcrlf\t0\t0' "$1" "$2" "$1"; }
eq "plain: each message: To, Subject personalised, MAIL FROM = From, CRLF, no defects" \
    "$(mdsum plain)" \
"$(row ann@one.test Ann)
$(row bob@one.test Bob)
$(row cat@one.test Cat)
$(row dan@one.test Dan)
$(row eve@two.test Eve)
$(row fay@two.test Fay)
$(row gus@three.test Gus)"
eq "plain: HELO is the config's hostname" \
    "$(sed -n 's/.*"helo": "\([^"]*\)".*/\1/p' plain/*.json | sort -u)" \
    mail.example.com
eq "plain: one deferred: the campaign stays running" "$(cstatus c1)" running

send plain.json c1 --no-dkim
eq "plain: a second send exits 0" "$rc" 0
eq "plain: ... sends nothing (the deferred one is not pending)" "$(summary)" \
    "delivered=0 deferred=0 bounced=0 failed=0 suppressed=0 unsent=0 left=1 status=running"
eq "plain: ... the server got nothing more" "$(saved plain)" 7
eq "plain: ... the deferred one stays deferred, one attempt" \
    "$(rows c1 | grep '^later@')" "later@two.test|deferred|1|4.2.2|452 Mailbox full"
eq "plain: ... no new events" "$(events c1 | wc -l)" 10
eq "plain: ... still running" "$(cstatus c1)" running

# VERP: with bounces.return_path_domain, MAIL FROM is bounces+TOKEN@it.
route_cfg verp.json "$P" ', "bounces": {"return_path_domain": "bounce.example.com"}'
camp c1v 'Acme News <news@example.com>' v1@verp.test,V1 v2@verp.test,V2 \
    v3@verp.test,V3 || notok "campaign c1v made"
send verp.json c1v --no-dkim
outcome "verp: send exits 0, all delivered, the campaign done" c1v \
    "0 delivered=3 deferred=0 bounced=0 failed=0 suppressed=0 unsent=0 left=0 status=done"
eq "verp: campaign status done" "$(cstatus c1v)" "done"
mdsum plain | grep '@verp.test' | cut -f3 >verp.from
eq "verp: MAIL FROM is bounces+TOKEN@bounce.example.com" \
    "$(grep -cE '^bounces\+[A-Za-z0-9_=-]+@bounce\.example\.com$' verp.from)" 3
eq "verp: ... a different one for each recipient" "$(sort -u verp.from | wc -l)" 3
eq "verp: the From header is still the campaign's" \
    "$(grep -l 'verp.test' plain/*.eml | xargs grep -h '^From:' | sort -u)" \
    "$(printf 'From: Acme News <news@example.com>\r')"

# ================================================================ 2. DKIM
start dkim
"$PB" dkim keygen --domain example.com --selector rsa1 --output rsa.pem \
    >rsa.txt 2>/dev/null || notok "keygen rsa"
"$PB" dkim keygen --domain example.com --selector ed1 --algorithm ed25519 \
    --output ed.pem >ed.txt 2>/dev/null || notok "keygen ed25519"
dkim_keys() {
	echo ', "dkim": [
  {"domain": "example.com", "selector": "rsa1", "algorithm": "rsa-sha256",
   "key_file": "'"$T/$1"'"},
  {"domain": "example.com", "selector": "ed1",
   "algorithm": "ed25519-sha256", "key_file": "'"$T/ed.pem"'"}]'
}
route_cfg dkim.json "${port[dkim]}" "$(dkim_keys rsa.pem)"
camp c2 'Acme News <news@example.com>' d1@one.test,D1 d2@two.test,D2 \
    d3@three.test,D3 || notok "campaign c2 made"
send dkim.json c2
outcome "dkim: send exits 0, all delivered" c2 \
    "0 delivered=3 deferred=0 bounced=0 failed=0 suppressed=0 unsent=0 left=0 status=done"
eq "dkim: three messages, each with two DKIM-Signature fields" \
    "$(mdsum dkim | cut -f1,8 | tr '\t' ' ' | paste -sd' ')" \
    "d1@one.test 2 d2@two.test 2 d3@three.test 2"
"$PY" - rsa.txt ed.txt dkim >dkim.out 2>&1 <<'EOF'
import os, re, sys
import dkim
DNS = {}
for path in sys.argv[1:3]:
    m = re.match(r'(\S+) IN TXT (.*)$', open(path).read().strip())
    DNS[m.group(1) + "."] = "".join(re.findall(r'"([^"]*)"', m.group(2)))
def dnsfunc(name, timeout=5):
    return DNS.get(name.decode(), "").encode()
def tag(msg, idx, name):
    fields = [v for k, v in dkim.DKIM(msg).headers
              if k.lower() == b"dkim-signature"]
    s = re.sub(rb"\s+", b"", fields[idx])
    m = re.search(rb"(?:^|;)" + name.encode() + rb"=([^;]*)", s)
    return m.group(1).decode() if m else None
def verify(msg, idx):
    try:
        return dkim.DKIM(msg).verify(idx=idx, dnsfunc=dnsfunc)
    except dkim.DKIMException as e:
        return "%s" % e
d = sys.argv[3]
names = sorted(n for n in os.listdir(d) if n.endswith(".eml"))
print(("ok " if len(names) == 3 else "not ok ") + "dkim: three messages to verify")
for n in names:
    msg = open(os.path.join(d, n), "rb").read()
    to = re.search(rb"^To: <([^>]*)>", msg, re.M).group(1).decode()
    res = [verify(msg, i) for i in (0, 1)]
    print(("ok " if res == [True, True] else "not ok ") +
          "dkim: %s: both signatures verify" % to)
    if res != [True, True]:
        print("#   got %r" % (res,))
    algs = sorted(tag(msg, i, "a") for i in (0, 1))
    doms = [tag(msg, i, "d") for i in (0, 1)]
    good = algs == ["ed25519-sha256", "rsa-sha256"] and doms == ["example.com"] * 2
    print(("ok " if good else "not ok ") +
          "dkim: %s: rsa-sha256 and ed25519-sha256, d=example.com" % to)
    if not good:
        print("#   got %r %r" % (algs, doms))
    bad = msg.replace(b"Hello D", b"Hallo D", 1)
    res = [verify(bad, i) for i in (0, 1)]
    print(("ok " if True not in res else "not ok ") +
          "dkim: %s: a changed body fails both" % to)
EOF
relay_tap dkim.out $?

camp c2n 'Other <news@nokey.example>' n1@one.test,N1 || notok "campaign c2n made"
s0=$(store_sum)
send dkim.json c2n
eq "dkim: no key for the From domain: exit 78" "$rc" 78
check "dkim: ... the message names the domain" has err nokey.example
check "dkim: ... and --no-dkim" has err --no-dkim
eq "dkim: ... the campaign is still a draft" "$(cstatus c2n)" draft
eq "dkim: ... the store is unchanged (no deliveries made)" "$(store_sum)" "$s0"
eq "dkim: ... nothing sent" "$(saved dkim)" 3
send dkim.json c2n --no-dkim
outcome "dkim: with --no-dkim: delivered" c2n \
    "0 delivered=1 deferred=0 bounced=0 failed=0 suppressed=0 unsent=0 left=0 status=done"
eq "dkim: ... unsigned" "$(mdsum dkim | grep '^n1@one.test' | cut -f8)" 0

cp rsa.pem open.pem
chmod 644 open.pem
route_cfg dkimopen.json "${port[dkim]}" "$(dkim_keys open.pem)"
camp c2o 'Acme News <news@example.com>' o1@one.test,O1 || notok "campaign c2o made"
s0=$(store_sum)
send dkimopen.json c2o
eq "dkim: a key file mode 0644: exit 78" "$rc" 78
check "dkim: ... naming the file" has err "open.pem"
eq "dkim: ... the campaign is still a draft, the store unchanged" \
    "$(cstatus c2o) $(store_sum)" "draft $s0"
eq "dkim: ... nothing sent" "$(saved dkim)" 4

# ================================================================= 3. TLS
# A self-signed certificate for smtp.secure.test (and 127.0.0.1), our own
# CA. Most routes name the server by address, so they test TLS and AUTH
# alone; two name it smtp.secure.test / wrong.secure.test (resolved through
# dnsmasq): SNI and the host name check.
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem \
    -days 2 -subj /CN=smtp.secure.test \
    -addext subjectAltName=DNS:smtp.secure.test,IP:127.0.0.1 2>/dev/null ||
    notok "openssl made a certificate"
tls="--cert cert.pem --key key.pem"
# shellcheck disable=SC2086 # $tls is four words
start tls $tls --user u --password s3cret-pw --require-auth
# shellcheck disable=SC2086
start notls $tls --starttls-reply '454 4.7.0 no'
# shellcheck disable=SC2086
start implicit $tls --implicit-tls

# tls_cfg FILE HOST PORT TLS AUTH: one route for *.test.
tls_cfg() {
	cat >"$1" <<EOF
{"hostname": "mail.example.com",
 "delivery": {"mode": "mx", "tls": "none", "ca_file": "$T/cert.pem",
  "dns_servers": ["127.0.0.1:$DNSPORT"],
  "timeouts": {"connect": 2, "greeting": 10, "mail": 10, "rcpt": 10,
   "data_init": 10, "data_block": 10, "data_end": 10},
  "routes": {"*.test": {"host": "$2", "port": $3, "tls": "$4" ${5:-}}}}}
EOF
}
printf 's3cret-pw\n' >pw
chmod 600 pw
cp pw pw644
chmod 644 pw644
auth=', "username": "u", "password_file": "'"$T/pw"'"'
tls_cfg tls.json 127.0.0.1 "${port[tls]}" required "$auth"
camp c3 'Acme News <news@example.com>' t1@one.test,T1 t2@two.test,T2 ||
    notok "campaign c3 made"
send tls.json c3 --no-dkim
outcome "tls: STARTTLS + AUTH: send exits 0, delivered" c3 \
    "0 delivered=2 deferred=0 bounced=0 failed=0 suppressed=0 unsent=0 left=0 status=done"
eq "tls: ... received over TLS, authenticated as u" \
    "$(mdsum tls | cut -f1,5,6 | tr '\t' ' ' | paste -sd' ')" \
    "t1@one.test tls u t2@two.test tls u"
eq "tls: ... the log says TLSv1.x/cipher/verified" \
    "$(grep -cE ' relay=127\.0\.0\.1\[127\.0\.0\.1\]:'"${port[tls]}"' delay=[0-9.]+ tls=TLSv1\.[23]/[A-Z0-9_-]+/verified dsn=2\.0\.0 status=delivered ' c3.log)" 2
# shellcheck disable=SC2016 # expanded by eval
check "tls: ... the password is nowhere in the log or the store" \
    eval '! grep -q s3cret c3.log err && ! sqlite3 "$POSTBOTE_DB" .dump | grep -q s3cret'

tls_cfg tls644.json 127.0.0.1 "${port[tls]}" required \
    ', "username": "u", "password_file": "'"$T/pw644"'"'
camp c3a 'Acme News <news@example.com>' a1@one.test,A1 || notok "campaign c3a made"
s0=$(store_sum)
send tls644.json c3a --no-dkim
eq "tls: a password file mode 0644: exit 78" "$rc" 78
check "tls: ... naming the file" has err "$T/pw644"
eq "tls: ... nothing changed, nothing sent" "$(store_sum) $(saved tls)" "$s0 2"

tls_cfg tlsenv.json 127.0.0.1 "${port[tls]}" required \
    ', "username": "u", "password_env": "PB_TEST_UNSET_PW"'
unset PB_TEST_UNSET_PW
send tlsenv.json c3a --no-dkim
eq "tls: password_env unset: exit 78" "$rc" 78
check "tls: ... naming the variable" has err PB_TEST_UNSET_PW
eq "tls: ... the campaign is still a draft" "$(cstatus c3a)" draft

tls_cfg req.json 127.0.0.1 "${port[notls]}" required
camp c3r 'Acme News <news@example.com>' r1@one.test,R1 r2@two.test,R2 ||
    notok "campaign c3r made"
send req.json c3r --no-dkim
outcome "tls: required, STARTTLS refused: all deferred" c3r \
    "0 delivered=0 deferred=2 bounced=0 failed=0 suppressed=0 unsent=0 left=2 status=running"
eq "tls: ... nothing sent in plaintext" "$(saved notls)" 0
check "tls: ... no MAIL command reached the server" eval '! grep -q "C: MAIL" notls.log'
eq "tls: ... deferred with the server's refusal" \
    "$(rows c3r | cut -d'|' -f2,4,5 | sort -u)" "deferred|4.7.0|454 127.0.0.1: no"

tls_cfg opp.json 127.0.0.1 "${port[notls]}" opportunistic
camp c3o 'Acme News <news@example.com>' p1@one.test,P1 || notok "campaign c3o made"
send opp.json c3o --no-dkim
outcome "tls: opportunistic, STARTTLS refused: delivered" c3o \
    "0 delivered=1 deferred=0 bounced=0 failed=0 suppressed=0 unsent=0 left=0 status=done"
check "tls: ... the log says tls=none" has c3o.log " tls=none dsn=2.0.0 status=delivered"
eq "tls: ... received in plaintext" "$(mdsum notls | cut -f1,5)" \
    "$(printf 'p1@one.test\tplain')"

tls_cfg imp.json 127.0.0.1 "${port[implicit]}" implicit
camp c3i 'Acme News <news@example.com>' i1@one.test,I1 || notok "campaign c3i made"
send imp.json c3i --no-dkim
outcome "tls: implicit TLS: delivered" c3i \
    "0 delivered=1 deferred=0 bounced=0 failed=0 suppressed=0 unsent=0 left=0 status=done"
eq "tls: ... received over TLS" "$(mdsum implicit | cut -f1,5)" \
    "$(printf 'i1@one.test\ttls')"
check "tls: ... the log says verified" grep -qE ' tls=TLSv1\.[23]/[^ ]+/verified ' c3i.log

# By name: the route host is looked up (c-ares), SNI and the name check.
tls_cfg name.json smtp.secure.test "${port[tls]}" required "$auth"
camp c3n 'Acme News <news@example.com>' n1@one.test,N1 || notok "campaign c3n made"
send name.json c3n --no-dkim
outcome "tls: route host by name: delivered, verified" c3n \
    "0 delivered=1 deferred=0 bounced=0 failed=0 suppressed=0 unsent=0 left=0 status=done"
check "tls: ... the log names the host" grep -qE \
    " relay=smtp\.secure\.test\[127\.0\.0\.1\]:${port[tls]} delay=[0-9.]+ tls=TLSv1\.[23]/[^ ]+/verified " c3n.log
# wrong.secure.test is the same server under a name its certificate lacks.
tls_cfg wrong.json wrong.secure.test "${port[tls]}" required "$auth"
camp c3w 'Acme News <news@example.com>' w1@one.test,W1 || notok "campaign c3w made"
send wrong.json c3w --no-dkim
outcome "tls: a certificate for another name: deferred" c3w \
    "0 delivered=0 deferred=1 bounced=0 failed=0 suppressed=0 unsent=0 left=1 status=running"
check "tls: ... for the name mismatch" eval \
    "rows c3w | grep -q 'host name mismatch'"
eq "tls: ... nothing more received" "$(saved tls)" 3

# ============================================================ 4. MX, DNS
start mx
cat >mx.json <<EOF
{"hostname": "mail.example.com",
 "delivery": {"mode": "mx", "tls": "none",
  "dns_servers": ["127.0.0.1:$DNSPORT"], "mx_port": ${port[mx]},
  "timeouts": {"connect": 3, "greeting": 10, "mail": 10, "rcpt": 10,
   "data_init": 10, "data_block": 10, "data_end": 10}}}
EOF
camp c4 'Acme News <news@example.com>' a@good.test,A b@aonly.test,B \
    c@nullmx.test,C d@unknown.test,D e@backup.test,E f@tempmx.test,F ||
    notok "campaign c4 made"
send mx.json c4 --no-dkim
eq "mx: send exits 0" "$rc" 0
eq "mx: the summary" "$(summary)" \
    "delivered=3 deferred=1 bounced=2 failed=0 suppressed=0 unsent=0 left=1 status=running"
eq "mx: status and dsn per domain" "$(rows c4 | cut -d'|' -f1,2,4)" \
"a@good.test|delivered|2.0.0
b@aonly.test|delivered|2.0.0
c@nullmx.test|bounced|5.1.10
d@unknown.test|bounced|5.1.2
e@backup.test|delivered|2.0.0
f@tempmx.test|deferred|4.4.3"
MXP=${port[mx]}
check "mx: good.test via its MX host" has c4.log \
    "to=<a@good.test> relay=mx.good.test[127.0.0.1]:$MXP "
check "mx: aonly.test via its A record" has c4.log \
    "to=<b@aonly.test> relay=aonly.test[127.0.0.1]:$MXP "
check "mx: backup.test via the second MX (the first refuses)" has c4.log \
    "to=<e@backup.test> relay=mx2.backup.test[127.0.0.1]:$MXP "
check "mx: null MX: no relay, the reason" has c4.log \
    "to=<c@nullmx.test> relay=none"
check "mx: ... said in last_reply" eval \
    "rows c4 | grep '^c@nullmx.test|' | grep -q 'null MX'"
check "mx: NXDOMAIN said in last_reply" eval \
    "rows c4 | grep '^d@unknown.test|' | grep -q NXDOMAIN"
eq "mx: received: good, aonly, backup only (SERVFAIL: no A fallback)" \
    "$(tos mx | paste -sd' ')" "a@good.test b@aonly.test e@backup.test"
eq "mx: three sessions: nothing for null MX, NXDOMAIN, SERVFAIL" \
    "$(grep -c -- '--: connect from' mx.log)" 3

# sync.test through a DNS proxy that answers 100 ms late, so the message
# is rendered and waits for the look-up: when the answer comes, the first
# MX fails inside connect() and the second MX's socket is opened at once,
# right after c-ares closed its own socket: the new socket gets the number
# c-ares had, and must still be watched.
"$PY" -c 'import socket, sys, threading, time
up = ("127.0.0.1", int(sys.argv[1]))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
open(sys.argv[2], "w").write("%d\n" % s.getsockname()[1])
def relay(q, peer):
    time.sleep(0.1)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2)
    u.sendto(q, up)
    try:
        s.sendto(u.recv(4096), peer)
    except OSError:
        pass
while True:
    q, peer = s.recvfrom(4096)
    threading.Thread(target=relay, args=(q, peer), daemon=True).start()
' "$DNSPORT" slowdns.port &
pids="$pids $!"
for _ in $(seq 50); do [ -s slowdns.port ] && break; sleep 0.1; done
sed "s/127.0.0.1:$DNSPORT/127.0.0.1:$(cat slowdns.port)/; s/\"connect\": 3/\"connect\": 2/" \
    mx.json >mxslow.json
for i in 1 2; do
	camp "c4s$i" 'Acme News <news@example.com>' "s$i@sync.test,S$i" ||
	    notok "campaign c4s$i made"
	send mxslow.json "c4s$i" --no-dkim
	outcome "mx: first MX unconnectable, slow DNS (run $i): delivered" "c4s$i" \
	    "0 delivered=1 deferred=0 bounced=0 failed=0 suppressed=0 unsent=0 left=0 status=done"
	check "mx: ... via the second MX (run $i)" has "c4s$i.log" \
	    " relay=mx2.sync.test[127.0.0.1]:$MXP "
done

# ============================================================== 5. relay
start relay --user u --password s3cret-pw --auth-plaintext --require-auth
relay_cfg() {
	cat >"$1" <<EOF
{"hostname": "mail.example.com",
 "delivery": {"mode": "relay", "dns_servers": ["127.0.0.1:$DNSPORT"],
  "timeouts": {"connect": 10, "greeting": 10, "mail": 10, "rcpt": 10,
   "data_init": 10, "data_block": 10, "data_end": 10},
  "relay": {"host": "127.0.0.1", "port": ${port[relay]}, "tls": "none",
   "username": "u", "password_env": "PB_RELAY_PW" $2}}}
EOF
}
relay_cfg relay.json ', "auth_plaintext": true'
camp c5 'Acme News <news@example.com>' x@example.com,X y@example.org,Y \
    z@one.test,Z w@good.test,W || notok "campaign c5 made"
PB_RELAY_PW=s3cret-pw send relay.json c5 --no-dkim
outcome "relay: send exits 0, all delivered" c5 \
    "0 delivered=4 deferred=0 bounced=0 failed=0 suppressed=0 unsent=0 left=0 status=done"
[ "$rc" -eq 0 ] || sed 's/^/#   /' err | head -5
eq "relay: every message to the relay, authenticated as u" \
    "$(mdsum relay | cut -f1,6 | tr '\t' ' ' | paste -sd' ')" \
    "w@good.test u x@example.com u y@example.org u z@one.test u"
eq "relay: the log names the relay for all" \
    "$(grep -c " relay=127.0.0.1\[127.0.0.1\]:${port[relay]} " c5.log)" 4

auths=$(grep -c 'C: AUTH' relay.log)
relay_cfg relay_noplain.json ''
camp c5n 'Acme News <news@example.com>' q@example.com,Q || notok "campaign c5n made"
PB_RELAY_PW=s3cret-pw send relay_noplain.json c5n --no-dkim
outcome "relay: without auth_plaintext: not sent, deferred" c5n \
    "0 delivered=0 deferred=1 bounced=0 failed=0 suppressed=0 unsent=0 left=1 status=running"
eq "relay: ... no AUTH in plaintext (no AUTH added to the transcript)" \
    "$(grep -c 'C: AUTH' relay.log) $(saved relay)" "$auths 4"

# ============================================================= 6. faults
start mm --max-messages-per-session 3
route_cfg mm.json "${port[mm]}"
set -- 
for i in $(seq 10); do set -- "$@" "m$i@one.test,M$i"; done
camp c6a 'Acme News <news@example.com>' "$@" || notok "campaign c6a made"
send mm.json c6a --no-dkim
outcome "faults: 421 after 3 messages: all 10 delivered" c6a \
    "0 delivered=10 deferred=0 bounced=0 failed=0 suppressed=0 unsent=0 left=0 status=done"
eq "faults: ... each received once" "$(tos mm | sort -u | wc -l) $(saved mm)" "10 10"
c=$(connections)
check "faults: ... over at least 4 connections (connections=$c)" test "${c:-0}" -ge 4

start dd --drop-after-dot 2
route_cfg dd.json "${port[dd]}"
camp c6b 'Acme News <news@example.com>' k1@one.test,K1 k2@one.test,K2 \
    k3@one.test,K3 k4@one.test,K4 k5@one.test,K5 || notok "campaign c6b made"
send dd.json c6b --no-dkim
outcome "faults: dropped after the dot: one deferred, four delivered" c6b \
    "0 delivered=4 deferred=1 bounced=0 failed=0 suppressed=0 unsent=0 left=1 status=running"
dropped=$(rows c6b | grep '|deferred|' | cut -d'|' -f1)
eq "faults: ... the deferred one not received, the others once" \
    "$(tos dd | paste -sd' ')" \
    "$(printf '%s\n' k1@one.test k2@one.test k3@one.test k4@one.test k5@one.test | grep -vx "$dropped" | paste -sd' ')"
check "faults: ... its last_reply says the connection went ($dropped)" eval \
    "rows c6b | grep '^$dropped|' | grep -qiE 'closed|reset|lost'"

start greet --greeting '554 5.7.1 go away'
route_cfg greet.json "${port[greet]}"
camp c6c 'Acme News <news@example.com>' g1@one.test,G1 g2@two.test,G2 \
    g3@three.test,G3 || notok "campaign c6c made"
send greet.json c6c --no-dkim
outcome "faults: a 554 greeting: all bounced" c6c \
    "0 delivered=0 deferred=0 bounced=3 failed=0 suppressed=0 unsent=0 left=0 status=done"
eq "faults: ... dsn 5.7.1, the greeting in last_reply" \
    "$(rows c6c | cut -d'|' -f2,4,5 | sort -u)" "bounced|5.7.1|554 127.0.0.1: go away"
eq "faults: ... one session, nothing sent" \
    "$(grep -c -- '--: connect from' greet.log) $(saved greet)" "1 0"
eq "faults: ... the log names the relay that refused" \
    "$(grep -c " relay=127\.0\.0\.1\[127\.0\.0\.1\]:${port[greet]} .* status=bounced " c6c.log)" 3

DEAD=$(free_port)
route_cfg dead.json "$DEAD"
camp c6d 'Acme News <news@example.com>' x1@one.test,X1 x2@two.test,X2 \
    x3@three.test,X3 || notok "campaign c6d made"
t0=$(date +%s%N)
send dead.json c6d --no-dkim
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
outcome "faults: nobody listening: exit 0, all deferred" c6d \
    "0 delivered=0 deferred=3 bounced=0 failed=0 suppressed=0 unsent=0 left=3 status=running"
eq "faults: ... the connect error in last_reply" \
    "$(rows c6d | grep -c "|deferred|1|[^|]*|.*Connection refused")" 3
check "faults: ... quickly (${ms} ms, connect timeout 10 s)" test "$ms" -lt 3000
eq "faults: ... relay=none in the log: no server answered" \
    "$(grep -c ' relay=none .* status=deferred ' c6d.log)" 3

# ============================================================ 7. SIGTERM
start tarpit --tarpit-ms 300
route_cfg tarpit.json "${port[tarpit]}"
set --
for i in $(seq -w 50); do set -- "$@" "s$i@d$((10#$i % 5)).test,S$i"; done
camp c7 'Acme News <news@example.com>' "$@" || notok "campaign c7 made"
"$PB" --config tarpit.json send c7 --no-dkim --log c7.log >c7.out 2>c7.err &
spid=$!
sleep 2
t0=$(date +%s%N)
kill -TERM "$spid"
wait "$spid"
src=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
{ echo "== send c7 (SIGTERM)"; cat c7.err; } >>all.err
eq "sigterm: exits 0" "$src" 0
check "sigterm: within 5 s of the signal (${ms} ms)" test "$ms" -lt 5000
echo "# $(cat c7.out)"
d=$(count c7 delivered); p=$(count c7 pending); f=$(count c7 deferred)
eq "sigterm: delivered + pending + deferred = 50 ($d + $p + $f)" \
    "$((d + p + f))" 50
eq "sigterm: none left 'sending'" "$(count c7 sending)" 0
check "sigterm: stopped part way (some delivered, some pending)" \
    test "$d" -gt 0 -a "$p" -gt 0
eq "sigterm: the summary's unsent is what is pending" \
    "$(sed -n 's/.*unsent=\([0-9]*\).*/\1/p' c7.out)" "$p"
eq "sigterm: status=running, left=$((p + f))" \
    "$(sed -n 's/.*left=\([0-9]*\) status=\([a-z]*\).*/\1 \2/p' c7.out)" \
    "$((p + f)) running"
eq "sigterm: every delivered one was received" \
    "$(tos tarpit | sort -u | paste -sd' ')" \
    "$(rows c7 | grep '|delivered|' | cut -d'|' -f1 | sort | paste -sd' ')"
stop tarpit
check "sigterm: slow start opened more than one connection for 50 queued messages: $(cat tarpit.stats)" eval \
    "$PY -c 'import json,sys; sys.exit(json.load(open(\"tarpit.stats\"))[\"max_concurrent\"] < 2)'"
start after
route_cfg after.json "${port[after]}"
send after.json c7 --no-dkim
eq "sigterm: the next send exits 0" "$rc" 0
eq "sigterm: ... delivers the rest, the campaign done" "$(summary)" \
    "delivered=$((p + f)) deferred=0 bounced=0 failed=0 suppressed=0 unsent=0 left=0 status=done"
eq "sigterm: ... all 50 delivered" "$(count c7 delivered)" 50
dups=$( { tos tarpit; tos after; } | sort | uniq -d | paste -sd' ')
eq "sigterm: nobody received twice" "$dups" ""
eq "sigterm: everybody received" "$( { tos tarpit; tos after; } | sort -u | wc -l)" 50

# =============================================================== 8. bulk
start bulk
route_cfg bulk.json "${port[bulk]}"
"$PY" -c 'print("email,name")
for i in range(2000):
    print("b%04d@d%02d.test,B%d" % (i, i % 20, i))' >c8.csv
if ! "$PB" list import c8 c8.csv >/dev/null || ! "$PB" campaign create c8 \
    --list c8 --template t --from 'Acme News <news@example.com>' >/dev/null; then
	notok "campaign c8 made"
fi
t0=$(date +%s%N)
send bulk.json c8 --no-dkim --quiet
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "# bulk: $(cat out) (${ms} ms)"
outcome "bulk: 2,000 delivered, the campaign done" c8 \
    "0 delivered=2000 deferred=0 bounced=0 failed=0 suppressed=0 unsent=0 left=0 status=done"
c=$(connections)
check "bulk: connections within the default shaping (connections=$c, at most 20 domains x 10)" \
    test "${c:-999}" -le 200 -a "${c:-0}" -ge 1
tos bulk >bulk.tos
eq "bulk: 2,000 messages, each To once" \
    "$(wc -l <bulk.tos) $(sort -u bulk.tos | wc -l)" "2000 2000"
eq "bulk: --quiet: no log file, nothing on stderr" \
    "$([ -e c8.log ] && echo log) $(cat err)" " "
stop bulk
check "bulk: the server's session count matches (sessions ≤ 200)" eval \
    "$PY -c 'import json,sys; s=json.load(open(\"bulk.stats\")); sys.exit(0 if s[\"sessions\"] <= 200 and s[\"messages\"] == 2000 else 1)'"

# ============================================================ the servers
for m in plain dkim tls notls implicit mx relay mm dd greet after; do
	stop "$m"
done
for m in plain dkim tls notls implicit mx relay mm dd greet tarpit after bulk; do
	check "smtpd $m: nothing on stderr" eval "! [ -s $m.err ]"
	[ -s "$m.err" ] && sed 's/^/#   /' "$m.err" | head -5
done
check "no sanitizer report from any send" eval \
    "! grep -qE 'Sanitizer|runtime error:' all.err"
grep -E -A5 'Sanitizer|runtime error:' all.err | head -20 | sed 's/^/#   /'

done_testing
