#!/bin/bash
# secrets.sh - no secret leaves its file (issue 9): a realistic run with
# every kind of secret set to a marker, and every byte Postbote printed,
# logged, reported or sent scanned for them.
#
#   secrets   the relay password (a password file; AUTH PLAIN over
#             plaintext to tests/tools/smtpd.py), two DKIM keys from
#             `dkim keygen` (their PEM base64 lines, less any the public
#             key shares), a webhook secret file, and the tracking secret
#             `init` put in the database
#   the run   init, keygen, import, template add/preview/check, campaign
#             create/show, send --dry-run, send (log to a file and to
#             stderr), status while it runs, webhooks flush/ls, track serve
#             --log with an open, a click and both unsubscribes, report in
#             every format and --compare, hygiene in every format, list
#             show; and the failures: a relay refusing AUTH (535), a DKIM
#             key that is not one, a config with a "password" key
#   scanned   everything above (stdout, stderr, --log, --output files),
#             the SMTP transcripts and messages the servers saved (their
#             transcript shows AUTH payloads as ***), the webhook requests,
#             the store's dump (the tracking secret only in settings), and
#             /proc/PID/cmdline and environ sampled while send and track
#             serve run; markers in base64 too (AUTH PLAIN and LOGIN)
#   modes     the database, its -wal and -shm, keygen's keys: 0600 under
#             umask 022; each secret file (password, webhook secret, DKIM
#             key, database) refused at 0640 and 0604: exit 78, the file
#             named, the secret not shown
# Runs alone too: bash tests/integration/secrets.sh (POSTBOTE names the
# binary; build/postbote by default).
: "${TESTS:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${POSTBOTE:=${PB:-$TESTS/../build/postbote}}"
export TESTS POSTBOTE
. "$TESTS/lib.sh"

PY=/usr/bin/python3
SMTPD="$TESTS/tools/smtpd.py"
RECV="$TESTS/tools/webhook_receiver.py"
need sqlite3 curl
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
. "$TESTS/smtpd_lib.sh"
# The modes below are what Postbote makes, not what a strict umask gives.
umask 022

# The markers: random-looking, so a window of one cannot occur by chance.
# Not exported: the environment of every process is scanned too.
PW=pw9Xq7Lk2Vt8Rz4Nc6HbQe
WHS=wh3Jd8Fs5Kp2Mx7Qv4TnLy
BADKEY=dk5Gt2Wn8Pc4Hv7Jx3ZmRs
mkdir cap		# every command's stdout and stderr: cap/NAME.out, .err

# run NAME CMD...: CMD with its output in cap/NAME.out and cap/NAME.err,
# its exit in $rc and, after NAME, in runs.
run() {
	_rn=$1; shift
	"$@" >"cap/$_rn.out" 2>"cap/$_rn.err"
	rc=$?
	echo "$_rn $rc" >>runs
}
mode() { stat -c %a "$1" 2>/dev/null; }

# sample NAME PID: /proc/PID/cmdline and environ, every 20 ms while PID
# lives, appended to cap/NAME.cmdline and cap/NAME.environ (NUL-separated
# like /proc, so the scan sees what another user's ps would).
sample() {
	while kill -0 "$2" 2>/dev/null; do
		cat "/proc/$2/cmdline" >>"cap/$1.cmdline" 2>/dev/null
		cat "/proc/$2/environ" >>"cap/$1.environ" 2>/dev/null
		echo >>"cap/$1.samples"
		sleep 0.02
	done
}
cmdline() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null; }

# ------------------------------------------------------------ the secrets
run init "$PB" init
eq "init: exit 0" "$rc" 0
eq "init: the database is made 0600 under umask 022" "$(mode "$POSTBOTE_DB")" 600
TS=$(sql "SELECT value FROM settings WHERE key = 'tracking_secret'")
eq "init: a 64-hex-digit tracking secret in the database" \
    "$(printf '%s' "$TS" | grep -cE '^[0-9a-f]{64}$')" 1

run keygen_rsa "$PB" dkim keygen --domain example.com --selector rsa1 \
    --output rsa.pem
