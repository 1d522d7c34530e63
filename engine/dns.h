/*
 * dns.h - asynchronous next-hop resolution (c-ares) for one event loop.
 *
 * One struct dns owns one c-ares channel. dns_resolve_mx() starts finding
 * where mail for a domain goes, per RFC 5321 5.1:
 *
 *   - the domain's MX records, sorted by preference, records of equal
 *     preference shuffled (so equal hosts share the load), duplicates
 *     dropped, at most LIMIT_DNS_HOSTS kept; each host is then resolved
 *     to its A and AAAA addresses (at most LIMIT_DNS_ADDRS per family),
 *     IPv4 first: a bulk sender's IPv6 addresses rarely have the reverse
 *     DNS and reputation large receivers demand;
 *   - no MX records (NODATA): the domain itself, as an implicit MX of
 *     preference 0;
 *   - a null MX (RFC 7505: one record, preference 0, host "."): DNS_PERM
 *     at once, no A fallback;
 *   - NXDOMAIN: DNS_PERM;
 *   - SERVFAIL, REFUSED, a timeout or any other failure of the MX query:
 *     DNS_TEMP, never an A fallback (a broken server must not turn into
 *     delivery to the wrong host);
 *   - hosts without any address are left out. If no host has one, the
 *     result is DNS_TEMP when a host's look-up failed temporarily, else
 *     DNS_PERM.
 *
 * The callback runs exactly once per dns_resolve_mx() that returned 0,
 * from inside dns_process(), dns_process_timeout(), dns_run() or
 * dns_free() (then DNS_TEMP, "resolver shut down") - never from inside
 * dns_resolve_mx() itself. The result and everything it points to belong
 * to the module and are valid only during the callback; copy what you
 * keep. A callback may start new resolutions but must not call dns_free()
 * (STYLE.md rule 8). Ports in the addresses are the config's smtp_port.
 *
 * Event loop: after every call, watch the fds dns_fds() lists and wake up
 * after dns_timeout_ms(); hand readable/writable fds to dns_process() and
 * an expired timer to dns_process_timeout(). The list of fds changes as
 * queries start and end, so ask again each iteration. dns_run() does all
 * that with poll() until no query is left, for tests and small commands.
 *
 * Timeouts: each try waits timeout_ms and c-ares doubles the wait for each
 * further round over the servers, so a dead server costs about
 * timeout_ms * (2^tries - 1) per look-up; an MX look-up is followed by
 * host look-ups, so allow twice that for a whole resolution.
 *
 * Memory: a resolution holds one fixed-size record (LIMIT_DNS_HOSTS hosts)
 * until its callback returns; c-ares allocates only for the answers.
 *
 * The domain must already be an A-label (addr_domain() makes one); a name
 * with anything but letters, digits, '-' and '.' is refused. Not
 * thread-safe: one thread (the scheduler's) owns a struct dns.
 */
#ifndef POSTBOTE_DNS_H
#define POSTBOTE_DNS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "err.h"
#include "limits.h"

enum dns_status {
	DNS_OK,
	DNS_TEMP,		/* try again later */
	DNS_PERM		/* bounce: the domain takes no mail */
};

struct dns_addr {
	struct sockaddr_storage sa;
	socklen_t len;
};

struct dns_host {
	char name[LIMIT_ADDR_DOMAIN + 1];
	unsigned pref;
	size_t naddrs;		/* >= 1 in a DNS_OK result */
	struct dns_addr addrs[2 * LIMIT_DNS_ADDRS];
};

struct dns_result {
	enum dns_status status;
	const char *domain;
	int implicit;		/* no MX: the domain is its own host */
	int null_mx;		/* DNS_PERM for a null MX (RFC 7505) */
	char reason[LIMIT_DNS_REASON];	/* why, for DNS_TEMP and DNS_PERM */
	size_t nhosts;		/* 0 unless DNS_OK */
	struct dns_host hosts[LIMIT_DNS_HOSTS];
};

typedef void (*dns_cb)(void *ctx, const struct dns_result *r);

struct dns_config {
	const char *servers;	/* "127.0.0.1:5353,[::1]:53"; NULL or "":
				   the system's (/etc/resolv.conf) */
	int timeout_ms;		/* per try; 0: LIMIT_DNS_TIMEOUT_MS */
	int tries;		/* 0: LIMIT_DNS_TRIES */
	unsigned short smtp_port;	/* put in every address; 0: 25 */
};

struct dns;

/* EX_CONFIG for a bad server list or option, EX_OSERR if c-ares fails. */
int dns_new(const struct dns_config *cfg, struct dns **out,
    struct err *e) WUR;

