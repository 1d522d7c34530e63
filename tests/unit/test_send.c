/*
 * test_send.c - what a send run stands on: the worker pool (workers.h)
 * and the store's sending calls (store_send_*), on real SQLite files in a
 * scratch directory.
 *
 * The pool tests push 10,000 jobs through 1, 2 and 4 threads and take
 * them back through the eventfd as the send loop does. The store tests
 * each get a fresh store holding one running campaign of 50 recipients
 * over 5 domains, and read what the calls wrote behind the API.
 */
#include "unit.h"

#include <poll.h>
#include <sqlite3.h>
#include <stdatomic.h>

#include "import.h"
#include "limits.h"
#include "store.h"
#include "store_int.h"
#include "workers.h"

/* ------------------------------------------------------------- workers */

#define NJOBS	10000

struct job {
	struct workers_job j;	/* first: a workers_job * is a job * */
	int id;
	int runs;		/* written by the worker that ran it */
	int worker;
	int back;		/* times workers_done() handed it back */
};

struct pool_ctx {
	atomic_int calls;
	atomic_int out_of_range;
	int nthreads;
};

static void
job_run(void *arg, int worker, struct workers_job *wj)
{
	struct pool_ctx *pc = arg;
	struct job *j = (struct job *)wj;

	atomic_fetch_add(&pc->calls, 1);
	if (worker < 0 || worker >= pc->nthreads)
		atomic_fetch_add(&pc->out_of_range, 1);
	j->runs++;
	j->worker = worker;
}

struct pool_case {
	const char *name;
	int threads;
};

static const struct pool_case pool_cases[] = {
	{ "workers: 10,000 jobs, 1 thread", 1 },
	{ "workers: 10,000 jobs, 2 threads", 2 },
	{ "workers: 10,000 jobs, 4 threads", 4 },
};

static const struct pool_case stop_cases[] = {
	{ "workers: stop runs every submitted job, 1 thread", 1 },
	{ "workers: stop runs every submitted job, 2 threads", 2 },
	{ "workers: stop runs every submitted job, 4 threads", 4 },
};

/* Takes back what is finished; *back counts the jobs seen so far. */
static void
drain(struct workers *w, const struct pool_case *c, struct job *jobs,
    int *back)
{
	struct workers_job *l, *next;
	struct job *j;

	/* The fd is readable only while the done list is not empty. */
	l = workers_done(w);
	if (l == NULL)
		fail_msg("%s: fd readable, no job done", c->name);
	for (; l != NULL; l = next) {
		next = l->next;
		j = (struct job *)l;
		assert_true(j >= jobs && j < jobs + NJOBS);
		assert_int_equal(j->id, (int)(j - jobs));
		if (j->back != 0)
			fail_msg("job %d handed back twice", j->id);
		j->back = 1;
		if (j->runs != 1)
			fail_msg("job %d ran %d times", j->id, j->runs);
		assert_in_range(j->worker, 0, c->threads - 1);
		(*back)++;
	}
}

static int
readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int rc = poll(&p, 1, ms);

	assert_true(rc >= 0);
	return rc > 0 && (p.revents & POLLIN);
}

static void
t_pool(void **state)
{
	const struct pool_case *c = *state;
	struct pool_ctx pc = { .nthreads = c->threads };
	struct workers *w = NULL;
	struct job *jobs = calloc(NJOBS, sizeof(*jobs));
	struct err e = { 0 };
	int i, back = 0;

	assert_non_null(jobs);
	if (workers_start(c->threads, job_run, &pc, &w, &e) < 0)
		fail_msg("%s", e.msg);
	assert_non_null(w);
	assert_true(workers_fd(w) >= 0);
	/* Submitting while taking jobs back, as the send loop does. */
	for (i = 0; i < NJOBS; i++) {
		jobs[i].id = i;
		jobs[i].worker = -1;
		workers_submit(w, &jobs[i].j);
		if (i % 500 == 499 && readable(workers_fd(w), 0))
			drain(w, c, jobs, &back);
	}
	while (back < NJOBS) {
		if (!readable(workers_fd(w), 10000))
			fail_msg("timed out: %d of %d jobs back", back, NJOBS);
		drain(w, c, jobs, &back);
	}
	assert_int_equal(back, NJOBS);
	/* Nothing more comes back; the fd was cleared. */
	assert_false(readable(workers_fd(w), 0));
	assert_null(workers_done(w));
	workers_stop(w);

	assert_int_equal(atomic_load(&pc.calls), NJOBS);
	assert_int_equal(atomic_load(&pc.out_of_range), 0);
	for (i = 0; i < NJOBS; i++) {
		assert_int_equal(jobs[i].runs, 1);
		assert_int_equal(jobs[i].back, 1);
	}
	free(jobs);
}

static void
t_pool_stop(void **state)
{
	const struct pool_case *c = *state;
	struct pool_ctx pc = { .nthreads = c->threads };
	struct workers *w = NULL;
	struct job *jobs = calloc(NJOBS, sizeof(*jobs));
	struct err e = { 0 };
	int i;

	assert_non_null(jobs);
	if (workers_start(c->threads, job_run, &pc, &w, &e) < 0)
		fail_msg("%s", e.msg);
	for (i = 0; i < NJOBS; i++) {
		jobs[i].id = i;
		jobs[i].worker = -1;
		workers_submit(w, &jobs[i].j);
	}
	workers_stop(w);
	assert_int_equal(atomic_load(&pc.calls), NJOBS);
	assert_int_equal(atomic_load(&pc.out_of_range), 0);
	for (i = 0; i < NJOBS; i++) {
		if (jobs[i].runs != 1)
			fail_msg("job %d ran %d times", i, jobs[i].runs);
		assert_in_range(jobs[i].worker, 0, c->threads - 1);
	}
	free(jobs);
}

static void
t_pool_stop_null(void **state)
{
	(void)state;
	workers_stop(NULL);
}

static void
t_pool_idle_stop(void **state)
{
	struct pool_ctx pc = { .nthreads = 4 };
	struct workers *w = NULL;
	struct err e = { 0 };

	(void)state;
	if (workers_start(4, job_run, &pc, &w, &e) < 0)
		fail_msg("%s", e.msg);
	assert_false(readable(workers_fd(w), 0));
	assert_null(workers_done(w));
	workers_stop(w);
	assert_int_equal(atomic_load(&pc.calls), 0);
}

static void
t_pool_bad_count(void **state)
{
	static const int counts[] = { 0, -1, LIMIT_WORKERS + 1 };
	struct pool_ctx pc = { .nthreads = 1 };
	struct workers *w;
	struct err e;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(counts); i++) {
		w = (struct workers *)1;
		memset(&e, 0, sizeof(e));
		assert_int_equal(workers_start(counts[i], job_run, &pc, &w,
		    &e), -1);
		assert_null(w);
		assert_int_equal(e.code, EX_SOFTWARE);
	}
}

/* --------------------------------------------------------------- store */

#define NRCPT	50
#define NDOM	5
#define NO_CAMPAIGN	987654

/* Not in key order, so creation order and key order differ. */
static const char *const domains[NDOM] = {
	"zulu.example", "alpha.example", "mike.example", "bravo.example",
	"sub.alpha.example",
};

/* A fresh store; row is the table row the test runs, if any. */
struct fixture {
	char *dir;
	struct store *st;
	int64_t campaign;
	const void *row;
};

