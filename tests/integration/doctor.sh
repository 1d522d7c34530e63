#!/bin/bash
# doctor.sh - postbote doctor against a dnsmasq of our own (127.0.0.1, a
# free high port, records from a conf file) and tests/tools/smtpd.py as
# the relay:
#   good.test        everything right: SPF through an include at the
#                    return-path domain, an RSA and an Ed25519 DKIM key,
#                    DMARC p=reject with rua, MX, FCrDNS: every line ok
#   nospf.test ...   one thing broken each: no SPF, SPF not authorising,
#                    over 10 look-ups, an include loop, two SPF records,
#                    DKIM record missing, another key, revoked; DMARC
#                    missing, p=none; null MX; PTR mismatch, no PTR, a
#                    generic PTR name
#   relay.test       relay mode: SPF for the relay's address, and the
#                    relay's STARTTLS: verified, untrusted, not offered
# Exit codes: 0 good, 1 a check failed, 75 DNS down, 64 usage.
: "${TESTS:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${POSTBOTE:=${PB:-$TESTS/../build/postbote}}"
export TESTS POSTBOTE
. "$TESTS/lib.sh"

PY=/usr/bin/python3
SMTPD="$TESTS/tools/smtpd.py"
need dnsmasq openssl
. "$TESTS/smtpd_lib.sh"
. "$TESTS/dns_lib.sh"

# ------------------------------------------------------------------ keys

# keygen DOMAIN SELECTOR ALG: $T/DOMAIN-SELECTOR.pem, its record for dnsmasq
keygen() {
	"$PB" dkim keygen --domain "$1" --selector "$2" --algorithm "$3" \
	    --output "$T/$1-$2.pem" >"$1-$2.rec" 2>>keygen.err ||
	    notok "keygen $1 $2"
	# NAME IN TXT "a" "b" -> txt-record=NAME,"a","b"
	sed -n 's/^\([^ ]*\) IN TXT /txt-record=\1,/p' "$1-$2.rec" |
	    sed 's/" "/","/g' >>zone.conf
}
: >zone.conf
keygen good.test s1 rsa
keygen good.test e1 ed25519
keygen dkbad.test s1 rsa
keygen dkrev.test s1 rsa
keygen dkmiss.test s1 ed25519
# dkbad.test publishes another key than its key file; dkrev.test none;
# dkmiss.test nothing at all.
grep -v '^txt-record=s1._domainkey.dk' zone.conf >zone.tmp && mv zone.tmp zone.conf
"$PB" dkim keygen --domain dkbad.test --selector s1 --output "$T/other.pem" \
    | sed -n 's/^\([^ ]*\) IN TXT /txt-record=\1,/p' | sed 's/" "/","/g' \
    >>zone.conf
echo 'txt-record=s1._domainkey.dkrev.test,"v=DKIM1; k=rsa; p="' >>zone.conf

# ------------------------------------------------------------------ zone

cat >>zone.conf <<'EOF'
txt-record=bounce.good.test,"v=spf1 include:_spf.good.test -all"
txt-record=_spf.good.test,"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"
mx-host=bounce.good.test,mx.good.test,10
host-record=mx.good.test,192.0.2.30
txt-record=_dmarc.good.test,"v=DMARC1; p=reject; rua=mailto:dmarc@good.test; adkim=s"
host-record=mail.good.test,192.0.2.25
txt-record=spfno.test,"v=spf1 ip4:198.51.100.0/24 -all"
txt-record=spf11.test,"v=spf1 a:h1.good.test a:h2.good.test a:h3.good.test a:h4.good.test a:h5.good.test a:h6.good.test a:h7.good.test a:h8.good.test a:h9.good.test a:h10.good.test a:h11.good.test -all"
txt-record=spfloop.test,"v=spf1 include:loop2.test -all"
txt-record=loop2.test,"v=spf1 include:spfloop.test -all"
txt-record=spf2.test,"v=spf1 ip4:192.0.2.25 -all"
txt-record=spf2.test,"v=spf1 ip4:192.0.2.26 -all"
txt-record=dmarcnone.test,"v=spf1 ip4:192.0.2.25 -all"
txt-record=_dmarc.dmarcnone.test,"v=DMARC1; p=none"
mx-host=dmarcnone.test,mx.good.test,10
mx-host=nullmx.test,.,0
host-record=aonly.test,192.0.2.40
ptr-record=26.2.0.192.in-addr.arpa,mail.good.test
ptr-record=28.2.0.192.in-addr.arpa,192-0-2-28.dynamic.isp.test
host-record=192-0-2-28.dynamic.isp.test,192.0.2.28
txt-record=relay.test,"v=spf1 a:smtp.relay.test -all"
txt-record=_dmarc.relay.test,"v=DMARC1; p=quarantine; rua=mailto:d@relay.test"
mx-host=relay.test,mx.good.test,10
host-record=smtp.relay.test,127.0.0.1
EOF
for i in 1 2 3 4 5 6 7 8 9 10 11; do
	echo "host-record=h$i.good.test,10.0.0.$i" >>zone.conf
