/*
 * buf.h - the one growable byte buffer, with a maximum fixed at creation.
 *
 * Like curl's dynbuf: every buffer that grows with outside input says up
 * front how large it may get, and an append past that fails instead of
 * growing. The contents are always NUL-terminated (not counted in len), so
 * text can be handed to C string functions. Not thread-safe.
 */
#ifndef POSTBOTE_BUF_H
#define POSTBOTE_BUF_H

#include <stddef.h>
#include "err.h"

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;		/* len never exceeds this */
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);

/* Makes room for n more bytes at once; -1 past max. */
int buf_reserve(struct buf *b, size_t n) WUR;

/* Each returns 0, or -1 (and leaves the buffer unchanged) past max. */
int buf_add(struct buf *b, const void *p, size_t n) WUR;
int buf_adds(struct buf *b, const char *s) WUR;
int buf_addc(struct buf *b, char c) WUR;
int buf_printf(struct buf *b, const char *fmt, ...) WUR
	__attribute__((format(printf, 2, 3)));

/* Never NULL: an empty buffer reads as "". */
const char *buf_str(const struct buf *b);

#endif
