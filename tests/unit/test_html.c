/*
 * test_html.c - html_scan() and html_text().
 *
 * Link cases pin offsets exactly: src[start, end) must be the raw href
 * text, and the bytes just before start must be what the row says (the
 * opening quote, or "=" for an unquoted value), so an off-by-one in the
 * quote handling cannot hide. Errors are compared whole, line and column
 * included. Text cases compare the whole rendering.
 */
#include "unit.h"

#include "html.h"
#include "limits.h"

#define K	HTML_LINK_KEEP
#define TR	HTML_LINK_TRACK
#define NOLINKS	{ { NULL, NULL, K, NULL } }

struct want_link {
	const char *raw;	/* src[start, end) */
	const char *before;	/* src just before start */
	enum html_link_kind kind;
	const char *url;
};

struct scan_case {
	const char *name;
	const char *src;
	int nlinks;
	struct want_link links[4];
	const char *pixel;	/* pixel_at: its last occurrence; NULL: len */
};

static const struct scan_case scan_cases[] = {
	{ "scan: double quotes", "<a href=\"https://a.example/x\">x</a>", 1,
	    { { "https://a.example/x", "href=\"", TR,
	    "https://a.example/x" } }, NULL },
	{ "scan: single quotes", "<p><a href='http://a.example/'>x</a>", 1,
	    { { "http://a.example/", "href='", TR, "http://a.example/" } },
	    NULL },
	{ "scan: unquoted", "<a href=https://a.example/u?q=1>x</a>", 1,
	    { { "https://a.example/u?q=1", "href=", TR,
	    "https://a.example/u?q=1" } }, NULL },
	{ "scan: unquoted, other attribute after", "<a href=https://u/ "
	    "title=t>x</a>", 1, { { "https://u/", "href=", TR,
	    "https://u/" } }, NULL },
	{ "scan: spaces around =, newline in tag", "<a\nhref = \"https://s/\""
	    ">x</a>", 1, { { "https://s/", "= \"", TR, "https://s/" } },
	    NULL },
	{ "scan: entity in href", "<a href=\"https://a.example/?a=1&amp;b=2\">"
	    "x</a>", 1, { { "https://a.example/?a=1&amp;b=2", "href=\"", TR,
	    "https://a.example/?a=1&b=2" } }, NULL },
	{ "scan: entity in unquoted href", "<a href=https://e/?a&amp;b>x</a>",
	    1, { { "https://e/?a&amp;b", "href=", TR, "https://e/?a&b" } },
	    NULL },
	{ "scan: quote inside the other quotes", "<a href='https://q/?\"'>x"
	    "</a>", 1, { { "https://q/?\"", "href='", TR, "https://q/?\"" } },
	    NULL },
	{ "scan: upper-case attribute and scheme", "<A HREF=\"HTTPS://U.EXAMPLE"
	    "/\">x</A>", 1, { { "HTTPS://U.EXAMPLE/", "HREF=\"", TR,
	    "HTTPS://U.EXAMPLE/" } }, NULL },
	{ "scan: offsets after UTF-8", "<p>\xc3\xa9t\xc3\xa9</p><a href=\"https"
	    "://u/\xc3\xa9\">x</a>", 1, { { "https://u/\xc3\xa9", "href=\"",
	    TR, "https://u/\xc3\xa9" } }, NULL },
	{ "scan: mailto kept", "<a href=\"mailto:a@b.example\">m</a>", 1,
	    { { "mailto:a@b.example", "href=\"", K, "mailto:a@b.example" } },
	    NULL },
	{ "scan: tel kept", "<a href=\"tel:+4930123\">t</a>", 1,
	    { { "tel:+4930123", "href=\"", K, "tel:+4930123" } }, NULL },
	{ "scan: fragment kept", "<a href=\"#top\">t</a>", 1,
	    { { "#top", "href=\"", K, "#top" } }, NULL },
	{ "scan: relative kept", "<a href=\"/account\">a</a>", 1,
	    { { "/account", "href=\"", K, "/account" } }, NULL },
	{ "scan: scheme-relative kept", "<a href=\"//cdn.example/\">a</a>", 1,
	    { { "//cdn.example/", "href=\"", K, "//cdn.example/" } }, NULL },
	{ "scan: http: without // kept", "<a href=\"http:foo\">a</a>", 1,
	    { { "http:foo", "href=\"", K, "http:foo" } }, NULL },
	{ "scan: ftp kept", "<a href=\"ftp://f.example/\">a</a>", 1,
	    { { "ftp://f.example/", "href=\"", K, "ftp://f.example/" } },
	    NULL },
	{ "scan: template tag is the URL", "<a href=\"{{ unsubscribe_url }}\">"
	    "u</a>", 1, { { "{{ unsubscribe_url }}", "href=\"", K,
	    "{{ unsubscribe_url }}" } }, NULL },
	{ "scan: template tag inside a URL", "<a href=\"https://t/?id={{ id }}"
	    "\">u</a>", 1, { { "https://t/?id={{ id }}", "href=\"", K,
	    "https://t/?id={{ id }}" } }, NULL },
	{ "scan: data-notrack kept", "<a data-notrack href=\"https://n/\">n"
	    "</a>", 1, { { "https://n/", "href=\"", K, "https://n/" } }, NULL },
	{ "scan: data-notrack after href", "<a href=\"https://n/\" "
	    "data-notrack=\"1\">n</a>", 1, { { "https://n/", "href=\"", K,
	    "https://n/" } }, NULL },
	{ "scan: empty value", "<a href=\"\">e</a>", 1,
	    { { "", "href=\"", K, "" } }, NULL },
	{ "scan: no value", "<a href>e</a>", 1, { { "", "<a href", K, "" } },
	    NULL },
	{ "scan: = and no value", "<a href=>e</a>", 1,
	    { { "", "<a href", K, "" } }, NULL },
	{ "scan: no href", "<a name=\"x\">n</a><a>m</a>", 0, NOLINKS,
	    NULL },
	{ "scan: area", "<map name=m><area shape=rect href=\"https://m/\" "
	    "alt=m></map>", 1, { { "https://m/", "href=\"", TR,
	    "https://m/" } }, NULL },
	{ "scan: in a comment", "<!-- <a href=\"https://c/\">c</a> --><p>x",
	    0, NOLINKS, NULL },
	{ "scan: in a template", "<template><a href=\"https://t/\">t</a>"
	    "</template>", 0, NOLINKS, NULL },
	{ "scan: in a script or textarea", "<script>'<a href=\"https://s/\">'"
	    "</script><textarea><a href=\"https://t/\"></textarea>", 0,
	    NOLINKS, NULL },
	{ "scan: several in source order", "<a href=\"https://1/\">1</a> "
	    "<a href='mailto:x@y'>2</a> <a href=https://3/>3</a>", 3,
	    { { "https://1/", "href=\"", TR, "https://1/" },
	    { "mailto:x@y", "href='", K, "mailto:x@y" },
	    { "https://3/", "href=", TR, "https://3/" } }, NULL },
	{ "scan: foster-parented out of a table", "<table><tr><td><a href="
	    "\"https://in/\">i</a></td></tr><a href=\"https://out/\">o</a>"
	    "</table>", 2, { { "https://in/", "href=\"", TR, "https://in/" },
	    { "https://out/", "href=\"", TR, "https://out/" } }, NULL },
	{ "scan: misnested, cloned once", "<a href=\"https://x/\">1<p>2</a>3"
	    "</p>", 1, { { "https://x/", "href=\"", TR, "https://x/" } },
	    NULL },
	{ "scan: second href ignored", "<a href=\"https://1/\" href=\"https:"
	    "//2/\">x</a>", 1, { { "https://1/", "href=\"", TR,
	    "https://1/" } }, NULL },
	{ "scan: javascript without colon is a path", "<a href=\"javascript"
	    ".html\">j</a>", 1, { { "javascript.html", "href=\"", K,
	    "javascript.html" } }, NULL },
	{ "pixel: before </body>", "<html><body><p>x</p></body></html>\n", 0,
	    NOLINKS, "</body>" },
	{ "pixel: upper-case </BODY>", "<BODY><P>x</BODY></HTML>", 0,
	    NOLINKS, "</BODY>" },
	{ "pixel: no </body>", "<p>Hello</p>", 0, NOLINKS, NULL },
	{ "pixel: empty document", "", 0, NOLINKS, NULL },
	{ "pixel: </body> in a comment only", "<p>x</p><!-- </body> -->", 0,
	    NOLINKS, NULL },
	{ "pixel: </body> in a script only", "<p>x<script>'</body>'</script>",
	    0, NOLINKS, NULL },
	{ "pixel: </html> without </body>", "<body><p>x</html>", 0,
	    NOLINKS, NULL },
	{ "pixel: the last </body>", "<body>a</body> b </body>\n", 0,
	    NOLINKS, "</body>" },
	{ "pixel: with links", "<body><a href=\"https://l/\">l</a>\n</body>",
	    1, { { "https://l/", "href=\"", TR, "https://l/" } }, "</body>" },
	{ "scan: loop between table rows, source offsets", "<table>{{#each l}}"
	    "<tr><td><a href=\"https://a/\">a</a></td></tr>{{/each}}</table>",
	    1, { { "https://a/", "href=\"", TR, "https://a/" } }, NULL },
};

