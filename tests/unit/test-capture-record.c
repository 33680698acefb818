/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * test-capture-record.c - what a capture record says about a call: SSE
 * splitting (src/gateway/sse.c), message assembly for OpenAI and Anthropic
 * shapes (assemble.c) and the record itself (record.c).
 */
#include "testutil.h"

#include "gateway/assemble.h"
#include "gateway/llmreq.h"
#include "lib/jsonraw.h"
#include "gateway/record.h"
#include "gateway/sse.h"

static const char *data_str(const cJSON *events, int i)
{
	const cJSON *d = cJSON_GetObjectItem(cJSON_GetArrayItem(events, i), "data");
	return cJSON_IsString(d) ? d->valuestring : NULL;
}

static void test_sse_line_endings_comments_multiline(void **state)
{
	const char body[] = ": keep-alive\r\n"
			    "event: ping\r\ndata: {\"a\":1}\r\n\r\n"
			    "data: line1\ndata: line2\n\n"
			    "data:nospace\r\r"
			    "id: 7\nretry: 10\ndata: [DONE]"; /* cut: no blank line */
	_cleanup_cjson_ cJSON *ev = sx_sse_events(body, sizeof(body) - 1);

	assert_non_null(ev);
	assert_int_equal(cJSON_GetArraySize(ev), 4);
	assert_string_equal(sx_json_str(cJSON_GetArrayItem(ev, 0), "event"), "ping");
	assert_int_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(ev, 0), "data"), "a")->valueint, 1);
	assert_string_equal(data_str(ev, 1), "line1\nline2");
	assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(ev, 1), "event"));
	assert_string_equal(data_str(ev, 2), "nospace");
	assert_string_equal(data_str(ev, 3), "[DONE]");
}

static void test_sse_event_without_data_is_dropped(void **state)
{
	const char body[] = "event: x\n\n\n";
	_cleanup_cjson_ cJSON *ev = sx_sse_events(body, sizeof(body) - 1);
	assert_int_equal(cJSON_GetArraySize(ev), 0);
}

static void test_openai_stream_tool_calls_by_index(void **state)
{
	_cleanup_cjson_ cJSON *ev =
	    parse("[{\"data\":{\"choices\":[{\"delta\":{\"reasoning_content\":\"think \"}}]}},"
		  "{\"data\":{\"choices\":[{\"delta\":{\"reasoning\":\"more\"}}]}},"
		  "{\"data\":{\"choices\":[{\"delta\":{\"content\":\"Hi \"}}]}},"
		  "{\"data\":{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"b\","
		  "\"function\":{\"name\":\"g\","
		  "\"arguments\":\"{\\\"y\\\"\"}}]}}]}},"
		  "{\"data\":{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\","
		  "\"function\":{\"name\":\"f\","
		  "\"arguments\":\"{}\"}}]}}]}},"
		  "{\"data\":{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":{"
		  "\"arguments\":\":2}\"}}]}}]}},"
		  "{\"data\":{\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3}}},"
		  "{\"data\":\"[DONE]\"}]");
	cJSON *usage = NULL;
	_cleanup_cjson_ cJSON *m = sx_assemble_message(ev, NULL, &usage);
	const cJSON *calls = cJSON_GetObjectItem(m, "tool_calls");

	assert_string_equal(sx_json_str(m, "text"), "Hi ");
	assert_string_equal(sx_json_str(m, "reasoning"), "think more");
	assert_int_equal(cJSON_GetArraySize(calls), 2);
	assert_string_equal(sx_json_str(cJSON_GetArrayItem(calls, 0), "name"), "g");
	assert_string_equal(sx_json_str(cJSON_GetArrayItem(calls, 0), "arguments"), "{\"y\":2}");
	assert_string_equal(sx_json_str(cJSON_GetArrayItem(calls, 1), "id"), "a");
	assert_int_equal(cJSON_GetObjectItem(usage, "completion_tokens")->valueint, 3);
	cJSON_Delete(usage);
}

static void test_anthropic_stream_thinking_and_tool_use(void **state)
{
	_cleanup_cjson_ cJSON *ev = parse(
	    "[{\"event\":\"message_start\",\"data\":{\"type\":\"message_start\",\"message\":{\"usage\":"
	    "{\"input_tokens\":9,\"output_tokens\":1}}}},"
	    "{\"data\":{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":"
	    "\"thinking\","
	    "\"thinking\":\"\"}}},"
	    "{\"data\":{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\","
	    "\"thinking\":\"hmm\"}}},"
	    "{\"data\":{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_"
	    "use\","
	    "\"id\":\"t1\",\"name\":\"web_fetch\",\"input\":{}}}},"
	    "{\"data\":{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_"
	    "delta\","
	    "\"partial_json\":\"{\\\"url\\\":\"}}},"
	    "{\"data\":{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_"
	    "delta\","
	    "\"partial_json\":\"\\\"http://x\\\"}\"}}},"
	    "{\"data\":{\"type\":\"message_delta\",\"usage\":{\"output_tokens\":7}}}]");
	cJSON *usage = NULL;
	_cleanup_cjson_ cJSON *m = sx_assemble_message(ev, NULL, &usage);
	const cJSON *call = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "tool_calls"), 0);

	assert_true(cJSON_IsNull(cJSON_GetObjectItem(m, "text")));
	assert_string_equal(sx_json_str(m, "reasoning"), "hmm");
	assert_string_equal(sx_json_str(call, "name"), "web_fetch");
	assert_string_equal(sx_json_str(call, "arguments"), "{\"url\":\"http://x\"}");
	/* input tokens from message_start survive message_delta's output tokens */
	assert_int_equal(cJSON_GetObjectItem(usage, "input_tokens")->valueint, 9);
	assert_int_equal(cJSON_GetObjectItem(usage, "output_tokens")->valueint, 7);
	cJSON_Delete(usage);
}

