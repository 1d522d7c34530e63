/*
 * inbound.c - reading DSNs, ARF reports, replies and auto-replies; see
 * inbound.h.
 *
 * Two passes. prescan() reads the raw bytes once, allocating nothing, and
 * refuses what would let GMime's time or memory follow the input instead
 * of the limits: too many bytes, a long line, a long header block, deep
 * nesting, too many parts. It tracks nesting the way a MIME parser does:
 * a stack of open boundaries (a multipart's headers push one, its
 * delimiter line pops what is inside it, its close delimiter pops it) and
 * of embedded messages (message/rfc822 pushes one, its parent's next
 * delimiter pops it). A multipart whose boundary it cannot read (RFC 2231
 * continuations) still counts a level; as a second guard, each line
 * starting with "Content-Type" counts as a part.
 *
 * Then GMime builds the tree, and walk() notes the parts that matter:
 * the delivery-status or feedback-report part, the returned message, the
 * first text. Those report parts are header fields again; each block of
 * them is handed back to GMime's parser, cut at its blank line first, so
 * no second parse ever reaches a body that prescan() did not see (a
 * base64-encoded part is opaque to it).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "bounce.h"
#include "buf.h"
#include "html.h"
#include "inbound.h"
#include "xalloc.h"

static pthread_once_t inbound_once = PTHREAD_ONCE_INIT;

static void
inbound_init_once(void)
{
	g_mime_init();
}

void
inbound_init(void)
{
	(void)pthread_once(&inbound_once, inbound_init_once);
}

/* ------------------------------------------------------------ prescan */

struct level {
	const char *bnd;	/* the boundary; NULL: a message, or a
				   boundary we could not read */
	size_t len;
	int multipart;
	int digest;		/* RFC 2046 5.1.5: parts default to
				   message/rfc822 */
};

struct scan {
	const char *data;
	size_t len;
	struct level lv[LIMIT_INBOUND_DEPTH];
	size_t depth;
	size_t parts;		/* header blocks begun */
	size_t ctlines;		/* lines starting "Content-Type" */
	long lineno;
	/* The header block being read, if any. */
	int in_hdr;
	size_t hdr_start;
	int hdr_digest;		/* its parent is a multipart/digest */
	const char *ct, *ct_end;	/* its Content-Type field */
	const char *field;	/* the field being read */
};

static int
scan_lwsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* s[0..n) starts with the lower-case word w, in any case. */
static int
has_prefix(const char *s, size_t n, const char *w)
{
	size_t k = strlen(w);

	return n >= k && strncasecmp(s, w, k) == 0;
}

/*
 * The first boundary parameter in p[0..end) at or after p; *len its
 * length, *next where the search may go on. NULL when there is none or
 * it is written in a form this scan does not read (a quoted-pair, RFC
 * 2231 "boundary*", over 200 octets).
 */
static const char *
boundary_param(const char *p, const char *end, size_t *len,
    const char **next)
{
	const char *b, *q;

	for (*next = end; p + 8 < end; p++) {
		if ((*p != ';' && !scan_lwsp(*p)) ||
		    strncasecmp(p + 1, "boundary", 8) != 0)
			continue;
		q = p + 9;
		while (q < end && scan_lwsp(*q))
			q++;
		if (q >= end || *q++ != '=')
			continue;
		while (q < end && scan_lwsp(*q))
			q++;
		if (q < end && *q == '"') {
			b = ++q;
			while (q < end && *q != '"' && *q != '\\')
				q++;
			if (q >= end || *q != '"')
				return NULL;
		} else {
			b = q;
			while (q < end && *q != ';' && !scan_lwsp(*q))
				q++;
		}
		*len = (size_t)(q - b);
		*next = q;
		return *len > 0 && *len <= 200 ? b : NULL;
	}
	return NULL;
}

/*
 * The boundary of a Content-Type value, or NULL: a level with an unknown
 * boundary is closed only by its parent's, so reading none here can only
 * count a level too many. Two boundary parameters make it unknown too:
 * which one a parser takes is its own business.
 */
static const char *
ct_boundary(const char *p, const char *end, size_t *len)
{
	const char *b, *next;
	size_t k;

	if ((b = boundary_param(p, end, len, &next)) == NULL)
		return NULL;
	if (boundary_param(next, end, &k, &next) != NULL || next < end)
		return NULL;
	return b;
}

/* Where word (lower case) occurs in p[0..end), in any case. */
static const char *
ci_find(const char *p, const char *end, const char *word)
{
	size_t k = strlen(word);

	for (; p + k <= end; p++)
		if (strncasecmp(p, word, k) == 0)
			return p;
	return NULL;
}

enum ct_kind {
	CT_LEAF,
	CT_MULTIPART,
	CT_MESSAGE		/* message/rfc822, global or news: GMime
				   parses a message inside */
};

/*
 * What a Content-Type value makes of its part, read loosely on purpose:
 * a comment or odd spacing must not hide from this scan a multipart that
 * GMime would see. Reading too much only counts a level too many.
 */
