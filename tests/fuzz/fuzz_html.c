/*
 * fuzz_html.c - libFuzzer target: html_scan() and html_text() on any
 * bytes. Each must succeed or fail with a message, never crash, leak or
 * read out of bounds; the links found must lie in the source, in order and
 * apart, and the pixel must go inside it too. The text buffer is kept
 * small so the output bound is hit as well.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_scan(const struct html_scan *s, size_t size)
{
	int i;

	if (s->pixel_at > size)
		abort();
	for (i = 0; i < s->nlinks; i++) {
		if (s->links[i].start > s->links[i].end ||
		    s->links[i].end > size || s->links[i].url == NULL)
			abort();
		if (i > 0 && s->links[i].start <= s->links[i - 1].end &&
		    s->links[i - 1].end > s->links[i - 1].start)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *src = (const char *)data;
	struct html_scan s;
	struct err e;
	struct buf b;

	if (html_scan(src, size, &s, &e) == 0)
		check_scan(&s, size);
	else if (e.code != EX_DATAERR || s.nlinks != 0 || s.links != NULL)
		abort();
	html_scan_free(&s);
	buf_init(&b, 4096);
	if (html_text(src, size, &b, &e) == 0) {
		if (b.len > 0 && b.data[b.len - 1] != '\n')
			abort();
	} else if (e.code != EX_DATAERR || b.len != 0)
		abort();
	buf_free(&b);
	return 0;
}
