/*
 * html.c - links and plain text out of HTML templates; see html.h.
 *
 * Gumbo builds the tree a browser would, so an <a> inside a comment, a
 * <script> or a <template> is no link, entities arrive decoded, and every
 * attribute keeps a pointer to its bytes in the source. Both entry points
 * walk that tree with an explicit stack, and free it through a list of
 * every block gumbo allocated instead of gumbo_destroy_output(), which
 * recurses once per level of nesting: 100,000 nested <div>s (half a
 * megabyte) overflow a 1 MiB thread stack there.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gumbo.h>

#include "html.h"
#include "limits.h"
#include "xalloc.h"

/* ------------------------------------------------------ parse and free */

/* A header on every block gumbo asks for, linking it into its document. */
union html_blk {
	struct {
		union html_blk *prev;
		union html_blk *next;
	} l;
	max_align_t align;
};

struct html_doc {
	GumboOptions opt;
	GumboOutput *out;
	union html_blk blocks;	/* sentinel of a circular list */
};

static void *
html_alloc(void *ud, size_t n)
{
	struct html_doc *d = ud;
	union html_blk *b;

	b = xmalloc(sizeof(*b) + n);
	b->l.prev = &d->blocks;
	b->l.next = d->blocks.l.next;
	b->l.next->l.prev = b;
	d->blocks.l.next = b;
	return b + 1;
}

static void
html_dealloc(void *ud, void *p)
{
	union html_blk *b;

	(void)ud;
	if (p == NULL)
		return;
	b = (union html_blk *)p - 1;
	b->l.prev->l.next = b->l.next;
	b->l.next->l.prev = b->l.prev;
	free(b);
}

/* d must stay where it is until html_doc_close(): the list points at it. */
static void
html_doc_parse(struct html_doc *d, const char *src, size_t len)
{
	d->blocks.l.prev = d->blocks.l.next = &d->blocks;
	d->opt = kGumboDefaultOptions;
	d->opt.allocator = html_alloc;
	d->opt.deallocator = html_dealloc;
	d->opt.userdata = d;
	/* Parse errors are of no use here; recording them costs memory. */
	d->opt.max_errors = 0;
	d->out = gumbo_parse_with_options(&d->opt, src != NULL ? src : "",
	    len);
}

static int
html_doc_open(struct html_doc *d, const char *src, size_t len,
    struct err *e)
{
	/* Gumbo's offsets are unsigned int; the stored limit is far below. */
	if (len > (size_t)LIMIT_TEMPLATE_PART)
		return err_set(e, EX_DATAERR, "HTML of %zu bytes is over the "
		    "limit of %d", len, LIMIT_TEMPLATE_PART);
	html_doc_parse(d, src, len);
	return 0;
}

static void
html_doc_close(struct html_doc *d)
{
	union html_blk *b, *next;

	for (b = d->blocks.l.next; b != &d->blocks; b = next) {
		next = b->l.next;
		free(b);
	}
	d->blocks.l.prev = d->blocks.l.next = &d->blocks;
	d->out = NULL;
}

/* ----------------------------------------------------------- tree walk */

struct walk_frame {
	GumboNode *node;
	unsigned int next;	/* the child to enter next */
};

struct walk {
	struct walk_frame *stack;
	size_t depth;
	size_t cap;
};

static const GumboVector *
node_children(const GumboNode *n)
{
	switch (n->type) {
	case GUMBO_NODE_DOCUMENT:
		return &n->v.document.children;
	case GUMBO_NODE_ELEMENT:
	case GUMBO_NODE_TEMPLATE:
		return &n->v.element.children;
	default:
		return NULL;
	}
}

static void
walk_push(struct walk *w, GumboNode *n)
{
	if (w->depth == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->stack = xrealloc(w->stack, w->cap * sizeof(*w->stack));
	}
	w->stack[w->depth].node = n;
	w->stack[w->depth].next = 0;
	w->depth++;
}

/*
 * One step of a depth-first walk in document order: a node entered
 * (*leaving 0) or, after its children, left (*leaving 1). NULL at the end.
 */
static GumboNode *
walk_next(struct walk *w, int *leaving)
{
	struct walk_frame *f;
	const GumboVector *kids;
	GumboNode *child;

	if (w->depth == 0)
		return NULL;
	f = &w->stack[w->depth - 1];
	kids = node_children(f->node);
	if (kids != NULL && f->next < kids->length) {
		child = kids->data[f->next++];
		walk_push(w, child);
		*leaving = 0;
		return child;
	}
	w->depth--;
	*leaving = 1;
	return w->stack[w->depth].node;
}

/* The node just entered is left next, its children unvisited. */
static void
walk_skip(struct walk *w)
{
	w->stack[w->depth - 1].next = ~0u;
}

/* ------------------------------------------------------ source offsets */

struct html_src {
	const char *p;
	size_t len;
};

/* Gumbo's pointers lead into the source; check rather than trust. */
static int
src_has(const struct html_src *s, const char *p, size_t n)
{
	uintptr_t at = (uintptr_t)p, base = (uintptr_t)s->p;

	return p != NULL && at >= base && at - base <= s->len &&
	    n <= s->len - (at - base);
}

/* Line and column of a byte offset, counted as a person counts them. */
static void
src_position(const struct html_src *s, size_t at, size_t *line,
    size_t *col)
{
	size_t i;

	*line = *col = 1;
	for (i = 0; i < at && i < s->len; i++) {
		if (s->p[i] == '\n' || (s->p[i] == '\r' &&
		    (i + 1 == s->len || s->p[i + 1] != '\n'))) {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)s->p[i] & 0xc0) != 0x80 &&
		    s->p[i] != '\r')
			(*col)++;
	}
}

/*
 * Where an attribute's value lies in the source, quotes excluded. For an
 * attribute without a value (href, href=) gumbo points original_value at
 * the name and leaves value_start unset: any value really given starts
 * after the name, so one that does not is the empty range just after it.
 * -1 if the attribute is not in the source at all.
 */
static int
attr_span(const struct html_src *s, const GumboAttribute *a, size_t *start,
    size_t *end)
{
	const char *v = a->original_value.data;
	size_t n = a->original_value.length, name;

	if (!src_has(s, a->original_name.data, a->original_name.length))
		return -1;
	name = (size_t)(a->original_name.data - s->p) +
	    a->original_name.length;
	if (!src_has(s, v, n) || (size_t)(v - s->p) < name) {
		*start = *end = name;
		return 0;
	}
	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		v++;
		n -= 2;
	}
	*start = (size_t)(v - s->p);
	*end = *start + n;
	return 0;
}

/* ---------------------------------------------------------------- URLs */

static int
url_ignored(char c)
{
	return c == '\t' || c == '\n' || c == '\r';
}

static int
scheme_char(char c, int first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return !first && ((c >= '0' && c <= '9') || c == '+' || c == '-' ||
	    c == '.');
}

/* U+FFFD, which gumbo puts where the source had a C0 control. */
#define REPLACEMENT	"\xef\xbf\xbd"

