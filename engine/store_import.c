/*
 * store_import.c - writing imported rows: upsert recipient, join the list.
 *
 * All rows of one import go in one transaction, through statements
 * prepared once. A recipient seen again merges its attributes (RFC 7396
 * merge patch, json_patch()), so re-importing a file changes nothing and a
 * later file adds or overwrites only the keys it carries. A TEMP table
 * remembers the keys this import has seen, on disk rather than in memory,
 * so duplicates within a file are reported without memory growing with it.
 */
#include <stdlib.h>

#include "addr.h"
#include "store_int.h"
#include "xalloc.h"

enum {
	Q_FIND, Q_INSERT, Q_UPDATE, Q_JOIN, Q_SEEN_GET, Q_SEEN_PUT, Q_COUNT
};

static const char *import_sql[Q_COUNT] = {
	/* With the size the merge would give: LIMIT_ATTRS bounds the
	 * stored attributes, not only one row's. */
	[Q_FIND] = ("SELECT id, length(CAST(json_patch(attrs, ?2) AS BLOB)) "
	    "FROM recipients WHERE address_key = ?1"),
	/* Most rows of a bulk import are new: one statement tries the
	 * insert, and only a conflict costs the look-up. json_patch() and
	 * not json(): the merge on a re-import drops null members, so the
	 * first import must drop them too or importing twice would differ. */
	[Q_INSERT] = ("INSERT INTO recipients(address, address_key, domain, "
	    "attrs, created_at, updated_at) VALUES(?1, ?2, ?3, "
	    "json_patch('{}', ?4), ?5, "
	    "?5) ON CONFLICT(address_key) DO NOTHING"),
	[Q_UPDATE] = ("UPDATE recipients SET attrs = json_patch(attrs, ?2), "
	    "updated_at = ?3 WHERE id = ?1 AND "
	    "attrs IS NOT json_patch(attrs, ?2)"),
	[Q_JOIN] = ("INSERT OR IGNORE INTO list_members(list_id, "
	    "recipient_id, added_at) VALUES(?1, ?2, ?3)"),
	[Q_SEEN_GET] = ("SELECT line FROM temp.import_seen WHERE id = ?1"),
	[Q_SEEN_PUT] = ("INSERT INTO temp.import_seen(id, line) VALUES(?1, ?2)"),
};

struct store_import {
	struct store *st;
	int64_t list_id;
	int created_list;
	int64_t now;
	sqlite3_stmt *q[Q_COUNT];
};

int
store_import_created_list(const struct store_import *im)
{
	return im->created_list;
}

