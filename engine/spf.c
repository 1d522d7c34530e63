/*
 * spf.c - RFC 7208 check_host(); see spf.h.
 *
 * A record is parsed whole before any term runs (4.6: a syntax error
 * anywhere is permerror, whatever would have matched first). Evaluation
 * recurses for include and redirect; each level keeps its record on the
 * heap, and the look-up limit bounds the depth at SPF_LOOKUP_LIMIT + 1.
 * The first permerror or temperror found deepest sets why; the levels
 * above only pass the result up.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spf.h"
#include "xalloc.h"

struct spf_ip {
	int fam;		/* 4 or 6 */
	unsigned char b[16];
};

struct spf_state {
	const struct spf_resolver *r;
	struct spf_ip ip;
	char local[65];
	char sdomain[SPF_NAME_MAX + 1];
	struct spf_eval *out;
	const char *stack[SPF_LOOKUP_LIMIT + 2];	/* domains being evaluated */
	int depth;
};

const char *
spf_result_name(enum spf_result r)
{
	static const char *const names[] = { "none", "neutral", "pass",
	    "fail", "softfail", "temperror", "permerror" };

	return names[r];
}

void
spf_answer_add(struct spf_answer *a, const char *s)
{
	if (a->n < SPF_ANSWER_MAX)
		a->rr[a->n++] = xstrdup(s);
}

static void
answer_clear(struct spf_answer *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->rr[i]);
	memset(a, 0, sizeof(*a));
}

int
spf_is_record(const char *txt)
{
	return strncasecmp(txt, "v=spf1", 6) == 0 &&
	    (txt[6] == '\0' || txt[6] == ' ');
}

/* ------------------------------------------------------------- parsing */

static int __attribute__((format(printf, 3, 4)))
syntax(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
	return -1;
}

/* RFC 7208 7.1: "%{" letter *DIGIT ["r"] *delimiter "}", "%%", "%_",
   "%-"; returns the length of the macro at s, 0 for a bad one. */
static size_t
macro_len(const char *s)
{
	size_t i = 2;

	if (s[1] == '%' || s[1] == '_' || s[1] == '-')
		return 2;
	if (s[1] != '{' || strchr("slodiphcrtvSLODIPHCRTV", s[2]) == NULL ||
	    s[2] == '\0')
		return 0;
	for (i = 3; isdigit((unsigned char)s[i]); i++)
		;
	if (s[i] == 'r' || s[i] == 'R')
		i++;
	while (s[i] != '\0' && strchr(".-+,/_=", s[i]) != NULL)
		i++;
	return s[i] == '}' ? i + 1 : 0;
}

/* A macro string: visible ASCII, every '%' a macro. */
static int
macro_string_ok(const char *s, int *macros)
{
	size_t k;

	while (*s != '\0') {
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return 0;
		if (*s != '%') {
			s++;
			continue;
		}
		if ((k = macro_len(s)) == 0)
			return 0;
		*macros = 1;
		s += k;
	}
	return 1;
}

/* RFC 7208 7.1 domain-end: a top label that is not all digits, unless
   the spec ends in a macro. */
static int
domain_spec_ok(const char *s, int *macros)
{
	size_t len = strlen(s), end, start, i;
	int alpha = 0, m = 0;

	if (len == 0 || !macro_string_ok(s, &m))
		return 0;
	*macros |= m;
	if (s[len - 1] == '}')
		return 1;
	end = s[len - 1] == '.' ? len - 1 : len;
	for (start = end; start > 0 && s[start - 1] != '.'; start--)
		;
	if (start == 0 || start == end || s[end - 1] == '-' || s[start] == '-')
		return 0;
	for (i = start; i < end; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
		alpha |= isalpha((unsigned char)s[i]) != 0;
	}
	return alpha;
}

/* "0" or 1-3 digits without a leading zero, at most max. */
static int
cidr_value(const char *s, int max)
{
	int v = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 3 || (s[0] == '0' && n > 1))
		return -1;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= max ? v : -1;
}