static void test_non_streaming_shapes(void **state)
{
	_cleanup_cjson_ cJSON *oa =
	    parse("{\"choices\":[{\"message\":{\"content\":\"A\",\"reasoning_content\":\"R\","
		  "\"tool_calls\":[{\"id\":\"c\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}");
	_cleanup_cjson_ cJSON *an =
	    parse("{\"type\":\"message\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"T\"},"
		  "{\"type\":\"text\",\"text\":\"B\"},{\"type\":\"tool_use\",\"id\":\"u\",\"name\":\"g\","
		  "\"input\":{\"k\":1}}],\"usage\":{\"input_tokens\":1}}");
	cJSON *u1 = NULL, *u2 = NULL;
	_cleanup_cjson_ cJSON *m1 = sx_assemble_message(NULL, oa, &u1);
	_cleanup_cjson_ cJSON *m2 = sx_assemble_message(NULL, an, &u2);

	assert_string_equal(sx_json_str(m1, "text"), "A");
	assert_string_equal(sx_json_str(m1, "reasoning"), "R");
	assert_string_equal(sx_json_str(cJSON_GetArrayItem(cJSON_GetObjectItem(m1, "tool_calls"), 0), "name"),
			    "f");
	assert_null(u1);
	assert_string_equal(sx_json_str(m2, "text"), "B");
	assert_string_equal(sx_json_str(m2, "reasoning"), "T");
	assert_string_equal(
	    sx_json_str(cJSON_GetArrayItem(cJSON_GetObjectItem(m2, "tool_calls"), 0), "arguments"),
	    "{\"k\":1}");
	assert_int_equal(cJSON_GetObjectItem(u2, "input_tokens")->valueint, 1);
	cJSON_Delete(u2);
}

static void test_record_keys_and_no_reasoning(void **state)
{
	_cleanup_cjson_ cJSON *head =
	    parse("{\"timestamp\":\"t\",\"id\":\"0123456789abcdef\",\"instance\":\"i\","
		  "\"run_id\":null,\"provider\":\"p\",\"model\":\"m\",\"endpoint\":\"/x\","
		  "\"method\":\"POST\",\"stream\":true,\"request\":{\"reasoning\":{\"effort\":\"high\"}}}");
	const char body[] = "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"secret plan\"}}]}\n\n"
			    "data: {\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}\n\n";
	struct sx_record_end e = {.status = 200,
				  .sse = true,
				  .first_byte_ms = 1.5,
				  .total_ms = 3,
				  .request_bytes = 10,
				  .complete = true,
				  .no_reasoning = true};
	_cleanup_free_ char *text = sx_record_finish(TAKE_PTR(head), body, sizeof(body) - 1, &e);
	_cleanup_cjson_ cJSON *r = parse(text);
	static const char *const keys[] = {"timestamp", "id",	    "instance", "run_id",     "provider",
					   "model",	"endpoint", "stream",	"request",    "status",
					   "events",	"message",  "usage",	"latency_ms", "bytes",
					   "error",	"complete"};

	for (size_t i = 0; i < ELEMENTSOF(keys); i++)
		if (!cJSON_GetObjectItem(r, keys[i]))
			fail_msg("record lacks %s: %s", keys[i], text);
	assert_null(strstr(text, "secret plan"));
	assert_string_equal(sx_json_str(cJSON_GetObjectItem(r, "message"), "text"), "ok");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "events")), 2);
	/* the request is recorded as sent: its reasoning settings stay */
	assert_non_null(strstr(text, "\"effort\":\"high\""));
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "bytes"), "response")->valueint,
			 (int)sizeof(body) - 1);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r, "complete")));
}

