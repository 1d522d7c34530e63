/*
 * bounce.c - what kind of failure a bounce reports; see bounce.h.
 *
 * Two tables. codes[] holds the RFC 3463 enhanced status codes that say
 * precisely what happened; it decides whenever the code is in it. The
 * reply text is read only when the code says little (X.0.0, a detail not
 * in codes[], no code at all), against patterns[], a list of phrases real
 * MTAs write. A 4.x.x code is soft whatever the text says: the receiver
 * itself calls the condition temporary.
 *
 * Hard is the one class that costs an address for good, so it is never
 * the fallback: a text that matches nothing is BOUNCE_UNKNOWN, and a
 * phrase that only suggests a bad address ("mailbox unavailable") loses
 * to any sign of a full mailbox or a policy block (see patterns[]).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bounce.h"

/* An enhanced status code, RFC 3463 2: class "." subject "." detail. */
struct code {
	int cls;
	int subject;
	int detail;
};

#define ANY	-1

static const struct {
	struct code code;	/* detail ANY: the whole subject */
	enum bounce_class class;
} codes[] = {
	/* the address is bad */
	{ { 5, 1, 1 }, BOUNCE_HARD },	/* no such mailbox */
	{ { 5, 1, 2 }, BOUNCE_HARD },	/* no such system */
	{ { 5, 1, 3 }, BOUNCE_HARD },	/* mailbox syntax */
	{ { 5, 1, 6 }, BOUNCE_HARD },	/* mailbox has moved */
	{ { 5, 1, 10 }, BOUNCE_HARD },	/* RFC 7505 3.2: null MX */
	{ { 5, 2, 1 }, BOUNCE_HARD },	/* mailbox disabled */
	{ { 5, 4, 4 }, BOUNCE_HARD },	/* unroutable: no such domain */
	/* the mailbox or message, for now */
	{ { 5, 2, 2 }, BOUNCE_SOFT },	/* mailbox full */
	{ { 5, 2, 3 }, BOUNCE_SOFT },	/* over the mailbox's size limit */
	{ { 5, 3, 1 }, BOUNCE_SOFT },	/* mail system full */
	{ { 5, 3, 4 }, BOUNCE_SOFT },	/* too big for the system */
	{ { 5, 4, 7 }, BOUNCE_SOFT },	/* expired: retried, not refused */
	/* about us */
	{ { 5, 1, 7 }, BOUNCE_POLICY },	/* our sender address's syntax */
	{ { 5, 1, 8 }, BOUNCE_POLICY },	/* our sender address's domain */
	{ { 5, 7, ANY }, BOUNCE_POLICY }, /* 5.7.1 refused, 5.7.26 DMARC,
					   5.7.27 sender null MX ... */
};

/*
 * Reply-text phrases, matched as case-insensitive substrings (a space
 * matching any run of white space); the first row that matches decides.
 * The order is the precedence: phrases only a missing address produces
 * come first; then a full mailbox or a temporary condition; then policy;
 * last the phrases Postfix, Exim and Exchange put before refusals of any
 * kind ("Recipient address rejected: Greylisted" is temporary, "...:
 * Sender blocked" is policy, "...: User unknown" is hard by its first
 * row). README.md reproduces this table; change both together.
 */
