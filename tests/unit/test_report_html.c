/*
 * test_report_html.c - engine/report_html.c over report objects built by
 * hand the way report.h describes them (report_build is not involved):
 * every section, the three charts, figures formatted (thousands, rates,
 * durations, null as a dash), hostile strings escaped in text and
 * attributes, no script anywhere, the complaint highlight, empty series
 * as "no data yet", --compare with three campaigns, and a write error.
 */
#include "unit.h"

#include <jansson.h>
#include <math.h>
#include <strings.h>
#include <sysexits.h>

#include "report.h"

#define HOSTILE_NAME	"<script>alert(\"x\")</script> & 'co'"
#define HOSTILE_REPLY	"550 5.1.1 <bob@b.test>: \"no\" & <b>gone</b>"
#define HOSTILE_URL	"https://ex.test/?a=1&b=\"><script>alert(1)</script>"

/* A report as report_build makes it; written with ' for " so it reads. */
static const char report_src[] =
"{'campaign': 'spring', 'list': 'news', 'segment': 'country = \\\"DE\\\"',"
" 'template': 'promo', 'template_version': 3,"
" 'from': 'Acme <news@acme.test>', 'status': 'done',"
" 'paused_reason': null, 'generated_at': '2026-03-02T12:00:00.000Z',"
" 'times': {'created': '2026-03-01T08:00:00.000Z',"
"  'started': '2026-03-02T09:00:00.000Z',"
"  'finished': '2026-03-02T09:30:00.000Z',"
"  'first_attempt': '2026-03-02T09:00:01.000Z',"
"  'last_done': '2026-03-02T09:29:59.000Z', 'duration_s': 1800,"
"  'throughput_per_s': 6.5,"
"  'time_to_delivery_s': {'median': 0.42, 'p95': 303}},"
" 'counts': {'recipients': 12345, 'sent': 12000, 'delivered': 11500,"
"  'deferred_now': 20, 'pending_now': 0, 'failed': 3, 'suppressed': 322,"
"  'bounced': {'total': 500, 'hard': 400, 'soft': 70, 'policy': 30,"
"   'unknown': 0},"
"  'opens': {'unique': 4000, 'total': 6000, 'unique_human': 2698,"
"   'total_human': 4100, 'unique_machine': 1302, 'total_machine': 1900},"
"  'clicks': {'unique': 700, 'total': 1000, 'unique_human': 651,"
"   'total_human': 900, 'unique_machine': 49, 'total_machine': 100},"
"  'unsubscribes': 23, 'complaints': 4, 'replies': 7, 'auto_replies': 11,"
"  'possibly_duplicated': 0},"
" 'rates': {'delivery': 0.958333, 'bounce': 0.041667,"
"  'hard_bounce': 0.033333, 'open': 0.234609, 'click': 0.056609,"
"  'click_to_open': 0.241290, 'unsubscribe': 0.002, 'complaint': 0.000348,"
"  'reply': 0.000609},"
" 'links': [{'index': 0, 'url': 'https://acme.test/spring',"
"   'clicks_unique': 600, 'clicks_total': 850,"
"   'clicks_unique_human': 560}],"
" 'domains': [{'domain': 'gmail.test', 'provider': 'google',"
"   'recipients': 6000, 'delivered': 5800, 'deferred': 150, 'bounced': 200,"
"   'throttled': 40, 'top_replies': [{'reply': '421 4.7.0 slow down',"
"   'count': 40}]},"
"  {'domain': 'tiny.test', 'provider': null, 'recipients': 10,"
"   'delivered': 10, 'deferred': 0, 'bounced': 0, 'throttled': 0,"
"   'top_replies': []}],"
" 'providers': [{'provider': 'google', 'domains': 1, 'recipients': 6000,"
"   'delivered': 5800, 'deferred': 150, 'bounced': 200, 'throttled': 40},"
"  {'provider': 'other', 'domains': 9, 'recipients': 6345,"
"   'delivered': 5700, 'deferred': 5, 'bounced': 300, 'throttled': 0}],"
" 'bounce_reasons': [{'class': 'hard', 'dsn': '5.1.1',"
"   'reply': '550 5.1.1 user unknown', 'count': 400},"
"  {'class': 'policy', 'dsn': null, 'reply': '554 spam', 'count': 30}],"
" 'series': {'start': '2026-03-02T09:00:00.000Z', 'bucket_s': 300,"
"  'delivered': [3000, 3000, 2500, 2000, 1000, 0],"
"  'bounced': [100, 100, 100, 100, 100, 0],"
"  'deferred': [50, 40, 30, 0, 0, 0],"
"  'opens': [0, 900, 800, 500, 300, 198],"
"  'clicks': [0, 200, 200, 100, 100, 51]}}";

