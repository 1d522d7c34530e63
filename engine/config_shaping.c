/*
 * config_shaping.c - the "shaping" and "retry" sections of postbote.json,
 * and the built-in values for what they leave unset; see config.h and
 * README.md ("Shaping").
 *
 *   "shaping": {
 *     "default":   { "connections": 10, "messages_per_connection": 100,
 *                    "rate": "50/s", "burst": 50 },
 *     "domains":   { "example.test": { ... }, "*.example.org": { ... } },
 *     "providers": { "google": { "mx": ["*.google.com"], ... } },
 *     "global":    { "connections": 200, "rate": "5000/s" },
 *     "throttle_patterns": ["too many connections", ...]
 *   },
 *   "retry": { "schedule": ["5m", "15m", ...], "max_age": "3d" }
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config_int.h"
#include "limits.h"
#include "xalloc.h"

/*
 * Greylisting is not among the throttle patterns: it defers one
 * recipient once, and the retry passes.
 *
 * Built-in provider rules: polite starting points for the receivers that
 * take most of a consumer list, matched on their MX host names (so
 * every Google Workspace or Microsoft 365 domain is covered). A provider
 * the file names replaces the built-in one of that name.
 */
static const struct {
	const char *name;
	const char *mx[4];
	struct config_shape s;
} builtin_providers[] = {
	{ "google", { "*.google.com", "*.googlemail.com" },
	  { 20, 100, 50, 0 } },
	{ "microsoft", { "*.protection.outlook.com", "*.outlook.com",
	  "*.hotmail.com" }, { 10, 100, 20, 0 } },
	{ "yahoo", { "*.yahoodns.net", "*.yahoo.com" }, { 10, 20, 10, 0 } },
	{ "gmx-webde", { "*.gmx.net", "*.web.de", "*.kundenserver.de",
	  "*.ionos.de" }, { 5, 50, 10, 0 } },
	{ "t-online", { "*.t-online.de" }, { 3, 20, 5, 0 } },
};

static const struct config_shape builtin_default = { 10, 100, 50, 0 };
static const struct config_shape builtin_global = { 200, 0, 0, 0 };

static const char *const builtin_patterns[] = {
	"too many connections", "too many messages", "too many recipients",
	"rate limit", "rate-limit", "ratelimit", "throttl", "try again later",
	"temporarily deferred", "slow down", "exceeded",
};

static const int64_t builtin_retry_ms[] = { 5 * 60000, 15 * 60000,
    30 * 60000, 60 * 60000, 2 * 3600000, 4 * 3600000 };
#define BUILTIN_MAX_AGE_MS	(3LL * 86400000)

int
config_duration(const char *s, int64_t *ms)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v <= 0 || v > 365LL * 86400 ||
	    end[0] == '\0' || end[1] != '\0')
		return -1;
	switch (*end) {
	case 's': *ms = v * 1000; break;
	case 'm': *ms = v * 60000; break;
	case 'h': *ms = v * 3600000; break;
	case 'd': *ms = v * 86400000; break;
	default: return -1;
	}
	return *ms <= 365LL * 86400000 ? 0 : -1;
}

/* "50/s", "3000/h", "1.5/m", "100000/d"; "unlimited" is 0. */
static int
parse_rate(const char *s, double *per_s)
{
	char *end;
	double v;

	if (strcmp(s, "unlimited") == 0) {
		*per_s = CONFIG_RATE_UNLIMITED;
		return 0;
	}
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v <= 0 || v > 1e9 ||
	    end[0] != '/' || end[1] == '\0' || end[2] != '\0')
		return -1;
	switch (end[1]) {
	case 's': *per_s = v; break;
	case 'm': *per_s = v / 60; break;
	case 'h': *per_s = v / 3600; break;
	case 'd': *per_s = v / 86400; break;
	default: return -1;
	}
	return 0;
}