done

dns_start aonly.test --conf-file="$T/zone.conf" --local=/test/ --local=/arpa/

# ---------------------------------------------------------------- configs

dkim_keys() {	# DOMAIN:SELECTOR:ALG ... as the "dkim" list
	_sep=""
	printf '['
	for _k in "$@"; do
		IFS=: read -r _d _s _a <<<"$_k"
		printf '%s{"domain": "%s", "selector": "%s", "algorithm": "%s", "key_file": "%s"}' \
		    "$_sep" "$_d" "$_s" "$_a" "$T/$_d-$_s.pem"
		_sep=", "
	done
	printf ']'
}

cat >good.json <<EOF
{"hostname": "mail.good.test", "bounces": {"return_path_domain": "bounce.good.test"},
 "delivery": {"mode": "mx", "dns_servers": ["127.0.0.1:$DNSPORT"],
  "source_address": "192.0.2.25"},
 "dkim": $(dkim_keys good.test:s1:rsa-sha256 good.test:e1:ed25519-sha256)}
EOF
cat >broken.json <<EOF
{"hostname": "mail.good.test",
 "delivery": {"mode": "mx", "dns_servers": ["127.0.0.1:$DNSPORT"],
  "source_address": "192.0.2.25"},
 "dkim": $(dkim_keys good.test:s1:rsa-sha256 dkbad.test:s1:rsa-sha256 \
    dkrev.test:s1:rsa-sha256 dkmiss.test:s1:ed25519-sha256)}
EOF

doc() {	# CONFIG ARGS...: doctor into ./out, ./err
	_c=$1; shift
	"$PB" --config "$_c" doctor "$@" >out 2>err
}
# line LEVEL CHECK SUBJECT TEXT: out has that line (TEXT a fixed part).
line() {
	grep -E "^$1 +$2 +$3  " out | grep -qF -- "$4" && return 0
	echo "# no '$1 $2 $3 ... $4' in:"; sed 's/^/#   /' out | head -30
	return 1
}

# ------------------------------------------------------------- all good
expect 0 "good.test: exit 0" "$PB" --config good.json doctor good.test
cp out good.out
check "good.test: no warn and no fail" \
    test "$(grep -cvE '^ok ' out)" = 1	# the summary line
check "good.test: the summary" has out "ok=8 warn=0 fail=0 temporary=0"
check "spf: authorised through the include" line ok spf bounce.good.test \
    'authorises 192.0.2.25 (include:_spf.good.test > ip4:192.0.2.0/24; 1 of 10 look-ups)'
check "dkim: the RSA key matches" line ok dkim s1._domainkey.good.test \
    "rsa-sha256 key of 2048 bits matches key_file $T/good.test-s1.pem"
check "dkim: the Ed25519 key matches" line ok dkim e1._domainkey.good.test \
    "ed25519-sha256 key of 256 bits matches"
check "dmarc: policy reject" line ok dmarc good.test 'p=reject'
check "dmarc: DKIM aligns strictly" line ok dmarc good.test \
    'DKIM d=good.test aligns with From good.test (adkim=s)'
check "dmarc: SPF aligns relaxed" line ok dmarc good.test \
    'SPF domain bounce.good.test aligns with From good.test (aspf=r)'
check "mx: the return-path domain takes mail" line ok mx bounce.good.test \
    'MX mx.good.test (10)'
check "fcrdns: confirmed" line ok fcrdns 192.0.2.25 \
    '192.0.2.25 -> mail.good.test -> 192.0.2.25'
expect 0 "without a DOMAIN: every DKIM domain" "$PB" --config good.json doctor
check "... the same checks" test "$(grep -c "^ok " out)" = 8

expect 0 "--json" "$PB" --config good.json doctor good.test --json
check "--json: every check, levels and counts" "$PY" -c '
import json, sys
d = json.load(open("out"))
assert d["ok"] == 8 and d["fail"] == 0 and d["warn"] == 0, d
assert len(d["checks"]) == 8
assert {c["check"] for c in d["checks"]} == {"spf", "dkim", "dmarc", "mx", "fcrdns"}
assert all(c["level"] == "ok" and "fix" not in c for c in d["checks"])
'

