/*
 * test_lint.c - the content checks (lint_check) and html_inventory().
 *
 * Each row is one message and the exact list of rule ids it must trip, in
 * report order, so a rule that trips where it should not fails the row as
 * surely as one that stays silent. The base message trips nothing: enough
 * text, an own text part, an unsubscribe link and header, https links, a
 * DKIM key; each row changes one thing (thresholds on both sides).
 */
#include "unit.h"

#include "html.h"
#include "lint.h"

#define UNSUB	"https://t.example.com/u/TOKEN"
/* 47 characters of text a line: LONG has 470, over every threshold for
   one image. */
#define WORDS	"Here is what happened this month in and around our shop. "
#define LONG	"<p>" WORDS WORDS WORDS WORDS WORDS WORDS WORDS WORDS WORDS \
		WORDS "</p>"
#define FOOT	"<p><a href=\"" UNSUB "\">Unsubscribe</a></p>"
#define PAGE(x)	"<html><head><title>T</title><style>p{}</style></head>" \
		"<body>" LONG x FOOT "</body></html>"
#define TEXT	"Here is what happened this month.\nUnsubscribe: " UNSUB "\n"

enum {
	F_NO_HEADER	= 1 << 0,	/* no List-Unsubscribe */
	F_NO_URL	= 1 << 1,	/* unsubscribe_url renders "" */
	F_TAG		= 1 << 2,	/* the template uses unsubscribe_url */
	F_DERIVED	= 1 << 3,	/* no own text part */
	F_DKIM_MISSING	= 1 << 4,
	F_DKIM_NA	= 1 << 5,
	F_HTTP_BASE	= 1 << 6,	/* tracking.base_url over http */
	F_NO_TRACKING	= 1 << 7,	/* no tracking.base_url */
};

struct lint_case {
	const char *name;
	const char *subject;
	const char *html;
	const char *text;	/* NULL: TEXT */
	int flags;
	size_t sent_len;	/* 0: strlen(html) */
	const char *want;	/* rule ids, comma-separated, in order */
	const char *msg;	/* a finding's message holds this; NULL: any */
};

