/*
 * cmd_send.c - postbote send CAMPAIGN.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "cli.h"
#include "lint.h"
#include "plan.h"
#include "send.h"
#include "store.h"
#include "webhook.h"
#include "xalloc.h"

static volatile sig_atomic_t send_stop;

static void
send_on_signal(int sig)
{
	(void)sig;
	if (send_stop < 2)
		send_stop++;
}

static const char send_usage[] =
    "usage: postbote send CAMPAIGN [--no-dkim] [--force] [--workers N] "
    "[--log FILE | --quiet]\n"
    "       postbote send --due [...]\n"
    "       postbote send CAMPAIGN --dry-run\n\n"
    "Delivers the campaign's pending deliveries: starts it first when it\n"
    "is a draft or a scheduled campaign that is due, renders and DKIM-signs\n"
    "one message per recipient and sends it to the recipient domain's MX\n"
    "hosts, a configured route or the relay (see postbote.json). Every\n"
    "delivery ends delivered, deferred (left for a later send) or bounced.\n\n"
    "  --due          every campaign with work due now (scheduled ones whose\n"
    "                 time has come, running ones with pending or retries\n"
    "                 due), one after another: the cron entry. A campaign\n"
    "                 another send holds is skipped\n"
    "  --dry-run      the plan, nothing sent: recipients per domain, where\n"
    "                 their mail goes (route, relay, MX and its provider), the\n"
    "                 shaping that applies and the least time it takes\n"
    "  --no-dkim      send unsigned when no DKIM key covers the From domain\n"
    "  --force        send even when a content check fails (see `postbote\n"
    "                 lint`); without it a campaign that fails one is refused\n"
    "                 (exit 65) before its first message\n"
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

	if (r->stopped_why[0])
		fprintf(stderr, "postbote send: campaign %s paused itself: %s; "
		    "'postbote campaign resume %s' when the cause is dealt "
		    "with\n", o->campaign, r->stopped_why, o->campaign);

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
send_dry_run(struct cli *c, struct store *st, const char *campaign)
{
	struct plan p;
	struct err e;
	int k;

	if (plan_build(st, c->cfg, campaign, &p, &e) < 0)
		return cli_fail(c, &e);
	if (!c->tty) {
		printf("total=%lld domains=%lld draft=%d seconds=%.0f\n",
		    (long long)p.total, (long long)p.domains, p.draft,
		    p.seconds);
		for (k = 0; k < p.ntop; k++)
			printf("domain=%s recipients=%lld via=%s provider=%s "
			    "rate=%.3f connections=%d seconds=%.0f\n",
			    p.top[k].domain, (long long)p.top[k].n,
			    p.top[k].via, p.top[k].provider ?
			    p.top[k].provider : "-", p.top[k].rate,
			    p.top[k].connections, p.top[k].seconds);
		return 0;
	}
	printf("campaign %s: %lld %s over %lld domains%s\n", campaign,
	    (long long)p.total, p.draft ? "list members" : "deliveries due",
	    (long long)p.domains, p.draft ? " (before the segment and "
	    "suppressions; the start resolves them)" : "");
	printf("%-28s %9s  %-28s %-10s %8s %5s %8s\n", "domain", "count",
	    "via", "provider", "rate/s", "conns", "minutes");
	for (k = 0; k < p.ntop; k++)
		printf("%-28s %9lld  %-28s %-10s %8.2f %5d %8.1f\n",
		    p.top[k].domain, (long long)p.top[k].n, p.top[k].via,
		    p.top[k].provider ? p.top[k].provider : "-",
		    p.top[k].rate > 0 ? p.top[k].rate : 0,
		    p.top[k].connections, p.top[k].seconds / 60);
	if (p.domains > p.ntop)
		printf("... and %lld smaller domains\n",
		    (long long)(p.domains - p.ntop));
	printf("at least %.1f minutes, set by %s (throttling replies and "
	    "retries only add)\n", p.seconds / 60, p.seconds > 0 ? p.bound :
	    "nothing: no rate limit applies");
	return 0;
}

/* ------------------------------------------------------------ the lint gate */

struct lint_gate {
	int64_t id;
	int open;		/* draft, scheduled or running */
	int64_t attempted;	/* deliveries past pending */
};