/* ------------------------------------------------------------- helpers */

static json_t *
report_new(void)
{
	char *src = strdup(report_src), *p;
	json_error_t je;
	json_t *r;

	assert_non_null(src);
	for (p = src; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	r = json_loads(src, 0, &je);
	if (r == NULL)
		fail_msg("report_src: line %d: %s", je.line, je.text);
	free(src);
	return r;
}

/* Sets the member at a dotted path (the parents exist) and takes v. */
static void
set(json_t *r, const char *path, json_t *v)
{
	char key[64];
	const char *dot;

	while ((dot = strchr(path, '.')) != NULL) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		r = json_object_get(r, key);
		assert_non_null(r);
		path = dot + 1;
	}
	assert_int_equal(json_object_set_new(r, path, v), 0);
}

/* Renders an array of reports (taken) to a string the caller frees. */
static char *
render_all(json_t *reports)
{
	struct err e = { 0 };
	char *out = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&out, &len);

	assert_non_null(fp);
	if (report_html(reports, fp, &e) != 0)
		fail_msg("report_html: %s", e.msg);
	assert_int_equal(fclose(fp), 0);
	json_decref(reports);
	assert_int_equal(strlen(out), len);
	return out;
}

static char *
render(json_t *r)
{
	json_t *a = json_array();

	json_array_append_new(a, r);
	return render_all(a);
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;
	const char *p;

	for (p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

#define assert_has(hay, needle) do {					\
	if (strstr((hay), (needle)) == NULL)				\
		fail_msg("missing: %s", (needle));			\
} while (0)

#define assert_lacks(hay, needle) do {					\
	if (strstr((hay), (needle)) != NULL)				\
		fail_msg("present: %s", (needle));			\
} while (0)

/* The text between the first start and the end after it. */
static char *
slice(const char *hay, const char *start, const char *end)
{
	const char *a = strstr(hay, start), *b;
	char *s;

	assert_non_null(a);
	b = strstr(a, end);
	assert_non_null(b);
	s = strndup(a, (size_t)(b - a));
	assert_non_null(s);
	return s;
}

/* ------------------------------------------------------------ document */

static void
t_document(void **state)
{
	char *h = render(report_new());

	(void)state;
	assert_true(strncmp(h, "<!DOCTYPE html>\n<html lang=\"en\">", 31) == 0);
	assert_has(h, "<meta charset=\"utf-8\">");
	assert_has(h, "<title>spring \xe2\x80\x93 campaign report</title>");
	assert_has(h, "<style>");
	assert_has(h, "@media print");
	assert_has(h, "break-inside:avoid");
	assert_has(h, "max-width:72rem");
	assert_has(h, "Content-Security-Policy");
	assert_true(strlen(h) > 1000 && strcmp(h + strlen(h) - 8,
	    "</html>\n") == 0);
	free(h);
}

/* Nothing to load from elsewhere, nothing to run. */
static void
t_self_contained(void **state)
{
	char *h = render(report_new());

	(void)state;
	assert_null(strcasestr(h, "<script"));
	assert_null(strcasestr(h, "url("));
	assert_null(strcasestr(h, "@import"));
	assert_null(strcasestr(h, "src="));
	assert_null(strcasestr(h, "http://"));
	assert_null(strcasestr(h, "<link"));
	assert_null(strcasestr(h, "javascript:"));
	/* The only links are fragments inside the file. */
	assert_int_equal(count(h, "href=\""), count(h, "href=\"#"));
	free(h);
}

