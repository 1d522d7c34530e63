/*
 * trackd.c - the tracking server; see trackd.h.
 *
 * Every request is answered in the access handler's last call, once any
 * body is in: the first only classifies it (and refuses a wrong method or
 * a declared body over the limit), because an answer queued in the first
 * call costs the connection its keep-alive. Per request, in order: the
 * route, the method, the token (track_verify, no store yet), the delivery
 * it names (a read), then at most one short write transaction
 * (store_feedback). HTTP status, headers and page text are all here; the
 * policy (what an unsubscribe suppresses, idempotence) is the store's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "buf.h"
#include "html.h"
#include "limits.h"
#include "store.h"
#include "track.h"
#include "trackd.h"
#include "xalloc.h"

struct trackd {
	struct MHD_Daemon *mhd;
	struct trackd_opts o;
	char *db_path;
	struct track_key key;
	pthread_key_t tls;	/* -> struct trackd_thread */
	char address[INET6_ADDRSTRLEN + 16];
};

/* What one pool thread keeps: neither is thread-safe. */
struct trackd_thread {
	struct track_mac *mac;
	struct store *st;	/* opened on first use */
};

/* One request. */
struct trackd_req {
	enum trackd_route route;
	const char *token;	/* into the URL MHD keeps for the request */
	size_t toklen;
	int post;
	int head;
	size_t body;		/* POST bytes seen */
	int answered;
};

/* A verified token and what it names. */
struct trackd_hit {
	int64_t campaign;
	int64_t recipient;
	int link;
	struct feedback_target t;
};

#define TRACKD_UA_KEPT	200	/* User-Agent bytes kept in an event */

/*
 * The 1x1 transparent GIF89a: a two-colour global table, a graphic
 * control extension marking colour 0 transparent, one LZW-coded pixel.
 */
static const unsigned char trackd_gif[] = {
	'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0x80, 0, 0,
	0, 0, 0, 0xff, 0xff, 0xff,
	0x21, 0xf9, 4, 1, 0, 0, 0, 0,
	0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0,
	2, 2, 0x44, 1, 0,
	0x3b
};

/* ------------------------------------------------------------- pure parts */

static int
b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static size_t
token_span(const char *s)
{
	size_t n = 0;

	while (b64url_char(s[n]))
		n++;
	return n;
}

enum trackd_route
trackd_route(const char *path, const char **token, size_t *len)
{
	enum trackd_route r;
	size_t n;

	*token = NULL;
	*len = 0;
	if (strcmp(path, "/healthz") == 0)
		return TRACKD_HEALTH;
	if (path[0] != '/' || path[1] == '\0' || path[2] != '/')
		return TRACKD_NONE;
	switch (path[1]) {
	case 'o': r = TRACKD_OPEN; break;
	case 'c': r = TRACKD_CLICK; break;
	case 'u': r = TRACKD_UNSUBSCRIBE; break;
	default: return TRACKD_NONE;
	}
	n = token_span(path + 3);
	if (n == 0 || n >= TRACK_TOKEN_MAX)
		return TRACKD_NONE;
	/* The pixel is an image by its name too: some clients look. */
	if (strcmp(path + 3 + n, r == TRACKD_OPEN ? ".gif" : "") != 0)
		return TRACKD_NONE;
	*token = path + 3;
	*len = n;
	return r;
}

/* RFC 9110 12.4.2 qvalue: "0", "0.x{0,3}", "1", "1.0{0,3}"; in 1/1000s,
   -1 when malformed. */
static int
qvalue(const char *s, size_t n)
{
	int q, i, scale = 100;

	if (n == 0 || (s[0] != '0' && s[0] != '1'))
		return -1;
	q = (s[0] - '0') * 1000;
	if (n == 1)
		return q;
	if (s[1] != '.' || n > 5)
		return -1;
	for (i = 2; i < (int)n; i++, scale /= 10) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		q += (s[i] - '0') * scale;
	}
	return q > 1000 ? -1 : q;
}

/* The language a range names, -1 for one we have no page in. */
static int
range_lang(const char *s, size_t n)
{
	if (n == 1 && s[0] == '*')
		return TRACKD_EN;
	if (n < 2 || (n > 2 && s[2] != '-'))
		return -1;
	if (strncasecmp(s, "de", 2) == 0)
		return TRACKD_DE;
	if (strncasecmp(s, "en", 2) == 0)
		return TRACKD_EN;
	return -1;
}