static const struct lint_case cases[] = {
	{ "clean: trips nothing", "Your November update", PAGE(""), NULL, 0,
	    0, "", NULL },
	{ "clean: German subject with umlauts", "Neuigkeiten für München",
	    PAGE(""), NULL, 0, 0, "", NULL },

	/* from-no-dkim */
	{ "dkim: no key for the From domain", "Update", PAGE(""), NULL,
	    F_DKIM_MISSING, 0, "from-no-dkim", "example.com" },
	{ "dkim: --no-dkim or no From", "Update", PAGE(""), NULL, F_DKIM_NA,
	    0, "", NULL },

	/* unsubscribe */
	{ "unsubscribe: neither header nor link", "Update", "<p>" WORDS WORDS
	    WORDS WORDS WORDS WORDS WORDS WORDS "</p>", "Plain words.\n",
	    F_NO_HEADER | F_NO_URL | F_NO_TRACKING, 0, "no-unsubscribe",
	    "no List-Unsubscribe header and no unsubscribe link" },
	{ "unsubscribe: {{ unsubscribe_url }} without base_url", "Update",
	    "<p>" WORDS WORDS WORDS WORDS WORDS WORDS WORDS WORDS "</p><a "
	    "href=\"\">Leave</a>", "Plain words.\n", F_NO_HEADER | F_NO_URL |
	    F_TAG | F_NO_TRACKING, 0, "no-unsubscribe", "renders empty" },
	{ "unsubscribe: header, no link", "Update", "<p>" WORDS WORDS WORDS
	    WORDS WORDS WORDS WORDS WORDS "</p>", "Plain words.\n", 0, 0,
	    "no-unsubscribe-link", NULL },
	{ "unsubscribe: link, no header", "Update", PAGE(""), NULL,
	    F_NO_HEADER | F_NO_TRACKING, 0, "no-unsubscribe-header", NULL },
	{ "unsubscribe: German link text to the sender's own page", "Update",
	    "<p>" WORDS WORDS WORDS WORDS WORDS WORDS WORDS WORDS "</p><a href"
	    "=\"https://shop.example/newsletter\">Newsletter abbestellen</a>",
	    "Plain words.\n", F_NO_HEADER | F_NO_URL | F_NO_TRACKING, 0,
	    "no-unsubscribe-header", NULL },
	{ "unsubscribe: only in the text part", "Update", "<p>" WORDS WORDS
	    WORDS WORDS WORDS WORDS WORDS WORDS "</p>", NULL, 0, 0, "", NULL },

	/* html-size */
	{ "html-size: exactly 102 KB passes", "Update", PAGE(""), NULL, 0,
	    102 * 1024, "", NULL },
	{ "html-size: one byte more fails", "Update", PAGE(""), NULL, 0,
	    102 * 1024 + 1, "html-size", "104449 bytes" },

	/* link-text-mismatch */
	{ "mismatch: www.bank.com to another domain", "Update",
	    PAGE("<a href=\"https://evil.example/login\">www.bank.com</a>"),
	    NULL, 0, 0, "link-text-mismatch", "shows www.bank.com" },
	{ "mismatch: www.bank.com to itself", "Update",
	    PAGE("<a href=\"https://www.bank.com/login\">www.bank.com</a>"),
	    NULL, 0, 0, "", NULL },
	{ "mismatch: bank.com to a subdomain of it", "Update",
	    PAGE("<a href=\"https://t.bank.com/c/x\">bank.com</a>"), NULL, 0,
	    0, "", NULL },
	{ "mismatch: a URL text, a look-alike host", "Update",
	    PAGE("<a href=\"https://bank.com.evil.example/\">https://bank.com"
	    "/login</a>"), NULL, 0, 0, "link-text-mismatch", NULL },
	{ "mismatch: user info hides the host", "Update",
	    PAGE("<a href=\"https://www.bank.com@evil.example/\">www.bank.com"
	    "</a>"), NULL, 0, 0, "link-text-mismatch", "evil.example" },
	{ "mismatch: no slashes after https: (a browser adds them)",
	    "Update", PAGE("<a href=\"https:evil.example/\">https://bank."
	    "example</a>"), NULL, 0, 0, "link-text-mismatch", "evil.example" },
	{ "mismatch: a tab inside the scheme (a browser drops it)", "Update",
	    PAGE("<a href=\"ht&#9;tps://evil.example/\">www.bank.com</a>"),
	    NULL, 0, 0, "link-text-mismatch", "evil.example" },
	{ "mismatch: https:/\\ (a browser reads it as //)", "Update",
	    PAGE("<a href=\"https:/\\evil.example/\">www.bank.com</a>"),
	    NULL, 0, 0, "link-text-mismatch", "evil.example" },
	{ "mismatch: text in a nested element", "Update",
	    PAGE("<a href=\"https://evil.example/\"><b> WWW.Bank.COM </b>"
	    "</a>"), NULL, 0, 0, "link-text-mismatch", NULL },
	{ "mismatch: IDN text, A-label target", "Update",
	    PAGE("<a href=\"https://xn--bcher-kva.de/\">www.bücher.de</a>"),
	    NULL, 0, 0, "", NULL },
	{ "mismatch: words are no domain", "Update",
	    PAGE("<a href=\"https://evil.example/\">Read the story</a>"),
	    NULL, 0, 0, "", NULL },
	{ "mismatch: node.js is no domain", "Update",
	    PAGE("<a href=\"https://nodejs.org/\">node.js</a>"), NULL, 0, 0,
	    "", NULL },
	{ "mismatch: an address as text", "Update",
	    PAGE("<a href=\"mailto:help@shop.example\">help@shop.example</a>"),
	    NULL, 0, 0, "", NULL },

	/* plain-http-link */
	{ "http: a link", "Update",
	    PAGE("<a href=\"http://shop.example/\">Shop</a>"), NULL, 0, 0,
	    "plain-http-link", "1 link(s) and 0 image(s)" },
	{ "http: HTTP in capitals", "Update",
	    PAGE("<a href=\"HTTP://shop.example/\">Shop</a>"), NULL, 0, 0,
	    "plain-http-link", NULL },
	{ "http: an image", "Update",
	    PAGE("<img src=\"http://shop.example/a.png\" alt=\"A\">"), NULL, 0,
	    0, "plain-http-link", "0 link(s) and 1 image(s)" },
	{ "http: the tracking server", "Update", PAGE(""), NULL, F_HTTP_BASE,
	    0, "plain-http-link", "tracking.base_url" },
	{ "http: https, mailto and relative links pass", "Update",
	    PAGE("<a href=\"https://shop.example/\">Shop</a><a href=\"mailto:"
	    "a@shop.example\">Mail</a><a href=\"/x\">x</a><a href=\"#top\">"
	    "Top</a>"), NULL, 0, 0, "", NULL },

	/* url-shortener */
	{ "shortener: bit.ly", "Update",
	    PAGE("<a href=\"https://bit.ly/3xYz\">Deal</a>"), NULL, 0, 0,
	    "url-shortener", "bit.ly" },
	{ "shortener: a subdomain of one", "Update",
	    PAGE("<a href=\"https://go.tinyurl.com/x\">Deal</a>"), NULL, 0, 0,
	    "url-shortener", NULL },
	{ "shortener: a longer name ending alike is none", "Update",
	    PAGE("<a href=\"https://notbit.ly/x\">Deal</a>"), NULL, 0, 0, "",
	    NULL },

	/* img-no-alt, image-only, low-text-ratio */
	{ "alt: missing", "Update", PAGE("<img src=\"https://s.example/a.png\""
	    ">"), NULL, 0, 0, "img-no-alt", "a.png" },
	{ "alt: empty alt is a decorative image", "Update",
	    PAGE("<img src=\"https://s.example/a.png\" alt=\"\">"), NULL, 0, 0,
	    "", NULL },
	{ "alt: a 1x1 pixel is no image", "Update",
	    PAGE("<img src=\"https://s.example/o.gif\" width=\"1\" height=\"1\""
	    ">"), NULL, 0, 0, "", NULL },
	{ "image-only: a picture and a line", "Update", "<img src=\"https://"
	    "s.example/a.png\" alt=\"Sale\"><p>Hi</p>" FOOT, NULL, 0, 0,
	    "image-only", "1 image(s)" },
	{ "image-only: alt text is no text", "Update", "<img src=\"https://"
	    "s.example/a.png\" alt=\"" WORDS WORDS "\">" FOOT, NULL, 0, 0,
	    "image-only", NULL },
	{ "low-text-ratio: 150 characters beside an image", "Update",
	    "<img src=\"https://s.example/a.png\" alt=\"A\"><p>" WORDS WORDS
	    "</p>" FOOT, NULL, 0, 0, "low-text-ratio", NULL },
	{ "low-text-ratio: 470 characters beside five images", "Update",
	    PAGE("<img src=\"https://s.example/1.png\" alt=\"\">"
	    "<img src=\"https://s.example/2.png\" alt=\"\">"
	    "<img src=\"https://s.example/3.png\" alt=\"\">"
	    "<img src=\"https://s.example/4.png\" alt=\"\">"
	    "<img src=\"https://s.example/5.png\" alt=\"\">"), NULL, 0, 0,
	    "low-text-ratio", "fewer than 500" },
	{ "low-text-ratio: text in style and script does not count",
	    "Update", "<style>" WORDS WORDS WORDS WORDS WORDS WORDS WORDS
	    WORDS "</style><img src=\"https://s.example/a.png\" alt=\"A\">"
	    "<p>Hi there, all of you</p>" FOOT, NULL, 0, 0, "image-only",
	    NULL },

	/* no-text-part */
	{ "text: none of its own", "Update", PAGE(""), NULL, F_DERIVED, 0,
	    "no-text-part", "derived" },
	{ "text: empty", "Update", PAGE(""), " \n\n", 0, 0, "no-text-part",
	    "empty" },

	/* subject-caps */
	{ "caps: 8 capitals trip", "ABCDEFGH", PAGE(""), NULL, 0, 0,
	    "subject-caps", "8 of the subject's 8" },
	{ "caps: 7 capitals are too few to judge", "ABCDEFG", PAGE(""), NULL,
	    0, 0, "", NULL },
	{ "caps: exactly half passes", "ABCDabcd", PAGE(""), NULL, 0, 0, "",
	    NULL },
	{ "caps: just over half trips", "ABCDEabcd", PAGE(""), NULL, 0, 0,
	    "subject-caps", NULL },
	{ "caps: digits and signs are no letters", "2026: 50 % OFF", PAGE(""),
	    NULL, 0, 0, "", NULL },
	{ "caps: German capitals", "GRÖSSTE ÄNDERUNG", PAGE(""), NULL, 0, 0,
	    "subject-caps", NULL },

	/* subject-exclaim */
	{ "exclaim: one passes", "Welcome aboard!", PAGE(""), NULL, 0, 0, "",
	    NULL },
	{ "exclaim: two trip", "Hi! Welcome aboard!", PAGE(""), NULL, 0, 0,
	    "subject-exclaim", "2 exclamation" },

	/* subject-trigger-words */
	{ "words: English", "Free shipping this week", PAGE(""), NULL, 0, 0,
	    "subject-trigger-words", "\"free\"" },
	{ "words: on word boundaries only", "Freedom of choice", PAGE(""),
	    NULL, 0, 0, "", NULL },
	{ "words: a phrase, any case", "You could WIN: Act Now", PAGE(""),
	    NULL, 0, 0, "subject-trigger-words", "act now" },
	{ "words: German with umlaut, upper case", "Das SCHNÄPPCHEN der Woche für alle",
	    PAGE(""), NULL, 0, 0, "subject-trigger-words", "schnäppchen" },
	{ "words: German, decomposed umlaut", "Schna\xcc\x88ppchen der Woche",
	    PAGE(""), NULL, 0, 0, "subject-trigger-words", NULL },
	{ "words: German, inside a longer word", "Schnäppchenjäger-Tipps",
	    PAGE(""), NULL, 0, 0, "", NULL },
	{ "words: German, no boundary after", "Kostenlose Beratung", PAGE(""),
	    NULL, 0, 0, "", NULL },
	{ "words: German phrase", "Nur heute: unser Herbst", PAGE(""), NULL,
	    0, 0, "subject-trigger-words", "nur heute" },
	{ "words: signs need no boundary", "Win $$$$ today", PAGE(""), NULL,
	    0, 0, "subject-trigger-words", "$$$" },

	/* several at once, in report order */
	{ "order: fails first, then warnings in table order",
	    "FREE MONEY!!", "<img src=\"http://s.example/a.png\">"
	    "<a href=\"https://bit.ly/x\">www.bank.com</a>", "", F_NO_HEADER |
	    F_NO_URL | F_NO_TRACKING | F_DKIM_MISSING, 200 * 1024,
	    "from-no-dkim,no-unsubscribe,link-text-mismatch,html-size,"
	    "no-text-part,subject-caps,subject-exclaim,subject-trigger-words,"
	    "image-only,img-no-alt,plain-http-link,url-shortener", NULL },
};

