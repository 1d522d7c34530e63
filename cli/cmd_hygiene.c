/*
 * cmd_hygiene.c - postbote hygiene [--list L] [--format F] [--apply C]:
 * the hygiene report (engine/hygiene.c) as text, JSON, CSV or HTML, and
 * the suppressions --apply adds.
 *
 * Flagged recipients stream straight to the output as the engine finds
 * them (JSON and CSV hold every one, HTML the first HYG_HTML_ROWS), so a
 * million-recipient list never sits in memory; the summary, known only
 * at the end, closes the JSON document and heads the HTML page, whose
 * rows wait in a bounded buffer.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "config.h"
#include "csvout.h"
#include "html.h"
#include "hygiene.h"
#include "store.h"
#include "xalloc.h"

#define HYG_HTML_ROWS	1000
#define HYG_HTML_MAX	(16 * 1024 * 1024)
#define HYG_SHARE_DIR	"share/postbote"


struct hyg_out {
	FILE *fp;
	enum cli_format fmt;
	int tty;
	long n;			/* records written */
	struct buf rows;	/* HTML: the flagged table's rows */
	long html_rows;
	int full;		/* HTML buffer past its maximum */
};

static const char hyg_usage[] =
	"usage: postbote hygiene [--list LIST] [--format text|json|csv|html] "
	"[--json]\n"
	"         [--output FILE] [--apply CATEGORIES [--dry-run]] "
	"[--no-dns]\n"
	"         [--disposable FILE]\n\n"
	"Checks every recipient (or LIST's members) and counts them per "
	"category:\n"
	"  invalid_syntax  not a valid address\n"
	"  no_mx           the domain has neither MX nor A/AAAA (or does not "
	"exist)\n"
	"  null_mx         the domain publishes a null MX: it takes no mail\n"
	"  dns_failure     the look-up failed (SERVFAIL, timeout): check again"
	" later;\n"
	"                  reported, never applied\n"
	"  role            info@, admin@, noreply@, postmaster@ ...\n"
	"  disposable      a disposable-mail domain (templates/"
	"disposable_domains.txt)\n"
	"  typo            a likely typo of a big provider (gmial.com); the "
	"fix is given\n"
	"  duplicate       the same mailbox as a recipient with a lower id "
	"(Gmail dots, +tags)\n"
	"  hard_bounced    a delivery bounced hard\n"
	"  soft_bounced    soft bounces in hygiene.soft_bounce_campaigns (3) "
	"campaigns\n"
	"  complained      a spam complaint\n"
	"  unsubscribed    an unsubscribe event or suppression\n"
	"  inactive        no human open or click in the last "
	"hygiene.inactive_campaigns (5)\n"
	"                  campaigns delivered, or in hygiene.inactive_days "
	"(180) of mail\n\n"
	"Formats: text (a table; tab-separated when not a terminal), json "
	"(summary and\nevery flagged recipient with its reasons), csv (one row"
	" per flagged recipient),\nhtml (a self-contained page, the first "
	"1,000 flagged recipients).\n"
	"--apply no_mx,hard_bounced,... (or all) suppresses the flagged "
	"addresses on every\nlist (source \"hygiene\") and says per category "
	"what was new and what was\nalready suppressed; --dry-run only says "
	"it. --no-dns skips the DNS checks.\n"
	"Domains are resolved with c-ares through delivery.dns_servers (else "
	"the system's).\n";

/* ---------------------------------------------------------------- output */

/* Text cells carry no control character (a raw row could hold one). */
static void
put_text(FILE *fp, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		fputc(ch < 32 || ch == 127 ? '?' : ch, fp);
	}
}

static void
reasons_of(unsigned cats, char *out, size_t n, const char *sep)
{
	size_t len;
	int c;

	out[0] = '\0';
	for (c = 0; c < HYG_NCAT; c++)
		if (cats & HYG_BIT(c)) {
			len = strlen(out);
			snprintf(out + len, n - len, "%s%s", len ? sep : "",
			    hygiene_cat_name(c));
		}
}

