/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * assemble.c - message assembly.  The shapes handled:
 *
 *   OpenAI chat completions: choices[0].message {content, reasoning_content
 *   or reasoning, tool_calls[{id, function{name, arguments}}]}; streamed as
 *   choices[0].delta pieces, tool calls keyed by their index; usage at the
 *   top level (the last chunk when stream_options.include_usage).
 *
 *   Anthropic messages: content blocks {type text|thinking|tool_use}; streamed
 *   as content_block_start / content_block_delta {text_delta, thinking_delta,
 *   input_json_delta} keyed by block index; usage in message_start and
 *   message_delta.
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/jsonutil.h"
#include "../lib/jsonwalk.h"
#include "../lib/util.h"
#include "assemble.h"

/* The message is built as cJSON from the start: text, reasoning and each
 * tool call's pieces are appended to its strings.  A string that grows
 * keeps its length and capacity here, so that a stream of N deltas costs
 * O(N), not a copy of the text so far per delta. */
struct grown {
	cJSON *item;
	size_t len, cap;
};

struct acc {
	cJSON *msg; /* {"text", "reasoning", "tool_calls": [{"index", "id", "name", "arguments"}]} */
	cJSON *usage;
	struct grown *grown;
	size_t n_grown;
	char *tmp[3]; /* strings unescaped by feed_compact() */
	size_t tmp_cap[3];
	/* The last simple OpenAI chunk's text around its one string (see
	 * same_shape()): shape[0, pre) and shape[pre, pre + post). */
	char *shape;
	size_t pre, post, shape_cap;
	int shape_field; /* which of to[] the string goes to; -1: none */
};

static struct grown *grown_of(struct acc *a, cJSON *item)
{
	struct grown *g;

	for (size_t i = 0; i < a->n_grown; i++)
		if (a->grown[i].item == item)
			return &a->grown[i];
	g = realloc(a->grown, (a->n_grown + 1) * sizeof(*g));
	if (!g)
		return NULL;
	a->grown = g;
	g = &a->grown[a->n_grown++];
	g->item = item;
	g->len = strlen(item->valuestring);
	g->cap = g->len + 1;
	return g;
}

/* Appends s to the string obj[key], creating it (replacing a null). */
static void append(struct acc *a, cJSON *obj, const char *key, const char *s)
{
	cJSON *cur = cJSON_GetObjectItemCaseSensitive(obj, key);
	struct grown *g;
	size_t n;

	if (!obj || !s || !*s)
		return;
	if (!cJSON_IsString(cur)) {
		if (cur)
			cJSON_ReplaceItemInObjectCaseSensitive(obj, key, cJSON_CreateString(s));
		else
			cJSON_AddStringToObject(obj, key, s);
		return;
	}
	g = grown_of(a, cur);
	if (!g)
		return;
	n = strlen(s);
	if (g->len + n + 1 > g->cap) {
		size_t cap = g->cap * 2 > g->len + n + 1 ? g->cap * 2 : g->len + n + 1;
		/* cJSON frees valuestring with free() (no hooks are set). */
		char *p = realloc(cur->valuestring, cap);
		if (!p)
			return;
		cur->valuestring = p;
		g->cap = cap;
	}
	memcpy(cur->valuestring + g->len, s, n + 1);
	g->len += n;
}

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The tool call with this index (OpenAI) or block index (Anthropic). */
static cJSON *tool_at(struct acc *a, int index)
{
	cJSON *calls = cJSON_GetObjectItemCaseSensitive(a->msg, "tool_calls"), *t;
	cJSON_ArrayForEach(t, calls)
	{
		if (cJSON_GetObjectItemCaseSensitive(t, "index")->valueint == index)
			return t;
	}
	t = cJSON_CreateObject();
	if (!t)
		return NULL;
	cJSON_AddNumberToObject(t, "index", index);
	cJSON_AddNullToObject(t, "id");
	cJSON_AddNullToObject(t, "name");
	cJSON_AddStringToObject(t, "arguments", "");
	cJSON_AddItemToArray(calls, t);
	return t;
}

