/*
 * fuzz_dkim.c - libFuzzer target: the DKIM signer. The first input octet
 * picks the mode; the rest, with each LF made CRLF and CRs dropped (the
 * signer refuses bare ones), is
 *   even: a body under a fixed header, and the signature's bh= must be
 *         the SHA-256 of the body as a plain, line-by-line reading of
 *         RFC 6376 3.4.4 canonicalizes it: the signer's faster runs and
 *         rewrites are checked against it;
 *   odd:  a whole message, which may be refused but must not crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "buf.h"
#include "dkim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dkim_ctx *
ctx(void)
{
	static struct dkim_signer *s;
	static struct dkim_ctx *x;
	static char dir[] = "/tmp/fuzz_dkim.XXXXXX";
	char path[64];
	struct dkim_keygen_req r = { "example.com", "f", DKIM_ED25519_SHA256,
	    0, path };
	struct dkim_key_conf k = { "example.com", "f", "ed25519", path };
	struct buf rec;
	struct err e;

	if (x != NULL)
		return x;
	if (mkdtemp(dir) == NULL)
		abort();
	buf_init(&rec, 4096);
	snprintf(path, sizeof(path), "%s/k.pem", dir);
	if (dkim_keygen(&r, &rec, &e) < 0 || dkim_signer_open(&k, 1, &s,
	    &e) < 0)
		abort();
	unlink(path);
	rmdir(dir);
	buf_free(&rec);
	return x = dkim_ctx_new(s);
}

/* RFC 6376 3.4.4, line by line, the plain way. */
static void
reference_body(const char *p, size_t n, struct buf *out)
{
	size_t i = 0, k, start, end, empty = 0;
	struct buf line;
	int ws;

	buf_init(&line, 1 << 22);
	while (i < n) {
		start = i;
		while (i < n &&
		    !(p[i] == '\r' && i + 1 < n && p[i + 1] == '\n'))
			i++;
		end = i;
		i = i < n ? i + 2 : n;
		buf_reset(&line);
		for (ws = 0, k = start; k < end; k++) {
			if (p[k] == ' ' || p[k] == '\t') {
				ws = 1;
				continue;
			}
			if ((ws && buf_addc(&line, ' ') < 0) ||
			    buf_addc(&line, p[k]) < 0)
				abort();
			ws = 0;
		}
		if (line.len == 0) {	/* kept back until text follows */
			empty++;
			continue;
		}
		for (; empty > 0; empty--)
			if (buf_add(out, "\r\n", 2) < 0)
				abort();
		if (buf_add(out, line.data, line.len) < 0 ||
		    buf_add(out, "\r\n", 2) < 0)
			abort();
	}
	buf_free(&line);
}

/* bh='s value in the signature, folding white space left out. */
static void
bh_of(const char *sig, char *out, size_t n)
{
	const char *p = strstr(sig, "bh=");
	size_t o = 0;

	if (p == NULL)
		abort();
	for (p += 3; *p != ';' && *p != '\0' && o + 1 < n; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			out[o++] = *p;
	out[o] = '\0';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char head[] = "From: a@example.com\r\nSubject: x\r\n\r\n";
	struct buf msg, sig, ref;
	unsigned char md[32];
	char want[64], got[64];
	struct err e;
	size_t i, body;
	int whole;

	if (size == 0)
		return 0;
	whole = data[0] & 1;
	buf_init(&msg, 1 << 22);
	buf_init(&sig, 1 << 16);
	buf_init(&ref, 1 << 22);
	if (!whole && buf_adds(&msg, head) < 0)
		abort();
	body = msg.len;
	for (i = 1; i < size; i++)
		if (data[i] == '\n') {
			if (buf_add(&msg, "\r\n", 2) < 0)
				abort();
		} else if (data[i] != '\r' && buf_addc(&msg, (char)data[i]) < 0)
			abort();
	if (dkim_ctx_sign(ctx(), msg.data ? msg.data : "", msg.len, &sig,
	    &e) == 0 && !whole) {
		reference_body(msg.data + body, msg.len - body, &ref);
		SHA256((const unsigned char *)(ref.data ? ref.data : ""),
		    ref.len, md);
		EVP_EncodeBlock((unsigned char *)want, md, 32);
		bh_of(sig.data, got, sizeof(got));
		if (strcmp(want, got) != 0)
			abort();
	} else if (!whole)
		abort();	/* a body under this header always signs */
	buf_free(&msg);
	buf_free(&sig);
	buf_free(&ref);
	return 0;
}
