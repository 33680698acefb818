/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * test-capture-record.c - what a capture record says about a call: SSE
 * splitting (src/gateway/sse.c), message assembly for OpenAI and Anthropic
 * shapes (assemble.c) and the record itself (record.c).
 */
#include "testutil.h"

#include "gateway/assemble.h"
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
	};
	return cmocka_run_group_tests_name("capture-record", tests, NULL, NULL);
}
