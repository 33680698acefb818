/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * test-jsonutil.c - dotted-path helpers and strict parsing with JSON5
 * diagnostics (src/lib/jsonutil.c); the one-pass compaction the capture
 * record embeds request bodies with (src/lib/jsonraw.c).
 */
#include "../../src/lib/buf.h"
#include "../../src/lib/jsonraw.h"
#include "testutil.h"

/* Asserts root equals the JSON text exactly (order-insensitive for
 * objects); what names the case in the failure message. */
static void assert_json_as(const cJSON *root, const char *text, const char *what)
{
	cJSON *w = parse(text);
	bool same = cJSON_Compare(root, w, true);

	cJSON_Delete(w);
	if (!same) {
		char *have = cJSON_PrintUnformatted(root);
		tu_fail_free(have, "%s: have %s, want %s", what, have ? have : "?", text);
	}
}
#define STR_(x) #x
#define STR(x) STR_(x)
#define assert_json(root, text) assert_json_as((root), (text), "line " STR(__LINE__))

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

/* Removes each path (NULL-terminated) from before and asserts after is left:
 * only the key goes, and parents stay even when left empty (callers that
 * created them remove them; see sx_openclaw_revert). */
static void expect_removed(const char *before, const char *after, const char *const *paths, const char *what)
{
	_cleanup_cjson_ cJSON *j = parse(before);

	for (size_t i = 0; paths[i]; i++)
		sx_json_remove_path(j, paths[i]);
	assert_json_as(j, after, what);
}
#define REMOVE(before, after, ...)                                                                           \
	expect_removed((before), (after), (const char *const[]){__VA_ARGS__, NULL}, "line " STR(__LINE__))

static void test_remove_path(void **state)
{
	REMOVE("{\"a\": {\"b\": {\"c\": 1}}, \"x\": 1}", "{\"a\": {\"b\": {}}, \"x\": 1}", "a.b.c");
	REMOVE("{\"a\": {\"b\": {\"c\": 1, \"d\": 2}}}", "{\"a\": {\"b\": {\"d\": 2}}}", "a.b.c");
	REMOVE("{\"a\": {\"b\": {\"c\": 1}, \"e\": 3}}", "{\"a\": {\"b\": {}, \"e\": 3}}", "a.b.c");
	/* a top-level key */
	REMOVE("{\"a\": {\"b\": {}, \"e\": 3}}", "{}", "a");
	/* a whole subtree */
	REMOVE("{\"a\": {\"b\": {\"c\": 1, \"d\": 2}}, \"k\": 0}", "{\"a\": {}, \"k\": 0}", "a.b");
	/* absent paths and paths through non-objects change nothing */
	REMOVE("{\"a\": {\"b\": 1}, \"n\": 5}", "{\"a\": {\"b\": 1}, \"n\": 5}", "a.q", "n.q", "x.y.z",
	       "missing");
}

/* Removing an absent key leaves an existing empty parent alone. */
static void test_remove_absent_keeps_existing_empty_object(void **state)
{
	REMOVE("{\"a\": {}, \"k\": 1}", "{\"a\": {}, \"k\": 1}", "a.b");
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
	if (!why || strncmp(why, want, strlen(want)) != 0 || !strstr(why, hint))
		tu_fail_free(why, "line %d: why \"%s\", want \"%s... %s\"", src_line, why ? why : "(null)",
			     want, hint);
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
	_cleanup_free_ char *path = tmp_path("x.json"), *why = NULL;
	cJSON *j = NULL;

	assert_int_equal(sx_json_load(path, &j, &why), -ENOENT);
	assert_null(j);

	write_text(path, "{\"k\": \"v\"}\n");
	assert_int_equal(sx_json_load(path, &j, &why), 0);
	assert_string_equal(sx_json_str(j, "k"), "v");
	cJSON_Delete(j);
	j = NULL;

	write_text(path, "{\n\"k\": \"v\",\n}\n");
	assert_int_equal(sx_json_load(path, &j, &why), -EINVAL);
	assert_null(j);
	assert_contains(why, "line 2");
}

/* Valid JSON comes out compact and equal to what cJSON reads; the
 * top-level "model" and "stream" are noted. */
