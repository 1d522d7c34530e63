/*
 * campaign.h - the campaign life cycle.
 *
 *   draft --schedule--> scheduled --start--> running --finish--> done
 *     \______________start_______________/     |  ^
 *   scheduled|running --pause--> paused --resume-'  (or back to scheduled
 *                                                    when it never started)
 *   any state but done --cancel--> cancelled
 *
 * Pure functions, thread-safe; the store applies the result under a
 * "WHERE status = <from>" guard so two processes cannot both win.
 */
#ifndef POSTBOTE_CAMPAIGN_H
#define POSTBOTE_CAMPAIGN_H

#include <jansson.h>
#include <stdint.h>
#include "err.h"
#include "limits.h"
#include "mime.h"
#include "window.h"

/*
 * The state an action leads to from status; started tells whether the
 * campaign has ever started sending. EX_DATAERR when the action is not
 * allowed from status, EX_USAGE for an unknown action.
 */
int campaign_transition(const char *status, const char *action, int started,
    const char **to, struct err *e) WUR;

/*
 * Parses a schedule time: "now", "+30m"/"+2h"/"+1d", "YYYY-MM-DD HH:MM[:SS]"
 * or "YYYY-MM-DDTHH:MM[:SS]" in local time, with a trailing "Z" or
 * "+HH:MM"/"-HH:MM" for an explicit offset. *ms is Unix time in ms.
 */
int campaign_parse_time(const char *s, int64_t now_ms, int64_t *ms,
    struct err *e) WUR;

/*
 * A campaign's message options, stored as JSON in campaigns.options:
 *
 *   { "variables": "strict", "headers": [["X-Campaign", "nov"]],
 *     "list_id": "News <news.example.com>", "feedback_id": "nov:acme",
 *     "window": { "hours": "08:00-20:00", "timezone": "Europe/Berlin" } }
 *
 * campaign_options_parse() checks every value (headers with
 * mime_check_header(), the rest as header text) and fills o, whose
 * strings live in o->json until campaign_options_free().
 */
struct campaign_options {
	int strict;
	const char *list_id;		/* NULL: none */
	const char *feedback_id;	/* NULL: none */
	struct mime_header headers[LIMIT_HEADERS];
	int nheaders;
	int has_window;			/* a send window, in window */
	struct send_window window;
	json_t *json;
};

/*
 * An A/B test's winner among n variants: the most got[v] (recipients a
 * person opened or clicked it) per delivered[v] message, a tie going to
 * the earlier variant. A variant nothing reached has no rate and wins
 * only when none has one.
 */
int campaign_ab_pick(const int64_t *got, const int64_t *delivered, int n);

int campaign_options_parse(const char *text, struct campaign_options *o,
    struct err *e) WUR;
void campaign_options_free(struct campaign_options *o);

#endif
