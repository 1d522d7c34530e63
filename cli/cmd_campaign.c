/*
 * cmd_campaign.c - postbote campaign create|show|ls|schedule|start|pause|
 * resume|cancel.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "addr.h"
#include "campaign.h"
#include "cli.h"
#include "config.h"
#include "mime.h"
#include "render.h"
#include "send.h"
#include "store.h"
#include "xalloc.h"

static void
audience_say(struct cli *c, const struct audience *a, const char *seg)
{
	if (!c->tty) {
		out_kv("members=%lld matching=%lld suppressed=%lld "
		    "eligible=%lld", (long long)a->members,
		    (long long)a->matching, (long long)a->suppressed,
		    (long long)a->eligible);
		return;
	}
	printf("audience now: %lld of %lld members%s, %lld of them "
	    "suppressed: %lld would receive it\n", (long long)a->matching,
	    (long long)a->members, seg ? " match the segment" : "",
	    (long long)a->suppressed, (long long)a->eligible);
}

struct create_args {
	struct campaign_spec spec;
	const char *from;
	const char *reply;
	const char *when;
	struct mailbox mfrom;
	struct mailbox mreply;
	json_t *options;	/* built from the message option flags */
	const char *after;	/* --after, of a follow-up */
	struct campaign_variant_spec variants[AB_MAX - 1];
	const char *test_wait;	/* --test-wait */
	int ab_flags;		/* --test-share, --test-wait or --winner */
	const char *hours;	/* --send-window */
	const char *tz;		/* --timezone */
	char *inherited[5];	/* a follow-up's parent's list, template,
				   From name and address, Reply-To */
};

/* --header 'Name: value': checked now, stored as [name, value]. */
static int
create_header(struct cli *c, struct create_args *a, const char *arg)
{
	const char *colon = strchr(arg, ':');
	json_t *headers = json_object_get(a->options, "headers");
	char name[128];
	struct err e;

	if (colon == NULL || colon == arg || (size_t)(colon - arg) >=
	    sizeof(name))
		return cli_usage(c, "--header wants 'Name: value'");
	snprintf(name, sizeof(name), "%.*s", (int)(colon - arg), arg);
	colon++;
	colon += strspn(colon, " \t");
	if (mime_check_header(name, colon, &e) < 0) {
		err_prefix(&e, "--header");
		return cli_fail(c, &e);
	}
	if (headers == NULL) {
		headers = json_array();
		json_object_set_new(a->options, "headers", headers);
	}
	return json_array_append_new(headers, json_pack("[s, s]", name,
	    colon)) == 0 ? 0 : EX_SOFTWARE;
}

/* --variant-subject, --variant-template, --test-share, --test-wait,
 * --winner. */
static int
create_ab_flag(struct cli *c, struct create_args *a, int ch, const char *arg)
{
	int64_t share;
	int rc;

	switch (ch) {
	case 'B':
	case 'T':
		if (a->spec.nvariants == AB_MAX - 1)
			return cli_usage(c, "an A/B test has at most %d "
			    "variants", AB_MAX);
		if (ch == 'B' && (rc = cli_utf8(c, "--variant-subject",
		    arg)) != 0)
			return rc;
		a->variants[a->spec.nvariants].subject = ch == 'B' ? arg : NULL;
		a->variants[a->spec.nvariants++].template_name = ch == 'T' ?
		    arg : NULL;
		return 0;
	case 'h':
		if (cli_number(c, "--test-share", arg, &share) != 0)
			return EX_USAGE;
		if (share < 1 || share > 90)
			return cli_usage(c, "--test-share is 1 to 90 (percent)");
		a->spec.ab_share = (int)share;
		break;
	case 'w':
		a->test_wait = arg;
		break;
	default:
		if (strcmp(arg, "opens") != 0 && strcmp(arg, "clicks") != 0)
			return cli_usage(c, "--winner is opens or clicks");
		a->spec.ab_metric = arg;
		break;
	}
	a->ab_flags = 1;
	return 0;
}