static void test_record_without_response(void **state)
{
	_cleanup_cjson_ cJSON *head = parse("{\"id\":\"x\",\"stream\":false,\"request\":null}");
	struct sx_record_end e = {
	    .status = -1, .first_byte_ms = -1, .total_ms = 10, .error = "upstream connect: refused"};
	_cleanup_free_ char *text = sx_record_finish(TAKE_PTR(head), NULL, 0, &e);
	_cleanup_cjson_ cJSON *r = parse(text);

	assert_true(cJSON_IsNull(cJSON_GetObjectItem(r, "status")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(r, "response")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "latency_ms"), "first_byte")));
	assert_string_equal(sx_json_str(r, "error"), "upstream connect: refused");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(r, "complete")));
}

/* The record's text, byte for byte: member order, numbers, escapes, a
 * request compacted as it came, usage counts with their names (the
 * integers printed exactly, a huge one as cJSON prints it). */
static void test_record_text_exact(void **state)
{
	const char req[] = "{\"model\":\"gpt\",\"stream\":false,\"messages\":[ {\"role\":\"user\", "
			   "\"content\":\"caf\\u00e9 \\\"x\\\"\"} ]}";
	const char body[] =
	    "{\"choices\":[{\"message\":{\"content\":\"ok \\n\"}}],\"usage\":{\"prompt_tokens\":"
	    "1e300,\"completion_tokens\":3,\"cost\":0.25}}";
	struct sx_llm_head h = {.timestamp = "2026-12-07T21:00:00.000Z",
				.id = "00000000000000ab",
				.instance = "sxt1",
				.provider = "openai",
				.endpoint = "/chat/completions",
				.method = "POST",
				.run_id = "r\"1\x01",
				.body = req,
				.body_len = sizeof(req) - 1};
	struct sx_record_end e = {.status = 200,
				  .first_byte_ms = 12.25,
				  .total_ms = 80.0004,
				  .request_bytes = sizeof(req) - 1,
				  .error = "upstream \"x\"\ttab"};
	_cleanup_free_ char *text = sx_record_finish(sx_llm_record_head(&h), body, sizeof(body) - 1, &e);

	assert_string_equal(
	    text,
	    "{\"timestamp\":\"2026-12-07T21:00:00.000Z\",\"id\":\"00000000000000ab\",\"instance\":\"sxt1\","
	    "\"run_id\":\"r\\\"1\\u0001\",\"provider\":\"openai\",\"model\":\"gpt\",\"endpoint\":"
	    "\"/chat/completions\",\"method\":\"POST\",\"stream\":false,\"request\":{\"model\":\"gpt\","
	    "\"stream\":false,\"messages\":[{\"role\":\"user\",\"content\":\"caf\\u00e9 \\\"x\\\"\"}]},"
	    "\"status\":200,\"response\":{\"choices\":[{\"message\":{\"content\":\"ok \\n\"}}],\"usage\":"
	    "{\"prompt_tokens\":1e300,\"completion_tokens\":3,\"cost\":0.25}},\"message\":{\"text\":"
	    "\"ok \\n\",\"reasoning\":null,\"tool_calls\":[]},\"usage\":{\"prompt_tokens\":1e+300,"
	    "\"completion_tokens\":3,\"cost\":0.25},\"latency_ms\":{\"first_byte\":12.25,\"total\":80.0},"
	    "\"bytes\":{\"request\":90,\"response\":111},\"error\":\"upstream \\\"x\\\"\\ttab\","
	    "\"complete\":false}");
}

