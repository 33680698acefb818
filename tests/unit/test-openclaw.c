/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * test-openclaw.c - the sentrix keys in openclaw.json: desired, apply,
 * revert and check (src/setup/openclaw.c).
 */
#include "testutil.h"

#include "lib/config.h"
#include "lib/policy.h"
#include "setup/openclaw.h"

/* An instance as setup would build it. */
static struct sx_config *make_config(bool guardrail)
{
	struct sx_config *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	assert_int_equal(sx_config_init_paths(c, "sxt1"), 0);
	strcpy(c->host_ip, "10.200.0.5");
	strcpy(c->sandbox_ip, "10.200.0.6");
	c->openclaw_port = 18789;
	c->llm_port = 18790;
	c->egress_port = 18791;
	c->guardrail = guardrail;
	return c;
}

static struct sx_policy *make_policy(void)
{
	static const char text[] =
	    "{\"name\": \"t\", \"egress\": {\"dns\": {\"mode\": \"none\"}},"
	    " \"openclaw\": {\"exec_security\": \"allowlist\", \"dm_policy\": \"allowlist\"}}";
	struct sx_policy *p = NULL;
	char *why = NULL;

	if (sx_policy_parse(text, &p, &why) < 0)
		tu_fail_free(why, "policy: %s", why);
	return p;
}

/* The desired keys for make_config(true) and make_policy(). */
static cJSON *desired(const cJSON *current, const char *token)
{
	_cleanup_config_ struct sx_config *c = make_config(true);
	_cleanup_policy_ struct sx_policy *p = make_policy();
	cJSON *d = sx_openclaw_desired(c, p, current, token);

	assert_non_null(d);
	return d;
}

/* desired is keyed by dotted paths; look one up without path splitting. */
static const cJSON *want(const cJSON *desired, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(desired, key);
}

/* True when undo[list] (an array of strings) holds s. */
static bool in_list(const cJSON *undo, const char *list, const char *s)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItem(undo, list)) if (cJSON_IsString(it) &&
								    !strcmp(it->valuestring, s)) return true;
	return false;
}

static void assert_str_at(const cJSON *root, const char *path, const char *value)
{
	const cJSON *v = sx_json_get_path(root, path);
	if (!cJSON_IsString(v) || !streq(v->valuestring, value))
		fail_msg("%s is not \"%s\"", path, value);
}

static size_t count_prefix(const cJSON *obj, const char *prefix)
{
	const cJSON *it;
	size_t n = 0;

	cJSON_ArrayForEach(it, obj) if (strncmp(it->string, prefix, strlen(prefix)) == 0) n++;
	return n;
}

/* An operator's file with keys sentrix does not own. */
static const char original_text[] = "{\n"
				    "\t\"agents\": {\"defaults\": {\"model\": \"x/y\"}},\n"
				    "\t\"ui\": {\"theme\": \"dark\"},\n"
				    "\t\"gateway\": {\"port\": 1}\n"
				    "}\n";

/* ---- desired ---- */

static void test_desired_keys(void **state)
{
	_cleanup_cjson_ cJSON *d = desired(NULL, "tok-123");
	const cJSON *v;

	assert_string_equal(want(d, "gateway.mode")->valuestring, "local");
	assert_int_equal(want(d, "gateway.port")->valueint, 18789);
	assert_string_equal(want(d, "gateway.bind")->valuestring, "custom");
	assert_string_equal(want(d, "gateway.customBindHost")->valuestring, "10.200.0.6");
	assert_string_equal(want(d, "gateway.auth.mode")->valuestring, "token");
	assert_string_equal(want(d, "gateway.auth.token")->valuestring, "tok-123");
	assert_true(cJSON_IsTrue(want(d, "proxy.enabled")));
	assert_string_equal(want(d, "proxy.proxyUrl")->valuestring, "http://10.200.0.5:18791");
	assert_true(cJSON_IsTrue(want(d, "tools.web.fetch.useTrustedEnvProxy")));
	assert_string_equal(want(d, "tools.exec.security")->valuestring, "allowlist");
	assert_string_equal(want(d, "agents.defaults.sandbox.mode")->valuestring, "off");
	v = want(d, "gateway.controlUi.allowedOrigins");
	assert_true(cJSON_IsArray(v));
	assert_int_equal(cJSON_GetArraySize(v), 2);
	assert_string_equal(cJSON_GetArrayItem(v, 0)->valuestring, "https://localhost:8766");
	/* no channel configured: no per-channel keys (adding one would enable it) */
	assert_int_equal(count_prefix(d, "channels."), 0);

	/* the token is optional: status only checks one is set */
	_cleanup_cjson_ cJSON *d2 = desired(NULL, NULL);
	assert_true(cJSON_IsNull(want(d2, "gateway.auth.token")));
	assert_int_equal(cJSON_GetArraySize(d2), cJSON_GetArraySize(d));
}

