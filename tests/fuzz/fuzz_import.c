/*
 * fuzz_import.c - libFuzzer target: CSV and JSON Lines import into an
 * in-memory store. The first byte picks the format; the rest is the file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "import.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct store *st;
static char path[] = "/tmp/postbote-fuzz-XXXXXX";

/* The scratch file goes with the process (make test replays this). */
static void
scratch_rm(void)
{
	unlink(path);
}

static void
on_event(const struct import_event *ev, void *ctx)
{
	(void)ev;
	(void)ctx;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct import_opts io = { .create_list = 1 };
	struct import_stats stats;
	struct err e;
	FILE *fp;

	if (size < 1)
		return 0;
	if (st == NULL) {
		int fd = mkstemp(path);

		if (fd < 0 || store_open(":memory:", STORE_CREATE, &st, &e) < 0)
			abort();
		close(fd);
		atexit(scratch_rm);
	}
	io.format = data[0] & 1 ? IMPORT_JSONL : IMPORT_CSV;
	io.strict = data[0] & 2;
	if ((fp = fopen(path, "wb")) == NULL)
		abort();
	fwrite(data + 1, 1, size - 1, fp);
	fclose(fp);
	(void)!import_file(st, "fuzz", path, &io, &stats, on_event, NULL, &e);
	return 0;
}
