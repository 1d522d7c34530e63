/*
 * test_mime.c - mime_header(), mime_build() and mime_check_header().
 *
 * Every output is held to the rules of mime.h by the same checks: CRLF
 * only, no NUL, no line over 998 octets (CRLF included). Header values are
 * read back the way a receiver reads them - unfolded (RFC 5322 2.2.3),
 * encoded-words decoded (RFC 2047 6.2) by the small decoder below - and
 * must give the value that went in, controls turned into spaces. Bodies are
 * decoded back from quoted-printable or base64 the same way. The decoders
 * here share no code with mime.c; tests/integration/mime.sh repeats the
 * round trips with Python's email package.
 */
#include "unit.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <strings.h>
#include <unistr.h>

#include "mime.h"

#define R10(s)	s s s s s s s s s s
#define R100(s)	R10(R10(s))

/* Twenty characters each, so R100() makes the 2,000-character subjects. */
#define ASCII20	"Hello World, again! "
#define WORD20	"abcdefghijABCDEFGHIJ"
#define SPACE20	"                    "
#define UMLAUT20 "Grüße, Jürgen! 🎉 abc"

_Static_assert(sizeof(R100(ASCII20)) - 1 == 2000, "ASCII20");
_Static_assert(sizeof(R100(WORD20)) - 1 == 2000, "WORD20");
_Static_assert(sizeof(R100(SPACE20)) - 1 == 2000, "SPACE20");
/* 20 characters: 16 of one octet, 3 of two (ü ß ü) and one of four. */
_Static_assert(sizeof(UMLAUT20) - 1 == 26, "UMLAUT20");

#define LINE_MAX_OCTETS	998	/* with CRLF: stricter than RFC 5322 2.1.1 */

/* ----------------------------------------------------------- the checks */

/* CRLF only, no NUL, each line at most max octets with its CRLF. */
static void
assert_lines(const char *s, size_t n, size_t max)
{
	size_t i, start = 0;

	for (i = 0; i < n; i++) {
		assert_int_not_equal(s[i], '\0');
		assert_int_not_equal(s[i], '\n');
		if (s[i] != '\r')
			continue;
		assert_true(i + 1 < n && s[i + 1] == '\n');
		if (i + 2 - start > max)
			fail_msg("line of %zu octets: %.40s...", i + 2 - start,
			    s + start);
		start = i + 2;
		i++;
	}
	assert_int_equal(start, n);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Base64 without line breaks, as EVP_DecodeBlock wants it. */
static size_t
b64_decode(const char *s, size_t n, unsigned char *out)
{
	int len;
	size_t pad = 0;

	if (n == 0)
		return 0;
	assert_int_equal(n % 4, 0);
	len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
	assert_true(len >= 0);
	pad = (s[n - 1] == '=') + (s[n - 2] == '=');
	return (size_t)len - pad;
}

/* Q's octet count for text, as RFC 2047 5 (3) allows it in a phrase. */
static size_t
q_len(const unsigned char *s, size_t n)
{
	size_t i, q = 0;

	for (i = 0; i < n; i++)
		q += (s[i] < 0x80 && (isalnum(s[i]) || s[i] == ' ' ||
		    strchr("!*+-/", s[i]) != NULL) && s[i] != '\0') ? 1 : 3;
	return q;
}

/*
 * Decodes one encoded-word into out and checks it: at most 75
 * characters, whole UTF-8 characters, and no longer than the other
 * encoding of the same text would be.
 */
static size_t
ew_decode(const char *w, size_t n, unsigned char *out)
{
	size_t i, o = 0;
	int hi, lo;

	assert_true(n <= 75);
	assert_true(n > 12);
	assert_memory_equal(w + n - 2, "?=", 2);
	if (memcmp(w, "=?UTF-8?B?", 10) == 0) {
		o = b64_decode(w + 10, n - 12, out);
		assert_true(n - 12 <= q_len(out, o));
	} else {
		assert_memory_equal(w, "=?UTF-8?Q?", 10);
		for (i = 10; i < n - 2; i++) {
			if (w[i] == '_')
				out[o++] = ' ';
			else if (w[i] == '=') {
				hi = hexval(w[i + 1]);
				lo = hexval(w[i + 2]);
				assert_true(hi >= 0 && lo >= 0);
				out[o++] = (unsigned char)(hi * 16 + lo);
				i += 2;
			} else {
				assert_true(isalnum((unsigned char)w[i]) ||
				    strchr("!*+-/", w[i]) != NULL);
				out[o++] = (unsigned char)w[i];
			}
		}
		assert_true(n - 12 <= (o + 2) / 3 * 4);
	}
	if (u8_check(out, o) != NULL)
		fail_msg("encoded-word splits a character: %.*s", (int)n, w);
	return o;
}

/*
 * The unfolded value of the one header in h: what follows "Name: ".
 * *words says whether it is encoded-words; if so they are decoded.
 */
static char *
hdr_read(const char *h, size_t n, int *words)
{
	char *u = malloc(n + 1), *v, *out, *sp;
	size_t i, o = 0, len;

	assert_non_null(u);
	assert_true(n >= 2 && memcmp(h + n - 2, "\r\n", 2) == 0);
	for (i = 0; i < n - 2; i++) {
		if (h[i] == '\r' && h[i + 1] == '\n' && h[i + 2] == ' ')
			i++;
		else
			u[o++] = h[i];
	}
	u[o] = '\0';
	v = strchr(u, ':');
	assert_non_null(v);
	assert_int_equal(v[1], ' ');
	v += 2;
	*words = strncmp(v, "=?", 2) == 0;
	out = calloc(1, strlen(v) + 1);
	assert_non_null(out);
	if (!*words) {
		memcpy(out, v, strlen(v));
		free(u);
		return out;
	}
	for (o = 0; *v != '\0'; v = sp + (*sp == ' ')) {
		sp = strchr(v, ' ');
		if (sp == NULL)
			sp = v + strlen(v);
		len = (size_t)(sp - v);
		o += ew_decode(v, len, (unsigned char *)out + o);
	}
	free(u);
	return out;
}

/* Builds into a fresh buffer; the caller frees b. */
static void
build(const struct mime_msg *m, struct buf *b)
{
	struct err e = { 0 };

	buf_init(b, 1 << 24);
	if (mime_build(m, b, &e) < 0)
		fail_msg("mime_build: %s", e.msg);
	assert_lines(b->data, b->len, LINE_MAX_OCTETS);
}

/* The header named name in a message, with its folded lines. */
static char *
hdr_find(const char *msg, const char *name, size_t *n)
{
	const char *p = msg, *end;
	size_t nl = strlen(name);

	for (;;) {
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':')
			break;
		p = strstr(p, "\r\n");
		assert_non_null(p);
		p += 2;
		assert_false(p[0] == '\r' && p[1] == '\n');
	}
	for (end = strstr(p, "\r\n"); end[2] == ' '; end = strstr(end + 2,
	    "\r\n"))
		;
	*n = (size_t)(end + 2 - p);
	return strndup(p, *n);
}