/*
 * The scheme as the URL Standard's parser reads it: leading C0 controls
 * and spaces skipped, tabs and newlines anywhere ignored, so "java\tscript:"
 * is javascript:. A leading U+FFFD is skipped too, since it may stand for
 * a control a browser would skip. Lowercased into scheme (size bytes);
 * returns what follows the colon, or NULL when there is no scheme or it
 * does not fit.
 */
static const char *
url_scheme(const char *u, char *scheme, size_t size)
{
	size_t n = 0;

	for (;;) {
		if (*u != '\0' && (unsigned char)*u <= ' ')
			u++;
		else if (strncmp(u, REPLACEMENT, 3) == 0)
			u += 3;
		else
			break;
	}
	for (; *u != '\0'; u++) {
		if (url_ignored(*u))
			continue;
		if (*u == ':' && n > 0) {
			scheme[n] = '\0';
			return u + 1;
		}
		if (n + 1 >= size || !scheme_char(*u, n == 0))
			return NULL;
		scheme[n++] = (char)(*u >= 'A' && *u <= 'Z' ? *u + 32 : *u);
	}
	return NULL;
}

/* The scheme a link may not have, or NULL. */
static const char *
url_forbidden(const char *u)
{
	char scheme[16];

	if (url_scheme(u, scheme, sizeof(scheme)) == NULL)
		return NULL;
	if (strcmp(scheme, "javascript") == 0)
		return "javascript";
	if (strcmp(scheme, "data") == 0)
		return "data";
	return NULL;
}

/* "//" after the colon, tabs and newlines ignored as above. */
static int
url_absolute(const char *rest)
{
	int slashes = 0;

	for (; *rest != '\0' && slashes < 2; rest++) {
		if (url_ignored(*rest))
			continue;
		if (*rest != '/')
			return 0;
		slashes++;
	}
	return slashes == 2;
}

/*
 * Only an absolute http(s) URL survives a trip through the click
 * redirect: "http:foo" resolves against the page, and a URL holding
 * template tags is known only per recipient.
 */
static enum html_link_kind
link_kind(const GumboElement *el, const char *url)
{
	char scheme[8];
	const char *rest;

	if (gumbo_get_attribute(&el->attributes, "data-notrack") != NULL ||
	    strstr(url, "{{") != NULL)
		return HTML_LINK_KEEP;
	rest = url_scheme(url, scheme, sizeof(scheme));
	if (rest == NULL || (strcmp(scheme, "http") != 0 &&
	    strcmp(scheme, "https") != 0) || !url_absolute(rest))
		return HTML_LINK_KEEP;
	return HTML_LINK_TRACK;
}

/* ---------------------------------------------------------------- scan */

struct scanner {
	struct html_src src;
	struct html_scan *out;
	int cap;
	struct err *e;
};

static int
scan_error(const struct scanner *sc, size_t at, const char *scheme)
{
	size_t line, col;

	src_position(&sc->src, at, &line, &col);
	return err_set(sc->e, EX_DATAERR, "line %zu, column %zu: a %s: link "
	    "is not allowed", line, col, scheme);
}

static struct html_link *
scan_add(struct scanner *sc)
{
	struct html_scan *s = sc->out;

	if (s->nlinks == sc->cap) {
		sc->cap = sc->cap ? sc->cap * 2 : 16;
		s->links = xrealloc(s->links, (size_t)sc->cap *
		    sizeof(*s->links));
	}
	return &s->links[s->nlinks++];
}

static int
scan_link(struct scanner *sc, const GumboElement *el)
{
	const GumboAttribute *href;
	struct html_link *l;
	const char *bad;
	size_t start, end;

	href = gumbo_get_attribute(&el->attributes, "href");
	if (href == NULL || attr_span(&sc->src, href, &start, &end) < 0)
		return 0;
	if ((bad = url_forbidden(href->value)) != NULL)
		return scan_error(sc, start, bad);
	l = scan_add(sc);
	l->start = start;
	l->end = end;
	l->kind = link_kind(el, href->value);
	l->url = xstrdup(href->value);
	return 0;
}

/* The end tag gumbo records may be another that closed the body. */
static void
scan_body(struct scanner *sc, const GumboElement *el)
{
	const GumboStringPiece *t = &el->original_end_tag;

	if (el->tag_namespace == GUMBO_NAMESPACE_HTML && t->length >= 6 &&
	    src_has(&sc->src, t->data, t->length) &&
	    strncasecmp(t->data, "</body", 6) == 0)
		sc->out->pixel_at = (size_t)(t->data - sc->src.p);
}

static int
scan_enter(struct scanner *sc, struct walk *w, const GumboNode *n)
{
	const GumboElement *el = &n->v.element;

	/* Template contents are inert until a script clones them. */
	if (n->type == GUMBO_NODE_TEMPLATE) {
		walk_skip(w);
		return 0;
	}
	if (n->type != GUMBO_NODE_ELEMENT)
		return 0;
	if (el->tag == GUMBO_TAG_BODY)
		scan_body(sc, el);
	if (el->tag == GUMBO_TAG_A || el->tag == GUMBO_TAG_AREA)
		return scan_link(sc, el);
	return 0;
}

static int
link_cmp(const void *a, const void *b)
{
	const struct html_link *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * Tree order is not source order (a link foster-parented out of a table
 * comes before it), and the adoption agency clones an <a> with its
 * attributes when tags are misnested: sort, and keep one link per value.
 */
static void
scan_sort(struct html_scan *s)
{
	int i, n = 0;

	if (s->nlinks == 0)
		return;
	qsort(s->links, (size_t)s->nlinks, sizeof(*s->links), link_cmp);
	for (i = 1; i < s->nlinks; i++) {
		if (s->links[i].start == s->links[n].start)
			free(s->links[i].url);
		else
			s->links[++n] = s->links[i];
	}
	s->nlinks = n + 1;
}

int
html_scan(const char *src, size_t len, struct html_scan *out,
    struct err *e)
{
	struct html_doc d;
	struct walk w = { NULL, 0, 0 };
	struct scanner sc;
	GumboNode *n;
	int leaving, rc = -1;

	memset(out, 0, sizeof(*out));
	out->pixel_at = len;
	if (html_doc_open(&d, src, len, e) < 0)
		return -1;
	sc.src.p = src;
	sc.src.len = len;
	sc.out = out;
	sc.cap = 0;
	sc.e = e;
	walk_push(&w, d.out->document);
	while ((n = walk_next(&w, &leaving)) != NULL)
		if (!leaving && scan_enter(&sc, &w, n) < 0)
			goto out;
	scan_sort(out);
	rc = 0;
out:
	if (rc < 0) {
		html_scan_free(out);
		out->pixel_at = 0;
	}
	free(w.stack);
	html_doc_close(&d);
	return rc;
}

void
html_scan_free(struct html_scan *s)
{
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nlinks; i++)
		free(s->links[i].url);
	free(s->links);
	s->links = NULL;
	s->nlinks = 0;
}

/* ---------------------------------------------------------------- text */

enum role {
	R_INLINE, R_DROP, R_LINE, R_PARA, R_PRE, R_LIST, R_ITEM, R_CELL,
	R_BR, R_LINK, R_IMG
};

