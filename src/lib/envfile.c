/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * envfile.c - reads secrets.env (format in envfile.h).  The gateway reads
 * keys with it; `sentrix secrets` lists and rewrites lines with it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "envfile.h"
#include "strv.h"
#include "util.h"

bool sx_envfile_name_valid(const char *name)
{
	if (!name || !*name ||
	    !(name[0] == '_' || (name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z')))
		return false;
	for (const char *p = name; *p; p++)
		if (!(*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9')))
			return false;
	return true;
}

/* Calls fn for each VAR=value line: name and value are not terminated;
 * stops when fn returns non-zero and returns that. */
static int each_line(const char *text,
		     int (*fn)(const char *name, size_t nlen, const char *value, size_t vlen, void *data),
		     void *data)
{
	for (const char *p = text; p && *p;) {
		const char *eol = strchrnul(p, '\n'), *eq = memchr(p, '=', (size_t)(eol - p));
		int r;
		if (*p != '#' && eq && eq > p) {
			r = fn(p, (size_t)(eq - p), eq + 1, (size_t)(eol - eq - 1), data);
			if (r)
				return r;
		}
		p = *eol ? eol + 1 : eol;
	}
	return 0;
}

struct lookup {
	const char *name;
	char *value;
};

static int match(const char *name, size_t nlen, const char *value, size_t vlen, void *data)
{
	struct lookup *l = data;
	if (strlen(l->name) != nlen || memcmp(l->name, name, nlen) != 0)
		return 0;
	l->value = strndup(value, vlen);
	return l->value ? 1 : -ENOMEM;
}

int sx_envfile_get(const char *text, const char *name, char **ret)
{
	struct lookup l = {.name = name};
	int r = each_line(text, match, &l);
	if (r < 0)
		return r;
	if (!l.value)
		return -ENOENT;
	*ret = l.value;
	return 0;
}

static int collect(const char *name, size_t nlen, const char *value, size_t vlen, void *data)
{
	_cleanup_free_ char *n = strndup(name, nlen);
	char ***v = data;
	if (!n)
		return -ENOMEM;
	return sx_strv_contains(*v, n) ? 0 : sx_strv_push(v, n);
}

char **sx_envfile_names(const char *text)
{
	char **v = calloc(1, sizeof(char *));
	if (v && each_line(text, collect, &v) < 0) {
		sx_strv_free(v);
		return NULL;
	}
	return v;
}

static int is_name(const char *name, size_t nlen, const char *value, size_t vlen, void *data)
{
	const char *want = data;
	return strlen(want) == nlen && memcmp(want, name, nlen) == 0;
}

bool sx_envfile_has(const char *text, const char *name)
{
	return each_line(text, is_name, (void *)name) > 0;
}
