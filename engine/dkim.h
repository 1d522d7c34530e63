/*
 * dkim.h - DKIM signatures (RFC 6376, RFC 8463) with OpenSSL, and the
 * keys they need.
 *
 * dkim_signer_open() loads every configured key once: one PEM private key
 * file per (domain, algorithm), rsa-sha256 (1024-4096 bits) or
 * ed25519-sha256. A key file that group or others may read or write is
 * refused, as ssh refuses one, and every error names the file. Domains are
 * kept as lower-case A-labels. A domain may have one key of each
 * algorithm; with both, every message gets both signatures (RSA first),
 * so receivers without Ed25519 support still find one they can check.
 *
 * dkim_ctx_sign() takes one complete RFC 5322 message as mime.h builds
 * it (CRLF line ends only; a bare CR or LF is refused, because the
 * signature would then cover other bytes than the SMTP client sends) and
 * appends the DKIM-Signature header field(s) to prepend to it: CRLF line
 * ends, folded at 78 columns, no line over 998 octets. The key is chosen
 * by the domain of the From address (lower-cased, A-label): that
 * domain's keys, else those of the nearest parent domain that has keys
 * (news.example.com falls back to example.com, which DMARC's relaxed
 * alignment accepts), else EX_CONFIG naming the domain. Every signature
 * is relaxed/relaxed, without l= (a body length would let anyone append
 * to the message), with t= (the signing time) and h= listing, in message
 * order, each present instance of From, To, Subject, Date, Message-ID,
 * MIME-Version, Content-Type, List-Unsubscribe, List-Unsubscribe-Post and
 * Feedback-ID, followed by "From:Subject" once more: over-signing, so
 * that a From or Subject added in transit breaks the signature.
 *
 * Cost: the keys are parsed once, at open. Per message, the body is
 * canonicalized and hashed once for all signatures (lines already
 * canonical are hashed in place, not copied), then each signature is
 * one SHA-256 of the signed fields and one private-key operation. The
 * signatures are checked in the tests by python3-dkim and by
 * libopendkim's verifier, two implementations that share no code with
 * this one.
 *
 * Threads: a struct dkim_signer is immutable after open and shared by
 * every thread. Each thread signs through its own struct dkim_ctx, which
 * keeps its own copy of each key (RSA blinding state is per key, and
 * would otherwise be shared under a lock) with the signing context set
 * up, and reuses its buffers, which grow once. Needs OpenSSL 3.0.1 or
 * later (an Ed25519 context is copied before a digest is set on it).
 *
 * dkim_keygen() makes a new key with OpenSSL, writes it as a PKCS#8 PEM
 * file with mode 0600 (never over an existing file) and gives the DNS TXT
 * record that publishes its public half.
 */
#ifndef POSTBOTE_DKIM_H
#define POSTBOTE_DKIM_H

#include <stddef.h>
#include "buf.h"
#include "err.h"

/* libopendkim (the tests' second verifier) exports dkim_sign(),
 * dkim_init(), dkim_close() and dkim_free(); these names keep clear. */
enum dkim_algorithm {
	DKIM_RSA_SHA256,
	DKIM_ED25519_SHA256,
};

/*
 * "rsa-sha256" or "rsa", "ed25519-sha256" or "ed25519"; -1 for anything
 * else.
 */
int dkim_algorithm_parse(const char *s, enum dkim_algorithm *out) WUR;
const char *dkim_algorithm_name(enum dkim_algorithm a);

/* One configured key, as the config file will give it. */
struct dkim_key_conf {
	const char *domain;	/* U-label or A-label, any case */
	const char *selector;	/* DNS labels, at most LIMIT_DKIM_SELECTOR */
	const char *algorithm;	/* as dkim_algorithm_parse() takes it */
	const char *key_file;	/* PEM private key, mode 0600 or stricter */
};

struct dkim_signer;

