/*
 * store_send.c - what a send run reads and writes: claiming pending
 * deliveries a window at a time and recording their outcomes in batches.
 *
 * A claimed delivery is 'sending' until its outcome commits, so a run
 * that dies leaves its in-flight deliveries marked; the next run puts
 * them back to 'pending' (store_send_reclaim) and they are sent again,
 * the duplicates that invariant 1 of DESIGN.md allows for messages in
 * flight at a crash. The claim walks the deliveries primary key from a
 * cursor, so each window costs its own rows, never a rescan of the rows
 * already done.
 */
#include <stdio.h>
#include <string.h>

#include "store_int.h"

/* A deferred delivery is due again after this long (the retry schedule
 * of the scheduler work replaces it). */
#define STORE_RETRY_MS	(5 * 60 * 1000)

int
store_send_reclaim(struct store *st, int64_t campaign_id, int64_t *n,
    struct err *e)
{
	sqlite3_stmt *stmt;

	*n = 0;
	if (store_prepare(st, "UPDATE deliveries SET status = 'pending', "
	    "updated_at = ?2 WHERE campaign_id = ?1 AND status = 'sending'",
	    &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	sqlite3_bind_int64(stmt, 2, store_now_ms());
	if (store_step_done(st, stmt, "reclaiming deliveries", e) < 0)
		return -1;
	*n = sqlite3_changes(st->db);
	return 0;
}

struct claim_rows {
	store_claim_cb cb;
	void *ctx;
	struct store_cursor *cur;
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
	snprintf(cr->cur->domain, sizeof(cr->cur->domain), "%s", c.domain);
	cr->cur->recipient_id = c.recipient_id;
	return cr->cb(&c, cr->ctx);
}

static int
claim_mark(struct store *st, int64_t campaign_id,
    const struct store_cursor *from, const struct store_cursor *to,
    int64_t now, struct err *e)
{
	sqlite3_stmt *stmt;

	if (store_prepare(st, "UPDATE deliveries SET status = 'sending', "
	    "first_attempt_at = coalesce(first_attempt_at, ?6), "
	    "updated_at = ?6 WHERE campaign_id = ?1 AND status = 'pending' "
	    "AND (domain, recipient_id) > (?2, ?3) "
	    "AND (domain, recipient_id) <= (?4, ?5)", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	sqlite3_bind_text(stmt, 2, from->domain, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, from->recipient_id);
	sqlite3_bind_text(stmt, 4, to->domain, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, to->recipient_id);
	sqlite3_bind_int64(stmt, 6, now);
	return store_step_done(st, stmt, "claiming deliveries", e);
}

int
store_send_claim(struct store *st, int64_t campaign_id,
    struct store_cursor *cur, int limit, store_claim_cb cb, void *ctx,
    int *n, struct err *e)
{
	struct store_cursor from = *cur;
	struct claim_rows cr = { cb, ctx, cur };
	sqlite3_stmt *stmt;
	int64_t now = store_now_ms();

	*n = 0;
	if (store_begin(st, e) < 0)
		return -1;
	if (store_prepare(st, "SELECT d.domain, d.recipient_id, r.address, "
	    "r.attrs, coalesce(d.first_attempt_at, ?5) FROM deliveries d "
	    "JOIN recipients r ON r.id = d.recipient_id "
	    "WHERE d.campaign_id = ?1 AND (d.domain, d.recipient_id) > "
	    "(?2, ?3) AND d.status = 'pending' "
	    "ORDER BY d.domain, d.recipient_id LIMIT ?4", &stmt, e) < 0)
		goto fail;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	sqlite3_bind_text(stmt, 2, from.domain, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, from.recipient_id);
	sqlite3_bind_int(stmt, 4, limit);
	sqlite3_bind_int64(stmt, 5, now);
	if (store_rows(st, stmt, claim_row, &cr, "loading deliveries", n,
	    e) < 0)
		goto fail;
	if (*n > 0 && claim_mark(st, campaign_id, &from, cur, now, e) < 0)
		goto fail;
	return store_commit(st, e);
fail:
	store_rollback(st);
	*cur = from;
	return -1;
}

/* The event goes in only beside a delivery the update found. */
static int
record_one(struct store *st, sqlite3_stmt *upd, sqlite3_stmt *ev,
    int64_t campaign_id, const struct store_outcome *o, int64_t now,
    struct err *e)
{
	sqlite3_stmt *s[2] = { upd, ev };
	int i, rc;

	for (i = 0; i < 2; i++) {
		sqlite3_bind_int64(s[i], 1, campaign_id);
		sqlite3_bind_text(s[i], 2, o->domain, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s[i], 3, o->recipient_id);
		sqlite3_bind_text(s[i], 4, o->status, -1, SQLITE_STATIC);
		sqlite3_bind_text(s[i], 5, o->reply, -1, SQLITE_STATIC);
		sqlite3_bind_text(s[i], 6, o->dsn, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s[i], 7, now);
		sqlite3_bind_text(s[i], 8, o->relay, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s[i], 9, now + STORE_RETRY_MS);
		rc = sqlite3_step(s[i]);
		sqlite3_reset(s[i]);
		if (rc != SQLITE_DONE)
			return store_sqlerr(st, e, "recording an outcome");
		if (i == 0 && sqlite3_changes(st->db) == 0)
			break;
	}
	return 0;
}

int
store_send_record(struct store *st, int64_t campaign_id,
    const struct store_outcome *o, int n, struct err *e)
{
	sqlite3_stmt *upd = NULL, *ev = NULL;
	int64_t now = store_now_ms();
	int i;

	if (n == 0)
		return 0;
	if (store_begin(st, e) < 0)
		return -1;
	/* 'pending' is a delivery handed back untried: no attempt, no
	 * event. Both statements are bound alike; a parameter one of them
	 * lacks fails with SQLITE_RANGE, harmlessly. */
	if (store_prepare(st, "UPDATE deliveries SET status = ?4, "
	    "attempts = attempts + (?4 <> 'pending'), "
	    "last_reply = CASE ?4 WHEN 'pending' THEN last_reply ELSE ?5 END, "
	    "last_dsn = CASE ?4 WHEN 'pending' THEN last_dsn ELSE ?6 END, "
	    "next_attempt_at = CASE ?4 WHEN 'deferred' THEN ?9 "
	    "ELSE next_attempt_at END, updated_at = ?7, "
	    "done_at = CASE WHEN ?4 IN ('delivered', 'bounced', 'failed') "
	    "THEN ?7 END WHERE campaign_id = ?1 AND domain = ?2 AND "
	    "recipient_id = ?3", &upd, e) < 0 ||
	    store_prepare(st, "INSERT INTO events(campaign_id, recipient_id, "
	    "type, at, detail) SELECT ?1, ?3, ?4, ?7, json_object('dsn', ?6, "
	    "'reply', ?5, 'relay', ?8) WHERE ?4 IN ('delivered', 'deferred', "
	    "'bounced')", &ev, e) < 0)
		goto fail;
	for (i = 0; i < n; i++)
		if (record_one(st, upd, ev, campaign_id, &o[i], now, e) < 0)
			goto fail;
	sqlite3_finalize(upd);
	sqlite3_finalize(ev);
	return store_commit(st, e);
fail:
	sqlite3_finalize(upd);
	sqlite3_finalize(ev);
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
