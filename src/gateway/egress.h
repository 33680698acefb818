/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * egress.h - the egress proxy on HOST_IP:18791: HTTP CONNECT tunnels and
 * plain-HTTP forwards to allowlisted names only.
 */
#pragma once

struct sx_gateway;
struct sx_egress;

/* Listens on the gateway's listen host and the instance's egress port.
 * Returns 0 or a negative errno after logging. */
int sx_egress_start(struct sx_gateway *g);
/* Stops accepting; open tunnels go on. */
void sx_egress_quiesce(struct sx_egress *e);
/* Ends every connection (recorded as "gateway stopping") and frees. */
void sx_egress_stop(struct sx_egress *e);
unsigned sx_egress_open(const struct sx_egress *e);
