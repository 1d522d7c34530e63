/*
 * store.h - the SQLite store: the only module that holds SQL.
 *
 * One struct store wraps one connection to one database file. The schema
 * lives in schema/NNN_*.sql, compiled into the binary; store_open() applies
 * every migration the file lacks (PRAGMA user_version) and refuses a file
 * whose version is newer than this binary knows. The connection runs in WAL
 * mode with foreign keys on and a busy timeout, so the tracking server and
 * bounce ingest can write short transactions while a send runs.
 *
 * Every function returns 0 or -1 with struct err filled (sysexits code and
 * a message naming the list, template, campaign or field). Strings handed
 * to callbacks live until the callback returns. A struct store is not
 * thread-safe: one thread, one store.
 *
 * Keeping every query behind this header is what lets a PostgreSQL backend
 * be added later without touching the callers (DESIGN.md "Past one machine").
 */
#ifndef POSTBOTE_STORE_H
#define POSTBOTE_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"
#include "limits.h"

struct store;
struct addr;

#define STORE_CREATE	0x01	/* create the file if it does not exist */

int store_open(const char *path, int flags, struct store **out,
    struct err *e) WUR;
void store_close(struct store *st);

/* Unix time in milliseconds, the unit of every time in the store. */
int64_t store_now_ms(void);

/* Schema version of the open file, and the newest this binary knows. */
int store_version(struct store *st);
int store_latest_version(void);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. store_rollback() never fails. */
int store_begin(struct store *st, struct err *e) WUR;
int store_commit(struct store *st, struct err *e) WUR;
void store_rollback(struct store *st);

/* Settings: *value is malloc'd, NULL when the key is absent. */
int store_setting_get(struct store *st, const char *key, char **value,
    struct err *e) WUR;
int store_setting_set(struct store *st, const char *key, const char *value,
    struct err *e) WUR;

/*
 * Makes sure setting key holds a secret of nbytes random bytes (OpenSSL's
 * RAND_bytes, hex-encoded); an existing secret is kept. *created tells.
 */
int store_ensure_secret(struct store *st, const char *key, int nbytes,
    int *created, struct err *e) WUR;

/* Names of lists, templates and campaigns: [A-Za-z0-9][A-Za-z0-9._-]*. */
int store_check_name(const char *what, const char *name, struct err *e) WUR;

/* ------------------------------------------------------------------ lists */

struct list_info {
	int64_t id;
	const char *name;
	const char *description;
	int64_t created_at;
	int64_t members;
	int64_t suppressed;	/* members no campaign would reach */
	int64_t domains;
};

typedef int (*store_list_cb)(const struct list_info *li, void *ctx);
typedef int (*store_count_cb)(const char *key, int64_t n, void *ctx);
typedef int (*store_member_cb)(const char *address, const char *attrs,
    void *ctx);

int store_list_create(struct store *st, const char *name, const char *desc,
    int64_t *id, struct err *e) WUR;
/* EX_NOINPUT when no list has that name. */
int store_list_get(struct store *st, const char *name, store_list_cb cb,
    void *ctx, struct err *e) WUR;
int store_list_id(struct store *st, const char *name, int64_t *id,
    struct err *e) WUR;
int store_list_each(struct store *st, store_list_cb cb, void *ctx,
    struct err *e) WUR;
/* Refused (EX_DATAERR) while a campaign uses the list. */
int store_list_rm(struct store *st, const char *name, struct err *e) WUR;
/* The list's members per domain, largest first, at most limit rows. */
int store_list_domains(struct store *st, int64_t list_id, int limit,
    store_count_cb cb, void *ctx, struct err *e) WUR;
int store_list_members(struct store *st, int64_t list_id,
    store_member_cb cb, void *ctx, struct err *e) WUR;

/* ----------------------------------------------------------------- import */

struct store_import;

