/*
 * template.c - the template compiler and renderer; see template.h.
 *
 * A part compiles to an array of ops:
 *
 *   TEXT a,b	append pool[a .. a+b)
 *   VAR a	render vars[a]: a value, its filters, escaped for the part
 *   LINK a	tracking: the URL of link a   PIXEL	tracking: the open pixel
 *   IF a,b	unless cond a holds (negated for unless), jump to b
 *   JUMP a	jump to a
 *   EACH a,b	loop over vars[a]'s array; empty or not an array: jump to b
 *   NEXT a	next element of the EACH at a, or fall out of the loop
 *
 * Values, filter arguments and condition operands are atoms: a literal, or
 * a path resolved at render time against the each-frames, the built-ins or
 * the attributes, always without allocating. Filters work in the two
 * scratch buffers, which grow to the largest value once and are reused.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unicase.h>
#include <unistr.h>

#include "html.h"
#include "limits.h"
#include "template.h"
#include "xalloc.h"

enum op_type {
	OP_TEXT, OP_VAR, OP_LINK, OP_PIXEL, OP_IF, OP_JUMP, OP_EACH, OP_NEXT
};

struct op {
	uint8_t type;
	uint8_t neg;		/* IF: jump when the condition holds */
	uint32_t a;
	uint32_t b;
};

enum atom_type { A_PATH, A_STRING, A_NUMBER, A_BOOL };

enum scope {
	S_ATTRS,		/* the recipient's attributes */
	S_AUTO,			/* innermost each element first, then attrs */
	S_FRAME,		/* element of the each at depth frame */
	S_EMAIL, S_UNSUB, S_DATE, S_CAMPAIGN,
	S_INDEX, S_NUMBER, S_FIRST, S_LAST
};

struct atom {
	uint8_t type;
	uint8_t scope;
	uint8_t frame;
	uint16_t nseg;		/* path segments, pool strings at segs[seg] */
	uint32_t seg;
	uint32_t str;		/* A_STRING: pool offset and length */
	uint32_t len;
	double num;
	int line, col;
};

enum filter_id {
	F_DEFAULT, F_UPPER, F_LOWER, F_CAPITALIZE, F_TRIM, F_TRUNCATE,
	F_NUMBER, F_DATE, F_URL, F_RAW
};

static const struct {
	const char *name;
	int min, max;		/* arguments */
	const char *types;	/* each argument: 'n' number, 's' text, '*' any */
} filters[] = {
	[F_DEFAULT] = { "default", 1, 1, "*" },
	[F_UPPER] = { "upper", 0, 0, "" },
	[F_LOWER] = { "lower", 0, 0, "" },
	[F_CAPITALIZE] = { "capitalize", 0, 0, "" },
	[F_TRIM] = { "trim", 0, 0, "" },
	[F_TRUNCATE] = { "truncate", 1, 2, "ns" },
	[F_NUMBER] = { "number", 0, 2, "ns" },
	[F_DATE] = { "date", 1, 1, "s" },
	[F_URL] = { "url", 0, 0, "" },
	[F_RAW] = { "raw", 0, 0, "" },
};

#define NFILTERS	(sizeof(filters) / sizeof(filters[0]))

struct filter {
	uint8_t id;
	uint8_t nargs;
	struct atom args[LIMIT_FILTER_ARGS];
};

struct var {
	struct atom value;
	uint32_t filter;	/* first of nfilter in t->filters */
	uint8_t nfilter;
	uint8_t has_default;
	uint8_t raw;
};

enum node_kind { N_OR, N_AND, N_NOT, N_TRUTH, N_CMP };
enum cmp_op { C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE };

struct node {
	uint8_t kind;
	uint8_t op;
	uint32_t l, r;		/* nodes, or atoms for N_TRUTH and N_CMP */
};

struct tpl {
	enum tpl_ctx ctx;
	struct op *ops;
	uint32_t nops;
	struct var *vars;
	uint32_t nvars;
	struct filter *filters;
	uint32_t nfilters;
	struct atom *atoms;
	uint32_t natoms;
	struct node *nodes;
	uint32_t nnodes;
	uint32_t *segs;		/* pool offsets of path segments */
	uint32_t nsegs;
	struct buf pool;	/* text runs, strings, segment names */
	int max_depth;		/* deepest each nesting */
};

/* ------------------------------------------------------------ compiling */

struct block {
	int kind;		/* 'i' if, 'u' unless, 'e' each */
	uint32_t op;		/* the IF (latest branch) or EACH */
	uint32_t jumps[64];	/* JUMPs to the end of an if chain */
	int njumps;
	int has_else;
	char alias[64];		/* each ... as NAME; "" for none */
	size_t pos;
};

struct compiler {
	struct tpl *t;
	const struct tpl_source *s;
	const char *src;
	size_t len;
	struct err *e;
	struct block blocks[LIMIT_TEMPLATE_DEPTH];
	int depth;
	int each_depth;
	int next_link;		/* first link not yet passed */
	int pixel_done;
	/* the tag being parsed */
	const char *tag;
	size_t tag_len;
	size_t tag_pos;		/* source offset of tag[0] */
	size_t p;		/* cursor within the tag */
	/* cursor_line_col(): where the last atom stood */
	size_t cur_pos;
	int cur_line;		/* 0: not started */
	int cur_col;
};

static void
pos_line_col(const char *src, size_t pos, int *line, int *col)
{
	size_t i, start = 0;

	*line = 1;
	for (i = 0; i < pos; i++)
		if (src[i] == '\n') {
			(*line)++;
			start = i + 1;
		}
	*col = 1 + (int)u8_mbsnlen((const uint8_t *)src + start, pos - start);
}

/*
 * The same for the compiler's atoms, which come in source order: a cursor
 * carried from one to the next keeps a large template's compile linear
 * (a 500 KB part with 20,000 variables took 10 s rescanning from the top).
 */
static void
cursor_line_col(struct compiler *c, size_t pos, int *line, int *col)
{
	size_t i;

	if (pos < c->cur_pos || c->cur_line == 0) {
		c->cur_pos = 0;
		c->cur_line = c->cur_col = 1;
	}
	for (i = c->cur_pos; i < pos; i++)
		if (c->src[i] == '\n') {
			c->cur_line++;
			c->cur_col = 1;
		} else if (((unsigned char)c->src[i] & 0xc0) != 0x80)
			c->cur_col++;	/* a character starts here */
	c->cur_pos = pos;
	*line = c->cur_line;
	*col = c->cur_col;
}

/* The bytes of the first chars characters of s; never splits one. */
static size_t
char_prefix(const char *s, size_t n, size_t chars)
{
	size_t i = 0;

	while (i < n && chars-- > 0) {
		int k = u8_mblen((const uint8_t *)s + i, n - i);

		i += k > 0 ? (size_t)k : 1;
	}
	return i;
}

