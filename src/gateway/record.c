/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * record.c - one capture record.  Shared by live calls (llmproxy.c) and by
 * crash recovery (capture.c), so a recovered call looks like any other.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "../lib/jsonraw.h"
#include "../lib/jsonutil.h"
#include "../lib/util.h"
#include "assemble.h"
#include "record.h"
#include "sse.h"

/* A number printed here rather than by cJSON, whose sprintf and sscanf
 * round trip per number was a tenth of a small record's CPU: integers
 * exactly, others (latencies in ms) to the microsecond.  buf holds 48
 * bytes; returns the length, 0 for a number JSON has not (printed null, as
 * cJSON prints it). */
/* An integer printed exactly (the range first: casting a larger double is
 * undefined). */
static bool small_integer(double v)
{
	return v > -1e15 && v < 1e15 && v == (double)(long long)v;
}

static int format_number(char *buf, double v)
{
	int n;

	if (!isfinite(v))
		return 0;
	if (small_integer(v))
		n = snprintf(buf, 48, "%lld", (long long)v);
	else {
		n = snprintf(buf, 48, "%.3f", v);
		while (n > 1 && buf[n - 1] == '0' && buf[n - 2] != '.')
			buf[--n] = 0;
	}
	return n > 0 && n < 48 ? n : 0;
}

static cJSON *number(double v)
{
	char buf[48];

	return format_number(buf, v) ? cJSON_CreateRaw(buf) : cJSON_CreateNull();
}

