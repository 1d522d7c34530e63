/*
 * render.c - campaign and recipient to message; see render.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "campaign.h"
#include "config.h"
#include "html.h"
#include "limits.h"
#include "render.h"
#include "store.h"
#include "xalloc.h"

struct render {
	struct render_campaign c;	/* strings owned below */
	struct render_config cfg;
	struct track_key key;
	struct tpl *subject;
	struct tpl *html;
	struct tpl *text;
	struct html_scan scan;
	char *from_domain;
	char *strings[16];		/* copies of the caller's strings */
	int nstrings;
	struct mime_header *headers;	/* copies of the custom headers */
	uint64_t serial;		/* tells renders apart in a render_ctx */
	int link_base;			/* added to its link numbers */
};

/* A freed render's address may come back for the next; its serial not. */
static uint64_t render_serial;

/* A copy of s kept in arr[*n] for freeing later; NULL stays NULL. */
static const char *
own(char **arr, int *n, const char *s)
{
	if (s == NULL)
		return NULL;
	arr[*n] = xstrdup(s);
	return arr[(*n)++];
}

static const char *
keep(struct render *r, const char *s)
{
	return own(r->strings, &r->nstrings, s);
}

static int
compile_part(struct render *r, const char *part, const char *src,
    enum tpl_ctx ctx, const struct html_scan *scan, struct tpl **out,
    struct err *e)
{
	struct tpl_source s = { r->c.template_name, part, ctx, scan };

	return tpl_compile(src, strlen(src), &s, out, e);
}

/*
 * The HTML part: always scanned, so javascript: and data: links fail the
 * template whatever the tracking settings; rewritten only as far as they
 * ask.
 */
static int
compile_html(struct render *r, struct err *e)
{
	struct html_scan use;

	if (html_scan(r->c.html, strlen(r->c.html), &r->scan, e) < 0) {
		err_prefix(e, "template %s, part html", r->c.template_name);
		return -1;
	}
	/* The targets (render_link) stay known whatever the settings: a
	 * campaign started with clicks off may be sent with them on. */
	use = r->scan;
	if (r->cfg.base_url == NULL || !r->cfg.clicks)
		use.nlinks = 0;
	if (r->cfg.base_url == NULL || !r->cfg.opens)
		use.pixel_at = (size_t)-1;
	return compile_part(r, "html", r->c.html, TPL_HTML, &use, &r->html, e);
}

static int
compile_text(struct render *r, struct err *e)
{
	struct buf derived;
	int rc;

	if (r->c.text != NULL)
		return compile_part(r, "text", r->c.text, TPL_TEXT, NULL,
		    &r->text, e);
	buf_init(&derived, LIMIT_TEMPLATE_PART * 2);
	rc = html_text(r->c.html, strlen(r->c.html), &derived, e);
	if (rc == 0)
		rc = compile_part(r, "text (from html)", buf_str(&derived),
		    TPL_TEXT, NULL, &r->text, e);
	buf_free(&derived);
	return rc;
}

int
render_open(const struct render_campaign *c, const struct render_config *cfg,
    const struct track_key *key, struct render **out, struct err *e)
{
	struct render *r = xcalloc(1, sizeof(*r));
	const char *at;
	int i;

	r->serial = __atomic_add_fetch(&render_serial, 1, __ATOMIC_RELAXED);
	*out = NULL;
	r->c = *c;
	r->c.name = keep(r, c->name);
	r->c.from_name = keep(r, c->from_name ? c->from_name : "");
	r->c.from_addr = keep(r, c->from_addr);
	r->c.reply_to = keep(r, c->reply_to);
	r->c.template_name = keep(r, c->template_name);
	r->c.subject = keep(r, c->subject);
	r->c.html = keep(r, c->html);
	r->c.text = keep(r, c->text);
	r->c.list_id = keep(r, c->list_id);
	r->c.feedback_id = keep(r, c->feedback_id);
	r->cfg.base_url = keep(r, cfg->base_url);
	r->cfg.return_path_domain = keep(r, cfg->return_path_domain);
	r->cfg.opens = cfg->opens;
	r->cfg.clicks = cfg->clicks;
	r->key = *key;
	r->headers = xcalloc((size_t)c->nheaders + 1, sizeof(*r->headers));
	for (i = 0; i < c->nheaders; i++) {
		r->headers[i].name = xstrdup(c->headers[i].name);
		r->headers[i].value = xstrdup(c->headers[i].value);
	}
	r->c.headers = r->headers;
	at = strrchr(r->c.from_addr, '@');
	r->from_domain = xstrdup(at ? at + 1 : "localhost");
	if (compile_part(r, "subject", r->c.subject, TPL_HEADER, NULL,
	    &r->subject, e) < 0 || compile_html(r, e) < 0 ||
	    compile_text(r, e) < 0) {
		render_close(r);
		return -1;
	}
	*out = r;
	return 0;
}

