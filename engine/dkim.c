/*
 * dkim.c - DKIM signing with libopendkim, keys with OpenSSL; see dkim.h.
 *
 * libopendkim does the canonicalization, hashing and the signature
 * header; this file chooses the key, checks what goes in and what comes
 * out, and owns the keys. A signer holds one library handle with the
 * header list set on it, and a table of domains sorted for bsearch().
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <opendkim/dkim.h>

#include "addr.h"
#include "dkim.h"
#include "limits.h"
#include "xalloc.h"

#define DKIM_RSA_DEFAULT	2048
#define DKIM_TXT_STRING		255	/* RFC 1035 3.3.14 character-string */

/*
 * The fields signed, wherever present (RFC 6376 5.4.1 lists what SHOULD
 * be). libopendkim compiles the list into one regular expression on the
 * library handle, once; dkim_signhdrs() would compile it per message.
 */
static const char *dkim_sign_fields[] = {
	"From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
	"Content-Type", "List-Unsubscribe", "List-Unsubscribe-Post",
	"Feedback-ID", NULL
};

/* Listed in h= once more than they occur: none can be added later. */
static const char *dkim_oversign_fields[] = { "From", "Subject", NULL };

struct dkim_key {
	enum dkim_algorithm alg;
	char selector[LIMIT_DKIM_SELECTOR + 1];
	char *pem;		/* PKCS#8, as libopendkim parses it */
	size_t pem_len;
};

struct dkim_domain {
	char name[LIMIT_ADDR_DOMAIN + 1];	/* A-label, lower case */
	struct dkim_key *key[2];		/* by enum dkim_algorithm */
};

struct dkim_signer {
	DKIM_LIB *lib;
	struct dkim_domain *domains;	/* sorted by name */
	int ndomains;
	int nkeys;
};

/* ------------------------------------------------------------ algorithms */

int
dkim_algorithm_parse(const char *s, enum dkim_algorithm *out)
{
	if (strcmp(s, "rsa-sha256") == 0 || strcmp(s, "rsa") == 0)
		*out = DKIM_RSA_SHA256;
	else if (strcmp(s, "ed25519-sha256") == 0 || strcmp(s, "ed25519") == 0)
		*out = DKIM_ED25519_SHA256;
	else
		return -1;
	return 0;
}

const char *
dkim_algorithm_name(enum dkim_algorithm a)
{
	return a == DKIM_RSA_SHA256 ? "rsa-sha256" : "ed25519-sha256";
}

/* RFC 6376 3.1: selector = sub-domain *( "." sub-domain ), RFC 5321. */
static int
dkim_selector_check(const char *s, struct err *e)
{
	size_t i, n = strlen(s), label = 0;

	if (n == 0 || n > LIMIT_DKIM_SELECTOR)
		return err_set(e, EX_CONFIG, "selector \"%.80s\" must be 1-%d "
		    "characters", s, LIMIT_DKIM_SELECTOR);
	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				goto bad;
			label = 0;
		} else if (isalnum((unsigned char)s[i]) ||
		    (s[i] == '-' && label > 0))
			label++;
		else
			goto bad;
	}
	return 0;
bad:
	return err_set(e, EX_CONFIG, "selector \"%s\" is not a DNS name "
	    "(letters, digits, inner hyphens, dots between labels)", s);
}

static int
dkim_domain_norm(const char *in, char *out, struct err *e)
{
	if (addr_domain(in, strlen(in), out, LIMIT_ADDR_DOMAIN + 1, e) < 0) {
		err_prefix(e, "domain \"%.80s\"", in);
		e->code = EX_CONFIG;
		return -1;
	}
	return 0;
}

/* -------------------------------------------------------------- key files */

