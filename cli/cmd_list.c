/*
 * cmd_list.c - postbote list create|import|show|ls|rm|export.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "csvout.h"
#include "import.h"
#include "limits.h"
#include "store.h"
#include "xalloc.h"

static int
list_create(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "description", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 }
	};
	const char *desc = NULL;
	struct store *st;
	struct err e;
	int ch, rc;

	while ((ch = cli_getopt(c, argc, argv, "d:", opts)) != -1)
		if (ch == 'd')
			desc = optarg;
		else
			return EX_USAGE;
	if (cli_args(c, argc, argv, 1, "LIST") != 0)
		return EX_USAGE;
	if ((rc = cli_utf8(c, "--description", desc)) != 0)
		return rc;
	if ((rc = cli_open(c, &st)) != 0)
		return rc;
	rc = store_list_create(st, argv[optind], desc, NULL, &e) < 0 ?
	    cli_fail(c, &e) : 0;
	if (rc == 0)
		out_say(c, "created list %s", argv[optind]);
	store_close(st);
	return rc;
}

/* ---------------------------------------------------------------- import */

struct import_ctx {
	struct cli *c;
	FILE *rejects;
	const char *rejects_path;
	int header_written;
	int64_t reported;
	int64_t notes;
	int write_failed;
};

static void
rejects_header(struct import_ctx *ic, const struct import_event *ev)
{
	const char *fixed[] = { "line", "reason" };
	int i;

	ic->header_written = 1;
	for (i = 0; i < 2; i++)
		(void)csvout_field(ic->rejects, fixed[i], strlen(fixed[i]),
		    i == 0);
	if (ev->header != NULL)
		for (i = 0; i < ev->nheader; i++)
			(void)csvout_field(ic->rejects, ev->header[i],
			    strlen(ev->header[i]), 0);
	else
		(void)csvout_field(ic->rejects, "record", 6, 0);
	if (csvout_end(ic->rejects) < 0)
		ic->write_failed = 1;
}

static void
rejects_write(struct import_ctx *ic, const struct import_event *ev)
{
	char line[32];
	int i;

	if (!ic->header_written)
		rejects_header(ic, ev);
	snprintf(line, sizeof(line), "%lld", (long long)ev->line);
	(void)csvout_field(ic->rejects, line, strlen(line), 1);
	(void)csvout_field(ic->rejects, ev->reason, strlen(ev->reason), 0);
	for (i = 0; i < ev->nfields; i++)
		(void)csvout_field(ic->rejects, ev->fields[i], ev->lens[i], 0);
	if (csvout_end(ic->rejects) < 0)
		ic->write_failed = 1;
}

static void
import_report(const struct import_event *ev, void *ctx)
{
	struct import_ctx *ic = ctx;

	if (ev->kind == IMPORT_DUPLICATE_ROW) {
		if (ic->notes++ < LIMIT_IMPORT_REPORTED && ic->c->tty)
			fprintf(stderr, "%s:%lld: same address as line %lld; "
			    "attributes merged\n", ev->file,
			    (long long)ev->line, (long long)ev->first_line);
		return;
	}
	if (ic->reported++ < LIMIT_IMPORT_REPORTED)
		fprintf(stderr, "%s:%lld: rejected: %s\n", ev->file,
		    (long long)ev->line, ev->reason);
	if (ic->rejects != NULL)
		rejects_write(ic, ev);
}

