/*
 * template.h - the template language: compiled once, rendered per recipient.
 *
 *   {{ first_name }}  {{ address.city }}  {{ orders.0.total }}
 *   {{ first_name | default: "there" | capitalize }}
 *   {{#if plan == "pro" and seats > 5}} ... {{else if trial}} ... {{else}}
 *   ... {{/if}}   {{#unless vip}} ... {{/unless}}
 *   {{#each orders as order}} {{ @number }}. {{ order.item }} {{/each}}
 *   {{! a comment }}
 *
 * tpl_compile() parses one part (subject, html or text) into a compact
 * program: text runs, variable lookups with their filters, jumps for
 * blocks. tpl_render() walks it over one recipient's attributes (a jansson
 * object) and built-ins, appending to a caller-owned buffer whose maximum
 * is the per-message output cap. Values are escaped for the part they land
 * in (HTML-escaped in html unless `raw`; CR and LF become spaces in
 * headers; text as is) and are never parsed again, so an attribute holding
 * "{{ unsubscribe_url }}" or "<script>" renders literally.
 *
 * Built-ins, which win over attributes of the same name: email,
 * unsubscribe_url, date (the message's date, YYYY-MM-DD), campaign.name,
 * and inside each: @index (from 0), @number (from 1), @first, @last, this.
 *
 * A compiled struct tpl is immutable: any number of threads may render it
 * at once, each with its own struct tpl_scratch and output buffer.
 */
#ifndef POSTBOTE_TEMPLATE_H
#define POSTBOTE_TEMPLATE_H

#include <jansson.h>
#include <stdint.h>
#include "buf.h"
#include "err.h"

struct html_scan;
struct tpl;

/* How rendered values are escaped. */
enum tpl_ctx { TPL_TEXT, TPL_HTML, TPL_HEADER };

struct tpl_source {
	const char *template_name;	/* named in errors */
	const char *part;		/* "subject", "html" or "text" */
	enum tpl_ctx ctx;
	/*
	 * HTML only: where tracking rewrites the output. Every TRACK link's
	 * href value is replaced by a call to tpl_env.link, and tpl_env.pixel
	 * is called at pixel_at. NULL: the HTML goes out as written.
	 */
	const struct html_scan *scan;
};

/*
 * EX_DATAERR on a syntax error, naming template, part, line and column,
 * followed by the offending line and a caret under the column.
 */
int tpl_compile(const char *src, size_t len, const struct tpl_source *s,
    struct tpl **out, struct err *e) WUR;
void tpl_free(struct tpl *t);

struct tpl_env {
	json_t *attrs;			/* the recipient's attributes */
	const char *email;
	const char *campaign_name;
	const char *unsubscribe_url;
	int64_t date_ms;
	int strict;			/* a missing variable fails the render */
	/* Tracking: append link i's URL, or the pixel's; NULL to skip. */
	int (*link)(void *ctx, int index, struct buf *out);
	int (*pixel)(void *ctx, struct buf *out);
	void *ctx;
};

/* Per-thread working space, reused from one render to the next. */
struct tpl_scratch {
	struct buf a;
	struct buf b;
};

void tpl_scratch_init(struct tpl_scratch *s);
void tpl_scratch_free(struct tpl_scratch *s);

/*
 * Appends the rendered part to out. EX_DATAERR when a strict render meets a
 * missing variable or out's maximum is reached; e says which and where.
 */
int tpl_render(const struct tpl *t, const struct tpl_env *env,
    struct buf *out, struct tpl_scratch *s, struct err *e) WUR;

/*
 * The attribute paths a template reads outside each blocks (built-ins
 * left out), with where they stand; for `template check --list`.
 */
typedef int (*tpl_var_cb)(const char *path, int line, int col,
    int has_default, void *ctx);
int tpl_vars(const struct tpl *t, tpl_var_cb cb, void *ctx);

#endif
