/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * provision.h - `sentrix sandbox setup` and `setup --disable`.
 */
#pragma once

#include "options.h"

/* Each returns the process exit status (0, 1, or 2 for usage). */
int sx_setup_main(const struct sx_options *o);
int sx_disable_main(const struct sx_options *o);
