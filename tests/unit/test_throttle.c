/*
 * test_throttle.c - engine/throttle on a fake clock (token buckets,
 * connection caps, AIMD backoff and suspension, which replies are
 * throttling signals), the "shaping" and "retry" config sections with
 * their built-in defaults and every bad value, and config_match().
 *
 * The clock is a plain int64_t of milliseconds that the tests advance;
 * throttle.c never reads a real one.
 */
#include "unit.h"

#include <math.h>
#include <sysexits.h>

#include "config.h"
#include "limits.h"
#include "throttle.h"

/* Writes json to a fresh directory's postbote.json and loads it. */
static int
load(const char *json, struct config *cfg, struct err *e)
{
	char *dir = unit_tmpdir(), path[4096];
	int rc;

	if (dir == NULL)
		abort();
	unit_write(dir, "postbote.json", json, strlen(json), path,
	    sizeof(path));
	memset(e, 0, sizeof(*e));
	rc = config_load(path, 1, cfg, e);
	unit_rmtree(dir);
	free(dir);
	return rc;
}

static struct config_shape
shape(int connections, int mpc, double rate, int burst)
{
	struct config_shape s;

	memset(&s, 0, sizeof(s));
	s.connections = connections;
	s.messages_per_connection = mpc;
	s.rate = rate;
	s.burst = burst;
	return s;
}

/* |got - want| <= 1, with both values in the message. */
#define assert_ms_near(got, want) do {					\
	int64_t g_ = (got), w_ = (want);				\
	if (g_ < w_ - 1 || g_ > w_ + 1)					\
		fail_msg("waited %lld ms, want %lld +-1",		\
		    (long long)g_, (long long)w_);			\
} while (0)

#define assert_double_near(got, want, eps) do {				\
	double g_ = (got), w_ = (want);					\
	if (fabs(g_ - w_) > (eps))					\
		fail_msg("got %.9g, want %.9g", g_, w_);		\
} while (0)

/* Takes tokens at now while the bucket has them; returns how many. */
static int
drain(struct throttle *t, int64_t now, int most)
{
	int n = 0;

	while (n < most && throttle_wait(t, now) == 0) {
		throttle_take(t, now);
		n++;
	}
	return n;
}

/* ------------------------------------------------------------ buckets */

struct bucket_case {
	const char *name;
	double rate;		/* a second */
	int burst;		/* configured; 0: default */
	int at_once;		/* messages that go at t=0 */
	int64_t spacing;	/* ms between messages after that */
};

static const struct bucket_case bucket_cases[] = {
	{ "bucket: 10/s, default burst 10, then 100 ms apart", 10, 0, 10,
	  100 },
	{ "bucket: 3000/h (0.8333/s), burst 1, 1200 ms apart",
	  3000.0 / 3600, 0, 1, 1200 },
	{ "bucket: 1/s with explicit burst 5, then 1000 ms apart", 1, 5, 5,
	  1000 },
	{ "bucket: 2.5/s, default burst rounds up to 3, 400 ms apart", 2.5,
	  0, 3, 400 },
	{ "bucket: 50/s, default burst 50, 20 ms apart", 50, 0, 50, 20 },
	{ "bucket: 10/s with explicit burst 2", 10, 2, 2, 100 },
};

static void
t_bucket(void **state)
{
	const struct bucket_case *c = *state;
	struct config_shape s = shape(0, 0, c->rate, c->burst);
	struct throttle t;
	int64_t now = 0, w;
	int i;

	throttle_init(&t, &s, now);
	assert_int_equal(drain(&t, now, 1000000), c->at_once);
	w = throttle_wait(&t, now);
	assert_ms_near(w, c->spacing);
	for (i = 0; i < 20; i++) {
		/* Not a millisecond early. */
		assert_true(throttle_wait(&t, now + w - 2) > 0);
		now += w;
		assert_int_equal(throttle_wait(&t, now), 0);
		throttle_take(&t, now);
		w = throttle_wait(&t, now);
		assert_ms_near(w, c->spacing);
	}
	/* A long idle refills no more than the burst. */
	now += 3600 * 1000;
	assert_int_equal(drain(&t, now, 1000000), c->at_once);
}

/* 10 s of a sender that goes whenever it may: 10/s and the burst. */
static void
t_bucket_10s(void **state)
{
	struct config_shape s = shape(0, 0, 10, 0);
	struct throttle t;
	int64_t now = 0, w;
	int n = 0;

	(void)state;
	throttle_init(&t, &s, now);
	for (;;) {
		w = throttle_wait(&t, now);
		if (w < 0)
			fail_msg("negative wait %lld", (long long)w);
		if (w == 0) {
			throttle_take(&t, now);
			n++;
		} else if (now + w > 10000)
			break;
		else
			now += w;
		if (n > 1000)
			fail_msg("runaway: %d messages by %lld ms", n,
			    (long long)now);
	}
	if (n > 10 * 10 + 10 || n < 10 * 10)
		fail_msg("%d messages in 10 s at 10/s, burst 10", n);
}

static void
t_bucket_unlimited(void **state)
{
	struct config_shape s0 = shape(0, 0, 0, 0), s5 = shape(0, 0, 0, 5);
	struct throttle t;
	int64_t now = 0;
	int i;

	(void)state;
	throttle_init(&t, &s0, now);
	for (i = 0; i < 100000; i++) {
		assert_int_equal(throttle_wait(&t, now), 0);
		throttle_take(&t, now);
	}
	now += 1;
	assert_int_equal(throttle_wait(&t, now), 0);
	/* A burst without a rate limits nothing either. */
	throttle_init(&t, &s5, now);
	for (i = 0; i < 1000; i++) {
		assert_int_equal(throttle_wait(&t, now), 0);
		throttle_take(&t, now);
	}
}

/* A clock standing still adds no tokens. */
static void
t_bucket_clock_still(void **state)
{
	struct config_shape s = shape(0, 0, 10, 0);
	struct throttle t;

	(void)state;
	throttle_init(&t, &s, 5000);
	assert_int_equal(drain(&t, 5000, 1000), 10);
	assert_ms_near(throttle_wait(&t, 5000), 100);
	assert_ms_near(throttle_wait(&t, 5000), 100);
	assert_ms_near(throttle_wait(&t, 5050), 50);
	assert_ms_near(throttle_wait(&t, 5050), 50);
}

