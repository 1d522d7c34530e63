/*
 * smtp.c - the SMTP client state machine; see smtp.h.
 *
 * Bytes in (smtp_feed) become lines (parse_input), lines become replies
 * (reply_line, reply_done), and the handler of the state the reply arrives
 * in (on_reply) writes the next command (cmd) and queues events (ev_push).
 * A message is a transaction: a list of steps (RSET, MAIL, RCPT..., DATA)
 * written all at once with PIPELINING (RFC 2920) and one per reply
 * without it; either way replies are matched to the steps in order.
 *
 * `await` counts commands written and not yet answered: a reply when it is
 * zero is a server out of step with us, and the session ends rather than
 * take that reply for the answer to the next command.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "smtp.h"
#include "xalloc.h"

enum state {
	ST_GREETING,
	ST_EHLO,
	ST_HELO,
	ST_STARTTLS,
	ST_TLS,			/* the caller's handshake */
	ST_AUTH,		/* AUTH PLAIN sent, or LOGIN's password */
	ST_AUTH_USER,		/* AUTH LOGIN sent */
	ST_AUTH_PASS,		/* LOGIN's user name sent */
	ST_READY,
	ST_TXN,			/* RSET/MAIL/RCPT/DATA replies due */
	ST_BODY,		/* streaming the body */
	ST_DOT,			/* the final "." sent */
	ST_QUIT,
	ST_CLOSED
};

/* user, password, their base64 forms, the AUTH PLAIN blob. */
#define NSECRET		5
/* Reply text kept before scrubbing: a secret that starts inside the
 * LIMIT_SMTP_TEXT kept must end inside this (base64 of 2 creds + 2). */
#define TEXT_RAW	(LIMIT_SMTP_TEXT + 4 * (2 * LIMIT_SMTP_CRED + 4) / 3 + 8)

struct step {
	enum smtp_stage stage;	/* RSET, MAIL, RCPT or DATA */
	int rcpt;		/* RCPT: index in smtp_send()'s list */
	char *line;		/* the command with its CRLF */
};

enum { RC_PENDING, RC_ACCEPTED, RC_DONE };

struct txn {
	struct step *step;
	int nstep;
	int emitted;		/* steps written */
	int answered;		/* steps whose reply came */
	int nrcpt;
	unsigned char *rc;	/* RC_* per recipient */
	int accepted;
	int nok, ntemp, nperm;	/* SMTP_EV_RCPT sent, by status */
	int mail_failed;
	int dot_only;		/* 354 but nobody accepted: "." alone */
	struct smtp_event early;/* the outcome when no body goes out */
	struct smtp_body body;
	int bol, cr;		/* stuffing: at a line start, after a CR */
};

/* The reply being read. */
struct reply {
	int code;
	int lines;
	size_t raw;		/* bytes so far, against the cap */
	char dsn[SMTP_DSN_MAX];
	size_t dsnlen;
	char text[TEXT_RAW];	/* lines joined, before scrubbing */
	size_t tlen;
};

struct smtp {
	enum state state;
	enum smtp_tls tls_mode;
	int tls;
	char *helo;
	const char *user;	/* secret[0], NULL without AUTH */
	char *secret[NSECRET];
	unsigned mech[2];	/* SMTP_AUTH_*, in order of preference */
	int nmech;
	int auth_plaintext;
	struct smtp_timeouts to;
	struct smtp_caps caps, newcaps;
	int need_rset;		/* a transaction did not reach its end */
	int await;
	int active;		/* t holds a transaction */
	struct txn t;
	struct reply r;
	struct buf in, out;
	size_t out_off;		/* out[0, out_off) is written */
	int out_secret;		/* out holds credentials: wipe it */
	struct smtp_event *ev;
	size_t nev, evhead, evcap;
};

static void on_reply(struct smtp *);
static void parse_input(struct smtp *);
static void txn_emit(struct smtp *);
static void session_end(struct smtp *, struct smtp_event *, int);

/* ------------------------------------------------------------ names */

const char *
smtp_stage_name(enum smtp_stage stage)
{
	static const char *const names[] = { "none", "greeting", "EHLO",
	    "HELO", "STARTTLS", "TLS handshake", "AUTH", "RSET", "MAIL FROM",
	    "RCPT TO", "DATA", "end of DATA", "QUIT" };

	if ((unsigned)stage >= sizeof(names) / sizeof(names[0]))
		return "?";
	return names[stage];
}

const char *
smtp_status_name(enum smtp_status status)
{
	return status == SMTP_OK ? "ok" : status == SMTP_PERM ? "bounced" :
	    "deferred";
}

static enum smtp_status
status_of(int code)
{
	if (code / 100 == 2)
		return SMTP_OK;
	return code / 100 == 5 ? SMTP_PERM : SMTP_TEMP;
}

/* A refusal: 5xx permanent, anything else (1xx, 3xx too) temporary. */
static enum smtp_status
fail_status(int code)
{
	return code / 100 == 5 ? SMTP_PERM : SMTP_TEMP;
}

static enum smtp_stage
stage_now(const struct smtp *s)
{
	static const enum smtp_stage of[] = {
		[ST_GREETING] = SMTP_STAGE_GREETING,
		[ST_EHLO] = SMTP_STAGE_EHLO, [ST_HELO] = SMTP_STAGE_HELO,
		[ST_STARTTLS] = SMTP_STAGE_STARTTLS,
		[ST_TLS] = SMTP_STAGE_TLS, [ST_AUTH] = SMTP_STAGE_AUTH,
		[ST_AUTH_USER] = SMTP_STAGE_AUTH,
		[ST_AUTH_PASS] = SMTP_STAGE_AUTH,
		[ST_READY] = SMTP_STAGE_NONE, [ST_TXN] = SMTP_STAGE_MAIL,
		[ST_BODY] = SMTP_STAGE_DOT, [ST_DOT] = SMTP_STAGE_DOT,
		[ST_QUIT] = SMTP_STAGE_QUIT, [ST_CLOSED] = SMTP_STAGE_NONE,
	};

	if (s->state == ST_TXN && s->t.answered < s->t.nstep)
		return s->t.step[s->t.answered].stage;
	return of[s->state];
}

/* ------------------------------------------------------------ text */

/*
 * Stars out every occurrence of each credential. A user name of one to
 * three characters is left alone, with its base64 form: starring every
 * "u" in "queued" hides the reply and protects nothing (the user name is
 * not the secret; the password is, whatever its length).
 */
