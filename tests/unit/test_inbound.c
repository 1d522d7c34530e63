/*
 * test_inbound.c - inbound mail: every fixture in tests/fixtures/inbound
 * parsed into the fields expected of it and classified as expected.tsv
 * says; the bounce classifier and the status finder, table-driven;
 * hostile input refused or parsed within the limits; mbox splitting.
 *
 * The fixtures carry placeholders the integration tests fill with real
 * tokens; here they get the fixed values below.
 */
#include "unit.h"

#include <time.h>

#include "bounce.h"
#include "inbound.h"

#define RP	"bounces+tok123@bounce.example.com"
#define MID	"m.tok456@example.com"
#define RCPT	"jane.doe@example.org"
#define UNSUB	"unsubscribe+tok789@bounce.example.com"
#define NEWS	"news@example.com"
#define FBL	"fbl@bounce.example.com"

/* ------------------------------------------------------------ helpers */

static const char *
fixture_dir(void)
{
	static char dir[4096];
	const char *t = getenv("TESTS");

	snprintf(dir, sizeof(dir), "%s/fixtures/inbound",
	    t != NULL && *t != '\0' ? t : "tests");
	return dir;
}

/* The fixture with its placeholders filled; the caller frees it. */
static char *
fixture(const char *file, size_t *lenp)
{
	static const char *const subst[][2] = {
		{ "{{RETURN_PATH}}", RP }, { "{{MESSAGE_ID}}", MID },
		{ "{{RCPT}}", RCPT }, { "{{UNSUB}}", UNSUB },
	};
	char path[4200], *raw, *out;
	size_t n, i, o = 0, k;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", fixture_dir(), file);
	fp = fopen(path, "rb");
	if (fp == NULL)
		fail_msg("%s: cannot open", path);
	raw = malloc(1024 * 1024);
	assert_non_null(raw);
	n = fread(raw, 1, 1024 * 1024 - 1, fp);
	fclose(fp);
	raw[n] = '\0';
	out = malloc(4 * n + 1);
	assert_non_null(out);
	for (i = 0; i < n;) {
		for (k = 0; k < NELEM(subst); k++)
			if (strncmp(raw + i, subst[k][0],
			    strlen(subst[k][0])) == 0)
				break;
		if (k == NELEM(subst)) {
			out[o++] = raw[i++];
			continue;
		}
		memcpy(out + o, subst[k][1], strlen(subst[k][1]));
		o += strlen(subst[k][1]);
		i += strlen(subst[k][0]);
	}
	out[o] = '\0';
	free(raw);
	*lenp = o;
	return out;
}

static void
parse_fixture(const char *file, struct inbound *in)
{
	struct err e = { 0 };
	size_t len;
	char *m = fixture(file, &len);

	if (inbound_parse(m, len, in, &e) != 0)
		fail_msg("%s: %s", file, e.msg);
	free(m);
}

static int
has_to(const struct inbound *in, const char *addr)
{
	size_t i;

	for (i = 0; i < in->nto; i++)
		if (strcasecmp(in->to[i], addr) == 0)
			return 1;
	return 0;
}

static int
has_ref(const struct inbound *in, const char *id)
{
	size_t i;

	for (i = 0; i < in->nrefs; i++)
		if (strcmp(in->refs[i], id) == 0)
			return 1;
	return 0;
}

/*
 * What the message means, decided the way engine/ingest.c is meant to:
 * a report by its parts, the rest by whom it was sent to (our return
 * path or unsubscribe address) and then by its headers. Writes the
 * expected.tsv class and status.
 */
static void
decide(const struct inbound *in, char *class, size_t n, char *status,
    size_t sn)
{
	const struct inbound_rcpt *r;
	size_t i;

	snprintf(status, sn, "-");
	if (in->type == INBOUND_ARF) {
		snprintf(class, n, "complaint");
		return;
	}
	if (in->type == INBOUND_DSN && in->nrcpt > 0) {
		r = &in->rcpt[0];
		for (i = 0; i < in->nrcpt; i++)
			if (strcasecmp(in->rcpt[i].final_rcpt, RCPT) == 0)
				r = &in->rcpt[i];
		snprintf(status, sn, "%s", r->status[0] ? r->status : "-");
		if (strcmp(r->action, "delayed") == 0)
			snprintf(class, n, "delayed");
		else
			snprintf(class, n, "%s", bounce_class_name(
			    bounce_classify(r->status, r->diagnostic)));
		return;
	}
	if (has_to(in, UNSUB))
		snprintf(class, n, "unsubscribe");
	else if (has_to(in, RP)) {
		if (bounce_find_status(in->text, status, sn) < 0)
			snprintf(status, sn, "-");
		snprintf(class, n, "%s", bounce_class_name(bounce_classify(
		    strcmp(status, "-") == 0 ? NULL : status, in->text)));
	} else if (in->auto_submitted)
		snprintf(class, n, "auto_reply");
	else if (has_ref(in, MID))
		snprintf(class, n, "reply");
	else
		snprintf(class, n, "unknown");
}

/* ------------------------------------------------- fixtures: fields */

struct fx_case {
	const char *name;	/* the file */
	enum inbound_type type;
	size_t nrcpt;
	const char *action;	/* of the first block */
	const char *status;
	const char *final_rcpt;
	const char *orig_mid;
	const char *feedback;
	int auto_submitted;
	size_t nrefs;
	const char *ref0;
	const char *to0;
};

static const struct fx_case fx_cases[] = {
	{ "postfix_hard_5.1.1.eml", INBOUND_DSN, 1, "failed", "5.1.1", RCPT,
	    MID, "", 1, 0, NULL, RP },
	{ "postfix_delayed_4.4.1.eml", INBOUND_DSN, 1, "delayed", "4.4.1",
	    RCPT, MID, "", 1, 0, NULL, RP },
	{ "exim_hard_5.1.1.eml", INBOUND_OTHER, 0, "", "", "", MID, "", 1,
	    0, NULL, RP },
	{ "exim_unrouteable.eml", INBOUND_OTHER, 0, "", "", "", MID, "", 1,
	    0, NULL, RP },
	{ "qmail_hard_5.1.1.eml", INBOUND_OTHER, 0, "", "", "", MID, "", 0,
	    0, NULL, RP },
	{ "o365_hard_5.1.10.eml", INBOUND_DSN, 1, "failed", "5.1.10", RCPT,
	    MID, "", 1, 1, MID, RP },
	{ "gmail_soft_5.2.2.eml", INBOUND_DSN, 1, "failed", "5.2.2", RCPT,
	    MID, "", 1, 1, MID, RP },
	{ "gmail_dmarc_5.7.26.eml", INBOUND_DSN, 1, "failed", "5.7.26", RCPT,
	    MID, "", 1, 0, NULL, RP },
	{ "sendmail_multi_rcpt.eml", INBOUND_DSN, 3, "failed", "5.1.1", RCPT,
	    MID, "", 1, 0, NULL, RP },
	{ "global_dsn_utf8.eml", INBOUND_DSN, 1, "failed", "5.1.1", RCPT,
	    MID, "", 1, 0, NULL, RP },
	{ "bounce_unknown_5.0.0.eml", INBOUND_DSN, 1, "failed", "5.0.0", RCPT,
	    MID, "", 1, 0, NULL, RP },
	{ "arf_yahoo_abuse.eml", INBOUND_ARF, 0, "", "", "", MID, "abuse", 0,
	    0, NULL, FBL },
	{ "arf_headers_only.eml", INBOUND_ARF, 0, "", "", "", MID, "abuse", 0,
	    0, NULL, FBL },
	{ "reply_human.eml", INBOUND_OTHER, 0, "", "", "", "", "", 0, 2, MID,
	    NEWS },
	{ "autoreply_rfc3834.eml", INBOUND_OTHER, 0, "", "", "", "", "", 1, 1,
	    MID, NEWS },
	{ "ooo_outlook.eml", INBOUND_OTHER, 0, "", "", "", "", "", 1, 1, MID,
	    NEWS },
	{ "ooo_abwesenheitsnotiz.eml", INBOUND_OTHER, 0, "", "", "", "", "",
	    1, 1, MID, NEWS },
	{ "unsubscribe_mailto.eml", INBOUND_OTHER, 0, "", "", "", "", "", 0,
	    0, NULL, UNSUB },
};

