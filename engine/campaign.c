/*
 * campaign.c - campaign states and times; see campaign.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "campaign.h"

static const struct {
	const char *action;
	const char *from;	/* space-separated states */
	const char *to;		/* NULL: decided in code */
} campaign_rules[] = {
	{ "schedule", " draft scheduled paused ", "scheduled" },
	{ "start", " draft scheduled ", "running" },
	{ "pause", " scheduled running ", "paused" },
	{ "resume", " paused ", NULL },
	{ "finish", " running ", "done" },
	{ "cancel", " draft scheduled running paused ", "cancelled" },
};

int
campaign_transition(const char *status, const char *action, int started,
    const char **to, struct err *e)
{
	char pad[32];
	size_t i;

	snprintf(pad, sizeof(pad), " %s ", status);
	for (i = 0; i < sizeof(campaign_rules) / sizeof(campaign_rules[0]);
	    i++) {
		if (strcmp(campaign_rules[i].action, action) != 0)
			continue;
		if (strstr(campaign_rules[i].from, pad) == NULL)
			return err_set(e, EX_DATAERR, "cannot %s a campaign "
			    "that is %s", action, status);
		if (strcmp(action, "schedule") == 0 && started)
			return err_set(e, EX_DATAERR, "the campaign has "
			    "started sending; use resume");
		*to = campaign_rules[i].to;
		if (*to == NULL)
			*to = started ? "running" : "scheduled";
		return 0;
	}
	return err_set(e, EX_USAGE, "unknown campaign action \"%s\"", action);
}

static int
parse_relative(const char *s, int64_t now_ms, int64_t *ms, struct err *e)
{
	char *end;
	long long n;
	int64_t unit;

	/* strtoll() would also take " 2" and "+2": only digits may follow. */
	if (!isdigit((unsigned char)s[1]))
		return err_set(e, EX_USAGE, "bad relative time \"%s\"", s);
	errno = 0;
	n = strtoll(s + 1, &end, 10);
	if (errno != 0 || end == s + 1 || n < 0 || n > 100000)
		return err_set(e, EX_USAGE, "bad relative time \"%s\"", s);
	if (strcmp(end, "m") == 0)
		unit = 60;
	else if (strcmp(end, "h") == 0)
		unit = 3600;
	else if (strcmp(end, "d") == 0)
		unit = 86400;
	else
		return err_set(e, EX_USAGE, "bad relative time \"%s\": use "
		    "+Nm, +Nh or +Nd", s);
	*ms = now_ms + n * unit * 1000;
	return 0;
}

/*
 * strptime() takes any day up to 31 and seconds up to 61, and mktime()
 * would quietly turn February 30 into March 2: a date is real only when
 * normalising it changes nothing.
 */
static int
tm_real(const struct tm *tm)
{
	struct tm n = *tm;

	(void)timegm(&n);
	return n.tm_year == tm->tm_year && n.tm_mon == tm->tm_mon &&
	    n.tm_mday == tm->tm_mday && n.tm_hour == tm->tm_hour &&
	    n.tm_min == tm->tm_min && n.tm_sec == tm->tm_sec;
}

/* A trailing "Z", "+HH:MM" or "-HH:MM": *offset in seconds east of UTC. */
static int
parse_offset(const char *s, int *has, long *offset)
{
	int sign, hh, mm;

	*has = 0;
	*offset = 0;
	if (*s == '\0')
		return 0;
	*has = 1;
	if (strcmp(s, "Z") == 0 || strcmp(s, "z") == 0)
		return 0;
	if ((s[0] != '+' && s[0] != '-') || strlen(s) != 6 || s[3] != ':' ||
	    !isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[2]) ||
	    !isdigit((unsigned char)s[4]) || !isdigit((unsigned char)s[5]))
		return -1;
	sign = s[0] == '-' ? -1 : 1;
	hh = (s[1] - '0') * 10 + (s[2] - '0');
	mm = (s[4] - '0') * 10 + (s[5] - '0');
	if (hh > 23 || mm > 59)
		return -1;
	*offset = sign * (hh * 3600L + mm * 60L);
	return 0;
}

int
campaign_parse_time(const char *s, int64_t now_ms, int64_t *ms,
    struct err *e)
{
	static const char *formats[] = { "%Y-%m-%dT%H:%M:%S",
	    "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", NULL };
	struct tm tm;
	const char *rest = NULL;
	long offset;
	int i, has;
	time_t t;

	if (strcmp(s, "now") == 0) {
		*ms = now_ms;
		return 0;
	}
	if (s[0] == '+')
		return parse_relative(s, now_ms, ms, e);
	for (i = 0; formats[i] != NULL && rest == NULL; i++) {
		memset(&tm, 0, sizeof(tm));
		rest = strptime(s, formats[i], &tm);
		if (rest != NULL && (parse_offset(rest, &has, &offset) < 0 ||
		    !tm_real(&tm)))
			rest = NULL;
	}
	if (rest == NULL)
		return err_set(e, EX_USAGE, "bad time \"%s\": use \"YYYY-MM-DD "
		    "HH:MM\" (local), an ISO 8601 time with Z or an offset, "
		    "\"now\" or \"+2h\"", s);
	if (has)
		t = timegm(&tm) - offset;
	else {
		tm.tm_isdst = -1;
		t = mktime(&tm);
	}
	*ms = (int64_t)t * 1000;
	return 0;
}
