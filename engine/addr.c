/*
 * addr.c - address syntax and normalisation; see addr.h.
 */
#include <ctype.h>
#include <idn2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistr.h>

#include "addr.h"

/* RFC 5322 3.2.3 atext, plus any UTF-8 octet (RFC 6531 3.3). */
static int
addr_atext(unsigned char c)
{
	return isalnum(c) || c >= 0x80 || strchr("!#$%&'*+-/=?^_`{|}~", c);
}

static int
addr_local_dotstring(const char *s, size_t n, struct err *e)
{
	size_t i;

	if (s[0] == '.' || s[n - 1] == '.')
		return err_set(e, EX_DATAERR, "local part starts or ends "
		    "with a dot");
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.' && s[i + 1] == '.')
			return err_set(e, EX_DATAERR, "two dots in a row in "
			    "the local part");
		if (c != '.' && !addr_atext(c))
			return err_set(e, EX_DATAERR, "character '%c' is not "
			    "allowed in an unquoted local part",
			    isprint(c) ? c : '?');
	}
	return 0;
}

/* RFC 5321 4.1.2 Quoted-string: qtextSMTP and quoted-pairSMTP. */
static int
addr_local_quoted(const char *s, size_t n, struct err *e)
{
	size_t i;

	if (n < 2 || s[n - 1] != '"')
		return err_set(e, EX_DATAERR, "unterminated quoted local part");
	for (i = 1; i < n - 1; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\') {
			if (i + 1 >= n - 1 || s[i + 1] < 32 || s[i + 1] > 126)
				return err_set(e, EX_DATAERR, "bad quoted pair "
				    "in the local part");
			i++;
		} else if (c == '"' || (c < 32 && c != ' ') || c == 127)
			return err_set(e, EX_DATAERR, "character not allowed "
			    "in a quoted local part");
	}
	return 0;
}

static int
addr_ascii_label_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > LIMIT_DOMAIN_LABEL || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
	return 1;
}

static int
addr_domain_check(const char *d, struct err *e)
{
	const char *p = d, *dot;
	int labels = 0;

	if (strlen(d) > LIMIT_ADDR_DOMAIN)
		return err_set(e, EX_DATAERR, "domain is longer than %d "
		    "characters", LIMIT_ADDR_DOMAIN);
	for (;;) {
		dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);

		if (n > LIMIT_DOMAIN_LABEL)
			return err_set(e, EX_DATAERR, "domain label \"%.*s...\" "
			    "is longer than %d characters", 16, p,
			    LIMIT_DOMAIN_LABEL);
		if (!addr_ascii_label_ok(p, n))
			return err_set(e, EX_DATAERR, "domain label \"%.*s\" "
			    "is not a valid host name label", (int)n, p);
		labels++;
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	if (labels < 2)
		return err_set(e, EX_DATAERR, "domain \"%s\" has no dot", d);
	return 0;
}

int
addr_domain(const char *in, size_t len, char *out, size_t outlen,
    struct err *e)
{
	char tmp[LIMIT_ADDR_DOMAIN * 4 + 1];
	char *ace = NULL;
	size_t i;
	int ascii = 1, rc;

	if (len == 0)
		return err_set(e, EX_DATAERR, "domain is empty");
	if (len >= sizeof(tmp))
		return err_set(e, EX_DATAERR, "domain is too long");
	if (in[0] == '[')
		return err_set(e, EX_DATAERR, "address literals are not "
		    "accepted");
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c >= 0x80)
			ascii = 0;
		tmp[i] = (char)tolower(c);
	}
	tmp[len] = '\0';
	if (len > 0 && tmp[len - 1] == '.')
		return err_set(e, EX_DATAERR, "domain ends with a dot");
	/* Plain ASCII host names need no IDNA processing, which is most of
	 * a list; "xn--" labels still go through libidn2 to be validated. */
	if (ascii && strstr(tmp, "xn--") == NULL) {
		if (addr_domain_check(tmp, e) < 0)
			return -1;
		if (len + 1 > outlen)
			return err_set(e, EX_DATAERR, "domain is too long");
		memcpy(out, tmp, len + 1);
		return 0;
	}
	if (!ascii && u8_check((const uint8_t *)in, len) != NULL)
		return err_set(e, EX_DATAERR, "domain is not valid UTF-8");
	rc = idn2_to_ascii_8z(tmp, &ace, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	if (rc != IDN2_OK)
		return err_set(e, EX_DATAERR, "domain is not a valid "
		    "internationalised name: %s", idn2_strerror(rc));
	rc = addr_domain_check(ace, e);
	if (rc == 0 && strlen(ace) + 1 > outlen)
		rc = err_set(e, EX_DATAERR, "domain is too long");
	if (rc == 0)
		memcpy(out, ace, strlen(ace) + 1);
	idn2_free(ace);
	return rc;
}