struct section_case {
	const char *name;
	const char *want;
};

static const struct section_case section_cases[] = {
	{ "section: header", "<h1 id=\"c1-h\">spring</h1>" },
	{ "section: status", "Status: <strong>done</strong>" },
	{ "section: list", "<dt>List</dt><dd>news</dd>" },
	{ "section: segment", "<code>country = &quot;DE&quot;</code>" },
	{ "section: template", "promo (version 3)" },
	{ "section: from", "Acme &lt;news@acme.test&gt;" },
	{ "section: started", "<time datetime=\"2026-03-02T09:00:00.000Z\">"
	    "2026-03-02 09:00:00 UTC</time>" },
	{ "section: at a glance", "<h2>At a glance</h2>" },
	{ "section: charts", "<h2>Charts</h2>" },
	{ "section: human and machine", "<h2>Opens and clicks, human and "
	    "machine</h2>" },
	{ "section: deliveries", "<h2>Deliveries</h2>" },
	{ "section: timings", "<h2>Timings</h2>" },
	{ "section: links", "<h2>Links</h2>" },
	{ "section: domains", "<h2>Domains</h2>" },
	{ "section: providers", "<h2>Providers</h2>" },
	{ "section: bounce reasons", "<h2>Top bounce reasons</h2>" },
	{ "tile: sent", "<p class=\"label\">Sent</p><p class=\"value\">12,000"
	    "</p><p class=\"sub\">of 12,345 recipients</p>" },
	{ "tile: delivered", "<p class=\"value\">11,500</p><p class=\"sub\">"
	    "delivery rate 95.8 %</p>" },
	{ "tile: bounced", "<p class=\"value\">500</p><p class=\"sub\">hard 400"
	    " \xc2\xb7 soft 70 \xc2\xb7 policy 30</p>" },
	{ "tile: opens", "<p class=\"value\">2,698</p><p class=\"sub\">open "
	    "rate 23.5 %</p>" },
	{ "tile: clicks", "click rate 5.66 % \xc2\xb7 click-to-open 24.1 %" },
	{ "tile: unsubscribes", "unsubscribe rate 0.20 %" },
	{ "tile: complaints", "<div class=\"tile\"><p class=\"label\">"
	    "Complaints</p><p class=\"value\">4</p><p class=\"sub\">complaint"
	    " rate 0.03 %</p>" },
	{ "tile: replies", "reply rate 0.06 % \xc2\xb7 auto-replies 11" },
	{ "engagement row", "<tr><th scope=\"row\">Opens</th><td class=\"num\">"
	    "2,698</td><td class=\"num\">4,100</td><td class=\"num\">1,302"
	    "</td><td class=\"num\">1,900</td><td class=\"num\">4,000</td>"
	    "<td class=\"num\">6,000</td></tr>" },
	{ "timing: median", "Median time to delivery</th><td class=\"num\">"
	    "0.42 s</td>" },
	{ "timing: p95", "95th percentile</th><td class=\"num\">5 min 03 s" },
	{ "timing: throughput", "6.5 per second (23,400 per hour)" },
	{ "link row", "<td class=\"text\"><code>https://acme.test/spring</code>"
	    "</td><td class=\"num\">600</td><td class=\"num\">850</td>"
	    "<td class=\"num\">560</td>" },
	{ "domain row", "<td class=\"text\">gmail.test</td><td class=\"text\">"
	    "google</td><td class=\"num\">6,000</td>" },
	{ "domain top reply", "<span class=\"reply\">421 4.7.0 slow down</span>"
	    " \xc3\x97\xc2\xa0" "40" },
	{ "domain without provider", "<td class=\"text\">tiny.test</td><td "
	    "class=\"text\">\xe2\x80\x93</td>" },
	{ "provider row", "<td class=\"text\">other</td><td class=\"num\">9"
	    "</td>"
	    "<td class=\"num\">6,345</td>" },
	{ "bounce reason", "<td class=\"text\">hard</td><td class=\"text\">"
	    "5.1.1</td><td class=\"text\">550 5.1.1 user unknown</td>"
	    "<td class=\"num\">400</td>" },
	{ "bounce reason without dsn", "<td class=\"text\">\xe2\x80\x93</td>"
	    "<td class=\"text\">554 spam</td>" },
	{ "footer", "Generated by Postbote <time datetime=\"2026-03-02T12:00:00"
	    ".000Z\">2026-03-02 12:00:00 UTC</time>" },
};

