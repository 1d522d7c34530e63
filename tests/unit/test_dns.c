/*
 * test_dns.c - the pure parts of next-hop resolution: MX ordering (sorted
 * by preference, equal preferences shuffled - tested as a property over
 * many seeds, never as one fixed shuffle), null MX detection (RFC 7505),
 * the host cap, dropped root, repeated and over-long names; and the API
 * edges that need no server: bad server lists and domains, and dns_free()
 * calling back what is pending.
 */
#include "unit.h"

#include "dns.h"

#define SEEDS	500

/* ------------------------------------------------------------ ordering */

struct order_case {
	const char *name;
	size_t n;
	struct dns_mx mx[16];
};

static const struct order_case order_cases[] = {
	{ "order: one host", 1, { { "a.test", 10 } } },
	{ "order: distinct preferences, reversed", 3,
	    { { "c.test", 30 }, { "b.test", 20 }, { "a.test", 10 } } },
	{ "order: two distinct, two equal", 4,
	    { { "mx2b.test", 20 }, { "mx3.test", 30 }, { "mx2a.test", 20 },
	      { "mx1.test", 10 } } },
	{ "order: all equal", 5,
	    { { "a.test", 5 }, { "b.test", 5 }, { "c.test", 5 },
	      { "d.test", 5 }, { "e.test", 5 } } },
	{ "order: preference 0 and 65535", 3,
	    { { "hi.test", 65535 }, { "lo.test", 0 }, { "mid.test", 100 } } },
};

static int
count_name(const struct dns_mx *mx, size_t n, const char *name)
{
	size_t i;
	int c = 0;

	for (i = 0; i < n; i++)
		c += strcmp(mx[i].host, name) == 0;
	return c;
}

/* Sorted, a permutation of the input, for every seed. */
static void
t_order(void **state)
{
	const struct order_case *c = *state;
	struct dns_mx mx[16];
	uint64_t rng;
	size_t i, k;

	for (rng = 1; rng <= SEEDS; rng++) {
		memcpy(mx, c->mx, sizeof(mx));
		k = dns_mx_order(mx, c->n, LIMIT_DNS_HOSTS, &rng);
		assert_int_equal(k, c->n);
		for (i = 1; i < k; i++)
			assert_true(mx[i - 1].pref <= mx[i].pref);
		for (i = 0; i < c->n; i++)
			assert_int_equal(count_name(mx, k, c->mx[i].host), 1);
	}
}

/* Each of the equal hosts comes first sometimes; the others never move. */
static void
t_shuffle_spreads(void **state)
{
	struct dns_mx in[4] = { { "one.test", 10 }, { "a.test", 20 },
	    { "b.test", 20 }, { "c.test", 20 } };
	struct dns_mx mx[4];
	int first[3] = { 0, 0, 0 };
	uint64_t rng = 42;
	int i;

	(void)state;
	for (i = 0; i < SEEDS; i++) {
		memcpy(mx, in, sizeof(mx));
		assert_int_equal(dns_mx_order(mx, 4, LIMIT_DNS_HOSTS, &rng), 4);
		assert_string_equal(mx[0].host, "one.test");
		first[mx[1].host[0] - 'a']++;
	}
	/* A fair shuffle puts each first about 167 times in 500. */
	for (i = 0; i < 3; i++)
		assert_true(first[i] > SEEDS / 6);
}

/* ------------------------------------------------------------- null MX */

struct null_case {
	const char *name;
	size_t n;
	struct dns_mx mx[2];
	int want;
};

static const struct null_case null_cases[] = {
	{ "null MX: \".\" preference 0", 1, { { ".", 0 } }, 1 },
	{ "null MX: root as c-ares expands it", 1, { { "", 0 } }, 1 },
	{ "null MX: \".\" preference 10 is not one", 1, { { ".", 10 } }, 0 },
	{ "null MX: \".\" beside another host is not one", 2,
	    { { ".", 0 }, { "mx.test", 10 } }, 0 },
	{ "null MX: a real host at 0 is not one", 1, { { "mx.test", 0 } }, 0 },
	{ "null MX: no records is not one", 0, { { NULL, 0 } }, 0 },
};

static void
t_null(void **state)
{
	const struct null_case *c = *state;

	assert_int_equal(dns_mx_null(c->mx, c->n), c->want);
}

/* -------------------------------------------------- cap and dropped names */

static void
t_cap(void **state)
{
	static char names[LIMIT_DNS_HOSTS + 5][16];
	struct dns_mx mx[LIMIT_DNS_HOSTS + 5];
	uint64_t rng = 7;
	size_t i, n = LIMIT_DNS_HOSTS + 5;

	(void)state;
	for (i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "mx%zu.test", i);
		mx[n - 1 - i].host = names[i];
		mx[n - 1 - i].pref = (unsigned)i;
	}
	assert_int_equal(dns_mx_order(mx, n, LIMIT_DNS_HOSTS, &rng),
	    LIMIT_DNS_HOSTS);
	/* The most preferred are the ones kept. */
	for (i = 0; i < LIMIT_DNS_HOSTS; i++)
		assert_int_equal(mx[i].pref, i);
}

