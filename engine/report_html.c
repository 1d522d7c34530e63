/*
 * report_html.c - the campaign report as one self-contained HTML file;
 * see report.h for the JSON it reads.
 *
 * What the file holds: HTML5 with one inline <style> (system fonts, no
 * @import, no url()) and inline <svg> charts. No script, no web font,
 * nothing fetched: a Content-Security-Policy meta (default-src 'none')
 * has the browser refuse anything external should a later change slip
 * one in. The only links are fragments inside the file (#c1, #c2, ...).
 *
 * Decisions:
 *  - The URLs of tracked links are shown as text (<code>), never as
 *    <a href>: a report is forwarded and printed, where a URL must be
 *    readable whole, and a reader should not follow from a report a URL
 *    whose scheme nobody here checked.
 *  - Every string from the JSON goes through esc(), in text and in
 *    attributes alike (& < > " ' and control characters); numbers are
 *    formatted here and need none. A null or missing figure is an en
 *    dash.
 *  - Rates print with 2 decimals below 10 % and 1 above: a complaint rate
 *    of 0.08 % must not read as 0.1 %.
 *  - Charts are drawn in a fixed viewBox and scaled by CSS to their column,
 *    so they fit a 1366 px laptop screen two abreast and a printed page.
 *    Each is role="img" with a <title>, an aria-label and a <desc> giving
 *    the totals; the tables below carry the same figures for anyone who
 *    cannot see the chart.
 *  - A series with nothing in it gets a "no data yet" note, not an empty
 *    frame.
 *
 * Writes with stdio and looks at ferror() once at the end: a failed write
 * leaves the stream in error, and nothing written after it matters.
 */
#include <math.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "html.h"
#include "report.h"

#define DASH	"\xe2\x80\x93"	/* en dash: a figure that is null */
#define NUMSZ	64
#define COMPLAINT_BAD	0.003	/* mailbox providers' published ceiling */
#define COMPLAINT_WARN	0.001	/* their recommended level */
#define LABEL_CHARS	18	/* provider and campaign names under a chart */
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

enum kind { K_INT, K_RATE, K_DUR, K_TIME, K_TEXT, K_CODE, K_TPUT, K_REPLIES };

/* ------------------------------------------------------------- reading */

/* The member at a dotted path ("counts.bounced.hard"), or NULL. */
static json_t *
jat(json_t *o, const char *path)
{
	char key[64];
	const char *dot;
	size_t n;

	while (o != NULL && (dot = strchr(path, '.')) != NULL) {
		n = (size_t)(dot - path);
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		o = json_object_get(o, key);
		path = dot + 1;
	}
	return o != NULL ? json_object_get(o, path) : NULL;
}

static const char *
jstr(json_t *o, const char *path)
{
	json_t *v = jat(o, path);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* 1 and *d when the member is a number; 0 when null or missing. */
static int
jnum(json_t *o, const char *path, double *d)
{
	json_t *v = jat(o, path);

	if (!json_is_number(v))
		return 0;
	*d = json_number_value(v);
	return 1;
}

static double
jnum0(json_t *o, const char *path)
{
	double d = 0;

	return jnum(o, path, &d) ? d : 0;
}

/* Element i of a series array, 0 past its end. */
static double
series_at(json_t *arr, size_t i)
{
	json_t *v = json_array_get(arr, i);

	return json_is_number(v) ? json_number_value(v) : 0;
}

/* ------------------------------------------------------------- writing */

/* html_escape() to fp; NULL is a dash. */
static void
esc(FILE *fp, const char *s)
{
	struct buf b;

	if (s == NULL) {
		fputs(DASH, fp);
		return;
	}
	buf_init(&b, 6 * strlen(s) + 1);	/* "&quot;" for '"' at most */
	if (html_escape(&b, s) == 0 && b.len > 0)
		fwrite(b.data, 1, b.len, fp);
	buf_free(&b);
}

/* esc() of at most max characters of s, and an ellipsis when cut. */
static void
esc_cut(FILE *fp, const char *s, size_t max)
{
	char buf[256];
	size_t i, chars = 0;

	if (s == NULL) {
		fputs(DASH, fp);
		return;
	}
	for (i = 0; s[i] != '\0'; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80 && chars++ == max)
			break;
		if (i + 1 >= sizeof(buf))
			break;
	}
	if (s[i] == '\0') {
		esc(fp, s);
		return;
	}
	/* Back to the start of a character when the buffer cut one. */
	while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80)
		i--;
	while (i > 0 && s[i - 1] == ' ')
		i--;
	memcpy(buf, s, i);
	buf[i] = '\0';
	esc(fp, buf);
	fputs("\xe2\x80\xa6", fp);
}

/* ---------------------------------------------------------- formatting */

/* 1234567 -> "1,234,567". */
static void
fmt_int(char *out, size_t n, double v)
{
	char digits[32];
	long long x = llround(v);
	unsigned long long u = x < 0 ? 0ULL - (unsigned long long)x :
	    (unsigned long long)x;
	size_t j = 0;
	int len, i;

	len = snprintf(digits, sizeof(digits), "%llu", u);
	if (x < 0 && j + 1 < n)
		out[j++] = '-';
	for (i = 0; i < len && j + 2 < n; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			out[j++] = ',';
		out[j++] = digits[i];
	}
	out[j] = '\0';
}

/* A fraction as a percentage: 0.0123 -> "1.23 %", 0.456 -> "45.6 %". */
static void
fmt_rate(char *out, size_t n, double v)
{
	double pct = v * 100;

	snprintf(out, n, pct < 10 ? "%.2f %%" : "%.1f %%", pct);
}

/* Seconds as people read them: "0.42 s", "12 s", "5 min 03 s", "2 h 05 min". */
static void
fmt_dur(char *out, size_t n, double s)
{
	long long t = llround(s);

	if (s < 0)
		snprintf(out, n, DASH);
	else if (s < 10)
		snprintf(out, n, s < 1 ? "%.2f s" : "%.1f s", s);
	else if (t < 60)
		snprintf(out, n, "%lld s", t);
	else if (t < 3600)
		snprintf(out, n, t % 60 ? "%lld min %02lld s" : "%lld min",
		    t / 60, t % 60);
	else if (t < 86400)
		snprintf(out, n, "%lld h %02lld min", t / 3600, t % 3600 / 60);
	else
		snprintf(out, n, "%lld d %lld h", t / 86400, t % 86400 / 3600);
}

static void
fmt_tput(char *out, size_t n, double v)
{
	char hour[NUMSZ];

	fmt_int(hour, sizeof(hour), v * 3600);
	snprintf(out, n, "%.1f per second (%s per hour)", v, hour);
}

/* A numeric member formatted by kind, or a dash; never needs escaping. */
static const char *
fmtv(json_t *o, const char *path, enum kind k, char *out, size_t n)
{
	double v;

	if (!jnum(o, path, &v))
		return DASH;
	switch (k) {
	case K_RATE: fmt_rate(out, n, v); break;
	case K_DUR: fmt_dur(out, n, v); break;
	case K_TPUT: fmt_tput(out, n, v); break;
	default: fmt_int(out, n, v); break;
	}
	return out;
}