/* One "range;q=0.8" element of the list: its language and weight. */
static void
lang_element(const char *s, size_t n, int *lang, int *q)
{
	size_t i = 0, start, end;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	start = i;
	while (i < n && s[i] != ';' && s[i] != ' ' && s[i] != '\t')
		i++;
	*lang = range_lang(s + start, i - start);
	*q = 1000;
	while (i < n) {
		while (i < n && (s[i] == ';' || s[i] == ' ' || s[i] == '\t'))
			i++;
		start = i;
		while (i < n && s[i] != ';')
			i++;
		end = i;
		while (end > start && (s[end - 1] == ' ' || s[end - 1] == '\t'))
			end--;
		if (end - start >= 2 && (s[start] == 'q' || s[start] == 'Q') &&
		    s[start + 1] == '=')
			*q = qvalue(s + start + 2, end - start - 2);
	}
}

/* The highest weight wins; of equal ones, the first listed. */
enum trackd_lang
trackd_lang(const char *al)
{
	int best = TRACKD_EN, bestq = 0, lang, q;
	const char *p, *comma;

	if (al == NULL)
		return TRACKD_EN;
	for (p = al; *p != '\0'; p = *comma ? comma + 1 : comma) {
		if ((comma = strchr(p, ',')) == NULL)
			comma = p + strlen(p);
		lang_element(p, (size_t)(comma - p), &lang, &q);
		/* q=0: "not acceptable" (RFC 9110 12.4.2) */
		if (lang >= 0 && q > bestq) {
			best = lang;
			bestq = q;
		}
	}
	return (enum trackd_lang)best;
}

/*
 * Who fetches a pixel or follows a link without a person behind it. A
 * rule names a product, never a guess at "looks automated": a wrong
 * entry here hides real readers from reports and hygiene.
 */
static const struct {
	const char *pattern;
	int whole;		/* the User-Agent is exactly the pattern */
	const char *reason;
} machine_agents[] = {
	/* Apple Mail Privacy Protection preloads every remote image
	 * through Apple's relays at delivery, with this bare string. */
	{ "Mozilla/5.0", 1, "apple_mpp" },
	/* Gmail's image proxy (ggpht.com) and Yahoo's: the fetch stands
	 * between reader and us and is cached, so it says little about
	 * who looked and when. */
	{ "GoogleImageProxy", 0, "google_image_proxy" },
	{ "YahooMailProxy", 0, "yahoo_mail_proxy" },
	/* Microsoft's link preview, which Outlook's and Teams' link
	 * checks have used. */
	{ "BingPreview", 0, "bing_preview" },
	{ NULL, 0, NULL }
};

/* Apple's 17.0.0.0/8, where MPP's relays fetch from; also as an
   IPv4-mapped IPv6 address. */
static int
apple_address(const struct sockaddr *sa)
{
	const unsigned char *b;

	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET) {
		b = (const unsigned char *)
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		return b[0] == 17;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a =
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

		b = a->s6_addr;
		return IN6_IS_ADDR_V4MAPPED(a) && b[12] == 17;
	}
	return 0;
}

const char *
trackd_machine(const char *ua, const struct sockaddr *sa, int64_t since_ms,
    int machine_seconds)
{
	int i;

	/* Every mail client and browser sends one. */
	if (ua == NULL || ua[0] == '\0')
		return "no_user_agent";
	for (i = 0; machine_agents[i].pattern != NULL; i++)
		if (machine_agents[i].whole ?
		    strcmp(ua, machine_agents[i].pattern) == 0 :
		    strstr(ua, machine_agents[i].pattern) != NULL)
			return machine_agents[i].reason;
	if (apple_address(sa))
		return "apple_address";
	/* Not delivered yet (its outcome still uncommitted) is sooner
	 * than any reader. */
	if (machine_seconds > 0 &&
	    (since_ms < 0 || since_ms < (int64_t)machine_seconds * 1000))
		return "too_soon";
	return NULL;
}

int
trackd_parse_listen(const char *s, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	char host[INET6_ADDRSTRLEN];
	const char *colon, *p;
	size_t hn;
	long port = 0;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		if ((colon = strstr(s, "]:")) == NULL)
			return -1;
		hn = (size_t)(colon - s - 1);
		colon++;
		if (hn == 0 || hn >= sizeof(host))
			return -1;
		memcpy(host, s + 1, hn);
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return -1;
		hn = (size_t)(colon - s);
		if (hn == 0 || hn >= sizeof(host))
			return -1;
		memcpy(host, s, hn);
	}
	host[hn] = '\0';
	for (p = colon + 1; *p >= '0' && *p <= '9' && port <= 65535; p++)
		port = port * 10 + (*p - '0');
	if (p == colon + 1 || *p != '\0' || port > 65535)
		return -1;
	if (s[0] == '[' && inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return 0;
	}
	if (s[0] != '[' && inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
		return 0;
	}
	return -1;
}

