/*
 * test_segment.c - segment_compile(): the SQL it emits and the errors it
 * gives.
 *
 * The shape tests pin the exact SQL text and bound parameters, because the
 * safety argument of segment.h is about that text: nothing the user typed
 * may appear in it except through ?100, ?101, ... The error tests check the
 * column each message names, counted in characters from 1.
 */
#include "unit.h"

#include "limits.h"
#include "segment.h"

#define T	"a = 1 and "
#define T8	T T T T T T T T
#define T63	T8 T8 T8 T8 T8 T8 T8 T T T T T T T
#define T64	T63 T
#define P8	"(((((((("
#define Q8	"))))))))"
#define P32	P8 P8 P8 P8
#define Q32	Q8 Q8 Q8 Q8
#define N8	"not not not not not not not not "
#define N32	N8 N8 N8 N8

_Static_assert(sizeof(T64) - 1 == 640, "T64");
_Static_assert(sizeof(P32) - 1 == LIMIT_SEGMENT_DEPTH, "P32");
_Static_assert(LIMIT_SEGMENT_TERMS == 64, "T64 is written for 64 terms");

/* A parameter as the test expects it: 't' text, 'i' integer, 'r' real. */
struct param {
	char type;
	const char *text;
	int64_t i;
	double d;
};

#define MAXP	8
#define TX(s)	{ .type = 't', .text = (s) }
#define IN(v)	{ .type = 'i', .i = (v) }
#define RE(v)	{ .type = 'r', .d = (v) }

struct shape_case {
	const char *name;
	const char *expr;
	const char *sql;
	int nparams;
	struct param p[MAXP];
};

#define ATTR(n)	"json_extract(r.attrs, ?" #n ")"

