/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * police.c - the investigator (docs/patrol.md, "Police").
 *
 * The patrol appends flags to LOG_DIR/patrol_flags.jsonl; the police reads
 * that file from where it stopped (meta.flags_offset in police.db, moved in
 * the same transaction that queues what it read, so a crash neither loses
 * nor doubles a flag), queues the flags at or above the escalation level,
 * and works the queue most severe first.  An investigation gathers what
 * the logs say around the flagged record - the record's metadata, the run's
 * neighbouring calls and tool calls, the egress decisions of the same
 * minutes - into a case file, LOG_DIR/reports/CASE_ID.json, written
 * atomically and recorded in case_files in the transaction that marks the
 * flag done.  The case id is derived from the flag id, so redoing an
 * interrupted investigation overwrites the same report and row.
 *
 * A case file must never hold a secret whole: the flagged record's texts
 * (request, response, events, tool arguments) are never copied; what shows
 * of them is the flag's own excerpt and hits, redacted by the patrol.  A
 * metadata field a hit points into (its "where") is replaced too.
 *
 * Files are written with the gateway's umask (the unit's 0077) in mind:
 * police.db and the reports get 0640, reports/ 0750, so that members of
 * group sentrix can read them with `sentrix police`.  The report is not
 * written with sx_write_file_atomic(): that fchown()s, which the gateway
 * unit's seccomp filter (~@privileged) refuses.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../lib/capture_read.h"
#include "../lib/fileio.h"
#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/paths.h"
#include "../lib/strv.h"
#include "../lib/util.h"
#include "police.h"

#define FLAGS_FILE "patrol_flags.jsonl"
#define EGRESS_FILE "egress.jsonl"
#define DB_FILE "police.db"
#define REPORTS_DIR "reports"
#define CONTEXT_N 5 /* records before and after the flagged one */
#define WINDOW_MS (10 * 60 * 1000) /* tool calls and egress: +-10 minutes */
#define EGRESS_MAX 50
#define TOOL_CALLS_MAX 200
#define INGEST_CHUNK (8u << 20) /* bytes of the flags file read at a time */
#define STR_MAX 256 /* characters kept of a metadata string */
#define ERROR_MAX 512 /* of the flagged record's error */
#define REDACTED "[redacted: see hits]"
#define BUSY_MS 10000

struct sx_police {
	sqlite3 *db;
	char *log_dir, *flags_path;
	int reports_fd;
	enum sx_escalation level;
	sx_police_judge_fn judge;
	void *judge_data;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE IF NOT EXISTS queue(flag_id TEXT PRIMARY KEY, severity INTEGER NOT NULL,"
    " enqueued_at INTEGER NOT NULL, state TEXT NOT NULL CHECK(state IN ('queued','done')),"
    " attempts INTEGER NOT NULL DEFAULT 0, next_try INTEGER, last_error TEXT, flag TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS case_files(case_id TEXT PRIMARY KEY, flag_id TEXT NOT NULL,"
    " severity TEXT NOT NULL, created_at INTEGER NOT NULL, report_path TEXT NOT NULL,"
    " summary TEXT NOT NULL, json TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS investigated_flags(flag_id TEXT PRIMARY KEY, case_id TEXT NOT NULL,"
    " how TEXT NOT NULL CHECK(how IN ('auto','manual')), at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS queue_order ON queue(state, severity DESC, enqueued_at, flag_id);";

static void finalizep(sqlite3_stmt **s)
{
	sqlite3_finalize(*s);
}
#define _cleanup_stmt_ _cleanup_(finalizep)

static void cjson_freep(char **s)
{
	cJSON_free(*s);
}
#define _cleanup_cjson_str_ _cleanup_(cjson_freep)

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" of ms since the epoch. */
static void fmt_iso(int64_t ms, char out[40])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(out, 40, "?");
		return;
	}
	snprintf(out + 19, 21, ".%03dZ", (int)(ms % 1000));
}

/* Logs the database's last error about what; returns -EIO. */
static int db_error(struct sx_police *p, const char *what)
{
	log_error("police: %s: %s", what, sqlite3_errmsg(p->db));
	return -EIO;
}

