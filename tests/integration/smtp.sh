#!/bin/bash
# smtp.sh - engine/smtp.c and engine/tls.c against a real SMTP server:
# build/tools/smtp_send drives the state machine over a non-blocking socket
# to Debian's aiosmtpd (python3-aiosmtpd) on 127.0.0.1 at a port the
# kernel picks. Each server saves every message (exact bytes, dot-stuffing
# undone) and its envelope to its own directory. Servers:
#   plain     no STARTTLS, no AUTH
#   starttls  STARTTLS with a self-signed certificate for IP:127.0.0.1
#   implicit  TLS from the first byte (port 465 style)
#   auth      STARTTLS, AUTH required and only over TLS (user/secret)
#   reject    550 5.1.1 for nouser@, 452 4.2.2 for full@, else 250
. "$TESTS/lib.sh"

TOOLS="$(dirname "$PB")/tools"
S="$TOOLS/smtp_send"
PY=/usr/bin/python3
if [ ! -x "$S" ] || ! "$PY" -c 'import aiosmtpd' 2>/dev/null ||
    ! command -v openssl >/dev/null; then
	notok "smtp_send is built, python3-aiosmtpd and openssl installed"
	done_testing
	exit 1
fi

openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem \
    -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    2>/dev/null || { notok "openssl made a test certificate"; done_testing; exit 1; }

cat >server.py <<'EOF'
import asyncio, json, os, ssl, sys
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

mode, outdir, portfile, cert, key = sys.argv[1:6]
os.makedirs(outdir, exist_ok=True)
count = 0

class Handler:
    async def handle_RCPT(self, server, session, envelope, address, options):
        if mode == "reject":
            if address.startswith("nouser@"):
                return "550 5.1.1 no such user"
            if address.startswith("full@"):
                return "452 4.2.2 mailbox full"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        global count
        count += 1
        base = os.path.join(outdir, "msg%d" % count)
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content)
        with open(base + ".json", "w") as f:
            json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                       "tls": session.ssl is not None,
                       "auth": bool(session.authenticated)}, f)
        return "250 2.0.0 queued as %d" % count

def authenticator(server, session, envelope, mechanism, data):
    ok = (isinstance(data, LoginPassword) and data.login == b"user"
          and data.password == b"secret")
    # handled=False: aiosmtpd then answers 535 itself (True = already done)
    return AuthResult(success=ok, handled=False)

ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cert, key)
kw = {"hostname": "mx.test"}
if mode in ("starttls", "auth"):
    kw["tls_context"] = ctx
if mode == "auth":
    kw.update(authenticator=authenticator, auth_required=True,
              auth_require_tls=True)

async def main():
    loop = asyncio.get_running_loop()
    srv = await loop.create_server(lambda: SMTP(Handler(), **kw),
                                   host="127.0.0.1", port=0,
                                   ssl=ctx if mode == "implicit" else None)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.sockets[0].getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    await srv.serve_forever()

asyncio.run(main())
EOF

# start MODE: runs a server saving into ./MODE, its port in $port_MODE.
start() {
	"$PY" server.py "$1" "$T/$1" "$T/$1.port" cert.pem key.pem \
	    2>"$T/$1.log" &
	pids="$pids $!"
	for _ in $(seq 100); do
		if [ -s "$T/$1.port" ] && "$PY" -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
		    "$(cat "$T/$1.port")" 2>/dev/null; then
			eval "port_$1=$(cat "$T/$1.port")"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

for m in plain starttls implicit auth reject; do
	check "the $m server accepts connections" start "$m"
done

# delivered MODE: how many messages MODE's server saved.
delivered() { find "$T/$1" -name '*.eml' 2>/dev/null | wc -l | tr -d ' '; }

# The message: CRLF lines, some starting with "." (a lone "." among them),
# which the client must dot-stuff and the server un-stuff.
printf '%s\r\n' \
    'From: Sender <sender@example.test>' \
    'To: Rcpt <rcpt@example.test>' \
    'Subject: Postbote SMTP integration' \
    'Message-ID: <smtp-sh-1@example.test>' \
    'Date: Mon, 02 Mar 2026 10:00:00 +0000' \
    'MIME-Version: 1.0' \
    'Content-Type: text/plain; charset=us-ascii' \
    '' \
    'Hello from the state machine.' \
    '.a line with a leading dot' \
    '..two dots' \
    '.' \
    'after the lone dot' \
    '...' \
    'end' >msg.eml

# timeout: a hang fails the test instead of stalling the suite.
send() { timeout 60 "$S" --host 127.0.0.1 --from sender@example.test "$@" <msg.eml; }

# --- plain delivery -------------------------------------------------------
expect 0 "plain: delivered" send --port "$port_plain" --to rcpt@example.test
check "plain: the message is ok with 250 2.0.0 and its text" \
    grep -q '^message ok 250 2.0.0 end of DATA: queued as 1$' out
check "plain: rcpt line ok" grep -q '^rcpt 0 rcpt@example.test ok 250 ' out
check "plain: tls=none" grep -qx 'tls=none' out
check "plain: the session closed ok after QUIT" grep -q '^closed ok ' out
eq "plain: one message saved" "$(delivered plain)" 1
check "plain: the saved message is byte for byte the input (dot-stuffing undone)" \
    cmp -s msg.eml plain/msg1.eml
"$PY" - plain/msg1.eml plain/msg1.json >py.out 2>&1 <<'EOF'
import email, email.policy, json, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"),
                                   policy=email.policy.default)
env = json.load(open(sys.argv[2]))
def t(c, d):
    print(("ok " if c else "not ok ") + d)
