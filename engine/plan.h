/*
 * plan.h - `send --dry-run`: what a send of a campaign would do, without
 * sending or changing anything.
 *
 * plan_build() counts the work per recipient domain (the due deliveries
 * of a started campaign; for a draft, the list's members, before the
 * segment and suppressions), finds where the largest domains' mail would
 * go (a route, the relay, or their MX hosts, looked up with c-ares, at
 * most PLAN_DNS_MS in all) and so their MX provider, and applies the
 * shaping rules: the time a domain needs at its rate, the time each
 * provider's domains need together at the provider's, and the whole run
 * at the global rate. The predicted duration is the longest of these: a
 * lower bound, since throttling replies and retries only add to it.
 * Reads the store only; EX_NOINPUT for an unknown campaign.
 */
#ifndef POSTBOTE_PLAN_H
#define POSTBOTE_PLAN_H

#include <stdint.h>
#include "config.h"
#include "err.h"
#include "limits.h"
#include "store.h"

#define PLAN_TOP	20
#define PLAN_DNS_MS	10000

struct plan_domain {
	char domain[LIMIT_ADDR_DOMAIN + 1];
	int64_t n;
	char via[LIMIT_ADDR_DOMAIN + 16];	/* "mx1.example.com", "route
						   127.0.0.1", "relay h" */
	const char *provider;	/* a shaping.providers name; NULL */
	double rate;		/* the domain's messages a second; <= 0: none */
	int connections;
	double seconds;		/* n at that rate */
};

struct plan {
	int draft;		/* counted from the list, not deliveries */
	int64_t total;
	int64_t domains;
	struct plan_domain top[PLAN_TOP];
	int ntop;
	double seconds;		/* the longest of every bound */
	char bound[LIMIT_ADDR_DOMAIN + 32];	/* what sets it */
};

int plan_build(struct store *st, const struct config *cfg,
    const char *campaign, struct plan *p, struct err *e) WUR;

#endif