eq "dkim keygen rsa: exit 0, the key 0600" "$rc $(mode rsa.pem)" "0 600"
run keygen_ed "$PB" dkim keygen --domain example.com --selector ed1 \
    --algorithm ed25519 --output ed.pem
eq "dkim keygen ed25519: exit 0, the key 0600" "$rc $(mode ed.pem)" "0 600"

umask 077
printf '%s\n' "$PW" >pw
printf '%s\n' "$WHS" >wh.secret
umask 022

# --------------------------------------------------------------- servers
start relay --user u --password "$PW" --auth-plaintext --require-auth \
    --tarpit-ms 100
start badrelay --user u --password not-the-password --auth-plaintext \
    --require-auth
"$PY" "$RECV" --port-file hook.port --requests hook.jsonl 2>hook.err &
pids="$pids $!"
for _ in $(seq 200); do [ -s hook.port ] && break; sleep 0.05; done
touch hook.jsonl

# cfg FILE RELAY_PORT BASE_URL [EXTRA]: relay mode with AUTH from the
# password file, both DKIM keys, a webhook for every event.
cfg() {
	cat >"$1" <<EOF
{"hostname": "mail.example.com",
 "tracking": {"base_url": "$3", "machine_seconds": 0, "threads": 2},
 "delivery": {"mode": "relay",
  "timeouts": {"connect": 10, "greeting": 10, "mail": 10, "rcpt": 10,
   "data_init": 10, "data_block": 10, "data_end": 10, "idle": 2},
  "relay": {"host": "127.0.0.1", "port": $2, "tls": "none",
   "auth_plaintext": true, "username": "u", "password_file": "$T/${PWFILE:-pw}"}},
 "dkim": [
  {"domain": "example.com", "selector": "rsa1", "algorithm": "rsa-sha256",
   "key_file": "$T/${RSAFILE:-rsa.pem}"},
  {"domain": "example.com", "selector": "ed1", "algorithm": "ed25519-sha256",
   "key_file": "$T/ed.pem"}],
 "webhooks": [{"name": "crm", "url": "http://127.0.0.1:$(cat hook.port)/hook",
  "events": ["*"], "secret_file": "$T/${WHFILE:-wh.secret}"}]
 ${4:-}}
EOF
}

echo '{"tracking": {"base_url": "http://127.0.0.1:1", "threads": 2}}' >trk.json
"$PB" --config trk.json track serve --listen 127.0.0.1:0 --log \
    >cap/track.out 2>cap/track.err &
TPID=$!
pids="$pids $TPID"
for _ in $(seq 100); do
	grep -q "^listening on " cap/track.err 2>/dev/null && break
	sleep 0.05
done
H=http://$(sed -n 's/^listening on //p' cap/track.err)
check "track serve: listening ($H)" test "$H" != http://
sample track "$TPID" &
TSAMPLER=$!
cfg run.json "${port[relay]}" "$H"

# ------------------------------------------------------------------ a run
printf 'email,name,plan\n' >list.csv
for n in ann bob cid dan eve fay; do printf '%s@one.test,%s,pro\n' $n $n; done >>list.csv
printf 'ops@two.test,Ops,team\n' >>list.csv
run import "$PB" list import l list.csv
cat >t.html <<'EOF'
<p>Hello {{ name }}</p>
<p><a href="https://shop.example.com/offer">Offer</a></p>
EOF
printf 'Hello {{ name }}\n' >t.txt
run tadd "$PB" template add t --subject 'Hi {{ name }}' --html t.html --text t.txt
run campaign "$PB" --config run.json campaign create c1 --list l --template t \
    --from 'Acme <news@example.com>'
eq "import, template add, campaign create: exit 0" "$rc" 0
run preview "$PB" --config run.json template preview t --campaign c1 \
    --email ann@one.test --html preview.html
run tcheck "$PB" template check t --list l
run dryrun "$PB" --config run.json send c1 --dry-run

"$PB" --config run.json send c1 --log send.log >cap/send.out 2>cap/send.err &
SPID=$!
sample send "$SPID" &
SSAMPLER=$!
for _ in $(seq 100); do [ -s cap/send.samples ] && break; sleep 0.02; done
want="$PB --config run.json send c1 --log send.log "
eq "send: its command line, read while it runs, is what we gave" \
    "$(cmdline "$SPID")" "$want"
