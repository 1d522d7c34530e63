/*
 * test_dkim.c - DKIM keys and signatures: dkim_keygen() writes a private
 * key only it may read and a TXT record that fits DNS; dkim_signer_open()
 * takes good keys and refuses, naming the file, keys others may read,
 * missing files, keys of the wrong algorithm or size and bad settings;
 * dkim_signer_sign() picks keys by the From domain and writes
 * relaxed/relaxed signatures with the fixed header list, From and Subject
 * over-signed, no l=, lines of at most 998 octets.
 *
 * Whether the signatures verify is checked by tests/integration/dkim.sh
 * with python3-dkim, which shares no code with libopendkim.
 */
#include "unit.h"

#include <ctype.h>
#include <pthread.h>
#include <unistd.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dkim.h"
#include "mime.h"

#define PATH	4096

#define HDR	LIMIT_DKIM_SIGNATURES

/* Keys made once for every test by the group setup. */
static struct {
	char *dir;
	char rsa[PATH];		/* example.com, rsa1, 2048 bits */
	char ed[PATH];		/* example.com, ed1 */
	char org[PATH];		/* example.org, ed25519 */
	char idn[PATH];		/* bücher.de, ed25519 */
	char rsa_rec[HDR];
	char ed_rec[HDR];
} fx;

static int
keygen(const char *domain, const char *sel, enum dkim_algorithm alg,
    int bits, const char *path, char *rec)
{
	struct dkim_keygen_req r = { domain, sel, alg, bits, path };
	struct buf b;
	struct err e;
	int rc;

	buf_init(&b, HDR);
	rc = dkim_keygen(&r, &b, &e);
	if (rc < 0)
		fprintf(stderr, "# keygen: %s\n", e.msg);
	else if (rec != NULL)
		snprintf(rec, HDR, "%s", buf_str(&b));
	buf_free(&b);
	return rc;
}