static void
t_fixture(void **state)
{
	const struct fx_case *c = *state;
	struct inbound in;

	parse_fixture(c->name, &in);
	assert_int_equal(in.type, c->type);
	assert_int_equal(in.nrcpt, c->nrcpt);
	if (c->nrcpt > 0) {
		assert_string_equal(in.rcpt[0].action, c->action);
		assert_string_equal(in.rcpt[0].status, c->status);
		assert_string_equal(in.rcpt[0].final_rcpt, c->final_rcpt);
	}
	assert_string_equal(in.orig_message_id, c->orig_mid);
	if (c->orig_mid[0] != '\0')
		assert_string_equal(in.orig_return_path, RP);
	assert_string_equal(in.feedback_type, c->feedback);
	assert_int_equal(in.auto_submitted, c->auto_submitted);
	assert_int_equal(in.nrefs, c->nrefs);
	if (c->ref0 != NULL)
		assert_string_equal(in.refs[0], c->ref0);
	assert_true(in.nto >= 1);
	assert_string_equal(in.to[0], c->to0);
	assert_true(in.message_id[0] != '\0');
	assert_non_null(in.text);
	assert_int_equal(strlen(in.text), in.text_len);
	inbound_free(&in);
	inbound_free(&in);	/* twice is harmless */
}

/* ------------------------------------------- fixtures: expected.tsv */

struct tsv_row {
	char name[160];
	char file[128];
	char type[16];
	char class[32];
	char status[16];
};

static struct tsv_row tsv_rows[64];
static size_t ntsv;

static void
tsv_load(void)
{
	char path[4200], line[512], *f[4];
	struct tsv_row *r;
	size_t i;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/expected.tsv", fixture_dir());
	if ((fp = fopen(path, "r")) == NULL)
		return;
	while (ntsv < NELEM(tsv_rows) && fgets(line, sizeof(line), fp)) {
		r = &tsv_rows[ntsv];
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		f[0] = strtok(line, "\t");
		for (i = 1; i < NELEM(f); i++)
			f[i] = strtok(NULL, "\t");
		if (f[NELEM(f) - 1] == NULL)
			fail_msg("expected.tsv: %s: not 4 fields", line);
		snprintf(r->file, sizeof(r->file), "%s", f[0]);
		snprintf(r->type, sizeof(r->type), "%s", f[1]);
		snprintf(r->class, sizeof(r->class), "%s", f[2]);
		snprintf(r->status, sizeof(r->status), "%s", f[3]);
		snprintf(r->name, sizeof(r->name), "expected.tsv: %s", f[0]);
		ntsv++;
	}
	fclose(fp);
}

static void
t_expected(void **state)
{
	static const char *const types[] = { "other", "dsn", "arf" };
	const struct tsv_row *r = *state;
	char class[32], status[16];
	struct inbound in;

	parse_fixture(r->file, &in);
	assert_string_equal(types[in.type], r->type);
	decide(&in, class, sizeof(class), status, sizeof(status));
	assert_string_equal(class, r->class);
	assert_string_equal(status, r->status);
	inbound_free(&in);
}

/* Every .eml has its expected.tsv row, and the reverse. */
static void
t_expected_complete(void **state)
{
	size_t i, k;

	(void)state;
	assert_true(ntsv >= 15);
	for (i = 0; i < NELEM(fx_cases); i++) {
		for (k = 0; k < ntsv; k++)
			if (strcmp(tsv_rows[k].file, fx_cases[i].name) == 0)
				break;
		if (k == ntsv)
			fail_msg("%s: no expected.tsv row", fx_cases[i].name);
	}
	assert_int_equal(ntsv, NELEM(fx_cases));
}

/* ------------------------------------------- fixtures: the details */

static void
t_multi_rcpt(void **state)
{
	struct inbound in;

	(void)state;
	parse_fixture("sendmail_multi_rcpt.eml", &in);
	assert_string_equal(in.reporting_mta, "relay.example.net");
	assert_string_equal(in.rcpt[1].final_rcpt,
	    "old.colleague@example.org");
	assert_string_equal(in.rcpt[1].status, "5.2.2");
	assert_int_equal(bounce_classify(in.rcpt[1].status,
	    in.rcpt[1].diagnostic), BOUNCE_SOFT);
	assert_string_equal(in.rcpt[2].action, "delayed");
	assert_string_equal(in.rcpt[2].status, "4.4.1");
	assert_string_equal(in.rcpt[2].final_rcpt, "slow@example.net");
	assert_string_equal(in.rcpt[0].diagnostic,
	    "550 5.1.1 <" RCPT ">... User unknown");
	inbound_free(&in);
}

static void
t_dsn_details(void **state)
{
	struct inbound in;

	(void)state;
	parse_fixture("postfix_hard_5.1.1.eml", &in);
	assert_string_equal(in.reporting_mta, "mail.example.com");
	assert_string_equal(in.rcpt[0].original_rcpt, RCPT);
	/* folded, its type gone, white space made one space */
	assert_string_equal(in.rcpt[0].diagnostic, "550 5.1.1 <" RCPT ">: "
	    "Recipient address rejected: User unknown in virtual mailbox "
	    "table");
	assert_string_equal(in.orig_to, RCPT);
	assert_string_equal(in.from, "MAILER-DAEMON@mail.example.com");
	assert_string_equal(in.subject, "Undelivered Mail Returned to Sender");
	inbound_free(&in);

	parse_fixture("global_dsn_utf8.eml", &in);
	assert_string_equal(in.subject, "Unzustellbar: Nachricht zurück");
	assert_string_equal(in.rcpt[0].diagnostic,
	    "550 5.1.1 Empfänger unbekannt (user unknown)");
	inbound_free(&in);

	parse_fixture("o365_hard_5.1.10.eml", &in);	/* CRLF throughout */
	assert_string_equal(in.reporting_mta,
	    "AM6PR08MB4321.eurprd08.prod.outlook.com");
	assert_non_null(strstr(in.text, "wasn't found at contoso.com"));
	inbound_free(&in);
}

