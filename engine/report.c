/*
 * report.c - a campaign's report as one JSON object, and its text and CSV
 * renderings; see report.h. The HTML is report_html.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unistr.h>

#include "config.h"
#include "csvout.h"
#include "report.h"
#include "store.h"
#include "xalloc.h"

/* "2026-11-22T18:24:57.256Z", or null for 0. */
static json_t *
iso(int64_t ms)
{
	char buf[64];
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0)
		return json_null();
	gmtime_r(&t, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	return json_string(buf);
}

static json_t *
ratio(int64_t num, int64_t den)
{
	return den > 0 ? json_real((double)num / (double)den) : json_null();
}

static json_t *
seconds(int64_t ms, int known)
{
	return known ? json_real((double)ms / 1000.0) : json_null();
}

/* ------------------------------------------------------------- campaign */

struct rb {
	struct store *st;
	const struct config *cfg;
	int64_t id;
	int64_t started, created, finished;
	int ab_share;
	json_t *root;
	struct err *e;
};

static int
campaign_cb(const struct campaign_info *c, void *arg)
{
	struct rb *b = arg;

	b->id = c->id;
	b->started = c->started_at;
	b->created = c->created_at;
	b->finished = c->finished_at;
	b->ab_share = c->ab_share;
	b->root = json_pack("{s:s, s:s, s:s?, s:s, s:i, s:s, s:s, s:s?}",
	    "campaign", c->name, "list", c->list, "segment", c->segment,
	    "template", c->template_name, "template_version",
	    c->template_version, "from", c->from_addr, "status", c->status,
	    "paused_reason", c->paused_reason);
	return b->root != NULL ? 0 : -1;
}

static json_t *
event_json(const struct report_event_count *k)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "unique",
	    (json_int_t)k->unique, "total", (json_int_t)k->total,
	    "unique_human", (json_int_t)k->unique_human, "total_human",
	    (json_int_t)k->total_human, "unique_machine",
	    (json_int_t)k->unique_machine, "total_machine",
	    (json_int_t)(k->total - k->total_human));
}

static int
counts(struct rb *b, struct report_counts *c, struct report_events *ev)
{
	int64_t sent;

	if (store_report_counts(b->st, b->id, c, b->e) < 0 ||
	    store_report_events(b->st, b->id, ev, b->e) < 0)
		return -1;
	sent = c->delivered + c->bounced;
	json_object_set_new(b->root, "counts", json_pack("{s:I, s:I, s:I, "
	    "s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I}, s:o, s:o, "
	    "s:I, s:I, s:I, s:I, s:I}",
	    "recipients", (json_int_t)c->recipients, "sent", (json_int_t)sent,
	    "delivered", (json_int_t)c->delivered, "deferred_now",
	    (json_int_t)c->deferred, "pending_now", (json_int_t)c->pending,
	    "failed", (json_int_t)c->failed, "suppressed",
	    (json_int_t)c->suppressed, "bounced", "total",
	    (json_int_t)c->bounced, "hard", (json_int_t)c->hard, "soft",
	    (json_int_t)c->soft, "policy", (json_int_t)c->policy, "unknown",
	    (json_int_t)(c->bounced - c->hard - c->soft - c->policy),
	    "opens", event_json(&ev->opens), "clicks", event_json(&ev->clicks),
	    "unsubscribes", (json_int_t)ev->unsubscribes.unique,
	    "complaints", (json_int_t)ev->complaints.unique, "replies",
	    (json_int_t)ev->replies.unique, "auto_replies",
	    (json_int_t)ev->auto_replies.unique, "possibly_duplicated",
	    (json_int_t)c->duplicated));
	json_object_set_new(b->root, "rates", json_pack("{s:o, s:o, s:o, "
	    "s:o, s:o, s:o, s:o, s:o, s:o}",
	    "delivery", ratio(c->delivered, sent),
	    "bounce", ratio(c->bounced, sent),
	    "hard_bounce", ratio(c->hard, sent),
	    "open", ratio(ev->opens.unique_human, c->delivered),
	    "click", ratio(ev->clicks.unique_human, c->delivered),
	    "click_to_open", ratio(ev->clicks.unique_human,
	    ev->opens.unique_human),
	    "unsubscribe", ratio(ev->unsubscribes.unique, c->delivered),
	    "complaint", ratio(ev->complaints.unique, c->delivered),
	    "reply", ratio(ev->replies.unique, c->delivered)));
	return 0;
}

