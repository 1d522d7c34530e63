/*
 * cmd_bounce.c - postbote bounce ingest: bounces, complaints, mailto
 * unsubscribes, replies and auto-replies from files, stdin (an MTA's
 * pipe), a maildir or an mbox.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

#include "cli.h"
#include "config.h"
#include "inbound.h"
#include "ingest.h"
#include "store.h"
#include "xalloc.h"

struct ingest_run {
	struct cli *c;
	struct ingest *ig;
	const char *rcpt;	/* the envelope recipient, or NULL */
	struct jarr json;
	int64_t count[INGEST_NWHAT];
	int failed;		/* the store failed: stop, exit with it */
	struct err err;
};

static void
report(struct ingest_run *run, const char *source,
    const struct ingest_outcome *o)
{
	const char *what = ingest_what_name(o->what);

	if (o->paused)
		fprintf(stderr, "postbote bounce ingest: campaign %s paused "
		    "itself: %s\n", o->campaign, o->warning);
	else if (o->warning[0])
		fprintf(stderr, "postbote bounce ingest: campaign %s: "
		    "warning: %s\n", o->campaign, o->warning);
	if (run->json.on) {
		out_jarr_add(&run->json, json_pack("{s:s, s:s, s:s?, s:s?, "
		    "s:s?, s:s?, s:s, s:b}", "source", source, "outcome", what,
		    "campaign", o->campaign[0] ? o->campaign : NULL,
		    "recipient", o->address[0] ? o->address : NULL,
		    "class", o->bounce_class[0] ? o->bounce_class : NULL,
		    "status", o->status[0] ? o->status : NULL, "reason",
		    o->reason, "suppressed", o->suppressed));
		return;
	}
	if (!run->c->tty) {
		printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", source, what,
		    o->campaign[0] ? o->campaign : "-",
		    o->address[0] ? o->address : "-",
		    o->bounce_class[0] ? o->bounce_class : "-",
		    o->status[0] ? o->status : "-", o->reason);
		return;
	}
	printf("%s: %s", source, what);
	if (o->bounce_class[0])
		printf(" (%s%s%s)", o->bounce_class, o->status[0] ? " " : "",
		    o->status);
	if (o->address[0])
		printf(" for %s in %s", o->address, o->campaign);
	printf("%s%s%s\n", o->reason[0] ? ": " : "", o->reason,
	    o->suppressed ? "; suppressed" : "");
}

/* One message; -1 stops the run (the store failed). */
static int
ingest_one(struct ingest_run *run, const char *source, const char *msg,
    size_t len)
{
	struct ingest_outcome o;

	if (msg == NULL) {
		memset(&o, 0, sizeof(o));
		o.what = INGEST_REJECTED;
		snprintf(o.reason, sizeof(o.reason), "larger than %d bytes",
		    LIMIT_INBOUND_SIZE);
	} else if (ingest_message(run->ig, msg, len, run->rcpt, &o,
	    &run->err) < 0) {
		run->failed = 1;
		return -1;
	}
	run->count[o.what]++;
	report(run, source, &o);
	return 0;
}

/*
 * Reads all of fp, keeping at most LIMIT_INBOUND_SIZE bytes: the rest of
 * a larger message is read and dropped so the MTA piping it sees it
 * taken. *data NULL: it was larger.
 */
static int
read_message(FILE *fp, const char *path, char **data, size_t *len,
    struct err *e)
{
	size_t cap = 65536, n = 0, got;
	char *buf = xmalloc(cap), sink[65536];
	int over = 0;

	for (;;) {
		if (over) {
			if (fread(sink, 1, sizeof(sink), fp) == 0)
				break;
			continue;
		}
		if (n == cap) {
			if (cap > LIMIT_INBOUND_SIZE) {
				over = 1;
				continue;
			}
			cap = cap * 2 > LIMIT_INBOUND_SIZE ?
			    LIMIT_INBOUND_SIZE + 1 : cap * 2;
			buf = xrealloc(buf, cap);
		}
		if ((got = fread(buf + n, 1, cap - n, fp)) == 0)
			break;
		n += got;
	}
	if (ferror(fp)) {
		free(buf);
		return err_set(e, EX_IOERR, "%s: %s", path, strerror(errno));
	}
	if (over || n > LIMIT_INBOUND_SIZE) {
		free(buf);
		buf = NULL;
	}
	*data = buf;
	*len = n;
	return 0;
}