static enum ct_kind
ct_kind(const char *p, const char *end)
{
	const char *g;

	if (ci_find(p, end, "multipart") != NULL)
		return CT_MULTIPART;
	if (ci_find(p, end, "message") == NULL)
		return CT_LEAF;
	if (ci_find(p, end, "rfc822") != NULL ||
	    ci_find(p, end, "news") != NULL)
		return CT_MESSAGE;
	/* message/global is one; global-headers and
	 * global-delivery-status are leaves */
	for (g = p; (g = ci_find(g, end, "global")) != NULL; g += 6)
		if (g + 6 >= end || g[6] != '-')
			return CT_MESSAGE;
	return CT_LEAF;
}

/* Enters one more level; -1 past LIMIT_INBOUND_DEPTH. */
static int
scan_push(struct scan *s, const char *bnd, size_t len, int multipart,
    int digest, struct err *e)
{
	if (s->depth == LIMIT_INBOUND_DEPTH)
		return err_set(e, EX_DATAERR, "line %ld: MIME nesting deeper "
		    "than %d levels", s->lineno, LIMIT_INBOUND_DEPTH);
	s->lv[s->depth].bnd = bnd;
	s->lv[s->depth].len = len;
	s->lv[s->depth].multipart = multipart;
	s->lv[s->depth].digest = digest;
	s->depth++;
	return 0;
}

static int
scan_begin_headers(struct scan *s, size_t at, int digest, struct err *e)
{
	if (++s->parts > LIMIT_INBOUND_PARTS)
		return err_set(e, EX_DATAERR, "line %ld: more than %d MIME "
		    "parts", s->lineno, LIMIT_INBOUND_PARTS);
	s->in_hdr = 1;
	s->hdr_start = at;
	s->hdr_digest = digest;
	s->ct = s->ct_end = s->field = NULL;
	return 0;
}

/*
 * A header block ended at its blank line (at: the offset after it). A
 * multipart opens a level whose preamble follows; an embedded message
 * opens one whose own header block follows.
 */
static int
scan_end_headers(struct scan *s, size_t at, struct err *e)
{
	const char *p = s->ct, *bnd = NULL;
	size_t blen = 0;

	s->in_hdr = 0;
	if (p == NULL && !s->hdr_digest)
		return 0;
	if (p == NULL) {
		if (scan_push(s, NULL, 0, 0, 0, e) < 0)
			return -1;
		return scan_begin_headers(s, at, 0, e);
	}
	/* The input need not end in NUL: search the field alone. */
	if ((p = memchr(p, ':', (size_t)(s->ct_end - p))) == NULL)
		return 0;
	p++;
	switch (ct_kind(p, s->ct_end)) {
	case CT_MULTIPART:
		bnd = ct_boundary(p, s->ct_end, &blen);
		return scan_push(s, bnd, blen, 1, ci_find(p, s->ct_end,
		    "digest") != NULL, e);
	case CT_MESSAGE:
		if (scan_push(s, NULL, 0, 0, 0, e) < 0)
			return -1;
		return scan_begin_headers(s, at, 0, e);
	default:
		return 0;
	}
}

/*
 * A delimiter line of an open boundary (RFC 2046 5.1.1: "--" boundary,
 * "--" after it to close, then only white space), innermost first as a
 * parser checks them. Returns 1 if the line was one.
 */
static int
scan_delimiter(struct scan *s, const char *p, size_t n, size_t next,
    struct err *e)
{
	const char *r;
	size_t i, k;
	int close;

	if (n < 3 || p[0] != '-' || p[1] != '-')
		return 0;
	for (i = s->depth; i-- > 0;) {
		if (s->lv[i].bnd == NULL || n < 2 + s->lv[i].len ||
		    memcmp(p + 2, s->lv[i].bnd, s->lv[i].len) != 0)
			continue;
		r = p + 2 + s->lv[i].len;
		close = (size_t)(r - p) + 2 <= n && r[0] == '-' && r[1] == '-';
		for (k = (size_t)(r - p) + (close ? 2 : 0); k < n; k++)
			if (!scan_lwsp(p[k]))
				break;
		if (k < n)
			continue;
		s->depth = close ? i : i + 1;
		if (close) {
			s->in_hdr = 0;
			return 1;
		}
		return scan_begin_headers(s, next, s->lv[i].digest, e) < 0 ?
		    -1 : 1;
	}
	/* Inside a multipart whose boundary we could not read, any "--"
	 * line may be its delimiter: what follows is read as headers, and
	 * nothing is closed. */
	for (i = 0; i < s->depth; i++)
		if (s->lv[i].multipart && s->lv[i].bnd == NULL)
			return scan_begin_headers(s, next, s->lv[i].digest,
			    e) < 0 ? -1 : 1;
	return 0;
}

/* One line of a header block: tracks the Content-Type field's extent. */
static int
scan_header_line(struct scan *s, const char *p, size_t n, size_t next,
    struct err *e)
{
	if (next - s->hdr_start > LIMIT_INBOUND_HEADER)
		return err_set(e, EX_DATAERR, "line %ld: a header block "
		    "longer than %d bytes", s->lineno, LIMIT_INBOUND_HEADER);
	if (n > 0 && (p[0] == ' ' || p[0] == '\t')) {
		if (s->field != NULL && s->field == s->ct)
			s->ct_end = p + n;
		return 0;
	}
	s->field = p;
	if (has_prefix(p, n, "content-type") && (n == 12 || p[12] == ':' ||
	    p[12] == ' ' || p[12] == '\t')) {
		/* Which one a parser believes is its own business. */
		if (s->ct != NULL)
			return err_set(e, EX_DATAERR, "line %ld: a second "
			    "Content-Type field in one header block",
			    s->lineno);
		s->ct = p;
		s->ct_end = p + n;
	}
	return 0;
}