static int
group_setup(void **state)
{
	(void)state;
	if ((fx.dir = unit_tmpdir()) == NULL)
		return -1;
	snprintf(fx.rsa, PATH, "%s/rsa.pem", fx.dir);
	snprintf(fx.ed, PATH, "%s/ed.pem", fx.dir);
	snprintf(fx.org, PATH, "%s/org.pem", fx.dir);
	snprintf(fx.idn, PATH, "%s/idn.pem", fx.dir);
	if (keygen("example.com", "rsa1", DKIM_RSA_SHA256, 0, fx.rsa,
	    fx.rsa_rec) < 0 || keygen("example.com", "ed1",
	    DKIM_ED25519_SHA256, 0, fx.ed, fx.ed_rec) < 0 ||
	    keygen("example.org", "org", DKIM_ED25519_SHA256, 0, fx.org,
	    NULL) < 0 || keygen("xn--bcher-kva.de", "b", DKIM_ED25519_SHA256,
	    0, fx.idn, NULL) < 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	unit_rmtree(fx.dir);
	free(fx.dir);
	return 0;
}

/* ------------------------------------------------------------- helpers */

static struct dkim_signer *
open_ok(const struct dkim_key_conf *k, int n)
{
	struct dkim_signer *s = NULL;
	struct err e;

	if (dkim_signer_open(k, n, &s, &e) < 0)
		fail_msg("dkim_signer_open: %s", e.msg);
	return s;
}

/* Opening fails with code and a message containing want. */
static void
open_fails(const struct dkim_key_conf *k, int n, int code, const char *want)
{
	struct dkim_signer *s = (struct dkim_signer *)&s;
	struct err e;

	assert_int_equal(dkim_signer_open(k, n, &s, &e), -1);
	assert_null(s);
	assert_int_equal(e.code, code);
	if (strstr(e.msg, want) == NULL)
		fail_msg("\"%s\" not in \"%s\"", want, e.msg);
}

/* A complete message as the renderer makes it, every signed field set. */
static void
build(const char *from_name, const char *from, const char *subject,
    const char *text, struct buf *out)
{
	struct mime_msg m = { 0 };
	struct err e;

	m.from_name = from_name;
	m.from_addr = from;
	m.to_addr = "jane@example.net";
	m.reply_to = "help@example.com";
	m.subject = subject;
	m.text = text;
	m.text_len = strlen(text);
	m.html = "<p>Hallo</p>";
	m.html_len = strlen(m.html);
	m.date_ms = 1739440800123;
	m.message_id = "20250213.1@example.com";
	m.unsubscribe_url = "https://t.example.com/u/abc";
	m.unsubscribe_mailto = "unsub+abc@example.com";
	m.list_id = "news.example.com";
	m.feedback_id = "c1:news:pb";
	buf_init(out, LIMIT_MESSAGE);
	if (mime_build(&m, out, &e) < 0)
		fail_msg("mime_build: %s", e.msg);
}

static void
sign_ok(const struct dkim_signer *s, const char *msg, struct buf *out)
{
	struct err e;

	buf_init(out, HDR);
	if (dkim_signer_sign(s, msg, strlen(msg), out, &e) < 0)
		fail_msg("dkim_signer_sign: %s", e.msg);
}

static void
sign_fails(const struct dkim_signer *s, const char *msg, int code,
    const char *want)
{
	struct buf out;
	struct err e;

	buf_init(&out, HDR);
	assert_int_equal(buf_adds(&out, "kept"), 0);
	assert_int_equal(dkim_signer_sign(s, msg, strlen(msg), &out, &e), -1);
	assert_int_equal(e.code, code);
	if (strstr(e.msg, want) == NULL)
		fail_msg("\"%s\" not in \"%s\"", want, e.msg);
	assert_string_equal(buf_str(&out), "kept");
	buf_free(&out);
}

/* CRLF only, each line at most 998 octets with its CRLF. */
static void
assert_lines(const char *s, size_t n)
{
	size_t i, start = 0;

	for (i = 0; i < n; i++) {
		assert_int_not_equal(s[i], '\n');
		if (s[i] != '\r')
			continue;
		assert_true(i + 1 < n && s[i + 1] == '\n');
		if (i + 2 - start > 998)
			fail_msg("line of %zu octets", i + 2 - start);
		start = i + 2;
		i++;
	}
	assert_int_equal(start, n);
}

/*
 * The signature fields in out: each starts a line with "DKIM-Signature:"
 * and every other line is a continuation (starts with WSP). Returns how
 * many; sig[i] gets the i-th unfolded, without white space, so that the
 * tags read "v=1;a=rsa-sha256;...".
 */
static int
split_sigs(const char *out, char sig[][HDR], int max)
{
	int n = -1;
	size_t k = 0;
	const char *p;

	for (p = out; *p != '\0'; p++) {
		if ((p == out || p[-1] == '\n') && strncmp(p, "DKIM-Signature:",
		    15) == 0) {
			assert_true(++n < max);
			k = 0;
			p += 14;
			continue;
		}
		if (p == out || (p[-1] == '\n' && *p != ' ' && *p != '\t'))
			fail_msg("a line that neither starts a signature nor "
			    "continues one: %.40s", p);
		if (!isspace((unsigned char)*p)) {
			assert_true(k + 1 < HDR);
			sig[n][k++] = *p;
			sig[n][k] = '\0';
		}
	}
	return n + 1;
}

/* Tag t's value in an unfolded signature; NULL when absent. */
static const char *
tag(const char *sig, const char *t, char *val, size_t n)
{
	size_t tl = strlen(t);
	const char *p = sig, *end;

	while (p != NULL && *p != '\0') {
		end = strchr(p, ';');
		if (strncmp(p, t, tl) == 0 && p[tl] == '=') {
			p += tl + 1;
			snprintf(val, n, "%.*s", (int)(end ? (size_t)(end - p) :
			    strlen(p)), p);
			return val;
		}
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

/* How often name appears in the colon-separated list h (any case). */
static int
count_field(const char *h, const char *name)
{
	size_t n = strlen(name);
	const char *p = h;
	int c = 0;

	for (;;) {
		if (strncasecmp(p, name, n) == 0 && (p[n] == ':' ||
		    p[n] == '\0'))
			c++;
		if ((p = strchr(p, ':')) == NULL)
			return c;
		p++;
	}
}

static int
count_lines(const char *msg, const char *prefix)
{
	const char *p = msg;
	int c = 0;

	while (*p != '\0' && strncmp(p, "\r\n", 2) != 0) {
		if (strncasecmp(p, prefix, strlen(prefix)) == 0)
			c++;
		p = strstr(p, "\r\n") + 2;
	}
	return c;
}

/* ---------------------------------------------------------------- keygen */

static void
t_keygen_file(void **state)
{
	struct stat st;
	char path[PATH];
	struct buf b;
	struct err e;
	struct dkim_keygen_req r = { "example.com", "rsa1", DKIM_RSA_SHA256,
	    0, fx.rsa };

	(void)state;
	assert_int_equal(stat(fx.rsa, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(fx.ed, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* Never over an existing key; the record is left as it was. */
	buf_init(&b, HDR);
	assert_int_equal(dkim_keygen(&r, &b, &e), -1);
	assert_int_equal(e.code, EX_CANTCREAT);
	assert_non_null(strstr(e.msg, fx.rsa));
	assert_int_equal(b.len, 0);
	/* Nor in a directory that does not exist; nothing left behind. */
	snprintf(path, sizeof(path), "%s/none/k.pem", fx.dir);
	r.path = path;
	assert_int_equal(dkim_keygen(&r, &b, &e), -1);
	assert_int_equal(e.code, EX_CANTCREAT);
	buf_free(&b);
}

/* Name, class, type, and the value cut into strings of <= 255 octets. */
static void
t_keygen_record(void **state)
{
	const char *p, *q;
	size_t total = 0;
	int strings = 0;

	(void)state;
	p = "rsa1._domainkey.example.com IN TXT \"v=DKIM1; k=rsa; p=MIIB";
	assert_memory_equal(fx.rsa_rec, p, strlen(p));
	p = "ed1._domainkey.example.com IN TXT \"v=DKIM1; k=ed25519; p=";
	assert_memory_equal(fx.ed_rec, p, strlen(p));
	for (p = strchr(fx.rsa_rec, '"'); p != NULL; p = strchr(q + 1, '"')) {
		q = strchr(p + 1, '"');
		assert_non_null(q);
		assert_true(q - p - 1 <= 255);
		total += (size_t)(q - p - 1);
		strings++;
	}
	/* A 2048-bit key's SPKI is 294 octets: 392 base64 + 20 of tags. */
	assert_int_equal(strings, 2);
	assert_int_equal(total, 392 + strlen("v=DKIM1; k=rsa; p="));
	/* Ed25519: 32 octets, 44 base64 characters, one string. */
	p = strstr(fx.ed_rec, "p=") + 2;
	assert_int_equal(strlen(p), 44 + 1);
}

struct kg_case {
	const char *name;
	const char *domain;
	const char *selector;
	enum dkim_algorithm alg;
	int bits;
	int code;		/* 0: made */
	const char *want;	/* in the error, or the record's start */
};

static const struct kg_case kg_cases[] = {
	{ "keygen: IDN domain becomes its A-label", "Bücher.DE", "s1",
	  DKIM_ED25519_SHA256, 0, 0, "s1._domainkey.xn--bcher-kva.de IN TXT" },
	{ "keygen: dotted selector", "example.com", "pb.2025",
	  DKIM_ED25519_SHA256, 0, 0, "pb.2025._domainkey.example.com" },
	{ "keygen: RSA 1024 bits", "example.com", "small", DKIM_RSA_SHA256,
	  1024, 0, "small._domainkey.example.com IN TXT \"v=DKIM1; k=rsa" },
	{ "keygen: RSA 512 bits refused", "example.com", "s", DKIM_RSA_SHA256,
	  512, EX_USAGE, "1024-4096" },
	{ "keygen: RSA 8192 bits refused", "example.com", "s", DKIM_RSA_SHA256,
	  8192, EX_USAGE, "1024-4096" },
	{ "keygen: selector with underscore", "example.com", "a_b",
	  DKIM_RSA_SHA256, 0, EX_USAGE, "selector \"a_b\"" },
	{ "keygen: empty selector", "example.com", "", DKIM_RSA_SHA256, 0,
	  EX_USAGE, "selector" },
	{ "keygen: selector with trailing hyphen", "example.com", "s-.x",
	  DKIM_RSA_SHA256, 0, EX_USAGE, "selector" },
	{ "keygen: domain without a dot", "localhost", "s", DKIM_RSA_SHA256, 0,
	  EX_USAGE, "localhost" },
};

static void
t_keygen_case(void **state)
{
	const struct kg_case *c = *state;
	struct dkim_keygen_req r = { c->domain, c->selector, c->alg, c->bits,
	    NULL };
	char path[PATH];
	struct buf b;
	struct err e;
	struct stat st;

	snprintf(path, sizeof(path), "%s/kg-%s.pem", fx.dir, c->selector);
	r.path = path;
	buf_init(&b, HDR);
	if (c->code == 0) {
		if (dkim_keygen(&r, &b, &e) < 0)
			fail_msg("%s", e.msg);
		assert_memory_equal(b.data, c->want, strlen(c->want));
		assert_int_equal(stat(path, &st), 0);
		unlink(path);
	} else {
		assert_int_equal(dkim_keygen(&r, &b, &e), -1);
		assert_int_equal(e.code, c->code);
		if (strstr(e.msg, c->want) == NULL)
			fail_msg("\"%s\" not in \"%s\"", c->want, e.msg);
		assert_int_equal(b.len, 0);
		assert_int_not_equal(stat(path, &st), 0);
	}
	buf_free(&b);
}

/* ------------------------------------------------------------- loading */

static void
t_load_good(void **state)
{
	struct dkim_key_conf k[] = {
		{ "example.com", "rsa1", "rsa-sha256", fx.rsa },
		{ "EXAMPLE.com", "ed1", "ed25519", fx.ed },
		{ "example.org", "org", "ed25519-sha256", fx.org },
		{ "bücher.de", "b", "ed25519", fx.idn },
	};
	struct dkim_signer *s;

	(void)state;
	s = open_ok(k, 4);
	assert_int_equal(dkim_signer_nkeys(s), 4);
	dkim_signer_close(s);
	s = open_ok(NULL, 0);
	assert_int_equal(dkim_signer_nkeys(s), 0);
	sign_fails(s, "From: a@example.com\r\n\r\nx\r\n", EX_CONFIG,
	    "example.com");
	dkim_signer_close(s);
	dkim_signer_close(NULL);
}

/* Copies a key file to name with mode; returns the new path in path. */
static void
copy_key(const char *from, const char *name, mode_t mode, char *path)
{
	char data[LIMIT_DKIM_KEY_FILE];
	size_t n;
	FILE *fp = fopen(from, "rb");

	assert_non_null(fp);
	n = fread(data, 1, sizeof(data), fp);
	fclose(fp);
	unit_write(fx.dir, name, data, n, path, PATH);
	assert_int_equal(chmod(path, mode), 0);
}

static void
t_load_mode(void **state)
{
	static const mode_t bad[] = { 0644, 0640, 0604, 0660, 0606, 0620 };
	struct dkim_key_conf k = { "example.com", "rsa1", "rsa", NULL };
	char path[PATH], want[PATH + 64];
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(bad); i++) {
		copy_key(fx.rsa, "open.pem", bad[i], path);
		k.key_file = path;
		snprintf(want, sizeof(want), "key file %s is accessible by "
		    "group or others (mode %04o)", path, (unsigned)bad[i]);
		open_fails(&k, 1, EX_CONFIG, want);
	}
	copy_key(fx.rsa, "open.pem", 0400, path);
	dkim_signer_close(open_ok(&k, 1));
	unlink(path);
}

static void
t_load_missing(void **state)
{
	struct dkim_key_conf k = { "example.com", "rsa1", "rsa", NULL };
	char path[PATH];

	(void)state;
	snprintf(path, sizeof(path), "%s/no-such.pem", fx.dir);
	k.key_file = path;
	open_fails(&k, 1, EX_NOINPUT, path);
	k.key_file = fx.dir;	/* a directory */
	open_fails(&k, 1, EX_CONFIG, "is not a regular file");
}

static void
t_load_wrong_alg(void **state)
{
	struct dkim_key_conf k1 = { "example.com", "ed1", "ed25519", fx.rsa };
	struct dkim_key_conf k2 = { "example.com", "rsa1", "rsa-sha256", fx.ed };
	char want[PATH + 64];

	(void)state;
	snprintf(want, sizeof(want), "key file %s holds a RSA key, not the "
	    "ed25519 key", fx.rsa);
	open_fails(&k1, 1, EX_CONFIG, want);
	snprintf(want, sizeof(want), "key file %s holds a ED25519 key, not "
	    "the RSA key", fx.ed);
	open_fails(&k2, 1, EX_CONFIG, want);
}

/* A 512-bit RSA key, written with OpenSSL directly: keygen refuses it. */
static void
t_load_small_rsa(void **state)
{
	struct dkim_key_conf k = { "example.com", "s", "rsa", NULL };
	char path[PATH];
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)512);
	FILE *fp;

	(void)state;
	assert_non_null(pk);
	snprintf(path, sizeof(path), "%s/small.pem", fx.dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(PEM_write_PrivateKey(fp, pk, NULL, NULL, 0, NULL,
	    NULL), 1);
	fclose(fp);
	EVP_PKEY_free(pk);
	chmod(path, 0600);
	k.key_file = path;
	open_fails(&k, 1, EX_CONFIG, "RSA key of 512 bits");
	unlink(path);
}

static void
t_load_garbage(void **state)
{
	static const char *bad[] = { "", "hello\n",
	    "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
	    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n" };
	struct dkim_key_conf k = { "example.com", "s", "rsa", NULL };
	char path[PATH], want[PATH + 64];
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(bad); i++) {
		unit_write(fx.dir, "junk.pem", bad[i], strlen(bad[i]), path,
		    sizeof(path));
		chmod(path, 0600);
		k.key_file = path;
		snprintf(want, sizeof(want), "key file %s is not an "
		    "unencrypted PEM private key", path);
		open_fails(&k, 1, EX_CONFIG, want);
	}
	unlink(path);
}

struct conf_case {
	const char *name;
	struct dkim_key_conf k[2];
	int n;
	const char *want;
};

static const struct conf_case conf_cases[] = {
	{ "load: unknown algorithm", { { "example.com", "s", "rsa-sha1",
	  "x" } }, 1, "algorithm \"rsa-sha1\" is neither" },
	{ "load: bad selector", { { "example.com", "s_1", "rsa", "x" } }, 1,
	  "selector \"s_1\" is not a DNS name" },
	{ "load: long selector", { { "example.com", "aaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "rsa", "x" } }, 1,
	  "must be 1-63" },
	{ "load: bad domain", { { "exa mple.com", "s", "rsa", "x" } }, 1,
	  "domain \"exa mple.com\"" },
	{ "load: missing field", { { "example.com", NULL, "rsa", "x" } }, 1,
	  "needs domain, selector, algorithm and key_file" },
};

static void
t_conf_case(void **state)
{
	const struct conf_case *c = *state;

	open_fails(c->k, c->n, EX_CONFIG, c->want);
}

static void
t_load_duplicate(void **state)
{
	struct dkim_key_conf k[] = {
		{ "example.com", "ed1", "ed25519", fx.ed },
		{ "Example.COM", "ed2", "ed25519-sha256", fx.org },
	};

	(void)state;
	open_fails(k, 2, EX_CONFIG, "DKIM key 2 (Example.COM): a second "
	    "ed25519-sha256 key for example.com");
}

/* -------------------------------------------------------------- signing */

/*
 * h= in the order mime_build() writes the fields, then From and Subject
 * once more; no l=.
 */
static void
check_sig(const char *sig, const char *alg, const char *domain,
    const char *sel)
{
	char v[HDR];

	assert_string_equal(tag(sig, "v", v, sizeof(v)), "1");
	assert_string_equal(tag(sig, "a", v, sizeof(v)), alg);
	assert_string_equal(tag(sig, "c", v, sizeof(v)), "relaxed/relaxed");
	assert_string_equal(tag(sig, "d", v, sizeof(v)), domain);
	assert_string_equal(tag(sig, "s", v, sizeof(v)), sel);
	assert_null(tag(sig, "l", v, sizeof(v)));
	assert_null(tag(sig, "z", v, sizeof(v)));
	assert_non_null(tag(sig, "t", v, sizeof(v)));
	assert_int_equal(strlen(tag(sig, "bh", v, sizeof(v))), 44);
	assert_non_null(tag(sig, "b", v, sizeof(v)));
	assert_true(strlen(v) >= (strcmp(alg, "rsa-sha256") ? 88u : 344u));
	assert_string_equal(tag(sig, "h", v, sizeof(v)),
	    "From:To:Subject:Date:Message-ID:MIME-Version:List-Unsubscribe:"
	    "List-Unsubscribe-Post:Feedback-ID:Content-Type:From:Subject");
}

static void
t_sign_rsa(void **state)
{
	struct dkim_key_conf k = { "example.com", "rsa1", "rsa", fx.rsa };
	struct dkim_signer *s = open_ok(&k, 1);
	static char sig[2][HDR];
	struct buf msg, out;
	char v[HDR];

	(void)state;
	build("Jürgen Müller", "news@example.com", "Grüße aus München",
	    "Hallo\n.\n..Punkt\n", &msg);
	sign_ok(s, msg.data, &out);
	assert_lines(out.data, out.len);
	assert_int_equal(split_sigs(out.data, sig, 2), 1);
	check_sig(sig[0], "rsa-sha256", "example.com", "rsa1");
	/* Reply-To, List-Id and the rest are not signed. */
	tag(sig[0], "h", v, sizeof(v));
	assert_int_equal(count_field(v, "Reply-To"), 0);
	assert_int_equal(count_field(v, "List-Id"), 0);
	/* Over-signing: once more than the fields occur. */
	assert_int_equal(count_field(v, "From"), count_lines(msg.data,
	    "From:") + 1);
	assert_int_equal(count_field(v, "Subject"), count_lines(msg.data,
	    "Subject:") + 1);
	assert_int_equal(count_field(v, "To"), 1);
	buf_free(&out);
	buf_free(&msg);
	dkim_signer_close(s);
}

static void
t_sign_ed25519(void **state)
{
	struct dkim_key_conf k = { "example.com", "ed1", "ed25519", fx.ed };
	struct dkim_signer *s = open_ok(&k, 1);
	static char sig[2][HDR];
	struct buf msg, out;

	(void)state;
	build("", "news@example.com", "Hello", "Hi\n", &msg);
	sign_ok(s, msg.data, &out);
	assert_lines(out.data, out.len);
	assert_int_equal(split_sigs(out.data, sig, 2), 1);
	check_sig(sig[0], "ed25519-sha256", "example.com", "ed1");
	buf_free(&out);
	buf_free(&msg);
	dkim_signer_close(s);
}

/* Both keys: two signatures, RSA first, over the same body hash. */
static void
t_sign_both(void **state)
{
	struct dkim_key_conf k[] = {
		{ "example.com", "ed1", "ed25519", fx.ed },
		{ "example.com", "rsa1", "rsa", fx.rsa },
	};
	struct dkim_signer *s = open_ok(k, 2);
	static char sig[3][HDR];
	char bh0[64], bh1[64];
	struct buf msg, out;

	(void)state;
	build("Acme", "news@example.com", "Hello", "Hi\n", &msg);
	sign_ok(s, msg.data, &out);
	assert_lines(out.data, out.len);
	assert_int_equal(split_sigs(out.data, sig, 3), 2);
	check_sig(sig[0], "rsa-sha256", "example.com", "rsa1");
	check_sig(sig[1], "ed25519-sha256", "example.com", "ed1");
	assert_string_equal(tag(sig[0], "bh", bh0, sizeof(bh0)),
	    tag(sig[1], "bh", bh1, sizeof(bh1)));
	buf_free(&out);
	buf_free(&msg);
	dkim_signer_close(s);
}

/* A different body, a different body hash; a Subject alone, same bh. */
static void
t_sign_body_hash(void **state)
{
	struct dkim_key_conf k = { "example.com", "ed1", "ed25519", fx.ed };
	struct dkim_signer *s = open_ok(&k, 1);
	static char sig[3][1][HDR];
	char bh[3][64];
	struct buf msg[3], out[3];
	int i;

	(void)state;
	build("", "news@example.com", "One", "Hi\n", &msg[0]);
	build("", "news@example.com", "Two", "Hi\n", &msg[1]);
	build("", "news@example.com", "One", "Ho\n", &msg[2]);
	for (i = 0; i < 3; i++) {
		sign_ok(s, msg[i].data, &out[i]);
		assert_int_equal(split_sigs(out[i].data, sig[i], 1), 1);
		tag(sig[i][0], "bh", bh[i], sizeof(bh[i]));
		buf_free(&out[i]);
		buf_free(&msg[i]);
	}
	assert_string_equal(bh[0], bh[1]);
	assert_string_not_equal(bh[0], bh[2]);
	dkim_signer_close(s);
}

/* A long subject and display name: folded lines, none over 998. */
static void
t_sign_long(void **state)
{
	struct dkim_key_conf k[] = {
		{ "example.com", "rsa1", "rsa", fx.rsa },
		{ "example.com", "ed1", "ed25519", fx.ed },
	};
	struct dkim_signer *s = open_ok(k, 2);
	static char subject[998 + 1], name[256 + 1];
	static char sig[2][HDR];
	struct buf msg, out;
	size_t i;

	(void)state;
	for (i = 0; i + 2 <= 998; i += 2)
		memcpy(subject + i, "ü", 2);
	for (i = 0; i + 2 <= 256; i += 2)
		memcpy(name + i, "ö", 2);
	build(name, "news@example.com", subject, "x\n", &msg);
	sign_ok(s, msg.data, &out);
	assert_lines(out.data, out.len);
	assert_int_equal(split_sigs(out.data, sig, 2), 2);
	buf_free(&out);
	buf_free(&msg);
	dkim_signer_close(s);
}

struct from_case {
	const char *name;
	const char *msg;
	const char *domain;	/* NULL: refused */
	const char *want;	/* in the error */
};

#define TAIL	"To: x@example.net\r\nSubject: s\r\n\r\nbody\r\n"

static const struct from_case from_cases[] = {
	{ "from: bare address", "From: a@example.com\r\n" TAIL,
	  "example.com", NULL },
	{ "from: name and angle address", "From: Jane <a@Example.COM>\r\n"
	  TAIL, "example.com", NULL },
	{ "from: quoted name with comma", "From: \"Doe, Jane\" "
	  "<a@example.com>\r\n" TAIL, "example.com", NULL },
	{ "from: quoted name with an address in it", "From: \"a@evil.test\" "
	  "<a@example.com>\r\n" TAIL, "example.com", NULL },
	{ "from: quoted name with <> in it", "From: \"<a@evil.test>\" "
	  "<a@example.com>\r\n" TAIL, "example.com", NULL },
	{ "from: quoted name with escaped quote", "From: \"x\\\" <a@evil.test>"
	  "\" <a@example.com>\r\n" TAIL, "example.com", NULL },
	{ "from: comment after a bare address", "From: a@example.com "
	  "(via b@evil.test)\r\n" TAIL, "example.com", NULL },
	{ "from: comment before", "From: (x@evil.test) a@example.com\r\n"
	  TAIL, "example.com", NULL },
	{ "from: nested comment", "From: a@example.com (x (y@evil.test) z)"
	  "\r\n" TAIL, "example.com", NULL },
	{ "from: encoded-word name", "From: =?UTF-8?Q?J=C3=BCrgen?= "
	  "<a@example.com>\r\n" TAIL, "example.com", NULL },
	{ "from: folded", "From: =?UTF-8?Q?J=C3=BCrgen?=\r\n <a@example.com>"
	  "\r\n" TAIL, "example.com", NULL },
	{ "from: folded in the domain's surroundings", "From: a@\r\n\t"
	  "example.com\r\n" TAIL, "example.com", NULL },
	{ "from: quoted local part with @", "From: \"x@evil.test\"@example.com"
	  "\r\n" TAIL, "example.com", NULL },
	{ "from: route in angle address", "From: <@evil.test:a@example.com>"
	  "\r\n" TAIL, "example.com", NULL },
	{ "from: IDN domain", "From: a@Bücher.de\r\n" TAIL,
	  "xn--bcher-kva.de", NULL },
	{ "from: field name in capitals, space before colon",
	  "FROM : a@example.com\r\n" TAIL, "example.com", NULL },
	{ "from: not the first field", "To: x@example.net\r\nFrom: "
	  "a@example.com\r\n\r\nx\r\n", "example.com", NULL },
	{ "from: a From line in the body is not a field", "From: "
	  "a@example.com\r\n\r\nFrom: b@evil.test\r\n", "example.com", NULL },
	{ "from: From-Name is not From", "From-Name: x@evil.test\r\nFrom: "
	  "a@example.com\r\n\r\n", "example.com", NULL },
	{ "from: headers only", "From: a@example.com\r\n", "example.com",
	  NULL },
	{ "from: none", "To: a@example.com\r\n\r\nFrom: a@example.com\r\n",
	  NULL, "no From field" },
	{ "from: two fields", "From: a@example.com\r\nFrom: b@example.com\r\n"
	  "\r\n", NULL, "more than one From field" },
	{ "from: two addresses", "From: a@example.com, b@example.org\r\n\r\n",
	  NULL, "more than one address" },
	{ "from: two angle addresses", "From: <a@example.com>, "
	  "<b@example.org>\r\n\r\n", NULL, "more than one address" },
	{ "from: two angle addresses without comma", "From: A <a@example.com>"
	  " <b@example.org>\r\n\r\n", NULL, "more than one address" },
	{ "from: group", "From: friends: a@example.com;\r\n\r\n", NULL,
	  "or a group" },
	{ "from: no @", "From: Jane <jane>\r\n\r\n", NULL, "no address" },
	{ "from: unclosed angle", "From: Jane <a@example.com\r\n\r\n", NULL,
	  "no address" },
	{ "from: empty", "From:\r\n\r\n", NULL, "no address" },
	{ "from: address literal", "From: a@[127.0.0.1]\r\n\r\n", NULL,
	  "address literals" },
	{ "from: single-label domain", "From: a@localhost\r\n\r\n", NULL,
	  "no dot" },
};

static void
t_from_case(void **state)
{
	const struct from_case *c = *state;
	char d[LIMIT_ADDR_DOMAIN + 1];
	struct err e;
	int rc = dkim_from_domain(c->msg, strlen(c->msg), d, sizeof(d), &e);

	if (c->domain != NULL) {
		if (rc < 0)
			fail_msg("%s", e.msg);
		assert_string_equal(d, c->domain);
		return;
	}
	assert_int_equal(rc, -1);
	assert_int_equal(e.code, EX_DATAERR);
	if (strstr(e.msg, c->want) == NULL)
		fail_msg("\"%s\" not in \"%s\"", c->want, e.msg);
}

struct pick_case {
	const char *name;
	const char *from;
	const char *d;		/* NULL: no key */
	const char *a;
};

static const struct pick_case pick_cases[] = {
	{ "pick: example.com has RSA", "a@example.com", "example.com",
	  "rsa-sha256" },
	{ "pick: example.org has Ed25519", "Jo <a@EXAMPLE.org>",
	  "example.org", "ed25519-sha256" },
	{ "pick: subdomain signs with the parent's key",
	  "a@news.mail.example.org", "example.org", "ed25519-sha256" },
	{ "pick: IDN From domain", "a@bücher.de", "xn--bcher-kva.de",
	  "ed25519-sha256" },
	{ "pick: no key for example.net", "a@example.net", NULL, NULL },
	{ "pick: a parent's parent is not a TLD", "a@org", NULL, NULL },
	{ "pick: a longer name is not a subdomain", "a@badexample.org", NULL,
	  NULL },
};

static void
t_pick_case(void **state)
{
	const struct pick_case *c = *state;
	struct dkim_key_conf k[] = {
		{ "example.com", "rsa1", "rsa", fx.rsa },
		{ "example.org", "org", "ed25519", fx.org },
		{ "xn--bcher-kva.de", "b", "ed25519", fx.idn },
	};
	struct dkim_signer *s = open_ok(k, 3);
	static char sig[1][HDR];
	char msg[512], v[HDR];
	struct buf out;

	snprintf(msg, sizeof(msg), "From: %s\r\nSubject: x\r\n\r\nbody\r\n",
	    c->from);
	if (c->d == NULL) {
		char d[LIMIT_ADDR_DOMAIN + 1];
		struct err e;

		if (dkim_from_domain(msg, strlen(msg), d, sizeof(d), &e) == 0)
			sign_fails(s, msg, EX_CONFIG, d);
		else
			sign_fails(s, msg, EX_DATAERR, "no dot");
	} else {
		sign_ok(s, msg, &out);
		assert_int_equal(split_sigs(out.data, sig, 1), 1);
		assert_string_equal(tag(sig[0], "d", v, sizeof(v)), c->d);
		assert_string_equal(tag(sig[0], "a", v, sizeof(v)), c->a);
		/* Fields absent are not listed; From and Subject are still
		 * over-signed. */
		assert_string_equal(tag(sig[0], "h", v, sizeof(v)),
		    "From:Subject:From:Subject");
		buf_free(&out);
	}
	dkim_signer_close(s);
}

static void
t_no_key_message(void **state)
{
	struct dkim_key_conf k = { "example.com", "rsa1", "rsa", fx.rsa };
	struct dkim_signer *s = open_ok(&k, 1);

	(void)state;
	sign_fails(s, "From: a@example.net\r\n\r\nx\r\n", EX_CONFIG,
	    "no DKIM key for the From domain example.net");
	dkim_signer_close(s);
}

static void
t_bare_line_ends(void **state)
{
	struct dkim_key_conf k = { "example.com", "ed1", "ed25519", fx.ed };
	struct dkim_signer *s = open_ok(&k, 1);

	(void)state;
	sign_fails(s, "From: a@example.com\n\r\nx\r\n", EX_DATAERR,
	    "bare LF at octet 19");
	sign_fails(s, "From: a@example.com\r\n\r\nx\ny\r\n", EX_DATAERR,
	    "bare LF");
	sign_fails(s, "From: a@example.com\r\n\r\nx\ry\r\n", EX_DATAERR,
	    "bare CR at octet 24");
	sign_fails(s, "From: a@example.com\r\n\r\nx\r", EX_DATAERR, "bare CR");
	sign_fails(s, "\nFrom: a@example.com\r\n\r\nx\r\n", EX_DATAERR,
	    "bare LF at octet 0");
	dkim_signer_close(s);
}

/* An out buffer too small fails and keeps what it had. */
static void
t_small_buffer(void **state)
{
	struct dkim_key_conf k[] = {
		{ "example.com", "rsa1", "rsa", fx.rsa },
		{ "example.com", "ed1", "ed25519", fx.ed },
	};
	struct dkim_signer *s = open_ok(k, 2);
	const char *msg = "From: a@example.com\r\n\r\nx\r\n";
	struct buf out;
	struct err e;

	(void)state;
	buf_init(&out, 600);	/* the RSA signature fits, both do not */
	assert_int_equal(buf_adds(&out, "kept"), 0);
	assert_int_equal(dkim_signer_sign(s, msg, strlen(msg), &out, &e), -1);
	assert_int_equal(e.code, EX_SOFTWARE);
	assert_string_equal(buf_str(&out), "kept");
	buf_free(&out);
	dkim_signer_close(s);
}

/* One signer shared by threads, as the workers will share it. */
struct thr {
	const struct dkim_signer *s;
	const char *msg;
	int failed;
	char bh[64];
};

static void *
thr_run(void *arg)
{
	struct thr *t = arg;
	static __thread char sig[2][HDR];
	struct buf out;
	struct err e;
	int i;

	buf_init(&out, HDR);
	for (i = 0; i < 25; i++) {
		buf_reset(&out);
		if (dkim_signer_sign(t->s, t->msg, strlen(t->msg), &out,
		    &e) < 0 || split_sigs(out.data, sig, 2) != 2)
			t->failed++;
		else
			tag(sig[1], "bh", t->bh, sizeof(t->bh));
	}
	buf_free(&out);
	return NULL;
}

static void
t_threads(void **state)
{
	struct dkim_key_conf k[] = {
		{ "example.com", "rsa1", "rsa", fx.rsa },
		{ "example.com", "ed1", "ed25519", fx.ed },
	};
	struct dkim_signer *s = open_ok(k, 2);
	pthread_t th[4];
	struct thr t[4];
	struct buf msg;
	int i;

	(void)state;
	build("Acme", "news@example.com", "Hello", "Hi\n", &msg);
	for (i = 0; i < 4; i++) {
		t[i] = (struct thr){ s, msg.data, 0, "" };
		assert_int_equal(pthread_create(&th[i], NULL, thr_run, &t[i]),
		    0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(t[i].failed, 0);
		assert_string_equal(t[i].bh, t[0].bh);
	}
	buf_free(&msg);
	dkim_signer_close(s);
}

int
main(void)
{
	struct unit_tests u = { 0 };

	unit_add(&u, "keygen: key file mode 0600, never overwritten",
	    t_keygen_file, NULL);
	unit_add(&u, "keygen: TXT record, strings of at most 255",
	    t_keygen_record, NULL);
	UNIT_TABLE(&u, kg_cases, t_keygen_case);
	unit_add(&u, "load: RSA and Ed25519 keys, IDN domain, no keys",
	    t_load_good, NULL);
	unit_add(&u, "load: a key others may read is refused, naming it",
	    t_load_mode, NULL);
	unit_add(&u, "load: missing file, directory", t_load_missing, NULL);
	unit_add(&u, "load: key of the wrong algorithm", t_load_wrong_alg,
	    NULL);
	unit_add(&u, "load: RSA key under 1024 bits", t_load_small_rsa, NULL);
	unit_add(&u, "load: not a private key", t_load_garbage, NULL);
	UNIT_TABLE(&u, conf_cases, t_conf_case);
	unit_add(&u, "load: two keys of one algorithm for one domain",
	    t_load_duplicate, NULL);
	unit_add(&u, "sign: rsa-sha256, header list, over-signing, no l=",
	    t_sign_rsa, NULL);
	unit_add(&u, "sign: ed25519-sha256", t_sign_ed25519, NULL);
	unit_add(&u, "sign: both keys, RSA first", t_sign_both, NULL);
	unit_add(&u, "sign: body hash follows the body only",
	    t_sign_body_hash, NULL);
	unit_add(&u, "sign: long subject and name, lines within 998",
	    t_sign_long, NULL);
	UNIT_TABLE(&u, from_cases, t_from_case);
	UNIT_TABLE(&u, pick_cases, t_pick_case);
	unit_add(&u, "sign: no key names the domain", t_no_key_message, NULL);
	unit_add(&u, "sign: bare CR or LF refused", t_bare_line_ends, NULL);
	unit_add(&u, "sign: buffer too small leaves it as it was",
	    t_small_buffer, NULL);
	unit_add(&u, "sign: one signer, four threads", t_threads, NULL);
	return unit_run(&u, "dkim", group_setup, group_teardown);
}
