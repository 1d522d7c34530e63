/*
 * render.h - one call from (campaign, recipient) to a complete message.
 *
 * render_open() compiles a campaign's template once: the subject (escaped
 * for a header), the HTML part (scanned with html.h, its links and the
 * open pixel rewritten when tracking is on) and the text part (the
 * template's own, or one derived from the HTML). render_message() then
 * renders one recipient into a per-thread struct render_ctx and assembles
 * the message with mime.h: Message-ID derived from a signed token, so a
 * retry of the same delivery produces the same message; List-Unsubscribe
 * with One-Click (RFC 8058) when a tracking server is configured.
 *
 * A struct render is immutable after render_open(): any number of threads
 * may call render_message() at once, each with its own render_ctx.
 */
#ifndef POSTBOTE_RENDER_H
#define POSTBOTE_RENDER_H

#include <jansson.h>
#include <stdint.h>
#include "buf.h"
#include "campaign.h"
#include "err.h"
#include "mime.h"
#include "template.h"
#include "track.h"

struct render;

struct render_campaign {
	int64_t id;			/* 0: a preview outside any campaign */
	const char *name;
	const char *from_name;
	const char *from_addr;
	const char *reply_to;		/* NULL: none */
	const char *template_name;
	const char *subject;		/* template sources */
	const char *html;
	const char *text;		/* NULL: derived from the HTML */
	int strict;			/* missing variables fail a recipient */
	const char *list_id;		/* NULL: no List-Id */
	const char *feedback_id;	/* NULL: no Feedback-ID */
	const struct mime_header *headers;
	int nheaders;
};

struct render_config {
	const char *base_url;		/* tracking server; NULL: none */
	int opens;
	int clicks;
	const char *return_path_domain;	/* NULL: envelope sender is From */
};

/*
 * EX_DATAERR for a template that does not compile (naming part, line and
 * column) or a javascript:/data: link.
 */
int render_open(const struct render_campaign *c,
    const struct render_config *cfg, const struct track_key *key,
    struct render **out, struct err *e) WUR;
void render_close(struct render *r);

/*
 * Opens the renderer the way `send` and `template preview` need it: the
 * campaign as stored (its from, options and pinned template), or, with
 * template_name, that template (version 0: the newest) in the campaign's
 * setting, or outside any campaign when campaign is NULL. Tracking comes
 * from the config, the token key from the database. *campaign_id is 0
 * for a preview outside a campaign.
 */
struct store;
struct config;
int render_load(struct store *st, const struct config *cfg,
    const char *campaign, const char *template_name, int version,
    struct render **out, int64_t *campaign_id, struct err *e) WUR;
/*
 * What render_load() reads before it compiles, for callers that open a
 * render of their own (lint): the campaign as stored, its options applied
 * (rc.id its id), and/or the template (rc.id 0 and a preview From outside
 * a campaign), subject replacing the template's unless NULL. Its strings
 * are its own until render_source_free(), which a failed load has done.
 */
struct render_source {
	struct render_campaign rc;
	struct campaign_options opts;
	char *s[12];
	int ns;
	int found_campaign;
};
int render_source_load(struct store *st, const char *campaign,
    const char *template_name, int version, const char *subject,
    struct render_source *src, struct err *e) WUR;
void render_source_free(struct render_source *src);

/* The same with the template's subject replaced (NULL: kept): an A/B
 * test's subject variant. */
int render_load_subject(struct store *st, const struct config *cfg,
    const char *campaign, const char *template_name, int version,
    const char *subject, struct render **out, int64_t *campaign_id,
    struct err *e) WUR;
/*
 * Numbers the render's links from base on in their tokens, so that the
 * variants of one campaign, each with its own links, share its link table
 * (render_link(r, i) is still link i of this render).
 */
void render_set_link_base(struct render *r, int base);

/*
 * Compiles a template's parts as render_open() would, with tracking on so
 * that link checks run, and reports the first error.
 */
int render_check(const char *template_name, const char *subject,
    const char *html, const char *text, struct err *e) WUR;

/*
 * The attribute paths each part reads (a text part derived from the HTML
 * is not walked twice), for `template check --list`.
 */
typedef int (*render_var_cb)(const char *part, const char *path, int line,
    int col, int has_default, void *ctx);
int render_vars(const struct render *r, render_var_cb cb, void *ctx);

/* The tracked links, by index; NULL for an index that is not tracked. */
int render_nlinks(const struct render *r);
const char *render_link(const struct render *r, int i);

struct render_ctx {
	struct tpl_scratch scratch;
	struct track_mac *mac;		/* this thread's HMAC state ... */
	uint64_t mac_for;		/* ... for the render of this serial */
	struct buf subject;
	struct buf html;
	struct buf text;
	struct buf url;			/* the unsubscribe URL */
	struct buf msg;			/* the message, after render_message() */
};

void render_ctx_init(struct render_ctx *x);
void render_ctx_free(struct render_ctx *x);

struct render_rcpt {
	int64_t id;
	const char *address;
	json_t *attrs;
	int64_t date_ms;		/* the delivery's first attempt */
};

/*
 * Renders one recipient into x->msg. EX_DATAERR for a strict variable the
 * recipient lacks or a message over LIMIT_MESSAGE; the campaign goes on.
 */
int render_message(const struct render *r, const struct render_rcpt *rc,
    struct render_ctx *x, struct err *e) WUR;

/* The envelope sender: bounces+TOKEN@return-path-domain, or From. */
void render_envelope(const struct render *r, const struct render_rcpt *rc,
    struct render_ctx *x, char *out, size_t n);

#endif