/* Cuts "/n" and "//m" off the end of s, in place. */
static int
dual_cidr(char *s, struct spf_term *t)
{
	char *p;

	if ((p = strstr(s, "//")) != NULL) {
		if ((t->cidr6 = cidr_value(p + 2, 128)) < 0)
			return -1;
		*p = '\0';
	}
	if ((p = strrchr(s, '/')) != NULL) {
		if ((t->cidr4 = cidr_value(p + 1, 32)) < 0)
			return -1;
		*p = '\0';
	}
	return 0;
}

static int
parse_ip(struct spf_term *t, char *arg)
{
	char *slash = strrchr(arg, '/');
	int fam = t->mech == SPF_IP4 ? AF_INET : AF_INET6;

	if (slash != NULL) {
		*slash = '\0';
		if (t->mech == SPF_IP4)
			t->cidr4 = cidr_value(slash + 1, 32);
		else
			t->cidr6 = cidr_value(slash + 1, 128);
		if ((t->mech == SPF_IP4 ? t->cidr4 : t->cidr6) < 0)
			return -1;
	}
	return inet_pton(fam, arg, t->ip) == 1 ? 0 : -1;
}

static const struct {
	const char *name;
	enum spf_mech mech;
} mech_names[] = {
	{ "all", SPF_ALL }, { "include", SPF_INCLUDE }, { "a", SPF_A },
	{ "mx", SPF_MX }, { "ptr", SPF_PTR }, { "ip4", SPF_IP4 },
	{ "ip6", SPF_IP6 }, { "exists", SPF_EXISTS },
};

static int
mech_lookup(const char *name, size_t len, enum spf_mech *out)
{
	size_t i;

	for (i = 0; i < sizeof(mech_names) / sizeof(mech_names[0]); i++)
		if (strlen(mech_names[i].name) == len &&
		    strncasecmp(mech_names[i].name, name, len) == 0) {
			*out = mech_names[i].mech;
			return 0;
		}
	return -1;
}

/*
 * One mechanism: text is the term (kept for reports), arg a second copy
 * that holds the domain spec once the qualifier, name and CIDR are cut.
 */
static int
parse_mech(struct spf_record *rec, const char *text, char *arg, char *why,
    size_t n)
{
	struct spf_term *t = &rec->terms[rec->nterms];
	size_t nlen;
	char *colon;

	memset(t, 0, sizeof(*t));
	t->text = text;
	t->qual = strchr("+-~?", arg[0]) != NULL ? *arg++ : '+';
	t->cidr4 = t->cidr6 = -1;
	nlen = strcspn(arg, ":/");
	if (mech_lookup(arg, nlen, &t->mech) < 0)
		return syntax(why, n, "unknown mechanism \"%.*s\"", (int)nlen,
		    arg);
	colon = arg[nlen] == ':' ? arg + nlen + 1 : NULL;
	if (t->mech == SPF_IP4 || t->mech == SPF_IP6) {
		if (colon == NULL || parse_ip(t, colon) < 0)
			return syntax(why, n, "\"%s\": not an %s address",
			    text, t->mech == SPF_IP4 ? "IPv4" : "IPv6");
		return 0;
	}
	if ((t->mech == SPF_A || t->mech == SPF_MX) &&
	    dual_cidr(arg + nlen, t) < 0)
		return syntax(why, n, "\"%s\": bad CIDR length", text);
	if (t->mech == SPF_ALL ? arg[nlen] != '\0' : colon == NULL ?
	    arg[nlen] != '\0' && arg[nlen] != '/' : 0)
		return syntax(why, n, "\"%s\": unexpected text after the "
		    "mechanism", text);
	if (colon == NULL && (t->mech == SPF_INCLUDE || t->mech == SPF_EXISTS))
		return syntax(why, n, "\"%s\" needs a domain", text);
	if (colon != NULL && !domain_spec_ok(colon, &rec->macros))
		return syntax(why, n, "\"%s\": not a valid domain spec", text);
	t->spec = colon;
	return 0;
}