static int
digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* "YYYY-MM-DDTHH:MM:SS..." (UTC, as report.h promises) to epoch seconds. */
static int
iso_parse(const char *s, time_t *t)
{
	struct tm tm;

	if (s == NULL || strlen(s) < 19 || s[4] != '-' || s[7] != '-' ||
	    s[10] != 'T' || s[13] != ':' || s[16] != ':')
		return -1;
	memset(&tm, 0, sizeof(tm));
	if (digits(s, 4, &tm.tm_year) < 0 || digits(s + 5, 2, &tm.tm_mon) < 0 ||
	    digits(s + 8, 2, &tm.tm_mday) < 0 ||
	    digits(s + 11, 2, &tm.tm_hour) < 0 ||
	    digits(s + 14, 2, &tm.tm_min) < 0 ||
	    digits(s + 17, 2, &tm.tm_sec) < 0)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*t = timegm(&tm);
	return 0;
}

/* A time as <time>: "2026-11-23 10:00:05 UTC"; a string of another shape
   as it is. */
static void
put_time(FILE *fp, const char *iso)
{
	time_t t;

	if (iso == NULL) {
		fputs(DASH, fp);
		return;
	}
	fputs("<time datetime=\"", fp);
	esc(fp, iso);
	fputs("\">", fp);
	if (iso_parse(iso, &t) == 0)
		fprintf(fp, "%.10s %.8s UTC", iso, iso + 11);
	else
		esc(fp, iso);
	fputs("</time>", fp);
}

/* Up to REPORT_TOP_REPLIES replies "550 5.1.1 ... × 12", one a line. */
static void
put_replies(FILE *fp, json_t *arr)
{
	char num[NUMSZ];
	json_t *r;
	size_t i;

	if (!json_is_array(arr) || json_array_size(arr) == 0) {
		fputs(DASH, fp);
		return;
	}
	json_array_foreach(arr, i, r) {
		if (i > 0)
			fputs("<br>", fp);
		fputs("<span class=\"reply\">", fp);
		esc(fp, jstr(r, "reply"));
		fprintf(fp, "</span> \xc3\x97\xc2\xa0%s",
		    fmtv(r, "count", K_INT, num, sizeof(num)));
	}
}

/* The member at path of o, formatted by kind. */
static void
put_value(FILE *fp, json_t *o, const char *path, enum kind k)
{
	char num[NUMSZ * 2];

	switch (k) {
	case K_TIME:
		put_time(fp, jstr(o, path));
		break;
	case K_TEXT:
		esc(fp, jstr(o, path));
		break;
	case K_CODE:
		fputs("<code>", fp);
		esc(fp, jstr(o, path));
		fputs("</code>", fp);
		break;
	case K_REPLIES:
		put_replies(fp, jat(o, path));
		break;
	default:
		fputs(fmtv(o, path, k, num, sizeof(num)), fp);
	}
}

static int
numeric(enum kind k)
{
	return k == K_INT || k == K_RATE || k == K_DUR;
}

/* "bad" over the ceiling, "warn" over the recommended level, else "". */
static const char *
complaint_class(json_t *r)
{
	double v;

	if (!jnum(r, "rates.complaint", &v))
		return "";
	return v > COMPLAINT_BAD ? "bad" : v > COMPLAINT_WARN ? "warn" : "";
}

/* --------------------------------------------------------------- style */

static const char css[] =
":root{color-scheme:light;--fg:#1b1f24;--muted:#59626d;--line:#d6dbe1;"
"--bg:#f5f6f8;--card:#fff;--del:#2e7d32;--def:#d99100;--bou:#c62828;"
"--opn:#1565c0;--clk:#8e24aa}\n"
"*{box-sizing:border-box}\n"
"body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 "
"system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,"
"\"Noto Sans\",\"Liberation Sans\",sans-serif}\n"
"main,footer{max-width:72rem;margin:0 auto;padding:1.25rem 1.5rem}\n"
"footer{padding-top:0;color:var(--muted);font-size:.85rem}\n"
"h1{font-size:1.6rem;margin:.1rem 0 .4rem}\n"
"h2{font-size:1.2rem;margin:1.6rem 0 .6rem;padding-bottom:.25rem;"
"border-bottom:1px solid var(--line)}\n"
"h3{font-size:1.05rem;margin:1.2rem 0 .5rem}\n"
"h1,h2,h3{overflow-wrap:anywhere;break-after:avoid}\n"
".kicker{margin:0;color:var(--muted);font-size:.8rem;"
"text-transform:uppercase;letter-spacing:.06em}\n"
".status{display:inline-block;margin:0 0 .4rem;padding:.05rem .6rem;"
"border:1px solid var(--line);border-radius:1rem;background:var(--card);"
"font-size:.85rem}\n"
".meta{display:grid;grid-template-columns:repeat(auto-fill,"
"minmax(20rem,1fr));gap:.15rem 1.5rem;margin:.4rem 0}\n"
".meta div{display:flex;gap:.6rem}\n"
".meta dt{color:var(--muted);min-width:6.5rem}\n"
".meta dd{margin:0;overflow-wrap:anywhere}\n"
".notice{border-left:4px solid var(--def);background:#fff6dc;"
"padding:.5rem .8rem;margin:.8rem 0}\n"
".tiles{display:grid;grid-template-columns:repeat(auto-fill,"
"minmax(12rem,1fr));gap:.7rem}\n"
".tile{background:var(--card);border:1px solid var(--line);"
"border-top:4px solid var(--line);border-radius:6px;padding:.55rem .8rem}\n"
".tile p{margin:0}\n"
".tile .label{color:var(--muted);font-size:.85rem}\n"
".tile .value{font-size:1.75rem;font-weight:650;line-height:1.25;"
"font-variant-numeric:tabular-nums}\n"
".tile .sub{color:var(--muted);font-size:.82rem}\n"
".tile.warn{border-top-color:var(--def)}\n"
".tile.warn .value{color:#8a5a00}\n"
".tile.bad{border-top-color:var(--bou)}\n"
".tile.bad .value,td.bad{color:var(--bou);font-weight:650}\n"
"td.warn{color:#8a5a00;font-weight:650}\n"
".cols{display:grid;grid-template-columns:repeat(auto-fit,"
"minmax(26rem,1fr));gap:1rem;align-items:start}\n"
"figure{margin:0;background:var(--card);border:1px solid var(--line);"
"border-radius:6px;padding:.6rem .8rem}\n"
"figcaption{font-weight:600;margin-bottom:.3rem}\n"
"svg{display:block;width:100%;height:auto}\n"
"svg text{font-size:12px;fill:var(--fg)}\n"
"svg .tick{fill:var(--muted)}\n"
"svg .grid{stroke:var(--line);stroke-width:1}\n"
"svg .axis{stroke:#8b949e;stroke-width:1}\n"
".f-del{fill:var(--del)}.f-def{fill:var(--def)}.f-bou{fill:var(--bou)}"
".f-opn{fill:var(--opn)}.f-clk{fill:var(--clk)}\n"
".l-opn,.l-clk{fill:none;stroke-width:2;stroke-linejoin:round}"
".l-opn{stroke:var(--opn)}.l-clk{stroke:var(--clk)}\n"
".nodata{color:var(--muted);font-style:italic;margin:.4rem 0}\n"
".scroll{overflow-x:auto}\n"
"table{border-collapse:collapse;width:100%;background:var(--card);"
"font-size:.9rem}\n"
"th,td{padding:.3rem .55rem;border-bottom:1px solid var(--line);"
"text-align:left;vertical-align:top}\n"
"thead th{border-bottom:2px solid #a9b1ba;font-weight:600}\n"
"thead th.num{white-space:normal}\n"
"tbody th{font-weight:normal;color:var(--muted)}\n"
".num{text-align:right;white-space:nowrap;"
"font-variant-numeric:tabular-nums}\n"
"td.text{overflow-wrap:anywhere;min-width:10rem}\n"
"code{font:.85em ui-monospace,\"SFMono-Regular\",Menlo,Consolas,"
"\"Liberation Mono\",monospace;overflow-wrap:anywhere}\n"
"figure.wide svg{max-width:46rem;margin:0 auto}\n"
"main>section.campaign:not(:first-child){margin-top:2.5rem;"
"padding-top:.5rem;border-top:3px solid var(--line)}\n"
"a{color:var(--opn)}\n"
"@media print{\n"
"@page{margin:14mm}\n"
"html{font-size:12px}\n"
"body{background:none;font-size:10pt}\n"
"main,footer{max-width:none;padding:0}\n"
".tile,figure,table,.status{background:none}\n"
".notice{background:none;border:1px solid #999;border-left-width:4px}\n"
".tiles{grid-template-columns:repeat(4,minmax(0,1fr))}\n"
".cols{grid-template-columns:repeat(2,minmax(0,1fr))}\n"
".cols.charts{grid-template-columns:1fr}\n"
".charts svg{max-width:36rem;margin:0 auto}\n"
"td.text{min-width:0}\n"
".tiles,figure,table,tr,svg{break-inside:avoid;page-break-inside:avoid}\n"
"thead{display:table-header-group}\n"
"h2,h3{break-after:avoid;page-break-after:avoid}\n"
".scroll{overflow:visible}\n"
"main>section.campaign:not(:first-child){break-before:page;border:0;"
"margin-top:0}\n"
"a{color:inherit;text-decoration:none}\n"
"}\n";

