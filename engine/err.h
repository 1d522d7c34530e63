/*
 * err.h - the one way Postbote reports a failure.
 *
 * A fallible function returns 0 on success or -1 on failure and fills a
 * caller-owned struct err with a sysexits(3) code and one human message that
 * already names the file, line, column or field at fault. The CLI prints the
 * message once and exits with the code. Not thread-safe per struct; each
 * thread passes its own.
 */
#ifndef POSTBOTE_ERR_H
#define POSTBOTE_ERR_H

#include <sysexits.h>
#include "limits.h"

#define WUR __attribute__((warn_unused_result))

struct err {
	int code;		/* EX_* from sysexits.h; 0 when no error */
	char msg[LIMIT_ERR_MSG];
};

/* Records code and message; returns -1 so callers can `return err_set(...)`. */
int err_set(struct err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an error already set, e.g. the file name. */
void err_prefix(struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void err_clear(struct err *e);

#endif