static int
import_parse_opts(struct cli *c, int argc, char **argv,
    struct import_opts *io, const char **rejects)
{
	static const struct option opts[] = {
		{ "email-column", required_argument, NULL, 'e' },
		{ "format", required_argument, NULL, 'f' },
		{ "rejects", required_argument, NULL, 'r' },
		{ "strict", no_argument, NULL, 's' },
		{ "all-text", no_argument, NULL, 't' },
		{ "no-create", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(io, 0, sizeof(*io));
	io->create_list = 1;
	while ((ch = cli_getopt(c, argc, argv, "e:f:r:stn", opts)) != -1) {
		switch (ch) {
		case 'e': io->email_column = optarg; break;
		case 'r': *rejects = optarg; break;
		case 's': io->strict = 1; break;
		case 't': io->all_text = 1; break;
		case 'n': io->create_list = 0; break;
		case 'f':
			if (strcmp(optarg, "csv") == 0)
				io->format = IMPORT_CSV;
			else if (strcmp(optarg, "jsonl") == 0)
				io->format = IMPORT_JSONL;
			else
				return cli_usage(c, "--format is csv or jsonl");
			break;
		default:
			return EX_USAGE;
		}
	}
	return cli_args(c, argc, argv, 2, "LIST FILE");
}

static void
import_summary(struct cli *c, const char *list, const struct import_stats *s)
{
	if (!c->tty) {
		out_kv("rows=%lld added=%lld updated=%lld unchanged=%lld "
		    "duplicates=%lld joined=%lld rejected=%lld",
		    (long long)s->rows, (long long)s->added,
		    (long long)s->updated, (long long)s->unchanged,
		    (long long)s->duplicates, (long long)s->joined,
		    (long long)s->rejected);
		return;
	}
	if (s->created_list)
		printf("created list %s\n", list);
	printf("%lld rows: %lld new recipients, %lld updated, %lld unchanged, "
	    "%lld duplicate rows merged, %lld rejected; %lld joined %s\n",
	    (long long)s->rows, (long long)s->added, (long long)s->updated,
	    (long long)s->unchanged, (long long)s->duplicates,
	    (long long)s->rejected, (long long)s->joined, list);
}

static int
list_import(struct cli *c, int argc, char **argv)
{
	struct import_ctx ic = { .c = c };
	struct import_opts io;
	struct import_stats stats;
	const char *rejects = NULL;
	struct store *st;
	struct err e;
	int rc;

	if ((rc = import_parse_opts(c, argc, argv, &io, &rejects)) != 0)
		return rc;
	if ((rc = cli_open(c, &st)) != 0)
		return rc;
	if (rejects != NULL && (ic.rejects = fopen(rejects, "w")) == NULL) {
		err_set(&e, EX_CANTCREAT, "%s: %m", rejects);
		store_close(st);
		return cli_fail(c, &e);
	}
	if (import_file(st, argv[optind], argv[optind + 1], &io, &stats,
	    import_report, &ic, &e) < 0)
		rc = cli_fail(c, &e);
	if (ic.reported > LIMIT_IMPORT_REPORTED)
		fprintf(stderr, "... and %lld more rejected rows%s\n",
		    (long long)(ic.reported - LIMIT_IMPORT_REPORTED),
		    rejects ? "" : " (--rejects FILE writes them all)");
	if (rc == 0)
		import_summary(c, argv[optind], &stats);
	store_close(st);
	if (ic.rejects != NULL && (fclose(ic.rejects) != 0 ||
	    ic.write_failed) && rc == 0) {
		err_set(&e, EX_IOERR, "%s: writing the rejected rows failed",
		    rejects);
		rc = cli_fail(c, &e);
	}
	return rc;
}

/* ---------------------------------------------------------- show and ls */

struct show_ctx {
	struct cli *c;
	int json;
	json_t *obj;		/* list show --json */
	struct jarr arr;	/* list ls --json */
	struct table t;
	int64_t list_id;
};

static json_t *
list_json(const struct list_info *li)
{
	return json_pack("{s:s, s:s, s:o, s:I, s:I, s:I, s:I}",
	    "name", li->name, "description", li->description, "created",
	    out_json_time(li->created_at), "members", (json_int_t)li->members,
	    "suppressed", (json_int_t)li->suppressed, "reachable",
	    (json_int_t)(li->members - li->suppressed), "domains",
	    (json_int_t)li->domains);
}

static int
show_one(const struct list_info *li, void *ctx)
{
	struct show_ctx *sc = ctx;
	char when[32];

	sc->list_id = li->id;
	if (sc->json) {
		sc->obj = list_json(li);
		return 0;
	}
	if (!sc->c->tty) {
		out_kv("name=%s members=%lld suppressed=%lld domains=%lld",
		    li->name, (long long)li->members,
		    (long long)li->suppressed, (long long)li->domains);
		return 0;
	}
	printf("list        %s\n", li->name);
	if (li->description[0] != '\0')
		printf("description %s\n", li->description);
	printf("created     %s\n", out_time(li->created_at, when,
	    sizeof(when)));
	printf("members     %lld (%lld suppressed, %lld reachable)\n",
	    (long long)li->members, (long long)li->suppressed,
	    (long long)(li->members - li->suppressed));
	printf("domains     %lld\n", (long long)li->domains);
	return 0;
}

static int
show_domain(const char *domain, int64_t n, void *ctx)
{
	struct show_ctx *sc = ctx;
	char count[32];
	const char *cells[2] = { domain, count };

	if (sc->json)
		return json_object_set_new(sc->obj, domain, json_integer(n));
	if (!sc->c->tty) {
		out_kv("domain=%s members=%lld", domain, (long long)n);
		return 0;
	}
	snprintf(count, sizeof(count), "%lld", (long long)n);
	return out_table_row(&sc->t, cells);
}

static int
list_show(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "domains", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *head[] = { "DOMAIN", "MEMBERS" };
	struct show_ctx sc = { .c = c };
	int64_t ndomains = 10;
	int domains_given = 0;
	struct store *st;
	struct err e;
	json_t *top = NULL;
	int ch, rc;

	while ((ch = cli_getopt(c, argc, argv, "jd:", opts)) != -1)
		if (ch == 'j')
			sc.json = 1;
		else if (ch == 'd') {
			if ((rc = cli_number(c, "--domains", optarg,
			    &ndomains)) != 0)
				return rc;
			domains_given = 1;
		} else
			return EX_USAGE;
	if (cli_args(c, argc, argv, 1, "LIST") != 0)
		return EX_USAGE;
	if ((rc = cli_open(c, &st)) != 0)
		return rc;
	if (store_list_get(st, argv[optind], show_one, &sc, &e) < 0) {
		rc = cli_fail(c, &e);
		goto out;
	}
	if (sc.json) {
		top = sc.obj;
		sc.obj = json_object();
		json_object_set_new(top, "top_domains", sc.obj);
	} else if (c->tty && ndomains > 0) {
		printf("\n");
		out_table_begin(&sc.t, 1, 2, head);
	} else if (!c->tty && !domains_given)
		ndomains = 0;	/* scripts get one line unless they ask */
	if (ndomains > 0 && store_list_domains(st, sc.list_id, (int)ndomains,
	    show_domain, &sc, &e) < 0)
		rc = cli_fail(c, &e);
	if (sc.json)
		out_json(c, top);
	else if (c->tty && ndomains > 0)
		out_table_end(&sc.t);
out:
	store_close(st);
	return rc;
}

static int
ls_one(const struct list_info *li, void *ctx)
{
	struct show_ctx *sc = ctx;
	char members[32], supp[32], domains[32], when[32];
	const char *cells[5] = { li->name, members, supp, domains, when };

	if (sc->json)
		return out_jarr_add(&sc->arr, list_json(li));
	snprintf(members, sizeof(members), "%lld", (long long)li->members);
	snprintf(supp, sizeof(supp), "%lld", (long long)li->suppressed);
	snprintf(domains, sizeof(domains), "%lld", (long long)li->domains);
	out_time(li->created_at, when, sizeof(when));
	return out_table_row(&sc->t, cells);
}

static int
list_ls(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 }
	};
	static const char *head[] = { "LIST", "MEMBERS", "SUPPRESSED",
	    "DOMAINS", "CREATED" };
	struct show_ctx sc = { .c = c };
	struct store *st;
	struct err e;
	int ch, rc;