/* "template T, part P, line L, column C: msg", the line and a caret. */
static int
cerror(struct compiler *c, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
cerror(struct compiler *c, size_t pos, const char *fmt, ...)
{
	char msg[256], shown[160];
	size_t start = pos, end = pos, n, i, o = 0;
	int line, col, caret;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (pos > c->len)
		pos = start = end = c->len;
	pos_line_col(c->src, pos, &line, &col);
	while (start > 0 && c->src[start - 1] != '\n')
		start--;
	while (end < c->len && c->src[end] != '\n' && c->src[end] != '\r')
		end++;
	caret = col;
	if (col > 100) {
		/*
		 * A long line (minified HTML) is shown from 60 characters
		 * before the column, so the caret still stands under it and
		 * the message keeps the true column.
		 */
		start += char_prefix(c->src + start, pos - start,
		    (size_t)col - 61);
		memcpy(shown, "...", 3);
		o = 3;
		caret = 64;
	}
	n = end - start < sizeof(shown) - 1 - o ? end - start :
	    sizeof(shown) - 1 - o;
	while (n > 0 && n < end - start &&
	    ((unsigned char)c->src[start + n] & 0xc0) == 0x80)
		n--;	/* not in the middle of a character */
	for (i = 0; i < n; i++)
		shown[o + i] = c->src[start + i] == '\t' ? ' ' :
		    c->src[start + i];
	shown[o + n] = '\0';
	return err_set(c->e, EX_DATAERR, "template %s, part %s, line %d, "
	    "column %d: %s\n    %s\n    %*s^", c->s->template_name,
	    c->s->part, line, col, msg, shown, caret - 1, "");
}

static void *
grow(void *arr, uint32_t n, size_t size)
{
	/* Capacity doubles at powers of two. */
	if (n == 0 || (n & (n - 1)) == 0)
		return xrealloc(arr, (n ? n * 2 : 8) * size);
	return arr;
}

static int
emit_op(struct compiler *c, int type, uint32_t a, uint32_t b, uint32_t *at)
{
	struct tpl *t = c->t;

	if (t->nops >= LIMIT_TEMPLATE_OPS)
		return cerror(c, c->tag_pos, "the template is too large (more "
		    "than %d operations)", LIMIT_TEMPLATE_OPS);
	t->ops = grow(t->ops, t->nops, sizeof(*t->ops));
	t->ops[t->nops] = (struct op){ .type = (uint8_t)type, .a = a, .b = b };
	if (at != NULL)
		*at = t->nops;
	t->nops++;
	return 0;
}

static int
pool_add(struct compiler *c, const char *s, size_t n, uint32_t *off)
{
	*off = (uint32_t)c->t->pool.len;
	if (buf_add(&c->t->pool, s, n) < 0 || buf_addc(&c->t->pool, '\0') < 0)
		return cerror(c, c->tag_pos, "the template is too large");
	return 0;
}

static int
emit_text_run(struct compiler *c, size_t a, size_t b)
{
	uint32_t off;

	if (b <= a)
		return 0;
	if (pool_add(c, c->src + a, b - a, &off) < 0)
		return -1;
	return emit_op(c, OP_TEXT, off, (uint32_t)(b - a), NULL);
}

/*
 * Source text [a, b): split around tracked links (whose href value is
 * replaced by a LINK op) and the pixel position.
 */
static int
emit_text(struct compiler *c, size_t a, size_t b)
{
	const struct html_scan *sc = c->s->scan;

	while (sc != NULL && a < b) {
		const struct html_link *l = NULL;

		while (c->next_link < sc->nlinks &&
		    (sc->links[c->next_link].start < a ||
		    sc->links[c->next_link].kind != HTML_LINK_TRACK))
			c->next_link++;
		if (c->next_link < sc->nlinks &&
		    sc->links[c->next_link].end <= b)
			l = &sc->links[c->next_link];
		if (!c->pixel_done && sc->pixel_at >= a && sc->pixel_at < b &&
		    (l == NULL || sc->pixel_at < l->start)) {
			if (emit_text_run(c, a, sc->pixel_at) < 0 ||
			    emit_op(c, OP_PIXEL, 0, 0, NULL) < 0)
				return -1;
			c->pixel_done = 1;
			a = sc->pixel_at;
			continue;
		}
		if (l == NULL)
			break;
		if (emit_text_run(c, a, l->start) < 0 ||
		    emit_op(c, OP_LINK, (uint32_t)c->next_link, 0, NULL) < 0)
			return -1;
		a = l->end;
		c->next_link++;
	}
	return emit_text_run(c, a, b);
}

/* ------------------------------------------------------------ tag lexer */

static void
skip_space(struct compiler *c)
{
	while (c->p < c->tag_len && isspace((unsigned char)c->tag[c->p]))
		c->p++;
}

static int
at_end(struct compiler *c)
{
	skip_space(c);
	return c->p >= c->tag_len;
}

static int
name_char(int ch)
{
	return isalnum(ch) || ch == '_' || ch == '-' || ch == '@' ||
	    ch >= 0x80;
}

/* The next word (a name or path) without consuming it; its length. */
static size_t
peek_word(struct compiler *c)
{
	size_t n = 0;

	skip_space(c);
	while (c->p + n < c->tag_len &&
	    (name_char((unsigned char)c->tag[c->p + n]) ||
	    (c->tag[c->p + n] == '.' && n > 0)))
		n++;
	return n;
}

static int
accept_word(struct compiler *c, const char *kw)
{
	size_t n = peek_word(c);

	if (n != strlen(kw) || strncmp(c->tag + c->p, kw, n) != 0)
		return 0;
	c->p += n;
	return 1;
}

static size_t
here(const struct compiler *c)
{
	return c->tag_pos + c->p;
}

static int
new_atom(struct compiler *c, struct atom **a, uint32_t *idx)
{
	struct tpl *t = c->t;

	if (t->natoms >= LIMIT_TEMPLATE_OPS)
		return cerror(c, here(c), "the template is too large (more "
		    "than %d values)", LIMIT_TEMPLATE_OPS);
	t->atoms = grow(t->atoms, t->natoms, sizeof(*t->atoms));
	*idx = t->natoms++;
	*a = &t->atoms[*idx];
	memset(*a, 0, sizeof(**a));
	cursor_line_col(c, here(c), &(*a)->line, &(*a)->col);
	return 0;
}

static int
parse_string(struct compiler *c, struct atom *a)
{
	char q = c->tag[c->p++];
	struct buf s;
	int rc = -1;

	buf_init(&s, LIMIT_TEMPLATE_TAG);
	while (c->p < c->tag_len && c->tag[c->p] != q) {
		if (c->tag[c->p] == '\\' && c->p + 1 < c->tag_len)
			c->p++;
		if (buf_addc(&s, c->tag[c->p++]) < 0)
			goto out;
	}
	if (c->p >= c->tag_len) {
		cerror(c, here(c), "unterminated string");
		goto out;
	}
	c->p++;
	a->type = A_STRING;
	a->len = (uint32_t)s.len;
	rc = pool_add(c, buf_str(&s), s.len, &a->str);
out:
	buf_free(&s);
	return rc;
}

static int
parse_number(struct compiler *c, struct atom *a)
{
	char num[64], *end;
	size_t n = 0;

	while (c->p + n < c->tag_len && n < sizeof(num) - 1 &&
	    (isdigit((unsigned char)c->tag[c->p + n]) ||
	    c->tag[c->p + n] == '.' || (n == 0 && c->tag[c->p] == '-')))
		n++;
	memcpy(num, c->tag + c->p, n);
	num[n] = '\0';
	errno = 0;
	a->num = strtod(num, &end);
	if (*end != '\0' || errno != 0 || n == 0)
		return cerror(c, here(c), "bad number \"%s\"", num);
	a->type = A_NUMBER;
	c->p += n;
	return 0;
}

/* Classifies a path's first segment: built-in, each element, attribute. */
static int
path_scope(struct compiler *c, struct atom *a, const char *first,
    size_t n, size_t *skip)
{
	static const struct { const char *name; int scope; int each; } b[] = {
		{ "email", S_EMAIL, 0 }, { "unsubscribe_url", S_UNSUB, 0 },
		{ "date", S_DATE, 0 }, { "@index", S_INDEX, 1 },
		{ "@number", S_NUMBER, 1 }, { "@first", S_FIRST, 1 },
		{ "@last", S_LAST, 1 },
	};
	size_t i;
	int d;

	*skip = 0;
	for (i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
		if (strlen(b[i].name) != n || strncmp(first, b[i].name, n))
			continue;
		if (b[i].each && c->each_depth == 0)
			return cerror(c, here(c), "%s is only known inside "
			    "{{#each}}", b[i].name);
		a->scope = (uint8_t)b[i].scope;
		*skip = 1;
		return 0;
	}
	if (n == 8 && strncmp(first, "campaign", 8) == 0) {
		a->scope = S_CAMPAIGN;
		*skip = 1;
		return 0;
	}
	for (d = c->depth - 1; d >= 0; d--) {
		const struct block *bl = &c->blocks[d];

		if (bl->kind != 'e')
			continue;
		if ((n == 4 && strncmp(first, "this", 4) == 0) ||
		    (bl->alias[0] && strlen(bl->alias) == n &&
		    strncmp(first, bl->alias, n) == 0)) {
			int frame = 0, k;

			for (k = 0; k < d; k++)
				frame += c->blocks[k].kind == 'e';
			a->scope = S_FRAME;
			a->frame = (uint8_t)frame;
			*skip = 1;
			return 0;
		}
		if (n == 4 && strncmp(first, "this", 4) == 0)
			break;
	}
	a->scope = c->each_depth > 0 ? S_AUTO : S_ATTRS;
	return 0;
}

static int
parse_path(struct compiler *c, struct atom *a)
{
	size_t n = peek_word(c), i, start, skip;
	const char *w = c->tag + c->p;
	uint32_t off;

	a->type = A_PATH;
	if (w[n - 1] == '.')
		return cerror(c, here(c) + n - 1, "a path cannot end in '.'");
	for (i = 0; i < n && w[i] != '.'; i++)
		;
	if (path_scope(c, a, w, i, &skip) < 0)
		return -1;
	a->seg = c->t->nsegs;
	start = 0;
	for (i = 0; i <= n; i++) {
		if (i < n && w[i] != '.')
			continue;
		if (i == start)
			return cerror(c, here(c) + i, "empty name in a path");
		if (skip)
			skip = 0;	/* the built-in's own name */
		else {
			if (pool_add(c, w + start, i - start, &off) < 0)
				return -1;
			c->t->segs = grow(c->t->segs, c->t->nsegs,
			    sizeof(*c->t->segs));
			c->t->segs[c->t->nsegs++] = off;
			a->nseg++;
		}
		start = i + 1;
	}
	if (a->scope == S_CAMPAIGN && (a->nseg != 1 ||
	    strcmp(c->t->pool.data + c->t->segs[a->seg], "name") != 0))
		return cerror(c, here(c), "the campaign built-in has only "
		    "campaign.name");
	if (a->scope >= S_EMAIL && a->scope != S_CAMPAIGN && a->nseg > 0)
		return cerror(c, here(c), "%.*s has no fields", (int)(n), w);
	c->p += n;
	return 0;
}

/* atom := path | 'string' | "string" | number | true | false */
static int
parse_atom(struct compiler *c, uint32_t *idx)
{
	struct atom *a = NULL;
	char ch;

	skip_space(c);
	if (new_atom(c, &a, idx) < 0)
		return -1;
	if (c->p >= c->tag_len)
		return cerror(c, here(c), "expected a value");
	ch = c->tag[c->p];
	if (ch == '"' || ch == '\'')
		return parse_string(c, a);
	if (isdigit((unsigned char)ch) || (ch == '-' && c->p + 1 <
	    c->tag_len && isdigit((unsigned char)c->tag[c->p + 1])))
		return parse_number(c, a);
	if (accept_word(c, "true") || accept_word(c, "false")) {
		a->type = A_BOOL;
		a->num = c->tag[c->p - 1] == 'e' && c->tag[c->p - 2] == 'u';
		return 0;
	}
	if (peek_word(c) == 0)
		return cerror(c, here(c), "expected a value, found '%c'", ch);
	return parse_path(c, a);
}

/* ---------------------------------------------------------- conditions */

static int parse_or(struct compiler *c, uint32_t *idx);

static int
new_node(struct compiler *c, int kind, int op, uint32_t l, uint32_t r,
    uint32_t *idx)
{
	struct tpl *t = c->t;

	if (t->nnodes >= LIMIT_TEMPLATE_OPS)
		return cerror(c, here(c), "the template is too large (more "
		    "than %d conditions)", LIMIT_TEMPLATE_OPS);
	t->nodes = grow(t->nodes, t->nnodes, sizeof(*t->nodes));
	t->nodes[t->nnodes] = (struct node){ (uint8_t)kind, (uint8_t)op, l, r };
	*idx = t->nnodes++;
	return 0;
}

static int
cmp_op(struct compiler *c, int *op)
{
	static const struct { const char *s; int op; } ops[] = {
		{ "==", C_EQ }, { "!=", C_NE }, { "<=", C_LE }, { ">=", C_GE },
		{ "<", C_LT }, { ">", C_GT }, { "=", C_EQ },
	};
	size_t i, n;

	skip_space(c);
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		n = strlen(ops[i].s);
		if (c->p + n <= c->tag_len &&
		    strncmp(c->tag + c->p, ops[i].s, n) == 0) {
			c->p += n;
			*op = ops[i].op;
			return 1;
		}
	}
	return 0;
}

