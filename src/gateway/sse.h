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

/* The same for a record that is only printed: each JSON data is kept as
 * its own text, compacted (a cJSON_Raw item, no tree to print), and its
 * parse is fed to the assembler raw.  Data that is not JSON is a string as
 * above. */
struct sx_assembler;
/* *all_raw: every data was JSON kept as its text (checked UTF-8), and every
 * event name is UTF-8. */
cJSON *sx_sse_events_raw(const char *body, size_t len, struct sx_assembler *raw, bool *all_raw);
