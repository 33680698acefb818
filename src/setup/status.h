/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * status.h - `sentrix sandbox status` and `list`.
 */
#pragma once

#include "options.h"

int sx_status_main(const struct sx_options *o);
int sx_list_main(const struct sx_options *o);
