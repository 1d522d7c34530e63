/*
 * tls.c - the TLS client on non-blocking sockets, over libssl; see tls.h.
 *
 * Every OpenSSL call here starts with an empty thread error queue and
 * leaves it empty: a stale entry would otherwise turn the next
 * SSL_get_error() on this thread (another connection, another module)
 * into a false SSL_ERROR_SSL. A struct tls fails once and stays failed;
 * OpenSSL forbids SSL_shutdown() after a fatal error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls.h"
#include "xalloc.h"

struct tls_ctx {
	SSL_CTX *ssl_ctx;
	enum tls_policy policy;
};

enum tls_state {
	TLS_ST_HANDSHAKE,
	TLS_ST_OPEN,
	TLS_ST_EOF,		/* read the peer's close; nothing more comes */
	TLS_ST_FAILED
};

struct tls {
	SSL *ssl;
	enum tls_state state;
	int verified;
	char host[LIMIT_ADDR_DOMAIN + 1];
	char reason[LIMIT_TLS_REASON];
};

/* err_set() with OpenSSL's first queued reason, then an empty queue. */
static int
tls_err(struct err *e, int code, const char *what)
{
	unsigned long ec = ERR_peek_error();
	const char *why = ec != 0 ? ERR_reason_error_string(ec) : NULL;

	ERR_clear_error();
	return err_set(e, code, "%s: %s", what, why != NULL ? why : "failed");
}

static int
tls_ctx_trust(SSL_CTX *c, const char *ca_file, struct err *e)
{
	char what[LIMIT_ERR_MSG / 2];

	if (ca_file == NULL) {
		/* A missing system store is no error: nothing verifies, and
		   the verify policy then refuses every peer, loudly. */
		(void)SSL_CTX_set_default_verify_paths(c);
		ERR_clear_error();
		return 0;
	}
	if (SSL_CTX_load_verify_locations(c, ca_file, NULL) == 1)
		return 0;
	snprintf(what, sizeof(what), "%s: cannot load CA certificates",
	    ca_file);
	return tls_err(e, EX_CONFIG, what);
}

static void
tls_ctx_modes(SSL_CTX *c, enum tls_policy policy)
{
	/* Opportunistic still runs the chain and name checks (OpenSSL does
	   with SSL_VERIFY_NONE) so that tls_info() can report them. */
	SSL_CTX_set_verify(c, policy == TLS_POLICY_VERIFY ? SSL_VERIFY_PEER :
	    SSL_VERIFY_NONE, NULL);
	/* Partial writes and a moving buffer: the SMTP output buffer may be
	   written in pieces and grow between retries. */
	SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* SSL_MODE_AUTO_RETRY stays on: on a non-blocking socket it never
	   waits, and TLS_WANT_READ then means the socket is drained (not
	   merely that a TLS 1.3 ticket was read), which edge-triggered
	   epoll needs. */
	SSL_CTX_set_mode(c, SSL_MODE_AUTO_RETRY);
}

int
tls_ctx_new(enum tls_policy policy, const char *ca_file,
    struct tls_ctx **out, struct err *e)
{
	struct tls_ctx *c = xcalloc(1, sizeof(*c));

	*out = NULL;
	ERR_clear_error();
	c->policy = policy;
	c->ssl_ctx = SSL_CTX_new(TLS_client_method());
	if (c->ssl_ctx == NULL) {
		(void)tls_err(e, EX_SOFTWARE, "SSL_CTX_new");
		goto fail;
	}
	if (SSL_CTX_set_min_proto_version(c->ssl_ctx, TLS1_2_VERSION) != 1) {
		(void)tls_err(e, EX_SOFTWARE, "TLS 1.2 minimum");
		goto fail;
	}
	tls_ctx_modes(c->ssl_ctx, policy);
	if (tls_ctx_trust(c->ssl_ctx, ca_file, e) != 0)
		goto fail;
	*out = c;
	return 0;
fail:
	tls_ctx_free(c);
	return -1;
}

void
tls_ctx_free(struct tls_ctx *c)
{
	if (c == NULL)
		return;
	SSL_CTX_free(c->ssl_ctx);
	free(c);
}

