/*
 * smtp_send.c - one message through engine/smtp.c and engine/tls.c over a
 * real socket, for tests/integration/smtp.sh:
 *
 *   smtp_send --host ADDR --port P [--tls none|may|require] [--ca FILE]
 *       [--implicit-tls] [--user U --password-env VAR] [--helo NAME]
 *       --from ADDR --to ADDR [--to ADDR...] < message
 *
 * Prints one line per event it acts on:
 *   ready tls=TLSINFO
 *   rcpt N ADDR ok|temp|perm CODE DSN|- STAGE: TEXT
 *   message ok|temp|perm CODE DSN|- STAGE: TEXT
 *   closed ok|temp|perm CODE DSN|- STAGE: TEXT
 *   tls=TLSINFO                  (last line, the session's final TLS state)
 * Exits 0 when the message was accepted for at least one recipient, 75
 * on a temporary failure, 65 on a permanent one, 64 on a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smtp.h"
#include "tls.h"

static void
usage(void)
{
	fprintf(stderr, "usage: smtp_send --host ADDR --port P "
	    "[--tls none|may|require] [--ca FILE] [--implicit-tls] "
	    "[--user U --password-env VAR] [--helo NAME] --from ADDR "
	    "--to ADDR [--to ADDR...] < message\n");
	exit(64);
}

static const char *
dsn_or_dash(const struct smtp_event *ev)
{
	return ev->dsn[0] ? ev->dsn : "-";
}

/* "WHAT[ EXTRA] STATUS CODE DSN STAGE: TEXT", one line per event. */
static void
print_outcome(const char *what, const struct smtp_event *ev)
{
	printf("%s %s %d %s %s: %s\n", what, ev->status == SMTP_OK ? "ok" :
	    ev->status == SMTP_TEMP ? "temp" : "perm", ev->code,
	    dsn_or_dash(ev), smtp_stage_name(ev->stage), ev->text);
}

static void
print_tls(const char *prefix, const struct tls *t)
{
	struct tls_info info;
	char buf[128];

	if (t == NULL) {
		printf("%stls=none\n", prefix);
		return;
	}
	tls_info(t, &info);
	tls_info_format(&info, buf, sizeof(buf));
	printf("%stls=%s\n", prefix, buf);
}

