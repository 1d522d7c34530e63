/*
 * test_smtp.c - the SMTP client state machine, as transcripts.
 *
 * A row is a script: each step feeds what the server says and expects
 * exactly the bytes the client writes next; the events the machine gives
 * along the way are summed up in one line ("ready; rcpt1=perm 550 5.1.1;
 * msg=ok 250 2.0.0; ...") and compared at the end. The driver answers
 * events as the event loop would: on SMTP_EV_READY it sends the row's next
 * message, or QUIT when the row asks for it; on SMTP_EV_STARTTLS it
 * reports the handshake done. Every row runs twice: fed in one piece and
 * written in one piece, then fed one byte at a time and written seven
 * bytes at a time; both must give the same bytes and events. Every event
 * text of every row is checked for the credentials.
 */
#include "unit.h"

#include "buf.h"
#include "smtp.h"

#define USER		"alice@example.org"
#define PASS		"s3cret-Pa55"
/* Computed with Python's base64, not OpenSSL. */
#define B64_PLAIN	"AGFsaWNlQGV4YW1wbGUub3JnAHMzY3JldC1QYTU1"
#define B64_USER	"YWxpY2VAZXhhbXBsZS5vcmc="
#define B64_PASS	"czNjcmV0LVBhNTU="

static const char *const secrets[] = { USER, PASS, B64_PLAIN, B64_USER,
    B64_PASS };

#define HELO_NAME	"client.example.org"

static const struct smtp_config cfg_plain = { .helo = HELO_NAME };
static const struct smtp_config cfg_may = { .helo = HELO_NAME,
    .tls = SMTP_TLS_MAY };
static const struct smtp_config cfg_require = { .helo = HELO_NAME,
    .tls = SMTP_TLS_REQUIRE };
static const struct smtp_config cfg_auth_tls = { .helo = HELO_NAME,
    .tls = SMTP_TLS_REQUIRE, .auth_user = USER, .auth_pass = PASS };
static const struct smtp_config cfg_auth_login = { .helo = HELO_NAME,
    .implicit_tls = 1, .auth_user = USER, .auth_pass = PASS,
    .auth_mechs = "LOGIN PLAIN" };
static const struct smtp_config cfg_auth_implicit = { .helo = HELO_NAME,
    .tls = SMTP_TLS_REQUIRE, .implicit_tls = 1, .auth_user = USER,
    .auth_pass = PASS };
static const struct smtp_config cfg_auth_clear = { .helo = HELO_NAME,
    .auth_user = USER, .auth_pass = PASS };
static const struct smtp_config cfg_auth_clear_ok = { .helo = HELO_NAME,
    .auth_user = USER, .auth_pass = PASS, .auth_plaintext = 1 };
static const struct smtp_config cfg_auth_short = { .helo = HELO_NAME,
    .tls = SMTP_TLS_REQUIRE, .implicit_tls = 1, .auth_user = "u",
    .auth_pass = "pw-long-1" };
static const struct smtp_config cfg_auth_may = { .helo = HELO_NAME,
    .tls = SMTP_TLS_MAY, .auth_user = USER, .auth_pass = PASS };

struct tmsg {
	const char *from;
	const char *rcpt[4];
	int nrcpt;
	uint64_t size;
	const char *body;
	int eightbit;
};

#define BODY		"Subject: hi\r\n\r\nHello\r\n"
#define BODY_OUT	BODY ".\r\n"

static const struct tmsg m_one = { "sender@example.org",
    { "a@example.net" }, 1, 26, BODY, 0 };
static const struct tmsg m_two = { "sender@example.org",
    { "b@example.net" }, 1, 26, BODY, 0 };
static const struct tmsg m_three = { "sender@example.org",
    { "a@example.net", "b@example.net", "c@example.net" }, 3, 120, BODY, 0 };
static const struct tmsg m_big = { "sender@example.org",
    { "a@example.net" }, 1, 5000, BODY, 0 };
static const struct tmsg m_utf8_rcpt = { "sender@example.org",
    { "j\xc3\xbcrgen@example.net", "a@example.net" }, 2, 0, BODY, 0 };
static const struct tmsg m_utf8_from = { "j\xc3\xbcrgen@example.org",
    { "a@example.net" }, 1, 0, BODY, 0 };
static const struct tmsg m_8bit = { "sender@example.org",
    { "a@example.net" }, 1, 0, BODY, 1 };
static const struct tmsg m_bounce = { "", { "a@example.net" }, 1, 0, BODY,
    0 };
static const struct tmsg m_bad_from = { "s@example.org\r\nRSET",
    { "a@example.net" }, 1, 0, BODY, 0 };
static const struct tmsg m_inject = { "sender@example.org",
    { "a@example.net>\r\nRCPT TO:<evil@example.com", "b@example.net" }, 2,
    0, BODY, 0 };

struct tstep {
	const char *server;	/* NULL: nothing */
	const char *client;	/* exactly what is written then */
};

struct tcase {
	const char *name;
	const struct smtp_config *cfg;
	const struct tmsg *msg[3];
	int quit;		/* QUIT when the messages are done */
	struct tstep step[14];
	const char *events;
	const char *text;	/* in some event's text; NULL: no check */
};

#define GREET		"220 mx.example.net ESMTP\r\n"
#define EHLO		"EHLO " HELO_NAME "\r\n"
#define HELO		"HELO " HELO_NAME "\r\n"
#define CAPS_PIPE	"250-mx.example.net\r\n250-PIPELINING\r\n" \
			"250-SIZE 10240000\r\n250-8BITMIME\r\n" \
			"250 ENHANCEDSTATUSCODES\r\n"
#define CAPS_NOPIPE	"250-mx.example.net\r\n250-SIZE 10240000\r\n" \
			"250 8BITMIME\r\n"
#define MAIL		"MAIL FROM:<sender@example.org>"
#define MAIL26		MAIL " SIZE=26\r\n"
#define RCPT_A		"RCPT TO:<a@example.net>\r\n"
#define RCPT_B		"RCPT TO:<b@example.net>\r\n"
#define RCPT_C		"RCPT TO:<c@example.net>\r\n"
#define DATA		"DATA\r\n"
#define BATCH1		MAIL26 RCPT_A DATA
#define BATCH3		MAIL " SIZE=120\r\n" RCPT_A RCPT_B RCPT_C DATA
#define QUIT		"QUIT\r\n"

