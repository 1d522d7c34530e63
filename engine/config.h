/*
 * config.h - the JSON configuration file (postbote.json).
 *
 * config_load() reads the whole file with jansson and checks every key it
 * knows; an unknown key is an error, so a typo never silently falls back to
 * a default. Errors (EX_CONFIG) name the file and the line and column
 * (syntax) or the full key path and what was expected (values), e.g.
 *   postbote.json: "delivery.routes.*.test.port" must be an integer from
 *   1 to 65535
 * The struct owns its strings and arrays; config_free() releases them.
 *
 * Nothing outside the file is touched at load: DKIM key files are read by
 * dkim_signer_open() and password files by the send, so a config can be
 * checked on a machine without the secrets. Passwords never appear in the
 * file itself, only the file or environment variable that holds them.
 *
 * Pure apart from reading the file; a loaded struct config is read-only
 * and may be shared by threads.
 */
#ifndef POSTBOTE_CONFIG_H
#define POSTBOTE_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "dkim.h"
#include "err.h"
#include "store.h"

enum config_mode {
	CONFIG_MODE_MX,		/* look up each domain's MX hosts */
	CONFIG_MODE_RELAY	/* hand everything to delivery.relay */
};

/*
 * One enum for every TLS setting. The relay's "starttls" is
 * CONFIG_TLS_REQUIRED: STARTTLS or no session. Maps onto smtp.h as
 * NONE -> SMTP_TLS_NONE, OPPORTUNISTIC -> SMTP_TLS_MAY, REQUIRED ->
 * SMTP_TLS_REQUIRE, IMPLICIT -> implicit_tls (TLS from the first byte).
 */
enum config_tls {
	CONFIG_TLS_NONE,
	CONFIG_TLS_OPPORTUNISTIC,
	CONFIG_TLS_REQUIRED,
	CONFIG_TLS_IMPLICIT
};

/* A next hop: a route's or the relay's. */
struct config_hop {
	char *host;		/* A-label host name or IP literal */
	int port;		/* 1-65535 */
	enum config_tls tls;
	char *username;		/* NULL: no AUTH */
	char *password_file;	/* exactly one of these two when username */
	char *password_env;	/* is set, else both NULL */
	int auth_plaintext;	/* AUTH allowed without TLS (a route on a
				   trusted network); default no */
};

/* "delivery.timeouts", seconds; 0: the default (RFC 5321 4.5.3.2). */
struct config_timeouts {
	int connect;
	int greeting;
	int mail;
	int rcpt;
	int data_init;
	int data_block;
	int data_end;
	int idle;		/* an unused pooled connection is closed */
};

struct config_route {
	char *pattern;		/* "example.com" or "*.example.com", A-label */
	struct config_hop hop;
};

/*
 * "shaping": limits on how fast and over how many connections mail goes,
 * per rule. 0 in a field: this rule does not limit it.
 */
struct config_shape {
	int connections;
	int messages_per_connection;
	double rate;		/* messages a second; 0: not set here,
				   CONFIG_RATE_UNLIMITED: no limit */
	int burst;		/* messages at once; 0: one second's worth */
};

/*
 * A provider's warm-up: at most start messages a UTC day from the day
 * "from", times factor for every `every` days since (a new IP or domain
 * earning its reputation). start 0: no warm-up.
 */
struct config_warmup {
	int64_t start;
	double factor;
	int64_t every_ms;
	int64_t from_ms;	/* midnight UTC of the first day */
};

struct config_shape_rule {
	char *name;		/* a domain pattern, or a provider's name */
	char **mx;		/* a provider's MX host patterns */
	size_t nmx;
	struct config_shape s;
	struct config_warmup warmup;	/* providers only */
};

/*
 * "webhooks": [ { "name", "url", "events": [...], "secret_file" or
 * "secret_env", "max_attempts", "retry_base", "timeout" } ]. The secret
 * signs each body (HMAC-SHA256); like passwords it is never in the file.
 */
struct config_webhook {
	char *name;
	char *url;		/* http:// or https:// */
	char **events;		/* event types, or "*" */
	size_t nevents;
	char *secret_file;	/* exactly one of these two */
	char *secret_env;
	int max_attempts;	/* then the call is dead-lettered */
	int64_t retry_base_ms;	/* first backoff; doubles, capped at 1 h */
	int64_t timeout_ms;
};

/*
 * "hygiene": { "inactive_campaigns": 5, "inactive_days": 180,
 * "soft_bounce_campaigns": 3, "dns_concurrency": 256, "dns_timeout": "5s",
 * "disposable_file": "/path" } -- see hygiene.h and README.md.
 */
