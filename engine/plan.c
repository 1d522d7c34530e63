/*
 * plan.c - the send plan of `send --dry-run`; see plan.h.
 */
#include <stdio.h>
#include <string.h>

#include "dns.h"
#include "plan.h"

struct plan_ctx {
	struct plan *p;
	const struct config *cfg;
};

static int
plan_campaign(const struct campaign_info *c, void *arg)
{
	struct campaign_info *out = arg;

	out->id = c->id;
	out->list_id = c->list_id;
	out->status = strcmp(c->status, "draft") == 0 ||
	    strcmp(c->status, "scheduled") == 0 ? "draft" : "started";
	return 0;
}

static int
plan_count(const char *domain, int64_t n, void *arg)
{
	struct plan *p = arg;
	struct plan_domain *d;

	p->total += n;
	p->domains++;
	if (p->ntop == PLAN_TOP)
		return 0;
	d = &p->top[p->ntop++];
	snprintf(d->domain, sizeof(d->domain), "%s", domain);
	d->n = n;
	return 0;
}

static void
plan_mx(void *arg, const struct dns_result *r)
{
	struct plan_ctx *c = arg;
	const char *names[LIMIT_DNS_HOSTS];
	struct plan_domain *d = NULL;
	size_t i;
	int k, pv;

	for (k = 0; k < c->p->ntop; k++)
		if (strcmp(c->p->top[k].domain, r->domain) == 0)
			d = &c->p->top[k];
	if (d == NULL)
		return;
	if (r->status != DNS_OK) {
		snprintf(d->via, sizeof(d->via), "%s", r->status == DNS_PERM ?
		    "no MX (bounces)" : "DNS failing (defers)");
		return;
	}
	for (i = 0; i < r->nhosts; i++)
		names[i] = r->hosts[i].name;
	snprintf(d->via, sizeof(d->via), "%s", r->hosts[0].name);
	if ((pv = config_provider(c->cfg, names, r->nhosts)) >= 0)
		d->provider = c->cfg->providers[pv].name;
}

/* Where each top domain's mail goes: a route, the relay, its MX. */
static void
plan_routes(const struct config *cfg, struct plan *p)
{
	struct plan_ctx c = { p, cfg };
	struct dns_config dc;
	struct dns *dns = NULL;
	const struct config_route *rt;
	struct err e;
	int k, pv, asked = 0;

	memset(&dc, 0, sizeof(dc));
	dc.servers = cfg->dns_servers;
	for (k = 0; k < p->ntop; k++) {
		struct plan_domain *d = &p->top[k];
		const char *host = NULL;

		if ((rt = config_route(cfg, d->domain)) != NULL)
			host = rt->hop.host;
		else if (cfg->mode == CONFIG_MODE_RELAY)
			host = cfg->relay.host;
		if (host != NULL) {
			snprintf(d->via, sizeof(d->via), "%s %s", rt != NULL ?
			    "route" : "relay", host);
			if ((pv = config_provider(cfg, &host, 1)) >= 0)
				d->provider = cfg->providers[pv].name;
			continue;
		}
		snprintf(d->via, sizeof(d->via), "(no answer)");
		if (dns == NULL && dns_new(&dc, &dns, &e) < 0)
			continue;
		if (dns_resolve_mx(dns, d->domain, plan_mx, &c, &e) == 0)
			asked++;
	}
	if (asked > 0 && dns_run(dns, PLAN_DNS_MS, &e) < 0)
		err_clear(&e);	/* the rest say "(no answer)" */
	dns_free(dns);
}

static void
plan_bound(struct plan *p, double secs, const char *fmt, const char *what)
{
	if (secs <= p->seconds)
		return;
	p->seconds = secs;
	snprintf(p->bound, sizeof(p->bound), fmt, what);
}

/* Each domain at its rate, each provider's at its own, all at global. */
static void
plan_times(const struct config *cfg, struct plan *p)
{
	struct config_shape sh;
	double by_prov;
	size_t pv;
	int k;

	for (k = 0; k < p->ntop; k++) {
		struct plan_domain *d = &p->top[k];

		config_domain_shape(cfg, d->domain, &sh);
		d->rate = sh.rate;
		d->connections = sh.connections;
		d->seconds = sh.rate > 0 ? (double)d->n / sh.rate : 0;
		plan_bound(p, d->seconds, "the rate of %s", d->domain);
	}
	for (pv = 0; pv < cfg->nproviders; pv++) {
		if (cfg->providers[pv].s.rate <= 0)
			continue;
		by_prov = 0;
		for (k = 0; k < p->ntop; k++)
			if (p->top[k].provider == cfg->providers[pv].name)
				by_prov += (double)p->top[k].n;
		plan_bound(p, by_prov / cfg->providers[pv].s.rate,
		    "the rate of provider %s", cfg->providers[pv].name);
	}
	if (cfg->shape_global.rate > 0)
		plan_bound(p, (double)p->total / cfg->shape_global.rate, "%s",
		    "the global rate");
}

int
plan_build(struct store *st, const struct config *cfg, const char *campaign,
    struct plan *p, struct err *e)
{
	struct campaign_info ci;

	memset(p, 0, sizeof(*p));
	memset(&ci, 0, sizeof(ci));
	if (store_campaign_get(st, campaign, plan_campaign, &ci, e) < 0)
		return -1;
	p->draft = strcmp(ci.status, "draft") == 0;
	if ((p->draft ? store_list_domains(st, ci.list_id, -1, plan_count, p,
	    e) : store_send_plan(st, ci.id, -1, plan_count, p, e)) < 0)
		return -1;
	plan_routes(cfg, p);
	plan_times(cfg, p);
	return 0;
}
