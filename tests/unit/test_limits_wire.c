/*
 * test_limits_wire.c - the wire-side limits of engine/limits.h, each fed
 * through the API that enforces it at exactly its value (taken) and one
 * more (refused, or cut where the limit is a cut, with a message that
 * names the limit).
 *
 * Limits whose edge another unit test already walks are not repeated
 * here: LIMIT_SMTP_RCPTS (test_smtp: 100 recipients, 101 refused), the
 * multi-line LIMIT_SMTP_REPLY edge fed whole (test_smtp "reply cap"),
 * LIMIT_INBOUND_SIZE for inbound_parse() (inbound_mbox() is here),
 * LIMIT_INBOUND_LINE and LIMIT_INBOUND_DEPTH (test_inbound "hostile").
 * Where the limit is a size only the library
 * knows (libmicrohttpd's per-connection pool) or one no input can reach
 * (LIMIT_SMTP_CMD: smtp_new and addr_ok bound every argument first),
 * the test says so where it stands.
 *
 * Servers are this process's own threads on 127.0.0.1; nothing waits on
 * a clock except poll's guard against a hang.
 */
#include "unit.h"
#include "unit_pki.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sqlite3.h>

#include "buf.h"
#include "config.h"
#include "dkim.h"
#include "dns.h"
#include "err.h"
#include "inbound.h"
#include "smtp.h"
#include "store.h"
#include "tls.h"
#include "track.h"
#include "trackd.h"
#include "webhook.h"

#define PATH		4096
#define WAIT_MS		10000	/* a poll this long means a hang */
#define HELO_NAME	"client.example.org"
#define GREET		"220 mx.example.net ESMTP\r\n"

/* A string of n bytes cycling through the alphabet, so a cut shows where
 * it fell; the caller frees it. */
static char *
pattern(size_t n, size_t from)
{
	char *s = malloc(n + 1);
	size_t i;

	assert_non_null(s);
	for (i = 0; i < n; i++)
		s[i] = (char)('a' + (from + i) % 26);
	s[n] = '\0';
	return s;
}

/* Base64 written out here, not OpenSSL's: the test checks the engine's. */
static void
b64(const unsigned char *p, size_t n, struct buf *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789+/";
	unsigned v;
	size_t i;

	for (i = 0; i < n; i += 3) {
		v = (unsigned)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		assert_int_equal(buf_addc(out, a[v >> 18 & 63]), 0);
		assert_int_equal(buf_addc(out, a[v >> 12 & 63]), 0);
		assert_int_equal(buf_addc(out, i + 1 < n ? a[v >> 6 & 63] :
		    '='), 0);
		assert_int_equal(buf_addc(out, i + 2 < n ? a[v & 63] : '='),
		    0);
	}
}

/* ================================================================ SMTP */

/* What the session wrote since the last call. */
static void
wire(struct smtp *s, struct buf *out)
{
	const char *p;
	size_t n;

	buf_reset(out);
	p = smtp_output(s, &n);
	assert_int_equal(buf_add(out, p, n), 0);
	smtp_written(s, n);
}

static void
feeds(struct smtp *s, const char *text)
{
	smtp_feed(s, text, strlen(text));
}

/* Drains the events; the last one in *ev, their count returned. */
static int
last_event(struct smtp *s, struct smtp_event *ev)
{
	struct smtp_event x;
	int n = 0;

	memset(ev, 0, sizeof(*ev));
	while (smtp_event(s, &x)) {
		*ev = x;
		n++;
	}
	return n;
}

/* A session that has sent EHLO and waits for its reply. */
static struct smtp *
at_ehlo(const struct smtp_config *cfg)
{
	struct smtp *s;
	struct buf out;
	struct err e;

	if (smtp_new(cfg, &s, &e) < 0)
		fail_msg("smtp_new: %s", e.msg);
	buf_init(&out, 4096);
	smtp_feed(s, GREET, strlen(GREET));
	wire(s, &out);
	assert_memory_equal(out.data, "EHLO ", 5);
	buf_free(&out);
	return s;
}

/* ------------------------------------------------ LIMIT_SMTP_REPLY */

struct reply_case {
	const char *name;
	size_t lines;		/* 1: "250 ..." alone */
	size_t over;		/* bytes past LIMIT_SMTP_REPLY */
	size_t piece;		/* fed this many bytes at a time; 0: whole */
};

/*
 * test_smtp walks the edge with equal CRLF lines fed whole. These take
 * the other paths: one line that fills the buffer to the byte (refused in
 * smtp_feed, not parse_input), and lines of unequal length with bare LF
 * ends (one octet each) fed in pieces that split lines.
 */
static const struct reply_case reply_cases[] = {
	{ "SMTP_REPLY: one line of exactly 65536 bytes", 1, 0, 0 },
	{ "SMTP_REPLY: one line of 65537 bytes", 1, 1, 0 },
	{ "SMTP_REPLY: one line of 65536, fed in 1000s", 1, 0, 1000 },
	{ "SMTP_REPLY: one line of 65537, fed in 1000s", 1, 1, 1000 },
	{ "SMTP_REPLY: 77 mixed CRLF/LF lines, 65536 bytes, in 4093s", 77, 0,
	  4093 },
	{ "SMTP_REPLY: 77 mixed CRLF/LF lines, 65537 bytes, in 4093s", 77, 1,
	  4093 },
};

/* An EHLO reply of exactly total bytes in the given number of lines:
 * even lines end in a bare LF, the second says PIPELINING. */
static void
ehlo_reply(struct buf *b, size_t total, size_t lines)
{
	size_t i, len, want, end;

	for (i = 0; i < lines; i++) {
		want = i + 1 < lines ? total / lines + i % 5 : total - b->len;
		end = i % 2 == 0 ? 1 : 2;
		assert_int_equal(buf_adds(b, i + 1 < lines ? "250-" : "250 "),
		    0);
		if (i == 1 && lines > 2)
			assert_int_equal(buf_adds(b, "PIPELINING "), 0);
		for (len = b->len; b->len - len + end + 4 + (i == 1 &&
		    lines > 2 ? 11 : 0) < want;)
			assert_int_equal(buf_addc(b, 'x'), 0);
		assert_int_equal(buf_adds(b, end == 1 ? "\n" : "\r\n"), 0);
	}
	assert_int_equal(b->len, total);
}

static void
t_reply(void **state)
{
	const struct reply_case *c = *state;
	struct smtp_config cfg = { .helo = HELO_NAME };
	struct smtp *s = at_ehlo(&cfg);
	struct smtp_event ev;
	struct buf in;
	size_t off, k;

	buf_init(&in, 1 << 20);
	ehlo_reply(&in, LIMIT_SMTP_REPLY + c->over, c->lines);
	for (off = 0; off < in.len; off += k) {
		k = c->piece == 0 || in.len - off < c->piece ? in.len - off :
		    c->piece;
		smtp_feed(s, in.data + off, k);
	}
	last_event(s, &ev);
	if (c->over == 0) {
		assert_int_equal(ev.type, SMTP_EV_READY);
		assert_int_equal(smtp_caps(s)->pipelining, c->lines > 2);
	} else {
		assert_int_equal(ev.type, SMTP_EV_CLOSED);
		assert_int_equal(ev.status, SMTP_TEMP);
		assert_string_equal(ev.dsn, "4.5.0");
		assert_non_null(strstr(ev.text, "reply longer than 65536 "
		    "bytes"));
	}
	buf_free(&in);
	smtp_free(s);
}

