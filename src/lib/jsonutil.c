/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * jsonutil.c - cJSON helpers.
 *
 * OpenClaw reads its config as JSON5.  cJSON is a strict JSON parser, so a
 * file using JSON5 features is refused here with the line it was found on:
 * sentrix never rewrites a file it cannot represent faithfully (comments
 * would be lost).
 */
#include <string.h>

#include "fileio.h"
#include "jsonutil.h"
#include "safepath.h"

/* Names the JSON5 feature at the character where strict parsing failed and
 * moves *at to the character to blame (for a trailing comma: the comma). */
static const char *json5_hint(const char *text, const char **at)
{
	const char *p = *at;

	if (p[0] == '/' && (p[1] == '/' || p[1] == '*'))
		return "a comment (JSON5)";
	if (*p == '}' || *p == ']') {
		const char *q = p;
		while (q > text && (q[-1] == ' ' || q[-1] == '\t' || q[-1] == '\r' || q[-1] == '\n'))
			q--;
		if (q > text && q[-1] == ',') {
			*at = q - 1;
			return "a trailing comma (JSON5)";
		}
	}
	if (*p == '\'')
		return "a single-quoted string (JSON5)";
	if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == '$')
		return "an unquoted key or bare word (JSON5)";
	if (!*p)
		return "unexpected end of input";
	return "invalid JSON";
}

static const char *skip_blank(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

int sx_json_parse(const char *text, cJSON **ret, char **why)
{
	const char *end = NULL;
	cJSON *j;

	j = cJSON_ParseWithOpts(text, &end, true);
	if (!j) {
		/* cJSON 1.7 stops either on the character it could not parse
		 * or one past it, depending on where it was: look at both and
		 * prefer the one that names a JSON5 feature. */
		const char *here = skip_blank(end ? end : text);
		const char *before = skip_blank(end && end > text ? end - 1 : text);
		const char *at = before, *at2 = here, *hint, *hint2;
		unsigned line = 1;

		hint = json5_hint(text, &at);
		hint2 = json5_hint(text, &at2);
		if (strstr(hint2, "JSON5") && (!strstr(hint, "JSON5") || strstr(hint, "unquoted"))) {
			hint = hint2;
			at = at2;
		}
		for (const char *p = text; p < at && *p; p++)
			if (*p == '\n')
				line++;
		if (why)
			*why = sx_strdupf("line %u: %s", line, hint);
		return -EINVAL;
	}
	*ret = j;
	return 0;
}

int sx_json_load(const char *path, cJSON **ret, char **why)
{
	_cleanup_free_ char *text = NULL;
	int r;

	r = sx_safe_read(path, SX_MANAGED_FILE_MAX, &text, NULL, NULL);
	if (r < 0)
		return r;
	return sx_json_parse(text, ret, why);
}

char *sx_json_print(const cJSON *j)
{
	char *s = cJSON_Print(j);
	char *out;

	if (!s)
		return NULL;
	out = sx_strdupf("%s\n", s);
	cJSON_free(s);
	return out;
}

cJSON *sx_json_get_path(const cJSON *root, const char *path)
{
	_cleanup_free_ char *copy = strdup(path);
	char *save = NULL, *tok;
	const cJSON *cur = root;

	if (!copy)
		return NULL;
	for (tok = strtok_r(copy, ".", &save); tok && cur; tok = strtok_r(NULL, ".", &save)) {
		if (!cJSON_IsObject(cur))
			return NULL;
		cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
	}
	return (cJSON *)cur;
}

int sx_json_set_path(cJSON *root, const char *path, cJSON *v)
{
	_cleanup_free_ char *copy = strdup(path);
	char *last, *save = NULL, *tok;
	cJSON *cur = root;

	if (!copy) {
		cJSON_Delete(v);
		return -ENOMEM;
	}
	last = strrchr(copy, '.');
	if (last) {
		*last++ = 0;
		for (tok = strtok_r(copy, ".", &save); tok; tok = strtok_r(NULL, ".", &save)) {
			cJSON *next = cJSON_GetObjectItemCaseSensitive(cur, tok);
			if (!next)
				next = cJSON_AddObjectToObject(cur, tok);
			if (!cJSON_IsObject(next)) {
				cJSON_Delete(v);
				return -EINVAL;
			}
			cur = next;
		}
	} else
		last = copy;
	if (cJSON_GetObjectItemCaseSensitive(cur, last))
		cJSON_ReplaceItemInObjectCaseSensitive(cur, last, v);
	else
		cJSON_AddItemToObject(cur, last, v);
	return 0;
}

void sx_json_remove_path(cJSON *root, const char *path)
{
	_cleanup_free_ char *copy = strdup(path);
	char *dot = copy ? strrchr(copy, '.') : NULL;
	cJSON *parent;

	if (!copy)
		return;
	parent = dot ? (*dot = 0, sx_json_get_path(root, copy)) : root;
	if (cJSON_IsObject(parent))
		cJSON_DeleteItemFromObjectCaseSensitive(parent, dot ? dot + 1 : copy);
}

const char *sx_json_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Levels of arrays and objects in j (0 for a scalar).  Recursion is
 * bounded: cJSON parses at most CJSON_NESTING_LIMIT levels. */
static int depth(const cJSON *j)
{
	int max = 0;

	if (!cJSON_IsArray(j) && !cJSON_IsObject(j))
		return 0;
	for (const cJSON *c = j->child; c; c = c->next) {
		int d = depth(c);
		if (d > max)
			max = d;
	}
	return max + 1;
}

cJSON *sx_json_parse_depth(const char *text, size_t len, int max_depth)
{
	cJSON *j = cJSON_ParseWithLength(text, len);

	if (j && depth(j) > max_depth) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}
