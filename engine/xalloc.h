/*
 * xalloc.h - allocation that cannot fail.
 *
 * As in OpenSMTPD, the x marks "never returns NULL": on exhaustion the
 * process prints one line and exits with EX_OSERR. Postbote's memory is
 * bounded by design, so running out means the machine is gone, and every
 * caller checking for NULL would only add untested paths.
 */
#ifndef POSTBOTE_XALLOC_H
#define POSTBOTE_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