enum import_outcome {
	IMPORT_ADDED,		/* a new recipient */
	IMPORT_UPDATED,		/* known recipient, attributes changed */
	IMPORT_UNCHANGED,	/* known recipient, nothing new */
	IMPORT_DUPLICATE,	/* seen earlier in this file; merged */
	IMPORT_TOO_LARGE	/* known recipient whose merged attributes
				   would pass LIMIT_ATTRS: nothing written */
};

/*
 * An import is one transaction: begin, a row at a time, finish. The list is
 * created inside it when create_list is set, so a failed import leaves no
 * empty list behind. *joined tells whether the recipient is new to the list;
 * *dup_line names the earlier line for IMPORT_DUPLICATE.
 */
int store_import_begin(struct store *st, const char *list, int create_list,
    struct store_import **out, struct err *e) WUR;
int store_import_row(struct store_import *im, const struct addr *a,
    const char *attrs, int64_t line, enum import_outcome *outcome,
    int *joined, int64_t *dup_line, struct err *e) WUR;
/* Commits when commit is set, rolls back otherwise; frees im either way. */
int store_import_finish(struct store_import *im, int commit,
    struct err *e) WUR;
int store_import_created_list(const struct store_import *im);

/* ----------------------------------------------------------- suppressions */

struct suppression {
	int64_t id;
	const char *kind;	/* "address" or "domain" */
	const char *value;
	const char *list;	/* NULL: every list */
	const char *reason;
	const char *source;
	int64_t created_at;
};

typedef int (*store_suppression_cb)(const struct suppression *s, void *ctx);

/* *added is 0 when the same suppression already existed. */
int store_suppress_add(struct store *st, const char *kind, const char *value,
    const char *list, const char *reason, const char *source, int *added,
    struct err *e) WUR;
int store_suppress_rm(struct store *st, const char *kind, const char *value,
    const char *list, int *removed, struct err *e) WUR;
/* list NULL: every suppression; otherwise those that apply to that list. */
int store_suppress_each(struct store *st, const char *list,
    store_suppression_cb cb, void *ctx, struct err *e) WUR;

/* -------------------------------------------------------------- templates */

struct template_info {
	int64_t id;		/* of the version */
	const char *name;
	int version;
	int versions;		/* how many the template has */
	const char *subject;
	const char *html;
	const char *text;	/* NULL: no text part */
	int64_t created_at;
};

typedef int (*store_template_cb)(const struct template_info *t, void *ctx);

/* A new name gets version 1, an existing one its next version. */
int store_template_add(struct store *st, const char *name,
    const char *subject, const char *html, const char *text, int *version,
    struct err *e) WUR;
/* version 0: the newest. EX_NOINPUT when absent. */
int store_template_get(struct store *st, const char *name, int version,
    store_template_cb cb, void *ctx, struct err *e) WUR;
/* Newest version of every template; html and text are NULL here. */
int store_template_each(struct store *st, store_template_cb cb, void *ctx,
    struct err *e) WUR;

/* -------------------------------------------------------------- campaigns */

struct campaign_info {
	int64_t id;
	const char *name;
	int64_t list_id;
	const char *list;
	const char *segment;	/* NULL: the whole list */
	const char *template_name;
	int template_version;
	const char *from_name;
	const char *from_addr;
	const char *reply_to;	/* NULL: none */
	const char *status;
	int64_t scheduled_at;	/* 0: unset, likewise below */
	int64_t started_at;
	int64_t finished_at;
	int64_t created_at;
	const char *paused_reason;	/* the guard's; NULL: none */
	const char *follow_up_of;	/* the parent's name; NULL: none */
	const char *follow_up_audience;	/* "not-opened", ... */
	int64_t follow_up_after;	/* ms after the parent finished */
	int64_t follow_up_due;		/* 0: the parent has not finished */
	int ab_share;			/* 0: no A/B test */
	int64_t ab_wait;
	const char *ab_metric;
	int ab_winner;			/* -1: not decided */
	int64_t ab_decided_at;
};