/* The integers of a usage object (token counts) the same way. */
static void raw_integers(cJSON *j)
{
	cJSON *it, *next, *raw;

	for (it = j ? j->child : NULL; it; it = next) {
		next = it->next;
		if (cJSON_IsNumber(it) && small_integer(it->valuedouble) && (raw = number(it->valuedouble))) {
			/* The member's name goes with it (replacing by pointer
			 * keeps none: records had "usage":{"":512,...}). */
			raw->string = it->string;
			raw->type |= it->type & cJSON_StringIsConst;
			it->string = NULL;
			cJSON_ReplaceItemViaPointer(j, it, raw);
		} else
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
	cJSON *j;

	if (sx_json_compact_raw(body, len, SX_JSON_EMBED_DEPTH, &j, NULL) == 0) {
		size_t n = sx_json_raw_len(j);
		if (sx_assembler_feed_compact(x, j->valuestring, n) < 0) {
			_cleanup_cjson_ cJSON *parsed =
			    sx_json_parse_depth(j->valuestring, n, SX_JSON_EMBED_DEPTH);
			sx_assembler_feed(x, parsed);
		}
		return j;
	}
	j = parsed_response(body, len);
	if (!cJSON_IsString(j))
		sx_assembler_feed(x, j);
	return j;
}

/* ---- the record's text, printed here: a tree of it cost more than the
 * rest of a small record (an allocation per member, cJSON's copy and
 * strlen of the request and the events text) ---- */

struct out {
	struct sx_buf b;
	bool failed;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (!o->failed && sx_buf_add(&o->b, s, n) < 0)
		o->failed = true;
}

static void put_str(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* ,"key": (the first member without its comma) */
static void put_key(struct out *o, const char *key)
{
	put(o, o->b.len > 1 ? ",\"" : "\"", o->b.len > 1 ? 2 : 1);
	put_str(o, key);
	put(o, "\":", 2);
}

static void put_number(struct out *o, double v, bool present)
{
	char buf[48];
	int n = present ? format_number(buf, v) : 0;

	if (n)
		put(o, buf, (size_t)n);
	else
		put(o, "null", 4);
}

static void put_string(struct out *o, const char *s)
{
	if (!s)
		put(o, "null", 4);
	else if (!o->failed && sx_json_add_string(&o->b, s, strlen(s), NULL) < 0)
		o->failed = true;
}

/* Any item as cJSON prints it; a raw text (the request, a compacted
 * answer, the events) as it is. */
static void put_item(struct out *o, const cJSON *item)
{
	char *text;

	if (!item || cJSON_IsNull(item))
		put(o, "null", 4);
	else if (cJSON_IsRaw(item))
		put(o, item->valuestring, sx_json_raw_len(item));
	else if (cJSON_IsString(item))
		put_string(o, item->valuestring);
	else if (cJSON_IsTrue(item) || cJSON_IsFalse(item))
		put_str(o, cJSON_IsTrue(item) ? "true" : "false");
	else if ((text = cJSON_PrintUnformatted(item))) {
		put_str(o, text);
		free(text);
	} else
		o->failed = true;
}

char *sx_record_finish_n(cJSON *head, const char *body, size_t len, const struct sx_record_end *e,
			 size_t *text_len)
{
	_cleanup_cjson_ cJSON *h = head;
	_cleanup_cjson_ cJSON *events = NULL;
	_cleanup_cjson_ cJSON *response = NULL;
	_cleanup_cjson_ cJSON *message = NULL;
	_cleanup_cjson_ cJSON *usage = NULL;
	/* Known to be UTF-8 all through: then the printed record needs no
	 * second pass over its bytes. */
	bool clean = head_clean(head) && sx_utf8_valid(e->error);
	const cJSON *req = cJSON_GetObjectItemCaseSensitive(head, "request"), *it;
	struct out o = {0};

	if (!h)
		return NULL;
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
		sx_strip_reasoning(events);
		sx_strip_reasoning(response);
		if (message)
			cJSON_ReplaceItemInObjectCaseSensitive(message, "reasoning", cJSON_CreateNull());
	}
	raw_integers(usage);
	/* One buffer the size of the record: no growing copies of a big
	 * request or answer. */
	if (sx_buf_reserve(&o.b, 2048 + len + (cJSON_IsRaw(req) ? sx_json_raw_len(req) : 0)) < 0)
		return NULL;
	put(&o, "{", 1);
	cJSON_ArrayForEach(it, head)
	{
		put_key(&o, it->string);
		put_item(&o, it);
	}
	put_key(&o, "status");
	put_number(&o, (double)e->status, e->status >= 0);
	if (e->sse) {
		put_key(&o, "events");
		if (events)
			put_item(&o, events);
		else
			put(&o, "[]", 2);
	} else {
		put_key(&o, "response");
		put_item(&o, response);
	}
	put_key(&o, "message");
	put_item(&o, message);
	put_key(&o, "usage");
	put_item(&o, usage);
	put(&o, ",\"latency_ms\":{\"first_byte\":", 28);
	put_number(&o, e->first_byte_ms, e->first_byte_ms >= 0);
	put(&o, ",\"total\":", 9);
	put_number(&o, e->total_ms, true);
	put(&o, "},\"bytes\":{\"request\":", 21);
	put_number(&o, (double)e->request_bytes, true);
	put(&o, ",\"response\":", 12);
	put_number(&o, (double)len, true);
	put(&o, "}", 1);
	put_key(&o, "error");
	put_string(&o, e->error);
	put_key(&o, "complete");
	put_str(&o, e->complete ? "true" : "false");
	put(&o, "}", 2); /* and the NUL */
	if (o.failed) {
		sx_buf_free(&o.b);
		return NULL;
	}
	if (clean) {
		*text_len = o.b.len - 1; /* without the NUL */
		return o.b.p;
	}
	/* Strings are copied byte for byte: a request or response that is not
	 * UTF-8 would make the record, and with it the whole capture file,
	 * invalid JSON. */
	char *cleaned = sx_utf8_clean(o.b.p);
	if (cleaned)
		*text_len = strlen(cleaned);
	return cleaned;
}

char *sx_record_finish(cJSON *head, const char *body, size_t len, const struct sx_record_end *e)
{
	size_t n;
	return sx_record_finish_n(head, body, len, e, &n);
}
