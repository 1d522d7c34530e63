/*
 * dkim.c - DKIM signing with OpenSSL, and its keys; see dkim.h.
 *
 * Relaxed canonicalization (RFC 6376 3.4.2, 3.4.4) is done here, the
 * hashing and signing by OpenSSL. A signer holds each key parsed once and
 * a table of domains sorted for bsearch(); a struct dkim_ctx holds what
 * one thread reuses from message to message: its own copy of each key
 * with the signing context set up on it, the SHA-256 context and the
 * scratch buffers.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "addr.h"
#include "dkim.h"
#include "limits.h"
#include "xalloc.h"

#define DKIM_RSA_DEFAULT	2048
#define DKIM_TXT_STRING		255	/* RFC 1035 3.3.14 character-string */

/* The fields signed, wherever present (RFC 6376 5.4.1 lists what SHOULD
 * be). */
static const char *dkim_sign_fields[] = {
	"From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
	"Content-Type", "List-Unsubscribe", "List-Unsubscribe-Post",
	"Feedback-ID", NULL
};

/* Listed in h= once more than they occur: none can be added later. */
static const char *dkim_oversign_fields[] = { "From", "Subject", NULL };

/* The signature's lines are folded at this width (RFC 5322 2.1.1). */
#define DKIM_WIDTH	78
#define DKIM_SIG_MAX	512	/* octets of a 4096-bit RSA signature */

struct dkim_key {
	enum dkim_algorithm alg;
	char selector[LIMIT_DKIM_SELECTOR + 1];
	EVP_PKEY *pk;
	int slot;		/* its place in each struct dkim_ctx */
};

struct dkim_domain {
	char name[LIMIT_ADDR_DOMAIN + 1];	/* A-label, lower case */
	struct dkim_key *key[2];		/* by enum dkim_algorithm */
};

struct dkim_signer {
	struct dkim_domain *domains;	/* sorted by name */
	int ndomains;
	int nkeys;
	EVP_MD *sha256;		/* fetched once, not per message */
};

/*
 * One thread's copy of a key. RSA: a context made ready for PKCS#1 v1.5
 * with SHA-256 once, then used for every signature; its own key object,
 * so the RSA blinding state is the thread's and takes no lock. Ed25519
 * signs in one shot, which ends a context: a ready template is copied
 * per message instead of fetching the algorithm again.
 */
struct dkim_slot {
	EVP_PKEY *pk;
	EVP_PKEY_CTX *rsa;
	EVP_MD_CTX *ed;
};

struct dkim_field {
	const char *p;		/* the field, its CRLF included */
	size_t n;
	size_t name;		/* its name's length, WSP before ':' out */
	int used;		/* picked for h= already */
};

struct dkim_ctx {
	const struct dkim_signer *s;
	struct dkim_slot *slot;	/* nkeys, each made at first use */
	EVP_MD_CTX *md;		/* SHA-256 of the body, the header */
	EVP_MD_CTX *ed;		/* the Ed25519 template's copy */
	struct dkim_field *field; /* LIMIT_DKIM_FIELDS */
	struct buf hlist;	/* h=, unfolded */
	struct buf fields;	/* the signed fields, canonical */
	struct buf sig;		/* one DKIM-Signature field */
	struct buf canon;	/* ... canonical, b= empty */
	struct buf line;	/* a body line rewritten */
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
dkim_key_pem(EVP_PKEY *pk, char **pem, size_t *len, struct err *e)
{
	BIO *mem = BIO_new(BIO_s_mem());
	char *p;
	long n;

	if (mem == NULL || !PEM_write_bio_PrivateKey(mem, pk, NULL, NULL, 0,
	    NULL, NULL) || (n = BIO_get_mem_data(mem, &p)) <= 0) {
		BIO_free(mem);
		return err_set(e, EX_SOFTWARE, "OpenSSL cannot write the key");
	}
	*pem = xstrndup(p, (size_t)n);
	*len = (size_t)n;
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
	if (dkim_key_check(pk, alg, c->key_file, e) < 0)
		goto out;
	k->alg = alg;
	k->pk = pk;
	pk = NULL;
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
	EVP_PKEY_free(k->pk);	/* clears the key material */
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
	k->slot = s->nkeys++;
	d->key[alg] = k;
	return 0;
}

int
dkim_signer_open(const struct dkim_key_conf *keys, int n,
    struct dkim_signer **out, struct err *e)
{
	struct dkim_signer *s = xcalloc(1, sizeof(*s));
	int i;

