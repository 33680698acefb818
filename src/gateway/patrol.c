/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * patrol.c - follows the capture files, reviews each record, writes flags.
 *
 * The thread wakes every second (or when stopped), walks the capture files
 * oldest first from the offset patrol_state.db holds for each, and reviews
 * every complete record line: the engine scans it; a record with hits gets
 * a flag line in patrol_flags.jsonl and a review row "flagged", one without
 * a row "clean".  Rows and the file's new offset are committed together, in
 * batches.  A record the patrol could not review (a judge that does not
 * answer, a line it cannot read again) stays "pending" with a time to try
 * again and is never recorded as clean.
 *
 * Exactly once: a flag's id is a hash of file, record and ruleset version,
 * and the flags table remembers every id written.  The flag line is written
 * before the commit, so a crash in between leaves a line the table does not
 * know yet: at start the file's lines past the last synced offset are read
 * back into the table, and a re-review finds its flag already written.
 */
#include "patrol.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../lib/capture_read.h"
#include "../lib/fileio.h"
#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/policy.h"
#include "../lib/strv.h"
#include "../lib/util.h"
#include "gateway.h"
#include "police.h"
#include "scan.h"

#define FLAGS_FILE "patrol_flags.jsonl"
#define STATE_DB "patrol_state.db"
#define BATCH_RECORDS 512
#define RETRY_FIRST_SECS 5
#define RETRY_MAX_SECS 600
#define EXCERPT_MAX 240

struct sx_patrol {
	char *log_dir;
	struct sx_ruleset *rs;
	struct sx_engine *engine;
	struct sx_scanner *scanner;
	sqlite3 *db;
	struct sx_police *police;
	char judge_version[64];
	int flags_fd, wake_fd;
	pthread_t thread;
	bool running;
	atomic_bool stop;
	struct sx_patrol_stats stats;
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE IF NOT EXISTS files(name TEXT PRIMARY KEY, offset INTEGER NOT NULL, closed INTEGER NOT "
    "NULL);"
    "CREATE TABLE IF NOT EXISTS reviews(source_file TEXT NOT NULL, record_id TEXT NOT NULL,"
    " ruleset TEXT NOT NULL, judge TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK(status IN ('clean','flagged','pending')),"
    " attempts INTEGER NOT NULL DEFAULT 0, next_try INTEGER, last_error TEXT, flag_id TEXT,"
    " reviewed_at INTEGER NOT NULL, line_at INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY(source_file, record_id));"
    "CREATE INDEX IF NOT EXISTS reviews_pending ON reviews(status, next_try);"
    "CREATE TABLE IF NOT EXISTS flags(flag_id TEXT PRIMARY KEY, source_file TEXT NOT NULL,"
    " record_id TEXT NOT NULL, ruleset TEXT NOT NULL);";

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int db_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		log_error("patrol_state.db: %s: %s", sql, err ? err : sqlite3_errmsg(db));
		sqlite3_free(err);
		return -EIO;
	}
	return 0;
}

/* Runs sql with text parameters (NULL-terminated); for statements without
 * rows. */
static int db_run(sqlite3 *db, const char *sql, ...)
{
	sqlite3_stmt *st = NULL;
	va_list ap;
	int rc, i = 1;
	const char *a;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_error("patrol_state.db: %s: %s", sql, sqlite3_errmsg(db));
		return -EIO;
	}
	va_start(ap, sql);
	while ((a = va_arg(ap, const char *)))
		sqlite3_bind_text(st, i++, a, -1, SQLITE_TRANSIENT);
	va_end(ap);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		log_error("patrol_state.db: %s: %s", sql, sqlite3_errmsg(db));
		return -EIO;
	}
	return 0;
}