static int
shape_fields(const char *path, const char *w, json_t *obj,
    struct config_shape *sh, int global, struct err *e)
{
	static const char *known[] = { "connections", "messages_per_connection",
	    "rate", "burst", NULL };
	static const char *known_mx[] = { "connections",
	    "messages_per_connection", "rate", "burst", "mx", "warmup", NULL };
	char ww[CONFIG_WHERE];
	json_t *v;

	if (config_keys(path, w, obj, global == 2 ? known_mx : known, e) < 0 ||
	    config_member_int(path, w, obj, "connections", 1,
	    LIMIT_SEND_CONNS_MAX, &sh->connections, e) < 0 ||
	    config_member_int(path, w, obj, "messages_per_connection", 1,
	    100000, &sh->messages_per_connection, e) < 0 ||
	    config_member_int(path, w, obj, "burst", 1, 1000000, &sh->burst,
	    e) < 0)
		return -1;
	if ((v = json_object_get(obj, "rate")) != NULL &&
	    (!json_is_string(v) || parse_rate(json_string_value(v),
	    &sh->rate) < 0))
		return err_set(e, EX_CONFIG, "%s: \"%s\" must be a rate such as"
		    " \"50/s\", \"3000/h\" or \"unlimited\"", path,
		    config_where(ww, sizeof(ww), w, "rate"));
	if (global == 1 && sh->messages_per_connection)
		return err_set(e, EX_CONFIG, "%s: \"%s\" applies per "
		    "destination, not to \"shaping.global\"", path,
		    config_where(ww, sizeof(ww), w, "messages_per_connection"));
	return 0;
}

static int
shape_mx(const char *path, const char *w, json_t *arr,
    struct config_shape_rule *r, struct err *e)
{
	char ww[CONFIG_WHERE], pat[LIMIT_ADDR_DOMAIN + 3];
	json_t *v;
	size_t i;

	config_where(ww, sizeof(ww), w, "mx");
	if (!json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > 64)
		return err_set(e, EX_CONFIG, "%s: \"%s\" must be a list of 1 to "
		    "64 MX host patterns", path, ww);
	r->mx = xcalloc(json_array_size(arr), sizeof(*r->mx));
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || config_pattern(json_string_value(v),
		    pat, sizeof(pat)) < 0)
			return err_set(e, EX_CONFIG, "%s: \"%s[%zu]\" must be a "
			    "host name or \"*.\" and a domain", path, ww, i);
		r->mx[r->nmx++] = xstrdup(pat);
	}
	return 0;
}

/* "YYYY-MM-DD": midnight UTC of that day, in ms. */
static int
parse_day(const char *s, int64_t *ms)
{
	struct tm tm;
	char *end;
	long y, m, d;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	y = strtol(s, &end, 10);
	if (end != s + 4)
		return -1;
	m = strtol(s + 5, &end, 10);
	if (end != s + 7)
		return -1;
	d = strtol(s + 8, &end, 10);
	if (end != s + 10 || y < 2000 || y > 2200 || m < 1 || m > 12 ||
	    d < 1 || d > 31)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (int)y - 1900;
	tm.tm_mon = (int)m - 1;
	tm.tm_mday = (int)d;
	*ms = (int64_t)timegm(&tm) * 1000;
	return 0;
}

/* "warmup": { "start": 500, "factor": 2, "every": "1d", "from": "2026-11-01" } */
static int
shape_warmup(const char *path, const char *where, json_t *obj,
    struct config_warmup *w, struct err *e)
{
	static const char *known[] = { "start", "factor", "every", "from",
	    NULL };
	char ww[CONFIG_WHERE];
	json_t *v;
	int start = 0;

