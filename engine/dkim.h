/*
 * dkim.h - DKIM signatures (RFC 6376, RFC 8463) with libopendkim, and
 * the keys they need.
 *
 * dkim_signer_open() loads every configured key once: one PEM private key
 * file per (domain, algorithm), rsa-sha256 (1024-4096 bits) or
 * ed25519-sha256. A key file that group or others may read or write is
 * refused, as ssh refuses one, and every error names the file. Domains are
 * kept as lower-case A-labels. A domain may have one key of each
 * algorithm; with both, every message gets both signatures (RSA first),
 * so receivers without Ed25519 support still find one they can check.
 *
 * dkim_signer_sign() takes one complete RFC 5322 message as mime.h
 * builds it (CRLF line ends only; a bare CR or LF is refused, because the
 * signature would then cover other bytes than the SMTP client sends) and
 * appends the DKIM-Signature header field(s) to prepend to it: CRLF line
 * ends, folded by libopendkim at 75 columns, no line over 998 octets. The
 * key is chosen by the domain of the From address (lower-cased, A-label):
 * that domain's keys, else those of the nearest parent domain that has
 * keys (news.example.com falls back to example.com, which DMARC's relaxed
 * alignment accepts), else EX_CONFIG naming the domain. Every signature is
 * relaxed/relaxed, without l= (a body length would let anyone append to
 * the message), with t= (the signing time) and h= listing, in message
 * order, each present instance of From, To, Subject, Date, Message-ID,
 * MIME-Version, Content-Type, List-Unsubscribe, List-Unsubscribe-Post and
 * Feedback-ID, followed by "from:subject" once more: over-signing, so that
 * a From or Subject added in transit breaks the signature.
 *
 * Cost: libopendkim takes the private key as PEM text and parses it again
 * for every signature (no API hands it a parsed key). Under OpenSSL 3.0
 * that parse costs more than an Ed25519 signature, a fresh RSA key costs
 * its setup again at every signature, and the parse takes OpenSSL's
 * global locks, so threads signing at once add no throughput; separate
 * processes do (measure with build/tools/dkim_sample --bench N
 * --threads T). The key text is prepared once at open; nothing else is
 * read or rebuilt per message.
 *
 * Known defect: libopendkim 2.11.0~beta2, the version Debian 12 ships,
 * leaks about 470 bytes per ed25519-sha256 signature (dkim_free() does
 * not free the key and buffer dkim_privkey_load() made; fixed upstream
 * in OpenDKIM PR #321). RSA signatures and dkim_close() leak nothing.
 * The sanitizer builds of the tests suppress exactly that leak.
 *
 * Threads: a struct dkim_signer is immutable after open. libopendkim's
 * library handle (DKIM_LIB) is documented as usable from many threads at
 * once, each message getting its own per-message handle inside
 * dkim_signer_sign(), so one signer is shared by every worker. The header
 * list is compiled once into the library handle rather than per message.
 * Each thread passes its own out buffer and struct err.
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

/*
 * The library exports dkim_sign(), dkim_init(), dkim_close() and
 * dkim_free(); this module's names keep clear of them.
 */
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

/*
 * Appends the DKIM-Signature header field(s) for msg[0..len) to out, or
 * leaves out as it was and fails: EX_DATAERR for a message with a bare CR
 * or LF, without a From field, with more than one From field or address,
 * or with a From address whose domain is not a valid host name;
 * EX_CONFIG when no key covers the From domain (naming it); EX_SOFTWARE
 * when libopendkim fails (with its reason), or out's maximum is reached.
 */
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

#endif
