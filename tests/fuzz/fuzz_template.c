/*
 * fuzz_template.c - libFuzzer target: the template compiler and renderer.
 *
 * The first byte picks the part (html, text or subject), the rest is the
 * template, passed by length and not NUL-terminated so a read past the
 * end shows. A template must compile or fail with a positioned message;
 * one that compiles is rendered against fixed attributes, lenient first
 * and then strict with the scratch left as the first render left it. Each
 * render succeeds or fails with a message, and stays under the 64 KiB cap.
 * A strict render that succeeds met no missing variable, so it must equal
 * the lenient one: a filter that depends on what the scratch held before
 * shows up as a difference.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Short names, so the fuzzer finds them; every JSON type and the values
 * the filters and escaping have edge cases for. */
static const char attrs_json[] =
    "{\"a\":\"Anna\",\"b\":\"  <b>&\\\"' x  \",\"n\":1234.5,\"i\":-7,"
    "\"z\":0,\"t\":true,\"f\":false,\"u\":null,\"e\":\"\","
    "\"s\":\"Stra\\u00dfe \\u00fc \\u0130 \\u1e9e \\ud83d\\ude00\","
    "\"c\":\"a\\r\\nb\\tc\\u0085d\\u0000e\",\"g\":1234567890123456789,"
    "\"h\":1e300,\"d\":\"2026-12-01 10:20:30\","
    "\"iso\":\"2026-12-01T10:20:30Z\",\"ts\":1796115600,"
    "\"q\":\"{{ unsubscribe_url }}\",\"m\":\"12.50\",\"nan\":\"Nan\","
    "\"xs\":[1,\"two\",{\"k\":\"v\",\"xs\":[3,4]},[5,[6]],null,[]],"
    "\"o\":{\"k\":\"v\",\"a\":{\"b\":[1,2]}},\"ea\":[],\"eo\":{}}";

static json_t *attrs;

static int
on_var(const char *path, int line, int col, int has_default, void *ctx)
{
	(void)has_default;
	(void)ctx;
	if (path == NULL || line < 1 || col < 1)
		abort();
	return 0;
}

static int
render(const struct tpl *t, int strict, struct tpl_scratch *s,
    struct buf *out)
{
	struct tpl_env env;
	struct err e;

	memset(&env, 0, sizeof(env));
	env.attrs = attrs;
	env.email = "a@example.com";
	env.campaign_name = "camp";
	env.unsubscribe_url = "https://u.example/u/X";
	env.date_ms = 1796115600000LL;
	env.strict = strict;
	memset(&e, 0, sizeof(e));
	buf_init(out, 64 * 1024);
	if (tpl_render(t, &env, out, s, &e) == 0)
		return 0;
	if (e.code != EX_DATAERR || e.msg[0] == '\0' || out->len > out->max)
		abort();
	return -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum tpl_ctx ctxs[] = { TPL_HTML, TPL_TEXT, TPL_HEADER };
	static const char *const parts[] = { "html", "text", "subject" };
	struct tpl_source src = { "fz", NULL, TPL_HTML, NULL };
	struct tpl_scratch s;
	struct buf lenient, strict;
	struct tpl *t;
	struct err e;
	int ok;

	if (size == 0)
		return 0;
	if (attrs == NULL && (attrs = json_loads(attrs_json, JSON_ALLOW_NUL,
	    NULL)) == NULL)
		abort();
	src.ctx = ctxs[data[0] % 3];
	src.part = parts[data[0] % 3];
	memset(&e, 0, sizeof(e));
	if (tpl_compile((const char *)data + 1, size - 1, &src, &t, &e) < 0) {
		if (t != NULL || e.code != EX_DATAERR ||
		    strncmp(e.msg, "template fz, part ", 18) != 0)
			abort();
		return 0;
	}
	if (tpl_vars(t, on_var, NULL) < 0)
		abort();
	tpl_scratch_init(&s);
	ok = render(t, 0, &s, &lenient) == 0;
	if (render(t, 1, &s, &strict) == 0 && (!ok ||
	    strict.len != lenient.len ||
	    memcmp(buf_str(&strict), buf_str(&lenient), strict.len) != 0))
		abort();
	buf_free(&lenient);
	buf_free(&strict);
	tpl_scratch_free(&s);
	tpl_free(t);
	return 0;
}
