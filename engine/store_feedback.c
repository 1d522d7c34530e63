/*
 * store_feedback.c - recording what happens after delivery, and the
 * suppression policy and rate guard it triggers; see store.h.
 */
#include <stdio.h>
#include <string.h>

#include "store_int.h"
#include "xalloc.h"

static const char *const feedback_type[] = {
	[FEEDBACK_OPEN] = "opened",
	[FEEDBACK_CLICK] = "clicked",
	[FEEDBACK_UNSUBSCRIBE] = "unsubscribed",
	[FEEDBACK_BOUNCE] = "bounced",
	[FEEDBACK_DELAYED] = "deferred",
	[FEEDBACK_COMPLAINT] = "complained",
	[FEEDBACK_REPLY] = "replied",
	[FEEDBACK_AUTO_REPLY] = "auto_replied",
};

static int
exec_id(struct store *st, const char *sql, int64_t id, struct err *e)
{
	sqlite3_stmt *stmt;

	if (store_prepare(st, sql, &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	return store_step_done(st, stmt, "updating the campaign counters", e);
}

/* What the transaction needs to know of the delivery. */
struct fb_row {
	int64_t list_id;
	char status[16];
	char bounce_class[16];
};

static int
target_row(sqlite3_stmt *stmt, void *arg)
{
	struct feedback_target *t = arg;

	snprintf(t->campaign, sizeof(t->campaign), "%s",
	    store_col_text(stmt, 0));
	snprintf(t->list, sizeof(t->list), "%s", store_col_text(stmt, 1));
	snprintf(t->address, sizeof(t->address), "%s",
	    store_col_text(stmt, 2));
	snprintf(t->status, sizeof(t->status), "%s", store_col_text(stmt, 3));
	t->done_at = sqlite3_column_int64(stmt, 4);
	return 0;
}

/*
 * The delivery of campaign ?1 to recipient r (r.id bound by the caller),
 * with its campaign c. Its key is (campaign, domain, recipient): the
 * recipient gives the domain, so the look-up stays on the primary key.
 */
#define FB_DELIVERY \
	"FROM recipients r JOIN deliveries d ON d.campaign_id = ?1 AND " \
	"d.domain = r.domain AND d.recipient_id = r.id JOIN campaigns c ON " \
	"c.id = d.campaign_id "

int
store_feedback_target(struct store *st, int64_t campaign_id,
    int64_t recipient_id, struct feedback_target *t, struct err *e)
{
	sqlite3_stmt *stmt;
	int n = 0;

	memset(t, 0, sizeof(*t));
	t->campaign_id = campaign_id;
	t->recipient_id = recipient_id;
	if (store_prepare(st, "SELECT c.name, l.name, r.address, d.status, "
	    "coalesce(d.done_at, 0) " FB_DELIVERY "JOIN lists l ON l.id = "
	    "c.list_id WHERE r.id = ?2", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	sqlite3_bind_int64(stmt, 2, recipient_id);
	if (store_rows(st, stmt, target_row, t, "finding a delivery", &n,
	    e) < 0)
		return -1;
	if (n == 0)
		return err_set(e, EX_NOINPUT, "no delivery of campaign %lld to "
		    "recipient %lld", (long long)campaign_id,
		    (long long)recipient_id);
	return 0;
}

int
store_link_url(struct store *st, int64_t campaign_id, int link, char **url,
    struct err *e)
{
	sqlite3_stmt *stmt;
	int rc;

	*url = NULL;
	if (store_prepare(st, "SELECT url FROM campaign_links WHERE "
	    "campaign_id = ?1 AND idx = ?2", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	sqlite3_bind_int(stmt, 2, link);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*url = xstrdup(store_col_text(stmt, 0));
	sqlite3_finalize(stmt);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return store_sqlerr(st, e, "reading a link");
	return err_set(e, EX_NOINPUT, "campaign %lld has no link %d",
	    (long long)campaign_id, link);
}

int
store_fb_suppress(struct store *st, int64_t recipient_id, int64_t list_id,
    const char *reason, const char *source, int *added, struct err *e)
{
	sqlite3_stmt *stmt;

	if (store_prepare(st, "INSERT INTO suppressions(kind, value, list_id, "
	    "reason, source, created_at) SELECT 'address', address_key, ?2, "
	    "?3, ?4, ?5 FROM recipients WHERE id = ?1 ON CONFLICT DO NOTHING",
	    &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, recipient_id);
	if (list_id > 0)
		sqlite3_bind_int64(stmt, 2, list_id);
	sqlite3_bind_text(stmt, 3, reason, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(stmt, 4, source, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, store_now_ms());
	if (store_step_done(st, stmt, "adding a suppression", e) < 0)
		return -1;
	if (added != NULL)
		*added = sqlite3_changes(st->db) > 0;
	return 0;
}

/*
 * Consecutive soft bounces: the recipient's campaigns, newest first, as
 * long as each ended in a soft bounce. A campaign delivered without a
 * bounce since breaks the run; one whose bounce has not come back yet
 * breaks it only until it does, since the count is taken again at each
 * soft bounce.
 */
static int
soft_streak(struct store *st, int64_t recipient_id, int64_t *streak,
    struct err *e)
{
	sqlite3_stmt *stmt;
	int rc;

	*streak = 0;
	if (store_prepare(st, "SELECT max(type = 'bounced' AND "
	    "json_extract(detail, '$.class') = 'soft') FROM events WHERE "
	    "recipient_id = ?1 AND type IN ('delivered', 'bounced') AND "
	    "campaign_id IS NOT NULL GROUP BY campaign_id "
	    "ORDER BY campaign_id DESC", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, recipient_id);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW &&
	    sqlite3_column_int(stmt, 0) == 1)
		(*streak)++;
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_sqlerr(st, e, "counting soft bounces");
	return 0;
}

int
store_fb_bounced(struct store *st, const struct feedback_policy *p,
    int64_t recipient_id, const char *cls, const char *dsn, int *added,
    struct err *e)
{
	char reason[128];
	int64_t streak;

	*added = 0;
	if (strcmp(cls, "hard") == 0) {
		snprintf(reason, sizeof(reason), "hard bounce%s%s",
		    dsn != NULL && dsn[0] ? " " : "", dsn != NULL ? dsn : "");
		return store_fb_suppress(st, recipient_id, 0, reason,
		    "bounce", added, e);
	}
	if (strcmp(cls, "soft") != 0)
		return 0;
	if (soft_streak(st, recipient_id, &streak, e) < 0)
		return -1;
	if (streak < p->soft_bounce_limit)
		return 0;
	snprintf(reason, sizeof(reason), "%lld soft bounces in a row",
	    (long long)streak);
	return store_fb_suppress(st, recipient_id, 0, reason, "soft-bounce",
	    added, e);
}

static void
rate_text(char *out, size_t n, const char *what, int64_t k, int64_t sent,
    double limit, const char *verb)
{
	snprintf(out, n, "%s rate %.2f %% (%lld of %lld sent) %s %.2f %%",
	    what, 100.0 * (double)k / (double)sent, (long long)k,
	    (long long)sent, verb, 100.0 * limit);
}

/*
 * The guard: a running campaign whose complaint or hard-bounce rate has
 * passed its threshold pauses, with the reason kept for `status` and
 * the send's log. Rates are judged once min_volume messages are out.
 */
int
store_fb_guard(struct store *st, const struct feedback_policy *p,
    int64_t campaign_id, int *paused, char *warning, size_t n,
    struct err *e)
{
	sqlite3_stmt *stmt;
	int64_t sent = 0, hard = 0, compl = 0;
	char status[16] = "";
	int rc;

	*paused = 0;
	warning[0] = '\0';
	if (store_prepare(st, "SELECT sent_count, hard_bounces, complaints, "
	    "status FROM campaigns WHERE id = ?1", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		sent = sqlite3_column_int64(stmt, 0);
		hard = sqlite3_column_int64(stmt, 1);
		compl = sqlite3_column_int64(stmt, 2);
		snprintf(status, sizeof(status), "%s",
		    store_col_text(stmt, 3));
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_sqlerr(st, e, "reading the campaign counters");
	if (sent < p->min_volume || sent == 0)
		return 0;
	if ((double)compl > p->complaint_pause * (double)sent)
		rate_text(warning, n, "complaint", compl, sent,
		    p->complaint_pause, "passed");
	else if ((double)hard > p->bounce_pause * (double)sent)
		rate_text(warning, n, "hard-bounce", hard, sent,
		    p->bounce_pause, "passed");
	else {
		if ((double)compl > p->complaint_warn * (double)sent)
			rate_text(warning, n, "complaint", compl, sent,
			    p->complaint_warn, "is over the warning level");
		return 0;
	}
	if (strcmp(status, "running") != 0)
		return 0;
	if (store_prepare(st, "UPDATE campaigns SET status = 'paused', "
	    "paused_reason = ?2, updated_at = ?3 WHERE id = ?1", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	sqlite3_bind_text(stmt, 2, warning, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(stmt, 3, store_now_ms());
	if (store_step_done(st, stmt, "pausing the campaign", e) < 0)
		return -1;
	*paused = 1;
	return 0;
}

static int
fb_row(sqlite3_stmt *stmt, void *arg)
{
	struct fb_row *r = arg;

	r->list_id = sqlite3_column_int64(stmt, 0);
	snprintf(r->status, sizeof(r->status), "%s", store_col_text(stmt, 1));
	snprintf(r->bounce_class, sizeof(r->bounce_class), "%s",
	    store_col_text(stmt, 2));
	return 0;
}

static int
fb_delivery(struct store *st, const struct feedback *f, struct fb_row *r,
    struct err *e)
{
	sqlite3_stmt *stmt;
	int n = 0;

	if (store_prepare(st, "SELECT c.list_id, d.status, "
	    "coalesce(d.bounce_class, '') " FB_DELIVERY "WHERE r.id = ?2",
	    &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, f->campaign_id);
	sqlite3_bind_int64(stmt, 2, f->recipient_id);
	if (store_rows(st, stmt, fb_row, r, "finding a delivery", &n, e) < 0)
		return -1;
	if (n == 0)
		return err_set(e, EX_NOINPUT, "no delivery of campaign %lld to "
		    "recipient %lld", (long long)f->campaign_id,
		    (long long)f->recipient_id);
	return 0;
}

/*
 * Recorded already? An unsubscribe or a complaint counts once per
 * delivery; anything else with a key once per key.
 */
static int
fb_seen(struct store *st, const struct feedback *f, int *seen,
    struct err *e)
{
	int once = f->kind == FEEDBACK_UNSUBSCRIBE ||
	    f->kind == FEEDBACK_COMPLAINT;
	sqlite3_stmt *stmt;
	int64_t n;

	*seen = 0;
	if (!once && f->key == NULL)
		return 0;
	if (store_prepare(st, "SELECT count(*) FROM events WHERE "
	    "recipient_id = ?1 AND type = ?2 AND campaign_id = ?3 AND "
	    "(?4 IS NULL OR json_extract(detail, '$.key') = ?4)", &stmt,
	    e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, f->recipient_id);
	sqlite3_bind_text(stmt, 2, feedback_type[f->kind], -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, f->campaign_id);
	if (!once)
		sqlite3_bind_text(stmt, 4, f->key, -1, SQLITE_STATIC);
	if (store_scalar(st, stmt, &n, e) < 0)
		return -1;
	*seen = n > 0;
	return 0;
}

/* json_patch() onto '{}' drops the members whose value is NULL. */
static int
fb_event(struct store *st, const struct feedback *f, int64_t at,
    struct feedback_result *res, struct err *e)
{
	sqlite3_stmt *stmt;

	if (store_prepare(st, "INSERT INTO events(campaign_id, recipient_id, "
	    "type, at, machine, detail) VALUES(?1, ?2, ?3, ?4, ?5, "
	    "json_patch(json_patch('{}', json_object('key', ?6, 'link', ?7, "
	    "'class', ?8, 'dsn', ?9, 'text', ?10)), coalesce(?11, '{}')))",
	    &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, f->campaign_id);
	sqlite3_bind_int64(stmt, 2, f->recipient_id);
	sqlite3_bind_text(stmt, 3, feedback_type[f->kind], -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, at);
	sqlite3_bind_int(stmt, 5, f->machine != 0);
	sqlite3_bind_text(stmt, 6, f->key, -1, SQLITE_STATIC);
	if (f->kind == FEEDBACK_CLICK)
		sqlite3_bind_int(stmt, 7, f->link);
	sqlite3_bind_text(stmt, 8, f->bounce_class, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 9, f->dsn, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 10, f->text, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 11, f->detail, -1, SQLITE_STATIC);
	if (store_step_done(st, stmt, "recording an event", e) < 0)
		return -1;
	res->event_id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

/*
 * A bounce after the message was accepted turns the delivery bounced;
 * one for a delivery still in our own queue is only recorded. A hard
 * bounce stays the delivery's class whatever comes later (a late
 * "mailbox full" does not make the address exist), and the campaign
 * counts it once.
 */
static int
fb_bounce(struct store *st, const struct feedback_policy *p,
    const struct feedback *f, const struct fb_row *r, int64_t at,
    struct feedback_result *res, struct err *e)
{
	int was_hard = strcmp(r->bounce_class, "hard") == 0;
	sqlite3_stmt *stmt;

	if (strcmp(r->status, "delivered") == 0 ||
	    strcmp(r->status, "bounced") == 0) {
		if (store_prepare(st, "UPDATE deliveries SET status = "
		    "'bounced', bounce_class = CASE bounce_class WHEN 'hard' "
		    "THEN 'hard' ELSE ?3 END, last_dsn = CASE WHEN bounce_class "
		    "= 'hard' AND ?3 <> 'hard' THEN last_dsn ELSE coalesce(?4, "
		    "last_dsn) END, last_reply = CASE WHEN bounce_class = "
		    "'hard' AND ?3 <> 'hard' THEN last_reply ELSE coalesce(?5, "
		    "last_reply) END, "
		    "updated_at = ?6, done_at = coalesce(done_at, ?6) WHERE "
		    "campaign_id = ?1 AND recipient_id = ?2 AND domain = "
		    "(SELECT domain FROM recipients WHERE id = ?2)", &stmt,
		    e) < 0)
			return -1;
		sqlite3_bind_int64(stmt, 1, f->campaign_id);
		sqlite3_bind_int64(stmt, 2, f->recipient_id);
		sqlite3_bind_text(stmt, 3, f->bounce_class, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 4, f->dsn, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 5, f->text, -1, SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 6, at);
		if (store_step_done(st, stmt, "recording a bounce", e) < 0)
			return -1;
		if (!was_hard && strcmp(f->bounce_class, "hard") == 0 &&
		    exec_id(st, "UPDATE campaigns SET hard_bounces = "
		    "hard_bounces + 1 WHERE id = ?1", f->campaign_id, e) < 0)
			return -1;
	}
	return store_fb_bounced(st, p, f->recipient_id, f->bounce_class,
	    f->dsn, &res->suppressed, e);
}

static int
fb_apply(struct store *st, const struct feedback_policy *p,
    const struct feedback *f, const struct fb_row *r, int64_t at,
    struct feedback_result *res, struct err *e)
{
	switch (f->kind) {
	case FEEDBACK_BOUNCE:
		if (fb_bounce(st, p, f, r, at, res, e) < 0)
			return -1;
		break;
	case FEEDBACK_COMPLAINT:
		if (store_fb_suppress(st, f->recipient_id, 0, "complaint",
		    "complaint", &res->suppressed, e) < 0 ||
		    exec_id(st, "UPDATE campaigns SET complaints = "
		    "complaints + 1 WHERE id = ?1", f->campaign_id, e) < 0)
			return -1;
		break;
	case FEEDBACK_UNSUBSCRIBE:
		if (res->suppressed)	/* re-added by store_feedback() */
			return 0;
		return store_fb_suppress(st, f->recipient_id,
		    p->unsubscribe_global ? 0 : r->list_id, "unsubscribed",
		    "unsubscribe", &res->suppressed, e);
	default:
		return 0;
	}
	return store_fb_guard(st, p, f->campaign_id, &res->paused,
	    res->warning, sizeof(res->warning), e);
}

int
store_feedback(struct store *st, const struct feedback_policy *p,
    const struct feedback *f, struct feedback_result *res, struct err *e)
{
	int64_t at = f->at ? f->at : store_now_ms();
	struct fb_row r;
	int seen;

	memset(res, 0, sizeof(*res));
	if (f->kind == FEEDBACK_BOUNCE && f->bounce_class == NULL)
		return err_set(e, EX_SOFTWARE, "a bounce without its class");
	if (store_begin(st, e) < 0)
		return -1;
	if (fb_delivery(st, f, &r, e) < 0 || fb_seen(st, f, &seen, e) < 0)
		goto fail;
	/* An unsubscribe the person undid since (suppress rm) counts
	   again: only the suppression says whether it still holds. */
	if (seen && f->kind == FEEDBACK_UNSUBSCRIBE) {
		if (store_fb_suppress(st, f->recipient_id,
		    p->unsubscribe_global ? 0 : r.list_id, "unsubscribed",
		    "unsubscribe", &res->suppressed, e) < 0)
			goto fail;
		seen = !res->suppressed;
	}
	if (seen) {
		store_rollback(st);
		return 0;
	}
	if (fb_event(st, f, at, res, e) < 0 ||
	    fb_apply(st, p, f, &r, at, res, e) < 0)
		goto fail;
	res->recorded = 1;
	return store_commit(st, e);
fail:
	store_rollback(st);
	return -1;
}

int
store_inbound_review(struct store *st, int64_t campaign_id,
    int64_t recipient_id, const char *reason, const void *msg, size_t len,
    struct err *e)
{
	sqlite3_stmt *stmt;

	if (len > LIMIT_INBOUND_REVIEW)
		len = LIMIT_INBOUND_REVIEW;
	if (store_prepare(st, "INSERT INTO inbound_review(received_at, "
	    "campaign_id, recipient_id, reason, message) VALUES(?1, ?2, ?3, "
	    "?4, ?5)", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, store_now_ms());
	if (campaign_id > 0)
		sqlite3_bind_int64(stmt, 2, campaign_id);
	if (recipient_id > 0)
		sqlite3_bind_int64(stmt, 3, recipient_id);
	sqlite3_bind_text(stmt, 4, reason, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(stmt, 5, msg, (int)len, SQLITE_STATIC);
	return store_step_done(st, stmt, "keeping a message for review", e);
}
