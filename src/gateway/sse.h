/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * sse.h - splits a text/event-stream body into its events.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* Returns a JSON array of {"event": NAME (only when named), "data": D} in
 * stream order, where D is the data parsed as JSON when it is JSON, else
 * the string.  A trailing event without its blank line (a cut stream) is
 * included.  NULL on allocation failure. */
cJSON *sx_sse_events(const char *body, size_t len);

/* The same for a record that is only printed: one cJSON_Raw item holding
 * the array's text, each JSON data compacted as its own text (no tree),
 * which feeds the assembler x in place (assemble.h).  Data that is not JSON
 * is a string as above.  *all_raw: the text is UTF-8 throughout (every data
 * was JSON kept as its checked text or a UTF-8 string, every name UTF-8).
 * NULL on allocation failure. */
struct sx_assembler;
cJSON *sx_sse_events_raw(const char *body, size_t len, struct sx_assembler *x, bool *all_raw);