static void
t_arf_details(void **state)
{
	struct inbound in;

	(void)state;
	parse_fixture("arf_yahoo_abuse.eml", &in);
	assert_string_equal(in.arf_original_rcpt, RCPT);
	assert_string_equal(in.arf_original_from, RP);
	assert_string_equal(in.orig_to, RCPT);
	inbound_free(&in);
	parse_fixture("arf_headers_only.eml", &in);
	assert_string_equal(in.arf_original_rcpt, "");
	assert_string_equal(in.arf_original_from, RP);
	inbound_free(&in);
}

static void
t_reply_details(void **state)
{
	struct inbound in;

	(void)state;
	parse_fixture("reply_human.eml", &in);
	/* Delivered-To, then To (a duplicate), then Cc */
	assert_int_equal(in.nto, 3);
	assert_string_equal(in.to[1], "team@example.com");
	assert_string_equal(in.to[2], "jane.private@example.net");
	/* In-Reply-To first, References after it without the repeat */
	assert_string_equal(in.refs[1], "thread-start.20240301@example.com");
	assert_string_equal(in.from, RCPT);
	assert_true(strncmp(in.text, "Thanks for the news!", 20) == 0);
	inbound_free(&in);

	parse_fixture("ooo_abwesenheitsnotiz.eml", &in);
	assert_string_equal(in.subject, "Abwesenheitsnotiz: November news");
	/* ISO-8859-1, quoted-printable: UTF-8 now */
	assert_non_null(strstr(in.text, "einschließlich 15. März"));
	inbound_free(&in);
}

/* A non-standard bounce's quoted copy: read for its headers, cut from the
 * text so the newsletter's words never reach the pattern table. */
static void
t_copy_cut(void **state)
{
	static const char *const files[] = { "exim_hard_5.1.1.eml",
	    "exim_unrouteable.eml", "qmail_hard_5.1.1.eml" };
	struct inbound in;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(files); i++) {
		parse_fixture(files[i], &in);
		assert_null(strstr(in.text, "November"));
		assert_null(strstr(in.text, "This is a copy"));
		assert_string_equal(in.orig_message_id, MID);
		assert_string_equal(in.orig_to, RCPT);
		inbound_free(&in);
	}
}

/* --------------------------------------------------- inline messages */

static int
parse_str(const char *s, struct inbound *in, struct err *e)
{
	return inbound_parse(s, strlen(s), in, e);
}

static void
t_auto_headers(void **state)
{
	static const struct {
		const char *hdr;
		int want;
	} rows[] = {
		{ "Auto-Submitted: auto-generated\n", 1 },
		{ "Auto-Submitted: auto-replied\n", 1 },
		{ "Auto-Submitted: no\n", 0 },
		{ "Auto-Submitted: No ; comment\n", 0 },
		{ "X-Autoreply: yes\n", 1 },
		{ "X-Autorespond: on\n", 1 },
		{ "Precedence: auto_reply\n", 1 },
		{ "Precedence: bulk\n", 0 },
		{ "Precedence: bulk\nSubject: Re: your out of office note\n",
		    1 },
		{ "Subject: Re: out of office hours?\n", 0 },
		{ "Subject: Out of Office: November news\n", 1 },
		{ "Subject: Automatische Antwort: November news\n", 1 },
		{ "Subject: Autoreply: November news\n", 1 },
		{ "Subject: Vacation: back Monday\n", 1 },
		{ "Subject: Re: vacation photos\n", 0 },
		{ "X-Auto-Response-Suppress: All\nSubject: Re: Automatic "
		    "reply test\n", 1 },
		{ "Subject: =?UTF-8?Q?R=C3=A9ponse_automatique_:_news?=\n", 1 },
	};
	char msg[1024];
	struct inbound in;
	struct err e;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(rows); i++) {
		snprintf(msg, sizeof(msg), "From: a@example.org\nTo: "
		    "b@example.com\nMessage-ID: <x@y>\n%s\nhello\n",
		    rows[i].hdr);
		assert_int_equal(parse_str(msg, &in, &e), 0);
		if (in.auto_submitted != rows[i].want)
			fail_msg("row %zu (%s): %d", i, rows[i].hdr,
			    in.auto_submitted);
		inbound_free(&in);
	}
}

static void
t_html_only(void **state)
{
	static const char msg[] =
	    "From: MAILER-DAEMON@example.net\n"
	    "To: " RP "\n"
	    "Subject: Undeliverable\n"
	    "Content-Type: text/html; charset=utf-8\n\n"
	    "<html><head><style>p { color: red }</style>"
	    "<script>var spam = 1;</script></head>"
	    "<body><p>Delivery&nbsp;failed:</p><p>550 <b>User</b>\n"
	    "   unknown &amp; gone &lt;" RCPT "&gt;</p></body></html>\n";
	struct inbound in;
	struct err e;

	(void)state;
	assert_int_equal(parse_str(msg, &in, &e), 0);
	assert_null(strstr(in.text, "<"  "p>"));
	assert_null(strstr(in.text, "spam"));
	assert_null(strstr(in.text, "color"));
	assert_non_null(strstr(in.text, "Delivery failed:"));
	assert_non_null(strstr(in.text, "550 User unknown & gone <" RCPT
	    ">"));
	assert_int_equal(bounce_classify(NULL, in.text), BOUNCE_HARD);
	inbound_free(&in);
}

/* The text keeps INBOUND_TEXT - 1 bytes, never half a character. */
static void
t_text_cut(void **state)
{
	const char *head = "From: a@example.org\nSubject: long\n"
	    "Content-Type: text/plain; charset=utf-8\n\n";
	size_t hn = strlen(head), i, n = hn + 3 * INBOUND_TEXT;
	char *m = malloc(n + 1);
	struct inbound in;
	struct err e;

	(void)state;
	assert_non_null(m);
	memcpy(m, head, hn);
	for (i = hn; i + 3 <= n; i += 3) {
		/* "€" with a newline now and then: lines stay short */
		if ((i / 3) % 20 == 19)
			memcpy(m + i, "ab\n", 3);
		else
			memcpy(m + i, "\xe2\x82\xac", 3);
	}
	assert_int_equal(inbound_parse(m, i, &in, &e), 0);
	assert_true(in.text_len <= INBOUND_TEXT - 1);
	assert_true(in.text_len >= INBOUND_TEXT - 4);
	assert_int_equal(strlen(in.text), in.text_len);
	/* the last character is whole */
	assert_true(((unsigned char)in.text[in.text_len - 1] & 0xc0) != 0xc0);
	inbound_free(&in);
	free(m);
}

