/*
 * cmd_webhooks.c - postbote webhooks flush | ls: the calls the outbox
 * holds for the config's webhooks, sent now or counted.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "config.h"
#include "store.h"
#include "webhook.h"

static void
wh_flush_report(struct cli *c, const struct webhook_stats *s)
{
	if (!c->tty) {
		out_kv("sent=%lld retried=%lld dead=%lld", (long long)s->sent,
		    (long long)s->retried, (long long)s->dead);
		return;
	}
	if (s->sent + s->retried + s->dead == 0) {
		printf("no webhook calls were due\n");
		return;
	}
	printf("webhooks: %lld sent, %lld failed and scheduled again, %lld "
	    "dead-lettered\n", (long long)s->sent, (long long)s->retried,
	    (long long)s->dead);
}

static int
wh_flush_cmd(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "log", required_argument, NULL, 'l' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 }
	};
	struct webhook_stats s;
	struct store *st;
	const char *log = NULL;
	struct err e;
	FILE *fp;
	int ch, rc, quiet = 0;

	while ((ch = cli_getopt(c, argc, argv, "", opts)) != -1) {
		if (ch == 'l')
			log = optarg;
		else if (ch == 'q')
			quiet = 1;
		else
			return EX_USAGE;
	}
	if (cli_args(c, argc, argv, 0, "no arguments") != 0)
		return EX_USAGE;
	if ((rc = cli_log_open(c, log, quiet, &fp)) != 0)
		return rc;
	if ((rc = cli_open(c, &st)) != 0)
		goto out;
	/* The table decides which events get calls: synced first, so a
	   webhook just added hears of the next event, and the calls of one
	   just removed are dead-lettered instead of sent. A bad secret
	   stops all this before anything changed. */
	if (webhook_check(c->cfg, &e) < 0 ||
	    store_webhooks_sync(st, c->cfg, &e) < 0 ||
	    webhook_flush(st, c->cfg, store_now_ms(), fp, &s, &e) < 0)
		rc = cli_fail(c, &e);
	else
		wh_flush_report(c, &s);
	store_close(st);
out:
	if (fp != NULL && fp != stderr && fp != stdout)
		fclose(fp);
	return rc;
}

/* ----------------------------------------------------------------- ls */

static json_t *
wh_events_json(const struct config_webhook *h)
{
	json_t *a = json_array();
	size_t k;

	for (k = 0; k < h->nevents; k++)
		json_array_append_new(a, json_string(h->events[k]));
	return a;
}

/* The store's counts by name, whatever the config says. */
static int
wh_ls_row(const struct webhook_info *w, void *ctx)
{
	json_t *byname = ctx;

	return json_object_set_new(byname, w->name, json_pack("{s:s?, "
	    "s:o?, s:I, s:I, s:I, s:I, s:o, s:s?}", "url", w->url,
	    "events", w->events ? json_loads(w->events, 0, NULL) : NULL,
	    "pending", (json_int_t)w->pending,
	    "retrying", (json_int_t)w->retrying, "sent", (json_int_t)w->sent,
	    "dead", (json_int_t)w->dead, "next_attempt",
	    out_json_time(w->next_at), "last_error", w->last_error));
}

static json_t *
wh_ls_item(const char *name, json_t *counts, json_t *url, json_t *events,
    int configured)
{
	static const char *keys[] = { "pending", "retrying", "sent", "dead",
	    "next_attempt", "last_error" };
	json_t *v = json_pack("{s:s, s:O, s:O, s:b}", "name", name, "url",
	    url, "events", events, "configured", configured);
	json_t *x;
	size_t k;

	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		x = json_object_get(counts, keys[k]);
		json_object_set_new(v, keys[k], x != NULL ? json_incref(x) :
		    k < 4 ? json_integer(0) : json_null());
	}
	return v;
}

/* The config's webhooks in its order, then those only the store knows
   (removed from the config, their calls still counted). */
static json_t *
wh_ls_list(struct cli *c, json_t *byname)
{
	const struct config_webhook *h;
	json_t *all = json_array(), *events, *v;
	const char *name;
	size_t i;

	for (i = 0; i < c->cfg->nwebhooks; i++) {
		h = &c->cfg->webhooks[i];
		events = wh_events_json(h);
		v = json_string(h->url);
		json_array_append_new(all, wh_ls_item(h->name,
		    json_object_get(byname, h->name), v, events, 1));
		json_decref(v);
		json_decref(events);
		json_object_del(byname, h->name);
	}
	json_object_foreach(byname, name, v)
		json_array_append_new(all, wh_ls_item(name, v,
		    json_object_get(v, "url"), json_object_get(v, "events"),
		    0));
	return all;
}

