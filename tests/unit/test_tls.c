/*
 * test_tls.c - the TLS client against an OpenSSL server in this process,
 * over a socketpair: verification by CA and by name, opportunistic
 * encryption of untrusted peers, data both ways in pieces, and peers that
 * close or speak plaintext instead of TLS. The certificates are made here,
 * so the test depends on no file and no clock skew beyond a day.
 */
#include "unit.h"
#include "unit_pki.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls.h"

#define WAIT_MS		5000	/* a poll this long means a hang */

struct pki {
	char *dir;
	char ca_file[4096];	/* the CA that signed the server's cert */
	char other_file[4096];	/* a CA that signed nothing here */
	EVP_PKEY *key;		/* the server's */
	X509 *cert;		/* localhost and 127.0.0.1, by the CA */
	X509 *self;		/* the same names, self-signed */
};

static struct pki pki;

/* ------------------------------------------------------- certificates */

static int
pki_setup(void **state)
{
	EVP_PKEY *ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *other_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *ca, *other;

	(void)state;
	signal(SIGPIPE, SIG_IGN);	/* tls.h: the process must */
	pki.dir = unit_tmpdir();
	pki.key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(pki.dir);
	assert_non_null(ca_key);
	assert_non_null(other_key);
	assert_non_null(pki.key);
	ca = cert_make(ca_key, "Postbote Test CA", NULL, NULL, 1);
	other = cert_make(other_key, "Another CA", NULL, NULL, 1);
	pki.cert = cert_make(pki.key, "localhost", ca, ca_key, 0);
	pki.self = cert_make(pki.key, "localhost", NULL, NULL, 0);
	snprintf(pki.ca_file, sizeof(pki.ca_file), "%s/ca.pem", pki.dir);
	snprintf(pki.other_file, sizeof(pki.other_file), "%s/other.pem",
	    pki.dir);
	cert_save(ca, pki.ca_file);
	cert_save(other, pki.other_file);
	X509_free(ca);
	X509_free(other);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(other_key);
	return 0;
}

static int
pki_teardown(void **state)
{
	(void)state;
	X509_free(pki.cert);
	X509_free(pki.self);
	EVP_PKEY_free(pki.key);
	unit_rmtree(pki.dir);
	free(pki.dir);
	return 0;
}

/* ------------------------------------------------------ the connection */

struct conn {
	int cfd, sfd;		/* client's and server's ends */
	struct tls_ctx *ctx;
	struct tls *tls;
	SSL_CTX *sctx;
	SSL *srv;
};

static void
nonblock(int fd)
{
	assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK),
	    0);
}