	*out = NULL;
	if ((s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL) {
		dkim_signer_close(s);
		return err_set(e, EX_SOFTWARE, "OpenSSL has no SHA-256");
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
	EVP_MD_free(s->sha256);
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

/* ------------------------------------------------------ canonicalization */

/* RFC 6376 3.4.2: lower-case name, ":", the value unfolded, each run of
 * WSP one SP, none before or after the value; no CRLF. */
static int
dkim_canon_field(const char *f, size_t n, struct buf *out)
{
	const char *colon = memchr(f, ':', n), *end = f + n;
	size_t i, name = colon != NULL ? (size_t)(colon - f) : n;
	char *w;
	int ws = 0, started = 0;

	while (name > 0 && (f[name - 1] == ' ' || f[name - 1] == '\t'))
		name--;
	if (buf_reserve(out, n + 1) < 0)
		return -1;
	w = out->data + out->len;
	for (i = 0; i < name; i++)
		*w++ = (char)tolower((unsigned char)f[i]);
	*w++ = ':';
	for (f = colon != NULL ? colon + 1 : end; f < end; f++) {
		if (*f == '\r' || *f == '\n')
			continue;	/* unfolding: the WSP after stays */
		if (*f == ' ' || *f == '\t') {
			ws = 1;
			continue;
		}
		if (ws && started)
			*w++ = ' ';
		ws = 0;
		started = 1;
		*w++ = *f;
	}
	*w = '\0';
	out->len = (size_t)(w - out->data);
	return 0;
}

/* Whether a body line (without its CRLF) is already relaxed-canonical:
 * no HTAB, no two SPs in a row, no SP at its end; and no CR, which the
 * caller then looks at (a bare one is refused). */
static int
dkim_line_clean(const char *p, size_t n)
{
	size_t i;

	if (n > 0 && p[n - 1] == ' ')
		return 0;
	for (i = 0; i < n; i++)
		if (p[i] == '\t' || p[i] == '\r' ||
		    (p[i] == ' ' && i + 1 < n && p[i + 1] == ' '))
			return 0;
	return 1;
}

/* RFC 6376 3.4.4 for one line that is not clean; its length after. */
static size_t
dkim_canon_line(const char *p, size_t n, char *w)
{
	size_t i, o = 0;
	int ws = 0;

	for (i = 0; i < n; i++) {
		if (p[i] == ' ' || p[i] == '\t') {
			ws = 1;
			continue;
		}
		if (ws)
			w[o++] = ' ';
		ws = 0;
		w[o++] = p[i];
	}
	return o;
}

/* Hashes the run of lines that needed no change, if one is open. */
static int
dkim_run_flush(EVP_MD_CTX *md, const char **run, const char *upto)
{
	int ok = *run == NULL ||
	    EVP_DigestUpdate(md, *run, (size_t)(upto - *run));

	*run = NULL;
	return ok ? 0 : -1;
}

/* mime.h's messages end every line in CRLF; anything else is a bug. */
static int
dkim_bare(const char *msg, const char *at, struct err *e)
{
	return err_set(e, EX_DATAERR, "bare %s at octet %zu of the message",
	    *at == '\n' ? "LF" : "CR", (size_t)(at - msg));
}

/*
 * The relaxed body hash (RFC 6376 3.4.4, 3.7): lines already canonical
 * are hashed where they lie, in runs; only a line with stray WSP is
 * rewritten, into scratch. Empty lines are counted and hashed only once
 * a line with text follows, so those at the end drop out; an empty body
 * hashes as nothing. The same pass refuses a bare CR or LF (octets
 * counted from msg), so the body is read once, not once more to check.
 */
static int
dkim_body_hash(EVP_MD_CTX *md, const EVP_MD *sha256, const char *msg,
    const char *p, const char *end, struct buf *scratch, unsigned char *dgst,
    struct err *e)
{
	const char *run = NULL, *eol, *next, *text, *cr;
	unsigned int dlen;
	size_t n, empty = 0;
	int clean;

	if (!EVP_DigestInit_ex2(md, sha256, NULL))
		goto ossl;
	for (; p < end; p = next) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol != NULL && (eol == p || eol[-1] != '\r'))
			return dkim_bare(msg, eol, e);
		next = eol != NULL ? eol + 1 : end;
		n = (size_t)((eol != NULL ? eol - 1 : end) - p);
		text = p;
		if (!(clean = dkim_line_clean(p, n))) {
			if ((cr = memchr(p, '\r', n)) != NULL)
				return dkim_bare(msg, cr, e);
			if (buf_reserve(scratch, n) < 0)
				goto ossl;
			n = dkim_canon_line(p, n, scratch->data);
			text = scratch->data;
		}
		if (n == 0) {
			if (dkim_run_flush(md, &run, p) < 0)
				goto ossl;
			empty++;
			continue;
		}
		for (; empty > 0; empty--)
			if (!EVP_DigestUpdate(md, "\r\n", 2))
				goto ossl;
		if (clean && eol != NULL) {
			if (run == NULL)
				run = p;
			continue;
		}
		/* Rewritten, or the last line and without its CRLF. */
		if (dkim_run_flush(md, &run, p) < 0 ||
		    !EVP_DigestUpdate(md, text, n) ||
		    !EVP_DigestUpdate(md, "\r\n", 2))
			goto ossl;
	}
	if (dkim_run_flush(md, &run, end) == 0 &&
	    EVP_DigestFinal_ex(md, dgst, &dlen))
		return 0;
ossl:
	return err_set(e, EX_SOFTWARE, "hashing the body fails");
}

/* -------------------------------------------------------------- signing */

/* The header block's line ends; the body's are checked as it is
 * hashed. */
static int
dkim_check_crlf(const char *msg, size_t len, struct err *e)
{
	const char *p = msg, *end = msg + len;

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (p == msg || p[-1] != '\r')
			return dkim_bare(msg, p, e);
		p++;
	}
	for (p = msg; (p = memchr(p, '\r', (size_t)(end - p))) != NULL; p++)
		if (p + 1 == end || p[1] != '\n')
			return dkim_bare(msg, p, e);
	return 0;
}

/* Indexes the header fields; *body is where the body starts. */
static int
dkim_fields(const char *msg, size_t len, struct dkim_field *f, int *nf,
    size_t *body, struct err *e)
{
	size_t i = 0, end;
	const char *colon;

	*nf = 0;
	while (i < len && msg[i] != '\r') {
		if (*nf == LIMIT_DKIM_FIELDS)
			return err_set(e, EX_DATAERR, "the message has more "
			    "than %d header fields", LIMIT_DKIM_FIELDS);
		end = dkim_field_end(msg, len, i);
		f[*nf].p = msg + i;
		f[*nf].n = end - i;
		colon = memchr(msg + i, ':', end - i);
		f[*nf].name = colon != NULL ? (size_t)(colon - msg) - i : 0;
		while (f[*nf].name > 0 && (msg[i + f[*nf].name - 1] == ' ' ||
		    msg[i + f[*nf].name - 1] == '\t'))
			f[*nf].name--;
		f[*nf].used = 0;
		(*nf)++;
		i = end;
	}
	*body = i + 2 <= len ? i + 2 : len;	/* past the empty line */
	return 0;
}

static int
dkim_signed_name(const char *name, size_t n)
{
	int i;

	for (i = 0; dkim_sign_fields[i] != NULL; i++)
		if (strlen(dkim_sign_fields[i]) == n &&
		    strncasecmp(dkim_sign_fields[i], name, n) == 0)
			return 1;
	return 0;
}

/*
 * h= and the signed fields' canonical text, which every signature of the
 * message shares. h= lists the signed fields present, in message order,
 * then the over-signed names; a verifier takes the instances of a name
 * bottom-up (RFC 6376 5.4.2), and so does the hashing here.
 */
static int
dkim_header_list(struct dkim_field *f, int nf, struct buf *h,
    struct buf *canon)
{
	int i, j;