/* What the A/B, window and follow-up flags need of each other. */
static int
create_flags_check(struct cli *c, struct create_args *a)
{
	if (a->spec.nvariants == 0 && a->ab_flags)
		return cli_usage(c, "--test-share, --test-wait and --winner "
		    "go with --variant-subject or --variant-template");
	a->spec.variants = a->variants;
	if (a->test_wait != NULL && config_duration(a->test_wait,
	    &a->spec.ab_wait) < 0)
		return cli_usage(c, "--test-wait wants a duration such as "
		    "\"30m\" or \"4h\"");
	if (a->tz != NULL && a->hours == NULL)
		return cli_usage(c, "--timezone goes with --send-window");
	if (a->spec.follow_up_of == NULL && (a->spec.follow_up_audience !=
	    NULL || a->after != NULL))
		return cli_usage(c, "--audience and --after go with "
		    "--follow-up-of");
	if (a->spec.follow_up_of != NULL && (a->spec.follow_up_audience ==
	    NULL || a->after == NULL))
		return cli_usage(c, "a follow-up needs --audience and --after");
	if (a->spec.follow_up_of != NULL && a->when != NULL)
		return cli_usage(c, "a follow-up is due --after its parent "
		    "finished; it takes no --schedule");
	if (a->spec.follow_up_of == NULL && (a->spec.list == NULL ||
	    a->spec.template_name == NULL || a->from == NULL))
		return cli_usage(c, "--list, --template and --from are "
		    "required");
	return 0;
}

/* --send-window [--timezone]: checked now, stored as the window option. */
static int
create_window(struct cli *c, struct create_args *a)
{
	struct send_window sw;
	struct err e;
	json_t *w;

	if (a->hours == NULL)
		return 0;
	if (window_parse(a->hours, &sw, &e) < 0)
		return cli_usage(c, "--send-window: %s", e.msg);
	if (a->tz != NULL && !window_tz_known(a->tz))
		return cli_usage(c, "--timezone: no time zone \"%s\" (an IANA "
		    "name, e.g. Europe/Berlin)", a->tz);
	w = json_pack("{s:s}", "hours", a->hours);
	if (a->tz != NULL)
		json_object_set_new(w, "timezone", json_string(a->tz));
	json_object_set_new(a->options, "window", w);
	return 0;
}

static int
create_getopt(struct cli *c, int argc, char **argv, struct create_args *a)
{
	static const struct option opts[] = {
		{ "list", required_argument, NULL, 'l' },
		{ "template", required_argument, NULL, 't' },
		{ "from", required_argument, NULL, 'f' },
		{ "reply-to", required_argument, NULL, 'r' },
		{ "segment", required_argument, NULL, 's' },
		{ "schedule", required_argument, NULL, 'S' },
		{ "strict-variables", no_argument, NULL, 'V' },
		{ "header", required_argument, NULL, 'H' },
		{ "list-id", required_argument, NULL, 'I' },
		{ "feedback-id", required_argument, NULL, 'F' },
		{ "follow-up-of", required_argument, NULL, 'P' },
		{ "audience", required_argument, NULL, 'A' },
		{ "after", required_argument, NULL, 'a' },
		{ "send-window", required_argument, NULL, 'W' },
		{ "timezone", required_argument, NULL, 'Z' },
		{ "variant-subject", required_argument, NULL, 'B' },
		{ "variant-template", required_argument, NULL, 'T' },
		{ "test-share", required_argument, NULL, 'h' },
		{ "test-wait", required_argument, NULL, 'w' },
		{ "winner", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 }
	};
	int ch, rc;

	a->spec.ab_share = 20;
	a->spec.ab_wait = 4 * 3600 * 1000;
	a->spec.ab_metric = "opens";
	while ((ch = cli_getopt(c, argc, argv,
	    "l:t:f:r:s:S:VH:I:F:P:A:a:W:Z:B:T:h:w:N:", opts)) != -1) {
		switch (ch) {
		case 'l': a->spec.list = optarg; break;
		case 't': a->spec.template_name = optarg; break;
		case 'f': a->from = optarg; break;
		case 'r': a->reply = optarg; break;
		case 's': a->spec.segment = optarg; break;
		case 'S': a->when = optarg; break;
		case 'P': a->spec.follow_up_of = optarg; break;
		case 'A': a->spec.follow_up_audience = optarg; break;
		case 'a': a->after = optarg; break;
		case 'W': a->hours = optarg; break;
		case 'Z': a->tz = optarg; break;
		case 'B': case 'T': case 'h': case 'w': case 'N':
			if ((rc = create_ab_flag(c, a, ch, optarg)) != 0)
				return rc;
			break;
		case 'V':
			json_object_set_new(a->options, "variables",
			    json_string("strict"));
			break;
		case 'I':
		case 'F':
			if ((rc = cli_utf8(c, "--list-id/--feedback-id",
			    optarg)) != 0)
				return rc;
			json_object_set_new(a->options, ch == 'I' ? "list_id" :
			    "feedback_id", json_string(optarg));
			break;
		case 'H':
			if ((rc = create_header(c, a, optarg)) != 0)
				return rc;
			break;
		default: return EX_USAGE;
		}
	}
	if (cli_args(c, argc, argv, 1, "NAME") != 0)
		return EX_USAGE;
	if ((rc = create_flags_check(c, a)) != 0 ||
	    (rc = create_window(c, a)) != 0)
		return rc;
	a->spec.name = argv[optind];
	return cli_utf8(c, "--segment", a->spec.segment);
}