/* -------------------------------------------------------------- charts */

struct plot {
	double w, h;		/* the viewBox */
	double x0, y0, x1, y1;	/* the plot area, y0 its top */
	double top, step;	/* the axis maximum and its tick distance */
	int pct;		/* values are percentages */
};

struct legend {
	const char *cls;
	const char *label;
};

/* A round axis maximum over max with 3 to 5 ticks of 1, 2 or 5 x 10^n. */
static void
plot_scale(struct plot *p, double max, int integer)
{
	double raw, mag, f;

	if (!(max > 0))
		max = 1;
	raw = max / 4;
	mag = pow(10, floor(log10(raw)));
	f = raw / mag;
	p->step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
	if (integer && p->step < 1)
		p->step = 1;
	p->top = ceil(max / p->step - 1e-9) * p->step;
}

static double
plot_y(const struct plot *p, double v)
{
	return p->y1 - v / p->top * (p->y1 - p->y0);
}

static double
plot_x(const struct plot *p, double v)
{
	return p->x0 + v / p->top * (p->x1 - p->x0);
}

static void
fmt_tick(const struct plot *p, double v, char *out, size_t n)
{
	if (!p->pct)
		fmt_int(out, n, v);
	else
		snprintf(out, n, p->step < 1 ? "%.1f %%" : "%.0f %%", v);
}

static void
svg_open(FILE *fp, const struct plot *p, const char *id, const char *title,
    const char *desc)
{
	fprintf(fp, "<svg role=\"img\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\""
	    " height=\"%.0f\" aria-label=\"", p->w, p->h, p->w, p->h);
	esc(fp, title);
	fprintf(fp, "\" aria-describedby=\"%s-d\"><title>", id);
	esc(fp, title);
	fprintf(fp, "</title><desc id=\"%s-d\">", id);
	esc(fp, desc);
	fputs("</desc>\n", fp);
}

/* Swatches and labels in a row along the top; line: a stroke, not a box. */
static void
svg_legend(FILE *fp, const struct plot *p, const struct legend *l, size_t n,
    int line)
{
	double x = p->x0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (line)
			fprintf(fp, "<line class=\"l-%s\" x1=\"%.1f\" "
			    "y1=\"11\" x2=\"%.1f\" y2=\"11\"/>", l[i].cls, x,
			    x + 14);
		else
			fprintf(fp, "<rect class=\"f-%s\" x=\"%.1f\" y=\"5\" "
			    "width=\"12\" height=\"12\"/>", l[i].cls, x);
		fprintf(fp, "<text x=\"%.1f\" y=\"15\">%s</text>\n", x + 18,
		    l[i].label);
		x += 18 + 6.5 * (double)strlen(l[i].label) + 16;
	}
}

/* Grid lines and value ticks up the left side. */
static void
svg_axis_y(FILE *fp, const struct plot *p)
{
	char num[NUMSZ];
	double v, y;
	int i;

	for (i = 0; (v = i * p->step) <= p->top + p->step / 2; i++) {
		y = plot_y(p, v);
		fmt_tick(p, v, num, sizeof(num));
		fprintf(fp, "<line class=\"%s\" x1=\"%.1f\" y1=\"%.1f\" "
		    "x2=\"%.1f\" y2=\"%.1f\"/><text class=\"tick\" x=\"%.1f\" "
		    "y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
		    i == 0 ? "axis" : "grid", p->x0, y, p->x1, y, p->x0 - 6,
		    y + 4, num);
	}
}

/* Grid lines and value ticks along the bottom, for horizontal bars. */
static void
svg_axis_x(FILE *fp, const struct plot *p)
{
	char num[NUMSZ];
	double v, x;
	int i;

	for (i = 0; (v = i * p->step) <= p->top + p->step / 2; i++) {
		x = plot_x(p, v);
		fmt_tick(p, v, num, sizeof(num));
		fprintf(fp, "<line class=\"%s\" x1=\"%.1f\" y1=\"%.1f\" "
		    "x2=\"%.1f\" y2=\"%.1f\"/><text class=\"tick\" x=\"%.1f\" "
		    "y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
		    i == 0 ? "axis" : "grid", x, p->y0, x, p->y1, x,
		    p->y1 + 15, num);
	}
}

static void
no_data(FILE *fp, const char *what)
{
	fprintf(fp, "<p class=\"nodata\">No data yet: %s.</p>\n", what);
}

static void
figure_open(FILE *fp, const char *caption)
{
	fprintf(fp, "<figure>\n<figcaption>%s</figcaption>\n", caption);
}

/* A chart alone on its row, kept to a readable width. */
static void
figure_open_wide(FILE *fp, const char *caption)
{
	fprintf(fp, "<figure class=\"wide\">\n<figcaption>%s</figcaption>\n",
	    caption);
}

/* ------------------------------------------------------- time series */

struct timeline {
	json_t *series;
	size_t n;		/* buckets */
	double bucket_s;
	time_t start;
	int have_start;
};