/* Never prompt on a terminal for an encrypted key's passphrase. */
static int
dkim_no_pass(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* Reads the whole file; refuses one that group or others can reach. */
static int
dkim_read_key_file(const char *path, struct buf *b, struct err *e)
{
	struct stat st;
	ssize_t n;
	int fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return err_set(e, EX_NOINPUT, "key file %s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) < 0) {
		err_set(e, EX_IOERR, "key file %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(e, EX_CONFIG, "key file %s is not a regular file", path);
		goto out;
	}
	/* As ssh does: a private key others may read is no longer private. */
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		err_set(e, EX_CONFIG, "key file %s is accessible by group or "
		    "others (mode %04o); chmod 600 %s", path,
		    (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	if (st.st_size > LIMIT_DKIM_KEY_FILE) {
		err_set(e, EX_CONFIG, "key file %s is larger than %d bytes",
		    path, LIMIT_DKIM_KEY_FILE);
		goto out;
	}
	if (buf_reserve(b, LIMIT_DKIM_KEY_FILE) < 0)
		abort();
	while ((n = read(fd, b->data + b->len, LIMIT_DKIM_KEY_FILE - b->len))
	    > 0)
		b->len += (size_t)n;
	b->data[b->len] = '\0';
	if (n < 0)
		err_set(e, EX_IOERR, "key file %s: %s", path, strerror(errno));
	else
		rc = 0;
out:
	close(fd);
	return rc;
}

static int
dkim_key_check(EVP_PKEY *pk, enum dkim_algorithm alg, const char *path,
    struct err *e)
{
	int bits = EVP_PKEY_get_bits(pk);

	if (alg == DKIM_ED25519_SHA256) {
		if (!EVP_PKEY_is_a(pk, "ED25519"))
			return err_set(e, EX_CONFIG, "key file %s holds a %s "
			    "key, not the ed25519 key the algorithm "
			    "ed25519-sha256 needs", path,
			    EVP_PKEY_get0_type_name(pk));
		return 0;
	}
	if (!EVP_PKEY_is_a(pk, "RSA"))
		return err_set(e, EX_CONFIG, "key file %s holds a %s key, not "
		    "the RSA key the algorithm rsa-sha256 needs", path,
		    EVP_PKEY_get0_type_name(pk));
	if (bits < LIMIT_DKIM_RSA_MIN || bits > LIMIT_DKIM_RSA_MAX)
		return err_set(e, EX_CONFIG, "key file %s: RSA key of %d bits; "
		    "DKIM needs %d-%d (RFC 8301)", path, bits,
		    LIMIT_DKIM_RSA_MIN, LIMIT_DKIM_RSA_MAX);
	return 0;
}

/* The key as PKCS#8 PEM text in a fresh string, whatever the file had. */
static int
dkim_key_pem(EVP_PKEY *pk, struct dkim_key *k, struct err *e)
{
	BIO *mem = BIO_new(BIO_s_mem());
	char *p;
	long n;

	if (mem == NULL || !PEM_write_bio_PrivateKey(mem, pk, NULL, NULL, 0,
	    NULL, NULL) || (n = BIO_get_mem_data(mem, &p)) <= 0) {
		BIO_free(mem);
		return err_set(e, EX_SOFTWARE, "OpenSSL cannot write the key");
	}
	k->pem = xstrndup(p, (size_t)n);
	k->pem_len = (size_t)n;
	BIO_free(mem);
	return 0;
}

static int
dkim_key_load(const struct dkim_key_conf *c, enum dkim_algorithm alg,
    struct dkim_key *k, struct err *e)
{
	EVP_PKEY *pk = NULL;
	struct buf b;
	BIO *mem = NULL;
	int rc = -1;

	buf_init(&b, LIMIT_DKIM_KEY_FILE);
	if (dkim_read_key_file(c->key_file, &b, e) < 0)
		goto out;
	mem = BIO_new_mem_buf(b.data, (int)b.len);
	if (mem == NULL || (pk = PEM_read_bio_PrivateKey(mem, NULL,
	    dkim_no_pass, NULL)) == NULL) {
		err_set(e, EX_CONFIG, "key file %s is not an unencrypted PEM "
		    "private key", c->key_file);
		goto out;
	}
	if (dkim_key_check(pk, alg, c->key_file, e) < 0 ||
	    dkim_key_pem(pk, k, e) < 0)
		goto out;
	k->alg = alg;
	rc = 0;
out:
	ERR_clear_error();
	EVP_PKEY_free(pk);
	BIO_free(mem);
	if (b.data != NULL)
		OPENSSL_cleanse(b.data, b.cap);
	buf_free(&b);
	return rc;
}

static void
dkim_key_free(struct dkim_key *k)
{
	if (k == NULL)
		return;
	if (k->pem != NULL)
		OPENSSL_cleanse(k->pem, k->pem_len);
	free(k->pem);
	free(k);
}

/* ---------------------------------------------------------------- signer */

static int
dkim_domain_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dkim_domain *)a)->name,
	    ((const struct dkim_domain *)b)->name);
}