#define SCRUB_USER_MIN	4

static void
scrub(const struct smtp *s, char *p, size_t n)
{
	char *hit, *end = p + n;
	size_t i, k;
	int short_user = s->user != NULL && strlen(s->user) < SCRUB_USER_MIN;

	for (i = 0; i < NSECRET; i++) {
		if (s->secret[i] == NULL || (k = strlen(s->secret[i])) == 0 ||
		    (short_user && (i == 0 || i == 2)))
			continue;
		hit = p;
		while ((hit = memmem(hit, (size_t)(end - hit), s->secret[i],
		    k)) != NULL) {
			memset(hit, '*', k);
			hit += k;
		}
	}
}

/* dst[LIMIT_SMTP_TEXT] gets src scrubbed, printable, cut. */
static void
text_set(const struct smtp *s, char *dst, const char *src, size_t n)
{
	char tmp[TEXT_RAW];
	size_t i;

	if (n > sizeof(tmp))
		n = sizeof(tmp);
	memcpy(tmp, src, n);
	scrub(s, tmp, n);
	if (n > LIMIT_SMTP_TEXT - 1)
		n = LIMIT_SMTP_TEXT - 1;
	for (i = 0; i < n; i++)
		dst[i] = tmp[i] >= 0x20 && tmp[i] < 0x7f ? tmp[i] : '?';
	dst[n] = '\0';
	OPENSSL_cleanse(tmp, sizeof(tmp));
}

