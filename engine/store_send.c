/*
 * store_send.c - what a send run reads and writes: claiming pending
 * deliveries a window at a time and recording their outcomes in batches.
 *
 * A claimed delivery is 'sending' until its outcome commits, so a run
 * that dies leaves its in-flight deliveries marked; the next run puts
 * them back to 'pending' (store_send_reclaim) and they are sent again,
 * the duplicates that invariant 1 of DESIGN.md allows for messages in
 * flight at a crash, counted in deliveries.reclaimed. Claims go one
 * domain at a time (the scheduler keeps many domains going at once, so a
 * slow one holds up no other), each from a cursor on the primary key, so
 * a window costs its own rows, never a rescan of the rows already done.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "window.h"

int
store_send_reclaim(struct store *st, int64_t campaign_id, int64_t *n,
    struct err *e)
{
	sqlite3_stmt *stmt;

	*n = 0;
	if (store_prepare(st, "UPDATE deliveries SET status = 'pending', "
	    "reclaimed = reclaimed + 1, updated_at = ?2 "
	    "WHERE campaign_id = ?1 AND status = 'sending'",
	    &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	sqlite3_bind_int64(stmt, 2, store_now_ms());
	if (store_step_done(st, stmt, "reclaiming deliveries", e) < 0)
		return -1;
	*n = sqlite3_changes(st->db);
	return 0;
}

/* Due work: never tried (but not held for an A/B test's winner), or
 * deferred and due again by ?NOW. */
#define DUE(NOW) "((d.status = 'pending' AND ifnull(d.variant, 0) >= 0) " \
	"OR (d.status = 'deferred' AND d.next_attempt_at <= " NOW "))"

