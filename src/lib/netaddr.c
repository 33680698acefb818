/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * netaddr.c - IPv4 parsing and /30 allocation.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "netaddr.h"

int sx_ipv4_parse(const char *s, uint32_t *ret)
{
	struct in_addr a;

	/* inet_pton() accepts only the dotted-decimal form, unlike inet_aton()
	 * which also takes "10.1" or hex: operators get what they typed. */
	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*ret = ntohl(a.s_addr);
	return 0;
}

void sx_ipv4_format(uint32_t a, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

int sx_pair_check(uint32_t host, uint32_t sandbox, const char **why)
{
	uint32_t block = host & ~3u;

	if (host == sandbox) {
		*why = "host-ip and sandbox-ip are the same address";
		return -EINVAL;
	}
	if ((sandbox & ~3u) != block) {
		*why = "host-ip and sandbox-ip must lie in one /30 (for example 10.200.0.1 and 10.200.0.2)";
		return -EINVAL;
	}
	if ((host & 3u) == 0 || (host & 3u) == 3 || (sandbox & 3u) == 0 || (sandbox & 3u) == 3) {
		*why = "a /30's first and last addresses are its network and broadcast addresses; use the "
		       "middle two";
		return -EINVAL;
	}
	if ((host >> 24) == 127 || (host >> 24) == 0 || (host >> 28) >= 14) {
		*why = "loopback, 0.0.0.0/8, multicast and reserved addresses cannot be used";
		return -EINVAL;
	}
	return 0;
}

static bool block_used(const uint32_t *used, size_t n_used, uint32_t block)
{
	for (size_t i = 0; i < n_used; i++)
		if (sx_in_block30(used[i], block))
			return true;
	return false;
}

int sx_pair_allocate(const uint32_t *used, size_t n_used, uint32_t start, uint32_t *host, uint32_t *sandbox)
{
	for (uint32_t block = start & ~3u; block < SX_POOL_BASE + SX_POOL_SIZE; block += 4) {
		if (block < SX_POOL_BASE)
			continue;
		if (block_used(used, n_used, block))
			continue;
		*host = block + 1;
		*sandbox = block + 2;
		return 0;
	}
	return -ENOSPC;
}
