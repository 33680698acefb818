/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * journal.c - SQLite-backed rollback journal.
 *
 * WAL mode with synchronous=FULL: a row is on disk before the change it
 * describes starts, which is what makes SIGKILL at any point recoverable.
 */
#include <sqlite3.h>

#include "journal.h"
#include "jsonutil.h"
#include "log.h"
#include "util.h"

struct sx_journal {
	sqlite3 *db;
};

static const char schema[] = "CREATE TABLE IF NOT EXISTS actions ("
			     " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
			     " kind TEXT NOT NULL,"
			     " target TEXT NOT NULL,"
			     " undo TEXT NOT NULL,"
			     " prior BLOB,"
			     " keep INTEGER NOT NULL DEFAULT 0,"
			     " UNIQUE(kind, target));";

static int db_error(struct sx_journal *j, const char *what)
{
	log_error("journal: %s: %s", what, sqlite3_errmsg(j->db));
	return -EIO;
}

int sx_journal_open(const char *path, bool create, struct sx_journal **ret)
{
	struct sx_journal *j;
	int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
	char *err = NULL;

	if (!create && access(path, F_OK) < 0)
		return -errno;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	if (sqlite3_open_v2(path, &j->db, flags, NULL) != SQLITE_OK) {
		int r = j->db ? db_error(j, "open") : -ENOMEM;
		sx_journal_close(j);
		return r;
	}
	sqlite3_busy_timeout(j->db, 10000);
	if (sqlite3_exec(j->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL, &err) !=
		SQLITE_OK ||
	    sqlite3_exec(j->db, schema, NULL, NULL, &err) != SQLITE_OK) {
		log_error("journal: cannot prepare %s: %s", path, err ? err : "?");
		sqlite3_free(err);
		sx_journal_close(j);
		return -EIO;
	}
	*ret = j;
	return 0;
}

void sx_journal_close(struct sx_journal *j)
{
	if (!j)
		return;
	sqlite3_close(j->db);
	free(j);
}

static void finalizep(sqlite3_stmt **s)
{
	sqlite3_finalize(*s);
}
#define _cleanup_stmt_ _cleanup_(finalizep)

int sx_journal_record(struct sx_journal *j, const char *kind, const char *target, const cJSON *undo,
		      const void *prior, size_t prior_len, bool keep)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_free_ char *text = cJSON_PrintUnformatted(undo);
	int rc;

	if (!text)
		return -ENOMEM;
	if (sqlite3_prepare_v2(
		j->db, "INSERT OR IGNORE INTO actions(kind, target, undo, prior, keep) VALUES (?,?,?,?,?)",
		-1, &st, NULL) != SQLITE_OK)
		return db_error(j, "prepare insert");
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
	if (prior)
		sqlite3_bind_blob(st, 4, prior_len ? prior : "", (int)prior_len, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 4);
	sqlite3_bind_int(st, 5, keep);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return db_error(j, "insert");
	return sqlite3_changes(j->db) == 0 ? 1 : 0;
}

int sx_journal_update(struct sx_journal *j, const char *kind, const char *target, const cJSON *undo)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_free_ char *text = cJSON_PrintUnformatted(undo);

	if (!text)
		return -ENOMEM;
	if (sqlite3_prepare_v2(j->db, "UPDATE actions SET undo=? WHERE kind=? AND target=?", -1, &st, NULL) !=
	    SQLITE_OK)
		return db_error(j, "prepare update");
	sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, target, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_error(j, "update");
	return sqlite3_changes(j->db) == 0 ? -ENOENT : 0;
}

int sx_journal_get(struct sx_journal *j, const char *kind, const char *target, cJSON **undo)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(j->db, "SELECT undo FROM actions WHERE kind=? AND target=?", -1, &st, NULL) !=
	    SQLITE_OK)
		return db_error(j, "prepare select");
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, target, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return db_error(j, "select");
	*undo = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
	return *undo ? 0 : -EIO;
}

int sx_journal_foreach_reverse(struct sx_journal *j, sx_journal_visit_t visit, void *userdata)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int rc, r = 0;

	if (sqlite3_prepare_v2(j->db,
			       "SELECT seq, kind, target, undo, prior, keep FROM actions ORDER BY seq DESC",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(j, "prepare walk");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct sx_journal_entry e = {
		    .seq = sqlite3_column_int64(st, 0),
		    .kind = (const char *)sqlite3_column_text(st, 1),
		    .target = (const char *)sqlite3_column_text(st, 2),
		    .undo = cJSON_Parse((const char *)sqlite3_column_text(st, 3)),
		    .keep = sqlite3_column_int(st, 5) != 0,
		};
		if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
			e.prior = sqlite3_column_blob(st, 4);
			e.prior_len = (size_t)sqlite3_column_bytes(st, 4);
			if (!e.prior)
				e.prior = "";
		}
		if (!e.undo)
			return log_error_errno(-EIO, "journal: row %lld has unreadable undo data",
					       (long long)e.seq);
		r = visit(&e, userdata);
		cJSON_Delete(e.undo);
		if (r < 0)
			return r;
	}
	if (rc != SQLITE_DONE)
		return db_error(j, "walk");
	return 0;
}

int sx_journal_remove(struct sx_journal *j, int64_t seq)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(j->db, "DELETE FROM actions WHERE seq=?", -1, &st, NULL) != SQLITE_OK)
		return db_error(j, "prepare delete");
	sqlite3_bind_int64(st, 1, seq);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_error(j, "delete");
	return 0;
}

int sx_journal_count(struct sx_journal *j)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(j->db, "SELECT count(*) FROM actions", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		return db_error(j, "count");
	return sqlite3_column_int(st, 0);
}
