/*
 * test_hygiene.c - the pure parts of list hygiene: role accounts, typo
 * suggestions (and the real domains that are not typos), the distance
 * they rest on, the identity duplicates collapse on, the disposable list
 * parser and loader, and category names.
 */
#include "unit.h"

#include "hygiene.h"

/* ------------------------------------------------------------------ role */

struct role_case {
	const char *name;
	const char *local;
	int role;
};

static const struct role_case role_cases[] = {
	{ "role: info", "info", 1 },
	{ "role: INFO in capitals", "INFO", 1 },
	{ "role: admin", "admin", 1 },
	{ "role: postmaster", "postmaster", 1 },
	{ "role: noreply", "noreply", 1 },
	{ "role: no-reply", "no-reply", 1 },
	{ "role: no_reply", "no_reply", 1 },
	{ "role: do.not.reply", "do.not.reply", 1 },
	{ "role: mailer-daemon", "mailer-daemon", 1 },
	{ "role: info+tag", "info+newsletter", 1 },
	{ "role: quoted \"info\"", "\"info\"", 1 },
	{ "role: kontakt (German)", "kontakt", 1 },
	{ "role: not jane", "jane", 0 },
	{ "role: not information.desk", "information.desk", 0 },
	{ "role: not infox", "infox", 0 },
	{ "role: not admins-only prefix", "adminjane", 0 },
	{ "role: empty", "", 0 },
	{ "role: over-long local part", "info" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 0 },
};

static void
t_role(void **state)
{
	const struct role_case *c = *state;

	assert_int_equal(hygiene_role(c->local), c->role);
}

/* ------------------------------------------------------------------ typo */

struct typo_case {
	const char *name;
	const char *domain;
	const char *suggest;	/* NULL: not a typo */
};

static const struct typo_case typo_cases[] = {
	{ "typo: gmial.com", "gmial.com", "gmail.com" },
	{ "typo: gmai.com", "gmai.com", "gmail.com" },
	{ "typo: gmaill.com", "gmaill.com", "gmail.com" },
	{ "typo: gamil.com", "gamil.com", "gmail.com" },
	{ "typo: gmail.con", "gmail.con", "gmail.com" },
	{ "typo: gmail.co", "gmail.co", "gmail.com" },
	{ "typo: gmail.cmo", "gmail.cmo", "gmail.com" },
	{ "typo: gmial.con (one and one)", "gmial.con", "gmail.com" },
	{ "typo: googlemial.com", "googlemial.com", "googlemail.com" },
	{ "typo: gogglemail.com (two off)", "goglemial.com",
	    "googlemail.com" },
	{ "typo: hotmial.com", "hotmial.com", "hotmail.com" },
	{ "typo: hotmal.de", "hotmal.de", "hotmail.de" },
	{ "typo: hotmail.dee", "hotmail.dee", "hotmail.de" },
	{ "typo: yaho.com", "yaho.com", "yahoo.com" },
	{ "typo: yahooo.de", "yahooo.de", "yahoo.de" },
	{ "typo: outlok.com", "outlok.com", "outlook.com" },
	{ "typo: icoud.com", "icoud.com", "icloud.com" },
	{ "typo: gmx.dee", "gmx.dee", "gmx.de" },
	{ "typo: gmx.nett", "gmx.nett", "gmx.net" },
	{ "typo: web.dee", "web.dee", "web.de" },
	{ "typo: t-onlne.de", "t-onlne.de", "t-online.de" },
	{ "typo: protonmial.com", "protonmial.com", "protonmail.com" },
	{ "not a typo: gmail.com", "gmail.com", NULL },
	{ "not a typo: googlemail.com", "googlemail.com", NULL },
	{ "not a typo: gmx.net", "gmx.net", NULL },
	{ "not a typo: gmx.de", "gmx.de", NULL },
	{ "not a typo: gmx.at", "gmx.at", NULL },
	{ "not a typo: gmx.com (real)", "gmx.com", NULL },
	{ "not a typo: web.de", "web.de", NULL },
	{ "not a typo: web.com (real)", "web.com", NULL },
	{ "not a typo: hotmail.co.uk (real)", "hotmail.co.uk", NULL },
	{ "not a typo: live.de (real)", "live.de", NULL },
	{ "not a typo: mail.de (real)", "mail.de", NULL },
	{ "not a typo: example.com", "example.com", NULL },
	{ "not a typo: gmx.org (name too short for fuzz)", "gmy.de", NULL },
	{ "not a typo: life.com (live is too short)", "life.com", NULL },
	{ "not a typo: mi.com (me is too short)", "mi.com", NULL },
	{ "not a typo: gmail.de (TLD three off)", "gmail.de", NULL },
	{ "not a typo: gmail.org (TLD three off)", "gmail.org", NULL },
	{ "not a typo: one label", "gmailcom", NULL },
	{ "not a typo: xyz.test", "xyz.test", NULL },
};

