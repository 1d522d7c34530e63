/*
 * segment.c - the segment parser and SQL emitter; see segment.h.
 *
 *   expr    := and { "or" and }
 *   and     := unary { "and" unary }
 *   unary   := "not" unary | "(" expr ")" | test
 *   test    := field op literal
 *            | field ["not"] "in" "(" literal { "," literal } ")"
 *            | field "is" ["not"] "set"
 *            | field ["not"] "contains" string
 *            | field ("starts" | "ends") "with" string
 *   field   := name { "." name }      name: identifier or "double-quoted"
 *   literal := 'single-quoted' | number | true | false
 *   op      := = == != <> < <= > >=
 *
 * Keywords are case-insensitive. "email" and "domain" name the recipient's
 * address and domain; every other field is an attribute path.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "segment.h"
#include "xalloc.h"

enum tok_type {
	T_END, T_NAME, T_QNAME, T_STRING, T_NUMBER, T_OP, T_LPAREN,
	T_RPAREN, T_COMMA, T_DOT, T_BAD
};

struct tok {
	enum tok_type type;
	size_t pos;		/* byte offset in the expression */
	size_t len;
	char op[3];
};

struct parser {
	const char *src;
	size_t pos;
	struct tok tok;
	struct segment *seg;
	int depth;
	int terms;
	struct buf text;	/* a decoded string literal or quoted name */
	struct err *e;
};

static int parse_or(struct parser *p);

/* Error positions are in characters, as a person counts them. */
static int
seg_error(struct parser *p, size_t pos, const char *fmt, const char *arg)
{
	size_t col = 1, i;
	char msg[256];

	for (i = 0; i < pos && p->src[i] != '\0'; i++)
		if (((unsigned char)p->src[i] & 0xc0) != 0x80)
			col++;
	snprintf(msg, sizeof(msg), fmt, arg);
	return err_set(p->e, EX_DATAERR, "segment, column %zu: %s", col, msg);
}

static void
lex_next(struct parser *p)
{
	const char *s = p->src;
	struct tok *t = &p->tok;
	size_t i = p->pos;

	while (isspace((unsigned char)s[i]))
		i++;
	t->pos = i;
	memset(t->op, 0, sizeof(t->op));
	if (s[i] == '\0') {
		t->type = T_END;
		t->len = 0;
	} else if (isalpha((unsigned char)s[i]) || s[i] == '_') {
		t->type = T_NAME;
		while (isalnum((unsigned char)s[i]) || s[i] == '_' ||
		    s[i] == '-')
			i++;
		t->len = i - t->pos;
	} else if (isdigit((unsigned char)s[i]) ||
	    (s[i] == '-' && isdigit((unsigned char)s[i + 1]))) {
		t->type = T_NUMBER;
		i++;
		while (isdigit((unsigned char)s[i]) || s[i] == '.')
			i++;
		t->len = i - t->pos;
	} else if (s[i] == '\'' || s[i] == '"') {
		char q = s[i++];

		t->type = q == '\'' ? T_STRING : T_QNAME;
		for (;;) {
			if (s[i] == '\0') {
				t->type = T_BAD;
				break;
			}
			if (s[i] == q && s[i + 1] == q && q == '\'')
				i += 2;
			else if (s[i++] == q)
				break;
		}
		t->len = i - t->pos;
	} else if (strchr("=!<>", s[i]) != NULL) {
		t->type = T_OP;
		t->op[0] = s[i++];
		if (s[i] == '=' || (t->op[0] == '<' && s[i] == '>'))
			t->op[1] = s[i++];
		t->len = i - t->pos;
		if (strcmp(t->op, "!") == 0)
			t->type = T_BAD;
	} else {
		t->type = strchr("(),.", s[i]) == NULL ? T_BAD :
		    s[i] == '(' ? T_LPAREN : s[i] == ')' ? T_RPAREN :
		    s[i] == ',' ? T_COMMA : T_DOT;
		i++;
		t->len = 1;
	}
	p->pos = i;
}