static int exec_sql(struct sx_police *p, const char *sql)
{
	return sqlite3_exec(p->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : db_error(p, sql);
}

static int prepare(struct sx_police *p, const char *sql, sqlite3_stmt **st)
{
	return sqlite3_prepare_v2(p->db, sql, -1, st, NULL) == SQLITE_OK ? 0 : db_error(p, "prepare");
}

static const char *const severity_names[] = {NULL, "LOW", "MEDIUM", "HIGH", "CRITICAL"};

/* 1 LOW, 2 MEDIUM, 3 HIGH, 4 CRITICAL; 0 for anything else. */
static int severity_rank(const char *s)
{
	for (int i = 1; i < (int)ELEMENTSOF(severity_names); i++)
		if (streq(s, severity_names[i]))
			return i;
	return 0;
}

int sx_escalation_from_name(const char *s, enum sx_escalation *ret)
{
	if (streq(s, "low_above"))
		*ret = SX_ESCALATE_LOW_ABOVE;
	else if (streq(s, "medium_above"))
		*ret = SX_ESCALATE_MEDIUM_ABOVE;
	else if (streq(s, "high_only"))
		*ret = SX_ESCALATE_HIGH_ONLY;
	else
		return -EINVAL;
	return 0;
}

/* The least severity rank the level queues. */
static int level_min_rank(enum sx_escalation level)
{
	return level == SX_ESCALATE_LOW_ABOVE ? 1 : level == SX_ESCALATE_MEDIUM_ABOVE ? 2 : 3;
}

/* "f-" and 16 lower-case hex digits. */
static bool flag_id_valid(const char *s)
{
	if (!s || strncmp(s, "f-", 2) != 0 || strlen(s) != 18)
		return false;
	for (size_t i = 2; i < 18; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return false;
	return true;
}

/* Opens (creating 0750) LOG_DIR/reports; returns its descriptor. */
static int open_reports(const char *log_dir)
{
	_cleanup_free_ char *path = sx_strdupf("%s/" REPORTS_DIR, log_dir);
	int fd;

	if (!path)
		return -ENOMEM;
	if (mkdir(path, 0750) == 0)
		(void)chmod(path, 0750); /* past the umask */
	else if (errno != EEXIST)
		return log_error_errno(-errno, "police: cannot create %s", path);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return log_error_errno(-errno, "police: cannot open %s", path);
	return fd;
}

int sx_police_open(const char *log_dir, enum sx_escalation level, struct sx_police **ret)
{
	_cleanup_free_ char *db_path = sx_strdupf("%s/" DB_FILE, log_dir);
	struct sx_police *p;
	int r;

	if (!db_path)
		return -ENOMEM;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->reports_fd = -EBADF;
	p->level = level;
	p->log_dir = strdup(log_dir);
	p->flags_path = sx_strdupf("%s/" FLAGS_FILE, log_dir);
	if (!p->log_dir || !p->flags_path) {
		r = -ENOMEM;
		goto fail;
	}
	if ((r = sx_precreate_mode(db_path, 0640)) < 0) {
		log_error_errno(r, "police: cannot create %s%s", db_path,
				r == -EACCES ? " (run as root or the gateway user " SX_GATEWAY_USER ")" : "");
		goto fail;
	}
	if (sqlite3_open_v2(db_path, &p->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		r = p->db ? db_error(p, db_path) : -ENOMEM;
		goto fail;
	}
	sqlite3_busy_timeout(p->db, BUSY_MS);
	if ((r = exec_sql(p, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")) < 0 ||
	    (r = exec_sql(p, schema)) < 0)
		goto fail;
	if ((r = open_reports(log_dir)) < 0)
		goto fail;
	p->reports_fd = r;
	*ret = p;
	return 0;
fail:
	sx_police_close(p);
	return r;
}

void sx_police_close(struct sx_police *p)
{
	if (!p)
		return;
	sqlite3_close(p->db);
	safe_close(p->reports_fd);
	free(p->log_dir);
	free(p->flags_path);
	free(p);
}

void sx_police_set_judge(struct sx_police *p, sx_police_judge_fn fn, void *userdata)
{
	p->judge = fn;
	p->judge_data = userdata;
}

unsigned sx_police_queue_depth(struct sx_police *p)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	if (prepare(p, "SELECT count(*) FROM queue WHERE state = 'queued'", &st) < 0 ||
	    sqlite3_step(st) != SQLITE_ROW)
		return 0;
	return (unsigned)sqlite3_column_int64(st, 0);
}

/* ---- ingest --------------------------------------------------------------- */

static int get_offset(struct sx_police *p, uint64_t *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	if ((r = prepare(p, "SELECT value FROM meta WHERE key = 'flags_offset'", &st)) < 0)
		return r;
	*ret = 0;
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		*ret = (uint64_t)sqlite3_column_int64(st, 0);
	else if (r != SQLITE_DONE)
		return db_error(p, "reading flags_offset");
	return 0;
}

static int set_offset(struct sx_police *p, uint64_t off)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	if ((r = prepare(p, "INSERT OR REPLACE INTO meta(key, value) VALUES('flags_offset', ?1)", &st)) < 0)
		return r;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)off);
	return sqlite3_step(st) == SQLITE_DONE ? 0 : db_error(p, "writing flags_offset");
}

/* Queues one flag line if its severity reaches the level.  Returns 1 when
 * queued, 0 when not (below the level, already queued, unreadable), or a
 * negative errno on a database error. */
static int ingest_line(struct sx_police *p, sqlite3_stmt *ins, const char *line, size_t len, int64_t now,
		       unsigned *bad)
{
	_cleanup_cjson_ cJSON *j = cJSON_ParseWithLength(line, len);
	const char *id = sx_json_str(j, "flag_id");
	int rank = severity_rank(sx_json_str(j, "consensus_severity"));

	if (!cJSON_IsObject(j) || !flag_id_valid(id) || rank < 1 || rank > 3) {
		(*bad)++;
		return 0;
	}
	if (rank < level_min_rank(p->level))
		return 0;
	sqlite3_reset(ins);
	sqlite3_bind_text(ins, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(ins, 2, rank);
	sqlite3_bind_int64(ins, 3, now);
	sqlite3_bind_text(ins, 4, line, (int)len, SQLITE_TRANSIENT);
	if (sqlite3_step(ins) != SQLITE_DONE)
		return db_error(p, "queueing a flag");
	return sqlite3_changes(p->db) > 0;
}

/* Queues the complete lines of buf[0..len) (read at offset off) and moves
 * the offset past them, in one transaction.  Returns the number queued. */
static int ingest_lines(struct sx_police *p, const char *buf, size_t len, uint64_t off)
{
	_cleanup_stmt_ sqlite3_stmt *ins = NULL;
	int64_t now = now_ms();
	unsigned bad = 0;
	int n = 0, r;

	if ((r = exec_sql(p, "BEGIN IMMEDIATE")) < 0)
		return r;
	r = prepare(p,
		    "INSERT OR IGNORE INTO queue(flag_id, severity, enqueued_at, state, flag)"
		    " VALUES(?1, ?2, ?3, 'queued', ?4)",
		    &ins);
	for (size_t i = 0; r >= 0 && i < len;) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t l = (size_t)(nl - (buf + i));

		if (l > 0 && (r = ingest_line(p, ins, buf + i, l, now, &bad)) > 0)
			n++;
		i += l + 1;
	}
	if (r >= 0)
		r = set_offset(p, off + len);
	if (r < 0) {
		(void)sqlite3_exec(p->db, "ROLLBACK", NULL, NULL, NULL);
		return r;
	}
	if ((r = exec_sql(p, "COMMIT")) < 0)
		return r;
	if (bad)
		log_warn("police: skipped %u unreadable line(s) of %s", bad, p->flags_path);
	return n;
}

int sx_police_ingest(struct sx_police *p)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	uint64_t off;
	struct stat st;
	int total = 0, r;

	if ((r = get_offset(p, &off)) < 0)
		return r;
	fd = open(p->flags_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : log_error_errno(-errno, "police: cannot open %s", p->flags_path);
	if (fstat(fd, &st) < 0)
		return log_error_errno(-errno, "police: cannot stat %s", p->flags_path);
	if ((uint64_t)st.st_size < off) {
		log_warn("police: %s is shorter than what was read of it (%llu bytes); reading it again "
			 "from the start",
			 p->flags_path, (unsigned long long)off);
		off = 0;
	}
	if (off < (uint64_t)st.st_size &&
	    !(buf = malloc((size_t)MIN((uint64_t)INGEST_CHUNK, (uint64_t)st.st_size - off))))
		return -ENOMEM;
	while (off < (uint64_t)st.st_size) {
		size_t want = (size_t)MIN((uint64_t)INGEST_CHUNK, (uint64_t)st.st_size - off), got = 0;
		const char *last;

		while (got < want) {
			ssize_t k = pread(fd, buf + got, want - got, (off_t)(off + got));
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				return log_error_errno(-errno, "police: cannot read %s", p->flags_path);
			if (k == 0)
				break;
			got += (size_t)k;
		}
		last = got ? memrchr(buf, '\n', got) : NULL;
		if (!last) {
			if (got < INGEST_CHUNK)
				break; /* a line being written: later */
			log_warn("police: a line of %s at byte %llu is longer than %u bytes; skipping it",
				 p->flags_path, (unsigned long long)off, INGEST_CHUNK);
			last = buf + got - 1;
		}
		r = ingest_lines(p, buf, (size_t)(last - buf) + 1, off);
		if (r < 0)
			return r;
		total += r;
		off += (uint64_t)(last - buf) + 1;
	}
	return total;
}

/* ---- finding things in the logs --------------------------------------------- */

/* Copies s, cut to max bytes (at a character boundary) with a marker. */
static cJSON *cut_string(const char *s, size_t max)
{
	size_t len = strlen(s), keep = max;
	_cleanup_free_ char *t = NULL;

	if (len <= max)
		return cJSON_CreateString(s);
	while (keep > 0 && ((unsigned char)s[keep] & 0xC0) == 0x80)
		keep--;
	t = sx_strdupf("%.*s…[cut %zu bytes]", (int)keep, s, len - keep);
	return t ? cJSON_CreateString(t) : NULL;
}

/* True when JSON path a is b or inside it ("request.messages[1]" is inside
 * "request"). */
static bool path_within(const char *a, const char *b)
{
	size_t n = strlen(b);

	return strncmp(a, b, n) == 0 && (a[n] == 0 || a[n] == '.' || a[n] == '[');
}

/* True when a hit of the flag points into the member at path (or at one of
 * its parents): that member may hold the sensitive value. */
static bool hit_at(const cJSON *hits, const char *path)
{
	const cJSON *h;

	cJSON_ArrayForEach(h, hits)
	{
		const char *w = sx_json_str(h, "where");

		if (!w || !*w)
			continue;
		if (w[0] == '$')
			w += w[1] == '.' ? 2 : 1;
		if (*w && (path_within(w, path) || path_within(path, w)))
			return true;
	}
	return false;
}

/* The names of the record's own tool calls (message.tool_calls), never
 * their arguments; a name a hit points at is redacted. */
static cJSON *tool_names(const cJSON *rec, const cJSON *hits)
{
	const cJSON *calls = sx_json_get_path(rec, "message.tool_calls"), *tc;
	cJSON *a = cJSON_CreateArray();
	int i = 0;

	cJSON_ArrayForEach(tc, calls)
	{
		char path[64];
		const char *name = sx_json_str(tc, "name");

		snprintf(path, sizeof(path), "message.tool_calls[%d].name", i++);
		if (hits && hit_at(hits, path))
			cJSON_AddItemToArray(a, cJSON_CreateString(REDACTED));
		else
			cJSON_AddItemToArray(a, name ? cut_string(name, STR_MAX) : cJSON_CreateNull());
	}
	return a;
}

/* Only the numbers (and nulls) of a gateway-made object such as
 * latency_ms or bytes. */
static cJSON *numbers_of(const cJSON *o)
{
	cJSON *c = cJSON_CreateObject();
	const cJSON *m;

	cJSON_ArrayForEach(m, o) if (cJSON_IsNumber(m) || cJSON_IsNull(m))
	    cJSON_AddItemToObject(c, m->string, cJSON_Duplicate(m, false));
	return c;
}

/* A record's metadata and tool call names: never its texts.  hits: the
 * flag's, for the flagged record (members they point into are redacted);
 * NULL for its neighbours. */
static cJSON *record_meta(const cJSON *rec, const cJSON *hits)
{
	static const char *const keys[] = {"timestamp", "id",	  "run_id",  "provider", "model",
					   "endpoint",	"method", "stream",  "status",	 "latency_ms",
					   "bytes",	"error",  "complete"};
	cJSON *m = cJSON_CreateObject();

	for (size_t i = 0; m && i < ELEMENTSOF(keys); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, keys[i]);
		cJSON *c;

		if (!v)
			continue;
		if (hits && hit_at(hits, keys[i]))
			c = cJSON_CreateString(REDACTED);
		else if (cJSON_IsString(v) && streq(keys[i], "endpoint")) {
			/* The query may carry a key (?key=...): the path only. */
			_cleanup_free_ char *path = strndup(v->valuestring, strcspn(v->valuestring, "?#"));
			_cleanup_free_ char *shown =
			    path && v->valuestring[strlen(path)] ? sx_strdupf("%s?…", path) : NULL;
			c = path ? cut_string(shown ? shown : path, STR_MAX) : NULL;
		} else if (cJSON_IsString(v))
			c = cut_string(v->valuestring, streq(keys[i], "error") && hits ? ERROR_MAX : STR_MAX);
		else if (cJSON_IsObject(v))
			c = numbers_of(v);
		else if (cJSON_IsArray(v))
			c = cJSON_CreateNull();
		else
			c = cJSON_Duplicate(v, false);
		cJSON_AddItemToObject(m, keys[i], c);
	}
	cJSON_AddItemToObject(m, "tool_calls", tool_names(rec, hits));
	return m;
}

