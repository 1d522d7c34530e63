/*
 * webhook.c - the outbox's due calls POSTed with libcurl; see webhook.h.
 *
 * A flush is rounds of: claim a batch (one short transaction), run it on
 * one multi handle with at most LIMIT_WEBHOOK_INFLIGHT easy handles open,
 * record outcomes as they come (a transaction per handful, never one held
 * across a call). The flusher thread is the same flush once a second
 * over its own store connection, woken early by its stop through
 * curl_multi_wakeup().
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "secret.h"
#include "webhook.h"
#include "xalloc.h"

#define WH_ERROR_MAX	256	/* an outcome's error text, kept and logged */
#define WH_POLL_MS	1000
#define WH_FLUSH_EVERY_MS	1000	/* the flusher's round */
#define WH_COMPLAIN_MS	(60 * 1000)	/* a failing flusher says so this
					   often at most */

struct wh_secret {
	char key[WEBHOOK_SECRET_MAX + 1];
	size_t len;
};

struct wh_call {
	int64_t id;
	int64_t event_id;
	size_t hook;		/* index in cfg->webhooks */
	int attempts;		/* made before this one */
	char type[16];
	char *body;
	CURL *easy;
	struct curl_slist *headers;
	struct buf resp;
	char curlerr[CURL_ERROR_SIZE];
	char error[WH_ERROR_MAX];
	int64_t started;	/* monotonic ms; 0: not started */
	int done;
};

struct wh_flush {
	struct store *st;
	const struct config *cfg;
	struct wh_secret *secrets;	/* one per cfg->webhooks */
	FILE *log;
	CURLM *multi;
	atomic_int *stop;	/* NULL: nobody stops this flush */
	int64_t deadline;	/* monotonic ms the stop allows; 0: none */
	int64_t lease_ms;
	struct webhook_stats stats;
	struct wh_call *calls;	/* the batch */
	int ncalls;
	struct store_webhook_outcome *out;
	int nout, recorded;
};

static pthread_once_t wh_curl_once = PTHREAD_ONCE_INIT;
static int wh_curl_ok;

static void
wh_curl_init(void)
{
	wh_curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

static int
wh_init(struct err *e)
{
	pthread_once(&wh_curl_once, wh_curl_init);
	if (!wh_curl_ok)
		return err_set(e, EX_SOFTWARE, "webhooks: libcurl failed to "
		    "initialize");
	return 0;
}

/* ------------------------------------------------------- the pure parts */

int
webhook_sign(const void *secret, size_t secret_len, int64_t unix_s,
    const char *body, size_t body_len, char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
		    (char *)"SHA256", 0),
		OSSL_PARAM_construct_end()
	};
	unsigned char mac[32];
	char t[24];
	EVP_MAC_CTX *ctx = NULL;
	EVP_MAC *hmac;
	size_t maclen = 0, i, k;
	int len, rc = -1, ok;

	len = snprintf(t, sizeof(t), "%lld.", (long long)unix_s);
	if ((hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return -1;
	ctx = EVP_MAC_CTX_new(hmac);
	EVP_MAC_free(hmac);
	/* The time stamp is inside the MAC, so a captured call cannot be
	   replayed later under a fresh t. */
	ok = ctx != NULL &&
	    EVP_MAC_init(ctx, secret, secret_len, params) &&
	    EVP_MAC_update(ctx, (const unsigned char *)t, (size_t)len) &&
	    EVP_MAC_update(ctx, (const unsigned char *)body, body_len) &&
	    EVP_MAC_final(ctx, mac, &maclen, sizeof(mac)) && maclen == 32;
	if (ok && n >= WEBHOOK_SIG_MAX) {
		k = (size_t)snprintf(out, n, "t=%lld,v1=", (long long)unix_s);
		for (i = 0; i < maclen; i++) {
			out[k++] = hex[mac[i] >> 4];
			out[k++] = hex[mac[i] & 15];
		}
		out[k] = '\0';
		rc = 0;
	}
	EVP_MAC_CTX_free(ctx);
	return rc;
}

int64_t
webhook_backoff_ms(int64_t base_ms, int attempts)
{
	int64_t d = base_ms > 0 ? base_ms : 1;
	int i;

	for (i = 0; i < attempts && d < LIMIT_WEBHOOK_BACKOFF_MS; i++)
		d *= 2;
	return d < LIMIT_WEBHOOK_BACKOFF_MS ? d : LIMIT_WEBHOOK_BACKOFF_MS;
}

/* ISO 8601 UTC with milliseconds, as the payload and the log write it. */
static const char *
wh_iso(int64_t ms, char *buf, size_t n)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char s[24];

	gmtime_r(&t, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, n, "%s.%03dZ", s, (int)(ms % 1000));
	return buf;
}

