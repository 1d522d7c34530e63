/*
 * test_util.c - the bounded buffer (buf.h) and safe CSV output (csvout.h).
 *
 * buf cases are scripts: a maximum, then appends each expected to succeed
 * or fail, then the contents. A failed append must leave the buffer exactly
 * as it was, so every script checks the contents after its last step.
 */
#include "unit.h"

#include "buf.h"
#include "csvout.h"

/* ------------------------------------------------------------------ buf */

enum op { END, ADD, ADDC, PRINTF, RESET };

struct step {
	enum op op;
	const char *arg;	/* ADD, PRINTF ("%s" of arg); ADDC: arg[0] */
	int rc;
};

struct buf_case {
	const char *name;
	size_t max;
	struct step steps[8];
	const char *want;
};

static const struct buf_case buf_cases[] = {
	{ "buf: empty reads as \"\"", 8, { { END, NULL, 0 } }, "" },
	{ "buf: add up to max", 5, { { ADD, "hello", 0 } }, "hello" },
	{ "buf: add one past max", 5, { { ADD, "hello", 0 },
	    { ADD, "!", -1 } }, "hello" },
	{ "buf: add past max from empty", 4, { { ADD, "hello", -1 } }, "" },
	{ "buf: failed add keeps earlier text", 6, { { ADD, "abc", 0 },
	    { ADD, "defg", -1 }, { ADD, "def", 0 } }, "abcdef" },
	{ "buf: addc at the edge", 2, { { ADDC, "a", 0 }, { ADDC, "b", 0 },
	    { ADDC, "c", -1 } }, "ab" },
	{ "buf: empty add at max", 3, { { ADD, "abc", 0 }, { ADD, "", 0 } },
	    "abc" },
	{ "buf: max 0", 0, { { ADD, "", 0 }, { ADDC, "x", -1 },
	    { PRINTF, "", 0 } }, "" },
	{ "buf: printf up to max", 5, { { PRINTF, "hello", 0 } }, "hello" },
	{ "buf: printf one past max", 5, { { PRINTF, "hello!", -1 } }, "" },
	{ "buf: printf to the edge after add", 5, { { ADD, "he", 0 },
	    { PRINTF, "llo", 0 }, { PRINTF, "!", -1 } }, "hello" },
	{ "buf: printf past the edge after add", 5, { { ADD, "he", 0 },
	    { PRINTF, "llo!", -1 } }, "he" },
	{ "buf: printf of nothing", 5, { { PRINTF, "", 0 } }, "" },
	{ "buf: reset then reuse to max", 3, { { ADD, "abc", 0 },
	    { RESET, NULL, 0 }, { ADD, "xyz", 0 }, { ADD, "!", -1 } }, "xyz" },
};

static int
buf_step(struct buf *b, const struct step *s)
{
	switch (s->op) {
	case ADD:
		return buf_adds(b, s->arg);
	case ADDC:
		return buf_addc(b, s->arg[0]);
	case PRINTF:
		return buf_printf(b, "%s", s->arg);
	default:
		buf_reset(b);
		return 0;
	}
}

static void
t_buf(void **state)
{
	const struct buf_case *c = *state;
	const struct step *s;
	struct buf b;

	buf_init(&b, c->max);
	for (s = c->steps; s->op != END; s++) {
		assert_int_equal(buf_step(&b, s), s->rc);
		assert_true(b.len <= b.max);
		/* Always terminated, and never more room than max needs. */
		if (b.data != NULL) {
			assert_int_equal(b.data[b.len], '\0');
			assert_true(b.cap <= b.max + 1);
		}
	}
	assert_string_equal(buf_str(&b), c->want);
	assert_int_equal(b.len, strlen(c->want));
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
}