run status_live "$PB" status c1
wait "$SPID"
rc=$?
wait "$SSAMPLER"
eq "send: exit 0" "$rc" 0
eq "send: everything delivered through the relay, authenticated as u" \
    "$(sed 's/ seconds=.*//' cap/send.out) $(grep -h -o '"auth_user": "[^"]*"' relay/*.json | sort -u)" \
    "delivered=7 deferred=0 bounced=0 failed=0 suppressed=0 unsent=0 left=0 status=done \"auth_user\": \"u\""
check "send: /proc sampled while it ran" test -s cap/send.cmdline
eq "send: every message signed twice" \
    "$(saved relay) $(grep -c '^DKIM-Signature:' relay/*.eml | cut -d: -f2 | sort -u)" "7 2"

# The same run's log on stderr: another campaign, --log -.
printf 'email,name\nzed@one.test,Zed\n' >l2.csv
run import2 "$PB" list import l2 l2.csv
run campaign2 "$PB" --config run.json campaign create c2 --list l2 \
    --template t --from 'Acme <news@example.com>'
run send_stderr "$PB" --config run.json send c2 --log -
eq "send --log -: exit 0" "$rc" 0

# Feedback: an open, a click, the unsubscribe page and the one-click POST.
"$PY" - relay >urls.tsv <<'EOF'
import email, email.policy, os, re, sys
d = sys.argv[1]
for n in sorted(os.listdir(d)):
    if not n.endswith(".eml"):
        continue
    m = email.message_from_bytes(open(os.path.join(d, n), "rb").read(),
                                 policy=email.policy.default)
    html = m.get_body(("html",)).get_content()
    pixel = re.search(r'<img src="([^"]*/o/[^"]*)"', html).group(1)
    link = re.search(r'<a href="([^"]*/c/[^"]*)"', html).group(1)
    lu = re.search(r"<(http[^>]*)>", str(m["List-Unsubscribe"])).group(1)
    print("\t".join([m["To"].addresses[0].addr_spec, pixel, link, lu]))
EOF
url() { awk -F'\t' -v a="$1" -v f="$2" '$1 == a { print $f }' urls.tsv; }
UA='Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.0'
{
	curl -s -A "$UA" -o /dev/null -w '%{http_code} ' "$(url ann@one.test 2)"
	curl -s -A "$UA" -o /dev/null -w '%{http_code} ' "$(url bob@one.test 3)"
	curl -s -A "$UA" -o cap/unsub_page.html -w '%{http_code} ' "$(url cid@one.test 4)"
	curl -s -A "$UA" -o cap/unsub_post.out -w '%{http_code}' \
	    -d 'List-Unsubscribe=One-Click' "$(url dan@one.test 4)"
} >codes
eq "track: open 200, click 302, unsubscribe page 200, one-click 200" \
    "$(cat codes)" "200 302 200 200"
eq "track: recorded" "$(sql "SELECT group_concat(type, ' ') FROM (SELECT type
    FROM events WHERE type IN ('opened', 'clicked', 'unsubscribed') ORDER BY id)")" \
    "opened clicked unsubscribed"
check "track: /proc sampled while it ran" test -s cap/track.cmdline
eq "track: its command line is what we gave" "$(cmdline "$TPID")" \
    "$PB --config trk.json track serve --listen 127.0.0.1:0 --log "
eq "track: the -wal and -shm it keeps open are 0600 too" \
    "$(mode "$POSTBOTE_DB-wal") $(mode "$POSTBOTE_DB-shm")" "600 600"

run flush "$PB" --config run.json webhooks flush
run wh_ls "$PB" --config run.json webhooks ls
run wh_ls_json "$PB" --config run.json webhooks ls --json
check "webhooks: the receiver got calls" test -s hook.jsonl
run status "$PB" status c1
run status_json "$PB" status c1 --json
run show "$PB" campaign show c1 --json
run list_show "$PB" list show l
for f in text json csv; do run "report_$f" "$PB" report c1 --format $f; done
run report_html "$PB" report c1 --format html --output cap/report.html
run compare "$PB" report --compare c1 c2
for f in text json csv; do run "hygiene_$f" "$PB" hygiene --no-dns --format $f; done
run hygiene_html "$PB" hygiene --no-dns --format html --output cap/hygiene.html
eq "reports and hygiene: every one exit 0" \
    "$(cat cap/report_html.err cap/hygiene_html.err; ls cap/report.html cap/hygiene.html | wc -l)" 2

eq "the run: every command exited 0" "$(grep -v ' 0$' runs)" ""
kill -TERM "$TPID" 2>/dev/null
wait "$TPID" 2>/dev/null
wait "$TSAMPLER"

# --------------------------------------------------------------- failures
# A relay that refuses the password: 535, deferred; its reply is recorded
# and logged, and nothing of what was sent.
cfg bad.json "${port[badrelay]}" "$H"
printf 'email,name\nzoe@one.test,Zoe\n' >l3.csv
run import3 "$PB" list import l3 l3.csv
run campaign3 "$PB" --config bad.json campaign create c3 --list l3 \
    --template t --from 'Acme <news@example.com>'
run send_badauth "$PB" --config bad.json send c3 --log -
eq "a relay refusing AUTH: exit 0, deferred" \
    "$rc $(sed -n 's/^\(delivered=.*\) seconds=.*/\1/p' cap/send_badauth.out)" \
    "0 delivered=0 deferred=1 bounced=0 failed=0 suppressed=0 unsent=0 left=1 status=running"
check "... the 535 is in the log line" has cap/send_badauth.out \
    " dsn=5.7.8 status=deferred (535 "
check "... the server saw AUTH and refused it" has badrelay.log "535"
run status_badauth "$PB" status c3
run report_badauth "$PB" report c3 --format json

# A DKIM key that is no key: the marker as its base64.
umask 077
printf -- '-----BEGIN PRIVATE KEY-----\n%s%s\n%s\n-----END PRIVATE KEY-----\n' \
    "$BADKEY" "$BADKEY" "$BADKEY" >bad.pem
umask 022
RSAFILE=bad.pem cfg badkey.json "${port[relay]}" "$H"
n0=$(saved relay)
run send_badkey "$PB" --config badkey.json send c3
check "a DKIM key that is not one: refused (exit $rc)" test "$rc" -ne 0
check "... naming the file" has cap/send_badkey.err bad.pem
eq "... nothing sent" "$(saved relay)" "$n0"

# The password in the config, where it is refused.
cfg inline.json "${port[relay]}" "$H"
sed -i "s/\"username\": \"u\"/\"username\": \"u\", \"password\": \"$PW\"/" inline.json
run send_inline "$PB" --config inline.json send c3
eq "a \"password\" key in the config: exit 78" "$rc" 78
check "... naming the key" has cap/send_inline.err '"delivery.relay.password"'

# ------------------------------------------------------------------ modes
# refused KEY DESC FILE CMD...: with FILE at 0640 and then 0604, CMD exits
# 78 naming FILE and saying chmod 600 (output in cap/mode_KEY_MODE.*);
# FILE goes back to 0600.
refused() {
	_k=$1; _d=$2; _f=$3; shift 3
	for _m in 640 604; do
		chmod "$_m" "$_f"
		run "mode_${_k}_$_m" "$@"
		eq "$_d at 0$_m: exit 78" "$rc" 78
		check "... the message names $(basename "$_f") and says chmod 600" \
		    eval "grep -qF -- '$_f' cap/mode_${_k}_$_m.err &&
		    grep -qF 'chmod 600' cap/mode_${_k}_$_m.err"
		chmod 600 "$_f"
	done
}
s0=$(store_sum)
refused pw "the password file" "$T/pw" "$PB" --config run.json send c3
refused dkim "the DKIM key" "$T/rsa.pem" "$PB" --config run.json send c3
refused wh "the webhook secret file" "$T/wh.secret" \
    "$PB" --config run.json webhooks flush
refused db "the database" "$POSTBOTE_DB" "$PB" list ls
refused dbinit "the database, to init" "$POSTBOTE_DB" "$PB" init
eq "... and none of them changed the store" "$(store_sum)" "$s0"

# No option of any command takes a secret's value: each is read from a
# file or the environment (README "Configuration").
for c in init send "track serve" "webhooks flush" "dkim keygen" \
    "list import" "campaign create" "report" "hygiene" "status"; do
	# shellcheck disable=SC2086 # $c is a command and its subcommand
	"$PB" $c --help 2>&1
done >cap/help.txt
check "no --help offers a password, secret, key or token option" eval \
    "! grep -qiE -- '--[a-z-]*(passw|secret|token|key)[a-z-]*' cap/help.txt"

# ------------------------------------------------------------------ scan
sqlite3 "$POSTBOTE_DB" .dump >cap/store.dump
cp send.log cap/send.log
cp preview.html cap/preview.html
cat relay.log badrelay.log >cap/smtp.transcript
cat relay/*.eml relay/*.json >cap/smtp.messages 2>/dev/null
cp hook.jsonl cap/webhook.requests
"$PY" - cap "$PW" "$WHS" "$TS" "$BADKEY" rsa.pem ed.pem \
    cap/keygen_rsa.out cap/keygen_ed.out >scan.out 2>&1 <<'EOF'
import base64, os, re, sys
d, pw, whs, ts, badkey = sys.argv[1:6]
pems, records = sys.argv[6:8], sys.argv[8:10]
out = []
def ok(c, desc, more=""):
    out.append(("ok " if c else "not ok ") + desc)
    if not c and more:
        out.append("#   " + more)

# The public key's base64, whole: a PEM line inside it is no secret.
public = "".join("".join(re.findall(r'"([^"]*)"', open(p).read()))
                 for p in records)
public = "".join(re.findall(r"p=([A-Za-z0-9+/=]+)", public))
dkim = []
for p in pems:
    body = [l.strip() for l in open(p) if l.strip() and not l.startswith("-----")]
    dkim += [l for l in body if len(l) >= 24 and l not in public]

def windows(s, w=12):
    return {s[i:i + w] for i in range(0, len(s) - w + 1)}

def b64(b):
    return base64.b64encode(b).decode()

markers = {
    "the relay password": [pw, b64(b"\0u\0" + pw.encode()), b64(pw.encode())]
        + sorted(windows(pw)),
    "the webhook secret": [whs] + sorted(windows(whs)),
    "the tracking secret": [ts, ts.upper()] + sorted(windows(ts, 16)),
    "the DKIM keys' PEM lines": dkim,
    "the bad DKIM key's body": [badkey] + sorted(windows(badkey)),
}
ok(len(dkim) >= 20, "scan: %d PEM lines of the two keys to look for" % len(dkim))
files = sorted(os.path.join(d, n) for n in os.listdir(d))
data = {f: open(f, "rb").read().replace(b"\0", b"\n").decode("utf-8", "replace")
        for f in files}
ok(len(files) >= 60, "scan: %d captured outputs, logs, transcripts and "
   "/proc samples" % len(files))
for what, ms in markers.items():
    hits = []
    for f in files:
        text = data[f]
        if what == "the tracking secret" and f.endswith("store.dump"):
            # The one place it belongs: the settings row.
            text = "\n".join(l for l in text.splitlines()
                             if not l.startswith("INSERT INTO settings"))
        for m in ms:
            if m in text:
                hits.append("%s (%r)" % (os.path.basename(f), m[:16]))
                break
    ok(not hits, "no output holds %s" % what, ", ".join(hits[:6]))
# The scan can see them: each marker is in its own file.
own = {"the relay password": "pw", "the webhook secret": "wh.secret",
       "the DKIM keys' PEM lines": "rsa.pem", "the bad DKIM key's body": "bad.pem"}
for what, f in own.items():
    ok(any(m in open(f).read() for m in markers[what]),
       "scan control: %s found in %s" % (what, f))
ok(sum(ts in l for l in data[os.path.join(d, "store.dump")].splitlines()) == 1,
   "scan control: the tracking secret is in the store, in one row")
print("\n".join(out))
EOF
relay_tap scan.out $?

done_testing
