/*
 * test_trackd.c - the tracking server's pure parts: which endpoint a path
 * names, the page language from Accept-Language, the machine rules, the
 * listen address and the request log's path.
 */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "track.h"
#include "trackd.h"

struct route_case {
	const char *name;
	const char *path;
	enum trackd_route want;
	const char *token;	/* NULL: none */
};

static const struct route_case route_cases[] = {
	{ "route: health", "/healthz", TRACKD_HEALTH, NULL },
	{ "route: health with a slash", "/healthz/", TRACKD_NONE, NULL },
	{ "route: pixel", "/o/AbC-_9.gif", TRACKD_OPEN, "AbC-_9" },
	{ "route: pixel without .gif", "/o/AbC", TRACKD_NONE, NULL },
	{ "route: pixel .gif twice", "/o/AbC.gif.gif", TRACKD_NONE, NULL },
	{ "route: pixel .png", "/o/AbC.png", TRACKD_NONE, NULL },
	{ "route: click", "/c/xyz", TRACKD_CLICK, "xyz" },
	{ "route: click .gif", "/c/xyz.gif", TRACKD_NONE, NULL },
	{ "route: click, trailing slash", "/c/xyz/", TRACKD_NONE, NULL },
	{ "route: click, no token", "/c/", TRACKD_NONE, NULL },
	{ "route: click, padding", "/c/xy==", TRACKD_NONE, NULL },
	{ "route: click, deeper", "/c/xy/z", TRACKD_NONE, NULL },
	{ "route: unsubscribe", "/u/Q1", TRACKD_UNSUBSCRIBE, "Q1" },
	{ "route: bounce tokens have no endpoint", "/b/Q1", TRACKD_NONE, NULL },
	{ "route: two letters", "/cc/Q1", TRACKD_NONE, NULL },
	{ "route: root", "/", TRACKD_NONE, NULL },
	{ "route: empty", "", TRACKD_NONE, NULL },
	{ "route: 63 characters",
	  "/c/123456789012345678901234567890123456789012345678901234567890123",
	  TRACKD_CLICK,
	  "123456789012345678901234567890123456789012345678901234567890123" },
	{ "route: 64 characters, longer than any token",
	  "/c/1234567890123456789012345678901234567890123456789012345678901234",
	  TRACKD_NONE, NULL },
};

static void
t_route(void **state)
{
	const struct route_case *c = *state;
	const char *tok;
	size_t len;

	assert_int_equal(trackd_route(c->path, &tok, &len), c->want);
	if (c->token == NULL) {
		assert_null(tok);
		return;
	}
	assert_int_equal(len, strlen(c->token));
	assert_memory_equal(tok, c->token, len);
}

struct lang_case {
	const char *name;
	const char *header;
	enum trackd_lang want;
};

static const struct lang_case lang_cases[] = {
	{ "lang: none", NULL, TRACKD_EN },
	{ "lang: empty", "", TRACKD_EN },
	{ "lang: de", "de", TRACKD_DE },
	{ "lang: DE-at", "DE-at", TRACKD_DE },
	{ "lang: en-US", "en-US", TRACKD_EN },
	{ "lang: order decides between equals", "de, en", TRACKD_DE },
	{ "lang: ... either way", "en, de", TRACKD_EN },
	{ "lang: q-values decide", "en;q=0.5, de;q=0.8", TRACKD_DE },
	{ "lang: q=1 and no q are equal: the first wins", "en, de;q=1",
	  TRACKD_EN },
	{ "lang: unknown first", "fr-CH, fr;q=0.9, de;q=0.8, en;q=0.7",
	  TRACKD_DE },
	{ "lang: only unknown", "fr, it", TRACKD_EN },
	{ "lang: q=0 is not acceptable", "de;q=0, en;q=0.1", TRACKD_EN },
	{ "lang: q=0 alone", "de;q=0", TRACKD_EN },
	{ "lang: q=0.000", "de;q=0.000", TRACKD_EN },
	{ "lang: q=0.001", "de;q=0.001", TRACKD_DE },
	{ "lang: star", "*", TRACKD_EN },
	{ "lang: star below de", "*;q=0.5, de", TRACKD_DE },
	{ "lang: star above de", "de;q=0.4, *;q=0.5", TRACKD_EN },
	{ "lang: spaces", "  en ; q=0.2 ,  de ; q=0.3 ", TRACKD_DE },
	{ "lang: malformed q ignored", "de;q=2, en;q=0.5", TRACKD_EN },
	{ "lang: malformed q=0.5555", "de;q=0.5555, en;q=0.1", TRACKD_EN },
	{ "lang: deutsch is not de", "deutsch", TRACKD_EN },
	{ "lang: other parameter", "de;level=1;q=0.9, en;q=0.8", TRACKD_DE },
	{ "lang: empty elements", ",,de,,", TRACKD_DE },
};

