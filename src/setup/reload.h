/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * reload.h - tell a running sentrix-gateway to re-read its settings.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "../lib/config.h"

/* After a provider or secrets change: SIGHUP to the instance's gateway
 * when LOG_DIR/gateway.pid names a live sentrix-gateway process of the
 * gateway user.  Says on out what happened; never fails (a gateway that is
 * not running reads everything when it starts; quiet_if_absent: say nothing
 * then). */
void sx_gateway_reload(const struct sx_config *c, FILE *out, bool quiet_if_absent);

/* The pid LOG_DIR/gateway.pid names when it is a live sentrix-gateway of
 * the gateway user, else 0. */
pid_t sx_gateway_pid(const struct sx_config *c);