	while ((ch = cli_getopt(c, argc, argv, "j", opts)) != -1)
		if (ch == 'j')
			sc.json = 1;
		else
			return EX_USAGE;
	if (cli_args(c, argc, argv, 0, "no arguments") != 0)
		return EX_USAGE;
	if ((rc = cli_open(c, &st)) != 0)
		return rc;
	if (sc.json)
		out_jarr_begin(&sc.arr);
	else
		out_table_begin(&sc.t, c->tty, 5, head);
	if (store_list_each(st, ls_one, &sc, &e) < 0)
		rc = cli_fail(c, &e);
	if (sc.json)
		out_jarr_end(&sc.arr);
	else
		out_table_end(&sc.t);
	store_close(st);
	return rc;
}

static int
list_rm(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = { { NULL, 0, NULL, 0 } };
	struct store *st;
	struct err e;
	int ch, rc;

	while ((ch = cli_getopt(c, argc, argv, "", opts)) != -1)
		return EX_USAGE;
	if (cli_args(c, argc, argv, 1, "LIST") != 0)
		return EX_USAGE;
	if ((rc = cli_open(c, &st)) != 0)
		return rc;
	rc = store_list_rm(st, argv[optind], &e) < 0 ? cli_fail(c, &e) : 0;
	if (rc == 0)
		out_say(c, "removed list %s (its recipients stay, with their "
		    "history)", argv[optind]);
	store_close(st);
	return rc;
}