	for (i = 0; i < nf; i++) {
		if (!dkim_signed_name(f[i].p, f[i].name))
			continue;
		if ((h->len > 0 && buf_addc(h, ':') < 0) ||
		    buf_add(h, f[i].p, f[i].name) < 0)
			return -1;
		/* The last unused instance of the same name. */
		for (j = nf - 1; j >= 0; j--)
			if (!f[j].used && f[j].name == f[i].name &&
			    strncasecmp(f[j].p, f[i].p, f[i].name) == 0)
				break;
		f[j].used = 1;
		if (dkim_canon_field(f[j].p, f[j].n, canon) < 0 ||
		    buf_add(canon, "\r\n", 2) < 0)
			return -1;
	}
	for (i = 0; dkim_oversign_fields[i] != NULL; i++)
		if ((h->len > 0 && buf_addc(h, ':') < 0) ||
		    buf_adds(h, dkim_oversign_fields[i]) < 0)
			return -1;
	return 0;
}

/* Appends one tag, on this line when it fits, else on a folded one. */
static int
dkim_tag(struct buf *b, size_t *col, const char *t, size_t n, int space)
{
	if (*col + (space ? 1 : 0) + n > DKIM_WIDTH) {
		if (buf_add(b, "\r\n\t", 3) < 0)
			return -1;
		*col = 1;
	} else if (space) {
		if (buf_addc(b, ' ') < 0)
			return -1;
		(*col)++;
	}
	*col += n;
	return buf_add(b, t, n);
}

/* The field up to "b=": the part a signature covers (RFC 6376 3.7). */
static int
dkim_sig_head(struct buf *b, size_t *col, const struct dkim_domain *d,
    const struct dkim_key *k, const struct buf *hlist, const char *bh)
{
	char t[LIMIT_ADDR_DOMAIN + 32];
	const char *p, *colon, *end = hlist->data + hlist->len;
	int n;

	buf_reset(b);
	if (buf_adds(b, "DKIM-Signature: v=1;") < 0)
		return -1;
	*col = b->len;
	n = snprintf(t, sizeof(t), "a=%s;", dkim_algorithm_name(k->alg));
	if (dkim_tag(b, col, t, (size_t)n, 1) < 0 ||
	    dkim_tag(b, col, "c=relaxed/relaxed;", 18, 1) < 0)
		return -1;
	n = snprintf(t, sizeof(t), "d=%s;", d->name);
	if (dkim_tag(b, col, t, (size_t)n, 1) < 0)
		return -1;
	n = snprintf(t, sizeof(t), "s=%s;", k->selector);
	if (dkim_tag(b, col, t, (size_t)n, 1) < 0)
		return -1;
	n = snprintf(t, sizeof(t), "t=%lld;", (long long)time(NULL));
	if (dkim_tag(b, col, t, (size_t)n, 1) < 0)
		return -1;
	/* h= folds between names: FWS may stand around each ':'. */
	for (p = hlist->data; p < end; p = colon + 1) {
		colon = memchr(p, ':', (size_t)(end - p));
		if (colon == NULL)
			colon = end;
		n = snprintf(t, sizeof(t), "%s%.*s%c", p == hlist->data ?
		    "h=" : "", (int)(colon - p), p, colon == end ? ';' : ':');
		if (dkim_tag(b, col, t, (size_t)n, p == hlist->data) < 0)
			return -1;
	}
	n = snprintf(t, sizeof(t), "bh=%s;", bh);
	return dkim_tag(b, col, t, (size_t)n, 1) < 0 ||
	    dkim_tag(b, col, "b=", 2, 1) < 0 ? -1 : 0;
}

/* The signature's base64, folded, and the field's CRLF. */
static int
dkim_sig_tail(struct buf *b, size_t col, const unsigned char *sig,
    size_t siglen)
{
	char b64[(DKIM_SIG_MAX + 2) / 3 * 4 + 1];
	size_t i, n, len;

	len = (size_t)EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen);
	for (i = 0; i < len; i += n) {
		if (col >= DKIM_WIDTH) {
			if (buf_add(b, "\r\n\t", 3) < 0)
				return -1;
			col = 1;
		}
		n = DKIM_WIDTH - col < len - i ? DKIM_WIDTH - col : len - i;
		if (buf_add(b, b64 + i, n) < 0)
			return -1;
		col += n;
	}
	return buf_add(b, "\r\n", 2);
}