static const struct {
	const char *text;
	enum bounce_class class;
} patterns[] = {
	/* Office 365 directory-based edge blocking says this, under 5.4.1,
	 * for an address its tenant does not have. */
	{ "recipient address rejected: access denied", BOUNCE_HARD },
	{ "user unknown", BOUNCE_HARD },
	{ "unknown user", BOUNCE_HARD },
	{ "no such user", BOUNCE_HARD },
	{ "no such recipient", BOUNCE_HARD },
	{ "no such mailbox", BOUNCE_HARD },
	{ "no such person", BOUNCE_HARD },
	{ "no mailbox here", BOUNCE_HARD },	/* qmail */
	{ "unknown recipient", BOUNCE_HARD },
	{ "recipient unknown", BOUNCE_HARD },
	{ "recipient not found", BOUNCE_HARD },
	{ "mailbox not found", BOUNCE_HARD },
	{ "address couldn't be found", BOUNCE_HARD },	/* Gmail */
	{ "does not exist", BOUNCE_HARD },
	{ "doesn't exist", BOUNCE_HARD },
	{ "unrouteable address", BOUNCE_HARD },	/* Exim */
	{ "unroutable address", BOUNCE_HARD },
	{ "invalid recipient", BOUNCE_HARD },
	{ "invalid mailbox", BOUNCE_HARD },
	{ "not a valid mailbox", BOUNCE_HARD },
	{ "mailbox disabled", BOUNCE_HARD },
	{ "account has been disabled", BOUNCE_HARD },
	{ "account is disabled", BOUNCE_HARD },
	{ "no such domain", BOUNCE_HARD },
	{ "domain not found", BOUNCE_HARD },

	{ "mailbox full", BOUNCE_SOFT },
	{ "mailbox is full", BOUNCE_SOFT },
	{ "over quota", BOUNCE_SOFT },
	{ "quota exceeded", BOUNCE_SOFT },
	{ "exceeded storage", BOUNCE_SOFT },
	{ "insufficient storage", BOUNCE_SOFT },
	{ "insufficient system storage", BOUNCE_SOFT },
	{ "mailbox size limit", BOUNCE_SOFT },
	{ "out of storage", BOUNCE_SOFT },
	{ "try again later", BOUNCE_SOFT },
	{ "temporarily", BOUNCE_SOFT },
	{ "greylist", BOUNCE_SOFT },

	{ "blocked", BOUNCE_POLICY },
	{ "spam", BOUNCE_POLICY },		/* also "Spamhaus" */
	{ "blacklist", BOUNCE_POLICY },
	{ "blocklist", BOUNCE_POLICY },
	{ "listed", BOUNCE_POLICY },
	{ "policy", BOUNCE_POLICY },	/* "rejected due to policy" */
	{ "spf", BOUNCE_POLICY },
	{ "dmarc", BOUNCE_POLICY },
	{ "dkim", BOUNCE_POLICY },
	{ "reputation", BOUNCE_POLICY },
	{ "access denied", BOUNCE_POLICY },
	{ "relaying denied", BOUNCE_POLICY },

	{ "recipient address rejected", BOUNCE_HARD },
	{ "mailbox unavailable", BOUNCE_HARD },
	{ "address rejected", BOUNCE_HARD },
	{ "invalid address", BOUNCE_HARD },
};

