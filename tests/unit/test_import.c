/*
 * test_import.c - import_file() against a store in a scratch directory.
 *
 * Each test gets a fresh store. What a test checks: the stats, the events
 * the callback saw (kind, the physical line a row starts on, the earlier
 * line of a duplicate), and what the store holds afterwards, read behind
 * the API. A fatal import must leave the store as it was; dump() renders
 * every table's row count and every recipient so "as it was" is one string
 * comparison.
 */
#include "unit.h"

#include <jansson.h>
#include <sqlite3.h>

#include "import.h"
#include "store.h"
#include "store_int.h"

/* A fresh store; row is the table row the test runs, if any. */
struct fixture {
	char *dir;
	struct store *st;
	const void *row;
};

static int
fx_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct err e = { 0 };
	char db[4096];

	if (fx == NULL || (fx->dir = unit_tmpdir()) == NULL)
		return -1;
	fx->row = *state;
	snprintf(db, sizeof(db), "%s/store.db", fx->dir);
	if (store_open(db, STORE_CREATE, &fx->st, &e) < 0) {
		print_error("fixture: %s\n", e.msg);
		return -1;
	}
	*state = fx;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fixture *fx = *state;

	store_close(fx->st);
	unit_rmtree(fx->dir);
	free(fx->dir);
	free(fx);
	return 0;
}

/* ------------------------------------------------------------- events */

struct event {
	enum import_event_kind kind;
	int64_t line;
	int64_t first_line;
	char reason[256];
	int nfields;
	char field0[64];
};

struct events {
	int n;
	struct event ev[16];
};

static void
record(const struct import_event *ev, void *ctx)
{
	struct events *evs = ctx;
	struct event *r;

	assert_true(evs->n < (int)NELEM(evs->ev));
	r = &evs->ev[evs->n++];
	r->kind = ev->kind;
	r->line = ev->line;
	r->first_line = ev->first_line;
	snprintf(r->reason, sizeof(r->reason), "%s", ev->reason ? ev->reason :
	    "");
	r->nfields = ev->nfields;
	if (ev->nfields > 0)
		snprintf(r->field0, sizeof(r->field0), "%.*s",
		    (int)ev->lens[0], ev->fields[0]);
}

/* ------------------------------------------------------------ helpers */

/* Writes text to the scratch directory and imports it into "main". */
static int
import_text(struct fixture *fx, const char *name, const char *text,
    size_t len, const struct import_opts *opts, struct import_stats *stats,
    struct events *evs, struct err *e)
{
	static const struct import_opts create = { .create_list = 1 };
	char path[4096];

	unit_write(fx->dir, name, text, len, path, sizeof(path));
	if (evs != NULL)
		memset(evs, 0, sizeof(*evs));
	return import_file(fx->st, "main", path, opts ? opts : &create, stats,
	    evs != NULL ? record : NULL, evs, e);
}

#define IMPORT(fx, name, text, stats, evs, e) \
	import_text((fx), (name), (text), sizeof(text) - 1, NULL, (stats), \
	    (evs), (e))

static void
import_ok(struct fixture *fx, const char *name, const char *text,
    struct import_stats *stats, struct events *evs)
{
	struct err e = { 0 };

	if (import_text(fx, name, text, strlen(text), NULL, stats, evs,
	    &e) < 0)
		fail_msg("%s", e.msg);
}

static int64_t
sql_int(struct store *st, const char *sql)
{
	sqlite3_stmt *stmt;
	int64_t v;

	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(st->db));
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

