/*
 * scheduler.c - the send loop; see scheduler.h.
 *
 * Three kinds of object, all owned by the loop thread, so none is locked:
 *   dest  where a recipient domain's mail goes: the MX hosts of one
 *         domain, or one route or the relay (shared by every domain
 *         routed there, so the relay is resolved once, not per domain);
 *   hop   one address and port with one session policy: the pool key.
 *         Jobs wait on their hop's queue for a connection;
 *   conn  one SMTP session to a hop (conn.h).
 * A job goes: loaded -> rendered on a worker -> its dest's wait list
 * while the dest resolves -> the queue of the dest's current hop -> a
 * connection -> ops->outcome() -> the free list.
 *
 * Connections to a hop open by slow start, as Postfix's queue manager
 * does: one while none works, then at most as many opening as are
 * working, so a dead host costs one connect, a live one reaches its cap
 * in a few round trips, and a cap the server enforces (a 421 greeting
 * while others work) lowers ours instead of failing the hop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "dns.h"
#include "scheduler.h"
#include "smtp.h"
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
};

struct sched_conn;

struct sched_hop {
	struct sched_hop *hnext;
	char key[LIMIT_ADDR_DOMAIN + 96];
	const struct sched_policy *pol;
	char name[LIMIT_ADDR_DOMAIN + 1];	/* SNI, log lines */
	char ip[INET6_ADDRSTRLEN];
	struct sockaddr_storage sa;
	socklen_t salen;
	int refs;		/* dests naming it, connections to it */
	int nconns;		/* open: connecting or working */
	int nlive;		/* reached SMTP_EV_READY */
	int cap;
	int dead;
	struct sched_fail fail;
	struct sched_job *qhead, *qtail;
	int qlen;
	struct sched_conn *idle;
	int starving;		/* on the loop's starving list */
	struct sched_hop *snext;
};

enum dest_state { DEST_RESOLVING, DEST_READY, DEST_FAILED };

struct sched_dest {
	struct sched_dest *hnext;
	struct sched *s;
	char key[LIMIT_ADDR_DOMAIN + 16];
	const struct sched_policy *pol;
	int persistent;		/* a route or the relay: kept all run */
	enum dest_state state;
	struct sched_hop *hops[LIMIT_SEND_HOPS];
	int nhops;
	int cur;
	struct sched_job *whead, *wtail;	/* waiting for DNS */
	int refs;		/* jobs, and the resolution in flight */
	int perm_only;		/* every hop so far failed permanently */
	struct sched_fail fail;
};

struct sched_conn {
	struct sched_watch w;
	struct conn *c;
	struct sched_hop *hop;
	struct sched_job *job;
	struct smtp_event rcpt;
	int have_rcpt;
	int live;
	int idle;
	int quitting;
	int dead;
	int nmsgs;
	int64_t idle_since;
	char tls[128];
	struct smtp_body body;
	struct smtp_mem mem;
	struct sched_conn *next, *prev;		/* every connection */
	struct sched_conn *inext, *iprev;	/* the hop's idle list */
	struct sched_conn *knext;		/* kick or reap list */
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
	struct sched_job *jobs;
	struct sched_job *free;
	int njobs, inflight;
	int exhausted;
	int stopping;
	int64_t stop_at;	/* when stopping began */
	int aborted;		/* the wire given up too */
	struct sched_dest *dests[SCHED_BUCKETS];
	struct sched_hop *hops[SCHED_BUCKETS];
	struct sched_hop *starving;
	struct sched_conn *conns;
	struct sched_conn *kick, *reap;
	int nconns;
	int conns_max, hop_conns, conn_msgs, idle_ms, connect_ms;
	int64_t now;
};

static void dest_enqueue(struct sched *s, struct sched_job *j);
static void hop_dispatch(struct sched *s, struct sched_hop *h);

/* --------------------------------------------------------------- helpers */

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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
	    "failed", "unsent" };

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

static void dest_release(struct sched *s, struct sched_dest *d);