/* Addresses, the schedule time and the options, before any store work. */
static int
create_check(struct create_args *a, struct err *e)
{
	struct campaign_options o;

	if (a->after != NULL && config_duration(a->after,
	    &a->spec.follow_up_after) < 0)
		return err_set(e, EX_USAGE, "--after wants a duration such as "
		    "\"12h\" or \"3d\"");
	if (a->from != NULL) {
		if (addr_parse_mailbox(a->from, &a->mfrom, e) < 0) {
			err_prefix(e, "--from");
			return -1;
		}
		a->spec.from_name = a->mfrom.name;
		a->spec.from_addr = a->mfrom.addr.address;
	}
	if (a->reply != NULL) {
		if (addr_parse_mailbox(a->reply, &a->mreply, e) < 0) {
			err_prefix(e, "--reply-to");
			return -1;
		}
		a->spec.reply_to = a->mreply.addr.address;
	}
	if (a->when != NULL && campaign_parse_time(a->when, store_now_ms(),
	    &a->spec.scheduled_at, e) < 0) {
		err_prefix(e, "--schedule");
		return -1;
	}
	a->spec.options = json_dumps(a->options, JSON_COMPACT);
	if (campaign_options_parse(a->spec.options, &o, e) < 0)
		return -1;
	campaign_options_free(&o);
	return 0;
}

/* What a follow-up does not say, it takes from its parent. */
static int
inherit(const struct campaign_info *ci, void *ctx)
{
	struct create_args *a = ctx;

	if (a->spec.list == NULL)
		a->spec.list = a->inherited[0] = xstrdup(ci->list);
	if (a->spec.template_name == NULL)
		a->spec.template_name = a->inherited[1] =
		    xstrdup(ci->template_name);
	if (a->spec.from_addr == NULL) {
		a->spec.from_name = a->inherited[2] = xstrdup(ci->from_name);
		a->spec.from_addr = a->inherited[3] = xstrdup(ci->from_addr);
	}
	if (a->reply == NULL && ci->reply_to != NULL)
		a->spec.reply_to = a->inherited[4] = xstrdup(ci->reply_to);
	return 0;
}

/* Each variant compiles, its subject in its template's setting. */
static int
create_variants_check(struct store *st, struct cli *c,
    const struct create_args *a, struct err *e)
{
	const struct campaign_variant_spec *v;
	struct render *r;
	int64_t id;
	int i;

	for (i = 0; i < a->spec.nvariants; i++) {
		v = &a->variants[i];
		if (render_load_subject(st, c->cfg, NULL, v->template_name ?
		    v->template_name : a->spec.template_name, 0, v->subject,
		    &r, &id, e) < 0) {
			err_prefix(e, "variant %c", 'B' + i);
			return -1;
		}
		render_close(r);
	}
	return 0;
}

