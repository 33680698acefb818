/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * test-judge.c - the LLM judge's answer discipline (src/gateway/judge.c):
 * the assistant's text out of OpenAI and Anthropic responses, the verdict
 * object (fences allowed, every key required, values in range, unknown
 * keys ignored, long values cut), the case answer for the police, the
 * PATROL_* environment overrides, and a judge that cannot be reached
 * failing (never answering) without a network.
 */
#include <stdlib.h>

#include "gateway/judge.h"
#include "lib/log.h"
#include "testutil.h"

#define GOOD                                                                                                 \
	"{\"severity\":\"HIGH\",\"confidence\":0.9,\"category\":\"injection\",\"labels\":[\"PROMPT_"         \
	"INJECTION\"],"                                                                                      \
	"\"observation\":\"The tool output tells the agent to ignore its instructions.\"}"

static void test_content_openai(void **state)
{
	static const char body[] =
	    "{\"id\":\"x\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
	    "\"content\":\"hello\"}}]}";
	_cleanup_free_ char *content = NULL, *why = NULL;

	assert_int_equal(sx_judge_parse_content("openai-completions", body, strlen(body), &content, &why), 0);
	assert_string_equal(content, "hello");
}

static void test_content_anthropic(void **state)
{
	static const char body[] =
	    "{\"type\":\"message\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"hm\"},"
	    "{\"type\":\"text\",\"text\":\"{\\\"a\\\":\"},{\"type\":\"text\",\"text\":\"1}\"}]}";
	_cleanup_free_ char *content = NULL, *why = NULL;

	assert_int_equal(sx_judge_parse_content("anthropic-messages", body, strlen(body), &content, &why), 0);
	assert_string_equal(content, "{\"a\":1}");
}

static void test_content_bad(void **state)
{
	static const char *const bodies[] = {
	    "not json",
	    "{\"choices\":[]}",
	    "{\"choices\":[{\"message\":{\"content\":null}}]}",
	    "[1,2]",
	};
	for (size_t i = 0; i < ELEMENTSOF(bodies); i++) {
		_cleanup_free_ char *content = NULL, *why = NULL;
		assert_int_equal(sx_judge_parse_content("openai-completions", bodies[i], strlen(bodies[i]),
							&content, &why),
				 -EBADMSG);
		assert_non_null(why);
		assert_null(content);
	}
	_cleanup_free_ char *content = NULL, *why = NULL;
	assert_int_equal(sx_judge_parse_content("anthropic-messages", "{\"content\":[]}", 14, &content, &why),
			 -EBADMSG);
}

static void test_verdict_good(void **state)
{
	struct sx_judge_verdict v;
	_cleanup_free_ char *why = NULL;

	assert_int_equal(sx_judge_parse_verdict(GOOD, &v, &why), 0);
	assert_int_equal(v.severity, 3);
	assert_true(v.confidence > 0.89 && v.confidence < 0.91);
	assert_string_equal(v.category, "injection");
	assert_string_equal(v.labels[0], "PROMPT_INJECTION");
	assert_null(v.labels[1]);
	assert_string_equal(sx_judge_severity_name(v.severity), "HIGH");
	sx_judge_verdict_clear(&v);
}

static void test_verdict_fences(void **state)
{
	static const char *const answers[] = {
	    "```json\n" GOOD "\n```",
	    "  ```\n" GOOD "```\n",
	    "\n\n" GOOD "\n",
	};
	for (size_t i = 0; i < ELEMENTSOF(answers); i++) {
		struct sx_judge_verdict v;
		_cleanup_free_ char *why = NULL;
		if (sx_judge_parse_verdict(answers[i], &v, &why) != 0)
			fail_msg("answer %zu: %s", i, why ? why : "?");
		assert_int_equal(v.severity, 3);
		sx_judge_verdict_clear(&v);
	}
}

static void test_verdict_none_and_extra(void **state)
{
	struct sx_judge_verdict v;
	_cleanup_free_ char *why = NULL;

	assert_int_equal(
	    sx_judge_parse_verdict("{\"severity\":\"none\",\"confidence\":1,\"category\":\"harm\","
				   "\"labels\":[],\"observation\":\"\",\"summary\":\"extra\"}",
				   &v, &why),
	    0);
	assert_int_equal(v.severity, 0);
	assert_string_equal(sx_judge_severity_name(v.severity), "NONE");
	assert_null(v.labels[0]);
	sx_judge_verdict_clear(&v);
}

