/*
 * test_limits_input.c - every input-side limit of limits.h at its edge.
 *
 * Each row of the edge table feeds input of exactly N (the limit) through
 * the engine function that enforces it and expects it accepted, then N + 1
 * and expects it refused with a message that names the limit's value (and,
 * for files, the file and line). The input is built by the row's run
 * function for any size, so the table shows the limit and the message and
 * nothing else. Limits with no "accepted at N" (RSA key sizes, filter
 * arguments, a CSV cell of N bytes) have tests of their own below.
 *
 * Enforced only by the command line, and tested in
 * tests/integration/limits.sh instead: LIMIT_SUBJECT and LIMIT_TEMPLATE_PART
 * of a text part (cmd_template.c) and LIMIT_IMPORT_REPORTED (cmd_list.c).
 */
#include "unit.h"

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "campaign.h"
#include "config.h"
#include "dkim.h"
#include "import.h"
#include "limits.h"
#include "mime.h"
#include "render.h"
#include "segment.h"
#include "store.h"
#include "store_int.h"
#include "template.h"
#include "track.h"
#include "workers.h"

#define PATH	4096

/* One store and one Ed25519 key for the whole file; names stay unique
 * because each run takes the next serial number. */
static struct {
	char *dir;
	struct store *st;
	char ed[PATH];		/* example.com, selector "s" */
	int seq;
} fx;

/* ------------------------------------------------------------- helpers */

