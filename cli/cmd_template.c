/*
 * cmd_template.c - postbote template add|show|ls.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "addr.h"
#include "cli.h"
#include "limits.h"
#include "render.h"
#include "store.h"
#include "xalloc.h"

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
	/* A template that does not compile is refused before it is stored. */
	if (render_check(argv[optind], subject, html, text, &e) < 0) {
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

struct tpl_out {
	struct cli *c;
	int json;
	const char *part;
	struct jarr arr;
	struct table t;
};

static int
tpl_show_one(const struct template_info *t, void *ctx)
{
	struct tpl_out *tc = ctx;
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
	struct tpl_out tc = { .c = c };
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
	struct tpl_out *tc = ctx;
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
	struct tpl_out tc = { .c = c };
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

/* ---------------------------------------------------------------- preview */

struct preview {
	const char *email;
	const char *attrs;
	const char *campaign;
	const char *html_out;
	int64_t version;
	/* the recipient */
	int64_t id;
	char *address;
	json_t *json;
};

static int
on_recipient(int64_t id, const char *address, const char *attrs, void *ctx)
{
	struct preview *p = ctx;

	p->id = id;
	p->address = xstrdup(address);
	p->json = json_loads(attrs, 0, NULL);
	return 0;
}

/* --email: a stored recipient; --attrs: given attributes; else none. */
static int
preview_recipient(struct store *st, struct preview *p, struct err *e)
{
	json_error_t jerr;
	struct addr a;

	if (p->email != NULL) {
		if (addr_parse(p->email, strlen(p->email), &a, e) < 0) {
			err_prefix(e, "--email");
			return -1;
		}
		return store_recipient_get(st, a.key, on_recipient, p, e);
	}
	p->json = json_loads(p->attrs ? p->attrs : "{}", 0, &jerr);
	if (!json_is_object(p->json))
		return err_set(e, EX_USAGE, "--attrs, column %d: not a JSON "
		    "object%s%s", jerr.column, p->json ? "" : ": ",
		    p->json ? "" : jerr.text);
	p->address = xstrdup(json_is_string(json_object_get(p->json,
	    "email")) ? json_string_value(json_object_get(p->json, "email")) :
	    "preview@example.com");
	return 0;
}

static int
write_file(const char *path, const char *s, size_t n, struct err *e)
{
	FILE *fp = fopen(path, "wb");

	if (fp == NULL)
		return err_set(e, EX_CANTCREAT, "%s: %m", path);
	if (fwrite(s, 1, n, fp) != n || fclose(fp) != 0)
		return err_set(e, EX_IOERR, "%s: %m", path);
	return 0;
}

static int
preview_run(struct cli *c, struct store *st, const char *name,
    struct preview *p, struct err *e)
{
	struct render_ctx x;
	struct render_rcpt rc;
	struct render *r;
	int64_t campaign_id;
	int ret;

	if (preview_recipient(st, p, e) < 0 ||
	    render_load(st, c->cfg, p->campaign, name, (int)p->version, &r,
	    &campaign_id, e) < 0)
		return -1;
	render_ctx_init(&x);
	rc.id = p->id;
	rc.address = p->address;
	rc.attrs = p->json;
	rc.date_ms = store_now_ms();
	ret = render_message(r, &rc, &x, e);
	if (ret == 0 && p->html_out != NULL)
		ret = write_file(p->html_out, x.html.data ? x.html.data : "",
		    x.html.len, e);
	if (ret == 0 && fwrite(buf_str(&x.msg), 1, x.msg.len, stdout) !=
	    x.msg.len)
		ret = err_set(e, EX_IOERR, "writing the message failed");
	render_ctx_free(&x);
	render_close(r);
	return ret;
}

static int
tpl_preview(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "email", required_argument, NULL, 'e' },
		{ "attrs", required_argument, NULL, 'a' },
		{ "campaign", required_argument, NULL, 'c' },
		{ "html", required_argument, NULL, 'H' },
		{ "version", required_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	struct preview p = { 0 };
	struct store *st;
	struct err e;
	int ch, rc;

	while ((ch = cli_getopt(c, argc, argv, "e:a:c:H:v:", opts)) != -1) {
		switch (ch) {
		case 'e': p.email = optarg; break;
		case 'a': p.attrs = optarg; break;
		case 'c': p.campaign = optarg; break;
		case 'H': p.html_out = optarg; break;
		case 'v':
			if ((rc = cli_number(c, "--version", optarg,
			    &p.version)) != 0)
				return rc;
			break;
		default: return EX_USAGE;
		}
	}
	if (cli_args(c, argc, argv, 1, "NAME") != 0)
		return EX_USAGE;
	if (p.email != NULL && p.attrs != NULL)
		return cli_usage(c, "--email and --attrs exclude each other");
	if ((rc = cli_open(c, &st)) != 0)
		return rc;
	if (preview_run(c, st, argv[optind], &p, &e) < 0)
		rc = cli_fail(c, &e);
	free(p.address);
	json_decref(p.json);
	store_close(st);
	return rc;
}

/* ------------------------------------------------------------------ check */

struct check {
	struct cli *c;
	struct store *st;
	int64_t list_id;
	const char *list;
	int missing;
	struct err e;
	int failed;
};

/* JSON path for json_type(): every name quoted, as segment.c does. */
static void
json_path(const char *dotted, char *out, size_t n)
{
	size_t used = (size_t)snprintf(out, n, "$");
	const char *p = dotted, *dot;

	while (used < n) {
		dot = strchr(p, '.');
		used += (size_t)snprintf(out + used, n - used, ".\"%.*s\"",
		    (int)(dot ? (size_t)(dot - p) : strlen(p)), p);
		if (dot == NULL)
			break;
		p = dot + 1;
	}
}

static int
check_var(const char *part, const char *path, int line, int col,
    int has_default, void *ctx)
{
	struct check *k = ctx;
	char jp[600];
	int64_t n;

	json_path(path, jp, sizeof(jp));
	if (store_list_attr_count(k->st, k->list_id, jp, &n, &k->e) < 0) {
		k->failed = 1;
		return -1;
	}
	if (n > 0)
		return 0;
	if (!has_default)
		k->missing++;
	fprintf(stderr, "%s: part %s, line %d, column %d: no member of list "
	    "%s has \"%s\"%s\n", k->c->prog, part, line, col, k->list, path,
	    has_default ? " (its default is used)" : "");
	return 0;
}

static int
tpl_check(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "list", required_argument, NULL, 'l' },
		{ "version", required_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	struct check k = { .c = c };
	int64_t version = 0, campaign_id;
	struct render *r = NULL;
	struct err e;
	int ch, rc;

	while ((ch = cli_getopt(c, argc, argv, "l:v:", opts)) != -1) {
		if (ch == 'l')
			k.list = optarg;
		else if (ch == 'v') {
			if ((rc = cli_number(c, "--version", optarg,
			    &version)) != 0)
				return rc;
		} else
			return EX_USAGE;
	}
	if (cli_args(c, argc, argv, 1, "NAME") != 0)
		return EX_USAGE;
	if ((rc = cli_open(c, &k.st)) != 0)
		return rc;
	if (render_load(k.st, c->cfg, NULL, argv[optind], (int)version, &r,
	    &campaign_id, &e) < 0 || (k.list != NULL &&
	    store_list_id(k.st, k.list, &k.list_id, &e) < 0)) {
		rc = cli_fail(c, &e);
		goto out;
	}
	if (k.list != NULL && render_vars(r, check_var, &k) < 0) {
		rc = cli_fail(c, k.failed ? &k.e : &e);
		goto out;
	}
	if (k.missing > 0) {
		err_set(&e, EX_DATAERR, "template %s: %d variable(s) that no "
		    "member of list %s has", argv[optind], k.missing, k.list);
		rc = cli_fail(c, &e);
	} else if (c->tty)
		printf("template %s compiles%s%s\n", argv[optind],
		    k.list ? "; every variable is known on list " : "",
		    k.list ? k.list : "");
	else
		out_kv("template=%s ok=1", argv[optind]);
out:
	render_close(r);
	store_close(k.st);
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
	{ "preview", tpl_preview, "the complete message as it would be sent",
	  "preview NAME [--email ADDRESS | --attrs JSON] [--campaign C]\n"
	  "       [--version N] [--html FILE]\n\n"
	  "Renders the template for one recipient and prints the whole message\n"
	  "(headers and MIME parts, before DKIM). --email takes a stored\n"
	  "recipient's attributes, --attrs a JSON object; --campaign renders it\n"
	  "with that campaign's From, options and tracking tokens. --html FILE\n"
	  "also writes the rendered HTML part, for a browser.\n\n"
	  "example: postbote template preview newsletter --attrs "
	  "'{\"first_name\": \"Jürgen\"}'\n" },
	{ "check", tpl_check, "compile a template and check its variables",
	  "check NAME [--version N] [--list LIST]\n\n"
	  "Compiles every part and reports syntax errors, unknown filters and\n"
	  "unbalanced blocks with line and column. With --list, also every\n"
	  "variable that no member of LIST has (exit 65 unless the variable\n"
	  "has a default).\n" },
	{ NULL, NULL, NULL, NULL }
};
