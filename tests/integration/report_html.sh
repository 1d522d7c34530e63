#!/bin/bash
# report_html.sh - `postbote report --format html` end to end: two
# campaigns really sent to tests/tools/smtpd.py (one recipient refused
# for good with a hostile reply text, one for now), opens and clicks
# added, then the report of one and the --compare of both
#
#   parse     Python's html.parser, with a stack that wants every element
#             closed in order: no script, nothing loaded from elsewhere
#             (no src, no url(), no @import, no href but #fragments), the
#             refusal's "<script>" and the link's "&" arrive as text, the
#             figures match the store, thousands separated
#   browser   headless Chromium over its DevTools pipe (tests/tools/cdp.py)
#             at 1366 x 768: three charts drawn with a size, nothing wider
#             than the window, nothing refused by the page's CSP, print
#             media drops the page background and it prints to a PDF of
#             pages; the screenshot is a PNG of
#             that size, decoded here (zlib, the PNG filters) and neither
#             blank nor without the chart colours
#
# The opens and clicks are rows inserted with sqlite3 (events of type
# opened/clicked, some flagged machine) rather than requests to `track
# serve`: track.sh tests that path, and the report only reads the rows.
# Runs alone too: bash tests/integration/report_html.sh.
: "${TESTS:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${POSTBOTE:=${PB:-$TESTS/../build/postbote}}"
export TESTS POSTBOTE
. "$TESTS/lib.sh"

PY=/usr/bin/python3
SMTPD="$TESTS/tools/smtpd.py"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
PB="$POSTBOTE"

if ! "$PB" report --help >/dev/null 2>&1; then
	ok "# skip postbote has no report command yet"
	done_testing
	exit 0
fi

. "$TESTS/smtpd_lib.sh"

HOSTILE='<script>alert(1)</script> "no" & gone'
start mx --rcpt-rule "^gone@=550 5.1.1 $HOSTILE" \
    --rcpt-rule '^later@=451 4.3.0 Try again later'
cat >pb.json <<EOF
{"hostname": "mail.example.com",
 "tracking": {"base_url": "https://t.example.com"},
 "bounces": {"return_path_domain": "bounce.example.com"},
 "delivery": {"mode": "mx", "tls": "none",
  "routes": {"*.test": {"host": "127.0.0.1", "port": ${port[mx]},
   "tls": "none"}}}}
EOF
export POSTBOTE_CONFIG=$PWD/pb.json

{
	echo "email,name"
	for i in $(seq 1 1200); do echo "u$i@$(( i % 3 )).a.test,U$i"; done
	echo "gone@b.test,Gone"
	echo "later@c.test,Later"
} >list.csv
cat >t.html <<'EOF'
<p>Hello {{ name }}</p>
<p><a href="https://shop.example.com/spring?a=1&amp;b='x'">Shop</a>
<a href="https://example.com/about">About</a></p>
EOF
expect 0 "init" "$PB" init
expect 0 "a list of 1,202" "$PB" list import news list.csv
expect 0 "a template with two links" "$PB" template add t --subject Hi \
	--html t.html
for c in c1 c2; do
	expect 0 "campaign $c" "$PB" campaign create "$c" --list news \
		--template t --from 'Acme <news@example.com>'
	expect 0 "$c sent" "$PB" send "$c" --no-dkim --quiet
done
eq "... every accepted message reached the server" "$(saved mx)" 2400

# Opens spread over half an hour after delivery, a tenth of them by a
# machine;
# clicks on both links. Only c1 gets any.
sql "WITH d AS (SELECT d.recipient_id AS r, d.campaign_id AS c,
	(SELECT max(at) FROM events e WHERE e.campaign_id = d.campaign_id
	 AND e.type = 'delivered') AS t0
	FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id
	WHERE c.name = 'c1' AND d.status = 'delivered')
INSERT INTO events(campaign_id, recipient_id, type, at, detail, machine)
SELECT c, r, 'opened', t0 + r * 7919 % 1800000, '{}', r % 10 = 0
	FROM d WHERE r % 3 = 0
UNION ALL SELECT c, r, 'clicked', t0 + r * 7919 % 1800000 + 5000,
	json_object('link', r % 2), 0 FROM d WHERE r % 9 = 0"
opened=$(sql "SELECT count(*) FROM events WHERE type = 'opened'")
check "... opens and clicks inserted ($opened opens)" test "$opened" -gt 300

expect 0 "report c1 --format html" "$PB" report c1 --format html \
	--output r.html
expect 0 "report --compare c1 c2 --format html" "$PB" report --compare \
	c1 c2 --format html --output cmp.html
"$PB" report c1 --format json >r.json 2>/dev/null
check "... and the JSON model of c1" test -s r.json

# ================================================================= parse
cat >parse.py <<'EOF'
"""parse.py FILE MODE [REPORT.json]: TAP lines on the HTML report."""
import html.parser, json, re, sys

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input",
        "link", "meta", "source", "track", "wbr"}


