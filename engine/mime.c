/*
 * mime.c - one RFC 5322 message from rendered parts; see mime.h.
 *
 * Header values take three steps. hdr_clean() turns every control
 * character into a space and every byte that is not UTF-8 into U+FFFD, so
 * nothing later can end a header line early or mislabel a charset. A value
 * that is printable ASCII is then written as it is, folded at its spaces
 * (hdr_plain); any other value becomes RFC 2047 encoded-words (hdr_words).
 * A small writer (struct hdrw) keeps the column and decides where to fold.
 *
 * Body parts are normalised to CRLF without NUL octets and written as
 * quoted-printable, or base64 when that comes out shorter; the choice is
 * made per part by encoding the part as QP and computing base64's length.
 */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistr.h>

#include "limits.h"
#include "mime.h"
#include "xalloc.h"

#define MIME_FOLD	78	/* RFC 5322 2.1.1: lines SHOULD stay within */
/*
 * 2.1.1: a line MUST NOT pass 998 octets without its CRLF. We keep 998
 * *with* the CRLF, so a reader counting either way finds no long line.
 */
#define MIME_LINE	996
#define MIME_EW		75	/* RFC 2047 2: longest encoded-word */
#define MIME_EW_FRAME	12	/* "=?UTF-8?Q?" and "?=" */
#define MIME_EW_MIN	20	/* the shortest word any one character fits */
#define MIME_QP_LINE	76	/* RFC 2045 6.7 (5) */
#define MIME_B64_IN	57	/* octets that make one 76-character line */
#define MIME_DATE_MAX	INT64_C(253402300799999)	/* 9999-12-31 */

static const char mime_hex[] = "0123456789ABCDEF";

/* Puts out back to len octets: a failed append leaves no half header. */
static void
mime_truncate(struct buf *out, size_t len)
{
	out->len = len;
	if (out->data != NULL)
		out->data[len] = '\0';
}

/* ------------------------------------------------------- header values */

/*
 * A copy of s in which C0 controls and DEL are spaces (RFC 5322 2.2: a
 * CR or LF in a value would start a header of its own) and octets that
 * are not UTF-8 are U+FFFD. The caller frees it; *lenp is its length.
 */
static char *
hdr_clean(const char *s, size_t *lenp)
{
	const uint8_t *p = (const uint8_t *)(s != NULL ? s : "");
	size_t n = strlen((const char *)p), i = 0, o = 0;
	char *out = xmalloc(3 * n + 1);
	ucs4_t uc;
	int k;

	while (i < n) {
		k = u8_mbtoucr(&uc, p + i, n - i);
		if (k < 0) {
			memcpy(out + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
		} else if (uc < 0x20 || uc == 0x7F) {
			out[o++] = ' ';
			i++;
		} else {
			memcpy(out + o, p + i, (size_t)k);
			o += (size_t)k;
			i += (size_t)k;
		}
	}
	out[o] = '\0';
	*lenp = o;
	return out;
}

static int
hdr_all_spaces(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ')
			return 0;
	return 1;
}

/*
 * The one place a value needs encoded-words: text that is not ASCII; text
 * holding "=?", which a receiver could take for an encoded-word of its own
 * and decode into a header break (RFC 2047 6.2 lets it); and a stretch
 * between two folding points too long for one line, since only
 * encoded-words can be split anywhere.
 */
static int
hdr_needs_words(const char *s, size_t n, size_t namelen)
{
	size_t i, start = 0;

	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] >= 0x80)
			return 1;
		if (s[i] == '=' && i + 1 < n && s[i + 1] == '?')
			return 1;
		/* Where hdr_plain() cuts: a token may not outgrow a line. */
		if (s[i] == ' ' && i + 1 < n && s[i + 1] != ' ') {
			if (i - start + namelen + 2 > MIME_LINE)
				return 1;
			start = i + 1;
		}
	}
	return n - start + namelen + 2 > MIME_LINE;
}

struct hdrw {
	struct buf *out;
	size_t col;		/* octets on the current line */
	int first;		/* no token written after the name yet */
};