# ------------------------------------------------------------------ SPF
expect 1 "no SPF record: exit 1" doc broken.json nospf.test
check "no SPF: fail with the record to publish" line fail spf nospf.test \
    'no SPF record: receivers cannot tell our mail from forgeries; fix: publish "v=spf1 ip4:192.0.2.25 ~all" at nospf.test'
check "no return-path domain: a warning" line warn config \
    bounces.return_path_domain 'the envelope sender is the From address'
doc broken.json spfno.test
check "SPF not authorising: fail, the address added before -all" \
    line fail spf spfno.test \
    '"v=spf1 ip4:198.51.100.0/24 -all" gives fail for 192.0.2.25, matching -all; fix: publish "v=spf1 ip4:198.51.100.0/24 ip4:192.0.2.25 -all" at spfno.test'
doc broken.json spf11.test
check "SPF over 10 look-ups: permerror" line fail spf spf11.test \
    'permerror: more than 10 DNS look-ups (RFC 7208 4.6.4), the 11th at "a:h11.good.test"; fix: replace include:'
doc broken.json spfloop.test
check "SPF include loop: permerror" line fail spf spfloop.test \
    'permerror: include loop: spfloop.test -> loop2.test -> spfloop.test'
doc broken.json spf2.test
check "two SPF records: permerror" line fail spf spf2.test \
    'spf2.test has 2 SPF records; it must have one (RFC 7208 4.5); fix: merge them'

# ----------------------------------------------------------------- DKIM
doc broken.json dkmiss.test
check "DKIM record missing: fail with the record" line fail dkim \
    s1._domainkey.dkmiss.test \
    "no DKIM record: receivers cannot check our ed25519-sha256 signatures; fix: publish s1._domainkey.dkmiss.test IN TXT \"v=DKIM1; k=ed25519; p=$(sed -n 's/.*p=\([^"]*\)".*/\1/p' dkmiss.test-s1.rec)\""
doc broken.json dkbad.test
check "DKIM key mismatch: fail" line fail dkim s1._domainkey.dkbad.test \
    "the key in DNS is not the public half of key_file $T/dkbad.test-s1.pem; fix: publish s1._domainkey.dkbad.test IN TXT \"v=DKIM1; k=rsa; p="
doc broken.json dkrev.test
check "DKIM revoked: fail" line fail dkim s1._domainkey.dkrev.test \
    'the key is revoked (p= is empty)'
doc broken.json nokey.test
check "no DKIM key configured: fail with the keygen command" \
    line fail dkim nokey.test \
    'no DKIM key in the config signs mail from nokey.test; fix: postbote dkim keygen --domain nokey.test'

# ---------------------------------------------------------------- DMARC
doc broken.json nospf.test
check "DMARC missing: fail with a record" line fail dmarc nospf.test \
    'no DMARC record: Gmail and Yahoo require one of bulk senders; fix: publish _dmarc.nospf.test IN TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@nospf.test"'
expect 1 "DMARC p=none: a warning (and no key: exit 1)" doc broken.json dmarcnone.test
check "DMARC p=none: warn" line warn dmarc dmarcnone.test \
    'p=none only monitors; forgeries are delivered; fix: once the reports'
check "DMARC without rua: warn" line warn dmarc dmarcnone.test \
    'no rua=: no aggregate reports come back; fix: add rua=mailto:dmarc-reports@dmarcnone.test'
check "DMARC: SPF of the domain itself aligns" line ok dmarc dmarcnone.test \
    'SPF domain dmarcnone.test aligns'

# ------------------------------------------------------------------- MX
doc broken.json nullmx.test
check "null MX: fail" line fail mx nullmx.test \
    'null MX: nullmx.test takes no mail, so bounces never come back; fix: publish nullmx.test IN MX 10'
doc broken.json aonly.test
check "no MX, an A record: warn" line warn mx aonly.test \
    'no MX: mail for aonly.test goes to its address record'
doc broken.json nx.test
check "no such domain: fail" line fail mx nx.test 'nx.test: no such domain (NXDOMAIN)'

# --------------------------------------------------------------- FCrDNS
doc broken.json good.test --ip 192.0.2.26 --ip 192.0.2.27 --ip 192.0.2.28
check "FCrDNS mismatch: fail" line fail fcrdns 192.0.2.26 \
    '192.0.2.26 -> mail.good.test, which resolves to 192.0.2.25, not back to 192.0.2.26; fix: publish mail.good.test IN A 192.0.2.26'
