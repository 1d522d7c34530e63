/*
 * import.c - CSV and JSON Lines import; see import.h.
 *
 * The CSV file is fed to libcsv one physical line at a time so that every
 * row knows the line it started on, even when a quoted field spans lines.
 * Fields of the current row are kept in one bounded buffer; nothing else
 * grows with the file.
 */
#include <ctype.h>
#include <csv.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistr.h>

#include "addr.h"
#include "buf.h"
#include "import.h"
#include "limits.h"
#include "store.h"
#include "xalloc.h"

#define IMPORT_CHUNK	(64 * 1024)

struct row {
	struct buf data;		/* fields, each NUL-terminated */
	size_t off[LIMIT_IMPORT_COLUMNS];
	size_t len[LIMIT_IMPORT_COLUMNS];
	const char *ptr[LIMIT_IMPORT_COLUMNS];
	int n;
	int overflow;			/* more than LIMIT_IMPORT_COLUMNS */
	int too_long;			/* over the row buffer's maximum */
};

struct importer {
	struct store_import *im;
	const char *file;
	const struct import_opts *opts;
	struct import_stats *stats;
	import_cb cb;
	void *ctx;
	struct err *e;
	int failed;			/* a fatal error is in e */

	int64_t line;			/* physical line being fed */
	int64_t row_line;		/* line the current row started on */
	int between_rows;
	int field_too_long;		/* fatal, reported by csv_feed() */
	int long_col;			/* ... in this column, from 0 */
	struct row row;

	/* CSV header */
	int have_header;
	int ncols;
	int email_col;
	char *header[LIMIT_IMPORT_COLUMNS];
};

static void
row_reset(struct row *r)
{
	buf_reset(&r->data);
	r->n = 0;
	r->overflow = 0;
	r->too_long = 0;
}

/* Points ptr[] at the fields; valid until the buffer next grows. */
static void
row_finish(struct row *r)
{
	int i;

	for (i = 0; i < r->n; i++)
		r->ptr[i] = r->data.data + r->off[i];
}

static void
import_event(struct importer *ip, enum import_event_kind kind,
    int64_t first_line, const char *reason)
{
	struct import_event ev;

	if (ip->cb == NULL)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.file = ip->file;
	ev.line = ip->row_line;
	ev.first_line = first_line;
	ev.reason = reason;
	ev.nfields = ip->row.n;
	ev.fields = ip->row.ptr;
	ev.lens = ip->row.len;
	if (ip->have_header) {
		ev.nheader = ip->ncols;
		ev.header = (const char *const *)ip->header;
	}
	ip->cb(&ev, ip->ctx);
}

static void
import_reject(struct importer *ip, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
import_reject(struct importer *ip, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	ip->stats->rejected++;
	import_event(ip, IMPORT_REJECT, 0, reason);
}

static int
import_fatal(struct importer *ip, int code, const char *fmt, const char *arg)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, arg);
	ip->failed = 1;
	return err_set(ip->e, code, "%s:%lld: %s", ip->file,
	    (long long)ip->row_line, msg);
}

/* Writes one recipient; attrs is a JSON object. */
static int
import_write(struct importer *ip, const char *email, size_t len,
    json_t *attrs, const char *field)
{
	enum import_outcome outcome;
	struct addr a;
	struct err ae;
	int64_t dup;
	char *text;
	int joined;

	if (addr_parse(email, len, &a, &ae) < 0) {
		import_reject(ip, "%s: %s", field, ae.msg);
		return 0;
	}
	text = json_dumps(attrs, JSON_COMPACT);
	if (text == NULL || strlen(text) > LIMIT_ATTRS) {
		import_reject(ip, "attributes are larger than %d bytes",
		    LIMIT_ATTRS);
		free(text);
		return 0;
	}
	if (store_import_row(ip->im, &a, text, ip->row_line, &outcome, &joined,
	    &dup, ip->e) < 0) {
		free(text);
		ip->failed = 1;
		return -1;
	}
	free(text);
	if (outcome == IMPORT_TOO_LARGE) {
		import_reject(ip, "attributes merged with the stored ones are "
		    "larger than %d bytes", LIMIT_ATTRS);
		return 0;
	}
	ip->stats->added += outcome == IMPORT_ADDED;
	ip->stats->updated += outcome == IMPORT_UPDATED;
	ip->stats->unchanged += outcome == IMPORT_UNCHANGED;
	ip->stats->duplicates += outcome == IMPORT_DUPLICATE;
	ip->stats->joined += joined;
	if (outcome == IMPORT_DUPLICATE)
		import_event(ip, IMPORT_DUPLICATE_ROW, dup, NULL);
	return 0;
}

