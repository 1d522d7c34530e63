/*
 * doctor.c - the checks of postbote doctor; see doctor.h.
 *
 * Every look-up is made one at a time through engine/dns.c (dns_lookup()
 * and dns_resolve_mx(), driven by dns_run()) and kept in a small cache,
 * so the SPF evaluation of several addresses, and the DMARC and SPF
 * checks of several domains, ask each name once. Synchronous on purpose:
 * a doctor run makes tens of look-ups, and one at a time keeps each
 * check a straight line of code.
 *
 * The TLS probe is engine/conn.c (socket, TLS, SMTP state machine) driven
 * with poll() until the session is ready, then QUIT: the very code a send
 * uses, so what it reports is what a send would meet.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "clock.h"
#include "config.h"
#include "conn.h"
#include "dkim.h"
#include "dns.h"
#include "doctor.h"
#include "spf.h"
#include "xalloc.h"

#define DOC_CACHE	4096
#define DOC_TEXT	1024
#define DKIM_DNS_RECORD_MAX	2048
#define DOC_FIX		(2 * DKIM_DNS_RECORD_MAX)
#define DOC_NAME	(LIMIT_ADDR_DOMAIN + 1)
#define DOC_TEMP_FIX	"check delivery.dns_servers and try again"

/* A look-up's answer, kept in the cache. */
struct doc_rr {
	enum dns_status status;
	int nxdomain;
	char reason[LIMIT_DNS_REASON];
	size_t n;
	char *rr[DNS_RR_MAX];
	unsigned pref[DNS_RR_MAX];
};

struct doc_cached {
	enum dns_rr type;
	char name[DOC_NAME];
	struct doc_rr rr;
};

struct doc {
	const struct doctor_opts *o;
	const struct config *cfg;
	struct dns *dns;
	doctor_cb cb;
	void *ctx;
	struct doctor_summary *sum;
	struct doc_cached *cache[DOC_CACHE];	/* the run's answers */
	size_t ncache;
	char ips[DOCTOR_IPS_MAX][INET6_ADDRSTRLEN];
	size_t nips;
	int ips_known;		/* from --ip, the config or the relay */
	char helo[LIMIT_SMTP_HELO + 1];
};

const char *
doctor_level_name(enum doctor_level l)
{
	return l == DOCTOR_OK ? "ok" : l == DOCTOR_WARN ? "warn" : "fail";
}

/* ---------------------------------------------------------------- output */

static void __attribute__((format(printf, 7, 8)))
say(struct doc *d, enum doctor_level lv, int temp, const char *check,
    const char *subject, const char *fix, const char *fmt, ...)
{
	struct doctor_line l;
	char text[DOC_TEXT];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	l.level = lv;
	l.check = check;
	l.subject = subject;
	l.text = text;
	l.fix = fix;
	l.temp = temp && lv == DOCTOR_FAIL;
	if (lv == DOCTOR_OK)
		d->sum->ok++;
	else if (lv == DOCTOR_WARN)
		d->sum->warn++;
	else
		d->sum->fail++;
	d->sum->temp += l.temp;
	d->cb(d->ctx, &l);
}

/* A fix naming a record to publish: publish "..." at NAME. */
static const char * __attribute__((format(printf, 3, 4)))
fixf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return buf;
}

/* ------------------------------------------------------------------ DNS */

static void
rr_clear(struct doc_rr *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->rr[i]);
	memset(r, 0, sizeof(*r));
}

static void
rr_copy(void *ctx, const struct dns_rrset *r)
{
	struct doc_rr *out = ctx;
	size_t i;

	out->status = r->status;
	out->nxdomain = r->nxdomain;
	snprintf(out->reason, sizeof(out->reason), "%s", r->reason);
	for (i = 0; i < r->n; i++) {
		out->rr[i] = xstrdup(r->rr[i]);
		out->pref[i] = r->pref[i];
	}
	out->n = r->n;
}

static void
cache_clear(struct doc *d)
{
	size_t i;

	for (i = 0; i < d->ncache; i++) {
		rr_clear(&d->cache[i]->rr);
		free(d->cache[i]);
	}
	d->ncache = 0;
}

/*
 * The answer for (name, type), from the cache or the resolver; owned by
 * the cache. A name the resolver refuses (a macro gave something odd) is
 * a void answer, as a receiver's resolver would give.
 */
static const struct doc_rr *
lookup(struct doc *d, const char *name, enum dns_rr type)
{
	static const struct doc_rr full = { DNS_TEMP, 0,
	    "doctor: more look-ups than one run keeps", 0, { NULL }, { 0 } };
	struct doc_cached *c;
	struct err e;
	size_t i, len = strlen(name);

	while (len > 0 && name[len - 1] == '.')
		len--;
	for (i = 0; i < d->ncache; i++)
		if (d->cache[i]->type == type && strlen(d->cache[i]->name) ==
		    len && strncasecmp(d->cache[i]->name, name, len) == 0)
			return &d->cache[i]->rr;
	/* Answers are never evicted: callers hold them across look-ups. */
	if (d->ncache == DOC_CACHE)
		return &full;
	c = xcalloc(1, sizeof(*c));
	c->type = type;
	snprintf(c->name, sizeof(c->name), "%.*s", (int)len, name);
	c->rr.status = DNS_TEMP;
	if (dns_lookup(d->dns, c->name, type, rr_copy, &c->rr, &e) < 0) {
		c->rr.status = DNS_PERM;
		snprintf(c->rr.reason, sizeof(c->rr.reason), "%.200s", e.msg);
	} else if (dns_run(d->dns, 0, &e) < 0 && c->rr.reason[0] == '\0')
		snprintf(c->rr.reason, sizeof(c->rr.reason), "%.200s", e.msg);
	d->cache[d->ncache++] = c;
	return &c->rr;
}

static void
mx_copy(void *ctx, const struct dns_result *r)
{
	memcpy(ctx, r, sizeof(*r));
}

/* The organisational domain, taken as the last two labels: no public
   suffix list here, so co.uk-style suffixes come out one label short. */
static const char *
org_domain(const char *domain)
{
	const char *p = domain + strlen(domain), *dot = NULL;
	int dots = 0;

	while (p > domain) {
		p--;
		if (*p == '.' && ++dots == 2) {
			dot = p;
			break;
		}
	}
	return dot != NULL ? dot + 1 : domain;
}

