#!/bin/bash
# dkim.sh - keys from `postbote dkim keygen`, signatures from
# dkim_signer_sign() (build/tools/dkim_sample), checked by python3-dkim
# (dkimpy) and by libopendkim's verifier (build/tools/dkim_verify): two
# implementations that share no code with engine/dkim.c.
#
# keygen: RSA and Ed25519 keys, mode 0600, never over an existing file,
# a TXT record in strings of at most 255 octets. Signing: messages from
# mime_build() (build/tools/mime_sample) with umlauts in the Subject and
# the display name, long folded headers, body lines starting with "." and
# "From ", plus literal messages; signed with the RSA key, the Ed25519 key
# and both, every signature verified with dkim.DKIM.verify() against the
# record keygen printed, by both. Literal messages test the relaxed body
# rules at their edges: an empty body, only blank lines, no final CRLF,
# lines of white space, tabs and runs of spaces. A changed body, Subject or From, or an added From
# or Subject (over-signed) fails; trailing white space and re-folding
# (relaxed/relaxed) and an added unsigned field do not.
. "$TESTS/lib.sh"

TOOLS="$(dirname "$PB")/tools"
for t in dkim_sample dkim_verify mime_sample; do
	if [ ! -x "$TOOLS/$t" ]; then
		notok "$t is built (make $TOOLS/$t)"
		done_testing
		exit 1
	fi
done

# ------------------------------------------------------------------ keygen
expect 0 "keygen rsa" "$PB" dkim keygen --domain example.com \
	--selector rsa1 --output rsa.pem
cp out rsa.txt
expect 0 "keygen ed25519" "$PB" dkim keygen --domain example.com \
	--selector ed1 --algorithm ed25519 --output ed.pem
cp out ed.txt
expect 0 "keygen rsa 4096 for example.net" "$PB" dkim keygen \
	--domain example.net --selector big --bits 4096 --output big.pem
cp out big.txt
eq "rsa key file mode 600" "$(stat -c %a rsa.pem)" 600
eq "ed25519 key file mode 600" "$(stat -c %a ed.pem)" 600
check "rsa record" has rsa.txt \
	'rsa1._domainkey.example.com IN TXT "v=DKIM1; k=rsa; p=MIIB'
check "ed25519 record" has ed.txt \
	'ed1._domainkey.example.com IN TXT "v=DKIM1; k=ed25519; p='
