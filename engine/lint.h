/*
 * lint.h - content checks before a send: what predicts the spam folder,
 * a clipped or broken rendering, or a complaint (`postbote lint`, and
 * `postbote send` before a campaign's first message).
 *
 * lint_check() is pure: it reads one rendered message (subject, HTML part
 * with links as written, text part) and the facts of how it would go out
 * (struct lint_input: List-Unsubscribe, the size of the HTML as sent,
 * tracking, the From domain's DKIM keys) and appends findings to a
 * struct lint_report. A finding is a stable rule id (the table
 * lint_rules[] and the README's "Content checks"), its severity, a
 * message naming what tripped it and a one-line fix. The HTML is read
 * with html_inventory() (gumbo), never by pattern.
 *
 * lint_load() builds that input from the store: the campaign's pinned
 * template with its From, options and the config's tracking and DKIM
 * keys, or a template on its own (then no From, so from-no-dkim is not
 * checked), rendered for one sample recipient (its attributes, or none:
 * variables render empty) twice: as sent, for the size and the text
 * part, and with tracking off, so links keep their targets.
 *
 * Word lists (subject trigger words, English and German; URL shorteners)
 * are templates/lint/NAME.txt, compiled in as lint_NAME[] by
 * tests/lint_gen.sh. Matching is Unicode-aware (libunistring): case
 * folded, NFC, on word boundaries.
 *
 * Errors: EX_NOINPUT for an unknown campaign or template, else what
 * rendering reports. Findings are not errors. Thread-safe: no state but
 * the arguments.
 */
#ifndef POSTBOTE_LINT_H
#define POSTBOTE_LINT_H

#include <jansson.h>
#include <stddef.h>
#include "err.h"

/* Past this many bytes of HTML Gmail clips a message ("[Message
   clipped]"), and the footer with the unsubscribe link goes with it. */
#define LINT_HTML_CLIP		(102 * 1024)
/* subject-caps: at least this many cased letters, more than half upper. */
#define LINT_CAPS_MIN_LETTERS	8
/* subject-exclaim: this many exclamation marks. */
#define LINT_EXCLAIM_MAX	2
/* image-only: fewer visible characters than this beside an image. */
#define LINT_IMAGE_ONLY_CHARS	100
/* low-text-ratio: fewer than max(this, LINT_CHARS_PER_IMAGE x images). */
#define LINT_LOW_TEXT_CHARS	400
#define LINT_CHARS_PER_IMAGE	100

enum lint_severity {
	LINT_WARN,
	LINT_FAIL,
};

struct lint_rule {
	const char *id;
	enum lint_severity severity;
	const char *what;
};

/* Every rule, in report order, NULL-terminated. */
extern const struct lint_rule lint_rules[];

struct lint_finding {
	const char *rule;		/* static: lint_rules[].id */
	enum lint_severity severity;
	char *message;			/* malloc'd */
	const char *fix;		/* static */
};

struct lint_report {
	struct lint_finding *f;
	int n;
	int cap;
	int fails;
	int warnings;
};

void lint_report_init(struct lint_report *r);
void lint_report_free(struct lint_report *r);
const char *lint_severity_name(enum lint_severity s);

enum lint_dkim {
	LINT_DKIM_NA,		/* not checked: no From, or --no-dkim */
	LINT_DKIM_MISSING,	/* no key covers the From domain */
	LINT_DKIM_OK,
};

struct lint_input {
	const char *subject;		/* rendered, UTF-8 */
	const char *html;		/* rendered, links as written, no pixel;
					   NULL: none */
	size_t html_len;
	size_t html_sent_len;		/* the HTML part as sent (tracked) */
	const char *text;		/* the text part as sent */
	size_t text_len;
	int own_text;			/* the template has a text part */
	int list_unsubscribe;		/* a List-Unsubscribe header goes out */
	const char *unsubscribe_url;	/* {{ unsubscribe_url }} rendered;
					   NULL or "": none */
	int unsubscribe_tag;		/* the template uses unsubscribe_url */
	const char *tracking_base;	/* tracking.base_url; NULL: none */
	const char *from_domain;	/* NULL: no From to check */
	enum lint_dkim dkim;
};

/* Appends the findings; fails only when the HTML cannot be read. */
int lint_check(const struct lint_input *in, struct lint_report *r,
    struct err *e) WUR;

/* What lint_load() lints. */
struct lint_target {
	const char *campaign;		/* this campaign's template, or */
	const char *template_name;	/* this template alone */
	int version;			/* of the template; 0: the newest */
	const char *address;		/* sample recipient; NULL: a made-up
					   preview@example.com */
	json_t *attrs;			/* its attributes; NULL: none */
	int no_dkim;			/* from-no-dkim does not apply */
};

struct store;
struct config;
int lint_load(struct store *st, const struct config *cfg,
    const struct lint_target *t, struct lint_report *r, struct err *e) WUR;

/* The compiled word lists (templates/lint/), NULL-terminated. */
extern const char *const lint_spam_words_en[];
extern const char *const lint_spam_words_de[];
extern const char *const lint_shorteners[];

#endif
