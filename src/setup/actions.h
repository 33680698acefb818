/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * actions.h - journalled changes to the host, and their undo.
 *
 * Every change setup makes goes through one of these.  Each records its
 * intent and the state needed to undo it in the journal before touching
 * anything, and each is idempotent: applied twice, it changes nothing the
 * second time; undone twice, the second undo finds nothing to do.  In a
 * dry run they only print what they would do.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "../lib/config.h"
#include "../lib/journal.h"
#include "../lib/policy.h"

struct sx_ctx {
	struct sx_journal *journal; /* NULL in a dry run */
	const struct sx_config *config;
	const struct sx_policy *policy;
	bool dry_run;
	bool purge; /* undo: also what --disable keeps */
	unsigned step; /* numbering for the printed plan */
	unsigned changes; /* number of actions that changed something */
	FILE *out; /* progress and plan lines (stderr with --json) */
};

/* Prints one plan/progress line ("  3. create ...") and counts it. */
void sx_ctx_say(struct sx_ctx *x, bool changed, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Test hook: with SENTRIX_TEST_KILL_AT=N in the environment the process
 * SIGKILLs itself at the Nth checkpoint (one before and one after every
 * host change), so the test suite can prove rollback from every point. */
void sx_checkpoint(void);

/* A directory we own (rm -rf on undo when tree, rmdir-if-empty otherwise).
 * Left alone when it existed before. */
int sx_act_mkdir(struct sx_ctx *x, const char *path, mode_t mode, uid_t uid, gid_t gid, bool tree, bool keep);

/* A directory several instances may share (see hostres.h). */
int sx_act_host_dir(struct sx_ctx *x, const char *path, mode_t mode, bool keep);

/* Writes a whole file; the undo restores the previous bytes, owner and mode
 * or removes a file that did not exist. */
int sx_act_write_file(struct sx_ctx *x, const char *path, const char *data, size_t len, mode_t mode,
		      uid_t uid, gid_t gid, bool keep);

/* Creates the file empty when absent; never changes existing content. */
int sx_act_ensure_file(struct sx_ctx *x, const char *path, mode_t mode, uid_t uid, gid_t gid, bool keep);

int sx_act_symlink(struct sx_ctx *x, const char *path, const char *target);

/* A local account; uid and gid receive its ids (in a dry run: 0 when it
 * would be created).  shared: the gateway user, which every instance
 * uses; it is removed with the last instance purged. */
int sx_act_user(struct sx_ctx *x, const char *name, bool system, const char *home, const char *shell,
		bool shared, uid_t *uid, gid_t *gid);

/* The runtime network pieces (runtime.c), undone by `down`. */
int sx_act_runtime(struct sx_ctx *x);

/* The openclaw.json patch (sentrix's keys for x->config and x->policy,
 * providers included).  uid/gid own a file it creates.  *ret_token (when
 * not NULL) receives the instance's gateway token: the one recorded in the
 * journal, else the user's own, else a new random one (caller frees). */
int sx_act_openclaw(struct sx_ctx *x, uid_t uid, gid_t gid, char **ret_token);

/* Unit enablement and start (units.c). */
int sx_act_units(struct sx_ctx *x);

/* Undoes every journal entry, newest first.  Returns 0 or the first error
 * (the walk stops there, so a later run can resume). */
int sx_undo_all(struct sx_ctx *x);

/* Undo halves of actions implemented beside their subject. */
int sx_openclaw_undo(const struct sx_journal_entry *e);
