/*
 * store_hygiene.c - what list hygiene reads and the suppressions it
 * writes; see store.h "hygiene" and hygiene.h.
 *
 * Every read is one statement over one page, reset at once, so the run
 * holds no read transaction between pages and a WAL checkpoint or a
 * sender in another process never waits on it. Statements are prepared
 * once per run: preparing one per recipient would cost more than the
 * queries.
 *
 * A recipient's history comes from events, whose index is by recipient;
 * deliveries have no recipient index (store 002), so the hard-bounce test
 * reaches them by their primary key through the campaigns the recipient
 * has a bounced event in (every bounce that sets bounce_class records
 * one).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "xalloc.h"

enum {
	HQ_DOMAINS, HQ_PAGE, HQ_HISTORY, HQ_DUP_GET, HQ_DUP_PUT, HQ_KEY,
	HQ_SUPPRESS, HQ_N
};

struct store_hyg {
	struct store *st;
	int64_t list_id;	/* 0: every recipient */
	int recent;
	sqlite3_stmt *q[HQ_N];
};

/* The page's rows: every recipient, or one list's members, by id. */
#define HYG_COLS \
	"SELECT r.id, r.address, r.address_key, r.domain, " \
	"coalesce((SELECT group_concat(name, ';') FROM (SELECT l.name FROM " \
	"list_members m JOIN lists l ON l.id = m.list_id WHERE " \
	"m.recipient_id = r.id ORDER BY l.name)), ''), " \
	"EXISTS (SELECT 1 FROM events e WHERE e.recipient_id = r.id), " \
	"EXISTS (SELECT 1 FROM suppressions s WHERE s.kind = 'address' AND " \
	"s.value = r.address_key AND s.source = 'unsubscribe'), " \
	"EXISTS (SELECT 1 FROM suppressions s WHERE s.kind = 'address' AND " \
	"s.value = r.address_key AND ifnull(s.list_id, 0) = 0) "

static const char *const hyg_all_sql[] = {
	[HQ_DOMAINS] = "SELECT domain FROM recipients WHERE domain > ?1 "
	    "GROUP BY domain ORDER BY domain LIMIT ?2",
	[HQ_PAGE] = HYG_COLS "FROM recipients r WHERE r.id > ?1 "
	    "ORDER BY r.id LIMIT ?2",
	[HQ_KEY] = "SELECT id, address FROM recipients WHERE "
	    "address_key = ?1 AND id < ?2",
};

static const char *const hyg_list_sql[] = {
	[HQ_DOMAINS] = "SELECT r.domain FROM recipients r WHERE r.domain > ?1 "
	    "AND EXISTS (SELECT 1 FROM list_members m WHERE m.list_id = ?3 "
	    "AND m.recipient_id = r.id) GROUP BY r.domain ORDER BY r.domain "
	    "LIMIT ?2",
	[HQ_PAGE] = HYG_COLS "FROM list_members lm JOIN recipients r ON "
	    "r.id = lm.recipient_id WHERE lm.list_id = ?3 AND "
	    "lm.recipient_id > ?1 ORDER BY lm.recipient_id LIMIT ?2",
	[HQ_KEY] = "SELECT r.id, r.address FROM recipients r WHERE "
	    "r.address_key = ?1 AND r.id < ?2 AND EXISTS (SELECT 1 FROM "
	    "list_members m WHERE m.list_id = ?3 AND m.recipient_id = r.id)",
};

/*
 * ?1 the recipient, ?2 its domain, ?3 N. "The last N campaigns" are the
 * N with the latest delivered events.
 */