/* What an element does to the text; anything not named is inline. */
static const unsigned char roles[GUMBO_TAG_LAST] = {
	[GUMBO_TAG_HEAD] = R_DROP, [GUMBO_TAG_TITLE] = R_DROP,
	[GUMBO_TAG_STYLE] = R_DROP, [GUMBO_TAG_SCRIPT] = R_DROP,
	[GUMBO_TAG_TEMPLATE] = R_DROP, [GUMBO_TAG_IFRAME] = R_DROP,
	[GUMBO_TAG_NOEMBED] = R_DROP, [GUMBO_TAG_NOFRAMES] = R_DROP,

	[GUMBO_TAG_DIV] = R_LINE, [GUMBO_TAG_TR] = R_LINE,
	[GUMBO_TAG_DT] = R_LINE, [GUMBO_TAG_DD] = R_LINE,
	[GUMBO_TAG_CAPTION] = R_LINE, [GUMBO_TAG_ARTICLE] = R_LINE,
	[GUMBO_TAG_SECTION] = R_LINE, [GUMBO_TAG_HEADER] = R_LINE,
	[GUMBO_TAG_FOOTER] = R_LINE, [GUMBO_TAG_NAV] = R_LINE,
	[GUMBO_TAG_ASIDE] = R_LINE, [GUMBO_TAG_MAIN] = R_LINE,
	[GUMBO_TAG_CENTER] = R_LINE, [GUMBO_TAG_FIGCAPTION] = R_LINE,
	[GUMBO_TAG_DETAILS] = R_LINE, [GUMBO_TAG_SUMMARY] = R_LINE,
	[GUMBO_TAG_FORM] = R_LINE, [GUMBO_TAG_LEGEND] = R_LINE,

	[GUMBO_TAG_P] = R_PARA, [GUMBO_TAG_H1] = R_PARA,
	[GUMBO_TAG_H2] = R_PARA, [GUMBO_TAG_H3] = R_PARA,
	[GUMBO_TAG_H4] = R_PARA, [GUMBO_TAG_H5] = R_PARA,
	[GUMBO_TAG_H6] = R_PARA, [GUMBO_TAG_HGROUP] = R_PARA,
	[GUMBO_TAG_TABLE] = R_PARA, [GUMBO_TAG_BLOCKQUOTE] = R_PARA,
	[GUMBO_TAG_HR] = R_PARA, [GUMBO_TAG_DL] = R_PARA,
	[GUMBO_TAG_FIGURE] = R_PARA, [GUMBO_TAG_ADDRESS] = R_PARA,
	[GUMBO_TAG_FIELDSET] = R_PARA,

	[GUMBO_TAG_PRE] = R_PRE, [GUMBO_TAG_LISTING] = R_PRE,
	[GUMBO_TAG_PLAINTEXT] = R_PRE, [GUMBO_TAG_XMP] = R_PRE,

	[GUMBO_TAG_UL] = R_LIST, [GUMBO_TAG_OL] = R_LIST,
	[GUMBO_TAG_MENU] = R_LIST, [GUMBO_TAG_DIR] = R_LIST,
	[GUMBO_TAG_LI] = R_ITEM,
	[GUMBO_TAG_TD] = R_CELL, [GUMBO_TAG_TH] = R_CELL,
	[GUMBO_TAG_BR] = R_BR,
	[GUMBO_TAG_A] = R_LINK,
	[GUMBO_TAG_IMG] = R_IMG,
};

static int
role_of(const GumboElement *el)
{
	return el->tag < GUMBO_TAG_LAST ? roles[el->tag] : R_INLINE;
}

/* ------------------------------------------------------ tags gumbo moved */

/*
 * The tree builder moves text that stands directly in a <table>, <tbody>
 * or <tr>, outside any cell, to just before the table (HTML Standard
 * 13.2.6.1, foster parenting), as a browser does with the rendered page.
 * A template tag there is structure rather than text: in
 * <table>{{#each x}}<tr><td>{{ a }}</td></tr>{{/each}}</table> the loop
 * would come out empty before the table, its body after it. A comment
 * stays where it stands, so html_text() replaces each such tag with a
 * PLACEHOLDER in a copy of the source, parses the copy, and writes the
 * tag where its placeholder ends up (text_moved()).
 *
 * Which tags: those in text that the tree holds out of source order,
 * before a node that begins earlier in the source (its table). Replacing
 * every tag would break what it touched elsewhere: the "-->" of a
 * placeholder ends an Outlook <!--[if mso]> comment early, one between
 * attributes (<td {{#if x}}class=y{{/if}}>) ends the start tag, one in a
 * <textarea> is text, one in <head> or after </body> stays there while
 * text moves on into the body. Attribute values never hold a placeholder,
 * so link URLs and alt text need nothing restored.
 *
 * A moved text whose blocks close inside it stays where gumbo put it, as
 * the browser shows it (moved_settle()); one that opens or closes a block
 * around rows goes back, value tags included, which keeps {{ @index }}
 * and the loop's names inside the loop. A tag inside an element gumbo
 * moved (a <p> directly in a <table>) moves with it; should that leave
 * the blocks unbalanced, html_text() keeps the text it made before.
 */
#define PLACEHOLDER	"<!--pbtag-->"

struct moved_tag {
	size_t at;		/* the tag: src[at, at + len) */
	size_t len;
	size_t ph;		/* its placeholder: copy[ph, ...) */
};

struct moved {
	const char *src;	/* the caller's source */
	char *copy;		/* it with each moved tag a placeholder */
	size_t copy_len;
	struct moved_tag *tags;	/* in source order */
	size_t ntags;
};

struct span {
	size_t at;		/* a moved text: src[at, at + len) */
	size_t len;
	size_t table;		/* where what it went before begins */
};

/*
 * Where a node begins in the source; -1 if unknown. Gumbo copies the
 * start tag of an element it clones (reconstructed formatting, adoption
 * agency) into the clone, which stands elsewhere.
 */
static int
node_at(const struct html_src *s, const GumboNode *n, size_t *at)
{
	const GumboStringPiece *p;

	if (n->type == GUMBO_NODE_DOCUMENT)
		return -1;
	if (n->type == GUMBO_NODE_ELEMENT || n->type == GUMBO_NODE_TEMPLATE) {
		if (n->parse_flags & (GUMBO_INSERTION_ADOPTION_AGENCY_CLONED |
		    GUMBO_INSERTION_RECONSTRUCTED_FORMATTING_ELEMENT))
			return -1;
		p = &n->v.element.original_tag;
	} else
		p = &n->v.text.original_text;
	if (p->length == 0 || !src_has(s, p->data, p->length))
		return -1;
	*at = (size_t)(p->data - s->p);
	return 0;
}

static int
span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->at < y->at ? -1 : x->at > y->at;
}

/* Elements whose text the tokenizer reads raw: a comment there is text. */
static int
raw_parent(const GumboNode *n)
{
	if (n->type != GUMBO_NODE_ELEMENT ||
	    n->v.element.tag_namespace != GUMBO_NAMESPACE_HTML)
		return 0;
	switch (n->v.element.tag) {
	case GUMBO_TAG_TITLE: case GUMBO_TAG_TEXTAREA: case GUMBO_TAG_STYLE:
	case GUMBO_TAG_SCRIPT: case GUMBO_TAG_XMP: case GUMBO_TAG_IFRAME:
	case GUMBO_TAG_NOEMBED: case GUMBO_TAG_NOFRAMES:
	case GUMBO_TAG_NOSCRIPT: case GUMBO_TAG_PLAINTEXT:
		return 1;
	default:
		return 0;
	}
}

