/*
 * config_feedback.c - the "feedback" and "webhooks" sections of
 * postbote.json; see config.h.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_int.h"
#include "limits.h"
#include "xalloc.h"

/*
 * Gmail's and Yahoo's sender guidelines ask for complaint rates under
 * 0.3 % and warn from 0.1 %; 5 % hard bounces means a stale list. Rates
 * over a few hundred messages say little, so they are judged from 500.
 */
void
config_feedback_defaults(struct config *cfg)
{
	cfg->feedback.soft_bounce_limit = 3;
	cfg->feedback.unsubscribe_global = 0;
	cfg->feedback.complaint_pause = 0.003;
	cfg->feedback.complaint_warn = 0.001;
	cfg->feedback.bounce_pause = 0.05;
	cfg->feedback.min_volume = 500;
	cfg->tracking_threads = 4;
	cfg->machine_seconds = 2;
}

int
config_member_double(const char *path, const char *where, json_t *obj,
    const char *key, double lo, double hi, double *out, struct err *e)
{
	json_t *v = json_object_get(obj, key);
	char w[CONFIG_WHERE];

	if (v == NULL)
		return 0;
	if (!json_is_number(v) || json_number_value(v) < lo ||
	    json_number_value(v) > hi)
		return err_set(e, EX_CONFIG, "%s: \"%s\" must be a number "
		    "from %g to %g", path, config_where(w, sizeof(w), where,
		    key), lo, hi);
	*out = json_number_value(v);
	return 0;
}

int
config_feedback(const char *path, json_t *obj, struct config *cfg,
    struct err *e)
{
	static const char *known[] = { "soft_bounce_limit", "unsubscribe",
	    "complaint_rate_pause", "complaint_rate_warn",
	    "hard_bounce_rate_pause", "min_volume", NULL };
	struct feedback_policy *p = &cfg->feedback;
	int min = (int)p->min_volume;
	json_t *v;

	if (config_keys(path, "feedback", obj, known, e) < 0 ||
	    config_member_int(path, "feedback", obj, "soft_bounce_limit", 1,
	    100, &p->soft_bounce_limit, e) < 0 ||
	    config_member_double(path, "feedback", obj,
	    "complaint_rate_pause", 0, 1, &p->complaint_pause, e) < 0 ||
	    config_member_double(path, "feedback", obj,
	    "complaint_rate_warn", 0, 1, &p->complaint_warn, e) < 0 ||
	    config_member_double(path, "feedback", obj,
	    "hard_bounce_rate_pause", 0, 1, &p->bounce_pause, e) < 0 ||
	    config_member_int(path, "feedback", obj, "min_volume", 1,
	    100000000, &min, e) < 0)
		return -1;
	p->min_volume = min;
	if ((v = json_object_get(obj, "unsubscribe")) != NULL) {
		const char *s = json_string_value(v);

		if (s == NULL || (strcmp(s, "list") != 0 &&
		    strcmp(s, "global") != 0))
			return err_set(e, EX_CONFIG, "%s: \"feedback."
			    "unsubscribe\" must be \"list\" or \"global\"",
			    path);
		p->unsubscribe_global = strcmp(s, "global") == 0;
	}
	return 0;
}

/* The event types a webhook may ask for, as events.type spells them. */
static const char *const webhook_types[] = { "delivered", "deferred",
    "bounced", "opened", "clicked", "unsubscribed", "complained",
    "replied", "auto_replied", "*", NULL };

/*
 * A user name or password in the URL would be a secret in the config
 * file, which holds none, and would be stored and shown by `webhooks
 * ls`; the receiver checks each call's signature instead. The message
 * does not repeat the URL.
 */
static int
webhook_url_check(const char *path, const char *w, const char *url,
    struct err *e)
{
	CURLU *u = curl_url();
	char *user = NULL, *pass = NULL;
	int rc = 0;

	if (u == NULL)
		return err_set(e, EX_OSERR, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		rc = err_set(e, EX_CONFIG, "%s: \"%s.url\" is not a valid URL",
		    path, w);
	else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK)
		rc = err_set(e, EX_CONFIG, "%s: \"%s.url\" holds credentials; "
		    "the config file holds no secrets (the receiver checks "
		    "each call's signature)", path, w);
	curl_free(user);
	curl_free(pass);
	curl_url_cleanup(u);
	return rc;
}

static int
webhook_events(const char *path, const char *w, json_t *arr,
    struct config_webhook *h, struct err *e)
{
	json_t *x;
	size_t i;
	int k;

