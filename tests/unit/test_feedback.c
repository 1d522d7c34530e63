/*
 * test_feedback.c - what happens after delivery (store_feedback.c): the
 * events opens, clicks, bounces, complaints and unsubscribes leave, the
 * suppressions and counters the feedback policy makes of them, the
 * guard that pauses a campaign whose rates pass their thresholds, and
 * the outcome side of it in store_send_record().
 *
 * Each test gets a fresh store in a scratch directory holding a list
 * "main" of 20 recipients over two domains and a running campaign
 * "launch" on it; the guard tests add a list of 1000 for rates that
 * mean something. What the calls wrote is read back behind the API.
 */
#include "unit.h"

#include <sqlite3.h>
#include <stdarg.h>

#include "import.h"
#include "limits.h"
#include "store.h"
#include "store_int.h"

#define NRCPT		20	/* on "main": uNN@alpha (even), @bravo (odd) */
#define NBIG		1000	/* on "big": bNNNN@big.example */
#define NO_CAMPAIGN	987654
#define NO_RECIPIENT	876543

struct fixture {
	char *dir;
	struct store *st;
	int64_t list;		/* "main" */
	int64_t campaign;	/* "launch" */
	const void *row;
};

/* The config's defaults (config_feedback.c): rates judged from 500 sent,
   so the small campaign never trips the guard unless a test asks. */
static const struct feedback_policy pol_default = {
	.soft_bounce_limit = 3,
	.unsubscribe_global = 0,
	.complaint_pause = 0.003,
	.complaint_warn = 0.001,
	.bounce_pause = 0.05,
	.min_volume = 500,
};

/* ---------------------------------------------------------------- SQL */

