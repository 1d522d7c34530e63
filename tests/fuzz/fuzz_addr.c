/*
 * fuzz_addr.c - libFuzzer target: address and mailbox parsing with IDN.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct addr a;
	struct mailbox m;
	struct err e;
	char *s;

	if (addr_parse((const char *)data, size, &a, &e) == 0 &&
	    strlen(a.address) > LIMIT_ADDR)
		abort();
	s = xstrndup((const char *)data, size);
	(void)!addr_parse_mailbox(s, &m, &e);
	free(s);
	return 0;
}