check "no PTR: fail" line fail fcrdns 192.0.2.27 'no PTR record for 192.0.2.27'
check "generic PTR name: confirmed" line ok fcrdns 192.0.2.28 \
    '192.0.2.28 -> 192-0-2-28.dynamic.isp.test -> 192.0.2.28'
check "generic PTR name: warn" line warn fcrdns 192.0.2.28 \
    '192-0-2-28.dynamic.isp.test looks like a generic ISP name'
check "PTR name is not the EHLO name: warn" line warn fcrdns 192.0.2.28 \
    'the EHLO name mail.good.test is not the PTR name'
check "without a return-path domain SPF is the From domain's" \
    line fail spf good.test 'no SPF record'

# ------------------------------------------------------------ relay TLS
openssl req -x509 -newkey rsa:2048 -nodes -keyout relay.key -out relay.crt \
    -days 2 -subj /CN=smtp.relay.test \
    -addext subjectAltName=DNS:smtp.relay.test 2>/dev/null &&
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.crt \
    -days 2 -subj /CN=smtp.relay.test \
    -addext subjectAltName=DNS:smtp.relay.test 2>/dev/null ||
    notok "openssl made the certificates"
start good --cert relay.crt --key relay.key --user u --password pw
start plain

relay_cfg() {	# FILE PORT CA
	cat >"$1" <<EOF
{"hostname": "mail.relay.test",
 "delivery": {"mode": "relay", "dns_servers": ["127.0.0.1:$DNSPORT"],
  "ca_file": "$T/$3", "timeouts": {"connect": 3, "greeting": 5, "mail": 5},
  "relay": {"host": "smtp.relay.test", "port": $2, "tls": "starttls"}},
 "dkim": $(dkim_keys good.test:s1:rsa-sha256)}
EOF
}
relay_cfg relay-ok.json "${port[good]}" relay.crt
relay_cfg relay-untrusted.json "${port[good]}" other.crt
relay_cfg relay-plain.json "${port[plain]}" relay.crt

doc relay-ok.json relay.test
check "relay: STARTTLS with a verified certificate" line ok tls \
    "smtp.relay.test:${port[good]}" 'STARTTLS TLSv1.3/'
check "relay: ... verified, AUTH offered" line ok tls \
    "smtp.relay.test:${port[good]}" '/verified; AUTH PLAIN LOGIN offered'
check "relay mode: SPF for the relay's address" line ok spf relay.test \
    '"v=spf1 a:smtp.relay.test -all" authorises 127.0.0.1 (a:smtp.relay.test'
check "relay mode: no reverse-DNS check" test "$(grep -c fcrdns out)" = 0
expect 1 "relay: an untrusted certificate fails" doc relay-untrusted.json relay.test
check "relay: ... untrusted, with the fix" line fail tls \
    "smtp.relay.test:${port[good]}" 'untrusted certificate'
check "relay: ... fix names delivery.ca_file" has out 'set delivery.ca_file'
expect 1 "relay: no STARTTLS fails" doc relay-plain.json relay.test
check "relay: ... STARTTLS not offered" line fail tls \
    "smtp.relay.test:${port[plain]}" 'STARTTLS'
doc relay-plain.json relay.test --no-tls
check "--no-tls: no TLS probe" test "$(grep -c ' tls ' out)" = 0

# ----------------------------------------------------------- exit codes
cat >down.json <<EOF
{"hostname": "mail.good.test", "bounces": {"return_path_domain": "bounce.good.test"},
 "delivery": {"mode": "mx", "dns_servers": ["127.0.0.1:$(free_port)"],
  "source_address": "192.0.2.25"},
 "dkim": $(dkim_keys good.test:s1:rsa-sha256)}
EOF
expect 75 "DNS down: exit 75" "$PB" --config down.json doctor good.test
check "... every fail is temporary" has out "temporary=5"
expect 64 "a bad --ip: exit 64" "$PB" --config good.json doctor --ip 1.2.3 good.test
check "... says which" has err '--ip 1.2.3: not an IPv4 or IPv6 address'
expect 64 "a bad domain: exit 64" "$PB" --config good.json doctor 'bad domain'
expect 64 "two domains: exit 64" "$PB" --config good.json doctor a.test b.test
printf '{}' >empty.json
expect 64 "no domain, no DKIM key: exit 64" "$PB" --config empty.json doctor
check "... says what to do" has err 'no domain to check'
expect 0 "help doctor" "$PB" help doctor
check "... documents the exit codes" has out '75 when'

done_testing