/* A raw row may hold bytes that are not UTF-8: JSON cannot carry them. */
static json_t *
utf8_string(const char *s)
{
	json_t *j = json_string(s);

	return j != NULL ? j : json_string("(not UTF-8)");
}

static json_t *
rec_json(const struct hygiene_rec *r)
{
	json_t *o, *lists, *reasons;
	const char *p = r->lists, *semi;
	int c;

	lists = json_array();
	while (*p != '\0') {
		semi = strchr(p, ';');
		json_array_append_new(lists, json_stringn(p, semi ?
		    (size_t)(semi - p) : strlen(p)));
		p = semi ? semi + 1 : p + strlen(p);
	}
	reasons = json_array();
	for (c = 0; c < HYG_NCAT; c++)
		if (r->cats & HYG_BIT(c))
			json_array_append_new(reasons,
			    json_string(hygiene_cat_name(c)));
	o = json_object();
	json_object_set_new(o, "id", json_integer((json_int_t)r->id));
	json_object_set_new(o, "address", utf8_string(r->address));
	json_object_set_new(o, "lists", lists);
	json_object_set_new(o, "reasons", reasons);
	if (r->suggestion != NULL)
		json_object_set_new(o, "suggestion",
		    json_string(r->suggestion));
	if (r->duplicate_of != NULL)
		json_object_set_new(o, "duplicate_of",
		    json_string(r->duplicate_of));
	if (r->dns_reason != NULL && (r->cats & (HYG_BIT(HYG_NO_MX) |
	    HYG_BIT(HYG_NULL_MX) | HYG_BIT(HYG_DNS_FAILURE))))
		json_object_set_new(o, "dns", json_string(r->dns_reason));
	return o;
}

static int
html_row(struct hyg_out *o, const struct hygiene_rec *r)
{
	char reasons[512];
	struct buf *b = &o->rows;
	const char *note = r->suggestion ? r->suggestion : r->duplicate_of ?
	    r->duplicate_of : "";

	if (o->html_rows >= HYG_HTML_ROWS || o->full)
		return 0;
	reasons_of(r->cats, reasons, sizeof(reasons), ", ");
	if (buf_adds(b, "<tr><td>") < 0 || html_escape(b, r->address) < 0 ||
	    buf_adds(b, "</td><td>") < 0 || html_escape(b, r->lists) < 0 ||
	    buf_adds(b, "</td><td>") < 0 || html_escape(b, reasons) < 0 ||
	    buf_adds(b, "</td><td>") < 0 || html_escape(b, note) < 0 ||
	    buf_adds(b, "</td></tr>\n") < 0) {
		o->full = 1;
		return 0;
	}
	o->html_rows++;
	return 0;
}

static int
on_rec(const struct hygiene_rec *r, void *ctx)
{
	struct hyg_out *o = ctx;
	char reasons[512];
	const char *f[5];
	json_t *j;
	int rc = 0;

	switch (o->fmt) {
	case CLI_TEXT:
		return 0;
	case CLI_HTML:
		return html_row(o, r);
	case CLI_CSV:
		reasons_of(r->cats, reasons, sizeof(reasons), ";");
		f[0] = r->address;
		f[1] = r->lists;
		f[2] = reasons;
		f[3] = r->suggestion ? r->suggestion : "";
		f[4] = r->duplicate_of ? r->duplicate_of : "";
		rc = csvout_record(o->fp, 5, f);
		break;
	case CLI_JSON:
		j = rec_json(r);
		fputs(o->n ? ",\n  " : "\n  ", o->fp);
		rc = json_dumpf(j, o->fp, JSON_COMPACT | JSON_ENSURE_ASCII);
		json_decref(j);
		break;
	}
	o->n++;
	return rc != 0 || ferror(o->fp) ? -1 : 0;
}

static double
share(const struct hygiene_summary *s, int64_t n)
{
	return s->recipients ? 100.0 * (double)n / (double)s->recipients : 0;
}