static int
parse_unary(struct compiler *c, uint32_t *idx, int depth)
{
	uint32_t l, r;
	int op;

	if (depth > LIMIT_TEMPLATE_DEPTH * 4)
		return cerror(c, here(c), "condition nested too deeply");
	skip_space(c);
	if (accept_word(c, "not")) {
		if (parse_unary(c, &l, depth + 1) < 0)
			return -1;
		return new_node(c, N_NOT, 0, l, 0, idx);
	}
	if (c->p < c->tag_len && c->tag[c->p] == '(') {
		c->p++;
		if (parse_or(c, idx) < 0)
			return -1;
		skip_space(c);
		if (c->p >= c->tag_len || c->tag[c->p] != ')')
			return cerror(c, here(c), "expected ')'");
		c->p++;
		return 0;
	}
	if (parse_atom(c, &l) < 0)
		return -1;
	if (!cmp_op(c, &op))
		return new_node(c, N_TRUTH, 0, l, 0, idx);
	if (parse_atom(c, &r) < 0)
		return -1;
	return new_node(c, N_CMP, op, l, r, idx);
}

static int
parse_and(struct compiler *c, uint32_t *idx)
{
	uint32_t r;

	if (parse_unary(c, idx, 0) < 0)
		return -1;
	while (accept_word(c, "and")) {
		if (parse_unary(c, &r, 0) < 0 ||
		    new_node(c, N_AND, 0, *idx, r, idx) < 0)
			return -1;
	}
	return 0;
}

static int
parse_or(struct compiler *c, uint32_t *idx)
{
	uint32_t r;

	if (parse_and(c, idx) < 0)
		return -1;
	while (accept_word(c, "or")) {
		if (parse_and(c, &r) < 0 ||
		    new_node(c, N_OR, 0, *idx, r, idx) < 0)
			return -1;
	}
	return 0;
}

static int
parse_cond(struct compiler *c, uint32_t *idx)
{
	if (at_end(c))
		return cerror(c, here(c), "expected a condition");
	if (parse_or(c, idx) < 0)
		return -1;
	if (!at_end(c)) {
		/* the tag is not NUL-terminated: bound the quote by its end */
		int n = (int)(c->tag_len - c->p);

		return cerror(c, here(c), "unexpected '%.*s' in the "
		    "condition", n < 20 ? n : 20, c->tag + c->p);
	}
	return 0;
}