/* The thread's copy of key k, made ready at its first use. */
static struct dkim_slot *
dkim_slot(struct dkim_ctx *x, const struct dkim_key *k)
{
	struct dkim_slot *sl = &x->slot[k->slot];

	if (sl->pk != NULL)
		return sl;
	if ((sl->pk = EVP_PKEY_dup(k->pk)) == NULL)
		return NULL;
	if (k->alg == DKIM_RSA_SHA256) {
		if ((sl->rsa = EVP_PKEY_CTX_new_from_pkey(NULL, sl->pk,
		    NULL)) == NULL || EVP_PKEY_sign_init(sl->rsa) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_padding(sl->rsa,
		    RSA_PKCS1_PADDING) <= 0 ||
		    EVP_PKEY_CTX_set_signature_md(sl->rsa, x->s->sha256) <= 0)
			goto bad;
	} else if ((sl->ed = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(sl->ed, NULL, NULL, NULL, NULL, sl->pk,
	    NULL) != 1)
		goto bad;
	return sl;
bad:
	EVP_PKEY_CTX_free(sl->rsa);
	EVP_MD_CTX_free(sl->ed);
	EVP_PKEY_free(sl->pk);
	memset(sl, 0, sizeof(*sl));
	return NULL;
}

/* RSA: PKCS#1 v1.5 over the SHA-256 of the header data. Ed25519
 * (RFC 8463 3): PureEdDSA over that SHA-256 value itself. */
static int
dkim_sign_digest(struct dkim_ctx *x, const struct dkim_key *k,
    const unsigned char *dgst, unsigned char *sig, size_t *siglen)
{
	struct dkim_slot *sl = dkim_slot(x, k);

	if (sl == NULL)
		return -1;
	*siglen = DKIM_SIG_MAX;
	if (k->alg == DKIM_RSA_SHA256)
		return EVP_PKEY_sign(sl->rsa, sig, siglen, dgst, 32) == 1 ?
		    0 : -1;
	return EVP_MD_CTX_copy_ex(x->ed, sl->ed) == 1 &&
	    EVP_DigestSign(x->ed, sig, siglen, dgst, 32) == 1 ? 0 : -1;
}

/* The field in x->sig: 0, -1 when OpenSSL fails, -2 when it does not
 * fit the working buffers. */
static int
dkim_sign_one(struct dkim_ctx *x, const struct dkim_domain *d,
    const struct dkim_key *k, const struct buf *hlist, const char *bh)
{
	unsigned char dgst[EVP_MAX_MD_SIZE], sig[DKIM_SIG_MAX];
	size_t col, siglen;
	unsigned int dlen;

	buf_reset(&x->canon);
	if (dkim_sig_head(&x->sig, &col, d, k, hlist, bh) < 0 ||
	    dkim_canon_field(x->sig.data, x->sig.len, &x->canon) < 0)
		return -2;
	if (!EVP_DigestInit_ex2(x->md, x->s->sha256, NULL) ||
	    !EVP_DigestUpdate(x->md, x->fields.data, x->fields.len) ||
	    !EVP_DigestUpdate(x->md, x->canon.data, x->canon.len) ||
	    !EVP_DigestFinal_ex(x->md, dgst, &dlen) ||
	    dkim_sign_digest(x, k, dgst, sig, &siglen) < 0)
		return -1;
	return dkim_sig_tail(&x->sig, col, sig, siglen) < 0 ? -2 : 0;
}

/*
 * Signs with both keys d has. LIMIT_DKIM_SIGNATURES bounds what the
 * message gets, every signature together (the sender's buffer holds
 * LIMIT_MESSAGE more); only signed fields by the hundred reach it, so
 * it is the message's fault, not OpenSSL's.
 */
static int
dkim_sign_all(struct dkim_ctx *x, const struct dkim_domain *d,
    const char *bh, struct buf *out, struct err *e)
{
	size_t was = out->len, n;
	int i, rc;

	for (i = 0; i < 2; i++) {
		if (d->key[i] == NULL)
			continue;
		rc = dkim_sign_one(x, d, d->key[i], &x->hlist, bh);
		if (rc == -1)
			return err_set(e, EX_SOFTWARE, "DKIM signing for %s "
			    "with %s: OpenSSL fails", d->name,
			    dkim_algorithm_name((enum dkim_algorithm)i));
		n = out->len - was + x->sig.len;
		if (rc == -2 || n > LIMIT_DKIM_SIGNATURES)
			return err_set(e, EX_DATAERR, "the DKIM-Signature "
			    "fields would take %s%zu bytes, over the limit of "
			    "%d: too many signed header fields", rc == -2 ?
			    "more than " : "", n, LIMIT_DKIM_SIGNATURES);
		if (buf_add(out, x->sig.data, x->sig.len) < 0)
			return err_set(e, EX_SOFTWARE, "DKIM signing for %s: "
			    "no room left for the signature", d->name);
	}
	return 0;
}

struct dkim_ctx *
dkim_ctx_new(const struct dkim_signer *s)
{
	struct dkim_ctx *x = xcalloc(1, sizeof(*x));

	x->s = s;
	x->slot = xcalloc((size_t)(s->nkeys > 0 ? s->nkeys : 1),
	    sizeof(*x->slot));
	if ((x->md = EVP_MD_CTX_new()) == NULL ||
	    (x->ed = EVP_MD_CTX_new()) == NULL)
		abort();	/* out of memory, as xmalloc() treats it */
	x->field = xcalloc(LIMIT_DKIM_FIELDS, sizeof(*x->field));
	buf_init(&x->hlist, LIMIT_DKIM_SIGNATURES);
	buf_init(&x->fields, LIMIT_MESSAGE);
	/* Room to build a field over the limit and say by how much: h=
	   is at most LIMIT_DKIM_SIGNATURES (hlist), folding adds 3%. */
	buf_init(&x->sig, 2 * LIMIT_DKIM_SIGNATURES);
	buf_init(&x->canon, 2 * LIMIT_DKIM_SIGNATURES);
	buf_init(&x->line, LIMIT_MESSAGE);
	return x;
}

void
dkim_ctx_free(struct dkim_ctx *x)
{
	int i;

	if (x == NULL)
		return;
	for (i = 0; i < x->s->nkeys; i++) {
		EVP_PKEY_CTX_free(x->slot[i].rsa);
		EVP_MD_CTX_free(x->slot[i].ed);
		EVP_PKEY_free(x->slot[i].pk);
	}
	free(x->slot);
	free(x->field);
	buf_free(&x->hlist);
	EVP_MD_CTX_free(x->md);
	EVP_MD_CTX_free(x->ed);
	buf_free(&x->fields);
	buf_free(&x->sig);
	buf_free(&x->canon);
	buf_free(&x->line);
	free(x);
}

int
dkim_ctx_sign(struct dkim_ctx *x, const char *msg, size_t len,
    struct buf *out, struct err *e)
{
	char domain[LIMIT_ADDR_DOMAIN + 1];
	unsigned char bh[EVP_MAX_MD_SIZE];
	char bh64[((EVP_MAX_MD_SIZE + 2) / 3) * 4 + 1];
	const struct dkim_domain *d;
	const char *blank = memmem(msg, len, "\r\n\r\n", 4);
	size_t was = out->len, body = 0;
	int nf, rc = -1;

	if (dkim_check_crlf(msg, blank != NULL ? (size_t)(blank + 4 - msg) :
	    len, e) < 0 ||
	    dkim_from_domain(msg, len, domain, sizeof(domain), e) < 0)
		return -1;
	if ((d = dkim_signer_find(x->s, domain)) == NULL)
		return err_set(e, EX_CONFIG, "no DKIM key for the From domain "
		    "%s (nor for a parent domain)", domain);
	buf_reset(&x->hlist);
	buf_reset(&x->fields);
	if (dkim_fields(msg, len, x->field, &nf, &body, e) < 0)
		goto out;
	if (dkim_header_list(x->field, nf, &x->hlist, &x->fields) < 0) {
		err_set(e, EX_DATAERR, "the header fields to sign do not fit "
		    "in %d bytes", LIMIT_DKIM_SIGNATURES);
		goto out;
	}
	if (dkim_body_hash(x->md, x->s->sha256, msg, msg + body, msg + len,
	    &x->line, bh, e) < 0)
		goto out;
	EVP_EncodeBlock((unsigned char *)bh64, bh, 32);
	if (dkim_sign_all(x, d, bh64, out, e) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0) {
		out->len = was;
		if (out->data != NULL)
			out->data[was] = '\0';
	}
	ERR_clear_error();
	return rc;
}

int
dkim_signer_sign(const struct dkim_signer *s, const char *msg, size_t len,
    struct buf *out, struct err *e)
{
	struct dkim_ctx *x = dkim_ctx_new(s);
	int rc = dkim_ctx_sign(x, msg, len, out, e);

	dkim_ctx_free(x);
	return rc;
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
	char *pem = NULL;
	size_t len = 0;
	int fd, rc = 0;

	if (dkim_key_pem(pk, &pem, &len, e) < 0)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0) {
		rc = err_set(e, EX_CANTCREAT, "%s: %s%s", path, strerror(errno),
		    errno == EEXIST ? "; not overwriting a key" : "");
		goto out;
	}
	if (fchmod(fd, 0600) < 0 || dkim_write_all(fd, pem, len) < 0 ||
	    fsync(fd) < 0) {
		rc = err_set(e, EX_CANTCREAT, "%s: %s", path, strerror(errno));
		(void)unlink(path);
	}
	if (close(fd) < 0 && rc == 0) {
		rc = err_set(e, EX_CANTCREAT, "%s: %s", path, strerror(errno));
		(void)unlink(path);
	}
out:
	OPENSSL_cleanse(pem, len);
	free(pem);
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

/* ------------------------------------------------- the key in DNS (doctor) */

int
dkim_key_public(const struct dkim_key_conf *c, struct buf *p,
    struct buf *record, int *bits, struct err *e)
{
	char domain[LIMIT_ADDR_DOMAIN + 1];
	enum dkim_algorithm alg;
	struct dkim_key k;
	int rc = -1;

	memset(&k, 0, sizeof(k));
	if (dkim_algorithm_parse(c->algorithm, &alg) < 0)
		return err_set(e, EX_CONFIG, "DKIM algorithm \"%s\" is not "
		    "rsa-sha256 or ed25519-sha256", c->algorithm);
	if (dkim_domain_norm(c->domain, domain, e) < 0 ||
	    dkim_selector_check(c->selector, e) < 0 ||
	    dkim_key_load(c, alg, &k, e) < 0)
		return -1;
	if (dkim_public_b64(k.pk, alg, p) < 0 ||
	    dkim_txt_record(c->selector, domain, alg, k.pk, record) < 0)
		err_set(e, EX_SOFTWARE, "key file %s: OpenSSL cannot write its "
		    "public key", c->key_file);
	else
		rc = 0;
	*bits = EVP_PKEY_get_bits(k.pk);
	EVP_PKEY_free(k.pk);
	ERR_clear_error();
	return rc;
}

/* Base64 with whitespace anywhere (RFC 6376 3.6.1 allows FWS in p=) to
   octets; -1 when it is not base64. */
static long
dkim_b64_decode(const char *s, unsigned char **out)
{
	size_t n = strlen(s), k = 0, i, pad = 0;
	char *clean = xmalloc(n + 1);
	long len;

	for (i = 0; i < n; i++)
		if (!isspace((unsigned char)s[i]))
			clean[k++] = s[i];
	clean[k] = '\0';
	*out = xmalloc(k / 4 * 3 + 3);
	len = k == 0 || k % 4 != 0 ? -1 :
	    EVP_DecodeBlock(*out, (unsigned char *)clean, (int)k);
	for (i = k; i > 0 && clean[i - 1] == '=' && pad < 2; i--)
		pad++;
	free(clean);
	return len < 0 ? -1 : len - (long)pad;
}

int
dkim_public_same(enum dkim_algorithm alg, const char *ours,
    const char *theirs)
{
	unsigned char *a = NULL, *b = NULL, *der = NULL;
	const unsigned char *q;
	long na, nb;
	EVP_PKEY *pk = NULL;
	int rc;

	na = dkim_b64_decode(ours, &a);
	nb = dkim_b64_decode(theirs, &b);
	if (nb <= 0)
		rc = -1;
	else if (na == nb && memcmp(a, b, (size_t)na) == 0)
		rc = 1;
	else if (alg != DKIM_RSA_SHA256)
		rc = 0;
	else {
		/* Some tools publish the bare PKCS#1 RSAPublicKey. */
		q = b;
		pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &q, nb);
		rc = pk != NULL && i2d_PUBKEY(pk, &der) == na &&
		    memcmp(der, a, (size_t)na) == 0;
	}
	EVP_PKEY_free(pk);
	OPENSSL_free(der);
	free(a);
	free(b);
	ERR_clear_error();
	return rc;
}