/* ---------------------------------------------------------------- export */

/*
 * Two passes: the first collects every attribute path (nested objects
 * flattened with dots, as import reads them) into the column set, which
 * grows with the number of distinct attributes, not with the list; the
 * second writes one row per member.
 */
struct export_ctx {
	json_t *columns;	/* path -> column index */
	json_t *order;		/* array of paths */
	FILE *fp;
	char **cells;
	json_t *seen;		/* scan: one recipient's paths */
	const char *address;
	struct err e;
	int failed;
};

/*
 * Flattens one recipient's attributes. The scan pass also refuses what
 * cannot round-trip as columns: a key "a.b" beside a nested a.b, or a path
 * too long to name, rather than dropping a value.
 */
static void
export_walk(struct export_ctx *x, json_t *obj, const char *prefix, int write)
{
	const char *key;
	json_t *v;
	char path[512];

	json_object_foreach(obj, key, v) {
		if (x->failed)
			return;
		if ((size_t)snprintf(path, sizeof(path), "%s%s%s", prefix,
		    prefix[0] ? "." : "", key) >= sizeof(path)) {
			x->failed = err_set(&x->e, EX_DATAERR, "%s: an attribute "
			    "path is longer than %zu bytes", x->address,
			    sizeof(path) - 1);
			return;
		}
		if (json_is_object(v) && json_object_size(v) > 0) {
			export_walk(x, v, path, write);
			continue;
		}
		if (!write && json_object_get(x->seen, path) != NULL) {
			x->failed = err_set(&x->e, EX_DATAERR, "%s: attribute "
			    "\"%s\" is both a key with a dot and a nested key; "
			    "it has no single column", x->address, path);
			return;
		}
		if (!write) {
			json_object_set_new(x->seen, path, json_true());
			if (json_object_get(x->columns, path) == NULL) {
				json_object_set_new(x->columns, path,
				    json_integer((json_int_t)json_array_size(
				    x->order)));
				json_array_append_new(x->order,
				    json_string(path));
			}
			continue;
		}
		{
			size_t col = (size_t)json_integer_value(
			    json_object_get(x->columns, path));

			x->cells[col] = json_is_string(v) ?
			    xstrdup(json_string_value(v)) :
			    json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		}
	}
}

static int
export_scan(const char *address, const char *attrs, void *ctx)
{
	struct export_ctx *x = ctx;
	json_t *obj = json_loads(attrs, 0, NULL);

	x->address = address;
	json_object_clear(x->seen);
	if (obj != NULL)
		export_walk(x, obj, "", 0);
	json_decref(obj);
	return x->failed ? -1 : 0;
}

static int
export_row(const char *address, const char *attrs, void *ctx)
{
	struct export_ctx *x = ctx;
	size_t i, n = json_array_size(x->order);
	json_t *obj = json_loads(attrs, 0, NULL);

	if (obj != NULL)
		export_walk(x, obj, "", 1);
	json_decref(obj);
	(void)csvout_field(x->fp, address, strlen(address), 1);
	for (i = 0; i < n; i++) {
		const char *s = x->cells[i] ? x->cells[i] : "";

		(void)csvout_field(x->fp, s, strlen(s), 0);
		free(x->cells[i]);
		x->cells[i] = NULL;
	}
	return csvout_end(x->fp);
}