static void
text_summary(struct hyg_out *o, const struct hygiene_summary *s,
    const char *list)
{
	int c, k;

	if (o->tty)
		fprintf(o->fp, "%lld recipients%s%s, %lld domains (%lld looked "
		    "up): %lld flagged\n\n%-15s %9s %7s  %s\n",
		    (long long)s->recipients, list ? " on list " : "",
		    list ? list : "", (long long)s->domains,
		    (long long)s->resolved, (long long)s->flagged, "category",
		    "count", "share", "examples");
	for (c = 0; c < HYG_NCAT; c++) {
		fprintf(o->fp, o->tty ? "%-15s %9lld %6.1f%%  " :
		    "%s\t%lld\t%.1f\t", hygiene_cat_name(c),
		    (long long)s->count[c], share(s, s->count[c]));
		for (k = 0; k < HYGIENE_EXAMPLES && k < s->count[c]; k++) {
			fputs(k ? (o->tty ? ", " : ",") : "", o->fp);
			put_text(o->fp, s->example[c][k]);
		}
		fputc('\n', o->fp);
	}
	if (!o->tty)
		fprintf(o->fp, "recipients=%lld flagged=%lld domains=%lld "
		    "resolved=%lld\n", (long long)s->recipients,
		    (long long)s->flagged, (long long)s->domains,
		    (long long)s->resolved);
}

static json_t *
summary_json(const struct hygiene_summary *s, const char *list)
{
	json_t *cats = json_object(), *ex;
	int c, k;

	for (c = 0; c < HYG_NCAT; c++) {
		ex = json_array();
		for (k = 0; k < HYGIENE_EXAMPLES && k < s->count[c]; k++)
			json_array_append_new(ex,
			    utf8_string(s->example[c][k]));
		json_object_set_new(cats, hygiene_cat_name(c), json_pack(
		    "{s:I, s:f, s:s, s:o}", "count", (json_int_t)s->count[c],
		    "share", (double)(int64_t)(share(s, s->count[c]) * 100 + 0.5) /
		    100, "title",
		    hygiene_cat_title(c), "examples", ex));
	}
	return json_pack("{s:s?, s:I, s:I, s:I, s:I, s:o}", "list", list,
	    "recipients", (json_int_t)s->recipients, "flagged",
	    (json_int_t)s->flagged, "domains", (json_int_t)s->domains,
	    "resolved", (json_int_t)s->resolved, "categories", cats);
}

static json_t *
apply_json(const struct hygiene_summary *s, unsigned apply, int dry)
{
	json_t *cats = json_object();
	int c;

	for (c = 0; c < HYG_NCAT; c++)
		if (apply & HYG_BIT(c))
			json_object_set_new(cats, hygiene_cat_name(c),
			    json_pack("{s:I, s:I}", "suppressed",
			    (json_int_t)s->applied_new[c], "already",
			    (json_int_t)s->applied_already[c]));
	return json_pack("{s:b, s:I, s:I, s:o}", "dry_run", dry,
	    "suppressed", (json_int_t)s->suppressed, "already",
	    (json_int_t)s->already, "categories", cats);
}

static void
apply_text(FILE *fp, int tty, const struct hygiene_summary *s,
    unsigned apply, int dry)
{
	int c;

	if (tty)
		fprintf(fp, "\n%s %lld recipients, %lld already suppressed\n",
		    dry ? "--dry-run: would suppress" : "suppressed",
		    (long long)s->suppressed, (long long)s->already);
	for (c = 0; c < HYG_NCAT; c++) {
		if (!(apply & HYG_BIT(c)))
			continue;
		if (tty)
			fprintf(fp, "  %-15s %lld %s, %lld already\n",
			    hygiene_cat_name(c), (long long)s->applied_new[c],
			    dry ? "would be new" : "new",
			    (long long)s->applied_already[c]);
		else
			fprintf(fp, "apply=%s suppressed=%lld already=%lld "
			    "dry_run=%d\n", hygiene_cat_name(c),
			    (long long)s->applied_new[c],
			    (long long)s->applied_already[c], dry);
	}
	if (!tty)
		fprintf(fp, "suppressed=%lld already=%lld dry_run=%d\n",
		    (long long)s->suppressed, (long long)s->already, dry);
}