static const struct shape_case shape_cases[] = {
	{ "shape: equality on a string", "country = 'DE'",
	    "(coalesce(" ATTR(100) " = ?101, 0))", 2,
	    { TX("$.\"country\""), TX("DE") } },
	{ "shape: == is =", "country == 'DE'",
	    "(coalesce(" ATTR(100) " = ?101, 0))", 2,
	    { TX("$.\"country\""), TX("DE") } },
	{ "shape: integer", "seats >= 5",
	    "(coalesce(" ATTR(100) " >= ?101, 0))", 2,
	    { TX("$.\"seats\""), IN(5) } },
	{ "shape: negative integer", "delta < -3",
	    "(coalesce(" ATTR(100) " < ?101, 0))", 2,
	    { TX("$.\"delta\""), IN(-3) } },
	{ "shape: real", "score <= 1.5",
	    "(coalesce(" ATTR(100) " <= ?101, 0))", 2,
	    { TX("$.\"score\""), RE(1.5) } },
	{ "shape: true and false are 1 and 0", "vip = true or trial > FALSE",
	    "(coalesce(" ATTR(100) " = ?101, 0) OR coalesce(" ATTR(102)
	    " > ?103, 0))", 4,
	    { TX("$.\"vip\""), IN(1), TX("$.\"trial\""), IN(0) } },
	/* Negated forms wrap the positive test in NOT coalesce(..., 0) so a
	 * missing attribute makes them true (segment.h). */
	{ "shape: != is the negation of =", "plan != 'free'",
	    "(NOT coalesce(" ATTR(100) " = ?101, 0))", 2,
	    { TX("$.\"plan\""), TX("free") } },
	{ "shape: <> is the negation of =", "plan <> 'free'",
	    "(NOT coalesce(" ATTR(100) " = ?101, 0))", 2,
	    { TX("$.\"plan\""), TX("free") } },
	{ "shape: in", "plan in ('pro', 'team')",
	    "(coalesce(" ATTR(100) " IN (?101, ?102), 0))", 3,
	    { TX("$.\"plan\""), TX("pro"), TX("team") } },
	{ "shape: not in, mixed literals", "plan NOT IN ('pro', 3)",
	    "(NOT coalesce(" ATTR(100) " IN (?101, ?102), 0))", 3,
	    { TX("$.\"plan\""), TX("pro"), IN(3) } },
	{ "shape: is set", "trial is set",
	    "((" ATTR(100) " IS NOT NULL))", 1,
	    { TX("$.\"trial\"") } },
	{ "shape: is not set", "trial is not set",
	    "((" ATTR(100) " IS NULL))", 1,
	    { TX("$.\"trial\"") } },
	{ "shape: contains", "name contains 'x'",
	    "(coalesce(instr(" ATTR(100) ", ?101) > 0, 0))", 2,
	    { TX("$.\"name\""), TX("x") } },
	{ "shape: not contains", "name not contains 'x'",
	    "(NOT coalesce(instr(" ATTR(100) ", ?101) > 0, 0))", 2,
	    { TX("$.\"name\""), TX("x") } },
	{ "shape: starts with", "name starts with 'Ber'",
	    "(coalesce(instr(" ATTR(100) ", ?101) = 1, 0))", 2,
	    { TX("$.\"name\""), TX("Ber") } },
	{ "shape: ends with reuses its parameter", "name ends with 'lin'",
	    "(coalesce(substr(" ATTR(100) ", -length(?101)) = ?101, 0))", 2,
	    { TX("$.\"name\""), TX("lin") } },
	{ "shape: nested attribute", "address.city starts with 'Ber'",
	    "(coalesce(instr(" ATTR(100) ", ?101) = 1, 0))", 2,
	    { TX("$.\"address\".\"city\""), TX("Ber") } },
	{ "shape: quoted name and doubled quote", "\"first name\" = 'Jo''s'",
	    "(coalesce(" ATTR(100) " = ?101, 0))", 2,
	    { TX("$.\"first name\""), TX("Jo's") } },
	{ "shape: email is the address key, literal lower-cased",
	    "email ends with '@Example.COM'",
	    "(coalesce(substr(r.address_key, -length(?100)) = ?100, 0))", 1,
	    { TX("@example.com") } },
	{ "shape: domain, literal lower-cased", "domain = 'Example.COM'",
	    "(coalesce(r.domain = ?100, 0))", 1,
	    { TX("example.com") } },
	{ "shape: domain in", "DOMAIN in ('A.de', 'b.DE')",
	    "(coalesce(r.domain IN (?100, ?101), 0))", 2,
	    { TX("a.de"), TX("b.de") } },
	{ "shape: precedence and grouping",
	    "a = 1 AND NOT (b = 2 Or c = 3)",
	    "(coalesce(" ATTR(100) " = ?101, 0) AND NOT (coalesce(" ATTR(102)
	    " = ?103, 0) OR coalesce(" ATTR(104) " = ?105, 0)))", 6,
	    { TX("$.\"a\""), IN(1), TX("$.\"b\""),
	    IN(2), TX("$.\"c\""), IN(3) } },
	{ "shape: and binds tighter than or", "a = 1 or b = 2 and c = 3",
	    "(coalesce(" ATTR(100) " = ?101, 0) OR coalesce(" ATTR(102)
	    " = ?103, 0) AND coalesce(" ATTR(104) " = ?105, 0))", 6,
	    { TX("$.\"a\""), IN(1), TX("$.\"b\""),
	    IN(2), TX("$.\"c\""), IN(3) } },
	/* The text of a literal reaches SQLite only as a bound value. */
	{ "shape: SQL in a literal stays a parameter",
	    "a = 'x''); DROP TABLE recipients; --'",
	    "(coalesce(" ATTR(100) " = ?101, 0))", 2,
	    { TX("$.\"a\""), TX("x'); DROP TABLE recipients; --") } },
	{ "shape: SQL in a quoted name stays a parameter",
	    "\"x) OR 1=1 --\" is set",
	    "((" ATTR(100) " IS NOT NULL))", 1,
	    { TX("$.\"x) OR 1=1 --\"") } },
};

static void
check_param(const struct segment_param *got, const struct param *want)
{
	switch (want->type) {
	case 't':
		assert_int_equal(got->type, SEGMENT_TEXT);
		assert_string_equal(got->text, want->text);
		break;
	case 'i':
		assert_int_equal(got->type, SEGMENT_INT);
		assert_int_equal(got->i, want->i);
		break;
	default:
		assert_int_equal(got->type, SEGMENT_REAL);
		assert_true(got->d == want->d);
		break;
	}
}

static void
t_shape(void **state)
{
	const struct shape_case *c = *state;
	struct segment *seg = NULL;
	struct err e = { 0 };
	int i;

	if (segment_compile(c->expr, &seg, &e) < 0)
		fail_msg("%s", e.msg);
	assert_string_equal(buf_str(&seg->sql), c->sql);
	assert_int_equal(seg->nparams, c->nparams);
	for (i = 0; i < c->nparams; i++)
		check_param(&seg->params[i], &c->p[i]);
	segment_free(seg);
}