struct config_hygiene {
	int inactive_campaigns;
	int inactive_days;
	int soft_bounce_campaigns;
	int dns_concurrency;
	int64_t dns_timeout_ms;		/* per try */
	char *disposable_file;		/* NULL: the shipped list */
};

#define CONFIG_RETRY_STEPS	16
#define CONFIG_RATE_UNLIMITED	(-1.0)

struct config {
	char *database;		/* NULL: not set */
	/* "tracking": { "base_url": "https://t.example.com", "opens": true,
	 * "clicks": true } -- base_url without a trailing slash. */
	char *tracking_base_url;	/* NULL: no tracking server */
	int tracking_opens;
	int tracking_clicks;
	/* `track serve`: "listen" "127.0.0.1:8080" (NULL: that), "threads",
	 * "machine_seconds": an open or click this soon after delivery is a
	 * machine's (a scanner's, a proxy's prefetch). */
	char *tracking_listen;
	int tracking_threads;
	int machine_seconds;
	/* "bounces": { "return_path_domain": "bounce.example.com" } */
	char *return_path_domain;	/* an A-label; NULL: none */

	char *hostname;		/* EHLO name, an A-label; NULL: unset (the
				   send decides) */
	/* "delivery": see README.md. */
	enum config_mode mode;		/* default CONFIG_MODE_MX */
	enum config_tls tls;		/* NONE, OPPORTUNISTIC (default) or
					   REQUIRED */
	char *dns_servers;	/* "127.0.0.1:5353,[::1]:53" as struct
				   dns_config takes it; NULL: the system's */
	struct config_route *routes;	/* in file order */
	size_t nroutes;
	struct config_hop relay;	/* relay.host NULL: no relay */
	char *ca_file;		/* PEM CA bundle; NULL: the system store */
	int mx_port;		/* port of MX hosts; 0: 25 (tests: other) */
	char *source_address;	/* IP literal to send from; NULL: any */
	struct config_timeouts timeouts;
	/* "dkim": [ {...} ]; strings owned here, domain a lower A-label,
	 * algorithm "rsa-sha256" or "ed25519-sha256". */
	struct dkim_key_conf *dkim;
	int ndkim;
	int workers;		/* 1..LIMIT_WORKERS; 0: number of cores */
	/* "shaping": see README.md; the built-in values fill what is unset. */
	struct config_shape shape_default;	/* per recipient domain */
	struct config_shape shape_global;	/* the whole run */
	struct config_shape_rule *shape_domains;	/* in file order */
	size_t nshape_domains;
	struct config_shape_rule *providers;	/* file's, then built-in */
	size_t nproviders;
	char **throttle_patterns;	/* reply texts that mean "slow down" */
	size_t nthrottle_patterns;
	/* "retry": { "schedule": ["5m", ...], "max_age": "3d" } */
	int64_t retry_ms[CONFIG_RETRY_STEPS];
	int nretry;
	int64_t retry_max_age_ms;
	/* "feedback": { "soft_bounce_limit", "unsubscribe": "list" or
	 * "global", "complaint_rate_pause", "complaint_rate_warn",
	 * "hard_bounce_rate_pause", "min_volume" } */
	struct feedback_policy feedback;
	struct config_webhook *webhooks;
	size_t nwebhooks;
	struct config_hygiene hygiene;
};


/* A missing file is an error only when required is set. */
int config_load(const char *path, int required, struct config *cfg,
    struct err *e) WUR;
void config_free(struct config *cfg);

/*
 * The route for domain (a lower-case A-label): the exact match, else the
 * "*." pattern with the longest suffix ("*.example.com" matches
 * a.example.com and b.a.example.com, not example.com), else NULL.
 */
const struct config_route *config_route(const struct config *cfg,
    const char *domain);

/*
 * How well pattern ("a.example" or "*.example") matches name: -1 not at
 * all, CONFIG_MATCH_EXACT for the name itself, else the length of the
 * matched suffix (the longer, the more specific). Case-insensitive.
 */
#define CONFIG_MATCH_EXACT	100000
int config_match(const char *pattern, const char *name);

/* "30s", "5m", "2h", "3d": a positive integer and a unit, up to a year;
 * -1: not one. The config's durations and `campaign create --after`. */
int config_duration(const char *s, int64_t *ms) WUR;

/* A recipient domain's shaping: its best shaping.domains rule, else the
   default, with what the rule leaves unset taken from the default. */
void config_domain_shape(const struct config *cfg, const char *domain,
    struct config_shape *out);
/* The provider (an index in cfg->providers) one of the MX hosts names;
   -1: none. */
int config_provider(const struct config *cfg, const char *const *hosts,
    size_t n);
/* A provider's warm-up cap for the UTC day holding now_ms; -1: none. */
int64_t config_warmup_cap(const struct config_warmup *w, int64_t now_ms);

#endif
