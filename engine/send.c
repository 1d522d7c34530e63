/*
 * send.c - one campaign's send run; see send.h.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "bounce.h"
#include "campaign.h"
#include "clock.h"
#include "dkim.h"
#include "render.h"
#include "secret.h"
#include "send.h"
#include "smtp.h"
#include "window.h"
#include "xalloc.h"

#define SEND_BATCH	1024	/* outcomes per commit, normally */
/* Room for the batch and every job in flight: after a failed commit the
 * outcomes still coming are kept for the next try, never dropped. */
#define SEND_OUT_MAX	(SEND_BATCH + LIMIT_SEND_INFLIGHT)
#define SEND_LEASE_MS	(30 * 1000)	/* the send lease, renewed ... */
#define SEND_RENEW_MS	(2 * 1000)	/* ... this often, with the state */
#define SEND_STATUS_MS	1000	/* pause and cancel are seen this soon */
#define SEND_PROGRESS_MS (10 * 1000)	/* a progress line without a tty */
/* A busy (locked) or full store pauses the run this long at most. */
#define SEND_TROUBLE_MS	(5 * 60 * 1000)

struct send_worker {
	struct render_ctx x;
	struct dkim_ctx *dk;		/* NULL: --no-dkim */
};

struct send_out {
	char domain[LIMIT_ADDR_DOMAIN + 1];
	int64_t recipient_id;
	const char *status;
	char reply[LIMIT_SMTP_TEXT + 128];
	char dsn[SMTP_DSN_MAX];
	char relay[LIMIT_ADDR_DOMAIN + 64];
	int64_t next_attempt_at;
};

struct send_run {
	struct store *st;
	const struct send_opts *o;
	int64_t campaign_id;
	const char *campaign;
	struct render *render[AB_MAX];	/* one, or one per A/B variant */
	int nrender;
	struct dkim_signer *signer;	/* NULL: --no-dkim */
	const struct config *cfg;
	struct send_worker *w;
	int nworkers;
	struct send_out *out;
	int nout;
	char owner[LIMIT_ADDR_DOMAIN + 64];	/* the lease's holder name */
	int leased;
	volatile sig_atomic_t stop;	/* the signal's, or pause/cancel */
	char stopped_by[16];		/* "paused", "cancelled"; "" */
	char stopped_why[256];		/* the feedback guard's reason */
	int64_t renewed, checked;	/* monotonic ms */
	int64_t started, shown;		/* monotonic ms */
	int64_t trouble_since, trouble_said, trouble_try; /* store failing */
	int64_t due;			/* deliveries due at the start */
	int64_t *prov_left;		/* warm-up room per provider */
	int64_t *prov_sent;		/* ... and what went since a flush */
	const struct sched_stats *stats;
	struct send_zones *zones;	/* the send window's; NULL: none */
};

/* ---------------------------------------------------------- secrets */

/* A hop's AUTH password, from its file (secret.h) or the environment. */
static int
send_password(const struct config_hop *h, const char *where, char **out,
    struct err *e)
{
	char pass[LIMIT_SMTP_CRED + 2];
	const char *v;

	*out = NULL;
	if (h->username == NULL)
		return 0;
	if (h->password_file != NULL) {
		if (secret_read(h->password_file, "password", pass,
		    sizeof(pass), NULL, e) < 0)
			return -1;
	} else {
		if ((v = getenv(h->password_env)) == NULL || *v == '\0')
			return err_set(e, EX_CONFIG, "%s: the environment "
			    "variable %s holding the password is not set",
			    where, h->password_env);
		snprintf(pass, sizeof(pass), "%s", v);
	}
	*out = xstrdup(pass);
	explicit_bzero(pass, sizeof(pass));
	return 0;
}

static void
send_passwords_free(char **pass, size_t n)
{
	size_t i;

	for (i = 0; pass != NULL && i < n; i++)
		if (pass[i] != NULL) {
			explicit_bzero(pass[i], strlen(pass[i]));
			free(pass[i]);
		}
	free(pass);
}

/* [0..nroutes) the routes', [nroutes] the relay's. */
static int
send_passwords(const struct config *cfg, char ***out, struct err *e)
{
	char **pass = xcalloc(cfg->nroutes + 1, sizeof(*pass));
	char where[LIMIT_ADDR_DOMAIN + 32];
	size_t i;

	*out = pass;
	for (i = 0; i < cfg->nroutes; i++) {
		snprintf(where, sizeof(where), "delivery.routes.%.200s",
		    cfg->routes[i].pattern);
		if (send_password(&cfg->routes[i].hop, where, &pass[i], e) < 0)
			return -1;
	}
	return send_password(&cfg->relay, "delivery.relay",
	    &pass[cfg->nroutes], e);
}

/* ------------------------------------------------------ the three ops */

static int
send_claimed(const struct store_claimed *c, void *ctx)
{
	struct sched_job ***slot = ctx;
	struct sched_job *j = *(*slot)++;

	snprintf(j->domain, sizeof(j->domain), "%s", c->domain);
	snprintf(j->rcpt, sizeof(j->rcpt), "%s", c->address);
	j->recipient_id = c->recipient_id;
	j->date_ms = c->first_attempt_at;
	j->attempts = c->attempts;
	j->suppressed = c->suppressed;
	j->variant = c->variant;
	buf_reset(&j->attrs);
	if (buf_add(&j->attrs, c->attrs, c->attrs_len) < 0)
		buf_reset(&j->attrs);	/* over LIMIT_ATTRS: render fails */
	return 0;
}

