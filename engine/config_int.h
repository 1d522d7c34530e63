/*
 * config_int.h - what config.c and config_shaping.c share: the checked
 * readers of JSON members. Every error is EX_CONFIG naming the file and
 * the full key path. Nothing outside engine/config*.c includes this.
 */
#ifndef POSTBOTE_CONFIG_INT_H
#define POSTBOTE_CONFIG_INT_H

#include <jansson.h>
#include "config.h"

/* A key path in a message: "delivery.routes.*.example.com.port". */
#define CONFIG_WHERE	512

int config_string(const char *path, const char *key, json_t *v, char **out,
    struct err *e) WUR;
int config_bool(const char *path, const char *section, json_t *obj,
    const char *key, int *out, struct err *e) WUR;
/* obj must be an object whose keys are all in known (NULL-terminated). */
int config_keys(const char *path, const char *section, json_t *obj,
    const char *const *known, struct err *e) WUR;
const char *config_where(char *out, size_t n, const char *where,
    const char *key);
int config_member_str(const char *path, const char *where, json_t *obj,
    const char *key, int required, char **out, struct err *e) WUR;
int config_member_int(const char *path, const char *where, json_t *obj,
    const char *key, int lo, int hi, int *out, struct err *e) WUR;
/* "example.com" or "*.example.com" made a lower-case A-label; -1: bad. */
int config_pattern(const char *key, char *out, size_t n) WUR;

/* A number member in [lo, hi]; leaves *out when absent. */
int config_member_double(const char *path, const char *where, json_t *obj,
    const char *key, double lo, double hi, double *out, struct err *e) WUR;

/* The "feedback" and "webhooks" sections (config_feedback.c). */
int config_feedback(const char *path, json_t *v, struct config *cfg,
    struct err *e) WUR;
int config_webhooks(const char *path, json_t *v, struct config *cfg,
    struct err *e) WUR;
void config_feedback_defaults(struct config *cfg);
void config_webhooks_free(struct config *cfg);

/* The "shaping" and "retry" sections (config_shaping.c). */
int config_shaping(const char *path, json_t *v, struct config *cfg,
    struct err *e) WUR;
int config_retry(const char *path, json_t *v, struct config *cfg,
    struct err *e) WUR;
/* Built-in shaping and retry values for what the file left unset. */
void config_shaping_defaults(struct config *cfg);
void config_shaping_free(struct config *cfg);

/* The "hygiene" section (config_hygiene.c). */
int config_hygiene(const char *path, json_t *v, struct config *cfg,
    struct err *e) WUR;
void config_hygiene_defaults(struct config *cfg);
void config_hygiene_free(struct config *cfg);

#endif
