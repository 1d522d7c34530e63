/*
 * cmd_report.c - postbote report CAMPAIGN [--format F] [--output FILE];
 * postbote report --compare C1 C2 ...
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "report.h"
#include "store.h"

static const char report_usage[] =
    "usage: postbote report CAMPAIGN [--format text|json|csv|html] "
    "[--output FILE]\n"
    "       postbote report --compare C1 C2 ... [--format ...] "
    "[--output FILE]\n\n"
    "A campaign's figures: recipients, sent, delivered, deferred now,\n"
    "bounced (hard, soft, policy), opens and clicks (unique and total,\n"
    "human and machine apart), clicks per link, unsubscribes, complaints,\n"
    "replies, possibly duplicated; start, end, duration, throughput, the\n"
    "median and 95th percentile time to delivery; a table per receiving\n"
    "domain and per MX provider with throttling and top replies; the top\n"
    "bounce reasons. --compare shows campaigns side by side.\n\n"
    "text (default) reads on a terminal; json is the model the others\n"
    "are made from; csv is one figure a row (campaign, section, item,\n"
    "metric, value); html is one self-contained file with charts, for a\n"
    "browser or print. It reads a database a send is writing to without\n"
    "holding it up.\n";

static int
report_write(json_t *reports, enum cli_format f, FILE *fp,
    struct err *e)
{
	switch (f) {
	case CLI_JSON:
		if (json_dumpf(json_array_size(reports) == 1 ?
		    json_array_get(reports, 0) : reports, fp,
		    JSON_INDENT(2)) < 0 || fputc('\n', fp) == EOF ||
		    fflush(fp) != 0)
			return err_set(e, EX_IOERR, "writing the report failed");
		return 0;
	case CLI_CSV:
		return report_csv(reports, fp, e);
	case CLI_HTML:
		return report_html(reports, fp, e);
	default:
		return report_text(reports, fp, e);
	}
}

static int
report_run(struct cli *c, char **names, int n, enum cli_format f,
    const char *output)
{
	json_t *reports = json_array(), *r;
	struct store *st;
	struct err e;
	FILE *fp = stdout;
	int i, rc;

	if ((rc = cli_open(c, &st)) != 0) {
		json_decref(reports);
		return rc;
	}
	for (i = 0; i < n; i++) {
		if (report_build(st, c->cfg, names[i], &r, &e) < 0) {
			store_close(st);
			json_decref(reports);
			return cli_fail(c, &e);
		}
		json_array_append_new(reports, r);
	}
	store_close(st);
	if (output != NULL && (fp = fopen(output, "we")) == NULL) {
		json_decref(reports);
		err_set(&e, EX_CANTCREAT, "%s: %s", output, strerror(errno));
		return cli_fail(c, &e);
	}
	rc = report_write(reports, f, fp, &e);
	if (fp != stdout && fclose(fp) != 0 && rc == 0)
		rc = err_set(&e, EX_IOERR, "%s: %s", output, strerror(errno));
	json_decref(reports);
	return rc < 0 ? cli_fail(c, &e) : 0;
}

int
cmd_report(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "compare", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 }
	};
	enum cli_format f = CLI_TEXT;
	const char *output = NULL;
	int ch, compare = 0;

	while ((ch = cli_getopt(c, argc, argv, "h", opts)) != -1) {
		switch (ch) {
		case 'h':
			fputs(report_usage, stdout);
			return 0;
		case 'f':
			if (cli_format(c, optarg, &f) != 0)
				return EX_USAGE;
			break;
		case 'o':
			output = optarg;
			break;
		case 'c':
			compare = 1;
			break;
		default:
			return EX_USAGE;
		}
	}
	if (compare && argc - optind < 2)
		return cli_usage(c, "--compare takes two campaigns or more");
	if (!compare && cli_args(c, argc, argv, 1, "CAMPAIGN") != 0)
		return EX_USAGE;
	return report_run(c, argv + optind, argc - optind, f, output);
}
