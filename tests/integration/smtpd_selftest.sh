#!/bin/bash
# smtpd_selftest.sh - tests/tools/smtpd.py, the fault-injecting SMTP server
# the delivery tests stand on, checked with Python's smtplib and raw
# sockets before anything trusts it. Each server listens on 127.0.0.1 at a
# port the kernel picks and keeps its own maildir, transcript and stats:
#   plain     rcpt rules (bounce@ 550, later@ 452), a data rule (spam@ 554)
#   tls       STARTTLS with a throwaway certificate, AUTH u/s3cret-pw
#             required and offered only over TLS
#   implicit  TLS from the first byte
#   refuse    a 554 greeting; busy: a 421 greeting
#   limits    one message per session, one connection at a time, a
#             300-line reply to the first RCPT, message 2 dropped after
#             its dot
#   inject    plaintext injected after STARTTLS's 220, EHLO reply lines
#             that change code
#   broken    garbage instead of a TLS handshake, 100 ms before each reply
#   old       EHLO refused (HELO only), message 1 dropped mid-DATA
#   grey      greylisting (the first RCPT of each address 451 4.7.1), the
#             first MAIL overall 421 4.7.0 and closed; mail_at and
#             received_at in the envelope
#   rate      3 MAIL commands in any 3 s across sessions; the 4th gets
#             450 4.7.0 and the session goes on
# Runs alone too: bash tests/integration/smtpd_selftest.sh
: "${TESTS:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${POSTBOTE:=$TESTS/../build/postbote}"	# lib.sh wants it; unused here
export TESTS POSTBOTE
. "$TESTS/lib.sh"

PY=/usr/bin/python3
SMTPD="$TESTS/tools/smtpd.py"
need openssl

openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem \
    -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    2>/dev/null || { notok "openssl made a test certificate"; done_testing; exit 1; }

# start NAME ARGS...: a server saving into ./NAME, NAME.log, NAME.stats;
# its process id in ${pid[NAME]}. The port comes later (wait_port).
declare -A pid
start() {
	_name=$1; shift
	"$PY" "$SMTPD" --port-file "$_name.port" --maildir "$_name" \
	    --log "$_name.log" --stats "$_name.stats" "$@" 2>"$_name.err" &
	pids="$pids $!"
	pid[$_name]=$!
}

# wait_port NAME: the server bound its port and wrote it down.
wait_port() {
	for _ in $(seq 100); do
		[ -s "$1.port" ] && return 0
		sleep 0.05
	done
	return 1
}

tls="--cert cert.pem --key key.pem"
start plain --rcpt-rule '^bounce@=550 5.1.1 No such user' \
    --rcpt-rule '^later@=452 4.2.2 Mailbox full' \
    --data-rule '^spam@=554 5.7.1 Looks like spam'
# shellcheck disable=SC2086 # $tls is two options
start tls $tls --user u --password s3cret-pw --require-auth
# shellcheck disable=SC2086
start implicit $tls --implicit-tls
start refuse --greeting '554 5.7.1 go away'
start busy --greeting '421 4.3.2 busy'
start limits --max-messages-per-session 1 --max-connections 1 \
    --huge-reply 300 --drop-after-dot 2
# shellcheck disable=SC2086
start inject $tls --starttls-inject '250 fake' --continuation-code-change
# shellcheck disable=SC2086
start broken $tls --tls-break --tarpit-ms 100
start old --no-esmtp --drop-mid-data 1
start grey --greylist --throttle-first 1
start rate --rate-limit 3/3

servers="plain tls implicit refuse busy limits inject broken old grey rate"
args=""
for m in $servers; do
	check "the $m server wrote its port" wait_port "$m"
	args="$args $m=$(cat "$m.port" 2>/dev/null)"
done

# shellcheck disable=SC2086 # one NAME=PORT word per server
timeout 60 "$PY" - $args >py.out 2>&1 <<'EOF'
import json, os, smtplib, socket, ssl, sys, time

port = dict(a.split("=") for a in sys.argv[1:])
ctx = ssl.create_default_context(cafile="cert.pem")

def t(cond, desc, got=None):
    print(("ok " if cond else "not ok ") + desc)
    if not cond and got is not None:
        print("#   got %r" % (got,))

def smtp(name):
    return smtplib.SMTP("127.0.0.1", int(port[name]), timeout=5)

def saved(name):
    return sorted(f for f in os.listdir(name) if f.endswith(".eml"))

def env(name, n):
    with open("%s/%06d.json" % (name, n)) as fp:
        return json.load(fp)

