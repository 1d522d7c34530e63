/*
 * cli.h - what the command files share: the invocation context, command
 * tables, option parsing and output helpers (out.c).
 *
 * A command returns a sysexits code. Errors are printed once, by
 * cli_fail(), as "postbote: <message>" on stderr. Output to a terminal is
 * for people (aligned tables, sentences); anywhere else it is for scripts
 * (tab-separated rows without a header, key=value summaries) unless --json
 * asks for JSON.
 */
#ifndef POSTBOTE_CLI_H
#define POSTBOTE_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

struct store;
struct config;

struct cli {
	const char *db;		/* resolved database path */
	const char *config;	/* config path */
	const struct config *cfg;	/* the loaded config */
	int tty;		/* stdout is a terminal */
	const char *prog;	/* "postbote list import" for messages */
};

typedef int (*cli_fn)(struct cli *c, int argc, char **argv);

struct cli_cmd {
	const char *name;
	cli_fn fn;
	const char *summary;
	const char *usage;	/* full help: synopsis, options, examples */
};

/* Runs the subcommand argv[0] from table (NULL-terminated), handling
 * --help and "help". group is "list", "campaign", ... */
int cli_dispatch(struct cli *c, const char *group, const struct cli_cmd *cmds,
    int argc, char **argv);
/* Prints "usage" help for one command. */
void cli_help(const char *group, const struct cli_cmd *cmd, FILE *fp);

/*
 * getopt_long over argv (--help never reaches it: cli_dispatch answers it
 * wherever it stands). Returns the option character, -1 at the end, or
 * '?' after printing a usage error.
 */
int cli_getopt(struct cli *c, int argc, char **argv, const char *shortopts,
    const struct option *longopts);
/* Fails with EX_USAGE unless exactly n positional arguments remain. */
int cli_args(struct cli *c, int argc, char **argv, int n, const char *what);

int cli_fail(struct cli *c, const struct err *e);
int cli_usage(struct cli *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int cli_open(struct cli *c, struct store **st);

/*
 * Where a command's log lines go: stderr, stdout for "-", the file path
 * opened for appending, or nowhere with quiet. EX_CANTCREAT (said on
 * stderr) when the file cannot be opened.
 */
int cli_log_open(struct cli *c, const char *path, int quiet, FILE **out);

/* --format of the reports: 0 text, 1 json, 2 csv, 3 html; EX_USAGE for
   anything else. */
enum cli_format { CLI_TEXT, CLI_JSON, CLI_CSV, CLI_HTML };
int cli_format(struct cli *c, const char *s, enum cli_format *f);

/* Parses a non-negative integer option; EX_USAGE when it is not one. */
int cli_number(struct cli *c, const char *opt, const char *s, int64_t *out);

/*
 * Fails with EX_DATAERR, naming opt, unless s is valid UTF-8: whatever a
 * command stores must come back out of --json, and JSON is UTF-8.
 */
int cli_utf8(struct cli *c, const char *opt, const char *s);

/* Reads a whole UTF-8 text file of at most max bytes into *out. */
int cli_read_file(const char *path, size_t max, char **out, struct err *e);

/* ------------------------------------------------------------------ out */

#define OUT_MAX_COLS	12

struct table {
	int ncols;
	int tty;
	const char *head[OUT_MAX_COLS];
	char **rows;		/* buffered cells while widths are measured */
	int nrows;
	int width[OUT_MAX_COLS];
	int flushed;
};

void out_table_begin(struct table *t, int tty, int ncols,
    const char *const *head);
int out_table_row(struct table *t, const char *const *cells);
int out_table_end(struct table *t);

/*
 * A JSON array streamed an element at a time, so a listing of a million
 * suppressions never sits in memory. out_jarr_add() takes the reference.
 */
struct jarr {
	int on;			/* --json was given */
	long n;
};

void out_jarr_begin(struct jarr *a);
int out_jarr_add(struct jarr *a, json_t *v);
void out_jarr_end(struct jarr *a);

/* Prints a JSON value (indented on a terminal) and a newline. */
int out_json(struct cli *c, json_t *v);
/* Formats Unix ms for people ("-" for 0); ISO 8601 UTC for JSON. */
const char *out_time(int64_t ms, char *buf, size_t n);
json_t *out_json_time(int64_t ms);
/* One "key=value ..." summary line for scripts. */
void out_kv(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A sentence for people; silent when stdout is not a terminal. */
void out_say(struct cli *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Command tables of each group. */
extern const struct cli_cmd cmd_list[];
extern const struct cli_cmd cmd_suppress[];
extern const struct cli_cmd cmd_template[];
extern const struct cli_cmd cmd_campaign[];
extern const struct cli_cmd cmd_dkim[];
extern const struct cli_cmd cmd_webhooks[];
extern const struct cli_cmd cmd_track[];
extern const struct cli_cmd cmd_bounce[];
int cmd_init(struct cli *c, int argc, char **argv);
int cmd_send(struct cli *c, int argc, char **argv);
int cmd_status(struct cli *c, int argc, char **argv);
int cmd_hygiene(struct cli *c, int argc, char **argv);
int cmd_report(struct cli *c, int argc, char **argv);
int cmd_lint(struct cli *c, int argc, char **argv);
int cmd_doctor(struct cli *c, int argc, char **argv);

#endif