/* Sets t[key] to s unless it is set already (ids and names come once). */
static void set_once(cJSON *t, const char *key, const char *s)
{
	if (t && s && cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(t, key)))
		cJSON_ReplaceItemInObjectCaseSensitive(t, key, cJSON_CreateString(s));
}

/* Merges usage objects: later keys win, earlier ones stay (Anthropic sends
 * input tokens first, output tokens at the end). */
static void merge_usage(struct acc *a, const cJSON *u)
{
	const cJSON *it;
	if (!cJSON_IsObject(u))
		return;
	if (!a->usage)
		a->usage = cJSON_CreateObject();
	cJSON_ArrayForEach(it, u)
	{
		cJSON *copy = cJSON_Duplicate(it, true);
		if (!copy)
			continue;
		if (cJSON_GetObjectItemCaseSensitive(a->usage, it->string))
			cJSON_ReplaceItemInObjectCaseSensitive(a->usage, it->string, copy);
		else
			cJSON_AddItemToObject(a->usage, it->string, copy);
	}
}

static void openai_tool_calls(struct acc *a, const cJSON *calls)
{
	const cJSON *c;
	int i = 0;
	cJSON_ArrayForEach(c, calls)
	{
		const cJSON *idx = cJSON_GetObjectItemCaseSensitive(c, "index");
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(c, "function");
		cJSON *t = tool_at(a, cJSON_IsNumber(idx) ? idx->valueint : i);
		i++;
		set_once(t, "id", str(c, "id"));
		set_once(t, "name", str(fn, "name"));
		append(a, t, "arguments", str(fn, "arguments"));
	}
}

/* One OpenAI message or delta object. */
static void openai_part(struct acc *a, const cJSON *m)
{
	append(a, a->msg, "text", str(m, "content"));
	append(a, a->msg, "reasoning", str(m, "reasoning_content"));
	append(a, a->msg, "reasoning", str(m, "reasoning"));
	openai_tool_calls(a, cJSON_GetObjectItemCaseSensitive(m, "tool_calls"));
}

static void openai_chunk(struct acc *a, const cJSON *data)
{
	const cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(data, "choices"), 0);
	const cJSON *part = cJSON_GetObjectItemCaseSensitive(choice, "delta");
	if (!part)
		part = cJSON_GetObjectItemCaseSensitive(choice, "message");
	if (part)
		openai_part(a, part);
	merge_usage(a, cJSON_GetObjectItemCaseSensitive(data, "usage"));
}

static void anthropic_block(struct acc *a, const cJSON *block, int index)
{
	const char *type = str(block, "type");
	if (!type)
		return;
	if (streq(type, "text"))
		append(a, a->msg, "text", str(block, "text"));
	else if (streq(type, "thinking"))
		append(a, a->msg, "reasoning", str(block, "thinking"));
	else if (streq(type, "tool_use")) {
		cJSON *t = tool_at(a, index);
		const cJSON *input = cJSON_GetObjectItemCaseSensitive(block, "input");
		set_once(t, "id", str(block, "id"));
		set_once(t, "name", str(block, "name"));
		/* Streamed tool_use starts with input {} and sends the JSON in
		 * pieces; a complete block carries it whole. */
		if (cJSON_IsObject(input) && input->child) {
			char *s = cJSON_PrintUnformatted(input);
			append(a, t, "arguments", s);
			free(s);
		}
	}
}

static void anthropic_event(struct acc *a, const cJSON *data)
{
	const char *type = str(data, "type");
	const cJSON *idx = cJSON_GetObjectItemCaseSensitive(data, "index");
	int index = cJSON_IsNumber(idx) ? idx->valueint : 0;

	if (!type)
		return;
	if (streq(type, "message_start")) {
		merge_usage(a,
			    cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(data, "message"), "usage"));
	} else if (streq(type, "content_block_start")) {
		anthropic_block(a, cJSON_GetObjectItemCaseSensitive(data, "content_block"), index);
	} else if (streq(type, "content_block_delta")) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(data, "delta");
		const char *dt = str(d, "type");
		if (!dt)
			return;
		if (streq(dt, "text_delta"))
			append(a, a->msg, "text", str(d, "text"));
		else if (streq(dt, "thinking_delta"))
			append(a, a->msg, "reasoning", str(d, "thinking"));
		else if (streq(dt, "input_json_delta"))
			append(a, tool_at(a, index), "arguments", str(d, "partial_json"));
	} else if (streq(type, "message_delta"))
		merge_usage(a, cJSON_GetObjectItemCaseSensitive(data, "usage"));
}