/* ------------------------------------------------------------------ SPF */

static enum spf_dns
spf_lookup(void *ctx, enum spf_rr type, const char *name,
    struct spf_answer *out)
{
	static const enum dns_rr map[] = { DNS_RR_A, DNS_RR_AAAA, DNS_RR_MX,
	    DNS_RR_TXT, DNS_RR_PTR };
	const struct doc_rr *r = lookup(ctx, name, map[type]);
	size_t i;

	if (r->status == DNS_TEMP) {
		snprintf(out->why, sizeof(out->why), "%.120s", r->reason);
		return SPF_DNS_TEMP;
	}
	for (i = 0; i < r->n; i++)
		spf_answer_add(out, r->rr[i]);
	return r->status == DNS_OK ? SPF_DNS_OK : SPF_DNS_VOID;
}

static const char *
ip_term(const char *ip)
{
	return strchr(ip, ':') != NULL ? "ip6" : "ip4";
}

/* The record with "ip4:IP" put before its all (or redirect), where a
   receiver reaches it. */
static void
spf_insert(const char *record, const char *ip, char *out, size_t n)
{
	const char *p = record, *at = NULL, *t;
	size_t len;

	while ((t = strchr(p, ' ')) != NULL || *p != '\0') {
		len = t != NULL ? (size_t)(t - p) : strlen(p);
		if (len > 0 && at == NULL && ((len >= 3 && strncasecmp(p +
		    len - 3, "all", 3) == 0 && len <= 4) ||
		    strncasecmp(p, "redirect=", 9) == 0))
			at = p;
		if (t == NULL)
			break;
		p = t + 1;
	}
	if (at == NULL)
		snprintf(out, n, "%s %s:%s", record, ip_term(ip), ip);
	else
		snprintf(out, n, "%.*s%s:%s %s", (int)(at - record), record,
		    ip_term(ip), ip, at);
}

static void
spf_new_record(const struct doc *d, char *out, size_t n)
{
	size_t i, k;

	k = (size_t)snprintf(out, n, "v=spf1");
	for (i = 0; i < d->nips && k < n; i++)
		k += (size_t)snprintf(out + k, n - k, " %s:%s",
		    ip_term(d->ips[i]), d->ips[i]);
	if (d->nips == 0 && k < n)
		k += (size_t)snprintf(out + k, n - k, " ip4:YOUR.SENDING.IP");
	if (k < n)
		snprintf(out + k, n - k, " ~all");
}

static const char *
spf_problem_fix(const struct spf_eval *ev, char *fix, size_t n)
{
	switch (ev->problem) {
	case SPF_P_LOOKUPS:
		return "replace include:, a, mx and ptr terms with ip4:/ip6: "
		    "ranges until evaluation needs at most 10 look-ups";
	case SPF_P_VOIDS:
		return "remove the terms that name domains without "
		    "addresses or records";
	case SPF_P_LOOP:
		return "remove the include or redirect that leads back";
	case SPF_P_MULTIPLE:
		return "merge them into one TXT record starting v=spf1";
	case SPF_P_NO_RECORD:
		return "remove the include/redirect of a domain without SPF, "
		    "or publish one there";
	default:
		return fixf(fix, n, "correct the record (RFC 7208): %s",
		    ev->why);
	}
}

/* none, permerror and temperror: the same for every address. */
static int
spf_broken(struct doc *d, const char *dom, const struct spf_eval *ev)
{
	char rec[512], fix[600];

	if (ev->result == SPF_NONE) {
		spf_new_record(d, rec, sizeof(rec));
		say(d, DOCTOR_FAIL, 0, "spf", dom, fixf(fix, sizeof(fix),
		    "publish \"%s\" at %s", rec, dom), "no SPF record: "
		    "receivers cannot tell our mail from forgeries");
	} else if (ev->result == SPF_TEMPERROR)
		say(d, DOCTOR_FAIL, 1, "spf", dom, DOC_TEMP_FIX,
		    "temperror: %s", ev->why);
	else if (ev->result == SPF_PERMERROR)
		say(d, DOCTOR_FAIL, 0, "spf", dom, spf_problem_fix(ev, fix,
		    sizeof(fix)), "permerror: %s", ev->why);
	else
		return 0;
	return 1;
}

static void
spf_one(struct doc *d, const char *dom, const char *ip,
    const struct spf_eval *ev)
{
	char rec[SPF_RECORD_MAX + 64], fix[SPF_RECORD_MAX + 128];

	if (ev->result == SPF_PASS) {
		say(d, DOCTOR_OK, 0, "spf", dom, NULL, "\"%s\" authorises %s "
		    "(%s; %d of 10 look-ups)", ev->record, ip, ev->match,
		    ev->lookups);
		return;
	}
	spf_insert(ev->record, ip, rec, sizeof(rec));
	say(d, DOCTOR_FAIL, 0, "spf", dom, fixf(fix, sizeof(fix), "publish "
	    "\"%s\" at %s", rec, dom), "\"%s\" gives %s for %s%s%s",
	    ev->record, spf_result_name(ev->result), ip,
	    ev->match[0] ? ", matching " : "", ev->match);
}

/* The record's own terms: +all and ptr. */
static void
spf_record_warnings(struct doc *d, const char *dom,
    const struct spf_eval *ev)
{
	struct spf_record *rec = xmalloc(sizeof(*rec));
	char why[200];
	size_t i;

	if (spf_parse(ev->record, rec, why, sizeof(why)) == 0)
		for (i = 0; i < rec->nterms; i++)
			if (rec->terms[i].mech == SPF_ALL &&
			    rec->terms[i].qual == '+')
				say(d, DOCTOR_FAIL, 0, "spf", dom, "end the "
				    "record with ~all or -all", "\"%s\" "
				    "authorises every host on the Internet",
				    rec->terms[i].text);
	free(rec);
	if (ev->warn & SPF_WARN_PTR)
		say(d, DOCTOR_WARN, 0, "spf", dom, "replace ptr with ip4:/ip6: "
		    "or a terms", "the record uses ptr, which RFC 7208 5.5 "
		    "says not to use: slow, and some receivers skip it");
}