static void test_compact_valid(void **state)
{
	static const char *const cases[][2] = {
	    {" {\n \"model\" : \"gpt-x\",\t\"stream\": true, \"messages\": [ {\"role\":\"user\", "
	     "\"content\":\"a  b\\n\"} ] }\n",
	     "{\"model\":\"gpt-x\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"a  "
	     "b\\n\"}]}"},
	    {"[1, -0.5e+3, 0, true, false, null, \"\\u00e9\\\"\\/\"]",
	     "[1,-0.5e+3,0,true,false,null,\"\\u00e9\\\"\\/\"]"},
	    {"\"just a string\"", "\"just a string\""},
	    {"{\"a\":{\"model\":\"inner\",\"stream\":true},\"stream\":false}",
	     "{\"a\":{\"model\":\"inner\",\"stream\":true},\"stream\":false}"},
	    {"{\"model\":\"first\",\"model\":\"second\"}", "{\"model\":\"first\",\"model\":\"second\"}"},
	    {"{}", "{}"},
	    {"[\"caf\xc3\xa9 \xf0\x9f\x98\x80 and a longer run of plain text past sixteen bytes\"]",
	     "[\"caf\xc3\xa9 \xf0\x9f\x98\x80 and a longer run of plain text past sixteen bytes\"]"},
	    {" [ ] ", "[]"},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *out = NULL;
		struct sx_json_top top;
		assert_int_equal(sx_json_compact(cases[i][0], strlen(cases[i][0]), 128, &out, &top), 0);
		assert_string_equal(out, cases[i][1]);
		_cleanup_cjson_ cJSON *a = cJSON_Parse(cases[i][0]), *b = cJSON_Parse(out);
		/* (cJSON_Compare() cannot tell objects with repeated names equal.) */
		if (i != 4 && !cJSON_Compare(a, b, true))
			fail_msg("case %zu: cJSON reads %s and %s differently", i, cases[i][0], out);
		if (i == 0) {
			assert_string_equal(top.model, "gpt-x");
			assert_true(top.stream);
		} else if (i == 3) {
			assert_null(top.model); /* nested: not the call's */
			assert_false(top.stream);
		} else if (i == 4)
			assert_string_equal(top.model, "first");
		free(top.model);
	}
}

/* Random strings of escapes, backslash runs, \u escapes (good ones and
 * surrogates: cJSON takes a bad \u12g4 for U+0000, so that case is in
 * test_compact_invalid), UTF-8 (valid and not) and now and then a control
 * byte or a bare quote, behind 0..63 plain bytes so that every byte falls at every
 * place of jsonraw.c's 64-byte blocks: accepted exactly when cJSON reads it,
 * it has no control byte and its bytes are UTF-8, and then copied as it is.
 * The block scan and the byte-wise loop must agree to the byte. */
static size_t random_piece(char *o, unsigned *seed)
{
	static const char *const pieces[] = {"\\n",	     "\\\"",
					     "\\\\",	     "\\/",
					     "\\b",	     "\\f",
					     "\\r",	     "\\t",
					     "\\u00e9",	     "\\uD83D\\uDE00",
					     "\\ud800",	     "\\uDC00",
					     "\\x",	     "\\'",
					     "\\ ",	     "\xc3\xa9",
					     "\xe2\x82\xac", "\xf0\x9f\x98\x80",
					     "\xff",	     "\xc3",
					     "\xed\xa0\x80", "\x01",
					     "\n",	     "\"",
					     "\\\\\\\"",     "\\\\\\\\\\n"};
	unsigned r = (unsigned)rand_r(seed) % 1000;
	size_t n;

	if (r < 700) { /* plain text */
		*o = (char)('a' + r % 26);
		return 1;
	}
	if (r < 880) { /* a run of 1..9 backslashes, then maybe a quote or a letter */
		n = 1 + (size_t)rand_r(seed) % 9;
		memset(o, '\\', n);
		o[n] = (n % 2) ? "\"n\\/t"[rand_r(seed) % 5] : 'z';
		return n + 1;
	}
	r = r < 990 ? (unsigned)rand_r(seed) % 19 : 19 + (unsigned)rand_r(seed) % (ELEMENTSOF(pieces) - 19);
	n = strlen(pieces[r]);
	memcpy(o, pieces[r], n);
	return n;
}

static void test_compact_strings_differential(void **state)
{
	unsigned seed = 15, accepted = 0, refused = 0;
	char text[1200], *s;

	for (int round = 0; round < 20000; round++) {
		size_t n = 2, len, target = (size_t)rand_r(&seed) % 400;
		bool ctl = false, want;
		_cleanup_free_ char *out = NULL;
		cJSON *j;
		int r;

		memcpy(text, "[\"", 2);
		for (int pad = rand_r(&seed) % 64; pad > 0; pad--)
			text[n++] = 'p';
		s = text + n;
		while ((size_t)(text + n - s) < target)
			n += random_piece(text + n, &seed);
		for (char *q = s; q < text + n; q++)
			ctl |= (unsigned char)*q < 0x20;
		text[n] = 0;
		want = !ctl && sx_utf8_valid(s);
		memcpy(text + n, "\"]", 3);
		len = n + 2;
		j = cJSON_ParseWithLength(text, len);
		want = want && j;
		cJSON_Delete(j);
		r = sx_json_compact(text, len, 128, &out, NULL);
		if (want != (r == 0))
			fail_msg("round %d: %s by cJSON, %d here: %s", round, want ? "accepted" : "refused",
				 r, text);
		if (r == 0)
			assert_string_equal(out, text);
		want ? accepted++ : refused++;
	}
	/* Both outcomes must be common, or the test checks little. */
	assert_true(accepted > 2000 && refused > 2000);
}

