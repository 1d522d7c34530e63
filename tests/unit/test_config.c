/*
 * test_config.c - postbote.json: the full delivery example loads and reads
 * back, defaults, every bad value and unknown key fails with EX_CONFIG
 * naming its exact key path, and route look-up picks the exact domain,
 * then the longest "*." suffix.
 */
#include "unit.h"

#include <sysexits.h>

#include "config.h"

/* Writes json to a fresh directory's postbote.json and loads it. */
static int
load(const char *json, struct config *cfg, struct err *e)
{
	char *dir = unit_tmpdir(), path[4096];
	int rc;

	if (dir == NULL)
		abort();
	unit_write(dir, "postbote.json", json, strlen(json), path,
	    sizeof(path));
	memset(e, 0, sizeof(*e));
	rc = config_load(path, 1, cfg, e);
	unit_rmtree(dir);
	free(dir);
	return rc;
}

static const char full[] =
    "{\n"
    "  \"database\": \"/var/lib/postbote/postbote.db\",\n"
    "  \"tracking\": { \"base_url\": \"https://t.example.com/\","
    " \"opens\": false },\n"
    "  \"bounces\": { \"return_path_domain\": \"bounce.example.com\" },\n"
    "  \"hostname\": \"mail.example.com\",\n"
    "  \"delivery\": {\n"
    "    \"mode\": \"mx\",\n"
    "    \"tls\": \"opportunistic\",\n"
    "    \"dns_servers\": [\"127.0.0.1:5353\"],\n"
    "    \"routes\": { \"*.test\": { \"host\": \"127.0.0.1\", \"port\": 2525,"
    " \"tls\": \"none\" } },\n"
    "    \"relay\": { \"host\": \"smtp.example.net\", \"port\": 587,"
    " \"tls\": \"starttls\",\n"
    "               \"username\": \"news\", \"password_file\":"
    " \"/etc/postbote/relay.pass\" }\n"
    "  },\n"
    "  \"dkim\": [ { \"domain\": \"example.com\", \"selector\": \"s1\","
    " \"algorithm\": \"rsa-sha256\", \"key_file\": \"keys/s1.pem\" },\n"
    "            { \"domain\": \"example.com\", \"selector\": \"e1\","
    " \"algorithm\": \"ed25519-sha256\", \"key_file\": \"keys/e1.pem\" } ],\n"
    "  \"workers\": 2\n"
    "}\n";

static void
t_full(void **state)
{
	struct config c;
	struct err e;

	(void)state;
	assert_int_equal(load(full, &c, &e), 0);
	assert_string_equal(c.database, "/var/lib/postbote/postbote.db");
	assert_string_equal(c.tracking_base_url, "https://t.example.com");
	assert_int_equal(c.tracking_opens, 0);
	assert_int_equal(c.tracking_clicks, 1);
	assert_string_equal(c.return_path_domain, "bounce.example.com");
	assert_string_equal(c.hostname, "mail.example.com");
	assert_int_equal(c.mode, CONFIG_MODE_MX);
	assert_int_equal(c.tls, CONFIG_TLS_OPPORTUNISTIC);
	assert_string_equal(c.dns_servers, "127.0.0.1:5353");
	assert_int_equal(c.nroutes, 1);
	assert_string_equal(c.routes[0].pattern, "*.test");
	assert_string_equal(c.routes[0].hop.host, "127.0.0.1");
	assert_int_equal(c.routes[0].hop.port, 2525);
	assert_int_equal(c.routes[0].hop.tls, CONFIG_TLS_NONE);
	assert_null(c.routes[0].hop.username);
	assert_null(c.routes[0].hop.password_file);
	assert_null(c.routes[0].hop.password_env);
	assert_string_equal(c.relay.host, "smtp.example.net");
	assert_int_equal(c.relay.port, 587);
	assert_int_equal(c.relay.tls, CONFIG_TLS_REQUIRED);
	assert_string_equal(c.relay.username, "news");
	assert_string_equal(c.relay.password_file, "/etc/postbote/relay.pass");
	assert_null(c.relay.password_env);
	assert_int_equal(c.ndkim, 2);
	assert_string_equal(c.dkim[0].domain, "example.com");
	assert_string_equal(c.dkim[0].selector, "s1");
	assert_string_equal(c.dkim[0].algorithm, "rsa-sha256");
	assert_string_equal(c.dkim[0].key_file, "keys/s1.pem");
	assert_string_equal(c.dkim[1].selector, "e1");
	assert_string_equal(c.dkim[1].algorithm, "ed25519-sha256");
	assert_string_equal(c.dkim[1].key_file, "keys/e1.pem");
	assert_int_equal(c.workers, 2);
	config_free(&c);
	assert_null(c.routes);
	config_free(&c);	/* twice is harmless */
	config_free(NULL);
}