def eml(name, n):
    with open("%s/%06d.eml" % (name, n), "rb") as fp:
        return fp.read()

def fails(f, *a, **kw):
    """The exception f raised (an SMTP error or a lost connection)."""
    try:
        f(*a, **kw)
    except (smtplib.SMTPException, OSError) as e:
        return e
    return None

class Raw:
    """A client that writes exactly the bytes it is given."""
    def __init__(self, name):
        self.sock = socket.create_connection(("127.0.0.1", int(port[name])), 5)
        self.fp = self.sock.makefile("rb")

    def send(self, data):
        self.sock.sendall(data)

    def reply(self):
        """One reply's lines; [] at end of file."""
        lines = []
        while True:
            ln = self.fp.readline()
            if not ln:
                return lines
            lines.append(ln.decode().rstrip("\r\n"))
            if ln[3:4] != b"-":
                return lines

    def codes(self, n):
        return [int((self.reply() or ["0"])[-1][:3]) for _ in range(n)]

    def tls(self):
        self.sock = ctx.wrap_socket(self.sock, server_hostname="127.0.0.1")
        self.fp = self.sock.makefile("rb")

# --- plain: capabilities, rules, sequence, dots, SMTPUTF8 -------------------
s = smtp("plain")
s.ehlo()
f = s.esmtp_features
t(f.get("size") == "10485760" and all(k in f for k in (
    "pipelining", "8bitmime", "enhancedstatuscodes", "smtputf8")),
  "plain: EHLO offers PIPELINING, SIZE 10485760, 8BITMIME, "
  "ENHANCEDSTATUSCODES, SMTPUTF8", f)
t("starttls" not in f and "auth" not in f,
  "plain: no STARTTLS or AUTH without a certificate or a user", f)
msg = (b"From: a@example.test\r\nSubject: dots\r\n\r\n.leading\r\n"
       b"..two\r\n.\r\nend\r\n")
refused = s.sendmail("a@example.test", ["ok@example.test",
                     "bounce@example.test", "later@example.test"], msg)
t(refused == {"bounce@example.test": (550, b"5.1.1 No such user"),
              "later@example.test": (452, b"4.2.2 Mailbox full")},
  "plain: rcpt rules give 550 5.1.1 and 452 4.2.2", refused)
t(eml("plain", 1) == msg, "plain: the message saved byte for byte, "
  "dots unstuffed", eml("plain", 1))
e = env("plain", 1)
want = {"mail_from": "a@example.test", "rcpt_to": ["ok@example.test"],
        "helo": s.local_hostname, "tls": False, "tls_version": None,
        "auth_user": None, "size_param": len(msg), "body_param": None,
        "smtputf8": False, "session": 1, "seq_in_session": 1}
t(all(e.get(k) == v for k, v in want.items()),
  "plain: the envelope JSON, refused recipients left out", e)
err = fails(s.sendmail, "a@example.test", ["spam@example.test"], b"x\r\n")
t(isinstance(err, smtplib.SMTPDataError) and err.smtp_code == 554,
  "plain: the data rule answers 554 at the end of DATA", err)
s.sendmail("a@example.test", ["ok2@example.test"],
           b"Subject: 8bit\r\n\r\nd\xc3\xa9j\xc3\xa0\r\n", ["BODY=8BITMIME"])
e = env("plain", 2)
t(len(saved("plain")) == 2 and e["body_param"] == "8BITMIME"
  and e["seq_in_session"] == 3,
  "plain: the refused message not saved; the next one has BODY= and "
  "seq_in_session 3", (saved("plain"), e))
s.mail("a@example.test")
s.rcpt("bounce@example.test")
t(s.docmd("DATA")[0] == 554, "plain: DATA with every recipient refused: 554")
s.rset()
got = [s.docmd("RCPT TO:<x@example.test>")[0], s.docmd("DATA")[0]]
s.mail("a@example.test")
got += [s.docmd("DATA")[0], s.rset()[0], s.verify("x")[0], s.noop()[0],
        s.docmd("FROB")[0], s.mail("a@example.test", ["SIZE=99999999"])[0]]
t(got == [503, 503, 503, 250, 252, 250, 500, 552],
  "plain: out of order 503, RSET 250, VRFY 252, NOOP 250, unknown 500, "
  "SIZE over the limit 552", got)
