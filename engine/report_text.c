/*
 * report_text.c - a report for a terminal or a mail (text) and for a
 * spreadsheet (CSV, one figure a row); see report.h.
 */
#include <stdio.h>
#include <string.h>

#include "csvout.h"
#include "report.h"

/* ------------------------------------------------------------ accessors */

/* The value at a dotted path ("counts.bounced.hard"); NULL: none. */
static json_t *
at(json_t *o, const char *path)
{
	char key[64];
	size_t n;

	while (o != NULL && *path != '\0') {
		n = strcspn(path, ".");
		snprintf(key, sizeof(key), "%.*s", (int)n, path);
		o = json_object_get(o, key);
		path += n + (path[n] == '.');
	}
	return o;
}

static long long
num(json_t *o, const char *path)
{
	return (long long)json_integer_value(at(o, path));
}

static const char *
str(json_t *o, const char *path)
{
	const char *s = json_string_value(at(o, path));

	return s != NULL ? s : "-";
}

/* 1234567 as "1,234,567". */
static const char *
thousands(long long v, char *buf, size_t n)
{
	char raw[32];
	size_t len, i, o = 0;

	len = (size_t)snprintf(raw, sizeof(raw), "%lld", v < 0 ? -v : v);
	if (v < 0 && o + 1 < n)
		buf[o++] = '-';
	for (i = 0; i < len && o + 2 < n; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = raw[i];
	}
	buf[o] = '\0';
	return buf;
}

/* A rate as "31.20 %", "-" for null. */
static const char *
pct(json_t *o, const char *path, char *buf, size_t n)
{
	json_t *v = at(o, path);

	if (!json_is_number(v))
		return "-";
	snprintf(buf, n, "%.2f %%", 100.0 * json_number_value(v));
	return buf;
}

static const char *
secs(json_t *o, const char *path, char *buf, size_t n)
{
	json_t *v = at(o, path);
	double s;

	if (!json_is_number(v))
		return "-";
	s = json_number_value(v);
	if (s < 120)
		snprintf(buf, n, "%.1f s", s);
	else if (s < 7200)
		snprintf(buf, n, "%.1f min", s / 60);
	else
		snprintf(buf, n, "%.1f h", s / 3600);
	return buf;
}

/* --------------------------------------------------------------- text */

static void
text_head(json_t *r, FILE *fp)
{
	char a[32], b[32], c[32];

	fprintf(fp, "Campaign %s (%s)\n", str(r, "campaign"),
	    str(r, "status"));
	if (json_is_string(at(r, "paused_reason")))
		fprintf(fp, "Paused by itself: %s\n", str(r, "paused_reason"));
	fprintf(fp, "List %s%s%s, template %s version %lld, from %s\n",
	    str(r, "list"), json_is_string(at(r, "segment")) ?
	    ", segment " : "", json_is_string(at(r, "segment")) ?
	    str(r, "segment") : "", str(r, "template"),
	    num(r, "template_version"), str(r, "from"));
	fprintf(fp, "Started %s, finished %s, duration %s, %s messages/s\n",
	    str(r, "times.started"), str(r, "times.finished"),
	    secs(r, "times.duration_s", a, sizeof(a)),
	    json_is_number(at(r, "times.throughput_per_s")) ?
	    (snprintf(b, sizeof(b), "%.1f", json_number_value(at(r,
	    "times.throughput_per_s"))), b) : "-");
	fprintf(fp, "Time to delivery: median %s, 95th percentile %s\n\n",
	    secs(r, "times.time_to_delivery_s.median", a, sizeof(a)),
	    secs(r, "times.time_to_delivery_s.p95", c, sizeof(c)));
}

static void
text_row(FILE *fp, const char *label, long long v, const char *rate,
    const char *more)
{
	char n[32], line[512];
	size_t len;

	snprintf(line, sizeof(line), "  %-24s %11s %9s  %s", label,
	    thousands(v, n, sizeof(n)), rate, more);
	len = strlen(line);
	while (len > 0 && line[len - 1] == ' ')
		len--;
	fprintf(fp, "%.*s\n", (int)len, line);
}

