/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * test-journal.c - the SQLite rollback journal (src/lib/journal.c).
 */
#include "testutil.h"

#include "lib/journal.h"

static cJSON *undo_n(int n)
{
	cJSON *u = cJSON_CreateObject();
	assert_non_null(u);
	cJSON_AddNumberToObject(u, "n", n);
	return u;
}

static int record(struct sx_journal *j, const char *kind, const char *target, int n, const void *prior,
		  size_t prior_len, bool keep)
{
	_cleanup_cjson_ cJSON *u = undo_n(n);
	return sx_journal_record(j, kind, target, u, prior, prior_len, keep);
}

static int get_n(struct sx_journal *j, const char *kind, const char *target)
{
	_cleanup_cjson_ cJSON *u = NULL;
	int r = sx_journal_get(j, kind, target, &u);

	if (r < 0)
		return r;
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(u, "n")));
	return cJSON_GetObjectItem(u, "n")->valueint;
}

/* A copy of every visited entry (the visit's pointers die with the row). */
struct seen {
	int64_t seq;
	char kind[32], target[64];
	int n;
	bool has_prior;
	char prior[16];
	size_t prior_len;
	bool keep;
};

struct walk {
	struct seen rows[16];
	size_t n;
	int stop_after; /* > 0: return -EINTR after this many */
	struct sx_journal *remove_from; /* non-NULL: remove each row visited */
};

static int visit(const struct sx_journal_entry *e, void *userdata)
{
	struct walk *w = userdata;
	struct seen *s;

	assert_true(w->n < ELEMENTSOF(w->rows));
	s = &w->rows[w->n++];
	s->seq = e->seq;
	snprintf(s->kind, sizeof(s->kind), "%s", e->kind);
	snprintf(s->target, sizeof(s->target), "%s", e->target);
	assert_non_null(e->undo);
	s->n = cJSON_GetObjectItem(e->undo, "n")->valueint;
	s->has_prior = e->prior != NULL;
	s->prior_len = e->prior_len;
	if (e->prior) {
		assert_true(e->prior_len <= sizeof(s->prior));
		memcpy(s->prior, e->prior, e->prior_len);
	}
	s->keep = e->keep;
	if (w->remove_from)
		assert_int_equal(sx_journal_remove(w->remove_from, e->seq), 0);
	if (w->stop_after > 0 && (int)w->n >= w->stop_after)
		return -EINTR;
	return 0;
}

/* file (prior "old"), dir (no prior), user (empty prior, keep) */
static void record_three(struct sx_journal *j)
{
	assert_int_equal(record(j, "file", "/etc/a.conf", 1, "old", 3, false), 0);
	assert_int_equal(record(j, "dir", "/var/lib/x", 2, NULL, 0, false), 0);
	assert_int_equal(record(j, "user", "sandbox", 3, "", 0, true), 0);
}

/* A new journal at tmpdir/NAME.db holding record_three()'s rows. */
static struct sx_journal *open_three(const char *name)
{
	_cleanup_free_ char *path = tmp_path("%s.db", name);
	struct sx_journal *j = NULL;

	assert_int_equal(sx_journal_open(path, true, &j), 0);
	record_three(j);
	return j;
}

static void test_open_missing(void **state)
{
	_cleanup_free_ char *path = tmp_path("missing.db");
	struct sx_journal *j = NULL;

	assert_int_equal(sx_journal_open(path, false, &j), -ENOENT);
	assert_null(j);
	/* and nothing was created by looking */
	assert_int_equal(access(path, F_OK), -1);

	/* a directory that does not exist cannot hold a new journal */
	_cleanup_free_ char *nodir = tmp_path("no/such/dir/j.db");
	assert_true(sx_journal_open(nodir, true, &j) < 0);
	assert_null(j);
}

static void test_record_and_duplicates(void **state)
{
	_cleanup_free_ char *path = tmp_path("record.db");
	struct sx_journal *j = NULL;

	assert_int_equal(sx_journal_open(path, true, &j), 0);
	assert_non_null(j);
	assert_int_equal(sx_journal_count(j), 0);
	record_three(j);
	assert_int_equal(sx_journal_count(j), 3);

	/* a second record of the same (kind, target) changes nothing: the
	 * first undo data is the true original */
	assert_int_equal(record(j, "file", "/etc/a.conf", 99, "new", 3, true), 1);
	assert_int_equal(sx_journal_count(j), 3);
	assert_int_equal(get_n(j, "file", "/etc/a.conf"), 1);

	/* uniqueness is per pair: same target of another kind, or another
	 * target of the same kind, are new rows */
	assert_int_equal(record(j, "symlink", "/etc/a.conf", 4, NULL, 0, false), 0);
	assert_int_equal(record(j, "file", "/etc/b.conf", 5, NULL, 0, false), 0);
	assert_int_equal(sx_journal_count(j), 5);
	assert_int_equal(get_n(j, "symlink", "/etc/a.conf"), 4);
	assert_int_equal(get_n(j, "file", "/etc/b.conf"), 5);

	/* absent rows */
	cJSON *u = NULL;
	assert_int_equal(sx_journal_get(j, "file", "/etc/none", &u), -ENOENT);
	assert_int_equal(sx_journal_get(j, "nothing", "/etc/a.conf", &u), -ENOENT);
	assert_null(u);
	sx_journal_close(j);
}

