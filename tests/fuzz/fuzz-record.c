/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * fuzz-record.c - the capture record built from an upstream's answer.
 *
 * Feeds: a response body as the upstream sent it, which the agent shapes
 * through its requests (what it asks the model to say, tool arguments it
 * makes the model echo, and any upstream it can point a provider at).  The
 * first byte chooses how the gateway saw it: bit 0 set, an event stream
 * (text/event-stream: sse.c's sx_sse_events splits it); clear, one JSON or
 * text body; bit 1 set, --no-reasoning (assemble.c's sx_strip_reasoning);
 * bit 2 set, the call did not complete.  The rest is the body, handed to
 * record.c's sx_record_finish as llmproxy.c and the crash recovery do,
 * which assembles the message (sx_assemble_message: OpenAI deltas and tool
 * calls, Anthropic blocks, usage) and prints the record, cleaning invalid
 * UTF-8.
 *
 * Why: this is the largest parser of bytes from outside, and its output is
 * the capture file every later reader trusts.  Besides the sanitizers, the
 * harness checks that the record is one JSON object that cJSON reads back
 * and valid UTF-8 (what `sentrix logs` and the gateway's crash repair need
 * to read the file), and that --no-reasoning left no reasoning key.
 *
 * fuzz-max-len: 32768
 */
#include "fuzz.h"

#include "gateway/record.h"

static cJSON *head;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	head = cJSON_Parse("{\"timestamp\":\"2026-11-23T10:00:00.000Z\",\"id\":\"0123456789abcdef\","
			   "\"instance\":\"sxtfuzz\",\"run_id\":\"job-1\",\"provider\":\"openai\","
			   "\"model\":\"gpt-4o\",\"endpoint\":\"/chat/completions\",\"method\":\"POST\","
			   "\"stream\":true,\"request\":{\"model\":\"gpt-4o\",\"stream\":true,"
			   "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}}");
	if (!head)
		abort();
	return 0;
}

/* True when a "reasoning_content" or "thinking" key, or a "reasoning" key
 * holding anything but null, is left anywhere in j. */
static bool has_reasoning(const cJSON *j)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, j)
	{
		if (it->string &&
		    (streq(it->string, "reasoning_content") || streq(it->string, "thinking") ||
		     (streq(it->string, "reasoning") && !cJSON_IsNull(it))))
			return true;
		if (has_reasoning(it))
			return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sx_record_end e = {.status = 200, .first_byte_ms = 12.5, .total_ms = 80, .request_bytes = 99};
	_cleanup_free_ char *text = NULL;
	_cleanup_cjson_ cJSON *rec = NULL;

	if (size < 1)
		return 0;
	e.sse = data[0] & 1;
	e.no_reasoning = data[0] & 2;
	e.complete = !(data[0] & 4);
	e.error = e.complete ? NULL : "the client disconnected before the response ended";
	text = sx_record_finish(cJSON_Duplicate(head, true), (const char *)data + 1, size - 1, &e);
	fuzz_check_json_object("the record", text);
	rec = cJSON_Parse(text);
	if (e.no_reasoning) {
		FUZZ_CHECK(!has_reasoning(cJSON_GetObjectItem(rec, e.sse ? "events" : "response")) &&
			       !has_reasoning(cJSON_GetObjectItem(rec, "message")),
			   "--no-reasoning left reasoning in the record: %.300s", text);
	}
	return 0;
}