static char *
rep(int c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static char *
cat(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
cat(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&s, fmt, ap);
	va_end(ap);
	assert_true(rc >= 0);
	return s;
}

/* A host name of exactly n octets: labels of 63 joined by dots. */
static char *
domain(size_t n)
{
	char *s = rep('a', n);
	size_t i;

	for (i = 63; i + 1 < n; i += 64)
		s[i] = '.';
	assert_true(n >= 65);
	return s;
}

/* A DKIM selector of exactly n characters: labels of 31, dotted. */
static char *
selector(size_t n)
{
	char *s = rep('s', n);
	size_t i;

	for (i = 31; i + 1 < n; i += 32)
		s[i] = '.';
	return s;
}

/* Writes data to the scratch directory as name; path gets the full name. */
static void
put(const char *name, const char *data, size_t len, char *path)
{
	unit_write(fx.dir, name, data, len, path, PATH);
}

/* ------------------------------------------------------------- import */

struct rejects {
	int n;
	char first[LIMIT_ERR_MSG];
};

static void
on_import(const struct import_event *ev, void *ctx)
{
	struct rejects *r = ctx;

	if (ev->kind != IMPORT_REJECT || r->n++ > 0)
		return;
	snprintf(r->first, sizeof(r->first), "%s:%lld: %s", ev->file,
	    (long long)ev->line, ev->reason);
}

/*
 * Imports data as a file named after the next serial with extension ext
 * into a list of its own. A fatal error, or the first rejected row as
 * "file:line: reason", comes back as -1 in e.
 */
static int
import(const char *ext, const char *data, struct import_stats *stats,
    struct err *e)
{
	static const struct import_opts opts = { .create_list = 1 };
	struct rejects r = { 0 };
	char name[64], list[64], path[PATH];

	snprintf(name, sizeof(name), "in%d.%s", ++fx.seq, ext);
	snprintf(list, sizeof(list), "list%d", fx.seq);
	put(name, data, strlen(data), path);
	if (import_file(fx.st, list, path, &opts, stats, on_import, &r, e) < 0)
		return -1;
	if (r.n > 0)
		return err_set(e, EX_DATAERR, "%s", r.first);
	return 0;
}

/* The length of a recipient's stored attributes, -1 when absent. */
static int64_t
attrs_len(const char *address)
{
	sqlite3_stmt *stmt;
	int64_t n = -1;

	assert_int_equal(sqlite3_prepare_v2(fx.st->db, "SELECT "
	    "length(CAST(attrs AS BLOB)) FROM recipients WHERE address = ?1",
	    -1, &stmt, NULL), SQLITE_OK);
	sqlite3_bind_text(stmt, 1, address, -1, SQLITE_STATIC);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		n = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return n;
}

/* ----------------------------------------------------- the edge table */

struct edge {
	const char *name;
	int limit;
	int (*run)(int n, struct err *e);	/* feeds input of size n */
	const char *why;	/* printf format of the limit: in the message */
	const char *at;		/* also in the message; NULL: nothing */
};

static void
t_edge(void **state)
{
	const struct edge *c = *state;
	char want[256];
	struct err e;

	memset(&e, 0, sizeof(e));
	if (c->run(c->limit, &e) != 0)
		fail_msg("%d refused: %s", c->limit, e.msg);
	memset(&e, 0, sizeof(e));
	if (c->run(c->limit + 1, &e) != -1)
		fail_msg("%d accepted", c->limit + 1);
	assert_int_not_equal(e.code, 0);
	snprintf(want, sizeof(want), c->why, c->limit);
	if (strstr(e.msg, want) == NULL)
		fail_msg("%d: \"%s\" does not say \"%s\"", c->limit + 1, e.msg,
		    want);
	if (c->at != NULL && strstr(e.msg, c->at) == NULL)
		fail_msg("%d: \"%s\" does not say \"%s\"", c->limit + 1, e.msg,
		    c->at);
}

/* --- addresses */

static int
run_addr_local(int n, struct err *e)
{
	char *l = rep('x', (size_t)n), *s = cat("%s@example.com", l);
	struct addr a;
	int rc = addr_parse(s, strlen(s), &a, e);

	if (rc == 0)
		assert_int_equal(strlen(a.local), n);
	free(l);
	free(s);
	return rc;
}

/* A whole address of 255 octets fails LIMIT_ADDR first, so the domain's
 * own limit is reached through addr_domain(), which addr_parse() calls. */
static int
run_addr_domain(int n, struct err *e)
{
	char *d = domain((size_t)n), out[LIMIT_ADDR_DOMAIN + 1];
	int rc = addr_domain(d, strlen(d), out, sizeof(out), e);

	if (rc == 0)
		assert_string_equal(out, d);
	free(d);
	return rc;
}

static int
run_addr(int n, struct err *e)
{
	char *d = domain((size_t)n - 2), *s = cat("a@%s", d);
	struct addr a;
	int rc = addr_parse(s, strlen(s), &a, e);

	if (rc == 0)
		assert_int_equal(strlen(a.address), n);
	free(d);
	free(s);
	return rc;
}

static int
run_label(int n, struct err *e)
{
	char *l = rep('x', (size_t)n), *s = cat("a@%s.de", l);
	struct addr a;
	int rc = addr_parse(s, strlen(s), &a, e);

	free(l);
	free(s);
	return rc;
}

static int
run_display_name(int n, struct err *e)
{
	char *name = rep('N', (size_t)n), *s = cat("%s <a@example.com>", name);
	struct mailbox mb;
	int rc = addr_parse_mailbox(s, &mb, e);

	if (rc == 0)
		assert_string_equal(mb.name, name);
	free(name);
	free(s);
	return rc;
}

/* --- names */

static int
run_list_name(int n, struct err *e)
{
	char *name = rep('l', (size_t)n);
	int64_t id;
	int rc = store_list_create(fx.st, name, NULL, &id, e);

	free(name);
	return rc;
}

static int
run_template_name(int n, struct err *e)
{
	char *name = rep('t', (size_t)n);
	int rc, version;

	rc = store_template_add(fx.st, name, "s", "<p>x</p>", NULL, &version,
	    e);
	free(name);
	return rc;
}

static int
run_campaign_name(int n, struct err *e)
{
	char *name = rep('c', (size_t)n);
	struct campaign_spec spec = { 0 };
	struct audience aud;
	int rc;

	spec.name = name;
	spec.list = "clist";
	spec.template_name = "ctpl";
	spec.from_name = "";
	spec.from_addr = "news@example.com";
	rc = store_campaign_create(fx.st, &spec, &aud, e);
	free(name);
	return rc;
}

/* --- import */

static int
run_import_line(int n, struct err *e)
{
	char *email = cat("line%d@example.com", fx.seq + 1);
	char *head = cat("{\"email\":\"%s\"", email);
	char *pad = rep(' ', (size_t)n - strlen(head) - 1);
	char *s = cat("%s%s}\n", head, pad);
	struct import_stats st;
	int rc = import("jsonl", s, &st, e);

	if (rc == 0)
		assert_int_equal(st.added, 1);
	free(email);
	free(head);
	free(pad);
	free(s);
	return rc;
}

/* A header of head columns over one row of row fields, its address
 * PREFIXn@example.com. */
static int
run_columns(const char *prefix, int head, int row, struct err *e)
{
	struct import_stats st;
	FILE *fp;
	size_t len;
	char *s;
	int i, rc;

	assert_non_null(fp = open_memstream(&s, &len));
	fprintf(fp, "email");
	for (i = 2; i <= head; i++)
		fprintf(fp, ",c%d", i);
	fprintf(fp, "\n%s%d@example.com", prefix, fx.seq + 1);
	for (i = 2; i <= row; i++)
		fprintf(fp, ",1");
	fprintf(fp, "\n");
	assert_int_equal(fclose(fp), 0);
	rc = import("csv", s, &st, e);
	if (rc == 0)
		assert_int_equal(st.added, 1);
	free(s);
	return rc;
}

/* A header of n columns over one row of as many. */
static int
run_columns_header(int n, struct err *e)
{
	return run_columns("cols", n, n, e);
}

/* A header of LIMIT_IMPORT_COLUMNS columns over a row of n fields. */
static int
run_columns_row(int n, struct err *e)
{
	return run_columns("row", LIMIT_IMPORT_COLUMNS, n, e);
}

/* {"a":"xxx"} is 8 octets more than its value. */
static int
run_attrs_jsonl(int n, struct err *e)
{
	char *email = cat("attrs%d@example.com", fx.seq + 1);
	char *v = rep('x', (size_t)n - 8);
	char *s = cat("{\"email\":\"%s\",\"a\":\"%s\"}\n", email, v);
	struct import_stats st;
	int rc = import("jsonl", s, &st, e);

	if (rc == 0)
		assert_int_equal(attrs_len(email), n);
	free(email);
	free(v);
	free(s);
	return rc;
}

static int
run_attrs_csv(int n, struct err *e)
{
	char *email = cat("attrscsv%d@example.com", fx.seq + 1);
	char *v = rep('x', (size_t)n - 8);
	char *s = cat("email,a\n%s,%s\n", email, v);
	struct import_stats st;
	int rc = import("csv", s, &st, e);

	if (rc == 0)
		assert_int_equal(attrs_len(email), n);
	free(email);
	free(v);
	free(s);
	return rc;
}

/*
 * A known recipient's attributes merged with a second file's: each file
 * is well under the limit, {"a":"..","b":".."} together n octets (15 more
 * than the two values).
 */
static int
run_attrs_merged(int n, struct err *e)
{
	char *email = cat("merge%d@example.com", fx.seq + 1);
	char *a = rep('a', 30000), *b = rep('b', (size_t)n - 15 - 30000);
	char *s1 = cat("{\"email\":\"%s\",\"a\":\"%s\"}\n", email, a);
	char *s2 = cat("{\"email\":\"%s\",\"b\":\"%s\"}\n", email, b);
	struct import_stats st;
	int rc;

	if (import("jsonl", s1, &st, e) < 0)
		fail_msg("first file: %s", e->msg);
	rc = import("jsonl", s2, &st, e);
	if (rc == 0) {
		assert_int_equal(st.updated, 1);
		assert_int_equal(attrs_len(email), n);
	} else
		assert_int_equal(attrs_len(email), 30000 + 8);
	free(email);
	free(a);
	free(b);
	free(s1);
	free(s2);
	return rc;
}

/* --- templates */

static int
run_template_part(int n, struct err *e)
{
	char *html = rep('x', (size_t)n);
	int rc;

	memcpy(html, "<p>", 3);
	rc = render_check("t", "s", html, NULL, e);
	free(html);
	return rc;
}

static int
compile(const char *src, struct err *e)
{
	const struct tpl_source s = { "t", "html", TPL_HTML, NULL };
	struct tpl *t;
	int rc = tpl_compile(src, strlen(src), &s, &t, e);

	tpl_free(t);
	return rc;
}

static int
run_template_depth(int n, struct err *e)
{
	FILE *fp;
	size_t len;
	char *s;
	int i, rc;

	assert_non_null(fp = open_memstream(&s, &len));
	for (i = 0; i < n; i++)
		fprintf(fp, "{{#if a}}");
	for (i = 0; i < n; i++)
		fprintf(fp, "{{/if}}");
	assert_int_equal(fclose(fp), 0);
	rc = compile(s, e);
	free(s);
	return rc;
}

/* A tag is what stands between the braces. */
static int
run_template_tag(int n, struct err *e)
{
	char *pad = rep(' ', (size_t)n - 1), *s = cat("{{a%s}}", pad);
	int rc = compile(s, e);

	free(pad);
	free(s);
	return rc;
}

/* n copies of unit; the whole template is at most 7 * n octets. */
static int
repeat_compile(const char *unit, int n, struct err *e)
{
	size_t len = strlen(unit);
	char *s = malloc(len * (size_t)n + 1);
	int i, rc;

	assert_non_null(s);
	for (i = 0; i < n; i++)
		memcpy(s + (size_t)i * len, unit, len);
	s[len * (size_t)n] = '\0';
	rc = compile(s, e);
	free(s);
	return rc;
}

/* A text run before a comment is one operation and nothing else. */
static int
run_template_ops(int n, struct err *e)
{
	return repeat_compile("x{{!}}", n, e);
}

/* An output tag is one value (its path) and one operation. */
static int
run_template_values(int n, struct err *e)
{
	return repeat_compile("{{a}}", n, e);
}

/* {{#each}} runs once and {{/each}} once per element: n - 1 elements
 * are n steps. */
static int
run_render_steps(int n, struct err *e)
{
	const char src[] = "{{#each items}}{{/each}}";
	const struct tpl_source s = { "t", "text", TPL_TEXT, NULL };
	json_t *items = json_array(), *attrs;
	struct tpl_scratch scratch;
	struct tpl_env env;
	struct tpl *t;
	struct buf out;
	int i, rc;

	assert_int_equal(tpl_compile(src, sizeof(src) - 1, &s, &t, e), 0);
	for (i = 0; i < n - 1; i++)
		json_array_append_new(items, json_null());
	attrs = json_pack("{s:o}", "items", items);
	memset(&env, 0, sizeof(env));
	env.attrs = attrs;
	env.email = "a@example.com";
	env.campaign_name = "c";
	env.unsubscribe_url = "";
	tpl_scratch_init(&scratch);
	buf_init(&out, LIMIT_MESSAGE);
	rc = tpl_render(t, &env, &out, &scratch, e);
	buf_free(&out);
	tpl_scratch_free(&scratch);
	json_decref(attrs);
	tpl_free(t);
	return rc;
}

/* --- the rendered message */

/* Renders a text part of k lines of 69 x and a last line of tail x. */
static int
render_body(struct render *r, struct render_ctx *x, size_t k, size_t tail,
    struct err *e)
{
	char *body = malloc(k * 70 + tail + 1);
	struct render_rcpt rc = { 7, "rita@example.com", NULL, 1796115600000 };
	size_t i;
	int ret;

	assert_non_null(body);
	for (i = 0; i < k; i++) {
		memset(body + i * 70, 'x', 69);
		body[i * 70 + 69] = '\n';
	}
	memset(body + k * 70, 'x', tail);
	body[k * 70 + tail] = '\0';
	rc.attrs = json_pack("{s:s}", "body", body);
	free(body);
	ret = render_message(r, &rc, x, e);
	json_decref(rc.attrs);
	return ret;
}

/*
 * A message of exactly n octets: the size grows by the same amount with
 * every line of the text part (quoted-printable, no soft breaks in lines
 * this short) and by one with every character of the last line, so two
 * small renders say which body makes n.
 */
static int
run_message(int n, struct err *e)
{
	static const struct track_key key = { { 1, 2, 3 }, 32 };
	struct render_campaign c = { 0 };
	struct render_config cfg = { 0 };
	struct render_ctx x;
	struct render *r;
	size_t s0, per, k, tail;
	int rc;

	c.id = 1;
	c.name = "big";
	c.from_addr = "news@example.com";
	c.template_name = "t";
	c.subject = "s";
	c.html = "";
	c.text = "{{ body }}";
	assert_int_equal(render_open(&c, &cfg, &key, &r, e), 0);
	render_ctx_init(&x);
	assert_int_equal(render_body(r, &x, 0, 0, e), 0);
	s0 = x.msg.len;
	assert_int_equal(render_body(r, &x, 1, 0, e), 0);
	per = x.msg.len - s0;
	k = ((size_t)n - s0) / per;
	tail = ((size_t)n - s0) % per;
	assert_true(tail < 76);
	rc = render_body(r, &x, k, tail, e);
	if (rc == 0)
		assert_int_equal(x.msg.len, n);
	render_ctx_free(&x);
	render_close(r);
	return rc;
}

/* --- headers */

static int
run_header_name(int n, struct err *e)
{
	char *name = rep('a', (size_t)n);
	int rc;

	memcpy(name, "X-", 2);
	rc = mime_check_header(name, "v", e);
	free(name);
	return rc;
}

static int
run_header_value(int n, struct err *e)
{
	char *v = rep('v', (size_t)n);
	int rc = mime_check_header("X-Test", v, e);

	free(v);
	return rc;
}

/* An unsubscribe URL cannot be folded: it has to fit one line. */
static int
run_header_token(int n, struct err *e)
{
	char *url = rep('u', (size_t)n);
	struct mime_msg m = { 0 };
	struct buf out;
	int rc;

	memcpy(url, "https://t.example.com/", 22);
	m.from_addr = "news@example.com";
	m.to_addr = "rita@example.com";
	m.subject = "s";
	m.text = "hello\n";
	m.text_len = 6;
	m.date_ms = 1796115600000;
	m.message_id = "id@example.com";
	m.unsubscribe_url = url;
	buf_init(&out, LIMIT_MESSAGE);
	rc = mime_build(&m, &out, e);
	if (rc == 0)
		assert_non_null(strstr(out.data, url + 22));
	buf_free(&out);
	free(url);
	return rc;
}

static int
run_headers(int n, struct err *e)
{
	json_t *arr = json_array(), *root = json_pack("{s:o}", "headers", arr);
	struct campaign_options o;
	char name[32], *text;
	int i, rc;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "X-H%d", i);
		json_array_append_new(arr, json_pack("[s, s]", name, "v"));
	}
	text = json_dumps(root, JSON_COMPACT);
	rc = campaign_options_parse(text, &o, e);
	if (rc == 0) {
		assert_int_equal(o.nheaders, n);
		campaign_options_free(&o);
	}
	free(text);
	json_decref(root);
	return rc;
}