/* Anything that is not exactly one JSON value is refused (the record then
 * falls back to cJSON, which keeps a non-JSON body as a string). */
static void test_compact_invalid(void **state)
{
	static const char *const bad[] = {
	    "",
	    " ",
	    "{",
	    "}",
	    "[1,]",
	    "{\"a\":1,}",
	    "{\"a\" 1}",
	    "{a:1}",
	    "[01]",
	    "[1.]",
	    "[.5]",
	    "[1e]",
	    "[-]",
	    "\"unterminated",
	    "\"bad \\x escape\"",
	    "\"\\u12g4\"",
	    "\"raw\ttab\"",
	    "tru",
	    "nul",
	    "{} {}",
	    "[1] x",
	    "{\"a\":1} // c",
	    "[\"\\u12\"]",
	    "'single'",
	    "NaN",
	    "[Infinity]",
	};
	char *out = (char *)1;

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		out = (char *)1;
		if (sx_json_compact(bad[i], strlen(bad[i]), 128, &out, NULL) != -EINVAL)
			fail_msg("accepted %s", bad[i]);
		assert_null(out);
	}
	/* A string that is not UTF-8 (a record embeds the text unchecked). */
	assert_int_equal(sx_json_compact("[\"a\xff\"]", 6, 128, &out, NULL), -EILSEQ);
	assert_int_equal(sx_json_compact("[\"\xc3\"]", 5, 128, &out, NULL), -EILSEQ);
	assert_int_equal(sx_json_compact("[\"\xed\xa0\x80\"]", 7, 128, &out, NULL),
			 -EILSEQ); /* a surrogate */
	/* Escaped surrogates that do not pair up (cJSON refuses them too). */
	assert_int_equal(sx_json_compact("[\"\\ud800\"]", 10, 128, &out, NULL), -EILSEQ);
	assert_int_equal(sx_json_compact("[\"\\uDC00x\"]", 11, 128, &out, NULL), -EILSEQ);
	assert_int_equal(sx_json_compact("[\"\\ud800\\u0041\"]", 16, 128, &out, NULL), -EILSEQ);
	assert_int_equal(sx_json_compact("[\"\\uDBFF\\n\"]", 12, 128, &out, NULL), -EILSEQ);
	assert_int_equal(sx_json_compact("[\"\\ud83d\\ude00\\u00e9\\ucfff\"]", 28, 128, &out, NULL), 0);
	free(out);
	assert_int_equal(sx_json_compact("[\"\\ud83d\\ude00\"]", 16, 128, &out, NULL), 0);
	assert_string_equal(out, "[\"\\ud83d\\ude00\"]");
	free(out);
}

/* Nesting deeper than the limit is refused; at the limit it passes. */
static void test_compact_depth(void **state)
{
	char deep[300];
	_cleanup_free_ char *out = NULL;

	memset(deep, '[', 129);
	memset(deep + 129, ']', 129);
	deep[258] = 0;
	assert_int_equal(sx_json_compact(deep, 258, 128, &out, NULL), -EINVAL);
	assert_int_equal(sx_json_compact(deep + 1, 256, 128, &out, NULL), 0);
}

/* Strings written for a JSON text: parsed back to what went in. */
static void test_add_string(void **state)
{
	static const char *const in[] = {"plain",	"",	  "q\"uote\\back", "tab\tnl\ncr\r",
					 "caf\xc3\xa9", "ctl\x01"};
	for (size_t i = 0; i < ELEMENTSOF(in); i++) {
		struct sx_buf b = {0};
		bool utf8 = true;
		assert_int_equal(sx_json_add_string(&b, in[i], strlen(in[i]), &utf8), 0);
		assert_int_equal(sx_buf_add(&b, "", 1), 0);
		_cleanup_cjson_ cJSON *j = cJSON_Parse(b.p);
		assert_true(cJSON_IsString(j));
		assert_string_equal(j->valuestring, in[i]);
		assert_true(utf8);
		sx_buf_free(&b);
	}
	struct sx_buf b = {0};
	bool utf8 = true;
	assert_int_equal(sx_json_add_string(&b, "bad\xff", 4, &utf8), 0);
	assert_false(utf8);
	sx_buf_free(&b);
	/* a NUL ends the string, as in cJSON */
	assert_int_equal(sx_json_add_string(&b, "a\"\0b", 4, NULL), 0);
	assert_int_equal(sx_buf_add(&b, "", 1), 0);
	assert_string_equal(b.p, "\"a\\\"\"");
	sx_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_get_path),
	    cmocka_unit_test(test_compact_valid),
	    cmocka_unit_test(test_compact_invalid),
	    cmocka_unit_test(test_compact_strings_differential),
	    cmocka_unit_test(test_compact_depth),
	    cmocka_unit_test(test_add_string),
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

	return cmocka_run_group_tests_name("jsonutil", tests, tu_group_setup, tu_group_teardown);
}