/* Growth past the first allocation, one byte at a time, up to max. */
static void
t_buf_growth(void **state)
{
	struct buf b;
	size_t i, max = 1000;

	(void)state;
	buf_init(&b, max);
	for (i = 0; i < max; i++)
		assert_int_equal(buf_addc(&b, (char)('a' + i % 26)), 0);
	assert_int_equal(buf_addc(&b, 'x'), -1);
	assert_int_equal(b.len, max);
	assert_int_equal(strlen(buf_str(&b)), max);
	for (i = 0; i < max; i++)
		assert_int_equal(b.data[i], 'a' + i % 26);
	assert_true(b.cap <= max + 1);
	buf_free(&b);
}

/* Bytes are bytes: a NUL inside counts toward len and the end is still
 * terminated. */
static void
t_buf_binary(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_add(&b, "a\0b", 3), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "a\0b", 4);
	buf_free(&b);
}

/* A length near SIZE_MAX must fail, not wrap around the bound check. */
static void
t_buf_huge(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 16);
	assert_int_equal(buf_add(&b, "abc", 3), 0);
	assert_int_equal(buf_add(&b, "x", SIZE_MAX), -1);
	assert_int_equal(buf_add(&b, "x", SIZE_MAX - 2), -1);
	assert_string_equal(buf_str(&b), "abc");
	buf_free(&b);
}

/* printf formats as printf does, right up to the edge. */
static void
t_buf_printf_format(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 12);
	assert_int_equal(buf_printf(&b, "%d-%s-%c", 42, "ab", 'z'), 0);
	assert_int_equal(buf_printf(&b, "%05d", 7), 0);
	assert_string_equal(buf_str(&b), "42-ab-z00007");
	assert_int_equal(buf_printf(&b, "%d", 1), -1);
	assert_string_equal(buf_str(&b), "42-ab-z00007");
	buf_free(&b);
}

static void
t_buf_free_null(void **state)
{
	(void)state;
	buf_free(NULL);
}

/* --------------------------------------------------------------- csvout */

struct csv_case {
	const char *name;
	int n;
	const char *fields[4];
	const char *want;
};

static const struct csv_case csv_cases[] = {
	{ "csv: plain fields quoted, CRLF", 2, { "a", "b" },
	    "\"a\",\"b\"\r\n" },
	{ "csv: formula =", 1, { "=SUM(A1)" }, "\"'=SUM(A1)\"\r\n" },
	{ "csv: formula +", 1, { "+49 30 1234" }, "\"'+49 30 1234\"\r\n" },
	{ "csv: formula -", 1, { "-1" }, "\"'-1\"\r\n" },
	{ "csv: formula @", 1, { "@x" }, "\"'@x\"\r\n" },
	{ "csv: leading tab", 1, { "\tx" }, "\"'\tx\"\r\n" },
	{ "csv: leading CR", 1, { "\rx" }, "\"'\rx\"\r\n" },
	{ "csv: formula with quotes", 1, { "=\"a\"&\"b\"" },
	    "\"'=\"\"a\"\"&\"\"b\"\"\"\r\n" },
	{ "csv: = later in the field is left alone", 1, { "a=b" },
	    "\"a=b\"\r\n" },
	{ "csv: quotes doubled", 1, { "say \"hi\"" },
	    "\"say \"\"hi\"\"\"\r\n" },
	{ "csv: comma kept inside quotes", 2, { "a,b", "c" },
	    "\"a,b\",\"c\"\r\n" },
	{ "csv: newlines kept inside quotes", 1, { "a\r\nb\nc" },
	    "\"a\r\nb\nc\"\r\n" },
	{ "csv: empty field", 3, { "", "x", "" }, "\"\",\"x\",\"\"\r\n" },
	{ "csv: NULL field is empty", 2, { NULL, "x" }, "\"\",\"x\"\r\n" },
	{ "csv: UTF-8 untouched", 1, { "Jürgen" }, "\"Jürgen\"\r\n" },
	{ "csv: no fields", 0, { NULL }, "\r\n" },
	{ "csv: mixed record", 4, { "a@b.de", "-5", "=1+1", "ok" },
	    "\"a@b.de\",\"'-5\",\"'=1+1\",\"ok\"\r\n" },
};