void
trackd_log_path(const char *path, char *out, size_t n)
{
	enum trackd_route r;
	const char *tok;
	size_t len, i, o = 0;

	if (n == 0)
		return;
	r = trackd_route(path, &tok, &len);
	if (r != TRACKD_NONE && r != TRACKD_HEALTH) {
		/* Enough to tell requests apart, too little to replay. */
		snprintf(out, n, "/%c/%.*s%s", path[1], len > 8 ? 8 : (int)len,
		    tok, len > 8 ? "..." : "");
		return;
	}
	for (i = 0; path[i] != '\0' && i < 64 && o + 1 < n; i++)
		out[o++] = path[i] > ' ' && path[i] < 0x7f ? path[i] : '?';
	if (path[i] != '\0' && o + 4 < n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* ---------------------------------------------------------------- pages */

struct trackd_text {
	const char *lang;
	const char *title;
	const char *ask_list;		/* %s: the list */
	const char *ask_all;
	const char *address;		/* label before the address */
	const char *button;
	const char *done_title;
	const char *done_list;		/* %s: the list */
	const char *done_all;
	const char *gone_title;
	const char *gone;
	const char *busy_title;
	const char *busy;
};

static const struct trackd_text trackd_texts[] = {
	[TRACKD_EN] = {
		"en", "Unsubscribe",
		"Stop receiving the mailing list %s?",
		"Stop receiving all our mailings?",
		"Address", "Unsubscribe",
		"You have been unsubscribed",
		"You will receive no more messages of the mailing list %s.",
		"You will receive no more of our mailings.",
		"Link not valid",
		"This unsubscribe link is not valid. Please use the link in "
		"the most recent message you received.",
		"Please try again",
		"Your request could not be processed just now. Please try "
		"again in a minute."
	},
	[TRACKD_DE] = {
		"de", "Abmelden",
		"Keine Nachrichten der Liste %s mehr erhalten?",
		"Keine unserer Aussendungen mehr erhalten?",
		"Adresse", "Abmelden",
		"Sie wurden abgemeldet",
		"Sie erhalten keine Nachrichten der Liste %s mehr.",
		"Sie erhalten keine unserer Aussendungen mehr.",
		"Link ungültig",
		"Dieser Abmeldelink ist nicht gültig. Bitte verwenden Sie den "
		"Link in der neuesten Nachricht, die Sie erhalten haben.",
		"Bitte versuchen Sie es erneut",
		"Ihre Anfrage konnte gerade nicht bearbeitet werden. Bitte "
		"versuchen Sie es in einer Minute erneut."
	}
};

/* Large type, strong contrast, a visible focus ring; no script, no
   font or image from anywhere. */
#define TRACKD_STYLE \
	"body{font:1.125rem/1.5 system-ui,sans-serif;max-width:36rem;" \
	"margin:2rem auto;padding:0 1rem;color:#111;background:#fff}" \
	"h1{font-size:1.5rem}" \
	"button{font:inherit;padding:.6rem 1.4rem;border:2px solid #111;" \
	"border-radius:.3rem;background:#111;color:#fff;cursor:pointer}" \
	"button:focus-visible{outline:3px solid #1a5fb4;outline-offset:2px}"

/* A sentence with one %s, the value escaped. */
static int
html_fill(struct buf *b, const char *fmt, const char *value)
{
	const char *at = strstr(fmt, "%s");

	if (at == NULL)
		return buf_adds(b, fmt);
	if (buf_add(b, fmt, (size_t)(at - fmt)) < 0 ||
	    buf_adds(b, "<strong>") < 0 || html_escape(b, value) < 0 ||
	    buf_adds(b, "</strong>") < 0)
		return -1;
	return buf_adds(b, at + 2);
}

/*
 * The address as the page shows it: the domain and the local part's
 * first two characters. Whoever holds the link (a forwarded message)
 * learns little; the reader still sees which of their addresses it is.
 */
static void
mask_address(const char *addr, char *out, size_t n)
{
	const char *at = strrchr(addr, '@');
	size_t local = at != NULL ? (size_t)(at - addr) : strlen(addr);

	snprintf(out, n, "%.*s***%s", local < 2 ? (int)local : 2, addr,
	    at != NULL ? at : "");
}

static int
page_head(struct buf *b, const struct trackd_text *tx, const char *title)
{
	if (buf_printf(b, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\">\n"
	    "<meta name=\"robots\" content=\"noindex\">\n<title>", tx->lang) <
	    0 || html_escape(b, title) < 0)
		return -1;
	return buf_adds(b, "</title>\n<style>" TRACKD_STYLE "</style>\n"
	    "</head>\n<body>\n<main>\n<h1>");
}

/* The form posts to the page's own URL (no action attribute) and sends
   what RFC 8058 one-click sends, so both take one path. */
static int
page_ask(struct buf *b, const struct trackd_text *tx,
    const struct feedback_target *t, int global)
{
	char shown[LIMIT_ADDR + 8];

	mask_address(t->address, shown, sizeof(shown));
	if (page_head(b, tx, tx->title) < 0 || html_escape(b, tx->title) < 0 ||
	    buf_adds(b, "</h1>\n<p>") < 0 ||
	    html_fill(b, global ? tx->ask_all : tx->ask_list, t->list) < 0 ||
	    buf_printf(b, "</p>\n<p>%s: <strong>", tx->address) < 0 ||
	    html_escape(b, shown) < 0)
		return -1;
	return buf_printf(b, "</strong></p>\n<form method=\"post\">\n"
	    "<button type=\"submit\" name=\"List-Unsubscribe\" "
	    "value=\"One-Click\">%s</button>\n</form>\n</main>\n</body>\n"
	    "</html>\n", tx->button);
}

static int
page_done(struct buf *b, const struct trackd_text *tx,
    const struct feedback_target *t, int global)
{
	if (page_head(b, tx, tx->done_title) < 0 ||
	    html_escape(b, tx->done_title) < 0 || buf_adds(b, "</h1>\n<p>") < 0 ||
	    html_fill(b, global ? tx->done_all : tx->done_list, t->list) < 0)
		return -1;
	return buf_adds(b, "</p>\n</main>\n</body>\n</html>\n");
}

static int
page_note(struct buf *b, const struct trackd_text *tx, const char *title,
    const char *text)
{
	if (page_head(b, tx, title) < 0 || html_escape(b, title) < 0 ||
	    buf_adds(b, "</h1>\n<p>") < 0 || html_escape(b, text) < 0)
		return -1;
	return buf_adds(b, "</p>\n</main>\n</body>\n</html>\n");
}

/* ------------------------------------------------------------ responses */

static void
req_log(const struct trackd *d, const char *method, const char *url,
    unsigned int status)
{
	char path[96];

	if (!d->o.log)
		return;
	trackd_log_path(url, path, sizeof(path));
	/* One fprintf: stdio locks the stream for the whole line. */
	fprintf(stderr, "track: method=%s path=%s status=%u\n", method, path,
	    status);
}

static void
hdr(struct MHD_Response *r, const char *name, const char *value)
{
	/* Fails only for a CR or LF in value, which none of ours has:
	   the stored link is checked before it gets here. */
	(void)MHD_add_response_header(r, name, value);
}

/* Answers with body (copied) and the headers every answer carries. */
static enum MHD_Result
reply(struct trackd *d, struct MHD_Connection *conn, struct trackd_req *rq,
    const char *method, const char *url, unsigned int status,
    const char *type, const void *body, size_t len,
    const char *const *extra)
{
	struct MHD_Response *r;
	enum MHD_Result ok;

	r = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body,
	    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	if (type != NULL)
		hdr(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	hdr(r, "X-Content-Type-Options", "nosniff");
	for (; extra != NULL && extra[0] != NULL; extra += 2)
		hdr(r, extra[0], extra[1]);
	ok = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	rq->answered = 1;
	req_log(d, method, url, status);
	return ok;
}

static enum MHD_Result
reply_text(struct trackd *d, struct MHD_Connection *conn,
    struct trackd_req *rq, const char *method, const char *url,
    unsigned int status, const char *text, const char *const *extra)
{
	static const char *const nostore[] = {
		MHD_HTTP_HEADER_CACHE_CONTROL, "no-store", NULL
	};

	return reply(d, conn, rq, method, url, status,
	    "text/plain; charset=utf-8", text, strlen(text),
	    extra != NULL ? extra : nostore);
}

/* The page headers: nothing loads, nothing is framed, nothing leaks the
   token on, nothing keeps a copy. */
static enum MHD_Result
reply_page(struct trackd *d, struct MHD_Connection *conn,
    struct trackd_req *rq, const char *method, const char *url,
    unsigned int status, enum trackd_lang lang, const struct buf *b)
{
	const char *const h[] = {
		"Content-Security-Policy", "default-src 'none'; "
		    "style-src 'unsafe-inline'; form-action 'self'; "
		    "frame-ancestors 'none'; base-uri 'none'",
		"Referrer-Policy", "no-referrer",
		MHD_HTTP_HEADER_CACHE_CONTROL, "no-store",
		MHD_HTTP_HEADER_CONTENT_LANGUAGE, trackd_texts[lang].lang,
		MHD_HTTP_HEADER_VARY, "Accept-Language",
		NULL
	};

	if (b == NULL)
		return reply_text(d, conn, rq, method, url,
		    MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n", NULL);
	return reply(d, conn, rq, method, url, status,
	    "text/html; charset=utf-8", b->data, b->len, h);
}

static enum MHD_Result
reply_gif(struct trackd *d, struct MHD_Connection *conn,
    struct trackd_req *rq, const char *method, const char *url)
{
	/* Each open is a new fetch: no cache of the client's, a proxy's
	   or an HTTP/1.0 one may answer for us. */
	static const char *const h[] = {
		MHD_HTTP_HEADER_CACHE_CONTROL,
		    "no-store, no-cache, must-revalidate, max-age=0, private",
		MHD_HTTP_HEADER_PRAGMA, "no-cache",
		MHD_HTTP_HEADER_EXPIRES, "Thu, 01 Jan 1970 00:00:00 GMT",
		NULL
	};

	return reply(d, conn, rq, method, url, MHD_HTTP_OK, "image/gif",
	    trackd_gif, sizeof(trackd_gif), h);
}

/* ---------------------------------------------------------- per thread */

static void
thread_free(void *p)
{
	struct trackd_thread *t = p;

	if (t == NULL)
		return;
	store_close(t->st);
	track_mac_free(t->mac);
	free(t);
}

static struct trackd_thread *
thread_get(struct trackd *d)
{
	struct trackd_thread *t = pthread_getspecific(d->tls);

	if (t != NULL)
		return t;
	t = xcalloc(1, sizeof(*t));
	if ((t->mac = track_mac_new(&d->key)) == NULL ||
	    pthread_setspecific(d->tls, t) != 0) {
		thread_free(t);
		return NULL;
	}
	return t;
}

/* The thread's store, opened on first use; NULL (said on stderr) when
   it cannot be. */
static struct store *
thread_store(struct trackd *d, struct trackd_thread *t)
{
	struct err e;

	if (t->st == NULL && store_open(d->db_path, 0, &t->st, &e) < 0) {
		fprintf(stderr, "postbote: track: %s\n", e.msg);
		t->st = NULL;
	}
	return t->st;
}

/* ------------------------------------------------------------- requests */

/*
 * The token for route's kind, and the delivery it names. 0: found;
 * 404 for a token that is not ours or names nothing; 503 when the
 * store could not say. Nothing before track_verify() touches the store.
 */
static unsigned int
lookup(struct trackd *d, struct trackd_thread *t, struct trackd_req *rq,
    enum track_kind want, struct trackd_hit *h)
{
	enum track_kind kind;
	struct store *st;
	struct err e;

	if (track_verify(t->mac, rq->token, rq->toklen, &kind, &h->campaign,
	    &h->recipient, &h->link) < 0 || kind != want)
		return MHD_HTTP_NOT_FOUND;
	if ((st = thread_store(d, t)) == NULL)
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	if (store_feedback_target(st, h->campaign, h->recipient, &h->t,
	    &e) == 0)
		return 0;
	if (e.code == EX_NOINPUT)
		return MHD_HTTP_NOT_FOUND;
	fprintf(stderr, "postbote: track: %s\n", e.msg);
	return MHD_HTTP_SERVICE_UNAVAILABLE;
}

/* The address the Apple rule looks at: the peer's, or behind our own
   proxy the last X-Forwarded-For entry (the one it appended). */
static const struct sockaddr *
client_address(struct trackd *d, struct MHD_Connection *conn,
    struct sockaddr_storage *ss)
{
	const union MHD_ConnectionInfo *ci;
	const char *xff, *last;
	char ip[INET6_ADDRSTRLEN];
	size_t n;

	if (d->o.behind_proxy &&
	    (xff = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "X-Forwarded-For")) != NULL) {
		last = strrchr(xff, ',');
		last = last != NULL ? last + 1 : xff;
		last += strspn(last, " \t");
		n = strcspn(last, " \t");
		memset(ss, 0, sizeof(*ss));
		if (n >= sizeof(ip))
			return NULL;
		memcpy(ip, last, n);
		ip[n] = '\0';
		if (inet_pton(AF_INET, ip, &((struct sockaddr_in *)ss)->
		    sin_addr) == 1) {
			ss->ss_family = AF_INET;
			return (struct sockaddr *)ss;
		}
		if (inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)ss)->
		    sin6_addr) == 1) {
			ss->ss_family = AF_INET6;
			return (struct sockaddr *)ss;
		}
		return NULL;
	}
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	return ci != NULL ? ci->client_addr : NULL;
}