static int
addr_local(const char *s, size_t n, struct addr *out, struct err *e)
{
	size_t i;

	if (n == 0)
		return err_set(e, EX_DATAERR, "local part is empty");
	if (n > LIMIT_ADDR_LOCAL)
		return err_set(e, EX_DATAERR, "local part is longer than %d "
		    "octets", LIMIT_ADDR_LOCAL);
	if (u8_check((const uint8_t *)s, n) != NULL)
		return err_set(e, EX_DATAERR, "local part is not valid UTF-8");
	if ((s[0] == '"' ? addr_local_quoted(s, n, e) :
	    addr_local_dotstring(s, n, e)) < 0)
		return -1;
	out->utf8 = 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			out->utf8 = 1;
	memcpy(out->local, s, n);
	out->local[n] = '\0';
	return 0;
}

int
addr_parse(const char *in, size_t len, struct addr *out, struct err *e)
{
	const char *at;
	size_t i, n;

	if (len == 0)
		return err_set(e, EX_DATAERR, "address is empty");
	if (len > LIMIT_ADDR * 4)
		return err_set(e, EX_DATAERR, "address is too long");
	if (memchr(in, '\0', len) != NULL)
		return err_set(e, EX_DATAERR, "address contains a NUL byte");
	/* The last "@": a quoted local part may hold one of its own. */
	at = NULL;
	for (i = len; i > 0; i--)
		if (in[i - 1] == '@') {
			at = in + i - 1;
			break;
		}
	if (at == NULL)
		return err_set(e, EX_DATAERR, "address has no '@'");
	if (addr_local(in, (size_t)(at - in), out, e) < 0)
		return -1;
	if (addr_domain(at + 1, len - (size_t)(at - in) - 1, out->domain,
	    sizeof(out->domain), e) < 0)
		return -1;
	n = (size_t)snprintf(out->address, sizeof(out->address), "%s@%s",
	    out->local, out->domain);
	if (n > LIMIT_ADDR)
		return err_set(e, EX_DATAERR, "address is longer than %d "
		    "octets", LIMIT_ADDR);
	for (i = 0; i <= n; i++)
		out->key[i] = (char)tolower((unsigned char)out->address[i]);
	return 0;
}

static int
addr_display_name(const char *s, size_t n, char *out, struct err *e)
{
	size_t i, o = 0;

	while (n > 0 && isspace((unsigned char)*s))
		s++, n--;
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"')
		s++, n -= 2;
	if (n > LIMIT_DISPLAY_NAME)
		return err_set(e, EX_DATAERR, "display name is longer than %d "
		    "octets", LIMIT_DISPLAY_NAME);
	if (u8_check((const uint8_t *)s, n) != NULL)
		return err_set(e, EX_DATAERR, "display name is not valid "
		    "UTF-8");
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 32 || c == 127)
			return err_set(e, EX_DATAERR, "display name contains "
			    "a control character");
		if (c == '\\' && i + 1 < n)
			c = (unsigned char)s[++i];
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

int
addr_parse_mailbox(const char *in, struct mailbox *out, struct err *e)
{
	const char *lt = strrchr(in, '<'), *gt;

	out->name[0] = '\0';
	if (lt == NULL) {
		size_t n = strlen(in);

		while (n > 0 && isspace((unsigned char)in[n - 1]))
			n--;
		while (n > 0 && isspace((unsigned char)*in))
			in++, n--;
		return addr_parse(in, n, &out->addr, e);
	}
	gt = strchr(lt, '>');
	if (gt == NULL || gt[1 + strspn(gt + 1, " \t")] != '\0')
		return err_set(e, EX_DATAERR, "expected 'Name <address>'");
	if (addr_display_name(in, (size_t)(lt - in), out->name, e) < 0)
		return -1;
	return addr_parse(lt + 1, (size_t)(gt - lt - 1), &out->addr, e);
}