static void test_walk_newest_first_with_priors(void **state)
{
	struct sx_journal *j = open_three("walk");
	struct walk w = {0};

	/* a duplicate recorded last must not move the row to the front */
	assert_int_equal(record(j, "file", "/etc/a.conf", 99, "new", 3, true), 1);
	/* binary prior with an embedded NUL */
	assert_int_equal(record(j, "file", "/etc/bin", 4, "a\0b", 3, false), 0);

	assert_int_equal(sx_journal_foreach_reverse(j, visit, &w), 0);
	assert_int_equal(w.n, 4);
	assert_string_equal(w.rows[0].target, "/etc/bin");
	assert_string_equal(w.rows[1].kind, "user");
	assert_string_equal(w.rows[2].kind, "dir");
	assert_string_equal(w.rows[3].kind, "file");
	assert_string_equal(w.rows[3].target, "/etc/a.conf");
	for (size_t i = 1; i < w.n; i++)
		assert_true(w.rows[i - 1].seq > w.rows[i].seq);

	/* binary prior round-trips byte for byte */
	assert_true(w.rows[0].has_prior);
	assert_int_equal(w.rows[0].prior_len, 3);
	assert_memory_equal(w.rows[0].prior, "a\0b", 3);
	/* an empty prior ("the file was empty") is not the absent prior ("there
	 * was no file") */
	assert_true(w.rows[1].has_prior);
	assert_int_equal(w.rows[1].prior_len, 0);
	assert_false(w.rows[2].has_prior);
	assert_int_equal(w.rows[2].prior_len, 0);
	assert_true(w.rows[3].has_prior);
	assert_int_equal(w.rows[3].prior_len, 3);
	assert_memory_equal(w.rows[3].prior, "old", 3);
	/* keep flags: only the user row, and the duplicate did not set it */
	assert_true(w.rows[1].keep);
	assert_false(w.rows[0].keep);
	assert_false(w.rows[2].keep);
	assert_false(w.rows[3].keep);
	/* undo data as recorded */
	assert_int_equal(w.rows[0].n, 4);
	assert_int_equal(w.rows[1].n, 3);
	assert_int_equal(w.rows[2].n, 2);
	assert_int_equal(w.rows[3].n, 1);
	sx_journal_close(j);
}

static void test_walk_stops_on_error(void **state)
{
	struct sx_journal *j = open_three("stop");
	struct walk w = {.stop_after = 1};

	assert_int_equal(sx_journal_foreach_reverse(j, visit, &w), -EINTR);
	assert_int_equal(w.n, 1);
	assert_string_equal(w.rows[0].kind, "user");
	/* nothing was removed by a failed walk */
	assert_int_equal(sx_journal_count(j), 3);

	/* an empty journal visits nothing */
	_cleanup_free_ char *path2 = tmp_path("empty.db");
	struct sx_journal *k = NULL;
	struct walk w2 = {0};
	assert_int_equal(sx_journal_open(path2, true, &k), 0);
	assert_int_equal(sx_journal_foreach_reverse(k, visit, &w2), 0);
	assert_int_equal(w2.n, 0);
	sx_journal_close(k);
	sx_journal_close(j);
}

static void test_update(void **state)
{
	struct sx_journal *j = open_three("update");
	_cleanup_cjson_ cJSON *u = undo_n(20);
	struct walk w = {0};

	assert_int_equal(sx_journal_update(j, "dir", "/var/lib/x", u), 0);
	assert_int_equal(get_n(j, "dir", "/var/lib/x"), 20);
	/* the other rows are untouched */
	assert_int_equal(get_n(j, "file", "/etc/a.conf"), 1);
	assert_int_equal(get_n(j, "user", "sandbox"), 3);
	/* update does not touch prior, keep or the order */
	assert_int_equal(sx_journal_foreach_reverse(j, visit, &w), 0);
	assert_int_equal(w.n, 3);
	assert_string_equal(w.rows[1].kind, "dir");
	assert_int_equal(w.rows[1].n, 20);
	assert_false(w.rows[1].has_prior);
	/* a row that does not exist is not created */
	assert_int_equal(sx_journal_update(j, "dir", "/nowhere", u), -ENOENT);
	assert_int_equal(sx_journal_count(j), 3);
	sx_journal_close(j);
}