/* ------------------------------------------------- LIMIT_SMTP_TEXT */

struct text_case {
	const char *name;
	size_t first;		/* text of the first line */
	size_t second;		/* of a second line; 0: none */
};

/*
 * The event's text is a char[LIMIT_SMTP_TEXT]: LIMIT_SMTP_TEXT - 1
 * characters and the NUL. Lines are joined by one space, which counts.
 */
static const struct text_case text_cases[] = {
	{ "SMTP_TEXT: 511 characters kept whole", LIMIT_SMTP_TEXT - 1, 0 },
	{ "SMTP_TEXT: 512 characters cut to 511", LIMIT_SMTP_TEXT, 0 },
	{ "SMTP_TEXT: two lines joined, 511 kept whole", 300,
	  LIMIT_SMTP_TEXT - 1 - 301 },
	{ "SMTP_TEXT: two lines joined, 512 cut to 511", 300,
	  LIMIT_SMTP_TEXT - 301 },
};

/* A 554 greeting ends the session; its text is the event's. */
static void
t_text(void **state)
{
	const struct text_case *c = *state;
	struct smtp_config cfg = { .helo = HELO_NAME };
	char *a = pattern(c->first, 0), *b = pattern(c->second, c->first + 1);
	struct smtp_event ev;
	struct buf in, want;
	struct smtp *s;
	struct err e;

	buf_init(&in, 1 << 16);
	buf_init(&want, 1 << 16);
	assert_int_equal(smtp_new(&cfg, &s, &e), 0);
	if (c->second > 0)
		assert_int_equal(buf_printf(&in, "554-%s\r\n554 %s\r\n", a, b),
		    0);
	else
		assert_int_equal(buf_printf(&in, "554 %s\r\n", a), 0);
	assert_int_equal(buf_printf(&want, "%s%s%s", a, c->second ? " " : "",
	    b), 0);
	smtp_feed(s, in.data, in.len);
	last_event(s, &ev);
	assert_int_equal(ev.type, SMTP_EV_CLOSED);
	assert_int_equal(ev.code, 554);
	assert_int_equal(strlen(ev.text), want.len < LIMIT_SMTP_TEXT ?
	    want.len : LIMIT_SMTP_TEXT - 1);
	assert_memory_equal(ev.text, want.data, strlen(ev.text));
	free(a);
	free(b);
	buf_free(&in);
	buf_free(&want);
	smtp_free(s);
}

/* ------------------------------------------------- LIMIT_SMTP_CRED */

struct cred_case {
	const char *name;
	size_t user;
	size_t pass;
	const char *mechs;
	int ok;
};

static const struct cred_case cred_cases[] = {
	{ "SMTP_CRED: 256-byte user and password, AUTH PLAIN",
	  LIMIT_SMTP_CRED, LIMIT_SMTP_CRED, "PLAIN", 1 },
	{ "SMTP_CRED: 256-byte user and password, AUTH LOGIN",
	  LIMIT_SMTP_CRED, LIMIT_SMTP_CRED, "LOGIN", 1 },
	{ "SMTP_CRED: 257-byte user refused", LIMIT_SMTP_CRED + 1, 8, NULL,
	  0 },
	{ "SMTP_CRED: 257-byte password refused", 8, LIMIT_SMTP_CRED + 1,
	  NULL, 0 },
};

/* Expects exactly line (CRLF added) next on the wire. */
static void
expect_line(struct smtp *s, const struct buf *line)
{
	struct buf out;

	buf_init(&out, 1 << 16);
	wire(s, &out);
	assert_int_equal(out.len, line->len + 2);
	assert_memory_equal(out.data, line->data, line->len);
	assert_memory_equal(out.data + line->len, "\r\n", 2);
	buf_free(&out);
}

static void
auth_plain(struct smtp *s, const char *user, const char *pass)
{
	struct buf raw, line;

	buf_init(&raw, 1 << 12);
	buf_init(&line, 1 << 12);
	assert_int_equal(buf_addc(&raw, '\0'), 0);
	assert_int_equal(buf_adds(&raw, user), 0);
	assert_int_equal(buf_addc(&raw, '\0'), 0);
	assert_int_equal(buf_adds(&raw, pass), 0);
	assert_int_equal(buf_adds(&line, "AUTH PLAIN "), 0);
	b64((const unsigned char *)raw.data, raw.len, &line);
	expect_line(s, &line);
	buf_free(&raw);
	buf_free(&line);
}

static void
auth_login(struct smtp *s, const char *user, const char *pass)
{
	struct buf line;

	buf_init(&line, 1 << 12);
	assert_int_equal(buf_adds(&line, "AUTH LOGIN"), 0);
	expect_line(s, &line);
	feeds(s, "334 VXNlcm5hbWU6\r\n");
	buf_reset(&line);
	b64((const unsigned char *)user, strlen(user), &line);
	expect_line(s, &line);
	feeds(s, "334 UGFzc3dvcmQ6\r\n");
	buf_reset(&line);
	b64((const unsigned char *)pass, strlen(pass), &line);
	expect_line(s, &line);
	buf_free(&line);
}

/* Taken credentials go out whole (the command fits LIMIT_SMTP_CMD); a
 * refusal names the limit and never the credential. */
static void
t_cred(void **state)
{
	const struct cred_case *c = *state;
	char *user = pattern(c->user, 0), *pass = pattern(c->pass, 7);
	struct smtp_config cfg = { .helo = HELO_NAME, .implicit_tls = 1,
	    .auth_user = user, .auth_pass = pass, .auth_mechs = c->mechs };
	struct smtp_event ev;
	struct smtp *s;
	struct err e;

	if (!c->ok) {
		assert_int_equal(smtp_new(&cfg, &s, &e), -1);
		assert_int_equal(e.code, EX_CONFIG);
		assert_non_null(strstr(e.msg, "at most 256"));
		assert_null(strstr(e.msg, c->user > c->pass ? user : pass));
		goto out;
	}
	s = at_ehlo(&cfg);
	feeds(s, "250-mx\r\n250 AUTH PLAIN LOGIN\r\n");
	if (strcmp(c->mechs, "PLAIN") == 0)
		auth_plain(s, user, pass);
	else
		auth_login(s, user, pass);
	feeds(s, "235 2.7.0 ok\r\n");
	last_event(s, &ev);
	assert_int_equal(ev.type, SMTP_EV_READY);
	smtp_free(s);
out:
	free(user);
	free(pass);
}

/* ------------------------------------------------- LIMIT_SMTP_HELO */

