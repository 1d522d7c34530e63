/*
 * hygiene.h - list hygiene: what is wrong with each recipient, and the
 * suppressions that fix it.
 *
 * hygiene_run() walks the recipients (every one, or one list's members)
 * in pages of HYGIENE_PAGE by id, each page one short read statement, so
 * a send in another process is never held up. Before the walk it
 * collects the distinct domains, a page at a time, and resolves them
 * concurrently with c-ares (engine/dns.c, up to dns_concurrency look-ups
 * in flight); every domain's findings are cached in a hash table, so a
 * million recipients over fifty thousand domains cost fifty thousand
 * look-ups. Each recipient is then classified into zero or more
 * categories (a bitmask of enum hygiene_cat). Flagged recipients are
 * handed to a callback one at a time and never kept: memory grows with
 * the number of domains, not of recipients.
 *
 * Categories: see README.md "List hygiene" for what each one means.
 * dns_failure is reported, never applied: a resolver that failed says
 * nothing about the address.
 *
 * --apply: with apply set, each page's recipients flagged in one of the
 * applied categories get a global address suppression (source
 * "hygiene", reason "hygiene: CATEGORY[, CATEGORY...]") in one short
 * transaction per page; dry_run counts the same without writing.
 *
 * Ownership: strings in a struct hygiene_rec live until the callback
 * returns. Errors: 0 or -1 with struct err (store trouble as the store
 * reports it, EX_NOINPUT for an unknown list, EX_CONFIG for the resolver
 * settings, EX_NOINPUT/EX_IOERR for the disposable-domain file). Not
 * thread-safe: one thread owns a run.
 */
#ifndef POSTBOTE_HYGIENE_H
#define POSTBOTE_HYGIENE_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"
#include "limits.h"

struct store;

/* Recipients read per statement, and suppressions written per
   transaction. */
#define HYGIENE_PAGE		1000
/* Domains read per statement while they are collected. */
#define HYGIENE_DOMAIN_PAGE	1000
/* Look-ups in flight at most, whatever the config says. */
#define HYGIENE_DNS_MAX		4096
/* Example addresses kept per category for the summary. */
#define HYGIENE_EXAMPLES	3
/* A disposable-domain file, at most. */
#define HYGIENE_DISPOSABLE_MAX	(16 * 1024 * 1024)

enum hygiene_cat {
	HYG_INVALID_SYNTAX,
	HYG_NO_MX,
	HYG_NULL_MX,
	HYG_DNS_FAILURE,
	HYG_ROLE,
	HYG_DISPOSABLE,
	HYG_TYPO,
	HYG_DUPLICATE,
	HYG_HARD_BOUNCED,
	HYG_SOFT_BOUNCED,
	HYG_COMPLAINED,
	HYG_UNSUBSCRIBED,
	HYG_INACTIVE,
	HYG_NCAT
};

#define HYG_BIT(c)	(1u << (c))
#define HYG_ALL		(HYG_BIT(HYG_NCAT) - 1)

/* "invalid_syntax", "no_mx", ...: the names of the command line. */
const char *hygiene_cat_name(enum hygiene_cat c);
/* One line on what the category means, for help and reports. */
const char *hygiene_cat_title(enum hygiene_cat c);

/*
 * "no_mx,role" (or "all") into a mask. EX_USAGE naming an unknown
 * category. With for_apply, dns_failure (and "all" taking it in) is
 * refused: a failed look-up is no reason to drop anyone.
 */
int hygiene_cats_parse(const char *s, int for_apply, unsigned *mask,
    struct err *e) WUR;

/* ------------------------------------------------------------ pure parts */

/* A role account's local part: info, admin, noreply, ... (+tag ignored). */
int hygiene_role(const char *local);

/*
 * A likely misspelling of a big mailbox provider's domain (gmial.com,
 * hotmial.de, gmx.dee, gmail.con): 1 and the provider's domain in
 * suggest, else 0. A provider's own domain (or another real one we know,
 * such as gmx.net) is never a typo.
 */
int hygiene_typo(const char *domain, char *suggest, size_t n);

/* Optimal string alignment (Damerau-Levenshtein) distance, capped at
   max + 1. */
int hygiene_distance(const char *a, const char *b, int max);

/*
 * The identity duplicates are found on: the store's key (ASCII case
 * folded, the domain an A-label), and for gmail.com and googlemail.com
 * the local part without dots and +tag, the domain gmail.com (Gmail
 * delivers all of them to one mailbox). An address that does not parse
 * is folded to lower case as it is.
 */
void hygiene_norm(const char *address, char *out, size_t n);

/* A set of domains (the disposable-domain list). */
struct hygiene_set;

/*
 * One domain per line; '#' starts a comment, blank lines and surrounding
 * space are ignored, names are folded to lower case and IDNs made
 * A-labels. A line that is not a domain is an EX_DATAERR naming
 * file:line.
 */
int hygiene_set_load(const char *path, struct hygiene_set **out,
    struct err *e) WUR;
int hygiene_set_parse(const char *text, size_t len, const char *name,
    struct hygiene_set **out, struct err *e) WUR;
/* The domain or one of its parents is in the set. */
int hygiene_set_match(const struct hygiene_set *s, const char *domain);
size_t hygiene_set_size(const struct hygiene_set *s);
void hygiene_set_free(struct hygiene_set *s);

/* ----------------------------------------------------------------- a run */

struct hygiene_opts {
	const char *list;		/* NULL: every recipient */
	const struct hygiene_set *disposable;	/* NULL: no such check */
	int no_dns;			/* skip the DNS categories */
	const char *dns_servers;	/* NULL: the system's */
	int dns_timeout_ms;		/* per try; 0: dns.c's default */
	int dns_concurrency;		/* 0: 256 */
	int inactive_campaigns;		/* 0: 5 */
	int inactive_days;		/* 0: 180 */
	int soft_bounce_campaigns;	/* 0: 3 */
	int64_t now_ms;			/* 0: the clock */
	unsigned apply;			/* categories to suppress; 0: none */
	int dry_run;			/* count what apply would do */
};

struct hygiene_rec {
	int64_t id;
	const char *address;
	const char *lists;		/* "news;vip", "" for none */
	unsigned cats;
	const char *suggestion;		/* typo: the likely domain; or NULL */
	const char *duplicate_of;	/* duplicate: the address kept */
	const char *dns_reason;		/* no_mx, null_mx, dns_failure: why */
};

/* A non-zero return stops the run with EX_IOERR (output failed). */
typedef int (*hygiene_cb)(const struct hygiene_rec *r, void *ctx);

struct hygiene_summary {
	int64_t recipients;		/* checked */
	int64_t flagged;		/* in at least one category */
	int64_t domains;		/* distinct domains */
	int64_t resolved;		/* ... looked up */
	int64_t count[HYG_NCAT];
	char example[HYG_NCAT][HYGIENE_EXAMPLES][LIMIT_ADDR * 2 + 1];
	/* --apply, per applied category (a recipient in two counts in
	   both); suppressed and already count recipients once. */
	int64_t applied_new[HYG_NCAT];
	int64_t applied_already[HYG_NCAT];
	int64_t suppressed;
	int64_t already;
};

int hygiene_run(struct store *st, const struct hygiene_opts *o,
    hygiene_cb cb, void *ctx, struct hygiene_summary *sum,
    struct err *e) WUR;

#endif
