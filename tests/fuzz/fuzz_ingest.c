/*
 * fuzz_ingest.c - libFuzzer target: `bounce ingest` past the parser
 * (fuzz_inbound.c covers that): ingest_message() tying a message to a
 * delivery by its signed VERP return path, unsubscribe address or
 * Message-ID, classifying it and recording the outcome in a store.
 *
 * The store holds campaign 1 on list "fz": recipients 1 and 2 delivered,
 * 3 still pending, under a fixed tracking secret, so seeds can carry real
 * tokens (tests/fuzz/corpus/ingest: the inbound fixtures filled in for
 * recipient 1 or 2). The first byte of an input picks the envelope
 * recipient, modulo 4:
 *   '0' none, '1' recipient 1's return path, '2' recipient 2's
 *   unsubscribe address, '3' a return path whose token does not verify;
 * the rest is the message.
 *
 * What must hold, besides never crashing:
 *   - the store never fails (it is in memory): ingest_message() returns 0;
 *   - the outcome's strings end inside their fields;
 *   - a message that is refused, tied to nothing, forged, a duplicate or
 *     a success DSN changes nothing in the store;
 *   - anything recorded names a delivery that exists, and changed the
 *     store; a valid token names only deliveries we signed.
 * The store is restored from a copy taken at setup after every input
 * (the SQLite backup API), so every input meets the same store.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "import.h"
#include "ingest.h"
#include "store.h"
#include "store_int.h"
#include "track.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Seeds carry tokens made with this secret; change it and they go stale. */
#define SECRET	"0123456789abcdef0123456789abcdef" \
		"0123456789abcdef0123456789abcdef"
#define RETURN_DOMAIN	"bounce.example.com"

#define TERMINATED(f)	(memchr((f), '\0', sizeof(f)) != NULL)

static const char members[] =
    "{\"email\":\"r1@a.test\",\"name\":\"One\"}\n"
    "{\"email\":\"r2@a.test\",\"name\":\"Two\"}\n"
    "{\"email\":\"r3@b.test\",\"name\":\"Three\"}\n";

/* min_volume 1: the rate guard judges from the first message, so a
   complaint or hard bounce can pause the campaign. */
static const char config[] =
    "{\"bounces\": {\"return_path_domain\": \"" RETURN_DOMAIN "\"},"
    " \"feedback\": {\"min_volume\": 1, \"complaint_rate_pause\": 0.2,"
    " \"complaint_rate_warn\": 0.05}}";

static struct store *st;
static struct config cfg;
static struct ingest *ig;
static sqlite3 *pristine;
static char envelope[4][128];

static void
on_event(const struct import_event *ev, void *ctx)
{
	(void)ev;
	(void)ctx;
}

static void
scratch(char *path, const char *text)
{
	int fd = mkstemp(path);
	FILE *fp;

	if (fd < 0 || (fp = fdopen(fd, "wb")) == NULL)
		abort();
	fputs(text, fp);
	fclose(fp);
}

static void
copy_db(sqlite3 *to, sqlite3 *from)
{
	sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");

	if (b == NULL || sqlite3_backup_step(b, -1) != SQLITE_DONE ||
	    sqlite3_backup_finish(b) != SQLITE_OK) {
		fprintf(stderr, "fuzz_ingest: backup: %s\n",
		    sqlite3_errmsg(to));
		abort();
	}
}

static void
sql(const char *text)
{
	char *msg = NULL;

	if (sqlite3_exec(st->db, text, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "fuzz_ingest: %s: %s\n", text, msg);
		abort();
	}
}

