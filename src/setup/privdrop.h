/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * privdrop.h - become the sandbox user with nothing left of root.
 */
#pragma once

#include <sys/types.h>

#include "../lib/config.h"
#include "../lib/policy.h"

/* Supplementary groups, gid, uid of user; every capability set cleared
 * (bounding, ambient, inheritable, permitted, effective); no new privileges;
 * the policy's rlimits (core size 0).  Returns 0 or a negative errno. */
int sx_privdrop(const char *user, uid_t uid, gid_t gid, const struct sx_policy *p);

/* The same without the policy's limits: groups, gid, uid, every capability
 * set cleared, no new privileges (the netns relay, relay.c, as the gateway
 * user).  Returns 0 or a negative errno (logged). */
int sx_privdrop_ids(const char *user, uid_t uid, gid_t gid);

/* The sandbox environment: only PATH, HOME, USER, LOGNAME, LANG, TERM, TZ
 * (the last three from the caller when set), OpenClaw's paths and the
 * sidecar's egress proxy.  Returns a NULL-terminated vector (caller frees). */
char **sx_sandbox_env(const struct sx_config *c, const char *user, const char *home);
