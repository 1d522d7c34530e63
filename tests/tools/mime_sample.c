/*
 * mime_sample.c - one message from mime_build(), for checks outside C.
 *
 * Reads one JSON object from stdin and writes the message to stdout, so
 * tests/integration/mime.sh can parse it with Python's email package, an
 * implementation that shares no code with ours. Fields: from_name,
 * from_addr, to_addr, reply_to, subject, text, html, date_ms, message_id,
 * unsubscribe_url, unsubscribe_mailto, list_id, feedback_id, headers
 * ([[name, value], ...]) and max (message size limit, default 16 MiB). A
 * missing or null string field is NULL; "\u0000" is allowed in text and
 * html. Exits with the error's code, its message on stderr.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "mime.h"

#define SAMPLE_MAX	(16 * 1024 * 1024)
#define SAMPLE_HEADERS	64

static const char *
field(json_t *o, const char *key, size_t *len)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		return NULL;
	if (len != NULL)
		*len = json_string_length(v);
	return json_string_value(v);
}

static int
headers(json_t *o, struct mime_header *h)
{
	json_t *a = json_object_get(o, "headers"), *pair;
	size_t i;

	if (!json_is_array(a))
		return 0;
	if (json_array_size(a) > SAMPLE_HEADERS)
		return -1;
	json_array_foreach(a, i, pair) {
		h[i].name = json_string_value(json_array_get(pair, 0));
		h[i].value = json_string_value(json_array_get(pair, 1));
		if (h[i].name == NULL || h[i].value == NULL)
			return -1;
	}
	return (int)i;
}

int
main(void)
{
	struct mime_header h[SAMPLE_HEADERS];
	struct mime_msg m = { 0 };
	struct err e = { 0 };
	struct buf out;
	json_error_t je;
	json_t *o, *max;
	int rc = EX_DATAERR;

	o = json_loadf(stdin, JSON_ALLOW_NUL, &je);
	if (!json_is_object(o)) {
		fprintf(stderr, "mime_sample: stdin: %s\n", je.text);
		return EX_DATAERR;
	}
	m.from_name = field(o, "from_name", NULL);
	m.from_addr = field(o, "from_addr", NULL);
	m.to_addr = field(o, "to_addr", NULL);
	m.reply_to = field(o, "reply_to", NULL);
	m.subject = field(o, "subject", NULL);
	m.text = field(o, "text", &m.text_len);
	m.html = field(o, "html", &m.html_len);
	m.date_ms = json_integer_value(json_object_get(o, "date_ms"));
	m.message_id = field(o, "message_id", NULL);
	m.unsubscribe_url = field(o, "unsubscribe_url", NULL);
	m.unsubscribe_mailto = field(o, "unsubscribe_mailto", NULL);
	m.list_id = field(o, "list_id", NULL);
	m.feedback_id = field(o, "feedback_id", NULL);
	m.headers = h;
	m.nheaders = headers(o, h);
	if (m.nheaders < 0) {
		fprintf(stderr, "mime_sample: headers: want at most %d "
		    "[name, value] pairs\n", SAMPLE_HEADERS);
		goto out;
	}
	max = json_object_get(o, "max");
	buf_init(&out, json_is_integer(max) ?
	    (size_t)json_integer_value(max) : SAMPLE_MAX);
	if (mime_build(&m, &out, &e) < 0) {
		fprintf(stderr, "mime_sample: %s\n", e.msg);
		rc = e.code;
	} else if (fwrite(out.data, 1, out.len, stdout) != out.len ||
	    fflush(stdout) != 0) {
		fprintf(stderr, "mime_sample: write error\n");
		rc = EX_IOERR;
	} else
		rc = 0;
	buf_free(&out);
out:
	json_decref(o);
	return rc;
}