static int
ingest_file(struct ingest_run *run, const char *path)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *data;
	size_t len;
	int rc;

	if (fp == NULL)
		return err_set(&run->err, errno == ENOENT ? EX_NOINPUT :
		    EX_IOERR, "%s: %s", path, strerror(errno));
	rc = read_message(fp, path, &data, &len, &run->err);
	if (fp != stdin)
		fclose(fp);
	if (rc < 0)
		return -1;
	rc = ingest_one(run, strcmp(path, "-") == 0 ? "stdin" : path, data,
	    len);
	free(data);
	return rc;
}

struct mbox_ctx {
	struct ingest_run *run;
	const char *path;
};

static int
mbox_msg(const char *msg, size_t len, long line, void *ctx)
{
	struct mbox_ctx *m = ctx;
	char source[PATH_MAX + 32];

	snprintf(source, sizeof(source), "%s:%ld", m->path, line);
	return ingest_one(m->run, source, msg, len);
}

static int
ingest_mbox(struct ingest_run *run, const char *path)
{
	struct mbox_ctx m = { run, path };
	FILE *fp = fopen(path, "rb");
	int rc;

	if (fp == NULL)
		return err_set(&run->err, errno == ENOENT ? EX_NOINPUT :
		    EX_IOERR, "%s: %s", path, strerror(errno));
	rc = inbound_mbox(fp, path, mbox_msg, &m, &run->err);
	fclose(fp);
	return rc < 0 || run->failed ? -1 : 0;
}

/* Maildir flags stay in ASCII order after ":2,"; S means seen. */
static int
maildir_seen(const char *name)
{
	const char *info = strstr(name, ":2,");

	return info != NULL && strchr(info + 3, 'S') != NULL;
}

static void
maildir_mark(const char *dir, const char *sub, const char *name)
{
	char from[PATH_MAX], to[PATH_MAX], flags[64] = "";
	const char *info = strstr(name, ":2,");
	size_t base = info != NULL ? (size_t)(info - name) : strlen(name);
	size_t i, o = 0;
	int put = 0;

	for (i = 0; info != NULL && info[3 + i] != '\0' &&
	    o + 2 < sizeof(flags); i++) {
		if (!put && info[3 + i] > 'S') {
			flags[o++] = 'S';
			put = 1;
		}
		flags[o++] = info[3 + i];
	}
	if (!put)
		flags[o++] = 'S';
	flags[o] = '\0';
	snprintf(from, sizeof(from), "%s/%s/%s", dir, sub, name);
	snprintf(to, sizeof(to), "%s/cur/%.*s:2,%s", dir, (int)base, name,
	    flags);
	if (rename(from, to) != 0)
		fprintf(stderr, "postbote bounce ingest: %s: %s\n", from,
		    strerror(errno));
}

