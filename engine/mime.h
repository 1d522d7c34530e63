/*
 * mime.h - assembling one complete RFC 5322 message from rendered parts.
 *
 * mime_build() writes the header block and a multipart/alternative body
 * (text/plain then text/html, UTF-8) into a caller-owned struct buf:
 *
 *   - every line ends in CRLF, no line is longer than 998 octets, and no
 *     NUL, bare CR or bare LF survives anywhere (values are normalised:
 *     CRLF, CR and LF inside a part become CRLF; inside a header value they
 *     become a space, so no value can start a header of its own);
 *   - header text that is not printable ASCII (display names, subjects) is
 *     written as RFC 2047 encoded-words ("=?UTF-8?Q?...?=" or "?B?", the
 *     shorter), each at most 75 characters, never splitting a UTF-8
 *     character, and headers are folded at 78 columns where possible;
 *   - display names that need it are quoted as RFC 5322 3.2.4 says;
 *   - each body part is quoted-printable (RFC 2045 6.7, soft breaks at 76),
 *     or base64 (lines of 76) when that comes out shorter;
 *   - the boundary is derived from the Message-ID, so the same input gives
 *     the same bytes (a retry sends the same message).
 *
 * Thread-safe: no state but the arguments.
 */
#ifndef POSTBOTE_MIME_H
#define POSTBOTE_MIME_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "err.h"

struct mime_header {
	const char *name;	/* checked by mime_check_header() */
	const char *value;
};

struct mime_msg {
	const char *from_name;		/* UTF-8, may be "" */
	const char *from_addr;		/* an address as addr.h makes them */
	const char *to_addr;
	const char *reply_to;		/* NULL: none */
	const char *subject;		/* rendered, UTF-8, any bytes */
	const char *text;		/* rendered text part, UTF-8 */
	size_t text_len;
	const char *html;		/* rendered HTML part; NULL: text only */
	size_t html_len;
	int64_t date_ms;		/* Unix ms, for the Date header */
	const char *message_id;		/* "local@domain", without <> */
	const char *unsubscribe_url;	/* NULL: no List-Unsubscribe */
	const char *unsubscribe_mailto;	/* NULL: none */
	const char *list_id;		/* NULL: no List-Id */
	const char *feedback_id;	/* NULL: no Feedback-ID */
	const struct mime_header *headers;	/* custom, may be NULL */
	int nheaders;
};

/*
 * Appends the message to out, or leaves out as it was and fails with
 * EX_DATAERR: out's maximum (the caller's per-message limit) is reached, a
 * custom header fails mime_check_header(), or an address, the Message-ID,
 * an unsubscribe URL or the List-Id is longer than LIMIT_HEADER_TOKEN and
 * so cannot be folded. Without an unsubscribe URL there is no
 * List-Unsubscribe at all, the mailto included.
 */
int mime_build(const struct mime_msg *m, struct buf *out, struct err *e) WUR;

/*
 * Checks a custom header: the name is 1-76 printable ASCII characters
 * without ':' (RFC 5322 2.2 ftext) and not one Postbote writes itself
 * (From, To, Subject, Date, Message-ID, MIME-Version, Content-*,
 * List-Unsubscribe*, List-Id, Feedback-ID, Reply-To, Return-Path,
 * DKIM-Signature, Received, Bcc, Cc, Sender); the value is valid UTF-8
 * without control characters and at most 900 octets.
 */
int mime_check_header(const char *name, const char *value,
    struct err *e) WUR;

/*
 * Appends one header, "Name: value" folded and encoded as above, ending in
 * CRLF. Exposed for tests and for headers built elsewhere.
 */
int mime_header(struct buf *out, const char *name, const char *value) WUR;

#endif