static int
camp_create(struct cli *c, int argc, char **argv)
{
	struct create_args a = { 0 };
	struct render *r = NULL;
	struct audience aud;
	struct store *st = NULL;
	int64_t id;
	size_t i;
	struct err e;
	int rc;

	a.options = json_object();
	if ((rc = create_getopt(c, argc, argv, &a)) != 0)
		goto out;
	if (create_check(&a, &e) < 0) {
		rc = cli_fail(c, &e);
		goto out;
	}
	if ((rc = cli_open(c, &st)) != 0)
		goto out;
	/* The template must compile before a campaign can name it. */
	if ((a.spec.follow_up_of != NULL && store_campaign_get(st,
	    a.spec.follow_up_of, inherit, &a, &e) < 0) ||
	    render_load(st, c->cfg, NULL, a.spec.template_name, 0, &r, &id,
	    &e) < 0 || create_variants_check(st, c, &a, &e) < 0 ||
	    store_campaign_create(st, &a.spec, &aud, &e) < 0) {
		rc = cli_fail(c, &e);
		goto out;
	}
	if (a.spec.follow_up_of != NULL)
		out_say(c, "created campaign %s (scheduled: %s after %s "
		    "finishes, to its %s recipients)", a.spec.name, a.after,
		    a.spec.follow_up_of, a.spec.follow_up_audience);
	else
		out_say(c, "created campaign %s (%s)", a.spec.name,
		    a.spec.scheduled_at ? "scheduled" : "draft");
	audience_say(c, &aud, a.spec.segment);
out:
	render_close(r);
	store_close(st);
	free((char *)a.spec.options);
	json_decref(a.options);
	for (i = 0; i < sizeof(a.inherited) / sizeof(a.inherited[0]); i++)
		free(a.inherited[i]);
	return rc;
}

struct show_ctx {
	struct cli *c;
	struct store *st;
	int json;
	struct jarr arr;
	struct table t;
	json_t *counts;
	int failed;
	struct err e;
};

static int
show_count(const char *status, int64_t n, void *ctx)
{
	struct show_ctx *sc = ctx;

	if (sc->counts != NULL)
		return json_object_set_new(sc->counts, status, json_integer(n));
	if (sc->c->tty)
		printf("  %-11s %lld\n", status, (long long)n);
	else
		out_kv("deliveries.%s=%lld", status, (long long)n);
	return 0;
}

static json_t *
campaign_info_json(const struct campaign_info *ci)
{
	return json_pack("{s:s, s:s, s:s?, s:s, s:s?, s:s, s:i, s:s, s:s, "
	    "s:s?, s:o, s:o, s:o, s:o}", "name", ci->name, "status",
	    ci->status, "paused_reason", ci->paused_reason,
	    "list", ci->list, "segment", ci->segment, "template",
	    ci->template_name, "template_version", ci->template_version,
	    "from_name", ci->from_name, "from", ci->from_addr, "reply_to",
	    ci->reply_to, "scheduled", out_json_time(ci->scheduled_at),
	    "started", out_json_time(ci->started_at), "finished",
	    out_json_time(ci->finished_at), "created",
	    out_json_time(ci->created_at));
}

static json_t *
campaign_json(const struct campaign_info *ci)
{
	json_t *o = campaign_info_json(ci);

	if (o != NULL && ci->ab_share > 0)
		json_object_set_new(o, "ab_test", json_pack("{s:i, s:s, s:I, "
		    "s:o}", "share", ci->ab_share, "metric", ci->ab_metric,
		    "wait_seconds", (json_int_t)(ci->ab_wait / 1000), "winner",
		    ci->ab_winner >= 0 ? json_sprintf("%c", 'A' +
		    ci->ab_winner) : json_null()));
	if (o != NULL && ci->follow_up_of != NULL)
		json_object_set_new(o, "follow_up", json_pack("{s:s, s:s, s:I, "
		    "s:o}", "of", ci->follow_up_of, "audience",
		    ci->follow_up_audience, "after_seconds",
		    (json_int_t)(ci->follow_up_after / 1000), "due",
		    out_json_time(ci->follow_up_due)));
	return o;
}