/* The event's detail beyond what the store adds (the link of a click):
   never the client's address. */
static char *
event_detail(const char *ua, const char *why)
{
	char kept[TRACKD_UA_KEPT + 1];
	json_t *o = json_object();
	size_t i;
	char *s;

	if (ua != NULL) {
		/* Printable ASCII only: JSON wants UTF-8, and a cut may
		   fall inside a character. */
		for (i = 0; ua[i] != '\0' && i < TRACKD_UA_KEPT; i++)
			kept[i] = ua[i] >= ' ' && ua[i] < 0x7f ? ua[i] : '?';
		kept[i] = '\0';
		json_object_set_new(o, "user_agent", json_string(kept));
	}
	if (why != NULL)
		json_object_set_new(o, "machine_reason", json_string(why));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/* An open or a click: failures are said on stderr, and the reader
   still gets the image or the link. */
static void
record_hit(struct trackd *d, struct trackd_thread *t,
    struct MHD_Connection *conn, const struct trackd_hit *h,
    enum feedback_kind kind)
{
	struct feedback f = { 0 };
	struct feedback_result res;
	struct sockaddr_storage ss;
	const char *ua, *why;
	int64_t now = store_now_ms();
	char *detail;
	struct err e;

	ua = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_USER_AGENT);
	why = trackd_machine(ua, client_address(d, conn, &ss),
	    h->t.done_at > 0 ? now - h->t.done_at : -1, d->o.machine_seconds);
	detail = event_detail(ua, why);
	f.kind = kind;
	f.campaign_id = h->campaign;
	f.recipient_id = h->recipient;
	f.at = now;
	f.link = h->link;
	f.machine = why != NULL;
	f.detail = detail;
	if (store_feedback(t->st, d->o.policy, &f, &res, &e) < 0)
		fprintf(stderr, "postbote: track: campaign %lld recipient "
		    "%lld: %s\n", (long long)h->campaign,
		    (long long)h->recipient, e.msg);
	free(detail);
}