/* --- segments */

static int
segment(const char *s, struct err *e)
{
	struct segment *seg;
	int rc = segment_compile(s, &seg, e);

	segment_free(seg);
	return rc;
}

static int
run_segment_len(int n, struct err *e)
{
	char *s = rep(' ', (size_t)n);
	int rc;

	memcpy(s, "a = 1", 5);
	rc = segment(s, e);
	free(s);
	return rc;
}

static int
run_segment_depth(int n, struct err *e)
{
	char *open = rep('(', (size_t)n), *close = rep(')', (size_t)n);
	char *s = cat("%sa = 1%s", open, close);
	int rc = segment(s, e);

	free(open);
	free(close);
	free(s);
	return rc;
}

static int
run_segment_terms(int n, struct err *e)
{
	FILE *fp;
	size_t len;
	char *s;
	int i, rc;

	assert_non_null(fp = open_memstream(&s, &len));
	for (i = 0; i < n; i++)
		fprintf(fp, "%sa = 1", i ? " or " : "");
	assert_int_equal(fclose(fp), 0);
	rc = segment(s, e);
	free(s);
	return rc;
}

/* The path is one parameter, each literal of the list one more. */
static int
run_segment_params(int n, struct err *e)
{
	FILE *fp;
	size_t len;
	char *s;
	int i, rc;

	assert_non_null(fp = open_memstream(&s, &len));
	fprintf(fp, "a in (");
	for (i = 1; i < n; i++)
		fprintf(fp, "%s%d", i > 1 ? "," : "", i);
	fprintf(fp, ")");
	assert_int_equal(fclose(fp), 0);
	rc = segment(s, e);
	free(s);
	return rc;
}

