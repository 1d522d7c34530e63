/*
 * send.h - `postbote send`: one campaign delivered, from the store to the
 * wire and back.
 *
 * send_campaign() starts the campaign when it is a draft or a scheduled
 * one that is due (the same start as `campaign start`: audience resolved,
 * tracked links recorded), reclaims deliveries a dead run left in flight,
 * and runs the scheduler (scheduler.h) over the pending deliveries with:
 *   load     store_send_claim(), a window at a time, in key order;
 *   render   on the worker threads: the recipient's attributes parsed,
 *            the message rendered (render.h), dated by the delivery's
 *            first attempt so a retry is the same message, and DKIM-signed
 *            (dkim.h) by the keys of the From domain;
 *   outcome  one Postfix-style log line, and the outcome batched for
 *            store_send_record(), committed at every tick.
 * A campaign whose From domain no DKIM key covers is refused (EX_CONFIG)
 * unless no_dkim is set. Deferred deliveries stay for a later run; when
 * none is left unfinished the campaign is done.
 * Passwords of the relay and routes are read here, at the start, from
 * their file (refused when group or others may read it) or environment
 * variable, and never written anywhere.
 */
#ifndef POSTBOTE_SEND_H
#define POSTBOTE_SEND_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include "config.h"
#include "err.h"
#include "scheduler.h"
#include "store.h"

struct send_opts {
	const char *campaign;
	int no_dkim;
	int workers;		/* 0: the config's, else the cores */
	FILE *log;		/* one line per outcome; NULL: none */
	FILE *progress;		/* a live line on a terminal; NULL: a
				   progress line in log every 10 s */
	volatile sig_atomic_t *stop;
};

struct send_result {
	int64_t campaign_id;
	int64_t started;	/* deliveries the start created; 0: it ran */
	int64_t reclaimed;	/* left in flight by a dead run */
	int64_t left;		/* still pending or deferred */
	int done;		/* the campaign is now done */
	char stopped_by[16];	/* "paused" or "cancelled" while it ran;
				   "" otherwise */
	char stopped_why[256];	/* why it paused itself (a complaint or
				   hard-bounce rate); "" otherwise */
	double seconds;
	struct sched_stats stats;
};

int send_campaign(struct store *st, const struct config *cfg,
    const struct send_opts *o, struct send_result *r, struct err *e) WUR;

/*
 * Starts a draft or scheduled campaign the way `campaign start` does:
 * the template must compile, its tracked links are recorded, then the
 * audience is resolved.
 */
int send_start(struct store *st, const struct config *cfg, const char *name,
    int64_t *created, struct err *e) WUR;

#endif