char *
webhook_payload(const struct store_webhook_call *c)
{
	json_t *detail = NULL, *v;
	char at[32];
	char *s;

	if (c->detail != NULL)
		detail = json_loads(c->detail, 0, NULL);
	if (!json_is_object(detail)) {
		json_decref(detail);
		detail = json_object();
	}
	v = json_pack("{s:I, s:I, s:s, s:s, s:s?, s:s?, s:b, s:o}",
	    "id", (json_int_t)c->id, "event_id", (json_int_t)c->event_id,
	    "type", c->type, "at", wh_iso(c->at, at, sizeof(at)),
	    "campaign", c->campaign, "recipient", c->recipient,
	    "machine", c->machine != 0, "detail", detail);
	s = v != NULL ? json_dumps(v, JSON_COMPACT) : NULL;
	json_decref(v);
	if (s == NULL)
		abort();	/* out of memory: xalloc's rule */
	return s;
}

int
webhook_secret(const struct config_webhook *h, char *out, size_t *len,
    struct err *e)
{
	const char *v;

	*len = 0;
	if (h->secret_file != NULL) {
		if (secret_read(h->secret_file, "secret", out,
		    WEBHOOK_SECRET_MAX + 1, len, e) < 0) {
			err_prefix(e, "webhook %s", h->name);
			return -1;
		}
	} else {
		if ((v = getenv(h->secret_env)) == NULL)
			v = "";
		if (strlen(v) > WEBHOOK_SECRET_MAX)
			return err_set(e, EX_CONFIG, "webhook %s: $%s: a "
			    "secret is at most %d bytes", h->name,
			    h->secret_env, WEBHOOK_SECRET_MAX);
		*len = strlen(v);
		memcpy(out, v, *len + 1);
	}
	if (*len == 0)
		return err_set(e, EX_CONFIG, "webhook %s: the secret in %s%s "
		    "is empty or unset", h->name, h->secret_file ? "" : "$",
		    h->secret_file ? h->secret_file : h->secret_env);
	return 0;
}

static int
wh_secrets(const struct config *cfg, struct wh_secret **out, struct err *e)
{
	struct wh_secret *s = xcalloc(cfg->nwebhooks + 1, sizeof(*s));
	size_t i;

	for (i = 0; i < cfg->nwebhooks; i++)
		if (webhook_secret(&cfg->webhooks[i], s[i].key, &s[i].len,
		    e) < 0) {
			explicit_bzero(s, (cfg->nwebhooks + 1) * sizeof(*s));
			free(s);
			*out = NULL;
			return -1;
		}
	*out = s;
	return 0;
}

static void
wh_secrets_free(struct wh_secret *s, size_t n)
{
	if (s == NULL)
		return;
	explicit_bzero(s, (n + 1) * sizeof(*s));
	free(s);
}

int
webhook_check(const struct config *cfg, struct err *e)
{
	struct wh_secret *s;

	if (wh_secrets(cfg, &s, e) < 0)
		return -1;
	wh_secrets_free(s, cfg->nwebhooks);
	return 0;
}

/* ------------------------------------------------------------- one call */

static size_t
wh_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct wh_call *c = arg;
	size_t n = size * nmemb, room = c->resp.max - c->resp.len;

	/* Kept up to the cap for the log, the rest read and dropped: a
	   short write would turn a 2xx with a long body into a failure. */
	if (buf_add(&c->resp, p, n < room ? n : room) < 0)
		return 0;
	return n;
}