static void
t_section(void **state)
{
	const struct section_case *c = *state;
	char *h = render(report_new());

	assert_has(h, c->want);
	free(h);
}

/* ------------------------------------------------------------- charts */

static void
t_charts(void **state)
{
	char *h = render(report_new()), *s;

	(void)state;
	assert_int_equal(count(h, "<svg role=\"img\""), 3);
	assert_int_equal(count(h, "</svg>"), 3);
	assert_has(h, "aria-label=\"Deliveries over time\"");
	assert_has(h, "<title>Outcomes per provider</title>");
	assert_has(h, "aria-label=\"Opens and clicks over time\"");
	assert_lacks(h, "No data yet");

	s = slice(h, "aria-label=\"Deliveries over time\"", "</svg>");
	/* Non-zero parts of 6 buckets: 5 delivered, 5 bounced, 3 deferred. */
	assert_int_equal(count(s, "<rect class=\"f-del\" x"), 5 + 1);
	assert_int_equal(count(s, "<rect class=\"f-bou\" x"), 5 + 1);
	assert_int_equal(count(s, "<rect class=\"f-def\" x"), 3 + 1);
	assert_has(s, "<desc id=\"c1-deliveries-d\">Stacked bars per time "
	    "step: 11,500 delivered, 120 deferred, 500 bounced in all.</desc>");
	assert_has(s, ">09:00</text>");		/* time axis labels */
	assert_has(s, ">09:05</text>");
	assert_has(s, "one step per 5 min");
	assert_has(s, ">4,000</text>");		/* ticks to 4,000 over 3,150 */
	assert_has(s, "<title>09:05: delivered 3,000, deferred 40, bounced 100"
	    "</title>");
	free(s);

	s = slice(h, "aria-label=\"Opens and clicks over time\"", "</svg>");
	assert_int_equal(count(s, "<polyline class=\"l-opn\""), 1);
	assert_int_equal(count(s, "<polyline class=\"l-clk\""), 1);
	assert_int_equal(count(s, "<circle"), 12);
	assert_has(s, ">opens (human)</text>");
	assert_has(s, ">1,000</text>");
	free(s);

	s = slice(h, "aria-label=\"Outcomes per provider\"", "</svg>");
	assert_has(s, "text-anchor=\"end\">google</text>");
	assert_has(s, "text-anchor=\"end\">other</text>");
	assert_has(s, "<title>google: delivered 5,800, deferred 150, bounced "
	    "200</title>");
	assert_has(s, ">6,000</text>");		/* the axis top: 6,005 -> */
	free(s);
	free(h);
}

static void
t_series_empty(void **state)
{
	json_t *r = report_new();
	char *h;
	const char *const names[] = { "delivered", "bounced", "deferred",
	    "opens", "clicks" };
	char path[64];
	size_t i;

	(void)state;
	set(r, "series.start", json_null());
	for (i = 0; i < NELEM(names); i++) {
		snprintf(path, sizeof(path), "series.%s", names[i]);
		set(r, path, json_array());
	}
	set(r, "providers", json_array());
	h = render(r);
	assert_int_equal(count(h, "<svg"), 0);
	assert_int_equal(count(h, "<p class=\"nodata\">No data yet"), 3);
	assert_has(h, "<figcaption>Deliveries over time</figcaption>\n"
	    "<p class=\"nodata\">No data yet");
	assert_has(h, "<p class=\"nodata\">No providers yet.</p>");
	free(h);
}

