/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * secrets.h - `sentrix secrets set|list|remove` and the secrets.env
 * helpers `sentrix provider` shares.
 */
#pragma once

#include <stdbool.h>

#include "options.h"

int sx_secrets_main(const struct sx_options *o);

/* True when text (secrets.env, may be NULL) sets var to a non-empty value. */
bool sx_secret_is_set(const char *text, const char *var);

/* Returns text with every var= line replaced by one var=value line (where
 * the first was, else appended), or removed when value is NULL; every other
 * line is kept byte for byte.  NULL when out of memory. */
char *sx_secrets_edit(const char *text, const char *var, const char *value);

/* Frees a buffer that held secrets after overwriting it. */
void sx_wipe_free(char **p);
#define _cleanup_wipe_ __attribute__((cleanup(sx_wipe_free)))