static size_t
last_offset(const char *src, const char *marker)
{
	const char *p, *last = NULL;

	for (p = src; (p = strstr(p, marker)) != NULL; p++)
		last = p;
	assert_non_null(last);
	return (size_t)(last - src);
}

static void
t_scan(void **state)
{
	const struct scan_case *c = *state;
	size_t len = strlen(c->src), nb;
	struct html_scan s;
	struct err e = { 0, "" };
	int i;

	assert_int_equal(html_scan(c->src, len, &s, &e), 0);
	assert_int_equal(s.nlinks, c->nlinks);
	for (i = 0; i < c->nlinks; i++) {
		const struct html_link *l = &s.links[i];
		const struct want_link *w = &c->links[i];

		assert_true(l->start <= l->end && l->end <= len);
		assert_int_equal(l->end - l->start, strlen(w->raw));
		assert_memory_equal(c->src + l->start, w->raw, strlen(w->raw));
		nb = strlen(w->before);
		assert_true(l->start >= nb);
		assert_memory_equal(c->src + l->start - nb, w->before, nb);
		assert_int_equal(l->kind, w->kind);
		assert_string_equal(l->url, w->url);
		if (i > 0)
			assert_true(l->start > s.links[i - 1].end);
	}
	assert_int_equal(s.pixel_at, c->pixel != NULL ?
	    last_offset(c->src, c->pixel) : len);
	html_scan_free(&s);
	assert_null(s.links);
	assert_int_equal(s.nlinks, 0);
}