static int
hdrw_start(struct hdrw *w, struct buf *out, const char *name)
{
	w->out = out;
	w->col = strlen(name) + 1;
	w->first = 1;
	if (buf_adds(out, name) < 0 || buf_addc(out, ':') < 0)
		return -1;
	return 0;
}

/*
 * Appends " tok", or folds first (RFC 5322 2.2.3) when the line would pass
 * 78 columns. A token of spaces only stays put: 3.2.2 forbids a folded
 * line made of white space alone.
 */
static int
hdrw_token(struct hdrw *w, const char *p, size_t n)
{
	int fold;

	/* Never before the first token: a folded "Subject:" CRLF " x"
	 * unfolds to a value with a leading space. */
	fold = !w->first && w->col > 1 && w->col + 1 + n > MIME_FOLD &&
	    !hdr_all_spaces(p, n);
	w->first = 0;
	if (buf_adds(w->out, fold ? "\r\n " : " ") < 0 ||
	    buf_add(w->out, p, n) < 0)
		return -1;
	w->col = (fold ? 1 : w->col + 1) + n;
	return 0;
}

static int
hdrw_end(struct hdrw *w)
{
	return buf_add(w->out, "\r\n", 2);
}

/*
 * Printable ASCII, folded only before a space that precedes a non-space:
 * unfolding (removing the CRLF) gives back every space, so "a  b" stays
 * "a  b", and no folded line is white space alone.
 */
static int
hdr_plain(struct hdrw *w, const char *s, size_t n)
{
	size_t i, start = 0;

	for (i = 0; i + 1 < n; i++) {
		if (s[i] != ' ' || s[i + 1] == ' ')
			continue;
		if (hdrw_token(w, s + start, i - start) < 0)
			return -1;
		start = i + 1;
	}
	return hdrw_token(w, s + start, n - start);
}

/*
 * RFC 2047 5 (3): the octets "Q" may leave as they are in any header,
 * phrases included. Space is '_' (4.2 (2)); everything else is "=XX".
 */
static int
ew_qsafe(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == ' ' || c == '!' || c == '*' ||
	    c == '+' || c == '-' || c == '/';
}

static size_t
ew_charlen(const uint8_t *s, size_t n)
{
	int k = u8_mblen(s, n);

	return k > 0 ? (size_t)k : 1;
}

/* Octets of s whose whole characters fit room as "Q"; *enc: their length. */
static size_t
ew_fit_q(const uint8_t *s, size_t n, size_t room, size_t *enc)
{
	size_t i = 0, q = 0, k, j, c;

	while (i < n) {
		k = ew_charlen(s + i, n - i);
		for (c = 0, j = 0; j < k; j++)
			c += ew_qsafe(s[i + j]) ? 1 : 3;
		if (q + c > room)
			break;
		q += c;
		i += k;
	}
	*enc = q;
	return i;
}

static size_t
ew_fit_b(const uint8_t *s, size_t n, size_t room)
{
	size_t i = 0, k;

	while (i < n) {
		k = ew_charlen(s + i, n - i);
		if ((i + k + 2) / 3 * 4 > room)
			break;
		i += k;
	}
	return i;
}

static size_t
ew_q(const uint8_t *s, size_t n, char *w)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == ' ')
			w[o++] = '_';
		else if (ew_qsafe(s[i]))
			w[o++] = (char)s[i];
		else {
			w[o++] = '=';
			w[o++] = mime_hex[s[i] >> 4];
			w[o++] = mime_hex[s[i] & 15];
		}
	}
	return o;
}

/*
 * One encoded-word of at most budget characters from the front of s, cut
 * between characters (RFC 2047 5 (3): no partial character). "Q" or "B",
 * whichever carries more text; on a tie, the shorter. Since both lengths
 * grow with the text, the word chosen is never longer than the other
 * encoding of the same text. Returns the octets of s used.
 */