/* A column of the recipient whose key is key; the caller frees it. */
static char *
recipient(struct store *st, const char *col, const char *key)
{
	sqlite3_stmt *stmt;
	char sql[128], *v = NULL;

	snprintf(sql, sizeof(sql), "SELECT %s FROM recipients WHERE "
	    "address_key = ?1", col);
	assert_int_equal(sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = strdup((const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	if (v == NULL)
		fail_msg("no recipient %s", key);
	return v;
}

/* The recipient's attributes equal want, JSON types included. */
static void
assert_attrs(struct store *st, const char *key, const char *want)
{
	char *got = recipient(st, "attrs", key);
	json_t *g = json_loads(got, 0, NULL), *w = json_loads(want, 0, NULL);

	assert_non_null(g);
	assert_non_null(w);
	if (!json_equal(g, w))
		fail_msg("%s: attrs %s, want %s", key, got, want);
	json_decref(g);
	json_decref(w);
	free(got);
}

static void
assert_address(struct store *st, const char *key, const char *want)
{
	char *got = recipient(st, "address", key);

	assert_string_equal(got, want);
	free(got);
}

/* Every table's row count and every recipient with its lists. */
static char *
dump(struct store *st)
{
	static const char sql[] =
	    "SELECT group_concat(x, ';') FROM ("
	    "SELECT 'lists=' || (SELECT count(*) FROM lists) || ',' || "
	    "ifnull((SELECT group_concat(name) FROM lists), '') AS x "
	    "UNION ALL SELECT 'members=' || count(*) FROM list_members "
	    "UNION ALL SELECT 'suppressions=' || count(*) FROM suppressions "
	    "UNION ALL SELECT 'templates=' || count(*) FROM templates "
	    "UNION ALL SELECT 'campaigns=' || count(*) FROM campaigns "
	    "UNION ALL SELECT 'deliveries=' || count(*) FROM deliveries "
	    "UNION ALL SELECT 'settings=' || count(*) FROM settings "
	    "UNION ALL SELECT 'links=' || count(*) FROM campaign_links "
	    "UNION ALL SELECT 'volume=' || count(*) FROM provider_volume "
	    "UNION ALL SELECT 'webhooks=' || count(*) FROM webhooks "
	    "UNION ALL SELECT 'outbox=' || count(*) FROM webhook_outbox "
	    "UNION ALL SELECT 'review=' || count(*) FROM inbound_review "
	    "UNION ALL SELECT 'variants=' || count(*) FROM campaign_variants "
	    "UNION ALL SELECT 'r=' || address || attrs FROM (SELECT * FROM "
	    "recipients ORDER BY id))";
	sqlite3_stmt *stmt;
	char *s;

	assert_int_equal(sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	s = strdup((const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	assert_non_null(s);
	return s;
}

/* The tables the dump covers are all the schema has. */
static void
t_dump_complete(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(sql_int(fx->st, "SELECT count(*) FROM sqlite_master "
	    "WHERE type = 'table' AND name NOT IN ('lists', 'list_members', "
	    "'recipients', 'suppressions', 'templates', 'template_versions', "
	    "'campaigns', 'deliveries', 'settings', 'events', "
	    "'campaign_links', 'provider_volume', 'webhooks', "
	    "'webhook_outbox', 'inbound_review', 'campaign_variants')"), 0);
}

/* A list and two members in the store before a fatal import. */
static const char seed_csv[] = "email,n\nold@x.de,1\nold2@x.de,2\n";

static char *
seed(struct fixture *fx)
{
	struct import_stats st;

	import_ok(fx, "seed.csv", seed_csv, &st, NULL);
	assert_int_equal(st.added, 2);
	return dump(fx->st);
}

static void
assert_unchanged(struct fixture *fx, char *before)
{
	char *after = dump(fx->st);

	assert_string_equal(after, before);
	free(after);
	free(before);
}

/* ----------------------------------------------------- CSV, row by row */

static void
t_bom(void **state)
{
	struct fixture *fx = *state;
	struct import_stats st;

	import_ok(fx, "bom.csv", "\xef\xbb\xbf" "email,name\na@x.de,Ann\n", &st,
	    NULL);
	assert_int_equal(st.added, 1);
	assert_int_equal(st.rejected, 0);
	assert_attrs(fx->st, "a@x.de", "{\"name\": \"Ann\"}");
}

/*
 * Quoted fields holding commas, quotes and CRLF; rows that span lines. The
 * rejects and the duplicate must name the line each row starts on.
 */
static const char quoted_csv[] =
    "email,note\r\n"				/* 1 */
    "a@x.de,\"hello, world\"\r\n"		/* 2 */
    "b@x.de,\"multi\r\n"			/* 3 */
    "line \"\"quoted\"\"\"\r\n"			/* 4 */
    "bad-address,\"x\"\r\n"			/* 5 */
    "c@x.de,\"say \"\"hi\"\", ok\"\r\n"		/* 6 */
    "d@x.de,\"a\r\n"				/* 7 */
    "\r\n"					/* 8 */
    "b\"\r\n"					/* 9 */
    "bad2,x\r\n"				/* 10 */
    "A@X.DE,\"again\"\r\n";			/* 11 */

static void
t_quoted(void **state)
{
	struct fixture *fx = *state;
	struct import_stats st;
	struct events ev;
	struct err e = { 0 };

	assert_int_equal(IMPORT(fx, "quoted.csv", quoted_csv, &st, &ev, &e),
	    0);
	assert_int_equal(st.rows, 7);
	assert_int_equal(st.added, 4);
	assert_int_equal(st.rejected, 2);
	assert_int_equal(st.duplicates, 1);
	assert_int_equal(ev.n, 3);
	assert_int_equal(ev.ev[0].kind, IMPORT_REJECT);
	assert_int_equal(ev.ev[0].line, 5);
	assert_string_equal(ev.ev[0].field0, "bad-address");
	assert_int_equal(ev.ev[0].nfields, 2);
	assert_int_equal(ev.ev[1].kind, IMPORT_REJECT);
	assert_int_equal(ev.ev[1].line, 10);
	assert_int_equal(ev.ev[2].kind, IMPORT_DUPLICATE_ROW);
	assert_int_equal(ev.ev[2].line, 11);
	assert_int_equal(ev.ev[2].first_line, 2);
	assert_attrs(fx->st, "b@x.de",
	    "{\"note\": \"multi\\r\\nline \\\"quoted\\\"\"}");
	assert_attrs(fx->st, "c@x.de", "{\"note\": \"say \\\"hi\\\", ok\"}");
	assert_attrs(fx->st, "d@x.de", "{\"note\": \"a\\r\\n\\r\\nb\"}");
}

/* One list in several spellings of line ends and blank lines. */
struct ending_case {
	const char *name;
	const char *text;
	int64_t reject_line;
};

static const struct ending_case ending_cases[] = {
	{ "line ends: LF", "email,n\na@x.de,1\nbad,2\nb@x.de,3\n", 3 },
	{ "line ends: CRLF", "email,n\r\na@x.de,1\r\nbad,2\r\nb@x.de,3\r\n",
	    3 },
	{ "line ends: no final newline", "email,n\na@x.de,1\nbad,2\nb@x.de,3",
	    3 },
	{ "line ends: empty lines, LF",
	    "\nemail,n\n\na@x.de,1\n\n\nbad,2\n\nb@x.de,3\n\n", 7 },
	{ "line ends: empty lines, CRLF",
	    "\r\nemail,n\r\n\r\na@x.de,1\r\n\r\n\r\nbad,2\r\n\r\nb@x.de,3\r\n",
	    7 },
	{ "line ends: blank lines of spaces and tabs",
	    "email,n\n   \n\t\r\nbad,2\na@x.de,1\n , \nb@x.de,3\n", 4 },
	{ "line ends: BOM and CRLF",
	    "\xef\xbb\xbf" "email,n\r\na@x.de,1\r\nbad,2\r\nb@x.de,3\r\n", 3 },
};

static void
t_ending(void **state)
{
	struct fixture *fx = *state;
	const struct ending_case *c = fx->row;
	struct import_stats st;
	struct events ev;

	import_ok(fx, "list.csv", c->text, &st, &ev);
	assert_int_equal(st.rows, 3);
	assert_int_equal(st.added, 2);
	assert_int_equal(st.rejected, 1);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.ev[0].line, c->reject_line);
	assert_string_equal(ev.ev[0].field0, "bad");
	/* No CR left on a value. */
	assert_attrs(fx->st, "a@x.de", "{\"n\": 1}");
	assert_attrs(fx->st, "b@x.de", "{\"n\": 3}");
}

static void
t_invalid_utf8(void **state)
{
	struct fixture *fx = *state;
	struct import_stats st;
	struct events ev;

	import_ok(fx, "utf8.csv", "email,name\na@x.de,ok\nb@x.de,J\xfcrgen\n"
	    "c\xff@x.de,x\nd@x.de,J\xc3\xbcrgen\n", &st, &ev);
	assert_int_equal(st.added, 2);
	assert_int_equal(st.rejected, 2);
	assert_int_equal(ev.ev[0].line, 3);
	assert_non_null(strstr(ev.ev[0].reason, "UTF-8"));
	assert_int_equal(ev.ev[1].line, 4);
	assert_int_equal(sql_int(fx->st, "SELECT count(*) FROM recipients "
	    "WHERE address_key = 'b@x.de'"), 0);
	assert_attrs(fx->st, "d@x.de", "{\"name\": \"J\xc3\xbcrgen\"}");
}

static void
t_duplicate(void **state)
{
	struct fixture *fx = *state;
	struct import_stats st;
	struct events ev;

	import_ok(fx, "dup.csv", "email,n\nA@Example.COM,1\nx@y.de,2\n"
	    "a@example.com,3\n", &st, &ev);
	assert_int_equal(st.rows, 3);
	assert_int_equal(st.added, 2);
	assert_int_equal(st.duplicates, 1);
	assert_int_equal(st.joined, 2);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.ev[0].kind, IMPORT_DUPLICATE_ROW);
	assert_int_equal(ev.ev[0].line, 4);
	assert_int_equal(ev.ev[0].first_line, 2);
	assert_string_equal(ev.ev[0].field0, "a@example.com");
	assert_int_equal(sql_int(fx->st, "SELECT count(*) FROM recipients"),
	    2);
	/* The address keeps the spelling of the first row. */
	assert_address(fx->st, "a@example.com", "A@example.com");
}

static void
t_idn(void **state)
{
	struct fixture *fx = *state;
	struct import_stats st;
	char *domain;

	import_ok(fx, "idn.csv", "email\njürgen@bücher.de\n", &st, NULL);
	assert_int_equal(st.added, 1);
	assert_address(fx->st, "jürgen@xn--bcher-kva.de",
	    "jürgen@xn--bcher-kva.de");
	domain = recipient(fx->st, "domain", "jürgen@xn--bcher-kva.de");
	assert_string_equal(domain, "xn--bcher-kva.de");
	free(domain);
}

/* Spreadsheet formulas stay text, exactly as written. */
static void
t_formula(void **state)
{
	struct fixture *fx = *state;
	struct import_stats st;

	import_ok(fx, "formula.csv", "email,f1,f2,f3,f4,f5,f6\n"
	    "a@x.de,=SUM(A1),+49,-1,@x,\"=HYPERLINK(\"\"http://e.x\"\")\","
	    "-1.5\n", &st, NULL);
	assert_int_equal(st.added, 1);
	assert_attrs(fx->st, "a@x.de", "{\"f1\": \"=SUM(A1)\", "
	    "\"f2\": \"+49\", \"f3\": \"-1\", \"f4\": \"@x\", \"f5\": "
	    "\"=HYPERLINK(\\\"http://e.x\\\")\", \"f6\": \"-1.5\"}");
}

/* Typed only when the cell prints back exactly as written (import.h). */
static void
t_typed(void **state)
{
	struct fixture *fx = *state;
	struct import_stats st;

	import_ok(fx, "typed.csv", "email,i,z,t,f,r,r2,big,zero,T\n"
	    "a@x.de,7,007,true,false,1.5,0.1,12345678901234567,0,True\n", &st,
	    NULL);
	assert_attrs(fx->st, "a@x.de", "{\"i\": 7, \"z\": \"007\", "
	    "\"t\": true, \"f\": false, \"r\": 1.5, \"r2\": \"0.1\", \"big\": "
	    "\"12345678901234567\", \"zero\": 0, \"T\": \"True\"}");
}

static void
t_all_text(void **state)
{
	static const struct import_opts opts = { .create_list = 1,
	    .all_text = 1 };
	static const char text[] = "email,i,t\na@x.de,7,true\n";
	struct fixture *fx = *state;
	struct import_stats st;
	struct err e = { 0 };

	assert_int_equal(import_text(fx, "text.csv", text, sizeof(text) - 1,
	    &opts, &st, NULL, &e), 0);
	assert_attrs(fx->st, "a@x.de", "{\"i\": \"7\", \"t\": \"true\"}");
}

static void
t_nested(void **state)
{
	struct fixture *fx = *state;
	struct import_stats st;

	import_ok(fx, "nested.csv", "email,city.name,city.zip,a.b.c\n"
	    "a@x.de,Berlin,10115,deep\nb@x.de,,,\n", &st, NULL);
	assert_int_equal(st.added, 2);
	assert_attrs(fx->st, "a@x.de", "{\"city\": {\"name\": \"Berlin\", "
	    "\"zip\": 10115}, \"a\": {\"b\": {\"c\": \"deep\"}}}");
	/* Empty cells add nothing, not even the parent object. */
	assert_attrs(fx->st, "b@x.de", "{}");
}

static void
t_reimport(void **state)
{
	static const char text[] = "email,n\na@x.de,1\nb@x.de,2\n";
	struct fixture *fx = *state;
	struct import_stats st;

	import_ok(fx, "list.csv", text, &st, NULL);
	assert_int_equal(st.added, 2);
	assert_int_equal(st.joined, 2);
	assert_int_equal(st.created_list, 1);

	import_ok(fx, "list.csv", text, &st, NULL);
	assert_int_equal(st.rows, 2);
	assert_int_equal(st.added, 0);
	assert_int_equal(st.updated, 0);
	assert_int_equal(st.unchanged, 2);
	assert_int_equal(st.joined, 0);
	assert_int_equal(st.created_list, 0);
	assert_int_equal(sql_int(fx->st, "SELECT count(*) FROM recipients"),
	    2);

	/* A later file adds or overwrites only the keys it carries. */
	import_ok(fx, "more.csv", "email,m\na@x.de,9\n", &st, NULL);
	assert_int_equal(st.updated, 1);
	assert_attrs(fx->st, "a@x.de", "{\"n\": 1, \"m\": 9}");
}

static void
t_field_count(void **state)
{
	struct fixture *fx = *state;
	struct import_stats st;
	struct events ev;

	import_ok(fx, "count.csv", "email,a,b\nx@y.de,1,2\nz@y.de,1\n"
	    "w@y.de,1,2,3\nv@y.de,,\n", &st, &ev);
	assert_int_equal(st.rows, 4);
	assert_int_equal(st.added, 2);
	assert_int_equal(st.rejected, 2);
	assert_int_equal(ev.ev[0].line, 3);
	assert_non_null(strstr(ev.ev[0].reason, "2 fields where the header "
	    "has 3"));
	assert_int_equal(ev.ev[1].line, 4);
	assert_int_equal(ev.ev[1].nfields, 4);
}

static void
t_email_column(void **state)
{
	static const struct import_opts opts = { .create_list = 1,
	    .email_column = "Mail" };
	static const char text[] = "name,MAIL\nAnn,a@x.de\n";
	struct fixture *fx = *state;
	struct import_stats st;
	struct err e = { 0 };

	assert_int_equal(import_text(fx, "mail.csv", text, sizeof(text) - 1,
	    &opts, &st, NULL, &e), 0);
	assert_int_equal(st.added, 1);
	assert_attrs(fx->st, "a@x.de", "{\"name\": \"Ann\"}");
}

/* ------------------------------------------------------ fatal, unchanged */

struct fatal_case {
	const char *name;
	const char *text;
	const char *msg;	/* expected in the message */
};

static const struct fatal_case fatal_cases[] = {
	{ "fatal: no email column", "name,phone\nAnn,123\n",
	    "no column named \"email\"" },
	{ "fatal: unterminated quote at EOF",
	    "email,n\na@x.de,1\nb@x.de,\"open\n", "not closed" },
	{ "fatal: quote inside an unquoted field",
	    "email,n\na@x.de,1\nb@x.de,ab\"c\nc@x.de,3\n", "list.csv:3:" },
	{ "fatal: text after a closing quote",
	    "email,n\na@x.de,\"x\"y\n", "list.csv:2:" },
	{ "fatal: header clash a and a.b", "email,a,a.b\nx@y.de,1,2\n",
	    "clashes" },
	{ "fatal: header clash a.b and a", "email,a.b,a\nx@y.de,1,2\n",
	    "clashes" },
	{ "fatal: header names a column twice", "email,a,a\nx@y.de,1,2\n",
	    "twice" },
	{ "fatal: empty header name", "email,,b\nx@y.de,1,2\n", "column 2" },
	{ "fatal: header name with a leading dot", "email,.a\nx@y.de,1\n",
	    "column 2" },
	{ "fatal: header name with two dots", "email,a..b\nx@y.de,1\n",
	    "column 2" },
	{ "fatal: empty file", "", "empty" },
	{ "fatal: blank lines only", "\n\r\n\n", "empty" },
};

static void
t_fatal(void **state)
{
	static const struct import_opts opts = { .create_list = 1 };
	struct fixture *fx = *state;
	const struct fatal_case *c = fx->row;
	struct import_stats st;
	struct err e = { 0 };
	char path[4096], *before = seed(fx);
	int64_t id;

	/* Into a new list, so that a leftover list would show too. */
	unit_write(fx->dir, "list.csv", c->text, strlen(c->text), path,
	    sizeof(path));
	assert_int_equal(import_file(fx->st, "new", path, &opts, &st, NULL,
	    NULL, &e), -1);
	assert_int_equal(e.code, EX_DATAERR);
	if (strstr(e.msg, c->msg) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", e.msg, c->msg);
	assert_unchanged(fx, before);
	assert_int_equal(store_list_id(fx->st, "new", &id, &e), -1);
	assert_int_equal(e.code, EX_NOINPUT);
}

static void
t_strict(void **state)
{
	static const struct import_opts opts = { .create_list = 1,
	    .strict = 1 };
	static const char text[] = "email,n\nnew@x.de,1\nbad,2\nold@x.de,3\n";
	struct fixture *fx = *state;
	struct import_stats st;
	struct events ev;
	struct err e = { 0 };
	char *before = seed(fx);

	assert_int_equal(import_text(fx, "strict.csv", text, sizeof(text) - 1,
	    &opts, &st, &ev, &e), -1);
	assert_int_equal(e.code, EX_DATAERR);
	assert_int_equal(st.rejected, 1);
	assert_int_equal(ev.ev[0].line, 3);
	assert_unchanged(fx, before);
}

/* Without strict the same file goes in, less the bad row. */
static void
t_not_strict(void **state)
{
	struct fixture *fx = *state;
	struct import_stats st;

	free(seed(fx));
	import_ok(fx, "lax.csv", "email,n\nnew@x.de,1\nbad,2\nold@x.de,3\n",
	    &st, NULL);
	assert_int_equal(st.added, 1);
	assert_int_equal(st.updated, 1);
	assert_int_equal(st.rejected, 1);
}

static void
t_missing_file(void **state)
{
	static const struct import_opts opts = { .create_list = 1 };
	struct fixture *fx = *state;
	struct import_stats st;
	struct err e = { 0 };
	char path[4096];
	char *before = dump(fx->st);

	snprintf(path, sizeof(path), "%s/nope.csv", fx->dir);
	assert_int_equal(import_file(fx->st, "main", path, &opts, &st, NULL,
	    NULL, &e), -1);
	assert_int_equal(e.code, EX_NOINPUT);
	assert_unchanged(fx, before);
}

static void
t_unknown_list(void **state)
{
	static const struct import_opts opts = { 0 };
	static const char text[] = "email\na@x.de\n";
	struct fixture *fx = *state;
	struct import_stats st;
	struct err e = { 0 };
	char *before = dump(fx->st);

	assert_int_equal(import_text(fx, "l.csv", text, sizeof(text) - 1,
	    &opts, &st, NULL, &e), -1);
	assert_int_equal(e.code, EX_NOINPUT);
	assert_unchanged(fx, before);
}

/* ---------------------------------------------------------- JSON Lines */

static const char jsonl[] =
    "{\"email\":\"a@x.de\",\"address\":{\"city\":\"Berlin\",\"zip\":\"10115\"},"
    "\"tags\":[\"a\",\"b\"],\"n\":7}\n"			/* 1 */
    "{\"email\":\"b@x.de\", broken\n"			/* 2 */
    "{\"email\":\"C@x.de\",\"n\":1.5}\r\n"		/* 3 */
    "\n"						/* 4 */
    "{\"email\":5}\n"					/* 5 */
    "[\"not\",\"an object\"]\n"				/* 6 */
    "{\"email\":\"bad\"}\n"				/* 7 */
    "{\"email\":\"d@x.de\",\"n\":1,\"n\":2}\n"		/* 8 */
    "{\"Email\":\"e@x.de\"}";				/* 9 */

static void
t_jsonl(void **state)
{
	struct fixture *fx = *state;
	struct import_stats st;
	struct events ev;
	struct audience aud;
	struct err e = { 0 };
	int64_t list;

	assert_int_equal(IMPORT(fx, "list.jsonl", jsonl, &st, &ev, &e), 0);
	assert_int_equal(st.rows, 8);
	assert_int_equal(st.added, 2);
	assert_int_equal(st.rejected, 6);
	assert_int_equal(ev.n, 6);
	assert_int_equal(ev.ev[0].line, 2);
	assert_non_null(strstr(ev.ev[0].reason, "invalid JSON"));
	assert_string_equal(ev.ev[0].field0, "{\"email\":\"b@x.de\", broken");
	assert_int_equal(ev.ev[1].line, 5);
	assert_int_equal(ev.ev[2].line, 6);
	assert_int_equal(ev.ev[3].line, 7);
	assert_int_equal(ev.ev[4].line, 8);
	assert_int_equal(ev.ev[5].line, 9);
	assert_attrs(fx->st, "a@x.de", "{\"address\": {\"city\": \"Berlin\", "
	    "\"zip\": \"10115\"}, \"tags\": [\"a\", \"b\"], \"n\": 7}");
	assert_attrs(fx->st, "c@x.de", "{\"n\": 1.5}");
	assert_address(fx->st, "c@x.de", "C@x.de");

	/* Nested values are there for segments. */
	assert_int_equal(store_list_id(fx->st, "main", &list, &e), 0);
	assert_int_equal(store_audience_count(fx->st, list,
	    "address.city = 'Berlin' and address.zip = '10115'", &aud, &e), 0);
	assert_int_equal(aud.matching, 1);
}

/* The extension picks the format; IMPORT_JSONL overrides it. */
static void
t_jsonl_format(void **state)
{
	static const struct import_opts opts = { .create_list = 1,
	    .format = IMPORT_JSONL };
	static const char text[] = "\xef\xbb\xbf{\"email\":\"a@x.de\"}\n";
	struct fixture *fx = *state;
	struct import_stats st;
	struct err e = { 0 };

	assert_int_equal(import_text(fx, "list.txt", text, sizeof(text) - 1,
	    &opts, &st, NULL, &e), 0);
	assert_int_equal(st.added, 1);
	import_ok(fx, "list.NDJSON", "{\"email\":\"b@x.de\"}\n", &st, NULL);
	assert_int_equal(st.added, 1);
}

int
main(void)
{
	struct unit_tests u = { 0 };

	unit_add(&u, "dump covers every table", t_dump_complete, NULL);
	unit_add(&u, "csv: UTF-8 BOM", t_bom, NULL);
	unit_add(&u, "csv: quoted fields, lines of multi-line rows", t_quoted,
	    NULL);
	UNIT_TABLE(&u, ending_cases, t_ending);
	unit_add(&u, "csv: invalid UTF-8 row rejected, others kept",
	    t_invalid_utf8, NULL);
	unit_add(&u, "csv: case-only duplicates collapse", t_duplicate, NULL);
	unit_add(&u, "csv: IDN domain", t_idn, NULL);
	unit_add(&u, "csv: formula cells stay text", t_formula, NULL);
	unit_add(&u, "csv: typed cells", t_typed, NULL);
	unit_add(&u, "csv: all_text", t_all_text, NULL);
	unit_add(&u, "csv: nested columns", t_nested, NULL);
	unit_add(&u, "csv: importing twice changes nothing", t_reimport, NULL);
	unit_add(&u, "csv: wrong field count rejected", t_field_count, NULL);
	unit_add(&u, "csv: email_column", t_email_column, NULL);
	UNIT_TABLE(&u, fatal_cases, t_fatal);
	unit_add(&u, "strict: one bad row imports nothing", t_strict, NULL);
	unit_add(&u, "not strict: bad row skipped", t_not_strict, NULL);
	unit_add(&u, "missing file", t_missing_file, NULL);
	unit_add(&u, "unknown list without create_list", t_unknown_list, NULL);
	unit_add(&u, "jsonl: nested kept, bad lines rejected", t_jsonl, NULL);
	unit_add(&u, "jsonl: format option, BOM, .ndjson", t_jsonl_format,
	    NULL);
	/* Every test here writes, so each gets a store of its own. */
	unit_fixture(&u, 0, fx_setup, fx_teardown);
	return unit_run(&u, "import", NULL, NULL);
}