static void
sql_exec(struct fixture *fx, const char *fmt, ...)
{
	va_list ap;
	char *sql, *msg = NULL;

	va_start(ap, fmt);
	sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	assert_non_null(sql);
	if (sqlite3_exec(fx->st->db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_free(sql);
}

/* The first column of the one row a printf-formatted query returns. */
static int64_t
sql_int(struct fixture *fx, const char *fmt, ...)
{
	sqlite3_stmt *stmt;
	va_list ap;
	char *sql;
	int64_t v;

	va_start(ap, fmt);
	sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	assert_non_null(sql);
	if (sqlite3_prepare_v2(fx->st->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(fx->st->db));
	if (sqlite3_step(stmt) != SQLITE_ROW)
		fail_msg("%s: no row", sql);
	v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_free(sql);
	return v;
}

/* Likewise for text; NULL reads as "(null)". */
static const char *
sql_text(struct fixture *fx, char *out, size_t n, const char *fmt, ...)
{
	sqlite3_stmt *stmt;
	const unsigned char *s;
	va_list ap;
	char *sql;

	va_start(ap, fmt);
	sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	assert_non_null(sql);
	if (sqlite3_prepare_v2(fx->st->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(fx->st->db));
	if (sqlite3_step(stmt) != SQLITE_ROW)
		fail_msg("%s: no row", sql);
	s = sqlite3_column_text(stmt, 0);
	snprintf(out, n, "%s", s != NULL ? (const char *)s : "(null)");
	sqlite3_finalize(stmt);
	sqlite3_free(sql);
	return out;
}

static int64_t
rid_of(struct fixture *fx, const char *address)
{
	return sql_int(fx, "SELECT id FROM recipients WHERE address = %Q",
	    address);
}

static int64_t
campaign_col(struct fixture *fx, int64_t cid, const char *col)
{
	return sql_int(fx, "SELECT %s FROM campaigns WHERE id = %lld", col,
	    (long long)cid);
}

static const char *
dtext(struct fixture *fx, int64_t cid, int64_t rid, const char *col,
    char *out, size_t n)
{
	return sql_text(fx, out, n, "SELECT %s FROM deliveries WHERE "
	    "campaign_id = %lld AND recipient_id = %lld", col, (long long)cid,
	    (long long)rid);
}

static int64_t
nevents(struct fixture *fx, int64_t cid, int64_t rid, const char *type)
{
	return sql_int(fx, "SELECT count(*) FROM events WHERE campaign_id = "
	    "%lld AND recipient_id = %lld AND type = %Q", (long long)cid,
	    (long long)rid, type);
}

/* Suppressions of the recipient's address: every one, and global ones. */
static int64_t
nsupp(struct fixture *fx, int64_t rid)
{
	return sql_int(fx, "SELECT count(*) FROM suppressions s JOIN "
	    "recipients r ON s.kind = 'address' AND s.value = r.address_key "
	    "WHERE r.id = %lld", (long long)rid);
}

static int64_t
nsupp_global(struct fixture *fx, int64_t rid, const char *source)
{
	return sql_int(fx, "SELECT count(*) FROM suppressions s JOIN "
	    "recipients r ON s.kind = 'address' AND s.value = r.address_key "
	    "WHERE r.id = %lld AND s.list_id IS NULL AND s.source = %Q",
	    (long long)rid, source);
}

static const char *
supp_col(struct fixture *fx, int64_t rid, const char *col, char *out,
    size_t n)
{
	return sql_text(fx, out, n, "SELECT s.%s FROM suppressions s JOIN "
	    "recipients r ON s.kind = 'address' AND s.value = r.address_key "
	    "WHERE r.id = %lld", col, (long long)rid);
}

/* ------------------------------------------------------------ fixture */

/* Imports n recipients, printf(fmt, i, domain) each, into list. */
static void
import_list(struct fixture *fx, const char *list, int n, const char *fmt,
    const char *const *doms, int ndom)
{
	static const struct import_opts opts = { .create_list = 1 };
	struct import_stats stats;
	struct err e = { 0 };
	char path[4096], name[256];
	size_t cap = (size_t)n * 64 + 64, len = 0;
	char *data = malloc(cap);
	int i;

	assert_non_null(data);
	len += (size_t)snprintf(data + len, cap - len, "email,n\n");
	for (i = 0; i < n; i++) {
		len += (size_t)snprintf(data + len, cap - len, fmt, i,
		    doms[i % ndom]);
		len += (size_t)snprintf(data + len, cap - len, ",%d\n", i);
	}
	snprintf(name, sizeof(name), "%s.csv", list);
	unit_write(fx->dir, name, data, len, path, sizeof(path));
	free(data);
	if (import_file(fx->st, list, path, &opts, &stats, NULL, NULL,
	    &e) < 0)
		fail_msg("import %s: %s", list, e.msg);
	assert_int_equal(stats.added + stats.updated + stats.unchanged, n);
}

/* Creates and starts a campaign; returns its id. */
static int64_t
campaign_new(struct fixture *fx, const char *name, const char *list,
    int64_t *created)
{
	struct campaign_spec spec = {
		.name = name,
		.list = list,
		.template_name = "welcome",
		.from_name = "Acme",
		.from_addr = "news@acme.example",
	};
	struct audience aud;
	struct err e = { 0 };
	int64_t n = 0;

	if (store_campaign_create(fx->st, &spec, &aud, &e) < 0 ||
	    store_campaign_start(fx->st, name, &n, &e) < 0)
		fail_msg("campaign %s: %s", name, e.msg);
	if (created != NULL)
		*created = n;
	return sql_int(fx, "SELECT id FROM campaigns WHERE name = %Q", name);
}

static int
fx_setup(void **state)
{
	static const char *const doms[] = { "alpha.example", "bravo.example" };
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct err e = { 0 };
	char db[4096];
	int64_t created = 0;
	int version;

	if (fx == NULL || (fx->dir = unit_tmpdir()) == NULL)
		return -1;
	fx->row = *state;
	snprintf(db, sizeof(db), "%s/store.db", fx->dir);
	if (store_open(db, STORE_CREATE, &fx->st, &e) < 0 ||
	    store_template_add(fx->st, "welcome", "Hi", "<p>Hi</p>", NULL,
	    &version, &e) < 0) {
		print_error("fixture: %s\n", e.msg);
		return -1;
	}
	import_list(fx, "main", NRCPT, "u%02d@%s", doms, 2);
	fx->campaign = campaign_new(fx, "launch", "main", &created);
	if (created != NRCPT) {
		print_error("fixture: %lld deliveries\n", (long long)created);
		return -1;
	}
	fx->list = sql_int(fx, "SELECT id FROM lists WHERE name = 'main'");
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

/* ---------------------------------------------------- claim and record */

struct ids {
	int n;
	int64_t id[NBIG];
};

static int
ids_cb(const struct store_claimed *c, void *ctx)
{
	struct ids *ids = ctx;

	assert_true(ids->n < NBIG);
	ids->id[ids->n++] = c->recipient_id;
	return 0;
}

/* Claims up to limit due deliveries of one domain, as a send does. */
static int
claim_domain(struct fixture *fx, int64_t cid, const char *domain,
    int limit, struct ids *ids)
{
	struct err e = { 0 };
	int64_t after = 0;
	int n = -1;

	if (store_send_claim(fx->st, cid, domain, &after, limit, ids_cb, ids,
	    &n, &e) < 0)
		fail_msg("claim %s: %s", domain, e.msg);
	return n;
}

/* Claims the one delivery of cid to rid: it is 'sending' after. */
static void
claim_one(struct fixture *fx, int64_t cid, int64_t rid)
{
	struct ids ids = { 0 };
	struct err e = { 0 };
	char domain[256];
	int64_t after = rid - 1;
	int n = -1;

	sql_text(fx, domain, sizeof(domain), "SELECT domain FROM recipients "
	    "WHERE id = %lld", (long long)rid);
	if (store_send_claim(fx->st, cid, domain, &after, 1, ids_cb, &ids,
	    &n, &e) < 0)
		fail_msg("claim %lld: %s", (long long)rid, e.msg);
	assert_int_equal(n, 1);
	assert_int_equal(ids.id[0], rid);
}

/* Records one outcome for rid (claimed already). */
static void
record(struct fixture *fx, int64_t cid, const struct feedback_policy *p,
    int64_t rid, const char *status, const char *cls, const char *dsn)
{
	struct store_outcome o;
	struct err e = { 0 };
	char domain[256];

	sql_text(fx, domain, sizeof(domain), "SELECT domain FROM recipients "
	    "WHERE id = %lld", (long long)rid);
	memset(&o, 0, sizeof(o));
	o.domain = domain;
	o.recipient_id = rid;
	o.status = status;
	o.reply = strcmp(status, "delivered") == 0 ? "250 2.0.0 ok" :
	    "550 5.1.1 no such user";
	o.dsn = dsn;
	o.relay = "mx.example";
	o.bounce_class = cls;
	if (store_send_record(fx->st, cid, p, &o, 1, &e) < 0)
		fail_msg("record %lld %s: %s", (long long)rid, status, e.msg);
}

/* Claims and delivers: the delivery is 'delivered' with its event. */
static void
deliver(struct fixture *fx, int64_t cid, int64_t rid)
{
	claim_one(fx, cid, rid);
	record(fx, cid, &pol_default, rid, "delivered", NULL, "2.0.0");
}

/* ------------------------------------------------------------ feedback */

static int
fb(struct fixture *fx, const struct feedback_policy *p,
    enum feedback_kind kind, int64_t cid, int64_t rid, const char *cls,
    const char *dsn, const char *key, struct feedback_result *res,
    struct err *e)
{
	struct feedback f;

	memset(&f, 0, sizeof(f));
	f.kind = kind;
	f.campaign_id = cid;
	f.recipient_id = rid;
	f.bounce_class = cls;
	f.dsn = dsn;
	f.key = key;
	return store_feedback(fx->st, p, &f, res, e);
}

/* fb() that must succeed; returns res->recorded. */
static int
fb_ok(struct fixture *fx, const struct feedback_policy *p,
    enum feedback_kind kind, int64_t cid, int64_t rid, const char *cls,
    const char *dsn, const char *key, struct feedback_result *res)
{
	struct err e = { 0 };

	if (fb(fx, p, kind, cid, rid, cls, dsn, key, res, &e) < 0)
		fail_msg("feedback %d for %lld/%lld: %s", (int)kind,
		    (long long)cid, (long long)rid, e.msg);
	assert_true(res->recorded == 0 || res->recorded == 1);
	if (res->recorded)
		assert_true(res->event_id > 0);
	return res->recorded;
}

/* ------------------------------------------------------- opens, clicks */

static void
t_open_click(void **state)
{
	struct fixture *fx = *state;
	struct feedback_result res;
	struct feedback f;
	struct err e = { 0 };
	int64_t rid = rid_of(fx, "u00@alpha.example"), open_id;

	deliver(fx, fx->campaign, rid);
	memset(&f, 0, sizeof(f));
	f.kind = FEEDBACK_OPEN;
	f.campaign_id = fx->campaign;
	f.recipient_id = rid;
	f.at = 12345;
	f.machine = 1;
	f.detail = "{\"ua\":\"ImageProxy\"}";
	if (store_feedback(fx->st, &pol_default, &f, &res, &e) < 0)
		fail_msg("open: %s", e.msg);
	assert_int_equal(res.recorded, 1);
	assert_int_equal(res.suppressed, 0);
	assert_int_equal(res.paused, 0);
	assert_string_equal(res.warning, "");
	open_id = res.event_id;
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM events WHERE id = "
	    "%lld AND type = 'opened' AND campaign_id = %lld AND "
	    "recipient_id = %lld AND at = 12345 AND machine = 1 AND "
	    "json_extract(detail, '$.ua') = 'ImageProxy' AND "
	    "json_type(detail, '$.link') IS NULL AND "
	    "json_type(detail, '$.key') IS NULL", (long long)open_id,
	    (long long)fx->campaign, (long long)rid), 1);

	/* A human click on link 2, at "now". */
	f.kind = FEEDBACK_CLICK;
	f.at = 0;
	f.machine = 0;
	f.link = 2;
	f.detail = NULL;
	if (store_feedback(fx->st, &pol_default, &f, &res, &e) < 0)
		fail_msg("click: %s", e.msg);
	assert_int_equal(res.recorded, 1);
	assert_true(res.event_id > open_id);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM events WHERE id = "
	    "%lld AND type = 'clicked' AND machine = 0 AND at > 12345 AND "
	    "json_extract(detail, '$.link') = 2 AND "
	    "json_type(detail, '$.link') = 'integer'",
	    (long long)res.event_id), 1);

	/* Link 0 is a link too, not "no link". */
	f.link = 0;
	f.machine = 1;
	if (store_feedback(fx->st, &pol_default, &f, &res, &e) < 0)
		fail_msg("click 0: %s", e.msg);
	assert_int_equal(res.recorded, 1);
	assert_int_equal(sql_int(fx, "SELECT json_extract(detail, '$.link') "
	    "FROM events WHERE id = %lld AND machine = 1",
	    (long long)res.event_id), 0);

	/* Opens and clicks carry no key: a second open is another event. */
	f.kind = FEEDBACK_OPEN;
	f.machine = 0;
	if (store_feedback(fx->st, &pol_default, &f, &res, &e) < 0)
		fail_msg("open 2: %s", e.msg);
	assert_int_equal(res.recorded, 1);
	assert_int_equal(nevents(fx, fx->campaign, rid, "opened"), 2);
	assert_int_equal(nevents(fx, fx->campaign, rid, "clicked"), 2);
	/* Opens and clicks change nothing else. */
	assert_int_equal(nsupp(fx, rid), 0);
	{
		char s[32];

		assert_string_equal(dtext(fx, fx->campaign, rid, "status", s,
		    sizeof(s)), "delivered");
	}
	assert_int_equal(campaign_col(fx, fx->campaign, "complaints"), 0);
	assert_int_equal(campaign_col(fx, fx->campaign, "hard_bounces"), 0);
}

static void
t_no_delivery(void **state)
{
	static const enum feedback_kind kinds[] = {
		FEEDBACK_OPEN, FEEDBACK_CLICK, FEEDBACK_UNSUBSCRIBE,
		FEEDBACK_BOUNCE, FEEDBACK_COMPLAINT,
	};
	static const char *const side[] = { "side.example" };
	struct fixture *fx = *state;
	struct feedback_result res;
	struct err e;
	int64_t rid = rid_of(fx, "u00@alpha.example"), other, before;
	int64_t cids[3], rids[3];
	size_t i, j;

	/* A recipient that exists, of a list this campaign does not use. */
	import_list(fx, "side", 1, "x%d@%s", side, 1);
	other = rid_of(fx, "x0@side.example");
	cids[0] = NO_CAMPAIGN;		rids[0] = rid;
	cids[1] = fx->campaign;		rids[1] = NO_RECIPIENT;
	cids[2] = fx->campaign;		rids[2] = other;
	before = sql_int(fx, "SELECT count(*) FROM events");
	for (i = 0; i < NELEM(kinds); i++)
		for (j = 0; j < NELEM(cids); j++) {
			memset(&e, 0, sizeof(e));
			memset(&res, 0x55, sizeof(res));
			assert_int_equal(fb(fx, &pol_default, kinds[i],
			    cids[j], rids[j], "hard", "5.1.1", "k", &res,
			    &e), -1);
			assert_int_equal(e.code, EX_NOINPUT);
			assert_int_equal(res.recorded, 0);
			assert_int_equal(res.suppressed, 0);
			assert_int_equal(res.paused, 0);
		}
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM events"), before);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM suppressions"), 0);
	assert_int_equal(campaign_col(fx, fx->campaign, "complaints"), 0);
	assert_int_equal(campaign_col(fx, fx->campaign, "hard_bounces"), 0);
	/* Nothing was left open: the store still writes. */
	assert_int_equal(fb_ok(fx, &pol_default, FEEDBACK_OPEN, fx->campaign,
	    rid, NULL, NULL, NULL, &res), 1);
}

