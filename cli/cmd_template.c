/*
 * cmd_template.c - postbote template add|show|ls.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "limits.h"
#include "store.h"

static int
tpl_add(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "subject", required_argument, NULL, 's' },
		{ "html", required_argument, NULL, 'H' },
		{ "text", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	const char *subject = NULL, *html_path = NULL, *text_path = NULL;
	char *html = NULL, *text = NULL;
	struct store *st = NULL;
	struct err e;
	int ch, rc, version;

	while ((ch = cli_getopt(c, argc, argv, "s:H:t:", opts)) != -1) {
		switch (ch) {
		case 's': subject = optarg; break;
		case 'H': html_path = optarg; break;
		case 't': text_path = optarg; break;
		default: return EX_USAGE;
		}
	}
	if (cli_args(c, argc, argv, 1, "NAME") != 0)
		return EX_USAGE;
	if (subject == NULL || html_path == NULL)
		return cli_usage(c, "--subject and --html are required");
	if (strlen(subject) > LIMIT_SUBJECT || strpbrk(subject, "\r\n"))
		return cli_usage(c, "--subject must be one line of at most %d "
		    "bytes", LIMIT_SUBJECT);
	if ((rc = cli_utf8(c, "--subject", subject)) != 0)
		return rc;
	if (cli_read_file(html_path, LIMIT_TEMPLATE_PART, &html, &e) < 0 ||
	    (text_path != NULL && cli_read_file(text_path,
	    LIMIT_TEMPLATE_PART, &text, &e) < 0)) {
		rc = cli_fail(c, &e);
		goto out;
	}
	if ((rc = cli_open(c, &st)) != 0)
		goto out;
	if (store_template_add(st, argv[optind], subject, html, text, &version,
	    &e) < 0)
		rc = cli_fail(c, &e);
	else if (c->tty)
		printf("template %s version %d\n", argv[optind], version);
	else
		out_kv("template=%s version=%d", argv[optind], version);
out:
	store_close(st);
	free(html);
	free(text);
	return rc;
}

struct tpl_ctx {
	struct cli *c;
	int json;
	const char *part;
	struct jarr arr;
	struct table t;
};

static int
tpl_show_one(const struct template_info *t, void *ctx)
{
	struct tpl_ctx *tc = ctx;
	char when[32];

	if (tc->json)
		return out_json(tc->c, json_pack("{s:s, s:i, s:i, s:s, s:s, "
		    "s:s?, s:o}", "name", t->name, "version", t->version,
		    "versions", t->versions, "subject", t->subject, "html",
		    t->html, "text", t->text, "created",
		    out_json_time(t->created_at)));
	if (tc->part != NULL) {
		const char *s = strcmp(tc->part, "html") == 0 ? t->html :
		    strcmp(tc->part, "text") == 0 ? t->text : t->subject;

		if (s != NULL)
			printf("%s%s", s, s[0] && s[strlen(s) - 1] == '\n' ?
			    "" : "\n");
		return 0;
	}
	printf("template %s, version %d of %d, added %s\n", t->name,
	    t->version, t->versions, out_time(t->created_at, when,
	    sizeof(when)));
	printf("subject: %s\n", t->subject);
	printf("html:    %zu bytes\n", strlen(t->html));
	if (t->text != NULL)
		printf("text:    %zu bytes\n", strlen(t->text));
	else
		printf("text:    none\n");
	return 0;
}

static int
tpl_show(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "version", required_argument, NULL, 'v' },
		{ "part", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 }
	};
	struct tpl_ctx tc = { .c = c };
	int64_t version = 0;
	struct store *st;
	struct err e;
	int ch, rc;

	while ((ch = cli_getopt(c, argc, argv, "jv:p:", opts)) != -1) {
		if (ch == 'j')
			tc.json = 1;
		else if (ch == 'v') {
			if ((rc = cli_number(c, "--version", optarg,
			    &version)) != 0)
				return rc;
		} else if (ch == 'p') {
			tc.part = optarg;
			if (strcmp(optarg, "subject") && strcmp(optarg, "html") &&
			    strcmp(optarg, "text"))
				return cli_usage(c, "--part is subject, html or "
				    "text");
		} else
			return EX_USAGE;
	}
	if (cli_args(c, argc, argv, 1, "NAME") != 0)
		return EX_USAGE;
	if ((rc = cli_open(c, &st)) != 0)
		return rc;
	if (store_template_get(st, argv[optind], (int)version, tpl_show_one,
	    &tc, &e) < 0)
		rc = cli_fail(c, &e);
	store_close(st);
	return rc;
}

static int
tpl_ls_one(const struct template_info *t, void *ctx)
{
	struct tpl_ctx *tc = ctx;
	char version[16], when[32];
	const char *cells[4] = { t->name, version, t->subject, when };

	if (tc->json)
		return out_jarr_add(&tc->arr, json_pack("{s:s, s:i, "
		    "s:s, s:o}", "name", t->name, "version", t->version,
		    "subject", t->subject, "created",
		    out_json_time(t->created_at)));
	snprintf(version, sizeof(version), "%d", t->version);
	out_time(t->created_at, when, sizeof(when));
	return out_table_row(&tc->t, cells);
}

static int
tpl_ls(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 }
	};
	static const char *head[] = { "TEMPLATE", "VERSION", "SUBJECT",
	    "CREATED" };
	struct tpl_ctx tc = { .c = c };
	struct store *st;
	struct err e;
	int ch, rc;

	while ((ch = cli_getopt(c, argc, argv, "j", opts)) != -1)
		if (ch == 'j')
			tc.json = 1;
		else
			return EX_USAGE;
	if (cli_args(c, argc, argv, 0, "no arguments") != 0)
		return EX_USAGE;
	if ((rc = cli_open(c, &st)) != 0)
		return rc;
	if (tc.json)
		out_jarr_begin(&tc.arr);
	else
		out_table_begin(&tc.t, c->tty, 4, head);
	if (store_template_each(st, tpl_ls_one, &tc, &e) < 0)
		rc = cli_fail(c, &e);
	if (tc.json)
		out_jarr_end(&tc.arr);
	else
		out_table_end(&tc.t);
	store_close(st);
	return rc;
}

const struct cli_cmd cmd_template[] = {
	{ "add", tpl_add, "add a template, or a new version of one",
	  "add NAME --subject TEXT --html FILE [--text FILE]\n\n"
	  "Files must be UTF-8. Adding an existing NAME stores a new version;\n"
	  "campaigns keep the version they were created with.\n\n"
	  "example: postbote template add newsletter --subject 'News for "
	  "{{ first_name }}' \\\n"
	  "           --html templates/newsletter.html --text "
	  "templates/newsletter.txt\n" },
	{ "show", tpl_show, "a template's subject and parts",
	  "show NAME [--version N] [--part subject|html|text] [--json]\n" },
	{ "ls", tpl_ls, "all templates, newest versions", "ls [--json]\n" },
	{ NULL, NULL, NULL, NULL }
};