static void
conn_server(struct conn *c, X509 *cert, int max_version)
{
	c->sctx = SSL_CTX_new(TLS_server_method());
	assert_non_null(c->sctx);
	assert_int_equal(SSL_CTX_use_certificate(c->sctx, cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(c->sctx, pki.key), 1);
	if (max_version != 0) {
		SSL_CTX_set_security_level(c->sctx, 0);
		assert_int_equal(SSL_CTX_set_max_proto_version(c->sctx,
		    max_version), 1);
	}
	c->srv = SSL_new(c->sctx);
	assert_non_null(c->srv);
	assert_int_equal(SSL_set_fd(c->srv, c->sfd), 1);
	SSL_set_accept_state(c->srv);
}

static void
conn_open(struct conn *c, enum tls_policy policy, const char *ca,
    const char *host)
{
	struct err e;
	int sv[2];

	memset(c, 0, sizeof(*c));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c->cfd = sv[0];
	c->sfd = sv[1];
	nonblock(c->cfd);
	nonblock(c->sfd);
	assert_int_equal(tls_ctx_new(policy, ca, &c->ctx, &e), 0);
	assert_int_equal(tls_new(c->ctx, c->cfd, host, &c->tls, &e), 0);
}

static void
conn_close(struct conn *c)
{
	tls_close(c->tls);
	tls_free(c->tls);
	tls_ctx_free(c->ctx);
	SSL_free(c->srv);
	SSL_CTX_free(c->sctx);
	close(c->cfd);
	if (c->sfd >= 0)
		close(c->sfd);
	ERR_clear_error();
}

static short
want_events(enum tls_result r)
{
	return r == TLS_WANT_WRITE ? POLLOUT : POLLIN;
}

/* One server step: 1 done, 0 waiting (events in *ev), -1 failed. */
static int
server_step(SSL *s, short *ev)
{
	int r = SSL_do_handshake(s);

	if (r == 1)
		return 1;
	switch (SSL_get_error(s, r)) {
	case SSL_ERROR_WANT_READ:
		*ev = POLLIN;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		*ev = POLLOUT;
		return 0;
	default:
		ERR_clear_error();
		return -1;
	}
}

/* Both sides until the client is decided and the server settled. */
static enum tls_result
conn_handshake(struct conn *c)
{
	enum tls_result cr = TLS_WANT_READ;
	int sr = 0, n;
	struct pollfd p[2];

	for (;;) {
		if (cr == TLS_WANT_READ || cr == TLS_WANT_WRITE)
			cr = tls_handshake(c->tls);
		p[1].events = 0;
		if (sr == 0)
			sr = server_step(c->srv, &p[1].events);
		if (cr == TLS_FAILED || (cr == TLS_OK && sr != 0))
			return cr;
		p[0].fd = cr == TLS_OK ? -1 : c->cfd;
		p[0].events = want_events(cr);
		p[1].fd = sr == 0 ? c->sfd : -1;
		n = poll(p, 2, WAIT_MS);
		assert_true(n > 0);
	}
}

/* ------------------------------------------------------ handshake table */

struct hs_case {
	const char *name;
	enum tls_policy policy;
	int other_ca;		/* the client trusts only the other CA */
	int self_signed;	/* the server shows the self-signed cert */
	int max_version;	/* the server's highest; 0 the default */
	const char *host;
	enum tls_result want;
	const char *reason;	/* its start, when failing */
	int verified;
};

#define V	TLS_POLICY_VERIFY
#define O	TLS_POLICY_OPPORTUNISTIC

static const struct hs_case hs_cases[] = {
	{ "verify: trusted CA, right name", V, 0, 0, 0, "localhost", TLS_OK,
	    NULL, 1 },
	{ "verify: name case and trailing dot do not matter", V, 0, 0, 0,
	    "LocalHost.", TLS_OK, NULL, 1 },
	{ "verify: IP literal matches the IP address", V, 0, 0, 0,
	    "127.0.0.1", TLS_OK, NULL, 1 },
	{ "verify: TLS 1.2 server", V, 0, 0, TLS1_2_VERSION, "localhost",
	    TLS_OK, NULL, 1 },
	{ "verify: wrong host name fails", V, 0, 0, 0, "mx.example.com",
	    TLS_FAILED, "host name mismatch", 0 },
	{ "verify: wrong IP address fails", V, 0, 0, 0, "127.0.0.2",
	    TLS_FAILED, "host name mismatch", 0 },
	{ "verify: CA not trusted fails", V, 1, 0, 0, "localhost",
	    TLS_FAILED, "untrusted certificate", 0 },
	{ "verify: self-signed fails", V, 0, 1, 0, "localhost", TLS_FAILED,
	    "untrusted certificate", 0 },
	{ "verify: TLS 1.1 server refused", V, 0, 0, TLS1_1_VERSION,
	    "localhost", TLS_FAILED, "protocol error", 0 },
	{ "opportunistic: trusted CA, right name is verified", O, 0, 0, 0,
	    "localhost", TLS_OK, NULL, 1 },
	{ "opportunistic: wrong name encrypts, unverified", O, 0, 0, 0,
	    "mx.example.com", TLS_OK, NULL, 0 },
	{ "opportunistic: CA not trusted encrypts, unverified", O, 1, 0, 0,
	    "localhost", TLS_OK, NULL, 0 },
	{ "opportunistic: self-signed encrypts, unverified", O, 0, 1, 0,
	    "localhost", TLS_OK, NULL, 0 },
	{ "opportunistic: TLS 1.1 server refused", O, 0, 0, TLS1_1_VERSION,
	    "localhost", TLS_FAILED, "protocol error", 0 },
};

static void
t_handshake(void **state)
{
	const struct hs_case *k = *state;
	struct conn c;
	struct tls_info info;
	enum tls_result r;

	conn_open(&c, k->policy, k->other_ca ? pki.other_file : pki.ca_file,
	    k->host);
	conn_server(&c, k->self_signed ? pki.self : pki.cert, k->max_version);
	r = conn_handshake(&c);
	if (r != k->want)
		fail_msg("got %d (%s), wanted %d", r, tls_reason(c.tls),
		    k->want);
	if (k->reason != NULL)
		if (strncmp(tls_reason(c.tls), k->reason,
		    strlen(k->reason)) != 0)
			fail_msg("reason '%s'", tls_reason(c.tls));
	tls_info(c.tls, &info);
	assert_int_equal(info.verified, k->verified);
	if (r == TLS_OK) {
		assert_string_equal(info.version, k->max_version ==
		    TLS1_2_VERSION ? "TLSv1.2" : "TLSv1.3");
		assert_true(info.cipher[0] != '\0');
		assert_int_equal(tls_handshake(c.tls), TLS_OK);
	} else {
		assert_int_equal(tls_handshake(c.tls), TLS_FAILED);
	}
	conn_close(&c);
}

/* ------------------------------------------------------------ the data */

static void
pattern(unsigned char *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 31 + seed + i / 251);
}

