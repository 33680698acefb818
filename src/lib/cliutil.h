/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * cliutil.h - what the front door's in-process read commands share
 * (`sentrix logs`, `sentrix flags`, `sentrix police`, `sentrix patrol
 * status`): finding an instance's log directory, saying why a file there
 * cannot be read, the output width, UTC times, and writing untrusted text
 * (model output, excerpts) to a terminal without its control characters.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Now, wall clock, milliseconds since the epoch. */
int64_t sx_cli_now_ms(void);

/* Says why path cannot be read (a permission problem gets what to do:
 * root or group sentrix); returns r. */
int sx_cli_read_error(int r, const char *path);

/* The log directory: dir when not NULL, else paths.log_dir of the
 * instance name's config.json.  Returns 0 with *ret set (caller frees), or
 * a negative errno after saying what to do (-ENOENT: no such instance). */
int sx_cli_log_dir(const char *name, const char *dir, char **ret);

/* Columns for readable output: the terminal's, else $COLUMNS, else
 * fallback. */
size_t sx_cli_output_width(size_t fallback);

/* "YYYY-MM-DD HH:MM:SS" (millis: ".mmm" added) of a time in ms, UTC. */
void sx_cli_fmt_time(int64_t ms, bool millis, char *out, size_t size);

/* Writes len bytes of text to f, at most max characters (0: all), "…"
 * taking the last place when more would follow.  Tabs and line breaks
 * become spaces; other controls, bidi overrides and invalid UTF-8 become
 * '?'. */
void sx_cli_put_text(FILE *f, const char *text, size_t len, size_t max);

/* Runs prog (found as sx_find_program() says) with argv, argv[0] replaced
 * by its path.  Returns only on failure: exit status 1, after saying why. */
int sx_cli_exec_program(const char *prog, char **argv);

/* --since's value, as sx_parse_since() reads it, into *ret_ms; NULL, or
 * what is wrong with it for the user (caller frees). */
char *sx_cli_since(const char *arg, int64_t *ret_ms);

/* --name and --dir, as the read-side commands take them; NULL, or what is
 * wrong (caller frees). */
char *sx_cli_check_instance(const char *name, const char *dir);