int
store_send_next_domain(struct store *st, int64_t campaign_id,
    const char *after, char *out, size_t n, int *found, struct err *e)
{
	sqlite3_stmt *stmt;
	int rc;

	*found = 0;
	if (store_prepare_cached(st, "SELECT d.domain FROM deliveries d "
	    "WHERE d.campaign_id = ?1 AND d.domain > ?2 AND " DUE("?3")
	    " ORDER BY d.domain LIMIT 1", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	sqlite3_bind_text(stmt, 2, after, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, store_now_ms());
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		snprintf(out, n, "%s", store_col_text(stmt, 0));
		*found = 1;
	}
	store_finish(st, stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_sqlerr(st, e, "finding the next domain");
	return 0;
}

struct claim_rows {
	store_claim_cb cb;
	void *ctx;
	int64_t last;
};

static int
claim_row(sqlite3_stmt *stmt, void *arg)
{
	struct claim_rows *cr = arg;
	struct store_claimed c;

	c.domain = store_col_text(stmt, 0);
	c.recipient_id = sqlite3_column_int64(stmt, 1);
	c.address = store_col_text(stmt, 2);
	c.attrs = store_col_text(stmt, 3);
	c.attrs_len = (size_t)sqlite3_column_bytes(stmt, 3);
	c.first_attempt_at = sqlite3_column_int64(stmt, 4);
	c.attempts = sqlite3_column_int(stmt, 5);
	c.suppressed = sqlite3_column_int(stmt, 6);
	c.variant = sqlite3_column_int(stmt, 7) % AB_MAX;	/* NULL: 0 */
	cr->last = c.recipient_id;
	return cr->cb(&c, cr->ctx);
}

/* With a send window, a delivery is due only while it is open where
 * its recipient is (pb_window_open(), registered by store_send_window). */
#define IN_WINDOW(ATTRS) \
	" AND pb_window_open(json_extract(" ATTRS ", '$.timezone'))"

static int
claim_mark(struct store *st, int64_t campaign_id, const char *domain,
    int64_t from, int64_t to, int64_t now, struct err *e)
{
#define CLAIM_MARK \
	"UPDATE deliveries AS d SET status = 'sending', " \
	"first_attempt_at = coalesce(first_attempt_at, ?5), " \
	"updated_at = ?5 WHERE d.campaign_id = ?1 AND d.domain = ?2 AND " \
	"d.recipient_id > ?3 AND d.recipient_id <= ?4 AND " DUE("?5")
	sqlite3_stmt *stmt;

	if (store_prepare_cached(st, st->window == NULL ? CLAIM_MARK :
	    CLAIM_MARK IN_WINDOW("(SELECT r.attrs FROM recipients r WHERE "
	    "r.id = d.recipient_id)"), &stmt, e) < 0)
		return -1;
#undef CLAIM_MARK
	sqlite3_bind_int64(stmt, 1, campaign_id);
	sqlite3_bind_text(stmt, 2, domain, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, from);
	sqlite3_bind_int64(stmt, 4, to);
	sqlite3_bind_int64(stmt, 5, now);
	return store_step_done(st, stmt, "claiming deliveries", e);
}

int
store_send_claim(struct store *st, int64_t campaign_id, const char *domain,
    int64_t *after, int limit, store_claim_cb cb, void *ctx, int *n,
    struct err *e)
{
	/* The suppression is looked up for these rows only: an address
	 * suppressed while the campaign runs is not mailed again. */
#define CLAIM_SELECT \
	"SELECT d.domain, d.recipient_id, r.address, r.attrs, " \
	"coalesce(d.first_attempt_at, ?5), d.attempts, " \
	STORE_SUPPRESSED("(SELECT list_id FROM campaigns WHERE id = ?1)") \
	", d.variant FROM deliveries d JOIN recipients r ON " \
	"r.id = d.recipient_id " \
	"WHERE d.campaign_id = ?1 AND d.domain = ?2 AND " \
	"d.recipient_id > ?3 AND " DUE("?5")
#define CLAIM_ORDER " ORDER BY d.recipient_id LIMIT ?4"
	struct claim_rows cr = { cb, ctx, *after };
	sqlite3_stmt *stmt;
	int64_t now = store_now_ms();

	*n = 0;
	st->window_now = now;
	if (store_begin(st, e) < 0)
		return -1;
	if (store_prepare_cached(st, st->window == NULL ? CLAIM_SELECT
	    CLAIM_ORDER : CLAIM_SELECT IN_WINDOW("r.attrs") CLAIM_ORDER,
	    &stmt, e) < 0)
		goto fail;
#undef CLAIM_SELECT
#undef CLAIM_ORDER
	sqlite3_bind_int64(stmt, 1, campaign_id);
	sqlite3_bind_text(stmt, 2, domain, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, *after);
	sqlite3_bind_int(stmt, 4, limit);
	sqlite3_bind_int64(stmt, 5, now);
	if (store_rows(st, stmt, claim_row, &cr, "loading deliveries", n,
	    e) < 0)
		goto fail;
	if (*n > 0 && claim_mark(st, campaign_id, domain, *after, cr.last,
	    now, e) < 0)
		goto fail;
	if (store_commit(st, e) < 0)
		return -1;
	*after = cr.last;
	return 0;
fail:
	store_rollback(st);
	*n = 0;
	return -1;
}

static int
zone_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct window_zone *)elem)->tz);
}

/* pb_window_open(tz): the window open at the claim's now where tz is. */
static void
window_open_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct store *st = sqlite3_user_data(ctx);
	const struct store_window *w = st->window;
	const unsigned char *tz;
	const struct window_zone *z = NULL;

	(void)argc;
	if (w == NULL) {
		sqlite3_result_int(ctx, 1);
		return;
	}
	if (sqlite3_value_type(argv[0]) == SQLITE_TEXT &&
	    (tz = sqlite3_value_text(argv[0])) != NULL)
		z = bsearch(tz, w->zones, (size_t)w->n, sizeof(*w->zones),
		    zone_cmp);
	sqlite3_result_int(ctx, window_is_open(z != NULL ? z : w->dflt,
	    st->window_now, NULL));
}

