/*
 * window.c - send windows in the recipients' time zones; see window.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "window.h"
#include "xalloc.h"

static int
hhmm(const char *s, int *min)
{
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	    s[2] != ':' || !isdigit((unsigned char)s[3]) ||
	    !isdigit((unsigned char)s[4]))
		return -1;
	*min = ((s[0] - '0') * 10 + s[1] - '0') * 60 +
	    (s[3] - '0') * 10 + s[4] - '0';
	/* 24:00 is the end of the day, as a window's end only. */
	return *min <= 24 * 60 && (s[3] - '0') < 6 ? 0 : -1;
}

int
window_parse(const char *spec, struct send_window *w, struct err *e)
{
	memset(w, 0, sizeof(*w));
	if (strlen(spec) != 11 || spec[5] != '-' || hhmm(spec, &w->from) < 0 ||
	    hhmm(spec + 6, &w->to) < 0 || w->from == 24 * 60)
		return err_set(e, EX_USAGE, "send window \"%s\": want "
		    "HH:MM-HH:MM, e.g. 08:00-20:00", spec);
	if (w->from == w->to || (w->from == 0 && w->to == 24 * 60))
		return err_set(e, EX_USAGE, "send window \"%s\" is the whole "
		    "day or none of it", spec);
	return 0;
}

int
window_tz_known(const char *tz)
{
	const char *dir = getenv("TZDIR");
	char path[512];
	struct stat sb;
	size_t i, n = strlen(tz);

	if (n == 0 || n >= WINDOW_TZ_MAX || tz[0] == '/' ||
	    strstr(tz, "..") != NULL)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)tz[i]) && strchr("/_+-", tz[i]) ==
		    NULL)
			return 0;
	snprintf(path, sizeof(path), "%s/%s", dir != NULL && *dir ? dir :
	    "/usr/share/zoneinfo", tz);
	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Local midnight of now's day + days, then min minutes on, as mktime()
 * settles it: a time a DST change skips comes out an hour later. */
static int64_t
local_ms(const struct tm *today, int days, int min)
{
	struct tm t = *today;

	t.tm_mday += days;
	t.tm_hour = min / 60;
	t.tm_min = min % 60;
	t.tm_sec = 0;
	t.tm_isdst = -1;
	return (int64_t)mktime(&t) * 1000;
}

void
window_zone_load(const struct send_window *w, const char *tz,
    int64_t now_ms, struct window_zone *z)
{
	const char *was = getenv("TZ");
	char *old = was != NULL ? xstrdup(was) : NULL;
	time_t now = (time_t)(now_ms / 1000);
	int over = w->to <= w->from, k;
	struct tm today;

	memset(z, 0, sizeof(*z));
	snprintf(z->tz, sizeof(z->tz), "%s", tz);
	if (*tz != '\0') {
		(void)setenv("TZ", tz, 1);
		tzset();
	}
	localtime_r(&now, &today);
	/* From yesterday: a window over midnight may have opened then. */
	for (k = -1; k <= WINDOW_DAYS; k++) {
		z->open[z->n] = local_ms(&today, k, w->from);
		z->close[z->n] = local_ms(&today, k + over, w->to);
		z->n++;
	}
	if (*tz != '\0') {
		if (old != NULL)
			(void)setenv("TZ", old, 1);
		else
			(void)unsetenv("TZ");
		tzset();
	}
	free(old);
}

int
window_is_open(const struct window_zone *z, int64_t t, int64_t *next)
{
	int i;

	for (i = 0; i < z->n; i++) {
		if (t < z->open[i]) {
			if (next != NULL)
				*next = z->open[i];
			return 0;
		}
		if (t < z->close[i]) {
			if (next != NULL)
				*next = z->close[i];
			return 1;
		}
	}
	if (next != NULL)
		*next = 0;
	return 0;
}
