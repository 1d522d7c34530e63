/*
 * workers.h - a fixed pool of threads that run one function over jobs
 * handed to them by the event loop, and hand the jobs back.
 *
 * The loop calls workers_submit() for each job and, when workers_fd()
 * turns readable, workers_done() to take every finished job back, in
 * any order. Jobs are the caller's: an intrusive struct workers_job
 * heads each, so the pool allocates nothing per job, and the caller
 * bounds memory by bounding the jobs it owns (send.c keeps a fixed
 * pool of them).
 *
 * The function runs on a worker thread with that worker's index
 * (0..n-1), so per-thread state can live in an array the caller keeps.
 * The fd is an eventfd written once per batch of finished jobs: when a
 * few have gathered, or when no job is left waiting, so the last ones of
 * a burst are never held back.
 * workers_stop() lets the threads finish the jobs already submitted,
 * joins them and frees the pool; the jobs stay the caller's, wherever
 * they were.
 */
#ifndef POSTBOTE_WORKERS_H
#define POSTBOTE_WORKERS_H

#include "err.h"

struct workers_job {
	struct workers_job *next;
};

typedef void (*workers_fn)(void *arg, int worker, struct workers_job *j);

struct workers;

/* EX_OSERR when a thread or the eventfd cannot be made. */
int workers_start(int n, workers_fn fn, void *arg, struct workers **out,
    struct err *e) WUR;
void workers_submit(struct workers *w, struct workers_job *j);
int workers_fd(const struct workers *w);
/* Every finished job, as a list (NULL: none); clears the fd. */
struct workers_job *workers_done(struct workers *w);
/* Runs what was submitted, joins the threads. Accepts NULL. */
void workers_stop(struct workers *w);

#endif