static struct dkim_domain *
dkim_domain_get(struct dkim_signer *s, const char *name)
{
	int i;

	for (i = 0; i < s->ndomains; i++)
		if (strcmp(s->domains[i].name, name) == 0)
			return &s->domains[i];
	s->domains = xrealloc(s->domains, (size_t)(s->ndomains + 1) *
	    sizeof(*s->domains));
	memset(&s->domains[s->ndomains], 0, sizeof(*s->domains));
	memcpy(s->domains[s->ndomains].name, name, strlen(name) + 1);
	return &s->domains[s->ndomains++];
}

/* One configured key into the table; the error names the key. */
static int
dkim_signer_add(struct dkim_signer *s, const struct dkim_key_conf *c,
    struct err *e)
{
	char name[LIMIT_ADDR_DOMAIN + 1];
	enum dkim_algorithm alg;
	struct dkim_domain *d;
	struct dkim_key *k;

	if (c->domain == NULL || c->selector == NULL || c->algorithm == NULL ||
	    c->key_file == NULL)
		return err_set(e, EX_CONFIG, "a DKIM key needs domain, "
		    "selector, algorithm and key_file");
	if (dkim_domain_norm(c->domain, name, e) < 0 ||
	    dkim_selector_check(c->selector, e) < 0)
		return -1;
	if (dkim_algorithm_parse(c->algorithm, &alg) < 0)
		return err_set(e, EX_CONFIG, "algorithm \"%.80s\" is neither "
		    "rsa-sha256 nor ed25519-sha256", c->algorithm);
	if (alg == DKIM_ED25519_SHA256 &&
	    !dkim_libfeature(s->lib, DKIM_FEATURE_ED25519))
		return err_set(e, EX_CONFIG, "this libopendkim cannot sign "
		    "with ed25519-sha256");
	d = dkim_domain_get(s, name);
	if (d->key[alg] != NULL)
		return err_set(e, EX_CONFIG, "a second %s key for %s",
		    dkim_algorithm_name(alg), name);
	k = xcalloc(1, sizeof(*k));
	memcpy(k->selector, c->selector, strlen(c->selector) + 1);
	if (dkim_key_load(c, alg, k, e) < 0) {
		dkim_key_free(k);
		return -1;
	}
	d->key[alg] = k;
	s->nkeys++;
	return 0;
}

static int
dkim_lib_setup(DKIM_LIB *lib)
{
	unsigned int flags = DKIM_LIBFLAGS_NONE;	/* no SIGNLEN: no l= */

	return dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags,
	    sizeof(flags)) != DKIM_STAT_OK ||
	    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS,
	    dkim_sign_fields, sizeof(char **)) != DKIM_STAT_OK ||
	    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS,
	    dkim_oversign_fields, sizeof(char **)) != DKIM_STAT_OK ? -1 : 0;
}

int
dkim_signer_open(const struct dkim_key_conf *keys, int n,
    struct dkim_signer **out, struct err *e)
{
	struct dkim_signer *s = xcalloc(1, sizeof(*s));
	int i;