/* ------------------------------------------------------------------ CSV */

/*
 * A cell's JSON value. Typed only when it prints back exactly as written,
 * so "007", "1.50" and "+49..." stay text and nothing is lost.
 */
static json_t *
cell_value(const char *s, size_t n, int all_text)
{
	json_t *v;
	char *text;
	size_t i;

	if (all_text || n == 0 || n > 15)
		return json_stringn(s, n);
	if (n == 4 && memcmp(s, "true", 4) == 0)
		return json_true();
	if (n == 5 && memcmp(s, "false", 5) == 0)
		return json_false();
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]) && s[i] != '.')
			return json_stringn(s, n);
	if (memchr(s, '.', n) == NULL)
		v = json_integer(strtoll(s, NULL, 10));
	else
		v = json_real(strtod(s, NULL));
	text = json_dumps(v, JSON_ENCODE_ANY);
	if (text == NULL || strlen(text) != n || memcmp(text, s, n) != 0) {
		json_decref(v);
		v = json_stringn(s, n);
	}
	free(text);
	return v;
}

/* Sets attrs[path] = v, path split at dots into nested objects. */
static int
attrs_set(json_t *attrs, const char *path, json_t *v)
{
	const char *dot;
	json_t *obj = attrs, *next;
	char key[256];

	while ((dot = strchr(path, '.')) != NULL) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		next = json_object_get(obj, key);
		if (next == NULL) {
			next = json_object();
			json_object_set_new(obj, key, next);
		} else if (!json_is_object(next)) {
			json_decref(v);
			return -1;
		}
		obj = next;
		path = dot + 1;
	}
	return json_object_set_new(obj, path, v);
}

static int
has_control(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 32 || s[i] == 127)
			return 1;
	return 0;
}

static int
csv_header(struct importer *ip)
{
	const char *want = ip->opts->email_column ? ip->opts->email_column :
	    "email";
	int i, j;

	if (ip->row.overflow || ip->row.too_long)
		return import_fatal(ip, EX_DATAERR, "header has more than %s "
		    "columns or is too long", "512");
	ip->ncols = ip->row.n;
	ip->email_col = -1;
	for (i = 0; i < ip->row.n; i++) {
		const char *h = ip->row.ptr[i];
		size_t n = ip->row.len[i];

		ip->header[i] = xstrndup(h, n);
		ip->have_header = 1;
		if (n == 0 || n > 200 || u8_check((const uint8_t *)h, n) ||
		    strlen(h) != n || h[0] == '.' || h[n - 1] == '.' ||
		    strstr(h, "..") != NULL || has_control(h, n)) {
			char what[64];

			snprintf(what, sizeof(what), "column %d", i + 1);
			return import_fatal(ip, EX_DATAERR, "header: %s has an "
			    "empty, overlong or invalid name", what);
		}
		if (strcasecmp(h, want) == 0 && ip->email_col < 0)
			ip->email_col = i;
	}
	for (i = 0; i < ip->ncols; i++)
		for (j = 0; j < ip->ncols; j++) {
			size_t n = strlen(ip->header[i]);

			if (i != j && strncmp(ip->header[i], ip->header[j],
			    n) == 0 && (ip->header[j][n] == '\0' ? i < j :
			    ip->header[j][n] == '.'))
				return import_fatal(ip, EX_DATAERR, "header: "
				    "column \"%s\" appears twice or clashes "
				    "with a nested column", ip->header[i]);
		}
	if (ip->email_col < 0)
		return import_fatal(ip, EX_DATAERR, "header has no column "
		    "named \"%s\" (name it with --email-column)", want);
	return 0;
}