static size_t
ew_make(const uint8_t *s, size_t n, size_t budget, char *w, size_t *wlen)
{
	size_t room = budget - MIME_EW_FRAME, qlen, qn, bn, o;

	qn = ew_fit_q(s, n, room, &qlen);
	bn = ew_fit_b(s, n, room);
	if (qn > bn || (qn == bn && qlen <= (bn + 2) / 3 * 4)) {
		memcpy(w, "=?UTF-8?Q?", 10);
		o = 10 + ew_q(s, qn, w + 10);
	} else {
		memcpy(w, "=?UTF-8?B?", 10);
		o = 10 + (size_t)EVP_EncodeBlock((unsigned char *)w + 10, s,
		    (int)bn);
		qn = bn;
	}
	memcpy(w + o, "?=", 2);
	*wlen = o + 2;
	return qn;
}

/*
 * The whole value as encoded-words, each on the line it fits. White space
 * between words is dropped by a decoder (RFC 2047 6.2), so the value's own
 * spaces travel inside the words and it decodes to exactly s.
 */
static int
hdr_words(struct hdrw *w, const char *s, size_t n)
{
	char word[MIME_EW + 1];
	size_t pos = 0, budget, wlen;

	while (pos < n) {
		budget = w->col + 1 < MIME_FOLD ? MIME_FOLD - w->col - 1 : 0;
		if (budget < MIME_EW_MIN || budget > MIME_EW)
			budget = MIME_EW;
		pos += ew_make((const uint8_t *)s + pos, n - pos, budget,
		    word, &wlen);
		if (hdrw_token(w, word, wlen) < 0)
			return -1;
	}
	return 0;
}