static const struct mime_msg base_msg = {
	.from_name = "Acme News",
	.from_addr = "news@acme.example",
	.to_addr = "jane@example.com",
	.subject = "Hello",
	.text = "Hi Jane\n",
	.text_len = 8,
	.date_ms = INT64_C(1739440800123),
	.message_id = "20250213.1@acme.example",
};

/* ------------------------------------------------------- header values */

struct hdr_case {
	const char *name;
	const char *hname;
	const char *value;
	const char *want;	/* exact output, or NULL */
	const char *decoded;	/* what a reader gets; NULL: value */
	int words;		/* written as encoded-words */
	int within78;		/* every line within 78 columns */
};

static const struct hdr_case hdr_cases[] = {
	{ "header: plain ASCII as it is", "Subject", "Hello World",
	    "Subject: Hello World\r\n", NULL, 0, 1 },
	{ "header: empty value", "Subject", "", "Subject: \r\n", NULL, 0, 1 },
	{ "header: runs of spaces kept", "Subject", "a  b   c",
	    "Subject: a  b   c\r\n", NULL, 0, 1 },
	{ "header: folded at a space before column 78", "Subject",
	    "The quick brown fox jumps over the lazy dog and then runs on "
	    "and on and on until it is tired",
	    "Subject: The quick brown fox jumps over the lazy dog and then "
	    "runs on and on\r\n and on until it is tired\r\n", NULL, 0, 1 },
	{ "header: fold keeps a double space", "Subject",
	    "The quick brown fox jumps over the lazy dog and then runs on "
	    "and  ones and on until it is tired",
	    "Subject: The quick brown fox jumps over the lazy dog and then "
	    "runs on and \r\n ones and on until it is tired\r\n", NULL, 0, 1 },
	{ "header: mostly ASCII, Q is shorter", "Subject", "Jürgen",
	    "Subject: =?UTF-8?Q?J=C3=BCrgen?=\r\n", NULL, 1, 1 },
	{ "header: German umlauts, B is shorter", "Subject", "Grüße",
	    "Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n", NULL, 1, 1 },
	{ "header: emoji, B is shorter", "Subject", "🎉 Sale",
	    "Subject: =?UTF-8?B?8J+OiSBTYWxl?=\r\n", NULL, 1, 1 },
	{ "header: CR LF becomes spaces", "Subject", "Hi\r\nBcc: x@evil.test",
	    "Subject: Hi  Bcc: x@evil.test\r\n", "Hi  Bcc: x@evil.test", 0,
	    1 },
	{ "header: bare LF and bare CR", "Subject", "a\nb\rc",
	    "Subject: a b c\r\n", "a b c", 0, 1 },
	{ "header: leading CR LF", "Subject", "\r\nBcc: x@evil.test",
	    "Subject:   Bcc: x@evil.test\r\n", "  Bcc: x@evil.test", 0, 1 },
	{ "header: tab, C0 and DEL", "Subject", "a\tb\001c\037d\177e",
	    "Subject: a b c d e\r\n", "a b c d e", 0, 1 },
	{ "header: CR LF in a non-ASCII value", "Subject",
	    "Grüße\r\nBcc: x@evil.test", NULL, "Grüße  Bcc: x@evil.test", 1,
	    1 },
	{ "header: a lookalike encoded-word is encoded", "Subject",
	    "=?UTF-8?Q?a=0D=0ABcc:_x@evil.test?=", NULL, NULL, 1, 1 },
	{ "header: '=?' anywhere forces encoding", "Subject",
	    "Price =?5", NULL, NULL, 1, 1 },
	{ "header: '=' and '?' apart stay plain", "Subject", "a = b? c",
	    "Subject: a = b? c\r\n", NULL, 0, 1 },
	{ "header: invalid UTF-8 becomes U+FFFD", "Subject", "a\xff" "b\xc3",
	    NULL, "a\xef\xbf\xbd" "b\xef\xbf\xbd", 1, 1 },
	{ "header: 2,000 ASCII characters folded, not encoded", "Subject",
	    R100(ASCII20), NULL, NULL, 0, 1 },
	{ "header: 2,000 characters without a space are encoded", "Subject",
	    R100(WORD20), NULL, NULL, 1, 1 },
	{ "header: 2,000 spaces are encoded", "Subject", R100(SPACE20),
	    NULL, NULL, 1, 1 },
	{ "header: 2,000 characters with umlauts and emoji", "Subject",
	    R100(UMLAUT20), NULL, NULL, 1, 1 },
	{ "header: a word of 150 stays on a line of its own", "Subject",
	    "short " R10("abcdefghijklmno") " end",
	    "Subject: short\r\n " R10("abcdefghijklmno") "\r\n end\r\n",
	    NULL, 0, 0 },
	/* Folding right after the colon would unfold to a leading space. */
	{ "header: a name of 76 keeps its first word", "X-" R10("abcdefg")
	    "abcd", "Grüße", "X-" R10("abcdefg") "abcd:"
	    " =?UTF-8?B?R3LDvMOfZQ==?=\r\n", NULL, 1, 0 },
	{ "header: a first token too long for the line is not folded",
	    "Subject", "https://example.com/" R10("aaaaaaaaaa"),
	    "Subject: https://example.com/" R10("aaaaaaaaaa") "\r\n", NULL,
	    0, 0 },
};