static int
fx_setup(void **state)
{
	static const struct import_opts opts = { .create_list = 1 };
	static const struct campaign_spec spec = {
		.name = "launch",
		.list = "main",
		.template_name = "welcome",
		.from_name = "Acme",
		.from_addr = "news@acme.example",
	};
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct import_stats stats;
	struct audience aud;
	struct err e = { 0 };
	char db[4096], csv[4096], data[NRCPT * 64 + 64];
	size_t len = 0;
	int64_t created = 0;
	sqlite3_stmt *stmt;
	int i, version;

	if (fx == NULL || (fx->dir = unit_tmpdir()) == NULL)
		return -1;
	fx->row = *state;
	/* Recipient i is uNN@domains[i % NDOM]: domains interleave. */
	len += (size_t)snprintf(data + len, sizeof(data) - len, "email,n\n");
	for (i = 0; i < NRCPT; i++)
		len += (size_t)snprintf(data + len, sizeof(data) - len,
		    "u%02d@%s,%d\n", i, domains[i % NDOM], i);
	unit_write(fx->dir, "members.csv", data, len, csv, sizeof(csv));
	snprintf(db, sizeof(db), "%s/store.db", fx->dir);
	if (store_open(db, STORE_CREATE, &fx->st, &e) < 0 ||
	    import_file(fx->st, "main", csv, &opts, &stats, NULL, NULL,
	    &e) < 0 ||
	    store_template_add(fx->st, "welcome", "Hi", "<p>Hi</p>",
	    NULL, &version, &e) < 0 ||
	    store_campaign_create(fx->st, &spec, &aud, &e) < 0 ||
	    store_campaign_start(fx->st, "launch", &created, &e) < 0) {
		print_error("fixture: %s\n", e.msg);
		return -1;
	}
	if (stats.added != NRCPT || created != NRCPT) {
		print_error("fixture: %lld imported, %lld deliveries\n",
		    (long long)stats.added, (long long)created);
		return -1;
	}
	if (sqlite3_prepare_v2(fx->st->db, "SELECT id FROM campaigns WHERE "
	    "name = 'launch'", -1, &stmt, NULL) != SQLITE_OK ||
	    sqlite3_step(stmt) != SQLITE_ROW)
		return -1;
	fx->campaign = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
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

static int64_t
count_status(struct fixture *fx, const char *status)
{
	return sql_int(fx, "SELECT count(*) FROM deliveries WHERE "
	    "campaign_id = %lld AND status = %Q", (long long)fx->campaign,
	    status);
}

/* The fixture's domains in key order, as next_domain walks them. */
static const char *const sorted[NDOM] = {
	"alpha.example", "bravo.example", "mike.example",
	"sub.alpha.example", "zulu.example",
};

/* A deferred delivery's next attempt, handed to record: 2100-01-01. */
#define NEXT_AT		INT64_C(4102444800000)
#define HOUR_MS		INT64_C(3600000)

/* What a claim handed, copied out of the callback. */
struct claimed {
	char domain[256];
	int64_t recipient_id;
	char address[320];
	int64_t first_attempt_at;
	int attempts;
	int suppressed;
};

struct claims {
	int n;
	int fail_at;		/* > 0: the callback fails on that row */
	struct claimed c[2 * NRCPT];
};

static int
claim_cb(const struct store_claimed *c, void *ctx)
{
	struct claims *cl = ctx;
	struct claimed *k;
	const char *at;

	if (cl->fail_at > 0 && cl->n + 1 == cl->fail_at)
		return -1;
	assert_true(cl->n < (int)NELEM(cl->c));
	assert_non_null(c->domain);
	assert_non_null(c->address);
	assert_non_null(c->attrs);
	assert_int_equal(c->attrs_len, strlen(c->attrs));
	assert_true(c->attrs_len >= 2 && c->attrs[0] == '{');
	assert_true(c->attempts >= 0);
	assert_true(c->suppressed == 0 || c->suppressed == 1);
	/* The address is in the delivery's domain. */
	at = strrchr(c->address, '@');
	assert_non_null(at);
	assert_string_equal(at + 1, c->domain);
	k = &cl->c[cl->n++];
	snprintf(k->domain, sizeof(k->domain), "%s", c->domain);
	snprintf(k->address, sizeof(k->address), "%s", c->address);
	k->recipient_id = c->recipient_id;
	k->first_attempt_at = c->first_attempt_at;
	k->attempts = c->attempts;
	k->suppressed = c->suppressed;
	return 0;
}

static int
key_cmp(const struct claimed *a, const struct claimed *b)
{
	int d = strcmp(a->domain, b->domain);

	if (d != 0)
		return d;
	return (a->recipient_id > b->recipient_id) -
	    (a->recipient_id < b->recipient_id);
}

/*
 * One claim of one domain. Checks the count, that every row is of that
 * domain, in id order past *after, and where *after went.
 */
static int
claim(struct fixture *fx, int64_t campaign, const char *domain,
    int64_t *after, int limit, struct claims *cl)
{
	struct err e = { 0 };
	int64_t from = *after, prev;
	int i, before = cl->n, n = -1;

	if (store_send_claim(fx->st, campaign, domain, after, limit,
	    claim_cb, cl, &n, &e) < 0)
		fail_msg("claim %s after %lld: %s", domain, (long long)from,
		    e.msg);
	assert_int_equal(n, cl->n - before);
	assert_true(n >= 0 && n <= limit);
	prev = from;
	for (i = before; i < cl->n; i++) {
		assert_string_equal(cl->c[i].domain, domain);
		if (cl->c[i].recipient_id <= prev)
			fail_msg("%s: recipient %lld after %lld", domain,
			    (long long)cl->c[i].recipient_id,
			    (long long)prev);
		prev = cl->c[i].recipient_id;
	}
	assert_int_equal(*after, prev);
	return n;
}

/* The next domain with due work after `after` in out, or NULL. */
static const char *
next_domain(struct fixture *fx, int64_t campaign, const char *after,
    char *out, size_t n)
{
	struct err e = { 0 };
	int found = -1;

	if (store_send_next_domain(fx->st, campaign, after, out, n, &found,
	    &e) < 0)
		fail_msg("next domain after \"%s\": %s", after, e.msg);
	assert_true(found == 0 || found == 1);
	return found ? out : NULL;
}

/* Every domain with due work, in next_domain order, space-separated. */
static const char *
domains_due(struct fixture *fx, int64_t campaign, char *out, size_t n)
{
	char cur[256] = "", next[256];
	size_t len = 0;
	int steps = 0;

	out[0] = '\0';
	while (next_domain(fx, campaign, cur, next, sizeof(next)) != NULL) {
		if (strcmp(next, cur) <= 0)
			fail_msg("next domain after \"%s\" is \"%s\"", cur,
			    next);
		assert_true(++steps <= NRCPT);
		len += (size_t)snprintf(out + len, n - len, "%s%s",
		    len > 0 ? " " : "", next);
		assert_true(len < n);
		snprintf(cur, sizeof(cur), "%s", next);
	}
	return out;
}

/*
 * Walks the domains with due work as a send run does: the next domain,
 * then windows of limit until it has no more. Returns the claim calls.
 */
static int
claim_all(struct fixture *fx, int limit, struct claims *cl)
{
	char cur[256] = "", next[256];
	int64_t after;
	int n, first, calls = 0;

	while (next_domain(fx, fx->campaign, cur, next, sizeof(next)) !=
	    NULL) {
		if (strcmp(next, cur) <= 0)
			fail_msg("next domain after \"%s\" is \"%s\"", cur,
			    next);
		after = 0;
		first = 1;
		do {
			n = claim(fx, fx->campaign, next, &after, limit, cl);
			/* A domain with due work hands some at once. */
			if (first && n == 0)
				fail_msg("%s: due work, but the claim handed "
				    "nothing", next);
			first = 0;
			calls++;
			assert_true(calls <= 2 * NRCPT + NDOM);
		} while (n > 0);
		snprintf(cur, sizeof(cur), "%s", next);
	}
	return calls;
}

/* Each claimed row once, in key order, naming its own recipient. */
static void
check_claims(struct fixture *fx, const struct claims *cl)
{
	char *end;
	long num;
	int i;

	for (i = 0; i < cl->n; i++) {
		if (i > 0 && key_cmp(&cl->c[i - 1], &cl->c[i]) >= 0)
			fail_msg("out of key order at %d: %s/%lld after "
			    "%s/%lld", i, cl->c[i].domain,
			    (long long)cl->c[i].recipient_id,
			    cl->c[i - 1].domain,
			    (long long)cl->c[i - 1].recipient_id);
		/* uNN@ is recipient NN, in domains[NN % NDOM]. */
		assert_true(cl->c[i].address[0] == 'u');
		num = strtol(cl->c[i].address + 1, &end, 10);
		assert_true(*end == '@');
		assert_string_equal(cl->c[i].domain, domains[num % NDOM]);
		assert_int_equal(sql_int(fx, "SELECT id FROM recipients WHERE "
		    "address = %Q", cl->c[i].address), cl->c[i].recipient_id);
		assert_int_equal(sql_int(fx, "SELECT count(*) FROM deliveries "
		    "WHERE campaign_id = %lld AND domain = %Q AND "
		    "recipient_id = %lld", (long long)fx->campaign,
		    cl->c[i].domain, (long long)cl->c[i].recipient_id), 1);
	}
	/* Key order is strict, so no row came twice. */
}

static int64_t
rid_of(struct fixture *fx, const char *address)
{
	return sql_int(fx, "SELECT id FROM recipients WHERE address = %Q",
	    address);
}

static const struct claimed *
find_claimed(const struct claims *cl, int64_t rid)
{
	int i;

	for (i = 0; i < cl->n; i++)
		if (cl->c[i].recipient_id == rid)
			return &cl->c[i];
	return NULL;
}

/* An integer column of one delivery of the fixture's campaign. */
static int64_t
dcol(struct fixture *fx, int64_t rid, const char *col)
{
	return sql_int(fx, "SELECT %s FROM deliveries WHERE campaign_id = "
	    "%lld AND recipient_id = %lld", col, (long long)fx->campaign,
	    (long long)rid);
}

static void
t_claim_order(void **state)
{
	struct fixture *fx = *state;
	struct claims *cl = calloc(1, sizeof(*cl));
	char cur[256] = "", next[256];
	int64_t after;
	int i;

	assert_non_null(cl);
	/* Per domain, in key order: 7, 3, then nothing. */
	for (i = 0; i < NDOM; i++) {
		assert_non_null(next_domain(fx, fx->campaign, cur, next,
		    sizeof(next)));
		assert_string_equal(next, sorted[i]);
		after = 0;
		assert_int_equal(claim(fx, fx->campaign, next, &after, 7, cl),
		    7);
		assert_int_equal(claim(fx, fx->campaign, next, &after, 7, cl),
		    NRCPT / NDOM - 7);
		assert_int_equal(claim(fx, fx->campaign, next, &after, 7, cl),
		    0);
		/* Asked again past the end: still nothing. */
		assert_int_equal(claim(fx, fx->campaign, next, &after, 7, cl),
		    0);
		/* And from the start: all of it is sending now. */
		after = 0;
		assert_int_equal(claim(fx, fx->campaign, next, &after, 7, cl),
		    0);
		snprintf(cur, sizeof(cur), "%s", next);
	}
	assert_null(next_domain(fx, fx->campaign, cur, next, sizeof(next)));
	assert_null(next_domain(fx, fx->campaign, "", next, sizeof(next)));
	assert_int_equal(cl->n, NRCPT);
	check_claims(fx, cl);
	assert_int_equal(count_status(fx, "sending"), NRCPT);
	free(cl);
}

static void
t_claim_each_once(void **state)
{
	struct fixture *fx = *state;
	struct claims *cl = calloc(1, sizeof(*cl));

	assert_non_null(cl);
	/* 5 domains of 10: 7, 3, 0 each. */
	assert_int_equal(claim_all(fx, 7, cl), 3 * NDOM);
	assert_int_equal(cl->n, NRCPT);
	check_claims(fx, cl);
	assert_int_equal(count_status(fx, "sending"), NRCPT);
	/* A second walk finds nothing due. */
	assert_int_equal(claim_all(fx, 7, cl), 0);
	assert_int_equal(cl->n, NRCPT);
	free(cl);
}

static void
t_claim_marks(void **state)
{
	struct fixture *fx = *state;
	struct claims *cl = calloc(1, sizeof(*cl));
	int64_t t0, t1, after = 0;
	int i;

	assert_non_null(cl);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM deliveries WHERE "
	    "first_attempt_at IS NOT NULL"), 0);
	t0 = store_now_ms();
	assert_int_equal(claim(fx, fx->campaign, "alpha.example", &after, 7,
	    cl), 7);
	t1 = store_now_ms();
	assert_int_equal(count_status(fx, "sending"), 7);
	assert_int_equal(count_status(fx, "pending"), NRCPT - 7);
	for (i = 0; i < cl->n; i++) {
		assert_in_range(cl->c[i].first_attempt_at, t0, t1);
		assert_int_equal(cl->c[i].attempts, 0);
		assert_int_equal(cl->c[i].suppressed, 0);
		assert_int_equal(sql_int(fx, "SELECT first_attempt_at FROM "
		    "deliveries WHERE campaign_id = %lld AND recipient_id = "
		    "%lld AND status = 'sending'", (long long)fx->campaign,
		    (long long)cl->c[i].recipient_id),
		    cl->c[i].first_attempt_at);
		assert_int_equal(dcol(fx, cl->c[i].recipient_id, "attempts"),
		    0);
		assert_in_range(dcol(fx, cl->c[i].recipient_id, "updated_at"),
		    t0, t1);
	}
	/* Only the claimed rows have a first attempt; the rest of the
	 * domain is still pending. */
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM deliveries WHERE "
	    "status = 'pending' AND first_attempt_at IS NOT NULL"), 0);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM deliveries WHERE "
	    "domain = 'alpha.example' AND status = 'pending'"),
	    NRCPT / NDOM - 7);
	free(cl);
}

