/*
 * out.c - tables, JSON and summaries; see cli.h.
 *
 * On a terminal a table is aligned: the first OUT_MEASURE rows are held
 * back to measure the columns, later rows stream with those widths, so a
 * listing of a million suppressions does not sit in memory.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistr.h>

#include "cli.h"
#include "xalloc.h"

#define OUT_MEASURE	200

void
out_table_begin(struct table *t, int tty, int ncols, const char *const *head)
{
	int i;

	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->tty = tty;
	for (i = 0; i < ncols; i++) {
		t->head[i] = head[i];
		t->width[i] = (int)u8_mbsnlen((const uint8_t *)head[i],
		    strlen(head[i]));
	}
	t->rows = xcalloc(OUT_MEASURE * (size_t)ncols, sizeof(char *));
}

/* Cells never carry a tab, a line break or a terminal escape out. */
static void
out_text(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '\t' || ch == '\n' || ch == '\r')
			putchar(' ');
		else
			putchar(ch < 32 || ch == 127 ? '?' : ch);
	}
}

static void
out_line(const struct table *t, const char *const *cells)
{
	int i, len;

	for (i = 0; i < t->ncols; i++) {
		const char *s = cells[i] ? cells[i] : "";

		out_text(s);
		if (i == t->ncols - 1)
			break;
		if (!t->tty) {
			putchar('\t');
			continue;
		}
		/* Pad by characters, not bytes. */
		len = (int)u8_mbsnlen((const uint8_t *)s, strlen(s));
		for (; len < t->width[i] + 2; len++)
			putchar(' ');
	}
	putchar('\n');
}

static void
out_flush(struct table *t)
{
	int r, i;

	if (t->flushed)
		return;
	t->flushed = 1;
	if (t->tty)
		out_line(t, t->head);
	for (r = 0; r < t->nrows; r++) {
		out_line(t, (const char *const *)&t->rows[r * t->ncols]);
		for (i = 0; i < t->ncols; i++)
			free(t->rows[r * t->ncols + i]);
	}
	t->nrows = 0;
}

int
out_table_row(struct table *t, const char *const *cells)
{
	int i;

	if (!t->tty || t->flushed) {
		out_flush(t);
		out_line(t, cells);
		return ferror(stdout) ? -1 : 0;
	}
	for (i = 0; i < t->ncols; i++) {
		const char *s = cells[i] ? cells[i] : "";
		int w = (int)u8_mbsnlen((const uint8_t *)s, strlen(s));

		if (w > t->width[i])
			t->width[i] = w > 60 ? 60 : w;
		t->rows[t->nrows * t->ncols + i] = xstrdup(s);
	}
	if (++t->nrows == OUT_MEASURE)
		out_flush(t);
	return 0;
}

int
out_table_end(struct table *t)
{
	out_flush(t);
	free(t->rows);
	t->rows = NULL;
	return ferror(stdout) ? -1 : 0;
}

void
out_jarr_begin(struct jarr *a)
{
	a->on = 1;
	a->n = 0;
	putchar('[');
}

int
out_jarr_add(struct jarr *a, json_t *v)
{
	int rc;

	fputs(a->n++ ? ",\n" : "\n", stdout);
	rc = json_dumpf(v, stdout, JSON_COMPACT);
	json_decref(v);
	return rc == 0 && !ferror(stdout) ? 0 : -1;
}

void
out_jarr_end(struct jarr *a)
{
	fputs(a->n ? "\n]\n" : "]\n", stdout);
}

int
out_json(struct cli *c, json_t *v)
{
	int rc = json_dumpf(v, stdout, (c->tty ? JSON_INDENT(2) :
	    JSON_COMPACT) | JSON_ENCODE_ANY);

	putchar('\n');
	json_decref(v);
	return rc;
}

const char *
out_time(int64_t ms, char *buf, size_t n)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms == 0) {
		snprintf(buf, n, "-");
		return buf;
	}
	localtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%d %H:%M", &tm);
	return buf;
}

json_t *
out_json_time(int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[32];

	if (ms == 0)
		return json_null();
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

void
out_kv(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void
out_say(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->tty)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}
