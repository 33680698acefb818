/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * journal.h - the rollback journal, /var/lib/sentrix/NAME/journal.db.
 *
 * Before setup changes anything on the host it records here what the change
 * is and what undoing it needs (previous file bytes, previous values,
 * whether a thing existed before).  --disable walks the journal newest
 * first and undoes each entry; undo actions are idempotent, so a journal
 * left by a setup killed half-way rolls back exactly too.
 *
 * One row per (kind, target): a re-run of setup finds the row already there
 * and keeps the state recorded the first time (the true original).
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sx_journal;

struct sx_journal_entry {
	int64_t seq;
	const char *kind;
	const char *target;
	cJSON *undo; /* owned by the journal during a visit */
	const void *prior; /* previous bytes, or NULL when there were none */
	size_t prior_len;
	bool keep; /* survives --disable, undone by --disable --purge */
};

/* Opens (create: creating) the journal database at path.  Returns -ENOENT
 * when !create and it does not exist. */
int sx_journal_open(const char *path, bool create, struct sx_journal **ret);
void sx_journal_close(struct sx_journal *j);

/* Records an intent.  Returns 1 when a row for (kind, target) exists already
 * (nothing changed), 0 when recorded now, or a negative errno. */
int sx_journal_record(struct sx_journal *j, const char *kind, const char *target, const cJSON *undo,
		      const void *prior, size_t prior_len, bool keep);

/* Replaces the undo data of an existing row (for facts learnt after the
 * change, such as the bytes written). */
int sx_journal_update(struct sx_journal *j, const char *kind, const char *target, const cJSON *undo);

/* Looks a row up; *undo is a new object the caller deletes. */
int sx_journal_get(struct sx_journal *j, const char *kind, const char *target, cJSON **undo);

typedef int (*sx_journal_visit_t)(const struct sx_journal_entry *e, void *userdata);

/* Visits rows newest first.  A visitor returning < 0 stops the walk. */
int sx_journal_foreach_reverse(struct sx_journal *j, sx_journal_visit_t visit, void *userdata);

int sx_journal_remove(struct sx_journal *j, int64_t seq);
int sx_journal_count(struct sx_journal *j);
