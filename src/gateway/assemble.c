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

#include "../lib/util.h"
#include "assemble.h"

struct buf {
	char *s;
	size_t len;
};

static void buf_add(struct buf *b, const char *s)
{
	size_t n;
	char *p;
	if (!s || !*s)
		return;
	n = strlen(s);
	p = realloc(b->s, b->len + n + 1);
	if (!p)
		return;
	memcpy(p + b->len, s, n + 1);
	b->s = p;
	b->len += n;
}

struct tool {
	int index;
	char *id, *name;
	struct buf args;
};

struct acc {
	struct buf text, reasoning;
	struct tool *tools;
	size_t n_tools;
	cJSON *usage;
};

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static struct tool *tool_at(struct acc *a, int index)
{
	struct tool *t;
	for (size_t i = 0; i < a->n_tools; i++)
		if (a->tools[i].index == index)
			return &a->tools[i];
	t = realloc(a->tools, (a->n_tools + 1) * sizeof(*t));
	if (!t)
		return NULL;
	a->tools = t;
	t = &a->tools[a->n_tools++];
	*t = (struct tool){.index = index};
	return t;
}

static void set_str(char **dst, const char *s)
{
	if (s && !*dst)
		*dst = strdup(s);
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
		struct tool *t = tool_at(a, cJSON_IsNumber(idx) ? idx->valueint : i);
		i++;
		if (!t)
			continue;
		set_str(&t->id, str(c, "id"));
		set_str(&t->name, str(fn, "name"));
		buf_add(&t->args, str(fn, "arguments"));
	}
}

/* One OpenAI message or delta object. */
static void openai_part(struct acc *a, const cJSON *m)
{
	buf_add(&a->text, str(m, "content"));
	buf_add(&a->reasoning, str(m, "reasoning_content"));
	buf_add(&a->reasoning, str(m, "reasoning"));
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
		buf_add(&a->text, str(block, "text"));
	else if (streq(type, "thinking"))
		buf_add(&a->reasoning, str(block, "thinking"));
	else if (streq(type, "tool_use")) {
		struct tool *t = tool_at(a, index);
		const cJSON *input = cJSON_GetObjectItemCaseSensitive(block, "input");
		if (!t)
			return;
		set_str(&t->id, str(block, "id"));
		set_str(&t->name, str(block, "name"));
		/* Streamed tool_use starts with input {} and sends the JSON in
		 * pieces; a complete block carries it whole. */
		if (cJSON_IsObject(input) && input->child) {
			char *s = cJSON_PrintUnformatted(input);
			buf_add(&t->args, s);
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
			buf_add(&a->text, str(d, "text"));
		else if (streq(dt, "thinking_delta"))
			buf_add(&a->reasoning, str(d, "thinking"));
		else if (streq(dt, "input_json_delta")) {
			struct tool *t = tool_at(a, index);
			if (t)
				buf_add(&t->args, str(d, "partial_json"));
		}
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

cJSON *sx_assemble_message(const cJSON *events, const cJSON *response, cJSON **usage)
{
	struct acc a = {0};
	const cJSON *ev;
	cJSON *m, *calls;

	if (events)
		cJSON_ArrayForEach(ev, events) feed(&a, cJSON_GetObjectItemCaseSensitive(ev, "data"));
	else
		feed(&a, response);

	m = cJSON_CreateObject();
	calls = cJSON_CreateArray();
	if (m && calls) {
		cJSON_AddItemToObject(m, "text",
				      a.text.s ? cJSON_CreateString(a.text.s) : cJSON_CreateNull());
		cJSON_AddItemToObject(m, "reasoning",
				      a.reasoning.s ? cJSON_CreateString(a.reasoning.s) : cJSON_CreateNull());
		for (size_t i = 0; i < a.n_tools; i++) {
			cJSON *t = cJSON_CreateObject();
			cJSON_AddItemToObject(
			    t, "id", a.tools[i].id ? cJSON_CreateString(a.tools[i].id) : cJSON_CreateNull());
			cJSON_AddItemToObject(t, "name",
					      a.tools[i].name ? cJSON_CreateString(a.tools[i].name)
							      : cJSON_CreateNull());
			cJSON_AddStringToObject(t, "arguments", a.tools[i].args.s ? a.tools[i].args.s : "");
			cJSON_AddItemToArray(calls, t);
		}
		cJSON_AddItemToObject(m, "tool_calls", calls);
		calls = NULL;
	}
	cJSON_Delete(calls);
	for (size_t i = 0; i < a.n_tools; i++) {
		free(a.tools[i].id);
		free(a.tools[i].name);
		free(a.tools[i].args.s);
	}
	free(a.tools);
	free(a.text.s);
	free(a.reasoning.s);
	*usage = a.usage;
	return m;
}

void sx_strip_reasoning(cJSON *j)
{
	static const char *const keys[] = {"reasoning_content", "reasoning", "thinking"};
	cJSON *it;

	if (!cJSON_IsObject(j) && !cJSON_IsArray(j))
		return;
	if (cJSON_IsObject(j))
		for (size_t i = 0; i < ELEMENTSOF(keys); i++)
			cJSON_DeleteItemFromObjectCaseSensitive(j, keys[i]);
	cJSON_ArrayForEach(it, j) sx_strip_reasoning(it);
}
