/*
 * config.c - loading postbote.json; see config.h.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
	cfg->database = NULL;
}