/* The host without the trailing dot an MX target carries. */
static int
tls_host_copy(struct tls *t, const char *host, struct err *e)
{
	size_t n = host != NULL ? strlen(host) : 0;

	if (n > 0 && host[n - 1] == '.')
		n--;
	if (n == 0)
		return err_set(e, EX_CONFIG, "TLS: no next-hop host name");
	if (n >= sizeof(t->host))
		return err_set(e, EX_CONFIG, "TLS: next-hop host name over %d "
		    "octets", LIMIT_ADDR_DOMAIN);
	memcpy(t->host, host, n);
	t->host[n] = '\0';
	return 0;
}

static int
tls_is_ip(const char *host)
{
	unsigned char a[16];

	return inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1;
}

static int
tls_set_host(struct tls *t, struct err *e)
{
	/* RFC 6066 3: no IP literal in SNI. */
	if (!tls_is_ip(t->host) &&
	    SSL_set_tlsext_host_name(t->ssl, t->host) != 1)
		return tls_err(e, EX_SOFTWARE, "SNI");
	/* SSL_set1_host() takes an IP literal as an address to match. */
	SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (SSL_set1_host(t->ssl, t->host) != 1)
		return tls_err(e, EX_SOFTWARE, "host name check");
	return 0;
}

int
tls_new(struct tls_ctx *ctx, int fd, const char *host, struct tls **out,
    struct err *e)
{
	struct tls *t = xcalloc(1, sizeof(*t));

	*out = NULL;
	ERR_clear_error();
	if (tls_host_copy(t, host, e) != 0)
		goto fail;
	t->ssl = SSL_new(ctx->ssl_ctx);
	if (t->ssl == NULL) {
		(void)tls_err(e, EX_SOFTWARE, "SSL_new");
		goto fail;
	}
	/* SSL_set_fd() leaves the fd open on SSL_free(): the loop owns it. */
	if (SSL_set_fd(t->ssl, fd) != 1) {
		(void)tls_err(e, EX_SOFTWARE, "SSL_set_fd");
		goto fail;
	}
	if (tls_set_host(t, e) != 0)
		goto fail;
	SSL_set_connect_state(t->ssl);
	*out = t;
	return 0;
fail:
	tls_free(t);
	return -1;
}

void
tls_free(struct tls *t)
{
	if (t == NULL)
		return;
	SSL_free(t->ssl);
	free(t);
}

static enum tls_result __attribute__((format(printf, 2, 3)))
tls_fail(struct tls *t, const char *fmt, ...)
{
	va_list ap;

	t->state = TLS_ST_FAILED;
	va_start(ap, fmt);
	vsnprintf(t->reason, sizeof(t->reason), fmt, ap);
	va_end(ap);
	ERR_clear_error();
	return TLS_FAILED;
}

static enum tls_result
tls_fail_verify(struct tls *t, long v)
{
	if (v == X509_V_ERR_HOSTNAME_MISMATCH ||
	    v == X509_V_ERR_IP_ADDRESS_MISMATCH)
		return tls_fail(t, "host name mismatch: the certificate is "
		    "not for %s", t->host);
	return tls_fail(t, "untrusted certificate: %s",
	    X509_verify_cert_error_string(v));
}