static const char hyg_css[] =
	"body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
	"table{border-collapse:collapse;margin:1em 0}"
	"th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;"
	"vertical-align:top}th{background:#f0f0f0}td.n{text-align:right}"
	"caption{text-align:left;font-weight:bold;margin-bottom:.3em}";

static int
html_page(struct hyg_out *o, const struct hygiene_summary *s,
    const char *list)
{
	struct buf b;
	int c, k, rc = 0;

	buf_init(&b, HYG_HTML_MAX);
	rc |= buf_printf(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><title>Postbote hygiene</title>"
	    "<style>%s</style></head><body>\n<h1>List hygiene", hyg_css);
	if (list != NULL)
		rc |= buf_adds(&b, ": ") | html_escape(&b, list);
	rc |= buf_printf(&b, "</h1>\n<p>%lld recipients, %lld domains (%lld "
	    "looked up), %lld flagged.</p>\n<table><caption>Categories"
	    "</caption>\n<tr><th>category</th><th>meaning</th><th>count</th>"
	    "<th>share</th><th>examples</th></tr>\n",
	    (long long)s->recipients, (long long)s->domains,
	    (long long)s->resolved, (long long)s->flagged);
	for (c = 0; c < HYG_NCAT; c++) {
		rc |= buf_printf(&b, "<tr><td>%s</td><td>%s</td><td class=\"n"
		    "\">%lld</td><td class=\"n\">%.1f %%</td><td>",
		    hygiene_cat_name(c), hygiene_cat_title(c),
		    (long long)s->count[c], share(s, s->count[c]));
		for (k = 0; k < HYGIENE_EXAMPLES && k < s->count[c]; k++)
			rc |= buf_adds(&b, k ? ", " : "") |
			    html_escape(&b, s->example[c][k]);
		rc |= buf_adds(&b, "</td></tr>\n");
	}
	rc |= buf_printf(&b, "</table>\n<table><caption>Flagged recipients "
	    "(%s%ld of %lld)</caption>\n<tr><th>address</th><th>lists</th>"
	    "<th>reasons</th><th>suggestion or kept address</th></tr>\n",
	    o->html_rows < s->flagged ? "the first " : "", o->html_rows,
	    (long long)s->flagged);
	if (rc == 0 && fwrite(b.data, 1, b.len, o->fp) != b.len)
		rc = -1;
	if (rc == 0 && o->rows.len > 0 &&
	    fwrite(o->rows.data, 1, o->rows.len, o->fp) != o->rows.len)
		rc = -1;
	if (rc == 0)
		fputs("</table>\n</body></html>\n", o->fp);
	buf_free(&b);
	return rc;
}

/* ---------------------------------------------------- the disposable list */

/* Beside the binary: installed (bin/../share/postbote) or built in the
   repository (build/../templates). */
static int
disposable_find(char *out, size_t n)
{
	static const char *const rel[] = { "../" HYG_SHARE_DIR,
	    "../templates", "../../" HYG_SHARE_DIR };
	static const char *const abs_dirs[] = {
	    "/usr/local/" HYG_SHARE_DIR, "/usr/" HYG_SHARE_DIR };
	char exe[4096], *slash;
	ssize_t len;
	size_t i;

	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len > 0) {
		exe[len] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL)
			*slash = '\0';
		for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
			if (snprintf(out, n, "%s/%s/disposable_domains.txt",
			    exe, rel[i]) < (int)n && access(out, R_OK) == 0)
				return 0;
		}
	}
	for (i = 0; i < sizeof(abs_dirs) / sizeof(abs_dirs[0]); i++) {
		snprintf(out, n, "%s/disposable_domains.txt", abs_dirs[i]);
		if (access(out, R_OK) == 0)
			return 0;
	}
	return -1;
}

