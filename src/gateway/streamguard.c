/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * streamguard.c - holds back a streamed tool call until it can be scanned
 * (see streamguard.h).
 *
 * Events are split at their blank line (what sse.c does for a whole body,
 * here incrementally).  An event that names no tool ("tool_calls",
 * "tool_use", "input_json_delta" absent) is not parsed at all: text deltas
 * pass at once.  A tool event is parsed (cJSON) to take its arguments'
 * fragment and is kept, with the bytes it came in, until the call is over:
 * for OpenAI, the first event that is not a tool-call delta (the finish
 * reason, text, [DONE]); for Anthropic, the tool_use block's
 * content_block_stop.
 */
#include "streamguard.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <string.h>

#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/util.h"
#include "guardrail.h"

#define OVERLAP 4096 /* arguments kept across a capped piece's edge */

struct chunk {
	char *p;
	size_t len, cap;
};

struct sx_streamguard {
	struct sx_guardrail *gr;
	bool anthropic, holding, blocked;
	long tool_index; /* Anthropic: the held tool_use block's index */
	struct chunk pending; /* bytes of an event not complete yet */
	size_t searched; /* of pending: looked at for a blank line already */
	struct chunk held; /* events held back, as they came */
	struct chunk args; /* the held calls' names and arguments */
	char *why;
};

static int put(struct chunk *c, const char *p, size_t n)
{
	if (c->len + n + 1 > c->cap) {
		size_t cap = MAX(c->cap * 2, c->len + n + 1);
		char *q = realloc(c->p, MAX(cap, (size_t)256));
		if (!q)
			return -ENOMEM;
		c->p = q;
		c->cap = MAX(cap, (size_t)256);
	}
	memcpy(c->p + c->len, p, n);
	c->len += n;
	c->p[c->len] = 0;
	return 0;
}

struct sx_streamguard *sx_streamguard_new(struct sx_guardrail *gr, bool anthropic)
{
	struct sx_streamguard *sg = calloc(1, sizeof(*sg));
	if (!sg)
		return NULL;
	sg->gr = sx_guardrail_ref(gr);
	sg->anthropic = anthropic;
	sg->tool_index = -1;
	return sg;
}

void sx_streamguard_free(struct sx_streamguard *sg)
{
	if (!sg)
		return;
	sx_guardrail_unref(sg->gr);
	free(sg->pending.p);
	free(sg->held.p);
	free(sg->args.p);
	free(sg->why);
	free(sg);
}

const char *sx_streamguard_why(const struct sx_streamguard *sg)
{
	return sg->why;
}

/* The event's data lines joined (the SSE rule), NUL-terminated; NULL when
 * out of memory.  *name: the event: field or NULL (points into ev). */
static char *event_data(const char *ev, size_t n)
{
	struct chunk d = {0};
	const char *p = ev, *end = ev + n;
	bool first = true;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t ln = (size_t)(le - p);
		if (ln && p[ln - 1] == '\r')
			ln--;
		if (ln >= 5 && memcmp(p, "data:", 5) == 0) {
			const char *v = p + 5;
			size_t vn = ln - 5;
			if (vn && *v == ' ')
				v++, vn--;
			if ((!first && put(&d, "\n", 1) < 0) || put(&d, v, vn) < 0) {
				free(d.p);
				return NULL;
			}
			first = false;
		}
		p = nl ? nl + 1 : end;
	}
	return d.p ? d.p : strdup("");
}

/* The error event that ends a blocked stream, in the provider's shape. */
static void emit_error(struct sx_streamguard *sg, sx_emit_fn emit, void *ud)
{
	_cleanup_cjson_ cJSON *j = cJSON_CreateObject();
	cJSON *e = cJSON_CreateObject();
	_cleanup_free_ char *text = NULL, *ev = NULL;
	_cleanup_free_ char *msg =
	    sx_strdupf("sentrix: blocked by the guardrail: %s", sg->why ? sg->why : "");

	if (!j || !e || !msg) {
		cJSON_Delete(e);
		return;
	}
	cJSON_AddStringToObject(e, "type", "sentrix_guardrail");
	cJSON_AddStringToObject(e, "message", msg);
	if (sg->anthropic)
		cJSON_AddStringToObject(j, "type", "error");
	cJSON_AddItemToObject(j, "error", e);
	text = cJSON_PrintUnformatted(j);
	if (!text)
		return;
	ev = sg->anthropic ? sx_strdupf("event: error\ndata: %s\n\n", text)
			   : sx_strdupf("data: %s\n\ndata: [DONE]\n\n", text);
	if (ev)
		emit(ud, ev, strlen(ev));
}

