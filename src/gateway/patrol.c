/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * patrol.c - follows the capture files, reviews each record, writes flags.
 *
 * The thread yields to the proxy (yield_to_proxy(): a tenth of a CPU while
 * calls are recorded; under full load it falls behind and catches up when
 * the load drops).  It wakes every second (or when stopped), walks the capture files
 * oldest first from the offset patrol_state.db holds for each, and reviews
 * every complete record line: the engine scans it; a record with hits gets
 * a flag line in patrol_flags.jsonl and a review row "flagged", one without
 * a row "clean".  Rows and the file's new offset are committed together, in
 * batches.  A record the patrol could not review (a judge that does not
 * answer, a line it cannot read again) stays "pending" with a time to try
 * again and is never recorded as clean.
 *
 * The judge (judge.h, optional: the policy's patrol.judge) is asked about
 * records whose hits need judgement (injection, harm) or come from rules
 * less sure than the threshold.  Its answer becomes a vote in the flag; a
 * confident "NONE" over rules that were all unsure records the record
 * clean.  A judge that fails leaves the record pending (backoff 5 s
 * doubling to 10 min), and for a while after a failure records that need it
 * go pending without a call, so a judge that hangs does not stall the
 * patrol 30 s a record.  The police asks the same judge for a case's
 * summary and recommended action.
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
#include "judge.h"
#include "police.h"
#include "scan.h"

#define FLAGS_FILE "patrol_flags.jsonl"
#define STATE_DB "patrol_state.db"
#define BATCH_RECORDS 512
#define BATCH_USEC 20000 /* a batch's length, so that its 9x rest stays under the 200 ms cap */
/* Within a batch the thread steps aside this often (sx_step_aside): a
 * batch woken beside a c=1 client kept it off its CPU for 4.3 ms while
 * the other CPU idled (the p99 of such calls was 3-5 ms). */
#define STEP_ASIDE_USEC 50
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
	struct sx_judge *judge; /* NULL: no judge */
	char judge_version[256]; /* "none" or MODEL@VERSION */
	double threshold; /* rule or judge confidence below this is unsure */
	unsigned retry_first_secs; /* RETRY_FIRST_SECS, or SENTRIX_PATROL_RETRY_SECS (tests) */
	unsigned judge_fails; /* consecutive judge failures */
	int64_t judge_hold_until; /* ms: no judge call before this after a failure */
	char *judge_hold_why;
	/* Capture files reviewed to their closing "]", sorted: skipped without
	 * a query or a stat (a month of rotation is thousands of files, looked
	 * at every second).  Forgotten when `--rescan` bumps meta.rescan. */
	char **done;
	size_t n_done;
	int64_t rescan_seen;
	/* Set by the thread when the packs do not compile (before `broken`,
	 * which publishes it), read by /health. */
	char *error;
	atomic_bool broken;
	int flags_fd, wake_fd;
	pthread_t thread;
	bool running;
	atomic_bool stop;
	struct sx_patrol_stats stats;
	const uint64_t *records; /* the recorder's count (atomic): is the proxy busy? */
	sqlite3_stmt *review_st; /* set_review()'s statement */
};

/* While calls are being recorded, the patrol takes a tenth of one CPU at
 * most: after a batch that took t while new records came in, it rests 9t
 * (a stop ends the rest).  Batches end after BATCH_USEC, so the rest's
 * 200 ms cap is reached only by a single record that takes 22 ms (before
 * that bound, 512 records of 64 KB took ~50 ms and the patrol a third of a
 * CPU).  A lower scheduling class would
 * not do: the unit's filter denies @resources (sched_setscheduler kills the
 * gateway there), and SCHED_IDLE measured no better: on a machine whose
 * CPUs share a core, a patrol busy on the "idle" CPU still slowed the proxy
 * (and nginx beside it) by up to a third.  It catches up once the traffic
 * drops. */
static void yield_to_proxy(struct sx_patrol *p, uint64_t records_before, uint64_t t0_usec)
{
	uint64_t rest = 9 * (sx_now_usec() - t0_usec);
	struct pollfd pfd = {.fd = p->wake_fd, .events = POLLIN};

	if (!p->records || __atomic_load_n(p->records, __ATOMIC_RELAXED) == records_before)
		return;
	if (rest > 200000)
		rest = 200000;
	if (rest >= 1000)
		(void)poll(&pfd, 1, (int)(rest / 1000));
}

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