/* ------------------------------------------------- bounce_classify */

struct cls_case {
	const char *name;
	const char *status;
	const char *text;
	enum bounce_class want;
};

static const struct cls_case cls_cases[] = {
	{ "classify: 5.1.1 alone is hard", "5.1.1", NULL, BOUNCE_HARD },
	{ "classify: 5.1.1 with spam text stays hard", "5.1.1",
	    "550 5.1.1 rejected as spam, listed", BOUNCE_HARD },
	{ "classify: 5.1.2 bad destination system", "5.1.2", "", BOUNCE_HARD },
	{ "classify: 5.1.3 bad address syntax", "5.1.3", NULL, BOUNCE_HARD },
	{ "classify: 5.1.6 mailbox moved", "5.1.6", NULL, BOUNCE_HARD },
	{ "classify: 5.1.10 null MX", "5.1.10",
	    "RESOLVER.ADR.RecipientNotFound", BOUNCE_HARD },
	{ "classify: 5.2.1 mailbox disabled", "5.2.1", NULL, BOUNCE_HARD },
	{ "classify: 5.4.4 unroutable", "5.4.4", NULL, BOUNCE_HARD },
	{ "classify: 5.2.2 mailbox full", "5.2.2", "user unknown",
	    BOUNCE_SOFT },
	{ "classify: 5.2.3 message too big", "5.2.3", NULL, BOUNCE_SOFT },
	{ "classify: 5.3.4 message too big for system", "5.3.4", NULL,
	    BOUNCE_SOFT },
	{ "classify: 5.4.7 delivery expired", "5.4.7", NULL, BOUNCE_SOFT },
	{ "classify: 4.2.2 mailbox full", "4.2.2", "mailbox full",
	    BOUNCE_SOFT },
	{ "classify: 4.1.1 user unknown is temporary", "4.1.1",
	    "450 4.1.1 user unknown", BOUNCE_SOFT },
	{ "classify: 4.7.1 greylisted", "4.7.1", "greylisted", BOUNCE_SOFT },
	{ "classify: 4.4.1 alone", "4.4.1", NULL, BOUNCE_SOFT },
	{ "classify: 4.0.0 with a hard text is soft", "4.0.0",
	    "no such user", BOUNCE_SOFT },
	{ "classify: 5.7.1 policy", "5.7.1", "relay denied", BOUNCE_POLICY },
	{ "classify: 5.7.26 DMARC", "5.7.26", "DMARC policy", BOUNCE_POLICY },
	{ "classify: 5.7.27 sender null MX", "5.7.27", NULL, BOUNCE_POLICY },
	{ "classify: 5.7.1 with user unknown text is policy", "5.7.1",
	    "user unknown", BOUNCE_POLICY },
	{ "classify: 5.7.0", "5.7.0", NULL, BOUNCE_POLICY },
	{ "classify: 5.1.8 bad sender domain", "5.1.8", NULL, BOUNCE_POLICY },
	{ "classify: 5.0.0 user unknown", "5.0.0", "550 User unknown",
	    BOUNCE_HARD },
	{ "classify: 5.0.0 mailbox full", "5.0.0", "Mailbox full",
	    BOUNCE_SOFT },
	{ "classify: 5.0.0 blocked by spamhaus", "5.0.0",
	    "554 Service unavailable; Client host blocked using "
	    "zen.spamhaus.org", BOUNCE_POLICY },
	{ "classify: 5.0.0 says nothing", "5.0.0",
	    "554 Transaction failed", BOUNCE_UNKNOWN },
	{ "classify: 5.0.0, 5.1.1 in the text", "5.0.0",
	    "smtp; 550 5.1.1 <a@b>: nope", BOUNCE_HARD },
	{ "classify: 5.0.0, a 4.x code in the text is ignored", "5.0.0",
	    "452 4.2.2 odd", BOUNCE_UNKNOWN },
	{ "classify: 5.5.0 not in codes[]: the text", "5.5.0",
	    "User unknown", BOUNCE_HARD },
	{ "classify: 5.1.0 not in codes[]: the text", "5.1.0",
	    "Address rejected", BOUNCE_HARD },
	{ "classify: 5.1.0 and nothing", "5.1.0", "Address status",
	    BOUNCE_UNKNOWN },
	{ "classify: 2.0.0 is no bounce", "2.0.0", "user unknown",
	    BOUNCE_UNKNOWN },
	{ "classify: nothing at all", NULL, NULL, BOUNCE_UNKNOWN },
	{ "classify: empty strings", "", "", BOUNCE_UNKNOWN },
	{ "classify: garbage status, hard text", "abc", "no such user here",
	    BOUNCE_HARD },
	{ "classify: no code, text code 5.1.1", NULL,
	    "550 5.1.1 <x@y>... whatever", BOUNCE_HARD },
	{ "classify: no code, qmail #5.1.1", NULL,
	    "Sorry, no mailbox here by that name. (#5.1.1)", BOUNCE_HARD },
	{ "classify: no code, 450 basic code is soft", NULL,
	    "450 user unknown", BOUNCE_SOFT },
	{ "classify: no code, smtp; 452 is soft", NULL,
	    "smtp; 452 Requested action not taken: insufficient storage",
	    BOUNCE_SOFT },
	{ "classify: no code, 250 is no bounce", NULL, "250 ok",
	    BOUNCE_UNKNOWN },
	{ "classify: text: User Unknown in any case", NULL,
	    "USER UNKNOWN", BOUNCE_HARD },
	{ "classify: text: wrapped phrase", NULL,
	    "Recipient address rejected: User\n    unknown in table",
	    BOUNCE_HARD },
	{ "classify: text: unknown user", NULL, "unknown user x",
	    BOUNCE_HARD },
	{ "classify: text: does not exist", NULL,
	    "The email account that you tried to reach does not exist",
	    BOUNCE_HARD },
	{ "classify: text: unrouteable address", NULL,
	    "  x@y\n    Unrouteable address", BOUNCE_HARD },
	{ "classify: text: mailbox unavailable", NULL,
	    "550 Requested action not taken: mailbox unavailable",
	    BOUNCE_HARD },
	{ "classify: text: mailbox unavailable but spam", NULL,
	    "550 mailbox unavailable: message looks like spam",
	    BOUNCE_POLICY },
	{ "classify: text: mailbox unavailable, over quota", NULL,
	    "mailbox unavailable: over quota", BOUNCE_SOFT },
	{ "classify: text: recipient address rejected: access denied "
	    "(Office 365 edge blocking)", "5.4.1",
	    "550 5.4.1 Recipient address rejected: Access denied. "
	    "AS(201806281)", BOUNCE_HARD },
	{ "classify: text: access denied", NULL, "Access denied",
	    BOUNCE_POLICY },
	{ "classify: text: recipient address rejected alone", NULL,
	    "Recipient address rejected: see our site", BOUNCE_HARD },
	{ "classify: text: recipient address rejected, greylisted", NULL,
	    "Recipient address rejected: Greylisted, try again later",
	    BOUNCE_SOFT },
	{ "classify: text: over quota", NULL, "user is over quota",
	    BOUNCE_SOFT },
	{ "classify: text: quota exceeded", NULL, "Quota exceeded",
	    BOUNCE_SOFT },
	{ "classify: text: insufficient storage", NULL,
	    "insufficient storage", BOUNCE_SOFT },
	{ "classify: text: blacklisted", NULL, "your IP is blacklisted",
	    BOUNCE_POLICY },
	{ "classify: text: listed", NULL, "listed at bl.example",
	    BOUNCE_POLICY },
	{ "classify: text: rejected due to policy", NULL,
	    "Message rejected due to policy", BOUNCE_POLICY },
	{ "classify: text: SPF", NULL, "SPF check failed", BOUNCE_POLICY },
	{ "classify: text: DMARC", NULL, "fails DMARC", BOUNCE_POLICY },
	{ "classify: text: Exim version is no code", NULL,
	    "Received: (Exim 4.94.2)\n  Unrouteable address", BOUNCE_HARD },
	{ "classify: text: an IP is no code", NULL,
	    "host 10.5.1.1 refused", BOUNCE_UNKNOWN },
	{ "classify: text: nothing known", NULL, "Have a nice day",
	    BOUNCE_UNKNOWN },
	{ "classify: status with a comment", " 5.1.1 (bad mailbox)", NULL,
	    BOUNCE_HARD },
};

