/*
 * config.c - loading postbote.json; see config.h.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "addr.h"
#include "config.h"
#include "config_int.h"
#include "limits.h"
#include "xalloc.h"


int
config_string(const char *path, const char *key, json_t *v, char **out,
    struct err *e)
{
	if (!json_is_string(v) || json_string_length(v) == 0)
		return err_set(e, EX_CONFIG, "%s: \"%s\" must be a non-empty "
		    "string", path, key);
	*out = xstrdup(json_string_value(v));
	return 0;
}

/* Sets *out to the object's boolean member key, or leaves the default. */
int
config_bool(const char *path, const char *section, json_t *obj,
    const char *key, int *out, struct err *e)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return err_set(e, EX_CONFIG, "%s: \"%s.%s\" must be true or "
		    "false", path, section, key);
	*out = json_is_true(v);
	return 0;
}

int
config_keys(const char *path, const char *section, json_t *obj,
    const char *const *known, struct err *e)
{
	const char *key;
	json_t *v;
	int i;

	if (!json_is_object(obj))
		return err_set(e, EX_CONFIG, "%s: \"%s\" must be an object",
		    path, section);
	json_object_foreach(obj, key, v) {
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (known[i] == NULL)
			return err_set(e, EX_CONFIG, "%s: unknown key "
			    "\"%s.%s\"", path, section, key);
	}
	return 0;
}

/*
 * The base URL goes into every tracked link and the pixel's src, written
 * into HTML without escaping: it may hold only URL characters that need
 * none.
 */
static int
config_tracking(const char *path, json_t *obj, struct config *cfg,
    struct err *e)
{
	static const char *known[] = { "base_url", "opens", "clicks",
	    "listen", "threads", "machine_seconds", NULL };
	json_t *v;
	size_t n, i;
	char *u;

	if (config_keys(path, "tracking", obj, known, e) < 0)
		return -1;
	cfg->tracking_opens = cfg->tracking_clicks = 1;
	if (config_bool(path, "tracking", obj, "opens", &cfg->tracking_opens,
	    e) < 0 || config_bool(path, "tracking", obj, "clicks",
	    &cfg->tracking_clicks, e) < 0 ||
	    config_member_str(path, "tracking", obj, "listen", 0,
	    &cfg->tracking_listen, e) < 0 ||
	    config_member_int(path, "tracking", obj, "threads", 1, 64,
	    &cfg->tracking_threads, e) < 0 ||
	    config_member_int(path, "tracking", obj, "machine_seconds", 0,
	    3600, &cfg->machine_seconds, e) < 0)
		return -1;
	if ((v = json_object_get(obj, "base_url")) == NULL)
		return err_set(e, EX_CONFIG, "%s: \"tracking.base_url\" is "
		    "missing", path);
	if (config_string(path, "tracking.base_url", v,
	    &cfg->tracking_base_url, e) < 0)
		return -1;
	u = cfg->tracking_base_url;
	n = strlen(u);
	while (n > 0 && u[n - 1] == '/')
		u[--n] = '\0';
	if (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0)
		return err_set(e, EX_CONFIG, "%s: \"tracking.base_url\" must "
		    "start with https:// (or http://)", path);
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)u[i]) &&
		    strchr(":/.-_~%!$()*+,;=@", u[i]) == NULL)
			return err_set(e, EX_CONFIG, "%s: \"tracking.base_url\" "
			    "has a character that is not allowed there "
			    "(position %zu)", path, i + 1);
	return 0;
}

static int
config_bounces(const char *path, json_t *obj, struct config *cfg,
    struct err *e)
{
	static const char *known[] = { "return_path_domain", NULL };
	char domain[LIMIT_ADDR_DOMAIN + 1];
	json_t *v;

	if (config_keys(path, "bounces", obj, known, e) < 0)
		return -1;
	if ((v = json_object_get(obj, "return_path_domain")) == NULL)
		return 0;
	if (!json_is_string(v) || addr_domain(json_string_value(v),
	    json_string_length(v), domain, sizeof(domain), e) < 0)
		return err_set(e, EX_CONFIG, "%s: \"bounces.return_path_domain"
		    "\" is not a domain name", path);
	cfg->return_path_domain = xstrdup(domain);
	return 0;
}