static void
outcome_local(const struct smtp *s, struct smtp_event *o,
    enum smtp_status st, enum smtp_stage stage, const char *dsn,
    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* An outcome decided here: no reply code, our own dsn and words. */
static void
outcome_local(const struct smtp *s, struct smtp_event *o,
    enum smtp_status st, enum smtp_stage stage, const char *dsn,
    const char *fmt, ...)
{
	char msg[LIMIT_SMTP_TEXT] = "";
	va_list ap;

	memset(o, 0, sizeof(*o));
	o->status = st;
	o->stage = stage;
	snprintf(o->dsn, sizeof(o->dsn), "%s", dsn);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	text_set(s, o->text, msg, strnlen(msg, sizeof(msg)));
}

/* The outcome the reply just read gives. */
static void
outcome_reply(const struct smtp *s, struct smtp_event *o,
    enum smtp_stage stage)
{
	memset(o, 0, sizeof(*o));
	o->status = status_of(s->r.code);
	o->stage = stage;
	o->code = s->r.code;
	memcpy(o->dsn, s->r.dsn, sizeof(o->dsn));
	text_set(s, o->text, s->r.text, s->r.tlen);
}

/* ------------------------------------------------------------ events */

/*
 * READY and STARTTLS ask the caller to act; one not yet drained when the
 * session moves on (a failure while idle) is withdrawn, so that acting on
 * a drained one is always valid.
 */
static void
ev_push(struct smtp *s, enum smtp_ev type, const struct smtp_event *o)
{
	struct smtp_event *ev;

	if (s->nev > s->evhead && (s->ev[s->nev - 1].type == SMTP_EV_READY ||
	    s->ev[s->nev - 1].type == SMTP_EV_STARTTLS))
		s->nev--;
	if (s->nev == s->evcap) {
		s->evcap = s->evcap ? s->evcap * 2 : 8;
		s->ev = xrealloc(s->ev, s->evcap * sizeof(*s->ev));
	}
	ev = &s->ev[s->nev++];
	if (o != NULL)
		*ev = *o;
	else
		memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->tls = s->tls;
}

int
smtp_event(struct smtp *s, struct smtp_event *ev)
{
	if (s->evhead == s->nev) {
		s->evhead = s->nev = 0;
		return 0;
	}
	*ev = s->ev[s->evhead++];
	return 1;
}

static void
ready(struct smtp *s)
{
	s->state = ST_READY;
	ev_push(s, SMTP_EV_READY, NULL);
}

/* ------------------------------------------------------------ output */

/* -1 ends the session: only a server answering commands we have not
 * written yet can fill the buffer. */
static int
out_add(struct smtp *s, const char *p, size_t n)
{
	struct smtp_event o;

	if (buf_add(&s->out, p, n) == 0)
		return 0;
	outcome_local(s, &o, SMTP_TEMP, stage_now(s), "4.5.0",
	    "protocol error: the server answered faster than we wrote");
	session_end(s, &o, 0);
	return -1;
}

static void
cmd(struct smtp *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes one command line and counts it as awaiting a reply. */
static void
cmd(struct smtp *s, const char *fmt, ...)
{
	char line[LIMIT_SMTP_CMD];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		abort();	/* every argument is bounded by smtp_new */
	if (out_add(s, line, (size_t)n) == 0)
		s->await++;
	OPENSSL_cleanse(line, sizeof(line));
}

static void
out_clear(struct smtp *s)
{
	if (s->out_secret && s->out.data != NULL)
		OPENSSL_cleanse(s->out.data, s->out.len);
	s->out_secret = 0;
	buf_reset(&s->out);
	s->out_off = 0;
}

/* ------------------------------------------------------------ transactions */

static void
txn_free(struct txn *t)
{
	int i;

	for (i = 0; i < t->nstep; i++)
		free(t->step[i].line);
	free(t->step);
	free(t->rc);
	memset(t, 0, sizeof(*t));
}

/* The final word on recipient i. */
static void
rcpt_done(struct smtp *s, int i, const struct smtp_event *o)
{
	struct smtp_event ev = *o;

	ev.rcpt = i;
	s->t.rc[i] = RC_DONE;
	if (o->status == SMTP_OK)
		s->t.nok++;
	else if (o->status == SMTP_TEMP)
		s->t.ntemp++;
	else
		s->t.nperm++;
	ev_push(s, SMTP_EV_RCPT, &ev);
}

/*
 * Ends the transaction: o decides every recipient not yet answered, and
 * is the message's reply; the message is ok when anyone got it.
 */
static void
txn_end(struct smtp *s, const struct smtp_event *o)
{
	struct txn *t = &s->t;
	struct smtp_event m = *o;
	int i;

	for (i = 0; i < t->nrcpt; i++)
		if (t->rc[i] != RC_DONE)
			rcpt_done(s, i, o);
	m.status = t->nok ? SMTP_OK : t->ntemp ? SMTP_TEMP : SMTP_PERM;
	ev_push(s, SMTP_EV_MESSAGE, &m);
	txn_free(t);
	s->active = 0;
}

/* The outcome when no body went out: MAIL's refusal, or nobody taken. */
static void
txn_early_outcome(struct smtp *s, struct smtp_event *o)
{
	if (s->t.mail_failed)
		*o = s->t.early;
	else
		outcome_local(s, o, SMTP_TEMP, SMTP_STAGE_RCPT, "",
		    "no recipient was accepted");
}

/* The transaction stops short of the body; RSET before the next. */
static void
txn_stop(struct smtp *s)
{
	struct smtp_event o;

	txn_early_outcome(s, &o);
	s->need_rset = 1;
	txn_end(s, &o);
	ready(s);
}

/* Without PIPELINING there is no point going on after these. */
static int
txn_stalled(const struct txn *t)
{
	if (t->mail_failed)
		return 1;
	return t->emitted < t->nstep &&
	    t->step[t->emitted].stage == SMTP_STAGE_DATA && t->accepted == 0;
}

static void
txn_emit(struct smtp *s)
{
	struct txn *t = &s->t;
	const char *line;

	while (s->state == ST_TXN && t->emitted < t->nstep &&
	    (s->caps.pipelining || t->emitted == t->answered)) {
		line = t->step[t->emitted].line;
		if (out_add(s, line, strlen(line)) < 0)
			return;
		t->emitted++;
		s->await++;
	}
}

static void
on_mail(struct smtp *s)
{
	if (s->r.code / 100 == 2)
		return;
	s->t.mail_failed = 1;
	outcome_reply(s, &s->t.early, SMTP_STAGE_MAIL);
}

static void
on_rcpt(struct smtp *s, int i)
{
	struct smtp_event o;

	if (s->t.mail_failed)
		return;		/* MAIL's refusal decides it */
	if (s->r.code / 100 == 2) {
		s->t.rc[i] = RC_ACCEPTED;
		s->t.accepted++;
		return;
	}
	outcome_reply(s, &o, SMTP_STAGE_RCPT);
	rcpt_done(s, i, &o);
}

/*
 * RFC 2920 3.1: with every RCPT refused, a pipelined DATA may still get
 * 354; the client then ends it with "." at once.
 */
static void
on_data(struct smtp *s)
{
	struct txn *t = &s->t;
	struct smtp_event o;

	if (s->r.code == 354) {
		if (t->mail_failed || t->accepted == 0) {
			t->dot_only = 1;
			s->state = ST_DOT;
			cmd(s, ".\r\n");
			return;
		}
		s->state = ST_BODY;
		t->bol = 1;
		t->cr = 0;
		return;
	}
	if (t->mail_failed || t->accepted == 0) {
		txn_stop(s);
		return;
	}
	outcome_reply(s, &o, SMTP_STAGE_DATA);
	if (o.status == SMTP_OK)	/* 2xx to DATA is no go-ahead */
		o.status = SMTP_TEMP;
	s->need_rset = 1;
	txn_end(s, &o);
	ready(s);
}

static void
on_txn(struct smtp *s)
{
	struct txn *t = &s->t;
	struct step *st = &t->step[t->answered++];
	struct smtp_event o;

	switch (st->stage) {
	case SMTP_STAGE_RSET:
		if (s->r.code / 100 != 2) {
			outcome_reply(s, &o, SMTP_STAGE_RSET);
			o.status = SMTP_TEMP;
			session_end(s, &o, 1);
			return;
		}
		s->need_rset = 0;
		break;
	case SMTP_STAGE_MAIL:
		on_mail(s);
		break;
	case SMTP_STAGE_RCPT:
		on_rcpt(s, st->rcpt);
		break;
	default:
		on_data(s);
		return;
	}
	if (!s->caps.pipelining && txn_stalled(t))
		txn_stop(s);
	else
		txn_emit(s);
}

static void
on_dot(struct smtp *s)
{
	struct smtp_event o;

	if (s->t.dot_only)
		txn_early_outcome(s, &o);
	else
		outcome_reply(s, &o, SMTP_STAGE_DOT);
	s->need_rset = 0;	/* "." ends the transaction either way */
	txn_end(s, &o);
	ready(s);
}

/* ------------------------------------------------------------ the body */

/* body_stuff() octet by octet: any line ends, a line cut by the chunk. */
static char *
body_stuff_slow(struct txn *t, const char *p, const char *end, char *o)
{
	for (; p < end; p++) {
		if (t->cr && *p == '\n') {
			t->cr = 0;
			continue;
		}
		t->cr = *p == '\r';
		if (*p == '\r' || *p == '\n') {
			*o++ = '\r';
			*o++ = '\n';
			t->bol = 1;
			continue;
		}
		if (t->bol && *p == '.')
			*o++ = '.';
		*o++ = *p;
		t->bol = 0;
	}
	return o;
}

/*
 * RFC 5321 4.5.2 dot-stuffing; 2.3.8: CRLF only, bare CR or LF made one.
 * A whole line that already ends in its only CR and LF (every line of a
 * message mime.h built) is copied at once; anything else goes octet by
 * octet.
 */
static int
body_stuff(struct smtp *s, const char *p, size_t n)
{
	struct txn *t = &s->t;
	const char *end = p + n, *nl, *next;
	char *o;

	if (buf_reserve(&s->out, 2 * n) < 0)
		return -1;
	o = s->out.data + s->out.len;
	for (; p < end; p = next) {
		nl = memchr(p, '\n', (size_t)(end - p));
		next = nl != NULL ? nl + 1 : end;
		if (t->cr || nl == NULL || nl == p || nl[-1] != '\r' ||
		    memchr(p, '\r', (size_t)(nl - 1 - p)) != NULL) {
			o = body_stuff_slow(t, p, next, o);
			continue;
		}
		if (t->bol && *p == '.')
			*o++ = '.';
		memcpy(o, p, (size_t)(next - p));
		o += next - p;
		t->bol = 1;
	}
	s->out.len = (size_t)(o - s->out.data);
	s->out.data[s->out.len] = '\0';
	return 0;
}

static void
body_end(struct smtp *s)
{
	if (!s->t.bol && out_add(s, "\r\n", 2) < 0)
		return;
	s->state = ST_DOT;
	cmd(s, ".\r\n");
	parse_input(s);		/* what came while the body went out */
}

static void
body_fail(struct smtp *s, const char *why)
{
	struct smtp_event o;

	outcome_local(s, &o, SMTP_TEMP, SMTP_STAGE_DOT, "4.3.0",
	    "the message body %s", why);
	session_end(s, &o, 0);	/* inside DATA: the connection must go */
}

static void
body_refill(struct smtp *s)
{
	char chunk[LIMIT_SMTP_CHUNK];
	const char *p = chunk;
	struct smtp_mem *m;
	ssize_t n;

	/*
	 * A body in memory is stuffed from where it lies, in slices of
	 * LIMIT_SMTP_MEM_CHUNK, and the final "." follows its last slice at
	 * once: a message of up to one slice goes out in one write with its
	 * dot (fewer syscalls here and wake-ups there).
	 */
	if ((m = s->t.body.mem) != NULL) {
		n = (ssize_t)(m->len - m->off < LIMIT_SMTP_MEM_CHUNK ?
		    m->len - m->off : LIMIT_SMTP_MEM_CHUNK);
		p = m->p + m->off;
		m->off += (size_t)n;
	} else
		n = s->t.body.read(s->t.body.ctx, chunk, sizeof(chunk));
	if (n < 0 || (m == NULL && (size_t)n > sizeof(chunk)))
		body_fail(s, "could not be read");
	else if (n == 0)
		body_end(s);
	else if (body_stuff(s, p, (size_t)n) < 0)
		body_fail(s, "did not fit the output buffer");
	else if (m != NULL && m->off == m->len)
		body_end(s);
}

static ssize_t
mem_read(void *ctx, char *dst, size_t n)
{
	struct smtp_mem *m = ctx;

	if (n > m->len - m->off)
		n = m->len - m->off;
	memcpy(dst, m->p + m->off, n);
	m->off += n;
	return (ssize_t)n;
}

void
smtp_body_mem(struct smtp_body *b, struct smtp_mem *m, const void *p,
    size_t len)
{
	m->p = len ? p : "";
	m->len = len;
	m->off = 0;
	b->read = mem_read;
	b->ctx = m;
	b->eightbit = 0;
	b->mem = m;
}

/* ------------------------------------------------------------ ending */

/*
 * The session is over: whatever was outstanding is deferred, o is the
 * reason. quit leaves a courtesy QUIT to write (RFC 5321 3.1 asks for one
 * after a 554 greeting), but only when no command awaits its reply: after
 * a pipelined DATA the server may be reading message text, and QUIT would
 * become part of it. Nor when a command is half written.
 */
static void
session_end(struct smtp *s, struct smtp_event *o, int quit)
{
	struct smtp_event d;

	if (s->state == ST_CLOSED)
		return;
	if (s->active) {
		d = *o;
		if (d.status == SMTP_OK)
			d.status = SMTP_TEMP;
		if (d.stage == SMTP_STAGE_NONE)
			d.stage = stage_now(s);
		txn_end(s, &d);
	}
	if (s->await > 0 || (s->out_off > 0 && s->out_off < s->out.len))
		quit = 0;
	s->state = ST_CLOSED;
	ev_push(s, SMTP_EV_CLOSED, o);
	buf_reset(&s->in);
	out_clear(s);
	if (quit && buf_adds(&s->out, "QUIT\r\n") < 0)
		abort();
}

static void
fail_reply(struct smtp *s, enum smtp_status st, int quit)
{
	struct smtp_event o;

	outcome_reply(s, &o, stage_now(s));
	o.status = st;
	session_end(s, &o, quit);
}

static void
proto_fail(struct smtp *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
proto_fail(struct smtp *s, const char *fmt, ...)
{
	struct smtp_event o;
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	outcome_local(s, &o, SMTP_TEMP, stage_now(s), "4.5.0",
	    "protocol error: %s", msg);
	session_end(s, &o, 0);
}

/* ------------------------------------------------------------ hello */

static void
send_ehlo(struct smtp *s)
{
	memset(&s->newcaps, 0, sizeof(s->newcaps));
	s->state = ST_EHLO;
	cmd(s, "EHLO %s\r\n", s->helo);
}

static void
auth_start(struct smtp *s)
{
	struct smtp_event o;
	int i;

	if (s->user == NULL) {
		ready(s);
		return;
	}
	if (!s->tls && !s->auth_plaintext) {
		outcome_local(s, &o, SMTP_TEMP, SMTP_STAGE_AUTH, "4.7.0",
		    "AUTH refused: the connection is not encrypted and "
		    "plaintext AUTH is not allowed");
		session_end(s, &o, 1);
		return;
	}
	for (i = 0; i < s->nmech; i++)
		if (s->caps.auth & s->mech[i])
			break;
	if (i == s->nmech) {
		outcome_local(s, &o, SMTP_TEMP, SMTP_STAGE_AUTH, "4.7.0",
		    "AUTH impossible: the server offers %s",
		    s->caps.auth_offered ?
		    "none of the mechanisms configured" : "no AUTH");
		session_end(s, &o, 1);
		return;
	}
	s->out_secret = 1;
	if (s->mech[i] == SMTP_AUTH_PLAIN) {
		s->state = ST_AUTH;
		cmd(s, "AUTH PLAIN %s\r\n", s->secret[4]);
	} else {
		s->state = ST_AUTH_USER;
		cmd(s, "AUTH LOGIN\r\n");
	}
}

/* After EHLO or HELO: STARTTLS if wanted, then AUTH if configured. */
static void
hello_done(struct smtp *s)
{
	struct smtp_event o;

	if (!s->tls && s->tls_mode != SMTP_TLS_NONE) {
		if (s->caps.starttls) {
			s->state = ST_STARTTLS;
			cmd(s, "STARTTLS\r\n");
			return;
		}
		if (s->tls_mode == SMTP_TLS_REQUIRE) {
			outcome_local(s, &o, SMTP_TEMP, SMTP_STAGE_STARTTLS,
			    "4.7.0", "TLS is required but the server does not "
			    "offer STARTTLS");
			session_end(s, &o, 1);
			return;
		}
	}
	auth_start(s);
}

static void
on_greeting(struct smtp *s)
{
	if (s->r.code / 100 == 2)
		send_ehlo(s);
	else
		fail_reply(s, fail_status(s->r.code), 1);
}

static void
on_ehlo(struct smtp *s)
{
	if (s->r.code / 100 == 2) {
		s->caps = s->newcaps;
		s->caps.esmtp = 1;
		hello_done(s);
	} else if (s->r.code == 500 || s->r.code == 502) {
		s->state = ST_HELO;	/* RFC 5321 3.2 */
		cmd(s, "HELO %s\r\n", s->helo);
	} else {
		fail_reply(s, fail_status(s->r.code), 1);
	}
}

static void
on_helo(struct smtp *s)
{
	if (s->r.code / 100 != 2) {
		fail_reply(s, fail_status(s->r.code), 1);
		return;
	}
	memset(&s->caps, 0, sizeof(s->caps));
	hello_done(s);
}

static void
on_starttls(struct smtp *s)
{
	if (s->r.code == 220) {
		/* parse_input() drops every byte after this reply */
		s->state = ST_TLS;
		ev_push(s, SMTP_EV_STARTTLS, NULL);
	} else if (s->tls_mode == SMTP_TLS_REQUIRE) {
		fail_reply(s, SMTP_TEMP, 1);
	} else {
		auth_start(s);	/* SMTP_TLS_MAY: on in plaintext */
	}
}

/* A 334 mid-exchange must not be answered with QUIT: it would be read
 * as the credential. */
static void
on_auth(struct smtp *s)
{
	if (s->state == ST_AUTH && s->r.code / 100 == 2) {
		ready(s);
	} else if (s->state == ST_AUTH_USER && s->r.code == 334) {
		s->state = ST_AUTH_PASS;
		s->out_secret = 1;
		cmd(s, "%s\r\n", s->secret[2]);
	} else if (s->state == ST_AUTH_PASS && s->r.code == 334) {
		s->state = ST_AUTH;
		s->out_secret = 1;
		cmd(s, "%s\r\n", s->secret[3]);
	} else {
		fail_reply(s, SMTP_TEMP, s->r.code / 100 >= 4);
	}
}

static void
on_quit(struct smtp *s)
{
	struct smtp_event o;

	outcome_reply(s, &o, SMTP_STAGE_QUIT);
	o.status = SMTP_OK;
	session_end(s, &o, 0);
}

static void
on_reply(struct smtp *s)
{
	static void (*const handler[ST_CLOSED + 1])(struct smtp *) = {
		[ST_GREETING] = on_greeting, [ST_EHLO] = on_ehlo,
		[ST_HELO] = on_helo, [ST_STARTTLS] = on_starttls,
		[ST_AUTH] = on_auth, [ST_AUTH_USER] = on_auth,
		[ST_AUTH_PASS] = on_auth, [ST_TXN] = on_txn, [ST_DOT] = on_dot,
		[ST_QUIT] = on_quit,
	};

	if (s->state == ST_QUIT) {	/* whatever it says */
		on_quit(s);
		return;
	}
	if (s->r.code == 421) {		/* RFC 5321 3.8: closing */
		fail_reply(s, SMTP_TEMP, 0);
		return;
	}
	if (s->await == 0 || handler[s->state] == NULL) {
		proto_fail(s, "reply %d with no command outstanding",
		    s->r.code);
		return;
	}
	s->await--;
	handler[s->state](s);
}

/* ------------------------------------------------------------ replies */

static int
word_is(const char *p, size_t n, const char *word)
{
	return n == strlen(word) && strncasecmp(p, word, n) == 0;
}

/* Digits at p, saturating; 0 when none. */
static uint64_t
number(const char *p, size_t n)
{
	uint64_t v = 0;
	size_t i = 0;

	while (i < n && p[i] == ' ')
		i++;
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++)
		v = v > (UINT64_MAX - 9) / 10 ? UINT64_MAX :
		    v * 10 + (uint64_t)(p[i] - '0');
	return v;
}

/* "AUTH PLAIN LOGIN" and the old "AUTH=LOGIN" form alike. */
static unsigned
auth_words(const char *p, size_t n)
{
	unsigned m = 0;
	size_t i = 0, k;

	while (i < n) {
		while (i < n && (p[i] == ' ' || p[i] == '='))
			i++;
		for (k = i; k < n && p[k] != ' ' && p[k] != '='; k++)
			;
		if (word_is(p + i, k - i, "PLAIN"))
			m |= SMTP_AUTH_PLAIN;
		else if (word_is(p + i, k - i, "LOGIN"))
			m |= SMTP_AUTH_LOGIN;
		i = k;
	}
	return m;
}

/* One EHLO keyword line (RFC 5321 4.1.1.1). */
static void
caps_line(struct smtp_caps *c, const char *p, size_t n)
{
	size_t k = 0;

	while (k < n && p[k] != ' ' && p[k] != '=')
		k++;
	if (word_is(p, k, "PIPELINING"))
		c->pipelining = 1;
	else if (word_is(p, k, "SIZE")) {
		c->size = 1;
		c->size_max = number(p + k, n - k);
	} else if (word_is(p, k, "8BITMIME"))
		c->eightbitmime = 1;
	else if (word_is(p, k, "SMTPUTF8"))
		c->smtputf8 = 1;
	else if (word_is(p, k, "STARTTLS"))
		c->starttls = 1;
	else if (word_is(p, k, "ENHANCEDSTATUSCODES"))
		c->enhanced = 1;
	else if (word_is(p, k, "AUTH")) {
		c->auth_offered = 1;
		c->auth |= auth_words(p + k, n - k);
	}
}

/* 1 to 3 digits; their count, 0 for none or more. */
static size_t
digits3(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && i < 4 && p[i] >= '0' && p[i] <= '9')
		i++;
	return i >= 1 && i <= 3 ? i : 0;
}

/* RFC 3463 2: class.subject.detail, class the reply's first digit. */
static size_t
dsn_len(const char *p, size_t n, int code)
{
	size_t i, d;

	if (n < 5 || p[0] != '0' + code / 100 || p[1] != '.')
		return 0;
	if (code / 100 != 2 && code / 100 != 4 && code / 100 != 5)
		return 0;
	i = 2;
	if ((d = digits3(p + i, n - i)) == 0)
		return 0;
	i += d;
	if (i >= n || p[i] != '.')
		return 0;
	i++;
	if ((d = digits3(p + i, n - i)) == 0)
		return 0;
	i += d;
	return i == n || p[i] == ' ' ? i : 0;
}

/* Adds one line's text, its enhanced code taken off. */
static void
reply_text(struct reply *r, const char *p, size_t n)
{
	size_t k;

	if (r->lines == 1 && (k = dsn_len(p, n, r->code)) > 0 &&
	    k < sizeof(r->dsn)) {
		memcpy(r->dsn, p, k);
		r->dsn[k] = '\0';
		r->dsnlen = k;
	}
	if (r->dsnlen > 0 && n >= r->dsnlen && memcmp(p, r->dsn,
	    r->dsnlen) == 0 && (n == r->dsnlen || p[r->dsnlen] == ' ')) {
		p += r->dsnlen;
		n -= r->dsnlen;
	}
	while (n > 0 && *p == ' ') {
		p++;
		n--;
	}
	if (r->tlen > 0 && r->tlen < sizeof(r->text) && n > 0)
		r->text[r->tlen++] = ' ';
	if (n > sizeof(r->text) - r->tlen)
		n = sizeof(r->text) - r->tlen;
	memcpy(r->text + r->tlen, p, n);
	r->tlen += n;
}

/* RFC 5321 4.2: %x32-35 %x30-35 %x30-39, then SP, "-" or the end. */
static int
reply_code(const char *p, size_t n)
{
	if (n < 3 || p[0] < '2' || p[0] > '5' || p[1] < '0' || p[1] > '5' ||
	    p[2] < '0' || p[2] > '9')
		return -1;
	if (n > 3 && p[3] != ' ' && p[3] != '-')
		return -1;
	return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
}

/* One line, CR LF gone. */
static void
reply_line(struct smtp *s, const char *p, size_t n)
{
	struct reply *r = &s->r;
	int code = reply_code(p, n);

	if (code < 0) {
		proto_fail(s, "malformed reply line");
		return;
	}
	if (r->lines > 0 && code != r->code) {
		proto_fail(s, "reply code changed from %d to %d within one "
		    "reply", r->code, code);
		return;
	}
	r->code = code;
	r->lines++;
	reply_text(r, p + (n > 3 ? 4 : 3), n > 3 ? n - 4 : 0);
	if (s->state == ST_EHLO && r->lines > 1)
		caps_line(&s->newcaps, p + (n > 3 ? 4 : 3), n > 3 ? n - 4 : 0);
	if (n > 3 && p[3] == '-')
		return;
	on_reply(s);
	memset(r, 0, offsetof(struct reply, text));
	r->tlen = 0;
}

/* Not while the body, or the final dot behind it, is still unwritten:
 * a reply then is for the dot, and waits for it. */
static int
parsing(const struct smtp *s)
{
	return s->state != ST_TLS && s->state != ST_CLOSED &&
	    s->state != ST_BODY &&
	    !(s->state == ST_DOT && s->out_off < s->out.len);
}

/*
 * Takes every complete line from s->in. While the body goes out nothing
 * is read (a reply then is for the final "."); after STARTTLS's 220 and
 * after the end, what is left is thrown away.
 */
static void
parse_input(struct smtp *s)
{
	size_t pos = 0, n;
	const char *p, *nl;

	while (parsing(s) && pos < s->in.len) {
		p = s->in.data + pos;
		if ((nl = memchr(p, '\n', s->in.len - pos)) == NULL)
			break;
		n = (size_t)(nl - p);
		pos += n + 1;
		s->r.raw += n + 1;
		if (s->r.raw > s->in.max) {
			proto_fail(s, "reply longer than %zu bytes", s->in.max);
			break;
		}
		reply_line(s, p, n > 0 && p[n - 1] == '\r' ? n - 1 : n);
	}
	if (s->state == ST_TLS || s->state == ST_CLOSED) {
		buf_reset(&s->in);
		return;
	}
	if (pos == 0)
		return;
	memmove(s->in.data, s->in.data + pos, s->in.len - pos);
	s->in.len -= pos;
	s->in.data[s->in.len] = '\0';
}

void
smtp_feed(struct smtp *s, const void *p, size_t n)
{
	const char *c = p;
	size_t k;

	while (n > 0 && s->state != ST_TLS && s->state != ST_CLOSED) {
		k = s->in.max - s->in.len;
		if (k == 0) {
			proto_fail(s, "reply longer than %zu bytes", s->in.max);
			return;
		}
		if (k > n)
			k = n;
		if (buf_add(&s->in, c, k) < 0)
			abort();
		c += k;
		n -= k;
		parse_input(s);
	}
}

/* ------------------------------------------------------------ messages */

/* An envelope address: bounded, no control characters (no injection). */
static int
addr_ok(const char *a, int *utf8)
{
	size_t i, n = strnlen(a, 2 * LIMIT_ADDR + 1);

	if (n > 2 * LIMIT_ADDR)
		return 0;
	for (i = 0; i < n; i++) {
		if ((unsigned char)a[i] < 0x20 || a[i] == 0x7f)
			return 0;
		if ((unsigned char)a[i] >= 0x80)
			*utf8 = 1;
	}
	return 1;
}

/* Checks that fail the whole message here; -1 with t.early set. */
static int
msg_check(struct smtp *s, const char *from, uint64_t size,
    const struct smtp_body *body, int *utf8)
{
	struct smtp_event *o = &s->t.early;

	if (!addr_ok(from, utf8))
		outcome_local(s, o, SMTP_PERM, SMTP_STAGE_NONE, "5.1.7",
		    "the sender address is too long or has control "
		    "characters");
	else if (*utf8 && !s->caps.smtputf8)
		outcome_local(s, o, SMTP_PERM, SMTP_STAGE_NONE, "5.6.7",
		    "the sender address is not ASCII and the server does "
		    "not offer SMTPUTF8");
	else if (s->caps.size_max > 0 && size > s->caps.size_max)
		outcome_local(s, o, SMTP_PERM, SMTP_STAGE_NONE, "5.3.4",
		    "the message is %llu bytes, over the server's SIZE "
		    "limit of %llu", (unsigned long long)size,
		    (unsigned long long)s->caps.size_max);
	else if (body->eightbit && !s->caps.eightbitmime)
		outcome_local(s, o, SMTP_PERM, SMTP_STAGE_NONE, "5.6.3",
		    "the body is 8-bit and the server does not offer "
		    "8BITMIME");
	else
		return 0;
	s->t.mail_failed = 1;
	return -1;
}

static void
rcpt_check(struct smtp *s, int i, const char *rcpt, int *utf8)
{
	struct smtp_event o;
	int u = 0;

	if (!addr_ok(rcpt, &u) || rcpt[0] == '\0')
		outcome_local(s, &o, SMTP_PERM, SMTP_STAGE_NONE, "5.1.3",
		    "the recipient address is empty, too long or has "
		    "control characters");
	else if (u && !s->caps.smtputf8)
		outcome_local(s, &o, SMTP_PERM, SMTP_STAGE_NONE, "5.6.7",
		    "the recipient address is not ASCII and the server does "
		    "not offer SMTPUTF8");
	else {
		*utf8 |= u;
		return;
	}
	rcpt_done(s, i, &o);
}

static char *
linef(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
linef(const char *fmt, ...)
{
	char line[LIMIT_SMTP_CMD];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		abort();	/* addresses are bounded by addr_ok() */
	return xstrdup(line);
}

static void
step_add(struct txn *t, enum smtp_stage stage, int rcpt, char *line)
{
	t->step[t->nstep].stage = stage;
	t->step[t->nstep].rcpt = rcpt;
	t->step[t->nstep].line = line;
	t->nstep++;
}

static void
txn_steps(struct smtp *s, const char *from, const char *const *rcpt,
    uint64_t size, int utf8)
{
	struct txn *t = &s->t;
	char sz[32] = "";
	int i;

	t->step = xcalloc((size_t)t->nrcpt + 3, sizeof(*t->step));
	if (s->need_rset)
		step_add(t, SMTP_STAGE_RSET, 0, xstrdup("RSET\r\n"));
	if (s->caps.size && size > 0)
		snprintf(sz, sizeof(sz), " SIZE=%llu",
		    (unsigned long long)size);
	step_add(t, SMTP_STAGE_MAIL, 0, linef("MAIL FROM:<%s>%s%s%s\r\n",
	    from, sz, t->body.eightbit ? " BODY=8BITMIME" : "",
	    utf8 ? " SMTPUTF8" : ""));
	for (i = 0; i < t->nrcpt; i++)
		if (t->rc[i] == RC_PENDING)
			step_add(t, SMTP_STAGE_RCPT, i,
			    linef("RCPT TO:<%s>\r\n", rcpt[i]));
	step_add(t, SMTP_STAGE_DATA, 0, xstrdup("DATA\r\n"));
}

int
smtp_send(struct smtp *s, const char *from, const char *const *rcpt,
    int nrcpt, uint64_t size, const struct smtp_body *body, struct err *e)
{
	struct txn *t = &s->t;
	struct smtp_event o;
	int i, utf8 = 0;

	if (s->state != ST_READY || s->evhead < s->nev)
		return err_set(e, EX_SOFTWARE, "smtp: a message for a session "
		    "that is not ready for one");
	if (from == NULL || rcpt == NULL || body == NULL ||
	    body->read == NULL || nrcpt < 1 || nrcpt > LIMIT_SMTP_RCPTS)
		return err_set(e, EX_SOFTWARE, "smtp: a message needs a "
		    "sender, 1 to %d recipients and a body", LIMIT_SMTP_RCPTS);
	s->active = 1;
	t->nrcpt = nrcpt;
	t->rc = xcalloc((size_t)nrcpt, 1);
	t->body = *body;
	if (msg_check(s, from, size, body, &utf8) == 0)
		for (i = 0; i < nrcpt; i++)
			rcpt_check(s, i, rcpt[i] ? rcpt[i] : "", &utf8);
	if (t->mail_failed || t->nok + t->ntemp + t->nperm == nrcpt) {
		txn_early_outcome(s, &o);
		o.stage = SMTP_STAGE_NONE;
		txn_end(s, &o);
		ready(s);
		return 0;
	}
	txn_steps(s, from, rcpt, size, utf8);
	s->state = ST_TXN;
	txn_emit(s);
	return 0;
}

/* ------------------------------------------------------------ the caller */

const char *
smtp_output(struct smtp *s, size_t *n)
{
	/* a refill may yield nothing: an LF ending the previous one's CR */
	while (s->state == ST_BODY && s->out_off == s->out.len)
		body_refill(s);
	*n = s->out.len - s->out_off;
	return s->out.data != NULL ? s->out.data + s->out_off : "";
}

void
smtp_written(struct smtp *s, size_t n)
{
	if (n > s->out.len - s->out_off)
		n = s->out.len - s->out_off;
	s->out_off += n;
	if (s->out_off == s->out.len) {
		out_clear(s);
		if (s->state == ST_DOT)
			parse_input(s);	/* what came before the dot went */
	}
}

int
smtp_tls_done(struct smtp *s, struct err *e)
{
	if (s->state != ST_TLS)
		return err_set(e, EX_SOFTWARE, "smtp: TLS done without "
		    "STARTTLS asking for it");
	s->tls = 1;
	memset(&s->caps, 0, sizeof(s->caps));	/* RFC 3207 4.2 */
	buf_reset(&s->in);
	send_ehlo(s);
	return 0;
}

int
smtp_quit(struct smtp *s, struct err *e)
{
	if (s->state != ST_READY || s->evhead < s->nev)
		return err_set(e, EX_SOFTWARE, "smtp: QUIT on a session that "
		    "is not idle");
	s->state = ST_QUIT;
	cmd(s, "QUIT\r\n");
	return 0;
}

int
smtp_deadline_ms(const struct smtp *s)
{
	switch (stage_now(s)) {
	case SMTP_STAGE_NONE:
		return -1;
	case SMTP_STAGE_GREETING:
		return s->to.greeting;
	case SMTP_STAGE_RCPT:
		return s->to.rcpt;
	case SMTP_STAGE_DATA:
		return s->to.data_init;
	case SMTP_STAGE_DOT:
		return s->state == ST_BODY || s->out_off < s->out.len ?
		    s->to.data_block : s->to.data_end;
	default:
		return s->to.mail;
	}
}

static void
end_for(struct smtp *s, const char *dsn, const char *why)
{
	struct smtp_event o;

	if (s->state == ST_CLOSED)
		return;
	if (s->state == ST_QUIT) {	/* close anyway */
		outcome_local(s, &o, SMTP_OK, SMTP_STAGE_QUIT, "", "%s", why);
		session_end(s, &o, 0);
		return;
	}
	outcome_local(s, &o, SMTP_TEMP, stage_now(s), dsn, "%s", why);
	session_end(s, &o, 0);
}

void
smtp_timeout(struct smtp *s)
{
	char why[128];

	snprintf(why, sizeof(why), "timed out after %d s waiting in %s",
	    smtp_deadline_ms(s) / 1000, smtp_stage_name(stage_now(s)));
	end_for(s, "4.4.2", why);
}

void
smtp_abort(struct smtp *s, const char *why)
{
	end_for(s, "4.4.2", why != NULL ? why : "connection lost");
}

int
smtp_tls_active(const struct smtp *s)
{
	return s->tls;
}

const struct smtp_caps *
smtp_caps(const struct smtp *s)
{
	return &s->caps;
}

/* ------------------------------------------------------------ life */

static char *
b64(const void *p, size_t n)
{
	char *o = xmalloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)o, p, (int)n);
	return o;
}