static int
tok_is(const struct parser *p, const char *kw)
{
	return p->tok.type == T_NAME && p->tok.len == strlen(kw) &&
	    strncasecmp(p->src + p->tok.pos, kw, p->tok.len) == 0;
}

static int
tok_keyword(const struct parser *p)
{
	static const char *kw[] = { "and", "or", "not", "in", "is", "set",
	    "contains", "starts", "ends", "with", "true", "false", NULL };
	int i;

	for (i = 0; kw[i] != NULL; i++)
		if (tok_is(p, kw[i]))
			return 1;
	return 0;
}

/* A short, printable rendering of the current token for messages. */
static const char *
tok_show(const struct parser *p, char *out, size_t n)
{
	size_t len = p->tok.len < 24 ? p->tok.len : 24, i;

	if (p->tok.type == T_END)
		return "the end";
	snprintf(out, n, "'%.*s'", (int)len, p->src + p->tok.pos);
	for (i = 0; out[i] != '\0'; i++)
		if (!isprint((unsigned char)out[i]) &&
		    (unsigned char)out[i] < 0x80)
			out[i] = '?';
	return out;
}

static int
expected(struct parser *p, const char *what)
{
	char show[40], msg[128];

	snprintf(msg, sizeof(msg), "expected %s, found %%s", what);
	return seg_error(p, p->tok.pos, msg, tok_show(p, show, sizeof(show)));
}

static int
emit(struct parser *p, const char *s)
{
	if (buf_adds(&p->seg->sql, s) < 0)
		return seg_error(p, p->tok.pos, "%s", "expression too large");
	return 0;
}

static int
emit_param(struct parser *p, enum segment_type type, const char *text,
    int64_t i, double d)
{
	struct segment_param *sp;

	if (p->seg->nparams >= LIMIT_SEGMENT_PARAMS)
		return seg_error(p, p->tok.pos, "more than %s literals",
		    "256");
	sp = &p->seg->params[p->seg->nparams];
	sp->type = type;
	sp->text = text ? xstrdup(text) : NULL;
	sp->i = i;
	sp->d = d;
	if (buf_printf(&p->seg->sql, "?%d", SEGMENT_PARAM_BASE +
	    p->seg->nparams++) < 0)
		return seg_error(p, p->tok.pos, "%s", "expression too large");
	return 0;
}

/* Decodes the current quoted token into p->text. */
static int
tok_unquote(struct parser *p)
{
	const char *s = p->src + p->tok.pos;
	size_t i, n = p->tok.len;

	buf_reset(&p->text);
	for (i = 1; i + 1 < n; i++) {
		if (s[0] == '\'' && s[i] == '\'' && s[i + 1] == '\'')
			i++;
		if (buf_addc(&p->text, s[i]) < 0)
			return seg_error(p, p->tok.pos, "%s", "string too long");
	}
	return 0;
}

enum field_kind { FIELD_ATTR, FIELD_EMAIL, FIELD_DOMAIN };

/* field := name { "." name }: emits the SQL value of the field. */
static int
parse_field(struct parser *p, enum field_kind *kind)
{
	struct buf path;
	int rc = -1;

	*kind = FIELD_ATTR;
	if (p->tok.type == T_NAME && !tok_keyword(p)) {
		if (tok_is(p, "email") || tok_is(p, "domain")) {
			*kind = tok_is(p, "email") ? FIELD_EMAIL : FIELD_DOMAIN;
			lex_next(p);
			if (p->tok.type == T_DOT)
				return seg_error(p, p->tok.pos, "%s has no "
				    "fields", *kind == FIELD_EMAIL ? "email" :
				    "domain");
			return emit(p, *kind == FIELD_EMAIL ? "r.address_key" :
			    "r.domain");
		}
	} else if (p->tok.type != T_QNAME)
		return expected(p, "an attribute name");
	buf_init(&path, LIMIT_SEGMENT_LEN);
	if (buf_adds(&path, "$") < 0)
		goto out;
	for (;;) {
		if (p->tok.type == T_QNAME) {
			if (tok_unquote(p) < 0)
				goto out;
			if (p->text.len == 0) {
				seg_error(p, p->tok.pos, "%s", "empty name");
				goto out;
			}
		} else if (p->tok.type == T_NAME) {
			buf_reset(&p->text);
			if (buf_add(&p->text, p->src + p->tok.pos,
			    p->tok.len) < 0)
				goto out;
		} else {
			expected(p, "an attribute name after '.'");
			goto out;
		}
		if (buf_printf(&path, ".\"%s\"", buf_str(&p->text)) < 0)
			goto out;
		lex_next(p);
		if (p->tok.type != T_DOT)
			break;
		lex_next(p);
	}
	if (emit(p, "json_extract(r.attrs, ") < 0 ||
	    emit_param(p, SEGMENT_TEXT, buf_str(&path), 0, 0) < 0 ||
	    emit(p, ")") < 0)
		goto out;
	rc = 0;
out:
	buf_free(&path);
	return rc;
}

