/*
 * cmd_init.c - postbote init.
 */
#include <sysexits.h>

#include "cli.h"
#include "store.h"

int
cmd_init(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	struct store *st;
	struct err e;
	int ch, created, rc = 0;

	while ((ch = cli_getopt(c, argc, argv, "h", opts)) != -1) {
		if (ch == 'h') {
			printf("usage: postbote init\n\nCreates the database "
			    "(or upgrades its schema) and a secret for "
			    "tracking tokens.\n");
			return 0;
		}
		return EX_USAGE;
	}
	if (cli_args(c, argc, argv, 0, "no arguments") != 0)
		return EX_USAGE;
	if (store_open(c->db, STORE_CREATE, &st, &e) < 0)
		return cli_fail(c, &e);
	if (store_ensure_secret(st, "tracking_secret", 32, &created, &e) < 0)
		rc = cli_fail(c, &e);
	else if (c->tty)
		printf("%s: schema version %d%s\n", c->db, store_version(st),
		    created ? ", new tracking secret" : "");
	else
		out_kv("database=%s schema=%d", c->db, store_version(st));
	store_close(st);
	return rc;
}