static int
prescan(const char *data, size_t len, struct err *e)
{
	struct scan s;
	const char *p, *nl;
	size_t off, next, n;
	int rc;

	memset(&s, 0, sizeof(s));
	if (scan_begin_headers(&s, 0, 0, e) < 0)
		return -1;
	for (off = 0; off < len; off = next) {
		p = data + off;
		nl = memchr(p, '\n', len - off);
		next = nl != NULL ? (size_t)(nl - data) + 1 : len;
		s.lineno++;
		if (next - off > LIMIT_INBOUND_LINE)
			return err_set(e, EX_DATAERR, "line %ld: longer than "
			    "%d bytes", s.lineno, LIMIT_INBOUND_LINE);
		n = next - off;
		while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
			n--;
		if (has_prefix(p, n, "content-type") &&
		    ++s.ctlines > LIMIT_INBOUND_PARTS)
			return err_set(e, EX_DATAERR, "line %ld: more than %d "
			    "Content-Type fields", s.lineno,
			    LIMIT_INBOUND_PARTS);
		if ((rc = scan_delimiter(&s, p, n, next, e)) != 0) {
			if (rc < 0)
				return -1;
			continue;
		}
		if (!s.in_hdr)
			continue;
		if (n == 0)
			rc = scan_end_headers(&s, next, e);
		else
			rc = scan_header_line(&s, p, n, next, e);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ fields */

/* The longest prefix of s[0..n) that splits no UTF-8 character. */
static size_t
utf8_cut(const char *s, size_t n)
{
	size_t j = n, need;
	unsigned char c;

	while (j > 0 && n - j < 4 && ((unsigned char)s[j - 1] & 0xc0) == 0x80)
		j--;
	if (j == 0)
		return n;
	c = (unsigned char)s[j - 1];
	if (c < 0x80)
		return n;
	need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
	return n - (j - 1) < need ? j - 1 : n;
}

/*
 * Copies s into dst[n]: control characters become spaces, runs of white
 * space one space, the ends trimmed, the cut made between UTF-8
 * characters. So a value can go into a log line or a TSV cell as it is.
 */
static void
field_copy(char *dst, size_t n, const char *s)
{
	size_t o = 0;
	int space = 0;
	unsigned char c;

	if (n == 0)
		return;
	for (; s != NULL && *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f || c == ' ') {
			space = o > 0;
			continue;
		}
		if (o + (space ? 2 : 1) >= n) {
			o = utf8_cut(dst, o);
			break;
		}
		if (space)
			dst[o++] = ' ';
		space = 0;
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
}

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/*
 * A DSN address field, RFC 3464 2.3.1: "addr-type ; address". The type
 * (rfc822, utf-8) goes, and angle brackets some MTAs add.
 */
static void
dsn_addr(char *dst, size_t n, const char *v)
{
	const char *semi, *p;
	size_t k;

	if (v == NULL)
		return;
	if ((semi = strchr(v, ';')) != NULL) {
		for (p = v; p < semi; p++)
			if (*p == '@' || *p == '<')
				break;
		if (p == semi)
			v = semi + 1;
	}
	field_copy(dst, n, v);
	k = strlen(dst);
	if (k >= 2 && dst[0] == '<' && dst[k - 1] == '>') {
		memmove(dst, dst + 1, k - 2);
		dst[k - 2] = '\0';
	}
}

/* A typed field ("dns; mx.example.com", "smtp; 550 ..."): its text. */
static void
typed_text(char *dst, size_t n, const char *v)
{
	const char *semi;

	if (v == NULL)
		return;
	if ((semi = strchr(v, ';')) != NULL && semi - v < 32 &&
	    strcspn(v, " \t") >= (size_t)(semi - v))
		v = semi + 1;
	field_copy(dst, n, v);
}

/* The first mailbox of a list, groups opened, into dst. */
static int
first_mailbox(InternetAddressList *l, char *dst, size_t n)
{
	InternetAddress *a;
	int i;

	for (i = 0; l != NULL && i < internet_address_list_length(l); i++) {
		a = internet_address_list_get_address(l, i);
		if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
			field_copy(dst, n, internet_address_mailbox_get_addr(
			    INTERNET_ADDRESS_MAILBOX(a)));
			return 0;
		}
		if (INTERNET_ADDRESS_IS_GROUP(a) && first_mailbox(
		    internet_address_group_get_members(
		    INTERNET_ADDRESS_GROUP(a)), dst, n) == 0)
			return 0;
	}
	return -1;
}

/* A header address field (Return-Path, Delivered-To), parsed by GMime. */
static void
header_addr(GMimeParserOptions *opts, const char *v, char *dst, size_t n)
{
	InternetAddressList *l;

	dst[0] = '\0';
	if (v == NULL || (l = internet_address_list_parse(opts, v)) == NULL)
		return;
	(void)first_mailbox(l, dst, n);
	g_object_unref(l);
}

static void
to_add(struct inbound *in, const char *addr)
{
	size_t i;

	if (addr == NULL || *addr == '\0' || in->nto == INBOUND_MAX_TO)
		return;
	for (i = 0; i < in->nto; i++)
		if (strcasecmp(in->to[i], addr) == 0)
			return;
	field_copy(in->to[in->nto], sizeof(in->to[0]), addr);
	if (in->to[in->nto][0] != '\0')
		in->nto++;
}

static void
to_add_list(struct inbound *in, InternetAddressList *l, int depth)
{
	InternetAddress *a;
	int i;

	for (i = 0; l != NULL && i < internet_address_list_length(l); i++) {
		a = internet_address_list_get_address(l, i);
		if (INTERNET_ADDRESS_IS_MAILBOX(a))
			to_add(in, internet_address_mailbox_get_addr(
			    INTERNET_ADDRESS_MAILBOX(a)));
		else if (INTERNET_ADDRESS_IS_GROUP(a) && depth == 0)
			to_add_list(in, internet_address_group_get_members(
			    INTERNET_ADDRESS_GROUP(a)), 1);
	}
}

/* Every field named name, in order: Delivered-To may be there twice. */
static void
to_add_field(struct inbound *in, GMimeObject *o, GMimeParserOptions *opts,
    const char *name)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(o);
	InternetAddressList *l;
	GMimeHeader *h;
	int i;

	for (i = 0; i < g_mime_header_list_get_count(hl); i++) {
		h = g_mime_header_list_get_header_at(hl, i);
		if (strcasecmp(g_mime_header_get_name(h), name) != 0)
			continue;
		l = internet_address_list_parse(opts,
		    g_mime_header_get_raw_value(h));
		if (l == NULL)
			continue;
		to_add_list(in, l, 0);
		g_object_unref(l);
	}
}

