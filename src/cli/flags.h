/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * flags.h - `sentrix flags`: the patrol's flags of an instance
 * (LOG_DIR/patrol_flags.jsonl), in-process in the front door.
 */
#pragma once

/* argv[0] is "flags"; returns the exit status: 0 done (also when there
 * are no flags), 1 failure, 2 bad usage. */
int sx_flags_main(int argc, char **argv);