static void
t_classify(void **state)
{
	const struct cls_case *c = *state;

	assert_string_equal(bounce_class_name(bounce_classify(c->status,
	    c->text)), bounce_class_name(c->want));
}

static void
t_class_names(void **state)
{
	(void)state;
	assert_string_equal(bounce_class_name(BOUNCE_HARD), "hard");
	assert_string_equal(bounce_class_name(BOUNCE_SOFT), "soft");
	assert_string_equal(bounce_class_name(BOUNCE_POLICY), "policy");
	assert_string_equal(bounce_class_name(BOUNCE_UNKNOWN), "unknown");
	assert_string_equal(bounce_class_name((enum bounce_class)99),
	    "unknown");
}

/* ---------------------------------------------- bounce_find_status */

struct find_case {
	const char *name;
	const char *text;
	const char *want;	/* NULL: none */
};

static const struct find_case find_cases[] = {
	{ "find: plain", "550 5.1.1 <x@y>: User unknown", "5.1.1" },
	{ "find: qmail (#5.1.1)", "no mailbox. (#5.1.1)", "5.1.1" },
	{ "find: multiline 552-5.2.2", "552-5.2.2 The recipient", "5.2.2" },
	{ "find: two-digit detail", "550 5.1.10 RESOLVER", "5.1.10" },
	{ "find: 5.7.26", "status 5.7.26, DMARC", "5.7.26" },
	{ "find: three-digit detail", "5.7.606 banned", "5.7.606" },
	{ "find: at the start", "4.7.0 try later", "4.7.0" },
	{ "find: 2.0.0", "250 2.0.0 Ok", "2.0.0" },
	{ "find: at a sentence end", "Status was 5.1.1.", "5.1.1" },
	{ "find: the first of two", "first 4.4.1 then 5.1.1", "4.4.1" },
	{ "find: in brackets", "[5.2.1]", "5.2.1" },
	{ "find: IP address", "host 10.5.1.1 said", NULL },
	{ "find: IP address 192.0.2.25", "mx[192.0.2.25]", NULL },
	{ "find: four parts", "5.1.1.2", NULL },
	{ "find: Exim version", "(Exim 4.94.2)", NULL },
	{ "find: Postfix version", "Postfix 2.11.3", NULL },
	{ "find: subject too long", "5.1234.1", NULL },
	{ "find: detail too long", "5.1.1234", NULL },
	{ "find: letter before", "v5.1.1", NULL },
	{ "find: letter after", "5.1.1x", NULL },
	{ "find: class 3", "3.1.1", NULL },
	{ "find: two parts", "5.1 only", NULL },
	{ "find: empty", "", NULL },
	{ "find: NULL", NULL, NULL },
	{ "find: after an IP, a code", "10.5.1.1 said 5.2.2", "5.2.2" },
};

static void
t_find(void **state)
{
	const struct find_case *c = *state;
	char out[16] = "untouched";

	if (c->want == NULL) {
		assert_int_equal(bounce_find_status(c->text, out, sizeof(out)),
		    -1);
		return;
	}
	assert_int_equal(bounce_find_status(c->text, out, sizeof(out)), 0);
	assert_string_equal(out, c->want);
}

static void
t_find_small(void **state)
{
	char out[4];

	(void)state;
	assert_int_equal(bounce_find_status("550 5.1.10 x", out, sizeof(out)),
	    0);
	assert_string_equal(out, "5.1");
	assert_int_equal(bounce_find_status("550 5.1.10 x", NULL, 0), 0);
}

/* ---------------------------------------------------- hostile input */

/* Refused with EX_DATAERR, or parsed: never anything else. */
static void
refused_or_parsed(const char *m, size_t n, int must_refuse,
    const char *reason)
{
	struct inbound in;
	struct err e = { 0 };
	int rc;

	rc = inbound_parse(m, n, &in, &e);
	if (rc != 0) {
		assert_int_equal(rc, -1);
		assert_int_equal(e.code, EX_DATAERR);
		if (reason != NULL && strstr(e.msg, reason) == NULL)
			fail_msg("refused as \"%s\", not for \"%s\"", e.msg,
			    reason);
	} else {
		if (must_refuse)
			fail_msg("parsed, not refused (%s)", reason);
		assert_true(in.text == NULL || strlen(in.text) ==
		    in.text_len);
		assert_true(in.nrcpt <= INBOUND_MAX_RCPTS);
		assert_true(in.nto <= INBOUND_MAX_TO);
		assert_true(in.nrefs <= INBOUND_MAX_REFS);
	}
	inbound_free(&in);
}

/* levels of multipart, each a part of the one before, same boundary. */
static char *
nested(size_t levels, size_t *lenp)
{
	static const char level[] =
	    "content-type:multipart/a;boundary=x\n\n--x\n";
	size_t k = sizeof(level) - 1, i;
	char *m = malloc(levels * k + 64);

	assert_non_null(m);
	for (i = 0; i < levels; i++)
		memcpy(m + i * k, level, k);
	memcpy(m + levels * k, "\nhello\n--x--\n", 13);
	*lenp = levels * k + 13;
	return m;
}