static const struct tcase cases[] = {
	/* ---------------------------------------------- happy paths */
	{ "happy path, PIPELINING: the envelope in one round trip",
	  &cfg_plain, { &m_three }, 1, {
	    { GREET, EHLO },
	    { CAPS_PIPE, BATCH3 },
	    { "250 2.1.0 ok\r\n250 2.1.5 ok\r\n250 2.1.5 ok\r\n"
	      "250 2.1.5 ok\r\n354 go ahead\r\n", BODY_OUT },
	    { "250 2.0.0 queued as 4XyZ\r\n", QUIT },
	    { "221 2.0.0 bye\r\n", "" } },
	  "ready; rcpt0=ok 250 2.0.0; rcpt1=ok 250 2.0.0; rcpt2=ok 250 2.0.0; "
	  "msg=ok 250 2.0.0; ready; closed=ok 221 2.0.0", "queued as 4XyZ" },
	{ "happy path without PIPELINING: one command per round trip",
	  &cfg_plain, { &m_three }, 1, {
	    { GREET, EHLO },
	    { CAPS_NOPIPE, MAIL " SIZE=120\r\n" },
	    { "250 ok\r\n", RCPT_A },
	    { "250 ok\r\n", RCPT_B },
	    { "250 ok\r\n", RCPT_C },
	    { "250 ok\r\n", DATA },
	    { "354 go ahead\r\n", BODY_OUT },
	    { "250 queued\r\n", QUIT },
	    { "221 bye\r\n", "" } },
	  "ready; rcpt0=ok 250; rcpt1=ok 250; rcpt2=ok 250; msg=ok 250; "
	  "ready; closed=ok 221", NULL },
	{ "multi-line EHLO, keywords in any case, unknown ones skipped",
	  &cfg_plain, { &m_one }, 0, {
	    { GREET, EHLO },
	    { "250-mx.example.net greets client.example.org\r\n"
	      "250-X-EXPS GSSAPI NTLM\r\n250-pipelining\r\n"
	      "250-Size 52428800\r\n250-DSN\r\n250-CHUNKING\r\n"
	      "250 8bitmime\r\n", BATCH1 } },
	  "ready", NULL },
	{ "null reverse-path for bounces", &cfg_plain, { &m_bounce }, 0, {
	    { GREET, EHLO },
	    { CAPS_PIPE, "MAIL FROM:<>\r\n" RCPT_A DATA } },
	  "ready", NULL },
	{ "second message on the same session: no RSET after a complete one",
	  &cfg_plain, { &m_one, &m_two }, 1, {
	    { GREET, EHLO },
	    { CAPS_PIPE, BATCH1 },
	    { "250 ok\r\n250 ok\r\n354 go\r\n", BODY_OUT },
	    { "250 2.0.0 one\r\n", MAIL26 RCPT_B DATA },
	    { "250 ok\r\n250 ok\r\n354 go\r\n", BODY_OUT },
	    { "250 2.0.0 two\r\n", QUIT },
	    { "221 bye\r\n", "" } },
	  "ready; rcpt0=ok 250 2.0.0; msg=ok 250 2.0.0; ready; "
	  "rcpt0=ok 250 2.0.0; msg=ok 250 2.0.0; ready; closed=ok 221",
	  NULL },
	{ "bare-LF server", &cfg_plain, { &m_one }, 1, {
	    { "220 mx ESMTP\n", EHLO },
	    { "250-mx\n250-PIPELINING\n250 SIZE 1000\n", BATCH1 },
	    { "250 ok\n250 ok\n354 go\n", BODY_OUT },
	    { "250 ok\n", QUIT },
	    { "221 bye\n", "" } },
	  "ready; rcpt0=ok 250; msg=ok 250; ready; closed=ok 221", NULL },

	/* ---------------------------------------------- EHLO and HELO */
	{ "EHLO 502: HELO, no extensions, no SIZE", &cfg_plain, { &m_one },
	  0, {
	    { GREET, EHLO },
	    { "502 5.5.1 command not implemented\r\n", HELO },
	    { "250 mx.example.net\r\n", MAIL "\r\n" },
	    { "250 ok\r\n", RCPT_A },
	    { "250 ok\r\n", DATA },
	    { "354 go\r\n", BODY_OUT },
	    { "250 ok\r\n", "" } },
	  "ready; rcpt0=ok 250; msg=ok 250; ready", NULL },
	{ "EHLO 500: HELO", &cfg_plain, { NULL }, 0, {
	    { GREET, EHLO },
	    { "500 unrecognised command\r\n", HELO },
	    { "250 mx.example.net\r\n", "" } },
	  "ready", NULL },
	{ "EHLO 550: permanent for this host, QUIT", &cfg_plain, { &m_one },
	  0, {
	    { GREET, EHLO },
	    { "550 5.7.1 go away\r\n", QUIT } },
	  "closed=perm 550 5.7.1", "go away" },
	{ "EHLO 502 then HELO 501: permanent", &cfg_plain, { NULL }, 0, {
	    { GREET, EHLO },
	    { "502 no\r\n", HELO },
	    { "501 5.5.4 bad name\r\n", QUIT } },
	  "closed=perm 501 5.5.4", NULL },
	{ "EHLO 451: temporary", &cfg_plain, { NULL }, 0, {
	    { GREET, EHLO },
	    { "451 4.3.0 try later\r\n", QUIT } },
	  "closed=temp 451 4.3.0", NULL },

	/* ---------------------------------------------- greeting */
	{ "554 greeting: permanent for this host, QUIT", &cfg_plain,
	  { &m_one }, 0, {
	    { "554 5.7.1 no SMTP service here\r\n", QUIT } },
	  "closed=perm 554 5.7.1", "no SMTP service here" },
	{ "450 greeting: temporary", &cfg_plain, { NULL }, 0, {
	    { "450 busy\r\n", QUIT } },
	  "closed=temp 450", NULL },
	{ "multi-line greeting", &cfg_plain, { NULL }, 0, {
	    { "220-mx.example.net ESMTP\r\n220-no UCE\r\n", "" },
	    { "220 welcome\r\n", EHLO } },
	  "", NULL },

	/* ---------------------------------------------- recipients */
	{ "pipelined RCPT results mixing 250, 550 and 452", &cfg_plain,
	  { &m_three }, 1, {
	    { GREET, EHLO },
	    { CAPS_PIPE, BATCH3 },
	    { "250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no such user\r\n"
	      "452 4.2.2 mailbox full\r\n354 go\r\n", BODY_OUT },
	    { "250 2.0.0 queued\r\n", QUIT },
	    { "221 bye\r\n", "" } },
	  "ready; rcpt1=perm 550 5.1.1; rcpt2=temp 452 4.2.2; "
	  "rcpt0=ok 250 2.0.0; msg=ok 250 2.0.0; ready; closed=ok 221",
	  "mailbox full" },
	{ "251 (will forward) counts as accepted", &cfg_plain, { &m_one }, 0, {
	    { GREET, EHLO },
	    { CAPS_PIPE, BATCH1 },
	    { "250 ok\r\n251 2.1.5 user not local; will forward\r\n"
	      "354 go\r\n", BODY_OUT },
	    { "250 2.0.0 ok\r\n", "" } },
	  "ready; rcpt0=ok 250 2.0.0; msg=ok 250 2.0.0; ready", NULL },
	{ "all RCPT rejected, pipelined: DATA refused with 554", &cfg_plain,
	  { &m_three }, 1, {
	    { GREET, EHLO },
	    { CAPS_PIPE, BATCH3 },
	    { "250 ok\r\n550 5.1.1 a\r\n550 5.1.1 b\r\n450 4.2.1 c\r\n"
	      "554 5.5.1 no valid recipients\r\n", QUIT },
	    { "221 bye\r\n", "" } },
	  "ready; rcpt0=perm 550 5.1.1; rcpt1=perm 550 5.1.1; "
	  "rcpt2=temp 450 4.2.1; msg=temp 0; ready; closed=ok 221",
	  "no recipient was accepted" },
	{ "all RCPT rejected, pipelined: 354 answered by \".\" alone",
	  &cfg_plain, { &m_three, &m_one }, 0, {
	    { GREET, EHLO },
	    { CAPS_PIPE, BATCH3 },
	    { "250 ok\r\n550 5.1.1 a\r\n550 5.1.1 b\r\n550 5.1.1 c\r\n"
	      "354 go\r\n", ".\r\n" },
	    { "554 5.5.1 no valid recipients\r\n", BATCH1 } },
	  "ready; rcpt0=perm 550 5.1.1; rcpt1=perm 550 5.1.1; "
	  "rcpt2=perm 550 5.1.1; msg=perm 0; ready", NULL },
	{ "all RCPT rejected without PIPELINING: no DATA, RSET before the "
	  "next message", &cfg_plain, { &m_one, &m_two }, 0, {
	    { GREET, EHLO },
	    { CAPS_NOPIPE, MAIL26 },
	    { "250 ok\r\n", RCPT_A },
	    { "550 5.1.1 no such user\r\n", "RSET\r\n" },
	    { "250 2.0.0 flushed\r\n", MAIL26 },
	    { "250 ok\r\n", RCPT_B },
	    { "250 ok\r\n", DATA },
	    { "354 go\r\n", BODY_OUT },
	    { "250 ok\r\n", "" } },
	  "ready; rcpt0=perm 550 5.1.1; msg=perm 0; ready; rcpt0=ok 250; "
	  "msg=ok 250; ready", NULL },
	{ "MAIL refused, pipelined: its reply decides every recipient; RSET "
	  "leads the next batch", &cfg_plain, { &m_one, &m_two }, 0, {
	    { GREET, EHLO },
	    { CAPS_PIPE, BATCH1 },
	    { "550 5.7.1 sender rejected\r\n503 5.5.1 need MAIL\r\n"
	      "503 5.5.1 need MAIL\r\n", "RSET\r\n" MAIL26 RCPT_B DATA },
	    { "250 2.0.0 reset\r\n250 ok\r\n250 ok\r\n354 go\r\n", BODY_OUT },
	    { "250 2.0.0 ok\r\n", "" } },
	  "ready; rcpt0=perm 550 5.7.1; msg=perm 550 5.7.1; ready; "
	  "rcpt0=ok 250 2.0.0; msg=ok 250 2.0.0; ready", "sender rejected" },
	{ "MAIL refused without PIPELINING: no RCPT sent", &cfg_plain,
	  { &m_three }, 1, {
	    { GREET, EHLO },
	    { CAPS_NOPIPE, MAIL " SIZE=120\r\n" },
	    { "451 4.3.0 try later\r\n", QUIT },
	    { "221 bye\r\n", "" } },
	  "ready; rcpt0=temp 451 4.3.0; rcpt1=temp 451 4.3.0; "
	  "rcpt2=temp 451 4.3.0; msg=temp 451 4.3.0; ready; closed=ok 221",
	  NULL },
	{ "DATA refused after accepted recipients: they are deferred, RSET "
	  "next", &cfg_plain, { &m_one, &m_two }, 0, {
	    { GREET, EHLO },
	    { CAPS_PIPE, BATCH1 },
	    { "250 ok\r\n250 ok\r\n451 4.3.0 not now\r\n",
	      "RSET\r\n" MAIL26 RCPT_B DATA } },
	  "ready; rcpt0=temp 451 4.3.0; msg=temp 451 4.3.0; ready", NULL },
	{ "final dot refused: 554 bounces the accepted, 452 defers",
	  &cfg_plain, { &m_three }, 0, {
	    { GREET, EHLO },
	    { CAPS_PIPE, BATCH3 },
	    { "250 ok\r\n250 ok\r\n452 4.5.3 too many recipients\r\n"
	      "250 ok\r\n354 go\r\n", BODY_OUT },
	    { "554 5.7.1 message content rejected\r\n", "" } },
	  "ready; rcpt1=temp 452 4.5.3; rcpt0=perm 554 5.7.1; "
	  "rcpt2=perm 554 5.7.1; msg=temp 554 5.7.1; ready", NULL },
	{ "RSET refused: the session ends, the next message deferred, no "
	  "QUIT behind the pipelined DATA",
	  &cfg_plain, { &m_one, &m_two }, 0, {
	    { GREET, EHLO },
	    { CAPS_PIPE, BATCH1 },
	    { "550 5.7.1 no\r\n503 5.5.1 MAIL first\r\n503 5.5.1 MAIL first\r\n",
	      "RSET\r\n" MAIL26 RCPT_B DATA },
	    { "500 5.5.1 what\r\n", "" } },
	  "ready; rcpt0=perm 550 5.7.1; msg=perm 550 5.7.1; ready; "
	  "rcpt0=temp 500 5.5.1; msg=temp 500 5.5.1; closed=temp 500 5.5.1",
	  NULL },
	{ "DATA answered 250 is no go-ahead: deferred", &cfg_plain,
	  { &m_one }, 0, {
	    { GREET, EHLO },
	    { CAPS_PIPE, BATCH1 },
	    { "250 ok\r\n250 ok\r\n250 ok\r\n", "" } },
	  "ready; rcpt0=temp 250; msg=temp 250; ready", NULL },
	{ "a sender address with CR LF fails the message here", &cfg_plain,
	  { &m_bad_from }, 0, {
	    { GREET, EHLO },
	    { CAPS_PIPE, "" } },
	  "ready; rcpt0=perm 0 5.1.7; msg=perm 0 5.1.7; ready", NULL },
	{ "an address with CR LF cannot inject a command", &cfg_plain,
	  { &m_inject }, 0, {
	    { GREET, EHLO },
	    { CAPS_PIPE, MAIL "\r\n" RCPT_B DATA } },
	  "ready; rcpt0=perm 0 5.1.3", NULL },

	/* ---------------------------------------------- 421 */
	{ "421 at the greeting", &cfg_plain, { &m_one }, 1, {
	    { "421 4.3.2 too busy\r\n", "" } },
	  "closed=temp 421 4.3.2", "too busy" },
	{ "421 after EHLO", &cfg_plain, { &m_one }, 1, {
	    { GREET, EHLO },
	    { "421 4.7.0 too many connections from you\r\n", "" } },
	  "closed=temp 421 4.7.0", NULL },
	{ "421 after MAIL: every recipient deferred", &cfg_plain,
	  { &m_three }, 1, {
	    { GREET, EHLO },
	    { CAPS_NOPIPE, MAIL " SIZE=120\r\n" },
	    { "421 4.4.2 timeout\r\n", "" } },
	  "ready; rcpt0=temp 421 4.4.2; rcpt1=temp 421 4.4.2; "
	  "rcpt2=temp 421 4.4.2; msg=temp 421 4.4.2; closed=temp 421 4.4.2",
	  NULL },
	{ "421 after RCPT: the accepted one deferred too", &cfg_plain,
	  { &m_three }, 1, {
	    { GREET, EHLO },
	    { CAPS_PIPE, BATCH3 },
	    { "250 ok\r\n250 ok\r\n421 4.7.0 closing\r\n", "" } },
	  "ready; rcpt0=temp 421 4.7.0; rcpt1=temp 421 4.7.0; "
	  "rcpt2=temp 421 4.7.0; msg=temp 421 4.7.0; closed=temp 421 4.7.0",
	  NULL },
	{ "421 after DATA", &cfg_plain, { &m_one }, 1, {
	    { GREET, EHLO },
	    { CAPS_PIPE, BATCH1 },
	    { "250 ok\r\n250 ok\r\n421 4.3.0 shutting down\r\n", "" } },
	  "ready; rcpt0=temp 421 4.3.0; msg=temp 421 4.3.0; "
	  "closed=temp 421 4.3.0", NULL },
	{ "421 after the final dot: a refused recipient stays refused",
	  &cfg_plain, { &m_three }, 1, {
	    { GREET, EHLO },
	    { CAPS_PIPE, BATCH3 },
	    { "250 ok\r\n250 ok\r\n550 5.1.1 gone\r\n250 ok\r\n354 go\r\n",
	      BODY_OUT },
	    { "421 4.3.0 shutting down\r\n", "" } },
	  "ready; rcpt1=perm 550 5.1.1; rcpt0=temp 421 4.3.0; "
	  "rcpt2=temp 421 4.3.0; msg=temp 421 4.3.0; closed=temp 421 4.3.0",
	  NULL },
	{ "421 while idle", &cfg_plain, { NULL }, 0, {
	    { GREET, EHLO },
	    { CAPS_PIPE, "" },
	    { "421 4.4.2 idle too long\r\n", "" } },
	  "ready; closed=temp 421 4.4.2", NULL },
	{ "421 in a multi-line reply", &cfg_plain, { NULL }, 0, {
	    { GREET, EHLO },
	    { "421-4.7.0 going down\r\n421 4.7.0 for maintenance\r\n", "" } },
	  "closed=temp 421 4.7.0", "going down for maintenance" },

	/* ---------------------------------------------- protocol errors */
	{ "a continuation line whose code changes", &cfg_plain, { &m_one },
	  0, {
	    { GREET, EHLO },
	    { "250-mx.example.net\r\n251 PIPELINING\r\n", "" } },
	  "closed=temp 0 4.5.0", "changed from 250 to 251" },
	{ "a malformed reply line", &cfg_plain, { NULL }, 0, {
	    { "220 mx\r\n", EHLO },
	    { "hello there\r\n", "" } },
	  "closed=temp 0 4.5.0", "malformed" },
	{ "a reply code out of RFC 5321's range", &cfg_plain, { NULL }, 0, {
	    { "220 mx\r\n", EHLO },
	    { "260 what\r\n", "" } },
	  "closed=temp 0 4.5.0", NULL },
	{ "a reply with no command outstanding; READY withdrawn",
	  &cfg_plain, { &m_one }, 0, {
	    { GREET, EHLO },
	    { "250 mx\r\n250 and again\r\n", "" } },
	  "closed=temp 0 4.5.0", "no command outstanding" },
	{ "421 in the EHLO reply's packet: READY withdrawn, nothing sent",
	  &cfg_plain, { &m_one }, 1, {
	    { GREET, EHLO },
	    { CAPS_PIPE "421 4.3.2 going down\r\n", "" } },
	  "closed=temp 421 4.3.2", NULL },
	{ "nothing after the end is read", &cfg_plain, { NULL }, 0, {
	    { "421 4.3.2 busy\r\n220 just kidding\r\n", "" },
	    { "250 ok\r\n", "" } },
	  "closed=temp 421 4.3.2", NULL },

	/* ---------------------------------------------- enhanced codes */
	{ "enhanced codes: taken off every line of a multi-line reply",
	  &cfg_plain, { &m_one }, 0, {
	    { GREET, EHLO },
	    { CAPS_PIPE, BATCH1 },
	    { "250 2.1.0 ok\r\n550-5.1.1 The email account that you tried "
	      "to reach\r\n550-5.1.1 does not exist.\r\n550 5.1.1 "
	      "https://support.example/\r\n554 5.5.1 no recipients\r\n", "" } },
	  "ready; rcpt0=perm 550 5.1.1; msg=perm 0; ready",
	  "The email account that you tried to reach does not exist. "
	  "https://support.example/" },
	{ "enhanced codes: read without ENHANCEDSTATUSCODES, class must "
	  "match", &cfg_plain, { &m_three }, 0, {
	    { GREET, EHLO },
	    { "250-mx\r\n250 PIPELINING\r\n", MAIL "\r\n" RCPT_A RCPT_B RCPT_C
	      DATA },
	    { "250 ok\r\n550 4.1.1 odd class\r\n550 5.1.10 ok\r\n"
	      "450 4.2.1000 too long\r\n554 no\r\n", "" } },
	  "ready; rcpt0=perm 550; rcpt1=perm 550 5.1.10; rcpt2=temp 450; "
	  "msg=temp 0; ready", "4.1.1 odd class" },

	/* ---------------------------------------------- local refusals */
	{ "SIZE exceeded: refused before sending", &cfg_plain, { &m_big }, 1, {
	    { GREET, EHLO },
	    { "250-mx\r\n250-PIPELINING\r\n250 SIZE 1000\r\n", QUIT },
	    { "221 bye\r\n", "" } },
	  "ready; rcpt0=perm 0 5.3.4; msg=perm 0 5.3.4; ready; closed=ok 221",
	  "5000 bytes, over the server's SIZE limit of 1000" },
	{ "SIZE 0 means no limit", &cfg_plain, { &m_big }, 0, {
	    { GREET, EHLO },
	    { "250-mx\r\n250-PIPELINING\r\n250 SIZE\r\n",
	      MAIL " SIZE=5000\r\n" RCPT_A DATA } },
	  "ready", NULL },
	{ "SMTPUTF8 needed and missing: that recipient fails here",
	  &cfg_plain, { &m_utf8_rcpt }, 0, {
	    { GREET, EHLO },
	    { CAPS_PIPE, MAIL "\r\n" RCPT_A DATA },
	    { "250 ok\r\n250 ok\r\n354 go\r\n", BODY_OUT },
	    { "250 ok\r\n", "" } },
	  "ready; rcpt0=perm 0 5.6.7; rcpt1=ok 250; msg=ok 250; ready",
	  "not ASCII and the server does not offer SMTPUTF8" },
	{ "SMTPUTF8 offered: MAIL FROM declares it", &cfg_plain,
	  { &m_utf8_rcpt }, 0, {
	    { GREET, EHLO },
	    { "250-mx\r\n250-PIPELINING\r\n250 SMTPUTF8\r\n",
	      MAIL " SMTPUTF8\r\nRCPT TO:<j\xc3\xbcrgen@example.net>\r\n"
	      RCPT_A DATA } },
	  "ready", NULL },
	{ "a non-ASCII sender without SMTPUTF8 fails the message here",
	  &cfg_plain, { &m_utf8_from }, 0, {
	    { GREET, EHLO },
	    { CAPS_PIPE, "" } },
	  "ready; rcpt0=perm 0 5.6.7; msg=perm 0 5.6.7; ready", NULL },
	{ "an 8-bit body with 8BITMIME: BODY=8BITMIME", &cfg_plain,
	  { &m_8bit }, 0, {
	    { GREET, EHLO },
	    { CAPS_PIPE, MAIL " BODY=8BITMIME\r\n" RCPT_A DATA } },
	  "ready", NULL },
	{ "an 8-bit body without 8BITMIME fails here", &cfg_plain,
	  { &m_8bit }, 0, {
	    { GREET, EHLO },
	    { "250-mx\r\n250 PIPELINING\r\n", "" } },
	  "ready; rcpt0=perm 0 5.6.3; msg=perm 0 5.6.3; ready", NULL },

	/* ---------------------------------------------- STARTTLS */
	{ "STARTTLS used: EHLO again, old capabilities forgotten, AUTH "
	  "only after TLS", &cfg_auth_tls, { &m_one }, 0, {
	    { GREET, EHLO },
	    { "250-mx\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 STARTTLS\r\n",
	      "STARTTLS\r\n" },
	    { "220 2.0.0 ready to start TLS\r\n", EHLO },
	    { "250-mx\r\n250-AUTH PLAIN LOGIN\r\n250 SIZE 2000\r\n",
	      "AUTH PLAIN " B64_PLAIN "\r\n" },
	    { "235 2.7.0 accepted\r\n", MAIL26 },
	    { "250 ok\r\n", RCPT_A } },
	  "starttls; ready tls", NULL },
	{ "STARTTLS: plaintext injected after 220 is discarded",
	  &cfg_may, { &m_one }, 0, {
	    { GREET, EHLO },
	    { "250-mx\r\n250 STARTTLS\r\n", "STARTTLS\r\n" },
	    { "220 go ahead\r\n250-evil\r\n250 PIPELINING\r\n", EHLO },
	    { "250 mx\r\n", MAIL "\r\n" },
	    { "250 ok\r\n", RCPT_A } },
	  "starttls; ready tls", NULL },
	{ "STARTTLS: an injected reply in the 220's own packet is discarded",
	  &cfg_may, { NULL }, 0, {
	    { GREET, EHLO },
	    { "250-mx\r\n250 STARTTLS\r\n", "STARTTLS\r\n" },
	    { "220 go ahead\r\n421 fake\r\n", EHLO },
	    { "250 mx\r\n", "" } },
	  "starttls; ready tls", NULL },
	{ "required TLS not offered: temporary failure, no MAIL",
	  &cfg_require, { &m_one }, 0, {
	    { GREET, EHLO },
	    { "250-mx\r\n250 PIPELINING\r\n", QUIT } },
	  "closed=temp 0 4.7.0", "does not offer STARTTLS" },
	{ "required TLS after a HELO fallback: temporary failure",
	  &cfg_require, { &m_one }, 0, {
	    { GREET, EHLO },
	    { "502 no\r\n", HELO },
	    { "250 mx\r\n", QUIT } },
	  "closed=temp 0 4.7.0", NULL },
	{ "required TLS, STARTTLS answered 454: temporary failure",
	  &cfg_require, { &m_one }, 0, {
	    { GREET, EHLO },
	    { "250-mx\r\n250 STARTTLS\r\n", "STARTTLS\r\n" },
	    { "454 4.7.0 TLS not available\r\n", QUIT } },
	  "closed=temp 454 4.7.0", "TLS not available" },
	{ "required TLS, STARTTLS answered 5xx: still only temporary",
	  &cfg_require, { NULL }, 0, {
	    { GREET, EHLO },
	    { "250-mx\r\n250 STARTTLS\r\n", "STARTTLS\r\n" },
	    { "502 5.5.1 no\r\n", QUIT } },
	  "closed=temp 502 5.5.1", NULL },
	{ "opportunistic TLS, STARTTLS answered 454: on in plaintext",
	  &cfg_may, { &m_one }, 0, {
	    { GREET, EHLO },
	    { "250-mx\r\n250-PIPELINING\r\n250 STARTTLS\r\n", "STARTTLS\r\n" },
	    { "454 4.7.0 TLS not available\r\n", MAIL "\r\n" RCPT_A DATA } },
	  "ready", NULL },
	{ "opportunistic TLS not offered: plaintext, reported tls=none",
	  &cfg_may, { &m_one }, 0, {
	    { GREET, EHLO },
	    { "250-mx\r\n250 PIPELINING\r\n", MAIL "\r\n" RCPT_A DATA } },
	  "ready", NULL },
	{ "no TLS wanted: STARTTLS offered and ignored", &cfg_plain,
	  { NULL }, 0, {
	    { GREET, EHLO },
	    { "250-mx\r\n250 STARTTLS\r\n", "" } },
	  "ready", NULL },

	/* ---------------------------------------------- AUTH */
	{ "implicit TLS: no STARTTLS, AUTH PLAIN at once", &cfg_auth_implicit,
	  { NULL }, 1, {
	    { GREET, EHLO },
	    { "250-mx\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n",
	      "AUTH PLAIN " B64_PLAIN "\r\n" },
	    { "235 2.7.0 ok\r\n", QUIT } },
	  "ready tls", NULL },
	{ "AUTH LOGIN exchange, preferred by the configuration",
	  &cfg_auth_login, { &m_one }, 0, {
	    { GREET, EHLO },
	    { "250-mx\r\n250 AUTH PLAIN LOGIN\r\n", "AUTH LOGIN\r\n" },
	    { "334 VXNlcm5hbWU6\r\n", B64_USER "\r\n" },
	    { "334 UGFzc3dvcmQ6\r\n", B64_PASS "\r\n" },
	    { "235 2.7.0 Authentication successful\r\n", MAIL "\r\n" } },
	  "ready tls", NULL },
	{ "AUTH LOGIN preferred, only PLAIN offered (old AUTH= form)",
	  &cfg_auth_login, { NULL }, 0, {
	    { GREET, EHLO },
	    { "250-mx\r\n250 AUTH=PLAIN\r\n", "AUTH PLAIN " B64_PLAIN "\r\n" },
	    { "235 ok\r\n", "" } },
	  "ready tls", NULL },
	{ "AUTH refused with 535: temporary, QUIT", &cfg_auth_implicit,
	  { &m_one }, 0, {
	    { GREET, EHLO },
	    { "250-mx\r\n250 AUTH PLAIN\r\n", "AUTH PLAIN " B64_PLAIN "\r\n" },
	    { "535 5.7.8 Authentication credentials invalid\r\n", QUIT } },
	  "closed=temp 535 5.7.8", "credentials invalid" },
	{ "AUTH LOGIN password refused", &cfg_auth_login, { NULL }, 0, {
	    { GREET, EHLO },
	    { "250-mx\r\n250 AUTH LOGIN\r\n", "AUTH LOGIN\r\n" },
	    { "334 VXNlcm5hbWU6\r\n", B64_USER "\r\n" },
	    { "334 UGFzc3dvcmQ6\r\n", B64_PASS "\r\n" },
	    { "535 5.7.8 no\r\n", QUIT } },
	  "closed=temp 535 5.7.8", NULL },
	{ "AUTH answered 334 after PLAIN's initial response: no QUIT as a "
	  "credential", &cfg_auth_implicit, { NULL }, 0, {
	    { GREET, EHLO },
	    { "250-mx\r\n250 AUTH PLAIN\r\n", "AUTH PLAIN " B64_PLAIN "\r\n" },
	    { "334 \r\n", "" } },
	  "closed=temp 334", NULL },
	{ "a server echoing the credentials: scrubbed from the text",
	  &cfg_auth_implicit, { NULL }, 0, {
	    { GREET, EHLO },
	    { "250-mx\r\n250 AUTH PLAIN\r\n", "AUTH PLAIN " B64_PLAIN "\r\n" },
	    { "535-5.7.8 bad password s3cret-Pa55 for alice@example.org\r\n"
	      "535 5.7.8 you sent AGFsaWNlQGV4YW1wbGUub3JnAHMzY3JldC1QYTU1\r\n",
	      QUIT } },
	  "closed=temp 535 5.7.8", "bad password *********** for" },
	{ "a one-letter user name is not starred out of every word",
	  &cfg_auth_short, { NULL }, 0, {
	    { GREET, EHLO },
	    { "250-mx\r\n250 AUTH PLAIN\r\n", "AUTH PLAIN AHUAcHctbG9uZy0x\r\n" },
	    { "535 5.7.8 user u queued, password pw-long-1 refused\r\n",
	      QUIT } },
	  "closed=temp 535 5.7.8", "user u queued, password ********* refused" },
	{ "AUTH over plaintext refused unless allowed", &cfg_auth_clear,
	  { &m_one }, 0, {
	    { GREET, EHLO },
	    { "250-mx\r\n250 AUTH PLAIN LOGIN\r\n", QUIT } },
	  "closed=temp 0 4.7.0", "not encrypted" },
	{ "AUTH over plaintext when allowed", &cfg_auth_clear_ok, { NULL }, 0, {
	    { GREET, EHLO },
	    { "250-mx\r\n250 AUTH PLAIN LOGIN\r\n",
	      "AUTH PLAIN " B64_PLAIN "\r\n" },
	    { "235 ok\r\n", "" } },
	  "ready", NULL },
	{ "opportunistic TLS refused, AUTH then not allowed", &cfg_auth_may,
	  { NULL }, 0, {
	    { GREET, EHLO },
	    { "250-mx\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n", "STARTTLS\r\n" },
	    { "454 4.7.0 no\r\n", QUIT } },
	  "closed=temp 0 4.7.0", NULL },
	{ "AUTH configured, none offered", &cfg_auth_implicit, { NULL }, 0, {
	    { GREET, EHLO },
	    { "250-mx\r\n250 PIPELINING\r\n", QUIT } },
	  "closed=temp 0 4.7.0", "offers no AUTH" },
	{ "AUTH configured, only other mechanisms offered",
	  &cfg_auth_implicit, { NULL }, 0, {
	    { GREET, EHLO },
	    { "250-mx\r\n250 AUTH CRAM-MD5 XOAUTH2\r\n", QUIT } },
	  "closed=temp 0 4.7.0", "none of the mechanisms" },

	/* ---------------------------------------------- QUIT */
	{ "QUIT answered 221", &cfg_plain, { NULL }, 1, {
	    { GREET, EHLO },
	    { CAPS_PIPE, QUIT },
	    { "221 2.0.0 bye\r\n", "" } },
	  "ready; closed=ok 221 2.0.0", NULL },
	{ "QUIT answered otherwise: closed anyway", &cfg_plain, { NULL }, 1, {
	    { GREET, EHLO },
	    { CAPS_PIPE, QUIT },
	    { "500 what\r\n", "" } },
	  "ready; closed=ok 500", NULL },
	{ "QUIT answered 421: closed, not failed", &cfg_plain, { NULL }, 1, {
	    { GREET, EHLO },
	    { CAPS_PIPE, QUIT },
	    { "421 4.4.2 bye\r\n", "" } },
	  "ready; closed=ok 421 4.4.2", NULL },
};

