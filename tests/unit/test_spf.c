/*
 * test_spf.c - the SPF evaluator (engine/spf.c) against a fake resolver:
 * one zone of records, and a table of (domain, IP) checks with the
 * result, the term that matched, the permerror's cause and the look-up
 * count each must give. Every mechanism and qualifier, CIDR lengths,
 * include and redirect (with a loop of each), macros, the 10-look-up and
 * 2-void limits, two records at one name, DNS failures; then spf_parse()
 * over records that must parse and ones that must not, and the DNS
 * helper dns_reverse_name().
 */
#include "unit.h"

#include "dns.h"
#include "spf.h"

/* ------------------------------------------------------------ the zone */

struct rr {
	enum spf_rr type;
	const char *name;
	const char *value;	/* "TEMP": the look-up fails */
};

static const struct rr zone[] = {
	{ SPF_RR_TXT, "ip4.test", "v=spf1 ip4:192.0.2.0/24 -all" },
	{ SPF_RR_TXT, "ip6.test", "v=spf1 ip6:2001:db8::/32 ~all" },
	{ SPF_RR_TXT, "a.test", "v=spf1 a -all" },
	{ SPF_RR_A, "a.test", "192.0.2.10" },
	{ SPF_RR_TXT, "acidr.test", "v=spf1 a/24 -all" },
	{ SPF_RR_A, "acidr.test", "198.51.100.1" },
	{ SPF_RR_TXT, "aname.test", "v=spf1 a:host.other.test/30//64 -all" },
	{ SPF_RR_A, "host.other.test", "203.0.113.5" },
	{ SPF_RR_AAAA, "host.other.test", "2001:db8:1::1" },
	{ SPF_RR_TXT, "mx.test", "v=spf1 mx -all" },
	{ SPF_RR_MX, "mx.test", "mx1.mx.test" },
	{ SPF_RR_MX, "mx.test", "mx2.mx.test" },
	{ SPF_RR_A, "mx1.mx.test", "192.0.2.19" },
	{ SPF_RR_A, "mx2.mx.test", "192.0.2.20" },
	{ SPF_RR_TXT, "mxcidr.test", "v=spf1 mx:mx.test/28 -all" },
	{ SPF_RR_TXT, "mxmany.test", "v=spf1 mx -all" },
	{ SPF_RR_MX, "mxmany.test", "m1.test" }, { SPF_RR_MX, "mxmany.test",
	    "m2.test" }, { SPF_RR_MX, "mxmany.test", "m3.test" },
	{ SPF_RR_MX, "mxmany.test", "m4.test" }, { SPF_RR_MX, "mxmany.test",
	    "m5.test" }, { SPF_RR_MX, "mxmany.test", "m6.test" },
	{ SPF_RR_MX, "mxmany.test", "m7.test" }, { SPF_RR_MX, "mxmany.test",
	    "m8.test" }, { SPF_RR_MX, "mxmany.test", "m9.test" },
	{ SPF_RR_MX, "mxmany.test", "m10.test" }, { SPF_RR_MX, "mxmany.test",
	    "m11.test" },
	{ SPF_RR_TXT, "include.test", "v=spf1 include:_spf.inc.test -all" },
	{ SPF_RR_TXT, "_spf.inc.test", "v=spf1 ip4:198.51.100.0/24 ?all" },
	{ SPF_RR_TXT, "incnone.test", "v=spf1 include:nospf.test -all" },
	{ SPF_RR_TXT, "nospf.test", "some other text" },
	{ SPF_RR_TXT, "redirect.test", "v=spf1 redirect=ip4.test" },
	{ SPF_RR_TXT, "rednone.test", "v=spf1 redirect=nospf.test" },
	{ SPF_RR_TXT, "redall.test", "v=spf1 -all redirect=ip4.test" },
	{ SPF_RR_TXT, "loop1.test", "v=spf1 include:loop2.test -all" },
	{ SPF_RR_TXT, "loop2.test", "v=spf1 include:LOOP1.test -all" },
	{ SPF_RR_TXT, "self.test", "v=spf1 redirect=self.test" },
	{ SPF_RR_TXT, "ten.test", "v=spf1 a:h1.test a:h2.test a:h3.test "
	    "a:h4.test a:h5.test a:h6.test a:h7.test a:h8.test a:h9.test "
	    "a:h10.test -all" },
	{ SPF_RR_TXT, "eleven.test", "v=spf1 a:h1.test a:h2.test a:h3.test "
	    "a:h4.test a:h5.test a:h6.test a:h7.test a:h8.test a:h9.test "
	    "a:h10.test a:h11.test -all" },
	{ SPF_RR_TXT, "nested.test", "v=spf1 include:n1.test include:n2.test "
	    "ip4:192.0.2.0/24 -all" },
	{ SPF_RR_TXT, "n1.test", "v=spf1 a:h1.test a:h2.test a:h3.test "
	    "a:h4.test -all" },
	{ SPF_RR_TXT, "n2.test", "v=spf1 a:h5.test a:h6.test a:h7.test "
	    "a:h8.test mx:mx.test -all" },
	{ SPF_RR_A, "h1.test", "10.0.0.1" }, { SPF_RR_A, "h2.test",
	    "10.0.0.2" }, { SPF_RR_A, "h3.test", "10.0.0.3" },
	{ SPF_RR_A, "h4.test", "10.0.0.4" }, { SPF_RR_A, "h5.test",
	    "10.0.0.5" }, { SPF_RR_A, "h6.test", "10.0.0.6" },
	{ SPF_RR_A, "h7.test", "10.0.0.7" }, { SPF_RR_A, "h8.test",
	    "10.0.0.8" }, { SPF_RR_A, "h9.test", "10.0.0.9" },
	{ SPF_RR_A, "h10.test", "10.0.0.10" }, { SPF_RR_A, "h11.test",
	    "10.0.0.11" },
	{ SPF_RR_TXT, "voids2.test", "v=spf1 a:v1.test mx:v2.test -all" },
	{ SPF_RR_TXT, "voids3.test", "v=spf1 a:v1.test mx:v2.test "
	    "exists:v3.test -all" },
	{ SPF_RR_TXT, "multi.test", "v=spf1 -all" },
	{ SPF_RR_TXT, "multi.test", "v=spf1 +all" },
	{ SPF_RR_TXT, "other.test", "google-site-verification=abc" },
	{ SPF_RR_TXT, "other.test", "v=spf1 ip4:192.0.2.1 -all" },
	{ SPF_RR_TXT, "other.test", "v=spf10 +all" },
	{ SPF_RR_TXT, "none.test", "hello" },
	{ SPF_RR_TXT, "syntax.test", "v=spf1 foo:bar -all" },
	{ SPF_RR_TXT, "syntaxlate.test", "v=spf1 +all ip4:300.1.1.1" },
	{ SPF_RR_TXT, "quals.test", "v=spf1 ?ip4:192.0.2.1 ~ip4:192.0.2.2 "
	    "-ip4:192.0.2.3 +ip4:192.0.2.4 ip4:192.0.2.5" },
	{ SPF_RR_TXT, "exists.test", "v=spf1 exists:%{i}.wl.test -all" },
	{ SPF_RR_A, "192.0.2.50.wl.test", "127.0.0.2" },
	{ SPF_RR_TXT, "macro.test", "v=spf1 exists:%{ir}.%{v}._spf.%{d} "
	    "-all" },
	{ SPF_RR_A, "51.2.0.192.in-addr._spf.macro.test", "127.0.0.2" },
	{ SPF_RR_TXT, "macro6.test", "v=spf1 exists:%{i}.%{d2} -all" },
	{ SPF_RR_A, "2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.0.0.1.macro6.test", "127.0.0.2" },
	{ SPF_RR_TXT, "macrol.test", "v=spf1 exists:%{l1r-}.u.%{o} -all" },
	{ SPF_RR_A, "jane.u.macrol.test", "127.0.0.2" },
	{ SPF_RR_TXT, "ptr.test", "v=spf1 ptr:good.test -all" },
	{ SPF_RR_PTR, "60.2.0.192.in-addr.arpa", "mail.good.test" },
	{ SPF_RR_PTR, "61.2.0.192.in-addr.arpa", "mail.good.test" },
	{ SPF_RR_A, "mail.good.test", "192.0.2.60" },
	{ SPF_RR_TXT, "ptrstale.test", "v=spf1 ptr include:nospf.test -all" },
	{ SPF_RR_PTR, "62.2.0.192.in-addr.arpa", "mail.ptrstale.test" },
	{ SPF_RR_A, "mail.ptrstale.test", "TEMP" },
	{ SPF_RR_TXT, "temp.test", "v=spf1 a:down.test -all" },
	{ SPF_RR_A, "down.test", "TEMP" },
	{ SPF_RR_TXT, "inctemp.test", "v=spf1 include:down.test -all" },
	{ SPF_RR_TXT, "down.test", "TEMP" },
	{ SPF_RR_TXT, "case.test", "V=SPF1 IP4:192.0.2.1 -ALL" },
	{ SPF_RR_TXT, "unknownmod.test", "v=spf1 foo=bar ip4:192.0.2.1 -all" },
	{ SPF_RR_TXT, "exp.test", "v=spf1 -all exp=explain.%{d}" },
	{ SPF_RR_TXT, "empty.test", "v=spf1" },
	{ SPF_RR_TXT, "incchain.test", "v=spf1 include:include.test -all" },
};