/* --- the configuration file */

static int
config(const char *json, size_t len, struct err *e)
{
	char name[64], path[PATH];
	struct config cfg;
	int rc;

	snprintf(name, sizeof(name), "config%d.json", ++fx.seq);
	put(name, json, len, path);
	rc = config_load(path, 1, &cfg, e);
	if (rc == 0)
		config_free(&cfg);
	return rc;
}

static int
run_config_file(int n, struct err *e)
{
	char *s = rep(' ', (size_t)n);
	int rc;

	s[0] = '{';
	s[n - 2] = '}';
	s[n - 1] = '\n';
	rc = config(s, (size_t)n, e);
	free(s);
	return rc;
}

/* {"section": {"sub": {"d0.example": VALUE, ...}}} with n entries. */
static int
config_entries(const char *section, const char *sub, const char *value,
    int n, struct err *e)
{
	FILE *fp;
	size_t len;
	char *s;
	int i, rc;

	assert_non_null(fp = open_memstream(&s, &len));
	fprintf(fp, "{\"%s\": {\"%s\": {", section, sub);
	for (i = 0; i < n; i++)
		fprintf(fp, "%s\"d%d.example\": %s", i ? ", " : "", i, value);
	fprintf(fp, "}}}\n");
	assert_int_equal(fclose(fp), 0);
	rc = config(s, len, e);
	free(s);
	return rc;
}