const char *
bounce_class_name(enum bounce_class c)
{
	switch (c) {
	case BOUNCE_HARD:
		return "hard";
	case BOUNCE_SOFT:
		return "soft";
	case BOUNCE_POLICY:
		return "policy";
	default:
		return "unknown";
	}
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Reads 1 to 3 digits at *p; -1 for none or more. */
static int
digits(const char **p)
{
	int v = 0, n = 0;

	while (is_digit(**p)) {
		if (++n > 3)
			return -1;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	return n == 0 ? -1 : v;
}

/*
 * The code starting at p, whose preceding character the caller checked;
 * returns its length, 0 if there is none. RFC 3463 lets the subject have
 * 1 to 3 digits but registers only 0 to 7: holding to those keeps
 * version numbers out ("Exim 4.94.2" in a returned Received line). What
 * follows must not continue a number: "10.5.1.1" is an IP address.
 */
static size_t
code_at(const char *p, struct code *c)
{
	const char *s = p;

	if (*p != '2' && *p != '4' && *p != '5')
		return 0;
	c->cls = *p++ - '0';
	if (*p++ != '.' || (c->subject = digits(&p)) < 0 || c->subject > 7 ||
	    *p++ != '.' || (c->detail = digits(&p)) < 0)
		return 0;
	if (is_alnum(*p) || (*p == '.' && is_digit(p[1])))
		return 0;
	return (size_t)(p - s);
}

int
bounce_find_status(const char *text, char *out, size_t n)
{
	struct code c;
	size_t i, len;

	if (text == NULL)
		return -1;
	for (i = 0; text[i] != '\0'; i++) {
		if (i > 0 && (is_alnum(text[i - 1]) || text[i - 1] == '.'))
			continue;
		if ((len = code_at(text + i, &c)) == 0)
			continue;
		if (n > 0)
			snprintf(out, n, "%.*s", (int)len, text + i);
		return 0;
	}
	return -1;
}

/* A Status field: the code first, maybe a comment after it. */
static int
code_parse(const char *s, struct code *c)
{
	if (s == NULL)
		return -1;
	s += strspn(s, " \t\r\n");
	return code_at(s, c) > 0 ? 0 : -1;
}

static enum bounce_class
code_class(const struct code *c)
{
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i].code.cls == c->cls &&
		    codes[i].code.subject == c->subject &&
		    (codes[i].code.detail == ANY ||
		    codes[i].code.detail == c->detail))
			return codes[i].class;
	return BOUNCE_UNKNOWN;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static char
to_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/*
 * Whether the lower-case pattern occurs in text, ignoring case, a space
 * in it matching any run of white space: MTAs wrap their reply text
 * ("User\n    unknown") wherever a line fills.
 */
static int
text_has(const char *text, const char *pat)
{
	const char *t, *p;

	for (; *text != '\0'; text++) {
		if (to_lower(*text) != pat[0])
			continue;
		for (t = text, p = pat; *p != '\0'; p++) {
			if (*p == ' ') {
				if (!is_space(*t))
					break;
				while (is_space(*t))
					t++;
			} else if (to_lower(*t) == *p)
				t++;
			else
				break;
		}
		if (*p == '\0')
			return 1;
	}
	return 0;
}

static enum bounce_class
text_class(const char *text)
{
	size_t i;

	if (text == NULL)
		return BOUNCE_UNKNOWN;
	for (i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
		if (text_has(text, patterns[i].text))
			return patterns[i].class;
	return BOUNCE_UNKNOWN;
}

/*
 * The RFC 5321 4.2 basic reply code a text starts with, as a
 * Diagnostic-Code of type smtp does ("smtp; 450 ..."): its first digit,
 * or 0.
 */
static int
basic_code(const char *text)
{
	const char *p = text, *semi;

	if (p == NULL)
		return 0;
	if ((semi = strchr(p, ';')) != NULL && semi - p <= 16 &&
	    strncasecmp(p, "smtp", 4) == 0)
		p = semi + 1;
	p += strspn(p, " \t\r\n");
	if ((*p != '2' && *p != '4' && *p != '5') || !is_digit(p[1]) ||
	    !is_digit(p[2]) || is_alnum(p[3]) || p[3] == '.')
		return 0;
	return *p - '0';
}

enum bounce_class
bounce_classify(const char *status, const char *text)
{
	struct code c, t;
	char found[16];
	int have = code_parse(status, &c) == 0;

	/* Postfix reports 5.0.0 for a reply without an enhanced code of its
	 * own, and some MTAs put the telling code only in the text. */
	if ((!have || (c.subject == 0 && c.detail == 0)) &&
	    bounce_find_status(text, found, sizeof(found)) == 0 &&
	    code_parse(found, &t) == 0 && (!have || t.cls == c.cls)) {
		c = t;
		have = 1;
	}
	if (!have && basic_code(text) != 0) {
		c.cls = basic_code(text);
		c.subject = c.detail = 0;
		have = 1;
	}
	if (have && c.cls == 2)
		return BOUNCE_UNKNOWN;	/* a success is no bounce */
	if (have && c.cls == 4)
		return BOUNCE_SOFT;
	if (have && code_class(&c) != BOUNCE_UNKNOWN)
		return code_class(&c);
	return text_class(text);
}
