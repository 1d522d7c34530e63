/*
 * store_campaign.c - campaigns, their audience and their deliveries.
 *
 * The audience is resolved when a campaign starts, not when it is created,
 * so a campaign scheduled for next week reaches the list as it is then. It
 * is materialised by one INSERT ... SELECT in one transaction: a million
 * rows are one statement, not a million round trips.
 */
#include <stdio.h>
#include <string.h>

#include "campaign.h"
#include "limits.h"
#include "store_int.h"

/* Members of list ?1 that the segment (%1$s) and, for a follow-up, its
 * audience clause (%2$s, naming the parent as ?4) select. */
#define AUDIENCE_FROM \
	"FROM list_members m JOIN recipients r ON r.id = m.recipient_id " \
	"WHERE m.list_id = ?1 AND %1$s AND %2$s "

/*
 * A follow-up reaches recipients its parent (?4) delivered to, by what
 * they did with it; a click counts as an open (the images may have been
 * blocked), and what a machine opened or clicked counts as nothing.
 */
#define FOLLOW_DELIVERED \
	"EXISTS (SELECT 1 FROM deliveries fd WHERE fd.campaign_id = ?4 AND " \
	"fd.domain = r.domain AND fd.recipient_id = r.id AND " \
	"fd.status = 'delivered')"
#define FOLLOW_DID(TYPES) \
	"EXISTS (SELECT 1 FROM events fe WHERE fe.recipient_id = r.id AND " \
	"fe.type IN " TYPES " AND fe.campaign_id = ?4 AND fe.machine = 0)"

static const struct {
	const char *name;
	const char *sql;
} follow_ups[] = {
	{ "opened", FOLLOW_DELIVERED " AND " FOLLOW_DID("('opened', 'clicked')") },
	{ "not-opened", FOLLOW_DELIVERED " AND NOT "
	    FOLLOW_DID("('opened', 'clicked')") },
	{ "clicked", FOLLOW_DELIVERED " AND " FOLLOW_DID("('clicked')") },
	{ "not-clicked", FOLLOW_DELIVERED " AND NOT " FOLLOW_DID("('clicked')") },
};

/* The clause of a follow-up audience; NULL when there is none such. */
static const char *
follow_up_sql(const char *audience)
{
	size_t i;

	for (i = 0; i < sizeof(follow_ups) / sizeof(follow_ups[0]); i++)
		if (strcmp(follow_ups[i].name, audience) == 0)
			return follow_ups[i].sql;
	return NULL;
}

/*
 * Suppressed members the segment selects, counted from the suppressions'
 * side: the cost follows the number of suppressions, not the list's size,
 * so only the segment itself runs once per member.
 */
#define AUDIENCE_SUPPRESSED \
	"SELECT count(*) FROM (SELECT r.id FROM suppressions s JOIN " \
	"recipients r ON r.address_key = s.value JOIN list_members m ON " \
	"m.list_id = ?1 AND m.recipient_id = r.id WHERE s.kind = 'address' " \
	"AND ifnull(s.list_id, ?1) = ?1 AND %1$s AND %2$s UNION SELECT r.id " \
	"FROM suppressions s JOIN recipients r ON r.domain = s.value JOIN " \
	"list_members m ON m.list_id = ?1 AND m.recipient_id = r.id WHERE " \
	"s.kind = 'domain' AND ifnull(s.list_id, ?1) = ?1 AND %1$s AND %2$s)"