/*
 * Addresses and domains are stored lower-case with A-label domains, so a
 * literal compared with them is folded the same way: 'Jürgen@Bücher.DE'
 * and '@bücher.de' match what import stored. A literal whose domain part
 * is no valid name is only lower-cased.
 */
static void
fold_address(struct buf *text, enum field_kind kind)
{
	char ace[LIMIT_ADDR_DOMAIN + 1];
	const char *at;
	struct err e;
	size_t i, start = 0;

	if (text->len == 0)
		return;
	for (i = 0; i < text->len; i++)
		text->data[i] = (char)tolower((unsigned char)text->data[i]);
	if (kind == FIELD_EMAIL) {
		if ((at = strrchr(text->data, '@')) == NULL)
			return;
		start = (size_t)(at - text->data) + 1;
	} else if (text->len > 0 && text->data[0] == '.')
		start = 1;
	if (start >= text->len || addr_domain(text->data + start,
	    text->len - start, ace, sizeof(ace), &e) < 0)
		return;
	text->len = start;
	text->data[start] = '\0';
	(void)!buf_adds(text, ace);	/* an A-label never outgrows the buffer */
}

/* literal: 'text', a number, true or false. */
static int
parse_literal(struct parser *p, enum field_kind kind, int string_only)
{
	char *end;
	int rc;

	if (p->tok.type == T_STRING) {
		if (tok_unquote(p) < 0)
			return -1;
		if (kind != FIELD_ATTR)
			fold_address(&p->text, kind);
		rc = emit_param(p, SEGMENT_TEXT, buf_str(&p->text), 0, 0);
	} else if (string_only) {
		return expected(p, "a quoted string");
	} else if (p->tok.type == T_NUMBER) {
		char num[64];

		if (p->tok.len >= sizeof(num))
			return seg_error(p, p->tok.pos, "%s", "number too long");
		memcpy(num, p->src + p->tok.pos, p->tok.len);
		num[p->tok.len] = '\0';
		errno = 0;
		if (strchr(num, '.') == NULL) {
			long long v = strtoll(num, &end, 10);

			if (*end != '\0' || errno != 0)
				return seg_error(p, p->tok.pos, "bad number "
				    "%s", num);
			rc = emit_param(p, SEGMENT_INT, NULL, v, 0);
		} else {
			double v = strtod(num, &end);

			if (*end != '\0' || errno != 0)
				return seg_error(p, p->tok.pos, "bad number "
				    "%s", num);
			rc = emit_param(p, SEGMENT_REAL, NULL, 0, v);
		}
	} else if (tok_is(p, "true") || tok_is(p, "false")) {
		/* json_extract() yields JSON true and false as 1 and 0. */
		rc = emit_param(p, SEGMENT_INT, NULL, tok_is(p, "true"), 0);
	} else
		return expected(p, "a value ('text', a number, true or false)");
	if (rc == 0)
		lex_next(p);
	return rc;
}