/* RFC 5322 3.2.3 atext. */
static int
hdr_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Atoms separated by single spaces: a phrase that needs no quotes. */
static int
hdr_is_atoms(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == ' ' || s[n - 1] == ' ')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == ' ' && s[i + 1] == ' ')
			return 0;
		if (s[i] != ' ' && !hdr_atext((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* RFC 5322 3.2.4: DQUOTE, and a backslash before '"' and '\'. */
static char *
hdr_quote(const char *s, size_t n, size_t *lenp)
{
	char *q = xmalloc(2 * n + 3);
	size_t i, o = 0;

	q[o++] = '"';
	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			q[o++] = '\\';
		q[o++] = s[i];
	}
	q[o++] = '"';
	q[o] = '\0';
	*lenp = o;
	return q;
}

/*
 * A display name (RFC 5322 3.2.5 phrase): atoms as they are, a name
 * holding specials (',' '.' '@' ...) or odd spacing quoted, anything else
 * encoded. An encoded-word needs no quotes, and may not have them (RFC
 * 2047 5 (3)). A name of more than about 45 octets of non-ASCII text takes
 * several words; Python 3.11's address parser wrongly keeps the space
 * between them (CPython gh-128110), mail clients follow RFC 2047 6.2.
 */
static int
hdr_phrase(struct hdrw *w, const char *s, size_t n, size_t namelen)
{
	char *q;
	size_t qn;
	int rc;

	if (n == 0)
		return 0;
	if (hdr_needs_words(s, n, namelen))
		return hdr_words(w, s, n);
	if (hdr_is_atoms(s, n))
		return hdr_plain(w, s, n);
	q = hdr_quote(s, n, &qn);
	if (hdr_needs_words(q, qn, namelen))
		rc = hdr_words(w, s, n);
	else
		rc = hdr_plain(w, q, qn);
	free(q);
	return rc;
}

/*
 * "<" prefix s ">" suffix as one token, never split: mime_check() has
 * made sure it fits a line.
 */
static int
hdr_angle(struct hdrw *w, const char *prefix, const char *s,
    const char *suffix)
{
	char *v, *t;
	size_t n, tn;
	int rc;

	v = hdr_clean(s, &n);
	tn = n + strlen(prefix) + strlen(suffix) + 3;
	t = xmalloc(tn);
	snprintf(t, tn, "<%s%s>%s", prefix, v, suffix);
	rc = hdrw_token(w, t, tn - 1);
	free(t);
	free(v);
	return rc;
}

/* RFC 5322 2.2 field name: printable ASCII but ':', here at most 76. */
static int
hdr_name_ok(const char *name)
{
	size_t i, n = name != NULL ? strlen(name) : 0;

	if (n == 0 || n > LIMIT_HEADER_NAME)
		return 0;
	for (i = 0; i < n; i++)
		if (name[i] < 33 || name[i] > 126 || name[i] == ':')
			return 0;
	return 1;
}

int
mime_header(struct buf *out, const char *name, const char *value)
{
	struct hdrw w;
	size_t start = out->len, n;
	char *v;
	int rc;

	if (!hdr_name_ok(name))
		return -1;
	v = hdr_clean(value, &n);
	rc = hdrw_start(&w, out, name);
	if (rc == 0)
		rc = hdr_needs_words(v, n, strlen(name)) ?
		    hdr_words(&w, v, n) : hdr_plain(&w, v, n);
	if (rc == 0)
		rc = hdrw_end(&w);
	if (rc < 0)
		mime_truncate(out, start);
	free(v);
	return rc;
}

/* ------------------------------------------------------- custom headers */

static const char *const mime_own[] = {
	"From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
	"List-Id", "Feedback-ID", "Reply-To", "Return-Path",
	"DKIM-Signature", "Received", "Bcc", "Cc", "Sender",
};

static const char *const mime_own_prefix[] = {
	"Content-", "List-Unsubscribe",
};

static int
mime_is_own(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(mime_own) / sizeof(mime_own[0]); i++)
		if (strcasecmp(name, mime_own[i]) == 0)
			return 1;
	for (i = 0; i < sizeof(mime_own_prefix) / sizeof(mime_own_prefix[0]);
	    i++)
		if (strncasecmp(name, mime_own_prefix[i],
		    strlen(mime_own_prefix[i])) == 0)
			return 1;
	return 0;
}

/* C0, DEL and C1 (U+0080-U+009F); value is valid UTF-8 already. */
static int
mime_has_control(const char *value, size_t n)
{
	const uint8_t *p = (const uint8_t *)value;
	size_t i = 0;
	ucs4_t uc;

	while (i < n) {
		i += (size_t)u8_mbtouc(&uc, p + i, n - i);
		if (uc < 0x20 || (uc >= 0x7F && uc <= 0x9F))
			return 1;
	}
	return 0;
}

int
mime_check_header(const char *name, const char *value, struct err *e)
{
	size_t n;

	if (name == NULL || *name == '\0')
		return err_set(e, EX_DATAERR, "header name is empty");
	if (strlen(name) > LIMIT_HEADER_NAME)
		return err_set(e, EX_DATAERR, "header name is longer than %d "
		    "characters", LIMIT_HEADER_NAME);
	if (!hdr_name_ok(name))
		return err_set(e, EX_DATAERR, "header name may hold only "
		    "printable ASCII other than ':'");
	if (mime_is_own(name))
		return err_set(e, EX_DATAERR, "header %s: Postbote writes this "
		    "header itself", name);
	n = value != NULL ? strlen(value) : 0;
	if (n > LIMIT_HEADER_VALUE)
		return err_set(e, EX_DATAERR, "header %s: value is longer than "
		    "%d octets", name, LIMIT_HEADER_VALUE);
	if (u8_check((const uint8_t *)(value != NULL ? value : ""), n) != NULL)
		return err_set(e, EX_DATAERR, "header %s: value is not valid "
		    "UTF-8", name);
	if (mime_has_control(value != NULL ? value : "", n))
		return err_set(e, EX_DATAERR, "header %s: value holds a control "
		    "character", name);
	return 0;
}

/* ----------------------------------------------------------- the header */

static const char *
str(const char *s)
{
	return s != NULL ? s : "";
}

static int
mime_from(struct buf *out, const struct mime_msg *m)
{
	struct hdrw w;
	char *name;
	size_t n;
	int rc;

	name = hdr_clean(m->from_name, &n);
	rc = hdrw_start(&w, out, "From");
	if (rc == 0)
		rc = hdr_phrase(&w, name, n, strlen("From"));
	if (rc == 0)
		rc = hdr_angle(&w, "", m->from_addr, "");
	if (rc == 0)
		rc = hdrw_end(&w);
	free(name);
	return rc;
}

/* "Name: <prefix value>" for addresses and the Message-ID. */
static int
mime_angle_header(struct buf *out, const char *name, const char *value)
{
	struct hdrw w;

	if (hdrw_start(&w, out, name) < 0 ||
	    hdr_angle(&w, "", value, "") < 0)
		return -1;
	return hdrw_end(&w);
}

/* RFC 2369 3.2 and RFC 8058 3.1: https first, mailto as the fallback. */
static int
mime_unsubscribe(struct buf *out, const struct mime_msg *m)
{
	const char *mt = m->unsubscribe_mailto;
	struct hdrw w;

	if (m->unsubscribe_url == NULL)
		return 0;
	if (hdrw_start(&w, out, "List-Unsubscribe") < 0 ||
	    hdr_angle(&w, "", m->unsubscribe_url, mt != NULL ? "," : "") < 0)
		return -1;
	if (mt != NULL && hdr_angle(&w, strncasecmp(mt, "mailto:", 7) == 0 ?
	    "" : "mailto:", mt, "") < 0)
		return -1;
	if (hdrw_end(&w) < 0)
		return -1;
	return buf_adds(out, "List-Unsubscribe-Post: "
	    "List-Unsubscribe=One-Click\r\n");
}

/* RFC 2919 2: "<list-id>", or the caller's "Phrase <list-id>" as it is. */
static int
mime_list_id(struct buf *out, const char *id)
{
	if (id == NULL)
		return 0;
	if (strchr(id, '<') != NULL)
		return mime_header(out, "List-Id", id);
	return mime_angle_header(out, "List-Id", id);
}

/* RFC 5322 3.3, in English whatever the locale, always UTC. */
static int
mime_date(struct buf *out, int64_t ms)
{
	static const char *const day[] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
	};
	static const char *const mon[] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
		"Oct", "Nov", "Dec",
	};
	struct tm tm;
	time_t t;

	if (ms < 0)
		ms = 0;
	if (ms > MIME_DATE_MAX)
		ms = MIME_DATE_MAX;
	t = (time_t)(ms / 1000);
	if (gmtime_r(&t, &tm) == NULL)
		return -1;
	return buf_printf(out, "Date: %s, %d %s %04d %02d:%02d:%02d +0000\r\n",
	    day[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int
mime_headers(const struct mime_msg *m, struct buf *out)
{
	int i;

	if (mime_from(out, m) < 0 ||
	    mime_angle_header(out, "To", m->to_addr) < 0 ||
	    (m->reply_to != NULL &&
	    mime_angle_header(out, "Reply-To", m->reply_to) < 0) ||
	    mime_header(out, "Subject", str(m->subject)) < 0 ||
	    mime_date(out, m->date_ms) < 0 ||
	    mime_angle_header(out, "Message-ID", m->message_id) < 0 ||
	    buf_adds(out, "MIME-Version: 1.0\r\n") < 0 ||
	    mime_unsubscribe(out, m) < 0 ||
	    mime_list_id(out, m->list_id) < 0 ||
	    (m->feedback_id != NULL &&
	    mime_header(out, "Feedback-ID", m->feedback_id) < 0))
		return -1;
	for (i = 0; i < m->nheaders; i++)
		if (mime_header(out, m->headers[i].name,
		    m->headers[i].value) < 0)
			return -1;
	return 0;
}

/* --------------------------------------------------------------- bodies */

/* CRLF, CR and LF become CRLF (RFC 5322 2.3); NUL octets go. */
/*
 * Per-octet classes for the two loops that see every octet of a body:
 * plain, an octet QP writes as itself inside a line (RFC 2045 6.7 (2));
 * breaks, one that ends a run in normalisation (NUL, CR, LF). A table
 * costs one load where the tests cost three compares.
 */
static struct { uint8_t plain, breaks; } mime_class[256];
static pthread_once_t mime_class_once = PTHREAD_ONCE_INIT;

static void
mime_class_init(void)
{
	int c;

	for (c = 0; c < 256; c++) {
		mime_class[c].plain = c >= 32 && c < 127 && c != '=';
		mime_class[c].breaks = c == 0 || c == '\r' || c == '\n';
	}
}

/*
 * Body text in its working form: lines end in a bare LF (CRLF, CR and LF
 * all count as one line end), no NUL. CRLF is written only on output, so
 * the common body (LF line ends, no CR, no NUL) needs no copy at all.
 */
static int
body_lf(struct buf *b, const char *p, size_t n)
{
	size_t i = 0, j;
	int cr = 0;

	while (i < n) {
		for (j = i; j < n && !mime_class[(uint8_t)p[j]].breaks; j++)
			;
		if (j > i) {
			if (buf_add(b, p + i, j - i) < 0)
				return -1;
			cr = 0;
		}
		if (j == n)
			break;
		if (p[j] == '\r' || (p[j] == '\n' && !cr))
			if (buf_addc(b, '\n') < 0)
				return -1;
		if (p[j] != '\0')
			cr = p[j] == '\r';
		i = j + 1;
	}
	return 0;
}

/* The working form's size once its LFs are CRLFs. */
static size_t
body_crlf_len(const uint8_t *s, size_t n)
{
	const uint8_t *p = s, *end = s + n;
	size_t lines = 0;

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		lines++;
		p++;
	}
	return n + lines;
}

static int
body_crlf(struct buf *b, const uint8_t *s, size_t n)
{
	const uint8_t *p = s, *end = s + n, *nl;

	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (buf_add(b, p, (size_t)(nl - p)) < 0 ||
		    buf_add(b, "\r\n", 2) < 0)
			return -1;
		p = nl + 1;
	}
	return buf_add(b, p, (size_t)(end - p));
}

