/*
 * csvout.h - writing CSV that spreadsheets open safely.
 *
 * Every field is quoted by libcsv (RFC 4180), records end in CRLF, and a
 * cell that starts with = + - @, a tab or a carriage return gets a leading
 * apostrophe so that no spreadsheet runs it as a formula (CSV injection).
 * Not thread-safe per FILE.
 */
#ifndef POSTBOTE_CSVOUT_H
#define POSTBOTE_CSVOUT_H

#include <stddef.h>
#include <stdio.h>

/* first: this is the record's first field (no comma before it). */
int csvout_field(FILE *fp, const char *s, size_t n, int first);
int csvout_end(FILE *fp);
/* A whole record of NUL-terminated fields. */
int csvout_record(FILE *fp, int n, const char *const *fields);

#endif
