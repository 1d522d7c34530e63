#!/bin/bash
# mime.sh - messages from mime_build() read back by Python's email package,
# an implementation that shares no code with ours.
#
# For each case the JSON below goes to build/tools/mime_sample, and the
# message it writes is parsed with email.message_from_bytes(data,
# policy=email.policy.default). Checked: the raw bytes (CRLF only, lines of
# at most 998 octets with the CRLF, no NUL, no body line starting with "."
# or "From "), exactly the expected header fields in order (no Bcc or
# other injected field), no parser defects, the subject and display name
# decoded back to the input (controls as spaces), and each body part
# decoded back to the input with line ends as "\n" and NUL octets dropped.
#
# One known difference: Python 3.11 keeps the white space between two
# encoded-words of a display name (CPython gh-128110; RFC 2047 6.2 says to
# drop it). A display name long enough to need several encoded-words is
# therefore decoded with email.header.decode_header(), which follows 6.2.
. "$TESTS/lib.sh"

SAMPLE="$(dirname "$PB")/tools/mime_sample"
if [ ! -x "$SAMPLE" ]; then
	notok "mime_sample is built (make $(dirname "$PB")/tools/mime_sample)"
	done_testing
	exit 1
fi

# Python prints "ok DESC", "not ok DESC" and "# detail" lines; the TAP
# numbering stays with lib.sh.
/usr/bin/python3 - "$SAMPLE" >results 2>&1 <<'EOF'
import email, email.header, email.policy, json, re, subprocess, sys
from datetime import datetime, timezone

SAMPLE = sys.argv[1]
BASE = {
    "from_name": "Acme News", "from_addr": "news@acme.example",
    "to_addr": "jane@example.com", "subject": "Hello",
    "text": "Hi Jane\n", "html": "<p>Hi Jane</p>\n",
    "date_ms": 1739440800123, "message_id": "20250213.1@acme.example",
}
LONG_SUBJECT = ("Grüße aus München, liebe Jürgen und Jörg 🎉 "
                "Sommer-Sale: 20 % auf alles! ") * 3
LONG_SUBJECT = LONG_SUBJECT[:200]
assert len(LONG_SUBJECT) == 200

CASES = [
    ("plain message", {}),
    ("all headers", {
        "reply_to": "help@acme.example",
        "unsubscribe_url": "https://acme.example/u/abc",
        "unsubscribe_mailto": "unsub+abc@acme.example",
        "list_id": "news.acme.example", "feedback_id": "c1:news:pb",
        "headers": [["X-Campaign", "november"], ["X-Note", "Grüße"]]}),
    ("text only", {"html": None}),
    ("umlauts and comma in the display name",
     {"from_name": "Müller, Jürgen"}),
    ("comma in an ASCII display name", {"from_name": "Doe, Jane"}),
    ("quotes and backslash in the display name",
     {"from_name": 'Jane "JD" Doe \\ Co.'}),
    ("Bcc injection in the display name",
     {"from_name": "Eve\r\nBcc: victim@evil.test"}),
    ("long non-ASCII display name", {"from_name": "Jürgen Müller " * 12}),
    ("emoji subject", {"subject": "🎉 Sale"}),
    ("umlaut subject", {"subject": "Grüße aus München"}),
    ("200-character subject with umlauts and emoji",
     {"subject": LONG_SUBJECT}),
    ("2,000-character ASCII subject", {"subject": "Hello World, again! " * 100}),
    ("subject with a newline", {"subject": "Hello\nWorld"}),
    ("subject with CR LF Bcc", {"subject": "Sale\r\nBcc: x@evil.test"}),
    ("subject that is CR LF Bcc", {"subject": "\r\nBcc: x@evil.test"}),
    ("subject that looks like an encoded-word",
     {"subject": "=?UTF-8?Q?a=0D=0ABcc:_x@evil.test?="}),
    ("display name that looks like an encoded-word",
     {"from_name": "=?UTF-8?Q?a=0D=0ABcc:_x@evil.test?="}),
    ("custom header with CR LF Bcc",
     {"headers": [["X-Note", "ok"]], "subject": "a\rBcc: y@evil.test"}),
    ("LF dot LF in the bodies", {"text": "a\n.\nb\n", "html": "<p>\n.\n</p>"}),
    ("CRLF dot CRLF in the bodies",
     {"text": "a\r\n.\r\nb\r\n", "html": "x\r\n.\r\ny"}),
    ("leading dot", {"text": ".hidden\n..two\n", "html": ".<br>"}),
    ("From at a line start", {"text": "From me\nFrom: you\n",
                              "html": "From here"}),
    ("long lines", {"text": ("word " * 1000).strip() + "\n",
                    "html": "<p>" + "x" * 5000 + "</p>"}),
    ("long line of umlauts", {"text": "äöü " * 1300, "html": None}),
    ("NUL octets dropped", {"text": "a\u0000b\r\u0000\nc",
                            "html": "<p>\u0000</p>"}),
    ("umlauts and emoji in the bodies",
     {"text": "Grüße, Jürgen! 🎉\n", "html": "<p>Grüße 🎉</p>\n"}),
    ("mostly emoji (base64)", {"text": "🎉🎁🎈✨" * 50, "html": "🎉" * 300}),
    ("bare CR and mixed line ends", {"text": "a\rb\r\nc\nd\n\re"}),
    ("trailing white space", {"text": "a \nb\t\nc ", "html": "x  "}),
    ("empty bodies", {"text": "", "html": ""}),
    ("UTF-8 local part", {"to_addr": "jürgen@xn--bcher-kva.de"}),
]

