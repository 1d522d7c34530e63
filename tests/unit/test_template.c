/*
 * test_template.c - the template language (template.h): compiling,
 * rendering, escaping, errors and tpl_vars().
 *
 * Render rows compile one part, render it over attributes given as JSON
 * and compare the whole output; each is rendered twice with one scratch,
 * so a filter that trusts the scratch buffers to start clean shows up.
 * Condition rows are each tried as {{#if}} and as {{#unless}}. Error rows
 * compare the whole message: template, part, line, column, the text, the
 * line shown and the caret under the column.
 */
#include "unit.h"

#include <jansson.h>

#include "buf.h"
#include "limits.h"
#include "template.h"

#define H	TPL_HTML
#define T	TPL_TEXT
#define S	TPL_HEADER

/* 2026-12-01 09:00:00 UTC */
#define DATE_MS	1796115600000LL

static const char *
part_name(enum tpl_ctx ctx)
{
	return ctx == TPL_HTML ? "html" : ctx == TPL_TEXT ? "text" :
	    "subject";
}

static int
compile(const char *src, size_t len, enum tpl_ctx ctx, struct tpl **t,
    struct err *e)
{
	struct tpl_source s = { "t", part_name(ctx), ctx, NULL };

	return tpl_compile(src, len, &s, t, e);
}

static json_t *
attrs_load(const char *attrs)
{
	json_error_t je;
	json_t *a = json_loads(attrs != NULL ? attrs : "{}", 0, &je);

	if (a == NULL)
		fail_msg("bad attributes in the row: %s", je.text);
	return a;
}

static void
env_init(struct tpl_env *env, json_t *attrs, int strict)
{
	memset(env, 0, sizeof(*env));
	env->attrs = attrs;
	env->email = "a@example.com";
	env->campaign_name = "camp";
	env->unsubscribe_url = "https://u.example/u/X";
	env->date_ms = DATE_MS;
	env->strict = strict;
}

/* ---------------------------------------------------------- rendering */

struct render_case {
	const char *name;
	enum tpl_ctx ctx;
	const char *src;
	const char *attrs;	/* JSON; NULL for {} */
	const char *want;	/* the output, or the error when fails */
	int strict;
	int fails;
};