static void
check_spf(struct doc *d, const char *dom)
{
	struct spf_resolver r = { spf_lookup, d };
	struct spf_eval *ev = xmalloc(sizeof(*ev));
	size_t i;

	if (d->nips == 0) {
		spf_check(&r, dom, "192.0.2.1", NULL, ev);
		if (!spf_broken(d, dom, ev))
			say(d, DOCTOR_WARN, 0, "spf", dom, "set "
			    "delivery.source_address or pass --ip ADDRESS",
			    "\"%s\" is valid (%d of 10 look-ups), but no "
			    "sending address is known to test it with",
			    ev->record, ev->lookups);
		goto out;
	}
	for (i = 0; i < d->nips; i++) {
		spf_check(&r, dom, d->ips[i], NULL, ev);
		if (spf_broken(d, dom, ev))
			goto out;
		spf_one(d, dom, d->ips[i], ev);
	}
	spf_record_warnings(d, dom, ev);
out:
	free(ev);
}

/* ----------------------------------------------------------------- DKIM */

/* The value of tag in a "t=v; t=v" list (DKIM, DMARC), cut at n; 0 if
   absent. Tag names are case-sensitive in DKIM, but no key record
   depends on that. */
static int
tag_get(const char *rec, const char *tag, char *out, size_t n)
{
	const char *p = rec, *eq, *end;
	size_t tl = strlen(tag), a, b;

	while (*p != '\0') {
		end = strchr(p, ';');
		if (end == NULL)
			end = p + strlen(p);
		while (p < end && isspace((unsigned char)*p))
			p++;
		eq = memchr(p, '=', (size_t)(end - p));
		for (a = eq != NULL ? (size_t)(eq - p) : 0; a > 0 &&
		    isspace((unsigned char)p[a - 1]); a--)
			;
		if (eq != NULL && a == tl && strncasecmp(p, tag, tl) == 0) {
			for (eq++; eq < end && isspace((unsigned char)*eq);)
				eq++;
			for (b = (size_t)(end - eq); b > 0 &&
			    isspace((unsigned char)eq[b - 1]); b--)
				;
			snprintf(out, n, "%.*s", (int)b, eq);
			return 1;
		}
		p = *end == ';' ? end + 1 : end;
	}
	return 0;
}

/* A tag's colon-separated list holds word (h=sha256:sha1, s=email:*). */
static int
tag_has(const char *list, const char *word)
{
	const char *p = list;
	size_t wl = strlen(word), l;

	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		l = strcspn(p, ":");
		while (l > 0 && isspace((unsigned char)p[l - 1]))
			l--;
		if ((l == wl && strncasecmp(p, word, wl) == 0) ||
		    (l == 1 && *p == '*'))
			return 1;
		p += strcspn(p, ":");
		if (*p++ == '\0')
			return 0;
	}
}

struct dkim_check {
	const struct dkim_key_conf *k;
	enum dkim_algorithm alg;
	char name[DOC_NAME + LIMIT_DKIM_SELECTOR + 16];
	struct buf p, record;
	int bits;
};

/* What is wrong with the record, or NULL. */
static const char *
dkim_record_fault(const struct dkim_check *c, const char *rec, char *why,
    size_t n)
{
	char v[DNS_TXT_MAX + 1];
	int same;

	if (tag_get(rec, "v", v, sizeof(v)) && strcmp(v, "DKIM1") != 0)
		return fixf(why, n, "v=%s is not DKIM1", v);
	if (!tag_get(rec, "p", v, sizeof(v)))
		return "the record has no p= (public key)";
	if (v[0] == '\0')
		return "the key is revoked (p= is empty)";
	same = dkim_public_same(c->alg, buf_str(&c->p), v);
	if (same < 0)
		return "p= is not base64";
	if (!tag_get(rec, "k", v, sizeof(v)))
		snprintf(v, sizeof(v), "rsa");
	if (strcasecmp(v, c->alg == DKIM_RSA_SHA256 ? "rsa" : "ed25519") != 0)
		return fixf(why, n, "k=%s, but key_file %s holds an %s key", v,
		    c->k->key_file, c->alg == DKIM_RSA_SHA256 ? "RSA" :
		    "Ed25519");
	if (same == 0)
		return fixf(why, n, "the key in DNS is not the public half of "
		    "key_file %s", c->k->key_file);
	if (tag_get(rec, "h", v, sizeof(v)) && !tag_has(v, "sha256"))
		return fixf(why, n, "h=%s leaves out sha256", v);
	if (tag_get(rec, "s", v, sizeof(v)) && !tag_has(v, "email"))
		return fixf(why, n, "s=%s leaves out email", v);
	return NULL;
}

static void
dkim_judge(struct doc *d, struct dkim_check *c, const struct doc_rr *r)
{
	char why[512], fix[DOC_FIX], v[64];
	const char *fault;

	fixf(fix, sizeof(fix), "publish %s", buf_str(&c->record));
	if (r->status == DNS_TEMP) {
		say(d, DOCTOR_FAIL, 1, "dkim", c->name, DOC_TEMP_FIX, "%s",
		    r->reason);
		return;
	}
	if (r->status != DNS_OK) {
		say(d, DOCTOR_FAIL, 0, "dkim", c->name, fix, "no DKIM record: "
		    "receivers cannot check our %s signatures",
		    dkim_algorithm_name(c->alg));
		return;
	}
	if (r->n != 1) {
		say(d, DOCTOR_FAIL, 0, "dkim", c->name, fix, "%zu TXT records: "
		    "receivers may pick either; keep one", r->n);
		return;
	}
	if ((fault = dkim_record_fault(c, r->rr[0], why, sizeof(why))) != NULL) {
		say(d, DOCTOR_FAIL, 0, "dkim", c->name, fix, "%s", fault);
		return;
	}
	say(d, DOCTOR_OK, 0, "dkim", c->name, NULL, "%s key of %d bits "
	    "matches key_file %s", dkim_algorithm_name(c->alg), c->bits,
	    c->k->key_file);
	if (c->alg == DKIM_RSA_SHA256 && c->bits < 2048)
		say(d, DOCTOR_WARN, 0, "dkim", c->name, "make a 2048-bit key: "
		    "postbote dkim keygen", "an RSA key of %d bits: receivers "
		    "trust fewer than 2048 less", c->bits);
	if (tag_get(r->rr[0], "t", v, sizeof(v)) && tag_has(v, "y"))
		say(d, DOCTOR_WARN, 0, "dkim", c->name, "remove t=y once "
		    "signatures verify", "t=y: testing mode, receivers may "
		    "treat signed mail as unsigned");
}