static int
run_config_routes(int n, struct err *e)
{
	return config_entries("delivery", "routes",
	    "{\"host\": \"h.example\"}", n, e);
}

static int
run_config_rules(int n, struct err *e)
{
	return config_entries("shaping", "domains", "{}", n, e);
}

static int
run_config_dkim(int n, struct err *e)
{
	FILE *fp;
	size_t len;
	char *s;
	int i, rc;

	assert_non_null(fp = open_memstream(&s, &len));
	fprintf(fp, "{\"dkim\": [");
	for (i = 0; i < n; i++)
		fprintf(fp, "%s{\"domain\": \"d%d.example\", \"selector\": "
		    "\"s\", \"algorithm\": \"ed25519-sha256\", "
		    "\"key_file\": \"k.pem\"}", i ? ", " : "", i);
	fprintf(fp, "]}\n");
	assert_int_equal(fclose(fp), 0);
	rc = config(s, len, e);
	free(s);
	return rc;
}

static int
run_config_selector(int n, struct err *e)
{
	char *sel = selector((size_t)n);
	char *s = cat("{\"dkim\": [{\"domain\": \"example.com\", \"selector\": "
	    "\"%s\", \"algorithm\": \"ed25519-sha256\", \"key_file\": "
	    "\"k.pem\"}]}\n", sel);
	int rc = config(s, strlen(s), e);

	free(sel);
	free(s);
	return rc;
}

static int
run_config_workers(int n, struct err *e)
{
	char *s = cat("{\"workers\": %d}\n", n);
	int rc = config(s, strlen(s), e);

	free(s);
	return rc;
}

static void
noop(void *arg, int worker, struct workers_job *j)
{
	(void)arg;
	(void)worker;
	(void)j;
}

static int
run_workers(int n, struct err *e)
{
	struct workers *w;

	if (workers_start(n, noop, NULL, &w, e) < 0)
		return -1;
	workers_stop(w);
	return 0;
}

/* --- DKIM */

static int
signer(const char *sel, const char *file, const char *alg, struct err *e)
{
	struct dkim_key_conf k = { "example.com", sel, alg, file };
	struct dkim_signer *s;

	if (dkim_signer_open(&k, 1, &s, e) < 0)
		return -1;
	assert_int_equal(dkim_signer_nkeys(s), 1);
	dkim_signer_close(s);
	return 0;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *s = malloc(LIMIT_DKIM_KEY_FILE + 1);

	assert_non_null(fp);
	assert_non_null(s);
	*len = fread(s, 1, LIMIT_DKIM_KEY_FILE, fp);
	fclose(fp);
	s[*len] = '\0';
	return s;
}

/* The key with lines of '#' before it (PEM readers skip them) to n. */
static int
run_key_file(int n, struct err *e)
{
	char name[64], path[PATH], *s = malloc((size_t)n + 1), *key;
	size_t len, pad, i;
	int rc;

	assert_non_null(s);
	key = slurp(fx.ed, &len);
	pad = (size_t)n - len;
	memset(s, '#', pad);
	for (i = 63; i < pad; i += 64)
		s[i] = '\n';
	if (pad > 0)
		s[pad - 1] = '\n';
	memcpy(s + pad, key, len);
	snprintf(name, sizeof(name), "padded%d.pem", ++fx.seq);
	put(name, s, (size_t)n, path);
	assert_int_equal(chmod(path, 0600), 0);
	rc = signer("s", path, "ed25519", e);
	free(key);
	free(s);
	return rc;
}

static int
run_selector(int n, struct err *e)
{
	char *sel = selector((size_t)n);
	int rc = signer(sel, fx.ed, "ed25519", e);

	free(sel);
	return rc;
}

static int
run_selector_keygen(int n, struct err *e)
{
	char *sel = selector((size_t)n), path[PATH];
	struct dkim_keygen_req r = { "example.com", sel, DKIM_ED25519_SHA256,
	    0, path };
	struct buf rec;
	int rc;

	snprintf(path, sizeof(path), "%s/sel%d.pem", fx.dir, ++fx.seq);
	buf_init(&rec, LIMIT_DKIM_SIGNATURES);
	rc = dkim_keygen(&r, &rec, e);
	if (rc == 0)
		assert_non_null(strstr(rec.data, sel));
	buf_free(&rec);
	free(sel);
	return rc;
}

#define FILE_LINE(ext, line)	"." ext ":" #line ": "