static void anthropic_message(struct acc *a, const cJSON *response)
{
	const cJSON *block;
	int i = 0;
	cJSON_ArrayForEach(block, cJSON_GetObjectItemCaseSensitive(response, "content"))
	{
		anthropic_block(a, block, i++);
	}
	merge_usage(a, cJSON_GetObjectItemCaseSensitive(response, "usage"));
}

static void feed(struct acc *a, const cJSON *data)
{
	if (!cJSON_IsObject(data))
		return;
	if (cJSON_GetObjectItemCaseSensitive(data, "choices"))
		openai_chunk(a, data);
	else if (streq_ptr(str(data, "type"), "message"))
		anthropic_message(a, data);
	else if (str(data, "type"))
		anthropic_event(a, data);
}

/* The text of one streamed event or response, read in place (jsonwalk.h):
 * the strings are unescaped straight from it, and only tool_calls and
 * usage, short and rare, are parsed.  Everything is looked up before
 * anything is appended, so that an UNSURE (the caller then parses the
 * whole text and feeds the tree) leaves the message as it was. */
static int parse_span(struct sx_jw v, cJSON **out)
{
	*out = sx_json_parse_depth(v.p, (size_t)(v.end - v.p), SX_JSON_EMBED_DEPTH);
	return *out ? 0 : -1;
}

/* The string member key of v into a->tmp[slot]: 1 when there is one, 0
 * when there is none (or it is not a string), -1 UNSURE. */
/* String v into a->tmp[slot]: 1, 0 when v is not a string, -1 UNSURE. */
static int unescape(struct acc *a, struct sx_jw v, int slot)
{
	if (!sx_jw_is(v, '"'))
		return 0;
	return sx_jw_string(v, &a->tmp[slot], &a->tmp_cap[slot]) < 0 ? -1 : 1;
}

static int member_string(struct acc *a, struct sx_jw v, const char *key, int slot)
{
	struct sx_jw s;
	enum sx_jw_found f = sx_jw_member(v, key, &s);

	if (f == SX_JW_UNSURE)
		return -1;
	return f == SX_JW_FOUND ? unescape(a, s, slot) : 0;
}

static const char *const to[3] = {"text", "reasoning", "reasoning"};

/* A stream's chunks mostly differ in one string: the id, model, created
 * and every key around the delta's content are the same bytes each time.
 * A chunk whose bytes before and after that string are the last simple
 * chunk's (one of content / reasoning_content / reasoning a string, no
 * tool calls, no usage) means the same, with this string: no walk (two
 * walks of each of thousands of events were a third of a stream's
 * record).  The bytes before a value fix where it is; the text is valid
 * JSON, so the string that opens there closes where it closes in the
 * text, which must be where the bytes after begin.  1 when taken (0 when
 * not the same shape, -1 UNSURE). */
static int same_shape(struct acc *a, const char *text, size_t len)
{
	const char *s, *e;
	int r;

	if (a->shape_field < 0 || len < a->pre + a->post + 2 || memcmp(text, a->shape, a->pre) != 0 ||
	    memcmp(text + len - a->post, a->shape + a->pre, a->post) != 0)
		return 0;
	s = text + a->pre;
	e = text + len - a->post;
	if (!sx_jw_string_ends_at(s, text + len, e))
		return 0;
	r = unescape(a, (struct sx_jw){s, e}, a->shape_field);
	if (r < 0)
		return -1;
	append(a, a->msg, to[a->shape_field], a->tmp[a->shape_field]);
	return 1;
}