/*
 * A locked (SQLITE_BUSY past the busy timeout) or full store is waited
 * out: outcomes stay in the batch, loading pauses, one clear line a few
 * seconds; nothing is marked failed. Past SEND_TROUBLE_MS the run ends
 * with the error, its claimed rows left 'sending' for the next run.
 */
static int
send_trouble(struct send_run *r, struct err *e)
{
	int64_t now = clock_mono_ms();

	if (e->code != EX_TEMPFAIL && e->code != EX_IOERR)
		return -1;
	if (r->trouble_since == 0)
		r->trouble_since = now;
	if (now - r->trouble_since > SEND_TROUBLE_MS)
		return -1;
	if (now - r->trouble_said >= SEND_PROGRESS_MS) {
		r->trouble_said = now;
		fprintf(stderr, "postbote send: %s; holding %d outcomes, "
		    "loading paused, retrying\n", e->msg, r->nout);
	}
	return SCHED_LATER;
}

static int
send_next_domain(void *ctx, const char *after, char *out, size_t n,
    struct err *e)
{
	struct send_run *r = ctx;
	int found;

	if (r->trouble_since != 0)
		return SCHED_LATER;
	if (store_send_next_domain(r->st, r->campaign_id, after, out, n,
	    &found, e) < 0)
		return send_trouble(r, e);
	return found;
}

static int
send_load(void *ctx, const char *domain, int64_t *after,
    struct sched_job **jobs, int n, struct err *e)
{
	struct send_run *r = ctx;
	struct sched_job **slot = jobs;
	int got;

	if (r->trouble_since != 0)
		return SCHED_LATER;
	if (store_send_claim(r->st, r->campaign_id, domain, after, n,
	    send_claimed, &slot, &got, e) < 0)
		return send_trouble(r, e);
	return got;
}

/*
 * Whether the message needs BODY=8BITMIME. mime.h makes every body part
 * quoted-printable or base64, so only the header block (an address with
 * a UTF-8 local part) can hold an 8-bit octet: that is all there is to
 * read, eight octets at a time, not the whole message for every send.
 */
static int
send_has_8bit(const char *p, size_t n)
{
	const char *blank = memmem(p, n, "\r\n\r\n", 4);
	uint64_t acc = 0, w;
	size_t i = 0;

	if (blank != NULL)
		n = (size_t)(blank - p);
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		acc |= w;
	}
	for (; i < n; i++)
		acc |= (unsigned char)p[i];
	return (acc & 0x8080808080808080ULL) != 0;
}

static void
send_render(void *ctx, int worker, struct sched_job *j)
{
	struct send_run *r = ctx;
	struct render_ctx *x = &r->w[worker].x;
	const struct render *ren;
	struct render_rcpt rc;
	json_error_t je;
	struct err e = { 0 };

	buf_reset(&j->msg);
	rc.id = j->recipient_id;
	rc.address = j->rcpt;
	rc.date_ms = j->date_ms;
	rc.attrs = json_loadb(j->attrs.data, j->attrs.len, 0, &je);
	if (rc.attrs == NULL) {
		err_set(&e, EX_DATAERR, "attributes: %s", je.text);
		goto fail;
	}
	ren = r->render[j->variant >= 0 && j->variant < r->nrender ?
	    j->variant : 0];
	if (render_message(ren, &rc, x, &e) < 0)
		goto fail;
	render_envelope(ren, &rc, x, j->from, sizeof(j->from));
	if (r->w[worker].dk != NULL && dkim_ctx_sign(r->w[worker].dk,
	    x->msg.data, x->msg.len, &j->msg, &e) < 0)
		goto fail;
	if (buf_add(&j->msg, x->msg.data, x->msg.len) < 0) {
		err_set(&e, EX_DATAERR, "the message is over %d bytes",
		    LIMIT_MESSAGE);
		goto fail;
	}
	j->eightbit = send_has_8bit(x->msg.data, x->msg.len);
	json_decref(rc.attrs);
	return;
fail:
	json_decref(rc.attrs);
	j->render_rc = e.code ? e.code : EX_SOFTWARE;
	snprintf(j->render_err, sizeof(j->render_err), "%s", e.msg);
}

/*
 * A log field cannot end early or forge another: bytes outside printable
 * ASCII, and those that delimit fields, become \xHH. An address from a
 * list (a quoted local part may hold spaces, '>' and any UTF-8) or a host
 * name from DNS is data, not log syntax. space: the field may keep its
 * spaces (the reply text, last and in parentheses).
 */
static const char *
send_esc(const char *in, char *out, size_t n, int space)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)in;
	size_t k = 0;

	for (; *p != '\0' && k + 5 < n; p++) {
		if ((*p > 0x20 && *p < 0x7f && strchr("<>\"\\=()", *p) ==
		    NULL) || (space && *p == ' ') ||
		    (space && (*p == '(' || *p == ')' || *p == '='))) {
			out[k++] = (char)*p;
			continue;
		}
		out[k++] = '\\';
		out[k++] = 'x';
		out[k++] = hex[*p >> 4];
		out[k++] = hex[*p & 15];
	}
	out[k] = '\0';
	return out;
}