static void test_verdict_bad(void **state)
{
	static const char *const answers[] = {
	    "",
	    "The record looks fine.",
	    "Sure! " GOOD,
	    "```json\n```",
	    "[" GOOD "]",
	    "{\"severity\":\"CRITICAL\",\"confidence\":0.9,\"category\":\"x\",\"labels\":[],\"observation\":"
	    "\"\"}",
	    "{\"severity\":\"HIGH\",\"confidence\":1.5,\"category\":\"x\",\"labels\":[],\"observation\":"
	    "\"\"}",
	    "{\"severity\":\"HIGH\",\"confidence\":\"0.9\",\"category\":\"x\",\"labels\":[],\"observation\":"
	    "\"\"}",
	    "{\"severity\":\"HIGH\",\"confidence\":0.9,\"labels\":[],\"observation\":\"\"}",
	    "{\"severity\":\"HIGH\",\"confidence\":0.9,\"category\":\"x\",\"labels\":\"A\",\"observation\":"
	    "\"\"}",
	    "{\"severity\":\"HIGH\",\"confidence\":0.9,\"category\":\"x\",\"labels\":[1],\"observation\":"
	    "\"\"}",
	    "{\"severity\":\"HIGH\",\"confidence\":0.9,\"category\":\"x\",\"labels\":[]}",
	    "{\"confidence\":0.9,\"category\":\"x\",\"labels\":[],\"observation\":\"\"}",
	};
	for (size_t i = 0; i < ELEMENTSOF(answers); i++) {
		struct sx_judge_verdict v;
		_cleanup_free_ char *why = NULL;
		if (sx_judge_parse_verdict(answers[i], &v, &why) != -EBADMSG)
			fail_msg("answer %zu was taken: %s", i, answers[i]);
		assert_non_null(why);
		assert_null(v.category);
		assert_null(v.labels);
		assert_null(v.observation);
	}
}

static void test_verdict_cut(void **state)
{
	_cleanup_free_ char *obs = malloc(5001), *answer = NULL, *why = NULL;
	struct sx_judge_verdict v;

	assert_non_null(obs);
	memset(obs, 'a', 5000);
	obs[5000] = 0;
	answer =
	    sx_strdupf("{\"severity\":\"LOW\",\"confidence\":0.2,\"category\":\"pii\",\"labels\":[\"A\",\"\","
		       "\"B\"],\"observation\":\"%s\"}",
		       obs);
	assert_int_equal(sx_judge_parse_verdict(answer, &v, &why), 0);
	assert_int_equal(strlen(v.observation), 1000);
	assert_string_equal(v.labels[0], "A");
	assert_string_equal(v.labels[1], "B"); /* the empty one is dropped */
	sx_judge_verdict_clear(&v);
}

static void test_case_answer(void **state)
{
	_cleanup_free_ char *summary = NULL, *action = NULL, *severity = NULL, *why = NULL;

	assert_int_equal(sx_judge_parse_case("```json\n{\"summary\":\"S\",\"recommended_action\":\"A\","
					     "\"severity\":\"critical\",\"confidence\":0.9}\n```",
					     &summary, &action, &severity, &why),
			 0);
	assert_string_equal(summary, "S");
	assert_string_equal(action, "A");
	assert_string_equal(severity, "CRITICAL");
}

static void test_case_bad(void **state)
{
	static const char *const answers[] = {
	    GOOD,
	    "{\"summary\":\"\",\"recommended_action\":\"A\",\"severity\":\"LOW\"}",
	    "{\"summary\":\"S\",\"recommended_action\":\"A\",\"severity\":\"NONE\"}",
	    "{\"summary\":\"S\",\"severity\":\"LOW\"}",
	};
	for (size_t i = 0; i < ELEMENTSOF(answers); i++) {
		_cleanup_free_ char *summary = NULL, *action = NULL, *severity = NULL, *why = NULL;
		if (sx_judge_parse_case(answers[i], &summary, &action, &severity, &why) != -EBADMSG)
			fail_msg("case answer %zu was taken", i);
		assert_non_null(why);
		assert_null(summary);
		assert_null(action);
		assert_null(severity);
	}
}