/* The in-place reading (sx_assembler_feed_compact, with the parse as its
 * fallback, as record.c and sse.c use it) must give what the tree gives. */
static char *assemble_both(const char *const *texts, size_t n, bool compact)
{
	struct sx_assembler *x = sx_assembler_new();
	cJSON *usage = NULL, *msg, *out = cJSON_CreateObject();
	char *printed;

	for (size_t i = 0; i < n; i++) {
		char *c = NULL;
		if (sx_json_compact(texts[i], strlen(texts[i]), SX_JSON_EMBED_DEPTH, &c, NULL) < 0)
			continue; /* the record keeps such data as a string */
		if (!compact || sx_assembler_feed_compact(x, c, strlen(c)) < 0) {
			cJSON *j = cJSON_Parse(c);
			sx_assembler_feed(x, j);
			cJSON_Delete(j);
		}
		free(c);
	}
	msg = sx_assembler_end(x, &usage);
	cJSON_AddItemToObject(out, "message", msg);
	cJSON_AddItemToObject(out, "usage", usage ? usage : cJSON_CreateNull());
	printed = cJSON_PrintUnformatted(out);
	cJSON_Delete(out);
	return printed;
}

static void assert_same_assembly(const char *const *texts, size_t n)
{
	_cleanup_free_ char *tree = assemble_both(texts, n, false);
	_cleanup_free_ char *walked = assemble_both(texts, n, true);
	if (strcmp(tree, walked) != 0)
		fail_msg("in place: %s\ntree:     %s\nfirst text: %s", walked, tree, n ? texts[0] : "");
}