s.command_encoding = "utf-8"
s.mail("a@example.test")
code = s.rcpt("j\u00f6rg@example.test")[0]
s.rset()
s.mail("a@example.test", ["SMTPUTF8"])
code2 = s.rcpt("j\u00f6rg@example.test")[0]
s.data(b"Subject: utf8\r\n\r\nhi\r\n")
e = env("plain", 3)
t(code == 553 and code2 == 250 and e["rcpt_to"] == ["j\u00f6rg@example.test"]
  and e["smtputf8"] is True,
  "plain: a non-ASCII recipient is 553 without SMTPUTF8, taken with it",
  (code, code2, e))
s.quit()

# --- plain: pipelining, all in one write per group ----------------------------
r = Raw("plain")
r.reply()
r.send(b"EHLO pipe\r\nMAIL FROM:<p@example.test>\r\nRCPT TO:<one@example.test>"
       b"\r\nRCPT TO:<bounce@example.test>\r\nNOOP\nDATA\r\n")
got = r.codes(6)
r.send(b"pipelined\r\n.\r\nMAIL FROM:<p@example.test>\r\n"
       b"RCPT TO:<two@example.test>\r\nDATA\r\n")
got += r.codes(4)
r.send(b"..second\r\n.\r\nMAIL FROM:<p@example.test>\r\n"
       b"RCPT TO:<three@example.test>\r\nDATA\r\n")
got += r.codes(4)
r.send(b".\r\nQUIT\r\n")
got += r.codes(2)
t(got == [250, 250, 250, 550, 250, 354, 250, 250, 250, 354,
          250, 250, 250, 354, 250, 221],
  "plain: pipelined groups answered in order (bare LF taken)", got)
t(r.reply() == [], "plain: closed after QUIT")
t([eml("plain", n) for n in (4, 5, 6)] == [b"pipelined\r\n", b".second\r\n",
  b""] and env("plain", 5)["rcpt_to"] == ["two@example.test"],
  "plain: the pipelined messages saved, the empty one too")

# --- plain: clients that vanish do not hurt the next ----------------------
r = Raw("plain")
r.reply()
r.send(b"MAIL FROM:<half")
r.sock.close()
r = Raw("plain")
r.reply()
r.send(b"HELO x\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n"
       b"DATA\r\n")
r.codes(4)
r.send(b"partial\r\n")
r.sock.close()
s = smtp("plain")
s.sendmail("a@example.test", ["after@example.test"], b"after\r\n")
s.quit()
t(len(saved("plain")) == 7 and env("plain", 7)["session"] == 5,
  "plain: a session after two broken ones delivers", saved("plain"))

# --- tls: STARTTLS, AUTH ----------------------------------------------------
s = smtp("tls")
s.ehlo()
t("starttls" in s.esmtp_features and "auth" not in s.esmtp_features,
  "tls: STARTTLS offered, AUTH not before TLS", s.esmtp_features)
got = [s.docmd("AUTH", "PLAIN AHUAczNjcmV0LXB3")[0],
       s.mail("a@example.test")[0]]
t(got == [538, 530], "tls: AUTH in plaintext 538, MAIL before AUTH 530", got)
t(s.starttls(context=ctx)[0] == 220, "tls: STARTTLS 220 and a verified "
  "handshake")
s.ehlo()
t(s.esmtp_features.get("auth", "").split() == ["PLAIN", "LOGIN"]
  and "starttls" not in s.esmtp_features,
  "tls: after TLS AUTH PLAIN LOGIN offered, STARTTLS not", s.esmtp_features)
err = fails(s.login, "u", "wrong")
t(isinstance(err, smtplib.SMTPAuthenticationError) and err.smtp_code == 535,
  "tls: a wrong password 535", err)
t(s.login("u", "s3cret-pw")[0] == 235, "tls: AUTH PLAIN 235")
s.sendmail("a@example.test", ["b@example.test"], b"Subject: tls\r\n\r\nx\r\n")
e = env("tls", 1)
t(e["tls"] is True and e["tls_version"].startswith("TLSv1.")
  and e["auth_user"] == "u", "tls: saved with tls, its version and the user", e)
s.quit()
s = smtp("tls")
s.starttls(context=ctx)
s.ehlo()
s.user, s.password = "u", "s3cret-pw"
got = [s.auth("LOGIN", s.auth_login, initial_response_ok=False)[0],
       s.docmd("AUTH", "PLAIN AHUAczNjcmV0LXB3")[0]]
t(got == [235, 503], "tls: AUTH LOGIN 235, a second AUTH 503", got)
s.quit()

# --- implicit TLS ------------------------------------------------------------
s = smtplib.SMTP_SSL("127.0.0.1", int(port["implicit"]), timeout=5,
                     context=ctx)