/* ---------------------------------------------------------- refusals */

struct refuse_case {
	const char *name;
	const char *src;
	const char *msg;
};

static const struct refuse_case refuse_cases[] = {
	{ "refuse: javascript:", "<p>\n  <a href=\"javascript:alert(1)\">x"
	    "</a>", "line 2, column 12: a javascript: link is not allowed" },
	{ "refuse: JavaScript:", "<a href='JavaScript:void(0)'>x</a>",
	    "line 1, column 10: a javascript: link is not allowed" },
	{ "refuse: leading space", "<a href=\" javascript:x\">x</a>",
	    "line 1, column 10: a javascript: link is not allowed" },
	{ "refuse: leading control and newline", "<a href=\"\x01\n "
	    "javascript:x\">x</a>",
	    "line 1, column 10: a javascript: link is not allowed" },
	{ "refuse: tab entity inside", "<a href=\"java&#x09;script:x\">x</a>",
	    "line 1, column 10: a javascript: link is not allowed" },
	{ "refuse: newline entity inside", "<a href=\"java&#10;script:x\">x"
	    "</a>", "line 1, column 10: a javascript: link is not allowed" },
	{ "refuse: raw tab inside", "<a href=\"java\tscript:x\">x</a>",
	    "line 1, column 10: a javascript: link is not allowed" },
	{ "refuse: colon as an entity", "<a href=\"javascript&colon;x\">x</a>",
	    "line 1, column 10: a javascript: link is not allowed" },
	{ "refuse: unquoted", "<a href=javascript:x>x</a>",
	    "line 1, column 9: a javascript: link is not allowed" },
	{ "refuse: data:", "<a href=\"data:text/html;base64,PHA+\">x</a>",
	    "line 1, column 10: a data: link is not allowed" },
	{ "refuse: DATA:", "<a href=\"DATA:,x\">x</a>",
	    "line 1, column 10: a data: link is not allowed" },
	{ "refuse: area", "<map><area href=\"javascript:x\"></map>",
	    "line 1, column 18: a javascript: link is not allowed" },
	{ "refuse: data-notrack does not excuse", "<a data-notrack href="
	    "\"javascript:x\">x</a>",
	    "line 1, column 23: a javascript: link is not allowed" },
	{ "refuse: column in characters", "<p>\xc3\xa9\xc3\xa9</p>\r\n<p>"
	    "\xc3\xa9<a href=\"javascript:x\">x</a>",
	    "line 2, column 14: a javascript: link is not allowed" },
	{ "refuse: after a good link", "<a href=\"https://ok/\">ok</a>\n\n"
	    "<a href=\"javascript:x\">x</a>",
	    "line 3, column 10: a javascript: link is not allowed" },
};

static void
t_refuse(void **state)
{
	const struct refuse_case *c = *state;
	struct html_scan s;
	struct err e = { 0, "" };

	assert_int_equal(html_scan(c->src, strlen(c->src), &s, &e), -1);
	assert_int_equal(e.code, EX_DATAERR);
	assert_string_equal(e.msg, c->msg);
	assert_null(s.links);
	assert_int_equal(s.nlinks, 0);
	html_scan_free(&s);
}

/* ---------------------------------------------------------------- text */

struct text_case {
	const char *name;
	const char *src;
	const char *want;
};

