/*
 * lint.c - content checks before a send; see lint.h and the README's
 * "Content checks: lint" for what each rule looks at and why.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include "addr.h"
#include "campaign.h"
#include "config.h"
#include "html.h"
#include "lint.h"
#include "render.h"
#include "store.h"
#include "xalloc.h"

const struct lint_rule lint_rules[] = {
	{ "from-no-dkim", LINT_FAIL, "no DKIM key covers the From domain" },
	{ "no-unsubscribe", LINT_FAIL, "neither a List-Unsubscribe header "
	  "nor an unsubscribe link" },
	{ "link-text-mismatch", LINT_FAIL, "a link's text shows another "
	  "domain than its target" },
	{ "html-size", LINT_FAIL, "the HTML part is over 102 KB: Gmail "
	  "clips it" },
	{ "no-unsubscribe-link", LINT_WARN, "a List-Unsubscribe header but "
	  "no unsubscribe link in the body" },
	{ "no-unsubscribe-header", LINT_WARN, "an unsubscribe link but no "
	  "List-Unsubscribe header" },
	{ "no-text-part", LINT_WARN, "no text part of the template's own, or "
	  "an empty one" },
	{ "subject-caps", LINT_WARN, "the subject is mostly capitals" },
	{ "subject-exclaim", LINT_WARN, "two or more exclamation marks in "
	  "the subject" },
	{ "subject-trigger-words", LINT_WARN, "spam trigger words in the "
	  "subject" },
	{ "image-only", LINT_WARN, "images with (almost) no text" },
	{ "low-text-ratio", LINT_WARN, "little text beside the images" },
	{ "img-no-alt", LINT_WARN, "images without alt text" },
	{ "plain-http-link", LINT_WARN, "links or images over plain http" },
	{ "url-shortener", LINT_WARN, "links through a URL shortener" },
	{ NULL, LINT_WARN, NULL }
};

/* ---------------------------------------------------------------- report */

void
lint_report_init(struct lint_report *r)
{
	memset(r, 0, sizeof(*r));
}

void
lint_report_free(struct lint_report *r)
{
	int i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++)
		free(r->f[i].message);
	free(r->f);
	memset(r, 0, sizeof(*r));
}

const char *
lint_severity_name(enum lint_severity s)
{
	return s == LINT_FAIL ? "fail" : "warn";
}

static enum lint_severity
rule_severity(const char *rule)
{
	int i;

	for (i = 0; lint_rules[i].id != NULL; i++)
		if (strcmp(lint_rules[i].id, rule) == 0)
			return lint_rules[i].severity;
	return LINT_FAIL;	/* a rule missing from the table: loud */
}

static void add(struct lint_report *r, const char *rule, const char *fix,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
add(struct lint_report *r, const char *rule, const char *fix,
    const char *fmt, ...)
{
	struct lint_finding *f;
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->f = xrealloc(r->f, (size_t)r->cap * sizeof(*r->f));
	}
	f = &r->f[r->n++];
	f->rule = rule;
	f->severity = rule_severity(rule);
	f->message = xstrdup(msg);
	f->fix = fix;
	if (f->severity == LINT_FAIL)
		r->fails++;
	else
		r->warnings++;
}

/* ------------------------------------------------------------- unicode */

/* Case-folded NFC copy of s (malloc'd), or NULL for invalid UTF-8. */
static char *
fold(const char *s)
{
	size_t n = 0;
	uint8_t *out;

	out = u8_casefold((const uint8_t *)s, strlen(s), NULL, UNINORM_NFC,
	    NULL, &n);
	if (out == NULL)
		return NULL;
	out = xrealloc(out, n + 1);
	out[n] = '\0';
	return (char *)out;
}

static int
alnum_at(const uint8_t *p, size_t avail)
{
	ucs4_t c;

	if (avail == 0 || u8_mbtouc(&c, p, avail) < 1)
		return 0;
	return uc_is_alnum(c);
}

