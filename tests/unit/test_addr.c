/*
 * test_addr.c - addr_parse(), addr_domain() and addr_parse_mailbox().
 *
 * Every limit of limits.h that addresses obey is tested at its edge and one
 * past it; the long inputs are spelt out with the macros below so that each
 * table row shows the exact length it tests.
 */
#include "unit.h"

#include "addr.h"
#include "limits.h"

#define S8	"abcdefgh"
#define S16	S8 S8
#define S32	S16 S16
#define S63	S32 S16 S8 "abcdefg"
#define S64	S32 S32
/* Labels of 63 joined by dots: 63 * 3 + 3 = 192 octets, ending in a dot. */
#define L3	S63 "." S63 "." S63 "."
#define D253	L3 S32 S16 S8 "ab.de"		/* 192 + 58 + 3 = 253 */
#define D254	L3 S32 S16 S8 "abc.de"
#define D252	L3 S32 S16 S8 "a.de"
#define U8	"üüüüüüüü"			/* 16 octets */
#define U32	U8 U8 U8 U8

/* The edge cases are only edges if the macros are as long as they say. */
_Static_assert(sizeof(S63) - 1 == 63, "S63");
_Static_assert(sizeof(S64) - 1 == LIMIT_ADDR_LOCAL, "S64");
_Static_assert(sizeof(D252) - 1 == 252, "D252");
_Static_assert(sizeof(D253) - 1 == LIMIT_ADDR_DOMAIN, "D253");
_Static_assert(sizeof(D254) - 1 == 254, "D254");
_Static_assert(sizeof(U32) - 1 == LIMIT_ADDR_LOCAL, "U32");

/* --------------------------------------------------------------- valid */

struct valid_case {
	const char *name;
	const char *in;
	const char *local;
	const char *domain;
	const char *address;
	const char *key;
	int utf8;
};

static const struct valid_case valid_cases[] = {
	{ "valid: plain", "user@example.com", "user", "example.com",
	    "user@example.com", "user@example.com", 0 },
	{ "valid: dots in the local part", "first.middle.last@example.com",
	    "first.middle.last", "example.com",
	    "first.middle.last@example.com", "first.middle.last@example.com",
	    0 },
	{ "valid: atext specials", "a!#$%&'*+-/=?^_`{|}~z@example.com",
	    "a!#$%&'*+-/=?^_`{|}~z", "example.com",
	    "a!#$%&'*+-/=?^_`{|}~z@example.com",
	    "a!#$%&'*+-/=?^_`{|}~z@example.com", 0 },
	{ "valid: quoted local part with space", "\"john doe\"@example.com",
	    "\"john doe\"", "example.com", "\"john doe\"@example.com",
	    "\"john doe\"@example.com", 0 },
	{ "valid: quoted local part holding '@' and '..'",
	    "\"a@b..c\"@example.com", "\"a@b..c\"", "example.com",
	    "\"a@b..c\"@example.com", "\"a@b..c\"@example.com", 0 },
	{ "valid: quoted pair", "\"a\\\"b\\\\c\"@example.com",
	    "\"a\\\"b\\\\c\"", "example.com", "\"a\\\"b\\\\c\"@example.com",
	    "\"a\\\"b\\\\c\"@example.com", 0 },
	{ "valid: case kept in address, folded in key", "A@Example.COM", "A",
	    "example.com", "A@example.com", "a@example.com", 0 },
	{ "valid: lower-case twin has the same key", "a@example.com", "a",
	    "example.com", "a@example.com", "a@example.com", 0 },
	{ "valid: local part of 64 octets (limit)", S64 "@example.com", S64,
	    "example.com", S64 "@example.com", S64 "@example.com", 0 },
	{ "valid: UTF-8 local part of 64 octets (limit)", U32 "@example.com",
	    U32, "example.com", U32 "@example.com", U32 "@example.com", 1 },
	{ "valid: label of 63 (limit)", "a@" S63 ".de", "a", S63 ".de",
	    "a@" S63 ".de", "a@" S63 ".de", 0 },
	{ "valid: address of 254 octets (limit)", "a@" D252, "a", D252,
	    "a@" D252, "a@" D252, 0 },
	{ "valid: hyphen inside a label", "a@my-host.example", "a",
	    "my-host.example", "a@my-host.example", "a@my-host.example", 0 },
	{ "valid: IDN jürgen@bücher.de", "jürgen@bücher.de", "jürgen",
	    "xn--bcher-kva.de", "jürgen@xn--bcher-kva.de",
	    "jürgen@xn--bcher-kva.de", 1 },
	{ "valid: IDN upper case", "Jürgen@BÜCHER.DE", "Jürgen",
	    "xn--bcher-kva.de", "Jürgen@xn--bcher-kva.de",
	    "jürgen@xn--bcher-kva.de", 1 },
	{ "valid: A-label given", "x@XN--BCHER-KVA.de", "x",
	    "xn--bcher-kva.de", "x@xn--bcher-kva.de", "x@xn--bcher-kva.de",
	    0 },
};