/* ------------------------------------------------------- connections */

static void
t_conn_cap(void **state)
{
	struct config_shape s = shape(4, 100, 0, 0);
	struct throttle t;

	(void)state;
	throttle_init(&t, &s, 0);
	assert_int_equal(throttle_conn_cap(&t), 4);
	assert_int_equal(throttle_conn_msgs(&t), 100);
	for (t.conns = 0; t.conns < 4; t.conns++)
		assert_true(throttle_conn_ok(&t));
	assert_int_equal(t.conns, 4);
	assert_false(throttle_conn_ok(&t));
	t.conns = 5;
	assert_false(throttle_conn_ok(&t));
}

static void
t_conn_unlimited(void **state)
{
	struct config_shape s = shape(0, 0, 10, 0);
	struct throttle t;

	(void)state;
	throttle_init(&t, &s, 0);
	assert_int_equal(throttle_conn_cap(&t), 0);
	assert_int_equal(throttle_conn_msgs(&t), 0);
	t.conns = 100000;
	assert_true(throttle_conn_ok(&t));
	throttle_signal(&t, 0);
	throttle_signal(&t, 0);
	assert_int_equal(throttle_conn_cap(&t), 0);
	assert_true(throttle_conn_ok(&t));
}

struct cap_case {
	const char *name;
	int connections;
	int signals;
	int want;
};

static const struct cap_case cap_cases[] = {
	{ "conn cap: 4, one signal -> 2", 4, 1, 2 },
	{ "conn cap: 4, two signals -> 1", 4, 2, 1 },
	{ "conn cap: 4, three signals -> still 1", 4, 3, 1 },
	{ "conn cap: 5, one signal -> 2 (floor)", 5, 1, 2 },
	{ "conn cap: 7, two signals -> 1 (floor)", 7, 2, 1 },
	{ "conn cap: 1, one signal -> 1 (never below 1)", 1, 1, 1 },
	{ "conn cap: 200, one signal -> 100", 200, 1, 100 },
	{ "conn cap: 200, five signals -> 6 (1/32)", 200, 5, 6 },
	{ "conn cap: 200, ten signals -> 6 (factor stays 1/32)", 200, 10, 6 },
	{ "conn cap: 10, five signals -> 1", 10, 5, 1 },
};

static void
t_conn_backoff(void **state)
{
	const struct cap_case *c = *state;
	struct config_shape s = shape(c->connections, 0, 0, 0);
	struct throttle t;
	int64_t now = 0;
	int i;

	throttle_init(&t, &s, now);
	assert_int_equal(throttle_conn_cap(&t), c->connections);
	for (i = 0; i < c->signals; i++)
		throttle_signal(&t, now += 1000);
	assert_int_equal(throttle_conn_cap(&t), c->want);
	t.conns = c->want - 1;
	assert_true(throttle_conn_ok(&t));
	t.conns = c->want;
	assert_false(throttle_conn_ok(&t));
}

/* Each success adds 1/32 back: the cap climbs to the ceiling, no higher. */
static void
t_conn_recovery(void **state)
{
	struct config_shape s = shape(4, 0, 0, 0);
	struct throttle t;
	int k;

	(void)state;
	throttle_init(&t, &s, 0);
	throttle_signal(&t, 0);
	assert_int_equal(throttle_conn_cap(&t), 2);
	for (k = 1; k <= 16; k++) {
		throttle_success(&t);
		assert_int_equal(throttle_conn_cap(&t),
		    (int)floor(4 * (0.5 + k / 32.0)));
	}
	assert_int_equal(throttle_conn_cap(&t), 4);
	for (k = 0; k < 100; k++)
		throttle_success(&t);
	assert_int_equal(throttle_conn_cap(&t), 4);
	/* From the floor of 1/32: 31 successes to the ceiling. */
	s = shape(64, 0, 0, 0);
	throttle_init(&t, &s, 0);
	for (k = 0; k < 8; k++)
		throttle_signal(&t, 0);
	assert_int_equal(throttle_conn_cap(&t), 2);
	for (k = 1; k <= 31; k++) {
		throttle_success(&t);
		assert_int_equal(throttle_conn_cap(&t), 2 * (k + 1));
	}
	assert_int_equal(throttle_conn_cap(&t), 64);
}

/* --------------------------------------------------------------- AIMD */

static void
t_aimd_factor(void **state)
{
	struct config_shape s = shape(0, 0, 10, 0);
	struct throttle t;
	double want = 1;
	int i;

	(void)state;
	throttle_init(&t, &s, 0);
	assert_double_near(t.factor, 1, 0);
	for (i = 1; i <= 8; i++) {
		throttle_signal(&t, 0);
		want = want / 2 < 1.0 / 32 ? 1.0 / 32 : want / 2;
		assert_double_near(t.factor, want, 1e-12);
		assert_int_equal(t.signals, i);
		assert_int_equal(t.strikes, i);
	}
	assert_double_near(t.factor, 1.0 / 32, 1e-12);
}

/* strikes x LIMIT_THROTTLE_SUSPEND_MS, at most ..._MAX_MS. */
static void
t_aimd_suspend(void **state)
{
	struct config_shape s = shape(0, 0, 10, 0);
	struct throttle t;
	int64_t now = 1000, pause;
	int k;

	(void)state;
	throttle_init(&t, &s, now);
	assert_false(throttle_suspended(&t, now));
	for (k = 1; k <= 30; k++) {
		pause = (int64_t)LIMIT_THROTTLE_SUSPEND_MS * k;
		if (pause > LIMIT_THROTTLE_SUSPEND_MAX_MS)
			pause = LIMIT_THROTTLE_SUSPEND_MAX_MS;
		throttle_signal(&t, now);
		assert_int_equal(throttle_wait(&t, now), pause);
		assert_true(throttle_suspended(&t, now));
		assert_true(throttle_suspended(&t, now + pause - 1));
		assert_false(throttle_suspended(&t, now + pause));
		/* The remaining suspension, as the clock runs. */
		assert_int_equal(throttle_wait(&t, now + pause / 3),
		    pause - pause / 3);
		assert_int_equal(throttle_wait(&t, now + pause - 1), 1);
		now += pause;
		assert_false(throttle_suspended(&t, now));
	}
	assert_int_equal(t.strikes, 30);
}