/*
 * One QP token for s[j] of a line of len octets, at column col. Encoded
 * beyond RFC 2045 6.7 (1)-(3): white space ending a line (6.7 (3)), and at
 * the start of a line a '.' (which SMTP would dot-stuff, RFC 5321 4.5.2)
 * and the 'F' of "From " (which mbox would quote): the bytes then pass any
 * MTA unchanged.
 */
static size_t
qp_token(const uint8_t *s, size_t j, size_t len, size_t col, char *tok)
{
	uint8_t c = s[j];
	int enc;

	enc = c == '=' || c > 126 || (c < 32 && c != '\t') ||
	    ((c == ' ' || c == '\t') && j + 1 == len) ||
	    (col == 0 && (c == '.' || (c == 'F' && len - j >= 5 &&
	    memcmp(s + j, "From ", 5) == 0)));
	if (!enc) {
		tok[0] = (char)c;
		return 1;
	}
	tok[0] = '=';
	tok[1] = mime_hex[c >> 4];
	tok[2] = mime_hex[c & 15];
	return 3;
}

/*
 * One line without its CRLF, with soft breaks ("=" CRLF, 6.7 (5)) so that
 * no encoded line passes 76 characters, the '=' included. The last octet
 * may end at column last_room (76, or 75 when a soft break follows it).
 */