static void
timeline_init(struct timeline *tl, json_t *r, const char *const *names,
    size_t nnames)
{
	size_t i, m;

	memset(tl, 0, sizeof(*tl));
	tl->series = json_object_get(r, "series");
	for (i = 0; i < nnames; i++) {
		m = json_array_size(json_object_get(tl->series, names[i]));
		if (m > tl->n)
			tl->n = m;
	}
	if (tl->n > REPORT_BUCKETS * 4)	/* a bound on the drawing */
		tl->n = REPORT_BUCKETS * 4;
	tl->bucket_s = jnum0(tl->series, "bucket_s");
	tl->have_start = iso_parse(jstr(tl->series, "start"), &tl->start) == 0;
}

/* The start of bucket i: a UTC clock time, or "+5 min" without a start. */
static void
timeline_label(const struct timeline *tl, size_t i, char *out, size_t n)
{
	char d[NUMSZ / 2];
	struct tm tm;
	time_t t;

	if (!tl->have_start || tl->bucket_s <= 0) {
		fmt_dur(d, sizeof(d), (double)i * tl->bucket_s);
		snprintf(out, n, "+%s", d);
		return;
	}
	t = tl->start + (time_t)llround((double)i * tl->bucket_s);
	gmtime_r(&t, &tm);
	strftime(out, n, tl->bucket_s < 60 ? "%H:%M:%S" :
	    (double)tl->n * tl->bucket_s <= 86400 ? "%H:%M" : "%m-%d %H:%M",
	    &tm);
}

/* Bucket start labels, at most 7, and what a bucket is. */
static void
svg_axis_time(FILE *fp, const struct plot *p, const struct timeline *tl)
{
	char label[NUMSZ], d[NUMSZ];
	double bw = (p->x1 - p->x0) / (double)tl->n, x;
	size_t i, every = (tl->n + 5) / 6;

	for (i = 0; i < tl->n; i += every) {
		x = p->x0 + (double)i * bw;
		timeline_label(tl, i, label, sizeof(label));
		fprintf(fp, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" "
		    "x2=\"%.1f\" y2=\"%.1f\"/><text class=\"tick\" x=\"%.1f\" "
		    "y=\"%.1f\" text-anchor=\"%s\">%s</text>\n", x, p->y1, x,
		    p->y1 + 4, x, p->y1 + 16, i == 0 ? "start" : "middle",
		    label);
	}
	fmt_dur(d, sizeof(d), tl->bucket_s);
	fprintf(fp, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" "
	    "text-anchor=\"end\">%s, one step per %s</text>\n", p->x1, p->h - 4,
	    tl->have_start ? "time (UTC)" : "time since the first attempt", d);
}

static void
plot_time_frame(struct plot *p)
{
	p->w = 560;
	p->h = 270;
	p->x0 = 56;
	p->x1 = p->w - 18;
	p->y0 = 30;
	p->y1 = p->h - 44;
	p->pct = 0;
}

/* One stacked bar: delivered at the bottom, then deferred, then bounced. */
static void
bar_stack(FILE *fp, const struct plot *p, const struct timeline *tl, size_t i)
{
	static const char *const names[] = { "delivered", "deferred",
	    "bounced" };
	static const char *const cls[] = { "del", "def", "bou" };
	char label[NUMSZ], num[3][NUMSZ];
	double bw = (p->x1 - p->x0) / (double)tl->n, base = 0, v, gap;
	size_t k;

	gap = bw > 6 ? bw * 0.15 : 0;
	for (k = 0; k < 3; k++)
		fmt_int(num[k], NUMSZ, series_at(json_object_get(tl->series,
		    names[k]), i));
	timeline_label(tl, i, label, sizeof(label));
	fprintf(fp, "<g><title>%s: delivered %s, deferred %s, bounced %s"
	    "</title>", label, num[0], num[1], num[2]);
	for (k = 0; k < 3; k++) {
		v = series_at(json_object_get(tl->series, names[k]), i);
		if (v <= 0)
			continue;
		fprintf(fp, "<rect class=\"f-%s\" x=\"%.2f\" y=\"%.2f\" "
		    "width=\"%.2f\" height=\"%.2f\"/>", cls[k],
		    p->x0 + (double)i * bw + gap / 2, plot_y(p, base + v),
		    bw - gap, plot_y(p, base) - plot_y(p, base + v));
		base += v;
	}
	fputs("</g>\n", fp);
}

static void
chart_deliveries(FILE *fp, json_t *r, const char *id)
{
	static const char *const names[] = { "delivered", "deferred",
	    "bounced" };
	static const struct legend leg[] = { { "del", "delivered" },
	    { "def", "deferred" }, { "bou", "bounced" } };
	char desc[320], t[3][NUMSZ];
	struct timeline tl;
	struct plot p;
	double sum[3] = { 0, 0, 0 }, max = 0, col;
	size_t i, k;

	figure_open(fp, "Deliveries over time");
	timeline_init(&tl, r, names, 3);
	for (i = 0; i < tl.n; i++) {
		for (col = 0, k = 0; k < 3; k++) {
			double v = series_at(json_object_get(tl.series,
			    names[k]), i);
			sum[k] += v;
			col += v;
		}
		max = col > max ? col : max;
	}
	if (max <= 0) {
		no_data(fp, "nothing was delivered, deferred or bounced");
		fputs("</figure>\n", fp);
		return;
	}
	for (k = 0; k < 3; k++)
		fmt_int(t[k], NUMSZ, sum[k]);
	snprintf(desc, sizeof(desc), "Stacked bars per time step: %s delivered,"
	    " %s deferred, %s bounced in all.", t[0], t[1], t[2]);
	plot_time_frame(&p);
	plot_scale(&p, max, 1);
	svg_open(fp, &p, id, "Deliveries over time", desc);
	svg_legend(fp, &p, leg, 3, 0);
	svg_axis_y(fp, &p);
	for (i = 0; i < tl.n; i++)
		bar_stack(fp, &p, &tl, i);
	svg_axis_time(fp, &p, &tl);
	fputs("</svg>\n</figure>\n", fp);
}

/* One series as a line with a dot per step (one step alone shows). */
static void
line_series(FILE *fp, const struct plot *p, const struct timeline *tl,
    const char *name, const char *cls)
{
	json_t *arr = json_object_get(tl->series, name);
	double bw = (p->x1 - p->x0) / (double)tl->n, x, y;
	size_t i;

	fprintf(fp, "<polyline class=\"l-%s\" points=\"", cls);
	for (i = 0; i < tl->n; i++)
		fprintf(fp, "%s%.2f,%.2f", i ? " " : "",
		    p->x0 + ((double)i + 0.5) * bw,
		    plot_y(p, series_at(arr, i)));
	fputs("\"/>\n", fp);
	for (i = 0; i < tl->n; i++) {
		x = p->x0 + ((double)i + 0.5) * bw;
		y = plot_y(p, series_at(arr, i));
		fprintf(fp, "<circle class=\"f-%s\" cx=\"%.2f\" cy=\"%.2f\" "
		    "r=\"2.5\"/>", cls, x, y);
	}
	fputs("\n", fp);
}