	*out = NULL;
	if ((s->lib = dkim_init(NULL, NULL)) == NULL ||
	    dkim_lib_setup(s->lib) < 0) {
		dkim_signer_close(s);
		return err_set(e, EX_SOFTWARE, "libopendkim does not start");
	}
	for (i = 0; i < n; i++)
		if (dkim_signer_add(s, &keys[i], e) < 0) {
			err_prefix(e, "DKIM key %d (%.80s)", i + 1,
			    keys[i].domain ? keys[i].domain : "no domain");
			dkim_signer_close(s);
			return -1;
		}
	if (s->ndomains > 1)
		qsort(s->domains, (size_t)s->ndomains, sizeof(*s->domains),
		    dkim_domain_cmp);
	*out = s;
	return 0;
}

void
dkim_signer_close(struct dkim_signer *s)
{
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < s->ndomains; i++) {
		dkim_key_free(s->domains[i].key[0]);
		dkim_key_free(s->domains[i].key[1]);
	}
	free(s->domains);
	if (s->lib != NULL)
		dkim_close(s->lib);
	free(s);
}

int
dkim_signer_nkeys(const struct dkim_signer *s)
{
	return s->nkeys;
}

/* The domain's keys, else the nearest parent's (at least two labels). */
static const struct dkim_domain *
dkim_signer_find(const struct dkim_signer *s, const char *domain)
{
	struct dkim_domain key;
	const struct dkim_domain *d;
	const char *p = domain, *dot;

	if (s->ndomains == 0)
		return NULL;
	for (;;) {
		memcpy(key.name, p, strlen(p) + 1);
		d = bsearch(&key, s->domains, (size_t)s->ndomains,
		    sizeof(*s->domains), dkim_domain_cmp);
		if (d != NULL)
			return d;
		dot = strchr(p, '.');
		if (dot == NULL || strchr(dot + 1, '.') == NULL)
			return NULL;
		p = dot + 1;
	}
}

int
dkim_signer_covers(const struct dkim_signer *s, const char *domain)
{
	char norm[LIMIT_ADDR_DOMAIN + 1];
	struct err e;

	if (dkim_domain_norm(domain, norm, &e) < 0)
		return 0;
	return dkim_signer_find(s, norm) != NULL;
}

/* --------------------------------------------------------- the From field */

/* RFC 5322 2.2.3: CRLF followed by WSP continues the field. */
static size_t
dkim_field_end(const char *msg, size_t len, size_t i)
{
	for (; i < len; i++)
		if (msg[i] == '\n' && (i + 1 >= len ||
		    (msg[i + 1] != ' ' && msg[i + 1] != '\t')))
			return i + 1;
	return len;
}

/* Length of the field name "From" (WSP before the colon allowed) + ":". */
static size_t
dkim_is_from(const char *p, size_t n)
{
	size_t i = 4;

	if (n < 5 || strncasecmp(p, "From", 4) != 0)
		return 0;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i < n && p[i] == ':' ? i + 1 : 0;
}

/* Finds the one From field's value in the header block. */
static int
dkim_find_from(const char *msg, size_t len, const char **val, size_t *vlen,
    struct err *e)
{
	size_t i = 0, end, name;

	*val = NULL;
	while (i < len && msg[i] != '\r' && msg[i] != '\n') {
		end = dkim_field_end(msg, len, i);
		if ((name = dkim_is_from(msg + i, end - i)) != 0) {
			if (*val != NULL)
				return err_set(e, EX_DATAERR, "the message has "
				    "more than one From field");
			*val = msg + i + name;
			*vlen = end - i - name;
		}
		i = end;
	}
	if (*val == NULL)
		return err_set(e, EX_DATAERR, "the message has no From field");
	return 0;
}

/* Skips a quoted-string or (nested) comment starting at v[i]. */
static size_t
dkim_skip_quoted(const char *v, size_t n, size_t i)
{
	char open = v[i], close = open == '"' ? '"' : ')';
	int depth = 1;

	for (i++; i < n && depth > 0; i++) {
		if (v[i] == '\\')
			i++;
		else if (v[i] == close)
			depth--;
		else if (open == '(' && v[i] == '(')
			depth++;
	}
	return i;
}

