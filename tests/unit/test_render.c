/*
 * test_render.c - campaign + recipient to message: the same delivery gives
 * the same bytes (a retry), tokens in the message verify to what they
 * name, the envelope sender is the signed VERP address, strict variables
 * fail one recipient only.
 */
#include "unit.h"

#include <jansson.h>

#include "render.h"
#include "track.h"

static const struct track_key key = { { 9, 8, 7 }, 32 };

static struct render *
open_render(const char *return_path, int strict)
{
	struct render_campaign c = { 0 };
	struct render_config cfg = { "https://t.example.com", 1, 1,
	    return_path };
	struct render *r;
	struct err e;

	c.id = 42;
	c.name = "nov";
	c.from_name = "News";
	c.from_addr = "news@example.com";
	c.template_name = "t";
	c.subject = "Hi {{ first_name }}";
	c.html = "<p><a href=\"https://example.com/a\">a</a> "
	    "<a href=\"mailto:x@example.com\">m</a> "
	    "<a href=\"https://example.com/b?x=1&amp;y=2\">b</a> "
	    "{{ first_name }}</p>";
	c.strict = strict;
	assert_int_equal(render_open(&c, &cfg, &key, &r, &e), 0);
	return r;
}

static void
message(struct render *r, struct render_ctx *x, int64_t id, json_t *attrs,
    int64_t date)
{
	struct render_rcpt rc = { id, "rita@example.com", attrs, date };
	struct err e;

	assert_int_equal(render_message(r, &rc, x, &e), 0);
}

static void
t_retry_same_bytes(void **state)
{
	struct render *r = open_render(NULL, 0);
	json_t *attrs = json_pack("{s:s}", "first_name", "Rita");
	struct render_ctx x;
	char *first;

	(void)state;
	render_ctx_init(&x);
	message(r, &x, 7, attrs, 1796115600000);
	first = strdup(x.msg.data);
	message(r, &x, 8, attrs, 1796115600000);
	assert_string_not_equal(first, x.msg.data);
	message(r, &x, 7, attrs, 1796115600000);
	assert_string_equal(first, x.msg.data);
	assert_non_null(strstr(first, "Date: Tue, 1 Dec 2026 09:00:00 +0000"));
	free(first);
	json_decref(attrs);
	render_ctx_free(&x);
	render_close(r);
}

/* Every click URL in the HTML part names its link and this recipient. */
static void
t_links(void **state)
{
	struct render *r = open_render(NULL, 0);
	json_t *attrs = json_object();
	struct track_mac *m = track_mac_new(&key);
	struct render_ctx x;
	enum track_kind kind;
	int64_t campaign, recipient;
	const char *p;
	int link, seen = 0;
	size_t n;

	(void)state;
	assert_int_equal(render_nlinks(r), 3);
	assert_string_equal(render_link(r, 0), "https://example.com/a");
	assert_null(render_link(r, 1));		/* mailto: kept */
	assert_string_equal(render_link(r, 2), "https://example.com/b?x=1&y=2");
	render_ctx_init(&x);
	message(r, &x, 5, attrs, 1796115600000);
	/* The HTML part is in x.html before encoding. */
	for (p = x.html.data; (p = strstr(p, "https://t.example.com/c/")) != NULL;
	    p += n) {
		p += strlen("https://t.example.com/c/");
		n = strcspn(p, "\"");
		assert_int_equal(track_verify(m, p, n, &kind, &campaign,
		    &recipient, &link), 0);
		assert_int_equal(kind, TRACK_CLICK);
		assert_int_equal(campaign, 42);
		assert_int_equal(recipient, 5);
		assert_int_equal(link, seen == 0 ? 0 : 2);
		seen++;
	}
	assert_int_equal(seen, 2);
	assert_non_null(strstr(x.html.data, "href=\"mailto:x@example.com\""));
	assert_non_null(strstr(x.html.data, "https://t.example.com/o/"));
	track_mac_free(m);
	json_decref(attrs);
	render_ctx_free(&x);
	render_close(r);
}

