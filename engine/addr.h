/*
 * addr.h - mail addresses: RFC 5321 syntax, IDN domains, identity.
 *
 * addr_parse() accepts one bare address (no display name, no angle
 * brackets) as a list holds it: a Dot-string or Quoted-string local part
 * (RFC 5321 4.1.2, UTF-8 allowed as RFC 6531 does), "@", and a domain name
 * with at least two labels. The domain is lower-cased and converted to its
 * A-label with libidn2 (UTS #46 non-transitional), so "Jürgen@Bücher.DE"
 * becomes local "Jürgen", domain "xn--bcher-kva.de". Address literals are
 * refused: a bulk list has no use for them.
 *
 * Identity: two addresses are one recipient when they differ only in the
 * case of ASCII letters. RFC 5321 2.4 lets a receiver treat local parts
 * case-sensitively, but no large mailbox provider does, and sending one
 * person two copies is the worse mistake. The key is what duplicates
 * collapse on; the address keeps the local part as written.
 *
 * Pure functions, thread-safe.
 */
#ifndef POSTBOTE_ADDR_H
#define POSTBOTE_ADDR_H

#include <stddef.h>
#include "err.h"
#include "limits.h"

struct addr {
	char local[LIMIT_ADDR_LOCAL * 2 + 3];	/* as written, quotes kept */
	char domain[LIMIT_ADDR_DOMAIN + 1];	/* A-label, lower case */
	char address[LIMIT_ADDR * 2 + 1];	/* local@domain */
	char key[LIMIT_ADDR * 2 + 1];		/* identity, see above */
	int utf8;				/* local part is not ASCII */
};

/*
 * Parses in[0..len). On failure returns -1 with e->code EX_DATAERR and a
 * message saying what is wrong (without echoing the address: the caller
 * names the field and line).
 */
int addr_parse(const char *in, size_t len, struct addr *out,
    struct err *e) WUR;

/* Converts a domain alone (U-label or A-label) to its lower-case A-label. */
int addr_domain(const char *in, size_t len, char *out, size_t outlen,
    struct err *e) WUR;

/*
 * A mailbox as given on a command line or in the config: "addr",
 * "Name <addr>" or "\"Name, Inc.\" <addr>". The display name must be valid
 * UTF-8 without control characters; it is stored unquoted.
 */
struct mailbox {
	char name[LIMIT_DISPLAY_NAME + 1];
	struct addr addr;
};

int addr_parse_mailbox(const char *in, struct mailbox *out,
    struct err *e) WUR;

#endif