static void
t_typo(void **state)
{
	const struct typo_case *c = *state;
	char sug[256] = "";
	int rc;

	rc = hygiene_typo(c->domain, sug, sizeof(sug));
	if (c->suggest == NULL) {
		assert_int_equal(rc, 0);
		return;
	}
	assert_int_equal(rc, 1);
	assert_string_equal(sug, c->suggest);
}

struct dist_case {
	const char *name;
	const char *a, *b;
	int max, want;
};

static const struct dist_case dist_cases[] = {
	{ "distance: equal", "gmail", "gmail", 2, 0 },
	{ "distance: transposition is one", "gmial", "gmail", 2, 1 },
	{ "distance: insertion", "gmaill", "gmail", 2, 1 },
	{ "distance: deletion", "gmai", "gmail", 2, 1 },
	{ "distance: substitution", "gnail", "gmail", 2, 1 },
	{ "distance: two", "gnial", "gmail", 2, 2 },
	{ "distance: capped at max + 1", "yahoo", "gmail", 2, 3 },
	{ "distance: lengths far apart", "a", "abcdef", 2, 3 },
	{ "distance: empty", "", "ab", 2, 2 },
	{ "distance: too long is far", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "a", 100, 101 },
};

static void
t_dist(void **state)
{
	const struct dist_case *c = *state;

	assert_int_equal(hygiene_distance(c->a, c->b, c->max), c->want);
}

/* ------------------------------------------------------------- identity */

struct norm_case {
	const char *name;
	const char *in, *out;
};

static const struct norm_case norm_cases[] = {
	{ "norm: plain", "jane@example.com", "jane@example.com" },
	{ "norm: ASCII case", "Jane@Example.COM", "jane@example.com" },
	{ "norm: IDN to A-label", "jürgen@bücher.de",
	    "jürgen@xn--bcher-kva.de" },
	{ "norm: A-label kept", "x@xn--bcher-kva.de", "x@xn--bcher-kva.de" },
	{ "norm: gmail dots", "j.o.h.n@gmail.com", "john@gmail.com" },
	{ "norm: gmail +tag", "john+news@gmail.com", "john@gmail.com" },
	{ "norm: googlemail is gmail", "J.Ohn+x@GoogleMail.com",
	    "john@gmail.com" },
	{ "norm: dots kept elsewhere", "j.o.h.n@example.com",
	    "j.o.h.n@example.com" },
	{ "norm: +tag kept elsewhere", "john+news@example.com",
	    "john+news@example.com" },
	{ "norm: unparsable folded as it is", "Bad..Dots@Example.com",
	    "bad..dots@example.com" },
};

static void
t_norm(void **state)
{
	const struct norm_case *c = *state;
	char out[512];

	hygiene_norm(c->in, out, sizeof(out));
	assert_string_equal(out, c->out);
}

/* ------------------------------------------------------ disposable list */

static void
t_set_parse(void **state)
{
	static const char text[] =
	    "# a comment\n"
	    "\n"
	    "Mailinator.COM\n"
	    "  yopmail.com   # trailing comment\n"
	    "\t\n"
	    "bücher-wegwerf.de\n"
	    "mailinator.com\n"
	    "last.example";	/* no final newline */
	struct hygiene_set *s;
	struct err e;

	(void)state;
	assert_int_equal(hygiene_set_parse(text, sizeof(text) - 1, "t.txt",
	    &s, &e), 0);
	assert_int_equal(hygiene_set_size(s), 4);
	assert_true(hygiene_set_match(s, "mailinator.com"));
	assert_true(hygiene_set_match(s, "yopmail.com"));
	assert_true(hygiene_set_match(s, "xn--bcher-wegwerf-wob.de"));
	assert_true(hygiene_set_match(s, "last.example"));
	assert_true(hygiene_set_match(s, "a.b.mailinator.com"));
	assert_false(hygiene_set_match(s, "notmailinator.com"));
	assert_false(hygiene_set_match(s, "com"));
	assert_false(hygiene_set_match(s, "example.com"));
	assert_false(hygiene_set_match(NULL, "mailinator.com"));
	hygiene_set_free(s);
}

static void
t_set_bad_line(void **state)
{
	static const char text[] = "ok.example\n\nnot a domain\n";
	struct hygiene_set *s = NULL;
	struct err e;

	(void)state;
	assert_int_equal(hygiene_set_parse(text, sizeof(text) - 1, "t.txt",
	    &s, &e), -1);
	assert_null(s);
	assert_int_equal(e.code, EX_DATAERR);
	assert_non_null(strstr(e.msg, "t.txt:3"));
}

static void
t_set_load(void **state)
{
	char *dir = unit_tmpdir(), path[4096];
	struct hygiene_set *s;
	struct err e;

	(void)state;
	assert_non_null(dir);
	unit_write(dir, "d.txt", "# x\nTrashMail.com\r\n", 19, path,
	    sizeof(path));
	assert_int_equal(hygiene_set_load(path, &s, &e), 0);
	assert_true(hygiene_set_match(s, "trashmail.com"));
	hygiene_set_free(s);
	snprintf(path, sizeof(path), "%s/missing.txt", dir);
	assert_int_equal(hygiene_set_load(path, &s, &e), -1);
	assert_int_equal(e.code, EX_NOINPUT);
	unit_rmtree(dir);
	free(dir);
}