/* Median and 95th percentile of the time from start to delivery. */
static int
times(struct rb *b, const struct report_counts *c)
{
	int64_t med = 0, p95 = 0, sent = c->delivered + c->bounced;
	int64_t span = c->last_done - c->first_attempt;
	int known = c->delivered > 0 && b->started > 0;

	if (known && (store_report_delivery_time(b->st, b->id, b->started,
	    (c->delivered - 1) / 2, &med, b->e) < 0 ||
	    store_report_delivery_time(b->st, b->id, b->started,
	    (int64_t)ceil(0.95 * (double)c->delivered) - 1, &p95, b->e) < 0))
		return -1;
	json_object_set_new(b->root, "times", json_pack("{s:o, s:o, s:o, "
	    "s:o, s:o, s:o, s:o, s:{s:o, s:o}}",
	    "created", iso(b->created), "started", iso(b->started),
	    "finished", iso(b->finished), "first_attempt",
	    iso(c->first_attempt), "last_done", iso(c->last_done),
	    "duration_s", seconds((b->finished ? b->finished :
	    c->last_done) - b->started, b->started > 0 &&
	    (b->finished > 0 || c->last_done > 0)),
	    "throughput_per_s", span > 0 ? json_real((double)sent * 1000.0 /
	    (double)span) : json_null(),
	    "time_to_delivery_s", "median", seconds(med, known), "p95",
	    seconds(p95, known)));
	return 0;
}

/* ---------------------------------------------------------------- links */

static int
link_cb(int idx, const char *url, int64_t unique, int64_t total,
    int64_t human, void *arg)
{
	return json_array_append_new(arg, json_pack("{s:i, s:s, s:I, s:I, "
	    "s:I}", "index", idx, "url", url, "clicks_unique",
	    (json_int_t)unique, "clicks_total", (json_int_t)total,
	    "clicks_unique_human", (json_int_t)human));
}

/* ------------------------------------------------------------- replies */

/*
 * Replies counted by class (or status), code and text made comparable
 * (reason_norm): the bounce reasons and each domain's top replies. Past
 * REASONS_KEPT distinct ones, the rest only counts as other.
 */
#define REASONS_KEPT	512

struct reason {
	char kind[16];
	char dsn[16];
	char reply[256];
	int64_t n;
};

struct reasons {
	struct reason r[REASONS_KEPT];
	int n;
	int64_t other;
};

/* -------------------------------------------------------------- domains */

struct top_domain {
	char *domain;
	const char *provider;
	struct report_domain d;
};

struct domains {
	struct rb *b;
	struct top_domain top[REPORT_DOMAINS];
	int ntop;
	json_t *prov;		/* provider name -> totals object */
};

static const char *
provider_of(const struct config *cfg, const char *relay)
{
	char host[256];
	const char *h = host;
	int i;

	snprintf(host, sizeof(host), "%.*s", (int)strcspn(relay, "["),
	    relay);
	if (host[0] == '\0' || (i = config_provider(cfg, &h, 1)) < 0)
		return NULL;
	return cfg->providers[i].name;
}

static void
prov_add(json_t *prov, const char *name, const struct report_domain *d)
{
	static const char *const keys[] = { "domains", "recipients",
	    "delivered", "deferred", "bounced", "throttled" };
	int64_t v[] = { 1, d->recipients, d->delivered, d->deferred,
	    d->bounced, d->throttled };
	json_t *p = json_object_get(prov, name);
	size_t i;

	if (p == NULL) {
		p = json_pack("{s:s}", "provider", name);
		json_object_set_new(prov, name, p);
	}
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		json_object_set_new(p, keys[i], json_integer(v[i] +
		    json_integer_value(json_object_get(p, keys[i]))));
}

/* The smallest of the kept domains gives way to a larger one. */
static int
domain_cb(const struct report_domain *d, void *arg)
{
	struct domains *ds = arg;
	const char *prov = provider_of(ds->b->cfg, d->relay);
	int i, min = 0;

	prov_add(ds->prov, prov != NULL ? prov : "other", d);
	if (ds->ntop == REPORT_DOMAINS) {
		for (i = 1; i < ds->ntop; i++)
			if (ds->top[i].d.recipients < ds->top[min].d.recipients)
				min = i;
		if (ds->top[min].d.recipients >= d->recipients)
			return 0;
		free(ds->top[min].domain);
	} else
		min = ds->ntop++;
	ds->top[min].domain = xstrdup(d->domain);
	ds->top[min].provider = prov;
	ds->top[min].d = *d;
	ds->top[min].d.domain = ds->top[min].domain;
	ds->top[min].d.relay = "";
	return 0;
}

