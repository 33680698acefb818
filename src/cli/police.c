/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * police.c - `sentrix police` and `sentrix patrol` (docs/patrol.md).
 *
 *   police cases [--json]            case_files of LOG_DIR/police.db
 *   police show ID                   LOG_DIR/reports/CASE_ID.json
 *   police investigate --flag-id ID  exec sentrix-gateway --investigate ID
 *   patrol status [--json]           patrol_state.db and the police queue
 *   patrol rescan                    exec sentrix-gateway --rescan
 *
 * The databases belong to the gateway, which writes them in WAL mode while
 * this reads.  They are opened read-only (file:…?mode=ro); a reader that
 * may not write the -shm file (a member of group sentrix, when the gateway
 * is not running and left none) cannot open a WAL database that way, so
 * the second try is immutable=1, which reads the main file alone: it can
 * miss the last transactions the gateway has not checkpointed yet, which
 * the output then says.
 */
#include <errno.h>
#include <getopt.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../lib/cliutil.h"
#include "../lib/fileio.h"
#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/paths.h"
#include "../lib/util.h"
#include "police.h"

#define DEFAULT_NAME "sandbox0"
#define PIPE_WIDTH 120

struct cmd_options {
	const char *prog; /* "police cases", ... */
	const char *synopsis;
	const char *name, *dir, *flag_id, *arg;
	bool json, help;
};

static int usage_error(const struct cmd_options *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int usage_error(const struct cmd_options *o, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sentrix %s: ", o->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%sTry 'sentrix %s --help'.\n", o->synopsis, o->prog);
	return -EINVAL;
}

/* Parses argv (argv[0] is the subcommand) into o; with_json/with_flag/
 * with_arg say which options the subcommand takes. */
static int parse_options(int argc, char **argv, struct cmd_options *o, bool with_json, bool with_flag,
			 bool with_arg)
{
	enum { OPT_NAME = 256, OPT_DIR, OPT_JSON, OPT_FLAG };
	static const struct option opts[] = {
	    {"name", required_argument, NULL, OPT_NAME},
	    {"dir", required_argument, NULL, OPT_DIR},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"flag-id", required_argument, NULL, OPT_FLAG},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	o->name = DEFAULT_NAME;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h': o->help = true; break;
		case OPT_NAME: o->name = optarg; break;
		case OPT_DIR: o->dir = optarg; break;
		case OPT_JSON:
			if (!with_json)
				return usage_error(o, "%s", "--json is not an option of this command");
			o->json = true;
			break;
		case OPT_FLAG:
			if (!with_flag)
				return usage_error(o, "%s", "--flag-id is not an option of this command");
			o->flag_id = optarg;
			break;
		default:
			if (optopt > 0 && optopt < 256)
				return usage_error(o, "unknown or incomplete option '-%c'", optopt);
			return usage_error(o, "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (o->help)
		return 0;
	if (with_arg && optind < argc)
		o->arg = argv[optind++];
	if (optind < argc)
		return usage_error(o, "unexpected argument '%s'", argv[optind]);
	if (with_arg && !o->arg)
		return usage_error(o, "%s", "which case? give a case id (c-…) or a flag id (f-…)");
	if (with_flag && !o->flag_id)
		return usage_error(o, "%s", "--flag-id ID is required");
	_cleanup_free_ char *bad = sx_cli_check_instance(o->name, o->dir);
	return bad ? usage_error(o, "%s", bad) : 0;
}

/* "file:" and path with the characters a URI gives meaning to escaped. */
static char *file_uri(const char *path, const char *query)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return NULL;
	fputs("file:", m);
	for (const unsigned char *s = (const unsigned char *)path; *s; s++)
		if (*s == '%' || *s == '?' || *s == '#' || *s <= 0x20 || *s >= 0x7f)
			fprintf(m, "%%%02X", *s);
		else
			fputc(*s, m);
	fprintf(m, "?%s", query);
	return fclose(m) == 0 ? TAKE_PTR(buf) : NULL;
}