static int
alnum_before(const uint8_t *start, const uint8_t *p)
{
	const uint8_t *q;
	ucs4_t c;

	if (p == start || (q = u8_prev(&c, p, start)) == NULL)
		return 0;
	return uc_is_alnum(c);
}

/*
 * Whether folded text holds folded word on word boundaries: a side of
 * the word that is a letter or digit must not touch another one ("free"
 * is not in "freedom"; "$$$" needs no boundary).
 */
static int
has_word(const char *text, const char *word)
{
	const uint8_t *t = (const uint8_t *)text, *w = (const uint8_t *)word;
	size_t tn = strlen(text), wn = strlen(word);
	const char *p = text;
	const uint8_t *last;
	ucs4_t c;

	if (wn == 0 || (last = u8_prev(&c, w + wn, w)) == NULL)
		return 0;
	while ((p = strstr(p, word)) != NULL) {
		const uint8_t *s = (const uint8_t *)p, *end = s + wn;

		if ((!alnum_at(w, wn) || !alnum_before(t, s)) &&
		    (!uc_is_alnum(c) || !alnum_at(end, tn - (size_t)(end - t))))
			return 1;
		p++;
	}
	return 0;
}

/* ------------------------------------------------------------- subject */

static void
check_subject_case(const char *subject, struct lint_report *r)
{
	const uint8_t *p = (const uint8_t *)subject;
	size_t n = strlen(subject);
	int upper = 0, cased = 0, len;
	ucs4_t c;

	while (n > 0 && (len = u8_mbtouc(&c, p, n)) > 0) {
		if (uc_is_upper(c))
			upper++, cased++;
		else if (uc_is_lower(c))
			cased++;
		p += len;
		n -= (size_t)len;
	}
	if (cased >= LINT_CAPS_MIN_LETTERS && upper * 2 > cased)
		add(r, "subject-caps", "write the subject in sentence case; "
		    "one capitalised word stands out enough", "%d of the "
		    "subject's %d letters are capitals", upper, cased);
}

static void
check_subject_exclaim(const char *subject, struct lint_report *r)
{
	const char *p;
	int n = 0;

	for (p = subject; *p != '\0'; p++)
		n += *p == '!';
	if (n >= LINT_EXCLAIM_MAX)
		add(r, "subject-exclaim", "one exclamation mark at most, "
		    "better none", "the subject has %d exclamation marks", n);
}

static void
check_subject_words(const char *subject, struct lint_report *r)
{
	static const char *const *lists[] = { lint_spam_words_en,
	    lint_spam_words_de };
	char found[400], *s, *w;
	size_t used = 0, l;
	int i, k, hits = 0;

	if ((s = fold(subject)) == NULL)
		return;
	found[0] = '\0';
	for (l = 0; l < sizeof(lists) / sizeof(lists[0]); l++)
		for (i = 0; lists[l][i] != NULL; i++) {
			if ((w = fold(lists[l][i])) == NULL)
				continue;
			if (has_word(s, w) && used < sizeof(found) - 1) {
				k = snprintf(found + used, sizeof(found) - used,
				    "%s\"%s\"", hits ? ", " : "", lists[l][i]);
				used += k > 0 ? (size_t)k : 0;
				hits++;
			}
			free(w);
		}
	free(s);
	if (hits > 0)
		add(r, "subject-trigger-words", "say what the mail is about in "
		    "plain words; spam filters score these", "the subject has "
		    "%s: %s", hits == 1 ? "a trigger word" : "trigger words",
		    found);
}

/* ----------------------------------------------------------------- URLs */

enum scheme { SCHEME_OTHER, SCHEME_HTTP, SCHEME_HTTPS };

/*
 * The scheme of url and, for http(s) with an authority, its host: lower
 * case, without user info, port or a trailing dot. "" when there is none.
 */