static const struct text_case text_cases[] = {
	{ "text: empty", "", "" },
	{ "text: only markup", "<html><head></head><body><p> </p></body>"
	    "</html>", "" },
	{ "text: plain", "Hello", "Hello\n" },
	{ "text: paragraphs", "<p>One</p><p>Two</p>", "One\n\nTwo\n" },
	{ "text: whitespace collapsed", "<p>  a \t b\n\n  c  </p>",
	    "a b c\n" },
	{ "text: inline elements", "<p>a <b>bold</b> and <i>it</i>al<span>"
	    "ic</span></p>", "a bold and italic\n" },
	{ "text: space across elements", "<p><b>a </b> <i> b</i></p>",
	    "a b\n" },
	{ "text: headings", "<h1>Title</h1>Body<h2>Sub</h2><p>Text</p>",
	    "Title\n\nBody\n\nSub\n\nText\n" },
	{ "text: divs are lines", "<div>one</div><div>two</div>",
	    "one\ntwo\n" },
	{ "text: nested blocks, one blank line", "<div><div><p>a</p></div>"
	    "</div><div><p>b</p></div>", "a\n\nb\n" },
	{ "text: br", "a<br>b<br/>c", "a\nb\nc\n" },
	{ "text: two br a blank line", "a<br><br>b", "a\n\nb\n" },
	{ "text: many br one blank line", "a<br><br><br><br>b", "a\n\nb\n" },
	{ "text: br leading and trailing", "<br><br>a<br><br>", "a\n" },
	{ "text: br after a paragraph", "<p>a</p><br><p>b</p>", "a\n\nb\n" },
	{ "text: list", "<ul><li>one</li><li>two</li></ul>",
	    "- one\n- two\n" },
	{ "text: list between paragraphs", "<p>a</p><ul><li>x</li></ul><p>b"
	    "</p>", "a\n\n- x\n\nb\n" },
	{ "text: ordered list", "<ol><li>one<li>two<li>three</ol>",
	    "1. one\n2. two\n3. three\n" },
	{ "text: ordered list start", "<ol start=\"9\"><li>a<li>b</ol>",
	    "9. a\n10. b\n" },
	{ "text: ordered list bad start", "<ol start=\"x\"><li>a</ol>",
	    "1. a\n" },
	{ "text: nested lists", "<ul><li>a<ul><li>b</li><li>c<ol><li>d</li>"
	    "</ol></li></ul></li><li>e</li></ul>",
	    "- a\n  - b\n  - c\n    1. d\n- e\n" },
	{ "text: item with paragraphs", "<ol><li><p>first</p><p>more</p></li>"
	    "</ol>", "1. first\n\n   more\n" },
	{ "text: empty item", "<ul><li></li><li>b</li></ul>", "- b\n" },
	{ "text: item outside a list", "<li>x</li>", "- x\n" },
	{ "text: link", "<p>See <a href=\"https://a.example/x\">the page</a>."
	    "</p>", "See the page (https://a.example/x).\n" },
	{ "text: link text is the URL", "<a href=\"https://a.example/\">"
	    "https://a.example/</a>", "https://a.example/\n" },
	{ "text: link text is the URL but the slash", "<a href=\"https://a."
	    "example/\">https://a.example</a>", "https://a.example\n" },
	{ "text: link text is the URL but the scheme", "<a href=\"https://"
	    "www.example.com/\">www.example.com</a>", "www.example.com\n" },
	{ "text: link entity decoded", "<a href=\"https://e/?a=1&amp;b=2\">"
	    "go</a>", "go (https://e/?a=1&b=2)\n" },
	{ "text: link without text", "<a href=\"https://i/\"><img src=x.png>"
	    "</a>", "https://i/\n" },
	{ "text: image link with alt", "<a href=\"https://i/\"><img src=x.png "
	    "alt=\"Logo\"></a>", "Logo (https://i/)\n" },
	{ "text: fragment link", "<a href=\"#top\">Top</a>", "Top\n" },
	{ "text: empty href", "<a href=\"\">Here</a> <a href>there</a>",
	    "Here there\n" },
	{ "text: anchor without href", "<a name=\"n\">Name</a>", "Name\n" },
	{ "text: mailto", "Write to <a href=\"mailto:help@b.example\">us</a>",
	    "Write to us (help@b.example)\n" },
	{ "text: mailto with query", "<a href=\"mailto:help@b.example?subject"
	    "=Hi\">us</a>", "us (help@b.example)\n" },
	{ "text: mailto text is the address", "<a href=\"MAILTO:h@b.example"
	    "\">h@b.example</a>", "h@b.example\n" },
	{ "text: tel", "<a href=\"tel:+49301234\">call</a>",
	    "call (tel:+49301234)\n" },
	{ "text: unsubscribe tag", "<a href=\"{{ unsubscribe_url }}\">"
	    "Unsubscribe</a>", "Unsubscribe ({{ unsubscribe_url }})\n" },
	{ "text: tag in mailto query", "<a href=\"mailto:{{ email }}?s={{ a?"
	    "b }}\">me</a>", "me ({{ email }})\n" },
	{ "text: tag with ? in mailto address", "<a href=\"mailto:{{ a ? b }}"
	    "?s=1\">me</a>", "me ({{ a ? b }})\n" },
	{ "text: link text is the tag", "<a href=\"{{ url }}\">{{ url }}</a>",
	    "{{ url }}\n" },
	{ "text: link over a line break", "<a href=\"https://b/\">a<br>b</a>",
	    "a\nb (https://b/)\n" },
	{ "text: image alt", "<p>Hi <img src=\"a.png\" alt=\"smile\"> there"
	    "</p>", "Hi smile there\n" },
	{ "text: image empty alt", "<p>a<img src=\"a.png\" alt=\"\">b</p>",
	    "ab\n" },
	{ "text: image no alt", "<p>a <img src=\"a.png\"> b</p>", "a b\n" },
	{ "text: image alt with tag", "<img alt=\"{{  name  }}'s logo\">",
	    "{{  name  }}'s logo\n" },
	{ "text: table", "<table><tr><th>Item</th><th>Price</th></tr><tr><td>"
	    "Tea</td><td>3</td></tr></table>", "Item  Price\nTea  3\n" },
	{ "text: table between paragraphs", "<p>a</p><table><tr><td>x</td>"
	    "<td>y</td></tr></table><p>b</p>", "a\n\nx  y\n\nb\n" },
	{ "text: empty cells", "<table><tr><td></td><td>&nbsp;</td><td>x</td>"
	    "<td></td></tr></table>", "x\n" },
	{ "text: layout table", "<table><tr><td><table><tr><td><h1>Hi</h1>"
	    "<p>Body</p></td></tr></table></td></tr><tr><td>Footer</td></tr>"
	    "</table>", "Hi\n\nBody\n\nFooter\n" },
	{ "text: pre", "<p>a</p><pre>\n  x  =  1\n\ty\n</pre><p>b</p>",
	    "a\n\n  x  =  1\n\ty\n\nb\n" },
	{ "text: pre blank lines capped", "<pre>a\n\n\n\nb</pre>",
	    "a\n\nb\n" },
	{ "text: pre leading newlines", "<pre>\n\n\nx</pre>", "x\n" },
	{ "text: pre entities", "<pre>a &lt; b &amp;&amp; c</pre>",
	    "a < b && c\n" },
	{ "text: pre with tag", "<pre>{{ x }}  {{#if y}}\n{{/if}}</pre>",
	    "{{ x }}  {{#if y}}\n{{/if}}\n" },
	{ "text: head dropped", "<html><head><title>Title</title><meta "
	    "charset=utf-8></head><body>Body</body></html>", "Body\n" },
	{ "text: style and script dropped", "<style>p { color: red }</style>"
	    "<p>a<script>var x = '<p>';</script>b</p>", "ab\n" },
	{ "text: template and comment dropped", "a<template>t</template>"
	    "<!-- c -->b", "ab\n" },
	{ "text: entities", "<p>Caf&eacute; &amp; Bar &lt;3 &#8364;5 &quot;q"
	    "&quot;</p>", "Caf\xc3\xa9 & Bar <3 \xe2\x82\xac" "5 \"q\"\n" },
	{ "text: nbsp is a space", "a&nbsp;&nbsp; b&nbsp;c", "a b c\n" },
	{ "text: tags verbatim", "<p>Hello {{ first_name }},</p><p>{{#if vip}}"
	    "Thanks{{/if}}</p>", "Hello {{ first_name }},\n\n{{#if vip}}Thanks"
	    "{{/if}}\n" },
	{ "text: tag spaces kept", "<p>Hi {{  name \n | upper }}  !</p>",
	    "Hi {{  name \n | upper }} !\n" },
	{ "text: tag next to words", "<p>a{{x}}b</p>", "a{{x}}b\n" },
	{ "text: unclosed tag is text", "<p>a {{  b  c</p>", "a {{ b c\n" },
	{ "text: many unclosed then a tag", "{{{{ {{ {{x}}",
	    "{{{{ {{ {{x}}\n" },
	{ "text: tag across elements", "<p>{{ a <b>b</b> }}</p>",
	    "{{ a b }}\n" },
	{ "text: blockquote", "<p>a</p><blockquote>q</blockquote><p>b</p>",
	    "a\n\nq\n\nb\n" },
	{ "text: hr", "<p>a</p><hr><p>b</p>", "a\n\nb\n" },
	{ "text: definition list", "<dl><dt>T</dt><dd>D</dd></dl>",
	    "T\nD\n" },
	{ "text: CRLF source", "<p>a\r\nb</p>\r\n<p>c</p>\r\n", "a b\n\nc\n" },
	{ "text: full document", "<!DOCTYPE html>\n<html>\n<head>\n<style>"
	    "body{}</style>\n</head>\n<body>\n<h1>News</h1>\n<p>Dear "
	    "{{ name }},</p>\n<ul>\n<li>One</li>\n<li>Two</li>\n</ul>\n<p>"
	    "<a href=\"{{ unsubscribe_url }}\">Unsubscribe</a></p>\n</body>\n"
	    "</html>\n",
	    "News\n\nDear {{ name }},\n\n- One\n- Two\n\nUnsubscribe "
	    "({{ unsubscribe_url }})\n" },

	/* Tags between rows or cells stay in place, not before the table. */
	{ "table: loop between rows", "<table>{{#each orders}}<tr><td>"
	    "{{ item }}</td></tr>{{/each}}</table>",
	    "{{#each orders}}\n{{ item }}\n{{/each}}\n" },
	{ "table: laid out, header, loop, if and else if", "<p>a</p><table>\n"
	    "  <tr><th>Item</th><th>Price</th></tr>\n"
	    "  {{#each orders as o}}\n"
	    "  <tr><td>{{ @number }}. {{ o.item }}</td><td>{{ o.total }}</td>"
	    "</tr>\n  {{/each}}\n"
	    "  {{#if vip}}<tr><td>VIP</td></tr>{{else if trial}}<tr><td>Trial"
	    "</td></tr>{{/if}}\n</table>\n<p>b</p>",
	    "a\n\nItem  Price\n{{#each orders as o}}\n{{ @number }}. "
	    "{{ o.item }}  {{ o.total }}\n{{/each}}\n{{#if vip}}\nVIP\n"
	    "{{else if trial}}\nTrial\n{{/if}}\n\nb\n" },
	{ "table: thead and tbody", "<table><thead>{{#if h}}<tr><th>H</th>"
	    "</tr>{{/if}}</thead><tbody>{{#each r}}<tr><td>{{ c }}</td></tr>"
	    "{{/each}}</tbody></table>",
	    "{{#if h}}\nH\n{{/if}}\n{{#each r}}\n{{ c }}\n{{/each}}\n" },
	{ "table: value between rows in a loop", "<table>{{#each o}}<tr><td>a"
	    "</td></tr>{{ sep }}<tr><td>b</td></tr>{{/each}}</table>",
	    "{{#each o}}\na\n{{ sep }}\nb\n{{/each}}\n" },
	{ "table: if between cells", "<table><tr><td>a</td>{{#if b}}<td>b"
	    "</td>{{/if}}</tr></table>", "a{{#if b}}  b{{/if}}\n" },
	{ "table: if and else between cells", "<table><tr>{{#if a}}<td>A</td>"
	    "{{else}}<td>B</td>{{/if}}</tr></table>",
	    "{{#if a}}  A{{else}}  B{{/if}}\n" },
	{ "table: nested table", "<table><tr><td><table>{{#each o}}<tr><td>"
	    "{{ a }}</td></tr>{{/each}}</table></td></tr></table>",
	    "{{#each o}}\n{{ a }}\n{{/each}}\n" },
	{ "table: in pre", "<pre><table>{{#if x}}<tr><td>a</td></tr>{{/if}}"
	    "</table></pre>", "{{#if x}}\na\n{{/if}}\n" },
	{ "table: tags in href and alt", "<table>{{#each links}}<tr><td><a "
	    "href=\"{{ url }}\">{{ title }}</a> <img alt=\"{{ name }}\" src=x>"
	    "</td></tr>{{/each}}</table>",
	    "{{#each links}}\n{{ title }} ({{ url }}) {{ name }}\n"
	    "{{/each}}\n" },
	{ "table: entity in a cell", "<table>{{#each o}}<tr><td>{{ a }} &amp; "
	    "b</td></tr>{{/each}}</table>", "{{#each o}}\n{{ a }} & b\n"
	    "{{/each}}\n" },
	{ "table: author comments still dropped", "<table><!-- note -->"
	    "{{#if x}}<tr><td>a</td></tr>{{/if}}<!-- {{ y }} --></table>",
	    "{{#if x}}\na\n{{/if}}\n" },
	{ "table: Outlook conditional comment kept whole", "<!--[if mso]>"
	    "<table><tr><td width=\"{{ w }}\"><![endif]--><table>{{#each o}}"
	    "<tr><td>{{ a }}</td></tr>{{/each}}</table>",
	    "{{#each o}}\n{{ a }}\n{{/each}}\n" },
	{ "table: tags between attributes", "<table>{{#each o}}<tr><td "
	    "{{#if b}}class=x{{/if}}>{{ a }}</td></tr>{{/each}}</table>",
	    "{{#each o}}\n{{ a }}\n{{/each}}\n" },
	{ "table: textarea text untouched", "<table><textarea>{{ x }}"
	    "</textarea>{{#if y}}<tr><td>a</td></tr>{{/if}}</table>",
	    "{{ x }}\n\n{{#if y}}\na\n{{/if}}\n" },
	{ "table: reconstructed formatting", "<p><font>x</p><table>{{#if y}}"
	    "<tr><td>a</td></tr>{{/if}}</table>", "x\n\n{{#if y}}\na\n"
	    "{{/if}}\n" },
	/* Text the browser shows before the table goes there, tags and all. */
	{ "table: value directly inside", "<table>{{ total }}<tr><td>x</td>"
	    "</tr></table>", "{{ total }}\n\nx\n" },
	{ "table: text and value directly inside", "<table><tr><td>x</td></tr>"
	    "Total: {{ total }}</table>", "Total: {{ total }}\n\nx\n" },
	{ "table: if around text in a row", "<table><tr>{{#if x}}note{{/if}}"
	    "<td>a</td></tr></table>", "{{#if x}}note{{/if}}\n\na\n" },
	{ "table: unclosed tag directly inside", "<table>{{ b<tr><td>a</td>"
	    "</tr></table>", "{{ b\n\na\n" },
	{ "table: unclosed tag after a loop", "<table>{{#each o}}<tr><td>"
	    "{{ a }}</td></tr>{{/each}}</table><p>{{ b</p>",
	    "{{#each o}}\n{{ a }}\n{{/each}}\n\n{{ b\n" },
	/* Tags that would not nest: the text as it was before. */
	{ "table: else in a moved element", "<table>{{#if a}}<p>{{else}}</p>"
	    "<tr><td>x</td></tr>{{/if}}</table>",
	    "{{#if a}}\n\n{{else}}\n\n{{/if}}\n\nx\n" },
	/* Comments stay where text would not: after </body>, unchanged. */
	{ "table: none, comment after body", "<body><p>x</p></body><!-- c -->"
	    "{{#if x}}<p>a</p>{{/if}}", "x\n\n{{#if x}}\n\na\n\n{{/if}}\n" },
};