static int
qp_line(struct buf *q, const uint8_t *s, size_t len, size_t last_room)
{
	char line[MIME_QP_LINE + 4];
	size_t j, col = 0, tn, room;

	for (j = 0; j < len; j++) {
		/* Most octets stand for themselves: a run of them that is
		 * neither the line's first nor its last octet is copied whole,
		 * without the rarer rules qp_token() applies one by one. */
		if (col > 0 && col + 1 < MIME_QP_LINE) {
			size_t k = j, lim = len - 1;

			if (lim > j + (MIME_QP_LINE - 1 - col))
				lim = j + (MIME_QP_LINE - 1 - col);
			while (k < lim && mime_class[s[k]].plain)
				k++;
			if (k > j) {
				memcpy(line + col, s + j, k - j);
				col += k - j;
				j = k - 1;
				continue;
			}
		}
		tn = qp_token(s, j, len, col, line + col);
		room = j + 1 == len ? last_room : MIME_QP_LINE - 1;
		if (col + tn > room) {
			memcpy(line + col, "=\r\n", 3);
			if (buf_add(q, line, col + 3) < 0)
				return -1;
			col = 0;
			tn = qp_token(s, j, len, col, line);
		}
		col += tn;
	}
	return buf_add(q, line, col);
}

/*
 * soft_end: the part ends the message, so no delimiter's CRLF follows it;
 * a last line without CRLF gets a soft break, which decodes to nothing.
 */
