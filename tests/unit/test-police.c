/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * test-police.c - the investigator (src/gateway/police.c) in a scratch log
 * directory: the escalation level, the queue's order, ingest resuming at
 * its offset (a torn last line waits), case files and their rows, redoing
 * a case without duplicates, a failing judge leaving the flag queued with
 * a backoff, and no case file or database holding a planted secret whole.
 */
#include <dirent.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <time.h>

#include "gateway/police.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "testutil.h"

#define SECRET "sk-proj-PLANTEDsecretVALUE0123456789abcdefXYZW"
#define REDACTED_VALUE "[OPENAI_API_KEY …XYZW]"

static int dir_no;

/* A fresh log directory under tmpdir (caller frees). */
static char *new_log_dir(void)
{
	char *d = tmp_path("log%d", dir_no++);

	assert_int_equal(mkdir(d, 0750), 0);
	return d;
}

static void append_text(const char *path, const char *text)
{
	FILE *f;

	assert_non_null(text);
	f = fopen(path, "ae");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/* A flag line (with its newline) for record rec of llm-20261123T100000Z.json. */
static char *flag_line(const char *hex, const char *sev, const char *cats, const char *rec)
{
	return sx_strdupf(
	    "{\"flag_id\":\"f-%s\",\"source_file\":\"llm-20261123T100000Z.json\","
	    "\"record_id\":\"%s\",\"run_id_ts\":\"run1@2026-11-23T10:00:01.000Z\","
	    "\"consensus_severity\":\"%s\",\"consensus_confidence\":0.9,\"votes\":[],"
	    "\"pii_labels_union\":[],\"categories\":[%s],\"rule_ids\":[\"openai-api-key\"],"
	    "\"referral_summary\":\"OpenAI key in request.messages[0].content\","
	    "\"hits\":[{\"rule_id\":\"openai-api-key\",\"category\":\"secret\",\"severity\":\"HIGH\","
	    "\"where\":\"request.messages[0].content\",\"view\":\"text\",\"value\":\"" REDACTED_VALUE "\"}],"
	    "\"excerpt\":\"my key is " REDACTED_VALUE " ok\",\"ruleset_version\":\"sha256:0123456789abcdef\","
	    "\"judge_version\":\"none\",\"timestamp\":\"2026-11-23T10:00:05.000Z\"}\n",
	    hex, rec, sev, cats);
}

static void add_flag(const char *dir, const char *hex, const char *sev)
{
	_cleanup_free_ char *path = sx_strdupf("%s/patrol_flags.jsonl", dir);
	_cleanup_free_ char *line = flag_line(hex, sev, "\"secret\"", "00000000000000a2");

	append_text(path, line);
}

/* A capture file with three records of run1; the second holds the secret. */
static void write_capture(const char *dir)
{
	_cleanup_free_ char *path = sx_strdupf("%s/llm-20261123T100000Z.json", dir);

	write_text(
	    path,
	    "[\n"
	    "{\"timestamp\":\"2026-11-23T10:00:00.000Z\",\"id\":\"00000000000000a1\",\"run_id\":\"run1\","
	    "\"provider\":\"openai\",\"model\":\"gpt-4o\",\"endpoint\":\"/chat/"
	    "completions\",\"method\":\"POST\","
	    "\"stream\":false,\"request\":{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]},"
	    "\"status\":200,\"message\":{\"text\":\"hello\",\"tool_calls\":[{\"id\":\"t1\",\"name\":\"exec\","
	    "\"arguments\":\"{\\\"cmd\\\":\\\"ls\\\"}\"}]},\"latency_ms\":{\"first_byte\":5,\"total\":9},"
	    "\"bytes\":{\"request\":10,\"response\":20},\"error\":null,\"complete\":true}\n"
	    ",{\"timestamp\":\"2026-11-23T10:00:01.000Z\",\"id\":\"00000000000000a2\",\"run_id\":\"run1\","
	    "\"provider\":\"openai\",\"model\":\"gpt-4o\",\"endpoint\":\"/chat/completions?key=" SECRET "\","
	    "\"method\":\"POST\",\"stream\":false,\"request\":{\"messages\":[{\"role\":\"user\","
	    "\"content\":\"my key is " SECRET " ok\"}]},\"status\":200,"
	    "\"response\":{\"echo\":\"" SECRET "\"},\"message\":{\"text\":\"noted " SECRET "\","
	    "\"tool_calls\":[{\"id\":\"t2\",\"name\":\"write_file\",\"arguments\":\"" SECRET "\"}]},"
	    "\"latency_ms\":{\"first_byte\":5,\"total\":9},\"bytes\":{\"request\":10,\"response\":20},"
	    "\"error\":null,\"complete\":true}\n"
	    ",{\"timestamp\":\"2026-11-23T10:00:02.000Z\",\"id\":\"00000000000000a3\",\"run_id\":\"run1\","
	    "\"provider\":\"openai\",\"model\":\"gpt-4o\",\"endpoint\":\"/chat/"
	    "completions\",\"method\":\"POST\","
	    "\"stream\":false,\"request\":{},\"status\":200,\"message\":{\"text\":\"bye\"},"
	    "\"latency_ms\":{\"first_byte\":5,\"total\":9},\"bytes\":{\"request\":10,\"response\":20},"
	    "\"error\":null,\"complete\":true}\n"
	    "]\n");
}

static sqlite3 *open_db(const char *dir)
{
	_cleanup_free_ char *path = sx_strdupf("%s/police.db", dir);
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	return db;
}

/* The integer the query's first row's first column holds. */
static long long query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void test_escalation_names(void **state)
{
	enum sx_escalation e;

	assert_int_equal(sx_escalation_from_name("low_above", &e), 0);
	assert_int_equal(e, SX_ESCALATE_LOW_ABOVE);
	assert_int_equal(sx_escalation_from_name("medium_above", &e), 0);
	assert_int_equal(e, SX_ESCALATE_MEDIUM_ABOVE);
	assert_int_equal(sx_escalation_from_name("high_only", &e), 0);
	assert_int_equal(e, SX_ESCALATE_HIGH_ONLY);
	assert_int_equal(sx_escalation_from_name("high", &e), -EINVAL);
	assert_int_equal(sx_escalation_from_name(NULL, &e), -EINVAL);
}

static void test_ingest_level(void **state)
{
	static const struct {
		enum sx_escalation level;
		int want;
	} cases[] = {{SX_ESCALATE_LOW_ABOVE, 3}, {SX_ESCALATE_MEDIUM_ABOVE, 2}, {SX_ESCALATE_HIGH_ONLY, 1}};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *dir = new_log_dir();
		struct sx_police *p = NULL;

		add_flag(dir, "0000000000000001", "LOW");
		add_flag(dir, "0000000000000002", "MEDIUM");
		add_flag(dir, "0000000000000003", "HIGH");
		assert_int_equal(sx_police_open(dir, cases[i].level, &p), 0);
		assert_int_equal(sx_police_ingest(p), cases[i].want);
		assert_int_equal(sx_police_queue_depth(p), cases[i].want);
		sx_police_close(p);
	}
}