static void
dkim_one(struct doc *d, const struct dkim_key_conf *k)
{
	struct dkim_check c;
	struct err e;

	memset(&c, 0, sizeof(c));
	c.k = k;
	snprintf(c.name, sizeof(c.name), "%s._domainkey.%s", k->selector,
	    k->domain);
	buf_init(&c.p, DNS_TXT_MAX);
	buf_init(&c.record, DKIM_DNS_RECORD_MAX);
	if (dkim_algorithm_parse(k->algorithm, &c.alg) < 0 ||
	    dkim_key_public(k, &c.p, &c.record, &c.bits, &e) < 0)
		say(d, DOCTOR_FAIL, 0, "dkim", c.name, "point key_file at the "
		    "PEM private key, mode 0600", "%.200s", e.msg);
	else
		dkim_judge(d, &c, lookup(d, c.name, DNS_RR_TXT));
	buf_free(&c.p);
	buf_free(&c.record);
}

/* The keys that sign mail from dom: its own, else the nearest parent's
   (as dkim_signer_sign() chooses). */
static const char *
dkim_domain_for(const struct config *cfg, const char *dom)
{
	const char *p = dom;
	int i;

	while (p != NULL && *p != '\0') {
		for (i = 0; i < cfg->ndkim; i++)
			if (strcasecmp(cfg->dkim[i].domain, p) == 0)
				return cfg->dkim[i].domain;
		p = strchr(p, '.');
		p = p != NULL ? p + 1 : NULL;
	}
	return NULL;
}

static void
check_dkim(struct doc *d, const char *dom)
{
	const char *kd = dkim_domain_for(d->cfg, dom);
	char fix[300];
	int i;

	if (kd == NULL) {
		say(d, DOCTOR_FAIL, 0, "dkim", dom, fixf(fix, sizeof(fix),
		    "postbote dkim keygen --domain %s --selector s1, then add "
		    "the key to \"dkim\" in the config", dom), "no DKIM key in "
		    "the config signs mail from %s", dom);
		return;
	}
	for (i = 0; i < d->cfg->ndkim; i++)
		if (strcasecmp(d->cfg->dkim[i].domain, kd) == 0)
			dkim_one(d, &d->cfg->dkim[i]);
}

/* ---------------------------------------------------------------- DMARC */

struct dmarc {
	char at[DOC_NAME + 8];	/* where the record was found */
	char rec[DNS_TXT_MAX + 1];
	char p[32], rua[256], adkim[8], aspf[8], pct[8];
	int inherited;
};

/* 1 found, 0 none, -1 reported (temp failure, several records). */
static int
dmarc_fetch(struct doc *d, const char *dom, const char *name,
    struct dmarc *m)
{
	const struct doc_rr *r = lookup(d, name, DNS_RR_TXT);
	size_t i, n = 0;

	if (r->status == DNS_TEMP) {
		say(d, DOCTOR_FAIL, 1, "dmarc", dom, DOC_TEMP_FIX, "%s",
		    r->reason);
		return -1;
	}
	for (i = 0; r->status == DNS_OK && i < r->n; i++)
		if (strncmp(r->rr[i], "v=DMARC1", 8) == 0 &&
		    (r->rr[i][8] == ';' || r->rr[i][8] == ' ' ||
		    r->rr[i][8] == '\0') && n++ == 0)
			snprintf(m->rec, sizeof(m->rec), "%s", r->rr[i]);
	if (n > 1) {
		say(d, DOCTOR_FAIL, 0, "dmarc", dom, "keep one record",
		    "%zu DMARC records at %s: receivers apply none (RFC 7489 "
		    "6.6.3)", n, name);
		return -1;
	}
	snprintf(m->at, sizeof(m->at), "%s", name);
	return n == 1;
}

static int
aligned(const char *a, const char *from, const char *mode)
{
	if (strcasecmp(mode, "s") == 0)
		return strcasecmp(a, from) == 0;
	return strcasecmp(org_domain(a), org_domain(from)) == 0;
}

/* DKIM d= and the envelope domain against the From domain. */
static void
dmarc_alignment(struct doc *d, const char *dom, const char *env,
    const struct dmarc *m)
{
	const char *kd = dkim_domain_for(d->cfg, dom);
	int dk = kd != NULL && aligned(kd, dom, m->adkim);
	int sp = aligned(env, dom, m->aspf);
	char fix[300];

	if (dk)
		say(d, DOCTOR_OK, 0, "dmarc", dom, NULL, "DKIM d=%s aligns "
		    "with From %s (adkim=%s)", kd, dom, m->adkim);
	else if (kd != NULL)
		say(d, sp ? DOCTOR_WARN : DOCTOR_FAIL, 0, "dmarc", dom, fixf(fix,
		    sizeof(fix), "sign with a key for %s, or publish adkim=r",
		    dom), "DKIM d=%s does not align with From %s (adkim=%s)",
		    kd, dom, m->adkim);
	if (sp)
		say(d, DOCTOR_OK, 0, "dmarc", dom, NULL, "SPF domain %s aligns "
		    "with From %s (aspf=%s)", env, dom, m->aspf);
	else
		say(d, dk ? DOCTOR_WARN : DOCTOR_FAIL, 0, "dmarc", dom, fixf(fix,
		    sizeof(fix), "set bounces.return_path_domain to a name "
		    "under %s%s", org_domain(dom), strcasecmp(m->aspf, "s") == 0
		    ? ", or publish aspf=r" : ""), "SPF domain %s does not "
		    "align with From %s (aspf=%s)%s", env, dom, m->aspf, dk ?
		    "; DMARC passes on DKIM alone" : "");
}