static int
qp_encode(struct buf *q, const uint8_t *s, size_t n, int soft_end)
{
	const uint8_t *eol;
	size_t i = 0, len;

	while (i < n) {
		eol = memchr(s + i, '\n', n - i);
		len = eol != NULL ? (size_t)(eol - s) - i : n - i;
		if (qp_line(q, s + i, len, eol == NULL && soft_end ?
		    MIME_QP_LINE - 1 : MIME_QP_LINE) < 0)
			return -1;
		if (eol == NULL)
			return soft_end ? buf_add(q, "=\r\n", 3) : 0;
		if (buf_add(q, "\r\n", 2) < 0)
			return -1;
		i += len + 1;
	}
	return 0;
}

static size_t
b64_len(size_t n, int soft_end)
{
	size_t lines = (n + MIME_B64_IN - 1) / MIME_B64_IN;

	if (n == 0)
		return 0;
	return (n + 2) / 3 * 4 + 2 * (lines - 1) + (soft_end ? 2 : 0);
}

static int
b64_encode(struct buf *b, const uint8_t *s, size_t n, int soft_end)
{
	unsigned char line[MIME_QP_LINE + 1];
	size_t i, k;
	int len;

	for (i = 0; i < n; i += k) {
		k = n - i < MIME_B64_IN ? n - i : MIME_B64_IN;
		len = EVP_EncodeBlock(line, s + i, (int)k);
		if ((i > 0 && buf_add(b, "\r\n", 2) < 0) ||
		    buf_add(b, line, (size_t)len) < 0)
			return -1;
	}
	if (soft_end && n > 0)
		return buf_add(b, "\r\n", 2);
	return 0;
}

/* RFC 2045 6.8: base64 encodes the canonical form, CRLF line ends. */
static int
b64_canonical(struct buf *enc, const uint8_t *s, size_t n, int soft_end)
{
	struct buf crlf;
	int rc;

	buf_init(&crlf, enc->max);
	rc = body_crlf(&crlf, s, n);
	if (rc == 0)
		rc = b64_encode(enc, (const uint8_t *)buf_str(&crlf), crlf.len,
		    soft_end);
	buf_free(&crlf);
	return rc;
}

/*
 * The part's headers, a blank line and its body. QP is tried first; a QP
 * body too large for the message may still fit as base64.
 */
static int
mime_part(struct buf *out, const char *type, const char *p, size_t n,
    int soft_end)
{
	struct buf norm, enc;
	const char *cte = "quoted-printable";
	const uint8_t *src;
	size_t sn;
	int rc = -1, qp_ok;

	if (p == NULL)
		p = "", n = 0;
	buf_init(&norm, out->max);
	buf_init(&enc, out->max);
	/* Sized once: growing by doubling costs more than the encoding.
	 * A failed reservation only means the part is near the maximum. */
	(void)!buf_reserve(&enc, n + n / 4 + 64);
	src = (const uint8_t *)p;
	sn = n;
	if (memchr(p, '\r', n) != NULL || memchr(p, '\0', n) != NULL) {
		if (body_lf(&norm, p, n) < 0)
			goto out;
		src = (const uint8_t *)buf_str(&norm);
		sn = norm.len;
	}
	qp_ok = qp_encode(&enc, src, sn, soft_end) == 0;
	if (!qp_ok || b64_len(body_crlf_len(src, sn), soft_end) < enc.len) {
		cte = "base64";
		buf_reset(&enc);
		if (b64_canonical(&enc, src, sn, soft_end) < 0)
			goto out;
	}
	if (buf_printf(out, "Content-Type: text/%s; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: %s\r\n\r\n", type, cte) < 0 ||
	    buf_add(out, enc.data, enc.len) < 0)
		goto out;
	rc = 0;
out:
	buf_free(&norm);
	buf_free(&enc);
	return rc;
}