/* -------------------------------------------------------------- errors */

struct error_case {
	const char *name;
	const char *expr;
	const char *msg;	/* expected in the message, column included */
};

static const struct error_case error_cases[] = {
	{ "error: statement after an expression",
	    "1=1; DROP TABLE recipients",
	    "column 1: expected an attribute name, found '1'" },
	{ "error: subquery", "(SELECT count(*) FROM suppressions) > 0",
	    "column 9: expected a comparison" },
	{ "error: function call", "randomblob(1000000000)",
	    "column 11: expected a comparison" },
	{ "error: function call compared", "randomblob(1000000000) > 0",
	    "column 11: expected a comparison" },
	{ "error: empty", "", "segment is empty" },
	{ "error: blanks only", " \t\n", "segment is empty" },
	{ "error: unterminated string", "a = 'abc",
	    "column 5: expected a value" },
	{ "error: unterminated quoted name", "\"abc = 1",
	    "column 1: expected an attribute name" },
	{ "error: lone !", "a !", "column 3: expected a comparison" },
	{ "error: bad character at the end", "a = 1 $",
	    "column 7: expected a valid token, found '$'" },
	{ "error: column counts characters, not bytes", "x = 'ää' $",
	    "column 10: expected a valid token" },
	{ "error: missing operator between tests", "a = 1 b = 2",
	    "column 7: expected 'and', 'or' or the end" },
	{ "error: dangling and", "a = 1 and",
	    "column 10: expected an attribute name, found the end" },
	{ "error: unclosed parenthesis", "(a = 1",
	    "column 7: expected ')'" },
	{ "error: stray closing parenthesis", "a = 1)",
	    "column 6: expected 'and', 'or' or the end" },
	{ "error: empty in list", "a in ()", "column 7: expected a value" },
	{ "error: in without list", "a in 'x'", "column 6: expected '('" },
	{ "error: unclosed in list", "a in (1, 2", "column 11: expected ','" },
	{ "error: is without set", "a is nothing",
	    "column 6: expected 'set'" },
	{ "error: not without in or contains", "a not = 1",
	    "column 7: expected 'in' or 'contains'" },
	{ "error: starts without with", "a starts 'x'",
	    "column 10: expected 'with'" },
	{ "error: contains a number", "a contains 1",
	    "column 12: expected a quoted string" },
	{ "error: contains the empty string", "a contains ''",
	    "column 12: empty string" },
	{ "error: ends with the empty string", "a ends with ''",
	    "column 13: empty string" },
	{ "error: bad number", "a = 1.2.3", "column 5: bad number 1.2.3" },
	{ "error: number out of range", "a = 99999999999999999999",
	    "column 5: bad number" },
	{ "error: email has no fields", "email.x = 1",
	    "column 6: email has no fields" },
	{ "error: keyword as a field", "and = 1",
	    "column 1: expected an attribute name" },
	{ "error: empty quoted name", "\"\" = 1", "column 1: empty name" },
	{ "error: dot without a name", "a. = 1",
	    "column 4: expected an attribute name after '.'" },
	{ "error: value as an attribute", "a = b",
	    "column 5: expected a value" },
	{ "error: semicolon", "a = 1; b = 2",
	    "column 6: expected a valid token" },
	{ "error: SQL comment", "a = 1 -- x",
	    "column 7: expected a valid token" },
	{ "error: 33 nested parentheses",
	    "(" P32 "a = 1" Q32 ")", "column 33: nested deeper than 32" },
	{ "error: 33 nested nots", N32 "not a = 1",
	    "column 129: nested deeper than 32" },
	{ "error: 65 tests", T64 "a = 1", "column 641: more than 64 tests" },
};

