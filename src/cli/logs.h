/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * logs.h - `sentrix logs`: list, print and follow an instance's captured
 * LLM calls, in-process in the front door.
 */
#pragma once

/* argv[0] is "logs"; returns the exit status: 0 done (also when --follow
 * ends on SIGINT/SIGTERM), 1 failure, 2 bad usage. */
int sx_logs_main(int argc, char **argv);