static void
send_log(const struct send_run *r, const struct sched_job *j,
    const struct sched_outcome *o)
{
	char when[32], camp[4 * LIMIT_NAME + 8], to[4 * LIMIT_ADDR + 8];
	char relay[4 * (LIMIT_ADDR_DOMAIN + 64)], text[4 * LIMIT_ERR_MSG];
	struct timespec ts;
	struct tm tm;

	if (r->o->log == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(r->o->log, "%s.%03ldZ campaign=%s to=<%s> relay=%s "
	    "delay=%.2f tls=%s dsn=%s status=%s (", when,
	    ts.tv_nsec / 1000000, send_esc(r->campaign, camp, sizeof(camp), 0),
	    send_esc(j->rcpt, to, sizeof(to), 0),
	    send_esc(o->relay, relay, sizeof(relay), 0),
	    (double)o->delay_ms / 1000.0, o->tls,
	    o->dsn[0] ? o->dsn : "-", sched_status_name(o->status));
	if (o->code > 0)
		fprintf(r->o->log, "%d ", o->code);
	fprintf(r->o->log, "%s)\n", send_esc(o->text, text, sizeof(text), 1));
}

#define SEND_DAY_MS	86400000LL

/* Today's volume per provider, for the warm-up caps. */
static int
send_volume(struct send_run *r, struct err *e)
{
	size_t i;

	for (i = 0; r->prov_sent != NULL && i < r->cfg->nproviders; i++) {
		if (r->prov_sent[i] == 0)
			continue;
		if (store_volume_add(r->st, r->cfg->providers[i].name,
		    store_now_ms() / SEND_DAY_MS, r->prov_sent[i], e) < 0)
			return -1;
		r->prov_sent[i] = 0;
	}
	return 0;
}

/* What each provider with a warm-up may still take today. */
static int
send_warmup(struct send_run *r, struct err *e)
{
	const struct config *cfg = r->cfg;
	int64_t now = store_now_ms(), cap, sent;
	size_t i;

	r->prov_left = xcalloc(cfg->nproviders + 1, sizeof(*r->prov_left));
	r->prov_sent = xcalloc(cfg->nproviders + 1, sizeof(*r->prov_sent));
	for (i = 0; i < cfg->nproviders; i++) {
		cap = config_warmup_cap(&cfg->providers[i].warmup, now);
		r->prov_left[i] = cap;
		if (cap < 0)
			continue;
		if (store_volume_get(r->st, cfg->providers[i].name,
		    now / SEND_DAY_MS, &sent, e) < 0)
			return -1;
		r->prov_left[i] = cap > sent ? cap - sent : 0;
	}
	return 0;
}

static int
send_flush(void *ctx, struct err *e)
{
	struct send_run *r = ctx;
	static struct store_outcome o[SEND_OUT_MAX];	/* loop thread only */
	int i;

	for (i = 0; i < r->nout; i++) {
		o[i].domain = r->out[i].domain;
		o[i].recipient_id = r->out[i].recipient_id;
		o[i].status = r->out[i].status;
		o[i].reply = r->out[i].reply;
		o[i].dsn = r->out[i].dsn;
		o[i].relay = r->out[i].relay;
		o[i].next_attempt_at = r->out[i].next_attempt_at;
		o[i].bounce_class = strcmp(o[i].status, "bounced") != 0 ?
		    NULL : bounce_class_name(bounce_classify(o[i].dsn[0] ?
		    o[i].dsn : NULL, o[i].reply));
	}
	if (r->o->log != NULL)
		fflush(r->o->log);
	if (store_send_record(r->st, r->campaign_id, &r->cfg->feedback, o,
	    r->nout, e) < 0)
		return -1;
	r->nout = 0;
	return send_volume(r, e);
}

/*
 * A deferral is due again after the retry schedule's step for its attempt
 * (the last step repeats); once the first attempt is retry.max_age old it
 * bounces instead, with the last reply (RFC 5321 4.5.4.1: give up after
 * days, not at once).
 */
static int64_t
send_retry(const struct send_run *r, const struct sched_job *j,
    struct sched_outcome *o, char *text, size_t n)
{
	const struct config *cfg = r->cfg;
	int64_t now = store_now_ms(), age = now - j->date_ms;
	int step = j->attempts < cfg->nretry ? j->attempts : cfg->nretry - 1;

	if (o->status != SCHED_DEFERRED)
		return 0;
	if (age >= cfg->retry_max_age_ms) {
		if (o->code > 0)
			snprintf(text, n, "gave up after %d attempts in %lld "
			    "s: %d %s", j->attempts + 1,
			    (long long)(age / 1000), o->code, o->text);
		else
			snprintf(text, n, "gave up after %d attempts in %lld "
			    "s: %s", j->attempts + 1, (long long)(age / 1000),
			    o->text);
		o->status = SCHED_BOUNCED;
		o->code = 0;
		o->text = text;
		return 0;
	}
	return now + cfg->retry_ms[step];
}

static int
send_outcome(void *ctx, const struct sched_job *j, struct sched_outcome *op,
    struct err *e)
{
	struct send_run *r = ctx;
	struct send_out *so;
	struct sched_outcome o = *op;
	char text[LIMIT_SMTP_TEXT + 96];

	if (r->nout == SEND_OUT_MAX)	/* cannot be: loads stop first */
		return err_set(e, EX_SOFTWARE, "outcome batch overflow");
	so = &r->out[r->nout];
	so->next_attempt_at = send_retry(r, j, &o, text, sizeof(text));
	op->status = o.status;
	if (o.provider >= 0 && r->prov_sent != NULL)
		r->prov_sent[o.provider]++;
	if (o.status != SCHED_UNSENT)
		send_log(r, j, &o);
	snprintf(so->domain, sizeof(so->domain), "%s", j->domain);
	so->recipient_id = j->recipient_id;
	so->status = o.status == SCHED_UNSENT ? "pending" :
	    sched_status_name(o.status);
	if (o.code > 0)
		snprintf(so->reply, sizeof(so->reply), "%d %s", o.code, o.text);
	else
		snprintf(so->reply, sizeof(so->reply), "%s", o.text);
	snprintf(so->dsn, sizeof(so->dsn), "%s", o.dsn);
	snprintf(so->relay, sizeof(so->relay), "%s", o.relay);
	/* In trouble, the tick retries, once a second, not every outcome. */
	if (++r->nout >= SEND_BATCH && r->trouble_since == 0 &&
	    send_flush(r, e) < 0)
		return send_trouble(r, e) == SCHED_LATER ? 0 : -1;
	return 0;
}

/* The three domains with the most work in hand, for the progress line. */
struct send_busy {
	char name[3][LIMIT_ADDR_DOMAIN + 1];
	int n[3];
};

static void
send_busy_domain(const struct sched_domain *d, void *arg)
{
	struct send_busy *b = arg;
	int k, i, load = d->inflight;

	for (k = 0; k < 3 && load <= b->n[k]; k++)
		;
	if (k == 3 || load == 0)
		return;
	for (i = 2; i > k; i--) {
		b->n[i] = b->n[i - 1];
		memcpy(b->name[i], b->name[i - 1], sizeof(b->name[i]));
	}
	b->n[k] = load;
	snprintf(b->name[k], sizeof(b->name[k]), "%s", d->domain);
}

/*
 * Progress: on a terminal a line rewritten every second; otherwise a
 * key=value line in the log every SEND_PROGRESS_MS, for cron mail and
 * log watchers. Both name the busiest domains.
 */
static void
send_progress(struct send_run *r, struct sched *s, int64_t now, int last)
{
	const int64_t *n = r->stats->outcomes;
	int64_t done = n[SCHED_DELIVERED] + n[SCHED_DEFERRED] +
	    n[SCHED_BOUNCED] + n[SCHED_FAILED] + n[SCHED_SUPPRESSED];
	double secs = (double)(now - r->started) / 1000.0;
	double rate = secs > 0 ? (double)done / secs : 0;
	double eta = rate > 0 && r->due > done ? (double)(r->due - done) /
	    rate : 0;
	FILE *fp = r->o->progress != NULL ? r->o->progress : r->o->log;
	struct send_busy b;
	char busy[3 * (LIMIT_ADDR_DOMAIN + 2)];
	int k;
	size_t len = 0;

	if (fp == NULL || (!last && now - r->shown < (r->o->progress ?
	    1000 : SEND_PROGRESS_MS)))
		return;
	r->shown = now;
	memset(&b, 0, sizeof(b));
	busy[0] = '\0';
	if (s != NULL)
		sched_domains(s, send_busy_domain, &b);
	for (k = 0; k < 3 && b.n[k] > 0; k++)
		len += (size_t)snprintf(busy + len, sizeof(busy) - len, "%s%s",
		    k ? "," : "", b.name[k]);
	if (r->o->progress != NULL)
		fprintf(fp, "\r%s: %lld/%lld sent, %lld deferred, %lld bounced, "
		    "%.0f/s, ETA %.0f s%s%s   %s", r->campaign, (long long)done,
		    (long long)r->due, (long long)n[SCHED_DEFERRED],
		    (long long)n[SCHED_BOUNCED], rate, eta, busy[0] ?
		    ", busiest " : "", busy, last ? "\n" : "");
	else
		fprintf(fp, "progress campaign=%s done=%lld due=%lld "
		    "delivered=%lld deferred=%lld bounced=%lld rate=%.0f "
		    "eta=%.0f connections=%lld throttle_signals=%lld "
		    "busiest=%s\n", r->campaign, (long long)done,
		    (long long)r->due, (long long)n[SCHED_DELIVERED],
		    (long long)n[SCHED_DEFERRED], (long long)n[SCHED_BOUNCED],
		    rate, eta, (long long)r->stats->connections,
		    (long long)r->stats->throttle_signals, busy[0] ? busy :
		    "-");
	fflush(fp);
}

static void
send_state_domain(const struct sched_domain *d, void *arg)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:f, s:I, s:I}",
	    "domain", d->domain, "state", d->state, "why", d->why,
	    "queued", d->queued, "inflight", d->inflight, "connections",
	    d->connections, "rate_factor", d->rate_factor, "resume_in_ms",
	    (json_int_t)d->resume_in_ms, "signals", (json_int_t)d->signals);

	if (o != NULL)
		json_array_append_new(arg, o);
}