static void
t_bounce_without_class(void **state)
{
	struct fixture *fx = *state;
	struct feedback_result res;
	struct err e = { 0 };
	int64_t rid = rid_of(fx, "u00@alpha.example");

	deliver(fx, fx->campaign, rid);
	assert_int_equal(fb(fx, &pol_default, FEEDBACK_BOUNCE, fx->campaign,
	    rid, NULL, "5.1.1", "k", &res, &e), -1);
	assert_int_equal(e.code, EX_SOFTWARE);
	assert_int_equal(res.recorded, 0);
	assert_int_equal(nevents(fx, fx->campaign, rid, "bounced"), 0);
	assert_int_equal(nsupp(fx, rid), 0);
	/* No transaction left open. */
	assert_int_equal(fb_ok(fx, &pol_default, FEEDBACK_BOUNCE,
	    fx->campaign, rid, "hard", "5.1.1", "k", &res), 1);
}

/* DELAYED, REPLY and AUTO_REPLY: an event each, nothing else. */
static void
t_recorded_only(void **state)
{
	static const struct {
		enum feedback_kind kind;
		const char *type;
	} kinds[] = {
		{ FEEDBACK_DELAYED, "deferred" },
		{ FEEDBACK_REPLY, "replied" },
		{ FEEDBACK_AUTO_REPLY, "auto_replied" },
	};
	struct fixture *fx = *state;
	struct feedback_result res;
	int64_t rid = rid_of(fx, "u01@bravo.example");
	char s[64];
	size_t i;

	deliver(fx, fx->campaign, rid);
	for (i = 0; i < NELEM(kinds); i++) {
		assert_int_equal(fb_ok(fx, &pol_default, kinds[i].kind,
		    fx->campaign, rid, NULL, "4.2.2", "m1", &res), 1);
		assert_int_equal(res.suppressed, 0);
		assert_int_equal(sql_int(fx, "SELECT count(*) FROM events "
		    "WHERE id = %lld AND type = %Q AND "
		    "json_extract(detail, '$.key') = 'm1'",
		    (long long)res.event_id, kinds[i].type), 1);
		/* The same key again: a duplicate. */
		assert_int_equal(fb_ok(fx, &pol_default, kinds[i].kind,
		    fx->campaign, rid, NULL, "4.2.2", "m1", &res), 0);
		assert_int_equal(nevents(fx, fx->campaign, rid,
		    kinds[i].type), 1);
	}
	assert_string_equal(dtext(fx, fx->campaign, rid, "status", s,
	    sizeof(s)), "delivered");
	assert_int_equal(nsupp(fx, rid), 0);
}

/* ------------------------------------------------------- target, links */

static void
t_target_and_links(void **state)
{
	static const char *const urls[] = {
		"https://acme.example/0", NULL, "https://acme.example/2?a=b",
	};
	struct fixture *fx = *state;
	struct feedback_target t;
	struct err e = { 0 };
	int64_t rid = rid_of(fx, "u03@bravo.example"), t0, t1;
	int64_t other = rid_of(fx, "u04@alpha.example");
	char *url = (char *)1;

	t0 = store_now_ms();
	deliver(fx, fx->campaign, rid);
	t1 = store_now_ms();
	if (store_feedback_target(fx->st, fx->campaign, rid, &t, &e) < 0)
		fail_msg("target: %s", e.msg);
	assert_int_equal(t.campaign_id, fx->campaign);
	assert_int_equal(t.recipient_id, rid);
	assert_string_equal(t.campaign, "launch");
	assert_string_equal(t.list, "main");
	assert_string_equal(t.address, "u03@bravo.example");
	assert_string_equal(t.status, "delivered");
	assert_in_range(t.done_at, t0, t1);

	/* Not sent yet: pending, no done_at. */
	if (store_feedback_target(fx->st, fx->campaign, other, &t, &e) < 0)
		fail_msg("target: %s", e.msg);
	assert_string_equal(t.address, "u04@alpha.example");
	assert_string_equal(t.status, "pending");
	assert_int_equal(t.done_at, 0);

	memset(&e, 0, sizeof(e));
	assert_int_equal(store_feedback_target(fx->st, NO_CAMPAIGN, rid, &t,
	    &e), -1);
	assert_int_equal(e.code, EX_NOINPUT);
	memset(&e, 0, sizeof(e));
	assert_int_equal(store_feedback_target(fx->st, fx->campaign,
	    NO_RECIPIENT, &t, &e), -1);
	assert_int_equal(e.code, EX_NOINPUT);

	/* Links. */
	if (store_campaign_links(fx->st, fx->campaign, urls,
	    (int)NELEM(urls), &e) < 0)
		fail_msg("links: %s", e.msg);
	if (store_link_url(fx->st, fx->campaign, 0, &url, &e) < 0)
		fail_msg("link 0: %s", e.msg);
	assert_string_equal(url, "https://acme.example/0");
	free(url);
	if (store_link_url(fx->st, fx->campaign, 2, &url, &e) < 0)
		fail_msg("link 2: %s", e.msg);
	assert_string_equal(url, "https://acme.example/2?a=b");
	free(url);
	{
		static const struct {
			int64_t cid;
			int idx;
		} missing[] = {
			{ 0, 1 }, { 0, 3 }, { 0, -1 }, { NO_CAMPAIGN, 0 },
		};
		size_t i;

		for (i = 0; i < NELEM(missing); i++) {
			memset(&e, 0, sizeof(e));
			url = (char *)1;
			assert_int_equal(store_link_url(fx->st,
			    missing[i].cid ? missing[i].cid : fx->campaign,
			    missing[i].idx, &url, &e), -1);
			assert_int_equal(e.code, EX_NOINPUT);
			assert_null(url);
		}
	}
}

/* ------------------------------------------------------------- bounces */

static void
t_hard_bounce(void **state)
{
	struct fixture *fx = *state;
	struct feedback_result res;
	struct feedback f;
	struct err e = { 0 };
	int64_t rid = rid_of(fx, "u05@bravo.example"), done;
	char s[128];

	deliver(fx, fx->campaign, rid);
	done = sql_int(fx, "SELECT done_at FROM deliveries WHERE "
	    "campaign_id = %lld AND recipient_id = %lld",
	    (long long)fx->campaign, (long long)rid);
	assert_int_equal(campaign_col(fx, fx->campaign, "sent_count"), 1);

	memset(&f, 0, sizeof(f));
	f.kind = FEEDBACK_BOUNCE;
	f.campaign_id = fx->campaign;
	f.recipient_id = rid;
	f.bounce_class = "hard";
	f.dsn = "5.1.1";
	f.text = "550 5.1.1 user unknown";
	f.key = "<dsn-1@mx.example>";
	if (store_feedback(fx->st, &pol_default, &f, &res, &e) < 0)
		fail_msg("bounce: %s", e.msg);
	assert_int_equal(res.recorded, 1);
	assert_int_equal(res.suppressed, 1);
	assert_int_equal(res.paused, 0);

	assert_string_equal(dtext(fx, fx->campaign, rid, "status", s,
	    sizeof(s)), "bounced");
	assert_string_equal(dtext(fx, fx->campaign, rid, "bounce_class", s,
	    sizeof(s)), "hard");
	assert_string_equal(dtext(fx, fx->campaign, rid, "last_dsn", s,
	    sizeof(s)), "5.1.1");
	assert_string_equal(dtext(fx, fx->campaign, rid, "last_reply", s,
	    sizeof(s)), "550 5.1.1 user unknown");
	/* Delivered first: done_at stays when it was delivered. */
	assert_int_equal(sql_int(fx, "SELECT done_at FROM deliveries WHERE "
	    "campaign_id = %lld AND recipient_id = %lld",
	    (long long)fx->campaign, (long long)rid), done);

	/* The event. */
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM events WHERE id = "
	    "%lld AND type = 'bounced' AND json_extract(detail, '$.class') = "
	    "'hard' AND json_extract(detail, '$.dsn') = '5.1.1' AND "
	    "json_extract(detail, '$.key') = '<dsn-1@mx.example>' AND "
	    "json_extract(detail, '$.text') = '550 5.1.1 user unknown'",
	    (long long)res.event_id), 1);

	/* One global suppression from the bounce. */
	assert_int_equal(nsupp(fx, rid), 1);
	assert_int_equal(nsupp_global(fx, rid, "bounce"), 1);
	assert_string_equal(supp_col(fx, rid, "reason", s, sizeof(s)),
	    "hard bounce 5.1.1");
	assert_int_equal(campaign_col(fx, fx->campaign, "hard_bounces"), 1);
	/* A bounce turns delivered into bounced: still one sent. */
	assert_int_equal(campaign_col(fx, fx->campaign, "sent_count"), 1);

	/* The same DSN again: nothing. */
	if (store_feedback(fx->st, &pol_default, &f, &res, &e) < 0)
		fail_msg("bounce again: %s", e.msg);
	assert_int_equal(res.recorded, 0);
	assert_int_equal(res.suppressed, 0);
	assert_int_equal(nevents(fx, fx->campaign, rid, "bounced"), 1);
	assert_int_equal(nsupp(fx, rid), 1);
	assert_int_equal(campaign_col(fx, fx->campaign, "hard_bounces"), 1);

	/* Another DSN for the same delivery: recorded, counted once. */
	f.key = "<dsn-2@mx.example>";
	f.dsn = "5.1.2";
	if (store_feedback(fx->st, &pol_default, &f, &res, &e) < 0)
		fail_msg("second bounce: %s", e.msg);
	assert_int_equal(res.recorded, 1);
	assert_int_equal(res.suppressed, 0);
	assert_int_equal(nevents(fx, fx->campaign, rid, "bounced"), 2);
	assert_int_equal(nsupp(fx, rid), 1);
	assert_int_equal(campaign_col(fx, fx->campaign, "hard_bounces"), 1);
	assert_string_equal(dtext(fx, fx->campaign, rid, "last_dsn", s,
	    sizeof(s)), "5.1.2");
}