/* ------------------------------------------------------------ the driver */

struct run {
	const struct tcase *c;
	struct smtp *s;
	int nsent;
	struct smtp_mem mem[3];
	struct smtp_body body[3];
	struct buf events;
	struct buf texts;
	int closed;
};

static const char *
st_short(enum smtp_status st)
{
	return st == SMTP_OK ? "ok" : st == SMTP_TEMP ? "temp" : "perm";
}

static int
nmsg(const struct tcase *c)
{
	int n = 0;

	while (n < 3 && c->msg[n] != NULL)
		n++;
	return n;
}

static void
on_ready(struct run *r)
{
	const struct tmsg *m;
	struct err e;

	if (r->nsent < nmsg(r->c)) {
		m = r->c->msg[r->nsent];
		smtp_body_mem(&r->body[r->nsent], &r->mem[r->nsent], m->body,
		    strlen(m->body));
		r->body[r->nsent].eightbit = m->eightbit;
		assert_int_equal(smtp_send(r->s, m->from, m->rcpt, m->nrcpt,
		    m->size, &r->body[r->nsent], &e), 0);
		r->nsent++;
	} else if (r->c->quit) {
		assert_int_equal(smtp_quit(r->s, &e), 0);
	}
}

static void
describe(struct buf *b, const struct smtp_event *ev)
{
	static const char *const kind[] = { "none", "ready", "starttls",
	    "rcpt", "msg", "closed" };

	if (b->len > 0)
		assert_int_equal(buf_adds(b, "; "), 0);
	if (ev->type == SMTP_EV_READY || ev->type == SMTP_EV_STARTTLS) {
		assert_int_equal(buf_printf(b, "%s%s", kind[ev->type],
		    ev->type == SMTP_EV_READY && ev->tls ? " tls" : ""), 0);
		return;
	}
	assert_int_equal(buf_printf(b, "%s", kind[ev->type]), 0);
	if (ev->type == SMTP_EV_RCPT)
		assert_int_equal(buf_printf(b, "%d", ev->rcpt), 0);
	assert_int_equal(buf_printf(b, "=%s %d%s%s", st_short(ev->status),
	    ev->code, ev->dsn[0] ? " " : "", ev->dsn), 0);
}

