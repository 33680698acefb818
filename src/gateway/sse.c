/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * sse.c - event-stream parsing as the WHATWG HTML standard defines it
 * (section "Server-sent events", "Interpreting an event stream"): lines end
 * in CRLF, LF or CR; "field: value" with one optional space after the
 * colon; lines starting with ':' are comments; data lines join with '\n';
 * a blank line dispatches.  No library in Debian parses this format, and
 * it is line splitting rather than a grammar.
 *
 * One reader yields the events; two builders make the record's "events"
 * from them: a tree (sx_sse_events) and, for a record that is only printed,
 * the array's text written at once (sx_sse_events_raw): a stream of
 * thousands of deltas then costs no allocation per event.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "../lib/buf.h"
#include "../lib/jsonraw.h"
#include "../lib/jsonutil.h"
#include "../lib/util.h"
#include "assemble.h"
#include "sse.h"

/* An event: name and data point into the body, or data into joined when
 * it has more than one line. */
struct event {
	const char *name, *data;
	size_t name_len, data_len;
	bool has_name, has_data;
};

struct reader {
	const char *p, *end;
	struct sx_buf joined;
};

/* The first CR or LF from p (end if none). */
static const char *line_end(const char *p, const char *end)
{
#ifdef __SSE2__
	const __m128i lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');
	while (p + 16 <= end) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		int mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr)));
		if (mask)
			return p + __builtin_ctz((unsigned)mask);
		p += 16;
	}
#endif
	while (p < end && *p != '\n' && *p != '\r')
		p++;
	return p;
}

static int field(struct reader *r, struct event *e, const char *line, size_t n)
{
	const char *colon = memchr(line, ':', n);
	size_t name_len = colon ? (size_t)(colon - line) : n;
	const char *v = colon ? colon + 1 : line + n;
	size_t vlen = colon ? n - name_len - 1 : 0;

	if (vlen && *v == ' ')
		v++, vlen--;
	if (name_len == 4 && memcmp(line, "data", 4) == 0) {
		if (!e->has_data) {
			e->data = v;
			e->data_len = vlen;
			e->has_data = true;
			return 0;
		}
		if (e->data != r->joined.p) { /* a second line: the data is copied and joined */
			r->joined.len = 0;
			if (sx_buf_add(&r->joined, e->data, e->data_len) < 0)
				return -1;
		}
		if (sx_buf_add(&r->joined, "\n", 1) < 0 || sx_buf_add(&r->joined, v, vlen) < 0)
			return -1;
		e->data = r->joined.p;
		e->data_len = r->joined.len;
	} else if (name_len == 5 && memcmp(line, "event", 5) == 0) {
		e->name = v;
		e->name_len = vlen;
		e->has_name = true;
	}
	return 0; /* id, retry and unknown fields do not matter for a record */
}

/* The next event that has data (others are dropped, as a browser does);
 * a last one cut short (no blank line) counts.  1, 0 at the end, -1 when
 * out of memory. */
static int next_event(struct reader *r, struct event *e)
{
	*e = (struct event){0};
	while (r->p < r->end) {
		const char *start = r->p, *eol = line_end(r->p, r->end);
		size_t n = (size_t)(eol - start);
		r->p = eol;
		if (r->p < r->end && *r->p == '\r' && r->p + 1 < r->end && r->p[1] == '\n')
			r->p++;
		if (r->p < r->end)
			r->p++;
		if (n == 0) {
			if (e->has_data)
				return 1;
			*e = (struct event){0};
		} else if (*start != ':' && field(r, e, start, n) < 0)
			return -1;
	}
	return e->has_data ? 1 : 0;
}