/* Even an unlimited rate waits out a suspension. */
static void
t_aimd_suspend_unlimited(void **state)
{
	struct config_shape s = shape(0, 0, 0, 0);
	struct throttle t;

	(void)state;
	throttle_init(&t, &s, 0);
	throttle_signal(&t, 500);
	assert_int_equal(throttle_wait(&t, 500), LIMIT_THROTTLE_SUSPEND_MS);
	assert_int_equal(throttle_wait(&t, 10500),
	    LIMIT_THROTTLE_SUSPEND_MS - 10000);
	assert_int_equal(throttle_wait(&t, 500 + LIMIT_THROTTLE_SUSPEND_MS),
	    0);
}

/* 10/s after one signal: 5/s, 200 ms apart once the bucket is empty. */
static void
t_aimd_rate_after(void **state)
{
	struct config_shape s = shape(0, 0, 10, 0);
	struct throttle t;
	int64_t now = 0, w;
	int i;

	(void)state;
	throttle_init(&t, &s, now);
	assert_int_equal(drain(&t, now, 1000), 10);
	throttle_signal(&t, now);
	now += LIMIT_THROTTLE_SUSPEND_MS;
	assert_int_equal(throttle_wait(&t, now), 0);
	(void)drain(&t, now, 1000);
	for (i = 0; i < 20; i++) {
		w = throttle_wait(&t, now);
		assert_ms_near(w, 200);
		now += w;
		assert_int_equal(throttle_wait(&t, now), 0);
		throttle_take(&t, now);
	}
	/* Two signals: 2.5/s, 400 ms. */
	throttle_signal(&t, now);
	now += 2 * LIMIT_THROTTLE_SUSPEND_MS;
	(void)drain(&t, now, 1000);
	assert_ms_near(throttle_wait(&t, now), 400);
}

/*
 * "A slower bucket starts empty: no burst right after a signal"
 * (throttle.c): once the suspension ends, the halved rate holds from the
 * first message, not a full burst first.
 */
static void
t_aimd_no_burst_after_signal(void **state)
{
	struct config_shape s = shape(0, 0, 10, 0);
	struct throttle t;
	int64_t now = 0, end, w;
	int n = 0;

	(void)state;
	throttle_init(&t, &s, now);
	assert_int_equal(drain(&t, now, 1000), 10);
	throttle_signal(&t, now);
	end = now + LIMIT_THROTTLE_SUSPEND_MS;
	now = end;
	/* At 5/s, one second holds 5 messages (6 counting both ends). */
	while (now < end + 1000) {
		w = throttle_wait(&t, now);
		if (w == 0) {
			throttle_take(&t, now);
			n++;
		} else
			now += w;
	}
	if (n > 6)
		fail_msg("%d messages in the first second after the suspension "
		    "at 5/s: the bucket filled while suspended", n);
}

static void
t_aimd_success_restores(void **state)
{
	struct config_shape s = shape(8, 0, 10, 0);
	struct throttle t;
	int64_t now = 0;
	int k;

	(void)state;
	throttle_init(&t, &s, now);
	throttle_signal(&t, now);
	assert_double_near(t.factor, 0.5, 1e-12);
	for (k = 1; k <= 16; k++) {
		throttle_success(&t);
		assert_double_near(t.factor, 0.5 + k / 32.0, 1e-12);
	}
	throttle_success(&t);
	assert_double_near(t.factor, 1, 0);
	assert_int_equal(throttle_conn_cap(&t), 8);
	now += LIMIT_THROTTLE_SUSPEND_MS;
	(void)drain(&t, now, 1000);
	assert_ms_near(throttle_wait(&t, now), 100);
	assert_int_equal(t.signals, 1);	/* a report count, not reset */
}

static void
t_aimd_strikes_reset(void **state)
{
	struct config_shape s = shape(0, 0, 10, 0);
	struct throttle t;
	int64_t now = 0;

	(void)state;
	throttle_init(&t, &s, now);
	throttle_signal(&t, now);
	throttle_signal(&t, now);
	throttle_signal(&t, now);
	assert_int_equal(t.strikes, 3);
	assert_int_equal(throttle_wait(&t, now),
	    3 * LIMIT_THROTTLE_SUSPEND_MS);
	now += 3 * LIMIT_THROTTLE_SUSPEND_MS;
	throttle_success(&t);
	assert_int_equal(t.strikes, 0);
	throttle_signal(&t, now);
	assert_int_equal(t.strikes, 1);
	assert_int_equal(throttle_wait(&t, now), LIMIT_THROTTLE_SUSPEND_MS);
	assert_int_equal(t.signals, 4);
}

/* ------------------------------------------------------ reply signals */

struct reply_case {
	const char *name;
	int code;
	const char *dsn;
	const char *text;
	int patterns;		/* 0 none, 1 built-in, 2 {"Rate Limited"} */
	int want;
};

static const struct reply_case reply_cases[] = {
	{ "reply: 421 is a signal", 421, NULL, NULL, 0, 1 },
	{ "reply: 421 with text is a signal", 421, "4.3.2",
	  "Service shutting down", 1, 1 },
	{ "reply: 451 4.7.1 is a signal", 451, "4.7.1", "Try later", 0, 1 },
	{ "reply: 450 4.7.0 is a signal", 450, "4.7.0", NULL, 0, 1 },
	{ "reply: 450 4.2.0 too many connections (built-in patterns)", 450,
	  "4.2.0", "4.2.0 too many connections from your IP", 1, 1 },
	{ "reply: 450 4.2.0 too many connections, no patterns", 450, "4.2.0",
	  "4.2.0 too many connections from your IP", 0, 0 },
	{ "reply: 452 4.2.2 mailbox full is not", 452, "4.2.2",
	  "4.2.2 Mailbox full", 1, 0 },
	{ "reply: 550 5.7.1 is permanent, not a signal", 550, "5.7.1",
	  "5.7.1 Message rejected", 1, 0 },
	{ "reply: 550 with throttle text is permanent, not a signal", 550,
	  "5.7.1", "rate limit exceeded", 1, 0 },
	{ "reply: 554 with 4.7.1 DSN is not", 554, "4.7.1", NULL, 1, 0 },
	{ "reply: 250 is not", 250, "2.0.0", "OK", 1, 0 },
	{ "reply: 250 with throttle text is not", 250, "2.0.0",
	  "OK, rate limit 10/s", 1, 0 },
	{ "reply: 451 Rate Limited matches case-insensitively", 451, "4.3.0",
	  "Rate Limited, come back later", 1, 1 },
	{ "reply: custom pattern \"Rate Limited\", upper-case text", 451, NULL,
	  "YOU ARE RATE LIMITED", 2, 1 },
	{ "reply: custom pattern does not match other text", 451, "4.3.0",
	  "too many connections", 2, 0 },
	{ "reply: 451 4.7.1 greylisted is a signal from MAIL", 451, "4.7.1",
	  "Greylisted", 1, 1 },
	{ "reply: 450 greylisted without DSN is not (not a pattern)", 450,
	  NULL, "Greylisted, see http://example.test/", 1, 0 },
	{ "reply: 452 too many recipients (built-in)", 452, "4.5.3",
	  "Too many recipients", 1, 1 },
	{ "reply: 451 without text is not", 451, "4.3.0", NULL, 1, 0 },
	{ "reply: 451 local error is not", 451, "4.3.0",
	  "Requested action aborted: local error in processing", 1, 0 },
	{ "reply: pattern at the very end of the text", 451, NULL,
	  "please slow down", 1, 1 },
	{ "reply: text shorter than every pattern", 451, NULL, "no", 1, 0 },
};

