/*
 * dns.c - next hops for a domain with c-ares; see dns.h.
 *
 * A resolution is one struct dns_query: an MX look-up, then an A and an
 * AAAA look-up per kept host, counted in q->lookups. When the count falls
 * to zero the result is built and the callback runs. ares_query() may call
 * back before it returns (out of memory, no servers); a result decided
 * inside dns_resolve_mx() therefore waits on the ready list until the
 * next dns_process*() call, and dns_timeout_ms() says 0 meanwhile.
 *
 * dns_lookup() (one record set, for doctor) rides on the same query
 * record and ready list: one look-up, parsed into rrs, no host stage.
 */
#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "dns.h"
#include "xalloc.h"

enum { FAM4, FAM6 };

struct dns_query;

/* The argument of one A or AAAA look-up. */
struct dns_lookup {
	struct dns_query *q;
	size_t host;
	int fam;
};

/* Addresses of one host, per family, until the result is built. */
struct dns_hstate {
	size_t n[2];
	struct dns_addr a[2][LIMIT_DNS_ADDRS];
	int temp;		/* a look-up failed temporarily */
};

struct dns_query {
	struct dns *d;
	dns_cb cb;
	void *ctx;
	struct dns_query *next;	/* on the ready list */
	int lookups;		/* outstanding, plus a guard while starting */
	int decided;		/* res.status and reason set by the MX stage */
	int host_only;		/* dns_resolve_host(): no MX stage */
	dns_rr_cb rr_cb;	/* dns_lookup(): one record set, no hosts */
	struct dns_rrset rrs;
	char domain[LIMIT_ADDR_DOMAIN + 1];
	char temp_why[LIMIT_DNS_REASON];	/* first temporary host failure */
	struct dns_lookup lk[LIMIT_DNS_HOSTS][2];
	struct dns_hstate hs[LIMIT_DNS_HOSTS];
	struct dns_result res;
};

struct dns {
	ares_channel ch;
	size_t pending;
	int in_resolve;		/* inside dns_resolve_mx(): defer callbacks */
	struct dns_query *ready, *ready_tail;
	const char *closing;	/* why every query now ends DNS_TEMP */
	uint64_t rng;
	unsigned short port;
};

/* ------------------------------------------------------------ pure parts */

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t x = *s != 0 ? *s : 0x9e3779b97f4a7c15ULL;

	/* xorshift64: a load-spreading shuffle needs no cryptography. */
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static int
mx_root(const char *host)
{
	return host[0] == '\0' || strcmp(host, ".") == 0;
}

int
dns_mx_null(const struct dns_mx *mx, size_t n)
{
	return n == 1 && mx[0].pref == 0 && mx_root(mx[0].host);
}

static int
mx_cmp(const void *a, const void *b)
{
	const struct dns_mx *x = a, *y = b;

	return (x->pref > y->pref) - (x->pref < y->pref);
}

/* RFC 5321 5.1: equal preferences in random order, to spread the load. */
static void
mx_shuffle_runs(struct dns_mx *mx, size_t n, uint64_t *rng)
{
	size_t s, e, i, j;
	struct dns_mx t;

	for (s = 0; s < n; s = e) {
		for (e = s + 1; e < n && mx[e].pref == mx[s].pref; e++)
			;
		for (i = e - s - 1; i > 0; i--) {
			j = (size_t)(rng_next(rng) % (i + 1));
			t = mx[s + i];
			mx[s + i] = mx[s + j];
			mx[s + j] = t;
		}
	}
}

static int
mx_keep(const struct dns_mx *kept, size_t k, const char *host)
{
	size_t i;

	if (mx_root(host) || strlen(host) > LIMIT_ADDR_DOMAIN)
		return 0;
	for (i = 0; i < k; i++)
		if (strcasecmp(kept[i].host, host) == 0)
			return 0;
	return 1;
}

size_t
dns_mx_order(struct dns_mx *mx, size_t n, size_t cap, uint64_t *rng)
{
	size_t i, k = 0;

	qsort(mx, n, sizeof(*mx), mx_cmp);
	mx_shuffle_runs(mx, n, rng);
	for (i = 0; i < n && k < cap; i++)
		if (mx_keep(mx, k, mx[i].host))
			mx[k++] = mx[i];
	return k;
}

