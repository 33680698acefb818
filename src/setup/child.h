/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * child.h - run a program with a time limit and keep what it printed last.
 */
#pragma once

#include <stdbool.h>

/* Runs argv[0] (a path) with stdin /dev/null and stdout (and stderr when
 * with_stderr) into a pipe, keeping the last line of at most 4 KiB read in
 * *out; SIGTERM after timeout_s, SIGKILL 5 s later.  Returns the exit
 * status, 128 + the signal, 124 on timeout, or a negative errno. */
int sx_run_captured(char *const argv[], unsigned timeout_s, bool with_stderr, char **out);