static void
job_end(struct sched *s, struct sched_job *j, enum sched_status st,
    int code, const char *dsn, const char *text, const char *relay,
    const char *tls)
{
	struct sched_outcome o;

	o.status = st;
	o.code = code;
	o.dsn = dsn != NULL ? dsn : "";
	o.text = text;
	o.relay = relay != NULL ? relay : "none";
	o.tls = tls != NULL ? tls : "none";
	o.delay_ms = s->now - j->t0;
	s->stats->outcomes[st]++;
	if (!s->failed && s->ops->outcome(s->ops->ctx, j, &o, s->e) < 0)
		s->failed = 1;
	if (j->dest != NULL)
		dest_release(s, j->dest);
	j->dest = NULL;
	j->next = s->free;
	s->free = j;
	s->inflight--;
}

static void
job_fail(struct sched *s, struct sched_job *j, const struct sched_fail *f)
{
	job_end(s, j, f->status, f->code, f->dsn, f->text, NULL, NULL);
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
	snprintf(key, sizeof(key), "%d|%s|%d|%s", (int)(pol - s->pols), ip,
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
	h->cap = s->hop_conns;
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
	for (pp = &s->starving; *pp != NULL; pp = &(*pp)->snext)
		if (*pp == h) {
			*pp = h->snext;
			break;
		}
	for (pp = &s->hops[hash(h->key)]; *pp != h; pp = &(*pp)->hnext)
		;
	*pp = h->hnext;
	free(h);
}

static void
hop_push(struct sched_hop *h, struct sched_job *j)
{
	j->next = NULL;
	if (h->qtail != NULL)
		h->qtail->next = j;
	else
		h->qhead = j;
	h->qtail = j;
	h->qlen++;
}

static void
hop_push_front(struct sched_hop *h, struct sched_job *j)
{
	j->next = h->qhead;
	h->qhead = j;
	if (h->qtail == NULL)
		h->qtail = j;
	h->qlen++;
}

static struct sched_job *
hop_pop(struct sched_hop *h)
{
	struct sched_job *j = h->qhead;

	if (j == NULL)
		return NULL;
	h->qhead = j->next;
	if (h->qhead == NULL)
		h->qtail = NULL;
	h->qlen--;
	return j;
}

/* The hop cannot be reached: its queue goes to each dest's next hop. */
static void
hop_kill(struct sched *s, struct sched_hop *h, const struct smtp_event *ev)
{
	struct sched_job *list = h->qhead, *j;
	char text[LIMIT_SMTP_TEXT];

	h->dead = 1;
	textf(text, sizeof(text), "%s: %s", h->name, ev->text);
	fail_set(&h->fail, ev->status == SMTP_PERM ? SCHED_BOUNCED :
	    SCHED_DEFERRED, ev->code, ev->dsn, text);
	h->qhead = h->qtail = NULL;
	h->qlen = 0;
	h->refs++;		/* the requeue may release the last dest */
	while ((j = list) != NULL) {
		list = j->next;
		dest_enqueue(s, j);
	}
	hop_release(s, h);
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
conn_quit(struct sched *s, struct sched_conn *c)
{
	struct err e = { 0 };

	conn_idle_remove(c);
	c->quitting = 1;
	if (smtp_quit(conn_smtp(c->c), &e) < 0)
		smtp_abort(conn_smtp(c->c), e.msg);
	c->knext = s->kick;
	s->kick = c;
}

/* Frees a slot for a starving hop by closing an idle connection. */
static int
conn_close_idle_elsewhere(struct sched *s, const struct sched_hop *h)
{
	struct sched_conn *c;

	for (c = s->conns; c != NULL; c = c->next)
		if (c->idle && c->hop != h) {
			conn_quit(s, c);
			return 1;
		}
	return 0;
}

static void
conn_open_hop(struct sched *s, struct sched_hop *h)
{
	struct conn_params p;
	struct sched_conn *c;
	struct err e = { 0 };
	struct smtp_event ev;
	const char *src = s->sc->cfg->source_address;
	struct sockaddr_storage ss;
	socklen_t sslen = 0;

	memset(&p, 0, sizeof(p));
	p.addr = (const struct sockaddr *)&h->sa;
	p.addrlen = h->salen;
	if (src != NULL) {
		memset(&ss, 0, sizeof(ss));
		if (inet_pton(AF_INET, src, &((struct sockaddr_in *)&ss)->
		    sin_addr) == 1) {
			ss.ss_family = AF_INET;
			sslen = sizeof(struct sockaddr_in);
		} else if (inet_pton(AF_INET6, src, &((struct sockaddr_in6 *)
		    &ss)->sin6_addr) == 1) {
			ss.ss_family = AF_INET6;
			sslen = sizeof(struct sockaddr_in6);
		}
		if (sslen > 0 && ss.ss_family == h->sa.ss_family) {
			p.source = (const struct sockaddr *)&ss;
			p.sourcelen = sslen;
		}
	}
	p.tls_name = h->name;
	p.tls = h->pol->tls;
	p.smtp = &h->pol->smtp;
	p.connect_ms = s->connect_ms;
	c = xcalloc(1, sizeof(*c));
	if (conn_open(&p, s->now, &c->c, &e) < 0) {
		free(c);
		memset(&ev, 0, sizeof(ev));
		ev.status = SMTP_TEMP;
		textf(ev.text, sizeof(ev.text), "%s", e.msg);
		s->stats->conn_failures++;
		if (h->nconns == 0)
			hop_kill(s, h, &ev);
		return;
	}
	c->w.kind = W_CONN;
	c->w.p = c;
	c->w.fd = conn_fd(c->c);
	c->hop = h;
	h->refs++;
	h->nconns++;
	s->nconns++;
	s->stats->connections++;
	c->next = s->conns;
	if (s->conns != NULL)
		s->conns->prev = c;
	s->conns = c;
	/* Serviced from the loop, never from inside the caller. */
	c->knext = s->kick;
	s->kick = c;
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
	c->knext = s->kick;
	s->kick = c;
}

static void
conn_relay(const struct sched_conn *c, char *dst, size_t n)
{
	textf(dst, n, "%s[%s]:%d", c->hop->name, c->hop->ip,
	    c->hop->pol->port);
}

static void
on_ready(struct sched *s, struct sched_conn *c)
{
	struct sched_hop *h = c->hop;
	struct sched_job *j;

	if (!c->live) {
		c->live = 1;
		h->nlive++;
		conn_tls_desc(c->c, c->tls, sizeof(c->tls));
	}
	if (c->nmsgs >= s->conn_msgs || s->stopping || h->dead) {
		conn_quit(s, c);
		return;
	}
	if ((j = hop_pop(h)) != NULL) {
		conn_start(s, c, j);
		hop_dispatch(s, h);	/* one more working: slow start grows */
		return;
	}
	c->idle = 1;
	c->idle_since = s->now;
	c->iprev = NULL;
	c->inext = h->idle;
	if (h->idle != NULL)
		h->idle->iprev = c;
	h->idle = c;
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
	char relay[LIMIT_ADDR_DOMAIN + INET6_ADDRSTRLEN + 16];

	if (j == NULL)
		return;
	c->job = NULL;
	if (untransmitted(c, r) && !j->requeued) {
		j->requeued = 1;
		hop_push_front(c->hop, j);
		hop_dispatch(s, c->hop);
		return;
	}
	c->nmsgs++;
	conn_relay(c, relay, sizeof(relay));
	job_end(s, j, status_of(r->status), r->code, r->dsn, r->text, relay,
	    c->tls[0] ? c->tls : NULL);
}

static void
starving_dispatch(struct sched *s)
{
	struct sched_hop *list = s->starving, *h;

	s->starving = NULL;
	while ((h = list) != NULL) {
		list = h->snext;
		h->starving = 0;
		hop_dispatch(s, h);
	}
}

static void
on_closed(struct sched *s, struct sched_conn *c, const struct smtp_event *ev)
{
	struct sched_hop *h = c->hop;

	conn_idle_remove(c);
	h->nconns--;
	s->nconns--;
	if (c->job != NULL)	/* smtp.h promises it cannot happen */
		on_message(s, c, ev);
	if (c->live)
		h->nlive--;
	else if (!c->quitting) {
		s->stats->conn_failures++;
		if (h->nlive > 0)
			h->cap = h->nlive;
		else if (h->nconns == 0 && !h->dead)
			hop_kill(s, h, ev);
	}
	c->dead = 1;
	c->knext = s->reap;
	s->reap = c;
	if (!h->dead)
		hop_dispatch(s, h);
	starving_dispatch(s);
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
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	conn_free(c->c);	/* closing the fd leaves the epoll set */
	hop_release(s, c->hop);
	free(c);
}

/* Services what was kicked, then frees what closed: STYLE.md rule 8. */
static void
conn_settle(struct sched *s)
{
	struct sched_conn *c;

	while ((c = s->kick) != NULL) {
		s->kick = c->knext;
		c->knext = NULL;
		if (!c->dead)
			conn_service(s, c);
	}
	while ((c = s->reap) != NULL) {
		s->reap = c->knext;
		conn_unlink_free(s, c);
	}
}

/* ----------------------------------------------------- dispatch to hops */

static void
hop_dispatch(struct sched *s, struct sched_hop *h)
{
	struct sched_conn *c;
	int opening;

	while (h->qhead != NULL && (c = h->idle) != NULL) {
		conn_idle_remove(c);
		conn_start(s, c, hop_pop(h));
	}
	while (h->qhead != NULL && !h->dead) {
		opening = h->nconns - h->nlive;
		if (h->qlen <= opening || h->nconns >= h->cap ||
		    opening >= (h->nlive > 0 ? h->nlive : 1))
			return;
		if (s->nconns >= s->conns_max) {
			(void)conn_close_idle_elsewhere(s, h);
			if (!h->starving) {
				h->starving = 1;
				h->snext = s->starving;
				s->starving = h;
			}
			return;
		}
		conn_open_hop(s, h);
	}
}

/* ----------------------------------------------------------------- dests */

static void
dest_free(struct sched *s, struct sched_dest *d)
{
	struct sched_dest **pp;
	int i;

	for (pp = &s->dests[hash(d->key)]; *pp != d; pp = &(*pp)->hnext)
		;
	*pp = d->hnext;
	for (i = 0; i < d->nhops; i++)
		hop_release(s, d->hops[i]);
	free(d);
}

static void
dest_release(struct sched *s, struct sched_dest *d)
{
	if (--d->refs == 0 && !d->persistent)
		dest_free(s, d);
}

static void
dest_add_hop(struct sched *s, struct sched_dest *d, const char *name,
    const struct dns_addr *a)
{
	struct sched_hop *h;
	int i;

	if (d->nhops == LIMIT_SEND_HOPS)
		return;
	h = hop_get(s, d->pol, name, a);
	for (i = 0; i < d->nhops; i++)
		if (d->hops[i] == h)
			return;
	h->refs++;
	d->hops[d->nhops++] = h;
}

/* The jobs that waited for DNS go on now; the dest is held meanwhile. */
static void
dest_settle(struct sched *s, struct sched_dest *d)
{
	struct sched_job *list = d->whead, *j;

	d->whead = d->wtail = NULL;
	while ((j = list) != NULL) {
		list = j->next;
		dest_enqueue(s, j);
	}
	dest_release(s, d);	/* the resolution's reference */
}

/* RFC 3463: 5.1.10 null MX (RFC 7505), 5.1.2 bad domain, 5.4.4 no route. */
static const char *
dest_dns_dsn(const struct dns_result *r)
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
dest_resolved(void *ctx, const struct dns_result *r)
{
	struct sched_dest *d = ctx;
	struct sched *s = d->s;
	size_t i, k;

	if (r->status != DNS_OK) {
		d->state = DEST_FAILED;
		fail_set(&d->fail, r->status == DNS_PERM ? SCHED_BOUNCED :
		    SCHED_DEFERRED, 0, dest_dns_dsn(r), r->reason);
	} else {
		for (i = 0; i < r->nhosts; i++)
			for (k = 0; k < r->hosts[i].naddrs; k++)
				dest_add_hop(s, d, d->pol->host != NULL ?
				    d->pol->host : r->hosts[i].name,
				    &r->hosts[i].addrs[k]);
		d->state = DEST_READY;
	}
	dest_settle(s, d);
}

static int
dest_literal(struct sched *s, struct sched_dest *d)
{
	struct dns_addr a;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&a.sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a.sa;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, d->pol->host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		a.len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, d->pol->host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		a.len = sizeof(*s6);
	} else
		return 0;
	dest_add_hop(s, d, d->pol->host, &a);
	d->state = DEST_READY;
	return 1;
}

static void
dest_resolve(struct sched *s, struct sched_dest *d, const char *domain)
{
	struct err e = { 0 };
	int rc;

	if (d->pol->host != NULL && dest_literal(s, d))
		return;
	d->refs++;		/* until dest_resolved() */
	s->stats->dns_lookups++;
	if (d->pol->host != NULL)
		rc = dns_resolve_host(s->dns, d->pol->host, dest_resolved, d,
		    &e);
	else
		rc = dns_resolve_mx(s->dns, domain, dest_resolved, d, &e);
	if (rc == 0)
		return;
	d->refs--;
	d->state = DEST_FAILED;
	fail_set(&d->fail, e.code == EX_DATAERR ? SCHED_BOUNCED :
	    SCHED_DEFERRED, 0, e.code == EX_DATAERR ? "5.1.2" : "4.4.3",
	    e.msg);
}

static struct sched_dest *
dest_get(struct sched *s, const char *domain)
{
	const struct config *cfg = s->sc->cfg;
	const struct config_route *rt = config_route(cfg, domain);
	char key[sizeof(((struct sched_dest *)0)->key)];
	const struct sched_policy *pol;
	struct sched_dest *d;
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
	for (d = s->dests[b]; d != NULL; d = d->hnext)
		if (strcmp(d->key, key) == 0)
			return d;
	d = xcalloc(1, sizeof(*d));
	d->s = s;
	memcpy(d->key, key, sizeof(key));
	d->pol = pol;
	d->persistent = pol->host != NULL;
	d->perm_only = 1;
	d->hnext = s->dests[b];
	s->dests[b] = d;
	dest_resolve(s, d, domain);
	return d;
}

/* The dest's first hop still alive; none: the dest has failed. */
static struct sched_hop *
dest_hop(struct sched_dest *d)
{
	struct sched_hop *h;

	for (; d->cur < d->nhops; d->cur++) {
		h = d->hops[d->cur];
		if (!h->dead)
			return h;
		if (h->fail.status != SCHED_BOUNCED)
			d->perm_only = 0;
		d->fail = h->fail;
	}
	if (d->state == DEST_READY) {
		d->state = DEST_FAILED;
		if (d->nhops > 0 && !d->perm_only)
			d->fail.status = SCHED_DEFERRED;
	}
	return NULL;
}

static void
dest_enqueue(struct sched *s, struct sched_job *j)
{
	struct sched_dest *d = j->dest;
	struct sched_hop *h;

	if (s->stopping) {
		job_end(s, j, SCHED_UNSENT, 0, "", "stopped before sending",
		    NULL, NULL);
		return;
	}
	switch (d->state) {
	case DEST_RESOLVING:
		j->next = NULL;
		if (d->wtail != NULL)
			d->wtail->next = j;
		else
			d->whead = j;
		d->wtail = j;
		return;
	case DEST_READY:
		if ((h = dest_hop(d)) != NULL) {
			hop_push(h, j);
			hop_dispatch(s, h);
			return;
		}
		break;
	case DEST_FAILED:
		break;
	}
	job_fail(s, j, &d->fail);
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
			dest_enqueue(s, j);
	}
}