static void
t_header(void **state)
{
	const struct hdr_case *c = *state;
	const char *p;
	struct buf b;
	char *got;
	int words;

	buf_init(&b, 1 << 20);
	assert_int_equal(mime_header(&b, c->hname, c->value), 0);
	if (c->want != NULL)
		assert_string_equal(b.data, c->want);
	assert_lines(b.data, b.len, c->within78 ? 80 : LINE_MAX_OCTETS);
	got = hdr_read(b.data, b.len, &words);
	assert_string_equal(got, c->decoded != NULL ? c->decoded : c->value);
	assert_int_equal(words, c->words);
	/* Only the first line starts with the name: no header of its own. */
	for (p = strstr(b.data, "\r\n"); p + 2 < b.data + b.len;
	    p = strstr(p + 2, "\r\n"))
		assert_int_equal(p[2], ' ');
	free(got);
	buf_free(&b);
}

/* Word boundaries fall between characters at every alignment. */
static void
t_header_alignment(void **state)
{
	static const char *const pieces[] = { "ü", "🎉", "€", "a", " " };
	char value[600], name[16];
	struct buf b;
	size_t i, k, o;
	char *got;
	int words;

	(void)state;
	for (k = 0; k < 40; k++) {
		for (o = 0, i = 0; o + 8 < sizeof(value); i++) {
			const char *p = pieces[(i * 7 + k) % 5];

			memcpy(value + o, p, strlen(p));
			o += strlen(p);
		}
		value[o] = '\0';
		snprintf(name, sizeof(name), "X-%.*s", (int)(k % 12),
		    "abcdefghijkl");
		buf_init(&b, 1 << 16);
		assert_int_equal(mime_header(&b, name, value), 0);
		assert_lines(b.data, b.len, 80);
		got = hdr_read(b.data, b.len, &words);
		assert_true(words);
		assert_string_equal(got, value);
		free(got);
		buf_free(&b);
	}
}

/*
 * Values built at random from pieces that matter - spaces, controls,
 * "=?", '=', '_', '?', multi-octet characters - each must meet the rules
 * and read back as written, controls as spaces. The generator is seeded,
 * so a failure repeats.
 */
static void
t_header_random(void **state)
{
	static const char *const pieces[] = {
		" ", "  ", "\r\n", "\n", "\t", "=?", "?=", "=", "_", "?",
		"a", "Word", "ü", "€", "🎉", "\"", "\\", ",", ".", "Bcc:",
		"abcdefghijklmnopqrstuvwxyz0123456789",
	};
	char value[2100], want[2100], name[24];
	unsigned long seed = 12345;
	size_t i, o, len, round;
	struct buf b;
	char *got;
	int words;

	(void)state;
	for (round = 0; round < 3000; round++) {
		seed = seed * 6364136223846793005UL + 1442695040888963407UL;
		len = (seed >> 33) % (round % 10 == 0 ? 2000 : 120);
		for (o = 0; o < len; o += strlen(pieces[i])) {
			seed = seed * 6364136223846793005UL + 1;
			i = (seed >> 33) % NELEM(pieces);
			memcpy(value + o, pieces[i], strlen(pieces[i]));
		}
		value[o] = '\0';
		for (i = 0; i <= o; i++)
			want[i] = value[i] > 0 && value[i] < 32 ? ' ' : value[i];
		snprintf(name, sizeof(name), "X-%.*s", (int)(round % 20),
		    "abcdefghijklmnopqrst");
		buf_init(&b, 1 << 20);
		assert_int_equal(mime_header(&b, name, value), 0);
		assert_lines(b.data, b.len, LINE_MAX_OCTETS);
		got = hdr_read(b.data, b.len, &words);
		if (strcmp(got, want) != 0)
			fail_msg("round %zu: \"%s\" read back as \"%s\"",
			    round, want, got);
		free(got);
		buf_free(&b);
	}
}

static void
t_header_bad_name(void **state)
{
	static const char *const names[] = {
		"", "Sub ject", "Subject:", "X-\r\nBcc", "X-\xc3\xbc",
		"X-" R10("abcdefg") "abcde",
	};
	struct buf b;
	size_t i;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(buf_adds(&b, "kept"), 0);
	for (i = 0; i < NELEM(names); i++)
		assert_int_equal(mime_header(&b, names[i], "v"), -1);
	assert_string_equal(b.data, "kept");
	buf_free(&b);
}

static void
t_header_full(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 20);
	assert_int_equal(buf_adds(&b, "kept"), 0);
	assert_int_equal(mime_header(&b, "Subject", "a fairly long value"),
	    -1);
	assert_string_equal(b.data, "kept");
	assert_int_equal(b.len, 4);
	buf_free(&b);
}

/* -------------------------------------------------------- display names */

struct from_case {
	const char *name;
	const char *display;
	const char *want;	/* the From header */
	const char *decoded;	/* the display name a reader gets */
};