/* ------------------------------------------------------ member helpers */

/* Sets *out to "where.key"; the path every message names. */
const char *
config_where(char *out, size_t n, const char *where, const char *key)
{
	int r = snprintf(out, n, "%s.%s", where, key);

	if (r < 0 || (size_t)r >= n)	/* an absurd route key: cut, marked */
		memcpy(out + n - 4, "...", 4);
	return out;
}

/*
 * A required (or optional) non-empty string member. jansson refuses
 * "\u0000" unless asked, so no string holds a NUL.
 */
int
config_member_str(const char *path, const char *where, json_t *obj,
    const char *key, int required, char **out, struct err *e)
{
	json_t *v = json_object_get(obj, key);
	char w[CONFIG_WHERE];

	config_where(w, sizeof(w), where, key);
	if (v == NULL) {
		if (required)
			return err_set(e, EX_CONFIG, "%s: \"%s\" is missing",
			    path, w);
		return 0;
	}
	return config_string(path, w, v, out, e);
}

/* An integer member in [lo, hi]; leaves *out when absent. */
int
config_member_int(const char *path, const char *where, json_t *obj,
    const char *key, int lo, int hi, int *out, struct err *e)
{
	json_t *v = json_object_get(obj, key);
	char w[CONFIG_WHERE];

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo ||
	    json_integer_value(v) > hi)
		return err_set(e, EX_CONFIG, "%s: \"%s\" must be an integer "
		    "from %d to %d", path, config_where(w, sizeof(w), where,
		    key), lo, hi);
	*out = (int)json_integer_value(v);
	return 0;
}

struct config_name {
	const char *name;
	int value;
};

/* One of names[] (NULL-terminated); leaves *out when absent. */
static int
config_member_enum(const char *path, const char *where, json_t *obj,
    const char *key, const struct config_name *names, int *out,
    struct err *e)
{
	json_t *v = json_object_get(obj, key);
	char w[CONFIG_WHERE], list[256];
	size_t i, n = 0;

	if (v == NULL)
		return 0;
	for (i = 0; json_is_string(v) && names[i].name != NULL; i++)
		if (strcmp(json_string_value(v), names[i].name) == 0) {
			*out = names[i].value;
			return 0;
		}
	list[0] = '\0';
	for (i = 0; names[i].name != NULL && n < sizeof(list); i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s\"%s\"",
		    i == 0 ? "" : names[i + 1].name == NULL ? " or " : ", ",
		    names[i].name);
	return err_set(e, EX_CONFIG, "%s: \"%s\" must be %s", path,
	    config_where(w, sizeof(w), where, key), list);
}

/* A host name (made an A-label) or an IPv4 or IPv6 literal. */
static int
config_member_host(const char *path, const char *where, json_t *obj,
    const char *key, char **out, struct err *e)
{
	char domain[LIMIT_ADDR_DOMAIN + 1], w[CONFIG_WHERE];
	unsigned char sa[sizeof(struct in6_addr)];
	struct err ignored;
	const char *s;

	if (config_member_str(path, where, obj, key, 1, out, e) < 0)
		return -1;
	s = *out;
	if (inet_pton(AF_INET, s, sa) == 1 || inet_pton(AF_INET6, s, sa) == 1)
		return 0;
	if (addr_domain(s, strlen(s), domain, sizeof(domain), &ignored) < 0)
		return err_set(e, EX_CONFIG, "%s: \"%s\" must be a host name "
		    "or an IP address", path, config_where(w, sizeof(w),
		    where, key));
	free(*out);
	*out = xstrdup(domain);
	return 0;
}

/* ------------------------------------------------------------ delivery */

static const struct config_name config_tls_delivery[] = {
	{ "none", CONFIG_TLS_NONE },
	{ "opportunistic", CONFIG_TLS_OPPORTUNISTIC },
	{ "required", CONFIG_TLS_REQUIRED },
	{ NULL, 0 }
};

static const struct config_name config_tls_route[] = {
	{ "none", CONFIG_TLS_NONE },
	{ "opportunistic", CONFIG_TLS_OPPORTUNISTIC },
	{ "required", CONFIG_TLS_REQUIRED },
	{ "implicit", CONFIG_TLS_IMPLICIT },
	{ NULL, 0 }
};

