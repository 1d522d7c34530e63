/*
 * fuzz_audience.c - libFuzzer target: the segment guard (store_segment.c)
 * under the real audience queries. fuzz_segment.c stops at the compiler;
 * here each input that compiles is counted over a store of recipients
 * with JSON attributes (store_audience_count(): the authorizer, the bound
 * literals, the deadline), and when it counts, a campaign with it is
 * created and started, which materialises the audience through the same
 * guard inside an INSERT.
 *
 * What must hold, besides never crashing:
 *   - counting writes nothing: no row changed, the schema unchanged;
 *   - a refusal is the user's (EX_DATAERR), never the store's;
 *   - 0 <= suppressed <= matching <= members of the list, whatever the
 *     other list and the suppressions hold;
 *   - starting the campaign creates exactly the eligible count of
 *     deliveries: what was counted is what is reached.
 * After a start the store is restored from a copy taken at setup (the
 * SQLite backup API), so every input meets the same store and a
 * reproducer reproduces.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "import.h"
#include "store.h"
#include "store_int.h"
#include "xalloc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEMBERS	9	/* rows of list "fz" below */

/* List "fz": attributes of every JSON type, an IDN domain, a member
   also on "other", members that suppressions below keep out. */
static const char list_fz[] =
    "{\"email\":\"anna@example.com\",\"country\":\"DE\",\"plan\":\"pro\","
    "\"seats\":5,\"trial\":true,\"first name\":\"Anna\","
    "\"address\":{\"city\":\"Berlin\",\"zip\":\"10115\"}}\n"
    "{\"email\":\"bob@example.org\",\"country\":\"FR\",\"plan\":\"team\","
    "\"seats\":12,\"score\":1.5,\"tags\":[\"a\",\"b\"]}\n"
    "{\"email\":\"jürgen@bücher.de\",\"country\":\"DE\",\"plan\":\"free\","
    "\"seats\":0,\"trial\":false,\"address\":{\"city\":\"Bremen\"}}\n"
    "{\"email\":\"chloe@example.net\",\"country\":\"\",\"seats\":-3,"
    "\"nested\":{\"a\":{\"b\":null}},\"x\":\"1.5\"}\n"
    "{\"email\":\"dave@suppressed.example\",\"plan\":\"pro\",\"seats\":7}\n"
    "{\"email\":\"erin@example.com\",\"plan\":\"pro\",\"quote\":\"it's\","
    "\"big\":9223372036854775807}\n"
    "{\"email\":\"frank@example.com\",\"country\":\"de\",\"seats\":5.0}\n"
    "{\"email\":\"shared@example.com\",\"plan\":\"team\"}\n"
    "{\"email\":\"gina@example.org\",\"empty\":{},\"list\":[]}\n";
static const char list_other[] =
    "{\"email\":\"shared@example.com\",\"plan\":\"team\"}\n"
    "{\"email\":\"outsider@example.com\",\"country\":\"DE\",\"plan\":\"pro\","
    "\"seats\":5,\"trial\":true}\n"
    "{\"email\":\"outsider2@example.com\",\"plan\":\"pro\"}\n";

static struct store *st;
static sqlite3 *pristine;	/* the store as setup left it */
static int64_t list_id;

static void
on_event(const struct import_event *ev, void *ctx)
{
	(void)ev;
	(void)ctx;
}

static void
import(const char *list, const char *rows)
{
	struct import_opts io = { .format = IMPORT_JSONL, .create_list = 1,
	    .strict = 1 };
	struct import_stats stats;
	char path[] = "/tmp/postbote-fuzz-audience-XXXXXX";
	struct err e;
	FILE *fp;
	int fd;

	if ((fd = mkstemp(path)) < 0 || (fp = fdopen(fd, "wb")) == NULL)
		abort();
	fputs(rows, fp);
	fclose(fp);
	if (import_file(st, list, path, &io, &stats, on_event, NULL, &e) < 0) {
		fprintf(stderr, "fuzz_audience: %s\n", e.msg);
		abort();
	}
	unlink(path);
}

