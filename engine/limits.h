/*
 * limits.h - every size and time limit Postbote enforces, in one place.
 *
 * A limit guards memory or time against hostile or broken input. Each one is
 * tested at and just over its edge; change a value here and nowhere else.
 */
#ifndef POSTBOTE_LIMITS_H
#define POSTBOTE_LIMITS_H

/* RFC 5321 4.5.3.1: local part 64 octets, domain 255, path 256 with <>. */
#define LIMIT_ADDR_LOCAL	64
#define LIMIT_ADDR_DOMAIN	253	/* RFC 1035 2.3.4 textual form */
#define LIMIT_ADDR		254
#define LIMIT_DOMAIN_LABEL	63

#define LIMIT_DISPLAY_NAME	256	/* From/Reply-To display names */
#define LIMIT_NAME		128	/* list, template and campaign names */

/* Import. */
#define LIMIT_IMPORT_FIELD	(64 * 1024)	/* one CSV cell */
#define LIMIT_IMPORT_LINE	(1024 * 1024)	/* one JSON Lines record */
#define LIMIT_IMPORT_COLUMNS	512
#define LIMIT_ATTRS		(64 * 1024)	/* one recipient's attributes, as JSON */
#define LIMIT_IMPORT_REPORTED	20		/* rejects printed before "... and N more" */

/* Templates as stored (the renderer adds its own limits). */
#define LIMIT_TEMPLATE_PART	(512 * 1024)
#define LIMIT_SUBJECT		998		/* RFC 5322 2.1.1 line length */

/* The template language and rendering. */
#define LIMIT_TEMPLATE_DEPTH	16		/* nested blocks */
#define LIMIT_TEMPLATE_TAG	1024		/* one {{ ... }} */
#define LIMIT_TEMPLATE_OPS	65536		/* program size of one part */
#define LIMIT_FILTER_ARGS	3
#define LIMIT_MESSAGE		(4 * 1024 * 1024)	/* one rendered message */
#define LIMIT_RENDER_STEPS	2000000		/* ops one part may run */

/* Message headers (mime.c). */
#define LIMIT_HEADER_NAME	76	/* custom header name: "Name: " fits 78 */
#define LIMIT_HEADER_VALUE	900	/* custom header value, octets */
#define LIMIT_HEADER_TOKEN	900	/* an unfoldable <address>, <url> or
					   <message-id> */
#define LIMIT_HEADERS		32	/* custom headers of one campaign */

/* Segments: length, nesting and the time the guard lets one run. */
#define LIMIT_SEGMENT_LEN	4096
#define LIMIT_SEGMENT_DEPTH	32
#define LIMIT_SEGMENT_TERMS	64		/* comparisons in one expression */
#define LIMIT_SEGMENT_PARAMS	256		/* literals and attribute paths */
#define LIMIT_SEGMENT_MS	1000		/* evaluating a segment over ... */
#define LIMIT_SEGMENT_ROWS	500000		/* ... each this many members */
#define LIMIT_AUDIENCE_MS	30000		/* materialising an audience, per
						   LIMIT_SEGMENT_ROWS members */

/* DKIM (dkim.c). */
#define LIMIT_DKIM_KEY_FILE	(16 * 1024)	/* a PEM private key file */
#define LIMIT_DKIM_SELECTOR	63		/* s= tag: dot-separated labels */
#define LIMIT_DKIM_RSA_MIN	1024		/* RFC 8301 3.2: bits signers */
#define LIMIT_DKIM_RSA_MAX	4096		/* ... MUST use and verifiers
						   MUST handle */
#define LIMIT_DKIM_FIELDS	512		/* header fields of a message
						   to sign */
#define LIMIT_DKIM_SIGNATURES	(8 * 1024)	/* the header fields one message
						   gets: two signatures with
						   4096-bit RSA fit */

/* SMTP client (smtp.c). */
#define LIMIT_SMTP_REPLY	(64 * 1024)	/* one reply, every line, CRLF
						   included */
#define LIMIT_SMTP_TEXT		512		/* reply text kept in an event */
#define LIMIT_SMTP_RCPTS	100		/* RFC 5321 4.5.3.1.8 */
#define LIMIT_SMTP_CRED		256		/* AUTH user name, password */
#define LIMIT_SMTP_HELO		255		/* our EHLO name */
#define LIMIT_SMTP_CMD		1024		/* one command line we write */
#define LIMIT_SMTP_CHUNK	(16 * 1024)	/* body bytes read per refill */
#define LIMIT_SMTP_MEM_CHUNK	(32 * 1024)	/* ... of a body in memory */
#define LIMIT_SMTP_OUT		(80 * 1024)	/* unwritten commands: a full
						   pipelined batch, or a
						   stuffed memory slice (up
						   to twice its size) and the
						   final dot */
