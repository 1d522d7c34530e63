/*
 * test_window.c - engine/window: parsing "HH:MM-HH:MM", zone names, and
 * open intervals from the tz database at fixed instants, across a DST
 * change, in a half-hour zone, over midnight and in the local zone
 * (ICU's calendar and tz data).
 */
#include "unit.h"

#include <sysexits.h>
#include <time.h>

#include "window.h"

/* Unix ms of a UTC time. */
static int64_t
utc(int y, int mo, int d, int h, int mi)
{
	struct tm t = { 0 };

	t.tm_year = y - 1900;
	t.tm_mon = mo - 1;
	t.tm_mday = d;
	t.tm_hour = h;
	t.tm_min = mi;
	return (int64_t)timegm(&t) * 1000;
}

struct parse_case {
	const char *name;
	const char *spec;
	int ok;
	int from, to;
};

static const struct parse_case parse_cases[] = {
	{ "parse: day", "08:00-20:00", 1, 480, 1200 },
	{ "parse: over midnight", "22:30-06:15", 1, 1350, 375 },
	{ "parse: to the end of the day", "18:00-24:00", 1, 1080, 1440 },
	{ "parse: from midnight", "00:00-06:00", 1, 0, 360 },
	{ "parse: the whole day refused", "00:00-24:00", 0, 0, 0 },
	{ "parse: empty refused", "09:00-09:00", 0, 0, 0 },
	{ "parse: 24:00 as a start refused", "24:00-06:00", 0, 0, 0 },
	{ "parse: minute 60 refused", "08:60-20:00", 0, 0, 0 },
	{ "parse: hour 25 refused", "08:00-25:00", 0, 0, 0 },
	{ "parse: one digit refused", "8:00-20:00", 0, 0, 0 },
	{ "parse: no dash refused", "08:00 20:00", 0, 0, 0 },
	{ "parse: trailing text refused", "08:00-20:00x", 0, 0, 0 },
	{ "parse: empty string refused", "", 0, 0, 0 },
};

static void
t_parse(void **state)
{
	const struct parse_case *c = *state;
	struct send_window w;
	struct err e = { 0 };

	if (!c->ok) {
		assert_int_equal(window_parse(c->spec, &w, &e), -1);
		assert_int_equal(e.code, EX_USAGE);
		assert_non_null(strstr(e.msg, "send window"));
		return;
	}
	assert_int_equal(window_parse(c->spec, &w, &e), 0);
	assert_int_equal(w.from, c->from);
	assert_int_equal(w.to, c->to);
}

static void
t_tz_known(void **state)
{
	(void)state;
	assert_true(window_tz_known("Europe/Berlin"));
	assert_true(window_tz_known("UTC"));
	assert_true(window_tz_known("America/Argentina/Buenos_Aires"));
	assert_true(window_tz_known("Etc/GMT+5"));
	assert_false(window_tz_known("Mars/Olympus_Mons"));
	assert_false(window_tz_known("Europe"));	/* a directory */
	assert_false(window_tz_known("../../etc/passwd"));
	assert_false(window_tz_known("/etc/localtime"));
	assert_false(window_tz_known("Europe/Berlin "));
	assert_false(window_tz_known("GMT+3"));		/* ICU's own */
	assert_false(window_tz_known(""));
}

struct open_case {
	const char *name;
	const char *hours;
	const char *tz;
	int64_t load;		/* when the zone is loaded */
	int64_t at;
	int open;
	int64_t next;		/* the next open or close */
};

static void
t_open(void **state)
{
	const struct open_case *c = *state;
	struct send_window w;
	struct window_zone z;
	struct err e = { 0 };
	int64_t next = -1;

	assert_int_equal(window_parse(c->hours, &w, &e), 0);
	window_zone_load(&w, c->tz, c->load, &z);
	assert_int_equal(window_is_open(&z, c->at, &next), c->open);
	if (next != c->next)
		fail_msg("next %lld, want %lld (%+lld min)", (long long)next,
		    (long long)c->next, (long long)(next - c->next) / 60000);
}

/* "" is the machine's zone, as ICU finds it: main() set TZ to New York
 * before ICU first looked (EDT in June, UTC-4). */
static void
t_local(void **state)
{
	struct send_window w;
	struct window_zone z;
	struct err e = { 0 };

	(void)state;
	assert_int_equal(window_parse("08:00-20:00", &w, &e), 0);
	window_zone_load(&w, "", utc(2026, 6, 1, 12, 0), &z);
	assert_int_equal(window_is_open(&z, utc(2026, 6, 1, 12, 30), NULL), 1);
	assert_int_equal(window_is_open(&z, utc(2026, 6, 1, 11, 30), NULL), 0);
}

