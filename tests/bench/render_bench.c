/*
 * render_bench.c - the renderer alone, on one core: a 10 KB HTML template
 * with ten variables, two conditionals, a loop and tracking on, rendered
 * and assembled into complete messages for a rotating set of recipients.
 *
 * usage: render_bench [MESSAGES]   prints one JSON object
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "render.h"

#define RECIPIENTS	1000

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* About 10 KB: filler paragraphs around the personalised parts. */
static void
make_template(struct buf *html)
{
	int i;

	(void)!buf_adds(html, "<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
	    "<title>{{ campaign.name }}</title></head><body>\n"
	    "<h1>Hello {{ first_name | default: \"there\" }} "
	    "{{ last_name }},</h1>\n"
	    "<p>News for {{ city.name }} in {{ country }}.</p>\n"
	    "{{#if plan == \"pro\" and seats > 5}}<p>Your {{ plan | upper }} "
	    "plan has {{ seats }} seats.</p>{{else}}<p>Try Pro: "
	    "<a href=\"https://example.com/pricing\">plans</a></p>{{/if}}\n"
	    "{{#if vip}}<p>As a VIP since {{ signup | date: \"%d.%m.%Y\" }} "
	    "you get {{ discount }} % off.</p>{{/if}}\n<ul>\n"
	    "{{#each orders as o}}<li>{{ @number }}. {{ o.item }}: "
	    "{{ o.total | number: 2 }}</li>\n{{/each}}</ul>\n");
	/* Ten tracked links in all, as a real newsletter has. */
	for (i = 0; html->len < 9500; i++)
		if (i % 5 == 0)
			(void)!buf_printf(html, "<p style=\"line-height:1.5\">"
			    "Paragraph %d with <a href=\"https://example.com/"
			    "article/%d\">a link to article %d</a> and text "
			    "that makes the message as long as a real one.</p>\n",
			    i, i, i);
		else
			(void)!buf_printf(html, "<p style=\"line-height:1.5\">"
			    "Paragraph %d of the newsletter, with some text that "
			    "makes the message as long as a real one.</p>\n", i);
	(void)!buf_adds(html, "<p><a href=\"{{ unsubscribe_url }}\">Unsubscribe"
	    "</a> {{ email }}</p>\n</body></html>\n");
}

static json_t *
make_attrs(int i)
{
	static const char *plans[] = { "free", "pro", "team" };

	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:b, s:s, s:i, s:{s:s}, "
	    "s:[{s:s, s:f}, {s:s, s:f}]}", "first_name", i % 7 ? "Anna" :
	    "Jürgen", "last_name", "Müller", "country", "DE", "plan",
	    plans[i % 3], "seats", i % 40, "vip", i % 5 == 0, "signup",
	    "2025-03-04", "discount", 10 + i % 20, "city", "name", "Köln",
	    "orders", "item", "Desk lamp", "total", 39.9, "item", "Chair",
	    "total", 1249.5);
}

int
main(int argc, char **argv)
{
	struct render_campaign c = { 0 };
	struct render_config cfg = { "https://t.example.com", 1, 1,
	    "bounce.example.com" };
	struct track_key key = { { 7 }, 32 };
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 50000, i;
	json_t *attrs[RECIPIENTS];
	struct render_ctx x;
	struct render *r;
	struct buf html;
	struct err e;
	char addr[64];
	double t0, dt, bytes = 0;

	buf_init(&html, 1 << 20);
	make_template(&html);
	c.id = 1;
	c.name = "bench";
	c.from_name = "Bench Sender";
	c.from_addr = "news@example.com";
	c.template_name = "bench";
	c.subject = "News for {{ first_name }} in {{ city.name }} 🎉";
	c.html = buf_str(&html);
	if (render_open(&c, &cfg, &key, &r, &e) < 0) {
		fprintf(stderr, "render_bench: %s\n", e.msg);
		return 1;
	}
	for (i = 0; i < RECIPIENTS; i++)
		attrs[i] = make_attrs((int)i);
	render_ctx_init(&x);
	t0 = now();
	for (i = 0; i < n; i++) {
		struct render_rcpt rc = { i + 1, addr, attrs[i % RECIPIENTS],
		    1796115600000 };

		snprintf(addr, sizeof(addr), "user%ld@d%ld.example", i, i % 500);
		if (render_message(r, &rc, &x, &e) < 0) {
			fprintf(stderr, "render_bench: %s\n", e.msg);
			return 1;
		}
		bytes += (double)x.msg.len;
	}
	dt = now() - t0;
	printf("{\"messages\": %ld, \"seconds\": %.3f, \"per_second\": %.0f, "
	    "\"template_bytes\": %zu, \"message_bytes\": %.0f}\n", n, dt,
	    n / dt, html.len, bytes / n);
	render_ctx_free(&x);
	render_close(r);
	for (i = 0; i < RECIPIENTS; i++)
		json_decref(attrs[i]);
	buf_free(&html);
	return 0;
}