static int
parse_modifier(struct spf_record *rec, const char *text, char *arg,
    char *eq, char *why, size_t n)
{
	const char **slot = NULL;
	char *p;
	int m = 0;

	*eq = '\0';
	if (!isalpha((unsigned char)arg[0]))
		return syntax(why, n, "\"%s\": bad modifier name", text);
	for (p = arg; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("-_.", *p) == NULL)
			return syntax(why, n, "\"%s\": bad modifier name",
			    text);
	if (strcasecmp(arg, "redirect") == 0)
		slot = &rec->redirect;
	else if (strcasecmp(arg, "exp") == 0)
		slot = &rec->exp;
	if (slot != NULL && *slot != NULL)
		return syntax(why, n, "\"%s\" appears twice", arg);
	if (slot != NULL ? !domain_spec_ok(eq + 1, &m) :
	    !macro_string_ok(eq + 1, &m))
		return syntax(why, n, "\"%s\": bad value", text);
	if (slot == &rec->redirect)
		rec->macros |= m;
	if (slot != NULL)
		*slot = eq + 1;
	return 0;
}

static int
parse_term(struct spf_record *rec, const char *text, char *arg, char *why,
    size_t n)
{
	size_t k = strcspn(arg, ":/=");

	if (arg[k] == '=')
		return parse_modifier(rec, text, arg, arg + k, why, n);
	if (rec->nterms == SPF_TERMS_MAX)
		return syntax(why, n, "more than %d terms", SPF_TERMS_MAX);
	if (parse_mech(rec, text, arg, why, n) < 0)
		return -1;
	rec->nterms++;
	return 0;
}

int
spf_parse(const char *text, struct spf_record *rec, char *why, size_t n)
{
	size_t len = strlen(text), i, start;
	char *a, *b;

	memset(rec, 0, sizeof(*rec));
	if (len > SPF_RECORD_MAX)
		return syntax(why, n, "longer than %d characters",
		    SPF_RECORD_MAX);
	if (!spf_is_record(text))
		return syntax(why, n, "does not start with v=spf1");
	a = rec->buf;
	b = rec->buf + SPF_RECORD_MAX + 1;
	memcpy(a, text, len + 1);
	memcpy(b, text, len + 1);
	for (i = 6; i < len; i = start) {
		for (; i < len && text[i] == ' '; i++)
			a[i] = b[i] = '\0';
		for (start = i; start < len && text[start] != ' '; start++)
			;
		if (start == i)
			break;
		a[start] = b[start] = '\0';
		if (parse_term(rec, a + i, b + i, why, n) < 0)
			return -1;
	}
	return 0;
}

/* -------------------------------------------------------------- macros */

static size_t
ip_dotted(const struct spf_ip *ip, char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t k = 0;
	int i;

	if (ip->fam == 4)
		return (size_t)snprintf(out, n, "%u.%u.%u.%u", ip->b[0],
		    ip->b[1], ip->b[2], ip->b[3]);
	for (i = 0; i < 16 && k + 4 < n; i++) {
		out[k++] = hex[ip->b[i] >> 4];
		out[k++] = '.';
		out[k++] = hex[ip->b[i] & 15];
		out[k++] = '.';
	}
	out[k > 0 ? k - 1 : 0] = '\0';
	return k > 0 ? k - 1 : 0;
}

/* The value of macro letter c, before transformers. */
static int
macro_value(const struct spf_state *st, const char *domain, char c,
    char *out, size_t n)
{
	switch (tolower((unsigned char)c)) {
	case 's': snprintf(out, n, "%s@%s", st->local, st->sdomain); break;
	case 'l': snprintf(out, n, "%s", st->local); break;
	case 'o': case 'h': snprintf(out, n, "%s", st->sdomain); break;
	case 'd': snprintf(out, n, "%s", domain); break;
	case 'i': ip_dotted(&st->ip, out, n); break;
	case 'p': snprintf(out, n, "unknown"); break;
	case 'v': snprintf(out, n, "%s", st->ip.fam == 4 ? "in-addr" : "ip6");
		break;
	default: return -1;	/* c, r, t: exp= only (RFC 7208 7.2) */
	}
	return 0;
}

/* Splits v on delims, reverses with r, keeps the rightmost keep parts
   (0: all), joins with '.' (RFC 7208 7.3). */
