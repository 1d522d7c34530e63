/*
 * store_list.c - lists and their members.
 */
#include <string.h>

#include "store_int.h"

int
store_list_create(struct store *st, const char *name, const char *desc,
    int64_t *id, struct err *e)
{
	sqlite3_stmt *stmt;

	if (store_check_name("list", name, e) < 0)
		return -1;
	if (store_prepare(st, "INSERT INTO lists(name, description, "
	    "created_at) VALUES(?1, ?2, ?3)", &stmt, e) < 0)
		return -1;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, desc ? desc : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, store_now_ms());
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		int rc = sqlite3_extended_errcode(st->db);

		sqlite3_finalize(stmt);
		if (rc == SQLITE_CONSTRAINT_UNIQUE)
			return err_set(e, EX_DATAERR, "list \"%s\" already "
			    "exists", name);
		return store_sqlerr(st, e, "creating a list");
	}
	sqlite3_finalize(stmt);
	if (id != NULL)
		*id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int
store_list_id(struct store *st, const char *name, int64_t *id,
    struct err *e)
{
	sqlite3_stmt *stmt;

	if (store_prepare(st, "SELECT id FROM lists WHERE name = ?1", &stmt,
	    e) < 0)
		return -1;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	if (store_scalar(st, stmt, id, e) < 0)
		return -1;
	if (*id == 0)
		return err_set(e, EX_NOINPUT, "no list named \"%s\"", name);
	return 0;
}

struct list_rows {
	store_list_cb cb;
	store_member_cb member_cb;
	void *ctx;
};

static int
list_row(sqlite3_stmt *stmt, void *arg)
{
	struct list_rows *lr = arg;
	struct list_info li;

	li.id = sqlite3_column_int64(stmt, 0);
	li.name = store_col_text(stmt, 1);
	li.description = store_col_text(stmt, 2);
	li.created_at = sqlite3_column_int64(stmt, 3);
	li.members = sqlite3_column_int64(stmt, 4);
	li.suppressed = sqlite3_column_int64(stmt, 5);
	li.domains = sqlite3_column_int64(stmt, 6);
	return lr->cb(&li, lr->ctx);
}

static int
store_list_rows(struct store *st, sqlite3_stmt *stmt, store_list_cb cb,
    void *ctx, struct err *e)
{
	struct list_rows lr = { cb, NULL, ctx };

	return store_rows(st, stmt, list_row, &lr, "reading lists", NULL, e);
}

#define LIST_SELECT \
	"SELECT l.id, l.name, l.description, l.created_at, " \
	"(SELECT count(*) FROM list_members m WHERE m.list_id = l.id), " \
	"(SELECT count(*) FROM list_members m JOIN recipients r " \
	"ON r.id = m.recipient_id WHERE m.list_id = l.id AND " \
	STORE_SUPPRESSED("l.id") "), " \
	"(SELECT count(DISTINCT r.domain) FROM list_members m JOIN " \
	"recipients r ON r.id = m.recipient_id WHERE m.list_id = l.id) " \
	"FROM lists l "

int
store_list_get(struct store *st, const char *name, store_list_cb cb,
    void *ctx, struct err *e)
{
	sqlite3_stmt *stmt;
	int64_t id;

	if (store_list_id(st, name, &id, e) < 0)
		return -1;
	if (store_prepare(st, LIST_SELECT "WHERE l.id = ?1", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	return store_list_rows(st, stmt, cb, ctx, e);
}

int
store_list_each(struct store *st, store_list_cb cb, void *ctx,
    struct err *e)
{
	sqlite3_stmt *stmt;

	if (store_prepare(st, LIST_SELECT "ORDER BY l.name", &stmt, e) < 0)
		return -1;
	return store_list_rows(st, stmt, cb, ctx, e);
}

int
store_list_rm(struct store *st, const char *name, struct err *e)
{
	sqlite3_stmt *stmt;
	int64_t id, campaigns;

	if (store_list_id(st, name, &id, e) < 0)
		return -1;
	if (store_prepare(st, "SELECT count(*) FROM campaigns WHERE "
	    "list_id = ?1", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	if (store_scalar(st, stmt, &campaigns, e) < 0)
		return -1;
	if (campaigns > 0)
		return err_set(e, EX_DATAERR, "list \"%s\" is used by %lld "
		    "campaign(s); it is kept for their reports", name,
		    (long long)campaigns);
	if (store_prepare(st, "DELETE FROM lists WHERE id = ?1", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	return store_step_done(st, stmt, "removing a list", e);
}

int
store_list_domains(struct store *st, int64_t list_id, int limit,
    store_count_cb cb, void *ctx, struct err *e)
{
	sqlite3_stmt *stmt;

	if (store_prepare(st, "SELECT r.domain, count(*) AS n FROM "
	    "list_members m JOIN recipients r ON r.id = m.recipient_id "
	    "WHERE m.list_id = ?1 GROUP BY r.domain ORDER BY n DESC, "
	    "r.domain LIMIT ?2", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, list_id);
	sqlite3_bind_int(stmt, 2, limit);
	return store_count_rows(st, stmt, cb, ctx, "counting domains", e);
}

static int
member_row(sqlite3_stmt *stmt, void *arg)
{
	struct list_rows *lr = arg;

	return lr->member_cb(store_col_text(stmt, 0), store_col_text(stmt, 1),
	    lr->ctx);
}

int
store_list_members(struct store *st, int64_t list_id, store_member_cb cb,
    void *ctx, struct err *e)
{
	struct list_rows lr = { NULL, cb, ctx };
	sqlite3_stmt *stmt;

	if (store_prepare(st, "SELECT r.address, r.attrs FROM list_members m "
	    "JOIN recipients r ON r.id = m.recipient_id WHERE m.list_id = ?1 "
	    "ORDER BY r.id", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, list_id);
	return store_rows(st, stmt, member_row, &lr, "reading members", NULL,
	    e);
}

struct recipient_rows {
	store_recipient_cb cb;
	void *ctx;
};

static int
recipient_row(sqlite3_stmt *stmt, void *arg)
{
	struct recipient_rows *rr = arg;

	return rr->cb(sqlite3_column_int64(stmt, 0), store_col_text(stmt, 1),
	    store_col_text(stmt, 2), rr->ctx);
}

int
store_recipient_get(struct store *st, const char *key, store_recipient_cb cb,
    void *ctx, struct err *e)
{
	struct recipient_rows rr = { cb, ctx };
	sqlite3_stmt *stmt;
	int found;

	if (store_prepare(st, "SELECT id, address, attrs FROM recipients "
	    "WHERE address_key = ?1", &stmt, e) < 0)
		return -1;
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	if (store_rows(st, stmt, recipient_row, &rr, "reading a recipient",
	    &found, e) < 0)
		return -1;
	if (found == 0)
		return err_set(e, EX_NOINPUT, "no recipient %s", key);
	return 0;
}

int
store_list_attr_count(struct store *st, int64_t list_id,
    const char *json_path, int64_t *n, struct err *e)
{
	sqlite3_stmt *stmt;

	if (store_prepare(st, "SELECT count(*) FROM list_members m JOIN "
	    "recipients r ON r.id = m.recipient_id WHERE m.list_id = ?1 AND "
	    "json_type(r.attrs, ?2) IS NOT NULL", &stmt, e) < 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, list_id);
	sqlite3_bind_text(stmt, 2, json_path, -1, SQLITE_STATIC);
	return store_scalar(st, stmt, n, e);
}