static void test_desired_follows_config(void **state)
{
	_cleanup_config_ struct sx_config *c = make_config(true);
	_cleanup_policy_ struct sx_policy *p = make_policy();

	strcpy(c->host_ip, "10.200.3.9");
	strcpy(c->sandbox_ip, "10.200.3.10");
	c->openclaw_port = 4242;
	c->egress_port = 3128;
	free(p->exec_security);
	p->exec_security = strdup("deny");

	_cleanup_cjson_ cJSON *d = sx_openclaw_desired(c, p, NULL, "t");
	assert_int_equal(want(d, "gateway.port")->valueint, 4242);
	assert_string_equal(want(d, "gateway.customBindHost")->valuestring, "10.200.3.10");
	assert_string_equal(want(d, "proxy.proxyUrl")->valuestring, "http://10.200.3.9:3128");
	assert_string_equal(want(d, "tools.exec.security")->valuestring, "deny");
}

static void test_desired_channels(void **state)
{
	_cleanup_cjson_ cJSON *current = parse("{\"channels\": {\"defaults\": {\"groupPolicy\": \"open\"},"
					       " \"telegram\": {\"enabled\": true, \"dmPolicy\": \"open\"},"
					       " \"discord\": {}, \"broken\": 5}}");
	_cleanup_cjson_ cJSON *d = desired(current, "t");

	assert_string_equal(want(d, "channels.telegram.dmPolicy")->valuestring, "allowlist");
	assert_string_equal(want(d, "channels.discord.dmPolicy")->valuestring, "allowlist");
	/* "defaults" is not a channel, and non-objects are left alone */
	assert_null(want(d, "channels.defaults.dmPolicy"));
	assert_null(want(d, "channels.broken.dmPolicy"));
	assert_null(want(d, "channels.slack.dmPolicy"));
	assert_int_equal(count_prefix(d, "channels."), 2);

	/* a file without channels, or with a non-object "channels" */
	_cleanup_cjson_ cJSON *cur2 = parse("{\"channels\": []}");
	_cleanup_cjson_ cJSON *d2 = desired(cur2, "t");
	assert_int_equal(count_prefix(d2, "channels."), 0);
}

static void test_desired_without_guardrail(void **state)
{
	_cleanup_config_ struct sx_config *c = make_config(false);
	_cleanup_policy_ struct sx_policy *p = make_policy();
	_cleanup_cjson_ cJSON *d = sx_openclaw_desired(c, p, NULL, "t");

	assert_int_equal(count_prefix(d, "proxy."), 0);
	assert_int_equal(count_prefix(d, "tools.web."), 0);
	/* everything else is still there */
	assert_string_equal(want(d, "gateway.bind")->valuestring, "custom");
	assert_string_equal(want(d, "tools.exec.security")->valuestring, "allowlist");
}

/* ---- apply and revert ---- */

