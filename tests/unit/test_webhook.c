/*
 * test_webhook.c - engine/webhook's pure parts (the signature over a
 * vector computed with Python's hmac, the backoff, the payload, reading
 * secrets) and engine/store_webhook over a scratch database: the sync,
 * claims that keep a second flusher off, outcomes, counts; and the
 * flusher thread against a port nobody listens on, stopped promptly.
 */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "limits.h"
#include "store.h"
#include "webhook.h"

/* ----------------------------------------------------------- signature */

static void
t_sign_vector(void **state)
{
	static const char body[] = "{\"a\":1}";
	char sig[WEBHOOK_SIG_MAX];

	(void)state;
	/* python3: hmac.new(b"whsec_test", b'1700000000.{"a":1}',
	   hashlib.sha256).hexdigest() */
	assert_int_equal(webhook_sign("whsec_test", 10, 1700000000, body,
	    strlen(body), sig, sizeof(sig)), 0);
	assert_string_equal(sig, "t=1700000000,v1=38877139021993b830af32feea"
	    "6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789");
}

static void
t_sign_small_buffer(void **state)
{
	char sig[WEBHOOK_SIG_MAX - 1];

	(void)state;
	assert_int_equal(webhook_sign("k", 1, 1, "x", 1, sig, sizeof(sig)), -1);
}

/* ------------------------------------------------------------- backoff */

struct backoff_case {
	const char *name;
	int64_t base;
	int attempts;
	int64_t want;
};

static const struct backoff_case backoff_cases[] = {
	{ "backoff: the first failure waits retry_base", 1000, 0, 1000 },
	{ "backoff: doubles", 1000, 1, 2000 },
	{ "backoff: doubles again", 1000, 3, 8000 },
	{ "backoff: default 30 s, ninth failure 2 h -> 1 h", 30000, 8,
	  LIMIT_WEBHOOK_BACKOFF_MS },
	{ "backoff: a base over the cap is capped", 2 * 3600 * 1000LL, 0,
	  LIMIT_WEBHOOK_BACKOFF_MS },
	{ "backoff: 100 attempts do not overflow", 1000, 100,
	  LIMIT_WEBHOOK_BACKOFF_MS },
	{ "backoff: just under the cap", 1000, 11, 2048000 },
	{ "backoff: just over it", 1000, 12, LIMIT_WEBHOOK_BACKOFF_MS },
};

static void
t_backoff(void **state)
{
	const struct backoff_case *c = *state;

	assert_int_equal(webhook_backoff_ms(c->base, c->attempts), c->want);
}

/* ------------------------------------------------------------- payload */

static void
t_payload(void **state)
{
	struct store_webhook_call c = { .id = 7, .webhook = "w", .event_id = 42,
	    .type = "delivered", .at = 1700000000123LL, .machine = 0,
	    .detail = "{\"dsn\":\"2.0.0\",\"reply\":\"250 ok\"}",
	    .campaign = "spring", .recipient = "ann@example.com" };
	char *s;

	(void)state;
	s = webhook_payload(&c);
	assert_string_equal(s, "{\"id\":7,\"event_id\":42,\"type\":"
	    "\"delivered\",\"at\":\"2023-11-14T22:13:20.123Z\",\"campaign\":"
	    "\"spring\",\"recipient\":\"ann@example.com\",\"machine\":false,"
	    "\"detail\":{\"dsn\":\"2.0.0\",\"reply\":\"250 ok\"}}");
	free(s);
}

static void
t_payload_nulls(void **state)
{
	struct store_webhook_call c = { .id = 1, .webhook = "w", .event_id = 2,
	    .type = "opened", .at = 5, .machine = 1, .detail = "not json" };
	char *s;

	(void)state;
	s = webhook_payload(&c);
	assert_string_equal(s, "{\"id\":1,\"event_id\":2,\"type\":\"opened\","
	    "\"at\":\"1970-01-01T00:00:00.005Z\",\"campaign\":null,"
	    "\"recipient\":null,\"machine\":true,\"detail\":{}}");
	free(s);
}

/* ------------------------------------------------------------- secrets */

struct secret_case {
	const char *name;
	const char *content;	/* NULL: no file */
	mode_t mode;
	int code;		/* 0: read */
	const char *want;	/* the secret, or a piece of the error */
};

