/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * preflight.h - everything setup can check before it changes anything.
 */
#pragma once

#include "../lib/config.h"
#include "../lib/policy.h"

/* Checks the host and the desired state.  current is the instance's
 * existing config (NULL on first setup).  Logs one clear message and
 * returns a negative errno on the first problem; changes nothing. */
int sx_preflight(const struct sx_config *want, const struct sx_config *current);
