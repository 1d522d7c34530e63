/*
 * fuzz_spf.c - libFuzzer target: the SPF record parser (spf_parse()) and
 * check_host() over a fake DNS in which every TXT look-up answers the
 * input itself (split at newlines into several records), every A and
 * AAAA look-up 192.0.2.1 and 2001:db8::1, every MX mx.test and every PTR
 * ptr.test: includes and redirects then recurse into the same record, so
 * the loop check, the look-up limits and macro expansion all run.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spf.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum spf_dns
fake(void *ctx, enum spf_rr type, const char *name, struct spf_answer *out)
{
	char *text = ctx, *line, *save = NULL, *copy;

	(void)name;
	switch (type) {
	case SPF_RR_A: spf_answer_add(out, "192.0.2.1"); break;
	case SPF_RR_AAAA: spf_answer_add(out, "2001:db8::1"); break;
	case SPF_RR_MX: spf_answer_add(out, "mx.test"); break;
	case SPF_RR_PTR: spf_answer_add(out, "ptr.test"); break;
	case SPF_RR_TXT:
		copy = xstrdup(text);
		for (line = strtok_r(copy, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save))
			spf_answer_add(out, line);
		free(copy);
		break;
	}
	return out->n > 0 ? SPF_DNS_OK : SPF_DNS_VOID;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spf_record *rec = xmalloc(sizeof(*rec));
	struct spf_resolver r;
	struct spf_eval ev;
	char why[256];
	char *s = xstrndup((const char *)data, size);

	if (spf_parse(s, rec, why, sizeof(why)) == 0 &&
	    rec->nterms > SPF_TERMS_MAX)
		abort();
	r.lookup = fake;
	r.ctx = s;
	if (spf_check(&r, "example.test", "192.0.2.1", "a-b.c@example.test",
	    &ev) == SPF_PASS && ev.lookups > SPF_LOOKUP_LIMIT)
		abort();
	(void)spf_check(&r, "example.test", "2001:db8::1", NULL, &ev);
	free(rec);
	free(s);
	return 0;
}