static void
t_defaults(void **state)
{
	struct config c;
	struct err e;

	(void)state;
	assert_int_equal(load("{}", &c, &e), 0);
	assert_null(c.hostname);
	assert_int_equal(c.mode, CONFIG_MODE_MX);
	assert_int_equal(c.tls, CONFIG_TLS_OPPORTUNISTIC);
	assert_null(c.dns_servers);
	assert_int_equal(c.nroutes, 0);
	assert_null(c.relay.host);
	assert_int_equal(c.ndkim, 0);
	assert_int_equal(c.workers, 0);
	assert_null(config_route(&c, "example.com"));
	config_free(&c);
	assert_int_equal(load("{\"delivery\": {\"mode\": \"relay\", \"tls\": "
	    "\"required\", \"dns_servers\": [\"192.0.2.1:53\", "
	    "\"[2001:db8::1]:5353\"], \"relay\": {\"host\": \"Smtp.Example.NET\""
	    "}, \"routes\": {\"B\xc3\xbc" "cher.example\": {\"host\": \"::1\"}, "
	    "\"*.a.example\": {\"host\": \"mx.a.example\", \"tls\": \"implicit\", "
	    "\"username\": \"u\", \"password_env\": \"PB_PASS_1\"}}}, "
	    "\"hostname\": \"M\xc3\xbcnchen.example\"}", &c, &e), 0);
	assert_int_equal(c.mode, CONFIG_MODE_RELAY);
	assert_int_equal(c.tls, CONFIG_TLS_REQUIRED);
	assert_string_equal(c.dns_servers, "192.0.2.1:53,[2001:db8::1]:5353");
	assert_string_equal(c.relay.host, "smtp.example.net");
	assert_int_equal(c.relay.port, 587);
	assert_int_equal(c.relay.tls, CONFIG_TLS_REQUIRED);
	assert_null(c.relay.username);
	assert_int_equal(c.nroutes, 2);
	assert_string_equal(c.routes[0].pattern, "xn--bcher-kva.example");
	assert_string_equal(c.routes[0].hop.host, "::1");
	assert_int_equal(c.routes[0].hop.port, 25);
	assert_int_equal(c.routes[0].hop.tls, CONFIG_TLS_REQUIRED);
	assert_string_equal(c.routes[1].pattern, "*.a.example");
	assert_int_equal(c.routes[1].hop.port, 465);
	assert_int_equal(c.routes[1].hop.tls, CONFIG_TLS_IMPLICIT);
	assert_string_equal(c.routes[1].hop.password_env, "PB_PASS_1");
	assert_string_equal(c.hostname, "xn--mnchen-3ya.example");
	config_free(&c);
	assert_int_equal(load("{\"delivery\": {\"relay\": {\"host\": "
	    "\"r.example\", \"tls\": \"implicit\"}}, \"workers\": 64}", &c, &e),
	    0);
	assert_int_equal(c.relay.port, 465);
	assert_int_equal(c.workers, 64);
	config_free(&c);
}