static void
t_valid(void **state)
{
	const struct valid_case *c = *state;
	struct addr a;
	struct err e = { 0 };

	memset(&a, 0x55, sizeof(a));
	assert_int_equal(addr_parse(c->in, strlen(c->in), &a, &e), 0);
	assert_string_equal(a.local, c->local);
	assert_string_equal(a.domain, c->domain);
	assert_string_equal(a.address, c->address);
	assert_string_equal(a.key, c->key);
	assert_int_equal(a.utf8, c->utf8);
}

/* ------------------------------------------------------------- invalid */

struct invalid_case {
	const char *name;
	const char *in;
	size_t len;		/* 0: strlen(in) */
	const char *why;	/* expected in the message */
};

static const struct invalid_case invalid_cases[] = {
	{ "invalid: empty", "", 0, "empty" },
	{ "invalid: no @", "user.example.com", 0, "no '@'" },
	{ "invalid: empty local part", "@example.com", 0, "local part is "
	    "empty" },
	{ "invalid: empty domain", "user@", 0, "domain is empty" },
	{ "invalid: local part of 65 octets", S64 "a@example.com", 0,
	    "longer than 64" },
	{ "invalid: UTF-8 local part of 66 octets", U32 "ü@example.com", 0,
	    "longer than 64" },
	{ "invalid: leading dot", ".user@example.com", 0, "dot" },
	{ "invalid: trailing dot in local part", "user.@example.com", 0,
	    "dot" },
	{ "invalid: two dots", "us..er@example.com", 0, "two dots" },
	{ "invalid: space unquoted", "us er@example.com", 0, "not allowed" },
	{ "invalid: parenthesis unquoted", "us(er)@example.com", 0,
	    "not allowed" },
	{ "invalid: comma unquoted", "a,b@example.com", 0, "not allowed" },
	{ "invalid: unterminated quote", "\"user@example.com", 0,
	    "unterminated" },
	{ "invalid: quote inside quoted string", "\"a\"b\"@example.com", 0,
	    "not allowed" },
	{ "invalid: text after closing quote", "\"ab\"c@example.com", 0,
	    "unterminated" },
	{ "invalid: backslash ends quoted string", "\"ab\\\"@example.com", 0,
	    "quoted pair" },
	{ "invalid: control character quoted", "\"a\tb\"@example.com", 0,
	    "not allowed" },
	{ "invalid: no dot in domain", "user@localhost", 0, "no dot" },
	{ "invalid: address literal IPv4", "user@[192.0.2.1]", 0,
	    "literal" },
	{ "invalid: address literal IPv6", "user@[IPv6:2001:db8::1]", 0,
	    "literal" },
	{ "invalid: trailing dot in domain", "user@example.com.", 0,
	    "ends with a dot" },
	{ "invalid: empty label", "user@example..com", 0, "label" },
	{ "invalid: leading dot in domain", "user@.example.com", 0, "label" },
	{ "invalid: label of 64", "a@" S64 ".de", 0, "label" },
	{ "invalid: label starts with hyphen", "a@-x.de", 0, "label" },
	{ "invalid: label ends with hyphen", "a@x-.de", 0, "label" },
	{ "invalid: underscore in domain", "a@my_host.de", 0, "label" },
	{ "invalid: address of 255 octets (253-char domain)", "a@" D253, 0,
	    "longer than 254" },
	{ "invalid: domain of 254", "a@" D254, 0, "longer than 253" },
	{ "invalid: NUL byte in local part", "us\0er@example.com", 17,
	    "NUL" },
	{ "invalid: NUL byte in domain", "user@exa\0mple.com", 17, "NUL" },
	{ "invalid: invalid UTF-8 in local part", "j\xfcrgen@example.com", 0,
	    "UTF-8" },
	{ "invalid: overlong UTF-8 in local part", "\xc0\xafx@example.com", 0,
	    "UTF-8" },
	{ "invalid: truncated UTF-8 in local part", "ab\xc3@example.com", 0,
	    "UTF-8" },
	{ "invalid: invalid UTF-8 in domain", "a@b\xfc" "cher.de", 0,
	    "UTF-8" },
	{ "invalid: bad punycode A-label", "a@xn--a.de", 0,
	    "internationalised" },
	{ "invalid: angle brackets", "<a@example.com>", 0, "" },
};

