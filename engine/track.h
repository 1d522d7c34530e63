/*
 * track.h - signed tokens: tracked links, the open pixel, unsubscribe,
 * VERP return paths and Message-IDs.
 *
 * A token names what it is for and whom, and proves it came from us:
 *
 *     base64url( kind | campaign | recipient | link | MAC )
 *
 * with the three numbers as LEB128 varints and MAC the first 12 bytes of
 * HMAC-SHA256 (OpenSSL) under the secret `init` made. The target URL of a
 * link is never in the token: the tracking server looks it up by campaign
 * and link index, so no request can choose where a redirect goes. A
 * delivery is named by (campaign, recipient).
 *
 * The key is read-only and may be shared; the HMAC state built from it
 * (struct track_mac) is per thread: with the key schedule computed once,
 * a token costs a fraction of a one-shot HMAC() (measured: 38 % of all
 * rendering instructions before, see README).
 */
#ifndef POSTBOTE_TRACK_H
#define POSTBOTE_TRACK_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"

#define TRACK_TOKEN_MAX	64	/* longest token, with its NUL */

enum track_kind {
	TRACK_CLICK = 'c',
	TRACK_OPEN = 'o',
	TRACK_UNSUBSCRIBE = 'u',
	TRACK_BOUNCE = 'b',
	TRACK_MESSAGE = 'm'
};

struct track_key {
	unsigned char key[64];
	size_t len;
};

/* The settings value: hex, 16 to 64 bytes. */
int track_key_from_hex(const char *hex, struct track_key *k,
    struct err *e) WUR;

/* The database's key (settings "tracking_secret"); with create, made
   when missing. */
struct store;
int track_key_load(struct store *st, int create, struct track_key *k,
    struct err *e) WUR;

struct track_mac;

/* NULL only when OpenSSL has no HMAC-SHA256 at all. */
struct track_mac *track_mac_new(const struct track_key *k);
void track_mac_free(struct track_mac *m);

/* Writes the token for (kind, campaign, recipient, link) into out. */
void track_token(struct track_mac *m, enum track_kind kind,
    int64_t campaign, int64_t recipient, int link,
    char out[TRACK_TOKEN_MAX]);

/*
 * Checks a token and reads it back. -1 for anything that is not a token
 * we made with this key: bad characters, bad length, a MAC mismatch
 * (compared in constant time).
 */
int track_verify(struct track_mac *m, const char *token, size_t len,
    enum track_kind *kind, int64_t *campaign, int64_t *recipient,
    int *link) WUR;

#endif