/* Zeros only are no data either; one bucket alone still draws. */
static void
t_series_zero_and_one(void **state)
{
	json_t *r = report_new();
	char *h, *s;

	(void)state;
	set(r, "series.opens", json_pack("[i,i,i]", 0, 0, 0));
	set(r, "series.clicks", json_pack("[i,i,i]", 0, 0, 0));
	set(r, "series.delivered", json_pack("[i]", 7));
	set(r, "series.bounced", json_array());
	set(r, "series.deferred", json_array());
	h = render(r);
	assert_int_equal(count(h, "<svg role=\"img\""), 2);
	assert_has(h, "No data yet: no opens or clicks recorded.");
	s = slice(h, "aria-label=\"Deliveries over time\"", "</svg>");
	assert_int_equal(count(s, "<rect class=\"f-del\" x"), 1 + 1);
	assert_has(s, ">09:00</text>");
	free(s);
	free(h);
}

/* ----------------------------------------------------------- figures */

struct figure_case {
	const char *name;
	const char *path;
	double value;		/* NAN: null */
	const char *want;
};

static const struct figure_case figure_cases[] = {
	{ "int: 0", "counts.sent", 0, "<p class=\"value\">0</p>" },
	{ "int: 999", "counts.sent", 999, "<p class=\"value\">999</p>" },
	{ "int: 1,000", "counts.sent", 1000, "<p class=\"value\">1,000</p>" },
	{ "int: 1,234,567", "counts.sent", 1234567,
	    "<p class=\"value\">1,234,567</p>" },
	{ "int: null", "counts.sent", NAN,
	    "<p class=\"value\">\xe2\x80\x93</p>" },
	{ "rate: 0", "rates.delivery", 0, "delivery rate 0.00 %" },
	{ "rate: 1.23", "rates.delivery", 0.0123, "delivery rate 1.23 %" },
	{ "rate: 45.6", "rates.delivery", 0.456, "delivery rate 45.6 %" },
	{ "rate: 100", "rates.delivery", 1, "delivery rate 100.0 %" },
	{ "rate: null", "rates.delivery", NAN, "delivery rate \xe2\x80\x93" },
	{ "rate: open null", "rates.open", NAN, "open rate \xe2\x80\x93" },
	{ "rate: cto null", "rates.click_to_open", NAN,
	    "click-to-open \xe2\x80\x93" },
	{ "duration: 4.5 s", "times.duration_s", 4.5, ">4.5 s<" },
	{ "duration: 12 s", "times.duration_s", 12.3, ">12 s<" },
	{ "duration: 45 s", "times.duration_s", 45, ">45 s<" },
	{ "duration: 5 min", "times.duration_s", 300, ">5 min<" },
	{ "duration: 2 h 05 min", "times.duration_s", 7500, ">2 h 05 min<" },
	{ "duration: 1 d 3 h", "times.duration_s", 97200, ">1 d 3 h<" },
	{ "duration: null", "times.duration_s", NAN,
	    "<dt>Duration</dt><dd>\xe2\x80\x93</dd>" },
	{ "median: null", "times.time_to_delivery_s.median", NAN,
	    "Median time to delivery</th><td class=\"num\">\xe2\x80\x93</td>" },
	{ "throughput: null", "times.throughput_per_s", NAN,
	    "Throughput</th><td class=\"text\">\xe2\x80\x93</td>" },
};

static void
t_figure(void **state)
{
	const struct figure_case *c = *state;
	json_t *r = report_new();
	char *h;

	set(r, c->path, isnan(c->value) ? json_null() :
	    json_real(c->value));
	h = render(r);
	assert_has(h, c->want);
	free(h);
}

static void
t_time_null(void **state)
{
	json_t *r = report_new();
	char *h;

	(void)state;
	set(r, "times.finished", json_null());
	set(r, "segment", json_null());
	h = render(r);
	assert_has(h, "<dt>Finished</dt><dd>\xe2\x80\x93</dd>");
	assert_has(h, "<dt>Segment</dt><dd>the whole list</dd>");
	free(h);
}

/* ------------------------------------------------------------ escaping */