n_ok = 0
def report(ok, desc, detail=None):
    print(("ok " if ok else "not ok ") + desc)
    if not ok and detail:
        for line in str(detail).splitlines()[:6]:
            print("#   " + line[:200])

def clean(s):
    """What a header value becomes: C0 controls and DEL are spaces."""
    return "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in s)

def body(s):
    """What a part decodes to: NUL gone, every line end a "\\n"."""
    s = s.replace("\0", "")
    return s.replace("\r\n", "\n").replace("\r", "\n")

def expected_headers(c):
    names = ["From", "To"]
    if c.get("reply_to"):
        names.append("Reply-To")
    names += ["Subject", "Date", "Message-ID", "MIME-Version"]
    if c.get("unsubscribe_url"):
        names += ["List-Unsubscribe", "List-Unsubscribe-Post"]
    if c.get("list_id"):
        names.append("List-Id")
    if c.get("feedback_id"):
        names.append("Feedback-ID")
    names += [h[0] for h in c.get("headers", [])]
    names.append("Content-Type")
    if c.get("html") is None:
        names.append("Content-Transfer-Encoding")
    return names

def raw_checks(desc, data):
    lines = data.split(b"\r\n")
    problems = []
    if not data.endswith(b"\r\n"):
        problems.append("does not end in CRLF")
    if b"\0" in data:
        problems.append("holds NUL")
    for i, line in enumerate(lines[:-1]):
        if b"\r" in line or b"\n" in line:
            problems.append("bare CR or LF in line %d" % (i + 1))
        if len(line) + 2 > 998:
            problems.append("line %d is %d octets" % (i + 1, len(line) + 2))
    # Bytes that SMTP (dot-stuffing) or mbox ("From " quoting) would alter.
    for i, line in enumerate(lines[lines.index(b""):-1]):
        if line.startswith(b".") or line.startswith(b"From "):
            problems.append("body line starts with %r" % line[:8])
    report(not problems, desc + ": raw lines CRLF, at most 998 octets, "
           "none starting with '.' or 'From '",
           "; ".join(problems[:3]))

def display_name(raw_from, parsed):
    """The display name, per RFC 2047 6.2 when there are several words."""
    if len(re.findall(r"=\?UTF-8\?[QB]\?[^?]*\?=", raw_from)) < 2:
        return parsed.addresses[0].display_name
    phrase = raw_from[:raw_from.rindex("<")].strip()
    return str(email.header.make_header(email.header.decode_header(phrase)))

