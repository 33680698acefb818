/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * provider.h - `sentrix provider set|list|remove`.
 */
#pragma once

#include "options.h"

/* Runs the provider command in o.  Returns the exit status: 0 done, 1
 * failed (nothing changed), 2 bad input. */
int sx_provider_main(const struct sx_options *o);
