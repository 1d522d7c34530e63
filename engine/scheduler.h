/*
 * scheduler.h - the send loop: one thread that owns every destination,
 * every throttle, every connection and the DNS resolver, fed by a pool
 * of render and sign workers (workers.h).
 *
 * Per-domain queues. sched_run() keeps up to LIMIT_SEND_DOMAINS
 * recipient domains active at once, taking them in key order from
 * ops->next_domain(), and tops up each with ops->load() to at most a
 * window of jobs (never more than sched_config.inflight in all). Jobs
 * are rendered and signed by ops->render() on the workers, then wait in
 * their domain's queue for a token and a connection. A throttled,
 * suspended or slow domain holds its own window only; the others go on.
 * Each job ends in exactly one ops->outcome() call on the loop thread,
 * then its struct is reused.
 *
 * Shaping (throttle.h): every message takes a token from its domain's
 * throttle (its shaping.domains rule, else the default), from its MX
 * provider's (a shaping.providers rule matching a next hop's name) and
 * from the global one; every connection counts against the same three
 * caps. Throttling replies (421, 4.7.x, the configured patterns) and
 * connection failures slow the domain and provider down; delivered
 * messages speed them up again.
 *
 * Routing, per recipient domain: a delivery.routes entry (exact or
 * "*.suffix"), else the relay in relay mode, else the domain's MX hosts
 * (dns.h: preference order, implicit MX, null MX, temporary failures
 * never falling back). A target (where mail goes) is resolved once
 * while it has work; routes and the relay are one target for every
 * domain routed there. Its next hops are tried in order: a hop whose
 * connection fails before the session is ready, while it has no working
 * connection, is dead for this run and the target moves to its next hop;
 * when none is left every delivery for it ends with the last hop's
 * failure (deferred, unless every hop failed permanently).
 *
 * Pool: a connection belongs to one next hop (address, port, TLS policy,
 * credentials; the HELO name and source address are one per run) and
 * carries one domain's messages at a time; an idle one passes to another
 * domain with the same next hop. It carries at most the strictest
 * messages_per_connection, is closed after idle_ms unused, and one that
 * failed is never reused (the session ends). Connections open by slow
 * start: one while none works, then as many opening as working.
 *
 * Stopping: when *stop becomes non-zero, nothing more is loaded, queued
 * jobs end SCHED_UNSENT and messages on the wire are finished; at 2, or
 * LIMIT_SEND_STOP_MS later, their sessions are ended too (deferred).
 */
#ifndef POSTBOTE_SCHEDULER_H
#define POSTBOTE_SCHEDULER_H

#include <signal.h>
#include <stdint.h>
#include "buf.h"
#include "config.h"
#include "err.h"
#include "limits.h"
#include "workers.h"

struct sched_dest;

enum sched_status {
	SCHED_DELIVERED,
	SCHED_DEFERRED,
	SCHED_BOUNCED,
	SCHED_FAILED,		/* could not be rendered or signed */
	SCHED_SUPPRESSED,	/* suppressed while the campaign ran */
	SCHED_UNSENT		/* never tried: stopped first */
};

struct sched_job {
	struct workers_job node;	/* first: the pool links it */
	/* Set by ops->load(). */
	char domain[LIMIT_ADDR_DOMAIN + 1];	/* as the store keys it */
	char rcpt[LIMIT_ADDR + 1];
	int64_t recipient_id;
	int64_t date_ms;
	int attempts;		/* made before this one */
	int suppressed;		/* ends SCHED_SUPPRESSED, unsent */
	int variant;		/* an A/B test's, for the render */
	struct buf attrs;
	/* Set by ops->render(). */
	int render_rc;		/* 0, else an EX_ code: fails unsent */
	char render_err[LIMIT_ERR_MSG];
	char from[LIMIT_ADDR + 1];	/* the reverse-path */
	struct buf msg;		/* the signed message, CRLF */
	int eightbit;
	/* The scheduler's. */
	int64_t t0;
	int requeued;		/* times sent again after a reused session
				   died before the server took it */
	struct sched_dest *dest;
	struct sched_job *next;
};