/* An unknown zone loads as never open. */
static void
t_unknown(void **state)
{
	struct send_window w;
	struct window_zone z;
	struct err e = { 0 };
	int64_t next = -1;

	(void)state;
	assert_int_equal(window_parse("00:00-23:59", &w, &e), 0);
	window_zone_load(&w, "Mars/Olympus_Mons", utc(2026, 6, 1, 12, 0), &z);
	assert_int_equal(window_is_open(&z, utc(2026, 6, 1, 12, 30), &next), 0);
	assert_int_equal(next, 0);
}

int
main(void)
{
	const struct open_case cases[] = {
		/* Berlin: CET (UTC+1) until 2026-03-29 01:00 UTC, then
		 * CEST (UTC+2). 08:00-20:00 local. */
		{ "Berlin: before 08:00 CET, closed till 07:00 UTC",
		    "08:00-20:00", "Europe/Berlin", utc(2026, 3, 28, 6, 30),
		    utc(2026, 3, 28, 6, 30), 0, utc(2026, 3, 28, 7, 0) },
		{ "Berlin: at 08:00 CET open till 19:00 UTC", "08:00-20:00",
		    "Europe/Berlin", utc(2026, 3, 28, 6, 30),
		    utc(2026, 3, 28, 7, 0), 1, utc(2026, 3, 28, 19, 0) },
		{ "Berlin: the day after the change opens at 06:00 UTC",
		    "08:00-20:00", "Europe/Berlin", utc(2026, 3, 28, 12, 0),
		    utc(2026, 3, 28, 20, 0), 0, utc(2026, 3, 29, 6, 0) },
		{ "Berlin: ... and closes at 18:00 UTC", "08:00-20:00",
		    "Europe/Berlin", utc(2026, 3, 28, 12, 0),
		    utc(2026, 3, 29, 6, 30), 1, utc(2026, 3, 29, 18, 0) },
		{ "Kolkata (+05:30): 09:00 is 03:30 UTC", "09:00-17:00",
		    "Asia/Kolkata", utc(2026, 7, 1, 0, 0),
		    utc(2026, 7, 1, 3, 0), 0, utc(2026, 7, 1, 3, 30) },
		{ "New York (EDT): 08:00-20:00 is 12:00-24:00 UTC",
		    "08:00-20:00", "America/New_York", utc(2026, 7, 1, 0, 0),
		    utc(2026, 7, 1, 23, 59), 1, utc(2026, 7, 2, 0, 0) },
		{ "over midnight: open at 23:00", "22:00-06:00", "UTC",
		    utc(2026, 5, 5, 12, 0), utc(2026, 5, 5, 23, 0), 1,
		    utc(2026, 5, 6, 6, 0) },
		{ "over midnight: still open at 05:59 (opened yesterday)",
		    "22:00-06:00", "UTC", utc(2026, 5, 5, 5, 0),
		    utc(2026, 5, 5, 5, 59), 1, utc(2026, 5, 5, 6, 0) },
		{ "over midnight: closed at 06:00 until 22:00",
		    "22:00-06:00", "UTC", utc(2026, 5, 5, 5, 0),
		    utc(2026, 5, 5, 6, 0), 0, utc(2026, 5, 5, 22, 0) },
		{ "beyond the loaded days: closed, no next", "08:00-20:00",
		    "UTC", utc(2026, 5, 5, 12, 0), utc(2026, 5, 20, 12, 0), 0,
		    0 },
		{ "Chatham (+12:45 in winter): 08:00 is 19:15 UTC the day "
		    "before", "08:00-20:00", "Pacific/Chatham",
		    utc(2026, 7, 1, 0, 0), utc(2026, 7, 1, 19, 0), 0,
		    utc(2026, 7, 1, 19, 15) },
	};
	struct unit_tests u = { 0 };

	setenv("TZ", "America/New_York", 1);
	UNIT_TABLE(&u, parse_cases, t_parse);
	unit_add(&u, "tz names: known, unknown, paths refused", t_tz_known,
	    NULL);
	UNIT_TABLE(&u, cases, t_open);
	unit_add(&u, "\"\" is the machine's zone", t_local, NULL);
	unit_add(&u, "an unknown zone is never open", t_unknown, NULL);
	return unit_run(&u, "window", NULL, NULL);
}