static int
by_recipients(const void *a, const void *b)
{
	const struct top_domain *x = a, *y = b;

	if (x->d.recipients != y->d.recipients)
		return x->d.recipients > y->d.recipients ? -1 : 1;
	return strcmp(x->domain, y->domain);
}

static int bounce_cb(const char *, const char *, const char *, int64_t,
    void *);
static json_t *reasons_top(struct reasons *rs, int limit, int full);

/* A domain's replies, made comparable as the bounce reasons are. */
static json_t *
domain_json(struct rb *b, const struct top_domain *t)
{
	struct reasons *rs = xcalloc(1, sizeof(*rs));
	json_t *replies;

	if (store_report_domain_replies(b->st, b->id, t->domain,
	    REASONS_KEPT, bounce_cb, rs, b->e) < 0) {
		free(rs);
		return NULL;
	}
	replies = reasons_top(rs, REPORT_TOP_REPLIES, 0);
	free(rs);
	return json_pack("{s:s, s:s?, s:I, s:I, s:I, s:I, s:I, s:o}",
	    "domain", t->domain, "provider", t->provider, "recipients",
	    (json_int_t)t->d.recipients, "delivered",
	    (json_int_t)t->d.delivered, "deferred", (json_int_t)t->d.deferred,
	    "bounced", (json_int_t)t->d.bounced, "throttled",
	    (json_int_t)t->d.throttled, "top_replies", replies);
}

static int
domains(struct rb *b)
{
	struct domains ds;
	json_t *arr = json_array(), *provs = json_array(), *v, *dj;
	const char *k;
	int i, rc;

	memset(&ds, 0, sizeof(ds));
	ds.b = b;
	ds.prov = json_object();
	rc = store_report_domains(b->st, b->id, b->cfg->throttle_patterns,
	    b->cfg->nthrottle_patterns, domain_cb, &ds, b->e);
	qsort(ds.top, (size_t)ds.ntop, sizeof(ds.top[0]), by_recipients);
	for (i = 0; i < ds.ntop; i++) {
		if (rc == 0 && (dj = domain_json(b, &ds.top[i])) == NULL)
			rc = -1;
		else if (rc == 0)
			json_array_append_new(arr, dj);
		free(ds.top[i].domain);
	}
	json_object_foreach(ds.prov, k, v)
		json_array_append(provs, v);
	json_decref(ds.prov);
	json_object_set_new(b->root, "domains", arr);
	json_object_set_new(b->root, "providers", provs);
	return rc;
}

/* -------------------------------------------------------- bounce reasons */

/* A word of a reply that differs per message: a queue or message id
   (long, letters and digits mixed, no URL). */
static int
is_id(const char *w, size_t n)
{
	size_t i, digits = 0, alpha = 0;

	if (n < 10 || memchr(w, '/', n) != NULL)
		return 0;
	for (i = 0; i < n; i++) {
		digits += w[i] >= '0' && w[i] <= '9';
		alpha += (w[i] >= 'a' && w[i] <= 'z') ||
		    (w[i] >= 'A' && w[i] <= 'Z');
	}
	return digits > 0 && alpha > 0;
}

/*
 * A reply made comparable: addresses and queue or message ids vary from
 * one recipient to the next while the reason stays the same. What is
 * not UTF-8 becomes '?', so the JSON holds it; the cut falls between
 * characters.
 */
static void
reason_norm(const char *in, char *out, size_t n)
{
	size_t o = 0, w;
	const char *word;

	while (*in != '\0' && o + 12 < n) {
		if (*in == ' ') {
			out[o++] = *in++;
			continue;
		}
		w = strcspn(in, " ");
		word = in;
		in += w;
		if (memchr(word, '@', w) != NULL)
			o += (size_t)snprintf(out + o, n - o, "<address>%s",
			    word[w - 1] == ':' ? ":" : "");
		else if (is_id(word, w))
			o += (size_t)snprintf(out + o, n - o, "<id>");
		else {
			if (w > n - o - 1)
				w = n - o - 1;
			memcpy(out + o, word, w);
			o += w;
		}
	}
	if (o >= n)
		o = n - 1;
	while (o > 0 && ((unsigned char)out[o - 1] & 0xc0) == 0x80)
		o--;
	if (o > 0 && (unsigned char)out[o - 1] >= 0xc0)
		o--;
	out[o] = '\0';
	while (u8_check((uint8_t *)out, o) != NULL)
		*(char *)u8_check((uint8_t *)out, o) = '?';
}

