/*
 * inbound.h - reading mail that comes back: DSNs (RFC 3464), ARF
 * complaints (RFC 5965), replies and auto-replies, with GMime.
 *
 * inbound_parse() does not decide what the message means for a delivery
 * (engine/ingest.c does, through the signed tokens); it reports what the
 * message says, in fixed-size fields, truncated where longer.
 *
 * Hostile input is refused before GMime sees it, with EX_DATAERR and a
 * reason: more than LIMIT_INBOUND_SIZE bytes, a line longer than
 * LIMIT_INBOUND_LINE, MIME nesting deeper than LIMIT_INBOUND_DEPTH
 * (counted from the boundary parameters), a header block over
 * LIMIT_INBOUND_HEADER, more than LIMIT_INBOUND_PARTS parts, or two
 * Content-Type fields in one header block. So time and memory stay
 * bounded by the limits, not the input.
 */
#ifndef POSTBOTE_INBOUND_H
#define POSTBOTE_INBOUND_H

#include <stddef.h>
#include <stdio.h>
#include "err.h"
#include "limits.h"

#define INBOUND_MAX_RCPTS	16	/* per-recipient blocks read */
#define INBOUND_MAX_TO		8	/* addresses it was sent to */
#define INBOUND_MAX_REFS	16	/* In-Reply-To and References ids */
#define INBOUND_ID		256	/* a Message-ID, without <> */
#define INBOUND_TEXT		65536	/* text kept for the pattern table */

enum inbound_type {
	INBOUND_OTHER,		/* neither: a reply, auto-reply or a
				   non-standard bounce */
	INBOUND_DSN,		/* multipart/report; report-type=
				   delivery-status */
	INBOUND_ARF		/* multipart/report; report-type=
				   feedback-report */
};

/* One per-recipient block of a DSN's message/delivery-status part. */
struct inbound_rcpt {
	char action[16];	/* failed, delayed, delivered, relayed,
				   expanded; lower case */
	char status[16];	/* "5.1.1" */
	char final_rcpt[LIMIT_ADDR + 1];	/* the address, without the
						   "rfc822;" type */
	char original_rcpt[LIMIT_ADDR + 1];
	char diagnostic[512];	/* Diagnostic-Code, its type removed */
};

struct inbound {
	enum inbound_type type;
	char message_id[INBOUND_ID];	/* this message's */
	char from[LIMIT_ADDR + 1];	/* the From address */
	char subject[256];		/* decoded (RFC 2047), UTF-8 */
	/* What it was sent to, most trusted first: Delivered-To,
	   X-Original-To, To, Cc (addresses only). */
	char to[INBOUND_MAX_TO][LIMIT_ADDR + 1];
	size_t nto;
	/* In-Reply-To, then References, without <>; each id once. */
	char refs[INBOUND_MAX_REFS][INBOUND_ID];
	size_t nrefs;
	/* RFC 3834 Auto-Submitted other than "no", or the headers
	   auto-responders set instead (X-Autoreply, X-Autorespond,
	   Precedence: auto_reply, X-Auto-Response-Suppress with an
	   out-of-office subject ...). */
	int auto_submitted;

	/* DSN */
	struct inbound_rcpt rcpt[INBOUND_MAX_RCPTS];
	size_t nrcpt;
	char reporting_mta[256];

	/* The original message a DSN or ARF report returns
	   (message/rfc822, text/rfc822-headers, or the ARF's third part):
	   its Message-ID, Return-Path and To, when present. */
	char orig_message_id[INBOUND_ID];
	char orig_return_path[LIMIT_ADDR + 1];
	char orig_to[LIMIT_ADDR + 1];

	/* ARF (the message/feedback-report part) */
	char feedback_type[32];		/* abuse, fraud, virus, other ... */
	char arf_original_rcpt[LIMIT_ADDR + 1];	/* Original-Rcpt-To */
	char arf_original_from[LIMIT_ADDR + 1];	/* Original-Mail-From */

	/* The first text/plain part (else text/html made text), decoded to
	   UTF-8, at most INBOUND_TEXT - 1 bytes: what the pattern table
	   reads for a bounce without a delivery-status part. Parts inside
	   a returned message are not read, and a non-standard bounce's
	   quoted copy ("------ This is a copy of the message" ...) is cut
	   off, its header block read for the orig_ fields instead. NULL
	   when the message has no text part. */
	char *text;
	size_t text_len;
};

/*
 * Parses one message (RFC 5322 text, CRLF or LF). g_mime_init() must
 * have run (inbound_init()). Fills *in, which inbound_free() releases
 * (also after an error).
 */
void inbound_init(void);
int inbound_parse(const char *data, size_t len, struct inbound *in,
    struct err *e) WUR;
void inbound_free(struct inbound *in);

/*
 * Splits an mbox file (mboxo or mboxrd: "From " lines after a blank line;
 * ">From " unquoted) and hands each message to cb, at most
 * LIMIT_INBOUND_SIZE bytes in memory at a time. A message over the limit
 * is handed as msg NULL, len its size so far: the callback reports it
 * refused. line is the line its "From " stands on. cb's -1 stops the
 * walk. Returns -1 with e set on a read error.
 */
typedef int (*inbound_msg_cb)(const char *msg, size_t len, long line,
    void *ctx);
int inbound_mbox(FILE *fp, const char *path, inbound_msg_cb cb, void *ctx,
    struct err *e) WUR;

#endif