/* none, quarantine or reject, any case (RFC 7489 6.4); made lower case. */
static int
dmarc_policy_ok(char *p)
{
	char *c;

	for (c = p; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	return strcmp(p, "none") == 0 || strcmp(p, "quarantine") == 0 ||
	    strcmp(p, "reject") == 0;
}

static void
dmarc_policy(struct doc *d, const char *dom, struct dmarc *m)
{
	char fix[300], sp[sizeof(m->p)];

	if (!tag_get(m->rec, "p", m->p, sizeof(m->p)) ||
	    !dmarc_policy_ok(m->p)) {
		say(d, DOCTOR_FAIL, 0, "dmarc", dom, "give p=none, quarantine "
		    "or reject", "\"%s\" at %s: no valid p= policy", m->rec,
		    m->at);
		return;
	}
	/* A subdomain's policy is sp= when that is valid (RFC 7489 6.3). */
	if (m->inherited && tag_get(m->rec, "sp", sp, sizeof(sp)) &&
	    dmarc_policy_ok(sp))
		memcpy(m->p, sp, sizeof(sp));
	if (strcmp(m->p, "none") == 0)
		say(d, DOCTOR_WARN, 0, "dmarc", dom, "once the reports show "
		    "all our mail aligned, publish p=quarantine", "\"%s\" at "
		    "%s: p=none only monitors; forgeries are delivered",
		    m->rec, m->at);
	else
		say(d, DOCTOR_OK, 0, "dmarc", dom, NULL, "\"%s\" at %s: "
		    "p=%s", m->rec, m->at, m->p);
	if (tag_get(m->rec, "pct", m->pct, sizeof(m->pct)) &&
	    strcmp(m->pct, "100") != 0)
		say(d, DOCTOR_WARN, 0, "dmarc", dom, "remove pct=", "pct=%s: "
		    "the policy applies to only part of the mail", m->pct);
	if (!tag_get(m->rec, "rua", m->rua, sizeof(m->rua)))
		say(d, DOCTOR_WARN, 0, "dmarc", dom, fixf(fix, sizeof(fix),
		    "add rua=mailto:dmarc-reports@%s", org_domain(dom)),
		    "no rua=: no aggregate reports come back");
}

static void
check_dmarc(struct doc *d, const char *dom, const char *env)
{
	struct dmarc *m = xcalloc(1, sizeof(*m));
	char name[DOC_NAME + 8], fix[400];
	int rc;

	snprintf(name, sizeof(name), "_dmarc.%s", dom);
	rc = dmarc_fetch(d, dom, name, m);
	if (rc == 0 && strcasecmp(org_domain(dom), dom) != 0) {
		snprintf(name, sizeof(name), "_dmarc.%s", org_domain(dom));
		m->inherited = 1;
		rc = dmarc_fetch(d, dom, name, m);
	}
	snprintf(m->adkim, sizeof(m->adkim), "r");
	snprintf(m->aspf, sizeof(m->aspf), "r");
	if (rc == 0)
		say(d, DOCTOR_FAIL, 0, "dmarc", dom, fixf(fix, sizeof(fix),
		    "publish _dmarc.%s IN TXT \"v=DMARC1; p=none; "
		    "rua=mailto:dmarc-reports@%s\", then move to p=quarantine",
		    dom, org_domain(dom)), "no DMARC record: Gmail and Yahoo "
		    "require one of bulk senders");
	if (rc == 1) {
		(void)tag_get(m->rec, "adkim", m->adkim, sizeof(m->adkim));
		(void)tag_get(m->rec, "aspf", m->aspf, sizeof(m->aspf));
		dmarc_policy(d, dom, m);
	}
	if (rc >= 0)
		dmarc_alignment(d, dom, env, m);
	free(m);
}

/* ------------------------------------------------------------------- MX */

static void
check_mx(struct doc *d, const char *env)
{
	struct dns_result *r = xcalloc(1, sizeof(*r));
	char fix[300], hosts[600];
	struct err e;
	size_t i, k = 0;

	fixf(fix, sizeof(fix), "publish %s IN MX 10 <the host that runs "
	    "postbote bounce ingest>", env);
	r->status = DNS_TEMP;
	if (dns_resolve_mx(d->dns, env, mx_copy, r, &e) < 0 ||
	    dns_run(d->dns, 0, &e) < 0)
		snprintf(r->reason, sizeof(r->reason), "%.200s", e.msg);
	hosts[0] = '\0';
	for (i = 0; i < r->nhosts && k < sizeof(hosts); i++)
		k += (size_t)snprintf(hosts + k, sizeof(hosts) - k, "%s%s (%u)",
		    i ? ", " : "", r->hosts[i].name, r->hosts[i].pref);
	if (r->status == DNS_OK && !r->implicit)
		say(d, DOCTOR_OK, 0, "mx", env, NULL, "MX %s: bounces and "
		    "replies to the envelope sender come back", hosts);
	else if (r->status == DNS_OK)
		say(d, DOCTOR_WARN, 0, "mx", env, fix, "no MX: mail for %s "
		    "goes to its address record (RFC 5321 5.1)", env);
	else if (r->null_mx)
		say(d, DOCTOR_FAIL, 0, "mx", env, fix, "null MX: %s takes no "
		    "mail, so bounces never come back", env);
	else
		say(d, DOCTOR_FAIL, r->status == DNS_TEMP, "mx", env,
		    r->status == DNS_TEMP ? DOC_TEMP_FIX : fix, "%s", r->reason);
	free(r);
}

/* --------------------------------------------------------------- FCrDNS */

/* An ISP's name for an address: its digits in the name, or words of
   dynamic pools. */
static int
generic_name(const char *name, const char *ip)
{
	static const char *const words[] = { "dynamic", "dyn-", "dhcp",
	    "pool", "dsl", "cable", "ppp", "dialup", "broadband", "client",
	    "customer", "unassigned", "static-ip", NULL };
	char dashed[INET6_ADDRSTRLEN], rev[80];
	unsigned char b[4];
	size_t i;

	for (i = 0; words[i] != NULL; i++)
		if (strcasestr(name, words[i]) != NULL)
			return 1;
	if (inet_pton(AF_INET, ip, b) != 1)
		return 0;
	snprintf(dashed, sizeof(dashed), "%u-%u-%u-%u", b[0], b[1], b[2],
	    b[3]);
	snprintf(rev, sizeof(rev), "%u-%u-%u-%u", b[3], b[2], b[1], b[0]);
	return strstr(name, dashed) != NULL || strstr(name, rev) != NULL ||
	    strstr(name, ip) != NULL;
}

/* Whether name's addresses of ip's family include ip. */
static int
resolves_to(struct doc *d, const char *name, const char *ip, char *seen,
    size_t n)
{
	int v6 = strchr(ip, ':') != NULL;
	const struct doc_rr *r = lookup(d, name, v6 ? DNS_RR_AAAA : DNS_RR_A);
	unsigned char a[16], b[16];
	size_t i, k = strlen(seen);

	if (inet_pton(v6 ? AF_INET6 : AF_INET, ip, a) != 1)
		return 0;
	for (i = 0; r->status == DNS_OK && i < r->n; i++) {
		if (inet_pton(v6 ? AF_INET6 : AF_INET, r->rr[i], b) == 1 &&
		    memcmp(a, b, v6 ? 16 : 4) == 0)
			return 1;
		if (k < n)
			k += (size_t)snprintf(seen + k, n - k, "%s%s",
			    k ? ", " : "", r->rr[i]);
	}
	return 0;
}

static void
fcrdns_confirmed(struct doc *d, const char *ip, const char *name)
{
	char fix[300];

	say(d, DOCTOR_OK, 0, "fcrdns", ip, NULL, "%s -> %s -> %s", ip, name,
	    ip);
	if (generic_name(name, ip))
		say(d, DOCTOR_WARN, 0, "fcrdns", ip, fixf(fix, sizeof(fix),
		    "ask the owner of %s for a PTR naming the mail host, e.g. "
		    "%s", ip, d->helo), "%s looks like a generic ISP name: "
		    "receivers score it as a dynamic address", name);
	if (d->cfg->hostname != NULL && strcasecmp(d->cfg->hostname, name))
		say(d, DOCTOR_WARN, 0, "fcrdns", ip, fixf(fix, sizeof(fix),
		    "set \"hostname\" to %s, or the PTR to %s", name,
		    d->cfg->hostname), "the EHLO name %s is not the PTR name "
		    "%s", d->cfg->hostname, name);
}

static void
check_fcrdns(struct doc *d, const char *ip)
{
	char rev[80], fix[300], seen[300] = "";
	const struct doc_rr *r;
	size_t i;

	fixf(fix, sizeof(fix), "ask the owner of %s (the hosting provider) "
	    "to set its PTR to %s, and publish %s IN A/AAAA %s", ip, d->helo,
	    d->helo, ip);
	if (dns_reverse_name(ip, rev, sizeof(rev)) < 0)
		return;
	r = lookup(d, rev, DNS_RR_PTR);
	if (r->status == DNS_TEMP) {
		say(d, DOCTOR_FAIL, 1, "fcrdns", ip, DOC_TEMP_FIX, "%s",
		    r->reason);
		return;
	}
	if (r->status != DNS_OK) {
		say(d, DOCTOR_FAIL, 0, "fcrdns", ip, fix, "no PTR record for "
		    "%s: many receivers refuse such mail", ip);
		return;
	}
	for (i = 0; i < r->n && i < SPF_LOOKUP_LIMIT; i++)
		if (resolves_to(d, r->rr[i], ip, seen, sizeof(seen))) {
			fcrdns_confirmed(d, ip, r->rr[i]);
			return;
		}
	say(d, DOCTOR_FAIL, 0, "fcrdns", ip, fixf(fix, sizeof(fix), "publish "
	    "%s IN %s %s, or point the PTR at a name that has it", r->rr[0],
	    strchr(ip, ':') ? "AAAA" : "A", ip), "%s -> %s, which resolves to "
	    "%s, not back to %s", ip, r->rr[0], seen[0] ? seen : "nothing", ip);
}

/* ------------------------------------------------------------------ TLS */

struct probe {
	int ready, closed;
	char tls[128];
	char text[LIMIT_SMTP_TEXT + 64];
	struct smtp_caps caps;
};

static uint32_t
poll_to_epoll(short re)
{
	return (re & POLLIN ? EPOLLIN : 0) | (re & POLLOUT ? EPOLLOUT : 0) |
	    (re & POLLERR ? EPOLLERR : 0) | (re & POLLHUP ? EPOLLHUP : 0);
}

static void
probe_events(struct conn *c, struct probe *p)
{
	struct smtp_event ev;
	struct err e;

	while (conn_event(c, &ev, clock_mono_ms())) {
		if (ev.type == SMTP_EV_READY && !p->ready) {
			p->ready = 1;
			conn_tls_desc(c, p->tls, sizeof(p->tls));
			p->caps = *smtp_caps(conn_smtp(c));
			if (smtp_quit(conn_smtp(c), &e) < 0)
				smtp_abort(conn_smtp(c), "QUIT refused");
		} else if (ev.type == SMTP_EV_CLOSED) {
			p->closed = 1;
			if (!p->ready)
				snprintf(p->text, sizeof(p->text), "%s%s%d "
				    "%s", smtp_stage_name(ev.stage), ": ",
				    ev.code, ev.text);
		}
	}
}

/* Drives c until its session has closed. */
static void
probe_run(struct conn *c, struct probe *p)
{
	struct pollfd pfd;
	int64_t now, dl;
	int wait;

	for (;;) {
		probe_events(c, p);
		conn_flush(c, clock_mono_ms());
		if (p->closed)
			return;
		now = clock_mono_ms();
		dl = conn_deadline(c);
		wait = dl < 0 ? DOCTOR_SMTP_MS : dl <= now ? 0 : (int)(dl - now);
		pfd.fd = conn_fd(c);
		pfd.events = (short)((conn_events(c) & EPOLLIN ? POLLIN : 0) |
		    (conn_events(c) & EPOLLOUT ? POLLOUT : 0));
		pfd.revents = 0;
		if (poll(&pfd, 1, wait) > 0)
			conn_io(c, poll_to_epoll(pfd.revents), clock_mono_ms());
		else if (clock_mono_ms() >= dl || dl < 0)
			conn_expire(c, clock_mono_ms());
	}
}

static int
ms_cap(int seconds, int dflt)
{
	int ms = seconds > 0 ? seconds * 1000 : dflt;

	return ms > DOCTOR_SMTP_MS ? DOCTOR_SMTP_MS : ms;
}

static const char *
tls_fix(const char *text)
{
	if (strstr(text, "untrusted certificate") != NULL)
		return "give the relay a certificate from a public CA, or set "
		    "delivery.ca_file to the CA that signed it";
	if (strstr(text, "host name mismatch") != NULL)
		return "name the host as its certificate does";
	if (strstr(text, "STARTTLS") != NULL)
		return "enable STARTTLS on the server, or use \"tls\": "
		    "\"implicit\" on port 465";
	return "check the host, the port and the firewall";
}

/* One address of host (a literal, or its first A/AAAA) with port; -1
 * with why, and *temp set when the look-up may work later. */
static int
hop_addr(struct doc *d, const char *host, int port,
    struct sockaddr_storage *ss, socklen_t *len, int *temp, char *why,
    size_t n)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct dns_result *r;
	struct err e;
	int rc = -1;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)port);
		*len = sizeof(*s6);
		return 0;
	}
	r = xcalloc(1, sizeof(*r));
	r->status = DNS_TEMP;
	if (dns_resolve_host(d->dns, host, mx_copy, r, &e) < 0 ||
	    dns_run(d->dns, 0, &e) < 0)
		snprintf(r->reason, sizeof(r->reason), "%.200s", e.msg);
	if (r->status == DNS_OK) {
		memcpy(ss, &r->hosts[0].addrs[0].sa, r->hosts[0].addrs[0].len);
		*len = r->hosts[0].addrs[0].len;
		s4->sin_port = htons((unsigned short)port);	/* both */
		rc = 0;
	} else {
		snprintf(why, n, "%s", r->reason);
		*temp = r->status == DNS_TEMP;
	}
	free(r);
	return rc;
}