void
render_close(struct render *r)
{
	int i;

	if (r == NULL)
		return;
	tpl_free(r->subject);
	tpl_free(r->html);
	tpl_free(r->text);
	html_scan_free(&r->scan);
	for (i = 0; i < r->nstrings; i++)
		free(r->strings[i]);
	for (i = 0; r->headers != NULL && i < r->c.nheaders; i++) {
		free((char *)r->headers[i].name);
		free((char *)r->headers[i].value);
	}
	free(r->headers);
	free(r->from_domain);
	free(r);
}

struct vars_ctx {
	render_var_cb cb;
	void *ctx;
	const char *part;
};

static int
on_var(const char *path, int line, int col, int has_default, void *arg)
{
	struct vars_ctx *v = arg;

	return v->cb(v->part, path, line, col, has_default, v->ctx);
}

int
render_vars(const struct render *r, render_var_cb cb, void *ctx)
{
	struct vars_ctx v = { cb, ctx, "subject" };

	if (tpl_vars(r->subject, on_var, &v) < 0)
		return -1;
	v.part = "html";
	if (tpl_vars(r->html, on_var, &v) < 0)
		return -1;
	v.part = "text";
	return r->c.text == NULL ? 0 : tpl_vars(r->text, on_var, &v);
}

int
render_nlinks(const struct render *r)
{
	return r->scan.nlinks;
}

const char *
render_link(const struct render *r, int i)
{
	if (i < 0 || i >= r->scan.nlinks ||
	    r->scan.links[i].kind != HTML_LINK_TRACK)
		return NULL;
	return r->scan.links[i].url;
}

void
render_ctx_init(struct render_ctx *x)
{
	tpl_scratch_init(&x->scratch);
	x->mac = NULL;
	x->mac_for = 0;
	buf_init(&x->subject, LIMIT_SUBJECT * 4);
	buf_init(&x->html, LIMIT_MESSAGE);
	buf_init(&x->text, LIMIT_MESSAGE);
	buf_init(&x->url, 1024);
	buf_init(&x->msg, LIMIT_MESSAGE);
}

void
render_ctx_free(struct render_ctx *x)
{
	tpl_scratch_free(&x->scratch);
	track_mac_free(x->mac);
	x->mac = NULL;
	buf_free(&x->subject);
	buf_free(&x->html);
	buf_free(&x->text);
	buf_free(&x->url);
	buf_free(&x->msg);
}

/* What the link and pixel callbacks need to sign for this recipient. */
struct sign {
	const struct render *r;
	const struct render_rcpt *rc;
	struct track_mac *mac;
};

/* The thread's HMAC state, keyed for r: made on first use. */
static struct track_mac *
ctx_mac(const struct render *r, struct render_ctx *x)
{
	if (x->mac_for != r->serial) {
		track_mac_free(x->mac);
		if ((x->mac = track_mac_new(&r->key)) == NULL) {
			fprintf(stderr, "postbote: no HMAC-SHA256 in OpenSSL\n");
			exit(EX_SOFTWARE);
		}
		x->mac_for = r->serial;
	}
	return x->mac;
}

static int
tracked_url(const struct sign *s, enum track_kind kind, int link,
    const char *suffix, struct buf *out)
{
	char token[TRACK_TOKEN_MAX];

	track_token(s->mac, kind, s->r->c.id, s->rc->id, link, token);
	return buf_printf(out, "%s/%c/%s%s", s->r->cfg.base_url, (char)kind,
	    token, suffix);
}

static int
on_link(void *ctx, int index, struct buf *out)
{
	const struct sign *s = ctx;

	return tracked_url(s, TRACK_CLICK, s->r->link_base + index, "", out);
}

static int
on_pixel(void *ctx, struct buf *out)
{
	if (buf_adds(out, "<img src=\"") < 0 ||
	    tracked_url(ctx, TRACK_OPEN, 0, ".gif", out) < 0)
		return -1;
	return buf_adds(out, "\" width=\"1\" height=\"1\" alt=\"\" "
	    "style=\"display:block;border:0;width:1px;height:1px\">");
}

/*
 * A text part derived from HTML keeps the line structure of the block tags
 * that html_text() passed through; once rendered, blocks that produced
 * nothing leave blank or space-only lines. Trailing blanks go, and no
 * more than one empty line stands in a row.
 */