/* Keeps text's bytes around its string v (field i) for same_shape(). */
static void keep_shape(struct acc *a, const char *text, size_t len, struct sx_jw v, int i)
{
	size_t pre = (size_t)(v.p - text), post = (size_t)(text + len - v.end);

	a->shape_field = -1;
	if (pre + post > a->shape_cap) {
		char *p = realloc(a->shape, pre + post);
		if (!p)
			return;
		a->shape = p;
		a->shape_cap = pre + post;
	}
	memcpy(a->shape, text, pre);
	memcpy(a->shape + pre, v.end, post);
	a->pre = pre;
	a->post = post;
	a->shape_field = i;
}

/* An OpenAI chunk or message (text, len bytes): choices[0]'s delta (or
 * message) and the top-level usage, each object walked once. */
static int openai_compact(struct acc *a, const char *text, size_t len, struct sx_jw choices,
			  const struct sx_jw *usage)
{
	static const char *const which[2] = {"delta", "message"};
	static const char *const keys[4] = {"content", "reasoning_content", "reasoning", "tool_calls"};
	struct sx_jw choice, part[2], v[4];
	bool has_part[2] = {false, false}, has[4] = {false, false, false, false};
	_cleanup_cjson_ cJSON *calls_j = NULL, *usage_j = NULL;
	int have[3] = {0, 0, 0};

	if (!sx_jw_is(choices, '['))
		return -1; /* cJSON would take an object's first member */
	if (sx_jw_index(choices, 0, &choice) && sx_jw_members(choice, which, 2, part, has_part) < 0)
		return -1;
	if (has_part[0] || has_part[1]) {
		if (sx_jw_members(has_part[0] ? part[0] : part[1], keys, 4, v, has) < 0)
			return -1;
		for (int i = 0; i < 3; i++)
			if (has[i] && (have[i] = unescape(a, v[i], i)) < 0)
				return -1;
		if (has[3] && parse_span(v[3], &calls_j) < 0)
			return -1;
	}
	if (usage && parse_span(*usage, &usage_j) < 0)
		return -1;
	a->shape_field = -1;
	if (!usage && !has[3] && have[0] + have[1] + have[2] == 1 && has[0] + has[1] + has[2] == 1)
		for (int i = 0; i < 3; i++)
			if (have[i])
				keep_shape(a, text, len, v[i], i);
	for (int i = 0; i < 3; i++)
		if (have[i])
			append(a, a->msg, to[i], a->tmp[i]);
	if (calls_j)
		openai_tool_calls(a, calls_j);
	if (usage_j)
		merge_usage(a, usage_j);
	return 0;
}

/* Anthropic's content_block_delta, by far its most frequent event; the
 * others are parsed. */
static int anthropic_compact(struct acc *a, struct sx_jw data)
{
	static const char *const types[3] = {"text_delta", "thinking_delta", "input_json_delta"};
	static const char *const keys[3] = {"text", "thinking", "partial_json"};
	struct sx_jw v, delta;
	enum sx_jw_found f;
	int index = 0, kind = -1, have;

	f = sx_jw_member(data, "index", &v);
	if (f == SX_JW_UNSURE)
		return -1;
	if (f == SX_JW_FOUND && (*v.p == '-' || (*v.p >= '0' && *v.p <= '9'))) {
		/* A plain small integer; cJSON decides about anything else. */
		if (v.end - v.p > 9)
			return -1;
		for (const char *p = v.p; p < v.end; p++) {
			if (*p < '0' || *p > '9')
				return -1;
			index = index * 10 + (*p - '0');
		}
	}
	f = sx_jw_member(data, "delta", &delta);
	if (f == SX_JW_FOUND)
		f = sx_jw_member(delta, "type", &v);
	if (f != SX_JW_FOUND)
		return f == SX_JW_UNSURE ? -1 : 0;
	for (int i = 0; i < 3 && kind < 0; i++) {
		f = sx_jw_string_is(v, types[i]);
		if (f == SX_JW_UNSURE)
			return -1;
		if (f == SX_JW_FOUND)
			kind = i;
	}
	if (kind < 0)
		return 0;
	if ((have = member_string(a, delta, keys[kind], 0)) < 0)
		return -1;
	if (kind == 2)
		append(a, tool_at(a, index), "arguments", have ? a->tmp[0] : NULL);
	else if (have)
		append(a, a->msg, kind == 0 ? "text" : "reasoning", a->tmp[0]);
	return 0;
}