/* What `postbote status` shows of this run: counts and every domain. */
static char *
send_state_json(struct send_run *r, struct sched *s)
{
	const int64_t *n = r->stats->outcomes;
	json_t *doms = json_array(), *root;
	char *text;

	sched_domains(s, send_state_domain, doms);
	root = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
	    "owner", r->owner, "due", (json_int_t)r->due,
	    "delivered", (json_int_t)n[SCHED_DELIVERED],
	    "deferred", (json_int_t)n[SCHED_DEFERRED],
	    "bounced", (json_int_t)n[SCHED_BOUNCED],
	    "failed", (json_int_t)n[SCHED_FAILED],
	    "connections", (json_int_t)r->stats->connections,
	    "throttle_signals", (json_int_t)r->stats->throttle_signals,
	    "elapsed_ms", (json_int_t)(clock_mono_ms() - r->started),
	    "domains", doms);
	if (root == NULL)
		return NULL;
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return text;
}

/*
 * Every LIMIT_SEND_TICK_MS: commit the outcomes, pass a signal on, renew
 * the lease, and stop when someone paused or cancelled the campaign.
 */
static int
send_tick(void *ctx, struct sched *s, struct err *e)
{
	struct send_run *r = ctx;
	char *state;
	int64_t now = clock_mono_ms();
	char holder[LIMIT_ADDR_DOMAIN + 64], status[16];

	if (r->o->stop != NULL && *r->o->stop > r->stop)
		r->stop = *r->o->stop;
	if (r->trouble_since != 0 && now - r->trouble_try < 1000)
		return 0;
	r->trouble_try = now;
	if (send_flush(r, e) < 0)
		return send_trouble(r, e) == SCHED_LATER ? 0 : -1;
	if (r->trouble_since != 0)
		fprintf(stderr, "postbote send: the store answers again; "
		    "going on\n");
	r->trouble_since = 0;
	send_progress(r, s, now, 0);
	if (now - r->renewed >= SEND_RENEW_MS) {
		if (store_send_lease(r->st, r->campaign_id, r->owner,
		    SEND_LEASE_MS, holder, sizeof(holder), e) < 0)
			return -1;
		state = send_state_json(r, s);
		if (state != NULL && store_send_state(r->st, r->campaign_id,
		    r->owner, state, e) < 0) {
			free(state);
			return -1;
		}
		free(state);
		r->renewed = now;
	}
	if (now - r->checked >= SEND_STATUS_MS) {
		r->checked = now;
		if (store_campaign_status(r->st, r->campaign_id, status,
		    sizeof(status), r->stopped_why, sizeof(r->stopped_why),
		    e) < 0)
			return -1;
		if (strcmp(status, "running") != 0 && r->stop == 0) {
			snprintf(r->stopped_by, sizeof(r->stopped_by), "%s",
			    status);
			r->stop = 1;
		}
	}
	return 0;
}

