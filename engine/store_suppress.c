/*
 * store_suppress.c - suppressions: addresses and whole domains, global or
 * per list, that no campaign may reach.
 */
#include <string.h>

#include "store_int.h"

/* Resolves an optional list name to its id; 0 stands for "every list". */
static int
suppress_list(struct store *st, const char *list, int64_t *id,
    struct err *e)
{
	*id = 0;
	if (list == NULL)
		return 0;
	return store_list_id(st, list, id, e);
}

static void
bind_list(sqlite3_stmt *stmt, int n, int64_t list_id)
{
	if (list_id == 0)
		sqlite3_bind_null(stmt, n);
	else
		sqlite3_bind_int64(stmt, n, list_id);
}

int
store_suppress_add(struct store *st, const char *kind, const char *value,
    const char *list, const char *reason, const char *source, int *added,
    struct err *e)
{
	sqlite3_stmt *stmt;
	int64_t list_id;

	if (suppress_list(st, list, &list_id, e) < 0)
		return -1;
	if (store_prepare(st, "INSERT INTO suppressions(kind, value, list_id, "
	    "reason, source, created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6) "
	    "ON CONFLICT DO NOTHING", &stmt, e) < 0)
		return -1;
	sqlite3_bind_text(stmt, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, value, -1, SQLITE_STATIC);
	bind_list(stmt, 3, list_id);
	sqlite3_bind_text(stmt, 4, reason ? reason : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, source ? source : "manual", -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 6, store_now_ms());
	if (store_step_done(st, stmt, "adding a suppression", e) < 0)
		return -1;
	*added = sqlite3_changes(st->db) > 0;
	return 0;
}

int
store_suppress_rm(struct store *st, const char *kind, const char *value,
    const char *list, int *removed, struct err *e)
{
	sqlite3_stmt *stmt;
	int64_t list_id;

	if (suppress_list(st, list, &list_id, e) < 0)
		return -1;
	if (store_prepare(st, "DELETE FROM suppressions WHERE kind = ?1 AND "
	    "value = ?2 AND ifnull(list_id, 0) = ifnull(?3, 0)", &stmt, e) < 0)
		return -1;
	sqlite3_bind_text(stmt, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, value, -1, SQLITE_STATIC);
	bind_list(stmt, 3, list_id);
	if (store_step_done(st, stmt, "removing a suppression", e) < 0)
		return -1;
	*removed = sqlite3_changes(st->db) > 0;
	return 0;
}

struct suppression_rows {
	store_suppression_cb cb;
	void *ctx;
};

static int
suppression_row(sqlite3_stmt *stmt, void *arg)
{
	struct suppression_rows *sr = arg;
	struct suppression s;

	s.id = sqlite3_column_int64(stmt, 0);
	s.kind = store_col_text(stmt, 1);
	s.value = store_col_text(stmt, 2);
	s.list = store_col_text(stmt, 3);
	s.reason = store_col_text(stmt, 4);
	s.source = store_col_text(stmt, 5);
	s.created_at = sqlite3_column_int64(stmt, 6);
	return sr->cb(&s, sr->ctx);
}

int
store_suppress_each(struct store *st, const char *list,
    store_suppression_cb cb, void *ctx, struct err *e)
{
	struct suppression_rows sr = { cb, ctx };
	sqlite3_stmt *stmt;
	int64_t list_id;

	if (suppress_list(st, list, &list_id, e) < 0)
		return -1;
	if (store_prepare(st, "SELECT s.id, s.kind, s.value, l.name, s.reason, "
	    "s.source, s.created_at FROM suppressions s LEFT JOIN lists l ON "
	    "l.id = s.list_id WHERE ?1 IS NULL OR s.list_id IS NULL OR "
	    "s.list_id = ?1 ORDER BY s.kind, s.value", &stmt, e) < 0)
		return -1;
	bind_list(stmt, 1, list_id);
	return store_rows(st, stmt, suppression_row, &sr,
	    "reading suppressions", NULL, e);
}