/* Ties across the cap: any LIMIT_DNS_HOSTS of them, each once. */
static void
t_cap_ties(void **state)
{
	static char names[LIMIT_DNS_HOSTS * 2][16];
	struct dns_mx mx[LIMIT_DNS_HOSTS * 2];
	uint64_t rng = 9;
	size_t i, j, n = LIMIT_DNS_HOSTS * 2;

	(void)state;
	for (i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "mx%zu.test", i);
		mx[i].host = names[i];
		mx[i].pref = 10;
	}
	assert_int_equal(dns_mx_order(mx, n, LIMIT_DNS_HOSTS, &rng),
	    LIMIT_DNS_HOSTS);
	for (i = 0; i < LIMIT_DNS_HOSTS; i++)
		for (j = i + 1; j < LIMIT_DNS_HOSTS; j++)
			assert_string_not_equal(mx[i].host, mx[j].host);
}

static void
t_drops(void **state)
{
	static char longname[LIMIT_ADDR_DOMAIN + 2];
	struct dns_mx mx[5] = { { "MX.test", 20 }, { ".", 0 },
	    { "mx.test", 10 }, { longname, 5 }, { "other.test", 30 } };
	uint64_t rng = 3;

	(void)state;
	memset(longname, 'a', sizeof(longname) - 1);
	assert_int_equal(dns_mx_order(mx, 5, LIMIT_DNS_HOSTS, &rng), 2);
	/* The repeat keeps its most preferred record. */
	assert_string_equal(mx[0].host, "mx.test");
	assert_int_equal(mx[0].pref, 10);
	assert_string_equal(mx[1].host, "other.test");
}

/* ------------------------------------------------- API edges, no server */

static void
t_bad_servers(void **state)
{
	struct dns_config cfg = { .servers = "not an address" };
	struct dns *d = NULL;
	struct err e = { 0 };

	(void)state;
	assert_int_equal(dns_new(&cfg, &d, &e), -1);
	assert_int_equal(e.code, EX_CONFIG);
	assert_null(d);
	assert_non_null(strstr(e.msg, "not an address"));
}

static void
t_bad_domain(void **state)
{
	static const char *const bad[] = { "", "b\303\274cher.de",
	    "a..test", ".test", "under_score.test", "sp ace.test",
	    "x\ny.test" };
	struct dns_config cfg = { .servers = "127.0.0.1:1" };
	struct dns *d = NULL;
	struct err e = { 0 };
	size_t i;

	(void)state;
	assert_int_equal(dns_new(&cfg, &d, &e), 0);
	for (i = 0; i < NELEM(bad); i++) {
		err_clear(&e);
		assert_int_equal(dns_resolve_mx(d, bad[i], NULL, NULL, &e), -1);
		assert_int_equal(e.code, EX_DATAERR);
	}
	assert_int_equal(dns_pending(d), 0);
	assert_int_equal(dns_timeout_ms(d), -1);
	assert_int_equal(dns_run(d, 0, &e), 0);
	dns_free(d);
}

struct got {
	int calls;
	enum dns_status status;
	char reason[LIMIT_DNS_REASON];
};

static void
on_result(void *ctx, const struct dns_result *r)
{
	struct got *g = ctx;

	g->calls++;
	g->status = r->status;
	snprintf(g->reason, sizeof(g->reason), "%s", r->reason);
}

/* Never from inside dns_resolve_mx(); exactly once, at dns_free(). */
static void
t_free_calls_back(void **state)
{
	struct dns_config cfg = { .servers = "127.0.0.1:1" };
	struct dns *d = NULL;
	struct err e = { 0 };
	struct got g = { 0 };

	(void)state;
	assert_int_equal(dns_new(&cfg, &d, &e), 0);
	assert_int_equal(dns_resolve_mx(d, "example.test", on_result, &g,
	    &e), 0);
	assert_int_equal(g.calls, 0);
	assert_int_equal(dns_pending(d), 1);
	assert_true(dns_timeout_ms(d) >= 0);
	dns_free(d);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.status, DNS_TEMP);
	assert_non_null(strstr(g.reason, "example.test"));
}

int
main(void)
{
	struct unit_tests u = { 0 };

	UNIT_TABLE(&u, order_cases, t_order);
	unit_add(&u, "shuffle: each equal host comes first", t_shuffle_spreads,
	    NULL);
	UNIT_TABLE(&u, null_cases, t_null);
	unit_add(&u, "cap: the most preferred hosts are kept", t_cap, NULL);
	unit_add(&u, "cap: ties across the cap, each kept once", t_cap_ties,
	    NULL);
	unit_add(&u, "drops root, repeats and over-long names", t_drops, NULL);
	unit_add(&u, "bad server list: EX_CONFIG", t_bad_servers, NULL);
	unit_add(&u, "domain not an A-label: EX_DATAERR", t_bad_domain, NULL);
	unit_add(&u, "dns_free calls back pending resolutions",
	    t_free_calls_back, NULL);
	return unit_run(&u, "dns", NULL, NULL);
}