/* Hard in the SMTP session (store_send_record), then the DSN: once. */
static void
t_hard_session_then_dsn(void **state)
{
	struct fixture *fx = *state;
	struct feedback_result res;
	int64_t rid = rid_of(fx, "u06@alpha.example");
	char s[64];

	claim_one(fx, fx->campaign, rid);
	record(fx, fx->campaign, &pol_default, rid, "bounced", "hard",
	    "5.1.1");
	assert_int_equal(campaign_col(fx, fx->campaign, "hard_bounces"), 1);
	assert_int_equal(nsupp_global(fx, rid, "bounce"), 1);
	assert_int_equal(fb_ok(fx, &pol_default, FEEDBACK_BOUNCE,
	    fx->campaign, rid, "hard", "5.1.1", "k1", &res), 1);
	assert_int_equal(res.suppressed, 0);
	assert_int_equal(campaign_col(fx, fx->campaign, "hard_bounces"), 1);
	assert_string_equal(dtext(fx, fx->campaign, rid, "bounce_class", s,
	    sizeof(s)), "hard");
	assert_int_equal(nsupp(fx, rid), 1);
}

/*
 * "The campaign counts a delivery's hard bounce once": a soft DSN that
 * comes after a hard bounce (a late "mailbox full" for an address that
 * bounced hard) must not let a later hard DSN count the delivery again.
 */
static void
t_hard_soft_hard_counts_once(void **state)
{
	struct fixture *fx = *state;
	struct feedback_result res;
	int64_t rid = rid_of(fx, "u07@bravo.example");

	deliver(fx, fx->campaign, rid);
	assert_int_equal(fb_ok(fx, &pol_default, FEEDBACK_BOUNCE,
	    fx->campaign, rid, "hard", "5.1.1", "a", &res), 1);
	assert_int_equal(campaign_col(fx, fx->campaign, "hard_bounces"), 1);
	assert_int_equal(fb_ok(fx, &pol_default, FEEDBACK_BOUNCE,
	    fx->campaign, rid, "soft", "4.2.2", "b", &res), 1);
	assert_int_equal(campaign_col(fx, fx->campaign, "hard_bounces"), 1);
	assert_int_equal(fb_ok(fx, &pol_default, FEEDBACK_BOUNCE,
	    fx->campaign, rid, "hard", "5.1.1", "c", &res), 1);
	assert_int_equal(campaign_col(fx, fx->campaign, "hard_bounces"), 1);
}

/* Soft in the session, hard in a later DSN: the upgrade counts once. */
static void
t_soft_session_then_hard_dsn(void **state)
{
	struct fixture *fx = *state;
	struct feedback_result res;
	int64_t rid = rid_of(fx, "u09@bravo.example");
	char s[64];

	claim_one(fx, fx->campaign, rid);
	record(fx, fx->campaign, &pol_default, rid, "bounced", "soft",
	    "4.2.2");
	assert_int_equal(campaign_col(fx, fx->campaign, "hard_bounces"), 0);
	assert_int_equal(nsupp(fx, rid), 0);
	assert_int_equal(fb_ok(fx, &pol_default, FEEDBACK_BOUNCE,
	    fx->campaign, rid, "hard", "5.1.1", "a", &res), 1);
	assert_int_equal(res.suppressed, 1);
	assert_int_equal(campaign_col(fx, fx->campaign, "hard_bounces"), 1);
	assert_string_equal(dtext(fx, fx->campaign, rid, "bounce_class", s,
	    sizeof(s)), "hard");
	assert_int_equal(fb_ok(fx, &pol_default, FEEDBACK_BOUNCE,
	    fx->campaign, rid, "hard", "5.1.1", "b", &res), 1);
	assert_int_equal(campaign_col(fx, fx->campaign, "hard_bounces"), 1);
	assert_int_equal(campaign_col(fx, fx->campaign, "sent_count"), 1);
}

/* A bounce for a delivery still in our queue is only recorded. */
static void
t_bounce_not_sent_yet(void **state)
{
	struct fixture *fx = *state;
	struct feedback_result res;
	int64_t rid = rid_of(fx, "u08@alpha.example");
	int64_t sending = rid_of(fx, "u09@bravo.example");
	char s[64];

	claim_one(fx, fx->campaign, sending);
	assert_int_equal(fb_ok(fx, &pol_default, FEEDBACK_BOUNCE,
	    fx->campaign, rid, "hard", "5.1.1", "a", &res), 1);
	assert_int_equal(fb_ok(fx, &pol_default, FEEDBACK_BOUNCE,
	    fx->campaign, sending, "hard", "5.1.1", "a", &res), 1);
	assert_string_equal(dtext(fx, fx->campaign, rid, "status", s,
	    sizeof(s)), "pending");
	assert_string_equal(dtext(fx, fx->campaign, rid, "bounce_class", s,
	    sizeof(s)), "(null)");
	assert_string_equal(dtext(fx, fx->campaign, sending, "status", s,
	    sizeof(s)), "sending");
	assert_int_equal(nevents(fx, fx->campaign, rid, "bounced"), 1);
	assert_int_equal(campaign_col(fx, fx->campaign, "hard_bounces"), 0);
	assert_int_equal(campaign_col(fx, fx->campaign, "sent_count"), 0);
}

/* Soft-bounces rid in campaign cid: delivered first, then the DSN. */
static void
soft_bounce(struct fixture *fx, int64_t cid, int64_t rid, const char *key,
    int *suppressed)
{
	struct feedback_result res;

	deliver(fx, cid, rid);
	assert_int_equal(fb_ok(fx, &pol_default, FEEDBACK_BOUNCE, cid, rid,
	    "soft", "4.2.2", key, &res), 1);
	*suppressed = res.suppressed;
}

static void
t_soft_limit(void **state)
{
	struct fixture *fx = *state;
	struct feedback_result res;
	int64_t rid = rid_of(fx, "u10@alpha.example"), c2, c3;
	int sup = -1;
	char s[128];

	/* Two soft DSNs in one campaign are one campaign of the run. */
	soft_bounce(fx, fx->campaign, rid, "k1", &sup);
	assert_int_equal(sup, 0);
	assert_int_equal(fb_ok(fx, &pol_default, FEEDBACK_BOUNCE,
	    fx->campaign, rid, "soft", "4.2.2", "k1b", &res), 1);
	assert_int_equal(res.suppressed, 0);
	assert_string_equal(dtext(fx, fx->campaign, rid, "status", s,
	    sizeof(s)), "bounced");
	assert_string_equal(dtext(fx, fx->campaign, rid, "bounce_class", s,
	    sizeof(s)), "soft");
	assert_int_equal(campaign_col(fx, fx->campaign, "hard_bounces"), 0);

	c2 = campaign_new(fx, "second", "main", NULL);
	soft_bounce(fx, c2, rid, "k2", &sup);
	assert_int_equal(sup, 0);
	assert_int_equal(nsupp(fx, rid), 0);

	c3 = campaign_new(fx, "third", "main", NULL);
	soft_bounce(fx, c3, rid, "k3", &sup);
	assert_int_equal(sup, 1);
	assert_int_equal(nsupp(fx, rid), 1);
	assert_int_equal(nsupp_global(fx, rid, "soft-bounce"), 1);
	assert_string_equal(supp_col(fx, rid, "reason", s, sizeof(s)),
	    "3 soft bounces in a row");
	/* Another recipient of the same campaigns is untouched. */
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM suppressions"), 1);
}