static void
t_deep_nesting(void **state)
{
	size_t n;
	char *m;

	(void)state;
	m = nested(100000, &n);
	/* refused for its depth, not its size */
	assert_true(n < LIMIT_INBOUND_SIZE);
	refused_or_parsed(m, n, 1, "nesting");
	free(m);
	m = nested(LIMIT_INBOUND_DEPTH + 1, &n);
	refused_or_parsed(m, n, 1, "nesting");
	free(m);
	m = nested(LIMIT_INBOUND_DEPTH, &n);
	refused_or_parsed(m, n, 0, NULL);
	free(m);
}

/* Nesting the pre-scan must not miss: comments, two boundary
 * parameters, RFC 2231 boundaries; two Content-Type fields refused. */
static void
t_deep_disguised(void **state)
{
	static const char *const levels[] = {
		"Content-Type: (c) multipart/mixed; boundary=x\n\n--x\n",
		("Content-Type: multipart/mixed; boundary=x; boundary=y\n\n"
		    "--x\n--y\n"),
		"Content-Type: multipart/mixed; boundary*0=x\n\n--x\n",
		"Content-type : multipart/mixed;\n boundary=\n \"x\"\n\n--x\n",
		"Content-Type: Message/RFC822\n\n",
	};
	size_t i, k, n, j;
	const char *two;
	char *m;

	(void)state;
	for (i = 0; i < NELEM(levels); i++) {
		k = strlen(levels[i]);
		m = malloc(1000 * k + 16);
		assert_non_null(m);
		for (j = n = 0; j < 1000; j++, n += k)
			memcpy(m + n, levels[i], k);
		memcpy(m + n, "\nhi\n", 4);
		refused_or_parsed(m, n + 4, 1, "nesting");
		free(m);
	}
	two = "Content-Type: text/plain\nSubject: x\n"
	    "Content-Type: multipart/mixed; boundary=b\n\n--b\n";
	refused_or_parsed(two, strlen(two), 1, "second Content-Type");
}

/* message/rfc822 inside message/rfc822: depth too. */
static void
t_deep_messages(void **state)
{
	static const char level[] = "Content-Type: message/rfc822\n\n";
	size_t k = sizeof(level) - 1, i, levels = 50000;
	char *m = malloc(levels * k + 16);

	(void)state;
	assert_non_null(m);
	for (i = 0; i < levels; i++)
		memcpy(m + i * k, level, k);
	memcpy(m + levels * k, "Subject: x\n\nhi\n", 15);
	refused_or_parsed(m, levels * k + 15, 1, "nesting");
	free(m);
}

/* multipart/digest parts are messages without saying so. */
static void
t_deep_digest(void **state)
{
	static const char level[] =
	    "Content-Type: multipart/digest; boundary=d\n\n--d\n\n";
	size_t k = sizeof(level) - 1, i, levels = 1000;
	char *m = malloc(levels * k + 16);

	(void)state;
	assert_non_null(m);
	for (i = 0; i < levels; i++)
		memcpy(m + i * k, level, k);
	memcpy(m + levels * k, "hi\n", 3);
	refused_or_parsed(m, levels * k + 3, 1, "nesting");
	free(m);
}

static void
t_many_parts(void **state)
{
	char *m = malloc(1024 * 1024), *p;
	size_t i;

	(void)state;
	assert_non_null(m);
	p = m + snprintf(m, 128, "Content-Type: multipart/mixed; "
	    "boundary=b\n\n");
	for (i = 0; i < LIMIT_INBOUND_PARTS + 1; i++)
		p += snprintf(p, 64, "--b\nContent-Type: text/plain\n\nx\n");
	p += snprintf(p, 16, "--b--\n");
	refused_or_parsed(m, (size_t)(p - m), 1, "parts");
	free(m);
}

static void
t_big_header(void **state)
{
	size_t n = 10 * 1024 * 1024, i;
	char *m = malloc(n);

	(void)state;
	assert_non_null(m);
	/* 10 MB of header fields: over the size limit first */
	for (i = 0; i + 40 <= n; i += 40)
		memcpy(m + i, "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", 40);
	refused_or_parsed(m, i, 1, "over the limit");
	/* within the size limit, over the header limit */
	refused_or_parsed(m, LIMIT_INBOUND_HEADER + 4000, 1, "header block");
	/* a header block in a part counts too */
	i = (size_t)snprintf(m, 128, "Content-Type: multipart/mixed; "
	    "boundary=b\n\n--b\n");
	for (; i + 40 <= LIMIT_INBOUND_HEADER + 4000; i += 40)
		memcpy(m + i, "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", 40);
	refused_or_parsed(m, i, 1, "header block");
	free(m);
}

static void
t_long_line(void **state)
{
	size_t n = 1024 * 1024, hn, i;
	const char *head = "Subject: x\nContent-Type: text/plain\n"
	    "Content-Transfer-Encoding: base64\n\n";
	char *m = malloc(n + 256);

	(void)state;
	assert_non_null(m);
	hn = strlen(head);
	memcpy(m, head, hn);
	for (i = 0; i < n; i++)
		m[hn + i] = "QUJD"[i % 4];
	m[hn + n] = '\n';
	refused_or_parsed(m, hn + n + 1, 1, "longer than");
	/* at the limit, CRLF counted, and one over */
	m[hn + LIMIT_INBOUND_LINE - 2] = '\r';
	m[hn + LIMIT_INBOUND_LINE - 1] = '\n';
	refused_or_parsed(m, hn + LIMIT_INBOUND_LINE, 0, NULL);
	m[hn + LIMIT_INBOUND_LINE - 2] = 'Q';
	m[hn + LIMIT_INBOUND_LINE - 1] = '\r';
	m[hn + LIMIT_INBOUND_LINE] = '\n';
	refused_or_parsed(m, hn + LIMIT_INBOUND_LINE + 1, 1, "longer than");
	free(m);
}

static void
t_size_limit(void **state)
{
	size_t n = LIMIT_INBOUND_SIZE + 1, i;
	char *m = malloc(n);

	(void)state;
	assert_non_null(m);
	memcpy(m, "Subject: x\n\n", 12);
	for (i = 12; i < n; i++)
		m[i] = (i % 70 == 0) ? '\n' : 'a';
	refused_or_parsed(m, n, 1, "over the limit");
	refused_or_parsed(m, n - 1, 0, NULL);
	free(m);
}

static void
t_truncated(void **state)
{
	struct inbound in;
	struct err e;
	size_t len, i;
	char *m = fixture("postfix_hard_5.1.1.eml", &len);
	char *cut;

	(void)state;
	/* cut inside the returned headers: no close delimiter */
	cut = strstr(m, "Subject: November news");
	assert_non_null(cut);
	assert_int_equal(inbound_parse(m, (size_t)(cut - m), &in, &e), 0);
	assert_int_equal(in.type, INBOUND_DSN);
	assert_string_equal(in.rcpt[0].status, "5.1.1");
	inbound_free(&in);
	/* every shorter cut: refused or parsed, nothing else */
	for (i = 0; i < len; i += 7)
		refused_or_parsed(m, i, 0, NULL);
	/* a delimiter line cut short: "--4Tv9Qk1F3R" */
	cut = strstr(m, "--4Tv9Qk1F3Rz4x2.1710238503/mail.example.com\n"
	    "Content-Description: Delivery report");
	assert_non_null(cut);
	refused_or_parsed(m, (size_t)(cut - m) + 12, 0, NULL);
	free(m);
}