/* SSL_ERROR_SSL: a failed verification, the peer's EOF, or the protocol. */
static enum tls_result
tls_fail_ssl(struct tls *t)
{
	unsigned long ec = ERR_peek_error();
	long v = SSL_get_verify_result(t->ssl);
	const char *why;

	if (ERR_GET_REASON(ec) == SSL_R_CERTIFICATE_VERIFY_FAILED &&
	    v != X509_V_OK)
		return tls_fail_verify(t, v);
	/* OpenSSL 3 reports an EOF without close_notify this way. */
	if (ERR_GET_REASON(ec) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
		return tls_fail(t, "peer closed the connection");
	why = ec != 0 ? ERR_reason_error_string(ec) : NULL;
	return tls_fail(t, "protocol error: %s", why != NULL ? why :
	    "unknown");
}

static enum tls_result
tls_fail_syscall(struct tls *t, int err)
{
	if (ERR_peek_error() != 0)
		return tls_fail_ssl(t);
	if (err == 0 || err == EPIPE || err == ECONNRESET)
		return tls_fail(t, "peer closed the connection");
	return tls_fail(t, "I/O error: %s", strerror(err));
}

/* What an SSL call that returned r (errno err) means for the loop. */
static enum tls_result
tls_status(struct tls *t, int r, int err)
{
	switch (SSL_get_error(t->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return tls_fail(t, "peer closed the connection");
	case SSL_ERROR_SYSCALL:
		return tls_fail_syscall(t, err);
	case SSL_ERROR_SSL:
		return tls_fail_ssl(t);
	default:
		return tls_fail(t, "protocol error: %s", "unexpected state");
	}
}

enum tls_result
tls_handshake(struct tls *t)
{
	int r;

	if (t->state != TLS_ST_HANDSHAKE)
		return t->state == TLS_ST_OPEN ? TLS_OK : TLS_FAILED;
	ERR_clear_error();
	errno = 0;
	r = SSL_do_handshake(t->ssl);
	if (r != 1)
		return tls_status(t, r, errno);
	t->state = TLS_ST_OPEN;
	t->verified = SSL_get0_peer_certificate(t->ssl) != NULL &&
	    SSL_get_verify_result(t->ssl) == X509_V_OK;
	return TLS_OK;
}

/* A failed read: the peer's close (clean or not) is TLS_EOF, not a fault. */
static enum tls_result
tls_read_status(struct tls *t, int r, int err)
{
	enum tls_result res;
	int eof = SSL_get_error(t->ssl, r) == SSL_ERROR_ZERO_RETURN;

	res = tls_status(t, r, err);
	if (res == TLS_FAILED && (eof ||
	    strncmp(t->reason, "peer closed", 11) == 0)) {
		t->state = TLS_ST_EOF;
		return TLS_EOF;
	}
	return res;
}

enum tls_result
tls_read(struct tls *t, void *buf, size_t n, size_t *done)
{
	int r;

	*done = 0;
	if (t->state == TLS_ST_EOF)
		return TLS_EOF;
	if (t->state != TLS_ST_OPEN)
		return TLS_FAILED;
	ERR_clear_error();
	errno = 0;
	r = SSL_read_ex(t->ssl, buf, n, done);
	return r == 1 ? TLS_OK : tls_read_status(t, r, errno);
}

enum tls_result
tls_write(struct tls *t, const void *buf, size_t n, size_t *done)
{
	int r;

	*done = 0;
	if (t->state != TLS_ST_OPEN)
		return TLS_FAILED;
	if (n == 0)
		return TLS_OK;
	ERR_clear_error();
	errno = 0;
	r = SSL_write_ex(t->ssl, buf, n, done);
	return r == 1 ? TLS_OK : tls_status(t, r, errno);
}

void
tls_close(struct tls *t)
{
	if (t == NULL || t->state != TLS_ST_OPEN)
		return;
	/* One try: waiting for the peer's close_notify would be a wait
	   without a purpose. */
	ERR_clear_error();
	(void)SSL_shutdown(t->ssl);
	ERR_clear_error();
}

const char *
tls_reason(const struct tls *t)
{
	return t->reason;
}

void
tls_info(const struct tls *t, struct tls_info *info)
{
	const SSL_CIPHER *c;

	memset(info, 0, sizeof(*info));
	if (t->state != TLS_ST_OPEN && t->state != TLS_ST_EOF)
		return;
	snprintf(info->version, sizeof(info->version), "%s",
	    SSL_get_version(t->ssl));
	c = SSL_get_current_cipher(t->ssl);
	snprintf(info->cipher, sizeof(info->cipher), "%s",
	    c != NULL ? SSL_CIPHER_get_name(c) : "");
	info->verified = t->verified;
}

void
tls_info_format(const struct tls_info *info, char *dst, size_t n)
{
	if (info->version[0] == '\0') {
		snprintf(dst, n, "none");
		return;
	}
	snprintf(dst, n, "%s/%s/%s", info->version, info->cipher,
	    info->verified ? "verified" : "unverified");
}