struct fake {
	int calls;
};

static enum spf_dns
fake_lookup(void *ctx, enum spf_rr type, const char *name,
    struct spf_answer *out)
{
	struct fake *f = ctx;
	size_t i;

	f->calls++;
	for (i = 0; i < NELEM(zone); i++) {
		if (zone[i].type != type || strcasecmp(zone[i].name, name) != 0)
			continue;
		if (strcmp(zone[i].value, "TEMP") == 0) {
			snprintf(out->why, sizeof(out->why), "%s: SERVFAIL",
			    name);
			return SPF_DNS_TEMP;
		}
		spf_answer_add(out, zone[i].value);
	}
	return out->n > 0 ? SPF_DNS_OK : SPF_DNS_VOID;
}

/* -------------------------------------------------------------- checks */

struct check_case {
	const char *name;
	const char *domain;
	const char *ip;
	enum spf_result want;
	const char *match;	/* NULL: not checked; "" nothing matched */
	enum spf_problem problem;
	int lookups;		/* -1: not checked */
	const char *why;	/* a part of it; NULL: not checked */
};

static const struct check_case check_cases[] = {
	{ "ip4: inside the /24 passes", "ip4.test", "192.0.2.7", SPF_PASS,
	    "ip4:192.0.2.0/24", SPF_P_NONE, 0, NULL },
	{ "ip4: outside fails on -all", "ip4.test", "198.51.100.1", SPF_FAIL,
	    "-all", SPF_P_NONE, 0, NULL },
	{ "ip6: inside the /32 passes", "ip6.test", "2001:db8::1", SPF_PASS,
	    "ip6:2001:db8::/32", SPF_P_NONE, 0, NULL },
	{ "ip6: outside softfails on ~all", "ip6.test", "2001:db9::1",
	    SPF_SOFTFAIL, "~all", SPF_P_NONE, 0, NULL },
	{ "ip6: an IPv4 address never matches ip6", "ip6.test", "192.0.2.1",
	    SPF_SOFTFAIL, "~all", SPF_P_NONE, 0, NULL },
	{ "a: the domain's address passes", "a.test", "192.0.2.10", SPF_PASS,
	    "a", SPF_P_NONE, 1, NULL },
	{ "a: another address fails", "a.test", "192.0.2.11", SPF_FAIL,
	    "-all", SPF_P_NONE, 1, NULL },
	{ "a/24: the network passes", "acidr.test", "198.51.100.99",
	    SPF_PASS, "a/24", SPF_P_NONE, 1, NULL },
	{ "a:host/30//64: IPv4 within /30", "aname.test", "203.0.113.6",
	    SPF_PASS, "a:host.other.test/30//64", SPF_P_NONE, 1, NULL },
	{ "a:host/30//64: IPv4 outside /30", "aname.test", "203.0.113.9",
	    SPF_FAIL, "-all", SPF_P_NONE, 1, NULL },
	{ "a:host/30//64: IPv6 within /64", "aname.test", "2001:db8:1::ffff",
	    SPF_PASS, "a:host.other.test/30//64", SPF_P_NONE, 1, NULL },
	{ "mx: the second MX host's address", "mx.test", "192.0.2.20",
	    SPF_PASS, "mx", SPF_P_NONE, 1, NULL },
	{ "mx: not an MX host", "mx.test", "192.0.2.21", SPF_FAIL, "-all",
	    SPF_P_NONE, 1, NULL },
	{ "mx:domain/28: the network of an MX host", "mxcidr.test",
	    "192.0.2.30", SPF_PASS, "mx:mx.test/28", SPF_P_NONE, 1, NULL },
	{ "mx: more than 10 MX hosts is permerror", "mxmany.test",
	    "192.0.2.1", SPF_PERMERROR, NULL, SPF_P_LOOKUPS, 1,
	    "11 MX hosts" },
	{ "include: inner pass matches", "include.test", "198.51.100.1",
	    SPF_PASS, "include:_spf.inc.test > ip4:198.51.100.0/24",
	    SPF_P_NONE, 1, NULL },
	{ "include: inner neutral does not match", "include.test",
	    "192.0.2.1", SPF_FAIL, "-all", SPF_P_NONE, 1, NULL },
	{ "include: two levels", "incchain.test", "198.51.100.1", SPF_PASS,
	    "include:include.test > include:_spf.inc.test > "
	    "ip4:198.51.100.0/24", SPF_P_NONE, 2, NULL },
	{ "include: no record there is permerror", "incnone.test",
	    "192.0.2.1", SPF_PERMERROR, NULL, SPF_P_NO_RECORD, 1,
	    "nospf.test has no SPF record" },
	{ "include: a loop is permerror", "loop1.test", "192.0.2.1",
	    SPF_PERMERROR, NULL, SPF_P_LOOP, 2,
	    "include loop: loop1.test -> loop2.test -> LOOP1.test" },
	{ "redirect: the target's pass", "redirect.test", "192.0.2.7",
	    SPF_PASS, "redirect=ip4.test > ip4:192.0.2.0/24", SPF_P_NONE, 1,
	    NULL },
	{ "redirect: the target's fail", "redirect.test", "203.0.113.1",
	    SPF_FAIL, NULL, SPF_P_NONE, 1, NULL },
	{ "redirect: no record there is permerror", "rednone.test",
	    "192.0.2.1", SPF_PERMERROR, NULL, SPF_P_NO_RECORD, 1, NULL },
	{ "redirect: ignored after all", "redall.test", "192.0.2.7",
	    SPF_FAIL, "-all", SPF_P_NONE, 0, NULL },
	{ "redirect: to itself is a loop", "self.test", "192.0.2.1",
	    SPF_PERMERROR, NULL, SPF_P_LOOP, 1, "redirect loop" },
	{ "limit: 10 look-ups are allowed", "ten.test", "192.0.2.1",
	    SPF_FAIL, "-all", SPF_P_NONE, 10, NULL },
	{ "limit: the 11th look-up is permerror", "eleven.test", "192.0.2.1",
	    SPF_PERMERROR, NULL, SPF_P_LOOKUPS, 11, "a:h11.test" },
	{ "limit: the 11th look-up is permerror, the match before counts",
	    "eleven.test", "10.0.0.3", SPF_PASS, "a:h3.test", SPF_P_NONE, 3,
	    NULL },
	{ "limit: look-ups in includes count", "nested.test", "192.0.2.1",
	    SPF_PERMERROR, NULL, SPF_P_LOOKUPS, 11, "mx:mx.test" },
	{ "void: two empty answers are allowed", "voids2.test", "192.0.2.1",
	    SPF_FAIL, "-all", SPF_P_NONE, 2, NULL },
	{ "void: the third is permerror", "voids3.test", "192.0.2.1",
	    SPF_PERMERROR, NULL, SPF_P_VOIDS, 3, "v3.test" },
	{ "two SPF records: permerror", "multi.test", "192.0.2.1",
	    SPF_PERMERROR, NULL, SPF_P_MULTIPLE, 0, "2 SPF records" },
	{ "other TXT records and v=spf10 are not SPF", "other.test",
	    "192.0.2.1", SPF_PASS, "ip4:192.0.2.1", SPF_P_NONE, 0, NULL },
	{ "no SPF record: none", "none.test", "192.0.2.1", SPF_NONE, "",
	    SPF_P_NONE, 0, NULL },
	{ "no such domain: none", "nx.test", "192.0.2.1", SPF_NONE, "",
	    SPF_P_NONE, 0, NULL },
	{ "unknown mechanism: permerror", "syntax.test", "192.0.2.1",
	    SPF_PERMERROR, NULL, SPF_P_SYNTAX, 0, "unknown mechanism" },
	{ "a syntax error after a match is still permerror",
	    "syntaxlate.test", "192.0.2.1", SPF_PERMERROR, NULL, SPF_P_SYNTAX,
	    0, "ip4:300.1.1.1" },
	{ "qualifier ?: neutral", "quals.test", "192.0.2.1", SPF_NEUTRAL,
	    "?ip4:192.0.2.1", SPF_P_NONE, 0, NULL },
	{ "qualifier ~: softfail", "quals.test", "192.0.2.2", SPF_SOFTFAIL,
	    NULL, SPF_P_NONE, 0, NULL },
	{ "qualifier -: fail", "quals.test", "192.0.2.3", SPF_FAIL, NULL,
	    SPF_P_NONE, 0, NULL },
	{ "qualifier +: pass", "quals.test", "192.0.2.4", SPF_PASS, NULL,
	    SPF_P_NONE, 0, NULL },
	{ "no qualifier: pass", "quals.test", "192.0.2.5", SPF_PASS, NULL,
	    SPF_P_NONE, 0, NULL },
	{ "nothing matches, no all: neutral", "quals.test", "192.0.2.6",
	    SPF_NEUTRAL, "", SPF_P_NONE, 0, NULL },
	{ "exists with %{i}: listed", "exists.test", "192.0.2.50", SPF_PASS,
	    "exists:%{i}.wl.test", SPF_P_NONE, 1, NULL },
	{ "exists with %{i}: not listed is one void", "exists.test",
	    "192.0.2.51", SPF_FAIL, "-all", SPF_P_NONE, 1, NULL },
	{ "macros %{ir}, %{v}, %{d}", "macro.test", "192.0.2.51", SPF_PASS,
	    NULL, SPF_P_NONE, 1, NULL },
	{ "macros: IPv6 %{i} nibbles, %{d2}", "macro6.test", "2001:db8::1",
	    SPF_PASS, NULL, SPF_P_NONE, 1, NULL },
	{ "ptr: a validated name within the domain", "ptr.test",
	    "192.0.2.60", SPF_PASS, "ptr:good.test", SPF_P_NONE, 1, NULL },
	{ "ptr: a name that does not resolve back", "ptr.test", "192.0.2.61",
	    SPF_FAIL, "-all", SPF_P_NONE, 1, NULL },
	{ "ptr: a name that fails to resolve is skipped, its error not kept",
	    "ptrstale.test", "192.0.2.62", SPF_PERMERROR, NULL,
	    SPF_P_NO_RECORD, 2, "nospf.test" },
	{ "DNS failure: temperror", "temp.test", "192.0.2.1", SPF_TEMPERROR,
	    NULL, SPF_P_NONE, 1, "SERVFAIL" },
	{ "DNS failure in an include's TXT: temperror", "inctemp.test",
	    "192.0.2.1", SPF_TEMPERROR, NULL, SPF_P_NONE, 1, "down.test" },
	{ "names and mechanisms in any case", "case.test", "192.0.2.1",
	    SPF_PASS, "IP4:192.0.2.1", SPF_P_NONE, 0, NULL },
	{ "unknown modifiers are ignored", "unknownmod.test", "192.0.2.1",
	    SPF_PASS, NULL, SPF_P_NONE, 0, NULL },
	{ "an empty record: neutral", "empty.test", "192.0.2.1", SPF_NEUTRAL,
	    "", SPF_P_NONE, 0, NULL },
	{ "not an IP address: permerror", "ip4.test", "192.0.2", SPF_PERMERROR,
	    NULL, SPF_P_NONE, 0, "not an IP address" },
};

