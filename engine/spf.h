/*
 * spf.h - Sender Policy Framework (RFC 7208): parsing a record and
 * check_host() for one IP address, as a receiver evaluates it.
 *
 * Pure: every DNS look-up goes through a struct spf_resolver the caller
 * gives (doctor.c adapts engine/dns.c; the unit tests a table of fake
 * records), so the evaluator is tested without a server.
 *
 * What is evaluated: every mechanism (all, include, a, mx, ptr, ip4, ip6,
 * exists) with its qualifier (+ - ~ ?) and CIDR lengths (a and mx take
 * both, "/24//64"), the redirect modifier, and macros in domain specs
 * (RFC 7208 7: s l o d i p v h, the r and digit transformers and
 * delimiters; %{p} is "unknown", as 7.3 allows, and %{h} is the sender's
 * domain). exp= is parsed and never fetched. Limits (RFC 7208 4.6.4):
 * more than SPF_LOOKUP_LIMIT terms that query DNS (include, a, mx, ptr,
 * exists, redirect), more than SPF_VOID_LIMIT look-ups that come back
 * empty, or more than SPF_LOOKUP_LIMIT MX hosts or PTR names for one
 * mechanism give permerror, as do two SPF records, a syntax error
 * anywhere in a record (checked before any term is evaluated), an
 * include or redirect of a domain without a record, and a loop (a domain
 * included or redirected to while it is itself being evaluated - the
 * look-up limit would stop it too, later and less clearly).
 *
 * Ownership: strings a resolver puts in a struct spf_answer with
 * spf_answer_add() are copies the evaluator frees. A struct spf_eval is
 * filled by the caller's storage. Not thread-safe per call; no state
 * outside the arguments.
 */
#ifndef POSTBOTE_SPF_H
#define POSTBOTE_SPF_H

#include <stddef.h>
#include "err.h"

#define SPF_RECORD_MAX		2048	/* a record we evaluate, at most */
#define SPF_TERMS_MAX		64
#define SPF_LOOKUP_LIMIT	10	/* RFC 7208 4.6.4 */
#define SPF_VOID_LIMIT		2	/* RFC 7208 4.6.4 */
#define SPF_ANSWER_MAX		32	/* records of one look-up kept */
#define SPF_NAME_MAX		253

enum spf_result {
	SPF_NONE,		/* no record */
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR
};

/* "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror" */
const char *spf_result_name(enum spf_result r);

enum spf_mech {
	SPF_ALL, SPF_INCLUDE, SPF_A, SPF_MX, SPF_PTR, SPF_IP4, SPF_IP6,
	SPF_EXISTS
};

struct spf_term {
	enum spf_mech mech;
	char qual;		/* '+', '-', '~' or '?' */
	const char *text;	/* the term as written */
	const char *spec;	/* domain spec (a macro string); NULL: none */
	int cidr4, cidr6;	/* -1: not given */
	unsigned char ip[16];	/* ip4 (first 4 octets) and ip6 */
};

struct spf_record {
	char buf[2 * (SPF_RECORD_MAX + 1)];	/* the strings below */
	size_t nterms;
	struct spf_term terms[SPF_TERMS_MAX];
	const char *redirect;	/* NULL: none */
	const char *exp;
	int macros;		/* a domain spec holds a macro */
};

/* Whether a TXT record is an SPF record: "v=spf1", then a space or the
   end (RFC 7208 4.5), in any case. */
int spf_is_record(const char *txt);

/*
 * Parses a whole record ("v=spf1 ..."). -1 with why (a sentence naming
 * the term) for a syntax error: an unknown mechanism, a bad address,
 * CIDR length or macro, a domain spec without a top label, a second
 * redirect or exp, more than SPF_TERMS_MAX terms or SPF_RECORD_MAX
 * octets.
 */
int spf_parse(const char *text, struct spf_record *rec, char *why,
    size_t n) WUR;

/* ------------------------------------------------------------- DNS */

enum spf_rr { SPF_RR_A, SPF_RR_AAAA, SPF_RR_MX, SPF_RR_TXT, SPF_RR_PTR };

enum spf_dns {
	SPF_DNS_OK,		/* n >= 1 */
	SPF_DNS_VOID,		/* NXDOMAIN or no record of the type */
	SPF_DNS_TEMP		/* the look-up failed; why may say how */
};

struct spf_answer {
	size_t n;
	char *rr[SPF_ANSWER_MAX];	/* TXT: strings joined; A/AAAA: text
					   addresses; MX and PTR: names */
	char why[128];
};

/* Adds a copy of s; past SPF_ANSWER_MAX it is dropped. */
void spf_answer_add(struct spf_answer *a, const char *s);

struct spf_resolver {
	enum spf_dns (*lookup)(void *ctx, enum spf_rr type, const char *name,
	    struct spf_answer *out);
	void *ctx;
};

/* ------------------------------------------------------- evaluation */

/* Why a result is permerror, for the fix doctor proposes. */
enum spf_problem {
	SPF_P_NONE,
	SPF_P_SYNTAX,
	SPF_P_LOOKUPS,		/* over SPF_LOOKUP_LIMIT */
	SPF_P_VOIDS,		/* over SPF_VOID_LIMIT */
	SPF_P_LOOP,
	SPF_P_MULTIPLE,		/* two or more SPF records at one name */
	SPF_P_NO_RECORD,	/* include or redirect to a domain without */
	SPF_P_MACRO		/* a macro that cannot be expanded */
};

#define SPF_WARN_PTR	0x1	/* ptr was evaluated (RFC 7208 5.5: do not) */
#define SPF_WARN_EXP	0x2	/* exp= is not fetched */

struct spf_eval {
	enum spf_result result;
	enum spf_problem problem;
	char record[SPF_RECORD_MAX + 1];	/* the domain's own; "" none */
	char match[512];	/* "include:_spf.x.test > ip4:192.0.2.0/24",
				   "" when nothing matched */
	char why[256];		/* temperror and permerror: what */
	int lookups;		/* terms that queried DNS */
	int voids;
	unsigned warn;		/* SPF_WARN_* */
};

/*
 * check_host() (RFC 7208 4) for ip (an IPv4 or IPv6 literal) and
 * domain, with sender (local@domain, for macros; NULL: postmaster@domain).
 * Returns out->result. SPF_PERMERROR with why for an ip that is not an
 * address.
 */
enum spf_result spf_check(const struct spf_resolver *r, const char *domain,
    const char *ip, const char *sender, struct spf_eval *out);

#endif