/* What the flag says about where its record is. */
struct target {
	const char *source_file, *record_id;
	char *run_id; /* NULL: none ("-") */
	int64_t ms; /* the record's time; -1: unknown */
};

/* Splits run_id_ts ("RUN@TIMESTAMP", RUN "-" for none) into t. */
static int parse_target(const cJSON *flag, struct target *t)
{
	const char *rt = sx_json_str(flag, "run_id_ts"), *at = rt ? strrchr(rt, '@') : NULL;

	*t = (struct target){.source_file = sx_json_str(flag, "source_file"),
			     .record_id = sx_json_str(flag, "record_id"),
			     .ms = -1};
	if (!at)
		return 0;
	if (sx_parse_utc_time(at + 1, &t->ms) < 0)
		t->ms = -1;
	if (at - rt == 1 && rt[0] == '-')
		return 0;
	t->run_id = strndup(rt, (size_t)(at - rt));
	return t->run_id ? 0 : -ENOMEM;
}

/* A capture file name as the gateway writes it: no directories, no dots
 * in front (the flag line names it; it must not lead out of LOG_DIR). */
static bool capture_name_ok(const char *s)
{
	return s && strncmp(s, SX_CAPTURE_PREFIX, strlen(SX_CAPTURE_PREFIX)) == 0 && !strchr(s, '/');
}