/* Records the order in which the judge sees the flags. */
struct order {
	char ids[8][19];
	int n;
	int fail; /* negative errno to return */
};

static int judge_record(void *userdata, const char *case_json, char **summary, char **action, char **severity)
{
	struct order *o = userdata;
	_cleanup_cjson_ cJSON *j = parse(case_json);

	if (o->fail)
		return o->fail;
	if (o->n < 8)
		snprintf(o->ids[o->n++], 19, "%s", sx_json_str(j, "flag_id"));
	*summary = strdup("judged");
	*action = strdup("act");
	*severity = NULL;
	return 0;
}

static void test_queue_order(void **state)
{
	_cleanup_free_ char *dir = new_log_dir();
	struct sx_police *p = NULL;
	struct order o = {0};
	struct timespec ms = {0, 5 * 1000 * 1000};

	write_capture(dir);
	assert_int_equal(sx_police_open(dir, SX_ESCALATE_LOW_ABOVE, &p), 0);
	sx_police_set_judge(p, judge_record, &o);
	add_flag(dir, "00000000000000b1", "LOW");
	add_flag(dir, "00000000000000b2", "MEDIUM");
	assert_int_equal(sx_police_ingest(p), 2);
	nanosleep(&ms, NULL);
	add_flag(dir, "00000000000000a9", "MEDIUM"); /* later, though a smaller id */
	add_flag(dir, "00000000000000b4", "HIGH");
	assert_int_equal(sx_police_ingest(p), 2);
	assert_int_equal(sx_police_work(p, 10), 4);
	assert_int_equal(o.n, 4);
	assert_string_equal(o.ids[0], "f-00000000000000b4");
	assert_string_equal(o.ids[1], "f-00000000000000b2");
	assert_string_equal(o.ids[2], "f-00000000000000a9");
	assert_string_equal(o.ids[3], "f-00000000000000b1");
	assert_int_equal(sx_police_queue_depth(p), 0);
	assert_int_equal(sx_police_work(p, 10), 0);
	sx_police_close(p);
}