static void
check_text(const char *text)
{
	size_t i;

	for (i = 0; i < NELEM(secrets); i++)
		if (strstr(text, secrets[i]) != NULL)
			fail_msg("credential \"%s\" in event text \"%s\"",
			    secrets[i], text);
	for (i = 0; text[i] != '\0'; i++)
		assert_true(text[i] >= 0x20 && text[i] < 0x7f);
}

static void
run_events(struct run *r)
{
	struct smtp_event ev;
	struct err e;

	while (smtp_event(r->s, &ev)) {
		assert_false(r->closed);	/* nothing after CLOSED */
		describe(&r->events, &ev);
		check_text(ev.text);
		if (ev.status != SMTP_OK && ev.code == 0)
			assert_true(ev.text[0] != '\0');
		assert_int_equal(buf_printf(&r->texts, "%s\n", ev.text), 0);
		if (ev.type == SMTP_EV_READY)
			on_ready(r);
		else if (ev.type == SMTP_EV_STARTTLS)
			assert_int_equal(smtp_tls_done(r->s, &e), 0);
		else if (ev.type == SMTP_EV_CLOSED)
			r->closed = 1;
	}
}

/* Writes everything there is to write, piece bytes at a time. */
static void
run_output(struct run *r, struct buf *got, size_t piece)
{
	const char *p;
	size_t n;

	for (;;) {
		run_events(r);
		p = smtp_output(r->s, &n);
		if (n == 0) {
			run_events(r);
			p = smtp_output(r->s, &n);
			if (n == 0)
				break;
		}
		if (piece > 0 && n > piece)
			n = piece;
		assert_int_equal(buf_add(got, p, n), 0);
		smtp_written(r->s, n);
	}
}