static void test_apply_keeps_unrelated_keys(void **state)
{
	_cleanup_cjson_ cJSON *orig = parse(original_text);
	_cleanup_cjson_ cJSON *d = desired(orig, "tok");
	_cleanup_cjson_ cJSON *originals = NULL, *applied = NULL;
	_cleanup_free_ char *out = NULL, *why = NULL;
	const cJSON *it;

	assert_int_equal(sx_openclaw_apply(original_text, d, &out, &originals, &why), 0);
	assert_non_null(out);
	assert_non_null(originals);
	applied = parse(out);

	/* the operator's keys are untouched */
	assert_str_at(applied, "agents.defaults.model", "x/y");
	assert_str_at(applied, "ui.theme", "dark");
	/* every desired key is set, as a nested path */
	cJSON_ArrayForEach(it, d)
	{
		const cJSON *have = sx_json_get_path(applied, it->string);
		if (!have || !cJSON_Compare(have, it, true))
			fail_msg("%s not applied", it->string);
	}
	assert_int_equal(sx_json_get_path(applied, "gateway.port")->valueint, 18789);
	assert_str_at(applied, "proxy.proxyUrl", "http://10.200.0.5:18791");
	assert_str_at(applied, "agents.defaults.sandbox.mode", "off");

	/* undo: every desired key either had a value or was absent */
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(originals, "values")) +
			     cJSON_GetArraySize(cJSON_GetObjectItem(originals, "absent")),
			 cJSON_GetArraySize(d));
	assert_int_equal(want(cJSON_GetObjectItem(originals, "values"), "gateway.port")->valueint, 1);
	assert_true(in_list(originals, "absent", "gateway.bind"));
	assert_true(in_list(originals, "absent", "gateway.auth.token"));
	assert_true(in_list(originals, "absent", "proxy.proxyUrl"));
	assert_true(in_list(originals, "absent", "tools.exec.security"));
	assert_true(in_list(originals, "absent", "agents.defaults.sandbox.mode"));
	/* the parent objects sentrix had to add, and only those */
	assert_true(in_list(originals, "created", "proxy"));
	assert_true(in_list(originals, "created", "tools"));
	assert_true(in_list(originals, "created", "tools.exec"));
	assert_true(in_list(originals, "created", "gateway.auth"));
	assert_true(in_list(originals, "created", "agents.defaults.sandbox"));
	assert_false(in_list(originals, "created", "gateway"));
	assert_false(in_list(originals, "created", "agents.defaults"));
	/* output is a whole line-terminated document */
	assert_int_equal(out[strlen(out) - 1], '\n');
}

/* Applies d (taken) to text, reverts the result and asserts the original
 * document comes back; returns it parsed (the caller frees it). */
static cJSON *apply_and_revert_with(const char *text, cJSON *desired_keys)
{
	_cleanup_cjson_ cJSON *orig = parse(text);
	_cleanup_cjson_ cJSON *d = desired_keys;
	_cleanup_cjson_ cJSON *originals = NULL;
	_cleanup_free_ char *out = NULL, *back = NULL, *why = NULL;
	cJSON *reverted;

	assert_int_equal(sx_openclaw_apply(text, d, &out, &originals, &why), 0);
	assert_int_equal(sx_openclaw_revert(out, originals, &back, &why), 0);
	reverted = parse(back);
	if (!cJSON_Compare(orig, reverted, true)) {
		cJSON_Delete(reverted);
		fail_msg("reverted file differs from the original:\n%s", back);
	}
	return reverted;
}

/* apply_and_revert_with() of the plain desired keys for text. */
static cJSON *apply_and_revert(const char *text)
{
	_cleanup_cjson_ cJSON *orig = parse(text);

	return apply_and_revert_with(text, desired(orig, "tok"));
}

static void test_revert_restores_original(void **state)
{
	_cleanup_cjson_ cJSON *reverted = apply_and_revert(original_text);

	/* objects sentrix created are gone, shared parents stay */
	assert_null(sx_json_get_path(reverted, "proxy"));
	assert_null(sx_json_get_path(reverted, "tools"));
	assert_null(sx_json_get_path(reverted, "gateway.auth"));
	assert_null(sx_json_get_path(reverted, "agents.defaults.sandbox"));
	assert_str_at(reverted, "agents.defaults.model", "x/y");
	assert_int_equal(sx_json_get_path(reverted, "gateway.port")->valueint, 1);
}

static void test_apply_to_no_file_and_revert(void **state)
{
	_cleanup_cjson_ cJSON *d = desired(NULL, "tok");
	_cleanup_cjson_ cJSON *originals = NULL, *created = NULL, *reverted = NULL;
	_cleanup_free_ char *out = NULL, *back = NULL, *why = NULL;
	const cJSON *it;

	assert_int_equal(sx_openclaw_apply(NULL, d, &out, &originals, &why), 0);
	created = parse(out);
	assert_true(cJSON_IsObject(created));
	assert_str_at(created, "gateway.customBindHost", "10.200.0.6");
	assert_str_at(created, "gateway.auth.token", "tok");
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(originals, "values"))
	    fail_msg("%s has an original", it->string);

	assert_int_equal(sx_openclaw_revert(out, originals, &back, &why), 0);
	reverted = parse(back);
	assert_true(cJSON_IsObject(reverted));
	assert_int_equal(cJSON_GetArraySize(reverted), 0);
}