/* ----------------------------------------------------------- the run */

struct send_campaign_state {
	int64_t id;
	char status[16];
	char from_addr[LIMIT_ADDR + 1];
	int64_t scheduled_at;
};

static int
send_state_cb(const struct campaign_info *c, void *ctx)
{
	struct send_campaign_state *cs = ctx;

	cs->id = c->id;
	snprintf(cs->status, sizeof(cs->status), "%s", c->status);
	snprintf(cs->from_addr, sizeof(cs->from_addr), "%s", c->from_addr);
	/* A follow-up whose parent has not finished is refused at the
	 * start, naming the parent. */
	cs->scheduled_at = c->follow_up_of != NULL ? c->follow_up_due :
	    c->scheduled_at;
	return 0;
}

struct send_variants {
	struct store *st;
	const struct config *cfg;
	const char *name;
	struct render *r[AB_MAX];
	int n;
	int links;
	struct err *e;
};

static int
send_variant(const struct campaign_variant *v, void *ctx)
{
	struct send_variants *sv = ctx;
	int64_t id;

	if (sv->n == AB_MAX)
		return err_set(sv->e, EX_SOFTWARE, "more than %d variants",
		    AB_MAX);
	if (render_load_subject(sv->st, sv->cfg, sv->name, v->template_name,
	    v->template_version, v->subject, &sv->r[sv->n], &id, sv->e) < 0)
		return -1;
	render_set_link_base(sv->r[sv->n], sv->links);
	sv->links += render_nlinks(sv->r[sv->n]);
	sv->n++;
	return 0;
}

static void
send_renders_close(struct render **r, int *n)
{
	while (*n > 0)
		render_close(r[--*n]);
}

/*
 * The campaign's renders: its own, or one per A/B variant, in order,
 * their links numbered one after another in the campaign's link table.
 */
