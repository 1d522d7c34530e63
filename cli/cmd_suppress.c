/*
 * cmd_suppress.c - postbote suppress add|import|ls|rm.
 */
#include <jansson.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "import.h"
#include "limits.h"
#include "store.h"

struct supp_opts {
	const char *list;
	const char *reason;
	int json;
	int strict;
};

static int
supp_getopts(struct cli *c, int argc, char **argv, struct supp_opts *so)
{
	static const struct option opts[] = {
		{ "list", required_argument, NULL, 'l' },
		{ "reason", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "strict", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(so, 0, sizeof(*so));
	while ((ch = cli_getopt(c, argc, argv, "l:r:js", opts)) != -1) {
		switch (ch) {
		case 'l': so->list = optarg; break;
		case 'r': so->reason = optarg; break;
		case 'j': so->json = 1; break;
		case 's': so->strict = 1; break;
		default: return EX_USAGE;
		}
	}
	return cli_utf8(c, "--reason", so->reason);
}

/* add and rm: one or more targets in one transaction. */
static int
supp_change(struct cli *c, int argc, char **argv, int add)
{
	char value[LIMIT_ADDR * 2 + 1];
	struct supp_opts so;
	const char *kind;
	struct store *st;
	struct err e;
	int i, rc, changed, n = 0;

	if ((rc = supp_getopts(c, argc, argv, &so)) != 0)
		return rc;
	if (optind >= argc)
		return cli_usage(c, "expected ADDRESS or @DOMAIN");
	if ((rc = cli_open(c, &st)) != 0)
		return rc;
	if (store_begin(st, &e) < 0)
		goto fail;
	for (i = optind; i < argc; i++) {
		if (import_suppression_target(argv[i], strlen(argv[i]), &kind,
		    value, sizeof(value), &e) < 0) {
			err_prefix(&e, "argument %d (\"%.64s\")", i - optind + 1,
			    argv[i]);
			goto fail;
		}
		if ((add ? store_suppress_add(st, kind, value, so.list,
		    so.reason, "manual", &changed, &e) :
		    store_suppress_rm(st, kind, value, so.list, &changed,
		    &e)) < 0)
			goto fail;
		n += changed;
		if (!changed)
			out_say(c, "%s %s %s", kind, value, add ?
			    "was already suppressed" : "was not suppressed");
	}
	if (store_commit(st, &e) < 0)
		goto fail;
	if (c->tty)
		printf("%s %d suppression(s)%s%s\n", add ? "added" : "removed",
		    n, so.list ? " for list " : "", so.list ? so.list : "");
	else
		out_kv("%s=%d", add ? "added" : "removed", n);
	store_close(st);
	return 0;
fail:
	store_rollback(st);
	store_close(st);
	return cli_fail(c, &e);
}

static int
supp_add(struct cli *c, int argc, char **argv)
{
	return supp_change(c, argc, argv, 1);
}

static int
supp_rm(struct cli *c, int argc, char **argv)
{
	return supp_change(c, argc, argv, 0);
}

static void
supp_reject(const struct import_event *ev, void *ctx)
{
	int64_t *reported = ctx;

	if ((*reported)++ < LIMIT_IMPORT_REPORTED)
		fprintf(stderr, "%s:%lld: rejected: %s\n", ev->file,
		    (long long)ev->line, ev->reason);
}

static int
supp_import(struct cli *c, int argc, char **argv)
{
	struct suppress_stats ss;
	struct supp_opts so;
	struct store *st;
	int64_t reported = 0;
	struct err e;
	int rc;

	if ((rc = supp_getopts(c, argc, argv, &so)) != 0)
		return rc;
	if (cli_args(c, argc, argv, 1, "FILE") != 0)
		return EX_USAGE;
	if ((rc = cli_open(c, &st)) != 0)
		return rc;
	if (import_suppressions(st, argv[optind], so.list, so.reason,
	    so.strict, &ss, supp_reject, &reported, &e) < 0)
		rc = cli_fail(c, &e);
	if (reported > LIMIT_IMPORT_REPORTED)
		fprintf(stderr, "... and %lld more rejected lines\n",
		    (long long)(reported - LIMIT_IMPORT_REPORTED));
	if (rc == 0 && c->tty)
		printf("%lld entries: %lld added, %lld already suppressed, "
		    "%lld rejected\n", (long long)ss.lines, (long long)ss.added,
		    (long long)ss.existing, (long long)ss.rejected);
	else if (rc == 0)
		out_kv("lines=%lld added=%lld existing=%lld rejected=%lld",
		    (long long)ss.lines, (long long)ss.added,
		    (long long)ss.existing, (long long)ss.rejected);
	store_close(st);
	return rc;
}

struct ls_ctx {
	struct cli *c;
	struct jarr arr;
	struct table t;
};

static int
supp_row(const struct suppression *s, void *ctx)
{
	struct ls_ctx *lc = ctx;
	char when[32];
	const char *cells[6];

	if (lc->arr.on)
		return out_jarr_add(&lc->arr, json_pack("{s:s, s:s, "
		    "s:s?, s:s, s:s, s:o}", "kind", s->kind, "value", s->value,
		    "list", s->list, "reason", s->reason, "source", s->source,
		    "created", out_json_time(s->created_at)));
	cells[0] = s->kind;
	cells[1] = s->value;
	cells[2] = s->list ? s->list : "*";
	cells[3] = s->reason;
	cells[4] = s->source;
	cells[5] = out_time(s->created_at, when, sizeof(when));
	return out_table_row(&lc->t, cells);
}

static int
supp_ls(struct cli *c, int argc, char **argv)
{
	static const char *head[] = { "KIND", "VALUE", "LIST", "REASON",
	    "SOURCE", "CREATED" };
	struct ls_ctx lc = { .c = c };
	struct supp_opts so;
	struct store *st;
	struct err e;
	int rc;

	if ((rc = supp_getopts(c, argc, argv, &so)) != 0)
		return rc;
	if (cli_args(c, argc, argv, 0, "no arguments") != 0)
		return EX_USAGE;
	if ((rc = cli_open(c, &st)) != 0)
		return rc;
	if (so.json)
		out_jarr_begin(&lc.arr);
	else
		out_table_begin(&lc.t, c->tty, 6, head);
	if (store_suppress_each(st, so.list, supp_row, &lc, &e) < 0)
		rc = cli_fail(c, &e);
	if (so.json)
		out_jarr_end(&lc.arr);
	else
		out_table_end(&lc.t);
	store_close(st);
	return rc;
}

const struct cli_cmd cmd_suppress[] = {
	{ "add", supp_add, "suppress addresses or whole domains",
	  "add TARGET... [--list LIST] [--reason TEXT]\n\n"
	  "TARGET is an address or @domain. Without --list the suppression\n"
	  "applies to every list. Suppressed recipients never get a delivery.\n\n"
	  "example: postbote suppress add @competitor.example bob@example.com\n" },
	{ "import", supp_import, "suppress every entry of a file",
	  "import FILE [--list LIST] [--reason TEXT] [--strict]\n\n"
	  "One address or @domain per line; blank lines and # comments are\n"
	  "skipped. Bad lines are reported and skipped (with --strict, nothing\n"
	  "is imported).\n" },
	{ "ls", supp_ls, "list suppressions",
	  "ls [--list LIST] [--json]\n\n"
	  "With --list: the suppressions that apply to that list (its own and\n"
	  "the global ones).\n" },
	{ "rm", supp_rm, "lift suppressions",
	  "rm TARGET... [--list LIST]\n" },
	{ NULL, NULL, NULL, NULL }
};
