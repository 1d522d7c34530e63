/*
 * hygiene.c - list hygiene checks; see hygiene.h.
 *
 * Two passes. The domain pass reads the distinct domains a page at a
 * time, checks each against the typo table and the disposable list, and
 * keeps up to dns_concurrency MX resolutions in flight on one c-ares
 * channel (a page is fetched only when the queue has room, so the
 * resolver is never idle while domains are left); the findings stay in a
 * hash table by domain. The recipient pass reads recipients a page at a
 * time, classifies each from its address, its domain's entry and (only
 * when it has any events) its history, streams the flagged ones to the
 * caller and, with --apply, writes that page's suppressions in one short
 * transaction.
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "addr.h"
#include "dns.h"
#include "hygiene.h"
#include "store.h"
#include "xalloc.h"

/* ------------------------------------------------------------ categories */

static const struct {
	const char *name;
	const char *title;
} hyg_cats[HYG_NCAT] = {
	[HYG_INVALID_SYNTAX] = { "invalid_syntax", "not a valid address" },
	[HYG_NO_MX] = { "no_mx", "domain has neither MX nor A/AAAA" },
	[HYG_NULL_MX] = { "null_mx", "domain takes no mail (null MX)" },
	[HYG_DNS_FAILURE] = { "dns_failure",
	    "DNS look-up failed: check again later" },
	[HYG_ROLE] = { "role", "role account (info@, admin@, noreply@ ...)" },
	[HYG_DISPOSABLE] = { "disposable", "disposable mail domain" },
	[HYG_TYPO] = { "typo", "likely typo of a big provider's domain" },
	[HYG_DUPLICATE] = { "duplicate",
	    "same mailbox as an earlier recipient" },
	[HYG_HARD_BOUNCED] = { "hard_bounced", "hard-bounced" },
	[HYG_SOFT_BOUNCED] = { "soft_bounced",
	    "soft-bounced in several campaigns" },
	[HYG_COMPLAINED] = { "complained", "complained (spam report)" },
	[HYG_UNSUBSCRIBED] = { "unsubscribed", "unsubscribed" },
	[HYG_INACTIVE] = { "inactive", "no human open or click lately" },
};

const char *
hygiene_cat_name(enum hygiene_cat c)
{
	return c < HYG_NCAT ? hyg_cats[c].name : "?";
}

const char *
hygiene_cat_title(enum hygiene_cat c)
{
	return c < HYG_NCAT ? hyg_cats[c].title : "?";
}

static int
cat_one(const char *s, size_t n, unsigned *mask)
{
	int c;

	if (n == 3 && strncmp(s, "all", 3) == 0) {
		*mask |= HYG_ALL;
		return 0;
	}
	for (c = 0; c < HYG_NCAT; c++)
		if (strlen(hyg_cats[c].name) == n &&
		    strncmp(hyg_cats[c].name, s, n) == 0) {
			*mask |= HYG_BIT(c);
			return 0;
		}
	return -1;
}

int
hygiene_cats_parse(const char *s, int for_apply, unsigned *mask,
    struct err *e)
{
	const char *p = s, *comma;
	size_t n;