static const struct render_case render_cases[] = {
	/* variables */
	{ "var: plain", T, "Hi {{ first_name }}!", "{\"first_name\":\"Anna\"}",
	    "Hi Anna!", 0, 0 },
	{ "var: no spaces in the tag", T, "{{first_name}}",
	    "{\"first_name\":\"Anna\"}", "Anna", 0, 0 },
	{ "var: spaces and newlines in the tag", T, "{{\n  first_name\t}}",
	    "{\"first_name\":\"Anna\"}", "Anna", 0, 0 },
	{ "var: nested path", T, "{{ address.city }}",
	    "{\"address\":{\"city\":\"K\xc3\xb6ln\"}}", "K\xc3\xb6ln", 0, 0 },
	{ "var: deeper path", T, "{{ a.b.c.d }}",
	    "{\"a\":{\"b\":{\"c\":{\"d\":\"deep\"}}}}", "deep", 0, 0 },
	{ "var: array index path", T, "{{ orders.0.item }}/{{ orders.1.item }}",
	    "{\"orders\":[{\"item\":\"Tea\"},{\"item\":\"Cup\"}]}", "Tea/Cup",
	    0, 0 },
	{ "var: array element itself", T, "{{ tags.2 }}",
	    "{\"tags\":[\"a\",\"b\",\"c\"]}", "c", 0, 0 },
	{ "var: index past the end is missing", T, "[{{ orders.5.item }}]",
	    "{\"orders\":[{\"item\":\"Tea\"}]}", "[]", 0, 0 },
	{ "var: name into an array is missing", T, "[{{ orders.item }}]",
	    "{\"orders\":[{\"item\":\"Tea\"}]}", "[]", 0, 0 },
	{ "var: path through a string is missing", T, "[{{ name.x }}]",
	    "{\"name\":\"Anna\"}", "[]", 0, 0 },
	{ "var: integer", T, "{{ n }} {{ m }}", "{\"n\":42,\"m\":-7}",
	    "42 -7", 0, 0 },
	{ "var: integer past 2^53 exact", T, "{{ id }}",
	    "{\"id\":1234567890123456789}", "1234567890123456789", 0, 0 },
	{ "var: real", T, "{{ x }} {{ y }}", "{\"x\":2.5,\"y\":-0.25}",
	    "2.5 -0.25", 0, 0 },
	{ "var: booleans", T, "{{ t }} {{ f }}", "{\"t\":true,\"f\":false}",
	    "true false", 0, 0 },
	{ "var: null renders empty", T, "[{{ x }}]", "{\"x\":null}", "[]", 0,
	    0 },
	{ "var: empty string", T, "[{{ x }}]", "{\"x\":\"\"}", "[]", 0, 0 },
	{ "var: array prints as JSON", T, "{{ tags }}",
	    "{\"tags\":[\"a\",1]}", "[\"a\",1]", 0, 0 },
	{ "var: string literals", T, "{{ \"dq\" }} {{ 'sq' }} {{ \"a\\\"b\" }}",
	    NULL, "dq sq a\"b", 0, 0 },
	{ "var: number and boolean literals", T,
	    "{{ 5 }} {{ 2.50 }} {{ -3 }} {{ true }} {{ false }}", NULL,
	    "5 2.5 -3 true false", 0, 0 },
	{ "var: names with - and _", T, "{{ first-name }}{{ last_name }}",
	    "{\"first-name\":\"A\",\"last_name\":\"B\"}", "AB", 0, 0 },
	{ "var: UTF-8 name", T, "{{ stra\xc3\x9f" "e }}",
	    "{\"stra\xc3\x9f" "e\":\"x\"}", "x", 0, 0 },
	{ "var: text without tags", T, "plain { } }} text", NULL,
	    "plain { } }} text", 0, 0 },
	{ "var: empty template", T, "", NULL, "", 0, 0 },
	{ "var: comment renders nothing", T, "a{{! note }}b", NULL, "ab", 0,
	    0 },
	{ "var: comment after a line break in the tag", T,
	    "a{{\n  ! a longer\n note }}b", NULL, "ab", 0, 0 },
	{ "var: comment ends at the first }}", T, "a{{! x }} y }}", NULL,
	    "a y }}", 0, 0 },

	/* built-ins */
	{ "builtin: email", T, "{{ email }}", NULL, "a@example.com", 0, 0 },
	{ "builtin: unsubscribe_url", T, "{{ unsubscribe_url }}", NULL,
	    "https://u.example/u/X", 0, 0 },
	{ "builtin: date", T, "{{ date }}", NULL, "2026-12-01", 0, 0 },
	{ "builtin: campaign.name", T, "{{ campaign.name }}", NULL, "camp", 0,
	    0 },
	{ "builtin: win over attributes", T,
	    "{{ email }} {{ date }} {{ campaign.name }} {{ unsubscribe_url }}",
	    "{\"email\":\"x@y\",\"date\":\"d\",\"campaign\":{\"name\":\"c\"},"
	    "\"unsubscribe_url\":\"u\"}",
	    "a@example.com 2026-12-01 camp https://u.example/u/X", 0, 0 },
	{ "builtin: email inside each wins over the element", T,
	    "{{#each xs}}{{ email }};{{/each}}", "{\"xs\":[{\"email\":\"e\"}]}",
	    "a@example.com;", 0, 0 },

	/* each */
	{ "each: this, @index, @number, @first, @last", T,
	    "{{#each tags}}{{ @index }}/{{ @number }}/{{ @first }}/{{ @last }}"
	    "={{ this }};{{/each}}", "{\"tags\":[\"a\",\"b\",\"c\"]}",
	    "0/1/true/false=a;1/2/false/false=b;2/3/false/true=c;", 0, 0 },
	{ "each: one element is first and last", T,
	    "{{#each tags}}{{ @first }}/{{ @last }}{{/each}}",
	    "{\"tags\":[\"a\"]}", "true/true", 0, 0 },
	{ "each: separators via unless @last", T,
	    "{{#each tags}}{{ this }}{{#unless @last}}, {{/unless}}{{/each}}",
	    "{\"tags\":[\"a\",\"b\",\"c\"]}", "a, b, c", 0, 0 },
	{ "each: @index in a condition", T,
	    "{{#each tags}}{{#if @index == 1}}[{{ this }}]{{/if}}{{/each}}",
	    "{\"tags\":[\"a\",\"b\",\"c\"]}", "[b]", 0, 0 },
	{ "each: as NAME", T,
	    "{{#each orders as order}}{{ @number }}. {{ order.item }} "
	    "({{ order.total | number: 2 }})\n{{/each}}",
	    "{\"orders\":[{\"item\":\"Tea\",\"total\":4.5},"
	    "{\"item\":\"Cup\",\"total\":12}]}",
	    "1. Tea (4.50)\n2. Cup (12.00)\n", 0, 0 },
	{ "each: this with a field", T, "{{#each xs}}{{ this.k }}{{/each}}",
	    "{\"xs\":[{\"k\":1},{\"k\":2}]}", "12", 0, 0 },
	{ "each: bare name from the element", T,
	    "{{#each orders}}{{ item }};{{/each}}",
	    "{\"orders\":[{\"item\":\"Tea\"},{\"item\":\"Cup\"}]}", "Tea;Cup;",
	    0, 0 },
	{ "each: bare name falls back to the attributes", T,
	    "{{#each orders}}{{ item }} for {{ first_name }};{{/each}}",
	    "{\"first_name\":\"Anna\",\"orders\":[{\"item\":\"Tea\"}]}",
	    "Tea for Anna;", 0, 0 },
	{ "each: the element wins over the attributes", T,
	    "{{#each xs}}{{ first_name }}{{/each}} {{ first_name }}",
	    "{\"first_name\":\"A\",\"xs\":[{\"first_name\":\"E\"},{}]}", "EA A",
	    0, 0 },
	{ "each: element null is found, not passed over", T,
	    "{{#each xs}}[{{ n }}]{{/each}}",
	    "{\"n\":\"top\",\"xs\":[{\"n\":null},{}]}", "[][top]", 0, 0 },
	{ "each: scalars, a bare name reaches the attributes", T,
	    "{{#each xs}}{{ this }}{{ sep }}{{/each}}",
	    "{\"sep\":\"|\",\"xs\":[1,\"b\",true]}", "1|b|true|", 0, 0 },
	{ "each: nested, inner name falls back outward", T,
	    "{{#each orders as o}}{{#each o.lines}}{{ o.id }}-{{ sku }}-"
	    "{{ @index }}-{{ note }} {{/each}}{{/each}}",
	    "{\"note\":\"top\",\"orders\":[{\"id\":1,\"note\":\"n1\",\"lines\":"
	    "[{\"sku\":\"a\"},{\"sku\":\"b\",\"note\":\"own\"}]},"
	    "{\"id\":2,\"lines\":[{\"sku\":\"c\"}]}]}",
	    "1-a-0-n1 1-b-1-own 2-c-0-top ", 0, 0 },
	{ "each: nested, @last is the inner loop's", T,
	    "{{#each a}}{{#each this}}{{ this }}{{#if @last}}.{{/if}}{{/each}}"
	    "{{#if @last}}!{{/if}}{{/each}}", "{\"a\":[[1,2],[3]]}",
	    "12.3.!", 0, 0 },
	{ "each: over this, the outer element", T,
	    "{{#each rows}}[{{#each this}}{{ this }}{{/each}}]{{/each}}",
	    "{\"rows\":[[1,2],[3]]}", "[12][3]", 0, 0 },
	{ "each: over a field of this", T,
	    "{{#each rows}}{{#each this.xs}}{{ this }}{{/each}};{{/each}}",
	    "{\"rows\":[{\"xs\":[1,2]},{\"xs\":[3]}]}", "12;3;", 0, 0 },
	{ "each: over an outer alias", T,
	    "{{#each rows as r}}{{#each tags}}{{#each r.xs}}{{ this }}{{/each}}"
	    "{{/each}}{{/each}}",
	    "{\"tags\":[1,2],\"rows\":[{\"xs\":[\"a\",\"b\"]}]}", "abab", 0,
	    0 },
	{ "each: this outside each is an attribute", T,
	    "{{#each this}}x{{/each}}", "{\"this\":[1,2]}", "xx", 0, 0 },
	{ "each: array by index path", T, "{{#each m.1}}{{ this }}{{/each}}",
	    "{\"m\":[[0],[1,2]]}", "12", 0, 0 },
	{ "each: empty array", T, "a{{#each xs}}x{{/each}}b", "{\"xs\":[]}",
	    "ab", 0, 0 },
	{ "each: a string is no array", T, "a{{#each xs}}x{{/each}}b",
	    "{\"xs\":\"abc\"}", "ab", 0, 0 },
	{ "each: an object is no array", T, "a{{#each xs}}x{{/each}}b",
	    "{\"xs\":{\"k\":1}}", "ab", 0, 0 },
	{ "each: missing array", T, "a{{#each xs}}x{{/each}}b", NULL, "ab", 0,
	    0 },
	{ "each: null", T, "a{{#each xs}}x{{/each}}b", "{\"xs\":null}", "ab", 0,
	    0 },

	/* missing variables */
	{ "missing: lenient renders empty", T, "[{{ nope }}]", NULL, "[]", 0,
	    0 },
	{ "missing: lenient nested path", T, "[{{ a.b.c }}]", "{\"a\":{}}",
	    "[]", 0, 0 },
	{ "missing: strict fails naming it", T, "x {{ nope }}", NULL,
	    "line 1: the recipient has no attribute \"nope\" (strict "
	    "variables)", 1, 1 },
	{ "missing: strict names the path and line", H, "a\nb\n<p>{{ x.y }}",
	    "{\"x\":{}}", "line 3: the recipient has no attribute \"x.y\" "
	    "(strict variables)", 1, 1 },
	{ "missing: strict inside each", T, "{{#each xs}}\n{{ sku }}{{/each}}",
	    "{\"xs\":[{\"sku\":1},{}]}", "line 2: the recipient has no "
	    "attribute \"sku\" (strict variables)", 1, 1 },
	{ "missing: strict, present values render", T, "{{ a }} {{ b.c }}",
	    "{\"a\":1,\"b\":{\"c\":2}}", "1 2", 1, 0 },
	{ "missing: strict, null is present", T, "[{{ x }}]", "{\"x\":null}",
	    "[]", 1, 0 },
	{ "missing: strict, default saves it", T,
	    "Hi {{ nope | default: \"there\" }}", NULL, "Hi there", 1, 0 },
	{ "missing: strict, default later in the chain", T,
	    "{{ nope | trim | default: \"x\" }}", NULL, "x", 1, 0 },
	{ "missing: strict, conditions and each arrays are no variables", T,
	    "{{#if nope}}a{{else}}b{{/if}}{{#each none}}c{{/each}}", NULL, "b",
	    1, 0 },

	/* default */
	{ "default: missing", T, "{{ x | default: \"there\" }}", NULL,
	    "there", 0, 0 },
	{ "default: null", T, "{{ x | default: \"there\" }}", "{\"x\":null}",
	    "there", 0, 0 },
	{ "default: empty text", T, "{{ x | default: \"there\" }}",
	    "{\"x\":\"\"}", "there", 0, 0 },
	{ "default: a value wins", T, "{{ x | default: \"there\" }}",
	    "{\"x\":\"Anna\"}", "Anna", 0, 0 },
	{ "default: 0 and false are values", T,
	    "{{ z | default: \"d\" }} {{ f | default: \"d\" }}",
	    "{\"z\":0,\"f\":false}", "0 false", 0, 0 },
	{ "default: white space is a value", T, "[{{ x | default: \"d\" }}]",
	    "{\"x\":\"  \"}", "[  ]", 0, 0 },
	{ "default: after trim, white space is empty", T,
	    "{{ x | trim | default: \"d\" }}", "{\"x\":\"  \"}", "d", 0, 0 },
	{ "default: single quotes and a number", T,
	    "{{ x | default: 'it\\'s' }} {{ y | default: 0 }}", NULL,
	    "it's 0", 0, 0 },
	{ "default: escaped quote in the text", T,
	    "{{ x | default: \"say \\\"hi\\\"\" }}", NULL, "say \"hi\"", 0, 0 },
	{ "default: then capitalize", T,
	    "{{ x | default: \"there\" | capitalize }}", NULL, "There", 0, 0 },

	/* case */
	{ "upper: umlauts and sharp s", T, "{{ x | upper }}",
	    "{\"x\":\"k\xc3\xb6ln stra\xc3\x9f" "e \xc3\xbc\"}",
	    "K\xc3\x96LN STRASSE \xc3\x9c", 0, 0 },
	{ "lower: umlauts", T, "{{ x | lower }}",
	    "{\"x\":\"\xc3\x9c" "BER \xc3\x84RGER\"}",
	    "\xc3\xbc" "ber \xc3\xa4rger", 0, 0 },
	{ "capitalize: umlaut first, rest lowered", T, "{{ x | capitalize }}",
	    "{\"x\":\"\xc3\xbc" "BER\"}", "\xc3\x9c" "ber", 0, 0 },
	{ "capitalize: sharp s first", T, "{{ x | capitalize }}",
	    "{\"x\":\"\xc3\x9f" "a\"}", "SSa", 0, 0 },
	{ "capitalize: one letter, empty", T,
	    "{{ a | capitalize }}[{{ b | capitalize }}]",
	    "{\"a\":\"x\",\"b\":\"\"}", "X[]", 0, 0 },
	{ "capitalize: after lower", T, "{{ x | lower | capitalize }}",
	    "{\"x\":\"hELLO wORLD\"}", "Hello world", 0, 0 },
	{ "capitalize: after other values and filters", T,
	    "{{ a | upper }} {{ b | upper | capitalize }} "
	    "{{ c | trim | lower | capitalize | capitalize }}",
	    "{\"a\":\"first value\",\"b\":\"zweiter\","
	    "\"c\":\"  \xc3\x84PFEL \"}",
	    "FIRST VALUE Zweiter \xc3\x84pfel", 0, 0 },
	{ "upper: a number", T, "{{ n | upper }}", "{\"n\":5}", "5", 0, 0 },

	/* trim */
	{ "trim: both ends", T, "[{{ x | trim }}]",
	    "{\"x\":\" \\t a b \\r\\n\"}", "[a b]", 0, 0 },
	{ "trim: only white space", T, "[{{ x | trim }}]", "{\"x\":\"   \"}",
	    "[]", 0, 0 },
	{ "trim: inside a scratch buffer, then more filters", T,
	    "{{ x | upper | trim | url }} {{ x | lower | trim | upper }}",
	    "{\"x\":\" a b \"}", "A%20B A B", 0, 0 },

	/* truncate */
	{ "truncate: shorter", T, "{{ x | truncate: 5 }}", "{\"x\":\"abc\"}",
	    "abc", 0, 0 },
	{ "truncate: exact", T, "{{ x | truncate: 5 }}", "{\"x\":\"abcde\"}",
	    "abcde", 0, 0 },
	{ "truncate: longer", T, "{{ x | truncate: 5 }}",
	    "{\"x\":\"abcdefgh\"}", "abcd\xe2\x80\xa6", 0, 0 },
	{ "truncate: space before the ellipsis dropped", T,
	    "{{ x | truncate: 7 }}", "{\"x\":\"hello world\"}",
	    "hello\xe2\x80\xa6", 0, 0 },
	{ "truncate: custom ellipsis", T, "{{ x | truncate: 6, \"...\" }}",
	    "{\"x\":\"abcdefgh\"}", "abc...", 0, 0 },
	{ "truncate: empty ellipsis", T, "{{ x | truncate: 3, \"\" }}",
	    "{\"x\":\"abcdefgh\"}", "abc", 0, 0 },
	{ "truncate: counts characters, not bytes", T,
	    "{{ x | truncate: 3 }}", "{\"x\":\"\xc3\xa4\xc3\xb6\xc3\xbc\"}",
	    "\xc3\xa4\xc3\xb6\xc3\xbc", 0, 0 },
	{ "truncate: never splits a character", T, "{{ x | truncate: 4 }}",
	    "{\"x\":\"\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\"}",
	    "\xc3\xa4\xc3\xa4\xc3\xa4\xe2\x80\xa6", 0, 0 },
	{ "truncate: four-byte characters", T, "{{ x | truncate: 2 }}",
	    "{\"x\":\"\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\"}",
	    "\xf0\x9f\x98\x80\xe2\x80\xa6", 0, 0 },
	{ "truncate: 1 is the ellipsis", T, "{{ x | truncate: 1 }}",
	    "{\"x\":\"abc\"}", "\xe2\x80\xa6", 0, 0 },
	{ "truncate: 0 is empty", T, "[{{ x | truncate: 0 }}]",
	    "{\"x\":\"abc\"}", "[]", 0, 0 },
	{ "truncate: ellipsis longer than N is cut to N", T,
	    "{{ x | truncate: 2, \"...\" }}", "{\"x\":\"hello\"}", "..", 0, 0 },
	{ "truncate: a huge N keeps all", T,
	    "{{ x | truncate: 99999999999999999999999 }}", "{\"x\":\"abc\"}",
	    "abc", 0, 0 },
	{ "truncate: after trim", T, "{{ x | upper | trim | truncate: 4 }}",
	    "{\"x\":\" ab cd \"}", "AB\xe2\x80\xa6", 0, 0 },

	/* number */
	{ "number: 0", T, "{{ n | number }} {{ n | number: 2 }}",
	    "{\"n\":0}", "0 0.00", 0, 0 },
	{ "number: grouped, rounded", T, "{{ n | number }}",
	    "{\"n\":1234567.891}", "1,234,568", 0, 0 },
	{ "number: 2 decimals", T, "{{ n | number: 2 }}",
	    "{\"n\":1234567.891}", "1,234,567.89", 0, 0 },
	{ "number: de", T, "{{ n | number: 2, \"de\" }}",
	    "{\"n\":1234567.891}", "1.234.567,89", 0, 0 },
	{ "number: en", T, "{{ n | number: 2, \"en\" }}", "{\"n\":1234.5}",
	    "1,234.50", 0, 0 },
	{ "number: negative", T, "{{ n | number: 1 }}", "{\"n\":-1234.56}",
	    "-1,234.6", 0, 0 },
	{ "number: negative rounding to 0 has no sign", T,
	    "{{ n | number: 2 }}", "{\"n\":-0.001}", "0.00", 0, 0 },
	{ "number: group edges", T,
	    "{{ a | number }} {{ b | number }} {{ c | number }} "
	    "{{ d | number }}", "{\"a\":999,\"b\":1000,\"c\":100000,"
	    "\"d\":1e20}", "999 1,000 100,000 100,000,000,000,000,000,000", 0,
	    0 },
	{ "number: numeric string from CSV", T, "{{ n | number: 2, \"de\" }}",
	    "{\"n\":\"1234.5\"}", "1.234,50", 0, 0 },
	{ "number: exponent string", T, "{{ n | number }}", "{\"n\":\"1e3\"}",
	    "1,000", 0, 0 },
	{ "number: non-number left unchanged", T, "{{ n | number: 2 }}",
	    "{\"n\":\"n/a\"}", "n/a", 0, 0 },
	{ "number: Nan, inf, hex and padded are text", T,
	    "{{ a | number }} {{ b | number }} {{ c | number }} "
	    "[{{ d | number }}]", "{\"a\":\"Nan\",\"b\":\"inf\",\"c\":\"0x10\","
	    "\"d\":\" 5\"}", "Nan inf 0x10 [ 5]", 0, 0 },
	{ "number: missing stays empty", T, "[{{ n | number: 2 }}]", NULL,
	    "[]", 0, 0 },
	{ "number: a huge decimal count falls back to 2", T,
	    "{{ n | number: 99999999999999999999 }}", "{\"n\":1.5}", "1.50", 0,
	    0 },
	{ "number: then truncate", T, "{{ n | number: 2 | truncate: 4 }}",
	    "{\"n\":1234}", "1,2\xe2\x80\xa6", 0, 0 },

	/* date */
	{ "date: YYYY-MM-DD", T, "{{ d | date: \"%d.%m.%Y\" }}",
	    "{\"d\":\"2026-12-01\"}", "01.12.2026", 0, 0 },
	{ "date: with hours and minutes", T, "{{ d | date: \"%d.%m. %H:%M\" }}",
	    "{\"d\":\"2026-12-01 14:05\"}", "01.12. 14:05", 0, 0 },
	{ "date: with seconds", T, "{{ d | date: \"%H:%M:%S\" }}",
	    "{\"d\":\"2026-12-01 14:05:09\"}", "14:05:09", 0, 0 },
	{ "date: ISO 8601 with Z", T, "{{ d | date: \"%Y-%m-%d %H:%M\" }}",
	    "{\"d\":\"2026-12-01T14:05:09Z\"}", "2026-12-01 14:05", 0, 0 },
	{ "date: ISO 8601 without zone", T, "{{ d | date: \"%d/%m/%Y\" }}",
	    "{\"d\":\"2026-12-01T14:05:09\"}", "01/12/2026", 0, 0 },
	{ "date: Unix seconds", T, "{{ d | date: \"%Y-%m-%d %H:%M\" }}",
	    "{\"d\":1796115600}", "2026-12-01 09:00", 0, 0 },
	{ "date: the date built-in", T, "{{ date | date: \"%d.%m.%Y\" }}",
	    NULL, "01.12.2026", 0, 0 },
	{ "date: unparseable left unchanged", T,
	    "{{ a | date: \"%Y\" }} {{ b | date: \"%Y\" }}",
	    "{\"a\":\"soon\",\"b\":\"2026-13-01\"}", "soon 2026-13-01", 0, 0 },
	{ "date: out of range seconds left unchanged", T,
	    "{{ d | date: \"%Y\" }}", "{\"d\":1e300}", "1e+300", 0, 0 },
	{ "date: missing stays empty", T, "[{{ d | date: \"%Y\" }}]", NULL,
	    "[]", 0, 0 },

	/* url */
	{ "url: spaces, &, / and umlauts", T, "{{ x | url }}",
	    "{\"x\":\"K\xc3\xb6ln & Bonn/Rhein\"}",
	    "K%C3%B6ln%20%26%20Bonn%2FRhein", 0, 0 },
	{ "url: unreserved kept", T, "{{ x | url }}",
	    "{\"x\":\"aZ09-._~\"}", "aZ09-._~", 0, 0 },
	{ "url: reserved encoded", T, "{{ x | url }}",
	    "{\"x\":\"?=#+%:@\"}", "%3F%3D%23%2B%25%3A%40", 0, 0 },
	{ "url: in an HTML attribute", H,
	    "<a href=\"https://x.example/?q={{ city | url }}\">",
	    "{\"city\":\"K\xc3\xb6ln & Bonn\"}",
	    "<a href=\"https://x.example/?q=K%C3%B6ln%20%26%20Bonn\">", 0, 0 },

	/* raw and chains */
	{ "raw: no HTML escaping", H, "{{ x | raw }}",
	    "{\"x\":\"<b>&amp;</b>\"}", "<b>&amp;</b>", 0, 0 },
	{ "raw: anywhere in the chain", H, "{{ x | raw | upper }}",
	    "{\"x\":\"<b>\"}", "<B>", 0, 0 },
	{ "raw: text is as is anyway", T, "{{ x | raw }}", "{\"x\":\"<b>\"}",
	    "<b>", 0, 0 },
	{ "chain: trim | upper | truncate: 5", T,
	    "{{ x | trim | upper | truncate: 5 }}",
	    "{\"x\":\"  hello world  \"}", "HELL\xe2\x80\xa6", 0, 0 },
	{ "chain: default then trim", T,
	    "[{{ x | default: \"  d  \" | trim }}]", NULL, "[d]", 0, 0 },

	/* blocks */
	{ "if: true", T, "a{{#if x}}b{{/if}}c", "{\"x\":true}", "abc", 0, 0 },
	{ "if: false", T, "a{{#if x}}b{{/if}}c", "{\"x\":false}", "ac", 0, 0 },
	{ "if: else", T, "{{#if x}}y{{else}}n{{/if}}", NULL, "n", 0, 0 },
	{ "if: else if, first branch", T,
	    "{{#if n == 1}}one{{else if n == 2}}two{{else if n == 3}}three"
	    "{{else}}many{{/if}}", "{\"n\":1}", "one", 0, 0 },
	{ "if: else if, second branch", T,
	    "{{#if n == 1}}one{{else if n == 2}}two{{else if n == 3}}three"
	    "{{else}}many{{/if}}", "{\"n\":2}", "two", 0, 0 },
	{ "if: else if, third branch", T,
	    "{{#if n == 1}}one{{else if n == 2}}two{{else if n == 3}}three"
	    "{{else}}many{{/if}}", "{\"n\":3}", "three", 0, 0 },
	{ "if: else if, final else", T,
	    "{{#if n == 1}}one{{else if n == 2}}two{{else if n == 3}}three"
	    "{{else}}many{{/if}}", "{\"n\":4}", "many", 0, 0 },
	{ "if: else if, no branch holds", T,
	    "[{{#if n == 1}}one{{else if n == 2}}two{{/if}}]", "{\"n\":4}",
	    "[]", 0, 0 },
	{ "if: nested", T,
	    "{{#if a}}A{{#if b}}B{{else}}b{{/if}}{{else}}-{{/if}}",
	    "{\"a\":1,\"b\":0}", "Ab", 0, 0 },
	{ "unless: false", T, "{{#unless vip}}buy{{/unless}}",
	    "{\"vip\":false}", "buy", 0, 0 },
	{ "unless: true, else", T,
	    "{{#unless vip}}buy{{else}}thanks{{/unless}}",
	    "{\"vip\":true}", "thanks", 0, 0 },
	{ "if: inside each", T,
	    "{{#each xs}}{{#if this > 1}}{{ this }}{{/if}}{{/each}}",
	    "{\"xs\":[1,2,3]}", "23", 0, 0 },
	{ "if: each inside", T,
	    "{{#if xs}}<{{#each xs}}{{ this }}{{/each}}>{{else}}none{{/if}}",
	    "{\"xs\":[]}", "none", 0, 0 },

	/* escaping */
	{ "escape: html special characters", H, "<p>{{ x }}</p>",
	    "{\"x\":\"<script>alert('x') & \\\"y\\\"</script>\"}",
	    "<p>&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;"
	    "&lt;/script&gt;</p>", 0, 0 },
	{ "escape: html default text escaped too", H,
	    "{{ x | default: \"<none>\" }}", NULL, "&lt;none&gt;", 0, 0 },
	{ "escape: html template text untouched", H, "<b>&amp;</b>{{ x }}",
	    "{\"x\":\"&amp;\"}", "<b>&amp;</b>&amp;amp;", 0, 0 },
	{ "escape: html keeps newlines", H, "{{ x }}", "{\"x\":\"a\\r\\nb\"}",
	    "a\r\nb", 0, 0 },
	{ "escape: text not at all", T, "{{ x }}",
	    "{\"x\":\"<&>\\\"'\\r\\n\\t\"}", "<&>\"'\r\n\t", 0, 0 },
	{ "escape: subject controls become spaces", S, "Re: {{ x }}",
	    "{\"x\":\"a\\r\\nBcc: v@x\\tz\\u0001\\u001f\\u007fe\"}",
	    "Re: a  Bcc: v@x z   e", 0, 0 },
	{ "escape: subject C1 controls become spaces", S, "{{ x }}",
	    "{\"x\":\"a\\u0085b\\u0080c\\u009fd\\u00a0e\\u00e9\"}",
	    "a b c d\xc2\xa0" "e\xc3\xa9", 0, 0 },
	{ "escape: subject no HTML escaping", S, "{{ x }}",
	    "{\"x\":\"<b> & 'q'\"}", "<b> & 'q'", 0, 0 },
	{ "escape: subject raw still strips controls", S, "{{ x | raw }}",
	    "{\"x\":\"Hi\\r\\nBcc: v@x\"}", "Hi  Bcc: v@x", 0, 0 },
	{ "escape: subject default text too", S,
	    "{{ x | default: \"a\tb\" }}", NULL, "a b", 0, 0 },
	{ "escape: a value is never parsed again, html", H, "{{ x }}",
	    "{\"x\":\"{{ unsubscribe_url }}\"}", "{{ unsubscribe_url }}", 0,
	    0 },
	{ "escape: a value is never parsed again, text", T, "{{ x }}{{ y }}",
	    "{\"x\":\"{{#if a}}\",\"y\":\"{{ email }}\"}",
	    "{{#if a}}{{ email }}", 0, 0 },
	{ "escape: <script> from an attribute, text", T, "{{ x }}",
	    "{\"x\":\"<script>\"}", "<script>", 0, 0 },

	/* standalone block lines */
	{ "lines: if alone on its line, true", T,
	    "Hi\n{{#if pro}}\nThanks!\n{{/if}}\nBye", "{\"pro\":true}",
	    "Hi\nThanks!\nBye", 0, 0 },
	{ "lines: if alone on its line, false", T,
	    "Hi\n{{#if pro}}\nThanks!\n{{/if}}\nBye", "{\"pro\":false}",
	    "Hi\nBye", 0, 0 },
	{ "lines: else and else if lines", T,
	    "{{#if a}}\nA\n{{else if b}}\nB\n{{else}}\nC\n{{/if}}\n",
	    "{\"b\":1}", "B\n", 0, 0 },
	{ "lines: indented, trailing blanks", T,
	    "Hi\n  {{#if pro}}  \nX\n\t{{/if}}\t\nBye", "{\"pro\":1}",
	    "Hi\nX\nBye", 0, 0 },
	{ "lines: CRLF", T, "Hi\r\n{{#if pro}}\r\nX\r\n{{/if}}\r\nBye",
	    "{\"pro\":1}", "Hi\r\nX\r\nBye", 0, 0 },
	{ "lines: each", T, "Items:\n{{#each tags}}\n- {{ this }}\n{{/each}}\n"
	    "End", "{\"tags\":[\"a\",\"b\"]}", "Items:\n- a\n- b\nEnd", 0, 0 },
	{ "lines: comment alone on its line", T, "a\n{{! note }}\nb", NULL,
	    "a\nb", 0, 0 },
	{ "lines: first and last line", T, "{{#if pro}}\nX\n{{/if}}",
	    "{\"pro\":1}", "X\n", 0, 0 },
	{ "lines: inline block untouched", T, "a {{#if pro}}x{{/if}} b\nc",
	    "{\"pro\":1}", "a x b\nc", 0, 0 },
	{ "lines: text before the tag keeps the line", T,
	    "Total: {{#if pro}}\nX\n{{/if}}", "{\"pro\":1}", "Total: \nX\n", 0,
	    0 },
	{ "lines: text after the tag keeps the line", T,
	    "{{#if pro}} yes\n{{/if}}", "{\"pro\":1}", " yes\n", 0, 0 },
	{ "lines: two tags on one line are not alone", T,
	    "{{#if a}}{{#if b}}\nX\n{{/if}}{{/if}}\nY", "{\"a\":1,\"b\":1}",
	    "\nX\n\nY", 0, 0 },
	{ "lines: a variable alone keeps its line", T, "a\n{{ x }}\nb",
	    "{\"x\":\"\"}", "a\n\nb", 0, 0 },
	{ "lines: html too", H, "<p>\n{{#if pro}}\nPro\n{{/if}}\n</p>",
	    "{\"pro\":1}", "<p>\nPro\n</p>", 0, 0 },
};