eq "4096-bit record in three strings" "$(grep -o '"[^"]*"' big.txt | wc -l)" 3
eq "no string over 255 octets" \
	"$(cat rsa.txt ed.txt big.txt | grep -o '"[^"]*"' | awk 'length($0) > 257' | wc -l)" 0

sum=$(md5sum <rsa.pem)
expect 73 "keygen refuses to overwrite a key" "$PB" dkim keygen \
	--domain example.com --selector other --output rsa.pem
check "the refusal names the file" has err "rsa.pem: File exists"
eq "the key is unchanged" "$(md5sum <rsa.pem)" "$sum"
eq "nothing on stdout" "$(cat out)" ""

expect 0 "keygen default file name" "$PB" dkim keygen --domain Bücher.de \
	--selector s1 --algorithm ed25519
check "record for the A-label" has out "s1._domainkey.xn--bcher-kva.de IN TXT"
eq "file SELECTOR._domainkey.DOMAIN.pem, mode 600" \
	"$(stat -c %a s1._domainkey.xn--bcher-kva.de.pem 2>&1)" 600
expect 64 "--bits with ed25519 is a usage error" "$PB" dkim keygen \
	--domain example.com --selector x --algorithm ed25519 --bits 2048
expect 64 "512 bits refused" "$PB" dkim keygen --domain example.com \
	--selector x --bits 512 --output x.pem
expect 64 "0 bits refused" "$PB" dkim keygen --domain example.com \
	--selector x --bits 0 --output x.pem
expect 64 "2^40 bits refused" "$PB" dkim keygen --domain example.com \
	--selector x --bits 1099511627776 --output x.pem
check "no file left by a refused keygen" test ! -e x.pem
expect 64 "unknown algorithm" "$PB" dkim keygen --domain example.com \
	--selector x --algorithm dsa
expect 64 "bad selector" "$PB" dkim keygen --domain example.com \
	--selector 'a_b' --output x.pem
expect 64 "--selector required" "$PB" dkim keygen --domain example.com
expect 0 "help dkim keygen" "$PB" help dkim keygen
check "help shows the record form" has out '._domainkey.DOMAIN IN TXT'

# ---------------------------------------------------------- key refusals
SIGN=$TOOLS/dkim_sample
printf 'From: a@example.com\r\n\r\nx\r\n' >m.eml
cp rsa.pem open.pem
chmod 644 open.pem
expect 78 "a 0644 key is refused" "$SIGN" example.com:s:rsa:open.pem <m.eml
check "naming the file" has err "key file open.pem is accessible by group or others (mode 0644)"
expect 66 "a missing key file" "$SIGN" example.com:s:rsa:none.pem <m.eml
check "naming the file" has err "key file none.pem: No such file"
expect 78 "an rsa file as ed25519" "$SIGN" example.com:s:ed25519:rsa.pem <m.eml
check "naming the file" has err "key file rsa.pem holds a RSA key"
printf 'From: a@example.org\r\n\r\nx\r\n' >m.eml
expect 78 "no key for the From domain" "$SIGN" example.com:rsa1:rsa:rsa.pem <m.eml
check "naming the domain" has err "no DKIM key for the From domain example.org"

# ----------------------------------------------- signatures, verified
/usr/bin/python3 - "$TOOLS" rsa.txt ed.txt big.txt >results 2>&1 <<'EOF'
import base64, hashlib, json, re, subprocess, sys
import dkim

TOOLS, RECORDS = sys.argv[1], sys.argv[2:]
SIGN, MIME = TOOLS + "/dkim_sample", TOOLS + "/mime_sample"
ODKIM = TOOLS + "/dkim_verify"

def report(cond, desc, detail=""):
    print(("ok " if cond else "not ok ") + desc)
    if not cond and detail:
        for line in str(detail).splitlines()[:6]:
            print("# " + line)

# name. -> TXT value, from the lines keygen printed.
DNS = {}
for path in RECORDS:
    m = re.match(r'(\S+) IN TXT (.*)$', open(path).read().strip())
    DNS[m.group(1) + "."] = "".join(re.findall(r'"([^"]*)"', m.group(2)))

def dnsfunc(name, timeout=5):
    return DNS.get(name.decode()).encode()

# The same records as libopendkim's query file: "NAME VALUE" lines.
with open("keys.txt", "w") as f:
    for name, value in DNS.items():
        f.write("%s %s\n" % (name.rstrip("."), value))

# libopendkim's verdict on every signature: True when all n pass.
def opendkim(msg, n):
    r = subprocess.run([ODKIM, "keys.txt"], input=msg, capture_output=True)
    lines = r.stdout.decode().splitlines()
    return r.returncode == 0 and len(lines) == n, r.stdout.decode()

RSA = "example.com:rsa1:rsa:rsa.pem"
ED = "example.com:ed1:ed25519:ed.pem"
BIG = "example.net:big:rsa:big.pem"
KEYS = [("rsa-sha256", [RSA], 1), ("ed25519-sha256", [ED], 1),
        ("both", [RSA, ED], 2)]

BASE = {
    "from_name": "Acme News", "from_addr": "news@example.com",
    "to_addr": "jane@example.org", "subject": "Hello",
    "text": "Hi Jane\n", "html": "<p>Hi Jane</p>\n",
    "date_ms": 1739440800123, "message_id": "20250213.1@example.com",
    "reply_to": "help@example.com",
    "unsubscribe_url": "https://t.example.com/u/abc",
    "unsubscribe_mailto": "unsub+abc@example.com",
    "list_id": "news.example.com", "feedback_id": "c1:news:pb",
}
LONG = ("Grüße aus München, liebe Jürgen und Jörg 🎉 "
        "Sommer-Sale: 20 % auf alles! ") * 3
CASES = [
    ("plain", {}),
    ("umlauts in Subject and display name",
     {"subject": "Grüße aus München", "from_name": "Müller, Jürgen"}),
    ("long folded Subject and display name",
     {"subject": LONG[:200], "from_name": "Jürgen Müller " * 12}),
    ("long custom header", {"headers": [["X-Note", "wort " * 170]]}),
    ("2,000-character ASCII subject", {"subject": "Hello World, again! " * 100}),
    ("body lines starting with dots and From",
     {"text": ".\n..\n.hidden\nFrom me\n. \n", "html": ".<br>\n..\n"}),
    ("trailing blank lines and white space",
     {"text": "a  \n\tb\t\n\n\n\n", "html": None}),
    ("long body lines", {"text": "x" * 5000 + "\n", "html": "<p>" + "ü" * 3000}),
]

def build(over):
    c = dict(BASE, **over)
    c = {k: v for k, v in c.items() if v is not None}
    r = subprocess.run([MIME], input=json.dumps(c).encode(),
                       capture_output=True)
    if r.returncode != 0:
        raise RuntimeError("mime_sample: " + r.stderr.decode())
    return r.stdout

def sign(msg, keys):
    r = subprocess.run([SIGN] + keys, input=msg, capture_output=True)
    if r.returncode != 0:
        raise RuntimeError("dkim_sample: " + r.stderr.decode())
    return r.stdout

def nsigs(msg):
    return len(re.findall(rb"^DKIM-Signature:", msg, re.M))

# dkimpy returns False for a bad signature, or raises (a body hash that
# does not match): both are a failed verification.
def verify(msg, idx):
    try:
        return dkim.DKIM(msg).verify(idx=idx, dnsfunc=dnsfunc)
    except dkim.DKIMException:
        return False

def verify_all(msg, n):
    return all(verify(msg, i) for i in range(n))

def lines_ok(msg):
    return (b"\n" not in msg.replace(b"\r\n", b"") and
            all(len(l) + 2 <= 998 for l in msg.split(b"\r\n")))

def split(msg):
    head, body = msg.split(b"\r\n\r\n", 1)
    return head, body

def tag(msg, idx, name):
    fields = [v for k, v in dkim.DKIM(msg).headers if k.lower() ==
              b"dkim-signature"]
    s = re.sub(rb"\s+", b"", fields[idx])
    m = re.search(rb"(?:^|;)" + name.encode() + rb"=([^;]*)", s)
    return m.group(1).decode() if m else None

for cdesc, over in CASES:
    try:
        msg = build(over)
    except Exception as ex:
        report(False, cdesc + ": message built", ex)
        continue
    for kdesc, keys, n in KEYS:
        desc = cdesc + ", " + kdesc
        try:
            signed = sign(msg, keys)
        except Exception as ex:
            report(False, desc + ": signed", ex)
            continue
        report(nsigs(signed) == n and signed.endswith(msg),
               desc + ": %d signature(s) prepended" % n)
        report(lines_ok(signed), desc + ": CRLF, lines within 998")
        report(verify_all(signed, n), desc + ": python3-dkim verifies")
        good, out = opendkim(signed, n)
        report(good, desc + ": libopendkim verifies", out)

# What the signature says, as dkimpy reads it.
signed = sign(build({}), [RSA, ED])
report(tag(signed, 0, "a") == "rsa-sha256" and
       tag(signed, 1, "a") == "ed25519-sha256", "RSA first, then Ed25519")
for i in (0, 1):
    h = tag(signed, i, "h").lower().split(":")
    report(tag(signed, i, "c") == "relaxed/relaxed", "c=relaxed/relaxed (%d)" % i)
    report(tag(signed, i, "l") is None, "no l= tag (%d)" % i)
    report(h.count("from") == 2 and h.count("subject") == 2 and
           h.count("to") == 1 and "reply-to" not in h and
           "list-id" not in h, "h= over-signs From and Subject (%d)" % i,
           ":".join(h))
    report(set(h) == {"from", "to", "subject", "date", "message-id",
                      "mime-version", "content-type", "list-unsubscribe",
                      "list-unsubscribe-post", "feedback-id"},
           "h= is the fixed list (%d)" % i, ":".join(h))

# A 4096-bit key: a three-string record, a long b= folded.
signed = sign(build({"from_addr": "news@example.net"}), [BIG, RSA])
report(nsigs(signed) == 1 and tag(signed, 0, "d") == "example.net" and
       lines_ok(signed) and verify_all(signed, 1),
       "4096-bit RSA for the From domain example.net verifies")

# A subdomain's From is signed with the parent's keys.
signed = sign(build({"from_addr": "news@mail.example.com"}), [RSA, ED])
report(nsigs(signed) == 2 and tag(signed, 0, "d") == "example.com" and
       verify_all(signed, 2), "From mail.example.com: d=example.com verifies")

# A literal message, not from mime_build: odd spacing, dot lines.
LIT = (b"From:   Jane Doe   <jane@Example.COM>\r\n"
       b"To: bob@example.org\r\n"
       b"Subject:  Gr=?UTF-8?Q?=C3=BC=C3=9Fe?=   \r\n\tfolded\r\n"
       b"Date: Thu, 13 Feb 2025 10:00:00 +0000\r\n"
       b"\r\n.\r\n..\r\n.. two\r\nend  \r\n\r\n")
for kdesc, keys, n in KEYS:
    signed = sign(LIT, keys)
    report(verify_all(signed, n), "literal message, " + kdesc + ": verifies")

# The relaxed body rules at their edges (RFC 6376 3.4.4): each body
# signed, then verified by both verifiers, and the body hash compared
# with dkimpy's. A body without a final CRLF is checked as it is
# delivered: the SMTP client ends the last line before the "." (the
# verifiers differ on the bare form: dkimpy keeps a last line of white
# space that has no CRLF, libopendkim hashes the line without one).
HEAD = b"From: a@example.com\r\nSubject: edge\r\n\r\n"
BODIES = [
    ("an empty body", b""),
    ("a body of one CRLF", b"\r\n"),
    ("only blank lines", b"\r\n\r\n\r\n"),
    ("no CRLF after the last line", b"one\r\ntwo"),
    ("white space only, no CRLF", b"a\r\n \t "),
    ("lines of white space at the end", b"text\r\n \r\n\t\r\n  \r\n"),
    ("white space lines between", b"a\r\n \r\n\r\n\t\r\nb\r\n"),
    ("tabs and runs of spaces", b"\ta  b\t\tc \t d\t\r\n  lead\r\n"),
    ("a space before CRLF only", b"x \r\ny\r\n"),
]
for bdesc, body in BODIES:
    msg = HEAD + body
    signed = sign(msg, [RSA, ED])
    if not signed.endswith(b"\r\n"):
        signed, body = signed + b"\r\n", body + b"\r\n"
    want = dkim.RelaxedCanonicalization.canonicalize_body(body)
    bh = base64.b64encode(hashlib.sha256(want).digest()).decode()
    report(tag(signed, 0, "bh") == bh and tag(signed, 1, "bh") == bh,
           "body " + bdesc + ": bh= is dkimpy's", (tag(signed, 0, "bh"), bh))
    report(verify_all(signed, 2), "body " + bdesc + ": python3-dkim verifies")
    good, out = opendkim(signed, 2)
    report(good, "body " + bdesc + ": libopendkim verifies", out)

# Tampering: what must break the signatures, and what must not.
orig = sign(build({"subject": "Grüße aus München", "text": "Hallo\n.\n"}),
            [RSA, ED])
head, body = split(orig)
def sub_head(old, new):
    return head.replace(old, new, 1) + b"\r\n\r\n" + body
subj = re.search(rb"^Subject:.*$", head, re.M).group(0)
fromf = re.search(rb"^From:.*$", head, re.M).group(0)
TAMPER = [
    ("a changed body", head + b"\r\n\r\n" + body.replace(b"Hallo", b"Hallo!"),
     False),
    ("a line appended to the body", orig + b"P.S. buy now\r\n", False),
    ("a changed Subject", sub_head(subj, b"Subject: Gruesse"), False),
    ("a changed From", sub_head(b"news@example.com", b"news@exampie.com"),
     False),
    ("an added Subject above", sub_head(fromf, b"Subject: Win!\r\n" + fromf),
     False),
    ("an added From above", sub_head(fromf, b"From: x@example.com\r\n" + fromf),
     False),
    ("an added unsigned field", sub_head(fromf, b"X-Spam: no\r\n" + fromf),
     True),
    ("trailing white space on body lines",
     head + b"\r\n\r\n" + body.replace(b"\r\n", b"  \r\n"), True),
    ("a refolded Subject (relaxed)", sub_head(subj, subj.replace(b" ", b"\r\n ", 1)),
     True),
]
for desc, msg, good in TAMPER:
    res = [verify(msg, i) for i in (0, 1)]
    report(res == [good, good], desc + (": still verifies" if good else
           ": fails verification"), res)
    odk, out = opendkim(msg, 2)
    report(odk == good, desc + (": libopendkim agrees it verifies" if good
           else ": libopendkim agrees it fails"), out)
EOF
relay_tap results $?
done_testing