static void
t_escape_name(void **state)
{
	json_t *r = report_new();
	char *h;

	(void)state;
	set(r, "campaign", json_string(HOSTILE_NAME));
	h = render(r);
	assert_null(strcasestr(h, "<script"));
	assert_has(h, "<h1 id=\"c1-h\">&lt;script&gt;alert(&quot;x&quot;)"
	    "&lt;/script&gt; &amp; &#39;co&#39;</h1>");
	assert_has(h, "<title>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
	    " &amp; &#39;co&#39; \xe2\x80\x93 campaign report</title>");
	free(h);
}

static void
t_escape_replies(void **state)
{
	json_t *r = report_new();
	json_t *reason, *top;
	char *h;

	(void)state;
	reason = json_array_get(json_object_get(r, "bounce_reasons"), 0);
	json_object_set_new(reason, "reply", json_string(HOSTILE_REPLY));
	top = json_array_get(json_object_get(json_array_get(json_object_get(r,
	    "domains"), 0), "top_replies"), 0);
	json_object_set_new(top, "reply", json_string(HOSTILE_REPLY));
	set(r, "paused_reason", json_string("complaints > 0.3 % <i>"));
	h = render(r);
	assert_int_equal(count(h, "550 5.1.1 &lt;bob@b.test&gt;: &quot;no&quot;"
	    " &amp; &lt;b&gt;gone&lt;/b&gt;"), 2);
	assert_lacks(h, "<b>gone");
	assert_has(h, "<p class=\"notice\"><strong>Paused:</strong> "
	    "complaints &gt; 0.3 % &lt;i&gt;</p>");
	free(h);
}

static void
t_escape_url(void **state)
{
	json_t *r = report_new();
	json_t *link;
	char *h;

	(void)state;
	link = json_array_get(json_object_get(r, "links"), 0);
	json_object_set_new(link, "url", json_string(HOSTILE_URL));
	h = render(r);
	assert_null(strcasestr(h, "<script"));
	assert_has(h, "<code>https://ex.test/?a=1&amp;b=&quot;&gt;&lt;script"
	    "&gt;alert(1)&lt;/script&gt;</code>");
	assert_lacks(h, "href=\"https");
	free(h);
}

/* Names drawn in a chart are escaped and cut; controls never pass. */
static void
t_escape_chart_labels(void **state)
{
	json_t *r = report_new();
	char *h;

	(void)state;
	json_object_set_new(json_array_get(json_object_get(r, "providers"), 0),
	    "provider", json_string("<evil> \"provider\" with a long name"));
	set(r, "list", json_string("a\x01" "b\x7f" "c"));
	h = render(r);
	assert_has(h, "text-anchor=\"end\">&lt;evil&gt; &quot;provider&quot;"
	    "\xe2\x80\xa6</text>");
	assert_has(h, "<title>&lt;evil&gt; &quot;provider&quot; with a long "
	    "name: delivered");
	assert_has(h, "<dd>a\xef\xbf\xbd" "b\xef\xbf\xbd" "c</dd>");
	free(h);
}

/* Every element opened is closed: a cheap balance check per tag. */
static void
t_balanced(void **state)
{
	static const char *const tags[] = { "html", "head", "body", "main",
	    "section", "header", "footer", "div", "table", "thead", "tbody",
	    "tr", "td", "th", "figure", "figcaption", "svg", "g", "text",
	    "title", "desc", "dl", "dt", "dd", "p", "h1", "h2", "code",
	    "span", "time", "a", "strong", "style" };
	char open[32], open2[32], close[32];
	json_t *a = json_array();
	char *h;
	size_t i;

	(void)state;
	json_array_append_new(a, report_new());
	json_array_append_new(a, report_new());
	h = render_all(a);
	for (i = 0; i < NELEM(tags); i++) {
		snprintf(open, sizeof(open), "<%s>", tags[i]);
		snprintf(open2, sizeof(open2), "<%s ", tags[i]);
		snprintf(close, sizeof(close), "</%s>", tags[i]);
		if (count(h, open) + count(h, open2) != count(h, close))
			fail_msg("<%s>: %zu opened, %zu closed", tags[i],
			    count(h, open) + count(h, open2), count(h, close));
	}
	free(h);
}