static void
wait_for(int fd1, short ev1, int fd2, short ev2)
{
	struct pollfd p[2] = { { fd1, ev1, 0 }, { fd2, ev2, 0 } };

	assert_true(poll(p, 2, WAIT_MS) > 0);
}

/* The client writes all of src; the server reads it into dst. */
static void
client_to_server(struct conn *c, const unsigned char *src,
    unsigned char *dst, size_t n)
{
	size_t sent = 0, got = 0, k;
	enum tls_result r = TLS_OK;
	int sr;

	while (got < n) {
		k = 0;
		if (sent < n) {
			r = tls_write(c->tls, src + sent, n - sent, &k);
			assert_true(r == TLS_OK || r == TLS_WANT_WRITE ||
			    r == TLS_WANT_READ);
			sent += k;
		}
		sr = SSL_read_ex(c->srv, dst + got, n - got, &k);
		if (sr == 1)
			got += k;
		else
			assert_int_equal(SSL_get_error(c->srv, sr),
			    SSL_ERROR_WANT_READ);
		if (sr != 1 && (sent == n || r != TLS_OK))
			wait_for(sent < n ? c->cfd : -1, want_events(r),
			    c->sfd, POLLIN);
	}
	assert_memory_equal(src, dst, n);
}

/* The server writes all of src; the client reads it in small pieces. */
static void
server_to_client(struct conn *c, const unsigned char *src,
    unsigned char *dst, size_t n)
{
	static const size_t sizes[] = { 1, 7, 100, 4096 };
	size_t sent = 0, got = 0, k, i = 0;
	enum tls_result r;
	int sr = 1;

	while (got < n) {
		if (sent < n) {
			sr = SSL_write_ex(c->srv, src + sent, n - sent, &k);
			if (sr == 1)
				sent += k;
		}
		r = tls_read(c->tls, dst + got, sizes[i++ % NELEM(sizes)],
		    &k);
		assert_true(r == TLS_OK || r == TLS_WANT_READ);
		assert_true(k <= sizes[(i - 1) % NELEM(sizes)]);
		got += k;
		if (r == TLS_WANT_READ && (sent == n || sr != 1))
			wait_for(c->cfd, POLLIN, sent < n ? c->sfd : -1,
			    POLLOUT);
	}
	assert_memory_equal(src, dst, n);
}

static void
t_data(void **state)
{
	enum { N = 200000 };
	unsigned char *src = malloc(N), *dst = malloc(N), one;
	struct conn c;
	size_t k;
	char log[128];
	struct tls_info info;

	(void)state;
	assert_non_null(src);
	assert_non_null(dst);
	conn_open(&c, TLS_POLICY_VERIFY, pki.ca_file, "localhost");
	conn_server(&c, pki.cert, 0);
	assert_int_equal(conn_handshake(&c), TLS_OK);
	pattern(src, N, 1);
	client_to_server(&c, src, dst, N);
	pattern(src, N, 2);
	server_to_client(&c, src, dst, N);
	/* Nothing more sent: the read waits, it does not block. */
	assert_int_equal(tls_read(c.tls, &one, 1, &k), TLS_WANT_READ);
	assert_int_equal(k, 0);
	assert_int_equal(SSL_shutdown(c.srv), 0);
	wait_for(c.cfd, POLLIN, -1, 0);
	assert_int_equal(tls_read(c.tls, &one, 1, &k), TLS_EOF);
	assert_int_equal(tls_read(c.tls, &one, 1, &k), TLS_EOF);
	tls_info(c.tls, &info);
	tls_info_format(&info, log, sizeof(log));
	assert_string_equal(log, "TLSv1.3/TLS_AES_256_GCM_SHA384/verified");
	conn_close(&c);
	free(src);
	free(dst);
}

/* A server that drops the connection: EOF without close_notify. */
static void
t_data_cut(void **state)
{
	struct conn c;
	unsigned char b[16];
	size_t k;

	(void)state;
	conn_open(&c, TLS_POLICY_VERIFY, pki.ca_file, "localhost");
	conn_server(&c, pki.cert, 0);
	assert_int_equal(conn_handshake(&c), TLS_OK);
	close(c.sfd);
	c.sfd = -1;
	wait_for(c.cfd, POLLIN, -1, 0);
	assert_int_equal(tls_read(c.tls, b, sizeof(b), &k), TLS_EOF);
	assert_int_equal(tls_write(c.tls, "QUIT\r\n", 6, &k), TLS_FAILED);
	conn_close(&c);
}