cJSON *sx_sse_events(const char *body, size_t len)
{
	struct reader r = {body, body + len, {0}};
	cJSON *out = cJSON_CreateArray();
	struct event e;
	int k = 0;

	if (!out)
		return NULL;
	while ((k = next_event(&r, &e)) > 0) {
		cJSON *item = cJSON_CreateObject(),
		      *data = sx_json_parse_depth(e.data, e.data_len, SX_JSON_EMBED_DEPTH);
		_cleanup_free_ char *name = e.has_name ? strndup(e.name, e.name_len) : NULL;
		if (!data) {
			_cleanup_free_ char *s = strndup(e.data, e.data_len);
			data = s ? cJSON_CreateString(s) : NULL;
		}
		if (!item || !data ||
		    (e.has_name && (!name || !cJSON_AddStringToObject(item, "event", name)))) {
			cJSON_Delete(item);
			cJSON_Delete(data);
			k = -1;
			break;
		}
		cJSON_AddItemToObject(item, "data", data);
		cJSON_AddItemToArray(out, item);
	}
	sx_buf_free(&r.joined);
	if (k < 0) {
		cJSON_Delete(out);
		return NULL;
	}
	return out;
}

static int add_printed(struct sx_buf *b, cJSON *item)
{
	_cleanup_free_ char *s = item ? cJSON_PrintUnformatted(item) : NULL;
	return s ? sx_buf_add(b, s, strlen(s)) : -1;
}

/* One event's data: JSON compacted straight into b (and read in place by
 * the assembler), else what the tree builder would have made of it. */
static int add_data(struct sx_buf *b, const struct event *e, struct sx_assembler *x, bool *all_raw)
{
	size_t n;

	if (sx_buf_reserve(b, e->data_len + 1) < 0)
		return -1;
	if (sx_json_compact_to(e->data, e->data_len, SX_JSON_EMBED_DEPTH, b->p + b->len, &n, NULL) == 0) {
		if (sx_assembler_feed_compact(x, b->p + b->len, n) < 0) {
			_cleanup_cjson_ cJSON *parsed =
			    sx_json_parse_depth(b->p + b->len, n, SX_JSON_EMBED_DEPTH);
			sx_assembler_feed(x, parsed);
		}
		b->len += n;
		return 0;
	}
	/* Not JSON as a record embeds it (not UTF-8, too deep): parsed if
	 * cJSON can, else a string. */
	_cleanup_cjson_ cJSON *parsed = sx_json_parse_depth(e->data, e->data_len, SX_JSON_EMBED_DEPTH);
	if (parsed) {
		*all_raw = false;
		sx_assembler_feed(x, parsed);
		return add_printed(b, parsed);
	}
	return sx_json_add_string(b, e->data, strnlen(e->data, e->data_len), all_raw);
}

cJSON *sx_sse_events_raw(const char *body, size_t len, struct sx_assembler *x, bool *all_raw)
{
	struct reader r = {body, body + len, {0}};
	struct sx_buf out = {0};
	struct event e;
	bool first = true;
	int k;

	*all_raw = true;
	/* About the body's size: the events are its data, compacted. */
	if (sx_buf_reserve(&out, len + 64) < 0 || sx_buf_add(&out, "[", 1) < 0)
		goto fail;
	while ((k = next_event(&r, &e)) > 0) {
		if (sx_buf_add(&out, first ? "{" : ",{", first ? 1 : 2) < 0)
			goto fail;
		first = false;
		if (e.has_name &&
		    (sx_buf_add(&out, "\"event\":", 8) < 0 ||
		     sx_json_add_string(&out, e.name, strnlen(e.name, e.name_len), all_raw) < 0 ||
		     sx_buf_add(&out, ",", 1) < 0))
			goto fail;
		if (sx_buf_add(&out, "\"data\":", 7) < 0 || add_data(&out, &e, x, all_raw) < 0 ||
		    sx_buf_add(&out, "}", 1) < 0)
			goto fail;
	}
	if (k < 0 || sx_buf_add(&out, "]", 2) < 0) /* the NUL too */
		goto fail;
	sx_buf_free(&r.joined);
	return sx_json_raw_item(out.p, out.len - 1); /* out.len counts the NUL */
fail:
	sx_buf_free(&r.joined);
	sx_buf_free(&out);
	return NULL;
}