int
store_send_window(struct store *st, const struct store_window *w,
    struct err *e)
{
	st->window = w;
	if (sqlite3_create_function_v2(st->db, "pb_window_open", 1,
	    SQLITE_UTF8 | SQLITE_DIRECTONLY, st, window_open_fn, NULL, NULL,
	    NULL) != SQLITE_OK)
		return store_sqlerr(st, e, "registering the send window");
	return 0;
}

struct zone_rows {
	store_tz_cb cb;
	void *ctx;
};

static int
zone_row(sqlite3_stmt *stmt, void *arg)
{
	struct zone_rows *zr = arg;

	return zr->cb(store_col_text(stmt, 0), zr->ctx);
}

int
store_send_zones(struct store *st, int64_t campaign_id, store_tz_cb cb,
    void *ctx, struct err *e)
{
	struct zone_rows zr = { cb, ctx };
	sqlite3_stmt *stmt;

	if (store_prepare(st, "SELECT DISTINCT json_extract(r.attrs, "
	    "'$.timezone') AS tz FROM deliveries d JOIN recipients r ON "
	    "r.id = d.recipient_id WHERE d.campaign_id = ?1 AND d.status IN "
	    "('pending', 'deferred') AND typeof(tz) = 'text'", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	return store_rows(st, stmt, zone_row, &zr, "reading time zones", NULL,
	    e);
}

/* The event goes in only beside a delivery the update found. */
static int
record_one(struct store *st, sqlite3_stmt *upd, sqlite3_stmt *ev,
    int64_t campaign_id, const struct store_outcome *o, int64_t now,
    int *found, struct err *e)
{
	sqlite3_stmt *s[2] = { upd, ev };
	int i, rc;

	*found = 0;
	for (i = 0; i < 2; i++) {
		sqlite3_bind_int64(s[i], 1, campaign_id);
		sqlite3_bind_text(s[i], 2, o->domain, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s[i], 3, o->recipient_id);
		sqlite3_bind_text(s[i], 4, o->status, -1, SQLITE_STATIC);
		sqlite3_bind_text(s[i], 5, o->reply, -1, SQLITE_STATIC);
		sqlite3_bind_text(s[i], 6, o->dsn, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s[i], 7, now);
		sqlite3_bind_text(s[i], 8, o->relay, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s[i], 9, o->next_attempt_at);
		sqlite3_bind_text(s[i], 10, o->bounce_class, -1,
		    SQLITE_STATIC);
		rc = sqlite3_step(s[i]);
		sqlite3_reset(s[i]);
		if (rc != SQLITE_DONE)
			return store_sqlerr(st, e, "recording an outcome");
		if (i == 0 && (*found = sqlite3_changes(st->db) > 0) == 0)
			break;
	}
	return 0;
}

/*
 * What the feedback policy makes of a batch: the campaign's counters,
 * the suppressions its bounces earn, and the guard.
 */
static int
record_policy(struct store *st, int64_t campaign_id,
    const struct feedback_policy *p, int64_t sent, int64_t hard,
    struct err *e)
{
	char warning[256];
	sqlite3_stmt *stmt;
	int paused;

	if (sent == 0)
		return 0;
	if (store_prepare_cached(st, "UPDATE campaigns "
	    "SET sent_count = sent_count + ?2, "
	    "hard_bounces = hard_bounces + ?3 WHERE id = ?1", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	sqlite3_bind_int64(stmt, 2, sent);
	sqlite3_bind_int64(stmt, 3, hard);
	if (store_step_done(st, stmt, "counting the campaign's sends", e) < 0)
		return -1;
	return hard == 0 || p == NULL ? 0 : store_fb_guard(st, p, campaign_id, &paused,
	    warning, sizeof(warning), e);
}

int
store_send_record(struct store *st, int64_t campaign_id,
    const struct feedback_policy *p, const struct store_outcome *o, int n,
    struct err *e)
{
	sqlite3_stmt *upd = NULL, *ev = NULL;
	int64_t now = store_now_ms(), sent = 0, hard = 0;
	int i, found, added;

	if (n == 0)
		return 0;
	if (store_begin(st, e) < 0)
		return -1;
	/* 'pending' is a delivery handed back untried: no attempt, no
	 * event. Both statements are bound alike; a parameter one of them
	 * lacks fails with SQLITE_RANGE, harmlessly. */
	if (store_prepare_cached(st, "UPDATE deliveries SET status = ?4, "
	    "attempts = attempts + (?4 <> 'pending'), "
	    "last_reply = CASE ?4 WHEN 'pending' THEN last_reply ELSE ?5 END, "
	    "last_dsn = CASE ?4 WHEN 'pending' THEN last_dsn ELSE ?6 END, "
	    "bounce_class = CASE ?4 WHEN 'bounced' THEN ?10 END, "
	    "next_attempt_at = CASE ?4 WHEN 'deferred' THEN ?9 "
	    "ELSE next_attempt_at END, updated_at = ?7, "
	    "done_at = CASE WHEN ?4 IN ('delivered', 'bounced', 'failed', "
	    "'suppressed') "
	    "THEN ?7 END WHERE campaign_id = ?1 AND domain = ?2 AND "
	    "recipient_id = ?3 AND status = 'sending'", &upd, e) < 0 ||
	    store_prepare_cached(st, "INSERT INTO events(campaign_id, "
	    "recipient_id, type, at, detail) SELECT ?1, ?3, ?4, ?7, "
	    "CASE WHEN ?10 IS NULL "
	    "THEN json_object('dsn', ?6, 'reply', ?5, 'relay', ?8) ELSE "
	    "json_object('dsn', ?6, 'reply', ?5, 'relay', ?8, 'class', ?10) "
	    "END WHERE ?4 IN ('delivered', 'deferred', 'bounced')", &ev,
	    e) < 0)
		goto fail;
	for (i = 0; i < n; i++) {
		if (record_one(st, upd, ev, campaign_id, &o[i], now, &found,
		    e) < 0)
			goto fail;
		if (!found || (strcmp(o[i].status, "delivered") != 0 &&
		    strcmp(o[i].status, "bounced") != 0))
			continue;
		sent++;
		if (o[i].bounce_class == NULL)
			continue;
		hard += strcmp(o[i].bounce_class, "hard") == 0;
		if (p != NULL && store_fb_bounced(st, p, o[i].recipient_id,
		    o[i].bounce_class, o[i].dsn, &added, e) < 0)
			goto fail;
	}
	store_finish(st, upd);
	store_finish(st, ev);
	upd = ev = NULL;
	if (record_policy(st, campaign_id, p, sent, hard, e) < 0)
		goto fail;
	return store_commit(st, e);
fail:
	if (upd != NULL)
		store_finish(st, upd);
	if (ev != NULL)
		store_finish(st, ev);
	store_rollback(st);
	return -1;
}

int
store_send_left(struct store *st, int64_t campaign_id, int64_t *left,
    struct err *e)
{
	sqlite3_stmt *stmt;

	if (store_prepare(st, "SELECT count(*) FROM deliveries WHERE "
	    "campaign_id = ?1 AND status IN ('pending', 'sending', "
	    "'deferred')", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	return store_scalar(st, stmt, left, e);
}

int
store_send_lease(struct store *st, int64_t campaign_id, const char *owner,
    int64_t ttl_ms, char *holder, size_t n, struct err *e)
{
	sqlite3_stmt *stmt;
	int64_t now = store_now_ms(), changed, until = 0;
	int rc;

	if (store_prepare(st, "UPDATE campaigns SET send_owner = ?2, "
	    "send_lease_until = ?3 + ?4 WHERE id = ?1 AND (send_owner IS NULL "
	    "OR send_owner = ?2 OR send_lease_until < ?3)", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	sqlite3_bind_text(stmt, 2, owner, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, now);
	sqlite3_bind_int64(stmt, 4, ttl_ms);
	if (store_step_done(st, stmt, "taking the send lease", e) < 0)
		return -1;
	if ((changed = sqlite3_changes(st->db)) > 0)
		return 0;
	if (store_prepare(st, "SELECT coalesce(send_owner, ''), "
	    "coalesce(send_lease_until, 0) FROM campaigns WHERE id = ?1",
	    &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		snprintf(holder, n, "%s", store_col_text(stmt, 0));
		until = sqlite3_column_int64(stmt, 1);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW)
		return store_sqlerr(st, e, "reading the send lease");
	return err_set(e, EX_TEMPFAIL, "another send (%s) holds the campaign "
	    "for %lld s more", holder, (long long)((until - now) / 1000 + 1));
}

int
store_send_unlease(struct store *st, int64_t campaign_id, const char *owner,
    struct err *e)
{
	sqlite3_stmt *stmt;

	if (store_prepare(st, "UPDATE campaigns SET send_owner = NULL, "
	    "send_lease_until = NULL WHERE id = ?1 AND send_owner = ?2",
	    &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	sqlite3_bind_text(stmt, 2, owner, -1, SQLITE_STATIC);
	return store_step_done(st, stmt, "giving the send lease back", e);
}

int
store_campaign_status(struct store *st, int64_t campaign_id, char *out,
    size_t n, char *reason, size_t rn, struct err *e)
{
	sqlite3_stmt *stmt;
	int rc;

	if (store_prepare(st, "SELECT status, coalesce(paused_reason, '') "
	    "FROM campaigns WHERE id = ?1", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	rc = sqlite3_step(stmt);
	snprintf(out, n, "%s", rc == SQLITE_ROW ? store_col_text(stmt, 0) :
	    "");
	snprintf(reason, rn, "%s", rc == SQLITE_ROW ?
	    store_col_text(stmt, 1) : "");
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_sqlerr(st, e, "reading the campaign status");
	return 0;
}

struct due_rows {
	store_name_cb cb;
	void *ctx;
};

static int
due_row(sqlite3_stmt *stmt, void *arg)
{
	struct due_rows *d = arg;

	return d->cb(store_col_text(stmt, 0), d->ctx);
}

/* An A/B test whose winner may be picked: the test share has gone and
 * the wait after its last delivery is over. */
#define AB_DUE(NOW) \
	"(c.ab_share IS NOT NULL AND c.ab_winner IS NULL AND NOT EXISTS " \
	"(SELECT 1 FROM deliveries d WHERE d.campaign_id = c.id AND " \
	"d.variant BETWEEN 0 AND 3 AND d.status IN ('pending', 'sending')) " \
	"AND (SELECT max(d.done_at) FROM deliveries d WHERE " \
	"d.campaign_id = c.id AND d.variant BETWEEN 0 AND 3) + c.ab_wait " \
	"<= " NOW ")"

int
store_campaigns_due(struct store *st, store_name_cb cb, void *ctx,
    struct err *e)
{
	struct due_rows d = { cb, ctx };
	sqlite3_stmt *stmt;

	/* 'sending' counts: a run that died left work behind. */
	/* A follow-up is due its delay after the parent finished. */
	if (store_prepare(st, "SELECT c.name FROM campaigns c LEFT JOIN "
	    "campaigns p ON p.id = c.follow_up_of WHERE "
	    "(c.status = 'scheduled' AND (c.scheduled_at <= ?1 OR "
	    "(p.status = 'done' AND p.finished_at + c.follow_up_after <= "
	    "?1))) OR "
	    "(c.status = 'running' AND (EXISTS (SELECT 1 FROM deliveries d "
	    "WHERE d.campaign_id = c.id AND (d.status = 'sending' OR "
	    "(d.status = 'pending' AND ifnull(d.variant, 0) >= 0))) OR "
	    "EXISTS (SELECT 1 FROM deliveries d WHERE "
	    "d.campaign_id = c.id AND d.status = 'deferred' AND "
	    "d.next_attempt_at <= ?1) OR " AB_DUE("?1") ")) "
	    "ORDER BY coalesce(c.scheduled_at, "
	    "p.finished_at + c.follow_up_after, c.created_at), c.id", &stmt,
	    e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, store_now_ms());
	return store_rows(st, stmt, due_row, &d, "finding due campaigns",
	    NULL, e);
}

int
store_send_state(struct store *st, int64_t campaign_id, const char *owner,
    const char *json, struct err *e)
{
	sqlite3_stmt *stmt;

	if (store_prepare(st, "UPDATE campaigns SET send_state = ?3 WHERE "
	    "id = ?1 AND send_owner = ?2", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	sqlite3_bind_text(stmt, 2, owner, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, json, -1, SQLITE_STATIC);
	return store_step_done(st, stmt, "recording the send state", e);
}

struct live_row {
	store_live_cb cb;
	void *ctx;
};

static int
live_row(sqlite3_stmt *stmt, void *arg)
{
	struct live_row *l = arg;
	struct store_live v;

	v.status = store_col_text(stmt, 0);
	v.owner = sqlite3_column_type(stmt, 1) == SQLITE_NULL ? NULL :
	    store_col_text(stmt, 1);
	v.lease_until = sqlite3_column_int64(stmt, 2);
	v.state = sqlite3_column_type(stmt, 3) == SQLITE_NULL ? NULL :
	    store_col_text(stmt, 3);
	v.id = sqlite3_column_int64(stmt, 4);
	return l->cb(&v, l->ctx);
}

int
store_send_live(struct store *st, const char *name, store_live_cb cb,
    void *ctx, struct err *e)
{
	struct live_row l = { cb, ctx };
	sqlite3_stmt *stmt;
	int n;

	if (store_prepare(st, "SELECT status, send_owner, "
	    "coalesce(send_lease_until, 0), send_state, id FROM campaigns "
	    "WHERE name = ?1", &stmt, e) < 0)
		return -1;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	if (store_rows(st, stmt, live_row, &l, "reading the campaign", &n,
	    e) < 0)
		return -1;
	if (n == 0)
		return err_set(e, EX_NOINPUT, "no campaign named \"%s\"", name);
	return 0;
}

int
store_send_plan(struct store *st, int64_t campaign_id, int limit,
    store_count_cb cb, void *ctx, struct err *e)
{
	sqlite3_stmt *stmt;

	/* What a send would work on now, per domain, largest first; a
	 * negative limit lists them all (for the total). */
	if (store_prepare(st, "SELECT d.domain, count(*) AS n FROM deliveries d "
	    "WHERE d.campaign_id = ?1 AND (d.status = 'sending' OR " DUE("?3")
	    ") "
	    "GROUP BY d.domain ORDER BY n DESC, d.domain LIMIT ?2", &stmt,
	    e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	sqlite3_bind_int(stmt, 2, limit);
	sqlite3_bind_int64(stmt, 3, store_now_ms());
	return store_count_rows(st, stmt, cb, ctx, "planning the send", e);
}

int
store_volume_add(struct store *st, const char *provider, int64_t day,
    int64_t n, struct err *e)
{
	sqlite3_stmt *stmt;

	if (store_prepare(st, "INSERT INTO provider_volume(provider, day, "
	    "sent) VALUES (?1, ?2, ?3) ON CONFLICT(provider, day) DO UPDATE "
	    "SET sent = sent + ?3", &stmt, e) < 0)
		return -1;
	sqlite3_bind_text(stmt, 1, provider, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, day);
	sqlite3_bind_int64(stmt, 3, n);
	return store_step_done(st, stmt, "counting a provider's volume", e);
}

int
store_volume_get(struct store *st, const char *provider, int64_t day,
    int64_t *n, struct err *e)
{
	sqlite3_stmt *stmt;

	if (store_prepare(st, "SELECT coalesce((SELECT sent FROM "
	    "provider_volume WHERE provider = ?1 AND day = ?2), 0)", &stmt,
	    e) < 0)
		return -1;
	sqlite3_bind_text(stmt, 1, provider, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, day);
	return store_scalar(st, stmt, n, e);
}
