/*
 * segment.h - the segment language: which members of a list a campaign
 * reaches.
 *
 * A segment is a boolean expression over recipient attributes:
 *
 *     country = 'DE' and plan in ('pro', 'team')
 *     seats >= 5 and not (trial is set)
 *     address.city starts with 'Ber' or email ends with '@example.com'
 *
 * segment_compile() parses it with our own grammar and emits an SQL
 * expression over the recipients table (alias r) in which every attribute
 * path and every literal is a bound parameter (?100, ?101, ...): the text
 * of the expression never reaches the SQL. The store then prepares it under
 * an authorizer and a time limit (store_segment.c) as a second wall.
 *
 * Comparisons are two-valued: one on a missing attribute is false, and its
 * negated forms (!=, not in, not contains) are true. Pure, thread-safe.
 */
#ifndef POSTBOTE_SEGMENT_H
#define POSTBOTE_SEGMENT_H

#include <stdint.h>
#include "buf.h"
#include "err.h"
#include "limits.h"

#define SEGMENT_PARAM_BASE	100

enum segment_type { SEGMENT_TEXT, SEGMENT_INT, SEGMENT_REAL };

struct segment_param {
	enum segment_type type;
	char *text;
	int64_t i;
	double d;
};

struct segment {
	struct buf sql;
	int nparams;
	struct segment_param params[LIMIT_SEGMENT_PARAMS];
};

/* EX_DATAERR with "column N: ..." on a syntax error or a limit. */
int segment_compile(const char *expr, struct segment **out,
    struct err *e) WUR;
void segment_free(struct segment *seg);

#endif
