/*
 * scheduler.c - the send loop; see scheduler.h.
 *
 * Four kinds of object, all owned by the loop thread, so none is locked:
 *   dest    one recipient domain: its queue of rendered jobs, its
 *           throttle, the loader's cursor in it;
 *   target  where a dest's mail goes: one domain's MX hosts, or one
 *           route or the relay (shared by every domain routed there, so
 *           the relay is resolved once, not per domain);
 *   hop     one address and port with one session policy: the pool key;
 *   conn    one SMTP session to a hop (conn.h), carrying one dest's
 *           messages at a time.
 * A job goes: loaded -> rendered on a worker -> its dest's queue -> a
 * token from each throttle and a connection to the target's current hop
 * -> ops->outcome() -> the free list.
 *
 * Connections to a hop open by slow start, as Postfix's queue manager
 * does: one while none works, then at most as many opening as are
 * working, so a dead host costs one connect, a live one reaches its cap
 * in a few round trips, and a cap the server enforces (a 421 greeting
 * while others work) lowers ours instead of failing the hop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "conn.h"
#include "dns.h"
#include "scheduler.h"
#include "smtp.h"
#include "throttle.h"
#include "tls.h"
#include "xalloc.h"

#define SCHED_BUCKETS	1024
#define SCHED_EVENTS	64
#define SCHED_DNS_FDS	16

enum { W_CONN, W_DNS, W_DNS_SET, W_WORKERS };

/* What an epoll event points at. */
struct sched_watch {
	int kind;
	void *p;
	int fd;
	uint32_t events;	/* registered interest; 0: not registered */
};

struct sched_policy {
	struct smtp_config smtp;
	struct tls_ctx *tls;
	int port;
	const char *host;	/* a route's or the relay's; NULL: MX */
};

/* A failure that ends deliveries without a session to blame. */
struct sched_fail {
	enum sched_status status;
	int code;
	char dsn[SMTP_DSN_MAX];
	char text[LIMIT_SMTP_TEXT];
	char relay[LIMIT_ADDR_DOMAIN + INET6_ADDRSTRLEN + 16];	/* "": none */
};

struct sched_conn;
struct sched_dest;

struct sched_hop {
	struct sched_hop *hnext;
	char key[LIMIT_ADDR_DOMAIN + 96];
	const struct sched_policy *pol;
	char name[LIMIT_ADDR_DOMAIN + 1];	/* SNI, log lines */
	char ip[INET6_ADDRSTRLEN];
	struct sockaddr_storage sa;
	socklen_t salen;
	int refs;		/* targets naming it, connections to it */
	int nconns;		/* open: connecting or working */
	int nlive;		/* reached SMTP_EV_READY */
	int cap;		/* lowered when the server limits us */
	int msgs_cap;		/* the server's messages per session; 0 */
	int dead;
	struct sched_fail fail;
	struct sched_conn *idle;
};

enum target_state { TARGET_RESOLVING, TARGET_READY, TARGET_FAILED };

struct sched_target {
	struct sched_target *hnext;
	char key[LIMIT_ADDR_DOMAIN + 16];
	const struct sched_policy *pol;
	int persistent;		/* a route or the relay: kept all run */
	enum target_state state;
	struct sched_hop *hops[LIMIT_SEND_HOPS];
	int nhops;
	int cur;
	int refs;		/* dests, and the resolution in flight */
	int perm_only;		/* every hop so far failed permanently */
	struct sched_fail fail;
	struct throttle *prov;	/* the MX provider's, once resolved */
	struct sched *s;
};

struct sched_dest {
	struct sched_dest *hnext;
	struct sched_dest *next, *prev;		/* every dest */
	char domain[LIMIT_ADDR_DOMAIN + 1];
	struct sched_target *t;
	struct throttle thr;
	struct sched_job *qhead, *qtail;	/* rendered, waiting */
	int qlen;
	int inflight;		/* loaded and not yet ended */
	int conns;		/* connections carrying its mail */
	int opening;		/* ... of them not yet ready */
	int64_t after;		/* the loader's cursor */
	int exhausted;		/* the loader has it all */
	int64_t wake_at;	/* a throttle said wait until; 0: not */
	int starving;		/* wants a connection it may not open */
};

struct sched_conn {
	struct sched_watch w;
	struct conn *c;
	struct sched_hop *hop;
	struct sched_dest *dest;	/* whose mail it carries */
	struct sched_job *job;
	struct smtp_event rcpt;
	int have_rcpt;
	int live;
	int idle;
	int quitting;
	int dead;
	int nmsgs;
	int msgs_max;		/* 0: no limit */
	int64_t idle_since;
	char tls[128];
	struct smtp_body body;
	struct smtp_mem mem;
	struct sched_conn *next, *prev;		/* every connection */
	struct sched_conn *inext, *iprev;	/* the hop's idle list */
	struct sched_conn *knext;		/* kick or reap list */
	int kicked;		/* on the kick list: never twice */
	int reap_late;		/* closed while kicked: reap when popped */
};

struct sched {
	const struct sched_config *sc;
	const struct sched_ops *ops;
	struct sched_stats *stats;
	struct err *e;
	int failed;		/* an op failed: stop as if signalled */
	int ep;
	struct dns *dns;
	struct workers *workers;
	struct sched_watch wworkers;
	/*
	 * c-ares sockets live in an epoll set of their own, itself watched
	 * by the main one. c-ares closes a socket when its queries end, and
	 * a connection opened in the same pass may get the number: in one
	 * set, forgetting the old socket by number would unwatch the
	 * connection. Here that number is simply absent (ENOENT).
	 */
	int ep_dns;
	struct sched_watch wdnsset;
	struct sched_watch wdns[SCHED_DNS_FDS];
	size_t nwdns;
	struct tls_ctx *tls_verify, *tls_opportunistic;
	struct sched_policy *pols;	/* [0] MX, [1] relay, [2..] routes */
	int npols;
	struct throttle global;
	struct throttle *provs;		/* per cfg->providers[i] */
	int64_t *prov_left;		/* warm-up room today; -1: none */
	struct sched_job *jobs;
	struct sched_job *free;
	int njobs, inflight;
	char domain_after[LIMIT_ADDR_DOMAIN + 1];	/* loader's cursor */
	int domains_done;	/* no domain left to take up */
	int ndests;
	int exhausted;		/* nothing left to load at all */
	int64_t load_hold;	/* the store said not now: load after */
	int stopping;
	int64_t stop_at;	/* when stopping began */
	int aborted;		/* the wire given up too */
	struct sched_target *targets[SCHED_BUCKETS];
	struct sched_dest *dests[SCHED_BUCKETS];
	struct sched_dest *dlist;	/* every dest, newest first */
	int dreap;			/* a dest may be done: dest_reap() */
	struct sched_hop *hops[SCHED_BUCKETS];
	struct sched_conn *conns;
	struct sched_conn *kick, *reap;
	int nconns;
	int idle_ms, connect_ms;
	int64_t now;
};

static void dest_pump(struct sched *s, struct sched_dest *d);
static void dest_release(struct sched *s, struct sched_dest *d);
static void dest_reap(struct sched *s);
static void pump_starving(struct sched *s);

/* --------------------------------------------------------------- helpers */

/* Text for a log line: cut to fit, as every field of one is. */
static void __attribute__((format(printf, 3, 4)))
textf(char *dst, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, n, fmt, ap);
	va_end(ap);
}

static unsigned
hash(const char *s)
{
	unsigned h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h % SCHED_BUCKETS;
}

static void
fail_set(struct sched_fail *f, enum sched_status st, int code,
    const char *dsn, const char *text)
{
	f->status = st;
	f->code = code;
	snprintf(f->dsn, sizeof(f->dsn), "%s", dsn);
	textf(f->text, sizeof(f->text), "%s", text);
	f->relay[0] = '\0';
}

static enum sched_status
status_of(enum smtp_status st)
{
	return st == SMTP_OK ? SCHED_DELIVERED : st == SMTP_PERM ?
	    SCHED_BOUNCED : SCHED_DEFERRED;
}