/* The held call(s) are complete (or the cap is reached): scan, then release
 * or block.  Returns 1 when blocked. */
static int settle(struct sx_streamguard *sg, sx_emit_fn emit, void *ud, bool complete)
{
	_cleanup_free_ char *rule = NULL, *why = NULL;
	enum sx_guard_verdict v =
	    sx_guardrail_check_tool(sg->gr, sg->args.p ? sg->args.p : "", sg->args.len, &rule, &why);

	if (v != SX_GUARD_PASS) {
		sg->blocked = true;
		sg->why = v == SX_GUARD_BLOCK
		    ? TAKE_PTR(why)
		    : strdup("the guardrail could not scan a tool call (fail_mode closed)");
		sg->held.len = 0;
		emit_error(sg, emit, ud);
		return 1;
	}
	if (sg->held.len)
		emit(ud, sg->held.p, sg->held.len);
	sg->held.len = 0;
	if (complete) {
		sg->args.len = 0;
		sg->holding = false;
		sg->tool_index = -1;
	} else if (sg->args.len > OVERLAP) {
		/* Capped: keep the tail, so a value across the edge is seen. */
		memmove(sg->args.p, sg->args.p + sg->args.len - OVERLAP, OVERLAP);
		sg->args.len = OVERLAP;
	}
	return 0;
}

/* Takes the tool-call fragments of an OpenAI chunk; returns whether the
 * event is a tool-call delta. */
static bool openai_tool(struct sx_streamguard *sg, const cJSON *j)
{
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(j, "choices"), *ch;
	bool tool = false;
	cJSON_ArrayForEach(ch, choices)
	{
		const cJSON *delta = cJSON_GetObjectItemCaseSensitive(ch, "delta");
		const cJSON *calls = cJSON_GetObjectItemCaseSensitive(delta, "tool_calls"), *call;
		cJSON_ArrayForEach(call, calls)
		{
			const cJSON *fn = cJSON_GetObjectItemCaseSensitive(call, "function");
			const char *name = sx_json_str(fn, "name"), *args = sx_json_str(fn, "arguments");
			tool = true;
			if (name &&
			    (put(&sg->args, "\n", 1) < 0 || put(&sg->args, name, strlen(name)) < 0 ||
			     put(&sg->args, " ", 1) < 0))
				return true;
			if (args)
				put(&sg->args, args, strlen(args));
		}
	}
	return tool;
}

/* Anthropic: 1 a tool event held (a stop ends the call), 0 not a tool
 * event. *stop: this event ends the held call. */
static bool anthropic_tool(struct sx_streamguard *sg, const cJSON *j, bool *stop)
{
	const char *type = sx_json_str(j, "type");
	const cJSON *idx = cJSON_GetObjectItemCaseSensitive(j, "index");
	long index = cJSON_IsNumber(idx) ? (long)idx->valuedouble : -2;

	*stop = false;
	if (streq(type, "content_block_start")) {
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "content_block");
		if (!streq(sx_json_str(b, "type"), "tool_use"))
			return false;
		const char *name = sx_json_str(b, "name");
		sg->tool_index = index;
		if (name) {
			put(&sg->args, "\n", 1);
			put(&sg->args, name, strlen(name));
			put(&sg->args, " ", 1);
		}
		return true;
	}
	if (!sg->holding || index != sg->tool_index)
		return false;
	if (streq(type, "content_block_delta")) {
		const char *part = sx_json_str(cJSON_GetObjectItemCaseSensitive(j, "delta"), "partial_json");
		if (part)
			put(&sg->args, part, strlen(part));
		return true;
	}
	if (streq(type, "content_block_stop")) {
		*stop = true;
		return true;
	}
	return false;
}

/* One complete event (its bytes, blank line included).  Returns 1 when
 * blocked. */
static int on_event(struct sx_streamguard *sg, const char *ev, size_t n, sx_emit_fn emit, void *ud)
{
	bool named = memmem(ev, n, "tool_calls", 10) || memmem(ev, n, "tool_use", 8) ||
	    memmem(ev, n, "input_json_delta", 16) || memmem(ev, n, "content_block_stop", 18);
	bool tool = false, stop = false;

	if (named) {
		_cleanup_free_ char *data = event_data(ev, n);
		_cleanup_cjson_ cJSON *j = data ? cJSON_Parse(data) : NULL;
		if (j)
			tool = sg->anthropic ? anthropic_tool(sg, j, &stop) : openai_tool(sg, j);
	}
	if (tool) {
		sg->holding = true;
		if (put(&sg->held, ev, n) < 0)
			return settle(sg, emit, ud, true); /* cannot hold: scan what there is */
		if (stop)
			return settle(sg, emit, ud, true);
		if (sg->held.len > SX_STREAMGUARD_CAP)
			return settle(sg, emit, ud, false);
		return 0;
	}
	/* Not a tool event: an OpenAI call being held is over. */
	if (sg->holding && !sg->anthropic && settle(sg, emit, ud, true))
		return 1;
	if (sg->holding && sg->anthropic) /* another block inside the call's span: keep order */
		return put(&sg->held, ev, n) < 0 ? settle(sg, emit, ud, true) : 0;
	emit(ud, ev, n);
	return 0;
}