s.ehlo()
t("starttls" not in s.esmtp_features, "implicit: no STARTTLS inside TLS")
s.sendmail("a@example.test", ["b@example.test"], b"x\r\n")
s.quit()
t(env("implicit", 1)["tls"] is True, "implicit: saved with tls")

# --- greetings -----------------------------------------------------------------
r = Raw("refuse")
got = [r.reply()]
r.send(b"EHLO x\r\nMAIL FROM:<a@example.test>\r\nQUIT\r\n")
got += [r.codes(3), r.reply()]
t(got == [["554 5.7.1 go away"], [503, 503, 221], []],
  "refuse: 554 greeting, then 503 to all but QUIT", got)
r = Raw("busy")
got = [r.reply(), r.reply()]
t(got == [["421 4.3.2 busy"], []], "busy: 421 greeting, then closed", got)

# --- limits ----------------------------------------------------------------
s = smtp("limits")
s.ehlo()
s.mail("a@example.test")
code, text = s.rcpt("r1@example.test")
t(code == 250 and text.count(b"\n") == 299,
  "limits: a 300-line 250 reply to the first RCPT", (code, text[:60]))
s.data(b"one\r\n")
r = Raw("limits")
t(r.reply() == ["421 4.7.0 mx.test Too many connections"] and r.reply() == [],
  "limits: a second connection at once gets 421 and is closed")
got = s.mail("a@example.test")
t(got[0] == 421 and isinstance(fails(s.noop), smtplib.SMTPServerDisconnected),
  "limits: the second MAIL in a session gets 421 and is closed", got)
s = smtp("limits")
err = fails(s.sendmail, "a@example.test", ["b@example.test"], b"two\r\n")
t(isinstance(err, (smtplib.SMTPServerDisconnected, OSError)),
  "limits: message 2 closed after its dot without a reply", err)
s = smtp("limits")
s.sendmail("a@example.test", ["b@example.test"], b"three\r\n")
s.quit()
t(saved("limits") == ["000001.eml", "000002.eml"]
  and eml("limits", 2) == b"three\r\n",
  "limits: the dropped message not saved", saved("limits"))

# --- inject: broken replies, plaintext after STARTTLS's 220 ---------------
r = Raw("inject")
r.reply()
r.send(b"EHLO x\r\n")
got = r.reply()
t(got[0].startswith("250-") and got[-1].startswith("251 ")
  and all(ln.startswith("251") for ln in got[1:]),
  "inject: EHLO continuation lines change code", got)
r.send(b"STARTTLS\r\n")
got = [r.reply(), r.reply()]
r.tls()
r.send(b"EHLO x\r\n")
got.append(r.reply()[-1][:4])
t(got == [["220 2.0.0 Ready to start TLS"], ["250 fake"], "251 "],
  "inject: '250 fake' in plaintext after 220, then a TLS session", got)

# --- broken: tarpit, garbage for a handshake ----------------------------------
t0 = time.monotonic()
r = Raw("broken")
r.reply()
r.send(b"EHLO x\r\nNOOP\r\n")
got = r.codes(2)
took = time.monotonic() - t0
t(got == [250, 250] and took >= 0.3, "broken: 100 ms before each reply",
  (got, took))
r.send(b"STARTTLS\r\n")
r.codes(1)
err = fails(r.tls)
t(isinstance(err, (ssl.SSLError, ConnectionError)),
  "broken: garbage instead of a TLS handshake", err)

# --- old: HELO only, dropped mid-DATA ------------------------------------------
s = smtp("old")
got = [s.ehlo()[0], s.helo()[0]]
err = fails(s.sendmail, "a@example.test", ["b@example.test"],
            b"Subject: x\r\n\r\n" + b"y" * 100000 + b"\r\n")
t(got == [502, 250] and err is not None,
  "old: EHLO 502, HELO 250, the connection dropped mid-DATA", (got, err))
s = smtp("old")
s.sendmail("a@example.test", ["b@example.test"], b"x\r\n")
s.quit()
e = env("old", 1)
t(saved("old") == ["000001.eml"] and e["size_param"] is None
  and e["helo"] == s.local_hostname,
  "old: the next message saved, after HELO, without parameters", e)

# --- grey: greylisting, the first MAIL throttled, time stamps -----------------
r = Raw("grey")
r.reply()
r.send(b"EHLO x\r\nMAIL FROM:<a@example.test>\r\n")
got = [r.codes(1), r.reply(), r.reply()]
t(got[0] == [250] and got[1][0].startswith("421 4.7.0 ") and got[2] == [],
  "grey: the first MAIL overall gets 421 4.7.0 and the session ends", got)
