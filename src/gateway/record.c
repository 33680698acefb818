/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * record.c - one capture record.  Shared by live calls (llmproxy.c) and by
 * crash recovery (capture.c), so a recovered call looks like any other.
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/jsonraw.h"
#include "../lib/jsonutil.h"
#include "../lib/util.h"
#include "assemble.h"
#include "record.h"
#include "sse.h"

/* A number printed here rather than by cJSON, whose sprintf and sscanf
 * round trip per number was a tenth of a small record's CPU: integers
 * exactly, others (latencies in ms) to the microsecond. */
static cJSON *number(double v)
{
	char buf[48];
	int n;

	if (!isfinite(v))
		return cJSON_CreateNull(); /* as cJSON prints it */
	if (v == (double)(long long)v && v > -1e15 && v < 1e15)
		n = snprintf(buf, sizeof(buf), "%lld", (long long)v);
	else {
		n = snprintf(buf, sizeof(buf), "%.3f", v);
		while (n > 1 && buf[n - 1] == '0' && buf[n - 2] != '.')
			buf[--n] = 0;
	}
	return n > 0 ? cJSON_CreateRaw(buf) : cJSON_CreateNumber(v);
}

static cJSON *number_or_null(double v, bool present)
{
	return present ? number(v) : cJSON_CreateNull();
}

/* The integers of a usage object (token counts) the same way. */
static void raw_integers(cJSON *j)
{
	cJSON *it, *next, *raw;

	for (it = j ? j->child : NULL; it; it = next) {
		next = it->next;
		if (cJSON_IsNumber(it) && it->valuedouble == (double)(long long)it->valuedouble &&
		    (raw = number(it->valuedouble)))
			cJSON_ReplaceItemViaPointer(j, it, raw);
		else
			raw_integers(it);
	}
}

/* True when the head's strings are UTF-8: the request kept as its checked
 * text (a cJSON_Raw item), the other members checked here. */
static bool head_clean(const cJSON *head)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, head)
	{
		if (cJSON_IsString(it) && !sx_utf8_valid(it->valuestring))
			return false;
		if ((cJSON_IsObject(it) || cJSON_IsArray(it)) ||
		    (streq_ptr(it->string, "request") && !cJSON_IsRaw(it) && !cJSON_IsNull(it)))
			return false;
	}
	return true;
}

/* A response body as JSON, else as a string. */
static cJSON *parsed_response(const char *body, size_t len)
{
	cJSON *j = sx_json_parse_depth(body, len, SX_JSON_EMBED_DEPTH);
	if (!j) {
		_cleanup_free_ char *s = strndup(body, len);
		j = s ? cJSON_CreateString(s) : NULL;
	}
	return j;
}

/* The same, but JSON kept as its own text, compacted, which feeds x in
 * place (parsed only when that cannot). */
static cJSON *raw_response(const char *body, size_t len, struct sx_assembler *x)
{
	char *text = NULL;
	cJSON *j;

	if (sx_json_compact(body, len, SX_JSON_EMBED_DEPTH, &text, NULL) == 0) {
		if (sx_assembler_feed_compact(x, text, strlen(text)) < 0) {
			_cleanup_cjson_ cJSON *parsed =
			    sx_json_parse_depth(text, strlen(text), SX_JSON_EMBED_DEPTH);
			sx_assembler_feed(x, parsed);
		}
		return sx_json_raw_item(text);
	}
	j = parsed_response(body, len);
	if (!cJSON_IsString(j))
		sx_assembler_feed(x, j);
	return j;
}

char *sx_record_finish(cJSON *head, const char *body, size_t len, const struct sx_record_end *e)
{
	_cleanup_cjson_ cJSON *r = head;
	cJSON *events = NULL, *response = NULL, *message, *usage = NULL, *o;
	/* Known to be UTF-8 all through: then the printed record needs no
	 * second pass over its bytes. */
	bool clean = head_clean(head) && sx_utf8_valid(e->error);
	const cJSON *req = cJSON_GetObjectItemCaseSensitive(head, "request");
	size_t estimate = 2048 + len + (cJSON_IsRaw(req) ? strlen(req->valuestring) : 0);
	char *text;

	if (!r)
		return NULL;
	cJSON_AddItemToObject(r, "status", number_or_null((double)e->status, e->status >= 0));
	if (!e->no_reasoning) {
		/* Nothing to strip: the answer is embedded as its own text,
		 * parsed only for the message. */
		struct sx_assembler *x = sx_assembler_new();
		bool all_raw = true;
		if (e->sse)
			events = sx_sse_events_raw(body ? body : "", len, x, &all_raw);
		else if (len) {
			response = raw_response(body, len, x);
			all_raw = cJSON_IsRaw(response);
		}
		message = sx_assembler_end(x, &usage);
		clean = clean && all_raw;
	} else {
		clean = false;
		if (e->sse)
			events = sx_sse_events(body ? body : "", len);
		else if (len)
			response = parsed_response(body, len);
		message = sx_assemble_message(events, response, &usage);
	}
	if (e->no_reasoning) {
		sx_strip_reasoning(events);
		sx_strip_reasoning(response);
		if (message)
			cJSON_ReplaceItemInObjectCaseSensitive(message, "reasoning", cJSON_CreateNull());
	}
	if (e->sse)
		cJSON_AddItemToObject(r, "events", events ? events : cJSON_CreateArray());
	else
		cJSON_AddItemToObject(r, "response", response ? response : cJSON_CreateNull());
	cJSON_AddItemToObject(r, "message", message ? message : cJSON_CreateNull());
	raw_integers(usage);
	cJSON_AddItemToObject(r, "usage", usage ? usage : cJSON_CreateNull());
	o = cJSON_AddObjectToObject(r, "latency_ms");
	if (o) {
		cJSON_AddItemToObject(o, "first_byte",
				      number_or_null(e->first_byte_ms, e->first_byte_ms >= 0));
		cJSON_AddItemToObject(o, "total", number(e->total_ms));
	}
	o = cJSON_AddObjectToObject(r, "bytes");
	if (o) {
		cJSON_AddItemToObject(o, "request", number((double)e->request_bytes));
		cJSON_AddItemToObject(o, "response", number((double)len));
	}
	cJSON_AddItemToObject(r, "error", e->error ? cJSON_CreateString(e->error) : cJSON_CreateNull());
	cJSON_AddBoolToObject(r, "complete", e->complete);
	/* One buffer the size of the record: no growing copies of a big
	 * request. */
	text = cJSON_PrintBuffered(r, estimate < INT_MAX ? (int)estimate : INT_MAX, false);
	/* cJSON copies strings byte for byte: a request or response that is
	 * not UTF-8 would make the record, and with it the whole capture file,
	 * invalid JSON. */
	return clean ? text : sx_utf8_clean(text);
}