static int
send_renders(struct store *st, const struct config *cfg, const char *name,
    struct render **r, int *n, int64_t *id, struct err *e)
{
	struct send_variants sv = { st, cfg, name, { NULL }, 0, 0, e };
	int i;

	*n = 0;
	if (render_load(st, cfg, name, NULL, 0, &r[0], id, e) < 0)
		return -1;
	*n = 1;
	if (store_campaign_variants(st, *id, send_variant, &sv, e) < 0) {
		send_renders_close(sv.r, &sv.n);
		send_renders_close(r, n);
		return -1;
	}
	if (sv.n == 0)
		return 0;
	send_renders_close(r, n);
	for (i = 0; i < sv.n; i++)
		r[i] = sv.r[i];
	*n = sv.n;
	return 0;
}

int
send_start(struct store *st, const struct config *cfg, const char *name,
    int64_t *created, struct err *e)
{
	struct render *r[AB_MAX];
	const char **urls;
	int64_t id;
	int i, k, n, nr, rc;

	if (send_renders(st, cfg, name, r, &nr, &id, e) < 0)
		return -1;
	for (n = 0, i = 0; i < nr; i++)
		n += render_nlinks(r[i]);
	urls = xcalloc((size_t)n + 1, sizeof(*urls));
	for (n = 0, i = 0; i < nr; i++)
		for (k = 0; k < render_nlinks(r[i]); k++)
			urls[n++] = render_link(r[i], k);
	rc = store_campaign_start_links(st, name, urls, n, created, e);
	free(urls);
	send_renders_close(r, &nr);
	return rc;
}

/*
 * An A/B test's turn: once its test share has gone and the wait after
 * the last test delivery is over, the winner is picked and the held rest
 * becomes its to send in this run.
 */
static int
send_ab(struct send_run *r, struct err *e)
{
	struct ab_state s;
	int v, winner;

	if (store_ab_state(r->st, r->campaign_id, &s, e) < 0)
		return -1;
	if (s.nvariants == 0 || s.winner >= 0 || s.test_left > 0 ||
	    s.test_done_at == 0 || store_now_ms() < s.test_done_at + s.wait)
		return 0;
	winner = campaign_ab_pick(strcmp(s.metric, "clicks") == 0 ?
	    s.clicked : s.opened, s.delivered, s.nvariants);
	if (store_ab_decide(r->st, r->campaign_id, winner, e) < 0)
		return e->code == EX_TEMPFAIL ? (err_clear(e), 0) : -1;
	if (r->o->log == NULL)
		return 0;
	fprintf(r->o->log, "ab campaign=%s winner=%c by=%s held=%lld",
	    r->campaign, 'A' + winner, s.metric, (long long)s.held);
	for (v = 0; v < s.nvariants; v++)
		fprintf(r->o->log, " %c=%lld/%lld", 'A' + v,
		    (long long)(strcmp(s.metric, "clicks") == 0 ?
		    s.clicked[v] : s.opened[v]), (long long)s.delivered[v]);
	fputc('\n', r->o->log);
	return 0;
}

/* Starts what is due; refuses what cannot send. */
static int
send_prepare(struct store *st, const struct config *cfg, const char *name,
    struct send_campaign_state *cs, struct send_result *res, struct err *e)
{
	if (strcmp(cs->status, "scheduled") == 0 &&
	    cs->scheduled_at > store_now_ms())
		return err_set(e, EX_TEMPFAIL, "campaign %s is scheduled for "
		    "later; `postbote campaign start %s` starts it now", name,
		    name);
	if (strcmp(cs->status, "draft") == 0 ||
	    strcmp(cs->status, "scheduled") == 0)
		return send_start(st, cfg, name, &res->started, e);
	if (strcmp(cs->status, "running") == 0)
		return store_send_reclaim(st, cs->id, &res->reclaimed, e);
	if (strcmp(cs->status, "paused") == 0)
		return err_set(e, EX_DATAERR, "campaign %s is paused; "
		    "`postbote campaign resume %s` first", name, name);
	return err_set(e, EX_DATAERR, "campaign %s is %s: nothing to send",
	    name, cs->status);
}

static int
send_signer(const struct config *cfg, const struct send_opts *o,
    const char *from_addr, struct dkim_signer **out, struct err *e)
{
	const char *at = strrchr(from_addr, '@');

	*out = NULL;
	if (o->no_dkim)
		return 0;
	if (dkim_signer_open(cfg->dkim, cfg->ndkim, out, e) < 0)
		return -1;
	if (at != NULL && dkim_signer_covers(*out, at + 1))
		return 0;
	err_set(e, EX_CONFIG, "campaign %s: no DKIM key covers the From "
	    "domain %s; add one to the config's \"dkim\" list (`postbote dkim"
	    " keygen` makes it) or send with --no-dkim", o->campaign,
	    at != NULL ? at + 1 : from_addr);
	dkim_signer_close(*out);
	*out = NULL;
	return -1;
}

static int
send_helo(const struct config *cfg, char *out, size_t n)
{
	if (cfg->hostname != NULL) {
		snprintf(out, n, "%s", cfg->hostname);
		return 0;
	}
	if (gethostname(out, n) < 0 || out[0] == '\0')
		snprintf(out, n, "localhost");
	out[n - 1] = '\0';
	return 0;
}

