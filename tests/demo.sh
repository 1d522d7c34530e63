#!/bin/sh
# make demo: a demo database from templates/, a campaign over it, and as far
# through delivery as Postbote goes today. Each step prints what it runs.
set -eu
PB=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
top=$(cd "$(dirname "$0")/.." && pwd)
dir="$top/build/demo"
rm -rf "$dir"
mkdir -p "$dir"
export POSTBOTE_DB="$dir/demo.db"
# Tracking on, as a real sender has it; step 14 runs the tracking server
# the links of the sent campaign lead to.
export POSTBOTE_CONFIG="$dir/postbote.json"
cat > "$POSTBOTE_CONFIG" <<'JSON'
{ "tracking": { "base_url": "https://t.demo.example" },
  "bounces": { "return_path_domain": "bounce.demo.example" } }
JSON

step() { printf '\n== %s\n' "$*"; }
run() { printf '$ postbote %s\n' "$*" >&2; "$PB" "$@"; }

step "1. a fresh database ($POSTBOTE_DB)"
run init
step "2. import the demo list: 1,000 recipients over 9 domains (2 broken rows, 1 duplicate)"
run list import demo "$top/templates/demo-list.csv" --rejects "$dir/rejects.csv" || true
echo "(rejected rows written to $dir/rejects.csv)"
run list import demo "$top/templates/demo-orders.jsonl"
echo "(three recipients get their recent orders as a JSON array attribute)"
run list show demo --json | /usr/bin/python3 -m json.tool
step "3. suppress one domain and one address"
run suppress add @tiny.example.io --reason "asked not to be mailed"
run suppress add ute.fischer0@example.com --reason "unsubscribed by phone"
step "4. the starter templates"
run template add newsletter --subject 'News for {{ first_name | default: "you" }} 📬' \
	--html "$top/templates/newsletter.html" --text "$top/templates/newsletter.txt"
run template add welcome --subject 'Welcome, {{ first_name | capitalize }}!' \
	--html "$top/templates/welcome.html"
run template check newsletter --list demo
step "5. a campaign for paying German-speaking customers"
run campaign create november --list demo --template newsletter \
	--from 'Demo News <news@demo.example>' --list-id 'Demo News <news.demo.example>' \
	--segment "plan in ('pro', 'team') and country in ('DE', 'AT', 'CH')"
step "6. start it: the audience becomes one pending delivery per recipient"
run campaign start november
run campaign show november --json | /usr/bin/python3 -m json.tool
sqlite3 -header -column "$POSTBOTE_DB" "SELECT domain, count(*) AS pending FROM deliveries GROUP BY domain ORDER BY 2 DESC" 2>/dev/null || true

step "7. one recipient's message, as it would go out (before DKIM)"
run template preview newsletter --campaign november \
	--email hannah.braun3@example.com --html "$dir/preview.html" > "$dir/preview.eml"
echo "(written to $dir/preview.eml; the HTML part to $dir/preview.html)"
echo "--- the headers:"
tr -d '\r' < "$dir/preview.eml" | sed '/^$/q'
echo "--- the text part, as a mail reader decodes it:"
/usr/bin/python3 "$top/tests/tools/msgcheck.py" part "$dir/preview.eml" text
step "8. the welcome mail, with a text part derived from its HTML"
run template preview welcome --attrs '{"first_name": "jürgen", "plan": "team", "seats": 12}' > "$dir/welcome.eml"
/usr/bin/python3 "$top/tests/tools/msgcheck.py" part "$dir/welcome.eml" text

step "9. DKIM keys for the sending domain, and the DNS records to publish"
run dkim keygen --domain demo.example --selector s1 --algorithm rsa \
	--output "$dir/s1.demo.example.pem" | tee "$dir/s1.txt"
run dkim keygen --domain demo.example --selector e1 --algorithm ed25519 \
	--output "$dir/e1.demo.example.pem" | tee "$dir/e1.txt"