static int feed_compact(struct acc *a, const char *text, size_t len)
{
	static const char *const keys[3] = {"choices", "usage", "type"};
	struct sx_jw data = sx_jw_text(text, len), v[3];
	bool has[3];
	enum sx_jw_found f;
	int r;

	if (!sx_jw_is(data, '{'))
		return 0;
	if ((r = same_shape(a, text, len)) != 0)
		return r < 0 ? -1 : 0;
	if (sx_jw_members(data, keys, 3, v, has) < 0)
		return -1;
	if (has[0])
		return openai_compact(a, text, len, v[0], has[1] ? &v[1] : NULL);
	if (!has[2] || !sx_jw_is(v[2], '"'))
		return 0;
	f = sx_jw_string_is(v[2], "content_block_delta");
	if (f == SX_JW_FOUND)
		return anthropic_compact(a, data);
	return -1; /* message, message_start, content_block_start, ...: parsed */
}

struct sx_assembler {
	struct acc a;
};

struct sx_assembler *sx_assembler_new(void)
{
	struct sx_assembler *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	x->a.shape_field = -1;
	x->a.msg = cJSON_CreateObject();
	if (!x->a.msg || !cJSON_AddNullToObject(x->a.msg, "text") ||
	    !cJSON_AddNullToObject(x->a.msg, "reasoning") ||
	    !cJSON_AddArrayToObject(x->a.msg, "tool_calls")) {
		cJSON_Delete(x->a.msg);
		free(x);
		return NULL;
	}
	return x;
}

void sx_assembler_feed(struct sx_assembler *x, const cJSON *data)
{
	if (x)
		feed(&x->a, data);
}

int sx_assembler_feed_compact(struct sx_assembler *x, const char *text, size_t len)
{
	return x ? feed_compact(&x->a, text, len) : 0;
}

cJSON *sx_assembler_end(struct sx_assembler *x, cJSON **usage)
{
	cJSON *t, *msg;

	*usage = NULL;
	if (!x)
		return NULL;
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(x->a.msg, "tool_calls"))
	{
		cJSON_DeleteItemFromObjectCaseSensitive(t, "index");
	}
	*usage = x->a.usage;
	msg = x->a.msg;
	free(x->a.grown);
	free(x->a.shape);
	for (int i = 0; i < 3; i++)
		free(x->a.tmp[i]);
	free(x);
	return msg;
}

cJSON *sx_assemble_message(const cJSON *events, const cJSON *response, cJSON **usage)
{
	struct sx_assembler *x = sx_assembler_new();
	const cJSON *ev;

	if (events)
		cJSON_ArrayForEach(ev, events)
		    sx_assembler_feed(x, cJSON_GetObjectItemCaseSensitive(ev, "data"));
	else
		sx_assembler_feed(x, response);
	return sx_assembler_end(x, usage);
}

void sx_strip_reasoning(cJSON *j)
{
	cJSON *it, *next;

	if (!cJSON_IsObject(j) && !cJSON_IsArray(j))
		return;
	/* Every member with such a name: JSON objects may repeat a name,
	 * and cJSON_DeleteItemFromObject() removes only the first one. */
	for (it = j->child; it; it = next) {
		next = it->next;
		if (cJSON_IsObject(j) && it->string &&
		    (streq(it->string, "reasoning_content") || streq(it->string, "reasoning") ||
		     streq(it->string, "thinking")))
			cJSON_Delete(cJSON_DetachItemViaPointer(j, it));
		else
			sx_strip_reasoning(it);
	}
}