static int
job_load(struct sched *s)
{
	struct sched_job *batch[LIMIT_SEND_INFLIGHT];
	int n = 0, got, i;

	if (s->exhausted || s->stopping ||
	    (s->njobs - s->inflight < LIMIT_SEND_LOAD_MIN && s->inflight > 0))
		return 0;
	while (s->free != NULL && n < LIMIT_SEND_INFLIGHT) {
		batch[n++] = s->free;
		s->free = s->free->next;
	}
	got = s->ops->load(s->ops->ctx, batch, n, s->e);
	if (got < 0)
		got = 0, s->failed = 1;
	if (got == 0)
		s->exhausted = 1;
	for (i = n - 1; i >= got; i--) {
		batch[i]->next = s->free;
		s->free = batch[i];
	}
	for (i = 0; i < got; i++) {
		batch[i]->t0 = s->now;
		batch[i]->render_rc = 0;
		batch[i]->requeued = 0;
		batch[i]->dest = dest_get(s, batch[i]->domain);
		batch[i]->dest->refs++;
		s->inflight++;
		s->stats->loaded++;
		workers_submit(s->workers, &batch[i]->node);
	}
	return got;
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
			c->knext = s->kick;
			s->kick = c;
		} else if (dl >= 0 && dl < next)
			next = dl;
	}
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
		c->knext = s->kick;
		s->kick = c;
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
 * A stop ends every job not yet on the wire. They are gathered first:
 * ending one may free its dest and hops, which the walk is inside. Jobs
 * on workers come back through job_take_rendered() and end in
 * dest_enqueue(), which sees s->stopping.
 */
