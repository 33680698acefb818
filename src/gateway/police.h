/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * police.h - the investigator: takes the patrol's flags
 * (LOG_DIR/patrol_flags.jsonl) at or above the escalation level into a
 * queue (LOG_DIR/police.db) and works it, writing one case file per flag
 * (LOG_DIR/reports/CASE_ID.json).  Contract: docs/patrol.md ("Police").
 *
 * Not thread-safe: one struct sx_police belongs to one thread (the
 * patrol's); other processes (`sentrix-gateway --investigate`) open their
 * own, and SQLite's locking keeps them apart.
 */
#pragma once

#include <stdbool.h>

enum sx_escalation { SX_ESCALATE_LOW_ABOVE, SX_ESCALATE_MEDIUM_ABOVE, SX_ESCALATE_HIGH_ONLY };

/* "low_above" | "medium_above" | "high_only"; 0 or -EINVAL. */
int sx_escalation_from_name(const char *s, enum sx_escalation *ret);

struct sx_police;

/* Opens (creating, WAL mode, busy_timeout) LOG_DIR/police.db and
 * LOG_DIR/reports/ (0750).  Returns 0 or a negative errno (logged). */
int sx_police_open(const char *log_dir, enum sx_escalation level, struct sx_police **ret);
void sx_police_close(struct sx_police *p);

/* A judge: given the case as JSON, sets *summary and *action (malloc'd)
 * and may set *severity (malloc'd: LOW, MEDIUM, HIGH or CRITICAL; left
 * NULL: the police's own), returning 0; or returns a negative errno, and
 * the flag stays queued, retried with backoff 5 s doubling to 10 min. */
typedef int (*sx_police_judge_fn)(void *userdata, const char *case_json, char **summary, char **action,
				  char **severity);
/* NULL fn: no judge (deterministic summary and action). */
void sx_police_set_judge(struct sx_police *p, sx_police_judge_fn fn, void *userdata);

/* Reads the complete lines of LOG_DIR/patrol_flags.jsonl past
 * meta.flags_offset, queues those at or above the escalation level (a
 * flag is queued once) and advances the offset, in one transaction.
 * Returns the number queued, or a negative errno (logged). */
int sx_police_ingest(struct sx_police *p);

/* Investigates up to max queued flags whose next_try has come, in the
 * order severity DESC, enqueued_at, flag_id.  A failure (judge, report)
 * leaves the flag queued with attempts, next_try and last_error.  Returns
 * the number investigated, or a negative errno on a database error. */
int sx_police_work(struct sx_police *p, unsigned max);

/* Investigates one flag now, queued or not, whatever its severity; finds
 * it in patrol_flags.jsonl when it is not in the queue.  manual: recorded
 * as how = 'manual'.  Returns 0 with the case id in *ret_case_id
 * (malloc'd, when not NULL), -ENOENT when there is no such flag (logged),
 * or another negative errno (logged). */
int sx_police_investigate(struct sx_police *p, const char *flag_id, bool manual, char **ret_case_id);

/* Flags queued and not yet investigated. */
unsigned sx_police_queue_depth(struct sx_police *p);