static const struct edge edges[] = {
	{ "LIMIT_ADDR_LOCAL: addr_parse() local part", LIMIT_ADDR_LOCAL,
	  run_addr_local, "local part is longer than %d octets", NULL },
	{ "LIMIT_ADDR_DOMAIN: addr_domain()", LIMIT_ADDR_DOMAIN,
	  run_addr_domain, "domain is longer than %d characters", NULL },
	{ "LIMIT_ADDR: addr_parse() whole address", LIMIT_ADDR, run_addr,
	  "address is longer than %d octets", NULL },
	{ "LIMIT_DOMAIN_LABEL: addr_parse() domain label",
	  LIMIT_DOMAIN_LABEL, run_label, "is longer than %d characters",
	  "domain label" },
	{ "LIMIT_DISPLAY_NAME: addr_parse_mailbox()", LIMIT_DISPLAY_NAME,
	  run_display_name, "display name is longer than %d octets", NULL },
	{ "LIMIT_NAME: store_list_create()", LIMIT_NAME, run_list_name,
	  "list name is longer than %d characters", NULL },
	{ "LIMIT_NAME: store_template_add()", LIMIT_NAME, run_template_name,
	  "template name is longer than %d characters", NULL },
	{ "LIMIT_NAME: store_campaign_create()", LIMIT_NAME,
	  run_campaign_name, "campaign name is longer than %d characters",
	  NULL },
	{ "LIMIT_IMPORT_LINE: import_file() JSON Lines record",
	  LIMIT_IMPORT_LINE, run_import_line, "line is longer than %d bytes",
	  FILE_LINE("jsonl", 1) },
	{ "LIMIT_IMPORT_COLUMNS: import_file() CSV header",
	  LIMIT_IMPORT_COLUMNS, run_columns_header, "more than %d columns",
	  FILE_LINE("csv", 1) },
	{ "LIMIT_IMPORT_COLUMNS: import_file() CSV row", LIMIT_IMPORT_COLUMNS,
	  run_columns_row, "more than %d fields", FILE_LINE("csv", 2) },
	{ "LIMIT_ATTRS: import_file() JSON Lines attributes", LIMIT_ATTRS,
	  run_attrs_jsonl, "attributes are larger than %d bytes",
	  FILE_LINE("jsonl", 1) },
	{ "LIMIT_ATTRS: import_file() CSV attributes", LIMIT_ATTRS,
	  run_attrs_csv, "attributes are larger than %d bytes",
	  FILE_LINE("csv", 2) },
	{ "LIMIT_ATTRS: import_file() attributes merged with stored ones",
	  LIMIT_ATTRS, run_attrs_merged, "merged with the stored ones are "
	  "larger than %d bytes", FILE_LINE("jsonl", 1) },
	{ "LIMIT_TEMPLATE_PART: render_check() HTML part",
	  LIMIT_TEMPLATE_PART, run_template_part, "over the limit of %d",
	  NULL },
	{ "LIMIT_TEMPLATE_DEPTH: tpl_compile() nested blocks",
	  LIMIT_TEMPLATE_DEPTH, run_template_depth,
	  "blocks nested deeper than %d", "template t, part html" },
	{ "LIMIT_TEMPLATE_TAG: tpl_compile() one tag", LIMIT_TEMPLATE_TAG,
	  run_template_tag, "a tag longer than %d bytes", "line 1, column 1" },
	{ "LIMIT_TEMPLATE_OPS: tpl_compile() operations", LIMIT_TEMPLATE_OPS,
	  run_template_ops, "too large (more than %d operations)",
	  "template t, part html" },
	{ "LIMIT_TEMPLATE_OPS: tpl_compile() values", LIMIT_TEMPLATE_OPS,
	  run_template_values, "too large (more than %d values)",
	  "template t, part html" },
	{ "LIMIT_RENDER_STEPS: tpl_render() steps", LIMIT_RENDER_STEPS,
	  run_render_steps, "rendering took more than %d steps", NULL },
	{ "LIMIT_MESSAGE: render_message() whole message", LIMIT_MESSAGE,
	  run_message, "message is larger than %d bytes", NULL },
	{ "LIMIT_HEADER_NAME: mime_check_header() name", LIMIT_HEADER_NAME,
	  run_header_name, "header name is longer than %d characters", NULL },
	{ "LIMIT_HEADER_VALUE: mime_check_header() value", LIMIT_HEADER_VALUE,
	  run_header_value, "value is longer than %d octets", "X-Test" },
	{ "LIMIT_HEADER_TOKEN: mime_build() unsubscribe URL",
	  LIMIT_HEADER_TOKEN, run_header_token,
	  "unsubscribe URL is longer than %d octets", NULL },
	{ "LIMIT_HEADERS: campaign_options_parse() custom headers",
	  LIMIT_HEADERS, run_headers, "at most %d [name, value] pairs",
	  "campaign option headers" },
	{ "LIMIT_SEGMENT_LEN: segment_compile() length", LIMIT_SEGMENT_LEN,
	  run_segment_len, "the limit is %d", NULL },
	{ "LIMIT_SEGMENT_DEPTH: segment_compile() nesting",
	  LIMIT_SEGMENT_DEPTH, run_segment_depth,
	  "nested deeper than %d levels", "column 33" },
	{ "LIMIT_SEGMENT_TERMS: segment_compile() tests", LIMIT_SEGMENT_TERMS,
	  run_segment_terms, "more than %d tests", NULL },
	{ "LIMIT_SEGMENT_PARAMS: segment_compile() literals and paths",
	  LIMIT_SEGMENT_PARAMS, run_segment_params, "more than %d literals",
	  NULL },
	{ "LIMIT_CONFIG_FILE: config_load() file size", LIMIT_CONFIG_FILE,
	  run_config_file, "larger than %d bytes", ".json: " },
	{ "LIMIT_CONFIG_ROUTES: config_load() delivery.routes",
	  LIMIT_CONFIG_ROUTES, run_config_routes,
	  "\"delivery.routes\" must have at most %d entries", NULL },
	{ "LIMIT_CONFIG_ROUTES: config_load() shaping.domains rules",
	  LIMIT_CONFIG_ROUTES, run_config_rules,
	  "\"shaping.domains\" must be an object of at most %d rules", NULL },
	{ "LIMIT_CONFIG_DKIM_KEYS: config_load() dkim entries",
	  LIMIT_CONFIG_DKIM_KEYS, run_config_dkim,
	  "\"dkim\" must have at most %d keys", NULL },
	{ "LIMIT_DKIM_SELECTOR: config_load() dkim selector",
	  LIMIT_DKIM_SELECTOR, run_config_selector, "at most %d characters",
	  "dkim[0].selector" },
	{ "LIMIT_WORKERS: config_load() workers", LIMIT_WORKERS,
	  run_config_workers, "\"workers\" must be an integer from 1 to %d",
	  NULL },
	{ "LIMIT_WORKERS: workers_start()", LIMIT_WORKERS, run_workers,
	  "threads; from 1 to %d", NULL },
	{ "LIMIT_DKIM_KEY_FILE: dkim_signer_open() key file size",
	  LIMIT_DKIM_KEY_FILE, run_key_file, "is larger than %d bytes",
	  "key file " },
	{ "LIMIT_DKIM_SELECTOR: dkim_signer_open() selector",
	  LIMIT_DKIM_SELECTOR, run_selector, "must be 1-%d characters",
	  "DKIM key 1" },
	{ "LIMIT_DKIM_SELECTOR: dkim_keygen() selector", LIMIT_DKIM_SELECTOR,
	  run_selector_keygen, "must be 1-%d characters", NULL },
};