static int
csv_record(struct importer *ip)
{
	const struct row *r = &ip->row;
	json_t *attrs;
	int i, rc;

	ip->stats->rows++;
	if (r->overflow || r->too_long) {
		if (r->overflow)
			import_reject(ip, "more than %d fields",
			    LIMIT_IMPORT_COLUMNS);
		else
			import_reject(ip, "the row is longer than %zu bytes",
			    r->data.max);
		return 0;
	}
	if (r->n != ip->ncols) {
		import_reject(ip, "%d fields where the header has %d", r->n,
		    ip->ncols);
		return 0;
	}
	for (i = 0; i < r->n; i++) {
		/* csvout.c writes '=x for =x; reading it back undoes that, so
		 * an export imports as the same recipients and values. */
		if (r->len[i] >= 2 && r->ptr[i][0] == '\'' &&
		    strchr("=+-@\t\r", r->ptr[i][1]) != NULL) {
			ip->row.ptr[i]++;
			ip->row.len[i]--;
		}
		if (u8_check((const uint8_t *)r->ptr[i], r->len[i]) != NULL ||
		    memchr(r->ptr[i], '\0', r->len[i]) != NULL) {
			import_reject(ip, "column %d (%s): not valid UTF-8 text",
			    i + 1, ip->header[i]);
			return 0;
		}
	}
	attrs = json_object();
	for (i = 0; i < r->n; i++) {
		if (i == ip->email_col || r->len[i] == 0)
			continue;
		if (strchr("=+-@", r->ptr[i][0]) != NULL)
			rc = attrs_set(attrs, ip->header[i],
			    json_stringn(r->ptr[i], r->len[i]));
		else
			rc = attrs_set(attrs, ip->header[i], cell_value(
			    r->ptr[i], r->len[i], ip->opts->all_text));
		if (rc < 0) {
			json_decref(attrs);
			import_reject(ip, "column %d (%s): cannot be stored",
			    i + 1, ip->header[i]);
			return 0;
		}
	}
	{
		char field[256];

		snprintf(field, sizeof(field), "column %d (%s)",
		    ip->email_col + 1, ip->header[ip->email_col]);
		rc = import_write(ip, r->ptr[ip->email_col],
		    r->len[ip->email_col], attrs, field);
	}
	json_decref(attrs);
	return rc;
}

static void
csv_on_field(void *field, size_t len, void *data)
{
	struct importer *ip = data;
	struct row *r = &ip->row;

	if (ip->failed || r->overflow || r->too_long)
		return;
	if (len > LIMIT_IMPORT_FIELD) {
		ip->field_too_long = 1;
		ip->long_col = r->n;
		return;
	}
	if (r->n >= LIMIT_IMPORT_COLUMNS) {
		r->overflow = 1;
		return;
	}
	r->off[r->n] = r->data.len;
	r->len[r->n] = len;
	if (buf_add(&r->data, field, len) < 0 || buf_addc(&r->data, '\0') < 0) {
		r->too_long = 1;
		return;
	}
	r->n++;
}

static void
csv_on_row(int c, void *data)
{
	struct importer *ip = data;
	struct row *r = &ip->row;
	int i, blank = 1;

	(void)c;
	if (!ip->failed) {
		row_finish(r);
		for (i = 0; i < r->n; i++)
			if (r->len[i] > 0)
				blank = 0;
		/* A line of spaces is as empty as an empty line. */
		if (!blank || r->overflow || r->too_long) {
			if (!ip->have_header)
				(void)csv_header(ip);
			else
				(void)csv_record(ip);
		}
	}
	row_reset(r);
	ip->between_rows = 1;
}

/* Blanks and line ends only: libcsv skips such a line without a callback. */
static int
csv_blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strchr(" \t\r\n", s[i]) == NULL || s[i] == '\0')
			return 0;
	return 1;
}