static void
probe_report(struct doc *d, const char *subject, const struct probe *p,
    const struct config_hop *h)
{
	char auth[64] = "";

	if (!p->ready) {
		say(d, DOCTOR_FAIL, 0, "tls", subject, tls_fix(p->text), "%s",
		    p->text);
		return;
	}
	if (p->caps.auth_offered)
		snprintf(auth, sizeof(auth), "; AUTH%s%s offered",
		    p->caps.auth & SMTP_AUTH_PLAIN ? " PLAIN" : "",
		    p->caps.auth & SMTP_AUTH_LOGIN ? " LOGIN" : "");
	say(d, DOCTOR_OK, 0, "tls", subject, NULL, "%s %s%s",
	    h->tls == CONFIG_TLS_IMPLICIT ? "implicit TLS" : "STARTTLS",
	    p->tls, auth);
	if (h->username != NULL && !p->caps.auth_offered)
		say(d, DOCTOR_WARN, 0, "tls", subject, "enable AUTH on the "
		    "server, or remove the username", "a username is set, but "
		    "the server offers no AUTH");
}

static void
probe_hop(struct doc *d, const struct config_hop *h, struct tls_ctx *ctx)
{
	char subject[DOC_NAME + 8], why[LIMIT_DNS_REASON];
	struct smtp_config sc;
	struct conn_params cp;
	struct sockaddr_storage ss;
	struct probe p;
	struct conn *c;
	struct err e;
	int temp = 0;

	memset(&p, 0, sizeof(p));
	memset(&sc, 0, sizeof(sc));
	memset(&cp, 0, sizeof(cp));
	snprintf(subject, sizeof(subject), "%s:%d", h->host, h->port);
	if (hop_addr(d, h->host, h->port, &ss, &cp.addrlen, &temp, why,
	    sizeof(why)) < 0) {
		say(d, DOCTOR_FAIL, temp, "tls", subject, "check the host name",
		    "%s", why);
		return;
	}
	sc.helo = d->helo;
	sc.tls = h->tls == CONFIG_TLS_IMPLICIT ? SMTP_TLS_NONE :
	    SMTP_TLS_REQUIRE;
	sc.implicit_tls = h->tls == CONFIG_TLS_IMPLICIT;
	/* Not 0, which smtp_new() reads as its 5-minute default. */
	sc.timeouts.greeting = ms_cap(d->cfg->timeouts.greeting,
	    DOCTOR_SMTP_MS);
	sc.timeouts.mail = ms_cap(d->cfg->timeouts.mail, DOCTOR_SMTP_MS);
	cp.addr = (const struct sockaddr *)&ss;
	cp.tls_name = h->host;
	cp.tls = ctx;
	cp.smtp = &sc;
	cp.connect_ms = ms_cap(d->cfg->timeouts.connect, DOCTOR_SMTP_MS);
	if (conn_open(&cp, clock_mono_ms(), &c, &e) < 0) {
		say(d, DOCTOR_FAIL, 0, "tls", subject, "check the config", "%s",
		    e.msg);
		return;
	}
	probe_run(c, &p);
	conn_free(c);
	probe_report(d, subject, &p, h);
}