static void
t_soft_run_broken(void **state)
{
	struct fixture *fx = *state;
	int64_t rid = rid_of(fx, "u11@bravo.example"), c;
	int sup = -1;

	soft_bounce(fx, fx->campaign, rid, "k1", &sup);
	assert_int_equal(sup, 0);
	c = campaign_new(fx, "c2", "main", NULL);
	soft_bounce(fx, c, rid, "k2", &sup);
	assert_int_equal(sup, 0);
	/* Delivered, no bounce: the run starts again. */
	c = campaign_new(fx, "c3", "main", NULL);
	deliver(fx, c, rid);
	c = campaign_new(fx, "c4", "main", NULL);
	soft_bounce(fx, c, rid, "k4", &sup);
	assert_int_equal(sup, 0);
	c = campaign_new(fx, "c5", "main", NULL);
	soft_bounce(fx, c, rid, "k5", &sup);
	assert_int_equal(sup, 0);
	assert_int_equal(nsupp(fx, rid), 0);
	c = campaign_new(fx, "c6", "main", NULL);
	soft_bounce(fx, c, rid, "k6", &sup);
	assert_int_equal(sup, 1);
	assert_int_equal(nsupp_global(fx, rid, "soft-bounce"), 1);
}

/* Soft bounces in the SMTP session count through store_send_record. */
static void
t_soft_in_session(void **state)
{
	struct fixture *fx = *state;
	int64_t rid = rid_of(fx, "u12@alpha.example"), c;
	char name[16];
	int i;

	for (i = 0; i < 3; i++) {
		if (i == 0)
			c = fx->campaign;
		else {
			snprintf(name, sizeof(name), "s%d", i);
			c = campaign_new(fx, name, "main", NULL);
		}
		claim_one(fx, c, rid);
		record(fx, c, &pol_default, rid, "bounced", "soft", "4.2.2");
		assert_int_equal(nsupp(fx, rid), i == 2);
	}
	assert_int_equal(nsupp_global(fx, rid, "soft-bounce"), 1);
}

static void
t_policy_bounce(void **state)
{
	static const char *const classes[] = { "policy", "unknown" };
	struct fixture *fx = *state;
	struct feedback_result res;
	int64_t rid;
	char addr[64], s[64];
	size_t i;

	for (i = 0; i < NELEM(classes); i++) {
		snprintf(addr, sizeof(addr), "u1%d@%s", (int)i + 3,
		    i % 2 ? "alpha.example" : "bravo.example");
		rid = rid_of(fx, addr);
		deliver(fx, fx->campaign, rid);
		assert_int_equal(fb_ok(fx, &pol_default, FEEDBACK_BOUNCE,
		    fx->campaign, rid, classes[i], "5.7.1", "k", &res), 1);
		assert_int_equal(res.suppressed, 0);
		assert_int_equal(nsupp(fx, rid), 0);
		assert_string_equal(dtext(fx, fx->campaign, rid, "status", s,
		    sizeof(s)), "bounced");
		assert_string_equal(dtext(fx, fx->campaign, rid,
		    "bounce_class", s, sizeof(s)), classes[i]);
	}
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM suppressions"), 0);
	assert_int_equal(campaign_col(fx, fx->campaign, "hard_bounces"), 0);
}

/* ---------------------------------------------------------- complaints */

static void
t_complaint(void **state)
{
	struct fixture *fx = *state;
	struct feedback_result res;
	int64_t rid = rid_of(fx, "u14@alpha.example");
	char s[64];

	deliver(fx, fx->campaign, rid);
	assert_int_equal(fb_ok(fx, &pol_default, FEEDBACK_COMPLAINT,
	    fx->campaign, rid, NULL, NULL, "<arf-1@fbl.example>", &res), 1);
	assert_int_equal(res.suppressed, 1);
	assert_int_equal(res.paused, 0);
	assert_int_equal(nsupp(fx, rid), 1);
	assert_int_equal(nsupp_global(fx, rid, "complaint"), 1);
	assert_string_equal(supp_col(fx, rid, "reason", s, sizeof(s)),
	    "complaint");
	assert_int_equal(campaign_col(fx, fx->campaign, "complaints"), 1);
	assert_int_equal(nevents(fx, fx->campaign, rid, "complained"), 1);
	/* The delivery stays delivered. */
	assert_string_equal(dtext(fx, fx->campaign, rid, "status", s,
	    sizeof(s)), "delivered");

	/* A second report (another provider, another key): once per
	   delivery. */
	assert_int_equal(fb_ok(fx, &pol_default, FEEDBACK_COMPLAINT,
	    fx->campaign, rid, NULL, NULL, "<arf-2@fbl.example>", &res), 0);
	assert_int_equal(fb_ok(fx, &pol_default, FEEDBACK_COMPLAINT,
	    fx->campaign, rid, NULL, NULL, NULL, &res), 0);
	assert_int_equal(campaign_col(fx, fx->campaign, "complaints"), 1);
	assert_int_equal(nevents(fx, fx->campaign, rid, "complained"), 1);
	assert_int_equal(nsupp(fx, rid), 1);
}

/* -------------------------------------------------------- unsubscribes */

struct unsub_case {
	const char *name;
	int global;
};

static const struct unsub_case unsub_cases[] = {
	{ "unsubscribe: list-scoped by default, once, again after "
	    "suppress rm", 0 },
	{ "unsubscribe: global with unsubscribe_global, once, again after "
	    "suppress rm", 1 },
};

static void
t_unsubscribe(void **state)
{
	struct fixture *fx = *state;
	const struct unsub_case *c = fx->row;
	struct feedback_policy p = pol_default;
	struct feedback_result res;
	struct err e = { 0 };
	int64_t rid = rid_of(fx, "u15@bravo.example");
	char key[LIMIT_ADDR + 1], s[64];
	int removed = -1;

	p.unsubscribe_global = c->global;
	deliver(fx, fx->campaign, rid);
	sql_text(fx, key, sizeof(key), "SELECT address_key FROM recipients "
	    "WHERE id = %lld", (long long)rid);

	assert_int_equal(fb_ok(fx, &p, FEEDBACK_UNSUBSCRIBE, fx->campaign,
	    rid, NULL, NULL, "tok-1", &res), 1);
	assert_int_equal(res.suppressed, 1);
	assert_int_equal(nsupp(fx, rid), 1);
	if (c->global)
		assert_int_equal(sql_int(fx, "SELECT count(*) FROM "
		    "suppressions WHERE kind = 'address' AND value = %Q AND "
		    "list_id IS NULL AND source = 'unsubscribe'", key), 1);
	else
		assert_int_equal(sql_int(fx, "SELECT count(*) FROM "
		    "suppressions WHERE kind = 'address' AND value = %Q AND "
		    "list_id = %lld AND source = 'unsubscribe'", key,
		    (long long)fx->list), 1);
	assert_string_equal(supp_col(fx, rid, "reason", s, sizeof(s)),
	    "unsubscribed");
	assert_int_equal(nevents(fx, fx->campaign, rid, "unsubscribed"), 1);

	/* Clicked twice, or from another key: once per delivery. */
	assert_int_equal(fb_ok(fx, &p, FEEDBACK_UNSUBSCRIBE, fx->campaign,
	    rid, NULL, NULL, "tok-2", &res), 0);
	assert_int_equal(res.suppressed, 0);
	assert_int_equal(fb_ok(fx, &p, FEEDBACK_UNSUBSCRIBE, fx->campaign,
	    rid, NULL, NULL, NULL, &res), 0);
	assert_int_equal(nevents(fx, fx->campaign, rid, "unsubscribed"), 1);
	assert_int_equal(nsupp(fx, rid), 1);

	/* The person undid it (suppress rm); unsubscribing counts again. */
	if (store_suppress_rm(fx->st, "address", key, c->global ? NULL :
	    "main", &removed, &e) < 0)
		fail_msg("suppress rm: %s", e.msg);
	assert_int_equal(removed, 1);
	assert_int_equal(nsupp(fx, rid), 0);
	assert_int_equal(fb_ok(fx, &p, FEEDBACK_UNSUBSCRIBE, fx->campaign,
	    rid, NULL, NULL, "tok-3", &res), 1);
	assert_int_equal(res.suppressed, 1);
	assert_int_equal(nsupp(fx, rid), 1);
	assert_int_equal(nevents(fx, fx->campaign, rid, "unsubscribed"), 2);
	if (c->global)
		assert_int_equal(sql_int(fx, "SELECT count(*) FROM "
		    "suppressions WHERE value = %Q AND list_id IS NULL", key),
		    1);
	else
		assert_int_equal(sql_int(fx, "SELECT count(*) FROM "
		    "suppressions WHERE value = %Q AND list_id = %lld", key,
		    (long long)fx->list), 1);
	/* And once again: a duplicate. */
	assert_int_equal(fb_ok(fx, &p, FEEDBACK_UNSUBSCRIBE, fx->campaign,
	    rid, NULL, NULL, "tok-4", &res), 0);
	assert_int_equal(nevents(fx, fx->campaign, rid, "unsubscribed"), 2);
	/* No counter moves for an unsubscribe. */
	assert_int_equal(campaign_col(fx, fx->campaign, "complaints"), 0);
}

