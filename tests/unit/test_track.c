/*
 * test_track.c - signed tokens: what one names comes back; nothing else
 * verifies (another key, a changed character, a trailing character, a
 * truncation, bad alphabet or length).
 */
#include "unit.h"

#include "track.h"

static struct track_key key_a = { { 0xa1, 0xb2, 0xc3 }, 32 };
static struct track_key key_b = { { 0xa1, 0xb2, 0xc4 }, 32 };

struct rt_case {
	const char *name;
	enum track_kind kind;
	int64_t campaign;
	int64_t recipient;
	int link;
};

static const struct rt_case rt_cases[] = {
	{ "round trip: click", TRACK_CLICK, 1, 1, 0 },
	{ "round trip: open", TRACK_OPEN, 7, 123456, 0 },
	{ "round trip: unsubscribe", TRACK_UNSUBSCRIBE, 99, 5, 0 },
	{ "round trip: bounce", TRACK_BOUNCE, 3, 4000000, 0 },
	{ "round trip: message", TRACK_MESSAGE, 0, 0, 0 },
	{ "round trip: link 1000", TRACK_CLICK, 2, 3, 1000 },
	{ "round trip: huge ids", TRACK_CLICK, INT64_MAX, INT64_MAX, 999999 },
};

static void
t_round_trip(void **state)
{
	const struct rt_case *c = *state;
	struct track_mac *m = track_mac_new(&key_a), *other;
	char tok[TRACK_TOKEN_MAX];
	enum track_kind kind;
	int64_t campaign, recipient;
	int link;
	size_t i;

	track_token(m, c->kind, c->campaign, c->recipient, c->link, tok);
	assert_true(strlen(tok) < TRACK_TOKEN_MAX);
	for (i = 0; tok[i] != '\0'; i++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
		    "opqrstuvwxyz0123456789-_", tok[i]));
	assert_int_equal(track_verify(m, tok, strlen(tok), &kind, &campaign,
	    &recipient, &link), 0);
	assert_int_equal(kind, c->kind);
	assert_int_equal(campaign, c->campaign);
	assert_int_equal(recipient, c->recipient);
	assert_int_equal(link, c->link);
	other = track_mac_new(&key_b);
	assert_int_equal(track_verify(other, tok, strlen(tok), &kind,
	    &campaign, &recipient, &link), -1);
	track_mac_free(other);
	track_mac_free(m);
}

/* Every single-character change, a trailing character, a cut. */
static void
t_tamper(void **state)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
	    "klmnopqrstuvwxyz0123456789-_";
	struct track_mac *m = track_mac_new(&key_a);
	char tok[TRACK_TOKEN_MAX], t[TRACK_TOKEN_MAX + 2];
	enum track_kind kind;
	int64_t c, r;
	int l;
	size_t i, n, a;

	(void)state;
	track_token(m, TRACK_CLICK, 42, 4242, 7, tok);
	n = strlen(tok);
	for (i = 0; i < n; i++)
		for (a = 0; a < sizeof(alphabet) - 1; a++) {
			if (alphabet[a] == tok[i])
				continue;
			memcpy(t, tok, n + 1);
			t[i] = alphabet[a];
			assert_int_equal(track_verify(m, t, n, &kind, &c, &r,
			    &l), -1);
		}
	for (a = 0; a < sizeof(alphabet) - 1; a++) {
		memcpy(t, tok, n);
		t[n] = alphabet[a];
		t[n + 1] = '\0';
		assert_int_equal(track_verify(m, t, n + 1, &kind, &c, &r, &l),
		    -1);
	}
	for (i = 0; i < n; i++)
		assert_int_equal(track_verify(m, tok, i, &kind, &c, &r, &l), -1);
	track_mac_free(m);
}

static void
t_garbage(void **state)
{
	static const char *bad[] = { "", "a", "YWJjZA==", "not a token at all",
	    "////////////////////////", "Ywf+xAcD3mlb0qDmULa5bqLR",
	    "YwfAxAcD3mlb0qDmULa5bqLR\n", "%00%00%00%00%00%00%00%00" };
	struct track_mac *m = track_mac_new(&key_a);
	enum track_kind kind;
	int64_t c, r;
	int l;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(bad); i++)
		assert_int_equal(track_verify(m, bad[i], strlen(bad[i]), &kind,
		    &c, &r, &l), -1);
	track_mac_free(m);
}

static void
t_key_hex(void **state)
{
	struct track_key k;
	struct err e;

	(void)state;
	assert_int_equal(track_key_from_hex("00112233445566778899aabbccddeeff",
	    &k, &e), 0);
	assert_int_equal(k.len, 16);
	assert_int_equal(k.key[15], 0xff);
	assert_int_equal(track_key_from_hex("0011", &k, &e), -1);
	assert_int_equal(e.code, EX_CONFIG);
	assert_int_equal(track_key_from_hex("zz112233445566778899aabbccddeeff",
	    &k, &e), -1);
	assert_int_equal(track_key_from_hex("00112233445566778899aabbccddeef",
	    &k, &e), -1);
}

int
main(void)
{
	struct unit_tests u = { 0 };

	UNIT_TABLE(&u, rt_cases, t_round_trip);
	unit_add(&u, "tamper: any change, a trailing character, a cut fails",
	    t_tamper, NULL);
	unit_add(&u, "garbage never verifies", t_garbage, NULL);
	unit_add(&u, "key from hex", t_key_hex, NULL);
	return unit_run(&u, "track", NULL, NULL);
}