/* A relay is one known host: TLS is either there or the send fails. */
static const struct config_name config_tls_relay[] = {
	{ "none", CONFIG_TLS_NONE },
	{ "starttls", CONFIG_TLS_REQUIRED },
	{ "implicit", CONFIG_TLS_IMPLICIT },
	{ NULL, 0 }
};

static int
config_env_name_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!(isalpha((unsigned char)s[i]) || s[i] == '_' ||
		    (i > 0 && isdigit((unsigned char)s[i]))))
			return 0;
	return 1;
}

/*
 * The password itself is refused: a config file is copied, mailed and
 * committed far more carelessly than a secret should be.
 */
static int
config_no_password(const char *path, const char *where, json_t *obj,
    struct err *e)
{
	char w[CONFIG_WHERE];

	if (!json_is_object(obj) || json_object_get(obj, "password") == NULL)
		return 0;
	return err_set(e, EX_CONFIG, "%s: \"%s\" is not allowed: give the "
	    "password in a file (\"password_file\") or an environment "
	    "variable (\"password_env\")", path, config_where(w, sizeof(w),
	    where, "password"));
}

/* username with exactly one of password_file and password_env. */
static int
config_auth(const char *path, const char *where, json_t *obj,
    struct config_hop *h, struct err *e)
{
	char w[CONFIG_WHERE];

	if (config_member_str(path, where, obj, "username", 0, &h->username,
	    e) < 0 || config_member_str(path, where, obj, "password_file", 0,
	    &h->password_file, e) < 0 || config_member_str(path, where, obj,
	    "password_env", 0, &h->password_env, e) < 0)
		return -1;
	if (h->username != NULL && strlen(h->username) > LIMIT_SMTP_CRED)
		return err_set(e, EX_CONFIG, "%s: \"%s\" must be at most %d "
		    "characters", path, config_where(w, sizeof(w), where,
		    "username"), LIMIT_SMTP_CRED);
	if (h->password_env != NULL && !config_env_name_ok(h->password_env))
		return err_set(e, EX_CONFIG, "%s: \"%s\" must be an environment"
		    " variable name (letters, digits, _)", path, config_where(w,
		    sizeof(w), where, "password_env"));
	if (h->password_file != NULL && h->password_env != NULL)
		return err_set(e, EX_CONFIG, "%s: \"%s\" and \"password_env\" "
		    "are exclusive: give one", path, config_where(w, sizeof(w),
		    where, "password_file"));
	if (h->username != NULL && h->password_file == NULL &&
	    h->password_env == NULL)
		return err_set(e, EX_CONFIG, "%s: \"%s\" needs \"password_file\""
		    " or \"password_env\"", path, config_where(w, sizeof(w),
		    where, "username"));
	if (h->username == NULL && (h->password_file || h->password_env))
		return err_set(e, EX_CONFIG, "%s: \"%s\" is missing (a password"
		    " is given)", path, config_where(w, sizeof(w), where,
		    "username"));
	return 0;
}

/*
 * host, port, tls and credentials. Without a port, implicit TLS takes
 * 465 (RFC 8314 3.3) rather than def: nobody speaks TLS at once on 25
 * or 587.
 */
static int
config_hop(const char *path, const char *where, json_t *obj,
    const struct config_name *tls, int def_port, struct config_hop *h,
    struct err *e)
{
	static const char *known[] = { "host", "port", "tls", "username",
	    "password_file", "password_env", "password", "auth_plaintext",
	    NULL };
	int t = (int)h->tls;

	if (config_no_password(path, where, obj, e) < 0 ||
	    config_keys(path, where, obj, known, e) < 0 ||
	    config_member_host(path, where, obj, "host", &h->host, e) < 0 ||
	    config_member_enum(path, where, obj, "tls", tls, &t, e) < 0 ||
	    config_bool(path, where, obj, "auth_plaintext",
	    &h->auth_plaintext, e) < 0)
		return -1;
	h->tls = (enum config_tls)t;
	h->port = h->tls == CONFIG_TLS_IMPLICIT ? 465 : def_port;
	if (config_member_int(path, where, obj, "port", 1, 65535, &h->port,
	    e) < 0)
		return -1;
	return config_auth(path, where, obj, h, e);
}