static void
wh_call_free(struct wh_flush *f, struct wh_call *c)
{
	if (c->easy != NULL) {
		curl_multi_remove_handle(f->multi, c->easy);
		curl_easy_cleanup(c->easy);
	}
	curl_slist_free_all(c->headers);
	buf_free(&c->resp);
	free(c->body);
	memset(c, 0, sizeof(*c));
}

static struct curl_slist *
wh_header(struct curl_slist *l, const char *fmt, const char *arg)
{
	char h[256];
	struct curl_slist *n;

	snprintf(h, sizeof(h), fmt, arg);
	if ((n = curl_slist_append(l, h)) == NULL)
		abort();	/* out of memory: xalloc's rule */
	return n;
}

static int
wh_call_start(struct wh_flush *f, struct wh_call *c)
{
	const struct config_webhook *h = &f->cfg->webhooks[c->hook];
	const struct wh_secret *s = &f->secrets[c->hook];
	char sig[WEBHOOK_SIG_MAX], id[24];
	CURL *x;

	c->started = clock_mono_ms();
	if (webhook_sign(s->key, s->len, (int64_t)time(NULL), c->body,
	    strlen(c->body), sig, sizeof(sig)) < 0)
		return -1;
	snprintf(id, sizeof(id), "%lld", (long long)c->id);
	c->headers = wh_header(NULL, "Content-Type: %s", "application/json");
	c->headers = wh_header(c->headers, "X-Postbote-Event: %s", c->type);
	c->headers = wh_header(c->headers, "X-Postbote-Id: %s", id);
	c->headers = wh_header(c->headers, "X-Postbote-Signature: %s", sig);
	/* No "Expect: 100-continue" for bodies over 1 KiB: a wait of a
	   second on receivers that never answer it. */
	c->headers = wh_header(c->headers, "Expect:%s", "");
	if ((x = c->easy = curl_easy_init()) == NULL)
		return -1;
	buf_init(&c->resp, LIMIT_WEBHOOK_RESPONSE);
	curl_easy_setopt(x, CURLOPT_URL, h->url);
	curl_easy_setopt(x, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(x, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(x, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x, CURLOPT_TIMEOUT_MS, (long)h->timeout_ms);
	curl_easy_setopt(x, CURLOPT_USERAGENT, "postbote/0.1");
	curl_easy_setopt(x, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(x, CURLOPT_POSTFIELDS, c->body);
	curl_easy_setopt(x, CURLOPT_POSTFIELDSIZE, (long)strlen(c->body));
	curl_easy_setopt(x, CURLOPT_WRITEFUNCTION, wh_write);
	curl_easy_setopt(x, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(x, CURLOPT_ERRORBUFFER, c->curlerr);
	curl_easy_setopt(x, CURLOPT_PRIVATE, c);
	if (curl_multi_add_handle(f->multi, x) != CURLM_OK)
		return -1;
	return 0;
}

/* Printable ASCII only: the text comes from the receiver. */
static void
wh_clean(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = ' ';
}

/* Sets c->error; 0 for a 2xx answer. */
static int
wh_call_result(struct wh_call *c, CURLcode res)
{
	long code = 0;

	if (res != CURLE_OK) {
		snprintf(c->error, sizeof(c->error), "%.60s%s%.180s",
		    curl_easy_strerror(res), c->curlerr[0] ? ": " : "",
		    c->curlerr);
		wh_clean(c->error);
		return -1;
	}
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
	snprintf(c->error, sizeof(c->error), "HTTP %ld%s%.200s", code,
	    c->resp.len > 0 ? ": " : "", buf_str(&c->resp));
	wh_clean(c->error);
	return code >= 200 && code <= 299 ? 0 : -1;
}

static void
wh_log(struct wh_flush *f, const struct wh_call *c, const char *status,
    int64_t next)
{
	char line[WH_ERROR_MAX + 512], when[32], at[48] = "";
	int64_t now = store_now_ms();

	if (f->log == NULL)
		return;
	if (next > 0)
		snprintf(at, sizeof(at), " next=%s", wh_iso(next, when,
		    sizeof(when)));
	snprintf(line, sizeof(line), "%s webhook=%s id=%lld event=%s "
	    "event_id=%lld attempt=%d delay=%.2f status=%s%s (%s)\n",
	    wh_iso(now, when, sizeof(when)), f->cfg->webhooks[c->hook].name,
	    (long long)c->id, c->type, (long long)c->event_id,
	    c->attempts + 1, (double)(clock_mono_ms() - c->started) / 1000.0,
	    status, at, c->error);
	fputs(line, f->log);
	fflush(f->log);
}

/* What became of a finished call, as the outbox records it. */
static void
wh_call_done(struct wh_flush *f, struct wh_call *c, CURLcode res)
{
	const struct config_webhook *h = &f->cfg->webhooks[c->hook];
	struct store_webhook_outcome *o = &f->out[f->nout++];
	int64_t now = store_now_ms();

	c->done = 1;
	o->id = c->id;
	o->tried = 1;
	o->error = NULL;
	o->next_attempt_at = 0;
	if (wh_call_result(c, res) == 0) {
		o->status = "sent";
		f->stats.sent++;
		wh_log(f, c, "sent", 0);
	} else if (c->attempts + 1 >= h->max_attempts) {
		o->status = "dead";
		o->error = c->error;
		f->stats.dead++;
		wh_log(f, c, "dead", 0);
	} else {
		o->status = "pending";
		o->error = c->error;
		o->next_attempt_at = now + webhook_backoff_ms(h->retry_base_ms,
		    c->attempts);
		f->stats.retried++;
		wh_log(f, c, "retry", o->next_attempt_at);
	}
	curl_multi_remove_handle(f->multi, c->easy);
	curl_easy_cleanup(c->easy);
	c->easy = NULL;
}

/* ------------------------------------------------------------ a batch */

static int
wh_claim_one(const struct store_webhook_call *sc, void *arg)
{
	struct wh_flush *f = arg;
	struct wh_call *c;
	size_t i;

	for (i = 0; i < f->cfg->nwebhooks; i++)
		if (strcmp(f->cfg->webhooks[i].name, sc->webhook) == 0)
			break;
	/* Another process's config (it synced the table since we did):
	   its call, left to it; the claim lapses. */
	if (i == f->cfg->nwebhooks)
		return 0;
	c = &f->calls[f->ncalls++];
	memset(c, 0, sizeof(*c));
	c->id = sc->id;
	c->event_id = sc->event_id;
	c->hook = i;
	c->attempts = sc->attempts;
	snprintf(c->type, sizeof(c->type), "%s", sc->type);
	c->body = webhook_payload(sc);
	return 0;
}

static int
wh_record(struct wh_flush *f, struct err *e)
{
	int n = f->nout - f->recorded;

	if (n == 0)
		return 0;
	if (store_webhook_record(f->st, f->out + f->recorded, n, e) < 0)
		return -1;
	f->recorded = f->nout;
	return 0;
}

static int
wh_stopping(struct wh_flush *f)
{
	if (f->stop == NULL || !atomic_load(f->stop))
		return 0;
	if (f->deadline == 0)
		f->deadline = clock_mono_ms() + WEBHOOK_STOP_GRACE_MS;
	return clock_mono_ms() >= f->deadline;
}

/* Calls not finished when the stop's grace ends: due again at once. */
static void
wh_hand_back(struct wh_flush *f)
{
	struct store_webhook_outcome *o;
	int i;

	for (i = 0; i < f->ncalls; i++) {
		if (f->calls[i].done)
			continue;
		o = &f->out[f->nout++];
		o->id = f->calls[i].id;
		o->status = "pending";
		o->tried = 0;
		o->error = NULL;
		o->next_attempt_at = store_now_ms();
	}
}

static void
wh_reap(struct wh_flush *f)
{
	struct wh_call *c;
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(f->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &c);
		wh_call_done(f, c, m->data.result);
	}
}

static int
wh_batch(struct wh_flush *f, struct err *e)
{
	int next = 0, running = 0, i, rc;

	while (next < f->ncalls || running > 0) {
		if (wh_stopping(f)) {
			wh_hand_back(f);
			break;
		}
		for (; running < LIMIT_WEBHOOK_INFLIGHT && next < f->ncalls;
		    next++) {
			if (wh_call_start(f, &f->calls[next]) < 0) {
				snprintf(f->calls[next].error, WH_ERROR_MAX,
				    "could not start the call (libcurl)");
				wh_call_done(f, &f->calls[next],
				    CURLE_FAILED_INIT);
			}
		}
		curl_multi_perform(f->multi, &running);
		wh_reap(f);
		if (f->nout - f->recorded >= LIMIT_WEBHOOK_INFLIGHT &&
		    wh_record(f, e) < 0)
			return -1;
		if (running > 0)
			curl_multi_poll(f->multi, NULL, 0, WH_POLL_MS, NULL);
	}
	/* The outcomes' errors live in the calls: recorded, then freed. */
	rc = wh_record(f, e);
	for (i = 0; i < f->ncalls; i++)
		wh_call_free(f, &f->calls[i]);
	f->ncalls = 0;
	return rc;
}

/* Rounds of claim and send until nothing is due by now. */
static int
wh_run(struct wh_flush *f, int64_t now, struct err *e)
{
	int64_t t;
	int n, rc = 0, i;

	f->calls = xcalloc(LIMIT_WEBHOOK_BATCH, sizeof(*f->calls));
	f->out = xcalloc(LIMIT_WEBHOOK_BATCH, sizeof(*f->out));
	for (;;) {
		if (wh_stopping(f))
			break;
		f->ncalls = f->nout = f->recorded = 0;
		t = store_now_ms();
		/* A call that fails now is due again from now on: never by
		   a now_ms ahead of the clock, so no flush loops on it. */
		if ((rc = store_webhook_claim(f->st, now, LIMIT_WEBHOOK_BATCH,
		    (t > now ? t : now) + f->lease_ms, wh_claim_one, f, &n,
		    e)) < 0 || n == 0)
			break;
		if ((rc = wh_batch(f, e)) < 0)
			break;
	}
	for (i = 0; i < f->ncalls; i++)
		wh_call_free(f, &f->calls[i]);
	free(f->calls);
	free(f->out);
	f->calls = NULL;
	f->out = NULL;
	return rc;
}

/*
 * How long a claim holds: the batch, LIMIT_WEBHOOK_INFLIGHT at once,
 * each at most its timeout, and a minute for the store. A call finished
 * sooner records its own time.
 */
static int64_t
wh_lease_ms(const struct config *cfg)
{
	int64_t t = 0;
	size_t i;

	for (i = 0; i < cfg->nwebhooks; i++)
		if (cfg->webhooks[i].timeout_ms > t)
			t = cfg->webhooks[i].timeout_ms;
	return (LIMIT_WEBHOOK_BATCH / LIMIT_WEBHOOK_INFLIGHT + 1) * t + 60000;
}

static int
wh_flush_open(struct wh_flush *f, struct store *st, const struct config *cfg,
    FILE *log, struct err *e)
{
	memset(f, 0, sizeof(*f));
	f->st = st;
	f->cfg = cfg;
	f->log = log;
	f->lease_ms = wh_lease_ms(cfg);
	if (wh_init(e) < 0 || wh_secrets(cfg, &f->secrets, e) < 0)
		return -1;
	if ((f->multi = curl_multi_init()) == NULL) {
		wh_secrets_free(f->secrets, cfg->nwebhooks);
		return err_set(e, EX_SOFTWARE, "webhooks: curl_multi_init "
		    "failed");
	}
	return 0;
}

static void
wh_flush_close(struct wh_flush *f)
{
	if (f->multi != NULL)
		curl_multi_cleanup(f->multi);
	wh_secrets_free(f->secrets, f->cfg->nwebhooks);
	f->multi = NULL;
	f->secrets = NULL;
}

int
webhook_flush(struct store *st, const struct config *cfg, int64_t now_ms,
    FILE *log, struct webhook_stats *out, struct err *e)
{
	struct wh_flush f;
	int rc;

	memset(out, 0, sizeof(*out));
	if (cfg->nwebhooks == 0)
		return 0;
	if (wh_flush_open(&f, st, cfg, log, e) < 0)
		return -1;
	rc = wh_run(&f, now_ms, e);
	*out = f.stats;
	wh_flush_close(&f);
	return rc;
}

/* --------------------------------------------------------- the flusher */

struct webhook_flusher {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_int stop;
	struct wh_flush f;
	int64_t complained;	/* monotonic ms of the last error line */
};

static void
wh_complain(struct webhook_flusher *w, const struct err *e)
{
	FILE *fp = w->f.log != NULL ? w->f.log : stderr;
	int64_t now = clock_mono_ms();

	/* A locked or failing store is retried every second; one line a
	   minute says so without flooding the log. */
	if (w->complained != 0 && now - w->complained < WH_COMPLAIN_MS)
		return;
	w->complained = now;
	fprintf(fp, "postbote: webhooks: %s (retrying)\n", e->msg);
	fflush(fp);
}

static void *
wh_thread(void *arg)
{
	struct webhook_flusher *w = arg;
	struct timespec ts;
	struct err e;

	for (;;) {
		if (wh_run(&w->f, store_now_ms(), &e) < 0)
			wh_complain(w, &e);
		pthread_mutex_lock(&w->mu);
		if (!atomic_load(&w->stop)) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += WH_FLUSH_EVERY_MS / 1000;
			pthread_cond_timedwait(&w->cv, &w->mu, &ts);
		}
		pthread_mutex_unlock(&w->mu);
		if (atomic_load(&w->stop))
			break;
	}
	/* The stop's last round: what the command recorded last goes out
	   now rather than at the next flush, within the grace. */
	if (w->f.deadline == 0)
		w->f.deadline = clock_mono_ms() + WEBHOOK_STOP_GRACE_MS;
	if (clock_mono_ms() < w->f.deadline && wh_run(&w->f, store_now_ms(),
	    &e) < 0)
		wh_complain(w, &e);
	return NULL;
}

static void
wh_flusher_free(struct webhook_flusher *w)
{
	wh_flush_close(&w->f);
	store_close(w->f.st);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

int
webhook_begin(struct store *st, const char *db_path,
    const struct config *cfg, FILE *log, struct webhook_flusher **out,
    struct err *e)
{
	*out = NULL;
	if (webhook_check(cfg, e) < 0 || store_webhooks_sync(st, cfg, e) < 0)
		return -1;
	*out = webhook_flusher_start(db_path, cfg, log, e);
	return *out == NULL && e->code != 0 ? -1 : 0;
}

struct webhook_flusher *
webhook_flusher_start(const char *db_path, const struct config *cfg,
    FILE *log, struct err *e)
{
	struct webhook_flusher *w;
	pthread_condattr_t ca;
	struct store *st;

	err_clear(e);
	if (cfg->nwebhooks == 0)
		return NULL;
	if (store_open(db_path, 0, &st, e) < 0)
		return NULL;
	w = xcalloc(1, sizeof(*w));
	if (wh_flush_open(&w->f, st, cfg, log, e) < 0) {
		store_close(st);
		free(w);
		return NULL;
	}
	w->f.stop = &w->stop;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&w->thread, NULL, wh_thread, w) != 0) {
		err_set(e, EX_OSERR, "webhooks: cannot start a thread: %s",
		    strerror(errno));
		wh_flusher_free(w);
		return NULL;
	}
	return w;
}

void
webhook_flusher_stop(struct webhook_flusher *w, struct webhook_stats *out)
{
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	atomic_store(&w->stop, 1);
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	curl_multi_wakeup(w->f.multi);
	pthread_join(w->thread, NULL);
	if (out != NULL)
		*out = w->f.stats;
	wh_flusher_free(w);
}