static int try_open(const char *path, const char *query, sqlite3 **ret)
{
	_cleanup_free_ char *uri = file_uri(path, query);
	sqlite3 *db = NULL;

	if (!uri)
		return -ENOMEM;
	if (sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOFOLLOW, NULL) !=
		SQLITE_OK ||
	    sqlite3_busy_timeout(db, 5000) != SQLITE_OK ||
	    sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) != SQLITE_OK) {
		log_debug("%s?%s: %s", path, query, db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return -EIO;
	}
	*ret = db;
	return 0;
}

/* Opens a gateway database read-only.  Returns 0 (*immutable: read
 * without its WAL), -ENOENT when it does not exist yet (not logged), or
 * another negative errno (logged). */
static int open_ro(const char *path, sqlite3 **ret, bool *immutable)
{
	if (access(path, R_OK) < 0)
		return errno == ENOENT ? -ENOENT : sx_cli_read_error(-errno, path);
	*immutable = false;
	if (try_open(path, "mode=ro", ret) == 0)
		return 0;
	*immutable = true;
	if (try_open(path, "immutable=1", ret) == 0)
		return 0;
	return log_error_errno(-EIO, "cannot read the database %s", path);
}

/* The log directory and a file in it (caller frees both). */
static int locate(const struct cmd_options *o, const char *file, char **ret_dir, char **ret_path)
{
	int r = sx_cli_log_dir(o->name, o->dir, ret_dir);

	if (r < 0)
		return r;
	if (access(*ret_dir, R_OK | X_OK) < 0)
		return sx_cli_read_error(-errno, *ret_dir);
	*ret_path = sx_strdupf("%s/%s", *ret_dir, file);
	return *ret_path ? 0 : log_error_errno(-ENOMEM, "out of memory");
}

static void finalizep(sqlite3_stmt **s)
{
	sqlite3_finalize(*s);
}
#define _cleanup_stmt_ _cleanup_(finalizep)

/* ---- police cases ----------------------------------------------------------- */

static const char cases_synopsis[] = "Usage: sentrix police cases [--name NAME | --dir DIR] [--json]\n";

static void cases_usage(void)
{
	fputs(cases_synopsis, stdout);
	fputs("\n"
	      "List the case files the police (the gateway's investigator) wrote, newest\n"
	      "first: creation time (UTC), severity (LOW, MEDIUM, HIGH, CRITICAL), case id,\n"
	      "flag id and summary.  Read from /var/log/sentrix/NAME/police.db; the reports\n"
	      "themselves are /var/log/sentrix/NAME/reports/CASE_ID.json (`sentrix police\n"
	      "show`).\n"
	      "\n"
	      "Options:\n"
	      "  --name NAME   the instance (default: sandbox0)\n"
	      "  --dir DIR     read DIR/police.db instead (a copy of the logs)\n"
	      "  --json        one JSON object per case and line: case_id, severity, flag_id,\n"
	      "                created_at (ms since the epoch), summary\n"
	      "  -h, --help    show this help\n"
	      "\n"
	      "Reading takes root or membership of group sentrix.  Exit status: 0 done (also\n"
	      "when there are no cases), 1 failure, 2 bad usage.\n",
	      stdout);
}

