/*
 * webhook.h - the webhook sender: the outbox's due calls POSTed as JSON.
 *
 * Events reach the outbox through a trigger, in the transaction that
 * records them (schema/005_feedback.sql); this module only empties it.
 * A flush claims due calls a batch (LIMIT_WEBHOOK_BATCH) at a time and
 * runs them on libcurl's multi interface, LIMIT_WEBHOOK_INFLIGHT at once,
 * each bounded by its webhook's timeout. A 2xx answer is sent; anything
 * else (another status, a redirect, which is never followed, a refused
 * connection, a timeout) is tried again after retry_base * 2^(attempts
 * made before), at most LIMIT_WEBHOOK_BACKOFF_MS, and the call is dead
 * after max_attempts. Delivery is at least once: a flusher that dies
 * mid-call, or a receiver that answers too late, gets the call again;
 * receivers dedupe on X-Postbote-Id.
 *
 * Each body is signed: X-Postbote-Signature: t=UNIX,v1=HEX with HEX the
 * HMAC-SHA256 under the webhook's secret of "UNIX.BODY" (Stripe's
 * scheme: the time stamp inside the MAC lets receivers refuse replays).
 * The secret is read from secret_file (refused, EX_CONFIG, when group or
 * others may read it: ssh's rule, as for SMTP passwords) or secret_env,
 * when a flush or flusher starts.
 *
 * curl_global_init() is called once, here, the first time it is needed
 * (pthread_once); nothing else in Postbote uses libcurl.
 *
 * Functions return 0 or -1 with struct err filled. Not thread-safe per
 * store; the flusher opens its own.
 */
#ifndef POSTBOTE_WEBHOOK_H
#define POSTBOTE_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "config.h"
#include "err.h"
#include "store.h"

#define WEBHOOK_SECRET_MAX	1024	/* bytes of a secret */
#define WEBHOOK_SIG_MAX		96	/* "t=...,v1=" and 64 hex digits */
/* A flusher told to stop finishes what is due for this long at most;
   calls still open then are handed back untried. */
#define WEBHOOK_STOP_GRACE_MS	2000

struct webhook_stats {
	int64_t sent;
	int64_t retried;	/* failed, scheduled again */
	int64_t dead;		/* failed for the last time */
};

/*
 * Sends every call due by now_ms (Unix ms), a batch after another, until
 * none is due; what fails is scheduled again from the time it failed,
 * so a flush never takes the same call twice. One line per call to log
 * (NULL: none). A call that fails is not an error; a store error or a
 * secret that cannot be read is (EX_CONFIG for the secret, before any
 * call). Nothing at all when cfg has no webhooks.
 */
int webhook_flush(struct store *st, const struct config *cfg,
    int64_t now_ms, FILE *log, struct webhook_stats *out,
    struct err *e) WUR;

/*
 * Reads every webhook's secret and forgets it: what a command checks
 * before it changes anything (EX_CONFIG).
 */
int webhook_check(const struct config *cfg, struct err *e) WUR;

/*
 * A thread flushing every second, over its own connection to db_path,
 * for the commands that record events as they run (send, track serve).
 * Secrets are read here, so a bad one fails the start. NULL without an
 * error (e->code 0) when cfg has no webhooks. cfg and log must outlive
 * the flusher; log lines are written whole (stdio locks the FILE).
 */
struct webhook_flusher;

struct webhook_flusher *webhook_flusher_start(const char *db_path,
    const struct config *cfg, FILE *log, struct err *e);
/*
 * What a command that records events as it runs does first: checks the
 * secrets (before anything changes), makes the webhooks table follow cfg
 * (the trigger writes calls only for webhooks in it), and starts the
 * flusher (*out NULL when cfg has none).
 */
int webhook_begin(struct store *st, const char *db_path,
    const struct config *cfg, FILE *log, struct webhook_flusher **out,
    struct err *e) WUR;

/*
 * Sends what is due now (for WEBHOOK_STOP_GRACE_MS at most), stops the
 * thread and frees f. NULL is fine. *out, when not NULL, gets the
 * flusher's totals.
 */
void webhook_flusher_stop(struct webhook_flusher *f,
    struct webhook_stats *out);

/* The pure parts, for the unit tests. */

/* "t=UNIX,v1=HEX" into out (WEBHOOK_SIG_MAX bytes); -1 when OpenSSL has
   no HMAC-SHA256. */
int webhook_sign(const void *secret, size_t secret_len, int64_t unix_s,
    const char *body, size_t body_len, char *out, size_t n) WUR;
/* The wait before the next try when a call fails that had failed
   attempts times before: base * 2^attempts, at most
   LIMIT_WEBHOOK_BACKOFF_MS. */
int64_t webhook_backoff_ms(int64_t base_ms, int attempts);
/* The JSON body of a call (malloc'd, compact). */
char *webhook_payload(const struct store_webhook_call *c);
/* Reads h's secret into out (WEBHOOK_SECRET_MAX + 1 bytes); *len. */
int webhook_secret(const struct config_webhook *h, char *out,
    size_t *len, struct err *e) WUR;

#endif
