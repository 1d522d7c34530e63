/*
 * fuzz_hygiene.c - libFuzzer target: the disposable-domain list parser,
 * and the typo, role and identity checks on every line of the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hygiene.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hygiene_set *set;
	struct err e;
	char sug[LIMIT_ADDR_DOMAIN + 1], norm[LIMIT_ADDR * 2 + 1];
	char *s = xstrndup((const char *)data, size), *line, *save = NULL;

	if (hygiene_set_parse((const char *)data, size, "fuzz", &set,
	    &e) == 0) {
		(void)hygiene_set_match(set, s);
		hygiene_set_free(set);
	}
	for (line = strtok_r(s, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (hygiene_typo(line, sug, sizeof(sug)) &&
		    strlen(sug) == 0)
			abort();
		(void)hygiene_role(line);
		hygiene_norm(line, norm, sizeof(norm));
		if (strlen(norm) >= sizeof(norm))
			abort();
	}
	free(s);
	return 0;
}