ls -l "$dir"/*.pem

step "10. a local SMTP server (tests/tools/smtpd.py) standing in for the relay"
/usr/bin/python3 "$top/tests/tools/smtpd.py" --listen 127.0.0.1:0 \
	--port-file "$dir/smtpd.port" --maildir "$dir/mail" \
	--rcpt-rule '^ghost=550 5.1.1 No such user here' \
	--rcpt-rule '^busy=452 4.2.2 Mailbox full, try later' 2>"$dir/smtpd.err" &
smtpd=$!
track=
dns=
trap 'kill $smtpd $track $dns 2>/dev/null' EXIT
for _ in $(seq 50); do [ -s "$dir/smtpd.port" ] && break; sleep 0.1; done
port=$(cat "$dir/smtpd.port")
# A free port for the tracking server of step 14: the links point there.
tport=$(/usr/bin/python3 "$top/tests/tools/free_port.py")
# machine_seconds 0: the demo opens its links within seconds of sending,
# which would otherwise count as a scanner's.
cat > "$POSTBOTE_CONFIG" <<JSON
{ "hostname": "mail.demo.example",
  "tracking": { "base_url": "http://127.0.0.1:$tport", "machine_seconds": 0 },
  "bounces": { "return_path_domain": "bounce.demo.example" },
  "delivery": { "mode": "relay",
                "relay": { "host": "127.0.0.1", "port": $port, "tls": "none" } },
  "dkim": [ { "domain": "demo.example", "selector": "s1",
              "algorithm": "rsa-sha256", "key_file": "$dir/s1.demo.example.pem" },
            { "domain": "demo.example", "selector": "e1",
              "algorithm": "ed25519-sha256", "key_file": "$dir/e1.demo.example.pem" } ] }
JSON
echo "(config: $POSTBOTE_CONFIG, the relay on 127.0.0.1:$port)"
# Two recipients the server refuses, one for good and one for now.
cat > "$dir/extra.csv" <<'CSV'
email,first_name,plan,country
ghost@example.com,Casper,pro,DE
busy@example.org,Bea,team,AT
CSV
run list import demo "$dir/extra.csv"
run campaign create december --list demo --template newsletter \
	--from 'Demo News <news@demo.example>' --list-id 'Demo News <news.demo.example>' \
	--segment "plan in ('pro', 'team') and country in ('DE', 'AT', 'CH')"

step "11. check its content, then send it: render, sign (rsa-sha256 and ed25519-sha256), deliver, record"
run lint december
echo "(send runs the same checks first and refuses a campaign that fails one; the warning is the demo's tracking server on plain http)"
run send december --log "$dir/send.log"
echo "--- the first lines of the delivery log ($dir/send.log):"
head -n 3 "$dir/send.log"
echo "--- and the refused ones:"
grep -v 'status=delivered' "$dir/send.log" || true
run campaign show december
sqlite3 -header -column "$POSTBOTE_DB" "SELECT status, count(*) AS deliveries FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id WHERE c.name = 'december' GROUP BY status" 2>/dev/null || true

step "12. what the server received, checked from outside: Python's email package parses each message, python3-dkim verifies both signatures"
/usr/bin/python3 - "$dir" <<'PY'
import email, glob, re, sys
import dkim
d = sys.argv[1]
dns = {}
for f in ("s1.txt", "e1.txt"):
    m = re.match(r'(\S+) IN TXT (.*)$', open(f"{d}/{f}").read().strip())
    dns[m.group(1) + "."] = "".join(re.findall(r'"([^"]*)"', m.group(2))).encode()
n = good = 0
for path in sorted(glob.glob(f"{d}/mail/*.eml")):
    raw = open(path, "rb").read()
    msg = email.message_from_bytes(raw)
    sigs = msg.get_all("DKIM-Signature") or []
    ok = all(dkim.DKIM(raw).verify(idx=i, dnsfunc=lambda n, timeout=5: dns[n.decode()])
             for i in range(len(sigs)))
    n += 1
    good += ok and len(sigs) == 2
    if n == 1:
        print(f"first message: To: {msg['To']}  Subject: {msg['Subject']}")
print(f"{n} messages received, {good} with both DKIM signatures valid")
sys.exit(0 if n > 0 and good == n else 1)
PY

step "13. the campaign's state, as another shell sees it (postbote status)"
run status december
echo "(the deferred delivery is due again in 5 minutes: 'postbote send --due' from cron retries it)"

step "14. the tracking server: an open, a click and a one-click unsubscribe from the first message"
"$PB" track serve --listen "127.0.0.1:$tport" 2>"$dir/track.err" &
track=$!
for _ in $(seq 50); do grep -q '^listening on' "$dir/track.err" && break; sleep 0.1; done
cat "$dir/track.err"
/usr/bin/python3 - "$dir/mail" > "$dir/urls" <<'PY'
import email, email.policy, glob, re, sys
m = email.message_from_binary_file(open(sorted(glob.glob(sys.argv[1] + "/*.eml"))[0], "rb"),
                                   policy=email.policy.default)
html = m.get_body(("html",)).get_content()
print(m["To"].addresses[0].addr_spec)
print(re.search(r'src="([^"]*/o/[^"]*)"', html).group(1))
print(re.search(r'href="([^"]*/c/[^"]*)"', html).group(1))
print(re.search(r"<(http[^>]*/u/[^>]*)>", m["List-Unsubscribe"]).group(1))
PY
{ read -r who; read -r pixel; read -r click; read -r unsub; } < "$dir/urls"
echo "(the first message went to $who)"
printf '$ curl %s\n' "$pixel"
curl -s -o /dev/null -w 'HTTP %{http_code} %{content_type}, %{size_download} bytes\n' -A 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0' "$pixel"
printf '$ curl -A GoogleImageProxy %s\n' "$pixel"
curl -s -o /dev/null -w 'HTTP %{http_code} (recorded, flagged as a machine open)\n' -A 'Mozilla/5.0 (via ggpht.com GoogleImageProxy)' "$pixel"
printf '$ curl %s\n' "$click"
curl -s -o /dev/null -w 'HTTP %{http_code} -> %{redirect_url}\n' -A 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0' "$click"
printf '$ curl -d List-Unsubscribe=One-Click %s\n' "$unsub"
curl -s -o /dev/null -w 'HTTP %{http_code}\n' -d 'List-Unsubscribe=One-Click' "$unsub"
sqlite3 -header -column "$POSTBOTE_DB" "SELECT e.type, e.machine, coalesce(json_extract(e.detail, '$.machine_reason'), '') AS why FROM events e WHERE e.type IN ('opened', 'clicked', 'unsubscribed') ORDER BY e.id" 2>/dev/null || true
run suppress ls --list demo | grep "$who" || true


step "15. bounces and complaints come back: a DSN and an ARF report, piped through bounce ingest"
/usr/bin/python3 - "$dir/mail" "$top/tests/fixtures/inbound" "$dir" <<'PY'
import email, email.policy, glob, json, sys
mail, fix, out = sys.argv[1:]
msgs = sorted(glob.glob(mail + "/*.eml"))
for eml, sample, name in ((msgs[1], "postfix_hard_5.1.1.eml", "dsn.eml"),
                          (msgs[2], "arf_yahoo_abuse.eml", "arf.eml")):
    env = json.load(open(eml[:-4] + ".json"))
    m = email.message_from_binary_file(open(eml, "rb"), policy=email.policy.default)
    text = open(f"{fix}/{sample}").read()
    for k, v in (("RETURN_PATH", env["mail_from"]), ("MESSAGE_ID", m["Message-ID"].strip("<>")),
                 ("RCPT", env["rcpt_to"][0])):
        text = text.replace("{{%s}}" % k, v)
    open(f"{out}/{name}", "w").write(text)
PY
echo "(a Postfix DSN and a Yahoo ARF report, filled in with two real return paths: $dir/dsn.eml, $dir/arf.eml)"
run bounce ingest "$dir/dsn.eml" "$dir/arf.eml"
run suppress ls | grep -E "bounce|complaint" || true
run campaign show december

step "16. list hygiene, with a local DNS server (dnsmasq) answering for the demo domains, and four more sign-ups"
# The demo's domains get an MX; example.io has a null MX, and gmial.com
# and tiny.example.io do not exist (NXDOMAIN), as a typo's domain would.
dport=$(/usr/bin/python3 "$top/tests/tools/free_port.py")
set -- --mx-host=mailinator.com,mx.demo.example,10
for d in example.com example.net example.org example.ch mail.example.de \
    post.example.at corp.example.co.uk xn--bcher-kva.example; do
	set -- "$@" --mx-host="$d,mx.demo.example,10"
done
dnsmasq --no-resolv --no-hosts --port="$dport" --listen-address=127.0.0.1 \
	--bind-interfaces --keep-in-foreground --conf-file=/dev/null \
	--local=/com/ --local=/example/ --local=/io/ --local=/de/ --local=/at/ \
	--local=/ch/ --local=/uk/ --local=/net/ --local=/org/ \
	--host-record=mx.demo.example,192.0.2.25 --mx-host=example.io,.,0 \
	"$@" 2>"$dir/dnsmasq.err" &
dns=$!
trap 'kill $smtpd $track $dns 2>/dev/null' EXIT
sleep 0.5
cat > "$dir/hygiene.json" <<JSON
{ "delivery": { "dns_servers": ["127.0.0.1:$dport"] } }
JSON
cat > "$dir/signups.csv" <<'CSV'
email,first_name
info@example.net,
lena.vogel@gmial.com,Lena
temp123@mailinator.com,
noah@example.io,Noah
CSV
run list import demo "$dir/signups.csv"
run --config "$dir/hygiene.json" hygiene --list demo
echo "(--apply CATEGORIES suppresses them; --dry-run first says what would change:)"
run --config "$dir/hygiene.json" hygiene --list demo --apply no_mx,null_mx,typo,disposable --dry-run

step "17. the campaign report (and the HTML one, charts included, for a browser or print)"
run report december --format html --output "$dir/report.html"
echo "(written to $dir/report.html)"
run report december
