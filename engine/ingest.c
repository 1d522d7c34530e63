/*
 * ingest.c - tying inbound mail to deliveries and recording it; see
 * ingest.h.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "bounce.h"
#include "config.h"
#include "inbound.h"
#include "ingest.h"
#include "store.h"
#include "track.h"
#include "xalloc.h"

struct ingest {
	struct store *st;
	const struct config *cfg;
	struct track_mac *mac;
	struct inbound in;	/* large: kept here, not on the stack */
};

/* How a message was tied to its delivery. */
enum tie {
	TIE_NONE,
	TIE_RETURN_PATH,	/* our VERP address, as sent or returned */
	TIE_MESSAGE_ID,		/* our Message-ID in a returned original */
	TIE_REFERENCE		/* our Message-ID in a reply's references */
};

struct tied {
	enum tie how;
	int forged;		/* some token did not verify */
	int64_t campaign_id;
	int64_t recipient_id;
};

static const char *const what_name[INGEST_NWHAT] = {
	[INGEST_BOUNCE] = "bounce",
	[INGEST_DELAYED] = "delayed",
	[INGEST_COMPLAINT] = "complaint",
	[INGEST_UNSUBSCRIBE] = "unsubscribe",
	[INGEST_REPLY] = "reply",
	[INGEST_AUTO_REPLY] = "auto-reply",
	[INGEST_SUCCESS] = "success",
	[INGEST_DUPLICATE] = "duplicate",
	[INGEST_REVIEW] = "review",
	[INGEST_UNMATCHED] = "unmatched",
	[INGEST_FORGED] = "forged",
	[INGEST_REJECTED] = "rejected",
};

/*
 * Subjects and senders of bounces that carry no delivery-status part
 * (Exim's "Mail delivery failed", qmail's "failure notice", Exchange's
 * "Undeliverable:", German "Unzustellbar"). Lower case substrings.
 */
static const char *const bounce_subjects[] = {
	"undeliver", "delivery status notification", "mail delivery failed",
	"failure notice", "returned mail", "delivery failure",
	"non-delivery", "delivery has failed", "could not be delivered",
	"unzustellbar", "nicht zustellbar", "fehlgeschlagen", NULL
};
static const char *const bounce_senders[] = {
	"mailer-daemon", "postmaster", "mail-daemon", "mdaemon", NULL
};

const char *
ingest_what_name(enum ingest_what w)
{
	return (unsigned)w < INGEST_NWHAT ? what_name[w] : "?";
}

int
ingest_open(struct store *st, const struct config *cfg, struct ingest **out,
    struct err *e)
{
	struct track_key key;
	struct ingest *ig;

	*out = NULL;
	if (track_key_load(st, 0, &key, e) < 0)
		return -1;
	inbound_init();
	ig = xcalloc(1, sizeof(*ig));
	ig->st = st;
	ig->cfg = cfg;
	if ((ig->mac = track_mac_new(&key)) == NULL) {
		free(ig);
		return err_set(e, EX_SOFTWARE, "OpenSSL has no HMAC-SHA256");
	}
	*out = ig;
	return 0;
}

void
ingest_close(struct ingest *ig)
{
	if (ig == NULL)
		return;
	track_mac_free(ig->mac);
	inbound_free(&ig->in);
	free(ig);
}

/*
 * "bounces+TOKEN@domain": 1 with the token's span when addr has that
 * shape (the domain the return path domain, when one is configured).
 */
static int
token_shape(const struct ingest *ig, const char *addr, const char *prefix,
    const char **tok, size_t *len)
{
	size_t n = strlen(prefix);
	const char *at = strrchr(addr, '@');
	const char *dom = ig->cfg->return_path_domain;

	if (at == NULL || strncasecmp(addr, prefix, n) != 0 ||
	    at <= addr + n)
		return 0;
	if (dom != NULL && strcasecmp(at + 1, dom) != 0)
		return 0;
	*tok = addr + n;
	*len = (size_t)(at - *tok);
	return 1;
}

/* 1: verified as kind; 0: no token of that shape; -1: forged. */
static int
token_check(struct ingest *ig, const char *tok, size_t len,
    enum track_kind want, int64_t *campaign, int64_t *recipient)
{
	enum track_kind kind;
	int link;

	if (track_verify(ig->mac, tok, len, &kind, campaign, recipient,
	    &link) < 0 || kind != want)
		return -1;
	return 1;
}

static int
tie_address(struct ingest *ig, const char *addr, const char *prefix,
    enum track_kind kind, struct tied *t)
{
	const char *tok;
	size_t len;

	if (addr == NULL || addr[0] == '\0' ||
	    !token_shape(ig, addr, prefix, &tok, &len))
		return 0;
	if (token_check(ig, tok, len, kind, &t->campaign_id,
	    &t->recipient_id) < 0) {
		t->forged = 1;
		return 0;
	}
	return 1;
}