static int
csv_field_too_long(struct importer *ip)
{
	char what[320];
	int col = ip->long_col;

	if (ip->have_header && col < ip->ncols)
		snprintf(what, sizeof(what), "column %d (%s): a field is longer "
		    "than %d bytes", col + 1, ip->header[col],
		    LIMIT_IMPORT_FIELD);
	else
		snprintf(what, sizeof(what), "column %d: a field is longer than "
		    "%d bytes", col + 1, LIMIT_IMPORT_FIELD);
	return import_fatal(ip, EX_DATAERR, "%s", what);
}

static int
csv_feed(struct importer *ip, struct csv_parser *p, const char *s, size_t n)
{
	/* A blank line starts no row, so the next line may still be the
	 * first of one. */
	if (ip->between_rows) {
		ip->row_line = ip->line;
		ip->between_rows = csv_blank(s, n);
	}
	if (csv_parse(p, s, n, csv_on_field, csv_on_row, ip) != n) {
		if (ip->failed)
			return -1;
		ip->row_line = ip->line;
		return import_fatal(ip, EX_DATAERR, "malformed CSV: %s (a "
		    "quote inside an unquoted field, or text after a closing "
		    "quote)", csv_strerror(csv_error(p)));
	}
	if (ip->failed)
		return -1;
	/* libcsv grows its field buffer without limit, so an unfinished
	 * field is bounded here, a finished one in csv_on_field(). */
	if (ip->field_too_long ||
	    csv_get_buffer_size(p) > LIMIT_IMPORT_FIELD + 1024) {
		if (!ip->field_too_long)
			ip->long_col = ip->row.n;	/* the one being read */
		return csv_field_too_long(ip);
	}
	return 0;
}

static int
import_csv(struct importer *ip, FILE *fp)
{
	struct csv_parser p;
	char *chunk = xmalloc(IMPORT_CHUNK);
	size_t n, i, start;
	int first = 1, rc = -1;

	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
		free(chunk);
		return err_set(ip->e, EX_SOFTWARE, "libcsv: out of memory");
	}
	ip->line = 1;
	ip->between_rows = 1;
	while ((n = fread(chunk, 1, IMPORT_CHUNK, fp)) > 0) {
		start = 0;
		if (first && n >= 3 && memcmp(chunk, "\xef\xbb\xbf", 3) == 0)
			start = 3;
		first = 0;
		for (i = start; i < n; i++) {
			if (chunk[i] != '\n')
				continue;
			if (csv_feed(ip, &p, chunk + start, i + 1 - start) < 0)
				goto out;
			ip->line++;
			start = i + 1;
		}
		if (start < n && csv_feed(ip, &p, chunk + start, n - start) < 0)
			goto out;
	}
	if (ferror(fp)) {
		err_set(ip->e, EX_IOERR, "%s: read error: %s", ip->file,
		    strerror(errno));
		goto out;
	}
	if (csv_fini(&p, csv_on_field, csv_on_row, ip) != 0) {
		if (!ip->failed)
			import_fatal(ip, EX_DATAERR, "malformed CSV at the end "
			    "of the file: %s", "a quoted field is not closed");
		goto out;
	}
	if (ip->failed)
		goto out;
	if (!ip->have_header) {
		err_set(ip->e, EX_DATAERR, "%s: the file is empty (expected a "
		    "header row)", ip->file);
		goto out;
	}
	rc = 0;
out:
	csv_free(&p);
	free(chunk);
	return rc;
}

/* ----------------------------------------------------------- JSON Lines */

/* Reads one line into b, at most max bytes; *long_line when it was cut. */
static int
read_line(FILE *fp, struct buf *b, int *long_line)
{
	int c;

	buf_reset(b);
	*long_line = 0;
	while ((c = getc(fp)) != EOF) {
		if (c == '\n')
			return 1;
		if (buf_addc(b, (char)c) < 0)
			*long_line = 1;
	}
	return b->len > 0 || *long_line;
}