static void
t_render(void **state)
{
	const struct render_case *c = *state;
	json_t *attrs = attrs_load(c->attrs);
	struct tpl_scratch scratch;
	struct tpl_env env;
	struct tpl *t;
	struct err e;
	struct buf b;
	int pass, rc;

	memset(&e, 0, sizeof(e));
	if (compile(c->src, strlen(c->src), c->ctx, &t, &e) < 0)
		fail_msg("compile: %s", e.msg);
	env_init(&env, attrs, c->strict);
	tpl_scratch_init(&scratch);
	/* twice with one scratch: the second starts with it dirty */
	for (pass = 0; pass < 2; pass++) {
		buf_init(&b, 1 << 20);
		err_clear(&e);
		rc = tpl_render(t, &env, &b, &scratch, &e);
		if (c->fails) {
			assert_int_equal(rc, -1);
			assert_int_equal(e.code, EX_DATAERR);
			assert_string_equal(e.msg, c->want);
		} else {
			if (rc < 0)
				fail_msg("render: %s", e.msg);
			assert_int_equal(b.len, strlen(c->want));
			assert_string_equal(buf_str(&b), c->want);
		}
		buf_free(&b);
	}
	tpl_scratch_free(&scratch);
	tpl_free(t);
	json_decref(attrs);
}