static void
t_lint(void **state)
{
	const struct lint_case *c = *state;
	struct lint_input in;
	struct lint_report r;
	struct err e;
	char got[1024];
	size_t used = 0;
	int i, fails = 0, msg_found = c->msg == NULL;

	memset(&in, 0, sizeof(in));
	in.subject = c->subject;
	in.html = c->html;
	in.html_len = strlen(c->html);
	in.html_sent_len = c->sent_len ? c->sent_len : in.html_len;
	in.text = c->text ? c->text : TEXT;
	in.text_len = strlen(in.text);
	in.own_text = !(c->flags & F_DERIVED);
	in.list_unsubscribe = !(c->flags & F_NO_HEADER);
	in.unsubscribe_url = c->flags & F_NO_URL ? "" : UNSUB;
	in.unsubscribe_tag = !!(c->flags & F_TAG);
	in.tracking_base = c->flags & F_NO_TRACKING ? NULL : c->flags &
	    F_HTTP_BASE ? "http://t.example.com" : "https://t.example.com";
	in.from_domain = "example.com";
	in.dkim = c->flags & F_DKIM_MISSING ? LINT_DKIM_MISSING : c->flags &
	    F_DKIM_NA ? LINT_DKIM_NA : LINT_DKIM_OK;
	lint_report_init(&r);
	assert_int_equal(lint_check(&in, &r, &e), 0);
	got[0] = '\0';
	for (i = 0; i < r.n; i++) {
		used += (size_t)snprintf(got + used, sizeof(got) - used, "%s%s",
		    i ? "," : "", r.f[i].rule);
		fails += r.f[i].severity == LINT_FAIL;
		assert_non_null(r.f[i].fix);
		if (c->msg != NULL && strstr(r.f[i].message, c->msg) != NULL)
			msg_found = 1;
	}
	if (strcmp(got, c->want) != 0 || !msg_found)
		for (i = 0; i < r.n; i++)
			print_message("  %s: %s\n", r.f[i].rule, r.f[i].message);
	assert_string_equal(got, c->want);
	assert_true(msg_found);
	assert_int_equal(r.fails, fails);
	assert_int_equal(r.warnings, r.n - fails);
	lint_report_free(&r);
}