static void
t_check(void **state)
{
	const struct check_case *c = *state;
	struct fake f = { 0 };
	struct spf_resolver r = { fake_lookup, &f };
	struct spf_eval ev;

	spf_check(&r, c->domain, c->ip, NULL, &ev);
	if (ev.result != c->want)
		fail_msg("%s: got %s (%s), wanted %s", c->name,
		    spf_result_name(ev.result), ev.why,
		    spf_result_name(c->want));
	if (c->match != NULL)
		assert_string_equal(ev.match, c->match);
	assert_int_equal(ev.problem, c->problem);
	if (c->lookups >= 0)
		assert_int_equal(ev.lookups, c->lookups);
	if (c->why != NULL && strstr(ev.why, c->why) == NULL)
		fail_msg("why \"%s\" lacks \"%s\"", ev.why, c->why);
}

/* %{l1r-}: the local part split on '-', reversed, the last one kept. */
static void
t_macro_sender(void **state)
{
	struct fake f = { 0 };
	struct spf_resolver r = { fake_lookup, &f };
	struct spf_eval ev;

	(void)state;
	assert_int_equal(spf_check(&r, "macrol.test", "192.0.2.1",
	    "bounce-jane@macrol.test", &ev), SPF_FAIL);
	assert_int_equal(spf_check(&r, "macrol.test", "192.0.2.1",
	    "jane-bounce@macrol.test", &ev), SPF_PASS);
}