static void
t_helo(void **state)
{
	char *name = pattern(LIMIT_SMTP_HELO + 1, 0);
	struct smtp_config cfg = { .helo = name };
	struct buf line;
	struct smtp *s;
	struct err e;

	(void)state;
	assert_int_equal(smtp_new(&cfg, &s, &e), -1);
	assert_int_equal(e.code, EX_CONFIG);
	assert_non_null(strstr(e.msg, "1 to 255 characters"));
	/* at 255 the EHLO line carries the name whole */
	name[LIMIT_SMTP_HELO] = '\0';
	assert_int_equal(smtp_new(&cfg, &s, &e), 0);
	smtp_feed(s, GREET, strlen(GREET));
	buf_init(&line, 1024);
	assert_int_equal(buf_printf(&line, "EHLO %s", name), 0);
	expect_line(s, &line);
	buf_free(&line);
	smtp_free(s);
	free(name);
}

/* -------------------------------------------------- LIMIT_SMTP_CMD */

/*
 * No input reaches LIMIT_SMTP_CMD: cmd() and linef() abort() past it,
 * an invariant, because smtp_new() bounds the EHLO name and credentials
 * and addr_ok() the addresses (2 * LIMIT_ADDR octets). These are the
 * longest commands those bounds allow - all go out whole, well inside
 * 1024 - and the address one octet over, refused before any command.
 */
static void
t_cmd_longest(void **state)
{
	static const char tail[] = "\xc3\xbc@example.net";
	struct smtp_config cfg = { .helo = HELO_NAME };
	char addr[2 * LIMIT_ADDR + 2];
	const char *rcpt[1] = { addr };
	struct smtp_event ev;
	struct smtp_body b;
	struct smtp_mem m;
	struct buf out, want;
	struct smtp *s = at_ehlo(&cfg);
	struct err e;

	(void)state;
	buf_init(&out, 1 << 16);
	buf_init(&want, 1 << 16);
	memset(addr, 'a', 2 * LIMIT_ADDR);
	memcpy(addr + 2 * LIMIT_ADDR - strlen(tail), tail, strlen(tail) + 1);
	assert_int_equal(strlen(addr), 2 * LIMIT_ADDR);
	feeds(s, "250-mx\r\n250-SIZE\r\n250-8BITMIME\r\n250-PIPELINING\r\n"
	    "250 SMTPUTF8\r\n");
	last_event(s, &ev);
	assert_int_equal(ev.type, SMTP_EV_READY);
	smtp_body_mem(&b, &m, "x\r\n", 3);
	b.eightbit = 1;
	assert_int_equal(smtp_send(s, addr, rcpt, 1, UINT64_MAX, &b, &e), 0);
	wire(s, &out);
	assert_int_equal(buf_printf(&want, "MAIL FROM:<%s> "
	    "SIZE=18446744073709551615 BODY=8BITMIME SMTPUTF8\r\n"
	    "RCPT TO:<%s>\r\nDATA\r\n", addr, addr), 0);
	assert_int_equal(out.len, want.len);
	assert_memory_equal(out.data, want.data, want.len);
	feeds(s, "250 ok\r\n250 ok\r\n554 no\r\n");
	last_event(s, &ev);
	assert_int_equal(ev.type, SMTP_EV_READY);
	/* one octet more: refused here, nothing written */
	memset(addr, 'a', 2 * LIMIT_ADDR + 1);
	addr[2 * LIMIT_ADDR + 1] = '\0';
	assert_int_equal(smtp_send(s, "s@example.org", rcpt, 1, 0, &b, &e), 0);
	wire(s, &out);
	assert_int_equal(out.len, 0);
	smtp_event(s, &ev);
	assert_int_equal(ev.type, SMTP_EV_RCPT);
	assert_int_equal(ev.status, SMTP_PERM);
	assert_non_null(strstr(ev.text, "too long"));
	buf_free(&out);
	buf_free(&want);
	smtp_free(s);
}

/* ================================================================ DKIM */

static struct {
	char *dir;
	char ed[PATH];
	char rsa[PATH];
} dk;

static int
dk_keygen(const char *sel, enum dkim_algorithm alg, int bits,
    const char *path)
{
	struct dkim_keygen_req r = { "example.com", sel, alg, bits, path };
	struct buf b;
	struct err e;
	int rc;

	buf_init(&b, LIMIT_DKIM_SIGNATURES);
	if ((rc = dkim_keygen(&r, &b, &e)) < 0)
		fprintf(stderr, "# keygen: %s\n", e.msg);
	buf_free(&b);
	return rc;
}

static int
dk_setup(void **state)
{
	(void)state;
	if ((dk.dir = unit_tmpdir()) == NULL)
		return -1;
	snprintf(dk.ed, PATH, "%s/ed.pem", dk.dir);
	snprintf(dk.rsa, PATH, "%s/rsa.pem", dk.dir);
	return dk_keygen("ed", DKIM_ED25519_SHA256, 0, dk.ed) < 0 ||
	    dk_keygen("rsa", DKIM_RSA_SHA256, 1024, dk.rsa) < 0 ? -1 : 0;
}

static int
dk_teardown(void **state)
{
	(void)state;
	unit_rmtree(dk.dir);
	free(dk.dir);
	return 0;
}

/* The ed25519 key under a selector of sel octets, and the RSA one too
 * when both. */
static struct dkim_signer *
dk_signer(size_t sel, int both)
{
	char name[LIMIT_DKIM_SELECTOR + 1];
	struct dkim_key_conf k[2] = {
		{ "example.com", name, "ed25519-sha256", dk.ed },
		{ "example.com", "rsa", "rsa-sha256", dk.rsa },
	};
	struct dkim_signer *s;
	struct err e;

	memset(name, 's', sel);
	name[sel] = '\0';
	if (dkim_signer_open(k, both ? 2 : 1, &s, &e) < 0)
		fail_msg("signer: %s", e.msg);
	return s;
}

/* From, Subject and n more fields: "List-Unsubscribe-Post" when signed
 * (22 octets of h= each), else "X-Pad". */
