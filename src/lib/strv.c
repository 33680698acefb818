/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * strv.c - NULL-terminated string vectors.
 *
 * GCC 12's -fanalyzer does not follow the contents of a realloc()ed array:
 * it reports the copied elements as uninitialized and the appended string
 * as leaked.  Both are false (the unit tests run these under ASan and
 * valgrind), so those two checks are off for this file only.
 */
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wanalyzer-use-of-uninitialized-value"
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"
#include "util.h"

size_t sx_strv_length(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

void sx_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int sx_strv_push(char ***v, const char *s)
{
	size_t n = sx_strv_length(*v);
	char *copy = strdup(s), **nv;

	if (!copy)
		return -ENOMEM;
	nv = realloc(*v, (n + 2) * sizeof(char *));
	if (!nv) {
		free(copy);
		return -ENOMEM;
	}
	*v = nv;
	nv[n] = copy;
	nv[n + 1] = NULL;
	return 0;
}

bool sx_strv_contains(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (streq(v[i], s))
			return true;
	return false;
}

char **sx_strv_split_commas(const char *s)
{
	_cleanup_free_ char *copy = strdup(s ? s : "");
	char **v = calloc(1, sizeof(char *));
	char *save = NULL;

	if (!copy || !v) {
		free(v);
		return NULL;
	}
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ')
			t++;
		if (*t && sx_strv_push(&v, t) < 0) {
			sx_strv_free(v);
			return NULL;
		}
	}
	return v;
}

char *sx_strv_join(char *const *v, const char *sep)
{
	size_t len = 1, n = sx_strv_length(v);
	char *out, *p;

	for (size_t i = 0; i < n; i++)
		len += strlen(v[i]) + strlen(sep);
	out = p = malloc(len);
	if (!out)
		return NULL;
	*p = 0;
	for (size_t i = 0; i < n; i++) {
		if (i)
			p = stpcpy(p, sep);
		p = stpcpy(p, v[i]);
	}
	return out;
}

char **sx_strv_copy(char *const *v)
{
	char **out = calloc(1, sizeof(char *));

	for (size_t i = 0; out && v && v[i]; i++)
		if (sx_strv_push(&out, v[i]) < 0) {
			sx_strv_free(out);
			return NULL;
		}
	return out;
}