static void
text_counts(json_t *r, FILE *fp)
{
	char p[32], m[160];

	text_row(fp, "recipients", num(r, "counts.recipients"), "", "");
	text_row(fp, "sent", num(r, "counts.sent"), "", "");
	text_row(fp, "delivered", num(r, "counts.delivered"),
	    pct(r, "rates.delivery", p, sizeof(p)), "of sent");
	snprintf(m, sizeof(m), "hard %lld, soft %lld, policy %lld, "
	    "unknown %lld", num(r, "counts.bounced.hard"),
	    num(r, "counts.bounced.soft"), num(r, "counts.bounced.policy"),
	    num(r, "counts.bounced.unknown"));
	text_row(fp, "bounced", num(r, "counts.bounced.total"),
	    pct(r, "rates.bounce", p, sizeof(p)), m);
	text_row(fp, "deferred now", num(r, "counts.deferred_now"), "", "");
	text_row(fp, "pending now", num(r, "counts.pending_now"), "", "");
	text_row(fp, "failed", num(r, "counts.failed"), "", "");
	text_row(fp, "suppressed", num(r, "counts.suppressed"), "", "");
	snprintf(m, sizeof(m), "total %lld; machines: %lld unique, %lld "
	    "total", num(r, "counts.opens.total_human"),
	    num(r, "counts.opens.unique_machine"),
	    num(r, "counts.opens.total_machine"));
	text_row(fp, "opens (human, unique)", num(r,
	    "counts.opens.unique_human"), pct(r, "rates.open", p, sizeof(p)),
	    m);
	snprintf(m, sizeof(m), "total %lld; machines: %lld unique; "
	    "click-to-open ", num(r, "counts.clicks.total_human"),
	    num(r, "counts.clicks.unique_machine"));
	strncat(m, pct(r, "rates.click_to_open", p, sizeof(p)),
	    sizeof(m) - strlen(m) - 1);
	text_row(fp, "clicks (human, unique)", num(r,
	    "counts.clicks.unique_human"), pct(r, "rates.click", p,
	    sizeof(p)), m);
	text_row(fp, "unsubscribes", num(r, "counts.unsubscribes"),
	    pct(r, "rates.unsubscribe", p, sizeof(p)), "");
	text_row(fp, "complaints", num(r, "counts.complaints"),
	    pct(r, "rates.complaint", p, sizeof(p)), "");
	snprintf(m, sizeof(m), "auto-replies %lld",
	    num(r, "counts.auto_replies"));
	text_row(fp, "replies", num(r, "counts.replies"),
	    pct(r, "rates.reply", p, sizeof(p)), m);
	text_row(fp, "possibly duplicated", num(r,
	    "counts.possibly_duplicated"), "", "a run died with them in "
	    "flight");
}

/* An A/B test: what each variant's share did, the winner marked. */
static void
text_variants(json_t *r, FILE *fp)
{
	json_t *ab = at(r, "ab_test"), *v;
	char p1[32], p2[32];
	size_t i;

	if (!json_is_object(ab))
		return;
	fprintf(fp, "\nA/B test (%lld%% of the audience, winner by %s: %s; "
	    "%lld held for it)\n  %-3s %9s %9s %11s %11s  %s\n",
	    num(ab, "share"), str(ab, "metric"), json_is_string(at(ab,
	    "winner")) ? str(ab, "winner") : "not picked yet",
	    num(ab, "held"), "", "sent", "delivered", "opens (h)",
	    "clicks (h)", "subject / template");
	json_array_foreach(at(r, "variants"), i, v)
		fprintf(fp, "  %-1s%-2s %9lld %9lld %5lld %5s %5lld %5s  %s%s"
		    "%s v%lld\n", str(v, "variant"), json_is_true(at(v,
		    "winner")) ? "*" : "", num(v, "sent"),
		    num(v, "delivered"), num(v, "opens_unique_human"),
		    pct(v, "open_rate", p1, sizeof(p1)),
		    num(v, "clicks_unique_human"),
		    pct(v, "click_rate", p2, sizeof(p2)),
		    json_is_string(at(v, "subject")) ? str(v, "subject") : "",
		    json_is_string(at(v, "subject")) ? " / " : "",
		    str(v, "template"), num(v, "template_version"));
}