static void
t_error(void **state)
{
	const struct error_case *c = *state;
	struct segment *seg = (struct segment *)1;
	struct err e = { 0 };

	assert_int_equal(segment_compile(c->expr, &seg, &e), -1);
	assert_null(seg);
	assert_int_equal(e.code, EX_DATAERR);
	if (strstr(e.msg, c->msg) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", e.msg, c->msg);
}

/* ---------------------------------------------------- limits at the edge */

struct edge_case {
	const char *name;
	const char *expr;
	int nparams;
};

static const struct edge_case edge_cases[] = {
	{ "limit: 32 nested parentheses", P32 "a = 1" Q32, 2 },
	{ "limit: 32 nested nots", N32 "a = 1", 2 },
	{ "limit: 64 tests", T63 "b = 2", 128 },
};

static void
t_edge(void **state)
{
	const struct edge_case *c = *state;
	struct segment *seg = NULL;
	struct err e = { 0 };

	if (segment_compile(c->expr, &seg, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(seg->nparams, c->nparams);
	segment_free(seg);
}

/* An expression of n bytes: a valid test padded with blanks. */
static char *
padded(size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, ' ', n);
	memcpy(s, "a = 1", 5);
	s[n] = '\0';
	return s;
}

static void
t_length_at_limit(void **state)
{
	char *s = padded(LIMIT_SEGMENT_LEN);
	struct segment *seg = NULL;
	struct err e = { 0 };

	(void)state;
	if (segment_compile(s, &seg, &e) < 0)
		fail_msg("%s", e.msg);
	segment_free(seg);
	free(s);
}

static void
t_length_over_limit(void **state)
{
	char *s = padded(LIMIT_SEGMENT_LEN + 1);
	struct segment *seg = NULL;
	struct err e = { 0 };
	int rc;

	(void)state;
	rc = segment_compile(s, &seg, &e);
	free(s);
	assert_int_equal(rc, -1);
	assert_null(seg);
	assert_int_equal(e.code, EX_DATAERR);
	assert_non_null(strstr(e.msg, "the limit is 4096"));
}

/* A string literal as long as the whole expression may be. */
static void
t_long_literal(void **state)
{
	size_t n = LIMIT_SEGMENT_LEN;
	char *s = malloc(n + 1);
	struct segment *seg = NULL;
	struct err e = { 0 };

	(void)state;
	assert_non_null(s);
	memset(s, 'x', n);
	memcpy(s, "a = '", 5);
	s[n - 1] = '\'';
	s[n] = '\0';
	if (segment_compile(s, &seg, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(strlen(seg->params[1].text), n - 6);
	segment_free(seg);
	free(s);
}

/* "a in (0,1,...)" with n literals: n + 1 parameters with the path. */
static void
in_list(char *s, size_t size, int n)
{
	size_t len;
	int i;

	len = (size_t)snprintf(s, size, "a in (0");
	for (i = 1; i < n; i++)
		len += (size_t)snprintf(s + len, size - len, ",%d", i % 10);
	snprintf(s + len, size - len, ")");
}

static void
t_literals_at_limit(void **state)
{
	char s[LIMIT_SEGMENT_LEN];
	struct segment *seg = NULL;
	struct err e = { 0 };

	(void)state;
	in_list(s, sizeof(s), LIMIT_SEGMENT_PARAMS - 1);
	if (segment_compile(s, &seg, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(seg->nparams, LIMIT_SEGMENT_PARAMS);
	segment_free(seg);
}

static void
t_too_many_literals(void **state)
{
	char s[LIMIT_SEGMENT_LEN];
	struct segment *seg = NULL;
	struct err e = { 0 };

	(void)state;
	in_list(s, sizeof(s), LIMIT_SEGMENT_PARAMS);
	assert_int_equal(segment_compile(s, &seg, &e), -1);
	assert_null(seg);
	assert_int_equal(e.code, EX_DATAERR);
	assert_non_null(strstr(e.msg, "more than 256 literals"));
}

static void
t_free_null(void **state)
{
	(void)state;
	segment_free(NULL);
}

int
main(void)
{
	struct unit_tests u = { 0 };

	UNIT_TABLE(&u, shape_cases, t_shape);
	UNIT_TABLE(&u, error_cases, t_error);
	UNIT_TABLE(&u, edge_cases, t_edge);
	unit_add(&u, "limit: 4096 bytes", t_length_at_limit, NULL);
	unit_add(&u, "limit: 4097 bytes", t_length_over_limit, NULL);
	unit_add(&u, "limit: literal filling the expression", t_long_literal,
	    NULL);
	unit_add(&u, "limit: 256 parameters", t_literals_at_limit, NULL);
	unit_add(&u, "limit: 257 parameters", t_too_many_literals, NULL);
	unit_add(&u, "segment_free(NULL)", t_free_null, NULL);
	return unit_run(&u, "segment", NULL, NULL);
}