/* ------------------------------------------- limits without a plain edge */

/*
 * LIMIT_IMPORT_FIELD: a cell of N bytes passes the CSV reader, one of N + 1
 * aborts the whole import. A cell of N bytes cannot be stored, though: as
 * an attribute it makes more than LIMIT_ATTRS (of the same size) of JSON,
 * so its row is rejected for that, one row and not the file.
 */
static void
t_import_field(void **state)
{
	struct import_stats st;
	struct err e;
	char *cell, *s, *ok, want[128];
	int n;

	(void)state;
	for (n = LIMIT_IMPORT_FIELD; n <= LIMIT_IMPORT_FIELD + 1; n++) {
		cell = rep('x', (size_t)n);
		ok = cat("ok%d@example.com", n);
		s = cat("email,a\nfield%d@example.com,%s\n%s,y\n", n, cell, ok);
		memset(&e, 0, sizeof(e));
		if (n == LIMIT_IMPORT_FIELD) {
			assert_int_equal(import("csv", s, &st, &e), -1);
			assert_int_equal(st.rows, 2);
			assert_int_equal(st.added, 1);
			assert_null(strstr(e.msg, "field"));
			assert_non_null(strstr(e.msg, ".csv:2: attributes are "
			    "larger"));
		} else {
			assert_int_equal(import("csv", s, &st, &e), -1);
			assert_int_equal(e.code, EX_DATAERR);
			snprintf(want, sizeof(want), ".csv:2: column 2 (a): a "
			    "field is longer than %d bytes", LIMIT_IMPORT_FIELD);
			if (strstr(e.msg, want) == NULL)
				fail_msg("\"%s\" does not say \"%s\"", e.msg,
				    want);
		}
		/* a fatal import leaves even the good row out */
		assert_int_equal(attrs_len(ok), n == LIMIT_IMPORT_FIELD ? 9 : -1);
		free(ok);
		free(cell);
		free(s);
	}
	/* A quoted cell still open past the limit is stopped as it is read,
	 * lines before its end, not when it ends. */
	cell = rep('y', LIMIT_IMPORT_FIELD + 2048);
	for (n = 1000; n < LIMIT_IMPORT_FIELD + 2048; n += 1000)
		cell[n] = '\n';
	s = cat("email,a\nquoted@example.com,\"%s\"\n", cell);
	memset(&e, 0, sizeof(e));
	assert_int_equal(import("csv", s, &st, &e), -1);
	snprintf(want, sizeof(want), ".csv:2: column 2 (a): a field is longer "
	    "than %d bytes", LIMIT_IMPORT_FIELD);
	if (strstr(e.msg, want) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", e.msg, want);
	free(cell);
	free(s);
}

/*
 * LIMIT_FILTER_ARGS is the room a filter call has; no filter takes as many
 * arguments (the most is 2), so N arguments parse and are then refused by
 * the filter, and N + 1 are refused by the parser at the (N+1)th.
 */
static void
t_filter_args(void **state)
{
	char src[256];
	struct err e;
	size_t o;
	int i, n;

	(void)state;
	for (n = 2; n <= LIMIT_FILTER_ARGS + 1; n++) {
		o = (size_t)snprintf(src, sizeof(src), "{{ x | truncate: ");
		for (i = 1; i <= n; i++)
			o += (size_t)snprintf(src + o, sizeof(src) - o, "%s",
			    i == 1 ? "1" : ", \"x\"");
		snprintf(src + o, sizeof(src) - o, " }}");
		memset(&e, 0, sizeof(e));
		if (n < LIMIT_FILTER_ARGS) {
			assert_int_equal(compile(src, &e), 0);
			continue;
		}
		assert_int_equal(compile(src, &e), -1);
		if (n <= LIMIT_FILTER_ARGS)
			assert_non_null(strstr(e.msg, "truncate takes 1 to 2 "
			    "arguments"));
		else
			assert_non_null(strstr(e.msg, "too many arguments"));
	}
}

/* A key whose modulus has bits bits and nothing else right: enough for
 * the size check, which comes before any use of the key. */
static EVP_PKEY *
fake_rsa(int bits)
{
	BIGNUM *n = BN_new(), *small = BN_new(), *e = BN_new();
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *pk = NULL;
	OSSL_PARAM *params;

	assert_true(BN_set_bit(n, bits - 1) && BN_set_bit(n, 0));
	assert_true(BN_set_word(small, 3) && BN_set_word(e, 65537));
	assert_true(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, small) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, small) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, small) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, small) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, small) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	    small));
	assert_non_null(params = OSSL_PARAM_BLD_to_param(bld));
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEYPAIR,
	    params), 1);
	assert_int_equal(EVP_PKEY_get_bits(pk), bits);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(n);
	BN_free(small);
	BN_free(e);
	return pk;
}