/* Runs every pending callback with DNS_TEMP first. Accepts NULL. */
void dns_free(struct dns *d);

/* EX_DATAERR for a domain that is not an A-label. */
int dns_resolve_mx(struct dns *d, const char *domain, dns_cb cb, void *ctx,
    struct err *e) WUR;

/*
 * A named next hop (a relay or route host): its A and AAAA addresses
 * only, as one host in the result; never its MX. DNS_PERM when it has
 * neither.
 */
int dns_resolve_host(struct dns *d, const char *host, dns_cb cb, void *ctx,
    struct err *e) WUR;

/*
 * One record set, for checks that read DNS as receivers do (doctor): the
 * A, AAAA, MX, TXT or PTR records of a name, exactly as published - no
 * implicit MX, no host look-ups. The name may hold '_' (_dmarc,
 * s1._domainkey). The callback runs exactly once, as for
 * dns_resolve_mx(), with:
 *   DNS_OK    n >= 1 records (more may count others);
 *   DNS_PERM  none: NXDOMAIN (nxdomain set) or no record of the type
 *             (NODATA) - what RFC 7208 4.6.4 calls a void look-up - or
 *             only records too long to keep (more, the reason says so);
 *   DNS_TEMP  SERVFAIL, REFUSED, a timeout, the resolver shut down.
 * TXT: each record's strings joined into one. A/AAAA: text addresses.
 * MX: host names ("" for a null MX), pref[] their preferences. PTR: the
 * names. Records past DNS_RR_MAX, or TXT records over DNS_TXT_MAX octets,
 * are only counted in more. The strings belong to the module and live
 * until the callback returns. EX_DATAERR for a name that is not one.
 */
#define DNS_RR_MAX	32
#define DNS_TXT_MAX	4096

enum dns_rr { DNS_RR_A, DNS_RR_AAAA, DNS_RR_MX, DNS_RR_TXT, DNS_RR_PTR };

struct dns_rrset {
	enum dns_status status;
	int nxdomain;
	const char *name;
	enum dns_rr type;
	char reason[LIMIT_DNS_REASON];	/* DNS_PERM and DNS_TEMP */
	size_t n;
	char *rr[DNS_RR_MAX];
	unsigned pref[DNS_RR_MAX];	/* MX */
	size_t more;
};

typedef void (*dns_rr_cb)(void *ctx, const struct dns_rrset *r);

int dns_lookup(struct dns *d, const char *name, enum dns_rr type,
    dns_rr_cb cb, void *ctx, struct err *e) WUR;

/*
 * The PTR name of an IPv4 or IPv6 literal ("25.2.0.192.in-addr.arpa",
 * "...ip6.arpa"); -1 for anything else or when it does not fit in n.
 */
int dns_reverse_name(const char *ip, char *out, size_t n) WUR;

/* Resolutions started and not yet called back. */
size_t dns_pending(const struct dns *d);

struct dns_fd {
	int fd;
	int read;		/* watch for readable */
	int write;		/* watch for writable */
};

/* Fills up to max entries (16 is all c-ares uses); returns the count. */
size_t dns_fds(struct dns *d, struct dns_fd *out, size_t max);

/* Milliseconds until dns_process_timeout() is due; -1: no timer. */
int dns_timeout_ms(struct dns *d);

/* An fd from dns_fds() is readable / writable; -1 for neither. */
void dns_process(struct dns *d, int readable_fd, int writable_fd);

/* The timer dns_timeout_ms() gave has expired. */
void dns_process_timeout(struct dns *d);

/*
 * Drives the resolutions with poll() until none is left. Past timeout_ms
 * (0: no limit of its own) it cancels the rest - their callbacks get
 * DNS_TEMP - and returns -1 with EX_TEMPFAIL.
 */
int dns_run(struct dns *d, int timeout_ms, struct err *e) WUR;

/* ---------------------------------------------- pure parts, for the tests */

struct dns_mx {
	const char *host;	/* "" or "." is the root: RFC 7505 */
	unsigned pref;
};

/* RFC 7505 3: the only record is preference 0 to ".". */
int dns_mx_null(const struct dns_mx *mx, size_t n);

/*
 * Sorts mx[0..n) by preference, shuffles runs of equal preference with
 * the xorshift state *rng, drops root hosts, names too long to keep and
 * repeats (case-insensitively, keeping the most preferred), and keeps at
 * most cap. Returns how many of mx[] are kept, in order.
 */
size_t dns_mx_order(struct dns_mx *mx, size_t n, size_t cap, uint64_t *rng);

#endif