static int
gate_campaign(const struct campaign_info *ci, void *ctx)
{
	struct lint_gate *g = ctx;

	g->id = ci->id;
	g->open = strcmp(ci->status, "draft") == 0 ||
	    strcmp(ci->status, "scheduled") == 0 ||
	    strcmp(ci->status, "running") == 0;
	return 0;
}

static int
gate_count(const char *status, int64_t n, void *ctx)
{
	struct lint_gate *g = ctx;

	if (strcmp(status, "pending") != 0 && strcmp(status, "suppressed") != 0)
		g->attempted += n;
	return 0;
}

/*
 * Whether the campaign is still before its first message: only then do
 * the checks hold a send back. Once one went out, later sends (retries,
 * a resumed run, cron) go on: what went out cannot be recalled, a forced
 * campaign must not stall in cron, and the template version is pinned.
 */
static int
gate_applies(struct store *st, const char *campaign)
{
	struct lint_gate g = { 0, 0, 0 };
	struct err e;

	if (store_campaign_get(st, campaign, gate_campaign, &g, &e) < 0 ||
	    !g.open)
		return 0;	/* the send itself says what is wrong */
	if (store_delivery_counts(st, g.id, gate_count, &g, &e) < 0)
		return 1;
	return g.attempted == 0;
}

static void
gate_log(FILE *log, const char *campaign, const struct lint_report *r,
    int force)
{
	char when[32];
	struct timespec ts;
	struct tm tm;
	int i, k = 0;

	if (log == NULL || log == stderr)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(log, "%s.%03ldZ campaign=%s lint=%s fails=%d rules=", when,
	    ts.tv_nsec / 1000000, campaign, force ? "forced" : "refused",
	    r->fails);
	for (i = 0; i < r->n; i++)
		if (r->f[i].severity == LINT_FAIL)
			fprintf(log, "%s%s", k++ ? "," : "", r->f[i].rule);
	fprintf(log, "\n");
	fflush(log);
}

/*
 * The content checks (lint.h) before a campaign's first message. A
 * failed check refuses the send (EX_DATAERR) unless force; the fails go
 * to stderr and a line to the log. from-no-dkim is left to the send's own
 * check (EX_CONFIG, lifted by --no-dkim, not by --force). A check that
 * cannot run (a template that does not render) leaves the verdict to
 * the send, which reports that error itself.
 */
static int
send_lint(struct cli *c, struct store *st, const char *campaign, int force,
    FILE *log)
{
	struct lint_target t = { 0 };
	struct lint_report r;
	struct err e;
	int i, rc = 0;

	if (!gate_applies(st, campaign))
		return 0;
	lint_report_init(&r);
	t.campaign = campaign;
	t.no_dkim = 1;
	if (lint_load(st, c->cfg, &t, &r, &e) < 0 || r.fails == 0)
		goto out;
	for (i = 0; i < r.n; i++)
		if (r.f[i].severity == LINT_FAIL)
			fprintf(stderr, "%s: campaign %s: fail %s: %s (fix: %s)\n",
			    c->prog, campaign, r.f[i].rule, r.f[i].message,
			    r.f[i].fix);
	gate_log(log, campaign, &r, force);
	if (force)
		fprintf(stderr, "%s: campaign %s: %d content check(s) failed; "
		    "sending anyway (--force)\n", c->prog, campaign, r.fails);
	else {
		fprintf(stderr, "%s: campaign %s: refused: %d content check(s) "
		    "failed (`postbote lint %s` shows every finding); fix them, "
		    "or send with --force\n", c->prog, campaign, r.fails,
		    campaign);
		rc = EX_DATAERR;
	}
out:
	lint_report_free(&r);
	return rc;
}

/* The checks as `send --dry-run` shows them: every finding, no verdict. */
static void
dry_run_lint(struct cli *c, struct store *st, const char *campaign,
    int no_dkim)
{
	struct lint_target t = { 0 };
	struct lint_report r;
	struct err e;
	int i;

	lint_report_init(&r);
	t.campaign = campaign;
	t.no_dkim = no_dkim;
	if (lint_load(st, c->cfg, &t, &r, &e) < 0) {
		printf("content checks: not run: %s\n", e.msg);
		goto out;
	}
	for (i = 0; i < r.n; i++)
		if (c->tty)
			printf("%s %s: %s (fix: %s)\n",
			    lint_severity_name(r.f[i].severity), r.f[i].rule,
			    r.f[i].message, r.f[i].fix);
		else
			printf("lint=%s rule=%s\n",
			    lint_severity_name(r.f[i].severity), r.f[i].rule);
	if (c->tty)
		printf("content checks: %d failed, %d warning(s)%s\n", r.fails,
		    r.warnings, r.fails > 0 && gate_applies(st, campaign) ?
		    "; the send would be refused without --force" : "");
	else
		printf("lint_fails=%d lint_warnings=%d\n", r.fails,
		    r.warnings);
out:
	lint_report_free(&r);
}