static void
t_text(void **state)
{
	const struct text_case *c = *state;
	struct err e = { 0, "" };
	struct buf b;

	buf_init(&b, 1 << 16);
	assert_int_equal(html_text(c->src, strlen(c->src), &b, &e), 0);
	assert_string_equal(buf_str(&b), c->want);
	assert_int_equal(b.len, strlen(c->want));
	buf_free(&b);
}

/* --------------------------------------------------------------- bounds */

static const char bound_src[] = "<h1>Hello</h1><p>A <a href=\"https://x/\">"
    "link</a>.</p>";
static const char bound_want[] = "Hello\n\nA link (https://x/).\n";

/* Appends after what the buffer holds, and fits a max of exactly that. */
static void
t_text_fits(void **state)
{
	struct err e = { 0, "" };
	struct buf b;

	(void)state;
	buf_init(&b, 4 + sizeof(bound_want) - 1);
	assert_int_equal(buf_adds(&b, "pre:"), 0);
	assert_int_equal(html_text(bound_src, strlen(bound_src), &b, &e), 0);
	assert_memory_equal(buf_str(&b), "pre:", 4);
	assert_string_equal(buf_str(&b) + 4, bound_want);
	buf_free(&b);
}

/* Tags put back in place: the text comes from a second parse. */
static const char bound_table_src[] = "<table>{{#each o}}<tr><td>{{ a }}"
    "</td></tr>{{/each}}</table>";