static void
t_reply(void **state)
{
	const struct reply_case *c = *state;
	static char rl[] = "Rate Limited";
	char *custom[] = { rl };
	char *const *pat = NULL;
	struct config cfg;
	struct err e;
	size_t n = 0;

	assert_int_equal(load("{}", &cfg, &e), 0);
	assert_non_null(cfg.throttle_patterns);
	assert_true(cfg.nthrottle_patterns > 0);
	if (c->patterns == 1) {
		pat = cfg.throttle_patterns;
		n = cfg.nthrottle_patterns;
	} else if (c->patterns == 2) {
		pat = custom;
		n = 1;
	}
	assert_int_equal(throttle_reply_signals(c->code, c->dsn, c->text, 0,
	    pat, n), c->want);
	config_free(&cfg);
}

/* The warm-up cap doubles every day from its first; none without one. */
static void
t_warmup(void **state)
{
	struct config cfg;
	struct err e;
	const struct config_warmup *w = NULL;
	int64_t day = 86400000, from;
	size_t i;

	(void)state;
	assert_int_equal(load("{\"shaping\": {\"providers\": {\"acme\": {"
	    "\"mx\": [\"*.acme.example\"], \"warmup\": {\"start\": 500, "
	    "\"from\": \"2026-11-01\"}}}}}", &cfg, &e), 0);
	for (i = 0; i < cfg.nproviders; i++)
		if (strcmp(cfg.providers[i].name, "acme") == 0)
			w = &cfg.providers[i].warmup;
	assert_non_null(w);
	from = w->from_ms;
	assert_int_equal(from, 1793491200000LL);	/* 2026-11-01 UTC */
	assert_int_equal(config_warmup_cap(w, from - day), 500);
	assert_int_equal(config_warmup_cap(w, from + day / 2), 500);
	assert_int_equal(config_warmup_cap(w, from + day), 1000);
	assert_int_equal(config_warmup_cap(w, from + 5 * day / 2), 2000);
	assert_int_equal(config_warmup_cap(w, from + 60 * day), -1);
	for (i = 0; i < cfg.nproviders; i++)
		if (strcmp(cfg.providers[i].name, "google") == 0)
			assert_int_equal(config_warmup_cap(
			    &cfg.providers[i].warmup, from), -1);
	config_free(&cfg);
	assert_int_equal(load("{\"shaping\": {\"providers\": {\"acme\": {"
	    "\"mx\": [\"*.acme.example\"], \"warmup\": {\"start\": 500}}}}}",
	    &cfg, &e), -1);
	assert_non_null(strstr(e.msg, "\"shaping.providers.acme.warmup.from\""));
}

/* A RCPT's 451 4.7.1 (greylisting) is the recipient's, not the domain's;
   its text may still say throttling. */
static void
t_reply_per_recipient(void **state)
{
	static char tmc[] = "too many connections";
	char *pat[] = { tmc };

	(void)state;
	assert_int_equal(throttle_reply_signals(451, "4.7.1", "Greylisted",
	    1, pat, 1), 0);
	assert_int_equal(throttle_reply_signals(450, "4.7.0",
	    "too many connections", 1, pat, 1), 1);
	assert_int_equal(throttle_reply_signals(421, "4.7.0", NULL, 1, pat,
	    1), 1);
}

/* ---------------------------------------------------- config shaping */

static const char example[] =
    "{ \"shaping\": {\n"
    "  \"default\":   { \"connections\": 10, \"messages_per_connection\":"
    " 100, \"rate\": \"50/s\" },\n"
    "  \"domains\":   { \"example.test\": { \"connections\": 2, \"rate\":"
    " \"10/s\" } },\n"
    "  \"providers\": { \"google\": { \"mx\": [\"*.google.com\","
    " \"*.googlemail.com\"], \"connections\": 20, \"rate\": \"3000/h\" } },\n"
    "  \"global\":    { \"connections\": 200, \"rate\": \"5000/s\" } },\n"
    "  \"retry\": { \"schedule\": [\"5m\", \"15m\", \"30m\", \"1h\", \"2h\","
    " \"4h\"], \"max_age\": \"3d\" } }\n";

static const char *const builtin_names[] = { "google", "microsoft", "yahoo",
    "gmx-webde", "t-online" };

static const struct config_shape_rule *
provider(const struct config *cfg, const char *name, int *count)
{
	const struct config_shape_rule *r = NULL;
	size_t i;

	*count = 0;
	for (i = 0; i < cfg->nproviders; i++)
		if (strcmp(cfg->providers[i].name, name) == 0) {
			r = &cfg->providers[i];
			(*count)++;
		}
	return r;
}