/* When a review that failed for the attempts-th time is tried again: the
 * first wait (5 s) doubling, at most 10 min. */
static int64_t retry_at(const struct sx_patrol *p, int attempts)
{
	int64_t wait = MIN((int64_t)p->retry_first_secs << MIN(MAX(attempts, 1) - 1, 10), RETRY_MAX_SECS);
	return now_ms() + wait * 1000;
}

static int db_open(const char *log_dir, sqlite3 **ret)
{
	_cleanup_free_ char *path = sx_strdupf("%s/" STATE_DB, log_dir);
	sqlite3 *db = NULL;

	if (!path)
		return -ENOMEM;
	/* 0640 like the flags (the sentrix group reads them; the umask
	 * would decide otherwise). */
	(void)sx_precreate_mode(path, 0640);
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

/* judge: the judge's version when it was asked about the record (a new
 * judge makes a new flag, as a new ruleset does), else NULL. */
static void flag_id_of(const char *file, const char *record_id, const char *ruleset, const char *judge,
		       char out[19])
{
	_cleanup_free_ char *key = judge ? sx_strdupf("%s\n%s\n%s\n%s", file, record_id, ruleset, judge)
					 : sx_strdupf("%s\n%s\n%s", file, record_id, ruleset);
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
	size_t n = v ? sx_strv_length(v) : 0;
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

/* ---- the judge ---- */

/* Whether the judge is asked about these hits: some need judgement
 * (injection, harm) or come from a rule less sure than the threshold.
 * *cats gets their categories, joined by ", " (caller frees). */
static bool needs_judge(const struct sx_patrol *p, const struct sx_hits *h, char **cats)
{
	_cleanup_(sx_strv_freep) char **v = NULL;
	bool any = false;

	if (!p->judge)
		return false;
	for (size_t i = 0; i < h->n; i++) {
		const struct sx_rule *r = h->v[i].rule;
		if (r->category != SX_CAT_INJECTION && r->category != SX_CAT_HARM &&
		    r->confidence >= p->threshold)
			continue;
		any = true;
		if (!sx_strv_contains(v, sx_category_name(r->category)))
			sx_strv_push(&v, sx_category_name(r->category));
	}
	*cats = any ? sx_strv_join(v, ", ") : NULL;
	return any;
}

/* What the judge sees of a record: its provider, model and endpoint, the
 * flag's redacted summary, excerpt and hits, and the text around each hit
 * (one per rule and place, at most 8) with every hit value in it redacted.
 * Never a value whole.  Caller frees. */
static char *judge_sample(const cJSON *flag, const struct sx_hits *h, const cJSON *rec)
{
	_cleanup_cjson_ cJSON *s = cJSON_CreateObject();
	cJSON *ctx;
	unsigned n = 0;

	if (!s)
		return NULL;
	cJSON_AddStringToObject(s, "provider", sx_json_str(rec, "provider") ?: "-");
	cJSON_AddStringToObject(s, "model", sx_json_str(rec, "model") ?: "-");
	cJSON_AddStringToObject(s, "endpoint", sx_json_str(rec, "endpoint") ?: "-");
	cJSON_AddStringToObject(s, "findings", sx_json_str(flag, "referral_summary") ?: "");
	cJSON_AddStringToObject(s, "excerpt", sx_json_str(flag, "excerpt") ?: "");
	cJSON_AddItemToObject(s, "hits", cJSON_Duplicate(cJSON_GetObjectItem(flag, "hits"), true));
	ctx = cJSON_AddArrayToObject(s, "context");
	for (size_t i = 0; ctx && i < h->n && n < 8; i++) {
		const struct sx_hit *x = &h->v[i];
		bool seen = false;
		for (size_t k = 0; k < i; k++)
			seen = seen || (h->v[k].rule == x->rule && streq(h->v[k].where, x->where));
		if (seen)
			continue;
		_cleanup_free_ char *text = sx_hit_excerpt(x, h, EXCERPT_MAX * 2);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "rule_id", x->rule->id);
		cJSON_AddStringToObject(o, "where", x->where);
		cJSON_AddStringToObject(o, "view", sx_view_name(x->view));
		cJSON_AddStringToObject(o, "text", text ? text : "");
		cJSON_AddItemToArray(ctx, o);
		n++;
	}
	char *out = cJSON_Print(s);
	if (out)
		sx_utf8_clean(out);
	return out;
}

/* Replaces key's value in the flag. */
static void flag_replace(cJSON *f, const char *key, cJSON *v)
{
	if (v && !cJSON_ReplaceItemInObjectCaseSensitive(f, key, v))
		cJSON_Delete(v);
}

/* Adds the judge's vote to flag f: the vote itself, its labels to
 * pii_labels_union, its observation to the referral summary, and the
 * consensus: the judge's severity when it is sure (confidence at or above
 * the threshold) and says more than NONE, else the highest vote; the
 * confidence is the mean of the votes at that severity. */
static void add_judge_vote(const struct sx_patrol *p, cJSON *f, const struct sx_judge_verdict *v)
{
	_cleanup_(sx_strv_freep) char **labels = NULL;
	_cleanup_free_ char *voter = sx_strdupf("judge:%s", sx_judge_model(p->judge));
	_cleanup_free_ char *summary = NULL;
	cJSON *votes = cJSON_GetObjectItem(f, "votes"), *vote = cJSON_CreateObject(), *it;
	int top = 0;
	double sum = 0;
	unsigned n = 0;

	if (!vote)
		return;
	cJSON_AddStringToObject(vote, "voter", voter ? voter : "judge");
	cJSON_AddStringToObject(vote, "severity", sx_judge_severity_name(v->severity));
	cJSON_AddNumberToObject(vote, "confidence", v->confidence);
	cJSON_AddStringToObject(vote, "category", v->category);
	cJSON_AddItemToObject(
	    vote, "labels",
	    cJSON_CreateStringArray((const char *const *)v->labels, (int)sx_strv_length(v->labels)));
	cJSON_AddStringToObject(vote, "observation", v->observation);
	cJSON_AddItemToArray(votes, vote);

	cJSON_ArrayForEach(it, cJSON_GetObjectItem(f, "pii_labels_union"))
	{
		if (cJSON_IsString(it))
			sx_strv_push(&labels, it->valuestring);
	}
	for (size_t i = 0; v->labels && v->labels[i]; i++)
		sx_strv_push(&labels, v->labels[i]);
	flag_replace(f, "pii_labels_union", sorted_array(labels));

	if (v->severity > 0 && v->confidence >= p->threshold)
		top = v->severity;
	else
		cJSON_ArrayForEach(it, votes)
		{
			enum sx_severity sev;
			if (sx_severity_from_name(sx_json_str(it, "severity"), &sev) == 0 && (int)sev > top)
				top = (int)sev;
		}
	cJSON_ArrayForEach(it, votes)
	{
		enum sx_severity sev;
		if (sx_severity_from_name(sx_json_str(it, "severity"), &sev) == 0 && (int)sev == top) {
			sum += cJSON_GetNumberValue(cJSON_GetObjectItem(it, "confidence"));
			n++;
		}
	}
	if (top > 0) {
		flag_replace(f, "consensus_severity",
			     cJSON_CreateString(sx_severity_name((enum sx_severity)top)));
		flag_replace(f, "consensus_confidence", cJSON_CreateNumber(n ? sum / n : 0));
	}
	summary = sx_strdupf("%s; judge: %s (%.2f) %s", sx_json_str(f, "referral_summary") ?: "",
			     sx_judge_severity_name(v->severity), v->confidence, v->observation);
	if (summary)
		flag_replace(f, "referral_summary", cJSON_CreateString(summary));
}

/* Remembers a judge failure: no call for a while (the first retry wait,
 * doubling with each failure in a row). */
static void judge_failed(struct sx_patrol *p, const char *why)
{
	p->judge_fails++;
	p->judge_hold_until = retry_at(p, (int)p->judge_fails);
	free(p->judge_hold_why);
	p->judge_hold_why = why ? strdup(why) : NULL;
	atomic_fetch_add(&p->stats.judge_failures, 1);
}

static void judge_answered(struct sx_patrol *p)
{
	p->judge_fails = 0;
	p->judge_hold_until = 0;
	free(p->judge_hold_why);
	p->judge_hold_why = NULL;
}

/* Asks the judge about a record, unless it failed a moment ago.  Returns
 * 0 with *v, or a negative errno with *why (caller frees). */
static int ask_judge(struct sx_patrol *p, const char *cats, const char *sample, struct sx_judge_verdict *v,
		     char **why)
{
	int r;

	if (now_ms() < p->judge_hold_until) {
		*why = sx_strdupf("the judge failed a moment ago (%s); not asked again yet",
				  p->judge_hold_why ? p->judge_hold_why : "?");
		return -EAGAIN;
	}
	atomic_fetch_add(&p->stats.judge_calls, 1);
	r = sx_judge_review(p->judge, cats, sample, v, why);
	if (r == 0)
		judge_answered(p);
	else if (r != -ECANCELED)
		judge_failed(p, *why);
	return r;
}

/* The police's judge hook: the same judge, counted and held alike. */
static int police_judge(void *userdata, const char *case_json, char **summary, char **action, char **severity)
{
	struct sx_patrol *p = userdata;
	_cleanup_free_ char *why = NULL;
	int r;

	if (now_ms() < p->judge_hold_until)
		return -EAGAIN;
	atomic_fetch_add(&p->stats.judge_calls, 1);
	r = sx_judge_case_why(p->judge, case_json, summary, action, severity, &why);
	if (r == 0)
		judge_answered(p);
	else if (r != -ECANCELED)
		judge_failed(p, why);
	return r;
}

int sx_patrol_judge_open(struct sx_gateway *g, struct sx_judge **ret, char **why)
{
	const struct sx_policy *pol = g->policy;
	const struct sx_provider *pv;
	struct sx_judge_settings s = {0};
	int r;

	*ret = NULL;
	if (!pol->judge_provider)
		return 0;
	if (!(pv = sx_config_provider(g->config, pol->judge_provider))) {
		*why =
		    sx_strdupf("patrol.judge.provider \"%s\" is not one of the gateway's providers (`sentrix "
			       "provider list`)",
			       pol->judge_provider);
		return -EINVAL;
	}
	s.threshold = SX_JUDGE_THRESHOLD_DEFAULT;
	s.max_tokens = pol->judge_max_tokens;
	if (!(s.provider = strdup(pv->name)) || !(s.api = strdup(pv->api)) ||
	    !(s.base_url = strdup(pv->base_url)) || !(s.model = strdup(pol->judge_model)) ||
	    !(s.version = strdup(pol->judge_version ? pol->judge_version : "1")) ||
	    (g->config->ca_file && !(s.ca_file = strdup(g->config->ca_file)))) {
		sx_judge_settings_clear(&s);
		return -ENOMEM;
	}
	if ((r = sx_judge_settings_env(&s, why)) < 0) {
		sx_judge_settings_clear(&s);
		return r;
	}
	s.key = sx_gateway_secret(g, pv->key_env);
	if (!s.key || !*s.key) {
		*why = sx_strdupf(
		    "the secret %s of the judge's provider %s is not set (`sentrix secrets set %s`)",
		    pv->key_env, pv->name, pv->key_env);
		sx_judge_settings_clear(&s);
		return -EINVAL;
	}
	return sx_judge_new(&s, ret);
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
	sqlite3_stmt *st = p->review_st;
	int rc;

	/* Prepared once: compiling it per record was a fifth of a small
	 * record's review. */
	if (!st &&
	    sqlite3_prepare_v3(p->db,
			       "INSERT OR REPLACE INTO reviews(source_file, record_id, ruleset, judge, "
			       "status, attempts, next_try, last_error, flag_id, reviewed_at, line_at) "
			       "VALUES(?,?,?,?,?,?,?,?,?,?,?)",
			       -1, SQLITE_PREPARE_PERSISTENT, &p->review_st, NULL) != SQLITE_OK)
		return -EIO;
	st = p->review_st;
	sqlite3_clear_bindings(st);
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
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_error("patrol_state.db: cannot record the review of %s in %s: %s", rec, file,
			  sqlite3_errmsg(p->db));
		return -EIO;
	}
	return 0;
}