static void
import_free(struct store_import *im)
{
	int i;

	for (i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(im->q[i]);
	sqlite3_exec(im->st->db, "DROP TABLE IF EXISTS temp.import_seen",
	    NULL, NULL, NULL);
	free(im);
}

int
store_import_begin(struct store *st, const char *list, int create_list,
    struct store_import **out, struct err *e)
{
	struct store_import *im;
	struct err e2;
	int i;

	*out = NULL;
	if (store_check_name("list", list, e) < 0)
		return -1;
	/* The temp table is created before the transaction so that its DDL
	 * does not count against the main database's write lock. */
	if (store_exec(st, "DROP TABLE IF EXISTS temp.import_seen; CREATE "
	    "TEMP TABLE import_seen(id INTEGER PRIMARY KEY, line INTEGER)",
	    e) < 0)
		return -1;
	/* One transaction upserting every row under a unique key at random
	 * places: 16 MiB of cache saves 15 % of a million-row import, and an
	 * import is the one command that runs alone with its list. */
	if (store_exec(st, "PRAGMA cache_size = -16384", e) < 0)
		return -1;
	im = xcalloc(1, sizeof(*im));
	im->st = st;
	im->now = store_now_ms();
	if (store_begin(st, e) < 0) {
		import_free(im);
		return -1;
	}
	if (store_list_id(st, list, &im->list_id, &e2) < 0) {
		if (e2.code != EX_NOINPUT || !create_list) {
			*e = e2;
			goto fail;
		}
		if (store_list_create(st, list, NULL, &im->list_id, e) < 0)
			goto fail;
		im->created_list = 1;
	}
	for (i = 0; i < Q_COUNT; i++)
		if (store_prepare(st, import_sql[i], &im->q[i], e) < 0)
			goto fail;
	*out = im;
	return 0;
fail:
	store_rollback(st);
	import_free(im);
	return -1;
}

static int
import_step(struct store_import *im, int q, struct err *e)
{
	int rc = sqlite3_step(im->q[q]);

	sqlite3_reset(im->q[q]);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return store_sqlerr(im->st, e, "importing");
	return 0;
}

/* Runs a one-column query; *out is 0 when it returns no row. */
static int
import_lookup(struct store_import *im, int q, int64_t *out, struct err *e)
{
	int rc = sqlite3_step(im->q[q]);

	*out = rc == SQLITE_ROW ? sqlite3_column_int64(im->q[q], 0) : 0;
	sqlite3_reset(im->q[q]);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return store_sqlerr(im->st, e, "importing");
	return 0;
}

/* Records that this import has written recipient id at line. */
static int
import_mark(struct store_import *im, int64_t id, int64_t line,
    struct err *e)
{
	sqlite3_bind_int64(im->q[Q_SEEN_PUT], 1, id);
	sqlite3_bind_int64(im->q[Q_SEEN_PUT], 2, line);
	return import_step(im, Q_SEEN_PUT, e);
}

/* A recipient that existed before this row: merge its attributes. */
static int
import_known(struct store_import *im, const struct addr *a,
    const char *attrs, int64_t line, int64_t *id,
    enum import_outcome *outcome, int64_t *dup_line, struct err *e)
{
	int64_t merged;
	int rc;

	sqlite3_bind_text(im->q[Q_FIND], 1, a->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(im->q[Q_FIND], 2, attrs, -1, SQLITE_STATIC);
	rc = sqlite3_step(im->q[Q_FIND]);
	*id = rc == SQLITE_ROW ? sqlite3_column_int64(im->q[Q_FIND], 0) : 0;
	merged = rc == SQLITE_ROW ? sqlite3_column_int64(im->q[Q_FIND], 1) : 0;
	sqlite3_reset(im->q[Q_FIND]);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return store_sqlerr(im->st, e, "importing");
	if (merged > LIMIT_ATTRS) {
		*outcome = IMPORT_TOO_LARGE;
		return 0;
	}
	sqlite3_bind_int64(im->q[Q_SEEN_GET], 1, *id);
	if (import_lookup(im, Q_SEEN_GET, dup_line, e) < 0)
		return -1;
	if (*dup_line == 0 && import_mark(im, *id, line, e) < 0)
		return -1;
	sqlite3_bind_int64(im->q[Q_UPDATE], 1, *id);
	sqlite3_bind_text(im->q[Q_UPDATE], 2, attrs, -1, SQLITE_STATIC);
	sqlite3_bind_int64(im->q[Q_UPDATE], 3, im->now);
	if (import_step(im, Q_UPDATE, e) < 0)
		return -1;
	*outcome = *dup_line ? IMPORT_DUPLICATE :
	    sqlite3_changes(im->st->db) > 0 ? IMPORT_UPDATED : IMPORT_UNCHANGED;
	return 0;
}

int
store_import_row(struct store_import *im, const struct addr *a,
    const char *attrs, int64_t line, enum import_outcome *outcome,
    int *joined, int64_t *dup_line, struct err *e)
{
	sqlite3 *db = im->st->db;
	int64_t id;

	*dup_line = 0;
	sqlite3_bind_text(im->q[Q_INSERT], 1, a->address, -1, SQLITE_STATIC);
	sqlite3_bind_text(im->q[Q_INSERT], 2, a->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(im->q[Q_INSERT], 3, a->domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(im->q[Q_INSERT], 4, attrs, -1, SQLITE_STATIC);
	sqlite3_bind_int64(im->q[Q_INSERT], 5, im->now);
	if (import_step(im, Q_INSERT, e) < 0)
		return -1;
	if (sqlite3_changes(db) > 0) {
		id = sqlite3_last_insert_rowid(db);
		*outcome = IMPORT_ADDED;
		if (import_mark(im, id, line, e) < 0)
			return -1;
	} else if (import_known(im, a, attrs, line, &id, outcome, dup_line,
	    e) < 0)
		return -1;
	*joined = 0;
	if (*outcome == IMPORT_TOO_LARGE)
		return 0;
	sqlite3_bind_int64(im->q[Q_JOIN], 1, im->list_id);
	sqlite3_bind_int64(im->q[Q_JOIN], 2, id);
	sqlite3_bind_int64(im->q[Q_JOIN], 3, im->now);
	if (import_step(im, Q_JOIN, e) < 0)
		return -1;
	*joined = sqlite3_changes(db) > 0;
	return 0;
}

int
store_import_finish(struct store_import *im, int commit, struct err *e)
{
	struct store *st = im->st;
	int i, rc = 0;

	for (i = 0; i < Q_COUNT; i++) {
		sqlite3_finalize(im->q[i]);
		im->q[i] = NULL;
	}
	if (commit)
		rc = store_commit(st, e);
	else
		store_rollback(st);
	import_free(im);
	/* Back to the size store_open() set. The import's outcome stands
	 * whether this works or not: it changes no data. */
	if (store_exec(st, "PRAGMA cache_size = -4096", NULL) < 0) {
		/* only the memory the connection may keep is larger */
	}
	return rc;
}