/* The keys the send added, read back. */
static void
t_send_keys(void **state)
{
	struct config c;
	struct err e;

	(void)state;
	assert_int_equal(load("{\"delivery\": {\"ca_file\": \"ca.pem\", "
	    "\"mx_port\": 2525, \"source_address\": \"::1\", \"timeouts\": "
	    "{\"connect\": 3, \"data_end\": 60, \"idle\": 2}, \"routes\": "
	    "{\"*.test\": {\"host\": \"127.0.0.1\", \"username\": \"u\", "
	    "\"password_env\": \"P\", \"auth_plaintext\": true}}}}", &c, &e),
	    0);
	assert_string_equal(c.ca_file, "ca.pem");
	assert_int_equal(c.mx_port, 2525);
	assert_string_equal(c.source_address, "::1");
	assert_int_equal(c.timeouts.connect, 3);
	assert_int_equal(c.timeouts.data_end, 60);
	assert_int_equal(c.timeouts.idle, 2);
	assert_int_equal(c.timeouts.greeting, 0);
	assert_int_equal(c.routes[0].hop.auth_plaintext, 1);
	config_free(&c);
}

struct bad_case {
	const char *name;
	const char *json;
	const char *want;	/* in the message, after the file name */
};

#define R(x)	"{\"delivery\": {\"routes\": {\"*.test\": " x "}}}"
#define Y(x)	"{\"delivery\": {\"relay\": " x "}}"
#define K(x)	"{\"dkim\": [" x "]}"
#define KEY	"\"domain\": \"example.com\", \"selector\": \"s1\", " \
		"\"algorithm\": \"rsa-sha256\", \"key_file\": \"k.pem\""