static int
dotless(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/*
 * new/ and the unseen messages of cur/, in name order; each is marked
 * seen (moved to cur/ with the S flag) once it is recorded, so a second
 * run takes up only what is new and a store failure leaves the rest.
 */
static int
ingest_maildir(struct ingest_run *run, const char *dir)
{
	static const char *const subs[] = { "new", "cur" };
	char path[PATH_MAX];
	struct dirent **names;
	int i, k, n, rc = 0;

	for (k = 0; k < 2 && rc == 0; k++) {
		snprintf(path, sizeof(path), "%s/%s", dir, subs[k]);
		if ((n = scandir(path, &names, dotless, alphasort)) < 0)
			return err_set(&run->err, errno == ENOENT ?
			    EX_NOINPUT : EX_IOERR, "%s: %s (not a maildir?)",
			    path, strerror(errno));
		for (i = 0; i < n; i++) {
			if (rc == 0 && !maildir_seen(names[i]->d_name)) {
				snprintf(path, sizeof(path), "%s/%s/%s", dir,
				    subs[k], names[i]->d_name);
				if ((rc = ingest_file(run, path)) == 0)
					maildir_mark(dir, subs[k],
					    names[i]->d_name);
			}
			free(names[i]);
		}
		free(names);
	}
	return rc;
}

static void
summary(struct ingest_run *run)
{
	int i;

	if (run->json.on)
		return;
	if (run->c->tty) {
		printf("ingested:");
		for (i = 0; i < INGEST_NWHAT; i++)
			if (run->count[i] > 0)
				printf(" %lld %s", (long long)run->count[i],
				    ingest_what_name(i));
		printf("\n");
		return;
	}
	for (i = 0; i < INGEST_NWHAT; i++)
		printf("%s%s=%lld", i ? " " : "", ingest_what_name(i),
		    (long long)run->count[i]);
	printf("\n");
}

static int
ingest_cmd(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "maildir", required_argument, NULL, 'd' },
		{ "mbox", required_argument, NULL, 'm' },
		{ "rcpt", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	const char *maildir = NULL, *mbox = NULL, *rcpt_opt, *rcpt_env;
	struct ingest_run run;
	struct store *st;
	int ch, i, rc, json = 0;

	memset(&run, 0, sizeof(run));
	run.c = c;
	if ((rcpt_opt = getenv("ORIGINAL_RECIPIENT")) == NULL)
		rcpt_opt = getenv("RECIPIENT");
	rcpt_env = rcpt_opt;
	while ((ch = cli_getopt(c, argc, argv, "", opts)) != -1) {
		switch (ch) {
		case 'd': maildir = optarg; break;
		case 'm': mbox = optarg; break;
		case 'r': rcpt_opt = optarg; break;
		case 'j': json = 1; break;
		default: return EX_USAGE;
		}
	}
	if ((maildir != NULL || mbox != NULL) && optind < argc)
		return cli_usage(c, "give files, --maildir or --mbox, not "
		    "more than one");
	/* The envelope recipient is one message's: a stray variable must
	   not tie a whole mailbox to one delivery. */
	if (maildir != NULL || mbox != NULL || argc - optind > 1) {
		if (rcpt_opt != rcpt_env)
			return cli_usage(c, "--rcpt names the envelope "
			    "recipient of one message: not with --maildir, "
			    "--mbox or several files");
	} else
		run.rcpt = rcpt_opt;
	if ((rc = cli_open(c, &st)) != 0)
		return rc;
	/* The events recorded here reach the webhooks' outbox; a running
	   `track serve` or `webhooks flush` sends them, not this pipe,
	   which an MTA waits on. */
	if (store_webhooks_sync(st, c->cfg, &run.err) < 0 ||
	    ingest_open(st, c->cfg, &run.ig, &run.err) < 0) {
		store_close(st);
		return cli_fail(c, &run.err);
	}
	if (json)
		out_jarr_begin(&run.json);
	if (maildir != NULL)
		rc = ingest_maildir(&run, maildir);
	else if (mbox != NULL)
		rc = ingest_mbox(&run, mbox);
	else if (optind == argc)
		rc = ingest_file(&run, "-");
	else
		for (i = optind, rc = 0; i < argc && rc == 0; i++)
			rc = ingest_file(&run, argv[i]);
	if (json)
		out_jarr_end(&run.json);
	summary(&run);
	ingest_close(run.ig);
	store_close(st);
	if (rc < 0)
		return cli_fail(c, &run.err);
	return run.count[INGEST_REJECTED] > 0 ? EX_DATAERR : 0;
}

const struct cli_cmd cmd_bounce[] = {
	{ "ingest", ingest_cmd, "read bounces, complaints, unsubscribes and "
	  "replies",
	  "ingest [FILE...] [--maildir DIR | --mbox FILE] [--rcpt ADDRESS]\n"
	  "       [--json]\n\n"
	  "Reads inbound mail (stdin when no FILE is given, as an MTA alias\n"
	  "pipes it) and records what each message means for the delivery\n"
	  "whose signed return path, unsubscribe address or Message-ID it\n"
	  "carries: DSNs (RFC 3464) as bounces (hard, soft, policy) or\n"
	  "delays, ARF reports (RFC 5965) as complaints, mail to the\n"
	  "List-Unsubscribe mailto as unsubscribes, replies and auto-replies\n"
	  "(RFC 3834). Hard bounces and complaints suppress the address;\n"
	  "soft bounces after feedback.soft_bounce_limit in a row.\n\n"
	  "Nothing is guessed: a bounce neither its status code nor the\n"
	  "pattern table classifies is kept for review; a token that does\n"
	  "not verify changes nothing. One line per message: source,\n"
	  "outcome, campaign, recipient, class, status, reason.\n\n"
	  "--maildir takes new/ and unseen cur/ messages and marks each seen.\n"
	  "--rcpt is the envelope recipient (default: $ORIGINAL_RECIPIENT,\n"
	  "else $RECIPIENT, as Postfix's pipe and local delivery set them).\n\n"
	  "Exit: 0; 65 when a message was refused as malformed or hostile\n"
	  "(too large, lines too long, nesting too deep); 75 when the\n"
	  "database is busy (the MTA keeps the message and tries again).\n\n"
	  "example (/etc/aliases): bounces: \"|postbote --db /var/lib/"
	  "postbote/postbote.db bounce ingest\"\n" },
	{ NULL, NULL, NULL, NULL }
};