static void
t_garbage(void **state)
{
	static const char mime[] = "Content-Type: multipart/report; "
	    "boundary=\"--\"\n\n----\n";
	unsigned char *m = malloc(256 * 1024);
	unsigned x = 2463534242u;
	size_t i, round;

	(void)state;
	assert_non_null(m);
	for (round = 0; round < 8; round++) {
		for (i = 0; i < 256 * 1024; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			m[i] = (unsigned char)x;
			/* some rounds get lines and MIME-ish words */
			if (round % 2 == 1 && x % 61 == 0)
				m[i] = '\n';
		}
		if (round >= 4)
			memcpy(m, mime, sizeof(mime) - 1);
		refused_or_parsed((const char *)m, 256 * 1024 >> round, 0,
		    NULL);
	}
	free(m);
}

static void
t_empty(void **state)
{
	(void)state;
	refused_or_parsed("", 0, 1, "empty");
	refused_or_parsed("\n", 1, 1, NULL);
	refused_or_parsed("\r\n\r\n\r\n", 6, 1, NULL);
}

static void
t_nul_bytes(void **state)
{
	static const char m[] = "From: a@exa\0mple.org\nSubject: x\0y\n"
	    "Content-Type: multipart/report; report-type=delivery-status; "
	    "boundary=b\n\n--b\nContent-Type: message/delivery-status\n\n"
	    "Reporting-MTA: dns; m\0x\n\nFinal-Recipient: rfc822; a\0@b\n"
	    "Action: failed\nStatus: 5.1.1\0\n\n--b--\n\0\0\0";
	struct inbound in;
	struct err e;

	(void)state;
	refused_or_parsed(m, sizeof(m) - 1, 0, NULL);
	if (inbound_parse(m, sizeof(m) - 1, &in, &e) == 0) {
		assert_int_equal(in.type, INBOUND_DSN);
		inbound_free(&in);
	}
}

/* A thousand recipient blocks: sixteen read. */
static void
t_many_rcpts(void **state)
{
	char *m = malloc(256 * 1024), *p;
	struct inbound in;
	struct err e;
	size_t i;

	(void)state;
	assert_non_null(m);
	p = m + snprintf(m, 256, "From: d@example.net\nContent-Type: "
	    "multipart/report; report-type=delivery-status; boundary=b\n\n"
	    "--b\nContent-Type: message/delivery-status\n\n"
	    "Reporting-MTA: dns; mx\n\n");
	for (i = 0; i < 1000; i++)
		p += snprintf(p, 128, "Final-Recipient: rfc822; u%zu@x\n"
		    "Action: failed\nStatus: 5.1.1\n\n", i);
	p += snprintf(p, 16, "--b--\n");
	assert_int_equal(inbound_parse(m, (size_t)(p - m), &in, &e), 0);
	assert_int_equal(in.nrcpt, INBOUND_MAX_RCPTS);
	assert_string_equal(in.rcpt[15].final_rcpt, "u15@x");
	inbound_free(&in);
	free(m);
}

/* All of the hostile cases above, together, well under 2 s. */
static void
t_fast(void **state)
{
	struct timespec a, b;
	size_t n;
	char *m;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &a);
	m = nested(100000, &n);
	refused_or_parsed(m, n, 1, "nesting");
	free(m);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true((b.tv_sec - a.tv_sec) * 1000 +
	    (b.tv_nsec - a.tv_nsec) / 1000000 < 500);
}

/* -------------------------------------------------------------- mbox */

struct got {
	char msg[8][512];
	size_t len[8];
	long line[8];
	int null[8];
	size_t n;
	int stop_after;		/* 0: never */
};

static int
got_cb(const char *msg, size_t len, long line, void *ctx)
{
	struct got *g = ctx;

	if (g->n < 8) {
		g->null[g->n] = msg == NULL;
		g->len[g->n] = len;
		g->line[g->n] = line;
		if (msg != NULL)
			snprintf(g->msg[g->n], sizeof(g->msg[0]), "%.*s",
			    (int)(len < 511 ? len : 511), msg);
	}
	g->n++;
	return g->stop_after != 0 && (int)g->n >= g->stop_after ? -1 : 0;
}

static FILE *
mem_file(const char *s, size_t n)
{
	FILE *fp = tmpfile();

	assert_non_null(fp);
	assert_int_equal(fwrite(s, 1, n, fp), n);
	rewind(fp);
	return fp;
}

static int
walk_str(const char *s, struct got *g, struct err *e)
{
	FILE *fp = mem_file(s, strlen(s));
	int rc = inbound_mbox(fp, "test.mbox", got_cb, g, e);

	fclose(fp);
	return rc;
}

static void
t_mbox_split(void **state)
{
	static const char box[] =
	    "From MAILER-DAEMON Tue Mar 12 10:15:03 2024\n"
	    "Subject: one\n"
	    "\n"
	    "body one\n"
	    ">From the start, quoted\n"
	    ">>From twice quoted\n"
	    "> From not a From line\n"
	    "From inside, no blank line before\n"
	    "\n"
	    "From MAILER-DAEMON Tue Mar 12 10:16:00 2024\n"
	    "Subject: two\n"
	    "\n"
	    "body two\n"
	    "\n"
	    "\n"
	    "From MAILER-DAEMON Tue Mar 12 10:17:00 2024\n"
	    "Subject: three\n"
	    "\n"
	    "no trailing newline";
	struct got g = { 0 };
	struct err e;

	(void)state;
	assert_int_equal(walk_str(box, &g, &e), 0);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.msg[0], "Subject: one\n\nbody one\n"
	    "From the start, quoted\n>From twice quoted\n"
	    "> From not a From line\nFrom inside, no blank line before\n");
	assert_int_equal(g.line[0], 1);
	/* one blank line kept: only the one before "From " separates */
	assert_string_equal(g.msg[1], "Subject: two\n\nbody two\n\n");
	assert_int_equal(g.line[1], 10);
	assert_string_equal(g.msg[2], "Subject: three\n\nno trailing newline");
	assert_int_equal(g.line[2], 16);
	assert_int_equal(g.len[2], strlen(g.msg[2]));
}

