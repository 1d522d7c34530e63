/*
 * window.c - send windows in the recipients' time zones; see window.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unicode/ucal.h>
#include <unicode/ustring.h>

#include "window.h"

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
	UChar id[WINDOW_TZ_MAX], canon[WINDOW_TZ_MAX];
	UErrorCode st = U_ZERO_ERROR;
	UBool system;
	size_t n = strlen(tz);

	if (n == 0 || n >= WINDOW_TZ_MAX)
		return 0;
	u_uastrncpy(id, tz, WINDOW_TZ_MAX);
	(void)ucal_getCanonicalTimeZoneID(id, -1, canon, WINDOW_TZ_MAX,
	    &system, &st);
	return U_SUCCESS(st) && system;
}

/* An ICU calendar in zone tz ("": the machine's), or NULL. */
static UCalendar *
zone_open(const char *tz)
{
	UChar id[WINDOW_TZ_MAX];
	UErrorCode st = U_ZERO_ERROR;
	UCalendar *cal;

	if (*tz == '\0')
		return ucal_open(NULL, 0, "en_US_POSIX", UCAL_GREGORIAN, &st);
	/* ICU opens an unknown zone as GMT, without an error. */
	if (!window_tz_known(tz))
		return NULL;
	u_uastrncpy(id, tz, WINDOW_TZ_MAX);
	cal = ucal_open(id, -1, "en_US_POSIX", UCAL_GREGORIAN, &st);
	return U_SUCCESS(st) ? cal : NULL;
}

/* Midnight of the local day of cal's time, days on, min minutes later,
 * in UTC ms: ICU settles a time a DST change skips an hour later. */
static int64_t
local_ms(UCalendar *cal, const int ymd[3], int days, int min)
{
	UErrorCode st = U_ZERO_ERROR;

	ucal_setDateTime(cal, ymd[0], ymd[1], ymd[2] + days, min / 60,
	    min % 60, 0, &st);
	ucal_set(cal, UCAL_MILLISECOND, 0);
	return (int64_t)ucal_getMillis(cal, &st);
}

void
window_zone_load(const struct send_window *w, const char *tz,
    int64_t now_ms, struct window_zone *z)
{
	UErrorCode st = U_ZERO_ERROR;
	UCalendar *cal = zone_open(tz);
	int over = w->to <= w->from, k, ymd[3];

	memset(z, 0, sizeof(*z));
	snprintf(z->tz, sizeof(z->tz), "%s", tz);
	if (cal == NULL)
		return;		/* never open: window_tz_known() said no */
	ucal_setMillis(cal, (UDate)now_ms, &st);
	ymd[0] = ucal_get(cal, UCAL_YEAR, &st);
	ymd[1] = ucal_get(cal, UCAL_MONTH, &st);
	ymd[2] = ucal_get(cal, UCAL_DATE, &st);
	/* From yesterday: a window over midnight may have opened then. */
	for (k = -1; k <= WINDOW_DAYS && U_SUCCESS(st); k++) {
		z->open[z->n] = local_ms(cal, ymd, k, w->from);
		z->close[z->n] = local_ms(cal, ymd, k + over, w->to);
		z->n++;
	}
	ucal_close(cal);
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
