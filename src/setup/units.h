/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * units.h - systemd wiring of an instance: the sandbox unit's per-instance
 * drop-in, enablement of sentrix@NAME.target, and start.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "../lib/journal.h"
#include "actions.h"

#define SX_UNIT_TARGET "sentrix@.target"
#define SX_WANTS_DIR "/etc/systemd/system/multi-user.target.wants"

/* True when systemd is the running init (sd_booted()). */
bool sx_systemd_running(void);

/* Drop-in, enablement and (with systemd running) daemon-reload + start. */
int sx_act_units(struct sx_ctx *x);
int sx_units_undo(const struct sx_journal_entry *e);

/* For status: "active", "inactive", ... or NULL when systemd is not running. */
char *sx_unit_active_state(const char *unit);

/* The units of instance name, its target first: sentrix@NAME.target,
 * sentrix-netns@, sentrix-gateway@, sentrix-sandbox@NAME.service (a strv;
 * NULL when out of memory). */
char **sx_instance_units(const char *name);

/* What systemd says of one unit (strings NULL when it could not ask). */
struct sx_unit_state {
	char *active; /* ActiveState: active, inactive, failed, activating, ... */
	char *sub; /* SubState: running, exited, dead, ... */
	char *result; /* services: Result (success, exit-code, signal, ...) */
	int exec_status; /* services: ExecMainStatus, -1 unknown */
	unsigned restarts; /* services: NRestarts */
};
void sx_unit_state_clear(struct sx_unit_state *s);

/* Asks systemd about n units at once.  -EHOSTDOWN when systemd is not
 * running; out[] always initialised (clear each). */
int sx_unit_states(const char *const *units, size_t n, struct sx_unit_state *out);

enum sx_target_verb {
	SX_TARGET_START,
	SX_TARGET_STOP,
	SX_TARGET_RESTART,
	SX_TARGET_ENABLE,
	SX_TARGET_DISABLE
};

/* Starts, stops or restarts units[0] (a target) and waits (90 s at most)
 * until units[0..n) are all active (start, restart: -EIO when one failed)
 * or all inactive (stop); or enables or disables units[0]'s unit file at
 * boot.  -EHOSTDOWN when systemd is not running, -ETIMEDOUT. */
int sx_target_do(enum sx_target_verb verb, const char *const *units, size_t n);

/* GetUnitFileState: "enabled", "disabled", ... or NULL. */
char *sx_unit_file_state(const char *unit);