static const struct from_case from_cases[] = {
	{ "from: no name", "", "From: <news@acme.example>\r\n", "" },
	{ "from: atoms", "Acme News", "From: Acme News <news@acme.example>\r\n",
	    "Acme News" },
	{ "from: comma is quoted", "Doe, Jane",
	    "From: \"Doe, Jane\" <news@acme.example>\r\n", "Doe, Jane" },
	{ "from: dot is quoted", "John Q. Public",
	    "From: \"John Q. Public\" <news@acme.example>\r\n",
	    "John Q. Public" },
	{ "from: quote and backslash escaped", "a \"b\" \\ c",
	    "From: \"a \\\"b\\\" \\\\ c\" <news@acme.example>\r\n",
	    "a \"b\" \\ c" },
	{ "from: odd spacing is quoted", " a  b",
	    "From: \" a  b\" <news@acme.example>\r\n", " a  b" },
	{ "from: non-ASCII with a comma is encoded, not quoted",
	    "Müller, Jürgen",
	    "From: =?UTF-8?B?TcO8bGxlciwgSsO8cmdlbg==?= <news@acme.example>\r\n",
	    "Müller, Jürgen" },
	{ "from: CR LF and Bcc in the name", "Eve\r\nBcc: victim@evil.test",
	    "From: \"Eve  Bcc: victim@evil.test\" <news@acme.example>\r\n",
	    "Eve  Bcc: victim@evil.test" },
	{ "from: lookalike encoded-word", "=?UTF-8?Q?Boss?=", NULL,
	    "=?UTF-8?Q?Boss?=" },
	{ "from: long name folds before the address",
	    "The Acme Corporation Newsletter Department of Things and Stuff",
	    "From: The Acme Corporation Newsletter Department of Things and "
	    "Stuff\r\n <news@acme.example>\r\n",
	    "The Acme Corporation Newsletter Department of Things and Stuff" },
};

/* A plain or quoted display name as a reader gets it. */
static char *
from_read(const char *h, size_t n)
{
	char *v, *lt, *out;
	size_t i, o = 0;
	int words;

	v = hdr_read(h, n, &words);
	assert_false(words);
	lt = strrchr(v, '<');
	assert_non_null(lt);
	*lt = '\0';
	if (lt > v)
		lt[-1] = '\0';
	if (v[0] != '"')
		return v;
	out = calloc(1, strlen(v) + 1);
	assert_non_null(out);
	for (i = 1; v[i] != '"'; i++) {
		if (v[i] == '\\')
			i++;
		out[o++] = v[i];
	}
	free(v);
	return out;
}

static void
t_from(void **state)
{
	const struct from_case *c = *state;
	struct mime_msg m = base_msg;
	struct buf b;
	char *h, *name;
	size_t n;

	m.from_name = c->display;
	build(&m, &b);
	h = hdr_find(b.data, "From", &n);
	if (c->want != NULL)
		assert_string_equal(h, c->want);
	if (c->decoded != NULL && c->decoded[0] != '\0' &&
	    strncmp(h, "From: =?", 8) != 0) {
		name = from_read(h, n);
		assert_string_equal(name, c->decoded);
		free(name);
	}
	if (strncmp(h, "From: =?", 8) == 0) {
		/* Words first, then " <addr>": decode the words alone. */
		char *lt = strstr(h, "<news@");
		int words;

		assert_non_null(lt);
		while (lt[-1] == ' ' || lt[-1] == '\n' || lt[-1] == '\r')
			lt--;
		memcpy(lt, "\r\n", 3);
		name = hdr_read(h, (size_t)(lt + 2 - h), &words);
		assert_true(words);
		assert_string_equal(name, c->decoded);
		free(name);
	}
	free(h);
	buf_free(&b);
}

/* ------------------------------------------------------ message headers */

static const char *const order_full[] = {
	"From", "To", "Reply-To", "Subject", "Date", "Message-ID",
	"MIME-Version", "List-Unsubscribe", "List-Unsubscribe-Post", "List-Id",
	"Feedback-ID", "X-Campaign", "X-Mailer", "Content-Type", NULL,
};

static const char *const order_min[] = {
	"From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
	"Content-Type", "Content-Transfer-Encoding", NULL,
};

/* The names of the message's header fields, in order, checked. */
static void
assert_order(const char *msg, const char *const *want)
{
	const char *p = msg, *colon;
	size_t i = 0;

	while (!(p[0] == '\r' && p[1] == '\n')) {
		if (p[0] != ' ') {
			colon = strchr(p, ':');
			assert_non_null(want[i]);
			assert_int_equal((size_t)(colon - p), strlen(want[i]));
			assert_memory_equal(p, want[i], strlen(want[i]));
			i++;
		}
		p = strstr(p, "\r\n") + 2;
	}
	assert_null(want[i]);
}

static const struct mime_header custom[] = {
	{ "X-Campaign", "november" },
	{ "X-Mailer", "Postbote" },
};

static struct mime_msg
full_msg(void)
{
	struct mime_msg m = base_msg;

	m.reply_to = "help@acme.example";
	m.html = "<p>Hi Jane</p>\n";
	m.html_len = strlen(m.html);
	m.unsubscribe_url = "https://acme.example/u/abc";
	m.unsubscribe_mailto = "unsub+abc@acme.example";
	m.list_id = "news.acme.example";
	m.feedback_id = "c1:news:postbote";
	m.headers = custom;
	m.nheaders = 2;
	return m;
}

static void
t_order_full(void **state)
{
	struct mime_msg m = full_msg();
	struct buf b;

	(void)state;
	build(&m, &b);
	assert_order(b.data, order_full);
	buf_free(&b);
}

static void
t_order_min(void **state)
{
	struct mime_msg m = base_msg;
	struct buf b;

	(void)state;
	build(&m, &b);
	assert_order(b.data, order_min);
	buf_free(&b);
}

/* Exact bytes of a small message; the boundary computed independently. */
static void
t_golden(void **state)
{
	struct mime_msg m = full_msg();
	unsigned char md[EVP_MAX_MD_SIZE];
	char bnd[64], want[2048];
	unsigned int mdlen;
	struct buf b;
	int i;

	(void)state;
	assert_int_equal(EVP_Digest(m.message_id, strlen(m.message_id), md,
	    &mdlen, EVP_sha256(), NULL), 1);
	memcpy(bnd, "=_pb_", 5);
	for (i = 0; i < 16; i++)
		snprintf(bnd + 5 + 2 * i, 3, "%02X", md[i]);
	snprintf(want, sizeof(want),
	    "From: Acme News <news@acme.example>\r\n"
	    "To: <jane@example.com>\r\n"
	    "Reply-To: <help@acme.example>\r\n"
	    "Subject: Hello\r\n"
	    "Date: Thu, 13 Feb 2025 10:00:00 +0000\r\n"
	    "Message-ID: <20250213.1@acme.example>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "List-Unsubscribe: <https://acme.example/u/abc>,\r\n"
	    " <mailto:unsub+abc@acme.example>\r\n"
	    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
	    "List-Id: <news.acme.example>\r\n"
	    "Feedback-ID: c1:news:postbote\r\n"
	    "X-Campaign: november\r\n"
	    "X-Mailer: Postbote\r\n"
	    "Content-Type: multipart/alternative;\r\n"
	    " boundary=\"%s\"\r\n"
	    "\r\n"
	    "--%s\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n"
	    "Hi Jane\r\n"
	    "\r\n--%s\r\n"
	    "Content-Type: text/html; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n"
	    "<p>Hi Jane</p>\r\n"
	    "\r\n--%s--\r\n", bnd, bnd, bnd, bnd);
	build(&m, &b);
	assert_string_equal(b.data, want);
	buf_free(&b);
}