const char *
sched_status_name(enum sched_status st)
{
	static const char *names[] = { "delivered", "deferred", "bounced",
	    "failed", "suppressed", "unsent" };

	return st <= SCHED_UNSENT ? names[st] : "?";
}

/*
 * force: MOD even when the interest looks unchanged. c-ares may close a
 * socket and open another that gets the same number between two looks;
 * the closed one left the epoll set with it, so MOD fails (ENOENT) and
 * the new one is added.
 */
static void
watch_ctl(int ep, struct sched_watch *w, uint32_t events, int force)
{
	struct epoll_event ev;

	if (w->events == events && !force)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = w;
	if (events == 0)
		(void)epoll_ctl(ep, EPOLL_CTL_DEL, w->fd, &ev);
	else if (w->events == 0 || epoll_ctl(ep, EPOLL_CTL_MOD, w->fd, &ev) < 0)
		(void)epoll_ctl(ep, EPOLL_CTL_ADD, w->fd, &ev);
	w->events = events;
}

static void
watch_set(struct sched *s, struct sched_watch *w, uint32_t events)
{
	watch_ctl(s->ep, w, events, 0);
}

/* ------------------------------------------------------------ job ends */

static void
job_end(struct sched *s, struct sched_job *j, enum sched_status st,
    int code, const char *dsn, const char *text, const char *relay,
    const char *tls)
{
	struct sched_outcome o;
	struct sched_dest *d = j->dest;
	struct err ignored;

	o.status = st;
	o.code = code;
	o.dsn = dsn != NULL ? dsn : "";
	o.text = text;
	o.relay = relay != NULL ? relay : "none";
	o.tls = tls != NULL ? tls : "none";
	o.delay_ms = s->now - j->t0;
	o.provider = relay != NULL && d != NULL && d->t != NULL &&
	    d->t->prov != NULL ? (int)(d->t->prov - s->provs) : -1;
	/* Even after a failure: the log line and the record of a message
	 * that went out must not be lost (the first error is kept). */
	if (s->ops->outcome(s->ops->ctx, j, &o, s->failed ? &ignored :
	    s->e) < 0)
		s->failed = 1;
	s->stats->outcomes[o.status]++;	/* as the op settled it */
	j->dest = NULL;
	j->next = s->free;
	s->free = j;
	s->inflight--;
	if (d != NULL) {
		d->inflight--;
		dest_release(s, d);
	}
}

static void
job_fail(struct sched *s, struct sched_job *j, const struct sched_fail *f)
{
	job_end(s, j, f->status, f->code, f->dsn, f->text,
	    f->relay[0] != '\0' ? f->relay : NULL, NULL);
}

static struct sched_job *
dest_pop(struct sched_dest *d)
{
	struct sched_job *j = d->qhead;

	if (j == NULL)
		return NULL;
	d->qhead = j->next;
	if (d->qhead == NULL)
		d->qtail = NULL;
	d->qlen--;
	return j;
}

/* Hands back every job the dest holds queued, untried, saying why. */
static void
dest_drain(struct sched *s, struct sched_dest *d, const char *why)
{
	struct sched_job *j;

	while ((j = dest_pop(d)) != NULL)
		job_end(s, j, SCHED_UNSENT, 0, "", why, NULL, NULL);
}

/* ------------------------------------------------------------ throttles */

/* The three throttles a dest's mail is under; NULL where none applies. */
static int
dest_throttles(struct sched *s, struct sched_dest *d, struct throttle **t)
{
	t[0] = &d->thr;
	t[1] = d->t != NULL ? d->t->prov : NULL;
	t[2] = &s->global;
	return 3;
}

/* Milliseconds until the dest may send its next message. */
static int64_t
dest_wait(struct sched *s, struct sched_dest *d)
{
	struct throttle *t[3];
	int64_t w, most = 0;
	int i, n = dest_throttles(s, d, t);

	for (i = 0; i < n; i++)
		if (t[i] != NULL && (w = throttle_wait(t[i], s->now)) > most)
			most = w;
	return most;
}

static void
dest_take(struct sched *s, struct sched_dest *d)
{
	struct throttle *t[3];
	int i, n = dest_throttles(s, d, t);

	for (i = 0; i < n; i++)
		if (t[i] != NULL)
			throttle_take(t[i], s->now);
}

/*
 * Whether every connection cap of d has room, leaving out skip and the
 * caps d shares with holder (a connection charged to holder counts in
 * those already, so handing it to d adds nothing there). Either may be
 * NULL.
 */
static int
dest_conn_room(struct sched *s, struct sched_dest *d,
    struct sched_dest *holder, const struct throttle *skip)
{
	struct throttle *t[3], *u[3];
	int i, k, n = dest_throttles(s, d, t), m = 0;

	if (holder != NULL)
		m = dest_throttles(s, holder, u);
	for (i = 0; i < n; i++) {
		if (t[i] == NULL || t[i] == skip)
			continue;
		for (k = 0; k < m && u[k] != t[i]; k++)
			;
		if (k == m && !throttle_conn_ok(t[i]))
			return 0;
	}
	return 1;
}

static int
dest_conn_ok(struct sched *s, struct sched_dest *d)
{
	return dest_conn_room(s, d, NULL, NULL);
}

static void
dest_charge(struct sched *s, struct sched_dest *d, int delta)
{
	struct throttle *t[3];
	int i, n = dest_throttles(s, d, t);

	for (i = 0; i < n; i++)
		if (t[i] != NULL)
			t[i]->conns += delta;
	d->conns += delta;
}

/* The strictest messages_per_connection of the dest's rules; 0: none. */
static int
dest_conn_msgs(struct sched *s, struct sched_dest *d)
{
	struct throttle *t[3];
	int i, m, best = 0, n = dest_throttles(s, d, t);

	for (i = 0; i < n; i++)
		if (t[i] != NULL && (m = throttle_conn_msgs(t[i])) > 0 &&
		    (best == 0 || m < best))
			best = m;
	return best;
}

/*
 * A throttling reply or a failed connection: the domain's trouble. Its
 * first suspension is waited out; from the second in a row the domain is
 * left for a later run: what it has queued goes back pending, untried,
 * and it loads no more, so the run is not held for minutes.
 */
static void
dest_signal(struct sched *s, struct sched_dest *d)
{
	s->stats->throttle_signals++;
	throttle_signal(&d->thr, s->now);
	if (d->t != NULL && d->t->prov != NULL)
		throttle_signal(d->t->prov, s->now);
	if (d->thr.strikes < 2)
		return;
	d->exhausted = 1;
	d->wake_at = 0;
	dest_drain(s, d, "the domain asked us to slow down; "
	    "left for a later run");
}

static void
dest_success(struct sched_dest *d)
{
	throttle_success(&d->thr);
	if (d->t != NULL && d->t->prov != NULL)
		throttle_success(d->t->prov);
}

/* The provider whose MX patterns name one of the target's hosts. */
static struct throttle *
provider_of(struct sched *s, const char *const *names, size_t n)
{
	int p = config_provider(s->sc->cfg, names, n);

	return p < 0 ? NULL : &s->provs[p];
}

/* ------------------------------------------------------------------ hops */