/* What the scan of the capture files gathers. */
struct gathered {
	cJSON *record; /* the flagged record's metadata, NULL: not found */
	cJSON *before, *after; /* up to CONTEXT_N each */
	cJSON *tools; /* {timestamp, record_id, name, ms} candidates */
	size_t n_tools;
};

/* Looks at one record of the scan: the flagged one, a neighbour in the
 * same run, or neither.  Returns 1 when the scan can stop. */
static int gather_record(struct gathered *g, struct target *t, const cJSON *flag, const cJSON *rec,
			 bool in_source)
{
	const char *id = sx_json_str(rec, "id"), *run = sx_json_str(rec, "run_id");
	const cJSON *tc;
	bool is_target = in_source && !g->record && streq(id, t->record_id);
	int64_t ms = -1;

	if (t->run_id ? !streq(run, t->run_id) : !in_source)
		return 0;
	if (sx_capture_record_time(rec, &ms) < 0)
		ms = -1;
	if (is_target) {
		g->record = record_meta(rec, cJSON_GetObjectItemCaseSensitive(flag, "hits"));
		if (!g->record)
			return -ENOMEM;
		if (t->ms < 0) /* run_id_ts had no time: the record's */
			t->ms = ms;
	} else if (!g->record) {
		cJSON_AddItemToArray(g->before, record_meta(rec, NULL));
		if (cJSON_GetArraySize(g->before) > CONTEXT_N)
			cJSON_DeleteItemFromArray(g->before, 0);
	} else if (cJSON_GetArraySize(g->after) < CONTEXT_N)
		cJSON_AddItemToArray(g->after, record_meta(rec, NULL));
	else if (t->ms >= 0 && ms > t->ms + WINDOW_MS)
		return 1;
	if (ms < 0 || (t->ms >= 0 && (ms < t->ms - WINDOW_MS || ms > t->ms + WINDOW_MS)))
		return 0;
	_cleanup_cjson_ cJSON *names = tool_names(rec, is_target ? sx_json_get_path(flag, "hits") : NULL);
	cJSON_ArrayForEach(tc, names)
	{
		cJSON *o;

		if (g->n_tools >= TOOL_CALLS_MAX * 4)
			break;
		o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "timestamp",
				      cJSON_Duplicate(cJSON_GetObjectItem(rec, "timestamp"), 0));
		cJSON_AddItemToObject(o, "record_id", id ? cut_string(id, STR_MAX) : cJSON_CreateNull());
		cJSON_AddItemToObject(o, "name", cJSON_Duplicate(tc, false));
		cJSON_AddNumberToObject(o, "ms", (double)ms);
		cJSON_AddItemToArray(g->tools, o);
		g->n_tools++;
	}
	return 0;
}

/* Reads one capture file for gather_record().  A missing file is no error
 * (rotated away); returns 1 when the scan can stop. */
static int gather_file(struct sx_police *p, struct gathered *g, struct target *t, const cJSON *flag,
		       const char *name)
{
	_cleanup_capture_ struct sx_capture_reader *r = NULL;
	_cleanup_free_ char *path = sx_strdupf("%s/%s", p->log_dir, name);
	bool in_source = streq(name, t->source_file);
	cJSON *rec = NULL;
	int k, stop = 0;

	if (!path)
		return -ENOMEM;
	k = sx_capture_open(path, 0, &r);
	if (k < 0)
		return k == -ENOENT ? 0 : log_error_errno(k, "police: cannot read %s", path);
	while (!stop && (k = sx_capture_next(r, &rec, NULL)) > 0) {
		stop = gather_record(g, t, flag, rec, in_source);
		cJSON_Delete(rec);
	}
	if (k < 0)
		return log_error_errno(k, "police: cannot read %s", path);
	return stop;
}

/* Scans the flag's capture file and the ones just before and after it
 * (a run spans rotations). */
static int gather(struct sx_police *p, struct target *t, const cJSON *flag, struct gathered *g)
{
	char **files = NULL;
	int n, r = 0, at = -1;

	if (!(g->before = cJSON_CreateArray()) || !(g->after = cJSON_CreateArray()) ||
	    !(g->tools = cJSON_CreateArray()))
		return -ENOMEM;
	if (!capture_name_ok(t->source_file))
		return 0;
	n = sx_capture_list(p->log_dir, &files);
	if (n < 0)
		return log_error_errno(n, "police: cannot list %s", p->log_dir);
	for (int i = 0; i < n; i++)
		if (streq(files[i], t->source_file))
			at = i;
	for (int i = MAX(at - 1, 0); at >= 0 && i <= MIN(at + 1, n - 1); i++)
		if ((r = gather_file(p, g, t, flag, files[i])) != 0)
			break;
	sx_strv_free(files);
	return r < 0 ? r : 0;
}

