/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * jsonraw.h - a JSON text checked and compacted without building a tree:
 * the capture record embeds a request body of hundreds of KiB as it came
 * (insignificant whitespace removed, so that the record stays one line)
 * instead of parsing it into cJSON and printing it again.
 */
#pragma once
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* What the top-level object says about the call. */
struct sx_json_top {
	char *model; /* a top-level "model" string without escapes, else NULL (caller frees) */
	bool model_escaped; /* "model" was a string with escapes: not extracted */
	bool stream; /* a top-level "stream": true */
	bool model_seen, stream_seen; /* the first of a repeated name counts, as with cJSON */
};

/* Checks that text (len bytes) is exactly one JSON value (RFC 8259,
 * surrounded by whitespace at most) nesting no deeper than max_depth, and
 * writes it without insignificant whitespace to *out (NUL-terminated,
 * caller frees).  Strings must be UTF-8 (RFC 8259), so that a record can
 * embed the text without another pass.  Returns 0, -EINVAL when text is
 * not such a value, -EILSEQ when a string is not UTF-8, or -ENOMEM. */
int sx_json_compact(const char *text, size_t len, int max_depth, char **out, struct sx_json_top *top);

/* The same into out, which has room for len + 1 bytes (compacting never
 * grows a text); *out_len gets the length written (a NUL follows).  On
 * failure out holds garbage. */
int sx_json_compact_to(const char *text, size_t len, int max_depth, char *out, size_t *out_len,
		       struct sx_json_top *top);

/* Appends s (n bytes) to b as a JSON string: printable ASCII as it is,
 * anything else escaped as cJSON escapes it.  *utf8 (when not NULL) turns
 * false when s is not UTF-8 (cJSON copies such bytes).  0 or -ENOMEM. */
struct sx_buf;
int sx_json_add_string(struct sx_buf *b, const char *s, size_t n, bool *utf8);

/* A cJSON_Raw item that takes text (len bytes, NUL-terminated) over, as
 * sx_json_compact() made it: printed as it is, no copy.  Its length is
 * kept in the item (valueint, which a raw item does not use): a record of
 * a 512 KiB request paid a tenth of its CPU in strlen() and copies.  NULL
 * (text freed) when out of memory. */
cJSON *sx_json_raw_item(char *text, size_t len);

/* A raw item's text length: the kept one, else strlen(). */
size_t sx_json_raw_len(const cJSON *item);

/* sx_json_compact() made into a raw item (*item): 0 or its errors. */
int sx_json_compact_raw(const char *text, size_t len, int max_depth, cJSON **item, struct sx_json_top *top);