static void
t_lang(void **state)
{
	const struct lang_case *c = *state;

	assert_int_equal(trackd_lang(c->header), c->want);
}

struct machine_case {
	const char *name;
	const char *ua;
	const char *ip;		/* NULL: no address */
	int64_t since_ms;
	int machine_seconds;
	const char *want;	/* NULL: a person */
};

#define FIREFOX "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 " \
	"Firefox/128.0"

static const struct machine_case machine_cases[] = {
	{ "machine: a browser", FIREFOX, "192.0.2.1", 60000, 2, NULL },
	{ "machine: Apple MPP's bare UA", "Mozilla/5.0", "192.0.2.1", 60000,
	  2, "apple_mpp" },
	{ "machine: Mozilla/5.0 with more is a browser", "Mozilla/5.0 (X)",
	  NULL, 60000, 2, NULL },
	{ "machine: Gmail's proxy", "Mozilla/5.0 (Windows NT 5.1; rv:11.0) "
	  "Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)", NULL, 60000,
	  2, "google_image_proxy" },
	{ "machine: Yahoo's proxy", "YahooMailProxy; https://help.yahoo.com/"
	  "kb/yahoo-mail-proxy-SLN28749.html", NULL, 60000, 2,
	  "yahoo_mail_proxy" },
	{ "machine: BingPreview", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
	  "AppleWebKit/537.36 (KHTML, like Gecko) BingPreview/1.0b", NULL,
	  60000, 2, "bing_preview" },
	{ "machine: Outlook for iOS is a person", "Outlook-iOS/723.4027091."
	  "prod.iphone (4.2345.0)", NULL, 60000, 2, NULL },
	{ "machine: no UA", NULL, NULL, 60000, 2, "no_user_agent" },
	{ "machine: empty UA", "", NULL, 60000, 2, "no_user_agent" },
	{ "machine: Apple's 17/8", FIREFOX, "17.58.1.2", 60000, 2,
	  "apple_address" },
	{ "machine: 17/8 mapped in IPv6", FIREFOX, "::ffff:17.1.2.3", 60000,
	  2, "apple_address" },
	{ "machine: 18.x is not Apple's", FIREFOX, "18.0.0.1", 60000, 2,
	  NULL },
	{ "machine: 170.x is not Apple's", FIREFOX, "170.0.0.1", 60000, 2,
	  NULL },
	{ "machine: IPv6 elsewhere", FIREFOX, "2001:db8::17", 60000, 2,
	  NULL },
	{ "machine: too soon", FIREFOX, NULL, 1999, 2, "too_soon" },
	{ "machine: just in time", FIREFOX, NULL, 2000, 2, NULL },
	{ "machine: not delivered yet", FIREFOX, NULL, -1, 2, "too_soon" },
	{ "machine: timing off", FIREFOX, NULL, 0, 0, NULL },
	{ "machine: timing off, not delivered", FIREFOX, NULL, -1, 0, NULL },
	{ "machine: the UA reason first", "Mozilla/5.0", "17.0.0.1", 0, 2,
	  "apple_mpp" },
};

static void
t_machine(void **state)
{
	const struct machine_case *c = *state;
	struct sockaddr_in s4 = { 0 };
	struct sockaddr_in6 s6 = { 0 };
	const struct sockaddr *sa = NULL;
	const char *got;

	if (c->ip != NULL && inet_pton(AF_INET, c->ip, &s4.sin_addr) == 1) {
		s4.sin_family = AF_INET;
		sa = (struct sockaddr *)&s4;
	} else if (c->ip != NULL) {
		assert_int_equal(inet_pton(AF_INET6, c->ip, &s6.sin6_addr), 1);
		s6.sin6_family = AF_INET6;
		sa = (struct sockaddr *)&s6;
	}
	got = trackd_machine(c->ua, sa, c->since_ms, c->machine_seconds);
	if (c->want == NULL)
		assert_null(got);
	else
		assert_string_equal(got, c->want);
}