static void
tidy_text(struct buf *b)
{
	size_t i, o = 0, line = 0;

	for (i = 0; i < b->len; i++) {
		char ch = b->data[i];

		if (ch == '\n') {
			while (o > line && (b->data[o - 1] == ' ' ||
			    b->data[o - 1] == '\t'))
				o--;
			if (o == 0 || (o >= 2 && b->data[o - 1] == '\n' &&
			    b->data[o - 2] == '\n'))
				continue;
			line = o + 1;
		}
		b->data[o++] = ch;
	}
	b->len = o;
	if (b->data != NULL)
		b->data[o] = '\0';
}

static int
render_parts(const struct render *r, const struct render_rcpt *rc,
    struct render_ctx *x, struct err *e)
{
	struct sign s = { r, rc, ctx_mac(r, x) };
	struct tpl_env env;

	memset(&env, 0, sizeof(env));
	env.attrs = rc->attrs;
	env.email = rc->address;
	env.campaign_name = r->c.name;
	env.unsubscribe_url = r->cfg.base_url ? buf_str(&x->url) : "";
	env.date_ms = rc->date_ms;
	env.strict = r->c.strict;
	env.link = on_link;
	env.pixel = on_pixel;
	env.ctx = &s;
	buf_reset(&x->subject);
	buf_reset(&x->html);
	buf_reset(&x->text);
	if (tpl_render(r->subject, &env, &x->subject, &x->scratch, e) < 0 ||
	    tpl_render(r->html, &env, &x->html, &x->scratch, e) < 0 ||
	    tpl_render(r->text, &env, &x->text, &x->scratch, e) < 0)
		return -1;
	if (r->c.text == NULL)
		tidy_text(&x->text);
	return 0;
}

int
render_message(const struct render *r, const struct render_rcpt *rc,
    struct render_ctx *x, struct err *e)
{
	struct sign s = { r, rc, ctx_mac(r, x) };
	char token[TRACK_TOKEN_MAX], msgid[TRACK_TOKEN_MAX + 260];
	char mailto[TRACK_TOKEN_MAX + 300];
	struct mime_msg m;

	buf_reset(&x->url);
	if (r->cfg.base_url != NULL &&
	    tracked_url(&s, TRACK_UNSUBSCRIBE, 0, "", &x->url) < 0)
		return err_set(e, EX_SOFTWARE, "unsubscribe URL too long");
	if (render_parts(r, rc, x, e) < 0)
		return -1;
	track_token(s.mac, TRACK_MESSAGE, r->c.id, rc->id, 0, token);
	snprintf(msgid, sizeof(msgid), "%s@%s", token, r->from_domain);
	memset(&m, 0, sizeof(m));
	m.from_name = r->c.from_name;
	m.from_addr = r->c.from_addr;
	m.to_addr = rc->address;
	m.reply_to = r->c.reply_to;
	m.subject = buf_str(&x->subject);
	m.text = buf_str(&x->text);
	m.text_len = x->text.len;
	m.html = buf_str(&x->html);
	m.html_len = x->html.len;
	m.date_ms = rc->date_ms;
	m.message_id = msgid;
	if (r->cfg.base_url != NULL)
		m.unsubscribe_url = buf_str(&x->url);
	if (r->cfg.return_path_domain != NULL) {
		track_token(s.mac, TRACK_UNSUBSCRIBE, r->c.id, rc->id, 0,
		    token);
		snprintf(mailto, sizeof(mailto), "unsubscribe+%s@%s", token,
		    r->cfg.return_path_domain);
		m.unsubscribe_mailto = mailto;
	}
	m.list_id = r->c.list_id;
	m.feedback_id = r->c.feedback_id;
	m.headers = r->c.headers;
	m.nheaders = r->c.nheaders;
	buf_reset(&x->msg);
	return mime_build(&m, &x->msg, e);
}

void
render_envelope(const struct render *r, const struct render_rcpt *rc,
    struct render_ctx *x, char *out, size_t n)
{
	char token[TRACK_TOKEN_MAX];

	if (r->cfg.return_path_domain == NULL) {
		snprintf(out, n, "%s", r->c.from_addr);
		return;
	}
	track_token(ctx_mac(r, x), TRACK_BOUNCE, r->c.id, rc->id, 0, token);
	snprintf(out, n, "bounces+%s@%s", token, r->cfg.return_path_domain);
}

