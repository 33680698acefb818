/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * unitlog.h - an instance's lines in the systemd journal.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "options.h"

/* Prints the last `lines` journal entries of units (a strv) and, unless
 * instance is NULL, of the gateway's SENTRIX_INSTANCE=instance lines to out; follow: then the new
 * ones until SIGINT/SIGTERM.  0 or a negative errno (logged). */
int sx_unitlog_print(char *const *units, const char *instance, unsigned lines, bool follow, FILE *out);

/* `sentrix sandbox journal [--name NAME] [-f] [-n N]`. */
int sx_journal_main(const struct sx_options *o);