/* Spans in growing arrays: candidates, and texts found out of order. */
struct spans {
	struct span *v;
	size_t n;
	size_t cap;
};

static void
span_add(struct spans *a, const struct span *sp)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		a->v = xrealloc(a->v, a->cap * sizeof(*a->v));
	}
	a->v[a->n++] = *sp;
}

/*
 * A node after (in the tree) a text that begins after it (in the source)
 * is that text's table. Candidates wait on a stack, increasing by offset,
 * until a node beginning before them comes, so each is looked at once.
 * Only text holding "{{", read as markup, outside what html_text() drops
 * (as text_open() decides) is a candidate. Comments are no yardstick:
 * one after </body> goes after the body's content.
 */
static void
moved_node(const struct html_src *s, struct walk *w, GumboNode *n,
    struct spans *wait, struct spans *out)
{
	struct span sp;
	size_t at;

	if ((n->type == GUMBO_NODE_ELEMENT && role_of(&n->v.element) ==
	    R_DROP) || n->type == GUMBO_NODE_TEMPLATE)
		walk_skip(w);
	if (n->type == GUMBO_NODE_COMMENT || node_at(s, n, &at) < 0)
		return;
	for (; wait->n > 0 && wait->v[wait->n - 1].at > at; wait->n--) {
		wait->v[wait->n - 1].table = at;
		span_add(out, &wait->v[wait->n - 1]);
	}
	if (n->type != GUMBO_NODE_TEXT ||
	    raw_parent(w->stack[w->depth - 2].node))
		return;
	sp.at = at;
	sp.len = n->v.text.original_text.length;
	if (memmem(s->p + at, sp.len, "{{", 2) != NULL)
		span_add(wait, &sp);
}

/* The texts out of source order that hold "{{", sorted. */
static void
moved_text(const struct html_src *s, GumboNode *root, struct spans *out)
{
	struct walk w = { NULL, 0, 0 };
	struct spans wait = { NULL, 0, 0 };
	GumboNode *n;
	int leaving;

	walk_push(&w, root);
	while ((n = walk_next(&w, &leaving)) != NULL)
		if (!leaving)
			moved_node(s, &w, n, &wait, out);
	free(wait.v);
	free(w.stack);
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), span_cmp);
}

/* The next tag at or after *pos, read as the template compiler reads it. */
static int
tag_next(const struct html_src *s, size_t *pos, struct moved_tag *tag)
{
	const char *o, *c;

	if ((o = memmem(s->p + *pos, s->len - *pos, "{{", 2)) == NULL)
		return -1;
	tag->at = (size_t)(o - s->p);
	if ((c = memmem(o + 2, s->len - tag->at - 2, "}}", 2)) == NULL)
		return -1;
	tag->len = (size_t)(c - o) + 2;
	*pos = tag->at + tag->len;
	return 0;
}

static int
name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '@' ||
	    c >= 0x80;
}