struct campaign_spec {
	const char *name;
	const char *list;
	const char *template_name;
	const char *segment;	/* NULL or "": the whole list */
	const char *from_name;
	const char *from_addr;
	const char *reply_to;
	int64_t scheduled_at;	/* 0: a draft */
	const char *options;	/* JSON, see campaign_options_parse() */
	/* A follow-up (scheduled_at 0): due follow_up_after ms after the
	 * parent finished, to those of its delivered recipients the
	 * audience names, chosen when it starts. */
	const char *follow_up_of;	/* the parent's name; NULL: none */
	const char *follow_up_audience;	/* opened, not-opened, clicked,
					   not-clicked */
	int64_t follow_up_after;
	/* An A/B test: variants beyond the campaign's own template (1 to
	 * 3), sent to ab_share percent of the audience, split evenly; the
	 * winner by ab_metric goes to the rest ab_wait ms after. */
	const struct campaign_variant_spec *variants;
	int nvariants;
	int ab_share;
	int64_t ab_wait;
	const char *ab_metric;		/* "opens" or "clicks" */
};

struct campaign_variant_spec {
	const char *template_name;	/* NULL: the campaign's */
	const char *subject;		/* NULL: the template's */
};

/* Who a list and segment reach right now. */
struct audience {
	int64_t members;	/* on the list */
	int64_t matching;	/* ... and matching the segment */
	int64_t suppressed;	/* ... of those, suppressed */
	int64_t eligible;	/* matching and not suppressed */
};

typedef int (*store_campaign_cb)(const struct campaign_info *c, void *ctx);

int store_campaign_create(struct store *st, const struct campaign_spec *spec,
    struct audience *aud, struct err *e) WUR;
int store_campaign_get(struct store *st, const char *name,
    store_campaign_cb cb, void *ctx, struct err *e) WUR;
int store_campaign_each(struct store *st, store_campaign_cb cb, void *ctx,
    struct err *e) WUR;
/* Applies a campaign_transition() action; at is for "schedule". */
int store_campaign_action(struct store *st, const char *name,
    const char *action, int64_t at, const char **status, struct err *e) WUR;
/*
 * Counts the audience the segment selects from the list now. The segment
 * is compiled by segment.c and evaluated under the segment guard.
 */
int store_audience_count(struct store *st, int64_t list_id,
    const char *segment, struct audience *aud, struct err *e) WUR;
/* The same for a campaign not started yet: a follow-up's audience is
 * those its parent's recipients who did what it asks, so far. */
int store_campaign_audience(struct store *st, const struct campaign_info *ci,
    struct audience *aud, struct err *e) WUR;
/*
 * Starts a draft or scheduled campaign: status running, and its audience
 * resolved into one pending delivery per eligible recipient, in one
 * transaction. *created is the number of deliveries.
 */
int store_campaign_start(struct store *st, const char *name,
    int64_t *created, struct err *e) WUR;
/* The same, recording the campaign's tracked links (see
 * store_campaign_links()) in that transaction: a refused start leaves
 * none behind. */
int store_campaign_start_links(struct store *st, const char *name,
    const char *const *urls, int nurls, int64_t *created,
    struct err *e) WUR;
/* ------------------------------------------------------------ A/B tests */

struct campaign_variant {
	int variant;			/* 0: the campaign's own template */
	const char *template_name;
	int template_version;
	const char *subject;		/* NULL: the template's */
};
typedef int (*store_variant_cb)(const struct campaign_variant *v,
    void *ctx);
/* A campaign's variants in order; none for a campaign without a test. */
int store_campaign_variants(struct store *st, int64_t campaign_id,
    store_variant_cb cb, void *ctx, struct err *e) WUR;

#define AB_MAX	4