static void test_ingest_resumes(void **state)
{
	_cleanup_free_ char *dir = new_log_dir();
	_cleanup_free_ char *path = sx_strdupf("%s/patrol_flags.jsonl", dir);
	_cleanup_free_ char *line = flag_line("00000000000000c2", "HIGH", "\"secret\"", "x");
	struct sx_police *p = NULL;
	size_t half = strlen(line) / 2;
	sqlite3 *db;

	add_flag(dir, "00000000000000c1", "HIGH");
	append_text(path, "not json\n");
	assert_int_equal(sx_police_open(dir, SX_ESCALATE_MEDIUM_ABOVE, &p), 0);
	assert_int_equal(sx_police_ingest(p), 1);
	assert_int_equal(sx_police_ingest(p), 0); /* idempotent */
	/* A torn line is not consumed until its newline is there. */
	{
		_cleanup_free_ char *first = strndup(line, half);
		append_text(path, first);
	}
	assert_int_equal(sx_police_ingest(p), 0);
	append_text(path, line + half);
	assert_int_equal(sx_police_ingest(p), 1);
	assert_int_equal(sx_police_ingest(p), 0);
	sx_police_close(p);
	/* Reopened: resumes at the stored offset, nothing is queued twice. */
	assert_int_equal(sx_police_open(dir, SX_ESCALATE_MEDIUM_ABOVE, &p), 0);
	assert_int_equal(sx_police_ingest(p), 0);
	assert_int_equal(sx_police_queue_depth(p), 2);
	sx_police_close(p);
	db = open_db(dir);
	{
		struct stat st;
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(query_int(db, "SELECT value FROM meta WHERE key = 'flags_offset'"),
				 st.st_size);
	}
	sqlite3_close(db);
}

