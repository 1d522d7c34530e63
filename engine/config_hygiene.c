/*
 * config_hygiene.c - the "hygiene" section of postbote.json: what counts
 * as inactive and as repeatedly soft-bounced, and how hard `postbote
 * hygiene` may press the resolver; see config.h and hygiene.h.
 */
#include <jansson.h>
#include <stdlib.h>

#include "config.h"
#include "config_int.h"
#include "hygiene.h"

/*
 * Five campaigns or half a year without a human open or click is where
 * the mailbox providers' own advice on re-engagement starts. Three
 * campaigns with soft bounces, in a row or not (feedback's
 * soft_bounce_limit counts a run), is the same number for a list
 * checked after the fact.
 */
void
config_hygiene_defaults(struct config *cfg)
{
	cfg->hygiene.inactive_campaigns = 5;
	cfg->hygiene.inactive_days = 180;
	cfg->hygiene.soft_bounce_campaigns = 3;
	cfg->hygiene.dns_concurrency = 256;
	cfg->hygiene.dns_timeout_ms = LIMIT_DNS_TIMEOUT_MS;
}

void
config_hygiene_free(struct config *cfg)
{
	free(cfg->hygiene.disposable_file);
	cfg->hygiene.disposable_file = NULL;
}

int
config_hygiene(const char *path, json_t *obj, struct config *cfg,
    struct err *e)
{
	static const char *known[] = { "inactive_campaigns", "inactive_days",
	    "soft_bounce_campaigns", "dns_concurrency", "dns_timeout",
	    "disposable_file", NULL };
	struct config_hygiene *h = &cfg->hygiene;
	json_t *v;

	if (config_keys(path, "hygiene", obj, known, e) < 0 ||
	    config_member_int(path, "hygiene", obj, "inactive_campaigns", 1,
	    1000, &h->inactive_campaigns, e) < 0 ||
	    config_member_int(path, "hygiene", obj, "inactive_days", 1,
	    3650, &h->inactive_days, e) < 0 ||
	    config_member_int(path, "hygiene", obj, "soft_bounce_campaigns",
	    1, 100, &h->soft_bounce_campaigns, e) < 0 ||
	    config_member_int(path, "hygiene", obj, "dns_concurrency", 1,
	    HYGIENE_DNS_MAX, &h->dns_concurrency, e) < 0 ||
	    config_member_str(path, "hygiene", obj, "disposable_file", 0,
	    &h->disposable_file, e) < 0)
		return -1;
	v = json_object_get(obj, "dns_timeout");
	if (v != NULL && (!json_is_string(v) ||
	    config_duration(json_string_value(v), &h->dns_timeout_ms) < 0 ||
	    h->dns_timeout_ms > 60000))
		return err_set(e, EX_CONFIG, "%s: \"hygiene.dns_timeout\" must "
		    "be a duration from \"1s\" to \"60s\"", path);
	return 0;
}