/*
 * The address of the one mailbox: inside <...> when there is one, else
 * the whole value. Quoted strings and comments are stepped over, so a
 * display name's "@", "<" or "," counts for nothing. Sets *at to the
 * last "@" of the address and *end to where its domain stops.
 */
static int
dkim_from_addr(const char *v, size_t n, size_t *at, size_t *end,
    struct err *e)
{
	size_t i = 0, lt = n;
	int done = 0;

	*at = *end = n;
	while (i < n) {
		if (v[i] == '"' || v[i] == '(') {
			if (lt == n && *at != n && *end == n)
				*end = i;	/* a comment after the domain */
			i = dkim_skip_quoted(v, n, i);
			continue;
		}
		if (done && !isspace((unsigned char)v[i]))
			goto many;
		if (v[i] == '<' && lt == n) {
			lt = i;
			*at = *end = n;
		} else if (v[i] == '>' && lt != n) {
			*end = i;
			done = 1;
		} else if (v[i] == '@' && (lt != n || *end == n))
			*at = i;
		else if (v[i] == ',' || v[i] == ';' || v[i] == '<' ||
		    (v[i] == ':' && lt == n))
			goto many;
		i++;
	}
	if ((lt != n && !done) || *at == n)
		return err_set(e, EX_DATAERR, "the From field has no address");
	return 0;
many:
	return err_set(e, EX_DATAERR, "the From field holds more than one "
	    "address, or a group");
}

int
dkim_from_domain(const char *msg, size_t len, char *out, size_t n,
    struct err *e)
{
	const char *v;
	size_t vlen = 0, at, end, a, b;

	if (dkim_find_from(msg, len, &v, &vlen, e) < 0 ||
	    dkim_from_addr(v, vlen, &at, &end, e) < 0)
		return -1;
	for (a = at + 1; a < end && isspace((unsigned char)v[a]); a++)
		;
	for (b = end; b > a && isspace((unsigned char)v[b - 1]); b--)
		;
	if (addr_domain(v + a, b - a, out, n, e) < 0) {
		err_prefix(e, "From address");
		return -1;
	}
	return 0;
}

/* -------------------------------------------------------------- signing */

/* mime.h's messages end every line in CRLF; anything else is a bug. */
static int
dkim_check_crlf(const char *msg, size_t len, struct err *e)
{
	const char *p = msg, *end = msg + len;

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (p == msg || p[-1] != '\r')
			return err_set(e, EX_DATAERR, "bare LF at octet %zu of "
			    "the message", (size_t)(p - msg));
		p++;
	}
	for (p = msg; (p = memchr(p, '\r', (size_t)(end - p))) != NULL; p++)
		if (p + 1 == end || p[1] != '\n')
			return err_set(e, EX_DATAERR, "bare CR at octet %zu of "
			    "the message", (size_t)(p - msg));
	return 0;
}

/* "DKIM-Signature: " and the folded value with every line end as CRLF. */
static int
dkim_put_header(struct buf *out, const unsigned char *h, size_t n)
{
	size_t i;

	if (buf_adds(out, DKIM_SIGNHEADER ": ") < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (h[i] == '\r')
			continue;
		if (h[i] == '\n' && buf_addc(out, '\r') < 0)
			return -1;
		if (buf_addc(out, (char)h[i]) < 0)
			return -1;
	}
	return buf_add(out, "\r\n", 2);
}

static int
dkim_fail(DKIM *dk, DKIM_STAT st, const char *what, const char *domain,
    struct err *e)
{
	const char *why = dk != NULL ? dkim_geterror(dk) : NULL;

	return err_set(e, EX_SOFTWARE, "DKIM signing for %s: %s: %s", domain,
	    what, why != NULL && *why != '\0' ? why : dkim_getresultstr(st));
}

static int
dkim_sign_one(const struct dkim_signer *s, const char *domain,
    const struct dkim_key *k, const char *msg, size_t len, struct buf *out,
    struct err *e)
{
	unsigned char *hdr;
	size_t hlen;
	DKIM_STAT st;
	DKIM *dk;
	int rc = -1;