static struct sched_hop *
hop_get(struct sched *s, const struct sched_policy *pol, const char *name,
    const struct dns_addr *a)
{
	char ip[INET6_ADDRSTRLEN], key[sizeof(((struct sched_hop *)0)->key)];
	const struct sockaddr_in *s4 = (const void *)&a->sa;
	const struct sockaddr_in6 *s6 = (const void *)&a->sa;
	struct sched_hop *h;
	unsigned b;

	if (a->sa.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
	else
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
	textf(key, sizeof(key), "%d|%s|%d|%s", (int)(pol - s->pols), ip,
	    pol->port, name);
	b = hash(key);
	for (h = s->hops[b]; h != NULL; h = h->hnext)
		if (strcmp(h->key, key) == 0)
			return h;
	h = xcalloc(1, sizeof(*h));
	memcpy(h->key, key, sizeof(key));
	h->pol = pol;
	snprintf(h->name, sizeof(h->name), "%s", name);
	memcpy(h->ip, ip, sizeof(ip));
	memcpy(&h->sa, &a->sa, a->len);
	h->salen = a->len;
	if (h->sa.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&h->sa)->sin6_port =
		    htons((unsigned short)pol->port);
	else
		((struct sockaddr_in *)&h->sa)->sin_port =
		    htons((unsigned short)pol->port);
	h->cap = LIMIT_SEND_CONNS_MAX;
	h->hnext = s->hops[b];
	s->hops[b] = h;
	return h;
}

static void
hop_release(struct sched *s, struct sched_hop *h)
{
	struct sched_hop **pp;

	if (--h->refs > 0)
		return;
	for (pp = &s->hops[hash(h->key)]; *pp != h; pp = &(*pp)->hnext)
		;
	*pp = h->hnext;
	free(h);
}

/* "name[ip]:port", as log lines name the relay. */
static void
hop_relay(const struct sched_hop *h, char *dst, size_t n)
{
	textf(dst, n, "%s[%s]:%d", h->name, h->ip, h->pol->port);
}

/* The hop cannot be reached; the dests using it move on when pumped. */
static void
hop_kill(struct sched *s, struct sched_hop *h, const struct smtp_event *ev)
{
	char text[LIMIT_SMTP_TEXT];

	(void)s;
	h->dead = 1;
	textf(text, sizeof(text), "%s: %s", h->name, ev->text);
	fail_set(&h->fail, ev->status == SMTP_PERM ? SCHED_BOUNCED :
	    SCHED_DEFERRED, ev->code, ev->dsn, text);
	/* As Postfix logs it: the relay once the server has spoken (a
	 * refused AUTH, a 554 greeting), none when it never answered. */
	if (ev->code != 0 || ev->stage > SMTP_STAGE_GREETING)
		hop_relay(h, h->fail.relay, sizeof(h->fail.relay));
}

/* --------------------------------------------------------------- targets */

static void
target_free(struct sched *s, struct sched_target *t)
{
	struct sched_target **pp;
	int i;

	for (pp = &s->targets[hash(t->key)]; *pp != t; pp = &(*pp)->hnext)
		;
	*pp = t->hnext;
	for (i = 0; i < t->nhops; i++)
		hop_release(s, t->hops[i]);
	free(t);
}

static void
target_release(struct sched *s, struct sched_target *t)
{
	if (--t->refs == 0 && !t->persistent)
		target_free(s, t);
}

static void
target_add_hop(struct sched *s, struct sched_target *t, const char *name,
    const struct dns_addr *a)
{
	struct sched_hop *h;
	int i;

	if (t->nhops == LIMIT_SEND_HOPS)
		return;
	h = hop_get(s, t->pol, name, a);
	for (i = 0; i < t->nhops; i++)
		if (t->hops[i] == h)
			return;
	h->refs++;
	t->hops[t->nhops++] = h;
}

/* The target's first hop still alive; none: the target has failed. */
static struct sched_hop *
target_hop(struct sched_target *t)
{
	struct sched_hop *h;

	if (t->state != TARGET_READY)
		return NULL;
	for (; t->cur < t->nhops; t->cur++) {
		h = t->hops[t->cur];
		if (!h->dead)
			return h;
		if (h->fail.status != SCHED_BOUNCED)
			t->perm_only = 0;
		t->fail = h->fail;
	}
	t->state = TARGET_FAILED;
	if (!t->perm_only)
		t->fail.status = SCHED_DEFERRED;
	return NULL;
}

/* Every dest of the target goes on: its hops are known, or it failed. */
static void
target_settle(struct sched *s, struct sched_target *t)
{
	struct sched_dest *d, *next;

	t->refs++;
	for (d = s->dlist; d != NULL; d = next) {
		next = d->next;
		if (d->t == t)
			dest_pump(s, d);
	}
	target_release(s, t);
}

/* RFC 3463: 5.1.10 null MX (RFC 7505), 5.1.2 bad domain, 5.4.4 no route. */
static const char *
dns_dsn(const struct dns_result *r)
{
	if (r->status == DNS_TEMP)
		return "4.4.3";
	if (strstr(r->reason, "null MX") != NULL)
		return "5.1.10";
	if (strstr(r->reason, "NXDOMAIN") != NULL)
		return "5.1.2";
	return "5.4.4";
}

static void
target_resolved(void *ctx, const struct dns_result *r)
{
	struct sched_target *t = ctx;
	struct sched *s = t->s;
	const char *names[LIMIT_DNS_HOSTS];
	size_t i, k;

	if (r->status != DNS_OK) {
		t->state = TARGET_FAILED;
		fail_set(&t->fail, r->status == DNS_PERM ? SCHED_BOUNCED :
		    SCHED_DEFERRED, 0, dns_dsn(r), r->reason);
	} else {
		for (i = 0; i < r->nhosts; i++) {
			names[i] = t->pol->host != NULL ? t->pol->host :
			    r->hosts[i].name;
			for (k = 0; k < r->hosts[i].naddrs; k++)
				target_add_hop(s, t, names[i],
				    &r->hosts[i].addrs[k]);
		}
		t->prov = provider_of(s, names, r->nhosts);
		t->state = TARGET_READY;
	}
	t->refs--;		/* the resolution's; target_settle holds one */
	target_settle(s, t);
}

static int
target_literal(struct sched *s, struct sched_target *t)
{
	struct dns_addr a;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&a.sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a.sa;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, t->pol->host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		a.len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, t->pol->host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		a.len = sizeof(*s6);
	} else
		return 0;
	target_add_hop(s, t, t->pol->host, &a);
	t->prov = provider_of(s, &t->pol->host, 1);
	t->state = TARGET_READY;
	return 1;
}

static void
target_resolve(struct sched *s, struct sched_target *t, const char *domain)
{
	struct err e = { 0 };
	int rc;

	if (t->pol->host != NULL && target_literal(s, t))
		return;
	t->refs++;		/* until target_resolved() */
	s->stats->dns_lookups++;
	if (t->pol->host != NULL)
		rc = dns_resolve_host(s->dns, t->pol->host, target_resolved, t,
		    &e);
	else
		rc = dns_resolve_mx(s->dns, domain, target_resolved, t, &e);
	if (rc == 0)
		return;
	t->refs--;
	t->state = TARGET_FAILED;
	fail_set(&t->fail, e.code == EX_DATAERR ? SCHED_BOUNCED :
	    SCHED_DEFERRED, 0, e.code == EX_DATAERR ? "5.1.2" : "4.4.3",
	    e.msg);
}

static struct sched_target *
target_get(struct sched *s, const char *domain)
{
	const struct config *cfg = s->sc->cfg;
	const struct config_route *rt = config_route(cfg, domain);
	char key[sizeof(((struct sched_target *)0)->key)];
	const struct sched_policy *pol;
	struct sched_target *t;
	unsigned b;

	if (rt != NULL) {
		pol = &s->pols[2 + (rt - cfg->routes)];
		snprintf(key, sizeof(key), "route:%d", (int)(rt - cfg->routes));
	} else if (cfg->mode == CONFIG_MODE_RELAY) {
		pol = &s->pols[1];
		snprintf(key, sizeof(key), "relay:");
	} else {
		pol = &s->pols[0];
		snprintf(key, sizeof(key), "mx:%s", domain);
	}
	b = hash(key);
	for (t = s->targets[b]; t != NULL; t = t->hnext)
		if (strcmp(t->key, key) == 0)
			return t;
	t = xcalloc(1, sizeof(*t));
	t->s = s;
	memcpy(t->key, key, sizeof(key));
	t->pol = pol;
	t->persistent = pol->host != NULL;
	t->perm_only = 1;
	t->hnext = s->targets[b];
	s->targets[b] = t;
	target_resolve(s, t, domain);
	return t;
}

/* ---------------------------------------------------------- connections */

static void
conn_idle_remove(struct sched_conn *c)
{
	if (!c->idle)
		return;
	if (c->iprev != NULL)
		c->iprev->inext = c->inext;
	else
		c->hop->idle = c->inext;
	if (c->inext != NULL)
		c->inext->iprev = c->iprev;
	c->idle = 0;
	c->inext = c->iprev = NULL;
}