/* Whether text may hold a tool event: the words on_event() looks for, or
 * the start of one cut at text's end. */
static bool has_tool_word(const char *text, size_t n)
{
	return memmem(text, n, "tool_", 5) || memmem(text, n, "input_json", 10) ||
	    memmem(text, n, "content_block_stop", 18);
}

/* The end of the last complete event in p (just past its blank line), or 0. */
static size_t last_event_end(const char *p, size_t n)
{
	for (const char *nl = n ? memrchr(p, '\n', n) : NULL; nl;
	     nl = nl > p ? memrchr(p, '\n', (size_t)(nl - p)) : NULL) {
		size_t i = (size_t)(nl - p);
		if (i >= 1 && p[i - 1] == '\n')
			return i + 1;
		if (i >= 2 && p[i - 1] == '\r' && p[i - 2] == '\n')
			return i + 1;
	}
	return 0;
}

/* The common case, as cheap as a copy: nothing held, no tool word in the
 * new bytes, in what is pending, or across their seam.  Every complete
 * event goes out in one piece.  Returns false when the slow path must
 * look at each event. */
static bool pass_through(struct sx_streamguard *sg, const char *data, size_t len, sx_emit_fn emit, void *ud)
{
	char seam[48];
	size_t a = MIN(sg->pending.len, (size_t)24), b = MIN(len, (size_t)24), end;

	if (sg->holding || has_tool_word(data, len) ||
	    (sg->pending.len && has_tool_word(sg->pending.p, sg->pending.len)))
		return false;
	if (a) {
		memcpy(seam, sg->pending.p + sg->pending.len - a, a);
		memcpy(seam + a, data, b);
		if (has_tool_word(seam, a + b))
			return false;
	}
	/* A blank line may span the seam too ("\n" | "\n"): then take the
	 * careful path, which sees the joined bytes. */
	if (a && (data[0] == '\n' || data[0] == '\r'))
		return false;
	end = last_event_end(data, len);
	if (end == 0)
		return put(&sg->pending, data, len) == 0;
	if (sg->pending.len)
		emit(ud, sg->pending.p, sg->pending.len);
	emit(ud, data, end);
	sg->pending.len = 0;
	sg->searched = 0;
	if (end < len && put(&sg->pending, data + end, len - end) < 0)
		emit(ud, data + end, len - end); /* out of memory: pass, as fail_mode open would */
	return true;
}

int sx_streamguard_feed(struct sx_streamguard *sg, const char *data, size_t len, sx_emit_fn emit, void *ud)
{
	size_t start = 0;

	if (sg->blocked)
		return 1;
	if (pass_through(sg, data, len, emit, ud))
		return 0;
	if (put(&sg->pending, data, len) < 0) {
		emit(ud, data, len); /* out of memory: pass, as fail_mode open would */
		return 0;
	}
	/* Each event ends at a blank line ("\n\n", "\r\n\r\n" holds one too). */
	for (size_t i = sg->searched > 2 ? sg->searched - 2 : 0; i + 1 < sg->pending.len; i++) {
		size_t end;
		if (sg->pending.p[i] == '\n' && sg->pending.p[i + 1] == '\n')
			end = i + 2;
		else if (sg->pending.p[i] == '\n' && sg->pending.p[i + 1] == '\r' &&
			 i + 2 < sg->pending.len && sg->pending.p[i + 2] == '\n')
			end = i + 3;
		else
			continue;
		if (on_event(sg, sg->pending.p + start, end - start, emit, ud))
			return 1;
		start = end;
		i = end - 1;
	}
	memmove(sg->pending.p, sg->pending.p + start, sg->pending.len - start);
	sg->pending.len -= start;
	sg->searched = sg->pending.len;
	return 0;
}

int sx_streamguard_end(struct sx_streamguard *sg, sx_emit_fn emit, void *ud)
{
	if (sg->blocked)
		return 1;
	if (sg->holding && settle(sg, emit, ud, true))
		return 1;
	if (sg->pending.len)
		emit(ud, sg->pending.p, sg->pending.len);
	sg->pending.len = 0;
	return 0;
}