static void test_remove(void **state)
{
	struct sx_journal *j = open_three("remove");
	struct walk w = {0};

	assert_int_equal(sx_journal_foreach_reverse(j, visit, &w), 0);
	/* remove the middle row by its seq */
	assert_int_equal(sx_journal_remove(j, w.rows[1].seq), 0);
	assert_int_equal(sx_journal_count(j), 2);
	assert_int_equal(get_n(j, "dir", "/var/lib/x"), -ENOENT);
	assert_int_equal(get_n(j, "file", "/etc/a.conf"), 1);
	/* removing it again is harmless */
	assert_int_equal(sx_journal_remove(j, w.rows[1].seq), 0);
	assert_int_equal(sx_journal_count(j), 2);
	/* once removed, the same (kind, target) can be recorded afresh */
	assert_int_equal(record(j, "dir", "/var/lib/x", 7, NULL, 0, false), 0);
	assert_int_equal(get_n(j, "dir", "/var/lib/x"), 7);
	sx_journal_close(j);
}

/* --disable removes each row from inside the walk once it is undone. */
static void test_remove_during_walk(void **state)
{
	struct sx_journal *j = open_three("undoall");
	struct walk w = {0};

	w.remove_from = j;
	assert_int_equal(sx_journal_foreach_reverse(j, visit, &w), 0);
	assert_int_equal(w.n, 3);
	assert_string_equal(w.rows[0].kind, "user");
	assert_string_equal(w.rows[1].kind, "dir");
	assert_string_equal(w.rows[2].kind, "file");
	assert_int_equal(sx_journal_count(j), 0);
	sx_journal_close(j);
}

static void test_reopen_preserves_rows(void **state)
{
	_cleanup_free_ char *path = tmp_path("reopen.db");
	struct sx_journal *j = NULL;
	struct walk w = {0};

	sx_journal_close(open_three("reopen"));
	assert_int_equal(sx_journal_open(path, false, &j), 0);
	assert_int_equal(sx_journal_count(j), 3);
	assert_int_equal(get_n(j, "user", "sandbox"), 3);
	assert_int_equal(sx_journal_foreach_reverse(j, visit, &w), 0);
	assert_int_equal(w.n, 3);
	assert_true(w.rows[0].keep);
	assert_true(w.rows[0].has_prior);
	assert_int_equal(w.rows[0].prior_len, 0);
	assert_memory_equal(w.rows[2].prior, "old", 3);
	/* still one row per pair after reopening */
	assert_int_equal(record(j, "user", "sandbox", 8, NULL, 0, false), 1);
	/* and new rows still go after the old ones */
	assert_int_equal(record(j, "file", "/etc/new", 9, NULL, 0, false), 0);
	sx_journal_close(j);
	j = NULL;

	/* opening with create=true does not truncate an existing journal */
	struct walk w2 = {0};
	assert_int_equal(sx_journal_open(path, true, &j), 0);
	assert_int_equal(sx_journal_count(j), 4);
	assert_int_equal(sx_journal_foreach_reverse(j, visit, &w2), 0);
	assert_string_equal(w2.rows[0].target, "/etc/new");
	assert_true(w2.rows[0].seq > w.rows[0].seq);
	sx_journal_close(j);
}

static void test_not_a_database(void **state)
{
	_cleanup_free_ char *path = tmp_path("garbage.db");
	struct sx_journal *j = NULL;
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	for (int i = 0; i < 200; i++)
		fputs("this is not an SQLite database\n", f);
	assert_int_equal(fclose(f), 0);
	assert_true(sx_journal_open(path, false, &j) < 0);
	assert_null(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_missing),
	    cmocka_unit_test(test_record_and_duplicates),
	    cmocka_unit_test(test_walk_newest_first_with_priors),
	    cmocka_unit_test(test_walk_stops_on_error),
	    cmocka_unit_test(test_update),
	    cmocka_unit_test(test_remove),
	    cmocka_unit_test(test_remove_during_walk),
	    cmocka_unit_test(test_reopen_preserves_rows),
	    cmocka_unit_test(test_not_a_database),
	};

	return cmocka_run_group_tests_name("journal", tests, tu_group_setup, tu_group_teardown);
}