/* ---------------------------------------------------------- thresholds */

struct complaint_case {
	const char *name;
	double rate;
	const char *tile;
	const char *note;
};

static const struct complaint_case complaint_cases[] = {
	{ "complaints: 0.05 % plain", 0.0005, "<div class=\"tile\"><p "
	    "class=\"label\">Complaints", "complaint rate 0.05 %</p>" },
	{ "complaints: 0.2 % amber", 0.002, "<div class=\"tile warn\"><p "
	    "class=\"label\">Complaints", "complaint rate 0.20 % \xe2\x80\x93 "
	    "above 0.1 %" },
	{ "complaints: 0.45 % red", 0.0045, "<div class=\"tile bad\"><p "
	    "class=\"label\">Complaints", "complaint rate 0.45 % \xe2\x80\x93 "
	    "above 0.3 %" },
	{ "complaints: null plain", NAN, "<div class=\"tile\"><p "
	    "class=\"label\">Complaints", "complaint rate \xe2\x80\x93</p>" },
};

static void
t_complaint(void **state)
{
	const struct complaint_case *c = *state;
	json_t *r = report_new();
	char *h;

	set(r, "rates.complaint", isnan(c->rate) ? json_null() :
	    json_real(c->rate));
	h = render(r);
	assert_has(h, c->tile);
	assert_has(h, c->note);
	free(h);
}

static void
t_duplicates(void **state)
{
	json_t *r = report_new();
	char *h = render(json_deep_copy(r));

	(void)state;
	assert_lacks(h, "<p class=\"label\">Possibly duplicated");
	free(h);
	set(r, "counts.possibly_duplicated", json_integer(2));
	h = render(r);
	assert_has(h, "<div class=\"tile warn\"><p class=\"label\">Possibly "
	    "duplicated</p><p class=\"value\">2</p>");
	free(h);
}

/* -------------------------------------------------------------- compare */

static json_t *
three_reports(void)
{
	static const char *const names[] = { "alpha", "beta", HOSTILE_NAME };
	json_t *a = json_array(), *r;
	size_t i;

	for (i = 0; i < 3; i++) {
		r = report_new();
		set(r, "campaign", json_string(names[i]));
		set(r, "rates.open", json_real(0.1 * (double)(i + 1)));
		json_array_append_new(a, r);
	}
	/* The third has not started: no rates, no series. */
	set(r, "rates.click", json_null());
	set(r, "series.delivered", json_array());
	set(r, "series.bounced", json_array());
	set(r, "series.deferred", json_array());
	return a;
}

static void
t_compare(void **state)
{
	char *h = render_all(three_reports()), *t, *row;

	(void)state;
	assert_null(strcasestr(h, "<script"));
	assert_has(h, "<h1>3 campaigns side by side</h1>");
	assert_has(h, "<title>Compare alpha, beta, &lt;script&gt;");
	t = slice(h, "<table class=\"compare\">", "</table>");
	assert_int_equal(count(t, "<th scope=\"col\" class=\"num\">"), 3);
	assert_has(t, "<a href=\"#c1\">alpha</a>");
	assert_has(t, "<a href=\"#c2\">beta</a>");
	assert_has(t, "<a href=\"#c3\">&lt;script&gt;alert(&quot;x&quot;)");
	/* Every metric row: its label and one cell per campaign. */
	assert_int_equal(count(t, "<tr>"), 1 + 19);
	assert_int_equal(count(t, "<td "), 19 * 3);
	row = slice(t, "<th scope=\"row\">Open rate</th>", "</tr>");
	assert_int_equal(count(row, "<td "), 3);
	assert_has(row, ">10.0 %</td><td class=\"num\">20.0 %</td>"
	    "<td class=\"num\">30.0 %</td>");
	free(row);
	row = slice(t, "<th scope=\"row\">Click rate</th>", "</tr>");
	assert_has(row, "<td class=\"num\">\xe2\x80\x93</td>");
	free(row);
	row = slice(t, "<th scope=\"row\">Median time to delivery</th>",
	    "</tr>");
	assert_int_equal(count(row, ">0.42 s</td>"), 3);
	free(row);
	free(t);

	/* The grouped bars, then each campaign in full. */
	t = slice(h, "aria-label=\"Open, click and bounce rates per campaign\"",
	    "</svg>");
	/* Bars carry a <title>, the legend's swatches none. */
	assert_int_equal(count(t, "</rect>"), 3 + 2 + 3);
	assert_int_equal(count(t, "<rect class=\"f-clk\" x"), 1 + 2);
	assert_has(t, ">30 %</text>");
	free(t);
	assert_has(h, "<section class=\"campaign\" id=\"c1\"");
	assert_has(h, "<section class=\"campaign\" id=\"c3\"");
	assert_has(h, "<h2 id=\"c2-h\">beta</h2>");
	assert_has(h, "<h3>At a glance</h3>");
	assert_int_equal(count(h, "<svg role=\"img\""), 1 + 3 * 3 - 1);
	assert_int_equal(count(h, "No data yet"), 1);
	free(h);
}