static void
show_text(const struct campaign_info *ci)
{
	char t1[32];

	printf("campaign    %s (%s)\n", ci->name, ci->status);
	if (ci->paused_reason != NULL)
		printf("paused      by itself: %s\n", ci->paused_reason);
	printf("list        %s%s%s\n", ci->list, ci->segment ? ", segment: " :
	    "", ci->segment ? ci->segment : "");
	printf("template    %s version %d\n", ci->template_name,
	    ci->template_version);
	if (ci->from_name[0] != '\0')
		printf("from        %s <%s>\n", ci->from_name, ci->from_addr);
	else
		printf("from        %s\n", ci->from_addr);
	if (ci->reply_to != NULL)
		printf("reply-to    %s\n", ci->reply_to);
	printf("created     %s\n", out_time(ci->created_at, t1, sizeof(t1)));
	if (ci->scheduled_at)
		printf("scheduled   %s\n", out_time(ci->scheduled_at, t1,
		    sizeof(t1)));
	if (ci->started_at)
		printf("started     %s\n", out_time(ci->started_at, t1,
		    sizeof(t1)));
	if (ci->finished_at)
		printf("finished    %s\n", out_time(ci->finished_at, t1,
		    sizeof(t1)));
	if (ci->ab_share > 0) {
		char won[16] = "not decided yet";

		if (ci->ab_winner >= 0)
			snprintf(won, sizeof(won), "%c won", 'A' +
			    ci->ab_winner);
		printf("A/B test    %d%% of the audience, winner by %s %lld s "
		    "after the test: %s\n", ci->ab_share, ci->ab_metric,
		    (long long)(ci->ab_wait / 1000), won);
	}
	if (ci->follow_up_of == NULL)
		return;
	printf("follows up  %s: its %s recipients, %lld s after it "
	    "finished\n", ci->follow_up_of, ci->follow_up_audience,
	    (long long)(ci->follow_up_after / 1000));
	if (ci->follow_up_due)
		printf("due         %s\n", out_time(ci->follow_up_due, t1,
		    sizeof(t1)));
	else if (ci->started_at == 0)
		printf("due         when %s has finished\n", ci->follow_up_of);
}

/*
 * Before a campaign starts, show who it would reach now; after, the
 * deliveries its audience became.
 */
static int
show_one(const struct campaign_info *ci, void *ctx)
{
	struct show_ctx *sc = ctx;
	struct audience aud;
	json_t *obj = NULL;
	int started = ci->started_at != 0;

	if (sc->json)
		obj = campaign_json(ci);
	else if (sc->c->tty)
		show_text(ci);
	else {
		out_kv("name=%s status=%s list=%s template=%s version=%d",
		    ci->name, ci->status, ci->list, ci->template_name,
		    ci->template_version);
		if (ci->ab_share > 0)
			out_kv("ab_share=%d ab_metric=%s ab_wait=%lld "
			    "ab_winner=%c", ci->ab_share, ci->ab_metric,
			    (long long)(ci->ab_wait / 1000), ci->ab_winner >= 0 ?
			    'A' + ci->ab_winner : '-');
		if (ci->follow_up_of != NULL)
			out_kv("follow_up_of=%s audience=%s after=%lld due=%lld",
			    ci->follow_up_of, ci->follow_up_audience,
			    (long long)(ci->follow_up_after / 1000),
			    (long long)(ci->follow_up_due / 1000));
		/* Free text last on its own line, as the log's reply is. */
		if (ci->paused_reason != NULL)
			printf("paused_reason=%s\n", ci->paused_reason);
	}
	if (!started && strcmp(ci->status, "cancelled") != 0) {
		if (store_campaign_audience(sc->st, ci, &aud, &sc->e) < 0)
			goto fail;
		if (obj != NULL)
			json_object_set_new(obj, "audience", json_pack("{s:I, "
			    "s:I, s:I, s:I}", "members",
			    (json_int_t)aud.members, "matching",
			    (json_int_t)aud.matching, "suppressed",
			    (json_int_t)aud.suppressed, "eligible",
			    (json_int_t)aud.eligible));
		else
			audience_say(sc->c, &aud, ci->segment);
	}
	if (started) {
		if (obj != NULL)
			sc->counts = json_object();
		else if (sc->c->tty)
			printf("deliveries\n");
		if (store_delivery_counts(sc->st, ci->id, show_count, sc,
		    &sc->e) < 0)
			goto fail;
		if (obj != NULL)
			json_object_set_new(obj, "deliveries", sc->counts);
		sc->counts = NULL;
	}
	if (obj != NULL)
		out_json(sc->c, obj);
	return 0;
fail:
	json_decref(obj);
	json_decref(sc->counts);
	sc->failed = 1;
	return -1;
}

static int
camp_show(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 }
	};
	struct show_ctx sc = { .c = c };
	struct err e;
	int ch, rc;

	while ((ch = cli_getopt(c, argc, argv, "j", opts)) != -1)
		if (ch == 'j')
			sc.json = 1;
		else
			return EX_USAGE;
	if (cli_args(c, argc, argv, 1, "NAME") != 0)
		return EX_USAGE;
	if ((rc = cli_open(c, &sc.st)) != 0)
		return rc;
	if (store_campaign_get(sc.st, argv[optind], show_one, &sc, &e) < 0)
		rc = cli_fail(c, sc.failed ? &sc.e : &e);
	store_close(sc.st);
	return rc;
}

