/*
 * test_campaign.c - campaign_transition() for every action from every
 * state, and campaign_parse_time().
 *
 * Local times are read in Europe/Berlin (set in main), a zone with DST, so
 * that a winter and a summer time test mktime()'s handling of both.
 */
#include "unit.h"

#include <time.h>

#include "campaign.h"

/* ----------------------------------------------------------- transitions */

struct trans_case {
	const char *name;
	const char *status;
	const char *action;
	int started;
	const char *to;		/* NULL: refused */
	int code;		/* when refused */
};

#define OK(st, act, s, to) \
	{ st " --" act "--> " to, st, act, s, to, 0 }
#define NO(st, act, s) \
	{ st " --" act "--> refused", st, act, s, NULL, EX_DATAERR }

static const struct trans_case trans_cases[] = {
	OK("draft", "schedule", 0, "scheduled"),
	OK("draft", "start", 0, "running"),
	NO("draft", "pause", 0),
	NO("draft", "resume", 0),
	NO("draft", "finish", 0),
	OK("draft", "cancel", 0, "cancelled"),

	OK("scheduled", "schedule", 0, "scheduled"),
	OK("scheduled", "start", 0, "running"),
	OK("scheduled", "pause", 0, "paused"),
	NO("scheduled", "resume", 0),
	NO("scheduled", "finish", 0),
	OK("scheduled", "cancel", 0, "cancelled"),

	NO("running", "schedule", 1),
	NO("running", "start", 1),
	OK("running", "pause", 1, "paused"),
	NO("running", "resume", 1),
	OK("running", "finish", 1, "done"),
	OK("running", "cancel", 1, "cancelled"),

	/* Paused before it ever sent: back to scheduled, and reschedulable. */
	OK("paused", "schedule", 0, "scheduled"),
	NO("paused", "start", 0),
	NO("paused", "pause", 0),
	OK("paused", "resume", 0, "scheduled"),
	NO("paused", "finish", 0),
	OK("paused", "cancel", 0, "cancelled"),
	/* Paused while sending: resume runs again; schedule is refused. */
	{ "paused (started) --schedule--> refused", "paused", "schedule", 1,
	    NULL, EX_DATAERR },
	{ "paused (started) --resume--> running", "paused", "resume", 1,
	    "running", 0 },
	{ "paused (started) --cancel--> cancelled", "paused", "cancel", 1,
	    "cancelled", 0 },

	NO("done", "schedule", 1),
	NO("done", "start", 1),
	NO("done", "pause", 1),
	NO("done", "resume", 1),
	NO("done", "finish", 1),
	NO("done", "cancel", 1),

	NO("cancelled", "schedule", 0),
	NO("cancelled", "start", 0),
	NO("cancelled", "pause", 0),
	NO("cancelled", "resume", 0),
	NO("cancelled", "finish", 0),
	NO("cancelled", "cancel", 0),

	{ "unknown action", "draft", "launch", 0, NULL, EX_USAGE },
	{ "action names are case-sensitive", "draft", "Start", 0, NULL,
	    EX_USAGE },
	{ "unknown status", "sending", "start", 0, NULL, EX_DATAERR },
	{ "a status cannot smuggle in two", "draft scheduled", "pause", 0,
	    NULL, EX_DATAERR },
	{ "empty status", "", "cancel", 0, NULL, EX_DATAERR },
};

static void
t_transition(void **state)
{
	const struct trans_case *c = *state;
	const char *to = NULL;
	struct err e = { 0 };
	int rc;

	rc = campaign_transition(c->status, c->action, c->started, &to, &e);
	if (c->to == NULL) {
		assert_int_equal(rc, -1);
		assert_int_equal(e.code, c->code);
		assert_true(e.msg[0] != '\0');
		return;
	}
	if (rc != 0)
		fail_msg("%s", e.msg);
	assert_non_null(to);
	assert_string_equal(to, c->to);
}

/* ------------------------------------------------------------------ time */

#define NOW		INT64_C(1700000000000)
#define T_UTC		INT64_C(1796115600000)	/* 2026-12-01T09:00:00Z */
#define T_BERLIN	INT64_C(1796112000000)	/* 2026-12-01 09:00 CET */
#define T_SUMMER	INT64_C(1782889200000)	/* 2026-07-01 09:00 CEST */

struct time_case {
	const char *name;
	const char *in;
	int ok;
	int64_t ms;
};