static void
conn_kick(struct sched *s, struct sched_conn *c)
{
	if (c->kicked || c->dead)
		return;
	c->kicked = 1;
	c->knext = s->kick;
	s->kick = c;
}

static void
conn_quit(struct sched *s, struct sched_conn *c)
{
	struct err e = { 0 };

	conn_idle_remove(c);
	c->quitting = 1;
	if (smtp_quit(conn_smtp(c->c), &e) < 0)
		smtp_abort(conn_smtp(c->c), e.msg);
	conn_kick(s, c);
}

/* Moves the connection's charge to another dest (or none). */
static void
conn_charge(struct sched *s, struct sched_conn *c, struct sched_dest *d)
{
	if (c->dest == d)
		return;
	if (c->dest != NULL) {
		dest_charge(s, c->dest, -1);
		dest_release(s, c->dest);
	}
	c->dest = d;
	if (d != NULL) {
		dest_charge(s, d, 1);
		c->msgs_max = dest_conn_msgs(s, d);
	}
}

/* Makes room under the global cap by closing an idle connection. */
static void
conn_close_idle(struct sched *s)
{
	struct sched_conn *c;

	for (c = s->conns; c != NULL; c = c->next)
		if (c->idle) {
			conn_quit(s, c);
			return;
		}
}

static void
conn_source(struct sched *s, const struct sched_hop *h,
    struct sockaddr_storage *ss, struct conn_params *p)
{
	const char *src = s->sc->cfg->source_address;
	socklen_t len = 0;

	if (src == NULL)
		return;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, src, &((struct sockaddr_in *)ss)->sin_addr) ==
	    1) {
		ss->ss_family = AF_INET;
		len = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, src, &((struct sockaddr_in6 *)ss)->
	    sin6_addr) == 1) {
		ss->ss_family = AF_INET6;
		len = sizeof(struct sockaddr_in6);
	}
	if (len > 0 && ss->ss_family == h->sa.ss_family) {
		p->source = (const struct sockaddr *)ss;
		p->sourcelen = len;
	}
}

static int
conn_open_hop(struct sched *s, struct sched_dest *d, struct sched_hop *h)
{
	struct conn_params p;
	struct sched_conn *c;
	struct err e = { 0 };
	struct sockaddr_storage ss;

	memset(&p, 0, sizeof(p));
	p.addr = (const struct sockaddr *)&h->sa;
	p.addrlen = h->salen;
	conn_source(s, h, &ss, &p);
	p.tls_name = h->name;
	p.tls = h->pol->tls;
	p.smtp = &h->pol->smtp;
	p.connect_ms = s->connect_ms;
	c = xcalloc(1, sizeof(*c));
	if (conn_open(&p, s->now, &c->c, &e) < 0) {
		/* Ours, not the hop's: the hop is not to blame. */
		free(c);
		s->stats->conn_failures++;
		return -1;
	}
	c->w.kind = W_CONN;
	c->w.p = c;
	c->w.fd = conn_fd(c->c);
	c->hop = h;
	h->refs++;
	h->nconns++;
	s->nconns++;
	conn_charge(s, c, d);
	d->opening++;
	s->stats->connections++;
	c->next = s->conns;
	if (s->conns != NULL)
		s->conns->prev = c;
	s->conns = c;
	/* Serviced from the loop, never from inside the caller. */
	conn_kick(s, c);
	return 0;
}

static void
conn_start(struct sched *s, struct sched_conn *c, struct sched_job *j)
{
	struct err e = { 0 };
	const char *rcpt = j->rcpt;

	c->job = j;
	c->have_rcpt = 0;
	smtp_body_mem(&c->body, &c->mem, j->msg.data, j->msg.len);
	c->body.eightbit = j->eightbit;
	if (smtp_send(conn_smtp(c->c), j->from, &rcpt, 1, j->msg.len,
	    &c->body, &e) < 0) {
		/* Not accepted, so no event will come for it. */
		c->job = NULL;
		job_end(s, j, SCHED_DEFERRED, 0, "4.3.0", e.msg, NULL, NULL);
		smtp_abort(conn_smtp(c->c), "internal error");
	}
	conn_kick(s, c);
}

static void
conn_go_idle(struct sched *s, struct sched_conn *c)
{
	struct sched_hop *h = c->hop;
	struct sched_dest *d;

	c->idle = 1;
	c->idle_since = s->now;
	c->iprev = NULL;
	c->inext = h->idle;
	if (h->idle != NULL)
		h->idle->iprev = c;
	h->idle = c;
	/* A dest that could not open one may take this one over. */
	for (d = s->dlist; d != NULL && c->idle; d = d->next)
		if (d->starving && d->qhead != NULL)
			dest_pump(s, d);
}

/* A connection closed or went live: the dests waiting for one retry. */
static void
pump_starving(struct sched *s)
{
	struct sched_dest *d;

	for (d = s->dlist; d != NULL; d = d->next)
		if (d->starving && d->qhead != NULL)
			dest_pump(s, d);
}

/*
 * The provider's warm-up cap for today is reached: what the dest holds
 * goes back pending, untried, and it loads no more this run.
 */
static void
dest_capped(struct sched *s, struct sched_dest *d)
{
	d->exhausted = 1;
	dest_drain(s, d, "the provider's warm-up cap for "
	    "today is reached");
}

/* The next job of the dest, when its throttles give a token now. */
static struct sched_job *
dest_take_job(struct sched *s, struct sched_dest *d)
{
	struct sched_job *j = d->qhead;
	int64_t w;

	if (j == NULL)
		return NULL;
	if (d->t->prov != NULL && s->prov_left[d->t->prov - s->provs] == 0) {
		dest_capped(s, d);
		return NULL;
	}
	if ((w = dest_wait(s, d)) > 0) {
		if (d->wake_at == 0 || s->now + w < d->wake_at)
			d->wake_at = s->now + w;
		return NULL;
	}
	dest_take(s, d);
	if (d->t->prov != NULL && s->prov_left[d->t->prov - s->provs] > 0)
		s->prov_left[d->t->prov - s->provs]--;
	return dest_pop(d);
}

static void
dest_push_front(struct sched_dest *d, struct sched_job *j)
{
	j->next = d->qhead;
	d->qhead = j;
	if (d->qtail == NULL)
		d->qtail = j;
	d->qlen++;
}

static void
on_ready(struct sched *s, struct sched_conn *c)
{
	struct sched_dest *d = c->dest;
	struct sched_job *j;
	int grew = 0;

	if (!c->live) {
		c->live = 1;
		c->hop->nlive++;
		if (d != NULL)
			d->opening--;
		conn_tls_desc(c->c, c->tls, sizeof(c->tls));
		grew = 1;
	}
	if ((c->msgs_max > 0 && c->nmsgs >= c->msgs_max) || (c->hop->msgs_cap
	    > 0 && c->nmsgs >= c->hop->msgs_cap) || s->stopping ||
	    c->hop->dead)
		conn_quit(s, c);
	else if (d != NULL && d->t != NULL && target_hop(d->t) == c->hop &&
	    (j = dest_take_job(s, d)) != NULL) {
		conn_start(s, c, j);
		dest_pump(s, d);	/* one more working: slow start grows */
	} else
		conn_go_idle(s, c);
	/* After this one has its job, or others would open for it. */
	if (grew)
		pump_starving(s);
}

/*
 * A reused session that ended (421, or lost) before the server could
 * have taken the message: the next hop did not refuse it, the session
 * did, as servers that cap messages per connection do. It goes again,
 * once, on another connection. A per-recipient 4xx (452) is the
 * recipient's own answer and stays one.
 */
static int
untransmitted(const struct sched_conn *c, const struct smtp_event *r)
{
	if (c->nmsgs == 0 || r->status != SMTP_TEMP ||
	    (r->code != 421 && r->code != 0))
		return 0;
	switch (r->stage) {
	case SMTP_STAGE_RSET:
	case SMTP_STAGE_MAIL:
	case SMTP_STAGE_RCPT:
	case SMTP_STAGE_DATA:
		return 1;
	default:
		return 0;
	}
}