static void
secrets_make(struct smtp *s, const char *user, const char *pass)
{
	size_t u = strlen(user), p = strlen(pass);
	char *plain = xmalloc(u + p + 2);

	/* RFC 4616: authzid (empty) NUL authcid NUL passwd */
	plain[0] = '\0';
	memcpy(plain + 1, user, u);
	plain[u + 1] = '\0';
	memcpy(plain + u + 2, pass, p);
	s->secret[0] = xstrdup(user);
	s->secret[1] = xstrdup(pass);
	s->secret[2] = b64(user, u);
	s->secret[3] = b64(pass, p);
	s->secret[4] = b64(plain, u + p + 2);
	s->user = s->secret[0];
	OPENSSL_cleanse(plain, u + p + 2);
	free(plain);
}

static int
mechs_parse(struct smtp *s, const char *m, struct err *e)
{
	size_t i = 0, k;
	unsigned bit;

	for (s->nmech = 0; m[i] != '\0'; i = k) {
		while (m[i] == ' ' || m[i] == ',')
			i++;
		for (k = i; m[k] != '\0' && m[k] != ' ' && m[k] != ','; k++)
			;
		if (k == i)
			break;
		bit = word_is(m + i, k - i, "PLAIN") ? SMTP_AUTH_PLAIN :
		    word_is(m + i, k - i, "LOGIN") ? SMTP_AUTH_LOGIN : 0;
		if (bit == 0)
			return err_set(e, EX_CONFIG, "smtp: unknown AUTH "
			    "mechanism \"%.*s\" (PLAIN or LOGIN)",
			    (int)(k - i > 32 ? 32 : k - i), m + i);
		if (s->nmech < 2 && (s->nmech == 0 || s->mech[0] != bit))
			s->mech[s->nmech++] = bit;
	}
	if (s->nmech == 0)
		return err_set(e, EX_CONFIG, "smtp: no AUTH mechanism given");
	return 0;
}