static void test_apply_is_idempotent(void **state)
{
	_cleanup_cjson_ cJSON *orig = parse(original_text);
	_cleanup_cjson_ cJSON *d = desired(orig, "tok");
	_cleanup_cjson_ cJSON *o1 = NULL, *o2 = NULL;
	_cleanup_free_ char *out1 = NULL, *out2 = NULL, *why = NULL;
	const cJSON *it;

	assert_int_equal(sx_openclaw_apply(original_text, d, &out1, &o1, &why), 0);
	assert_int_equal(sx_openclaw_apply(out1, d, &out2, &o2, &why), 0);
	/* a second run changes nothing, and its originals are sentrix's own values */
	assert_string_equal(out1, out2);
	cJSON_ArrayForEach(it, d)
	{
		if (!cJSON_Compare(want(cJSON_GetObjectItem(o2, "values"), it->string), it, true))
			fail_msg("second apply recorded another original for %s", it->string);
	}
}

static void test_revert_keeps_later_edits(void **state)
{
	_cleanup_cjson_ cJSON *orig = parse("{\"gateway\": {\"port\": 1, \"auth\": {\"token\": \"mine\"}},"
					    " \"tools\": {\"web\": {\"enabled\": true}}}");
	_cleanup_cjson_ cJSON *d = desired(orig, "mine");
	_cleanup_cjson_ cJSON *originals = NULL, *edited = NULL, *reverted = NULL;
	_cleanup_free_ char *out = NULL, *text = NULL, *back = NULL, *why = NULL;

	text = cJSON_PrintUnformatted(orig);
	assert_int_equal(sx_openclaw_apply(text, d, &out, &originals, &why), 0);
	assert_string_equal(want(cJSON_GetObjectItem(originals, "values"), "gateway.auth.token")->valuestring,
			    "mine");

	/* the operator edits the file after setup */
	edited = parse(out);
	assert_int_equal(sx_json_set_path(edited, "ui.theme", cJSON_CreateString("light")), 0);
	assert_int_equal(sx_json_set_path(edited, "tools.exec.ask", cJSON_CreateString("always")), 0);
	free(text);
	text = cJSON_Print(edited);

	assert_int_equal(sx_openclaw_revert(text, originals, &back, &why), 0);
	reverted = parse(back);
	/* sentrix's keys go back to what they were... */
	assert_int_equal(sx_json_get_path(reverted, "gateway.port")->valueint, 1);
	assert_str_at(reverted, "gateway.auth.token", "mine");
	assert_null(sx_json_get_path(reverted, "gateway.auth.mode"));
	assert_null(sx_json_get_path(reverted, "gateway.bind"));
	assert_null(sx_json_get_path(reverted, "proxy"));
	assert_null(sx_json_get_path(reverted, "tools.exec.security"));
	/* ...the operator's edits and pre-existing siblings stay */
	assert_str_at(reverted, "ui.theme", "light");
	assert_str_at(reverted, "tools.exec.ask", "always");
	assert_true(cJSON_IsTrue(sx_json_get_path(reverted, "tools.web.enabled")));
}

/* The original had empty objects at paths sentrix writes below: reverting
 * must give the same document back, empty objects included. */
static void test_revert_keeps_preexisting_empty_objects(void **state)
{
	cJSON_Delete(apply_and_revert("{\"tools\": {}, \"proxy\": {}, \"ui\": {\"theme\": \"dark\"}}\n"));
}

/* Asserts apply refuses text with -EINVAL and a why holding "line N" and
 * the expected hint (NULL: only the line). */
static void expect_refused_at(const char *text, unsigned line, const char *hint, int src_line)
{
	_cleanup_cjson_ cJSON *d = desired(NULL, "tok");
	cJSON *originals = NULL;
	char *out = NULL, *why = NULL, want_line[32];
	int r = sx_openclaw_apply(text, d, &out, &originals, &why);

	snprintf(want_line, sizeof(want_line), "line %u:", line);
	if (r != -EINVAL)
		fail_msg("line %d: apply returned %d, expected -EINVAL", src_line, r);
	assert_null(out);
	assert_null(originals);
	if (!why || !strstr(why, want_line) || (hint && !strstr(why, hint)))
		tu_fail_free(why, "line %d: why \"%s\", expected \"%s\" and \"%s\"", src_line,
			     why ? why : "(null)", want_line, hint ? hint : "");
	free(why);
}
#define expect_refused(text, line, hint) expect_refused_at((text), (line), (hint), __LINE__)