/*
 * An A-label: letters, digits, '-', non-empty labels of at most 63;
 * with underscore, '_' too (_dmarc, _domainkey and SPF's names are not
 * host names).
 */
static int
valid_name(const char *s, int underscore)
{
	size_t i, label = 0, len = strlen(s);

	if (len == 0 || len > LIMIT_ADDR_DOMAIN)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if ((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    (underscore && s[i] == '_')) {
			if (++label > LIMIT_DOMAIN_LABEL)
				return 0;
		} else
			return 0;
	}
	return label > 0;
}

static int
valid_alabel(const char *s)
{
	return valid_name(s, 0);
}

/* ------------------------------------------------------ finishing a query */

static void
deliver(struct dns_query *q)
{
	size_t i;

	q->d->pending--;
	if (q->rr_cb == NULL) {
		q->cb(q->ctx, &q->res);
		free(q);
		return;
	}
	q->rr_cb(q->ctx, &q->rrs);
	for (i = 0; i < q->rrs.n; i++)
		free(q->rrs.rr[i]);
	free(q);
}

static void
flush_ready(struct dns *d)
{
	struct dns_query *q;

	while ((q = d->ready) != NULL) {
		d->ready = q->next;
		if (d->ready == NULL)
			d->ready_tail = NULL;
		deliver(q);
	}
}

/* The reason is cut at LIMIT_DNS_REASON; it always starts with the domain. */
static void __attribute__((format(printf, 3, 4)))
decide(struct dns_query *q, enum dns_status st, const char *fmt, ...)
{
	va_list ap;

	q->decided = 1;
	q->res.status = st;
	q->res.nhosts = 0;
	va_start(ap, fmt);
	vsnprintf(q->res.reason, sizeof(q->res.reason), fmt, ap);
	va_end(ap);
}

/* Moves the hosts that have addresses to the front, IPv4 first. */
static size_t
compact_hosts(struct dns_query *q)
{
	size_t i, k = 0, f, j;
	struct dns_host *h;

	for (i = 0; i < q->res.nhosts; i++) {
		if (q->hs[i].n[FAM4] + q->hs[i].n[FAM6] == 0)
			continue;
		h = &q->res.hosts[k];
		if (k != i)
			*h = q->res.hosts[i];
		h->naddrs = 0;
		for (f = FAM4; f <= FAM6; f++)
			for (j = 0; j < q->hs[i].n[f]; j++)
				h->addrs[h->naddrs++] = q->hs[i].a[f][j];
		k++;
	}
	return k;
}

static void
build_result(struct dns_query *q)
{
	size_t i;
	int temp = 0;

	for (i = 0; i < q->res.nhosts; i++)
		temp |= q->hs[i].temp;
	q->res.nhosts = compact_hosts(q);
	if (q->res.nhosts > 0)
		return;
	if (temp)
		decide(q, DNS_TEMP, "%s: %s: %s", q->domain, q->host_only ?
		    "address look-up failed" : q->res.implicit ?
		    "no MX, and the address look-up failed" :
		    "no address for any MX host yet", q->temp_why);
	else
		decide(q, DNS_PERM, "%s: %s", q->domain, q->host_only ?
		    "no A/AAAA record" : q->res.implicit ?
		    "no MX and no A/AAAA record" :
		    "no MX host has an address");
}

static void
lookup_done(struct dns_query *q)
{
	struct dns *d = q->d;

	if (--q->lookups > 0)
		return;
	if (q->rr_cb != NULL)
		;	/* on_rr() decided */
	else if (!q->decided && d->closing != NULL)
		decide(q, DNS_TEMP, "%s: %s", q->domain, d->closing);
	else if (!q->decided)
		build_result(q);
	if (!d->in_resolve) {
		deliver(q);
		return;
	}
	if (d->ready_tail != NULL)
		d->ready_tail->next = q;
	else
		d->ready = q;
	d->ready_tail = q;
}

/* ------------------------------------------------------ address look-ups */

static void
put_addr(struct dns_query *q, const struct dns_lookup *lk,
    const void *ip)
{
	struct dns_hstate *hs = &q->hs[lk->host];
	struct dns_addr *a = &hs->a[lk->fam][hs->n[lk->fam]++];
	struct sockaddr_in *s4 = (struct sockaddr_in *)&a->sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->sa;

	memset(a, 0, sizeof(*a));
	if (lk->fam == FAM4) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(q->d->port);
		memcpy(&s4->sin_addr, ip, 4);
		a->len = sizeof(*s4);
	} else {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(q->d->port);
		memcpy(&s6->sin6_addr, ip, 16);
		a->len = sizeof(*s6);
	}
}