static int
disposable_load(struct cli *c, const char *path, struct hygiene_set **set)
{
	char found[4096];
	struct err e;

	*set = NULL;
	if (path == NULL)
		path = c->cfg->hygiene.disposable_file;
	if (path == NULL) {
		if (disposable_find(found, sizeof(found)) < 0) {
			fprintf(stderr, "postbote: no disposable_domains.txt "
			    "found beside the binary or in /usr/local/share/"
			    "postbote; the disposable check is off "
			    "(--disposable FILE)\n");
			return 0;
		}
		path = found;
	}
	if (hygiene_set_load(path, set, &e) < 0)
		return cli_fail(c, &e);
	return 0;
}

/* ------------------------------------------------------------ the command */

struct hyg_args {
	const char *list, *output, *disposable;
	const char *apply_s;
	enum cli_format fmt;
	int dry_run, no_dns;
};

static int
parse_args(struct cli *c, int argc, char **argv, struct hyg_args *a)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "list", required_argument, NULL, 'l' },
		{ "format", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' },
		{ "apply", required_argument, NULL, 'a' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "no-dns", no_argument, NULL, 'N' },
		{ "disposable", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(a, 0, sizeof(*a));
	while ((ch = cli_getopt(c, argc, argv, "h", opts)) != -1) {
		switch (ch) {
		case 'h': fputs(hyg_usage, stdout); return -1;
		case 'l': a->list = optarg; break;
		case 'f':
			if (cli_format(c, optarg, &a->fmt) != 0)
				return EX_USAGE;
			break;
		case 'j': a->fmt = CLI_JSON; break;
		case 'o': a->output = optarg; break;
		case 'a': a->apply_s = optarg; break;
		case 'n': a->dry_run = 1; break;
		case 'N': a->no_dns = 1; break;
		case 'd': a->disposable = optarg; break;
		default: return EX_USAGE;
		}
	}
	if (cli_args(c, argc, argv, 0, "no arguments") != 0)
		return EX_USAGE;
	if (a->dry_run && a->apply_s == NULL)
		return cli_usage(c, "--dry-run goes with --apply");
	return 0;
}

static void
opts_from(const struct cli *c, const struct hyg_args *a,
    const struct hygiene_set *set, unsigned apply, struct hygiene_opts *o)
{
	const struct config_hygiene *h = &c->cfg->hygiene;

	memset(o, 0, sizeof(*o));
	o->list = a->list;
	o->disposable = set;
	o->no_dns = a->no_dns;
	o->dns_servers = c->cfg->dns_servers;
	o->dns_timeout_ms = (int)h->dns_timeout_ms;
	o->dns_concurrency = h->dns_concurrency;
	o->inactive_campaigns = h->inactive_campaigns;
	o->inactive_days = h->inactive_days;
	o->soft_bounce_campaigns = h->soft_bounce_campaigns;
	o->apply = apply;
	o->dry_run = a->dry_run;
}

static int
report_begin(struct hyg_out *o)
{
	static const char *const head[] = { "address", "lists", "reasons",
	    "suggestion", "duplicate_of" };

	if (o->fmt == CLI_JSON)
		fputs("{\"flagged\": [", o->fp);
	else if (o->fmt == CLI_CSV)
		return csvout_record(o->fp, 5, head);
	return 0;
}

static int
report_end(struct hyg_out *o, const struct hygiene_summary *s,
    const struct hyg_args *a, unsigned apply)
{
	json_t *j;
	int rc = 0;

	switch (o->fmt) {
	case CLI_TEXT:
		text_summary(o, s, a->list);
		break;
	case CLI_CSV:
		break;
	case CLI_HTML:
		rc = html_page(o, s, a->list);
		break;
	case CLI_JSON:
		fputs(o->n ? "\n],\n\"summary\": " : "],\n\"summary\": ", o->fp);
		j = summary_json(s, a->list);
		rc = json_dumpf(j, o->fp, JSON_INDENT(2) | JSON_ENSURE_ASCII |
		    JSON_REAL_PRECISION(6));
		json_decref(j);
		if (apply) {
			fputs(",\n\"apply\": ", o->fp);
			j = apply_json(s, apply, a->dry_run);
			rc |= json_dumpf(j, o->fp, JSON_INDENT(2));
			json_decref(j);
		}
		fputs("}\n", o->fp);
		break;
	}
	return rc;
}

static int
hyg_exec(struct cli *c, const struct hyg_args *a, unsigned apply,
    const struct hygiene_set *set)
{
	struct hygiene_summary *s = xcalloc(1, sizeof(*s));
	struct hygiene_opts ho;
	struct hyg_out o;
	struct store *st = NULL;
	struct err e = { 0 };
	int rc;

	memset(&o, 0, sizeof(o));
	o.fmt = a->fmt;
	o.fp = stdout;
	o.tty = c->tty && a->output == NULL;
	buf_init(&o.rows, HYG_HTML_MAX);
	if ((rc = cli_open(c, &st)) != 0)
		goto out;
	if (a->output != NULL && (o.fp = fopen(a->output, "w")) == NULL) {
		err_set(&e, EX_CANTCREAT, "%s: %m", a->output);
		rc = cli_fail(c, &e);
		goto out;
	}
	opts_from(c, a, set, apply, &ho);
	if (report_begin(&o) != 0 ||
	    hygiene_run(st, &ho, on_rec, &o, s, &e) < 0) {
		if (e.code == 0)
			err_set(&e, EX_IOERR, "writing the report failed");
		rc = cli_fail(c, &e);
		goto out;
	}
	if (report_end(&o, s, a, apply) != 0 || fflush(o.fp) != 0 ||
	    ferror(o.fp)) {
		err_set(&e, EX_IOERR, "%s: writing the report failed",
		    a->output ? a->output : "stdout");
		rc = cli_fail(c, &e);
		goto out;
	}
	/* JSON carries --apply's result; CSV and HTML on stdout must stay
	   what they are, so it goes to stderr then. */
	if (apply && a->fmt != CLI_JSON)
		apply_text(a->fmt == CLI_TEXT || a->output ? stdout : stderr,
		    a->fmt == CLI_TEXT ? o.tty : c->tty, s, apply, a->dry_run);
out:
	if (o.fp != NULL && o.fp != stdout && fclose(o.fp) != 0 && rc == 0) {
		err_set(&e, EX_IOERR, "%s: %m", a->output);
		rc = cli_fail(c, &e);
	}
	buf_free(&o.rows);
	store_close(st);
	free(s);
	return rc;
}

int
cmd_hygiene(struct cli *c, int argc, char **argv)
{
	struct hygiene_set *set = NULL;
	struct hyg_args a;
	unsigned apply = 0;
	struct err e;
	int rc;

	if ((rc = parse_args(c, argc, argv, &a)) != 0)
		return rc < 0 ? 0 : rc;
	if (a.apply_s != NULL &&
	    hygiene_cats_parse(a.apply_s, 1, &apply, &e) < 0)
		return cli_fail(c, &e);
	/* Two addresses of one person on two lists are both wanted: which
	   one goes is a question only within one list. */
	if ((apply & HYG_BIT(HYG_DUPLICATE)) && a.list == NULL) {
		if (strstr(a.apply_s, "duplicate") != NULL)
			return cli_usage(c, "--apply duplicate needs --list: "
			    "the duplicate is suppressed for that list");
		apply &= ~HYG_BIT(HYG_DUPLICATE);	/* "all" */
	}
	if ((rc = disposable_load(c, a.disposable, &set)) != 0)
		return rc;
	rc = hyg_exec(c, &a, apply, set);
	hygiene_set_free(set);
	return rc;
}