static void test_investigate(void **state)
{
	_cleanup_free_ char *dir = new_log_dir();
	_cleanup_free_ char *report = NULL, *text = NULL, *case_id = NULL, *again = NULL;
	_cleanup_cjson_ cJSON *c = NULL;
	struct sx_police *p = NULL;
	struct stat st;
	sqlite3 *db;

	write_capture(dir);
	add_flag(dir, "00000000000000d1", "HIGH");
	assert_int_equal(sx_police_open(dir, SX_ESCALATE_MEDIUM_ABOVE, &p), 0);
	assert_int_equal(sx_police_ingest(p), 1);
	assert_int_equal(sx_police_work(p, 5), 1);
	report = sx_strdupf("%s/reports/c-00000000000000d1.json", dir);
	assert_int_equal(stat(report, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(sx_read_file(report, &text, NULL), 0);
	c = parse(text);
	assert_string_equal(sx_json_str(c, "case_id"), "c-00000000000000d1");
	assert_string_equal(sx_json_str(c, "flag_id"), "f-00000000000000d1");
	assert_string_equal(sx_json_str(c, "severity"), "HIGH");
	assert_string_equal(sx_json_str(c, "investigated"), "auto");
	assert_string_equal(sx_json_get_path(c, "record.id")->valuestring, "00000000000000a2");
	assert_string_equal(sx_json_get_path(c, "record.endpoint")->valuestring, "/chat/completions?…");
	assert_int_equal(cJSON_GetArraySize(sx_json_get_path(c, "context.before")), 1);
	assert_int_equal(cJSON_GetArraySize(sx_json_get_path(c, "context.after")), 1);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c, "tool_calls")), 2);
	assert_contains(sx_json_str(c, "recommended_action"), "…XYZW");
	assert_non_null(sx_json_str(c, "summary"));
	db = open_db(dir);
	assert_int_equal(query_int(db, "SELECT count(*) FROM case_files"), 1);
	assert_int_equal(query_int(db, "SELECT count(*) FROM investigated_flags WHERE how = 'auto'"), 1);
	assert_int_equal(query_int(db, "SELECT count(*) FROM queue WHERE state = 'done'"), 1);
	/* Again, by hand (by case id): the same case, no duplicate. */
	assert_int_equal(sx_police_investigate(p, "c-00000000000000d1", true, &case_id), 0);
	assert_string_equal(case_id, "c-00000000000000d1");
	assert_int_equal(query_int(db, "SELECT count(*) FROM case_files"), 1);
	assert_int_equal(query_int(db, "SELECT count(*) FROM investigated_flags WHERE how = 'manual'"), 1);
	/* A flag below the level, never queued: by hand it is found in the file. */
	add_flag(dir, "00000000000000d2", "LOW");
	assert_int_equal(sx_police_ingest(p), 0);
	assert_int_equal(sx_police_investigate(p, "f-00000000000000d2", true, &again), 0);
	assert_int_equal(query_int(db, "SELECT count(*) FROM case_files"), 2);
	assert_int_equal(sx_police_investigate(p, "f-00000000000000ff", true, NULL), -ENOENT);
	assert_int_equal(sx_police_investigate(p, "../etc", true, NULL), -EINVAL);
	sqlite3_close(db);
	sx_police_close(p);
}

static void test_critical(void **state)
{
	_cleanup_free_ char *dir = new_log_dir();
	_cleanup_free_ char *path = sx_strdupf("%s/patrol_flags.jsonl", dir);
	_cleanup_free_ char *line =
	    flag_line("00000000000000e1", "HIGH", "\"secret\",\"unsafe_tool\"", "none");
	_cleanup_free_ char *report = NULL, *text = NULL;
	_cleanup_cjson_ cJSON *c = NULL;
	struct sx_police *p = NULL;

	append_text(path, line);
	assert_int_equal(sx_police_open(dir, SX_ESCALATE_HIGH_ONLY, &p), 0);
	assert_int_equal(sx_police_ingest(p), 1);
	assert_int_equal(sx_police_work(p, 1), 1);
	sx_police_close(p);
	report = sx_strdupf("%s/reports/c-00000000000000e1.json", dir);
	assert_int_equal(sx_read_file(report, &text, NULL), 0);
	c = parse(text);
	assert_string_equal(sx_json_str(c, "severity"), "CRITICAL");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(c, "record"))); /* no capture file */
}

