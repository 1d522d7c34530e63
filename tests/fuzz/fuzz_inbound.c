/*
 * fuzz_inbound.c - libFuzzer target: inbound mail. No input may crash the
 * parser or the classifier; an input is parsed or refused with
 * EX_DATAERR, and what is parsed stays inside its fixed-size fields. The
 * same bytes also go through the mbox splitter, each message it hands
 * over parsed in turn.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounce.h"
#include "inbound.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A field is a C string that ends inside itself. */
#define TERMINATED(f)	(memchr((f), '\0', sizeof(f)) != NULL)

static void
check(const struct inbound *in)
{
	char code[16];
	size_t i;

	if (in->nrcpt > INBOUND_MAX_RCPTS || in->nto > INBOUND_MAX_TO ||
	    in->nrefs > INBOUND_MAX_REFS)
		abort();
	if (!TERMINATED(in->message_id) || !TERMINATED(in->from) ||
	    !TERMINATED(in->subject) || !TERMINATED(in->orig_message_id) ||
	    !TERMINATED(in->feedback_type) || !TERMINATED(in->reporting_mta))
		abort();
	if (in->text != NULL && (in->text_len >= INBOUND_TEXT ||
	    strlen(in->text) != in->text_len))
		abort();
	for (i = 0; i < in->nrcpt; i++) {
		if (!TERMINATED(in->rcpt[i].status) ||
		    !TERMINATED(in->rcpt[i].diagnostic))
			abort();
		(void)bounce_classify(in->rcpt[i].status,
		    in->rcpt[i].diagnostic);
		(void)bounce_find_status(in->rcpt[i].diagnostic, code,
		    sizeof(code));
	}
	(void)bounce_classify(NULL, in->text);
	if (bounce_find_status(in->text, code, sizeof(code)) == 0)
		(void)bounce_classify(code, in->text);
}

static void
parse(const char *p, size_t n)
{
	struct inbound in;
	struct err e = { 0 };

	if (inbound_parse(p, n, &in, &e) == 0)
		check(&in);
	else if (e.code != EX_DATAERR)
		abort();
	inbound_free(&in);
}

static int
each(const char *msg, size_t len, long line, void *ctx)
{
	(void)line;
	(void)ctx;
	if (msg != NULL)
		parse(msg, len);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e;
	FILE *fp;

	inbound_init();
	parse((const char *)data, size);
	if (size > 0 && (fp = fmemopen((void *)(uintptr_t)data, size,
	    "rb")) != NULL) {
		(void)!inbound_mbox(fp, "fuzz", each, NULL, &e);
		fclose(fp);
	}
	return 0;
}
