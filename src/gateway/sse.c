/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * sse.c - event-stream parsing as the WHATWG HTML standard defines it
 * (section "Server-sent events", "Interpreting an event stream"): lines end
 * in CRLF, LF or CR; "field: value" with one optional space after the
 * colon; lines starting with ':' are comments; data lines join with '\n';
 * a blank line dispatches.  No library in Debian parses this format, and
 * it is line splitting rather than a grammar.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/jsonraw.h"
#include "../lib/jsonutil.h"
#include "../lib/util.h"
#include "assemble.h"
#include "sse.h"

struct event {
	char *name;
	char *data;
	size_t data_len;
	bool has_data;
};

static int append_data(struct event *e, const char *v, size_t n)
{
	char *d = realloc(e->data, e->data_len + n + 2);
	if (!d)
		return -1;
	e->data = d;
	if (e->has_data)
		e->data[e->data_len++] = '\n';
	memcpy(e->data + e->data_len, v, n);
	e->data_len += n;
	e->data[e->data_len] = 0;
	e->has_data = true;
	return 0;
}

/* The data as the record holds it: parsed (raw NULL), or, when raw is an
 * assembler, as its own text compacted (cJSON_Raw) while the parse only
 * feeds the assembler. */
static cJSON *event_data(const struct event *e, struct sx_assembler *raw, bool *all_raw)
{
	char *text = NULL;
	cJSON *parsed;

	if (raw && sx_json_compact(e->data, e->data_len, SX_JSON_EMBED_DEPTH, &text, NULL) == 0) {
		parsed = sx_json_parse_depth(e->data, e->data_len, SX_JSON_EMBED_DEPTH);
		sx_assembler_feed(raw, parsed);
		cJSON_Delete(parsed);
		return sx_json_raw_item(text);
	}
	*all_raw = false;
	parsed = sx_json_parse_depth(e->data, e->data_len, SX_JSON_EMBED_DEPTH);
	if (parsed && raw)
		sx_assembler_feed(raw, parsed);
	return parsed ? parsed : cJSON_CreateString(e->data);
}

static int dispatch(struct event *e, cJSON *out, struct sx_assembler *raw, bool *all_raw)
{
	cJSON *item, *data = NULL;

	if (e->has_data) {
		data = event_data(e, raw, all_raw);
		if (e->name && !sx_utf8_valid(e->name))
			*all_raw = false;
		item = cJSON_CreateObject();
		if (!data || !item) {
			cJSON_Delete(data);
			cJSON_Delete(item);
			return -1;
		}
		if (e->name)
			cJSON_AddStringToObject(item, "event", e->name);
		cJSON_AddItemToObject(item, "data", data);
		cJSON_AddItemToArray(out, item);
	}
	free(e->name);
	free(e->data);
	*e = (struct event){0};
	return 0;
}

static int field(struct event *e, const char *line, size_t n)
{
	const char *colon = memchr(line, ':', n);
	size_t name_len = colon ? (size_t)(colon - line) : n;
	const char *v = colon ? colon + 1 : line + n;
	size_t vlen = colon ? n - name_len - 1 : 0;

	if (vlen && *v == ' ')
		v++, vlen--;
	if (name_len == 4 && memcmp(line, "data", 4) == 0)
		return append_data(e, v, vlen);
	if (name_len == 5 && memcmp(line, "event", 5) == 0) {
		free(e->name);
		e->name = strndup(v, vlen);
		return e->name ? 0 : -1;
	}
	return 0; /* id, retry and unknown fields do not matter for a record */
}

cJSON *sx_sse_events_raw(const char *body, size_t len, struct sx_assembler *raw, bool *all_raw)
{
	*all_raw = true;
	cJSON *out = cJSON_CreateArray();
	struct event e = {0};
	size_t i = 0;

	if (!out)
		return NULL;
	while (i < len) {
		size_t start = i;
		while (i < len && body[i] != '\n' && body[i] != '\r')
			i++;
		size_t n = i - start;
		if (i < len && body[i] == '\r' && i + 1 < len && body[i + 1] == '\n')
			i++;
		if (i < len)
			i++;
		if (n == 0) {
			if (dispatch(&e, out, raw, all_raw) < 0)
				goto fail;
		} else if (body[start] != ':' && field(&e, body + start, n) < 0)
			goto fail;
	}
	if (dispatch(&e, out, raw, all_raw) < 0)
		goto fail;
	return out;
fail:
	free(e.name);
	free(e.data);
	cJSON_Delete(out);
	return NULL;
}

cJSON *sx_sse_events(const char *body, size_t len)
{
	bool all_raw;
	return sx_sse_events_raw(body, len, NULL, &all_raw);
}
