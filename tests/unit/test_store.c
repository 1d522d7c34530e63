/*
 * test_store.c - the store end to end, on real SQLite files in a scratch
 * directory: opening and migrating, then segments counted over an imported
 * list, suppressions, and starting a campaign.
 *
 * Counting tests share one store (made in the group setup) and only read
 * it; tests that write get a store of their own through a per-test fixture,
 * so their order does not matter.
 */
#include "unit.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "import.h"
#include "store.h"
#include "store_int.h"

/*
 * The list every store test starts from. "7" and "42" become integers,
 * "007" stays text, "city.name" is the nested attribute city.name, and an
 * empty cell adds no attribute (d has no plan, e no country).
 */
static const char members_csv[] =
    "email,country,plan,seats,code,city.name,trial\n"
    "a@example.com,DE,pro,7,007,Berlin,\n"
    "B@Example.COM,DE,team,12,,Hamburg,yes\n"
    "c@other.org,FR,free,1,42,Paris,\n"
    "d@sub.example.com,AT,,,,Wien,yes\n"
    "e@example.org,,pro,3,,,\n";

#define MEMBERS	5

struct fixture {
	char *dir;
	char db[4096];
	struct store *st;
	int64_t list;
};

static struct fixture shared;

static int
fixture_open(struct fixture *fx)
{
	static const struct import_opts opts = { .create_list = 1 };
	struct import_stats stats;
	struct err e = { 0 };
	char csv[4096];

	memset(fx, 0, sizeof(*fx));
	if ((fx->dir = unit_tmpdir()) == NULL)
		return -1;
	snprintf(fx->db, sizeof(fx->db), "%s/store.db", fx->dir);
	unit_write(fx->dir, "members.csv", members_csv,
	    sizeof(members_csv) - 1, csv, sizeof(csv));
	if (store_open(fx->db, STORE_CREATE, &fx->st, &e) < 0 ||
	    import_file(fx->st, "main", csv, &opts, &stats, NULL, NULL,
	    &e) < 0 || store_list_id(fx->st, "main", &fx->list, &e) < 0) {
		print_error("fixture: %s\n", e.msg);
		return -1;
	}
	if (stats.added != MEMBERS) {
		print_error("fixture: %lld members imported, want %d\n",
		    (long long)stats.added, MEMBERS);
		return -1;
	}
	return 0;
}

static void
fixture_close(struct fixture *fx)
{
	store_close(fx->st);
	unit_rmtree(fx->dir);
	free(fx->dir);
	memset(fx, 0, sizeof(*fx));
}

static int
group_setup(void **state)
{
	(void)state;
	return fixture_open(&shared);
}

static int
group_teardown(void **state)
{
	(void)state;
	fixture_close(&shared);
	return 0;
}

static int
fx_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL || fixture_open(fx) < 0) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int
fx_teardown(void **state)
{
	fixture_close(*state);
	free(*state);
	return 0;
}

/* The first column of the one row sql returns, read behind the API. */
static int64_t
sql_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *stmt;
	int64_t v;

	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

static void
sql_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

static char *
scratch(void)
{
	char *dir = unit_tmpdir();

	assert_non_null(dir);
	return dir;
}

/* --------------------------------------------------- opening, migrating */