static void
dk_message(struct buf *m, size_t n, int sign)
{
	size_t i;

	buf_reset(m);
	assert_int_equal(buf_adds(m, "From: a@example.com\r\n"
	    "Subject: limits\r\n"), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(buf_adds(m, sign ? "List-Unsubscribe-Post: "
		    "List-Unsubscribe=One-Click\r\n" : "X-Pad: x\r\n"), 0);
	assert_int_equal(buf_adds(m, "\r\nbody\r\n"), 0);
}

/* 512 header fields sign; the 513th is refused. */
static void
t_dkim_fields(void **state)
{
	struct dkim_signer *s = dk_signer(2, 0);
	struct buf m, out;
	struct err e;

	(void)state;
	buf_init(&m, 1 << 20);
	buf_init(&out, 1 << 16);
	dk_message(&m, LIMIT_DKIM_FIELDS - 2, 0);
	if (dkim_signer_sign(s, m.data, m.len, &out, &e) < 0)
		fail_msg("512 fields: %s", e.msg);
	assert_memory_equal(out.data, "DKIM-Signature:", 15);
	buf_reset(&out);
	dk_message(&m, LIMIT_DKIM_FIELDS - 1, 0);
	assert_int_equal(dkim_signer_sign(s, m.data, m.len, &out, &e), -1);
	assert_int_equal(e.code, EX_DATAERR);
	assert_non_null(strstr(e.msg, "more than 512 header fields"));
	assert_int_equal(out.len, 0);
	buf_free(&m);
	buf_free(&out);
	dkim_signer_close(s);
}

/* The size the fields take, signed or as the refusal names it; 0 for any
 * other failure. */
static size_t
dk_size(struct dkim_signer *s, const struct buf *m, struct err *e)
{
	struct buf out;
	const char *p;
	size_t n = 0;

	buf_init(&out, 1 << 16);
	if (dkim_signer_sign(s, m->data, m->len, &out, e) == 0)
		n = out.len;
	else if (e->code == EX_DATAERR &&
	    (p = strstr(e->msg, "would take ")) != NULL)
		n = strtoul(p + 11, NULL, 10);
	buf_free(&out);
	return n;
}

struct sig_case {
	const char *name;
	int both;		/* ed25519 and RSA: the limit is their sum */
	size_t want;
};

static const struct sig_case sig_cases[] = {
	{ "DKIM_SIGNATURES: one signature of exactly 8192 bytes", 0,
	  LIMIT_DKIM_SIGNATURES },
	{ "DKIM_SIGNATURES: one signature of 8193 bytes refused", 0,
	  LIMIT_DKIM_SIGNATURES + 1 },
	{ "DKIM_SIGNATURES: two signatures of 8192 bytes together", 1,
	  LIMIT_DKIM_SIGNATURES },
	{ "DKIM_SIGNATURES: two signatures of 8193 bytes refused", 1,
	  LIMIT_DKIM_SIGNATURES + 1 },
};

/*
 * The size a signature takes depends on h= (the signed fields) and the
 * folding; the selector's length moves it an octet at a time. Searched
 * here, not hard-coded, so that a change of layout cannot make the case
 * miss its edge silently: fields by the 10, then the selector.
 */
static void
t_dkim_signatures(void **state)
{
	const struct sig_case *c = *state;
	struct dkim_signer *sg[LIMIT_DKIM_SELECTOR + 1] = { 0 };
	size_t k, sel, lo, hi;
	struct buf m, out;
	struct err e;
	int found = 0, rc;

	buf_init(&m, 1 << 20);
	buf_init(&out, 1 << 16);
	for (sel = 1; sel <= LIMIT_DKIM_SELECTOR; sel++)
		sg[sel] = dk_signer(sel, c->both);
	for (k = 10; k + 2 < LIMIT_DKIM_FIELDS && !found; k++) {
		dk_message(&m, k, 1);
		lo = dk_size(sg[1], &m, &e);
		hi = dk_size(sg[LIMIT_DKIM_SELECTOR], &m, &e);
		assert_true(lo > 0 && hi > 0);
		if (lo > c->want)
			break;
		if (hi < c->want)
			continue;
		for (sel = 1; sel <= LIMIT_DKIM_SELECTOR && !found; sel++)
			found = dk_size(sg[sel], &m, &e) == c->want;
	}
	if (!found)
		fail_msg("no message signs to exactly %zu bytes", c->want);
	sel--;
	rc = dkim_signer_sign(sg[sel], m.data, m.len, &out, &e);
	if (c->want <= LIMIT_DKIM_SIGNATURES) {
		assert_int_equal(rc, 0);
		assert_int_equal(out.len, c->want);
		assert_memory_equal(out.data, "DKIM-Signature:", 15);
	} else {
		assert_int_equal(rc, -1);
		assert_int_equal(e.code, EX_DATAERR);
		assert_int_equal(out.len, 0);
		assert_non_null(strstr(e.msg, "8193 bytes, over the limit of "
		    "8192"));
	}
	for (sel = 1; sel <= LIMIT_DKIM_SELECTOR; sel++)
		dkim_signer_close(sg[sel]);
	buf_free(&m);
	buf_free(&out);
}

/* ============================================================= inbound */

static void
parse_ok(const char *m, size_t n, struct inbound *in)
{
	struct err e;

	if (inbound_parse(m, n, in, &e) < 0)
		fail_msg("refused: %s", e.msg);
}

static void
parse_refused(const char *m, size_t n, const char *why)
{
	struct inbound in;
	struct err e;

	assert_int_equal(inbound_parse(m, n, &in, &e), -1);
	inbound_free(&in);
	assert_int_equal(e.code, EX_DATAERR);
	if (strstr(e.msg, why) == NULL)
		fail_msg("refused as \"%s\", not for \"%s\"", e.msg, why);
}

/* A header block of total octets, CRLF counted, the blank line after it
 * not; Subject last, so it is read only if the whole block was. */
static void
header_block(struct buf *b, size_t total)
{
	static const char subj[] = "Subject: the-last-field\r\n";
	size_t end = total - (sizeof(subj) - 1), line;

	buf_reset(b);
	while (b->len < end) {
		line = end - b->len > 1000 ? 1000 : end - b->len;
		if (end - b->len - line < 16 && end - b->len > line)
			line = (end - b->len) / 2;
		assert_int_equal(buf_adds(b, "X-Pad: "), 0);
		while (line-- > 9)
			assert_int_equal(buf_addc(b, 'p'), 0);
		assert_int_equal(buf_adds(b, "\r\n"), 0);
	}
	assert_int_equal(buf_adds(b, subj), 0);
	assert_int_equal(b->len, total);
	assert_int_equal(buf_adds(b, "\r\nbody\r\n"), 0);
}

static void
t_inbound_header(void **state)
{
	struct inbound in;
	struct buf m;

	(void)state;
	buf_init(&m, 1 << 20);
	header_block(&m, LIMIT_INBOUND_HEADER);
	parse_ok(m.data, m.len, &in);
	assert_string_equal(in.subject, "the-last-field");
	inbound_free(&in);
	header_block(&m, LIMIT_INBOUND_HEADER + 1);
	parse_refused(m.data, m.len, "a header block longer than 262144 "
	    "bytes");
	buf_free(&m);
}

/*
 * The parts counted are MIME entities, the message's own header block
 * the first: a multipart/mixed with 255 leaves is 256 parts.
 */
static void
multipart(struct buf *b, size_t leaves)
{
	size_t i;

	buf_reset(b);
	assert_int_equal(buf_adds(b, "Subject: parts\r\nContent-Type: "
	    "multipart/mixed; boundary=b\r\n\r\n"), 0);
	for (i = 0; i < leaves; i++)
		assert_int_equal(buf_printf(b, "--b\r\nContent-Type: "
		    "text/plain\r\n\r\npart %zu\r\n", i), 0);
	assert_int_equal(buf_adds(b, "--b--\r\n"), 0);
}

static void
t_inbound_parts(void **state)
{
	struct inbound in;
	struct buf m;

	(void)state;
	buf_init(&m, 1 << 20);
	multipart(&m, LIMIT_INBOUND_PARTS - 1);
	parse_ok(m.data, m.len, &in);
	assert_non_null(in.text);
	assert_string_equal(in.text, "part 0");
	inbound_free(&in);
	multipart(&m, LIMIT_INBOUND_PARTS);
	parse_refused(m.data, m.len, "more than 256 MIME parts");
	buf_free(&m);
}

struct mbox_got {
	int calls;
	int kept;
	size_t len;
};

static int
mbox_cb(const char *msg, size_t len, long line, void *ctx)
{
	struct mbox_got *g = ctx;

	(void)line;
	g->calls++;
	g->kept = msg != NULL;
	g->len = len;
	return 0;
}

/* inbound_mbox() holds LIMIT_INBOUND_SIZE octets of a message at most:
 * one of exactly that is handed whole, one more as too large. */
static void
t_inbound_mbox(void **state)
{
	static const char from[] = "From a@example.org Mon Jan  1 00:00:00 "
	    "2024\n";
	size_t over, i, len;
	struct mbox_got g;
	struct err e;
	FILE *fp;
	char *f;

	(void)state;
	for (over = 0; over <= 1; over++) {
		len = sizeof(from) - 1 + LIMIT_INBOUND_SIZE + over;
		f = malloc(len);
		assert_non_null(f);
		memcpy(f, from, sizeof(from) - 1);
		memcpy(f + sizeof(from) - 1, "Subject: x\n\n", 12);
		for (i = sizeof(from) - 1 + 12; i < len; i++)
			f[i] = i % 72 == 0 || i + 1 == len ? '\n' : 'm';
		fp = fmemopen(f, len, "r");
		assert_non_null(fp);
		memset(&g, 0, sizeof(g));
		assert_int_equal(inbound_mbox(fp, "t.mbox", mbox_cb, &g, &e),
		    0);
		fclose(fp);
		free(f);
		assert_int_equal(g.calls, 1);
		assert_int_equal(g.kept, !over);
		assert_int_equal(g.len, LIMIT_INBOUND_SIZE + over);
	}
}

/* A message kept for review: its first LIMIT_INBOUND_REVIEW octets.
 * (test_feedback checks N and N + 4096; this the octet past N.) */
static void
t_inbound_review(void **state)
{
	char *dir = unit_tmpdir(), db[PATH];
	size_t n = LIMIT_INBOUND_REVIEW + 1;
	unsigned char *msg = malloc(n);
	struct store *st;
	sqlite3_stmt *q;
	sqlite3 *raw;
	struct err e;
	size_t i;

	(void)state;
	assert_non_null(dir);
	assert_non_null(msg);
	for (i = 0; i < n; i++)
		msg[i] = (unsigned char)(i * 13 + i / 257);
	snprintf(db, sizeof(db), "%s/t.db", dir);
	assert_int_equal(store_open(db, STORE_CREATE, &st, &e), 0);
	if (store_inbound_review(st, 0, 0, "at", msg, n - 1, &e) < 0 ||
	    store_inbound_review(st, 0, 0, "over", msg, n, &e) < 0)
		fail_msg("review: %s", e.msg);
	store_close(st);
	assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(raw, "SELECT message FROM "
	    "inbound_review ORDER BY id", -1, &q, NULL), SQLITE_OK);
	for (i = 0; i < 2; i++) {
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		assert_int_equal(sqlite3_column_bytes(q, 0),
		    LIMIT_INBOUND_REVIEW);
		assert_memory_equal(sqlite3_column_blob(q, 0), msg,
		    LIMIT_INBOUND_REVIEW);
	}
	assert_int_equal(sqlite3_step(q), SQLITE_DONE);
	sqlite3_finalize(q);
	sqlite3_close(raw);
	unit_rmtree(dir);
	free(dir);
	free(msg);
}

