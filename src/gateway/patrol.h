/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * patrol.h - the patrol: reviews every record of the capture files with the
 * detection engine (scan.h) in a thread of its own, writes flags, keeps its
 * progress in patrol_state.db and feeds the police (police.h).  The proxy's
 * event loop never waits for it: the two share only the log directory and a
 * few atomic counters the metrics read.  docs/patrol.md is the contract.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../lib/rulepack.h"

struct sx_gateway;
struct sx_patrol;
struct sx_judge;

/* Counters for /metrics, written by the patrol thread. */
struct sx_patrol_stats {
	_Atomic uint64_t flags[SX_CAT_COUNT][SX_SEV_HIGH + 1];
	_Atomic uint64_t scan_bytes, records, pending, judge_calls, judge_failures;
	_Atomic unsigned queue_depth;
};

/* Loads the policy's packs (POLICY_DIR/patrol, else the shipped ones),
 * compiles them and starts the thread.  Nothing to do (0, *ret NULL) when
 * the policy names no packs.  Returns 0 or a negative errno after logging. */
int sx_patrol_start(struct sx_gateway *g, struct sx_patrol **ret);
/* Stops the thread at its next check (a scan in progress finishes its
 * record) and frees everything. */
void sx_patrol_stop(struct sx_patrol *p);
void sx_patrol_metrics(const struct sx_patrol *p, FILE *out);
/* Why the patrol is off (its packs did not compile), or NULL. */
const char *sx_patrol_error(const struct sx_patrol *p);

/* The policy's judge (patrol.judge, the PATROL_* overrides, the
 * provider's settings and key from g): 0 with *ret NULL when the policy
 * names none; -EINVAL with *why (caller frees) when it cannot be used (a
 * provider the config does not have, no key, a bad override); -ENOMEM. */
int sx_patrol_judge_open(struct sx_gateway *g, struct sx_judge **ret, char **why);

/* `sentrix patrol rescan`: every record reviewed again (flags already
 * written are not written twice).  Returns 0 or a negative errno. */
int sx_patrol_rescan(struct sx_gateway *g);