static void
run_case(const struct tcase *c, int bytewise)
{
	struct run r;
	struct buf got;
	struct err e;
	size_t i, k;

	memset(&r, 0, sizeof(r));
	r.c = c;
	buf_init(&r.events, 1 << 16);
	buf_init(&r.texts, 1 << 20);
	buf_init(&got, 1 << 20);
	assert_int_equal(smtp_new(c->cfg, &r.s, &e), 0);
	for (i = 0; i < NELEM(c->step) && c->step[i].client != NULL; i++) {
		const char *in = c->step[i].server;

		if (in != NULL && !bytewise)
			smtp_feed(r.s, in, strlen(in));
		for (k = 0; in != NULL && bytewise && in[k] != '\0'; k++)
			smtp_feed(r.s, in + k, 1);
		buf_reset(&got);
		run_output(&r, &got, bytewise ? 7 : 0);
		if (strcmp(buf_str(&got), c->step[i].client) != 0)
			fail_msg("step %zu (%s): client wrote\n[%s]\nwanted\n"
			    "[%s]", i + 1, bytewise ? "bytewise" : "whole",
			    buf_str(&got), c->step[i].client);
	}
	assert_string_equal(buf_str(&r.events), c->events);
	if (c->text != NULL && strstr(buf_str(&r.texts), c->text) == NULL)
		fail_msg("no event text has \"%s\"; they are:\n%s", c->text,
		    buf_str(&r.texts));
	smtp_free(r.s);
	buf_free(&r.events);
	buf_free(&r.texts);
	buf_free(&got);
}

static void
t_transcript(void **state)
{
	const struct tcase *c = *state;

	run_case(c, 0);
	run_case(c, 1);
}

/* ------------------------------------------------------------ helpers */

/* A session through greeting and EHLO with reply ehlo; ready for mail. */
static struct smtp *
session(const struct smtp_config *cfg, const char *ehlo)
{
	struct smtp_event ev;
	struct smtp *s;
	struct err e;
	size_t n;

	assert_int_equal(smtp_new(cfg, &s, &e), 0);
	smtp_feed(s, GREET, strlen(GREET));
	smtp_output(s, &n);
	smtp_written(s, n);
	smtp_feed(s, ehlo, strlen(ehlo));
	smtp_output(s, &n);
	assert_int_equal(n, 0);
	assert_int_equal(smtp_event(s, &ev), 1);
	assert_int_equal(ev.type, SMTP_EV_READY);
	assert_int_equal(smtp_event(s, &ev), 0);
	return s;
}

/* Everything the session wants written, as one string. */
static void
drain(struct smtp *s, struct buf *b)
{
	const char *p;
	size_t n;

	buf_reset(b);
	while ((p = smtp_output(s, &n)), n > 0) {
		assert_int_equal(buf_add(b, p, n), 0);
		smtp_written(s, n);
	}
}

static void
events(struct smtp *s, struct buf *b)
{
	struct smtp_event ev;

	buf_reset(b);
	while (smtp_event(s, &ev)) {
		describe(b, &ev);
		check_text(ev.text);
	}
}

/* ------------------------------------------------------------ bodies */

struct body_case {
	const char *name;
	const char *body;
	const char *wire;	/* after 354, the final "." included */
};

static const struct body_case body_cases[] = {
	{ "body: CRLF lines pass as they are", "a\r\nb\r\n", "a\r\nb\r\n.\r\n" },
	{ "body: a leading dot is doubled", ".hidden\r\n", "..hidden\r\n.\r\n" },
	{ "body: \".\\n\" becomes \"..\" CRLF", ".\n", "..\r\n.\r\n" },
	{ "body: \"\\r\\n.\\r\\n\" inside is stuffed", "a\r\n.\r\nb\r\n",
	  "a\r\n..\r\nb\r\n.\r\n" },
	{ "body: \"..\" at a line start becomes \"...\"", "x\r\n..y\r\n",
	  "x\r\n...y\r\n.\r\n" },
	{ "body: dots inside a line untouched", "a.b.\r\n", "a.b.\r\n.\r\n" },
	{ "body: bare LF becomes CRLF", "a\nb\n", "a\r\nb\r\n.\r\n" },
	{ "body: bare CR becomes CRLF", "a\rb\r", "a\r\nb\r\n.\r\n" },
	{ "body: CR CR LF is two line ends", "a\r\r\nb",
	  "a\r\n\r\nb\r\n.\r\n" },
	{ "body: no final line end gets one", "abc", "abc\r\n.\r\n" },
	{ "body: empty", "", ".\r\n" },
	{ "body: dots after bare LFs", "\n.\n.", "\r\n..\r\n..\r\n.\r\n" },
	{ "body: a dot after a bare CR", "a\r.b\r\n", "a\r\n..b\r\n.\r\n" },
};