static const struct secret_case secret_cases[] = {
	{ "secret: 0600, the line end dropped", "s3cret\n", 0600, 0,
	  "s3cret" },
	{ "secret: 0400", "s3cret", 0400, 0, "s3cret" },
	{ "secret: 0644 refused", "s3cret\n", 0644, EX_CONFIG, "chmod 600" },
	{ "secret: 0640 refused", "s3cret\n", 0640, EX_CONFIG, "chmod 600" },
	{ "secret: empty refused", "\n", 0600, EX_CONFIG, "empty" },
	{ "secret: missing file", NULL, 0, EX_CONFIG, "No such file" },
};

static void
t_secret(void **state)
{
	const struct secret_case *c = *state;
	struct config_webhook h = { .name = "w" };
	char *dir = unit_tmpdir(), path[4096], out[WEBHOOK_SECRET_MAX + 1];
	struct err e = { 0 };
	size_t len;
	int rc;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/secret", dir);
	if (c->content != NULL) {
		unit_write(dir, "secret", c->content, strlen(c->content), path,
		    sizeof(path));
		assert_int_equal(chmod(path, c->mode), 0);
	}
	h.secret_file = path;
	rc = webhook_secret(&h, out, &len, &e);
	if (c->code == 0) {
		assert_int_equal(rc, 0);
		assert_string_equal(out, c->want);
		assert_int_equal(len, strlen(c->want));
	} else {
		assert_int_equal(rc, -1);
		assert_int_equal(e.code, c->code);
		assert_non_null(strstr(e.msg, c->want));
	}
	unit_rmtree(dir);
	free(dir);
}

static void
t_secret_env(void **state)
{
	struct config_webhook h = { .name = "w",
	    .secret_env = "POSTBOTE_TEST_WH_SECRET" };
	char out[WEBHOOK_SECRET_MAX + 1];
	struct err e = { 0 };
	size_t len;

	(void)state;
	unsetenv(h.secret_env);
	assert_int_equal(webhook_secret(&h, out, &len, &e), -1);
	assert_int_equal(e.code, EX_CONFIG);
	assert_non_null(strstr(e.msg, "$POSTBOTE_TEST_WH_SECRET"));
	setenv(h.secret_env, "from-env", 1);
	assert_int_equal(webhook_secret(&h, out, &len, &e), 0);
	assert_string_equal(out, "from-env");
	unsetenv(h.secret_env);
}

/* --------------------------------------------------------------- store */

struct fixture {
	char *dir;
	char db[4096];
	struct store *st;
	sqlite3 *raw;		/* a second connection, as another process */
	struct config cfg;
};

/* A port that was free a moment ago: connections to it are refused. */
static int
closed_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t n = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &n), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char json[1024], path[4096];
	struct err e;
	int port = closed_port();

	assert_non_null(f);
	f->dir = unit_tmpdir();
	assert_non_null(f->dir);
	snprintf(f->db, sizeof(f->db), "%s/t.db", f->dir);
	assert_int_equal(store_open(f->db, STORE_CREATE, &f->st, &e), 0);
	assert_int_equal(sqlite3_open(f->db, &f->raw), SQLITE_OK);
	sqlite3_busy_timeout(f->raw, 10000);
	snprintf(json, sizeof(json), "{\"webhooks\": ["
	    "{\"name\": \"a\", \"url\": \"http://127.0.0.1:%d/\", "
	    "\"events\": [\"delivered\"], \"secret_env\": \"PB_T_SECRET\", "
	    "\"retry_base\": \"5s\", \"max_attempts\": 2}, "
	    "{\"name\": \"b\", \"url\": \"http://127.0.0.1:%d/b\", "
	    "\"events\": [\"*\"], \"secret_env\": \"PB_T_SECRET\"}]}",
	    port, port);
	unit_write(f->dir, "postbote.json", json, strlen(json), path,
	    sizeof(path));
	assert_int_equal(config_load(path, 1, &f->cfg, &e), 0);
	setenv("PB_T_SECRET", "k", 1);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	config_free(&f->cfg);
	sqlite3_close(f->raw);
	store_close(f->st);
	unit_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void