/* The shipped list parses, and holds the well-known ones. */
static void
t_set_shipped(void **state)
{
	const char *paths[] = { "templates/disposable_domains.txt",
	    "../templates/disposable_domains.txt",
	    "../../templates/disposable_domains.txt" };
	struct hygiene_set *s = NULL;
	struct err e;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(paths) && s == NULL; i++)
		if (hygiene_set_load(paths[i], &s, &e) < 0)
			assert_int_equal(e.code, EX_NOINPUT);
	if (s == NULL)
		skip();
	assert_true(hygiene_set_size(s) >= 100);
	assert_true(hygiene_set_match(s, "mailinator.com"));
	assert_true(hygiene_set_match(s, "guerrillamail.com"));
	assert_true(hygiene_set_match(s, "10minutemail.com"));
	assert_true(hygiene_set_match(s, "yopmail.com"));
	assert_false(hygiene_set_match(s, "gmail.com"));
	hygiene_set_free(s);
}

/* ------------------------------------------------------------ categories */

struct cats_case {
	const char *name;
	const char *in;
	int for_apply;
	int rc;
	unsigned mask;
};

static const struct cats_case cats_cases[] = {
	{ "cats: one", "role", 0, 0, HYG_BIT(HYG_ROLE) },
	{ "cats: several", "no_mx,null_mx,typo", 0, 0,
	    HYG_BIT(HYG_NO_MX) | HYG_BIT(HYG_NULL_MX) | HYG_BIT(HYG_TYPO) },
	{ "cats: every name", "invalid_syntax,no_mx,null_mx,dns_failure,role,"
	    "disposable,typo,duplicate,hard_bounced,soft_bounced,complained,"
	    "unsubscribed,inactive", 0, 0, HYG_ALL },
	{ "cats: all", "all", 0, 0, HYG_ALL },
	{ "cats: all for --apply leaves dns_failure and unsubscribed out",
	    "all", 1, 0, HYG_ALL & ~(HYG_BIT(HYG_DNS_FAILURE) |
	    HYG_BIT(HYG_UNSUBSCRIBED)) },
	{ "cats: unsubscribed refused for --apply", "unsubscribed", 1, -1,
	    0 },
	{ "cats: dns_failure reported", "dns_failure", 0, 0,
	    HYG_BIT(HYG_DNS_FAILURE) },
	{ "cats: dns_failure refused for --apply", "dns_failure", 1, -1, 0 },
	{ "cats: dns_failure among others refused", "role,dns_failure", 1, -1,
	    0 },
	{ "cats: unknown", "role,bogus", 0, -1, 0 },
	{ "cats: case matters", "ROLE", 0, -1, 0 },
	{ "cats: empty", "", 0, -1, 0 },
	{ "cats: empty item", "role,,typo", 0, -1, 0 },
	{ "cats: trailing comma", "role,", 0, -1, 0 },
	{ "cats: prefix of a name", "no", 0, -1, 0 },
};

static void
t_cats(void **state)
{
	const struct cats_case *c = *state;
	unsigned mask = 0;
	struct err e;

	assert_int_equal(hygiene_cats_parse(c->in, c->for_apply, &mask, &e),
	    c->rc);
	if (c->rc == 0)
		assert_int_equal(mask, c->mask);
	else
		assert_int_equal(e.code, EX_USAGE);
}

static void
t_cat_names(void **state)
{
	unsigned mask;
	struct err e;
	int c;

	(void)state;
	for (c = 0; c < HYG_NCAT; c++) {
		assert_int_equal(hygiene_cats_parse(hygiene_cat_name(c), 0,
		    &mask, &e), 0);
		assert_int_equal(mask, HYG_BIT(c));
		assert_true(strlen(hygiene_cat_title(c)) > 0);
	}
	assert_string_equal(hygiene_cat_name(HYG_NCAT), "?");
}

int
main(void)
{
	struct unit_tests u = { 0 };

	UNIT_TABLE(&u, role_cases, t_role);
	UNIT_TABLE(&u, typo_cases, t_typo);
	UNIT_TABLE(&u, dist_cases, t_dist);
	UNIT_TABLE(&u, norm_cases, t_norm);
	unit_add(&u, "set: comments, blank lines, case, IDN, parents",
	    t_set_parse, NULL);
	unit_add(&u, "set: a bad line names file:line", t_set_bad_line, NULL);
	unit_add(&u, "set: load a file, CRLF; a missing file", t_set_load,
	    NULL);
	unit_add(&u, "set: the shipped list", t_set_shipped, NULL);
	UNIT_TABLE(&u, cats_cases, t_cats);
	unit_add(&u, "cats: every name round-trips", t_cat_names, NULL);
	return unit_run(&u, "hygiene", NULL, NULL);
}