/* Hands out at most step bytes a read. */
struct drip {
	const char *p;
	size_t len, off, step;
};

static ssize_t
drip_read(void *ctx, char *dst, size_t n)
{
	struct drip *d = ctx;

	if (n > d->step)
		n = d->step;
	if (n > d->len - d->off)
		n = d->len - d->off;
	memcpy(dst, d->p + d->off, n);
	d->off += n;
	return (ssize_t)n;
}

/* step 0: the body from memory (smtp_body_mem), stuffed where it lies. */
static void
body_run(const char *body, size_t len, size_t step, const char *wire,
    size_t wlen)
{
	static const char *const rcpt[] = { "a@example.net" };
	struct drip d = { body, len, 0, step };
	struct smtp_body b = { drip_read, &d, 0, NULL };
	struct smtp_mem m;
	struct smtp *s = session(&cfg_plain, CAPS_PIPE);
	struct buf out;
	struct err e;

	if (step == 0)
		smtp_body_mem(&b, &m, body, len);
	buf_init(&out, 1 << 24);
	assert_int_equal(smtp_send(s, "s@example.org", rcpt, 1, 0, &b, &e), 0);
	drain(s, &out);
	smtp_feed(s, "250 ok\r\n250 ok\r\n354 go\r\n", 24);
	drain(s, &out);
	assert_int_equal(out.len, wlen);
	assert_memory_equal(out.data, wire, wlen);
	buf_free(&out);
	smtp_free(s);
}

static void
t_body(void **state)
{
	const struct body_case *c = *state;
	size_t step;

	for (step = 0; step <= 4; step++)
		body_run(c->body, strlen(c->body), step, c->wire,
		    strlen(c->wire));
	body_run(c->body, strlen(c->body), LIMIT_SMTP_CHUNK, c->wire,
	    strlen(c->wire));
}

/* A body over several refills: a dot on every line, lines of every
 * length, so stuffing state crosses every chunk boundary. */
static void
t_body_large(void **state)
{
	struct buf in, want;
	size_t i, k;

	(void)state;
	buf_init(&in, 1 << 24);
	buf_init(&want, 1 << 24);
	for (i = 0; in.len < 5 * LIMIT_SMTP_CHUNK; i++) {
		assert_int_equal(buf_addc(&in, '.'), 0);
		assert_int_equal(buf_adds(&want, ".."), 0);
		for (k = 0; k < i % 97; k++) {
			assert_int_equal(buf_addc(&in, 'x'), 0);
			assert_int_equal(buf_addc(&want, 'x'), 0);
		}
		assert_int_equal(buf_adds(&in, i % 3 ? "\r\n" : "\n"), 0);
		assert_int_equal(buf_adds(&want, "\r\n"), 0);
	}
	assert_int_equal(buf_adds(&want, ".\r\n"), 0);
	body_run(in.data, in.len, LIMIT_SMTP_CHUNK, want.data, want.len);
	body_run(in.data, in.len, 1000, want.data, want.len);
	body_run(in.data, in.len, 0, want.data, want.len);
	buf_free(&in);
	buf_free(&want);
}

static ssize_t
broken_read(void *ctx, char *dst, size_t n)
{
	int *calls = ctx;

	if ((*calls)++ == 0) {
		memcpy(dst, "abc\r\n", n < 5 ? n : 5);
		return n < 5 ? (ssize_t)n : 5;
	}
	return -1;
}

/* A body that cannot be read: no "." goes out (that would send half a
 * message), the recipient is deferred, the connection must go. */
static void
t_body_error(void **state)
{
	static const char *const rcpt[] = { "a@example.net" };
	int calls = 0;
	struct smtp_body b = { broken_read, &calls, 0, NULL };
	struct smtp *s = session(&cfg_plain, CAPS_PIPE);
	struct buf out, ev;
	struct err e;

	(void)state;
	buf_init(&out, 1 << 20);
	buf_init(&ev, 1 << 16);
	assert_int_equal(smtp_send(s, "s@example.org", rcpt, 1, 0, &b, &e), 0);
	drain(s, &out);
	smtp_feed(s, "250 ok\r\n250 ok\r\n354 go\r\n", 24);
	drain(s, &out);
	assert_string_equal(buf_str(&out), "abc\r\n");
	events(s, &ev);
	assert_string_equal(buf_str(&ev), "rcpt0=temp 0 4.3.0; "
	    "msg=temp 0 4.3.0; closed=temp 0 4.3.0");
	assert_int_equal(smtp_deadline_ms(s), -1);
	buf_free(&out);
	buf_free(&ev);
	smtp_free(s);
}

/* A reply that comes while the body is still going out is read as the
 * reply to the final dot, once the dot is written. */
static void
t_reply_during_body(void **state)
{
	static const char *const rcpt[] = { "a@example.net" };
	struct smtp_mem m;
	struct smtp_body b;
	struct smtp *s = session(&cfg_plain, CAPS_PIPE);
	struct buf out, ev;
	struct err e;
	const char *p;
	size_t n;

	(void)state;
	buf_init(&out, 1 << 20);
	buf_init(&ev, 1 << 16);
	smtp_body_mem(&b, &m, BODY, strlen(BODY));
	assert_int_equal(smtp_send(s, "s@example.org", rcpt, 1, 0, &b, &e), 0);
	drain(s, &out);
	smtp_feed(s, "250 ok\r\n250 ok\r\n354 go\r\n", 24);
	/* A body in memory goes out with its dot in one piece. */
	p = smtp_output(s, &n);
	assert_true(n > 5 && p != NULL);
	assert_memory_equal(p + n - 5, "\r\n.\r\n", 5);
	smtp_feed(s, "552 5.3.4 too big\r\n", 19);
	events(s, &ev);
	assert_string_equal(buf_str(&ev), "");	/* the dot is not out yet */
	smtp_written(s, n - 1);
	events(s, &ev);
	assert_string_equal(buf_str(&ev), "");
	smtp_written(s, 1);
	drain(s, &out);
	assert_string_equal(buf_str(&out), "");
	events(s, &ev);
	assert_string_equal(buf_str(&ev), "rcpt0=perm 552 5.3.4; "
	    "msg=perm 552 5.3.4; ready");
	buf_free(&out);
	buf_free(&ev);
	smtp_free(s);
}

/* ------------------------------------------------------------ reply cap */

struct cap_case {
	const char *name;
	size_t reply_max;
	size_t lines;		/* "250-" lines of line_len bytes, CRLF in */
	size_t line_len;
	int ok;
};

static const struct cap_case cap_cases[] = {
	{ "reply cap: 64 KiB of EHLO lines pass", 0, 1024, 64, 1 },
	{ "reply cap: one byte over 64 KiB fails", 0, 1024, 64, 0 },
	{ "reply cap: a single line over the cap fails", 0, 1, 70000, 0 },
	{ "reply cap: a configured cap at its edge", 1024, 16, 64, 1 },
	{ "reply cap: a configured cap, one over", 1024, 16, 64, 0 },
};

/* An EHLO reply of exactly lines * line_len bytes (ok) or one more. */
static void
t_reply_cap(void **state)
{
	const struct cap_case *c = *state;
	struct smtp_config cfg = cfg_plain;
	struct buf in, ev;
	struct smtp *s;
	struct err e;
	size_t i, n;

	cfg.reply_max = c->reply_max;
	assert_int_equal(smtp_new(&cfg, &s, &e), 0);
	smtp_feed(s, GREET, strlen(GREET));
	smtp_output(s, &n);
	smtp_written(s, n);
	buf_init(&in, 1 << 20);
	buf_init(&ev, 1 << 16);
	for (i = 0; i < c->lines; i++) {
		assert_int_equal(buf_adds(&in, i + 1 < c->lines ? "250-" :
		    "250 "), 0);
		for (n = 6; n < c->line_len + (i == 0 && !c->ok); n++)
			assert_int_equal(buf_addc(&in, 'x'), 0);
		assert_int_equal(buf_adds(&in, "\r\n"), 0);
	}
	assert_int_equal(in.len, c->lines * c->line_len + !c->ok);
	smtp_feed(s, in.data, in.len);
	events(s, &ev);
	assert_string_equal(buf_str(&ev), c->ok ? "ready" :
	    "closed=temp 0 4.5.0");
	buf_free(&in);
	buf_free(&ev);
	smtp_free(s);
}

/* Endless bytes without a line end: refused, never buffered whole. */
static void
t_endless_line(void **state)
{
	static char junk[4096];
	struct smtp *s;
	struct buf ev;
	struct err e;
	int i;

	(void)state;
	memset(junk, 'x', sizeof(junk));
	buf_init(&ev, 1 << 16);
	assert_int_equal(smtp_new(&cfg_plain, &s, &e), 0);
	for (i = 0; i < 1000; i++)
		smtp_feed(s, junk, sizeof(junk));
	events(s, &ev);
	assert_string_equal(buf_str(&ev), "closed=temp 0 4.5.0");
	buf_free(&ev);
	smtp_free(s);
}

/* ------------------------------------------------------------ capabilities */

struct caps_case {
	const char *name;
	const char *ehlo;
	struct smtp_caps want;
};

#define CAPS(...)	{ .esmtp = 1, __VA_ARGS__ }