static const struct time_case time_cases[] = {
	{ "time: now", "now", 1, NOW },
	{ "time: +30m", "+30m", 1, NOW + 30 * 60000 },
	{ "time: +2h", "+2h", 1, NOW + 2 * 3600000 },
	{ "time: +3d", "+3d", 1, NOW + 3 * 86400000LL },
	{ "time: +0h", "+0h", 1, NOW },
	{ "time: +100000d (limit)", "+100000d", 1,
	    NOW + 100000 * 86400000LL },
	{ "time: UTC with Z", "2026-12-01T09:00:00Z", 1, T_UTC },
	{ "time: UTC with z", "2026-12-01T09:00:00z", 1, T_UTC },
	{ "time: UTC without seconds", "2026-12-01T09:00Z", 1, T_UTC },
	{ "time: +01:00 offset", "2026-12-01T10:00:00+01:00", 1, T_UTC },
	{ "time: -05:00 offset", "2026-12-01T04:00:00-05:00", 1, T_UTC },
	{ "time: +05:30 offset, space form", "2026-12-01 14:30+05:30", 1,
	    T_UTC },
	{ "time: +00:00 offset", "2026-12-01 09:00:00+00:00", 1, T_UTC },
	{ "time: offset crosses midnight", "2026-11-30T23:00:00-10:00", 1,
	    T_UTC },
	{ "time: local, winter", "2026-12-01 09:00", 1, T_BERLIN },
	{ "time: local with T", "2026-12-01T09:00", 1, T_BERLIN },
	{ "time: local with seconds", "2026-12-01 09:00:30", 1,
	    T_BERLIN + 30000 },
	{ "time: local, summer", "2026-07-01 09:00", 1, T_SUMMER },

	{ "time: garbage", "tomorrow", 0, 0 },
	{ "time: empty", "", 0, 0 },
	{ "time: NOW is not now", "NOW", 0, 0 },
	{ "time: now with text after", "now!", 0, 0 },
	{ "time: + alone", "+", 0, 0 },
	{ "time: relative without unit", "+2", 0, 0 },
	{ "time: relative without number", "+h", 0, 0 },
	{ "time: relative with bad unit", "+2x", 0, 0 },
	{ "time: relative with two units", "+2hm", 0, 0 },
	{ "time: relative negative", "+-2h", 0, 0 },
	{ "time: relative with two plus signs", "++2h", 0, 0 },
	{ "time: relative with a blank", "+ 2h", 0, 0 },
	{ "time: relative with a trailing blank", "+2h ", 0, 0 },
	{ "time: relative past the limit", "+100001d", 0, 0 },
	{ "time: relative overflow", "+99999999999999999999d", 0, 0 },
	{ "time: date alone", "2026-12-01", 0, 0 },
	{ "time: month 13", "2026-13-01 09:00", 0, 0 },
	{ "time: day 32", "2026-12-32 09:00", 0, 0 },
	{ "time: February 30", "2026-02-30 09:00", 0, 0 },
	{ "time: February 29 of a common year", "2026-02-29T09:00Z", 0, 0 },
	{ "time: hour 24", "2026-12-01 24:00", 0, 0 },
	{ "time: minute 60", "2026-12-01 09:60", 0, 0 },
	{ "time: second 61", "2026-12-01 09:00:61", 0, 0 },
	{ "time: zone name", "2026-12-01 09:00 CET", 0, 0 },
	{ "time: trailing text", "2026-12-01 09:00 junk", 0, 0 },
	{ "time: offset without colon", "2026-12-01T09:00:00+0100", 0, 0 },
	{ "time: offset hour 24", "2026-12-01T09:00:00+24:00", 0, 0 },
	{ "time: offset minute 60", "2026-12-01T09:00:00+01:60", 0, 0 },
	{ "time: fractional seconds", "2026-12-01T09:00:00.5Z", 0, 0 },
	{ "time: offset with text after", "2026-12-01T09:00Z!", 0, 0 },
};

static void
t_time(void **state)
{
	const struct time_case *c = *state;
	struct err e = { 0 };
	int64_t ms = -1;
	int rc;

	rc = campaign_parse_time(c->in, NOW, &ms, &e);
	if (!c->ok) {
		if (rc == 0)
			fail_msg("\"%s\" accepted as %lld", c->in,
			    (long long)ms);
		assert_int_equal(e.code, EX_USAGE);
		return;
	}
	if (rc != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(ms, c->ms);
}

/* February 29 exists in a leap year. */
static void
t_leap_day(void **state)
{
	struct err e = { 0 };
	int64_t ms;

	(void)state;
	assert_int_equal(campaign_parse_time("2028-02-29T00:00:00Z", NOW, &ms,
	    &e), 0);
	assert_int_equal(ms, INT64_C(1835395200000));
}

struct pick_case {
	const char *name;
	int n;
	int64_t got[4], delivered[4];
	int want;
};

static const struct pick_case pick_cases[] = {
	{ "ab pick: the best rate", 3, { 1, 2, 0 }, { 4, 4, 4 }, 1 },
	{ "ab pick: a rate, not a count", 2, { 5, 4 }, { 100, 10 }, 1 },
	{ "ab pick: a tie goes to the earlier", 3, { 2, 2, 2 }, { 4, 4, 4 },
	    0 },
	{ "ab pick: equal rates, different sizes: the earlier", 2, { 1, 2 },
	    { 4, 8 }, 0 },
	{ "ab pick: A reached nobody: B wins", 2, { 0, 5 }, { 0, 10 }, 1 },
	{ "ab pick: B reached nobody: never B", 2, { 0, 0 }, { 4, 0 }, 0 },
	{ "ab pick: nobody reached: A", 3, { 0, 0, 0 }, { 0, 0, 0 }, 0 },
	{ "ab pick: none opened: A", 4, { 0, 0, 0, 0 }, { 3, 3, 3, 3 }, 0 },
	{ "ab pick: the last of four", 4, { 1, 1, 1, 3 }, { 5, 5, 5, 5 }, 3 },
};

static void
t_pick(void **state)
{
	const struct pick_case *c = *state;

	assert_int_equal(campaign_ab_pick(c->got, c->delivered, c->n),
	    c->want);
}

int
main(void)
{
	struct unit_tests u = { 0 };

	/* Local times in the tests are Berlin's; keep the machine's out. */
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	UNIT_TABLE(&u, pick_cases, t_pick);
	UNIT_TABLE(&u, trans_cases, t_transition);
	UNIT_TABLE(&u, time_cases, t_time);
	unit_add(&u, "time: February 29 of a leap year", t_leap_day, NULL);
	return unit_run(&u, "campaign", NULL, NULL);
}
