/*
 * smtp.h - the SMTP client as a state machine with no socket inside.
 *
 * One struct smtp is one connection. The caller (the event loop) owns the
 * socket, TLS and the timers; the machine only turns server bytes into
 * command bytes and events, so every exchange can be tested as a
 * transcript. The caller drives it with:
 *
 *   smtp_feed()       bytes read from the server, in any pieces
 *   smtp_output()     bytes to write now; smtp_written() how many went out
 *   smtp_tls_done()   the STARTTLS handshake the machine asked for succeeded
 *   smtp_send()       a message, when the session is ready for one
 *   smtp_quit()       end the session politely
 *   smtp_timeout()    the deadline smtp_deadline_ms() gave has passed
 *   smtp_abort()      end of file, an I/O or TLS error: the session is lost
 *
 * and after every call writes what smtp_output() holds and drains
 * smtp_event() until it returns 0:
 *
 *   SMTP_EV_READY     idle: call smtp_send() or smtp_quit()
 *   SMTP_EV_STARTTLS  do the TLS handshake now, then smtp_tls_done(); feed
 *                     nothing in between (it would be discarded)
 *   SMTP_EV_RCPT      the final outcome of one recipient of smtp_send()
 *   SMTP_EV_MESSAGE   the outcome of the message (after all its RCPTs)
 *   SMTP_EV_CLOSED    the session is over: write what smtp_output() still
 *                     holds (at most a courtesy QUIT; do not wait for its
 *                     reply), close, smtp_free()
 *
 * Guarantees, whatever the server does: every recipient given to
 * smtp_send() gets exactly one SMTP_EV_RCPT and the message one
 * SMTP_EV_MESSAGE, before the next SMTP_EV_READY or the SMTP_EV_CLOSED; a
 * recipient not finally answered when the session fails (421, protocol
 * error, timeout, abort) is SMTP_TEMP. A session ends with exactly one
 * SMTP_EV_CLOSED and nothing after it. A recipient is SMTP_OK only when
 * the server accepted the end of DATA for it. SMTP_EV_READY and
 * SMTP_EV_STARTTLS are always the last event queued, and one the session
 * has moved past before it was drained (a 421 in the same packet) is
 * withdrawn: acting on a drained one never fails.
 *
 * Replies: lines end in CRLF or a bare LF; a reply's lines must share one
 * code (RFC 5321 4.2.1) and together stay under the reply cap, or the
 * session fails temporarily. An RFC 3463 enhanced code is taken from the
 * start of the text when its class matches the reply code, whether or not
 * the server announced ENHANCEDSTATUSCODES (most that send them do not
 * say so); it is removed from the text of every line that repeats it.
 * Event text is the reply's lines joined by spaces, bytes outside printable
 * ASCII replaced by '?', cut at LIMIT_SMTP_TEXT - 1: safe for a log line.
 *
 * Session policy: 5xx to the greeting or EHLO (other than 500/502, which
 * fall back to HELO) is SMTP_PERM for this host; everything else that ends
 * a session is SMTP_TEMP, AUTH failures included (Postfix's
 * smtp_sasl_auth_soft_bounce: a wrong password must not bounce a list).
 * TLS: with SMTP_TLS_REQUIRE the session never goes on in plaintext; with
 * SMTP_TLS_MAY it does when STARTTLS is not offered or is refused, and
 * SMTP_EV_READY says tls=0. After STARTTLS's 220 every byte already read
 * is discarded unparsed (RFC 3207 5: a server or a man in the middle
 * injecting plaintext replies), and after the handshake EHLO is sent again
 * and the capabilities from before it forgotten.
 *
 * Credentials go out only over TLS unless auth_plaintext is set. No text
 * this module produces contains them: every event text is scrubbed of the
 * user name, the password and their base64 forms, even when a server
 * echoes them.
 *
 * Not thread-safe: one thread (the scheduler's) owns a session.
 */
#ifndef POSTBOTE_SMTP_H
#define POSTBOTE_SMTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "err.h"
#include "limits.h"

enum smtp_tls {
	SMTP_TLS_NONE,		/* never STARTTLS */
	SMTP_TLS_MAY,		/* STARTTLS when offered, else plaintext */
	SMTP_TLS_REQUIRE	/* STARTTLS, or no session */
};

/* Milliseconds; 0 takes the LIMIT_SMTP_*_MS default. */
struct smtp_timeouts {
	int greeting;
	int mail;		/* also EHLO, HELO, STARTTLS, AUTH, RSET, QUIT
				   and the TLS handshake */
	int rcpt;
	int data_init;		/* DATA to its 354 */
	int data_block;		/* no progress writing the body */
	int data_end;		/* the final "." to its reply */
};

struct smtp_config {
	const char *helo;	/* our name in EHLO/HELO */
	enum smtp_tls tls;
	int implicit_tls;	/* TLS from the first byte (port 465) */
	const char *auth_user;	/* NULL: no AUTH */
	const char *auth_pass;
	const char *auth_mechs;	/* "PLAIN LOGIN" in order of preference;
				   NULL is that */
	int auth_plaintext;	/* AUTH allowed without TLS */
	size_t reply_max;	/* 0: LIMIT_SMTP_REPLY */
	struct smtp_timeouts timeouts;
};

#define SMTP_AUTH_PLAIN	0x1
#define SMTP_AUTH_LOGIN	0x2