static void
on_message(struct sched *s, struct sched_conn *c,
    const struct smtp_event *ev)
{
	const struct smtp_event *r = c->have_rcpt ? &c->rcpt : ev;
	struct sched_job *j = c->job;
	struct sched_dest *d;
	enum sched_status st = status_of(r->status);
	char relay[LIMIT_ADDR_DOMAIN + INET6_ADDRSTRLEN + 16];

	if (j == NULL)
		return;
	c->job = NULL;
	d = j->dest;
	if (untransmitted(c, r) && j->requeued < LIMIT_SEND_REQUEUES) {
		if (s->stopping) {
			job_end(s, j, SCHED_UNSENT, 0, "", "stopped before "
			    "sending", NULL, NULL);
			return;
		}
		/* The server's messages-per-session limit, learnt: later
		 * sessions to the hop end before it. */
		if (c->hop->msgs_cap == 0 || c->nmsgs < c->hop->msgs_cap)
			c->hop->msgs_cap = c->nmsgs;
		j->requeued++;
		dest_push_front(d, j);
		return;		/* pumped when the session closes */
	}
	c->nmsgs++;
	if (st == SCHED_DELIVERED)
		dest_success(d);
	else if (st == SCHED_DEFERRED && throttle_reply_signals(r->code,
	    r->dsn, r->text, r->stage == SMTP_STAGE_RCPT,
	    s->sc->cfg->throttle_patterns,
	    s->sc->cfg->nthrottle_patterns))
		dest_signal(s, d);
	hop_relay(c->hop, relay, sizeof(relay));
	job_end(s, j, st, r->code, r->dsn, r->text, relay,
	    c->tls[0] ? c->tls : NULL);
}

static void
on_closed(struct sched *s, struct sched_conn *c, const struct smtp_event *ev)
{
	struct sched_hop *h = c->hop;
	struct sched_dest *d = c->dest;

	conn_idle_remove(c);
	h->nconns--;
	s->nconns--;
	if (c->job != NULL)	/* smtp.h promises it cannot happen */
		on_message(s, c, ev);
	if (c->live)
		h->nlive--;
	else if (d != NULL)
		d->opening--;
	if (!c->live && !c->quitting) {
		s->stats->conn_failures++;
		if (d != NULL)
			dest_signal(s, d);
		if (h->nlive > 0)
			h->cap = h->nlive;
		else if (h->nconns == 0 && !h->dead)
			hop_kill(s, h, ev);
	}
	c->dead = 1;
	if (!c->kicked) {	/* else the kick list still links it */
		c->knext = s->reap;
		s->reap = c;
	} else
		c->reap_late = 1;
	/* Uncharged at the reap; meanwhile the dest may open another. */
	if (d != NULL)
		dest_pump(s, d);
}

static void
conn_service(struct sched *s, struct sched_conn *c)
{
	struct smtp_event ev;

	while (!c->dead && conn_event(c->c, &ev, s->now)) {
		switch (ev.type) {
		case SMTP_EV_READY:
			on_ready(s, c);
			break;
		case SMTP_EV_RCPT:
			c->rcpt = ev;
			c->have_rcpt = 1;
			break;
		case SMTP_EV_MESSAGE:
			on_message(s, c, &ev);
			break;
		case SMTP_EV_CLOSED:
			on_closed(s, c, &ev);
			break;
		default:
			break;
		}
	}
	conn_flush(c->c, s->now);
	if (!c->dead)
		watch_set(s, &c->w, conn_events(c->c));
}

static void
conn_unlink_free(struct sched *s, struct sched_conn *c)
{
	struct sched_dest *d = c->dest;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	conn_free(c->c);	/* closing the fd leaves the epoll set */
	if (d != NULL)
		conn_charge(s, c, NULL);
	hop_release(s, c->hop);
	free(c);
}

/* Services what was kicked, then frees what closed: STYLE.md rule 8. */
static void
conn_settle(struct sched *s)
{
	struct sched_conn *c;
	int reaped = 0;

	while ((c = s->kick) != NULL) {
		s->kick = c->knext;
		c->knext = NULL;
		c->kicked = 0;
		if (c->reap_late) {
			c->reap_late = 0;
			c->knext = s->reap;
			s->reap = c;
		} else if (!c->dead)
			conn_service(s, c);
	}
	while ((c = s->reap) != NULL) {
		s->reap = c->knext;
		conn_unlink_free(s, c);
		reaped = 1;
	}
	if (reaped)
		pump_starving(s);
	dest_reap(s);
}

/* ----------------------------------------------------------------- dests */

static void
dest_free(struct sched *s, struct sched_dest *d)
{
	struct sched_dest **pp;

	for (pp = &s->dests[hash(d->domain)]; *pp != d; pp = &(*pp)->hnext)
		;
	*pp = d->hnext;
	if (d->prev != NULL)
		d->prev->next = d->next;
	else
		s->dlist = d->next;
	if (d->next != NULL)
		d->next->prev = d->prev;
	s->ndests--;
	if (d->t != NULL)
		target_release(s, d->t);
	free(d);
}

static int
dest_done(const struct sched *s, const struct sched_dest *d)
{
	return d->inflight == 0 && d->conns == 0 && d->qhead == NULL &&
	    (d->exhausted || s->stopping);
}

/*
 * A dest lives while it has jobs, connections, or more to load. It is
 * only marked here and freed by dest_reap() at the top of the loop, so
 * no walk over the dests, and no caller holding one, sees it vanish.
 */
static void
dest_release(struct sched *s, struct sched_dest *d)
{
	if (dest_done(s, d))
		s->dreap = 1;
}

static void
dest_reap(struct sched *s)
{
	struct sched_dest *d, *dn;

	if (!s->dreap)
		return;
	s->dreap = 0;
	for (d = s->dlist; d != NULL; d = dn) {
		dn = d->next;
		if (dest_done(s, d))
			dest_free(s, d);
	}
}

static struct sched_dest *
dest_new(struct sched *s, const char *domain)
{
	struct config_shape sh;
	struct sched_dest *d = xcalloc(1, sizeof(*d));
	unsigned b = hash(domain);

	config_domain_shape(s->sc->cfg, domain, &sh);
	snprintf(d->domain, sizeof(d->domain), "%s", domain);
	throttle_init(&d->thr, &sh, s->now);
	d->hnext = s->dests[b];
	s->dests[b] = d;
	d->prev = NULL;
	d->next = s->dlist;
	if (s->dlist != NULL)
		s->dlist->prev = d;
	s->dlist = d;
	s->ndests++;
	d->t = target_get(s, domain);
	d->t->refs++;
	return d;
}

/* Ends what the dest holds queued with the target's failure. */
static void
dest_fail_queue(struct sched *s, struct sched_dest *d)
{
	struct sched_fail f = d->t->fail;
	struct sched_job *j;

	while ((j = dest_pop(d)) != NULL)
		job_fail(s, j, &f);
}

/* An idle connection to h that d may use: its own first, else the
 * first another dest holds that d may take over. */
static struct sched_conn *
idle_conn(struct sched *s, struct sched_dest *d, struct sched_hop *h)
{
	struct sched_conn *c;

	for (c = h->idle; c != NULL; c = c->inext)
		if (c->dest == d)
			return c;
	for (c = h->idle; c != NULL; c = c->inext)
		if (dest_conn_room(s, d, c->dest, NULL))
			return c;
	return NULL;
}

/*
 * Sends what the dest's throttles allow over its idle connections, and
 * opens more when the queue needs them and every cap allows (slow start
 * per hop). A dest whose target failed ends its queue.
 */
