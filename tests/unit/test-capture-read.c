/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * test-capture-read.c - the capture file reader (closed files, the open
 * file, torn lines completed later, reading on from an offset, bad lines,
 * long lines), the listing, and the time formats: ISO-8601 times, --since
 * durations, record and file name times (src/lib/capture_read.c).
 */
#include <sys/stat.h>

#include "lib/capture_read.h"
#include "lib/strv.h"
#include "testutil.h"

/* 2026-11-23T10:00:00Z */
#define T0 INT64_C(1795428000000)

static void append_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "ae");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void assert_time(const char *s, int64_t want)
{
	int64_t got = -1;

	if (sx_parse_utc_time(s, &got) != 0)
		fail_msg("'%s' did not parse", s);
	if (got != want)
		fail_msg("'%s': %lld, want %lld", s, (long long)got, (long long)want);
}

static void test_parse_utc_time(void **state)
{
	static const char *const bad[] = {
	    "",
	    "2026",
	    "2026-11",
	    "2026-11-23T",
	    "2026-11-23T10",
	    "2026-11-23T10:0",
	    "2026-11-23T10:00:00.Z",
	    "2026-13-01",
	    "2026-00-10",
	    "2026-02-30",
	    "2025-02-29",
	    "2026-11-23T24:00",
	    "2026-11-23T10:60",
	    "2026-11-23T10:00:60Z",
	    "2026-11-23T10:00:00ZZ",
	    "2026-11-23T10:00:00 Z",
	    "2026-11-23T10:00:00+25:00",
	    "2026-11-23T10:00:00+01",
	    "2026-1-23",
	    " 2026-11-23",
	    "2026-11-23x",
	    "10m",
	};
	int64_t t;

	assert_time("2026-11-23T10:00:00Z", T0);
	assert_time("2026-11-23T10:00:00.123Z", T0 + 123);
	assert_time("2026-11-23T10:00:00.1Z", T0 + 100);
	assert_time("2026-11-23T10:00:00.123456Z", T0 + 123);
	assert_time("2026-11-23T10:00:00,5", T0 + 500);
	assert_time("2026-11-23T10:00Z", T0);
	assert_time("2026-11-23T10:00", T0);
	assert_time("2026-11-23t10:00:00z", T0);
	assert_time("2026-11-23 10:00:00", T0);
	assert_time("2026-11-23", T0 - 10 * 3600 * 1000);
	assert_time("2026-11-23T11:00:00+01:00", T0);
	assert_time("2026-11-23T05:30-0430", T0);
	assert_time("2024-02-29T00:00:00Z", INT64_C(1709164800000));
	assert_time("1970-01-01T00:00:00Z", 0);
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		if (sx_parse_utc_time(bad[i], &t) != -EINVAL)
			fail_msg("'%s' parsed", bad[i]);
	assert_int_equal(sx_parse_utc_time(NULL, &t), -EINVAL);
}

static void test_parse_since(void **state)
{
	static const struct {
		const char *s;
		int64_t ago;
	} good[] = {
	    {"30s", 30000},	{"10m", 600000}, {"2h", 7200000},  {"1d", 86400000},
	    {"1h30m", 5400000}, {"0s", 0},	 {"90m", 5400000}, {"1d2h3m4s", 93784000},
	};
	static const char *const bad[] = {"",
					  "10",
					  "m",
					  "10x",
					  "10M",
					  "-5m",
					  "+5m",
					  "5m-",
					  "1h 30m",
					  " 10m",
					  "10m ",
					  "1.5h",
					  "99999999999999999999d",
					  "9999999999999999d"};
	int64_t t;

	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		t = -1;
		assert_int_equal(sx_parse_since(good[i].s, T0, &t), 0);
		if (t != T0 - good[i].ago)
			fail_msg("'%s': %lld ms ago, want %lld", good[i].s, (long long)(T0 - t),
				 (long long)good[i].ago);
	}
	/* An absolute time does not depend on now. */
	assert_int_equal(sx_parse_since("2026-11-23T10:00:00Z", 42, &t), 0);
	assert_true(t == T0);
	assert_int_equal(sx_parse_since("2026-11-23T10:00", 42, &t), 0);
	assert_true(t == T0);
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		if (sx_parse_since(bad[i], T0, &t) != -EINVAL)
			fail_msg("'%s' parsed", bad[i]);
	assert_int_equal(sx_parse_since(NULL, T0, &t), -EINVAL);
}

