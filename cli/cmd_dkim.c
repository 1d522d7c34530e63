/*
 * cmd_dkim.c - postbote dkim keygen.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "addr.h"
#include "cli.h"
#include "dkim.h"
#include "limits.h"

struct keygen_opts {
	struct dkim_keygen_req r;
	int64_t bits;
	int bits_set;
	char path[LIMIT_ADDR_DOMAIN + LIMIT_DKIM_SELECTOR + 32];
};

static int
keygen_parse(struct cli *c, int argc, char **argv, struct keygen_opts *o)
{
	static const struct option opts[] = {
		{ "domain", required_argument, NULL, 'd' },
		{ "selector", required_argument, NULL, 's' },
		{ "algorithm", required_argument, NULL, 'a' },
		{ "bits", required_argument, NULL, 'b' },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	int ch, rc;

	while ((ch = cli_getopt(c, argc, argv, "d:s:a:b:o:", opts)) != -1) {
		switch (ch) {
		case 'd': o->r.domain = optarg; break;
		case 's': o->r.selector = optarg; break;
		case 'o': o->r.path = optarg; break;
		case 'a':
			if (dkim_algorithm_parse(optarg, &o->r.algorithm) < 0)
				return cli_usage(c, "--algorithm is rsa or "
				    "ed25519");
			break;
		case 'b':
			if ((rc = cli_number(c, "--bits", optarg, &o->bits)) != 0)
				return rc;
			o->bits_set = 1;
			break;
		default: return EX_USAGE;
		}
	}
	if (cli_args(c, argc, argv, 0, "no arguments") != 0)
		return EX_USAGE;
	if (o->r.domain == NULL || o->r.selector == NULL)
		return cli_usage(c, "--domain and --selector are required");
	if (o->bits_set && o->r.algorithm != DKIM_RSA_SHA256)
		return cli_usage(c, "--bits is for RSA keys only");
	/* 0 would mean "the default" to dkim_keygen(); -1 it refuses. */
	if (o->bits_set)
		o->r.bits = o->bits < 1 || o->bits > LIMIT_DKIM_RSA_MAX ? -1 :
		    (int)o->bits;
	return 0;
}

static int
dkim_keygen_cmd(struct cli *c, int argc, char **argv)
{
	struct keygen_opts o = { .r = { .algorithm = DKIM_RSA_SHA256 } };
	char domain[LIMIT_ADDR_DOMAIN + 1];
	struct buf record;
	struct err e;
	int rc;

	if ((rc = keygen_parse(c, argc, argv, &o)) != 0)
		return rc;
	if (o.r.path == NULL) {
		/* Named as the record is: A-label, lower case. A bad domain
		 * is left for dkim_keygen() to report. */
		if (addr_domain(o.r.domain, strlen(o.r.domain), domain,
		    sizeof(domain), &e) < 0)
			snprintf(domain, sizeof(domain), "%s", o.r.domain);
		snprintf(o.path, sizeof(o.path), "%s._domainkey.%s.pem",
		    o.r.selector, domain);
		o.r.path = o.path;
	}
	buf_init(&record, LIMIT_DKIM_SIGNATURES);
	if (dkim_keygen(&o.r, &record, &e) < 0)
		rc = cli_fail(c, &e);
	else {
		out_say(c, "private key written to %s (mode 0600); publish "
		    "this DNS record:", o.r.path);
		printf("%s\n", buf_str(&record));
	}
	buf_free(&record);
	return rc;
}

const struct cli_cmd cmd_dkim[] = {
	{ "keygen", dkim_keygen_cmd, "make a DKIM key and its DNS record",
	  "keygen --domain DOMAIN --selector SELECTOR\n"
	  "       [--algorithm rsa|ed25519] [--bits 2048] [--output FILE]\n\n"
	  "Generates a private key (RSA of 1024-4096 bits, 2048 unless --bits\n"
	  "says otherwise, or Ed25519) and writes it as PEM with mode 0600 to\n"
	  "FILE (default SELECTOR._domainkey.DOMAIN.pem); an existing file is\n"
	  "never overwritten. Prints the TXT record to publish, its value cut\n"
	  "into strings of 255 characters as DNS requires:\n\n"
	  "  SELECTOR._domainkey.DOMAIN IN TXT \"v=DKIM1; k=rsa; p=...\"\n\n"
	  "Sign with both an RSA and an Ed25519 key (two selectors): receivers\n"
	  "that cannot check Ed25519 still find the RSA signature.\n\n"
	  "example: postbote dkim keygen --domain example.com --selector "
	  "pb2025 \\\n"
	  "           --algorithm ed25519 --output /etc/postbote/ed.pem\n" },
	{ NULL, NULL, NULL, NULL }
};