static int
list_export(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	struct export_ctx x = { 0 };
	const char *output = NULL;
	struct store *st;
	struct err e;
	int64_t id;
	size_t i;
	int ch, rc;

	while ((ch = cli_getopt(c, argc, argv, "o:", opts)) != -1)
		if (ch == 'o')
			output = optarg;
		else
			return EX_USAGE;
	if (cli_args(c, argc, argv, 1, "LIST") != 0)
		return EX_USAGE;
	if ((rc = cli_open(c, &st)) != 0)
		return rc;
	x.columns = json_object();
	x.order = json_array();
	x.seen = json_object();
	if (store_list_id(st, argv[optind], &id, &e) < 0 ||
	    store_list_members(st, id, export_scan, &x, &e) < 0) {
		rc = cli_fail(c, x.failed ? &x.e : &e);
		goto out;
	}
	x.fp = output ? fopen(output, "w") : stdout;
	if (x.fp == NULL) {
		err_set(&e, EX_CANTCREAT, "%s: %m", output);
		rc = cli_fail(c, &e);
		goto out;
	}
	x.cells = xcalloc(json_array_size(x.order) + 1, sizeof(char *));
	(void)csvout_field(x.fp, "email", 5, 1);
	for (i = 0; i < json_array_size(x.order); i++) {
		const char *h = json_string_value(json_array_get(x.order, i));

		(void)csvout_field(x.fp, h, strlen(h), 0);
	}
	(void)csvout_end(x.fp);
	if (store_list_members(st, id, export_row, &x, &e) < 0)
		rc = cli_fail(c, &e);
	if (output != NULL && fclose(x.fp) != 0 && rc == 0) {
		err_set(&e, EX_IOERR, "%s: %m", output);
		rc = cli_fail(c, &e);
	}
	free(x.cells);
out:
	json_decref(x.columns);
	json_decref(x.order);
	json_decref(x.seen);
	store_close(st);
	return rc;
}

const struct cli_cmd cmd_list[] = {
	{ "create", list_create, "create an empty list",
	  "create LIST [--description TEXT]\n" },
	{ "import", list_import, "import recipients from CSV or JSON Lines",
	  "import LIST FILE [options]\n\n"
	  "Reads FILE (- for standard input): CSV with a header row, or JSON\n"
	  "Lines (.jsonl/.ndjson, one object per line). The address column is\n"
	  "\"email\"; every other column or key becomes an attribute (a CSV\n"
	  "column \"a.b\" becomes the nested attribute a.b). Known addresses get\n"
	  "their attributes merged; the list is created when missing. Rejected\n"
	  "rows are reported with their line; the others are imported in one\n"
	  "transaction.\n\n"
	  "  --email-column NAME  the column holding the address\n"
	  "  --format csv|jsonl   instead of guessing from the file name\n"
	  "  --rejects FILE       write every rejected row, with line and reason,\n"
	  "                       as CSV\n"
	  "  --strict             any rejected row aborts the import (exit 65)\n"
	  "  --all-text           store numbers and true/false as text too\n"
	  "  --no-create          fail when the list does not exist\n\n"
	  "example: postbote list import customers customers.csv --rejects bad.csv\n" },
	{ "show", list_show, "a list's size, suppressions and top domains",
	  "show LIST [--json] [--domains N]\n\n"
	  "  --domains N   how many of the largest domains to show (10)\n" },
	{ "ls", list_ls, "all lists with their sizes", "ls [--json]\n" },
	{ "rm", list_rm, "remove a list (refused while a campaign uses it)",
	  "rm LIST\n\nRemoves the list and its memberships. Recipients and their "
	  "history stay.\n" },
	{ "export", list_export, "write a list as CSV",
	  "export LIST [--output FILE]\n\n"
	  "One row per member: email, then one column per attribute (nested\n"
	  "attributes as a.b). Cells that a spreadsheet would run as a formula\n"
	  "get a leading apostrophe.\n" },
	{ NULL, NULL, NULL, NULL }
};