/* Leaves a record pending after its attempts-th failure, why saying why. */
static int set_pending(struct sx_patrol *p, const char *file, const char *rec, int64_t line_at,
		       const char *why, int attempts)
{
	return set_review(p, file, rec, "pending", NULL, line_at, why, attempts, retry_at(p, attempts));
}

/* Reviews one record line; attempts: how often its review failed before.
 * Returns 0 (reviewed, or left pending with a reason) or a negative errno
 * that stops the pass (the database). */
static int review(struct sx_patrol *p, const char *file, const char *line, size_t len, int64_t line_at,
		  int attempts)
{
	_cleanup_free_ char *rec_id = record_id_of(line, len, line_at), *cats = NULL;
	_cleanup_cjson_ cJSON *rec = NULL, *f = NULL;
	struct sx_hits hits = {0};
	bool judge;
	char flag_id[19];
	int r;

	if (!rec_id)
		return -ENOMEM;
	r = sx_scan_json(p->scanner, line, len, &hits);
	atomic_fetch_add(&p->stats.scan_bytes, len);
	atomic_fetch_add(&p->stats.records, 1);
	if (r < 0) {
		sx_hits_clear(&hits);
		return set_pending(p, file, rec_id, line_at, "out of memory while scanning", attempts + 1);
	}
	if (hits.n == 0)
		return set_review(p, file, rec_id, "clean", NULL, line_at, NULL, 0, 0);

	judge = needs_judge(p, &hits, &cats);
	flag_id_of(file, rec_id, p->rs->version, judge ? p->judge_version : NULL, flag_id);
	if (db_int(p->db, "SELECT 1 FROM flags WHERE flag_id = ?", flag_id, 0) != 0) {
		/* Written before (a re-review, a crash before the commit). */
		sx_hits_clear(&hits);
		return set_review(p, file, rec_id, "flagged", flag_id, line_at, NULL, 0, 0);
	}
	rec = cJSON_ParseWithLength(line, len);
	if (!(f = build_flag(p, &hits, file, rec, rec_id, flag_id))) {
		sx_hits_clear(&hits);
		return -ENOMEM;
	}
	if (judge) {
		_cleanup_free_ char *sample = judge_sample(f, &hits, rec), *why = NULL;
		struct sx_judge_verdict v = {0};
		bool rules_unsure = true;

		if (!sample) {
			sx_hits_clear(&hits);
			return -ENOMEM;
		}
		if ((r = ask_judge(p, cats ? cats : "?", sample, &v, &why)) < 0) {
			/* Not reviewed: never clean, no flag yet. */
			sx_hits_clear(&hits);
			_cleanup_free_ char *e = sx_strdupf("judge: %s", why ? why : strerror(-r));
			return set_pending(p, file, rec_id, line_at, e ? e : "judge failed", attempts + 1);
		}
		for (size_t i = 0; i < hits.n; i++)
			rules_unsure = rules_unsure && hits.v[i].rule->confidence < p->threshold;
		if (v.severity == 0 && v.confidence >= p->threshold && rules_unsure) {
			/* Judged benign: reviewed, and clean. */
			sx_judge_verdict_clear(&v);
			sx_hits_clear(&hits);
			return set_review(p, file, rec_id, "clean", NULL, line_at, NULL, 0, 0);
		}
		add_judge_vote(p, f, &v);
		sx_judge_verdict_clear(&v);
	}
	if ((r = write_flag(p, f)) < 0) {
		sx_hits_clear(&hits);
		log_error_errno(r, "cannot write %s/" FLAGS_FILE, p->log_dir);
		return set_pending(p, file, rec_id, line_at, "cannot write the flag", attempts + 1);
	}
	db_run(p->db, "INSERT OR IGNORE INTO flags(flag_id, source_file, record_id, ruleset) VALUES(?,?,?,?)",
	       flag_id, file, rec_id, p->rs->version, NULL);
	for (size_t i = 0; i < hits.n; i++)
		atomic_fetch_add(&p->stats.flags[hits.v[i].rule->category][hits.v[i].rule->severity], 1);
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

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_done(const struct sx_patrol *p, const char *name)
{
	return p->n_done && bsearch(&name, p->done, p->n_done, sizeof(char *), cmp_name);
}

static void forget_done(struct sx_patrol *p)
{
	for (size_t i = 0; i < p->n_done; i++)
		free(p->done[i]);
	free(p->done);
	p->done = NULL;
	p->n_done = 0;
}

/* Remembers name as reviewed to its end (in order; a failure to remember
 * only costs the query again next time). */
static void mark_done(struct sx_patrol *p, const char *name)
{
	char **grown = reallocarray(p->done, p->n_done + 1, sizeof(char *));
	char *copy = strdup(name);
	size_t at = 0;

	if (!grown || !copy) {
		free(copy);
		if (grown)
			p->done = grown;
		return;
	}
	p->done = grown;
	while (at < p->n_done && strcmp(p->done[at], name) < 0)
		at++;
	memmove(p->done + at + 1, p->done + at, (p->n_done - at) * sizeof(char *));
	p->done[at] = copy;
	p->n_done++;
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
	if (closed && stat(path, &sb) == 0 && (int64_t)sb.st_size <= offset + 4) {
		mark_done(p, name); /* reviewed to its closing "]" */
		return 0;
	}
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
		bool at_end = false;
		uint64_t t0 = sx_now_usec(), stepped = t0,
			 records = p->records ? __atomic_load_n(p->records, __ATOMIC_RELAXED) : 0;
		if ((r = db_exec(p->db, "BEGIN")) < 0)
			return r;
		while (n < BATCH_RECORDS && !atomic_load(&p->stop) &&
		       (n == 0 || sx_now_usec() - t0 < BATCH_USEC)) {
			uint64_t line_at = sx_capture_offset(rd);
			sx_step_aside(&stepped, STEP_ASIDE_USEC);
			r = sx_capture_next_line(rd, &line);
			if (r <= 0) {
				at_end = true;
				break;
			}
			if ((r = review(p, name, line, strlen(line), (int64_t)line_at, 0)) < 0) {
				db_exec(p->db, "ROLLBACK");
				return r;
			}
			n++;
		}
		if (r < 0)
			log_warn_errno(r, "patrol: reading %s stopped", path);
		/* Nothing new (the live file between records): no write, so an
		 * idle gateway leaves its database alone. */
		if (n == 0 && (int64_t)sx_capture_offset(rd) == offset &&
		    sx_capture_closed(rd) == (closed != 0))
			return db_exec(p->db, "ROLLBACK");
		if ((r = commit_batch(p, name, sx_capture_offset(rd), sx_capture_closed(rd))) < 0)
			return r;
		yield_to_proxy(p, records, t0);
		if (at_end || atomic_load(&p->stop))
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
			sqlite3_stmt *up = NULL;
			if (sqlite3_prepare_v2(
				p->db,
				"UPDATE reviews SET attempts = attempts + 1, next_try = ?, last_error = "
				"'the record cannot be read again' WHERE source_file = ? AND line_at = ? "
				"AND status = 'pending'",
				-1, &up, NULL) == SQLITE_OK) {
				sqlite3_bind_int64(up, 1, retry_at(p, attempts[i] + 1));
				sqlite3_bind_text(up, 2, files[i], -1, SQLITE_STATIC);
				sqlite3_bind_int64(up, 3, ats[i]);
				sqlite3_step(up);
			}
			sqlite3_finalize(up);
		} else if ((r = review(p, files[i], line, strlen(line), ats[i], attempts[i])) < 0) {
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
	int64_t rescan = db_int(p->db, "SELECT value FROM meta WHERE key = 'rescan'", NULL, 0);

	if (rescan != p->rescan_seen) {
		forget_done(p);
		p->rescan_seen = rescan;
	}
	for (int i = 0; i < n && !atomic_load(&p->stop); i++) {
		if (is_done(p, names[i]))
			continue;
		if (follow_file(p, names[i]) < 0)
			return;
	}
	if (!atomic_load(&p->stop))
		retry_pending(p);
	atomic_store(
	    &p->stats.pending,
	    (uint64_t)db_int(p->db, "SELECT count(*) FROM reviews WHERE status = 'pending'", NULL, 0));
	if (p->police && !atomic_load(&p->stop)) {
		sx_police_ingest(p->police);
		/* With a judge that failed: no case while it is held, then one
		 * at a time until it answers again. */
		if (now_ms() >= p->judge_hold_until)
			sx_police_work(p->police, p->judge_fails ? 1 : 8);
		atomic_store(&p->stats.queue_depth, sx_police_queue_depth(p->police));
	}
}

/* Compiles the packs, in the thread: a second of Vectorscan work that the
 * gateway's start (READY=1) need not wait for.  Returns false when they do
 * not compile (the patrol stays off, /health says why). */
static bool compile(struct sx_patrol *p)
{
	_cleanup_free_ char *why = NULL;
	int r = sx_engine_new(p->rs, &p->engine, &why);

	if (r == 0)
		r = sx_scanner_new(p->engine, &p->scanner);
	if (r == 0)
		return true;
	log_error("patrol: %s; fix the pack (`sentrix policy check`) and restart the gateway",
		  why ? why : strerror(-r));
	p->error = sx_strdupf("the patrol did not start (%s): captured calls are not reviewed",
			      why ? why : strerror(-r));
	atomic_store(&p->broken, true);
	return false;
}

static void *thread_main(void *arg)
{
	struct sx_patrol *p = arg;
	if (!compile(p))
		return NULL;
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
	forget_done(p);
	free(p->error);
	if (p->police)
		sx_police_close(p->police);
	sx_judge_free(p->judge);
	free(p->judge_hold_why);
	sx_scanner_free(p->scanner);
	sx_engine_free(p->engine);
	if (p->rs)
		sx_ruleset_free(p->rs);
	sqlite3_finalize(p->review_st);
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
	_cleanup_free_ char *why = NULL, *flags_path = NULL, *judge_why = NULL;
	const char *e;
	int r;

	if (!p)
		return -ENOMEM;
	p->flags_fd = p->wake_fd = -EBADF;
	snprintf(p->judge_version, sizeof(p->judge_version), "none");
	p->threshold = sx_judge_threshold_env();
	p->retry_first_secs = RETRY_FIRST_SECS;
	/* A test knob: the first retry's wait, in seconds. */
	if ((e = getenv("SENTRIX_PATROL_RETRY_SECS")) && *e &&
	    (sx_parse_uint(e, RETRY_MAX_SECS, &p->retry_first_secs) < 0 || p->retry_first_secs == 0)) {
		log_warn("SENTRIX_PATROL_RETRY_SECS \"%s\" is not 1 to %d seconds; using %d", e,
			 RETRY_MAX_SECS, RETRY_FIRST_SECS);
		p->retry_first_secs = RETRY_FIRST_SECS;
	}
	p->records = &g->metrics.capture_records;
	if (!(p->log_dir = strdup(g->log_dir)) || !(flags_path = sx_strdupf("%s/" FLAGS_FILE, g->log_dir))) {
		patrol_free(p);
		return -ENOMEM;
	}
	/* The packs are read and checked here; compiled in the thread. */
	r = sx_engine_load_policy(g->config->policy_dir, g->policy->patrol_packs, SX_SEV_LOW, &p->rs, NULL,
				  &why);
	if (r < 0) {
		log_error("patrol: %s; fix the pack (`sentrix policy check %s`) and restart the gateway",
			  why ? why : strerror(-r), g->config->policy_dir);
		patrol_free(p);
		return r;
	}
	if ((r = db_open(g->log_dir, &p->db)) < 0) {
		patrol_free(p);
		return r;
	}
	/* A judge that cannot be used does not stop the patrol: it reviews
	 * without one, and /health says why. */
	r = sx_patrol_judge_open(g, &p->judge, &judge_why);
	if (r == -ENOMEM) {
		patrol_free(p);
		return r;
	}
	if (r < 0) {
		log_error(
		    "patrol: %s; reviewing without the judge until it is fixed and the gateway restarted",
		    judge_why ? judge_why : strerror(-r));
		free(g->last_error);
		g->last_error = sx_strdupf("patrol judge: %s", judge_why ? judge_why : strerror(-r));
	} else if (p->judge) {
		snprintf(p->judge_version, sizeof(p->judge_version), "%s", sx_judge_version(p->judge));
		p->threshold = sx_judge_threshold(p->judge);
		sx_judge_set_cancel(p->judge, &p->stop);
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
	if (p->judge)
		sx_police_set_judge(p->police, police_judge, p);
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
	(void)pthread_setname_np(p->thread, "sx-patrol");
	p->running = true;
	_cleanup_free_ char *packs = sx_strv_join(p->rs->packs, ", ");
	log_info("patrol: %zu rule(s) from pack(s) %s, ruleset %s, judge %s", p->rs->n_rules,
		 packs ? packs : "?", p->rs->version, p->judge_version);
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
	/* meta.rescan tells a running patrol to look at closed files again. */
	r = db_exec(
	    db,
	    "BEGIN;UPDATE files SET offset = 0, closed = 0;DELETE FROM reviews WHERE status != "
	    "'pending';INSERT INTO meta(key, value) VALUES('rescan', 1) ON CONFLICT(key) DO UPDATE SET "
	    "value = value + 1;COMMIT");
	sqlite3_close(db);
	return r;
}

const char *sx_patrol_error(const struct sx_patrol *p)
{
	return p && atomic_load(&((struct sx_patrol *)p)->broken) ? p->error : NULL;
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
