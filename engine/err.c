/*
 * err.c - error records; see err.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

int
err_set(struct err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void
err_prefix(struct err *e, const char *fmt, ...)
{
	char head[256], old[LIMIT_ERR_MSG];
	va_list ap;

	if (e == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	/* The message is cut only where the whole would not fit, whatever
	   the prefix's length. */
	snprintf(e->msg, sizeof(e->msg), "%s: %.*s", head,
	    (int)(sizeof(e->msg) - strlen(head) - 3), old);
}

void
err_clear(struct err *e)
{
	e->code = 0;
	e->msg[0] = '\0';
}
