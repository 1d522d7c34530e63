/*
 * cli.c - dispatch, option parsing and error reporting for the commands.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistr.h>

#include "cli.h"
#include "store.h"
#include "xalloc.h"

static char cli_prog[128];

void
cli_help(const char *group, const struct cli_cmd *cmd, FILE *fp)
{
	fprintf(fp, "usage: postbote %s %s", group, cmd->usage);
}

static void
group_help(const char *group, const struct cli_cmd *cmds, FILE *fp)
{
	int i;

	fprintf(fp, "usage: postbote %s SUBCOMMAND [ARGS...]\n\n", group);
	for (i = 0; cmds[i].name != NULL; i++)
		fprintf(fp, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(fp, "\n'postbote help %s SUBCOMMAND' shows the details.\n",
	    group);
}

/* --help or -h anywhere before a "--" asks for help, whatever else. */
static int
wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

int
cli_dispatch(struct cli *c, const char *group, const struct cli_cmd *cmds,
    int argc, char **argv)
{
	int i;

	if (argc == 0) {
		group_help(group, cmds, stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
	    strcmp(argv[0], "help") == 0) {
		group_help(group, cmds, stdout);
		return 0;
	}
	for (i = 0; cmds[i].name != NULL; i++) {
		if (strcmp(cmds[i].name, argv[0]) != 0)
			continue;
		snprintf(cli_prog, sizeof(cli_prog), "postbote %s %s", group,
		    cmds[i].name);
		c->prog = cli_prog;
		if (wants_help(argc, argv)) {
			cli_help(group, &cmds[i], stdout);
			return 0;
		}
		return cmds[i].fn(c, argc, argv);
	}
	fprintf(stderr, "postbote %s: unknown subcommand \"%s\"\n\n", group,
	    argv[0]);
	group_help(group, cmds, stderr);
	return EX_USAGE;
}

int
cli_getopt(struct cli *c, int argc, char **argv, const char *shortopts,
    const struct option *longopts)
{
	int ch;

	opterr = 0;
	ch = getopt_long(argc, argv, shortopts, longopts, NULL);
	if (ch == '?') {
		if (optopt != 0 && strchr(shortopts, optopt) != NULL)
			fprintf(stderr, "%s: option %s needs a value\n",
			    c->prog, argv[optind - 1]);
		else
			fprintf(stderr, "%s: unknown option or missing value: "
			    "%s\n", c->prog, argv[optind - 1]);
		fprintf(stderr, "(see '%s --help')\n", c->prog);
	}
	return ch;
}

int
cli_args(struct cli *c, int argc, char **argv, int n, const char *what)
{
	(void)argv;
	if (argc - optind == n)
		return 0;
	return cli_usage(c, "%s %s", argc - optind < n ? "expected" :
	    "too many arguments; expected", what);
}

int
cli_fail(struct cli *c, const struct err *e)
{
	(void)c;
	fprintf(stderr, "postbote: %s\n", e->msg);
	return e->code ? e->code : EX_SOFTWARE;
}

int
cli_usage(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", c->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see '%s --help')\n", c->prog);
	return EX_USAGE;
}

int
cli_open(struct cli *c, struct store **st)
{
	struct err e;

	if (store_open(c->db, 0, st, &e) < 0)
		return cli_fail(c, &e);
	return 0;
}

int
cli_number(struct cli *c, const char *opt, const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0)
		return cli_usage(c, "%s wants a non-negative number, not \"%s\"",
		    opt, s);
	*out = v;
	return 0;
}

int
cli_utf8(struct cli *c, const char *opt, const char *s)
{
	struct err e;

	if (s == NULL || u8_check((const uint8_t *)s, strlen(s)) == NULL)
		return 0;
	err_set(&e, EX_DATAERR, "%s is not valid UTF-8 text", opt);
	return cli_fail(c, &e);
}

int
cli_read_file(const char *path, size_t max, char **out, struct err *e)
{
	FILE *fp;
	struct stat sb;
	const uint8_t *bad;
	char *data;
	size_t n;

	*out = NULL;
	if ((fp = fopen(path, "rb")) == NULL)
		return err_set(e, errno == ENOENT ? EX_NOINPUT : EX_IOERR,
		    "%s: %s", path, strerror(errno));
	if (fstat(fileno(fp), &sb) != 0 || (size_t)sb.st_size > max) {
		fclose(fp);
		return err_set(e, EX_DATAERR, "%s: larger than %zu bytes", path,
		    max);
	}
	data = xmalloc((size_t)sb.st_size + 1);
	n = fread(data, 1, (size_t)sb.st_size, fp);
	fclose(fp);
	data[n] = '\0';
	if ((bad = u8_check((const uint8_t *)data, n)) != NULL ||
	    strlen(data) != n) {
		size_t off = bad ? (size_t)(bad - (const uint8_t *)data) :
		    strlen(data), line = 1, i;

		for (i = 0; i < off; i++)
			line += data[i] == '\n';
		free(data);
		return err_set(e, EX_DATAERR, "%s:%zu: not valid UTF-8 text",
		    path, line);
	}
	*out = data;
	return 0;
}

int
cli_format(struct cli *c, const char *s, enum cli_format *f)
{
	static const char *const names[] = { "text", "json", "csv", "html" };
	int i;

	for (i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*f = (enum cli_format)i;
			return 0;
		}
	return cli_usage(c, "--format must be text, json, csv or html");
}

int
cli_log_open(struct cli *c, const char *path, int quiet, FILE **out)
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
