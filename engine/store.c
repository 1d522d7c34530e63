/*
 * store.c - opening, migrating and the shared helpers of the store.
 *
 * The file is opened in WAL mode with foreign keys on and a busy timeout:
 * WAL lets the tracking server and bounce ingest commit while a send holds
 * its own write transactions, and the timeout turns a brief lock into a
 * short wait instead of an error.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "limits.h"
#include "store_int.h"
#include "xalloc.h"

#define STORE_BUSY_MS	10000

int
store_sqlerr(struct store *st, struct err *e, const char *what)
{
	int rc = sqlite3_extended_errcode(st->db);
	int code = EX_SOFTWARE;

	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		code = EX_TEMPFAIL;
	else if ((rc & 0xff) == SQLITE_CONSTRAINT)
		code = EX_DATAERR;
	else if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT)
		code = EX_DATAERR;
	else if (rc == SQLITE_CANTOPEN || rc == SQLITE_READONLY ||
	    rc == SQLITE_FULL || (rc & 0xff) == SQLITE_IOERR)
		code = EX_IOERR;
	return err_set(e, code, "%s: %s: %s", st->path, what,
	    sqlite3_errmsg(st->db));
}

int
store_prepare(struct store *st, const char *sql, sqlite3_stmt **stmt,
    struct err *e)
{
	if (sqlite3_prepare_v2(st->db, sql, -1, stmt, NULL) != SQLITE_OK) {
		*stmt = NULL;
		return store_sqlerr(st, e, "preparing a query");
	}
	return 0;
}

int
store_prepare_cached(struct store *st, const char *sql, sqlite3_stmt **stmt,
    struct err *e)
{
	int i;

	for (i = 0; i < st->ncache; i++)
		if (st->cache[i].sql == sql) {
			*stmt = st->cache[i].stmt;
			return 0;
		}
	if (store_prepare(st, sql, stmt, e) < 0)
		return -1;
	if (st->ncache < STORE_CACHE) {
		st->cache[st->ncache].sql = sql;
		st->cache[st->ncache++].stmt = *stmt;
	}
	return 0;
}

void
store_finish(struct store *st, sqlite3_stmt *stmt)
{
	int i;

	for (i = 0; i < st->ncache; i++)
		if (st->cache[i].stmt == stmt) {
			sqlite3_reset(stmt);
			sqlite3_clear_bindings(stmt);
			return;
		}
	sqlite3_finalize(stmt);
}

int
store_exec(struct store *st, const char *sql, struct err *e)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_sqlerr(st, e, "executing");
	return 0;
}

int
store_step_done(struct store *st, sqlite3_stmt *stmt, const char *what,
    struct err *e)
{
	int rc = sqlite3_step(stmt);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		store_sqlerr(st, e, what);
		store_finish(st, stmt);
		return -1;
	}
	store_finish(st, stmt);
	return 0;
}

int
store_scalar(struct store *st, sqlite3_stmt *stmt, int64_t *out,
    struct err *e)
{
	int rc = sqlite3_step(stmt);

	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(stmt, 0);
		store_finish(st, stmt);
		return 0;
	}
	if (rc == SQLITE_DONE) {
		*out = 0;
		store_finish(st, stmt);
		return 0;
	}
	store_sqlerr(st, e, "counting");
	store_finish(st, stmt);
	return -1;
}

const char *
store_col_text(sqlite3_stmt *stmt, int col)
{
	return (const char *)sqlite3_column_text(stmt, col);
}

int
store_rows(struct store *st, sqlite3_stmt *stmt, store_row_fn row,
    void *ctx, const char *what, int *nrows, struct err *e)
{
	int rc, n = 0;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		n++;
		if (row(stmt, ctx) < 0) {
			store_finish(st, stmt);
			return err_set(e, EX_IOERR, "writing output failed");
		}
	}
	store_finish(st, stmt);
	if (nrows != NULL)
		*nrows = n;
	if (rc != SQLITE_DONE)
		return store_sqlerr(st, e, what);
	return 0;
}

struct count_rows {
	store_count_cb cb;
	void *ctx;
};

static int
count_row(sqlite3_stmt *stmt, void *arg)
{
	struct count_rows *cr = arg;

	return cr->cb(store_col_text(stmt, 0), sqlite3_column_int64(stmt, 1),
	    cr->ctx);
}

int
store_count_rows(struct store *st, sqlite3_stmt *stmt, store_count_cb cb,
    void *ctx, const char *what, struct err *e)
{
	struct count_rows cr = { cb, ctx };

	return store_rows(st, stmt, count_row, &cr, what, NULL, e);
}

int64_t
store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
store_check_name(const char *what, const char *name, struct err *e)
{
	size_t i, n = strlen(name);

	if (n == 0)
		return err_set(e, EX_USAGE, "%s name is empty", what);
	if (n > LIMIT_NAME)
		return err_set(e, EX_USAGE, "%s name is longer than %d "
		    "characters", what, LIMIT_NAME);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (isalnum(c) || (i > 0 && strchr("._-", c) != NULL))
			continue;
		return err_set(e, EX_USAGE, "%s name \"%s\": character %zu "
		    "is not allowed (use letters, digits, '.', '_' and '-', "
		    "starting with a letter or digit)", what, name, i + 1);
	}
	return 0;
}

int
store_version(struct store *st)
{
	sqlite3_stmt *stmt;
	int v = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &stmt,
	    NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

int
store_latest_version(void)
{
	return store_migrations[store_nmigrations - 1].version;
}

int
store_begin(struct store *st, struct err *e)
{
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return store_sqlerr(st, e, "starting a transaction");
	return 0;
}

int
store_commit(struct store *st, struct err *e)
{
	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		store_sqlerr(st, e, "committing");
		store_rollback(st);
		return -1;
	}
	return 0;
}

void
store_rollback(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Each migration and its version bump commit together or not at all. */
static int
store_migrate(struct store *st, int from, struct err *e)
{
	char pragma[64];
	int i;

	for (i = 0; i < store_nmigrations; i++) {
		const struct store_migration *m = &store_migrations[i];

		if (m->version <= from)
			continue;
		if (store_begin(st, e) < 0)
			return -1;
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d",
		    m->version);
		if (sqlite3_exec(st->db, m->sql, NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(st->db, pragma, NULL, NULL, NULL) != SQLITE_OK) {
			char what[128];

			snprintf(what, sizeof(what), "applying schema/%s",
			    m->name);
			store_sqlerr(st, e, what);
			store_rollback(st);
			return -1;
		}
		if (store_commit(st, e) < 0)
			return -1;
	}
	return 0;
}