/* --------------------------------------------------------- conditions */

struct cond_case {
	const char *name;
	const char *cond;
	const char *attrs;
	int holds;
};

static const struct cond_case cond_cases[] = {
	/* comparisons on numbers */
	{ "cond: 7 > 5", "seats > 5", "{\"seats\":7}", 1 },
	{ "cond: 5 > 5", "seats > 5", "{\"seats\":5}", 0 },
	{ "cond: 5 >= 5", "seats >= 5", "{\"seats\":5}", 1 },
	{ "cond: 4 >= 5", "seats >= 5", "{\"seats\":4}", 0 },
	{ "cond: 4 < 5", "seats < 5", "{\"seats\":4}", 1 },
	{ "cond: 5 < 5", "seats < 5", "{\"seats\":5}", 0 },
	{ "cond: 5 <= 5", "seats <= 5", "{\"seats\":5}", 1 },
	{ "cond: 6 <= 5", "seats <= 5", "{\"seats\":6}", 0 },
	{ "cond: 5 == 5", "seats == 5", "{\"seats\":5}", 1 },
	{ "cond: 5 = 5", "seats = 5", "{\"seats\":5}", 1 },
	{ "cond: 5 != 5", "seats != 5", "{\"seats\":5}", 0 },
	{ "cond: 6 != 5", "seats != 5", "{\"seats\":6}", 1 },
	{ "cond: real and integer", "x == 2", "{\"x\":2.0}", 1 },
	{ "cond: negative literal", "x < -1", "{\"x\":-1.5}", 1 },
	{ "cond: no spaces around the operator", "seats>5", "{\"seats\":6}",
	    1 },
	{ "cond: two literals", "1 < 2", NULL, 1 },
	/* numeric strings against numbers */
	{ "cond: \"7\" > 5 (CSV text)", "seats > 5", "{\"seats\":\"7\"}", 1 },
	{ "cond: \"9\" > 10 numerically", "seats > 10", "{\"seats\":\"9\"}",
	    0 },
	{ "cond: \"7.0\" == 7", "seats == 7", "{\"seats\":\"7.0\"}", 1 },
	{ "cond: \"007\" == 7", "code == 7", "{\"code\":\"007\"}", 1 },
	{ "cond: \"many\" > 5 is unordered", "seats > 5",
	    "{\"seats\":\"many\"}", 0 },
	{ "cond: \"many\" <= 5 is unordered", "seats <= 5",
	    "{\"seats\":\"many\"}", 0 },
	{ "cond: \"many\" != 5", "seats != 5", "{\"seats\":\"many\"}", 1 },
	{ "cond: \"Nan\" is no number", "x > 5", "{\"x\":\"Nan\"}", 0 },
	{ "cond: \"Nan\" == 5 is false", "x == 5", "{\"x\":\"Nan\"}", 0 },
	{ "cond: \"Infinity\" is no number", "x > 5", "{\"x\":\"Infinity\"}",
	    0 },
	{ "cond: \"9\" > \"10\" as text", "a > b",
	    "{\"a\":\"9\",\"b\":\"10\"}", 1 },
	/* text */
	{ "cond: text ==", "plan == \"pro\"", "{\"plan\":\"pro\"}", 1 },
	{ "cond: text == single quotes", "plan == 'pro'", "{\"plan\":\"pro\"}",
	    1 },
	{ "cond: text is case-sensitive", "plan == \"Pro\"",
	    "{\"plan\":\"pro\"}", 0 },
	{ "cond: text !=", "plan != \"pro\"", "{\"plan\":\"basic\"}", 1 },
	{ "cond: text <", "a < \"banana\"", "{\"a\":\"apple\"}", 1 },
	{ "cond: text >", "a > \"b\"", "{\"a\":\"a\"}", 0 },
	{ "cond: prefix is less", "a < \"abcd\"", "{\"a\":\"abc\"}", 1 },
	{ "cond: empty text == \"\"", "a == \"\"", "{\"a\":\"\"}", 1 },
	{ "cond: built-in email", "email == \"a@example.com\"", NULL, 1 },
	{ "cond: built-in date", "date == \"2026-12-01\"", NULL, 1 },
	{ "cond: built-in campaign.name", "campaign.name != \"camp\"", NULL,
	    0 },
	/* booleans */
	{ "cond: true == true", "vip == true", "{\"vip\":true}", 1 },
	{ "cond: true == false", "vip == false", "{\"vip\":true}", 0 },
	{ "cond: false != true", "vip != true", "{\"vip\":false}", 1 },
	{ "cond: \"true\" is text, not true", "vip == true",
	    "{\"vip\":\"true\"}", 0 },
	/* missing values */
	{ "cond: missing == missing", "nope == none", NULL, 1 },
	{ "cond: missing != missing", "nope != none", NULL, 0 },
	{ "cond: missing == \"\"", "nope == \"\"", NULL, 0 },
	{ "cond: missing == 0", "nope == 0", NULL, 0 },
	{ "cond: missing == false", "nope == false", NULL, 0 },
	{ "cond: missing != \"x\"", "nope != \"x\"", NULL, 1 },
	{ "cond: missing < 5", "nope < 5", NULL, 0 },
	{ "cond: missing >= 0", "nope >= 0", NULL, 0 },
	{ "cond: missing == a value", "nope == x", "{\"x\":1}", 0 },
	/* README is silent on null; it compares as missing does */
	{ "cond: null == missing", "x == nope", "{\"x\":null}", 1 },
	{ "cond: null == \"\"", "x == \"\"", "{\"x\":null}", 0 },
	/* truthiness */
	{ "truthy: 0", "x", "{\"x\":0}", 0 },
	{ "truthy: 0.0", "x", "{\"x\":0.0}", 0 },
	{ "truthy: 1", "x", "{\"x\":1}", 1 },
	{ "truthy: -1", "x", "{\"x\":-1}", 1 },
	{ "truthy: \"\"", "x", "{\"x\":\"\"}", 0 },
	{ "truthy: \"0\" is text", "x", "{\"x\":\"0\"}", 1 },
	{ "truthy: \" \"", "x", "{\"x\":\" \"}", 1 },
	{ "truthy: []", "x", "{\"x\":[]}", 0 },
	{ "truthy: [0]", "x", "{\"x\":[0]}", 1 },
	{ "truthy: {}", "x", "{\"x\":{}}", 0 },
	{ "truthy: {\"a\":0}", "x", "{\"x\":{\"a\":0}}", 1 },
	{ "truthy: null", "x", "{\"x\":null}", 0 },
	{ "truthy: false", "x", "{\"x\":false}", 0 },
	{ "truthy: true", "x", "{\"x\":true}", 1 },
	{ "truthy: missing", "x", NULL, 0 },
	{ "truthy: literal true", "true", NULL, 1 },
	{ "truthy: literal false", "false", NULL, 0 },
	{ "truthy: literal 0", "0", NULL, 0 },
	{ "truthy: literal \"\"", "\"\"", NULL, 0 },
	{ "truthy: nested path", "a.b", "{\"a\":{\"b\":1}}", 1 },
	/* and, or, not, parentheses */
	{ "logic: and both", "a and b", "{\"a\":1,\"b\":1}", 1 },
	{ "logic: and one", "a and b", "{\"a\":1,\"b\":0}", 0 },
	{ "logic: or one", "a or b", "{\"a\":0,\"b\":1}", 1 },
	{ "logic: or none", "a or b", "{\"a\":0,\"b\":0}", 0 },
	{ "logic: not", "not a", "{\"a\":0}", 1 },
	{ "logic: not not", "not not a", "{\"a\":1}", 1 },
	{ "logic: and binds tighter than or", "a or b and c",
	    "{\"a\":1,\"b\":0,\"c\":0}", 1 },
	{ "logic: parentheses", "(a or b) and c", "{\"a\":1,\"b\":0,\"c\":0}",
	    0 },
	{ "logic: not binds tighter than and", "not a and b",
	    "{\"a\":0,\"b\":1}", 1 },
	{ "logic: not over parentheses", "not (a and b)",
	    "{\"a\":1,\"b\":0}", 1 },
	{ "logic: nested parentheses", "((a or b) and (c or d))",
	    "{\"b\":1,\"d\":1}", 1 },
	{ "logic: comparisons combined", "plan == \"pro\" and seats > 5",
	    "{\"plan\":\"pro\",\"seats\":\"6\"}", 1 },
	{ "logic: not a comparison", "not seats > 5", "{\"seats\":3}", 1 },
	{ "logic: names starting with and/or/not", "android or notes",
	    "{\"notes\":1}", 1 },
};