	if (!json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > 16)
		return err_set(e, EX_CONFIG, "%s: \"%s.events\" must be a list "
		    "of 1 to 16 event types", path, w);
	h->events = xcalloc(json_array_size(arr), sizeof(char *));
	json_array_foreach(arr, i, x) {
		const char *t = json_string_value(x);

		for (k = 0; t != NULL && webhook_types[k] != NULL; k++)
			if (strcmp(t, webhook_types[k]) == 0)
				break;
		if (t == NULL || webhook_types[k] == NULL)
			return err_set(e, EX_CONFIG, "%s: \"%s.events[%zu]\" is "
			    "not an event type (delivered, deferred, bounced, "
			    "opened, clicked, unsubscribed, complained, "
			    "replied, auto_replied or *)", path, w, i);
		h->events[h->nevents++] = xstrdup(t);
	}
	return 0;
}

/* At most max_ms: a call's timeout is a deadline (STYLE rule 7), and a
   first backoff past the longest one would never double. */
static int
webhook_duration(const char *path, const char *w, json_t *obj,
    const char *key, int64_t max_ms, int64_t *out, struct err *e)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return 0;
	if (!json_is_string(v) || config_duration(json_string_value(v),
	    out) < 0 || *out > max_ms)
		return err_set(e, EX_CONFIG, "%s: \"%s.%s\" must be a duration "
		    "such as \"30s\" or \"5m\", at most %llds", path, w, key,
		    (long long)(max_ms / 1000));
	return 0;
}

static int
webhook_one(const char *path, size_t i, json_t *obj, struct config *cfg,
    struct err *e)
{
	static const char *known[] = { "name", "url", "events",
	    "secret_file", "secret_env", "max_attempts", "retry_base",
	    "timeout", NULL };
	struct config_webhook *h = &cfg->webhooks[cfg->nwebhooks++];
	char w[64];
	size_t k;

	snprintf(w, sizeof(w), "webhooks[%zu]", i);
	h->max_attempts = 10;
	h->retry_base_ms = 30000;
	h->timeout_ms = 10000;
	if (config_keys(path, w, obj, known, e) < 0 ||
	    config_member_str(path, w, obj, "name", 1, &h->name, e) < 0 ||
	    config_member_str(path, w, obj, "url", 1, &h->url, e) < 0 ||
	    config_member_str(path, w, obj, "secret_file", 0,
	    &h->secret_file, e) < 0 ||
	    config_member_str(path, w, obj, "secret_env", 0, &h->secret_env,
	    e) < 0 ||
	    config_member_int(path, w, obj, "max_attempts", 1, 100,
	    &h->max_attempts, e) < 0 ||
	    webhook_duration(path, w, obj, "retry_base",
	    LIMIT_WEBHOOK_BACKOFF_MS, &h->retry_base_ms, e) < 0 ||
	    webhook_duration(path, w, obj, "timeout", LIMIT_WEBHOOK_TIMEOUT_MS,
	    &h->timeout_ms, e) < 0 ||
	    webhook_events(path, w, json_object_get(obj, "events"), h, e) < 0)
		return -1;
	if (strncmp(h->url, "https://", 8) != 0 &&
	    strncmp(h->url, "http://", 7) != 0)
		return err_set(e, EX_CONFIG, "%s: \"%s.url\" must start with "
		    "https:// (or http://)", path, w);
	if (webhook_url_check(path, w, h->url, e) < 0)
		return -1;
	if ((h->secret_file == NULL) == (h->secret_env == NULL))
		return err_set(e, EX_CONFIG, "%s: \"%s\" needs exactly one of "
		    "\"secret_file\" and \"secret_env\" (the key that signs "
		    "each call)", path, w);
	for (k = 0; k + 1 < cfg->nwebhooks; k++)
		if (strcmp(cfg->webhooks[k].name, h->name) == 0)
			return err_set(e, EX_CONFIG, "%s: \"%s.name\" \"%s\" is "
			    "used twice", path, w, h->name);
	return 0;
}

int
config_webhooks(const char *path, json_t *arr, struct config *cfg,
    struct err *e)
{
	json_t *x;
	size_t i;

	if (!json_is_array(arr) || json_array_size(arr) > 32)
		return err_set(e, EX_CONFIG, "%s: \"webhooks\" must be a list "
		    "of at most 32 webhooks", path);
	cfg->webhooks = xcalloc(json_array_size(arr) + 1,
	    sizeof(*cfg->webhooks));
	json_array_foreach(arr, i, x)
		if (webhook_one(path, i, x, cfg, e) < 0)
			return -1;
	return 0;
}

void
config_webhooks_free(struct config *cfg)
{
	size_t i, k;

	for (i = 0; i < cfg->nwebhooks; i++) {
		struct config_webhook *h = &cfg->webhooks[i];

		free(h->name);
		free(h->url);
		for (k = 0; k < h->nevents; k++)
			free(h->events[k]);
		free(h->events);
		free(h->secret_file);
		free(h->secret_env);
	}
	free(cfg->webhooks);
	cfg->webhooks = NULL;
	cfg->nwebhooks = 0;
}