static int
ls_one(const struct campaign_info *ci, void *ctx)
{
	struct show_ctx *sc = ctx;
	char version[16], t1[32], t2[32];
	const char *cells[6];

	if (sc->json)
		return out_jarr_add(&sc->arr, campaign_json(ci));
	snprintf(version, sizeof(version), "%s v%d", ci->template_name,
	    ci->template_version);
	cells[0] = ci->name;
	cells[1] = ci->status;
	cells[2] = ci->list;
	cells[3] = version;
	cells[4] = out_time(ci->scheduled_at, t1, sizeof(t1));
	cells[5] = out_time(ci->created_at, t2, sizeof(t2));
	return out_table_row(&sc->t, cells);
}

static int
camp_ls(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 }
	};
	static const char *head[] = { "CAMPAIGN", "STATUS", "LIST",
	    "TEMPLATE", "SCHEDULED", "CREATED" };
	struct show_ctx sc = { .c = c };
	struct err e;
	int ch, rc;

	while ((ch = cli_getopt(c, argc, argv, "j", opts)) != -1)
		if (ch == 'j')
			sc.json = 1;
		else
			return EX_USAGE;
	if (cli_args(c, argc, argv, 0, "no arguments") != 0)
		return EX_USAGE;
	if ((rc = cli_open(c, &sc.st)) != 0)
		return rc;
	if (sc.json)
		out_jarr_begin(&sc.arr);
	else
		out_table_begin(&sc.t, c->tty, 6, head);
	if (store_campaign_each(sc.st, ls_one, &sc, &e) < 0)
		rc = cli_fail(c, &e);
	if (sc.json)
		out_jarr_end(&sc.arr);
	else
		out_table_end(&sc.t);
	store_close(sc.st);
	return rc;
}

/* schedule, pause, resume, cancel */
static int
camp_action(struct cli *c, int argc, char **argv, const char *action)
{
	static const struct option opts[] = {
		{ "at", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 }
	};
	int64_t at = 0;
	const char *status, *when = NULL;
	struct store *st;
	struct err e;
	int ch, rc, sched = strcmp(action, "schedule") == 0, nargs;

	while ((ch = cli_getopt(c, argc, argv, "", opts)) != -1) {
		if (ch != 'a' || !sched)
			return EX_USAGE;
		when = optarg;
	}
	/* "schedule NAME TIME", or "schedule NAME --at TIME". */
	nargs = sched && when == NULL ? 2 : 1;
	if (cli_args(c, argc, argv, nargs, nargs == 2 ? "NAME TIME" :
	    "NAME") != 0)
		return EX_USAGE;
	if (sched && when == NULL)
		when = argv[optind + 1];
	if (sched && campaign_parse_time(when, store_now_ms(), &at, &e) < 0)
		return cli_fail(c, &e);
	if ((rc = cli_open(c, &st)) != 0)
		return rc;
	if (store_campaign_action(st, argv[optind], action, at, &status,
	    &e) < 0)
		rc = cli_fail(c, &e);
	else if (c->tty)
		printf("campaign %s is %s\n", argv[optind], status);
	else
		out_kv("status=%s", status);
	store_close(st);
	return rc;
}

static int
camp_schedule(struct cli *c, int argc, char **argv)
{
	return camp_action(c, argc, argv, "schedule");
}

static int
camp_pause(struct cli *c, int argc, char **argv)
{
	return camp_action(c, argc, argv, "pause");
}

static int
camp_resume(struct cli *c, int argc, char **argv)
{
	return camp_action(c, argc, argv, "resume");
}

static int
camp_cancel(struct cli *c, int argc, char **argv)
{
	return camp_action(c, argc, argv, "cancel");
}

static int
camp_start(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = { { NULL, 0, NULL, 0 } };
	struct store *st;
	int64_t created;
	struct err e;
	int ch, rc;

	while ((ch = cli_getopt(c, argc, argv, "", opts)) != -1)
		return EX_USAGE;
	if (cli_args(c, argc, argv, 1, "NAME") != 0)
		return EX_USAGE;
	if ((rc = cli_open(c, &st)) != 0)
		return rc;
	if (send_start(st, c->cfg, argv[optind], &created, &e) < 0)
		rc = cli_fail(c, &e);
	else if (c->tty)
		printf("campaign %s is running: %lld deliveries queued\n",
		    argv[optind], (long long)created);
	else
		out_kv("status=running deliveries=%lld", (long long)created);
	store_close(st);
	return rc;
}

