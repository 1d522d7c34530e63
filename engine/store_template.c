/*
 * store_template.c - templates and their versions.
 */
#include <stddef.h>

#include "store_int.h"

int
store_template_add(struct store *st, const char *name, const char *subject,
    const char *html, const char *text, int *version, struct err *e)
{
	sqlite3_stmt *stmt;
	int64_t id, v;

	if (store_check_name("template", name, e) < 0 || store_begin(st, e) < 0)
		return -1;
	if (store_prepare(st, "INSERT INTO templates(name, created_at) "
	    "VALUES(?1, ?2) ON CONFLICT(name) DO NOTHING", &stmt, e) < 0)
		goto fail;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, store_now_ms());
	if (store_step_done(st, stmt, "adding a template", e) < 0)
		goto fail;
	if (store_prepare(st, "SELECT id FROM templates WHERE name = ?1", &stmt,
	    e) < 0)
		goto fail;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	if (store_scalar(st, stmt, &id, e) < 0)
		goto fail;
	if (store_prepare(st, "SELECT ifnull(max(version), 0) + 1 FROM "
	    "template_versions WHERE template_id = ?1", &stmt, e) < 0)
		goto fail;
	sqlite3_bind_int64(stmt, 1, id);
	if (store_scalar(st, stmt, &v, e) < 0)
		goto fail;
	if (store_prepare(st, "INSERT INTO template_versions(template_id, "
	    "version, subject, html, text, created_at) VALUES(?1, ?2, ?3, ?4, "
	    "?5, ?6)", &stmt, e) < 0)
		goto fail;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, v);
	sqlite3_bind_text(stmt, 3, subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, html, -1, SQLITE_STATIC);
	if (text != NULL)
		sqlite3_bind_text(stmt, 5, text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 6, store_now_ms());
	if (store_step_done(st, stmt, "adding a template version", e) < 0 ||
	    store_commit(st, e) < 0)
		goto fail;
	*version = (int)v;
	return 0;
fail:
	store_rollback(st);
	return -1;
}


struct template_rows {
	store_template_cb cb;
	void *ctx;
};

static int
template_row(sqlite3_stmt *stmt, void *arg)
{
	struct template_rows *tr = arg;
	struct template_info t;

	t.id = sqlite3_column_int64(stmt, 0);
	t.name = store_col_text(stmt, 1);
	t.version = sqlite3_column_int(stmt, 2);
	t.versions = sqlite3_column_int(stmt, 3);
	t.subject = store_col_text(stmt, 4);
	t.html = store_col_text(stmt, 5);
	t.text = store_col_text(stmt, 6);
	t.created_at = sqlite3_column_int64(stmt, 7);
	return tr->cb(&t, tr->ctx);
}

static int
template_rows(struct store *st, sqlite3_stmt *stmt, store_template_cb cb,
    void *ctx, int *found, struct err *e)
{
	struct template_rows tr = { cb, ctx };

	return store_rows(st, stmt, template_row, &tr, "reading templates",
	    found, e);
}

int
store_template_get(struct store *st, const char *name, int version,
    store_template_cb cb, void *ctx, struct err *e)
{
	sqlite3_stmt *stmt;
	int found;

	if (store_prepare(st, "SELECT v.id, t.name, v.version, (SELECT "
	    "count(*) FROM template_versions w WHERE w.template_id = t.id), "
	    "v.subject, v.html, v.text, v.created_at FROM templates t JOIN "
	    "template_versions v ON v.template_id = t.id WHERE t.name = ?1 AND "
	    "(v.version = ?2 OR (?2 = 0 AND v.version = (SELECT max(version) "
	    "FROM template_versions w WHERE w.template_id = t.id)))", &stmt,
	    e) < 0)
		return -1;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 2, version);
	if (template_rows(st, stmt, cb, ctx, &found, e) < 0)
		return -1;
	if (found == 0 && version != 0)
		return err_set(e, EX_NOINPUT, "template \"%s\" has no version "
		    "%d", name, version);
	if (found == 0)
		return err_set(e, EX_NOINPUT, "no template named \"%s\"", name);
	return 0;
}

int
store_template_each(struct store *st, store_template_cb cb, void *ctx,
    struct err *e)
{
	sqlite3_stmt *stmt;
	int found;

	if (store_prepare(st, "SELECT v.id, t.name, v.version, (SELECT "
	    "count(*) FROM template_versions w WHERE w.template_id = t.id), "
	    "v.subject, NULL, NULL, v.created_at FROM templates t JOIN "
	    "template_versions v ON v.template_id = t.id WHERE v.version = "
	    "(SELECT max(version) FROM template_versions w WHERE "
	    "w.template_id = t.id) ORDER BY t.name", &stmt, e) < 0)
		return -1;
	return template_rows(st, stmt, cb, ctx, &found, e);
}