	*mask = 0;
	for (;;) {
		comma = strchr(p, ',');
		n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (n == 0 || cat_one(p, n, mask) < 0)
			return err_set(e, EX_USAGE, "unknown hygiene category "
			    "\"%.*s\" (one of invalid_syntax, no_mx, null_mx, "
			    "dns_failure, role, disposable, typo, duplicate, "
			    "hard_bounced, soft_bounced, complained, "
			    "unsubscribed, inactive, all)", (int)(n > 64 ? 64 :
			    n), p);
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	if (for_apply && (*mask & HYG_BIT(HYG_DNS_FAILURE)) &&
	    strstr(s, "dns_failure") != NULL)
		return err_set(e, EX_USAGE, "dns_failure is never applied: a "
		    "failed look-up says nothing about the address; run "
		    "hygiene again later");
	if (for_apply && (*mask & HYG_BIT(HYG_UNSUBSCRIBED)) &&
	    strstr(s, "unsubscribed") != NULL)
		return err_set(e, EX_USAGE, "unsubscribed is never applied: "
		    "those addresses are suppressed where they asked to be, "
		    "and a wider suppression would go beyond what they asked");
	if (for_apply)	/* "all" */
		*mask &= ~(HYG_BIT(HYG_DNS_FAILURE) |
		    HYG_BIT(HYG_UNSUBSCRIBED));
	return 0;
}

/* ------------------------------------------------------------- role names */

/* Compared without '.', '-' and '_', in lower case, +tag cut off. */
static const char *const hyg_roles[] = {
	"abuse", "accounting", "accounts", "admin", "administrator",
	"billing", "bookings", "buchhaltung", "careers", "compliance",
	"contact", "customerservice", "devnull", "dns", "donotreply",
	"enquiries", "feedback", "finance", "ftp", "hello", "help",
	"helpdesk", "hostmaster", "hr", "info", "information", "inquiries",
	"it", "jobs", "kontakt", "legal", "list", "listrequest", "mail",
	"mailerdaemon", "marketing", "media", "news", "newsletter", "noc",
	"noreply", "noresponse", "null", "office", "orders", "postmaster",
	"press", "privacy", "rechnung", "reception", "root", "sales",
	"security", "service", "shop", "spam", "support", "sysadmin",
	"team", "usenet", "uucp", "verkauf", "vertrieb", "webmaster",
	"welcome", "www",
};

int
hygiene_role(const char *local)
{
	char k[LIMIT_ADDR_LOCAL + 1];
	size_t i, n = 0;

	for (i = 0; local[i] != '\0' && local[i] != '+' && local[i] != '@';
	    i++) {
		if (strchr(".-_\"", local[i]) != NULL)
			continue;
		if (n + 1 >= sizeof(k))
			return 0;
		k[n++] = (char)tolower((unsigned char)local[i]);
	}
	k[n] = '\0';
	for (i = 0; i < sizeof(hyg_roles) / sizeof(hyg_roles[0]); i++)
		if (strcmp(k, hyg_roles[i]) == 0)
			return 1;
	return 0;
}

/* ----------------------------------------------------------------- typos */

/*
 * Targets, in the order ties are broken, with how far the part before
 * the TLD may be from the provider's: 0 for short names, where one
 * letter off is usually another real domain (gmx, web, me, aol, live).
 */
static const struct {
	const char *domain;
	int name_dist;
} hyg_providers[] = {
	{ "gmail.com", 1 }, { "googlemail.com", 2 }, { "yahoo.com", 1 },
	{ "yahoo.de", 1 }, { "hotmail.com", 1 }, { "hotmail.de", 1 },
	{ "outlook.com", 1 }, { "outlook.de", 1 }, { "live.com", 0 },
	{ "icloud.com", 1 }, { "me.com", 0 }, { "aol.com", 0 },
	{ "gmx.de", 0 }, { "gmx.net", 0 }, { "gmx.at", 0 }, { "gmx.ch", 0 },
	{ "web.de", 0 }, { "t-online.de", 1 }, { "freenet.de", 1 },
	{ "posteo.de", 1 }, { "mailbox.org", 1 }, { "protonmail.com", 2 },
	{ "proton.me", 1 }, { "arcor.de", 0 }, { "msn.com", 0 },
	{ "ymail.com", 0 },
};

/* Real domains near the targets: never a typo. */
static const char *const hyg_real[] = {
	"gmx.com", "gmx.us", "gmx.fr", "gmx.li", "gmx.info", "mail.com",
	"mail.de", "email.de", "online.de", "yahoo.co.uk", "yahoo.fr",
	"yahoo.it", "yahoo.es", "yahoo.dk", "yahoo.se", "yahoo.at",
	"hotmail.co.uk", "hotmail.fr", "hotmail.it", "hotmail.es",
	"hotmail.be", "hotmail.nl", "outlook.fr", "outlook.at", "outlook.es",
	"outlook.it", "live.de", "live.at", "live.fr", "live.nl", "live.be",
	"live.co.uk", "live.it", "aol.de", "aol.fr", "mac.com", "me.de",
	"web.com", "rocketmail.com", "googlemail.de", "protonmail.ch",
	"pm.me", "gmail.de", "email.com", "hotmail.se", "hotmail.dk",
	"hotmail.no", "hotmail.ch", "hotmail.ca", "outlook.dk", "outlook.ie",
	"outlook.be", "outlook.sa", "outlook.com.au", "yahoo.ie",
	"yahoo.be", "yahoo.ca", "yahoo.in", "yahoo.gr", "yahoo.ro",
	"cloud.com", "posteo.net", "posteo.at", "posteo.ch", "posteo.be",
	"gmx.it", "gmx.pt", "gmx.ca", "gmx.es", "live.ca", "live.dk",
	"live.se", "live.no",
};

/* Optimal string alignment: a transposition costs one, as typing
   "gmial" for "gmail" does. Strings past 63 octets are simply far. */
int
hygiene_distance(const char *a, const char *b, int max)
{
	int d[64][64], i, j, la = (int)strlen(a), lb = (int)strlen(b), v, row;

	if (la > 63 || lb > 63)
		return max + 1;
	if (la - lb > max || lb - la > max)
		return max + 1;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		row = max + 1;
		for (j = 1; j <= lb; j++) {
			v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
			if (v < row)
				row = v;
		}
		if (row > max)
			return max + 1;
	}
	return d[la][lb] > max ? max + 1 : d[la][lb];
}