static void test_name_and_record_time(void **state)
{
	static const char *const bad[] = {
	    "llm-20261123T100000Z.json.tmp", "llm-20261123T1000Z.json",	 "log-20261123T100000Z.json",
	    "llm-20261332T100000Z.json",     "llm-20261123T100000.json", "llm-20261123100000Z.json",
	};
	_cleanup_cjson_ cJSON *rec = parse("{\"timestamp\": \"2026-11-23T10:00:00.500Z\"}");
	_cleanup_cjson_ cJSON *none = parse("{\"timestamp\": 5}");
	int64_t t = 0;

	assert_int_equal(sx_capture_name_time("llm-20261123T100000Z.json", &t), 0);
	assert_true(t == T0);
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		if (sx_capture_name_time(bad[i], &t) != -EINVAL)
			fail_msg("'%s' parsed", bad[i]);
	assert_int_equal(sx_capture_record_time(rec, &t), 0);
	assert_true(t == T0 + 500);
	assert_int_equal(sx_capture_record_time(none, &t), -EINVAL);
	assert_int_equal(sx_capture_record_time(NULL, &t), -EINVAL);
}

/* Reads the next record and asserts its "id". */
static void assert_next_id(struct sx_capture_reader *r, const char *id)
{
	cJSON *rec = NULL;
	const char *line = NULL;
	int k = sx_capture_next(r, &rec, &line);

	if (k != 1)
		fail_msg("no record (%d), expected id %s", k, id);
	assert_non_null(line);
	if (!streq(sx_json_str(rec, "id"), id)) {
		char *have = cJSON_PrintUnformatted(rec);
		cJSON_Delete(rec);
		tu_fail_free(have, "record %s, expected id %s", have ? have : "?", id);
	}
	cJSON_Delete(rec);
}

static void assert_no_record(struct sx_capture_reader *r)
{
	cJSON *rec = NULL;

	assert_int_equal(sx_capture_next(r, &rec, NULL), 0);
	assert_null(rec);
}

static void test_closed_file(void **state)
{
	_cleanup_free_ char *p = tmp_path("closed.json");
	_cleanup_capture_ struct sx_capture_reader *r = NULL;
	const char *text = "[\n{\"id\":\"a\"}\n,{\"id\":\"b\"}\n]\n";

	write_text(p, text);
	assert_int_equal(sx_capture_open(p, 0, &r), 0);
	assert_false(sx_capture_closed(r));
	assert_next_id(r, "a");
	assert_next_id(r, "b");
	assert_no_record(r);
	assert_true(sx_capture_closed(r));
	assert_int_equal(sx_capture_bad(r), 0);
	assert_int_equal(sx_capture_pending(r), 0);
	assert_int_equal(sx_capture_offset(r), strlen(text));
	/* Still 0 when asked again. */
	assert_no_record(r);
}

static void test_torn_line_completed_later(void **state)
{
	_cleanup_free_ char *p = tmp_path("open.json");
	_cleanup_capture_ struct sx_capture_reader *r = NULL, *r2 = NULL;
	const char *head = "[\n{\"id\":\"a\"}\n", *torn = ",{\"id\":\"b\",\"x\":";
	const char *line = NULL;
	cJSON *rec = NULL;

	write_text(p, head);
	append_text(p, torn);
	assert_int_equal(sx_capture_open(p, 0, &r), 0);
	assert_next_id(r, "a");
	assert_no_record(r);
	assert_false(sx_capture_closed(r));
	assert_int_equal(sx_capture_pending(r), strlen(torn));
	assert_int_equal(sx_capture_offset(r), strlen(head));

	/* The writer finishes the line: the same reader yields it whole. */
	append_text(p, "1}\n");
	assert_int_equal(sx_capture_next(r, &rec, &line), 1);
	assert_string_equal(line, "{\"id\":\"b\",\"x\":1}");
	assert_int_equal(cJSON_GetObjectItem(rec, "x")->valueint, 1);
	cJSON_Delete(rec);
	assert_no_record(r);
	assert_int_equal(sx_capture_pending(r), 0);

	/* A new reader from an offset reads on from there. */
	assert_int_equal(sx_capture_open(p, strlen(head), &r2), 0);
	assert_next_id(r2, "b");
	assert_no_record(r2);

	/* The closing bracket needs no newline after it. */
	append_text(p, ",{\"id\":\"c\"}\n]");
	assert_next_id(r, "c");
	assert_no_record(r);
	assert_true(sx_capture_closed(r));
	assert_int_equal(sx_capture_pending(r), 0);
}

