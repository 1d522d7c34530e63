/*
 * store_webhook.c - the webhooks table and the outbox the events_webhooks
 * trigger fills (schema/005_feedback.sql): syncing the table from the
 * config, claiming due calls, recording what became of them, counts.
 *
 * The outbox may be written by a send in another process while a flush
 * runs, so every transaction is short: one claim of a batch, one record
 * of a handful of outcomes, never a transaction around an HTTP call. A
 * claimed call stays 'pending' with its next attempt pushed past the
 * time its flusher needs (no 'sending' status: the schema has none, and
 * a lapsed claim is exactly a call due again).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "store_int.h"
#include "xalloc.h"

/* The events of h as the table keeps them: a compact JSON array. */
static char *
sync_events(const struct config_webhook *h)
{
	json_t *a = json_array();
	char *s;
	size_t k;

	for (k = 0; k < h->nevents; k++)
		json_array_append_new(a, json_string(h->events[k]));
	s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (s == NULL)
		s = xstrdup("[]");
	return s;
}

struct sync_cmp {
	const struct config *cfg;
	char **events;
	int same;
};

static int
sync_row(sqlite3_stmt *stmt, void *arg)
{
	struct sync_cmp *sc = arg;
	const char *name = store_col_text(stmt, 0);
	size_t i;

	for (i = 0; i < sc->cfg->nwebhooks; i++)
		if (strcmp(sc->cfg->webhooks[i].name, name) == 0)
			break;
	if (i == sc->cfg->nwebhooks ||
	    strcmp(sc->cfg->webhooks[i].url, store_col_text(stmt, 1)) != 0 ||
	    strcmp(sc->events[i], store_col_text(stmt, 2)) != 0)
		sc->same = 0;
	return 0;
}

/*
 * Whether the table already holds the config's webhooks: a send syncs on
 * every run, and an unchanged config then costs a read, not a write
 * lock that a concurrent send would wait for.
 */
static int
sync_same(struct store *st, struct sync_cmp *sc, struct err *e)
{
	sqlite3_stmt *stmt;
	int n;

	sc->same = 1;
	if (store_prepare(st, "SELECT name, url, events FROM webhooks",
	    &stmt, e) < 0 ||
	    store_rows(st, stmt, sync_row, sc, "reading webhooks", &n, e) < 0)
		return -1;
	if ((size_t)n != sc->cfg->nwebhooks)
		sc->same = 0;
	return 0;
}

static int
sync_write(struct store *st, struct sync_cmp *sc, struct err *e)
{
	const struct config *cfg = sc->cfg;
	sqlite3_stmt *ins = NULL, *dead;
	size_t i;
	int rc;

	if (store_exec(st, "DELETE FROM webhooks", e) < 0 ||
	    store_prepare(st, "INSERT INTO webhooks(name, url, events) "
	    "VALUES (?1, ?2, ?3)", &ins, e) < 0)
		return -1;
	for (i = 0; i < cfg->nwebhooks; i++) {
		sqlite3_bind_text(ins, 1, cfg->webhooks[i].name, -1,
		    SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, cfg->webhooks[i].url, -1,
		    SQLITE_STATIC);
		sqlite3_bind_text(ins, 3, sc->events[i], -1, SQLITE_STATIC);
		rc = sqlite3_step(ins);
		sqlite3_reset(ins);
		if (rc != SQLITE_DONE) {
			store_sqlerr(st, e, "writing webhooks");
			sqlite3_finalize(ins);
			return -1;
		}
	}
	sqlite3_finalize(ins);
	/* A call for a URL nobody configures any more would only wait for
	   its attempts to run out; it is dead now, and says why. */
	if (store_prepare(st, "UPDATE webhook_outbox SET status = 'dead', "
	    "last_error = 'webhook removed from the config', done_at = ?1 "
	    "WHERE status = 'pending' AND webhook NOT IN "
	    "(SELECT name FROM webhooks)", &dead, e) < 0)
		return -1;
	sqlite3_bind_int64(dead, 1, store_now_ms());
	return store_step_done(st, dead, "dead-lettering calls", e);
}

