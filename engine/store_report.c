/*
 * store_report.c - the queries behind a campaign's report (report.c
 * turns their rows into the report). Each is one statement in autocommit:
 * a WAL reader holds no lock a sending process waits for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "store_int.h"
#include "xalloc.h"

int
store_report_counts(struct store *st, int64_t campaign_id,
    struct report_counts *c, struct err *e)
{
	sqlite3_stmt *stmt;
	int rc;

	memset(c, 0, sizeof(*c));
	if (store_prepare(st, "SELECT count(*), "
	    "sum(status = 'delivered'), sum(status = 'deferred'), "
	    "sum(status IN ('pending', 'sending')), sum(status = 'failed'), "
	    "sum(status = 'suppressed'), sum(status = 'bounced'), "
	    "sum(status = 'bounced' AND bounce_class = 'hard'), "
	    "sum(status = 'bounced' AND bounce_class = 'soft'), "
	    "sum(status = 'bounced' AND bounce_class = 'policy'), "
	    "sum(reclaimed > 0), min(first_attempt_at), max(done_at) "
	    "FROM deliveries WHERE campaign_id = ?1", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		c->recipients = sqlite3_column_int64(stmt, 0);
		c->delivered = sqlite3_column_int64(stmt, 1);
		c->deferred = sqlite3_column_int64(stmt, 2);
		c->pending = sqlite3_column_int64(stmt, 3);
		c->failed = sqlite3_column_int64(stmt, 4);
		c->suppressed = sqlite3_column_int64(stmt, 5);
		c->bounced = sqlite3_column_int64(stmt, 6);
		c->hard = sqlite3_column_int64(stmt, 7);
		c->soft = sqlite3_column_int64(stmt, 8);
		c->policy = sqlite3_column_int64(stmt, 9);
		c->duplicated = sqlite3_column_int64(stmt, 10);
		c->first_attempt = sqlite3_column_int64(stmt, 11);
		c->last_done = sqlite3_column_int64(stmt, 12);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW)
		return store_sqlerr(st, e, "counting deliveries");
	return 0;
}

static int
event_row(sqlite3_stmt *stmt, void *arg)
{
	struct report_events *ev = arg;
	const char *type = store_col_text(stmt, 0);
	struct report_event_count *k = NULL;

	if (strcmp(type, "opened") == 0)
		k = &ev->opens;
	else if (strcmp(type, "clicked") == 0)
		k = &ev->clicks;
	else if (strcmp(type, "unsubscribed") == 0)
		k = &ev->unsubscribes;
	else if (strcmp(type, "complained") == 0)
		k = &ev->complaints;
	else if (strcmp(type, "replied") == 0)
		k = &ev->replies;
	else if (strcmp(type, "auto_replied") == 0)
		k = &ev->auto_replies;
	if (k == NULL)
		return 0;
	k->total = sqlite3_column_int64(stmt, 1);
	k->unique = sqlite3_column_int64(stmt, 2);
	k->total_human = sqlite3_column_int64(stmt, 3);
	k->unique_human = sqlite3_column_int64(stmt, 4);
	k->last_at = sqlite3_column_int64(stmt, 5);
	k->unique_machine = sqlite3_column_int64(stmt, 6);
	return 0;
}

/* Human ones apart: what a machine opened or clicked says nothing about
   a reader. */
int
store_report_events(struct store *st, int64_t campaign_id,
    struct report_events *ev, struct err *e)
{
	sqlite3_stmt *stmt;

