/*
 * cmd_status.c - postbote status CAMPAIGN: live progress from the store,
 * also while another process sends (it reports its state with its lease).
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "store.h"

struct status_view {
	json_t *deliveries;	/* status -> count */
	json_t *sender;		/* the run's report; NULL: none running */
	char status[16];
	char owner[256];
	int64_t lease_left_ms;
	int64_t id;
};

static int
status_live(const struct store_live *v, void *ctx)
{
	struct status_view *sv = ctx;
	int64_t now = store_now_ms();

	sv->id = v->id;
	snprintf(sv->status, sizeof(sv->status), "%s", v->status);
	/* A lapsed lease is a run that died: nothing is sending. */
	if (v->owner != NULL && v->lease_until > now) {
		snprintf(sv->owner, sizeof(sv->owner), "%s", v->owner);
		sv->lease_left_ms = v->lease_until - now;
		if (v->state != NULL)
			sv->sender = json_loads(v->state, 0, NULL);
	}
	return 0;
}

static int
status_count(const char *key, int64_t n, void *ctx)
{
	struct status_view *sv = ctx;

	return json_object_set_new(sv->deliveries, key, json_integer(n));
}

static void
status_text(struct cli *c, const char *name, struct status_view *sv)
{
	const char *key;
	json_t *v, *d;
	size_t i;

	if (!c->tty) {
		printf("campaign=%s status=%s sending=%d", name, sv->status,
		    sv->owner[0] != '\0');
		json_object_foreach(sv->deliveries, key, v)
			printf(" %s=%lld", key, (long long)json_integer_value(v));
		printf("\n");
		json_array_foreach(json_object_get(sv->sender, "domains"), i,
		    d)
			printf("domain=%s state=%s queued=%lld inflight=%lld "
			    "connections=%lld rate_factor=%.2f\n",
			    json_string_value(json_object_get(d, "domain")),
			    json_string_value(json_object_get(d, "state")),
			    json_integer_value(json_object_get(d, "queued")),
			    json_integer_value(json_object_get(d, "inflight")),
			    json_integer_value(json_object_get(d,
			    "connections")), json_real_value(json_object_get(d,
			    "rate_factor")));
		return;
	}
	printf("campaign %s is %s", name, sv->status);
	if (sv->owner[0] != '\0')
		printf(", being sent by %s", sv->owner);
	printf("\ndeliveries:");
	json_object_foreach(sv->deliveries, key, v)
		printf(" %s %lld", key, (long long)json_integer_value(v));
	printf("\n");
	if (sv->sender == NULL)
		return;
	printf("this run: %lld due, %lld delivered, %lld deferred, %lld "
	    "bounced, %lld connections, %lld throttling signals\n",
	    json_integer_value(json_object_get(sv->sender, "due")),
	    json_integer_value(json_object_get(sv->sender, "delivered")),
	    json_integer_value(json_object_get(sv->sender, "deferred")),
	    json_integer_value(json_object_get(sv->sender, "bounced")),
	    json_integer_value(json_object_get(sv->sender, "connections")),
	    json_integer_value(json_object_get(sv->sender,
	    "throttle_signals")));
	printf("%-32s %-10s %6s %8s %5s %5s  %s\n", "domain", "state",
	    "queued", "inflight", "conns", "rate", "why");
	json_array_foreach(json_object_get(sv->sender, "domains"), i, d)
		printf("%-32s %-10s %6lld %8lld %5lld %5.2f  %s\n",
		    json_string_value(json_object_get(d, "domain")),
		    json_string_value(json_object_get(d, "state")),
		    json_integer_value(json_object_get(d, "queued")),
		    json_integer_value(json_object_get(d, "inflight")),
		    json_integer_value(json_object_get(d, "connections")),
		    json_real_value(json_object_get(d, "rate_factor")),
		    json_string_value(json_object_get(d, "why")));
}

int
cmd_status(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct status_view sv;
	struct store *st;
	struct err e;
	int ch, rc, json = 0;

	while ((ch = cli_getopt(c, argc, argv, "h", opts)) != -1) {
		if (ch == 'h') {
			printf("usage: postbote status CAMPAIGN [--json]\n\n"
			    "Deliveries per status, and, while a send runs "
			    "(in any process), what it\nreports every 2 s: "
			    "each domain it is working on with its queue,\n"
			    "connections and state (active, resolving, "
			    "throttled, suspended, waiting,\nfailed) and "
			    "why.\n");
			return 0;
		}
		if (ch == 'j')
			json = 1;
		else
			return EX_USAGE;
	}
	if (cli_args(c, argc, argv, 1, "CAMPAIGN") != 0)
		return EX_USAGE;
	if ((rc = cli_open(c, &st)) != 0)
		return rc;
	memset(&sv, 0, sizeof(sv));
	sv.deliveries = json_object();
	if (store_send_live(st, argv[optind], status_live, &sv, &e) < 0 ||
	    store_delivery_counts(st, sv.id, status_count, &sv, &e) < 0)
		rc = cli_fail(c, &e);
	else if (json)
		rc = out_json(c, json_pack("{s:s, s:s, s:O, s:s?, s:I, s:O?}",
		    "campaign", argv[optind], "status", sv.status,
		    "deliveries", sv.deliveries, "sender", sv.owner[0] ?
		    sv.owner : NULL, "lease_left_ms",
		    (json_int_t)sv.lease_left_ms, "run", sv.sender));
	else
		status_text(c, argv[optind], &sv);
	json_decref(sv.deliveries);
	json_decref(sv.sender);
	store_close(st);
	return rc;
}