/* --------------------------------------------------------------- guard */

/*
 * A campaign on a list of NBIG recipients at big.example, all claimed,
 * ndelivered of them delivered; ids receives them in id order.
 */
static int64_t
big_campaign(struct fixture *fx, int ndelivered, struct ids *ids)
{
	static const char *const big[] = { "big.example" };
	struct store_outcome *o;
	struct err e = { 0 };
	int64_t cid, created = 0;
	int i;

	import_list(fx, "big", NBIG, "b%04d@%s", big, 1);
	cid = campaign_new(fx, "bulk", "big", &created);
	assert_int_equal(created, NBIG);
	assert_int_equal(claim_domain(fx, cid, "big.example", NBIG, ids),
	    NBIG);
	o = calloc(NBIG, sizeof(*o));
	assert_non_null(o);
	for (i = 0; i < ndelivered; i++) {
		o[i].domain = "big.example";
		o[i].recipient_id = ids->id[i];
		o[i].status = "delivered";
		o[i].reply = "250 ok";
		o[i].dsn = "2.0.0";
	}
	if (store_send_record(fx->st, cid, NULL, o, ndelivered, &e) < 0)
		fail_msg("record: %s", e.msg);
	free(o);
	assert_int_equal(campaign_col(fx, cid, "sent_count"), ndelivered);
	return cid;
}

static const char *
cstatus(struct fixture *fx, int64_t cid, char *reason, size_t rn)
{
	static char status[32];
	struct err e = { 0 };

	if (store_campaign_status(fx->st, cid, status, sizeof(status),
	    reason, rn, &e) < 0)
		fail_msg("status: %s", e.msg);
	return status;
}

static void
t_guard_complaints(void **state)
{
	static const struct feedback_policy p = {
		.soft_bounce_limit = 3,
		.complaint_pause = 0.003,
		.complaint_warn = 0.001,
		.bounce_pause = 0.05,
		.min_volume = 10,
	};
	struct fixture *fx = *state;
	struct ids *ids = calloc(1, sizeof(*ids));
	struct feedback_result res;
	char reason[256];
	int64_t cid;

	assert_non_null(ids);
	cid = big_campaign(fx, NBIG, ids);

	/* 1 of 1000: at the warning level, not over it. */
	assert_int_equal(fb_ok(fx, &p, FEEDBACK_COMPLAINT, cid, ids->id[0],
	    NULL, NULL, NULL, &res), 1);
	assert_int_equal(res.paused, 0);
	assert_string_equal(res.warning, "");
	/* 2: over the warning level, under the pause. */
	assert_int_equal(fb_ok(fx, &p, FEEDBACK_COMPLAINT, cid, ids->id[1],
	    NULL, NULL, NULL, &res), 1);
	assert_int_equal(res.paused, 0);
	assert_non_null(strstr(res.warning, "complaint rate"));
	assert_non_null(strstr(res.warning, "warning level"));
	assert_non_null(strstr(res.warning, "2 of 1000"));
	assert_string_equal(cstatus(fx, cid, reason, sizeof(reason)),
	    "running");
	assert_string_equal(reason, "");
	/* 3: at the pause level, not past it. */
	assert_int_equal(fb_ok(fx, &p, FEEDBACK_COMPLAINT, cid, ids->id[2],
	    NULL, NULL, NULL, &res), 1);
	assert_int_equal(res.paused, 0);
	assert_non_null(strstr(res.warning, "warning level"));
	assert_string_equal(cstatus(fx, cid, reason, sizeof(reason)),
	    "running");
	/* 4: past it. */
	assert_int_equal(fb_ok(fx, &p, FEEDBACK_COMPLAINT, cid, ids->id[3],
	    NULL, NULL, NULL, &res), 1);
	assert_int_equal(res.paused, 1);
	assert_non_null(strstr(res.warning, "complaint rate"));
	assert_non_null(strstr(res.warning, "passed"));
	assert_non_null(strstr(res.warning, "4 of 1000"));
	assert_string_equal(cstatus(fx, cid, reason, sizeof(reason)),
	    "paused");
	assert_string_equal(reason, res.warning);
	assert_int_equal(campaign_col(fx, cid, "complaints"), 4);
	/* Paused already: the next one does not pause it again. */
	assert_int_equal(fb_ok(fx, &p, FEEDBACK_COMPLAINT, cid, ids->id[4],
	    NULL, NULL, NULL, &res), 1);
	assert_int_equal(res.paused, 0);
	assert_non_null(strstr(res.warning, "passed"));
	assert_string_equal(cstatus(fx, cid, reason, sizeof(reason)),
	    "paused");
	assert_non_null(strstr(reason, "4 of 1000"));
	free(ids);
}

static void
t_guard_min_volume(void **state)
{
	static const struct feedback_policy p = {
		.soft_bounce_limit = 3,
		.complaint_pause = 0.003,
		.complaint_warn = 0.001,
		.bounce_pause = 0.05,
		.min_volume = 10,
	};
	struct fixture *fx = *state;
	struct feedback_result res;
	char reason[256], addr[64];
	int64_t rid[10];
	int i;

	for (i = 0; i < 10; i++) {
		snprintf(addr, sizeof(addr), "u%02d@alpha.example", 2 * i);
		rid[i] = rid_of(fx, addr);
	}
	for (i = 0; i < 9; i++)
		deliver(fx, fx->campaign, rid[i]);
	assert_int_equal(campaign_col(fx, fx->campaign, "sent_count"), 9);
	/* 1 of 9 is 11 %, but 9 sent say nothing yet. */
	assert_int_equal(fb_ok(fx, &p, FEEDBACK_COMPLAINT, fx->campaign,
	    rid[0], NULL, NULL, NULL, &res), 1);
	assert_int_equal(res.paused, 0);
	assert_string_equal(res.warning, "");
	assert_string_equal(cstatus(fx, fx->campaign, reason,
	    sizeof(reason)), "running");
	/* The tenth is out: the next complaint is judged. */
	deliver(fx, fx->campaign, rid[9]);
	assert_int_equal(fb_ok(fx, &p, FEEDBACK_COMPLAINT, fx->campaign,
	    rid[1], NULL, NULL, NULL, &res), 1);
	assert_int_equal(res.paused, 1);
	assert_non_null(strstr(res.warning, "2 of 10"));
	assert_string_equal(cstatus(fx, fx->campaign, reason,
	    sizeof(reason)), "paused");
	assert_non_null(strstr(reason, "complaint rate"));
}

/* Paused by a person: the guard warns but neither pauses nor writes a
   reason over theirs. */
static void
t_guard_not_running(void **state)
{
	static const struct feedback_policy p = {
		.soft_bounce_limit = 3,
		.complaint_pause = 0.003,
		.complaint_warn = 0.001,
		.bounce_pause = 0.05,
		.min_volume = 1,
	};
	struct fixture *fx = *state;
	struct feedback_result res;
	struct err e = { 0 };
	const char *status = NULL;
	int64_t rid = rid_of(fx, "u16@alpha.example");
	char reason[256];

	deliver(fx, fx->campaign, rid);
	if (store_campaign_action(fx->st, "launch", "pause", 0, &status,
	    &e) < 0)
		fail_msg("pause: %s", e.msg);
	assert_int_equal(fb_ok(fx, &p, FEEDBACK_COMPLAINT, fx->campaign, rid,
	    NULL, NULL, NULL, &res), 1);
	assert_int_equal(res.paused, 0);
	assert_non_null(strstr(res.warning, "passed"));
	assert_string_equal(cstatus(fx, fx->campaign, reason,
	    sizeof(reason)), "paused");
	assert_string_equal(reason, "");
}