t(m["Subject"] == "Postbote SMTP integration", "plain: email parses the same Subject")
want = ("Hello from the state machine.\r\n.a line with a leading dot\r\n"
        "..two dots\r\n.\r\nafter the lone dot\r\n...\r\nend\r\n")
body = m.get_body().get_content()
t(body.replace("\r\n", "\n") == want.replace("\r\n", "\n"), "plain: email parses the same body")
t(env["from"] == "sender@example.test", "plain: envelope sender")
t(env["to"] == ["rcpt@example.test"], "plain: envelope recipient")
t(env["tls"] is False, "plain: not over TLS")
EOF
relay_tap py.out $?

# --- STARTTLS -------------------------------------------------------------
expect 0 "starttls: --tls require with the test CA delivers" \
    send --port "$port_starttls" --tls require --ca cert.pem --to rcpt@example.test
check "starttls: the ready line shows a verified TLS session" \
    grep -Eq '^ready tls=TLSv1\.[23]/[A-Za-z0-9_-]+/verified$' out
check "starttls: the message ok" grep -q '^message ok 250 2.0.0 ' out
eq "starttls: one message saved" "$(delivered starttls)" 1
check "starttls: saved over TLS" grep -q '"tls": true' starttls/msg1.json
check "starttls: the saved message equals the input" cmp -s msg.eml starttls/msg1.eml

expect 75 "starttls: --tls require without the CA (untrusted) is temporary" \
    send --port "$port_starttls" --tls require --to rcpt@example.test
check "starttls: untrusted: closed temp" grep -q '^closed temp ' out
check "starttls: untrusted: reason given" grep -qi 'untrusted certificate' out
eq "starttls: untrusted: nothing delivered" "$(delivered starttls)" 1

expect 0 "starttls: --tls may without the CA encrypts anyway" \
    send --port "$port_starttls" --tls may --to rcpt@example.test
check "starttls: may: unverified TLS" grep -Eq '^ready tls=TLSv1\.[23]/.*/unverified$' out
eq "starttls: may: delivered" "$(delivered starttls)" 2

expect 75 "plain: --tls require against a server without STARTTLS is temporary" \
    send --port "$port_plain" --tls require --ca cert.pem --to rcpt@example.test
check "plain: require: closed temp" grep -q '^closed temp ' out
check "plain: require: never ready" eval '! grep -q "^ready" out'
eq "plain: require: nothing delivered" "$(delivered plain)" 1

expect 0 "plain: --tls may against a server without STARTTLS goes on in plaintext" \
    send --port "$port_plain" --tls may --to rcpt@example.test
check "plain: may: tls=none" grep -qx 'ready tls=none' out
eq "plain: may: delivered" "$(delivered plain)" 2

# --- implicit TLS ---------------------------------------------------------
expect 0 "implicit: TLS from the first byte delivers" \
    send --port "$port_implicit" --implicit-tls --tls require --ca cert.pem \
    --to rcpt@example.test
check "implicit: verified" grep -Eq '^ready tls=TLSv1\.[23]/.*/verified$' out
eq "implicit: one message saved" "$(delivered implicit)" 1
check "implicit: the saved message equals the input" cmp -s msg.eml implicit/msg1.eml

# --- AUTH -----------------------------------------------------------------
export PB_SMTP_PASS=secret PB_SMTP_BAD=wrong
expect 0 "auth: AUTH over STARTTLS with the right password delivers" \
    send --port "$port_auth" --tls require --ca cert.pem --user user \
    --password-env PB_SMTP_PASS --to rcpt@example.test
eq "auth: one message saved" "$(delivered auth)" 1
check "auth: saved as authenticated over TLS" \
    grep -q '"tls": true, "auth": true' auth/msg1.json
check "auth: no credential in the output" eval '! grep -q secret out'

expect 75 "auth: a wrong password is a temporary failure" \
    send --port "$port_auth" --tls require --ca cert.pem --user user \
    --password-env PB_SMTP_BAD --to rcpt@example.test
check "auth: wrong password: closed temp 535 at AUTH" \
    grep -Eq '^closed temp 535 [0-9.-]+ AUTH' out
check "auth: wrong password: no credential in the output" \
    eval '! grep -q wrong out'
eq "auth: wrong password: nothing delivered" "$(delivered auth)" 1

# --- per-recipient outcomes -----------------------------------------------
expect 0 "reject: accepted for one of three recipients" \
    send --port "$port_reject" --to ok@example.test --to nouser@example.test \
    --to full@example.test
check "reject: ok@ is ok 250" grep -q '^rcpt 0 ok@example.test ok 250 ' out
check "reject: nouser@ is perm 550 5.1.1" \
    grep -q '^rcpt 1 nouser@example.test perm 550 5.1.1 RCPT TO: no such user$' out
check "reject: full@ is temp 452 4.2.2" \
    grep -q '^rcpt 2 full@example.test temp 452 4.2.2 RCPT TO: mailbox full$' out
check "reject: the message ok" grep -q '^message ok 250 2.0.0 ' out
eq "reject: one message saved" "$(delivered reject)" 1
check "reject: only ok@ in the envelope" \
    grep -q '"to": \["ok@example.test"\]' reject/msg1.json

expect 65 "reject: every recipient refused permanently is a permanent failure" \
    send --port "$port_reject" --to nouser@example.test
check "reject: perm: message perm" grep -q '^message perm ' out
expect 75 "reject: a temporary refusal only is a temporary failure" \
    send --port "$port_reject" --to full@example.test --to nouser@example.test
eq "reject: nothing more delivered" "$(delivered reject)" 1

done_testing