/* The severities the README documents. */
static void
t_rules(void **state)
{
	static const char *const fails[] = { "from-no-dkim",
	    "no-unsubscribe", "link-text-mismatch", "html-size", NULL };
	int i, k, nfail = 0;

	(void)state;
	for (i = 0; lint_rules[i].id != NULL; i++) {
		int want = 0;

		for (k = 0; fails[k] != NULL; k++)
			want |= strcmp(fails[k], lint_rules[i].id) == 0;
		assert_int_equal(lint_rules[i].severity == LINT_FAIL, want);
		nfail += want;
		assert_non_null(lint_rules[i].what);
	}
	assert_int_equal(nfail, 4);
	assert_int_equal(i, 15);
}

static int
count(const char *const *list)
{
	int n = 0;

	while (list[n] != NULL)
		n++;
	return n;
}

/* The compiled lists: modest, and comments left out. */
static void
t_lists(void **state)
{
	const char *const *lists[] = { lint_spam_words_en, lint_spam_words_de,
	    lint_shorteners };
	size_t l;
	int i;

	(void)state;
	for (l = 0; l < NELEM(lists); l++) {
		assert_in_range(count(lists[l]), 30, 80);
		for (i = 0; lists[l][i] != NULL; i++) {
			assert_true(lists[l][i][0] != '#');
			assert_true(lists[l][i][0] != '\0');
			assert_null(strchr(lists[l][i], '\n'));
		}
	}
}