static enum scheme
url_host(const char *url, char *host, size_t n)
{
	char clean[2048];
	enum scheme sc;
	const char *p = url, *end, *at;
	size_t len, i, k = 0;

	host[0] = '\0';
	/* As a browser reads an href (the WHATWG URL standard): leading
	 * controls and spaces go, and so does every tab and line break
	 * ("ht&#9;tps://" is https). The host comes early: a cut tail
	 * does not matter. */
	while (*p != '\0' && (unsigned char)*p <= ' ')
		p++;
	for (; *p != '\0' && k + 1 < sizeof(clean); p++)
		if (*p != '\t' && *p != '\n' && *p != '\r')
			clean[k++] = *p;
	clean[k] = '\0';
	p = clean;
	if (strncasecmp(p, "https:", 6) == 0)
		sc = SCHEME_HTTPS, p += 6;
	else if (strncasecmp(p, "http:", 5) == 0)
		sc = SCHEME_HTTP, p += 5;
	else
		return SCHEME_OTHER;
	/* "https:evil.example", "https:/\\evil.example": for http(s) a
	 * browser skips any run of slashes and backslashes. */
	while (*p == '/' || *p == '\\')
		p++;
	end = p + strcspn(p, "/?#\\");
	/* "https://www.bank.example@evil.example/" goes to evil.example. */
	for (at = end; at > p && at[-1] != '@'; at--)
		;
	p = at;
	len = (size_t)(end - p);
	if (*p != '[') {
		for (i = len; i > 0 && p[i - 1] >= '0' && p[i - 1] <= '9'; i--)
			;
		if (i > 0 && p[i - 1] == ':')
			len = i - 1;
	}
	if (len > 0 && p[len - 1] == '.')
		len--;
	if (len >= n)
		len = n - 1;
	for (i = 0; i < len; i++)
		host[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
	host[len] = '\0';
	return sc;
}

/* The host as an A-label (IDN), where it is a valid domain. */
static void
host_norm(char *host, size_t n)
{
	char a[LIMIT_ADDR_DOMAIN + 1];
	struct err e;

	if (addr_domain(host, strlen(host), a, sizeof(a), &e) == 0 &&
	    strlen(a) < n)
		memcpy(host, a, strlen(a) + 1);
}

static const char *
strip_www(const char *h)
{
	return strncmp(h, "www.", 4) == 0 ? h + 4 : h;
}

/* a is b or below it: "t.example.com" and "example.com". */
static int
host_below(const char *a, const char *b)
{
	size_t an = strlen(a), bn = strlen(b);

	return an == bn ? strcmp(a, b) == 0 : an > bn &&
	    a[an - bn - 1] == '.' && strcmp(a + an - bn, b) == 0;
}

static int
host_related(const char *a, const char *b)
{
	a = strip_www(a);
	b = strip_www(b);
	return host_below(a, b) || host_below(b, a);
}

/* Top-level domains a bare "example.com" link text is taken for a
   domain by; "node.js" or "v1.2" are not. */
static int
common_tld(const char *tld)
{
	static const char *const tlds[] = { "com", "net", "org", "info",
	    "biz", "de", "at", "ch", "eu", "uk", "fr", "nl", "be", "it", "es",
	    "pl", "io", "co", "us", "ca", "ru", "dk", "se", "no", "fi", "cz",
	    "me", "app", "dev", "shop", "online", "gov", "edu", NULL };
	int i;

	for (i = 0; tlds[i] != NULL; i++)
		if (strcmp(tld, tlds[i]) == 0)
			return 1;
	return 0;
}

/*
 * The host a link text shows, when the whole text is a URL or a domain
 * ("https://bank.example/login", "www.bank.example", "bank.com"); 0 when
 * it is words, an address or anything else.
 */
static int
text_host(const char *text, char *host, size_t n)
{
	char t[300], *p, *dot;
	size_t len = strlen(text), i;

	while (len > 0 && strchr(".,;:!?)>", text[len - 1]) != NULL)
		len--;
	if (len == 0 || len >= sizeof(t) || memchr(text, ' ', len) != NULL ||
	    memchr(text, '@', len) != NULL)
		return 0;
	memcpy(t, text, len);
	t[len] = '\0';
	if (url_host(t, host, n) != SCHEME_OTHER)
		return host[0] != '\0';
	t[strcspn(t, "/?#")] = '\0';
	for (i = 0; t[i] != '\0'; i++)
		t[i] = (char)(t[i] >= 'A' && t[i] <= 'Z' ? t[i] + 32 : t[i]);
	if ((dot = strrchr(t, '.')) == NULL || dot == t)
		return 0;
	for (p = t; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.' || (unsigned char)*p >= 0x80))
			return 0;
	if ((strncmp(t, "www.", 4) != 0 && !common_tld(dot + 1)) ||
	    strlen(t) >= n)
		return 0;
	memcpy(host, t, strlen(t) + 1);
	return 1;
}

static int
is_shortener(const char *host)
{
	int i;

	for (i = 0; lint_shorteners[i] != NULL; i++)
		if (host_below(host, lint_shorteners[i]))
			return 1;
	return 0;
}

/* ---------------------------------------------------------------- links */

/* Stems, in URLs and in link texts, that mean "unsubscribe". */
static int
unsubscribe_word(const char *s)
{
	static const char *const stems[] = { "unsubscrib", "opt-out",
	    "optout", "opt out", "abmeld", "abbestell", "austrag", NULL };
	char *f = fold(s);
	int i, hit = 0;

	for (i = 0; f != NULL && stems[i] != NULL && !hit; i++)
		hit = strstr(f, stems[i]) != NULL;
	free(f);
	return hit;
}

static int
is_unsubscribe_link(const struct lint_input *in, const struct html_anchor *a)
{
	if (a->href[0] == '\0')
		return 0;
	if (in->unsubscribe_url != NULL && in->unsubscribe_url[0] != '\0' &&
	    strcmp(a->href, in->unsubscribe_url) == 0)
		return 1;
	return unsubscribe_word(a->href) || unsubscribe_word(a->text);
}

struct link_counts {
	int http;
	const char *http_first;
	int shortened;
	const char *short_first;
	int unsubscribe;
};

static void
check_link(const struct lint_input *in, const struct html_anchor *a,
    struct link_counts *k, struct lint_report *r)
{
	char host[LIMIT_ADDR_DOMAIN + 1], shown[LIMIT_ADDR_DOMAIN + 1];
	enum scheme sc = url_host(a->href, host, sizeof(host));

	if (is_unsubscribe_link(in, a))
		k->unsubscribe++;
	if (sc == SCHEME_OTHER || host[0] == '\0')
		return;
	/* The tracking server's own links have a finding of their own. */
	if (sc == SCHEME_HTTP && (in->tracking_base == NULL ||
	    strncmp(a->href, in->tracking_base, strlen(in->tracking_base))) &&
	    k->http++ == 0)
		k->http_first = a->href;
	if (is_shortener(host) && k->shortened++ == 0)
		k->short_first = a->href;
	if (!text_host(a->text, shown, sizeof(shown)))
		return;
	host_norm(host, sizeof(host));
	host_norm(shown, sizeof(shown));
	if (!host_related(host, shown))
		add(r, "link-text-mismatch", "show the real target in the "
		    "text, or use words (\"Read the story\") instead of an "
		    "address", "the link text \"%.120s\" shows %s, but the link "
		    "goes to %s: mail filters and readers take that for "
		    "phishing", a->text, shown, host);
}

static void
check_links(const struct lint_input *in, const struct html_inventory *inv,
    struct lint_report *r, int *unsubscribe)
{
	struct link_counts k = { 0, NULL, 0, NULL, 0 };
	char host[LIMIT_ADDR_DOMAIN + 1];
	int i, img_http = 0;

	for (i = 0; i < inv->nanchors; i++)
		check_link(in, &inv->anchors[i], &k, r);
	for (i = 0; i < inv->nimages; i++)
		img_http += url_host(inv->images[i].src, host, sizeof(host)) ==
		    SCHEME_HTTP;
	if (k.http > 0 || img_http > 0)
		add(r, "plain-http-link", "use https:// for every link and "
		    "image", "%d link(s) and %d image(s) over plain http%s%.200s",
		    k.http, img_http, k.http ? ", e.g. " : "",
		    k.http ? k.http_first : "");
	if (in->tracking_base != NULL && url_host(in->tracking_base, host,
	    sizeof(host)) == SCHEME_HTTP)
		add(r, "plain-http-link", "serve the tracking server over "
		    "TLS (a proxy in front, track serve --behind-proxy) and set "
		    "tracking.base_url to https://", "tracking.base_url is "
		    "%.200s: every tracked link, the open pixel and the "
		    "unsubscribe URL go out over plain http", in->tracking_base);
	if (k.shortened > 0)
		add(r, "url-shortener", "link to the target itself; click "
		    "tracking already counts the clicks", "%d link(s) through "
		    "a URL shortener, e.g. %.200s", k.shortened, k.short_first);
	*unsubscribe = k.unsubscribe;
}

/* ---------------------------------------------------------------- images */

static void
check_images(const struct html_inventory *inv, struct lint_report *r)
{
	const char *first = NULL;
	int i, images = 0, no_alt = 0;
	size_t want;

	for (i = 0; i < inv->nimages; i++) {
		if (inv->images[i].pixel)
			continue;
		images++;
		if (!inv->images[i].has_alt && no_alt++ == 0)
			first = inv->images[i].src;
	}
	if (no_alt > 0)
		add(r, "img-no-alt", "give every image an alt text (alt=\"\" "
		    "for a decorative one): many readers block images", "%d "
		    "image(s) without an alt attribute, e.g. \"%.200s\"", no_alt,
		    first);
	if (images == 0)
		return;
	want = (size_t)images * LINT_CHARS_PER_IMAGE;
	if (want < LINT_LOW_TEXT_CHARS)
		want = LINT_LOW_TEXT_CHARS;
	if (inv->text_chars < LINT_IMAGE_ONLY_CHARS)
		add(r, "image-only", "put the message in text, with images "
		    "beside it: filters cannot read an image, and readers who "
		    "block images see nothing", "%d image(s) and only %zu "
		    "characters of text", images, inv->text_chars);
	else if (inv->text_chars < want)
		add(r, "low-text-ratio", "write more text beside the images, "
		    "or use fewer images", "%d image(s) and %zu characters of "
		    "text (fewer than %zu)", images, inv->text_chars, want);
}

/* ----------------------------------------------------------- the message */

static void
check_unsubscribe(const struct lint_input *in, int links,
    struct lint_report *r)
{
	int in_text = in->unsubscribe_url != NULL &&
	    in->unsubscribe_url[0] != '\0' && in->text != NULL &&
	    strstr(in->text, in->unsubscribe_url) != NULL;

	if (links > 0 || in_text) {
		if (!in->list_unsubscribe)
			add(r, "no-unsubscribe-header", "set tracking.base_url "
			    "in the config: Gmail and Yahoo ask bulk senders "
			    "for one-click List-Unsubscribe (RFC 8058)", "the "
			    "message has an unsubscribe link but no "
			    "List-Unsubscribe header");
		return;
	}
	if (in->list_unsubscribe)
		add(r, "no-unsubscribe-link", "add <a href=\"{{ unsubscribe_url "
		    "}}\">Unsubscribe</a> to the footer", "List-Unsubscribe "
		    "is set, but the body has no unsubscribe link: readers who "
		    "cannot find one press \"spam\"");
	else if (in->unsubscribe_tag)
		add(r, "no-unsubscribe", "set tracking.base_url in the config "
		    "(and run `postbote track serve`)", "the template links "
		    "{{ unsubscribe_url }}, but without tracking.base_url it "
		    "renders empty, and no List-Unsubscribe header goes out");
	else
		add(r, "no-unsubscribe", "set tracking.base_url in the config "
		    "and link <a href=\"{{ unsubscribe_url }}\">Unsubscribe</a> "
		    "in the footer", "no List-Unsubscribe header and no "
		    "unsubscribe link: a reader's only way out is the spam "
		    "button");
}

static int
blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	return 1;
}

static void
check_text_part(const struct lint_input *in, struct lint_report *r)
{
	if (in->text == NULL || blank(in->text, in->text_len))
		add(r, "no-text-part", "write a text part (template add "
		    "--text FILE) that says what the HTML says", "the text part "
		    "is empty");
	else if (!in->own_text)
		add(r, "no-text-part", "write a text part (template add "
		    "--text FILE); the derived one is a fallback", "the "
		    "template has no text part: the one derived from the HTML "
		    "goes out");
}

static void
check_from(const struct lint_input *in, struct lint_report *r)
{
	if (in->dkim == LINT_DKIM_MISSING)
		add(r, "from-no-dkim", "`postbote dkim keygen --domain D "
		    "--selector S`, add the key to the config's \"dkim\" list "
		    "and publish its TXT record", "no DKIM key covers the From "
		    "domain %.200s: unsigned bulk mail fails DMARC and Gmail's "
		    "and Yahoo's sender rules", in->from_domain ?
		    in->from_domain : "?");
}

static void
check_size(const struct lint_input *in, struct lint_report *r)
{
	if (in->html_sent_len > LINT_HTML_CLIP)
		add(r, "html-size", "trim the HTML: less inline CSS, fewer "
		    "nested tables, a link to the full story", "the HTML part "
		    "is %zu bytes as sent, over Gmail's %d: it clips the "
		    "message there and hides the rest, the unsubscribe link "
		    "with it", in->html_sent_len, LINT_HTML_CLIP);
}

static int
rule_index(const char *rule)
{
	int i;

	for (i = 0; lint_rules[i].id != NULL; i++)
		if (strcmp(lint_rules[i].id, rule) == 0)
			return i;
	return i;
}

/* Into lint_rules[] order (fails first), stable: n is small. */
static void
sort_findings(struct lint_report *r)
{
	struct lint_finding f;
	int i, j;

	for (i = 1; i < r->n; i++) {
		f = r->f[i];
		for (j = i; j > 0 && rule_index(r->f[j - 1].rule) >
		    rule_index(f.rule); j--)
			r->f[j] = r->f[j - 1];
		r->f[j] = f;
	}
}

int
lint_check(const struct lint_input *in, struct lint_report *r,
    struct err *e)
{
	struct html_inventory inv;
	int links = 0;

	memset(&inv, 0, sizeof(inv));
	if (in->html != NULL && html_inventory(in->html, in->html_len, &inv,
	    e) < 0)
		return -1;
	check_from(in, r);
	check_size(in, r);
	check_links(in, &inv, r, &links);
	check_unsubscribe(in, links, r);
	check_text_part(in, r);
	if (in->subject != NULL) {
		check_subject_case(in->subject, r);
		check_subject_exclaim(in->subject, r);
		check_subject_words(in->subject, r);
	}
	check_images(&inv, r);
	html_inventory_free(&inv);
	sort_findings(r);
	return 0;
}

/* ------------------------------------------------------------------ load */

/* The campaign (its pinned template, From and options) or a template on
 * its own, as render_load() reads them; a strict campaign's missing
 * variables must not stop its check, so the sample renders lenient. */
static int
source_load(struct store *st, const struct lint_target *t,
    struct render_source *src, struct err *e)
{
	if (render_source_load(st, t->campaign, t->campaign != NULL ? NULL :
	    t->template_name, t->version, NULL, src, e) < 0)
		return -1;
	src->rc.strict = 0;
	return 0;
}

/* Whether a key of the config signs mail from domain, as send does. */
static enum lint_dkim
dkim_covers(const struct config *cfg, const char *domain)
{
	char d[LIMIT_ADDR_DOMAIN + 1];
	struct err e;
	int i;

	if (addr_domain(domain, strlen(domain), d, sizeof(d), &e) < 0)
		return LINT_DKIM_MISSING;
	for (i = 0; i < cfg->ndkim; i++)
		if (host_below(d, cfg->dkim[i].domain))
			return LINT_DKIM_OK;
	return LINT_DKIM_MISSING;
}

/*
 * One render of the sample recipient. The token key is a fixed one:
 * tokens have their real length, and lint never touches the secret.
 */
static int
render_sample(const struct render_source *src, const struct config *cfg,
    int tracked, const struct lint_target *t, struct render_ctx *x,
    struct err *e)
{
	struct render_config rcfg = { 0 };
	struct track_key key = { { 0 }, 32 };
	struct render_rcpt rc;
	struct render *rd;
	json_t *none = NULL;
	int ret;

	rcfg.base_url = cfg->tracking_base_url;
	rcfg.opens = tracked && cfg->tracking_opens;
	rcfg.clicks = tracked && cfg->tracking_clicks;
	rcfg.return_path_domain = cfg->return_path_domain;
	if (render_open(&src->rc, &rcfg, &key, &rd, e) < 0)
		return -1;
	if (t->attrs == NULL)
		none = json_object();
	rc.id = 0;
	rc.address = t->address != NULL ? t->address : "preview@example.com";
	rc.attrs = t->attrs != NULL ? t->attrs : none;
	rc.date_ms = store_now_ms();
	ret = render_message(rd, &rc, x, e);
	json_decref(none);
	render_close(rd);
	return ret;
}

static int
uses_unsubscribe(const char *s)
{
	return s != NULL && strstr(s, "unsubscribe_url") != NULL;
}

int
lint_load(struct store *st, const struct config *cfg,
    const struct lint_target *t, struct lint_report *r, struct err *e)
{
	struct render_ctx sent, plain;
	struct lint_input in;
	struct render_source src;
	const char *at;
	int rc = -1;

	render_ctx_init(&sent);
	render_ctx_init(&plain);
	if (source_load(st, t, &src, e) < 0 ||
	    render_sample(&src, cfg, 1, t, &sent, e) < 0 ||
	    render_sample(&src, cfg, 0, t, &plain, e) < 0)
		goto out;
	memset(&in, 0, sizeof(in));
	in.subject = buf_str(&plain.subject);
	in.html = buf_str(&plain.html);
	in.html_len = plain.html.len;
	in.html_sent_len = sent.html.len;
	in.text = buf_str(&sent.text);
	in.text_len = sent.text.len;
	in.own_text = src.rc.text != NULL;
	in.list_unsubscribe = cfg->tracking_base_url != NULL;
	in.unsubscribe_url = buf_str(&plain.url);
	in.unsubscribe_tag = uses_unsubscribe(src.rc.html) ||
	    uses_unsubscribe(src.rc.text);
	in.tracking_base = cfg->tracking_base_url;
	in.dkim = LINT_DKIM_NA;
	if (t->campaign != NULL && (at = strrchr(src.rc.from_addr, '@'))) {
		in.from_domain = at + 1;
		if (!t->no_dkim)
			in.dkim = dkim_covers(cfg, at + 1);
	}
	rc = lint_check(&in, r, e);
out:
	render_ctx_free(&sent);
	render_ctx_free(&plain);
	render_source_free(&src);
	return rc;
}