struct listen_case {
	const char *name;
	const char *s;
	int family;		/* 0: refused */
	int port;
};

static const struct listen_case listen_cases[] = {
	{ "listen: IPv4", "127.0.0.1:8080", AF_INET, 8080 },
	{ "listen: any IPv4", "0.0.0.0:80", AF_INET, 80 },
	{ "listen: port 0", "127.0.0.1:0", AF_INET, 0 },
	{ "listen: IPv6", "[::1]:8080", AF_INET6, 8080 },
	{ "listen: any IPv6", "[::]:65535", AF_INET6, 65535 },
	{ "listen: port too big", "127.0.0.1:65536", 0, 0 },
	{ "listen: huge port", "127.0.0.1:99999999999999999999", 0, 0 },
	{ "listen: no port", "127.0.0.1", 0, 0 },
	{ "listen: empty port", "127.0.0.1:", 0, 0 },
	{ "listen: port with a sign", "127.0.0.1:+80", 0, 0 },
	{ "listen: a name", "localhost:8080", 0, 0 },
	{ "listen: IPv6 without brackets", "::1:8080", 0, 0 },
	{ "listen: IPv4 in brackets", "[127.0.0.1]:80", 0, 0 },
	{ "listen: no host", ":8080", 0, 0 },
	{ "listen: empty", "", 0, 0 },
};

static void
t_listen(void **state)
{
	const struct listen_case *c = *state;
	struct sockaddr_storage ss;
	socklen_t len;
	int rc = trackd_parse_listen(c->s, &ss, &len);

	if (c->family == 0) {
		assert_int_equal(rc, -1);
		return;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(ss.ss_family, c->family);
	assert_int_equal(ntohs(c->family == AF_INET ?
	    ((struct sockaddr_in *)&ss)->sin_port :
	    ((struct sockaddr_in6 *)&ss)->sin6_port), c->port);
}

struct logpath_case {
	const char *name;
	const char *path;
	const char *want;
};

static const struct logpath_case logpath_cases[] = {
	{ "log path: a click cut", "/c/ABCDEFGHIJKLMNOP", "/c/ABCDEFGH..." },
	{ "log path: a pixel cut, .gif gone", "/o/ABCDEFGHIJ.gif",
	  "/o/ABCDEFGH..." },
	{ "log path: a short token whole", "/u/ABC", "/u/ABC" },
	{ "log path: health", "/healthz", "/healthz" },
	{ "log path: unprintables", "/a\tb\x01", "/a?b?" },
	{ "log path: long other paths cut",
	  "/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxx",
	  "/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "..." },
};

static void
t_logpath(void **state)
{
	const struct logpath_case *c = *state;
	char out[96];

	trackd_log_path(c->path, out, sizeof(out));
	assert_string_equal(out, c->want);
}

/* A real token routes and keeps its characters. */
static void
t_real_token(void **state)
{
	struct track_key key = { { 1, 2, 3 }, 32 };
	struct track_mac *m = track_mac_new(&key);
	char tok[TRACK_TOKEN_MAX], path[TRACK_TOKEN_MAX + 8];
	const char *got;
	size_t len;

	(void)state;
	assert_non_null(m);
	track_token(m, TRACK_OPEN, INT64_MAX, INT64_MAX, 0, tok);
	snprintf(path, sizeof(path), "/o/%s.gif", tok);
	assert_int_equal(trackd_route(path, &got, &len), TRACKD_OPEN);
	assert_int_equal(len, strlen(tok));
	track_token(m, TRACK_CLICK, INT64_MAX, INT64_MAX, 999999, tok);
	snprintf(path, sizeof(path), "/c/%s", tok);
	assert_int_equal(trackd_route(path, &got, &len), TRACKD_CLICK);
	assert_int_equal(len, strlen(tok));
	track_mac_free(m);
}

int
main(void)
{
	struct unit_tests u = { 0 };

	UNIT_TABLE(&u, route_cases, t_route);
	UNIT_TABLE(&u, lang_cases, t_lang);
	UNIT_TABLE(&u, machine_cases, t_machine);
	UNIT_TABLE(&u, listen_cases, t_listen);
	UNIT_TABLE(&u, logpath_cases, t_logpath);
	unit_add(&u, "route: the longest real tokens", t_real_token, NULL);
	return unit_run(&u, "trackd", NULL, NULL);
}