struct ab_state {
	int nvariants;			/* 0: no test */
	int64_t wait;
	char metric[8];
	int winner;			/* -1: not decided */
	int64_t test_left;		/* test deliveries pending or sending */
	int64_t test_done_at;		/* the last one settled, Unix ms */
	int64_t held;			/* deliveries waiting for the winner */
	/* Per variant: deliveries, delivered, and recipients a person
	 * opened (or clicked: a click is an open too) or clicked it. */
	int64_t sent[AB_MAX], delivered[AB_MAX], opened[AB_MAX],
	    clicked[AB_MAX];
};
int store_ab_state(struct store *st, int64_t campaign_id, struct ab_state *s,
    struct err *e) WUR;
/* Sets the winner and hands it the held deliveries, in one transaction;
 * EX_TEMPFAIL when another run decided first. */
int store_ab_decide(struct store *st, int64_t campaign_id, int winner,
    struct err *e) WUR;

/* What rendering needs of a campaign: itself and its pinned template. */
struct campaign_render {
	int64_t id;
	int64_t list_id;
	const char *name;
	const char *status;
	const char *from_name;
	const char *from_addr;
	const char *reply_to;
	const char *options;
	const char *template_name;
	int template_version;
	const char *subject;
	const char *html;
	const char *text;
};

typedef int (*store_render_cb)(const struct campaign_render *cr, void *ctx);

int store_campaign_render(struct store *st, const char *name,
    store_render_cb cb, void *ctx, struct err *e) WUR;
/*
 * Records the targets of a campaign's tracked links; urls[i] NULL for an
 * index that is not tracked. An index already recorded keeps its URL: a
 * campaign's links never change under the tokens already sent.
 */
int store_campaign_links(struct store *st, int64_t campaign_id,
    const char *const *urls, int n, struct err *e) WUR;

/* A recipient by address (matched on its identity key). EX_NOINPUT. */
typedef int (*store_recipient_cb)(int64_t id, const char *address,
    const char *attrs, void *ctx);
int store_recipient_get(struct store *st, const char *key,
    store_recipient_cb cb, void *ctx, struct err *e) WUR;
/* How many members of a list have the attribute at a JSON path. */
int store_list_attr_count(struct store *st, int64_t list_id,
    const char *json_path, int64_t *n, struct err *e) WUR;

/* Deliveries of a campaign per status. */
int store_delivery_counts(struct store *st, int64_t campaign_id,
    store_count_cb cb, void *ctx, struct err *e) WUR;

/* ------------------------------------------------------------ sending */

/* Deliveries a run left 'sending' (it died) back to 'pending'. */
int store_send_reclaim(struct store *st, int64_t campaign_id, int64_t *n,
    struct err *e) WUR;

/*
 * The next domain after `after` ("" at the start) in key order that has
 * due work: pending deliveries, or deferred ones whose next attempt has
 * come. *found is 0 when there is none.
 */
int store_send_next_domain(struct store *st, int64_t campaign_id,
    const char *after, char *out, size_t n, int *found, struct err *e) WUR;

struct store_claimed {
	const char *domain;
	int64_t recipient_id;
	const char *address;
	const char *attrs;		/* a JSON object */
	size_t attrs_len;
	int64_t first_attempt_at;	/* now, on a first attempt */
	int attempts;			/* made before this one */
	int suppressed;			/* suppressed since the start */
	int variant;			/* an A/B test's; 0 without one */
};

typedef int (*store_claim_cb)(const struct store_claimed *c, void *ctx);

/*
 * Marks up to limit due deliveries of one domain with recipient ids after
 * *after as 'sending' (their first attempt now, unless they had one),
 * hands each to cb in id order and moves *after past them; *n is 0 when
 * the domain has no more. One transaction.
 */
int store_send_claim(struct store *st, int64_t campaign_id,
    const char *domain, int64_t *after, int limit, store_claim_cb cb,
    void *ctx, int *n, struct err *e) WUR;

/*
 * A send window for the claims that follow (NULL: none): a delivery is
 * claimed only while the window is open in its recipient's time zone
 * (attribute "timezone", one of zones, sorted by name), else the
 * campaign's (dflt). The rest stay pending for a later run. w must
 * outlive the claims.
 */