	dk = dkim_sign(s->lib, (const unsigned char *)"postbote", NULL,
	    (dkim_sigkey_t)k->pem, (const unsigned char *)k->selector,
	    (const unsigned char *)domain, DKIM_CANON_RELAXED,
	    DKIM_CANON_RELAXED, k->alg == DKIM_RSA_SHA256 ?
	    DKIM_SIGN_RSASHA256 : DKIM_SIGN_ED25519SHA256, -1, &st);
	if (dk == NULL)
		return dkim_fail(NULL, st, "dkim_sign", domain, e);
	/* dkim_chunk() only reads the bytes; its prototype is not const. */
	if ((st = dkim_chunk(dk, (unsigned char *)(uintptr_t)msg, len)) !=
	    DKIM_STAT_OK || (st = dkim_chunk(dk, NULL, 0)) != DKIM_STAT_OK) {
		dkim_fail(dk, st, "the message", domain, e);
		goto out;
	}
	if ((st = dkim_eom(dk, NULL)) != DKIM_STAT_OK ||
	    (st = dkim_getsighdr_d(dk, strlen(DKIM_SIGNHEADER) + 2, &hdr,
	    &hlen)) != DKIM_STAT_OK) {
		dkim_fail(dk, st, "the signature", domain, e);
		goto out;
	}
	if (dkim_put_header(out, hdr, hlen) < 0)
		err_set(e, EX_SOFTWARE, "DKIM signatures for %s exceed the "
		    "buffer", domain);
	else
		rc = 0;
out:
	dkim_free(dk);
	return rc;
}

int
dkim_signer_sign(const struct dkim_signer *s, const char *msg, size_t len,
    struct buf *out, struct err *e)
{
	char domain[LIMIT_ADDR_DOMAIN + 1];
	const struct dkim_domain *d;
	size_t was = out->len;
	int i;