int
store_webhooks_sync(struct store *st, const struct config *cfg,
    struct err *e)
{
	struct sync_cmp sc = { cfg, NULL, 1 };
	size_t i;
	int rc = -1;

	sc.events = xcalloc(cfg->nwebhooks + 1, sizeof(char *));
	for (i = 0; i < cfg->nwebhooks; i++)
		sc.events[i] = sync_events(&cfg->webhooks[i]);
	if (sync_same(st, &sc, e) < 0)
		goto out;
	if (sc.same) {
		rc = 0;
		goto out;
	}
	if (store_begin(st, e) < 0)
		goto out;
	if (sync_write(st, &sc, e) < 0) {
		store_rollback(st);
		goto out;
	}
	rc = store_commit(st, e);
out:
	for (i = 0; i < cfg->nwebhooks; i++)
		free(sc.events[i]);
	free(sc.events);
	return rc;
}

struct claim_ctx {
	store_webhook_cb cb;
	void *ctx;
};

static int
claim_row(sqlite3_stmt *stmt, void *arg)
{
	struct claim_ctx *cc = arg;
	struct store_webhook_call c;

	c.id = sqlite3_column_int64(stmt, 0);
	c.webhook = store_col_text(stmt, 1);
	c.attempts = sqlite3_column_int(stmt, 2);
	c.event_id = sqlite3_column_int64(stmt, 3);
	c.type = store_col_text(stmt, 4);
	c.at = sqlite3_column_int64(stmt, 5);
	c.machine = sqlite3_column_int(stmt, 6);
	c.detail = store_col_text(stmt, 7);
	c.campaign = store_col_text(stmt, 8);
	c.recipient = store_col_text(stmt, 9);
	return cc->cb(&c, cc->ctx);
}

/*
 * The due calls, soonest first: the partial index holds only pending
 * rows and is ordered by (next_attempt_at, id), so a claim costs the
 * rows it takes however many sent ones the outbox keeps. The select and
 * the update name the same rows: one transaction, a total order.
 */
#define DUE "SELECT id FROM webhook_outbox INDEXED BY webhook_outbox_due " \
	"WHERE status = 'pending' AND next_attempt_at <= ?1 " \
	"ORDER BY next_attempt_at, id LIMIT ?2"

int
store_webhook_claim(struct store *st, int64_t now, int limit, int64_t until,
    store_webhook_cb cb, void *ctx, int *n, struct err *e)
{
	struct claim_ctx cc = { cb, ctx };
	sqlite3_stmt *stmt;

	*n = 0;
	if (store_begin(st, e) < 0)
		return -1;
	if (store_prepare(st, "SELECT o.id, o.webhook, o.attempts, ev.id, "
	    "ev.type, ev.at, ev.machine, ev.detail, c.name, r.address "
	    "FROM (" DUE ") d JOIN webhook_outbox o ON o.id = d.id "
	    "JOIN events ev ON ev.id = o.event_id "
	    "LEFT JOIN campaigns c ON c.id = ev.campaign_id "
	    "LEFT JOIN recipients r ON r.id = ev.recipient_id "
	    "ORDER BY o.next_attempt_at, o.id", &stmt, e) < 0)
		goto fail;
	sqlite3_bind_int64(stmt, 1, now);
	sqlite3_bind_int(stmt, 2, limit);
	if (store_rows(st, stmt, claim_row, &cc, "loading webhook calls", n,
	    e) < 0)
		goto fail;
	if (*n > 0) {
		if (store_prepare(st, "UPDATE webhook_outbox SET "
		    "next_attempt_at = ?3 WHERE id IN (" DUE ")", &stmt, e) < 0)
			goto fail;
		sqlite3_bind_int64(stmt, 1, now);
		sqlite3_bind_int(stmt, 2, limit);
		sqlite3_bind_int64(stmt, 3, until);
		if (store_step_done(st, stmt, "claiming webhook calls", e) < 0)
			goto fail;
	}
	if (store_commit(st, e) < 0) {
		*n = 0;
		return -1;
	}
	return 0;
fail:
	store_rollback(st);
	*n = 0;
	return -1;
}