static void test_assembly_in_place_matches_tree(void **state)
{
	static const char *const cases[][4] = {
	    {"{\"choices\":[{\"delta\":{\"content\":\"a\\\"b\\\\c\\/d\\n\\t\\r\\b\\f\"}}]}"},
	    {"{\"choices\":[{\"delta\":{\"content\":\"\\u00e9\\u4e2d\\ud83d\\ude00 x\"}}]}"},
	    {"{\"choices\":[{\"delta\":{\"content\":\"cut\\u0000here\"}}]}"},
	    {"{\"choices\":[{\"delta\":{\"content\":\"lone \\ud800 high\"}}]}"},
	    {"{\"choices\":[{\"delta\":{\"content\":\"lone \\udc00 low\"}}]}"},
	    {"{\"choices\":[{\"delta\":{\"content\":\"pair \\ud800\\u0041 bad\"}}]}"},
	    {"{\"choices\":[{\"delta\":{\"\\u0063ontent\":\"escaped name\"}}]}"},
	    {"{\"ch\\u006fices\":[{\"delta\":{\"content\":\"escaped top\"}}]}"},
	    {"{\"choices\":[{\"delta\":{\"content\":\"first\",\"content\":\"second\"}}]}"},
	    {"{\"choices\":[{\"delta\":null,\"message\":{\"content\":\"m\"}}]}"},
	    {"{\"choices\":[{\"message\":{\"content\":\"m\",\"reasoning\":\"r\"}}],\"usage\":{\"total_"
	     "tokens\":3}}"},
	    {"{\"choices\":{\"x\":{\"delta\":{\"content\":\"object choices\"}}}}"},
	    {"{\"choices\":[],\"usage\":{\"prompt_tokens\":1}}",
	     "{\"choices\":[],\"usage\":{\"completion_tokens\":2}}"},
	    {"{\"choices\":[{\"delta\":{\"content\":7,\"reasoning_content\":[\"x\"],\"reasoning\":{\"a\":\"}"
	     "\"}}}]}"},
	    {"{\"choices\":[\"str\",{\"delta\":{\"content\":\"second choice\"}}]}"},
	    {"{\"choices\":[{\"delta\":{\"content\":\"\"}}]}",
	     "{\"choices\":[{\"delta\":{\"content\":\"x\"}}]}"},
	    {"{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"t\",\"function\":{\"name\":"
	     "\"f\","
	     "\"arguments\":\"{\\\"a\\\"\"}}]}}]}",
	     "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\":1}\"}}]}}"
	     "]}"},
	    {"{\"choices\":[{\"delta\":{\"content\":\"text \\\\\\\"quoted\\\\\\\" \\\\\"}}]}"},
	    {"{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":"
	     "\"hi\"}}",
	     "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"thinking_delta\","
	     "\"thinking\":\"t\"}}",
	     "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\","
	     "\"partial_json\":\"{\\\"k\"}}",
	     "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\"}}"},
	    {"{\"type\":\"content_block_delta\",\"index\":1.5,\"delta\":{\"type\":\"input_json_delta\","
	     "\"partial_json\":\"x\"}}"},
	    {"{\"type\":\"content_block_delta\",\"index\":\"3\",\"delta\":{\"type\":\"input_json_delta\","
	     "\"partial_json\":\"y\"}}"},
	    {"{\"type\":\"content_block_delta\",\"index\":12345678901,\"delta\":{\"type\":\"input_json_"
	     "delta\",\"partial_json\":\"z\"}}"},
	    {"{\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text\\u005fdelta\",\"text\":\"esc "
	     "type\"}}"},
	    {"{\"type\":\"content_block_delta\",\"delta\":{\"type\":7,\"text\":\"num type\"}}"},
	    {"{\"type\":\"content_block_delta\",\"delta\":\"x\"}", "{\"type\":\"content_block_delta\"}"},
	    {"{\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":4}}}",
	     "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":"
	     "\"s\"}}",
	     "{\"type\":\"message_delta\",\"usage\":{\"output_tokens\":9}}"},
	    {"{\"type\":\"message\",\"content\":[{\"type\":\"text\",\"text\":\"whole\"}],\"usage\":{\"input_"
	     "tokens\":1}}"},
	    {"[1,2]", "\"just a string\"", "null", "{}"},
	    /* chunks of one shape (assemble.c's same_shape()), and ones whose
	     * bytes around the string match but mean more, or less */
	    {"{\"id\":\"x\",\"choices\":[{\"delta\":{\"content\":\"a\\n\"}}]}",
	     "{\"id\":\"x\",\"choices\":[{\"delta\":{\"content\":\"b\\\",\\\"content\\\":\\\"c\"}}]}",
	     "{\"id\":\"x\",\"choices\":[{\"delta\":{\"content\":\"d\",\"reasoning\":\"r\"}}]}",
	     "{\"id\":\"x\",\"choices\":[{\"delta\":{\"content\":\"\\u00e9\\ud83d\\ude00\"}}]}"},
	    {"{\"choices\":[{\"delta\":{\"content\":\"a\"}}]}",
	     "{\"choices\":[{\"delta\":{\"content\":\"b\",\"tool_calls\":[{\"index\":0,\"function\":{"
	     "\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}",
	     "{\"choices\":[{\"delta\":{\"content\":\"cut\\u0000here\"}}]}",
	     "{\"choices\":[{\"delta\":{\"content\":\"e\"}}],\"usage\":{\"total_tokens\":3}}"},
	    {"{\"choices\":[{\"delta\":{\"reasoning_content\":\"r1\"}}]}",
	     "{\"choices\":[{\"delta\":{\"reasoning_content\":\"r2\"}}]}",
	     "{\"choices\":[{\"delta\":{\"reasoning_content\":7}}]}",
	     "{\"choices\":[{\"delta\":{\"reasoning_content\":\"lone \\ud800\"}}]}"},
	    {"{\"choices\":[{\"delta\":{\"content\":\"x\"}},{\"delta\":{\"content\":\"y\"}}]}",
	     "{\"choices\":[{\"delta\":{\"content\":\"\"}},{\"delta\":{\"content\":\"y\"}}]}",
	     "{\"choices\":[{\"delta\":{\"content\":\"z\"},\"x\":[]},{\"delta\":{\"content\":\"y\"}}]}"},
	    /* nested values longer than jsonwalk's 16-byte steps, brackets
	     * and escaped quotes in their strings, to be stepped over */
	    {"{\"choices\":[{\"logprobs\":{\"content\":[{\"token\":\"}]\\\"{[\\\\\",\"bytes\":[1,2,"
	     "3,{\"k\":\"]]]]]]]]]]]]]]]]]]\"}],\"top\":[[[],[{}]]]}]},\"delta\":{\"content\":\"after\"}}],"
	     "\"usage\":{\"x\":{\"y\":\"{{{{{{{{{{{{{{{{{{{{\"},\"total_tokens\":5}}"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = 0;
		while (n < 4 && cases[i][n])
			n++;
		assert_same_assembly(cases[i], n);
	}
}

