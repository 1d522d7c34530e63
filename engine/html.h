/*
 * html.h - reading HTML templates with a real HTML parser (gumbo).
 *
 * Both functions work on the *template source*, before any recipient is
 * rendered, so their cost is paid once per campaign. Template tags
 * ({{ ... }}) are plain text to the HTML parser and are kept verbatim.
 *
 * html_links() finds the places where tracking rewrites the HTML: the
 * value of every href attribute of an <a> (or <area>) element, the
 * position just before </body> (or the end of the document) for the open
 * pixel. html_text() turns an HTML template into a text template that reads
 * well. Not thread-safe per call but shares no state: separate calls on
 * separate threads are fine.
 */
#ifndef POSTBOTE_HTML_H
#define POSTBOTE_HTML_H

#include <stddef.h>
#include "buf.h"
#include "err.h"

enum html_link_kind {
	HTML_LINK_TRACK,	/* http(s) URL without template tags: rewrite */
	HTML_LINK_KEEP,		/* mailto:, tel:, #fragment, data-notrack,
				   relative, or a URL holding {{ }} tags */
};

struct html_link {
	size_t start;		/* byte offset of the href value in the source, */
	size_t end;		/* without its quotes: src[start..end) */
	enum html_link_kind kind;
	char *url;		/* the value, entity-decoded (&amp; -> &), malloc'd */
};

struct html_scan {
	struct html_link *links;	/* in source order */
	int nlinks;
	size_t pixel_at;	/* offset where the open pixel goes: the '<' of
				   </body>, or the source length without one */
};

/*
 * Scans src[0..len). A link whose scheme is javascript: or data: (any case,
 * after trimming spaces) fails with EX_DATAERR naming the line and column
 * of the href value. Frees nothing of the caller's; html_scan_free()
 * releases what it fills.
 */
int html_scan(const char *src, size_t len, struct html_scan *out,
    struct err *e) WUR;
void html_scan_free(struct html_scan *s);

/*
 * Appends to out a plain-text rendering of src: text of <head>, <style>,
 * <script>, <template> and comments dropped; block elements (p, div, h1-h6,
 * table rows, blockquote, pre, hr, ul/ol) separated by a blank line or a
 * line break; <br> a line break; list items "- " (ol: "1. "); a link
 * "text (url)" unless the text already is the url; images their alt text;
 * whitespace collapsed outside <pre>; entities decoded. Template tags in
 * text, attribute values included (href="{{ url }}"), come through
 * verbatim. Lines end in "\n" (the MIME layer makes them CRLF).
 */
int html_text(const char *src, size_t len, struct buf *out,
    struct err *e) WUR;

/*
 * Appends s HTML-escaped, for text and attribute values alike: & < > " '
 * as entities, C0 and C1 controls (parse errors in HTML) as U+FFFD.
 * What Postbote writes as HTML itself (the unsubscribe pages, reports)
 * goes through here; rendered templates escape in template.c.
 */
int html_escape(struct buf *out, const char *s) WUR;

/*
 * What the content checks (lint.h) read of a rendered HTML part, with the
 * same parser: every <a> or <area> with an href, its value (entities
 * decoded) and its visible text (white space collapsed, at most 256
 * bytes); every <img>, its src, whether it has an alt attribute at all
 * (alt="" marks a decorative image and counts), whether width and height
 * are both given and at most 1 (a tracking pixel) and whether it stands
 * inside a link; and how many characters of visible text the part has
 * (not white space; head, style, script, template and comments left out,
 * alt text too). Up to LIMIT_MESSAGE bytes, else EX_DATAERR.
 * html_inventory_free() releases what it fills.
 */
struct html_anchor {
	char *href;
	char *text;
};

struct html_image {
	char *src;
	int has_alt;
	int pixel;
	int in_link;
};

struct html_inventory {
	struct html_anchor *anchors;	/* in document order */
	int nanchors;
	struct html_image *images;
	int nimages;
	size_t text_chars;
};

int html_inventory(const char *src, size_t len, struct html_inventory *out,
    struct err *e) WUR;
void html_inventory_free(struct html_inventory *inv);

#endif