static void
stop_queued(struct sched *s)
{
	struct sched_job *list = NULL, *j;
	struct sched_hop *h;
	struct sched_dest *d;
	int b;

	s->stopping = 1;
	s->stop_at = s->now;
	for (b = 0; b < SCHED_BUCKETS; b++) {
		for (h = s->hops[b]; h != NULL; h = h->hnext)
			while ((j = hop_pop(h)) != NULL) {
				j->next = list;
				list = j;
			}
		for (d = s->dests[b]; d != NULL; d = d->hnext)
			while ((j = d->whead) != NULL) {
				d->whead = j->next;
				j->next = list;
				list = j;
			}
		for (d = s->dests[b]; d != NULL; d = d->hnext)
			d->wtail = NULL;
	}
	while ((j = list) != NULL) {
		list = j->next;
		dest_enqueue(s, j);
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
			c->knext = s->kick;
			s->kick = c;
		}
}

static int
loop_once(struct sched *s, int64_t *next_tick)
{
	struct epoll_event evs[SCHED_EVENTS];
	int n, i, wait;

	s->now = mono_ms();
	if (!s->stopping && (s->failed || (s->sc->stop && *s->sc->stop)))
		stop_queued(s);
	if (s->stopping && !s->aborted && ((s->sc->stop && *s->sc->stop > 1) ||
	    s->now - s->stop_at > LIMIT_SEND_STOP_MS))
		abort_wire(s);
	(void)job_load(s);
	conn_settle(s);
	if (s->now >= *next_tick) {
		if (!s->failed && s->ops->tick(s->ops->ctx, s->e) < 0)
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
	s->now = mono_ms();
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
	int64_t until = mono_ms() + LIMIT_SEND_QUIT_MS, dummy;

	while (s->conns != NULL && mono_ms() < until) {
		for (c = s->conns; c != NULL; c = c->next)
			if (c->idle)
				conn_quit(s, c);
		dummy = mono_ms() + LIMIT_SEND_TICK_MS;
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
	struct sched_dest *d, *dn;
	int b, i;

	workers_stop(s->workers);
	dns_free(s->dns);	/* its callbacks still see the dests */
	for (b = 0; b < SCHED_BUCKETS; b++)
		for (d = s->dests[b]; d != NULL; d = dn) {
			dn = d->hnext;
			dest_free(s, d);
		}
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
	s.conns_max = sc->conns > 0 ? sc->conns : LIMIT_SEND_CONNS;
	s.hop_conns = sc->hop_conns > 0 ? sc->hop_conns : LIMIT_SEND_HOP_CONNS;
	s.conn_msgs = sc->conn_msgs > 0 ? sc->conn_msgs : LIMIT_SEND_CONN_MSGS;
	s.connect_ms = sc->cfg->timeouts.connect > 0 ?
	    sc->cfg->timeouts.connect * 1000 : LIMIT_SEND_CONNECT_MS;
	s.idle_ms = sc->cfg->timeouts.idle > 0 ?
	    sc->cfg->timeouts.idle * 1000 : LIMIT_SEND_IDLE_MS;
	if (sched_setup(&s, e) < 0) {
		rc = -1;
		goto out;
	}
	next_tick = mono_ms() + LIMIT_SEND_TICK_MS;
	while (!(s.exhausted || s.stopping) || s.inflight > 0) {
		if (loop_once(&s, &next_tick) < 0) {
			rc = -1;
			break;
		}
	}
	sched_drain(&s);
	if (rc == 0 && !s.failed && ops->tick(ops->ctx, e) < 0)
		rc = -1;
	if (s.failed)
		rc = -1;
out:
	if (s.workers != NULL)
		(void)workers_done(s.workers);
	sched_teardown(&s);
	return rc;
}