static void
t_claim_keeps_first_attempt(void **state)
{
	struct fixture *fx = *state;
	struct claims *cl = calloc(1, sizeof(*cl));
	int64_t rid;
	int i, seen = 0;

	assert_non_null(cl);
	rid = rid_of(fx, "u13@bravo.example");
	sql_exec(fx, "UPDATE deliveries SET first_attempt_at = 12345 WHERE "
	    "campaign_id = %lld AND recipient_id = %lld",
	    (long long)fx->campaign, (long long)rid);
	claim_all(fx, 7, cl);
	assert_int_equal(cl->n, NRCPT);
	for (i = 0; i < cl->n; i++) {
		if (cl->c[i].recipient_id == rid) {
			assert_int_equal(cl->c[i].first_attempt_at, 12345);
			seen++;
		} else {
			assert_true(cl->c[i].first_attempt_at > 12345);
		}
	}
	assert_int_equal(seen, 1);
	assert_int_equal(dcol(fx, rid, "first_attempt_at"), 12345);
	assert_int_equal(count_status(fx, "sending"), NRCPT);
	free(cl);
}

struct skip_case {
	const char *name;
	const char *status;
	int future;		/* next_attempt_at an hour ahead, else 1 */
};

static const struct skip_case skip_cases[] = {
	{ "claim: skips a delivered row", "delivered", 0 },
	{ "claim: skips a deferred row not yet due", "deferred", 1 },
	{ "claim: skips a bounced row", "bounced", 0 },
	{ "claim: skips a failed row", "failed", 0 },
	{ "claim: skips a suppressed row", "suppressed", 0 },
	{ "claim: skips a row already sending", "sending", 0 },
};

