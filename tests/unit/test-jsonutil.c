/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * test-jsonutil.c - dotted-path helpers and strict parsing with JSON5
 * diagnostics (src/lib/jsonutil.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/jsonutil.h"
#include "lib/util.h"

static char tmpdir[4096];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int group_setup(void **state)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/sx-test-jsonutil.XXXXXX", t && *t ? t : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

/* Removes the directory even when a test failed half-way. */
static int group_teardown(void **state)
{
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static cJSON *parse(const char *text)
{
	cJSON *j = cJSON_Parse(text);
	if (!j)
		fail_msg("not JSON: %s", text);
	return j;
}

/* Asserts root equals the JSON text exactly (order-insensitive for objects). */
static void assert_json_at(const cJSON *root, const char *text, int line)
{
	cJSON *w = parse(text);
	char msg[512] = "";

	if (!cJSON_Compare(root, w, true)) {
		char *have = cJSON_PrintUnformatted(root);
		snprintf(msg, sizeof(msg), "line %d: have %s, want %s", line, have ? have : "?", text);
		free(have);
	}
	cJSON_Delete(w);
	if (*msg)
		fail_msg("%s", msg);
}
#define assert_json(root, text) assert_json_at((root), (text), __LINE__)

static void test_get_path(void **state)
{
	_cleanup_cjson_ cJSON *j =
	    parse("{\"a\": {\"b\": {\"c\": 3}, \"n\": 1, \"arr\": [1]}, \"top\": \"t\"}");

	assert_int_equal(sx_json_get_path(j, "a.b.c")->valueint, 3);
	assert_true(cJSON_IsObject(sx_json_get_path(j, "a.b")));
	assert_string_equal(sx_json_get_path(j, "top")->valuestring, "t");
	assert_null(sx_json_get_path(j, "a.x"));
	assert_null(sx_json_get_path(j, "a.b.c.d")); /* through a number */
	assert_null(sx_json_get_path(j, "a.arr.0")); /* arrays are not indexed */
	assert_null(sx_json_get_path(j, "nothing.at.all"));
	/* keys are case-sensitive */
	assert_null(sx_json_get_path(j, "A.b"));
	assert_null(sx_json_get_path(j, "Top"));

	assert_string_equal(sx_json_str(j, "top"), "t");
	assert_null(sx_json_str(j, "a"));
	assert_null(sx_json_str(j, "missing"));
}

static void test_set_path_creates_intermediates(void **state)
{
	_cleanup_cjson_ cJSON *j = cJSON_CreateObject();

	assert_int_equal(sx_json_set_path(j, "a.b.c", cJSON_CreateNumber(1)), 0);
	assert_json(j, "{\"a\": {\"b\": {\"c\": 1}}}");
	/* siblings join the existing objects */
	assert_int_equal(sx_json_set_path(j, "a.b.d", cJSON_CreateString("x")), 0);
	assert_int_equal(sx_json_set_path(j, "a.e", cJSON_CreateTrue()), 0);
	assert_int_equal(sx_json_set_path(j, "top", cJSON_CreateNull()), 0);
	assert_json(j, "{\"a\": {\"b\": {\"c\": 1, \"d\": \"x\"}, \"e\": true}, \"top\": null}");
}

static void test_set_path_replaces(void **state)
{
	_cleanup_cjson_ cJSON *j = parse("{\"a\": {\"x\": 1, \"b\": 2, \"y\": 3}}");

	assert_int_equal(sx_json_set_path(j, "a.b", cJSON_CreateString("v")), 0);
	assert_json(j, "{\"a\": {\"x\": 1, \"b\": \"v\", \"y\": 3}}");
	/* replaced, not duplicated */
	assert_int_equal(cJSON_GetArraySize(sx_json_get_path(j, "a")), 3);
	/* an object value replaces a scalar */
	assert_int_equal(sx_json_set_path(j, "a.x", parse("{\"deep\": [1, 2]}")), 0);
	assert_int_equal(sx_json_set_path(j, "a.x.deep", cJSON_CreateNumber(7)), 0);
	assert_json(j, "{\"a\": {\"x\": {\"deep\": 7}, \"b\": \"v\", \"y\": 3}}");
	/* a top-level key */
	assert_int_equal(sx_json_set_path(j, "a", cJSON_CreateNumber(0)), 0);
	assert_json(j, "{\"a\": 0}");
}

static void test_set_path_refuses_non_object_parent(void **state)
{
	static const char text[] = "{\"n\": 5, \"s\": \"str\", \"arr\": [1], \"o\": {\"leaf\": null}}";
	_cleanup_cjson_ cJSON *j = parse(text);

	/* the value is consumed either way (valgrind checks it is freed) */
	assert_int_equal(sx_json_set_path(j, "n.b", cJSON_CreateNumber(1)), -EINVAL);
	assert_int_equal(sx_json_set_path(j, "s.b.c", cJSON_CreateString("x")), -EINVAL);
	assert_int_equal(sx_json_set_path(j, "arr.b", cJSON_CreateNumber(1)), -EINVAL);
	assert_int_equal(sx_json_set_path(j, "o.leaf.x", cJSON_CreateNumber(1)), -EINVAL);
	/* nothing changed */
	assert_json(j, text);
}

static void test_remove_path(void **state)
{
	_cleanup_cjson_ cJSON *j = parse("{\"a\": {\"b\": {\"c\": 1}}, \"x\": 1}");

	/* only the key goes: parents stay even when left empty (callers that
	 * created them remove them; see sx_openclaw_revert) */
	sx_json_remove_path(j, "a.b.c");
	assert_json(j, "{\"a\": {\"b\": {}}, \"x\": 1}");

	cJSON_Delete(j);
	j = parse("{\"a\": {\"b\": {\"c\": 1, \"d\": 2}}}");
	sx_json_remove_path(j, "a.b.c");
	assert_json(j, "{\"a\": {\"b\": {\"d\": 2}}}");

	cJSON_Delete(j);
	j = parse("{\"a\": {\"b\": {\"c\": 1}, \"e\": 3}}");
	sx_json_remove_path(j, "a.b.c");
	assert_json(j, "{\"a\": {\"b\": {}, \"e\": 3}}");

	/* a top-level key */
	sx_json_remove_path(j, "a");
	assert_json(j, "{}");

	/* a whole subtree */
	cJSON_Delete(j);
	j = parse("{\"a\": {\"b\": {\"c\": 1, \"d\": 2}}, \"k\": 0}");
	sx_json_remove_path(j, "a.b");
	assert_json(j, "{\"a\": {}, \"k\": 0}");

	/* absent paths and paths through non-objects change nothing */
	cJSON_Delete(j);
	j = parse("{\"a\": {\"b\": 1}, \"n\": 5}");
	sx_json_remove_path(j, "a.q");
	sx_json_remove_path(j, "n.q");
	sx_json_remove_path(j, "x.y.z");
	sx_json_remove_path(j, "missing");
	assert_json(j, "{\"a\": {\"b\": 1}, \"n\": 5}");
}

/* Removing an absent key leaves an existing empty parent alone. */
static void test_remove_absent_keeps_existing_empty_object(void **state)
{
	cJSON *j = parse("{\"a\": {}, \"k\": 1}"), *want = parse("{\"a\": {}, \"k\": 1}");
	char *have;
	bool same;

	sx_json_remove_path(j, "a.b");
	same = cJSON_Compare(j, want, true);
	have = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	cJSON_Delete(want);
	if (!same) {
		char msg[256];
		snprintf(msg, sizeof(msg), "removing absent a.b left %s", have ? have : "?");
		free(have);
		fail_msg("%s", msg);
	}
	free(have);
}

static void test_print(void **state)
{
	_cleanup_cjson_ cJSON *j = parse("{\"a\": [1, \"two\", null], \"b\": {\"c\": true}}"), *back = NULL;
	_cleanup_free_ char *s = sx_json_print(j);

	assert_non_null(s);
	assert_int_equal(s[strlen(s) - 1], '\n');
	back = parse(s);
	assert_true(cJSON_Compare(j, back, true));
}

static void test_parse_valid(void **state)
{
	_cleanup_cjson_ cJSON *j = NULL;
	char *why = NULL;

	assert_int_equal(sx_json_parse(" {\"a\": [1, 2], \"b\": \"/* not a comment */\"}\n", &j, &why), 0);
	assert_null(why);
	assert_string_equal(sx_json_str(j, "b"), "/* not a comment */");
}

/* Asserts text is refused naming the line and the hint. */
static void expect_error_at(const char *text, unsigned line, const char *hint, int src_line)
{
	cJSON *j = NULL;
	char *why = NULL, want[32];
	int r = sx_json_parse(text, &j, &why);

	snprintf(want, sizeof(want), "line %u: ", line);
	if (r != -EINVAL) {
		cJSON_Delete(j);
		fail_msg("line %d: returned %d, expected -EINVAL", src_line, r);
	}
	assert_null(j);
	if (!why || strncmp(why, want, strlen(want)) != 0 || !strstr(why, hint)) {
		char msg[256];
		snprintf(msg, sizeof(msg), "line %d: why \"%s\", want \"%s... %s\"", src_line,
			 why ? why : "(null)", want, hint);
		free(why);
		fail_msg("%s", msg);
	}
	free(why);
	/* why is optional */
	assert_int_equal(sx_json_parse(text, &j, NULL), -EINVAL);
}
#define expect_error(text, line, hint) expect_error_at((text), (line), (hint), __LINE__)

/* JSON5 features in the usual spaced-out style. */
static void test_parse_errors_name_json5_features(void **state)
{
	expect_error("{\n  \"a\": 1,\n  // c\n  \"b\": 2\n}\n", 3, "a comment (JSON5)");
	expect_error("{\n  \"a\": 1,\n  /* c */\n  \"b\": 2\n}\n", 3, "a comment (JSON5)");
	expect_error("{\n  \"a\": 1 // c\n}\n", 2, "a comment (JSON5)");
	expect_error("/* header */\n{}\n", 1, "a comment (JSON5)");
	expect_error("{\n  \"a\": 1,\n  \"b\": 2,\n}\n", 3, "a trailing comma (JSON5)");
	expect_error("{\n  \"a\": [\n    1,\n    2,\n  ]\n}\n", 4, "a trailing comma (JSON5)");
	expect_error("{\n  \"a\": 1,\n  \"b\": 'x'\n}\n", 3, "a single-quoted string (JSON5)");
	expect_error("{\n  \"a\": 1,\n  'b': 2\n}\n", 3, "a single-quoted string (JSON5)");
	expect_error("{\n  \"a\": 1,\n  b: 2\n}\n", 3, "an unquoted key or bare word (JSON5)");
	expect_error("{\n  \"a\": {\n", 3, "unexpected end of input");
	expect_error("", 1, "unexpected end of input");
	expect_error("{\"a\": 1}\n\n{}\n", 3, "invalid JSON");
	expect_error("{\n  \"a\" 1\n}\n", 2, "invalid JSON");
}

/* The same features written without blanks before them, as minified or
 * hand-compacted files have them. */
static void test_parse_errors_name_json5_features_compact(void **state)
{
	expect_error("{\"a\": 1,\n\"b\": [1,2,]}", 2, "a trailing comma (JSON5)");
	expect_error("{\"a\": 1,\n\"b\":'x'}", 2, "a single-quoted string (JSON5)");
	expect_error("{\"a\": 1,\n\"b\": 2// c\n}", 2, "a comment (JSON5)");
	expect_error("{\"a\": 1,\n\"b\": 2/* c */}", 2, "a comment (JSON5)");
	expect_error("{\"a\": 1,\n\"b\": 2,}", 2, "a trailing comma (JSON5)");
}

static void test_load(void **state)
{
	char path[4200];
	cJSON *j = NULL;
	char *why = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/x.json", tmpdir);

	assert_int_equal(sx_json_load(path, &j, &why), -ENOENT);
	assert_null(j);

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"k\": \"v\"}\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(sx_json_load(path, &j, &why), 0);
	assert_string_equal(sx_json_str(j, "k"), "v");
	cJSON_Delete(j);
	j = NULL;

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\n\"k\": \"v\",\n}\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(sx_json_load(path, &j, &why), -EINVAL);
	assert_null(j);
	assert_non_null(why);
	assert_non_null(strstr(why, "line 2"));
	free(why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_get_path),
	    cmocka_unit_test(test_set_path_creates_intermediates),
	    cmocka_unit_test(test_set_path_replaces),
	    cmocka_unit_test(test_set_path_refuses_non_object_parent),
	    cmocka_unit_test(test_remove_path),
	    cmocka_unit_test(test_remove_absent_keeps_existing_empty_object),
	    cmocka_unit_test(test_print),
	    cmocka_unit_test(test_parse_valid),
	    cmocka_unit_test(test_parse_errors_name_json5_features),
	    cmocka_unit_test(test_parse_errors_name_json5_features_compact),
	    cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests_name("jsonutil", tests, group_setup, group_teardown);
}