static void
check_tls(struct doc *d)
{
	const struct config *cfg = d->cfg;
	struct tls_ctx *ctx = NULL;
	struct err e;
	size_t i;

	if (tls_ctx_new(TLS_POLICY_VERIFY, cfg->ca_file, &ctx, &e) < 0) {
		say(d, DOCTOR_FAIL, 0, "tls", "delivery.ca_file", "point "
		    "delivery.ca_file at a PEM bundle", "%.200s", e.msg);
		return;
	}
	if (cfg->mode == CONFIG_MODE_RELAY && cfg->relay.host != NULL) {
		if (cfg->relay.tls == CONFIG_TLS_NONE)
			say(d, DOCTOR_WARN, 0, "tls", cfg->relay.host, "set "
			    "delivery.relay.tls to \"starttls\"", "the relay is "
			    "used without TLS: messages and the password cross "
			    "the network in clear");
		else
			probe_hop(d, &cfg->relay, ctx);
	}
	for (i = 0; i < cfg->nroutes; i++)
		if (cfg->routes[i].hop.tls == CONFIG_TLS_REQUIRED ||
		    cfg->routes[i].hop.tls == CONFIG_TLS_IMPLICIT)
			probe_hop(d, &cfg->routes[i].hop, ctx);
	tls_ctx_free(ctx);
}

/* ------------------------------------------------------------ the run */

static void
add_ip(struct doc *d, const char *ip)
{
	size_t i;

	for (i = 0; i < d->nips; i++)
		if (strcmp(d->ips[i], ip) == 0)
			return;
	if (d->nips < DOCTOR_IPS_MAX)
		snprintf(d->ips[d->nips++], sizeof(d->ips[0]), "%s", ip);
}