static void
t_no_unsubscribe_post_without_url(void **state)
{
	struct mime_msg m = full_msg();
	struct buf b;

	(void)state;
	m.unsubscribe_url = NULL;
	build(&m, &b);
	assert_null(strstr(b.data, "List-Unsubscribe"));
	buf_free(&b);
}

static void
t_mailto_prefix_kept(void **state)
{
	struct mime_msg m = full_msg();
	struct buf b;

	(void)state;
	m.unsubscribe_mailto = "mailto:u@acme.example?subject=unsub";
	build(&m, &b);
	assert_non_null(strstr(b.data, " <mailto:u@acme.example?subject="
	    "unsub>\r\n"));
	buf_free(&b);
}

static void
t_utf8_address(void **state)
{
	struct mime_msg m = base_msg;
	struct buf b;

	(void)state;
	m.to_addr = "jürgen@xn--bcher-kva.de";
	build(&m, &b);
	assert_non_null(strstr(b.data, "\r\nTo: <jürgen@xn--bcher-kva.de>\r\n"));
	buf_free(&b);
}

struct date_case {
	const char *name;
	int64_t ms;
	const char *want;
};

static const struct date_case date_cases[] = {
	{ "date: the epoch", 0, "Date: Thu, 1 Jan 1970 00:00:00 +0000\r\n" },
	{ "date: milliseconds dropped", INT64_C(1739440800999),
	    "Date: Thu, 13 Feb 2025 10:00:00 +0000\r\n" },
	{ "date: leap day", INT64_C(1709251199000),
	    "Date: Thu, 29 Feb 2024 23:59:59 +0000\r\n" },
	{ "date: before the epoch is the epoch", -1000,
	    "Date: Thu, 1 Jan 1970 00:00:00 +0000\r\n" },
	{ "date: far future is clamped", INT64_MAX,
	    "Date: Fri, 31 Dec 9999 23:59:59 +0000\r\n" },
};

static void
t_date(void **state)
{
	const struct date_case *c = *state;
	struct mime_msg m = base_msg;
	struct buf b;
	char *h;
	size_t n;

	m.date_ms = c->ms;
	build(&m, &b);
	h = hdr_find(b.data, "Date", &n);
	assert_string_equal(h, c->want);
	free(h);
	buf_free(&b);
}

/* Every value that reaches a header, with CR LF and a header behind it. */
static void
t_injection(void **state)
{
	static const struct mime_header inj[] = {
		{ "X-Inj", "ok" },
	};
	struct mime_msg m = full_msg();
	const char *bad = "x\r\nBcc: victim@evil.test\r\n\r\nbody";
	const char *p;
	struct buf b;

	(void)state;
	m.from_name = bad;
	m.from_addr = bad;
	m.to_addr = bad;
	m.reply_to = bad;
	m.subject = bad;
	m.message_id = bad;
	m.unsubscribe_url = bad;
	m.unsubscribe_mailto = bad;
	m.list_id = bad;
	m.feedback_id = bad;
	m.headers = inj;
	m.nheaders = 1;
	build(&m, &b);
	for (p = b.data; !(p[0] == '\r' && p[1] == '\n');
	    p = strstr(p, "\r\n") + 2)
		assert_false(strncasecmp(p, "Bcc:", 4) == 0);
	assert_null(strstr(b.data, "\r\nBcc"));
	assert_order(b.data, (const char *const[]){ "From", "To", "Reply-To",
	    "Subject", "Date", "Message-ID", "MIME-Version",
	    "List-Unsubscribe", "List-Unsubscribe-Post", "List-Id",
	    "Feedback-ID", "X-Inj", "Content-Type", NULL });
	buf_free(&b);
}

/* --------------------------------------------------------------- bodies */

/* The body of a single-part message, decoded; *cte receives its CTE. */
static char *
body_read(const char *msg, size_t *len, int *b64)
{
	const char *body = strstr(msg, "\r\n\r\n"), *p, *e;
	char *out, *joined;
	size_t o = 0, j = 0;
	int hi, lo;

	assert_non_null(body);
	*b64 = strstr(msg, "Content-Transfer-Encoding: base64\r\n") != NULL &&
	    strstr(msg, "Content-Transfer-Encoding: base64\r\n") < body;
	body += 4;
	out = malloc(strlen(body) + 1);
	joined = malloc(strlen(body) + 1);
	assert_non_null(out);
	assert_non_null(joined);
	for (p = body; *p != '\0'; p++) {
		if (*b64) {
			if (*p != '\r' && *p != '\n')
				joined[j++] = *p;
		} else if (p[0] == '=' && p[1] == '\r' && p[2] == '\n')
			p += 2;
		else if (p[0] == '=') {
			hi = hexval(p[1]);
			lo = hexval(p[2]);
			assert_true(hi >= 0 && lo >= 0);
			out[o++] = (char)(hi * 16 + lo);
			p += 2;
		} else
			out[o++] = *p;
	}
	if (*b64) {
		o = b64_decode(joined, j, (unsigned char *)out);
		/* base64 lines: 76 characters, the last one no longer. */
		for (p = body; *p != '\0'; p = e + 2) {
			e = strstr(p, "\r\n");
			assert_non_null(e);
			assert_true(e[2] == '\0' ? e - p <= 76 : e - p == 76);
		}
	}
	free(joined);
	*len = o;
	return out;
}

