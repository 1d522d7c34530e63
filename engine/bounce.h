/*
 * bounce.h - what kind of failure a bounce reports.
 *
 * The RFC 3463 enhanced status code decides when it is specific
 * (5.1.1 unknown user, 5.1.10 null MX, 4.2.2/5.2.2 mailbox full, 5.7.x
 * policy); a code that says little (X.0.0, none at all) leaves it to a
 * table of reply-text patterns that real MTAs use ("user unknown",
 * "mailbox full", "blocked"...), documented in README.md. What neither
 * recognises is BOUNCE_UNKNOWN, kept for a person: never guessed into a
 * hard bounce. Pure; safe from any thread.
 */
#ifndef POSTBOTE_BOUNCE_H
#define POSTBOTE_BOUNCE_H

#include <stddef.h>

enum bounce_class {
	BOUNCE_UNKNOWN,
	BOUNCE_HARD,		/* the address does not exist: suppress */
	BOUNCE_SOFT,		/* mailbox full, temporary: count */
	BOUNCE_POLICY		/* spam or policy block: about us, not it */
};

/* "hard", "soft", "policy" or "unknown". */
const char *bounce_class_name(enum bounce_class c);

/*
 * status: "5.1.1" (or NULL); text: the diagnostic or reply text (or
 * NULL). A 4.x.x status alone is soft.
 */
enum bounce_class bounce_classify(const char *status, const char *text);

/*
 * Finds an enhanced status code ("5.1.1") in free text, as non-standard
 * bounces write them; copies it to out (at least 16 bytes). 0 found, -1
 * none.
 */
int bounce_find_status(const char *text, char *out, size_t n);

#endif