static void
text_tables(json_t *r, FILE *fp)
{
	json_t *v, *rep;
	size_t i;

	if (json_array_size(at(r, "links")) > 0)
		fprintf(fp, "\nLinks (clicks: unique, total, unique human)\n");
	json_array_foreach(at(r, "links"), i, v)
		fprintf(fp, "  %3lld %8lld %8lld %8lld  %s\n", num(v, "index"),
		    num(v, "clicks_unique"), num(v, "clicks_total"),
		    num(v, "clicks_unique_human"), str(v, "url"));
	fprintf(fp, "\nDomains (the %d largest)\n  %-28s %-10s %9s %9s %8s "
	    "%7s %9s  %s\n", REPORT_DOMAINS, "domain", "provider",
	    "recipients", "delivered", "deferred", "bounced", "throttled",
	    "top reply");
	json_array_foreach(at(r, "domains"), i, v) {
		rep = json_array_get(at(v, "top_replies"), 0);
		fprintf(fp, "  %-28s %-10s %9lld %9lld %8lld %7lld %9lld  "
		    "%.72s\n", str(v, "domain"), str(v, "provider"),
		    num(v, "recipients"), num(v, "delivered"),
		    num(v, "deferred"), num(v, "bounced"), num(v, "throttled"),
		    rep != NULL ? str(rep, "reply") : "");
	}
	fprintf(fp, "\nProviders\n  %-12s %8s %10s %9s %8s %7s %9s\n",
	    "provider", "domains", "recipients", "delivered", "deferred",
	    "bounced", "throttled");
	json_array_foreach(at(r, "providers"), i, v)
		fprintf(fp, "  %-12s %8lld %10lld %9lld %8lld %7lld %9lld\n",
		    str(v, "provider"), num(v, "domains"), num(v, "recipients"),
		    num(v, "delivered"), num(v, "deferred"), num(v, "bounced"),
		    num(v, "throttled"));
	text_variants(r, fp);
	if (json_array_size(at(r, "bounce_reasons")) > 0)
		fprintf(fp, "\nTop bounce reasons\n");
	json_array_foreach(at(r, "bounce_reasons"), i, v)
		fprintf(fp, "  %6lld  %-7s %-7s %.70s\n", num(v, "count"),
		    str(v, "class"), str(v, "dsn"), str(v, "reply"));
}

/* --compare: the key figures side by side, a column a campaign. */
static const struct {
	const char *label;
	const char *path;
	int rate;
} compare_rows[] = {
	{ "recipients", "counts.recipients", 0 },
	{ "sent", "counts.sent", 0 },
	{ "delivered", "counts.delivered", 0 },
	{ "delivery rate", "rates.delivery", 1 },
	{ "bounced", "counts.bounced.total", 0 },
	{ "  hard", "counts.bounced.hard", 0 },
	{ "  soft", "counts.bounced.soft", 0 },
	{ "  policy", "counts.bounced.policy", 0 },
	{ "open rate (human)", "rates.open", 1 },
	{ "click rate (human)", "rates.click", 1 },
	{ "click-to-open", "rates.click_to_open", 1 },
	{ "unsubscribe rate", "rates.unsubscribe", 1 },
	{ "complaint rate", "rates.complaint", 1 },
	{ "reply rate", "rates.reply", 1 },
	{ "possibly duplicated", "counts.possibly_duplicated", 0 },
};

static void
text_compare(json_t *reports, FILE *fp)
{
	char buf[32];
	json_t *r;
	size_t i, k;

	fprintf(fp, "%-22s", "");
	json_array_foreach(reports, k, r)
		fprintf(fp, " %14.14s", str(r, "campaign"));
	fputc('\n', fp);
	for (i = 0; i < sizeof(compare_rows) / sizeof(compare_rows[0]); i++) {
		fprintf(fp, "%-22s", compare_rows[i].label);
		json_array_foreach(reports, k, r)
			fprintf(fp, " %14s", compare_rows[i].rate ?
			    pct(r, compare_rows[i].path, buf, sizeof(buf)) :
			    thousands(num(r, compare_rows[i].path), buf,
			    sizeof(buf)));
		fputc('\n', fp);
	}
	fprintf(fp, "%-22s", "median to delivery");
	json_array_foreach(reports, k, r)
		fprintf(fp, " %14s", secs(r, "times.time_to_delivery_s.median",
		    buf, sizeof(buf)));
	fprintf(fp, "\n\n");
}

