/*
 * cmd_doctor.c - postbote doctor [DOMAIN] [--ip ADDRESS]... [--no-tls]
 * [--json]: the deliverability checks of engine/doctor.c, one line each
 * as they finish, or one JSON document at the end.
 *
 * Text that came from DNS (TXT records, PTR names) is shown with every
 * byte outside printable ASCII as '?': a record must not move the
 * terminal's cursor, and JSON needs UTF-8.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "config.h"
#include "doctor.h"

/* The exit code when no check failed for good but DNS did for now. */
#define DOCTOR_EXIT_FAIL	1

static const char doctor_usage[] =
	"usage: postbote doctor [DOMAIN] [--ip ADDRESS]... [--no-tls] "
	"[--json]\n\n"
	"Checks what receivers check before they trust our mail, with the "
	"config's\nresolvers (delivery.dns_servers), for DOMAIN or else every "
	"DKIM domain of the\nconfig; one line per finding: ok, warn or fail, "
	"and for each one not ok the fix.\n"
	"  spf     the SPF record of the envelope domain (bounces.return_path_"
	"domain,\n          else DOMAIN), evaluated for each sending address "
	"as RFC 7208 says:\n          include, redirect, a, mx, ptr, exists, "
	"ip4, ip6, macros, the 10-look-up\n          and 2-void-look-up limits\n"
	"  dkim    each configured selector's TXT record: present, one, not "
	"revoked,\n          and holding the public half of key_file\n"
	"  dmarc   _dmarc.DOMAIN: present, valid, its policy and rua; DKIM "
	"and SPF\n          alignment with DOMAIN under adkim/aspf\n"
	"  mx      the envelope domain takes mail (no null MX), so bounces "
	"come back\n"
	"  fcrdns  mx mode: each sending address's PTR name resolves back to "
	"it\n"
	"  tls     the relay, and routes with TLS required: STARTTLS and a "
	"certificate\n          that verifies against delivery.ca_file\n\n"
	"Sending addresses: --ip (repeatable), else delivery.source_address "
	"in mx mode,\nelse the relay's addresses in relay mode.\n\n"
	"Output: LEVEL CHECK SUBJECT TEXT[; fix: FIX], then a summary (ok=N "
	"warn=N fail=N\nwhen not on a terminal); --json prints "
	"{\"checks\": [...], \"ok\": N, ...}.\n"
	"Exit: 0 when nothing failed (warnings allowed), 1 when a check "
	"failed, 75 when\nthe only failures are DNS look-ups that failed for "
	"now, 64 usage, 78 config.\n\n"
	"example: postbote doctor example.com --ip 192.0.2.25\n";

struct doctor_out {
	int json;
	json_t *checks;
};

/* DNS text to printable ASCII. */
static void
clean(const char *in, char *out, size_t n)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < n; i++)
		out[i] = (unsigned char)in[i] < 0x20 ||
		    (unsigned char)in[i] > 0x7e ? '?' : in[i];
	out[i] = '\0';
}

static void
on_line(void *ctx, const struct doctor_line *l)
{
	struct doctor_out *o = ctx;
	char text[2048], fix[8192], subject[512];
	json_t *j;

	clean(l->text, text, sizeof(text));
	clean(l->fix != NULL ? l->fix : "", fix, sizeof(fix));
	clean(l->subject, subject, sizeof(subject));
	if (!o->json) {
		printf("%-4s %-6s %s  %s%s%s\n", doctor_level_name(l->level),
		    l->check, subject, text, fix[0] ? "; fix: " : "", fix);
		fflush(stdout);
		return;
	}
	j = json_pack("{s:s, s:s, s:s, s:s, s:b}", "level",
	    doctor_level_name(l->level), "check", l->check, "subject",
	    subject, "text", text, "temporary", l->temp);
	if (j != NULL && fix[0] != '\0')
		json_object_set_new(j, "fix", json_string(fix));
	if (j != NULL)
		json_array_append_new(o->checks, j);
}

static int
parse_args(struct cli *c, int argc, char **argv, struct doctor_opts *o,
    const char **ips, struct doctor_out *out)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "ip", required_argument, NULL, 'i' },
		{ "no-tls", no_argument, NULL, 'T' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = cli_getopt(c, argc, argv, "h", opts)) != -1) {
		switch (ch) {
		case 'h': fputs(doctor_usage, stdout); return -1;
		case 'i':
			if (o->nips == DOCTOR_IPS_MAX)
				return cli_usage(c, "at most %d --ip",
				    DOCTOR_IPS_MAX);
			ips[o->nips++] = optarg;
			break;
		case 'T': o->no_tls = 1; break;
		case 'j': out->json = 1; break;
		default: return EX_USAGE;
		}
	}
	if (argc - optind > 1)
		return cli_usage(c, "one DOMAIN at most");
	o->domain = argc - optind == 1 ? argv[optind] : NULL;
	o->ips = ips;
	return 0;
}

static void
summary(struct cli *c, const struct doctor_out *o,
    const struct doctor_summary *s)
{
	json_t *j;

	if (o->json) {
		j = json_pack("{s:O, s:i, s:i, s:i, s:i}", "checks", o->checks,
		    "ok", s->ok, "warn", s->warn, "fail", s->fail,
		    "temporary", s->temp);
		if (j != NULL)
			(void)out_json(c, j);	/* takes j */
	} else if (c->tty)
		printf("\n%d ok, %d warning%s, %d failed%s\n", s->ok, s->warn,
		    s->warn == 1 ? "" : "s", s->fail, s->temp ?
		    " (some because DNS failed for now: try again)" : "");
	else
		out_kv("ok=%d warn=%d fail=%d temporary=%d", s->ok, s->warn,
		    s->fail, s->temp);
}

int
cmd_doctor(struct cli *c, int argc, char **argv)
{
	const char *ips[DOCTOR_IPS_MAX];
	struct doctor_opts o = { .cfg = c->cfg };
	struct doctor_out out = { 0 };
	struct doctor_summary s;
	struct err e;
	int rc;

	if ((rc = parse_args(c, argc, argv, &o, ips, &out)) != 0)
		return rc < 0 ? 0 : rc;
	out.checks = json_array();
	if (doctor_run(&o, on_line, &out, &s, &e) < 0) {
		json_decref(out.checks);
		return cli_fail(c, &e);
	}
	summary(c, &out, &s);
	json_decref(out.checks);
	if (s.fail > s.temp)
		return DOCTOR_EXIT_FAIL;
	return s.fail > 0 ? EX_TEMPFAIL : 0;
}