/*
 * "example.com" or "*.example.com", made a lower-case A-label. The
 * suffix of a pattern may be one label ("*.test"), which addr_domain()
 * refuses for a mail domain, so it is checked with a label in front.
 */
int
config_pattern(const char *key, char *out, size_t n)
{
	char tmp[LIMIT_ADDR_DOMAIN * 4 + 8], d[LIMIT_ADDR_DOMAIN + 3];
	struct err ignored;
	int wild = strncmp(key, "*.", 2) == 0;

	if (snprintf(tmp, sizeof(tmp), "%s%s", wild ? "x." : "", key +
	    (wild ? 2 : 0)) >= (int)sizeof(tmp))
		return -1;
	if (addr_domain(tmp, strlen(tmp), d, sizeof(d) - 2, &ignored) < 0)
		return -1;
	if (wild)
		d[0] = '*';
	if (strlen(d) >= n)
		return -1;
	memcpy(out, d, strlen(d) + 1);
	return 0;
}

static int
config_route_one(const char *path, const char *key, json_t *v,
    struct config *cfg, struct err *e)
{
	char w[CONFIG_WHERE], pat[LIMIT_ADDR_DOMAIN + 3];
	struct config_route *r;
	size_t i;

	config_where(w, sizeof(w), "delivery.routes", key);
	if (config_pattern(key, pat, sizeof(pat)) < 0)
		return err_set(e, EX_CONFIG, "%s: \"%s\": the key must be a "
		    "domain or \"*.\" and a domain", path, w);
	for (i = 0; i < cfg->nroutes; i++)
		if (strcmp(cfg->routes[i].pattern, pat) == 0)
			return err_set(e, EX_CONFIG, "%s: \"%s\": the same "
			    "domain as \"%s\" before", path, w, pat);
	r = &cfg->routes[cfg->nroutes++];
	r->pattern = xstrdup(pat);
	r->hop.tls = cfg->tls;
	return config_hop(path, w, v, config_tls_route, 25, &r->hop, e);
}

static int
config_routes(const char *path, json_t *obj, struct config *cfg,
    struct err *e)
{
	const char *key;
	json_t *v;

	if (obj == NULL)
		return 0;
	if (!json_is_object(obj))
		return err_set(e, EX_CONFIG, "%s: \"delivery.routes\" must be "
		    "an object", path);
	if (json_object_size(obj) > LIMIT_CONFIG_ROUTES)
		return err_set(e, EX_CONFIG, "%s: \"delivery.routes\" must "
		    "have at most %d entries", path, LIMIT_CONFIG_ROUTES);
	cfg->routes = xcalloc(json_object_size(obj) + 1,
	    sizeof(*cfg->routes));
	json_object_foreach(obj, key, v)
		if (config_route_one(path, key, v, cfg, e) < 0)
			return -1;
	return 0;
}

/* A port of 1-65535 in s[0..n), digits only. */
static int
config_port_ok(const char *s, size_t n)
{
	long port = 0;
	size_t i;

	if (n == 0 || n > 5)
		return 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return 0;
		port = port * 10 + (s[i] - '0');
	}
	return port >= 1 && port <= 65535;
}

/* "192.0.2.1:53" or "[2001:db8::1]:53". */
static int
config_dns_server_ok(const char *s)
{
	unsigned char sa[sizeof(struct in6_addr)];
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *h = s;
	int af = AF_INET;

	if (s[0] == '[') {
		if ((colon = strstr(s, "]:")) == NULL)
			return 0;
		h = s + 1;
		af = AF_INET6;
	} else if ((colon = strrchr(s, ':')) == NULL)
		return 0;
	if ((size_t)(colon - h) >= sizeof(host))
		return 0;
	memcpy(host, h, (size_t)(colon - h));
	host[colon - h] = '\0';
	colon += af == AF_INET6 ? 2 : 1;
	return inet_pton(af, host, sa) == 1 &&
	    config_port_ok(colon, strlen(colon));
}

/* Joined with commas, as struct dns_config takes the list. */
static int
config_dns_servers(const char *path, json_t *arr, struct config *cfg,
    struct err *e)
{
	char list[LIMIT_DNS_SERVERS + 1];
	size_t i, n = 0, len;
	const char *s;
	json_t *v;