static void
t_warnings(void **state)
{
	struct fake f = { 0 };
	struct spf_resolver r = { fake_lookup, &f };
	struct spf_eval ev;

	(void)state;
	spf_check(&r, "ptr.test", "192.0.2.60", NULL, &ev);
	assert_true(ev.warn & SPF_WARN_PTR);
	spf_check(&r, "exp.test", "192.0.2.60", NULL, &ev);
	assert_true(ev.warn & SPF_WARN_EXP);
	assert_int_equal(ev.result, SPF_FAIL);
	assert_string_equal(ev.record, "v=spf1 -all exp=explain.%{d}");
}

/* -------------------------------------------------------------- parsing */

struct parse_case {
	const char *name;
	const char *record;
	const char *why;	/* NULL: parses */
};

static const struct parse_case parse_cases[] = {
	{ "parse: the common record", "v=spf1 mx a:mail.example.com "
	    "ip4:192.0.2.0/24 ip6:2001:db8::/48 include:_spf.google.com ~all",
	    NULL },
	{ "parse: version alone", "v=spf1", NULL },
	{ "parse: many spaces between terms", "v=spf1   a    -all  ", NULL },
	{ "parse: dual CIDR on a and mx", "v=spf1 a/24//64 mx:x.test//48 "
	    "a:y.test/0", NULL },
	{ "parse: trailing dot in a domain", "v=spf1 include:x.test. -all",
	    NULL },
	{ "parse: macros", "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} "
	    "redirect=%{d}.x.test", NULL },
	{ "parse: %% %_ %- literals", "v=spf1 exists:a%%b%_c%-d.x.test",
	    NULL },
	{ "parse: unknown modifier", "v=spf1 foo.bar-x=anything -all", NULL },
	{ "parse: not SPF", "v=spf10 -all", "v=spf1" },
	{ "parse: unknown mechanism", "v=spf1 +foo -all", "unknown mechanism" },
	{ "parse: ip4 without an address", "v=spf1 ip4 -all", "IPv4" },
	{ "parse: ip4 bad address", "v=spf1 ip4:1.2.3 -all", "IPv4" },
	{ "parse: ip4 CIDR over 32", "v=spf1 ip4:1.2.3.4/33", "IPv4" },
	{ "parse: ip4 CIDR leading zero", "v=spf1 ip4:1.2.3.0/024", "IPv4" },
	{ "parse: ip6 bad address", "v=spf1 ip6:2001:db8:::1", "IPv6" },
	{ "parse: ip6 CIDR over 128", "v=spf1 ip6:2001:db8::/129", "IPv6" },
	{ "parse: a CIDR over 32", "v=spf1 a/33", "CIDR" },
	{ "parse: a IPv6 CIDR over 128", "v=spf1 a//129", "CIDR" },
	{ "parse: include without a domain", "v=spf1 include -all",
	    "needs a domain" },
	{ "parse: include with an empty domain", "v=spf1 include: -all",
	    "domain spec" },
	{ "parse: exists without a domain", "v=spf1 exists", "needs a domain" },
	{ "parse: all with an argument", "v=spf1 all:x.test", "unexpected" },
	{ "parse: domain without a top label", "v=spf1 a:example -all",
	    "domain spec" },
	{ "parse: numeric top label", "v=spf1 a:192.0.2.1 -all",
	    "domain spec" },
	{ "parse: bad macro letter", "v=spf1 exists:%{x}.x.test", "domain" },
	{ "parse: unclosed macro", "v=spf1 exists:%{i.x.test", "domain" },
	{ "parse: a lone %", "v=spf1 exists:100%.x.test", "domain" },
	{ "parse: two redirects", "v=spf1 redirect=a.test redirect=b.test",
	    "twice" },
	{ "parse: two exp", "v=spf1 exp=a.test exp=b.test", "twice" },
	{ "parse: redirect without a domain", "v=spf1 redirect=", "bad value" },
	{ "parse: bad modifier name", "v=spf1 1x=y", "modifier" },
	{ "parse: control character", "v=spf1 a:x\001.test", "domain" },
	{ "parse: double qualifier", "v=spf1 +-all", "unknown mechanism" },
};