/* ---------------------------------------------------- output and filters */

static int
parse_filter(struct compiler *c, struct var *v)
{
	struct filter *f;
	size_t n = peek_word(c), i;
	uint32_t idx;

	for (i = 0; i < NFILTERS; i++)
		if (strlen(filters[i].name) == n &&
		    strncmp(c->tag + c->p, filters[i].name, n) == 0)
			break;
	if (n == 0)
		return cerror(c, here(c), "expected a filter name after '|'");
	if (i == NFILTERS)
		return cerror(c, here(c), "unknown filter \"%.*s\"", (int)n,
		    c->tag + c->p);
	c->p += n;
	c->t->filters = grow(c->t->filters, c->t->nfilters,
	    sizeof(*c->t->filters));
	f = &c->t->filters[c->t->nfilters++];
	memset(f, 0, sizeof(*f));
	f->id = (uint8_t)i;
	v->nfilter++;
	v->has_default |= i == F_DEFAULT;
	v->raw |= i == F_RAW;
	skip_space(c);
	if (c->p < c->tag_len && c->tag[c->p] == ':') {
		do {
			size_t at;
			char want;

			c->p++;
			if (f->nargs == LIMIT_FILTER_ARGS)
				return cerror(c, here(c), "too many arguments");
			skip_space(c);
			at = here(c);
			if (parse_atom(c, &idx) < 0)
				return -1;
			if (c->t->atoms[idx].type == A_PATH)
				return cerror(c, here(c), "filter arguments are "
				    "literals: quote the text");
			/* date: 5 would take its format from the pool */
			want = f->nargs < (int)strlen(filters[i].types) ?
			    filters[i].types[f->nargs] : '*';
			if ((want == 'n' && c->t->atoms[idx].type != A_NUMBER) ||
			    (want == 's' && c->t->atoms[idx].type != A_STRING))
				return cerror(c, at, "%s: argument %d must be "
				    "%s", filters[i].name, f->nargs + 1,
				    want == 'n' ? "a number" : "quoted text");
			f->args[f->nargs++] = c->t->atoms[idx];
			skip_space(c);
		} while (c->p < c->tag_len && c->tag[c->p] == ',');
	}
	if (f->nargs < filters[i].min || f->nargs > filters[i].max)
		return cerror(c, here(c), "%s takes %d to %d arguments",
		    filters[i].name, filters[i].min, filters[i].max);
	return 0;
}

static int
parse_output(struct compiler *c)
{
	struct var *v;
	uint32_t idx, vi;

	c->t->vars = grow(c->t->vars, c->t->nvars, sizeof(*c->t->vars));
	vi = c->t->nvars++;
	if (parse_atom(c, &idx) < 0)
		return -1;
	v = &c->t->vars[vi];
	memset(v, 0, sizeof(*v));
	v->value = c->t->atoms[idx];
	v->filter = c->t->nfilters;
	for (;;) {
		skip_space(c);
		if (c->p >= c->tag_len)
			break;
		if (c->tag[c->p] != '|')
			return cerror(c, here(c), "expected '|' or '}}'");
		c->p++;
		skip_space(c);
		if (parse_filter(c, &c->t->vars[vi]) < 0)
			return -1;
	}
	return emit_op(c, OP_VAR, vi, 0, NULL);
}

/* -------------------------------------------------------------- blocks */

static int
open_block(struct compiler *c, int kind)
{
	struct block *b;

	if (c->depth == LIMIT_TEMPLATE_DEPTH)
		return cerror(c, c->tag_pos, "blocks nested deeper than %d",
		    LIMIT_TEMPLATE_DEPTH);
	b = &c->blocks[c->depth++];
	memset(b, 0, sizeof(*b));
	b->kind = kind;
	b->pos = c->tag_pos;
	return 0;
}

static int
block_if(struct compiler *c, int neg)
{
	uint32_t cond;
	struct block *b;

	if (open_block(c, neg ? 'u' : 'i') < 0 || parse_cond(c, &cond) < 0)
		return -1;
	b = &c->blocks[c->depth - 1];
	if (emit_op(c, OP_IF, cond, 0, &b->op) < 0)
		return -1;
	c->t->ops[b->op].neg = (uint8_t)neg;
	return 0;
}

static int
block_each(struct compiler *c)
{
	struct block *b;
	struct var *v;
	uint32_t idx, vi;
	size_t n;

	c->t->vars = grow(c->t->vars, c->t->nvars, sizeof(*c->t->vars));
	vi = c->t->nvars++;
	/*
	 * The array is looked up in the enclosing scope, so it is parsed
	 * before the block opens: `this` there is the outer element, not
	 * this loop's, whose frame does not exist yet when the array is read.
	 */
	if (parse_atom(c, &idx) < 0)
		return -1;
	if (c->t->atoms[idx].type != A_PATH)
		return cerror(c, c->tag_pos, "{{#each}} needs an attribute");
	if (open_block(c, 'e') < 0)
		return -1;
	b = &c->blocks[c->depth - 1];
	v = &c->t->vars[vi];
	memset(v, 0, sizeof(*v));
	v->value = c->t->atoms[idx];
	if (accept_word(c, "as")) {
		n = peek_word(c);
		if (n == 0 || n >= sizeof(b->alias) ||
		    memchr(c->tag + c->p, '.', n) != NULL)
			return cerror(c, here(c), "expected a name after 'as'");
		memcpy(b->alias, c->tag + c->p, n);
		c->p += n;
	}
	if (!at_end(c))
		return cerror(c, here(c), "unexpected text after the array");
	c->each_depth++;
	if (c->each_depth > c->t->max_depth)
		c->t->max_depth = c->each_depth;
	return emit_op(c, OP_EACH, vi, 0, &b->op);
}

static int
block_else(struct compiler *c)
{
	struct block *b;
	uint32_t j;

	if (c->depth == 0 || c->blocks[c->depth - 1].kind == 'e')
		return cerror(c, c->tag_pos, "{{else}} outside {{#if}} or "
		    "{{#unless}}");
	b = &c->blocks[c->depth - 1];
	if (b->has_else)
		return cerror(c, c->tag_pos, "a second {{else}} in one block");
	if (b->njumps == (int)(sizeof(b->jumps) / sizeof(b->jumps[0])))
		return cerror(c, c->tag_pos, "too many {{else if}}");
	if (emit_op(c, OP_JUMP, 0, 0, &j) < 0)
		return -1;
	b->jumps[b->njumps++] = j;
	c->t->ops[b->op].b = c->t->nops;	/* the false branch starts here */
	if (accept_word(c, "if")) {
		uint32_t cond;

		if (b->kind != 'i')
			return cerror(c, c->tag_pos, "{{else if}} inside "
			    "{{#unless}}");
		if (parse_cond(c, &cond) < 0 || emit_op(c, OP_IF, cond, 0,
		    &b->op) < 0)
			return -1;
		return 0;
	}
	if (!at_end(c))
		return cerror(c, here(c), "expected '}}' or 'if' after else");
	b->has_else = 1;
	b->op = UINT32_MAX;
	return 0;
}

