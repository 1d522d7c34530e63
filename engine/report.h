/*
 * report.h - a campaign's report: every figure computed from the store
 * into one JSON object (jansson), which the text, CSV and HTML renderers
 * read. The JSON is the model, so the formats cannot disagree.
 *
 * The object (times ISO 8601 UTC with milliseconds, or null; rates are
 * fractions 0..1, or null when their denominator is 0):
 *
 * { "campaign": NAME, "list": L, "segment": S|null, "template": T,
 *   "template_version": N, "from": ADDR, "status": STATUS,
 *   "paused_reason": TEXT|null, "generated_at": TIME,
 *   "times": { "created", "started", "finished", "first_attempt",
 *              "last_done": TIME|null, "duration_s": SECONDS|null,
 *              "throughput_per_s": RATE|null,
 *              "time_to_delivery_s": { "median", "p95": SECONDS|null } },
 *       the median the lower middle value for an even count, p95 by
 *       nearest rank;
 *   "counts": {
 *     "recipients": deliveries in the audience,
 *     "sent": delivered + bounced (a final SMTP answer or a DSN),
 *     "delivered", "deferred_now", "pending_now", "failed", "suppressed",
 *     "bounced": { "total", "hard", "soft", "policy", "unknown" },
 *     "opens":  { "unique", "total", "unique_human", "total_human",
 *                 "unique_machine", "total_machine" }, a recipient
 *                 with both a human and a machine open counted in each,
 *                 once in "unique",
 *     "clicks": { same six },
 *     "unsubscribes", "complaints", "replies", "auto_replies",
 *     "possibly_duplicated": deliveries a crashed run may have sent twice },
 *   "rates": { "delivery" (delivered / sent), "bounce" (bounced / sent),
 *              "hard_bounce", "open" (unique human opens / delivered),
 *              "click" (unique human clicks / delivered),
 *              "click_to_open" (unique human clicks / unique human opens),
 *              "unsubscribe", "complaint", "reply" (each / delivered) },
 *   "links": [ { "index", "url", "clicks_unique", "clicks_total",
 *                "clicks_unique_human" } ],
 *   "domains": [ { "domain", "provider": NAME|null, "recipients",
 *                  "delivered", "deferred", "bounced", "throttled",
 *                  "top_replies": [ { "reply", "count" } ] } ],
 *       the REPORT_DOMAINS largest, by recipients;
 *   "providers": [ { "provider": NAME ("other" for none), "domains",
 *                    "recipients", "delivered", "deferred", "bounced",
 *                    "throttled" } ],
 *   "bounce_reasons": [ { "class", "dsn": CODE|null, "reply", "count" } ],
 *       the REPORT_REASONS most frequent;
 *   "series": { "start": TIME, "bucket_s": SECONDS,
 *               "delivered": [N...], "bounced": [N...],
 *               "deferred": [N...], "opens": [N...] (human),
 *               "clicks": [N...] (human) },
 *   "ab_test": { "share": PERCENT, "metric": "opens"|"clicks",
 *                "wait_s", "winner": "A".."D"|null, "held" } | null,
 *   "variants": [ { "variant": "A".., "template", "template_version",
 *                   "subject": TEXT|null, "sent", "delivered",
 *                   "opens_unique_human", "clicks_unique_human",
 *                   "open_rate", "click_rate", "winner": BOOL } ] }
 *       the test share's figures per variant, empty without a test;
 *       at most REPORT_BUCKETS buckets from the first attempt to the
 *       last event; empty arrays before the campaign started.
 *
 * "throttled" counts deferrals whose reply is a 421 or matches
 * shaping.throttle_patterns. A domain's provider is the shaping provider
 * its relay host (from the delivery events) matches. Reports read with
 * short statements and no transaction held, so a send in another
 * process goes on.
 */
#ifndef POSTBOTE_REPORT_H
#define POSTBOTE_REPORT_H

#include <jansson.h>
#include <stdio.h>
#include "err.h"

struct store;
struct config;

#define REPORT_DOMAINS	20
#define REPORT_REASONS	10
#define REPORT_BUCKETS	48
#define REPORT_TOP_REPLIES	3

/* The report of one campaign; EX_NOINPUT when there is none. */
int report_build(struct store *st, const struct config *cfg,
    const char *campaign, json_t **out, struct err *e) WUR;

/*
 * Renderers. reports is an array of report objects: one for a report,
 * several side by side for --compare. Each returns -1 with EX_IOERR when
 * writing fails.
 */
int report_text(json_t *reports, FILE *fp, struct err *e) WUR;
int report_csv(json_t *reports, FILE *fp, struct err *e) WUR;
/* One self-contained file: inline CSS and SVG, no script, nothing from
   elsewhere (report_html.c). */
int report_html(json_t *reports, FILE *fp, struct err *e) WUR;

#endif