static void print_case_row(sqlite3_stmt *st, bool json, size_t width)
{
	const char *id = (const char *)sqlite3_column_text(st, 0),
		   *sev = (const char *)sqlite3_column_text(st, 1),
		   *flag = (const char *)sqlite3_column_text(st, 2),
		   *sum = (const char *)sqlite3_column_text(st, 4);
	int64_t created = sqlite3_column_int64(st, 3);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	char t[48];
	FILE *m;

	if (json) {
		_cleanup_cjson_ cJSON *j = cJSON_CreateObject();
		_cleanup_free_ char *text = NULL;
		cJSON_AddStringToObject(j, "case_id", id ?: "");
		cJSON_AddStringToObject(j, "severity", sev ?: "");
		cJSON_AddStringToObject(j, "flag_id", flag ?: "");
		cJSON_AddNumberToObject(j, "created_at", (double)created);
		cJSON_AddStringToObject(j, "summary", sum ?: "");
		if ((text = sx_utf8_clean(cJSON_PrintUnformatted(j))))
			puts(text);
		return;
	}
	if (!(m = open_memstream(&buf, &len)))
		return;
	sx_cli_fmt_time(created, false, t, sizeof(t));
	fprintf(m, "%s  %-8s  %s  %s  %s", t, sev ?: "?", id ?: "?", flag ?: "?", sum ?: "");
	if (fclose(m) != 0 || !buf)
		return;
	sx_cli_put_text(stdout, buf, len, width);
	fputc('\n', stdout);
}