static void
refs_add(struct inbound *in, GMimeParserOptions *opts, const char *v)
{
	GMimeReferences *r;
	const char *id;
	size_t k;
	int i;

	if (v == NULL || (r = g_mime_references_parse(opts, v)) == NULL)
		return;
	for (i = 0; i < g_mime_references_length(r); i++) {
		if (in->nrefs == INBOUND_MAX_REFS)
			break;
		id = g_mime_references_get_message_id(r, i);
		for (k = 0; k < in->nrefs; k++)
			if (strcmp(in->refs[k], id) == 0)
				break;
		if (k < in->nrefs)
			continue;
		field_copy(in->refs[in->nrefs], INBOUND_ID, id);
		if (in->refs[in->nrefs][0] != '\0')
			in->nrefs++;
	}
	g_mime_references_free(r);
}

/* ------------------------------------------------------- auto-replies */

/*
 * Subjects auto-responders write (Outlook in its languages, vacation(1),
 * the webmail ones). Matched at the start of the subject they stand
 * alone; anywhere else they need a header that says "machine" too,
 * because a person may answer "Re: out of office hours?".
 */
static const char *const auto_subjects[] = {
	"out of office", "out-of-office", "automatic reply", "auto reply",
	"auto-reply", "autoreply", "auto response", "automatische antwort",
	"abwesenheitsnotiz", "abwesend", "vacation", "on holiday",
	"away from the office", "réponse automatique", "respuesta automática",
	"risposta automatica", "automatisch antwoord", "resposta automática",
};

static int
auto_subject(const char *subject, int anywhere)
{
	size_t i, k;

	subject += strspn(subject, " \t");
	for (i = 0; i < sizeof(auto_subjects) / sizeof(auto_subjects[0]);
	    i++) {
		k = strlen(auto_subjects[i]);
		if (strncasecmp(subject, auto_subjects[i], k) == 0 ||
		    (anywhere && strcasestr(subject, auto_subjects[i]) != NULL))
			return 1;
	}
	return 0;
}

/* The value up to its first ';' or white space, trimmed, is w. */
static int
token_is(const char *v, const char *w)
{
	size_t k = strlen(w);

	if (v == NULL)
		return 0;
	v += strspn(v, " \t\r\n");
	return strncasecmp(v, w, k) == 0 &&
	    (v[k] == '\0' || v[k] == ';' || scan_lwsp(v[k]));
}

static int
is_auto(GMimeObject *o, const char *subject)
{
	const char *as = g_mime_object_get_header(o, "Auto-Submitted");
	const char *prec = g_mime_object_get_header(o, "Precedence");
	int hint;

	/* RFC 3834 5: any value but "no" */
	if (as != NULL && *as != '\0' && !token_is(as, "no"))
		return 1;
	if (g_mime_object_get_header(o, "X-Autoreply") != NULL ||
	    g_mime_object_get_header(o, "X-Autorespond") != NULL ||
	    token_is(prec, "auto_reply"))
		return 1;
	hint = g_mime_object_get_header(o, "X-Auto-Response-Suppress") !=
	    NULL || token_is(prec, "bulk") || token_is(prec, "junk");
	return auto_subject(subject, hint);
}

/* ---------------------------------------------------- part contents */