struct window_zone;
struct store_window {
	const struct window_zone *zones;
	int n;
	const struct window_zone *dflt;
};
int store_send_window(struct store *st, const struct store_window *w,
    struct err *e) WUR;
/* The "timezone" attributes of a campaign's due deliveries, each once,
 * for the zones to load. */
typedef int (*store_tz_cb)(const char *tz, void *ctx);
int store_send_zones(struct store *st, int64_t campaign_id, store_tz_cb cb,
    void *ctx, struct err *e) WUR;

struct store_outcome {
	const char *domain;
	int64_t recipient_id;
	const char *status;	/* delivered, deferred, bounced, failed,
				   suppressed, or pending: handed back
				   untried */
	const char *reply;
	const char *dsn;
	const char *relay;
	int64_t next_attempt_at;	/* deferred: when it is due again */
	const char *bounce_class;	/* bounced: hard, soft, policy or
					   unknown (bounce.h) */
};

struct feedback_policy;

/*
 * Records n outcomes and their events in one transaction, with what the
 * feedback policy p makes of them (see store_feedback()): the campaign's
 * counters, the suppressions bounces earn, the guard's pause. p NULL:
 * outcomes only.
 */
int store_send_record(struct store *st, int64_t campaign_id,
    const struct feedback_policy *p, const struct store_outcome *o, int n,
    struct err *e) WUR;

/* Deliveries not yet final: pending, sending or deferred. */
int store_send_left(struct store *st, int64_t campaign_id, int64_t *left,
    struct err *e) WUR;

/*
 * The send lease: taken (or renewed) for ttl_ms by owner, unless another
 * owner's lease has not lapsed: then EX_TEMPFAIL naming the holder, who
 * is also copied to holder.
 */
int store_send_lease(struct store *st, int64_t campaign_id, const char *owner,
    int64_t ttl_ms, char *holder, size_t n, struct err *e) WUR;
int store_send_unlease(struct store *st, int64_t campaign_id,
    const char *owner, struct err *e) WUR;
/* The campaign's status now ("" when it is gone), and why it paused
   itself when the feedback guard paused it ("" otherwise). */
int store_campaign_status(struct store *st, int64_t campaign_id, char *out,
    size_t n, char *reason, size_t rn, struct err *e) WUR;

/*
 * Campaigns with work due now, oldest first: scheduled ones whose time
 * has come, and running ones with pending deliveries or deferred ones
 * due again. What `send --due` (the cron entry) sends.
 */
typedef int (*store_name_cb)(const char *name, void *ctx);
int store_campaigns_due(struct store *st, store_name_cb cb, void *ctx,
    struct err *e) WUR;

/* The lease holder's report (JSON), for `postbote status`. */
int store_send_state(struct store *st, int64_t campaign_id,
    const char *owner, const char *json, struct err *e) WUR;

struct store_live {
	int64_t id;
	const char *status;
	const char *owner;	/* NULL: no send holds it */
	int64_t lease_until;
	const char *state;	/* the last report; NULL: none */
};

typedef int (*store_live_cb)(const struct store_live *v, void *ctx);
int store_send_live(struct store *st, const char *name, store_live_cb cb,
    void *ctx, struct err *e) WUR;

/* The work a send would take up now, per domain, largest first. */
int store_send_plan(struct store *st, int64_t campaign_id, int limit,
    store_count_cb cb, void *ctx, struct err *e) WUR;

/* Messages handed to a provider on a UTC day (days since 1970). */
int store_volume_add(struct store *st, const char *provider, int64_t day,
    int64_t n, struct err *e) WUR;
int store_volume_get(struct store *st, const char *provider, int64_t day,
    int64_t *n, struct err *e) WUR;

/* --------------------------------------------------------------- feedback */

/*
 * What happened to a message after it left: the tracking server's opens,
 * clicks and unsubscribes, and what `bounce ingest` reads from inbound
 * mail. Each names its delivery by (campaign, recipient), as the signed
 * tokens do.
 */