/* The envelope recipients an input's first byte picks from. */
static void
envelopes(void)
{
	char tok[TRACK_TOKEN_MAX];
	struct track_key key;
	struct track_mac *mac;
	struct err e;

	if (track_key_from_hex(SECRET, &key, &e) < 0 ||
	    (mac = track_mac_new(&key)) == NULL)
		abort();
	track_token(mac, TRACK_BOUNCE, 1, 1, 0, tok);
	snprintf(envelope[1], sizeof(envelope[1]), "bounces+%s@%s", tok,
	    RETURN_DOMAIN);
	track_token(mac, TRACK_UNSUBSCRIBE, 1, 2, 0, tok);
	snprintf(envelope[2], sizeof(envelope[2]), "unsubscribe+%s@%s", tok,
	    RETURN_DOMAIN);
	track_token(mac, TRACK_BOUNCE, 1, 3, 0, tok);
	tok[3] = tok[3] == 'A' ? 'B' : 'A';
	snprintf(envelope[3], sizeof(envelope[3]), "bounces+%s@%s", tok,
	    RETURN_DOMAIN);
	/* FUZZ_INGEST_TOKENS=1 prints what seeds need for recipients 1-4
	   (4: a valid token of no delivery). */
	if (getenv("FUZZ_INGEST_TOKENS") != NULL) {
		static const enum track_kind kinds[] = { TRACK_BOUNCE,
		    TRACK_UNSUBSCRIBE, TRACK_MESSAGE };
		int r, k;

		for (r = 1; r <= 4; r++)
			for (k = 0; k < 3; k++) {
				track_token(mac, kinds[k], 1, r, 0, tok);
				printf("%d\t%c\t%s\n", r, kinds[k], tok);
			}
	}
	track_mac_free(mac);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct import_opts io = { .format = IMPORT_JSONL, .create_list = 1,
	    .strict = 1 };
	struct campaign_spec spec = { .name = "c1", .list = "fz",
	    .template_name = "t", .from_addr = "news@example.com" };
	char list_path[] = "/tmp/postbote-fuzz-ingest-XXXXXX";
	char cfg_path[] = "/tmp/postbote-fuzz-ingest-XXXXXX";
	struct import_stats stats;
	struct audience aud;
	int64_t created;
	struct err e;
	int version;

	(void)argc;
	(void)argv;
	scratch(list_path, members);
	scratch(cfg_path, config);
	if (config_load(cfg_path, 1, &cfg, &e) < 0 ||
	    store_open(":memory:", STORE_CREATE, &st, &e) < 0 ||
	    store_setting_set(st, "tracking_secret", SECRET, &e) < 0 ||
	    import_file(st, "fz", list_path, &io, &stats, on_event, NULL,
	    &e) < 0 ||
	    store_template_add(st, "t", "Hi", "<p>Hi</p>", NULL, &version,
	    &e) < 0 ||
	    store_campaign_create(st, &spec, &aud, &e) < 0 ||
	    store_campaign_start(st, "c1", &created, &e) < 0 ||
	    ingest_open(st, &cfg, &ig, &e) < 0) {
		fprintf(stderr, "fuzz_ingest: setup: %s\n", e.msg);
		abort();
	}
	unlink(list_path);
	unlink(cfg_path);
	sql("UPDATE deliveries SET status = 'delivered', attempts = 1, "
	    "done_at = updated_at WHERE recipient_id IN (1, 2)");
	sql("UPDATE campaigns SET sent_count = 2");
	envelopes();
	if (sqlite3_open(":memory:", &pristine) != SQLITE_OK)
		abort();
	copy_db(pristine, st->db);
	return 0;
}

/* What the store holds that ingest may change, as one string. */
static char *
state(void)
{
	sqlite3_stmt *stmt;
	char *s;

	if (sqlite3_prepare_v2(st->db, "SELECT (SELECT count(*) FROM events) "
	    "|| '/' || (SELECT count(*) FROM suppressions) || '/' || "
	    "(SELECT count(*) FROM inbound_review) || '/' || "
	    "(SELECT count(*) FROM webhook_outbox) || '/' || "
	    "(SELECT group_concat(status || ',' || ifnull(bounce_class, ''), "
	    "';') FROM deliveries) || '/' || (SELECT group_concat(status || "
	    "',' || sent_count || ',' || hard_bounces || ',' || complaints || "
	    "',' || ifnull(paused_reason, ''), ';') FROM campaigns)", -1,
	    &stmt, NULL) != SQLITE_OK || sqlite3_step(stmt) != SQLITE_ROW) {
		fprintf(stderr, "fuzz_ingest: state: %s\n",
		    sqlite3_errmsg(st->db));
		abort();
	}
	s = strdup((const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	if (s == NULL)
		abort();
	return s;
}

static void
check(const struct ingest_outcome *o, const char *before, const char *after)
{
	int changed = strcmp(before, after) != 0;

	if ((unsigned)o->what >= INGEST_NWHAT || !TERMINATED(o->campaign) ||
	    !TERMINATED(o->address) || !TERMINATED(o->bounce_class) ||
	    !TERMINATED(o->status) || !TERMINATED(o->reason) ||
	    !TERMINATED(o->warning))
		abort();
	switch (o->what) {
	case INGEST_BOUNCE:
	case INGEST_DELAYED:
	case INGEST_COMPLAINT:
	case INGEST_UNSUBSCRIBE:
	case INGEST_REPLY:
	case INGEST_AUTO_REPLY:
	case INGEST_REVIEW:
		if (o->campaign_id != 1 || o->recipient_id < 1 ||
		    o->recipient_id > 3 || strcmp(o->campaign, "c1") != 0 ||
		    !changed) {
			fprintf(stderr, "fuzz_ingest: %s for %lld/%lld, store "
			    "%s\n", ingest_what_name(o->what),
			    (long long)o->campaign_id,
			    (long long)o->recipient_id,
			    changed ? "changed" : "unchanged");
			abort();
		}
		break;
	default:
		if (changed) {
			fprintf(stderr, "fuzz_ingest: %s changed the store:\n"
			    "  %s\n  %s\n", ingest_what_name(o->what), before,
			    after);
			abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ingest_outcome out;
	struct err e = { 0 };
	const char *env;
	char *before, *after;

	if (size < 1)
		return 0;
	env = data[0] % 4 ? envelope[data[0] % 4] : NULL;
	before = state();
	if (ingest_message(ig, (const char *)data + 1, size - 1, env, &out,
	    &e) < 0) {
		fprintf(stderr, "fuzz_ingest: the store failed (%d): %s\n",
		    e.code, e.msg);
		abort();
	}
	after = state();
	check(&out, before, after);
	if (strcmp(before, after) != 0)
		copy_db(st->db, pristine);
	free(before);
	free(after);
	return 0;
}