static void
copy_db(sqlite3 *to, sqlite3 *from)
{
	sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");

	if (b == NULL || sqlite3_backup_step(b, -1) != SQLITE_DONE ||
	    sqlite3_backup_finish(b) != SQLITE_OK) {
		fprintf(stderr, "fuzz_audience: backup: %s\n",
		    sqlite3_errmsg(to));
		abort();
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct err e;
	int added, version;

	(void)argc;
	(void)argv;
	if (store_open(":memory:", STORE_CREATE, &st, &e) < 0)
		goto fail;
	import("fz", list_fz);
	import("other", list_other);
	if (store_list_id(st, "fz", &list_id, &e) < 0 ||
	    store_suppress_add(st, "domain", "suppressed.example", NULL,
	    "test", "fuzz", &added, &e) < 0 ||
	    store_suppress_add(st, "address", "bob@example.org", "fz",
	    "test", "fuzz", &added, &e) < 0 ||
	    store_suppress_add(st, "address", "outsider@example.com", NULL,
	    "test", "fuzz", &added, &e) < 0 ||
	    store_suppress_add(st, "address", "shared@example.com", "other",
	    "test", "fuzz", &added, &e) < 0 ||
	    store_template_add(st, "t", "Hi", "<p>Hi</p>", NULL, &version,
	    &e) < 0)
		goto fail;
	if (sqlite3_open(":memory:", &pristine) != SQLITE_OK)
		abort();
	copy_db(pristine, st->db);
	return 0;
fail:
	fprintf(stderr, "fuzz_audience: setup: %s\n", e.msg);
	abort();
}

static int64_t
schema_version(void)
{
	sqlite3_stmt *stmt;
	int64_t v = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA schema_version", -1, &stmt,
	    NULL) != SQLITE_OK)
		abort();
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

static int
same_audience(const struct audience *a, const struct audience *b)
{
	return a->members == b->members && a->matching == b->matching &&
	    a->suppressed == b->suppressed && a->eligible == b->eligible;
}

/* A campaign with the segment, started: deliveries for exactly the
   eligible members. Then the store as it was. */
static void
materialise(const char *segment, const struct audience *aud)
{
	struct campaign_spec spec = { .name = "fz", .list = "fz",
	    .template_name = "t", .segment = segment,
	    .from_addr = "news@example.com" };
	struct audience again;
	int64_t created = -1;
	struct err e;

	if (store_campaign_create(st, &spec, &again, &e) < 0 ||
	    store_campaign_start(st, "fz", &created, &e) < 0) {
		fprintf(stderr, "fuzz_audience: counted, then: %s\n", e.msg);
		abort();
	}
	if (!same_audience(aud, &again) || created != aud->eligible) {
		fprintf(stderr, "fuzz_audience: counted %lld eligible, "
		    "started %lld deliveries\n", (long long)aud->eligible,
		    (long long)created);
		abort();
	}
	copy_db(st->db, pristine);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *segment = xstrndup((const char *)data, size);
	int64_t changes = sqlite3_total_changes64(st->db);
	int64_t schema = schema_version();
	struct audience aud;
	struct err e = { 0 };
	int rc;

	rc = store_audience_count(st, list_id, segment, &aud, &e);
	if (sqlite3_total_changes64(st->db) != changes ||
	    schema_version() != schema) {
		fprintf(stderr, "fuzz_audience: counting wrote\n");
		abort();
	}
	if (rc < 0 && e.code != EX_DATAERR) {
		fprintf(stderr, "fuzz_audience: not the user's error (%d): "
		    "%s\n", e.code, e.msg);
		abort();
	}
	if (rc == 0) {
		if (aud.members != MEMBERS || aud.matching < 0 ||
		    aud.matching > aud.members || aud.suppressed < 0 ||
		    aud.suppressed > aud.matching ||
		    aud.eligible != aud.matching - aud.suppressed) {
			fprintf(stderr, "fuzz_audience: members %lld matching "
			    "%lld suppressed %lld\n", (long long)aud.members,
			    (long long)aud.matching,
			    (long long)aud.suppressed);
			abort();
		}
		materialise(segment, &aud);
	}
	free(segment);
	return 0;
}