	memset(ev, 0, sizeof(*ev));
	if (store_prepare(st, "SELECT type, count(*), "
	    "count(DISTINCT recipient_id), sum(machine = 0), "
	    "count(DISTINCT CASE WHEN machine = 0 THEN recipient_id END), "
	    "max(at), count(DISTINCT CASE WHEN machine = 1 THEN "
	    "recipient_id END) FROM events WHERE campaign_id = ?1 AND type IN "
	    "('opened', 'clicked', 'unsubscribed', 'complained', 'replied', "
	    "'auto_replied') GROUP BY type", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	return store_rows(st, stmt, event_row, ev, "counting events", NULL, e);
}

/*
 * The delivery time of the k-th fastest delivery (0-based): the time
 * from the campaign's start to its delivery.
 */
int
store_report_delivery_time(struct store *st, int64_t campaign_id,
    int64_t started_at, int64_t k, int64_t *ms, struct err *e)
{
	sqlite3_stmt *stmt;

	if (store_prepare(st, "SELECT done_at - ?2 FROM deliveries WHERE "
	    "campaign_id = ?1 AND status = 'delivered' ORDER BY 1 "
	    "LIMIT 1 OFFSET ?3", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	sqlite3_bind_int64(stmt, 2, started_at);
	sqlite3_bind_int64(stmt, 3, k);
	return store_scalar(st, stmt, ms, e);
}

struct link_rows {
	store_report_link_cb cb;
	void *ctx;
};

static int
link_row(sqlite3_stmt *stmt, void *arg)
{
	struct link_rows *l = arg;

	return l->cb(sqlite3_column_int(stmt, 0), store_col_text(stmt, 1),
	    sqlite3_column_int64(stmt, 2), sqlite3_column_int64(stmt, 3),
	    sqlite3_column_int64(stmt, 4), l->ctx);
}

int
store_report_links(struct store *st, int64_t campaign_id,
    store_report_link_cb cb, void *ctx, struct err *e)
{
	struct link_rows l = { cb, ctx };
	sqlite3_stmt *stmt;

	if (store_prepare(st, "WITH c AS (SELECT json_extract(detail, "
	    "'$.link') AS idx, count(DISTINCT recipient_id) AS u, count(*) "
	    "AS t, count(DISTINCT CASE WHEN machine = 0 THEN recipient_id "
	    "END) AS h FROM events WHERE campaign_id = ?1 AND type = "
	    "'clicked' GROUP BY 1) SELECT l.idx, l.url, coalesce(c.u, 0), "
	    "coalesce(c.t, 0), coalesce(c.h, 0) FROM campaign_links l "
	    "LEFT JOIN c ON c.idx = l.idx WHERE l.campaign_id = ?1 "
	    "ORDER BY l.idx", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	return store_rows(st, stmt, link_row, &l, "reading links", NULL, e);
}

struct domain_rows {
	store_report_domain_cb cb;
	void *ctx;
};

static int
domain_row(sqlite3_stmt *stmt, void *arg)
{
	struct domain_rows *d = arg;
	struct report_domain r;

	r.domain = store_col_text(stmt, 0);
	r.recipients = sqlite3_column_int64(stmt, 1);
	r.delivered = sqlite3_column_int64(stmt, 2);
	r.deferred = sqlite3_column_int64(stmt, 3);
	r.bounced = sqlite3_column_int64(stmt, 4);
	r.relay = store_col_text(stmt, 5);
	r.throttled = sqlite3_column_int64(stmt, 6);
	return d->cb(&r, d->ctx);
}

/*
 * Every domain of the campaign in domain order: the deliveries (one
 * range of the primary key) beside what its delivery events say: a relay
 * host (a delivered event's first, never "none", which a connection that
 * was not made records), and the deferrals that were throttling: a 421,
 * or a reply holding one of the patterns, case aside. patterns are bound
 * as ?2...
 */
int
store_report_domains(struct store *st, int64_t campaign_id,
    char *const *patterns, size_t npatterns, store_report_domain_cb cb,
    void *ctx, struct err *e)
{
	struct domain_rows d = { cb, ctx };
	sqlite3_stmt *stmt;
	struct buf sql;
	size_t i;
	int rc;

	buf_init(&sql, 64 * 1024);
	rc = buf_adds(&sql, "WITH ev AS (SELECT r.domain AS domain, "
	    "coalesce(max(CASE WHEN e.type = 'delivered' THEN e.relay END), "
	    "max(e.relay)) AS relay, sum(e.type = 'deferred' AND "
	    "(e.rp LIKE '421%' OR 0");
	for (i = 0; i < npatterns && rc == 0; i++)
		rc = buf_printf(&sql, " OR instr(lower(e.rp), lower(?%zu)) > 0",
		    i + 2);
	if (rc == 0)
		rc = buf_adds(&sql, ")) AS thr FROM (SELECT recipient_id, "
		    "type, coalesce(json_extract(detail, '$.reply'), '') AS rp, "
		    "nullif(nullif(json_extract(detail, '$.relay'), 'none'), '') "
		    "AS relay FROM events WHERE campaign_id = ?1 AND type IN "
		    "('delivered', 'deferred', 'bounced')) e JOIN recipients r "
		    "ON r.id = e.recipient_id GROUP BY r.domain) SELECT "
		    "d.domain, count(*), sum(d.status = 'delivered'), "
		    "sum(d.status = 'deferred'), sum(d.status = 'bounced'), "
		    "coalesce(ev.relay, ''), coalesce(ev.thr, 0) FROM deliveries "
		    "d LEFT JOIN ev ON ev.domain = d.domain WHERE "
		    "d.campaign_id = ?1 GROUP BY d.domain");
	if (rc < 0 || store_prepare(st, buf_str(&sql), &stmt, e) < 0) {
		buf_free(&sql);
		return rc < 0 ? err_set(e, EX_SOFTWARE, "too many throttle "
		    "patterns for one query") : -1;
	}
	buf_free(&sql);
	sqlite3_bind_int64(stmt, 1, campaign_id);
	for (i = 0; i < npatterns; i++)
		sqlite3_bind_text(stmt, (int)i + 2, patterns[i], -1,
		    SQLITE_STATIC);
	return store_rows(st, stmt, domain_row, &d, "reading domains", NULL,
	    e);
}

struct reply_rows {
	store_report_reply_cb cb;
	void *ctx;
};

static int
reply_row(sqlite3_stmt *stmt, void *arg)
{
	struct reply_rows *r = arg;

	return r->cb(store_col_text(stmt, 0), sqlite3_column_type(stmt, 1) ==
	    SQLITE_NULL ? NULL : store_col_text(stmt, 1),
	    store_col_text(stmt, 2), sqlite3_column_int64(stmt, 3), r->ctx);
}

/* A domain's most frequent replies other than a delivery's. */
int
store_report_domain_replies(struct store *st, int64_t campaign_id,
    const char *domain, int limit, store_report_reply_cb cb, void *ctx,
    struct err *e)
{
	struct reply_rows r = { cb, ctx };
	sqlite3_stmt *stmt;

	if (store_prepare(st, "SELECT status, last_dsn, "
	    "coalesce(last_reply, ''), count(*) FROM deliveries WHERE "
	    "campaign_id = ?1 AND domain = ?2 AND status IN ('deferred', "
	    "'bounced') GROUP BY 1, 2, 3 ORDER BY 4 DESC, 3 LIMIT ?3", &stmt,
	    e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	sqlite3_bind_text(stmt, 2, domain, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 3, limit);
	return store_rows(st, stmt, reply_row, &r, "reading replies", NULL, e);
}

/* Every bounced delivery's class, code and reply, for the reasons. */
int
store_report_bounces(struct store *st, int64_t campaign_id,
    store_report_reply_cb cb, void *ctx, struct err *e)
{
	struct reply_rows r = { cb, ctx };
	sqlite3_stmt *stmt;

	if (store_prepare(st, "SELECT coalesce(bounce_class, 'unknown'), "
	    "last_dsn, coalesce(last_reply, ''), count(*) FROM deliveries "
	    "WHERE campaign_id = ?1 AND status = 'bounced' GROUP BY 1, 2, 3 "
	    "ORDER BY 4 DESC",
	    &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	return store_rows(st, stmt, reply_row, &r, "reading bounces", NULL, e);
}

struct series_rows {
	store_report_series_cb cb;
	void *ctx;
};

static int
series_row(sqlite3_stmt *stmt, void *arg)
{
	struct series_rows *s = arg;

	return s->cb(sqlite3_column_int64(stmt, 0), store_col_text(stmt, 1),
	    sqlite3_column_int64(stmt, 2), s->ctx);
}

/* Events per bucket of bucket_ms from start_ms; opens and clicks human. */
int
store_report_series(struct store *st, int64_t campaign_id, int64_t start_ms,
    int64_t bucket_ms, store_report_series_cb cb, void *ctx, struct err *e)
{
	struct series_rows s = { cb, ctx };
	sqlite3_stmt *stmt;

	if (store_prepare(st, "SELECT (at - ?2) / ?3, type, count(*) FROM "
	    "events WHERE campaign_id = ?1 AND at >= ?2 AND (type IN "
	    "('delivered', 'bounced', 'deferred') OR (type IN ('opened', "
	    "'clicked') AND machine = 0)) GROUP BY 1, 2", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	sqlite3_bind_int64(stmt, 2, start_ms);
	sqlite3_bind_int64(stmt, 3, bucket_ms);
	return store_rows(st, stmt, series_row, &s, "reading the time line",
	    NULL, e);
}

/* The last event of the campaign (Unix ms; 0: none). */
int
store_report_last_event(struct store *st, int64_t campaign_id, int64_t *at,
    struct err *e)
{
	sqlite3_stmt *stmt;

	if (store_prepare(st, "SELECT coalesce(max(at), 0) FROM events WHERE "
	    "campaign_id = ?1", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	return store_scalar(st, stmt, at, e);
}