static int
is_provider_or_real(const char *domain)
{
	size_t i;

	for (i = 0; i < sizeof(hyg_providers) / sizeof(hyg_providers[0]); i++)
		if (strcmp(domain, hyg_providers[i].domain) == 0)
			return 1;
	for (i = 0; i < sizeof(hyg_real) / sizeof(hyg_real[0]); i++)
		if (strcmp(domain, hyg_real[i]) == 0)
			return 1;
	return 0;
}

/* name and TLD of a domain: "t-online" and "de". */
static int
split_tld(const char *domain, char *name, size_t n, const char **tld)
{
	const char *dot = strrchr(domain, '.');

	if (dot == NULL || dot == domain || (size_t)(dot - domain) >= n)
		return -1;
	memcpy(name, domain, (size_t)(dot - domain));
	name[dot - domain] = '\0';
	*tld = dot + 1;
	return 0;
}

/*
 * The name may be name_dist off and the TLD one off, two in all and at
 * least one: gmial.com, gmail.con, gmx.dee, hotmial.de.
 */
int
hygiene_typo(const char *domain, char *suggest, size_t n)
{
	char dn[64], pn[64];
	const char *dt, *pt;
	int best = 3, nd, td;
	size_t i, pick = 0;

	if (is_provider_or_real(domain) ||
	    split_tld(domain, dn, sizeof(dn), &dt) < 0)
		return 0;
	for (i = 0; i < sizeof(hyg_providers) / sizeof(hyg_providers[0]);
	    i++) {
		if (split_tld(hyg_providers[i].domain, pn, sizeof(pn), &pt) < 0)
			continue;
		nd = hygiene_distance(dn, pn, hyg_providers[i].name_dist);
		td = hygiene_distance(dt, pt, 1);
		if (nd > hyg_providers[i].name_dist || td > 1 ||
		    nd + td > 2 || nd + td >= best)
			continue;
		best = nd + td;
		pick = i;
	}
	if (best > 2)
		return 0;
	snprintf(suggest, n, "%s", hyg_providers[pick].domain);
	return 1;
}

/* ---------------------------------------------------------- normalisation */

void
hygiene_norm(const char *address, char *out, size_t n)
{
	struct addr a;
	struct err e;
	char local[sizeof(a.key)];
	const char *at;
	size_t i, k = 0;

	if (addr_parse(address, strlen(address), &a, &e) < 0) {
		for (i = 0; address[i] != '\0' && i + 1 < n; i++)
			out[i] = (char)tolower((unsigned char)address[i]);
		out[i] = '\0';
		return;
	}
	at = strrchr(a.key, '@');
	if (strcmp(a.domain, "gmail.com") != 0 &&
	    strcmp(a.domain, "googlemail.com") != 0) {
		snprintf(out, n, "%s", a.key);
		return;
	}
	/* Gmail ignores dots and everything from '+' in the local part. */
	for (i = 0; a.key + i < at && a.key[i] != '+'; i++)
		if (a.key[i] != '.')
			local[k++] = a.key[i];
	local[k] = '\0';
	snprintf(out, n, "%s@gmail.com", local);
}