const struct cli_cmd cmd_campaign[] = {
	{ "create", camp_create, "create a campaign (a draft, or scheduled)",
	  "create NAME --list LIST --template NAME --from 'Name <address>'\n"
	  "       [--segment EXPR] [--reply-to ADDRESS] [--schedule TIME]\n"
	  "create NAME --follow-up-of CAMPAIGN --audience AUDIENCE --after "
	  "DURATION\n"
	  "       [--template NAME] [--from ...] [--list ...] [--segment ...]\n\n"
	  "Pins the template's newest version and reports how many recipients\n"
	  "the list and segment reach now; the audience itself is resolved when\n"
	  "the campaign starts. A segment filters on attributes:\n\n"
	  "  --segment \"country = 'DE' and plan in ('pro', 'team')\"\n"
	  "  --segment \"seats >= 5 and not (trial is set)\"\n\n"
	  "TIME: 'YYYY-MM-DD HH:MM' (local), ISO 8601 with Z or an offset, "
	  "now, +2h.\n\n"
	  "Message options:\n"
	  "  --strict-variables   a recipient missing a variable fails (and the\n"
	  "                       campaign goes on); default: it renders empty\n"
	  "  --header 'N: V'      a custom header (repeatable, up to 32)\n"
	  "  --list-id TEXT       List-Id, e.g. 'News <news.example.com>'\n"
	  "  --feedback-id TEXT   Feedback-ID, e.g. 'nov:newsletter:acme'\n"
	  "  --send-window HH:MM-HH:MM\n"
	  "                       deliver only in these hours of the recipient's\n"
	  "                       day (attribute \"timezone\", an IANA name), else\n"
	  "                       of the campaign's; the rest waits for a later\n"
	  "                       send (cron). 22:00-06:00 runs over midnight\n"
	  "  --timezone NAME      the campaign's zone, e.g. Europe/Berlin;\n"
	  "                       default: the machine's\n\n"
	  "A/B test (2 to 4 variants; the campaign's template is A):\n"
	  "  --variant-subject S  one more variant: the template, subject S\n"
	  "  --variant-template T one more variant: template T, its subject\n"
	  "  --test-share PCT     the test's share of the audience, split evenly\n"
	  "                       (default 20)\n"
	  "  --test-wait DURATION after the test's last delivery, before the\n"
	  "                       winner is picked (default 4h)\n"
	  "  --winner opens|clicks  by unique human opens (default) or clicks\n"
	  "                       per delivered message; the rest gets it\n\n"
	  "A follow-up is due DURATION ('12h', '3d') after CAMPAIGN finished\n"
	  "(`send --due` starts it) and goes to those CAMPAIGN delivered to who\n"
	  "opened, not-opened, clicked or not-clicked it, as they stand when it\n"
	  "starts; opens and clicks a machine made (a proxy, a scanner) do not\n"
	  "count, and a click counts as an open. The list, template, From and\n"
	  "Reply-To are the parent's unless given.\n" },
	{ "show", camp_show, "a campaign, its audience or its deliveries",
	  "show NAME [--json]\n" },
	{ "ls", camp_ls, "all campaigns", "ls [--json]\n" },
	{ "schedule", camp_schedule, "schedule a draft",
	  "schedule NAME TIME | schedule NAME --at TIME\n\nTIME: 'YYYY-MM-DD "
	  "HH:MM' (local), ISO 8601 with Z or an offset, now, +2h.\n"
	  "`postbote send --due` (cron) starts it when the time comes.\n" },
	{ "start", camp_start, "start now: resolve the audience into deliveries",
	  "start NAME\n\n"
	  "Marks a draft or scheduled campaign running and creates one pending\n"
	  "delivery per eligible recipient (list members matching the segment,\n"
	  "minus suppressions), in one transaction.\n" },
	{ "pause", camp_pause, "pause a scheduled or running campaign",
	  "pause NAME\n" },
	{ "resume", camp_resume, "resume a paused campaign", "resume NAME\n" },
	{ "cancel", camp_cancel, "cancel a campaign for good", "cancel NAME\n" },
	{ NULL, NULL, NULL, NULL }
};
