/*
 * doctor.h - postbote doctor: the DNS and TLS set-up that receivers
 * check, looked up as they look it up (c-ares, delivery.dns_servers),
 * one finding at a time.
 *
 * Checks, for each domain (the one given, else every DKIM domain of the
 * config); "envelope domain" is bounces.return_path_domain, else the
 * domain itself:
 *   config  settings that decide the rest (no return-path domain, no
 *           known sending address)
 *   spf     the envelope domain's SPF record (engine/spf.c) evaluated
 *           for each sending address: delivery.source_address or the
 *           addresses given in mx mode, the relay's addresses in relay
 *           mode; +all, ptr
 *   dkim    per configured selector: the TXT record exists, is one,
 *           parses, is not revoked, and its key is the key file's
 *   dmarc   _dmarc.DOMAIN (else the organisational domain's, taken as the
 *           last two labels): one valid record, its policy and rua; and
 *           whether the DKIM domain and the envelope domain align with
 *           the From domain under adkim/aspf
 *   mx      the envelope domain takes mail (MX; an A fallback warns; a
 *           null MX fails), so bounces come back
 *   fcrdns  mx mode: each sending address has a PTR whose name resolves
 *           back to it, does not look generic, and is the EHLO name
 *   tls     the relay (relay mode) and routes with TLS required: a
 *           connection, EHLO, STARTTLS (or implicit TLS) and a
 *           certificate that verifies against delivery.ca_file
 *
 * Every finding goes to the callback as one struct doctor_line, whose
 * strings live until it returns; a failing one carries the one-line fix
 * (the exact record to publish where there is one). A look-up that fails
 * temporarily is a fail with temp set: nothing can be said then.
 *
 * Errors: doctor_run() returns -1 only when it cannot start (EX_CONFIG
 * for a bad resolver setting, EX_USAGE for no domain or a bad domain or
 * address); findings are never errors. Not thread-safe; blocking (it
 * waits for each look-up and the TLS probe, bounded by the resolver's
 * and the config's timeouts, at most DOCTOR_SMTP_MS for each SMTP step).
 */
#ifndef POSTBOTE_DOCTOR_H
#define POSTBOTE_DOCTOR_H

#include <stddef.h>
#include "err.h"

struct config;

#define DOCTOR_IPS_MAX		16	/* sending addresses checked */
#define DOCTOR_SMTP_MS		15000	/* a TLS probe step, at most */

enum doctor_level { DOCTOR_OK, DOCTOR_WARN, DOCTOR_FAIL };

struct doctor_line {
	enum doctor_level level;
	const char *check;	/* "spf", "dkim", ... */
	const char *subject;	/* a domain, a name, an address, host:port */
	const char *text;
	const char *fix;	/* NULL: nothing to do */
	int temp;		/* a fail because DNS failed for now */
};

typedef void (*doctor_cb)(void *ctx, const struct doctor_line *l);

struct doctor_opts {
	const struct config *cfg;
	const char *domain;	/* NULL: every DKIM domain */
	const char *const *ips;	/* the sending addresses; NULL: the
				   config's (see above) */
	size_t nips;
	int dns_timeout_ms;	/* per try; 0: LIMIT_DNS_TIMEOUT_MS */
	int no_tls;		/* skip the TLS probe */
};

struct doctor_summary {
	int ok, warn, fail;
	int temp;		/* fails that were temporary DNS failures */
};

int doctor_run(const struct doctor_opts *o, doctor_cb cb, void *ctx,
    struct doctor_summary *sum, struct err *e) WUR;

/* "level" names: "ok", "warn", "fail". */
const char *doctor_level_name(enum doctor_level l);

#endif