static void
t_cond(void **state)
{
	const struct cond_case *c = *state;
	json_t *attrs = attrs_load(c->attrs);
	struct tpl_scratch scratch;
	struct tpl_env env;
	struct tpl *t;
	struct err e;
	struct buf b;
	char src[512];
	int unless;

	env_init(&env, attrs, 0);
	tpl_scratch_init(&scratch);
	for (unless = 0; unless < 2; unless++) {
		const char *kw = unless ? "unless" : "if";

		snprintf(src, sizeof(src), "{{#%s %s}}1{{else}}0{{/%s}}", kw,
		    c->cond, kw);
		memset(&e, 0, sizeof(e));
		if (compile(src, strlen(src), T, &t, &e) < 0)
			fail_msg("compile %s: %s", src, e.msg);
		buf_init(&b, 16);
		if (tpl_render(t, &env, &b, &scratch, &e) < 0)
			fail_msg("render %s: %s", src, e.msg);
		assert_string_equal(buf_str(&b), (c->holds ^ unless) ? "1" :
		    "0");
		buf_free(&b);
		tpl_free(t);
	}
	tpl_scratch_free(&scratch);
	json_decref(attrs);
}

/* ----------------------------------------------------- compile errors */

struct error_case {
	const char *name;
	enum tpl_ctx ctx;
	const char *src;
	int line, col;
	const char *msg;
	const char *shown;	/* the line under the message */
};

