/*
 * store_int.h - what the store*.c files share; nothing outside engine/store*
 * includes this.
 */
#ifndef POSTBOTE_STORE_INT_H
#define POSTBOTE_STORE_INT_H

#include <sqlite3.h>
#include "store.h"

#define STORE_CACHE	14	/* statements a connection keeps prepared */

struct store {
	sqlite3 *db;
	char *path;
	int64_t deadline;	/* monotonic ms; see store_deadline_set() */
	struct {
		const char *sql;	/* a literal; its address is the key */
		sqlite3_stmt *stmt;
	} cache[STORE_CACHE];
	int ncache;
	const struct store_window *window;	/* see store_send_window() */
	int64_t window_now;	/* one claim's now, for both its statements */
};

struct store_migration {
	int version;
	const char *name;
	const char *sql;
};

/* Generated from schema/ by the Makefile (build/schema_gen.c). */
extern const struct store_migration store_migrations[];
extern const int store_nmigrations;

/*
 * True for a recipient r that an address or domain suppression, global or
 * for the list whose id is the SQL expression LIST, keeps from every
 * campaign of that list.
 */
#define STORE_SUPPRESSED(LIST) \
	"(EXISTS (SELECT 1 FROM suppressions s WHERE s.kind = 'address' " \
	"AND s.value = r.address_key AND ifnull(s.list_id, " LIST ") = " \
	LIST ") OR EXISTS (SELECT 1 FROM suppressions s WHERE " \
	"s.kind = 'domain' AND s.value = r.domain AND " \
	"ifnull(s.list_id, " LIST ") = " LIST "))"

/* Fills e with the connection's last error, after "what: ". Returns -1. */
int store_sqlerr(struct store *st, struct err *e, const char *what);
int store_prepare(struct store *st, const char *sql, sqlite3_stmt **stmt,
    struct err *e) WUR;
/*
 * store_prepare() for the statements a send runs per window and per
 * batch, thousands of times: prepared once per connection and kept (the
 * parse cost as much as a claim's rows). sql must be a string literal,
 * which is the cache's key. Hand the statement back with store_finish()
 * (which the step helpers below call), never sqlite3_finalize().
 */
int store_prepare_cached(struct store *st, const char *sql,
    sqlite3_stmt **stmt, struct err *e) WUR;
/* Resets a kept statement for its next use; finalizes any other. */
void store_finish(struct store *st, sqlite3_stmt *stmt);
/* Runs SQL that returns no rows. */
int store_exec(struct store *st, const char *sql, struct err *e) WUR;
/* Steps a statement expected to finish without rows; finishes it. */
int store_step_done(struct store *st, sqlite3_stmt *stmt, const char *what,
    struct err *e) WUR;
/* Runs a statement whose first column of its single row is an integer. */
int store_scalar(struct store *st, sqlite3_stmt *stmt, int64_t *out,
    struct err *e) WUR;
const char *store_col_text(sqlite3_stmt *stmt, int col);
/*
 * Steps stmt to its end, handing each row to row(); finishes it. A row()
 * that returns -1 stops the walk with EX_IOERR (the callbacks behind the
 * rows write output); *nrows, when not NULL, counts the rows seen.
 */
typedef int (*store_row_fn)(sqlite3_stmt *stmt, void *ctx);
int store_rows(struct store *st, sqlite3_stmt *stmt, store_row_fn row,
    void *ctx, const char *what, int *nrows, struct err *e) WUR;
/* store_rows() for "key, count" rows handed to a store_count_cb. */
int store_count_rows(struct store *st, sqlite3_stmt *stmt, store_count_cb cb,
    void *ctx, const char *what, struct err *e) WUR;

/* An A/B campaign's new deliveries (n of them) split into its test
 * share, variant by variant, and the rest held (store_ab.c); nothing for
 * a campaign without a test. Inside the start's transaction. */
int store_ab_assign(struct store *st, int64_t campaign_id, int64_t n,
    struct err *e) WUR;

/* The segment guard (store_segment.c): prepares a statement whose text
 * holds the compiled segment as %1$s (once or more) and the trusted SQL
 * condition and (NULL: none, "1") as %2$s, and binds the segment's
 * literals. */
struct segment;
int store_segment_prepare(struct store *st, const char *sql_fmt,
    const char *segment, const char *and, sqlite3_stmt **stmt,
    struct err *e) WUR;
/*
 * The feedback policy inside a caller's transaction (store_feedback.c,
 * also used by store_send.c for bounces in the SMTP session).
 * store_fb_suppress: the recipient's address, for list_id (0: every
 * list). store_fb_bounced: the suppression a bounce of class cls earns.
 * store_fb_guard: pauses a running campaign whose rates passed the
 * policy's thresholds; warning says which, also below the pause.
 */
int store_fb_suppress(struct store *st, int64_t recipient_id,
    int64_t list_id, const char *reason, const char *source, int *added,
    struct err *e) WUR;
int store_fb_bounced(struct store *st, const struct feedback_policy *p,
    int64_t recipient_id, const char *cls, const char *dsn, int *added,
    struct err *e) WUR;
int store_fb_guard(struct store *st, const struct feedback_policy *p,
    int64_t campaign_id, int *paused, char *warning, size_t n,
    struct err *e) WUR;

/* Interrupts any statement still running ms milliseconds from now. */
void store_deadline_set(struct store *st, int64_t ms);
void store_deadline_clear(struct store *st);

#endif