static int
bounce_cb(const char *kind, const char *dsn, const char *reply, int64_t n,
    void *arg)
{
	struct reasons *rs = arg;
	struct reason r;
	int i;

	memset(&r, 0, sizeof(r));
	snprintf(r.kind, sizeof(r.kind), "%s", kind);
	snprintf(r.dsn, sizeof(r.dsn), "%s", dsn != NULL ? dsn : "");
	reason_norm(reply, r.reply, sizeof(r.reply));
	for (i = 0; i < rs->n; i++)
		if (strcmp(rs->r[i].kind, r.kind) == 0 &&
		    strcmp(rs->r[i].dsn, r.dsn) == 0 &&
		    strcmp(rs->r[i].reply, r.reply) == 0) {
			rs->r[i].n += n;
			return 0;
		}
	if (rs->n == REASONS_KEPT) {
		rs->other += n;
		return 0;
	}
	r.n = n;
	rs->r[rs->n++] = r;
	return 0;
}

static int
by_count(const void *a, const void *b)
{
	const struct reason *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return strcmp(x->reply, y->reply);
}

/* The most frequent, with their class and code when full. */
static json_t *
reasons_top(struct reasons *rs, int limit, int full)
{
	json_t *arr = json_array();
	int i;

	qsort(rs->r, (size_t)rs->n, sizeof(rs->r[0]), by_count);
	for (i = 0; i < rs->n && i < limit; i++)
		json_array_append_new(arr, full ? json_pack("{s:s, s:s?, s:s, "
		    "s:I}", "class", rs->r[i].kind, "dsn", rs->r[i].dsn[0] ?
		    rs->r[i].dsn : NULL, "reply", rs->r[i].reply, "count",
		    (json_int_t)rs->r[i].n) : json_pack("{s:s, s:I}", "reply",
		    rs->r[i].reply, "count", (json_int_t)rs->r[i].n));
	if (full && rs->other > 0 && i < limit)
		json_array_append_new(arr, json_pack("{s:s, s:n, s:s, s:I}",
		    "class", "other", "dsn", "reply", "(more kinds of reply "
		    "than a report keeps)", "count", (json_int_t)rs->other));
	return arr;
}

static int
reasons(struct rb *b)
{
	struct reasons *rs = xcalloc(1, sizeof(*rs));
	int rc;

	rc = store_report_bounces(b->st, b->id, bounce_cb, rs, b->e);
	json_object_set_new(b->root, "bounce_reasons", reasons_top(rs,
	    REPORT_REASONS, 1));
	free(rs);
	return rc;
}

/* --------------------------------------------------------------- series */

static const char *const series_types[] = { "delivered", "bounced",
    "deferred", "opened", "clicked" };
static const char *const series_keys[] = { "delivered", "bounced",
    "deferred", "opens", "clicks" };
#define NSERIES	5

/* A bucket a person reads on an axis: 1 s, 2 s, 5 s ... 1 d, 2 d, 7 d. */
static int64_t
nice_bucket(int64_t span_ms)
{
	static const int64_t steps[] = { 1, 2, 5, 10, 15, 30, 60, 120, 300,
	    600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800,
	    604800 };
	int64_t want = span_ms / REPORT_BUCKETS + 1;	/* span / want < 48 */
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (steps[i] * 1000 >= want)
			return steps[i] * 1000;
	return (want / 604800000 + 1) * 604800000;
}

static int
series_cb(int64_t bucket, const char *type, int64_t n, void *arg)
{
	json_t *s = arg, *a;
	int k;

	for (k = 0; k < NSERIES; k++)
		if (strcmp(type, series_types[k]) == 0)
			break;
	if (k == NSERIES || (a = json_object_get(s, series_keys[k])) ==
	    NULL || bucket < 0 || (size_t)bucket >= json_array_size(a))
		return 0;
	json_array_set_new(a, (size_t)bucket, json_integer(n +
	    json_integer_value(json_array_get(a, (size_t)bucket))));
	return 0;
}