/* Hard bounces in the SMTP session, with the policy, pause the send. */
static void
t_guard_hard_bounce_session(void **state)
{
	static const struct feedback_policy p = {
		.soft_bounce_limit = 3,
		.complaint_pause = 0.003,
		.complaint_warn = 0.001,
		.bounce_pause = 0.02,
		.min_volume = 10,
	};
	struct fixture *fx = *state;
	struct ids *ids = calloc(1, sizeof(*ids));
	struct store_outcome o[2];
	struct err e = { 0 };
	char reason[256];
	int64_t cid;
	int i;

	assert_non_null(ids);
	cid = big_campaign(fx, 97, ids);
	memset(o, 0, sizeof(o));
	for (i = 0; i < 2; i++) {
		o[i].domain = "big.example";
		o[i].status = "bounced";
		o[i].reply = "550 5.1.1 no such user";
		o[i].dsn = "5.1.1";
		o[i].bounce_class = "hard";
	}
	/* 1 of 98: 1 %, under 2 %. */
	o[0].recipient_id = ids->id[97];
	if (store_send_record(fx->st, cid, &p, o, 1, &e) < 0)
		fail_msg("record: %s", e.msg);
	assert_string_equal(cstatus(fx, cid, reason, sizeof(reason)),
	    "running");
	assert_int_equal(campaign_col(fx, cid, "hard_bounces"), 1);
	/* 3 of 100: past it. */
	o[0].recipient_id = ids->id[98];
	o[1].recipient_id = ids->id[99];
	if (store_send_record(fx->st, cid, &p, o, 2, &e) < 0)
		fail_msg("record: %s", e.msg);
	assert_int_equal(campaign_col(fx, cid, "sent_count"), 100);
	assert_int_equal(campaign_col(fx, cid, "hard_bounces"), 3);
	assert_string_equal(cstatus(fx, cid, reason, sizeof(reason)),
	    "paused");
	assert_non_null(strstr(reason, "hard-bounce rate"));
	assert_non_null(strstr(reason, "3 of 100"));
	/* Each hard bounce suppressed its address everywhere. */
	for (i = 97; i < 100; i++)
		assert_int_equal(nsupp_global(fx, ids->id[i], "bounce"), 1);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM suppressions"), 3);
	free(ids);
}

/* Hard bounces that come back as DSNs pause it too. */
static void
t_guard_hard_bounce_dsn(void **state)
{
	static const struct feedback_policy p = {
		.soft_bounce_limit = 3,
		.complaint_pause = 0.003,
		.complaint_warn = 0.001,
		.bounce_pause = 0.02,
		.min_volume = 10,
	};
	struct fixture *fx = *state;
	struct ids *ids = calloc(1, sizeof(*ids));
	struct feedback_result res;
	char reason[256];
	int64_t cid;

	assert_non_null(ids);
	cid = big_campaign(fx, 100, ids);
	assert_int_equal(fb_ok(fx, &p, FEEDBACK_BOUNCE, cid, ids->id[0],
	    "hard", "5.1.1", "a", &res), 1);
	assert_int_equal(res.paused, 0);
	assert_int_equal(fb_ok(fx, &p, FEEDBACK_BOUNCE, cid, ids->id[1],
	    "hard", "5.1.1", "b", &res), 1);
	assert_int_equal(res.paused, 0);
	assert_int_equal(fb_ok(fx, &p, FEEDBACK_BOUNCE, cid, ids->id[2],
	    "hard", "5.1.1", "c", &res), 1);
	assert_int_equal(res.paused, 1);
	assert_int_equal(res.suppressed, 1);
	assert_non_null(strstr(res.warning, "hard-bounce rate"));
	assert_string_equal(cstatus(fx, cid, reason, sizeof(reason)),
	    "paused");
	assert_string_equal(reason, res.warning);
	assert_int_equal(campaign_col(fx, cid, "hard_bounces"), 3);
	free(ids);
}

/* ------------------------------------------------------ record outcomes */

static void
t_record_counts(void **state)
{
	static const struct {
		const char *status;
		const char *cls;
		const char *dsn;
	} out[] = {
		{ "delivered", NULL, "2.0.0" },
		{ "delivered", NULL, "2.0.0" },
		{ "delivered", NULL, "2.0.0" },
		{ "bounced", "hard", "5.1.1" },
		{ "bounced", "soft", "4.2.2" },
		{ "bounced", "policy", "5.7.1" },
		{ "deferred", NULL, "4.7.1" },
		{ "failed", NULL, NULL },
		{ "suppressed", NULL, NULL },
		{ "pending", NULL, NULL },
	};
	struct fixture *fx = *state;
	struct store_outcome o[NELEM(out)];
	struct ids ids = { 0 };
	struct err e = { 0 };
	char s[64];
	size_t i;

	/* alpha.example holds 10 of the 20. */
	assert_int_equal(claim_domain(fx, fx->campaign, "alpha.example", 100,
	    &ids), (int)NELEM(out));
	memset(o, 0, sizeof(o));
	for (i = 0; i < NELEM(out); i++) {
		o[i].domain = "alpha.example";
		o[i].recipient_id = ids.id[i];
		o[i].status = out[i].status;
		o[i].reply = "reply";
		o[i].dsn = out[i].dsn;
		o[i].relay = "mx.alpha.example";
		o[i].next_attempt_at = store_now_ms() + 3600000;
		o[i].bounce_class = out[i].cls;
	}
	if (store_send_record(fx->st, fx->campaign, &pol_default, o,
	    (int)NELEM(out), &e) < 0)
		fail_msg("record: %s", e.msg);
	assert_int_equal(campaign_col(fx, fx->campaign, "sent_count"), 6);
	assert_int_equal(campaign_col(fx, fx->campaign, "hard_bounces"), 1);
	for (i = 0; i < NELEM(out); i++) {
		assert_string_equal(dtext(fx, fx->campaign, ids.id[i],
		    "status", s, sizeof(s)), out[i].status);
		assert_string_equal(dtext(fx, fx->campaign, ids.id[i],
		    "bounce_class", s, sizeof(s)),
		    out[i].cls != NULL ? out[i].cls : "(null)");
	}
	/* The bounce events carry their class; others none. */
	for (i = 3; i < 6; i++)
		assert_int_equal(sql_int(fx, "SELECT count(*) FROM events "
		    "WHERE campaign_id = %lld AND recipient_id = %lld AND "
		    "type = 'bounced' AND json_extract(detail, '$.class') = "
		    "%Q AND json_extract(detail, '$.dsn') = %Q",
		    (long long)fx->campaign, (long long)ids.id[i], out[i].cls,
		    out[i].dsn), 1);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM events WHERE "
	    "type <> 'bounced' AND json_type(detail, '$.class') IS NOT NULL"),
	    0);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM events WHERE "
	    "type = 'delivered'"), 3);
	/* The hard one is suppressed (policy given); soft once is not. */
	assert_int_equal(nsupp_global(fx, ids.id[3], "bounce"), 1);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM suppressions"), 1);

	/* An outcome for a delivery no longer sending counts nothing. */
	if (store_send_record(fx->st, fx->campaign, &pol_default, o, 6,
	    &e) < 0)
		fail_msg("record again: %s", e.msg);
	assert_int_equal(campaign_col(fx, fx->campaign, "sent_count"), 6);
	assert_int_equal(campaign_col(fx, fx->campaign, "hard_bounces"), 1);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM events WHERE "
	    "type = 'delivered'"), 3);
}

/* Without a policy: outcomes and counters, no suppression. */
static void
t_record_no_policy(void **state)
{
	struct fixture *fx = *state;
	int64_t rid = rid_of(fx, "u17@bravo.example");

	claim_one(fx, fx->campaign, rid);
	record(fx, fx->campaign, NULL, rid, "bounced", "hard", "5.1.1");
	assert_int_equal(campaign_col(fx, fx->campaign, "sent_count"), 1);
	assert_int_equal(nsupp(fx, rid), 0);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM events WHERE "
	    "recipient_id = %lld AND type = 'bounced' AND "
	    "json_extract(detail, '$.class') = 'hard'", (long long)rid), 1);
}

/* ------------------------------------------------------------ webhooks */