/* What the last EHLO announced; all zero after HELO. */
struct smtp_caps {
	int esmtp;
	int pipelining;
	int size;
	uint64_t size_max;	/* 0: no limit stated */
	int eightbitmime;
	int smtputf8;
	int starttls;
	int enhanced;
	int auth_offered;	/* AUTH, whatever its mechanisms */
	unsigned auth;		/* SMTP_AUTH_* offered */
};

enum smtp_ev {
	SMTP_EV_NONE,
	SMTP_EV_READY,
	SMTP_EV_STARTTLS,
	SMTP_EV_RCPT,
	SMTP_EV_MESSAGE,
	SMTP_EV_CLOSED
};

enum smtp_status {
	SMTP_OK,
	SMTP_TEMP,		/* deferred: try again later */
	SMTP_PERM		/* bounced */
};

/* The command whose reply (or whose absence) decided an outcome. */
enum smtp_stage {
	SMTP_STAGE_NONE,	/* decided here, before sending; or idle */
	SMTP_STAGE_GREETING,
	SMTP_STAGE_EHLO,
	SMTP_STAGE_HELO,
	SMTP_STAGE_STARTTLS,
	SMTP_STAGE_TLS,		/* the handshake */
	SMTP_STAGE_AUTH,
	SMTP_STAGE_RSET,
	SMTP_STAGE_MAIL,
	SMTP_STAGE_RCPT,
	SMTP_STAGE_DATA,
	SMTP_STAGE_DOT,		/* the body and the final "." */
	SMTP_STAGE_QUIT
};

#define SMTP_DSN_MAX	12	/* "5.123.123" and its NUL */

struct smtp_event {
	enum smtp_ev type;
	enum smtp_status status;
	enum smtp_stage stage;
	int rcpt;		/* SMTP_EV_RCPT: index in smtp_send()'s list */
	int code;		/* the server's reply code; 0: decided here */
	char dsn[SMTP_DSN_MAX];	/* RFC 3463 code, "" when none */
	char text[LIMIT_SMTP_TEXT];
	int tls;		/* the session is encrypted */
};

/*
 * The message body, pulled as DATA goes out: read() copies up to n bytes
 * into dst and returns the count, 0 at the end, -1 on failure (the
 * session then fails: a message cannot be cut short inside DATA). The
 * machine dot-stuffs and turns bare LF and CR into CRLF. eightbit: the
 * body has 8-bit octets and needs BODY=8BITMIME. mem: set by
 * smtp_body_mem(), whose body is stuffed from where it lies, not read.
 */
struct smtp_body {
	ssize_t (*read)(void *ctx, char *dst, size_t n);
	void *ctx;
	int eightbit;
	struct smtp_mem *mem;
};

/* A body from memory; m must outlive the message. */
struct smtp_mem {
	const char *p;
	size_t len;
	size_t off;
};

void smtp_body_mem(struct smtp_body *b, struct smtp_mem *m, const void *p,
    size_t len);

struct smtp;

/*
 * A session waiting for the greeting. EX_CONFIG for a bad EHLO name, an
 * unknown AUTH mechanism, a user without a password or one too long (the
 * message never quotes a credential).
 */
int smtp_new(const struct smtp_config *cfg, struct smtp **out,
    struct err *e) WUR;
void smtp_free(struct smtp *s);

void smtp_feed(struct smtp *s, const void *p, size_t n);

/* Never NULL; *n is 0 when there is nothing to write. */
const char *smtp_output(struct smtp *s, size_t *n);
void smtp_written(struct smtp *s, size_t n);

/* 1 with the oldest waiting event in *ev; 0 when none waits. */
int smtp_event(struct smtp *s, struct smtp_event *ev);

/* -1 (EX_SOFTWARE) unless SMTP_EV_STARTTLS was the last event. */
int smtp_tls_done(struct smtp *s, struct err *e) WUR;

/*
 * Starts a message: from is the reverse-path without brackets ("" for
 * the null sender), rcpt the forward-paths; size the message in octets
 * (declared as SIZE=, 0: not declared); body is read while DATA goes out
 * and must stay valid until SMTP_EV_MESSAGE. The strings are copied.
 * Outcomes come as events, those decided here (SIZE over the server's
 * limit, an address that needs SMTPUTF8 the server lacks, an address with
 * control characters) at once, without a byte written. -1 (EX_SOFTWARE)
 * only when the session is not ready (no SMTP_EV_READY just drained) or
 * nrcpt is not 1..LIMIT_SMTP_RCPTS.
 */
int smtp_send(struct smtp *s, const char *from, const char *const *rcpt,
    int nrcpt, uint64_t size, const struct smtp_body *body,
    struct err *e) WUR;

/* QUIT; SMTP_EV_CLOSED (SMTP_OK) follows its reply, whatever it says. */
int smtp_quit(struct smtp *s, struct err *e) WUR;

/*
 * The timeout for what the machine waits for now, in ms, for the loop to
 * re-arm on every change and every byte of progress; -1 when it waits for
 * nothing (idle after SMTP_EV_READY, or closed).
 */
int smtp_deadline_ms(const struct smtp *s);

/* End the session, SMTP_TEMP (SMTP_OK while quitting), with that reason. */
void smtp_timeout(struct smtp *s);
void smtp_abort(struct smtp *s, const char *why);

int smtp_tls_active(const struct smtp *s);
const struct smtp_caps *smtp_caps(const struct smtp *s);

/* For log lines: "RCPT TO", "end of DATA"; "ok", "deferred", "bounced". */
const char *smtp_stage_name(enum smtp_stage stage);
const char *smtp_status_name(enum smtp_status status);

#endif