raw(struct fixture *f, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(f->raw, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

static int64_t
raw_int(struct fixture *f, const char *sql)
{
	sqlite3_stmt *s;
	int64_t v = -1;

	assert_int_equal(sqlite3_prepare_v2(f->raw, sql, -1, &s, NULL),
	    SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static int
count_call(const struct store_webhook_call *c, void *ctx)
{
	(void)c;
	(*(int *)ctx)++;
	return 0;
}

static void
t_store_sync(void **state)
{
	struct fixture *f = *state;
	struct err e;

	assert_int_equal(store_webhooks_sync(f->st, &f->cfg, &e), 0);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM webhooks WHERE "
	    "(name = 'a' AND events = '[\"delivered\"]') OR "
	    "(name = 'b' AND events = '[\"*\"]')"), 2);
	/* An event at 1000: a for delivered, b for everything. */
	raw(f, "INSERT INTO events(type, at) VALUES ('delivered', 1000), "
	    "('opened', 1000)");
	assert_int_equal(raw_int(f, "SELECT count(*) FROM webhook_outbox"), 3);
	/* b removed: its two pending calls dead, a's untouched. */
	f->cfg.nwebhooks = 1;
	assert_int_equal(store_webhooks_sync(f->st, &f->cfg, &e), 0);
	f->cfg.nwebhooks = 2;
	assert_int_equal(raw_int(f, "SELECT count(*) FROM webhook_outbox "
	    "WHERE webhook = 'b' AND status = 'dead' AND last_error = "
	    "'webhook removed from the config'"), 2);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM webhook_outbox "
	    "WHERE webhook = 'a' AND status = 'pending'"), 1);
	/* The same config again writes nothing. */
	assert_int_equal(store_webhooks_sync(f->st, &f->cfg, &e), 0);
	raw(f, "BEGIN IMMEDIATE");	/* a sync that wrote would wait */
	assert_int_equal(store_webhooks_sync(f->st, &f->cfg, &e), 0);
	raw(f, "COMMIT");
}

static void
t_store_claim(void **state)
{
	struct fixture *f = *state;
	struct store_webhook_outcome o = { 0 };
	struct err e;
	int n = 0, seen = 0;

	assert_int_equal(store_webhooks_sync(f->st, &f->cfg, &e), 0);
	raw(f, "INSERT INTO events(type, at) VALUES ('delivered', 1000)");
	assert_int_equal(store_webhook_claim(f->st, 999, 10, 5000, count_call,
	    &seen, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_webhook_claim(f->st, 1000, 10, 5000,
	    count_call, &seen, &n, &e), 0);
	assert_int_equal(n, 2);
	/* Claimed until 5000: another flusher at 4999 gets nothing. */
	assert_int_equal(store_webhook_claim(f->st, 4999, 10, 9000,
	    count_call, &seen, &n, &e), 0);
	assert_int_equal(n, 0);
	o.id = raw_int(f, "SELECT id FROM webhook_outbox WHERE webhook = 'a'");
	o.status = "pending";
	o.tried = 1;
	o.error = "HTTP 500";
	o.next_attempt_at = 7000;
	assert_int_equal(store_webhook_record(f->st, &o, 1, &e), 0);
	assert_int_equal(raw_int(f, "SELECT attempts * 100000 + "
	    "next_attempt_at FROM webhook_outbox WHERE webhook = 'a'"),
	    107000);
	o.status = "dead";
	o.error = NULL;
	assert_int_equal(store_webhook_record(f->st, &o, 1, &e), 0);
	/* Dead keeps the error before it; a second outcome changes
	   nothing. */
	assert_int_equal(raw_int(f, "SELECT attempts FROM webhook_outbox "
	    "WHERE webhook = 'a' AND status = 'dead' AND last_error = "
	    "'HTTP 500' AND done_at > 0"), 2);
	o.status = "sent";
	assert_int_equal(store_webhook_record(f->st, &o, 1, &e), 0);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM webhook_outbox "
	    "WHERE status = 'dead'"), 1);
}

static int
info_row(const struct webhook_info *w, void *ctx)
{
	char *out = ctx;
	size_t k = strlen(out);

	snprintf(out + k, 512 - k, "%s %s %lld/%lld/%lld/%lld %s;", w->name,
	    w->url ? "url" : "-", (long long)w->pending,
	    (long long)w->retrying, (long long)w->sent, (long long)w->dead,
	    w->last_error ? w->last_error : "-");
	return 0;
}