static void
t_shaping_example(void **state)
{
	static const int64_t want_retry[] = { 5 * 60000, 15 * 60000,
	    30 * 60000, 3600000, 2 * 3600000, 4 * 3600000 };
	const struct config_shape_rule *g;
	struct config c;
	struct err e;
	size_t i;
	int n;

	(void)state;
	if (load(example, &c, &e) != 0)
		fail_msg("load: %s", e.msg);
	assert_int_equal(c.shape_default.connections, 10);
	assert_int_equal(c.shape_default.messages_per_connection, 100);
	assert_double_near(c.shape_default.rate, 50, 1e-12);
	assert_int_equal(c.shape_default.burst, 0);
	assert_int_equal(c.nshape_domains, 1);
	assert_string_equal(c.shape_domains[0].name, "example.test");
	assert_int_equal(c.shape_domains[0].nmx, 0);
	assert_int_equal(c.shape_domains[0].s.connections, 2);
	assert_double_near(c.shape_domains[0].s.rate, 10, 1e-12);
	assert_int_equal(c.shape_domains[0].s.messages_per_connection, 0);
	g = provider(&c, "google", &n);
	assert_int_equal(n, 1);
	assert_non_null(g);
	assert_int_equal(g->nmx, 2);
	assert_string_equal(g->mx[0], "*.google.com");
	assert_string_equal(g->mx[1], "*.googlemail.com");
	assert_int_equal(g->s.connections, 20);
	assert_double_near(g->s.rate, 3000.0 / 3600, 1e-9);
	assert_double_near(g->s.rate, 0.8333, 1e-4);
	assert_int_equal(c.shape_global.connections, 200);
	assert_double_near(c.shape_global.rate, 5000, 1e-9);
	assert_int_equal(c.shape_global.messages_per_connection, 0);
	assert_int_equal(c.nretry, 6);
	for (i = 0; i < NELEM(want_retry); i++)
		assert_int_equal(c.retry_ms[i], want_retry[i]);
	assert_int_equal(c.retry_max_age_ms, 3LL * 24 * 3600 * 1000);
	assert_non_null(c.throttle_patterns);
	assert_true(c.nthrottle_patterns > 0);
	config_free(&c);
	assert_null(c.providers);
}

/* The file's "google" replaces the built-in; the others stay. */
static void
t_shaping_provider_replaces(void **state)
{
	const struct config_shape_rule *r;
	struct config c;
	struct err e;
	size_t i;
	int n;

	(void)state;
	if (load(example, &c, &e) != 0)
		fail_msg("load: %s", e.msg);
	assert_int_equal(c.nproviders, NELEM(builtin_names));
	for (i = 0; i < NELEM(builtin_names); i++) {
		r = provider(&c, builtin_names[i], &n);
		if (n != 1)
			fail_msg("provider %s: %d times", builtin_names[i], n);
		assert_true(r->nmx > 0);
		assert_true(r->s.connections > 0);
	}
	r = provider(&c, "microsoft", &n);
	assert_int_equal(r->nmx, 3);
	assert_string_equal(r->mx[0], "*.protection.outlook.com");
	r = provider(&c, "t-online", &n);
	assert_int_equal(r->nmx, 1);
	assert_string_equal(r->mx[0], "*.t-online.de");
	assert_int_equal(r->s.connections, 3);
	r = provider(&c, "google", &n);
	assert_int_equal(r->s.connections, 20);
	config_free(&c);
}

/* Tuning a built-in provider without "mx" keeps its MX patterns. */
static void
t_shaping_provider_keeps_mx(void **state)
{
	const struct config_shape_rule *r;
	struct config c;
	struct err e;
	int n;

	(void)state;
	if (load("{\"shaping\": {\"providers\": {\"google\": {\"rate\": "
	    "\"10/s\", \"connections\": 4}}}}", &c, &e) != 0)
		fail_msg("load: %s", e.msg);
	r = provider(&c, "google", &n);
	assert_int_equal(n, 1);
	assert_int_equal(r->nmx, 2);
	assert_string_equal(r->mx[0], "*.google.com");
	assert_string_equal(r->mx[1], "*.googlemail.com");
	assert_int_equal(r->s.connections, 4);
	assert_double_near(r->s.rate, 10, 1e-12);
	assert_int_equal(c.nproviders, NELEM(builtin_names));
	config_free(&c);
}

/* A provider of the file's own, its MX patterns made lower-case. */
static void
t_shaping_provider_new(void **state)
{
	const struct config_shape_rule *r;
	struct config c;
	struct err e;
	size_t i;
	int n;

	(void)state;
	if (load("{\"shaping\": {\"providers\": {\"acme\": {\"mx\": "
	    "[\"*.MX.Acme.Example\", \"mx1.acme.example\"], \"connections\": 3,"
	    " \"burst\": 7, \"rate\": \"1.5/m\"}}, \"domains\": {"
	    "\"*.Example.ORG\": {\"messages_per_connection\": 5}}}}", &c, &e)
	    != 0)
		fail_msg("load: %s", e.msg);
	assert_int_equal(c.nproviders, NELEM(builtin_names) + 1);
	r = provider(&c, "acme", &n);
	assert_int_equal(n, 1);
	assert_int_equal(r->nmx, 2);
	assert_string_equal(r->mx[0], "*.mx.acme.example");
	assert_string_equal(r->mx[1], "mx1.acme.example");
	assert_int_equal(r->s.burst, 7);
	assert_double_near(r->s.rate, 1.5 / 60, 1e-12);
	for (i = 0; i < NELEM(builtin_names); i++) {
		(void)provider(&c, builtin_names[i], &n);
		assert_int_equal(n, 1);
	}
	assert_int_equal(c.nshape_domains, 1);
	assert_string_equal(c.shape_domains[0].name, "*.example.org");
	assert_int_equal(c.shape_domains[0].s.messages_per_connection, 5);
	config_free(&c);
}

static void
t_shaping_defaults(void **state)
{
	static const int64_t want_retry[] = { 5 * 60000, 15 * 60000,
	    30 * 60000, 3600000, 2 * 3600000, 4 * 3600000 };
	struct config c;
	struct err e;
	size_t i;
	int n;

	(void)state;
	assert_int_equal(load("{}", &c, &e), 0);
	assert_int_equal(c.shape_default.connections, 10);
	assert_int_equal(c.shape_default.messages_per_connection, 100);
	assert_double_near(c.shape_default.rate, 50, 0);
	assert_int_equal(c.shape_global.connections, 200);
	assert_int_equal(c.shape_global.messages_per_connection, 0);
	assert_int_equal(c.nshape_domains, 0);
	assert_int_equal(c.nproviders, NELEM(builtin_names));
	for (i = 0; i < NELEM(builtin_names); i++) {
		(void)provider(&c, builtin_names[i], &n);
		assert_int_equal(n, 1);
	}
	assert_int_equal(c.nretry, 6);
	for (i = 0; i < NELEM(want_retry); i++)
		assert_int_equal(c.retry_ms[i], want_retry[i]);
	assert_int_equal(c.retry_max_age_ms, 3LL * 86400 * 1000);
	assert_non_null(c.throttle_patterns);
	assert_true(c.nthrottle_patterns > 0);
	for (i = 0; i < c.nthrottle_patterns; i++)
		assert_true(strlen(c.throttle_patterns[i]) > 0);
	config_free(&c);
	/* A missing file that is not required: the same defaults. */
	assert_int_equal(config_load("/nonexistent/postbote.json", 0, &c, &e),
	    0);
	assert_int_equal(c.shape_default.connections, 10);
	assert_int_equal(c.nretry, 6);
	assert_int_equal(c.nproviders, NELEM(builtin_names));
	config_free(&c);
}