static enum MHD_Result
serve_open(struct trackd *d, struct trackd_thread *t,
    struct MHD_Connection *conn, struct trackd_req *rq, const char *method,
    const char *url)
{
	struct trackd_hit h;
	unsigned int st = lookup(d, t, rq, TRACK_OPEN, &h);

	if (st == MHD_HTTP_NOT_FOUND)
		return reply_text(d, conn, rq, method, url, st,
		    "not found\n", NULL);
	/* A store that cannot answer costs the event, not the image. */
	if (st == 0 && !rq->head)
		record_hit(d, t, conn, &h, FEEDBACK_OPEN);
	return reply_gif(d, conn, rq, method, url);
}

/* A stored URL becomes a header as it is: no byte may end the line. */
static int
header_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return 0;
	return 1;
}

/*
 * No Referrer-Policy here: after a redirect the browser sends the
 * referrer of the page the link was on (the webmail's, if any), never
 * this URL, so the token cannot leak by it; the target sees what it
 * would have seen without tracking.
 */
static enum MHD_Result
serve_click(struct trackd *d, struct trackd_thread *t,
    struct MHD_Connection *conn, struct trackd_req *rq, const char *method,
    const char *url)
{
	const char *h[] = {
		MHD_HTTP_HEADER_LOCATION, NULL,
		MHD_HTTP_HEADER_CACHE_CONTROL, "no-store",
		NULL
	};
	struct trackd_hit hit;
	unsigned int st = lookup(d, t, rq, TRACK_CLICK, &hit);
	enum MHD_Result ok;
	char *target = NULL;
	struct err e;

	if (st == 0 && store_link_url(t->st, hit.campaign, hit.link,
	    &target, &e) < 0) {
		st = e.code == EX_NOINPUT ? MHD_HTTP_NOT_FOUND :
		    MHD_HTTP_SERVICE_UNAVAILABLE;
		if (e.code != EX_NOINPUT)
			fprintf(stderr, "postbote: track: %s\n", e.msg);
	}
	if (st == 0 && !header_safe(target)) {
		fprintf(stderr, "postbote: track: campaign %lld link %d: the "
		    "stored URL has a control character\n",
		    (long long)hit.campaign, hit.link);
		st = MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	if (st != 0) {
		free(target);
		return reply_text(d, conn, rq, method, url, st,
		    st == MHD_HTTP_NOT_FOUND ? "not found\n" :
		    "try again later\n", NULL);
	}
	if (!rq->head)
		record_hit(d, t, conn, &hit, FEEDBACK_CLICK);
	h[1] = target;
	ok = reply(d, conn, rq, method, url, MHD_HTTP_FOUND, NULL, "", 0, h);
	free(target);
	return ok;
}

static enum MHD_Result
serve_unsubscribe(struct trackd *d, struct trackd_thread *t,
    struct MHD_Connection *conn, struct trackd_req *rq, const char *method,
    const char *url)
{
	enum trackd_lang lang = trackd_lang(MHD_lookup_connection_value(conn,
	    MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_LANGUAGE));
	const struct trackd_text *tx = &trackd_texts[lang];
	int global = d->o.policy->unsubscribe_global, rc;
	struct feedback f = { 0 };
	struct feedback_result res;
	struct trackd_hit h;
	unsigned int st = lookup(d, t, rq, TRACK_UNSUBSCRIBE, &h);
	enum MHD_Result ok;
	struct buf b;
	struct err e;

	buf_init(&b, 16 * 1024);
	if (st == 0 && rq->post) {
		f.kind = FEEDBACK_UNSUBSCRIBE;
		f.campaign_id = h.campaign;
		f.recipient_id = h.recipient;
		if (store_feedback(t->st, d->o.policy, &f, &res, &e) < 0) {
			fprintf(stderr, "postbote: track: campaign %lld "
			    "recipient %lld: %s\n", (long long)h.campaign,
			    (long long)h.recipient, e.msg);
			st = e.code == EX_NOINPUT ? MHD_HTTP_NOT_FOUND :
			    MHD_HTTP_SERVICE_UNAVAILABLE;
		}
	}
	if (st == MHD_HTTP_NOT_FOUND)
		rc = page_note(&b, tx, tx->gone_title, tx->gone);
	else if (st != 0)
		rc = page_note(&b, tx, tx->busy_title, tx->busy);
	else if (rq->post)
		rc = page_done(&b, tx, &h.t, global);
	else
		rc = page_ask(&b, tx, &h.t, global);
	ok = reply_page(d, conn, rq, method, url, st != 0 ? st : MHD_HTTP_OK,
	    lang, rc == 0 ? &b : NULL);
	buf_free(&b);
	return ok;
}

/* Readable means a query answers; the setting read is the key's. */
static enum MHD_Result
serve_health(struct trackd *d, struct trackd_thread *t,
    struct MHD_Connection *conn, struct trackd_req *rq, const char *method,
    const char *url)
{
	struct store *st = thread_store(d, t);
	char *v = NULL;
	struct err e;

	if (st != NULL && store_setting_get(st, "tracking_secret", &v,
	    &e) == 0 && v == NULL)
		err_set(&e, EX_CONFIG, "the database has no tracking secret");
	if (st == NULL || v == NULL) {
		if (st != NULL)
			fprintf(stderr, "postbote: track: health: %s\n",
			    e.msg);
		return reply_text(d, conn, rq, method, url,
		    MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable\n", NULL);
	}
	OPENSSL_cleanse(v, strlen(v));
	free(v);
	return reply_text(d, conn, rq, method, url, MHD_HTTP_OK, "ok\n",
	    NULL);
}

static enum MHD_Result
serve(struct trackd *d, struct MHD_Connection *conn, struct trackd_req *rq,
    const char *method, const char *url)
{
	struct trackd_thread *t = thread_get(d);

	if (t == NULL)
		return reply_text(d, conn, rq, method, url,
		    MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n", NULL);
	switch (rq->route) {
	case TRACKD_OPEN:
		return serve_open(d, t, conn, rq, method, url);
	case TRACKD_CLICK:
		return serve_click(d, t, conn, rq, method, url);
	case TRACKD_UNSUBSCRIBE:
		return serve_unsubscribe(d, t, conn, rq, method, url);
	case TRACKD_HEALTH:
		return serve_health(d, t, conn, rq, method, url);
	default:
		return reply_text(d, conn, rq, method, url,
		    MHD_HTTP_NOT_FOUND, "not found\n", NULL);
	}
}

/* 405 with the Allow header (RFC 9110 15.5.6); 0 when method is one
   the route takes. */
static int
method_allowed(struct trackd_req *rq, const char *method, const char **allow)
{
	*allow = rq->route == TRACKD_UNSUBSCRIBE ? "GET, HEAD, POST" :
	    "GET, HEAD";
	rq->head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	rq->post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
	if (rq->route == TRACKD_NONE)
		return 1;	/* 404 whatever the method */
	return rq->head || strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
	    (rq->post && rq->route == TRACKD_UNSUBSCRIBE);
}

/* A declared body over the limit is refused before it is read. */
static int
body_too_large(struct MHD_Connection *conn)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	size_t n = 0;

	if (cl == NULL)
		return 0;
	for (; *cl >= '0' && *cl <= '9'; cl++) {
		n = n * 10 + (size_t)(*cl - '0');
		if (n > LIMIT_HTTP_BODY)
			return 1;
	}
	return 0;
}

static enum MHD_Result
trackd_access(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **req_cls)
{
	struct trackd *d = cls;
	struct trackd_req *rq = *req_cls;
	const char *allow;

	(void)version;
	(void)upload;
	if (rq == NULL) {
		*req_cls = rq = xcalloc(1, sizeof(*rq));
		rq->route = trackd_route(url, &rq->token, &rq->toklen);
		if (!method_allowed(rq, method, &allow)) {
			const char *const h[] = {
				MHD_HTTP_HEADER_ALLOW, allow,
				MHD_HTTP_HEADER_CACHE_CONTROL, "no-store",
				NULL
			};
			return reply_text(d, conn, rq, method, url,
			    MHD_HTTP_METHOD_NOT_ALLOWED,
			    "method not allowed\n", h);
		}
		if (rq->post && body_too_large(conn))
			return reply_text(d, conn, rq, method, url,
			    MHD_HTTP_CONTENT_TOO_LARGE, "too large\n", NULL);
		return MHD_YES;
	}
	if (*upload_size != 0) {
		rq->body += *upload_size;
		*upload_size = 0;
		/* A chunked body over the limit: libmicrohttpd takes no
		   answer mid-body, so the connection closes. */
		if (rq->body > LIMIT_HTTP_BODY) {
			req_log(d, method, url, MHD_HTTP_CONTENT_TOO_LARGE);
			return MHD_NO;
		}
		return MHD_YES;
	}
	if (rq->answered)
		return MHD_YES;
	return serve(d, conn, rq, method, url);
}

static void
trackd_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	free(*req_cls);
	*req_cls = NULL;
}

static void
trackd_mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	fputs("postbote: track: ", stderr);
	vfprintf(stderr, fmt, ap);
}