	config_where(ww, sizeof(ww), where, "warmup");
	if (config_keys(path, ww, obj, known, e) < 0 ||
	    config_member_int(path, ww, obj, "start", 1, 100000000, &start,
	    e) < 0)
		return -1;
	if (start == 0)
		return err_set(e, EX_CONFIG, "%s: \"%s.start\" is missing",
		    path, ww);
	w->start = start;
	w->factor = 2;
	w->every_ms = 86400000;
	v = json_object_get(obj, "factor");
	if (v != NULL && (!json_is_number(v) || json_number_value(v) < 1 ||
	    json_number_value(v) > 100))
		return err_set(e, EX_CONFIG, "%s: \"%s.factor\" must be a "
		    "number from 1 to 100", path, ww);
	if (v != NULL)
		w->factor = json_number_value(v);
	v = json_object_get(obj, "every");
	if (v != NULL && (!json_is_string(v) || config_duration(
	    json_string_value(v), &w->every_ms) < 0 || w->every_ms < 3600000))
		return err_set(e, EX_CONFIG, "%s: \"%s.every\" must be a "
		    "duration of an hour or more, such as \"1d\"", path, ww);
	v = json_object_get(obj, "from");
	if (v == NULL || !json_is_string(v) || parse_day(json_string_value(v),
	    &w->from_ms) < 0)
		return err_set(e, EX_CONFIG, "%s: \"%s.from\" must be the first "
		    "day, \"YYYY-MM-DD\" (UTC)", path, ww);
	return 0;
}

int64_t
config_warmup_cap(const struct config_warmup *w, int64_t now_ms)
{
	double cap = (double)w->start;
	int64_t steps;

	if (w->start == 0)
		return -1;
	steps = now_ms > w->from_ms ? (now_ms - w->from_ms) / w->every_ms : 0;
	while (steps-- > 0 && cap < 1e12)
		cap *= w->factor;
	return cap >= 1e12 ? -1 : (int64_t)cap;
}

/* A provider the file tunes without naming its MX keeps the built-in's. */
static int
builtin_mx(struct config_shape_rule *r)
{
	size_t i, k;

	for (i = 0; i < sizeof(builtin_providers) /
	    sizeof(builtin_providers[0]); i++) {
		if (strcmp(builtin_providers[i].name, r->name) != 0)
			continue;
		r->mx = xcalloc(4, sizeof(*r->mx));
		for (k = 0; k < 4 && builtin_providers[i].mx[k] != NULL; k++)
			r->mx[r->nmx++] = xstrdup(builtin_providers[i].mx[k]);
		return 1;
	}
	return 0;
}

static int
shape_rules(const char *path, const char *section, json_t *obj,
    int providers, struct config_shape_rule **out, size_t *n,
    struct err *e)
{
	char w[CONFIG_WHERE], pat[LIMIT_ADDR_DOMAIN + 3];
	struct config_shape_rule *r;
	const char *key;
	json_t *v;
	size_t k;

	if (!json_is_object(obj) || json_object_size(obj) > LIMIT_CONFIG_ROUTES)
		return err_set(e, EX_CONFIG, "%s: \"%s\" must be an object of "
		    "at most %d rules", path, section, LIMIT_CONFIG_ROUTES);
	*out = xcalloc(json_object_size(obj) + (providers ?
	    sizeof(builtin_providers) / sizeof(builtin_providers[0]) : 0),
	    sizeof(**out));
	json_object_foreach(obj, key, v) {
		config_where(w, sizeof(w), section, key);
		r = &(*out)[(*n)++];
		if (!providers && config_pattern(key, pat, sizeof(pat)) < 0)
			return err_set(e, EX_CONFIG, "%s: \"%s\": the key must be "
			    "a domain or \"*.\" and a domain", path, w);
		for (k = 0; !providers && k + 1 < *n; k++)
			if (strcmp((*out)[k].name, pat) == 0)
				return err_set(e, EX_CONFIG, "%s: \"%s\": the same "
				    "domain as \"%s\" before", path, w, pat);
		r->name = xstrdup(providers ? key : pat);
		if (!json_is_object(v))
			return err_set(e, EX_CONFIG, "%s: \"%s\" must be an "
			    "object", path, w);
		if (shape_fields(path, w, v, &r->s, providers ? 2 : 0, e) < 0)
			return -1;
		if (providers && json_object_get(v, "warmup") != NULL &&
		    shape_warmup(path, w, json_object_get(v, "warmup"),
		    &r->warmup, e) < 0)
			return -1;
		if (providers && json_object_get(v, "mx") == NULL &&
		    builtin_mx(r))
			continue;
		if (providers && shape_mx(path, w, json_object_get(v, "mx"), r,
		    e) < 0)
			return -1;
	}
	return 0;
}