static void
chart_engagement(FILE *fp, json_t *r, const char *id)
{
	static const char *const names[] = { "opens", "clicks" };
	static const struct legend leg[] = { { "opn", "opens (human)" },
	    { "clk", "clicks (human)" } };
	char desc[320], t[2][NUMSZ];
	struct timeline tl;
	struct plot p;
	double sum[2] = { 0, 0 }, max = 0, v;
	size_t i, k;

	figure_open(fp, "Opens and clicks over time");
	timeline_init(&tl, r, names, 2);
	for (i = 0; i < tl.n; i++)
		for (k = 0; k < 2; k++) {
			v = series_at(json_object_get(tl.series, names[k]), i);
			sum[k] += v;
			max = v > max ? v : max;
		}
	if (max <= 0) {
		no_data(fp, "no opens or clicks recorded");
		fputs("</figure>\n", fp);
		return;
	}
	fmt_int(t[0], NUMSZ, sum[0]);
	fmt_int(t[1], NUMSZ, sum[1]);
	snprintf(desc, sizeof(desc), "Lines per time step: %s human opens and"
	    " %s human clicks in all.", t[0], t[1]);
	plot_time_frame(&p);
	plot_scale(&p, max, 1);
	svg_open(fp, &p, id, "Opens and clicks over time", desc);
	svg_legend(fp, &p, leg, 2, 1);
	svg_axis_y(fp, &p);
	line_series(fp, &p, &tl, "opens", "opn");
	line_series(fp, &p, &tl, "clicks", "clk");
	svg_axis_time(fp, &p, &tl);
	fputs("</svg>\n</figure>\n", fp);
}

/* ------------------------------------------------------ provider chart */

#define PROVIDER_ROW	24

static void
provider_bar(FILE *fp, const struct plot *p, json_t *pr, size_t row)
{
	static const char *const keys[] = { "delivered", "deferred",
	    "bounced" };
	static const char *const cls[] = { "del", "def", "bou" };
	char num[3][NUMSZ];
	double y = p->y0 + (double)row * PROVIDER_ROW, base = 0, v;
	size_t k;

	for (k = 0; k < 3; k++)
		fmtv(pr, keys[k], K_INT, num[k], NUMSZ);
	fputs("<g><title>", fp);
	esc(fp, jstr(pr, "provider"));
	fprintf(fp, ": delivered %s, deferred %s, bounced %s</title>",
	    num[0], num[1], num[2]);
	fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">",
	    p->x0 - 8, y + PROVIDER_ROW / 2 + 4);
	esc_cut(fp, jstr(pr, "provider"), LABEL_CHARS);
	fputs("</text>", fp);
	for (k = 0; k < 3; k++) {
		v = jnum0(pr, keys[k]);
		if (v <= 0)
			continue;
		fprintf(fp, "<rect class=\"f-%s\" x=\"%.2f\" y=\"%.1f\" "
		    "width=\"%.2f\" height=\"%d\"/>", cls[k], plot_x(p, base),
		    y + 4, plot_x(p, base + v) - plot_x(p, base),
		    PROVIDER_ROW - 8);
		base += v;
	}
	fputs("</g>\n", fp);
}

static void
chart_providers(FILE *fp, json_t *r, const char *id)
{
	static const struct legend leg[] = { { "del", "delivered" },
	    { "def", "deferred" }, { "bou", "bounced" } };
	json_t *prs = json_object_get(r, "providers"), *pr;
	char desc[128];
	struct plot p;
	double max = 0, v;
	size_t i, n = json_array_size(prs);

	figure_open(fp, "Outcomes per provider");
	json_array_foreach(prs, i, pr) {
		v = jnum0(pr, "delivered") + jnum0(pr, "deferred") +
		    jnum0(pr, "bounced");
		max = v > max ? v : max;
	}
	if (max <= 0) {
		no_data(fp, "no provider has an outcome");
		fputs("</figure>\n", fp);
		return;
	}
	memset(&p, 0, sizeof(p));
	p.w = 560;
	p.x0 = 140;
	p.x1 = p.w - 22;
	p.y0 = 28;
	p.y1 = p.y0 + (double)n * PROVIDER_ROW;
	p.h = p.y1 + 24;
	plot_scale(&p, max, 1);
	snprintf(desc, sizeof(desc), "Horizontal stacked bars of delivered, "
	    "deferred and bounced messages for %zu providers.", n);
	svg_open(fp, &p, id, "Outcomes per provider", desc);
	svg_legend(fp, &p, leg, 3, 0);
	svg_axis_x(fp, &p);
	json_array_foreach(prs, i, pr)
		provider_bar(fp, &p, pr, i);
	fputs("</svg>\n</figure>\n", fp);
}

/* ------------------------------------------------------ compare chart */

static void
compare_group(FILE *fp, const struct plot *p, json_t *r, size_t i, size_t n)
{
	static const char *const paths[] = { "rates.open", "rates.click",
	    "rates.bounce" };
	static const char *const cls[] = { "opn", "clk", "bou" };
	static const char *const what[] = { "open rate", "click rate",
	    "bounce rate" };
	char num[NUMSZ];
	double gw = (p->x1 - p->x0) / (double)n, bw = gw * 0.78 / 3, x, v;
	size_t k;

	x = p->x0 + (double)i * gw + gw * 0.11;
	for (k = 0; k < 3; k++, x += bw) {
		if (!jnum(r, paths[k], &v))
			continue;
		fmt_rate(num, sizeof(num), v);
		fprintf(fp, "<rect class=\"f-%s\" x=\"%.2f\" y=\"%.2f\" "
		    "width=\"%.2f\" height=\"%.2f\"><title>", cls[k], x,
		    plot_y(p, v * 100), bw - 1, p->y1 - plot_y(p, v * 100));
		esc(fp, jstr(r, "campaign"));
		fprintf(fp, ": %s %s</title></rect>", what[k], num);
	}
	fprintf(fp, "\n<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
	    p->x0 + ((double)i + 0.5) * gw, p->y1 + 16);
	esc_cut(fp, jstr(r, "campaign"), n > 6 ? 8 : LABEL_CHARS);
	fputs("</text>\n", fp);
}

static void
chart_compare(FILE *fp, json_t *reports)
{
	static const struct legend leg[] = { { "opn", "open rate" },
	    { "clk", "click rate" }, { "bou", "bounce rate" } };
	static const char *const paths[] = { "rates.open", "rates.click",
	    "rates.bounce" };
	struct plot p;
	json_t *r;
	double max = 0, v;
	size_t i, k, n = json_array_size(reports);

	figure_open_wide(fp, "Open, click and bounce rates per campaign");
	json_array_foreach(reports, i, r)
		for (k = 0; k < 3; k++)
			if (jnum(r, paths[k], &v) && v * 100 > max)
				max = v * 100;
	if (max <= 0) {
		no_data(fp, "no campaign has a rate yet");
		fputs("</figure>\n", fp);
		return;
	}
	memset(&p, 0, sizeof(p));
	p.w = 720;
	p.h = 280;
	p.x0 = 56;
	p.x1 = p.w - 16;
	p.y0 = 30;
	p.y1 = p.h - 32;
	p.pct = 1;
	plot_scale(&p, max, 0);
	svg_open(fp, &p, "cmp-rates", "Open, click and bounce rates per "
	    "campaign", "Grouped bars, one group per campaign; the table above"
	    " has the same figures.");
	svg_legend(fp, &p, leg, 3, 0);
	svg_axis_y(fp, &p);
	json_array_foreach(reports, i, r)
		compare_group(fp, &p, r, i, n);
	fputs("</svg>\n</figure>\n", fp);
}

/* -------------------------------------------------------------- tables */

struct col {
	const char *head;
	const char *key;
	enum kind kind;
};

