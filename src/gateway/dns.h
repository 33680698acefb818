/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * dns.h - the filtered DNS forwarder on HOST_IP:53 (udp and tcp).
 */
#pragma once

struct sx_gateway;
struct sx_dns;

/* Listens on the gateway's listen host, port (53 for an instance).
 * Returns 0 or a negative errno after logging. */
int sx_dns_start(struct sx_gateway *g, unsigned port);
/* Stops listening and frees; call after the resolver's lookups were
 * cancelled. */
void sx_dns_stop(struct sx_dns *d);