static const char bound_table_want[] = "{{#each o}}\n{{ a }}\n{{/each}}\n";

/* One byte short, at every stage of the text: fails, buffer unchanged. */
static void
text_bound(const char *src, const char *want)
{
	struct err e = { 0, "" };
	struct buf b;
	size_t max;

	for (max = 4; max <= 4 + strlen(want); max++) {
		buf_init(&b, max);
		assert_int_equal(buf_adds(&b, "pre:"), 0);
		err_clear(&e);
		if (max == 4 + strlen(want)) {
			assert_int_equal(html_text(src, strlen(src), &b, &e),
			    0);
			assert_string_equal(buf_str(&b) + 4, want);
			buf_free(&b);
			break;
		}
		assert_int_equal(html_text(src, strlen(src), &b, &e), -1);
		assert_int_equal(e.code, EX_DATAERR);
		assert_non_null(strstr(e.msg, "longer than"));
		assert_string_equal(buf_str(&b), "pre:");
		assert_int_equal(b.len, 4);
		buf_free(&b);
	}
}

static void
t_text_bound(void **state)
{
	(void)state;
	text_bound(bound_src, bound_want);
	text_bound(bound_table_src, bound_table_want);
}

/* The input limit: a stored template part, and not a byte more. */
static void
t_input_limit(void **state)
{
	size_t n = LIMIT_TEMPLATE_PART;
	struct html_scan s;
	struct err e = { 0, "" };
	struct buf b;
	char *src = malloc(n + 1);

	(void)state;
	assert_non_null(src);
	memset(src, 'a', n + 1);
	buf_init(&b, n + 1);
	assert_int_equal(html_scan(src, n, &s, &e), 0);
	assert_int_equal(s.pixel_at, n);
	html_scan_free(&s);
	assert_int_equal(html_text(src, n, &b, &e), 0);
	assert_int_equal(b.len, n + 1);
	buf_reset(&b);
	assert_int_equal(html_scan(src, n + 1, &s, &e), -1);
	assert_int_equal(e.code, EX_DATAERR);
	assert_int_equal(html_text(src, n + 1, &b, &e), -1);
	assert_int_equal(e.code, EX_DATAERR);
	assert_int_equal(b.len, 0);
	buf_free(&b);
	free(src);
}

