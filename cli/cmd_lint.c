/*
 * cmd_lint.c - postbote lint CAMPAIGN|TEMPLATE: the content checks of
 * lint.h, one line per finding, exit 1 when any fails.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "addr.h"
#include "cli.h"
#include "lint.h"
#include "store.h"
#include "xalloc.h"

static const char lint_usage[] =
    "usage: postbote lint NAME [--campaign | --template] [--version N]\n"
    "       [--email ADDRESS | --attrs JSON] [--no-dkim] [--json]\n\n"
    "Checks a campaign (its template version with its From, options, the\n"
    "config's tracking and DKIM keys) or a template on its own for what\n"
    "sends mail to the spam folder or breaks its rendering: a missing\n"
    "unsubscribe link or header, a subject in capitals, with exclamation\n"
    "marks or trigger words, image-only mail, HTML that Gmail clips, plain\n"
    "http links, link texts showing another domain, URL shorteners, images\n"
    "without alt text, a From domain without a DKIM key, no text part.\n"
    "One line per finding: its severity (fail or warn), rule id, what\n"
    "tripped it and the fix. `postbote send` runs the same checks first.\n\n"
    "NAME is a campaign when one has that name, else a template.\n"
    "  --campaign, --template  say which NAME is\n"
    "  --version N     the template's version (default: the newest);\n"
    "                  implies --template\n"
    "  --email ADDRESS render for this stored recipient, or\n"
    "  --attrs JSON    for these attributes (default: none, so variables\n"
    "                  render empty)\n"
    "  --no-dkim       the send goes unsigned: from-no-dkim does not apply\n"
    "  --json          the findings as JSON\n\n"
    "Exit 0 when nothing fails (warnings allowed), 1 when a check fails,\n"
    "64 usage, 66 no such campaign or template.\n";

struct lint_opts {
	const char *name;
	int kind;		/* 0: find out, 'c' campaign, 't' template */
	int guessed;		/* kind was found out, not given */
	int64_t version;
	const char *email;
	const char *attrs;
	int no_dkim;
	int json;
	/* the sample recipient */
	char *address;
	json_t *jattrs;
};

static int
on_campaign(const struct campaign_info *ci, void *ctx)
{
	(void)ci;
	(void)ctx;
	return 0;
}

/* A campaign when one has the name (or --campaign), else a template. */
static int
lint_kind(struct store *st, struct lint_opts *o, struct err *e)
{
	struct err ce;

	if (o->kind != 0)
		return 0;
	o->guessed = 1;
	if (store_campaign_get(st, o->name, on_campaign, NULL, &ce) == 0) {
		o->kind = 'c';
		return 0;
	}
	if (ce.code != EX_NOINPUT) {
		*e = ce;
		return -1;
	}
	o->kind = 't';
	return 0;
}

static int
on_recipient(int64_t id, const char *address, const char *attrs, void *ctx)
{
	struct lint_opts *o = ctx;

	(void)id;
	o->address = xstrdup(address);
	o->jattrs = json_loads(attrs, 0, NULL);
	return 0;
}

static int
lint_recipient(struct store *st, struct lint_opts *o, struct err *e)
{
	json_error_t jerr;
	struct addr a;

	if (o->email != NULL) {
		if (addr_parse(o->email, strlen(o->email), &a, e) < 0) {
			err_prefix(e, "--email");
			return -1;
		}
		return store_recipient_get(st, a.key, on_recipient, o, e);
	}
	if (o->attrs == NULL)
		return 0;
	o->jattrs = json_loads(o->attrs, 0, &jerr);
	if (!json_is_object(o->jattrs))
		return err_set(e, EX_USAGE, "--attrs, column %d: not a JSON "
		    "object%s%s", jerr.column, o->jattrs ? "" : ": ",
		    o->jattrs ? "" : jerr.text);
	if (json_is_string(json_object_get(o->jattrs, "email")))
		o->address = xstrdup(json_string_value(json_object_get(
		    o->jattrs, "email")));
	return 0;
}

static int
lint_print_json(struct cli *c, const struct lint_opts *o,
    const struct lint_report *r)
{
	json_t *top = json_object(), *arr = json_array(), *f;
	int i;

	json_object_set_new(top, o->kind == 'c' ? "campaign" : "template",
	    json_string(o->name));
	json_object_set_new(top, "fails", json_integer(r->fails));
	json_object_set_new(top, "warnings", json_integer(r->warnings));
	for (i = 0; i < r->n; i++) {
		f = json_pack("{s:s, s:s, s:s, s:s}", "rule", r->f[i].rule,
		    "severity", lint_severity_name(r->f[i].severity),
		    "message", r->f[i].message, "fix", r->f[i].fix);
		json_array_append_new(arr, f);
	}
	json_object_set_new(top, "findings", arr);
	return out_json(c, top);
}