static const struct caps_case caps_cases[] = {
	{ "caps: none", "250 mx\r\n", CAPS(.size = 0) },
	{ "caps: all", "250-mx\r\n250-PIPELINING\r\n250-SIZE 35882577\r\n"
	  "250-8BITMIME\r\n250-SMTPUTF8\r\n250-STARTTLS\r\n"
	  "250-ENHANCEDSTATUSCODES\r\n250 AUTH LOGIN PLAIN XOAUTH2\r\n",
	  CAPS(.pipelining = 1, .size = 1, .size_max = 35882577,
	  .eightbitmime = 1, .smtputf8 = 1, .starttls = 1, .enhanced = 1,
	  .auth_offered = 1, .auth = SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN) },
	{ "caps: lower case, AUTH= form", "250-mx\r\n250-size 10\r\n"
	  "250-auth=login\r\n250 starttls\r\n",
	  CAPS(.size = 1, .size_max = 10, .starttls = 1, .auth_offered = 1,
	  .auth = SMTP_AUTH_LOGIN) },
	{ "caps: AUTH with mechanisms we do not use", "250-mx\r\n"
	  "250 AUTH CRAM-MD5 GSSAPI\r\n", CAPS(.auth_offered = 1) },
	{ "caps: SIZE without a number", "250-mx\r\n250 SIZE\r\n",
	  CAPS(.size = 1) },
	{ "caps: SIZE overflowing saturates", "250-mx\r\n"
	  "250 SIZE 999999999999999999999999\r\n",
	  CAPS(.size = 1, .size_max = UINT64_MAX) },
	{ "caps: prefixes are not keywords", "250-mx\r\n250-PIPELININGX\r\n"
	  "250-STARTTLSNOW\r\n250 AUTHX PLAIN\r\n", CAPS(.size = 0) },
	{ "caps: the first line is the server's name, not a keyword",
	  "250-PIPELINING\r\n250 SIZE 5\r\n", CAPS(.size = 1, .size_max = 5) },
};

static void
t_caps(void **state)
{
	const struct caps_case *c = *state;
	struct smtp *s = session(&cfg_plain, c->ehlo);
	const struct smtp_caps *got = smtp_caps(s);

	assert_int_equal(got->esmtp, c->want.esmtp);
	assert_int_equal(got->pipelining, c->want.pipelining);
	assert_int_equal(got->size, c->want.size);
	assert_true(got->size_max == c->want.size_max);
	assert_int_equal(got->eightbitmime, c->want.eightbitmime);
	assert_int_equal(got->smtputf8, c->want.smtputf8);
	assert_int_equal(got->starttls, c->want.starttls);
	assert_int_equal(got->enhanced, c->want.enhanced);
	assert_int_equal(got->auth_offered, c->want.auth_offered);
	assert_int_equal(got->auth, c->want.auth);
	assert_int_equal(smtp_tls_active(s), 0);
	smtp_free(s);
}

/* ------------------------------------------------------------ deadlines */

static void
t_deadlines(void **state)
{
	static const char *const rcpt[] = { "a@example.net" };
	struct smtp_config cfg = cfg_plain;
	struct smtp_mem m;
	struct smtp_body b;
	struct smtp *s;
	struct buf out;
	struct err e;
	const char *p;
	size_t n;

	(void)state;
	buf_init(&out, 1 << 20);
	cfg.timeouts.rcpt = 1234;
	assert_int_equal(smtp_new(&cfg, &s, &e), 0);
	assert_int_equal(smtp_deadline_ms(s), LIMIT_SMTP_GREETING_MS);
	smtp_feed(s, GREET, strlen(GREET));
	drain(s, &out);
	assert_int_equal(smtp_deadline_ms(s), LIMIT_SMTP_MAIL_MS);  /* EHLO */
	smtp_feed(s, CAPS_NOPIPE, strlen(CAPS_NOPIPE));
	assert_int_equal(smtp_deadline_ms(s), -1);		    /* idle */
	smtp_body_mem(&b, &m, BODY, strlen(BODY));
	assert_int_equal(smtp_send(s, "s@example.org", rcpt, 1, 0, &b, &e), -1);
	drain(s, &out);
	while (smtp_event(s, &(struct smtp_event){ 0 }))
		;
	assert_int_equal(smtp_send(s, "s@example.org", rcpt, 1, 0, &b, &e), 0);
	assert_int_equal(smtp_deadline_ms(s), LIMIT_SMTP_MAIL_MS);
	drain(s, &out);
	smtp_feed(s, "250 ok\r\n", 8);
	assert_int_equal(smtp_deadline_ms(s), 1234);
	drain(s, &out);
	smtp_feed(s, "250 ok\r\n", 8);
	assert_int_equal(smtp_deadline_ms(s), LIMIT_SMTP_DATA_INIT_MS);
	drain(s, &out);
	smtp_feed(s, "354 go\r\n", 8);
	assert_int_equal(smtp_deadline_ms(s), LIMIT_SMTP_DATA_BLOCK_MS);
	p = smtp_output(s, &n);		/* body and dot, not yet written */
	assert_non_null(p);
	assert_int_equal(smtp_deadline_ms(s), LIMIT_SMTP_DATA_BLOCK_MS);
	smtp_written(s, n - 1);
	assert_int_equal(smtp_deadline_ms(s), LIMIT_SMTP_DATA_BLOCK_MS);
	smtp_written(s, 1);
	assert_int_equal(smtp_deadline_ms(s), LIMIT_SMTP_DATA_END_MS);
	smtp_timeout(s);
	events(s, &out);
	assert_string_equal(buf_str(&out), "rcpt0=temp 0 4.4.2; "
	    "msg=temp 0 4.4.2; closed=temp 0 4.4.2");
	assert_int_equal(smtp_deadline_ms(s), -1);
	buf_free(&out);
	smtp_free(s);
}

/* A timeout waiting for RCPT replies names what it waited for. */
static void
t_timeout_text(void **state)
{
	static const char *const rcpt[] = { "a@example.net", "b@example.net" };
	struct smtp_event ev;
	struct smtp_mem m;
	struct smtp_body b;
	struct smtp *s = session(&cfg_plain, CAPS_PIPE);
	struct buf out;
	struct err e;
	int n = 0;

	(void)state;
	buf_init(&out, 1 << 20);
	smtp_body_mem(&b, &m, BODY, strlen(BODY));
	assert_int_equal(smtp_send(s, "s@example.org", rcpt, 2, 0, &b, &e), 0);
	drain(s, &out);
	smtp_feed(s, "250 ok\r\n", 8);
	smtp_timeout(s);
	while (smtp_event(s, &ev)) {
		n++;
		if (ev.type == SMTP_EV_RCPT && ev.rcpt == 0)
			assert_string_equal(ev.text, "timed out after 300 s "
			    "waiting in RCPT TO");
	}
	assert_int_equal(n, 4);
	smtp_timeout(s);		/* after the end: nothing */
	smtp_abort(s, "again");
	assert_int_equal(smtp_event(s, &ev), 0);
	drain(s, &out);
	assert_string_equal(buf_str(&out), "");
	buf_free(&out);
	smtp_free(s);
}

/* Abort while quitting is the expected end: ok, not a failure. */
static void
t_abort(void **state)
{
	struct smtp *s = session(&cfg_plain, CAPS_PIPE);
	struct buf out;
	struct err e;

	(void)state;
	buf_init(&out, 1 << 16);
	assert_int_equal(smtp_quit(s, &e), 0);
	smtp_abort(s, "connection closed by the server");
	events(s, &out);
	assert_string_equal(buf_str(&out), "closed=ok 0");
	smtp_free(s);
	assert_int_equal(smtp_new(&cfg_plain, &s, &e), 0);
	smtp_abort(s, "connect: Connection refused\r\nX-Injected: yes");
	events(s, &out);
	assert_string_equal(buf_str(&out), "closed=temp 0 4.4.2");
	drain(s, &out);
	assert_string_equal(buf_str(&out), "");
	smtp_free(s);
	buf_free(&out);
}

/* A STARTTLS request the session moved past is withdrawn. */
static void
t_starttls_withdrawn(void **state)
{
	struct smtp *s;
	struct buf out;
	struct err e;

	(void)state;
	buf_init(&out, 1 << 16);
	assert_int_equal(smtp_new(&cfg_may, &s, &e), 0);
	smtp_feed(s, GREET "250-mx\r\n250 STARTTLS\r\n",
	    strlen(GREET "250-mx\r\n250 STARTTLS\r\n"));
	drain(s, &out);
	assert_string_equal(buf_str(&out), EHLO "STARTTLS\r\n");
	smtp_feed(s, "220 go\r\n", 8);
	assert_int_equal(smtp_deadline_ms(s), LIMIT_SMTP_MAIL_MS);
	smtp_abort(s, "TLS handshake failed");
	events(s, &out);
	assert_string_equal(buf_str(&out), "closed=temp 0 4.4.2");
	assert_int_equal(smtp_tls_done(s, &e), -1);
	buf_free(&out);
	smtp_free(s);
}

/* Text is cut at LIMIT_SMTP_TEXT - 1, after scrubbing: a password across
 * the cut leaves no prefix behind. */
