/*
 * cmd_track.c - postbote track serve: the tracking server in the
 * foreground until SIGTERM or SIGINT, and the webhook flusher beside it.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "config.h"
#include "store.h"
#include "trackd.h"
#include "webhook.h"

#define TRACK_LISTEN_DEFAULT	"127.0.0.1:8080"

struct serve_opts {
	const char *listen;
	int log;
	int behind_proxy;
};

static int
serve_parse(struct cli *c, int argc, char **argv, struct serve_opts *o)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "log", no_argument, NULL, 'L' },
		{ "behind-proxy", no_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = cli_getopt(c, argc, argv, "l:", opts)) != -1) {
		switch (ch) {
		case 'l': o->listen = optarg; break;
		case 'L': o->log = 1; break;
		case 'P': o->behind_proxy = 1; break;
		default: return EX_USAGE;
		}
	}
	return cli_args(c, argc, argv, 0, "no arguments") != 0 ? EX_USAGE : 0;
}

/* The events this server records get their webhook calls, sent as it
   runs. */
static int
serve_webhooks(struct cli *c, struct webhook_flusher **wf, struct err *e)
{
	struct store *st;
	int rc;

	if (store_open(c->db, 0, &st, e) < 0)
		return -1;
	rc = webhook_begin(st, c->db, c->cfg, stderr, wf, e);
	store_close(st);
	return rc;
}

static int
track_serve(struct cli *c, int argc, char **argv)
{
	struct serve_opts so = { 0 };
	struct trackd_opts o = { 0 };
	struct webhook_flusher *wf = NULL;
	struct trackd *d = NULL;
	sigset_t stop;
	struct err e;
	int rc, sig;

	if ((rc = serve_parse(c, argc, argv, &so)) != 0)
		return rc;
	o.db_path = c->db;
	o.listen = so.listen != NULL ? so.listen :
	    c->cfg->tracking_listen != NULL ? c->cfg->tracking_listen :
	    TRACK_LISTEN_DEFAULT;
	o.threads = c->cfg->tracking_threads;
	o.machine_seconds = c->cfg->machine_seconds;
	o.policy = &c->cfg->feedback;
	o.log = so.log;
	o.behind_proxy = so.behind_proxy;
	/* Blocked before any thread starts, so every thread inherits the
	   mask and only sigwait() below sees the signal. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (trackd_start(&o, &d, &e) < 0 || serve_webhooks(c, &wf, &e) < 0) {
		trackd_stop(d);
		return cli_fail(c, &e);
	}
	fprintf(stderr, "listening on %s\n", trackd_address(d));
	while (sigwait(&stop, &sig) != 0)
		;
	/* Requests under way finish; the flusher gets its grace. */
	trackd_stop(d);
	webhook_flusher_stop(wf, NULL);
	return 0;
}

const struct cli_cmd cmd_track[] = {
	{ "serve", track_serve, "the tracking server: opens, clicks, "
	  "unsubscribes",
	  "serve [--listen ADDR:PORT] [--log] [--behind-proxy]\n\n"
	  "Serves the open pixel (/o/TOKEN.gif), tracked links (/c/TOKEN),\n"
	  "the unsubscribe page and RFC 8058 one-click unsubscribe\n"
	  "(/u/TOKEN) and /healthz, and records what it sees while sends\n"
	  "run in other processes. Runs in the foreground until SIGTERM or\n"
	  "SIGINT; prints \"listening on ADDR:PORT\" on stderr once it\n"
	  "accepts requests. Sends the configured webhooks' calls too.\n\n"
	  "  --listen ADDR:PORT  where to listen (default: tracking.listen,\n"
	  "                      else 127.0.0.1:8080): an IP literal, IPv6\n"
	  "                      in brackets ([::1]:8080); port 0: any\n"
	  "  --log               one line per request on stderr: method,\n"
	  "                      path (tokens cut to 8 characters), status\n"
	  "  --behind-proxy      the client address (only to spot Apple's\n"
	  "                      prefetching relays; never stored) is the\n"
	  "                      last X-Forwarded-For entry: only behind a\n"
	  "                      reverse proxy of your own that sets it\n\n"
	  "Run it behind a TLS-terminating reverse proxy serving\n"
	  "tracking.base_url.\n\n"
	  "example: postbote track serve --listen 127.0.0.1:8080 --log\n" },
	{ NULL, NULL, NULL, NULL }
};