static void
t_store_each(void **state)
{
	struct fixture *f = *state;
	char out[512] = "";
	struct err e;

	assert_int_equal(store_webhooks_sync(f->st, &f->cfg, &e), 0);
	raw(f, "INSERT INTO events(type, at) VALUES ('delivered', 1000), "
	    "('opened', 1000)");
	raw(f, "UPDATE webhook_outbox SET attempts = 1, last_error = 'x' "
	    "WHERE id = 1");
	raw(f, "UPDATE webhook_outbox SET status = 'sent' WHERE id = 2");
	raw(f, "INSERT INTO webhook_outbox(webhook, event_id, status, "
	    "next_attempt_at, created_at) VALUES ('old', 1, 'dead', 0, 0)");
	assert_int_equal(store_webhook_each(f->st, info_row, out, &e), 0);
	assert_string_equal(out, "a url 1/1/0/0 x;b url 1/0/1/0 -;"
	    "old - 0/0/0/1 -;");
}

/* ------------------------------------------------------------- flusher */

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
t_flusher(void **state)
{
	struct fixture *f = *state;
	struct webhook_flusher *w;
	struct webhook_stats s;
	struct err e;
	int64_t t0;
	int i;

	assert_int_equal(store_webhooks_sync(f->st, &f->cfg, &e), 0);
	raw(f, "INSERT INTO events(type, at) VALUES ('delivered', 1000)");
	w = webhook_flusher_start(f->db, &f->cfg, NULL, &e);
	assert_non_null(w);
	/* Refused at once: each call failed once, scheduled 5 s (a) and
	   30 s (b) on. Generous: the machine may be busy. */
	for (i = 0; i < 200; i++) {
		if (raw_int(f, "SELECT count(*) FROM webhook_outbox WHERE "
		    "attempts = 1 AND status = 'pending'") == 2)
			break;
		usleep(50000);
	}
	assert_int_equal(raw_int(f, "SELECT count(*) FROM webhook_outbox "
	    "WHERE attempts = 1 AND last_error LIKE '%onnect%'"), 2);
	t0 = mono_ms();
	webhook_flusher_stop(w, &s);
	assert_true(mono_ms() - t0 < WEBHOOK_STOP_GRACE_MS + 1500);
	assert_int_equal(s.retried, 2);
	assert_int_equal(s.sent + s.dead, 0);
}

static void
t_flusher_none(void **state)
{
	struct fixture *f = *state;
	struct webhook_stats s = { 1, 1, 1 };
	struct err e;

	f->cfg.nwebhooks = 0;
	assert_null(webhook_flusher_start(f->db, &f->cfg, NULL, &e));
	assert_int_equal(e.code, 0);
	assert_int_equal(webhook_flush(f->st, &f->cfg, 0, NULL, &s, &e), 0);
	assert_int_equal(s.sent + s.retried + s.dead, 0);
	webhook_flusher_stop(NULL, NULL);
	f->cfg.nwebhooks = 2;
}

static void
t_flusher_bad_secret(void **state)
{
	struct fixture *f = *state;
	struct err e;

	unsetenv("PB_T_SECRET");
	assert_null(webhook_flusher_start(f->db, &f->cfg, NULL, &e));
	assert_int_equal(e.code, EX_CONFIG);
	assert_int_equal(webhook_check(&f->cfg, &e), -1);
}

int
main(void)
{
	struct unit_tests u = { 0 };
	size_t from;

	unit_add(&u, "sign: t=,v1= over a Python hmac vector", t_sign_vector,
	    NULL);
	unit_add(&u, "sign: a buffer too small", t_sign_small_buffer, NULL);
	UNIT_TABLE(&u, backoff_cases, t_backoff);
	unit_add(&u, "payload: every field, detail as an object", t_payload,
	    NULL);
	unit_add(&u, "payload: nulls, machine, bad detail as {}",
	    t_payload_nulls, NULL);
	UNIT_TABLE(&u, secret_cases, t_secret);
	unit_add(&u, "secret: from the environment", t_secret_env, NULL);
	from = u.n;
	unit_add(&u, "store: sync, the trigger, removal dead-letters",
	    t_store_sync, NULL);
	unit_add(&u, "store: claims, outcomes", t_store_claim, NULL);
	unit_add(&u, "store: counts per webhook", t_store_each, NULL);
	unit_add(&u, "flusher: refused calls retried, a prompt stop",
	    t_flusher, NULL);
	unit_add(&u, "flusher: none without webhooks", t_flusher_none, NULL);
	unit_add(&u, "flusher: a bad secret fails the start",
	    t_flusher_bad_secret, NULL);
	unit_fixture(&u, from, setup, teardown);
	return unit_run(&u, "webhook", NULL, NULL);
}