static void test_apply_refuses_json5_lines(void **state)
{
	/* line comment on line 3 */
	expect_refused("{\n"
		       "  \"a\": 1,\n"
		       "  // the gateway\n"
		       "  \"b\": 2\n"
		       "}\n",
		       3, "a comment");
	/* line comment after a value, line 2 */
	expect_refused("{\n"
		       "  \"a\": 1 // one\n"
		       "}\n",
		       2, "a comment");
	/* block comment starting on line 4 */
	expect_refused("{\n"
		       "  \"a\": 1,\n"
		       "  \"b\": 2,\n"
		       "  /* several\n"
		       "     lines */\n"
		       "  \"c\": 3\n"
		       "}\n",
		       4, "a comment");
	/* a comment before everything */
	expect_refused("// openclaw.json\n{}\n", 1, "a comment");
	/* trailing comma in an object: named on the comma's line 3, not the
	 * closing brace's */
	expect_refused("{\n"
		       "  \"a\": 1,\n"
		       "  \"b\": 2,\n"
		       "}\n",
		       3, "a trailing comma");
	/* the same with blank lines between comma and brace */
	expect_refused("{\n"
		       "  \"a\": 1,\n"
		       "  \"b\": 2,\n"
		       "\n"
		       "\n"
		       "}\n",
		       3, "a trailing comma");
	/* trailing comma in an array: the comma is on line 4 */
	expect_refused("{\n"
		       "  \"a\": [\n"
		       "    1,\n"
		       "    2,\n"
		       "  ],\n"
		       "  \"b\": 1\n"
		       "}\n",
		       4, "a trailing comma");
	/* single-quoted value and key, line 3 */
	expect_refused("{\n"
		       "  \"a\": 1,\n"
		       "  \"b\": 'x'\n"
		       "}\n",
		       3, "a single-quoted string");
	expect_refused("{\n"
		       "  \"a\": 1,\n"
		       "  'b': 2\n"
		       "}\n",
		       3, "a single-quoted string");
	/* unquoted key, line 2 */
	expect_refused("{\n"
		       "  gateway: {}\n"
		       "}\n",
		       2, "an unquoted key");
	/* truncated file */
	expect_refused("{\n  \"a\": {\n", 3, "end of input");
}

static void test_apply_refuses_non_objects(void **state)
{
	expect_refused("[1, 2]\n", 1, "not a JSON object");
	expect_refused("\"text\"\n", 1, "not a JSON object");
	expect_refused("null\n", 1, "not a JSON object");
}

static void test_apply_refuses_non_object_parent(void **state)
{
	_cleanup_cjson_ cJSON *d = desired(NULL, "tok");
	cJSON *originals = NULL;
	char *out = NULL;
	_cleanup_free_ char *why = NULL;

	/* "tools" is a string: the tools.* keys have nowhere to go */
	assert_int_equal(sx_openclaw_apply("{\"tools\": \"none\"}", d, &out, &originals, &why), -EINVAL);
	assert_null(out);
	assert_null(originals);
	assert_contains(why, "tools.");
	assert_contains(why, "a parent of this key is not an object");
}

/* ---- check ---- */

/* Writes j to path and asserts check finds drift from d, with a why naming
 * each of the NULL-terminated parts. */
static void expect_drift_in(const char *path, const cJSON *j, const cJSON *d, const char *const *parts)
{
	_cleanup_free_ char *why = NULL;

	write_json(path, j);
	assert_int_equal(sx_openclaw_check(path, d, &why), -EUCLEAN);
	for (size_t i = 0; parts[i]; i++)
		assert_contains(why, parts[i]);
}
#define expect_drift(path, j, d, ...)                                                                        \
	expect_drift_in((path), (j), (d), (const char *const[]){__VA_ARGS__, NULL})

static void test_check(void **state)
{
	_cleanup_cjson_ cJSON *orig = parse(original_text);
	_cleanup_cjson_ cJSON *d = desired(orig, "tok");
	_cleanup_cjson_ cJSON *originals = NULL, *j = NULL;
	_cleanup_free_ char *path = tmp_path("check.json"), *out = NULL, *why = NULL;

	assert_int_equal(sx_openclaw_apply(original_text, d, &out, &originals, &why), 0);
	write_text(path, out);
	assert_int_equal(sx_openclaw_check(path, d, &why), 0);
	assert_null(why);

	/* one drifted value: named, with both values */
	j = parse(out);
	assert_int_equal(sx_json_set_path(j, "gateway.bind", cJSON_CreateString("loopback")), 0);
	expect_drift(path, j, d, "gateway.bind", "loopback", "custom");

	/* a number where a string is expected */
	assert_int_equal(sx_json_set_path(j, "gateway.bind", cJSON_CreateString("custom")), 0);
	assert_int_equal(sx_json_set_path(j, "proxy.proxyUrl", cJSON_CreateNumber(5)), 0);
	expect_drift(path, j, d, "proxy.proxyUrl");

	/* a removed key is drift too */
	sx_json_remove_path(j, "proxy.proxyUrl");
	sx_json_remove_path(j, "tools.exec.security");
	assert_int_equal(sx_json_set_path(j, "proxy.proxyUrl", cJSON_CreateString("http://10.200.0.5:18791")),
			 0);
	expect_drift(path, j, d, "tools.exec.security", "absent");

	/* a missing file */
	_cleanup_free_ char *missing = tmp_path("missing.json");
	assert_int_equal(sx_openclaw_check(missing, d, &why), -ENOENT);
	assert_non_null(why);
	free(why);
	why = NULL;

	/* a file that is not JSON: the line is named */
	write_text(path, "{\n  \"gateway\": {\n    // x\n  }\n}\n");
	assert_int_equal(sx_openclaw_check(path, d, &why), -EINVAL);
	assert_contains(why, "line 3");
}