/* ------------------------------------------------------------- the daemon */

static int
load_key(const char *db_path, struct track_key *key, struct err *e)
{
	struct store *st;
	int rc;

	if (store_open(db_path, 0, &st, e) < 0)
		return -1;
	rc = track_key_load(st, 0, key, e);
	store_close(st);
	return rc;
}

static void
format_address(struct trackd *d, const struct sockaddr_storage *ss,
    unsigned int port)
{
	char ip[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->
		    sin6_addr, ip, sizeof(ip));
		snprintf(d->address, sizeof(d->address), "[%s]:%u", ip, port);
	} else {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr,
		    ip, sizeof(ip));
		snprintf(d->address, sizeof(d->address), "%s:%u", ip, port);
	}
}

int
trackd_start(const struct trackd_opts *o, struct trackd **out,
    struct err *e)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *di;
	struct sockaddr_storage ss;
	struct trackd *d;
	socklen_t sl;
	uint16_t port;

	*out = NULL;
	if (trackd_parse_listen(o->listen, &ss, &sl) < 0)
		return err_set(e, EX_USAGE, "listen address \"%s\": want an IP "
		    "address and a port, e.g. 127.0.0.1:8080 or [::1]:8080",
		    o->listen);
	d = xcalloc(1, sizeof(*d));
	d->o = *o;
	d->db_path = xstrdup(o->db_path);
	d->o.db_path = d->db_path;
	if (load_key(d->db_path, &d->key, e) < 0 ||
	    pthread_key_create(&d->tls, thread_free) != 0) {
		free(d->db_path);
		OPENSSL_cleanse(d, sizeof(*d));
		free(d);
		return -1;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	port = ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
	errno = 0;
	d->mhd = MHD_start_daemon(flags, port, NULL, NULL, trackd_access, d,
	    MHD_OPTION_EXTERNAL_LOGGER, trackd_mhd_log, d,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)(o->threads > 0 ?
	    o->threads : 1),
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)LIMIT_HTTP_CONNS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)LIMIT_HTTP_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)LIMIT_HTTP_MEMORY,
	    MHD_OPTION_NOTIFY_COMPLETED, trackd_completed, d,
	    MHD_OPTION_END);
	if (d->mhd == NULL) {
		err_set(e, EX_UNAVAILABLE, "cannot listen on %s%s%s", o->listen,
		    errno != 0 ? ": " : "", errno != 0 ? strerror(errno) : "");
		trackd_stop(d);
		return -1;
	}
	di = MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_BIND_PORT);
	format_address(d, &ss, di != NULL ? di->port : port);
	*out = d;
	return 0;
}

const char *
trackd_address(const struct trackd *d)
{
	return d->address;
}

void
trackd_stop(struct trackd *d)
{
	if (d == NULL)
		return;
	/* Joins the pool: each thread's store closes as it ends. */
	if (d->mhd != NULL)
		MHD_stop_daemon(d->mhd);
	pthread_key_delete(d->tls);
	free(d->db_path);
	OPENSSL_cleanse(d, sizeof(*d));
	free(d);
}