/* ------------------------------------------------------------ hash table */

/* A domain's findings; also the entries of a struct hygiene_set. */
struct hyg_dom {
	char *name;
	unsigned cats;
	char *suggest;		/* typo */
	char *reason;		/* a DNS category's why */
};

struct hygiene_set {
	struct hyg_dom **slot;
	size_t cap, n;
};

static uint64_t
fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static struct hyg_dom *
htab_get(const struct hygiene_set *t, const char *name)
{
	size_t i;

	if (t->cap == 0)
		return NULL;
	for (i = fnv1a(name) & (t->cap - 1); t->slot[i] != NULL;
	    i = (i + 1) & (t->cap - 1))
		if (strcmp(t->slot[i]->name, name) == 0)
			return t->slot[i];
	return NULL;
}

static void
htab_put(struct hygiene_set *t, struct hyg_dom *d)
{
	size_t i;

	for (i = fnv1a(d->name) & (t->cap - 1); t->slot[i] != NULL;
	    i = (i + 1) & (t->cap - 1))
		;
	t->slot[i] = d;
}

/* The entry for name, added when missing; *added tells. */
static struct hyg_dom *
htab_add(struct hygiene_set *t, const char *name, int *added)
{
	struct hyg_dom **old = t->slot, *d;
	size_t i, oldcap = t->cap;

	*added = 0;
	if ((d = htab_get(t, name)) != NULL)
		return d;
	if (2 * (t->n + 1) > t->cap) {	/* at most half full */
		t->cap = t->cap ? t->cap * 2 : 1024;
		t->slot = xcalloc(t->cap, sizeof(*t->slot));
		for (i = 0; i < oldcap; i++)
			if (old[i] != NULL)
				htab_put(t, old[i]);
		free(old);
	}
	d = xcalloc(1, sizeof(*d));
	d->name = xstrdup(name);
	htab_put(t, d);
	t->n++;
	*added = 1;
	return d;
}

static void
htab_clear(struct hygiene_set *t)
{
	size_t i;

	for (i = 0; i < t->cap; i++) {
		if (t->slot[i] == NULL)
			continue;
		free(t->slot[i]->name);
		free(t->slot[i]->suggest);
		free(t->slot[i]->reason);
		free(t->slot[i]);
	}
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

void
hygiene_set_free(struct hygiene_set *s)
{
	if (s == NULL)
		return;
	htab_clear(s);
	free(s);
}

size_t
hygiene_set_size(const struct hygiene_set *s)
{
	return s != NULL ? s->n : 0;
}

int
hygiene_set_match(const struct hygiene_set *s, const char *domain)
{
	const char *p = domain;

	if (s == NULL)
		return 0;
	/* The domain, then each parent with at least two labels. */
	while (p != NULL && strchr(p, '.') != NULL) {
		if (htab_get(s, p) != NULL)
			return 1;
		p = strchr(p, '.');
		if (p != NULL)
			p++;
	}
	return 0;
}

static int
set_line(struct hygiene_set *s, const char *line, size_t len,
    const char *name, size_t lineno, struct err *e)
{
	char dom[LIMIT_ADDR_DOMAIN + 1];
	const char *hash = memchr(line, '#', len);
	int added;

	if (hash != NULL)
		len = (size_t)(hash - line);
	while (len > 0 && isspace((unsigned char)*line)) {
		line++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)line[len - 1]))
		len--;
	if (len == 0)
		return 0;
	if (addr_domain(line, len, dom, sizeof(dom), e) < 0) {
		err_prefix(e, "%s:%zu", name, lineno);
		return -1;
	}
	(void)htab_add(s, dom, &added);
	return 0;
}