class Strict(html.parser.HTMLParser):
    """Keeps a stack: every element closed, in order."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.tags = [], [], []
        self.text, self.doctype = [], None

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID and "svg" not in self.stack:
            self.errors.append("<%s/> outside svg" % tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("</%s> closes %s" % (tag, self.stack[-3:]))
            if tag in self.stack:
                while self.stack.pop() != tag:
                    pass
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def ok(cond, desc, detail=None):
    print(("ok " if cond else "not ok ") + desc)
    if not cond and detail is not None:
        print("#   " + str(detail)[:300])


path, mode = sys.argv[1], sys.argv[2]
src = open(path, encoding="utf-8").read()
p = Strict()
p.feed(src)
p.close()
text = " ".join(" ".join(p.text).split())
ok(not p.errors and not p.stack, "%s: every element closed in order" % path,
   p.errors[:5] or p.stack)
ok(p.doctype == "DOCTYPE html", "... <!DOCTYPE html>")
html_el = [a for t, a in p.tags if t == "html"]
ok(html_el and html_el[0].get("lang") == "en", "... <html lang=en>")
ok(any(t == "meta" and a.get("charset") == "utf-8" for t, a in p.tags),
   "... <meta charset=utf-8>")
ok(text and [t for t, _ in p.tags].count("title") >= 1, "... a <title>")
ok(not any(t in ("script", "link", "iframe", "object", "img", "embed")
           for t, _ in p.tags), "... no script, link, iframe, img")
srcs = [a["src"] for _, a in p.tags if "src" in a]
ok(not srcs, "... no src attribute", srcs)
hrefs = [a["href"] for _, a in p.tags if "href" in a]
ok(all(h.startswith("#") for h in hrefs), "... only #fragment links",
   [h for h in hrefs if not h.startswith("#")])
ok(not re.search(r"url\(|@import|@font-face", src, re.I),
   "... no url(), @import or @font-face")
ok(not re.search(r"\son[a-z]+\s*=", src, re.I), "... no event handlers")
ok("@media print" in src, "... a print style sheet")
svgs = [a for t, a in p.tags if t == "svg"]
ok(all(a.get("role") == "img" and a.get("aria-label") for a in svgs),
   "... every svg is role=img with an aria-label")

if mode == "single":
    r = json.load(open(sys.argv[3]))
    ok(len(svgs) == 3, "single: three charts", len(svgs))
    for t in ("Deliveries over time", "Outcomes per provider",
              "Opens and clicks over time"):
        ok(any(a.get("aria-label") == t for a in svgs), "... chart: " + t)
    for h in ("At a glance", "Links", "Domains", "Providers",
              "Top bounce reasons", "Timings"):
        ok(h in text, "... section: " + h)
    ok("<script>alert(1)</script> \"no\" & gone" in text,
       "... the refusal's reply arrives as text, script and all")
    ok("https://shop.example.com/spring?a=1&b='x'" in text,
       "... the link's URL as text, & and ' intact")
    c = r["counts"]
    sent = "{:,}".format(c["sent"])
    ok(c["sent"] >= 1000 and re.search(r"Sent %s of %s recipients" % (
        re.escape(sent), re.escape("{:,}".format(c["recipients"]))), text),
       "... the Sent tile: %s of %s, thousands separated" % (
        sent, "{:,}".format(c["recipients"])), text[:300])
    opens = "{:,}".format(c["opens"]["unique_human"])
    ok(re.search(r"Opened \(unique, human\) %s open rate [0-9.]+ %%" %
                 re.escape(opens), text), "... the opens tile: " + opens)
    ok(r["rates"]["delivery"] is not None and
       ("delivery rate %.1f %%" % (r["rates"]["delivery"] * 100)) in text,
       "... the delivery rate as a percentage")
    ok("hard 1" in text, "... one hard bounce")
else:
    ok(len(svgs) == 1 + 3 + 2, "compare: the rates chart and 3 + 2 charts",
       len(svgs))
    ok("No data yet" in text, "... c2's opens and clicks: no data yet")
    cmp = re.search(r'<table class="compare">.*?</table>', src, re.S)
    ok(cmp and cmp.group(0).count('<th scope="col" class="num">') == 2,
       "... a column per campaign")
    ok(cmp and re.search(r"Open rate</th><td[^>]*>[0-9.]+ %</td><td[^>]*>"
                         r"0.00 %</td>", cmp.group(0)),
       "... c1 with opens, c2 without")
    ok('id="c1"' in src and 'id="c2"' in src, "... both campaigns in full")
EOF
"$PY" parse.py r.html single r.json >parse.out 2>&1
relay_tap parse.out $?
"$PY" parse.py cmp.html compare >parse.out 2>&1
relay_tap parse.out $?

# =============================================================== browser
if [ ! -x "$CHROMIUM" ]; then
	ok "# skip no Chromium at $CHROMIUM (make deps installs it)"
	done_testing
	exit 0
fi
cat >browse.py <<'EOF'
"""browse.py CHROMIUM URL PNG CHARTS TOOLS RRGGBB: the page at 1366 x 768."""
import base64, re, struct, sys, zlib
sys.path.insert(0, sys.argv[5])
from cdp import CDP, blocked

W, H = 1366, 768


def ok(cond, desc, detail=None):
    print(("ok " if cond else "not ok ") + desc)
    if not cond and detail is not None:
        print("#   " + str(detail)[:300])


def png_pixels(data):
    """Width, height, channels and the unfiltered rows of an 8-bit PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    w, h, depth, ctype = struct.unpack(">IIBB", data[16:26])
    assert depth == 8 and ctype in (2, 6), (depth, ctype)
    ch = 3 if ctype == 2 else 4
    idat, i = b"", 8
    while i < len(data):
        n, kind = struct.unpack(">I4s", data[i:i + 8])
        if kind == b"IDAT":
            idat += data[i + 8:i + 8 + n]
        i += 12 + n
    raw, stride, rows, prev = zlib.decompress(idat), w * ch, [], None
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(
            raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        prev = prev or bytearray(stride)
        for x in range(stride):
            a = line[x - ch] if x >= ch else 0
            b, c = prev[x], prev[x - ch] if x >= ch else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[x] = (line[x] + pr) & 255
        rows.append(line)
        prev = line
    return w, h, ch, rows


chromium, url, png, charts = sys.argv[1], sys.argv[2], sys.argv[3], \
    int(sys.argv[4])
c = CDP(chromium)
try:
    c.open_page()
    c.send("Emulation.setDeviceMetricsOverride", {
        "width": W, "height": H, "deviceScaleFactor": 1, "mobile": False})
    c.navigate(url)
    n = c.eval("document.querySelectorAll('svg[role=img]').length")
    ok(n == charts, "%d charts in the DOM" % charts, n)
    sizes = c.eval("[...document.querySelectorAll('svg[role=img]')].map("
                   "s => { const r = s.getBoundingClientRect();"
                   " return [r.width, r.height]; })")
    ok(sizes and all(w >= 300 and 60 <= h <= 600 for w, h in sizes),
       "... each drawn at least 300 px wide, at most 600 px high", sizes)
    sw = c.eval("document.documentElement.scrollWidth")
    ok(sw <= W, "... nothing wider than the window", sw)
    mw = c.eval("document.querySelector('main').getBoundingClientRect()"
                ".width")
    ok(900 <= mw <= W, "... the main column fills a laptop screen", mw)
    ok(c.eval("document.scripts.length") == 0, "... no script")
    ok(not blocked(c.events), "... the CSP refused nothing",
       blocked(c.events))
    shot = c.send("Page.captureScreenshot", {"format": "png"})
    open(png, "wb").write(base64.b64decode(shot["data"]))
    c.send("Emulation.setEmulatedMedia", {"media": "print"})
    bg = c.eval("getComputedStyle(document.body).backgroundColor")
    ok(bg in ("rgba(0, 0, 0, 0)", "transparent"),
       "... print media: no page background", bg)
    pdf = base64.b64decode(c.send("Page.printToPDF", {
        "printBackground": False, "preferCSSPageSize": True})["data"])
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    ok(pdf[:5] == b"%PDF-" and pages >= 2, "... prints: %d pages" % pages)
finally:
    c.close()

data = open(png, "rb").read()
w, h = struct.unpack(">II", data[16:24])
ok((w, h) == (W, H), "the screenshot is %d x %d" % (W, H), (w, h))
w, h, ch, rows = png_pixels(data)
lum = [0.299 * r[x] + 0.587 * r[x + 1] + 0.114 * r[x + 2]
       for r in rows[::4] for x in range(0, w * ch, 4 * ch)]
mean = sum(lum) / len(lum)
var = sum((v - mean) ** 2 for v in lum) / len(lum)
ok(var > 100, "... not blank (luminance variance %.0f)" % var)
colours = {bytes(r[x:x + 3]) for r in rows for x in range(0, w * ch, ch)}
ok(len(colours) > 50, "... %d colours" % len(colours))
ok(bytes.fromhex(sys.argv[6]) in colours,
   "... the first chart's #%s shows on the first screen" % sys.argv[6])
EOF
# The delivered bars' green, the open rate's blue: the first chart's.
"$PY" browse.py "$CHROMIUM" "file://$PWD/r.html" r.png 3 "$TESTS/tools" \
	2e7d32 >browse.out 2>&1
relay_tap browse.out $?
check "r.png written" test -s r.png
"$PY" browse.py "$CHROMIUM" "file://$PWD/cmp.html" cmp.png 6 "$TESTS/tools" \
	1565c0 >browse.out 2>&1
relay_tap browse.out $?
done_testing
