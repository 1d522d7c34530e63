/*
 * dkim_sample.c - one message signed by dkim_signer_sign(), for checks
 * outside C, and a timing loop.
 *
 *   dkim_sample [--bench N] DOMAIN:SELECTOR:ALGORITHM:KEYFILE... <msg
 *
 * Loads the keys as the signer does for the config, reads one message
 * (CRLF line ends) on stdin and writes it to stdout with the signature
 * fields in front, so tests/integration/dkim.sh can verify it with
 * python3-dkim, an implementation that shares no code with libopendkim.
 * With --bench N it signs the message N times instead (in each of T
 * threads sharing one signer with --threads T) and prints the count, the
 * wall-clock time per message and the messages per second. Exits with
 * the error's code, its message on stderr.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "dkim.h"
#include "limits.h"

#define SAMPLE_KEYS	8
#define SAMPLE_THREADS	64

/* DOMAIN:SELECTOR:ALGORITHM:KEYFILE, split in place. */
static int
key_arg(char *s, struct dkim_key_conf *k)
{
	char *f[4];
	int i;

	for (i = 0; i < 3; i++) {
		f[i] = s;
		if ((s = strchr(s, ':')) == NULL)
			return -1;
		*s++ = '\0';
	}
	f[3] = s;
	k->domain = f[0];
	k->selector = f[1];
	k->algorithm = f[2];
	k->key_file = f[3];
	return 0;
}

static int
usage(void)
{
	fprintf(stderr, "usage: dkim_sample [--bench N [--threads T]] "
	    "DOMAIN:SELECTOR:ALGORITHM:KEYFILE... <message\n");
	return EX_USAGE;
}

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct bench {
	const struct dkim_signer *s;
	const struct buf *msg;
	long n;
	int failed;
	struct err e;
};

static void *
bench_run(void *arg)
{
	struct bench *b = arg;
	struct dkim_ctx *x = dkim_ctx_new(b->s);
	struct buf out;
	long i;

	buf_init(&out, LIMIT_DKIM_SIGNATURES);
	for (i = 0; i < b->n && !b->failed; i++) {
		buf_reset(&out);
		if (dkim_ctx_sign(x, b->msg->data, b->msg->len, &out,
		    &b->e) < 0)
			b->failed = 1;
	}
	buf_free(&out);
	dkim_ctx_free(x);
	return NULL;
}

/* n signatures in each of nthreads threads sharing the signer. */
static int
bench(const struct dkim_signer *s, const struct buf *msg, long n,
    int nthreads, struct err *e)
{
	struct bench b[SAMPLE_THREADS];
	pthread_t th[SAMPLE_THREADS];
	double t0, t;
	int i, rc = 0;

	t0 = now();
	for (i = 0; i < nthreads; i++) {
		b[i] = (struct bench){ .s = s, .msg = msg, .n = n };
		if (pthread_create(&th[i], NULL, bench_run, &b[i]) != 0)
			abort();
	}
	for (i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		if (b[i].failed && rc == 0) {
			*e = b[i].e;
			rc = -1;
		}
	}
	t = now() - t0;
	if (rc == 0)
		printf("threads=%d signatures=%ld usec_per_message=%.1f "
		    "messages_per_second=%.0f\n", nthreads, n * nthreads,
		    t / (double)(n * nthreads) * 1e6,
		    (double)(n * nthreads) / t);
	return rc;
}

static int
sign(const struct dkim_signer *s, const struct buf *msg, struct err *e)
{
	struct buf out;
	int rc = 0;

	buf_init(&out, LIMIT_DKIM_SIGNATURES);
	if (dkim_signer_sign(s, msg->data, msg->len, &out, e) < 0)
		rc = -1;
	else if (fwrite(out.data, 1, out.len, stdout) != out.len ||
	    fwrite(msg->data, 1, msg->len, stdout) != msg->len ||
	    fflush(stdout) != 0)
		rc = err_set(e, EX_IOERR, "write error");
	buf_free(&out);
	return rc;
}

static int
read_stdin(struct buf *b)
{
	char chunk[65536];
	size_t n;

	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		if (buf_add(b, chunk, n) < 0)
			return -1;
	return ferror(stdin) ? -1 : 0;
}

int
main(int argc, char **argv)
{
	struct dkim_key_conf keys[SAMPLE_KEYS];
	struct dkim_signer *s = NULL;
	struct err e = { 0 };
	struct buf msg;
	long n = 0;
	int i = 1, nkeys = 0, nthreads = 1, rc;

	if (i + 1 < argc && strcmp(argv[i], "--bench") == 0) {
		n = strtol(argv[i + 1], NULL, 10);
		i += 2;
	}
	if (n > 0 && i + 1 < argc && strcmp(argv[i], "--threads") == 0) {
		nthreads = (int)strtol(argv[i + 1], NULL, 10);
		i += 2;
	}
	if (n < 0 || nthreads < 1 || nthreads > SAMPLE_THREADS)
		return usage();
	for (; i < argc; i++)
		if (nkeys == SAMPLE_KEYS || key_arg(argv[i], &keys[nkeys++]) < 0)
			return usage();
	buf_init(&msg, LIMIT_MESSAGE);
	if (read_stdin(&msg) < 0) {
		fprintf(stderr, "dkim_sample: stdin: read error or over %d "
		    "bytes\n", LIMIT_MESSAGE);
		buf_free(&msg);
		return EX_DATAERR;
	}
	rc = dkim_signer_open(keys, nkeys, &s, &e);
	if (rc == 0)
		rc = n > 0 ? bench(s, &msg, n, nthreads, &e) :
		    sign(s, &msg, &e);
	if (rc < 0)
		fprintf(stderr, "dkim_sample: %s\n", e.msg);
	dkim_signer_close(s);
	buf_free(&msg);
	return rc < 0 ? e.code : 0;
}