static void
table_head(FILE *fp, const struct col *cols, size_t n)
{
	size_t i;

	fputs("<div class=\"scroll\"><table>\n<thead><tr>", fp);
	for (i = 0; i < n; i++)
		fprintf(fp, "<th scope=\"col\"%s>%s</th>",
		    numeric(cols[i].kind) ? " class=\"num\"" : "",
		    cols[i].head);
	fputs("</tr></thead>\n<tbody>\n", fp);
}

/* One row per element of arr; a sentence instead when it is empty. */
static void
table_of(FILE *fp, json_t *arr, const struct col *cols, size_t n,
    const char *empty)
{
	json_t *row;
	size_t i, c;

	if (json_array_size(arr) == 0) {
		fprintf(fp, "<p class=\"nodata\">%s</p>\n", empty);
		return;
	}
	table_head(fp, cols, n);
	json_array_foreach(arr, i, row) {
		fputs("<tr>", fp);
		for (c = 0; c < n; c++) {
			fprintf(fp, "<td class=\"%s\">", numeric(cols[c].kind) ?
			    "num" : "text");
			put_value(fp, row, cols[c].key, cols[c].kind);
			fputs("</td>", fp);
		}
		fputs("</tr>\n", fp);
	}
	fputs("</tbody></table></div>\n", fp);
}

/* A two-column table: a label and one figure per row. */
static void
table_kv(FILE *fp, json_t *r, const struct col *rows, size_t n)
{
	size_t i;

	fputs("<table>\n<tbody>\n", fp);
	for (i = 0; i < n; i++) {
		fprintf(fp, "<tr><th scope=\"row\">%s</th><td class=\"%s\">",
		    rows[i].head, numeric(rows[i].kind) ? "num" : "text");
		put_value(fp, r, rows[i].key, rows[i].kind);
		fputs("</td></tr>\n", fp);
	}
	fputs("</tbody></table>\n", fp);
}

/* ------------------------------------------------------- one campaign */

static void
meta_item(FILE *fp, const char *label, json_t *r, const char *key,
    enum kind k)
{
	fprintf(fp, "<div><dt>%s</dt><dd>", label);
	put_value(fp, r, key, k);
	fputs("</dd></div>\n", fp);
}

static void
section_head(FILE *fp, json_t *r, size_t idx, int h)
{
	char num[NUMSZ];

	fprintf(fp, "<header>\n<p class=\"kicker\">Campaign report</p>\n"
	    "<h%d id=\"c%zu-h\">", h, idx);
	esc(fp, jstr(r, "campaign"));
	fprintf(fp, "</h%d>\n<p class=\"status\">Status: <strong>", h);
	esc(fp, jstr(r, "status"));
	fputs("</strong></p>\n<dl class=\"meta\">\n", fp);
	meta_item(fp, "List", r, "list", K_TEXT);
	fputs("<div><dt>Segment</dt><dd>", fp);
	if (jstr(r, "segment") != NULL) {
		fputs("<code>", fp);
		esc(fp, jstr(r, "segment"));
		fputs("</code>", fp);
	} else
		fputs("the whole list", fp);
	fputs("</dd></div>\n<div><dt>Template</dt><dd>", fp);
	esc(fp, jstr(r, "template"));
	fprintf(fp, " (version %s)</dd></div>\n",
	    fmtv(r, "template_version", K_INT, num, sizeof(num)));
	meta_item(fp, "From", r, "from", K_TEXT);
	meta_item(fp, "Started", r, "times.started", K_TIME);
	meta_item(fp, "Finished", r, "times.finished", K_TIME);
	meta_item(fp, "Duration", r, "times.duration_s", K_DUR);
	fputs("</dl>\n", fp);
	if (jstr(r, "paused_reason") != NULL) {
		fputs("<p class=\"notice\"><strong>Paused:</strong> ", fp);
		esc(fp, jstr(r, "paused_reason"));
		fputs("</p>\n", fp);
	}
	fputs("</header>\n", fp);
}

static void
tile(FILE *fp, const char *cls, const char *label, const char *value,
    const char *sub)
{
	fprintf(fp, "<div class=\"tile%s%s\"><p class=\"label\">%s</p>"
	    "<p class=\"value\">%s</p>", *cls ? " " : "", cls, label, value);
	if (sub != NULL && *sub != '\0')
		fprintf(fp, "<p class=\"sub\">%s</p>", sub);
	fputs("</div>\n", fp);
}

/* Sent, delivered, bounced, opened: the delivery half of the tiles. */
static void
tiles_delivery(FILE *fp, json_t *r)
{
	char v[NUMSZ], a[NUMSZ], b[NUMSZ], c[NUMSZ], sub[256];

	snprintf(sub, sizeof(sub), "of %s recipients",
	    fmtv(r, "counts.recipients", K_INT, a, sizeof(a)));
	tile(fp, "", "Sent", fmtv(r, "counts.sent", K_INT, v, sizeof(v)), sub);
	snprintf(sub, sizeof(sub), "delivery rate %s",
	    fmtv(r, "rates.delivery", K_RATE, a, sizeof(a)));
	tile(fp, "", "Delivered", fmtv(r, "counts.delivered", K_INT, v,
	    sizeof(v)), sub);
	snprintf(sub, sizeof(sub), "hard %s \xc2\xb7 soft %s \xc2\xb7 "
	    "policy %s", fmtv(r, "counts.bounced.hard", K_INT, a, sizeof(a)),
	    fmtv(r, "counts.bounced.soft", K_INT, b, sizeof(b)),
	    fmtv(r, "counts.bounced.policy", K_INT, c, sizeof(c)));
	tile(fp, "", "Bounced", fmtv(r, "counts.bounced.total", K_INT, v,
	    sizeof(v)), sub);
	snprintf(sub, sizeof(sub), "open rate %s",
	    fmtv(r, "rates.open", K_RATE, a, sizeof(a)));
	tile(fp, "", "Opened (unique, human)", fmtv(r,
	    "counts.opens.unique_human", K_INT, v, sizeof(v)), sub);
	snprintf(sub, sizeof(sub), "click rate %s \xc2\xb7 click-to-open %s",
	    fmtv(r, "rates.click", K_RATE, a, sizeof(a)),
	    fmtv(r, "rates.click_to_open", K_RATE, b, sizeof(b)));
	tile(fp, "", "Clicked (unique, human)", fmtv(r,
	    "counts.clicks.unique_human", K_INT, v, sizeof(v)), sub);
}