static const struct bad_case bad_cases[] = {
	{ "unknown top-level key", "{\"hostnme\": \"a.example\"}",
	  "unknown key \"hostnme\"" },
	{ "hostname not a host name", "{\"hostname\": \"not a host\"}",
	  "\"hostname\" must be a host name" },
	{ "hostname one label", "{\"hostname\": \"localhost\"}",
	  "\"hostname\" must be a host name" },
	{ "hostname a number", "{\"hostname\": 5}",
	  "\"hostname\" must be a host name" },
	{ "delivery not an object", "{\"delivery\": []}",
	  "\"delivery\" must be an object" },
	{ "delivery unknown key", "{\"delivery\": {\"mod\": \"mx\"}}",
	  "unknown key \"delivery.mod\"" },
	{ "delivery.mode bad", "{\"delivery\": {\"mode\": \"smart\"}}",
	  "\"delivery.mode\" must be \"mx\" or \"relay\"" },
	{ "delivery.mode relay without relay",
	  "{\"delivery\": {\"mode\": \"relay\"}}",
	  "\"delivery.relay\" is missing" },
	{ "delivery.tls bad", "{\"delivery\": {\"tls\": \"starttls\"}}",
	  "\"delivery.tls\" must be \"none\", \"opportunistic\" or "
	  "\"required\"" },
	{ "delivery.tls not a string", "{\"delivery\": {\"tls\": true}}",
	  "\"delivery.tls\" must be" },
	{ "dns_servers not an array",
	  "{\"delivery\": {\"dns_servers\": \"127.0.0.1:53\"}}",
	  "\"delivery.dns_servers\" must be a non-empty array" },
	{ "dns_servers empty", "{\"delivery\": {\"dns_servers\": []}}",
	  "\"delivery.dns_servers\" must be a non-empty array" },
	{ "dns_servers without port",
	  "{\"delivery\": {\"dns_servers\": [\"127.0.0.1\"]}}",
	  "\"delivery.dns_servers[0]\" must be" },
	{ "dns_servers port 0",
	  "{\"delivery\": {\"dns_servers\": [\"127.0.0.1:53\", "
	  "\"127.0.0.1:0\"]}}", "\"delivery.dns_servers[1]\" must be" },
	{ "dns_servers port 65536",
	  "{\"delivery\": {\"dns_servers\": [\"127.0.0.1:65536\"]}}",
	  "\"delivery.dns_servers[0]\" must be" },
	{ "dns_servers a host name",
	  "{\"delivery\": {\"dns_servers\": [\"ns.example:53\"]}}",
	  "\"delivery.dns_servers[0]\" must be" },
	{ "dns_servers IPv6 without brackets",
	  "{\"delivery\": {\"dns_servers\": [\"::1:53\"]}}",
	  "\"delivery.dns_servers[0]\" must be" },
	{ "dns_servers IPv6 without port",
	  "{\"delivery\": {\"dns_servers\": [\"[::1]\"]}}",
	  "\"delivery.dns_servers[0]\" must be" },
	{ "dns_servers a number",
	  "{\"delivery\": {\"dns_servers\": [53]}}",
	  "\"delivery.dns_servers[0]\" must be" },
	{ "routes not an object", "{\"delivery\": {\"routes\": []}}",
	  "\"delivery.routes\" must be an object" },
	{ "route key not a domain",
	  "{\"delivery\": {\"routes\": {\"not a domain\": {\"host\": "
	  "\"h.example\"}}}}", "\"delivery.routes.not a domain\": the key" },
	{ "route key bare star",
	  "{\"delivery\": {\"routes\": {\"*\": {\"host\": \"h.example\"}}}}",
	  "\"delivery.routes.*\": the key" },
	{ "route key star inside",
	  "{\"delivery\": {\"routes\": {\"a.*.example\": {\"host\": "
	  "\"h.example\"}}}}", "\"delivery.routes.a.*.example\": the key" },
	{ "route key one label",
	  "{\"delivery\": {\"routes\": {\"test\": {\"host\": \"h.example\"}}}}",
	  "\"delivery.routes.test\": the key" },
	{ "route keys the same after lower-casing",
	  "{\"delivery\": {\"routes\": {\"a.example\": {\"host\": "
	  "\"h.example\"}, \"A.Example\": {\"host\": \"h.example\"}}}}",
	  "\"delivery.routes.A.Example\": the same domain" },
	{ "route not an object", R("5"),
	  "\"delivery.routes.*.test\" must be an object" },
	{ "route unknown key", R("{\"host\": \"h.example\", \"prot\": 25}"),
	  "unknown key \"delivery.routes.*.test.prot\"" },
	{ "route host missing", R("{\"port\": 25}"),
	  "\"delivery.routes.*.test.host\" is missing" },
	{ "route host bad", R("{\"host\": \"h_x example\"}"),
	  "\"delivery.routes.*.test.host\" must be a host name or an IP" },
	{ "route host empty", R("{\"host\": \"\"}"),
	  "\"delivery.routes.*.test.host\" must be a non-empty string" },
	{ "route port 0", R("{\"host\": \"h.example\", \"port\": 0}"),
	  "\"delivery.routes.*.test.port\" must be an integer from 1 to 65535" },
	{ "route port 65536", R("{\"host\": \"h.example\", \"port\": 65536}"),
	  "\"delivery.routes.*.test.port\" must be an integer from 1 to 65535" },
	{ "route port a string", R("{\"host\": \"h.example\", \"port\": \"25\"}"),
	  "\"delivery.routes.*.test.port\" must be an integer" },
	{ "route port a fraction", R("{\"host\": \"h.example\", \"port\": 25.5}"),
	  "\"delivery.routes.*.test.port\" must be an integer" },
	{ "route tls bad", R("{\"host\": \"h.example\", \"tls\": \"starttls\"}"),
	  "\"delivery.routes.*.test.tls\" must be \"none\", \"opportunistic\", "
	  "\"required\" or \"implicit\"" },
	{ "route password", R("{\"host\": \"h.example\", \"username\": \"u\", "
	  "\"password\": \"secret\"}"),
	  "\"delivery.routes.*.test.password\" is not allowed: give the "
	  "password in a file (\"password_file\") or an environment variable "
	  "(\"password_env\")" },
	{ "route username without password",
	  R("{\"host\": \"h.example\", \"username\": \"u\"}"),
	  "\"delivery.routes.*.test.username\" needs \"password_file\"" },
	{ "route password_file without username",
	  R("{\"host\": \"h.example\", \"password_file\": \"/p\"}"),
	  "\"delivery.routes.*.test.username\" is missing" },
	{ "route password_file and password_env",
	  R("{\"host\": \"h.example\", \"username\": \"u\", "
	  "\"password_file\": \"/p\", \"password_env\": \"P\"}"),
	  "\"delivery.routes.*.test.password_file\" and \"password_env\"" },
	{ "route password_env not a name",
	  R("{\"host\": \"h.example\", \"username\": \"u\", "
	  "\"password_env\": \"1PASS\"}"),
	  "\"delivery.routes.*.test.password_env\" must be an environment" },
	{ "route username empty",
	  R("{\"host\": \"h.example\", \"username\": \"\"}"),
	  "\"delivery.routes.*.test.username\" must be a non-empty string" },
	{ "relay not an object", Y("\"smtp.example.net\""),
	  "\"delivery.relay\" must be an object" },
	{ "relay unknown key", Y("{\"host\": \"r.example\", \"user\": \"u\"}"),
	  "unknown key \"delivery.relay.user\"" },
	{ "relay host missing", Y("{\"port\": 587}"),
	  "\"delivery.relay.host\" is missing" },
	{ "relay port 70000", Y("{\"host\": \"r.example\", \"port\": 70000}"),
	  "\"delivery.relay.port\" must be an integer from 1 to 65535" },
	{ "relay tls opportunistic",
	  Y("{\"host\": \"r.example\", \"tls\": \"opportunistic\"}"),
	  "\"delivery.relay.tls\" must be \"none\", \"starttls\" or "
	  "\"implicit\"" },
	{ "relay password", Y("{\"host\": \"r.example\", \"password\": \"x\"}"),
	  "\"delivery.relay.password\" is not allowed" },
	{ "relay username without password",
	  Y("{\"host\": \"r.example\", \"username\": \"news\"}"),
	  "\"delivery.relay.username\" needs \"password_file\" or "
	  "\"password_env\"" },
	{ "dkim not an array", "{\"dkim\": {}}",
	  "\"dkim\" must be an array" },
	{ "dkim entry not an object", K("5"),
	  "\"dkim[0]\" must be an object" },
	{ "dkim unknown key", K("{" KEY ", \"bits\": 2048}"),
	  "unknown key \"dkim[0].bits\"" },
	{ "dkim domain missing", K("{\"selector\": \"s1\", \"algorithm\": "
	  "\"rsa-sha256\", \"key_file\": \"k.pem\"}"),
	  "\"dkim[0].domain\" is missing" },
	{ "dkim selector missing", K("{\"domain\": \"example.com\", "
	  "\"algorithm\": \"rsa-sha256\", \"key_file\": \"k.pem\"}"),
	  "\"dkim[0].selector\" is missing" },
	{ "dkim algorithm missing", K("{\"domain\": \"example.com\", "
	  "\"selector\": \"s1\", \"key_file\": \"k.pem\"}"),
	  "\"dkim[0].algorithm\" is missing" },
	{ "dkim key_file missing", K("{\"domain\": \"example.com\", "
	  "\"selector\": \"s1\", \"algorithm\": \"rsa-sha256\"}"),
	  "\"dkim[0].key_file\" is missing" },
	{ "dkim domain bad", K("{" KEY "}, {\"domain\": \"no domain\", "
	  "\"selector\": \"s1\", \"algorithm\": \"rsa-sha256\", \"key_file\": "
	  "\"k.pem\"}"), "\"dkim[1].domain\" is not a domain name" },
	{ "dkim selector bad", K("{\"domain\": \"example.com\", \"selector\": "
	  "\"s_1\", \"algorithm\": \"rsa-sha256\", \"key_file\": \"k.pem\"}"),
	  "\"dkim[0].selector\" must be DNS labels" },
	{ "dkim selector trailing hyphen", K("{\"domain\": \"example.com\", "
	  "\"selector\": \"s1-\", \"algorithm\": \"rsa-sha256\", \"key_file\": "
	  "\"k.pem\"}"), "\"dkim[0].selector\" must be DNS labels" },
	{ "dkim algorithm short form", K("{\"domain\": \"example.com\", "
	  "\"selector\": \"s1\", \"algorithm\": \"rsa\", \"key_file\": "
	  "\"k.pem\"}"), "\"dkim[0].algorithm\" must be \"rsa-sha256\" or "
	  "\"ed25519-sha256\"" },
	{ "dkim two keys of one algorithm", K("{" KEY "}, {\"domain\": "
	  "\"EXAMPLE.com\", \"selector\": \"s2\", \"algorithm\": \"rsa-sha256\","
	  " \"key_file\": \"k2.pem\"}"),
	  "\"dkim[1].algorithm\": a second rsa-sha256 key for example.com" },
	{ "workers 0", "{\"workers\": 0}",
	  "\"workers\" must be an integer from 1 to 64" },
	{ "mx_port 0", "{\"delivery\": {\"mx_port\": 0}}",
	  "\"delivery.mx_port\" must be an integer from 1 to 65535" },
	{ "ca_file empty", "{\"delivery\": {\"ca_file\": \"\"}}",
	  "\"delivery.ca_file\" must be a non-empty string" },
	{ "source_address a name",
	  "{\"delivery\": {\"source_address\": \"mail.example\"}}",
	  "\"delivery.source_address\" must be an IPv4 or IPv6 address" },
	{ "timeouts unknown key",
	  "{\"delivery\": {\"timeouts\": {\"dot\": 5}}}",
	  "unknown key \"delivery.timeouts.dot\"" },
	{ "timeouts not an object", "{\"delivery\": {\"timeouts\": 5}}",
	  "\"delivery.timeouts\" must be an object" },
	{ "timeouts.rcpt 0",
	  "{\"delivery\": {\"timeouts\": {\"rcpt\": 0}}}",
	  "\"delivery.timeouts.rcpt\" must be an integer from 1 to 3600" },
	{ "timeouts.idle too long",
	  "{\"delivery\": {\"timeouts\": {\"idle\": 3601}}}",
	  "\"delivery.timeouts.idle\" must be an integer from 1 to 3600" },
	{ "auth_plaintext not a boolean",
	  Y("{\"host\": \"r.example\", \"auth_plaintext\": 1}"),
	  "\"delivery.relay.auth_plaintext\" must be true or false" },
	{ "workers 65", "{\"workers\": 65}",
	  "\"workers\" must be an integer from 1 to 64" },
	{ "workers a string", "{\"workers\": \"2\"}",
	  "\"workers\" must be an integer" },
	{ "existing: unknown tracking key",
	  "{\"tracking\": {\"base_url\": \"https://t.example\", \"open\": 1}}",
	  "unknown key \"tracking.open\"" },
	{ "existing: database a number", "{\"database\": 5}",
	  "\"database\" must be a non-empty string" },
};