/*
 * Loads n keys. EX_CONFIG for a bad domain, selector or algorithm, a
 * second key of one algorithm for one domain, a key file that is not a
 * private key of the configured algorithm or whose RSA size is outside
 * 1024-4096 bits, or a key file readable by group or others; EX_NOINPUT
 * for a key file that cannot be opened. Each message names the key's
 * domain and file. n may be 0: every sign then fails with EX_CONFIG.
 */
int dkim_signer_open(const struct dkim_key_conf *keys, int n,
    struct dkim_signer **out, struct err *e) WUR;
/* Accepts NULL. Clears the key material from memory. */
void dkim_signer_close(struct dkim_signer *s);

/* The number of keys loaded; with 0 every sign fails with EX_CONFIG. */
int dkim_signer_nkeys(const struct dkim_signer *s);

/* One thread's signing state; dkim_ctx_free() accepts NULL. The signer
 * must outlive it. */
struct dkim_ctx;
struct dkim_ctx *dkim_ctx_new(const struct dkim_signer *s);
void dkim_ctx_free(struct dkim_ctx *x);

/*
 * Appends the DKIM-Signature header field(s) for msg[0..len) to out, or
 * leaves out as it was and fails: EX_DATAERR for a message with a bare CR
 * or LF, without a From field, with more than one From field or address,
 * with a From address whose domain is not a valid host name, with more
 * than LIMIT_DKIM_FIELDS header fields, or with so many signed fields
 * that the signatures, all together, would pass LIMIT_DKIM_SIGNATURES
 * bytes (the message names the size); EX_CONFIG when no key
 * covers the From domain (naming it); EX_SOFTWARE when OpenSSL fails or
 * out's maximum is reached.
 */
int dkim_ctx_sign(struct dkim_ctx *x, const char *msg, size_t len,
    struct buf *out, struct err *e) WUR;

/* dkim_ctx_sign() with a context made for this one message: for a
 * command or a test that signs once. */
int dkim_signer_sign(const struct dkim_signer *s, const char *msg,
    size_t len, struct buf *out, struct err *e) WUR;

/* Whether a key signs mail From domain (or a parent of it). */
int dkim_signer_covers(const struct dkim_signer *s, const char *domain);

/* The From domain dkim_signer_sign() would choose keys by. */
int dkim_from_domain(const char *msg, size_t len, char *out, size_t n,
    struct err *e) WUR;

struct dkim_keygen_req {
	const char *domain;	/* U-label or A-label, any case */
	const char *selector;
	enum dkim_algorithm algorithm;
	int bits;		/* RSA: 1024-4096, 0 for 2048; else 0 */
	const char *path;	/* created with mode 0600; must not exist */
};

/*
 * Generates and writes the key, then appends the zone-file line that
 * publishes it to record:
 *   SELECTOR._domainkey.DOMAIN IN TXT "v=DKIM1; k=rsa; p=..." "..."
 * (the value cut into strings of at most 255 octets, RFC 1035 3.3.14).
 * EX_USAGE for a bad domain, selector or size; EX_CANTCREAT when the
 * file exists or cannot be created (nothing is left behind); EX_SOFTWARE
 * when OpenSSL fails.
 */
int dkim_keygen(const struct dkim_keygen_req *r, struct buf *record,
    struct err *e) WUR;

/*
 * The public half of a configured key, for checking what DNS publishes:
 * loads key_file with the checks dkim_signer_open() makes (same errors),
 * appends the p= value (base64) to p and the zone-file line that
 * publishes it, as dkim_keygen() gives it, to record; *bits is the key's
 * size.
 */
int dkim_key_public(const struct dkim_key_conf *c, struct buf *p,
    struct buf *record, int *bits, struct err *e) WUR;

/*
 * Whether theirs (a DNS record's p=, whitespace allowed) is the key ours
 * (dkim_key_public()'s p) publishes: 1 yes, 0 another key, -1 not
 * base64. An RSA key published as a bare PKCS#1 RSAPublicKey counts.
 */
int dkim_public_same(enum dkim_algorithm alg, const char *ours,
    const char *theirs);

#endif