static void test_bad_lines_skipped(void **state)
{
	_cleanup_free_ char *p = tmp_path("bad.json");
	_cleanup_capture_ struct sx_capture_reader *r = NULL;
	const char *line = NULL;

	write_text(p,
		   "[\n{broken\n,{\"id\":\"x\"}\nnot json\n[1,2]\n\n  ,  {\"id\":\"y\"} \r\n{\"id\":\"z\"} "
		   "trailing\n"
		   ",{\"id\":\"w\"}\n");
	assert_int_equal(sx_capture_open(p, 0, &r), 0);
	assert_next_id(r, "x");
	assert_next_id(r, "y");
	assert_next_id(r, "w");
	assert_no_record(r);
	assert_int_equal(sx_capture_bad(r), 4);
	assert_false(sx_capture_closed(r));
	sx_capture_close(TAKE_PTR(r));

	/* Unparsed: every line that looks like a record, without its comma. */
	assert_int_equal(sx_capture_open(p, 0, &r), 0);
	assert_int_equal(sx_capture_next_line(r, &line), 1);
	assert_string_equal(line, "{broken");
	assert_int_equal(sx_capture_next_line(r, &line), 1);
	assert_string_equal(line, "{\"id\":\"x\"}");
	assert_int_equal(sx_capture_next_line(r, &line), 1);
	assert_string_equal(line, "{\"id\":\"y\"}");
	assert_int_equal(sx_capture_next_line(r, &line), 1);
	assert_int_equal(sx_capture_next_line(r, &line), 1);
	assert_string_equal(line, "{\"id\":\"w\"}");
	assert_int_equal(sx_capture_next_line(r, &line), 0);
	assert_int_equal(sx_capture_bad(r), 2);
}

static void test_long_lines(void **state)
{
	_cleanup_free_ char *p = tmp_path("long.json");
	_cleanup_capture_ struct sx_capture_reader *r = NULL;
	size_t n = 1000 * 1000;
	_cleanup_free_ char *big = malloc(n + 1);
	_cleanup_free_ char *rec = NULL;
	const char *line = NULL;
	cJSON *j = NULL;

	assert_non_null(big);
	memset(big, 'x', n);
	big[n] = 0;
	rec = sx_strdupf("{\"id\":\"big\",\"text\":\"%s\"}", big);
	assert_non_null(rec);
	write_text(p, "[\n");
	for (int i = 0; i < 3; i++) {
		append_text(p, i ? "," : "");
		append_text(p, rec);
		append_text(p, "\n");
	}
	assert_int_equal(sx_capture_open(p, 0, &r), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(sx_capture_next(r, &j, &line), 1);
		assert_int_equal(strlen(sx_json_str(j, "text")), n);
		assert_string_equal(line, rec);
		cJSON_Delete(j);
	}
	assert_no_record(r);
	assert_int_equal(sx_capture_bad(r), 0);
}

static void test_open_errors(void **state)
{
	_cleanup_free_ char *p = tmp_path("absent.json");
	struct sx_capture_reader *r = NULL;

	assert_int_equal(sx_capture_open(p, 0, &r), -ENOENT);
	assert_null(r);
}

static void test_list(void **state)
{
	_cleanup_free_ char *d = tmp_path("logs"), *absent = tmp_path("no-such-dir");
	static const char *const names[] = {"llm-20261123T102000Z.json",
					    "llm-20261123T100000Z.json",
					    "llm-20261123T101000Z.json",
					    "other.json",
					    "llm-.json",
					    "llm-20261123T103000Z.json.tmp"};
	char **v = NULL;

	assert_int_equal(mkdir(d, 0755), 0);
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		_cleanup_free_ char *f = sx_strdupf("%s/%s", d, names[i]);
		write_text(f, "[\n");
	}
	assert_int_equal(sx_capture_list(d, &v), 3);
	assert_string_equal(v[0], "llm-20261123T100000Z.json");
	assert_string_equal(v[1], "llm-20261123T101000Z.json");
	assert_string_equal(v[2], "llm-20261123T102000Z.json");
	assert_null(v[3]);
	sx_strv_free(v);
	v = NULL;
	assert_int_equal(sx_capture_list(absent, &v), -ENOENT);
	assert_null(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_utc_time),
	    cmocka_unit_test(test_parse_since),
	    cmocka_unit_test(test_name_and_record_time),
	    cmocka_unit_test(test_closed_file),
	    cmocka_unit_test(test_torn_line_completed_later),
	    cmocka_unit_test(test_bad_lines_skipped),
	    cmocka_unit_test(test_long_lines),
	    cmocka_unit_test(test_open_errors),
	    cmocka_unit_test(test_list),
	};

	return cmocka_run_group_tests_name("capture_read", tests, tu_group_setup, tu_group_teardown);
}
