/*
 * store_segment.c - the segment guard.
 *
 * segment.c already emits SQL in which nothing the user typed appears
 * except as a bound value. The guard is the second wall, in case that
 * emitter ever has a bug: the compiled expression is first prepared alone
 * under an authorizer that allows reading the recipients table and a short
 * list of functions and nothing else, so it can never write, read another
 * table or call randomblob(). Every statement that embeds it then runs
 * under a progress handler with a wall-clock deadline.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "segment.h"
#include "store_int.h"
#include "xalloc.h"

static const char *segment_functions[] = {
	"json_extract", "instr", "substr", "length", "coalesce", NULL
};

static int
segment_authorize(void *ctx, int action, const char *a, const char *b,
    const char *db, const char *trigger)
{
	int i;

	(void)ctx;
	(void)db;
	(void)trigger;
	switch (action) {
	case SQLITE_SELECT:
		return SQLITE_OK;
	case SQLITE_READ:
		if (strcmp(a, "recipients") == 0 &&
		    (strcmp(b, "attrs") == 0 || strcmp(b, "address_key") == 0 ||
		    strcmp(b, "domain") == 0))
			return SQLITE_OK;
		return SQLITE_DENY;
	case SQLITE_FUNCTION:
		for (i = 0; segment_functions[i] != NULL; i++)
			if (strcmp(b, segment_functions[i]) == 0)
				return SQLITE_OK;
		return SQLITE_DENY;
	default:
		return SQLITE_DENY;
	}
}

static int
store_deadline_check(void *ctx)
{
	int64_t *deadline = ctx;

	return clock_mono_ms() > *deadline;
}

void
store_deadline_set(struct store *st, int64_t ms)
{
	st->deadline = clock_mono_ms() + ms;
	sqlite3_progress_handler(st->db, 10000, store_deadline_check,
	    &st->deadline);
}

void
store_deadline_clear(struct store *st)
{
	sqlite3_progress_handler(st->db, 0, NULL, NULL);
}

static void
segment_bind(sqlite3_stmt *stmt, const struct segment *seg)
{
	int i;

	for (i = 0; i < seg->nparams; i++) {
		const struct segment_param *sp = &seg->params[i];
		int n = SEGMENT_PARAM_BASE + i;

		if (sp->type == SEGMENT_TEXT)
			sqlite3_bind_text(stmt, n, sp->text, -1,
			    SQLITE_TRANSIENT);
		else if (sp->type == SEGMENT_INT)
			sqlite3_bind_int64(stmt, n, sp->i);
		else
			sqlite3_bind_double(stmt, n, sp->d);
	}
}

/* Prepares the expression alone under the authorizer. */
/*
 * The compiler emits fixed text and ?NNN placeholders only. The vetting
 * below prepares the expression alone; pasted into a larger statement, a
 * comment, a quote, a ';' or a ')' too many would reach past its slot
 * (past "AND NOT suppressed", say), so a second wall refuses them.
 */
static int
segment_contained(const char *sql)
{
	int depth = 0;

	for (; *sql != '\0'; sql++) {
		if (*sql == '(')
			depth++;
		else if (*sql == ')' && --depth < 0)
			return 0;
		else if (*sql == ';' || *sql == '\'' || *sql == '"' ||
		    *sql == '`' || *sql == '[' || (sql[0] == '-' &&
		    sql[1] == '-') || (sql[0] == '/' && sql[1] == '*'))
			return 0;
	}
	return depth == 0;
}

static int
segment_vet(struct store *st, const struct segment *seg, struct err *e)
{
	struct buf sql;
	sqlite3_stmt *stmt = NULL;
	int rc;

	if (!segment_contained(buf_str(&seg->sql)))
		return err_set(e, EX_SOFTWARE, "segment: the compiled SQL "
		    "does not stay in its place; refused");

	buf_init(&sql, seg->sql.len + 64);
	if (buf_printf(&sql, "SELECT 1 FROM recipients r WHERE %s",
	    buf_str(&seg->sql)) < 0) {
		buf_free(&sql);
		return err_set(e, EX_SOFTWARE, "segment: out of room");
	}
	sqlite3_set_authorizer(st->db, segment_authorize, NULL);
	rc = sqlite3_prepare_v2(st->db, buf_str(&sql), -1, &stmt, NULL);
	sqlite3_set_authorizer(st->db, NULL, NULL);
	sqlite3_finalize(stmt);
	buf_free(&sql);
	if (rc != SQLITE_OK)
		return err_set(e, EX_DATAERR, "segment refused by the guard: "
		    "%s", sqlite3_errmsg(st->db));
	return 0;
}

int
store_segment_prepare(struct store *st, const char *sql_fmt,
    const char *segment, const char *and, sqlite3_stmt **stmt,
    struct err *e)
{
	struct segment *seg = NULL;
	struct buf sql;
	int rc = -1;

	*stmt = NULL;
	buf_init(&sql, 1024 * 1024);
	if (segment == NULL || *segment == '\0') {
		if (buf_printf(&sql, sql_fmt, "1", and ? and : "1") < 0)
			goto out;
	} else {
		if (segment_compile(segment, &seg, e) < 0 ||
		    segment_vet(st, seg, e) < 0)
			goto out;
		if (buf_printf(&sql, sql_fmt, buf_str(&seg->sql),
		    and ? and : "1") < 0) {
			err_set(e, EX_DATAERR, "segment is too large");
			goto out;
		}
	}
	if (store_prepare(st, buf_str(&sql), stmt, e) < 0)
		goto out;
	if (seg != NULL)
		segment_bind(*stmt, seg);
	rc = 0;
out:
	segment_free(seg);
	buf_free(&sql);
	return rc;
}
