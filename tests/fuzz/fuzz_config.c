/*
 * fuzz_config.c - libFuzzer target: the configuration loader.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[] = "/tmp/postbote-fuzz-config-XXXXXX";

/* The scratch file goes with the process (make test replays this). */
static void
scratch_rm(void)
{
	unlink(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct config cfg;
	struct err e;
	FILE *fp;

	if (!ready) {
		int fd = mkstemp(path);

		if (fd < 0)
			abort();
		close(fd);
		atexit(scratch_rm);
		ready = 1;
	}
	if ((fp = fopen(path, "wb")) == NULL)
		abort();
	fwrite(data, 1, size, fp);
	fclose(fp);
	if (config_load(path, 1, &cfg, &e) == 0)
		config_free(&cfg);
	return 0;
}