/* The run's tool calls within WINDOW_MS of the record, at most
 * TOOL_CALLS_MAX (the nearest in time). */
static cJSON *tool_calls_near(cJSON *cands, int64_t ms)
{
	cJSON *out = cJSON_CreateArray(), *c;

	cJSON_ArrayForEach(c, cands)
	{
		int64_t t = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(c, "ms"));

		if (ms >= 0 && (t < ms - WINDOW_MS || t > ms + WINDOW_MS))
			continue;
		if (cJSON_GetArraySize(out) >= TOOL_CALLS_MAX)
			break;
		cJSON *o = cJSON_Duplicate(c, true);
		cJSON_DeleteItemFromObject(o, "ms");
		cJSON_AddItemToArray(out, o);
	}
	return out;
}

/* Lines of LOG_DIR/egress.jsonl within WINDOW_MS of ms: refusals first,
 * at most EGRESS_MAX. */
static cJSON *egress_near(struct sx_police *p, int64_t ms)
{
	_cleanup_free_ char *path = sx_strdupf("%s/" EGRESS_FILE, p->log_dir), *line = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_cjson_ cJSON *others = cJSON_CreateArray();
	cJSON *out = cJSON_CreateArray(), *e;
	size_t cap = 0;

	if (!path || !out || !others || ms < 0 || !(f = fopen(path, "re")))
		return out;
	while (getline(&line, &cap, f) > 0) {
		cJSON *j;
		int64_t t;
		bool refused;

		if (cJSON_GetArraySize(out) >= EGRESS_MAX)
			break;
		j = cJSON_Parse(line);
		if (!cJSON_IsObject(j) || sx_parse_utc_time(sx_json_str(j, "time") ?: "", &t) < 0 ||
		    t < ms - WINDOW_MS || t > ms + WINDOW_MS) {
			cJSON_Delete(j);
			continue;
		}
		refused = !streq(sx_json_str(j, "decision"), "allowed");
		if (refused)
			cJSON_AddItemToArray(out, j);
		else if (cJSON_GetArraySize(others) < EGRESS_MAX)
			cJSON_AddItemToArray(others, j);
		else
			cJSON_Delete(j);
	}
	while (cJSON_GetArraySize(out) < EGRESS_MAX && (e = cJSON_DetachItemFromArray(others, 0)))
		cJSON_AddItemToArray(out, e);
	return out;
}

/* ---- the case ----------------------------------------------------------------- */

/* The flag's rules with their category and severity (from its hits), how
 * often each hit and where. */
static cJSON *rules_of(const cJSON *flag)
{
	const cJSON *ids = cJSON_GetObjectItemCaseSensitive(flag, "rule_ids"),
		    *hits = cJSON_GetObjectItem(flag, "hits");
	const cJSON *id, *h;
	cJSON *out = cJSON_CreateArray();

	cJSON_ArrayForEach(id, ids)
	{
		cJSON *r, *where;
		int count = 0;

		if (!cJSON_IsString(id))
			continue;
		r = cJSON_CreateObject();
		where = cJSON_CreateArray();
		cJSON_AddStringToObject(r, "rule_id", id->valuestring);
		cJSON_ArrayForEach(h, hits)
		{
			const char *w = sx_json_str(h, "where");

			if (!streq(sx_json_str(h, "rule_id"), id->valuestring))
				continue;
			if (count++ == 0) {
				cJSON_AddItemToObject(r, "category",
						      cJSON_Duplicate(cJSON_GetObjectItem(h, "category"), 0));
				cJSON_AddItemToObject(r, "severity",
						      cJSON_Duplicate(cJSON_GetObjectItem(h, "severity"), 0));
			}
			if (w && cJSON_GetArraySize(where) < 10)
				cJSON_AddItemToArray(where, cJSON_CreateString(w));
		}
		cJSON_AddNumberToObject(r, "hits", count);
		cJSON_AddItemToObject(r, "where", where);
		cJSON_AddItemToArray(out, r);
	}
	return out;
}

static bool has_category(const cJSON *flag, const char *cat)
{
	const cJSON *c;

	cJSON_ArrayForEach(
	    c, cJSON_GetObjectItem(flag, "categories")) if (streq(cJSON_GetStringValue(c), cat)) return true;
	return false;
}

/* The case's severity: the flag's, CRITICAL when a HIGH flag hit two
 * categories or more (a secret next to an unsafe tool call among them). */
static const char *case_severity(const cJSON *flag)
{
	int rank = severity_rank(sx_json_str(flag, "consensus_severity"));

	if (rank == 3 &&
	    (cJSON_GetArraySize(cJSON_GetObjectItem(flag, "categories")) >= 2 ||
	     (has_category(flag, "secret") && has_category(flag, "unsafe_tool"))))
		rank = 4;
	return severity_names[rank >= 1 && rank <= 4 ? rank : 1];
}

/* The redacted values of the flag's hits of category cat, comma-joined,
 * at most 3 (caller frees). */
static char *hit_values(const cJSON *flag, const char *cat)
{
	_cleanup_(sx_strv_freep) char **v = calloc(1, sizeof(char *));
	const cJSON *h;

	if (!v)
		return NULL;
	cJSON_ArrayForEach(h, cJSON_GetObjectItem(flag, "hits"))
	{
		const char *val = sx_json_str(h, "value");
		if (streq(sx_json_str(h, "category"), cat) && val && !sx_strv_contains(v, val) &&
		    sx_strv_length(v) < 3 && sx_strv_push(&v, val) < 0)
			return NULL;
	}
	return sx_strv_join(v, ", ");
}