	if (dkim_check_crlf(msg, len, e) < 0 ||
	    dkim_from_domain(msg, len, domain, sizeof(domain), e) < 0)
		return -1;
	if ((d = dkim_signer_find(s, domain)) == NULL)
		return err_set(e, EX_CONFIG, "no DKIM key for the From domain "
		    "%s (nor for a parent domain)", domain);
	for (i = 0; i < 2; i++) {
		if (d->key[i] == NULL)
			continue;
		if (dkim_sign_one(s, d->name, d->key[i], msg, len, out, e) < 0) {
			out->len = was;
			if (out->data != NULL)
				out->data[was] = '\0';
			return -1;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- keygen */

static EVP_PKEY *
dkim_keygen_key(const struct dkim_keygen_req *r, int bits)
{
	if (r->algorithm == DKIM_ED25519_SHA256)
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
}

/* p= : RSA as SubjectPublicKeyInfo DER (what opendkim-genkey writes),
 * Ed25519 as the bare 32-octet key (RFC 8463 4.2); base64 either way. */
static int
dkim_public_b64(EVP_PKEY *pk, enum dkim_algorithm alg, struct buf *out)
{
	unsigned char raw[32], *der = NULL;
	size_t rawlen = sizeof(raw);
	int n, rc = -1;
	char *b64;

	if (alg == DKIM_ED25519_SHA256) {
		if (EVP_PKEY_get_raw_public_key(pk, raw, &rawlen) != 1)
			return -1;
		der = raw;
		n = (int)rawlen;
	} else if ((n = i2d_PUBKEY(pk, &der)) <= 0)
		return -1;
	b64 = xmalloc(((size_t)n + 2) / 3 * 4 + 1);
	EVP_EncodeBlock((unsigned char *)b64, der, n);
	rc = buf_adds(out, b64);
	free(b64);
	if (der != raw)
		OPENSSL_free(der);
	return rc;
}

/* NAME IN TXT "..." "...": the value in strings of at most 255 octets. */
static int
dkim_txt_record(const char *selector, const char *domain,
    enum dkim_algorithm alg, EVP_PKEY *pk, struct buf *out)
{
	struct buf v;
	size_t i, n;
	int rc = -1;

	buf_init(&v, 4096);
	if (buf_printf(&v, "v=DKIM1; k=%s; p=", alg == DKIM_RSA_SHA256 ?
	    "rsa" : "ed25519") < 0 || dkim_public_b64(pk, alg, &v) < 0 ||
	    buf_printf(out, "%s._domainkey.%s IN TXT", selector, domain) < 0)
		goto out;
	for (i = 0; i < v.len; i += n) {
		n = v.len - i < DKIM_TXT_STRING ? v.len - i : DKIM_TXT_STRING;
		if (buf_printf(out, " \"%.*s\"", (int)n, v.data + i) < 0)
			goto out;
	}
	rc = 0;
out:
	buf_free(&v);
	return rc;
}

static int
dkim_write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* O_EXCL: an existing key (perhaps the one in DNS) is never replaced. */
static int
dkim_write_key(const char *path, EVP_PKEY *pk, struct err *e)
{
	struct dkim_key k = { 0 };
	int fd, rc = 0;

	if (dkim_key_pem(pk, &k, e) < 0)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0) {
		rc = err_set(e, EX_CANTCREAT, "%s: %s%s", path, strerror(errno),
		    errno == EEXIST ? "; not overwriting a key" : "");
		goto out;
	}
	if (fchmod(fd, 0600) < 0 || dkim_write_all(fd, k.pem, k.pem_len) < 0 ||
	    fsync(fd) < 0) {
		rc = err_set(e, EX_CANTCREAT, "%s: %s", path, strerror(errno));
		(void)unlink(path);
	}
	if (close(fd) < 0 && rc == 0) {
		rc = err_set(e, EX_CANTCREAT, "%s: %s", path, strerror(errno));
		(void)unlink(path);
	}
out:
	OPENSSL_cleanse(k.pem, k.pem_len);
	free(k.pem);
	return rc;
}

int
dkim_keygen(const struct dkim_keygen_req *r, struct buf *record,
    struct err *e)
{
	char domain[LIMIT_ADDR_DOMAIN + 1];
	int bits = r->bits ? r->bits : DKIM_RSA_DEFAULT, rc = -1;
	EVP_PKEY *pk;
	struct buf txt;

	if (r->domain == NULL || r->selector == NULL || r->path == NULL)
		return err_set(e, EX_USAGE, "a DKIM key needs a domain, a "
		    "selector and a file");
	if (dkim_domain_norm(r->domain, domain, e) < 0 ||
	    dkim_selector_check(r->selector, e) < 0) {
		e->code = EX_USAGE;
		return -1;
	}
	if (r->algorithm == DKIM_RSA_SHA256 && (bits < LIMIT_DKIM_RSA_MIN ||
	    bits > LIMIT_DKIM_RSA_MAX))
		return err_set(e, EX_USAGE, "RSA keys for DKIM have %d-%d bits",
		    LIMIT_DKIM_RSA_MIN, LIMIT_DKIM_RSA_MAX);
	if ((pk = dkim_keygen_key(r, bits)) == NULL)
		return err_set(e, EX_SOFTWARE, "OpenSSL cannot make a %s key",
		    dkim_algorithm_name(r->algorithm));
	buf_init(&txt, LIMIT_DKIM_SIGNATURES);
	/* Room for the record first: a key written is a key to publish. */
	if (dkim_txt_record(r->selector, domain, r->algorithm, pk, &txt) < 0 ||
	    buf_reserve(record, txt.len) < 0)
		err_set(e, EX_SOFTWARE, "the DNS record does not fit");
	else if (dkim_write_key(r->path, pk, e) == 0) {
		if (buf_add(record, txt.data, txt.len) < 0)
			abort();	/* reserved above */
		rc = 0;
	}
	buf_free(&txt);
	EVP_PKEY_free(pk);
	ERR_clear_error();
	return rc;
}
