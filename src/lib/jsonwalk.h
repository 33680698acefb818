/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * jsonwalk.h - members and strings read straight out of a JSON text that
 * sx_json_compact() checked and compacted (jsonraw.h), without a tree:
 * the record's assembly needs three strings of each of thousands of
 * streamed events, and a cJSON parse per event cost more than the proxy.
 *
 * The text must come from sx_json_compact(): valid JSON, no whitespace;
 * nothing here checks syntax again.  Where the answer could differ from
 * cJSON's (a member name with escapes, a string with \u0000 or a broken
 * surrogate pair), the functions say SX_JW_UNSURE and the caller parses.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* One value: its first byte and the byte after it. */
struct sx_jw {
	const char *p, *end;
};

enum sx_jw_found { SX_JW_UNSURE = -1, SX_JW_MISSING = 0, SX_JW_FOUND = 1 };

/* The whole text (as sx_json_compact() wrote it) as one value. */
struct sx_jw sx_jw_text(const char *text, size_t len);

/* True when p, a value's first byte in such a text (which ends at
 * text_end), opens a string that closes right before at. */
bool sx_jw_string_ends_at(const char *p, const char *text_end, const char *at);

static inline bool sx_jw_is(struct sx_jw v, char kind)
{
	return v.p < v.end && *v.p == kind; /* '{', '[', '"', 'n'ull */
}

/* The first member named key of object v, as cJSON_GetObjectItemCaseSensitive()
 * finds it; MISSING when v is not an object. */
enum sx_jw_found sx_jw_member(struct sx_jw v, const char *key, struct sx_jw *out);

/* The same for n keys in one walk: found[i] and out[i] for keys[i] (its
 * first member; n <= 8); 0, or -1 (UNSURE) when an escaped name comes before every
 * key was found.  Nothing found when v is not an object. */
int sx_jw_members(struct sx_jw v, const char *const *keys, size_t n, struct sx_jw *out, bool *found);

/* Element i of array v; false when v is not an array or is shorter. */
bool sx_jw_index(struct sx_jw v, size_t i, struct sx_jw *out);

/* String v unescaped into *buf (grown as needed, NUL-terminated).  Returns
 * the length, or -1 when v is not a string or is UNSURE (see above), or
 * when out of memory. */
long sx_jw_string(struct sx_jw v, char **buf, size_t *cap);

/* Whether the string v equals s (no escapes in v: UNSURE otherwise). */
enum sx_jw_found sx_jw_string_is(struct sx_jw v, const char *s);