int
report_text(json_t *reports, FILE *fp, struct err *e)
{
	json_t *r;
	size_t i;

	if (json_array_size(reports) > 1)
		text_compare(reports, fp);
	json_array_foreach(reports, i, r) {
		if (i > 0)
			fputc('\n', fp);
		text_head(r, fp);
		text_counts(r, fp);
		text_tables(r, fp);
	}
	if (fflush(fp) != 0 || ferror(fp))
		return err_set(e, EX_IOERR, "writing the report failed");
	return 0;
}

/* ---------------------------------------------------------------- CSV */

/* campaign, section, item, metric, value: one figure a row. */
static void
csv_row(FILE *fp, const char *c, const char *section, const char *item,
    const char *metric, json_t *v)
{
	char val[64];
	const char *f[5] = { c, section, item, metric, val };

	if (json_is_integer(v))
		snprintf(val, sizeof(val), "%lld",
		    (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(val, sizeof(val), "%.6g", json_real_value(v));
	else if (json_is_string(v))
		f[4] = json_string_value(v);
	else
		val[0] = '\0';
	csvout_record(fp, 5, f);
}

/* Every scalar of obj, nested objects as dotted metrics. */
static void
csv_object(FILE *fp, const char *c, const char *section, const char *item,
    const char *prefix, json_t *obj)
{
	char metric[128];
	const char *k;
	json_t *v;

	json_object_foreach(obj, k, v) {
		snprintf(metric, sizeof(metric), "%s%s%s", prefix,
		    prefix[0] ? "." : "", k);
		if (json_is_object(v))
			csv_object(fp, c, section, item, metric, v);
		else if (!json_is_array(v))
			csv_row(fp, c, section, item, metric, v);
	}
}

static void
csv_list(FILE *fp, const char *c, json_t *r, const char *list,
    const char *section, const char *key)
{
	json_t *v;
	size_t i;

	json_array_foreach(at(r, list), i, v) {
		char item[512];

		if (strcmp(list, "bounce_reasons") == 0)
			snprintf(item, sizeof(item), "%s %s %s", str(v,
			    "class"), str(v, "dsn"), str(v, "reply"));
		else
			snprintf(item, sizeof(item), "%s", json_is_integer(
			    at(v, key)) ? "" : str(v, key));
		if (json_is_integer(at(v, key)))
			snprintf(item, sizeof(item), "%lld", num(v, key));
		csv_object(fp, c, section, item, "", v);
	}
}

static void
csv_series(FILE *fp, const char *c, json_t *r)
{
	static const char *const keys[] = { "delivered", "bounced",
	    "deferred", "opens", "clicks" };
	json_t *s = at(r, "series"), *a;
	char item[32];
	size_t i, k;

	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		a = json_object_get(s, keys[k]);
		for (i = 0; i < json_array_size(a); i++) {
			snprintf(item, sizeof(item), "%zu", i);
			csv_row(fp, c, "series", item, keys[k],
			    json_array_get(a, i));
		}
	}
}

int
report_csv(json_t *reports, FILE *fp, struct err *e)
{
	static const char *const head[] = { "campaign", "section", "item",
	    "metric", "value" };
	json_t *r;
	size_t i;

	csvout_record(fp, 5, head);
	json_array_foreach(reports, i, r) {
		const char *c = str(r, "campaign");

		csv_object(fp, c, "campaign", "", "", r);
		csv_list(fp, c, r, "links", "link", "index");
		csv_list(fp, c, r, "domains", "domain", "domain");
		csv_list(fp, c, r, "providers", "provider", "provider");
		csv_list(fp, c, r, "bounce_reasons", "bounce_reason", "");
		csv_list(fp, c, r, "variants", "variant", "variant");
		csv_series(fp, c, r);
	}
	if (fflush(fp) != 0 || ferror(fp))
		return err_set(e, EX_IOERR, "writing the report failed");
	return 0;
}
