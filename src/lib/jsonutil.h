/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * jsonutil.h - cJSON conveniences: load a file with a line-numbered error,
 * typed getters, cleanup attribute.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "util.h"

static inline void cjson_deletep(cJSON **j)
{
	if (*j)
		cJSON_Delete(*j);
}
#define _cleanup_cjson_ _cleanup_(cjson_deletep)

/* Parses text as strict JSON.  On failure returns -EINVAL and writes a
 * message naming the line and, where it can tell, the JSON5 feature found
 * there (comment, trailing comma, unquoted key) into why (caller frees). */
int sx_json_parse(const char *text, cJSON **ret, char **why);

/* Reads (as safepath.h says, at most SX_MANAGED_FILE_MAX bytes) and parses
 * a file; errors as sx_json_parse(), or -errno. */
int sx_json_load(const char *path, cJSON **ret, char **why);

/* Prints with two-space-free tab indentation and a trailing newline. */
char *sx_json_print(const cJSON *j);

/* Object member by dotted path ("gateway.bind"), or NULL. */
cJSON *sx_json_get_path(const cJSON *root, const char *path);

/* Sets a dotted path, creating intermediate objects; takes ownership of v.
 * Returns 0 or -EINVAL when an intermediate member is not an object. */
int sx_json_set_path(cJSON *root, const char *path, cJSON *v);

/* Removes a dotted path (parents stay, even when left empty). */
void sx_json_remove_path(cJSON *root, const char *path);

const char *sx_json_str(const cJSON *obj, const char *key);

/* How deep arrays and objects from outside (request and response bodies,
 * stream events) may nest inside a capture record: a record must stay
 * readable by cJSON (1000 levels, `sentrix logs`, the gateway's crash
 * repair), jq (256) and Python's json (~1000). */
#define SX_JSON_EMBED_DEPTH 128

/* Parses len bytes of text like cJSON_ParseWithLength(), and returns NULL
 * as well when arrays and objects nest deeper than max_depth. */
cJSON *sx_json_parse_depth(const char *text, size_t len, int max_depth);