/* QP lines of the body: at most 76 characters, no '.' or "From " first. */
static void
assert_qp_lines(const char *msg)
{
	const char *p = strstr(msg, "\r\n\r\n") + 4, *e;

	for (; *p != '\0'; p = e + 2) {
		e = strstr(p, "\r\n");
		assert_non_null(e);
		assert_true(e - p <= 76);
		assert_int_not_equal(p[0], '.');
		assert_false(strncmp(p, "From ", 5) == 0);
		assert_false(e > p && (e[-1] == ' ' || e[-1] == '\t'));
	}
}

struct body_case {
	const char *name;
	const char *in;
	size_t len;		/* 0: strlen(in) */
	const char *want;	/* the encoded body, or NULL */
	const char *decoded;	/* NULL: in as it is */
	int b64;
};

#define A76	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
		"aaaaaaaaaaa"
#define A75	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
		"aaaaaaaaaa"
_Static_assert(sizeof(A76) - 1 == 76, "A76");
_Static_assert(sizeof(A75) - 1 == 75, "A75");

static const struct body_case body_cases[] = {
	{ "qp: plain lines as they are", "Hello\r\nWorld\r\n", 0,
	    "Hello\r\nWorld\r\n", NULL, 0 },
	{ "qp: line of exactly 76 stays whole", A76 "\r\n", 0, A76 "\r\n",
	    NULL, 0 },
	{ "qp: line of 77 gets a soft break", A76 "b\r\n", 0,
	    A75 "=\r\nab\r\n", NULL, 0 },
	{ "qp: trailing space before a break", "a \r\nb\t\r\n", 0,
	    "a=20\r\nb=09\r\n", NULL, 0 },
	{ "qp: inner spaces literal", "a b\tc\r\n", 0, "a b\tc\r\n", NULL,
	    0 },
	{ "qp: leading dot", ".\r\n.a\r\n..\r\n", 0,
	    "=2E\r\n=2Ea\r\n=2E.\r\n", NULL, 0 },
	{ "qp: CRLF dot CRLF", "a\r\n.\r\nb\r\n", 0, "a\r\n=2E\r\nb\r\n",
	    NULL, 0 },
	{ "qp: dot after a soft break", A75 ".b\r\n", 0,
	    A75 "=\r\n=2Eb\r\n", NULL, 0 },
	{ "qp: From at line start", "From me\r\nFrom\r\nxFrom y\r\n", 0,
	    "=46rom me\r\nFrom\r\nxFrom y\r\n", NULL, 0 },
	{ "qp: From after a soft break", A75 "From x\r\n", 0,
	    A75 "=\r\n=46rom x\r\n", NULL, 0 },
	{ "qp: equals sign", "a=b\r\n", 0, "a=3Db\r\n", NULL, 0 },
	{ "qp: escape never split by a soft break", A75 "\xc3\xbc\r\n", 0,
	    A75 "=\r\n=C3=BC\r\n", NULL, 0 },
	{ "qp: last escape may end at 76", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=\r\n", 0,
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaa=3D\r\n", NULL, 0 },
	{ "qp: LF and CR become CRLF", "a\nb\rc\r\nd\n", 0,
	    "a\r\nb\r\nc\r\nd\r\n", "a\r\nb\r\nc\r\nd\r\n", 0 },
	{ "qp: no final line break gets a soft one", "abc", 0, "abc=\r\n",
	    NULL, 0 },
	{ "qp: soft end keeps the line within 76", A76, 0,
	    A75 "=\r\na=\r\n", NULL, 0 },
	{ "qp: NUL dropped", "a\0b\r\0\nc\n", 8, "ab\r\nc\r\n",
	    "ab\r\nc\r\n", 0 },
	{ "qp: empty body", "", 0, "", NULL, 0 },
	{ "qp: short German text may be base64", "Schöne Grüße!\n", 0,
	    "U2Now7ZuZSBHcsO8w59lIQ0K\r\n", "Schöne Grüße!\r\n", 1 },
	{ "qp: German text stays QP", "Hallo Jürgen, wir haben neue "
	    "Angebote für dich, schau sie dir gern an!\n", 0,
	    "Hallo J=C3=BCrgen, wir haben neue Angebote f=C3=BCr dich, "
	    "schau sie dir ger=\r\nn an!\r\n",
	    "Hallo Jürgen, wir haben neue Angebote für dich, schau sie dir "
	    "gern an!\r\n", 0 },
	{ "b64: Cyrillic text is base64",
	    "Привет, мир! Как дела? Всё хорошо.\n", 0, NULL,
	    "Привет, мир! Как дела? Всё хорошо.\r\n", 1 },
	{ "b64: emoji text is base64", R10("🎉🎁🎈✨") "\n", 0, NULL,
	    R10("🎉🎁🎈✨") "\r\n", 1 },
};

static void
t_body(void **state)
{
	const struct body_case *c = *state;
	struct mime_msg m = base_msg;
	const char *want = c->decoded != NULL ? c->decoded : c->in;
	struct buf b;
	size_t n;
	char *got;
	int b64;

	m.text = c->in;
	m.text_len = c->len != 0 ? c->len : strlen(c->in);
	build(&m, &b);
	if (c->want != NULL)
		assert_string_equal(strstr(b.data, "\r\n\r\n") + 4, c->want);
	got = body_read(b.data, &n, &b64);
	assert_int_equal(b64, c->b64);
	if (!b64)
		assert_qp_lines(b.data);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(got, want, n);
	free(got);
	buf_free(&b);
}

/* A 5,000-octet line, ASCII then mostly not: soft breaks, no long line. */
static void
t_body_long_line(void **state)
{
	static const char *const unit[] = { "ab.From x= ", "äöü€🎉." };
	struct mime_msg m = base_msg;
	char *in, *got;
	size_t i, o, n, k;
	struct buf b;
	int b64;

	(void)state;
	for (k = 0; k < NELEM(unit); k++) {
		in = malloc(5200);
		assert_non_null(in);
		for (o = 0, i = 0; o < 5000; i++) {
			memcpy(in + o, unit[k], strlen(unit[k]));
			o += strlen(unit[k]);
		}
		memcpy(in + o, "\r\n", 3);
		m.text = in;
		m.text_len = o + 2;
		build(&m, &b);
		got = body_read(b.data, &n, &b64);
		assert_int_equal(b64, k == 1);
		if (!b64)
			assert_qp_lines(b.data);
		assert_int_equal(n, o + 2);
		assert_memory_equal(got, in, n);
		free(got);
		free(in);
		buf_free(&b);
	}
}

/* The HTML part and a 2,000-character subject in one message. */
static void
t_long_everything(void **state)
{
	struct mime_msg m = full_msg();
	char *html, *h, *subj;
	struct buf b;
	size_t n;
	int words;

	(void)state;
	html = malloc(6001);
	assert_non_null(html);
	memset(html, 'x', 6000);
	html[6000] = '\0';
	m.html = html;
	m.html_len = 6000;
	m.subject = R100(UMLAUT20);
	build(&m, &b);
	h = hdr_find(b.data, "Subject", &n);
	assert_lines(h, n, 80);
	subj = hdr_read(h, n, &words);
	assert_string_equal(subj, R100(UMLAUT20));
	free(subj);
	free(h);
	free(html);
	buf_free(&b);
}

/* The boundary parameter of msg, copied into bnd. */
static const char *
boundary(const char *msg, char *bnd)
{
	const char *p = strstr(msg, "boundary=\"") + 10, *q;

	q = strchr(p, '"');
	assert_non_null(q);
	assert_true(q - p < 48);
	memcpy(bnd, p, (size_t)(q - p));
	bnd[q - p] = '\0';
	return bnd;
}

static void
t_deterministic(void **state)
{
	struct mime_msg m = full_msg();
	struct buf a, b;
	char bnd[48];

	(void)state;
	m.subject = "Grüße 🎉";
	build(&m, &a);
	build(&m, &b);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	buf_free(&b);
	m.message_id = "20250213.2@acme.example";
	build(&m, &b);
	/* Another Message-ID, another boundary. */
	assert_int_not_equal(a.len == b.len &&
	    memcmp(a.data, b.data, a.len) == 0, 1);
	assert_null(strstr(b.data, boundary(a.data, bnd)));
	buf_free(&a);
	buf_free(&b);
}

/* The boundary is in no part, whatever the parts hold. */
static void
t_boundary_absent(void **state)
{
	struct mime_msg m = full_msg();
	char bnd[48], text[200];
	const char *p;
	struct buf b;
	int hits = 0;

	(void)state;
	build(&m, &b);
	boundary(b.data, bnd);
	buf_free(&b);
	/* The text quotes the boundary itself and "--" lines. */
	snprintf(text, sizeof(text), "--%s\n--%s--\n=_pb_\n", bnd, bnd);
	m.text = text;
	m.text_len = strlen(text);
	m.html = text;
	m.html_len = strlen(text);
	build(&m, &b);
	for (p = b.data; (p = strstr(p, bnd)) != NULL; p++)
		hits++;
	/* Content-Type, three delimiters. */
	assert_int_equal(hits, 4);
	buf_free(&b);
}

/* ---------------------------------------------------------------- sizes */

static void
t_too_large(void **state)
{
	struct mime_msg m = full_msg();
	struct err e = { 0 };
	struct buf b;
	size_t full;

	(void)state;
	build(&m, &b);
	full = b.len;
	buf_free(&b);
	/* One octet short fails, with out as it was; the exact size fits. */
	buf_init(&b, full + 1);
	assert_int_equal(buf_adds(&b, "ab"), 0);
	assert_int_equal(mime_build(&m, &b, &e), -1);
	assert_int_equal(e.code, EX_DATAERR);
	assert_non_null(strstr(e.msg, "message is larger than"));
	assert_non_null(strstr(e.msg, "bytes"));
	assert_string_equal(b.data, "ab");
	assert_int_equal(b.len, 2);
	buf_free(&b);
	buf_init(&b, full + 2);
	assert_int_equal(buf_adds(&b, "ab"), 0);
	assert_int_equal(mime_build(&m, &b, &e), 0);
	assert_int_equal(b.len, full + 2);
	buf_free(&b);
}

static void
t_long_token(void **state)
{
	struct mime_msg m = base_msg;
	struct err e = { 0 };
	char id[1000];
	struct buf b;

	(void)state;
	memset(id, 'a', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	m.message_id = id;
	buf_init(&b, 1 << 20);
	assert_int_equal(mime_build(&m, &b, &e), -1);
	assert_int_equal(e.code, EX_DATAERR);
	assert_non_null(strstr(e.msg, "Message-ID"));
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

/* 400 octets that are not UTF-8 would be written as 1,200. */
static void
t_long_token_cleaned(void **state)
{
	struct mime_msg m = base_msg;
	struct err e = { 0 };
	char to[401];
	struct buf b;

	(void)state;
	memset(to, 0xff, sizeof(to) - 1);
	to[sizeof(to) - 1] = '\0';
	m.to_addr = to;
	buf_init(&b, 1 << 20);
	assert_int_equal(mime_build(&m, &b, &e), -1);
	assert_int_equal(e.code, EX_DATAERR);
	assert_non_null(strstr(e.msg, "To address"));
	buf_free(&b);
}

static void
t_bad_custom_header(void **state)
{
	static const struct mime_header bcc[] = { { "Bcc", "x@evil.test" } };
	struct mime_msg m = base_msg;
	struct err e = { 0 };
	struct buf b;

	(void)state;
	m.headers = bcc;
	m.nheaders = 1;
	buf_init(&b, 1 << 20);
	assert_int_equal(mime_build(&m, &b, &e), -1);
	assert_int_equal(e.code, EX_DATAERR);
	assert_non_null(strstr(e.msg, "Bcc"));
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

/* ---------------------------------------------------- mime_check_header */

struct check_case {
	const char *name;
	const char *hname;
	const char *value;
	const char *why;	/* NULL: accepted */
};

#define V900	R100("abcdefghi")
_Static_assert(sizeof(V900) - 1 == 900, "V900");

static const struct check_case check_cases[] = {
	{ "check: plain custom header", "X-Campaign", "november", NULL },
	{ "check: UTF-8 value", "X-Greeting", "Grüße 🎉", NULL },
	{ "check: empty value", "X-Empty", "", NULL },
	{ "check: value of 900 octets (limit)", "X-Long", V900, NULL },
	{ "check: name of 76 (limit)", "X-" R10("abcdefg") "abcd", "v",
	    NULL },
	{ "check: name with every ftext kind", "X-a!#$%&'*+.^_`|~9", "v",
	    NULL },
	{ "check: List-Help is not List-Unsubscribe", "List-Help",
	    "<mailto:help@acme.example>", NULL },
	{ "check: value of 901 octets", "X-Long", V900 "a", "longer than 900" },
	{ "check: name of 77", "X-" R10("abcdefg") "abcde", "v",
	    "longer than 76" },
	{ "check: empty name", "", "v", "empty" },
	{ "check: colon in the name", "X-A:B", "v", "':'" },
	{ "check: space in the name", "X A", "v", "printable ASCII" },
	{ "check: CR LF in the name", "X-A\r\nBcc", "v", "printable ASCII" },
	{ "check: non-ASCII name", "X-Grüße", "v", "printable ASCII" },
	{ "check: CR LF in the value", "X-A", "a\r\nBcc: x@evil.test",
	    "control" },
	{ "check: tab in the value", "X-A", "a\tb", "control" },
	{ "check: DEL in the value", "X-A", "a\177b", "control" },
	{ "check: C1 control in the value", "X-A", "a\xc2\x85" "b",
	    "control" },
	{ "check: invalid UTF-8", "X-A", "a\xff", "UTF-8" },
	{ "check: overlong UTF-8", "X-A", "\xc0\xaf", "UTF-8" },
	{ "check: From", "From", "x", "itself" },
	{ "check: to, any case", "to", "x", "itself" },
	{ "check: Subject", "SUBJECT", "x", "itself" },
	{ "check: Date", "Date", "x", "itself" },
	{ "check: Message-ID", "Message-Id", "x", "itself" },
	{ "check: MIME-Version", "MIME-Version", "x", "itself" },
	{ "check: Content-Type", "Content-Type", "x", "itself" },
	{ "check: any Content-*", "content-disposition", "x", "itself" },
	{ "check: List-Unsubscribe", "List-Unsubscribe", "x", "itself" },
	{ "check: List-Unsubscribe-Post", "List-Unsubscribe-Post", "x",
	    "itself" },
	{ "check: List-Id", "List-ID", "x", "itself" },
	{ "check: Feedback-ID", "Feedback-ID", "x", "itself" },
	{ "check: Reply-To", "Reply-To", "x", "itself" },
	{ "check: Return-Path", "Return-Path", "x", "itself" },
	{ "check: DKIM-Signature", "DKIM-Signature", "x", "itself" },
	{ "check: Received", "Received", "x", "itself" },
	{ "check: Bcc", "Bcc", "x", "itself" },
	{ "check: Cc", "cc", "x", "itself" },
	{ "check: Sender", "Sender", "x", "itself" },
};

static void
t_check(void **state)
{
	const struct check_case *c = *state;
	struct err e = { 0 };
	int rc;

	rc = mime_check_header(c->hname, c->value, &e);
	if (c->why == NULL) {
		if (rc != 0)
			fail_msg("refused: %s", e.msg);
		return;
	}
	assert_int_equal(rc, -1);
	assert_int_equal(e.code, EX_DATAERR);
	if (strstr(e.msg, c->why) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", e.msg, c->why);
}

int
main(void)
{
	struct unit_tests u = { 0 };

	UNIT_TABLE(&u, hdr_cases, t_header);
	unit_add(&u, "header: word boundaries at every alignment",
	    t_header_alignment, NULL);
	unit_add(&u, "header: 3,000 random values read back",
	    t_header_random, NULL);
	unit_add(&u, "header: bad names refused, buffer kept",
	    t_header_bad_name, NULL);
	unit_add(&u, "header: full buffer, buffer kept", t_header_full,
	    NULL);
	UNIT_TABLE(&u, from_cases, t_from);
	unit_add(&u, "message: header order, all headers", t_order_full,
	    NULL);
	unit_add(&u, "message: header order, text only", t_order_min, NULL);
	unit_add(&u, "message: exact bytes", t_golden, NULL);
	unit_add(&u, "message: no List-Unsubscribe without a URL",
	    t_no_unsubscribe_post_without_url, NULL);
	unit_add(&u, "message: mailto: prefix not doubled",
	    t_mailto_prefix_kept, NULL);
	unit_add(&u, "message: UTF-8 address as it is", t_utf8_address, NULL);
	UNIT_TABLE(&u, date_cases, t_date);
	unit_add(&u, "message: CR LF in every value", t_injection, NULL);
	UNIT_TABLE(&u, body_cases, t_body);
	unit_add(&u, "body: 5,000-octet line", t_body_long_line, NULL);
	unit_add(&u, "message: long subject, long HTML", t_long_everything,
	    NULL);
	unit_add(&u, "message: same input, same bytes", t_deterministic,
	    NULL);
	unit_add(&u, "message: boundary in no part", t_boundary_absent, NULL);
	unit_add(&u, "message: size limit", t_too_large, NULL);
	unit_add(&u, "message: Message-ID too long for a line", t_long_token,
	    NULL);
	unit_add(&u, "message: address too long once cleaned",
	    t_long_token_cleaned, NULL);
	unit_add(&u, "message: custom Bcc refused", t_bad_custom_header,
	    NULL);
	UNIT_TABLE(&u, check_cases, t_check);
	return unit_run(&u, "mime", NULL, NULL);
}