static int
parse_in_list(struct parser *p, enum field_kind kind)
{
	if (p->tok.type != T_LPAREN)
		return expected(p, "'(' after 'in'");
	lex_next(p);
	if (emit(p, " IN (") < 0)
		return -1;
	for (;;) {
		if (parse_literal(p, kind, 0) < 0)
			return -1;
		if (p->tok.type == T_RPAREN)
			break;
		if (p->tok.type != T_COMMA)
			return expected(p, "',' or ')'");
		lex_next(p);
		if (emit(p, ", ") < 0)
			return -1;
	}
	lex_next(p);
	return emit(p, ")");
}

static const char *
sql_op(const char *op)
{
	if (strcmp(op, "==") == 0 || strcmp(op, "=") == 0)
		return " = ";
	if (strcmp(op, "!=") == 0 || strcmp(op, "<>") == 0)
		return " <> ";
	if (strcmp(op, "<") == 0)
		return " < ";
	if (strcmp(op, "<=") == 0)
		return " <= ";
	if (strcmp(op, ">") == 0)
		return " > ";
	if (strcmp(op, ">=") == 0)
		return " >= ";
	return NULL;
}

/* field "is" ["not"] "set": whether the attribute exists at all. */
static int
parse_is_set(struct parser *p, const char *field)
{
	int negate = 0;

	lex_next(p);
	if (tok_is(p, "not")) {
		negate = 1;
		lex_next(p);
	}
	if (!tok_is(p, "set"))
		return expected(p, "'set' after 'is'");
	lex_next(p);
	return emit(p, "(") < 0 || emit(p, field) < 0 ||
	    emit(p, negate ? " IS NULL)" : " IS NOT NULL)");
}

/*
 * field "contains" | "starts with" | "ends with" string. instr() finds the
 * first occurrence, so "starts with" is an occurrence at position 1;
 * "ends with" compares the tail of the same length.
 */
static int
parse_substring(struct parser *p, const char *field, enum field_kind kind)
{
	int how = tok_is(p, "contains") ? 'c' : tok_is(p, "starts") ? 's' :
	    'e';
	char tail[64];

	lex_next(p);
	if (how != 'c') {
		if (!tok_is(p, "with"))
			return expected(p, "'with'");
		lex_next(p);
	}
	if (p->tok.type == T_STRING && p->tok.len == 2)
		return seg_error(p, p->tok.pos, "%s", "empty string");
	if (emit(p, how == 'e' ? "substr(" : "instr(") < 0 ||
	    emit(p, field) < 0)
		return -1;
	if (how == 'e') {
		snprintf(tail, sizeof(tail), ", -length(?%d)) = ",
		    SEGMENT_PARAM_BASE + p->seg->nparams);
		return emit(p, tail) < 0 ? -1 : parse_literal(p, kind, 1);
	}
	if (emit(p, ", ") < 0 || parse_literal(p, kind, 1) < 0)
		return -1;
	return emit(p, how == 'c' ? ") > 0" : ") = 1");
}

/*
 * Every test is emitted as coalesce(<positive test>, 0), negated with NOT
 * where the expression says so, so a missing attribute gives false for the
 * positive form and true for the negated one, never SQL's NULL.
 */
static int
parse_test(struct parser *p)
{
	enum field_kind kind;
	size_t start = p->seg->sql.len;
	int negate = 0;
	char field[64];		/* "json_extract(r.attrs, ?NNN)" */

	if (++p->terms > LIMIT_SEGMENT_TERMS)
		return seg_error(p, p->tok.pos, "more than %s tests",
		    "64");
	if (parse_field(p, &kind) < 0)
		return -1;
	/* The field's SQL is re-emitted inside the wrapper below. */
	snprintf(field, sizeof(field), "%s", p->seg->sql.data + start);
	p->seg->sql.len = start;
	p->seg->sql.data[start] = '\0';

	if (tok_is(p, "is"))
		return parse_is_set(p, field);
	if (tok_is(p, "not")) {
		negate = 1;
		lex_next(p);
		if (!tok_is(p, "in") && !tok_is(p, "contains"))
			return expected(p, "'in' or 'contains' after 'not'");
	}
	/* "a != b" is "not (a = b)", so it is true when a is missing. */
	if (p->tok.type == T_OP && (strcmp(p->tok.op, "!=") == 0 ||
	    strcmp(p->tok.op, "<>") == 0))
		negate = 1;
	if (emit(p, negate ? "NOT coalesce(" : "coalesce(") < 0)
		return -1;
	if (tok_is(p, "in")) {
		lex_next(p);
		if (emit(p, field) < 0 || parse_in_list(p, kind) < 0)
			return -1;
	} else if (tok_is(p, "contains") || tok_is(p, "starts") ||
	    tok_is(p, "ends")) {
		if (parse_substring(p, field, kind) < 0)
			return -1;
	} else if (p->tok.type == T_OP && sql_op(p->tok.op) != NULL) {
		const char *op = negate ? " = " : sql_op(p->tok.op);

		lex_next(p);
		if (emit(p, field) < 0 || emit(p, op) < 0 ||
		    parse_literal(p, kind, 0) < 0)
			return -1;
	} else
		return expected(p, "a comparison (=, !=, <, <=, >, >=, in, "
		    "contains, starts with, ends with, is set)");
	return emit(p, ", 0)");
}