enum feedback_kind {
	FEEDBACK_OPEN,
	FEEDBACK_CLICK,
	FEEDBACK_UNSUBSCRIBE,
	FEEDBACK_BOUNCE,	/* a failed DSN or a non-standard bounce */
	FEEDBACK_DELAYED,	/* a "delayed" DSN: recorded, changes nothing */
	FEEDBACK_COMPLAINT,	/* an ARF abuse report */
	FEEDBACK_REPLY,
	FEEDBACK_AUTO_REPLY
};

/* config.h's "feedback" section, as the store needs it. */
struct feedback_policy {
	int soft_bounce_limit;	/* consecutive soft bounces that suppress */
	int unsubscribe_global;	/* an unsubscribe covers every list */
	double complaint_pause;	/* complaint rate that pauses the campaign */
	double complaint_warn;
	double bounce_pause;	/* hard-bounce rate that pauses it */
	int64_t min_volume;	/* rates are judged from this many sent */
};

struct feedback {
	enum feedback_kind kind;
	int64_t campaign_id;
	int64_t recipient_id;
	int64_t at;		/* Unix ms; 0: now */
	int link;		/* FEEDBACK_CLICK: the link's index */
	int machine;		/* an open or click by a machine */
	const char *bounce_class;	/* FEEDBACK_BOUNCE: hard, soft, policy */
	const char *dsn;	/* enhanced status code, or NULL */
	const char *text;	/* diagnostic or reason, or NULL */
	/*
	 * Names this piece of feedback (an inbound message's Message-ID or
	 * digest): the same key for the same delivery and kind records
	 * nothing twice. NULL: no such check (opens and clicks). An
	 * unsubscribe is recorded once per delivery whatever the key.
	 */
	const char *key;
	const char *detail;	/* more JSON members for the event: an
				   object's text, or NULL */
};

struct feedback_result {
	int recorded;		/* 0: a duplicate, nothing changed */
	int suppressed;		/* a suppression was added */
	int64_t event_id;
	/* The guard: set when this feedback pushed the campaign's rate
	   past a threshold; paused when the campaign was paused for it. */
	int paused;
	char warning[256];	/* "" or why, e.g. "complaint rate 0.12 %..." */
};

/*
 * Records one piece of feedback in one short transaction: the event
 * (and with it its webhook calls), the delivery's new status for a
 * bounce, the suppression the policy asks for, the campaign counters,
 * and the guard's pause. EX_NOINPUT when the delivery does not exist
 * (a valid token of a deleted campaign).
 */
int store_feedback(struct store *st, const struct feedback_policy *p,
    const struct feedback *f, struct feedback_result *res,
    struct err *e) WUR;

struct feedback_target {
	int64_t campaign_id;
	int64_t recipient_id;
	char campaign[128];
	char list[128];
	char address[LIMIT_ADDR + 1];
	char status[16];	/* the delivery's */
	int64_t done_at;	/* when it was delivered; 0: not yet */
};

/* The delivery a token names; EX_NOINPUT when there is none. */
int store_feedback_target(struct store *st, int64_t campaign_id,
    int64_t recipient_id, struct feedback_target *t, struct err *e) WUR;

/* The URL of a campaign's tracked link; EX_NOINPUT when there is none. */
int store_link_url(struct store *st, int64_t campaign_id, int link,
    char **url, struct err *e) WUR;

/* Keeps an inbound message nobody could classify (at most 64 KiB). */
int store_inbound_review(struct store *st, int64_t campaign_id,
    int64_t recipient_id, const char *reason, const void *msg, size_t len,
    struct err *e) WUR;

/* --------------------------------------------------------------- webhooks */

/* Replaces the webhooks table with the config's; outbox rows of a
   webhook no longer configured go dead. */
struct config;
int store_webhooks_sync(struct store *st, const struct config *cfg,
    struct err *e) WUR;

/* --------------------------------------------------------- webhook outbox */

