/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * testutil.h - what the cmocka unit tests share: the cmocka includes, a
 * scratch directory per test binary, file and JSON helpers, and failure
 * messages that free what they report on.
 *
 * Header-only (static inline) so every test stays one source file and the
 * Makefile builds it as before.  A test using the scratch directory passes
 * tu_group_setup/tu_group_teardown to cmocka_run_group_tests_name().
 */
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/jsonutil.h"
#include "lib/util.h"

/* $TMPDIR/sx-<program>.XXXXXX while the group runs. */
static char tmpdir[4096];

static inline int tu_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Creates tmpdir, named after the test binary; 0 or -1. */
static inline int tu_group_setup(void **state)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/sx-%s.XXXXXX", t && *t ? t : "/tmp",
		 program_invocation_short_name);
	return mkdtemp(tmpdir) ? 0 : -1;
}

/* Removes tmpdir and everything in it, even when a test failed half-way. */
static inline int tu_group_teardown(void **state)
{
	return nftw(tmpdir, tu_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* tmpdir/ followed by the formatted name; the caller frees it. */
static inline char *tmp_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline char *tmp_path(const char *fmt, ...)
{
	_cleanup_free_ char *name = NULL;
	char *p;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&name, fmt, ap) < 0)
		name = NULL;
	va_end(ap);
	assert_non_null(name);
	p = sx_strdupf("%s/%s", tmpdir, name);
	assert_non_null(p);
	return p;
}

/* Replaces the file at path with text. */
static inline void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/* Replaces the file at path with j as sx_json_print() writes it. */
static inline void write_json(const char *path, const cJSON *j)
{
	_cleanup_free_ char *text = sx_json_print(j);

	assert_non_null(text);
	write_text(path, text);
}

/* Parses JSON the test itself wrote; not JSON fails the test. */
static inline cJSON *parse(const char *text)
{
	cJSON *j = cJSON_Parse(text);

	if (!j)
		fail_msg("not JSON: %s", text);
	return j;
}

/* Fails the test with the formatted message, freeing ptr once the message
 * (which may quote it) is formatted, so a failing case leaks nothing. */
static inline void tu_fail_free(void *ptr, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));
static inline void tu_fail_free(void *ptr, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	free(ptr);
	fail_msg("%s", msg);
	abort(); /* not reached: fail_msg() jumps out of the test */
}

/* Asserts s (typically a why) is set and contains part. */
#define assert_contains(s, part) assert_contains_at((s), (part), __FILE__, __LINE__)
static inline void assert_contains_at(const char *s, const char *part, const char *file, int line)
{
	if (!s || !strstr(s, part))
		fail_msg("%s:%d: \"%s\" does not contain \"%s\"", file, line, s ? s : "(null)", part);
}
