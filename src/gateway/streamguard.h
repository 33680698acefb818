/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * streamguard.h - the inline guardrail on a streamed answer (block mode):
 * the server-sent events pass to the client as they come, except a tool
 * call's, which are held back until the call's arguments are complete,
 * scanned (HIGH rules, tool-call scope), then released or replaced by an
 * error event that ends the stream.  OpenAI (choices[].delta.tool_calls)
 * and Anthropic (tool_use blocks, input_json_delta) shapes.
 *
 * Linear in the answer's length: each event is looked at once, each tool
 * call's arguments are assembled once and scanned once (a call holding
 * more than SX_STREAMGUARD_CAP bytes is scanned and released in pieces
 * that overlap, so a value across a piece's edge is still seen).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define SX_STREAMGUARD_CAP (1024 * 1024)

struct sx_guardrail;
struct sx_streamguard;

/* What the client is sent: called with bytes in order. */
typedef void (*sx_emit_fn)(void *userdata, const char *data, size_t len);

/* A guard for one stream; anthropic: the provider speaks Anthropic's
 * Messages API.  Keeps a reference on gr.  NULL when out of memory. */
struct sx_streamguard *sx_streamguard_new(struct sx_guardrail *gr, bool anthropic);
void sx_streamguard_free(struct sx_streamguard *sg);

/* Feeds upstream bytes; emits what may go to the client now.  Returns 0, or
 * 1 when a tool call was blocked: the error event has been emitted, and
 * the rest of the stream must be dropped. */
int sx_streamguard_feed(struct sx_streamguard *sg, const char *data, size_t len, sx_emit_fn emit, void *ud);

/* The upstream ended: what is held is scanned and released (or blocked,
 * returning 1 as above).  A partial last event is released as it is. */
int sx_streamguard_end(struct sx_streamguard *sg, sx_emit_fn emit, void *ud);

/* Why the stream was blocked (for the record), or NULL. */
const char *sx_streamguard_why(const struct sx_streamguard *sg);
