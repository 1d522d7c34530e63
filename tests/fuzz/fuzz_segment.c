/*
 * fuzz_segment.c - libFuzzer target: the segment parser and SQL emitter.
 * Any input must compile or fail with a message; never crash, leak or read
 * out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "segment.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct segment *seg;
	struct err e;
	char *s = xstrndup((const char *)data, size);

	if (segment_compile(s, &seg, &e) == 0)
		segment_free(seg);
	free(s);
	return 0;
}