static const struct error_case error_cases[] = {
	{ "error: unknown filter (README example)", H,
	    "<p>Your {{ plan | uper }} plan</p>", 1, 19,
	    "unknown filter \"uper\"", "<p>Your {{ plan | uper }} plan</p>" },
	{ "error: columns count characters", T,
	    "a\nb\nGr\xc3\xbc\xc3\x9f" "e {{ x | lowr }}", 3, 14,
	    "unknown filter \"lowr\"",
	    "Gr\xc3\xbc\xc3\x9f" "e {{ x | lowr }}" },
	{ "error: a tab is shown as a space", S, "\t{{ x | nope }}", 1, 9,
	    "unknown filter \"nope\"", " {{ x | nope }}" },
	{ "error: only the line is shown", T, "a\r\n{{ x | nope }}\r\nb", 2, 8,
	    "unknown filter \"nope\"", "{{ x | nope }}" },
	{ "error: expected a filter name", T, "{{ x | }}", 1, 8,
	    "expected a filter name after '|'", "{{ x | }}" },
	{ "error: expected | or }}", T, "{{ x y }}", 1, 6,
	    "expected '|' or '}}'", "{{ x y }}" },
	{ "error: unknown block", T, "{{#iff x}}{{/if}}", 1, 4,
	    "unknown block \"iff\" (use #if, #unless or #each)",
	    "{{#iff x}}{{/if}}" },
	{ "error: unknown block with", H, "a\n {{#with x}}", 2, 5,
	    "unknown block \"with\" (use #if, #unless or #each)",
	    " {{#with x}}" },
	{ "error: unclosed if names its line", T, "Hi\n{{#if a}}\nx", 2, 3,
	    "this block is never closed (expected {{/if}})", "{{#if a}}" },
	{ "error: unclosed each, the innermost", T,
	    "{{#if a}}\n  {{#each xs}}\n", 2, 5,
	    "this block is never closed (expected {{/each}})",
	    "  {{#each xs}}" },
	{ "error: unclosed unless", T, "{{#unless a}}{{else}}", 1, 3,
	    "this block is never closed (expected {{/unless}})",
	    "{{#unless a}}{{else}}" },
	{ "error: if closed by each", T, "{{#if a}}\nx\n{{/each}}", 3, 3,
	    "expected {{/if}} to close the block opened on line 1",
	    "{{/each}}" },
	{ "error: each closed by if", T, "x\n{{#each a}}{{/if}}", 2, 14,
	    "expected {{/each}} to close the block opened on line 2",
	    "{{#each a}}{{/if}}" },
	{ "error: close with junk", T, "{{#if a}}{{/if a}}", 1, 12,
	    "expected {{/if}} to close the block opened on line 1",
	    "{{#if a}}{{/if a}}" },
	{ "error: close without a block", T, "x {{/if}}", 1, 5,
	    "{{/if}} without an opening block", "x {{/if}}" },
	{ "error: else outside a block", T, "a {{else}} b", 1, 5,
	    "{{else}} outside {{#if}} or {{#unless}}", "a {{else}} b" },
	{ "error: else in each", T, "{{#each xs}}{{else}}{{/each}}", 1, 15,
	    "{{else}} outside {{#if}} or {{#unless}}",
	    "{{#each xs}}{{else}}{{/each}}" },
	{ "error: two else", T, "{{#if a}}{{else}}{{else}}{{/if}}", 1, 20,
	    "a second {{else}} in one block",
	    "{{#if a}}{{else}}{{else}}{{/if}}" },
	{ "error: else if after else", T,
	    "{{#if a}}{{else}}{{else if b}}{{/if}}", 1, 20,
	    "a second {{else}} in one block",
	    "{{#if a}}{{else}}{{else if b}}{{/if}}" },
	{ "error: else if in unless", T,
	    "{{#unless a}}{{else if b}}{{/unless}}", 1, 16,
	    "{{else if}} inside {{#unless}}",
	    "{{#unless a}}{{else if b}}{{/unless}}" },
	{ "error: else with junk", T, "{{#if a}}{{else x}}{{/if}}", 1, 17,
	    "expected '}}' or 'if' after else", "{{#if a}}{{else x}}{{/if}}" },
	{ "error: unterminated {{", T, "abc {{ x ", 1, 5,
	    "'{{' is never closed", "abc {{ x " },
	{ "error: unterminated {{ with a single }", H, "ok\n  {{ x }", 2, 3,
	    "'{{' is never closed", "  {{ x }" },
	{ "error: unterminated string", T, "{{ x | default: \"abc }}", 1, 22,
	    "unterminated string", "{{ x | default: \"abc }}" },
	{ "error: unterminated string in a condition", T,
	    "{{#if a == 'x}}{{/if}}", 1, 14, "unterminated string",
	    "{{#if a == 'x}}{{/if}}" },
	{ "error: empty tag", T, "a{{ }}", 1, 4, "empty {{ }}", "a{{ }}" },
	{ "error: empty tag without space", T, "{{}}", 1, 3, "empty {{ }}",
	    "{{}}" },
	{ "error: path ending in .", T, "{{ a. }}", 1, 5,
	    "a path cannot end in '.'", "{{ a. }}" },
	{ "error: nested path ending in .", T, "{{ a.b. | upper }}", 1, 7,
	    "a path cannot end in '.'", "{{ a.b. | upper }}" },
	{ "error: empty name in a path", T, "{{ a..b }}", 1, 6,
	    "empty name in a path", "{{ a..b }}" },
	{ "error: @index outside each", T, "{{ @index }}", 1, 4,
	    "@index is only known inside {{#each}}", "{{ @index }}" },
	{ "error: @last outside each", T, "{{#if @last}}{{/if}}", 1, 7,
	    "@last is only known inside {{#each}}", "{{#if @last}}{{/if}}" },
	{ "error: @number after the each closed", T,
	    "{{#each xs}}{{/each}}{{ @number }}", 1, 25,
	    "@number is only known inside {{#each}}",
	    "{{#each xs}}{{/each}}{{ @number }}" },
	{ "error: @first in each's own array", T,
	    "{{#each @first}}{{/each}}", 1, 9,
	    "@first is only known inside {{#each}}",
	    "{{#each @first}}{{/each}}" },
	{ "error: campaign alone", T, "{{ campaign }}", 1, 4,
	    "the campaign built-in has only campaign.name", "{{ campaign }}" },
	{ "error: campaign.id", T, "{{ campaign.id }}", 1, 4,
	    "the campaign built-in has only campaign.name",
	    "{{ campaign.id }}" },
	{ "error: email has no fields", T, "{{ email.x }}", 1, 4,
	    "email.x has no fields", "{{ email.x }}" },
	{ "error: bad number", T, "{{ 1.2.3 }}", 1, 4,
	    "bad number \"1.2.3\"", "{{ 1.2.3 }}" },
	{ "error: truncate without arguments", T, "{{ x | truncate }}", 1, 17,
	    "truncate takes 1 to 2 arguments", "{{ x | truncate }}" },
	{ "error: default without arguments", T, "{{ x | default }}", 1, 16,
	    "default takes 1 to 1 arguments", "{{ x | default }}" },
	{ "error: date without arguments", T, "{{ x | date | upper }}", 1, 13,
	    "date takes 1 to 1 arguments", "{{ x | date | upper }}" },
	{ "error: upper with an argument", T, "{{ x | upper: 1 }}", 1, 17,
	    "upper takes 0 to 0 arguments", "{{ x | upper: 1 }}" },
	{ "error: number with three arguments", T,
	    "{{ x | number: 1, \"de\", 3 }}", 1, 27,
	    "number takes 0 to 2 arguments", "{{ x | number: 1, \"de\", 3 }}" },
	{ "error: too many arguments", T, "{{ x | default: 1, 2, 3, 4 }}", 1,
	    25, "too many arguments", "{{ x | default: 1, 2, 3, 4 }}" },
	{ "error: filter argument that is a path", T, "{{ x | default: y }}",
	    1, 18, "filter arguments are literals: quote the text",
	    "{{ x | default: y }}" },
	{ "error: date argument a number", T, "{{ x | date: 5 }}", 1, 14,
	    "date: argument 1 must be quoted text", "{{ x | date: 5 }}" },
	{ "error: truncate argument text", T, "{{ x | truncate: \"5\" }}", 1,
	    18, "truncate: argument 1 must be a number",
	    "{{ x | truncate: \"5\" }}" },
	{ "error: number language a number", T, "{{ x | number: 2, 5 }}", 1,
	    19, "number: argument 2 must be quoted text",
	    "{{ x | number: 2, 5 }}" },
	{ "error: empty condition", T, "{{#if}}{{/if}}", 1, 6,
	    "expected a condition", "{{#if}}{{/if}}" },
	{ "error: comparison without a right side", T,
	    "{{#if a ==}}{{/if}}", 1, 11, "expected a value",
	    "{{#if a ==}}{{/if}}" },
	{ "error: unclosed parenthesis", T, "{{#if (a}}{{/if}}", 1, 9,
	    "expected ')'", "{{#if (a}}{{/if}}" },
	{ "error: two values in a condition", T,
	    "{{#if a b}}{{/if}} more text after the tag", 1, 9,
	    "unexpected 'b' in the condition",
	    "{{#if a b}}{{/if}} more text after the tag" },
	{ "error: junk in a condition", T, "{{#if a & b}}{{/if}}", 1, 9,
	    "unexpected '& b' in the condition", "{{#if a & b}}{{/if}}" },
	{ "error: each over a literal", T, "{{#each \"x\"}}{{/each}}", 1, 3,
	    "{{#each}} needs an attribute", "{{#each \"x\"}}{{/each}}" },
	{ "error: each as without a name", T, "{{#each xs as}}{{/each}}", 1,
	    14, "expected a name after 'as'", "{{#each xs as}}{{/each}}" },
	{ "error: each as a path", T, "{{#each xs as a.b}}{{/each}}", 1, 15,
	    "expected a name after 'as'", "{{#each xs as a.b}}{{/each}}" },
	{ "error: each with junk", T, "{{#each xs ys}}{{/each}}", 1, 12,
	    "unexpected text after the array", "{{#each xs ys}}{{/each}}" },
};