/* ========================================================== HTTP server */

static int
tcp_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Reads until the peer closes; -1 on a hang or an error. */
static ssize_t
read_all(int fd, struct buf *b)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char chunk[4096];
	ssize_t n;

	for (;;) {
		if (poll(&p, 1, WAIT_MS) != 1)
			return -1;
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return (ssize_t)b->len;
		if (n < 0)
			return -1;
		if (buf_add(b, chunk, (size_t)n) < 0)
			return -1;
	}
}

/* Sends req whole (a server may close early: that is an answer too) and
 * returns the response's status; 0 when it closed without one. */
static int
http_status(int port, const char *req, size_t len)
{
	int fd = tcp_connect(port), status = 0;
	size_t off = 0;
	ssize_t n;
	struct buf b;

	buf_init(&b, 1 << 20);
	while (off < len && (n = send(fd, req + off, len - off,
	    MSG_NOSIGNAL)) > 0)
		off += (size_t)n;
	assert_true(read_all(fd, &b) >= 0);
	if (b.len > 12 && memcmp(b.data, "HTTP/1.", 7) == 0)
		status = (int)strtol(b.data + 9, NULL, 10);
	close(fd);
	buf_free(&b);
	return status;
}

static struct {
	char *dir;
	struct trackd *d;
	int port;
	struct feedback_policy policy;
} hs;

static int
hs_setup(void **state)
{
	struct trackd_opts o = { .listen = "127.0.0.1:0", .threads = 2 };
	struct track_key key;
	struct store *st;
	char db[PATH];
	struct err e;

	(void)state;
	if ((hs.dir = unit_tmpdir()) == NULL)
		return -1;
	snprintf(db, sizeof(db), "%s/t.db", hs.dir);
	if (store_open(db, STORE_CREATE, &st, &e) < 0)
		return -1;
	if (track_key_load(st, 1, &key, &e) < 0) {
		store_close(st);
		return -1;
	}
	store_close(st);
	o.db_path = db;
	o.policy = &hs.policy;
	if (trackd_start(&o, &hs.d, &e) < 0) {
		fprintf(stderr, "# trackd: %s\n", e.msg);
		return -1;
	}
	hs.port = (int)strtol(strrchr(trackd_address(hs.d), ':') + 1, NULL,
	    10);
	return 0;
}

static int
hs_teardown(void **state)
{
	(void)state;
	trackd_stop(hs.d);
	unit_rmtree(hs.dir);
	free(hs.dir);
	return 0;
}

/* ---------------------------------------------------- LIMIT_HTTP_BODY */

/*
 * A POST to /u/TOKEN: at the limit the body is read and the (forged)
 * token decides - 404; one octet over, 413 from the declared length
 * before the body is read (so none is sent: a server closing on unread
 * data resets the connection, which may drop its answer). Chunked, the
 * length is known only as it comes: over the limit the connection
 * closes without an answer.
 */
static void
t_http_body(void **state)
{
	struct buf r;
	size_t over, n;
	char *body;

	(void)state;
	buf_init(&r, 1 << 16);
	for (over = 0; over <= 1; over++) {
		n = LIMIT_HTTP_BODY + over;
		body = pattern(n, 0);
		buf_reset(&r);
		assert_int_equal(buf_printf(&r, "POST /u/AAAAAAAA HTTP/1.1\r\n"
		    "Host: t\r\nConnection: close\r\nContent-Type: "
		    "application/x-www-form-urlencoded\r\nContent-Length: "
		    "%zu\r\n\r\n%s", n, over ? "" : body), 0);
		assert_int_equal(http_status(hs.port, r.data, r.len),
		    over ? 413 : 404);
		buf_reset(&r);
		assert_int_equal(buf_printf(&r, "POST /u/AAAAAAAA HTTP/1.1\r\n"
		    "Host: t\r\nConnection: close\r\nTransfer-Encoding: "
		    "chunked\r\n\r\n%zx\r\n%.*s\r\n%zx\r\n%s\r\n0\r\n\r\n",
		    n / 2, (int)(n / 2), body, n - n / 2, body + n / 2), 0);
		assert_int_equal(http_status(hs.port, r.data, r.len),
		    over ? 0 : 404);
		free(body);
	}
	buf_free(&r);
}

