/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * launcher.h - `sentrix sandbox exec`: run a command confined in an instance.
 */
#pragma once

#include "options.h"

/* Returns the command's exit status (and re-raises its fatal signal), or 1
 * (confinement failed: nothing was started) / 2 (usage). */
int sx_exec_main(const struct sx_options *o);

/* `sentrix sandbox run`: the instance's OpenClaw gateway, confined as
 * sx_exec_main() confines, plus the netns relay (relay.h) through which the
 * sidecar reaches it on loopback; what its systemd unit runs. */
int sx_run_main(const struct sx_options *o);
