/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * status.h - `sentrix sandbox status` and `list`.
 */
#pragma once

#include "options.h"

int sx_status_main(const struct sx_options *o);
int sx_list_main(const struct sx_options *o);

/* Runs `sentrix-gateway --health` for c (this binary speaks no HTTP):
 * its exit status (0 ready, 1 not ready, 3 not running; negative errno
 * when it cannot run) and its first output line in *line. */
int sx_gateway_health(const struct sx_config *c, char **line);
