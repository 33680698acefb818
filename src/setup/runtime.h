/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * runtime.h - `sentrix sandbox up` / `down`: the pieces that do not survive
 * a reboot (netns, veth, addresses, routes, nftables, sysctls), built from
 * config.json.  Both are idempotent; the netns unit runs them at boot and
 * shutdown.
 */
#pragma once

#include "../lib/config.h"
#include "../lib/policy.h"

/* Brings everything up; adds the number of pieces it changed to *changes. */
int sx_runtime_up(const struct sx_config *c, const struct sx_policy *p, unsigned *changes);

/* Takes everything down.  final (--disable): also wait until the kernel
 * has reaped the veth, so the host's link list is back as it was when this
 * returns, and release /run/netns, which plain `down` keeps for the next
 * `up`. */
int sx_runtime_down(const struct sx_config *c, bool final);

#include "nft.h"

/* What is in place right now, piece by piece (for status and dry runs). */
struct sx_runtime_state {
	bool netns;
	bool host_link, host_link_up, host_addr;
	bool sandbox_link, sandbox_link_up, sandbox_addr, lo_up, default_route, ipv6_off;
	struct sx_nft_state nft_host, nft_sandbox;
	struct sx_ruleset want_host, want_sandbox; /* what the policy renders */
	bool forward_needed;
	char forward_value[8];
	char log_netns_value[8]; /* net.netfilter.nf_log_all_netns */
};

int sx_runtime_inspect(const struct sx_config *c, const struct sx_policy *p, struct sx_runtime_state *st);
void sx_runtime_state_clear(struct sx_runtime_state *st);
/* True when every piece is in place and both tables match the policy. */
bool sx_runtime_ok(const struct sx_config *c, const struct sx_runtime_state *st);
