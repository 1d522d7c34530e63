/*
 * conn.c - socket, TLS and SMTP session of one connection; see conn.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "xalloc.h"

#define CONN_READ	16384

struct conn {
	int fd;
	struct smtp *s;
	struct tls_ctx *ctx;
	struct tls *tls;
	int implicit;
	int connecting;
	int handshaking;
	enum tls_result hs_want;	/* what the handshake waits for */
	int wr_want_read;	/* a TLS write needs the socket readable */
	int rd_want_write;	/* a TLS read needs it writable */
	int tls_up;		/* the handshake succeeded */
	int closed;		/* SMTP_EV_CLOSED handed out */
	int64_t deadline;
	char tls_name[LIMIT_ADDR_DOMAIN + 1];
	char peer[INET6_ADDRSTRLEN + 8];
};

static void
conn_format_peer(struct conn *c, const struct sockaddr *sa)
{
	char ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		snprintf(c->peer, sizeof(c->peer), "[%s]:%u", ip,
		    ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const void *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		snprintf(c->peer, sizeof(c->peer), "%s:%u", ip,
		    ntohs(s4->sin_port));
	}
}

static void
conn_fail_errno(struct conn *c, const char *what, int err)
{
	char why[128];

	snprintf(why, sizeof(why), "%s %s: %s", what, c->peer,
	    strerror(err));
	smtp_abort(c->s, why);
}

/* The deadline follows the session: re-armed after every step. */
static void
conn_arm(struct conn *c, int64_t now)
{
	int ms;

	if (c->connecting)
		return;
	ms = smtp_deadline_ms(c->s);
	c->deadline = ms < 0 ? -1 : now + ms;
}

int
conn_open(const struct conn_params *p, int64_t now, struct conn **out,
    struct err *e)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	int one = 1;

	*out = NULL;
	c->fd = -1;
	if (smtp_new(p->smtp, &c->s, e) < 0) {
		free(c);
		return -1;
	}
	c->ctx = p->tls;
	c->implicit = p->smtp->implicit_tls;
	snprintf(c->tls_name, sizeof(c->tls_name), "%s", p->tls_name);
	conn_format_peer(c, p->addr);
	c->fd = socket(p->addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		int err = errno;
		smtp_free(c->s);
		free(c);
		return err_set(e, EX_OSERR, "socket: %s", strerror(err));
	}
	/* Commands are small and pipelined in one write: no Nagle delay. */
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*out = c;
	if (p->source != NULL && bind(c->fd, p->source, p->sourcelen) < 0) {
		conn_fail_errno(c, "bind source address for", errno);
		return 0;
	}
	if (connect(c->fd, p->addr, p->addrlen) < 0 && errno != EINPROGRESS) {
		conn_fail_errno(c, "connect to", errno);
		return 0;
	}
	c->connecting = 1;
	c->deadline = now + p->connect_ms;
	return 0;
}

void
conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	if (c->tls != NULL)
		tls_close(c->tls);
	tls_free(c->tls);
	if (c->fd >= 0)
		close(c->fd);
	smtp_free(c->s);
	free(c);
}

int
conn_fd(const struct conn *c)
{
	return c->fd;
}

struct smtp *
conn_smtp(struct conn *c)
{
	return c->s;
}

const char *
conn_peer(const struct conn *c)
{
	return c->peer;
}

int64_t
conn_deadline(const struct conn *c)
{
	return c->closed ? -1 : c->deadline;
}

void
conn_expire(struct conn *c, int64_t now)
{
	if (c->connecting) {
		c->connecting = 0;
		conn_fail_errno(c, "connect to", ETIMEDOUT);
	} else
		smtp_timeout(c->s);
	c->deadline = -1;
	(void)now;
}

void
conn_tls_desc(const struct conn *c, char *dst, size_t n)
{
	struct tls_info info;

	if (c->tls == NULL || c->handshaking) {
		snprintf(dst, n, "none");
		return;
	}
	tls_info(c->tls, &info);
	tls_info_format(&info, dst, n);
}

uint32_t
conn_events(const struct conn *c)
{
	size_t n;
	uint32_t ev = EPOLLIN;

	if (c->closed || c->fd < 0)
		return 0;
	if (c->connecting)
		return EPOLLOUT;
	if (c->handshaking)
		return c->hs_want == TLS_WANT_WRITE ? EPOLLOUT : EPOLLIN;
	(void)smtp_output(c->s, &n);
	if ((n > 0 && !c->wr_want_read) || c->rd_want_write)
		ev |= EPOLLOUT;
	return ev;
}