/* The deterministic recommended action: one sentence per category. */
static char *default_action(const cJSON *flag, const struct target *t)
{
	_cleanup_free_ char *buf = NULL;
	const char *run = t->run_id ? t->run_id : "(no run id)";
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return NULL;
	if (has_category(flag, "secret")) {
		_cleanup_free_ char *vals = hit_values(flag, "secret");
		fprintf(m,
			"Rotate the exposed credential (%s) at its issuer, revoke the old one, and review "
			"run %s for how it reached the model. ",
			vals && *vals ? vals : "see hits", run);
	}
	if (has_category(flag, "pii")) {
		_cleanup_free_ char *vals = hit_values(flag, "pii");
		fprintf(m,
			"Check whose personal data (%s) was sent to the provider and whether it may be; "
			"purge copies and tell the data owner if it may not. ",
			vals && *vals ? vals : "see hits");
	}
	if (has_category(flag, "unsafe_tool"))
		fprintf(m,
			"Review the tool calls of run %s and what they did on the sandbox; tighten the "
			"policy's exec settings (tools.exec.security) if the agent should not run them. ",
			run);
	if (has_category(flag, "injection"))
		fprintf(m,
			"Treat the run's inputs as hostile: find which content carried the injected "
			"instructions and check what the agent did after it (tool calls, egress). ");
	if (has_category(flag, "harm"))
		fprintf(m,
			"Review the conversation for harmful content and stop run %s if it is still going. ",
			run);
	if (ftell(m) == 0)
		fputs("Review the flagged call and its run. ", m);
	if (fclose(m) != 0 || !buf)
		return NULL;
	if (len > 0 && buf[len - 1] == ' ')
		buf[len - 1] = 0;
	return TAKE_PTR(buf);
}

/* The deterministic summary: one paragraph from the flag and the record. */
static char *default_summary(const cJSON *flag, const struct target *t, const char *severity,
			     const cJSON *record)
{
	_cleanup_free_ char *buf = NULL;
	const cJSON *c, *hits = cJSON_GetObjectItem(flag, "hits");
	const char *ref = sx_json_str(flag, "referral_summary");
	size_t len = 0;
	bool first = true;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return NULL;
	fprintf(m, "%s: patrol flag %s found ", severity, sx_json_str(flag, "flag_id") ?: "?");
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(flag, "categories"))
	{
		fprintf(m, "%s%s", first ? "" : ", ", cJSON_GetStringValue(c) ?: "?");
		first = false;
	}
	if (first)
		fputs("something", m);
	fprintf(m, " (%d hit%s; rules ", cJSON_GetArraySize(hits), cJSON_GetArraySize(hits) == 1 ? "" : "s");
	first = true;
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(flag, "rule_ids"))
	{
		fprintf(m, "%s%s", first ? "" : ", ", cJSON_GetStringValue(c) ?: "?");
		first = false;
	}
	fprintf(m, ") in record %s of %s", t->record_id ?: "?", t->source_file ?: "?");
	if (record)
		fprintf(m, " (%s/%s, %s)", sx_json_str(record, "provider") ?: "?",
			sx_json_str(record, "model") ?: "?", sx_json_str(record, "timestamp") ?: "?");
	else
		fputs(" (record not found in the capture files)", m);
	fprintf(m, ", run %s.", t->run_id ? t->run_id : "none");
	if (ref && *ref)
		fprintf(m, " %s", ref);
	if (fclose(m) != 0 || !buf)
		return NULL;
	return TAKE_PTR(buf);
}

/* created_at of an earlier case of this id (a redo keeps it), else now. */
static int64_t case_created_at(struct sx_police *p, const char *case_id)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	if (prepare(p, "SELECT created_at FROM case_files WHERE case_id = ?1", &st) < 0)
		return now_ms();
	sqlite3_bind_text(st, 1, case_id, -1, SQLITE_STATIC);
	return sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : now_ms();
}

/* What an investigation produces. */
struct verdict {
	char *summary, *action, *severity;
};

static void verdict_clear(struct verdict *v)
{
	free(v->summary);
	free(v->action);
	free(v->severity);
	*v = (struct verdict){0};
}

/* The case document for flag (everything but the verdict, which
 * finish_case() adds).  Returns NULL when out of memory or on a read
 * error (logged). */
static cJSON *build_case(struct sx_police *p, const char *case_id, const cJSON *flag, struct target *t,
			 bool manual, int *err)
{
	struct gathered g = {0};
	_cleanup_cjson_ cJSON *c = cJSON_CreateObject();
	char created[40];
	int r;

	*err = -ENOMEM;
	if (!c)
		return NULL;
	r = gather(p, t, flag, &g);
	fmt_iso(case_created_at(p, case_id), created);
	cJSON_AddStringToObject(c, "case_id", case_id);
	cJSON_AddStringToObject(c, "flag_id", sx_json_str(flag, "flag_id"));
	cJSON_AddStringToObject(c, "severity", case_severity(flag));
	cJSON_AddStringToObject(c, "created_at", created);
	cJSON_AddStringToObject(c, "investigated", manual ? "manual" : "auto");
	cJSON_AddItemToObject(c, "flag", cJSON_Duplicate(flag, true));
	if (g.record) {
		const cJSON *v;
		/* The record's texts as the patrol showed them: redacted. */
		if ((v = cJSON_GetObjectItem(flag, "excerpt")))
			cJSON_AddItemToObject(g.record, "excerpt", cJSON_Duplicate(v, true));
		if ((v = cJSON_GetObjectItem(flag, "hits")))
			cJSON_AddItemToObject(g.record, "hits", cJSON_Duplicate(v, true));
		cJSON_AddItemToObject(c, "record", TAKE_PTR(g.record));
	} else
		cJSON_AddNullToObject(c, "record");
	cJSON *ctx = cJSON_AddObjectToObject(c, "context");
	cJSON_AddItemToObject(ctx, "before", TAKE_PTR(g.before));
	cJSON_AddItemToObject(ctx, "after", TAKE_PTR(g.after));
	cJSON_AddItemToObject(c, "tool_calls", tool_calls_near(g.tools, t->ms));
	cJSON_Delete(g.tools);
	cJSON_AddItemToObject(c, "egress", egress_near(p, t->ms));
	cJSON_AddItemToObject(c, "rules", rules_of(flag));
	if (r < 0) {
		*err = r;
		return NULL;
	}
	*err = 0;
	return TAKE_PTR(c);
}