static void
write_key(EVP_PKEY *pk, const char *path)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(PEM_write_PrivateKey(fp, pk, NULL, NULL, 0, NULL,
	    NULL), 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, 0600), 0);
	EVP_PKEY_free(pk);
}

/* dkim_keygen() makes keys of 1024 to 4096 bits, dkim_signer_open()
 * loads them; neither takes one bit less or more. */
static void
rsa_edge(int good, int bad)
{
	char path[PATH], want[PATH + 64];
	struct dkim_keygen_req r = { "example.com", "s", DKIM_RSA_SHA256, 0,
	    path };
	struct buf rec;
	struct err e;

	buf_init(&rec, LIMIT_DKIM_SIGNATURES);
	snprintf(path, sizeof(path), "%s/rsa%d.pem", fx.dir, good);
	r.bits = good;
	memset(&e, 0, sizeof(e));
	if (dkim_keygen(&r, &rec, &e) < 0)
		fail_msg("keygen %d: %s", good, e.msg);
	if (signer("s", path, "rsa-sha256", &e) < 0)
		fail_msg("load %d: %s", good, e.msg);

	snprintf(path, sizeof(path), "%s/rsa%d.pem", fx.dir, bad);
	r.bits = bad;
	memset(&e, 0, sizeof(e));
	assert_int_equal(dkim_keygen(&r, &rec, &e), -1);
	assert_int_equal(e.code, EX_USAGE);
	snprintf(want, sizeof(want), "RSA keys for DKIM have %d-%d bits",
	    LIMIT_DKIM_RSA_MIN, LIMIT_DKIM_RSA_MAX);
	assert_string_equal(e.msg, want);
	assert_int_equal(access(path, F_OK), -1);

	/* Below the minimum OpenSSL makes a real key quickly; above the
	 * maximum only the size matters, and a real one takes seconds. */
	write_key(bad < good ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
	    (size_t)bad) : fake_rsa(bad), path);
	memset(&e, 0, sizeof(e));
	assert_int_equal(signer("s", path, "rsa-sha256", &e), -1);
	assert_int_equal(e.code, EX_CONFIG);
	snprintf(want, sizeof(want), "key file %s: RSA key of %d bits; DKIM "
	    "needs %d-%d (RFC 8301)", path, bad, LIMIT_DKIM_RSA_MIN,
	    LIMIT_DKIM_RSA_MAX);
	if (strstr(e.msg, want) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", e.msg, want);
	buf_free(&rec);
}

static void
t_rsa_min(void **state)
{
	(void)state;
	rsa_edge(LIMIT_DKIM_RSA_MIN, LIMIT_DKIM_RSA_MIN - 1);
}

static void
t_rsa_max(void **state)
{
	(void)state;
	rsa_edge(LIMIT_DKIM_RSA_MAX, LIMIT_DKIM_RSA_MAX + 1);
}

/* ------------------------------------------------------------- fixture */

static int
group_setup(void **state)
{
	struct dkim_keygen_req r = { "example.com", "s", DKIM_ED25519_SHA256,
	    0, fx.ed };
	struct buf rec;
	struct err e;
	char db[PATH];
	int64_t id;
	int version;

	(void)state;
	if ((fx.dir = unit_tmpdir()) == NULL)
		return -1;
	snprintf(db, sizeof(db), "%s/store.db", fx.dir);
	snprintf(fx.ed, sizeof(fx.ed), "%s/ed.pem", fx.dir);
	buf_init(&rec, LIMIT_DKIM_SIGNATURES);
	if (store_open(db, STORE_CREATE, &fx.st, &e) < 0 ||
	    store_list_create(fx.st, "clist", NULL, &id, &e) < 0 ||
	    store_template_add(fx.st, "ctpl", "s", "<p>x</p>", NULL, &version,
	    &e) < 0 || dkim_keygen(&r, &rec, &e) < 0) {
		print_error("fixture: %s\n", e.msg);
		buf_free(&rec);
		return -1;
	}
	buf_free(&rec);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	store_close(fx.st);
	unit_rmtree(fx.dir);
	free(fx.dir);
	return 0;
}

int
main(void)
{
	struct unit_tests u = { 0 };

	UNIT_TABLE(&u, edges, t_edge);
	unit_add(&u, "LIMIT_IMPORT_FIELD: import_file() CSV cell",
	    t_import_field, NULL);
	unit_add(&u, "LIMIT_FILTER_ARGS: tpl_compile() filter arguments",
	    t_filter_args, NULL);
	unit_add(&u, "LIMIT_DKIM_RSA_MIN: dkim_keygen(), dkim_signer_open()",
	    t_rsa_min, NULL);
	unit_add(&u, "LIMIT_DKIM_RSA_MAX: dkim_keygen(), dkim_signer_open()",
	    t_rsa_max, NULL);
	return unit_run(&u, "limits (input)", group_setup, group_teardown);
}