static void
relay_ips(struct doc *d)
{
	const char *host = d->cfg->relay.host;
	struct dns_result *r = xcalloc(1, sizeof(*r));
	char ip[INET6_ADDRSTRLEN], why[LIMIT_DNS_REASON] = "";
	struct err e;
	size_t i;

	r->status = DNS_TEMP;
	if (inet_pton(AF_INET, host, ip) == 1 ||
	    inet_pton(AF_INET6, host, ip) == 1)
		add_ip(d, host);
	else if (dns_resolve_host(d->dns, host, mx_copy, r, &e) < 0 ||
	    dns_run(d->dns, 0, &e) < 0)
		snprintf(why, sizeof(why), "%.200s", e.msg);
	for (i = 0; r->status == DNS_OK && i < r->hosts[0].naddrs; i++) {
		const struct sockaddr *sa = (const void *)&r->hosts[0].addrs[i].sa;

		inet_ntop(sa->sa_family, sa->sa_family == AF_INET ?
		    (const void *)&((const struct sockaddr_in *)(const void *)
		    sa)->sin_addr : (const void *)&((const struct sockaddr_in6
		    *)(const void *)sa)->sin6_addr, ip, sizeof(ip));
		add_ip(d, ip);
	}
	if (d->nips == 0)
		say(d, DOCTOR_FAIL, r->status == DNS_TEMP, "config", host,
		    "check delivery.relay.host", "the relay's addresses: %s",
		    why[0] ? why : r->reason);
	free(r);
}

static int
sending_ips(struct doc *d, struct err *e)
{
	const struct config *cfg = d->cfg;
	unsigned char b[16];
	size_t i;

	for (i = 0; i < d->o->nips; i++) {
		if (inet_pton(AF_INET, d->o->ips[i], b) != 1 &&
		    inet_pton(AF_INET6, d->o->ips[i], b) != 1)
			return err_set(e, EX_USAGE, "--ip %s: not an IPv4 or "
			    "IPv6 address", d->o->ips[i]);
		add_ip(d, d->o->ips[i]);
	}
	if (d->nips == 0 && cfg->mode == CONFIG_MODE_RELAY &&
	    cfg->relay.host != NULL)
		relay_ips(d);
	else if (d->nips == 0 && cfg->source_address != NULL)
		add_ip(d, cfg->source_address);
	else if (d->nips == 0)
		say(d, DOCTOR_WARN, 0, "config", "delivery.source_address",
		    "set delivery.source_address, or pass --ip ADDRESS",
		    "no sending address is known: SPF and reverse DNS cannot "
		    "be checked for it");
	return 0;
}

/* The domains to check, lower-case A-labels, each once. */
static int
domains(struct doc *d, char (*out)[DOC_NAME], int max, struct err *e)
{
	int n = 0, i, j;

	if (d->o->domain != NULL) {
		if (addr_domain(d->o->domain, strlen(d->o->domain), out[0],
		    DOC_NAME, e) < 0) {
			err_prefix(e, "domain \"%.80s\"", d->o->domain);
			e->code = EX_USAGE;
			return -1;
		}
		return 1;
	}
	for (i = 0; i < d->cfg->ndkim && n < max; i++) {
		for (j = 0; j < n; j++)
			if (strcasecmp(out[j], d->cfg->dkim[i].domain) == 0)
				break;
		if (j == n)
			snprintf(out[n++], DOC_NAME, "%s",
			    d->cfg->dkim[i].domain);
	}
	if (n == 0)
		return err_set(e, EX_USAGE, "no domain to check: name one "
		    "(postbote doctor example.com) or configure DKIM keys");
	return n;
}

static void
check_domain(struct doc *d, const char *dom, int first)
{
	const char *env = d->cfg->return_path_domain != NULL ?
	    d->cfg->return_path_domain : dom;

	/* The envelope domain is checked once when it is shared. */
	if (first || d->cfg->return_path_domain == NULL)
		check_spf(d, env);
	check_dkim(d, dom);
	check_dmarc(d, dom, env);
	if (first || d->cfg->return_path_domain == NULL)
		check_mx(d, env);
}

static int
doc_open(struct doc *d, const struct doctor_opts *o, struct err *e)
{
	struct dns_config dc;

	memset(&dc, 0, sizeof(dc));
	dc.servers = o->cfg->dns_servers;
	dc.timeout_ms = o->dns_timeout_ms;
	if (dns_new(&dc, &d->dns, e) < 0)
		return -1;
	if (o->cfg->hostname != NULL)
		snprintf(d->helo, sizeof(d->helo), "%s", o->cfg->hostname);
	else if (gethostname(d->helo, sizeof(d->helo)) < 0 ||
	    d->helo[0] == '\0')
		snprintf(d->helo, sizeof(d->helo), "localhost");
	d->helo[sizeof(d->helo) - 1] = '\0';
	return 0;
}

int
doctor_run(const struct doctor_opts *o, doctor_cb cb, void *ctx,
    struct doctor_summary *sum, struct err *e)
{
	struct doc *d = xcalloc(1, sizeof(*d));
	char (*doms)[DOC_NAME] = xcalloc(64, DOC_NAME);
	int n, i, rc = -1;
	size_t k;

	memset(sum, 0, sizeof(*sum));
	d->o = o;
	d->cfg = o->cfg;
	d->cb = cb;
	d->ctx = ctx;
	d->sum = sum;
	if ((n = domains(d, doms, 64, e)) < 0 || doc_open(d, o, e) < 0)
		goto out;
	signal(SIGPIPE, SIG_IGN);	/* tls.h: OpenSSL writes with write(2) */
	if (sending_ips(d, e) < 0)
		goto out;
	if (d->cfg->return_path_domain == NULL)
		say(d, DOCTOR_WARN, 0, "config", "bounces.return_path_domain",
		    "set bounces.return_path_domain to a domain whose MX "
		    "feeds postbote bounce ingest", "not set: the envelope "
		    "sender is the From address, so bounces go to its mailbox");
	for (i = 0; i < n; i++)
		check_domain(d, doms[i], i == 0);
	for (k = 0; d->cfg->mode == CONFIG_MODE_MX && k < d->nips; k++)
		check_fcrdns(d, d->ips[k]);
	if (!o->no_tls)
		check_tls(d);
	rc = 0;
out:
	cache_clear(d);
	dns_free(d->dns);
	free(doms);
	free(d);
	return rc;
}