/* The verdict: the judge's, else the deterministic one.  *why (malloc'd)
 * says what failed. */
static int judge_case(struct sx_police *p, cJSON *c, const cJSON *flag, const struct target *t,
		      struct verdict *v, char **why)
{
	const char *sev = sx_json_str(c, "severity");
	int r;

	if (!(v->severity = strdup(sev)) ||
	    !(v->summary = default_summary(flag, t, sev, cJSON_GetObjectItem(c, "record"))) ||
	    !(v->action = default_action(flag, t)))
		return -ENOMEM;
	if (!p->judge)
		return 0;
	_cleanup_cjson_str_ char *text = cJSON_PrintUnformatted(c);
	char *summary = NULL, *action = NULL, *severity = NULL;

	if (!text)
		return -ENOMEM;
	r = p->judge(p->judge_data, text, &summary, &action, &severity);
	if (r < 0) {
		free(summary);
		free(action);
		free(severity);
		*why = sx_strdupf("judge: %s", strerror(-r));
		return r;
	}
	if (summary && *summary)
		free(v->summary), v->summary = TAKE_PTR(summary);
	if (action && *action)
		free(v->action), v->action = TAKE_PTR(action);
	if (severity && severity_rank(severity) > 0)
		free(v->severity), v->severity = TAKE_PTR(severity);
	free(summary);
	free(action);
	free(severity);
	return 0;
}

/* Writes reports/NAME atomically: NAME.sx-tmp.PID, 0640, fsync, rename,
 * fsync of the directory. */