static void
t_parse(void **state)
{
	const struct parse_case *c = *state;
	struct spf_record *rec = malloc(sizeof(*rec));
	char why[256] = "";
	int rc;

	assert_non_null(rec);
	rc = spf_parse(c->record, rec, why, sizeof(why));
	free(rec);
	if (c->why == NULL && rc != 0)
		fail_msg("refused: %s", why);
	if (c->why != NULL && rc == 0)
		fail_msg("accepted, wanted an error with \"%s\"", c->why);
	if (c->why != NULL && strstr(why, c->why) == NULL)
		fail_msg("why \"%s\" lacks \"%s\"", why, c->why);
}

/* Every term kept, with its qualifier and CIDRs. */
static void
t_parse_terms(void **state)
{
	struct spf_record *rec = malloc(sizeof(*rec));
	char why[256];

	(void)state;
	assert_non_null(rec);
	assert_int_equal(spf_parse("v=spf1 ~a:x.test/24//64 -ip4:10.0.0.0/8 "
	    "?mx redirect=r.test", rec, why, sizeof(why)), 0);
	assert_int_equal(rec->nterms, 3);
	assert_int_equal(rec->terms[0].mech, SPF_A);
	assert_int_equal(rec->terms[0].qual, '~');
	assert_string_equal(rec->terms[0].spec, "x.test");
	assert_int_equal(rec->terms[0].cidr4, 24);
	assert_int_equal(rec->terms[0].cidr6, 64);
	assert_string_equal(rec->terms[0].text, "~a:x.test/24//64");
	assert_int_equal(rec->terms[1].mech, SPF_IP4);
	assert_int_equal(rec->terms[1].cidr4, 8);
	assert_int_equal(rec->terms[2].mech, SPF_MX);
	assert_null(rec->terms[2].spec);
	assert_string_equal(rec->redirect, "r.test");
	free(rec);
}