int
store_webhook_record(struct store *st, const struct store_webhook_outcome *o,
    int n, struct err *e)
{
	sqlite3_stmt *stmt;
	int64_t now = store_now_ms();
	int i, rc;

	if (n == 0)
		return 0;
	if (store_begin(st, e) < 0)
		return -1;
	/* A sent call keeps the error of the attempt before, if any: "sent
	   on the third try after two 503s" stays readable. */
	if (store_prepare(st, "UPDATE webhook_outbox SET status = ?2, "
	    "attempts = attempts + ?3, "
	    "next_attempt_at = CASE ?2 WHEN 'pending' THEN ?4 "
	    "ELSE next_attempt_at END, "
	    "last_error = CASE WHEN ?3 THEN coalesce(?5, last_error) "
	    "ELSE last_error END, "
	    "done_at = CASE WHEN ?2 <> 'pending' THEN ?6 END "
	    "WHERE id = ?1 AND status = 'pending'", &stmt, e) < 0)
		goto fail;
	for (i = 0; i < n; i++) {
		sqlite3_bind_int64(stmt, 1, o[i].id);
		sqlite3_bind_text(stmt, 2, o[i].status, -1, SQLITE_STATIC);
		sqlite3_bind_int(stmt, 3, o[i].tried != 0);
		sqlite3_bind_int64(stmt, 4, o[i].next_attempt_at);
		sqlite3_bind_text(stmt, 5, o[i].error, -1, SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 6, now);
		rc = sqlite3_step(stmt);
		sqlite3_reset(stmt);
		if (rc != SQLITE_DONE) {
			store_sqlerr(st, e, "recording webhook calls");
			sqlite3_finalize(stmt);
			goto fail;
		}
	}
	sqlite3_finalize(stmt);
	return store_commit(st, e);
fail:
	store_rollback(st);
	return -1;
}

struct each_ctx {
	store_webhook_info_cb cb;
	void *ctx;
};

static int
each_row(sqlite3_stmt *stmt, void *arg)
{
	struct each_ctx *ec = arg;
	struct webhook_info w;

	w.name = store_col_text(stmt, 0);
	w.url = store_col_text(stmt, 1);
	w.events = store_col_text(stmt, 2);
	w.pending = sqlite3_column_int64(stmt, 3);
	w.retrying = sqlite3_column_int64(stmt, 4);
	w.sent = sqlite3_column_int64(stmt, 5);
	w.dead = sqlite3_column_int64(stmt, 6);
	w.next_at = sqlite3_column_int64(stmt, 7);
	w.last_error = store_col_text(stmt, 8);
	return ec->cb(&w, ec->ctx);
}

int
store_webhook_each(struct store *st, store_webhook_info_cb cb, void *ctx,
    struct err *e)
{
	struct each_ctx ec = { cb, ctx };
	sqlite3_stmt *stmt;

	/* One pass over the outbox for every count; the last error comes
	   from the pending rows only, through their index. */
	if (store_prepare(st, "WITH c AS (SELECT webhook AS name, "
	    "sum(status = 'pending') AS pending, "
	    "sum(status = 'pending' AND attempts > 0) AS retrying, "
	    "sum(status = 'sent') AS sent, sum(status = 'dead') AS dead, "
	    "min(CASE status WHEN 'pending' THEN next_attempt_at END) "
	    "AS next_at FROM webhook_outbox GROUP BY webhook), "
	    "n AS (SELECT name FROM webhooks UNION SELECT name FROM c) "
	    "SELECT n.name, w.url, w.events, coalesce(c.pending, 0), "
	    "coalesce(c.retrying, 0), coalesce(c.sent, 0), "
	    "coalesce(c.dead, 0), coalesce(c.next_at, 0), "
	    "(SELECT o.last_error FROM webhook_outbox o WHERE "
	    "o.status = 'pending' AND o.webhook = n.name AND o.attempts > 0 "
	    "ORDER BY o.next_attempt_at DESC LIMIT 1) "
	    "FROM n LEFT JOIN webhooks w ON w.name = n.name "
	    "LEFT JOIN c ON c.name = n.name ORDER BY n.name", &stmt, e) < 0)
		return -1;
	return store_rows(st, stmt, each_row, &ec, "counting webhook calls",
	    NULL, e);
}
