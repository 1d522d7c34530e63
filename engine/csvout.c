/*
 * csvout.c - safe CSV output; see csvout.h.
 */
#include <csv.h>
#include <string.h>

#include "buf.h"
#include "csvout.h"

int
csvout_field(FILE *fp, const char *s, size_t n, int first)
{
	if (!first && putc(',', fp) == EOF)
		return -1;
	/* s[0] != '\0': strchr() would find the terminator. */
	if (n > 0 && s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL) {
		struct buf b;
		int rc;

		buf_init(&b, n + 1);
		if (buf_addc(&b, '\'') < 0 || buf_add(&b, s, n) < 0)
			rc = -1;
		else
			rc = csv_fwrite(fp, b.data, b.len);
		buf_free(&b);
		return rc == 0 ? 0 : -1;
	}
	return csv_fwrite(fp, s, n) == 0 ? 0 : -1;
}

int
csvout_end(FILE *fp)
{
	return fputs("\r\n", fp) == EOF ? -1 : 0;
}

int
csvout_record(FILE *fp, int n, const char *const *fields)
{
	int i;

	for (i = 0; i < n; i++)
		if (csvout_field(fp, fields[i] ? fields[i] : "",
		    fields[i] ? strlen(fields[i]) : 0, i == 0) < 0)
			return -1;
	return csvout_end(fp);
}