int
hygiene_set_parse(const char *text, size_t len, const char *name,
    struct hygiene_set **out, struct err *e)
{
	struct hygiene_set *s = xcalloc(1, sizeof(*s));
	size_t i = 0, start, lineno = 0;

	*out = NULL;
	while (i < len) {
		start = i;
		while (i < len && text[i] != '\n')
			i++;
		if (set_line(s, text + start, i - start, name, ++lineno,
		    e) < 0) {
			hygiene_set_free(s);
			return -1;
		}
		i++;
	}
	*out = s;
	return 0;
}

int
hygiene_set_load(const char *path, struct hygiene_set **out, struct err *e)
{
	FILE *fp;
	struct stat sb;
	char *text = NULL;
	size_t n;
	int rc = -1;

	*out = NULL;
	if ((fp = fopen(path, "rb")) == NULL)
		return err_set(e, errno == ENOENT ? EX_NOINPUT : EX_IOERR,
		    "%s: %s", path, strerror(errno));
	if (fstat(fileno(fp), &sb) != 0 || sb.st_size > HYGIENE_DISPOSABLE_MAX) {
		err_set(e, EX_DATAERR, "%s: larger than %d bytes", path,
		    HYGIENE_DISPOSABLE_MAX);
		goto out;
	}
	text = xmalloc((size_t)sb.st_size + 1);
	n = fread(text, 1, (size_t)sb.st_size, fp);
	if (ferror(fp)) {
		err_set(e, EX_IOERR, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = hygiene_set_parse(text, n, path, out, e);
out:
	free(text);
	fclose(fp);
	return rc;
}

/* ------------------------------------------------------------ domain pass */

struct hyg_row {
	int64_t id;
	char *address, *key, *domain, *lists;
	int has_events, unsub_suppressed, suppressed;
	unsigned cats;
};

struct hyg_run {
	struct store *st;
	struct store_hyg *h;
	const struct hygiene_opts *o;
	struct hygiene_set doms;
	struct dns *dns;
	struct hyg_dom *dpage[HYGIENE_DOMAIN_PAGE];
	size_t dn, dnext;
	char dcursor[LIMIT_ADDR_DOMAIN * 4 + 1];
	struct hyg_row page[HYGIENE_PAGE];
	int npage;
	int64_t puts;		/* identities remembered for duplicates */
	hygiene_cb cb;
	void *ctx;
	struct hygiene_summary *sum;
	struct err *e;
};

/* Checks that need no DNS, once per domain. */
static int
domain_keep(const char *name, void *ctx)
{
	struct hyg_run *r = ctx;
	struct hyg_dom *d;
	char sug[LIMIT_ADDR_DOMAIN + 1];
	int added;

	snprintf(r->dcursor, sizeof(r->dcursor), "%s", name);
	d = htab_add(&r->doms, name, &added);
	if (!added)
		return 0;
	r->sum->domains++;
	if (hygiene_set_match(r->o->disposable, name))
		d->cats |= HYG_BIT(HYG_DISPOSABLE);
	if (hygiene_typo(name, sug, sizeof(sug))) {
		d->cats |= HYG_BIT(HYG_TYPO);
		d->suggest = xstrdup(sug);
	}
	r->dpage[r->dn++] = d;
	return 0;
}

static void
domain_resolved(void *ctx, const struct dns_result *res)
{
	struct hyg_dom *d = ctx;

	/* A domain that takes mail is somebody's real domain, however
	   close to a provider's it is spelled: never suppress it as a
	   typo. Without DNS (--no-dns) the table above is all there is. */
	if (res->status == DNS_OK) {
		d->cats &= ~HYG_BIT(HYG_TYPO);
		return;
	}
	if (res->status == DNS_TEMP)
		d->cats |= HYG_BIT(HYG_DNS_FAILURE);
	else if (res->null_mx)
		d->cats |= HYG_BIT(HYG_NULL_MX);
	else
		d->cats |= HYG_BIT(HYG_NO_MX);
	free(d->reason);
	d->reason = xstrdup(res->reason);
}

static int
dns_wait(struct hyg_run *r)
{
	struct dns_fd f[16];
	struct pollfd p[16];
	size_t n, i;
	int rc, wait;

	n = dns_fds(r->dns, f, 16);
	for (i = 0; i < n; i++) {
		p[i].fd = f[i].fd;
		p[i].events = (short)((f[i].read ? POLLIN : 0) |
		    (f[i].write ? POLLOUT : 0));
		p[i].revents = 0;
	}
	wait = dns_timeout_ms(r->dns);
	rc = poll(p, n, wait < 0 ? 1000 : wait);
	if (rc < 0 && errno != EINTR)
		return err_set(r->e, EX_OSERR, "DNS: poll: %s",
		    strerror(errno));
	if (rc == 0)
		dns_process_timeout(r->dns);
	for (i = 0; rc > 0 && i < n; i++)
		if (p[i].revents != 0)
			dns_process(r->dns, p[i].revents & (POLLIN | POLLERR |
			    POLLHUP) ? p[i].fd : -1, p[i].revents & POLLOUT ?
			    p[i].fd : -1);
	return 0;
}

static void
domain_start(struct hyg_run *r, struct hyg_dom *d)
{
	struct err e;

	/* A name that is no A-label (a row put in by hand) is not looked
	   up; its address fails the syntax check. */
	if (dns_resolve_mx(r->dns, d->name, domain_resolved, d, &e) == 0)
		r->sum->resolved++;
}

static int
domain_pass(struct hyg_run *r)
{
	size_t conc = (size_t)(r->o->dns_concurrency > 0 ?
	    r->o->dns_concurrency : 256);
	int more = 1, n;

	if (conc > HYGIENE_DNS_MAX)
		conc = HYGIENE_DNS_MAX;
	for (;;) {
		while (r->dnext < r->dn && (r->dns == NULL ||
		    dns_pending(r->dns) < conc)) {
			if (r->dns != NULL)
				domain_start(r, r->dpage[r->dnext]);
			r->dnext++;
		}
		if (r->dnext == r->dn && more) {
			r->dn = r->dnext = 0;
			if (store_hyg_domains(r->h, r->dcursor,
			    HYGIENE_DOMAIN_PAGE, domain_keep, r, &n, r->e) < 0)
				return -1;
			more = n == HYGIENE_DOMAIN_PAGE;
			continue;
		}
		if (r->dns == NULL || dns_pending(r->dns) == 0)
			return 0;
		if (dns_wait(r) < 0)
			return -1;
	}
}

/* --------------------------------------------------------- recipient pass */

static int
page_keep(const struct store_hyg_row *s, void *ctx)
{
	struct hyg_run *r = ctx;
	struct hyg_row *p = &r->page[r->npage++];

	p->id = s->id;
	p->address = xstrdup(s->address);
	p->key = xstrdup(s->address_key);
	p->domain = xstrdup(s->domain);
	p->lists = xstrdup(s->lists);
	p->has_events = s->has_events;
	p->unsub_suppressed = s->unsub_suppressed;
	p->suppressed = s->suppressed;
	p->cats = 0;
	return 0;
}

static void
page_clear(struct hyg_run *r)
{
	int i;

	for (i = 0; i < r->npage; i++) {
		free(r->page[i].address);
		free(r->page[i].key);
		free(r->page[i].domain);
		free(r->page[i].lists);
	}
	r->npage = 0;
}

/*
 * The first recipient by id with an identity is kept; a later one is a
 * duplicate of it. Identities that differ from the store's key (Gmail
 * dots and tags, a row stored unnormalised) are remembered in the run's
 * TEMP table with the address kept for them; a recipient whose key is
 * its identity needs only to look there.
 */
static int
check_duplicate(struct hyg_run *r, const struct hyg_row *p, char *dup,
    size_t n)
{
	char norm[LIMIT_ADDR * 2 + 1];
	int64_t id;

	dup[0] = '\0';
	hygiene_norm(p->address, norm, sizeof(norm));
	if (strcmp(norm, p->key) == 0) {
		if (r->puts == 0)
			return 0;
		if (store_hyg_dup_get(r->h, norm, &id, dup, n, r->e) < 0)
			return -1;
		if (id == p->id)
			dup[0] = '\0';
		return 0;
	}
	if (store_hyg_dup_get(r->h, norm, &id, dup, n, r->e) < 0)
		return -1;
	if (id != 0)
		return 0;
	if (store_hyg_key_before(r->h, norm, p->id, &id, dup, n, r->e) < 0)
		return -1;
	r->puts++;
	return store_hyg_dup_put(r->h, norm, id ? id : p->id, id ? dup :
	    p->address, r->e);
}

static unsigned
history_cats(const struct hyg_run *r, const struct store_hyg_history *h)
{
	const struct hygiene_opts *o = r->o;
	int nc = o->inactive_campaigns > 0 ? o->inactive_campaigns : 5;
	int days = o->inactive_days > 0 ? o->inactive_days : 180;
	int soft = o->soft_bounce_campaigns > 0 ? o->soft_bounce_campaigns : 3;
	int64_t now = o->now_ms ? o->now_ms : store_now_ms();
	int64_t window = now - (int64_t)days * 86400000;
	unsigned c = 0;

	if (h->hard)
		c |= HYG_BIT(HYG_HARD_BOUNCED);
	if (h->soft_campaigns >= soft)
		c |= HYG_BIT(HYG_SOFT_BOUNCED);
	if (h->complained)
		c |= HYG_BIT(HYG_COMPLAINED);
	if (h->unsubscribed)
		c |= HYG_BIT(HYG_UNSUBSCRIBED);
	/* The last nc campaigns delivered, none opened or clicked by a
	   person; or mail for the whole window (the first delivery before
	   it, one inside it) and no human open or click inside it. */
	if (h->delivered_campaigns >= nc && !h->engaged_recent)
		c |= HYG_BIT(HYG_INACTIVE);
	if (h->first_delivered > 0 && h->first_delivered <= window &&
	    h->last_delivered > window && h->last_human <= window)
		c |= HYG_BIT(HYG_INACTIVE);
	return c;
}

/* Not a name for any host: one label, or a TLD all digits. */
static int
domain_syntax_ok(const char *domain)
{
	const char *tld = strrchr(domain, '.');
	size_t i;

	if (tld == NULL || tld[1] == '\0')
		return 0;
	for (i = 1; tld[i] != '\0'; i++)
		if (!isdigit((unsigned char)tld[i]))
			return 1;
	return 0;
}

static void
count(struct hyg_run *r, const struct hyg_row *p)
{
	struct hygiene_summary *s = r->sum;
	int c;

	if (p->cats == 0)
		return;
	s->flagged++;
	for (c = 0; c < HYG_NCAT; c++) {
		if (!(p->cats & HYG_BIT(c)))
			continue;
		if (s->count[c] < HYGIENE_EXAMPLES)
			snprintf(s->example[c][s->count[c]],
			    sizeof(s->example[c][0]), "%s", p->address);
		s->count[c]++;
	}
}

static int
classify(struct hyg_run *r, struct hyg_row *p)
{
	struct store_hyg_history hist;
	struct hygiene_rec rec;
	struct hyg_dom *d;
	struct addr a;
	struct err pe;
	char dup[LIMIT_ADDR * 2 + 1];
	int parsed;

	parsed = addr_parse(p->address, strlen(p->address), &a, &pe) == 0;
	if (!parsed || !domain_syntax_ok(a.domain))
		p->cats |= HYG_BIT(HYG_INVALID_SYNTAX);
	if ((d = htab_get(&r->doms, p->domain)) != NULL)
		p->cats |= d->cats;
	if (hygiene_role(parsed ? a.local : p->address))
		p->cats |= HYG_BIT(HYG_ROLE);
	if (check_duplicate(r, p, dup, sizeof(dup)) < 0)
		return -1;
	if (dup[0] != '\0')
		p->cats |= HYG_BIT(HYG_DUPLICATE);
	if (p->unsub_suppressed)
		p->cats |= HYG_BIT(HYG_UNSUBSCRIBED);
	if (p->has_events) {
		if (store_hyg_history(r->h, p->id, p->domain, &hist,
		    r->e) < 0)
			return -1;
		p->cats |= history_cats(r, &hist);
	}
	r->sum->recipients++;
	count(r, p);
	if (p->cats == 0 || r->cb == NULL)
		return 0;
	memset(&rec, 0, sizeof(rec));
	rec.id = p->id;
	rec.address = p->address;
	rec.lists = p->lists;
	rec.cats = p->cats;
	rec.suggestion = d != NULL && (p->cats & HYG_BIT(HYG_TYPO)) ?
	    d->suggest : NULL;
	rec.duplicate_of = dup[0] != '\0' ? dup : NULL;
	rec.dns_reason = d != NULL ? d->reason : NULL;
	if (r->cb(&rec, r->ctx) != 0)
		return err_set(r->e, EX_IOERR, "writing the report failed");
	return 0;
}

static void
reason_of(unsigned cats, char *out, size_t n)
{
	size_t len;
	int c;

	snprintf(out, n, "hygiene:");
	for (c = 0; c < HYG_NCAT; c++)
		if (cats & HYG_BIT(c)) {
			len = strlen(out);
			snprintf(out + len, n - len, "%s %s", out[len - 1] ==
			    ':' ? "" : ",", hygiene_cat_name(c));
		}
}

/* One transaction per page: a sender waits at most that long. */
static int
apply_page(struct hyg_run *r)
{
	const struct hygiene_opts *o = r->o;
	char reason[512];
	unsigned cats;
	int i, c, added;

	if (!o->dry_run && store_begin(r->st, r->e) < 0)
		return -1;
	for (i = 0; i < r->npage; i++) {
		if ((cats = r->page[i].cats & o->apply) == 0)
			continue;
		reason_of(cats, reason, sizeof(reason));
		if (o->dry_run)
			added = !r->page[i].suppressed;
		else if (store_hyg_suppress(r->h, r->page[i].key, reason,
		    &added, r->e) < 0) {
			store_rollback(r->st);
			return -1;
		}
		for (c = 0; c < HYG_NCAT; c++)
			if (cats & HYG_BIT(c))
				(added ? r->sum->applied_new :
				    r->sum->applied_already)[c]++;
		if (added)
			r->sum->suppressed++;
		else
			r->sum->already++;
	}
	return o->dry_run ? 0 : store_commit(r->st, r->e);
}

static int
recipient_pass(struct hyg_run *r)
{
	int64_t after = 0;
	int n, i;

	do {
		if (store_hyg_page(r->h, after, HYGIENE_PAGE, page_keep, r, &n,
		    r->e) < 0)
			return -1;
		for (i = 0; i < r->npage; i++)
			if (classify(r, &r->page[i]) < 0)
				return -1;
		if (r->npage > 0)
			after = r->page[r->npage - 1].id;
		if (r->o->apply && apply_page(r) < 0)
			return -1;
		page_clear(r);
	} while (n == HYGIENE_PAGE);
	return 0;
}

int
hygiene_run(struct store *st, const struct hygiene_opts *o, hygiene_cb cb,
    void *ctx, struct hygiene_summary *sum, struct err *e)
{
	struct dns_config dc;
	struct hyg_run *r = xcalloc(1, sizeof(*r));
	int rc = -1;

	memset(sum, 0, sizeof(*sum));
	r->st = st;
	r->o = o;
	r->cb = cb;
	r->ctx = ctx;
	r->sum = sum;
	r->e = e;
	if (store_hyg_open(st, o->list, o->inactive_campaigns > 0 ?
	    o->inactive_campaigns : 5, &r->h, e) < 0)
		goto out;
	if (!o->no_dns) {
		memset(&dc, 0, sizeof(dc));
		dc.servers = o->dns_servers;
		dc.timeout_ms = o->dns_timeout_ms;
		if (dns_new(&dc, &r->dns, e) < 0)
			goto out;
	}
	if (domain_pass(r) < 0 || recipient_pass(r) < 0)
		goto out;
	rc = 0;
out:
	page_clear(r);
	dns_free(r->dns);	/* runs what is left: DNS_TEMP */
	store_hyg_close(r->h);
	htab_clear(&r->doms);
	free(r);
	return rc;
}