static void
t_claim_skips(void **state)
{
	struct fixture *fx = *state;
	const struct skip_case *c = fx->row;
	struct claims *cl = calloc(1, sizeof(*cl));
	int64_t rid, next, after = 0;

	assert_non_null(cl);
	assert_non_null(c);
	rid = rid_of(fx, "u21@alpha.example");
	/* Past, but for deferred: only a due deferred row comes back. */
	next = c->future ? store_now_ms() + HOUR_MS : 1;
	sql_exec(fx, "UPDATE deliveries SET status = %Q, next_attempt_at = "
	    "%lld WHERE campaign_id = %lld AND recipient_id = %lld",
	    c->status, (long long)next, (long long)fx->campaign,
	    (long long)rid);
	claim_all(fx, 7, cl);
	assert_int_equal(cl->n, NRCPT - 1);
	check_claims(fx, cl);
	assert_null(find_claimed(cl, rid));
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM deliveries WHERE "
	    "campaign_id = %lld AND recipient_id = %lld AND status = %Q AND "
	    "first_attempt_at IS NULL AND next_attempt_at = %lld",
	    (long long)fx->campaign, (long long)rid, c->status,
	    (long long)next), 1);
	/* Asked for its domain directly, from the start: nothing. */
	assert_int_equal(claim(fx, fx->campaign, "alpha.example", &after,
	    100, cl), 0);
	free(cl);
}

static void
t_claim_cb_fails(void **state)
{
	struct fixture *fx = *state;
	struct claims *cl = calloc(1, sizeof(*cl));
	struct err e = { 0 };
	int64_t seen[2], after = 0, before;
	int n = -1;

	assert_non_null(cl);
	assert_int_equal(claim(fx, fx->campaign, "alpha.example", &after, 7,
	    cl), 7);
	before = after;
	cl->fail_at = 10;	/* the third row of the second window */
	assert_int_equal(store_send_claim(fx->st, fx->campaign,
	    "alpha.example", &after, 7, claim_cb, cl, &n, &e), -1);
	assert_true(e.code != 0);
	assert_int_equal(n, 0);
	assert_int_equal(after, before);
	/* Rolled back: only the first window is sending. */
	assert_int_equal(count_status(fx, "sending"), 7);
	assert_int_equal(count_status(fx, "pending"), NRCPT - 7);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM deliveries WHERE "
	    "first_attempt_at IS NOT NULL"), 7);
	/* And the claim goes on from where it was, the rows the failed
	 * call saw included. */
	assert_int_equal(cl->n, 9);
	seen[0] = cl->c[7].recipient_id;
	seen[1] = cl->c[8].recipient_id;
	cl->n = 7;
	cl->fail_at = 0;
	assert_int_equal(claim(fx, fx->campaign, "alpha.example", &after, 100,
	    cl), NRCPT / NDOM - 7);
	assert_int_equal(cl->c[7].recipient_id, seen[0]);
	assert_int_equal(cl->c[8].recipient_id, seen[1]);
	assert_int_equal(count_status(fx, "sending"), NRCPT / NDOM);
	/* The store is usable after the rollback: the rest walks. */
	claim_all(fx, 7, cl);
	assert_int_equal(cl->n, NRCPT);
	check_claims(fx, cl);
	free(cl);
}

/* A domain the campaign has no delivery in hands nothing. */
static void
t_claim_no_such_domain(void **state)
{
	struct fixture *fx = *state;
	struct claims *cl = calloc(1, sizeof(*cl));
	int64_t after = 0;

	assert_non_null(cl);
	assert_int_equal(claim(fx, fx->campaign, "nowhere.example", &after, 7,
	    cl), 0);
	assert_int_equal(after, 0);
	/* Nor does a suffix of a real one. */
	assert_int_equal(claim(fx, fx->campaign, "example", &after, 7, cl),
	    0);
	assert_int_equal(count_status(fx, "pending"), NRCPT);
	free(cl);
}

/* --------------------------------------------------------- next domain */

static void
t_next_domain_order(void **state)
{
	static const struct {
		const char *after;
		const char *next;	/* NULL: none */
	} cases[] = {
		{ "", "alpha.example" },
		{ "a", "alpha.example" },
		{ "alpha.example", "bravo.example" },
		{ "alpha.examplf", "bravo.example" },
		{ "c", "mike.example" },
		{ "mike.example", "sub.alpha.example" },
		{ "sub.alpha.example", "zulu.example" },
		{ "zulu.example", NULL },
		{ "zzz", NULL },
	};
	struct fixture *fx = *state;
	char buf[NDOM * 64], out[256];
	const char *got;
	size_t i;

	assert_string_equal(domains_due(fx, fx->campaign, buf, sizeof(buf)),
	    "alpha.example bravo.example mike.example sub.alpha.example "
	    "zulu.example");
	for (i = 0; i < NELEM(cases); i++) {
		memset(out, 'x', sizeof(out));
		got = next_domain(fx, fx->campaign, cases[i].after, out,
		    sizeof(out));
		if (cases[i].next == NULL && got != NULL)
			fail_msg("after \"%s\": \"%s\", expected none",
			    cases[i].after, got);
		if (cases[i].next != NULL && got == NULL)
			fail_msg("after \"%s\": none, expected \"%s\"",
			    cases[i].after, cases[i].next);
		if (got != NULL)
			assert_string_equal(got, cases[i].next);
	}
	/* Looking claims nothing. */
	assert_int_equal(count_status(fx, "pending"), NRCPT);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM deliveries WHERE "
	    "first_attempt_at IS NOT NULL"), 0);
}

static void
t_next_domain_skips(void **state)
{
	struct fixture *fx = *state;
	struct claims *cl = calloc(1, sizeof(*cl));
	char buf[NDOM * 64];
	int64_t now = store_now_ms(), rid, after = 0;
	long long c = (long long)fx->campaign;

	assert_non_null(cl);
	/* bravo: all final. mike: all deferred, due in an hour.
	 * sub.alpha: sending or failed. zulu: one pending left. */
	sql_exec(fx, "UPDATE deliveries SET status = CASE recipient_id %% 3 "
	    "WHEN 0 THEN 'delivered' WHEN 1 THEN 'bounced' ELSE 'suppressed' "
	    "END WHERE campaign_id = %lld AND domain = 'bravo.example'", c);
	sql_exec(fx, "UPDATE deliveries SET status = 'deferred', "
	    "next_attempt_at = %lld WHERE campaign_id = %lld AND "
	    "domain = 'mike.example'", (long long)(now + HOUR_MS), c);
	sql_exec(fx, "UPDATE deliveries SET status = CASE recipient_id %% 2 "
	    "WHEN 0 THEN 'sending' ELSE 'failed' END WHERE campaign_id = %lld "
	    "AND domain = 'sub.alpha.example'", c);
	sql_exec(fx, "UPDATE deliveries SET status = 'failed' WHERE "
	    "campaign_id = %lld AND domain = 'zulu.example' AND "
	    "recipient_id <> %lld", c,
	    (long long)rid_of(fx, "u45@zulu.example"));
	assert_string_equal(domains_due(fx, fx->campaign, buf, sizeof(buf)),
	    "alpha.example zulu.example");

	/* One of mike's deferred rows comes due: mike has work again. */
	rid = rid_of(fx, "u17@mike.example");
	sql_exec(fx, "UPDATE deliveries SET next_attempt_at = %lld WHERE "
	    "campaign_id = %lld AND recipient_id = %lld",
	    (long long)(now - 1), c, (long long)rid);
	assert_string_equal(domains_due(fx, fx->campaign, buf, sizeof(buf)),
	    "alpha.example mike.example zulu.example");

	/* Claimed, a domain has nothing due. */
	assert_int_equal(claim(fx, fx->campaign, "alpha.example", &after, 100,
	    cl), NRCPT / NDOM);
	after = 0;
	assert_int_equal(claim(fx, fx->campaign, "mike.example", &after, 100,
	    cl), 1);
	assert_int_equal(cl->c[cl->n - 1].recipient_id, rid);
	assert_string_equal(domains_due(fx, fx->campaign, buf, sizeof(buf)),
	    "zulu.example");
	after = 0;
	assert_int_equal(claim(fx, fx->campaign, "zulu.example", &after, 100,
	    cl), 1);
	assert_string_equal(domains_due(fx, fx->campaign, buf, sizeof(buf)),
	    "");
	free(cl);
}