/* One call the outbox holds, with the event its payload describes. */
struct store_webhook_call {
	int64_t id;		/* the outbox row's: X-Postbote-Id */
	const char *webhook;
	int attempts;		/* made before this one */
	int64_t event_id;
	const char *type;
	int64_t at;		/* the event's, Unix ms */
	int machine;
	const char *detail;	/* the event's JSON object */
	const char *campaign;	/* NULL: the event names none */
	const char *recipient;	/* the address; NULL likewise */
};

typedef int (*store_webhook_cb)(const struct store_webhook_call *c,
    void *ctx);

/*
 * Claims up to limit pending calls due by now, soonest first: hands each
 * to cb and sets its next attempt to until, so that no other flusher
 * (another process's) takes it meanwhile and one that dies leaves it due
 * again then. *n is 0 when none is due. One transaction.
 */
int store_webhook_claim(struct store *st, int64_t now, int limit,
    int64_t until, store_webhook_cb cb, void *ctx, int *n,
    struct err *e) WUR;

struct store_webhook_outcome {
	int64_t id;
	const char *status;	/* sent, dead, or pending: again at
				   next_attempt_at */
	int tried;		/* 0: handed back untried, attempts kept */
	const char *error;	/* NULL: none (sent) */
	int64_t next_attempt_at;
};

/* Records n outcomes in one transaction. A call no longer pending (the
   sync dead-lettered it meanwhile) stays as it is. */
int store_webhook_record(struct store *st,
    const struct store_webhook_outcome *o, int n, struct err *e) WUR;

struct webhook_info {
	const char *name;
	const char *url;	/* NULL: no longer configured, only calls */
	const char *events;	/* a JSON array; NULL likewise */
	int64_t pending;
	int64_t retrying;	/* of the pending, those that failed before */
	int64_t sent;
	int64_t dead;
	int64_t next_at;	/* the soonest pending call; 0: none */
	const char *last_error;	/* of the latest failed pending call */
};

typedef int (*store_webhook_info_cb)(const struct webhook_info *w,
    void *ctx);

/* The webhooks table and every webhook the outbox names, by name. */
int store_webhook_each(struct store *st, store_webhook_info_cb cb,
    void *ctx, struct err *e) WUR;

/* ----------------------------------------------------------------- report */

/* What report.c reads; store_report.c. Times are Unix ms, 0: none. */
struct report_counts {
	int64_t recipients, delivered, deferred, pending, failed, suppressed;
	int64_t bounced, hard, soft, policy;
	int64_t duplicated;		/* reclaimed deliveries */
	int64_t first_attempt, last_done;
};

struct report_event_count {
	int64_t total, unique, total_human, unique_human, unique_machine;
	int64_t last_at;
};

struct report_events {
	struct report_event_count opens, clicks, unsubscribes, complaints,
	    replies, auto_replies;
};

struct report_domain {
	const char *domain;
	int64_t recipients, delivered, deferred, bounced, throttled;
	const char *relay;	/* "host[address]:port" of an event, or "" */
};

typedef int (*store_report_link_cb)(int idx, const char *url,
    int64_t unique, int64_t total, int64_t unique_human, void *ctx);
typedef int (*store_report_domain_cb)(const struct report_domain *d,
    void *ctx);
/* class or status, dsn (NULL: none), reply, count */
typedef int (*store_report_reply_cb)(const char *kind, const char *dsn,
    const char *reply, int64_t n, void *ctx);
typedef int (*store_report_series_cb)(int64_t bucket, const char *type,
    int64_t n, void *ctx);

int store_report_counts(struct store *st, int64_t campaign_id,
    struct report_counts *c, struct err *e) WUR;
int store_report_events(struct store *st, int64_t campaign_id,
    struct report_events *ev, struct err *e) WUR;
int store_report_delivery_time(struct store *st, int64_t campaign_id,
    int64_t started_at, int64_t k, int64_t *ms, struct err *e) WUR;