/* Unsubscribes, complaints, replies, duplicates: the feedback half. */
static void
tiles_feedback(FILE *fp, json_t *r)
{
	char v[NUMSZ], a[NUMSZ], sub[256];
	const char *cls = complaint_class(r);

	snprintf(sub, sizeof(sub), "unsubscribe rate %s",
	    fmtv(r, "rates.unsubscribe", K_RATE, a, sizeof(a)));
	tile(fp, "", "Unsubscribed", fmtv(r, "counts.unsubscribes", K_INT, v,
	    sizeof(v)), sub);
	snprintf(sub, sizeof(sub), "complaint rate %s%s",
	    fmtv(r, "rates.complaint", K_RATE, a, sizeof(a)),
	    strcmp(cls, "bad") == 0 ? " \xe2\x80\x93 above 0.3 %" :
	    strcmp(cls, "warn") == 0 ? " \xe2\x80\x93 above 0.1 %" : "");
	tile(fp, cls, "Complaints", fmtv(r, "counts.complaints", K_INT, v,
	    sizeof(v)), sub);
	snprintf(sub, sizeof(sub), "reply rate %s \xc2\xb7 auto-replies %s",
	    fmtv(r, "rates.reply", K_RATE, a, sizeof(a)),
	    fmtv(r, "counts.auto_replies", K_INT, v, sizeof(v)));
	tile(fp, "", "Replies", fmtv(r, "counts.replies", K_INT, v,
	    sizeof(v)), sub);
	if (jnum0(r, "counts.possibly_duplicated") > 0)
		tile(fp, "warn", "Possibly duplicated", fmtv(r,
		    "counts.possibly_duplicated", K_INT, v, sizeof(v)),
		    "a crashed run may have sent these twice");
}

/* Opens and clicks, human and machine, unique and total. */
static void
table_engagement(FILE *fp, json_t *r)
{
	static const char *const what[] = { "opens", "clicks" };
	static const char *const label[] = { "Opens", "Clicks" };
	static const char *const suffix[] = { "unique_human", "total_human",
	    "unique_machine", "total_machine", "unique", "total" };
	char path[64], num[NUMSZ];
	size_t i, k;

	fputs("<div class=\"scroll\"><table>\n<thead><tr><th scope=\"col\">"
	    "</th><th scope=\"col\" class=\"num\">unique, human</th>"
	    "<th scope=\"col\" class=\"num\">total, human</th>"
	    "<th scope=\"col\" class=\"num\">unique, machine</th>"
	    "<th scope=\"col\" class=\"num\">total, machine</th>"
	    "<th scope=\"col\" class=\"num\">unique, all</th>"
	    "<th scope=\"col\" class=\"num\">total, all</th></tr></thead>\n"
	    "<tbody>\n", fp);
	for (i = 0; i < 2; i++) {
		fprintf(fp, "<tr><th scope=\"row\">%s</th>", label[i]);
		for (k = 0; k < NELEM(suffix); k++) {
			snprintf(path, sizeof(path), "counts.%s.%s", what[i],
			    suffix[k]);
			fprintf(fp, "<td class=\"num\">%s</td>",
			    fmtv(r, path, K_INT, num, sizeof(num)));
		}
		fputs("</tr>\n", fp);
	}
	fputs("</tbody></table></div>\n<p class=\"nodata\">Machine opens and "
	    "clicks (image proxies, link scanners) are left out of the rates."
	    "</p>\n", fp);
}

static const struct col delivery_rows[] = {
	{ "Recipients", "counts.recipients", K_INT },
	{ "Sent", "counts.sent", K_INT },
	{ "Delivered", "counts.delivered", K_INT },
	{ "Bounced", "counts.bounced.total", K_INT },
	{ "Bounced, unknown class", "counts.bounced.unknown", K_INT },
	{ "Deferred now", "counts.deferred_now", K_INT },
	{ "Pending now", "counts.pending_now", K_INT },
	{ "Failed", "counts.failed", K_INT },
	{ "Suppressed", "counts.suppressed", K_INT },
	{ "Possibly duplicated", "counts.possibly_duplicated", K_INT },
};

static const struct col timing_rows[] = {
	{ "Created", "times.created", K_TIME },
	{ "First attempt", "times.first_attempt", K_TIME },
	{ "Last done", "times.last_done", K_TIME },
	{ "Duration", "times.duration_s", K_DUR },
	{ "Median time to delivery", "times.time_to_delivery_s.median", K_DUR },
	{ "95th percentile", "times.time_to_delivery_s.p95", K_DUR },
	{ "Throughput", "times.throughput_per_s", K_TPUT },
};

static void
section_charts(FILE *fp, json_t *r, size_t idx, int h)
{
	char id[48];

	fprintf(fp, "<h%d>Charts</h%d>\n<div class=\"cols charts\">\n", h, h);
	snprintf(id, sizeof(id), "c%zu-deliveries", idx);
	chart_deliveries(fp, r, id);
	snprintf(id, sizeof(id), "c%zu-engagement", idx);
	chart_engagement(fp, r, id);
	snprintf(id, sizeof(id), "c%zu-providers", idx);
	chart_providers(fp, r, id);
	fputs("</div>\n", fp);
}

static const struct col link_cols[] = {
	{ "#", "index", K_INT },
	{ "URL", "url", K_CODE },
	{ "unique clicks", "clicks_unique", K_INT },
	{ "total clicks", "clicks_total", K_INT },
	{ "unique, human", "clicks_unique_human", K_INT },
};

static const struct col domain_cols[] = {
	{ "domain", "domain", K_TEXT },
	{ "provider", "provider", K_TEXT },
	{ "recipients", "recipients", K_INT },
	{ "delivered", "delivered", K_INT },
	{ "deferred", "deferred", K_INT },
	{ "bounced", "bounced", K_INT },
	{ "throttled", "throttled", K_INT },
	{ "top replies", "top_replies", K_REPLIES },
};

static const struct col provider_cols[] = {
	{ "provider", "provider", K_TEXT },
	{ "domains", "domains", K_INT },
	{ "recipients", "recipients", K_INT },
	{ "delivered", "delivered", K_INT },
	{ "deferred", "deferred", K_INT },
	{ "bounced", "bounced", K_INT },
	{ "throttled", "throttled", K_INT },
};

static const struct col reason_cols[] = {
	{ "class", "class", K_TEXT },
	{ "DSN", "dsn", K_TEXT },
	{ "reply", "reply", K_TEXT },
	{ "count", "count", K_INT },
};

static const struct col variant_cols[] = {
	{ "variant", "variant", K_TEXT },
	{ "subject", "subject", K_TEXT },
	{ "template", "template", K_TEXT },
	{ "sent", "sent", K_INT },
	{ "delivered", "delivered", K_INT },
	{ "opens, human", "opens_unique_human", K_INT },
	{ "open rate", "open_rate", K_RATE },
	{ "clicks, human", "clicks_unique_human", K_INT },
	{ "click rate", "click_rate", K_RATE },
};

/* An A/B test: its variants' test shares and the winner. */
static void
section_variants(FILE *fp, json_t *r, int h)
{
	json_t *ab = json_object_get(r, "ab_test");

	if (!json_is_object(ab))
		return;
	fprintf(fp, "<h%d>A/B test</h%d>\n<p>", h, h);
	if (jstr(ab, "winner") != NULL) {
		fputs("Winner: <strong>", fp);
		esc(fp, jstr(ab, "winner"));
		fputs("</strong>, by ", fp);
	} else
		fputs("No winner yet; it is picked by ", fp);
	esc(fp, jstr(ab, "metric"));
	fputs(" per delivered message of each variant's test share.</p>\n",
	    fp);
	table_of(fp, json_object_get(r, "variants"), variant_cols,
	    NELEM(variant_cols), "No variants.");
}

