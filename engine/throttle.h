/*
 * throttle.h - every decision on how fast and over how many connections
 * mail may go: token buckets, connection caps and their adaptive backoff.
 *
 * A struct throttle is one limit in force: one recipient domain's rule (or
 * the default), one MX provider's, or the run's global one. A message
 * may go when every throttle that applies to it has a token
 * (throttle_wait() is 0 for each); a connection may open while each is
 * under its cap. The strictest rule therefore always wins, as each is
 * checked on its own.
 *
 * Rates are token buckets: rate messages a second, up to burst at once
 * (default: one second's worth, at least 1). Adaptive backoff is AIMD,
 * as TCP's congestion control: a throttling signal (a 421, a 4.7.x
 * deferral, a reply matching a throttle pattern, a connection or
 * handshake failure) halves the throttle's factor (down to 1/32) and
 * suspends it for LIMIT_THROTTLE_SUSPEND_MS times the number of signals
 * in a row (at most LIMIT_THROTTLE_SUSPEND_MAX_MS); every accepted
 * message adds 1/32 back, up to 1. Rate and connection cap are the
 * configured ones times the factor (a cap never below 1). A 550 for one
 * mailbox is not a signal: only the destination's trouble is.
 *
 * Pure: the caller passes the monotonic time in ms; nothing here reads a
 * clock, so the unit tests run on a fake one. Not thread-safe: the loop
 * thread owns every throttle. Keep every throttle decision behind this
 * header (DESIGN.md: a shared backend may replace it).
 */
#ifndef POSTBOTE_THROTTLE_H
#define POSTBOTE_THROTTLE_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"

struct throttle {
	struct config_shape ceil;	/* as configured */
	double tokens;
	int64_t last_ms;		/* tokens counted up to here */
	double factor;			/* 1/32 .. 1 */
	int64_t suspended_until;
	int strikes;			/* throttling signals in a row */
	int conns;			/* open connections charged here */
	int64_t signals;		/* throttling signals, for reports */
};

void throttle_init(struct throttle *t, const struct config_shape *s,
    int64_t now);

/* Milliseconds until a message may go; 0: now. */
int64_t throttle_wait(struct throttle *t, int64_t now);
/* Takes a token (after throttle_wait() said 0). */
void throttle_take(struct throttle *t, int64_t now);

/* The connection cap in force; 0: no cap. */
int throttle_conn_cap(const struct throttle *t);
int throttle_conn_ok(const struct throttle *t);
/* The messages one connection may carry; 0: no limit. */
int throttle_conn_msgs(const struct throttle *t);

void throttle_success(struct throttle *t);
void throttle_signal(struct throttle *t, int64_t now);
int throttle_suspended(const struct throttle *t, int64_t now);

/*
 * Whether a deferral is a throttling signal: a 421, a 4.7.x enhanced code
 * on a 4xx reply to anything but RCPT (per_recipient: a RCPT's 451 4.7.1
 * is greylisting, one recipient's matter), or reply text containing one
 * of the patterns (ASCII case-insensitive). Only temporary replies are.
 */
int throttle_reply_signals(int code, const char *dsn, const char *text,
    int per_recipient, char *const *patterns, size_t npatterns);

#endif