static void
t_webhook_outbox(void **state)
{
	struct fixture *fx = *state;
	struct feedback_result res;
	int64_t rid = rid_of(fx, "u18@alpha.example");
	int64_t rid2 = rid_of(fx, "u19@bravo.example");
	int64_t bounce_id, mark, nev;

	deliver(fx, fx->campaign, rid);
	sql_exec(fx, "INSERT INTO webhooks(name, url, events) VALUES('w', "
	    "'http://127.0.0.1:9/hook', '[\"bounced\"]')");
	assert_int_equal(fb_ok(fx, &pol_default, FEEDBACK_BOUNCE,
	    fx->campaign, rid, "hard", "5.1.1", "k", &res), 1);
	bounce_id = res.event_id;
	assert_int_equal(fb_ok(fx, &pol_default, FEEDBACK_OPEN, fx->campaign,
	    rid, NULL, NULL, NULL, &res), 1);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM webhook_outbox"),
	    1);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM webhook_outbox o "
	    "JOIN events ev ON ev.id = o.event_id WHERE o.event_id = %lld "
	    "AND o.webhook = 'w' AND o.status = 'pending' AND o.attempts = 0 "
	    "AND o.next_attempt_at = ev.at", (long long)bounce_id), 1);
	/* A duplicate bounce writes no event, so no call. */
	assert_int_equal(fb_ok(fx, &pol_default, FEEDBACK_BOUNCE,
	    fx->campaign, rid, "hard", "5.1.1", "k", &res), 0);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM webhook_outbox"),
	    1);

	/* "*": every event, feedback's and the send's, one call each. */
	sql_exec(fx, "UPDATE webhooks SET events = '[\"*\"]'");
	mark = sql_int(fx, "SELECT max(id) FROM events");
	deliver(fx, fx->campaign, rid2);
	assert_int_equal(fb_ok(fx, &pol_default, FEEDBACK_OPEN, fx->campaign,
	    rid2, NULL, NULL, NULL, &res), 1);
	assert_int_equal(fb_ok(fx, &pol_default, FEEDBACK_CLICK,
	    fx->campaign, rid2, NULL, NULL, NULL, &res), 1);
	assert_int_equal(fb_ok(fx, &pol_default, FEEDBACK_COMPLAINT,
	    fx->campaign, rid2, NULL, NULL, "c", &res), 1);
	assert_int_equal(fb_ok(fx, &pol_default, FEEDBACK_COMPLAINT,
	    fx->campaign, rid2, NULL, NULL, "d", &res), 0);
	assert_int_equal(fb_ok(fx, &pol_default, FEEDBACK_UNSUBSCRIBE,
	    fx->campaign, rid2, NULL, NULL, NULL, &res), 1);
	assert_int_equal(fb_ok(fx, &pol_default, FEEDBACK_BOUNCE,
	    fx->campaign, rid2, "soft", "4.2.2", "s", &res), 1);
	nev = sql_int(fx, "SELECT count(*) FROM events WHERE id > %lld",
	    (long long)mark);
	assert_int_equal(nev, 6);	/* delivered + 5 */
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM webhook_outbox "
	    "WHERE event_id > %lld", (long long)mark), nev);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM events ev WHERE "
	    "ev.id > %lld AND (SELECT count(*) FROM webhook_outbox o WHERE "
	    "o.event_id = ev.id) <> 1", (long long)mark), 0);
}

/* ------------------------------------------------------ inbound review */

static void
t_inbound_review(void **state)
{
	struct fixture *fx = *state;
	struct err e = { 0 };
	size_t big = LIMIT_INBOUND_REVIEW + 4096, i;
	unsigned char *msg = malloc(big);
	int64_t rid = rid_of(fx, "u00@alpha.example");

	assert_non_null(msg);
	for (i = 0; i < big; i++)
		msg[i] = (unsigned char)(i * 7 + i / 251);
	if (store_inbound_review(fx->st, fx->campaign, rid, "unclassified",
	    msg, big, &e) < 0 ||
	    store_inbound_review(fx->st, 0, 0, "no token", msg, 10, &e) < 0 ||
	    store_inbound_review(fx->st, 0, 0, "exact", msg,
	    LIMIT_INBOUND_REVIEW, &e) < 0)
		fail_msg("review: %s", e.msg);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM inbound_review"),
	    3);
	assert_int_equal(sql_int(fx, "SELECT length(message) FROM "
	    "inbound_review WHERE reason = 'unclassified' AND campaign_id = "
	    "%lld AND recipient_id = %lld AND typeof(message) = 'blob' AND "
	    "received_at > 0", (long long)fx->campaign, (long long)rid),
	    LIMIT_INBOUND_REVIEW);
	assert_int_equal(sql_int(fx, "SELECT length(message) FROM "
	    "inbound_review WHERE reason = 'no token' AND campaign_id IS NULL "
	    "AND recipient_id IS NULL"), 10);
	assert_int_equal(sql_int(fx, "SELECT length(message) FROM "
	    "inbound_review WHERE reason = 'exact'"), LIMIT_INBOUND_REVIEW);
	/* The bytes kept are the message's first ones. */
	{
		sqlite3_stmt *stmt;

		assert_int_equal(sqlite3_prepare_v2(fx->st->db, "SELECT "
		    "message FROM inbound_review WHERE reason = "
		    "'unclassified'", -1, &stmt, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
		assert_int_equal(sqlite3_column_bytes(stmt, 0),
		    LIMIT_INBOUND_REVIEW);
		assert_memory_equal(sqlite3_column_blob(stmt, 0), msg,
		    LIMIT_INBOUND_REVIEW);
		sqlite3_finalize(stmt);
	}
	free(msg);
}

int
main(void)
{
	struct unit_tests u = { 0 };

	unit_add(&u, "open and click: events with machine flag, link and "
	    "detail", t_open_click, NULL);
	unit_add(&u, "no such delivery: EX_NOINPUT, nothing written",
	    t_no_delivery, NULL);
	unit_add(&u, "bounce without a class: EX_SOFTWARE, nothing written",
	    t_bounce_without_class, NULL);
	unit_add(&u, "delayed, reply, auto-reply: recorded once per key, "
	    "change nothing", t_recorded_only, NULL);
	unit_add(&u, "target and link URL: filled, EX_NOINPUT when missing",
	    t_target_and_links, NULL);
	unit_add(&u, "hard bounce: bounced, global suppression, counted once "
	    "per delivery, key dedup", t_hard_bounce, NULL);
	unit_add(&u, "hard bounce in session then its DSN: counted once",
	    t_hard_session_then_dsn, NULL);
	unit_add(&u, "hard, soft, hard DSNs: the delivery counted once",
	    t_hard_soft_hard_counts_once, NULL);
	unit_add(&u, "soft in session, hard DSN: counted once",
	    t_soft_session_then_hard_dsn, NULL);
	unit_add(&u, "bounce for a delivery not sent yet: recorded only",
	    t_bounce_not_sent_yet, NULL);
	unit_add(&u, "soft bounces: suppressed at the third campaign in a "
	    "row", t_soft_limit, NULL);
	unit_add(&u, "soft bounces: a delivery without bounce breaks the run",
	    t_soft_run_broken, NULL);
	unit_add(&u, "soft bounces in the SMTP session count too",
	    t_soft_in_session, NULL);
	unit_add(&u, "policy and unknown bounces: no suppression",
	    t_policy_bounce, NULL);
	unit_add(&u, "complaint: global suppression, counted once per "
	    "delivery", t_complaint, NULL);
	UNIT_TABLE(&u, unsub_cases, t_unsubscribe);
	unit_add(&u, "guard: complaint rate warns, then pauses a running "
	    "campaign once", t_guard_complaints, NULL);
	unit_add(&u, "guard: nothing judged below min_volume",
	    t_guard_min_volume, NULL);
	unit_add(&u, "guard: a campaign paused by hand keeps its status",
	    t_guard_not_running, NULL);
	unit_add(&u, "guard: hard bounces in the session pause the send, "
	    "suppressed", t_guard_hard_bounce_session, NULL);
	unit_add(&u, "guard: hard-bounce DSNs pause the campaign",
	    t_guard_hard_bounce_dsn, NULL);
	unit_add(&u, "record: sent counts delivered and bounced, class "
	    "stored and in the event", t_record_counts, NULL);
	unit_add(&u, "record without a policy: no suppression",
	    t_record_no_policy, NULL);
	unit_add(&u, "webhooks: the trigger writes one call per matching "
	    "event", t_webhook_outbox, NULL);
	unit_add(&u, "inbound review keeps at most LIMIT_INBOUND_REVIEW bytes",
	    t_inbound_review, NULL);
	unit_fixture(&u, 0, fx_setup, fx_teardown);

	return unit_run(&u, "feedback", NULL, NULL);
}
