/*
 * throttle.c - token buckets, connection caps, AIMD; see throttle.h.
 */
#include <math.h>
#include <string.h>
#include <strings.h>

#include "limits.h"
#include "throttle.h"

#define FACTOR_MIN	(1.0 / 32)
#define FACTOR_STEP	(1.0 / 32)

static double
burst_of(const struct throttle *t)
{
	if (t->ceil.burst > 0)
		return t->ceil.burst;
	return t->ceil.rate >= 1 ? ceil(t->ceil.rate) : 1;
}

void
throttle_init(struct throttle *t, const struct config_shape *s, int64_t now)
{
	memset(t, 0, sizeof(*t));
	t->ceil = *s;
	t->factor = 1;
	t->last_ms = now;
	t->tokens = burst_of(t);
}

static void
refill(struct throttle *t, int64_t now)
{
	double b = burst_of(t);

	if (now > t->last_ms && t->ceil.rate > 0) {
		t->tokens += (double)(now - t->last_ms) * t->ceil.rate *
		    t->factor / 1000.0;
		if (t->tokens > b)
			t->tokens = b;
	}
	t->last_ms = now;
}

int64_t
throttle_wait(struct throttle *t, int64_t now)
{
	double need;

	if (t->suspended_until > now)
		return t->suspended_until - now;
	if (t->ceil.rate <= 0)
		return 0;
	refill(t, now);
	if (t->tokens >= 1)
		return 0;
	need = (1 - t->tokens) * 1000.0 / (t->ceil.rate * t->factor);
	return (int64_t)ceil(need);
}

void
throttle_take(struct throttle *t, int64_t now)
{
	if (t->ceil.rate <= 0)
		return;
	refill(t, now);
	t->tokens -= 1;
}

int
throttle_conn_cap(const struct throttle *t)
{
	int cap;

	if (t->ceil.connections <= 0)
		return 0;
	cap = (int)floor(t->ceil.connections * t->factor);
	return cap < 1 ? 1 : cap;
}

int
throttle_conn_ok(const struct throttle *t)
{
	int cap = throttle_conn_cap(t);

	return cap == 0 || t->conns < cap;
}

int
throttle_conn_msgs(const struct throttle *t)
{
	return t->ceil.messages_per_connection;
}

void
throttle_success(struct throttle *t)
{
	t->strikes = 0;
	t->factor += FACTOR_STEP;
	if (t->factor > 1)
		t->factor = 1;
}

void
throttle_signal(struct throttle *t, int64_t now)
{
	int64_t pause;

	t->signals++;
	if (t->strikes < 64)
		t->strikes++;
	t->factor /= 2;
	if (t->factor < FACTOR_MIN)
		t->factor = FACTOR_MIN;
	pause = (int64_t)LIMIT_THROTTLE_SUSPEND_MS * t->strikes;
	if (pause > LIMIT_THROTTLE_SUSPEND_MAX_MS)
		pause = LIMIT_THROTTLE_SUSPEND_MAX_MS;
	t->suspended_until = now + pause;
	/* When the suspension ends one message may go, then the slower
	 * rate: no burst right after a signal, nothing earned meanwhile. */
	t->tokens = 1;
	t->last_ms = t->suspended_until;
}

int
throttle_suspended(const struct throttle *t, int64_t now)
{
	return t->suspended_until > now;
}

int
throttle_reply_signals(int code, const char *dsn, const char *text,
    int per_recipient, char *const *patterns, size_t npatterns)
{
	size_t i, k, n, tl;

	if (code == 421)
		return 1;
	if (code < 400 || code > 499)
		return 0;
	/* A RCPT's 4.7.1 is mostly greylisting: that recipient's, not the
	 * domain's trouble. Its text still counts. */
	if (!per_recipient && dsn != NULL && strncmp(dsn, "4.7.", 4) == 0)
		return 1;
	tl = text != NULL ? strlen(text) : 0;
	for (i = 0; i < npatterns; i++) {
		n = strlen(patterns[i]);
		for (k = 0; n > 0 && k + n <= tl; k++)
			if (strncasecmp(text + k, patterns[i], n) == 0)
				return 1;
	}
	return 0;
}