static void
t_error(void **state)
{
	const struct error_case *c = *state;
	struct tpl *t = (struct tpl *)(void *)&t;	/* must become NULL */
	struct err e;
	char want[LIMIT_ERR_MSG];

	memset(&e, 0, sizeof(e));
	assert_int_equal(compile(c->src, strlen(c->src), c->ctx, &t, &e), -1);
	assert_null(t);
	assert_int_equal(e.code, EX_DATAERR);
	snprintf(want, sizeof(want), "template t, part %s, line %d, column %d: "
	    "%s\n    %s\n    %*s^", part_name(c->ctx), c->line, c->col, c->msg,
	    c->shown, c->col - 1, "");
	assert_string_equal(e.msg, want);
}

/* ------------------------------------------------------ built by code */

/* Level i of nested(): if and each by turns, each inner each over the
 * outer element. */
static const char *
nested_open(int i)
{
	return i % 2 == 0 ? "{{#if xs}}" : i == 1 ? "{{#each xs}}" :
	    "{{#each this}}";
}

/* n nested blocks and their closes. */
static char *
nested(int n)
{
	struct buf b;
	char *s;
	int i;

	buf_init(&b, 64 * 1024);
	for (i = 0; i < n; i++)
		assert_int_equal(buf_adds(&b, nested_open(i)), 0);
	assert_int_equal(buf_adds(&b, "{{ this }}"), 0);
	for (i = n - 1; i >= 0; i--)
		assert_int_equal(buf_adds(&b, i % 2 ? "{{/each}}" : "{{/if}}"),
		    0);
	s = strdup(buf_str(&b));
	buf_free(&b);
	return s;
}

/* LIMIT_TEMPLATE_DEPTH nested blocks compile and render; one more fails
 * at the tag that opens it. */
static void
t_depth(void **state)
{
	json_t *attrs = attrs_load("{\"xs\":[[[[[[[[\"deep\"]]]]]]]]}");
	char *ok = nested(LIMIT_TEMPLATE_DEPTH);
	char *deep = nested(LIMIT_TEMPLATE_DEPTH + 1);
	struct tpl_scratch scratch;
	struct tpl_env env;
	struct tpl *t;
	struct err e;
	struct buf b;
	char want[64];
	size_t col;
	int i;

	(void)state;
	memset(&e, 0, sizeof(e));
	if (compile(ok, strlen(ok), T, &t, &e) < 0)
		fail_msg("compile: %s", e.msg);
	/* eight each levels walk the eight nested arrays */
	env_init(&env, attrs, 1);
	tpl_scratch_init(&scratch);
	buf_init(&b, 1024);
	if (tpl_render(t, &env, &b, &scratch, &e) < 0)
		fail_msg("render: %s", e.msg);
	assert_string_equal(buf_str(&b), "deep");
	buf_free(&b);
	tpl_scratch_free(&scratch);
	tpl_free(t);

	assert_int_equal(compile(deep, strlen(deep), T, &t, &e), -1);
	assert_null(t);
	for (col = 0, i = 0; i < LIMIT_TEMPLATE_DEPTH; i++)
		col += strlen(nested_open(i));
	snprintf(want, sizeof(want), "line 1, column %zu: blocks nested "
	    "deeper than %d\n", col + 3, LIMIT_TEMPLATE_DEPTH);
	assert_non_null(strstr(e.msg, want));
	free(ok);
	free(deep);
	json_decref(attrs);
}

static void
t_depth_cond(void **state)
{
	char src[1024];
	struct tpl *t;
	struct err e;
	int i, n = 0;

	(void)state;
	memset(&e, 0, sizeof(e));
	/* parentheses and not as deep as a tag allows: no stack trouble */
	n += snprintf(src + n, sizeof(src) - (size_t)n, "{{#if ");
	for (i = 0; i < 300; i++)
		src[n++] = '(';
	src[n++] = 'a';
	for (i = 0; i < 300; i++)
		src[n++] = ')';
	snprintf(src + n, sizeof(src) - (size_t)n, "}}{{/if}}");
	if (compile(src, strlen(src), T, &t, &e) < 0)
		fail_msg("compile: %s", e.msg);
	tpl_free(t);
	n = snprintf(src, sizeof(src), "{{#if ");
	for (i = 0; i < 100; i++)
		n += snprintf(src + n, sizeof(src) - (size_t)n, "not ");
	snprintf(src + n, sizeof(src) - (size_t)n, "a}}{{/if}}");
	assert_int_equal(compile(src, strlen(src), T, &t, &e), -1);
	assert_non_null(strstr(e.msg, "condition nested too deeply"));
}

static void
t_invalid_utf8(void **state)
{
	static const char *const bad[] = {
		"abc \xff", "\xc3(", "{{ x | default: \"\xe2\x82\" }}",
		"\xed\xa0\x80 surrogate", "\xc0\xaf overlong",
	};
	struct tpl *t;
	struct err e;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(bad); i++) {
		memset(&e, 0, sizeof(e));
		assert_int_equal(compile(bad[i], strlen(bad[i]), H, &t, &e),
	    -1);
		assert_null(t);
		assert_int_equal(e.code, EX_DATAERR);
		assert_string_equal(e.msg, "template t, part html: not valid "
		    "UTF-8");
	}
}

/* Text is compiled by length: a NUL inside passes through, nothing past
 * len is read. */
static void
t_length(void **state)
{
	static const char src[] = "a\0b{{ x }}IGNORED";
	json_t *attrs = attrs_load("{\"x\":1}");
	struct tpl_scratch scratch;
	struct tpl_env env;
	struct tpl *t;
	struct err e;
	struct buf b;

	(void)state;
	memset(&e, 0, sizeof(e));
	if (compile(src, 10, T, &t, &e) < 0)
		fail_msg("compile: %s", e.msg);
	env_init(&env, attrs, 0);
	tpl_scratch_init(&scratch);
	buf_init(&b, 64);
	assert_int_equal(tpl_render(t, &env, &b, &scratch, &e), 0);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, "a\0b1", 4);
	buf_free(&b);
	tpl_scratch_free(&scratch);
	tpl_free(t);
	json_decref(attrs);
	/* cut inside the tag: never closed */
	assert_int_equal(compile(src, 8, T, &t, &e), -1);
	assert_non_null(strstr(e.msg, "'{{' is never closed"));
}

/* Errors from a source that is not NUL-terminated, in a heap block of
 * exactly its length: under ASan a message that quotes past the end of a
 * tag (the condition error once did, with %.20s) reads out of bounds. */
