/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * instance.h - an existing instance opened for a change made after setup
 * (`sentrix provider`, `sentrix secrets`).
 */
#pragma once

#include <stdbool.h>

#include "../lib/config.h"
#include "../lib/journal.h"
#include "../lib/policy.h"

struct sx_instance {
	int lock; /* the host-wide lock, -EBADF when not taken */
	struct sx_config *config;
	struct sx_policy *policy; /* the policy in force (change only) */
	struct sx_journal *journal; /* change only */
};

/* Opens instance name.  change: also takes the host lock, loads the policy
 * and opens the rollback journal, so the change goes through journalled
 * actions like setup's.  Returns 0, or a negative errno after logging what
 * to do (-ENOENT: not set up). */
int sx_instance_open(const char *name, bool change, struct sx_instance *ret);
void sx_instance_close(struct sx_instance *in);

/* Removes the temporary files (NAME.sx-tmp.PID) that a sentrix run killed
 * in the middle of an atomic write left in the directories setup writes
 * to for instance c.  Called under the host lock by every command that
 * changes an instance. */
void sx_instance_sweep(const struct sx_config *c);
