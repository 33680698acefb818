/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * units.h - systemd wiring of an instance: the sandbox unit's per-instance
 * drop-in, enablement of sentrix@NAME.target, and start.
 */
#pragma once

#include <stdbool.h>

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