/* Asserts check of path against d returns expected, and that a refusal
 * names gateway.auth.token; tk and desired_tk name the case. */
static void expect_token_check(const char *path, const cJSON *d, const char *tk, const char *desired_tk,
			       int expected)
{
	char *why = NULL;
	int r = sx_openclaw_check(path, d, &why);

	if (r != expected)
		tu_fail_free(why, "token %s, desired token %s: %d, expected %d", tk, desired_tk, r, expected);
	if (r < 0 && (!why || !strstr(why, "gateway.auth.token")))
		tu_fail_free(why, "token %s: why \"%s\" does not name gateway.auth.token", tk,
			     why ? why : "(null)");
	free(why);
}

static void test_check_token(void **state)
{
	_cleanup_cjson_ cJSON *any = desired(NULL, NULL);
	_cleanup_cjson_ cJSON *exact = desired(NULL, "T");
	_cleanup_cjson_ cJSON *originals = NULL;
	_cleanup_free_ char *path = tmp_path("token.json"), *out = NULL, *why = NULL;
	static const struct {
		const char *token_json; /* NULL: no token key */
		int any, exact;
	} cases[] = {
	    {"\"T\"", 0, 0},	       {"\"other\"", 0, -EUCLEAN},   {"\"\"", -EUCLEAN, -EUCLEAN},
	    {"5", -EUCLEAN, -EUCLEAN}, {"null", -EUCLEAN, -EUCLEAN}, {NULL, -EUCLEAN, -EUCLEAN},
	};

	assert_int_equal(sx_openclaw_apply(NULL, exact, &out, &originals, &why), 0);
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_cjson_ cJSON *j = parse(out);
		const char *tk = cases[i].token_json ? cases[i].token_json : "(absent)";

		sx_json_remove_path(j, "gateway.auth.token");
		if (cases[i].token_json)
			assert_int_equal(
			    sx_json_set_path(j, "gateway.auth.token", parse(cases[i].token_json)), 0);
		/* keep gateway.auth present for the absent-token case */
		assert_int_equal(sx_json_set_path(j, "gateway.auth.mode", cJSON_CreateString("token")), 0);
		write_json(path, j);

		expect_token_check(path, any, tk, "NULL", cases[i].any);
		expect_token_check(path, exact, tk, "\"T\"", cases[i].exact);
	}
}

/* ---- providers ---- */

/* make_config(true) with two providers: one holding the default model. */
static struct sx_config *make_config_providers(void)
{
	struct sx_config *c = make_config(true);
	struct sx_provider a = {.name = "openai",
				.api = "openai-completions",
				.base_url = "https://api.openai.com/v1",
				.key_env = "OPENAI_API_KEY",
				.models = (char *[]){"gpt-4.1", "gpt-5", NULL},
				.default_model = "gpt-5"};
	struct sx_provider b = {.name = "my-llm",
				.api = "anthropic-messages",
				.base_url = "http://10.9.9.9",
				.key_env = "MY_LLM_API_KEY",
				.models = (char *[]){NULL}};

	assert_int_equal(sx_config_set_provider(c, &a), 0);
	assert_int_equal(sx_config_set_provider(c, &b), 0);
	return c;
}

static cJSON *desired_providers(const char *current_text, const char *token)
{
	_cleanup_config_ struct sx_config *c = make_config_providers();
	_cleanup_policy_ struct sx_policy *p = make_policy();
	_cleanup_cjson_ cJSON *cur = current_text ? parse(current_text) : NULL;
	cJSON *d = sx_openclaw_desired(c, p, cur, token);

	assert_non_null(d);
	return d;
}