static void
macro_transform(const char *v, const char *delims, int rev, int keep,
    char *out, size_t n)
{
	const char *part[SPF_NAME_MAX + 1];
	size_t plen[SPF_NAME_MAX + 1], np = 0, i, from, k = 0;
	const char *p = v;

	while (np < SPF_NAME_MAX) {
		size_t l = strcspn(p, delims);

		part[np] = p;
		plen[np++] = l;
		if (p[l] == '\0')
			break;
		p += l + 1;
	}
	from = keep > 0 && (size_t)keep < np ? np - (size_t)keep : 0;
	out[0] = '\0';
	for (i = from; i < np; i++) {
		size_t j = rev ? np - 1 - i : i;
		int w = snprintf(out + k, n - k, "%s%.*s", k ? "." : "",
		    (int)plen[j], part[j]);

		if (w < 0 || (size_t)w >= n - k)
			break;
		k += (size_t)w;
	}
}

static int
macro_one(const struct spf_state *st, const char *domain, const char *m,
    size_t mlen, char *out, size_t n)
{
	char v[SPF_NAME_MAX * 2 + 2], delims[8] = "";
	size_t i = 3, d = 0;
	int keep = 0, rev = 0;

	if (m[1] != '{')
		return snprintf(out, n, "%s", m[1] == '%' ? "%" : m[1] == '_' ?
		    " " : "%20") < (int)n ? 0 : -1;
	if (macro_value(st, domain, m[2], v, sizeof(v)) < 0)
		return -1;
	for (; isdigit((unsigned char)m[i]); i++)
		keep = keep * 10 + (m[i] - '0') > 128 ? 128 :
		    keep * 10 + (m[i] - '0');
	if (m[i] == 'r' || m[i] == 'R') {
		rev = 1;
		i++;
	}
	for (; i < mlen - 1 && d + 1 < sizeof(delims); i++)
		delims[d++] = m[i];
	delims[d] = '\0';
	if (m[3] == '0' && keep == 0)
		return -1;	/* RFC 7208 7.1: a zero count is an error */
	macro_transform(v, d ? delims : ".", rev, keep, out, n);
	return 0;
}

/* Expands spec for domain; a result over 253 octets loses labels on the
   left (RFC 7208 7.3). -1 when a macro cannot be expanded here. */
static int
expand(const struct spf_state *st, const char *spec, const char *domain,
    char *out, size_t n)
{
	char tmp[4 * SPF_NAME_MAX + 1], piece[2 * SPF_NAME_MAX + 2];
	size_t k = 0, mlen, plen;
	const char *p = spec, *cut;

	while (*p != '\0') {
		if (*p != '%') {
			if (k + 1 < sizeof(tmp))
				tmp[k++] = *p;
			p++;
			continue;
		}
		mlen = macro_len(p);
		if (mlen == 0 || macro_one(st, domain, p, mlen, piece,
		    sizeof(piece)) < 0)
			return -1;
		plen = strlen(piece);
		if (k + plen >= sizeof(tmp))
			plen = sizeof(tmp) - 1 - k;
		memcpy(tmp + k, piece, plen);
		k += plen;
		p += mlen;
	}
	if (k > 0 && tmp[k - 1] == '.')
		k--;
	tmp[k] = '\0';
	cut = tmp;
	while (strlen(cut) > SPF_NAME_MAX && strchr(cut, '.') != NULL)
		cut = strchr(cut, '.') + 1;
	if (strlen(cut) > SPF_NAME_MAX)
		return -1;
	snprintf(out, n, "%s", cut);
	return 0;
}

/* ------------------------------------------------------------ evaluation */

static enum spf_result __attribute__((format(printf, 4, 5)))
set_err(struct spf_state *st, enum spf_result r, enum spf_problem p,
    const char *fmt, ...)
{
	va_list ap;

	if (st->out->why[0] != '\0')
		return r;	/* the deepest cause is the one to tell */
	st->out->problem = p;
	va_start(ap, fmt);
	vsnprintf(st->out->why, sizeof(st->out->why), fmt, ap);
	va_end(ap);
	return r;
}

static int
parse_addr(const char *s, struct spf_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, s, ip->b) == 1)
		ip->fam = 4;
	else if (inet_pton(AF_INET6, s, ip->b) == 1)
		ip->fam = 6;
	else
		return -1;
	return 0;
}