def run_case(desc, over):
    c = dict(BASE)
    c.update(over)
    c = {k: v for k, v in c.items() if v is not None}
    p = subprocess.run([SAMPLE], input=json.dumps(c).encode(),
                       capture_output=True)
    if p.returncode != 0:
        report(False, desc + ": mime_sample", p.stderr.decode())
        return
    data = p.stdout
    raw_checks(desc, data)
    m = email.message_from_bytes(data, policy=email.policy.default)
    got = list(m.keys())
    want = expected_headers(c)
    report(got == want, desc + ": exactly the expected headers",
           "got %r" % got)
    defects = list(m.defects)
    for k in m.keys():
        defects += list(m[k].defects)
    for part in m.walk():
        defects += list(part.defects)
    # RFC 6532 (SMTPUTF8) headers: Python 3.11 reads 8-bit header octets
    # as undecodable and flags them; the raw bytes are checked instead.
    utf8 = not c["to_addr"].isascii()
    if utf8:
        defects = [d for d in defects if type(d).__name__ not in
                   ("NonASCIILocalPartDefect", "UndecodableBytesDefect")]
        report(("\r\nTo: <%s>\r\n" % c["to_addr"]).encode() in data,
               desc + ": the address written as it is (RFC 6532)")
    report(not defects, desc + ": no parser defects", repr(defects))

    subj = clean(c["subject"])
    gs = str(m["subject"])
    # A plain value's leading white space is not part of it to a reader.
    if "=?" not in data.split(b"\r\nSubject:")[1].split(b"\r\n")[0].decode():
        subj = subj.lstrip(" ")
    report(gs == subj, desc + ": subject decodes back", "%r != %r" % (gs, subj))

    raw_from = data.split(b"\r\n")[0].decode()
    i = 1
    while data.split(b"\r\n")[i].startswith(b" "):
        raw_from += data.split(b"\r\n")[i].decode()
        i += 1
    raw_from = raw_from[len("From:"):]
    name = display_name(raw_from, m["from"])
    report(name == clean(c["from_name"]) and
           m["from"].addresses[0].addr_spec == c["from_addr"],
           desc + ": display name and address decode back",
           "%r / %r" % (name, m["from"].addresses[0].addr_spec))
    if not utf8:
        report(m["to"].addresses[0].addr_spec == c["to_addr"] and
               m["to"].addresses[0].display_name == "",
               desc + ": To is the bare address", str(m["to"]))
    report(m["date"].datetime == datetime.fromtimestamp(c["date_ms"] // 1000,
                                                         timezone.utc),
           desc + ": Date", str(m["date"]))
    report(m["message-id"] == "<%s>" % c["message_id"],
           desc + ": Message-ID", str(m["message-id"]))

    parts = [("plain", c["text"])]
    if "html" in c:
        parts.append(("html", c["html"]))
        report(m.get_content_type() == "multipart/alternative" and
               len(m.get_payload()) == 2,
               desc + ": multipart/alternative of two parts",
               m.get_content_type())
    for sub, text in parts:
        part = m.get_body((sub,)) if "html" in c else m
        if part is None or part.get_content_type() != "text/" + sub:
            report(False, desc + ": text/" + sub + " part found")
            continue
        got = part.get_content().replace("\r\n", "\n")
        report(got == body(text) and part.get_content_charset() == "utf-8",
               desc + ": text/" + sub + " decodes back",
               "%r != %r" % (got[:80], body(text)[:80]))
        cte = part["content-transfer-encoding"]
        report(cte in ("quoted-printable", "base64"),
               desc + ": text/" + sub + " is quoted-printable or base64",
               str(cte))

    if over.get("unsubscribe_url"):
        report(m["list-unsubscribe"] == "<%s>, <mailto:%s>" %
               (c["unsubscribe_url"], c["unsubscribe_mailto"]) and
               m["list-unsubscribe-post"] == "List-Unsubscribe=One-Click",
               desc + ": List-Unsubscribe and -Post (RFC 8058)",
               str(m["list-unsubscribe"]))

for desc, over in CASES:
    try:
        run_case(desc, over)
    except Exception as ex:
        report(False, desc + ": raised " + type(ex).__name__, repr(ex))

# Same input, same bytes; and a message over the limit fails.
def sample(c):
    return subprocess.run([SAMPLE], input=json.dumps(c).encode(),
                          capture_output=True)
a, b = sample(BASE), sample(BASE)
report(a.returncode == 0 and a.stdout == b.stdout,
       "same input gives the same bytes")
small = dict(BASE, max=200)
r = sample(small)
report(r.returncode == 65 and b"message is larger than 200 bytes" in r.stderr,
       "a message over the limit fails with EX_DATAERR",
       r.stderr.decode())
r = sample(dict(BASE, headers=[["Bcc", "x@evil.test"]]))
report(r.returncode == 65 and r.stdout == b"", "a custom Bcc header is refused",
       r.stderr.decode())
EOF
relay_tap results $?
done_testing
