/*
 * fuzz_smtp.c - libFuzzer target: the SMTP client fed arbitrary server
 * bytes.
 *
 * Input: one byte of settings (TLS mode, implicit TLS, credentials, LOGIN
 * first, plaintext AUTH, partial writes, a small reply cap), one byte
 * seeding how the rest is cut, then what the server says. Between pieces
 * the target acts as the event loop: it writes some or all of the output,
 * sends a message on each SMTP_EV_READY (two at most, then QUIT), reports
 * the STARTTLS handshake done, and at the end times out or aborts.
 *
 * Besides crashes and leaks it checks what smtp.h promises: unwritten
 * output never past LIMIT_SMTP_OUT, each recipient one SMTP_EV_RCPT per
 * message, then one SMTP_EV_MESSAGE, before the next SMTP_EV_READY;
 * exactly one SMTP_EV_CLOSED and nothing after it; no credential in any
 * text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NRCPT	3

static const char *const rcpts[NRCPT] = { "a@example.net",
    "j\xc3\xbcrgen@example.net", "c@example.net" };
static const char body_text[] = ".leading dot\nbare LF\r\n..\r\n.\r\n"
    "bare CR\rend without a line end";
static const char *const secrets[] = { "alice@example.org", "s3cret-Pa55",
    "YWxpY2VAZXhhbXBsZS5vcmc=", "czNjcmV0LVBhNTU=",
    "AGFsaWNlQGV4YW1wbGUub3JnAHMzY3JldC1QYTU1" };

struct loop {
	struct smtp *s;
	struct smtp_mem mem;
	struct smtp_body body;
	uint32_t rng;
	int partial;
	int creds;		/* AUTH configured: its secrets must not show */
	int sent;
	int in_msg;
	int seen[NRCPT];
	int closed;
};

static uint32_t
next(struct loop *l)
{
	l->rng = l->rng * 1103515245u + 12345u;
	return l->rng >> 16;
}

static void
on_ready(struct loop *l)
{
	struct err e;

	if (l->in_msg)
		abort();	/* READY before the message's outcome */
	if (l->sent < 2) {
		smtp_body_mem(&l->body, &l->mem, body_text,
		    sizeof(body_text) - 1);
		if (smtp_send(l->s, "sender@example.org", rcpts, NRCPT, 100,
		    &l->body, &e) != 0)
			abort();
		l->sent++;
		l->in_msg = 1;
		memset(l->seen, 0, sizeof(l->seen));
	} else if (smtp_quit(l->s, &e) != 0) {
		abort();
	}
}

static void
check(struct loop *l, const struct smtp_event *ev)
{
	size_t i;

	if (l->closed)
		abort();	/* nothing after CLOSED */
	for (i = 0; l->creds && i < sizeof(secrets) / sizeof(secrets[0]); i++)
		if (strstr(ev->text, secrets[i]) != NULL)
			abort();
	if (ev->type == SMTP_EV_RCPT) {
		if (!l->in_msg || ev->rcpt < 0 || ev->rcpt >= NRCPT ||
		    l->seen[ev->rcpt]++)
			abort();
	} else if (ev->type == SMTP_EV_MESSAGE) {
		for (i = 0; i < NRCPT; i++)
			if (!l->in_msg || l->seen[i] != 1)
				abort();
		l->in_msg = 0;
	} else if (ev->type == SMTP_EV_CLOSED) {
		if (l->in_msg)
			abort();
		l->closed = 1;
	}
}

static void
events(struct loop *l)
{
	struct smtp_event ev;
	struct err e;

	while (smtp_event(l->s, &ev)) {
		check(l, &ev);
		if (ev.type == SMTP_EV_READY)
			on_ready(l);
		else if (ev.type == SMTP_EV_STARTTLS &&
		    smtp_tls_done(l->s, &e) != 0)
			abort();
	}
}

/* One turn of the loop: events, then a write of some or all output. */
static void
turn(struct loop *l)
{
	size_t n, k;
	int i;

	for (i = 0; i < 64; i++) {
		events(l);
		smtp_output(l->s, &n);
		if (n > LIMIT_SMTP_OUT)
			abort();
		if (n == 0)
			break;
		k = l->partial ? 1 + next(l) % 200 : n;
		smtp_written(l->s, k < n ? k : n);
		if (l->partial && next(l) % 2)
			break;
	}
	(void)smtp_deadline_ms(l->s);
}

static void
config(uint8_t f, struct smtp_config *c)
{
	memset(c, 0, sizeof(*c));
	c->helo = "client.example.org";
	c->tls = (enum smtp_tls)(f % 3);
	c->implicit_tls = (f >> 2) & 1;
	if ((f >> 3) & 1) {
		c->auth_user = secrets[0];
		c->auth_pass = secrets[1];
		c->auth_mechs = (f >> 4) & 1 ? "LOGIN PLAIN" : NULL;
		c->auth_plaintext = (f >> 5) & 1;
	}
	c->reply_max = (f >> 7) & 1 ? 512 : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_config cfg;
	struct loop l;
	struct err e;
	size_t off = 2, k;

	if (size < 2)
		return 0;
	memset(&l, 0, sizeof(l));
	config(data[0], &cfg);
	l.partial = (data[0] >> 6) & 1;
	l.creds = cfg.auth_user != NULL;
	l.rng = data[1];
	if (smtp_new(&cfg, &l.s, &e) != 0)
		abort();
	while (off < size) {
		k = 1 + next(&l) % 97;
		if (k > size - off)
			k = size - off;
		smtp_feed(l.s, data + off, k);
		off += k;
		turn(&l);
	}
	if (data[1] & 1)
		smtp_timeout(l.s);
	else
		smtp_abort(l.s, "end of input");
	turn(&l);
	if (!l.closed || l.in_msg)
		abort();
	smtp_free(l.s);
	return 0;
}