static void
t_envelope(void **state)
{
	struct render *r = open_render("bounce.example.com", 0);
	struct render *plain = open_render(NULL, 0);
	struct render_rcpt rc = { 77, "rita@example.com", NULL, 0 };
	struct track_mac *m = track_mac_new(&key);
	struct render_ctx x;
	enum track_kind kind;
	int64_t campaign, recipient;
	char env[256];
	const char *at;
	int link;

	(void)state;
	render_ctx_init(&x);
	render_envelope(r, &rc, &x, env, sizeof(env));
	assert_memory_equal(env, "bounces+", 8);
	at = strchr(env, '@');
	assert_non_null(at);
	assert_string_equal(at, "@bounce.example.com");
	assert_int_equal(track_verify(m, env + 8, (size_t)(at - env - 8), &kind,
	    &campaign, &recipient, &link), 0);
	assert_int_equal(kind, TRACK_BOUNCE);
	assert_int_equal(campaign, 42);
	assert_int_equal(recipient, 77);
	render_envelope(plain, &rc, &x, env, sizeof(env));
	assert_string_equal(env, "news@example.com");
	track_mac_free(m);
	render_ctx_free(&x);
	render_close(r);
	render_close(plain);
}

static void
t_strict(void **state)
{
	struct render *r = open_render(NULL, 1);
	json_t *none = json_object(), *some;
	struct render_rcpt rc = { 1, "rita@example.com", none, 0 };
	struct render_ctx x;
	struct err e;

	(void)state;
	render_ctx_init(&x);
	assert_int_equal(render_message(r, &rc, &x, &e), -1);
	assert_int_equal(e.code, EX_DATAERR);
	assert_non_null(strstr(e.msg, "first_name"));
	some = json_pack("{s:s}", "first_name", "Rita");
	rc.attrs = some;
	assert_int_equal(render_message(r, &rc, &x, &e), 0);
	json_decref(none);
	json_decref(some);
	render_ctx_free(&x);
	render_close(r);
}

/* One context across renders with different keys signs with the right one. */
static void
t_ctx_across_renders(void **state)
{
	struct render_campaign c = { 0 };
	struct render_config cfg = { "https://t.example.com", 1, 1, NULL };
	struct track_key k2 = { { 1 }, 32 };
	struct render_rcpt rc = { 3, "rita@example.com", NULL, 0 };
	struct render_ctx x, fresh;
	struct render *r;
	struct err e;
	char *a;
	int i;

	(void)state;
	c.id = 1;
	c.name = "n";
	c.from_addr = "news@example.com";
	c.template_name = "t";
	c.subject = "s";
	c.html = "<p>x</p>";
	render_ctx_init(&x);
	for (i = 0; i < 4; i++) {
		assert_int_equal(render_open(&c, &cfg, i % 2 ? &k2 : &key, &r,
		    &e), 0);
		assert_int_equal(render_message(r, &rc, &x, &e), 0);
		a = strdup(x.msg.data);
		render_ctx_init(&fresh);
		assert_int_equal(render_message(r, &rc, &fresh, &e), 0);
		assert_string_equal(a, fresh.msg.data);
		render_ctx_free(&fresh);
		free(a);
		render_close(r);
	}
	render_ctx_free(&x);
}

int
main(void)
{
	struct unit_tests u = { 0 };

	unit_add(&u, "retry: the same delivery gives the same bytes",
	    t_retry_same_bytes, NULL);
	unit_add(&u, "links: click tokens name link and recipient", t_links,
	    NULL);
	unit_add(&u, "envelope: signed VERP, or From without a domain",
	    t_envelope, NULL);
	unit_add(&u, "strict: a missing variable fails that recipient",
	    t_strict, NULL);
	unit_add(&u, "context: the right key after another render",
	    t_ctx_across_renders, NULL);
	return unit_run(&u, "render", NULL, NULL);
}