/* The file's own values are kept where it sets them. */
static void
t_shaping_retry_values(void **state)
{
	struct config c;
	struct err e;

	(void)state;
	if (load("{\"retry\": {\"schedule\": [\"30s\", \"1d\"], \"max_age\": "
	    "\"12h\"}, \"shaping\": {\"throttle_patterns\": [\"Busy\"]}}", &c,
	    &e) != 0)
		fail_msg("load: %s", e.msg);
	assert_int_equal(c.nretry, 2);
	assert_int_equal(c.retry_ms[0], 30000);
	assert_int_equal(c.retry_ms[1], 86400000);
	assert_int_equal(c.retry_max_age_ms, 12LL * 3600000);
	assert_int_equal(c.nthrottle_patterns, 1);
	assert_string_equal(c.throttle_patterns[0], "Busy");
	config_free(&c);
}

struct rate_case {
	const char *name;
	const char *json;
	int where;		/* 0 default, 1 global, 2 domains[0],
				   3 provider "acme" */
	double want;
};

#define SD(r)	"{\"shaping\": {\"default\": {\"rate\": \"" r "\"}}}"

static const struct rate_case rate_cases[] = {
	{ "rate: \"50/s\"", SD("50/s"), 0, 50 },
	{ "rate: \"3000/h\" is 0.8333/s", SD("3000/h"), 0, 3000.0 / 3600 },
	{ "rate: \"1.5/m\"", SD("1.5/m"), 0, 0.025 },
	{ "rate: \"100000/d\"", SD("100000/d"), 0, 100000.0 / 86400 },
	{ "rate: \"unlimited\" in default is no limit", SD("unlimited"), 0,
	  CONFIG_RATE_UNLIMITED },
	{ "rate: \"unlimited\" in global is no limit",
	  "{\"shaping\": {\"global\": {\"rate\": \"unlimited\"}}}", 1,
	  CONFIG_RATE_UNLIMITED },
	{ "rate: \"unlimited\" in a domain rule is no limit",
	  "{\"shaping\": {\"domains\": {\"example.test\": {\"rate\": "
	  "\"unlimited\"}}}}", 2, CONFIG_RATE_UNLIMITED },
	{ "rate: \"unlimited\" in a provider is no limit",
	  "{\"shaping\": {\"providers\": {\"acme\": {\"mx\": "
	  "[\"*.acme.example\"], \"rate\": \"unlimited\"}}}}", 3,
	  CONFIG_RATE_UNLIMITED },
};

static void
t_rate(void **state)
{
	const struct rate_case *c = *state;
	const struct config_shape_rule *r;
	struct config cfg;
	struct err e;
	double got = -1;
	int n;

	if (load(c->json, &cfg, &e) != 0)
		fail_msg("load: %s", e.msg);
	switch (c->where) {
	case 0: got = cfg.shape_default.rate; break;
	case 1: got = cfg.shape_global.rate; break;
	case 2:
		assert_int_equal(cfg.nshape_domains, 1);
		got = cfg.shape_domains[0].s.rate;
		break;
	case 3:
		r = provider(&cfg, "acme", &n);
		assert_non_null(r);
		got = r->s.rate;
		break;
	}
	config_free(&cfg);
	assert_double_near(got, c->want, 1e-9);
}

struct bad_case {
	const char *name;
	const char *json;
	const char *want;	/* in the message, after the file name */
};

#define D(x)	"{\"shaping\": {\"default\": " x "}}"
#define DOM(x)	"{\"shaping\": {\"domains\": {\"example.test\": " x "}}}"
#define P(x)	"{\"shaping\": {\"providers\": {\"acme\": " x "}}}"
#define RS(x)	"{\"retry\": {\"schedule\": " x "}}"
#define STEPS17	"[\"1m\", \"2m\", \"3m\", \"4m\", \"5m\", \"6m\", \"7m\", " \
		"\"8m\", \"9m\", \"10m\", \"11m\", \"12m\", \"13m\", \"14m\", " \
		"\"15m\", \"16m\", \"17m\"]"
#define RATE_MSG "\"shaping.default.rate\" must be a rate such as \"50/s\""