/* A template part's worth of source in one unit, after a head. */
static char *
fill(const char *head, const char *unit, size_t *len)
{
	size_t n = LIMIT_TEMPLATE_PART, h = strlen(head), u = strlen(unit);
	char *src = malloc(n + 1);

	assert_non_null(src);
	memcpy(src, head, h);
	for (*len = h; *len + u <= n; *len += u)
		memcpy(src + *len, unit, u);
	src[*len] = '\0';
	return src;
}

/*
 * At the input limit, the tags of a table put back in place (a copy of
 * the source, parsed again) and tags that do not nest once put back (a
 * third parse, of the source).
 */
static void
t_input_limit_table(void **state)
{
	static const char want[] = "{{#if a}}\nx\n{{/if}}\n{{#if a}}\nx\n";
	struct err e = { 0, "" };
	struct buf b;
	size_t len;
	char *src;

	(void)state;
	src = fill("<table>", "{{#if a}}<tr><td>x</td></tr>{{/if}}", &len);
	buf_init(&b, 2 * LIMIT_TEMPLATE_PART);
	assert_int_equal(html_text(src, len, &b, &e), 0);
	assert_memory_equal(buf_str(&b), want, strlen(want));
	free(src);
	buf_reset(&b);
	src = fill("<table><tr><td>{{#}}</td></tr>", "{{#}}{{/}}", &len);
	assert_int_equal(html_text(src, len, &b, &e), 0);
	assert_memory_equal(buf_str(&b), "{{#}}{{/}}{{#}}", 14);
	buf_free(&b);
	free(src);
}