static void test_env(void **state)
{
	struct sx_judge_settings s = {.model = strdup("m1"), .version = strdup("1"), .max_tokens = 512};
	_cleanup_free_ char *why = NULL;

	assert_non_null(s.model);
	unsetenv("PATROL_MODEL");
	unsetenv("PATROL_MODEL_VERSION");
	unsetenv("PATROL_MAX_TOKENS");
	unsetenv("PATROL_CONFIDENCE_THRESHOLD");
	assert_int_equal(sx_judge_settings_env(&s, &why), 0);
	assert_string_equal(s.model, "m1");
	assert_true(s.threshold > 0.59 && s.threshold < 0.61);

	setenv("PATROL_MODEL", "m2", 1);
	setenv("PATROL_MODEL_VERSION", "7", 1);
	setenv("PATROL_MAX_TOKENS", "99", 1);
	setenv("PATROL_CONFIDENCE_THRESHOLD", "0.75", 1);
	assert_int_equal(sx_judge_settings_env(&s, &why), 0);
	assert_string_equal(s.model, "m2");
	assert_string_equal(s.version, "7");
	assert_int_equal(s.max_tokens, 99);
	assert_true(s.threshold > 0.74 && s.threshold < 0.76);
	assert_true(sx_judge_threshold_env() > 0.74);

	setenv("PATROL_CONFIDENCE_THRESHOLD", "1.5", 1);
	assert_int_equal(sx_judge_settings_env(&s, &why), -EINVAL);
	assert_contains(why, "PATROL_CONFIDENCE_THRESHOLD");
	free(why), why = NULL;
	unsetenv("PATROL_CONFIDENCE_THRESHOLD");
	setenv("PATROL_MAX_TOKENS", "0", 1);
	assert_int_equal(sx_judge_settings_env(&s, &why), -EINVAL);
	assert_contains(why, "PATROL_MAX_TOKENS");
	free(why), why = NULL;
	unsetenv("PATROL_MAX_TOKENS");
	setenv("PATROL_MODEL", "a b", 1);
	assert_int_equal(sx_judge_settings_env(&s, &why), -EINVAL);
	assert_contains(why, "PATROL_MODEL");
	unsetenv("PATROL_MODEL");
	unsetenv("PATROL_MODEL_VERSION");
	sx_judge_settings_clear(&s);
}

/* A judge on a port nobody listens on: a failure with a reason, no
 * verdict.  Port 1 on loopback refuses at once. */
static void test_unreachable(void **state)
{
	struct sx_judge_settings s = {
	    .provider = strdup("p"),
	    .api = strdup("openai-completions"),
	    .base_url = strdup("http://127.0.0.1:1/v1/"),
	    .key = strdup("sk-test-key"),
	    .model = strdup("judge-model"),
	    .version = strdup("3"),
	    .max_tokens = 64,
	    .threshold = 0.6,
	};
	struct sx_judge *j = NULL;
	struct sx_judge_verdict v;
	_cleanup_free_ char *why = NULL, *summary = NULL, *action = NULL, *severity = NULL;

	assert_int_equal(sx_judge_new(&s, &j), 0);
	assert_null(s.key); /* taken over */
	assert_string_equal(sx_judge_version(j), "judge-model@3");
	assert_string_equal(sx_judge_model(j), "judge-model");
	assert_int_equal(sx_judge_review(j, "injection", "text <<<SAMPLE SAMPLE>>>", &v, &why), -EIO);
	assert_contains(why, "http://127.0.0.1:1/v1/chat/completions");
	assert_null(v.category);
	free(why), why = NULL;
	assert_int_equal(sx_judge_case_why(j, "{}", &summary, &action, &severity, &why), -EIO);
	assert_null(summary);
	sx_judge_free(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_content_openai),
	    cmocka_unit_test(test_content_anthropic),
	    cmocka_unit_test(test_content_bad),
	    cmocka_unit_test(test_verdict_good),
	    cmocka_unit_test(test_verdict_fences),
	    cmocka_unit_test(test_verdict_none_and_extra),
	    cmocka_unit_test(test_verdict_bad),
	    cmocka_unit_test(test_verdict_cut),
	    cmocka_unit_test(test_case_answer),
	    cmocka_unit_test(test_case_bad),
	    cmocka_unit_test(test_env),
	    cmocka_unit_test(test_unreachable),
	};

	sx_log_set_level(SX_LOG_ERROR);
	return cmocka_run_group_tests_name("judge", tests, NULL, NULL);
}