static int
shape_patterns(const char *path, json_t *arr, struct config *cfg,
    struct err *e)
{
	json_t *v;
	size_t i;

	if (!json_is_array(arr) || json_array_size(arr) > 256)
		return err_set(e, EX_CONFIG, "%s: \"shaping.throttle_patterns\" "
		    "must be a list of at most 256 strings", path);
	cfg->throttle_patterns = xcalloc(json_array_size(arr) + 1,
	    sizeof(char *));
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > 128)
			return err_set(e, EX_CONFIG, "%s: \"shaping."
			    "throttle_patterns[%zu]\" must be a string of 1 to "
			    "128 characters", path, i);
		cfg->throttle_patterns[cfg->nthrottle_patterns++] =
		    xstrdup(json_string_value(v));
	}
	return 0;
}

int
config_shaping(const char *path, json_t *v, struct config *cfg,
    struct err *e)
{
	static const char *known[] = { "default", "domains", "providers",
	    "global", "throttle_patterns", NULL };
	json_t *o;

	if (config_keys(path, "shaping", v, known, e) < 0)
		return -1;
	if ((o = json_object_get(v, "default")) != NULL &&
	    shape_fields(path, "shaping.default", o, &cfg->shape_default, 0,
	    e) < 0)
		return -1;
	if ((o = json_object_get(v, "global")) != NULL &&
	    shape_fields(path, "shaping.global", o, &cfg->shape_global, 1,
	    e) < 0)
		return -1;
	if ((o = json_object_get(v, "domains")) != NULL &&
	    shape_rules(path, "shaping.domains", o, 0, &cfg->shape_domains,
	    &cfg->nshape_domains, e) < 0)
		return -1;
	if ((o = json_object_get(v, "providers")) != NULL &&
	    shape_rules(path, "shaping.providers", o, 1, &cfg->providers,
	    &cfg->nproviders, e) < 0)
		return -1;
	if ((o = json_object_get(v, "throttle_patterns")) != NULL &&
	    shape_patterns(path, o, cfg, e) < 0)
		return -1;
	return 0;
}

int
config_retry(const char *path, json_t *v, struct config *cfg,
    struct err *e)
{
	static const char *known[] = { "schedule", "max_age", NULL };
	json_t *arr, *x;
	size_t i;

	if (config_keys(path, "retry", v, known, e) < 0)
		return -1;
	if ((arr = json_object_get(v, "schedule")) != NULL) {
		if (!json_is_array(arr) || json_array_size(arr) == 0 ||
		    json_array_size(arr) > CONFIG_RETRY_STEPS)
			return err_set(e, EX_CONFIG, "%s: \"retry.schedule\" "
			    "must be a list of 1 to %d durations", path,
			    CONFIG_RETRY_STEPS);
		json_array_foreach(arr, i, x)
			if (!json_is_string(x) || config_duration(
			    json_string_value(x), &cfg->retry_ms[i]) < 0)
				return err_set(e, EX_CONFIG, "%s: \"retry."
				    "schedule[%zu]\" must be a duration such as "
				    "\"30s\", \"5m\", \"2h\" or \"1d\"", path, i);
		cfg->nretry = (int)json_array_size(arr);
	}
	if ((x = json_object_get(v, "max_age")) != NULL &&
	    (!json_is_string(x) || config_duration(json_string_value(x),
	    &cfg->retry_max_age_ms) < 0))
		return err_set(e, EX_CONFIG, "%s: \"retry.max_age\" must be a "
		    "duration such as \"12h\" or \"3d\"", path);
	return 0;
}