int store_report_links(struct store *st, int64_t campaign_id,
    store_report_link_cb cb, void *ctx, struct err *e) WUR;
int store_report_domains(struct store *st, int64_t campaign_id,
    char *const *patterns, size_t npatterns, store_report_domain_cb cb,
    void *ctx, struct err *e) WUR;
int store_report_domain_replies(struct store *st, int64_t campaign_id,
    const char *domain, int limit, store_report_reply_cb cb, void *ctx,
    struct err *e) WUR;
int store_report_bounces(struct store *st, int64_t campaign_id,
    store_report_reply_cb cb, void *ctx, struct err *e) WUR;
int store_report_series(struct store *st, int64_t campaign_id,
    int64_t start_ms, int64_t bucket_ms, store_report_series_cb cb,
    void *ctx, struct err *e) WUR;
int store_report_last_event(struct store *st, int64_t campaign_id,
    int64_t *at, struct err *e) WUR;

/* ---------------------------------------------------------------- hygiene */

/*
 * What hygiene.c reads (store_hyg.c), over every recipient or one list's
 * members. Each call is one short statement; the statements are prepared
 * once per run. Duplicates are found through a TEMP table of the run's
 * own (the identity each kept address stands for), so memory stays flat.
 */
struct store_hyg;

struct store_hyg_row {
	int64_t id;
	const char *address;
	const char *address_key;
	const char *domain;
	const char *lists;		/* list names joined by ';'; "" none */
	int has_events;			/* any event: ask for its history */
	int unsub_suppressed;		/* an unsubscribe suppression */
	int suppressed;			/* a global address suppression */
};

struct store_hyg_history {
	int hard;			/* a delivery with bounce_class hard */
	int64_t soft_campaigns;		/* campaigns with a soft bounce */
	int complained;
	int unsubscribed;		/* an unsubscribed event */
	int64_t delivered_campaigns;	/* campaigns with a delivered event */
	int engaged_recent;		/* a human open or click in one of the
					   last N campaigns delivered */
	int64_t first_delivered;	/* 0: never */
	int64_t last_delivered;
	int64_t last_human;		/* last human open or click; 0: none */
};

typedef int (*store_hyg_row_cb)(const struct store_hyg_row *r, void *ctx);

/* list NULL: every recipient. recent: N of engaged_recent. */
int store_hyg_open(struct store *st, const char *list, int recent,
    struct store_hyg **out, struct err *e) WUR;
void store_hyg_close(struct store_hyg *h);
/* Distinct domains after the cursor ("" first), in order, at most limit. */
int store_hyg_domains(struct store_hyg *h, const char *after, int limit,
    store_name_cb cb, void *ctx, int *n, struct err *e) WUR;
/* Recipients with id > after, by id, at most limit. */
int store_hyg_page(struct store_hyg *h, int64_t after, int limit,
    store_hyg_row_cb cb, void *ctx, int *n, struct err *e) WUR;
int store_hyg_history(struct store_hyg *h, int64_t id, const char *domain,
    struct store_hyg_history *out, struct err *e) WUR;
/*
 * Duplicates. store_hyg_dup_get: the address kept for identity norm,
 * *id 0 when none yet. store_hyg_dup_put records it. store_hyg_key_before:
 * the recipient in scope with that exact key and an id below before.
 */
int store_hyg_dup_get(struct store_hyg *h, const char *norm, int64_t *id,
    char *addr, size_t n, struct err *e) WUR;
int store_hyg_dup_put(struct store_hyg *h, const char *norm, int64_t id,
    const char *addr, struct err *e) WUR;
int store_hyg_key_before(struct store_hyg *h, const char *key,
    int64_t before, int64_t *id, char *addr, size_t n, struct err *e) WUR;
/* Suppressions, in the caller's store_begin() transaction: a global
   address suppression of source "hygiene"; *added 0 when one existed. */
int store_hyg_suppress(struct store_hyg *h, const char *key,
    const char *reason, int *added, struct err *e) WUR;

#endif