	if (arr == NULL)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return err_set(e, EX_CONFIG, "%s: \"delivery.dns_servers\" "
		    "must be a non-empty array of \"address:port\" strings",
		    path);
	json_array_foreach(arr, i, v) {
		s = json_string_value(v);
		if (s == NULL || !config_dns_server_ok(s))
			return err_set(e, EX_CONFIG, "%s: \"delivery.dns_servers"
			    "[%zu]\" must be \"IPv4:port\" or \"[IPv6]:port\" "
			    "(port 1-65535)", path, i);
		len = strlen(s);
		if (n + (n > 0) + len > LIMIT_DNS_SERVERS)
			return err_set(e, EX_CONFIG, "%s: \"delivery.dns_servers"
			    "\" must be at most %d characters joined", path,
			    LIMIT_DNS_SERVERS);
		if (n > 0)
			list[n++] = ',';
		memcpy(list + n, s, len);
		n += len;
	}
	list[n] = '\0';
	cfg->dns_servers = xstrdup(list);
	return 0;
}

/*
 * "timeouts": { "connect": 30, "greeting": 300, ... } in seconds; what is
 * absent keeps the RFC 5321 4.5.3.2 default (0 here).
 */
static int
config_timeouts(const char *path, json_t *obj, struct config *cfg,
    struct err *e)
{
	static const char *known[] = { "connect", "greeting", "mail", "rcpt",
	    "data_init", "data_block", "data_end", "idle", NULL };
	int *slot[] = { &cfg->timeouts.connect, &cfg->timeouts.greeting,
	    &cfg->timeouts.mail, &cfg->timeouts.rcpt,
	    &cfg->timeouts.data_init, &cfg->timeouts.data_block,
	    &cfg->timeouts.data_end, &cfg->timeouts.idle };
	size_t i;

	if (obj == NULL)
		return 0;
	if (config_keys(path, "delivery.timeouts", obj, known, e) < 0)
		return -1;
	for (i = 0; known[i] != NULL; i++)
		if (config_member_int(path, "delivery.timeouts", obj, known[i],
		    1, 3600, slot[i], e) < 0)
			return -1;
	return 0;
}

static int
config_source(const char *path, json_t *obj, struct config *cfg,
    struct err *e)
{
	unsigned char sa[sizeof(struct in6_addr)];
	const char *s;

	if (config_member_str(path, "delivery", obj, "source_address", 0,
	    &cfg->source_address, e) < 0)
		return -1;
	s = cfg->source_address;
	if (s != NULL && inet_pton(AF_INET, s, sa) != 1 &&
	    inet_pton(AF_INET6, s, sa) != 1)
		return err_set(e, EX_CONFIG, "%s: \"delivery.source_address\""
		    " must be an IPv4 or IPv6 address", path);
	return 0;
}

static int
config_delivery(const char *path, json_t *obj, struct config *cfg,
    struct err *e)
{
	static const char *known[] = { "mode", "tls", "dns_servers",
	    "routes", "relay", "ca_file", "mx_port", "source_address",
	    "timeouts", NULL };
	static const struct config_name modes[] = {
		{ "mx", CONFIG_MODE_MX }, { "relay", CONFIG_MODE_RELAY },
		{ NULL, 0 }
	};
	int mode = CONFIG_MODE_MX, tls = CONFIG_TLS_OPPORTUNISTIC;
	json_t *relay = json_object_get(obj, "relay");