/* Our Message-IDs are TOKEN@from-domain, the token of kind 'm'. */
static int
tie_message_id(struct ingest *ig, const char *id, struct tied *t)
{
	const char *at = strchr(id, '@');

	if (at == NULL || at == id)
		return 0;
	return token_check(ig, id, (size_t)(at - id), TRACK_MESSAGE,
	    &t->campaign_id, &t->recipient_id) > 0;
}

/* Where the message was sent, most trusted first. */
static int
tie_envelope(struct ingest *ig, const char *envelope, const char *prefix,
    enum track_kind kind, struct tied *t)
{
	const struct inbound *in = &ig->in;
	size_t i;

	if (tie_address(ig, envelope, prefix, kind, t))
		return 1;
	for (i = 0; i < in->nto; i++)
		if (tie_address(ig, in->to[i], prefix, kind, t))
			return 1;
	return 0;
}

static void
tie(struct ingest *ig, const char *envelope, struct tied *t)
{
	const struct inbound *in = &ig->in;
	size_t i;

	if (tie_envelope(ig, envelope, "bounces+", TRACK_BOUNCE, t) ||
	    tie_address(ig, in->orig_return_path, "bounces+", TRACK_BOUNCE,
	    t)) {
		t->how = TIE_RETURN_PATH;
		return;
	}
	/* A return path or unsubscribe address that does not verify ends
	   it: a Message-ID is no secret (it travels in every reply's
	   References), so it may not stand in for a forged token. */
	if (t->forged)
		return;
	if (in->orig_message_id[0] && tie_message_id(ig, in->orig_message_id,
	    t)) {
		t->how = TIE_MESSAGE_ID;
		return;
	}
	if (in->type != INBOUND_OTHER)
		return;
	for (i = 0; i < in->nrefs; i++)
		if (tie_message_id(ig, in->refs[i], t)) {
			t->how = TIE_REFERENCE;
			return;
		}
}

/*
 * The DSN block about our recipient: the one naming its address, else
 * the only one, else the first that failed.
 */
static int
rcpt_is(const struct inbound_rcpt *r, const char *address)
{
	return strcasecmp(r->final_rcpt, address) == 0 ||
	    strcasecmp(r->original_rcpt, address) == 0;
}

static const struct inbound_rcpt *
dsn_block(const struct inbound *in, const char *address)
{
	size_t i;

	for (i = 0; i < in->nrcpt; i++)
		if (rcpt_is(&in->rcpt[i], address))
			return &in->rcpt[i];
	if (in->nrcpt == 1)
		return &in->rcpt[0];
	for (i = 0; i < in->nrcpt; i++)
		if (strcmp(in->rcpt[i].action, "failed") == 0)
			return &in->rcpt[i];
	return NULL;
}

/*
 * Tied only by a Message-ID, a report must name the delivery's address
 * as a recipient: a DSN in a per-recipient block, an ARF report in
 * Original-Rcpt-To. Nothing the sender of the report writes elsewhere
 * (the To of an attached original, the text) counts: a forwarded copy of
 * our message bouncing elsewhere is not our recipient's bounce.
 */
static int
names_recipient(const struct inbound *in, const char *address)
{
	size_t i;

	if (in->type == INBOUND_ARF)
		return strcasecmp(in->arf_original_rcpt, address) == 0;
	for (i = 0; in->type == INBOUND_DSN && i < in->nrcpt; i++)
		if (rcpt_is(&in->rcpt[i], address))
			return 1;
	return 0;
}

static int
contains_any(const char *s, const char *const *words)
{
	size_t i;

	for (i = 0; words[i] != NULL; i++)
		if (strcasestr(s, words[i]) != NULL)
			return 1;
	return 0;
}

static int
looks_like_bounce(const struct inbound *in)
{
	char local[LIMIT_ADDR + 1];
	const char *at = strchr(in->from, '@');
	size_t n = at != NULL ? (size_t)(at - in->from) : strlen(in->from);

	snprintf(local, sizeof(local), "%.*s", (int)n, in->from);
	return contains_any(in->subject, bounce_subjects) ||
	    contains_any(local, bounce_senders);
}

/* The key that makes a second ingest of the same message a no-op. */
static void
message_key(const struct inbound *in, const char *data, size_t len,
    char *out, size_t n)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	size_t o = 0;

	if (in->message_id[0]) {
		snprintf(out, n, "%s", in->message_id);
		return;
	}
	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	o = (size_t)snprintf(out, n, "sha256:");
	for (i = 0; i < 16 && i < mdlen && o + 3 <= n; i++, o += 2)
		snprintf(out + o, n - o, "%02x", md[i]);
}