/* Fixed arrays: ares_parse_*_reply() keeps only as many as fit. */
static int
parse_addrs(struct dns_query *q, const struct dns_lookup *lk,
    const unsigned char *abuf, int alen)
{
	struct ares_addrttl t4[LIMIT_DNS_ADDRS];
	struct ares_addr6ttl t6[LIMIT_DNS_ADDRS];
	int n = LIMIT_DNS_ADDRS, i, rc;

	if (lk->fam == FAM4)
		rc = ares_parse_a_reply(abuf, alen, NULL, t4, &n);
	else
		rc = ares_parse_aaaa_reply(abuf, alen, NULL, t6, &n);
	if (rc != ARES_SUCCESS)
		return rc;
	for (i = 0; i < n; i++)
		put_addr(q, lk, lk->fam == FAM4 ? (const void *)&t4[i].ipaddr
		    : (const void *)&t6[i].ip6addr);
	return ARES_SUCCESS;
}

static void
on_addr(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_lookup *lk = arg;
	struct dns_query *q = lk->q;

	(void)timeouts;
	if (status == ARES_SUCCESS)
		status = parse_addrs(q, lk, abuf, alen);
	/* NXDOMAIN and NODATA only mean this host has no such address. */
	if (status != ARES_SUCCESS && status != ARES_ENODATA &&
	    status != ARES_ENOTFOUND) {
		q->hs[lk->host].temp = 1;
		if (q->temp_why[0] == '\0')
			snprintf(q->temp_why, sizeof(q->temp_why), "%s %s: %s",
			    q->res.hosts[lk->host].name,
			    lk->fam == FAM4 ? "A" : "AAAA",
			    ares_strerror(status));
	}
	lookup_done(q);
}

static void
start_hosts(struct dns_query *q)
{
	size_t i;
	int f;
	struct dns_lookup *lk;

	for (i = 0; i < q->res.nhosts; i++)
		for (f = FAM4; f <= FAM6; f++) {
			lk = &q->lk[i][f];
			lk->q = q;
			lk->host = i;
			lk->fam = f;
			q->lookups++;
			ares_query(q->d->ch, q->res.hosts[i].name, ns_c_in,
			    f == FAM4 ? ns_t_a : ns_t_aaaa, on_addr, lk);
		}
}

/* ------------------------------------------------------------- MX stage */

/*
 * A host name that is not an A-label (c-ares expands any bytes a server
 * sends) is dropped: it could not be looked up sanely, and it goes into
 * log lines and TLS name checks.
 */
static void
keep_hosts(struct dns_query *q, const struct dns_mx *v, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		if (!valid_alabel(v[i].host))
			continue;
		snprintf(q->res.hosts[k].name, sizeof(q->res.hosts[k].name),
		    "%s", v[i].host);
		q->res.hosts[k].pref = v[i].pref;
		k++;
	}
	q->res.nhosts = k;
}

/* The list c-ares parsed grows with the answer; so may our array. */
static int
parse_mx(struct dns_query *q, const unsigned char *abuf, int alen)
{
	struct ares_mx_reply *head = NULL, *m;
	struct dns_mx *v;
	size_t n = 0, i;
	int rc;

	rc = ares_parse_mx_reply(abuf, alen, &head);
	if (rc != ARES_SUCCESS)
		return rc;
	for (m = head; m != NULL; m = m->next)
		n++;
	v = xcalloc(n, sizeof(*v));
	for (i = 0, m = head; m != NULL; m = m->next, i++) {
		v[i].host = m->host;
		v[i].pref = m->priority;
	}
	if ((q->res.null_mx = dns_mx_null(v, n)) != 0)
		decide(q, DNS_PERM, "%s: null MX (RFC 7505): the domain "
		    "accepts no mail", q->domain);
	else if ((n = dns_mx_order(v, n, LIMIT_DNS_HOSTS, &q->d->rng)) == 0)
		decide(q, DNS_PERM, "%s: no usable MX host", q->domain);
	else
		keep_hosts(q, v, n);
	free(v);
	ares_free_data(head);
	return ARES_SUCCESS;
}