static const struct bad_case bad_cases[] = {
	{ "bad: rate \"50\" (no unit)", D("{\"rate\": \"50\"}"), RATE_MSG },
	{ "bad: rate \"50/x\"", D("{\"rate\": \"50/x\"}"), RATE_MSG },
	{ "bad: rate \"-1/s\"", D("{\"rate\": \"-1/s\"}"), RATE_MSG },
	{ "bad: rate 5 (not a string)", D("{\"rate\": 5}"), RATE_MSG },
	{ "bad: rate \"0/s\"", D("{\"rate\": \"0/s\"}"), RATE_MSG },
	{ "bad: rate \"50/\" (unit missing after slash)",
	  D("{\"rate\": \"50/\"}"), RATE_MSG },
	{ "bad: rate \"50/sec\"", D("{\"rate\": \"50/sec\"}"), RATE_MSG },
	{ "bad: rate \"/s\"", D("{\"rate\": \"/s\"}"), RATE_MSG },
	{ "bad: rate in a domain rule", DOM("{\"rate\": \"fast\"}"),
	  "\"shaping.domains.example.test.rate\" must be a rate" },
	{ "bad: rate in global", "{\"shaping\": {\"global\": {\"rate\": "
	  "\"1/w\"}}}", "\"shaping.global.rate\" must be a rate" },
	{ "bad: connections 0", D("{\"connections\": 0}"),
	  "\"shaping.default.connections\" must be an integer from 1 to" },
	{ "bad: connections a string", DOM("{\"connections\": \"2\"}"),
	  "\"shaping.domains.example.test.connections\" must be an integer" },
	{ "bad: messages_per_connection 0",
	  D("{\"messages_per_connection\": 0}"),
	  "\"shaping.default.messages_per_connection\" must be an integer" },
	{ "bad: burst 0", D("{\"burst\": 0}"),
	  "\"shaping.default.burst\" must be an integer from 1 to" },
	{ "bad: messages_per_connection in global",
	  "{\"shaping\": {\"global\": {\"messages_per_connection\": 5}}}",
	  "\"shaping.global.messages_per_connection\" applies per "
	  "destination" },
	{ "bad: unknown key in default", D("{\"rate_limit\": \"5/s\"}"),
	  "unknown key \"shaping.default.rate_limit\"" },
	{ "bad: unknown key in a domain rule", DOM("{\"rat\": \"5/s\"}"),
	  "unknown key \"shaping.domains.example.test.rat\"" },
	{ "bad: mx in a domain rule", DOM("{\"mx\": [\"*.example.test\"]}"),
	  "unknown key \"shaping.domains.example.test.mx\"" },
	{ "bad: unknown key in global",
	  "{\"shaping\": {\"global\": {\"mx\": []}}}",
	  "unknown key \"shaping.global.mx\"" },
	{ "bad: default not an object", D("[]"),
	  "\"shaping.default\" must be an object" },
	{ "bad: domains not an object", "{\"shaping\": {\"domains\": []}}",
	  "\"shaping.domains\" must be an object" },
	{ "bad: domain rule not an object", DOM("5"),
	  "\"shaping.domains.example.test\" must be an object" },
	{ "bad: domains key \"not a domain\"",
	  "{\"shaping\": {\"domains\": {\"not a domain\": {}}}}",
	  "\"shaping.domains.not a domain\": the key must be a domain" },
	{ "bad: domains key a bare star",
	  "{\"shaping\": {\"domains\": {\"*\": {}}}}",
	  "\"shaping.domains.*\": the key must be a domain" },
	{ "bad: provider mx not a list", P("{\"mx\": \"*.acme.example\"}"),
	  "\"shaping.providers.acme.mx\" must be a list of 1 to 64 MX host "
	  "patterns" },
	{ "bad: provider mx an empty list", P("{\"mx\": []}"),
	  "\"shaping.providers.acme.mx\" must be a list of 1 to 64" },
	{ "bad: provider mx a bad pattern",
	  P("{\"mx\": [\"mx.acme.example\", \"not a host\"]}"),
	  "\"shaping.providers.acme.mx[1]\" must be a host name or \"*.\" and "
	  "a domain" },
	{ "bad: provider mx a number", P("{\"mx\": [25]}"),
	  "\"shaping.providers.acme.mx[0]\" must be a host name" },
	{ "bad: provider mx star in the middle",
	  P("{\"mx\": [\"mx.*.acme.example\"]}"),
	  "\"shaping.providers.acme.mx[0]\" must be a host name" },
	{ "bad: provider (not built-in) without mx",
	  P("{\"connections\": 2}"),
	  "\"shaping.providers.acme.mx\" must be a list of 1 to 64" },
	{ "bad: built-in provider with an empty mx",
	  "{\"shaping\": {\"providers\": {\"google\": {\"mx\": []}}}}",
	  "\"shaping.providers.google.mx\" must be a list" },
	{ "bad: provider not an object", P("[]"),
	  "\"shaping.providers.acme\" must be an object" },
	{ "bad: unknown key in a provider",
	  P("{\"mx\": [\"*.acme.example\"], \"hosts\": 1}"),
	  "unknown key \"shaping.providers.acme.hosts\"" },
	{ "bad: retry schedule empty", RS("[]"),
	  "\"retry.schedule\" must be a list of 1 to 16 durations" },
	{ "bad: retry schedule not a list", RS("\"5m\""),
	  "\"retry.schedule\" must be a list of 1 to 16 durations" },
	{ "bad: retry schedule \"5x\"", RS("[\"5x\"]"),
	  "\"retry.schedule[0]\" must be a duration such as" },
	{ "bad: retry schedule \"0m\"", RS("[\"5m\", \"0m\"]"),
	  "\"retry.schedule[1]\" must be a duration" },
	{ "bad: retry schedule \"5\" (no unit)", RS("[\"5\"]"),
	  "\"retry.schedule[0]\" must be a duration" },
	{ "bad: retry schedule \"5mm\"", RS("[\"5mm\"]"),
	  "\"retry.schedule[0]\" must be a duration" },
	{ "bad: retry schedule a number", RS("[300]"),
	  "\"retry.schedule[0]\" must be a duration" },
	{ "bad: retry schedule more than 16 steps", RS(STEPS17),
	  "\"retry.schedule\" must be a list of 1 to 16 durations" },
	{ "bad: retry schedule over a year", RS("[\"366d\"]"),
	  "\"retry.schedule[0]\" must be a duration" },
	{ "bad: retry max_age \"forever\"",
	  "{\"retry\": {\"max_age\": \"forever\"}}",
	  "\"retry.max_age\" must be a duration such as \"12h\" or \"3d\"" },
	{ "bad: retry max_age a number", "{\"retry\": {\"max_age\": 3}}",
	  "\"retry.max_age\" must be a duration" },
	{ "bad: unknown key in shaping",
	  "{\"shaping\": {\"defaults\": {}}}",
	  "unknown key \"shaping.defaults\"" },
	{ "bad: unknown key in retry", "{\"retry\": {\"max-age\": \"3d\"}}",
	  "unknown key \"retry.max-age\"" },
	{ "bad: shaping not an object", "{\"shaping\": []}",
	  "\"shaping\" must be an object" },
	{ "bad: retry not an object", "{\"retry\": 5}",
	  "\"retry\" must be an object" },
	{ "bad: throttle_patterns not a list",
	  "{\"shaping\": {\"throttle_patterns\": \"rate limit\"}}",
	  "\"shaping.throttle_patterns\" must be a list of at most 256 "
	  "strings" },
	{ "bad: throttle_patterns an empty string",
	  "{\"shaping\": {\"throttle_patterns\": [\"busy\", \"\"]}}",
	  "\"shaping.throttle_patterns[1]\" must be a string of 1 to 128 "
	  "characters" },
	{ "bad: throttle_patterns a number",
	  "{\"shaping\": {\"throttle_patterns\": [5]}}",
	  "\"shaping.throttle_patterns[0]\" must be a string" },
};