static int
block_close(struct compiler *c)
{
	static const char *names[] = { "if", "unless", "each" };
	struct block *b;
	int want, i;
	size_t n = peek_word(c);

	if (c->depth == 0)
		return cerror(c, c->tag_pos, "{{/%.*s}} without an opening "
		    "block", (int)n, c->tag + c->p);
	b = &c->blocks[c->depth - 1];
	want = b->kind == 'i' ? 0 : b->kind == 'u' ? 1 : 2;
	if (!accept_word(c, names[want]) || !at_end(c)) {
		int line, col;

		pos_line_col(c->src, b->pos, &line, &col);
		return cerror(c, c->tag_pos, "expected {{/%s}} to close the "
		    "block opened on line %d", names[want], line);
	}
	if (b->kind == 'e') {
		if (emit_op(c, OP_NEXT, b->op, 0, NULL) < 0)
			return -1;
		c->t->ops[b->op].b = c->t->nops;
		c->each_depth--;
	} else {
		if (b->op != UINT32_MAX)
			c->t->ops[b->op].b = c->t->nops;
		for (i = 0; i < b->njumps; i++)
			c->t->ops[b->jumps[i]].a = c->t->nops;
	}
	c->depth--;
	return 0;
}

/* --------------------------------------------------------------- driver */

/*
 * A block tag alone on its line takes the line with it, so that
 *
 *     {{#if pro}}
 *     Thanks!
 *     {{/if}}
 *
 * leaves no blank lines in a text part. *from is where the text before the
 * tag may end; *to where the text after it resumes.
 */
static void
standalone(const struct compiler *c, size_t text_start, size_t tag_start,
    size_t tag_end, size_t *from, size_t *to)
{
	size_t ls = tag_start, i;

	*from = tag_start;
	*to = tag_end;
	/* No further back than the text before the tag: scanning to the
	 * start of a long line for every tag on it was quadratic. */
	while (ls > text_start && c->src[ls - 1] != '\n')
		ls--;
	if (ls > 0 && c->src[ls - 1] != '\n')
		return;
	for (i = ls; i < tag_start; i++)
		if (c->src[i] != ' ' && c->src[i] != '\t')
			return;
	for (i = tag_end; i < c->len && (c->src[i] == ' ' ||
	    c->src[i] == '\t' || c->src[i] == '\r'); i++)
		;
	if (i < c->len && c->src[i] != '\n')
		return;
	*from = ls;
	*to = i < c->len ? i + 1 : i;
}

static int
compile_tag(struct compiler *c)
{
	char ch;

	c->p = 0;
	skip_space(c);
	if (c->p >= c->tag_len)
		return cerror(c, c->tag_pos, "empty {{ }}");
	ch = c->tag[c->p];
	if (ch == '#') {
		c->p++;
		if (accept_word(c, "if"))
			return block_if(c, 0);
		if (accept_word(c, "unless"))
			return block_if(c, 1);
		if (accept_word(c, "each"))
			return block_each(c);
		return cerror(c, here(c), "unknown block \"%.*s\" (use #if, "
		    "#unless or #each)", (int)peek_word(c), c->tag + c->p);
	}
	if (ch == '/') {
		c->p++;
		return block_close(c);
	}
	if (accept_word(c, "else"))
		return block_else(c);
	return parse_output(c);
}

static int
is_block_tag(const char *tag, size_t n)
{
	size_t i = 0;

	while (i < n && isspace((unsigned char)tag[i]))
		i++;
	if (i < n && (tag[i] == '#' || tag[i] == '/' || tag[i] == '!'))
		return 1;
	return n - i >= 4 && strncmp(tag + i, "else", 4) == 0 &&
	    (n - i == 4 || !name_char((unsigned char)tag[i + 4]));
}

static int
compile(struct compiler *c)
{
	size_t pos = 0, text = 0, open, close, from, to;

	while ((open = pos) < c->len) {
		const char *o = memmem(c->src + pos, c->len - pos, "{{", 2);
		const char *cl;

		if (o == NULL)
			break;
		open = (size_t)(o - c->src);
		cl = memmem(o + 2, c->len - open - 2, "}}", 2);
		if (cl == NULL)
			return cerror(c, open, "'{{' is never closed");
		close = (size_t)(cl - c->src) + 2;
		c->tag = o + 2;
		c->tag_len = (size_t)(cl - o) - 2;
		c->tag_pos = open + 2;
		if (c->tag_len > LIMIT_TEMPLATE_TAG)
			return cerror(c, open, "a tag longer than %d bytes",
			    LIMIT_TEMPLATE_TAG);
		from = open;
		to = close;
		if (is_block_tag(c->tag, c->tag_len))
			standalone(c, text, open, close, &from, &to);
		if (emit_text(c, text, from) < 0)
			return -1;
		if (c->tag[strspn(c->tag, " \t\r\n")] != '!' && compile_tag(c) < 0)
			return -1;
		pos = text = to;
	}
	if (emit_text(c, text, c->len) < 0)
		return -1;
	if (c->s->scan != NULL && !c->pixel_done &&
	    c->s->scan->pixel_at == c->len &&
	    emit_op(c, OP_PIXEL, 0, 0, NULL) < 0)
		return -1;
	if (c->depth > 0) {
		const struct block *b = &c->blocks[c->depth - 1];

		return cerror(c, b->pos, "this block is never closed (expected "
		    "{{/%s}})", b->kind == 'i' ? "if" : b->kind == 'u' ?
		    "unless" : "each");
	}
	return 0;
}

int
tpl_compile(const char *src, size_t len, const struct tpl_source *s,
    struct tpl **out, struct err *e)
{
	struct compiler c;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	c.t = xcalloc(1, sizeof(*c.t));
	c.t->ctx = s->ctx;
	buf_init(&c.t->pool, LIMIT_TEMPLATE_PART * 2);
	c.s = s;
	c.src = src;
	c.len = len;
	c.e = e;
	if (u8_check((const uint8_t *)src, len) != NULL) {
		err_set(e, EX_DATAERR, "template %s, part %s: not valid UTF-8",
		    s->template_name, s->part);
		goto fail;
	}
	if (compile(&c) < 0)
		goto fail;
	*out = c.t;
	return 0;
fail:
	tpl_free(c.t);
	return -1;
}

void
tpl_free(struct tpl *t)
{
	if (t == NULL)
		return;
	free(t->ops);
	free(t->vars);
	free(t->filters);
	free(t->atoms);
	free(t->nodes);
	free(t->segs);
	buf_free(&t->pool);
	free(t);
}

/* ------------------------------------------------------------ rendering */

enum val_kind { V_MISSING, V_NULL, V_BOOL, V_NUM, V_STR, V_JSON };

struct val {
	enum val_kind kind;
	const char *s;
	size_t n;
	double num;
	int is_int;
	json_t *j;
};

struct frame {
	json_t *array;
	size_t i;
	uint32_t op;
};

struct run {
	const struct tpl *t;
	const struct tpl_env *env;
	struct tpl_scratch *s;
	struct buf *out;
	struct err *e;
	struct frame frames[LIMIT_TEMPLATE_DEPTH];
	int nframes;
	char date[16];
	char num[64];
};

static void
val_json(json_t *j, struct val *v)
{
	memset(v, 0, sizeof(*v));
	switch (json_typeof(j)) {
	case JSON_STRING:
		v->kind = V_STR;
		v->s = json_string_value(j);
		v->n = json_string_length(j);
		break;
	case JSON_INTEGER:
		v->kind = V_NUM;
		v->num = (double)json_integer_value(j);
		v->is_int = 1;
		v->j = j;
		break;
	case JSON_REAL:
		v->kind = V_NUM;
		v->num = json_real_value(j);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		v->kind = V_BOOL;
		v->num = json_is_true(j);
		break;
	case JSON_NULL:
		v->kind = V_NULL;
		break;
	default:
		v->kind = V_JSON;
		v->j = j;
	}
}