static void
shape_fill(struct config_shape *s, const struct config_shape *def)
{
	if (s->connections == 0)
		s->connections = def->connections;
	if (s->messages_per_connection == 0)
		s->messages_per_connection = def->messages_per_connection;
	if (s->rate == 0 && s->burst == 0)
		s->rate = def->rate;
}

void
config_shaping_defaults(struct config *cfg)
{
	size_t i, k, n = sizeof(builtin_providers) /
	    sizeof(builtin_providers[0]);
	struct config_shape_rule *r;

	shape_fill(&cfg->shape_default, &builtin_default);
	shape_fill(&cfg->shape_global, &builtin_global);
	if (cfg->providers == NULL)
		cfg->providers = xcalloc(n, sizeof(*cfg->providers));
	for (i = 0; i < n; i++) {
		for (k = 0; k < cfg->nproviders; k++)
			if (strcmp(cfg->providers[k].name,
			    builtin_providers[i].name) == 0)
				break;
		if (k < cfg->nproviders)
			continue;
		r = &cfg->providers[cfg->nproviders++];
		r->name = xstrdup(builtin_providers[i].name);
		r->s = builtin_providers[i].s;
		(void)builtin_mx(r);
	}
	if (cfg->throttle_patterns == NULL) {
		n = sizeof(builtin_patterns) / sizeof(builtin_patterns[0]);
		cfg->throttle_patterns = xcalloc(n, sizeof(char *));
		for (i = 0; i < n; i++)
			cfg->throttle_patterns[i] = xstrdup(builtin_patterns[i]);
		cfg->nthrottle_patterns = n;
	}
	if (cfg->nretry == 0) {
		n = sizeof(builtin_retry_ms) / sizeof(builtin_retry_ms[0]);
		memcpy(cfg->retry_ms, builtin_retry_ms, sizeof(builtin_retry_ms));
		cfg->nretry = (int)n;
	}
	if (cfg->retry_max_age_ms == 0)
		cfg->retry_max_age_ms = BUILTIN_MAX_AGE_MS;
}

static void
rules_free(struct config_shape_rule *r, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		free(r[i].name);
		for (k = 0; k < r[i].nmx; k++)
			free(r[i].mx[k]);
		free(r[i].mx);
	}
	free(r);
}

void
config_shaping_free(struct config *cfg)
{
	size_t i;

	rules_free(cfg->shape_domains, cfg->nshape_domains);
	rules_free(cfg->providers, cfg->nproviders);
	for (i = 0; i < cfg->nthrottle_patterns; i++)
		free(cfg->throttle_patterns[i]);
	free(cfg->throttle_patterns);
}

void
config_domain_shape(const struct config *cfg, const char *domain,
    struct config_shape *out)
{
	const struct config_shape *best = &cfg->shape_default;
	int m, bm = -1;
	size_t i;

	for (i = 0; i < cfg->nshape_domains; i++)
		if ((m = config_match(cfg->shape_domains[i].name, domain)) >
		    bm) {
			best = &cfg->shape_domains[i].s;
			bm = m;
		}
	*out = *best;
	/* What the domain's rule leaves open, the default decides. */
	if (out->connections == 0)
		out->connections = cfg->shape_default.connections;
	if (out->messages_per_connection == 0)
		out->messages_per_connection =
		    cfg->shape_default.messages_per_connection;
	if (out->rate == 0 && out->burst == 0)
		out->rate = cfg->shape_default.rate;
}

int
config_provider(const struct config *cfg, const char *const *hosts,
    size_t n)
{
	size_t p, k, i;

	for (p = 0; p < cfg->nproviders; p++)
		for (k = 0; k < cfg->providers[p].nmx; k++)
			for (i = 0; i < n; i++)
				if (config_match(cfg->providers[p].mx[k],
				    hosts[i]) >= 0)
					return (int)p;
	return -1;
}