/* RFC 5321 5.1: no MX at all makes the domain its own MX. */
static void
implicit_mx(struct dns_query *q)
{
	q->res.implicit = 1;
	snprintf(q->res.hosts[0].name, sizeof(q->res.hosts[0].name), "%s",
	    q->domain);
	q->res.hosts[0].pref = 0;
	q->res.nhosts = 1;
}

static void
on_mx(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_query *q = arg;

	(void)timeouts;
	if (status == ARES_SUCCESS)
		status = parse_mx(q, abuf, alen);
	if (status == ARES_ENODATA)
		implicit_mx(q);
	if (status == ARES_ENOTFOUND)
		decide(q, DNS_PERM, "%s: no such domain (NXDOMAIN)",
		    q->domain);
	else if (status != ARES_SUCCESS && status != ARES_ENODATA)
		/* Never the A fallback: a failing server says nothing. */
		decide(q, DNS_TEMP, "%s: MX look-up failed: %s", q->domain,
		    ares_strerror(status));
	if (!q->decided)
		start_hosts(q);
	lookup_done(q);
}

/* ------------------------------------------------------------- the API */

static int
setup_channel(struct dns *d, const struct dns_config *cfg, struct err *e)
{
	struct ares_options o;
	int rc;

	memset(&o, 0, sizeof(o));
	o.timeout = cfg->timeout_ms > 0 ? cfg->timeout_ms : LIMIT_DNS_TIMEOUT_MS;
	o.tries = cfg->tries > 0 ? cfg->tries : LIMIT_DNS_TRIES;
	rc = ares_init_options(&d->ch, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
	if (rc != ARES_SUCCESS)
		return err_set(e, EX_OSERR, "DNS: %s", ares_strerror(rc));
	if (cfg->servers == NULL || cfg->servers[0] == '\0')
		return 0;
	if (strlen(cfg->servers) > LIMIT_DNS_SERVERS)
		return err_set(e, EX_CONFIG, "DNS servers: longer than %d "
		    "characters", LIMIT_DNS_SERVERS);
	rc = ares_set_servers_ports_csv(d->ch, cfg->servers);
	if (rc != ARES_SUCCESS)
		return err_set(e, EX_CONFIG, "DNS servers \"%s\": %s",
		    cfg->servers, ares_strerror(rc));
	return 0;
}

int
dns_new(const struct dns_config *cfg, struct dns **out, struct err *e)
{
	struct dns *d;
	int rc;

	*out = NULL;
	rc = ares_library_init(ARES_LIB_INIT_ALL);
	if (rc != ARES_SUCCESS)
		return err_set(e, EX_OSERR, "DNS: %s", ares_strerror(rc));
	d = xcalloc(1, sizeof(*d));
	d->port = cfg->smtp_port != 0 ? cfg->smtp_port : 25;
	if (getrandom(&d->rng, sizeof(d->rng), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(d->rng))
		d->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	if (setup_channel(d, cfg, e) < 0) {
		if (d->ch != NULL)
			ares_destroy(d->ch);
		free(d);
		ares_library_cleanup();
		return -1;
	}
	*out = d;
	return 0;
}

void
dns_free(struct dns *d)
{
	if (d == NULL)
		return;
	d->closing = "resolver shut down";
	flush_ready(d);
	ares_destroy(d->ch);	/* calls back every query: DNS_TEMP */
	flush_ready(d);
	free(d);
	ares_library_cleanup();
}

/*
 * A query for name, counted pending and as started inside a resolve call
 * (in_resolve, which the caller ends): lookups 2, the first look-up and
 * our guard, so no callback can free it before the caller lets go.
 */
static struct dns_query *
query_new(struct dns *d, const char *name, void *ctx, struct err *e)
{
	struct dns_query *q;

	if (d->closing != NULL) {
		err_set(e, EX_TEMPFAIL, "DNS: %s", d->closing);
		return NULL;
	}
	q = xcalloc(1, sizeof(*q));
	q->d = d;
	q->ctx = ctx;
	snprintf(q->domain, sizeof(q->domain), "%s", name);
	q->lookups = 2;
	d->pending++;
	d->in_resolve++;
	return q;
}

static int
resolve_start(struct dns *d, const char *domain, int mx, dns_cb cb,
    void *ctx, struct err *e)
{
	struct dns_query *q;

	if (!valid_alabel(domain))
		return err_set(e, EX_DATAERR, "DNS: not an A-label domain");
	if ((q = query_new(d, domain, ctx, e)) == NULL)
		return -1;
	q->cb = cb;
	q->res.domain = q->domain;
	if (mx)
		ares_query(d->ch, q->domain, ns_c_in, ns_t_mx, on_mx, q);
	else {
		q->lookups--;
		q->host_only = 1;
		implicit_mx(q);
		start_hosts(q);
	}
	lookup_done(q);
	d->in_resolve--;
	return 0;
}

int
dns_resolve_mx(struct dns *d, const char *domain, dns_cb cb, void *ctx,
    struct err *e)
{
	return resolve_start(d, domain, 1, cb, ctx, e);
}

int
dns_resolve_host(struct dns *d, const char *host, dns_cb cb, void *ctx,
    struct err *e)
{
	return resolve_start(d, host, 0, cb, ctx, e);
}

size_t
dns_pending(const struct dns *d)
{
	return d->pending;
}

size_t
dns_fds(struct dns *d, struct dns_fd *out, size_t max)
{
	ares_socket_t s[ARES_GETSOCK_MAXNUM];
	int bits, i;
	size_t n = 0;

	bits = ares_getsock(d->ch, s, ARES_GETSOCK_MAXNUM);
	for (i = 0; i < ARES_GETSOCK_MAXNUM && n < max; i++) {
		int r = ARES_GETSOCK_READABLE(bits, i) != 0;
		int w = ARES_GETSOCK_WRITABLE(bits, i) != 0;

		if (!r && !w)
			break;
		out[n].fd = s[i];
		out[n].read = r;
		out[n].write = w;
		n++;
	}
	return n;
}

int
dns_timeout_ms(struct dns *d)
{
	struct timeval tv, *tp;
	long long ms;

	if (d->ready != NULL)
		return 0;
	tp = ares_timeout(d->ch, NULL, &tv);
	if (tp == NULL)
		return -1;
	ms = (long long)tp->tv_sec * 1000 + (tp->tv_usec + 999) / 1000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

void
dns_process(struct dns *d, int readable_fd, int writable_fd)
{
	flush_ready(d);
	ares_process_fd(d->ch,
	    readable_fd >= 0 ? readable_fd : ARES_SOCKET_BAD,
	    writable_fd >= 0 ? writable_fd : ARES_SOCKET_BAD);
	flush_ready(d);
}

void
dns_process_timeout(struct dns *d)
{
	dns_process(d, -1, -1);
}

/* ------------------------------------------------------------- dns_run */

static int
run_wait(struct dns *d, long long deadline)
{
	long long left;
	int wait = dns_timeout_ms(d);

	if (deadline >= 0) {
		left = deadline - clock_mono_ms();
		if (left < 0)
			left = 0;
		if (wait < 0 || left < wait)
			wait = (int)left;
	}
	/* Pending with neither fd nor timer cannot happen; do not hang. */
	return wait < 0 ? 1000 : wait;
}

static int
run_once(struct dns *d, long long deadline)
{
	struct dns_fd f[ARES_GETSOCK_MAXNUM];
	struct pollfd p[ARES_GETSOCK_MAXNUM];
	size_t n, i;
	int rc;

	n = dns_fds(d, f, ARES_GETSOCK_MAXNUM);
	for (i = 0; i < n; i++) {
		p[i].fd = f[i].fd;
		p[i].events = (short)((f[i].read ? POLLIN : 0) |
		    (f[i].write ? POLLOUT : 0));
		p[i].revents = 0;
	}
	rc = poll(p, n, run_wait(d, deadline));
	if (rc < 0)
		return errno == EINTR ? 0 : -1;
	if (rc == 0)
		dns_process_timeout(d);
	for (i = 0; rc > 0 && i < n; i++)
		if (p[i].revents != 0)
			dns_process(d, p[i].revents & (POLLIN | POLLERR |
			    POLLHUP) ? p[i].fd : -1,
			    p[i].revents & POLLOUT ? p[i].fd : -1);
	return 0;
}

int
dns_run(struct dns *d, int timeout_ms, struct err *e)
{
	long long deadline = timeout_ms > 0 ? clock_mono_ms() + timeout_ms : -1;
	size_t left;

	flush_ready(d);
	while (d->pending > 0) {
		if (deadline >= 0 && clock_mono_ms() >= deadline) {
			left = d->pending;
			d->closing = "cancelled: out of time";
			ares_cancel(d->ch);
			flush_ready(d);
			d->closing = NULL;
			return err_set(e, EX_TEMPFAIL, "DNS: %zu look-ups "
			    "cancelled after %d ms", left, timeout_ms);
		}
		if (run_once(d, deadline) < 0)
			return err_set(e, EX_OSERR, "DNS: poll: %s",
			    strerror(errno));
	}
	return 0;
}

/* ------------------------------------------------------ record look-ups */

static const char *
rr_name(enum dns_rr t)
{
	static const char *const names[] = { "A", "AAAA", "MX", "TXT", "PTR" };

	return names[t];
}

/* Keeps a copy; past DNS_RR_MAX records, or past DNS_TXT_MAX octets, a
   record is only counted in more. */
static void
rr_add(struct dns_rrset *r, const void *p, size_t len, unsigned pref)
{
	if (r->n == DNS_RR_MAX || len > DNS_TXT_MAX) {
		r->more++;
		return;
	}
	r->pref[r->n] = pref;
	r->rr[r->n++] = xstrndup(p, len);
}

/* RFC 7208 3.3, RFC 6376 3.6.2.2: a record's strings are joined with
   nothing between them. */
static int
rr_parse_txt(struct dns_rrset *r, const unsigned char *abuf, int alen)
{
	struct ares_txt_ext *head = NULL, *t;
	char *rec = xmalloc(DNS_TXT_MAX + 1);
	size_t len = 0;
	int rc, open = 0, over = 0;

	rc = ares_parse_txt_reply_ext(abuf, alen, &head);
	for (t = head; rc == ARES_SUCCESS && t != NULL; t = t->next) {
		if (t->record_start && open) {
			rr_add(r, rec, over ? DNS_TXT_MAX + 1 : len, 0);
			len = 0;
			over = 0;
		}
		open = 1;
		if (len + t->length > DNS_TXT_MAX)
			over = 1;
		else {
			memcpy(rec + len, t->txt, t->length);
			len += t->length;
		}
	}
	if (open)
		rr_add(r, rec, over ? DNS_TXT_MAX + 1 : len, 0);
	free(rec);
	if (head != NULL)
		ares_free_data(head);
	return rc;
}

static int
rr_parse_mx(struct dns_rrset *r, const unsigned char *abuf, int alen)
{
	struct ares_mx_reply *head = NULL, *m;
	int rc;

	rc = ares_parse_mx_reply(abuf, alen, &head);
	for (m = head; rc == ARES_SUCCESS && m != NULL; m = m->next)
		rr_add(r, m->host, strlen(m->host), m->priority);
	if (head != NULL)
		ares_free_data(head);
	return rc;
}

static int
rr_parse_addr(struct dns_rrset *r, const unsigned char *abuf, int alen)
{
	struct ares_addrttl t4[DNS_RR_MAX];
	struct ares_addr6ttl t6[DNS_RR_MAX];
	char text[INET6_ADDRSTRLEN];
	int n = DNS_RR_MAX, i, rc;

	if (r->type == DNS_RR_A)
		rc = ares_parse_a_reply(abuf, alen, NULL, t4, &n);
	else
		rc = ares_parse_aaaa_reply(abuf, alen, NULL, t6, &n);
	for (i = 0; rc == ARES_SUCCESS && i < n; i++) {
		if (r->type == DNS_RR_A)
			inet_ntop(AF_INET, &t4[i].ipaddr, text, sizeof(text));
		else
			inet_ntop(AF_INET6, &t6[i].ip6addr, text, sizeof(text));
		rr_add(r, text, strlen(text), 0);
	}
	return rc;
}

/* c-ares keeps every PTR name in h_aliases (and the last in h_name); the
   address it copies into the hostent is not ours to know, so a blank. */
static int
rr_parse_ptr(struct dns_rrset *r, const unsigned char *abuf, int alen)
{
	static const unsigned char blank[16];
	struct hostent *h = NULL;
	char **a;
	int rc;

	rc = ares_parse_ptr_reply(abuf, alen, blank, sizeof(blank), AF_INET6,
	    &h);
	if (rc != ARES_SUCCESS)
		return rc;
	for (a = h->h_aliases; a != NULL && *a != NULL; a++)
		rr_add(r, *a, strlen(*a), 0);
	if (r->n == 0 && h->h_name != NULL)
		rr_add(r, h->h_name, strlen(h->h_name), 0);
	ares_free_hostent(h);
	return ARES_SUCCESS;
}

static void
rr_decide(struct dns_rrset *r, int status)
{
	if (status == ARES_SUCCESS && r->n > 0) {
		r->status = DNS_OK;
		return;
	}
	/* Only records too long to keep: there is nothing to read, and a
	 * caller must never see DNS_OK with no record. */
	if (status == ARES_SUCCESS && r->more > 0) {
		r->status = DNS_PERM;
		snprintf(r->reason, sizeof(r->reason), "%s: %zu %s record(s) "
		    "over %d octets, not read", r->name, r->more,
		    rr_name(r->type), DNS_TXT_MAX);
		return;
	}
	if (status == ARES_SUCCESS || status == ARES_ENODATA ||
	    status == ARES_ENOTFOUND) {
		r->status = DNS_PERM;
		r->nxdomain = status == ARES_ENOTFOUND;
		snprintf(r->reason, sizeof(r->reason), "%s: %s", r->name,
		    r->nxdomain ? "no such domain (NXDOMAIN)" :
		    r->type == DNS_RR_A ? "no A record" :
		    r->type == DNS_RR_AAAA ? "no AAAA record" :
		    r->type == DNS_RR_MX ? "no MX record" :
		    r->type == DNS_RR_TXT ? "no TXT record" : "no PTR record");
		return;
	}
	r->status = DNS_TEMP;
	snprintf(r->reason, sizeof(r->reason), "%s: %s look-up failed: %s",
	    r->name, rr_name(r->type), ares_strerror(status));
}

static void
on_rr(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_query *q = arg;
	struct dns_rrset *r = &q->rrs;

	(void)timeouts;
	if (status == ARES_SUCCESS) {
		switch (r->type) {
		case DNS_RR_TXT: status = rr_parse_txt(r, abuf, alen); break;
		case DNS_RR_MX: status = rr_parse_mx(r, abuf, alen); break;
		case DNS_RR_PTR: status = rr_parse_ptr(r, abuf, alen); break;
		default: status = rr_parse_addr(r, abuf, alen); break;
		}
	}
	rr_decide(r, status);
	lookup_done(q);
}

int
dns_lookup(struct dns *d, const char *name, enum dns_rr type, dns_rr_cb cb,
    void *ctx, struct err *e)
{
	static const int qtype[] = { ns_t_a, ns_t_aaaa, ns_t_mx, ns_t_txt,
	    ns_t_ptr };
	struct dns_query *q;

	if (!valid_name(name, 1))
		return err_set(e, EX_DATAERR, "DNS: \"%.80s\" is not a "
		    "domain name", name);
	if ((q = query_new(d, name, ctx, e)) == NULL)
		return -1;
	q->rr_cb = cb;
	q->rrs.name = q->domain;
	q->rrs.type = type;
	ares_query(d->ch, q->domain, ns_c_in, qtype[type], on_rr, q);
	lookup_done(q);
	d->in_resolve--;
	return 0;
}

/* RFC 1035 3.5 and RFC 3596 2.5: the address reversed under .arpa. */
int
dns_reverse_name(const char *ip, char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[16];
	size_t k = 0;
	int i;

	if (inet_pton(AF_INET, ip, b) == 1)
		return snprintf(out, n, "%u.%u.%u.%u.in-addr.arpa", b[3], b[2],
		    b[1], b[0]) < (int)n ? 0 : -1;
	if (inet_pton(AF_INET6, ip, b) != 1 || n < 16 * 4 + sizeof("ip6.arpa"))
		return -1;
	for (i = 15; i >= 0; i--) {
		out[k++] = hex[b[i] & 15];
		out[k++] = '.';
		out[k++] = hex[b[i] >> 4];
		out[k++] = '.';
	}
	memcpy(out + k, "ip6.arpa", sizeof("ip6.arpa"));
	return 0;
}