/* --------------------------------------------------- LIMIT_HTTP_MEMORY */

/*
 * LIMIT_HTTP_MEMORY is libmicrohttpd's pool for one connection: the
 * request line and headers share it with the library's own bookkeeping,
 * so the largest request taken is some octets short of the limit, by an
 * amount that is the library's (32368 of 32768 with 0.9.75). What holds:
 * a request 1 KiB short of the pool is served, and one whose header
 * alone is one octet over the pool is refused with 431.
 */
static void
t_http_memory(void **state)
{
	size_t pads[2] = { LIMIT_HTTP_MEMORY - 1024, LIMIT_HTTP_MEMORY + 1 };
	int want[2] = { 200, 431 };
	struct buf r;
	char *pad;
	int i;

	(void)state;
	buf_init(&r, 1 << 17);
	for (i = 0; i < 2; i++) {
		pad = pattern(pads[i] - 9, 0);	/* "X-Pad: " and CRLF */
		buf_reset(&r);
		assert_int_equal(buf_printf(&r, "GET /healthz HTTP/1.1\r\n"
		    "Host: t\r\nConnection: close\r\nX-Pad: %s\r\n\r\n", pad),
		    0);
		assert_int_equal(http_status(hs.port, r.data, r.len), want[i]);
		free(pad);
	}
	buf_free(&r);
}

/* ---------------------------------------------- LIMIT_WEBHOOK_RESPONSE */

/* A receiver for one call: answers status with a body of len octets. */
struct receiver {
	int fd;
	int port;
	int status;
	size_t len;
	pthread_t th;
};

/* Reads one request: its header and Content-Length octets of body. */
static void
receiver_read(int c)
{
	char req[8192], *end, *cl;
	size_t got = 0, want = sizeof(req) - 1;
	ssize_t n;

	while (got < want && (n = recv(c, req + got, sizeof(req) - 1 - got,
	    0)) > 0) {
		got += (size_t)n;
		req[got] = '\0';
		if ((end = strstr(req, "\r\n\r\n")) == NULL)
			continue;
		cl = strcasestr(req, "\r\nContent-Length:");
		want = (size_t)(end + 4 - req) + (cl != NULL && cl < end ?
		    strtoul(cl + 17, NULL, 10) : 0);
	}
}

static void *
receiver_run(void *arg)
{
	struct receiver *r = arg;
	char head[256], *body = pattern(r->len, 0);
	int c = accept(r->fd, NULL, NULL), n;

	n = snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Length: "
	    "%zu\r\nConnection: close\r\n\r\n", r->status, r->len);
	if (c >= 0) {
		receiver_read(c);
		(void)send(c, head, (size_t)n, MSG_NOSIGNAL);
		(void)send(c, body, r->len, MSG_NOSIGNAL);
		close(c);
	}
	free(body);
	return NULL;
}

static void
receiver_start(struct receiver *r)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);

	r->fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(r->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(r->fd, 4), 0);
	assert_int_equal(getsockname(r->fd, (struct sockaddr *)&sa, &sl), 0);
	r->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&r->th, NULL, receiver_run, r), 0);
}

struct resp_case {
	const char *name;
	int status;
	size_t len;
};

/*
 * The body is kept up to LIMIT_WEBHOOK_RESPONSE for the outcome's text
 * and the rest read and dropped: a 2xx with a body at the limit, one
 * octet over or far over is sent, not failed by a short write; a 500's
 * text is its body's start.
 */
static const struct resp_case resp_cases[] = {
	{ "WEBHOOK_RESPONSE: 200 with 4096 octets is sent", 200,
	  LIMIT_WEBHOOK_RESPONSE },
	{ "WEBHOOK_RESPONSE: 200 with 4097 octets is sent", 200,
	  LIMIT_WEBHOOK_RESPONSE + 1 },
	{ "WEBHOOK_RESPONSE: 200 with 1 MiB is sent", 200, 1 << 20 },
	{ "WEBHOOK_RESPONSE: 500 with 4097 octets, its start kept", 500,
	  LIMIT_WEBHOOK_RESPONSE + 1 },
};