static int
list_size(struct store *st, int64_t list_id, int64_t *n, struct err *e)
{
	sqlite3_stmt *stmt;

	if (store_prepare(st, "SELECT count(*) FROM list_members WHERE "
	    "list_id = ?1", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, list_id);
	return store_scalar(st, stmt, n, e);
}

/* Who an audience is chosen from: a list, a segment, and for a
 * follow-up its clause and parent. */
struct audience_src {
	int64_t list_id;
	const char *segment;	/* NULL: the whole list */
	const char *and;	/* follow_up_sql(); NULL: none */
	int64_t parent;
};

static int
audience_prepare(struct store *st, const char *sql,
    const struct audience_src *src, sqlite3_stmt **stmt, struct err *e)
{
	if (store_segment_prepare(st, sql, src->segment, src->and, stmt,
	    e) < 0)
		return -1;
	sqlite3_bind_int64(*stmt, 1, src->list_id);
	if (src->and != NULL)
		sqlite3_bind_int64(*stmt, 4, src->parent);
	return 0;
}

/* Runs a one-row count under the segment guard's deadline. */
static int
audience_scalar(struct store *st, const char *sql,
    const struct audience_src *src, int64_t ms, int64_t *out, struct err *e)
{
	sqlite3_stmt *stmt;
	int rc;

	if (audience_prepare(st, sql, src, &stmt, e) < 0)
		return -1;
	store_deadline_set(st, ms);
	rc = sqlite3_step(stmt);
	store_deadline_clear(st);
	*out = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
	sqlite3_finalize(stmt);
	if (rc == SQLITE_INTERRUPT)
		return err_set(e, EX_DATAERR, "segment: evaluating it took "
		    "longer than %lld ms; simplify it", (long long)ms);
	if (rc != SQLITE_ROW)
		return store_sqlerr(st, e, "counting the audience");
	return 0;
}

static int
audience_count(struct store *st, const struct audience_src *src,
    struct audience *aud, struct err *e)
{
	int64_t ms;

	memset(aud, 0, sizeof(*aud));
	if (list_size(st, src->list_id, &aud->members, e) < 0)
		return -1;
	/* The guard's budget: LIMIT_SEGMENT_MS, and as much again for every
	 * further LIMIT_SEGMENT_ROWS members, since a segment is evaluated
	 * once per member and a big list must not be refused for its size. */
	ms = LIMIT_SEGMENT_MS * (1 + aud->members / LIMIT_SEGMENT_ROWS);
	if (audience_scalar(st, "SELECT count(*) " AUDIENCE_FROM, src, ms,
	    &aud->matching, e) < 0 ||
	    audience_scalar(st, AUDIENCE_SUPPRESSED, src, ms, &aud->suppressed,
	    e) < 0)
		return -1;
	aud->eligible = aud->matching - aud->suppressed;
	return 0;
}

int
store_audience_count(struct store *st, int64_t list_id, const char *segment,
    struct audience *aud, struct err *e)
{
	struct audience_src src = { list_id, segment, NULL, 0 };

	return audience_count(st, &src, aud, e);
}

/* The campaign's id by name, for a follow-up's parent. */
static int
campaign_id(struct store *st, const char *name, int64_t *id, struct err *e)
{
	sqlite3_stmt *stmt;

	if (store_prepare(st, "SELECT id FROM campaigns WHERE name = ?1",
	    &stmt, e) < 0)
		return -1;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	if (store_scalar(st, stmt, id, e) < 0)
		return -1;
	if (*id == 0)
		return err_set(e, EX_NOINPUT, "no campaign named \"%s\"", name);
	return 0;
}

int
store_campaign_audience(struct store *st, const struct campaign_info *ci,
    struct audience *aud, struct err *e)
{
	struct audience_src src = { ci->list_id, ci->segment, NULL, 0 };

	if (ci->follow_up_of != NULL) {
		if ((src.and = follow_up_sql(ci->follow_up_audience)) == NULL)
			return err_set(e, EX_SOFTWARE, "campaign %s: unknown "
			    "follow-up audience", ci->name);
		if (campaign_id(st, ci->follow_up_of, &src.parent, e) < 0)
			return -1;
	}
	return audience_count(st, &src, aud, e);
}

static int
campaign_template_version(struct store *st, const char *name, int64_t *id,
    struct err *e)
{
	sqlite3_stmt *stmt;

	if (store_prepare(st, "SELECT v.id FROM templates t JOIN "
	    "template_versions v ON v.template_id = t.id WHERE t.name = ?1 "
	    "ORDER BY v.version DESC LIMIT 1", &stmt, e) < 0)
		return -1;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	if (store_scalar(st, stmt, id, e) < 0)
		return -1;
	if (*id == 0)
		return err_set(e, EX_NOINPUT, "no template named \"%s\"", name);
	return 0;
}

/* A cancelled campaign never finishes: nothing could follow it up. */
static int
parent_not_cancelled(struct store *st, const char *name, int64_t id,
    struct err *e)
{
	sqlite3_stmt *stmt;
	int64_t n;

	if (store_prepare(st, "SELECT count(*) FROM campaigns WHERE id = ?1 "
	    "AND status = 'cancelled'", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	if (store_scalar(st, stmt, &n, e) < 0)
		return -1;
	return n == 0 ? 0 : err_set(e, EX_DATAERR, "campaign \"%s\" was "
	    "cancelled: it never finishes, so nothing can follow it up", name);
}

/* Resolves the spec's names and counts who it would reach now. */
static int
create_resolve(struct store *st, const struct campaign_spec *spec,
    struct audience_src *src, int64_t *tv_id, struct audience *aud,
    struct err *e)
{
	memset(src, 0, sizeof(*src));
	src->segment = spec->segment && *spec->segment ? spec->segment : NULL;
	if (store_check_name("campaign", spec->name, e) < 0 ||
	    store_list_id(st, spec->list, &src->list_id, e) < 0 ||
	    campaign_template_version(st, spec->template_name, tv_id, e) < 0)
		return -1;
	if (spec->follow_up_of != NULL) {
		if (spec->scheduled_at != 0)
			return err_set(e, EX_USAGE, "a follow-up is due when "
			    "its parent has finished; it takes no schedule");
		if (spec->follow_up_after < 0)
			return err_set(e, EX_USAGE, "a follow-up's delay "
			    "cannot be negative");
		if (spec->follow_up_audience == NULL ||
		    (src->and = follow_up_sql(spec->follow_up_audience)) ==
		    NULL)
			return err_set(e, EX_USAGE, "a follow-up's audience is "
			    "opened, not-opened, clicked or not-clicked");
		if (campaign_id(st, spec->follow_up_of, &src->parent, e) < 0 ||
		    parent_not_cancelled(st, spec->follow_up_of, src->parent,
		    e) < 0)
			return -1;
	}
	/* Counting first also vets the segment before anything is written. */
	return audience_count(st, src, aud, e);
}

/* An A/B test's settings and its variants' template versions. */
static int
create_variants(struct store *st, const struct campaign_spec *spec,
    int64_t tv_id, int64_t *tv, struct err *e)
{
	int i;

	if (spec->nvariants == 0)
		return 0;
	if (spec->nvariants < 1 || spec->nvariants > AB_MAX - 1)
		return err_set(e, EX_USAGE, "an A/B test has 2 to %d variants",
		    AB_MAX);
	if (spec->ab_share < 1 || spec->ab_share > 90)
		return err_set(e, EX_USAGE, "an A/B test's share is 1 to 90 "
		    "percent of the audience");
	if (spec->ab_wait < 0)
		return err_set(e, EX_USAGE, "an A/B test's wait cannot be "
		    "negative");
	if (spec->ab_metric == NULL || (strcmp(spec->ab_metric, "opens") != 0 &&
	    strcmp(spec->ab_metric, "clicks") != 0))
		return err_set(e, EX_USAGE, "an A/B test picks its winner by "
		    "opens or clicks");
	tv[0] = tv_id;
	for (i = 0; i < spec->nvariants; i++) {
		const struct campaign_variant_spec *v = &spec->variants[i];

		tv[i + 1] = tv_id;
		if (v->template_name != NULL && campaign_template_version(st,
		    v->template_name, &tv[i + 1], e) < 0)
			return -1;
	}
	return 0;
}

static int
insert_variants(struct store *st, int64_t id, const struct campaign_spec *spec,
    const int64_t *tv, struct err *e)
{
	sqlite3_stmt *stmt;
	int i;

	if (store_prepare(st, "INSERT INTO campaign_variants(campaign_id, "
	    "variant, template_version_id, subject) VALUES(?1, ?2, ?3, ?4)",
	    &stmt, e) < 0)
		return -1;
	for (i = 0; i <= spec->nvariants; i++) {
		sqlite3_bind_int64(stmt, 1, id);
		sqlite3_bind_int(stmt, 2, i);
		sqlite3_bind_int64(stmt, 3, tv[i]);
		if (i > 0 && spec->variants[i - 1].subject != NULL)
			sqlite3_bind_text(stmt, 4, spec->variants[i - 1].subject,
			    -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(stmt, 4);
		if (sqlite3_step(stmt) != SQLITE_DONE) {
			sqlite3_finalize(stmt);
			return store_sqlerr(st, e, "storing the variants");
		}
		sqlite3_reset(stmt);
	}
	sqlite3_finalize(stmt);
	return 0;
}

static int
insert_campaign(struct store *st, const struct campaign_spec *spec,
    const struct audience_src *src, int64_t tv_id, int64_t *id,
    struct err *e)
{
	sqlite3_stmt *stmt;
	int64_t now = store_now_ms();
	int follow = spec->follow_up_of != NULL, ab = spec->nvariants > 0;

	if (store_prepare(st, "INSERT INTO campaigns(name, list_id, segment, "
	    "template_version_id, from_name, from_addr, reply_to, status, "
	    "scheduled_at, created_at, updated_at, options, follow_up_of, "
	    "follow_up_audience, follow_up_after, ab_share, ab_wait, "
	    "ab_metric) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, "
	    "?11, ?12, ?13, ?14, ?15, ?16, ?17)", &stmt, e) < 0)
		return -1;
	sqlite3_bind_text(stmt, 11, spec->options ? spec->options : "{}", -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(stmt, 1, spec->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, src->list_id);
	if (src->segment != NULL)
		sqlite3_bind_text(stmt, 3, src->segment, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, tv_id);
	sqlite3_bind_text(stmt, 5, spec->from_name ? spec->from_name : "", -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(stmt, 6, spec->from_addr, -1, SQLITE_STATIC);
	if (spec->reply_to != NULL)
		sqlite3_bind_text(stmt, 7, spec->reply_to, -1, SQLITE_STATIC);
	/* A follow-up waits as scheduled with no time: send --due works
	 * its time out from the parent's end. */
	sqlite3_bind_text(stmt, 8, spec->scheduled_at || follow ?
	    "scheduled" : "draft", -1, SQLITE_STATIC);
	if (spec->scheduled_at)
		sqlite3_bind_int64(stmt, 9, spec->scheduled_at);
	sqlite3_bind_int64(stmt, 10, now);
	if (follow) {
		sqlite3_bind_int64(stmt, 12, src->parent);
		sqlite3_bind_text(stmt, 13, spec->follow_up_audience, -1,
		    SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 14, spec->follow_up_after);
	}
	if (ab) {
		sqlite3_bind_int(stmt, 15, spec->ab_share);
		sqlite3_bind_int64(stmt, 16, spec->ab_wait);
		sqlite3_bind_text(stmt, 17, spec->ab_metric, -1, SQLITE_STATIC);
	}
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		int rc = sqlite3_extended_errcode(st->db);

		sqlite3_finalize(stmt);
		if (rc == SQLITE_CONSTRAINT_UNIQUE)
			return err_set(e, EX_DATAERR, "campaign \"%s\" already "
			    "exists", spec->name);
		return store_sqlerr(st, e, "creating a campaign");
	}
	sqlite3_finalize(stmt);
	*id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int
store_campaign_create(struct store *st, const struct campaign_spec *spec,
    struct audience *aud, struct err *e)
{
	struct audience_src src;
	int64_t tv_id, id = 0, tv[AB_MAX];

	if (create_resolve(st, spec, &src, &tv_id, aud, e) < 0 ||
	    create_variants(st, spec, tv_id, tv, e) < 0)
		return -1;
	if (store_begin(st, e) < 0)
		return -1;
	if (insert_campaign(st, spec, &src, tv_id, &id, e) < 0 ||
	    (spec->nvariants > 0 && insert_variants(st, id, spec, tv, e) < 0) ||
	    store_commit(st, e) < 0) {
		store_rollback(st);
		return -1;
	}
	return 0;
}

#define CAMPAIGN_SELECT \
	"SELECT c.id, c.name, c.list_id, l.name, c.segment, t.name, " \
	"v.version, c.from_name, c.from_addr, c.reply_to, c.status, " \
	"ifnull(c.scheduled_at, 0), ifnull(c.started_at, 0), " \
	"ifnull(c.finished_at, 0), c.created_at, c.paused_reason, p.name, " \
	"c.follow_up_audience, ifnull(c.follow_up_after, 0), CASE WHEN " \
	"p.status = 'done' THEN p.finished_at + c.follow_up_after ELSE 0 " \
	"END, ifnull(c.ab_share, 0), ifnull(c.ab_wait, 0), c.ab_metric, " \
	"ifnull(c.ab_winner, -1), ifnull(c.ab_decided_at, 0) " \
	"FROM campaigns c " \
	"JOIN lists l ON l.id = c.list_id JOIN template_versions v ON " \
	"v.id = c.template_version_id JOIN templates t ON " \
	"t.id = v.template_id LEFT JOIN campaigns p ON p.id = c.follow_up_of "

struct campaign_rows {
	store_campaign_cb cb;
	void *ctx;
};

static int
campaign_row(sqlite3_stmt *stmt, void *arg)
{
	struct campaign_rows *cr = arg;
	struct campaign_info c;

	c.id = sqlite3_column_int64(stmt, 0);
	c.name = store_col_text(stmt, 1);
	c.list_id = sqlite3_column_int64(stmt, 2);
	c.list = store_col_text(stmt, 3);
	c.segment = store_col_text(stmt, 4);
	c.template_name = store_col_text(stmt, 5);
	c.template_version = sqlite3_column_int(stmt, 6);
	c.from_name = store_col_text(stmt, 7);
	c.from_addr = store_col_text(stmt, 8);
	c.reply_to = store_col_text(stmt, 9);
	c.status = store_col_text(stmt, 10);
	c.scheduled_at = sqlite3_column_int64(stmt, 11);
	c.started_at = sqlite3_column_int64(stmt, 12);
	c.finished_at = sqlite3_column_int64(stmt, 13);
	c.created_at = sqlite3_column_int64(stmt, 14);
	c.paused_reason = sqlite3_column_type(stmt, 15) == SQLITE_NULL ?
	    NULL : store_col_text(stmt, 15);
	c.follow_up_of = sqlite3_column_type(stmt, 16) == SQLITE_NULL ?
	    NULL : store_col_text(stmt, 16);
	c.follow_up_audience = store_col_text(stmt, 17);
	c.follow_up_after = sqlite3_column_int64(stmt, 18);
	c.follow_up_due = sqlite3_column_int64(stmt, 19);
	c.ab_share = sqlite3_column_int(stmt, 20);
	c.ab_wait = sqlite3_column_int64(stmt, 21);
	c.ab_metric = store_col_text(stmt, 22);
	c.ab_winner = sqlite3_column_int(stmt, 23);
	c.ab_decided_at = sqlite3_column_int64(stmt, 24);
	return cr->cb(&c, cr->ctx);
}

static int
campaign_rows(struct store *st, sqlite3_stmt *stmt, store_campaign_cb cb,
    void *ctx, int *found, struct err *e)
{
	struct campaign_rows cr = { cb, ctx };

	return store_rows(st, stmt, campaign_row, &cr, "reading campaigns",
	    found, e);
}

int
store_campaign_get(struct store *st, const char *name, store_campaign_cb cb,
    void *ctx, struct err *e)
{
	sqlite3_stmt *stmt;
	int found;

	if (store_prepare(st, CAMPAIGN_SELECT "WHERE c.name = ?1", &stmt,
	    e) < 0)
		return -1;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	if (campaign_rows(st, stmt, cb, ctx, &found, e) < 0)
		return -1;
	if (found == 0)
		return err_set(e, EX_NOINPUT, "no campaign named \"%s\"", name);
	return 0;
}

int
store_campaign_each(struct store *st, store_campaign_cb cb, void *ctx,
    struct err *e)
{
	sqlite3_stmt *stmt;
	int found;

	if (store_prepare(st, CAMPAIGN_SELECT "ORDER BY c.created_at, c.id",
	    &stmt, e) < 0)
		return -1;
	return campaign_rows(st, stmt, cb, ctx, &found, e);
}

/* The campaign's id, status and whether it ever started, read inside the
 * caller's transaction; for a follow-up, its parent's id and status. */
struct campaign_state {
	int64_t id;
	int64_t list_id;
	char status[16];
	int started;
	char *segment;
	int64_t parent;			/* 0: not a follow-up */
	char parent_name[LIMIT_NAME + 1];
	char parent_status[16];
	const char *follow_up;		/* follow_up_sql() */
};

static int
campaign_state(struct store *st, const char *name, struct campaign_state *cs,
    struct err *e)
{
	sqlite3_stmt *stmt;
	int rc;

	if (store_prepare(st, "SELECT c.id, c.list_id, c.status, "
	    "c.started_at IS NOT NULL, c.segment, ifnull(p.id, 0), p.name, "
	    "p.status, c.follow_up_audience FROM campaigns c LEFT JOIN "
	    "campaigns p ON p.id = c.follow_up_of WHERE c.name = ?1", &stmt,
	    e) < 0)
		return -1;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		cs->id = sqlite3_column_int64(stmt, 0);
		cs->list_id = sqlite3_column_int64(stmt, 1);
		snprintf(cs->status, sizeof(cs->status), "%s",
		    store_col_text(stmt, 2));
		cs->started = sqlite3_column_int(stmt, 3);
		cs->segment = sqlite3_column_type(stmt, 4) == SQLITE_NULL ?
		    NULL : sqlite3_mprintf("%s", store_col_text(stmt, 4));
		cs->parent = sqlite3_column_int64(stmt, 5);
		if (cs->parent != 0) {
			snprintf(cs->parent_name, sizeof(cs->parent_name),
			    "%s", store_col_text(stmt, 6));
			snprintf(cs->parent_status, sizeof(cs->parent_status),
			    "%s", store_col_text(stmt, 7));
			cs->follow_up = follow_up_sql(store_col_text(stmt, 8));
		}
	}
	sqlite3_finalize(stmt);
	if (rc == SQLITE_DONE)
		return err_set(e, EX_NOINPUT, "no campaign named \"%s\"", name);
	if (rc != SQLITE_ROW)
		return store_sqlerr(st, e, "reading a campaign");
	return 0;
}

static int
campaign_set_status(struct store *st, const struct campaign_state *cs,
    const char *to, int64_t scheduled_at, struct err *e)
{
	sqlite3_stmt *stmt;
	int64_t now = store_now_ms();

	if (store_prepare(st, "UPDATE campaigns SET status = ?2, updated_at = "
	    "?3, paused_reason = NULL, scheduled_at = CASE WHEN ?4 > 0 THEN "
	    "?4 ELSE scheduled_at END, started_at = CASE WHEN ?2 = 'running' THEN ifnull(started_at,"
	    " ?3) ELSE started_at END, finished_at = CASE WHEN ?2 IN ('done', "
	    "'cancelled') THEN ?3 ELSE finished_at END WHERE id = ?1 AND "
	    "status = ?5", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, cs->id);
	sqlite3_bind_text(stmt, 2, to, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, now);
	sqlite3_bind_int64(stmt, 4, scheduled_at);
	sqlite3_bind_text(stmt, 5, cs->status, -1, SQLITE_STATIC);
	if (store_step_done(st, stmt, "changing a campaign's status", e) < 0)
		return -1;
	if (sqlite3_changes(st->db) != 1)
		return err_set(e, EX_TEMPFAIL, "the campaign changed while "
		    "this ran; try again");
	return 0;
}

int
store_campaign_action(struct store *st, const char *name, const char *action,
    int64_t at, const char **status, struct err *e)
{
	struct campaign_state cs = { 0 };

	if (strcmp(action, "start") == 0)
		return err_set(e, EX_SOFTWARE, "use store_campaign_start()");
	if (store_begin(st, e) < 0)
		return -1;
	if (campaign_state(st, name, &cs, e) < 0 ||
	    campaign_transition(cs.status, action, cs.started, status, e) < 0)
		goto fail;
	if (cs.parent != 0 && strcmp(action, "schedule") == 0) {
		err_set(e, EX_DATAERR, "campaign \"%s\" follows up \"%s\" and "
		    "is due when that has finished; it takes no schedule", name,
		    cs.parent_name);
		goto fail;
	}
	if (campaign_set_status(st, &cs, *status, at, e) < 0 ||
	    store_commit(st, e) < 0)
		goto fail;
	sqlite3_free(cs.segment);
	return 0;
fail:
	sqlite3_free(cs.segment);
	store_rollback(st);
	return -1;
}

static int
campaign_materialise(struct store *st, const struct campaign_state *cs,
    int64_t *created, struct err *e)
{
	struct audience_src src = { cs->list_id, cs->segment, cs->follow_up,
	    cs->parent };
	sqlite3_stmt *stmt;
	int64_t now = store_now_ms(), members, ms;
	int rc;

	/* The budget grows with the list as the segment guard's does, so a
	 * segment that could be counted can also be resolved. */
	if (list_size(st, cs->list_id, &members, e) < 0)
		return -1;
	ms = LIMIT_AUDIENCE_MS * (1 + members / LIMIT_SEGMENT_ROWS);
	/* Sorted into the table's key order: appending beats inserting
	 * all over the B-tree by a factor of three. */
	if (audience_prepare(st, "INSERT INTO deliveries(campaign_id, "
	    "recipient_id, domain, status, next_attempt_at, created_at, "
	    "updated_at) SELECT ?2, r.id, r.domain, 'pending', ?3, ?3, ?3 "
	    AUDIENCE_FROM "AND NOT " STORE_SUPPRESSED("?1")
	    " ORDER BY r.domain, r.id ON CONFLICT DO NOTHING", &src, &stmt,
	    e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 2, cs->id);
	sqlite3_bind_int64(stmt, 3, now);
	store_deadline_set(st, ms);
	rc = sqlite3_step(stmt);
	store_deadline_clear(st);
	sqlite3_finalize(stmt);
	if (rc == SQLITE_INTERRUPT)
		return err_set(e, EX_TEMPFAIL, "resolving the audience took "
		    "longer than %lld s", (long long)(ms / 1000));
	if (rc != SQLITE_DONE)
		return store_sqlerr(st, e, "resolving the audience");
	*created = sqlite3_changes(st->db);
	return 0;
}

/* Its audience is what the parent's recipients did: it must be over. */
static int
follow_up_ready(const struct campaign_state *cs, const char *name,
    struct err *e)
{
	if (cs->parent == 0 || strcmp(cs->parent_status, "done") == 0)
		return 0;
	if (strcmp(cs->parent_status, "cancelled") == 0)
		return err_set(e, EX_DATAERR, "campaign \"%s\" follows up "
		    "\"%s\", which was cancelled: it never comes due; cancel "
		    "it, or make a campaign of its own", name, cs->parent_name);
	return err_set(e, EX_DATAERR, "campaign \"%s\" follows up \"%s\", "
	    "which is %s: it starts once that has finished", name,
	    cs->parent_name, cs->parent_status);
}

int
store_campaign_start(struct store *st, const char *name, int64_t *created,
    struct err *e)
{
	return store_campaign_start_links(st, name, NULL, 0, created, e);
}

int
store_campaign_start_links(struct store *st, const char *name,
    const char *const *urls, int nurls, int64_t *created, struct err *e)
{
	struct campaign_state cs = { 0 };
	const char *to;

	*created = 0;
	/*
	 * Every delivery row comes from joining its campaign and recipient
	 * inside this transaction, so the per-row foreign key probes prove
	 * nothing and cost half the time (1,000,000 rows: 3.0 s against
	 * 1.5 s). The pragma cannot change inside a transaction, hence
	 * around it.
	 */
	if (store_exec(st, "PRAGMA foreign_keys = OFF", e) < 0)
		return -1;
	if (store_begin(st, e) < 0)
		goto fail;
	if (campaign_state(st, name, &cs, e) < 0 ||
	    campaign_transition(cs.status, "start", cs.started, &to, e) < 0 ||
	    follow_up_ready(&cs, name, e) < 0 ||
	    store_campaign_links(st, cs.id, urls, nurls, e) < 0 ||
	    campaign_materialise(st, &cs, created, e) < 0 ||
	    store_ab_assign(st, cs.id, *created, e) < 0 ||
	    campaign_set_status(st, &cs, to, 0, e) < 0 ||
	    store_commit(st, e) < 0)
		goto fail;
	sqlite3_free(cs.segment);
	return store_exec(st, "PRAGMA foreign_keys = ON", e);
fail:
	sqlite3_free(cs.segment);
	store_rollback(st);
	if (store_exec(st, "PRAGMA foreign_keys = ON", NULL) < 0)
		return -1;	/* the first error is the one to report */
	return -1;
}

int
store_delivery_counts(struct store *st, int64_t campaign_id,
    store_count_cb cb, void *ctx, struct err *e)
{
	sqlite3_stmt *stmt;

	if (store_prepare(st, "SELECT status, count(*) FROM deliveries WHERE "
	    "campaign_id = ?1 GROUP BY status ORDER BY status", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, campaign_id);
	return store_count_rows(st, stmt, cb, ctx, "counting deliveries", e);
}

struct render_rows {
	store_render_cb cb;
	void *ctx;
};

static int
render_row(sqlite3_stmt *stmt, void *arg)
{
	struct render_rows *rr = arg;
	struct campaign_render cr;

	cr.id = sqlite3_column_int64(stmt, 0);
	cr.list_id = sqlite3_column_int64(stmt, 1);
	cr.name = store_col_text(stmt, 2);
	cr.status = store_col_text(stmt, 3);
	cr.from_name = store_col_text(stmt, 4);
	cr.from_addr = store_col_text(stmt, 5);
	cr.reply_to = store_col_text(stmt, 6);
	cr.options = store_col_text(stmt, 7);
	cr.template_name = store_col_text(stmt, 8);
	cr.template_version = sqlite3_column_int(stmt, 9);
	cr.subject = store_col_text(stmt, 10);
	cr.html = store_col_text(stmt, 11);
	cr.text = store_col_text(stmt, 12);
	return rr->cb(&cr, rr->ctx);
}

int
store_campaign_render(struct store *st, const char *name,
    store_render_cb cb, void *ctx, struct err *e)
{
	struct render_rows rr = { cb, ctx };
	sqlite3_stmt *stmt;
	int found;

	if (store_prepare(st, "SELECT c.id, c.list_id, c.name, c.status, "
	    "c.from_name, c.from_addr, c.reply_to, c.options, t.name, "
	    "v.version, v.subject, v.html, v.text FROM campaigns c JOIN "
	    "template_versions v ON v.id = c.template_version_id JOIN "
	    "templates t ON t.id = v.template_id WHERE c.name = ?1", &stmt,
	    e) < 0)
		return -1;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	if (store_rows(st, stmt, render_row, &rr, "reading a campaign", &found,
	    e) < 0)
		return -1;
	if (found == 0)
		return err_set(e, EX_NOINPUT, "no campaign named \"%s\"", name);
	return 0;
}

int
store_campaign_links(struct store *st, int64_t campaign_id,
    const char *const *urls, int n, struct err *e)
{
	sqlite3_stmt *stmt;
	int i, rc;

	if (store_prepare(st, "INSERT OR IGNORE INTO campaign_links("
	    "campaign_id, idx, url) VALUES(?1, ?2, ?3)", &stmt, e) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (urls[i] == NULL)
			continue;
		sqlite3_bind_int64(stmt, 1, campaign_id);
		sqlite3_bind_int(stmt, 2, i);
		sqlite3_bind_text(stmt, 3, urls[i], -1, SQLITE_STATIC);
		rc = sqlite3_step(stmt);
		sqlite3_reset(stmt);
		if (rc != SQLITE_DONE) {
			store_sqlerr(st, e, "recording links");
			sqlite3_finalize(stmt);
			return -1;
		}
	}
	sqlite3_finalize(stmt);
	return 0;
}