static void
dest_pump(struct sched *s, struct sched_dest *d)
{
	struct sched_hop *h;
	struct sched_conn *c;
	struct sched_job *j;
	int opening;

	d->starving = 0;
	if (d->qhead == NULL || d->t->state == TARGET_RESOLVING ||
	    s->stopping)
		return;
	if ((h = target_hop(d->t)) == NULL) {
		dest_fail_queue(s, d);
		return;
	}
	while (d->qhead != NULL && (c = idle_conn(s, d, h)) != NULL) {
		if ((j = dest_take_job(s, d)) == NULL)
			return;		/* woken by its timer */
		conn_idle_remove(c);
		conn_charge(s, c, d);
		conn_start(s, c, j);
	}
	while (d->qhead != NULL && !h->dead) {
		/*
		 * Slow start, per dest and per hop: no more opening than
		 * working (one while none works, so a dead host costs one
		 * connect however many domains use it), none beyond what
		 * the queue needs, and under a rate limit one at a time:
		 * tokens, not sessions, are what it lacks.
		 */
		opening = d->opening;
		if (d->qlen <= opening || opening >= (d->conns - opening > 0 ?
		    d->conns - opening : 1) || (opening > 0 &&
		    d->thr.ceil.rate > 0) || h->nconns - h->nlive >=
		    (h->nlive > 0 ? h->nlive : 1)) {
			d->starving = 1;	/* pumped when one works */
			return;
		}
		if (dest_wait(s, d) > 0) {
			(void)dest_take_job(s, d);	/* sets the wake */
			return;
		}
		if (h->nconns >= h->cap || !dest_conn_ok(s, d)) {
			/*
			 * Pumped again when a connection frees or works. An
			 * idle one elsewhere is closed to make room only when
			 * the global cap is all that stands in the way; with
			 * d's own or its provider's cap full, closing one
			 * would only cost its next user a new session.
			 */
			d->starving = 1;
			if (h->nconns < h->cap &&
			    dest_conn_room(s, d, NULL, &s->global) &&
			    !throttle_conn_ok(&s->global))
				conn_close_idle(s);
			return;
		}
		if (conn_open_hop(s, d, h) < 0) {
			/* A local shortage (file descriptors): try again
			 * in a second rather than spin. */
			d->wake_at = s->now + 1000;
			return;
		}
	}
}

static void
dest_ready(struct sched *s, struct sched_job *j)
{
	struct sched_dest *d = j->dest;

	if (s->stopping) {
		job_end(s, j, SCHED_UNSENT, 0, "", "stopped before sending",
		    NULL, NULL);
		return;
	}
	if (d->t->state == TARGET_FAILED) {
		job_fail(s, j, &d->t->fail);
		return;
	}
	j->next = NULL;
	if (d->qtail != NULL)
		d->qtail->next = j;
	else
		d->qhead = j;
	d->qtail = j;
	d->qlen++;
	dest_pump(s, d);
}
/* ----------------------------------------------------------- policies */

static int
tls_ctx_get(struct sched *s, enum tls_policy p, struct tls_ctx **out,
    struct err *e)
{
	struct tls_ctx **slot = p == TLS_POLICY_VERIFY ? &s->tls_verify :
	    &s->tls_opportunistic;

	if (*slot == NULL && tls_ctx_new(p, s->sc->cfg->ca_file, slot, e) < 0)
		return -1;
	*out = *slot;
	return 0;
}

static int
policy_tls(struct sched *s, struct sched_policy *p, enum config_tls t,
    struct err *e)
{
	switch (t) {
	case CONFIG_TLS_NONE:
		p->smtp.tls = SMTP_TLS_NONE;
		return 0;
	case CONFIG_TLS_OPPORTUNISTIC:
		p->smtp.tls = SMTP_TLS_MAY;
		return tls_ctx_get(s, TLS_POLICY_OPPORTUNISTIC, &p->tls, e);
	case CONFIG_TLS_REQUIRED:
		p->smtp.tls = SMTP_TLS_REQUIRE;
		return tls_ctx_get(s, TLS_POLICY_VERIFY, &p->tls, e);
	case CONFIG_TLS_IMPLICIT:
		p->smtp.tls = SMTP_TLS_NONE;	/* TLS from the first byte */
		p->smtp.implicit_tls = 1;
		return tls_ctx_get(s, TLS_POLICY_VERIFY, &p->tls, e);
	}
	return 0;
}

static int
policy_make(struct sched *s, struct sched_policy *p,
    const struct config_hop *hop, const char *pass, struct err *e)
{
	const struct config *cfg = s->sc->cfg;
	const struct config_timeouts *t = &cfg->timeouts;

	p->smtp.helo = s->sc->helo;
	p->smtp.timeouts.greeting = t->greeting * 1000;
	p->smtp.timeouts.mail = t->mail * 1000;
	p->smtp.timeouts.rcpt = t->rcpt * 1000;
	p->smtp.timeouts.data_init = t->data_init * 1000;
	p->smtp.timeouts.data_block = t->data_block * 1000;
	p->smtp.timeouts.data_end = t->data_end * 1000;
	if (hop == NULL) {
		p->port = cfg->mx_port > 0 ? cfg->mx_port : 25;
		return policy_tls(s, p, cfg->tls, e);
	}
	p->host = hop->host;
	p->port = hop->port;
	p->smtp.auth_user = hop->username;
	p->smtp.auth_pass = pass;
	p->smtp.auth_plaintext = hop->auth_plaintext;
	return policy_tls(s, p, hop->tls, e);
}

static int
policies_make(struct sched *s, struct err *e)
{
	const struct config *cfg = s->sc->cfg;
	struct smtp *probe;
	size_t i;

	s->npols = 2 + (int)cfg->nroutes;
	s->pols = xcalloc((size_t)s->npols, sizeof(*s->pols));
	if (policy_make(s, &s->pols[0], NULL, NULL, e) < 0 ||
	    (cfg->relay.host != NULL && policy_make(s, &s->pols[1],
	    &cfg->relay, s->sc->relay_pass, e) < 0))
		return -1;
	for (i = 0; i < cfg->nroutes; i++)
		if (policy_make(s, &s->pols[2 + i], &cfg->routes[i].hop,
		    s->sc->route_pass != NULL ? s->sc->route_pass[i] : NULL,
		    e) < 0)
			return -1;
	/* A session setting smtp_new() refuses fails the run now, once. */
	for (i = 0; i < (size_t)s->npols; i++) {
		if (i == 1 && cfg->relay.host == NULL)
			continue;
		if (smtp_new(&s->pols[i].smtp, &probe, e) < 0)
			return -1;
		smtp_free(probe);
	}
	return 0;
}

/* -------------------------------------------------------------- loading */

static void
job_take_rendered(struct sched *s)
{
	struct workers_job *list = workers_done(s->workers), *w;
	struct sched_job *j;

	while ((w = list) != NULL) {
		list = w->next;
		j = (struct sched_job *)w;
		if (j->render_rc != 0)
			job_end(s, j, SCHED_FAILED, 0, "5.6.0", j->render_err,
			    NULL, NULL);
		else
			dest_ready(s, j);
	}
}

/* Claims up to n of the dest's due deliveries; the count, -1. */
static int
load_dest(struct sched *s, struct sched_dest *d, int n)
{
	struct sched_job *batch[LIMIT_SEND_INFLIGHT];
	int k = 0, got, i;

	while (s->free != NULL && k < n) {
		batch[k++] = s->free;
		s->free = s->free->next;
	}
	got = s->ops->load(s->ops->ctx, d->domain, &d->after, batch, k, s->e);
	if (got == SCHED_LATER) {	/* the store is busy: not now */
		s->load_hold = s->now + LIMIT_SEND_TICK_MS * 10;
		got = 0;
	} else if (got < 0) {
		s->failed = 1;
		got = 0;
	} else if (got < k)
		d->exhausted = 1;
	for (i = k - 1; i >= got; i--) {
		batch[i]->next = s->free;
		s->free = batch[i];
	}
	for (i = 0; i < got; i++) {
		batch[i]->t0 = s->now;
		batch[i]->render_rc = 0;
		batch[i]->requeued = 0;
		batch[i]->dest = d;
		d->inflight++;
		s->inflight++;
		s->stats->loaded++;
		if (batch[i]->suppressed)
			job_end(s, batch[i], SCHED_SUPPRESSED, 0, "",
			    "suppressed while the campaign ran", NULL, NULL);
		else
			workers_submit(s->workers, &batch[i]->node);
	}
	return got;
}