struct due_list {
	char **names;
	size_t n;
};

static int
due_add(const char *name, void *ctx)
{
	struct due_list *d = ctx;

	d->names = xrealloc(d->names, (d->n + 1) * sizeof(*d->names));
	d->names[d->n++] = xstrdup(name);
	return 0;
}

/*
 * The cron entry: every campaign with work due, one after another. One
 * another process is sending is skipped (its lease), not an error.
 */
static int
send_due(struct cli *c, struct store *st, struct send_opts *o, int force)
{
	struct due_list d = { NULL, 0 };
	struct send_result r;
	struct err e;
	size_t i;
	int rc = 0;

	if (store_campaigns_due(st, due_add, &d, &e) < 0)
		return cli_fail(c, &e);
	if (d.n == 0)
		out_say(c, "nothing is due\n");
	for (i = 0; i < d.n && !send_stop; i++) {
		o->campaign = d.names[i];
		if (!c->tty)
			printf("campaign=%s ", d.names[i]);
		if (send_lint(c, st, d.names[i], force, o->log) != 0) {
			if (!c->tty)
				printf("refused=lint\n");
			rc = EX_DATAERR;
		} else if (send_campaign(st, c->cfg, o, &r, &e) == 0)
			send_report(c, o, &r);
		else if (e.code == EX_TEMPFAIL) {
			if (!c->tty)
				printf("skipped=1\n");
			fprintf(stderr, "%s: skipped: %s\n", c->prog, e.msg);
		} else {
			if (!c->tty)
				printf("error=%d\n", e.code);
			rc = cli_fail(c, &e);
		}
	}
	for (i = 0; i < d.n; i++)
		free(d.names[i]);
	free(d.names);
	return rc;
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
		{ "due", no_argument, NULL, 'd' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	struct send_opts o = { 0 };
	struct send_result r;
	struct webhook_flusher *wf = NULL;
	struct store *st;
	struct err e = { 0 };
	const char *log = NULL;
	int64_t workers = 0;
	int ch, rc, quiet = 0, due = 0, dry = 0, force = 0;

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
		case 'd':
			due = 1;
			break;
		case 'n':
			dry = 1;
			break;
		case 'f':
			force = 1;
			break;
		default:
			return EX_USAGE;
		}
	}
	if (cli_args(c, argc, argv, due ? 0 : 1, due ? "no CAMPAIGN with "
	    "--due" : "CAMPAIGN") != 0)
		return EX_USAGE;
	o.campaign = due ? NULL : argv[optind];
	o.workers = (int)workers;
	o.stop = &send_stop;
	o.progress = c->tty ? stdout : NULL;
	if (dry && !due) {
		if ((rc = cli_open(c, &st)) != 0)
			return rc;
		rc = send_dry_run(c, st, o.campaign);
		if (rc == 0)
			dry_run_lint(c, st, o.campaign, o.no_dkim);
		store_close(st);
		return rc;
	}
	if ((rc = cli_log_open(c, log, quiet, &o.log)) != 0)
		return rc;
	if ((rc = cli_open(c, &st)) != 0)
		goto out;
	/* The webhooks hear of outcomes as the run goes, from a thread
	   with its own connection. */
	if (webhook_begin(st, c->db, c->cfg, o.log, &wf, &e) < 0) {
		rc = cli_fail(c, &e);
		store_close(st);
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);	/* a peer gone must not kill us */
	signal(SIGINT, send_on_signal);
	signal(SIGTERM, send_on_signal);
	if (due)
		rc = send_due(c, st, &o, force);
	else if ((rc = send_lint(c, st, o.campaign, force, o.log)) == 0) {
		if (send_campaign(st, c->cfg, &o, &r, &e) < 0)
			rc = cli_fail(c, &e);
		else
			send_report(c, &o, &r);
	}
	webhook_flusher_stop(wf, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	store_close(st);
out:
	if (o.log != NULL && o.log != stderr && o.log != stdout)
		fclose(o.log);
	return rc;
}