static void test_judge_fails(void **state)
{
	_cleanup_free_ char *dir = new_log_dir();
	struct sx_police *p = NULL;
	struct order o = {.fail = -ECONNREFUSED};
	sqlite3 *db;
	long long next;

	write_capture(dir);
	add_flag(dir, "00000000000000f1", "HIGH");
	assert_int_equal(sx_police_open(dir, SX_ESCALATE_MEDIUM_ABOVE, &p), 0);
	sx_police_set_judge(p, judge_record, &o);
	assert_int_equal(sx_police_ingest(p), 1);
	assert_int_equal(sx_police_work(p, 5), 0);
	assert_int_equal(sx_police_queue_depth(p), 1);
	db = open_db(dir);
	assert_int_equal(query_int(db,
				   "SELECT count(*) FROM queue WHERE state = 'queued' AND attempts = 1"
				   " AND last_error LIKE 'judge:%'"),
			 1);
	next = query_int(db, "SELECT next_try - enqueued_at FROM queue");
	assert_true(next >= 5000 && next < 65000);
	assert_int_equal(query_int(db, "SELECT count(*) FROM case_files"), 0);
	/* Not yet due: not tried again. */
	assert_int_equal(sx_police_work(p, 5), 0);
	assert_int_equal(query_int(db, "SELECT attempts FROM queue"), 1);
	/* Due, and the judge is back. */
	assert_int_equal(sqlite3_exec(db, "UPDATE queue SET next_try = 0", NULL, NULL, NULL), SQLITE_OK);
	o.fail = 0;
	assert_int_equal(sx_police_work(p, 5), 1);
	assert_int_equal(query_int(db, "SELECT count(*) FROM case_files WHERE summary = 'judged'"), 1);
	sqlite3_close(db);
	sx_police_close(p);
}

/* True when the file at path holds needle. */
static bool file_has(const char *path, const char *needle)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;

	if (sx_read_file(path, &text, &len) < 0)
		return false;
	return memmem(text, len, needle, strlen(needle)) != NULL;
}

static void test_no_secret(void **state)
{
	_cleanup_free_ char *dir = new_log_dir();
	_cleanup_free_ char *reports = sx_strdupf("%s/reports", dir);
	static const char *const dbs[] = {"police.db", "police.db-wal", "police.db-shm"};
	struct sx_police *p = NULL;
	struct dirent *de;
	DIR *d;
	int n = 0;

	write_capture(dir);
	add_flag(dir, "0000000000000a01", "HIGH");
	assert_int_equal(sx_police_open(dir, SX_ESCALATE_MEDIUM_ABOVE, &p), 0);
	assert_int_equal(sx_police_ingest(p), 1);
	assert_int_equal(sx_police_work(p, 5), 1);
	assert_int_equal(sx_police_investigate(p, "f-0000000000000a01", true, NULL), 0);
	for (size_t i = 0; i < ELEMENTSOF(dbs); i++) {
		_cleanup_free_ char *path = sx_strdupf("%s/%s", dir, dbs[i]);
		if (file_has(path, SECRET) || file_has(path, "PLANTEDsecret"))
			fail_msg("%s holds the secret", path);
	}
	sx_police_close(p);
	d = opendir(reports);
	assert_non_null(d);
	while ((de = readdir(d))) {
		_cleanup_free_ char *path = sx_strdupf("%s/%s", reports, de->d_name);
		if (de->d_name[0] == '.')
			continue;
		n++;
		if (file_has(path, SECRET) || file_has(path, "PLANTEDsecret"))
			fail_msg("%s holds the secret", path);
		assert_true(file_has(path, REDACTED_VALUE));
	}
	closedir(d);
	assert_int_equal(n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escalation_names), cmocka_unit_test(test_ingest_level),
	    cmocka_unit_test(test_queue_order),	     cmocka_unit_test(test_ingest_resumes),
	    cmocka_unit_test(test_investigate),	     cmocka_unit_test(test_critical),
	    cmocka_unit_test(test_judge_fails),	     cmocka_unit_test(test_no_secret),
	};

	sx_log_set_level(SX_LOG_ERROR);
	return cmocka_run_group_tests_name("police", tests, tu_group_setup, tu_group_teardown);
}