static int
config_check(const struct smtp_config *c, struct err *e)
{
	size_t i, n = c->helo ? strlen(c->helo) : 0;

	if (n == 0 || n > LIMIT_SMTP_HELO)
		return err_set(e, EX_CONFIG, "smtp: the EHLO name must be 1 "
		    "to %d characters", LIMIT_SMTP_HELO);
	for (i = 0; i < n; i++)
		if (c->helo[i] <= 0x20 || c->helo[i] >= 0x7f)
			return err_set(e, EX_CONFIG, "smtp: the EHLO name has "
			    "a space or a character that is not ASCII");
	if (c->tls < SMTP_TLS_NONE || c->tls > SMTP_TLS_REQUIRE)
		return err_set(e, EX_CONFIG, "smtp: bad TLS mode");
	if ((c->auth_user == NULL) != (c->auth_pass == NULL))
		return err_set(e, EX_CONFIG, "smtp: AUTH needs both a user "
		    "name and a password");
	if (c->auth_user != NULL && (strlen(c->auth_user) > LIMIT_SMTP_CRED ||
	    strlen(c->auth_pass) > LIMIT_SMTP_CRED || !c->auth_user[0]))
		return err_set(e, EX_CONFIG, "smtp: the AUTH user name must "
		    "be 1 to %d bytes and the password at most %d",
		    LIMIT_SMTP_CRED, LIMIT_SMTP_CRED);
	if (c->reply_max != 0 && (c->reply_max < 512 ||
	    c->reply_max > 16 * 1024 * 1024))
		return err_set(e, EX_CONFIG, "smtp: the reply cap must be "
		    "512 bytes to 16 MiB");
	return 0;
}