static int
store_configure(struct store *st, struct err *e)
{
	sqlite3_busy_timeout(st->db, STORE_BUSY_MS);
	/* Nothing we write needs more; a segment never comes close. */
	sqlite3_limit(st->db, SQLITE_LIMIT_LENGTH, 16 * 1024 * 1024);
	sqlite3_limit(st->db, SQLITE_LIMIT_SQL_LENGTH, 1024 * 1024);
	if (store_exec(st, "PRAGMA foreign_keys = ON", e) < 0)
		return -1;
	/* A fixed page cache, so memory stays bounded whatever the list.
	 * 4 MiB: on a million recipients, a send and its audience run as
	 * fast as with 16 MiB (2.2 s for the audience, the same rate), with
	 * 27 MiB of peak RSS instead of 46 (the sorter's memory follows the
	 * cache size too). Only an import takes more (store_import.c). */
	if (store_exec(st, "PRAGMA cache_size = -4096", e) < 0)
		return -1;
	/* WAL with synchronous=NORMAL survives any process crash; only a
	 * power cut can lose the last commits, never corrupt the file. */
	if (store_exec(st, "PRAGMA journal_mode = WAL", e) < 0 ||
	    store_exec(st, "PRAGMA synchronous = NORMAL", e) < 0)
		return -1;
	return 0;
}

/* SQLite's names for a database held in memory or in a temporary file. */
static int
store_is_file(const char *path)
{
	return path[0] != '\0' && strcmp(path, ":memory:") != 0;
}

/*
 * The file holds the tracking secret, and its -wal or -journal holds
 * copies of its pages: as with a password file (secret.c) or a DKIM key
 * (dkim.c), one that group or others may access is refused, not repaired,
 * since the secret may already have been read. Anything but a regular file
 * is left to SQLite to refuse.
 */
static int
store_check_private(const char *path, const char *suffix, struct err *e)
{
	size_t n = strlen(path) + strlen(suffix) + 1;
	char *name = xmalloc(n);
	struct stat sb;
	int rc = 0;

	snprintf(name, n, "%s%s", path, suffix);
	if (stat(name, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (sb.st_mode & (S_IRWXG | S_IRWXO)))
		rc = err_set(e, EX_CONFIG, "%s: the database holds the "
		    "tracking secret but is accessible by group or others "
		    "(mode %04o); chmod 600 %s", name,
		    (unsigned)(sb.st_mode & 07777), name);
	free(name);
	return rc;
}

/*
 * A new database is made mode 0600 here, before SQLite sees it: SQLite
 * would create it 0644 less the umask, and it gives its -wal and -shm the
 * mode of the database, so those follow. O_EXCL: an existing file, even
 * one made a moment ago by another init, is opened, never replaced.
 */
static int
store_create_private(const char *path, struct err *e)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0 && errno != EEXIST)
		return err_set(e, EX_CANTCREAT, "%s: cannot create: %s", path,
		    strerror(errno));
	if (fd >= 0)
		close(fd);
	return 0;
}

