/*
 * config.h - the JSON configuration file (postbote.json).
 *
 * config_load() reads the whole file with jansson and checks every key it
 * knows; an unknown key is an error, so a typo never silently falls back to
 * a default. Errors name the file and the line and column (syntax) or the
 * key (values). The struct owns its strings; config_free() releases them.
 */
#ifndef POSTBOTE_CONFIG_H
#define POSTBOTE_CONFIG_H

#include "err.h"

struct config {
	char *database;		/* NULL: not set */
	/* "tracking": { "base_url": "https://t.example.com", "opens": true,
	 * "clicks": true } -- base_url without a trailing slash. */
	char *tracking_base_url;	/* NULL: no tracking server */
	int tracking_opens;
	int tracking_clicks;
	/* "bounces": { "return_path_domain": "bounce.example.com" } */
	char *return_path_domain;	/* an A-label; NULL: none */
};

/* A missing file is an error only when required is set. */
int config_load(const char *path, int required, struct config *cfg,
    struct err *e) WUR;
void config_free(struct config *cfg);

#endif