/* ---------------------------------------------------- deferred, due */

static void
t_claim_deferred_due(void **state)
{
	struct fixture *fx = *state;
	struct claims *cl = calloc(1, sizeof(*cl));
	const struct claimed *k;
	int64_t now = store_now_ms(), past[2], future, after;
	long long c = (long long)fx->campaign;
	int i;

	assert_non_null(cl);
	past[0] = rid_of(fx, "u03@bravo.example");
	past[1] = rid_of(fx, "u24@sub.alpha.example");
	future = rid_of(fx, "u13@bravo.example");
	for (i = 0; i < 2; i++)
		sql_exec(fx, "UPDATE deliveries SET status = 'deferred', "
		    "attempts = %d, first_attempt_at = 5000, "
		    "next_attempt_at = %lld WHERE campaign_id = %lld AND "
		    "recipient_id = %lld", i + 1,
		    (long long)(now - 60000 * (i + 1)), c,
		    (long long)past[i]);
	sql_exec(fx, "UPDATE deliveries SET status = 'deferred', attempts = 1, "
	    "first_attempt_at = 5000, next_attempt_at = %lld WHERE "
	    "campaign_id = %lld AND recipient_id = %lld",
	    (long long)(now + HOUR_MS), c, (long long)future);

	claim_all(fx, 7, cl);
	assert_int_equal(cl->n, NRCPT - 1);
	check_claims(fx, cl);
	/* Due again: handed with their attempts and first attempt. */
	for (i = 0; i < 2; i++) {
		k = find_claimed(cl, past[i]);
		if (k == NULL)
			fail_msg("deferred delivery %lld, due, not claimed",
			    (long long)past[i]);
		assert_int_equal(k->attempts, i + 1);
		assert_int_equal(k->first_attempt_at, 5000);
		assert_int_equal(sql_int(fx, "SELECT status = 'sending' FROM "
		    "deliveries WHERE campaign_id = %lld AND recipient_id = "
		    "%lld", c, (long long)past[i]), 1);
		assert_int_equal(dcol(fx, past[i], "first_attempt_at"), 5000);
		assert_int_equal(dcol(fx, past[i], "attempts"), i + 1);
	}
	for (i = 0; i < cl->n; i++)
		if (cl->c[i].recipient_id != past[0] &&
		    cl->c[i].recipient_id != past[1])
			assert_int_equal(cl->c[i].attempts, 0);
	/* Not due yet: left alone. */
	assert_null(find_claimed(cl, future));
	assert_int_equal(sql_int(fx, "SELECT status = 'deferred' FROM "
	    "deliveries WHERE campaign_id = %lld AND recipient_id = %lld", c,
	    (long long)future), 1);
	assert_int_equal(dcol(fx, future, "next_attempt_at"), now + HOUR_MS);
	assert_int_equal(dcol(fx, future, "first_attempt_at"), 5000);
	after = 0;
	assert_int_equal(claim(fx, fx->campaign, "bravo.example", &after, 100,
	    cl), 0);

	/* Its time comes: bravo is due again, with that row alone. */
	sql_exec(fx, "UPDATE deliveries SET next_attempt_at = %lld WHERE "
	    "campaign_id = %lld AND recipient_id = %lld",
	    (long long)(store_now_ms() - 1), c, (long long)future);
	{
		char buf[NDOM * 64];

		assert_string_equal(domains_due(fx, fx->campaign, buf,
		    sizeof(buf)), "bravo.example");
	}
	assert_int_equal(claim(fx, fx->campaign, "bravo.example", &after, 100,
	    cl), 1);
	assert_int_equal(cl->c[cl->n - 1].recipient_id, future);
	assert_int_equal(cl->c[cl->n - 1].attempts, 1);
	assert_int_equal(count_status(fx, "sending"), NRCPT);
	free(cl);
}

