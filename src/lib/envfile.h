/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * envfile.h - secrets.env: one VAR=value per line, no quoting, the value is
 * the rest of the line.  Blank lines and lines starting with '#' are kept
 * as they are by writers and ignored by readers.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* True when name is a valid variable name: [A-Za-z_][A-Za-z0-9_]*. */
bool sx_envfile_name_valid(const char *name);

/* Looks name up in the file's text.  Returns a copy of the value in *ret
 * (caller frees), or -ENOENT when the file has no such line. */
int sx_envfile_get(const char *text, const char *name, char **ret);

/* True when text (may be NULL) has a line for name, without copying its
 * value anywhere. */
bool sx_envfile_has(const char *text, const char *name);

/* Lists the variable names the text defines (NULL-terminated, caller frees
 * with sx_strv_free). */
char **sx_envfile_names(const char *text);
