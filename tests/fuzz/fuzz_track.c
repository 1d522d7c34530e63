/*
 * fuzz_track.c - libFuzzer target: token verification. No input may crash
 * it, and none but a token made with the key may verify; a token that
 * verifies must come back from track_token() as exactly the same text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "track.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct track_mac *mac;
	struct track_key key = { { 1, 2, 3 }, 32 };
	char again[TRACK_TOKEN_MAX];
	enum track_kind kind;
	int64_t campaign, recipient;
	int link;

	if (mac == NULL && (mac = track_mac_new(&key)) == NULL)
		abort();
	if (track_verify(mac, (const char *)data, size, &kind, &campaign,
	    &recipient, &link) != 0)
		return 0;
	track_token(mac, kind, campaign, recipient, link, again);
	if (strlen(again) != size || memcmp(again, data, size) != 0)
		abort();
	return 0;
}
