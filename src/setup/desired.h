/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * desired.h - turn command-line options (and the instance's current
 * config.json, if any) into the desired config and policy.
 */
#pragma once

#include "../lib/config.h"
#include "../lib/policy.h"
#include "options.h"

/* Loads the policy template named name from DATADIR/policy/. */
int sx_policy_template_load(const char *name, struct sx_policy **ret);
/* Where policy name lives: an installed template's directory, or the
 * absolute path of a directory named with a '/' (caller frees; NULL with
 * errno set when it does not exist). */
char *sx_policy_source(const char *name);

/* Builds the desired state.  Returns 0, or -EINVAL/-ENOSPC/... after
 * logging what is wrong and what to do. */
int sx_desired_build(const struct sx_options *o, const struct sx_config *current, struct sx_config **ret,
		     struct sx_policy **ret_policy);

/* The host's own resolvers from /etc/resolv.conf, loopback ones excluded
 * (they are unreachable from a network namespace). */
int sx_host_resolvers(char ***ret, char **loopback_seen);

/* Every IPv4 address the host's interfaces and other instances use, except
 * the instance named skip (its own addresses). */
int sx_used_addresses(const char *skip, uint32_t **ret, size_t *n);

/* A port another instance records: its bridge port (the pair port - 1 and
 * port), or one of its other sentrix ports. */
struct sx_port_use {
	char name[16]; /* the instance */
	unsigned port;
	bool bridge;
};

/* The ports every instance but skip records (config.json; ephemeral
 * instances have no bridge).  Callers hold the setup lock, as for
 * addresses. */
int sx_ports_used(const char *skip, struct sx_port_use **ret, size_t *n);

/* Whether c's bridge pair (bridge_port - 1, bridge_port) clashes with a
 * recorded use or with c's own host-side ports (53, LLM, egress, health):
 * NULL when free, else the clash described (caller frees). */
char *sx_bridge_clash(const struct sx_config *c, const struct sx_port_use *used, size_t n);