static size_t
skip_space(const char *s, size_t i, size_t n)
{
	while (i < n && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')))
		i++;
	return i;
}

/* A word at tag[i], as a name: "if" in "{{else if x}}", not "iffy". */
static int
tag_word(const char *tag, size_t i, size_t n, const char *w)
{
	size_t k = strlen(w);

	return n - i >= k && memcmp(tag + i, w, k) == 0 &&
	    !name_char((unsigned char)tag[i + k]);
}

/*
 * '#' opens a block, '/' closes one, 'e' is an {{else}}, as template.c
 * reads them; 0 for any other tag. *kind: the block's first letter, or
 * 'i' for {{else if}}.
 */
static int
tag_block(const char *tag, size_t n, char *kind)
{
	size_t i = skip_space(tag, 2, n);

	*kind = 0;
	if (i < n && (tag[i] == '#' || tag[i] == '/')) {
		*kind = tag[skip_space(tag, i + 1, n)];
		return tag[i];
	}
	if (!tag_word(tag, i, n, "else"))
		return 0;
	if (tag_word(tag, skip_space(tag, i + 4, n), n, "if"))
		*kind = 'i';
	return 'e';
}

/*
 * Whether a tag names @index, @number, @first or @last, known only inside
 * {{#each}}: an '@' starting a name, outside quotes and {{! comments }}.
 */
static int
tag_each_only(const char *tag, size_t n)
{
	size_t i = skip_space(tag, 2, n);
	char quote = 0;

	if (i < n && tag[i] == '!')
		return 0;
	for (; i < n; i++) {
		if (quote != 0)
			quote = tag[i] == quote ? 0 : quote;
		else if (tag[i] == '"' || tag[i] == '\'')
			quote = tag[i];
		else if (tag[i] == '@' && !name_char((unsigned char)tag[i - 1]))
			return 1;
	}
	return 0;
}

struct nest {
	char kind;		/* 'i'f, 'u'nless, 'e'ach */
	char has_else;
};

/*
 * Whether the tags of s[0..n) fit together as the template compiler
 * demands: blocks closed in order, {{else}} only in {{#if}} and
 * {{#unless}} and once, {{else if}} only in {{#if}}, @index and its kin
 * only inside {{#each}}. Reordering tags breaks nothing else.
 */
static int
tags_nest(const char *s, size_t n)
{
	struct html_src src = { s, n };
	struct moved_tag tag;
	struct nest *open = NULL, *top;
	size_t pos = 0, depth = 0, cap = 0, each = 0;
	int b, ok = 1;
	char kind;

	while (ok && tag_next(&src, &pos, &tag) == 0) {
		b = tag_block(s + tag.at, tag.len, &kind);
		top = depth > 0 ? &open[depth - 1] : NULL;
		if (b == '#') {
			if (depth == cap) {
				cap = cap ? cap * 2 : 16;
				open = xrealloc(open, cap * sizeof(*open));
			}
			open[depth].kind = kind;
			open[depth++].has_else = 0;
			each += kind == 'e';
		} else if (b == '/') {
			ok = top != NULL && top->kind == kind;
			each -= ok && kind == 'e';
			depth -= ok;
		} else if (b == 'e') {
			ok = top != NULL && top->kind != 'e' &&
			    !top->has_else && (kind != 'i' || top->kind == 'i');
			if (ok && kind != 'i')
				top->has_else = 1;
		}
		if (each == 0 && tag_each_only(s + tag.at, tag.len))
			ok = 0;
	}
	free(open);
	return ok && depth == 0;
}

/*
 * A moved text whose blocks all close inside it may stay before its table,
 * as the browser shows it ("Total: {{ total }}", "{{#if x}}note{{/if}}"
 * in a <tr>), unless a block tag kept in place stands between the table's
 * start and the text (before: the last one ahead of the text): moved, the
 * text would leave that block. Otherwise its tags [first, ntags) go back
 * in place. Returns the last block tag in place.
 */
static size_t
moved_settle(struct moved *m, const struct html_src *s, const struct span *sp,
    size_t first, size_t before, size_t block)
{
	size_t i, last = block;
	int b, depth = 0, whole = before == SIZE_MAX || before < sp->table;
	char kind;

	for (i = first; i < m->ntags; i++) {
		b = tag_block(s->p + m->tags[i].at, m->tags[i].len, &kind);
		if (b != 0)
			last = m->tags[i].at;
		depth += b == '#' ? 1 : b == '/' ? -1 : 0;
		if (depth < 0 || (b == 'e' && depth == 0))
			whole = 0;
	}
	if (!whole || depth != 0)
		return last;
	m->ntags = first;
	return block;
}

/*
 * The tags that lie wholly inside one of the n spans and must go back in
 * place. block: the last block tag in place so far (SIZE_MAX: none yet);
 * before: what it was when the current span's first tag came.
 */
static void
moved_tags(struct moved *m, const struct html_src *s, const struct span *sp,
    size_t n)
{
	struct moved_tag tag;
	size_t pos = 0, i = 0, cap = 0, first = 0;
	size_t before = SIZE_MAX, block = SIZE_MAX;
	char kind;

	while (i < n && tag_next(s, &pos, &tag) == 0) {
		for (; i < n && sp[i].at + sp[i].len <= tag.at; i++) {
			block = moved_settle(m, s, &sp[i], first, before,
			    block);
			first = m->ntags;
		}
		if (i == n || tag.at < sp[i].at ||
		    tag.at + tag.len > sp[i].at + sp[i].len) {
			if (tag_block(s->p + tag.at, tag.len, &kind) != 0)
				block = tag.at;
			continue;
		}
		if (m->ntags == first)
			before = block;
		if (m->ntags == cap) {
			cap = cap ? cap * 2 : 16;
			m->tags = xrealloc(m->tags, cap * sizeof(*m->tags));
		}
		m->tags[m->ntags++] = tag;
	}
	if (i < n)
		moved_settle(m, s, &sp[i], first, before, block);
}

/* At most three times the source: no tag is shorter than "{{}}". */
static void
moved_copy(struct moved *m, const struct html_src *s)
{
	size_t k = sizeof(PLACEHOLDER) - 1, n = s->len, from = 0, i;
	char *p;

	for (i = 0; i < m->ntags; i++)
		n = n - m->tags[i].len + k;
	m->copy = p = xmalloc(n + 1);
	for (i = 0; i < m->ntags; i++) {
		memcpy(p, s->p + from, m->tags[i].at - from);
		p += m->tags[i].at - from;
		m->tags[i].ph = (size_t)(p - m->copy);
		memcpy(p, PLACEHOLDER, k);
		p += k;
		from = m->tags[i].at + m->tags[i].len;
	}
	memcpy(p, s->p + from, s->len - from);
	m->copy_len = n;
	m->copy[n] = '\0';
}

/* The number of tags the tree of src[0..len) has out of place. */
static size_t
moved_find(struct moved *m, const char *src, size_t len, GumboNode *root)
{
	struct html_src s = { src, len };
	struct spans sp = { NULL, 0, 0 };

	memset(m, 0, sizeof(*m));
	m->src = src;
	if (len < 4 || memmem(src, len, "{{", 2) == NULL)
		return 0;
	moved_text(&s, root, &sp);
	if (sp.n > 0)
		moved_tags(m, &s, sp.v, sp.n);
	free(sp.v);
	if (m->ntags > 0)
		moved_copy(m, &s);
	return m->ntags;
}

/* The tag a comment of the copy's tree stands for, or NULL. */
static const struct moved_tag *
moved_lookup(const struct moved *m, const GumboNode *n)
{
	const char *p = n->v.text.original_text.data;
	size_t lo = 0, hi, mid, at;

	if (m == NULL || m->copy == NULL || p < m->copy ||
	    p >= m->copy + m->copy_len)
		return NULL;
	at = (size_t)(p - m->copy);
	hi = m->ntags;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (m->tags[mid].ph == at)
			return &m->tags[mid];
		if (m->tags[mid].ph < at)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void
moved_free(struct moved *m)
{
	free(m->copy);
	free(m->tags);
	m->copy = NULL;
	m->tags = NULL;
	m->ntags = 0;
}

/* Lists nested deeper than this share the innermost level's numbering. */
#define TEXT_LISTS	16

struct text_list {
	int ordered;
	long next;		/* number of the next <ol> item */
	size_t indent;		/* column of this list's markers */
};

/*
 * Words are written as they come; the space, line breaks and list marker
 * before a word are owed until it arrives, so nothing trails a line and
 * no run of breaks outgrows one blank line.
 */
struct text {
	struct buf *out;
	size_t base;		/* out->len on entry: ours starts here */
	int brk;		/* newlines owed before the next word, 0-2 */
	size_t nl;		/* newlines ending what is written */
	int space;		/* spaces owed: 1, or 2 between table cells */
	int pre;		/* inside this many <pre> */
	char marker[24];	/* "- " or "12. ", owed to the first word */
	size_t marker_at;	/* its column */
	size_t indent;		/* column of an item's following lines */
	struct text_list lists[TEXT_LISTS];
	int nlists;		/* open lists; may exceed TEXT_LISTS */
	const GumboNode *link;	/* the <a> whose text is being written */
	const char *href;
	size_t link_at;		/* where its text starts in out */
	int link_started;
	const struct moved *moved;	/* tags whose placeholders to fill */
};

static int
text_add(struct text *t, const char *p, size_t n)
{
	size_t i;

	if (buf_add(t->out, p, n) < 0)
		return -1;
	for (i = n; i > 0 && p[i - 1] == '\n'; i--)
		;
	t->nl = i == 0 ? t->nl + n : n - i;
	return 0;
}

static int
text_spaces(struct text *t, size_t n)
{
	static const char sp[] = "                ";
	size_t k;

	for (; n > 0; n -= k) {
		k = n < sizeof(sp) - 1 ? n : sizeof(sp) - 1;
		if (text_add(t, sp, k) < 0)
			return -1;
	}
	return 0;
}

static int
text_newlines(struct text *t, size_t want)
{
	while (t->nl < want)
		if (text_add(t, "\n", 1) < 0)
			return -1;
	return 0;
}

/* An item's first word goes on the marker's line whatever blocks open. */
static void
text_break(struct text *t, int n)
{
	if (t->marker[0] == '\0' && n > t->brk)
		t->brk = n;
}

/* <br>: one more newline than already owed or written, up to a blank line. */
static void
text_br(struct text *t)
{
	size_t have = t->nl > (size_t)t->brk ? t->nl : (size_t)t->brk;

	if (t->marker[0] == '\0')
		t->brk = have >= 2 ? 2 : (int)have + 1;
}

/* Pays what is owed before a word: breaks, indent and marker, or space. */
static int
text_flush(struct text *t)
{
	int first = t->out->len == t->base;

	if (t->brk > 0) {
		if (!first && text_newlines(t, (size_t)t->brk) < 0)
			return -1;
		t->brk = 0;
		t->space = 0;
	}
	if (first || t->nl > 0) {
		if (t->marker[0] != '\0') {
			if (text_spaces(t, t->marker_at) < 0 ||
			    text_add(t, t->marker, strlen(t->marker)) < 0)
				return -1;
			t->marker[0] = '\0';
		} else if (!t->pre && text_spaces(t, t->indent) < 0)
			return -1;
	} else if (t->space > 0 && text_spaces(t, (size_t)t->space) < 0)
		return -1;
	t->space = 0;
	if (t->link != NULL && !t->link_started) {
		t->link_at = t->out->len;
		t->link_started = 1;
	}
	return 0;
}

static int
text_word(struct text *t, const char *p, size_t n)
{
	if (text_flush(t) < 0)
		return -1;
	return text_add(t, p, n);
}

/* U+00A0 counts: email layouts pad with &nbsp;, plain text need not. */
static size_t
space_len(const char *s, size_t n)
{
	if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f')
		return 1;
	if (n >= 2 && (unsigned char)s[0] == 0xc2 &&
	    (unsigned char)s[1] == 0xa0)
		return 2;
	return 0;
}

static int
tag_opens(const char *s, size_t n, size_t i)
{
	return i + 1 < n && s[i] == '{' && s[i + 1] == '{';
}

/*
 * Length of the word at s[i]: up to a space or a template tag, or a whole
 * template tag, "{{" to "}}" spaces and all, so that it comes through
 * byte for byte. *close caches the next "}}" (SIZE_MAX: none left), so a
 * text of many "{{" and no "}}" stays linear.
 */
static size_t
word_len(const char *s, size_t n, size_t i, size_t *close)
{
	const char *c;
	size_t j;

	if (tag_opens(s, n, i)) {
		if (*close != SIZE_MAX && *close < i + 2) {
			c = memmem(s + i + 2, n - i - 2, "}}", 2);
			*close = c != NULL ? (size_t)(c - s) : SIZE_MAX;
		}
		if (*close != SIZE_MAX)
			return *close + 2 - i;
	}
	for (j = i + 1; j < n && space_len(s + j, n - j) == 0 &&
	    !tag_opens(s, n, j); j++)
		;
	return j - i;
}

static int
text_inline(struct text *t, const char *s, size_t n)
{
	size_t i = 0, w, close = 0;

	while (i < n) {
		if ((w = space_len(s + i, n - i)) > 0) {
			if (t->space == 0)
				t->space = 1;
		} else {
			w = word_len(s, n, i, &close);
			if (text_word(t, s + i, w) < 0)
				return -1;
		}
		i += w;
	}
	return 0;
}

/* Owed breaks count toward a <pre>'s own newlines, which cannot lead. */
static int
text_pre_newline(struct text *t)
{
	if (t->out->len == t->base)
		return 0;
	if (t->brk > 0) {
		if (text_newlines(t, (size_t)t->brk) < 0)
			return -1;
		t->brk = 0;
		t->space = 0;
	}
	return t->nl >= 2 ? 0 : text_add(t, "\n", 1);
}

static int
text_pre(struct text *t, const char *s, size_t n)
{
	size_t i = 0, j;

	while (i < n) {
		if (s[i] == '\n') {
			if (text_pre_newline(t) < 0)
				return -1;
			i++;
			continue;
		}
		for (j = i; j < n && s[j] != '\n'; j++)
			;
		if (text_word(t, s + i, j - i) < 0)
			return -1;
		i = j;
	}
	return 0;
}

static struct text_list *
text_list_top(struct text *t)
{
	if (t->nlists == 0)
		return NULL;
	return &t->lists[(t->nlists < TEXT_LISTS ? t->nlists : TEXT_LISTS) -
	    1];
}

static long
list_start(const GumboElement *el)
{
	const GumboAttribute *a;
	char *end;
	long v;

	if (el->tag != GUMBO_TAG_OL ||
	    (a = gumbo_get_attribute(&el->attributes, "start")) == NULL)
		return 1;
	v = strtol(a->value, &end, 10);
	if (end == a->value || *end != '\0' || v < -1000000000L ||
	    v > 1000000000L)
		return 1;
	return v;
}

static void
text_list_open(struct text *t, const GumboElement *el)
{
	struct text_list *l;

	text_break(t, t->nlists > 0 ? 1 : 2);
	if (t->nlists++ >= TEXT_LISTS)
		return;
	l = &t->lists[t->nlists - 1];
	l->ordered = el->tag == GUMBO_TAG_OL;
	l->next = list_start(el);
	l->indent = t->indent;
}

static void
text_list_close(struct text *t)
{
	text_break(t, t->nlists > 1 ? 1 : 2);
	if (t->nlists-- > TEXT_LISTS)
		return;
	t->indent = t->lists[t->nlists].indent;
}

static void
text_item_open(struct text *t)
{
	struct text_list *l = text_list_top(t);

	text_break(t, 1);
	if (l != NULL && l->ordered)
		snprintf(t->marker, sizeof(t->marker), "%ld. ", l->next++);
	else
		snprintf(t->marker, sizeof(t->marker), "- ");
	t->marker_at = l != NULL ? l->indent : 0;
	t->indent = t->marker_at + strlen(t->marker);
}

static void
text_item_close(struct text *t)
{
	struct text_list *l = text_list_top(t);

	t->marker[0] = '\0';
	text_break(t, 1);
	t->indent = l != NULL ? l->indent : 0;
}

static int
text_image(struct text *t, const GumboElement *el)
{
	const GumboAttribute *alt;

	alt = gumbo_get_attribute(&el->attributes, "alt");
	if (alt == NULL)
		return 0;
	return text_inline(t, alt->value, strlen(alt->value));
}

static void
text_link_open(struct text *t, const GumboNode *n)
{
	const GumboAttribute *href;

	href = gumbo_get_attribute(&n->v.element.attributes, "href");
	if (t->link != NULL || href == NULL)
		return;
	t->link = n;
	t->href = href->value;
	t->link_started = 0;
}

/*
 * A mailto: link shows its address, cut before the query at a '?' that is
 * not inside a template tag; nothing shows for "" or "#fragment".
 */
static const char *
link_shown(const char *href, size_t *n)
{
	const char *tag;
	size_t i;

	while (*href != '\0' && (unsigned char)*href <= ' ')
		href++;
	if (*href == '\0' || *href == '#')
		return NULL;
	*n = strlen(href);
	if (strncasecmp(href, "mailto:", 7) != 0)
		return href;
	href += 7;
	for (i = 0; href[i] != '\0' && href[i] != '?'; i++)
		if (href[i] == '{' && href[i + 1] == '{' &&
		    (tag = strstr(href + i + 2, "}}")) != NULL)
			i = (size_t)(tag - href) + 1;
	*n = i;
	return i > 0 ? href : NULL;
}

static int
same_text(const char *a, size_t an, const char *b, size_t bn)
{
	if (an > 0 && a[an - 1] == '/')
		an--;
	if (bn > 0 && b[bn - 1] == '/')
		bn--;
	return an == bn && memcmp(a, b, an) == 0;
}

/* Link text that is the URL, with or without its http(s)://, says it. */
static int
link_same(const char *text, size_t tn, const char *url, size_t un)
{
	if (same_text(text, tn, url, un))
		return 1;
	if (un > 7 && strncasecmp(url, "http://", 7) == 0)
		return same_text(text, tn, url + 7, un - 7);
	if (un > 8 && strncasecmp(url, "https://", 8) == 0)
		return same_text(text, tn, url + 8, un - 8);
	return 0;
}

static int
text_link_close(struct text *t, const GumboNode *n)
{
	const char *url;
	size_t un;

	if (t->link != n)
		return 0;
	t->link = NULL;
	if ((url = link_shown(t->href, &un)) == NULL)
		return 0;
	if (!t->link_started)
		return text_word(t, url, un);
	if (link_same(t->out->data + t->link_at, t->out->len - t->link_at,
	    url, un))
		return 0;
	if (t->space == 0)
		t->space = 1;
	if (text_word(t, "(", 1) < 0 || text_add(t, url, un) < 0)
		return -1;
	return text_add(t, ")", 1);
}

static int
text_open(struct text *t, struct walk *w, const GumboNode *n)
{
	const GumboElement *el = &n->v.element;

	switch (role_of(el)) {
	case R_DROP:
		walk_skip(w);
		break;
	case R_PRE:
		t->pre++;
		/* FALLTHROUGH */
	case R_PARA:
		text_break(t, 2);
		break;
	case R_LINE:
		text_break(t, 1);
		break;
	case R_LIST:
		text_list_open(t, el);
		break;
	case R_ITEM:
		text_item_open(t);
		break;
	case R_CELL:
		if (t->space < 2)
			t->space = 2;
		break;
	case R_BR:
		text_br(t);
		break;
	case R_LINK:
		text_link_open(t, n);
		break;
	case R_IMG:
		return text_image(t, el);
	}
	return 0;
}

static int
text_close(struct text *t, const GumboNode *n)
{
	switch (role_of(&n->v.element)) {
	case R_PRE:
		t->pre--;
		/* FALLTHROUGH */
	case R_PARA:
		text_break(t, 2);
		break;
	case R_LINE:
		text_break(t, 1);
		break;
	case R_LIST:
		text_list_close(t);
		break;
	case R_ITEM:
		text_item_close(t);
		break;
	case R_LINK:
		return text_link_close(t, n);
	}
	return 0;
}

static int
row_group(const GumboNode *n)
{
	if (n->type != GUMBO_NODE_ELEMENT ||
	    n->v.element.tag_namespace != GUMBO_NAMESPACE_HTML)
		return 0;
	return n->v.element.tag == GUMBO_TAG_TABLE ||
	    n->v.element.tag == GUMBO_TAG_TBODY ||
	    n->v.element.tag == GUMBO_TAG_THEAD ||
	    n->v.element.tag == GUMBO_TAG_TFOOT;
}

/*
 * A placeholder comment gives back its tag; any other comment nothing.
 * Between rows a tag gets a line of its own, like the rows: a block tag
 * alone on its line takes the line with it when compiled.
 */
static int
text_moved(struct text *t, const GumboNode *n, const GumboNode *parent)
{
	const struct moved_tag *tag = moved_lookup(t->moved, n);
	const char *s;
	int rows;

	if (tag == NULL)
		return 0;
	s = t->moved->src + tag->at;
	if ((rows = row_group(parent)) != 0)
		text_break(t, 1);
	if ((t->pre ? text_pre(t, s, tag->len) :
	    text_inline(t, s, tag->len)) < 0)
		return -1;
	if (rows)
		text_break(t, 1);
	return 0;
}

static int
text_node(struct text *t, struct walk *w, const GumboNode *n, int leaving)
{
	const char *s;

	switch (n->type) {
	case GUMBO_NODE_ELEMENT:
		return leaving ? text_close(t, n) : text_open(t, w, n);
	case GUMBO_NODE_TEMPLATE:
		if (!leaving)
			walk_skip(w);
		return 0;
	case GUMBO_NODE_TEXT:
	case GUMBO_NODE_CDATA:
	case GUMBO_NODE_WHITESPACE:
		if (leaving)
			return 0;
		s = n->v.text.text;
		return t->pre ? text_pre(t, s, strlen(s)) :
		    text_inline(t, s, strlen(s));
	case GUMBO_NODE_COMMENT:
		return leaving ? 0 : text_moved(t, n,
		    w->stack[w->depth - 2].node);
	default:
		return 0;
	}
}

/* Exactly one newline ends the text, none when there is no text. */
static int
text_end(struct text *t)
{
	struct buf *b = t->out;

	if (b->len == t->base)
		return 0;
	if (t->nl == 0)
		return text_add(t, "\n", 1);
	b->len -= t->nl - 1;
	b->data[b->len] = '\0';
	return 0;
}

/* Appends the text of the tree at root, placeholders filled from m. */
static int
text_tree(struct buf *out, GumboNode *root, const struct moved *m)
{
	struct walk w = { NULL, 0, 0 };
	struct text t;
	GumboNode *n;
	int leaving, rc = -1;

	memset(&t, 0, sizeof(t));
	t.out = out;
	t.base = out->len;
	t.moved = m;
	walk_push(&w, root);
	while ((n = walk_next(&w, &leaving)) != NULL)
		if (text_node(&t, &w, n, leaving) < 0)
			goto out;
	rc = text_end(&t);
out:
	free(w.stack);
	return rc;
}

static void
text_undo(struct buf *out, size_t base)
{
	out->len = base;
	if (out->data != NULL)
		out->data[out->len] = '\0';
}

/*
 * A tree with tags out of place is parsed again from a copy; see "tags
 * gumbo moved". Should the tags of that text not nest, the text as it was
 * made before beats one that fails to compile.
 */
int
html_text(const char *src, size_t len, struct buf *out, struct err *e)
{
	struct html_doc d;
	struct moved m;
	size_t base = out->len;
	int rc;

	if (html_doc_open(&d, src, len, e) < 0)
		return -1;
	if (moved_find(&m, src, len, d.out->document) > 0) {
		html_doc_close(&d);
		html_doc_parse(&d, m.copy, m.copy_len);
		rc = text_tree(out, d.out->document, &m);
		if (rc < 0 || tags_nest(buf_str(out) + base, out->len - base))
			goto out;
		text_undo(out, base);
		html_doc_close(&d);
		html_doc_parse(&d, src, len);
	}
	rc = text_tree(out, d.out->document, NULL);
out:
	if (rc < 0) {
		/* Only the bound can fail; leave out as it came. */
		text_undo(out, base);
		err_set(e, EX_DATAERR, "the text version is longer than %zu "
		    "bytes", out->max);
	}
	moved_free(&m);
	html_doc_close(&d);
	return rc;
}

int
html_escape(struct buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int rc = 0;

	for (; *p != '\0' && rc == 0; p++) {
		switch (*p) {
		case '&': rc = buf_adds(out, "&amp;"); break;
		case '<': rc = buf_adds(out, "&lt;"); break;
		case '>': rc = buf_adds(out, "&gt;"); break;
		case '"': rc = buf_adds(out, "&quot;"); break;
		case '\'': rc = buf_adds(out, "&#39;"); break;
		default:
			if ((*p < 0x20 && *p != '\t' && *p != '\n') ||
			    *p == 0x7f)
				rc = buf_adds(out, "\xef\xbf\xbd");
			else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
				rc = buf_adds(out, "\xef\xbf\xbd");
				p++;
			} else
				rc = buf_addc(out, (char)*p);
		}
	}
	return rc;
}

/* ------------------------------------------------------------ inventory */

#define INV_TEXT_MAX	256	/* bytes of an anchor's text kept */

struct inventory {
	struct html_inventory *out;
	int acap, icap;
	int in_anchor;		/* index of the <a> being walked, or -1 */
	int full;		/* its text reached INV_TEXT_MAX */
	struct buf text;	/* its text so far */
};

static char *
attr_dup(const GumboElement *el, const char *name)
{
	const GumboAttribute *a = gumbo_get_attribute(&el->attributes, name);

	return xstrdup(a != NULL ? a->value : "");
}

/* A width or height of at most 1 pixel: "1", "0", "1px". */
static int
attr_tiny(const GumboElement *el, const char *name)
{
	const GumboAttribute *a = gumbo_get_attribute(&el->attributes, name);
	const char *v;

	if (a == NULL)
		return 0;
	for (v = a->value; *v == ' '; v++)
		;
	return (*v == '0' || *v == '1') && (v[1] == '\0' || v[1] == ' ' ||
	    strcmp(v + 1, "px") == 0);
}

static void
inv_image(struct inventory *iv, const GumboElement *el)
{
	struct html_inventory *o = iv->out;
	struct html_image *im;

	if (o->nimages == iv->icap) {
		iv->icap = iv->icap ? iv->icap * 2 : 8;
		o->images = xrealloc(o->images, (size_t)iv->icap *
		    sizeof(*o->images));
	}
	im = &o->images[o->nimages++];
	im->src = attr_dup(el, "src");
	im->has_alt = gumbo_get_attribute(&el->attributes, "alt") != NULL;
	im->pixel = attr_tiny(el, "width") && attr_tiny(el, "height");
	im->in_link = iv->in_anchor >= 0;
}

static void
inv_anchor(struct inventory *iv, const GumboElement *el)
{
	struct html_inventory *o = iv->out;

	if (gumbo_get_attribute(&el->attributes, "href") == NULL)
		return;
	if (o->nanchors == iv->acap) {
		iv->acap = iv->acap ? iv->acap * 2 : 16;
		o->anchors = xrealloc(o->anchors, (size_t)iv->acap *
		    sizeof(*o->anchors));
	}
	o->anchors[o->nanchors].href = attr_dup(el, "href");
	o->anchors[o->nanchors].text = NULL;
	iv->in_anchor = o->nanchors++;
	iv->full = 0;
	buf_reset(&iv->text);
}

/* The caller keeps within the buffer's maximum; past it, text is cut. */
static void
inv_addc(struct inventory *iv, char ch)
{
	if (buf_addc(&iv->text, ch) < 0)
		return;
}

/*
 * Counts the characters of a text node that are not white space (a
 * no-break space is spacing too), and appends it to the open anchor's
 * text with white space collapsed, up to INV_TEXT_MAX bytes and never
 * past a UTF-8 sequence's start.
 */
static void
inv_text(struct inventory *iv, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int space;

	for (; *p != '\0'; p++) {
		space = *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' ||
		    *p == '\f' || (*p == 0xc2 && p[1] == 0xa0);
		if (!space && (*p & 0xc0) != 0x80)
			iv->out->text_chars++;
		if (iv->in_anchor < 0 || iv->full)
			continue;
		if ((*p & 0xc0) != 0x80 && iv->text.len + 4 >= INV_TEXT_MAX) {
			iv->full = 1;	/* whole characters only */
			continue;
		}
		if (space) {
			if (*p == 0xc2)
				p++;
			if (iv->text.len > 0 &&
			    iv->text.data[iv->text.len - 1] != ' ')
				inv_addc(iv, ' ');
		} else
			inv_addc(iv, (char)*p);
	}
}

/* White space is never added first, so only the end needs trimming. */
static void
inv_close_anchor(struct inventory *iv)
{
	size_t n = iv->text.len;

	while (n > 0 && iv->text.data[n - 1] == ' ')
		n--;
	iv->out->anchors[iv->in_anchor].text = xstrndup(buf_str(&iv->text),
	    n);
	iv->in_anchor = -1;
}

static void
inv_enter(struct inventory *iv, struct walk *w, const GumboNode *n)
{
	const GumboElement *el = &n->v.element;

	switch (n->type) {
	case GUMBO_NODE_TEXT:
	case GUMBO_NODE_CDATA:
	case GUMBO_NODE_WHITESPACE:
		inv_text(iv, n->v.text.text);
		return;
	case GUMBO_NODE_TEMPLATE:
		walk_skip(w);
		return;
	case GUMBO_NODE_ELEMENT:
		break;
	default:
		return;
	}
	if (role_of(el) == R_DROP) {
		walk_skip(w);
		return;
	}
	if (el->tag == GUMBO_TAG_IMG)
		inv_image(iv, el);
	else if ((el->tag == GUMBO_TAG_A || el->tag == GUMBO_TAG_AREA) &&
	    iv->in_anchor < 0)
		inv_anchor(iv, el);
}

int
html_inventory(const char *src, size_t len, struct html_inventory *out,
    struct err *e)
{
	struct html_doc d;
	struct walk w = { NULL, 0, 0 };
	struct inventory iv;
	GumboNode *n, *anchor = NULL;
	int leaving;

	memset(out, 0, sizeof(*out));
	/* A rendered part, not a template: up to a whole message. */
	if (len > (size_t)LIMIT_MESSAGE)
		return err_set(e, EX_DATAERR, "HTML of %zu bytes is over the "
		    "limit of %d", len, LIMIT_MESSAGE);
	html_doc_parse(&d, src, len);
	memset(&iv, 0, sizeof(iv));
	iv.out = out;
	iv.in_anchor = -1;
	buf_init(&iv.text, INV_TEXT_MAX + 8);
	walk_push(&w, d.out->document);
	while ((n = walk_next(&w, &leaving)) != NULL) {
		if (leaving) {
			if (n == anchor) {
				inv_close_anchor(&iv);
				anchor = NULL;
			}
			continue;
		}
		inv_enter(&iv, &w, n);
		if (iv.in_anchor >= 0 && anchor == NULL)
			anchor = n;
	}
	if (iv.in_anchor >= 0)
		inv_close_anchor(&iv);
	buf_free(&iv.text);
	free(w.stack);
	html_doc_close(&d);
	return 0;
}

void
html_inventory_free(struct html_inventory *inv)
{
	int i;

	if (inv == NULL)
		return;
	for (i = 0; i < inv->nanchors; i++) {
		free(inv->anchors[i].href);
		free(inv->anchors[i].text);
	}
	for (i = 0; i < inv->nimages; i++)
		free(inv->images[i].src);
	free(inv->anchors);
	free(inv->images);
	memset(inv, 0, sizeof(*inv));
}