static json_t *
walk(const struct tpl *t, json_t *j, const struct atom *a)
{
	uint16_t i;

	for (i = 0; i < a->nseg && j != NULL; i++) {
		const char *key = t->pool.data + t->segs[a->seg + i];

		if (json_is_object(j))
			j = json_object_get(j, key);
		else if (json_is_array(j) && isdigit((unsigned char)key[0]))
			j = json_array_get(j, strtoul(key, NULL, 10));
		else
			j = NULL;
	}
	return j;
}

static void
val_str(struct val *v, const char *s)
{
	memset(v, 0, sizeof(*v));
	v->kind = s ? V_STR : V_MISSING;
	v->s = s;
	v->n = s ? strlen(s) : 0;
}

/* The message's date as YYYY-MM-DD, for {{ date }}. */
static void
run_date(struct run *r)
{
	time_t secs = (time_t)(r->env->date_ms / 1000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(r->date, sizeof(r->date), "%Y-%m-%d", &tm);
}

static void
resolve(struct run *r, const struct atom *a, struct val *v)
{
	const struct frame *f = r->nframes ? &r->frames[r->nframes - 1] : NULL;
	json_t *j;
	int k;

	memset(v, 0, sizeof(*v));
	switch (a->type) {
	case A_STRING:
		v->kind = V_STR;
		v->s = r->t->pool.data + a->str;
		v->n = a->len;
		return;
	case A_NUMBER:
		v->kind = V_NUM;
		v->num = a->num;
		v->is_int = a->num == floor(a->num) && fabs(a->num) < 1e15;
		return;
	case A_BOOL:
		v->kind = V_BOOL;
		v->num = a->num;
		return;
	}
	switch (a->scope) {
	case S_EMAIL:
		val_str(v, r->env->email);
		return;
	case S_UNSUB:
		val_str(v, r->env->unsubscribe_url);
		return;
	case S_CAMPAIGN:
		val_str(v, r->env->campaign_name);
		return;
	case S_DATE:
		if (r->date[0] == '\0')
			run_date(r);
		val_str(v, r->date);
		return;
	case S_INDEX:
	case S_NUMBER:
		v->kind = V_NUM;
		v->is_int = 1;
		v->num = (double)f->i + (a->scope == S_NUMBER);
		return;
	case S_FIRST:
	case S_LAST:
		v->kind = V_BOOL;
		v->num = a->scope == S_FIRST ? f->i == 0 :
		    f->i + 1 == json_array_size(f->array);
		return;
	case S_FRAME:
		f = &r->frames[a->frame];
		j = walk(r->t, json_array_get(f->array, f->i), a);
		break;
	case S_AUTO:
		/* A bare name inside each: the nearest element that has it. */
		j = NULL;
		for (k = r->nframes - 1; k >= 0 && j == NULL; k--) {
			f = &r->frames[k];
			j = walk(r->t, json_array_get(f->array, f->i), a);
		}
		if (j == NULL)
			j = walk(r->t, r->env->attrs, a);
		break;
	default:
		j = walk(r->t, r->env->attrs, a);
	}
	if (j == NULL)
		v->kind = V_MISSING;
	else
		val_json(j, v);
}

static int
truthy(const struct val *v)
{
	switch (v->kind) {
	case V_BOOL:
	case V_NUM:
		return v->num != 0;
	case V_STR:
		return v->n > 0;
	case V_JSON:
		return json_is_array(v->j) ? json_array_size(v->j) > 0 :
		    json_object_size(v->j) > 0;
	default:
		return 0;
	}
}

/* A string that is entirely a number counts as one in comparisons. */
static int
as_number(const struct val *v, double *d)
{
	char tmp[64], *end;

	if (v->kind == V_NUM || v->kind == V_BOOL) {
		*d = v->num;
		return 1;
	}
	if (v->kind != V_STR || v->n == 0 || v->n >= sizeof(tmp))
		return 0;
	memcpy(tmp, v->s, v->n);
	tmp[v->n] = '\0';
	/* Decimal only: strtod would also read "Nan", "inf" and "0x1f" */
	if (strspn(tmp, "0123456789+-.eE") != v->n)
		return 0;
	*d = strtod(tmp, &end);
	/* "1e400" overflows to infinity, which no filter can print. */
	return *end == '\0' && !isspace((unsigned char)tmp[0]) && isfinite(*d);
}

static int
compare(const struct val *l, const struct val *r, int op)
{
	double a, b;
	int c;

	if (l->kind == V_MISSING || l->kind == V_NULL ||
	    r->kind == V_MISSING || r->kind == V_NULL)
		c = (l->kind == V_MISSING || l->kind == V_NULL) ==
		    (r->kind == V_MISSING || r->kind == V_NULL) ? 0 : 2;
	else if ((l->kind == V_NUM || r->kind == V_NUM) && as_number(l, &a) &&
	    as_number(r, &b))
		c = a < b ? -1 : a > b;
	else if (l->kind == V_STR && r->kind == V_STR) {
		c = memcmp(l->s, r->s, l->n < r->n ? l->n : r->n);
		if (c == 0)
			c = l->n < r->n ? -1 : l->n > r->n;
		c = c < 0 ? -1 : c > 0;
	} else if (l->kind == V_BOOL && r->kind == V_BOOL)
		c = l->num == r->num ? 0 : 2;
	else
		c = 2;		/* unordered: only != holds */
	switch (op) {
	case C_EQ: return c == 0;
	case C_NE: return c != 0;
	case C_LT: return c == -1;
	case C_LE: return c == -1 || c == 0;
	case C_GT: return c == 1;
	default: return c == 1 || c == 0;
	}
}

static int
eval(struct run *r, uint32_t n)
{
	const struct node *nd = &r->t->nodes[n];
	struct val l, v;

	switch (nd->kind) {
	case N_OR:
		return eval(r, nd->l) || eval(r, nd->r);
	case N_AND:
		return eval(r, nd->l) && eval(r, nd->r);
	case N_NOT:
		return !eval(r, nd->l);
	case N_TRUTH:
		resolve(r, &r->t->atoms[nd->l], &l);
		return truthy(&l);
	default:
		resolve(r, &r->t->atoms[nd->l], &l);
		resolve(r, &r->t->atoms[nd->r], &v);
		return compare(&l, &v, nd->op);
	}
}

static int
overflow(struct run *r)
{
	return err_set(r->e, EX_DATAERR, "the rendered message would be "
	    "larger than %zu bytes", r->out->max);
}

/* The value as text; numbers are printed into r->num. */
static void
val_text(struct run *r, const struct val *v, const char **s, size_t *n)
{
	switch (v->kind) {
	case V_STR:
		*s = v->s;
		*n = v->n;
		return;
	case V_NUM:
		/* JSON integers exactly: a double loses digits past 2^53 */
		if (v->j != NULL && json_is_integer(v->j))
			snprintf(r->num, sizeof(r->num), "%" JSON_INTEGER_FORMAT,
			    json_integer_value(v->j));
		else if (v->is_int)
			snprintf(r->num, sizeof(r->num), "%.0f", v->num);
		else
			snprintf(r->num, sizeof(r->num), "%.15g", v->num);
		break;
	case V_BOOL:
		snprintf(r->num, sizeof(r->num), "%s", v->num ? "true" :
		    "false");
		break;
	case V_JSON:
		*n = json_dumpb(v->j, r->s->b.data, 0, JSON_COMPACT);
		buf_reset(&r->s->b);
		if (*n > 0 && buf_add(&r->s->b, "", 0) == 0 &&
		    *n <= r->s->b.max) {
			/* json_dumpb needs the room first */
			while (r->s->b.cap < *n + 1 && buf_add(&r->s->b, " ",
			    1) == 0)
				;
			*n = json_dumpb(v->j, r->s->b.data, r->s->b.cap,
			    JSON_COMPACT);
			*s = r->s->b.data;
			return;
		}
		*s = "";
		*n = 0;
		return;
	default:
		*s = "";
		*n = 0;
		return;
	}
	*s = r->num;
	*n = strlen(r->num);
}

/* ------------------------------------------------------------- filters */

typedef int (*case_fn)(const uint8_t *, size_t, const char *, uninorm_t,
    uint8_t *, size_t *);

static int
case_map(struct buf *dst, const char *s, size_t n, int upper)
{
	uint8_t *res;
	size_t len = dst->cap > 0 ? dst->cap - 1 : 0;

	buf_reset(dst);
	res = upper ? u8_toupper((const uint8_t *)s, n, NULL, NULL,
	    (uint8_t *)dst->data, &len) : u8_tolower((const uint8_t *)s, n,
	    NULL, NULL, (uint8_t *)dst->data, &len);
	if (res == NULL)
		return buf_add(dst, s, n);
	if (res != (uint8_t *)dst->data) {
		int rc = buf_add(dst, res, len);

		free(res);
		return rc;
	}
	dst->len = len;
	dst->data[len] = '\0';
	return 0;
}

/*
 * The rest lower-cased into dst, then the first letter upper-cased in
 * front of it. Only dst is written: s may lie in the other scratch buffer,
 * so that one cannot serve as working space.
 */
static int
f_capitalize(struct buf *dst, const char *s, size_t n)
{
	uint8_t small[16], *up;
	const uint8_t *first;
	size_t ulen = sizeof(small), rest;
	ucs4_t uc;
	int k = n ? u8_mbtouc(&uc, (const uint8_t *)s, n) : 0, rc = -1;

	if (case_map(dst, s + k, n - (size_t)k, 0) < 0)
		return -1;
	up = u8_toupper((const uint8_t *)s, (size_t)k, NULL, NULL, small,
	    &ulen);
	first = up != NULL ? up : (const uint8_t *)s;	/* as case_map */
	if (up == NULL)
		ulen = (size_t)k;
	rest = dst->len;
	if (buf_add(dst, first, ulen) == 0) {
		memmove(dst->data + ulen, dst->data, rest);
		memcpy(dst->data, first, ulen);
		rc = 0;
	}
	if (up != small)
		free(up);
	return rc;
}

static int
f_truncate(struct buf *dst, const char *s, size_t n, const struct filter *f,
    struct run *r)
{
	const char *ell = "\xe2\x80\xa6";	/* U+2026 */
	double want = f->args[0].num;
	/* clamped before the cast: a double past SIZE_MAX is undefined */
	size_t max = want > 0 ? (want < LIMIT_MESSAGE ? (size_t)want :
	    LIMIT_MESSAGE) : 0;
	size_t i, elen, echars;

	if (f->nargs > 1 && f->args[1].type == A_STRING)
		ell = r->t->pool.data + f->args[1].str;
	buf_reset(dst);
	if (u8_mbsnlen((const uint8_t *)s, n) <= max)
		return buf_add(dst, s, n);
	elen = strlen(ell);
	echars = u8_mbsnlen((const uint8_t *)ell, elen);
	if (echars > max) {
		/* at most N characters, the ellipsis included */
		echars = max;
		elen = char_prefix(ell, elen, max);
	}
	i = char_prefix(s, n, max - echars);
	while (i > 0 && s[i - 1] == ' ')
		i--;
	return buf_add(dst, s, i) < 0 ? -1 : buf_add(dst, ell, elen);
}

/* number: DECIMALS, "de"|"en": grouped thousands, fixed decimals. */
static int
f_number(struct buf *dst, const struct val *v, const struct filter *f,
    struct run *r)
{
	double want = f->nargs > 0 ? f->args[0].num : 0;
	/* range-checked before the cast, which is undefined past INT_MAX */
	int dec = want >= 0 && want <= 10 ? (int)want : 2;
	int de = f->nargs > 1 && f->args[1].type == A_STRING &&
	    strcmp(r->t->pool.data + f->args[1].str, "de") == 0;
	char digits[400];	/* DBL_MAX: 309 digits, a point, 10 decimals */
	double d;
	size_t i, n, intlen;

	if (!as_number(v, &d))
		return 1;	/* not a number: left as it is */
	snprintf(digits, sizeof(digits), "%.*f", dec, fabs(d));
	n = strlen(digits);
	intlen = dec > 0 ? n - (size_t)dec - 1 : n;
	buf_reset(dst);
	if (d < 0 && strspn(digits, "0.") != n && buf_addc(dst, '-') < 0)
		return -1;
	for (i = 0; i < intlen; i++) {
		if (i > 0 && (intlen - i) % 3 == 0 &&
		    buf_addc(dst, de ? '.' : ',') < 0)
			return -1;
		if (buf_addc(dst, digits[i]) < 0)
			return -1;
	}
	if (dec > 0 && (buf_addc(dst, de ? ',' : '.') < 0 ||
	    buf_add(dst, digits + intlen + 1, (size_t)dec) < 0))
		return -1;
	return 0;
}

/* date: FORMAT over "YYYY-MM-DD[ HH:MM[:SS]]", ISO 8601 or Unix seconds. */
static int
f_date(struct buf *dst, const char *s, size_t n, const struct val *v,
    const struct filter *f, struct run *r)
{
	static const char *formats[] = { "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
	    "%Y-%m-%d %H:%M", "%Y-%m-%d", NULL };
	char in[64], out[256];
	const char *rest;
	struct tm tm;
	time_t t;
	int i;

	memset(&tm, 0, sizeof(tm));
	if (v->kind == V_NUM) {
		/* past this, the cast to time_t or gmtime's year overflows */
		if (!(fabs(v->num) < 1e15))
			return 1;
		t = (time_t)v->num;
		gmtime_r(&t, &tm);
	} else {
		if (n >= sizeof(in))
			return 1;
		memcpy(in, s, n);
		in[n] = '\0';
		for (i = 0, rest = NULL; formats[i] != NULL; i++) {
			memset(&tm, 0, sizeof(tm));
			rest = strptime(in, formats[i], &tm);
			if (rest != NULL && (*rest == '\0' || *rest == 'Z'))
				break;
			rest = NULL;
		}
		if (rest == NULL)
			return 1;
	}
	n = strftime(out, sizeof(out), r->t->pool.data + f->args[0].str, &tm);
	buf_reset(dst);
	return buf_add(dst, out, n);
}

/* RFC 3986 2.3: everything but the unreserved characters. */
static int
f_url(struct buf *dst, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	buf_reset(dst);
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		char enc[3] = { '%', hex[ch >> 4], hex[ch & 15] };

		if ((isalnum(ch) || strchr("-._~", ch)) && ch != '\0' ?
		    buf_addc(dst, (char)ch) < 0 : buf_add(dst, enc, 3) < 0)
			return -1;
	}
	return 0;
}

