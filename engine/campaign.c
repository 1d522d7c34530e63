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

int
campaign_ab_pick(const int64_t *got, const int64_t *delivered, int n)
{
	int v, best = 0;

	for (v = 1; v < n; v++)
		if (delivered[v] > 0 && (delivered[best] == 0 ||
		    got[v] * delivered[best] > got[best] * delivered[v]))
			best = v;
	return best;
}

static int
option_text(json_t *root, const char *key, const char **out, struct err *e)
{
	json_t *v = json_object_get(root, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || mime_check_header("X-Check",
	    json_string_value(v), e) < 0)
		return err_set(e, EX_DATAERR, "campaign option %s: not a valid "
		    "header value", key);
	*out = json_string_value(v);
	return 0;
}

static int
option_headers(json_t *root, struct campaign_options *o, struct err *e)
{
	json_t *arr = json_object_get(root, "headers"), *h;
	size_t i;

	if (arr == NULL)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > LIMIT_HEADERS)
		return err_set(e, EX_DATAERR, "campaign option headers: at "
		    "most %d [name, value] pairs", LIMIT_HEADERS);
	json_array_foreach(arr, i, h) {
		const char *name = json_string_value(json_array_get(h, 0));
		const char *value = json_string_value(json_array_get(h, 1));

		if (name == NULL || value == NULL || json_array_size(h) != 2)
			return err_set(e, EX_DATAERR, "campaign option headers: "
			    "entry %zu is not [name, value]", i + 1);
		if (mime_check_header(name, value, e) < 0)
			return -1;
		o->headers[o->nheaders].name = name;
		o->headers[o->nheaders++].value = value;
	}
	return 0;
}

/* {"hours": "08:00-20:00", "timezone": "Europe/Berlin"}; no timezone:
 * the machine's. */
static int
option_window(json_t *root, struct campaign_options *o, struct err *e)
{
	json_t *w = json_object_get(root, "window");
	const char *hours, *tz;

	if (w == NULL)
		return 0;
	hours = json_string_value(json_object_get(w, "hours"));
	tz = json_string_value(json_object_get(w, "timezone"));
	if (!json_is_object(w) || hours == NULL || json_object_size(w) !=
	    1u + (tz != NULL))
		return err_set(e, EX_DATAERR, "campaign option window is "
		    "{\"hours\": \"HH:MM-HH:MM\"[, \"timezone\": NAME]}");
	if (window_parse(hours, &o->window, e) < 0) {
		e->code = EX_DATAERR;
		return -1;
	}
	if (tz != NULL && !window_tz_known(tz))
		return err_set(e, EX_DATAERR, "campaign option window: no "
		    "time zone \"%s\" (an IANA name)", tz);
	snprintf(o->window.tz, sizeof(o->window.tz), "%s", tz ? tz : "");
	o->has_window = 1;
	return 0;
}

int
campaign_options_parse(const char *text, struct campaign_options *o,
    struct err *e)
{
	static const char *known[] = { "variables", "headers", "list_id",
	    "feedback_id", "window", NULL };
	json_error_t jerr;
	const char *key, *vars;
	json_t *v;
	int i;

	memset(o, 0, sizeof(*o));
	o->json = json_loads(text ? text : "{}", JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(o->json)) {
		campaign_options_free(o);
		return err_set(e, EX_DATAERR, "campaign options are not a "
		    "JSON object");
	}
	json_object_foreach(o->json, key, v) {
		for (i = 0; known[i] != NULL && strcmp(known[i], key); i++)
			;
		if (known[i] == NULL) {
			campaign_options_free(o);
			return err_set(e, EX_DATAERR, "unknown campaign option "
			    "\"%s\"", key);
		}
	}
	vars = json_string_value(json_object_get(o->json, "variables"));
	if (vars != NULL && strcmp(vars, "strict") && strcmp(vars, "lenient")) {
		campaign_options_free(o);
		return err_set(e, EX_DATAERR, "campaign option variables is "
		    "\"strict\" or \"lenient\"");
	}
	o->strict = vars != NULL && strcmp(vars, "strict") == 0;
	if (option_text(o->json, "list_id", &o->list_id, e) < 0 ||
	    option_text(o->json, "feedback_id", &o->feedback_id, e) < 0 ||
	    option_headers(o->json, o, e) < 0 ||
	    option_window(o->json, o, e) < 0) {
		campaign_options_free(o);
		return -1;
	}
	return 0;
}

void
campaign_options_free(struct campaign_options *o)
{
	json_decref(o->json);
	o->json = NULL;
}