static int
send_workers(const struct config *cfg, const struct send_opts *o)
{
	long cores;

	if (o->workers > 0)
		return o->workers;
	if (cfg->workers > 0)
		return cfg->workers;
	cores = sysconf(_SC_NPROCESSORS_ONLN);
	return cores < 1 ? 1 : cores > LIMIT_WORKERS ? LIMIT_WORKERS :
	    (int)cores;
}

static int
send_run_sched(struct send_run *r, const struct config *cfg,
    char **pass, struct send_result *res, struct err *e)
{
	struct sched_config sc;
	struct sched_ops ops = { r, send_next_domain, send_load, send_render,
	    send_outcome, send_tick };
	char helo[LIMIT_SMTP_HELO + 1];
	int i, rc;

	memset(&sc, 0, sizeof(sc));
	(void)send_helo(cfg, helo, sizeof(helo));
	sc.cfg = cfg;
	sc.helo = helo;
	sc.route_pass = (const char *const *)pass;
	sc.relay_pass = pass[cfg->nroutes];
	sc.workers = r->nworkers;
	sc.stop = &r->stop;
	sc.provider_left = r->prov_left;
	r->w = xcalloc((size_t)r->nworkers, sizeof(*r->w));
	for (i = 0; i < r->nworkers; i++) {
		render_ctx_init(&r->w[i].x);
		if (r->signer != NULL)
			r->w[i].dk = dkim_ctx_new(r->signer);
	}
	r->out = xcalloc(SEND_OUT_MAX, sizeof(*r->out));
	r->stats = &res->stats;
	r->started = r->shown = clock_mono_ms();
	rc = sched_run(&sc, &ops, &res->stats, e);
	if (r->o->progress != NULL)
		send_progress(r, NULL, clock_mono_ms(), 1);
	if (rc < 0 && r->nout > 0) {
		/* Keep what is known; the first error is the one to report. */
		struct err ignored;
		(void)send_flush(r, &ignored);
	}
	for (i = 0; i < r->nworkers; i++) {
		render_ctx_free(&r->w[i].x);
		dkim_ctx_free(r->w[i].dk);
	}
	free(r->w);
	free(r->out);
	return rc;
}

/* ------------------------------------------------------ send window */

struct send_zones {
	struct send_window w;
	struct window_zone dflt;	/* the campaign's zone */
	struct window_zone *z;		/* the recipients', sorted */
	int n;
	int unknown;			/* names that are no IANA zone */
	int dropped;			/* zones past LIMIT_WINDOW_ZONES */
	int64_t now;
	struct store_window sw;
};

static int
send_options_cb(const struct campaign_render *cr, void *ctx)
{
	struct campaign_options *o = ctx;
	struct err ignored;

	/* render_load() has parsed them already: they are good. */
	return campaign_options_parse(cr->options, o, &ignored);
}

static int
send_zone(const char *tz, void *ctx)
{
	struct send_zones *sz = ctx;

	if (!window_tz_known(tz))
		sz->unknown++;
	else if (sz->n == LIMIT_WINDOW_ZONES)
		sz->dropped++;
	else
		window_zone_load(&sz->w, tz, sz->now, &sz->z[sz->n++]);
	return 0;
}

static int
zone_order(const void *a, const void *b)
{
	return strcmp(((const struct window_zone *)a)->tz,
	    ((const struct window_zone *)b)->tz);
}

/*
 * Loads the zones of the campaign's window and has the claims test it;
 * a recipient whose "timezone" is no IANA zone name is in the
 * campaign's zone.
 */
static int
send_window_open(struct send_run *r, struct err *e)
{
	struct campaign_options o;
	struct send_zones *sz;

	if (store_campaign_render(r->st, r->campaign, send_options_cb, &o,
	    e) < 0)
		return -1;
	if (!o.has_window) {
		campaign_options_free(&o);
		return 0;
	}
	sz = r->zones = xcalloc(1, sizeof(*sz));
	sz->w = o.window;
	campaign_options_free(&o);
	sz->now = store_now_ms();
	sz->z = xcalloc(LIMIT_WINDOW_ZONES, sizeof(*sz->z));
	window_zone_load(&sz->w, sz->w.tz, sz->now, &sz->dflt);
	if (store_send_zones(r->st, r->campaign_id, send_zone, sz, e) < 0)
		return -1;
	/* Past LIMIT_WINDOW_ZONES names (more than the world has, but its
	 * aliases could get there) a recipient is in the campaign's zone,
	 * and the log says how many names that was. */
	qsort(sz->z, (size_t)sz->n, sizeof(*sz->z), zone_order);
	sz->sw.zones = sz->z;
	sz->sw.n = sz->n;
	sz->sw.dflt = &sz->dflt;
	if (r->o->log != NULL)
		fprintf(r->o->log, "window campaign=%s hours=%02d:%02d-%02d:%02d "
		    "timezone=%s zones=%d unknown_zones=%d dropped_zones=%d\n",
		    r->campaign,
		    sz->w.from / 60, sz->w.from % 60, sz->w.to / 60,
		    sz->w.to % 60, sz->w.tz[0] ? sz->w.tz : "local", sz->n,
		    sz->unknown, sz->dropped);
	return store_send_window(r->st, &sz->sw, e);
}