static const char hyg_history_sql[] =
	"SELECT "
	"EXISTS (SELECT 1 FROM events e JOIN deliveries d ON "
	"d.campaign_id = e.campaign_id AND d.domain = ?2 AND "
	"d.recipient_id = ?1 WHERE e.recipient_id = ?1 AND "
	"e.type = 'bounced' AND d.bounce_class = 'hard'), "
	"(SELECT count(DISTINCT campaign_id) FROM events WHERE "
	"recipient_id = ?1 AND type = 'bounced' AND "
	"json_extract(detail, '$.class') = 'soft'), "
	"EXISTS (SELECT 1 FROM events WHERE recipient_id = ?1 AND "
	"type = 'complained'), "
	"EXISTS (SELECT 1 FROM events WHERE recipient_id = ?1 AND "
	"type = 'unsubscribed'), "
	"(SELECT count(DISTINCT campaign_id) FROM events WHERE "
	"recipient_id = ?1 AND type = 'delivered'), "
	"EXISTS (SELECT 1 FROM events o WHERE o.recipient_id = ?1 AND "
	"o.type IN ('opened', 'clicked') AND o.machine = 0 AND "
	"o.campaign_id IN (SELECT campaign_id FROM events WHERE "
	"recipient_id = ?1 AND type = 'delivered' AND campaign_id IS NOT NULL "
	"GROUP BY campaign_id ORDER BY max(at) DESC LIMIT ?3)), "
	"(SELECT coalesce(min(at), 0) FROM events WHERE recipient_id = ?1 AND "
	"type = 'delivered'), "
	"(SELECT coalesce(max(at), 0) FROM events WHERE recipient_id = ?1 AND "
	"type = 'delivered'), "
	"(SELECT coalesce(max(at), 0) FROM events WHERE recipient_id = ?1 AND "
	"type IN ('opened', 'clicked') AND machine = 0)";

static const char *const hyg_common_sql[] = {
	[HQ_HISTORY] = hyg_history_sql,
	[HQ_DUP_GET] = "SELECT id, address FROM temp.hygiene_norm WHERE "
	    "norm = ?1",
	[HQ_DUP_PUT] = "INSERT OR IGNORE INTO temp.hygiene_norm(norm, id, "
	    "address) VALUES(?1, ?2, ?3)",
	[HQ_SUPPRESS] = "INSERT INTO suppressions(kind, value, list_id, "
	    "reason, source, created_at) VALUES('address', ?1, ?4, ?2, "
	    "'hygiene', ?3) ON CONFLICT DO NOTHING",
};

void
store_hyg_close(struct store_hyg *h)
{
	int i;

	if (h == NULL)
		return;
	for (i = 0; i < HQ_N; i++)
		sqlite3_finalize(h->q[i]);
	/* The run's own table; a failure here leaves it to the connection's
	   end, which drops every TEMP table anyway. */
	(void)sqlite3_exec(h->st->db, "DROP TABLE IF EXISTS "
	    "temp.hygiene_norm", NULL, NULL, NULL);
	free(h);
}

int
store_hyg_open(struct store *st, const char *list, int recent,
    struct store_hyg **out, struct err *e)
{
	struct store_hyg *h;
	const char *sql;
	int i;

	*out = NULL;
	h = xcalloc(1, sizeof(*h));
	h->st = st;
	h->recent = recent > 0 ? recent : 1;
	if (list != NULL && store_list_id(st, list, &h->list_id, e) < 0)
		goto fail;
	if (store_exec(st, "CREATE TEMP TABLE IF NOT EXISTS hygiene_norm("
	    "norm TEXT PRIMARY KEY, id INTEGER NOT NULL, address TEXT NOT "
	    "NULL) WITHOUT ROWID; DELETE FROM temp.hygiene_norm", e) < 0)
		goto fail;
	for (i = 0; i < HQ_N; i++) {
		sql = hyg_common_sql[i];
		if (sql == NULL)
			sql = h->list_id ? hyg_list_sql[i] : hyg_all_sql[i];
		if (store_prepare(st, sql, &h->q[i], e) < 0)
			goto fail;
		if (h->list_id && sqlite3_bind_parameter_count(h->q[i]) >= 3 &&
		    i != HQ_HISTORY)
			sqlite3_bind_int64(h->q[i], 3, h->list_id);
	}
	*out = h;
	return 0;
fail:
	store_hyg_close(h);
	return -1;
}

/* Resets a cached statement after use; reports a step error. */
static int
hyg_done(struct store_hyg *h, sqlite3_stmt *q, int rc, const char *what,
    struct err *e)
{
	sqlite3_reset(q);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return store_sqlerr(h->st, e, what);
	return 0;
}

int
store_hyg_domains(struct store_hyg *h, const char *after, int limit,
    store_name_cb cb, void *ctx, int *n, struct err *e)
{
	sqlite3_stmt *q = h->q[HQ_DOMAINS];
	int rc;

	*n = 0;
	sqlite3_bind_text(q, 1, after, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(q, 2, limit);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		(*n)++;
		if (cb(store_col_text(q, 0), ctx) != 0) {
			sqlite3_reset(q);
			return err_set(e, EX_SOFTWARE, "hygiene: a domain "
			    "could not be kept");
		}
	}
	return hyg_done(h, q, rc, "reading domains", e);
}

