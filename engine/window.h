/*
 * window.h - send windows: the hours of the day, in the recipient's time
 * zone, when a campaign may deliver ("08:00-20:00"; "22:00-06:00" runs
 * over midnight).
 *
 * Time zones are ICU's (its calendar, with the IANA tz data it carries):
 * the C library knows a zone only as the process's TZ, which cannot
 * change while other threads (the webhook sender, libcurl) read the
 * environment. A loaded zone is a list of open intervals in UTC over the
 * coming days, with DST changes in them, and is read without locks.
 */
#ifndef POSTBOTE_WINDOW_H
#define POSTBOTE_WINDOW_H

#include <stdint.h>
#include "err.h"

#define WINDOW_DAYS	8	/* days ahead a loaded zone covers */
#define WINDOW_TZ_MAX	64	/* "America/Argentina/ComodRivadavia" */

struct send_window {
	int from;			/* minutes after local midnight */
	int to;				/* ... before from: over midnight */
	char tz[WINDOW_TZ_MAX];		/* the campaign's zone; "": local */
};

/* "HH:MM-HH:MM", the two different; EX_USAGE naming what is wrong. */
int window_parse(const char *spec, struct send_window *w, struct err *e) WUR;

/* An IANA zone name ICU knows ("Europe/Berlin", "UTC"), not an alias
 * of its own making nor a custom "GMT+3". */
int window_tz_known(const char *tz);

struct window_zone {
	char tz[WINDOW_TZ_MAX];
	int n;
	int64_t open[WINDOW_DAYS + 2];	/* [open[i], close[i]), UTC ms */
	int64_t close[WINDOW_DAYS + 2];
};

/* The window's open times in zone tz ("": the machine's) from the day
 * before now_ms on; an unknown tz is never open. */
void window_zone_load(const struct send_window *w, const char *tz,
    int64_t now_ms, struct window_zone *z);

/* Whether the window is open at t; *next (may be NULL) the next time it
 * opens or closes, 0 past the loaded days. */
int window_is_open(const struct window_zone *z, int64_t t, int64_t *next);

#endif