/* Runs the handshake as far as the socket allows now. */
static void
conn_handshake(struct conn *c)
{
	struct err e = { 0 };
	enum tls_result r = tls_handshake(c->tls);

	if (r == TLS_WANT_READ || r == TLS_WANT_WRITE) {
		c->hs_want = r;
		return;
	}
	c->handshaking = 0;
	c->tls_up = r == TLS_OK;
	if (r != TLS_OK)
		smtp_abort(c->s, tls_reason(c->tls));
	else if (!c->implicit && smtp_tls_done(c->s, &e) < 0)
		smtp_abort(c->s, e.msg);
}

static void
conn_start_tls(struct conn *c)
{
	struct err e = { 0 };

	if (c->ctx == NULL || tls_new(c->ctx, c->fd, c->tls_name, &c->tls,
	    &e) < 0) {
		smtp_abort(c->s, c->ctx == NULL ? "TLS is not configured for "
		    "this next hop" : e.msg);
		return;
	}
	c->handshaking = 1;
	conn_handshake(c);
}

static void
conn_connected(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	c->connecting = 0;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err != 0) {
		conn_fail_errno(c, "connect to", err);
		return;
	}
	if (c->implicit)
		conn_start_tls(c);
}

/* Writes until the socket or the session has no more to take. */
static void
conn_write(struct conn *c)
{
	const char *p;
	size_t n, done;
	ssize_t w;
	enum tls_result r;

	if (c->connecting || c->handshaking || c->fd < 0 ||
	    (c->implicit && c->tls == NULL) || (c->tls && !c->tls_up))
		return;
	c->wr_want_read = 0;
	while ((p = smtp_output(c->s, &n)), n > 0) {
		if (c->tls != NULL) {
			r = tls_write(c->tls, p, n, &done);
			if (r == TLS_WANT_READ)
				c->wr_want_read = 1;
			if (r == TLS_WANT_READ || r == TLS_WANT_WRITE)
				return;
			if (r != TLS_OK) {
				smtp_abort(c->s, tls_reason(c->tls));
				return;
			}
		} else {
			w = write(c->fd, p, n);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && errno == EAGAIN)
				return;
			if (w < 0) {
				conn_fail_errno(c, "write to", errno);
				return;
			}
			done = (size_t)w;
		}
		smtp_written(c->s, done);
	}
}

static void
conn_read(struct conn *c)
{
	char buf[CONN_READ];
	size_t got;
	ssize_t r;
	enum tls_result tr;

	c->rd_want_write = 0;
	if (c->tls == NULL) {
		r = read(c->fd, buf, sizeof(buf));
		if (r > 0)
			smtp_feed(c->s, buf, (size_t)r);
		else if (r == 0)
			smtp_abort(c->s, "connection closed by the server");
		else if (errno != EAGAIN && errno != EINTR)
			conn_fail_errno(c, "read from", errno);
		return;
	}
	/* OpenSSL may keep decrypted bytes poll cannot see: read them all. */
	for (;;) {
		tr = tls_read(c->tls, buf, sizeof(buf), &got);
		if (tr == TLS_OK) {
			smtp_feed(c->s, buf, got);
			continue;
		}
		if (tr == TLS_WANT_WRITE)
			c->rd_want_write = 1;
		else if (tr == TLS_EOF)
			smtp_abort(c->s, "connection closed by the server");
		else if (tr == TLS_FAILED)
			smtp_abort(c->s, tls_reason(c->tls));
		return;
	}
}

void
conn_io(struct conn *c, uint32_t revents, int64_t now)
{
	if (c->closed)
		return;
	if (c->connecting) {
		if (revents & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			conn_connected(c);
	} else if (c->handshaking) {
		conn_handshake(c);
		/* Bytes that came with the last handshake record wait in
		 * OpenSSL, where epoll cannot see them. */
		if (c->tls_up)
			conn_read(c);
	} else {
		/* A TLS read that needed the socket writable goes on when
		 * it is. */
		if (revents & (EPOLLIN | EPOLLERR | EPOLLHUP) ||
		    (c->rd_want_write && (revents & EPOLLOUT)))
			conn_read(c);
		conn_write(c);
	}
	conn_arm(c, now);
}

int
conn_event(struct conn *c, struct smtp_event *ev, int64_t now)
{
	while (!c->closed && smtp_event(c->s, ev)) {
		if (ev->type == SMTP_EV_STARTTLS) {
			conn_start_tls(c);
			conn_arm(c, now);
			continue;
		}
		if (ev->type == SMTP_EV_CLOSED)
			c->closed = 1;
		return 1;
	}
	return 0;
}

void
conn_flush(struct conn *c, int64_t now)
{
	conn_write(c);
	conn_arm(c, now);
}
