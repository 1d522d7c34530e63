/*
 * dns_sample.c - resolves domains' next hops concurrently with dns.c and
 * prints one line per domain, in argument order, for tests/integration/dns.sh:
 *
 *   DOMAIN ok [implicit] HOST/PREF=ADDR:PORT,[ADDR6]:PORT HOST/PREF=...
 *   DOMAIN temp|perm [null_mx] REASON
 *
 * usage: dns_sample [--server ADDR:PORT,...] [--timeout MS] [--tries N]
 *        [--port N] [--run-timeout MS] DOMAIN...
 * Exits 0, 64 on a usage error, 75 when dns_run() ran out of time.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

struct slot {
	char line[8192];
	size_t len;
	int done;
};

/* Appends to the slot's line; a line too long is cut, never overrun. */
static void __attribute__((format(printf, 2, 3)))
app(struct slot *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(s->line + s->len, sizeof(s->line) - s->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		s->len += (size_t)n < sizeof(s->line) - s->len ? (size_t)n :
		    sizeof(s->line) - s->len - 1;
}

static const char *const status_name[] = { "ok", "temp", "perm" };

static void
print_addr(struct slot *b, const struct dns_addr *a)
{
	char ip[INET6_ADDRSTRLEN];
	const struct sockaddr_in *s4 = (const void *)&a->sa;
	const struct sockaddr_in6 *s6 = (const void *)&a->sa;

	if (a->sa.ss_family == AF_INET) {
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		app(b, "%s:%u", ip, ntohs(s4->sin_port));
	} else {
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		app(b, "[%s]:%u", ip, ntohs(s6->sin6_port));
	}
}

static void
on_result(void *ctx, const struct dns_result *r)
{
	struct slot *s = ctx;
	size_t i, j;

	s->done = 1;
	app(s, "%s %s", r->domain, status_name[r->status]);
	if (r->status != DNS_OK) {
		app(s, "%s %s", r->null_mx ? " null_mx" : "", r->reason);
		return;
	}
	if (r->implicit)
		app(s, " implicit");
	for (i = 0; i < r->nhosts; i++) {
		app(s, " %s/%u=", r->hosts[i].name,
		    r->hosts[i].pref);
		for (j = 0; j < r->hosts[i].naddrs; j++) {
			if (j > 0)
				app(s, ",");
			print_addr(s, &r->hosts[i].addrs[j]);
		}
	}
}

static int
usage(void)
{
	fprintf(stderr, "usage: dns_sample [--server ADDR:PORT,...] "
	    "[--timeout MS] [--tries N] [--port N] [--run-timeout MS] "
	    "DOMAIN...\n");
	return 64;
}

int
main(int argc, char **argv)
{
	struct dns_config cfg = { 0 };
	struct dns *d = NULL;
	struct slot *slots;
	struct err e = { 0 };
	int i, first, run_ms = 0, rc = 0;

	for (i = 1; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		if (strcmp(argv[i], "--server") == 0)
			cfg.servers = argv[i + 1];
		else if (strcmp(argv[i], "--timeout") == 0)
			cfg.timeout_ms = (int)strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--tries") == 0)
			cfg.tries = (int)strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--port") == 0)
			cfg.smtp_port = (unsigned short)strtol(argv[i + 1],
			    NULL, 10);
		else if (strcmp(argv[i], "--run-timeout") == 0)
			run_ms = (int)strtol(argv[i + 1], NULL, 10);
		else
			return usage();
	}
	if (i >= argc)
		return usage();
	first = i;
	if (dns_new(&cfg, &d, &e) < 0) {
		fprintf(stderr, "dns_sample: %s\n", e.msg);
		return e.code;
	}
	slots = calloc((size_t)(argc - first), sizeof(*slots));
	if (slots == NULL)
		abort();
	for (i = first; i < argc; i++) {
		if (dns_resolve_mx(d, argv[i], on_result, &slots[i - first],
		    &e) < 0) {
			slots[i - first].done = 1;
			app(&slots[i - first], "%s error %s", argv[i], e.msg);
		}
	}
	if (dns_run(d, run_ms, &e) < 0) {
		fprintf(stderr, "dns_sample: %s\n", e.msg);
		rc = 75;
	}
	for (i = first; i < argc; i++) {
		printf("%s\n", slots[i - first].done ?
		    slots[i - first].line : "(no callback)");
	}
	free(slots);
	dns_free(d);
	return rc;
}