/* Everything written to fp, read back; the caller frees it. */
static char *
slurp(FILE *fp, size_t *len)
{
	long n;
	char *s;

	assert_int_equal(fflush(fp), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, fp), (size_t)n);
	s[n] = '\0';
	*len = (size_t)n;
	return s;
}

static void
t_csv(void **state)
{
	const struct csv_case *c = *state;
	FILE *fp = tmpfile();
	size_t len;
	char *got;

	assert_non_null(fp);
	assert_int_equal(csvout_record(fp, c->n, c->fields), 0);
	got = slurp(fp, &len);
	fclose(fp);
	assert_int_equal(len, strlen(c->want));
	assert_memory_equal(got, c->want, len);
	free(got);
}

/* Records follow one another; csvout_field honours n, not the NUL. */
static void
t_csv_fields(void **state)
{
	static const char want[] = "\"'=a\",\"bc\"\r\n\"x\"\r\n";
	static const char *const one[] = { "x" };
	FILE *fp = tmpfile();
	size_t len;
	char *got;

	(void)state;
	assert_non_null(fp);
	assert_int_equal(csvout_field(fp, "=abc", 2, 1), 0);
	assert_int_equal(csvout_field(fp, "bcd", 2, 0), 0);
	assert_int_equal(csvout_end(fp), 0);
	assert_int_equal(csvout_record(fp, 1, one), 0);
	got = slurp(fp, &len);
	fclose(fp);
	assert_int_equal(len, sizeof(want) - 1);
	assert_memory_equal(got, want, len);
	free(got);
}

/* A field that starts with a NUL byte is no formula (csvout.h lists the
 * characters that are); it must not gain an apostrophe. */
static void
t_csv_leading_nul(void **state)
{
	static const char want[] = "\"\0=x\"";
	FILE *fp = tmpfile();
	size_t len;
	char *got;

	(void)state;
	assert_non_null(fp);
	assert_int_equal(csvout_field(fp, "\0=x", 3, 1), 0);
	got = slurp(fp, &len);
	fclose(fp);
	assert_int_equal(len, sizeof(want) - 1);
	assert_memory_equal(got, want, len);
	free(got);
}

/* A field as long as an import cell may be goes out whole. */
static void
t_csv_long_formula(void **state)
{
	size_t n = 64 * 1024, len;
	char *s = malloc(n), *got;
	FILE *fp = tmpfile();

	(void)state;
	assert_non_null(s);
	assert_non_null(fp);
	memset(s, '1', n);
	s[0] = '=';
	assert_int_equal(csvout_field(fp, s, n, 1), 0);
	got = slurp(fp, &len);
	fclose(fp);
	assert_int_equal(len, n + 3);
	assert_memory_equal(got, "\"'=", 3);
	assert_memory_equal(got + 3, s + 1, n - 1);
	assert_int_equal(got[len - 1], '"');
	free(got);
	free(s);
}

int
main(void)
{
	struct unit_tests u = { 0 };

	UNIT_TABLE(&u, buf_cases, t_buf);
	unit_add(&u, "buf: growth to max a byte at a time", t_buf_growth,
	    NULL);
	unit_add(&u, "buf: binary contents", t_buf_binary, NULL);
	unit_add(&u, "buf: length near SIZE_MAX", t_buf_huge, NULL);
	unit_add(&u, "buf: printf formats", t_buf_printf_format, NULL);
	unit_add(&u, "buf: free(NULL)", t_buf_free_null, NULL);
	UNIT_TABLE(&u, csv_cases, t_csv);
	unit_add(&u, "csv: fields by length, records in a row", t_csv_fields,
	    NULL);
	unit_add(&u, "csv: leading NUL byte is no formula", t_csv_leading_nul,
	    NULL);
	unit_add(&u, "csv: 64 KiB formula", t_csv_long_formula, NULL);
	return unit_run(&u, "util", NULL, NULL);
}
