/*
 * unit.h - what the unit tests share: table rows run as cmocka tests of
 * their own, and a scratch directory.
 *
 * Each row of a table becomes one cmocka test named after the row, so the
 * TAP output names the case that failed instead of "row 17". The array of
 * tests is built at run time because the tables, not the code, say how
 * many cases there are. Header-only (static inline) because the Makefile
 * links each test_*.c alone against libpostbote.a.
 */
#ifndef POSTBOTE_UNIT_H
#define POSTBOTE_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

struct unit_tests {
	struct CMUnitTest *t;
	size_t n;
	size_t cap;
};

/* state is handed to f as *state; cmocka never writes through it. */
static inline void
unit_add(struct unit_tests *u, const char *name, CMUnitTestFunction f,
    const void *state)
{
	if (u->n == u->cap) {
		u->cap = u->cap ? u->cap * 2 : 64;
		u->t = realloc(u->t, u->cap * sizeof(*u->t));
		if (u->t == NULL)
			abort();
	}
	memset(&u->t[u->n], 0, sizeof(u->t[u->n]));
	u->t[u->n].name = name;
	u->t[u->n].test_func = f;
	u->t[u->n].initial_state = (void *)state;
	u->n++;
}

/* One test per row of table; every row type starts with its name. */
#define UNIT_TABLE(u, table, f) do {					\
	size_t unit_i_;							\
	for (unit_i_ = 0; unit_i_ < NELEM(table); unit_i_++)		\
		unit_add((u), (table)[unit_i_].name, (f),		\
		    &(table)[unit_i_]);					\
} while (0)

/*
 * Gives tests [from, u->n) a setup and a teardown of their own. The setup
 * sees the row (or NULL) in *state and may replace it with its fixture;
 * nothing may be set as group state then, or cmocka passes that instead.
 */
static inline void
unit_fixture(struct unit_tests *u, size_t from, CMFixtureFunction setup,
    CMFixtureFunction teardown)
{
	for (; from < u->n; from++) {
		u->t[from].setup_func = setup;
		u->t[from].teardown_func = teardown;
	}
}

static inline int
unit_run(struct unit_tests *u, const char *group, CMFixtureFunction setup,
    CMFixtureFunction teardown)
{
	int rc;

	rc = _cmocka_run_group_tests(group, u->t, u->n, setup, teardown);
	free(u->t);
	u->t = NULL;
	u->n = u->cap = 0;
	return rc;
}

/* ------------------------------------------------------ scratch directory */

/* A fresh directory under TMPDIR (or /tmp); the caller frees the name. */
static inline char *
unit_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char tmpl[4096];
	char *dir;

	snprintf(tmpl, sizeof(tmpl), "%s/postbote-unit.XXXXXX",
	    base != NULL && *base != '\0' ? base : "/tmp");
	if (mkdtemp(tmpl) == NULL)
		return NULL;
	dir = strdup(tmpl);
	if (dir == NULL)
		abort();
	return dir;
}

static inline int
unit_rm_one(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) == 0 ? 0 : -1;
}

/* Removes dir and everything in it (the store leaves -wal and -shm). */
static inline void
unit_rmtree(const char *dir)
{
	if (dir != NULL)
		(void)nftw(dir, unit_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes len bytes to dir/name; path receives the full name. */
static inline void
unit_write(const char *dir, const char *name, const char *data, size_t len,
    char *path, size_t n)
{
	FILE *fp;

	snprintf(path, n, "%s/%s", dir, name);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

#endif
