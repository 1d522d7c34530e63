/*
 * secret.h - reading a password or key from a file that must be ours
 * alone: ssh's rule, for SMTP passwords and webhook secrets alike.
 */
#ifndef POSTBOTE_SECRET_H
#define POSTBOTE_SECRET_H

#include <stddef.h>
#include "err.h"

/*
 * The first line of the regular file path (not a symlink), into out (n
 * bytes, NUL-terminated; *len its length when len is not NULL). Refused
 * with EX_CONFIG when group or others may read the file, when the
 * secret is empty or longer than n - 1 bytes; what names it in
 * messages ("password", "secret").
 */
int secret_read(const char *path, const char *what, char *out, size_t n,
    size_t *len, struct err *e) WUR;

#endif
