/*
 * trackd.h - the tracking server: the open pixel, tracked links and the
 * unsubscribe page over HTTP (libmicrohttpd), recorded with store.h's
 * store_feedback().
 *
 *     GET  /o/TOKEN.gif   an open; a 1x1 GIF that nobody caches
 *     GET  /c/TOKEN       a click; 302 to the URL stored for the link
 *     GET  /u/TOKEN       the unsubscribe page (English or German)
 *     POST /u/TOKEN       unsubscribes: the page's button, or RFC 8058
 *                         one-click ("List-Unsubscribe=One-Click")
 *     GET  /healthz       200 "ok" while the database is readable
 *
 * HEAD is answered as GET and records nothing. A token is checked with
 * track_verify() before the store is touched, so a flood of forged ones
 * costs a MAC each and writes nothing.
 *
 * libmicrohttpd runs a pool of threads; each opens its own struct store
 * and struct track_mac on first use (neither is thread-safe) and closes
 * them when it ends. trackd_start() returns once the socket listens;
 * trackd_stop() closes it, waits for requests under way and frees
 * everything. One server per process.
 *
 * The functions below the server's are pure, for the unit tests.
 */
#ifndef POSTBOTE_TRACKD_H
#define POSTBOTE_TRACKD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "err.h"

struct feedback_policy;

struct trackd_opts {
	const char *db_path;
	const char *listen;	/* "127.0.0.1:8080", "[::1]:8080"; port 0:
				   any free one */
	int threads;		/* 1.. */
	int machine_seconds;	/* an open or click this soon after delivery
				   is a machine's; 0: no timing rule */
	const struct feedback_policy *policy;
	int log;		/* one line per request on stderr */
	int behind_proxy;	/* the client address is the last one in
				   X-Forwarded-For (only for the Apple
				   address rule; never stored) */
};

struct trackd;

/*
 * Loads the token key from the database (EX_CONFIG without one: run
 * init), binds and starts the threads. EX_USAGE for a bad listen
 * address, EX_UNAVAILABLE when it cannot be bound.
 */
int trackd_start(const struct trackd_opts *o, struct trackd **out,
    struct err *e) WUR;
/* Where it listens, with the real port: "127.0.0.1:8080", "[::1]:80". */
const char *trackd_address(const struct trackd *d);
/* Accepts NULL. */
void trackd_stop(struct trackd *d);

/* ------------------------------------------------------- pure helpers */

enum trackd_route {
	TRACKD_NONE,		/* not ours: 404 */
	TRACKD_OPEN,
	TRACKD_CLICK,
	TRACKD_UNSUBSCRIBE,
	TRACKD_HEALTH
};

/*
 * Which endpoint a path names; *token and *len point into path (only
 * base64url characters, at most TRACK_TOKEN_MAX - 1 of them). The token
 * is not verified here.
 */
enum trackd_route trackd_route(const char *path, const char **token,
    size_t *len);

enum trackd_lang {
	TRACKD_EN,
	TRACKD_DE
};

/* The page language an Accept-Language header asks for (RFC 9110
   12.5.4: q-values, "*", "de-AT" as "de"); English when none fits. */
enum trackd_lang trackd_lang(const char *accept_language);

/*
 * Why an open or click was a machine's, or NULL for a person's: by
 * User-Agent (NULL: none sent), by client address, and by timing:
 * since_ms is the time since delivery (negative: not delivered yet) and
 * machine_seconds as in trackd_opts. The returned reason is a constant
 * ("apple_mpp", "too_soon", ...); README lists them.
 */
const char *trackd_machine(const char *user_agent, const struct sockaddr *sa,
    int64_t since_ms, int machine_seconds);

/*
 * "ADDR:PORT" with ADDR an IPv4 literal or a bracketed IPv6 one; -1
 * for anything else.
 */
struct sockaddr_storage;
int trackd_parse_listen(const char *s, struct sockaddr_storage *ss,
    socklen_t *len) WUR;

/* The path as the request log shows it: a token cut to 8 characters,
   anything unprintable as '?'. */
void trackd_log_path(const char *path, char *out, size_t n);

#endif