static void
t_bad(void **state)
{
	const struct bad_case *c = *state;
	struct config cfg;
	struct err e;

	assert_int_equal(load(c->json, &cfg, &e), -1);
	assert_int_equal(e.code, EX_CONFIG);
	if (strstr(e.msg, c->want) == NULL || strstr(e.msg, "postbote.json: ")
	    == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", e.msg, c->want);
	/* Freed on failure. */
	assert_null(cfg.providers);
	assert_null(cfg.shape_domains);
	assert_null(cfg.throttle_patterns);
}

/* ------------------------------------------------------- config_match */

struct match_case {
	const char *name;
	const char *pattern;
	const char *host;
	int want;
};

static const struct match_case match_cases[] = {
	{ "match: exact", "example.com", "example.com", CONFIG_MATCH_EXACT },
	{ "match: exact, case-insensitive", "Example.COM", "example.com",
	  CONFIG_MATCH_EXACT },
	{ "match: exact does not match a subdomain", "example.com",
	  "a.example.com", -1 },
	{ "match: *.example.com matches a.example.com", "*.example.com",
	  "a.example.com", 12 },
	{ "match: *.example.com matches b.a.example.com", "*.example.com",
	  "b.a.example.com", 12 },
	{ "match: *.example.com does not match example.com", "*.example.com",
	  "example.com", -1 },
	{ "match: *.example.com does not match badexample.com",
	  "*.example.com", "badexample.com", -1 },
	{ "match: *.example.com does not match .example.com",
	  "*.example.com", ".example.com", -1 },
	{ "match: wildcard, case-insensitive", "*.example.com",
	  "MX1.Example.COM", 12 },
	{ "match: wildcard pattern upper-case", "*.GOOGLE.com",
	  "aspmx.l.google.COM", 11 },
	{ "match: longer suffix scores higher", "*.a.example.com",
	  "b.a.example.com", 14 },
	{ "match: unrelated", "*.example.com", "example.net", -1 },
};

static void
t_match(void **state)
{
	const struct match_case *c = *state;

	assert_int_equal(config_match(c->pattern, c->host), c->want);
}

/* The exact name beats every wildcard, however long its suffix. */
static void
t_match_exact_wins(void **state)
{
	static const char *const pats[] = { "*.example.com",
	    "*.a.example.com", "b.a.example.com", "*.com" };
	size_t i, best = 0;
	int m, bm = -1;

	(void)state;
	for (i = 0; i < NELEM(pats); i++)
		if ((m = config_match(pats[i], "b.a.example.com")) > bm) {
			bm = m;
			best = i;
		}
	assert_string_equal(pats[best], "b.a.example.com");
	assert_int_equal(bm, CONFIG_MATCH_EXACT);
	assert_true(config_match("*.a.example.com", "b.a.example.com") >
	    config_match("*.example.com", "b.a.example.com"));
	assert_true(config_match("*.example.com", "b.a.example.com") >
	    config_match("*.com", "b.a.example.com"));
}

int
main(void)
{
	struct unit_tests u = { 0 };

	UNIT_TABLE(&u, bucket_cases, t_bucket);
	unit_add(&u, "bucket: 10 s at 10/s passes at most 110", t_bucket_10s,
	    NULL);
	unit_add(&u, "bucket: rate 0 (unlimited) never waits",
	    t_bucket_unlimited, NULL);
	unit_add(&u, "bucket: a clock standing still adds no tokens",
	    t_bucket_clock_still, NULL);
	unit_add(&u, "conn: cap 4 allows 4", t_conn_cap, NULL);
	unit_add(&u, "conn: cap 0 is unlimited, also after signals",
	    t_conn_unlimited, NULL);
	UNIT_TABLE(&u, cap_cases, t_conn_backoff);
	unit_add(&u, "conn: successes restore the cap 1/32 at a time",
	    t_conn_recovery, NULL);
	unit_add(&u, "aimd: each signal halves the factor, down to 1/32",
	    t_aimd_factor, NULL);
	unit_add(&u, "aimd: suspension is strikes x 30 s, at most 10 min",
	    t_aimd_suspend, NULL);
	unit_add(&u, "aimd: an unlimited rate waits out a suspension",
	    t_aimd_suspend_unlimited, NULL);
	unit_add(&u, "aimd: after the suspension 10/s runs at 5/s",
	    t_aimd_rate_after, NULL);
	unit_add(&u, "aimd: no burst right after a signal",
	    t_aimd_no_burst_after_signal, NULL);
	unit_add(&u, "aimd: successes restore the factor and the rate",
	    t_aimd_success_restores, NULL);
	unit_add(&u, "aimd: a success resets the strikes",
	    t_aimd_strikes_reset, NULL);
	UNIT_TABLE(&u, reply_cases, t_reply);
	unit_add(&u, "shaping: the example loads and reads back",
	    t_shaping_example, NULL);
	unit_add(&u, "shaping: the file's google replaces the built-in",
	    t_shaping_provider_replaces, NULL);
	unit_add(&u, "shaping: a built-in provider without mx keeps its MX",
	    t_shaping_provider_keeps_mx, NULL);
	unit_add(&u, "shaping: a provider of the file's own",
	    t_shaping_provider_new, NULL);
	unit_add(&u, "shaping: {} gets the built-in defaults",
	    t_shaping_defaults, NULL);
	unit_add(&u, "shaping: retry and throttle_patterns read back",
	    t_shaping_retry_values, NULL);
	UNIT_TABLE(&u, rate_cases, t_rate);
	unit_add(&u, "warmup: the cap grows from its first day", t_warmup,
	    NULL);
	unit_add(&u, "reply: a RCPT's 451 4.7.1 is not the domain's",
	    t_reply_per_recipient, NULL);
	UNIT_TABLE(&u, bad_cases, t_bad);
	UNIT_TABLE(&u, match_cases, t_match);
	unit_add(&u, "match: exact beats every wildcard", t_match_exact_wins,
	    NULL);
	return unit_run(&u, "throttle", NULL, NULL);
}
