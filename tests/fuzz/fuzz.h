/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * fuzz.h - what the libFuzzer harnesses (tests/fuzz/fuzz-*.c) share: the
 * entry points, quiet logging, a scratch directory, and the checks of the
 * properties a harness asserts beyond "no sanitizer report" (valid JSON,
 * valid UTF-8).  A failed check abort()s, which libFuzzer reports as a
 * crash and saves the input, like any sanitizer finding.
 *
 * Header-only (static functions), so each harness is one source file.
 */
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/jsonutil.h"
#include "lib/log.h"
#include "lib/util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fails the run: prints what broke and aborts (libFuzzer keeps the input). */
static __attribute__((noreturn, format(printf, 1, 2))) void fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz: property broken: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

#define FUZZ_CHECK(cond, ...)                                                                                \
	do {                                                                                                 \
		if (!(cond))                                                                                 \
			fuzz_fail(__VA_ARGS__);                                                              \
	} while (0)

static void fuzz_log_sink(enum sx_log_level level, const char *message)
{
	/* Formatted (so the formatting is exercised), then dropped: a log
	 * line per input would slow the fuzzer down to the terminal's pace. */
}

/* Called from LLVMFuzzerInitialize: no log output. */
static inline void fuzz_quiet(void)
{
	sx_log_set_sink(fuzz_log_sink);
}

/* The harness's scratch directory, $TMPDIR/sx-fuzz.XXXXXX (tests/fuzz/run.sh
 * points TMPDIR at its own temporary directory and removes it). */
static char fuzz_dir[4096];

/* Removes the scratch directory and the files a harness left in it. */
static void fuzz_rmdir(void)
{
	DIR *d = fuzz_dir[0] ? opendir(fuzz_dir) : NULL;
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	rmdir(fuzz_dir);
}

/* Creates the scratch directory once; returns its path. */
static inline const char *fuzz_tmpdir(void)
{
	const char *t = getenv("TMPDIR");

	if (fuzz_dir[0])
		return fuzz_dir;
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/sx-fuzz.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(fuzz_dir)) {
		perror("fuzz: cannot create a scratch directory");
		abort();
	}
	atexit(fuzz_rmdir);
	return fuzz_dir;
}

/* True when s (n bytes) is valid UTF-8 (sx_utf8_next's rules). */
static inline bool fuzz_utf8_valid(const char *s, size_t n)
{
	uint32_t cp;

	for (size_t i = 0, k; i < n; i += k)
		if (!(k = sx_utf8_next((const unsigned char *)s + i, n - i, &cp)))
			return false;
	return true;
}

/* Levels of arrays and objects in j. */
static inline int fuzz_json_depth(const cJSON *j)
{
	int max = 0;

	if (!cJSON_IsArray(j) && !cJSON_IsObject(j))
		return 0;
	for (const cJSON *c = j->child; c; c = c->next) {
		int d = fuzz_json_depth(c); /* not inside MAX(): it evaluates twice */
		if (d > max)
			max = d;
	}
	return max + 1;
}

/* Checks that text is one JSON object that cJSON reads back, nested no
 * deeper than jq reads (256 levels), and that it is valid UTF-8 (RFC
 * 8259): what every line of a capture or audit file must be for `sentrix
 * logs`, the gateway's crash repair and jq to read it. */
static inline void fuzz_check_json_object(const char *what, const char *text)
{
	cJSON *j;
	int d;

	FUZZ_CHECK(text, "%s: not built", what);
	FUZZ_CHECK(fuzz_utf8_valid(text, strlen(text)), "%s is not valid UTF-8: %.200s", what, text);
	j = cJSON_ParseWithOpts(text, NULL, false);
	FUZZ_CHECK(cJSON_IsObject(j), "%s does not parse back as a JSON object (%zu bytes): %.200s", what,
		   strlen(text), text);
	d = fuzz_json_depth(j);
	FUZZ_CHECK(d <= 256, "%s nests %d levels deep: %.200s", what, d, text);
	cJSON_Delete(j);
}