static void
wh_ls_events(json_t *events, char *out, size_t n)
{
	json_t *x;
	size_t i, k = 0;

	out[0] = '\0';
	json_array_foreach(events, i, x)
		k += (size_t)snprintf(out + k, k < n ? n - k : 0, "%s%s",
		    i ? "," : "", json_string_value(x));
	if (k == 0)
		snprintf(out, n, "-");
}

static int
wh_ls_table(struct cli *c, json_t *all)
{
	static const char *head[] = { "NAME", "URL", "EVENTS", "PENDING",
	    "RETRYING", "SENT", "DEAD", "LAST ERROR" };
	char events[512], num[4][24];
	const char *cells[8];
	struct table t;
	json_t *v;
	size_t i;
	int k;

	out_table_begin(&t, c->tty, 8, head);
	json_array_foreach(all, i, v) {
		cells[0] = json_string_value(json_object_get(v, "name"));
		cells[1] = json_is_true(json_object_get(v, "configured")) ?
		    json_string_value(json_object_get(v, "url")) :
		    "(not in the config)";
		wh_ls_events(json_object_get(v, "events"), events,
		    sizeof(events));
		cells[2] = events;
		for (k = 0; k < 4; k++) {
			snprintf(num[k], sizeof(num[k]), "%lld", (long long)
			    json_integer_value(json_object_get(v, k == 0 ?
			    "pending" : k == 1 ? "retrying" : k == 2 ? "sent" :
			    "dead")));
			cells[3 + k] = num[k];
		}
		cells[7] = json_string_value(json_object_get(v, "last_error"));
		if (cells[7] == NULL)
			cells[7] = "-";
		if (out_table_row(&t, cells) < 0)
			break;
	}
	return out_table_end(&t);
}

static int
wh_ls_cmd(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	json_t *byname, *all;
	struct store *st;
	struct err e;
	int ch, rc, json = 0;

	while ((ch = cli_getopt(c, argc, argv, "", opts)) != -1) {
		if (ch == 'j')
			json = 1;
		else
			return EX_USAGE;
	}
	if (cli_args(c, argc, argv, 0, "no arguments") != 0)
		return EX_USAGE;
	if ((rc = cli_open(c, &st)) != 0)
		return rc;
	byname = json_object();
	if (store_webhook_each(st, wh_ls_row, byname, &e) < 0) {
		rc = cli_fail(c, &e);
		goto out;
	}
	all = wh_ls_list(c, byname);
	if (json)
		rc = out_json(c, all) < 0 ? EX_IOERR : 0;
	else {
		if (wh_ls_table(c, all) < 0)
			rc = EX_IOERR;
		json_decref(all);
	}
out:
	json_decref(byname);
	store_close(st);
	return rc;
}

const struct cli_cmd cmd_webhooks[] = {
	{ "flush", wh_flush_cmd, "send the webhook calls that are due",
	  "flush [--log FILE | --quiet]\n\n"
	  "Updates the store's webhooks from the config (the calls of a\n"
	  "webhook no longer configured are dead-lettered), then POSTs every\n"
	  "call that is due, signed with the webhook's secret. A call that\n"
	  "fails (not a 2xx answer, a timeout, a refused connection) is tried\n"
	  "again after retry_base, doubling each time up to an hour, and is\n"
	  "dead after max_attempts; the exit status is still 0. `send`\n"
	  "flushes as it goes; run this from cron for the retries.\n\n"
	  "  --log FILE     append one line per call to FILE (\"-\": stdout);\n"
	  "                 default stderr\n"
	  "  --quiet        no line per call\n\n"
	  "Prints sent=N retried=N dead=N (a sentence on a terminal). Exit 78\n"
	  "when a secret cannot be read or its file is readable by others.\n" },
	{ "ls", wh_ls_cmd, "the webhooks and their calls",
	  "ls [--json]\n\n"
	  "Each webhook of the config, and each the store still holds calls\n"
	  "for: URL, events, calls pending (of which retrying after a\n"
	  "failure), sent and dead, and the last error of a pending call.\n" },
	{ NULL, NULL, NULL, NULL }
};