static int
parse_unary(struct parser *p)
{
	int rc;

	/* Only "not" and "(" nest; a plain test is no level of its own, so
	 * 32 parentheses are allowed and the 33rd is refused. */
	if (!tok_is(p, "not") && p->tok.type != T_LPAREN)
		return parse_test(p);
	if (++p->depth > LIMIT_SEGMENT_DEPTH)
		return seg_error(p, p->tok.pos, "nested deeper than %s levels",
		    "32");
	if (tok_is(p, "not")) {
		lex_next(p);
		rc = emit(p, "NOT ") < 0 ? -1 : parse_unary(p);
	} else {
		lex_next(p);
		if (emit(p, "(") < 0 || parse_or(p) < 0)
			return -1;
		if (p->tok.type != T_RPAREN)
			return expected(p, "')'");
		lex_next(p);
		rc = emit(p, ")");
	}
	p->depth--;
	return rc;
}

static int
parse_and(struct parser *p)
{
	if (parse_unary(p) < 0)
		return -1;
	while (tok_is(p, "and")) {
		lex_next(p);
		if (emit(p, " AND ") < 0 || parse_unary(p) < 0)
			return -1;
	}
	return 0;
}

static int
parse_or(struct parser *p)
{
	if (parse_and(p) < 0)
		return -1;
	while (tok_is(p, "or")) {
		lex_next(p);
		if (emit(p, " OR ") < 0 || parse_and(p) < 0)
			return -1;
	}
	return 0;
}

int
segment_compile(const char *expr, struct segment **out, struct err *e)
{
	struct parser p;
	size_t n = strlen(expr);

	*out = NULL;
	if (n > LIMIT_SEGMENT_LEN)
		return err_set(e, EX_DATAERR, "segment is %zu bytes long; the "
		    "limit is %d", n, LIMIT_SEGMENT_LEN);
	memset(&p, 0, sizeof(p));
	p.src = expr;
	p.e = e;
	p.seg = xcalloc(1, sizeof(*p.seg));
	buf_init(&p.seg->sql, LIMIT_SEGMENT_LEN * 8);
	buf_init(&p.text, LIMIT_SEGMENT_LEN);
	lex_next(&p);
	if (p.tok.type == T_END) {
		err_set(e, EX_DATAERR, "segment is empty");
		goto fail;
	}
	if (emit(&p, "(") < 0 || parse_or(&p) < 0 || emit(&p, ")") < 0)
		goto fail;
	if (p.tok.type != T_END) {
		expected(&p, p.tok.type == T_BAD ? "a valid token" :
		    "'and', 'or' or the end");
		goto fail;
	}
	buf_free(&p.text);
	*out = p.seg;
	return 0;
fail:
	buf_free(&p.text);
	segment_free(p.seg);
	return -1;
}

void
segment_free(struct segment *seg)
{
	int i;

	if (seg == NULL)
		return;
	for (i = 0; i < seg->nparams; i++)
		free(seg->params[i].text);
	buf_free(&seg->sql);
	free(seg);
}