static void
t_bad(void **state)
{
	const struct bad_case *c = *state;
	struct config cfg;
	struct err e;

	assert_int_equal(load(c->json, &cfg, &e), -1);
	assert_int_equal(e.code, EX_CONFIG);
	if (strstr(e.msg, c->want) == NULL || strstr(e.msg, "postbote.json: ")
	    == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", e.msg, c->want);
	assert_null(cfg.routes);	/* freed on failure */
	assert_null(cfg.dkim);
}

/* LIMIT_CONFIG_ROUTES routes load; one more does not. */
static void
t_route_limit(void **state)
{
	char *json = malloc(64 * (LIMIT_CONFIG_ROUTES + 2));
	struct config c;
	struct err e;
	size_t n;
	int i, extra;

	(void)state;
	assert_non_null(json);
	for (extra = 0; extra <= 1; extra++) {
		n = (size_t)snprintf(json, 64, "{\"delivery\": {\"routes\": {");
		for (i = 0; i < LIMIT_CONFIG_ROUTES + extra; i++)
			n += (size_t)snprintf(json + n, 64, "%s\"d%d.example\": "
			    "{\"host\": \"h.example\"}", i ? ", " : "", i);
		snprintf(json + n, 64, "}}}");
		assert_int_equal(load(json, &c, &e), extra ? -1 : 0);
		if (extra)
			assert_non_null(strstr(e.msg, "\"delivery.routes\" must "
			    "have at most 256 entries"));
		else
			assert_int_equal(c.nroutes, LIMIT_CONFIG_ROUTES);
		config_free(&c);
	}
	free(json);
}

struct route_case {
	const char *name;
	const char *domain;
	const char *want;	/* the pattern found; NULL: none */
};

static const char routes_json[] =
    "{\"delivery\": {\"routes\": {"
    "\"*.example.com\": {\"host\": \"h1.example\"}, "
    "\"*.a.example.com\": {\"host\": \"h2.example\"}, "
    "\"b.a.example.com\": {\"host\": \"h3.example\"}, "
    "\"*.test\": {\"host\": \"h4.example\"}, "
    "\"exact.org\": {\"host\": \"h5.example\"}}}}";

static const struct route_case route_cases[] = {
	{ "route: exact match", "exact.org", "exact.org" },
	{ "route: exact beats a longer pattern", "b.a.example.com",
	  "b.a.example.com" },
	{ "route: longest suffix wins", "c.a.example.com", "*.a.example.com" },
	{ "route: deeper under the longest suffix", "x.y.a.example.com",
	  "*.a.example.com" },
	{ "route: pattern matches one level down", "a.example.com",
	  "*.example.com" },
	{ "route: pattern matches two levels down", "b.z.example.com",
	  "*.example.com" },
	{ "route: pattern does not match its own domain", "example.com",
	  NULL },
	{ "route: no partial label match", "badexample.com", NULL },
	{ "route: single-label suffix", "mx.test", "*.test" },
	{ "route: single-label suffix, not itself", "test", NULL },
	{ "route: exact does not match a subdomain", "sub.exact.org", NULL },
	{ "route: unrelated", "example.net", NULL },
	{ "route: case-insensitive", "Q.Example.COM", "*.example.com" },
};

static void
t_route(void **state)
{
	const struct route_case *c = *state;
	const struct config_route *r;
	struct config cfg;
	struct err e;

	assert_int_equal(load(routes_json, &cfg, &e), 0);
	r = config_route(&cfg, c->domain);
	if (c->want == NULL)
		assert_null(r);
	else {
		assert_non_null(r);
		assert_string_equal(r->pattern, c->want);
	}
	config_free(&cfg);
}

int
main(void)
{
	struct unit_tests u = { 0 };

	unit_add(&u, "the full example loads and reads back", t_full, NULL);
	unit_add(&u, "defaults, IDN, IPv6, implicit TLS port", t_defaults,
	    NULL);
	unit_add(&u, "the send keys read back", t_send_keys, NULL);
	UNIT_TABLE(&u, bad_cases, t_bad);
	unit_add(&u, "at most LIMIT_CONFIG_ROUTES routes", t_route_limit,
	    NULL);
	UNIT_TABLE(&u, route_cases, t_route);
	return unit_run(&u, "config", NULL, NULL);
}