	if (config_keys(path, "delivery", obj, known, e) < 0 ||
	    config_member_enum(path, "delivery", obj, "mode", modes, &mode,
	    e) < 0 || config_member_enum(path, "delivery", obj, "tls",
	    config_tls_delivery, &tls, e) < 0 ||
	    config_member_str(path, "delivery", obj, "ca_file", 0,
	    &cfg->ca_file, e) < 0 || config_member_int(path, "delivery", obj,
	    "mx_port", 1, 65535, &cfg->mx_port, e) < 0 ||
	    config_source(path, obj, cfg, e) < 0 ||
	    config_timeouts(path, json_object_get(obj, "timeouts"), cfg,
	    e) < 0)
		return -1;
	cfg->mode = (enum config_mode)mode;
	cfg->tls = (enum config_tls)tls;
	if (config_dns_servers(path, json_object_get(obj, "dns_servers"),
	    cfg, e) < 0 || config_routes(path, json_object_get(obj, "routes"),
	    cfg, e) < 0)
		return -1;
	if (relay == NULL && cfg->mode == CONFIG_MODE_RELAY)
		return err_set(e, EX_CONFIG, "%s: \"delivery.relay\" is "
		    "missing (\"delivery.mode\" is \"relay\")", path);
	cfg->relay.tls = CONFIG_TLS_REQUIRED;
	if (relay != NULL && config_hop(path, "delivery.relay", relay,
	    config_tls_relay, 587, &cfg->relay, e) < 0)
		return -1;
	return 0;
}

/* ---------------------------------------------------------------- dkim */

/* RFC 6376 3.1: selector = sub-domain *( "." sub-domain ). */
static int
config_selector_ok(const char *s)
{
	size_t i, n = strlen(s), label = 0;

	if (n == 0 || n > LIMIT_DKIM_SELECTOR)
		return 0;
	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
		} else if ((isalnum((unsigned char)s[i]) ||
		    (s[i] == '-' && label > 0)) && label < LIMIT_DOMAIN_LABEL)
			label++;
		else
			return 0;
	}
	return 1;
}

static void
config_dkim_free(struct dkim_key_conf *k)
{
	/* The strings were xstrdup()ed here; the struct's const is the
	 * signer's promise not to write them, not ownership. */
	free((void *)(uintptr_t)k->domain);
	free((void *)(uintptr_t)k->selector);
	free((void *)(uintptr_t)k->algorithm);
	free((void *)(uintptr_t)k->key_file);
}

static int
config_dkim_fields(const char *path, const char *w, json_t *obj,
    char **domain, char **selector, char **alg, char **file, struct err *e)
{
	static const char *known[] = { "domain", "selector", "algorithm",
	    "key_file", NULL };
	static const struct config_name algs[] = {
		{ "rsa-sha256", DKIM_RSA_SHA256 },
		{ "ed25519-sha256", DKIM_ED25519_SHA256 }, { NULL, 0 }
	};
	char a[CONFIG_WHERE];
	int alg_v = -1;

	if (config_keys(path, w, obj, known, e) < 0 ||
	    config_member_str(path, w, obj, "domain", 1, domain, e) < 0 ||
	    config_member_str(path, w, obj, "selector", 1, selector, e) < 0 ||
	    config_member_str(path, w, obj, "key_file", 1, file, e) < 0 ||
	    config_member_enum(path, w, obj, "algorithm", algs, &alg_v, e) < 0)
		return -1;
	if (alg_v < 0)
		return err_set(e, EX_CONFIG, "%s: \"%s\" is missing", path,
		    config_where(a, sizeof(a), w, "algorithm"));
	*alg = xstrdup(dkim_algorithm_name((enum dkim_algorithm)alg_v));
	if (!config_selector_ok(*selector))
		return err_set(e, EX_CONFIG, "%s: \"%s\" must be DNS labels "
		    "(letters, digits, inner hyphens, dots between), at most "
		    "%d characters", path, config_where(a, sizeof(a), w,
		    "selector"), LIMIT_DKIM_SELECTOR);
	return 0;
}

static int
config_dkim_one(const char *path, size_t i, json_t *obj, struct config *cfg,
    struct err *e)
{
	char w[CONFIG_WHERE], a[CONFIG_WHERE], d[LIMIT_ADDR_DOMAIN + 1];
	char *domain = NULL, *selector = NULL, *alg = NULL, *file = NULL;
	struct dkim_key_conf *k = &cfg->dkim[cfg->ndkim++];
	struct err ignored;
	int j;