static void
t_long_text(void **state)
{
	struct smtp_event ev;
	struct smtp *s;
	struct buf in, want;
	struct err e;
	size_t n;

	(void)state;
	buf_init(&in, 1 << 16);
	buf_init(&want, 1 << 16);
	assert_int_equal(smtp_new(&cfg_auth_implicit, &s, &e), 0);
	assert_int_equal(buf_adds(&in, GREET "250-mx\r\n250 AUTH PLAIN\r\n"
	    "535 5.7.8 "), 0);
	for (n = 0; n < LIMIT_SMTP_TEXT - 7; n++) {
		assert_int_equal(buf_addc(&in, 'x'), 0);
		assert_int_equal(buf_addc(&want, 'x'), 0);
	}
	assert_int_equal(buf_adds(&in, PASS " and more\r\n"), 0);
	assert_int_equal(buf_adds(&want, "******"), 0);
	smtp_feed(s, in.data, in.len);
	while (smtp_event(s, &ev))
		if (ev.type == SMTP_EV_CLOSED)
			break;
	assert_int_equal(ev.type, SMTP_EV_CLOSED);
	assert_int_equal(strlen(ev.text), LIMIT_SMTP_TEXT - 1);
	assert_string_equal(ev.text, buf_str(&want));
	buf_free(&in);
	buf_free(&want);
	smtp_free(s);
}

/*
 * A server answering a whole batch before we wrote a byte of it, twice:
 * the unwritten commands would pass LIMIT_SMTP_OUT, so the session ends
 * instead of growing (no QUIT: a command is half written).
 */
static void
t_answer_faster(void **state)
{
	static char addr[LIMIT_SMTP_RCPTS][2 * LIMIT_ADDR + 1];
	const char *rcpt[LIMIT_SMTP_RCPTS];
	struct smtp_mem m;
	struct smtp_body b;
	struct smtp *s = session(&cfg_plain, CAPS_PIPE);
	struct buf in, ev;
	struct err e;
	size_t i, n;

	(void)state;
	buf_init(&in, 1 << 20);
	buf_init(&ev, 1 << 20);
	for (i = 0; i < LIMIT_SMTP_RCPTS; i++) {
		memset(addr[i], 'a', sizeof(addr[i]) - 1);
		memcpy(addr[i] + sizeof(addr[i]) - 13, "@example.net", 12);
		rcpt[i] = addr[i];
	}
	smtp_body_mem(&b, &m, BODY, strlen(BODY));
	assert_int_equal(smtp_send(s, "s@example.org", rcpt, LIMIT_SMTP_RCPTS,
	    0, &b, &e), 0);
	smtp_output(s, &n);
	smtp_written(s, 10);
	assert_int_equal(buf_adds(&in, "250 ok\r\n"), 0);
	for (i = 0; i < LIMIT_SMTP_RCPTS; i++)
		assert_int_equal(buf_adds(&in, "550 5.1.1 no\r\n"), 0);
	assert_int_equal(buf_adds(&in, "554 5.5.1 none\r\n"), 0);
	smtp_feed(s, in.data, in.len);
	events(s, &ev);
	assert_non_null(strstr(buf_str(&ev), "msg=perm 0; ready"));
	assert_int_equal(smtp_send(s, "s@example.org", rcpt, LIMIT_SMTP_RCPTS,
	    0, &b, &e), 0);
	events(s, &ev);
	assert_non_null(strstr(buf_str(&ev), "closed=temp 0 4.5.0"));
	smtp_output(s, &n);
	assert_int_equal(n, 0);
	buf_free(&in);
	buf_free(&ev);
	smtp_free(s);
}

/* ------------------------------------------------------------ misuse */

static void
t_misuse(void **state)
{
	static const char *const rcpt[101] = { "a@example.net" };
	struct smtp_mem m;
	struct smtp_body b;
	struct smtp *s;
	struct err e;

	(void)state;
	smtp_body_mem(&b, &m, BODY, strlen(BODY));
	assert_int_equal(smtp_new(&cfg_plain, &s, &e), 0);
	assert_int_equal(smtp_send(s, "s@example.org", rcpt, 1, 0, &b, &e), -1);
	assert_int_equal(e.code, EX_SOFTWARE);
	assert_int_equal(smtp_quit(s, &e), -1);
	assert_int_equal(smtp_tls_done(s, &e), -1);
	smtp_free(s);
	s = session(&cfg_plain, CAPS_PIPE);
	assert_int_equal(smtp_tls_done(s, &e), -1);
	assert_int_equal(smtp_send(s, "s@example.org", rcpt, 0, 0, &b, &e), -1);
	assert_int_equal(smtp_send(s, "s@example.org", rcpt, 101, 0, &b, &e),
	    -1);
	assert_int_equal(smtp_send(s, NULL, rcpt, 1, 0, &b, &e), -1);
	assert_int_equal(smtp_send(s, "s@example.org", rcpt, 1, 0, NULL, &e),
	    -1);
	smtp_free(s);
	smtp_free(NULL);
}

/* 100 recipients, pipelined, the longest addresses: one batch. */
static void
t_many_rcpts(void **state)
{
	static char addr[LIMIT_SMTP_RCPTS][2 * LIMIT_ADDR + 1];
	const char *rcpt[LIMIT_SMTP_RCPTS];
	struct smtp_mem m;
	struct smtp_body b;
	struct smtp *s = session(&cfg_plain, CAPS_PIPE);
	struct buf out, ev;
	struct err e;
	size_t i, lines = 0;

	(void)state;
	buf_init(&out, 1 << 20);
	buf_init(&ev, 1 << 20);
	for (i = 0; i < LIMIT_SMTP_RCPTS; i++) {
		memset(addr[i], 'a' + (int)(i % 26), sizeof(addr[i]) - 1);
		memcpy(addr[i] + sizeof(addr[i]) - 13, "@example.net", 12);
		rcpt[i] = addr[i];
	}
	smtp_body_mem(&b, &m, BODY, strlen(BODY));
	assert_int_equal(smtp_send(s, addr[0], rcpt, LIMIT_SMTP_RCPTS, 0, &b,
	    &e), 0);
	drain(s, &out);
	for (i = 0; i < out.len; i++)
		lines += out.data[i] == '\n';
	assert_int_equal(lines, LIMIT_SMTP_RCPTS + 2);
	events(s, &ev);
	assert_string_equal(buf_str(&ev), "");
	buf_free(&out);
	buf_free(&ev);
	smtp_free(s);
}

/* ------------------------------------------------------------ config */

struct config_case {
	const char *name;
	struct smtp_config cfg;
};

static const struct config_case config_cases[] = {
	{ "config: no EHLO name", { .helo = "" } },
	{ "config: EHLO name with a space", { .helo = "a b" } },
	{ "config: EHLO name with CR LF", { .helo = "a\r\nMAIL FROM:<x>" } },
	{ "config: user without password", { .helo = "h", .auth_user = USER } },
	{ "config: password without user", { .helo = "h", .auth_pass = PASS } },
	{ "config: unknown mechanism", { .helo = "h", .auth_user = USER,
	  .auth_pass = PASS, .auth_mechs = "CRAM-MD5" } },
	{ "config: no mechanism", { .helo = "h", .auth_user = USER,
	  .auth_pass = PASS, .auth_mechs = " , " } },
	{ "config: password too long", { .helo = "h", .auth_user = USER,
	  .auth_pass = PASS "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
  } },
	{ "config: reply cap too small", { .helo = "h", .reply_max = 10 } },
	{ "config: bad TLS mode", { .helo = "h", .tls = 7 } },
};

static void
t_config(void **state)
{
	const struct config_case *c = *state;
	struct smtp *s = (struct smtp *)1;
	struct err e;

	assert_int_equal(smtp_new(&c->cfg, &s, &e), -1);
	assert_null(s);
	assert_int_equal(e.code, EX_CONFIG);
	check_text(e.msg);
	assert_null(strstr(e.msg, "xxxx"));
}

static void
t_names(void **state)
{
	(void)state;
	assert_string_equal(smtp_stage_name(SMTP_STAGE_RCPT), "RCPT TO");
	assert_string_equal(smtp_stage_name(SMTP_STAGE_DOT), "end of DATA");
	assert_string_equal(smtp_stage_name((enum smtp_stage)99), "?");
	assert_string_equal(smtp_status_name(SMTP_OK), "ok");
	assert_string_equal(smtp_status_name(SMTP_TEMP), "deferred");
	assert_string_equal(smtp_status_name(SMTP_PERM), "bounced");
}

int
main(void)
{
	struct unit_tests u = { 0 };

	UNIT_TABLE(&u, cases, t_transcript);
	UNIT_TABLE(&u, body_cases, t_body);
	unit_add(&u, "body: dot-stuffing across refills", t_body_large, NULL);
	unit_add(&u, "body: a read error sends no final dot", t_body_error,
	    NULL);
	unit_add(&u, "body: a reply during the body answers the dot",
	    t_reply_during_body, NULL);
	UNIT_TABLE(&u, cap_cases, t_reply_cap);
	unit_add(&u, "reply cap: endless bytes without a line end",
	    t_endless_line, NULL);
	UNIT_TABLE(&u, caps_cases, t_caps);
	unit_add(&u, "deadlines: RFC 5321 4.5.3.2 per state, and a timeout",
	    t_deadlines, NULL);
	unit_add(&u, "timeout: defers the outstanding, names the wait",
	    t_timeout_text, NULL);
	unit_add(&u, "abort: while quitting is ok; a reason is sanitised",
	    t_abort, NULL);
	unit_add(&u, "STARTTLS asked, then aborted: the request withdrawn",
	    t_starttls_withdrawn, NULL);
	unit_add(&u, "misuse: calls out of turn fail", t_misuse, NULL);
	unit_add(&u, "text: cut after scrubbing, no credential prefix left",
	    t_long_text, NULL);
	unit_add(&u, "a server answering faster than we write: bounded",
	    t_answer_faster, NULL);
	unit_add(&u, "100 recipients in one pipelined batch", t_many_rcpts,
	    NULL);
	UNIT_TABLE(&u, config_cases, t_config);
	unit_add(&u, "stage and status names", t_names, NULL);
	return unit_run(&u, "smtp", NULL, NULL);
}