/*
 * A dest whose target failed temporarily loads no more this run: its
 * rows stay pending for the next, rather than being deferred one by one
 * through a relay that is down.
 */
static int
dest_loadable(struct sched *s, struct sched_dest *d)
{
	if (d->t->state == TARGET_FAILED || (d->t->prov != NULL &&
	    s->prov_left[d->t->prov - s->provs] == 0))
		d->exhausted = 1;
	return !d->exhausted && !throttle_suspended(&d->thr, s->now) &&
	    (d->t->prov == NULL || !throttle_suspended(d->t->prov, s->now));
}

/*
 * Keeps up to LIMIT_SEND_DOMAINS domains going, each with at most a
 * window of jobs, so that one slow domain holds only its window. A
 * window is topped up once half of it is used, not per job: a claim is
 * a transaction.
 */
static void
job_load(struct sched *s)
{
	char next[LIMIT_ADDR_DOMAIN + 1];
	struct sched_dest *d, *dn;
	int free = s->njobs - s->inflight, want, rc, more = 0;

	if (s->exhausted || s->stopping || s->failed || s->now < s->load_hold ||
	    (free < s->njobs / 8 && s->inflight > 0))
		return;
	for (d = s->dlist; d != NULL && free > 0 && !s->failed; d = dn) {
		dn = d->next;
		if (!dest_loadable(s, d))
			continue;
		want = LIMIT_SEND_WINDOW - d->inflight;
		if (want < LIMIT_SEND_WINDOW / 2 && d->inflight > 0)
			continue;
		free -= load_dest(s, d, want < free ? want : free);
	}
	while (free > 0 && !s->domains_done && !s->failed &&
	    s->ndests < LIMIT_SEND_DOMAINS) {
		rc = s->ops->next_domain(s->ops->ctx, s->domain_after, next,
		    sizeof(next), s->e);
		if (rc == SCHED_LATER) {
			s->load_hold = s->now + LIMIT_SEND_TICK_MS * 10;
			break;
		}
		if (rc < 0)
			s->failed = 1;
		if (rc <= 0) {
			s->domains_done = 1;
			break;
		}
		snprintf(s->domain_after, sizeof(s->domain_after), "%s",
		    next);
		d = dest_new(s, next);
		free -= load_dest(s, d, LIMIT_SEND_WINDOW < free ?
		    LIMIT_SEND_WINDOW : free);
		dest_release(s, d);	/* nothing due after all */
	}
	for (d = s->dlist; d != NULL; d = d->next)
		more |= !d->exhausted;
	if (s->domains_done && !more)
		s->exhausted = 1;
}

/* ------------------------------------------------------------ reporting */

void
sched_domains(struct sched *s, sched_domain_cb cb, void *arg)
{
	struct sched_domain v;
	struct sched_dest *d;
	struct throttle *t[3];

	for (d = s->dlist; d != NULL; d = d->next) {
		memset(&v, 0, sizeof(v));
		v.domain = d->domain;
		v.why = "";
		v.queued = d->qlen;
		v.inflight = d->inflight;
		v.connections = d->conns;
		v.rate_factor = d->thr.factor;
		v.signals = d->thr.signals;
		(void)dest_throttles(s, d, t);
		if (d->t->state == TARGET_RESOLVING)
			v.state = "resolving";
		else if (d->t->state == TARGET_FAILED) {
			v.state = "failed";
			v.why = d->t->fail.text;
		} else if (throttle_suspended(&d->thr, s->now) || (t[1] != NULL
		    && throttle_suspended(t[1], s->now))) {
			v.state = "suspended";
			v.why = "throttling replies or connection failures";
			v.resume_in_ms = dest_wait(s, d);
		} else if (d->wake_at > s->now) {
			v.state = "throttled";
			v.why = "rate limit";
		} else if (d->starving)
			v.state = "waiting";
		else
			v.state = "active";
		cb(&v, arg);
	}
}

/* ----------------------------------------------------------- the loop */

static void
dns_watch(struct sched *s)
{
	struct dns_fd fds[SCHED_DNS_FDS];
	size_t n = dns_fds(s->dns, fds, SCHED_DNS_FDS), i, k;
	uint32_t want;

	/* Forget fds c-ares no longer uses, then watch the current ones. */
	for (k = 0; k < s->nwdns; k++) {
		for (i = 0; i < n && fds[i].fd != s->wdns[k].fd; i++)
			;
		if (i == n)
			watch_ctl(s->ep_dns, &s->wdns[k], 0, 0);
	}
	for (i = 0; i < n; i++) {
		want = (fds[i].read ? EPOLLIN : 0) |
		    (fds[i].write ? EPOLLOUT : 0);
		for (k = 0; k < s->nwdns && s->wdns[k].fd != fds[i].fd; k++)
			;
		if (k == s->nwdns) {
			for (k = 0; k < s->nwdns && s->wdns[k].events; k++)
				;
			if (k == s->nwdns)
				s->nwdns++;
			s->wdns[k].kind = W_DNS;
			s->wdns[k].fd = fds[i].fd;
			s->wdns[k].events = 0;
		}
		watch_ctl(s->ep_dns, &s->wdns[k], want, 1);
	}
}

/* Pumps the dests whose throttles said wait until now; the next wake. */
static int64_t
dest_wakes(struct sched *s, int64_t next)
{
	struct sched_dest *d, *dn;

	for (d = s->dlist; d != NULL; d = dn) {
		dn = d->next;
		if (d->wake_at == 0)
			continue;
		if (d->wake_at <= s->now) {
			d->wake_at = 0;
			dest_pump(s, d);
			dn = d->next;	/* d survives: it has a queue */
		}
		if (d->wake_at > 0 && d->wake_at < next)
			next = d->wake_at;
	}
	return next;
}

/* Expired deadlines and idle connections; the wait until the next. */
static int
timers(struct sched *s, int64_t next_tick)
{
	struct sched_conn *c;
	int64_t dl, next = next_tick;
	int t;

	for (c = s->conns; c != NULL; c = c->next) {
		if (c->dead)
			continue;
		if (c->idle && (s->now - c->idle_since >= s->idle_ms ||
		    (s->exhausted && s->inflight == 0))) {
			conn_quit(s, c);
			continue;
		}
		dl = c->idle ? c->idle_since + s->idle_ms : conn_deadline(c->c);
		if (dl >= 0 && dl <= s->now) {
			conn_expire(c->c, s->now);
			conn_kick(s, c);
		} else if (dl >= 0 && dl < next)
			next = dl;
	}
	next = dest_wakes(s, next);
	t = dns_timeout_ms(s->dns);
	if (t >= 0 && s->now + t < next)
		next = s->now + t;
	return next > s->now ? (int)(next - s->now) : 0;
}

static void
dns_ready(struct sched *s)
{
	struct epoll_event evs[SCHED_DNS_FDS];
	struct sched_watch *w;
	int n, i;

	n = epoll_wait(s->ep_dns, evs, SCHED_DNS_FDS, 0);
	for (i = 0; i < n; i++) {
		w = evs[i].data.ptr;
		dns_process(s->dns, evs[i].events & (EPOLLIN | EPOLLERR |
		    EPOLLHUP) ? w->fd : -1, evs[i].events & EPOLLOUT ?
		    w->fd : -1);
	}
}

static void
handle(struct sched *s, struct epoll_event *ev)
{
	struct sched_watch *w = ev->data.ptr;
	struct sched_conn *c;

	switch (w->kind) {
	case W_CONN:
		c = w->p;
		if (c->dead)
			return;
		conn_io(c->c, ev->events, s->now);
		conn_kick(s, c);
		break;
	case W_DNS_SET:
		dns_ready(s);
		break;
	case W_WORKERS:
		job_take_rendered(s);
		break;
	}
}

/*
 * A stop ends every job not yet on the wire (dests are freed only by
 * dest_reap(), so the walk may end their jobs). Jobs on workers come back
 * through job_take_rendered() and end in dest_ready(), which sees
 * s->stopping.
 */
