/*
 * ingest.h - what an inbound message means for our deliveries, and
 * recording it: `postbote bounce ingest`.
 *
 * A message is tied to a delivery only by what we signed:
 *   - the VERP return path bounces+TOKEN@RETURN_DOMAIN it was sent to
 *     (the envelope recipient, Delivered-To, X-Original-To, To, Cc), or
 *     that return path in the original a DSN or ARF report returns;
 *   - the mailto unsubscribe+TOKEN@RETURN_DOMAIN;
 *   - our Message-ID (itself a token) in a returned original or in a
 *     reply's In-Reply-To/References. A DSN or report tied only by the
 *     Message-ID must also name the delivery's address as a recipient
 *     (a DSN block, Original-Rcpt-To); a reference ties only a reply or
 *     an auto-reply, never a bounce.
 * A token that does not verify changes nothing and is reported; so is a
 * message tied to none of our deliveries. Nothing is guessed: a bounce
 * neither the status code nor the pattern table classifies is kept in
 * inbound_review for a person.
 */
#ifndef POSTBOTE_INGEST_H
#define POSTBOTE_INGEST_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"
#include "limits.h"

struct store;
struct config;
struct ingest;

enum ingest_what {
	INGEST_BOUNCE,		/* recorded: a failed delivery */
	INGEST_DELAYED,		/* recorded: a "delayed" DSN */
	INGEST_COMPLAINT,
	INGEST_UNSUBSCRIBE,
	INGEST_REPLY,
	INGEST_AUTO_REPLY,
	INGEST_SUCCESS,		/* a "delivered" or "relayed" DSN: nothing */
	INGEST_DUPLICATE,	/* recorded before: nothing */
	INGEST_REVIEW,		/* ours, not classified: kept for review */
	INGEST_UNMATCHED,	/* tied to no delivery of ours: nothing */
	INGEST_FORGED,		/* a token that does not verify: nothing */
	INGEST_REJECTED		/* refused as malformed or hostile */
};

#define INGEST_NWHAT	(INGEST_REJECTED + 1)

struct ingest_outcome {
	enum ingest_what what;
	int64_t campaign_id;	/* 0: no delivery */
	int64_t recipient_id;
	char campaign[128];
	char address[LIMIT_ADDR + 1];
	char bounce_class[16];	/* INGEST_BOUNCE: hard, soft, policy */
	char status[16];	/* the enhanced status code, or "" */
	char reason[LIMIT_ERR_MSG + 128];	/* for the person reading it */
	int suppressed;		/* a suppression was added */
	int paused;		/* the campaign paused itself */
	char warning[256];	/* the rate guard's, or "" */
};

/* "bounce", "delayed", ... as the output and the README name them. */
const char *ingest_what_name(enum ingest_what w);

int ingest_open(struct store *st, const struct config *cfg,
    struct ingest **out, struct err *e) WUR;
void ingest_close(struct ingest *ig);

/*
 * Reads one message and records what it means. envelope_rcpt: the
 * address the MTA delivered it to (its $ORIGINAL_RECIPIENT), or NULL.
 * -1 only when the store
 * failed (EX_TEMPFAIL or EX_IOERR: an MTA should try again later);
 * everything else is an outcome, INGEST_REJECTED included.
 */
int ingest_message(struct ingest *ig, const char *data, size_t len,
    const char *envelope_rcpt, struct ingest_outcome *out,
    struct err *e) WUR;

#endif