	snprintf(w, sizeof(w), "dkim[%zu]", i);
	j = config_dkim_fields(path, w, obj, &domain, &selector, &alg, &file,
	    e);
	k->domain = domain;
	k->selector = selector;
	k->algorithm = alg;
	k->key_file = file;
	if (j < 0)
		return -1;
	if (addr_domain(domain, strlen(domain), d, sizeof(d), &ignored) < 0)
		return err_set(e, EX_CONFIG, "%s: \"%s\" is not a domain name",
		    path, config_where(a, sizeof(a), w, "domain"));
	free(domain);
	k->domain = xstrdup(d);
	for (j = 0; j < cfg->ndkim - 1; j++)
		if (strcmp(cfg->dkim[j].domain, d) == 0 &&
		    strcmp(cfg->dkim[j].algorithm, alg) == 0)
			return err_set(e, EX_CONFIG, "%s: \"%s\": a second %s "
			    "key for %s (dkim[%d] is one)", path, config_where(a,
			    sizeof(a), w, "algorithm"), alg, d, j);
	return 0;
}

static int
config_dkim(const char *path, json_t *arr, struct config *cfg,
    struct err *e)
{
	size_t i;
	json_t *v;

	if (!json_is_array(arr))
		return err_set(e, EX_CONFIG, "%s: \"dkim\" must be an array of "
		    "objects", path);
	if (json_array_size(arr) > LIMIT_CONFIG_DKIM_KEYS)
		return err_set(e, EX_CONFIG, "%s: \"dkim\" must have at most %d"
		    " keys", path, LIMIT_CONFIG_DKIM_KEYS);
	cfg->dkim = xcalloc(json_array_size(arr) + 1, sizeof(*cfg->dkim));
	json_array_foreach(arr, i, v)
		if (config_dkim_one(path, i, v, cfg, e) < 0)
			return -1;
	return 0;
}

/* ---------------------------------------------------------- top level */

static int
config_database(const char *path, json_t *v, struct config *cfg,
    struct err *e)
{
	return config_string(path, "database", v, &cfg->database, e);
}

/* The EHLO name: a host name, not looked up here when absent. */
static int
config_hostname(const char *path, json_t *v, struct config *cfg,
    struct err *e)
{
	char d[LIMIT_ADDR_DOMAIN + 1];
	struct err ignored;

	if (!json_is_string(v) || addr_domain(json_string_value(v),
	    json_string_length(v), d, sizeof(d), &ignored) < 0)
		return err_set(e, EX_CONFIG, "%s: \"hostname\" must be a host "
		    "name with a dot (e.g. mail.example.com)", path);
	cfg->hostname = xstrdup(d);
	return 0;
}

static int
config_workers(const char *path, json_t *v, struct config *cfg,
    struct err *e)
{
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > LIMIT_WORKERS)
		return err_set(e, EX_CONFIG, "%s: \"workers\" must be an "
		    "integer from 1 to %d", path, LIMIT_WORKERS);
	cfg->workers = (int)json_integer_value(v);
	return 0;
}

static const struct {
	const char *key;
	int (*load)(const char *, json_t *, struct config *, struct err *);
} config_sections[] = {
	{ "database", config_database },
	{ "tracking", config_tracking },
	{ "bounces", config_bounces },
	{ "hostname", config_hostname },
	{ "delivery", config_delivery },
	{ "dkim", config_dkim },
	{ "workers", config_workers },
	{ "shaping", config_shaping },
	{ "retry", config_retry },
	{ "feedback", config_feedback },
	{ "webhooks", config_webhooks },
	{ "hygiene", config_hygiene },
};

static int
config_root(const char *path, json_t *root, struct config *cfg,
    struct err *e)
{
	const char *key;
	json_t *v;
	size_t i;

	if (!json_is_object(root))
		return err_set(e, EX_CONFIG, "%s: the top level must be an "
		    "object", path);
	json_object_foreach(root, key, v) {
		for (i = 0; i < sizeof(config_sections) /
		    sizeof(config_sections[0]); i++)
			if (strcmp(key, config_sections[i].key) == 0)
				break;
		if (i == sizeof(config_sections) / sizeof(config_sections[0]))
			return err_set(e, EX_CONFIG, "%s: unknown key \"%s\"",
			    path, key);
		if (config_sections[i].load(path, v, cfg, e) < 0)
			return -1;
	}
	return 0;
}

/* Reads the file for jansson; past LIMIT_CONFIG_FILE it stops, so the
 * limit holds for a pipe or a file that grew after stat() too. */
struct config_reader {
	FILE *fp;
	size_t n;
	int too_large;
};