static char *
detail_json(const struct inbound *in, const char *source)
{
	json_t *d = json_pack("{s:s}", "source", source);
	char *text;

	if (in->reporting_mta[0])
		json_object_set_new(d, "reporting_mta",
		    json_string(in->reporting_mta));
	if (in->feedback_type[0])
		json_object_set_new(d, "feedback_type",
		    json_string(in->feedback_type));
	if (in->from[0])
		json_object_set_new(d, "from", json_string(in->from));
	/* A field GMime left as invalid UTF-8 drops out rather than the
	   whole detail. */
	text = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	return text;
}

/* Records f and fills the outcome from the store's answer. */
static int
record(struct ingest *ig, struct feedback *f, enum ingest_what what,
    const char *source, struct ingest_outcome *out, struct err *e)
{
	struct feedback_result res;
	char *detail = detail_json(&ig->in, source);
	int rc;

	f->detail = detail;
	rc = store_feedback(ig->st, &ig->cfg->feedback, f, &res, e);
	free(detail);
	if (rc < 0) {
		if (e->code != EX_NOINPUT)
			return -1;
		out->what = INGEST_UNMATCHED;
		snprintf(out->reason, sizeof(out->reason), "%s", e->msg);
		return 0;
	}
	out->what = res.recorded ? what : INGEST_DUPLICATE;
	out->suppressed = res.suppressed;
	out->paused = res.paused;
	snprintf(out->warning, sizeof(out->warning), "%s", res.warning);
	return 0;
}

static int
review(struct ingest *ig, const char *data, size_t len,
    struct ingest_outcome *out, struct err *e)
{
	out->what = INGEST_REVIEW;
	return store_inbound_review(ig->st, out->campaign_id,
	    out->recipient_id, out->reason, data, len, e);
}

static int
bounce(struct ingest *ig, struct feedback *f, const char *status,
    const char *diag, const char *source, const char *data, size_t len,
    struct ingest_outcome *out, struct err *e)
{
	const struct inbound *in = &ig->in;
	enum bounce_class c = bounce_classify(status, diag);
	char found[16];

	if (c == BOUNCE_UNKNOWN && in->text != NULL) {
		if ((status == NULL || status[0] == '\0') &&
		    bounce_find_status(in->text, found, sizeof(found)) == 0)
			status = found;
		c = bounce_classify(status, in->text);
	}
	snprintf(out->status, sizeof(out->status), "%s", status ? status :
	    "");
	if (c == BOUNCE_UNKNOWN) {
		snprintf(out->reason, sizeof(out->reason), "a bounce neither "
		    "its status code nor the pattern table classifies");
		return review(ig, data, len, out, e);
	}
	snprintf(out->bounce_class, sizeof(out->bounce_class), "%s",
	    bounce_class_name(c));
	f->kind = FEEDBACK_BOUNCE;
	f->bounce_class = out->bounce_class;
	f->dsn = out->status[0] ? out->status : NULL;
	f->text = diag != NULL && diag[0] ? diag : NULL;
	snprintf(out->reason, sizeof(out->reason), "%s", f->text != NULL ?
	    f->text : "classified from its text");
	return record(ig, f, INGEST_BOUNCE, source, out, e);
}

static int
classify_dsn(struct ingest *ig, struct feedback *f, const char *data,
    size_t len, struct ingest_outcome *out, struct err *e)
{
	const struct inbound_rcpt *b = dsn_block(&ig->in, out->address);

	if (b == NULL) {
		snprintf(out->reason, sizeof(out->reason), "a DSN without a "
		    "block for %s", out->address);
		return review(ig, data, len, out, e);
	}
	if (strcmp(b->action, "failed") == 0)
		return bounce(ig, f, b->status, b->diagnostic, "dsn", data,
		    len, out, e);
	snprintf(out->status, sizeof(out->status), "%s", b->status);
	snprintf(out->reason, sizeof(out->reason), "%s", b->diagnostic);
	if (strcmp(b->action, "delayed") == 0) {
		f->kind = FEEDBACK_DELAYED;
		f->dsn = b->status[0] ? b->status : NULL;
		f->text = b->diagnostic[0] ? b->diagnostic : NULL;
		return record(ig, f, INGEST_DELAYED, "dsn", out, e);
	}
	out->what = INGEST_SUCCESS;
	snprintf(out->reason, sizeof(out->reason), "a DSN with action %s",
	    b->action[0] ? b->action : "(none)");
	return 0;
}

static int
classify(struct ingest *ig, enum tie how, const char *data, size_t len,
    struct ingest_outcome *out, struct err *e)
{
	const struct inbound *in = &ig->in;
	struct feedback f;
	char key[INBOUND_ID];

