/*
 * conn.h - one outbound SMTP connection: a non-blocking socket, its TLS
 * (tls.h) and its session (smtp.h), for the scheduler's event loop.
 *
 * conn_open() starts a non-blocking connect; a connect that fails at once
 * still gives a struct conn, whose session has already ended: every
 * failure reaches the caller the same way, as SMTP_EV_CLOSED. The loop
 * then, for each connection:
 *   - watches conn_fd() for conn_events() (EPOLLIN / EPOLLOUT), which
 *     change after every call below, and hands what it saw to conn_io();
 *   - drains conn_event() until it returns 0, acting on SMTP_EV_READY
 *     with smtp_send() or smtp_quit() on conn_smtp(), then conn_flush();
 *     SMTP_EV_STARTTLS never reaches it: the handshake is done here;
 *   - calls conn_expire() once the monotonic clock passes
 *     conn_deadline();
 *   - after SMTP_EV_CLOSED, conn_flush() (a courtesy QUIT at most) and
 *     conn_free().
 * Deadlines: the connect timeout while connecting, then what
 * smtp_deadline_ms() says (the TLS handshake included), re-armed at each
 * step the session takes; -1 while idle.
 * Not thread-safe: the loop thread owns its connections.
 */
#ifndef POSTBOTE_CONN_H
#define POSTBOTE_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "err.h"
#include "smtp.h"
#include "tls.h"

struct conn_params {
	const struct sockaddr *addr;
	socklen_t addrlen;
	const struct sockaddr *source;	/* NULL: the kernel chooses */
	socklen_t sourcelen;
	const char *tls_name;	/* SNI and the certificate check */
	struct tls_ctx *tls;	/* NULL: the session never does TLS */
	const struct smtp_config *smtp;
	int connect_ms;
};

struct conn;

/* EX_CONFIG when smtp_new() refuses the config, EX_OSERR for socket(). */
int conn_open(const struct conn_params *p, int64_t now, struct conn **out,
    struct err *e) WUR;
void conn_free(struct conn *c);

int conn_fd(const struct conn *c);
uint32_t conn_events(const struct conn *c);
void conn_io(struct conn *c, uint32_t revents, int64_t now);
int conn_event(struct conn *c, struct smtp_event *ev, int64_t now);
void conn_flush(struct conn *c, int64_t now);
int64_t conn_deadline(const struct conn *c);
void conn_expire(struct conn *c, int64_t now);

struct smtp *conn_smtp(struct conn *c);
/* The log line's tls= value. */
void conn_tls_desc(const struct conn *c, char *dst, size_t n);
/* The peer as "1.2.3.4:25" or "[::1]:25" (IPv6 in brackets). */
const char *conn_peer(const struct conn *c);

#endif
