/*
 * dkim_verify.c - checks the DKIM signatures of one message with
 * libopendkim's verifier: a second implementation, beside python3-dkim,
 * that shares no code with engine/dkim.c.
 *
 *   dkim_verify KEYS <msg
 *
 * KEYS is a file of "SELECTOR._domainkey.DOMAIN RECORD" lines (the TXT
 * record's value unquoted), which libopendkim reads instead of asking
 * DNS. Prints one line per signature: "pass d=DOMAIN s=SELECTOR" or
 * "fail d=DOMAIN s=SELECTOR: why". Exits 0 when there is at least one
 * signature and every one passes, 1 otherwise, 70 when libopendkim fails,
 * 74 when stdin cannot be read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <opendkim/dkim.h>

static int
read_stdin(unsigned char **msg, size_t *len)
{
	size_t cap = 1 << 16, n;
	unsigned char *p;

	*len = 0;
	if ((*msg = malloc(cap)) == NULL)
		return -1;
	while ((n = fread(*msg + *len, 1, cap - *len, stdin)) > 0) {
		*len += n;
		if (*len < cap)
			continue;
		if ((p = realloc(*msg, cap *= 2)) == NULL)
			return -1;
		*msg = p;
	}
	return ferror(stdin) ? -1 : 0;
}

static int
report(DKIM *dk)
{
	DKIM_SIGINFO **sigs;
	int i, n, bad = 0;

	if (dkim_getsiglist(dk, &sigs, &n) != DKIM_STAT_OK || n == 0) {
		printf("fail: no signature\n");
		return 1;
	}
	for (i = 0; i < n; i++) {
		unsigned int flags = dkim_sig_getflags(sigs[i]);
		int pass = (flags & DKIM_SIGFLAG_PASSED) &&
		    dkim_sig_getbh(sigs[i]) == DKIM_SIGBH_MATCH;

		printf("%s d=%s s=%s", pass ? "pass" : "fail",
		    (const char *)dkim_sig_getdomain(sigs[i]),
		    (const char *)dkim_sig_getselector(sigs[i]));
		if (!pass)
			printf(": %s%s", dkim_sig_geterrorstr(
			    dkim_sig_geterror(sigs[i])),
			    dkim_sig_getbh(sigs[i]) == DKIM_SIGBH_MISMATCH ?
			    " (body hash mismatch)" : "");
		printf("\n");
		bad |= !pass;
	}
	return bad;
}

int
main(int argc, char **argv)
{
	unsigned int qtype = DKIM_QUERY_FILE;
	unsigned char *msg = NULL;
	size_t len;
	DKIM_STAT st;
	DKIM_LIB *lib = NULL;
	DKIM *dk;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: dkim_verify KEYS <message\n");
		return 64;
	}
	if (read_stdin(&msg, &len) < 0) {
		fprintf(stderr, "dkim_verify: cannot read the message\n");
		free(msg);
		return 74;
	}
	if ((lib = dkim_init(NULL, NULL)) == NULL ||
	    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYMETHOD, &qtype,
	    sizeof(qtype)) != DKIM_STAT_OK ||
	    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYINFO, argv[1],
	    strlen(argv[1])) != DKIM_STAT_OK ||
	    (dk = dkim_verify(lib, (const unsigned char *)"verify", NULL,
	    &st)) == NULL) {
		fprintf(stderr, "dkim_verify: libopendkim does not start\n");
		if (lib != NULL)
			dkim_close(lib);
		free(msg);
		return 70;
	}
	st = dkim_chunk(dk, msg, len);
	if (st == DKIM_STAT_OK)
		st = dkim_chunk(dk, NULL, 0);
	if (st == DKIM_STAT_OK || st == DKIM_STAT_NOSIG)
		(void)dkim_eom(dk, NULL);
	rc = report(dk);
	dkim_free(dk);
	dkim_close(lib);
	free(msg);
	return rc;
}