static void
t_compare_complaint(void **state)
{
	json_t *a = three_reports();
	char *h, *row;

	(void)state;
	set(json_array_get(a, 1), "rates.complaint", json_real(0.004));
	h = render_all(a);
	row = slice(h, "<th scope=\"row\">Complaint rate</th>", "</tr>");
	assert_has(row, "<td class=\"num bad\">0.40 %</td>");
	free(row);
	free(h);
}

/* --------------------------------------------------------------- errors */

static void
t_write_error(void **state)
{
	json_t *a = json_array();
	struct err e = { 0 };
	FILE *fp = fopen("/dev/full", "w");

	(void)state;
	if (fp == NULL)
		skip();
	json_array_append_new(a, report_new());
	assert_int_equal(report_html(a, fp, &e), -1);
	assert_int_equal(e.code, EX_IOERR);
	fclose(fp);
	json_decref(a);
}

static void
t_no_reports(void **state)
{
	json_t *a = json_array();
	struct err e = { 0 };
	char *out = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&out, &len);

	(void)state;
	assert_int_equal(report_html(a, fp, &e), -1);
	assert_int_equal(e.code, EX_SOFTWARE);
	json_array_append_new(a, json_string("x"));
	assert_int_equal(report_html(a, fp, &e), -1);
	fclose(fp);
	free(out);
	json_decref(a);
}

int
main(void)
{
	struct unit_tests u = { 0 };

	unit_add(&u, "document", t_document, NULL);
	unit_add(&u, "self-contained", t_self_contained, NULL);
	UNIT_TABLE(&u, section_cases, t_section);
	unit_add(&u, "charts", t_charts, NULL);
	unit_add(&u, "series empty: no data yet", t_series_empty, NULL);
	unit_add(&u, "series zero and one bucket", t_series_zero_and_one, NULL);
	UNIT_TABLE(&u, figure_cases, t_figure);
	unit_add(&u, "times null", t_time_null, NULL);
	unit_add(&u, "escape: campaign name", t_escape_name, NULL);
	unit_add(&u, "escape: replies and reason", t_escape_replies, NULL);
	unit_add(&u, "escape: url", t_escape_url, NULL);
	unit_add(&u, "escape: chart labels, controls", t_escape_chart_labels,
	    NULL);
	unit_add(&u, "tags balanced", t_balanced, NULL);
	UNIT_TABLE(&u, complaint_cases, t_complaint);
	unit_add(&u, "possibly duplicated only when > 0", t_duplicates, NULL);
	unit_add(&u, "compare: three campaigns", t_compare, NULL);
	unit_add(&u, "compare: complaint highlight", t_compare_complaint, NULL);
	unit_add(&u, "write error: EX_IOERR", t_write_error, NULL);
	unit_add(&u, "no reports: EX_SOFTWARE", t_no_reports, NULL);
	return unit_run(&u, "report_html", NULL, NULL);
}
