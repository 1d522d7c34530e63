/*
 * replay.c - runs a libFuzzer target without libFuzzer: each file named on
 * the command line is read into a buffer of exactly its size and handed
 * to LLVMFuzzerTestOneInput() once, after LLVMFuzzerInitialize() when the
 * target defines one. `make test` links every tests/fuzz/fuzz_*.c with
 * this file and the normal compiler and flags (SAN=1: ASan and UBSan), so
 * the seed corpora and every regress-* reproducer are replayed on each
 * run; tests/integration/fuzz_corpus.sh drives it. The libFuzzer build
 * (tests/fuzz/run.sh) never links this file: libFuzzer brings its main().
 *
 * Exit status 0 when every input ran; 66 for a file it cannot read. A
 * crash or a sanitizer report ends the process with the input's name
 * already on stderr.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* The whole file in a buffer of its exact size, so a read past the end
   of the input is one ASan sees. NULL when it cannot be read. */
static uint8_t *
slurp(const char *path, size_t *size)
{
	uint8_t *data = NULL, *grown;
	size_t n = 0, cap = 0, got;
	FILE *fp = fopen(path, "rb");

	if (fp == NULL)
		return NULL;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			if ((grown = realloc(data, cap)) == NULL)
				goto fail;
			data = grown;
		}
		got = fread(data + n, 1, cap - n, fp);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(fp))
		goto fail;
	fclose(fp);
	/* Exactly n bytes (at least one, for malloc's sake). */
	if ((grown = malloc(n ? n : 1)) == NULL) {
		free(data);
		return NULL;
	}
	for (got = 0; got < n; got++)
		grown[got] = data[got];
	free(data);
	*size = n;
	return grown;
fail:
	free(data);
	fclose(fp);
	return NULL;
}

int
main(int argc, char **argv)
{
	uint8_t *data;
	size_t size;
	int i, ran = 0;

	if (LLVMFuzzerInitialize != NULL)
		(void)LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		if ((data = slurp(argv[i], &size)) == NULL) {
			perror(argv[i]);
			return 66;
		}
		fprintf(stderr, "replay: %s (%zu bytes)\n", argv[i], size);
		(void)LLVMFuzzerTestOneInput(data, size);
		free(data);
		ran++;
	}
	fprintf(stderr, "replay: %d inputs, no crash\n", ran);
	return 0;
}