/*
 * Applies filter f to (s, n) into the scratch buffer not holding s;
 * returns 1 when the value passes through unchanged.
 */
/* Whether p points into b: trim leaves a value inside, not at its start. */
static int
in_buf(const struct buf *b, const char *p)
{
	return b->data != NULL && (uintptr_t)p >= (uintptr_t)b->data &&
	    (uintptr_t)p <= (uintptr_t)b->data + b->cap;
}

static int
apply(struct run *r, const struct filter *f, struct val *v, const char **s,
    size_t *n)
{
	struct buf *dst = in_buf(&r->s->a, *s) ? &r->s->b : &r->s->a;
	int rc;

	switch (f->id) {
	case F_DEFAULT:
		if (v->kind != V_MISSING && v->kind != V_NULL && *n > 0)
			return 1;
		resolve(r, &f->args[0], v);
		val_text(r, v, s, n);
		return 1;
	case F_UPPER:
	case F_LOWER:
		rc = case_map(dst, *s, *n, f->id == F_UPPER);
		break;
	case F_CAPITALIZE:
		rc = f_capitalize(dst, *s, *n);
		break;
	case F_TRIM:
		while (*n > 0 && isspace((unsigned char)**s))
			(*s)++, (*n)--;
		while (*n > 0 && isspace((unsigned char)(*s)[*n - 1]))
			(*n)--;
		return 1;
	case F_TRUNCATE:
		rc = f_truncate(dst, *s, *n, f, r);
		break;
	case F_NUMBER:
		rc = f_number(dst, v, f, r);
		break;
	case F_DATE:
		rc = f_date(dst, *s, *n, v, f, r);
		break;
	case F_URL:
		rc = f_url(dst, *s, *n);
		break;
	default:
		return 1;	/* raw: decided at output */
	}
	if (rc < 0)
		return -1;
	if (rc == 0) {
		*s = dst->data ? dst->data : "";
		*n = dst->len;
		v->kind = V_STR;
	}
	return 0;
}

