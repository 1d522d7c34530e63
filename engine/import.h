/*
 * import.h - reading recipient lists (CSV, JSON Lines) and suppression
 * files into the store.
 *
 * CSV is parsed by libcsv in strict mode: a header row names the columns,
 * the address column is "email" (or opts->email_column, matched without
 * regard to case) and every other column becomes an attribute; a column
 * named "a.b" becomes the nested attribute {"a": {"b": ...}}. A cell that
 * reads as a plain number (no sign, no leading zero, printing back as
 * written) or as true/false is stored typed, so segments and templates can
 * compare it as a number; everything else, and every cell starting with
 * = + - @ (spreadsheet formulas), is stored as text. A leading apostrophe
 * before one of those characters, which csvout.h writes to neutralise a
 * formula, is taken off again. Empty cells add no attribute.
 *
 * JSON Lines: one object per line with the address under "email"; every
 * other key is an attribute, nested values kept.
 *
 * A row that cannot be imported (bad address, invalid UTF-8, wrong field
 * count, bad JSON) is rejected and reported through the callback with its
 * line number; the other rows go in one transaction. A fault in the file
 * itself (unreadable, no header, malformed CSV quoting) fails the whole
 * import and leaves the store as it was, as does any rejected row when
 * opts->strict is set. Memory stays bounded whatever the file's size.
 */
#ifndef POSTBOTE_IMPORT_H
#define POSTBOTE_IMPORT_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"

struct store;

enum import_format { IMPORT_AUTO, IMPORT_CSV, IMPORT_JSONL };

struct import_opts {
	enum import_format format;	/* AUTO: by extension .jsonl/.ndjson */
	const char *email_column;	/* NULL: "email" */
	int strict;			/* any reject aborts the import */
	int create_list;		/* create the list when missing */
	int all_text;			/* store every cell as text */
};

struct import_stats {
	int64_t rows;		/* data rows read */
	int64_t added;		/* new recipients */
	int64_t updated;	/* known recipients whose attributes changed */
	int64_t unchanged;
	int64_t duplicates;	/* rows repeating an earlier row's address */
	int64_t joined;		/* recipients new to the list */
	int64_t rejected;
	int created_list;
};

enum import_event_kind { IMPORT_REJECT, IMPORT_DUPLICATE_ROW };

struct import_event {
	enum import_event_kind kind;
	const char *file;
	int64_t line;
	int64_t first_line;	/* IMPORT_DUPLICATE_ROW: the earlier row */
	const char *reason;	/* IMPORT_REJECT */
	/* The row as read: CSV fields, or the one JSON line. */
	int nfields;
	const char *const *fields;
	const size_t *lens;
	/* The CSV header (NULL for JSON Lines or a header reject). */
	int nheader;
	const char *const *header;
};

typedef void (*import_cb)(const struct import_event *ev, void *ctx);

/* path "-" reads standard input. */
int import_file(struct store *st, const char *list, const char *path,
    const struct import_opts *opts, struct import_stats *stats,
    import_cb cb, void *ctx, struct err *e) WUR;

/*
 * Suppression files: one entry per line, an address or "@domain"; blank
 * lines, "#" comments and a first line reading "email" are skipped. Bad
 * lines are rejected through the callback; the rest go in one transaction.
 */
struct suppress_stats {
	int64_t lines;
	int64_t added;
	int64_t existing;
	int64_t rejected;
};

int import_suppressions(struct store *st, const char *path, const char *list,
    const char *reason, int strict, struct suppress_stats *stats,
    import_cb cb, void *ctx, struct err *e) WUR;

/*
 * Parses one suppression target: "@domain" (or "domain" with dot and no
 * "@") gives kind "domain", anything else must be an address. value
 * receives the domain A-label or the address key.
 */
int import_suppression_target(const char *s, size_t len, const char **kind,
    char *value, size_t n, struct err *e) WUR;

#endif