static void test_desired_providers(void **state)
{
	_cleanup_cjson_ cJSON *d = desired_providers(NULL, "tok-1");
	_cleanup_cjson_ cJSON *expect_openai = parse(
	    "{\"baseUrl\": \"http://10.200.0.5:18790/openai\", \"apiKey\": \"tok-1\","
	    " \"api\": \"openai-completions\", \"models\": [{\"id\": \"gpt-4.1\", \"name\": \"gpt-4.1\"},"
	    " {\"id\": \"gpt-5\", \"name\": \"gpt-5\"}]}");
	_cleanup_cjson_ cJSON *expect_mine =
	    parse("{\"baseUrl\": \"http://10.200.0.5:18790/my-llm\", \"apiKey\": \"tok-1\","
		  " \"api\": \"anthropic-messages\", \"models\": []}");
	_cleanup_cjson_ cJSON *plain = desired(NULL, "tok-1");

	/* the whole provider object is one key: sentrix owns it entirely */
	if (!cJSON_Compare(want(d, "models.providers.openai"), expect_openai, true))
		fail_msg("models.providers.openai is not as expected");
	if (!cJSON_Compare(want(d, "models.providers.my-llm"), expect_mine, true))
		fail_msg("models.providers.my-llm is not as expected");
	/* no default model in the file: the object form */
	assert_string_equal(want(d, "agents.defaults.model.primary")->valuestring, "openai/gpt-5");
	assert_null(want(d, "agents.defaults.model"));
	/* nothing else changes */
	assert_int_equal(cJSON_GetArraySize(d), cJSON_GetArraySize(plain) + 3);

	/* the form the user's file has is kept */
	_cleanup_cjson_ cJSON *d2 =
	    desired_providers("{\"agents\": {\"defaults\": {\"model\": \"x/y\"}}}", "t");
	assert_string_equal(want(d2, "agents.defaults.model")->valuestring, "openai/gpt-5");
	assert_null(want(d2, "agents.defaults.model.primary"));
	_cleanup_cjson_ cJSON *d3 = desired_providers(
	    "{\"agents\": {\"defaults\": {\"model\": {\"primary\": \"x/y\", \"fallbacks\": [\"x/z\"]}}}}",
	    "t");
	assert_string_equal(want(d3, "agents.defaults.model.primary")->valuestring, "openai/gpt-5");
	assert_null(want(d3, "agents.defaults.model"));

	/* no token known (status): the API key stands for any token */
	_cleanup_cjson_ cJSON *d4 = desired_providers(NULL, NULL);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(want(d4, "models.providers.openai"), "apiKey")));
}

/* The user's own providers (one of them named like sentrix's) and default
 * model come back on revert; their other providers are never touched. */
static void test_providers_apply_revert(void **state)
{
	static const char text[] =
	    "{\"agents\": {\"defaults\": {\"model\": {\"primary\": \"mine/m1\", \"fallbacks\": "
	    "[\"mine/m2\"]}}},"
	    " \"models\": {\"mode\": \"merge\", \"providers\": {"
	    "  \"mine\": {\"baseUrl\": \"http://127.0.0.1:9\", \"apiKey\": \"k\", \"models\": []},"
	    "  \"openai\": {\"baseUrl\": \"https://api.openai.com/v1\", \"apiKey\": \"users-real-key\", "
	    "\"models\": []}}}}";
	_cleanup_cjson_ cJSON *reverted = apply_and_revert_with(text, desired_providers(text, "tok"));
	_cleanup_cjson_ cJSON *d = desired_providers(text, "tok");
	_cleanup_cjson_ cJSON *undo = NULL, *applied = NULL;
	_cleanup_free_ char *out = NULL, *why = NULL;

	assert_str_at(reverted, "models.providers.openai.apiKey", "users-real-key");
	assert_int_equal(sx_openclaw_apply(text, d, &out, &undo, &why), 0);
	applied = parse(out);
	assert_str_at(applied, "models.providers.openai.apiKey", "tok");
	assert_str_at(applied, "models.providers.mine.apiKey", "k");
	assert_str_at(applied, "agents.defaults.model.primary", "openai/gpt-5");
	assert_str_at(applied, "models.mode", "merge");
	/* fallbacks are the user's */
	assert_string_equal(
	    cJSON_GetArrayItem(sx_json_get_path(applied, "agents.defaults.model.fallbacks"), 0)->valuestring,
	    "mine/m2");
	assert_true(in_list(undo, "absent", "models.providers.my-llm"));
	assert_non_null(want(cJSON_GetObjectItem(undo, "values"), "models.providers.openai"));

	/* a file without models: the objects sentrix adds go again */
	cJSON_Delete(apply_and_revert_with("{\"ui\": {}}", desired_providers(NULL, "tok")));
}

