/*
 * config.c - loading postbote.json; see config.h.
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "addr.h"
#include "config.h"
#include "limits.h"
#include "xalloc.h"

static int
config_string(const char *path, const char *key, json_t *v, char **out,
    struct err *e)
{
	if (!json_is_string(v) || json_string_length(v) == 0)
		return err_set(e, EX_CONFIG, "%s: \"%s\" must be a non-empty "
		    "string", path, key);
	*out = xstrdup(json_string_value(v));
	return 0;
}

/* Sets *out to the object's boolean member key, or leaves the default. */
static int
config_bool(const char *path, const char *section, json_t *obj,
    const char *key, int *out, struct err *e)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return err_set(e, EX_CONFIG, "%s: \"%s.%s\" must be true or "
		    "false", path, section, key);
	*out = json_is_true(v);
	return 0;
}

static int
config_keys(const char *path, const char *section, json_t *obj,
    const char *const *known, struct err *e)
{
	const char *key;
	json_t *v;
	int i;

	if (!json_is_object(obj))
		return err_set(e, EX_CONFIG, "%s: \"%s\" must be an object",
		    path, section);
	json_object_foreach(obj, key, v) {
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (known[i] == NULL)
			return err_set(e, EX_CONFIG, "%s: unknown key "
			    "\"%s.%s\"", path, section, key);
	}
	return 0;
}

/*
 * The base URL goes into every tracked link and the pixel's src, written
 * into HTML without escaping: it may hold only URL characters that need
 * none.
 */
static int
config_tracking(const char *path, json_t *obj, struct config *cfg,
    struct err *e)
{
	static const char *known[] = { "base_url", "opens", "clicks", NULL };
	json_t *v;
	size_t n, i;
	char *u;

	if (config_keys(path, "tracking", obj, known, e) < 0)
		return -1;
	cfg->tracking_opens = cfg->tracking_clicks = 1;
	if (config_bool(path, "tracking", obj, "opens", &cfg->tracking_opens,
	    e) < 0 || config_bool(path, "tracking", obj, "clicks",
	    &cfg->tracking_clicks, e) < 0)
		return -1;
	if ((v = json_object_get(obj, "base_url")) == NULL)
		return err_set(e, EX_CONFIG, "%s: \"tracking.base_url\" is "
		    "missing", path);
	if (config_string(path, "tracking.base_url", v,
	    &cfg->tracking_base_url, e) < 0)
		return -1;
	u = cfg->tracking_base_url;
	n = strlen(u);
	while (n > 0 && u[n - 1] == '/')
		u[--n] = '\0';
	if (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0)
		return err_set(e, EX_CONFIG, "%s: \"tracking.base_url\" must "
		    "start with https:// (or http://)", path);
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)u[i]) &&
		    strchr(":/.-_~%!$()*+,;=@", u[i]) == NULL)
			return err_set(e, EX_CONFIG, "%s: \"tracking.base_url\" "
			    "has a character that is not allowed there "
			    "(position %zu)", path, i + 1);
	return 0;
}

static int
config_bounces(const char *path, json_t *obj, struct config *cfg,
    struct err *e)
{
	static const char *known[] = { "return_path_domain", NULL };
	char domain[LIMIT_ADDR_DOMAIN + 1];
	json_t *v;

	if (config_keys(path, "bounces", obj, known, e) < 0)
		return -1;
	if ((v = json_object_get(obj, "return_path_domain")) == NULL)
		return 0;
	if (!json_is_string(v) || addr_domain(json_string_value(v),
	    json_string_length(v), domain, sizeof(domain), e) < 0)
		return err_set(e, EX_CONFIG, "%s: \"bounces.return_path_domain"
		    "\" is not a domain name", path);
	cfg->return_path_domain = xstrdup(domain);
	return 0;
}

int
config_load(const char *path, int required, struct config *cfg,
    struct err *e)
{
	json_error_t jerr;
	json_t *root, *v;
	const char *key;
	struct stat sb;
	int rc = -1;

	memset(cfg, 0, sizeof(*cfg));
	if (stat(path, &sb) != 0) {
		if (errno == ENOENT && !required)
			return 0;
		return err_set(e, errno == ENOENT ? EX_NOINPUT : EX_IOERR,
		    "%s: %s", path, strerror(errno));
	}
	if (sb.st_size > LIMIT_CONFIG_FILE)
		return err_set(e, EX_CONFIG, "%s: larger than %d bytes", path,
		    LIMIT_CONFIG_FILE);
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return err_set(e, EX_CONFIG, "%s:%d:%d: %s", path, jerr.line,
		    jerr.column, jerr.text);
	if (!json_is_object(root)) {
		err_set(e, EX_CONFIG, "%s: the top level must be an object",
		    path);
		goto out;
	}
	json_object_foreach(root, key, v) {
		if (strcmp(key, "database") == 0) {
			if (config_string(path, key, v, &cfg->database, e) < 0)
				goto out;
		} else if (strcmp(key, "tracking") == 0) {
			if (config_tracking(path, v, cfg, e) < 0)
				goto out;
		} else if (strcmp(key, "bounces") == 0) {
			if (config_bounces(path, v, cfg, e) < 0)
				goto out;
		} else {
			err_set(e, EX_CONFIG, "%s: unknown key \"%s\"", path,
			    key);
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(root);
	if (rc < 0)
		config_free(cfg);
	return rc;
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->database);
	free(cfg->tracking_base_url);
	free(cfg->return_path_domain);
	memset(cfg, 0, sizeof(*cfg));
}