struct sched_outcome {
	enum sched_status status;
	int code;		/* the reply's; 0: decided locally */
	const char *dsn;	/* "5.1.1"; "" when none */
	const char *text;	/* the reply or the local reason */
	const char *relay;	/* "mx.example.com[192.0.2.1]:25", "none" */
	const char *tls;	/* "TLSv1.3/.../verified", "none" */
	int provider;		/* the message went to cfg->providers[i];
				   -1: none, or not sent */
	int64_t delay_ms;	/* from loading to the outcome */
};

struct sched;

#define SCHED_LATER	(-2)

struct sched_ops {
	void *ctx;
	/* The next domain with due work after `after` ("" first): 1 with it
	 * in out, 0 when there is none, -1, or SCHED_LATER. */
	int (*next_domain)(void *ctx, const char *after, char *out,
	    size_t n, struct err *e);
	/* Fills jobs[0..n) with the domain's due work after recipient
	 * *after, moving *after on; the count, 0 when done, -1, or
	 * SCHED_LATER: the store is busy, nothing loaded, ask again in a
	 * second (the run goes on with what it has). */
	int (*load)(void *ctx, const char *domain, int64_t *after,
	    struct sched_job **jobs, int n, struct err *e);
	/* On a worker thread. */
	void (*render)(void *ctx, int worker, struct sched_job *j);
	/* On the loop thread; -1 stops the run with e. */
	/* May turn a deferral into a bounce (a retry's max age). */
	int (*outcome)(void *ctx, const struct sched_job *j,
	    struct sched_outcome *o, struct err *e);
	/* At least every LIMIT_SEND_TICK_MS and once at the end; s is for
	 * sched_domains() during the call. */
	int (*tick)(void *ctx, struct sched *s, struct err *e);
};

struct sched_config {
	const struct config *cfg;
	const char *helo;
	/* Passwords read by the caller: for cfg->routes[i] and the relay. */
	const char *const *route_pass;
	const char *relay_pass;
	int workers;
	int inflight;		/* jobs at once; 0: LIMIT_SEND_INFLIGHT */
	volatile sig_atomic_t *stop;
	/* Per cfg->providers[i]: messages it may still take today (its
	 * warm-up cap less today's volume); -1: no cap. NULL: none. */
	const int64_t *provider_left;
};

struct sched_stats {
	int64_t loaded;
	int64_t outcomes[SCHED_UNSENT + 1];
	int64_t connections;
	int64_t conn_failures;
	int64_t dns_lookups;
	int64_t throttle_signals;	/* throttling replies, failures */
};

/*
 * Runs until every loaded job has its outcome and no more can be loaded.
 * EX_CONFIG for a bad CA file or session setting, EX_OSERR for the loop,
 * or what ops->load(), ops->outcome() or ops->tick() failed with.
 */
int sched_run(const struct sched_config *sc, const struct sched_ops *ops,
    struct sched_stats *stats, struct err *e) WUR;

/* One domain being sent, for progress and `postbote status`. */
struct sched_domain {
	const char *domain;
	const char *state;	/* "active", "resolving", "throttled",
				   "suspended", "waiting", "failed" */
	const char *why;	/* "" or the reason (a failure's reply) */
	int queued;		/* rendered, waiting for a token or session */
	int inflight;		/* loaded and not yet ended */
	int connections;
	double rate_factor;	/* 1: the configured rate; less: backed off */
	int64_t resume_in_ms;	/* suspended: until it goes on */
	int64_t signals;	/* throttling signals so far */
};

typedef void (*sched_domain_cb)(const struct sched_domain *d, void *arg);
/* Every domain being sent now; only from inside ops->tick. */
void sched_domains(struct sched *s, sched_domain_cb cb, void *arg);

/* "delivered", "deferred", "bounced", "failed", "suppressed",
   "unsent". */
const char *sched_status_name(enum sched_status s);

#endif