/* A leaf part's content, transfer encoding undone, NUL-terminated. */
static char *
part_bytes(GMimeObject *o, size_t *lenp)
{
	GMimeDataWrapper *w;
	GMimeStream *mem;
	GByteArray *a;
	char *out;

	*lenp = 0;
	if (!GMIME_IS_PART(o) ||
	    (w = g_mime_part_get_content(GMIME_PART(o))) == NULL)
		return xstrdup("");
	mem = g_mime_stream_mem_new();
	(void)g_mime_data_wrapper_write_to_stream(w, mem);
	a = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	out = xmalloc(a->len + 1);
	if (a->len > 0)		/* an empty GByteArray's data is NULL */
		memcpy(out, a->data, a->len);
	out[a->len] = '\0';
	*lenp = a->len;
	g_object_unref(mem);
	return out;
}

/*
 * The length of the header block at p: up to and with its blank line,
 * at most max bytes.
 */
static size_t
block_len(const char *p, size_t n, size_t max)
{
	const char *nl;
	size_t off = 0, k;

	if (n > max)
		n = max;
	while (off < n) {
		nl = memchr(p + off, '\n', n - off);
		k = nl != NULL ? (size_t)(nl - p) + 1 : n;
		if (k - off == 1 || (k - off == 2 && p[off] == '\r'))
			return k;
		off = k;
	}
	return n;
}

/* Header fields alone, parsed by GMime into an object to ask. */
static GMimeObject *
fields_parse(const char *p, size_t n, GMimeParserOptions *opts)
{
	GMimeStream *s = g_mime_stream_mem_new_with_buffer(p, n);
	GMimeParser *parser = g_mime_parser_new_with_stream(s);
	GMimeObject *o;

	g_object_unref(s);
	o = g_mime_parser_construct_part(parser, opts);
	g_object_unref(parser);
	return o;
}

static GMimeMessage *
headers_parse(const char *p, size_t n, GMimeParserOptions *opts)
{
	GMimeStream *s;
	GMimeParser *parser;
	GMimeMessage *m;

	n = block_len(p, n, LIMIT_INBOUND_HEADER);
	s = g_mime_stream_mem_new_with_buffer(p, n);
	parser = g_mime_parser_new_with_stream(s);
	g_object_unref(s);
	m = g_mime_parser_construct_message(parser, opts);
	g_object_unref(parser);
	return m;
}

static void
rcpt_fill(struct inbound_rcpt *r, GMimeObject *o)
{
	const char *status = g_mime_object_get_header(o, "Status");
	char code[16];

	field_copy(r->action, sizeof(r->action),
	    g_mime_object_get_header(o, "Action"));
	lower(r->action);
	if (bounce_find_status(status, code, sizeof(code)) == 0)
		field_copy(r->status, sizeof(r->status), code);
	else
		field_copy(r->status, sizeof(r->status), status);
	dsn_addr(r->final_rcpt, sizeof(r->final_rcpt),
	    g_mime_object_get_header(o, "Final-Recipient"));
	dsn_addr(r->original_rcpt, sizeof(r->original_rcpt),
	    g_mime_object_get_header(o, "Original-Recipient"));
	typed_text(r->diagnostic, sizeof(r->diagnostic),
	    g_mime_object_get_header(o, "Diagnostic-Code"));
}

/*
 * RFC 3464 2.1: the per-message fields, then one block per recipient,
 * blank lines between. A block naming no recipient and no action is
 * the per-message one (or noise); the blocks read are bounded.
 */
static void
dsn_read(struct inbound *in, GMimeObject *part, GMimeParserOptions *opts)
{
	size_t len, off = 0, n, blocks = 0;
	char *p = part_bytes(part, &len);
	GMimeObject *o;

	while (off < len && blocks++ < INBOUND_MAX_RCPTS + 4) {
		n = block_len(p + off, len - off, LIMIT_INBOUND_HEADER);
		if (n <= 2 && (p[off] == '\n' || p[off] == '\r')) {
			off += n;
			continue;
		}
		if ((o = fields_parse(p + off, n, opts)) != NULL) {
			if (g_mime_object_get_header(o, "Final-Recipient") !=
			    NULL || g_mime_object_get_header(o, "Action") !=
			    NULL) {
				if (in->nrcpt < INBOUND_MAX_RCPTS)
					rcpt_fill(&in->rcpt[in->nrcpt++], o);
			} else if (in->reporting_mta[0] == '\0')
				typed_text(in->reporting_mta,
				    sizeof(in->reporting_mta),
				    g_mime_object_get_header(o,
				    "Reporting-MTA"));
			g_object_unref(o);
		}
		off += n;
	}
	free(p);
}

/* RFC 5965 3.1: the machine-readable part, one block of fields. */
static void
arf_read(struct inbound *in, GMimeObject *part, GMimeParserOptions *opts)
{
	size_t len;
	char *p = part_bytes(part, &len);
	GMimeObject *o;

	o = fields_parse(p, block_len(p, len, LIMIT_INBOUND_HEADER), opts);
	if (o != NULL) {
		field_copy(in->feedback_type, sizeof(in->feedback_type),
		    g_mime_object_get_header(o, "Feedback-Type"));
		lower(in->feedback_type);
		header_addr(opts, g_mime_object_get_header(o,
		    "Original-Rcpt-To"), in->arf_original_rcpt,
		    sizeof(in->arf_original_rcpt));
		header_addr(opts, g_mime_object_get_header(o,
		    "Original-Mail-From"), in->arf_original_from,
		    sizeof(in->arf_original_from));
		g_object_unref(o);
	}
	free(p);
}