static int
store_check_file(const char *path, int flags, struct err *e)
{
	static const char *const kept[] = { "", "-wal", "-journal" };
	size_t i;

	if (!store_is_file(path))
		return 0;
	if (!(flags & STORE_CREATE) && access(path, F_OK) != 0)
		return err_set(e, EX_NOINPUT, "%s: no such database "
		    "(create it with 'postbote init')", path);
	for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (store_check_private(path, kept[i], e) < 0)
			return -1;
	if ((flags & STORE_CREATE) && store_create_private(path, e) < 0)
		return -1;
	return 0;
}

int
store_open(const char *path, int flags, struct store **out, struct err *e)
{
	struct store *st;
	int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	int version;

	*out = NULL;
	if (store_check_file(path, flags, e) < 0)
		return -1;
	if (flags & STORE_CREATE)
		oflags |= SQLITE_OPEN_CREATE;
	st = xcalloc(1, sizeof(*st));
	st->path = xstrdup(path);
	if (sqlite3_open_v2(path, &st->db, oflags, NULL) != SQLITE_OK) {
		err_set(e, EX_CANTCREAT, "%s: cannot open: %s", path,
		    st->db ? sqlite3_errmsg(st->db) : "out of memory");
		goto fail;
	}
	version = store_version(st);
	if (version < 0) {
		store_sqlerr(st, e, "reading the schema version");
		goto fail;
	}
	if (version > store_latest_version()) {
		err_set(e, EX_UNAVAILABLE, "%s: schema version %d is newer "
		    "than this postbote knows (%d); use a newer postbote",
		    path, version, store_latest_version());
		goto fail;
	}
	/* SQLite takes an empty file for an empty database; only init may
	 * turn one into ours. */
	if (version == 0 && !(flags & STORE_CREATE)) {
		err_set(e, EX_NOINPUT, "%s: not a postbote database yet "
		    "(create it with 'postbote init')", path);
		goto fail;
	}
	if (store_configure(st, e) < 0 || store_migrate(st, version, e) < 0)
		goto fail;
	*out = st;
	return 0;
fail:
	store_close(st);
	return -1;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	while (st->ncache > 0)
		sqlite3_finalize(st->cache[--st->ncache].stmt);
	sqlite3_close_v2(st->db);
	free(st->path);
	free(st);
}

int
store_setting_get(struct store *st, const char *key, char **value,
    struct err *e)
{
	sqlite3_stmt *stmt;
	int rc;

	*value = NULL;
	if (store_prepare(st, "SELECT value FROM settings WHERE key = ?1",
	    &stmt, e) < 0)
		return -1;
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*value = xstrdup(store_col_text(stmt, 0));
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_sqlerr(st, e, "reading settings");
	return 0;
}

int
store_setting_set(struct store *st, const char *key, const char *value,
    struct err *e)
{
	sqlite3_stmt *stmt;

	if (store_prepare(st, "INSERT INTO settings(key, value) VALUES(?1, ?2) "
	    "ON CONFLICT(key) DO UPDATE SET value = excluded.value", &stmt,
	    e) < 0)
		return -1;
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, value, -1, SQLITE_STATIC);
	return store_step_done(st, stmt, "writing settings", e);
}

int
store_ensure_secret(struct store *st, const char *key, int nbytes,
    int *created, struct err *e)
{
	unsigned char raw[64];
	char *old, hex[sizeof(raw) * 2 + 1];
	int i, rc;

	*created = 0;
	if (nbytes <= 0 || nbytes > (int)sizeof(raw))
		return err_set(e, EX_SOFTWARE, "bad secret size %d", nbytes);
	if (store_setting_get(st, key, &old, e) < 0)
		return -1;
	if (old != NULL) {
		free(old);
		return 0;
	}
	if (RAND_bytes(raw, nbytes) != 1)
		return err_set(e, EX_SOFTWARE, "no random bytes from OpenSSL");
	for (i = 0; i < nbytes; i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	rc = store_setting_set(st, key, hex, e);
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(hex, sizeof(hex));
	*created = rc == 0;
	return rc;
}