static void
stop_queued(struct sched *s)
{
	struct sched_dest *d;

	s->stopping = 1;
	s->stop_at = s->now;
	for (d = s->dlist; d != NULL; d = d->next) {
		d->wake_at = 0;
		dest_drain(s, d, "stopped before sending");
	}
}

/*
 * A second signal, or messages still on the wire LIMIT_SEND_STOP_MS after
 * the first: end every session now. Their deliveries are deferred; one
 * the server had already taken may go twice, the in-flight case DESIGN.md
 * invariant 1 allows.
 */
static void
abort_wire(struct sched *s)
{
	struct sched_conn *c;

	s->aborted = 1;
	for (c = s->conns; c != NULL; c = c->next)
		if (!c->dead) {
			smtp_abort(conn_smtp(c->c), "the send was stopped");
			conn_kick(s, c);
		}
}

static int
loop_once(struct sched *s, int64_t *next_tick)
{
	struct epoll_event evs[SCHED_EVENTS];
	int n, i, wait;

	s->now = clock_mono_ms();
	dest_reap(s);
	if (!s->stopping && (s->failed || (s->sc->stop && *s->sc->stop)))
		stop_queued(s);
	if (s->stopping && !s->aborted && ((s->sc->stop && *s->sc->stop > 1) ||
	    s->now - s->stop_at > LIMIT_SEND_STOP_MS))
		abort_wire(s);
	(void)job_load(s);
	conn_settle(s);
	if (s->now >= *next_tick) {
		if (!s->failed && s->ops->tick(s->ops->ctx, s, s->e) < 0)
			s->failed = 1;
		*next_tick = s->now + LIMIT_SEND_TICK_MS;
	}
	wait = timers(s, *next_tick);
	conn_settle(s);
	dns_watch(s);
	if (s->kick != NULL)
		wait = 0;
	n = epoll_wait(s->ep, evs, SCHED_EVENTS, wait);
	if (n < 0 && errno != EINTR)
		return err_set(s->e, EX_OSERR, "epoll_wait: %s",
		    strerror(errno));
	s->now = clock_mono_ms();
	for (i = 0; i < n; i++)
		handle(s, &evs[i]);
	if (dns_timeout_ms(s->dns) == 0)
		dns_process_timeout(s->dns);
	conn_settle(s);
	return 0;
}

static void
render_job(void *arg, int worker, struct workers_job *w)
{
	const struct sched *s = arg;

	s->ops->render(s->ops->ctx, worker, (struct sched_job *)w);
}

static int
sched_setup(struct sched *s, struct err *e)
{
	const struct config *cfg = s->sc->cfg;
	struct dns_config dc;
	int i;

	if (policies_make(s, e) < 0)
		return -1;
	s->now = clock_mono_ms();
	throttle_init(&s->global, &cfg->shape_global, s->now);
	s->provs = xcalloc(cfg->nproviders + 1, sizeof(*s->provs));
	s->prov_left = xcalloc(cfg->nproviders + 1, sizeof(*s->prov_left));
	for (i = 0; i < (int)cfg->nproviders; i++)
		s->prov_left[i] = s->sc->provider_left != NULL ?
		    s->sc->provider_left[i] : -1;
	for (i = 0; i < (int)cfg->nproviders; i++)
		throttle_init(&s->provs[i], &cfg->providers[i].s, s->now);
	memset(&dc, 0, sizeof(dc));
	dc.servers = cfg->dns_servers;
	dc.smtp_port = (unsigned short)s->pols[0].port;
	if (dns_new(&dc, &s->dns, e) < 0)
		return -1;
	if ((s->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (s->ep_dns = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return err_set(e, EX_OSERR, "epoll_create1: %s",
		    strerror(errno));
	s->wdnsset.kind = W_DNS_SET;
	s->wdnsset.fd = s->ep_dns;
	watch_set(s, &s->wdnsset, EPOLLIN);
	s->njobs = s->sc->inflight > 0 ? s->sc->inflight : LIMIT_SEND_INFLIGHT;
	if (s->njobs > LIMIT_SEND_INFLIGHT)
		s->njobs = LIMIT_SEND_INFLIGHT;
	s->jobs = xcalloc((size_t)s->njobs, sizeof(*s->jobs));
	for (i = s->njobs - 1; i >= 0; i--) {
		buf_init(&s->jobs[i].attrs, LIMIT_ATTRS);
		buf_init(&s->jobs[i].msg, LIMIT_MESSAGE +
		    LIMIT_DKIM_SIGNATURES);
		s->jobs[i].next = s->free;
		s->free = &s->jobs[i];
	}
	if (workers_start(s->sc->workers, render_job, s, &s->workers, e) < 0)
		return -1;
	s->wworkers.kind = W_WORKERS;
	s->wworkers.fd = workers_fd(s->workers);
	watch_set(s, &s->wworkers, EPOLLIN);
	return 0;
}

/* The end: QUIT what is open, and wait for it a little. */
static void
sched_drain(struct sched *s)
{
	struct sched_conn *c;
	int64_t until = clock_mono_ms() + LIMIT_SEND_QUIT_MS, dummy;

	while (s->conns != NULL && clock_mono_ms() < until) {
		for (c = s->conns; c != NULL; c = c->next)
			if (c->idle)
				conn_quit(s, c);
		dummy = clock_mono_ms() + LIMIT_SEND_TICK_MS;
		if (loop_once(s, &dummy) < 0)
			break;
	}
	while ((c = s->conns) != NULL) {
		smtp_abort(conn_smtp(c->c), "the run is over");
		conn_service(s, c);
		conn_settle(s);
		if (s->conns == c)	/* closed before: just free it */
			conn_unlink_free(s, c);
	}
}

static void
sched_teardown(struct sched *s)
{
	struct sched_target *t, *tn;
	int b, i;

	workers_stop(s->workers);
	dns_free(s->dns);	/* its callbacks still see the targets */
	while (s->dlist != NULL)
		dest_free(s, s->dlist);
	for (b = 0; b < SCHED_BUCKETS; b++)
		for (t = s->targets[b]; t != NULL; t = tn) {
			tn = t->hnext;
			target_free(s, t);
		}
	free(s->provs);
	free(s->prov_left);
	for (i = 0; s->jobs != NULL && i < s->njobs; i++) {
		buf_free(&s->jobs[i].attrs);
		buf_free(&s->jobs[i].msg);
	}
	free(s->jobs);
	free(s->pols);
	tls_ctx_free(s->tls_verify);
	tls_ctx_free(s->tls_opportunistic);
	if (s->ep >= 0)
		close(s->ep);
	if (s->ep_dns >= 0)
		close(s->ep_dns);
}

int
sched_run(const struct sched_config *sc, const struct sched_ops *ops,
    struct sched_stats *stats, struct err *e)
{
	struct sched s;
	int64_t next_tick;
	int rc = 0;

	memset(&s, 0, sizeof(s));
	memset(stats, 0, sizeof(*stats));
	s.sc = sc;
	s.ops = ops;
	s.stats = stats;
	s.e = e;
	s.ep = s.ep_dns = -1;
	s.connect_ms = sc->cfg->timeouts.connect > 0 ?
	    sc->cfg->timeouts.connect * 1000 : LIMIT_SEND_CONNECT_MS;
	s.idle_ms = sc->cfg->timeouts.idle > 0 ?
	    sc->cfg->timeouts.idle * 1000 : LIMIT_SEND_IDLE_MS;
	if (sched_setup(&s, e) < 0) {
		rc = -1;
		goto out;
	}
	next_tick = clock_mono_ms() + LIMIT_SEND_TICK_MS;
	while (!(s.exhausted || s.stopping) || s.inflight > 0) {
		if (loop_once(&s, &next_tick) < 0) {
			rc = -1;
			break;
		}
	}
	sched_drain(&s);
	if (rc == 0 && !s.failed && ops->tick(ops->ctx, &s, e) < 0)
		rc = -1;
	if (s.failed)
		rc = -1;
out:
	if (s.workers != NULL)
		(void)workers_done(s.workers);
	sched_teardown(&s);
	return rc;
}