static int
read_all(char **out, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *p = malloc(cap);
	ssize_t r;

	if (p == NULL)
		return -1;
	for (;;) {
		if (n == cap) {
			char *q = realloc(p, cap * 2);
			if (q == NULL) {
				free(p);
				return -1;
			}
			p = q;
			cap *= 2;
		}
		r = read(0, p + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(p);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*out = p;
	*len = n;
	return 0;
}

static long
parse_num(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		usage();
	return v;
}

int
main(int argc, char **argv)
{
	const char *host = NULL, *ca = NULL, *user = NULL, *passenv = NULL;
	const char *helo = "client.postbote.test", *from = NULL;
	const char *rcpt[LIMIT_SMTP_RCPTS];
	int nrcpt = 0, port = 0, implicit = 0, i;
	enum smtp_tls tlsmode = SMTP_TLS_NONE;
	struct smtp_config cfg;
	struct smtp *s = NULL;
	struct tls_ctx *ctx = NULL;
	struct tls *t = NULL;
	struct err e = { 0 };
	struct sockaddr_in sa;
	struct smtp_body body;
	struct smtp_mem mem;
	char *msg = NULL;
	size_t msglen = 0;
	int fd, connecting = 1, handshaking = 0, closed = 0, sent = 0;
	int have_msg = 0, msg_status = SMTP_TEMP, closed_status = SMTP_TEMP;
	int wr_want_read = 0, rd_want_write = 0;
	int ok_rcpts = 0;

	signal(SIGPIPE, SIG_IGN);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--implicit-tls") == 0) {
			implicit = 1;
			continue;
		}
		if (v == NULL)
			usage();
		i++;
		if (strcmp(a, "--host") == 0)
			host = v;
		else if (strcmp(a, "--port") == 0)
			port = (int)parse_num(v, 1, 65535);
		else if (strcmp(a, "--tls") == 0) {
			if (strcmp(v, "none") == 0)
				tlsmode = SMTP_TLS_NONE;
			else if (strcmp(v, "may") == 0)
				tlsmode = SMTP_TLS_MAY;
			else if (strcmp(v, "require") == 0)
				tlsmode = SMTP_TLS_REQUIRE;
			else
				usage();
		} else if (strcmp(a, "--ca") == 0)
			ca = v;
		else if (strcmp(a, "--user") == 0)
			user = v;
		else if (strcmp(a, "--password-env") == 0)
			passenv = v;
		else if (strcmp(a, "--helo") == 0)
			helo = v;
		else if (strcmp(a, "--from") == 0)
			from = v;
		else if (strcmp(a, "--to") == 0) {
			if (nrcpt == LIMIT_SMTP_RCPTS)
				usage();
			rcpt[nrcpt++] = v;
		} else
			usage();
	}
	if (host == NULL || port == 0 || from == NULL || nrcpt == 0 ||
	    (user != NULL) != (passenv != NULL))
		usage();

	if (read_all(&msg, &msglen) < 0) {
		perror("smtp_send: stdin");
		return 74;
	}
	smtp_body_mem(&body, &mem, msg, msglen);
	for (size_t k = 0; k < msglen; k++)
		if ((unsigned char)msg[k] >= 0x80)
			body.eightbit = 1;

	memset(&cfg, 0, sizeof(cfg));
	cfg.helo = helo;
	cfg.tls = tlsmode;
	cfg.implicit_tls = implicit;
	cfg.auth_user = user;
	if (passenv != NULL) {
		cfg.auth_pass = getenv(passenv);
		if (cfg.auth_pass == NULL) {
			fprintf(stderr, "smtp_send: %s is not set\n", passenv);
			return 64;
		}
	}
	if (smtp_new(&cfg, &s, &e) < 0) {
		fprintf(stderr, "smtp_send: %s\n", e.msg);
		return 64;
	}
	if (tlsmode != SMTP_TLS_NONE || implicit) {
		if (tls_ctx_new(tlsmode == SMTP_TLS_MAY ?
		    TLS_POLICY_OPPORTUNISTIC : TLS_POLICY_VERIFY, ca, &ctx,
		    &e) < 0) {
			fprintf(stderr, "smtp_send: %s\n", e.msg);
			return 64;
		}
	}

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		usage();
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("smtp_send: socket");
		return 71;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
	    errno != EINPROGRESS) {
		printf("connect: %s\n", strerror(errno));
		smtp_abort(s, "connect failed");
		connecting = 0;
	}

	while (!closed) {
		struct smtp_event ev;
		char what[600];
		struct pollfd pfd;
		int progress = 0, dl, r;

		/* Events first: they may queue output or ask for TLS. */
		while (!closed && smtp_event(s, &ev)) {
			switch (ev.type) {
			case SMTP_EV_READY:
				if (!sent) {
					print_tls("ready ", t);
					fflush(stdout);
					sent = 1;
					if (smtp_send(s, from, rcpt, nrcpt,
					    msglen, &body, &e) < 0) {
						fprintf(stderr, "smtp_send: "
						    "%s\n", e.msg);
						smtp_abort(s, "send refused");
					}
				} else if (smtp_quit(s, &e) < 0) {
					fprintf(stderr, "smtp_send: %s\n",
					    e.msg);
					smtp_abort(s, "quit refused");
				}
				break;
			case SMTP_EV_STARTTLS:
				if (tls_new(ctx, fd, host, &t, &e) < 0) {
					fprintf(stderr, "smtp_send: %s\n",
					    e.msg);
					smtp_abort(s, "tls_new failed");
				} else
					handshaking = 1;
				break;
			case SMTP_EV_RCPT:
				if (ev.status == SMTP_OK)
					ok_rcpts++;
				snprintf(what, sizeof(what), "rcpt %d %s",
				    ev.rcpt, ev.rcpt >= 0 && ev.rcpt < nrcpt ?
				    rcpt[ev.rcpt] : "?");
				print_outcome(what, &ev);
				break;
			case SMTP_EV_MESSAGE:
				have_msg = 1;
				msg_status = (int)ev.status;
				print_outcome("message", &ev);
				break;
			case SMTP_EV_CLOSED:
				closed = 1;
				closed_status = (int)ev.status;
				print_outcome("closed", &ev);
				break;
			default:
				break;
			}
			fflush(stdout);
		}

		/* Write what the machine holds (a courtesy QUIT included). */
		if (!connecting && !handshaking &&
		    !(implicit && t == NULL)) {
			for (;;) {
				size_t n, done = 0;
				const char *p = smtp_output(s, &n);
				ssize_t w;

				if (n == 0)
					break;
				wr_want_read = 0;
				if (t != NULL) {
					enum tls_result tr =
					    tls_write(t, p, n, &done);
					if (tr == TLS_WANT_READ)
						wr_want_read = 1;
					if (tr == TLS_WANT_READ ||
					    tr == TLS_WANT_WRITE)
						break;
					if (tr != TLS_OK) {
						if (!closed)
							smtp_abort(s,
							    tls_reason(t));
						progress = 1;
						break;
					}
				} else {
					w = write(fd, p, n);
					if (w < 0 && errno == EINTR)
						continue;
					if (w < 0 && errno == EAGAIN)
						break;
					if (w < 0) {
						if (!closed)
							smtp_abort(s, "write "
							    "failed");
						progress = 1;
						break;
					}
					done = (size_t)w;
				}
				smtp_written(s, done);
				progress = 1;
			}
		}
		if (closed)
			break;
		if (progress)
			continue;	/* new events may wait */

		memset(&pfd, 0, sizeof(pfd));
		pfd.fd = fd;
		if (connecting)
			pfd.events = POLLOUT;
		else if (handshaking)
			pfd.events = POLLIN;	/* refined below */
		else {
			size_t n;

			pfd.events = POLLIN;
			(void)smtp_output(s, &n);
			if ((n > 0 && !wr_want_read) || rd_want_write)
				pfd.events |= POLLOUT;
		}
		if (handshaking) {
			enum tls_result tr = tls_handshake(t);

			if (tr == TLS_OK) {
				handshaking = 0;
				/* STARTTLS: tell the machine; implicit
				   TLS: the greeting comes now. */
				if (!implicit && smtp_tls_done(s, &e) < 0) {
					fprintf(stderr, "smtp_send: %s\n",
					    e.msg);
					smtp_abort(s, "tls_done refused");
				}
				continue;
			}
			if (tr == TLS_FAILED) {
				handshaking = 0;
				smtp_abort(s, tls_reason(t));
				continue;
			}
			pfd.events = tr == TLS_WANT_WRITE ? POLLOUT : POLLIN;
		}

		dl = smtp_deadline_ms(s);
		r = poll(&pfd, 1, dl);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			perror("smtp_send: poll");
			smtp_abort(s, "poll failed");
			continue;
		}
		if (r == 0) {
			if (dl >= 0)
				smtp_timeout(s);
			continue;
		}
		if (connecting) {
			int err = 0;
			socklen_t el = sizeof(err);

			connecting = 0;
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err,
			    &el) < 0 || err != 0) {
				printf("connect: %s\n", strerror(err));
				smtp_abort(s, "connect failed");
				continue;
			}
			if (implicit) {
				if (tls_new(ctx, fd, host, &t, &e) < 0) {
					fprintf(stderr, "smtp_send: %s\n",
					    e.msg);
					smtp_abort(s, "tls_new failed");
				} else
					handshaking = 1;
			}
			continue;
		}
		if (handshaking)
			continue;	/* tls_handshake() again at the top */
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)) &&
		    !(wr_want_read && (pfd.revents & POLLIN)))
			continue;	/* writable: written at the top */

		/* Readable. */
		rd_want_write = 0;
		if (t != NULL) {
			char buf[16384];

			for (;;) {
				size_t got = 0;
				enum tls_result tr =
				    tls_read(t, buf, sizeof(buf), &got);

				if (tr == TLS_OK) {
					smtp_feed(s, buf, got);
					continue;
				}
				if (tr == TLS_WANT_WRITE)
					rd_want_write = 1;
				else if (tr == TLS_EOF)
					smtp_abort(s, "connection closed");
				else if (tr == TLS_FAILED)
					smtp_abort(s, tls_reason(t));
				break;
			}
		} else {
			char buf[16384];
			ssize_t got = read(fd, buf, sizeof(buf));

			if (got > 0)
				smtp_feed(s, buf, (size_t)got);
			else if (got == 0)
				smtp_abort(s, "connection closed");
			else if (errno != EAGAIN && errno != EINTR)
				smtp_abort(s, "read failed");
		}
	}

	print_tls("", t);
	if (t != NULL)
		tls_close(t);
	close(fd);
	tls_free(t);
	tls_ctx_free(ctx);
	smtp_free(s);
	free(msg);
	fflush(stdout);
	if (have_msg && msg_status == SMTP_OK && ok_rcpts > 0)
		return 0;
	if (have_msg)
		return msg_status == SMTP_PERM ? 65 : 75;
	return closed_status == SMTP_PERM ? 65 : 75;
}