/* Generated events: shapes, names and strings drawn from pieces that
 * include every escape, duplicates and wrong types. */
static void test_assembly_in_place_matches_tree_generated(void **state)
{
	static const char *const strs[] = {
	    "\"plain \"",  "\"\"",	    "\"q\\\"\\\\\"", "\"\\u00e9\"", "\"\\ud83d\\ude00\"",
	    "\"\\ud800\"", "\"\\u0000\"",   "\"\\n\\t\"",    "null",	    "3",
	    "[\"a\"]",	   "{\"x\":\"}\"}", "\"\\/\"",	     "true"};
	static const char *const names[] = {
	    "content", "reasoning", "reasoning_content", "\\u0063ontent", "role", "tool_calls", "refusal"};
	unsigned seed = 15;
	for (int round = 0; round < 3000; round++) {
		char texts[3][512];
		const char *ptr[3];
		for (int t = 0; t < 3; t++) {
			char part[400] = "";
			int members = rand_r(&seed) % 4;
			for (int m = 0; m < members; m++) {
				char one[120];
				const char *name = names[rand_r(&seed) % 7];
				const char *val = streq(name, "tool_calls")
				    ? "[{\"index\":0,\"function\":{\"arguments\":\"a\"}}]"
				    : strs[rand_r(&seed) % 14];
				snprintf(one, sizeof(one), "%s\"%s\":%s", m ? "," : "", name, val);
				strcat(part, one);
			}
			switch (rand_r(&seed) % 4) {
			case 0:
				snprintf(texts[t], sizeof(texts[t]), "{\"choices\":[{\"delta\":{%s}}]}",
					 part);
				break;
			case 1:
				snprintf(texts[t], sizeof(texts[t]),
					 "{\"id\":\"c\",\"choices\":[{\"index\":0,\"message\":{%s}}],"
					 "\"usage\":{\"n\":%d}}",
					 part, round);
				break;
			case 2:
				snprintf(texts[t], sizeof(texts[t]),
					 "{\"type\":\"content_block_delta\",\"index\":%d,\"delta\":{\"type\":"
					 "\"%s\",%s}}",
					 rand_r(&seed) % 3,
					 (const char *[]){"text_delta", "thinking_delta",
							  "input_json_delta"}[rand_r(&seed) % 3],
					 part[0] ? part : "\"text\":\"e\"");
				break;
			default:
				snprintf(texts[t], sizeof(texts[t]),
					 "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
					 "\"text_delta\","
					 "\"text\":%s,\"thinking\":%s,\"partial_json\":%s}}",
					 strs[rand_r(&seed) % 14], strs[rand_r(&seed) % 14],
					 strs[rand_r(&seed) % 14]);
			}
			ptr[t] = texts[t];
		}
		assert_same_assembly(ptr, 3);
	}
}

/* The printed-only events (one raw text) say what the tree says. */
static void assert_same_events(const char *body, size_t len)
{
	bool all_raw;
	struct sx_assembler *x = sx_assembler_new();
	_cleanup_cjson_ cJSON *tree = sx_sse_events(body, len);
	_cleanup_cjson_ cJSON *raw = sx_sse_events_raw(body, len, x, &all_raw);
	_cleanup_cjson_ cJSON *reparsed = NULL;
	cJSON *usage = NULL;

	cJSON_Delete(sx_assembler_end(x, &usage));
	cJSON_Delete(usage);
	assert_non_null(tree);
	assert_true(cJSON_IsRaw(raw));
	reparsed = cJSON_Parse(raw->valuestring);
	if (!reparsed || !cJSON_Compare(tree, reparsed, true)) {
		_cleanup_free_ char *t = cJSON_PrintUnformatted(tree);
		fail_msg("raw:  %s\ntree: %s", raw->valuestring, t);
	}
	if (all_raw && !sx_utf8_valid(raw->valuestring))
		fail_msg("all_raw but not UTF-8: %s", raw->valuestring);
}