/* --------------------------------------------------------- bad servers */

/* The client alone until it is decided, never longer than WAIT_MS. */
static enum tls_result
client_handshake(struct conn *c)
{
	enum tls_result r;

	while ((r = tls_handshake(c->tls)) == TLS_WANT_READ ||
	    r == TLS_WANT_WRITE)
		wait_for(c->cfd, want_events(r), -1, 0);
	return r;
}

static void
drain(int fd)
{
	char b[4096];

	wait_for(fd, POLLIN, -1, 0);
	while (read(fd, b, sizeof(b)) > 0)
		;
}

static void
assert_reason(struct tls *t, const char *want)
{
	if (strncmp(tls_reason(t), want, strlen(want)) != 0)
		fail_msg("reason '%s', wanted '%s...'", tls_reason(t), want);
}

static void
t_close_after_hello(void **state)
{
	struct conn c;

	(void)state;
	conn_open(&c, TLS_POLICY_OPPORTUNISTIC, NULL, "localhost");
	assert_int_equal(tls_handshake(c.tls), TLS_WANT_READ);
	drain(c.sfd);
	close(c.sfd);
	c.sfd = -1;
	assert_int_equal(client_handshake(&c), TLS_FAILED);
	assert_reason(c.tls, "peer closed");
	conn_close(&c);
}

static void
t_close_before_hello(void **state)
{
	struct conn c;

	(void)state;
	conn_open(&c, TLS_POLICY_VERIFY, pki.ca_file, "localhost");
	close(c.sfd);
	c.sfd = -1;
	assert_int_equal(client_handshake(&c), TLS_FAILED);
	assert_reason(c.tls, "peer closed");
	conn_close(&c);
}

/* A server still in plaintext: its greeting where the ServerHello goes. */
static void
t_plaintext(void **state)
{
	static const char greeting[] = "220 hello\r\n";
	struct conn c;
	size_t k;

	(void)state;
	conn_open(&c, TLS_POLICY_OPPORTUNISTIC, pki.ca_file, "localhost");
	assert_int_equal(write(c.sfd, greeting, sizeof(greeting) - 1),
	    (ssize_t)sizeof(greeting) - 1);
	assert_int_equal(client_handshake(&c), TLS_FAILED);
	assert_reason(c.tls, "protocol error");
	assert_int_equal(tls_read(c.tls, &k, 1, &k), TLS_FAILED);
	conn_close(&c);
}

/* ----------------------------------------------------------- the setup */

static void
t_setup_errors(void **state)
{
	struct tls_ctx *ctx;
	struct tls *t;
	struct tls_info info;
	struct err e;
	char big[LIMIT_ADDR_DOMAIN + 2], log[32];

	(void)state;
	assert_int_equal(tls_ctx_new(TLS_POLICY_VERIFY, "/nonexistent/ca.pem",
	    &ctx, &e), -1);
	assert_int_equal(e.code, EX_CONFIG);
	assert_non_null(strstr(e.msg, "/nonexistent/ca.pem"));
	assert_null(ctx);
	assert_int_equal(tls_ctx_new(TLS_POLICY_VERIFY, NULL, &ctx, &e), 0);
	assert_int_equal(tls_new(ctx, 0, "", &t, &e), -1);
	assert_int_equal(e.code, EX_CONFIG);
	assert_int_equal(tls_new(ctx, 0, ".", &t, &e), -1);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(tls_new(ctx, 0, big, &t, &e), -1);
	big[sizeof(big) - 2] = '\0';
	assert_int_equal(tls_new(ctx, 0, big, &t, &e), 0);
	tls_info(t, &info);
	tls_info_format(&info, log, sizeof(log));
	assert_string_equal(log, "none");
	assert_string_equal(tls_reason(t), "");
	tls_close(t);
	tls_free(t);
	tls_free(NULL);
	tls_ctx_free(ctx);
	tls_ctx_free(NULL);
}

int
main(void)
{
	struct unit_tests u = { 0 };

	UNIT_TABLE(&u, hs_cases, t_handshake);
	unit_add(&u, "data both ways in pieces, then close_notify", t_data,
	    NULL);
	unit_add(&u, "data: a cut connection reads as EOF", t_data_cut, NULL);
	unit_add(&u, "peer closes after the ClientHello", t_close_after_hello,
	    NULL);
	unit_add(&u, "peer closes before the ClientHello",
	    t_close_before_hello, NULL);
	unit_add(&u, "plaintext server fails the handshake", t_plaintext,
	    NULL);
	unit_add(&u, "setup errors and info before the handshake",
	    t_setup_errors, NULL);
	return unit_run(&u, "tls", pki_setup, pki_teardown);
}