static size_t
config_read(void *buf, size_t len, void *arg)
{
	struct config_reader *r = arg;
	size_t got = fread(buf, 1, len, r->fp);

	r->n += got;
	if (r->n > LIMIT_CONFIG_FILE) {
		r->too_large = 1;
		return (size_t)-1;
	}
	if (got == 0 && ferror(r->fp))
		return (size_t)-1;
	return got;
}

int
config_load(const char *path, int required, struct config *cfg,
    struct err *e)
{
	struct config_reader rd = { NULL, 0, 0 };
	json_error_t jerr;
	struct stat sb;
	json_t *root;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	cfg->tls = CONFIG_TLS_OPPORTUNISTIC;
	config_feedback_defaults(cfg);
	config_hygiene_defaults(cfg);
	if (stat(path, &sb) != 0) {
		if (errno == ENOENT && !required) {
			config_shaping_defaults(cfg);
			return 0;
		}
		return err_set(e, errno == ENOENT ? EX_NOINPUT : EX_IOERR,
		    "%s: %s", path, strerror(errno));
	}
	if (sb.st_size > LIMIT_CONFIG_FILE)
		return err_set(e, EX_CONFIG, "%s: larger than %d bytes", path,
		    LIMIT_CONFIG_FILE);
	if ((rd.fp = fopen(path, "rb")) == NULL)
		return err_set(e, EX_IOERR, "%s: %s", path, strerror(errno));
	root = json_load_callback(config_read, &rd, JSON_REJECT_DUPLICATES,
	    &jerr);
	fclose(rd.fp);
	if (rd.too_large) {
		json_decref(root);
		return err_set(e, EX_CONFIG, "%s: larger than %d bytes", path,
		    LIMIT_CONFIG_FILE);
	}
	if (root == NULL)
		return err_set(e, EX_CONFIG, "%s:%d:%d: %s", path, jerr.line,
		    jerr.column, jerr.text);
	rc = config_root(path, root, cfg, e);
	json_decref(root);
	if (rc < 0)
		config_free(cfg);
	else
		config_shaping_defaults(cfg);
	return rc;
}

static void
config_hop_free(struct config_hop *h)
{
	free(h->host);
	free(h->username);
	free(h->password_file);
	free(h->password_env);
}

void
config_free(struct config *cfg)
{
	size_t i;
	int k;

	if (cfg == NULL)
		return;
	free(cfg->database);
	free(cfg->tracking_base_url);
	free(cfg->tracking_listen);
	config_webhooks_free(cfg);
	config_hygiene_free(cfg);
	free(cfg->return_path_domain);
	free(cfg->hostname);
	free(cfg->dns_servers);
	free(cfg->ca_file);
	free(cfg->source_address);
	for (i = 0; i < cfg->nroutes; i++) {
		free(cfg->routes[i].pattern);
		config_hop_free(&cfg->routes[i].hop);
	}
	free(cfg->routes);
	config_hop_free(&cfg->relay);
	config_shaping_free(cfg);
	for (k = 0; k < cfg->ndkim; k++)
		config_dkim_free(&cfg->dkim[k]);
	free(cfg->dkim);
	memset(cfg, 0, sizeof(*cfg));
	cfg->tls = CONFIG_TLS_OPPORTUNISTIC;
}

/* Linear: at most LIMIT_CONFIG_ROUTES, looked up once per domain. */
int
config_match(const char *pattern, const char *name)
{
	size_t nl = strlen(name), sl;

	if (pattern[0] != '*')
		return strcasecmp(pattern, name) == 0 ? CONFIG_MATCH_EXACT : -1;
	sl = strlen(pattern) - 1;	/* ".example.com" */
	if (nl > sl && strcasecmp(name + nl - sl, pattern + 1) == 0)
		return (int)sl;
	return -1;
}

const struct config_route *
config_route(const struct config *cfg, const char *domain)
{
	const struct config_route *best = NULL;
	int m, bm = -1;
	size_t i;

	for (i = 0; i < cfg->nroutes; i++)
		if ((m = config_match(cfg->routes[i].pattern, domain)) > bm) {
			best = &cfg->routes[i];
			bm = m;
		}
	return best;
}