	memset(&f, 0, sizeof(f));
	f.campaign_id = out->campaign_id;
	f.recipient_id = out->recipient_id;
	message_key(in, data, len, key, sizeof(key));
	f.key = key;
	switch (in->type) {
	case INBOUND_DSN:
		return classify_dsn(ig, &f, data, len, out, e);
	case INBOUND_ARF:
		if (strcasecmp(in->feedback_type, "not-spam") == 0) {
			out->what = INGEST_SUCCESS;
			snprintf(out->reason, sizeof(out->reason), "a "
			    "not-spam report");
			return 0;
		}
		f.kind = FEEDBACK_COMPLAINT;
		snprintf(out->reason, sizeof(out->reason), "feedback type "
		    "%s", in->feedback_type[0] ? in->feedback_type : "(none)");
		return record(ig, &f, INGEST_COMPLAINT, "arf", out, e);
	case INBOUND_OTHER:
		break;
	}
	/* Only a message sent to our return path may be a bounce in words:
	   anyone in a reply thread can write "user unknown". */
	if (how == TIE_RETURN_PATH && looks_like_bounce(in))
		return bounce(ig, &f, NULL, NULL, "text", data, len, out, e);
	snprintf(out->reason, sizeof(out->reason), "%s", in->subject);
	if (in->auto_submitted) {
		f.kind = FEEDBACK_AUTO_REPLY;
		return record(ig, &f, INGEST_AUTO_REPLY, "auto-reply", out, e);
	}
	if (how == TIE_REFERENCE) {
		f.kind = FEEDBACK_REPLY;
		return record(ig, &f, INGEST_REPLY, "reply", out, e);
	}
	/* Something else sent to a return path: a bounce in words only,
	   or nothing we can name. */
	return bounce(ig, &f, NULL, NULL, "text", data, len, out, e);
}

static int
unsubscribe(struct ingest *ig, const struct tied *t,
    struct ingest_outcome *out, struct err *e)
{
	struct feedback f;

	memset(&f, 0, sizeof(f));
	f.kind = FEEDBACK_UNSUBSCRIBE;
	f.campaign_id = t->campaign_id;
	f.recipient_id = t->recipient_id;
	snprintf(out->reason, sizeof(out->reason), "the List-Unsubscribe "
	    "mailto");
	return record(ig, &f, INGEST_UNSUBSCRIBE, "mailto", out, e);
}

static int
target(struct ingest *ig, const struct tied *t, struct ingest_outcome *out,
    struct err *e)
{
	struct feedback_target tg;

	out->campaign_id = t->campaign_id;
	out->recipient_id = t->recipient_id;
	if (store_feedback_target(ig->st, t->campaign_id, t->recipient_id,
	    &tg, e) < 0) {
		if (e->code != EX_NOINPUT)
			return -1;
		out->what = INGEST_UNMATCHED;
		snprintf(out->reason, sizeof(out->reason), "a valid token, "
		    "but %s (the campaign was deleted?)", e->msg);
		out->campaign_id = out->recipient_id = 0;
		return 1;
	}
	snprintf(out->campaign, sizeof(out->campaign), "%s", tg.campaign);
	snprintf(out->address, sizeof(out->address), "%s", tg.address);
	return 0;
}

int
ingest_message(struct ingest *ig, const char *data, size_t len,
    const char *envelope, struct ingest_outcome *out, struct err *e)
{
	struct inbound *in = &ig->in;
	struct tied t;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&t, 0, sizeof(t));
	inbound_free(in);
	if (inbound_parse(data, len, in, e) < 0) {
		if (e->code != EX_DATAERR)
			return -1;
		out->what = INGEST_REJECTED;
		snprintf(out->reason, sizeof(out->reason), "%s", e->msg);
		return 0;
	}
	if (tie_envelope(ig, envelope, "unsubscribe+", TRACK_UNSUBSCRIBE,
	    &t)) {
		if ((rc = target(ig, &t, out, e)) != 0)
			return rc < 0 ? -1 : 0;
		return unsubscribe(ig, &t, out, e);
	}
	tie(ig, envelope, &t);
	if (t.how == TIE_NONE) {
		out->what = t.forged ? INGEST_FORGED : INGEST_UNMATCHED;
		snprintf(out->reason, sizeof(out->reason), "%s", t.forged ?
		    "a return path or unsubscribe token that does not verify; "
		    "nothing changed" : "no signed return path, Message-ID or "
		    "reference of ours");
		return 0;
	}
	if ((rc = target(ig, &t, out, e)) != 0)
		return rc < 0 ? -1 : 0;
	if (t.how == TIE_MESSAGE_ID && !names_recipient(in, out->address)) {
		out->what = INGEST_UNMATCHED;
		snprintf(out->reason, sizeof(out->reason), "our Message-ID, "
		    "but the report names another recipient than %s",
		    out->address);
		return 0;
	}
	return classify(ig, t.how, data, len, out, e);
}
