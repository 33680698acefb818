/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * netaddr.h - IPv4 parsing and the /30 plan for instance veth pairs.
 *
 * Every instance owns one /30: network, host-ip, sandbox-ip, broadcast.
 * sandbox0 defaults to 10.200.0.0/30 (.1 host, .2 sandbox); every other
 * instance gets the first /30 from 10.200.0.4 on within 10.200.0.0/16 that
 * no host interface address and no other instance uses.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SX_PREFIX_LEN 30
#define SX_POOL_BASE 0x0ac80000u /* 10.200.0.0 */
#define SX_POOL_SIZE 0x10000u /* /16 */

/* Parses dotted-quad IPv4 in host byte order.  Only the canonical
 * four-part decimal spelling is accepted. */
int sx_ipv4_parse(const char *s, uint32_t *ret);
void sx_ipv4_format(uint32_t a, char out[16]);

/* Validates that host and sandbox share one /30 and are its two usable
 * addresses.  Returns 0 or -EINVAL with a reason in *why. */
int sx_pair_check(uint32_t host, uint32_t sandbox, const char **why);

/* True when a is inside the /30 block that starts at block. */
static inline bool sx_in_block30(uint32_t a, uint32_t block)
{
	return (a & ~3u) == block;
}

/* Finds the first free /30 in the pool, starting at start (a block address).
 * used[] lists addresses already taken anywhere.  Returns 0 and the pair,
 * or -ENOSPC. */
int sx_pair_allocate(const uint32_t *used, size_t n_used, uint32_t start, uint32_t *host, uint32_t *sandbox);