static void
section_tables(FILE *fp, json_t *r, int h)
{
	section_variants(fp, r, h);
	fprintf(fp, "<h%d>Links</h%d>\n", h, h);
	table_of(fp, json_object_get(r, "links"), link_cols, NELEM(link_cols),
	    "No tracked links.");
	fprintf(fp, "<h%d>Domains</h%d>\n", h, h);
	table_of(fp, json_object_get(r, "domains"), domain_cols,
	    NELEM(domain_cols), "No domains yet.");
	fprintf(fp, "<h%d>Providers</h%d>\n", h, h);
	table_of(fp, json_object_get(r, "providers"), provider_cols,
	    NELEM(provider_cols), "No providers yet.");
	fprintf(fp, "<h%d>Top bounce reasons</h%d>\n", h, h);
	table_of(fp, json_object_get(r, "bounce_reasons"), reason_cols,
	    NELEM(reason_cols), "No bounces.");
}

/* One campaign's full report; h is the level of its name's heading. */
static void
section_campaign(FILE *fp, json_t *r, size_t idx, int h)
{
	fprintf(fp, "<section class=\"campaign\" id=\"c%zu\" "
	    "aria-labelledby=\"c%zu-h\">\n", idx, idx);
	section_head(fp, r, idx, h);
	fprintf(fp, "<h%d>At a glance</h%d>\n<div class=\"tiles\">\n", h + 1,
	    h + 1);
	tiles_delivery(fp, r);
	tiles_feedback(fp, r);
	fputs("</div>\n", fp);
	section_charts(fp, r, idx, h + 1);
	fprintf(fp, "<h%d>Opens and clicks, human and machine</h%d>\n", h + 1,
	    h + 1);
	table_engagement(fp, r);
	fprintf(fp, "<div class=\"cols\">\n<div>\n<h%d>Deliveries</h%d>\n",
	    h + 1, h + 1);
	table_kv(fp, r, delivery_rows, NELEM(delivery_rows));
	fprintf(fp, "</div>\n<div>\n<h%d>Timings</h%d>\n", h + 1, h + 1);
	table_kv(fp, r, timing_rows, NELEM(timing_rows));
	fputs("</div>\n</div>\n", fp);
	section_tables(fp, r, h + 1);
	fputs("</section>\n", fp);
}

/* ------------------------------------------------------------- compare */

static const struct col compare_rows[] = {
	{ "Status", "status", K_TEXT },
	{ "List", "list", K_TEXT },
	{ "Started", "times.started", K_TIME },
	{ "Recipients", "counts.recipients", K_INT },
	{ "Sent", "counts.sent", K_INT },
	{ "Delivered", "counts.delivered", K_INT },
	{ "Delivery rate", "rates.delivery", K_RATE },
	{ "Bounced, hard", "counts.bounced.hard", K_INT },
	{ "Bounced, soft", "counts.bounced.soft", K_INT },
	{ "Bounced, policy", "counts.bounced.policy", K_INT },
	{ "Bounce rate", "rates.bounce", K_RATE },
	{ "Open rate", "rates.open", K_RATE },
	{ "Click rate", "rates.click", K_RATE },
	{ "Click-to-open", "rates.click_to_open", K_RATE },
	{ "Unsubscribe rate", "rates.unsubscribe", K_RATE },
	{ "Complaint rate", "rates.complaint", K_RATE },
	{ "Replies", "counts.replies", K_INT },
	{ "Duration", "times.duration_s", K_DUR },
	{ "Median time to delivery", "times.time_to_delivery_s.median", K_DUR },
};

/* One metric across the campaigns; the complaint rate highlighted. */
static void
compare_row(FILE *fp, json_t *reports, const struct col *m)
{
	const char *cls;
	json_t *r;
	size_t i;

	fprintf(fp, "<tr><th scope=\"row\">%s</th>", m->head);
	json_array_foreach(reports, i, r) {
		cls = strcmp(m->key, "rates.complaint") == 0 ?
		    complaint_class(r) : "";
		fprintf(fp, "<td class=\"num%s%s\">", *cls ? " " : "", cls);
		put_value(fp, r, m->key, m->kind);
		fputs("</td>", fp);
	}
	fputs("</tr>\n", fp);
}

static void
compare_table(FILE *fp, json_t *reports)
{
	json_t *r;
	size_t i;

	fputs("<div class=\"scroll\"><table class=\"compare\">\n<thead><tr>"
	    "<th scope=\"col\">metric</th>", fp);
	json_array_foreach(reports, i, r) {
		fprintf(fp, "<th scope=\"col\" class=\"num\">"
		    "<a href=\"#c%zu\">", i + 1);
		esc(fp, jstr(r, "campaign"));
		fputs("</a></th>", fp);
	}
	fputs("</tr></thead>\n<tbody>\n", fp);
	for (i = 0; i < NELEM(compare_rows); i++)
		compare_row(fp, reports, &compare_rows[i]);
	fputs("</tbody></table></div>\n", fp);
}

static void
compare_intro(FILE *fp, json_t *reports)
{
	fprintf(fp, "<header>\n<p class=\"kicker\">Campaign reports</p>\n"
	    "<h1>%zu campaigns side by side</h1>\n</header>\n<h2>Key figures"
	    "</h2>\n", json_array_size(reports));
	compare_table(fp, reports);
	fputs("<h2>Rates</h2>\n", fp);
	chart_compare(fp, reports);
}

/* ---------------------------------------------------------- document */

static void
doc_head(FILE *fp, json_t *reports)
{
	json_t *r;
	size_t i;

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n"
	    "<meta http-equiv=\"Content-Security-Policy\" content=\""
	    "default-src &#39;none&#39;; style-src &#39;unsafe-inline&#39;\">\n"
	    "<meta name=\"generator\" content=\"Postbote\">\n<title>", fp);
	if (json_array_size(reports) == 1)
		esc(fp, jstr(json_array_get(reports, 0), "campaign"));
	else
		json_array_foreach(reports, i, r) {
			fputs(i ? ", " : "Compare ", fp);
			esc(fp, jstr(r, "campaign"));
		}
	fprintf(fp, " \xe2\x80\x93 campaign report%s</title>\n<style>\n",
	    json_array_size(reports) > 1 ? "s" : "");
	fputs(css, fp);
	fputs("</style>\n</head>\n<body>\n<main>\n", fp);
}

static void
doc_foot(FILE *fp, json_t *reports)
{
	fputs("</main>\n<footer><p>Generated by Postbote ", fp);
	put_time(fp, jstr(json_array_get(reports, 0), "generated_at"));
	fputs(". Rates count human opens and clicks against delivered "
	    "messages; a dash is a figure not known yet (a rate with "
	    "nothing to divide by, a time not reached).</p>"
	    "</footer>\n</body>\n</html>\n", fp);
}

int
report_html(json_t *reports, FILE *fp, struct err *e)
{
	json_t *r;
	size_t i, n = json_array_size(reports);

	if (n == 0)
		return err_set(e, EX_SOFTWARE, "report_html: no report given");
	json_array_foreach(reports, i, r)
		if (!json_is_object(r))
			return err_set(e, EX_SOFTWARE, "report_html: "
			    "report %zu is not an object", i + 1);
	doc_head(fp, reports);
	if (n > 1)
		compare_intro(fp, reports);
	json_array_foreach(reports, i, r)
		section_campaign(fp, r, i + 1, n > 1 ? 2 : 1);
	doc_foot(fp, reports);
	if (fflush(fp) != 0 || ferror(fp))
		return err_set(e, EX_IOERR, "writing the HTML report failed");
	return 0;
}