static void
orig_fill(struct inbound *in, GMimeMessage *m, GMimeParserOptions *opts)
{
	if (m == NULL)
		return;
	field_copy(in->orig_message_id, sizeof(in->orig_message_id),
	    g_mime_message_get_message_id(m));
	header_addr(opts, g_mime_object_get_header(GMIME_OBJECT(m),
	    "Return-Path"), in->orig_return_path,
	    sizeof(in->orig_return_path));
	(void)first_mailbox(g_mime_message_get_addresses(m,
	    GMIME_ADDRESS_TYPE_TO), in->orig_to, sizeof(in->orig_to));
}

/* message/rfc822 as GMime built it, or a headers part to parse. */
static void
orig_read(struct inbound *in, GMimeObject *part, GMimeParserOptions *opts)
{
	GMimeMessage *m;
	size_t len;
	char *p;

	if (GMIME_IS_MESSAGE_PART(part)) {
		orig_fill(in, g_mime_message_part_get_message(
		    GMIME_MESSAGE_PART(part)), opts);
		return;
	}
	p = part_bytes(part, &len);
	if ((m = headers_parse(p, len, opts)) != NULL) {
		orig_fill(in, m, opts);
		g_object_unref(m);
	}
	free(p);
}

/* ------------------------------------------------------------- text */

/*
 * Where a non-standard bounce starts quoting the message it returns
 * (Exim, qmail, Sendmail, Courier). The text kept ends there, so the
 * pattern table reads the MTA's words and not our newsletter's.
 */
static const char *const copy_markers[] = {
	"------ This is a copy of the message",
	"--- Below this line is a copy of the message",
	"----- Original message follows -----",
	"----- Unsent message follows -----",
	"------ Original message follows",
};

static char *
copy_marker(char *text)
{
	char *m, *first = NULL;
	size_t i;

	for (i = 0; i < sizeof(copy_markers) / sizeof(copy_markers[0]); i++)
		if ((m = strcasestr(text, copy_markers[i])) != NULL &&
		    (first == NULL || m < first))
			first = m;
	return first;
}

/* Keeps at most INBOUND_TEXT - 1 bytes of valid UTF-8 in in->text. */
static void
text_keep(struct inbound *in, const char *t)
{
	size_t n = strlen(t);
	gchar *valid;

	if (n >= INBOUND_TEXT)
		n = utf8_cut(t, INBOUND_TEXT - 1);
	/* A part may lie about its charset; U+FFFD makes up for it, and
	 * may make the text longer. */
	valid = g_utf8_make_valid(t, (gssize)n);
	n = strlen(valid);
	if (n >= INBOUND_TEXT)
		n = utf8_cut(valid, INBOUND_TEXT - 1);
	in->text = xstrndup(valid, n);
	in->text_len = n;
	g_free(valid);
}

/*
 * An HTML-only message's text, through the templates' HTML-to-text
 * (gumbo: linear in its input), from the first LIMIT_TEMPLATE_PART
 * bytes: the words a bounce explains itself in come first. A link's text
 * may carry its URL too, hence room for twice the input.
 */
static void
html_part_text(struct inbound *in, const char *html)
{
	size_t n = strlen(html);
	struct buf b;
	struct err e;

	if (n > LIMIT_TEMPLATE_PART)
		n = LIMIT_TEMPLATE_PART;
	buf_init(&b, 2 * LIMIT_TEMPLATE_PART + 1024);
	if (html_text(html, n, &b, &e) == 0)
		text_keep(in, buf_str(&b));
	buf_free(&b);
}

static void
text_read(struct inbound *in, GMimeObject *plain, GMimeObject *html,
    int want_orig, GMimeParserOptions *opts)
{
	GMimeMessage *m;
	char *t, *cut, *h;

	if (plain != NULL && GMIME_IS_TEXT_PART(plain)) {
		if ((t = g_mime_text_part_get_text(GMIME_TEXT_PART(plain))) ==
		    NULL)
			return;
		if ((cut = copy_marker(t)) != NULL) {
			/* The quoted copy is all a non-standard bounce says
			 * of the original; its header block is read. */
			if (want_orig) {
				h = cut + strcspn(cut, "\n");
				h += strspn(h, "\r\n");
				if ((m = headers_parse(h, strlen(h), opts)) !=
				    NULL) {
					orig_fill(in, m, opts);
					g_object_unref(m);
				}
			}
			*cut = '\0';
		}
		text_keep(in, t);
		g_free(t);
	} else if (html != NULL && GMIME_IS_TEXT_PART(html)) {
		if ((t = g_mime_text_part_get_text(GMIME_TEXT_PART(html))) ==
		    NULL)
			return;
		html_part_text(in, t);
		g_free(t);
	}
}

/* ------------------------------------------------------------- walk */

struct found {
	GMimeObject *status;	/* message/(global-)delivery-status */
	GMimeObject *feedback;	/* message/feedback-report */
	GMimeObject *orig;	/* message/rfc822 or a headers part */
	GMimeObject *plain;
	GMimeObject *html;
};

static int
ct_is(GMimeContentType *ct, const char *type, const char *sub)
{
	return ct != NULL && g_mime_content_type_is_type(ct, type, sub);
}

/*
 * Notes the parts that matter, depth first. An embedded message is the
 * returned original: nothing in it is the report's own.
 */