/* check: the API key must be a set token when the token is not known, and
 * drift messages never show a key. */
static void test_check_providers(void **state)
{
	_cleanup_cjson_ cJSON *exact = desired_providers(NULL, "tok-secret");
	_cleanup_cjson_ cJSON *any = desired_providers(NULL, NULL);
	_cleanup_cjson_ cJSON *undo = NULL, *j = NULL;
	_cleanup_free_ char *path = tmp_path("providers.json"), *out = NULL, *why = NULL;

	assert_int_equal(sx_openclaw_apply(NULL, exact, &out, &undo, &why), 0);
	write_text(path, out);
	assert_int_equal(sx_openclaw_check(path, exact, &why), 0);
	assert_int_equal(sx_openclaw_check(path, any, &why), 0);

	/* another key in the provider's place: drifted, and neither key shown */
	j = parse(out);
	assert_int_equal(sx_json_set_path(j, "models.providers.openai.apiKey", cJSON_CreateString("sk-real")),
			 0);
	write_json(path, j);
	assert_int_equal(sx_openclaw_check(path, any, &why), 0);
	assert_int_equal(sx_openclaw_check(path, exact, &why), -EUCLEAN);
	assert_contains(why, "models.providers.openai");
	if (strstr(why, "sk-real") || strstr(why, "tok-secret"))
		tu_fail_free(why, "a key is in the message: %s", why);
	free(why);
	why = NULL;

	/* an empty key, an extra member, a missing model: drifted */
	assert_int_equal(sx_json_set_path(j, "models.providers.openai.apiKey", cJSON_CreateString("")), 0);
	write_json(path, j);
	assert_int_equal(sx_openclaw_check(path, any, &why), -EUCLEAN);
	free(why);
	why = NULL;
	assert_int_equal(
	    sx_json_set_path(j, "models.providers.openai.apiKey", cJSON_CreateString("tok-secret")), 0);
	assert_int_equal(sx_json_set_path(j, "models.providers.openai.headers", cJSON_CreateObject()), 0);
	write_json(path, j);
	assert_int_equal(sx_openclaw_check(path, any, &why), -EUCLEAN);
	free(why);
	why = NULL;
	sx_json_remove_path(j, "models.providers.openai.headers");
	cJSON_DeleteItemFromArray(sx_json_get_path(j, "models.providers.openai.models"), 1);
	write_json(path, j);
	assert_int_equal(sx_openclaw_check(path, any, &why), -EUCLEAN);
	free(why);
	why = NULL;

	/* the gateway token's drift message does not show it either */
	cJSON_Delete(j);
	j = parse(out);
	assert_int_equal(sx_json_set_path(j, "gateway.auth.token", cJSON_CreateString("other-token")), 0);
	write_json(path, j);
	assert_int_equal(sx_openclaw_check(path, exact, &why), -EUCLEAN);
	if (strstr(why, "other-token") || strstr(why, "tok-secret"))
		tu_fail_free(why, "a token is in the message: %s", why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_desired_keys),
	    cmocka_unit_test(test_desired_follows_config),
	    cmocka_unit_test(test_desired_channels),
	    cmocka_unit_test(test_desired_without_guardrail),
	    cmocka_unit_test(test_apply_keeps_unrelated_keys),
	    cmocka_unit_test(test_revert_restores_original),
	    cmocka_unit_test(test_apply_to_no_file_and_revert),
	    cmocka_unit_test(test_apply_is_idempotent),
	    cmocka_unit_test(test_revert_keeps_later_edits),
	    cmocka_unit_test(test_revert_keeps_preexisting_empty_objects),
	    cmocka_unit_test(test_apply_refuses_json5_lines),
	    cmocka_unit_test(test_apply_refuses_non_objects),
	    cmocka_unit_test(test_apply_refuses_non_object_parent),
	    cmocka_unit_test(test_check),
	    cmocka_unit_test(test_check_token),
	    cmocka_unit_test(test_desired_providers),
	    cmocka_unit_test(test_providers_apply_revert),
	    cmocka_unit_test(test_check_providers),
	};

	return cmocka_run_group_tests_name("openclaw", tests, tu_group_setup, tu_group_teardown);
}