/* Lengths are honoured: a NUL is data, and nothing past len is read. */
static void
t_lengths(void **state)
{
	static const char src[] = "<p>a\0b</p><a href=\"https://x/\">x</a>";
	struct html_scan s;
	struct err e = { 0, "" };
	struct buf b;

	(void)state;
	assert_int_equal(html_scan(src, sizeof(src) - 1, &s, &e), 0);
	assert_int_equal(s.nlinks, 1);
	html_scan_free(&s);
	assert_int_equal(html_scan(src, 4, &s, &e), 0);
	assert_int_equal(s.nlinks, 0);
	assert_int_equal(s.pixel_at, 4);
	html_scan_free(&s);
	buf_init(&b, 1024);
	assert_int_equal(html_text(src, 4, &b, &e), 0);
	assert_string_equal(buf_str(&b), "a\n");
	buf_free(&b);
}

/* Deep nesting is walked without recursion, ours or gumbo's. */
static void
t_deep(void **state)
{
	static const char open[] = "<div><ul><li>";
	size_t depth = 3000, k = sizeof(open) - 1, i;
	struct html_scan s;
	struct err e = { 0, "" };
	struct buf b;
	char *src = malloc(depth * k + 64);
	size_t len;

	(void)state;
	assert_non_null(src);
	for (i = 0; i < depth; i++)
		memcpy(src + i * k, open, k);
	len = depth * k;
	memcpy(src + len, "<a href=\"https://d/\">deep</a>", 29);
	len += 29;
	assert_int_equal(html_scan(src, len, &s, &e), 0);
	assert_int_equal(s.nlinks, 1);
	assert_int_equal(s.links[0].kind, HTML_LINK_TRACK);
	html_scan_free(&s);
	buf_init(&b, 1 << 20);
	assert_int_equal(html_text(src, len, &b, &e), 0);
	/* Indentation stops growing past the levels it tracks. */
	assert_true(b.len < 4096);
	assert_non_null(strstr(buf_str(&b), "- deep (https://d/)\n"));
	buf_free(&b);
	free(src);
}

static void
t_free_null(void **state)
{
	(void)state;
	html_scan_free(NULL);
}

int
main(void)
{
	struct unit_tests u = { 0 };

	UNIT_TABLE(&u, scan_cases, t_scan);
	UNIT_TABLE(&u, refuse_cases, t_refuse);
	UNIT_TABLE(&u, text_cases, t_text);
	unit_add(&u, "text: appends, fits its max exactly", t_text_fits, NULL);
	unit_add(&u, "text: output bound", t_text_bound, NULL);
	unit_add(&u, "input: limit of a template part", t_input_limit, NULL);
	unit_add(&u, "input: limit, tags in a table", t_input_limit_table,
	    NULL);
	unit_add(&u, "input: lengths, not NULs", t_lengths, NULL);
	unit_add(&u, "input: deep nesting", t_deep, NULL);
	unit_add(&u, "scan: free(NULL)", t_free_null, NULL);
	return unit_run(&u, "html", NULL, NULL);
}