static void
walk(GMimeObject *o, int depth, struct found *f)
{
	GMimeContentType *ct = g_mime_object_get_content_type(o);
	int i;

	if (depth > 2 * LIMIT_INBOUND_DEPTH + 2)
		return;
	if (GMIME_IS_MULTIPART(o)) {
		for (i = 0; i < g_mime_multipart_get_count(GMIME_MULTIPART(o));
		    i++)
			walk(g_mime_multipart_get_part(GMIME_MULTIPART(o), i),
			    depth + 1, f);
		return;
	}
	if (GMIME_IS_MESSAGE_PART(o)) {
		if (f->orig == NULL)
			f->orig = o;
		return;
	}
	if (!GMIME_IS_PART(o))
		return;
	if (ct_is(ct, "message", "delivery-status") ||
	    ct_is(ct, "message", "global-delivery-status")) {
		if (f->status == NULL)
			f->status = o;
	} else if (ct_is(ct, "message", "feedback-report")) {
		if (f->feedback == NULL)
			f->feedback = o;
	} else if (ct_is(ct, "text", "rfc822-headers") ||
	    ct_is(ct, "message", "global-headers")) {
		if (f->orig == NULL)
			f->orig = o;
	} else if (ct_is(ct, "text", "plain")) {
		if (f->plain == NULL)
			f->plain = o;
	} else if (ct_is(ct, "text", "html")) {
		if (f->html == NULL)
			f->html = o;
	}
}

/* This message's own header fields. */
static void
own_headers(struct inbound *in, GMimeMessage *m, GMimeParserOptions *opts)
{
	GMimeObject *o = GMIME_OBJECT(m);

	field_copy(in->message_id, sizeof(in->message_id),
	    g_mime_message_get_message_id(m));
	(void)first_mailbox(g_mime_message_get_from(m), in->from,
	    sizeof(in->from));
	field_copy(in->subject, sizeof(in->subject),
	    g_mime_message_get_subject(m));
	to_add_field(in, o, opts, "Delivered-To");
	to_add_field(in, o, opts, "X-Original-To");
	to_add_list(in, g_mime_message_get_addresses(m,
	    GMIME_ADDRESS_TYPE_TO), 0);
	to_add_list(in, g_mime_message_get_addresses(m,
	    GMIME_ADDRESS_TYPE_CC), 0);
	refs_add(in, opts, g_mime_object_get_header(o, "In-Reply-To"));
	refs_add(in, opts, g_mime_object_get_header(o, "References"));
	in->auto_submitted = is_auto(o, in->subject);
}

struct warn {
	int nesting;
};

static void
parser_warning(gint64 offset, GMimeParserWarning code, const gchar *item,
    gpointer ctx)
{
	struct warn *w = ctx;

	(void)offset;
	(void)item;
	if (code == GMIME_CRIT_NESTING_OVERFLOW)
		w->nesting = 1;
}

int
inbound_parse(const char *data, size_t len, struct inbound *in,
    struct err *e)
{
	GMimeParserOptions *opts = NULL;
	GMimeMessage *m = NULL;
	GMimeStream *s;
	GMimeParser *parser;
	GMimeObject *body;
	struct found f;
	struct warn w = { 0 };
	int rc = -1;

	memset(in, 0, sizeof(*in));
	memset(&f, 0, sizeof(f));
	if (len == 0)
		return err_set(e, EX_DATAERR, "an empty message");
	if (len > LIMIT_INBOUND_SIZE)
		return err_set(e, EX_DATAERR, "a message of %zu bytes, over "
		    "the limit of %d", len, LIMIT_INBOUND_SIZE);
	if (prescan(data, len, e) < 0)
		return -1;
	inbound_init();
	opts = g_mime_parser_options_new();
	g_mime_parser_options_set_warning_callback(opts, parser_warning, &w);
	s = g_mime_stream_mem_new_with_buffer(data, len);
	parser = g_mime_parser_new_with_stream(s);
	g_object_unref(s);
	m = g_mime_parser_construct_message(parser, opts);
	g_object_unref(parser);
	if (m == NULL || w.nesting) {
		err_set(e, EX_DATAERR, "not a message GMime can parse");
		goto out;
	}
	if (g_mime_header_list_get_count(g_mime_object_get_header_list(
	    GMIME_OBJECT(m))) == 0) {
		err_set(e, EX_DATAERR, "no header fields");
		goto out;
	}
	own_headers(in, m, opts);
	if ((body = g_mime_message_get_mime_part(m)) != NULL)
		walk(body, 0, &f);
	if (f.status != NULL) {
		in->type = INBOUND_DSN;
		dsn_read(in, f.status, opts);
	} else if (f.feedback != NULL) {
		in->type = INBOUND_ARF;
		arf_read(in, f.feedback, opts);
	}
	if (f.orig != NULL)
		orig_read(in, f.orig, opts);
	text_read(in, f.plain, f.html, f.orig == NULL, opts);
	rc = 0;
out:
	if (m != NULL)
		g_object_unref(m);
	/* GMime's objects keep the options they were made with. */
	g_mime_parser_options_free(opts);
	return rc;
}

void
inbound_free(struct inbound *in)
{
	if (in == NULL)
		return;
	free(in->text);
	in->text = NULL;
	in->text_len = 0;
}