static const char *
col_str(sqlite3_stmt *q, int col)
{
	const char *s = store_col_text(q, col);

	return s != NULL ? s : "";
}

int
store_hyg_page(struct store_hyg *h, int64_t after, int limit,
    store_hyg_row_cb cb, void *ctx, int *n, struct err *e)
{
	sqlite3_stmt *q = h->q[HQ_PAGE];
	struct store_hyg_row r;
	int rc;

	*n = 0;
	sqlite3_bind_int64(q, 1, after);
	sqlite3_bind_int(q, 2, limit);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		(*n)++;
		r.id = sqlite3_column_int64(q, 0);
		r.address = col_str(q, 1);
		r.address_key = col_str(q, 2);
		r.domain = col_str(q, 3);
		r.lists = col_str(q, 4);
		r.has_events = sqlite3_column_int(q, 5);
		r.unsub_suppressed = sqlite3_column_int(q, 6);
		r.suppressed = sqlite3_column_int(q, 7);
		if (cb(&r, ctx) != 0) {
			sqlite3_reset(q);
			return err_set(e, EX_SOFTWARE, "hygiene: a recipient "
			    "could not be kept");
		}
	}
	return hyg_done(h, q, rc, "reading recipients", e);
}

int
store_hyg_history(struct store_hyg *h, int64_t id, const char *domain,
    struct store_hyg_history *out, struct err *e)
{
	sqlite3_stmt *q = h->q[HQ_HISTORY];
	int rc;

	memset(out, 0, sizeof(*out));
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_text(q, 2, domain, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(q, 3, h->recent);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		out->hard = sqlite3_column_int(q, 0);
		out->soft_campaigns = sqlite3_column_int64(q, 1);
		out->complained = sqlite3_column_int(q, 2);
		out->unsubscribed = sqlite3_column_int(q, 3);
		out->delivered_campaigns = sqlite3_column_int64(q, 4);
		out->engaged_recent = sqlite3_column_int(q, 5);
		out->first_delivered = sqlite3_column_int64(q, 6);
		out->last_delivered = sqlite3_column_int64(q, 7);
		out->last_human = sqlite3_column_int64(q, 8);
	}
	return hyg_done(h, q, rc, "reading a recipient's history", e);
}

/* A statement answering (id, address) or nothing. */
static int
id_addr(struct store_hyg *h, sqlite3_stmt *q, int64_t *id, char *addr,
    size_t n, struct err *e)
{
	int rc;

	*id = 0;
	addr[0] = '\0';
	if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		*id = sqlite3_column_int64(q, 0);
		snprintf(addr, n, "%s", col_str(q, 1));
	}
	return hyg_done(h, q, rc, "looking for duplicates", e);
}

int
store_hyg_dup_get(struct store_hyg *h, const char *norm, int64_t *id,
    char *addr, size_t n, struct err *e)
{
	sqlite3_bind_text(h->q[HQ_DUP_GET], 1, norm, -1, SQLITE_TRANSIENT);
	return id_addr(h, h->q[HQ_DUP_GET], id, addr, n, e);
}

int
store_hyg_key_before(struct store_hyg *h, const char *key, int64_t before,
    int64_t *id, char *addr, size_t n, struct err *e)
{
	sqlite3_bind_text(h->q[HQ_KEY], 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(h->q[HQ_KEY], 2, before);
	return id_addr(h, h->q[HQ_KEY], id, addr, n, e);
}

int
store_hyg_dup_put(struct store_hyg *h, const char *norm, int64_t id,
    const char *addr, struct err *e)
{
	sqlite3_stmt *q = h->q[HQ_DUP_PUT];

	sqlite3_bind_text(q, 1, norm, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, id);
	sqlite3_bind_text(q, 3, addr, -1, SQLITE_TRANSIENT);
	return hyg_done(h, q, sqlite3_step(q), "remembering an address", e);
}

int
store_hyg_suppress(struct store_hyg *h, const char *key, const char *reason,
    int *added, struct err *e)
{
	sqlite3_stmt *q = h->q[HQ_SUPPRESS];

	sqlite3_bind_text(q, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 2, reason, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 3, store_now_ms());
	/* With --list, what hygiene finds is about that list. */
	if (h->list_id > 0)
		sqlite3_bind_int64(q, 4, h->list_id);
	else
		sqlite3_bind_null(q, 4);
	if (hyg_done(h, q, sqlite3_step(q), "adding a suppression", e) < 0)
		return -1;
	*added = sqlite3_changes(h->st->db) > 0;
	return 0;
}