static void
lint_print(struct cli *c, const struct lint_opts *o,
    const struct lint_report *r)
{
	const char *what = o->kind == 'c' ? "campaign" : "template";
	int i;

	for (i = 0; i < r->n; i++) {
		if (c->tty)
			printf("%s %s: %s (fix: %s)\n",
			    lint_severity_name(r->f[i].severity), r->f[i].rule,
			    r->f[i].message, r->f[i].fix);
		else
			printf("%s\t%s\t%s\t%s\n",
			    lint_severity_name(r->f[i].severity), r->f[i].rule,
			    r->f[i].message, r->f[i].fix);
	}
	if (!c->tty)
		out_kv("%s=%s fails=%d warnings=%d", what, o->name, r->fails,
		    r->warnings);
	else if (r->n == 0)
		printf("%s %s: every check passes\n", what, o->name);
	else
		printf("%s %s: %d failed, %d warning%s\n", what, o->name,
		    r->fails, r->warnings, r->warnings == 1 ? "" : "s");
}

static int
lint_run(struct cli *c, struct lint_opts *o)
{
	struct lint_target t = { 0 };
	struct lint_report r;
	struct store *st;
	struct err e;
	int rc;

	lint_report_init(&r);
	if ((rc = cli_open(c, &st)) != 0)
		return rc;
	if (lint_kind(st, o, &e) < 0 || lint_recipient(st, o, &e) < 0) {
		rc = cli_fail(c, &e);
		goto out;
	}
	t.campaign = o->kind == 'c' ? o->name : NULL;
	t.template_name = o->kind == 't' ? o->name : NULL;
	t.version = (int)o->version;
	t.address = o->address;
	t.attrs = o->jattrs;
	t.no_dkim = o->no_dkim;
	if (lint_load(st, c->cfg, &t, &r, &e) < 0) {
		if (e.code == EX_NOINPUT && o->guessed)
			err_set(&e, EX_NOINPUT, "no campaign or template named "
			    "\"%s\"", o->name);
		rc = cli_fail(c, &e);
		goto out;
	}
	if (o->json)
		lint_print_json(c, o, &r);
	else
		lint_print(c, o, &r);
	rc = r.fails > 0 ? 1 : 0;
out:
	lint_report_free(&r);
	store_close(st);
	return rc;
}

int
cmd_lint(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "campaign", no_argument, NULL, 'c' },
		{ "template", no_argument, NULL, 't' },
		{ "version", required_argument, NULL, 'v' },
		{ "email", required_argument, NULL, 'e' },
		{ "attrs", required_argument, NULL, 'a' },
		{ "no-dkim", no_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct lint_opts o;
	int ch, rc;

	memset(&o, 0, sizeof(o));
	while ((ch = cli_getopt(c, argc, argv, "h", opts)) != -1) {
		switch (ch) {
		case 'h':
			fputs(lint_usage, stdout);
			return 0;
		case 'c':
		case 't':
			if (o.kind != 0 && o.kind != ch)
				return cli_usage(c, "--campaign and --template "
				    "exclude each other");
			o.kind = ch;
			break;
		case 'v':
			if ((rc = cli_number(c, "--version", optarg,
			    &o.version)) != 0)
				return rc;
			break;
		case 'e': o.email = optarg; break;
		case 'a': o.attrs = optarg; break;
		case 'D': o.no_dkim = 1; break;
		case 'j': o.json = 1; break;
		default: return EX_USAGE;
		}
	}
	if (cli_args(c, argc, argv, 1, "NAME") != 0)
		return EX_USAGE;
	if (o.email != NULL && o.attrs != NULL)
		return cli_usage(c, "--email and --attrs exclude each other");
	if (o.version != 0 && o.kind == 'c')
		return cli_usage(c, "--version is for a template; a campaign "
		    "keeps its own");
	if (o.version != 0)
		o.kind = 't';
	o.name = argv[optind];
	rc = lint_run(c, &o);
	free(o.address);
	json_decref(o.jattrs);
	return rc;
}
