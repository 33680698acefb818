/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * assemble.h - what the model said in a call, put together from the
 * response body or the stream's events, for OpenAI-compatible and
 * Anthropic responses.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>

/* Builds {"text", "reasoning", "tool_calls": [{"id","name","arguments"}]}
 * from a streaming call's events (sse.h) or a non-streaming response body,
 * whichever is given; *usage gets a copy of the last usage object seen
 * (merged across Anthropic's message_start and message_delta), or NULL.
 * Returns NULL on allocation failure. */
cJSON *sx_assemble_message(const cJSON *events, const cJSON *response, cJSON **usage);

/* The same, fed one response or event data at a time (each may be freed
 * after its feed).  new returns NULL when out of memory; feed and end take
 * NULL too (end then returns NULL). */
struct sx_assembler;
struct sx_assembler *sx_assembler_new(void);
void sx_assembler_feed(struct sx_assembler *x, const cJSON *data);
/* The same from a response's or event's text as sx_json_compact() made it
 * (jsonraw.h), read in place, no tree: 0 when fed, -1 when the text needs
 * cJSON's reading after all (escaped names, odd shapes, rare events): the
 * caller then parses it and calls sx_assembler_feed(); nothing was fed. */
int sx_assembler_feed_compact(struct sx_assembler *x, const char *text, size_t len);
/* The message, as sx_assemble_message() returns it; frees x. */
cJSON *sx_assembler_end(struct sx_assembler *x, cJSON **usage);

/* Removes "reasoning_content", "reasoning" and "thinking" keys everywhere
 * in j (--no-reasoning). */
void sx_strip_reasoning(cJSON *j);