static void
t_create_fresh(void **state)
{
	char *dir = scratch(), path[4096];
	struct store *st = NULL;
	struct err e = { 0 };

	(void)state;
	snprintf(path, sizeof(path), "%s/new.db", dir);
	if (store_open(path, STORE_CREATE, &st, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(store_latest_version(),
	    store_migrations[store_nmigrations - 1].version);
	assert_int_equal(store_version(st), store_latest_version());
	assert_int_equal(sql_int(st->db, "SELECT count(*) FROM sqlite_master "
	    "WHERE name IN ('lists', 'recipients', 'campaigns', "
	    "'deliveries')"), 4);
	store_close(st);

	/* Open again, without STORE_CREATE: nothing left to migrate. */
	if (store_open(path, 0, &st, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(store_version(st), store_latest_version());
	store_close(st);
	unit_rmtree(dir);
	free(dir);
}

/* A file made by an older postbote: only the first migration, one list. */
static void
make_v1(const char *path, const char *extra_sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	assert_int_equal(store_migrations[0].version, 1);
	sql_exec(db, store_migrations[0].sql);
	sql_exec(db, "PRAGMA user_version = 1");
	sql_exec(db, "INSERT INTO lists(name, description, created_at) "
	    "VALUES('old', 'kept', 1)");
	if (extra_sql != NULL)
		sql_exec(db, extra_sql);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	/* SQLite made it 0644 less the umask; store_open wants it private. */
	assert_int_equal(chmod(path, 0600), 0);
}

static int
raw_version(const char *path)
{
	sqlite3 *db;
	int v;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	v = (int)sql_int(db, "PRAGMA user_version");
	sqlite3_close(db);
	return v;
}

static void
t_migrate_old(void **state)
{
	char *dir = scratch(), path[4096];
	struct store *st = NULL;
	struct err e = { 0 };
	int64_t id;

	(void)state;
	snprintf(path, sizeof(path), "%s/v1.db", dir);
	make_v1(path, NULL);
	if (store_open(path, 0, &st, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(store_version(st), store_latest_version());
	/* The data survived and the later tables exist. */
	assert_int_equal(store_list_id(st, "old", &id, &e), 0);
	assert_int_equal(sql_int(st->db, "SELECT count(*) FROM lists WHERE "
	    "description = 'kept'"), 1);
	assert_int_equal(sql_int(st->db, "SELECT count(*) FROM campaigns"), 0);
	assert_int_equal(sql_int(st->db, "SELECT count(*) FROM deliveries"),
	    0);
	store_close(st);
	assert_int_equal(raw_version(path), store_latest_version());
	unit_rmtree(dir);
	free(dir);
}

/* A migration that cannot apply leaves the file at its old version. */
static void
t_migrate_failure_atomic(void **state)
{
	char *dir, path[4096];
	struct store *st = (struct store *)1;
	struct err e = { 0 };

	(void)state;
	if (store_nmigrations < 2)
		skip();
	dir = scratch();
	snprintf(path, sizeof(path), "%s/v1.db", dir);
	/* Migration 2 creates "campaigns"; one already there makes it fail. */
	make_v1(path, "CREATE TABLE campaigns(x)");
	assert_int_equal(store_open(path, 0, &st, &e), -1);
	assert_null(st);
	assert_true(e.code != 0);
	assert_non_null(strstr(e.msg, store_migrations[1].name));
	assert_int_equal(raw_version(path), 1);
	unit_rmtree(dir);
	free(dir);
}

static void
t_newer_refused(void **state)
{
	char *dir = scratch(), path[4096];
	struct store *st = (struct store *)1;
	struct err e = { 0 };
	sqlite3 *db;

	(void)state;
	snprintf(path, sizeof(path), "%s/v99.db", dir);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	sql_exec(db, "CREATE TABLE future(x); PRAGMA user_version = 99");
	sqlite3_close(db);
	assert_int_equal(chmod(path, 0600), 0);

	assert_int_equal(store_open(path, 0, &st, &e), -1);
	assert_null(st);
	assert_int_equal(e.code, EX_UNAVAILABLE);
	assert_non_null(strstr(e.msg, "99"));
	st = (struct store *)1;
	assert_int_equal(store_open(path, STORE_CREATE, &st, &e), -1);
	assert_int_equal(e.code, EX_UNAVAILABLE);
	assert_int_equal(raw_version(path), 99);
	unit_rmtree(dir);
	free(dir);
}

static void
t_missing(void **state)
{
	char *dir = scratch(), path[4096];
	struct store *st = (struct store *)1;
	struct err e = { 0 };

	(void)state;
	snprintf(path, sizeof(path), "%s/missing.db", dir);
	assert_int_equal(store_open(path, 0, &st, &e), -1);
	assert_null(st);
	assert_int_equal(e.code, EX_NOINPUT);
	assert_int_equal(access(path, F_OK), -1);
	unit_rmtree(dir);
	free(dir);
}

static void
t_not_a_database(void **state)
{
	static const char text[] = "email\na@b.de\n";
	char *dir = scratch(), path[4096];
	struct store *st = (struct store *)1;
	struct err e = { 0 };

	(void)state;
	unit_write(dir, "list.csv", text, sizeof(text) - 1, path,
	    sizeof(path));
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(store_open(path, 0, &st, &e), -1);
	assert_null(st);
	assert_int_equal(e.code, EX_DATAERR);
	unit_rmtree(dir);
	free(dir);
}

static void
t_cannot_create(void **state)
{
	char *dir = scratch(), path[4096];
	struct store *st = (struct store *)1;
	struct err e = { 0 };

	(void)state;
	snprintf(path, sizeof(path), "%s/no/such/dir/x.db", dir);
	assert_int_equal(store_open(path, STORE_CREATE, &st, &e), -1);
	assert_null(st);
	assert_int_equal(e.code, EX_CANTCREAT);
	unit_rmtree(dir);
	free(dir);
}

/* The database holds the tracking secret: made 0600 whatever the umask,
 * its -wal too, and refused (EX_CONFIG) once group or others may read it
 * or its -wal, by an open with or without STORE_CREATE. */
static void
t_private(void **state)
{
	static const char *const suffix[] = { "", "-wal" };
	static const mode_t bad[] = { 0640, 0604, 0660, 0620 };
	char *dir = scratch(), path[4096], side[4200], want[4300];
	struct store *st = NULL;
	struct err e = { 0 };
	struct stat sb;
	mode_t old;
	size_t i, j;

	(void)state;
	snprintf(path, sizeof(path), "%s/private.db", dir);
	old = umask(0);
	if (store_open(path, STORE_CREATE, &st, &e) < 0)
		fail_msg("%s", e.msg);
	umask(old);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	snprintf(side, sizeof(side), "%s-wal", path);
	assert_int_equal(stat(side, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	store_close(st);
	for (i = 0; i < NELEM(suffix); i++)
		for (j = 0; j < NELEM(bad); j++) {
			snprintf(side, sizeof(side), "%s%s", path, suffix[i]);
			if (i > 0)	/* a -wal left behind by a crash */
				unit_write(dir, "private.db-wal", "", 0, side,
				    sizeof(side));
			assert_int_equal(chmod(side, bad[j]), 0);
			st = (struct store *)1;
			assert_int_equal(store_open(path, j % 2 ? STORE_CREATE :
			    0, &st, &e), -1);
			assert_null(st);
			assert_int_equal(e.code, EX_CONFIG);
			snprintf(want, sizeof(want), "chmod 600 %s", side);
			assert_non_null(strstr(e.msg, want));
			assert_int_equal(chmod(side, 0600), 0);
			if (i > 0)
				assert_int_equal(unlink(side), 0);
		}
	if (store_open(path, 0, &st, &e) < 0)
		fail_msg("%s", e.msg);
	store_close(st);
	unit_rmtree(dir);
	free(dir);
}

/* ------------------------------------------------------------ audience */

struct count_case {
	const char *name;
	const char *segment;
	int64_t matching;
};

static const struct count_case count_cases[] = {
	{ "count: no segment is the whole list", NULL, MEMBERS },
	{ "count: empty segment is the whole list", "", MEMBERS },
	{ "count: string equality", "country = 'DE'", 2 },
	{ "count: string equality is case-sensitive", "country = 'de'", 0 },
	{ "count: integer cell equals a number", "seats = 7", 1 },
	{ "count: integer cell is no string", "seats = '7'", 0 },
	{ "count: numeric order", "seats > 5", 2 },
	{ "count: numeric range", "seats >= 3 and seats <= 7", 2 },
	{ "count: 007 stays text", "code = '007'", 1 },
	{ "count: 007 is not the number 7", "code = 7", 0 },
	{ "count: 42 is a number", "code = 42", 1 },
	{ "count: in", "plan in ('pro', 'team')", 3 },
	{ "count: not in is true on a missing attribute",
	    "plan not in ('pro', 'team')", 2 },
	{ "count: != is true on a missing attribute", "country != 'DE'", 3 },
	{ "count: <> is true on a missing attribute", "country <> 'DE'", 3 },
	{ "count: not (=) agrees with !=", "not (country = 'DE')", 3 },
	{ "count: = is false on a missing attribute", "country = ''", 0 },
	{ "count: is set", "trial is set", 2 },
	{ "count: is not set", "trial is not set", 3 },
	{ "count: contains", "plan contains 'ea'", 1 },
	{ "count: not contains is true on a missing attribute",
	    "plan not contains 'r'", 2 },
	{ "count: starts with", "plan starts with 'pr'", 2 },
	{ "count: ends with", "plan ends with 'ee'", 1 },
	{ "count: ends with longer than the value", "plan ends with 'xpro'",
	    0 },
	{ "count: nested attribute", "city.name = 'Berlin'", 1 },
	{ "count: nested attribute, quoted names",
	    "\"city\".\"name\" = 'Paris'", 1 },
	{ "count: nested starts with", "city.name starts with 'Ha'", 1 },
	{ "count: nested is set", "city.name is set", 4 },
	{ "count: parent object is set", "city is set", 4 },
	{ "count: email ends with", "email ends with '@example.com'", 2 },
	{ "count: email literal lower-cased", "email = 'B@EXAMPLE.COM'", 1 },
	{ "count: domain literal lower-cased", "domain = 'Example.COM'", 2 },
	{ "count: domain in", "domain in ('other.org', 'example.org')", 2 },
	{ "count: and", "country = 'DE' and seats > 10", 1 },
	{ "count: or", "country = 'DE' or country = 'FR'", 3 },
	{ "count: nothing matches", "seats > 100", 0 },
};

static void
t_count(void **state)
{
	const struct count_case *c = *state;
	struct audience aud;
	struct err e = { 0 };

	if (store_audience_count(shared.st, shared.list, c->segment, &aud,
	    &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(aud.members, MEMBERS);
	assert_int_equal(aud.matching, c->matching);
	assert_int_equal(aud.suppressed, 0);
	assert_int_equal(aud.eligible, c->matching);
}

struct bad_case {
	const char *name;
	const char *segment;
};

static const struct bad_case bad_cases[] = {
	{ "refused: incomplete", "plan = " },
	{ "refused: SQL statement", "1=1; DROP TABLE recipients" },
	{ "refused: subquery", "(SELECT count(*) FROM suppressions) > 0" },
	{ "refused: function call", "randomblob(1000000000)" },
};

static void
t_bad_segment(void **state)
{
	const struct bad_case *c = *state;
	struct audience aud;
	struct err e = { 0 };

	assert_int_equal(store_audience_count(shared.st, shared.list,
	    c->segment, &aud, &e), -1);
	assert_int_equal(e.code, EX_DATAERR);
	assert_int_equal(sql_int(shared.st->db, "SELECT count(*) FROM "
	    "recipients"), MEMBERS);
}

/* ---------------------------------------------------------- suppression */

static void
audience(struct fixture *fx, const char *segment, int64_t matching,
    int64_t suppressed)
{
	struct audience aud;
	struct err e = { 0 };

	if (store_audience_count(fx->st, fx->list, segment, &aud, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(aud.members, MEMBERS);
	assert_int_equal(aud.matching, matching);
	assert_int_equal(aud.suppressed, suppressed);
	assert_int_equal(aud.eligible, matching - suppressed);
}

static void
suppress(struct fixture *fx, const char *kind, const char *value,
    const char *list, int want_added)
{
	struct err e = { 0 };
	int added = -1;

	if (store_suppress_add(fx->st, kind, value, list, "test", NULL, &added,
	    &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(added, want_added);
}

static void
t_suppressions(void **state)
{
	struct fixture *fx = *state;
	struct err e = { 0 };

	audience(fx, NULL, 5, 0);
	suppress(fx, "address", "a@example.com", NULL, 1);
	suppress(fx, "address", "a@example.com", NULL, 0);
	audience(fx, NULL, 5, 1);
	audience(fx, "country = 'DE'", 2, 1);
	audience(fx, "country = 'FR'", 1, 0);

	/* A whole domain, every list. */
	suppress(fx, "domain", "other.org", NULL, 1);
	audience(fx, NULL, 5, 2);
	audience(fx, "country = 'FR'", 1, 1);

	/* A suppression for another list leaves this one alone... */
	assert_int_equal(store_list_create(fx->st, "other", NULL, NULL, &e),
	    0);
	suppress(fx, "address", "e@example.org", "other", 1);
	suppress(fx, "domain", "sub.example.com", "other", 1);
	audience(fx, NULL, 5, 2);
	/* ... one for this list does not, and the key is lower case. */
	suppress(fx, "address", "b@example.com", "main", 1);
	audience(fx, NULL, 5, 3);
	audience(fx, "plan in ('pro', 'team')", 3, 2);

	/* An address both suppressed and in a suppressed domain counts
	 * once. */
	suppress(fx, "address", "c@other.org", NULL, 1);
	audience(fx, NULL, 5, 3);
}

/* ----------------------------------------------------------- campaigns */

static const struct campaign_spec spec_base = {
	.list = "main",
	.template_name = "welcome",
	.from_name = "Acme",
	.from_addr = "news@acme.example",
};

static int64_t
campaign_id(struct fixture *fx, const char *name)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT ifnull((SELECT id FROM campaigns "
	    "WHERE name = '%s'), 0)", name);
	return sql_int(fx->st->db, sql);
}

static int64_t
deliveries(struct fixture *fx, const char *name, const char *where)
{
	char sql[512];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM deliveries d JOIN "
	    "recipients r ON r.id = d.recipient_id WHERE d.campaign_id = "
	    "%lld AND %s", (long long)campaign_id(fx, name), where);
	return sql_int(fx->st->db, sql);
}

static int
status_cb(const struct campaign_info *c, void *ctx)
{
	snprintf(ctx, 16, "%s", c->status);
	return 0;
}

static void
t_campaign_start(void **state)
{
	struct fixture *fx = *state;
	struct campaign_spec spec = spec_base;
	struct audience aud;
	struct err e = { 0 };
	char status[16] = "";
	int64_t created = -1;
	int version;

	assert_int_equal(store_template_add(fx->st, "welcome", "Hi",
	    "<p>Hi</p>", NULL, &version, &e), 0);
	suppress(fx, "address", "a@example.com", NULL, 1);

	spec.name = "c1";
	spec.segment = "plan in ('pro', 'team')";
	if (store_campaign_create(fx->st, &spec, &aud, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(aud.matching, 3);
	assert_int_equal(aud.eligible, 2);
	assert_int_equal(deliveries(fx, "c1", "1"), 0);

	if (store_campaign_start(fx->st, "c1", &created, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(created, aud.eligible);
	assert_int_equal(deliveries(fx, "c1", "1"), 2);
	assert_int_equal(deliveries(fx, "c1", "d.status = 'pending'"), 2);
	assert_int_equal(deliveries(fx, "c1", "r.address_key IN "
	    "('b@example.com', 'e@example.org')"), 2);
	assert_int_equal(deliveries(fx, "c1", "d.domain = r.domain"), 2);
	assert_int_equal(store_campaign_get(fx->st, "c1", status_cb, status,
	    &e), 0);
	assert_string_equal(status, "running");

	/* A second start is refused and adds nothing. */
	created = -1;
	assert_int_equal(store_campaign_start(fx->st, "c1", &created, &e), -1);
	assert_int_equal(e.code, EX_DATAERR);
	assert_int_equal(created, 0);
	assert_int_equal(deliveries(fx, "c1", "1"), 2);
}

/* The audience is resolved at start, not at creation (store_campaign.c). */
static void
t_campaign_audience_at_start(void **state)
{
	struct fixture *fx = *state;
	struct campaign_spec spec = spec_base;
	struct audience aud, now;
	struct err e = { 0 };
	int64_t created;
	int version;

	assert_int_equal(store_template_add(fx->st, "welcome", "Hi",
	    "<p>Hi</p>", NULL, &version, &e), 0);
	spec.name = "all";
	spec.segment = "";
	if (store_campaign_create(fx->st, &spec, &aud, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(aud.eligible, MEMBERS);
	suppress(fx, "domain", "other.org", NULL, 1);
	assert_int_equal(store_audience_count(fx->st, fx->list, NULL, &now,
	    &e), 0);
	if (store_campaign_start(fx->st, "all", &created, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(created, now.eligible);
	assert_int_equal(created, MEMBERS - 1);
	assert_int_equal(deliveries(fx, "all", "1"), MEMBERS - 1);
}

static void
t_campaign_bad_segment(void **state)
{
	struct fixture *fx = *state;
	struct campaign_spec spec = spec_base;
	struct audience aud;
	struct err e = { 0 };
	int version;

	assert_int_equal(store_template_add(fx->st, "welcome", "Hi",
	    "<p>Hi</p>", NULL, &version, &e), 0);
	spec.name = "c2";
	spec.segment = "plan = ";
	assert_int_equal(store_campaign_create(fx->st, &spec, &aud, &e), -1);
	assert_int_equal(e.code, EX_DATAERR);
	assert_int_equal(sql_int(fx->st->db, "SELECT count(*) FROM campaigns"),
	    0);

	spec.segment = "(SELECT 1 FROM suppressions) > 0";
	assert_int_equal(store_campaign_create(fx->st, &spec, &aud, &e), -1);
	assert_int_equal(e.code, EX_DATAERR);
	assert_int_equal(sql_int(fx->st->db, "SELECT count(*) FROM campaigns"),
	    0);
}

static void
t_campaign_missing_parts(void **state)
{
	struct fixture *fx = *state;
	struct campaign_spec spec = spec_base;
	struct audience aud;
	struct err e = { 0 };
	int64_t created;

	spec.name = "c3";
	/* No template named "welcome" in this store yet. */
	assert_int_equal(store_campaign_create(fx->st, &spec, &aud, &e), -1);
	assert_int_equal(e.code, EX_NOINPUT);
	spec.list = "nope";
	assert_int_equal(store_campaign_create(fx->st, &spec, &aud, &e), -1);
	assert_int_equal(e.code, EX_NOINPUT);
	assert_int_equal(store_campaign_start(fx->st, "c3", &created, &e), -1);
	assert_int_equal(e.code, EX_NOINPUT);
	assert_int_equal(sql_int(fx->st->db, "SELECT count(*) FROM campaigns"),
	    0);
}

int
main(void)
{
	struct unit_tests u = { 0 };
	size_t writers;

	unit_add(&u, "open: STORE_CREATE makes the newest schema",
	    t_create_fresh, NULL);
	unit_add(&u, "open: version 1 migrates and keeps its data",
	    t_migrate_old, NULL);
	unit_add(&u, "open: failed migration leaves the old version",
	    t_migrate_failure_atomic, NULL);
	unit_add(&u, "open: version 99 refused and left alone",
	    t_newer_refused, NULL);
	unit_add(&u, "open: missing file without STORE_CREATE", t_missing,
	    NULL);
	unit_add(&u, "open: not a database", t_not_a_database, NULL);
	unit_add(&u, "open: directory missing", t_cannot_create, NULL);
	unit_add(&u, "open: made 0600, refused when others may read",
	    t_private, NULL);
	UNIT_TABLE(&u, count_cases, t_count);
	UNIT_TABLE(&u, bad_cases, t_bad_segment);
	writers = u.n;
	unit_add(&u, "suppressions reduce eligible", t_suppressions, NULL);
	unit_add(&u, "campaign: start creates eligible deliveries",
	    t_campaign_start, NULL);
	unit_add(&u, "campaign: audience resolved at start",
	    t_campaign_audience_at_start, NULL);
	unit_add(&u, "campaign: bad segment writes no campaign",
	    t_campaign_bad_segment, NULL);
	unit_add(&u, "campaign: missing list, template, campaign",
	    t_campaign_missing_parts, NULL);
	unit_fixture(&u, writers, fx_setup, fx_teardown);
	return unit_run(&u, "store", group_setup, group_teardown);
}