static void
send_window_close(struct send_run *r)
{
	struct err ignored;

	if (r->zones == NULL)
		return;
	if (store_send_window(r->st, NULL, &ignored) < 0)
		err_clear(&ignored);
	free(r->zones->z);
	free(r->zones);
	r->zones = NULL;
}

/* The lease holder's name: host, process and start, for the message a
 * second send prints. */
static void
send_owner(struct send_run *r)
{
	char host[LIMIT_ADDR_DOMAIN + 1];

	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(r->owner, sizeof(r->owner), "%.200s pid %ld at %lld", host,
	    (long)getpid(), (long long)store_now_ms());
}

/*
 * A holder on this host whose process is gone died without giving the
 * lease back (kill -9): waiting out its lease would only delay the
 * resume. Another host's holder is left to its lease.
 */
static int
send_holder_dead(const char *holder)
{
	char host[LIMIT_ADDR_DOMAIN + 1], *end;
	size_t hl;
	long pid;

	if (gethostname(host, sizeof(host)) < 0)
		return 0;
	host[sizeof(host) - 1] = '\0';
	hl = strlen(host);
	if (strncmp(holder, host, hl) != 0 ||
	    strncmp(holder + hl, " pid ", 5) != 0)
		return 0;
	errno = 0;
	pid = strtol(holder + hl + 5, &end, 10);
	if (errno || end == holder + hl + 5 || pid <= 0 || *end != ' ')
		return 0;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

static int
send_lease(struct send_run *r, int64_t id, struct err *e)
{
	char holder[LIMIT_ADDR_DOMAIN + 64];
	int rc;

	send_owner(r);
	holder[0] = '\0';
	rc = store_send_lease(r->st, id, r->owner, SEND_LEASE_MS, holder,
	    sizeof(holder), e);
	if (rc < 0 && e->code == EX_TEMPFAIL && send_holder_dead(holder) &&
	    store_send_unlease(r->st, id, holder, e) == 0)
		rc = store_send_lease(r->st, id, r->owner, SEND_LEASE_MS,
		    holder, sizeof(holder), e);
	if (rc < 0) {
		err_prefix(e, "campaign %s", r->campaign);
		return -1;
	}
	r->leased = 1;
	r->renewed = r->checked = clock_mono_ms();
	return 0;
}

/* Done when nothing is left and nobody paused or cancelled it. */
static int
send_finish(struct send_run *r, struct send_result *res, struct err *e)
{
	const char *status;

	if (store_send_left(r->st, r->campaign_id, &res->left, e) < 0)
		return -1;
	snprintf(res->stopped_by, sizeof(res->stopped_by), "%s",
	    r->stopped_by);
	snprintf(res->stopped_why, sizeof(res->stopped_why), "%s",
	    r->stopped_by[0] ? r->stopped_why : "");
	if (res->left > 0 || r->stop)
		return 0;
	if (store_campaign_action(r->st, r->campaign, "finish", 0, &status,
	    e) < 0)
		return -1;
	res->done = 1;
	return 0;
}

int
send_campaign(struct store *st, const struct config *cfg,
    const struct send_opts *o, struct send_result *res, struct err *e)
{
	struct send_campaign_state cs;
	struct send_run r;
	struct timespec t0, t1;
	struct err ignored;
	char **pass = NULL;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	memset(&r, 0, sizeof(r));
	memset(&cs, 0, sizeof(cs));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r.st = st;
	r.o = o;
	r.campaign = o->campaign;
	r.cfg = cfg;
	r.nworkers = send_workers(cfg, o);
	/* The lease comes before the start and the reclaim: the rows a
	 * 'sending' mark names are then a dead run's, never a live one's. */
	if (send_passwords(cfg, &pass, e) < 0 ||
	    store_campaign_get(st, o->campaign, send_state_cb, &cs, e) < 0 ||
	    send_signer(cfg, o, cs.from_addr, &r.signer, e) < 0 ||
	    send_lease(&r, cs.id, e) < 0 ||
	    send_prepare(st, cfg, o->campaign, &cs, res, e) < 0 ||
	    send_renders(st, cfg, o->campaign, r.render, &r.nrender,
	    &r.campaign_id, e) < 0)
		goto out;
	res->campaign_id = r.campaign_id;
	if (send_ab(&r, e) < 0 ||
	    store_send_left(st, r.campaign_id, &r.due, e) < 0 ||
	    send_window_open(&r, e) < 0 ||
	    send_warmup(&r, e) < 0 ||
	    send_run_sched(&r, cfg, pass, res, e) < 0 ||
	    send_finish(&r, res, e) < 0)
		goto out;
	rc = 0;
out:
	if (r.leased && store_send_unlease(st, cs.id, r.owner, &ignored) < 0)
		err_clear(&ignored);	/* it lapses by itself */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	res->seconds = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	send_window_close(&r);
	send_renders_close(r.render, &r.nrender);
	dkim_signer_close(r.signer);
	send_passwords_free(pass, cfg->nroutes + 1);
	free(r.prov_left);
	free(r.prov_sent);
	return rc;
}