static void
t_webhook_response(void **state)
{
	const struct resp_case *c = *state;
	struct receiver r = { .status = c->status, .len = c->len };
	char *dir = unit_tmpdir(), db[PATH], path[PATH], json[512], *want;
	struct webhook_stats ws;
	struct config cfg;
	struct store *st;
	sqlite3_stmt *q;
	sqlite3 *raw;
	struct err e;

	assert_non_null(dir);
	receiver_start(&r);
	snprintf(json, sizeof(json), "{\"webhooks\": [{\"name\": \"w\", "
	    "\"url\": \"http://127.0.0.1:%d/\", \"events\": [\"*\"], "
	    "\"secret_env\": \"PB_LW_SECRET\", \"max_attempts\": 3}]}",
	    r.port);
	unit_write(dir, "postbote.json", json, strlen(json), path,
	    sizeof(path));
	setenv("PB_LW_SECRET", "k", 1);
	assert_int_equal(config_load(path, 1, &cfg, &e), 0);
	snprintf(db, sizeof(db), "%s/t.db", dir);
	assert_int_equal(store_open(db, STORE_CREATE, &st, &e), 0);
	assert_int_equal(store_webhooks_sync(st, &cfg, &e), 0);
	assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw, "INSERT INTO events(type, at) "
	    "VALUES ('delivered', 1000)", NULL, NULL, NULL), SQLITE_OK);
	if (webhook_flush(st, &cfg, store_now_ms(), NULL, &ws, &e) < 0)
		fail_msg("flush: %s", e.msg);
	pthread_join(r.th, NULL);
	close(r.fd);
	assert_int_equal(ws.sent, c->status == 200);
	assert_int_equal(ws.retried, c->status != 200);
	assert_int_equal(sqlite3_prepare_v2(raw, "SELECT coalesce(last_error, "
	    "'') FROM webhook_outbox", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	if (c->status != 200) {
		want = pattern(200, 0);
		assert_memory_equal(sqlite3_column_text(q, 0), "HTTP 500: ", 10);
		assert_string_equal((const char *)sqlite3_column_text(q, 0) +
		    10, want);
		free(want);
	}
	sqlite3_finalize(q);
	sqlite3_close(raw);
	store_close(st);
	config_free(&cfg);
	unit_rmtree(dir);
	free(dir);
}

/* ================================================================= DNS */

/*
 * 31 servers of 15 characters, then one of 16 or 17: a list of exactly
 * 512 characters and one of 513, commas counted.
 */
static void
dns_list(struct buf *b, int over)
{
	int i;

	buf_reset(b);
	for (i = 0; i < 31; i++)
		assert_int_equal(buf_adds(b, "127.0.0.1:15353,"), 0);
	assert_int_equal(buf_adds(b, over ? "127.0.0.123:15353" :
	    "127.0.0.12:15353"), 0);
	assert_int_equal(b->len, LIMIT_DNS_SERVERS + over);
}

static void
t_dns_servers(void **state)
{
	struct dns_config cfg = { 0 };
	struct dns *d;
	struct buf b;
	struct err e;

	(void)state;
	buf_init(&b, 1024);
	dns_list(&b, 0);
	cfg.servers = b.data;
	if (dns_new(&cfg, &d, &e) < 0)
		fail_msg("512 characters: %s", e.msg);
	dns_free(d);
	dns_list(&b, 1);
	cfg.servers = b.data;
	assert_int_equal(dns_new(&cfg, &d, &e), -1);
	assert_int_equal(e.code, EX_CONFIG);
	assert_non_null(strstr(e.msg, "longer than 512 characters"));
	buf_free(&b);
}

/* The same list through the configuration file, as arrays of strings. */
static void
t_dns_servers_config(void **state)
{
	char *dir = unit_tmpdir(), path[PATH];
	struct config cfg;
	struct buf j;
	struct err e;
	int over, i;

	(void)state;
	assert_non_null(dir);
	buf_init(&j, 4096);
	for (over = 0; over <= 1; over++) {
		buf_reset(&j);
		assert_int_equal(buf_adds(&j, "{\"delivery\": {\"dns_servers\": "
		    "["), 0);
		for (i = 0; i < 31; i++)
			assert_int_equal(buf_adds(&j, "\"127.0.0.1:15353\", "),
			    0);
		assert_int_equal(buf_printf(&j, "\"%s\"]}}", over ?
		    "127.0.0.123:15353" : "127.0.0.12:15353"), 0);
		unit_write(dir, "postbote.json", j.data, j.len, path,
		    sizeof(path));
		if (!over) {
			if (config_load(path, 1, &cfg, &e) < 0)
				fail_msg("512 characters: %s", e.msg);
			assert_int_equal(strlen(cfg.dns_servers),
			    LIMIT_DNS_SERVERS);
			config_free(&cfg);
			continue;
		}
		assert_int_equal(config_load(path, 1, &cfg, &e), -1);
		assert_int_equal(e.code, EX_CONFIG);
		assert_non_null(strstr(e.msg, "at most 512 characters"));
	}
	buf_free(&j);
	unit_rmtree(dir);
	free(dir);
}

/* A valid A-label of exactly n octets: labels of 60, then the rest. */
static char *
host_of(size_t n)
{
	char *h = pattern(n, 0);
	size_t i;

	for (i = 60; i + 2 < n; i += 61)
		h[i] = '.';
	return h;
}

struct dns_got {
	int calls;
	char reason[LIMIT_DNS_REASON + 64];
};

static void
dns_cb_got(void *ctx, const struct dns_result *r)
{
	struct dns_got *g = ctx;

	g->calls++;
	snprintf(g->reason, sizeof(g->reason), "%s", r->reason);
}

/* The reason dns_free() gives a query for domain (it calls back what is
 * pending; the server, a closed port, is never waited for). */
static void
dns_reason(const char *domain, struct dns_got *g)
{
	struct dns_config cfg = { .servers = "127.0.0.1:1" };
	struct dns *d;
	struct err e;

	memset(g, 0, sizeof(*g));
	assert_int_equal(dns_new(&cfg, &d, &e), 0);
	assert_int_equal(dns_resolve_mx(d, domain, dns_cb_got, g, &e), 0);
	dns_free(d);
	assert_int_equal(g->calls, 1);
}

/*
 * The reason starts with the domain: its length sets the reason's. The
 * words after the domain are measured once, then domains picked so the
 * reason is exactly LIMIT_DNS_REASON - 1 (kept whole) and one more (cut,
 * NUL-terminated, the domain still whole at its start).
 */
static void
t_dns_reason(void **state)
{
	char words[LIMIT_DNS_REASON + 64], *dom;
	struct dns_got g;
	size_t n, over;

	(void)state;
	dns_reason("example.test", &g);
	assert_memory_equal(g.reason, "example.test: ", 14);
	snprintf(words, sizeof(words), "%s", g.reason + 12);
	n = strlen(words);
	for (over = 0; over <= 1; over++) {
		dom = host_of(LIMIT_DNS_REASON - 1 - n + over);
		dns_reason(dom, &g);
		assert_int_equal(strlen(g.reason), LIMIT_DNS_REASON - 1);
		assert_memory_equal(g.reason, dom, strlen(dom));
		assert_memory_equal(g.reason + strlen(dom), words, n - over);
		free(dom);
	}
}

/* ================================================================= TLS */

static struct {
	char *dir;
	char ca_file[PATH];
	SSL_CTX *srv;
} tl;

static int
tl_setup(void **state)
{
	EVP_PKEY *ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *ca, *leaf;

	(void)state;
	if ((tl.dir = unit_tmpdir()) == NULL || ca_key == NULL || key == NULL)
		return -1;
	ca = cert_make(ca_key, "Limits CA", NULL, NULL, 1);
	leaf = cert_make(key, "localhost", ca, ca_key, 0);
	snprintf(tl.ca_file, sizeof(tl.ca_file), "%s/ca.pem", tl.dir);
	cert_save(ca, tl.ca_file);
	tl.srv = SSL_CTX_new(TLS_server_method());
	if (tl.srv == NULL || SSL_CTX_use_certificate(tl.srv, leaf) != 1 ||
	    SSL_CTX_use_PrivateKey(tl.srv, key) != 1)
		return -1;
	X509_free(ca);
	X509_free(leaf);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(key);
	return 0;
}

static int
tl_teardown(void **state)
{
	(void)state;
	SSL_CTX_free(tl.srv);
	unit_rmtree(tl.dir);
	free(tl.dir);
	return 0;
}

/* The handshake to the localhost certificate as host: its failure's
 * reason, into why. Client and server take turns on a socketpair. */
static void
tls_reason_for(const char *host, char *why, size_t n)
{
	struct tls_ctx *ctx;
	struct tls *t;
	struct err e;
	enum tls_result r = TLS_WANT_READ;
	int sv[2], i;
	SSL *srv;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	assert_int_equal(tls_ctx_new(TLS_POLICY_VERIFY, tl.ca_file, &ctx, &e),
	    0);
	if (tls_new(ctx, sv[0], host, &t, &e) < 0)
		fail_msg("tls_new: %s", e.msg);
	srv = SSL_new(tl.srv);
	SSL_set_fd(srv, sv[1]);
	SSL_set_accept_state(srv);
	for (i = 0; i < 100 && r != TLS_FAILED && r != TLS_OK; i++) {
		r = tls_handshake(t);
		(void)SSL_do_handshake(srv);
		ERR_clear_error();
	}
	assert_int_equal(r, TLS_FAILED);
	snprintf(why, n, "%s", tls_reason(t));
	SSL_free(srv);
	tls_free(t);
	tls_ctx_free(ctx);
	close(sv[0]);
	close(sv[1]);
}

/*
 * The longest reason names the host: "host name mismatch: the
 * certificate is not for HOST". Hosts picked so it is exactly
 * LIMIT_TLS_REASON - 1 characters (kept whole), then one more (cut).
 */
static void
t_tls_reason(void **state)
{
	char why[LIMIT_TLS_REASON + 64], *host;
	size_t words, over;

	(void)state;
	tls_reason_for("mismatch.example", why, sizeof(why));
	assert_non_null(strstr(why, "host name mismatch"));
	words = strlen(why) - strlen("mismatch.example");
	assert_string_equal(why + words, "mismatch.example");
	for (over = 0; over <= 1; over++) {
		host = host_of(LIMIT_TLS_REASON - 1 - words + over);
		tls_reason_for(host, why, sizeof(why));
		assert_int_equal(strlen(why), LIMIT_TLS_REASON - 1);
		assert_memory_equal(why, "host name mismatch", 18);
		assert_memory_equal(why + words, host, strlen(host) - over);
		free(host);
	}
}

/* ============================================================ err.h */

struct guarded {
	struct err e;
	unsigned char guard[64];
};

static void
guard_ok(const struct guarded *g)
{
	size_t i;

	for (i = 0; i < sizeof(g->guard); i++)
		assert_int_equal(g->guard[i], 0x5a);
}

/* LIMIT_ERR_MSG - 1 characters are kept whole; one more is cut at the
 * end, NUL-terminated, nothing written past the struct. */
static void
t_err_set(void **state)
{
	struct guarded g;
	size_t over;
	char *m;

	(void)state;
	for (over = 0; over <= 1; over++) {
		memset(&g, 0x5a, sizeof(g));
		m = pattern(LIMIT_ERR_MSG - 1 + over, 0);
		assert_int_equal(err_set(&g.e, EX_DATAERR, "%s", m), -1);
		assert_int_equal(g.e.code, EX_DATAERR);
		assert_int_equal(strlen(g.e.msg), LIMIT_ERR_MSG - 1);
		assert_memory_equal(g.e.msg, m, LIMIT_ERR_MSG - 1);
		guard_ok(&g);
		free(m);
	}
}

struct prefix_case {
	const char *name;
	size_t head;		/* prefix length, before ": " */
	size_t msg;		/* the message it goes before */
};

/* The prefix and ": " go first; the message is cut only where the whole
 * passes LIMIT_ERR_MSG - 1. A prefix past its own 255 is cut first. */
static const struct prefix_case prefix_cases[] = {
	{ "ERR_MSG: prefix + message of exactly 1023 kept whole", 8,
	  LIMIT_ERR_MSG - 1 - 10 },
	{ "ERR_MSG: prefix + message of 1024 cut to 1023", 8,
	  LIMIT_ERR_MSG - 10 },
	{ "ERR_MSG: 255-character prefix, 1023 in all kept whole", 255,
	  LIMIT_ERR_MSG - 1 - 257 },
	{ "ERR_MSG: 255-character prefix, 1024 in all cut", 255,
	  LIMIT_ERR_MSG - 257 },
	{ "ERR_MSG: a 400-character prefix is cut to 255", 400, 900 },
};

static void
t_err_prefix(void **state)
{
	const struct prefix_case *c = *state;
	char *head = pattern(c->head, 3), *m = pattern(c->msg, 0);
	size_t h = c->head < 255 ? c->head : 255, keep;
	struct guarded g;

	memset(&g, 0x5a, sizeof(g));
	(void)err_set(&g.e, EX_NOINPUT, "%s", m);
	err_prefix(&g.e, "%s", head);
	keep = h + 2 + c->msg < LIMIT_ERR_MSG ? c->msg : LIMIT_ERR_MSG - 3 - h;
	assert_int_equal(g.e.code, EX_NOINPUT);
	assert_int_equal(strlen(g.e.msg), h + 2 + keep);
	assert_memory_equal(g.e.msg, head, h);
	assert_memory_equal(g.e.msg + h, ": ", 2);
	assert_memory_equal(g.e.msg + h + 2, m, keep);
	guard_ok(&g);
	free(head);
	free(m);
}

int
main(void)
{
	struct unit_tests u = { 0 };
	size_t from;

	signal(SIGPIPE, SIG_IGN);
	UNIT_TABLE(&u, reply_cases, t_reply);
	UNIT_TABLE(&u, text_cases, t_text);
	UNIT_TABLE(&u, cred_cases, t_cred);
	unit_add(&u, "SMTP_HELO: 255 taken and sent whole, 256 refused",
	    t_helo, NULL);
	unit_add(&u, "SMTP_CMD: the longest commands fit; a longer address "
	    "is refused first", t_cmd_longest, NULL);
	unit_add(&u, "INBOUND_HEADER: 262144 parsed, 262145 refused",
	    t_inbound_header, NULL);
	unit_add(&u, "INBOUND_PARTS: 256 parsed, 257 refused",
	    t_inbound_parts, NULL);
	unit_add(&u, "INBOUND_SIZE: mbox hands 4 MiB whole, one more as too "
	    "large", t_inbound_mbox, NULL);
	unit_add(&u, "INBOUND_REVIEW: 65536 kept, 65537 cut to 65536",
	    t_inbound_review, NULL);
	UNIT_TABLE(&u, resp_cases, t_webhook_response);
	unit_add(&u, "DNS_SERVERS: dns_new takes 512 characters, not 513",
	    t_dns_servers, NULL);
	unit_add(&u, "DNS_SERVERS: the config takes 512 joined, not 513",
	    t_dns_servers_config, NULL);
	unit_add(&u, "DNS_REASON: 255 kept whole, 256 cut", t_dns_reason,
	    NULL);
	unit_add(&u, "ERR_MSG: 1023 characters kept, 1024 cut cleanly",
	    t_err_set, NULL);
	UNIT_TABLE(&u, prefix_cases, t_err_prefix);
	/* Those with keys or a server of their own. */
	from = u.n;
	unit_add(&u, "DKIM_FIELDS: 512 header fields sign, 513 refused",
	    t_dkim_fields, NULL);
	UNIT_TABLE(&u, sig_cases, t_dkim_signatures);
	unit_fixture(&u, from, dk_setup, dk_teardown);
	from = u.n;
	unit_add(&u, "HTTP_BODY: 4096 read, 4097 refused (413, or closed "
	    "when chunked)", t_http_body, NULL);
	unit_add(&u, "HTTP_MEMORY: 1 KiB short of the pool served, a header "
	    "one octet over it 431", t_http_memory, NULL);
	unit_fixture(&u, from, hs_setup, hs_teardown);
	from = u.n;
	unit_add(&u, "TLS_REASON: 255 kept whole, 256 cut", t_tls_reason,
	    NULL);
	unit_fixture(&u, from, tl_setup, tl_teardown);
	return unit_run(&u, "limits_wire", NULL, NULL);
}