static void
t_inventory(void **state)
{
	const char *src = "<head><title>No</title></head><body><p>Hello "
	    "wörld</p><!-- <a href=\"https://c.example/\">x</a> -->"
	    "<a href=\"https://a.example/?a=1&amp;b=2\">  Go\n <i>now</i> "
	    "<img src=\"https://i.example/in.png\"></a>"
	    "<img src=\"https://i.example/o.gif\" width=\"1\" height=\"1px\" "
	    "alt=\"\"><template><a href=\"https://t.example/\">t</a>"
	    "</template><a name=\"x\">anchor</a></body>";
	struct html_inventory inv;
	struct err e;

	(void)state;
	assert_int_equal(html_inventory(src, strlen(src), &inv, &e), 0);
	assert_int_equal(inv.nanchors, 1);
	assert_string_equal(inv.anchors[0].href, "https://a.example/?a=1&b=2");
	assert_string_equal(inv.anchors[0].text, "Go now");
	assert_int_equal(inv.nimages, 2);
	assert_false(inv.images[0].has_alt);
	assert_true(inv.images[0].in_link);
	assert_false(inv.images[0].pixel);
	assert_true(inv.images[1].has_alt);
	assert_true(inv.images[1].pixel);
	/* "Hellowörld" + "Gonow" + "anchor" */
	assert_int_equal(inv.text_chars, 21);
	html_inventory_free(&inv);
	html_inventory_free(NULL);
}

/* A long link text is cut on a character, not inside one. */
static void
t_inventory_long_text(void **state)
{
	char src[2048];
	struct html_inventory inv;
	struct err e;
	size_t n;
	int i;

	(void)state;
	n = (size_t)snprintf(src, sizeof(src), "<a href=\"https://a.example/\">");
	for (i = 0; i < 200; i++)
		n += (size_t)snprintf(src + n, sizeof(src) - n, "ü");
	snprintf(src + n, sizeof(src) - n, "</a>");
	assert_int_equal(html_inventory(src, strlen(src), &inv, &e), 0);
	assert_int_equal(inv.nanchors, 1);
	assert_true(strlen(inv.anchors[0].text) < 256);
	assert_int_equal(strlen(inv.anchors[0].text) % 2, 0);
	assert_int_equal(inv.text_chars, 200);
	html_inventory_free(&inv);
}

int
main(void)
{
	struct unit_tests u = { 0 };

	UNIT_TABLE(&u, cases, t_lint);
	unit_add(&u, "rules: ids and severities", t_rules, NULL);
	unit_add(&u, "lists: compiled in, 30 to 80 entries", t_lists, NULL);
	unit_add(&u, "inventory: links, images, text", t_inventory, NULL);
	unit_add(&u, "inventory: a long link text", t_inventory_long_text,
	    NULL);
	return unit_run(&u, "lint", NULL, NULL);
}