/*
 * "=_pb_" and 128 bits of SHA-256(Message-ID). RFC 2046 5.1.1: the
 * boundary must not occur in the parts. QP writes '=' only before two hex
 * digits or a CRLF, base64 only as padding, so "=_" occurs in neither.
 */
static void
mime_boundary(const char *msgid, char *b)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	size_t i;

	memset(md, 0, sizeof(md));
	if (!EVP_Digest(msgid, strlen(msgid), md, &mdlen, EVP_sha256(), NULL))
		memset(md, 0, sizeof(md));
	memcpy(b, "=_pb_", 5);
	for (i = 0; i < 16; i++) {
		b[5 + 2 * i] = mime_hex[md[i] >> 4];
		b[6 + 2 * i] = mime_hex[md[i] & 15];
	}
	b[37] = '\0';
}

static int
mime_body(const struct mime_msg *m, struct buf *out)
{
	char b[38];

	if (m->html == NULL)
		return mime_part(out, "plain", m->text, m->text_len, 1) < 0 ?
		    -1 : 0;
	mime_boundary(str(m->message_id), b);
	if (buf_printf(out, "Content-Type: multipart/alternative;\r\n"
	    " boundary=\"%s\"\r\n\r\n--%s\r\n", b, b) < 0 ||
	    mime_part(out, "plain", m->text, m->text_len, 0) < 0 ||
	    buf_printf(out, "\r\n--%s\r\n", b) < 0 ||
	    mime_part(out, "html", m->html, m->html_len, 0) < 0 ||
	    buf_printf(out, "\r\n--%s--\r\n", b) < 0)
		return -1;
	return 0;
}

/* ---------------------------------------------------------------- build */

/* What no folding can mend: a token longer than a line, a bad header. */
static int
mime_check(const struct mime_msg *m, struct err *e)
{
	const char *tok[] = { m->from_addr, m->to_addr, m->reply_to,
	    m->message_id, m->unsubscribe_url, m->unsubscribe_mailto,
	    m->list_id };
	const char *what[] = { "From address", "To address",
	    "Reply-To address", "Message-ID", "unsubscribe URL",
	    "unsubscribe address", "List-Id" };
	size_t i, n;
	int j;

	for (i = 0; i < sizeof(tok) / sizeof(tok[0]); i++) {
		if (tok[i] == NULL)
			continue;
		/* As written: bytes that are not UTF-8 grow threefold. */
		free(hdr_clean(tok[i], &n));
		if (n > LIMIT_HEADER_TOKEN)
			return err_set(e, EX_DATAERR, "%s is longer than %d "
			    "octets", what[i], LIMIT_HEADER_TOKEN);
	}
	for (j = 0; j < m->nheaders; j++)
		if (mime_check_header(m->headers[j].name, m->headers[j].value,
		    e) < 0)
			return -1;
	return 0;
}

int
mime_build(const struct mime_msg *m, struct buf *out, struct err *e)
{
	size_t start = out->len;

	pthread_once(&mime_class_once, mime_class_init);
	if (mime_check(m, e) < 0)
		return -1;
	if (mime_headers(m, out) < 0 || mime_body(m, out) < 0) {
		mime_truncate(out, start);
		return err_set(e, EX_DATAERR, "message is larger than %zu "
		    "bytes", out->max);
	}
	return 0;
}