static int
jsonl_record(struct importer *ip, const char *s, size_t n)
{
	const char *want = ip->opts->email_column ? ip->opts->email_column :
	    "email";
	json_error_t jerr;
	json_t *obj, *email;
	int rc;

	ip->stats->rows++;
	obj = json_loadb(s, n, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL) {
		import_reject(ip, "column %d: invalid JSON: %s", jerr.column,
		    jerr.text);
		return 0;
	}
	if (!json_is_object(obj)) {
		json_decref(obj);
		import_reject(ip, "not a JSON object");
		return 0;
	}
	email = json_object_get(obj, want);
	if (!json_is_string(email)) {
		json_decref(obj);
		import_reject(ip, "no string member \"%s\"", want);
		return 0;
	}
	json_incref(email);
	json_object_del(obj, want);
	{
		char field[256];

		snprintf(field, sizeof(field), "member \"%s\"", want);
		rc = import_write(ip, json_string_value(email),
		    json_string_length(email), obj, field);
	}
	json_decref(email);
	json_decref(obj);
	return rc;
}

static int
import_jsonl(struct importer *ip, FILE *fp)
{
	struct buf line;
	int long_line, rc = 0;
	const char *s;
	size_t n;

	buf_init(&line, LIMIT_IMPORT_LINE);
	for (ip->line = 1; read_line(fp, &line, &long_line); ip->line++) {
		ip->row_line = ip->line;
		s = buf_str(&line);
		n = line.len;
		if (ip->line == 1 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
			s += 3, n -= 3;
		while (n > 0 && isspace((unsigned char)s[n - 1]))
			n--;
		ip->row.n = 1;
		ip->row.ptr[0] = s;
		ip->row.len[0] = n;
		if (long_line) {
			ip->stats->rows++;
			import_reject(ip, "line is longer than %d bytes",
			    LIMIT_IMPORT_LINE);
			continue;
		}
		if (n == 0)
			continue;
		if ((rc = jsonl_record(ip, s, n)) < 0)
			break;
	}
	ip->row.n = 0;
	if (rc == 0 && ferror(fp))
		rc = err_set(ip->e, EX_IOERR, "%s: read error: %s", ip->file,
		    strerror(errno));
	buf_free(&line);
	return rc;
}

/* ---------------------------------------------------------------- common */

static enum import_format
import_guess(const char *path, enum import_format f)
{
	const char *dot = strrchr(path, '.');

	if (f != IMPORT_AUTO)
		return f;
	if (dot != NULL && (strcasecmp(dot, ".jsonl") == 0 ||
	    strcasecmp(dot, ".ndjson") == 0))
		return IMPORT_JSONL;
	return IMPORT_CSV;
}

static FILE *
import_open(const char *path, struct err *e)
{
	FILE *fp;

	if (strcmp(path, "-") == 0)
		return stdin;
	fp = fopen(path, "rb");
	if (fp == NULL)
		err_set(e, errno == ENOENT ? EX_NOINPUT : EX_IOERR, "%s: %s",
		    path, strerror(errno));
	return fp;
}

int
import_file(struct store *st, const char *list, const char *path,
    const struct import_opts *opts, struct import_stats *stats,
    import_cb cb, void *ctx, struct err *e)
{
	struct importer ip;
	FILE *fp;
	int i, rc;

	memset(stats, 0, sizeof(*stats));
	if ((fp = import_open(path, e)) == NULL)
		return -1;
	memset(&ip, 0, sizeof(ip));
	ip.file = strcmp(path, "-") == 0 ? "<stdin>" : path;
	ip.opts = opts;
	ip.stats = stats;
	ip.cb = cb;
	ip.ctx = ctx;
	ip.e = e;
	buf_init(&ip.row.data, LIMIT_IMPORT_FIELD * 4);
	rc = store_import_begin(st, list, opts->create_list, &ip.im, e);
	if (rc == 0) {
		stats->created_list = store_import_created_list(ip.im);
		if (import_guess(path, opts->format) == IMPORT_JSONL)
			rc = import_jsonl(&ip, fp);
		else
			rc = import_csv(&ip, fp);
		if (rc == 0 && opts->strict && stats->rejected > 0)
			rc = err_set(e, EX_DATAERR, "%s: %lld row(s) rejected; "
			    "nothing imported (--strict)", ip.file,
			    (long long)stats->rejected);
		if (store_import_finish(ip.im, rc == 0, rc == 0 ? e : NULL) < 0)
			rc = -1;
	}
	for (i = 0; i < ip.ncols; i++)
		free(ip.header[i]);
	buf_free(&ip.row.data);
	if (fp != stdin)
		fclose(fp);
	return rc;
}

/* --------------------------------------------------------- suppressions */

int
import_suppression_target(const char *s, size_t len, const char **kind,
    char *value, size_t n, struct err *e)
{
	struct addr a;

	if (len > 0 && s[0] == '@') {
		*kind = "domain";
		return addr_domain(s + 1, len - 1, value, n, e);
	}
	if (memchr(s, '@', len) == NULL) {
		*kind = "domain";
		return addr_domain(s, len, value, n, e);
	}
	*kind = "address";
	if (addr_parse(s, len, &a, e) < 0)
		return -1;
	if (strlen(a.key) + 1 > n)
		return err_set(e, EX_DATAERR, "address is too long");
	memcpy(value, a.key, strlen(a.key) + 1);
	return 0;
}

int
import_suppressions(struct store *st, const char *path, const char *list,
    const char *reason, int strict, struct suppress_stats *stats,
    import_cb cb, void *ctx, struct err *e)
{
	struct importer ip;
	struct buf line;
	char value[LIMIT_ADDR * 2 + 1];
	const char *kind, *s;
	struct err le;
	int long_line, added, rc = -1;
	int64_t list_id;
	size_t n;
	FILE *fp;

	memset(stats, 0, sizeof(*stats));
	if ((fp = import_open(path, e)) == NULL)
		return -1;
	memset(&ip, 0, sizeof(ip));
	ip.file = strcmp(path, "-") == 0 ? "<stdin>" : path;
	ip.cb = cb;
	ip.ctx = ctx;
	buf_init(&line, LIMIT_ADDR * 4);
	if (store_begin(st, e) < 0)
		goto out;
	/* An unknown list is an error even when no line gets that far. */
	if (list != NULL && store_list_id(st, list, &list_id, e) < 0)
		goto out;
	for (ip.line = 1; read_line(fp, &line, &long_line); ip.line++) {
		ip.row_line = ip.line;
		s = buf_str(&line);
		n = line.len;
		if (ip.line == 1 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
			s += 3, n -= 3;
		while (n > 0 && isspace((unsigned char)*s))
			s++, n--;
		while (n > 0 && isspace((unsigned char)s[n - 1]))
			n--;
		if (n == 0 || s[0] == '#' || (ip.line == 1 && n == 5 &&
		    strncasecmp(s, "email", 5) == 0))
			continue;
		ip.row.n = 1;
		ip.row.ptr[0] = s;
		ip.row.len[0] = n;
		stats->lines++;
		if (long_line || import_suppression_target(s, n, &kind, value,
		    sizeof(value), &le) < 0) {
			stats->rejected++;
			import_event(&ip, IMPORT_REJECT, 0, long_line ?
			    "line is too long" : le.msg);
			continue;
		}
		if (store_suppress_add(st, kind, value, list, reason, "import",
		    &added, e) < 0)
			goto out;
		stats->added += added;
		stats->existing += !added;
	}
	if (ferror(fp)) {
		err_set(e, EX_IOERR, "%s: read error: %s", ip.file,
		    strerror(errno));
		goto out;
	}
	if (strict && stats->rejected > 0) {
		err_set(e, EX_DATAERR, "%s: %lld line(s) rejected; nothing "
		    "imported (--strict)", ip.file, (long long)stats->rejected);
		goto out;
	}
	rc = store_commit(st, e);
out:
	if (rc < 0)
		store_rollback(st);
	buf_free(&line);
	if (fp != stdin)
		fclose(fp);
	return rc;
}
