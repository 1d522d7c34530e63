/*
 * track.c - signed tokens; see track.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "store.h"
#include "track.h"
#include "xalloc.h"

struct track_mac {
	EVP_MAC_CTX *ctx;
};

#define TRACK_MAC	12	/* 96 bits: forging one takes 2^96 tries */
#define TRACK_RAW	(1 + 3 * 10 + TRACK_MAC)

int
track_key_from_hex(const char *hex, struct track_key *k, struct err *e)
{
	size_t n = strlen(hex), i;

	if (n % 2 != 0 || n < 32 || n > 2 * sizeof(k->key))
		return err_set(e, EX_CONFIG, "the tracking secret is not 16 "
		    "to 64 bytes of hex; run 'postbote init' on a new "
		    "database");
	for (i = 0; i < n / 2; i++) {
		int hi = OPENSSL_hexchar2int((unsigned char)hex[2 * i]);
		int lo = OPENSSL_hexchar2int((unsigned char)hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return err_set(e, EX_CONFIG, "the tracking secret is "
			    "not hex");
		k->key[i] = (unsigned char)(hi << 4 | lo);
	}
	k->len = n / 2;
	return 0;
}

static size_t
varint_put(unsigned char *p, uint64_t v)
{
	size_t n = 0;

	do {
		p[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v != 0)
			p[n] |= 0x80;
		n++;
	} while (v != 0);
	return n;
}

static int
varint_get(const unsigned char *p, size_t len, size_t *at, uint64_t *v)
{
	int shift = 0;

	*v = 0;
	while (*at < len && shift < 63) {
		unsigned char b = p[(*at)++];

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
		shift += 7;
	}
	return -1;
}

struct track_mac *
track_mac_new(const struct track_key *k)
{
	OSSL_PARAM params[2];
	struct track_mac *m;
	EVP_MAC *hmac;

	if ((hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return NULL;
	m = xcalloc(1, sizeof(*m));
	m->ctx = EVP_MAC_CTX_new(hmac);
	EVP_MAC_free(hmac);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (m->ctx == NULL || !EVP_MAC_init(m->ctx, k->key, k->len, params)) {
		track_mac_free(m);
		return NULL;
	}
	return m;
}

void
track_mac_free(struct track_mac *m)
{
	if (m == NULL)
		return;
	EVP_MAC_CTX_free(m->ctx);
	free(m);
}

/* EVP_MAC_init() without a key starts over with the key already set. */
static void
mac(struct track_mac *m, const unsigned char *p, size_t n,
    unsigned char out[EVP_MAX_MD_SIZE])
{
	size_t len = 0;

	/* A MAC we could not compute must never be taken for one: stop,
	 * as xmalloc() does, rather than sign or accept anything. */
	if (!EVP_MAC_init(m->ctx, NULL, 0, NULL) ||
	    !EVP_MAC_update(m->ctx, p, n) ||
	    !EVP_MAC_final(m->ctx, out, &len, EVP_MAX_MD_SIZE)) {
		fprintf(stderr, "postbote: HMAC-SHA256 failed in OpenSSL\n");
		exit(EX_SOFTWARE);
	}
}

/* RFC 4648 5: base64url without padding, via OpenSSL's encoder. */
static void
b64url(const unsigned char *p, size_t n, char *out)
{
	char tmp[TRACK_TOKEN_MAX + 8];
	int len = EVP_EncodeBlock((unsigned char *)tmp, p, (int)n), i;

	while (len > 0 && tmp[len - 1] == '=')
		len--;
	for (i = 0; i < len; i++)
		out[i] = tmp[i] == '+' ? '-' : tmp[i] == '/' ? '_' : tmp[i];
	out[len] = '\0';
}

void
track_token(struct track_mac *k, enum track_kind kind,
    int64_t campaign, int64_t recipient, int link, char out[TRACK_TOKEN_MAX])
{
	unsigned char raw[TRACK_RAW], md[EVP_MAX_MD_SIZE];
	size_t n = 0;

	raw[n++] = (unsigned char)kind;
	n += varint_put(raw + n, (uint64_t)campaign);
	n += varint_put(raw + n, (uint64_t)recipient);
	n += varint_put(raw + n, (uint64_t)(link < 0 ? 0 : link));
	mac(k, raw, n, md);
	memcpy(raw + n, md, TRACK_MAC);
	b64url(raw, n + TRACK_MAC, out);
}

int
track_verify(struct track_mac *k, const char *token, size_t len,
    enum track_kind *kind, int64_t *campaign, int64_t *recipient, int *link)
{
	unsigned char raw[TRACK_TOKEN_MAX], md[EVP_MAX_MD_SIZE];
	char tmp[TRACK_TOKEN_MAX + 4];
	uint64_t c, r, l;
	size_t i, n, at = 1;
	int dec;

	if (len < 16 || len >= TRACK_TOKEN_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		char ch = token[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return -1;
		tmp[i] = ch == '-' ? '+' : ch == '_' ? '/' : ch;
	}
	while (i % 4 != 0)
		tmp[i++] = '=';
	dec = EVP_DecodeBlock(raw, (unsigned char *)tmp, (int)i);
	if (dec < 0)
		return -1;
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	n = (size_t)dec - (i - len);
	if (n < 4 + TRACK_MAC || varint_get(raw, n - TRACK_MAC, &at, &c) < 0 ||
	    varint_get(raw, n - TRACK_MAC, &at, &r) < 0 ||
	    varint_get(raw, n - TRACK_MAC, &at, &l) < 0 ||
	    at != n - TRACK_MAC || c > INT64_MAX || r > INT64_MAX ||
	    l > 1000000)
		return -1;
	mac(k, raw, at, md);
	if (CRYPTO_memcmp(md, raw + at, TRACK_MAC) != 0)
		return -1;
	/* Only the one spelling track_token() writes: a stray character or
	 * other unused low bits at the end would decode to the same bytes. */
	b64url(raw, n, tmp);
	if (strlen(tmp) != len || memcmp(tmp, token, len) != 0)
		return -1;
	*kind = (enum track_kind)raw[0];
	*campaign = (int64_t)c;
	*recipient = (int64_t)r;
	*link = (int)l;
	return 0;
}

/* A database older than its secret (made by init) gets one now, when
   create says the caller may write. */
int
track_key_load(struct store *st, int create, struct track_key *key,
    struct err *e)
{
	char *hex;
	int rc, created;

	if ((create && store_ensure_secret(st, "tracking_secret", 32,
	    &created, e) < 0) ||
	    store_setting_get(st, "tracking_secret", &hex, e) < 0)
		return -1;
	if (hex == NULL)
		return err_set(e, EX_CONFIG, "the database has no tracking "
		    "secret; run 'postbote init'");
	rc = track_key_from_hex(hex, key, e);
	OPENSSL_cleanse(hex, strlen(hex));
	free(hex);
	return rc;
}
