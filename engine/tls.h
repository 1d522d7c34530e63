/*
 * tls.h - the TLS client for outbound SMTP, on non-blocking sockets.
 *
 * A thin wrapper over OpenSSL (libssl 3.0) for the event loop: when the
 * SMTP machine emits SMTP_EV_STARTTLS (or at once, for implicit TLS) the
 * loop makes a struct tls on the connection's socket and calls
 * tls_handshake() each time poll/epoll reports what the last call asked
 * for, then smtp_tls_done() on TLS_OK, or smtp_abort() with tls_reason()
 * on TLS_FAILED. From then on it moves bytes with tls_read() and
 * tls_write() instead of read(2) and write(2).
 *
 * No call here blocks or sleeps: each does what the socket allows now and
 * says what it waits for (TLS_WANT_READ / TLS_WANT_WRITE; either may come
 * from any call, as TLS reads and writes records in both directions). The
 * caller owns the fd, its deadlines (smtp_deadline_ms() covers the
 * handshake) and closing it; tls_free() never closes it.
 *
 * Two policies, one struct tls_ctx each, shared by every connection:
 *   TLS_POLICY_VERIFY         the chain must verify against the CA store
 *                             and the certificate name the next hop
 *                             (RFC 6125), or the handshake fails: for
 *                             the "required" TLS policy.
 *   TLS_POLICY_OPPORTUNISTIC  RFC 7435: encrypt whatever the certificate;
 *                             the same checks still run, and tls_info()
 *                             records whether they passed.
 * Both refuse anything older than TLS 1.2.
 *
 * OpenSSL writes with write(2): the process must ignore SIGPIPE, or a
 * peer that has gone kills it.
 *
 * Not thread-safe per struct tls; a struct tls_ctx may be shared by
 * threads once made (OpenSSL locks it). Free functions accept NULL.
 */
#ifndef POSTBOTE_TLS_H
#define POSTBOTE_TLS_H

#include <stddef.h>
#include "err.h"
#include "limits.h"

enum tls_policy {
	TLS_POLICY_VERIFY,
	TLS_POLICY_OPPORTUNISTIC
};

enum tls_result {
	TLS_OK,			/* done; for read/write, *n bytes moved */
	TLS_WANT_READ,		/* call again when the fd is readable */
	TLS_WANT_WRITE,		/* call again when the fd is writable */
	TLS_EOF,		/* tls_read(): the peer closed the stream */
	TLS_FAILED		/* for good; tls_reason() says why */
};

struct tls_ctx;
struct tls;

/*
 * A context for policy, trusting the PEM certificates in ca_file, or the
 * system store when ca_file is NULL. EX_CONFIG when ca_file cannot be
 * loaded (the message names it and OpenSSL's reason).
 */
int tls_ctx_new(enum tls_policy policy, const char *ca_file,
    struct tls_ctx **out, struct err *e) WUR;
void tls_ctx_free(struct tls_ctx *c);

/*
 * A client on the connected, non-blocking socket fd, for the next hop
 * host: a DNS name (sent as SNI and checked against the certificate; a
 * trailing dot and case do not matter) or an IP literal (checked against
 * the certificate's IP addresses; RFC 6066 3 forbids it in SNI). ctx must
 * outlive the struct tls. EX_CONFIG for an empty or over-long host.
 */
int tls_new(struct tls_ctx *ctx, int fd, const char *host, struct tls **out,
    struct err *e) WUR;
void tls_free(struct tls *t);

/*
 * Advances the handshake: TLS_OK once done, TLS_WANT_*, or TLS_FAILED
 * with a reason that starts with one of "untrusted certificate",
 * "host name mismatch", "protocol error", "peer closed", "I/O error".
 */
enum tls_result tls_handshake(struct tls *t);

/*
 * After a TLS_OK handshake: up to n bytes in or out, the count in *done.
 * A read may return fewer bytes than the record held and keep the rest
 * inside OpenSSL, where poll cannot see them: read until TLS_WANT_READ
 * before waiting on the fd again. A write may take part of buf; pass the
 * rest next time (the buffer may move between calls). TLS_EOF: the peer
 * closed, with or without close_notify (SMTP's own framing shows a cut
 * reply or message, so a truncation attack gains nothing).
 */
enum tls_result tls_read(struct tls *t, void *buf, size_t n, size_t *done);
enum tls_result tls_write(struct tls *t, const void *buf, size_t n,
    size_t *done);

/*
 * Sends close_notify if the socket takes it now, and does not wait for
 * the peer's: the loop closes the fd next (RFC 8446 6.1 allows it).
 */
void tls_close(struct tls *t);

/* Never NULL; "" until a call has returned TLS_FAILED. */
const char *tls_reason(const struct tls *t);

struct tls_info {
	char version[16];	/* "TLSv1.3"; "" before the handshake */
	char cipher[64];	/* "TLS_AES_256_GCM_SHA384" */
	int verified;		/* chain and name checked out */
};

void tls_info(const struct tls *t, struct tls_info *info);

/* The log line's tls= value: "TLSv1.3/TLS_AES_256_GCM_SHA384/verified",
   ".../unverified"; "none" before the handshake. Cut to fit n. */
void tls_info_format(const struct tls_info *info, char *dst, size_t n);

#endif
