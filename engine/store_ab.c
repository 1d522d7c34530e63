/*
 * store_ab.c - A/B tests: a campaign's variants, the split of its
 * audience into a test share and the held rest, what each variant earned,
 * and the decision that hands the rest to the winner.
 *
 * deliveries.variant is NULL outside a test, 0 to 3 for a test delivery,
 * -1 for one held for the winner, and the winner's number plus AB_MAX
 * once the rest has been handed to it (so a report still tells the test
 * apart). The claims skip -1 (store_send.c), so the held rest waits as
 * 'pending' without a second status.
 */
#include <stdio.h>
#include <string.h>

#include "store_int.h"

struct variant_rows {
	store_variant_cb cb;
	void *ctx;
};

static int
variant_row(sqlite3_stmt *stmt, void *arg)
{
	struct variant_rows *vr = arg;
	struct campaign_variant v;

	v.variant = sqlite3_column_int(stmt, 0);
	v.template_name = store_col_text(stmt, 1);
	v.template_version = sqlite3_column_int(stmt, 2);
	v.subject = store_col_text(stmt, 3);
	return vr->cb(&v, vr->ctx);
}

int
store_campaign_variants(struct store *st, int64_t campaign_id,
    store_variant_cb cb, void *ctx, struct err *e)
{
	struct variant_rows vr = { cb, ctx };
	sqlite3_stmt *stmt;

	if (store_prepare(st, "SELECT cv.variant, t.name, v.version, "
	    "cv.subject FROM campaign_variants cv JOIN template_versions v ON "
	    "v.id = cv.template_version_id JOIN templates t ON "
	    "t.id = v.template_id WHERE cv.campaign_id = ?1 ORDER BY "
	    "cv.variant", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	return store_rows(st, stmt, variant_row, &vr, "reading variants",
	    NULL, e);
}

int
store_ab_assign(struct store *st, int64_t campaign_id, int64_t n,
    struct err *e)
{
	sqlite3_stmt *stmt;
	int64_t k, share, test;

	if (store_prepare(st, "SELECT count(*), ifnull(max(c.ab_share), 0) "
	    "FROM campaign_variants cv JOIN campaigns c ON c.id = "
	    "cv.campaign_id WHERE cv.campaign_id = ?1", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	if (sqlite3_step(stmt) != SQLITE_ROW) {
		sqlite3_finalize(stmt);
		return store_sqlerr(st, e, "reading the A/B test");
	}
	k = sqlite3_column_int64(stmt, 0);
	share = sqlite3_column_int64(stmt, 1);
	sqlite3_finalize(stmt);
	if (k == 0 || n == 0)
		return 0;
	/* At least one recipient per variant, when there are that many. */
	test = n * share / 100;
	if (test < k)
		test = k < n ? k : n;
	/* A random order, dealt round the variants: an even split of a
	 * random sample. */
	if (store_prepare(st, "UPDATE deliveries AS d SET variant = CASE "
	    "WHEN p.n < ?2 THEN p.n % ?3 ELSE -1 END FROM (SELECT domain, "
	    "recipient_id, row_number() OVER (ORDER BY random()) - 1 AS n "
	    "FROM deliveries WHERE campaign_id = ?1) AS p WHERE "
	    "d.campaign_id = ?1 AND d.domain = p.domain AND "
	    "d.recipient_id = p.recipient_id", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	sqlite3_bind_int64(stmt, 2, test);
	sqlite3_bind_int64(stmt, 3, k);
	return store_step_done(st, stmt, "splitting the audience", e);
}

/* The settings, the test's progress and the held rest. */
static int
ab_progress(struct store *st, int64_t campaign_id, struct ab_state *s,
    struct err *e)
{
	sqlite3_stmt *stmt;
	int rc;

	if (store_prepare(st, "SELECT (SELECT count(*) FROM campaign_variants "
	    "WHERE campaign_id = ?1), ifnull(c.ab_wait, 0), "
	    "ifnull(c.ab_metric, ''), ifnull(c.ab_winner, -1), "
	    "(SELECT count(*) FROM deliveries WHERE campaign_id = ?1 AND "
	    "variant BETWEEN 0 AND 3 AND status IN ('pending', 'sending')), "
	    "(SELECT ifnull(max(done_at), 0) FROM deliveries WHERE "
	    "campaign_id = ?1 AND variant BETWEEN 0 AND 3), "
	    "(SELECT count(*) FROM deliveries WHERE campaign_id = ?1 AND "
	    "variant = -1) FROM campaigns c WHERE c.id = ?1", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		s->nvariants = sqlite3_column_int(stmt, 0);
		s->wait = sqlite3_column_int64(stmt, 1);
		snprintf(s->metric, sizeof(s->metric), "%s",
		    store_col_text(stmt, 2));
		s->winner = sqlite3_column_int(stmt, 3);
		s->test_left = sqlite3_column_int64(stmt, 4);
		s->test_done_at = sqlite3_column_int64(stmt, 5);
		s->held = sqlite3_column_int64(stmt, 6);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW)
		return store_sqlerr(st, e, "reading the A/B test");
	return 0;
}

/* Per variant: test deliveries, delivered, and the recipients a person
 * opened or clicked (a click is an open whose images were blocked). */
static int
ab_counts(struct store *st, int64_t campaign_id, struct ab_state *s,
    struct err *e)
{
	sqlite3_stmt *stmt;
	int rc, v;

	if (store_prepare(st, "SELECT d.variant, count(*), "
	    "sum(d.status = 'delivered'), "
	    "sum(EXISTS (SELECT 1 FROM events e WHERE e.campaign_id = ?1 AND "
	    "e.recipient_id = d.recipient_id AND e.type IN ('opened', "
	    "'clicked') AND e.machine = 0)), "
	    "sum(EXISTS (SELECT 1 FROM events e WHERE e.campaign_id = ?1 AND "
	    "e.recipient_id = d.recipient_id AND e.type = 'clicked' AND "
	    "e.machine = 0)) FROM deliveries d WHERE d.campaign_id = ?1 AND "
	    "d.variant >= 0 AND d.variant < ?2 GROUP BY d.variant", &stmt,
	    e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	sqlite3_bind_int(stmt, 2, AB_MAX);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		v = sqlite3_column_int(stmt, 0);
		s->sent[v] = sqlite3_column_int64(stmt, 1);
		s->delivered[v] = sqlite3_column_int64(stmt, 2);
		s->opened[v] = sqlite3_column_int64(stmt, 3);
		s->clicked[v] = sqlite3_column_int64(stmt, 4);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return store_sqlerr(st, e, "counting the A/B test");
	return 0;
}

int
store_ab_state(struct store *st, int64_t campaign_id, struct ab_state *s,
    struct err *e)
{
	sqlite3_stmt *stmt;
	int64_t n;

	memset(s, 0, sizeof(*s));
	s->winner = -1;
	/* Every send asks: a campaign without a test costs one look-up, not
	 * a pass over its deliveries. */
	if (store_prepare(st, "SELECT count(*) FROM campaign_variants WHERE "
	    "campaign_id = ?1", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	if (store_scalar(st, stmt, &n, e) < 0)
		return -1;
	if (n == 0)
		return 0;
	if (ab_progress(st, campaign_id, s, e) < 0)
		return -1;
	return ab_counts(st, campaign_id, s, e);
}

int
store_ab_decide(struct store *st, int64_t campaign_id, int winner,
    struct err *e)
{
	sqlite3_stmt *stmt;
	int64_t now = store_now_ms();

	if (store_begin(st, e) < 0)
		return -1;
	if (store_prepare(st, "UPDATE campaigns SET ab_winner = ?2, "
	    "ab_decided_at = ?3, updated_at = ?3 WHERE id = ?1 AND "
	    "ab_winner IS NULL", &stmt, e) < 0)
		goto fail;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	sqlite3_bind_int(stmt, 2, winner);
	sqlite3_bind_int64(stmt, 3, now);
	if (store_step_done(st, stmt, "recording the winner", e) < 0)
		goto fail;
	if (sqlite3_changes(st->db) != 1) {
		err_set(e, EX_TEMPFAIL, "another run has picked the winner");
		goto fail;
	}
	if (store_prepare(st, "UPDATE deliveries SET variant = ?2, "
	    "updated_at = ?3 WHERE campaign_id = ?1 AND variant = -1", &stmt,
	    e) < 0)
		goto fail;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	sqlite3_bind_int(stmt, 2, winner + AB_MAX);
	sqlite3_bind_int64(stmt, 3, now);
	if (store_step_done(st, stmt, "handing the rest to the winner",
	    e) < 0 || store_commit(st, e) < 0)
		goto fail;
	return 0;
fail:
	store_rollback(st);
	return -1;
}