/* ---------------------------------------------------------------- output */

static int
put_escaped(struct run *r, const char *s, size_t n, int raw)
{
	struct buf *o = r->out;
	size_t i, run = 0;

	/* raw lifts HTML escaping only: a header value never keeps a CR/LF */
	if (r->t->ctx == TPL_TEXT || (raw && r->t->ctx == TPL_HTML))
		return buf_add(o, s, n);
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		const char *rep = NULL;
		size_t c1 = 0;

		if (r->t->ctx == TPL_HTML)
			rep = ch == '&' ? "&amp;" : ch == '<' ? "&lt;" :
			    ch == '>' ? "&gt;" : ch == '"' ? "&quot;" :
			    ch == '\'' ? "&#39;" : NULL;
		else if (ch < 32 || ch == 127)
			rep = " ";	/* headers: no CR, LF or other control */
		else if (ch == 0xc2 && i + 1 < n &&
		    (unsigned char)s[i + 1] < 0xa0) {
			rep = " ";	/* C1 controls U+0080..U+009F, NEL too */
			c1 = 1;
		}
		if (rep == NULL)
			continue;
		if (buf_add(o, s + run, i - run) < 0 || buf_adds(o, rep) < 0)
			return -1;
		i += c1;
		run = i + 1;
	}
	return buf_add(o, s + run, n - run);
}

static void
atom_name(const struct tpl *t, const struct atom *a, char *out, size_t n)
{
	size_t used = 0;
	uint16_t i;

	out[0] = '\0';
	for (i = 0; i < a->nseg && used < n; i++)
		used += (size_t)snprintf(out + used, n - used, "%s%s",
		    i ? "." : "", t->pool.data + t->segs[a->seg + i]);
}

static int
render_var(struct run *r, const struct var *var)
{
	struct val v;
	const char *s;
	size_t n;
	uint8_t i;

	resolve(r, &var->value, &v);
	if (v.kind == V_MISSING && r->env->strict && !var->has_default) {
		char name[128];

		atom_name(r->t, &var->value, name, sizeof(name));
		return err_set(r->e, EX_DATAERR, "line %d: the recipient has "
		    "no attribute \"%s\" (strict variables)", var->value.line,
		    name);
	}
	val_text(r, &v, &s, &n);
	for (i = 0; i < var->nfilter; i++) {
		int rc = apply(r, &r->t->filters[var->filter + i], &v, &s, &n);

		if (rc < 0)
			return overflow(r);
	}
	if (put_escaped(r, s, n, var->raw) < 0)
		return overflow(r);
	return 0;
}

static int
run_each(struct run *r, const struct op *op, uint32_t *pc)
{
	struct val v;
	struct frame *f;

	resolve(r, &r->t->vars[op->a].value, &v);
	if (v.kind != V_JSON || !json_is_array(v.j) ||
	    json_array_size(v.j) == 0 || r->nframes == LIMIT_TEMPLATE_DEPTH) {
		*pc = op->b;
		return 0;
	}
	f = &r->frames[r->nframes++];
	f->array = v.j;
	f->i = 0;
	f->op = *pc;
	(*pc)++;
	return 0;
}

static int
run_op(struct run *r, uint32_t *pc)
{
	const struct op *op = &r->t->ops[*pc];
	struct frame *f;

	switch (op->type) {
	case OP_TEXT:
		if (buf_add(r->out, r->t->pool.data + op->a, op->b) < 0)
			return overflow(r);
		break;
	case OP_VAR:
		if (render_var(r, &r->t->vars[op->a]) < 0)
			return -1;
		break;
	case OP_LINK:
		if (r->env->link != NULL && r->env->link(r->env->ctx,
		    (int)op->a, r->out) < 0)
			return overflow(r);
		break;
	case OP_PIXEL:
		if (r->env->pixel != NULL && r->env->pixel(r->env->ctx,
		    r->out) < 0)
			return overflow(r);
		break;
	case OP_IF:
		if (eval(r, op->a) == op->neg) {
			*pc = op->b;
			return 0;
		}
		break;
	case OP_JUMP:
		*pc = op->a;
		return 0;
	case OP_EACH:
		return run_each(r, op, pc);
	case OP_NEXT:
		f = &r->frames[r->nframes - 1];
		if (++f->i < json_array_size(f->array)) {
			*pc = f->op + 1;
			return 0;
		}
		r->nframes--;
		break;
	}
	(*pc)++;
	return 0;
}

int
tpl_render(const struct tpl *t, const struct tpl_env *env, struct buf *out,
    struct tpl_scratch *s, struct err *e)
{
	struct run r;
	uint32_t pc = 0;
	long steps;

	r.t = t;
	r.env = env;
	r.s = s;
	r.out = out;
	r.e = e;
	r.nframes = 0;
	r.date[0] = '\0';	/* formatted on first use: most parts never ask */
	/* Nested loops over large arrays can spin without writing a byte,
	 * so the output cap alone does not bound a recipient's time. */
	for (steps = 0; pc < t->nops; steps++) {
		if (steps == LIMIT_RENDER_STEPS)
			return err_set(e, EX_DATAERR, "rendering took more than "
			    "%d steps (loops over large arrays?)",
			    LIMIT_RENDER_STEPS);
		if (run_op(&r, &pc) < 0)
			return -1;
	}
	return 0;
}

void
tpl_scratch_init(struct tpl_scratch *s)
{
	buf_init(&s->a, LIMIT_MESSAGE);
	buf_init(&s->b, LIMIT_MESSAGE);
}

void
tpl_scratch_free(struct tpl_scratch *s)
{
	buf_free(&s->a);
	buf_free(&s->b);
}

int
tpl_vars(const struct tpl *t, tpl_var_cb cb, void *ctx)
{
	char name[256];
	uint32_t i;
	int depth = 0;

	for (i = 0; i < t->nops; i++) {
		const struct op *op = &t->ops[i];
		const struct atom *a;

		if (op->type == OP_NEXT)
			depth--;
		if ((op->type != OP_VAR && op->type != OP_EACH) || depth > 0) {
			depth += op->type == OP_EACH;
			continue;
		}
		depth += op->type == OP_EACH;
		a = &t->vars[op->a].value;
		if (a->type != A_PATH || a->scope != S_ATTRS)
			continue;
		atom_name(t, a, name, sizeof(name));
		if (cb(name, a->line, a->col, t->vars[op->a].has_default,
		    ctx) < 0)
			return -1;
	}
	return 0;
}