/* -------------------------------------------------------------- mbox */

#define MBOX_CHUNK	(64 * 1024)

/* A line reader over a buffer of MBOX_CHUNK: no line is held whole. */
struct rd {
	FILE *fp;
	char buf[MBOX_CHUNK];
	size_t pos, len;
	int eof;
};

/*
 * The next piece of a line, up to and with its newline: a line longer
 * than the buffer comes in pieces, *complete 0 on all but the last. A
 * piece that starts a line is never shorter than the buffer unless it is
 * the whole line, so "From " and ">From " are always seen entire.
 * Returns its length, 0 at the end, -1 on a read error.
 */
static long
rd_line(struct rd *r, const char **p, int *complete)
{
	const char *nl;
	size_t avail = r->len - r->pos, n;

	nl = memchr(r->buf + r->pos, '\n', avail);
	if (nl == NULL && !r->eof) {
		memmove(r->buf, r->buf + r->pos, avail);
		r->pos = 0;
		r->len = avail;
		n = fread(r->buf + r->len, 1, sizeof(r->buf) - r->len, r->fp);
		if (n < sizeof(r->buf) - r->len) {
			if (ferror(r->fp))
				return -1;
			r->eof = 1;
		}
		r->len += n;
		avail = r->len;
		nl = memchr(r->buf, '\n', avail);
	}
	*p = r->buf + r->pos;
	if (nl != NULL) {
		n = (size_t)(nl - *p) + 1;
		*complete = 1;
	} else {
		n = avail;
		*complete = r->eof;
	}
	r->pos += n;
	return (long)n;
}

static int
is_from(const char *p, size_t n)
{
	return n >= 5 && memcmp(p, "From ", 5) == 0;
}

static int
is_blank(const char *p, size_t n)
{
	return (n == 1 && p[0] == '\n') || (n == 2 && p[0] == '\r' &&
	    p[1] == '\n');
}

/* mboxrd: ">From ", ">>From " ... lose one '>'. */
static int
is_quoted_from(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] == '>')
		i++;
	return i > 0 && is_from(p + i, n - i);
}

struct mbox {
	struct buf msg;
	size_t seen;		/* its bytes, kept or not */
	int over;		/* past LIMIT_INBOUND_SIZE: counted only */
	long from_line;
	int in_msg;
	char blank[2];		/* a blank line held back: the separator
				   if a "From " line follows */
	size_t nblank;
};

static void
mbox_add(struct mbox *b, const char *p, size_t n)
{
	b->seen += n;
	if (!b->over && buf_add(&b->msg, p, n) < 0) {
		b->over = 1;
		buf_reset(&b->msg);
	}
}

/* Hands the message gathered to cb; 1 when cb asked to stop. */
static int
mbox_hand(struct mbox *b, inbound_msg_cb cb, void *ctx)
{
	int stop;

	if (!b->in_msg)
		return 0;
	if (!b->over)
		stop = cb(buf_str(&b->msg), b->msg.len, b->from_line, ctx) < 0;
	else
		stop = cb(NULL, b->seen, b->from_line, ctx) < 0;
	buf_reset(&b->msg);
	b->seen = 0;
	b->over = 0;
	b->nblank = 0;
	return stop;
}

int
inbound_mbox(FILE *fp, const char *path, inbound_msg_cb cb, void *ctx,
    struct err *e)
{
	struct rd *r = xcalloc(1, sizeof(*r));
	struct mbox b;
	const char *p;
	long n, line = 0;
	int bol = 1, complete, after_blank = 1, skip = 0, rc = -1;

	memset(&b, 0, sizeof(b));
	buf_init(&b.msg, LIMIT_INBOUND_SIZE);
	r->fp = fp;
	while ((n = rd_line(r, &p, &complete)) > 0) {
		if (bol)
			line++;
		if (skip || !bol) {
			/* the rest of a long line */
			if (!skip)
				mbox_add(&b, p, (size_t)n);
			skip = skip && !complete;
			bol = complete;
			continue;
		}
		if (after_blank && is_from(p, (size_t)n)) {
			if (mbox_hand(&b, cb, ctx)) {
				rc = 0;
				goto out;
			}
			b.in_msg = 1;
			b.from_line = line;
			skip = !complete;
			bol = complete;
			after_blank = 0;
			continue;
		}
		if (!b.in_msg) {
			if (is_blank(p, (size_t)n))
				continue;
			err_set(e, EX_DATAERR, "%s: line %ld: not an mbox (no "
			    "\"From \" line before the message)", path, line);
			goto out;
		}
		if (b.nblank > 0)
			mbox_add(&b, b.blank, b.nblank);
		b.nblank = 0;
		after_blank = is_blank(p, (size_t)n);
		bol = complete;
		if (after_blank) {
			memcpy(b.blank, p, (size_t)n);
			b.nblank = (size_t)n;
			continue;
		}
		if (is_quoted_from(p, (size_t)n)) {
			p++;
			n--;
		}
		mbox_add(&b, p, (size_t)n);
	}
	if (n < 0) {
		err_set(e, EX_IOERR, "%s: line %ld: %s", path, line,
		    strerror(errno));
		goto out;
	}
	(void)mbox_hand(&b, cb, ctx);
	rc = 0;
out:
	buf_free(&b.msg);
	free(r);
	return rc;
}
