/*
 * cmd_send.c - postbote send CAMPAIGN.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "send.h"
#include "store.h"

static volatile sig_atomic_t send_stop;

static void
send_on_signal(int sig)
{
	(void)sig;
	if (send_stop < 2)
		send_stop++;
}

static const char send_usage[] =
    "usage: postbote send CAMPAIGN [--no-dkim] [--workers N] "
    "[--log FILE | --quiet]\n\n"
    "Delivers the campaign's pending deliveries: starts it first when it\n"
    "is a draft or a scheduled campaign that is due, renders and DKIM-signs\n"
    "one message per recipient and sends it to the recipient domain's MX\n"
    "hosts, a configured route or the relay (see postbote.json). Every\n"
    "delivery ends delivered, deferred (left for a later send) or bounced.\n\n"
    "  --no-dkim      send unsigned when no DKIM key covers the From domain\n"
    "  --workers N    render and sign threads (default: the config's, else\n"
    "                 the number of cores)\n"
    "  --log FILE     append one line per delivery to FILE (\"-\": stdout);\n"
    "                 default stderr\n"
    "  --quiet        no line per delivery\n\n"
    "SIGINT or SIGTERM stops loading, finishes the messages on the wire (for\n"
    "at most 10 s; a second signal ends them at once, deferred) and leaves the\n"
    "rest pending for the next send.\n";

static void
send_report(struct cli *c, const struct send_opts *o,
    const struct send_result *r)
{
	const int64_t *n = r->stats.outcomes;
	int64_t sent = n[SCHED_DELIVERED] + n[SCHED_DEFERRED] +
	    n[SCHED_BOUNCED] + n[SCHED_FAILED];
	double rate = r->seconds > 0 ? (double)sent / r->seconds : 0;

	if (c->tty) {
		printf("campaign %s: %lld delivered, %lld deferred, %lld "
		    "bounced, %lld failed, %lld suppressed in %.1f s "
		    "(%.0f/s)\n", o->campaign,
		    (long long)n[SCHED_DELIVERED],
		    (long long)n[SCHED_DEFERRED],
		    (long long)n[SCHED_BOUNCED], (long long)n[SCHED_FAILED],
		    (long long)n[SCHED_SUPPRESSED], r->seconds, rate);
		if (n[SCHED_UNSENT] > 0)
			printf("stopped: %lld left pending\n",
			    (long long)n[SCHED_UNSENT]);
		printf("campaign %s is %s (%lld not final)\n", o->campaign,
		    r->done ? "done" : r->stopped_by[0] ? r->stopped_by :
		    "running", (long long)r->left);
		return;
	}
	out_kv("delivered=%lld deferred=%lld bounced=%lld failed=%lld "
	    "suppressed=%lld unsent=%lld left=%lld status=%s seconds=%.3f "
	    "connections=%lld",
	    (long long)n[SCHED_DELIVERED], (long long)n[SCHED_DEFERRED],
	    (long long)n[SCHED_BOUNCED], (long long)n[SCHED_FAILED],
	    (long long)n[SCHED_SUPPRESSED], (long long)n[SCHED_UNSENT],
	    (long long)r->left,
	    r->done ? "done" : r->stopped_by[0] ? r->stopped_by : "running",
	    r->seconds,
	    (long long)r->stats.connections);
}

static int
send_log_open(struct cli *c, const char *path, int quiet, FILE **out)
{
	*out = quiet ? NULL : stderr;
	if (path == NULL || quiet)
		return 0;
	if (strcmp(path, "-") == 0) {
		*out = stdout;
		return 0;
	}
	if ((*out = fopen(path, "ae")) == NULL) {
		fprintf(stderr, "%s: %s: %s\n", c->prog, path,
		    strerror(errno));
		return EX_CANTCREAT;
	}
	return 0;
}

int
cmd_send(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "no-dkim", no_argument, NULL, 'D' },
		{ "workers", required_argument, NULL, 'w' },
		{ "log", required_argument, NULL, 'l' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 }
	};
	struct send_opts o = { 0 };
	struct send_result r;
	struct store *st;
	struct err e;
	const char *log = NULL;
	int64_t workers = 0;
	int ch, rc, quiet = 0;

	while ((ch = cli_getopt(c, argc, argv, "h", opts)) != -1) {
		switch (ch) {
		case 'h':
			fputs(send_usage, stdout);
			return 0;
		case 'D':
			o.no_dkim = 1;
			break;
		case 'w':
			if (cli_number(c, "--workers", optarg, &workers) != 0)
				return EX_USAGE;
			if (workers < 1 || workers > LIMIT_WORKERS)
				return cli_usage(c, "--workers must be 1 to %d",
				    LIMIT_WORKERS);
			break;
		case 'l':
			log = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		default:
			return EX_USAGE;
		}
	}
	if (cli_args(c, argc, argv, 1, "CAMPAIGN") != 0)
		return EX_USAGE;
	o.campaign = argv[optind];
	o.workers = (int)workers;
	o.stop = &send_stop;
	if ((rc = send_log_open(c, log, quiet, &o.log)) != 0)
		return rc;
	if ((rc = cli_open(c, &st)) != 0)
		goto out;
	signal(SIGPIPE, SIG_IGN);	/* a peer gone must not kill us */
	signal(SIGINT, send_on_signal);
	signal(SIGTERM, send_on_signal);
	if (send_campaign(st, c->cfg, &o, &r, &e) < 0)
		rc = cli_fail(c, &e);
	else
		send_report(c, &o, &r);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	store_close(st);
out:
	if (o.log != NULL && o.log != stderr && o.log != stdout)
		fclose(o.log);
	return rc;
}