static int police_cases(int argc, char **argv)
{
	struct cmd_options o = {.prog = "police cases", .synopsis = cases_synopsis};
	_cleanup_free_ char *dir = NULL, *path = NULL;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	bool immutable;
	size_t n = 0;
	int r;

	if (parse_options(argc, argv, &o, true, false, false) < 0)
		return 2;
	if (o.help)
		return cases_usage(), 0;
	if (locate(&o, "police.db", &dir, &path) < 0)
		return 1;
	r = open_ro(path, &db, &immutable);
	if (r == -ENOENT) {
		if (!o.json)
			log_info("no cases: the police has not started in %s yet (no police.db)", dir);
		return 0;
	}
	if (r < 0)
		return 1;
	if (sqlite3_prepare_v2(db,
			       "SELECT case_id, severity, flag_id, created_at, summary FROM case_files"
			       " ORDER BY created_at DESC, case_id",
			       -1, &st, NULL) != SQLITE_OK) {
		/* A database created but not set up yet has no table. */
		if (!o.json)
			log_info("no cases (%s: %s)", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return 0;
	}
	size_t width = o.json ? 0 : sx_cli_output_width(PIPE_WIDTH);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		print_case_row(st, o.json, width);
		n++;
	}
	if (r != SQLITE_DONE)
		log_error("cannot read %s: %s", path, sqlite3_errmsg(db));
	sqlite3_finalize(TAKE_PTR(st));
	sqlite3_close(db);
	if (r != SQLITE_DONE)
		return 1;
	if (!o.json && n == 0)
		log_info("no cases");
	if (!o.json && immutable)
		log_info("(read without the gateway's write-ahead log: the newest cases may be missing)");
	return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- police show ------------------------------------------------------------ */

static const char show_synopsis[] = "Usage: sentrix police show [--name NAME | --dir DIR] CASE_ID|FLAG_ID\n";

static void show_usage(void)
{
	fputs(show_synopsis, stdout);
	fputs("\n"
	      "Print a case file: /var/log/sentrix/NAME/reports/CASE_ID.json (JSON; keys in\n"
	      "docs/patrol.md).  A flag id f-HEX names the case c-HEX.  When the report file\n"
	      "is gone, the copy in police.db is printed.\n"
	      "\n"
	      "Options:\n"
	      "  --name NAME   the instance (default: sandbox0)\n"
	      "  --dir DIR     read DIR instead (a copy of the logs)\n"
	      "  -h, --help    show this help\n"
	      "\n"
	      "Exit status: 0 printed, 1 no such case or unreadable, 2 bad usage.\n",
	      stdout);
}

/* c-HEX for a case or flag id (16 lower-case hex digits), or false. */
static bool case_id_of(const char *id, char out[19])
{
	if (strlen(id) != 18 || (id[0] != 'c' && id[0] != 'f') || id[1] != '-')
		return false;
	for (size_t i = 2; i < 18; i++)
		if (!strchr("0123456789abcdef", id[i]))
			return false;
	snprintf(out, 19, "c-%s", id + 2);
	return true;
}

/* The case's JSON from police.db (caller frees), or NULL. */
static char *case_from_db(const char *dir, const char *case_id)
{
	_cleanup_free_ char *path = sx_strdupf("%s/police.db", dir);
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	char *json = NULL;
	bool immutable;

	if (!path || open_ro(path, &db, &immutable) < 0)
		return NULL;
	if (sqlite3_prepare_v2(db, "SELECT json FROM case_files WHERE case_id = ?1", -1, &st, NULL) ==
		SQLITE_OK &&
	    sqlite3_bind_text(st, 1, case_id, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		json = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(TAKE_PTR(st));
	sqlite3_close(db);
	return json;
}

static int police_show(int argc, char **argv)
{
	struct cmd_options o = {.prog = "police show", .synopsis = show_synopsis};
	_cleanup_free_ char *dir = NULL, *path = NULL, *text = NULL, *file = NULL;
	char case_id[19];
	size_t len;
	int r;

	if (parse_options(argc, argv, &o, false, false, true) < 0)
		return 2;
	if (o.help)
		return show_usage(), 0;
	if (!case_id_of(o.arg, case_id))
		return usage_error(&o, "'%s' is neither a case id (c-…) nor a flag id (f-…) of 16 hex digits",
				   o.arg),
		       2;
	if (!(file = sx_strdupf("reports/%s.json", case_id)) || locate(&o, file, &dir, &path) < 0)
		return 1;
	r = sx_read_file_nofollow(path, &text, &len); /* the gateway user's directory */
	if (r == -ENOENT && (text = case_from_db(dir, case_id)))
		len = strlen(text), r = 0;
	if (r == -ENOENT)
		return log_error("no case %s in %s (see `sentrix police cases`; `sentrix police investigate "
				 "--flag-id f-%s` writes one)",
				 case_id, dir, case_id + 2),
		       1;
	if (r < 0)
		return sx_cli_read_error(r, path), 1;
	fwrite(text, 1, len, stdout);
	if (len && text[len - 1] != '\n')
		fputc('\n', stdout);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- police investigate, patrol rescan -------------------------------------- */

static const char investigate_synopsis[] = "Usage: sentrix police investigate [--name NAME] --flag-id ID\n";
static const char rescan_synopsis[] = "Usage: sentrix patrol rescan [--name NAME]\n";

/* Execs sentrix-gateway --name NAME with what (two words at most). */
static int exec_gateway(const struct cmd_options *o, const char *opt, const char *value)
{
	char *argv[] = {"sentrix-gateway", "--name", (char *)o->name, (char *)opt, (char *)value, NULL};

	return sx_cli_exec_program("sentrix-gateway", argv);
}

static int police_investigate(int argc, char **argv)
{
	struct cmd_options o = {.prog = "police investigate", .synopsis = investigate_synopsis};

	if (parse_options(argc, argv, &o, false, true, false) < 0)
		return 2;
	if (o.help) {
		fputs(investigate_synopsis, stdout);
		fputs("\n"
		      "Investigate one patrol flag now, whatever its severity and whether the police\n"
		      "queued it or not: writes /var/log/sentrix/NAME/reports/c-HEX.json for flag\n"
		      "f-HEX (again, overwriting it, when it exists) and prints the case id.\n"
		      "Runs `sentrix-gateway --name NAME --investigate ID`, which changes the\n"
		      "gateway's files: run it as root (it becomes the gateway user) or as the\n"
		      "gateway user.\n"
		      "\n"
		      "Options:\n"
		      "  --name NAME     the instance (default: sandbox0)\n"
		      "  --flag-id ID    the flag (f-…; a case id c-… names its flag)\n"
		      "  -h, --help      show this help\n"
		      "\n"
		      "Exit status: 0 done, 1 failure (no such flag included), 2 bad usage.\n",
		      stdout);
		return 0;
	}
	if (o.dir)
		return usage_error(&o, "%s", "--dir: investigate works on an instance (--name)"), 2;
	return exec_gateway(&o, "--investigate", o.flag_id);
}

static int patrol_rescan(int argc, char **argv)
{
	struct cmd_options o = {.prog = "patrol rescan", .synopsis = rescan_synopsis};

	if (parse_options(argc, argv, &o, false, false, false) < 0)
		return 2;
	if (o.help) {
		fputs(rescan_synopsis, stdout);
		fputs("\n"
		      "Have the patrol review every capture file of the instance again from the\n"
		      "start (after a rule pack changed, for instance).  Runs `sentrix-gateway --name\n"
		      "NAME --rescan`, which changes the gateway's files: run it as root (it becomes\n"
		      "the gateway user) or as the gateway user.\n"
		      "\n"
		      "Options:\n"
		      "  --name NAME   the instance (default: sandbox0)\n"
		      "  -h, --help    show this help\n",
		      stdout);
		return 0;
	}
	if (o.dir)
		return usage_error(&o, "%s", "--dir: rescan works on an instance (--name)"), 2;
	return exec_gateway(&o, "--rescan", NULL);
}

/* ---- patrol status ---------------------------------------------------------- */

static const char status_synopsis[] = "Usage: sentrix patrol status [--name NAME | --dir DIR] [--json]\n";

static void status_usage(void)
{
	fputs(status_synopsis, stdout);
	fputs("\n"
	      "Show where the patrol and the police are: from patrol_state.db the rule set and\n"
	      "judge versions, the last error, bytes and records scanned, reviews by status\n"
	      "(clean, flagged, pending) and the next retry of a pending one; from police.db\n"
	      "the queue by severity, cases written and the last investigation error.\n"
	      "\n"
	      "Options:\n"
	      "  --name NAME   the instance (default: sandbox0)\n"
	      "  --dir DIR     read DIR instead (a copy of the logs)\n"
	      "  --json        one JSON object: {\"patrol\": {...} or null, \"police\": {...} or null}\n"
	      "  -h, --help    show this help\n"
	      "\n"
	      "Reading takes root or membership of group sentrix.  Exit status: 0 done (also\n"
	      "before the patrol has started), 1 failure, 2 bad usage.\n",
	      stdout);
}

/* Adds to o the rows of sql as name -> value (column 0 -> column 1,
 * integers or text).  Missing tables are no error. */
static void add_rows(sqlite3 *db, cJSON *o, const char *sql)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);
		if (!k)
			continue;
		cJSON_DeleteItemFromObjectCaseSensitive(o, k);
		if (sqlite3_column_type(st, 1) == SQLITE_INTEGER)
			cJSON_AddNumberToObject(o, k, (double)sqlite3_column_int64(st, 1));
		else if (sqlite3_column_type(st, 1) == SQLITE_NULL)
			cJSON_AddNullToObject(o, k);
		else
			cJSON_AddStringToObject(o, k, (const char *)sqlite3_column_text(st, 1));
	}
}

/* The state in the database file name of dir as JSON, NULL when it does
 * not exist yet; *r < 0 when it cannot be read (logged). */
static cJSON *db_state(const char *dir, const char *name, bool patrol, int *r)
{
	_cleanup_free_ char *path = sx_strdupf("%s/%s", dir, name);
	cJSON *j, *o;
	sqlite3 *db = NULL;
	bool immutable = false;

	*r = path ? open_ro(path, &db, &immutable) : -ENOMEM;
	if (*r < 0) {
		if (*r == -ENOENT)
			*r = 0;
		return NULL;
	}
	j = cJSON_CreateObject();
	if (patrol) {
		o = cJSON_AddObjectToObject(j, "meta");
		add_rows(db, o,
			 "SELECT key, CASE WHEN key IN ('scanned_bytes', 'scanned_records')"
			 " THEN CAST(value AS INTEGER) ELSE value END FROM meta");
		o = cJSON_AddObjectToObject(j, "reviews");
		cJSON_AddNumberToObject(o, "clean", 0);
		cJSON_AddNumberToObject(o, "flagged", 0);
		cJSON_AddNumberToObject(o, "pending", 0);
		add_rows(db, o, "SELECT status, count(*) FROM reviews GROUP BY status");
		add_rows(
		    db, j,
		    "SELECT 'oldest_pending_next_try', min(next_try) FROM reviews WHERE status = 'pending'");
		add_rows(db, j, "SELECT 'files', count(*) FROM files");
	} else {
		o = cJSON_AddObjectToObject(j, "queued");
		cJSON_AddNumberToObject(o, "HIGH", 0);
		cJSON_AddNumberToObject(o, "MEDIUM", 0);
		cJSON_AddNumberToObject(o, "LOW", 0);
		add_rows(
		    db, o,
		    "SELECT CASE severity WHEN 3 THEN 'HIGH' WHEN 2 THEN 'MEDIUM' ELSE 'LOW' END, count(*)"
		    " FROM queue WHERE state = 'queued' GROUP BY severity");
		add_rows(db, j, "SELECT 'investigated', count(*) FROM investigated_flags");
		add_rows(db, j, "SELECT 'cases', count(*) FROM case_files");
		add_rows(
		    db, j,
		    "SELECT 'flags_offset', CAST(value AS INTEGER) FROM meta WHERE key = 'flags_offset'");
		add_rows(
		    db, j,
		    "SELECT 'last_error', flag_id || ': ' || last_error FROM queue WHERE state = 'queued'"
		    " AND last_error IS NOT NULL ORDER BY next_try DESC LIMIT 1");
	}
	cJSON_AddBoolToObject(j, "without_wal", immutable);
	sqlite3_close(db);
	return j;
}

static const char *str_or(const cJSON *j, const char *path, const char *dflt)
{
	const cJSON *v = sx_json_get_path(j, path);

	return cJSON_IsString(v) ? v->valuestring : dflt;
}

static double num_or(const cJSON *j, const char *path)
{
	const cJSON *v = sx_json_get_path(j, path);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void print_status(const char *dir, const cJSON *patrol, const cJSON *police)
{
	const cJSON *next = cJSON_GetObjectItem(patrol, "oldest_pending_next_try");
	char t[48];

	if (!patrol)
		printf("patrol: not started (no %s/patrol_state.db)\n", dir);
	else {
		printf("patrol: rule set %s, judge %s\n", str_or(patrol, "meta.ruleset_version", "?"),
		       str_or(patrol, "meta.judge_version", "?"));
		printf("  scanned %.0f record(s), %.0f byte(s) in %.0f file(s)\n",
		       num_or(patrol, "meta.scanned_records"), num_or(patrol, "meta.scanned_bytes"),
		       num_or(patrol, "files"));
		printf("  reviews: %.0f clean, %.0f flagged, %.0f pending", num_or(patrol, "reviews.clean"),
		       num_or(patrol, "reviews.flagged"), num_or(patrol, "reviews.pending"));
		if (cJSON_IsNumber(next)) {
			sx_cli_fmt_time((int64_t)next->valuedouble, false, t, sizeof(t));
			printf(" (next retry %s UTC)", t);
		}
		fputc('\n', stdout);
		if (str_or(patrol, "meta.last_error", NULL) && *str_or(patrol, "meta.last_error", ""))
			printf("  last error: %s\n", str_or(patrol, "meta.last_error", ""));
	}
	if (!police)
		printf("police: not started (no %s/police.db)\n", dir);
	else {
		printf("police: queued %.0f HIGH, %.0f MEDIUM, %.0f LOW; %.0f case(s)\n",
		       num_or(police, "queued.HIGH"), num_or(police, "queued.MEDIUM"),
		       num_or(police, "queued.LOW"), num_or(police, "cases"));
		if (str_or(police, "last_error", NULL))
			printf("  last error: %s\n", str_or(police, "last_error", ""));
	}
	if (cJSON_IsTrue(cJSON_GetObjectItem(patrol, "without_wal")) ||
	    cJSON_IsTrue(cJSON_GetObjectItem(police, "without_wal")))
		printf("(read without the gateway's write-ahead log: the newest changes may be missing)\n");
}

static int patrol_status(int argc, char **argv)
{
	struct cmd_options o = {.prog = "patrol status", .synopsis = status_synopsis};
	_cleanup_free_ char *dir = NULL, *path = NULL;
	_cleanup_cjson_ cJSON *patrol = NULL, *police = NULL;
	int r1, r2;

	if (parse_options(argc, argv, &o, true, false, false) < 0)
		return 2;
	if (o.help)
		return status_usage(), 0;
	if (locate(&o, "patrol_state.db", &dir, &path) < 0)
		return 1;
	patrol = db_state(dir, "patrol_state.db", true, &r1);
	police = db_state(dir, "police.db", false, &r2);
	if (r1 < 0 || r2 < 0)
		return 1;
	if (o.json) {
		_cleanup_cjson_ cJSON *j = cJSON_CreateObject();
		_cleanup_free_ char *text = NULL;
		cJSON_AddItemToObject(j, "patrol", patrol ? TAKE_PTR(patrol) : cJSON_CreateNull());
		cJSON_AddItemToObject(j, "police", police ? TAKE_PTR(police) : cJSON_CreateNull());
		if (!(text = sx_utf8_clean(cJSON_PrintUnformatted(j))))
			return 1;
		puts(text);
	} else
		print_status(dir, patrol, police);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- dispatch --------------------------------------------------------------- */

int sx_police_main(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (streq(sub, "cases"))
		return police_cases(argc - 1, argv + 1);
	if (streq(sub, "show"))
		return police_show(argc - 1, argv + 1);
	if (streq(sub, "investigate"))
		return police_investigate(argc - 1, argv + 1);
	if (sub && !streq(sub, "--help") && !streq(sub, "-h"))
		log_error("unknown command 'police %s'", sub);
	fputs("Usage: sentrix police cases [--name NAME] [--json]\n"
	      "       sentrix police show [--name NAME] CASE_ID|FLAG_ID\n"
	      "       sentrix police investigate [--name NAME] --flag-id ID\n"
	      "\n"
	      "The gateway's investigator: it turns the patrol's flags at or above\n"
	      "police.escalation (config.json; default medium_above) into case files.\n"
	      "Each command takes --help.\n",
	      sub && (streq(sub, "--help") || streq(sub, "-h")) ? stdout : stderr);
	return sub && (streq(sub, "--help") || streq(sub, "-h")) ? 0 : 2;
}

int sx_patrol_main(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (streq(sub, "status"))
		return patrol_status(argc - 1, argv + 1);
	if (streq(sub, "rescan"))
		return patrol_rescan(argc - 1, argv + 1);
	if (sub && !streq(sub, "--help") && !streq(sub, "-h"))
		log_error("unknown command 'patrol %s'", sub);
	fputs("Usage: sentrix patrol status [--name NAME] [--json]\n"
	      "       sentrix patrol rescan [--name NAME]\n"
	      "\n"
	      "The gateway's patrol reviews every captured LLM call against the policy's rule\n"
	      "packs and writes flags (`sentrix flags`).  Each command takes --help.\n",
	      sub && (streq(sub, "--help") || streq(sub, "-h")) ? stdout : stderr);
	return sub && (streq(sub, "--help") || streq(sub, "-h")) ? 0 : 2;
}