int
render_check(const char *template_name, const char *subject,
    const char *html, const char *text, struct err *e)
{
	struct render_campaign c = { 0 };
	struct render_config cfg = { "https://check.invalid", 1, 1, NULL };
	struct track_key key = { { 0 }, 32 };
	struct render *r;

	c.name = "check";
	c.from_addr = "check@example.invalid";
	c.template_name = template_name;
	c.subject = subject;
	c.html = html;
	c.text = text;
	if (render_open(&c, &cfg, &key, &r, e) < 0)
		return -1;
	render_close(r);
	return 0;
}

/* ---------------------------------------------------------------- load */

static const char *
hold(struct render_source *l, const char *s)
{
	return own(l->s, &l->ns, s);
}

static int
on_campaign(const struct campaign_render *cr, void *ctx)
{
	struct render_source *l = ctx;

	l->found_campaign = 1;
	l->rc.id = cr->id;
	l->rc.name = hold(l, cr->name);
	l->rc.from_name = hold(l, cr->from_name);
	l->rc.from_addr = hold(l, cr->from_addr);
	l->rc.reply_to = hold(l, cr->reply_to);
	l->rc.template_name = hold(l, cr->template_name);
	l->rc.subject = hold(l, cr->subject);
	l->rc.html = hold(l, cr->html);
	l->rc.text = hold(l, cr->text);
	return campaign_options_parse(cr->options, &l->opts, NULL) < 0 ? -1 : 0;
}

static int
on_template(const struct template_info *t, void *ctx)
{
	struct render_source *l = ctx;

	l->rc.template_name = hold(l, t->name);
	l->rc.subject = hold(l, t->subject);
	l->rc.html = hold(l, t->html);
	l->rc.text = hold(l, t->text);
	return 0;
}

int
render_source_load(struct store *st, const char *campaign,
    const char *template_name, int version, const char *subject,
    struct render_source *l, struct err *e)
{
	memset(l, 0, sizeof(*l));
	if (campaign != NULL && store_campaign_render(st, campaign,
	    on_campaign, l, e) < 0) {
		if (l->found_campaign)
			err_set(e, EX_DATAERR, "campaign %s: its stored options "
			    "are not valid", campaign);
		goto fail;
	}
	if (template_name != NULL && store_template_get(st, template_name,
	    version, on_template, l, e) < 0)
		goto fail;
	if (l->rc.subject == NULL) {
		err_set(e, EX_USAGE, "render_load: neither campaign nor "
		    "template");
		goto fail;
	}
	if (subject != NULL)
		l->rc.subject = subject;
	if (campaign == NULL) {
		l->rc.name = "preview";
		l->rc.from_name = "Postbote Preview";
		l->rc.from_addr = "preview@example.invalid";
	}
	l->rc.strict = l->opts.strict;
	l->rc.list_id = l->opts.list_id;
	l->rc.feedback_id = l->opts.feedback_id;
	l->rc.headers = l->opts.headers;
	l->rc.nheaders = l->opts.nheaders;
	return 0;
fail:
	render_source_free(l);
	return -1;
}

void
render_source_free(struct render_source *l)
{
	int i;

	campaign_options_free(&l->opts);
	for (i = 0; i < l->ns; i++)
		free(l->s[i]);
	l->ns = 0;
}

void
render_set_link_base(struct render *r, int base)
{
	r->link_base = base;
}

int
render_load(struct store *st, const struct config *cfg, const char *campaign,
    const char *template_name, int version, struct render **out,
    int64_t *campaign_id, struct err *e)
{
	return render_load_subject(st, cfg, campaign, template_name, version,
	    NULL, out, campaign_id, e);
}

int
render_load_subject(struct store *st, const struct config *cfg,
    const char *campaign, const char *template_name, int version,
    const char *subject, struct render **out, int64_t *campaign_id,
    struct err *e)
{
	struct render_config rcfg = { 0 };
	struct render_source l;
	struct track_key key;
	int rc;

	*out = NULL;
	*campaign_id = 0;
	if (track_key_load(st, 1, &key, e) < 0)
		return -1;
	if (render_source_load(st, campaign, template_name, version, subject,
	    &l, e) < 0) {
		OPENSSL_cleanse(&key, sizeof(key));
		return -1;
	}
	rcfg.base_url = cfg->tracking_base_url;
	rcfg.opens = cfg->tracking_opens;
	rcfg.clicks = cfg->tracking_clicks;
	rcfg.return_path_domain = cfg->return_path_domain;
	rc = render_open(&l.rc, &rcfg, &key, out, e);
	*campaign_id = l.rc.id;
	render_source_free(&l);
	OPENSSL_cleanse(&key, sizeof(key));
	return rc;
}