/* RFC 5321 4.5.3.2 client timeouts, defaults; other commands get MAIL's. */
#define LIMIT_SMTP_GREETING_MS	(5 * 60 * 1000)
#define LIMIT_SMTP_MAIL_MS	(5 * 60 * 1000)
#define LIMIT_SMTP_RCPT_MS	(5 * 60 * 1000)
#define LIMIT_SMTP_DATA_INIT_MS	(2 * 60 * 1000)
#define LIMIT_SMTP_DATA_BLOCK_MS (3 * 60 * 1000)
#define LIMIT_SMTP_DATA_END_MS	(10 * 60 * 1000)

/* DNS next-hop resolution (dns.c). */
#define LIMIT_DNS_HOSTS		10	/* MX hosts kept per domain, in order */
#define LIMIT_DNS_ADDRS		4	/* addresses kept per host and family */
#define LIMIT_DNS_SERVERS	512	/* the "addr:port,..." server list */
#define LIMIT_DNS_REASON	256	/* the reason text of a result */
#define LIMIT_DNS_TIMEOUT_MS	5000	/* first try; c-ares doubles it for
					   each later round */
#define LIMIT_DNS_TRIES		2

/* TLS client (tls.c). */
#define LIMIT_TLS_REASON	256	/* why a handshake or record failed */

/* Configuration file. */
#define LIMIT_CONFIG_FILE	(1024 * 1024)
#define LIMIT_CONFIG_ROUTES	256	/* delivery.routes entries */
#define LIMIT_CONFIG_DKIM_KEYS	64	/* dkim entries */
#define LIMIT_WORKERS		64	/* sending worker threads */

/* Error messages carried up to the CLI. */
#define LIMIT_ERR_MSG		1024

/* The send loop (scheduler.c); shaping rules (config) limit it further. */
#define LIMIT_SEND_INFLIGHT	512	/* jobs loaded, rendering or queued */
#define LIMIT_SEND_WINDOW	64	/* ... of one domain */
#define LIMIT_SEND_DOMAINS	256	/* domains being sent at once */
#define LIMIT_SEND_CONNS_MAX	10000	/* the most a shaping rule may allow */
#define LIMIT_SEND_HOPS		8	/* addresses tried per destination */
#define LIMIT_SEND_REQUEUES	3	/* a message a reused session lost */
#define LIMIT_SEND_CONNECT_MS	(30 * 1000)
#define LIMIT_SEND_IDLE_MS	(5 * 1000)	/* an unused connection */
#define LIMIT_SEND_QUIT_MS	(5 * 1000)	/* the end of a run, at most */
#define LIMIT_SEND_STOP_MS	(10 * 1000)	/* after a stop, for the wire */
#define LIMIT_SEND_TICK_MS	100	/* outcomes are committed this often */
#define LIMIT_WINDOW_ZONES	1024	/* time zones of one send window */
#define LIMIT_THROTTLE_SUSPEND_MS	(30 * 1000)	/* per throttling signal */
#define LIMIT_THROTTLE_SUSPEND_MAX_MS	(10 * 60 * 1000)

/* Inbound mail (bounce ingest): checked before GMime parses anything. */
#define LIMIT_INBOUND_SIZE	(4 * 1024 * 1024)	/* one message */
#define LIMIT_INBOUND_LINE	65536	/* one line, CRLF included */
#define LIMIT_INBOUND_HEADER	(256 * 1024)	/* one header block */
#define LIMIT_INBOUND_DEPTH	16	/* multipart nesting */
#define LIMIT_INBOUND_PARTS	256	/* MIME parts of one message */
#define LIMIT_INBOUND_REVIEW	(64 * 1024)	/* kept for review */

/* The tracking server (libmicrohttpd). */
#define LIMIT_HTTP_MEMORY	(32 * 1024)	/* a request's headers+URL */
#define LIMIT_HTTP_BODY		4096	/* a POST body */
#define LIMIT_HTTP_TIMEOUT_S	10	/* an idle or slow client */
#define LIMIT_HTTP_CONNS	1024	/* connections at once */

/* Webhooks (libcurl). */
#define LIMIT_WEBHOOK_INFLIGHT	32	/* calls at once */
#define LIMIT_WEBHOOK_BATCH	256	/* outbox rows read per round */
#define LIMIT_WEBHOOK_RESPONSE	4096	/* response body kept for the log */
#define LIMIT_WEBHOOK_BACKOFF_MS	(60 * 60 * 1000)	/* the longest wait */
#define LIMIT_WEBHOOK_TIMEOUT_MS	(60 * 1000)	/* one call, at most */

#endif