static int write_report(struct sx_police *p, const char *name, const char *text)
{
	_cleanup_free_ char *tmp = sx_strdupf("%s" SX_TMP_INFIX "%d", name, (int)getpid());
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (!tmp)
		return -ENOMEM;
	(void)unlinkat(p->reports_fd, tmp, 0);
	fd = openat(p->reports_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	r = sx_write_all(fd, text, strlen(text));
	if (r == 0 && fchmod(fd, 0640) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && renameat(p->reports_fd, tmp, p->reports_fd, name) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlinkat(p->reports_fd, tmp, 0);
		return r;
	}
	(void)fsync(p->reports_fd);
	return 0;
}

/* Records the case: case_files, investigated_flags and the queue row
 * (done; created when the flag was never queued, so a later ingest does
 * not investigate it again), in one transaction. */
static int store_case(struct sx_police *p, const char *case_id, const char *flag_id, const char *flag_text,
		      const char *severity, int64_t created, const char *report_path, const char *summary,
		      const char *json, bool manual)
{
	_cleanup_stmt_ sqlite3_stmt *a = NULL, *b = NULL, *c = NULL;
	int64_t now = now_ms();
	int r, rank = MIN(MAX(severity_rank(severity), 1), 3);

	if ((r = exec_sql(p, "BEGIN IMMEDIATE")) < 0)
		return r;
	if ((r = prepare(p, "INSERT OR REPLACE INTO case_files VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)", &a)) <
		0 ||
	    (r = prepare(p, "INSERT OR REPLACE INTO investigated_flags VALUES(?1, ?2, ?3, ?4)", &b)) < 0 ||
	    (r = prepare(p,
			 "INSERT INTO queue(flag_id, severity, enqueued_at, state, flag)"
			 " VALUES(?1, ?2, ?3, 'done', ?4) ON CONFLICT(flag_id) DO UPDATE SET"
			 " state = 'done', next_try = NULL, last_error = NULL",
			 &c)) < 0)
		goto fail;
	sqlite3_bind_text(a, 1, case_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(a, 2, flag_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(a, 3, severity, -1, SQLITE_STATIC);
	sqlite3_bind_int64(a, 4, created);
	sqlite3_bind_text(a, 5, report_path, -1, SQLITE_STATIC);
	sqlite3_bind_text(a, 6, summary, -1, SQLITE_STATIC);
	sqlite3_bind_text(a, 7, json, -1, SQLITE_STATIC);
	sqlite3_bind_text(b, 1, flag_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(b, 2, case_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(b, 3, manual ? "manual" : "auto", -1, SQLITE_STATIC);
	sqlite3_bind_int64(b, 4, now);
	sqlite3_bind_text(c, 1, flag_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(c, 2, rank);
	sqlite3_bind_int64(c, 3, now);
	sqlite3_bind_text(c, 4, flag_text, -1, SQLITE_STATIC);
	if (sqlite3_step(a) != SQLITE_DONE || sqlite3_step(b) != SQLITE_DONE ||
	    sqlite3_step(c) != SQLITE_DONE) {
		r = db_error(p, "recording a case");
		goto fail;
	}
	return exec_sql(p, "COMMIT");
fail:
	(void)sqlite3_exec(p->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

/* Investigates the flag whose line is flag_text.  Returns 0 with the case
 * id in *ret_case_id, or a negative errno with *why (malloc'd, may stay
 * NULL) for the queue's last_error. */
static int investigate(struct sx_police *p, const char *flag_text, bool manual, char **ret_case_id,
		       char **why)
{
	_cleanup_cjson_ cJSON *flag = cJSON_Parse(flag_text), *c = NULL;
	_cleanup_free_ char *case_id = NULL, *name = NULL, *report_path = NULL;
	_cleanup_cjson_str_ char *json = NULL;
	_cleanup_(verdict_clear) struct verdict v = {0};
	const char *flag_id = sx_json_str(flag, "flag_id");
	struct target t;
	int64_t created_ms;
	int r;

	if (!cJSON_IsObject(flag) || !flag_id_valid(flag_id))
		return *why = strdup("not a flag line"), -EINVAL;
	if (!(case_id = sx_strdupf("c-%s", flag_id + 2)) || !(name = sx_strdupf("%s.json", case_id)) ||
	    !(report_path = sx_strdupf("%s/" REPORTS_DIR "/%s", p->log_dir, name)))
		return -ENOMEM;
	if ((r = parse_target(flag, &t)) < 0)
		return r;
	c = build_case(p, case_id, flag, &t, manual, &r);
	if (c)
		r = judge_case(p, c, flag, &t, &v, why);
	if (r < 0) {
		free(t.run_id);
		return r;
	}
	free(t.run_id);
	cJSON_ReplaceItemInObject(c, "severity", cJSON_CreateString(v.severity));
	cJSON_AddStringToObject(c, "summary", v.summary);
	cJSON_AddStringToObject(c, "recommended_action", v.action);
	cJSON_AddStringToObject(c, "judge", p->judge ? "yes" : "none");
	if (!(json = cJSON_Print(c)))
		return -ENOMEM;
	if ((r = write_report(p, name, json)) < 0) {
		*why = sx_strdupf("cannot write %s: %s", report_path, strerror(-r));
		return log_error_errno(r, "police: cannot write %s", report_path);
	}
	if (sx_parse_utc_time(sx_json_str(c, "created_at") ?: "", &created_ms) < 0)
		created_ms = now_ms();
	r = store_case(p, case_id, flag_id, flag_text, v.severity, created_ms, report_path, v.summary, json,
		       manual);
	if (r < 0)
		return *why = strdup("cannot record the case in police.db"), r;
	log_info("police: case %s (%s) for flag %s: %s", case_id, v.severity, flag_id, report_path);
	if (ret_case_id)
		*ret_case_id = TAKE_PTR(case_id);
	return 0;
}

/* Marks a queued flag for a later try: attempts + 1, next_try 5 s
 * doubling to 10 min from now, last_error. */
static int retry_later(struct sx_police *p, const char *flag_id, const char *why)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	if ((r = prepare(p,
			 "UPDATE queue SET attempts = attempts + 1,"
			 " next_try = ?2 + min(600000, 5000 << min(attempts, 7)), last_error = ?3"
			 " WHERE flag_id = ?1",
			 &st)) < 0)
		return r;
	sqlite3_bind_text(st, 1, flag_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_ms());
	sqlite3_bind_text(st, 3, why ? why : "investigation failed", -1, SQLITE_STATIC);
	return sqlite3_step(st) == SQLITE_DONE ? 0 : db_error(p, "recording a failed investigation");
}

int sx_police_work(struct sx_police *p, unsigned max)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_(sx_strv_freep) char **ids = calloc(1, sizeof(char *)), **texts = calloc(1, sizeof(char *));
	int r, done = 0;

	if (!ids || !texts)
		return -ENOMEM;
	if ((r = prepare(p,
			 "SELECT flag_id, flag FROM queue WHERE state = 'queued' AND"
			 " (next_try IS NULL OR next_try <= ?1)"
			 " ORDER BY severity DESC, enqueued_at, flag_id LIMIT ?2",
			 &st)) < 0)
		return r;
	sqlite3_bind_int64(st, 1, now_ms());
	sqlite3_bind_int64(st, 2, max);
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		if (sx_strv_push(&ids, (const char *)sqlite3_column_text(st, 0)) < 0 ||
		    sx_strv_push(&texts, (const char *)sqlite3_column_text(st, 1)) < 0)
			return -ENOMEM;
	if (r != SQLITE_DONE)
		return db_error(p, "reading the queue");
	sqlite3_finalize(TAKE_PTR(st));
	for (size_t i = 0; ids[i]; i++) {
		_cleanup_free_ char *why = NULL;

		r = investigate(p, texts[i], false, NULL, &why);
		if (r == 0) {
			done++;
			continue;
		}
		if (!why)
			why = strdup(strerror(-r));
		log_warn("police: investigation of %s failed (%s); retrying later", ids[i], why ? why : "?");
		if ((r = retry_later(p, ids[i], why)) < 0)
			return r;
	}
	return done;
}

/* The last line of patrol_flags.jsonl with this flag id (caller frees);
 * -ENOENT when there is none. */
static int find_flag_line(struct sx_police *p, const char *flag_id, char **ret)
{
	_cleanup_fclose_ FILE *f = fopen(p->flags_path, "re");
	_cleanup_free_ char *line = NULL, *found = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return errno == ENOENT ? -ENOENT
				       : log_error_errno(-errno, "police: cannot read %s", p->flags_path);
	while ((n = getline(&line, &cap, f)) > 0) {
		_cleanup_cjson_ cJSON *j = NULL;

		if (line[n - 1] != '\n' || !strstr(line, flag_id))
			continue;
		j = cJSON_Parse(line);
		if (!streq(sx_json_str(j, "flag_id"), flag_id))
			continue;
		line[n - 1] = 0;
		free(found);
		if (!(found = strdup(line)))
			return -ENOMEM;
	}
	if (!found)
		return -ENOENT;
	*ret = TAKE_PTR(found);
	return 0;
}

int sx_police_investigate(struct sx_police *p, const char *flag_id, bool manual, char **ret_case_id)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_free_ char *text = NULL, *why = NULL;
	char id[19] = "";
	int r;

	/* A case id names its flag: c-HEX is f-HEX. */
	if (flag_id && strlen(flag_id) == 18 && (flag_id[0] == 'f' || flag_id[0] == 'c') && flag_id[1] == '-')
		snprintf(id, sizeof(id), "f-%s", flag_id + 2);
	if (!flag_id_valid(id))
		return log_error_errno(-EINVAL, "police: '%s' is not a flag id (f- and 16 hex digits)",
				       flag_id ? flag_id : "");
	if ((r = prepare(p, "SELECT flag FROM queue WHERE flag_id = ?1", &st)) < 0)
		return r;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW && !(text = strdup((const char *)sqlite3_column_text(st, 0))))
		return -ENOMEM;
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return db_error(p, "reading the queue");
	sqlite3_finalize(TAKE_PTR(st));
	if (!text && (r = find_flag_line(p, id, &text)) < 0)
		return r == -ENOENT ? log_error_errno(r, "police: no flag %s in %s", id, p->flags_path) : r;
	r = investigate(p, text, manual, ret_case_id, &why);
	if (r < 0 && why)
		log_error("police: investigation of %s failed: %s", id, why);
	return r;
}