static void
t_parse_limits(void **state)
{
	struct spf_record *rec = malloc(sizeof(*rec));
	char text[SPF_RECORD_MAX + 64], why[256];
	size_t k;
	int i;

	(void)state;
	assert_non_null(rec);
	k = (size_t)snprintf(text, sizeof(text), "v=spf1");
	for (i = 0; i <= SPF_TERMS_MAX; i++)
		k += (size_t)snprintf(text + k, sizeof(text) - k, " a");
	assert_int_equal(spf_parse(text, rec, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "terms"));
	memset(text, 'a', sizeof(text) - 1);
	memcpy(text, "v=spf1 ", 7);
	text[SPF_RECORD_MAX + 1] = '\0';
	assert_int_equal(spf_parse(text, rec, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "longer"));
	free(rec);
}

static void
t_reverse_name(void **state)
{
	char out[128];

	(void)state;
	assert_int_equal(dns_reverse_name("192.0.2.25", out, sizeof(out)), 0);
	assert_string_equal(out, "25.2.0.192.in-addr.arpa");
	assert_int_equal(dns_reverse_name("2001:db8::1", out, sizeof(out)), 0);
	assert_string_equal(out, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
	assert_int_equal(dns_reverse_name("mail.test", out, sizeof(out)), -1);
	assert_int_equal(dns_reverse_name("192.0.2.25", out, 8), -1);
}

int
main(void)
{
	struct unit_tests u = { 0 };

	UNIT_TABLE(&u, check_cases, t_check);
	unit_add(&u, "macros: the sender's local part", t_macro_sender, NULL);
	unit_add(&u, "warnings: ptr and exp", t_warnings, NULL);
	UNIT_TABLE(&u, parse_cases, t_parse);
	unit_add(&u, "parse: terms, qualifiers, CIDRs, redirect",
	    t_parse_terms, NULL);
	unit_add(&u, "parse: too many terms, too long", t_parse_limits, NULL);
	unit_add(&u, "dns_reverse_name: IPv4, IPv6, neither",
	    t_reverse_name, NULL);
	return unit_run(&u, "spf", NULL, NULL);
}