static void
t_unterminated(void **state)
{
	static const struct {
		const char *src;
		const char *msg;
	} cases[] = {
		{ "{{#if a b}}", "unexpected 'b' in the condition" },
		{ "{{#if a ! b c d e f g h i j k l m n}}", "unexpected '! b c d e f "
		    "g h i j ' in the condition" },
		{ "{{ x | nope }}", "unknown filter \"nope\"" },
		{ "{{/each}}", "{{/each}} without an opening block" },
		{ "abc {{", "'{{' is never closed" },
		{ "{{ \"abc }}", "unterminated string" },
		{ "{{#if a}}", "this block is never closed" },
		{ "{{ a. }}", "a path cannot end in '.'" },
	};
	struct tpl *t;
	struct err e;
	size_t i, n;
	char *src;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		n = strlen(cases[i].src);
		src = malloc(n);
		assert_non_null(src);
		memcpy(src, cases[i].src, n);
		memset(&e, 0, sizeof(e));
		assert_int_equal(compile(src, n, T, &t, &e), -1);
		assert_non_null(strstr(e.msg, cases[i].msg));
		free(src);
	}
}

/* A line longer than the window is shown from shortly before the column,
 * and the message keeps the true column. */
static void
t_long_line(void **state)
{
	char src[600], want[512];
	struct tpl *t;
	struct err e;

	(void)state;
	memset(&e, 0, sizeof(e));
	memset(src, 'x', 200);
	snprintf(src + 200, sizeof(src) - 200, "{{ a | nope }}%0300d", 0);
	assert_int_equal(compile(src, strlen(src), H, &t, &e), -1);
	/* "nope" starts at column 208; 60 characters of the line before it */
	snprintf(want, sizeof(want), "template t, part html, line 1, column "
	    "208: unknown filter \"nope\"\n    ...%.53s{{ a | nope }}", src);
	assert_memory_equal(e.msg, want, strlen(want));
	assert_non_null(strstr(e.msg, "\n    ...xxx"));
	snprintf(want, sizeof(want), "\n    %63s^", "");
	assert_non_null(strstr(e.msg, want));
	assert_int_equal(e.msg[strlen(e.msg) - 1], '^');
}

/* A tag as long as LIMIT_TEMPLATE_TAG compiles; one byte more fails. */
static void
t_tag_limit(void **state)
{
	char src[LIMIT_TEMPLATE_TAG + 16];
	struct tpl *t;
	struct err e;
	size_t n;

	(void)state;
	memset(&e, 0, sizeof(e));
	for (n = LIMIT_TEMPLATE_TAG; n <= LIMIT_TEMPLATE_TAG + 1; n++) {
		memset(src, ' ', sizeof(src));
		memcpy(src, "{{", 2);
		src[2] = 'x';
		memcpy(src + 2 + n, "}}", 3);
		if (n == LIMIT_TEMPLATE_TAG) {
			if (compile(src, strlen(src), T, &t, &e) < 0)
				fail_msg("compile: %s", e.msg);
			tpl_free(t);
			continue;
		}
		assert_int_equal(compile(src, strlen(src), T, &t, &e), -1);
		assert_non_null(strstr(e.msg, "line 1, column 1: a tag "
		    "longer than 1024 bytes"));
	}
}

/* Past out's maximum the render fails and says so, from a text run, a
 * value or a value that must be escaped. */
static void
t_output_cap(void **state)
{
	static const struct {
		const char *src;
		size_t max;
	} cases[] = {
		{ "0123456789ABC", 12 },
		{ "0123{{ x }}", 8 },
		{ "{{ y }}", 11 },
		{ "{{#each xs}}{{ this }}{{/each}}", 5 },
	};
	json_t *attrs = attrs_load("{\"x\":\"456789\",\"y\":\"<<<\","
	    "\"xs\":[\"ab\",\"cd\",\"ef\"]}");
	struct tpl_scratch scratch;
	struct tpl_env env;
	struct tpl *t;
	struct err e;
	struct buf b;
	char want[64];
	size_t i;

	(void)state;
	env_init(&env, attrs, 0);
	tpl_scratch_init(&scratch);
	for (i = 0; i < NELEM(cases); i++) {
		memset(&e, 0, sizeof(e));
		if (compile(cases[i].src, strlen(cases[i].src), H, &t, &e) < 0)
			fail_msg("compile: %s", e.msg);
		buf_init(&b, cases[i].max);
		assert_int_equal(tpl_render(t, &env, &b, &scratch, &e), -1);
		assert_int_equal(e.code, EX_DATAERR);
		snprintf(want, sizeof(want), "the rendered message would be "
		    "larger than %zu bytes", cases[i].max);
		assert_string_equal(e.msg, want);
		assert_true(b.len <= cases[i].max);
		buf_free(&b);
		/* with room, the same render succeeds */
		buf_init(&b, 1 << 10);
		assert_int_equal(tpl_render(t, &env, &b, &scratch, &e), 0);
		assert_true(b.len > cases[i].max);
		buf_free(&b);
		tpl_free(t);
	}
	tpl_scratch_free(&scratch);
	json_decref(attrs);
}

/* Output appends: a second render follows the first in one buffer. */
static void
t_appends(void **state)
{
	json_t *attrs = attrs_load("{\"x\":\"v\"}");
	struct tpl_scratch scratch;
	struct tpl_env env;
	struct tpl *t;
	struct err e;
	struct buf b;

	(void)state;
	memset(&e, 0, sizeof(e));
	if (compile("[{{ x }}]", 9, T, &t, &e) < 0)
		fail_msg("compile: %s", e.msg);
	env_init(&env, attrs, 0);
	tpl_scratch_init(&scratch);
	buf_init(&b, 64);
	assert_int_equal(buf_adds(&b, "pre:"), 0);
	assert_int_equal(tpl_render(t, &env, &b, &scratch, &e), 0);
	assert_int_equal(tpl_render(t, &env, &b, &scratch, &e), 0);
	assert_string_equal(buf_str(&b), "pre:[v][v]");
	buf_free(&b);
	tpl_scratch_free(&scratch);
	tpl_free(t);
	tpl_free(NULL);
	json_decref(attrs);
}

/* ----------------------------------------------------------- tpl_vars */

static int
collect(const char *path, int line, int col, int has_default, void *ctx)
{
	struct buf *b = ctx;

	return buf_printf(b, "%s@%d:%d%s\n", path, line, col,
	    has_default ? " default" : "");
}

static int
stop_at_second(const char *path, int line, int col, int has_default,
    void *ctx)
{
	int *n = ctx;

	(void)path;
	(void)line;
	(void)col;
	(void)has_default;
	return ++*n == 2 ? -1 : 0;
}

static void
t_vars(void **state)
{
	static const char src[] =
	    "Hi {{ first_name | default: \"there\" }} {{ email }}\n"
	    "{{#if plan == \"pro\"}}{{ address.city | upper }}{{/if}}\n"
	    "{{#each orders as o}}{{ o.item }} {{ total }} {{ @index }}"
	    "{{#each o.lines}}{{ sku }}{{/each}}{{/each}}\n"
	    "  {{ date }} {{ campaign.name }} {{ unsubscribe_url }} "
	    "{{ \"lit\" }} {{ 5 }}{{ orders.0.item }}\n"
	    "{{#each tags}}{{ this }}{{/each}}{{ last }}";
	struct tpl *t;
	struct err e;
	struct buf b;
	int n = 0;

	(void)state;
	memset(&e, 0, sizeof(e));
	if (compile(src, strlen(src), H, &t, &e) < 0)
		fail_msg("compile: %s", e.msg);
	buf_init(&b, 4096);
	assert_int_equal(tpl_vars(t, collect, &b), 0);
	assert_string_equal(buf_str(&b),
	    "first_name@1:7 default\n"
	    "address.city@2:25\n"
	    "orders@3:9\n"
	    "orders.0.item@4:78\n"
	    "tags@5:9\n"
	    "last@5:37\n");
	buf_free(&b);
	/* the callback's failure stops the walk and is returned */
	assert_int_equal(tpl_vars(t, stop_at_second, &n), -1);
	assert_int_equal(n, 2);
	tpl_free(t);
}

int
main(void)
{
	struct unit_tests u = { 0 };

	UNIT_TABLE(&u, render_cases, t_render);
	UNIT_TABLE(&u, cond_cases, t_cond);
	UNIT_TABLE(&u, error_cases, t_error);
	unit_add(&u, "depth: LIMIT_TEMPLATE_DEPTH blocks, and one more",
	    t_depth, NULL);
	unit_add(&u, "depth: parentheses and not in a condition",
	    t_depth_cond, NULL);
	unit_add(&u, "error: invalid UTF-8", t_invalid_utf8, NULL);
	unit_add(&u, "error: source not NUL-terminated", t_unterminated,
	    NULL);
	unit_add(&u, "error: long line shown around the column", t_long_line,
	    NULL);
	unit_add(&u, "error: LIMIT_TEMPLATE_TAG", t_tag_limit, NULL);
	unit_add(&u, "compile: by length, NUL inside", t_length, NULL);
	unit_add(&u, "render: output cap", t_output_cap, NULL);
	unit_add(&u, "render: appends to out", t_appends, NULL);
	unit_add(&u, "vars: paths outside each, no built-ins", t_vars, NULL);
	return unit_run(&u, "template", NULL, NULL);
}