/* A deferral recorded with a past next attempt is due at once. */
static void
t_record_deferred_then_claim(void **state)
{
	struct fixture *fx = *state;
	struct claims *cl = calloc(1, sizeof(*cl));
	struct store_outcome o[2];
	struct err e = { 0 };
	int64_t after = 0, now;
	int i;

	assert_non_null(cl);
	assert_int_equal(claim(fx, fx->campaign, "mike.example", &after, 7,
	    cl), 7);
	now = store_now_ms();
	memset(o, 0, sizeof(o));
	for (i = 0; i < 2; i++) {
		o[i].domain = "mike.example";
		o[i].recipient_id = cl->c[i].recipient_id;
		o[i].status = "deferred";
		o[i].reply = "451 4.7.1 try later";
		o[i].dsn = "4.7.1";
		o[i].next_attempt_at = i == 0 ? now - 1000 : now + HOUR_MS;
	}
	if (store_send_record(fx->st, fx->campaign, NULL, o, 2, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(dcol(fx, o[0].recipient_id, "next_attempt_at"),
	    now - 1000);
	assert_int_equal(dcol(fx, o[1].recipient_id, "next_attempt_at"),
	    now + HOUR_MS);
	/* From the start of mike: the due one, then the 3 never tried. */
	after = 0;
	cl->n = 0;
	assert_int_equal(claim(fx, fx->campaign, "mike.example", &after, 100,
	    cl), 1 + NRCPT / NDOM - 7);
	assert_int_equal(cl->c[0].recipient_id, o[0].recipient_id);
	assert_int_equal(cl->c[0].attempts, 1);
	assert_null(find_claimed(cl, o[1].recipient_id));
	free(cl);
}

/* ---------------------------------------------------------- suppressed */

/* A suppression as `suppress add [-l list] target` makes it. */
static void
suppress(struct fixture *fx, const char *target, const char *list)
{
	char value[LIMIT_ADDR * 2 + 1];
	const char *kind;
	struct err e = { 0 };
	int added = -1;

	if (import_suppression_target(target, strlen(target), &kind, value,
	    sizeof(value), &e) < 0 ||
	    store_suppress_add(fx->st, kind, value, list, "test", "manual",
	    &added, &e) < 0)
		fail_msg("suppress %s: %s", target, e.msg);
	assert_int_equal(added, 1);
}

static void
t_claim_suppressed(void **state)
{
	struct fixture *fx = *state;
	struct claims *cl = calloc(1, sizeof(*cl));
	struct err e = { 0 };
	int64_t other;
	const char *at;
	int i, want, nsupp = 0;

	assert_non_null(cl);
	if (store_list_create(fx->st, "other", "", &other, &e) < 0)
		fail_msg("%s", e.msg);
	/* After the start, so each has its delivery: an address and a
	 * domain everywhere, an address and a domain on the campaign's
	 * list, and an address and a domain on another list. */
	suppress(fx, "u13@bravo.example", NULL);
	suppress(fx, "@sub.alpha.example", NULL);
	suppress(fx, "u21@alpha.example", "main");
	suppress(fx, "@mike.example", "main");
	suppress(fx, "u05@zulu.example", "other");
	suppress(fx, "@bravo.example", "other");

	claim_all(fx, 7, cl);
	/* Every row is still handed and marked sending. */
	assert_int_equal(cl->n, NRCPT);
	check_claims(fx, cl);
	assert_int_equal(count_status(fx, "sending"), NRCPT);
	for (i = 0; i < cl->n; i++) {
		at = strchr(cl->c[i].address, '@');
		want = strcmp(cl->c[i].address, "u13@bravo.example") == 0 ||
		    strcmp(cl->c[i].address, "u21@alpha.example") == 0 ||
		    strcmp(at + 1, "sub.alpha.example") == 0 ||
		    strcmp(at + 1, "mike.example") == 0;
		if (cl->c[i].suppressed != want)
			fail_msg("%s: suppressed %d, expected %d",
			    cl->c[i].address, cl->c[i].suppressed, want);
		nsupp += want;
		assert_true(cl->c[i].first_attempt_at > 0);
	}
	assert_int_equal(nsupp, 2 + 2 * NRCPT / NDOM);
	free(cl);
}

/* ------------------------------------------------------------- reclaim */

static void
t_reclaim(void **state)
{
	struct fixture *fx = *state;
	struct claims *first = calloc(1, sizeof(*first));
	struct claims *again = calloc(1, sizeof(*again));
	struct err e = { 0 };
	int64_t n = -1, after = 0;
	int i;

	assert_non_null(first);
	assert_non_null(again);
	assert_int_equal(claim(fx, fx->campaign, "alpha.example", &after, 7,
	    first), 7);
	assert_int_equal(claim(fx, fx->campaign, "alpha.example", &after, 7,
	    first), NRCPT / NDOM - 7);
	after = 0;
	assert_int_equal(claim(fx, fx->campaign, "bravo.example", &after, 7,
	    first), 7);
	assert_int_equal(first->n, NRCPT / NDOM + 7);
	assert_int_equal(count_status(fx, "sending"), first->n);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM deliveries WHERE "
	    "reclaimed <> 0"), 0);

	if (store_send_reclaim(fx->st, fx->campaign, &n, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(n, first->n);
	assert_int_equal(count_status(fx, "sending"), 0);
	assert_int_equal(count_status(fx, "pending"), NRCPT);
	/* They keep their first attempt, and count the reclaim. */
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM deliveries WHERE "
	    "first_attempt_at IS NOT NULL"), first->n);
	for (i = 0; i < first->n; i++)
		assert_int_equal(dcol(fx, first->c[i].recipient_id,
		    "reclaimed"), 1);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM deliveries WHERE "
	    "reclaimed = 0"), NRCPT - first->n);

	/* Walking from the start, the same deliveries come first again. */
	claim_all(fx, 7, again);
	assert_int_equal(again->n, NRCPT);
	for (i = 0; i < first->n; i++) {
		assert_int_equal(again->c[i].recipient_id,
		    first->c[i].recipient_id);
		assert_string_equal(again->c[i].domain, first->c[i].domain);
		assert_int_equal(again->c[i].first_attempt_at,
		    first->c[i].first_attempt_at);
		assert_int_equal(again->c[i].attempts, 0);
	}

	/* A second reclaim counts again. */
	n = -1;
	if (store_send_reclaim(fx->st, fx->campaign, &n, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(n, NRCPT);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM deliveries WHERE "
	    "reclaimed = 2"), first->n);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM deliveries WHERE "
	    "reclaimed = 1"), NRCPT - first->n);
	/* Nothing sending: a third changes nothing. */
	n = -1;
	if (store_send_reclaim(fx->st, fx->campaign, &n, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(n, 0);
	assert_int_equal(sql_int(fx, "SELECT sum(reclaimed) FROM deliveries"),
	    2 * first->n + (NRCPT - first->n));
	free(first);
	free(again);
}

static void
t_reclaim_nothing(void **state)
{
	struct fixture *fx = *state;
	struct err e = { 0 };
	int64_t n = -1;

	/* Other statuses are not 'sending' and stay. */
	sql_exec(fx, "UPDATE deliveries SET status = 'deferred' WHERE "
	    "campaign_id = %lld AND domain = 'mike.example'",
	    (long long)fx->campaign);
	sql_exec(fx, "UPDATE deliveries SET status = 'delivered' WHERE "
	    "campaign_id = %lld AND domain = 'zulu.example'",
	    (long long)fx->campaign);
	if (store_send_reclaim(fx->st, fx->campaign, &n, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(n, 0);
	assert_int_equal(count_status(fx, "deferred"), NRCPT / NDOM);
	assert_int_equal(count_status(fx, "delivered"), NRCPT / NDOM);
	assert_int_equal(count_status(fx, "pending"),
	    NRCPT - 2 * NRCPT / NDOM);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM deliveries WHERE "
	    "reclaimed <> 0"), 0);
}

/* -------------------------------------------------------------- record */

struct record_case {
	const char *name;
	const char *status;
	const char *reply;
	const char *dsn;
	const char *relay;
	int attempted;		/* attempts goes up, reply and dsn replaced */
	int done;		/* done_at set */
	int retry;		/* next_attempt_at is the outcome's */
	int event;		/* one event of type status */
};

/* One batch, in this order, for every record test. */
static const struct record_case record_cases[] = {
	{ "record: delivered", "delivered", "250 2.0.0 Ok: queued as X",
	    "2.0.0", "mx1.alpha.example", 1, 1, 0, 1 },
	{ "record: deferred, next attempt stored", "deferred",
	    "421 4.4.2 timeout", "4.4.2", NULL, 1, 0, 1, 1 },
	{ "record: bounced", "bounced", "550 5.1.1 no such user", "5.1.1",
	    "mx.mike.example", 1, 1, 0, 1 },
	{ "record: failed", "failed", "no MX for the domain", "5.4.4",
	    NULL, 1, 1, 0, 0 },
	{ "record: suppressed is final, no event", "suppressed",
	    "suppressed while the campaign ran", NULL, NULL, 1, 1, 0, 0 },
	{ "record: pending is handed back untried", "pending", NULL, NULL,
	    NULL, 0, 0, 0, 0 },
};

#define NREC	((int)NELEM(record_cases))
/* The batch takes every REC_STRIDE-th claimed row: over the domains. */
#define REC_STRIDE	9

struct recorded {
	struct claims cl;
	int64_t t0, t1;
};

/* Claims everything, gives every row a history, records the batch. */
static void
record_batch(struct fixture *fx, struct recorded *r)
{
	struct store_outcome o[NREC];
	struct err e = { 0 };
	int i;

	claim_all(fx, 7, &r->cl);
	assert_int_equal(r->cl.n, NRCPT);
	assert_true((NREC - 1) * REC_STRIDE < NRCPT);
	sql_exec(fx, "UPDATE deliveries SET attempts = 2, last_reply = "
	    "'old reply', last_dsn = '4.0.0', next_attempt_at = 1000 WHERE "
	    "campaign_id = %lld", (long long)fx->campaign);
	memset(o, 0, sizeof(o));
	for (i = 0; i < NREC; i++) {
		const struct claimed *k = &r->cl.c[i * REC_STRIDE];

		o[i].domain = k->domain;
		o[i].recipient_id = k->recipient_id;
		o[i].status = record_cases[i].status;
		o[i].reply = record_cases[i].reply;
		o[i].dsn = record_cases[i].dsn;
		o[i].relay = record_cases[i].relay;
		/* Given for every outcome; only a deferral keeps it. */
		o[i].next_attempt_at = NEXT_AT;
	}
	r->t0 = store_now_ms();
	if (store_send_record(fx->st, fx->campaign, NULL, o, NREC, &e) < 0)
		fail_msg("%s", e.msg);
	r->t1 = store_now_ms();
}

/* The text of column col of the delivery, or NULL (copied to buf). */
static const char *
delivery_text(struct fixture *fx, int64_t rid, const char *col, char *buf,
    size_t n)
{
	sqlite3_stmt *stmt;
	char *sql;
	const char *s;

	sql = sqlite3_mprintf("SELECT %s FROM deliveries WHERE campaign_id = "
	    "%lld AND recipient_id = %lld", col, (long long)fx->campaign,
	    (long long)rid);
	assert_non_null(sql);
	assert_int_equal(sqlite3_prepare_v2(fx->st->db, sql, -1, &stmt, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	s = (const char *)sqlite3_column_text(stmt, 0);
	if (s != NULL)
		snprintf(buf, n, "%s", s);
	sqlite3_finalize(stmt);
	sqlite3_free(sql);
	return s != NULL ? buf : NULL;
}

static void
t_record(void **state)
{
	struct fixture *fx = *state;
	const struct record_case *c = fx->row;
	struct recorded *r = calloc(1, sizeof(*r));
	char buf[256];
	int64_t rid, id;
	int idx;

	assert_non_null(r);
	assert_non_null(c);
	idx = (int)(c - record_cases);
	record_batch(fx, r);
	rid = r->cl.c[idx * REC_STRIDE].recipient_id;

	assert_string_equal(delivery_text(fx, rid, "status", buf,
	    sizeof(buf)), c->status);
	assert_int_equal(dcol(fx, rid, "attempts"), c->attempted ? 3 : 2);
	if (c->attempted) {
		if (c->reply == NULL)
			assert_null(delivery_text(fx, rid, "last_reply", buf,
			    sizeof(buf)));
		else
			assert_string_equal(delivery_text(fx, rid,
			    "last_reply", buf, sizeof(buf)), c->reply);
		if (c->dsn == NULL)
			assert_null(delivery_text(fx, rid, "last_dsn", buf,
			    sizeof(buf)));
		else
			assert_string_equal(delivery_text(fx, rid,
			    "last_dsn", buf, sizeof(buf)), c->dsn);
	} else {
		assert_string_equal(delivery_text(fx, rid, "last_reply", buf,
		    sizeof(buf)), "old reply");
		assert_string_equal(delivery_text(fx, rid, "last_dsn", buf,
		    sizeof(buf)), "4.0.0");
	}
	if (c->done)
		assert_in_range(dcol(fx, rid, "done_at"), r->t0, r->t1);
	else
		assert_int_equal(dcol(fx, rid, "done_at IS NULL"), 1);
	if (c->retry)
		assert_int_equal(dcol(fx, rid, "next_attempt_at"), NEXT_AT);
	else
		assert_int_equal(dcol(fx, rid, "next_attempt_at"), 1000);
	assert_in_range(dcol(fx, rid, "updated_at"), r->t0, r->t1);
	/* The first attempt, set by the claim, stays; so does reclaimed. */
	assert_int_equal(dcol(fx, rid, "first_attempt_at"),
	    r->cl.c[idx * REC_STRIDE].first_attempt_at);
	assert_int_equal(dcol(fx, rid, "reclaimed"), 0);

	/* Its events: one of its status, or none. */
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM events WHERE "
	    "campaign_id = %lld AND recipient_id = %lld",
	    (long long)fx->campaign, (long long)rid), c->event);
	if (c->event) {
		id = sql_int(fx, "SELECT id FROM events WHERE campaign_id = "
		    "%lld AND recipient_id = %lld AND type = %Q",
		    (long long)fx->campaign, (long long)rid, c->status);
		assert_in_range(sql_int(fx, "SELECT at FROM events WHERE id = "
		    "%lld", (long long)id), r->t0, r->t1);
		assert_int_equal(sql_int(fx, "SELECT json_extract(detail, "
		    "'$.dsn') = %Q FROM events WHERE id = %lld", c->dsn,
		    (long long)id), 1);
		assert_int_equal(sql_int(fx, "SELECT json_extract(detail, "
		    "'$.reply') = %Q FROM events WHERE id = %lld", c->reply,
		    (long long)id), 1);
		if (c->relay != NULL)
			assert_int_equal(sql_int(fx, "SELECT json_extract("
			    "detail, '$.relay') = %Q FROM events WHERE id = "
			    "%lld", c->relay, (long long)id), 1);
		else
			assert_int_equal(sql_int(fx, "SELECT json_type(detail, "
			    "'$.relay') = 'null' FROM events WHERE id = %lld",
			    (long long)id), 1);
	}
	free(r);
}

static void
t_record_batch(void **state)
{
	struct fixture *fx = *state;
	struct recorded *r = calloc(1, sizeof(*r));
	struct claims *cl = calloc(1, sizeof(*cl));
	struct err e = { 0 };
	int64_t n = -1;
	int i;

	assert_non_null(r);
	assert_non_null(cl);
	record_batch(fx, r);
	/* Events: delivered, deferred, bounced; nothing else. */
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM events"), 3);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM events WHERE "
	    "campaign_id = %lld AND type IN ('delivered', 'deferred', "
	    "'bounced')", (long long)fx->campaign), 3);
	/* The rows outside the batch are untouched. */
	assert_int_equal(count_status(fx, "sending"), NRCPT - NREC);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM deliveries WHERE "
	    "attempts = 2 AND status = 'sending' AND done_at IS NULL AND "
	    "next_attempt_at = 1000"), NRCPT - NREC);
	/* Only the deferral took the next attempt. */
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM deliveries WHERE "
	    "next_attempt_at = %lld", (long long)NEXT_AT), 1);

	/* Put back and walked again: everything not final but the
	 * deferral, which is not due till NEXT_AT. */
	if (store_send_reclaim(fx->st, fx->campaign, &n, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(n, NRCPT - NREC);
	claim_all(fx, 7, cl);
	assert_int_equal(cl->n, NRCPT - NREC + 1);
	check_claims(fx, cl);
	for (i = 0; i < NREC; i++)
		if (strcmp(record_cases[i].status, "pending") != 0)
			assert_null(find_claimed(cl,
			    r->cl.c[i * REC_STRIDE].recipient_id));
	free(cl);
	free(r);
}

static void
t_record_none(void **state)
{
	struct fixture *fx = *state;
	struct err e = { 0 };

	assert_int_equal(store_send_record(fx->st, fx->campaign, NULL, NULL, 0,
	    &e), 0);
	assert_int_equal(count_status(fx, "pending"), NRCPT);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM events"), 0);
}

/* An outcome naming no delivery of the campaign changes nothing. */
static void
t_record_unknown_delivery(void **state)
{
	struct fixture *fx = *state;
	struct store_outcome o = {
		.domain = "nowhere.example",
		.recipient_id = 1,
		.status = "delivered",
		.reply = "250 ok",
		.dsn = "2.0.0",
		.relay = "mx.nowhere.example",
	};
	struct err e = { 0 };

	int64_t events;

	if (store_send_record(fx->st, fx->campaign, NULL, &o, 1, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(count_status(fx, "pending"), NRCPT);
	if ((events = sql_int(fx, "SELECT count(*) FROM events")) != 0)
		fail_msg("%lld event(s) for a delivery that does not exist",
		    (long long)events);
}

/* ---------------------------------------------------------------- left */

static void
t_left(void **state)
{
	struct fixture *fx = *state;
	struct recorded *r = calloc(1, sizeof(*r));
	struct claims *cl = calloc(1, sizeof(*cl));
	struct err e = { 0 };
	int64_t left = -1, rn, after = 0;

	assert_non_null(r);
	assert_non_null(cl);
	if (store_send_left(fx->st, fx->campaign, &left, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(left, NRCPT);

	assert_int_equal(claim(fx, fx->campaign, "zulu.example", &after, 7,
	    cl), 7);
	assert_int_equal(store_send_left(fx->st, fx->campaign, &left, &e), 0);
	assert_int_equal(left, NRCPT);
	assert_int_equal(store_send_reclaim(fx->st, fx->campaign, &rn, &e), 0);
	assert_int_equal(rn, 7);

	/* delivered, bounced, failed and suppressed are final; deferred
	 * and pending are not. */
	record_batch(fx, r);
	assert_int_equal(store_send_left(fx->st, fx->campaign, &left, &e), 0);
	assert_int_equal(left, NRCPT - 4);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM deliveries WHERE "
	    "status IN ('sending', 'pending', 'deferred')"), NRCPT - 4);
	/* A row set suppressed behind the API counts alike. */
	sql_exec(fx, "UPDATE deliveries SET status = 'suppressed' WHERE "
	    "campaign_id = %lld AND recipient_id = %lld",
	    (long long)fx->campaign, (long long)r->cl.c[49].recipient_id);
	assert_int_equal(store_send_left(fx->st, fx->campaign, &left, &e), 0);
	assert_int_equal(left, NRCPT - 5);
	free(cl);
	free(r);
}

/* ---------------------------------------------------- unknown campaign */

static void
t_unknown_claim(void **state)
{
	struct fixture *fx = *state;
	struct claims *cl = calloc(1, sizeof(*cl));
	char out[256], buf[NDOM * 64];
	int64_t after = 0;
	int i;

	assert_non_null(cl);
	assert_null(next_domain(fx, NO_CAMPAIGN, "", out, sizeof(out)));
	assert_string_equal(domains_due(fx, NO_CAMPAIGN, buf, sizeof(buf)),
	    "");
	for (i = 0; i < NDOM; i++) {
		assert_int_equal(claim(fx, NO_CAMPAIGN, domains[i], &after, 7,
		    cl), 0);
		assert_int_equal(after, 0);
	}
	assert_int_equal(cl->n, 0);
	assert_int_equal(count_status(fx, "pending"), NRCPT);
	free(cl);
}

static void
t_unknown_record(void **state)
{
	struct fixture *fx = *state;
	struct store_outcome o[NREC];
	struct err e = { 0 };
	int i;

	/* Real deliveries' keys, under a campaign id that has none. */
	memset(o, 0, sizeof(o));
	for (i = 0; i < NREC; i++) {
		o[i].domain = domains[i % NDOM];
		o[i].recipient_id = i % NDOM + 1;
		o[i].status = record_cases[i].status;
		o[i].reply = record_cases[i].reply;
		o[i].dsn = record_cases[i].dsn;
		o[i].relay = record_cases[i].relay;
		o[i].next_attempt_at = NEXT_AT;
	}
	if (store_send_record(fx->st, NO_CAMPAIGN, NULL, o, NREC, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(count_status(fx, "pending"), NRCPT);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM events"), 0);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM deliveries WHERE "
	    "next_attempt_at = %lld", (long long)NEXT_AT), 0);
}

static void
t_unknown_reclaim_left(void **state)
{
	struct fixture *fx = *state;
	struct err e = { 0 };
	int64_t n = -1;

	sql_exec(fx, "UPDATE deliveries SET status = 'sending'");
	if (store_send_reclaim(fx->st, NO_CAMPAIGN, &n, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(n, 0);
	assert_int_equal(count_status(fx, "sending"), NRCPT);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM deliveries WHERE "
	    "reclaimed <> 0"), 0);
	n = -1;
	if (store_send_left(fx->st, NO_CAMPAIGN, &n, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(n, 0);
}

int
main(void)
{
	struct unit_tests u = { 0 };
	size_t from;

	UNIT_TABLE(&u, pool_cases, t_pool);
	UNIT_TABLE(&u, stop_cases, t_pool_stop);
	unit_add(&u, "workers: stop(NULL) is fine", t_pool_stop_null, NULL);
	unit_add(&u, "workers: idle pool signals nothing, stops",
	    t_pool_idle_stop, NULL);
	unit_add(&u, "workers: 0, -1 and LIMIT_WORKERS+1 threads refused",
	    t_pool_bad_count, NULL);

	from = u.n;
	unit_add(&u, "next domain: key order, after any string, claims "
	    "nothing", t_next_domain_order, NULL);
	unit_add(&u, "next domain: skips domains with nothing due",
	    t_next_domain_skips, NULL);
	unit_add(&u, "claim: per domain windows of 7, 3, 0 in key order",
	    t_claim_order, NULL);
	unit_add(&u, "claim: walking every domain hands each delivery once",
	    t_claim_each_once, NULL);
	unit_add(&u, "claim: claimed rows are sending, first attempt now",
	    t_claim_marks, NULL);
	unit_add(&u, "claim: an earlier first attempt is kept and handed",
	    t_claim_keeps_first_attempt, NULL);
	unit_add(&u, "claim: failing callback rolls back, cursor kept",
	    t_claim_cb_fails, NULL);
	unit_add(&u, "claim: a domain without deliveries hands nothing",
	    t_claim_no_such_domain, NULL);
	unit_add(&u, "claim: deferred rows due again are claimed, future "
	    "ones not", t_claim_deferred_due, NULL);
	unit_add(&u, "claim: suppressed flag, address or domain, global or "
	    "the campaign's list", t_claim_suppressed, NULL);
	unit_add(&u, "record then claim: a deferral is due at its next "
	    "attempt", t_record_deferred_then_claim, NULL);
	unit_add(&u, "reclaim: sending back to pending, counted, claimed "
	    "again", t_reclaim, NULL);
	unit_add(&u, "reclaim: nothing sending, nothing changed",
	    t_reclaim_nothing, NULL);
	unit_add(&u, "record: a batch writes events for delivered, deferred, "
	    "bounced only", t_record_batch, NULL);
	unit_add(&u, "record: no outcomes", t_record_none, NULL);
	unit_add(&u, "record: outcome for no delivery writes no event",
	    t_record_unknown_delivery, NULL);
	unit_add(&u, "left: pending, sending and deferred", t_left, NULL);
	unit_add(&u, "unknown campaign: no domain, claim hands nothing",
	    t_unknown_claim, NULL);
	unit_add(&u, "unknown campaign: record changes nothing, no error",
	    t_unknown_record, NULL);
	unit_add(&u, "unknown campaign: reclaim and left are 0",
	    t_unknown_reclaim_left, NULL);
	UNIT_TABLE(&u, skip_cases, t_claim_skips);
	UNIT_TABLE(&u, record_cases, t_record);
	unit_fixture(&u, from, fx_setup, fx_teardown);

	return unit_run(&u, "send", NULL, NULL);
}