static int
series(struct rb *b, const struct report_counts *c)
{
	int64_t start = c->first_attempt ? c->first_attempt : b->started;
	int64_t last = 0, bucket, nb = 0, i;
	json_t *s;
	int k;

	if (store_report_last_event(b->st, b->id, &last, b->e) < 0)
		return -1;
	if (last < c->last_done)
		last = c->last_done;
	bucket = nice_bucket(last > start ? last - start : 1);
	if (start > 0 && last >= start)
		nb = (last - start) / bucket + 1;
	s = json_pack("{s:o, s:I}", "start", iso(start), "bucket_s",
	    (json_int_t)(bucket / 1000));
	for (k = 0; k < NSERIES; k++) {
		json_t *a = json_array();

		for (i = 0; i < nb; i++)
			json_array_append_new(a, json_integer(0));
		json_object_set_new(s, series_keys[k], a);
	}
	json_object_set_new(b->root, "series", s);
	return nb == 0 ? 0 : store_report_series(b->st, b->id, start, bucket,
	    series_cb, s, b->e);
}

/* ------------------------------------------------------------ A/B test */

static int
variant_cb(const struct campaign_variant *v, void *arg)
{
	json_t *arr = arg;

	char name[2] = { (char)('A' + v->variant), '\0' };

	return json_array_append_new(arr, json_pack("{s:s, s:s, s:i, s:s?}",
	    "variant", name, "template", v->template_name,
	    "template_version", v->template_version, "subject", v->subject));
}

/*
 * "ab_test": { "share", "metric", "wait_s", "winner": "B"|null,
 * "held" } or null, and "variants": one object a variant with what its
 * test share did (the rest, sent the winner later, is not in them).
 */
static int
ab_test(struct rb *b)
{
	json_t *arr = json_array(), *v;
	struct ab_state s;
	size_t i;

	if (store_ab_state(b->st, b->id, &s, b->e) < 0 ||
	    store_campaign_variants(b->st, b->id, variant_cb, arr, b->e) < 0) {
		json_decref(arr);
		return -1;
	}
	json_array_foreach(arr, i, v) {
		if (i >= AB_MAX)
			break;
		json_object_set_new(v, "sent", json_integer(s.sent[i]));
		json_object_set_new(v, "delivered", json_integer(
		    s.delivered[i]));
		json_object_set_new(v, "opens_unique_human", json_integer(
		    s.opened[i]));
		json_object_set_new(v, "clicks_unique_human", json_integer(
		    s.clicked[i]));
		json_object_set_new(v, "open_rate", ratio(s.opened[i],
		    s.delivered[i]));
		json_object_set_new(v, "click_rate", ratio(s.clicked[i],
		    s.delivered[i]));
		json_object_set_new(v, "winner", json_boolean(s.winner ==
		    (int)i));
	}
	json_object_set_new(b->root, "variants", arr);
	json_object_set_new(b->root, "ab_test", s.nvariants == 0 ?
	    json_null() : json_pack("{s:i, s:s, s:I, s:o, s:I}", "share",
	    b->ab_share, "metric", s.metric, "wait_s",
	    (json_int_t)(s.wait / 1000), "winner", s.winner >= 0 ?
	    json_sprintf("%c", 'A' + s.winner) : json_null(), "held",
	    (json_int_t)s.held));
	return 0;
}

int
report_build(struct store *st, const struct config *cfg,
    const char *campaign, json_t **out, struct err *e)
{
	struct rb b = { st, cfg, 0, 0, 0, 0, 0, NULL, e };
	struct report_counts c;
	struct report_events ev;
	json_t *links = json_array();

	*out = NULL;
	if (store_campaign_get(st, campaign, campaign_cb, &b, e) < 0) {
		json_decref(links);
		return -1;
	}
	json_object_set_new(b.root, "generated_at", iso(store_now_ms()));
	if (counts(&b, &c, &ev) < 0 || times(&b, &c) < 0 ||
	    store_report_links(st, b.id, link_cb, links, e) < 0 ||
	    json_object_set(b.root, "links", links) < 0 || domains(&b) < 0 ||
	    reasons(&b) < 0 || series(&b, &c) < 0 || ab_test(&b) < 0) {
		json_decref(links);
		json_decref(b.root);
		return -1;
	}
	json_decref(links);
	*out = b.root;
	return 0;
}