static void
t_mbox_crlf(void **state)
{
	static const char box[] =
	    "From a@b Tue Mar 12 10:15:03 2024\r\n"
	    "Subject: one\r\n\r\nx\r\n>From y\r\n\r\n"
	    "From a@b Tue Mar 12 10:15:04 2024\r\n"
	    "Subject: two\r\n\r\nz\r\n";
	struct got g = { 0 };
	struct err e;

	(void)state;
	assert_int_equal(walk_str(box, &g, &e), 0);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.msg[0], "Subject: one\r\n\r\nx\r\nFrom y\r\n");
	assert_string_equal(g.msg[1], "Subject: two\r\n\r\nz\r\n");
}

static void
t_mbox_over_limit(void **state)
{
	size_t big = LIMIT_INBOUND_SIZE + 100000, i;
	char *s = malloc(big + 512), *p;
	struct got g = { 0 };
	struct err e;
	FILE *fp;

	(void)state;
	assert_non_null(s);
	p = s + snprintf(s, 256, "From a@b Tue Mar 12 10:15:03 2024\n"
	    "Subject: small\n\nx\n\nFrom a@b Tue Mar 12 10:15:04 2024\n"
	    "Subject: big\n\n");
	/* long lines, one longer than the reader's buffer */
	for (i = 0; i < big; i++)
		p[i] = (i % 100000 == 99999) ? '\n' : 'y';
	p += big;
	p += snprintf(p, 128, "\n\nFrom a@b Tue Mar 12 10:15:05 2024\n"
	    "Subject: after\n\nz\n");
	fp = mem_file(s, (size_t)(p - s));
	assert_int_equal(inbound_mbox(fp, "big.mbox", got_cb, &g, &e), 0);
	fclose(fp);
	assert_int_equal(g.n, 3);
	assert_false(g.null[0]);
	assert_true(g.null[1]);
	assert_true(g.len[1] > LIMIT_INBOUND_SIZE);
	assert_int_equal(g.len[1], strlen("Subject: big\n\n") + big + 1);
	assert_false(g.null[2]);
	assert_string_equal(g.msg[2], "Subject: after\n\nz\n");
	free(s);
}

static void
t_mbox_stop_and_errors(void **state)
{
	static const char box[] = "From a\n\nx\n\nFrom b\n\ny\n\nFrom c\n\nz\n";
	struct got g = { 0 };
	struct err e = { 0 };

	(void)state;
	g.stop_after = 2;
	assert_int_equal(walk_str(box, &g, &e), 0);
	assert_int_equal(g.n, 2);

	memset(&g, 0, sizeof(g));
	assert_int_equal(walk_str("", &g, &e), 0);
	assert_int_equal(g.n, 0);
	assert_int_equal(walk_str("\n\n", &g, &e), 0);
	assert_int_equal(g.n, 0);

	assert_int_equal(walk_str("Subject: not an mbox\n\nx\n", &g, &e),
	    -1);
	assert_int_equal(e.code, EX_DATAERR);
	assert_non_null(strstr(e.msg, "test.mbox: line 1"));
	assert_int_equal(g.n, 0);
}

/* Each fixture, in an mbox, comes out as it went in. */
static void
t_mbox_fixtures(void **state)
{
	FILE *fp = tmpfile();
	struct got g = { 0 };
	struct err e;
	size_t len;
	char *m;

	(void)state;
	assert_non_null(fp);
	m = fixture("reply_human.eml", &len);
	fprintf(fp, "From jane Tue Mar 12 12:10:44 2024\n%s\n", m);
	fprintf(fp, "From jane Tue Mar 12 12:10:45 2024\n%s\n", m);
	rewind(fp);
	assert_int_equal(inbound_mbox(fp, "f.mbox", got_cb, &g, &e), 0);
	fclose(fp);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.len[0], len);
	assert_int_equal(g.len[1], len);
	free(m);
}

int
main(void)
{
	struct unit_tests u = { 0 };
	size_t i;

	inbound_init();
	inbound_init();		/* idempotent */
	tsv_load();
	UNIT_TABLE(&u, fx_cases, t_fixture);
	for (i = 0; i < ntsv; i++)
		unit_add(&u, tsv_rows[i].name, t_expected, &tsv_rows[i]);
	unit_add(&u, "expected.tsv: a row per fixture", t_expected_complete,
	    NULL);
	unit_add(&u, "DSN: three recipients, mixed", t_multi_rcpt, NULL);
	unit_add(&u, "DSN: fields, RFC 2047, CRLF", t_dsn_details, NULL);
	unit_add(&u, "ARF: original recipient and sender", t_arf_details,
	    NULL);
	unit_add(&u, "reply: to, refs, charset", t_reply_details, NULL);
	unit_add(&u, "non-standard bounce: the quoted copy is cut",
	    t_copy_cut, NULL);
	unit_add(&u, "auto-reply headers and subjects", t_auto_headers, NULL);
	unit_add(&u, "text from HTML only", t_html_only, NULL);
	unit_add(&u, "text cut at INBOUND_TEXT, whole characters",
	    t_text_cut, NULL);
	UNIT_TABLE(&u, cls_cases, t_classify);
	unit_add(&u, "classify: class names", t_class_names, NULL);
	UNIT_TABLE(&u, find_cases, t_find);
	unit_add(&u, "find: a small buffer", t_find_small, NULL);
	unit_add(&u, "hostile: 100,000 nested multiparts", t_deep_nesting,
	    NULL);
	unit_add(&u, "hostile: disguised nesting", t_deep_disguised, NULL);
	unit_add(&u, "hostile: 50,000 nested messages", t_deep_messages,
	    NULL);
	unit_add(&u, "hostile: nested digests", t_deep_digest, NULL);
	unit_add(&u, "hostile: too many parts", t_many_parts, NULL);
	unit_add(&u, "hostile: 10 MB header, header limit", t_big_header,
	    NULL);
	unit_add(&u, "hostile: 1 MB base64 line, line limit", t_long_line,
	    NULL);
	unit_add(&u, "hostile: size limit", t_size_limit, NULL);
	unit_add(&u, "hostile: truncated boundary and every cut",
	    t_truncated, NULL);
	unit_add(&u, "hostile: garbage", t_garbage, NULL);
	unit_add(&u, "hostile: empty", t_empty, NULL);
	unit_add(&u, "hostile: NUL bytes", t_nul_bytes, NULL);
	unit_add(&u, "hostile: 1000 recipient blocks", t_many_rcpts, NULL);
	unit_add(&u, "hostile: deep nesting refused fast", t_fast, NULL);
	unit_add(&u, "mbox: split, mboxrd unquoting, no final newline",
	    t_mbox_split, NULL);
	unit_add(&u, "mbox: CRLF", t_mbox_crlf, NULL);
	unit_add(&u, "mbox: a message over the limit", t_mbox_over_limit,
	    NULL);
	unit_add(&u, "mbox: stop, empty, not an mbox",
	    t_mbox_stop_and_errors, NULL);
	unit_add(&u, "mbox: messages come out whole", t_mbox_fixtures, NULL);
	return unit_run(&u, "inbound", NULL, NULL);
}