/* Long strings with escapes anywhere (the walker skips 16 bytes at once). */
static void test_assembly_in_place_long_strings(void **state)
{
	static const char *const pieces[] = {"a", "\\\"", "\\\\", "\\n", "\xc3\xa9", "\\u00e9", "}", ":,[{"};
	unsigned seed = 3;
	for (int round = 0; round < 2000; round++) {
		char str[2][1024];
		char text[3300];
		const char *ptr[1] = {text};
		for (int k = 0; k < 2; k++) {
			int n = rand_r(&seed) % 80;
			strcpy(str[k], "\"");
			for (int i = 0; i < n; i++) {
				const char *piece = pieces[rand_r(&seed) % 8];
				strcat(str[k], piece);
			}
			strcat(str[k], "\"");
		}
		snprintf(text, sizeof(text),
			 "{\"id\":%s,\"choices\":[{\"index\":0,\"delta\":{\"role\":%s,\"content\":%s}}],"
			 "\"usage\":null}",
			 str[1], str[0], str[1]);
		assert_same_assembly(ptr, 1);
	}
}

static void test_sse_raw_text_matches_tree(void **state)
{
	static const char *const bodies[] = {
	    "",
	    "\n\n\n",
	    "data: {\"a\": 1}\n\n",
	    "event: named\ndata: {\"b\":[1, 2]}\r\n\r\ndata: [DONE]\n\n",
	    "data: line1\ndata: line2\n\ndata: {\"x\":\ndata: 1}\n\n",
	    "data:nospace\r\rdata:  two spaces\r\r",
	    ": comment\nid: 3\nretry: 5\nevent: x\n\nevent: y\nevent: z\ndata: last name wins\n\n",
	    "event: has \"quote\" and \\ back\ndata: \"json string\"\n\n",
	    "event: caf\xc3\xa9\ndata: {\"t\":\"caf\xc3\xa9\"}\n\n",
	    "event: bad \xff\ndata: {\"t\":\"bad \xfe\"}\n\ndata: plain \xff\n\n",
	    "data: {\"s\":\"\\ud800\"}\n\n",
	    "data: tab\there\n\ndata: ctl \x01\n\n",
	    "data\n\ndata:\n\ndata: {}\n\ndata: cut at the end",
	    "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n",
	};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		assert_same_events(bodies[i], strlen(bodies[i]));
	/* a NUL inside data: strings end there, as cJSON's do */
	assert_same_events("data: a\0b\n\n", 10);
}

static void test_sse_raw_text_matches_tree_generated(void **state)
{
	static const char *const lines[] = {
	    "data: {\"choices\":[{\"delta\":{\"content\":\"w \"}}]}",
	    "data: [DONE]",
	    "data: {\"a\":",
	    "data: 2}",
	    "event: content_block_delta",
	    "event: q\"uote",
	    ": c",
	    "id: 1",
	    "data",
	    "data:",
	    "",
	    "",
	    "",
	    "data: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}",
	    "data: not json \xc3",
	    "bogus: 1"};
	static const char *const ends[] = {"\n", "\r\n", "\r"};
	unsigned seed = 7;
	for (int round = 0; round < 2000; round++) {
		char body[2048] = "";
		int n = rand_r(&seed) % 12;
		for (int i = 0; i < n; i++) {
			strcat(body, lines[rand_r(&seed) % 16]);
			strcat(body, ends[rand_r(&seed) % 3]);
		}
		assert_same_events(body, strlen(body));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sse_line_endings_comments_multiline),
	    cmocka_unit_test(test_sse_event_without_data_is_dropped),
	    cmocka_unit_test(test_openai_stream_tool_calls_by_index),
	    cmocka_unit_test(test_anthropic_stream_thinking_and_tool_use),
	    cmocka_unit_test(test_non_streaming_shapes),
	    cmocka_unit_test(test_record_keys_and_no_reasoning),
	    cmocka_unit_test(test_record_without_response),
	    cmocka_unit_test(test_record_text_exact),
	    cmocka_unit_test(test_assembly_in_place_matches_tree),
	    cmocka_unit_test(test_assembly_in_place_long_strings),
	    cmocka_unit_test(test_sse_raw_text_matches_tree),
	    cmocka_unit_test(test_sse_raw_text_matches_tree_generated),
	    cmocka_unit_test(test_assembly_in_place_matches_tree_generated),
	};
	return cmocka_run_group_tests_name("capture-record", tests, NULL, NULL);
}