static int
cidr_match(const unsigned char *a, const unsigned char *b, int bits)
{
	int full = bits / 8, rest = bits % 8;
	unsigned char mask;

	if (memcmp(a, b, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

/* Whether a text address from DNS is ours within the term's CIDR. */
static int
addr_match(const struct spf_state *st, const char *text,
    const struct spf_term *t)
{
	struct spf_ip a;
	int bits;

	if (parse_addr(text, &a) < 0 || a.fam != st->ip.fam)
		return 0;
	if (a.fam == 4)
		bits = t == NULL || t->cidr4 < 0 ? 32 : t->cidr4;
	else
		bits = t == NULL || t->cidr6 < 0 ? 128 : t->cidr6;
	return cidr_match(a.b, st->ip.b, bits);
}

static enum spf_dns
lookup(struct spf_state *st, enum spf_rr type, const char *name,
    struct spf_answer *a)
{
	enum spf_dns rc;

	memset(a, 0, sizeof(*a));
	rc = st->r->lookup(st->r->ctx, type, name, a);
	if (rc == SPF_DNS_OK && a->n == 0)
		rc = SPF_DNS_VOID;
	return rc;
}

static const char *
rr_text(enum spf_rr t)
{
	static const char *const names[] = { "A", "AAAA", "MX", "TXT", "PTR" };

	return names[t];
}

static enum spf_rr
addr_rr(const struct spf_state *st)
{
	return st->ip.fam == 4 ? SPF_RR_A : SPF_RR_AAAA;
}

/* 4.6.4: every term that queries DNS counts, the first one past the
   limit is permerror. */
static int
count_lookup(struct spf_state *st, const struct spf_term *t)
{
	if (++st->out->lookups <= SPF_LOOKUP_LIMIT)
		return 0;
	set_err(st, SPF_PERMERROR, SPF_P_LOOKUPS, "more than %d DNS look-ups "
	    "(RFC 7208 4.6.4), the 11th at \"%s\"", SPF_LOOKUP_LIMIT,
	    t != NULL ? t->text : "redirect");
	return -1;
}

/* An empty answer; past the void limit permerror. */
static int
count_void(struct spf_state *st, const char *name)
{
	if (++st->out->voids <= SPF_VOID_LIMIT)
		return 0;
	set_err(st, SPF_PERMERROR, SPF_P_VOIDS, "more than %d look-ups "
	    "without an answer (RFC 7208 4.6.4), the last for %s",
	    SPF_VOID_LIMIT, name);
	return -1;
}

/* 1 match, 0 none, or -(result) for temperror and permerror. */
#define MATCH_ERR(r)	(-(int)(r))

static int
dns_failed(struct spf_state *st, enum spf_rr type, const char *name,
    const struct spf_answer *a)
{
	if (a->why[0] != '\0')
		set_err(st, SPF_TEMPERROR, SPF_P_NONE, "%s", a->why);
	else
		set_err(st, SPF_TEMPERROR, SPF_P_NONE, "%s look-up of %s "
		    "failed", rr_text(type), name);
	return MATCH_ERR(SPF_TEMPERROR);
}

/* The addresses of name of our family: any within the term's CIDR? */
static int
match_host(struct spf_state *st, const char *name, const struct spf_term *t,
    int voids)
{
	struct spf_answer a;
	enum spf_dns rc;
	size_t i;
	int m = 0;

	rc = lookup(st, addr_rr(st), name, &a);
	if (rc == SPF_DNS_TEMP)
		m = dns_failed(st, addr_rr(st), name, &a);
	else if (rc == SPF_DNS_VOID && voids && count_void(st, name) < 0)
		m = MATCH_ERR(SPF_PERMERROR);
	for (i = 0; rc == SPF_DNS_OK && i < a.n && !m; i++)
		m = addr_match(st, a.rr[i], t);
	answer_clear(&a);
	return m;
}

/* RFC 7208 5.4: each MX host's addresses; at most 10 hosts. */
static int
match_mx(struct spf_state *st, const char *name, const struct spf_term *t)
{
	struct spf_answer a;
	enum spf_dns rc;
	size_t i;
	int m = 0;

	rc = lookup(st, SPF_RR_MX, name, &a);
	if (rc == SPF_DNS_TEMP)
		m = dns_failed(st, SPF_RR_MX, name, &a);
	else if (rc == SPF_DNS_VOID && count_void(st, name) < 0)
		m = MATCH_ERR(SPF_PERMERROR);
	else if (a.n > SPF_LOOKUP_LIMIT) {
		set_err(st, SPF_PERMERROR, SPF_P_LOOKUPS, "\"%s\": %s has %zu MX "
		    "hosts, more than %d (RFC 7208 4.6.4)", t->text, name, a.n,
		    SPF_LOOKUP_LIMIT);
		m = MATCH_ERR(SPF_PERMERROR);
	}
	for (i = 0; rc == SPF_DNS_OK && i < a.n && m == 0; i++)
		if (a.rr[i][0] != '\0' && strcmp(a.rr[i], ".") != 0)
			m = match_host(st, a.rr[i], t, 0);
	answer_clear(&a);
	return m;
}

static int
name_within(const char *name, const char *domain)
{
	size_t n = strlen(name), d = strlen(domain);

	while (n > 0 && name[n - 1] == '.')
		n--;
	while (d > 0 && domain[d - 1] == '.')
		d--;
	if (n == d)
		return strncasecmp(name, domain, n) == 0;
	return n > d && name[n - d - 1] == '.' &&
	    strncasecmp(name + n - d, domain, d) == 0;
}

static void
reverse_name(const struct spf_ip *ip, char *out, size_t n)
{
	char v[80];

	ip_dotted(ip, v, sizeof(v));
	macro_transform(v, ".", 1, 0, out, n);
	snprintf(out + strlen(out), n - strlen(out), ".%s",
	    ip->fam == 4 ? "in-addr.arpa" : "ip6.arpa");
}

/* RFC 7208 5.5: validated PTR names within the target; a DNS error is
   no match. At most 10 names are checked. */
static int
match_ptr(struct spf_state *st, const char *target)
{
	enum spf_problem problem_was;
	struct spf_answer a;
	char rev[80], why_was;
	size_t i;
	int m = 0;

	st->out->warn |= SPF_WARN_PTR;
	why_was = st->out->why[0];
	problem_was = st->out->problem;
	reverse_name(&st->ip, rev, sizeof(rev));
	if (lookup(st, SPF_RR_PTR, rev, &a) == SPF_DNS_VOID &&
	    count_void(st, rev) < 0)
		m = MATCH_ERR(SPF_PERMERROR);
	for (i = 0; i < a.n && i < SPF_LOOKUP_LIMIT && m == 0; i++)
		if (name_within(a.rr[i], target)) {
			m = match_host(st, a.rr[i], NULL, 0) == 1;
			/* A name that failed to resolve is skipped (RFC 7208
			 * 5.5), so its error must not become the record's. */
			if (st->out->why[0] != '\0' && why_was == '\0') {
				st->out->why[0] = '\0';
				st->out->problem = problem_was;
			}
		}
	answer_clear(&a);
	return m;
}

static int
match_exists(struct spf_state *st, const char *name)
{
	struct spf_answer a;
	enum spf_dns rc;
	int m = 0;

	rc = lookup(st, SPF_RR_A, name, &a);
	if (rc == SPF_DNS_TEMP)
		m = dns_failed(st, SPF_RR_A, name, &a);
	else if (rc == SPF_DNS_VOID)
		m = count_void(st, name) < 0 ? MATCH_ERR(SPF_PERMERROR) : 0;
	else
		m = 1;
	answer_clear(&a);
	return m;
}

static enum spf_result check_host(struct spf_state *st, const char *domain,
    char *match, size_t mn);

static int
on_stack(struct spf_state *st, const char *target, const char *how)
{
	char path[512];
	size_t k = 0;
	int i, hit = 0;

	for (i = 0; i < st->depth; i++)
		hit |= strcasecmp(st->stack[i], target) == 0;
	if (!hit)
		return 0;
	path[0] = '\0';
	for (i = 0; i < st->depth && k < sizeof(path); i++)
		k += (size_t)snprintf(path + k, sizeof(path) - k, "%s -> ",
		    st->stack[i]);
	set_err(st, SPF_PERMERROR, SPF_P_LOOP, "%s loop: %s%s", how,
	    k < sizeof(path) ? path : "", target);
	return 1;
}

/* include: pass matches; fail, softfail, neutral do not; none is
   permerror (RFC 7208 5.2). */
static int
match_include(struct spf_state *st, const char *target,
    const struct spf_term *t, char *match, size_t mn)
{
	char inner[512] = "";
	enum spf_result r;

	if (on_stack(st, target, "include"))
		return MATCH_ERR(SPF_PERMERROR);
	r = check_host(st, target, inner, sizeof(inner));
	switch (r) {
	case SPF_PASS:
		snprintf(match, mn, "%s > %s", t->text, inner);
		return 1;
	case SPF_NONE:
		set_err(st, SPF_PERMERROR, SPF_P_NO_RECORD, "\"%s\": %s has no "
		    "SPF record", t->text, target);
		return MATCH_ERR(SPF_PERMERROR);
	case SPF_TEMPERROR:
	case SPF_PERMERROR:
		return MATCH_ERR(r);
	default:
		return 0;
	}
}

static int
match_term(struct spf_state *st, const char *domain,
    const struct spf_term *t, char *match, size_t mn)
{
	char target[SPF_NAME_MAX + 1];

	if (t->mech == SPF_ALL)
		return 1;
	if (t->mech == SPF_IP4 || t->mech == SPF_IP6)
		return st->ip.fam == (t->mech == SPF_IP4 ? 4 : 6) &&
		    cidr_match(t->ip, st->ip.b, t->mech == SPF_IP4 ?
		    (t->cidr4 < 0 ? 32 : t->cidr4) :
		    (t->cidr6 < 0 ? 128 : t->cidr6));
	if (count_lookup(st, t) < 0)
		return MATCH_ERR(SPF_PERMERROR);
	if (t->spec == NULL)
		snprintf(target, sizeof(target), "%s", domain);
	else if (expand(st, t->spec, domain, target, sizeof(target)) < 0) {
		set_err(st, SPF_PERMERROR, SPF_P_MACRO, "\"%s\": a macro that "
		    "cannot be expanded here", t->text);
		return MATCH_ERR(SPF_PERMERROR);
	}
	switch (t->mech) {
	case SPF_A: return match_host(st, target, t, 1);
	case SPF_MX: return match_mx(st, target, t);
	case SPF_PTR: return match_ptr(st, target);
	case SPF_EXISTS: return match_exists(st, target);
	default: return match_include(st, target, t, match, mn);
	}
}

static enum spf_result
qual_result(char q)
{
	return q == '-' ? SPF_FAIL : q == '~' ? SPF_SOFTFAIL :
	    q == '?' ? SPF_NEUTRAL : SPF_PASS;
}

/* RFC 7208 6.1: only when no mechanism matched; none is permerror. */
static enum spf_result
do_redirect(struct spf_state *st, const struct spf_record *rec,
    const char *domain, char *match, size_t mn)
{
	char target[SPF_NAME_MAX + 1], inner[512] = "";
	enum spf_result r;

	if (count_lookup(st, NULL) < 0)
		return SPF_PERMERROR;
	if (expand(st, rec->redirect, domain, target, sizeof(target)) < 0)
		return set_err(st, SPF_PERMERROR, SPF_P_MACRO, "redirect=%s: a "
		    "macro that cannot be expanded here", rec->redirect);
	if (on_stack(st, target, "redirect"))
		return SPF_PERMERROR;
	r = check_host(st, target, inner, sizeof(inner));
	if (r == SPF_NONE)
		return set_err(st, SPF_PERMERROR, SPF_P_NO_RECORD, "redirect=%s: "
		    "%s has no SPF record", rec->redirect, target);
	if (inner[0] != '\0')
		snprintf(match, mn, "redirect=%s > %s", target, inner);
	return r;
}

static enum spf_result
eval_record(struct spf_state *st, const struct spf_record *rec,
    const char *domain, char *match, size_t mn)
{
	size_t i;
	int m;

	if (rec->exp != NULL)
		st->out->warn |= SPF_WARN_EXP;
	for (i = 0; i < rec->nterms; i++) {
		m = match_term(st, domain, &rec->terms[i], match, mn);
		if (m < 0)
			return (enum spf_result)-m;
		if (m == 0)
			continue;
		if (rec->terms[i].mech != SPF_INCLUDE)
			snprintf(match, mn, "%s", rec->terms[i].text);
		return qual_result(rec->terms[i].qual);
	}
	if (rec->redirect != NULL)
		return do_redirect(st, rec, domain, match, mn);
	return SPF_NEUTRAL;
}

/* The one SPF record among domain's TXT records, parsed into rec. */
static enum spf_result
fetch_record(struct spf_state *st, const char *domain,
    struct spf_record *rec)
{
	struct spf_answer a;
	enum spf_dns rc;
	enum spf_result r = SPF_NONE;
	const char *found = NULL;
	char why[200];
	size_t i, nspf = 0;

	rc = lookup(st, SPF_RR_TXT, domain, &a);
	if (rc == SPF_DNS_TEMP)
		r = set_err(st, SPF_TEMPERROR, SPF_P_NONE, "%s%s", a.why[0] ?
		    a.why : "TXT look-up failed at ", a.why[0] ? "" : domain);
	for (i = 0; rc == SPF_DNS_OK && i < a.n; i++)
		if (spf_is_record(a.rr[i])) {
			found = a.rr[i];
			nspf++;
		}
	if (nspf > 1)
		r = set_err(st, SPF_PERMERROR, SPF_P_MULTIPLE, "%s has %zu SPF "
		    "records; it must have one (RFC 7208 4.5)", domain, nspf);
	else if (nspf == 1 && spf_parse(found, rec, why, sizeof(why)) < 0)
		r = set_err(st, SPF_PERMERROR, SPF_P_SYNTAX, "the SPF record of "
		    "%s: %s", domain, why);
	else if (nspf == 1)
		r = SPF_PASS;	/* found: evaluate it */
	if (nspf >= 1 && st->depth == 1)
		snprintf(st->out->record, sizeof(st->out->record), "%s",
		    found);
	answer_clear(&a);
	return r;
}

static enum spf_result
check_host(struct spf_state *st, const char *domain, char *match, size_t mn)
{
	struct spf_record *rec;
	enum spf_result r;

	if (strlen(domain) == 0 || strlen(domain) > SPF_NAME_MAX ||
	    st->depth >= (int)(sizeof(st->stack) / sizeof(st->stack[0])))
		return SPF_NONE;
	st->stack[st->depth++] = domain;
	rec = xmalloc(sizeof(*rec));
	r = fetch_record(st, domain, rec);
	if (r == SPF_PASS)
		r = eval_record(st, rec, domain, match, mn);
	free(rec);
	st->depth--;
	return r;
}

enum spf_result
spf_check(const struct spf_resolver *r, const char *domain, const char *ip,
    const char *sender, struct spf_eval *out)
{
	struct spf_state st;
	const char *at = sender != NULL ? strrchr(sender, '@') : NULL;

	memset(out, 0, sizeof(*out));
	memset(&st, 0, sizeof(st));
	st.r = r;
	st.out = out;
	if (parse_addr(ip, &st.ip) < 0) {
		snprintf(out->why, sizeof(out->why), "%s is not an IP address",
		    ip);
		return out->result = SPF_PERMERROR;
	}
	if (at != NULL && at > sender) {
		snprintf(st.local, sizeof(st.local), "%.*s",
		    (int)(at - sender), sender);
		snprintf(st.sdomain, sizeof(st.sdomain), "%s", at + 1);
	} else {
		/* RFC 7208 4.3: postmaster stands in for no local part. */
		snprintf(st.local, sizeof(st.local), "postmaster");
		snprintf(st.sdomain, sizeof(st.sdomain), "%s", domain);
	}
	out->result = check_host(&st, domain, out->match, sizeof(out->match));
	return out->result;
}