static void
t_invalid(void **state)
{
	const struct invalid_case *c = *state;
	size_t len = c->len ? c->len : strlen(c->in);
	struct addr a;
	struct err e = { 0 };

	assert_int_equal(addr_parse(c->in, len, &a, &e), -1);
	assert_int_equal(e.code, EX_DATAERR);
	if (strstr(e.msg, c->why) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", e.msg, c->why);
}

/* ---------------------------------------------------------- addr_domain */

struct domain_case {
	const char *name;
	const char *in;
	const char *out;	/* NULL: refused */
};

static const struct domain_case domain_cases[] = {
	{ "domain: lower-cased", "Example.COM", "example.com" },
	{ "domain: U-label to A-label", "bücher.de", "xn--bcher-kva.de" },
	{ "domain: A-label kept", "xn--bcher-kva.de", "xn--bcher-kva.de" },
	{ "domain: 253 characters (limit)", D253, D253 },
	{ "domain: 254 characters", D254, NULL },
	{ "domain: label of 63 (limit)", S63 ".de", S63 ".de" },
	{ "domain: label of 64", S64 ".de", NULL },
	{ "domain: no dot", "localhost", NULL },
	{ "domain: trailing dot", "example.com.", NULL },
	{ "domain: address literal", "[192.0.2.1]", NULL },
	{ "domain: empty", "", NULL },
	{ "domain: space", "exa mple.com", NULL },
};

static void
t_domain(void **state)
{
	const struct domain_case *c = *state;
	char out[LIMIT_ADDR_DOMAIN + 1];
	struct err e = { 0 };
	int rc;

	rc = addr_domain(c->in, strlen(c->in), out, sizeof(out), &e);
	if (c->out == NULL) {
		assert_int_equal(rc, -1);
		assert_int_equal(e.code, EX_DATAERR);
		return;
	}
	assert_int_equal(rc, 0);
	assert_string_equal(out, c->out);
}

/* A buffer too small for the A-label is an error, not an overflow. */
static void
t_domain_short_buffer(void **state)
{
	char out[8];
	struct err e = { 0 };

	(void)state;
	assert_int_equal(addr_domain("example.com", 11, out, sizeof(out), &e),
	    -1);
	assert_int_equal(addr_domain("bücher.de", strlen("bücher.de"), out,
	    sizeof(out), &e), -1);
}

/* Two spellings of one mailbox are one recipient; the address keeps the
 * local part as the first spelling wrote it. */
static void
t_identity(void **state)
{
	struct addr a, b;
	struct err e = { 0 };

	(void)state;
	assert_int_equal(addr_parse("A@Example.COM", 13, &a, &e), 0);
	assert_int_equal(addr_parse("a@example.com", 13, &b, &e), 0);
	assert_string_equal(a.key, b.key);
	assert_string_equal(a.address, "A@example.com");
	assert_string_not_equal(a.address, b.address);
}

/* len, not the NUL, ends the input. */
static void
t_length_bounds_input(void **state)
{
	struct addr a;
	struct err e = { 0 };

	(void)state;
	assert_int_equal(addr_parse("a@example.comXYZ", 13, &a, &e), 0);
	assert_string_equal(a.address, "a@example.com");
}

/* ------------------------------------------------------------- mailbox */

struct mailbox_case {
	const char *name;
	const char *in;
	const char *display;	/* NULL: refused */
	const char *address;
};

static const struct mailbox_case mailbox_cases[] = {
	{ "mailbox: Name <addr>", "Name <a@b.de>", "Name", "a@b.de" },
	{ "mailbox: quoted name with comma", "\"Acme, Inc.\" <a@b.de>",
	    "Acme, Inc.", "a@b.de" },
	{ "mailbox: escaped quote in name", "\"Say \\\"Hi\\\"\" <a@b.de>",
	    "Say \"Hi\"", "a@b.de" },
	{ "mailbox: bare address", "a@b.de", "", "a@b.de" },
	{ "mailbox: bare address with blanks", "  a@b.de \t", "", "a@b.de" },
	{ "mailbox: no name", "<a@b.de>", "", "a@b.de" },
	{ "mailbox: UTF-8 name, IDN domain", "Jürgen Groß <j@bücher.de>",
	    "Jürgen Groß", "j@xn--bcher-kva.de" },
	{ "mailbox: blanks after '>'", "N <a@b.de>  ", "N", "a@b.de" },
	{ "mailbox: missing '>'", "Name <a@b.de", NULL, NULL },
	{ "mailbox: text after '>'", "Name <a@b.de> x", NULL, NULL },
	{ "mailbox: newline in name", "Evil\r\nBcc: x <a@b.de>", NULL, NULL },
	{ "mailbox: tab in name", "Na\tme <a@b.de>", NULL, NULL },
	{ "mailbox: DEL in name", "Na\x7fme <a@b.de>", NULL, NULL },
	{ "mailbox: invalid UTF-8 name", "Na\xffme <a@b.de>", NULL, NULL },
	{ "mailbox: bad address", "Name <a@b>", NULL, NULL },
	{ "mailbox: empty", "", NULL, NULL },
};

static void
t_mailbox(void **state)
{
	const struct mailbox_case *c = *state;
	struct mailbox m;
	struct err e = { 0 };
	int rc;

	rc = addr_parse_mailbox(c->in, &m, &e);
	if (c->display == NULL) {
		assert_int_equal(rc, -1);
		assert_int_equal(e.code, EX_DATAERR);
		return;
	}
	assert_int_equal(rc, 0);
	assert_string_equal(m.name, c->display);
	assert_string_equal(m.addr.address, c->address);
}

/* A display name at the limit is kept, one octet more refused. */
static void
t_mailbox_name_limit(void **state)
{
	char in[LIMIT_DISPLAY_NAME + 32];
	struct mailbox m;
	struct err e = { 0 };

	(void)state;
	memset(in, 'n', LIMIT_DISPLAY_NAME);
	snprintf(in + LIMIT_DISPLAY_NAME, 32, " <a@b.de>");
	assert_int_equal(addr_parse_mailbox(in, &m, &e), 0);
	assert_int_equal(strlen(m.name), LIMIT_DISPLAY_NAME);

	memset(in, 'n', LIMIT_DISPLAY_NAME + 1);
	snprintf(in + LIMIT_DISPLAY_NAME + 1, 31, " <a@b.de>");
	assert_int_equal(addr_parse_mailbox(in, &m, &e), -1);
	assert_int_equal(e.code, EX_DATAERR);
}

int
main(void)
{
	struct unit_tests u = { 0 };

	UNIT_TABLE(&u, valid_cases, t_valid);
	UNIT_TABLE(&u, invalid_cases, t_invalid);
	UNIT_TABLE(&u, domain_cases, t_domain);
	unit_add(&u, "domain: output buffer too small", t_domain_short_buffer,
	    NULL);
	unit_add(&u, "identity: A@Example.COM and a@example.com", t_identity,
	    NULL);
	unit_add(&u, "len bounds the input", t_length_bounds_input, NULL);
	UNIT_TABLE(&u, mailbox_cases, t_mailbox);
	unit_add(&u, "mailbox: display name limit", t_mailbox_name_limit,
	    NULL);
	return unit_run(&u, "addr", NULL, NULL);
}