static int
ms_or(int v, int def)
{
	return v > 0 ? v : def;
}

int
smtp_new(const struct smtp_config *cfg, struct smtp **out, struct err *e)
{
	struct smtp *s;

	*out = NULL;
	if (config_check(cfg, e) < 0)
		return -1;
	s = xcalloc(1, sizeof(*s));
	if (mechs_parse(s, cfg->auth_mechs ? cfg->auth_mechs : "PLAIN LOGIN",
	    e) < 0) {
		free(s);
		return -1;
	}
	s->helo = xstrdup(cfg->helo);
	s->tls_mode = cfg->tls;
	s->tls = cfg->implicit_tls != 0;
	s->auth_plaintext = cfg->auth_plaintext != 0;
	if (cfg->auth_user != NULL)
		secrets_make(s, cfg->auth_user, cfg->auth_pass);
	s->to.greeting = ms_or(cfg->timeouts.greeting, LIMIT_SMTP_GREETING_MS);
	s->to.mail = ms_or(cfg->timeouts.mail, LIMIT_SMTP_MAIL_MS);
	s->to.rcpt = ms_or(cfg->timeouts.rcpt, LIMIT_SMTP_RCPT_MS);
	s->to.data_init = ms_or(cfg->timeouts.data_init,
	    LIMIT_SMTP_DATA_INIT_MS);
	s->to.data_block = ms_or(cfg->timeouts.data_block,
	    LIMIT_SMTP_DATA_BLOCK_MS);
	s->to.data_end = ms_or(cfg->timeouts.data_end, LIMIT_SMTP_DATA_END_MS);
	buf_init(&s->in, cfg->reply_max ? cfg->reply_max : LIMIT_SMTP_REPLY);
	buf_init(&s->out, LIMIT_SMTP_OUT);
	s->state = ST_GREETING;
	s->await = 1;		/* the greeting */
	*out = s;
	return 0;
}

static void
secret_free(char *p)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, strlen(p));
	free(p);
}

void
smtp_free(struct smtp *s)
{
	int i;

	if (s == NULL)
		return;
	txn_free(&s->t);
	for (i = 0; i < NSECRET; i++)
		secret_free(s->secret[i]);
	out_clear(s);
	buf_free(&s->in);
	buf_free(&s->out);
	free(s->helo);
	free(s->ev);
	OPENSSL_cleanse(&s->r, sizeof(s->r));
	free(s);
}