t0 = time.time()
s = smtp("grey")
s.ehlo()
s.mail("a@example.test")
got = [s.rcpt("g1@example.test"), s.rcpt("G1@Example.test"),
       s.rcpt("g2@example.test")]
t([c for c, _ in got] == [451, 250, 451] and
  got[0][1].startswith(b"4.7.1 ") and b"Greylisted" in got[0][1],
  "grey: the first RCPT of an address 451 4.7.1, again (any case) 250", got)
s.data(b"Subject: grey\r\n\r\nx\r\n")
s.quit()
s = smtp("grey")
refused = s.sendmail("a@example.test", ["g2@example.test", "g3@example.test"],
                     b"x\r\n")
s.quit()
t(list(refused) == ["g3@example.test"],
  "grey: remembered across sessions (g2 passes, g3 is new)", refused)
e1, e2 = env("grey", 1), env("grey", 2)
t1 = time.time()
t(e1["rcpt_to"] == ["G1@Example.test"] and e2["rcpt_to"] == ["g2@example.test"],
  "grey: saved with the recipients that passed", (e1, e2))
t(all(isinstance(e["mail_at"], float) and isinstance(e["received_at"], float)
      and t0 <= e["mail_at"] <= e["received_at"] <= t1 for e in (e1, e2))
  and e1["received_at"] <= e2["mail_at"],
  "grey: mail_at <= received_at, Unix time, in order", (e1, e2, t0, t1))

# --- rate: 3 MAIL in any 3 s, across sessions --------------------------------
a, b = smtp("rate"), smtp("rate")
t0 = time.monotonic()
got = [a.sendmail("x@example.test", ["r1@example.test"], b"x\r\n"),
       b.sendmail("x@example.test", ["r2@example.test"], b"x\r\n"),
       a.sendmail("x@example.test", ["r3@example.test"], b"x\r\n")]
e = fails(b.sendmail, "x@example.test", ["r4@example.test"], b"x\r\n")
t(got == [{}, {}, {}] and isinstance(e, smtplib.SMTPSenderRefused) and
  e.smtp_code == 450 and e.smtp_error.startswith(b"4.7.0 ") and
  b"rate limit" in e.smtp_error,
  "rate: three MAILs pass, the fourth within 3 s gets 450 4.7.0", (got, e))
b.rset()
time.sleep(max(0, t0 + 3.1 - time.monotonic()))
t(b.sendmail("x@example.test", ["r5@example.test"], b"x\r\n") == {},
  "rate: the same session sends again once the window has passed")
a.quit()
b.quit()
t(len(saved("rate")) == 4, "rate: four messages saved", saved("rate"))
EOF
relay_tap py.out $?

# SIGTERM ends each server with 0 and its stats.
for m in $servers; do
	kill -TERM "${pid[$m]}" 2>/dev/null
	wait "${pid[$m]}"
	eq "$m: exits 0 on SIGTERM" "$?" 0
done
pids=""
check "plain: stats" has plain.stats \
    '{"sessions": 5, "messages": 7, "rcpt_rejected": 5, "max_concurrent": '
check "plain: stats count the data rule's refusal" has plain.stats \
    '"data_rejected": 1}'
check "limits: stats count the refused connection" has limits.stats \
    '"sessions": 4, "messages": 2, "rcpt_rejected": 0, "max_concurrent": 2'
check "plain: the transcript has commands and replies" \
    has plain.log '1 S: 550 5.1.1 No such user'
check "grey: stats count the greylisted RCPTs" has grey.stats \
    '"messages": 2, "rcpt_rejected": 3,'
check "grey: the transcript notes the throttled MAIL" has grey.log \
    '1 --: MAIL 1 of the first 1 refused (--throttle-first)'
check "rate: the transcript notes the refused MAIL" has rate.log \
    '--: MAIL over 3 in 3 s refused (--rate-limit)'
check "tls: the transcript hides AUTH payloads" has tls.log 'C: AUTH PLAIN ***'
check "tls: ... and AUTH LOGIN's answers" has tls.log '2 C: ***'
check "tls: the password is nowhere in the transcript" \
    eval '! grep -Eq "s3cret|AHUAczNjcmV0LXB3|czNjcmV0LXB3" tls.log'
for m in $servers; do
	check "$m: nothing on stderr" eval "! [ -s $m.err ]"
	[ -s "$m.err" ] && sed 's/^/#   /' "$m.err" | head -5
done

done_testing