/* The first column of the first row as text (caller frees), or NULL. */
static char *db_text(sqlite3 *db, const char *sql, const char *arg)
{
	sqlite3_stmt *st = NULL;
	char *v = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	if (arg)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		v = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

static int64_t db_int(sqlite3 *db, const char *sql, const char *arg, int64_t dflt)
{
	sqlite3_stmt *st = NULL;
	int64_t v = dflt;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return dflt;
	if (arg)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int meta_set(sqlite3 *db, const char *key, const char *value)
{
	return db_run(db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", key, value, NULL);
}

static int meta_set_int(sqlite3 *db, const char *key, int64_t v)
{
	char s[24];
	snprintf(s, sizeof(s), "%lld", (long long)v);
	return meta_set(db, key, s);
}

static int db_open(const char *log_dir, sqlite3 **ret)
{
	_cleanup_free_ char *path = sx_strdupf("%s/" STATE_DB, log_dir);
	sqlite3 *db = NULL;

	if (!path)
		return -ENOMEM;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW,
			    NULL) != SQLITE_OK) {
		log_error("cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return -EIO;
	}
	sqlite3_busy_timeout(db, 5000);
	if (db_exec(db, schema) < 0) {
		sqlite3_close(db);
		return -EIO;
	}
	*ret = db;
	return 0;
}

/* A new ruleset or judge makes every finished review stale: each file is
 * read again from its start.  Pending reviews stay (they are retried under
 * the new versions).  Written flags stay written. */
static int check_versions(struct sx_patrol *p)
{
	_cleanup_free_ char *rs = db_text(p->db, "SELECT value FROM meta WHERE key='ruleset_version'", NULL);
	_cleanup_free_ char *jv = db_text(p->db, "SELECT value FROM meta WHERE key='judge_version'", NULL);
	int r;

	if (streq(rs, p->rs->version) && streq(jv, p->judge_version))
		return 0;
	if (rs)
		log_info("patrol: ruleset %s (was %s), judge %s (was %s): every record is reviewed again",
			 p->rs->version, rs, p->judge_version, jv ? jv : "none");
	if ((r = db_exec(p->db, "BEGIN")) < 0)
		return r;
	if ((r = db_exec(p->db,
			 "UPDATE files SET offset = 0, closed = 0;"
			 "DELETE FROM reviews WHERE status != 'pending'")) < 0 ||
	    (r = meta_set(p->db, "ruleset_version", p->rs->version)) < 0 ||
	    (r = meta_set(p->db, "judge_version", p->judge_version)) < 0) {
		db_exec(p->db, "ROLLBACK");
		return r;
	}
	return db_exec(p->db, "COMMIT");
}

/* Reads the flag lines written after the last commit (a crash between a
 * flag's write and its commit) back into the flags table. */
static int sync_flags(struct sx_patrol *p)
{
	_cleanup_free_ char *path = sx_strdupf("%s/" FLAGS_FILE, p->log_dir), *text = NULL;
	int64_t at = db_int(p->db, "SELECT value FROM meta WHERE key='flags_synced'", NULL, 0);
	size_t len = 0, n = 0;
	int r;

	if (!path)
		return -ENOMEM;
	r = sx_read_file(path, &text, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return log_error_errno(r, "cannot read %s", path);
	if ((size_t)at > len)
		at = 0; /* the file was replaced: read it all (the table ignores known ids) */
	if ((r = db_exec(p->db, "BEGIN")) < 0)
		return r;
	for (char *line = text + at, *nl; (nl = memchr(line, '\n', len - (size_t)(line - text)));
	     line = nl + 1) {
		_cleanup_cjson_ cJSON *f = cJSON_ParseWithLength(line, (size_t)(nl - line));
		const char *id = sx_json_str(f, "flag_id"), *file = sx_json_str(f, "source_file"),
			   *rec = sx_json_str(f, "record_id"), *rsv = sx_json_str(f, "ruleset_version");
		if (!id || !file || !rec || !rsv)
			continue;
		db_run(
		    p->db,
		    "INSERT OR IGNORE INTO flags(flag_id, source_file, record_id, ruleset) VALUES(?,?,?,?)",
		    id, file, rec, rsv, NULL);
		n++;
	}
	meta_set_int(p->db, "flags_synced", (int64_t)len);
	if (n && at)
		log_info("patrol: %zu flag line(s) written before a stop recorded", n);
	return db_exec(p->db, "COMMIT");
}

/* ---- flags ---- */

static void flag_id_of(const char *file, const char *record_id, const char *ruleset, char out[19])
{
	_cleanup_free_ char *key = sx_strdupf("%s\n%s\n%s", file, record_id, ruleset);
	char fp[17];
	sx_fingerprint(key ? key : "", key ? strlen(key) : 0, fp);
	snprintf(out, 19, "f-%s", fp);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A sorted, unique JSON array of strings. */
static cJSON *sorted_array(char **v)
{
	cJSON *a = cJSON_CreateArray();
	size_t n = sx_strv_length(v);
	if (n)
		qsort(v, n, sizeof(char *), cmp_str);
	for (size_t i = 0; a && i < n; i++)
		if (i == 0 || strcmp(v[i], v[i - 1]) != 0)
			cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

static cJSON *build_flag(const struct sx_patrol *p, const struct sx_hits *h, const char *file,
			 const cJSON *rec, const char *record_id, const char *flag_id)
{
	_cleanup_(sx_strv_freep) char **cats = NULL, **rules = NULL, **labels = NULL;
	cJSON *f = cJSON_CreateObject(), *votes = cJSON_CreateArray(), *hits = cJSON_CreateArray();
	enum sx_severity top = SX_SEV_LOW;
	const struct sx_hit *first = NULL;
	double conf_sum = 0;
	unsigned conf_n = 0;
	char stamp[40], *summary = NULL;
	size_t sum_len = 0, listed = 0;
	FILE *sum = open_memstream(&summary, &sum_len);
	_cleanup_free_ char *run_ts =
	    sx_strdupf("%s@%s", sx_json_str(rec, "run_id") ?: "-", sx_json_str(rec, "timestamp") ?: "-");

	if (!f || !votes || !hits || !sum || !run_ts) {
		cJSON_Delete(f);
		cJSON_Delete(votes);
		cJSON_Delete(hits);
		if (sum)
			fclose(sum);
		free(summary);
		return NULL;
	}
	for (size_t i = 0; i < h->n; i++)
		if (h->v[i].rule->severity > top)
			top = h->v[i].rule->severity;
	for (size_t i = 0; i < h->n; i++) {
		const struct sx_hit *x = &h->v[i];
		_cleanup_free_ char *red = sx_redact(x->rule, x->value);
		cJSON *o = cJSON_CreateObject();
		bool first_of_rule = true;
		for (size_t k = 0; k < i; k++)
			first_of_rule = first_of_rule && h->v[k].rule != x->rule;
		if (!first && x->rule->severity == top)
			first = x;
		sx_strv_push(&cats, sx_category_name(x->rule->category));
		sx_strv_push(&rules, x->rule->id);
		if (x->rule->category == SX_CAT_PII)
			sx_strv_push(&labels, x->rule->label ? x->rule->label : x->rule->id);
		cJSON_AddStringToObject(o, "rule_id", x->rule->id);
		cJSON_AddStringToObject(o, "category", sx_category_name(x->rule->category));
		cJSON_AddStringToObject(o, "severity", sx_severity_name(x->rule->severity));
		cJSON_AddStringToObject(o, "where", x->where);
		cJSON_AddStringToObject(o, "view", sx_view_name(x->view));
		cJSON_AddStringToObject(o, "value", red ? red : "[redacted]");
		cJSON_AddItemToArray(hits, o);
		if (first_of_rule) {
			cJSON *v = cJSON_CreateObject();
			_cleanup_free_ char *voter = sx_strdupf("rule:%s", x->rule->id);
			cJSON_AddStringToObject(v, "voter", voter ? voter : x->rule->id);
			cJSON_AddStringToObject(v, "severity", sx_severity_name(x->rule->severity));
			cJSON_AddNumberToObject(v, "confidence", x->rule->confidence);
			cJSON_AddStringToObject(v, "category", sx_category_name(x->rule->category));
			cJSON_AddItemToArray(votes, v);
			if (x->rule->severity == top) {
				conf_sum += x->rule->confidence;
				conf_n++;
			}
		}
		if (listed < 5) {
			fprintf(sum, "%s%s %s in %s", listed ? "; " : "", x->rule->description,
				red ? red : "", x->where);
			listed++;
		}
	}
	if (h->n > listed)
		fprintf(sum, "; and %zu more", h->n - listed);
	fclose(sum);
	sx_utc_stamp(stamp);

	_cleanup_free_ char *excerpt = first ? sx_hit_excerpt(first, h, EXCERPT_MAX) : NULL;
	cJSON_AddStringToObject(f, "flag_id", flag_id);
	cJSON_AddStringToObject(f, "source_file", file);
	cJSON_AddStringToObject(f, "record_id", record_id);
	cJSON_AddStringToObject(f, "run_id_ts", run_ts);
	cJSON_AddStringToObject(f, "consensus_severity", sx_severity_name(top));
	cJSON_AddNumberToObject(f, "consensus_confidence", conf_n ? conf_sum / conf_n : 0);
	cJSON_AddItemToObject(f, "votes", votes);
	cJSON_AddItemToObject(f, "pii_labels_union", sorted_array(labels));
	cJSON_AddItemToObject(f, "categories", sorted_array(cats));
	cJSON_AddItemToObject(f, "rule_ids", sorted_array(rules));
	cJSON_AddStringToObject(f, "referral_summary", summary ? summary : "");
	cJSON_AddItemToObject(f, "hits", hits);
	cJSON_AddStringToObject(f, "excerpt", excerpt ? excerpt : "");
	cJSON_AddStringToObject(f, "ruleset_version", p->rs->version);
	cJSON_AddStringToObject(f, "judge_version", p->judge_version);
	cJSON_AddStringToObject(f, "timestamp", stamp);
	free(summary);
	return f;
}

/* Appends one flag line with a single write(2). */
static int write_flag(struct sx_patrol *p, const cJSON *f)
{
	_cleanup_free_ char *text = cJSON_PrintUnformatted(f), *line = NULL;
	if (!text || !(line = sx_strdupf("%s\n", text)))
		return -ENOMEM;
	sx_utf8_clean(line);
	return sx_write_all(p->flags_fd, line, strlen(line));
}

/* ---- reviewing ---- */

/* The record's id: capture records begin {"timestamp":"…","id":"…" (record.c
 * writes them so); anything else is parsed. */
static char *record_id_of(const char *line, size_t len, int64_t line_at)
{
	const char *k = memmem(line, MIN(len, (size_t)96), "\"id\":\"", 6);
	if (k) {
		const char *v = k + 6, *e = memchr(v, '"', len - (size_t)(v - line));
		if (e && e - v > 0 && e - v <= 64 && !memchr(v, '\\', (size_t)(e - v)))
			return strndup(v, (size_t)(e - v));
	}
	_cleanup_cjson_ cJSON *j = cJSON_ParseWithLength(line, len);
	const char *id = sx_json_str(j, "id");
	return id ? strdup(id) : sx_strdupf("line@%lld", (long long)line_at);
}

static int set_review(struct sx_patrol *p, const char *file, const char *rec, const char *status,
		      const char *flag_id, int64_t line_at, const char *error, int attempts, int64_t next_try)
{
	sqlite3_stmt *st = NULL;
	int rc;
	if (sqlite3_prepare_v2(
		p->db,
		"INSERT OR REPLACE INTO reviews(source_file, record_id, ruleset, judge, status, "
		"attempts, next_try, last_error, flag_id, reviewed_at, line_at) "
		"VALUES(?,?,?,?,?,?,?,?,?,?,?)",
		-1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, file, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rec, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, p->rs->version, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, p->judge_version, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, status, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, attempts);
	if (next_try)
		sqlite3_bind_int64(st, 7, next_try);
	if (error)
		sqlite3_bind_text(st, 8, error, -1, SQLITE_STATIC);
	if (flag_id)
		sqlite3_bind_text(st, 9, flag_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, now_ms());
	sqlite3_bind_int64(st, 11, line_at);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		log_error("patrol_state.db: cannot record the review of %s in %s: %s", rec, file,
			  sqlite3_errmsg(p->db));
		return -EIO;
	}
	return 0;
}

/* Reviews one record line.  Returns 0 (reviewed, or left pending with a
 * reason) or a negative errno that stops the pass (the database). */
static int review(struct sx_patrol *p, const char *file, const char *line, size_t len, int64_t line_at)
{
	_cleanup_free_ char *rec_id = record_id_of(line, len, line_at);
	struct sx_hits hits = {0};
	char flag_id[19];
	int r;

	if (!rec_id)
		return -ENOMEM;
	r = sx_scan_json(p->scanner, line, len, &hits);
	atomic_fetch_add(&p->stats.scan_bytes, len);
	atomic_fetch_add(&p->stats.records, 1);
	if (r < 0) {
		sx_hits_clear(&hits);
		return set_review(p, file, rec_id, "pending", NULL, line_at, "out of memory while scanning",
				  1, now_ms() + RETRY_FIRST_SECS * 1000);
	}
	if (hits.n == 0)
		return set_review(p, file, rec_id, "clean", NULL, line_at, NULL, 0, 0);

	flag_id_of(file, rec_id, p->rs->version, flag_id);
	if (db_int(p->db, "SELECT 1 FROM flags WHERE flag_id = ?", flag_id, 0) == 0) {
		_cleanup_cjson_ cJSON *rec = cJSON_ParseWithLength(line, len);
		_cleanup_cjson_ cJSON *f = build_flag(p, &hits, file, rec, rec_id, flag_id);
		if (!f) {
			sx_hits_clear(&hits);
			return -ENOMEM;
		}
		if ((r = write_flag(p, f)) < 0) {
			sx_hits_clear(&hits);
			log_error_errno(r, "cannot write %s/" FLAGS_FILE, p->log_dir);
			return set_review(p, file, rec_id, "pending", NULL, line_at, "cannot write the flag",
					  1, now_ms() + RETRY_FIRST_SECS * 1000);
		}
		db_run(
		    p->db,
		    "INSERT OR IGNORE INTO flags(flag_id, source_file, record_id, ruleset) VALUES(?,?,?,?)",
		    flag_id, file, rec_id, p->rs->version, NULL);
		for (size_t i = 0; i < hits.n; i++)
			atomic_fetch_add(&p->stats.flags[hits.v[i].rule->category][hits.v[i].rule->severity],
					 1);
	}
	sx_hits_clear(&hits);
	return set_review(p, file, rec_id, "flagged", flag_id, line_at, NULL, 0, 0);
}

static int commit_batch(struct sx_patrol *p, const char *file, uint64_t offset, bool closed)
{
	sqlite3_stmt *st = NULL;
	struct stat sb;
	int rc;
	if (sqlite3_prepare_v2(p->db, "INSERT OR REPLACE INTO files(name, offset, closed) VALUES(?,?,?)", -1,
			       &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, file, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)offset);
	sqlite3_bind_int(st, 3, closed);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -EIO;
	/* Every flag line written so far is in the flags table now. */
	if (fstat(p->flags_fd, &sb) == 0)
		meta_set_int(p->db, "flags_synced", (int64_t)sb.st_size);
	return db_exec(p->db, "COMMIT");
}

/* Reviews the records of one capture file past its recorded offset. */
static int follow_file(struct sx_patrol *p, const char *name)
{
	_cleanup_free_ char *path = sx_strdupf("%s/%s", p->log_dir, name);
	_cleanup_capture_ struct sx_capture_reader *rd = NULL;
	int64_t offset = db_int(p->db, "SELECT offset FROM files WHERE name = ?", name, 0);
	int64_t closed = db_int(p->db, "SELECT closed FROM files WHERE name = ?", name, 0);
	struct stat sb;
	int r;

	if (!path)
		return -ENOMEM;
	if (closed && stat(path, &sb) == 0 && (int64_t)sb.st_size <= offset + 4)
		return 0; /* reviewed to its closing "]" */
	if ((r = sx_capture_open(path, (uint64_t)offset, &rd)) < 0) {
		if (r != -ENOENT)
			log_warn_errno(
			    r, "patrol: cannot read %s (its records stay unreviewed until it can be read)",
			    path);
		return 0;
	}
	for (;;) {
		const char *line;
		unsigned n = 0;
		if ((r = db_exec(p->db, "BEGIN")) < 0)
			return r;
		while (n < BATCH_RECORDS && !atomic_load(&p->stop)) {
			uint64_t line_at = sx_capture_offset(rd);
			r = sx_capture_next_line(rd, &line);
			if (r <= 0)
				break;
			if ((r = review(p, name, line, strlen(line), (int64_t)line_at)) < 0) {
				db_exec(p->db, "ROLLBACK");
				return r;
			}
			n++;
		}
		if (r < 0)
			log_warn_errno(r, "patrol: reading %s stopped", path);
		if ((r = commit_batch(p, name, sx_capture_offset(rd), sx_capture_closed(rd))) < 0)
			return r;
		if (n < BATCH_RECORDS || atomic_load(&p->stop))
			return 0;
	}
}

/* Pending reviews whose time has come: their line is read again. */
static int retry_pending(struct sx_patrol *p)
{
	sqlite3_stmt *st = NULL;
	int64_t now = now_ms();
	_cleanup_(sx_strv_freep) char **files = NULL;
	int64_t ats[16];
	int attempts[16];
	size_t n = 0;

	if (sqlite3_prepare_v2(
		p->db,
		"SELECT source_file, line_at, attempts FROM reviews WHERE status = 'pending' AND "
		"next_try <= ? ORDER BY next_try LIMIT 16",
		-1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, now);
	while (n < 16 && sqlite3_step(st) == SQLITE_ROW) {
		if (sx_strv_push(&files, (const char *)sqlite3_column_text(st, 0)) < 0)
			break;
		ats[n] = sqlite3_column_int64(st, 1);
		attempts[n++] = sqlite3_column_int(st, 2);
	}
	sqlite3_finalize(st);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *path = sx_strdupf("%s/%s", p->log_dir, files[i]);
		_cleanup_capture_ struct sx_capture_reader *rd = NULL;
		const char *line;
		int r;
		if (!path)
			return -ENOMEM;
		if ((r = db_exec(p->db, "BEGIN")) < 0)
			return r;
		if (sx_capture_open(path, (uint64_t)ats[i], &rd) < 0 ||
		    sx_capture_next_line(rd, &line) <= 0) {
			/* Still unreadable: later, with a longer wait. */
			int64_t wait = MIN((int64_t)RETRY_FIRST_SECS << MIN(attempts[i], 10), RETRY_MAX_SECS);
			sqlite3_stmt *up = NULL;
			if (sqlite3_prepare_v2(
				p->db,
				"UPDATE reviews SET attempts = attempts + 1, next_try = ?, last_error = "
				"'the record cannot be read again' WHERE source_file = ? AND line_at = ? "
				"AND status = 'pending'",
				-1, &up, NULL) == SQLITE_OK) {
				sqlite3_bind_int64(up, 1, now + wait * 1000);
				sqlite3_bind_text(up, 2, files[i], -1, SQLITE_STATIC);
				sqlite3_bind_int64(up, 3, ats[i]);
				sqlite3_step(up);
			}
			sqlite3_finalize(up);
		} else if ((r = review(p, files[i], line, strlen(line), ats[i])) < 0) {
			db_exec(p->db, "ROLLBACK");
			return r;
		}
		if ((r = db_exec(p->db, "COMMIT")) < 0)
			return r;
	}
	return 0;
}

static void pass(struct sx_patrol *p)
{
	_cleanup_(sx_strv_freep) char **names = NULL;
	int n = sx_capture_list(p->log_dir, &names);

	for (int i = 0; i < n && !atomic_load(&p->stop); i++)
		if (follow_file(p, names[i]) < 0)
			return;
	if (!atomic_load(&p->stop))
		retry_pending(p);
	atomic_store(
	    &p->stats.pending,
	    (uint64_t)db_int(p->db, "SELECT count(*) FROM reviews WHERE status = 'pending'", NULL, 0));
	if (p->police && !atomic_load(&p->stop)) {
		sx_police_ingest(p->police);
		sx_police_work(p->police, 8);
		atomic_store(&p->stats.queue_depth, sx_police_queue_depth(p->police));
	}
}

static void *thread_main(void *arg)
{
	struct sx_patrol *p = arg;
	while (!atomic_load(&p->stop)) {
		struct pollfd pfd = {.fd = p->wake_fd, .events = POLLIN};
		pass(p);
		if (poll(&pfd, 1, 1000) > 0) {
			uint64_t v;
			(void)!read(p->wake_fd, &v, sizeof(v));
		}
	}
	return NULL;
}

/* ---- lifecycle ---- */

static void patrol_free(struct sx_patrol *p)
{
	if (p->police)
		sx_police_close(p->police);
	sx_scanner_free(p->scanner);
	sx_engine_free(p->engine);
	if (p->rs)
		sx_ruleset_free(p->rs);
	if (p->db)
		sqlite3_close(p->db);
	if (p->flags_fd >= 0)
		close(p->flags_fd);
	if (p->wake_fd >= 0)
		close(p->wake_fd);
	free(p->log_dir);
	free(p);
}

static int patrol_open(struct sx_gateway *g, struct sx_patrol **ret)
{
	struct sx_patrol *p = calloc(1, sizeof(*p));
	_cleanup_free_ char *why = NULL, *flags_path = NULL;
	int r;

	if (!p)
		return -ENOMEM;
	p->flags_fd = p->wake_fd = -EBADF;
	snprintf(p->judge_version, sizeof(p->judge_version), "none");
	if (!(p->log_dir = strdup(g->log_dir)) || !(flags_path = sx_strdupf("%s/" FLAGS_FILE, g->log_dir))) {
		patrol_free(p);
		return -ENOMEM;
	}
	r = sx_engine_load_policy(g->config->policy_dir, g->policy->patrol_packs, &p->rs, &p->engine, &why);
	if (r < 0) {
		log_error("patrol: %s; fix the pack (`sentrix policy check %s`) and restart the gateway",
			  why ? why : strerror(-r), g->config->policy_dir);
		patrol_free(p);
		return r;
	}
	if ((r = sx_scanner_new(p->engine, &p->scanner)) < 0 || (r = db_open(g->log_dir, &p->db)) < 0) {
		patrol_free(p);
		return r;
	}
	p->flags_fd = open(flags_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (p->flags_fd < 0) {
		r = log_error_errno(-errno, "cannot open %s", flags_path);
		patrol_free(p);
		return r;
	}
	if ((r = check_versions(p)) < 0 || (r = sync_flags(p)) < 0) {
		patrol_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

int sx_patrol_start(struct sx_gateway *g, struct sx_patrol **ret)
{
	struct sx_patrol *p = NULL;
	enum sx_escalation level = SX_ESCALATE_MEDIUM_ABOVE;
	int r;

	*ret = NULL;
	if (!g->policy->patrol_packs || !g->policy->patrol_packs[0]) {
		log_info("patrol: the policy names no rule packs; captured calls are not reviewed");
		return 0;
	}
	if ((r = patrol_open(g, &p)) < 0)
		return r;
	if (g->config->police_escalation)
		(void)sx_escalation_from_name(g->config->police_escalation, &level);
	if ((r = sx_police_open(g->log_dir, level, &p->police)) < 0) {
		patrol_free(p);
		return r;
	}
	if ((p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		r = log_error_errno(-errno, "patrol: eventfd");
		patrol_free(p);
		return r;
	}
	if ((r = -pthread_create(&p->thread, NULL, thread_main, p)) < 0) {
		log_error_errno(r, "patrol: cannot start its thread");
		patrol_free(p);
		return r;
	}
	p->running = true;
	_cleanup_free_ char *packs = sx_strv_join(p->rs->packs, ", ");
	log_info("patrol: %zu rule(s) from pack(s) %s, ruleset %s", p->rs->n_rules, packs ? packs : "?",
		 p->rs->version);
	*ret = p;
	return 0;
}

void sx_patrol_stop(struct sx_patrol *p)
{
	if (!p)
		return;
	if (p->running) {
		uint64_t one = 1;
		atomic_store(&p->stop, true);
		(void)!write(p->wake_fd, &one, sizeof(one));
		pthread_join(p->thread, NULL);
	}
	patrol_free(p);
}

int sx_patrol_rescan(struct sx_gateway *g)
{
	sqlite3 *db = NULL;
	int r;
	if ((r = db_open(g->log_dir, &db)) < 0)
		return r;
	r = db_exec(db,
		    "BEGIN;UPDATE files SET offset = 0, closed = 0;DELETE FROM reviews WHERE status != "
		    "'pending';COMMIT");
	sqlite3_close(db);
	return r;
}

void sx_patrol_metrics(const struct sx_patrol *p, FILE *out)
{
	struct sx_patrol_stats *s = (struct sx_patrol_stats *)&p->stats;
	fputs("# HELP sentrix_patrol_flags_total Findings written to flags, by category and severity.\n"
	      "# TYPE sentrix_patrol_flags_total counter\n",
	      out);
	for (unsigned c = 0; c < SX_CAT_COUNT; c++)
		for (unsigned v = SX_SEV_LOW; v <= SX_SEV_HIGH; v++)
			fprintf(out, "sentrix_patrol_flags_total{category=\"%s\",severity=\"%s\"} %llu\n",
				sx_category_name(c), sx_severity_name(v),
				(unsigned long long)atomic_load(&s->flags[c][v]));
	fprintf(out,
		"# HELP sentrix_patrol_scan_bytes_total Bytes of capture records scanned.\n"
		"# TYPE sentrix_patrol_scan_bytes_total counter\n"
		"sentrix_patrol_scan_bytes_total %llu\n"
		"# HELP sentrix_patrol_records_total Capture records reviewed.\n"
		"# TYPE sentrix_patrol_records_total counter\n"
		"sentrix_patrol_records_total %llu\n"
		"# HELP sentrix_patrol_pending Reviews waiting to be tried again.\n"
		"# TYPE sentrix_patrol_pending gauge\n"
		"sentrix_patrol_pending %llu\n"
		"# HELP sentrix_police_queue_depth Flags waiting for the investigator.\n"
		"# TYPE sentrix_police_queue_depth gauge\n"
		"sentrix_police_queue_depth %u\n"
		"# HELP sentrix_patrol_judge_calls_total Calls to the LLM judge.\n"
		"# TYPE sentrix_patrol_judge_calls_total counter\n"
		"sentrix_patrol_judge_calls_total %llu\n"
		"# HELP sentrix_patrol_judge_failures_total Judge calls that failed.\n"
		"# TYPE sentrix_patrol_judge_failures_total counter\n"
		"sentrix_patrol_judge_failures_total %llu\n",
		(unsigned long long)atomic_load(&s->scan_bytes), (unsigned long long)atomic_load(&s->records),
		(unsigned long long)atomic_load(&s->pending), atomic_load(&s->queue_depth),
		(unsigned long long)atomic_load(&s->judge_calls),
		(unsigned long long)atomic_load(&s->judge_failures));
}
